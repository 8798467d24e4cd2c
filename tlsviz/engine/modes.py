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

import numba
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as sla
from numba import njit, prange

from ._blas import _one_blas_thread
from .threads import check_threads

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
    solver : str
        What computed the eigenvalues: "dense" (:func:`analyse_hessian`), or for
        :func:`lowest_modes` "chebyshev" (the filtered Lanczos), "lanczos" (asked for) or
        "lanczos (fallback: why)" (the filtered Lanczos failed; the plain one ran).
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray | None
    translation_eigenvalues: np.ndarray
    n_negative: int
    complete: bool = True
    solver: str = "dense"

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
#: Relative accuracy asked of the sparse eigen-solver's Ritz pairs (ARPACK's ``tol``) in the
#: fallback Lanczos (:func:`lowest_modes` with ``solver="lanczos"``); the eigenvalues then agree
#: with a 1e-10 solve far below the certification's tolerance.
SPARSE_EIG_TOL = 1e-8
#: Lanczos vectors ARPACK keeps (at least) in the fallback Lanczos: with ARPACK's default 2k + 1
#: it needs about four times as many Hessian products (docs/engine.md, "Sparse modes").
SPARSE_NCV = 80
#: Degree of the Chebyshev filter of the default solver: each Lanczos step applies the Hessian
#: this many times. 10 to 40 were measured at N = 8000 and 32 000 (docs/engine.md, "Sparse
#: modes"): the Hessian products grow with it (2460 / 2700 / 3600 at degree 10 / 20 / 40, N =
#: 8000), ARPACK's own work falls as 1/degree; 16 sits between.
FILTER_DEGREE = 16
#: Lower edge a (ε/σ²) of the interval [a, λ_max] that the filter damps; the wanted eigenvalues
#: must lie below a/2 (checked on every result, a raised when they do not). 10 lowest modes of
#: quenched glasses: λ₁₀ = 9.6 (N = 260), 1.13 (N = 8000), 0.55 (N = 32 000); measured at
#: N = 8000: 2700 products at a = 4, 2760 at 10, 3340 at 30 (a = 2 at N = 32 000 only).
FILTER_EDGE = 10.0
#: Relative accuracy asked of ARPACK's Ritz pairs of the filtered operator: the eigenvalues of the
#: Hessian (a Rayleigh–Ritz of it on those vectors) then agree with the fallback's to < 1e-9.
FILTER_TOL = 1e-6
#: Lanczos vectors ARPACK keeps (at least) on the filtered operator.
FILTER_NCV = 30
#: From this many rows (3N; 500 particles, where the sparse analysis starts: SPARSE_MIN_N) on,
#: :func:`lowest_modes` filters by default: from 500 to 2000 particles it takes the 2 lowest modes
#: (the saddle polish's) 2.5–4× faster than plain Lanczos and 10 (a certificate) up to 2× faster
#: (docs/engine.md, "Sparse modes"). Below, plain Lanczos: the soft end of a small glass lies
#: higher (λ₁₀ = 9.6 at N = 260), near :data:`FILTER_EDGE`, where the edge must be raised.
FILTER_MIN_ROWS = 3 * SPARSE_MIN_N
#: ARPACK restarts allowed on the filtered operator (it needs ~10 at N = 8000 and 32 000): when
#: the edge is below λ_k, the k-th value of p(A) sits in the dense [−1, 1] and Lanczos would
#: crawl; then the edge is raised.
FILTER_MAXITER = 60


