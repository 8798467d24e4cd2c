"""The shifted-force LJ potential: against LAMMPS, a plain-numpy loop and finite differences."""

import numpy as np
import pytest

import tlsviz
from tlsviz.engine.params import LJParams

import naive


@pytest.mark.parametrize("n", [65, 130, 260, 2000, 8000])
@pytest.mark.parametrize("tag", ["snapshot", "is"])
def test_energy_forces_match_lammps(lammps_ref, n, tag):
    system = tlsviz.KobAndersen(n=n)
    assert np.array_equal(system.types, lammps_ref[f"n{n}_types"])
    assert system.box == pytest.approx(float(lammps_ref[f"n{n}_box"]), rel=1e-14)
    e, f = system.energy_forces(lammps_ref[f"n{n}_{tag}_positions"])
    e_ref = float(lammps_ref[f"n{n}_{tag}_energy"])
    f_ref = lammps_ref[f"n{n}_{tag}_forces"]
    assert abs(e - e_ref) <= 1e-10 * abs(e_ref)
    # forces vanish at an IS, so compare them on the scale of a typical pair force (~1 ε/σ)
    assert np.max(np.abs(f - f_ref)) <= 1e-11


def test_matches_plain_numpy_loop(ka65, lammps_ref):
    x = lammps_ref["n65_snapshot_positions"]
    e, f = ka65.energy_forces(x)
    e_ref, f_ref = naive.energy_forces(x, ka65.types, ka65.box)
    assert e == pytest.approx(e_ref, rel=1e-13)
    np.testing.assert_allclose(f, f_ref, atol=1e-11)


def test_forces_are_minus_gradient(ka65, lammps_ref):
    x = lammps_ref["n65_snapshot_positions"].copy()
    _, f = ka65.energy_forces(x)
    rng = np.random.default_rng(3)
    h = 1e-6
    for i, k in zip(rng.integers(0, 65, 12), rng.integers(0, 3, 12)):
        xp, xm = x.copy(), x.copy()
        xp[i, k] += h
        xm[i, k] -= h
        fd = -(ka65.energy(xp) - ka65.energy(xm)) / (2 * h)
        assert f[i, k] == pytest.approx(fd, rel=1e-6, abs=1e-6)


def test_hessian_against_finite_differences_and_symmetric(ka65, is65):
    x = is65.positions
    h = ka65.hessian(x)
    fd = naive.hessian_fd(lambda y: ka65.energy_forces(y)[1], x)
    np.testing.assert_allclose(h, h.T, atol=1e-12)
    assert np.max(np.abs(h - fd)) < 1e-6 * np.max(np.abs(h))


def test_hessian_includes_the_shift_term(ka65, lammps_ref):
    """A pair just inside r_c: V'' (no shift) and V'/r (with the b·r shift) both matter."""
    system = ka65
    x = lammps_ref["n65_snapshot_positions"]
    h = system.hessian(x)
    fd = naive.hessian_fd(lambda y: system.energy_forces(y)[1], x)
    np.testing.assert_allclose(h, fd, atol=1e-4 * np.max(np.abs(h)))


def _isolated_pair(system, i, j, r):
    """All particles on a lattice of spacing 4 > r_c, then j placed at distance r from i."""
    grid = np.stack(np.meshgrid(*[np.arange(5)] * 3, indexing="ij"), -1).reshape(-1, 3) * 4.0
    x = grid[: system.n_particles].astype(float)
    x[j] = x[i] + [r, 0.0, 0.0]
    return x


@pytest.mark.parametrize("ti,tj", [(0, 0), (0, 1), (1, 1)])
def test_energy_and_force_continuous_at_cutoff(ti, tj):
    system = tlsviz.KobAndersen(n=65, density=0.005)  # L = 23.5: room for isolated pairs
    i = 0 if ti == 0 else 60
    j = 1 if tj == 0 else 61
    rc = system.rc
    for delta in (1e-3, 1e-5):
        e_in, f_in = system.energy_forces(_isolated_pair(system, i, j, rc - delta))
        e_out, f_out = system.energy_forces(_isolated_pair(system, i, j, rc + delta))
        # V(rc) = V'(rc) = 0: inside, energy is O(δ²) and force O(δ); outside, exactly zero.
        assert e_out == 0.0 and np.all(f_out == 0.0)
        assert abs(e_in) < 20 * delta**2
        assert np.max(np.abs(f_in)) < 20 * delta
    # and the pair energy inside matches the formula
    r = 1.1
    e, _ = system.energy_forces(_isolated_pair(system, i, j, r))
    assert e == pytest.approx(float(naive.pair_energy(r, naive.SIGMA[ti, tj], naive.EPSILON[ti, tj])), rel=1e-13)


