"""The explorer: the panels arranged as one app."""

from __future__ import annotations

from pathlib import Path

import ipywidgets as w

from .filters import Filters
from .launcher import SearchLauncher
from .model import ExplorerModel
from .picker import StructurePicker
from .plot import DisplacementPlot
from .viewer import PathViewer


class Explorer(w.VBox):
    """``Explorer()`` on the built-in demo catalogue, ``Explorer("my-catalog")`` / ``Explorer(cat)``
    on a catalogue, or ``Explorer(system=tlsviz.KobAndersen(n=65))`` on a fresh system (make or
    add inherent structures in the picker, then search them).

    Panels (each usable alone with the same model): ``picker``, ``launcher``, ``viewer``,
    ``plot``, ``filters``; the state is ``explorer.model`` (:class:`ExplorerModel`).
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
        left = w.VBox([self.picker, self.launcher], layout=w.Layout(width="34%"))
        mid = w.VBox([self.viewer, self.plot], layout=w.Layout(width="40%"))
        right = w.VBox([self.filters], layout=w.Layout(width="26%"))
        super().__init__([w.HTML("<h3>tlsviz explorer</h3>"), w.HBox([left, mid, right])])
