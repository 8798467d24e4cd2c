"""Search launcher: parameters, Run / Cancel, progress by phase, a results table that grows, errors."""

from __future__ import annotations

import html

import ipywidgets as w

from .model import INPUT_LIMITS, parse_input

TABLE_COLUMNS = ["key", "is_id", "asymmetry", "barrier", "d_mwrp", "central_type", "pr2", "count",
                 "lambda_wkb", "delta0_K", "tls_energy_K"]


def table_html(df) -> str:
    """A small HTML table of DWP rows (the columns a reader scans first)."""
    if len(df) == 0:
        return "<i>no DWPs yet</i>"
    cols = [c for c in TABLE_COLUMNS if c in df.columns]
    table = df[cols].to_html(index=False, float_format=lambda v: f"{v:.4g}", classes="tlsviz-dwps", border=0)
    return f"<div style='overflow-x:auto;max-width:100%'>{table}</div>"


def _red(msg: str) -> str:
    return f"<pre style='color:#b00020;white-space:pre-wrap;margin:0'>{html.escape(msg)}</pre>" if msg else ""


class SearchLauncher(w.VBox):
    """Runs ``model.start_search()`` on the selected IS; the table lists the DWPs it verified.

    The inputs are text fields read exactly as typed: a value that is not a number of the right
    kind, or out of range, is refused with a message (never rounded, clipped or truncated), and
    Run does not start until it is fixed.
    """

    def __init__(self, model):
        self.model = model
        self.inputs = {name: w.Text(value=str(getattr(model, name)), description=label, continuous_update=False)
                       for name, (label, *_) in INPUT_LIMITS.items()}
        self.t_search, self.n_search, self.tries, self.seed = (self.inputs[k] for k in
                                                               ("t_search", "n_search", "tries", "seed"))
        self._input_errors: dict[str, str] = {}
        self.input_message = w.HTML()
        self.run = w.Button(description="Run", button_style="success", icon="play")
        self.stop = w.Button(description="Cancel", button_style="warning", icon="stop", disabled=True)
        self.progress = w.FloatProgress(value=0, min=0, max=1, description="tries")
        self.label = w.HTML()
        self.error = w.HTML()
        self.results = w.HTML(table_html(self._found()))
        for name, text in self.inputs.items():
            text.observe(lambda ch, n=name: self._typed(n, ch["new"]), "value")
            model.observe(lambda ch, n=name: self._model_input(n, ch["new"]), name)
        super().__init__([w.HTML("<b>Search</b>"), w.HBox([self.t_search, self.n_search]),
                          w.HBox([self.tries, self.seed]), self.input_message, w.HBox([self.run, self.stop]),
                          self.progress, self.label, self.error, self.results])
        self.run.on_click(self._run)
        self.stop.on_click(lambda _: self._cancel())
        model.observe(self._progress, ["tries_done", "tries_total", "minima_found", "dwps_verified", "pairs_done",
                                       "pairs_total", "phase", "status", "running", "making"])
        model.observe(lambda ch: setattr(self.error, "value", _red(ch["new"])), "error")
        model.observe(lambda _: setattr(self.results, "value", table_html(self._found())), "table")
        self._progress(None)

    def _typed(self, name: str, text: str):
        value, msg = parse_input(name, text)
        if msg:
            self._input_errors[name] = msg
        else:
            self._input_errors.pop(name, None)
            setattr(self.model, name, value)
        self.input_message.value = _red("\n".join(self._input_errors.values()))

    def _model_input(self, name: str, value):
        """The model changed from code: show its value (unless the text already reads as it)."""
        if parse_input(name, self.inputs[name].value)[0] != value:
            self.inputs[name].value = str(value)

    def _run(self, _):
        if self._input_errors:
            self.input_message.value = _red("not started: " + "\n".join(self._input_errors.values()))
            return
        if not (self.model.running or self.model.making):
            self.model.start_search()

    def _cancel(self):
        self.stop.disabled = True
        self.model.cancel()

    def _found(self):
        """The DWPs verified by searches run here (the catalogue's are in the filters' list)."""
        t = self.model.table
        return t[t.source == "search"] if len(t) else t

    def _progress(self, _):
        m = self.model
        if m.phase == "saddles":
            self.progress.description, total, done = "saddles", m.pairs_total, m.pairs_done
        else:
            self.progress.description, total, done = "tries", m.tries_total, m.tries_done
        self.progress.max = max(total, 1)
        self.progress.value = done if total else (1 if m.phase == "saddles" else 0)
        self.progress.bar_style = {"done": "success", "cancelled": "warning", "failed": "danger"}.get(m.phase, "")
        self.run.disabled = m.running or m.making
        self.stop.disabled = not m.running or m.phase == "cancelled"
        counts = (f"{m.tries_done}/{m.tries_total} tries, {m.minima_found} nearby minima, "
                  f"{m.dwps_verified} DWPs verified" if m.tries_total else "")
        self.label.value = f"{counts} &nbsp; <i>{html.escape(m.status)}</i>"
