"""The DWP search: IS → tries → distinct nearby minima → ridge saddles → verified DWPs (docs/method.md §3–6).

For one starting inherent structure (IS):

1. **tries** (compiled, :func:`tlsviz.engine.tries._search_try`): Maxwell velocities at
   ``t_search`` from the try's own random stream ``SeedSequence([seed, is_id, try])``,
   ``n_search`` NVE steps, a quench to max|F| < ``ftol`` (L-BFGS, preconditioned near its
   end by the IS's inverse Hessian: :func:`hessian_preconditioner`), and the distances to the IS;
2. **acceptance** (pre-filter): not the IS itself (see "same minimum" below),
   ``d_min < d_mw`` and ``d_mw < d_max`` (d_mw ≤ d_mw,rp by the triangle inequality, so this
   loses nothing the final filter would keep), and ``delta_min <= Δ < delta_max``;
3. **distinct minima**: a minimum found again is one record with a count. Two minima are
   the same when their energies differ by less than ``e_same`` and their distance, minimised
   over permutations of identical particles (a species-wise assignment), is below ``d_same``;
4. **saddle** by the ridge method (:mod:`tlsviz.engine.saddle`) from the two minima alone;
5. **verification**: Hessian with the translations removed — no negative mode at either
   minimum, exactly one at the saddle —, the **final filter** ``d_mw,rp < d_max`` (it needs
   only the saddle, so it comes before the costly part), and the two steepest-descent paths
   (mass-weighted) from the saddle along ± the unstable mode, each finished by a quench,
   must end one in the IS and one in the new minimum. A pair that fails is dismissed with
   its reason;
6. the descriptors of §6 and the minimum → saddle → minimum path (``n_frames`` frames,
   equally spaced in mass-weighted arc length, the saddle one of them).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterator

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from threadpoolctl import ThreadpoolController

from .engine import minimize
from .engine.saddle import descent_path, mass_weighted_unstable_mode, ridge_point_basins, ridge_saddle
from .engine.streams import pcg64_streams
from .engine.surfaces import SystemSurface
from .engine.tries import _search_tries

#: Columns of the DWP table, in order (the catalogue contract).
DWP_COLUMNS = [
    "is_id", "dwp_id", "is_energy", "min_energy", "saddle_energy", "asymmetry", "barrier",
    "barrier_from_is", "d", "d_mw", "d_rp", "d_mwrp", "central_index", "central_type",
    "central_displacement", "pr1", "pr2", "pr3", "pr4", "lambda_neg", "count", "tries", "first_try",
    "copy", "second_ratio", "second_index", "second_type",
]
#: Columns of the dismissed-pairs table.
DISMISSED_COLUMNS = ["is_id", "first_try", "count", "min_energy", "asymmetry", "d", "d_mw", "reason"]
_INT_COLUMNS = {"is_id", "dwp_id", "central_index", "count", "tries", "first_try", "copy", "second_index"}
_STR_COLUMNS = {"central_type", "reason", "second_type"}
#: A DWP's central particle is *ambiguous* when the second-largest displacement is more than this
#: fraction of the largest (``second_ratio > AMBIGUOUS_RATIO``): a 10 % difference in |d| is within
#: what the choice of the pair's alignment and the descent's end tolerance can move in a soft
#: glass, so the A/B label of such a DWP is not a result (docs/search.md, "central particle").
AMBIGUOUS_RATIO = 0.9


def _typed(rows, columns) -> pd.DataFrame:
    """A table with fixed dtypes (int64, float64, str) from row dicts, also when it has no row
    (column by column: a whole-frame ``astype`` cost ~10 ms, as much as 1000 force evaluations)."""
    data = {}
    for c in columns:
        values = [r[c] for r in rows]
        if c in _STR_COLUMNS:
            data[c] = pd.Series([str(v) for v in values], dtype=object).astype(str)
        else:
            data[c] = np.array(values, dtype=np.int64 if c in _INT_COLUMNS else np.float64)
    return pd.DataFrame(data, columns=columns)


_BLAS = None


def _one_blas_thread():
    """Context: BLAS/LAPACK on one thread (multi-threaded LAPACK rounds eigenvectors
    differently, and a search must not depend on where it runs). One threadpoolctl controller
    for the process: building one scans the loaded libraries (~5 ms). It is built at the first
    use, after this module's imports have loaded numpy's and scipy's BLAS."""
    global _BLAS
    if _BLAS is None:
        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")


