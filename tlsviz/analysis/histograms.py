"""Histograms over DWPs: their distances (docs/method.md §7.1) and how often the tries found them (§7.2)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._common import (PR_NAMES, Analysis, angstrom_axis, as_catalog, new_axes, no_data, per_dwp_pr,
                      system_label)
from .stats import fraction, mean_sem, poisson_err

DISTANCE_NAMES = {"d": "d", "d_mw": "d_mw", "d_rp": "d_rp", "d_mwrp": "d_mw,rp"}


def _edges(values, width: float, start: float = 0.0) -> np.ndarray:
    """Bin edges start, start + width, … covering the largest value (at least one bin)."""
    top = float(np.max(values)) if len(values) else start + width
    n = max(1, int(np.ceil((top - start) / width - 1e-9)))
    if start + n * width < top:
        n += 1
    return start + width * np.arange(n + 1)


class DistanceHistogram(Analysis):
    """docs/method.md §7.1: histogram of the distance d between the two minima, for DWPs with Δ < delta_max.

    Parameters: delta_max (ε, default 0.02); distance, the column of ``cat.dwps`` (default
    "d"; also "d_mw", "d_rp", "d_mwrp"); bin_width (σ, default 0.05; bins start at 0).

    Results: :attr:`table` (one row per bin: ``d_low, d_high, count, count_err`` (Poisson),
    ``pdf, pdf_err`` (count / (n_selected · bin width), σ⁻¹)), :attr:`distances` (the selected
    values), :attr:`summary` (``n_dwps, n_selected, mean, mean_err, median``, in σ).
    """

    def __init__(self, delta_max: float = 0.02, distance: str = "d", bin_width: float = 0.05):
        if distance not in DISTANCE_NAMES:
            raise ValueError(f"distance must be one of {sorted(DISTANCE_NAMES)}, got {distance!r}")
        if not bin_width > 0:
            raise ValueError(f"bin_width must be > 0 (σ), got {bin_width!r}")
        self.delta_max = float(delta_max)
        self.distance = distance
        self.bin_width = float(bin_width)

    def compute(self, catalog) -> "DistanceHistogram":
        cat = as_catalog(catalog)
        dwps = cat.dwps
        sel = dwps.loc[dwps.asymmetry < self.delta_max, self.distance].to_numpy(float) if len(dwps) else np.zeros(0)
        edges = _edges(sel, self.bin_width)
        count, _ = np.histogram(sel, bins=edges)
        err = poisson_err(count)
        norm = len(sel) * self.bin_width
        table = pd.DataFrame(dict(d_low=edges[:-1], d_high=edges[1:], count=count, count_err=err,
                                  pdf=count / norm if norm else np.nan, pdf_err=err / norm if norm else np.nan))
        mean, sem = mean_sem(sel)
        self._results = dict(table=table, distances=sel, label=system_label(cat), summary=dict(
            delta_max=self.delta_max, distance=self.distance, n_dwps=len(dwps), n_selected=len(sel),
            mean=mean, mean_err=sem, median=float(np.median(sel)) if len(sel) else float("nan")))
        return self

    @property
    def table(self) -> pd.DataFrame:
        return self._get("table")

    @property
    def distances(self) -> np.ndarray:
        return self._get("distances")

    @property
    def summary(self) -> dict:
        return self._get("summary")

    def plot(self, ax=None):
        ax = new_axes(ax)
        t = self.table
        name = DISTANCE_NAMES[self.distance]
        if self.summary["n_selected"]:
            ax.stairs(t["count"], np.r_[t.d_low, t.d_high.iloc[-1]], fill=True, alpha=0.4, color="C0")
            ax.errorbar((t.d_low + t.d_high) / 2, t["count"], yerr=t.count_err, fmt="none", ecolor="C0")
        else:
            no_data(ax, f"no DWPs with Δ < {self.delta_max:g} ε")
        ax.set_xlabel(f"{name} (σ)")
        ax.set_ylabel("DWPs per bin")
        ax.set_title(f"{self.label}: {name} of the DWPs with Δ < {self.delta_max:g} ε "
                     f"({self.summary['n_selected']})", fontsize="medium")
        angstrom_axis(ax, "x")
        return ax


class FoundCountHistogram(Analysis):
    """docs/method.md §7.2: how many of the M tries found each distinct DWP, for all DWPs and for the
    subset whose participation ratio is above the average.

    Parameters: pr, which participation ratio selects the subset ("pr2", definition 2, by
    default; for "pr1" a DWP's ratio is 1/q₁, compared with 1/⟨q₁⟩); bin_width in tries
    (default 1: one bin per count).

    Results: :attr:`table` (per bin: ``found_low, found_high`` (count in [low, high)),
    ``n_dwps, n_dwps_err, n_high_pr, n_high_pr_err``, Poisson errors), :attr:`summary`
    (``n_dwps, tries, mean_found, mean_found_err, pr_average, n_high_pr,
    mean_found_high_pr, mean_found_high_pr_err``, and the fraction found only once:
    ``found_once, found_once_err, found_once_low, found_once_high``).
    """

    def __init__(self, pr: str = "pr2", bin_width: int = 1):
        if pr not in PR_NAMES:
            raise ValueError(f"pr must be one of {sorted(PR_NAMES)}, got {pr!r}")
        if int(bin_width) < 1:
            raise ValueError(f"bin_width must be a whole number of tries >= 1, got {bin_width!r}")
        self.pr = pr
        self.bin_width = int(bin_width)

    def compute(self, catalog) -> "FoundCountHistogram":
        cat = as_catalog(catalog)
        dwps = cat.dwps
        found = dwps["count"].to_numpy(int) if len(dwps) else np.zeros(0, dtype=int)
        ratio = per_dwp_pr(dwps[self.pr], self.pr) if len(dwps) else np.zeros(0)
        average = float(1.0 / np.mean(1.0 / ratio)) if self.pr == "pr1" and len(ratio) else \
            float(np.mean(ratio)) if len(ratio) else float("nan")
        high = ratio > average
        edges = _edges(found, self.bin_width, start=1)
        if len(found) and found.max() >= edges[-1]:
            edges = np.r_[edges, edges[-1] + self.bin_width]
        n_all, _ = np.histogram(found, bins=edges)
        n_high, _ = np.histogram(found[high], bins=edges)
        table = pd.DataFrame(dict(found_low=edges[:-1].astype(int), found_high=edges[1:].astype(int),
                                  n_dwps=n_all, n_dwps_err=poisson_err(n_all), n_high_pr=n_high,
                                  n_high_pr_err=poisson_err(n_high)))
        m, e = mean_sem(found)
        mh, eh = mean_sem(found[high])
        once = fraction(int((found == 1).sum()), len(found))
        tries = int(cat.params.get("tries", 0))
        self._results = dict(table=table, found=found, high=high, label=system_label(cat), summary=dict(
            pr=self.pr, n_dwps=len(found), tries=tries, mean_found=m, mean_found_err=e,
            pr_average=average, n_high_pr=int(high.sum()), mean_found_high_pr=mh,
            mean_found_high_pr_err=eh, found_once=once["value"], found_once_err=once["err"],
            found_once_low=once["low"], found_once_high=once["high"]))
        return self

    @property
    def table(self) -> pd.DataFrame:
        return self._get("table")

    @property
    def summary(self) -> dict:
        return self._get("summary")

    def plot(self, ax=None):
        ax = new_axes(ax)
        t = self.table
        if self.summary["n_dwps"]:
            edges = np.r_[t.found_low, t.found_high.iloc[-1]]
            ax.stairs(t.n_dwps, edges, fill=True, alpha=0.35, color="C0", label="all DWPs")
            ax.stairs(t.n_high_pr, edges, color="C3", lw=1.5,
                      label=f"{self.pr.upper()} above average ({self.summary['pr_average']:.3g})")
            ax.legend(fontsize="small")
        else:
            no_data(ax)
        ax.set_xlabel(f"tries that found the DWP (of M = {self.summary['tries']})")
        ax.set_ylabel("DWPs")
        ax.set_title(f"{self.label}: how often each DWP was found", fontsize="medium")
        return ax
