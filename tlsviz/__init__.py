"""tlsviz: double-well potentials and two-level systems of the Kob–Andersen glass."""

from .engine.params import LJParams
from .search import SearchParams, SearchResult, SearchRun, search_dwps
from .system import KobAndersen, QuenchResult

__version__ = "0.1.0"

__all__ = ["KobAndersen", "LJParams", "QuenchResult", "SearchParams", "SearchResult", "SearchRun",
           "search_dwps", "__version__"]
