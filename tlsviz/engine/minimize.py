"""Local energy minimisation (quench) to max_i |F_i| < ``ftol``, in compiled code.

Three minimisers share one line search and one convergence criterion; :data:`METHODS` maps
their names to the integer code the kernels take (:func:`_minimize` dispatches):

``"lbfgs-hessian"`` (the search tries' default, docs/method.md §2–3)
    L-BFGS (memory :data:`LBFGS_MEMORY`) whose initial inverse Hessian H0 becomes γ H⁻¹,
    H the exact Hessian at the current point, Cholesky-factored once
    (:mod:`tlsviz.engine.cholesky`) when max_i |F_i| falls below :data:`PRECOND_BELOW`; the
    rigid translations, exact zero modes of H, get the curvature
    :data:`TRANSLATION_CURVATURE` so that the matrix is not singular (the forces have no
    component along them, so this value never enters a step). From there the steps are
    Newton steps corrected by the L-BFGS pairs, and the tail of the quench takes a dozen
    evaluations instead of a hundred. Where H is not positive definite (the point is not
    yet in a convex region) the quench goes on as plain L-BFGS and tries again once
    max_i |F_i| is 10× lower. Given a fixed preconditioner P (a search try: the inverse
    Hessian of its starting inherent structure, :func:`_inverse_hessian` via
    :func:`tlsviz.search.preconditioner.hessian_preconditioner`), it starts with P and factors the Hessian
    at the current point only if it has not converged :data:`HESS_AFTER` iterations later
    (the try is heading to another minimum, for which P is wrong). Above
    :data:`HESS_MAX_N` particles the dense factorisation costs more than it saves and the
    method is plain L-BFGS.
``"lbfgs"``
    Limited-memory BFGS (Nocedal, Math. Comp. 35, 773 (1980)), memory
    :data:`LBFGS_MEMORY`, the line search with the curvature condition σ = 0.9 usual for
    quasi-Newton steps. With a fixed preconditioner P (3N, 3N), H0 = γ I is replaced by
    γ P once max_i |F_i| < :data:`PRECOND_BELOW`, γ = s·y / (y·P y) from the latest step
    (the preconditioned form of the usual scaling: 1 near the IS, smaller where P is too
    soft for the minimum a try is heading to). The pairs stored before the switch are
    dropped and P·y of every later pair is kept, so that the two-loop recursion needs one
    product with P per iteration.
``"cg"`` (the default of :meth:`tlsviz.KobAndersen.quench`)
    Polak–Ribière conjugate gradient (Polak & Ribière, Rev. Fr. Inform. Rech. Opér. 3, 35
    (1969)) with the PR+ update β = max(0, β_PR), which restarts along the force whenever
    conjugacy is lost; curvature condition σ = 0.1.

Contract, for every method:

- Convergence (the only criterion): max_i |F_i| < ``ftol`` (:data:`FTOL` = 1e-10 ε/σ by
  default). Energy-change criteria stall far from the minimum on this landscape. With a
  smallest non-zero curvature k ≳ 0.1 ε/σ² this places the particles within ≈ ftol / k
  ≈ 1e-9 σ of the minimum, far below the 1e-4 σ that tells neighbouring minima apart.
- The L-BFGS variants are plain L-BFGS until max_i |F_i| < :data:`PRECOND_BELOW`, so the
  basin a quench falls into is decided by the same path and they end in the same minimum
  (the preconditioned ones in fewer evaluations, ``benchmarks/RESULTS.md``). CG takes
  another path downhill and may, rarely, end in a neighbouring minimum; from the starts of
  ``tests/test_contracts.py`` all methods agree to 1e-9 ε and 1e-7 σ.
- Line search: bracketing plus safeguarded secant steps on the directional derivative
  φ'(α) = −F(x + α d)·d, accepted under the strong Wolfe condition |φ'(α)| ≤ σ |φ'(0)|
  with sufficient decrease (Armijo, c1 = 1e-4, within round-off of the energy: near
  convergence energy differences fall below machine precision and only the derivative
  carries information). No particle moves more than ``max_step`` σ in one line search, so
  a quench cannot jump through the core of a neighbour.
- Positions are (N, 3) float64, unwrapped, in σ; the input is not modified. Every kernel
  returns a :class:`QuenchResult`.
- No fast-math and every sum in a fixed order, so a quench gives the same bits on any
  machine (the demo catalogue depends on it).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from .cholesky import _cholesky, _cholesky_solve
from .potential import (_cell_order, _energy_forces_nl, _hessian_into, _new_neighbor_list, _permuted_model,
                        _put_rows, _take_rows)


class QuenchResult(NamedTuple):
    """A local minimisation (quench), as the compiled minimisers and :meth:`tlsviz.KobAndersen.quench`
    return it.

    Attributes
    ----------
    positions : (N, 3) ndarray
        The final configuration (σ), unwrapped like the input.
    energy : float
        Potential energy there (ε).
    grad_norm : float
        max_i |F_i| there (ε/σ), the convergence criterion.
    n_evals : int
        Energy + force evaluations.
    n_iter : int
        Iterations (line searches) of the minimiser.
    converged : bool
        ``grad_norm`` < the requested tolerance.
    """

    positions: np.ndarray
    energy: float
    grad_norm: float
    n_evals: int
    n_iter: int
    converged: bool



#: Default force tolerance: max_i |F_i| below this means converged.
FTOL = 1e-10
#: Default cap on the displacement of any particle in one line search (σ).
MAX_STEP = 0.2
#: Default cap on iterations (line searches) of every method.
MAX_ITER = 100_000
#: L-BFGS memory (pairs of steps kept).
LBFGS_MEMORY = 10
#: Minimisers by name, as the integer code the compiled kernels take.
METHODS = {"cg": 0, "lbfgs": 1, "lbfgs-hessian": 2}
#: max_i |F_i| (ε/σ) below which preconditioned L-BFGS switches from γ I to γ P.
PRECOND_BELOW = 0.1
#: "No preconditioner" for the compiled minimisers.
NO_PRECOND = np.zeros((0, 0))
#: Curvature (ε/σ²) given to the rigid translations in the factored Hessian preconditioner.
TRANSLATION_CURVATURE = 1.0
#: "lbfgs-hessian" with a fixed preconditioner (a search try): preconditioned iterations after
#: which, if the try has not converged, the Hessian at the current point replaces it.
HESS_AFTER = 6
#: Largest system (particles) for which "lbfgs-hessian" factors Hessians: a dense (3N)³ / 6
#: Cholesky no longer pays for the evaluations it saves above it (docs/engine.md, design history);
#: larger systems get plain "lbfgs".
HESS_MAX_N = 150


@njit(cache=True, nogil=True, inline="always")
def _minimize(x0, model, ftol, max_iter, max_step, method, precond, pool=None):
    """Dispatch: method 0 = Polak–Ribière CG, 1 = L-BFGS, 2 = L-BFGS with the Hessian (all to
    max|F| < ftol); ``precond`` (3N, 3N) or (0, 0): the fixed H0 of L-BFGS below
    :data:`PRECOND_BELOW` (ignored by CG); ``pool``: threads for the force loop
    (:func:`tlsviz.engine.potential._energy_forces_nl`). With a Verlet list and no ``precond``
    the minimiser works on the particles sorted by cell (:func:`_cell_order`; neighbours close
    in memory) and returns them in the caller's order."""
    order = _cell_order(x0, model)
    if order.shape[0] == 0 or precond.shape[0] > 0:
        return _minimize_in_order(x0, model, ftol, max_iter, max_step, method, precond, pool)
    xq, e, g, ne, it, conv = _minimize_in_order(_take_rows(x0, order), _permuted_model(model, order), ftol,
                                                max_iter, max_step, method, precond, pool)
    out = np.empty_like(xq)
    _put_rows(out, order, xq)
    return QuenchResult(out, e, g, ne, it, conv)