@dataclass(frozen=True)
class SearchParams:
    """Parameters of a DWP search; defaults in reduced LJ units for N = 65 (see docs/search.md).

    t_search, n_search: temperature and number of NVE steps of a try (chosen by the scan of
    benchmarks/tuning.md). d_min, d_max: window on the mass-weighted distance (σ); d_max is
    applied to d_mw before the saddle search and to d_mw,rp after it. delta_min, delta_max:
    window on the asymmetry Δ (ε). ftol: quench tolerance on max|F|. e_same, d_same: "same
    minimum" tolerances. n_frames: frames of the stored path (odd; the saddle is the middle).
    minimizer: for the tries' quenches and the saddle checks, "lbfgs-hessian" (default:
    L-BFGS that takes Newton steps with the factored Hessian near the minimum, up to N = 150),
    "lbfgs" (half the evaluations of CG) or "cg" (:mod:`tlsviz.engine.minimize`).
    precondition: L-BFGS of the tries uses the inverse Hessian of the IS, scaled at each
    step, as its initial inverse Hessian once max|F| < 0.1 (:mod:`tlsviz.engine.minimize`;
    same minima, ~2× fewer evaluations); only for systems of at most :data:`PRECOND_MAX_N` particles, where the
    (3N)² matrix–vector product costs less than the evaluations it saves. With
    "lbfgs-hessian", a try that has not converged a few iterations later replaces it by the
    factored Hessian at its current point.
    """

    t_search: float = 0.7
    n_search: int = 100
    d_min: float = 1e-3
    d_max: float = 0.8
    delta_min: float = 0.0
    delta_max: float = 0.5
    ftol: float = minimize.FTOL
    e_same: float = 1e-7
    d_same: float = 1e-4
    n_frames: int = 41
    dt: float = 0.01
    minimizer: str = "lbfgs-hessian"
    precondition: bool = True

    def validate(self):
        checks = [
            (np.isfinite(self.t_search) and self.t_search > 0, "t_search must be a temperature > 0",
             ("t_search",)),
            (isinstance(self.n_search, (int, np.integer)) and self.n_search >= 1,
             "n_search must be a whole number of MD steps >= 1", ("n_search",)),
            (0 <= self.d_min < self.d_max, "need 0 <= d_min < d_max", ("d_min", "d_max")),
            (0 <= self.delta_min < self.delta_max, "need 0 <= delta_min < delta_max",
             ("delta_min", "delta_max")),
            (self.ftol > 0 and self.e_same > 0 and self.d_same > 0, "ftol, e_same, d_same must be > 0",
             ("ftol", "e_same", "d_same")),
            (isinstance(self.n_frames, (int, np.integer)) and self.n_frames >= 3 and self.n_frames % 2 == 1,
             "n_frames must be an odd number >= 3 (the saddle is the middle frame)", ("n_frames",)),
            (self.minimizer in minimize.METHODS, f"minimizer must be one of {sorted(minimize.METHODS)}",
             ("minimizer",)),
            (isinstance(self.precondition, (bool, np.bool_)), "precondition must be True or False",
             ("precondition",)),
        ]
        for ok, msg, names in checks:
            if not ok:
                got = ", ".join(f"{k} = {getattr(self, k)!r}" for k in names)
                raise ValueError(f"{msg} (got {got})")
        return self


@dataclass
class Minimum:
    """A distinct nearby minimum found by the tries."""

    positions: np.ndarray
    energy: float
    d: float
    d_mw: float
    first_try: int
    count: int = 1


@dataclass
class SearchProgress:
    """What a search reports to its caller: after each try, when the saddle stage begins
    (``pairs_done`` 0), after each pair examined, and once done."""

    stage: str  # "tries", "saddles" or "done"
    tries_done: int
    tries_total: int
    minima_found: int
    pairs_done: int = 0
    pairs_total: int = 0
    dwps_verified: int = 0
    new_dwp: dict | None = None
    result: "SearchResult | None" = None


@dataclass
class SearchResult:
    """The DWPs of one IS.

    dwps: one row per verified DWP (columns :data:`DWP_COLUMNS`; ``copy``: the copy of a "2 × N"
    system the DWP lies in, 0 with one copy; particle indices are the whole system's).
    dismissed: rejected pairs with a ``reason``.
    stats: try statistics (tries, converged, back_to_is, outside_windows, accepted, distinct,
    seconds) and the IS's certificate (:func:`certify_minimum`: is_certified, is_negative_modes,
    is_lowest_eigenvalue). Arrays per DWP row i: second minimum, saddle, path (n_frames, N, 3), path
    energies and mass-weighted arc length, displacements (N, 3) IS → second minimum; per
    dismissed row j: ``dismissed_positions[j]``, the minimum (or unconverged quench end).
    """

    is_positions: np.ndarray
    is_energy: float
    params: SearchParams
    dwps: pd.DataFrame
    dismissed: pd.DataFrame
    stats: dict
    minima_positions: list = field(default_factory=list)
    saddle_positions: list = field(default_factory=list)
    paths: list = field(default_factory=list)
    path_energies: list = field(default_factory=list)
    path_arclengths: list = field(default_factory=list)
    dismissed_positions: list = field(default_factory=list)
    cancelled: bool = False
    group: np.ndarray | None = None  # the copy of each particle, when the system has several

    def _dwp_row(self, i) -> int:
        """i checked against the DWPs found: an IndexError that says which exist, not a bare one."""
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"a DWP is selected by its row number (an integer), got {i!r}")
        n = len(self.dwps)
        if -n <= i < n:
            return int(i)
        if n == 0:
            tries, back = self.stats.get("tries", 0), self.stats.get("back_to_is", 0)
            raise IndexError(f"no DWP {i}: this search found none ({back} of {tries} tries quenched back to "
                             f"the IS, {len(self.dismissed)} pairs dismissed); res.dwps is empty. Search "
                             "another inherent structure, or more tries")
        raise IndexError(f"no DWP {i}: this search found {n}, rows 0..{n - 1} of res.dwps")

    def path(self, i: int) -> np.ndarray:
        """(n_frames, N, 3) minimum (the IS) → saddle → second minimum of DWP i (a row of ``dwps``).

        Raises IndexError, saying which rows exist, when there is no DWP i.
        """
        return self.paths[self._dwp_row(i)]

    def saddle(self, i: int) -> np.ndarray:
        """The saddle (N, 3) of DWP i."""
        return self.saddle_positions[self._dwp_row(i)]

    def minimum(self, i: int) -> np.ndarray:
        """The second minimum (N, 3) of DWP i."""
        return self.minima_positions[self._dwp_row(i)]

    def displacements(self, i: int) -> np.ndarray:
        """Per-particle displacement vectors (N, 3) from the IS to the second minimum, translation
        (each copy's) removed."""
        from .engine.geometry import displacements

        box = self.stats["box"]
        return displacements(self.is_positions, self.minima_positions[self._dwp_row(i)], box, group=self.group)


