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
    """``Explorer()`` on a fresh N = 65 system, or ``Explorer("my-catalog")`` / ``Explorer(cat)``.

    Panels (each usable alone with the same model): ``picker``, ``launcher``, ``viewer``,
    ``plot``, ``filters``; the state is ``explorer.model`` (:class:`ExplorerModel`).
    """

    def __init__(self, catalog=None, system=None):
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
