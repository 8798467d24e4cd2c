"""Scan (T_search, N_search) for the DWP search defaults (spec §3), write benchmarks/tuning.md.

    python benchmarks/tuning.py [--n 65] [--minima 6] [--tries 100] [--seed 0]

Counts distinct accepted nearby minima (windows of tlsviz.SearchParams, no saddles) per
starting IS on a grid; the defaults are the grid point with the most.
"""

import argparse
import platform
import time
from pathlib import Path

import numpy as np

import tlsviz
from tlsviz.search import scan_search_parameters

p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
p.add_argument("--n", type=int, default=65)
p.add_argument("--minima", type=int, default=6)
p.add_argument("--tries", type=int, default=100)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--t", type=float, nargs="+", default=[0.3, 0.5, 0.7, 1.0])
p.add_argument("--steps", type=int, nargs="+", default=[50, 100, 200, 400])
p.add_argument("--out", default=str(Path(__file__).with_name("tuning.md")))
args = p.parse_args()

system = tlsviz.KobAndersen(n=args.n)
t0 = time.perf_counter()
ims = system.inherent_structures(args.minima, t_equil=0.5, seed=args.seed)
print(f"{len(ims)} IS in {time.perf_counter() - t0:.0f} s")
table = scan_search_parameters(system, [q.positions for q in ims], args.t, args.steps,
                               tries=args.tries, seed=args.seed, callback=print)
best = table.loc[table.distinct_per_is.idxmax()]
text = (
    f"# (T_search, N_search) scan\n\n"
    f"`python benchmarks/tuning.py --n {args.n} --minima {args.minima} --tries {args.tries} "
    f"--seed {args.seed}` on {platform.processor() or platform.machine()}, "
    f"{time.strftime('%Y-%m-%d')}: N = {args.n}, {len(ims)} IS from T_equil = 0.5, {args.tries} tries "
    f"per IS and grid point, windows of `tlsviz.SearchParams` (d_mw < 0.8 before the saddle, "
    f"Δ < 0.5). `distinct_per_is` is the number of distinct accepted minima per IS.\n\n"
    + table.to_markdown(index=False, floatfmt=".4g")
    + f"\n\nBest: T_search = {best.t_search}, N_search = {int(best.n_search)} "
    f"({best.distinct_per_is:.2f} distinct minima per IS).\n"
)
Path(args.out).write_text(text)
print(text)
