"""Where the finite-size deficit of DWPs per particle comes from (issue: local DWP search).

    python benchmarks/finite_size.py [--arms 65:40,130:40,260:20] [--d-max 2.0] [--seed 11]
        [--cache DIR] [--write]

The DWPs per particle of the method's search fall with N (benchmarks/RESULTS.md,
``bench_local``: 14.2 per 1000 particles at N = 65, 7.1 at 130, 7.3 at 260 with 6 tries per
particle, 4.2 at 2000 with 1), with local or global tries and with five times the tries. This
script asks whether the method's window d_mw,rp < d_max = 0.8 σ (docs/method.md) is what falls: a
rearrangement in a small periodic box has its elastic far field cut off at L/2 (1.89 σ at
N = 65), so the same local event has a smaller mass-weighted distance there than in a large
box, and more of them pass the window.

Per arm (``N:IS``; ``CxN:IS`` for copies), the local "free" search with its defaults
(T 2.0, 100 steps, r_loc 1.2, 6 tries per particle) runs on the campaign IS (seed ``--seed``,
the same IS as ``bench_local.py``, shared through ``--cache``) with the distance window
opened to ``--d-max``; every pair is certified as usual (single saddle, Hessian, connection).
Printed: certified DWPs per 1000 particles whose d_mw,rp lies below each threshold (± the
standard error over the IS; the 0.8 column is the method's count, the same DWPs as a search
with d_max = 0.8: that search's pre-filter d_mw < d_max loses none of them, as d_mw ≤ d_mw,rp,
and the rest of a pair's verdict does not depend on d_max), those of them that 1 try per
particle finds (first found by one of the first N tries: tries are seeded per (seed, IS, try)
and try k is centred on particle k mod N, so these are the DWPs of a search with 1 try per
particle, as the N = 2000 arm runs), and per arm the medians over
the DWPs of d_mw,rp, of the central particle's displacement and of the share of d_mw² carried
by particles more than 1.5 σ from the central particle (in the IS). Nothing is asserted;
``--write`` replaces this script's section of benchmarks/RESULTS.md.
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from _benchutil import command_line, info_block, machine_info, table, write_section  # noqa: E402
from bench_local import make_is, run_arm  # noqa: E402

import tlsviz  # noqa: E402
from tlsviz.search import SearchParams  # noqa: E402
from tlsviz.search.local import _minimum_image_distances  # noqa: E402

THRESHOLDS = (0.4, 0.6, 0.8, 1.0, 1.2, 1.6, 2.0)
#: The method's window (0.8 σ)
D_MAX = SearchParams().d_max
R_FAR = 1.5


def far_share(system, res, k) -> float:
    """Share of DWP k's d_mw² carried by particles farther than R_FAR from its central particle."""
    d = res.displacements(k)
    d2 = system.masses * (d * d).sum(axis=1)  # a share: the reference mass m_A cancels
    r = _minimum_image_distances(system, res.is_positions, int(res.dwps.central_index.iloc[k]))
    return float(d2[r > R_FAR].sum() / d2.sum())


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arms", default="65:40,130:40,260:20", help="N:IS (or CxN:IS), comma separated")
    p.add_argument("--d-max", type=float, default=2.0)
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--cache", default=None, help="folder to keep the IS in between runs (as bench_local.py)")
    p.add_argument("--write", action="store_true")
    p.add_argument("--results", default=str(Path(__file__).with_name("RESULTS.md")))
    args = p.parse_args()
    params = SearchParams.local(d_max=args.d_max)
    cuts = [t for t in THRESHOLDS if t <= args.d_max]
    t_all = time.perf_counter()
    rows, med_rows, reason_rows = [], [], []
    for arm in args.arms.split(","):
        size, count = arm.split(":")
        copies, n = (int(v) for v in size.split("x")) if "x" in size else (1, int(size))
        count = int(count)
        system = tlsviz.KobAndersen(n=n, copies=copies)
        particles = n * copies
        xs = make_is(n, copies, count, args.seed, args.cache)
        label = f"{copies} × {n}" if copies > 1 else f"N = {n}"
        per_is = np.zeros((count, len(cuts) + 1))
        drp, dcen, far = [], [], []
        reasons = {"d_mw,rp ≥ d_max": 0, "third minimum": 0, "other": 0}
        _, secs, results = run_arm(system, xs, params, 1, args.seed, label, lambda line: print(line, flush=True))
        for i, res in enumerate(results):
            v = res.dwps.d_mwrp.to_numpy()
            one = res.dwps.first_try.to_numpy() < particles  # found by a try of the first N: 1 per particle
            per_is[i] = [(v < c).sum() for c in cuts] + [((v < D_MAX) & one).sum()]
            drp += list(v)
            dcen += list(res.dwps.central_displacement)
            far += [far_share(system, res, k) for k in range(len(res.dwps))]
            for why in res.dismissed.reason if len(res.dismissed) else []:
                key = ("d_mw,rp ≥ d_max" if "not below d_max" in why
                       else "third minimum" if "third minimum" in why else "other")
                reasons[key] += 1
        cpu = secs.sum()
        mean = 1000 * per_is.mean(axis=0) / particles
        sem = 1000 * per_is.std(axis=0, ddof=1) / np.sqrt(count) / particles
        rows.append([label, str(count)] + [f"{m:.1f} ± {s:.1f}" for m, s in zip(mean, sem)])
        med_rows.append([label, str(len(drp)), f"{np.median(drp):.2f}" if drp else "–",
                         f"{np.median(dcen):.2f}" if dcen else "–", f"{np.median(far):.2f}" if far else "–",
                         f"{cpu / count:.1f}"])
        reason_rows.append([label] + [f"{1000 * v / count / particles:.1f}" for v in reasons.values()])
        print(rows[-1], med_rows[-1], reason_rows[-1], flush=True)
    body = ("## Finite size: DWPs per particle against the distance window (`finite_size.py`)\n\n"
            + info_block(machine_info(), command_line())
            + f"\nLocal search ({params.design}, T {params.t_search}, {params.n_search} steps, r_loc "
            f"{params.r_loc}, {params.tries_per_particle} tries per particle) with the window "
            f"opened to d_max = {args.d_max} σ; seed {args.seed}; the campaign IS of `bench_local.py`. "
            f"Total {time.perf_counter() - t_all:.0f} s.\n\n"
            "Certified DWPs per IS per 1000 particles with d_mw,rp below each threshold (σ; ± the standard "
            f"error over the IS; {D_MAX} is the method's window; the last column: those a search with 1 try per "
            "particle finds, i.e. first found by one of the first N tries, as the N = 2000 arm of "
            "`bench_local.py` runs):\n\n"
            + table(["system", "IS"] + [f"< {c}" for c in cuts] + [f"< {D_MAX}, 1 try / particle"], rows) + "\n\n"
            + f"Medians over the DWPs (d_mw,rp < {args.d_max}): d_mw,rp, the central particle's |d|, the share "
            f"of d_mw² carried by particles more than {R_FAR} σ from the central one; CPU s per IS:\n\n"
            + table(["system", "DWPs", "d_mw,rp", "central |d|", f"share beyond {R_FAR} σ", "CPU s / IS"],
                    med_rows) + "\n\n"
            "Pairs dismissed per IS per 1000 particles, by reason:\n\n"
            + table(["system"] + list(reasons), reason_rows) + "\n")
    print(body)
    if args.write:
        print(f"(written to {write_section('finite_size', body, Path(args.results))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
