"""Scan (T_search, N_search) for the DWP search defaults (docs/method.md §3), write benchmarks/tuning.md.

    python benchmarks/tuning.py [--n 65] [--minima 6] [--tries 100] [--seed 0]

Counts distinct accepted nearby minima (windows of tlsviz.SearchParams, no saddles) per
starting IS on a grid; the defaults are the grid point with the most.
"""

import argparse
import platform
import time
from pathlib import Path

import tlsviz
from tlsviz.search import best_search_parameters, scan_search_parameters, yield_vs_best

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
best = best_search_parameters(table)
top = table.loc[table.distinct_per_is.idxmax()]
# the yield of every point against the best, IS by IS (the same IS at every point)
vs_best, vs_best_err = yield_vs_best(table)
table.insert(4, "vs_best", vs_best)
table.insert(5, "vs_best_err", vs_best_err)
text = (
    f"# (T_search, N_search) scan\n\n"
    f"`python benchmarks/tuning.py --n {args.n} --minima {args.minima} --tries {args.tries} "
    f"--seed {args.seed}` on {platform.processor() or platform.machine()}, "
    f"{time.strftime('%Y-%m-%d')}: N = {args.n}, {len(ims)} IS from T_equil = 0.5, {args.tries} tries "
    f"per IS and grid point, windows of `tlsviz.SearchParams` (d_mw < 0.8 before the saddle, "
    f"Δ < 0.5). `distinct_per_is` is the number of distinct accepted minima per IS "
    f"(± `distinct_per_is_err`, the standard error over the IS); `vs_best` ± `vs_best_err`: the "
    f"difference from the point of largest yield, paired IS by IS; `seconds_per_try` on this machine, "
    f"one core.\n\n"
    + table.drop(columns="distinct_by_is").to_markdown(index=False, floatfmt=".4g")
    + f"\n\nLargest yield: T_search = {top.t_search}, N_search = {int(top.n_search)} "
    f"({top.distinct_per_is:.2f} ± {top.distinct_per_is_err:.2f} distinct minima per IS). "
    f"Chosen by the one-standard-error rule (`tlsviz.search.best_search_parameters`: the fewest MD "
    f"steps among the points whose yield is below the largest by less than one standard error of "
    f"the difference, paired IS by IS): T_search = "
    f"{best.t_search}, N_search = {int(best.n_search)} ({best.distinct_per_is:.2f} ± "
    f"{best.distinct_per_is_err:.2f}).\n"
)
Path(args.out).write_text(text)
print(text)
