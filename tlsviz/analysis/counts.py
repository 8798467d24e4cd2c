"""How many DWPs: per IS and per particle across system sizes (docs/method.md §7.3), TLS densities in
Ni-P units (§7.4), and against the energy of the starting IS (§7.5)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._common import (Analysis, angstrom_axis, as_catalog, dwps_per_is, kelvin_axis, new_axes, no_data, n_particles,
                      search_mode, system_label, tries_per_is)
from .stats import mean_sem, poisson_err, ratio_err
from .units import NI_P, GlassUnits


class DWPsPerMinimum(Analysis):
    """docs/method.md §7.3, the finite-size test: DWPs per starting IS and per particle for several
    catalogues (e.g. N = 65, 130, 260 and 2 × 65). If the search finds every DWP, the
    number per particle is the same for every N.

    Parameters: labels, one per catalogue (default "N = 65", "2 × 65", …).

    Results: :attr:`table`, one row per catalogue: ``label, n, copies, n_particles, n_is, tries``
    (M per IS as the searches ran it), ``search`` ("global" or "local"), ``n_dwps, dwps_per_is, dwps_per_is_err`` (mean over IS ± SEM), ``dwps_per_particle,
    dwps_per_particle_err`` (the same divided by n_particles), ``ratio_to_first,
    ratio_to_first_err`` (per-particle number relative to the first catalogue's).
    """

    label = None  # one label per catalogue: see ``labels``

    def __init__(self, labels=None):
        self.labels = None if labels is None else list(labels)

    def compute(self, catalogs) -> "DWPsPerMinimum":
        cats = [as_catalog(c) for c in ([catalogs] if not isinstance(catalogs, (list, tuple)) else catalogs)]
        if not cats:
            raise ValueError("DWPsPerMinimum needs at least one catalogue")
        if self.labels is not None and len(self.labels) != len(cats):
            raise ValueError(f"{len(self.labels)} labels for {len(cats)} catalogues: give one label each")
        rows = []
        for j, cat in enumerate(cats):
            per_is = dwps_per_is(cat)
            mean, sem = mean_sem(per_is)
            npart = n_particles(cat)
            rows.append(dict(
                label=self.labels[j] if self.labels else system_label(cat), n=int(cat.params["n"]),
                copies=int(cat.params.get("copies", 1)), n_particles=npart, n_is=len(per_is),
                tries=tries_per_is(cat), search=search_mode(cat), n_dwps=int(per_is.sum()), dwps_per_is=mean,
                dwps_per_is_err=sem, dwps_per_particle=mean / npart, dwps_per_particle_err=sem / npart))
        table = pd.DataFrame(rows)
        first = rows[0]
        ratios = [ratio_err(r["dwps_per_particle"], r["dwps_per_particle_err"], first["dwps_per_particle"],
                            first["dwps_per_particle_err"]) if j else (1.0, 0.0) for j, r in enumerate(rows)]
        table["ratio_to_first"] = [r[0] for r in ratios]
        table["ratio_to_first_err"] = [r[1] for r in ratios]
        self._results = dict(table=table)
        return self

    @property
    def table(self) -> pd.DataFrame:
        return self._get("table")

    def plot(self, ax=None):
        ax = new_axes(ax)
        t = self.table
        for j, row in t.iterrows():
            marker = "o" if row.copies == 1 else "s"
            ax.errorbar(row.n_particles, row.dwps_per_particle, yerr=row.dwps_per_particle_err, fmt=marker,
                        color=f"C{j % 10}", capsize=3, label=f"{row.label} ({row.n_is} IS, M = {row.tries})")
        ax.axhline(t.dwps_per_particle.iloc[0], color="0.6", lw=0.8, ls="--")
        ax.set_xlabel("particles in the system")
        ax.set_ylabel("DWPs per IS per particle")
        ax.set_ylim(bottom=0)
        ax.set_title("Finite-size test: DWPs per particle", fontsize="medium")
        ax.legend(fontsize="small")
        return ax


class TLSDensity(Analysis):
    """docs/method.md §7.4: DWPs with Δ below thresholds, per particle, and as TLS densities of Ni80P20.

    Per threshold Δ₀ (ε): k DWPs with Δ < Δ₀ over n_IS starting IS of N particles give
    n = k / (n_IS N) per particle (Poisson error √k / (n_IS N)); per m³, n ρ with
    ρ = 1.2 / σ³; per J per m³, n ρ / (Δ₀ ε) (a flat distribution of Δ in [0, Δ₀)). See
    :class:`tlsviz.analysis.units.GlassUnits`.

    Parameters: delta_max, the thresholds (default 0.02 and 0.001 ε); units (default Ni80P20).

    Results: :attr:`table` (per threshold: ``delta_max, delta_max_K, n_dwps, per_is, per_is_err,
    per_particle, per_particle_err, per_m3, per_m3_err, per_J_m3, per_J_m3_err``),
    :attr:`cumulative` (``asymmetry, per_particle``: DWPs with Δ ≤ each DWP's Δ, per particle).
    """

    def __init__(self, delta_max=(0.02, 0.001), units: GlassUnits = NI_P):
        self.delta_max = [float(x) for x in np.atleast_1d(delta_max)]
        if not all(x > 0 for x in self.delta_max):
            raise ValueError(f"delta_max thresholds must be > 0 (ε), got {delta_max!r}")
        self.units = units

    def compute(self, catalog) -> "TLSDensity":
        cat = as_catalog(catalog)
        u = self.units
        n_is = len(cat.minima)
        npart = n_particles(cat)
        delta = np.sort(cat.dwps.asymmetry.to_numpy(float)) if len(cat.dwps) else np.zeros(0)
        norm = n_is * npart
        rows = []
        for d0 in self.delta_max:
            k = int((delta < d0).sum())
            err = poisson_err(k)
            pp = k / norm if norm else float("nan")
            pp_err = err / norm if norm else float("nan")
            rows.append(dict(delta_max=d0, delta_max_K=float(u.kelvin(d0)), n_dwps=k,
                             per_is=k / n_is if n_is else float("nan"),
                             per_is_err=err / n_is if n_is else float("nan"),
                             per_particle=pp, per_particle_err=pp_err,
                             per_m3=float(u.per_m3(pp)), per_m3_err=float(u.per_m3(pp_err)),
                             per_J_m3=float(u.per_joule_per_m3(pp, d0)),
                             per_J_m3_err=float(u.per_joule_per_m3(pp_err, d0))))
        cumulative = pd.DataFrame(dict(asymmetry=delta, per_particle=np.arange(1, len(delta) + 1) / norm
                                       if norm else np.zeros(len(delta))))
        self._results = dict(table=pd.DataFrame(rows), cumulative=cumulative, label=system_label(cat))
        return self

    @property
    def table(self) -> pd.DataFrame:
        return self._get("table")

    @property
    def cumulative(self) -> pd.DataFrame:
        return self._get("cumulative")

    def plot(self, ax=None):
        ax = new_axes(ax)
        c, t = self.cumulative, self.table
        c = c[c.asymmetry > 0]
        if len(c):
            ax.step(c.asymmetry, c.per_particle, where="post", color="C0", label="DWPs with Δ < Δ₀")
            x = np.geomspace(c.asymmetry.iloc[0], c.asymmetry.iloc[-1], 50)
            slope = c.per_particle.iloc[-1] / c.asymmetry.iloc[-1]
            ax.plot(x, slope * x, color="0.6", ls="--", lw=0.8, label="∝ Δ (flat distribution)")
            sel = t[t.n_dwps > 0]
            ax.errorbar(sel.delta_max, sel.per_particle, yerr=sel.per_particle_err, fmt="o", color="C3",
                        capsize=3, label="thresholds of the table")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.legend(fontsize="small")
        else:
            no_data(ax)
        ax.set_xlabel("asymmetry threshold Δ₀ (ε)")
        ax.set_ylabel("DWPs with Δ < Δ₀ per particle")
        ax.set_title(f"{self.label}: DWPs per particle below an asymmetry", fontsize="medium")
        kelvin_axis(ax, "x")
        return ax


#: Quantities of :class:`AgainstISEnergy` and their axis labels.
ENERGY_QUANTITIES = {"dwps_per_is": "DWPs per IS", "asymmetry": "asymmetry Δ (ε)", "d": "distance d (σ)",
                     "barrier": "barrier V (ε)"}


class AgainstISEnergy(Analysis):
    """docs/method.md §7.5: Δ, d and V of the DWPs, and DWPs per IS, against the energy of the starting IS.

    The IS are split into ``bins`` groups of equal size by their energy per particle
    (quantiles; fewer bins when there are fewer IS). V is ``barrier`` (saddle − lower minimum).

    Parameters: bins (default 5); d_mwrp_max, thresholds of the subsets of DWPs counted per IS
    (default 0.3 and 0.5 σ: DWPs with d_mw,rp below each, besides all DWPs).

    Results: :attr:`per_is` (long: ``energy_bin, e_low, e_high, e_mean, n_is, subset,
    dwps_per_is, dwps_per_is_err``; subset "all" or "d_mwrp < x"), :attr:`dwp_means` (long:
    ``energy_bin, e_mean, quantity, n, mean, err`` for quantity in asymmetry, d, barrier),
    :attr:`points` (one row per DWP: ``is_id, e_is, asymmetry, d, barrier, d_mwrp``).
    Energies per particle in ε.
    """

    def __init__(self, bins: int = 5, d_mwrp_max=(0.3, 0.5)):
        if int(bins) < 1:
            raise ValueError(f"bins must be >= 1, got {bins!r}")
        self.bins = int(bins)
        self.d_mwrp_max = [float(x) for x in np.atleast_1d(d_mwrp_max)] if d_mwrp_max is not None else []

    def compute(self, catalog) -> "AgainstISEnergy":
        cat = as_catalog(catalog)
        npart = n_particles(cat)
        minima, dwps = cat.minima, cat.dwps
        e_is = minima.energy.to_numpy(float) / npart
        nb = max(1, min(self.bins, len(e_is)))
        if len(e_is):
            edges = np.unique(np.quantile(e_is, np.linspace(0, 1, nb + 1)))
            if len(edges) < 2:
                edges = np.array([e_is[0], e_is[0]])
            which = np.clip(np.searchsorted(edges, e_is, side="right") - 1, 0, len(edges) - 2)
        else:
            edges, which = np.zeros(2), np.zeros(0, dtype=int)
        is_bin = pd.Series(which, index=minima.is_id.to_numpy() if len(minima) else [])
        subsets = [("all", dwps)] + [(f"d_mwrp < {x:g}", dwps[dwps.d_mwrp < x] if len(dwps) else dwps)
                                     for x in self.d_mwrp_max]
        rows = []
        for b in range(len(edges) - 1):
            in_bin = which == b
            if not in_bin.any():
                continue
            for name, sub in subsets:
                m, s = mean_sem(dwps_per_is(cat, sub)[in_bin])
                rows.append(dict(energy_bin=b, e_low=edges[b], e_high=edges[b + 1], e_mean=float(e_is[in_bin].mean()),
                                 n_is=int(in_bin.sum()), subset=name, dwps_per_is=m, dwps_per_is_err=s))
        points = pd.DataFrame(dict(
            is_id=dwps.is_id.to_numpy(int) if len(dwps) else np.zeros(0, int),
            e_is=dwps.is_energy.to_numpy(float) / npart if len(dwps) else np.zeros(0),
            **{q: dwps[q].to_numpy(float) if len(dwps) else np.zeros(0) for q in ("asymmetry", "d", "barrier", "d_mwrp")}))
        points["energy_bin"] = is_bin.reindex(points.is_id).to_numpy() if len(points) else np.zeros(0, int)
        means = []
        for b, grp in points.groupby("energy_bin"):
            for q in ("asymmetry", "d", "barrier"):
                m, s = mean_sem(grp[q])
                means.append(dict(energy_bin=int(b), e_mean=float(e_is[which == b].mean()), quantity=q,
                                  n=len(grp), mean=m, err=s))
        self._results = dict(per_is=pd.DataFrame(rows), dwp_means=pd.DataFrame(
            means, columns=["energy_bin", "e_mean", "quantity", "n", "mean", "err"]), points=points,
            label=system_label(cat))
        return self

    @property
    def per_is(self) -> pd.DataFrame:
        return self._get("per_is")

    @property
    def dwp_means(self) -> pd.DataFrame:
        return self._get("dwp_means")

    @property
    def points(self) -> pd.DataFrame:
        return self._get("points")

    def plot(self, ax=None, y: str = "dwps_per_is"):
        """One panel: y is "dwps_per_is" (with the d_mw,rp subsets), "asymmetry", "d" or "barrier"."""
        if y not in ENERGY_QUANTITIES:
            raise ValueError(f"y must be one of {sorted(ENERGY_QUANTITIES)}, got {y!r}")
        ax = new_axes(ax)
        if y == "dwps_per_is":
            t = self.per_is
            if len(t):
                for j, (name, grp) in enumerate(t.groupby("subset", sort=False)):
                    ax.errorbar(grp.e_mean, grp.dwps_per_is, yerr=grp.dwps_per_is_err, fmt="o-", capsize=3,
                                color=f"C{j}", label=name.replace("d_mwrp", "d_mw,rp") + ("" if name == "all" else " σ"))
                ax.legend(fontsize="small")
            else:
                no_data(ax, "no IS")
        else:
            p, m = self.points, self.dwp_means
            m = m[m.quantity == y]
            if len(p):
                ax.plot(p.e_is, p[y], ".", color="0.6", ms=4, label="DWPs")
                ax.errorbar(m.e_mean, m["mean"], yerr=m.err, fmt="o-", color="C0", capsize=3, label="mean per energy bin")
                ax.legend(fontsize="small")
            else:
                no_data(ax)
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.set_xlabel("IS energy per particle (ε)")
        ax.set_ylabel(ENERGY_QUANTITIES[y])
        kelvin_axis(ax, "x", label="K per particle (Ni₈₀P₂₀)")
        if y in ("asymmetry", "barrier"):
            kelvin_axis(ax, "y")
        elif y == "d":
            angstrom_axis(ax, "y")
        ax.set_title(f"{self.label}: {ENERGY_QUANTITIES[y].split(' (')[0]} against the IS energy",
                     fontsize="medium")
        return ax
