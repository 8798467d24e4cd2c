"""Polak–Ribière conjugate gradient quench and the Hessian certification of minima."""

import numpy as np
import pytest


def test_quench_reaches_the_lammps_inherent_structure(ka65, lammps_ref):
    q = ka65.quench(lammps_ref["n65_snapshot_positions"])
    assert q.converged and q.grad_norm < 1e-10
    assert q.n_evals > q.n_iter > 0
    assert q.energy == pytest.approx(float(lammps_ref["n65_is_energy"]), abs=1e-9)
    assert ka65.distance(q.positions, lammps_ref["n65_is_positions"]) < 1e-6


def test_quench_reports_its_own_state(ka65, lammps_ref):
    x = lammps_ref["n65_snapshot_positions"]
    q = ka65.quench(x)
    e, f = ka65.energy_forces(q.positions)
    assert q.energy == pytest.approx(e, abs=1e-12)
    assert q.grad_norm == pytest.approx(np.max(np.linalg.norm(f, axis=1)), rel=1e-12)
    # the input is not modified
    assert np.array_equal(x, lammps_ref["n65_snapshot_positions"])


def test_unconverged_quench_says_so(ka65, lammps_ref):
    q = ka65.quench(lammps_ref["n65_snapshot_positions"], max_iter=5)
    assert not q.converged and q.grad_norm > 1e-10 and q.n_iter == 5


def test_quenched_is_has_no_negative_mode_and_three_zero_modes(ka65, is65):
    m = ka65.modes(is65.positions)
    assert m.n_negative == 0
    assert m.eigenvalues.shape == (3 * 65 - 3,)
    assert m.lowest > 1e-3
    np.testing.assert_allclose(m.translation_eigenvalues, 0.0, atol=1e-9)
    raw = np.linalg.eigvalsh(ka65.hessian(is65.positions))
    assert np.sum(np.abs(raw) < 1e-8) == 3
    assert np.sum(raw < -1e-8) == 0


def test_tight_enough_to_tell_close_minima_apart(ka65, is65):
    """Two quenches from points 1e-3 apart in the same basin land within 1e-7 of each other."""
    rng = np.random.default_rng(0)
    a = ka65.quench(is65.positions + 1e-3 * rng.standard_normal((65, 3)))
    b = ka65.quench(is65.positions + 1e-3 * rng.standard_normal((65, 3)))
    assert a.converged and b.converged
    assert ka65.distance(a.positions, b.positions) < 1e-7
    assert ka65.distance(a.positions, is65.positions) < 1e-7


@pytest.mark.parametrize("neighbor", ["verlet", "cells"])
def test_quench_large_system(lammps_ref, neighbor):
    import tlsviz

    system = tlsviz.KobAndersen(n=2000, neighbor=neighbor)
    assert tlsviz.KobAndersen(n=2000).neighbor == "verlet"  # the default for large boxes
    # start near the LAMMPS IS: the same minimum must be found
    x = lammps_ref["n2000_is_positions"] + 1e-3 * np.random.default_rng(1).standard_normal((2000, 3))
    q = system.quench(x, method="lbfgs")
    assert q.converged
    assert q.energy == pytest.approx(float(lammps_ref["n2000_is_energy"]), abs=1e-8)


def test_lbfgs_is_as_tight_as_cg_and_reaches_the_same_minimum(ka65, lammps_ref):
    x = lammps_ref["n65_snapshot_positions"]
    cg = ka65.quench(x)
    lb = ka65.quench(x, method="lbfgs")
    assert lb.converged and lb.grad_norm < 1e-10
    assert lb.energy == pytest.approx(cg.energy, abs=1e-10)
    assert ka65.distance(lb.positions, cg.positions) < 1e-7
    assert lb.n_evals < cg.n_evals
    assert ka65.modes(lb.positions).n_negative == 0
    with pytest.raises(ValueError, match="method must be one of"):
        ka65.quench(x, method="fire")


def test_preconditioned_tries_end_in_the_same_minima_with_fewer_evaluations(ka65, certified):
    """L-BFGS with the IS's inverse Hessian as H0 below max|F| = 0.1 (the search tries), and
    the search's default that factors the Hessian where P stops helping, end every try in the
    minimum plain L-BFGS reaches, converged as tightly, in fewer evaluations."""
    from tlsviz.engine import minimize
    from tlsviz.search import SearchParams, hessian_preconditioner, run_try

    x_is = ka65.quench(certified["is_positions"][1]).positions
    p = hessian_preconditioner(ka65, x_is)
    h = ka65.hessian(x_is)
    assert p.shape == (195, 195) and np.allclose(p, p.T, atol=1e-12)
    # P inverts H away from the translations: H P H = H
    np.testing.assert_allclose(h @ p @ h, h, atol=1e-8 * np.abs(h).max())
    plain = SearchParams(t_search=0.5, minimizer="lbfgs", precondition=False)
    assert hessian_preconditioner(ka65, x_is, plain).shape == (0, 0)
    variants = {"lbfgs+P": SearchParams(t_search=0.5, minimizer="lbfgs"),
                "default": SearchParams(t_search=0.5)}  # tries that mostly return to the IS
    evals = {"plain": 0, "lbfgs+P": 0, "default": 0}
    back = 0
    for k in range(30):
        a = run_try(ka65, x_is, k, seed=5, params=plain)
        evals["plain"] += a.n_evals
        assert a.converged
        for name, params in variants.items():
            b = run_try(ka65, x_is, k, seed=5, params=params, precond=p)
            assert b.converged and b.grad_norm < minimize.FTOL
            assert abs(a.energy - b.energy) < 1e-9 and ka65.distance(a.positions, b.positions) < 1e-6
            evals[name] += b.n_evals
        back += ka65.distance(b.positions, x_is) < 1e-4
    assert 0 < back < 30  # both kinds of try: back to the IS and to another minimum
    assert evals["lbfgs+P"] < 0.8 * evals["plain"]
    assert evals["default"] <= evals["lbfgs+P"]


