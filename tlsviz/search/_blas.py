"""The search's BLAS/LAPACK thread guard: one thread, so that a search gives the same bits wherever it runs."""

from __future__ import annotations

from threadpoolctl import ThreadpoolController

_BLAS = None


def _one_blas_thread():
    """Context: BLAS/LAPACK on one thread (multi-threaded LAPACK rounds eigenvectors
    differently, and a search must not depend on where it runs). One threadpoolctl controller
    for the process: building one scans the loaded libraries (~5 ms). It is built at the first
    use, after the search package's imports have loaded numpy's and scipy's BLAS."""
    global _BLAS
    if _BLAS is None:
        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")

