"""The sparse Hessian, the lowest modes by Lanczos and the saddle polish on them, against the dense path."""

import numpy as np
import pytest
import scipy.sparse as sp

import tlsviz
import tlsviz.system
from tlsviz.engine import modes
from tlsviz.engine.modes import translation_basis
from tlsviz.engine.saddle import mass_weighted_unstable_mode, ridge_saddle
from tlsviz.engine.surfaces import SystemSurface


@pytest.fixture(scope="module")
def glass260():
    """A quenched N = 260 glass (L-BFGS from a random start) and its system."""
    s = tlsviz.KobAndersen(n=260)
    q = s.quench(s.random_positions(seed=3), method="lbfgs")
    assert q.converged
    return s, q.positions


@pytest.mark.parametrize("copies", [1, 2])
def test_sparse_hessian_is_the_dense_one(copies):
    """Same entries (the same bits: same arithmetic and summation order), 3 × 3 blocks, exactly
    symmetric, no coupling between the copies; at N = 260 (cell list) and 2 × 260. Cost: ~1 s."""
    s = tlsviz.KobAndersen(n=260, copies=copies)
    x = s.random_positions(seed=1)
    x += 0.01 * np.random.default_rng(0).standard_normal(x.shape) + 7.3  # unwrapped positions
    hs = s.hessian(x, sparse=True)
    assert isinstance(hs, sp.bsr_array) and hs.blocksize == (3, 3)
    hd = s.hessian(x)
    np.testing.assert_array_equal(hs.toarray(), hd)  # the same arithmetic in the same order: same bits
    assert (hs - hs.T).count_nonzero() == 0
    assert 25 < hs.nnz / 9 / s.n_particles < 35  # ~30 neighbours within r_c at density 1.2
    if copies == 2:
        assert np.abs(hs.toarray()[:780, 780:]).max() == 0.0


def test_lowest_modes_are_the_dense_eigenvalues(glass260):
    """modes(x, k, sparse=True) (Lanczos) gives the k lowest dense eigenvalues, translations
    removed, with eigenvectors orthogonal to them. Cost: ~2 s."""
    s, x = glass260
    dense = s.modes(x)
    m = s.modes(x, k=10, sparse=True)
    assert not m.complete and m.eigenvalues.shape == (10,) and m.eigenvectors.shape == (780, 10)
    np.testing.assert_allclose(m.eigenvalues, dense.eigenvalues[:10], rtol=1e-9, atol=1e-10)
    assert m.n_negative == dense.n_negative == 0
    t = translation_basis(s.group)
    assert np.abs(t.T @ m.eigenvectors).max() < 1e-8
    h = s.hessian(x, sparse=True)
    assert np.abs(h @ m.eigenvectors - m.eigenvectors * m.eigenvalues).max() < 1e-6
    cut = s.modes(x, k=10, sparse=False)
    np.testing.assert_array_equal(cut.eigenvalues, dense.eigenvalues[:10])
    auto = s.modes(x, k=4, vectors=False)  # sparse=None: dense at N = 260
    np.testing.assert_array_equal(auto.eigenvalues, s.modes(x, vectors=False).eigenvalues[:4])


def test_lowest_modes_of_two_copies_remove_six_translations(glass260):
    """2 × 260: copy 0 the glass, copy 1 a shifted copy of it; the lowest modes are those of the
    one copy, each twice, and none is a translation. Cost: ~2 s."""
    one, x = glass260
    two = tlsviz.KobAndersen(n=260, copies=2)
    xx = np.vstack([x, x + 0.37])
    w1 = one.modes(x, vectors=False).eigenvalues[:3]
    m = two.modes(xx, k=6, sparse=True)
    np.testing.assert_allclose(m.eigenvalues, np.repeat(w1, 2), rtol=1e-8)
    assert m.translation_eigenvalues.shape == (6,) and np.abs(m.translation_eigenvalues).max() < 1e-8
    np.testing.assert_allclose(two.modes(xx, k=6, sparse=False, vectors=False).eigenvalues, m.eigenvalues, rtol=1e-8)