# ---------------------------------------------------------------- descriptors
def participation_ratios(disp: np.ndarray) -> np.ndarray:
    """The four per-DWP quantities of docs/method.md §6 from displacement vectors (N, 3).

    q1 = d_max² / Σ d_i², q2 = Σ d_i² / d_max², q3 = Σ |d_i| / d_max, q4 = (Σ d_i²)² / Σ d_i⁴;
    each equals n (q1: 1/n) when n particles move the same distance and the rest stay put.
    """
    a = np.linalg.norm(np.asarray(disp, dtype=float), axis=1)
    a2 = a * a
    dmax2 = a2.max()
    if dmax2 == 0:
        raise ValueError("participation ratios need a non-zero displacement")
    s2 = a2.sum()
    return np.array([dmax2 / s2, s2 / dmax2, a.sum() / np.sqrt(dmax2), s2 * s2 / np.sum(a2 * a2)])


def central_particles(disp: np.ndarray, types=None) -> dict:
    """The central particle of a displacement set (N, 3) and how clearly it is central.

    Returns ``central_index`` (the particle that moves most), ``central_displacement`` (its |d|),
    ``second_index`` (the particle that moves second most), ``second_ratio`` = |d_second| /
    |d_central| (in [0, 1]; 1 when two particles move equally: then the central particle, and
    its type, is a matter of round-off — see :data:`AMBIGUOUS_RATIO`) and, when ``types``
    (N,) 0/1 is given, ``central_type`` and ``second_type`` ("A"/"B"). Ties go to the lower index.
    """
    a = np.linalg.norm(np.asarray(disp, dtype=float), axis=1)
    if a.size < 2:
        raise ValueError(f"a central particle needs at least two particles, got displacements of shape {np.shape(disp)}")
    order = np.argsort(-a, kind="stable")
    c, s2 = int(order[0]), int(order[1])
    if not a[c] > 0:
        raise ValueError("the central particle needs a non-zero displacement")
    out = dict(central_index=c, central_displacement=float(a[c]), second_index=s2, second_ratio=float(a[s2] / a[c]))
    if types is not None:
        out.update(central_type="AB"[int(types[c])], second_type="AB"[int(types[s2])])
    return out


def certify_minimum(system, x) -> dict:
    """The method's test of a minimum (docs/method.md §5), for a starting inherent structure:
    the Hessian at x, translations removed, has no negative eigenvalue (below
    ``-tlsviz.engine.modes.NEGATIVE_TOL``). A point where the forces vanish may be a saddle
    (a quench can stop on one); the DWP's two minima are tested this way in
    :func:`verify_pair`, and this tests the IS once per search.

    Returns ``is_certified`` (no negative mode), ``is_negative_modes`` (their number) and
    ``is_lowest_eigenvalue`` (ε/σ², the softest non-translational curvature; its size says
    how close the IS is to losing its stability).
    """
    with _one_blas_thread():
        m = system.modes(x, vectors=False)
    return dict(is_certified=bool(m.n_negative == 0), is_negative_modes=int(m.n_negative),
                is_lowest_eigenvalue=float(m.lowest))


def same_minimum(system, xa, ea, xb, eb, e_tol=1e-7, d_tol=1e-4, d=None) -> bool:
    """Are xa and xb one minimum? Energy within e_tol and distance below d_tol, up to a
    permutation of identical particles (within each copy) and a translation of each copy (a
    global one for a single copy). ``d``: system.distance(xa, xb) when the caller has it
    already (a search try has)."""
    if abs(ea - eb) > e_tol:
        return False
    if (system.distance(xa, xb) if d is None else d) < d_tol:
        return True
    box = system.box
    perm = np.arange(len(xa))
    copies = np.unique(system.group)
    shift = np.zeros((len(copies), 3))  # each copy's mean displacement
    for _ in range(3):
        for t in np.unique(system.types):
            for ci, c in enumerate(copies):
                idx = np.flatnonzero((system.types == t) & (system.group == c))
                dd = xb[idx][None, :, :] - xa[idx][:, None, :] - shift[ci]
                dd -= box * np.rint(dd / box)
                cost = np.einsum("ijk,ijk->ij", dd, dd)
                row, col = linear_sum_assignment(cost)
                perm[idx[row]] = idx[col]
        disp = xb[perm] - xa
        disp -= box * np.rint(disp / box)
        shift = disp.mean(axis=0)[None] if len(copies) == 1 else \
            np.array([disp[system.group == c].mean(axis=0) for c in copies])
    return system.distance(xa, xb[perm]) < d_tol


