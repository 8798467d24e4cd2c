"""One search try in compiled code: NVE from the IS, quench, distances (docs/method.md §3)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from .geometry import _distance_by_copy
from .md import _nve_run
from .minimize import _minimize


class TryResult(NamedTuple):
    """One search try (:func:`_search_try`, :func:`tlsviz.search.run_try`).

    Attributes
    ----------
    positions : (N, 3) ndarray
        The minimum the try's quench reached (or its last point when it did not converge).
    energy : float
        Its energy [ε].
    grad_norm : float
        Its largest per-particle force max_i |F_i| [ε/σ].
    n_evals : int
        Force evaluations of the try: the MD steps plus one, and the quench's.
    converged : bool
        The quench reached max_i |F_i| < ftol.
    d, d_mw : float
        Plain and mass-weighted (masses in units of m_A) distances [σ] from the IS to
        ``positions``, each copy's translation removed (with one copy, the global translation).
    """

    positions: np.ndarray
    energy: float
    grad_norm: float
    n_evals: int
    converged: bool
    d: float
    d_mw: float


class TryBatch(NamedTuple):
    """Tries of a search run in one compiled call (:func:`_search_tries`,
    :func:`tlsviz.search.run_tries`): the fields of :class:`TryResult`, one entry per try.

    Attributes
    ----------
    positions : (B, N, 3) ndarray
    energy, grad_norm, d, d_mw : (B,) float64 ndarrays
    n_evals : (B,) int64 ndarray
    converged : (B,) bool ndarray
    """

    positions: np.ndarray
    energy: np.ndarray
    grad_norm: np.ndarray
    n_evals: np.ndarray
    converged: np.ndarray
    d: np.ndarray
    d_mw: np.ndarray

    def result(self, b: int) -> TryResult:
        """Try b of the batch as a :class:`TryResult` of Python scalars."""
        return TryResult(self.positions[b], float(self.energy[b]), float(self.grad_norm[b]),
                         int(self.n_evals[b]), bool(self.converged[b]), float(self.d[b]), float(self.d_mw[b]))


@njit(cache=True, nogil=True, inline="always")
def _search_try(x_is, v0, masses, dt, n_steps, ftol, max_iter, max_step, method, precond, model):
    """One search try: ``n_steps`` velocity-Verlet steps from x_is with velocities v0, then a quench.

    Parameters
    ----------
    x_is : (N, 3) ndarray
        The inherent structure.
    v0 : (N, 3) ndarray
        Starting velocities.
    masses : (N,) ndarray
    dt : float
        Time step [τ].
    n_steps : int
        MD steps.
    ftol, max_iter, max_step
        The quench's convergence, iteration limit and step cap (:func:`tlsviz.engine.minimize._minimize`).
    method : int
        The minimiser, as in :data:`tlsviz.engine.minimize.METHODS`.
    precond : (3N, 3N) or (0, 0) ndarray
        The L-BFGS preconditioner of :func:`tlsviz.engine.minimize._lbfgs`, or empty.
    model : Model
        The system's model (:class:`tlsviz.engine.potential.Model`, :attr:`tlsviz.KobAndersen.model`).

    Returns
    -------
    TryResult
    """
    x = x_is.copy()
    v = v0.copy()
    f = np.empty_like(x)
    _nve_run(x, v, f, masses, dt, n_steps, model)
    q = _minimize(x, model, ftol, max_iter, max_step, method, precond)
    d = _distance_by_copy(x_is, q.positions, model.box, masses, False, model.group)
    d_mw = _distance_by_copy(x_is, q.positions, model.box, masses, True, model.group)
    return TryResult(q.positions, q.energy, q.grad_norm, q.n_evals + n_steps + 1, q.converged, d, d_mw)


@njit(cache=True, nogil=True)
def _search_tries(x_is, v_all, masses, dt, n_steps, ftol, max_iter, max_step, method, precond, model):
    """:func:`_search_try` for each velocity set of v_all (B, N, 3), in one compiled call: a
    :class:`TryBatch` of B tries."""
    b, n = v_all.shape[0], v_all.shape[1]
    out = TryBatch(np.empty((b, n, 3)), np.empty(b), np.empty(b), np.empty(b, dtype=np.int64),
                   np.empty(b, dtype=np.bool_), np.empty(b), np.empty(b))
    for t in range(b):
        r = _search_try(x_is, v_all[t], masses, dt, n_steps, ftol, max_iter, max_step, method, precond, model)
        out.positions[t] = r.positions
        out.energy[t] = r.energy
        out.grad_norm[t] = r.grad_norm
        out.n_evals[t] = r.n_evals
        out.converged[t] = r.converged
        out.d[t] = r.d
        out.d_mw[t] = r.d_mw
    return out
