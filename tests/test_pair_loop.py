"""The Verlet-list pair loop (all listed pairs in masked lanes, tlsviz.engine.pairlist) against
the cell kernel, on snapshots and after moves of up to half the skin."""

import numpy as np
import pytest

import tlsviz
from tlsviz.engine import pairlist, potential


def _moved(x, system, seed, fraction=0.95):
    """x with every particle moved in a random direction by up to ``fraction`` · skin / 2
    (the most a list must stay valid for)."""
    rng = np.random.default_rng(seed)
    u = rng.normal(size=x.shape)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    return x + u * rng.uniform(0.0, fraction * 0.5 * system.skin, (x.shape[0], 1))


def _force_tolerance(k, f_ref):
    """1e-11 on the snapshot (k = 0); after the random moves, whose overlaps make forces of
    ~1e3, 1e-12 × max(1, max|F|) (as tests/test_potential.py's large systems)."""
    return 1e-11 if k == 0 else 1e-12 * max(1.0, np.abs(f_ref).max())


def _cells(x, model):
    f = np.empty_like(x)
    return potential._energy_forces_cells(x, f, model), f


def _configurations(lammps_ref, n, copies=1):
    """The T = 0.5 snapshot of N = n in cell order (as compiled runs sort them), each
    particle shifted by a random whole number of boxes (unwrapped positions, as MD makes
    them), and when copies = 2 the inherent structure of N = n as the second copy (both
    copies overlap in space)."""
    system = tlsviz.KobAndersen(n=n, copies=copies, threads=1)
    x = lammps_ref[f"n{n}_snapshot_positions"]
    if copies == 2:
        x = np.concatenate([x, lammps_ref[f"n{n}_is_positions"]])
    x = x + system.box * np.random.default_rng(4).integers(-2, 3, x.shape)
    order = potential._cell_order(x, system.model)
    if order.size == 0:
        order = np.arange(x.shape[0])
    return system, x[order].copy(), potential._permuted_model(system.model, order)


@pytest.mark.parametrize("n, copies", [(260, 1), (2000, 1), (260, 2)])
def test_masked_verlet_loop_matches_cells_after_small_moves(lammps_ref, n, copies):
    """The Verlet-list loop (all listed pairs in lanes, those beyond r_c masked) against the
    cell kernel as above, on the snapshot and after moves of up to skin / 2 (the list kept,
    not rebuilt: the moves stay within what it must cover; the Verlet list alone, no inner
    list)."""
    system, x, model = _configurations(lammps_ref, n, copies)
    nl = potential._new_neighbor_list(x, model, model.skin)
    f = np.empty_like(x)
    for k, y in enumerate([x, _moved(x, system, 1), _moved(x, system, 2)]):
        e_ref, f_ref = _cells(y, model)
        e = pairlist._pair_forces(y, f, model, nl.nbr, nl.start, nl.split, nl.work, True)
        assert abs(e - e_ref) <= 1e-12 * abs(e_ref), k
        assert np.abs(f - f_ref).max() <= _force_tolerance(k, f_ref), k
        assert potential._displacements(y, nl) == 0


