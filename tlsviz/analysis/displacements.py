"""What moves in a DWP: sorted displacement curves by central type (docs/method.md §7.6), the four
participation ratios (§7.7), and participation against distance (§7.8)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._common import (PR_NAMES, Analysis, angstrom_axis, as_catalog, dwp_amplitudes, new_axes, no_data,
                      per_dwp_pr, pr_average, system_label)
from .histograms import DISTANCE_NAMES, _edges
from .stats import fraction, mean_sem

#: The groups of DWPs by the type of their central particle.
GROUPS = ("all", "A", "B")


def _group(dwps: pd.DataFrame, group: str) -> np.ndarray:
    """Boolean mask of the DWPs of a group ("all", "A" or "B" central particle)."""
    if group == "all":
        return np.ones(len(dwps), dtype=bool)
    return (dwps.central_type == group).to_numpy() if len(dwps) else np.zeros(0, dtype=bool)


def ambiguity(amplitudes: np.ndarray, types, threshold: float | None = None) -> dict:
    """How many DWPs have an ambiguous central particle, and the central-B fraction without them.

    amplitudes: (n_dwps, N) |d_i| per DWP; types: (N,) 0 (A) / 1 (B). A DWP is ambiguous when
    its second-largest |d| exceeds ``threshold`` (default :data:`tlsviz.search.AMBIGUOUS_RATIO`)
    times the largest. Returns ``ambiguous_ratio, n_ambiguous, n_flip`` (ambiguous DWPs whose two
    leading particles differ in type) and ``unambiguous``: :func:`fraction` of central-B DWPs
    among the unambiguous ones.
    """
    from ..search import AMBIGUOUS_RATIO

    threshold = AMBIGUOUS_RATIO if threshold is None else float(threshold)
    amp = np.asarray(amplitudes, dtype=float)
    types = np.asarray(types)
    if len(amp):
        order = np.argsort(-amp, axis=1, kind="stable")[:, :2]
        lead = np.take_along_axis(amp, order, axis=1)
        ratio = lead[:, 1] / lead[:, 0]
        amb = ratio > threshold
        flip = amb & (types[order[:, 0]] != types[order[:, 1]])
        k_b = int(np.sum((types[order[:, 0]] == 1) & ~amb))
    else:
        amb = flip = np.zeros(0, dtype=bool)
        k_b = 0
    return dict(ambiguous_ratio=threshold, n_ambiguous=int(amb.sum()), n_flip=int(flip.sum()),
                unambiguous=fraction(k_b, int((~amb).sum())))


class SortedDisplacements(Analysis):
    """docs/method.md §7.6: the sorted displacement curves, averaged over DWPs by rank, for DWPs whose
    central particle (the one that moves most) is A or B, and the fraction with central B.

    Per DWP the |d_i| between its two minima (``cat.displacements(i)``, translation removed)
    are sorted in decreasing order; rank 1 is the central particle. The curve of a group is
    the mean over its DWPs at each rank (± SEM).

    Parameters: ranks, how many ranks :meth:`plot` shows (default 20; the data has all N).

    Results: :attr:`table` (long: ``group, rank, n_dwps, mean, err``, group "all", "A" or "B",
    |d| in σ), :attr:`curves` ((n_dwps, N) sorted |d_i| per DWP), :attr:`central_b` (the
    fraction of DWPs with a central B: ``k, n, value, err, low, high`` (binomial error and
    68 % Wilson interval) and ``particle_fraction``, nB / N, what a central particle picked
    at random would give; ``ambiguous_ratio`` (:data:`tlsviz.search.AMBIGUOUS_RATIO`),
    ``n_ambiguous`` (DWPs whose second-largest |d| is more than that fraction of the largest:
    their central particle is not a result), ``n_flip`` (of those, the ones whose second
    particle has the other type, so their A/B label could go either way) and ``unambiguous``,
    the same fraction dict over the other DWPs only). The ratios come from the stored
    displacements, so catalogues written before the ``second_ratio`` column have them too.
    """

    def __init__(self, ranks: int = 20):
        if int(ranks) < 1:
            raise ValueError(f"ranks must be >= 1, got {ranks!r}")
        self.ranks = int(ranks)

    def compute(self, catalog) -> "SortedDisplacements":
        cat = as_catalog(catalog)
        dwps = cat.dwps
        amp = dwp_amplitudes(cat)  # reads every IS's stored displacements: once, for both uses
        curves = -np.sort(-amp, axis=1)
        n = curves.shape[1]
        rows = []
        for g in GROUPS:
            sel = curves[_group(dwps, g)]
            for r in range(n):
                m, s = mean_sem(sel[:, r])
                rows.append(dict(group=g, rank=r + 1, n_dwps=len(sel), mean=m, err=s))
        types = cat.system().types
        k = int((dwps.central_type == "B").sum()) if len(dwps) else 0
        central_b = dict(fraction(k, len(dwps)), particle_fraction=float(np.mean(types == 1)),
                         **ambiguity(amp, types))
        self._results = dict(table=pd.DataFrame(rows), curves=curves, central_b=central_b, label=system_label(cat))
        return self

    @property
    def table(self) -> pd.DataFrame:
        return self._get("table")

    @property
    def curves(self) -> np.ndarray:
        return self._get("curves")

    @property
    def central_b(self) -> dict:
        return self._get("central_b")

    def plot(self, ax=None):
        ax = new_axes(ax)
        t = self.table
        t = t[(t["rank"] <= self.ranks) & (t.n_dwps > 0)]
        if len(t):
            styles = {"all": dict(color="0.4", ls="--"), "A": dict(color="C0"), "B": dict(color="C3")}
            for g, grp in t.groupby("group", sort=False):
                ax.errorbar(grp["rank"], grp["mean"], yerr=grp.err.fillna(0), marker="o", ms=3, capsize=2,
                            label=f"central {g} ({grp.n_dwps.iloc[0]} DWPs)" if g != "all"
                            else f"all ({grp.n_dwps.iloc[0]} DWPs)", **styles[g])
            ax.set_yscale("log")
            ax.legend(fontsize="small")
        else:
            no_data(ax)
        cb = self.central_b
        ax.set_xlabel("rank of the particle (1 = central particle)")
        ax.set_ylabel("|d_i| (σ), mean over DWPs")
        ax.set_title(f"{self.label}: sorted displacements; central B in "
                     f"{cb['k']} of {cb['n']} DWPs", fontsize="medium")
        angstrom_axis(ax, "y")
        return ax


class ParticipationRatioTable(Analysis):
    """docs/method.md §7.7: the four participation ratios of §6 for all DWPs, central A and central B.

    PR₁ = 1/⟨q₁⟩ (error propagated from the SEM of q₁), PR₂…PR₄ = ⟨q⟩ ± SEM, from the per-DWP
    quantities ``pr1…pr4`` of the catalogue.

    Results: :attr:`table`, one row per group (``all``, ``A``, ``B``): ``group, n_dwps, pr1,
    pr1_err, pr2, pr2_err, pr3, pr3_err, pr4, pr4_err``.
    """

    def compute(self, catalog) -> "ParticipationRatioTable":
        cat = as_catalog(catalog)
        dwps = cat.dwps
        rows = []
        for g in GROUPS:
            sel = dwps[_group(dwps, g)] if len(dwps) else dwps
            row = dict(group=g, n_dwps=len(sel))
            for q in PR_NAMES:
                row[q], row[f"{q}_err"] = pr_average(sel[q] if len(sel) else [], q)
            rows.append(row)
        self._results = dict(table=pd.DataFrame(rows), label=system_label(cat))
        return self

    @property
    def table(self) -> pd.DataFrame:
        return self._get("table")

    def plot(self, ax=None):
        ax = new_axes(ax)
        t = self.table
        x = np.arange(len(PR_NAMES))
        width = 0.8 / len(t)
        colors = {"all": "0.6", "A": "C0", "B": "C3"}
        for j, row in t.iterrows():
            vals = [row[q] for q in PR_NAMES]
            errs = [row[f"{q}_err"] for q in PR_NAMES]
            ax.bar(x + (j - (len(t) - 1) / 2) * width, vals, width, yerr=np.nan_to_num(errs), capsize=3,
                   color=colors.get(row.group, f"C{j}"), label=f"{row.group} ({row.n_dwps} DWPs)")
        ax.set_xticks(x, [f"PR{k}" for k in range(1, 5)])
        ax.set_xlabel("definition (docs/method.md §6)")
        ax.set_ylabel("participation ratio (particles)")
        ax.set_title(f"{self.label}: participation ratios by central type", fontsize="medium")
        ax.legend(fontsize="small")
        return ax


class ParticipationVsDistance(Analysis):
    """docs/method.md §7.8: a participation ratio (definition 2 by default) against the distance d.

    Parameters: pr ("pr2"; for "pr1" the per-DWP ratio is 1/q₁ and a bin's value 1/⟨q₁⟩),
    distance (column of ``cat.dwps``, default "d"), bin_width (σ, default 0.05).

    Results: :attr:`table` (per non-empty bin: ``d_low, d_high, d_mean, n_dwps, pr, pr_err``),
    :attr:`points` (``distance, pr`` per DWP).
    """

    def __init__(self, pr: str = "pr2", distance: str = "d", bin_width: float = 0.05):
        if pr not in PR_NAMES:
            raise ValueError(f"pr must be one of {sorted(PR_NAMES)}, got {pr!r}")
        if distance not in DISTANCE_NAMES:
            raise ValueError(f"distance must be one of {sorted(DISTANCE_NAMES)}, got {distance!r}")
        if not bin_width > 0:
            raise ValueError(f"bin_width must be > 0 (σ), got {bin_width!r}")
        self.pr, self.distance, self.bin_width = pr, distance, float(bin_width)

    def compute(self, catalog) -> "ParticipationVsDistance":
        cat = as_catalog(catalog)
        dwps = cat.dwps
        dist = dwps[self.distance].to_numpy(float) if len(dwps) else np.zeros(0)
        q = dwps[self.pr].to_numpy(float) if len(dwps) else np.zeros(0)
        edges = _edges(dist, self.bin_width)
        which = np.clip(np.searchsorted(edges, dist, side="right") - 1, 0, len(edges) - 2)
        rows = []
        for b in range(len(edges) - 1):
            sel = which == b
            if sel.any():
                v, e = pr_average(q[sel], self.pr)
                rows.append(dict(d_low=edges[b], d_high=edges[b + 1], d_mean=float(dist[sel].mean()),
                                 n_dwps=int(sel.sum()), pr=v, pr_err=e))
        self._results = dict(
            table=pd.DataFrame(rows, columns=["d_low", "d_high", "d_mean", "n_dwps", "pr", "pr_err"]),
            points=pd.DataFrame(dict(distance=dist, pr=per_dwp_pr(q, self.pr))), label=system_label(cat))
        return self

    @property
    def table(self) -> pd.DataFrame:
        return self._get("table")

    @property
    def points(self) -> pd.DataFrame:
        return self._get("points")

    def plot(self, ax=None):
        ax = new_axes(ax)
        p, t = self.points, self.table
        if len(p):
            ax.plot(p.distance, p.pr, ".", color="0.6", ms=4, label="DWPs")
            ax.errorbar(t.d_mean, t.pr, yerr=t.pr_err.fillna(0), fmt="o-", color="C0", capsize=3,
                        label=f"mean per {self.bin_width:g} σ bin")
            ax.legend(fontsize="small")
        else:
            no_data(ax)
        name = DISTANCE_NAMES[self.distance]
        ax.set_xlabel(f"{name} (σ)")
        ax.set_ylabel(f"{PR_NAMES[self.pr]} (particles)")
        ax.set_title(f"{self.label}: participation against {name}", fontsize="medium")
        angstrom_axis(ax, "x")
        return ax
