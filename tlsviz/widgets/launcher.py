"""Search launcher: parameters, Run / Cancel, progress, a results table that grows, errors."""

from __future__ import annotations

import html

import ipywidgets as w

TABLE_COLUMNS = ["key", "is_id", "asymmetry", "barrier", "d_mwrp", "central_type", "pr2", "count",
                 "lambda_wkb", "delta0_K", "tls_energy_K"]


def table_html(df) -> str:
    """A small HTML table of DWP rows (the columns a reader scans first)."""
    if len(df) == 0:
        return "<i>no DWPs yet</i>"
    cols = [c for c in TABLE_COLUMNS if c in df.columns]
    table = df[cols].to_html(index=False, float_format=lambda v: f"{v:.4g}", classes="tlsviz-dwps", border=0)
    return f"<div style='overflow-x:auto;max-width:100%'>{table}</div>"


class SearchLauncher(w.VBox):
    """Runs ``model.start_search()`` on the selected IS; the table lists the DWPs it verified."""

    def __init__(self, model):
        self.model = model
        self.t_search = w.BoundedFloatText(value=model.t_search, min=0.05, max=3.0, step=0.05,
                                           description="T_search")
        self.n_search = w.BoundedIntText(value=model.n_search, min=1, max=5000, step=10, description="N_search")
        self.tries = w.BoundedIntText(value=model.tries, min=1, max=100000, step=50, description="tries M")
        self.seed = w.BoundedIntText(value=model.seed, min=0, max=2**31 - 1, description="seed")
        self.run = w.Button(description="Run", button_style="success", icon="play")
        self.stop = w.Button(description="Cancel", button_style="warning", icon="stop", disabled=True)
        self.progress = w.FloatProgress(value=0, min=0, max=1, description="tries")
        self.label = w.HTML()
        self.error = w.HTML()
        self.results = w.HTML(table_html(self._found()))
        for name in ("t_search", "n_search", "tries", "seed"):
            w.link((getattr(self, name), "value"), (model, name))
        super().__init__([w.HTML("<b>Search</b>"), w.HBox([self.t_search, self.n_search]),
                          w.HBox([self.tries, self.seed]), w.HBox([self.run, self.stop]),
                          self.progress, self.label, self.error, self.results])
        self.run.on_click(lambda _: model.start_search())
        self.stop.on_click(lambda _: model.cancel())
        model.observe(self._progress, ["tries_done", "tries_total", "minima_found", "dwps_verified",
                                       "status", "running"])
        model.observe(self._error, "error")
        model.observe(lambda _: setattr(self.results, "value", table_html(self._found())), "table")

    def _found(self):
        """The DWPs verified by searches run here (the catalogue's are in the filters' list)."""
        t = self.model.table
        return t[t.source == "search"] if len(t) else t

    def _progress(self, _):
        m = self.model
        self.progress.max = max(m.tries_total, 1)
        self.progress.value = m.tries_done
        self.run.disabled, self.stop.disabled = m.running, not m.running
        self.label.value = (f"{m.tries_done}/{m.tries_total} tries, {m.minima_found} nearby minima, "
                            f"{m.dwps_verified} DWPs verified &nbsp; <i>{html.escape(m.status)}</i>")

    def _error(self, change):
        msg = change["new"]
        self.error.value = (f"<pre style='color:#b00020;white-space:pre-wrap'>{html.escape(msg)}</pre>"
                            if msg else "")
