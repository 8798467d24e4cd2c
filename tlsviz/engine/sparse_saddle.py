"""The saddle polish and the unstable mode of large systems, on the sparse Hessian.

:func:`tlsviz.engine.saddle.polish_saddle` and
:func:`tlsviz.engine.saddle.mass_weighted_unstable_mode` diagonalise the dense Hessian: O(N²)
memory and O(N³) time, 4.6 GB and minutes at N = 8000. From
:data:`tlsviz.engine.modes.SPARSE_MIN_N` particles on (a surface whose ``use_sparse`` is True)
they call the functions here instead, which need the sparse Hessian
(:mod:`tlsviz.engine.sparse_hessian`), a few of its lowest modes (:func:`lowest_modes`) and
matrix–vector products: O(N) memory.

The P-RFO step (Baker, J. Comput. Chem. 7, 385 (1986)) of the dense polish, written without the
whole eigenbasis: with v₀ the lowest mode (eigenvalue w₀) and g the gradient with the
translations removed,

- along v₀ the step maximises, −g₀ / (w₀ − λ_p) with λ_p = w₀/2 + √(w₀²/4 + g₀²), as in the
  dense polish;
- in the complement C of v₀ and the translations it minimises: Δ = −(H − λ_n)⁻¹ g_C, solved by
  preconditioned conjugate gradients in C (3 × 3 block-Jacobi preconditioner). λ_n is the RFO
  shift of the secular equation over the second-lowest mode (w₁, g₁) only: it lies below w₁,
  the lowest eigenvalue of H in C, so H − λ_n is positive definite there and CG applies; the
  stiff modes' terms, left out, would move λ_n by O(g²/w), negligible near the saddle where
  λ_n → 0 and the step becomes Newton's.

Steps are cut to the trust radius, and near the saddle the last Hessian is kept (chord steps)
while each step cuts max|F| at least tenfold, as in the dense polish. Both converge to the same
saddle (max|F| < ftol; tests/test_modes.py).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as sla

from .modes import lowest_modes
from .ridge import PolishResult

#: Lowest modes computed at each Hessian of the sparse polish: v₀ and the second one for λ_n.
POLISH_MODES = 2


def _block_jacobi(h, null):
    """The projected inverse of h's 3 × 3 diagonal blocks, as a LinearOperator (a symmetric
    positive preconditioner for CG in the complement of ``null``'s columns)."""
    hb = sp.bsr_array(h, blocksize=(3, 3))
    n = hb.shape[0] // 3
    diag = np.zeros((n, 3, 3))
    for i in range(n):
        lo, hi = hb.indptr[i], hb.indptr[i + 1]
        k = lo + int(np.searchsorted(hb.indices[lo:hi], i))
        if k < hi and hb.indices[k] == i:
            diag[i] = hb.data[k]
    w, u = np.linalg.eigh(diag)
    w = np.abs(w)
    w[w < 1e-8 * max(1.0, float(w.max()))] = 1.0  # isolated particles: leave them as they are
    inv = np.einsum("nij,nj,nkj->nik", u, 1.0 / w, u)

    def apply(r):
        r = r - null @ (null.T @ r)
        y = np.einsum("nij,nj->ni", inv, r.reshape(n, 3)).reshape(-1)
        return y - null @ (null.T @ y)

    return sla.LinearOperator(hb.shape, matvec=apply, dtype=float)


def _complement_solve(h, shift, null, r, rtol):
    """y in the complement of ``null`` with (h − shift) y = r there (r in the complement):
    conjugate gradients on the projected operator, block-Jacobi preconditioned."""
    n = h.shape[0]

    def op(v):
        v = v - null @ (null.T @ v)
        y = h @ v - shift * v
        return y - null @ (null.T @ y)

    a = sla.LinearOperator((n, n), matvec=op, dtype=float)
    # not converged within maxiter: the step is still a descent direction there, and the trust
    # radius and the next step's residual take care of the rest
    y, _ = sla.cg(a, r, rtol=rtol, atol=0.0, maxiter=20 * n, M=_block_jacobi(h, null))
    return y - null @ (null.T @ y)


def polish_saddle_sparse(surface, x, ftol=1e-10, max_iter=60, trust=0.05, reuse_below=1e-2):
    """:func:`tlsviz.engine.saddle.polish_saddle` on the sparse Hessian (module docstring).

    ``surface`` needs ``sparse_hessian(x)`` (a scipy sparse (n, n) matrix) besides the usual
    ``energy_forces``, ``null_space`` and ``max_displacement``. Returns the same
    :class:`tlsviz.engine.ridge.PolishResult`.
    """
    from .saddle import _rfo_shift  # saddle imports this module

    x = np.array(x, dtype=float)
    ns = np.asarray(surface.null_space, dtype=float)
    n_evals = n_hess = 0
    mode = None
    h = w = v = None
    g_prev = np.inf
    e, f = surface.energy_forces(x)
    n_evals += 1
    for _ in range(max_iter):
        g_now = surface.max_displacement(f)
        if g_now < ftol:
            return PolishResult(x, e, f, True, n_evals, n_hess, mode)
        if w is None or g_now >= reuse_below or g_now > 0.1 * g_prev:
            h = surface.sparse_hessian(x)  # BSR of 3 × 3 blocks: lowest_modes' compiled filter steps
            n_hess += 1
            m = lowest_modes(h, ns, POLISH_MODES, vectors=True)
            w, v = m.eigenvalues, m.eigenvectors
            mode = v[:, 0].copy()
        g_prev = g_now
        g = -f
        g = g - ns @ (ns.T @ g)
        gv = v.T @ g
        # maximise along the lowest mode
        lam_p = 0.5 * w[0] + 0.5 * np.sqrt(w[0] ** 2 + 4 * gv[0] ** 2)
        step0 = -gv[0] / (w[0] - lam_p) if w[0] != lam_p else 0.0
        # minimise in the complement of v0 and the translations
        lam_n = _rfo_shift(w[1:], gv[1:])
        null = np.column_stack([ns, v[:, 0]])
        r = g - v[:, 0] * gv[0]
        dx = step0 * v[:, 0] - _complement_solve(h, lam_n, null, r, rtol=min(1e-3, max(g_now, 1e-12)))
        size = surface.max_displacement(dx)
        if size > trust:
            dx *= trust / size
        x = x + dx
        e, f = surface.energy_forces(x)
        n_evals += 1
    return PolishResult(x, e, f, surface.max_displacement(f) < ftol, n_evals, n_hess, mode)


def mass_weighted_unstable_mode_sparse(surface, x) -> np.ndarray:
    """:func:`tlsviz.engine.saddle.mass_weighted_unstable_mode` on the sparse Hessian: the lowest
    eigenvector u of M^-1/2 H M^-1/2 (its null space, the translations in mass-weighted
    coordinates, removed), returned as M^-1/2 u (n,)."""
    sq = np.sqrt(np.asarray(surface.masses, dtype=float))
    h = sp.csr_array(surface.sparse_hessian(np.asarray(x, dtype=float).ravel()))
    d = sp.diags_array(1.0 / sq)
    ns = np.asarray(surface.null_space, dtype=float) * sq[:, None]
    ns, _ = np.linalg.qr(ns)
    hw = d @ h @ d
    if hw.shape[0] % 3 == 0:
        hw = sp.bsr_array(hw, blocksize=(3, 3))  # lowest_modes' compiled filter steps
    u = lowest_modes(hw, ns, 1, vectors=True).eigenvectors[:, 0]
    return u / sq