def test_chebyshev_filtered_lanczos_gives_the_dense_eigenpairs(glass260):
    """lowest_modes(solver="chebyshev") (the default from FILTER_MIN_ROWS rows on, forced here at
    N = 260): the k lowest dense eigenvalues to 1e-9 with unit eigenvectors orthogonal to the
    translations, the same bits run to run; k = 10 (λ₁₀ = 9.6 > FILTER_EDGE / 2) goes through the
    raised edge and still says "chebyshev"; below FILTER_MIN_ROWS "auto" is the plain Lanczos.
    Cost: ~1 s."""
    s, x = glass260
    dense = s.modes(x, vectors=False).eigenvalues
    h, t = s.hessian(x, sparse=True), translation_basis(s.group)
    assert dense[2] < modes.FILTER_EDGE / 2 < dense[9] < modes.FILTER_EDGE  # both paths below are taken
    for k, hk in ((3, h), (10, h), (3, sp.csr_array(h))):  # BSR (compiled products) and CSR (scipy's)
        m = modes.lowest_modes(hk, t, k, solver="chebyshev")
        assert m.solver == "chebyshev" and not m.complete
        np.testing.assert_allclose(m.eigenvalues, dense[:k], rtol=1e-9)
        assert np.abs(t.T @ m.eigenvectors).max() < 1e-8
        np.testing.assert_allclose(np.linalg.norm(m.eigenvectors, axis=0), 1.0, rtol=1e-12)
        assert np.abs(h @ m.eigenvectors - m.eigenvectors * m.eigenvalues).max() < 1e-6
        again = modes.lowest_modes(hk, t, k, solver="chebyshev", vectors=False)
        np.testing.assert_array_equal(again.eigenvalues, m.eigenvalues)
    assert modes.lowest_modes(h, t, 3).solver == s.modes(x, k=3, sparse=True).solver == "lanczos"
    with pytest.raises(ValueError, match="solver must be"):
        modes.lowest_modes(h, t, 3, solver="lobpcg")


def test_compiled_filter_step_is_the_product_and_the_same_bits_on_any_thread_count(glass260):
    """The filter's compiled step (modes._filter_step, BSR 3 × 3 blocks on numba's threads)
    against the scipy product and the recurrence written in numpy (to 1e-12 relative), for the
    first step and a later one; one thread and two give the same bits, step by step and for the
    whole lowest_modes (eigenvalues and eigenvectors; one thread runs the serial build of the
    kernel, two the threaded one); bad thread counts are refused."""
    import numba

    s, x = glass260
    h, t = s.hessian(x, sparse=True), translation_basis(s.group)
    alpha = float(np.max(np.abs(h).sum(axis=1)))
    rng = np.random.default_rng(1)
    y1, y0 = rng.standard_normal(h.shape[0]), rng.standard_normal(h.shape[0])
    centre, half = 1000.0, 990.0
    a_y1 = h @ y1 + alpha * (t @ (t.T @ y1))
    want = {True: (centre * y1 - a_y1) / half, False: (2.0 / half) * (centre * y1 - a_y1) - y0}
    kept = numba.get_num_threads()
    try:
        for first in (True, False):
            got = []
            for threads, step in ((1, modes._filter_step), (2, modes._filter_step), (1, modes._filter_step_serial)):
                numba.set_num_threads(threads)
                out = np.empty_like(y1)
                step(h.data, h.indices, h.indptr, np.ascontiguousarray(t), alpha, centre, half, y1, y0, out, first)
                got.append(out)
            np.testing.assert_allclose(got[0], want[first], rtol=0, atol=1e-12 * np.abs(want[first]).max())
            np.testing.assert_array_equal(got[0], got[1])
            np.testing.assert_array_equal(got[0], got[2])
    finally:
        numba.set_num_threads(kept)
    one = modes.lowest_modes(h, t, 3, solver="chebyshev", threads=1)
    two = modes.lowest_modes(h, t, 3, solver="chebyshev", threads=2)
    assert one.solver == two.solver == "chebyshev"
    np.testing.assert_array_equal(one.eigenvalues, two.eigenvalues)
    np.testing.assert_array_equal(one.eigenvectors, two.eigenvectors)
    assert numba.get_num_threads() == kept  # lowest_modes gives the thread count back
    for bad in (0, -1, 1.5, "2", True, None, 10 ** 6):
        with pytest.raises(ValueError, match="threads must be a whole number"):
            modes.lowest_modes(h, t, 3, solver="chebyshev", threads=bad)


def test_chebyshev_filter_falls_back_to_lanczos_and_says_so(glass260, monkeypatch):
    """A spectrum far above every edge the filter tries (the Hessian × 1000: λ₁ ≈ 1900 against
    edges 10, 40, 160): the filtered Lanczos does not converge (or its k Ritz values of p(A) are
    not above 1), and the plain Lanczos gives the right eigenvalues, the result saying it was a
    fallback. FILTER_MAXITER lowered to 10 restarts to keep it short. Cost: ~1 s."""
    monkeypatch.setattr(modes, "FILTER_MAXITER", 10)
    s, x = glass260
    dense = s.modes(x, vectors=False).eigenvalues
    h, t = 1000.0 * s.hessian(x, sparse=True), translation_basis(s.group)
    m = modes.lowest_modes(h, t, 3, solver="chebyshev", vectors=False)
    assert m.solver.startswith("lanczos (fallback: ") and "edge 160" in m.solver
    np.testing.assert_allclose(m.eigenvalues, 1000.0 * dense[:3], rtol=1e-9)


