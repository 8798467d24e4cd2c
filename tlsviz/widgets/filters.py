"""Filters and the DWP list: central type, ranges of Δ, V, d and participation ratio, central-B view."""

from __future__ import annotations

import ipywidgets as w
import numpy as np

from .model import FILTER_TRAITS, RANGE_COLUMNS

LABELS = {"asymmetry": "Δ", "barrier": "V", "d": "d", "pr2": "PR₂"}


class Filters(w.VBox):
    """Narrows ``model.filtered()``; the list below selects ``model.selected_dwp``."""

    def __init__(self, model):
        self.model = model
        self._refreshing = self._resetting = False
        self.scope = w.ToggleButtons(options=["all", "selected IS"], value=model.scope, description="DWPs of")
        self.central = w.ToggleButtons(options=["any", "A", "B"], value=model.central_type, description="central")
        self.ranges = {col: w.FloatRangeSlider(description=LABELS[col], step=0.001, readout_format=".3f",
                                               continuous_update=False) for col in RANGE_COLUMNS}
        self.tls = w.Checkbox(value=model.tls_only, description="TLS only (E < 1 K, Ni-P units)")
        self.central_b = w.Button(description="Central B events", icon="search",
                                  tooltip="all DWPs whose central particle is B, one by one")
        self.prev = w.Button(description="", icon="chevron-left", layout=w.Layout(width="40px"))
        self.next = w.Button(description="", icon="chevron-right", layout=w.Layout(width="40px"))
        self.list = w.Select(rows=8, layout=w.Layout(width="100%"))
        self.count = w.HTML()
        super().__init__([w.HTML("<b>Filters</b>"), self.scope, self.central, *self.ranges.values(), self.tls,
                          w.HBox([self.central_b, self.prev, self.next]), self.count, self.list])
        w.link((self.scope, "value"), (model, "scope"))
        w.link((self.central, "value"), (model, "central_type"))
        w.link((self.tls, "value"), (model, "tls_only"))
        for col, slider in self.ranges.items():
            slider.observe(lambda ch, c=col: self._range(c, ch["new"]), "value")
        self.central_b.on_click(self._central_b)
        self.prev.on_click(lambda _: self.step(-1))
        self.next.on_click(lambda _: self.step(+1))
        self.list.observe(self._picked, "value")
        model.observe(lambda _: self.refresh(), [*FILTER_TRAITS, "notice"])
        model.observe(lambda _: self._reset_ranges(), "table")
        self._reset_ranges()
        self.refresh()

    def _reset_ranges(self):
        """Slider limits follow the table; a slider the user has not narrowed stays open."""
        t = self.model.table
        self._resetting = True  # the slider moves its value while its limits change: not the user
        try:
            for col, slider in self.ranges.items():
                hi = float(np.nanmax(t[col].to_numpy(dtype=float))) if len(t) else 1.0
                hi = max(hi, 1e-3) * 1.001
                narrowed = getattr(slider, "_tlsviz_narrowed", False)
                slider.min, slider.max = 0.0, max(hi, slider.min)
                if not narrowed:
                    slider.value = (0.0, hi)
                    slider._tlsviz_narrowed = False
        finally:
            self._resetting = False

    def _range(self, col, value):
        if self._resetting:
            return
        slider = self.ranges[col]
        slider._tlsviz_narrowed = tuple(value) != (slider.min, slider.max)
        # an open slider means no limit (new DWPs beyond the current maximum stay visible)
        lo, hi = value
        setattr(self.model, RANGE_COLUMNS[col], (lo, hi if slider._tlsviz_narrowed else np.inf))

    def refresh(self):
        f = self.model.filtered()
        note = f" — <b>{self.model.notice}</b>" if self.model.notice else ""
        self.count.value = f"{len(f)} of {len(self.model.table)} DWPs{note}"
        # a Select resets its value to the first option when its options change: that reset
        # must not reach the model (the selection changes only by the user)
        self._refreshing = True
        try:
            self.list.options = [(f"{r.key}: IS {r.is_id}, Δ = {r.asymmetry:.4f}, V = {r.barrier:.4f}, "
                                  f"E = {r.tls_energy_K:.3g} K, central {r.central_type}{r.central_index}", r.key)
                                 for r in f.itertuples()]
            self.list.value = self.model.selected_dwp if self.model.selected_dwp in set(f.key) else None
        finally:
            self._refreshing = False

    def _picked(self, change):
        if change["new"] and not self._refreshing:
            self.model.selected_dwp = change["new"]

    def _central_b(self, _):
        keys = self.model.central_b_events()
        if keys:
            self.model.selected_dwp = keys[0]
            self.list.value = keys[0]

    def step(self, delta: int):
        keys = [k for _, k in self.list.options]
        if not keys:
            return
        i = keys.index(self.model.selected_dwp) + delta if self.model.selected_dwp in keys else 0
        self.list.value = keys[i % len(keys)]