def _aligned(x_ref, x, box):
    """x moved particle by particle to the periodic image nearest x_ref."""
    d = x - x_ref
    return x_ref + d - box * np.rint(d / box)


def _resample(points, masses, n):
    """n points equally spaced in mass-weighted arc length along a polyline (k, dof)."""
    sq = np.sqrt(masses)
    seg = np.linalg.norm(np.diff(points * sq, axis=0), axis=1)
    s = np.r_[0.0, np.cumsum(seg)]
    target = np.linspace(0.0, s[-1], n)
    out = np.empty((n, points.shape[1]))
    for k in range(points.shape[1]):
        out[:, k] = np.interp(target, s, points[:, k])
    return out


#: A descent path from a saddle hands over to the quench once max|F| (ε/σ) has come down the
#: slope (been above PATH_F_RISEN) and fallen below PATH_F_STOP: from there to the minimum is
#: ≲ 1.5 % of the path's mass-weighted length, and the integrator, whose steps shrink with the
#: force in the stiff valley floor, would spend a quarter of its evaluations on it.
PATH_F_STOP = 0.003
PATH_F_RISEN = 0.3


# -------------------------------------------------------------------- search
#: Tries per compiled call in a search (cancelling waits at most for one batch).
TRY_BATCH = 10
#: Largest system (particles) whose tries are preconditioned (``SearchParams.precondition``).
PRECOND_MAX_N = 150
#: Curvatures below this (ε/σ²) are raised to it in the preconditioner (caps its steps).
PRECOND_FLOOR = 0.05


def hessian_preconditioner(system, x_is, params: SearchParams = SearchParams()) -> np.ndarray:
    """The (3N, 3N) preconditioner of the tries from inherent structure x_is: the inverse of
    its Hessian on the non-translational modes (curvatures below ``PRECOND_FLOOR`` raised to
    it, the three translations given zero), or an empty (0, 0) array when ``params`` asks for
    none or the system is larger than :data:`PRECOND_MAX_N`.

    When no curvature is below the floor (an IS, as a rule), the inverse comes from compiled
    Cholesky factors (:func:`tlsviz.engine.minimize._inverse_hessian`: 1.7 ms at N = 65, the
    same bits on every machine); else from an eigendecomposition (LAPACK, one thread: ~6 ms)."""
    if not (params.precondition and params.minimizer in ("lbfgs", "lbfgs-hessian")
            and system.n_particles <= PRECOND_MAX_N):
        return minimize.NO_PRECOND
    x_is = system.check_positions(x_is)
    p, ok = minimize._inverse_hessian(x_is.reshape(-1), system.model, PRECOND_FLOOR)
    if ok:
        return p
    # one BLAS thread: the matrix (and so every try) must not depend on the thread count
    with _one_blas_thread():
        lam, vec = np.linalg.eigh(system.hessian(x_is))
        inv = 1.0 / np.maximum(lam, PRECOND_FLOOR)
        inv[np.argsort(np.abs(lam))[:3 * system.copies]] = 0.0  # the translations (of each copy)
        p = (vec * inv) @ vec.T
    return np.ascontiguousarray(0.5 * (p + p.T))  # exactly symmetric (the kernel reads rows as columns)


def try_velocities(system, ks, *, seed, is_id=0, params: SearchParams = SearchParams()) -> np.ndarray:
    """The starting velocities (len(ks), N, 3) of tries ``ks``: Maxwell at ``t_search`` from each
    try's own stream SeedSequence([seed, is_id, k]), zero total momentum per copy."""
    g = np.empty((len(ks), system.n_particles, 3))
    for b, rng in enumerate(pcg64_streams(seed, is_id, ks)):
        rng.standard_normal(out=g[b])
    return system._zero_momentum(g * np.sqrt(params.t_search / system.masses)[None, :, None])


def run_tries(system, x_is, ks, *, seed, is_id=0, params: SearchParams = SearchParams(), precond=None):
    """Tries ``ks`` of a search in one compiled call: arrays (x_min (B, N, 3), energy, max|F|,
    n_evals, converged, d, d_mw), B = len(ks). ``precond``: :func:`hessian_preconditioner` of
    x_is (computed here when None: pass it when running many tries from the same IS)."""
    if precond is None:
        precond = hessian_preconditioner(system, x_is, params)
    v = try_velocities(system, ks, seed=seed, is_id=is_id, params=params)
    return _search_tries(x_is, v, system.masses, params.dt, int(params.n_search), params.ftol,
                         minimize.MAX_ITER, minimize.MAX_STEP, minimize.METHODS[params.minimizer],
                         precond, system.model)


def run_try(system, x_is, k, *, seed, is_id=0, params: SearchParams = SearchParams(), precond=None):
    """Try k of a search: returns (x_min, energy, max|F|, n_evals, converged, d, d_mw)."""
    out = run_tries(system, x_is, [k], seed=seed, is_id=is_id, params=params, precond=precond)
    xq, e, g, ne, conv, d, d_mw = (a[0] for a in out)
    return xq, float(e), float(g), int(ne), bool(conv), float(d), float(d_mw)


