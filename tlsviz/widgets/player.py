"""The path player: Play / pause and a frame slider below the 3-D view, driving ``view.frame``.

nglview's own player appears over the lower part of the view when the mouse is over it and
covers the particles; :class:`NGLView` is nglview's widget without it, and this player sits below
the view instead. Play always runs the whole path (minimum → saddle → minimum) from frame 0 and
loops by default (the loop toggle is Play's own button). The links are front-end links
(``jslink``), so the animation runs at its own pace in the browser even while the kernel is busy
with a search. Each link has the view as its source: a front end that creates the links after a
path was loaded (Voilà does, at page load) takes the view's frame and frame count, not the
player's initial zeros.
"""

from __future__ import annotations

import ipywidgets as w
import nglview


class NGLView(nglview.NGLWidget):
    """nglview's widget without its overlay player.

    nglview links its own Play to ``frame`` and ``max_frame`` in the browser with the Play as
    source, created when its max was 0: a page that creates those links after a path was loaded
    would reset the view to frame 0 of a one-frame path. No player, no links.
    """

    def _create_player(self):
        self._iplayer = w.HBox(layout=w.Layout(display="none"))


class PathPlayer(w.HBox):
    """Play + frame slider linked to ``view.frame`` and ``view.max_frame`` (an ``NGLWidget``)."""

    def __init__(self, view, interval: int = 80):
        self.view = view
        self.play = w.Play(value=0, min=0, max=max(int(view.max_frame), 0), step=1, interval=interval,
                           repeat=True, show_repeat=True, description="play the path",
                           tooltip="play the whole path from the first minimum (loops)")
        self.slider = w.IntSlider(value=0, min=0, max=max(int(view.max_frame), 0), description="frame",
                                  style={"description_width": "initial"},
                                  layout=w.Layout(flex="1 1 auto", width="auto", min_width="0"))
        super().__init__([self.play, self.slider], layout=w.Layout(width="100%", min_width="0",
                                                                  align_items="center"))
        w.jslink((view, "frame"), (self.play, "value"))
        w.jslink((view, "frame"), (self.slider, "value"))
        w.jslink((view, "max_frame"), (self.play, "max"))
        w.jslink((view, "max_frame"), (self.slider, "max"))
        view.observe(self._max_frame, "max_frame")
        self.play.observe(self._started, "playing")
        if not isinstance(view, NGLView):  # nglview's overlay player (over the particles): an empty box
            view._iplayer = w.HBox(layout=w.Layout(display="none"))

    def _max_frame(self, change):
        self.play.max = self.slider.max = max(int(change["new"]), 0)

    def _started(self, change):
        """Play pressed: start from the first frame (the view usually rests at the saddle)."""
        if change["new"]:
            self.view.frame = 0
