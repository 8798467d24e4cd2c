"""Hessian eigen-analysis with the global translations removed: certifies minima and saddles.

The three zero modes of a rigid translation (one per copy and axis in the
"2 × N" system) are projected out exactly: the Hessian is expressed in an
orthonormal basis of the complement of the translation vectors, and the
negative eigenvalues of what remains are counted. The sign pattern does not
depend on mass weighting (Sylvester's law of inertia), so the plain
Hessian is used; mass-weighted frequencies are available separately.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as sla
from ._blas import _one_blas_thread

#: Eigenvalues below −NEGATIVE_TOL (ε/σ²) count as negative.
NEGATIVE_TOL = 1e-6


@dataclass(frozen=True)
class ModeAnalysis:
    """Eigen-analysis of a Hessian with the translations removed (:func:`analyse_hessian`).

    Attributes
    ----------
    eigenvalues : (3N − 3·copies,) ndarray
        Ascending (ε/σ²), translations removed.
    eigenvectors : (3N, 3N − 3·copies) ndarray or None
        The matching unit vectors in Cartesian space (None when the analysis was asked for
        the eigenvalues only).
    translation_eigenvalues : (3·copies,) ndarray
        Rayleigh quotients of the translation vectors (≈ 0 for a translation-invariant
        potential).
    n_negative : int
        Eigenvalues below −tol (:data:`NEGATIVE_TOL` by default): 0 at a minimum, 1 at a
        first-order saddle (docs/method.md §4).
    complete : bool
        True when ``eigenvalues`` is the whole spectrum (translations removed); False when it
        holds the lowest k only (:func:`lowest_modes`); then ``n_negative`` counts the negative
        ones among them, which is the whole count when it is below k.
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray | None
    translation_eigenvalues: np.ndarray
    n_negative: int
    complete: bool = True

    @property
    def lowest(self) -> float:
        """The lowest eigenvalue (ε/σ²), translations removed."""
        return float(self.eigenvalues[0])

    @property
    def unstable_mode(self) -> np.ndarray:
        """The eigenvector (N, 3) of the lowest eigenvalue."""
        if self.eigenvectors is None:
            raise ValueError("this analysis has eigenvalues only: call modes(x, vectors=True)")
        return self.eigenvectors[:, 0].reshape(-1, 3)


def translation_basis(group: np.ndarray) -> np.ndarray:
    """The rigid translations as orthonormal vectors, one per copy and axis.

    Parameters
    ----------
    group : (N,) array_like of int
        The copy of each particle.

    Returns
    -------
    (3N, 3·copies) ndarray
        Column 3c + k translates copy c (the c-th distinct value of ``group``) along axis k.
    """
    group = np.asarray(group)
    n = len(group)
    copies = np.unique(group)
    t = np.zeros((3 * n, 3 * len(copies)))
    for c_idx, c in enumerate(copies):
        members = np.flatnonzero(group == c)
        for k in range(3):
            t[3 * members + k, 3 * c_idx + k] = 1.0 / np.sqrt(len(members))
    return t


def orthonormal_complement(null_space: np.ndarray) -> np.ndarray:
    """An orthonormal basis of the complement of the columns of ``null_space``.

    Parameters
    ----------
    null_space : (n, k) array_like
        Orthonormal columns (k may be 0).

    Returns
    -------
    (n, n − k) ndarray
        The last columns of a full QR of null_space; read-only, cached by value. Why cached:
        a search asks for the same one at every saddle and certification.
    """
    null_space = np.ascontiguousarray(null_space, dtype=float)
    return _complement(null_space.shape, null_space.tobytes())


@lru_cache(maxsize=16)
def _complement(shape, data):
    null_space = np.frombuffer(data).reshape(shape)
    if shape[1] == 0:
        basis = np.eye(shape[0])
    else:
        q, _ = np.linalg.qr(null_space, mode="complete")
        basis = np.ascontiguousarray(q[:, shape[1]:])
    basis.flags.writeable = False
    return basis


def analyse_hessian(h: np.ndarray, group: np.ndarray, tol: float = NEGATIVE_TOL,
                    vectors: bool = True) -> ModeAnalysis:
    """Eigen-analysis of the Hessian h in the complement of the rigid translations.

    Parameters
    ----------
    h : (3N, 3N) ndarray
        A Hessian (symmetrised here in the reduced basis).
    group : (N,) array_like of int
        The copy of each particle (one set of translations per copy).
    tol : float
        Eigenvalues below −tol count as negative (:data:`NEGATIVE_TOL`).
    vectors : bool
        Also compute the eigenvectors; False: eigenvalues only, which is what a
        certification needs, at less than half the cost.

    Returns
    -------
    ModeAnalysis
        ``n_negative`` is 0 at a minimum and 1 at a first-order saddle.
    """
    t = translation_basis(group)
    basis = orthonormal_complement(t)
    reduced = basis.T @ h @ basis
    reduced = 0.5 * (reduced + reduced.T)
    if vectors:
        w, u = np.linalg.eigh(reduced)
    else:
        w, u = np.linalg.eigvalsh(reduced), None
    trans = np.sum(t * (h @ t), axis=0)
    return ModeAnalysis(
        eigenvalues=w,
        eigenvectors=None if u is None else basis @ u,
        translation_eigenvalues=trans,
        n_negative=int(np.sum(w < -tol)),
    )


