"""BLAS/LAPACK on one thread, for the engine's dense and sparse eigen-solvers and the search: the
same bits wherever they run, and no contention on a shared machine (ARPACK's level-2 BLAS ran
several times slower on two threads of a loaded 2-vCPU machine, docs/engine.md)."""

from __future__ import annotations

from threadpoolctl import ThreadpoolController

_BLAS = None


def _one_blas_thread():
    """Context: BLAS/LAPACK on one thread (multi-threaded LAPACK rounds eigenvectors
    differently, and a search must not depend on where it runs). One threadpoolctl controller
    for the process: building one scans the loaded libraries (~5 ms). It is built at the first
    use, after numpy's and scipy's BLAS are loaded."""
    global _BLAS
    if _BLAS is None:
        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")

