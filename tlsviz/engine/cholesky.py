"""Dense Cholesky factorisation and solves in compiled code, for the Hessian preconditioner.

Written out (no LAPACK call) so that a factor is the same bits on every machine and whatever
the BLAS thread count: every element is updated by the earlier columns one at a time, in
column order, as in the textbook outer-product algorithm. Four columns are applied per pass
over the trailing matrix (the same operations in the same order, four times less memory
traffic), and the inner loops use unsigned indices so that LLVM vectorises them (a signed
index keeps numba's negative-index wrap-around, which blocks vectorisation).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, error_model="numpy")
def _row_update(ui, rj, c, start, m):
    """ui[k] −= c · rj[k] for k in [start, m)."""
    for kk in range(start, m):
        k = np.uint64(kk)
        ui[k] -= c * rj[k]


@njit(cache=True, nogil=True, error_model="numpy")
def _cholesky(h, u, lo):
    """Upper Cholesky factor of the symmetric positive-definite h (its upper triangle is read):
    h = Uᵀ U. Writes U into the upper triangle of u and Uᵀ into the lower triangle of lo (the
    back substitution reads rows of Uᵀ). Returns False, leaving u and lo undefined, when h is
    not positive definite (a pivot ≤ 0)."""
    m = h.shape[0]
    for i in range(m):
        for j in range(i, m):
            u[i, j] = h[i, j]
    j0 = 0
    while j0 < m:
        b = min(4, m - j0)
        # factor the block's rows, updating the rows inside the block as we go
        for j in range(j0, j0 + b):
            uj = u[j]
            piv = uj[j]
            if not piv > 0.0:
                return False
            piv = np.sqrt(piv)
            uj[j] = piv
            inv = 1.0 / piv
            for kk in range(j + 1, m):
                k = np.uint64(kk)
                uj[k] *= inv
            for i in range(j + 1, j0 + b):
                _row_update(u[i], uj, uj[i], i, m)
        # the rows below the block: the block's b columns in order, one pass per row
        if b == 4:
            r0, r1, r2, r3 = u[j0], u[j0 + 1], u[j0 + 2], u[j0 + 3]
            for i in range(j0 + 4, m):
                ui = u[i]
                c0, c1, c2, c3 = r0[i], r1[i], r2[i], r3[i]
                for kk in range(i, m):
                    k = np.uint64(kk)
                    ui[k] = (((ui[k] - c0 * r0[k]) - c1 * r1[k]) - c2 * r2[k]) - c3 * r3[k]
        else:
            for j in range(j0, j0 + b):
                for i in range(j0 + b, m):
                    _row_update(u[i], u[j], u[j, i], i, m)
        j0 += b
    for i in range(m):
        for j in range(i + 1):
            lo[i, j] = u[j, i]
    return True


@njit(cache=True, nogil=True, error_model="numpy")
def _cholesky_solve(u, lo, v, out):
    """out = (Uᵀ U)⁻¹ v from the factors of :func:`_cholesky` (v is not modified)."""
    m = v.shape[0]
    for i in range(m):
        out[i] = v[i]
    for j in range(m):  # Uᵀ y = v, column by column (row j of U)
        uj = u[j]
        yj = out[j] / uj[j]
        out[j] = yj
        for kk in range(j + 1, m):
            k = np.uint64(kk)
            out[k] -= yj * uj[k]
    for j in range(m - 1, -1, -1):  # U x = y, column by column (row j of Uᵀ)
        lj = lo[j]
        xj = out[j] / lj[j]
        out[j] = xj
        for kk in range(j):
            k = np.uint64(kk)
            out[k] -= xj * lj[k]