#: From this many particles on, the lowest modes, the saddle polish and the certifications use the
#: sparse Hessian (:meth:`tlsviz.KobAndersen.modes` with ``k``, :mod:`tlsviz.engine.sparse_saddle`,
#: :mod:`tlsviz.search.verify`); below, the dense path, which keeps the N = 65 and 260 searches'
#: bits. Where the sparse path starts to win, measured: docs/engine.md, "Sparse modes".
SPARSE_MIN_N = 500
#: Relative accuracy asked of the sparse eigen-solver's Ritz pairs (ARPACK's ``tol``); the
#: eigenvalues then agree with a 1e-10 solve far below the certification's tolerance.
SPARSE_EIG_TOL = 1e-8
#: Lanczos vectors ARPACK keeps (at least): with ARPACK's default 2k + 1 it needs about four
#: times as many Hessian products (docs/engine.md, "Sparse modes").
SPARSE_NCV = 80


def lowest_modes(h, null_space: np.ndarray, k: int, tol: float = NEGATIVE_TOL,
                 vectors: bool = True) -> ModeAnalysis:
    """The k lowest eigenpairs of a sparse symmetric matrix in the complement of ``null_space``.

    Implicitly restarted Lanczos (ARPACK through :func:`scipy.sparse.linalg.eigsh`,
    ``which="SA"``) on h + α N Nᵀ (N the null space, α a Gershgorin bound of h's largest
    eigenvalue): the null directions (the rigid translations, eigenvalue 0 of h) move to the top
    of the spectrum, out of the way, and the matrix is applied as h plus a rank-c correction, so
    memory stays O(nnz). Why Lanczos and not shift-invert or LOBPCG: measured in
    docs/engine.md ("Sparse modes"), a sparse LU of a 3-D glass's Hessian fills in (1.7 GB and
    minutes at N = 8000) and LOBPCG with a block-Jacobi preconditioner converges slower.

    Parameters
    ----------
    h : scipy sparse matrix (n, n)
        Symmetric (e.g. :meth:`tlsviz.KobAndersen.hessian` with ``sparse=True``).
    null_space : (n, c) ndarray
        Orthonormal directions to remove (the rigid translations, :func:`translation_basis`);
        h must map them to (about) zero.
    k : int
        Modes wanted, 1 ≤ k < n − c.
    tol : float
        Eigenvalues below −tol count as negative.
    vectors : bool
        Also return the eigenvectors.

    Returns
    -------
    ModeAnalysis
        ``eigenvalues`` (k,) ascending, ``eigenvectors`` (n, k) (orthogonal to the null space)
        or None, ``complete=False``; ``n_negative`` counts the negative ones among the k (all
        of them only when it is below k).
    """
    n = h.shape[0]
    c = null_space.shape[1]
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k < n - c - 1:
        raise ValueError(f"k must be an integer in [1, {n - c - 1}), got {k!r}")
    h = sp.csr_array(h)
    alpha = float(np.max(np.abs(h).sum(axis=1)))  # ≥ the largest eigenvalue

    def mm(v):
        return h @ v + alpha * (null_space @ (null_space.T @ v))

    op = sla.LinearOperator((n, n), matvec=lambda v: mm(v.reshape(-1)), matmat=mm, dtype=float)
    v0 = np.random.default_rng(0).standard_normal(n)  # a fixed start: the same result every run
    v0 -= null_space @ (null_space.T @ v0)
    with _one_blas_thread():
        out = sla.eigsh(op, int(k), which="SA", tol=SPARSE_EIG_TOL, v0=v0,
                        ncv=min(n - c - 1, max(2 * k + 1, SPARSE_NCV)), return_eigenvectors=vectors)
    w, u = out if vectors else (out, None)
    order = np.argsort(w)
    w = w[order]
    if u is not None:
        u = u[:, order]
    trans = np.sum(null_space * (h @ null_space), axis=0)
    return ModeAnalysis(eigenvalues=w, eigenvectors=u, translation_eigenvalues=trans,
                        n_negative=int(np.count_nonzero(w < -tol)), complete=False)