def third_minimum_reason(e_third: float, e_is: float) -> str:
    """The dismissal reason of a pair joined through a third minimum of energy ``e_third``:
    "connects a third minimum (E = …, … ε below/above the IS)"; tables filter on its start."""
    de = e_third - e_is
    return f"connects a third minimum (E = {e_third:.6f} ε, {abs(de):.3g} ε {'below' if de < 0 else 'above'} the IS)"


def _failed_ridge_reason(system, surface, x_is, e_is, x2, e_min, res, params) -> str:
    """Why a ridge walk from the pair found no saddle: when one side of the last ridge point
    drains (descent path, then quench) into neither minimum, the walk followed the border of a
    third minimum through which the pair is joined (:func:`third_minimum_reason`); otherwise
    "no saddle found (<the walk's message>; <where the two sides of the last ridge point drain>)":
    to the IS and the minimum (the walk lost a border it was on), or both to one of them (the
    pair left the border: e.g. a second well so shallow that the ridge reached its bottom)."""
    if res.mode is None:
        return f"no saddle found ({res.message})"
    n = system.n_particles
    where = []
    for x_end, _ in ridge_point_basins(surface, res.positions, res.mode, f_stop=PATH_F_STOP):
        q = system.quench(x_end.reshape(n, 3), ftol=params.ftol, method=params.minimizer)
        if not q.converged:
            where.append("an unconverged quench")
        elif same_minimum(system, x_is, e_is, q.positions, q.energy, params.e_same, params.d_same):
            where.append("the IS")
        elif same_minimum(system, x2, e_min, q.positions, q.energy, params.e_same, params.d_same):
            where.append("the minimum")
        else:
            return third_minimum_reason(q.energy, e_is)
    sides = (f"both sides of the last ridge point drain to {where[0]}" if where[0] == where[1]
             else f"the sides of the last ridge point drain to {where[0]} and {where[1]}")
    return f"no saddle found ({res.message}; {sides})"


def verify_pair(system, x_is, e_is, x_min, e_min, params: SearchParams = SearchParams(), surface=None):
    """Find and certify the saddle between x_is and x_min.

    Returns (record dict, arrays dict) for a verified DWP, or (None, reason) for a dismissed pair.
    With several copies the pair is verified in the one copy it changes
    (:func:`verify_pair_by_copy`).
    """
    if system.copies > 1:
        return verify_pair_by_copy(system, x_is, e_is, x_min, e_min, params, surface)
    surface = surface or SystemSurface(system)
    n = system.n_particles
    x2 = _aligned(x_is, x_min, system.box)
    modes_min = system.modes(x2, vectors=False)
    if modes_min.n_negative:
        return None, f"second minimum has {modes_min.n_negative} negative mode(s)"
    res = ridge_saddle(surface, x_is.ravel(), x2.ravel(), ftol=params.ftol)
    if not res.converged:
        return None, _failed_ridge_reason(system, surface, x_is, e_is, x2, e_min, res, params)
    xs = res.positions.reshape(n, 3)
    modes_s = system.modes(xs, vectors=False)
    if modes_s.n_negative != 1:
        kind = "a minimum" if modes_s.n_negative == 0 else f"a saddle of order {modes_s.n_negative}"
        return None, f"higher-order saddle: the ridge ended on {kind}" if modes_s.n_negative > 1 else \
            f"no saddle found: the ridge ended on {kind}"
    # the final filter on d_mw,rp needs only the saddle: before the descent paths, which cost
    # more than everything else of a pair
    d_rp = system.distance(x_is, xs) + system.distance(xs, x2)
    d_mwrp = system.distance(x_is, xs, True) + system.distance(xs, x2, True)
    if d_mwrp >= params.d_max:
        return None, f"d_mw,rp = {d_mwrp:.3f} is not below d_max = {params.d_max}"
    mode = mass_weighted_unstable_mode(surface, xs)
    ends, sides = [], []
    for sign in (-1.0, 1.0):
        pts, es = descent_path(surface, xs.ravel(), sign * mode, f_stop=PATH_F_STOP, f_risen=PATH_F_RISEN)
        q = system.quench(pts[-1].reshape(n, 3), ftol=params.ftol, method=params.minimizer)
        if not q.converged:
            return None, "quench did not converge (descent from the saddle)"
        ends.append(q)
        sides.append(np.vstack([pts, q.positions.ravel()]))
    which = []
    for q in ends:
        if same_minimum(system, x_is, e_is, q.positions, q.energy, params.e_same, params.d_same):
            which.append("is")
        elif same_minimum(system, x2, e_min, q.positions, q.energy, params.e_same, params.d_same):
            which.append("min")
        else:
            which.append("third")
    if sorted(which) != ["is", "min"]:
        if "third" in which:
            return None, third_minimum_reason(ends[which.index("third")].energy, e_is)
        return None, "both sides of the saddle reach the same minimum"
    if which[0] == "min":
        sides = sides[::-1]
    # path IS → saddle → second minimum, n_frames equally spaced in mass-weighted arc length per side
    half = (params.n_frames + 1) // 2
    m3 = np.repeat(system.masses, 3)
    to_is = _resample(sides[0], m3, half)
    to_min = _resample(sides[1], m3, half)
    frames = np.vstack([to_is[::-1], to_min[1:]]).reshape(-1, n, 3)
    # arc length along the frames themselves: the raw descent steps zig-zag across stiff valleys
    # by up to ~10 %, which would inflate q (and a tunnelling exponent) without moving the path
    step = np.linalg.norm(np.diff(frames.reshape(len(frames), -1) * np.sqrt(m3), axis=0), axis=1)
    arclen = np.r_[0.0, np.cumsum(step)]
    energies = np.array([system.energy(fr) for fr in frames])
    disp = system.displacements(x_is, x2)
    q1, q2, q3, q4 = participation_ratios(disp)
    rec = dict(
        is_energy=e_is, min_energy=e_min, saddle_energy=res.energy,
        asymmetry=abs(e_min - e_is), barrier=res.energy - min(e_is, e_min), barrier_from_is=res.energy - e_is,
        d=system.distance(x_is, x2), d_mw=system.distance(x_is, x2, True), d_rp=d_rp, d_mwrp=d_mwrp,
        **central_particles(disp, system.types), pr1=q1, pr2=q2, pr3=q3, pr4=q4,
        lambda_neg=float(modes_s.eigenvalues[0]),
    )
    arrays = dict(minimum=x2, saddle=xs, path=frames, path_energy=energies, path_arclength=arclen)
    return rec, arrays