def lowest_modes(h, null_space: np.ndarray, k: int, tol: float = NEGATIVE_TOL,
                 vectors: bool = True, solver: str = "auto", threads: int = 1) -> ModeAnalysis:
    """The k lowest eigenpairs of a sparse symmetric matrix in the complement of ``null_space``.

    Both solvers work on A = h + α N Nᵀ (N the null space, α a Gershgorin bound of h's largest
    eigenvalue): the null directions (the rigid translations, eigenvalue 0 of h) move to the top
    of the spectrum, out of the way, and A is applied as h plus a rank-c correction, so memory
    stays O(nnz).

    ``solver="chebyshev"`` (the default from :data:`FILTER_MIN_ROWS` rows on): ARPACK's implicitly
    restarted Lanczos (:func:`scipy.sparse.linalg.eigsh`, ``which="LA"``) on p(A), p the Chebyshev polynomial of
    degree :data:`FILTER_DEGREE` that is bounded by 1 on [a, b] (a = :data:`FILTER_EDGE`,
    b ≥ A's largest eigenvalue) and grows monotonically below a, so that the k lowest eigenvalues
    of A become the k largest of p(A), well apart; then a Rayleigh–Ritz of h on those k vectors.
    The same Hessian products as plain Lanczos, but ARPACK orthogonalises and restarts once per
    FILTER_DEGREE products instead of once per product: 1.4× faster at N = 8000, 1.8× at 32 000
    (docs/engine.md, "Sparse modes"). Checked: every eigenvalue of A at or above a maps into
    [−1, 1], so when the k-th Ritz value of p(A) exceeds 1 the k found are the k lowest of A
    (p is decreasing below a). When that fails, or λ_k > a/2 (poorly resolved), or ARPACK does
    not converge, a is raised (×4, twice), then the plain Lanczos runs, and ``solver`` says so.
    ``solver="lanczos"`` (the default below :data:`FILTER_MIN_ROWS` rows): ARPACK's Lanczos on A
    itself (``which="SA"``, ncv :data:`SPARSE_NCV`, tol :data:`SPARSE_EIG_TOL`), the solver
    before the filter and its fallback. Why not shift-invert or LOBPCG with algebraic multigrid or
    block-Jacobi: measured in docs/engine.md ("Sparse modes"); a sparse LU of a 3-D glass's
    Hessian fills in (1.7 GB and minutes at N = 8000), and no preconditioner measured pays for
    its cost (an AMG V-cycle costs 15 Hessian products and still leaves 80 CG iterations; an
    incomplete LU takes 10 s to build and leaves CG unconverged).

    Parameters
    ----------
    h : scipy sparse matrix (n, n)
        Symmetric (e.g. :meth:`tlsviz.KobAndersen.hessian` with ``sparse=True``).
    null_space : (n, c) ndarray
        Orthonormal directions to remove (the rigid translations, :func:`translation_basis`);
        h must map them to (about) zero.
    k : int
        Modes wanted, 1 ≤ k < n − c − 1.
    tol : float
        Eigenvalues below −tol count as negative.
    vectors : bool
        Also return the eigenvectors.
    solver : {"auto", "chebyshev", "lanczos"}
        The filtered Lanczos (with the plain one as its fallback) or the plain one; "auto": the
        filtered one from :data:`FILTER_MIN_ROWS` rows on.
    threads : int
        numba threads for the filter's Hessian products when h is a BSR matrix of 3 × 3 blocks
        (as :func:`tlsviz.engine.sparse_hessian.sparse_hessian` builds it;
        :func:`_filter_step`): each row is summed by one thread in a fixed order, so the result
        is the same bits whatever the count. 1 by default (campaign workers run one each);
        :meth:`tlsviz.KobAndersen.modes` passes the system's thread count.

    Returns
    -------
    ModeAnalysis
        ``eigenvalues`` (k,) ascending, ``eigenvectors`` (n, k) (orthogonal to the null space)
        or None, ``complete=False``; ``n_negative`` counts the negative ones among the k (all
        of them only when it is below k); ``solver`` says which solver gave them and, for the
        fallback, why.
    """
    n = h.shape[0]
    c = null_space.shape[1]
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k < n - c - 1:
        raise ValueError(f"k must be an integer in [1, {n - c - 1}), got {k!r}")
    if solver not in ("auto", "chebyshev", "lanczos"):
        raise ValueError(f"solver must be 'auto', 'chebyshev' or 'lanczos', got {solver!r}")
    threads = check_threads(threads)
    if solver == "auto":
        solver = "chebyshev" if n >= FILTER_MIN_ROWS else "lanczos"
    k = int(k)
    # the filter applies a BSR matrix of 3 × 3 blocks (the sparse Hessian) as it is: 1.66 ms a
    # product at N = 8000 against CSR's 1.90; the plain Lanczos keeps CSR and its bits
    if solver == "lanczos" or not (isinstance(h, (sp.bsr_array, sp.bsr_matrix)) and h.blocksize == (3, 3)):
        h = sp.csr_array(h)
    alpha = float(np.max(np.abs(h).sum(axis=1)))  # ≥ the largest eigenvalue
    trans = np.sum(null_space * (h @ null_space), axis=0)

    def mm(v):
        return h @ v + alpha * (null_space @ (null_space.T @ v))

    v0 = np.random.default_rng(0).standard_normal(n)  # a fixed start: the same result every run
    v0 -= null_space @ (null_space.T @ v0)
    how = "lanczos"
    w = u = None
    with _one_blas_thread():
        if solver == "chebyshev":
            b = (alpha + max(0.0, float(np.max(trans, initial=0.0)))) * (1 + 1e-9)
            edge, why = FILTER_EDGE, ""
            for _ in range(3):
                found = (_filtered_lanczos(mm, h, null_space, k, v0, edge, b, alpha, threads) if edge < 0.5 * b
                         else None)
                if found is None:
                    why = f"no k lowest eigenvalues clearly below the filter's edge {edge:g}"
                    edge *= 4
                    continue
                w, u = found
                how = "chebyshev"
                break
            if w is None:
                how = f"lanczos (fallback: {why})"
        if w is None:
            op = sla.LinearOperator((n, n), matvec=lambda v: mm(v.reshape(-1)), matmat=mm, dtype=float)
            out = sla.eigsh(op, k, which="SA", tol=SPARSE_EIG_TOL, v0=v0,
                            ncv=min(n - c - 1, max(2 * k + 1, SPARSE_NCV)), return_eigenvectors=vectors)
            w, u = out if vectors else (out, None)
            order = np.argsort(w)
            w = w[order]
            if u is not None:
                u = u[:, order]
    if not vectors:
        u = None
    return ModeAnalysis(eigenvalues=w, eigenvectors=u, translation_eigenvalues=trans,
                        n_negative=int(np.count_nonzero(w < -tol)), complete=False, solver=how)


