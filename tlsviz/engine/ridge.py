"""The ridge method's steps in compiled code, for the glass.

The same walk as :func:`tlsviz.engine.saddle._ridge_walk` (downhill steps of the pair, the
side step to the maximum of its segment, step-size control), which calls it for
:class:`tlsviz.engine.surfaces.SystemSurface` (docs/method.md §4); its state is a
:class:`RidgeState`. Why compiled: a ridge search makes thousands of force evaluations of
microseconds each, and in Python the overhead around each one costs more than the evaluation.
Why the Python walk stays as well: it serves the surfaces compiled code cannot call (the 2-D
test surfaces; :mod:`tlsviz.engine.saddle`'s docstring). The step-size control and the regula
falsi update are written once, here, for both.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from .minimize import _dot, _max_force
from .potential import _energy_forces_into

#: Why a ridge walk stopped (:attr:`RidgeState.status`): the polish is due (the ridge point's
#: max|F| fell below ``next_polish``, or 20 steps in a row did not lower the energy) ...
RIDGE_POLISH_DUE = 1
#: ... the step size underflowed (the pair no longer straddles the border) ...
RIDGE_UNDERFLOW = 2
#: ... or the walk took ``max_iter`` steps.
RIDGE_MAX_ITER = 3


class RidgeState(NamedTuple):
    """The state of a ridge walk (docs/method.md §4), handed from one walk to the next.

    Attributes
    ----------
    m : (n,) ndarray
        The ridge point, the highest point of the straddling pair's segment (flat).
    energy : float
        E(m).
    forces : (n,) ndarray
        F(m).
    u : (n,) ndarray
        Unit direction of the straddling pair, from the side of minimum 1 to that of minimum 2.
    h : float
        The downhill step size; 0.0 until the first step sets it to ``max_step / max|F|``.
    it : int
        Ridge steps taken.
    stalled : int
        Accepted steps in a row that did not lower the energy (:func:`_step_control`).
    status : int
        Why the last walk stopped: :data:`RIDGE_POLISH_DUE`, :data:`RIDGE_UNDERFLOW`,
        :data:`RIDGE_MAX_ITER`; 0 before the first walk.
    n_evals : int
        Energy and force evaluations made by the walks so far.
    """

    m: np.ndarray
    energy: float
    forces: np.ndarray
    u: np.ndarray
    h: float
    it: int
    stalled: int
    status: int
    n_evals: int


class PolishResult(NamedTuple):
    """The end of a saddle polish (:func:`tlsviz.engine.saddle.polish_saddle`, dense, and
    :func:`tlsviz.engine.sparse_saddle.polish_saddle_sparse`).

    Attributes
    ----------
    x : (n,) ndarray
        The last point (flat).
    energy : float
        E(x).
    forces : (n,) ndarray
        F(x).
    converged : bool
        max|F| < ftol at x.
    n_evals : int
        Energy and force evaluations made.
    n_hess : int
        Hessians computed.
    mode : (n,) ndarray or None
        Lowest eigenvector of the last Hessian (None if none was computed).
    """

    x: np.ndarray
    energy: float
    forces: np.ndarray
    converged: bool
    n_evals: int
    n_hess: int
    mode: np.ndarray | None


class SegmentMax(NamedTuple):
    """The highest point of a segment (the compiled :func:`_segment_max` and the Python
    :func:`tlsviz.engine.saddle._segment_max`).

    Attributes
    ----------
    x : (n,) ndarray
        The maximum (flat).
    energy : float
        E(x).
    forces : (n,) ndarray
        F(x).
    n_evals : int
        Energy and force evaluations made.
    ok : bool
        False when the segment has no interior maximum (the directional derivative does not fall
        from positive to negative): then the other fields carry no point (the Python version
        sets them to None, the compiled one leaves unset arrays and 0.0).
    """

    x: np.ndarray
    energy: float
    forces: np.ndarray
    n_evals: int
    ok: bool


@njit(cache=True, nogil=True)
def _ef(x, f, model):
    """Energy at flat x, forces into flat f."""
    n = x.shape[0] // 3
    return _energy_forces_into(x.reshape((n, 3)), f.reshape((n, 3)), model)


@njit(cache=True, nogil=True)
def _illinois(t, d, lo, dlo, hi, dhi, side):
    """One bracket update of the regula falsi (Illinois) on the directional derivative d at t
    (> 0: the maximum lies beyond t): the new (lo, dlo, hi, dhi, side). Shared by the compiled
    and the Python segment maximisation."""
    if d > 0:
        lo, dlo = t, d
        if side == 1:
            dhi *= 0.5
        side = 1
    else:
        hi, dhi = t, d
        if side == -1:
            dlo *= 0.5
        side = -1
    return lo, dlo, hi, dhi, side


@njit(cache=True, nogil=True)
def _step_control(ok, e2, e_m, stalled, h, fmax):
    """Step-size control of a trial ridge step (step 3 of :mod:`tlsviz.engine.saddle`).

    The step of size h, whose segment maximum has energy e2 (``ok``: a maximum was found), is
    accepted when ok and e2 is not above the ridge point's energy e_m (to 1e-13 relative); then
    h grows by 1.5. Else h halves. Shared by the compiled and the Python ridge walk.

    Returns
    -------
    accepted : bool
    stalled : int
        After an accepted step, the accepted steps in a row that did not lower the energy
        (unchanged after a rejected one).
    h : float
        The next step size.
    underflow : bool
        h · fmax < 1e-12 after a rejection: the pair no longer straddles the border.
    """
    tol = 1e-13 * (abs(e_m) + 1.0)
    if ok and e2 <= e_m + tol:
        return True, stalled + 1 if e_m - e2 <= tol else 0, h * 1.5, False
    h *= 0.5
    return False, stalled, h, h * fmax < 1e-12


@njit(cache=True, nogil=True)
def _segment_max(a, fa, b, fb, model, rel_tol, max_evals):
    """:func:`tlsviz.engine.saddle._segment_max` for the glass ``model`` on flat (3N,) points
    (fa, fb: the forces at a and b): a :class:`SegmentMax`."""
    m = a.shape[0]
    ab = b - a
    d0 = -_dot(fa, ab)
    d1 = -_dot(fb, ab)
    x = np.empty(m)
    f = np.empty(m)
    if not (d0 > 0.0 > d1):
        return SegmentMax(x, 0.0, f, 0, False)
    lo, dlo, hi, dhi = 0.0, d0, 1.0, d1
    tol = rel_tol * max(d0, -d1)
    side = 0
    e = 0.0
    for k in range(max_evals):
        t = lo - dlo * (hi - lo) / (dhi - dlo)  # regula falsi (Illinois)
        for i in range(m):
            x[i] = a[i] + t * ab[i]
        e = _ef(x, f, model)
        d = -_dot(f, ab)
        if abs(d) <= tol or hi - lo < 1e-12:
            return SegmentMax(x, e, f, k + 1, True)
        lo, dlo, hi, dhi, side = _illinois(t, d, lo, dlo, hi, dhi, side)
    return SegmentMax(x, e, f, max_evals, True)


@njit(cache=True, nogil=True)
def _ridge_walk(state, next_polish, f_ref, sep, max_step, max_iter, model):
    """:func:`tlsviz.engine.saddle._ridge_walk` on flat (3N,) arrays, for the glass ``model``: the
    walk from ``state`` (a :class:`RidgeState`) to the next stop, as a new :class:`RidgeState`."""
    m, e_m, f_m, u, h = state.m, state.energy, state.forces, state.u, state.h
    it, stalled, n_evals = state.it, state.stalled, state.n_evals
    n = m.shape[0]
    p = np.empty(n)
    q = np.empty(n)
    fp = np.empty(n)
    fq = np.empty(n)
    p2 = np.empty(n)
    q2 = np.empty(n)
    fp2 = np.empty(n)
    fq2 = np.empty(n)
    while it < max_iter:
        g_m = _max_force(f_m)
        if g_m < next_polish or stalled >= 20:
            return RidgeState(m, e_m, f_m, u, h, it, stalled, RIDGE_POLISH_DUE, n_evals)
        sep_k = sep * min(1.0, max(1e-3, g_m / f_ref))
        for i in range(n):
            p[i] = m[i] - 0.5 * sep_k * u[i]
            q[i] = m[i] + 0.5 * sep_k * u[i]
        _ef(p, fp, model)
        _ef(q, fq, model)
        n_evals += 2
        fmax = max(_max_force(fp), _max_force(fq), 1e-300)
        if h == 0.0:
            h = max_step / fmax
        accepted = False
        while not accepted:
            h = min(h, max_step / fmax)
            for i in range(n):
                p2[i] = p[i] + h * fp[i]
                q2[i] = q[i] + h * fq[i]
            _ef(p2, fp2, model)
            _ef(q2, fq2, model)
            top = _segment_max(p2, fp2, q2, fq2, model, 1e-4, 40)
            n_evals += 2 + top.n_evals
            accepted, stalled, h, underflow = _step_control(top.ok, top.energy, e_m, stalled, h, fmax)
            if accepted:
                m, e_m, f_m = top.x, top.energy, top.forces
                d = q2 - p2
                u = d / np.sqrt(_dot(d, d))
            elif underflow:
                break
        if not accepted:
            return RidgeState(m, e_m, f_m, u, h, it, stalled, RIDGE_UNDERFLOW, n_evals)
        it += 1
    return RidgeState(m, e_m, f_m, u, h, it, stalled, RIDGE_MAX_ITER, n_evals)