@njit(cache=True, nogil=True, inline="always")
def _minimize_in_order(x0, model, ftol, max_iter, max_step, method, precond, pool):
    """:func:`_minimize` on the particles in the order given."""
    if method == 1:
        return _lbfgs(x0, model, ftol, max_iter, max_step, LBFGS_MEMORY, precond, PRECOND_BELOW, -1, pool)
    if method == 2:
        hess_after = HESS_AFTER if x0.shape[0] <= HESS_MAX_N else -1
        return _lbfgs(x0, model, ftol, max_iter, max_step, LBFGS_MEMORY, precond, PRECOND_BELOW, hess_after, pool)
    return _quench(x0, model, ftol, max_iter, max_step, pool)


# Vector helpers on flat (3N,) vectors: the minimisers keep every working array flat and make
# (N, 3) views only for the force kernel (a reshape per helper call cost as much as the
# helper). No fast-math: every sum is written in a fixed order (four running partial sums for
# dot products, fast without letting LLVM reorder them by the CPU's vector width), so a run
# gives the same bits on any machine.


@njit(cache=True, nogil=True)
def _max_force(f):
    """Largest per-particle norm of a flat (3N,) force vector."""
    m = 0.0
    for i in range(0, f.shape[0], 3):
        m = max(m, f[i] * f[i] + f[i + 1] * f[i + 1] + f[i + 2] * f[i + 2])
    return np.sqrt(m)