def test_dense_hessian_too_big_for_memory_names_the_sparse_option(glass260, monkeypatch):
    s, x = glass260
    monkeypatch.setattr(tlsviz.system, "available_memory", lambda: 10**6)
    with pytest.raises(ValueError, match=r"needs 4\.9 MB and 1\.0 MB.*hessian\(x, sparse=True\)"):
        s.hessian(x)
    with pytest.raises(ValueError, match=r"modes\(x, k=\.\.\., sparse=True\)"):
        s.modes(x)
    with pytest.raises(ValueError, match="needs k"):
        s.modes(x, sparse=True)
    with pytest.raises(ValueError, match="k must be"):
        s.modes(x, k=0)
    assert s.hessian(x, sparse=True).shape == (780, 780)  # the sparse path needs no dense memory
    assert s.modes(x, k=3, sparse=True).n_negative == 0


@pytest.mark.parametrize("filtered", [False, True])
def test_sparse_saddle_polish_finds_the_dense_saddle(ka65, certified, monkeypatch, filtered):
    """The ridge saddle of a certified pair with the sparse polish (P-RFO on Lanczos modes and
    CG solves) is the dense polish's saddle; the sparse certification counts one negative
    mode there, and the unstable mode is the dense one. With plain Lanczos (as at N = 65) and
    with the Chebyshev filter (the default from FILTER_MIN_ROWS rows on, lowered here to run it
    at N = 65). Cost: ~1 s each."""
    import tlsviz.engine.sparse_saddle as sparse_saddle

    if filtered:
        monkeypatch.setattr(modes, "FILTER_MIN_ROWS", 0)
    solvers = []

    def spy(*args, **kw):
        assert isinstance(args[0], sp.bsr_array) and args[0].blocksize == (3, 3)  # compiled filter steps
        m = modes.lowest_modes(*args, **kw)
        solvers.append(m.solver)
        return m

    monkeypatch.setattr(sparse_saddle, "lowest_modes", spy)
    x1, x2 = certified["is_positions"][2], certified["min_positions"][2]
    d = x2 - x1
    x1, x2 = x1.ravel(), (x1 + d - ka65.box * np.rint(d / ka65.box)).ravel()
    out = {}
    for sparse in (False, True):
        surface = SystemSurface(ka65)
        surface.sparse = sparse
        res = ridge_saddle(surface, x1, x2)
        assert res.converged
        out[sparse] = (res, mass_weighted_unstable_mode(surface, res.positions))
    (rd, ud), (rs, us) = out[False], out[True]
    assert ka65.distance(rd.positions.reshape(65, 3), rs.positions.reshape(65, 3)) < 1e-7
    assert rs.energy == pytest.approx(rd.energy, abs=1e-10)
    assert abs(ud @ us) / np.linalg.norm(ud) / np.linalg.norm(us) > 1 - 1e-8
    xs = rs.positions.reshape(65, 3)
    ms, md = ka65.modes(xs, k=10, sparse=True, vectors=False), ka65.modes(xs, vectors=False)
    assert ms.n_negative == md.n_negative == 1
    assert ms.eigenvalues[0] == pytest.approx(md.eigenvalues[0], rel=1e-9)
    assert ms.solver == ("chebyshev" if filtered else "lanczos")
    assert solvers and set(solvers) == {ms.solver}  # the polish and the unstable mode ran it too


def test_certification_uses_the_lowest_modes_from_the_sparse_size_on(glass260, monkeypatch):
    """certify_minimum (and verify_pair's checks) count negative modes among the CERT_MODES
    lowest from SPARSE_MIN_N particles on, lowered here to 200 to run at N = 260: the same
    verdict and lowest eigenvalue as the dense analysis. Cost: ~1 s."""
    import tlsviz.search.verify as verify

    s, x = glass260
    dense = verify.certify_minimum(s, x)
    monkeypatch.setattr(verify, "SPARSE_MIN_N", 200)
    m = verify.certifying_modes(s, x)
    assert not m.complete and len(m.eigenvalues) == verify.CERT_MODES
    sparse = verify.certify_minimum(s, x)
    assert sparse["is_certified"] and dense["is_certified"] and sparse["is_negative_modes"] == 0
    assert sparse["is_lowest_eigenvalue"] == pytest.approx(dense["is_lowest_eigenvalue"], rel=1e-9)


def test_available_memory_is_the_smaller_of_host_and_cgroup_room(tmp_path, monkeypatch):
    """In a container the cgroup limit, not /proc/meminfo, bounds what a dense Hessian may use."""
    from tlsviz.engine import sparse_hessian as sh

    monkeypatch.setattr(sh, "_host_room", lambda: 8 * 10**9)
    monkeypatch.setattr(sh, "_cgroup_room", lambda: 10**9)
    assert sh.available_memory() == 10**9
    monkeypatch.setattr(sh, "_cgroup_room", lambda: None)  # no limit: the host's memory
    assert sh.available_memory() == 8 * 10**9
