"""Single-core speed of the tlsviz engine against LAMMPS on the Kob-Andersen model.

    python benchmarks/bench_engine.py [--sizes 65 260 2000 8000] [--repeats 3]

For each N (65, 260, 2000 from tests/data/lammps-reference.npz; 8000 a T = 0.5 liquid
built here, the same configuration for both engines) it measures

* one energy + force evaluation (µs): tlsviz's kernel
  tlsviz.engine.potential._energy_forces_into in a compiled loop and called from Python,
  against LammpsKA.time_energy_forces (`run n pre no post no` without an integrator, and
  one energy_forces() call from Python);
* one velocity-Verlet MD step at dt = 0.01 (µs): KobAndersen.nve over many steps against
  LammpsKA.time_md_step, from the same positions and T = 0.5 Maxwell velocities;
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

bu.set_single_thread()

import numpy as np  # noqa: E402
from numba import njit  # noqa: E402

import tlsviz  # noqa: E402
from tlsviz.engine import minimize  # noqa: E402
from tlsviz.engine.potential import _energy_forces_into  # noqa: E402

from lammps_driver import LammpsKA, maxwell_boltzmann  # noqa: E402

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


@njit(cache=False)
def _ef_loop(x, f, model, reps):
    e = 0.0
    for _ in range(reps):
        e = _energy_forces_into(x, f, model)
    return e


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


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[65, 260, 2000, 8000],
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
    p.add_argument("--seed", type=int, default=1, help="seed of the Maxwell velocities and the liquid")
    p.add_argument("--no-compile", action="store_true", help="skip the compile-time measurement")
    p.add_argument("--no-write", action="store_true", help="do not touch benchmarks/RESULTS.md")
    args = p.parse_args()
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
    _ef_loop(x65, f65, s65.model, 1)
    s65.energy_forces(x65)
    for m in methods:
        quench(s65, x65, m)
    s65.nve(x65, s65.maxwell_velocities(T_MD, 0), 2)
    s_cells = tlsviz.KobAndersen(n=2000)  # both kernels are compiled once; run the cell branch too
    s_cells.energy_forces(ref["n2000_snapshot_positions"])

    rows_ef, rows_md, rows_q, rows_dev = [], [], [], []
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
        model = system.model
        f = np.empty_like(x)

        # ---- energy + forces
        t1, _ = timed(lambda: _energy_forces_into(x, f, model))
        reps = int(np.clip(args.seconds / max(t1, 1e-7), 10, 50000))
        rep = max(args.repeats, args.small_repeats) if n <= 260 else args.repeats

        def py_calls():
            t0 = time.perf_counter()
            for _ in range(reps):
                _energy_forces_into(x, f, model)
            return time.perf_counter() - t0

        # the engines take turns, so that both see the same drifts of the machine's speed
        runs = [(timed(lambda: _ef_loop(x, f, model, reps))[0] / reps, py_calls() / reps,
                 *lmp.time_energy_forces(x, repeats=reps)) for _ in range(rep)]
        t_loop, t_call, l_loop, l_call = (min(r[k] for r in runs) for k in range(4))
        ef = (1e6 * t_loop, 1e6 * t_call, l_loop, l_call)
        rows_ef.append([n, reps, *(bu.fmt(v, ".2f") for v in ef), bu.fmt(ef[2] / ef[0], ".2f"),
                        bu.fmt(ef[3] / ef[1], ".2f")])
        print(f"N={n}: eval µs tlsviz loop {ef[0]:.2f} call {ef[1]:.2f} | LAMMPS loop {ef[2]:.2f} "
              f"call {ef[3]:.2f}", flush=True)

        # ---- MD
        v = system.maxwell_velocities(T_MD, args.seed)
        # runs of about --seconds for each engine (not the same step count): the machine's speed
        # switches between two levels for tenths of seconds, and a best-of over runs of unequal
        # length would favour the engine with the shorter runs
        t_probe = timed(lambda: system.nve(x, v, 200, dt=DT))[0] / 200
        l_probe = 1e-6 * lmp.time_md_step(x, v, steps=200, dt=DT)
        steps = int(np.clip(args.seconds / max(t_probe, 1e-7), 100, 50000))
        steps_l = int(np.clip(args.seconds / max(l_probe, 1e-7), 100, 50000))
        runs = [(timed(lambda: system.nve(x, v, steps, dt=DT))[0] / steps,
                 lmp.time_md_step(x, v, steps=steps_l, dt=DT)) for _ in range(rep)]
        t_md, l_md = min(r[0] for r in runs), min(r[1] for r in runs)
        xt, _ = system.nve(x, v, 100, dt=DT)
        xl, _ = lmp.nve(x, v, 100, dt=DT)
        dx = np.abs(xt - xl).max()
        md_cost[n] = (1e6 * t_md, l_md)
        rows_md.append([n, f"{steps} / {steps_l}", bu.fmt(1e6 * t_md, ".1f"), bu.fmt(l_md, ".1f"), bu.fmt(l_md / (1e6 * t_md), ".2f"),
                        bu.fmt(1e6 * t_md / n * 1e3, ".1f"), bu.fmt(l_md / n * 1e3, ".1f"), f"{dx:.0e}"])
        print(f"N={n}: MD µs/step tlsviz {1e6 * t_md:.1f} LAMMPS {l_md:.1f} ({steps} steps); "
              f"max|Δx| after 100 steps {dx:.0e}", flush=True)

        # ---- quench
        rq = rep if n <= 2000 else args.large_quench_repeats
        l_best, l_res = np.inf, None
        t_q = {m: (np.inf, None) for m in methods}
        for _ in range(rq):  # LAMMPS and each tlsviz minimiser in turn
            t, r = timed(lambda: lmp.minimize_cg(x, 1e-10, stats=True))
            if t < l_best:
                l_best, l_res = t, r
            for m in methods:
                t, q = timed(lambda: quench(system, x, m))
                t_q[m] = (min(t, t_q[m][0]), q)
        extra["LAMMPS minimum"] = l_res["positions"]
        for m in methods:
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
    out = [f"## Engine: tlsviz vs LAMMPS, single core (`bench_engine.py`)\n",
           bu.info_block(info, command),
           f"Configurations: the T = 0.5 snapshots of `tests/data/lammps-reference.npz` for N ≤ 2000; "
           f"for larger N a T = 0.5 liquid made here (particles on random sites of a simple cubic lattice, "
           f"melted by LAMMPS MD: 1000 steps at T = 2, dt 0.005, then 1000 steps at T = 0.5, dt 0.01, "
           f"velocity rescaling), the same positions for both engines. Timings: best of "
           f"{max(args.repeats, args.small_repeats)} runs for N ≤ 260, {args.repeats} above "
           f"(quenches for N > 2000: {args.large_quench_repeats}), the two engines taking turns run by run, so "
           f"that both meet the same drifts of the machine's speed. Ratio = LAMMPS / tlsviz "
           f"(> 1: tlsviz faster). tlsviz uses all pairs below N = 400, a cell list rebuilt at every "
           f"evaluation above; LAMMPS a Verlet list (skin 0.3, rebuilt when needed).\n",
           "### Energy + forces, µs per evaluation\n",
           "*loop*: tlsviz `_energy_forces_into` in a compiled loop / LAMMPS `run n pre no post no` with no "
           "integrator (forces recomputed on fixed positions, no neighbour-list rebuild). *call*: one call "
           "from Python (tlsviz: the kernel; LAMMPS: `LammpsKA.energy_forces`, i.e. scatter, `run 0`, gather).\n",
           bu.table(["N", "reps", "tlsviz loop", "tlsviz call", "LAMMPS loop", "LAMMPS call", "ratio loop",
                     "ratio call"], rows_ef),
           "\n### MD, µs per velocity-Verlet step (dt = 0.01, T = 0.5 Maxwell velocities)\n",
           "tlsviz `KobAndersen.nve(x, v, steps)` (forces every step, the energy at the last) vs `LammpsKA.time_md_step` "
           "(`run steps pre no post no` after a 100-step warm-up). steps: tlsviz / LAMMPS, so that a run of either "
           "lasts about --seconds (runs of equal length meet the machine's slow and fast spells alike). "
           "ns/particle = cost per step per particle. "
           "max Δx: largest position difference between the engines after 100 steps from the same state.\n",
           bu.table(["N", "steps (tlsviz / LAMMPS)", "tlsviz", "LAMMPS", "ratio", "tlsviz ns/particle", "LAMMPS ns/particle",
                     "max Δx after 100 steps"], rows_md)]
    lin = ""
    if 2000 in md_cost and any(n > 2000 for n in md_cost):
        nb = max(n for n in md_cost if n > 2000)
        r_t = (md_cost[nb][0] / nb) / (md_cost[2000][0] / 2000)
        r_l = (md_cost[nb][1] / nb) / (md_cost[2000][1] / 2000)
        lin = (f"\nScaling N = 2000 → {nb}: MD cost per particle changes by ×{r_t:.2f} (tlsviz) and "
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
    out.append(f"\nTotal run time of the benchmark: {time.perf_counter() - t_start:.0f} s.\n")
    text = "\n".join(out)
    print()
    print(text)
    if not args.no_write:
        path = bu.write_section("bench_engine", text)
        print(f"(written to {path})")


if __name__ == "__main__":
    main()
