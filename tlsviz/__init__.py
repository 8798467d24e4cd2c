"""tlsviz: double-well potentials and two-level systems of the Kob–Andersen glass.

The public names below are imported on first use (PEP 562), so that ``import tlsviz``
and ``tlsviz --help`` do not load numba, scipy and pandas; ``tlsviz.KobAndersen`` and
``from tlsviz import KobAndersen`` work as for an eager import.
"""

__version__ = "0.1.0"

from ._numba_cache import configure_numba_cache  # noqa: E402

configure_numba_cache()

#: public name -> module that defines it
_LAZY = {
    "LJParams": ".engine.params",
    "SearchParams": ".search", "SearchResult": ".search", "SearchRun": ".search", "search_dwps": ".search",
    "KobAndersen": ".system", "QuenchResult": ".system", "InherentStructures": ".system",
    "Catalog": ".catalog", "CatalogError": ".catalog",
    "CampaignConfig": ".campaign", "run_campaign": ".campaign",
}

__all__ = ["CampaignConfig", "Catalog", "CatalogError", "InherentStructures", "KobAndersen", "LJParams",
           "QuenchResult", "SearchParams", "SearchResult", "SearchRun", "run_campaign", "search_dwps", "__version__"]


def __getattr__(name):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value  # the next access is a plain attribute
        return value
    raise AttributeError(f"module 'tlsviz' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