def test_preconditioned_tries_at_the_search_defaults(ka65, certified):
    """At the default T_search more tries leave the IS, for minima where the IS's Hessian fits
    less well; the γ-scaled preconditioner still reaches plain L-BFGS's minimum in each, and
    the default, which then factors the Hessian at the try's own point, needs fewer evaluations
    still."""
    from tlsviz.search import SearchParams, hessian_preconditioner, run_try

    x_is = ka65.quench(certified["is_positions"][2]).positions
    p = hessian_preconditioner(ka65, x_is)
    plain = SearchParams(minimizer="lbfgs", precondition=False)
    with_p = SearchParams(minimizer="lbfgs")
    evals_p = evals_0 = evals_h = away = 0
    for k in range(40):
        a = run_try(ka65, x_is, k, seed=3, params=plain)
        b = run_try(ka65, x_is, k, seed=3, params=with_p, precond=p)
        c = run_try(ka65, x_is, k, seed=3, precond=p)
        assert a.converged and b.converged and c.converged
        for q in (b, c):
            assert abs(a.energy - q.energy) < 1e-9 and ka65.distance(a.positions, q.positions) < 1e-6
        away += ka65.distance(b.positions, x_is) > 1e-4
        evals_0 += a.n_evals
        evals_p += b.n_evals
        evals_h += c.n_evals
    assert away >= 5  # tries that leave the IS (7 of these 40)
    assert evals_p < 0.8 * evals_0
    # 100 MD steps per try are counted in every variant: compare the quenches (2517 and 2898
    # evaluations here, where most tries return to the IS and P alone serves them)
    assert evals_h - 40 * 101 < 0.95 * (evals_p - 40 * 101)


def test_hessian_lbfgs_takes_newton_steps_to_the_same_minimum(ka65, lammps_ref):
    """"lbfgs-hessian" from the T = 0.5 snapshot: the minimum of CG and plain L-BFGS, as tight,
    in far fewer evaluations (the tail of the quench is Newton steps on the factored Hessian)."""
    x = lammps_ref["n65_snapshot_positions"]
    lb = ka65.quench(x, method="lbfgs")
    hl = ka65.quench(x, method="lbfgs-hessian")
    assert hl.converged and hl.grad_norm < 1e-10
    assert hl.energy == pytest.approx(lb.energy, abs=1e-10)
    assert ka65.distance(hl.positions, lb.positions) < 1e-7
    assert hl.n_evals < 0.5 * lb.n_evals
    assert ka65.modes(hl.positions).n_negative == 0


def test_hessian_lbfgs_on_two_copies(lammps_ref):
    """The "2 × N" system has six rigid translations (three per copy): the factored Hessian
    must treat all of them, and the quench still ends in a certified minimum of both halves."""
    import tlsviz

    two = tlsviz.KobAndersen(n=65, copies=2)
    x = np.concatenate([lammps_ref["n65_snapshot_positions"]] * 2)
    x[65:] += 0.01 * np.random.default_rng(4).standard_normal((65, 3))
    hl = two.quench(x, method="lbfgs-hessian")
    lb = two.quench(x, method="lbfgs")
    assert hl.converged and hl.grad_norm < 1e-10
    assert hl.n_evals < lb.n_evals
    assert two.modes(hl.positions).n_negative == 0


def test_hessian_lbfgs_rolls_off_a_saddle(ka65, certified):
    """From next to a certified saddle the forces are already below the switch, but the Hessian
    is indefinite there: the factorisation fails, the quench goes on as plain L-BFGS, factors
    again further down and still ends in a certified minimum below the saddle."""
    xs = certified["saddle_positions"][0]
    mode = ka65.modes(xs).unstable_mode
    for sign in (-1.0, 1.0):
        q = ka65.quench(xs + sign * 1e-3 * mode / np.abs(mode).max(), method="lbfgs-hessian")
        assert q.converged and q.grad_norm < 1e-10
        assert q.energy < float(certified["E_saddle"][0]) - 1e-4
        assert ka65.modes(q.positions).n_negative == 0


