"""Structure picker: the inherent structures, sortable by energy or number of DWPs."""

from __future__ import annotations

import ipywidgets as w


class StructurePicker(w.VBox):
    """Choosing a structure sets ``model.selected_is``; "Make IS" equilibrates a new one in the
    background (``model.making_status`` says which step runs)."""

    def __init__(self, model):
        self.model = model
        self._refreshing = False
        self.sort = w.ToggleButtons(options=[("energy", "energy"), ("DWPs", "n_dwps")], value="energy",
                                    description="sort by")
        self.select = w.Select(rows=8, layout=w.Layout(width="100%"))
        self.make = w.Button(description="Make IS", tooltip="equilibrate at T = 0.5 and quench a new one",
                             icon="plus")
        self.making = w.HTML()
        super().__init__([w.HTML("<b>Inherent structures</b>"), self.sort, self.select,
                          w.HBox([self.make, self.making])])
        self.sort.observe(lambda _: self.refresh(), "value")
        self.select.observe(self._picked, "value")
        self.make.on_click(lambda _: model.make_structures(1))
        model.observe(lambda _: self.refresh(), "structures")
        model.observe(self._selected, "selected_is")
        model.observe(self._busy, ["making", "making_status", "running"])
        self.refresh()

    def refresh(self):
        """New options, the model's selection kept: a ``Select`` resets its value to the first
        option when its options change, and that reset must not reach the model."""
        s = self.model.sorted_structures(self.sort.value)
        self._refreshing = True
        try:
            self.select.options = [(f"IS {r.is_id}: E = {r.energy:.4f}, {r.n_dwps} DWPs", int(r.is_id))
                                   for r in s.itertuples()]
            self.select.value = self.model.selected_is if self.model.selected_is in set(s.is_id) else None
        finally:
            self._refreshing = False

    def _busy(self, _):
        m = self.model
        self.make.disabled = m.making or m.running
        self.making.value = f"<i>{m.making_status}</i>" if m.making_status else ""

    def _picked(self, change):
        if change["new"] is not None and not self._refreshing:
            self.model.selected_is = int(change["new"])

    def _selected(self, change):
        if self.select.value != change["new"] and change["new"] in dict(self.select.options).values():
            self.select.value = change["new"]
