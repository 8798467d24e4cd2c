"""The finite-size control: DWPs per particle of N = 65, two non-interacting copies of N = 65 in
one box ("2 × 65", ``--copies 2``) and N = 130, from small campaigns (issue: the 2 × N control).

    python benchmarks/bench_copies.py [--minima 6] [--tries 800] [--n 65] [--seed 5] [--workers 1]

Each system runs one campaign (same seed, same search parameters; the 2 × N and 2N ones have
twice the particles of N) and the script prints, per system: tries back to the IS, distinct
accepted minima, DWPs, pairs dismissed for changing more than one copy, and the DWPs per IS
and per IS and particle (± the standard error over the IS). If the search loses DWPs in the
larger systems (a try that changes two places at once is no DWP), 2 × N and 2N show the same
per-particle deficit against N; 2 × N alone differs from 2N if its copies' free translations
were not symmetries. Nothing here is asserted: it prints and writes a section of
benchmarks/RESULTS.md.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _benchutil import command_line, info_block, machine_info, table, write_section

from tlsviz.campaign import CampaignConfig, run_campaign


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minima", type=int, default=6)
    p.add_argument("--tries", type=int, default=800)
    p.add_argument("--n", type=int, default=65)
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--results", default=str(Path(__file__).with_name("RESULTS.md")))
    args = p.parse_args()

    rows = []
    t_all = time.perf_counter()
    for label, n, copies in ((f"N = {args.n}", args.n, 1), (f"2 × {args.n} (--copies 2)", args.n, 2),
                             (f"N = {2 * args.n}", 2 * args.n, 1)):
        config = CampaignConfig(n=n, copies=copies, minima=args.minima, tries=args.tries, seed=args.seed)
        t0 = time.perf_counter()
        cat = run_campaign(config, Path(tempfile.mkdtemp()) / "cat", workers=args.workers)
        dt = time.perf_counter() - t0
        m = cat.minima
        per_is = np.array([(cat.dwps.is_id == i).sum() for i in m.is_id], float)
        particles = n * copies
        sem = per_is.std(ddof=1) / np.sqrt(len(per_is)) if len(per_is) > 1 else float("nan")
        two_copies = int(cat.dismissed.reason.str.startswith("changes ").sum())
        rows.append([label, str(particles), str(len(m)), f"{m.back_to_is.sum() / m.tries.sum():.2f}",
                     f"{m.distinct.mean():.1f}", str(len(cat.dwps)), str(two_copies),
                     f"{per_is.mean():.2f} ± {sem:.2f}",
                     f"{1000 * per_is.mean() / particles:.1f} ± {1000 * sem / particles:.1f}", f"{dt:.0f}"])
        print(rows[-1], flush=True)
    headers = ["system", "particles", "IS", "back to IS", "distinct / IS", "DWPs", "changes 2 copies",
               "DWPs / IS", "DWPs / IS / 1000 particles", "s"]
    body = ("## The 2 × N control: DWPs per particle (`bench_copies.py`)\n\n"
            + info_block(machine_info(), command_line())
            + f"\nOne campaign per system (seed {args.seed}, {args.tries} tries per IS, default search "
            "parameters, 1000 τ burn-in per IS); ± is the standard error over the IS. 'changes 2 copies': "
            "pairs of the 2 × N system dismissed because the try moved both copies. Total "
            f"{time.perf_counter() - t_all:.0f} s (numba compile included).\n\n"
            + table(headers, rows) + "\n")
    print(body)
    print(f"(written to {write_section('bench_copies', body, Path(args.results))})")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    sys.exit(main())