def verify_pair_by_copy(system, x_is, e_is, x_min, e_min, params: SearchParams = SearchParams(), surface=None):
    """:func:`verify_pair` for a system of several non-interacting copies ("2 × N").

    Copies do not interact, so a DWP of the whole system changes one copy and leaves the
    others in their IS: the pair is identified copy by copy (:func:`same_minimum` on the
    one-copy system, each copy's translation a symmetry). A second minimum that changes no
    copy, or more than one (two independent transitions, as two distant regions of one large
    system would be), is dismissed. The changed copy c is verified as the one-copy system it
    is (:meth:`KobAndersen.single_copy`: ridge, polish, certification and descent paths on its
    n particles, so the others' translations and modes never enter), then embedded in the
    whole system: the other copies stay at the IS in the second minimum, the saddle and every
    path frame; energies are the whole system's (the others' energy added), the asymmetry,
    barriers, distances, participation ratios and λ_neg those of copy c (the other copies do
    not move, so the whole system's are the same); particle indices (``*_index`` columns)
    are the whole system's, and ``copy`` = c.
    """
    one = system.single_copy()
    x_is = system.check_positions(x_is, "x_is")
    x2 = _aligned(x_is, system.check_positions(x_min, "x_min"), system.box)
    changed, parts = [], []
    for c in range(system.copies):
        sl = system.copy_slice(c)
        e_c, e2_c = one.energy(x_is[sl]), one.energy(x2[sl])
        parts.append((sl, e_c, e2_c))
        if not same_minimum(one, x_is[sl], e_c, x2[sl], e2_c, params.e_same, params.d_same):
            changed.append(c)
    if len(changed) != 1:
        return None, ("the second minimum is the IS (every copy the same minimum)" if not changed else
                      f"changes {len(changed)} copies ({', '.join(map(str, changed))}): not one DWP")
    c = changed[0]
    sl, e_c, e2_c = parts[c]
    sub_surface = SystemSurface(one)
    rec, arrays = verify_pair(one, x_is[sl], e_c, x2[sl], e2_c, params, sub_surface)
    if surface is not None:
        surface.n_evals += sub_surface.n_evals
    if rec is None:
        return rec, arrays
    e_other = e_is - e_c  # the other copies' energy, at the IS throughout

    def whole(xc):
        x = x_is.copy()
        x[sl] = xc
        return x

    rec = dict(rec)
    for key in ("is_energy", "min_energy", "saddle_energy"):
        rec[key] = rec[key] + e_other
    rec["is_energy"] = e_is
    for key in rec:
        if key.endswith("_index"):
            rec[key] = int(rec[key]) + sl.start
    rec["copy"] = c
    out = dict(arrays)
    out["minimum"], out["saddle"] = whole(arrays["minimum"]), whole(arrays["saddle"])
    out["path"] = np.array([whole(fr) for fr in arrays["path"]])
    out["path_energy"] = arrays["path_energy"] + e_other
    return rec, out