@njit(cache=True, nogil=True)
def _dot(a, b):
    n = a.shape[0]
    n4 = n - n % 4
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    for i in range(0, n4, 4):
        s0 += a[i] * b[i]
        s1 += a[i + 1] * b[i + 1]
        s2 += a[i + 2] * b[i + 2]
        s3 += a[i + 3] * b[i + 3]
    for i in range(n4, n):
        s0 += a[i] * b[i]
    return (s0 + s1) + (s2 + s3)


@njit(cache=True, nogil=True)
def _axpy(a, x, y):
    """y += a·x in place."""
    for i in range(x.shape[0]):
        y[i] += a * x[i]


@njit(cache=True, nogil=True)
def _diff(a, b, out):
    """out = a − b."""
    for i in range(a.shape[0]):
        out[i] = a[i] - b[i]


@njit(cache=True, nogil=True)
def _copy(a, out):
    for i in range(a.shape[0]):
        out[i] = a[i]


@njit(cache=True, nogil=True)
def _matvec(p, v, out):
    """out = P·v for a symmetric P (3N, 3N), four columns at a time (out += Σ v_c P[c, :]),
    so that the inner loop is a vectorisable update with no running sum across iterations."""
    m = v.shape[0]
    out[:] = 0.0
    m4 = m - m % 4
    for c in range(0, m4, 4):
        w0, w1, w2, w3 = v[c], v[c + 1], v[c + 2], v[c + 3]
        r0, r1, r2, r3 = p[c], p[c + 1], p[c + 2], p[c + 3]
        for r in range(m):
            acc = out[r]
            acc += r0[r] * w0
            acc += r1[r] * w1
            acc += r2[r] * w2
            acc += r3[r] * w3
            out[r] = acc
    for c in range(m4, m):
        w = v[c]
        row = p[c]
        for r in range(m):
            out[r] += row[r] * w


@njit(cache=True, nogil=True)
def _step_to(x, alpha, d, out):
    """out = x + alpha·d."""
    for i in range(x.shape[0]):
        out[i] = x[i] + alpha * d[i]


