"""The tries of a search: Maxwell velocities from each try's own random stream, then the compiled
NVE run and quench from the inherent structure, in batches."""

from __future__ import annotations

import numpy as np

from ..engine import minimize
from ..engine.streams import pcg64_streams
from ..engine.tries import TryBatch, TryResult, _search_tries
from .params import SearchParams
from .preconditioner import hessian_preconditioner

#: Tries per compiled call in a search (cancelling waits at most for one batch).
TRY_BATCH = 10


def try_velocities(system, ks, *, seed, is_id=0, params: SearchParams = SearchParams()) -> np.ndarray:
    """The starting velocities (len(ks), N, 3) of tries ``ks``: Maxwell at ``t_search`` from each
    try's own stream SeedSequence([seed, is_id, k]), zero total momentum per copy."""
    g = np.empty((len(ks), system.n_particles, 3))
    for b, rng in enumerate(pcg64_streams(seed, is_id, ks)):
        rng.standard_normal(out=g[b])
    return system._zero_momentum(g * np.sqrt(params.t_search / system.masses)[None, :, None])


def run_tries(system, x_is, ks, *, seed, is_id=0, params: SearchParams = SearchParams(),
              precond=None) -> TryBatch:
    """Tries ``ks`` of a search in one compiled call.

    Parameters
    ----------
    system : KobAndersen
    x_is : (N, 3) ndarray
        The inherent structure.
    ks : sequence of int
        The tries' numbers (each draws its velocities from its own stream, :func:`try_velocities`).
    seed, is_id : int
        The search's seed and the IS's number.
    params : SearchParams
    precond : (3N, 3N) ndarray, optional
        :func:`tlsviz.search.hessian_preconditioner` of x_is, computed here when None: pass it when
        running many tries from the same IS.

    Returns
    -------
    TryBatch
        One entry per try of ``ks`` (``batch.result(b)``: try ks[b] as a :class:`TryResult`).
    """
    if precond is None:
        precond = hessian_preconditioner(system, x_is, params)
    v = try_velocities(system, ks, seed=seed, is_id=is_id, params=params)
    return _search_tries(x_is, v, system.masses, params.dt, int(params.n_search), params.ftol,
                         minimize.MAX_ITER, minimize.MAX_STEP, minimize.METHODS[params.minimizer],
                         precond, system.model)


def run_try(system, x_is, k, *, seed, is_id=0, params: SearchParams = SearchParams(), precond=None) -> TryResult:
    """Try k of a search (:func:`run_tries` with one try) as a :class:`TryResult` of Python scalars."""
    return run_tries(system, x_is, [k], seed=seed, is_id=is_id, params=params, precond=precond).result(0)
