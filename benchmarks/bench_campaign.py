"""Campaign throughput: inherent structures per minute for 1 and 2 worker processes and a
Dask LocalCluster of 2 workers (issue: campaigns), with the scaling efficiency.

    python benchmarks/bench_campaign.py [--minima 8] [--tries 400] [--n 65]

Each mode runs the same campaign (same seed) into a fresh temporary directory; the script
also checks that the three catalogues are identical. Writes a section of benchmarks/RESULTS.md.
"""

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from _benchutil import write_section

import tlsviz
from tlsviz.campaign import CampaignConfig, run_campaign


def main() -> int:
    # everything inside main(): Dask and process pools re-import this module in their workers
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minima", type=int, default=8)
    p.add_argument("--tries", type=int, default=400)
    p.add_argument("--n", type=int, default=65)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--results", default=str(Path(__file__).with_name("RESULTS.md")))
    args = p.parse_args()

    config = CampaignConfig(n=args.n, minima=args.minima, tries=args.tries, seed=args.seed)
    # compile (and cache) every kernel before timing
    run_campaign(CampaignConfig(n=args.n, minima=1, tries=20, burn_in=5.0), tempfile.mkdtemp() + "/warm")

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
    cpu = subprocess.run(["sh", "-c", "lscpu | grep 'Model name' | sed 's/.*: *//'"], capture_output=True,
                         text=True).stdout.strip() or platform.processor()
    table = pd.DataFrame(rows).to_markdown(index=False, floatfmt=".3g")
    body = (
        "## Campaigns: IS per minute (`bench_campaign.py`)\n\n"
        f"Machine: {cpu} ({os.cpu_count()} cores); {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"tlsviz {tlsviz.__version__}, Python {platform.python_version()}.\n\n"
        f"Command: `python benchmarks/bench_campaign.py --minima {args.minima} --tries {args.tries} --n {args.n}`"
        f" — N = {args.n}, {args.minima} IS (each: {config.burn_in:g} τ NVT burn-in from its own random start, "
        f"quench, {args.tries} tries, saddles), one run per mode, wall clock including process / cluster "
        "start-up.\n\n" + table +
        f"\n\nThe three catalogues are identical: {'yes' if same else 'NO'}.\n"
    )
    print(body)
    print(f"(written to {write_section('bench_campaign', body, Path(args.results))})")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
