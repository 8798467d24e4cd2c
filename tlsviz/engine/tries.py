"""One search try in compiled code: NVE from the IS, quench, distances (docs/method.md §3)."""

from __future__ import annotations

import numpy as np
from numba import njit

from .geometry import _distance_by_copy
from .md import _nve_run
from .minimize import _minimize


@njit(cache=True, nogil=True, inline="always")
def _search_try(x_is, v0, masses, dt, n_steps, ftol, max_iter, max_step, method, precond, model):
    """Run ``n_steps`` velocity-Verlet steps from x_is with velocities v0, then minimise
    (``method`` as in :data:`tlsviz.engine.minimize.METHODS`; ``precond``: the L-BFGS
    preconditioner of :func:`tlsviz.engine.minimize._lbfgs`, or an empty (0, 0) array).

    Returns (x_min, energy, max|F|, n_evals, converged, d, d_mw) where d and d_mw are the
    plain and mass-weighted distances from x_is to the new minimum, each copy's translation
    removed (with one copy, the global translation).
    """
    x = x_is.copy()
    v = v0.copy()
    f = np.empty_like(x)
    _nve_run(x, v, f, masses, dt, n_steps, model)
    xq, e, g, ne, _, conv = _minimize(x, model, ftol, max_iter, max_step, method, precond)
    d = _distance_by_copy(x_is, xq, model.box, masses, False, model.group)
    d_mw = _distance_by_copy(x_is, xq, model.box, masses, True, model.group)
    return xq, e, g, ne + n_steps + 1, conv, d, d_mw


@njit(cache=True, nogil=True)
def _search_tries(x_is, v_all, masses, dt, n_steps, ftol, max_iter, max_step, method, precond, model):
    """:func:`_search_try` for each velocity set of v_all (B, N, 3), in one compiled call.

    Returns arrays: x_min (B, N, 3), energy, max|F|, n_evals, converged, d, d_mw (B,).
    """
    b, n = v_all.shape[0], v_all.shape[1]
    xs = np.empty((b, n, 3))
    es = np.empty(b)
    gs = np.empty(b)
    nes = np.empty(b, dtype=np.int64)
    convs = np.empty(b, dtype=np.bool_)
    ds = np.empty(b)
    dmws = np.empty(b)
    for t in range(b):
        xq, e, g, ne, conv, d, d_mw = _search_try(x_is, v_all[t], masses, dt, n_steps, ftol, max_iter,
                                                  max_step, method, precond, model)
        xs[t] = xq
        es[t] = e
        gs[t] = g
        nes[t] = ne
        convs[t] = conv
        ds[t] = d
        dmws[t] = d_mw
    return xs, es, gs, nes, convs, ds, dmws
