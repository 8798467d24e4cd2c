"""tlsviz: double-well potentials and two-level systems of the Kob–Andersen glass."""

from .engine.params import LJParams
from .system import KobAndersen, QuenchResult

__version__ = "0.1.0"

__all__ = ["KobAndersen", "LJParams", "QuenchResult", "__version__"]
