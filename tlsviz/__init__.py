"""tlsviz: double-well potentials and two-level systems of the Kob–Andersen glass."""

__version__ = "0.1.0"

from .engine.params import LJParams  # noqa: E402
from .search import SearchParams, SearchResult, SearchRun, search_dwps  # noqa: E402
from .system import KobAndersen, QuenchResult  # noqa: E402
from .catalog import Catalog, CatalogError  # noqa: E402
from .campaign import CampaignConfig, run_campaign  # noqa: E402

__all__ = ["CampaignConfig", "Catalog", "CatalogError", "KobAndersen", "LJParams", "QuenchResult",
           "SearchParams", "SearchResult", "SearchRun", "run_campaign", "search_dwps", "__version__"]