def test_zero_total_force_and_translation_invariance(ka65, lammps_ref):
    x = lammps_ref["n65_snapshot_positions"]
    e, f = ka65.energy_forces(x)
    assert np.max(np.abs(f.sum(axis=0))) < 1e-10
    shift = np.array([0.37, -1.21, 5.3])
    e2, f2 = ka65.energy_forces(x + shift)
    assert e2 == pytest.approx(e, rel=1e-13)
    np.testing.assert_allclose(f2, f, atol=1e-10)
    # folding into the box (positions are unwrapped on input) changes nothing either
    e3, _ = ka65.energy_forces(np.mod(x, ka65.box))
    assert e3 == pytest.approx(e, rel=1e-13)


@pytest.mark.parametrize("tag", ["snapshot", "is"])
def test_cell_list_equals_all_pairs(lammps_ref, tag):
    x = lammps_ref[f"n2000_{tag}_positions"]
    cells = tlsviz.KobAndersen(n=2000, neighbor="cells")
    pairs = tlsviz.KobAndersen(n=2000, neighbor="all-pairs")
    e1, f1 = cells.energy_forces(x)
    e2, f2 = pairs.energy_forces(x)
    assert e1 == pytest.approx(e2, rel=1e-13)
    np.testing.assert_allclose(f1, f2, atol=1e-11)


def test_two_copies_energy_is_sum_of_halves(lammps_ref):
    two = tlsviz.KobAndersen(n=65, copies=2)
    one = tlsviz.KobAndersen(n=65)
    assert two.n_particles == 130 and two.box == one.box
    assert np.array_equal(two.types, np.tile(one.types, 2))
    xa = lammps_ref["n65_snapshot_positions"]
    xb = lammps_ref["n65_is_positions"] + 0.3  # overlapping with copy a: must not matter
    e, f = two.energy_forces(np.vstack([xa, xb]))
    ea, fa = one.energy_forces(xa)
    eb, fb = one.energy_forces(xb)
    assert e == pytest.approx(ea + eb, rel=1e-14)
    np.testing.assert_allclose(f, np.vstack([fa, fb]), atol=1e-12)
    ref, _ = naive.energy_forces(np.vstack([xa, xb]), two.types, two.box, two.group)
    assert e == pytest.approx(ref, rel=1e-13)


def test_verlet_list_runs_match_all_pairs(lammps_ref):
    """MD and quench through the Verlet list (rebuilt as particles move) against all pairs."""
    from tlsviz.engine import potential

    x = lammps_ref["n260_snapshot_positions"]
    verlet = tlsviz.KobAndersen(n=260, neighbor="verlet")
    pairs = tlsviz.KobAndersen(n=260, neighbor="all-pairs")
    from tlsviz.system import VERLET_SKIN

    assert verlet.skin == pytest.approx(VERLET_SKIN)
    v = verlet.maxwell_velocities(0.8, seed=3)
    xv, vv = verlet.nve(x, v, steps=300)   # 300 steps at T ≈ 0.8: many list rebuilds
    xp, vp = pairs.nve(x, v, steps=300)
    np.testing.assert_allclose(xv, xp, atol=1e-8)
    nl = potential._new_neighbor_list(x, verlet.model)
    e_nl = potential._energy_forces_nl(xv, np.empty_like(xv), verlet.model, nl)
    assert nl.builds[0] == 2  # moved far: the list was rebuilt before evaluating
    assert e_nl == pytest.approx(pairs.energy(xv), rel=1e-13)
    qv, qp = verlet.quench(x), pairs.quench(x)
    assert qv.converged and qv.energy == pytest.approx(qp.energy, abs=1e-9)
    assert verlet.distance(qv.positions, qp.positions) < 1e-6


def test_small_box_kernel_needs_a_particles_first():
    """The SIMD kernel takes each copy as its A particles, then its B particles; a model whose
    types are in another order (or of one type only) is left to the scalar loop, which gives
    the same energy and forces as the kernel on the same particles sorted."""
    from tlsviz.engine import potential

    system = tlsviz.KobAndersen(n=65, neighbor="all-pairs")
    x = system.random_positions(seed=3) + np.random.default_rng(3).normal(0, 0.1, (65, 3))
    order = np.random.default_rng(4).permutation(65)
    model = system.model._replace(types=system.types[order])
    assert potential._small_blocks(model, 65).shape == (0, 3)
    f = np.empty_like(x)
    e = potential._energy_forces_into(x[order], f, model)
    e_sorted, f_sorted = system.energy_forces(x)
    assert e == pytest.approx(e_sorted, rel=1e-13)
    np.testing.assert_allclose(f, f_sorted[order], atol=1e-11 * np.abs(f).max())
    one_type = system.model._replace(types=np.zeros(65, dtype=np.int64))
    assert potential._small_blocks(one_type, 65).shape == (0, 3)


