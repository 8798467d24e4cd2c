"""The observables of docs/method.md §7, each a small class: parameters in ``__init__``, a catalogue in
``compute()`` (which returns the object), results as properties (tidy DataFrames with
statistical errors), and ``plot(ax=None)``::

    from tlsviz.analysis import ParticipationRatioTable
    prs = ParticipationRatioTable().compute(cat)      # a Catalog or its path
    prs.table                                          # all / central A / central B
    prs.plot()

| §7 | class |
| --- | --- |
| 1 | :class:`DistanceHistogram` |
| 2 | :class:`FoundCountHistogram` |
| 3 | :class:`DWPsPerMinimum` (several catalogues) |
| 4 | :class:`TLSDensity` (units in :mod:`tlsviz.analysis.units`) |
| 5 | :class:`AgainstISEnergy` |
| 6 | :class:`SortedDisplacements` |
| 7 | :class:`ParticipationRatioTable` |
| 8 | :class:`ParticipationVsDistance` |
| 9 | :class:`CentralParticleCorrelation` |
| tunnelling | :class:`TunnellingAnalysis` (Δ₀, TLS and P̄; docs/tunnelling.md) |

:func:`tlsviz.analysis.report.write_report` writes all of them for one or more catalogues
(``tlsviz report``).
"""

from .correlation import CentralParticleCorrelation
from .counts import AgainstISEnergy, DWPsPerMinimum, TLSDensity
from .displacements import ParticipationRatioTable, ParticipationVsDistance, SortedDisplacements
from .histograms import DistanceHistogram, FoundCountHistogram
from .units import NI_P, GlassUnits

__all__ = ["AgainstISEnergy", "CentralParticleCorrelation", "DWPsPerMinimum", "DistanceHistogram",
           "FoundCountHistogram", "GlassUnits", "NI_P", "ParticipationRatioTable", "ParticipationVsDistance",
           "SortedDisplacements", "TLSDensity", "TunnellingAnalysis"]


def __getattr__(name):
    # TunnellingAnalysis is imported on first use: tlsviz.tunnelling (which it builds on) imports
    # .units of this package, so an import here would be circular.
    if name == "TunnellingAnalysis":
        from .tunnelling import TunnellingAnalysis

        globals()[name] = TunnellingAnalysis
        return TunnellingAnalysis
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
