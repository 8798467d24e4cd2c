"""The path player: Play / pause and a frame slider below the 3-D view, driving ``view.frame``.

nglview's own player appears over the lower part of the view when the mouse is over it and
covers the particles; it is hidden, and this one sits below the view instead. Play always
runs the whole path (minimum → saddle → minimum) from frame 0 and loops by default (the loop
toggle is Play's own button). The links are front-end links (``jslink``), so the animation
runs at its own pace in the browser even while the kernel is busy with a search.
"""

from __future__ import annotations

import ipywidgets as w


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
        w.jslink((self.play, "value"), (self.slider, "value"))
        w.jslink((self.play, "value"), (view, "frame"))
        w.jslink((view, "max_frame"), (self.play, "max"))
        w.jslink((view, "max_frame"), (self.slider, "max"))
        view.observe(self._max_frame, "max_frame")
        self.play.observe(self._started, "playing")
        # nglview's overlay player (shown on hover, over the particles): an empty box instead
        view._iplayer = w.HBox(layout=w.Layout(display="none"))

    def _max_frame(self, change):
        self.play.max = self.slider.max = max(int(change["new"]), 0)

    def _started(self, change):
        """Play pressed: start from the first frame (the view usually rests at the saddle)."""
        if change["new"]:
            self.play.value = 0
