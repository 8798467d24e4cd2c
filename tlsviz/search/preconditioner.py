"""The preconditioner of the tries' quenches: the inverse Hessian of the inherent structure."""

from __future__ import annotations

import numpy as np

from ..engine import minimize
from ..engine._blas import _one_blas_thread
from .params import SearchParams

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
