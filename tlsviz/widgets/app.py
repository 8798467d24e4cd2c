"""The explorer: the panels arranged as one app that fits its width.

Layout: three columns (structures + search, the path, the filters) and below them the DWP table
and the displacement plot. The rows are flex boxes that wrap: each column has a basis width and
grows to share the room, and a column that no longer fits moves below the others instead of
being cut off (at 1280 × 800 with JupyterLab's side bar open the filters go below the view).
Every column has ``min-width: 0`` so that no child can push it wider than its share; the 3-D
view takes its column's width and the controls of the panels shrink to it (the style sheet
below replaces ipywidgets' fixed 300 px controls and 80 px truncated labels inside the app).
"""

from __future__ import annotations

from pathlib import Path

import anywidget
import ipywidgets as w
import traitlets

from .filters import Filters
from .launcher import SearchLauncher
from .model import ExplorerModel
from .picker import StructurePicker
from .plot import DisplacementPlot
from .table import DWPTable
from .viewer import PathViewer

#: CSS of the app, scoped to its root class. ipywidgets gives text boxes, sliders, check boxes
#: and progress bars a fixed 300 px width and cuts labels at 80 px with an ellipsis; inside the
#: explorer they take the room of their column, labels are as wide as their text, and slider
#: readouts are as wide as the numbers they show.
STYLE = """
<style>
.tlsviz-explorer { box-sizing: border-box; max-width: 100%; min-width: 0; }
.tlsviz-explorer .tlsviz-row { gap: 10px 18px; }
.tlsviz-explorer .tlsviz-col { overflow: visible; }
.tlsviz-explorer .widget-inline-hbox { max-width: calc(100% - 2 * var(--jp-widgets-margin)); min-width: 0; }
.tlsviz-explorer .widget-inline-hbox > .widget-label {
    width: auto; min-width: 56px; max-width: none; overflow: visible; flex-shrink: 0;
}
.tlsviz-explorer .widget-hslider, .tlsviz-explorer .widget-hprogress { width: 100%; }
.tlsviz-explorer .widget-hbox > .widget-hslider { width: auto; flex: 1 1 160px; }
.tlsviz-explorer .widget-hslider .slider-container { min-width: 60px; }
.tlsviz-explorer .widget-readout { width: auto; min-width: fit-content; overflow: visible; flex-shrink: 0; }
.tlsviz-explorer .widget-text { width: auto; flex: 1 1 150px; }
.tlsviz-explorer .widget-text input { min-width: 40px; }
.tlsviz-explorer .widget-checkbox { width: auto; height: auto; }
.tlsviz-explorer .widget-checkbox > .widget-label { display: none; }
.tlsviz-explorer .widget-label-basic { overflow: visible; white-space: normal; line-height: 1.3; }
.tlsviz-explorer .widget-toggle-buttons { width: auto; flex-wrap: wrap; }
.tlsviz-explorer .widget-toggle-button { width: auto; min-width: 64px; }
.tlsviz-explorer .widget-hbox { flex-wrap: wrap; max-width: 100%; }
.tlsviz-explorer .widget-html-content { overflow-wrap: anywhere; }
/* the 3-D view follows its column: no drag handles that would fix its size in pixels */
.tlsviz-explorer .ui-resizable-handle { display: none !important; }
.tlsviz-explorer .tlsviz-legend { font-size: 11px; line-height: 1.3; color: var(--jp-ui-font-color2, #666); }
.tlsviz-explorer .tlsviz-dwp-table { width: 100%; min-width: 0; }
.tlsviz-explorer .tlsviz-dwp-table td, .tlsviz-explorer .tlsviz-dwp-table th { white-space: nowrap; }
</style>
"""