@pytest.mark.parametrize("n, copies", [(65, 1), (64, 1), (65, 2), (130, 1), (260, 1)])
def test_small_box_kernel_matches_scalar_loop_and_numpy(n, copies):
    """The SIMD all-pairs kernel (pairs (i, i + k) over doubled rows) counts every pair once,
    for odd and even copy sizes and for two copies, and the scalar loop is used when a copy
    is not one contiguous run."""
    from tlsviz.engine import potential

    system = tlsviz.KobAndersen(n=n, copies=copies, neighbor="all-pairs")
    x = system.random_positions(seed=n) + np.random.default_rng(n).normal(0, 0.1, (system.n_particles, 3))
    blocks = potential._small_blocks(system.model, system.n_particles)
    n_a = int(round(0.8 * n))
    assert blocks.tolist() == [[c * n, n, n_a] for c in range(copies)]
    e, f = system.energy_forces(x)
    f_scalar = np.empty_like(x)
    e_scalar = potential._energy_forces_allpairs(x, f_scalar, system.model)
    assert e == pytest.approx(e_scalar, rel=1e-13)
    np.testing.assert_allclose(f, f_scalar, atol=1e-11 * max(1.0, np.abs(f).max()))
    e_ref, f_ref = naive.energy_forces(x, system.types, system.box, system.group)
    assert e == pytest.approx(e_ref, rel=1e-12)
    # inside a compiled run the same kernel works through the run's neighbour state
    nl = potential._new_neighbor_list(x, system.model)
    assert nl.blocks.shape == blocks.shape and nl.work.size > 0
    assert potential._energy_forces_nl(x, np.empty_like(x), system.model, nl) == pytest.approx(e, rel=1e-14)
    # copies interleaved instead of contiguous: not the kernel's layout, so the scalar loop
    model = system.model._replace(group=np.arange(system.n_particles) % copies)
    if copies > 1:
        assert potential._small_blocks(model, system.n_particles).shape == (0, 3)


def test_large_runs_sort_by_cell_and_give_back_the_callers_order(lammps_ref):
    """MD with a Verlet list works on particles sorted by cell and returns them in the order
    they came in: the same trajectory as a cell-list run that keeps the order."""
    from tlsviz.engine import potential

    x = lammps_ref["n2000_snapshot_positions"]
    verlet = tlsviz.KobAndersen(n=2000)
    cells = tlsviz.KobAndersen(n=2000, neighbor="cells")
    order = potential._cell_order(x, verlet.model)
    assert sorted(order.tolist()) == list(range(2000)) and not np.array_equal(order, np.arange(2000))
    assert potential._cell_order(x, cells.model).size == 0
    v = verlet.maxwell_velocities(0.5, seed=4)
    xv, vv = verlet.nve(x, v, steps=40)
    xc, vc = cells.nve(x, v, steps=40)
    np.testing.assert_allclose(xv, xc, atol=1e-9)
    np.testing.assert_allclose(vv, vc, atol=1e-9)


def _lattice_liquid(system, seed):
    """A configuration of system made here: random sites of a simple cubic lattice, jiggled
    by up to 0.15 σ (no overlaps, large but finite forces; cheap at any N)."""
    n, box = system.n_particles, system.box
    m = int(np.ceil(n ** (1 / 3) - 1e-9))
    g = (np.arange(m) + 0.5) * (box / m)
    sites = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
    rng = np.random.default_rng(seed)
    return sites[rng.permutation(len(sites))[:n]] + rng.uniform(-0.15, 0.15, (n, 3))


