"""Jupyter widgets: the explorer app and its panels (needs the ``notebook`` extra)."""

from .app import Explorer
from .filters import Filters
from .launcher import SearchLauncher
from .model import ExplorerModel
from .picker import StructurePicker
from .plot import DisplacementPlot
from .viewer import PathViewer

__all__ = ["DisplacementPlot", "Explorer", "ExplorerModel", "Filters", "PathViewer", "SearchLauncher",
           "StructurePicker"]