def _filtered_lanczos(mm, h, null_space, k, v0, a, b, alpha, threads=1):
    """Lanczos on the Chebyshev filter p(A) of :func:`lowest_modes`; ``mm`` applies A = h + α N Nᵀ,
    or for a BSR h of 3 × 3 blocks the compiled :func:`_filter_step` on ``threads`` numba threads.

    Returns (w, u), the k lowest eigenvalues of A ascending and their unit vectors (a
    Rayleigh–Ritz of h in the span of the k Ritz vectors of p(A), orthogonal to the null space);
    None when ARPACK did not converge in :data:`FILTER_MAXITER` restarts, the k-th Ritz value of
    p(A) is not above 1 (a is then not above λ_k) or λ_k > a/2 (then p(λ_k) is close to 1 and its
    vector poorly resolved: at N = 260, λ₁₀ = 9.6 against a = 10 left a residual of 2e-5); the
    caller raises a.
    """
    n = h.shape[0]
    c = null_space.shape[1]
    centre, half = 0.5 * (a + b), 0.5 * (b - a)

    blocks = isinstance(h, (sp.bsr_array, sp.bsr_matrix)) and h.blocksize == (3, 3)
    if blocks:
        data, indices, indptr = h.data, h.indices, h.indptr
        ns = np.ascontiguousarray(null_space, dtype=float)

    # one thread: the serial build of the same kernel, so that a campaign worker never starts
    # numba's thread pool (a forked worker must not, once its parent has used GNU OpenMP)
    step = _filter_step if threads > 1 else _filter_step_serial

    def filt(v):
        # T_d((centre − A)/half) v by the three-term recurrence: |p| ≤ 1 on [a, b]
        if blocks:
            y0 = np.ascontiguousarray(v, dtype=float)
            y1, y2 = np.empty(n), np.empty(n)
            step(data, indices, indptr, ns, alpha, centre, half, y0, y0, y1, True)
            for _ in range(FILTER_DEGREE - 1):
                step(data, indices, indptr, ns, alpha, centre, half, y1, y0, y2, False)
                y0, y1, y2 = y1, y2, (y0 if y0 is not v else np.empty(n))
            return y1
        y0, y1 = v, (centre * v - mm(v)) / half
        for _ in range(FILTER_DEGREE - 1):
            y0, y1 = y1, (2.0 / half) * (centre * y1 - mm(y1)) - y0
        return y1

    op = sla.LinearOperator((n, n), matvec=lambda v: filt(v.reshape(-1)), dtype=float)
    threaded = blocks and threads > 1
    kept = numba.get_num_threads() if threaded else 0
    if threaded:
        numba.set_num_threads(threads)
    try:
        mu, u = sla.eigsh(op, k, which="LA", tol=FILTER_TOL, v0=v0, maxiter=FILTER_MAXITER,
                          ncv=min(n - c - 1, max(2 * k + 1, FILTER_NCV)))
    except sla.ArpackNoConvergence:
        return None  # an edge below λ_k leaves the k-th value of p(A) in the dense [−1, 1]
    finally:
        if threaded:
            numba.set_num_threads(kept)
    if np.min(mu) <= 1.0 + 1e-6:
        return None
    u = u - null_space @ (null_space.T @ u)
    u, _ = np.linalg.qr(u)
    ritz = u.T @ (h @ u)
    w, z = np.linalg.eigh(0.5 * (ritz + ritz.T))
    if w[-1] > 0.5 * a:  # λ_k close to the edge: p(λ_k) ≈ 1, its vector poorly resolved
        return None
    return w, u @ z


