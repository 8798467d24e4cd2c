"""The DWP table: the filtered DWPs as a sortable table whose rows select a DWP.

Built on itables' ``ITable`` widget (DataTables in an anywidget) rather than ipydatagrid:

- the rows are HTML, so the table lays out like the rest of the page (its width follows its
  column, long tables scroll inside a fixed height), text can be read, copied and found by a
  browser test, and the numbers keep their full precision for sorting while showing a short
  form (a render function per column);
- clicking a row selects it (DataTables' Select extension) and the selection is a plain
  ``selected_rows`` trait both ways;
- it is a small pure-Python wheel (anywidget ships the JavaScript), works in JupyterLab 4,
  Notebook 7 and Voilà, and is actively released; ipydatagrid draws the grid on a canvas with
  fixed column widths and has had no release since 2024.

The table never owns the selection: a click sets ``model.selected_dwp`` and the highlighted row
follows ``model.selected_dwp`` (whoever set it). Refreshing the rows keeps the highlight on the
model's DWP and never writes into the model.
"""

from __future__ import annotations

import uuid

import ipywidgets as w
import numpy as np
import pandas as pd
from itables.typing import JavascriptFunction
from itables.widget import ITable

from .model import FILTER_TRAITS

#: Table column → (header with units, JavaScript number format of the displayed text).
COLUMNS = {
    "is_id": ("IS", None),
    "central": ("central", None),
    "asymmetry": ("Δ [ε]", "fixed4"),
    "barrier": ("V [ε]", "fixed4"),
    "d_mwrp": ("d_mw,rp [σ]", "fixed3"),
    "pr2": ("PR₂", "fixed1"),
    "count": ("count", None),
    "delta0_K": ("Δ₀ [K]", "sig3"),
}
#: What each header means (shown in small print below the table).
LEGEND = ("Δ asymmetry and V barrier (ε = ε_AA), d_mw,rp mass-weighted distance of the two minima "
          "(σ = σ_AA), PR₂ participation ratio, count tries that found the DWP, Δ₀ tunnelling "
          "splitting (K, Ni-P units); central: type and index of the particle that moves most")

# Display text of a number; sorting and searching keep the raw value. Non-finite → "—".
_RENDER = """function (data, type, row, meta) {
    if (type !== 'display') { return data; }
    if (data === null || data === undefined || data === '' ) { return '—'; }
    const x = Number(data);
    if (!Number.isFinite(x)) { return '—'; }
    return %s;
}"""
_FORMATS = {
    "fixed4": "x.toFixed(4)",
    "fixed3": "x.toFixed(3)",
    "fixed1": "x.toFixed(1)",
    "sig3": "(x !== 0 && (Math.abs(x) < 1e-2 || Math.abs(x) >= 1e4) ? x.toExponential(2) : x.toPrecision(3))",
}
# DataTables rebuilds the table when its rows change: its state (sort order, search text) is kept
# in the page's memory under the table's own key and given back to the new table.
_STATE_SAVE = """function (settings, data) {
    const copy = JSON.parse(JSON.stringify(data));
    delete copy.select;  // the highlighted row is the model's business, set after each rebuild
    window.tlsvizTableState = window.tlsvizTableState || {};
    window.tlsvizTableState['%s'] = copy;
}"""
_STATE_LOAD = """function (settings) {
    const saved = (window.tlsvizTableState || {})['%s'];
    return saved ? JSON.parse(JSON.stringify(saved)) : null;
}"""