@njit(cache=True, nogil=True)
def _line_search(x, e0, f, d, alpha0, alpha_max, xt, ft, model, nl, sigma=0.1, pool=None):
    """Wolfe line search along d from x (energy e0, forces f); flat (3N,) vectors.

    Writes the accepted point into xt, ft. Returns (alpha, energy, n_evals, ok).
    """
    n = x.shape[0] // 3
    xt2 = xt.reshape((n, 3))
    ft2 = ft.reshape((n, 3))
    c1 = 1e-4
    slope0 = -_dot(f, d)
    e_tol = 1e-13 * (abs(e0) + 1.0)
    lo, dlo = 0.0, slope0
    hi, dhi = np.inf, 0.0
    hi_has_slope = False
    alpha = min(alpha0, alpha_max)
    n_evals = 0
    best_alpha, best_e = 0.0, e0
    for _ in range(40):
        _step_to(x, alpha, d, xt)
        e = _energy_forces_nl(xt2, ft2, model, nl, True, pool)
        n_evals += 1
        dphi = -_dot(ft, d)
        armijo = e <= e0 + c1 * alpha * slope0 + e_tol
        if armijo and e < best_e:
            best_alpha, best_e = alpha, e
        if not armijo:
            hi, dhi, hi_has_slope = alpha, dphi, False
        elif abs(dphi) <= -sigma * slope0:
            return alpha, e, n_evals, True
        elif dphi > 0.0:
            hi, dhi, hi_has_slope = alpha, dphi, True
        else:
            lo, dlo = alpha, dphi
        if hi < np.inf:
            width = hi - lo
            if hi_has_slope:
                # secant on φ', kept inside the bracket
                trial = lo - dlo * width / (dhi - dlo)
                alpha = min(max(trial, lo + 0.05 * width), hi - 0.05 * width)
            else:
                alpha = lo + 0.5 * width
            if width <= 1e-14 * hi:
                break
        else:
            if alpha >= alpha_max:
                # the step cap is a descent point with φ' < 0: take it
                return alpha, e, n_evals, True
            alpha = min(4.0 * alpha, alpha_max)
    if best_alpha > 0.0:
        _step_to(x, best_alpha, d, xt)
        e = _energy_forces_nl(xt2, ft2, model, nl, True, pool)
        return best_alpha, e, n_evals + 1, True
    return 0.0, e0, n_evals, False


@njit(cache=True, nogil=True, inline="always")
def _start(x0, model, pool):
    """A minimiser's working set: flat (3N,) x = copy of x0, forces f, trial xt, ft; the
    neighbour state; the energy."""
    n = x0.shape[0]
    x = np.empty(3 * n)
    _copy(x0.reshape(-1), x)
    f = np.empty(3 * n)
    x2 = x.reshape((n, 3))
    nl = _new_neighbor_list(x2, model)
    e = _energy_forces_nl(x2, f.reshape((n, 3)), model, nl, True, pool)
    return x, f, np.empty(3 * n), np.empty(3 * n), nl, e


@njit(cache=True, nogil=True)
def _quench(x0, model, ftol, max_iter, max_step, pool=None):
    """Polak–Ribière CG from x0 (not modified).

    Returns a :class:`QuenchResult`.
    """
    n = x0.shape[0]
    x, f, xt, ft, nl, e = _start(x0, model, pool)
    n_evals = 1
    d = f.copy()
    ff_old = _dot(f, f)
    alpha_prev = 0.0
    slope_prev = 0.0
    converged = False
    failures = 0
    it = 0
    while it < max_iter:
        fmax = _max_force(f)
        if fmax < ftol:
            converged = True
            break
        slope = -_dot(f, d)
        if slope >= 0.0:
            # not a descent direction: restart along the force
            _copy(f, d)
            slope = -ff_old
        dmax = _max_force(d)
        alpha_max = max_step / dmax
        if alpha_prev > 0.0:
            alpha0 = alpha_prev * slope_prev / slope
        else:
            alpha0 = min(0.01 / dmax, alpha_max)
        alpha, e_new, ne, ok = _line_search(x, e, f, d, alpha0, alpha_max, xt, ft, model, nl, 0.1, pool)
        n_evals += ne
        it += 1
        if not ok:
            failures += 1
            if failures > 2:
                break
            _copy(f, d)
            alpha_prev = 0.0
            continue
        failures = 0
        # PR+ update from the old forces f and the new forces ft
        ff_new = _dot(ft, ft)
        beta = max(0.0, (ff_new - _dot(ft, f)) / ff_old)
        _copy(xt, x)
        _copy(ft, f)
        for i in range(d.shape[0]):
            d[i] = f[i] + beta * d[i]
        e = e_new
        ff_old = ff_new
        alpha_prev = alpha
        slope_prev = slope
    return QuenchResult(x.reshape((n, 3)), e, _max_force(f), n_evals, it, converged)