def test_hessian_factor_fails_at_a_saddle_and_solves_at_a_minimum(ka65, certified):
    """The Cholesky factor exists exactly where the Hessian (translations lifted) is positive
    definite: at a certified minimum, not at a certified first-order saddle; its solve inverts it."""
    from tlsviz.engine import minimize

    h = np.empty((195, 195))
    lo = np.empty((195, 195))
    assert not minimize._hessian_factor(certified["saddle_positions"][0].ravel(), ka65.model, h, lo)
    x = certified["is_positions"][0].ravel()
    assert minimize._hessian_factor(x, ka65.model, h, lo)
    hm = ka65.hessian(x.reshape(65, 3)) + minimize.TRANSLATION_CURVATURE / 65 * np.kron(np.ones((65, 65)), np.eye(3))
    v = np.random.default_rng(0).standard_normal(195)
    out = np.empty(195)
    minimize._cholesky_solve(h, lo, v, out)
    np.testing.assert_allclose(hm @ out, v, atol=1e-9)


@pytest.mark.parametrize("m", [1, 3, 4, 7, 13, 21, 64])
def test_cholesky_matches_numpy(m):
    from tlsviz.engine.cholesky import _cholesky, _cholesky_solve

    rng = np.random.default_rng(m)
    a = rng.standard_normal((m, m))
    spd = a @ a.T + m * np.eye(m)
    u = np.empty((m, m))
    lo = np.empty((m, m))
    assert _cholesky(spd, u, lo)
    np.testing.assert_allclose(np.triu(u), np.linalg.cholesky(spd).T, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(np.tril(lo), np.triu(u).T)
    v = rng.standard_normal(m)
    out = np.empty(m)
    _cholesky_solve(u, lo, v, out)
    np.testing.assert_allclose(out, np.linalg.solve(spd, v), rtol=1e-10, atol=1e-12)
    spd[m // 2, m // 2] = -1.0  # no longer positive definite
    assert not _cholesky(spd, u, lo)


@pytest.mark.parametrize("m", [5, 19, 30])
def test_blocked_cholesky_is_the_textbook_order_bit_for_bit(m):
    """The blocked factorisation and solves give the same bits as the plain outer-product
    algorithm, one column at a time: blocking changes the memory traffic, not the arithmetic
    (so the search's quenches, and the demo catalogue, do not depend on the block size)."""
    from tlsviz.engine.cholesky import _cholesky, _cholesky_solve

    rng = np.random.default_rng(m)
    a = rng.standard_normal((m, m))
    spd = a @ a.T + m * np.eye(m)
    ref = np.triu(spd)
    for j in range(m):
        ref[j, j] = np.sqrt(ref[j, j])
        ref[j, j + 1:] *= 1.0 / ref[j, j]
        for i in range(j + 1, m):
            ref[i, i:] -= ref[j, i] * ref[j, i:]
    u = np.empty((m, m))
    lo = np.empty((m, m))
    assert _cholesky(spd, u, lo)
    np.testing.assert_array_equal(np.triu(u), ref)
    v = rng.standard_normal(m)
    y = v.copy()
    for j in range(m):  # Uᵀ y = v, column by column
        y[j] /= ref[j, j]
        y[j + 1:] -= y[j] * ref[j, j + 1:]
    for j in range(m - 1, -1, -1):  # U x = y
        y[j] /= ref[j, j]
        y[:j] -= y[j] * ref[:j, j]
    out = np.empty(m)
    _cholesky_solve(u, lo, v, out)
    np.testing.assert_array_equal(out, y)


def test_compiled_preconditioner_is_the_pseudo_inverse_and_falls_back_below_the_floor(ka65, certified):
    """At an IS, hessian_preconditioner's compiled inverse (Cholesky factors of H plus the
    translations) equals the eigendecomposition's pseudo-inverse; where a curvature is below
    the floor (a saddle: one is negative) the compiled one declines and the eigendecomposition,
    with the curvatures raised to the floor, gives P."""
    from tlsviz.engine import minimize
    from tlsviz.search import PRECOND_FLOOR, hessian_preconditioner

    def by_eigh(x):
        lam, vec = np.linalg.eigh(ka65.hessian(x))
        inv = 1.0 / np.maximum(lam, PRECOND_FLOOR)
        inv[np.argsort(np.abs(lam))[:3]] = 0.0
        return (vec * inv) @ vec.T

    x_is = certified["is_positions"][1]
    p, ok = minimize._inverse_hessian(x_is.ravel(), ka65.model, PRECOND_FLOOR)
    assert ok
    np.testing.assert_array_equal(p, p.T)
    want = by_eigh(x_is)
    np.testing.assert_allclose(p, want, atol=1e-12 * np.abs(want).max())
    np.testing.assert_array_equal(hessian_preconditioner(ka65, x_is), p)
    # a floor above the IS's softest curvature: declined
    soft = np.sort(np.linalg.eigvalsh(ka65.hessian(x_is)))[3]
    assert not minimize._inverse_hessian(x_is.ravel(), ka65.model, 1.01 * soft)[1]
    x_s = certified["saddle_positions"][1]
    assert not minimize._inverse_hessian(x_s.ravel(), ka65.model, PRECOND_FLOOR)[1]
    np.testing.assert_allclose(hessian_preconditioner(ka65, x_s), by_eigh(x_s), atol=1e-10)
