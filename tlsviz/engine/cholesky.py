"""Dense Cholesky factorisation and solves in compiled code, for the Hessian preconditioner.

Written out (no LAPACK call) so that a factor is the same bits on every machine and whatever
the BLAS thread count: every element is updated by the earlier columns one at a time, in
column order, as in the textbook outer-product algorithm. Eight columns are applied per pass
over the trailing matrix (the same operations in the same order as one at a time, with eight
times less memory traffic), the triangular solves apply four
columns per pass, and the inner loops use unsigned indices so that LLVM vectorises them (a
signed index keeps numba's negative-index wrap-around, which blocks vectorisation).
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Columns of U applied per pass over the trailing rows of the factorisation.
BLOCK = 8


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
        b = min(BLOCK, m - j0)
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
        if b == 8:
            r0, r1, r2, r3 = u[j0], u[j0 + 1], u[j0 + 2], u[j0 + 3]
            r4, r5, r6, r7 = u[j0 + 4], u[j0 + 5], u[j0 + 6], u[j0 + 7]
            for i in range(j0 + 8, m):
                ui = u[i]
                c0, c1, c2, c3 = r0[i], r1[i], r2[i], r3[i]
                c4, c5, c6, c7 = r4[i], r5[i], r6[i], r7[i]
                for kk in range(i, m):
                    k = np.uint64(kk)
                    ui[k] = (((((((ui[k] - c0 * r0[k]) - c1 * r1[k]) - c2 * r2[k]) - c3 * r3[k])
                                - c4 * r4[k]) - c5 * r5[k]) - c6 * r6[k]) - c7 * r7[k]
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
    """out = (Uᵀ U)⁻¹ v from the factors of :func:`_cholesky` (v is not modified).

    Two triangular solves in the column (axpy) order: Uᵀ y = v over the rows of U from the
    first, then U x = y over the rows of Uᵀ (lo) from the last. Each element receives its
    updates in the same order as one column at a time; four columns share a pass over the
    rest of the vector."""
    m = v.shape[0]
    for i in range(m):
        out[i] = v[i]
    j = 0
    while j + 4 <= m:  # Uᵀ y = v: y_j, then out[k] −= y_j U[j, k] for k > j
        u0, u1, u2, u3 = u[j], u[j + 1], u[j + 2], u[j + 3]
        y0 = out[j] / u0[j]
        out[j + 1] -= y0 * u0[j + 1]
        out[j + 2] -= y0 * u0[j + 2]
        out[j + 3] -= y0 * u0[j + 3]
        y1 = out[j + 1] / u1[j + 1]
        out[j + 2] -= y1 * u1[j + 2]
        out[j + 3] -= y1 * u1[j + 3]
        y2 = out[j + 2] / u2[j + 2]
        out[j + 3] -= y2 * u2[j + 3]
        y3 = out[j + 3] / u3[j + 3]
        out[j], out[j + 1], out[j + 2], out[j + 3] = y0, y1, y2, y3
        for kk in range(j + 4, m):
            k = np.uint64(kk)
            out[k] = (((out[k] - y0 * u0[k]) - y1 * u1[k]) - y2 * u2[k]) - y3 * u3[k]
        j += 4
    for j in range(j, m):
        uj = u[j]
        yj = out[j] / uj[j]
        out[j] = yj
        for kk in range(j + 1, m):
            k = np.uint64(kk)
            out[k] -= yj * uj[k]
    j = m - 1  # U x = y: x_j, then out[k] −= x_j U[k, j] for k < j, from the last j
    for _ in range(m % 4):
        lj = lo[j]
        xj = out[j] / lj[j]
        out[j] = xj
        for kk in range(j):
            k = np.uint64(kk)
            out[k] -= xj * lj[k]
        j -= 1
    while j >= 3:
        l0, l1, l2, l3 = lo[j], lo[j - 1], lo[j - 2], lo[j - 3]
        x0 = out[j] / l0[j]
        out[j - 1] -= x0 * l0[j - 1]
        out[j - 2] -= x0 * l0[j - 2]
        out[j - 3] -= x0 * l0[j - 3]
        x1 = out[j - 1] / l1[j - 1]
        out[j - 2] -= x1 * l1[j - 2]
        out[j - 3] -= x1 * l1[j - 3]
        x2 = out[j - 2] / l2[j - 2]
        out[j - 3] -= x2 * l2[j - 3]
        x3 = out[j - 3] / l3[j - 3]
        out[j], out[j - 1], out[j - 2], out[j - 3] = x0, x1, x2, x3
        for kk in range(j - 3):
            k = np.uint64(kk)
            out[k] = (((out[k] - x0 * l0[k]) - x1 * l1[k]) - x2 * l2[k]) - x3 * l3[k]
        j -= 4