@njit(cache=True, nogil=True)
def _add_translations(a, model, scale):
    """a += scale · T in place, T the projector on each copy's three rigid translations:
    a[3i + k, 3j + k] += scale / n for the particles i, j of a copy of n."""
    group = model.group
    n = a.shape[0] // 3
    counts = np.zeros(n, dtype=np.int64)
    for i in range(n):
        counts[group[i]] += 1
    for i in range(n):
        for j in range(n):
            if group[j] == group[i]:
                c = scale / counts[group[i]]
                for k in range(3):
                    a[3 * i + k, 3 * j + k] += c


@njit(cache=True, nogil=True)
def _hessian_factor(x, model, h, lo):
    """Cholesky factors (into h and lo, see :func:`tlsviz.engine.cholesky._cholesky`) of the
    Hessian at flat x plus :data:`TRANSLATION_CURVATURE` on each copy's three rigid
    translations (exact zero modes of the Hessian, which would make it singular; the forces
    have no component along them, so this value never enters a step). False when the matrix
    is not positive definite."""
    n = x.shape[0] // 3
    _hessian_into(x.reshape((n, 3)), model, h)
    _add_translations(h, model, TRANSLATION_CURVATURE)
    return _cholesky(h, h, lo)


@njit(cache=True, nogil=True)
def _inverse_hessian(x, model, floor):
    """(P, ok): the inverse of the Hessian at flat x on its non-translational modes (its
    pseudo-inverse, zero on each copy's rigid translations), from compiled Cholesky factors
    (the same bits on every machine), when every non-translational curvature exceeds
    ``floor``; ok is False (P undefined) when one does not. The test: H + c T − floor·I is
    positive definite, c T being the translations at curvature c = :data:`TRANSLATION_CURVATURE`
    (> floor; T the projector on them). Then P = (H + c T)⁻¹ − T / c, the inverse column by
    column from the factors."""
    m = x.shape[0]
    a = np.empty((m, m))
    _hessian_into(x.reshape((m // 3, 3)), model, a)
    _add_translations(a, model, TRANSLATION_CURVATURE)
    h = a.copy()
    lo = np.empty((m, m))
    p = np.empty((m, m))
    for i in range(m):
        h[i, i] -= floor
    if not _cholesky(h, h, lo):
        return p, False
    h[:] = a
    if not _cholesky(h, h, lo):
        return p, False
    e = np.zeros(m)
    for k in range(m):  # row k of the symmetric inverse = its column k
        e[k] = 1.0
        _cholesky_solve(h, lo, e, p[k])
        e[k] = 0.0
    _add_translations(p, model, -1.0 / TRANSLATION_CURVATURE)
    for i in range(m):  # exactly symmetric (the L-BFGS kernels read its rows as columns)
        for j in range(i + 1, m):
            b = 0.5 * (p[i, j] + p[j, i])
            p[i, j] = b
            p[j, i] = b
    return p, True


@njit(cache=True, nogil=True)
def _lbfgs(x0, model, ftol, max_iter, max_step, memory, precond, precond_below, hess_after, pool=None):
    """Limited-memory BFGS from x0 (not modified), same line search and criterion as :func:`_quench`.

    Preconditioning, once max|F| < precond_below: H0 = γ·``precond`` when precond is not empty
    (a fixed matrix, e.g. the inverse Hessian of an IS), else γ I. With ``hess_after`` ≥ 0,
    H0 = γ·(Hessian at the current point)⁻¹ (Cholesky-factored, :func:`_hessian_factor`):
    at the switch when there is no fixed precond or hess_after is 0, otherwise after
    hess_after iterations with the fixed one. Where the Hessian is not positive definite the
    minimiser goes on as before and tries again once max|F| has fallen 10× further.

    Returns a :class:`QuenchResult`.
    """
    n = x0.shape[0]
    x, f, xt, ft, nl, e = _start(x0, model, pool)
    n_evals = 1
    s_hist = np.zeros((memory, 3 * n))
    y_hist = np.zeros((memory, 3 * n))
    rho = np.zeros(memory)
    alpha_c = np.zeros(memory)
    k_hist = 0
    d = np.empty(3 * n)
    has_p = precond.shape[0] == 3 * n
    use_p = has_p or hess_after >= 0
    # H0 in use: 0 = γ I, 1 = the fixed precond, 2 = the factored Hessian
    h0 = 0
    p_iters = 0  # iterations since H0 became the fixed precond
    hess_below = precond_below
    h_mat = np.empty((0, 0))
    h_lo = np.empty((0, 0))
    py_hist = np.zeros((memory if use_p else 0, 3 * n))  # P·y of each stored pair
    pf = np.empty(3 * n)  # P·f at x
    pf_new = np.empty(3 * n)
    converged = False
    failures = 0
    it = 0
    while it < max_iter:
        fmax = _max_force(f)
        if fmax < ftol:
            converged = True
            break
        if hess_after >= 0 and h0 != 2 and fmax < hess_below and (
                not has_p or h0 == 1 and p_iters >= hess_after or hess_after == 0):
            if h_mat.shape[0] == 0:
                h_mat = np.empty((3 * n, 3 * n))
                h_lo = np.empty((3 * n, 3 * n))
            if _hessian_factor(x, model, h_mat, h_lo):
                h0 = 2
                _cholesky_solve(h_mat, h_lo, f, pf)
                k_hist = 0  # the stored pairs have no P·y for this P: start afresh
            else:
                hess_below *= 0.1
        if has_p and h0 == 0 and fmax < precond_below:
            h0 = 1
            _matvec(precond, f, pf)
            k_hist = 0
        if h0 == 1:
            p_iters += 1
        # two-loop recursion: d = −H·g = H·f (explicit loops: no temporaries in the hot path)
        _copy(f, d)
        m = min(k_hist, memory)
        for j in range(m):
            idx = (k_hist - 1 - j) % memory
            a = rho[idx] * _dot(s_hist[idx], d)
            alpha_c[idx] = a
            _axpy(-a, y_hist[idx], d)
        if h0 > 0:
            # P·q = P·f − Σ a_j P·y_j, from vectors kept up to date (one product with P per iteration)
            _copy(pf, d)
            for j in range(m):
                idx = (k_hist - 1 - j) % memory
                _axpy(-alpha_c[idx], py_hist[idx], d)
            gamma = 1.0
            if m > 0:
                idx = (k_hist - 1) % memory
                gamma = _dot(s_hist[idx], y_hist[idx]) / _dot(y_hist[idx], py_hist[idx])
        elif m > 0:
            idx = (k_hist - 1) % memory
            gamma = _dot(s_hist[idx], y_hist[idx]) / _dot(y_hist[idx], y_hist[idx])
        else:
            gamma = min(1.0, 0.01 / fmax)
        for i in range(d.shape[0]):
            d[i] *= gamma
        for j in range(m - 1, -1, -1):
            idx = (k_hist - 1 - j) % memory
            b = rho[idx] * _dot(y_hist[idx], d)
            _axpy(alpha_c[idx] - b, s_hist[idx], d)
        if _dot(f, d) <= 0.0:
            _copy(f, d)
            k_hist = 0
        alpha_max = max_step / _max_force(d)
        alpha, e_new, ne, ok = _line_search(x, e, f, d, 1.0, alpha_max, xt, ft, model, nl, 0.9, pool)
        n_evals += ne
        it += 1
        if not ok:
            failures += 1
            if failures > 2:
                break
            k_hist = 0
            continue
        failures = 0
        idx = k_hist % memory
        _diff(xt, x, s_hist[idx])
        _diff(f, ft, y_hist[idx])  # y = g_new − g_old = −(f_new − f_old)
        if h0 == 1:
            _matvec(precond, ft, pf_new)
        elif h0 == 2:
            _cholesky_solve(h_mat, h_lo, ft, pf_new)
        if h0 > 0:
            _diff(pf, pf_new, py_hist[idx])
            _copy(pf_new, pf)
        sy = _dot(s_hist[idx], y_hist[idx])
        if sy > 0.0:
            rho[idx] = 1.0 / sy
            k_hist += 1
        _copy(xt, x)
        _copy(ft, f)
        e = e_new
    return QuenchResult(x.reshape((n, 3)), e, _max_force(f), n_evals, it, converged)
