"""Campaign throughput: inherent structures per minute for 1 and 2 worker processes and a
Dask LocalCluster of 2 workers (issue: campaigns), with the scaling efficiency.

    python benchmarks/bench_campaign.py [--minima 8] [--tries 400] [--n 65]
    python benchmarks/bench_campaign.py --cost-only [--minima 16]

Each mode runs the same campaign (same seed) into a fresh temporary directory; the script
also checks that the three catalogues are identical. It then measures, in this process, the
CPU time of an IS: making it (burn-in + quench, ``campaign_is``) and in all (``compute_is``),
and projects the time of a ``--project``-IS campaign (default 10⁴, a published-size data set)
on 2 workers, from the 2-worker rate and from the CPU time (which other jobs on a shared
machine inflate much less than wall time). ``--cost-only``: only the CPU-time part, in its own
section. Writes a section of benchmarks/RESULTS.md.
"""

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _benchutil import table as md_table
from _benchutil import write_section

import tlsviz
from tlsviz.campaign import CampaignConfig, campaign_is, compute_is, run_campaign


def is_cost(config):
    """CPU seconds (this process, so other jobs on the machine barely count) per IS: making it
    (``campaign_is``: burn-in + quench) and in all (``compute_is``: that + the search)."""
    make = total = 0.0
    for i in range(config.minima):
        t0 = time.process_time()
        campaign_is(config, i)
        t1 = time.process_time()
        compute_is(config, i)
        make += t1 - t0
        total += time.process_time() - t1
    return make / config.minima, total / config.minima


def cost_text(config, make, total, project):
    hours = project * total / 2 / 3600
    return (f"CPU time per IS (one process, `time.process_time`, little affected by other jobs): "
            f"{total:.2f} s in all, of which making it ({config.burn_in:g} τ burn-in + quench) {make:.2f} s "
            f"({100 * make / total:.0f} %). On 2 fully used cores a {project}-IS campaign at {config.tries} "
            f"tries would take {hours:.2f} h; with no burn-in at all {hours * (1 - make / total):.2f} h.")


def main() -> int:
    # everything inside main(): Dask and process pools re-import this module in their workers
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minima", type=int, default=8)
    p.add_argument("--tries", type=int, default=400)
    p.add_argument("--n", type=int, default=65)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--project", type=int, default=10_000, help="IS of the campaign whose time is projected")
    p.add_argument("--cost-only", action="store_true",
                   help="only the CPU cost per IS and the projection (no worker modes); own section")
    p.add_argument("--results", default=str(Path(__file__).with_name("RESULTS.md")))
    args = p.parse_args()

    config = CampaignConfig(n=args.n, minima=args.minima, tries=args.tries, seed=args.seed)
    # compile (and cache) every kernel before timing
    run_campaign(CampaignConfig(n=args.n, minima=1, tries=20, burn_in=5.0), tempfile.mkdtemp() + "/warm")

    if args.cost_only:
        make, total = is_cost(config)
        body = ("## Campaigns: cost per IS and projection (`bench_campaign.py --cost-only`)\n\n"
                f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, tlsviz {tlsviz.__version__}, "
                f"load average {os.getloadavg()[0]:.1f} (shared 2-core machine). Command: `python "
                f"benchmarks/bench_campaign.py --cost-only --minima {args.minima} --tries {args.tries}`, "
                f"N = {args.n}, seed {args.seed}.\n\n" + cost_text(config, make, total, args.project) + "\n")
        print(body)
        print(f"(written to {write_section('bench_campaign-cost', body, Path(args.results))})")
        return 0

    rows, cats = [], {}
    for label, kw in (("1 worker", dict(workers=1)), ("2 workers", dict(workers=2)),
                      ("Dask LocalCluster, 2 workers", dict(workers=2, dask="local"))):
        out = Path(tempfile.mkdtemp()) / "cat"
        t0 = time.perf_counter()
        cat = run_campaign(config, out, **kw)
        dt = time.perf_counter() - t0
        cats[label] = cat
        rows.append(dict(mode=label, seconds=dt, is_per_minute=60 * args.minima / dt, dwps=len(cat.dwps)))
        print(rows[-1], flush=True)
    base = rows[0]["is_per_minute"]
    for r in rows:
        workers = 1 if r["mode"] == "1 worker" else 2
        r["speed-up"] = r["is_per_minute"] / base
        r["efficiency"] = r["speed-up"] / workers
    same = all(cats[k].dwps.equals(cats["1 worker"].dwps) and cats[k].minima.equals(cats["1 worker"].minima)
               for k in cats)
    make, total = is_cost(config)
    per_is = rows[0]["seconds"] / args.minima  # 1 worker, incl. start-up
    two = next(r for r in rows if r["mode"] == "2 workers")
    hours = args.project / two["is_per_minute"] / 60
    cpu = subprocess.run(["sh", "-c", "lscpu | grep 'Model name' | sed 's/.*: *//'"], capture_output=True,
                         text=True).stdout.strip() or platform.processor()
    cols = ["mode", "seconds", "is_per_minute", "dwps", "speed-up", "efficiency"]
    table = md_table(cols, [[r["mode"]] + [format(r[c], ".3g") for c in cols[1:]] for r in rows])
    body = (
        "## Campaigns: IS per minute (`bench_campaign.py`)\n\n"
        f"Machine: {cpu} ({os.cpu_count()} cores); {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"tlsviz {tlsviz.__version__}, Python {platform.python_version()}; load average "
        f"{os.getloadavg()[0]:.1f} at the end (the machine is shared: above ~2, every time here is inflated "
        "and the 2-worker speed-up is not measured).\n\n"
        f"Command: `python benchmarks/bench_campaign.py --minima {args.minima} --tries {args.tries} --n {args.n}`"
        f" — N = {args.n}, {args.minima} IS (each: {config.burn_in:g} τ NVT burn-in from its own random start, "
        f"quench, {args.tries} tries, saddles), one run per mode, wall clock including process / cluster "
        "start-up.\n\n" + table +
        f"\n\nThe three catalogues are identical: {'yes' if same else 'NO'}.\n\n"
        f"Projected from the 2-worker rate: a {args.project}-IS campaign at {args.tries} tries takes "
        f"{hours:.2f} h ({args.project} / {two['is_per_minute']:.3g} IS per minute). "
        + cost_text(config, make, total, args.project) + "\n"
    )
    print(body)
    print(f"(written to {write_section('bench_campaign', body, Path(args.results))})")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
