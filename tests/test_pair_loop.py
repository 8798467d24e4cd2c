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
    not rebuilt: the moves stay within what it must cover)."""
    system, x, model = _configurations(lammps_ref, n, copies)
    nl = potential._new_neighbor_list(x, model)
    f = np.empty_like(x)
    for k, y in enumerate([x, _moved(x, system, 1), _moved(x, system, 2)]):
        e_ref, f_ref = _cells(y, model)
        e = pairlist._pair_forces(y, f, model, nl.nbr, nl.start, nl.split, nl.work, True)
        assert abs(e - e_ref) <= 1e-12 * abs(e_ref), k
        assert np.abs(f - f_ref).max() <= _force_tolerance(k, f_ref), k
        assert not potential._list_is_stale(y, nl)


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
    nl = potential._new_neighbor_list(x, model)
    f_new, f_old = np.empty_like(x), np.empty_like(x)
    work_old = np.empty((9, 4 * pairlist.RUN + 24))
    for y in (x, _moved(x, system, 1)):
        e_new = pairlist._pair_forces(y, f_new, model, nl.nbr, nl.start, nl.split, nl.work, True)
        e_old = before._pair_forces(y, f_old, model, nl.nbr, nl.start, nl.split, work_old, True)
        assert e_new == e_old and np.array_equal(f_new, f_old)
