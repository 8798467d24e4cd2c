"""The tunnelling analysis of a catalogue: per-DWP splittings and TLS energies, the
tunnelling-model density P̄ and the histograms of λ and Δ₀ (docs/tunnelling.md).

The 1-D physics of one DWP (the double well V(q), WKB, the Schrödinger equation, the reaction
path, the Ni80P20 units) lives in :mod:`tlsviz.tunnelling`; this module applies it to every DWP
of a catalogue. ::

    ana = TunnellingAnalysis(e_max_k=1.0).compute(cat)  # per-DWP table, P̄ (J⁻¹ m⁻³), histograms
    ana.table, ana.density, ana.p_bar_summary()
    ana.plot(quantity="log10_delta0")

:func:`tunnelling_model_density` (P̄ and n₀ of the standard tunnelling model, from the TLS
energies and Δ₀) is a different number from :class:`tlsviz.analysis.TLSDensity` (DWPs whose
classical asymmetry Δ lies below a threshold, docs/method.md §7.4).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import numpy as np
import pandas as pd
from scipy import constants

from ..tunnelling import (E_MAX_K, EPSILON_K, REACTION_DS, SIGMA_M, WKB_PREFACTORS, DoubleWell, reaction_path,
                          reduced_hbar, tunnelling)
from ._common import Analysis, as_catalog, new_axes, no_data, system_label
from .units import NI62_U

# ------------------------------------------------------------------- density P̄
#: Confidence level of the one-sided upper limit on P̄ (:func:`poisson_upper_limit`).
UPPER_LIMIT_CL = 0.95


def poisson_upper_limit(n: int, cl: float = UPPER_LIMIT_CL) -> float:
    """The one-sided upper limit μ of a Poisson mean after observing n events, at confidence cl.

    μ solves P(N ≤ n | μ) = 1 − cl, i.e. μ = ½ χ²_cl(2(n + 1)) (Garwood, Biometrika 28, 437 (1936);
    Gehrels, Astrophys. J. 303, 336 (1986)). For n = 0 it is −ln(1 − cl): 2.996 at 95 %, the
    "3 events" of a search that found none.
    """
    from scipy.stats import chi2

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a count (an integer >= 0), got {n!r}")
    if not 0.0 < cl < 1.0:
        raise ValueError(f"cl must lie between 0 and 1, got {cl!r}")
    return float(0.5 * chi2.ppf(cl, 2 * (int(n) + 1)))


def tunnelling_model_density(tls_energy, delta0, volume: float, e_max: float) -> dict:
    """The tunnelling-model density P̄ and the TLS density n₀ from TLS found in a volume.

    tls_energy, delta0: per DWP (any energy unit, the same as e_max; NaN entries are no TLS);
    volume: the volume searched (any unit). With the TLS = DWPs with 0 < E < e_max and their
    weights w = (Δ₀/E)²:

    - P̄ = Σ_TLS w / (volume · e_max), error √(Σ_TLS w²) / (volume · e_max);
    - n₀ = N_TLS / (volume · e_max), error √N_TLS / (volume · e_max) (1 count if N_TLS = 0, and
      then also the P̄ error is that of one count of weight 1);
    - p_bar_upper = μ₉₅(N_TLS) / (volume · e_max), with μ₉₅ the one-sided 95 % Poisson upper limit
      of the number of TLS (:func:`poisson_upper_limit`; 2.996 for N_TLS = 0). It bounds n₀ and,
      because every weight (Δ₀/E)² is at most 1, P̄ too. It is the number to quote when no TLS
      was found: P̄ = 0 ± (one count) says nothing, "P̄ < p_bar_upper at 95 %" does (the bound
      shrinks as 1 / volume searched).

    In the standard tunnelling model P(Δ, Δ₀) = P̄/Δ₀ (Δ ≥ 0), and the (Δ₀/E)²-weighted density of
    TLS per unit energy is P̄ at every E, so the first line estimates P̄ without an assumption on
    the smallest Δ₀ (docs/tunnelling.md). Returns dict(n_tls, weight_sum, p_bar, p_bar_err, n0,
    n0_err, p_bar_upper) in (energy unit)⁻¹ (volume unit)⁻¹.
    """
    e = np.asarray(tls_energy, dtype=float).ravel()
    d0 = np.asarray(delta0, dtype=float).ravel()
    if e.shape != d0.shape:
        raise ValueError(f"tls_energy and delta0 must have the same length, got {e.shape} and {d0.shape}")
    if not (volume > 0 and e_max > 0):
        raise ValueError(f"volume and e_max must be positive, got {volume!r}, {e_max!r}")
    tls = np.isfinite(e) & (e > 0) & (e < e_max)
    w = np.clip(d0[tls] / e[tls], 0.0, 1.0) ** 2
    w = np.where(np.isfinite(w), w, 0.0)
    norm = volume * e_max
    n = int(tls.sum())
    return dict(n_tls=n, weight_sum=float(w.sum()), p_bar=float(w.sum() / norm),
                p_bar_err=float(np.sqrt((w ** 2).sum()) / norm if n else 1.0 / norm),
                n0=n / norm, n0_err=float(np.sqrt(max(n, 1)) / norm), p_bar_upper=poisson_upper_limit(n) / norm)


#: Columns of :attr:`TunnellingAnalysis.table` (energies in K, ω in τ⁻¹).
TUNNELLING_TABLE_COLUMNS = ["is_id", "dwp_id", "asymmetry", "barrier", "omega_left", "omega_right",
                            "lambda_wkb", "delta0_wkb", "delta0_exact", "delta0", "delta0_source", "level_asymmetry",
                            "splitting", "tls_energy", "is_tls", "weight", "below_barrier", "lambda_err", "delta0_err"]


#: The tunnelling columns a catalogue stores beside its DWP rows (:func:`tunnelling_columns`):
#: the WKB exponent λ, Δ₀ (K), the TLS energy E = √(Δ² + Δ₀²) (K) and whether
#: E < :data:`~tlsviz.tunnelling.E_MAX_K`.
TUNNELLING_COLUMNS = ("lambda_wkb", "delta0_K", "tls_energy_K", "is_tls")


def tunnelling_columns(arclength, energies) -> dict:
    """The :data:`TUNNELLING_COLUMNS` of one DWP from its stored path: V(q) as a cubic spline
    through the stored frame energies against the stored mass-weighted arc length, as
    :class:`TunnellingAnalysis` with ``source="stored"`` (Ni-P units). A profile that is not a
    double well gives NaN and ``is_tls`` False. About 0.3 s per DWP: a campaign computes them
    once, when it writes the catalogue, so that nothing reading it has to."""
    e = np.asarray(energies, dtype=float)
    try:
        row = TunnellingAnalysis(source="stored").row(DoubleWell.from_samples(np.asarray(arclength, dtype=float),
                                                                              e - min(e[0], e[-1])))
    except (ValueError, RuntimeError):
        return dict(lambda_wkb=np.nan, delta0_K=np.nan, tls_energy_K=np.nan, is_tls=False)
    return dict(lambda_wkb=float(row["lambda_wkb"]), delta0_K=float(row["delta0"]),
                tls_energy_K=float(row["tls_energy"]), is_tls=bool(row["is_tls"]))


def with_tunnelling_columns(dwps: pd.DataFrame, arclengths, energies) -> pd.DataFrame:
    """A copy of a DWP table with the :data:`TUNNELLING_COLUMNS` added (row i from the stored
    path arc length and energies i), with fixed dtypes also when the table is empty."""
    rows = [tunnelling_columns(q, e) for q, e in zip(arclengths, energies)]
    out = dwps.copy()
    for c in TUNNELLING_COLUMNS:
        out[c] = np.array([r[c] for r in rows], dtype=bool if c == "is_tls" else np.float64)
    return out


#: Rows of :class:`TunnellingAnalysis` remembered per process (least recently used dropped).
ROW_MEMO_SIZE = 4096
_ROW_MEMO: "OrderedDict[bytes, dict]" = OrderedDict()
_ROW_MEMO_LOCK = threading.Lock()


class TunnellingAnalysis(Analysis):
    """Tunnelling splittings, TLS and the density P̄ of a catalogue (issue 6, parts 1–4).

    Parameters
    ----------
    e_max_k : a DWP is a TLS when its energy E = √(Δ² + Δ₀²) < e_max_k (K).
    source : "reaction" (default) — the reaction path integrated again from the stored saddle
        (:func:`~tlsviz.tunnelling.reaction_path`, arc-length step ``REACTION_DS``), V(q) along a
        cubic spline through its frames and the curvature at each minimum from the Hessian along the
        path (:meth:`~tlsviz.tunnelling.DoubleWell.from_path`); Δ₀ within 5 % and λ within 0.2 % of
        a converged path on the certified pairs, ~2–3 s per DWP (docs/tunnelling.md, "Accuracy"); "path" — the same
        along the stored frames (fast; their last stretch is a straight segment to the quench's
        end, which moved Δ₀ by up to 50 %); "stored" — a cubic spline through the stored frame
        energies against the stored arc length, curvatures fitted (no energy evaluation; coarser).
    error_estimate : with source "reaction", integrate each path a second time at twice the step
        and give the change of λ and Δ₀ from that path to the one used as ``lambda_err`` and
        ``delta0_err`` (NaN otherwise; +50 % cost). The error falls with the step, so this is an
        upper estimate of the error left.
    prefactor : WKB prefactor, "landau" or "garg" (:func:`~tlsviz.tunnelling.wkb_splitting`).
    epsilon_k, sigma_m, mass_u : the mapping to a real glass (Ni80P20 by default); ħ* follows.
    bins : number of histogram bins of the distributions.

    Results (after :meth:`compute`): :attr:`table` — one row per row of ``cat.dwps``:
    ``is_id, dwp_id``, ``asymmetry`` and ``barrier`` (K, from the path's V), ``omega_left,
    omega_right`` (τ⁻¹), ``lambda_wkb``, ``delta0_wkb``, ``delta0_exact`` (K; NaN where not
    resolved), ``delta0`` (K, the exact value where resolved, else WKB; ``delta0_source``),
    ``level_asymmetry`` (K, signed, zero-point energies included), ``splitting`` (K, E₁ − E₀ of
    the well as it is), ``tls_energy`` (K), ``is_tls``, ``weight`` ((Δ₀/E)² for TLS, else 0),
    ``below_barrier`` (both zero-point levels below the barrier top: a double well also quantum
    mechanically, and the WKB applies), ``lambda_err, delta0_err`` (λ, and K: the change of λ and
    Δ₀ between the reaction path at twice the step and the one used, see ``error_estimate``);
    :attr:`density` — a one-row DataFrame: ``n_is, n_dwps, n_tls, volume_m3, e_max_k, e_max_j,
    hbar, p_bar, p_bar_err, n0, n0_err, p_bar_upper`` (J⁻¹ m⁻³; ``p_bar_upper`` the one-sided 95 %
    upper limit of :func:`tunnelling_model_density`, the number to quote when ``n_tls`` is 0, as
    :meth:`p_bar_summary` does); :attr:`distributions` — tidy histograms:
    ``quantity`` ("lambda_wkb" or "log10_delta0", Δ₀ in K), ``subset`` ("all" or "tls"),
    ``bin_left, bin_right, count``.
    """

    def __init__(self, e_max_k: float = E_MAX_K, source: str = "reaction", points_per_segment: int = 16,
                 prefactor: str = "landau", epsilon_k: float = EPSILON_K, sigma_m: float = SIGMA_M,
                 mass_u: float = NI62_U, bins: int = 30, error_estimate: bool = True):
        if not (np.isfinite(e_max_k) and e_max_k > 0):
            raise ValueError(f"e_max_k must be a positive energy in K, got {e_max_k!r}")
        if source not in ("reaction", "path", "stored"):
            raise ValueError(f"source must be 'reaction', 'path' or 'stored', got {source!r}")
        self.error_estimate = bool(error_estimate)
        if prefactor not in WKB_PREFACTORS:
            raise ValueError(f"prefactor must be one of {sorted(WKB_PREFACTORS)}, got {prefactor!r}")
        self.e_max_k = float(e_max_k)
        self.source = source
        self.points_per_segment = int(points_per_segment)
        self.prefactor = prefactor
        self.epsilon_k = float(epsilon_k)
        self.sigma_m = float(sigma_m)
        self.mass_u = float(mass_u)
        self.hbar = reduced_hbar(sigma_m, epsilon_k, mass_u)
        self.bins = int(bins)

    def well(self, cat, i: int, system=None, ds: float = REACTION_DS) -> DoubleWell:
        """The :class:`DoubleWell` of DWP row i of the catalogue, as :meth:`compute` builds it
        (``ds``: the step of the reaction path, source "reaction")."""
        if self.source == "stored":
            e = np.asarray(cat.path_energies(i), dtype=float)
            return DoubleWell.from_samples(cat.path_arclength(i), e - min(e[0], e[-1]))
        system = system if system is not None else cat.system()
        frames, tangents = cat.path(i), None
        if self.source == "reaction":
            frames, tangents = reaction_path(system, frames, ds=ds, return_tangents=True)
        return DoubleWell.from_path(system, frames, self.points_per_segment, tangents=tangents)

    def row(self, well: DoubleWell) -> dict:
        """The table's columns (after is_id, dwp_id) for one well: energies in K."""
        ek = self.epsilon_k
        t = tunnelling(well, self.hbar, prefactor=self.prefactor)
        e = t.tls_energy * ek
        is_tls = bool(np.isfinite(e) and e < self.e_max_k)
        return dict(
            asymmetry=abs(well.asymmetry) * ek, barrier=well.barrier * ek, omega_left=well.omega_left,
            omega_right=well.omega_right, lambda_wkb=t.wkb.lam, delta0_wkb=t.wkb.delta0 * ek,
            delta0_exact=t.exact.delta0 * ek, delta0=t.delta0 * ek, delta0_source=t.delta0_source,
            level_asymmetry=t.exact.level_asymmetry * ek, splitting=t.exact.splitting * ek, tls_energy=e,
            is_tls=is_tls, weight=float(min(t.delta0 * ek / e, 1.0) ** 2) if is_tls else 0.0,
            below_barrier=t.wkb.valid)

    def _dwp_row(self, cat, i: int, system) -> dict:
        """The table's columns (after is_id, dwp_id) of DWP row i, error estimate included."""
        try:
            row = self.row(self.well(cat, i, system))
            row.update(lambda_err=np.nan, delta0_err=np.nan)
            if self.error_estimate and self.source == "reaction":
                coarser = self.row(self.well(cat, i, system, ds=2.0 * REACTION_DS))
                row.update(lambda_err=abs(coarser["lambda_wkb"] - row["lambda_wkb"]),
                           delta0_err=abs(coarser["delta0"] - row["delta0"]))
        except (ValueError, RuntimeError):  # a path whose profile is not a double well: no numbers
            row = dict.fromkeys(TUNNELLING_TABLE_COLUMNS[2:], np.nan)
            row.update(delta0_source="none", is_tls=False, weight=0.0, below_barrier=False)
        return row

    def _memo_key(self, cat, i: int, system) -> bytes:
        """What DWP row i's numbers depend on: the stored path's frames (their bytes), the system
        (size, copies, density, cut-off), every parameter of this analysis and its class (a
        subclass may compute its rows otherwise)."""
        h = hashlib.blake2b(digest_size=20)
        h.update(repr((type(self).__module__, type(self).__qualname__, self.e_max_k, self.source,
                       self.points_per_segment, self.prefactor, self.epsilon_k, self.sigma_m, self.mass_u,
                       self.error_estimate, REACTION_DS, system.n, system.copies, system.density,
                       system.rc)).encode())
        if self.source == "stored":
            h.update(np.ascontiguousarray(cat.path_energies(i), dtype=np.float64).tobytes())
            h.update(np.ascontiguousarray(cat.path_arclength(i), dtype=np.float64).tobytes())
        else:
            h.update(np.ascontiguousarray(cat.path(i), dtype=np.float64).tobytes())
        return h.digest()

    def compute(self, catalog, rows=None, callback=None) -> "TunnellingAnalysis":
        """catalog: a :class:`tlsviz.Catalog` or a path to one. rows: DWP rows to use (default all;
        the density then counts the TLS among those rows, in the volume of all the IS).
        callback(k, n) is called after each DWP.

        A DWP's row is remembered for the rest of the process (:data:`ROW_MEMO_SIZE` rows), keyed
        by its path's bytes, the system and the analysis parameters: the reaction path costs
        ~2 s per DWP at N = 65 (error estimate included), and the report (:func:`tlsviz.analysis.report.write_report`) and a
        notebook that already ran this analysis on the same catalogue then share the work; a
        changed path or parameter is a new key, so a remembered row is never stale."""
        cat = as_catalog(catalog)
        system = cat.system()
        dwps = cat.dwps
        rows = range(len(dwps)) if rows is None else [int(r) for r in rows]
        out = []
        for k, i in enumerate(rows):
            key = self._memo_key(cat, i, system)
            with _ROW_MEMO_LOCK:
                row = _ROW_MEMO.get(key)
                if row is not None:
                    _ROW_MEMO.move_to_end(key)
            if row is None:
                row = self._dwp_row(cat, i, system)
                with _ROW_MEMO_LOCK:
                    _ROW_MEMO[key] = row
                    while len(_ROW_MEMO) > ROW_MEMO_SIZE:
                        _ROW_MEMO.popitem(last=False)
            out.append(dict(is_id=int(dwps.is_id.iloc[i]), dwp_id=int(dwps.dwp_id.iloc[i]), **row))
            if callback is not None:
                callback(k + 1, len(rows))
        table = pd.DataFrame(out, columns=TUNNELLING_TABLE_COLUMNS)
        n_is = len(cat.minima)
        volume_m3 = n_is * system.n_particles / system.density * self.sigma_m ** 3
        e_max_j = self.e_max_k * constants.k
        if n_is and len(table):
            dens = tunnelling_model_density(table.tls_energy.to_numpy() * constants.k,
                                            table.delta0.to_numpy() * constants.k, volume_m3, e_max_j)
        else:
            nan = float("nan")
            dens = dict(n_tls=0, p_bar=nan, p_bar_err=nan, n0=nan, n0_err=nan, p_bar_upper=nan)
            if n_is:  # IS searched, no DWP in them: the same numbers as no TLS among the DWPs
                dens = tunnelling_model_density([], [], volume_m3, e_max_j)
        density = pd.DataFrame([dict(n_is=n_is, n_dwps=len(table), n_tls=dens["n_tls"], volume_m3=volume_m3,
                                     e_max_k=self.e_max_k, e_max_j=e_max_j, hbar=self.hbar, p_bar=dens["p_bar"],
                                     p_bar_err=dens["p_bar_err"], n0=dens["n0"], n0_err=dens["n0_err"],
                                     p_bar_upper=dens["p_bar_upper"])])
        self._results = dict(table=table, density=density, distributions=self._histograms(table),
                             label=system_label(cat))
        return self

    def _histograms(self, table):
        rows = []
        values = {"lambda_wkb": table.lambda_wkb.to_numpy(float),
                  "log10_delta0": np.log10(np.where(table.delta0 > 0, table.delta0, np.nan).astype(float))}
        tls = table.is_tls.to_numpy(bool)
        for name, v in values.items():
            ok = np.isfinite(v)
            if not ok.any():
                continue
            lo, hi = float(v[ok].min()), float(v[ok].max())
            edges = np.linspace(lo, hi if hi > lo else lo + 1.0, self.bins + 1)
            for subset, sel in (("all", ok), ("tls", ok & tls)):
                counts, _ = np.histogram(v[sel], edges)
                rows += [dict(quantity=name, subset=subset, bin_left=a, bin_right=b, count=int(c))
                         for a, b, c in zip(edges[:-1], edges[1:], counts)]
        return pd.DataFrame(rows, columns=["quantity", "subset", "bin_left", "bin_right", "count"])

    @property
    def table(self) -> pd.DataFrame:
        return self._get("table")

    @property
    def density(self) -> pd.DataFrame:
        return self._get("density")

    @property
    def p_bar(self) -> tuple[float, float]:
        """(P̄, its error) in J⁻¹ m⁻³."""
        d = self.density.iloc[0]
        return float(d.p_bar), float(d.p_bar_err)

    def p_bar_summary(self) -> str:
        """P̄ in one line for people: "k TLS among n DWPs; P̄ = x ± y J⁻¹ m⁻³", or, when the
        catalogue holds no TLS, "no TLS in this catalogue (...); P̄ < bound J⁻¹ m⁻³" with the
        one-sided 95 % upper limit ``p_bar_upper`` (see :func:`tunnelling_model_density`)."""
        d = self.density.iloc[0]
        if not d.n_is:
            return "no inherent structures in this catalogue: P̄ is undefined"
        if d.n_tls == 0:
            mu = poisson_upper_limit(0)
            return (f"no TLS in this catalogue (none of its {int(d.n_dwps)} DWPs in {int(d.n_is)} IS has "
                    f"E < {self.e_max_k:g} K); P̄ < {d.p_bar_upper:.2g} J⁻¹ m⁻³ (95 % upper limit: "
                    f"{mu:.3g} TLS / ({d.volume_m3:.3g} m³ × {self.e_max_k:g} K))")
        return (f"{int(d.n_tls)} TLS among {int(d.n_dwps)} DWPs; P̄ = {d.p_bar:.3g} ± {d.p_bar_err:.2g} J⁻¹ m⁻³ "
                f"(95 % upper limit {d.p_bar_upper:.2g})")

    @property
    def distributions(self) -> pd.DataFrame:
        return self._get("distributions")

    def plot(self, ax=None, quantity: str = "lambda_wkb"):
        """Histogram of λ (``quantity="lambda_wkb"``) or log₁₀ Δ₀ (``"log10_delta0"``), all DWPs and TLS."""
        if quantity not in ("lambda_wkb", "log10_delta0"):
            raise ValueError(f"quantity must be 'lambda_wkb' or 'log10_delta0', got {quantity!r}")
        ax = new_axes(ax)
        h = self.distributions
        h = h[h.quantity == quantity]
        if h.empty:
            no_data(ax)
            return ax
        for subset, label in (("all", "all DWPs"), ("tls", f"TLS (E < {self.e_max_k:g} K)")):
            s = h[h.subset == subset]
            if s["count"].sum():
                ax.stairs(s["count"].to_numpy(), np.r_[s.bin_left.to_numpy(), s.bin_right.to_numpy()[-1]],
                          label=label, fill=subset == "tls", alpha=0.5 if subset == "tls" else 1.0)
        ax.set_xlabel("λ (WKB exponent)" if quantity == "lambda_wkb" else "log₁₀ Δ₀ / K")
        ax.set_ylabel("DWPs")
        ax.legend(frameon=False)
        return ax
