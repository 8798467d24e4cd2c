"""Two threads against one for MD, as a distribution over alternating runs (issue 24).

    python benchmarks/bench_threads.py [--n 8000] [--runs 8] [--steps 200] [--write]

bench_engine.py reports the ratio of the best of a few short runs on each side, which on the
2-vCPU benchmark machine moves by ±0.2 from run to run (the second vCPU is shared with the
host). This script makes a T = 0.5 liquid of N particles (random positions, a loose quench,
300 NVE steps from T = 0.5 Maxwell velocities), then times ``KobAndersen(n, threads=1).nve``
and ``KobAndersen(n, threads=2).nve`` (``--steps`` steps, wall clock) in alternation, ``--runs``
times each, so both meet the same drifts of the machine, and prints each side's runs with the
best-to-best and median-to-median ratios. ``--write`` replaces its section of
benchmarks/RESULTS.md.
"""

import argparse
import os
import time

import numpy as np
from _benchutil import command_line, info_block, machine_info, table, write_section

import tlsviz


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=8000, help="particles [default: 8000]")
    p.add_argument("--runs", type=int, default=8, help="runs on each side [default: 8]")
    p.add_argument("--steps", type=int, default=200, help="MD steps per run [default: 200]")
    p.add_argument("--write", action="store_true", help="write the result into benchmarks/RESULTS.md")
    args = p.parse_args()
    one = tlsviz.KobAndersen(args.n, threads=1)
    two = tlsviz.KobAndersen(args.n, threads=2)
    x = one.random_positions(seed=3)
    x = one.quench(x, ftol=1e-2).positions
    v = one.maxwell_velocities(0.5, seed=1)
    x, v = two.nve(x, v, steps=300)  # also compiles the threaded run
    one.nve(x, v, steps=10)
    times = {1: [], 2: []}
    for _ in range(args.runs):
        for threads, system in ((1, one), (2, two)):
            t0 = time.perf_counter()
            system.nve(x, v, steps=args.steps)
            times[threads].append((time.perf_counter() - t0) / args.steps * 1e6)
    best = min(times[1]) / min(times[2])
    median = float(np.median(times[1]) / np.median(times[2]))
    rows = [[f"{t} thread{'s' if t > 1 else ''}", f"{min(times[t]):.0f}", f"{np.median(times[t]):.0f}",
             ", ".join(f"{r:.0f}" for r in times[t])] for t in (1, 2)]
    body = "\n".join([
        "## MD on two threads against one, run by run (`bench_threads.py`)\n",
        info_block(machine_info(), command_line()),
        f"N = {args.n}, a T = 0.5 liquid; µs per NVE step (wall clock), {args.runs} runs of {args.steps} steps on "
        f"each side in alternation; load average at the end {os.getloadavg()[0]:.2f}.\n",
        table(["threads", "best", "median", "runs, in order"], rows),
        f"\nTwo threads / one: {best:.2f} best to best, {median:.2f} median to median.",
    ])
    print(body)
    if args.write:
        write_section("bench_threads", body)


if __name__ == "__main__":
    main()
