"""Energy + forces per evaluation (µs): the Verlet-list loop before and since issue 24, and clusters.

    python benchmarks/bench_clusters.py [--sizes 260 2000 8000] [--repeats 7]

For each N (260, 2000: the T = 0.5 snapshots of tests/data/lammps-reference.npz; 8000: a
jiggled simple-cubic lattice, tests/test_potential.py's ``_lattice_liquid``), particles in
cell order as compiled runs sort them (:func:`tlsviz.engine.potential._cell_order`), the
lists built once: µs per evaluation in a compiled loop (energy at the last call only, as
benchmarks/bench_engine.py's ``_ef_loop``) of the Verlet-list loop before issue 24's masked
lanes (benchmarks/_compacting_loop.py, compaction of the pairs within r_c), of
tlsviz.engine.potential._energy_forces_nl (today's loop: all listed pairs in masked lanes, the
same Verlet list) and of benchmarks/_cluster_pairs.py's _cluster_forces (cluster pairs); CPU time
(time.process_time), best of --repeats, the kernels taking turns; also the candidate lanes per
particle of the cluster list, its build time and whether energy / forces agree with the cell
kernel (1e-12 relative; 1e-11 absolute, times max|F| / 100 when that exceeds 1: the jiggled
lattice's forces reach ~1e4). Prints the load average: the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from numba import njit  # noqa: E402

import tlsviz  # noqa: E402

import _compacting_loop as before  # noqa: E402
import _cluster_pairs as C  # noqa: E402
from _loops import ef_loop as _ef_loop  # noqa: E402
from tlsviz.engine.potential import (_cell_order, _energy_forces_cells,  # noqa: E402
                                     _new_neighbor_list, _permuted_model)

REF = Path(__file__).resolve().parent.parent / "tests" / "data" / "lammps-reference.npz"


@njit(cache=False)
def _cl_loop(x, f, rc2, cl, reps):
    for _ in range(reps - 1):
        C._cluster_forces(x, f, rc2, cl, False)
    return C._cluster_forces(x, f, rc2, cl, True)


@njit(cache=False)
def _before_loop(x, f, model, nl, work, reps):
    for _ in range(reps - 1):
        before._pair_forces(x, f, model, nl.nbr, nl.start, nl.split, work, False)
    return before._pair_forces(x, f, model, nl.nbr, nl.start, nl.split, work, True)


def lattice_liquid(system, seed):
    n, box = system.n_particles, system.box
    m = int(np.ceil(n ** (1 / 3) - 1e-9))
    g = (np.arange(m) + 0.5) * (box / m)
    sites = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
    rng = np.random.default_rng(seed)
    return sites[rng.permutation(len(sites))[:n]] + rng.uniform(-0.15, 0.15, (n, 3))


def configuration(n):
    system = tlsviz.KobAndersen(n=n, threads=1)
    if n in (260, 2000):
        x = np.load(REF)[f"n{n}_snapshot_positions"]
        label = "T = 0.5 snapshot"
    else:
        x = lattice_liquid(system, n)
        label = "jiggled lattice"
    return system, x, label


def best(fn, reps, repeats):
    out = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn(reps)
        out.append((time.process_time() - t0) / reps * 1e6)
    return min(out)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[260, 2000, 8000])
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--seconds", type=float, default=0.3, help="CPU seconds per timed run [default: 0.3]")
    args = p.parse_args()
    print(f"load average before: {os.getloadavg()}")
    rows = []
    for n in args.sizes:
        system, x, label = configuration(n)
        order = _cell_order(x, system.model)
        if order.size == 0:  # fewer than three list cells per edge (N = 260): the caller's order
            order = np.arange(n)
        xs, model = x[order].copy(), _permuted_model(system.model, order)
        f = np.empty_like(xs)
        f_ref = np.empty_like(xs)
        e_ref = _energy_forces_cells(xs, f_ref, model)
        tol_f = 1e-11 * max(1.0, np.abs(f_ref).max() / 100.0)  # the jiggled lattice's forces reach ~1e4
        nl = _new_neighbor_list(xs, model, model.skin)  # the Verlet list alone, as these loops were measured on
        r_list = float(nl.info[0])
        build_ms = np.inf
        for _ in range(3):  # the first call compiles (or loads the cache)
            t0 = time.process_time()
            cl = C._new_cluster_list(xs, model.types, model.group, model.box, model.c12, model.c6, model.a, model.b,
                                     r_list, n / model.box ** 3)
            build_ms = min(build_ms, (time.process_time() - t0) * 1e3)
        work = np.empty((9, 4 * 512 + 24))
        loops = {"before": lambda r: _before_loop(xs, f, model, nl, work, r),
                 "verlet": lambda r: _ef_loop(xs, f, model, nl, r),
                 "clusters": lambda r: _cl_loop(xs, f, model.rc2, cl, r)}
        ok = {}
        for name, loop in loops.items():
            e = loop(1)  # compiles; energy and forces of one call
            ok[name] = (abs(e - e_ref) / abs(e_ref), np.abs(f - f_ref).max())
        reps = max(1, int(args.seconds / (n * 2e-7)))
        times = {name: [] for name in loops}
        for _ in range(args.repeats):  # taking turns
            for name, loop in loops.items():
                times[name].append(best(loop, reps, 1))
        t = {name: min(v) for name, v in times.items()}
        lanes = cl.start[-1] * C.CI * C.CJ / n
        listed = nl.start[-1] / n
        match = all(er <= 1e-12 and ef <= tol_f for er, ef in ok.values())
        rows.append((n, label, t, lanes, listed, build_ms, match))
        print(f"N={n}: " + ", ".join(f"{k} {v:.1f} µs" for k, v in t.items())
              + f"; {lanes:.0f} cluster lanes/particle vs {listed:.1f} listed pairs; errors vs cells "
              + ", ".join(f"{k} {er:.1e} rel / {ef:.1e} abs" for k, (er, ef) in ok.items()), flush=True)
    print(f"load average after: {os.getloadavg()}")
    print("\n| N | configuration | compacting loop (before) µs | Verlet loop µs (×) | clusters 4×8 µs (×) |"
          " cluster lanes / particle | Verlet pairs / particle | cluster build ms | all match cells |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n, label, t, lanes, listed, bms, match in rows:
        v = t["before"]
        print(f"| {n} | {label} | {v:.1f} | {t['verlet']:.1f} ({v / t['verlet']:.2f}) | "
              f"{t['clusters']:.1f} ({v / t['clusters']:.2f}) | {lanes:.0f} | {listed:.1f} | {bms:.2f} | {match} |")


if __name__ == "__main__":
    sys.exit(main())