class SearchRun:
    """One search, run step by step: iterate it for :class:`SearchProgress` events;
    :meth:`result` gives what has been verified so far (the whole result once iteration ends)."""

    def __init__(self, system, is_positions, tries: int = 400, seed: int = 0, *, is_id: int = 0,
                 params: SearchParams | None = None, **kwargs):
        params = params or SearchParams()
        if kwargs:
            unknown = set(kwargs) - set(SearchParams.__dataclass_fields__)
            if unknown:
                raise ValueError(f"unknown search parameter(s) {sorted(unknown)}; "
                                 f"known: {sorted(SearchParams.__dataclass_fields__)}")
            params = SearchParams(**{**asdict(params), **kwargs})
        self.params = params.validate()
        if isinstance(tries, bool) or not isinstance(tries, (int, np.integer)) or tries < 1:
            raise ValueError(f"tries must be a whole number >= 1, got {tries!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
        self.system, self.tries, self.seed, self.is_id = system, int(tries), int(seed), int(is_id)
        self.x_is = system.check_positions(is_positions, "is_positions")
        e_is, f_is = system.energy_forces(self.x_is)
        fmax = np.max(np.linalg.norm(f_is, axis=1))
        if fmax > 1e-6:
            raise ValueError(f"is_positions is not a minimum (max |F| = {fmax:.1e} > 1e-6): "
                             "quench it first with system.quench(x)")
        self.e_is = e_is
        cert = certify_minimum(system, self.x_is)
        if not cert["is_certified"]:
            raise ValueError(f"is_positions is not a minimum: its Hessian has {cert['is_negative_modes']} negative "
                             f"mode(s) besides the translations (lowest eigenvalue {cert['is_lowest_eigenvalue']:.3g} "
                             "ε/σ²), so it is a saddle, where the forces vanish too. Displace it a little along "
                             "that mode (system.modes(x).unstable_mode) and quench it again")
        self.stats = dict(tries=0, converged=0, back_to_is=0, outside_windows=0, accepted=0, distinct=0,
                          n_evals=0, box=system.box, seconds=0.0, seconds_tries=0.0, **cert)
        self.minima: list[Minimum] = []
        self.rows, self.dismissed, self.arrays, self.dismissed_positions = [], [], [], []
        self.finished = False

    def __iter__(self) -> Iterator[SearchProgress]:
        system, params, x_is, e_is, stats = self.system, self.params, self.x_is, self.e_is, self.stats
        t0 = time.perf_counter()
        precond = hessian_preconditioner(system, x_is, params)
        batch = []
        for k in range(self.tries):
            if not batch:  # tries run compiled in batches (a progress event still follows each try)
                ks = range(k, min(k + TRY_BATCH, self.tries))
                batch = list(zip(*run_tries(system, x_is, ks, seed=self.seed, is_id=self.is_id,
                                            params=params, precond=precond)))[::-1]
            xq, e, g, ne, conv, d, d_mw = batch.pop()
            e, d, d_mw = float(e), float(d), float(d_mw)
            stats["tries"] += 1
            stats["n_evals"] += int(ne)
            if not conv:
                self.dismissed.append(dict(is_id=self.is_id, first_try=k, count=1, min_energy=e,
                                           asymmetry=abs(e - e_is), d=d, d_mw=d_mw,
                                           reason="quench did not converge"))
                self.dismissed_positions.append(xq)
            else:
                stats["converged"] += 1
                delta = abs(e - e_is)
                if same_minimum(system, x_is, e_is, xq, e, params.e_same, params.d_same, d=d):
                    stats["back_to_is"] += 1
                elif not (params.d_min < d_mw < params.d_max and params.delta_min <= delta < params.delta_max):
                    stats["outside_windows"] += 1
                else:
                    stats["accepted"] += 1
                    for m in self.minima:
                        if same_minimum(system, m.positions, m.energy, xq, e, params.e_same, params.d_same):
                            m.count += 1
                            break
                    else:
                        self.minima.append(Minimum(xq, e, d, d_mw, k))
            stats["seconds_tries"] = stats["seconds"] = time.perf_counter() - t0
            yield SearchProgress("tries", k + 1, self.tries, len(self.minima))
        stats["distinct"] = len(self.minima)
        surface = SystemSurface(system)
        # the saddle stage begins (a caller's progress bar switches to pairs before the first,
        # which may take a while: it compiles the saddle kernels on a cold cache)
        yield SearchProgress("saddles", self.tries, self.tries, len(self.minima), 0, len(self.minima), 0)
        for j, m in enumerate(self.minima):
            with _one_blas_thread():
                rec, out = verify_pair(system, x_is, e_is, m.positions, m.energy, params, surface)
            new = None
            if rec is None:
                self.dismissed.append(dict(is_id=self.is_id, first_try=m.first_try, count=m.count,
                                           min_energy=m.energy, asymmetry=abs(m.energy - e_is),
                                           d=m.d, d_mw=m.d_mw, reason=out))
                self.dismissed_positions.append(m.positions)
            else:
                rec.update(is_id=self.is_id, dwp_id=len(self.rows), count=m.count, tries=self.tries,
                           first_try=m.first_try, copy=rec.get("copy", 0))
                self.rows.append(rec)
                self.arrays.append(out)
                new = rec
            stats["n_evals_saddles"] = surface.n_evals
            stats["seconds"] = time.perf_counter() - t0
            yield SearchProgress("saddles", self.tries, self.tries, len(self.minima), j + 1,
                                 len(self.minima), len(self.rows), new)
        self.finished = True
        yield SearchProgress("done", self.tries, self.tries, len(self.minima), len(self.minima),
                             len(self.minima), len(self.rows), None, self.result())

    def result(self) -> SearchResult:
        """The result so far (``cancelled`` is True until the search has finished)."""
        dwps = _typed(self.rows, DWP_COLUMNS)
        dis = _typed(self.dismissed, DISMISSED_COLUMNS)
        a = self.arrays
        return SearchResult(
            is_positions=self.x_is, is_energy=float(self.e_is), params=self.params, dwps=dwps,
            dismissed=dis, stats=dict(self.stats),
            minima_positions=[x["minimum"] for x in a], saddle_positions=[x["saddle"] for x in a],
            paths=[x["path"] for x in a], path_energies=[x["path_energy"] for x in a],
            path_arclengths=[x["path_arclength"] for x in a],
            dismissed_positions=list(self.dismissed_positions), cancelled=not self.finished,
            group=self.system.group if self.system.copies > 1 else None,
        )


def search_dwps(system, is_positions, tries: int = 400, seed: int = 0, *, is_id: int = 0,
                params: SearchParams | None = None,
                callback: Callable[[SearchProgress], object] | None = None, **kwargs) -> SearchResult:
    """Search the DWPs of one inherent structure (see the module docstring).

    Keywords override :class:`SearchParams` fields (``t_search``, ``n_search``, ``d_max``,
    ``delta_max``, ...). ``callback(progress)`` is called after every try and every pair; a
    true return value cancels the search, which then returns what it has verified so far,
    with ``cancelled=True``.
    """
    run = SearchRun(system, is_positions, tries, seed, is_id=is_id, params=params, **kwargs)
    for progress in run:
        if callback is not None and callback(progress):
            break
    return run.result()


def scan_search_parameters(system, is_positions_list, t_values=(0.3, 0.5, 0.7, 1.0),
                           n_values=(50, 100, 200, 400), tries: int = 100, seed: int = 0,
                           params: SearchParams | None = None, callback=None) -> pd.DataFrame:
    """Distinct accepted nearby minima per try on a grid of (T_search, N_search) (docs/method.md §3).

    Runs only the tries and the acceptance windows (no saddles), on every IS of
    ``is_positions_list``, and returns one row per grid point: ``distinct_per_is`` (mean
    over the IS), ``distinct_per_try``, the fractions of tries that came back to the IS or
    fell outside the windows, and the seconds per try. ``distinct_per_is_err`` is the standard
    error of the mean over the IS, ``distinct_by_is`` the counts IS by IS (the same IS at every
    grid point, so points compare pairwise). ``callback(row)`` after each grid point. Pick the
    defaults with :func:`best_search_parameters`.
    """
    base = params or SearchParams()
    xs = [system.check_positions(x, "is_positions") for x in is_positions_list]
    rows = []
    for t in t_values:
        for n in n_values:
            p = SearchParams(**{**asdict(base), "t_search": float(t), "n_search": int(n)}).validate()
            per_is = []
            back = outside = 0
            t0 = time.perf_counter()
            for i, x in enumerate(xs):
                run = SearchRun(system, x, tries, seed, is_id=i, params=p)
                for prog in run:
                    if prog.tries_done == prog.tries_total:
                        break  # the tries are done; no saddles
                per_is.append(len(run.minima))
                back += run.stats["back_to_is"]
                outside += run.stats["outside_windows"]
            total = tries * len(xs)
            distinct = sum(per_is)
            err = float(np.std(per_is, ddof=1) / np.sqrt(len(per_is))) if len(per_is) > 1 else float("nan")
            row = dict(t_search=float(t), n_search=int(n), distinct_per_is=distinct / len(xs),
                       distinct_per_is_err=err, distinct_by_is=tuple(per_is),
                       distinct_per_try=distinct / total, back_to_is=back / total,
                       outside_windows=outside / total, seconds_per_try=(time.perf_counter() - t0) / total)
            rows.append(row)
            if callback is not None:
                callback(row)
    return pd.DataFrame(rows)


def yield_vs_best(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """For every row of a :func:`scan_search_parameters` table, its ``distinct_per_is`` minus the
    largest, and the standard error of that difference: paired IS by IS (``distinct_by_is``:
    every point searched the same IS), or without that column the two rows' standard errors
    combined."""
    top = table.loc[table.distinct_per_is.idxmax()]
    diff, err = [], []
    for _, row in table.iterrows():
        if "distinct_by_is" in table and len(row.distinct_by_is) > 1:
            d = np.asarray(row.distinct_by_is, float) - np.asarray(top.distinct_by_is, float)
            diff.append(d.mean())
            err.append(np.std(d, ddof=1) / np.sqrt(len(d)))
        else:
            diff.append(row.distinct_per_is - top.distinct_per_is)
            err.append(np.hypot(np.nan_to_num(row.distinct_per_is_err), np.nan_to_num(top.distinct_per_is_err)))
    return np.array(diff), np.array(err)


def best_search_parameters(table: pd.DataFrame) -> pd.Series:
    """The row of a :func:`scan_search_parameters` table to use, by the one-standard-error rule:
    the fewest MD steps (``n_search``, the cost of a try) among the points whose yield
    (``distinct_per_is``) is not below the largest by more than one standard error of the
    difference (:func:`yield_vs_best`), and among those the largest yield. A scan on a few IS
    rarely separates neighbouring points; the rule then prefers the cheaper try to the noise."""
    diff, err = yield_vs_best(table)
    ok = table[diff >= -err - 1e-12]  # (round-off at the boundary)
    return ok.sort_values(["n_search", "distinct_per_is", "t_search"], ascending=[True, False, True]).iloc[0]