def display_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``df`` (DWP table rows) with the table's columns and headers, in df's order.

    Columns absent from df are left out (e.g. Δ₀ when the tunnelling columns are not known);
    the central particle is shown as its type and index (``B 17``).
    """
    out = {}
    for col, (header, _) in COLUMNS.items():
        if col == "central":
            if {"central_type", "central_index"} <= set(df.columns):
                out[header] = [f"{t} {int(i)}" for t, i in zip(df.central_type, df.central_index)]
        elif col in df.columns:
            values = df[col].to_numpy()
            out[header] = values.astype(np.int64) if col in ("is_id", "count") else values.astype(float)
    return pd.DataFrame(out, index=pd.RangeIndex(len(df)))


def column_defs(frame: pd.DataFrame) -> list[dict]:
    """DataTables column definitions: a render function per number format, no wrapping."""
    headers = list(frame.columns)
    defs = []
    for fmt, code in _FORMATS.items():
        targets = [headers.index(h) for _, (h, f) in COLUMNS.items() if f == fmt and h in headers]
        if targets:
            defs.append({"targets": targets, "render": JavascriptFunction(_RENDER % code)})
    defs.append({"targets": "_all", "className": "dt-right dt-nowrap"})
    return defs


class DWPTable(w.VBox):
    """The DWPs of ``model.filtered()``; clicking a row sets ``model.selected_dwp``.

    ``row_keys`` are the model keys of the rows shown, in the table's row order (``selected_rows``
    of ``table`` index into it). The table scrolls inside ``height``.
    """

    def __init__(self, model, height: str = "260px"):
        self.model = model
        self.row_keys: list[str] = []
        self._shown: pd.DataFrame | None = None
        self._syncing = False
        self._state_key = uuid.uuid4().hex
        self.count = w.HTML()
        frame = display_frame(self.model.filtered())
        self.table = ITable(frame, **self._options(frame, height))
        self.table.add_class("tlsviz-dwp-table")
        self._height = height
        self.legend = w.HTML(f"<div class='tlsviz-legend'>{LEGEND}</div>")
        super().__init__([self.count, self.table, self.legend],
                         layout=w.Layout(width="100%", min_width="0"))
        self.refresh()
        self.table.observe(self._picked, "selected_rows")
        model.observe(lambda _: self.refresh(), FILTER_TRAITS)
        model.observe(lambda _: self._follow(), "selected_dwp")

    def _options(self, frame: pd.DataFrame, height: str) -> dict:
        return dict(
            stateSave=True, stateDuration=0, warn_on_undocumented_option=False,  # the two callbacks below
            stateSaveCallback=JavascriptFunction(_STATE_SAVE % self._state_key),
            stateLoadCallback=JavascriptFunction(_STATE_LOAD % self._state_key),
            columnDefs=column_defs(frame),
            select={"style": "single", "toggleable": False},
            paging=False, scrollY=height, scrollCollapse=True, scrollX=True, autoWidth=False,
            layout={"topStart": None, "topEnd": "search", "bottomStart": "info", "bottomEnd": None},
            showIndex=False, maxBytes=0, text_in_header_can_be_selected=False,  # a click on a header sorts
            classes="display compact hover nowrap",
            order=[], style="width:100%; margin:0",
        )

    def refresh(self):
        """Show ``model.filtered()`` (only when its rows changed) and highlight the model's DWP."""
        f = self.model.filtered()
        keys = list(f.key) if len(f) else []
        total = len(self.model.table)
        self.count.value = (f"<b>DWPs</b> &nbsp; {len(keys)} of {total}"
                            + (" (the filters hide the others)" if len(keys) < total else ""))
        frame = display_frame(f)
        if keys == self.row_keys and self._shown is not None and frame.equals(self._shown):
            self._follow()  # same rows: no new table in the browser (that would lose its sort order)
            return
        self._shown = frame
        self.row_keys = keys
        self._syncing = True
        try:
            self.table.update(frame, selected_rows=self._rows_of_model(), **self._options(frame, self._height))
        finally:
            self._syncing = False

    def _rows_of_model(self) -> list[int]:
        key = self.model.selected_dwp
        return [self.row_keys.index(key)] if key in self.row_keys else []

    def _follow(self):
        """Highlight the model's DWP (or nothing when the filters hide it)."""
        rows = self._rows_of_model()
        if list(self.table.selected_rows) != rows:
            self._syncing = True
            try:
                self.table.selected_rows = rows
            finally:
                self._syncing = False

    def _picked(self, change):
        if self._syncing:
            return
        rows = [r for r in change["new"] if 0 <= r < len(self.row_keys)]
        if rows:
            key = self.row_keys[rows[0]]
            if self.model.selected_dwp != key:
                self.model.selected_dwp = key
        else:  # a row deselected in the browser: the model keeps its DWP, the table shows it again
            self._follow()
