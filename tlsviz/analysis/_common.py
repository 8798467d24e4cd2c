"""What the analyses share: catalogue access, labels, per-DWP displacement amplitudes, axes."""

from __future__ import annotations

import numpy as np

from ..catalog import Catalog
from .stats import mean_sem
from .units import NI_P

#: Axis labels of the per-DWP participation quantities of docs/method.md §6.
PR_NAMES = {"pr1": "PR₁ = 1/⟨d_max²/Σd²⟩", "pr2": "PR₂ = ⟨Σd²/d_max²⟩", "pr3": "PR₃ = ⟨Σ|d|/d_max⟩",
            "pr4": "PR₄ = ⟨(Σd²)²/Σd⁴⟩"}


class Analysis:
    """Parameters in ``__init__``, data in :meth:`compute` (returns self), results as
    properties, and ``plot(ax=None)``. Reading a result before ``compute`` raises."""

    _results: dict | None = None

    def _get(self, name: str):
        if self._results is None:
            raise RuntimeError(f"{type(self).__name__}: call .compute(catalog) before reading .{name}")
        return self._results[name]

    @property
    def label(self) -> str:
        """The catalogue's name in plot titles ("N = 65", "2 × 65"); may be set after compute()."""
        return self._get("label")

    @label.setter
    def label(self, text: str):
        self._get("label")
        self._results["label"] = str(text)


def as_catalog(obj) -> Catalog:
    """A :class:`Catalog`, or a path to one."""
    return obj if isinstance(obj, Catalog) else Catalog.open(obj)


def n_particles(cat: Catalog) -> int:
    """All particles of the system (n × copies)."""
    return int(cat.params["n"]) * int(cat.params.get("copies", 1))


def system_label(cat: Catalog) -> str:
    """'N = 65', or '2 × 65' for two copies; ', local' added for a local search's catalogue."""
    n, copies = int(cat.params["n"]), int(cat.params.get("copies", 1))
    label = f"N = {n}" if copies == 1 else f"{copies} × {n}"
    return label + (", local" if search_mode(cat) == "local" else "")


def search_mode(cat: Catalog) -> str:
    """The search mode of a catalogue: "global" (also for catalogues written before modes
    existed) or "local"."""
    return str((cat.params.get("search") or {}).get("mode", "global"))


def tries_per_is(cat: Catalog) -> int:
    """The tries M per IS of a catalogue: as its searches ran them (the IS table; a local
    search runs tries per particle × N), else as configured."""
    m = getattr(cat, "minima", None)
    if m is not None and "tries" in m and len(m):
        return int(round(float(m.tries.mean())))
    return int(cat.params.get("tries", 0))


def dwps_per_is(cat: Catalog, dwps=None) -> np.ndarray:
    """DWPs of each IS of ``cat.minima`` (0 for an IS without any), from ``dwps`` (default all)."""
    dwps = cat.dwps if dwps is None else dwps
    ids = cat.minima.is_id.to_numpy() if len(cat.minima) else np.zeros(0, dtype=int)
    if len(dwps) == 0:
        return np.zeros(len(ids), dtype=int)
    counts = dwps.groupby("is_id").size()
    return counts.reindex(ids, fill_value=0).to_numpy().astype(int)


def pr_average(values, which: str) -> tuple[float, float]:
    """§6's average over DWPs of a per-DWP quantity, with its standard error.

    pr1 stores q = d_max²/Σd², and PR₁ = 1/⟨q⟩ (error s_q/⟨q⟩², propagated from the SEM);
    pr2…pr4 are plain means ⟨q⟩ ± SEM.
    """
    mean, sem = mean_sem(values)
    if which == "pr1":
        if not np.isfinite(mean) or mean == 0:
            return float("nan"), float("nan")
        return 1.0 / mean, sem / mean ** 2
    return mean, sem


def per_dwp_pr(values, which: str) -> np.ndarray:
    """The per-DWP participation ratio: 1/q for pr1 (q = d_max²/Σd²), the stored value otherwise."""
    v = np.asarray(values, dtype=float)
    return 1.0 / v if which == "pr1" else v


def dwp_amplitudes(cat: Catalog) -> np.ndarray:
    """(n_dwps, N): |d_i| of every particle, IS → second minimum (``cat.displacements(i)``),
    for every row i of ``cat.dwps``."""
    dwps = cat.dwps
    out = np.zeros((len(dwps), n_particles(cat)))
    if len(dwps):
        dwp_id = dwps.dwp_id.to_numpy(int)
        for is_id, rows in dwps.groupby("is_id").indices.items():
            out[rows] = np.linalg.norm(cat.is_arrays(is_id, "displacements")[dwp_id[rows]], axis=2)
    return out


def min_image_distances(x: np.ndarray, box: float, pairs: np.ndarray) -> np.ndarray:
    """|r_j − r_i| under the minimum-image convention for the index pairs (k, 2)."""
    pairs = np.asarray(pairs, dtype=int).reshape(-1, 2)
    d = x[pairs[:, 1]] - x[pairs[:, 0]]
    d -= box * np.rint(d / box)
    return np.linalg.norm(d, axis=1)


# ---------------------------------------------------------------- plotting
def new_axes(ax=None):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def no_data(ax, text: str = "no DWPs"):
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="0.4")


def angstrom_axis(ax, which: str = "x", units=NI_P):
    """A secondary axis in Å on top (x) or right (y) of an axis in σ."""
    f = units.sigma_angstrom
    make = ax.secondary_xaxis("top", functions=(lambda v: v * f, lambda v: v / f)) if which == "x" else \
        ax.secondary_yaxis("right", functions=(lambda v: v * f, lambda v: v / f))
    (make.set_xlabel if which == "x" else make.set_ylabel)("Å (Ni₈₀P₂₀)")
    _few_ticks(ax, make, which)
    return make


def kelvin_axis(ax, which: str = "x", units=NI_P, label: str = "K (Ni₈₀P₂₀)"):
    """A secondary axis in K on top (x) or right (y) of an axis in ε."""
    f = units.epsilon_k
    make = ax.secondary_xaxis("top", functions=(lambda v: v * f, lambda v: v / f)) if which == "x" else \
        ax.secondary_yaxis("right", functions=(lambda v: v * f, lambda v: v / f))
    (make.set_xlabel if which == "x" else make.set_ylabel)(label)
    _few_ticks(ax, make, which)
    return make


def _few_ticks(ax, secondary, which: str, n: int = 5):
    """At most n ticks on a linear secondary axis (log axes keep their decades)."""
    from matplotlib.ticker import MaxNLocator

    if (ax.get_xscale() if which == "x" else ax.get_yscale()) != "log":
        (secondary.xaxis if which == "x" else secondary.yaxis).set_major_locator(MaxNLocator(nbins=n))