class ResizeWatcher(anywidget.AnyWidget):
    """Calls ``callback()`` when the box it is placed in changes width (an invisible widget).

    NGL sizes its canvas in pixels and redraws at a new size only when told; the browser's
    ResizeObserver on the column tells the kernel, which calls ``NGLWidget.handle_resize()``.
    Changes are reported at most every ``delay_ms``.
    """

    _esm = """
    function render({ model, el }) {
        el.style.display = "none";
        let timer = null, last = -1, observer = null;
        const report = (width) => {
            if (Math.abs(width - last) < 1) { return; }
            last = width;
            clearTimeout(timer);
            timer = setTimeout(() => model.send({ width: width }), model.get("delay_ms"));
        };
        const start = () => {
            const box = el.parentElement && el.parentElement.closest(".widget-box");
            if (!box) { requestAnimationFrame(start); return; }
            observer = new ResizeObserver((entries) => report(entries[0].contentRect.width));
            observer.observe(box);
        };
        requestAnimationFrame(start);
        return () => { clearTimeout(timer); if (observer) { observer.disconnect(); } };
    }
    export default { render };
    """
    delay_ms = traitlets.Int(150).tag(sync=True)

    def __init__(self, callback, **kwargs):
        super().__init__(**kwargs)
        self.width = 0.0  # the box's last width reported by the browser (px)
        self.on_msg(lambda _, content, __: self._resized(callback, content))

    def _resized(self, callback, content):
        self.width = float(content.get("width", 0))
        callback()


def column(children, basis: str, grow: int = 1) -> w.VBox:
    """A column of a wrapping row: starts at ``basis`` wide, grows by ``grow``, never forces its
    row wider (``min-width: 0``)."""
    box = w.VBox(children, layout=w.Layout(flex=f"{grow} 1 {basis}", min_width="0", max_width="100%"))
    box.add_class("tlsviz-col")
    return box


def row(children) -> w.HBox:
    """A row of columns that wraps a column below the others when it does not fit."""
    box = w.HBox(children, layout=w.Layout(flex_flow="row wrap", align_items="flex-start", width="100%",
                                           min_width="0"))
    box.add_class("tlsviz-row")
    return box


class Explorer(w.VBox):
    """``Explorer()`` on the built-in demo catalogue, ``Explorer("my-catalog")`` / ``Explorer(cat)``
    on a catalogue, or ``Explorer(system=tlsviz.KobAndersen(n=65))`` on a fresh system (make or
    add inherent structures in the picker, then search them).

    Panels (each usable alone with the same model): ``picker``, ``launcher``, ``viewer``,
    ``plot``, ``filters``, ``table`` (:class:`DWPTable`, the DWPs the filters let through; a click
    selects one); the state is ``explorer.model`` (:class:`ExplorerModel`).
    """

    def __init__(self, catalog=None, system=None):
        if catalog is None and system is None:
            from ..demo import demo_catalog

            catalog = demo_catalog()
        if isinstance(catalog, (str, Path)):
            from ..catalog import Catalog

            catalog = Catalog.open(catalog)
        self.model = ExplorerModel(catalog, system)
        self.picker = StructurePicker(self.model)
        self.launcher = SearchLauncher(self.model)
        self.viewer = PathViewer(self.model)
        self.plot = DisplacementPlot(self.model, self.viewer)
        self.filters = Filters(self.model)
        self.table = DWPTable(self.model)
        # the table lists the DWPs: the launcher's own list of found DWPs and the filters' list
        # would repeat it (both panels keep them for use on their own)
        self.launcher.results.layout.display = "none"
        if hasattr(self.plot.canvas, "footer_visible"):  # ipympl's status line: nothing to say here
            self.plot.canvas.footer_visible = False
        self.filters.list.layout.display = "none"
        self.resize = ResizeWatcher(self.viewer.view.handle_resize)
        top = row([column([self.picker, self.launcher], "250px", 1),
                   column([self.viewer, self.resize], "400px", 2),
                   column([self.filters], "260px", 1)])
        bottom = row([column([self.table], "420px", 1), column([self.plot], "auto", 0)])
        super().__init__([w.HTML(STYLE + "<h3 style='margin:4px 0'>tlsviz explorer</h3>"), top, bottom],
                         layout=w.Layout(width="100%", min_width="0"))
        self.add_class("tlsviz-explorer")