@pytest.mark.parametrize("n, copies", [(260, 1), (2000, 1), (260, 2)])
def test_masked_loop_gives_the_bits_of_the_compacting_loop(lammps_ref, n, copies):
    """The masked-lane loop replaced a loop that kept only the pairs within r_c (frozen in
    benchmarks/_compacting_loop.py): the same energy and forces bit for bit, on the snapshot and
    after moves of up to skin / 2 (masked lanes add exact zeros; the minimum image of a run whose
    plain difference is the minimum image subtracts L · 0)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    try:
        import _compacting_loop as before
    finally:
        sys.path.pop(0)
    system, x, model = _configurations(lammps_ref, n, copies)
    nl = potential._new_neighbor_list(x, model, model.skin)
    f_new, f_old = np.empty_like(x), np.empty_like(x)
    work_old = np.empty((9, 4 * pairlist.RUN + 24))
    for y in (x, _moved(x, system, 1)):
        e_new = pairlist._pair_forces(y, f_new, model, nl.nbr, nl.start, nl.split, nl.work, True)
        e_old = before._pair_forces(y, f_old, model, nl.nbr, nl.start, nl.split, work_old, True)
        assert e_new == e_old and np.array_equal(f_new, f_old)


def _listed(nbr, start, split, n):
    """{(i, j): run} of a half list (run 0/1: type A, plain difference / shifted; 2/3: type B)."""
    pairs = {}
    for i in range(n):
        bounds = [start[i], *split[i], start[i + 1]]
        for run in range(4):
            for j in nbr[bounds[run]:bounds[run + 1]]:
                pairs[(i, int(j))] = run
    return pairs


@pytest.mark.parametrize("n, copies", [(260, 1), (2000, 1), (260, 2)])
def test_dual_list_gives_the_bits_of_the_verlet_list(lammps_ref, n, copies):
    """The dual list of evaluations and quenches (an inner list of the pairs closer than r_c +
    margin, pruned from the Verlet list) along a random walk of the particles that forces
    both prunings and rebuilds: the inner list is exactly the Verlet list's pairs closer than
    r_in at the last pruning, each under the same particle, in the same run and order; the
    energy and forces are the same bits as over the Verlet list alone, whose builds happen at
    the same steps; pruning on 3 threads gives the same list as on one."""
    system, x, model = _configurations(lammps_ref, n, copies)
    assert 0.0 < model.margin < model.skin
    dual = potential._new_neighbor_list(x, model)
    alone = potential._new_neighbor_list(x, model, model.skin)
    f_dual, f_alone = np.empty_like(x), np.empty_like(x)
    rng = np.random.default_rng(7)
    y = x.copy()
    for step in range(40):
        e_dual = potential._energy_forces_nl(y, f_dual, model, dual)
        e_alone = potential._energy_forces_nl(y, f_alone, model, alone)
        assert e_dual == e_alone and np.array_equal(f_dual, f_alone), step
        assert dual.builds[0] == alone.builds[0], step
        y = y + rng.normal(scale=0.012, size=y.shape)
    assert dual.builds[0] >= 2 and dual.builds[1] > dual.builds[0]  # rebuilt, and pruned in between
    outer = _listed(dual.outer_nbr, dual.outer_start, dual.outer_split, len(x))
    inner = _listed(dual.nbr, dual.start, dual.split, len(x))
    d = dual.x_prune[:, None, :] - dual.x_prune[None, :, :]
    d -= model.box * np.rint(d / model.box)
    r2 = (d ** 2).sum(axis=-1)
    r_in = dual.info[2]
    assert r_in == pytest.approx(np.sqrt(model.rc2) + model.margin)
    assert inner == {ij: run for ij, run in outer.items() if r2[ij] < r_in ** 2}
    for i in range(len(x)):  # each run in the Verlet list's order
        row = list(dual.outer_nbr[dual.outer_start[i]:dual.outer_start[i + 1]])
        kept = list(dual.nbr[dual.start[i]:dual.start[i + 1]])
        assert kept == [j for j in row if (i, int(j)) in inner]
    nbr, start, split = np.empty_like(dual.nbr), np.empty_like(dual.start), np.empty_like(dual.split)
    pairlist._prune_pairs_threads(dual.x_prune, model.box, r_in, dual.outer_nbr, dual.outer_start, dual.outer_split,
                                  nbr, start, split, np.empty_like(dual.nbr), 3)
    used = dual.start[-1]
    assert np.array_equal(start, dual.start) and np.array_equal(split, dual.split)
    assert np.array_equal(nbr[:used], dual.nbr[:used])
    # a NaN position keeps all its pairs (NaN forces, as over the Verlet list alone)
    y = dual.x_prune.copy()
    y[5, 1] = np.nan
    pairlist._prune_pairs(y, model.box, r_in, dual.outer_nbr, dual.outer_start, dual.outer_split, nbr, start, split)
    with_nan = _listed(nbr, start, split, len(x))
    assert {ij for ij in outer if 5 in ij} <= set(with_nan)


def test_dual_list_on_two_threads_gives_the_bits_of_the_verlet_list(lammps_ref):
    """On two threads too (the chunks cut by the Verlet list, the inner list pruned on the
    threads), along a random walk with prunings and rebuilds, through KobAndersen.energy_forces
    (which keeps its list between calls)."""
    x = lammps_ref["n2000_snapshot_positions"]
    dual = tlsviz.KobAndersen(n=2000, threads=2)
    alone = tlsviz.KobAndersen(n=2000, threads=2)
    alone.model = alone.model._replace(margin=alone.skin)
    rng = np.random.default_rng(8)
    prunes = 0
    for step in range(12):
        e_dual, f_dual = dual.energy_forces(x)
        e_alone, f_alone = alone.energy_forces(x)
        assert e_dual == e_alone and np.array_equal(f_dual, f_alone), step
        kept = dual._lists.kept
        prunes = max(prunes, 0 if kept is None else int(kept[2].builds[1]))
        x = x + rng.normal(scale=0.012, size=x.shape)
    assert prunes >= 2


def test_threaded_list_build_is_the_serial_one_whatever_start_holds(lammps_ref):
    """The threaded build cuts its chunks by what ``start`` holds on entry (the last build's
    offsets): with those, with zeros and with garbage, the list is the serial build's, bit for
    bit, whether its chunks' rows are long enough or must be replaced."""
    system, x, model = _configurations(lammps_ref, 2000)
    n = len(x)
    r_list = np.sqrt(model.rc2) + model.skin
    nbr, start, split = pairlist._new_pairs(x, model.types, model.group, model.box, r_list, n / model.box ** 3)
    y = x + np.random.default_rng(3).normal(scale=0.05, size=x.shape)
    want = [np.empty_like(nbr), np.zeros_like(start), np.zeros_like(split)]
    assert pairlist._build_pairs(y, model.types, model.group, model.box, r_list, *want)
    for on_entry in (start, np.zeros_like(start), np.random.default_rng(4).integers(-10 ** 6, 10 ** 6, n + 1)):
        for bufs in (np.empty((2, 0), dtype=np.int32), np.empty((2, len(nbr)), dtype=np.int32)):  # short, long
            got = [np.empty_like(nbr), on_entry.copy(), np.zeros_like(split)]
            assert pairlist._build_pairs_threads(y, model.types, model.group, model.box, r_list, *got, bufs)
            used = want[1][-1]
            assert np.array_equal(got[1], want[1]) and np.array_equal(got[2], want[2])
            assert np.array_equal(got[0][:used], want[0][:used])


