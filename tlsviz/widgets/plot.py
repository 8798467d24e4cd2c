"""Displacement plot: the sorted displacement curve against the catalogue's mean curves for
central A and central B DWPs, and the energy along the path with a marker at the viewer's frame."""

from __future__ import annotations

import ipywidgets as w
import numpy as np
from matplotlib.figure import Figure


def figure_widget(fig):
    """An interactive ipympl canvas for fig (a widget), or a static image where ipympl is absent."""
    try:
        from ipympl.backend_nbagg import Canvas, FigureManager

        canvas = Canvas(fig)
        FigureManager(canvas, 0)
        canvas.header_visible = False
        canvas.toolbar_visible = False
        return canvas
    except ImportError:  # pragma: no cover - ipympl is a dependency of the notebook extra
        return w.Output()


class DisplacementPlot(w.VBox):
    def __init__(self, model, viewer=None, n_show: int = 20):
        self.model = model
        self.n_show = n_show
        # 600 px wide: fits the explorer's middle column (40 %) in a wide notebook; ipympl does not shrink it
        self.fig = Figure(figsize=(6.0, 2.8), layout="constrained")
        self.ax_d, self.ax_e = self.fig.subplots(1, 2)
        self.curve, = self.ax_d.plot([], [], "o-", color="k", ms=3, label="selected DWP")
        self.mean = {c: self.ax_d.plot([], [], "--", color=col, label=f"mean, central {c}")[0]
                     for c, col in (("A", "tab:blue"), ("B", "tab:orange"))}
        self.ax_d.set(xlabel="rank of particle", ylabel="|d_i| (σ)", title="sorted displacements")
        self.ax_d.legend(fontsize=8)
        self.energy, = self.ax_e.plot([], [], "-", color="tab:green")
        self.marker, = self.ax_e.plot([], [], "o", color="tab:red")
        self.ax_e.set(xlabel="mass-weighted path frame", ylabel="E − E_IS (ε)", title="energy along the path")
        self.canvas = figure_widget(self.fig)
        super().__init__([w.HTML("<b>Displacements</b>"), self.canvas])
        self.live_curves: dict[str, object] = {}  # key → line of a DWP verified by a search run here
        model.observe(lambda _: self.update(), ["selected_dwp", "table"])
        if viewer is not None:
            viewer.view.observe(lambda ch: self.set_frame(ch["new"]), "frame")
        self.update()
        model.mean_curves_then(self._show_means)  # in the background in a kernel: no wait at open

    def _show_means(self, curves: dict):
        """Draw the catalogue's mean curves (central A, central B)."""
        for c, curve in curves.items():
            self.mean[c].set_data(np.arange(1, len(curve[: self.n_show]) + 1), curve[: self.n_show])
        self.ax_d.relim()
        self.ax_d.autoscale_view()
        self.fig.canvas.draw_idle()

    def _add_live_curves(self):
        """One thin line per DWP the searches run here have verified: the plot grows with them."""
        t = self.model.table
        for key in t.key[t.source == "search"] if len(t) else []:
            if key not in self.live_curves:
                amp = np.sort(np.linalg.norm(self.model.dwp(key).displacements, axis=1))[::-1][: self.n_show]
                self.live_curves[key], = self.ax_d.plot(np.arange(1, len(amp) + 1), amp, "-", color="0.6", lw=0.8,
                                                        alpha=0.7, zorder=1,
                                                        label=None if self.live_curves else "found by searches here")
                if len(self.live_curves) == 1:
                    self.ax_d.legend(fontsize=8)

    def update(self):
        self._add_live_curves()
        key = self.model.selected_dwp
        if key:
            src = self.model.dwp(key)
            amp = np.sort(np.linalg.norm(src.displacements, axis=1))[::-1][: self.n_show]
            self.curve.set_data(np.arange(1, len(amp) + 1), amp)
            e = src.energies - src.energies[0]
            self.energy.set_data(np.arange(len(e)), e)
            self.set_frame(len(e) // 2, draw=False)
        else:  # nothing selected (e.g. the filters hide every DWP)
            for line in (self.curve, self.energy, self.marker):
                line.set_data([], [])
        for ax in (self.ax_d, self.ax_e):
            ax.relim()
            ax.autoscale_view()
        self.fig.canvas.draw_idle()

    def set_frame(self, frame: int, draw: bool = True):
        x, y = self.energy.get_data()
        if len(y) and 0 <= frame < len(y):
            self.marker.set_data([x[frame]], [y[frame]])
            if draw:
                self.fig.canvas.draw_idle()