@pytest.mark.parametrize("n", [260, 2000, 8000])
@pytest.mark.parametrize("tag", ["snapshot", "is"])
def test_verlet_pair_loop_matches_lammps(lammps_ref, n, tag):
    """The pair loop over a fresh Verlet list (particles sorted by cell, as compiled runs sort
    them), on one thread and on two, against LAMMPS."""
    from tlsviz.engine import potential

    system = tlsviz.KobAndersen(n=n)
    assert system.skin > 0
    x = lammps_ref[f"n{n}_{tag}_positions"]
    order = potential._cell_order(x, system.model)
    if order.size == 0:  # fewer than three cells per edge (N = 260): the caller's order
        order = np.arange(n)
    xs, model = x[order].copy(), potential._permuted_model(system.model, order)
    nl = potential._new_neighbor_list(xs, model)
    f = np.empty_like(xs)
    e = potential._energy_forces_nl(xs, f, model, nl)
    e_ref = float(lammps_ref[f"n{n}_{tag}_energy"])
    f_ref = lammps_ref[f"n{n}_{tag}_forces"][order]
    assert abs(e - e_ref) <= 1e-10 * abs(e_ref)
    assert np.max(np.abs(f - f_ref)) <= 1e-11
    e2, f2 = tlsviz.KobAndersen(n=n, threads=2).energy_forces(x)
    assert abs(e2 - e_ref) <= 1e-10 * abs(e_ref)
    assert np.max(np.abs(f2 - lammps_ref[f"n{n}_{tag}_forces"])) <= 1e-11


@pytest.mark.parametrize("n", [8000, 32000])
def test_large_systems_match_the_cell_loop(n):
    """Configurations made here at N = 8000 and 32 000: the Verlet-list loop (one thread, two
    threads, kept from call to call) against all pairs found through cells."""
    from tlsviz.engine import potential

    system = tlsviz.KobAndersen(n=n, threads=1)
    x = _lattice_liquid(system, n)
    f_ref = np.empty_like(x)
    e_ref = potential._energy_forces_cells(x, f_ref, system.model)
    scale = max(1.0, np.abs(f_ref).max())
    e, f = system.energy_forces(x)
    assert e == pytest.approx(e_ref, rel=1e-12)
    np.testing.assert_allclose(f, f_ref, rtol=0, atol=1e-12 * scale)
    e2, f2 = tlsviz.KobAndersen(n=n, threads=2).energy_forces(x)
    assert e2 == pytest.approx(e_ref, rel=1e-12)
    np.testing.assert_allclose(f2, f_ref, rtol=0, atol=1e-12 * scale)


def test_kept_verlet_list_equals_a_fresh_build_after_long_md(lammps_ref):
    """One Verlet list carried along 2000 MD steps at T = 0.8 (rebuilt whenever a particle has
    moved half the skin) gives the forces of a fresh cell search at every stop."""
    from tlsviz.engine import potential

    system = tlsviz.KobAndersen(n=2000, threads=1)
    x = lammps_ref["n2000_snapshot_positions"]
    v = system.maxwell_velocities(0.8, seed=5)
    nl = potential._new_neighbor_list(x, system.model)
    f = np.empty_like(x)
    f_ref = np.empty_like(x)
    for _ in range(8):
        x, v = system.nve(x, v, steps=250)
        e = potential._energy_forces_nl(x, f, system.model, nl)
        e_ref = potential._energy_forces_cells(x, f_ref, system.model)
        assert e == pytest.approx(e_ref, rel=1e-12)
        np.testing.assert_allclose(f, f_ref, rtol=0, atol=1e-11)
    assert nl.builds[0] >= 5  # the list was rebuilt along the way


def test_threads_agree_with_one_thread_and_repeat_bit_for_bit(lammps_ref):
    """Two threads: forces within 1e-12 × max(1, max|F|) of one thread (the same pair terms
    summed in another order), and the same bits from run to run, for evaluations and MD
    (quenches use the same loop; their threaded entry point is left out here for its
    compile time)."""
    one = tlsviz.KobAndersen(n=2000, threads=1)
    two = tlsviz.KobAndersen(n=2000, threads=2)
    x = lammps_ref["n2000_snapshot_positions"]
    e1, f1 = one.energy_forces(x)
    e2, f2 = two.energy_forces(x)
    assert e2 == pytest.approx(e1, rel=1e-13)
    np.testing.assert_allclose(f2, f1, rtol=0, atol=1e-12 * max(1.0, np.abs(f1).max()))
    e2b, f2b = tlsviz.KobAndersen(n=2000, threads=2).energy_forces(x)
    assert e2b == e2 and np.array_equal(f2b, f2)
    v = one.maxwell_velocities(0.5, seed=2)
    xa, va = two.nve(x, v, steps=50)
    xb, vb = two.nve(x, v, steps=50)
    assert np.array_equal(xa, xb) and np.array_equal(va, vb)
    x1, _ = one.nve(x, v, steps=50)
    np.testing.assert_allclose(xa, x1, rtol=0, atol=1e-10)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True, 10 ** 6])