#: Fixed blocks of rows of the products Nᵀy in :func:`_filter_step`, summed in block order: the
#: same bits whatever the number of threads.
_NT_BLOCKS = 64


@njit(cache=True, nogil=True, inline="always")
def _filter_rows(data, indices, indptr, null, alpha, centre, half, y1, y0, out, first):
    """One step of the Chebyshev recurrence of :func:`_filtered_lanczos` (:func:`_filter_step` on
    numba's threads, :func:`_filter_step_serial` on the calling one),
    A = H + α N Nᵀ with H a BSR matrix of 3 × 3 blocks (data (nnzb, 3, 3), indices, indptr) and N
    ``null`` (n, c): out = (centre y1 − A y1) / half when ``first``, else (2 / half)(centre y1 −
    A y1) − y0. Each row of H y1 is summed by one thread, block by block in the stored order, and
    Nᵀ y1 in :data:`_NT_BLOCKS` fixed blocks summed in order, so that any thread count gives the
    same bits. Why compiled: scipy's BSR product runs on one thread and the filter is almost all
    products (N = 32 000, a recurrence step: 11.6–11.9 ms with scipy's product, 10.0–10.3 ms here on
    one thread, 4.8 ms on two; docs/engine.md)."""
    n = y1.shape[0]
    c = null.shape[1]
    part = np.zeros((_NT_BLOCKS, c))
    for q in prange(_NT_BLOCKS):
        for r in range(q * n // _NT_BLOCKS, (q + 1) * n // _NT_BLOCKS):
            for k in range(c):
                part[q, k] += null[r, k] * y1[r]
    nt = np.zeros(c)
    for q in range(_NT_BLOCKS):
        for k in range(c):
            nt[k] += part[q, k]
    two = 2.0 / half
    for rb in prange(indptr.shape[0] - 1):
        a0 = 0.0
        a1 = 0.0
        a2 = 0.0
        for b in range(indptr[rb], indptr[rb + 1]):
            j = 3 * indices[b]
            u0, u1, u2 = y1[j], y1[j + 1], y1[j + 2]
            a0 += data[b, 0, 0] * u0 + data[b, 0, 1] * u1 + data[b, 0, 2] * u2
            a1 += data[b, 1, 0] * u0 + data[b, 1, 1] * u1 + data[b, 1, 2] * u2
            a2 += data[b, 2, 0] * u0 + data[b, 2, 1] * u1 + data[b, 2, 2] * u2
        for d in range(3):
            r = 3 * rb + d
            ay = a0 if d == 0 else (a1 if d == 1 else a2)
            for k in range(c):
                ay += alpha * null[r, k] * nt[k]
            if first:
                out[r] = (centre * y1[r] - ay) / half
            else:
                out[r] = two * (centre * y1[r] - ay) - y0[r]


@njit(cache=True, nogil=True, parallel=True)
def _filter_step(data, indices, indptr, null, alpha, centre, half, y1, y0, out, first):
    """:func:`_filter_rows` on numba's threads."""
    _filter_rows(data, indices, indptr, null, alpha, centre, half, y1, y0, out, first)


@njit(cache=True, nogil=True)
def _filter_step_serial(data, indices, indptr, null, alpha, centre, half, y1, y0, out, first):
    """:func:`_filter_rows` on the calling thread (its prange loops run as plain loops): the same
    bits as :func:`_filter_step`."""
    _filter_rows(data, indices, indptr, null, alpha, centre, half, y1, y0, out, first)