def test_quench_on_the_dual_list_gives_the_bits_of_the_verlet_list(lammps_ref):
    """Quenches run on the dual list: the same minimum, bit for bit, as on the Verlet list alone
    (KobAndersen's margin set to the skin), in the same number of evaluations."""
    from tlsviz.engine import minimize

    system = tlsviz.KobAndersen(n=260, threads=1)
    x = lammps_ref["n260_snapshot_positions"]
    alone = system.model._replace(margin=system.model.skin)
    for method in ("cg", "lbfgs"):
        args = (minimize.FTOL, minimize.MAX_ITER, minimize.MAX_STEP, minimize.METHODS[method], minimize.NO_PRECOND)
        a = minimize._minimize(x, system.model, *args)
        b = minimize._minimize(x, alone, *args)
        assert a.converged and a.n_evals == b.n_evals
        assert a.energy == b.energy and np.array_equal(a.positions, b.positions)
        # some particle went further than margin / 2: the quench had to prune again
        assert np.sqrt(((a.positions - x) ** 2).sum(axis=1)).max() > system.model.margin / 2


def test_threads_chunks_share_the_list_evenly(lammps_ref):
    """The threaded loop cuts the particles into contiguous chunks of about equal cost (listed
    pairs plus a fixed cost per particle), not equal numbers of particles: in cell order the
    first particles hold more of the half list."""
    system, x, model = _configurations(lammps_ref, 2000)
    nl = potential._new_neighbor_list(x, model)
    n = len(x)
    for chunks in (1, 2, 3, 8):
        bounds = pairlist._balanced_chunks(nl.start, chunks)
        assert bounds[0] == 0 and bounds[-1] == n and np.all(np.diff(bounds) > 0)
        cost = nl.start[bounds] + pairlist.PARTICLE_COST * bounds
        share = np.diff(cost) / cost[-1]
        assert np.abs(share - 1 / chunks).max() < 0.01
    assert nl.start[n // 2] / nl.start[n] > 0.55  # equal numbers of particles would be uneven


def test_threaded_md_step_gives_the_bits_of_the_step_with_serial_updates(lammps_ref):
    """An MD step on two threads runs its updates and the list's displacement check on the
    threads too (tlsviz.engine.md._vv_step with a pool): along 300 NVE steps at T = 0.5 (with
    list rebuilds), the same positions, velocities, forces, energy and rebuilds, bit for bit, as
    the step with the updates and the check on one thread and only the force loop threaded.
    The run's first list, built on the threads, is the serial build's."""
    from numba import njit

    from tlsviz.engine import md

    @njit(cache=False)
    def serial_updates(x, v, f, inv_m3, dt, model, nl, steps, pool):
        e = potential._energy_forces_nl(x, f, model, nl, True, pool)
        xf, vf, ff = x.reshape(-1), v.reshape(-1), f.reshape(-1)
        for _ in range(steps):
            for c in range(xf.shape[0]):
                vf[c] += 0.5 * dt * ff[c] * inv_m3[c]
                xf[c] += dt * vf[c]
            e = potential._energy_forces_nl(x, f, model, nl, True, pool)
            for c in range(xf.shape[0]):
                vf[c] += 0.5 * dt * ff[c] * inv_m3[c]
        return e

    @njit(cache=False)
    def threaded_updates(x, v, f, inv_m3, dt, model, nl, steps, pool, bounds):
        e = potential._energy_forces_nl(x, f, model, nl, True, pool)
        for _ in range(steps):
            e = md._vv_step(x, v, f, inv_m3, dt, model, nl, True, pool, bounds)
        return e

    system, x, model = _configurations(lammps_ref, 2000)
    system.threads = 2
    pool = system._pool()
    v = system.maxwell_velocities(0.5, seed=5)
    inv_m3 = md._inv_m3(system.masses)
    serial_nl = potential._new_neighbor_list(x, model, model.skin)
    threaded_nl = potential._new_neighbor_list(x, model, model.skin, pool)
    assert pool[2].shape[1] >= threaded_nl.outer_nbr.shape[0]  # the pool's build rows fit: rebuilds reuse them
    used = serial_nl.start[-1]
    assert np.array_equal(serial_nl.start, threaded_nl.start) and np.array_equal(serial_nl.split, threaded_nl.split)
    assert np.array_equal(serial_nl.nbr[:used], threaded_nl.nbr[:used])
    runs = []
    for nl, run in ((serial_nl, serial_updates), (threaded_nl, threaded_updates)):
        y, w, f = x.copy(), v.copy(), np.empty_like(x)
        extra = (md._even_bounds(len(x), 2),) if run is threaded_updates else ()
        e = run(y, w, f, inv_m3, 0.01, model, nl, 300, pool, *extra)
        runs.append((e, y, w, f, nl.builds[0]))
    (e_a, x_a, v_a, f_a, b_a), (e_b, x_b, v_b, f_b, b_b) = runs
    assert b_a == b_b >= 5  # the list was rebuilt along the way, at the same steps
    assert e_a == e_b
    for a, b in ((x_a, x_b), (v_a, v_b), (f_a, f_b)):
        assert np.array_equal(a, b)


def test_displacement_check_by_ranges_is_the_whole_check(lammps_ref):
    """The threaded MD step checks the list in particle ranges: the largest state over the
    ranges is the whole check's (0 valid, 1 prune the inner list, 2 rebuild), on a dual list
    with moves that call for each."""
    system, x, model = _configurations(lammps_ref, 260)
    nl = potential._new_neighbor_list(x, model)
    n = len(x)
    seen = set()
    half_margin, half_skin = 0.5 * model.margin, 0.5 * model.skin
    for k, step in enumerate((0.0, 0.5 * half_margin, 1.5 * half_margin, 0.9 * half_skin, 1.5 * half_skin)):
        y = x.copy()
        moved = np.random.default_rng(k).choice(n, 3, replace=False)
        y[moved] += step * np.array([1.0, 0.5, -0.5]) / np.sqrt(1.5)
        whole = potential._displacements(y, nl)
        seen.add(whole)
        for bounds in ([0, n], [0, n // 3, n], [0, 7, 100, 200, n]):
            ranges = [potential._displacements_range(y, nl, lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:])]
            assert max(ranges) == whole, (k, bounds)
    assert seen == {0, 1, 2}
