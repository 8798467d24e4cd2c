"""The saddle between two known minima: the ridge method, a Newton/P-RFO polish, and descent paths.

Ridge method (Ionova & Carter, J. Chem. Phys. 98, 6377 (1993)), in the
non-local form used for this glass by Doliwa & Heuer (Phys. Rev. E 67,
031506 (2003)). The idea: the border between the basins of minimum 1 and
minimum 2 is a ridge; the saddle is the lowest point of that ridge. A pair of
points p, q a small distance ``sep`` apart straddles the ridge (p on the side
of minimum 1, q on the side of minimum 2), and the highest point m of the
segment p–q lies on the ridge. Then repeat:

1. **downhill step**: p and q each take a steepest-descent step along their
   own force, p ← p + h F(p), q ← q + h F(q). Along the ridge both go down; the
   difference of the two steps turns q − p towards the direction of negative
   curvature, so the pair aligns itself with the unstable mode as it goes;
2. **side step**: find the energy maximum m' on the new segment p–q (a
   bracketed secant search on the directional derivative). If the segment
   no longer has an interior maximum, one point has crossed the ridge;
3. **step-size control**: the step is accepted only if the pair still
   straddles the ridge and E(m') ≤ E(m); otherwise h is halved and the step
   retried. After an accepted step h grows by 1.5 (at most ``max_step`` per
   particle), and p, q are re-centred at m' ± sep/2 along the new segment.

When the largest force at m has fallen below ``switch_force``, m is polished
to the saddle by Newton steps in the eigenbasis of the Hessian in the
partitioned rational-function (P-RFO) form of Baker (J. Comput. Chem. 7, 385
(1986)): maximise along the lowest mode, minimise along the others, with a
trust radius, translations projected out; close to the saddle the eigenbasis
of the last Hessian is kept (chord steps) while it still converges fast.
Convergence: max_i |F_i| < ftol.

The start is the highest point of the straight line from minimum 1 to
minimum 2 (minimum-image aligned by the caller): that point lies on the
border of the two basins wherever the line crosses it only once.

Nothing here trusts itself: the caller certifies the result with the Hessian
and the two descent paths of :func:`descent_path`.

Python and compiled. Every function here works on any surface of
:mod:`tlsviz.engine.surfaces` through its methods, in Python: the 2-D test surfaces
(:class:`~tlsviz.engine.surfaces.MullerBrown`, :class:`~tlsviz.engine.surfaces.CurvedValley`)
and any surface a user writes are plain numpy objects that compiled code cannot call. The
glass's two hot loops run compiled instead, :func:`_ridge_walk` as
:func:`tlsviz.engine.ridge._ridge_walk` and the mass-weighted :func:`descent_path` as
:func:`tlsviz.engine.descent._descent`: those kernels read the glass's numba
:class:`~tlsviz.engine.potential.Model` directly, and a surface that has them
(``ridge_walk``, ``descent``: :class:`~tlsviz.engine.surfaces.SystemSurface`) gets them.
So each loop has one Python form for the general surface and one compiled form for the glass,
not a copy of the other: the step-size control and the regula falsi update are shared
(:func:`tlsviz.engine.ridge._step_control`, :func:`tlsviz.engine.ridge._illinois`), the
glass's search also runs the Python code (the start on the line x1 → x2, :func:`_segment_max`,
the polish), and tests check that both forms walk the same ridge and the same path
(tests/test_saddle.py, tests/test_search.py). Making the 2-D surfaces numba models instead
would change their arithmetic (numba's exp and summation order are not numpy's).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import eigh
from scipy.optimize import brentq

from .modes import orthonormal_complement
from .sparse_saddle import mass_weighted_unstable_mode_sparse, polish_saddle_sparse
from .ridge import (RIDGE_MAX_ITER, RIDGE_POLISH_DUE, RIDGE_UNDERFLOW, PolishResult, RidgeState, SegmentMax,
                    _illinois, _step_control)


@dataclass
class SaddleResult:
    """A saddle search (:func:`ridge_saddle`, :func:`line_max_polish`,
    :func:`tlsviz.engine.neb.neb_saddle`).

    Attributes
    ----------
    positions : (n,) ndarray
        The saddle (flat, like the surface's coordinates), or the last point when not converged.
    energy : float
        Its energy.
    grad_norm : float
        The largest per-particle force there.
    converged : bool
        grad_norm < ftol. Not certified: the search's verification (:mod:`tlsviz.search.verify`)
        checks the Hessian and the descent paths.
    n_evals : int
        Energy and force evaluations.
    n_hessians : int
        Hessian evaluations.
    n_iter : int
        Ridge steps (NEB: band iterations).
    method : str
        "ridge", "line-max+polish" or "neb".
    message : str
        Why it stopped.
    mode : (n,) ndarray or None
        Unit vector of the direction of negative curvature found; when a ridge search fails, the
        direction of its straddling pair at the last ridge point (``positions``), across the
        border it was walking (:func:`ridge_point_basins` descends from there on both sides).
    """

    positions: np.ndarray
    energy: float
    grad_norm: float
    converged: bool
    n_evals: int = 0
    n_hessians: int = 0
    n_iter: int = 0
    method: str = "ridge"
    message: str = ""
    mode: np.ndarray | None = field(default=None, repr=False)


def _grad_norm(surface, f):
    """The largest per-particle force max_i |F_i| of flat forces f on ``surface``."""
    return surface.max_displacement(f)


def _segment_max(surface, a, ea, fa, b, eb, fb, rel_tol=1e-4, max_evals=40):
    """Highest point of the segment a–b by regula falsi (Illinois) on the directional derivative.

    Parameters
    ----------
    surface : surface
        A surface of :mod:`tlsviz.engine.surfaces`.
    a, b : (n,) ndarray
        The segment's ends (flat).
    ea, fa, eb, fb : float, (n,) ndarray
        Energies and forces at a and b (the energies are not used: the search needs the
        directional derivatives −F·(b − a) only).
    rel_tol : float
        Stop when |−F·(b − a)| falls below this fraction of the larger end derivative.
    max_evals : int
        Evaluations at most.

    Returns
    -------
    SegmentMax
        The maximum, its energy and forces, the evaluations made, and ``ok``: False when the
        directional derivative does not fall from positive at a to negative at b (no interior
        maximum: the pair no longer straddles the border; the point's fields are then None).
    """
    ab = b - a
    d0 = -float(fa @ ab)
    d1 = -float(fb @ ab)
    if not (d0 > 0.0 > d1):
        return SegmentMax(None, None, None, 0, False)
    lo, dlo, hi, dhi = 0.0, d0, 1.0, d1
    tol = rel_tol * max(d0, -d1)
    side = 0
    for k in range(max_evals):
        t = lo - dlo * (hi - lo) / (dhi - dlo)  # regula falsi (Illinois)
        x = a + t * ab
        e, f = surface.energy_forces(x)
        d = -float(f @ ab)
        if abs(d) <= tol or hi - lo < 1e-12:
            return SegmentMax(x, e, f, k + 1, True)
        lo, dlo, hi, dhi, side = _illinois(t, d, lo, dlo, hi, dhi, side)
    return SegmentMax(x, e, f, max_evals, True)  # the last point


def polish_saddle(surface, x, ftol=1e-10, max_iter=60, trust=0.05, basis=None, reuse_below=1e-2):
    """Newton / P-RFO steps from x to a first-order saddle (Baker, J. Comput. Chem. 7, 385 (1986)).

    Each step is taken in the eigenbasis of the Hessian restricted to ``basis``: maximise
    along the lowest mode, minimise along the others, each step at most ``trust`` per
    particle. Once max|F| < ``reuse_below`` the eigenbasis of the last Hessian is kept (a chord
    iteration) for as long as each step cuts max|F| at least 10×. Why: near the saddle the
    chord steps still cut the force by orders of magnitude, and a Hessian with its
    eigendecomposition costs as much as hundreds of force evaluations.

    A surface whose ``use_sparse`` is True (the glass from
    :data:`tlsviz.engine.modes.SPARSE_MIN_N` particles on) is polished on the sparse Hessian
    instead, to the same saddle (:func:`tlsviz.engine.sparse_saddle.polish_saddle_sparse`;
    ``basis`` is then not used).

    Parameters
    ----------
    surface : surface
        A surface of :mod:`tlsviz.engine.surfaces`.
    x : (n,) array_like
        Start, close to the saddle (flat).
    ftol : float
        Converged when the largest per-particle force is below this.
    max_iter : int
        Steps at most.
    trust : float
        Largest step of one particle.
    basis : (n, n − k) ndarray, optional
        Orthonormal complement of the surface's null space (computed when not given).
    reuse_below : float
        Force below which the last eigenbasis may be reused.

    Returns
    -------
    tlsviz.engine.ridge.PolishResult
        The last point, its energy and forces, whether max|F| < ftol, the force and Hessian
        evaluations, and the lowest eigenvector (n,) of the last Hessian.
    """
    if getattr(surface, "use_sparse", False):  # large systems: no dense Hessian (module sparse_saddle)
        return polish_saddle_sparse(surface, x, ftol, max_iter, trust, reuse_below)
    x = np.array(x, dtype=float)
    basis = orthonormal_complement(surface.null_space) if basis is None else basis
    n_evals = n_hess = 0
    mode = None
    w = v = None
    g_prev = np.inf
    e, f = surface.energy_forces(x)
    n_evals += 1
    for _ in range(max_iter):
        g_now = _grad_norm(surface, f)
        if g_now < ftol:
            return PolishResult(x, e, f, True, n_evals, n_hess, mode)
        if w is None or g_now >= reuse_below or g_now > 0.1 * g_prev:
            h = surface.hessian(x)
            n_hess += 1
            w, v = np.linalg.eigh(basis.T @ h @ basis)
            mode = basis @ v[:, 0]
        g_prev = g_now
        g = v.T @ (basis.T @ (-f))
        step = np.empty_like(g)
        # maximise along the lowest mode
        lam_p = 0.5 * w[0] + 0.5 * np.sqrt(w[0] ** 2 + 4 * g[0] ** 2)
        step[0] = -g[0] / (w[0] - lam_p) if w[0] != lam_p else 0.0
        # minimise along the others: lowest eigenvalue of the augmented Hessian (secular equation)
        wo, go = w[1:], g[1:]
        lam_n = _rfo_shift(wo, go)
        step[1:] = -go / (wo - lam_n)
        dx = basis @ (v @ step)
        size = surface.max_displacement(dx)
        if size > trust:
            dx *= trust / size
        x = x + dx
        e, f = surface.energy_forces(x)
        n_evals += 1
    return PolishResult(x, e, f, _grad_norm(surface, f) < ftol, n_evals, n_hess, mode)


def _rfo_shift(w, g):
    """The λ < min(w) solving λ = Σ g_i² / (λ − w_i) (0 when all g vanish)."""
    if len(w) == 0:
        return 0.0
    g2 = g * g
    if np.all(g2 == 0):
        return min(0.0, w[0] - 1.0) if w[0] <= 0 else 0.0
    hi = min(0.0, w[0]) - 1e-14 * (1.0 + abs(w[0]))
    lo = hi - 1.0
    sec = lambda lam: lam - np.sum(g2 / (lam - w))
    while sec(lo) > 0:
        lo = hi - 2.0 * (hi - lo)
    # sec is increasing below w[0]: sec(lo) < 0 < sec(hi) (sec → +inf as λ → w[0]⁻)
    if sec(hi) < 0:
        return hi
    return brentq(sec, lo, hi, xtol=1e-15 * (1.0 + abs(lo)), rtol=4 * np.finfo(float).eps)


def _line_maximum(surface, x1, x2, n_scan):
    """The highest point of the straight line x1 → x2: (x, energy, forces).

    The line is scanned at ``n_scan`` equally spaced points; the maximum is then located between
    the two scan points that bracket the highest one (:func:`_segment_max`), or is that scan
    point when the segment maximisation fails. The start of :func:`ridge_saddle` and
    :func:`line_max_polish`.
    """
    ts = np.linspace(0.0, 1.0, n_scan)
    pts = [x1 + t * (x2 - x1) for t in ts]
    ef = [surface.energy_forces(p) for p in pts]
    es = np.array([e for e, _ in ef])
    k = int(np.argmax(es[1:-1])) + 1
    top = _segment_max(surface, pts[k - 1], *ef[k - 1], pts[k + 1], *ef[k + 1])
    if not top.ok:
        return pts[k], ef[k][0], ef[k][1]
    return top.x, top.energy, top.forces


def _ridge_walk(surface, state, next_polish, f_ref, sep, max_step, max_iter):
    """Ridge steps (1–3 of the module's description) from ``state`` to the next stop.

    A surface with a ``ridge_walk`` method (the glass) runs the same loop compiled.

    Parameters
    ----------
    surface : surface
        A surface of :mod:`tlsviz.engine.surfaces`.
    state : RidgeState
        Where the walk starts (:class:`tlsviz.engine.ridge.RidgeState`; ``h`` = 0.0 before the
        first step).
    next_polish : float
        Stop when the ridge point's max|F| falls below this (the polish is due).
    f_ref : float
        The max|F| of the first ridge point: the pair's separation shrinks in proportion below it.
    sep, max_step, max_iter
        As in :func:`ridge_saddle`.

    Returns
    -------
    RidgeState
        Where the walk stopped, ``status`` saying why: :data:`~tlsviz.engine.ridge.RIDGE_POLISH_DUE`
        (max|F(m)| < next_polish, or 20 steps in a row that did not lower the energy),
        :data:`~tlsviz.engine.ridge.RIDGE_UNDERFLOW` (the step size underflowed: the pair no longer
        straddles the border) or :data:`~tlsviz.engine.ridge.RIDGE_MAX_ITER` (``it`` reached max_iter).
    """
    if hasattr(surface, "ridge_walk"):
        return surface.ridge_walk(state, next_polish, f_ref, sep, max_step, max_iter)
    m, e_m, f_m, u, h = state.m, state.energy, state.forces, state.u, state.h
    it, stalled, n_evals = state.it, state.stalled, state.n_evals
    while it < max_iter:
        g_m = _grad_norm(surface, f_m)
        if g_m < next_polish or stalled >= 20:
            return RidgeState(m, e_m, f_m, u, h, it, stalled, RIDGE_POLISH_DUE, n_evals)
        # the pair shrinks as the ridge point nears the saddle (a finite pair sees the ridge
        # displaced by O(sep²) curvature terms)
        sep_k = sep * min(1.0, max(1e-3, g_m / f_ref))
        p = m - 0.5 * sep_k * u
        q = m + 0.5 * sep_k * u
        ep, fp = surface.energy_forces(p)
        eq, fq = surface.energy_forces(q)
        n_evals += 2
        fmax = max(surface.max_displacement(fp), surface.max_displacement(fq), 1e-300)
        if h == 0.0:
            h = max_step / fmax
        accepted = False
        while not accepted:
            h = min(h, max_step / fmax)
            p2, q2 = p + h * fp, q + h * fq
            ep2, fp2 = surface.energy_forces(p2)
            eq2, fq2 = surface.energy_forces(q2)
            top = _segment_max(surface, p2, ep2, fp2, q2, eq2, fq2)
            n_evals += 2 + top.n_evals
            e2 = float(top.energy) if top.ok else np.nan  # no maximum found: no energy
            accepted, stalled, h, underflow = _step_control(top.ok, e2, float(e_m), stalled, h, fmax)
            if accepted:
                m, e_m, f_m = top.x, e2, top.forces
                u = (q2 - p2) / np.linalg.norm(q2 - p2)
            elif underflow:
                break
        if not accepted:
            return RidgeState(m, e_m, f_m, u, h, it, stalled, RIDGE_UNDERFLOW, n_evals)
        it += 1
    return RidgeState(m, e_m, f_m, u, h, it, stalled, RIDGE_MAX_ITER, n_evals)


def ridge_saddle(surface, x1, x2, *, sep=0.05, max_step=0.05, switch_force=0.3,
                 ftol=1e-10, max_iter=5000, n_scan=33, trust=0.05) -> SaddleResult:
    """The saddle between minima x1 and x2 by the ridge method (module docstring; docs/method.md §4).

    Parameters
    ----------
    surface : surface
        A surface of :mod:`tlsviz.engine.surfaces` (the glass walks in compiled code).
    x1, x2 : (n,) array_like
        The two minima, flat; x2 minimum-image aligned to x1 by the caller.
    sep : float
        Separation of the straddling pair.
    max_step : float
        Largest downhill step of one particle.
    switch_force : float
        Largest force at the ridge point below which the P-RFO polish is tried.
    ftol : float
        Converged when the saddle's largest per-particle force is below this.
    max_iter : int
        Ridge steps at most.
    n_scan : int
        Points of the straight line x1 → x2 scanned for the start.
    trust : float
        Trust radius of the polish (:func:`polish_saddle`).

    Returns
    -------
    SaddleResult
        ``method="ridge"``; ``converged`` is False, with the reason in ``message``, when no
        saddle was reached. Not certified: the caller checks the Hessian and the descent paths.
    """
    x1 = np.asarray(x1, dtype=float).ravel()
    x2 = np.asarray(x2, dtype=float).ravel()
    n_start = surface.n_evals
    m, e_m, f_m = _line_maximum(surface, x1, x2, n_scan)
    u = (x2 - x1) / np.linalg.norm(x2 - x1)
    basis = None if getattr(surface, "use_sparse", False) else orthonormal_complement(surface.null_space)
    n_hess = 0
    f_ref = max(_grad_norm(surface, f_m), 1e-300)
    state = RidgeState(m, e_m, f_m, u, 0.0, 0, 0, 0, 0)
    next_polish = switch_force
    message = "ridge did not reach the saddle within max_iter steps"
    while True:
        state = _ridge_walk(surface, state, next_polish, f_ref, sep, max_step, max_iter)
        if state.status == RIDGE_UNDERFLOW:
            message = "ridge step size underflow (the pair no longer straddles the border)"
            break
        if state.status == RIDGE_MAX_ITER:
            break
        g_m = _grad_norm(surface, state.forces)
        xs, es, fs, conv, ne, nh, mode = polish_saddle(surface, state.m, ftol=ftol, trust=trust, basis=basis)
        n_hess += nh
        if conv and surface.max_displacement(xs - state.m) < 0.5:
            return SaddleResult(xs, float(es), _grad_norm(surface, fs), True,
                                surface.n_evals - n_start, n_hess, state.it, "ridge", "converged", mode)
        if state.stalled >= 20:
            message = "the ridge stalled and the Newton polish did not converge from there"
            break
        next_polish = 0.01 * g_m  # walk further down the ridge before polishing again
    return SaddleResult(state.m, float(state.energy), _grad_norm(surface, state.forces), False,
                        surface.n_evals - n_start, n_hess, state.it, "ridge", message,
                        np.array(state.u, dtype=float))


def ridge_point_basins(surface, m, u, *, f_stop=1e-3, ds=0.01):
    """Where the two sides of a ridge point drain, by steepest-descent paths (:func:`descent_path`).

    The pair of a ridge walk straddled a basin border at its last point m, so the descents from m
    along −u and +u end in the two basins that share it. When the walk was started between minima
    1 and 2 but one side drains elsewhere, the border it walked is that of a third minimum: the
    pair is not joined directly (the caller quenches the ends, ``f_stop`` being loose, and
    compares them with the two minima).

    Parameters
    ----------
    surface : surface
        A surface of :mod:`tlsviz.engine.surfaces`.
    m : (n,) array_like
        The last point of a ridge walk (``SaddleResult.positions`` of a failed :func:`ridge_saddle`).
    u : (n,) array_like
        Its pair's direction (``SaddleResult.mode``).
    f_stop : float
        The paths stop once max|F| < f_stop.
    ds : float
        Largest arc-length step.

    Returns
    -------
    list of (ndarray, float)
        ``[(x_end, e_end)]`` of the path along −u, then of the one along +u.
    """
    m = np.asarray(m, dtype=float).ravel()
    u = np.asarray(u, dtype=float).ravel()
    out = []
    for sign in (-1.0, 1.0):
        pts, es = descent_path(surface, m, sign * u, ds=ds, f_stop=f_stop)
        out.append((pts[-1], float(es[-1])))
    return out


def line_max_polish(surface, x1, x2, *, ftol=1e-10, n_scan=33, trust=0.05, max_iter=60) -> SaddleResult:
    """The saddle search without the ridge walk: the P-RFO polish of :func:`polish_saddle` started
    at the highest point of the straight line x1 → x2 (found as :func:`ridge_saddle` finds its
    start). Not used by the search: it is the baseline that shows what the ridge walk adds
    (docs/search.md, "Is the ridge method doing the work?"). On the glass pairs it gives the same
    saddle; on a strongly curved valley (:class:`tlsviz.engine.surfaces.CurvedValley`) the line
    maximum lies far from the saddle and the trust-limited Newton steps do not get there.
    """
    x1 = np.asarray(x1, dtype=float).ravel()
    x2 = np.asarray(x2, dtype=float).ravel()
    n_start = surface.n_evals
    m, _, _ = _line_maximum(surface, x1, x2, n_scan)
    basis = None if getattr(surface, "use_sparse", False) else orthonormal_complement(surface.null_space)
    xs, es, fs, conv, _, nh, mode = polish_saddle(surface, m, ftol=ftol, max_iter=max_iter, trust=trust, basis=basis)
    return SaddleResult(xs, float(es), _grad_norm(surface, fs), bool(conv), surface.n_evals - n_start, nh, 0,
                        "line-max+polish", "converged" if conv else "the polish did not converge", mode)


def mass_weighted_unstable_mode(surface, x) -> np.ndarray:
    """The unstable direction of a saddle for a descent path.

    Parameters
    ----------
    surface : surface
        A surface of :mod:`tlsviz.engine.surfaces`.
    x : (n,) array_like
        The saddle (flat).

    Returns
    -------
    (n,) ndarray
        M^-1/2 u, u the lowest eigenvector of the mass-weighted Hessian M^-1/2 H M^-1/2: the
        first direction (Cartesian) of the intrinsic reaction coordinate. On the sparse
        Hessian when the surface's ``use_sparse`` is True
        (:func:`tlsviz.engine.sparse_saddle.mass_weighted_unstable_mode_sparse`).
    """
    if getattr(surface, "use_sparse", False):
        return mass_weighted_unstable_mode_sparse(surface, x)
    sq = np.sqrt(surface.masses)
    h = surface.hessian(np.asarray(x, dtype=float).ravel())
    # the lowest eigenpair only (LAPACK dsyevx): a third of the cost of the whole spectrum
    _, u = eigh(h / np.outer(sq, sq), subset_by_index=[0, 0], driver="evx")
    return u[:, 0] / sq


def descent_path(surface, x_start, direction, *, ds=0.01, f_stop=1e-5, f_risen=0.0, max_steps=20000,
                 mass_weighted=True, ds_min=1e-6):
    """Steepest-descent path from x_start, first along ``direction`` (Cartesian), in
    mass-weighted coordinates.

    Integrates dy/ds = F_y / |F_y| (y = √m x, F_y = F / √m, the intrinsic reaction coordinate)
    with the midpoint rule and an adaptive arc-length step: at most ``ds``, halved whenever a
    step would raise the energy (stiff directions next to the path), grown again after good
    steps. Stops when the largest per-particle force falls below ``f_stop`` — counted only once
    it has been above ``f_risen``: the force vanishes at the saddle and the first steps zig-zag
    across stiff directions, so a path that a caller hands over to a quench at a moderate
    ``f_stop`` must first have come down the slope — or when the step falls below ``ds_min``.
    A surface with a ``descent`` method (the glass) runs the same loop compiled.

    Parameters
    ----------
    surface : surface
        A surface of :mod:`tlsviz.engine.surfaces`.
    x_start : (n,) array_like
        Start (flat), e.g. a saddle.
    direction : (n,) array_like
        First direction (Cartesian), e.g. ± the unstable mode.
    ds : float
        Largest arc-length step.
    f_stop, f_risen : float
        Stop once max|F| < f_stop, counted only after max|F| has exceeded f_risen.
    max_steps : int
        Steps at most.
    mass_weighted : bool
        Mass-weighted coordinates (the intrinsic reaction coordinate); False: Cartesian.
    ds_min : float
        Stop when the step falls below this.

    Returns
    -------
    points : (k, n) ndarray
        The path, starting with x_start.
    energies : (k,) ndarray
        Strictly decreasing.
    """
    if mass_weighted and hasattr(surface, "descent"):
        return surface.descent(x_start, direction, ds, f_stop, f_risen, max_steps, ds_min)
    sq = np.sqrt(surface.masses) if mass_weighted else np.ones_like(x_start)
    x = np.asarray(x_start, dtype=float).ravel().copy()
    e, f = surface.energy_forces(x)
    pts, es = [x.copy()], [e]
    d = np.asarray(direction, dtype=float).ravel() * sq
    d /= np.linalg.norm(d)
    # first step along the unstable direction (the force vanishes at the saddle)
    h = ds
    while h >= ds_min:
        x1 = x + h * d / sq
        e1, f1 = surface.energy_forces(x1)
        if e1 < e:
            x, e, f = x1, e1, f1
            pts.append(x.copy())
            es.append(e)
            break
        h *= 0.5
    risen = f_risen <= 0.0  # f_stop applies once max|F| has been above f_risen
    for _ in range(max_steps):
        fmax = _grad_norm(surface, f)
        risen = risen or fmax > f_risen
        if risen and fmax < f_stop or h < ds_min:
            break
        fy = f / sq
        x_mid = x + 0.5 * h * (fy / np.linalg.norm(fy)) / sq
        _, f_mid = surface.energy_forces(x_mid)
        fy_mid = f_mid / sq
        x_new = x + h * (fy_mid / np.linalg.norm(fy_mid)) / sq
        e_new, f_new = surface.energy_forces(x_new)
        if e_new >= e:
            h *= 0.5
            continue
        x, e, f = x_new, e_new, f_new
        pts.append(x.copy())
        es.append(e)
        h = min(ds, 1.5 * h)
    return np.array(pts), np.array(es)