def test_bad_threads_values_are_refused(bad):
    with pytest.raises(ValueError, match="threads must be a whole number from 1 to"):
        tlsviz.KobAndersen(n=260, threads=bad)
    from tlsviz.system import set_default_threads

    with pytest.raises(ValueError, match="threads must be"):
        set_default_threads(bad)


def test_list_build_refuses_a_nan_position(lammps_ref):
    """A NaN position (a run that blew up) stops the Verlet-list build with an error that
    says so, instead of binning the particle outside the cell grid."""
    from tlsviz.engine import potential

    system = tlsviz.KobAndersen(n=2000, threads=1)
    x = lammps_ref["n2000_snapshot_positions"].copy()
    x[5, 1] = np.nan
    with pytest.raises(RuntimeError, match="NaN position"):
        potential._new_neighbor_list(x, system.model)


@pytest.mark.parametrize("n", [70, 96, 116])
def test_verlet_list_of_a_box_just_wide_enough_lists_each_pair_once(n):
    """Where the box is barely wider than 2 (r_c + skin) the skin is clipped to r_list =
    L / 2 − 1e-6; the cell search then reaches half the box and used to meet particles
    through two images, listing their pair twice. The list is exactly the minimum-image pairs
    closer than r_list, each once; its forces are the all-pairs ones; a list longer than L / 2
    is refused."""
    from tlsviz.engine import pairlist, potential

    system = tlsviz.KobAndersen(n=n, neighbor="verlet")
    r_list = np.sqrt(system.model.rc2) + system.skin
    assert 0 < system.box / 2 - r_list < 2e-6
    x = system.random_positions(seed=n)
    # particle 1 half a box from particle 0 along x, 1.5e-6 σ closer: within r_list, and, before
    # the reach was capped at L / 2, within the search's reach through both x images (the guard
    # against a duplicate at insertion is a backstop for rounding, not reached here)
    x[1] = x[0] + [system.box / 2 - 1.5e-6, 0.0, 0.0]
    nl = potential._new_neighbor_list(x, system.model)
    listed = []
    for i in range(n):
        for j in nl.outer_nbr[nl.outer_start[i]:nl.outer_start[i + 1]]:
            listed.append((min(i, j), max(i, j)))
    d = x[:, None, :] - x[None, :, :]
    d -= system.box * np.rint(d / system.box)
    r = np.sqrt((d ** 2).sum(axis=-1))
    expected = {(i, j) for i in range(n) for j in range(i + 1, n) if r[i, j] < r_list}
    assert len(listed) == len(set(listed)) and set(listed) == expected
    f = np.empty_like(x)
    e = potential._energy_forces_nl(x, f, system.model, nl)
    e_ref, f_ref = tlsviz.KobAndersen(n=n, neighbor="all-pairs").energy_forces(x)
    assert e == pytest.approx(e_ref, rel=1e-12)
    np.testing.assert_allclose(f, f_ref, rtol=0, atol=1e-10)
    nbr = np.empty(10 * n * n, dtype=np.int32)
    with pytest.raises(ValueError, match="r_c \\+ skin < L / 2"):
        pairlist._build_pairs(x, system.model.types, system.model.group, system.box, system.box / 2, nbr,
                              np.zeros(n + 1, dtype=np.int64), np.zeros((n, 3), dtype=np.int64))


def test_threading_layer_prefers_openmp(lammps_ref):
    """tlsviz asks numba for OpenMP first (a parallel launch costs ~1.5 µs against ~100 µs with
    workqueue, docs/engine.md), unless the user chose a layer."""
    import os

    import numba

    import tlsviz.system  # noqa: F401  (sets the layer on import)

    if "NUMBA_THREADING_LAYER" in os.environ or os.environ["NUMBA_THREADING_LAYER_PRIORITY"] != "omp workqueue tbb":
        pytest.skip("the user chose numba's threading layer")  # tlsviz sets the priority only when neither is set
    assert numba.config.THREADING_LAYER_PRIORITY[:2] == ["omp", "workqueue"]
    tlsviz.KobAndersen(n=2000, threads=2).energy_forces(lammps_ref["n2000_snapshot_positions"])
    try:
        from numba.np.ufunc import omppool  # noqa: F401
    except ImportError:  # no OpenMP runtime here: workqueue
        assert numba.threading_layer() == "workqueue"
    else:
        assert numba.threading_layer() == "omp"
