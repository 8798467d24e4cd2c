"""Jupyter widgets: the explorer app and its panels (needs the ``notebook`` extra)."""

from .app import Explorer
from .filters import Filters
from .launcher import SearchLauncher
from .model import ExplorerModel
from .picker import StructurePicker
from .player import PathPlayer
from .plot import DisplacementPlot
from .table import DWPTable
from .viewer import PathViewer

__all__ = ["DWPTable", "DisplacementPlot", "Explorer", "ExplorerModel", "Filters", "PathPlayer", "PathViewer",
           "SearchLauncher", "StructurePicker"]
