"""Local against global DWP search (issue: local DWP search): the same DWPs at N = 65, and the
DWPs per particle at N = 130 and 2 × 65 against N = 65, and optionally N = 2000.

    python benchmarks/bench_local.py [--minima 40] [--arms 65,130,2x65] [--big-minima 4]
        [--t-search 2.0] [--r-loc 1.2] [--buffer B] [--designs free,held] [--tries-per-particle 6]
        [--big-is 1,3] [--global-tries 400] [--saturation K] [--seed 11] [--no-global] [--check-tries-per-particle M]
        [--check-is 0,1] [--check-only] [--no-check] [--cache DIR] [--write]

Arms (``--arms``, comma separated): ``65`` (N = 65, local and global on the same IS, with the
DWPs matched by "same minimum" both ways), ``130``, ``2x65`` or any ``N`` / ``CxN`` (local and
global on the same IS of that system), ``2000`` (local only: ``--big-minima`` IS, or those of
them ``--big-is`` names, and on the IS ``--check-is`` (default: the first one searched) a search
with 5× the tries per particle: ``--check-tries-per-particle`` M against 5 M; the M-per-particle
search's DWPs are those the 5 M search first found in its first M × N tries, the same tries;
``--no-check`` leaves it out). ``--saturation K`` adds a global search with 5× the tries on the first K IS
of the other arms, to tell a search that misses DWPs from a glass that has fewer. The IS of a
system are made as a campaign makes them
(seed ``--seed``, burn-in 1000 τ at T = 0.5). Global tries per IS: ``--global-tries`` × N / 65
(the method's 400 at 65, 800 at 130). Printed per arm and mode: IS, tries per IS, DWPs per IS
and per 1000 particles (± the standard error over the IS), certified DWPs per core-second and
CPU seconds per IS (one core: NUMBA_NUM_THREADS=1; CPU time, not wall time, because the
machine may be shared). Nothing is asserted; ``--write`` replaces
this script's section of benchmarks/RESULTS.md.
"""

import argparse
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from _benchutil import command_line, info_block, machine_info, table, write_section  # noqa: E402

import tlsviz  # noqa: E402
from tlsviz.campaign import CampaignConfig, campaign_is  # noqa: E402
from tlsviz.search import SearchParams, same_minimum  # noqa: E402


def make_is(n, copies, count, seed, cache=None):
    """IS 0..count-1 of a campaign of this system and seed (read from / written to the folder
    ``cache`` when given: making them is most of the cost of a small arm)."""
    path = Path(cache) / f"is-{n}x{copies}-seed{seed}.npz" if cache else None
    have = list(np.load(path)["x"]) if path is not None and path.exists() else []
    config = CampaignConfig(n=n, copies=copies, minima=max(count, 1), seed=seed)
    for i in range(len(have), count):
        have.append(campaign_is(config, i).positions)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, x=np.array(have))
    return have[:count]


def run_arm(system, xs, params, tries, seed, label, log, ids=None):
    """Search every IS (``ids``: their campaign indices, which seed the tries; default 0, 1, …);
    returns per-IS DWP counts, seconds, and the results."""
    counts, secs, results = [], [], []
    for i, x in zip(range(len(xs)) if ids is None else ids, xs):
        t0 = time.process_time()  # CPU seconds of this process: the machine is shared
        res = tlsviz.search_dwps(system, x, tries, seed, is_id=i, params=params)
        secs.append(time.process_time() - t0)
        counts.append(len(res.dwps))
        results.append(res)
        st = res.stats
        log(f"  {label} IS {i}: {len(res.dwps)} DWPs ({len(res.dismissed)} dismissed), {st['tries']} tries "
            f"({st['back_to_is']} back to the IS, {st['distinct']} distinct minima), {secs[-1]:.1f} CPU s "
            f"(wall: tries {st['seconds_tries']:.0f} s, all {st['seconds']:.0f} s)")
    return np.array(counts, float), np.array(secs), results


def is_ids(option, value, count):
    """The IS indices of a comma-separated option value, each checked against the arm's count."""
    ids = [int(v) for v in value.split(",")]
    bad = [i for i in ids if not 0 <= i < count]
    if bad:
        raise SystemExit(f"{option} {value}: IS {bad} not among the {count} IS of the arm (raise --big-minima)")
    return ids


def matched(system, a, b):
    """Fraction of the DWPs of results a whose second minimum is among those of b (same IS)."""
    total = hit = 0
    for ra, rb in zip(a, b):
        for k, row in ra.dwps.iterrows():
            total += 1
            hit += any(same_minimum(system, ra.minimum(k), row.min_energy, rb.minimum(j), rrow.min_energy, 1e-7, 1e-4)
                       for j, rrow in rb.dwps.iterrows())
    return hit, total


def summary(label, mode, particles, counts, secs, tries):
    n = len(counts)
    sem = counts.std(ddof=1) / np.sqrt(n) if n > 1 else float("nan")
    return [label, mode, str(n), str(tries), f"{counts.mean():.2f} ± {sem:.2f}",
            f"{1000 * counts.mean() / particles:.1f} ± {1000 * sem / particles:.1f}",
            f"{counts.sum() / secs.sum():.3f}", f"{secs.mean():.1f}"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minima", type=int, default=40)
    p.add_argument("--arms", default="65,130,2x65")
    p.add_argument("--big-minima", type=int, default=4)
    p.add_argument("--big-is", default=None,
                   help="N = 2000: search only these of the --big-minima IS (comma separated indices)")
    p.add_argument("--t-search", type=float, default=None)
    p.add_argument("--n-search", type=int, default=None)
    p.add_argument("--r-loc", type=float, default=None)
    p.add_argument("--buffer", type=float, default=None)
    p.add_argument("--designs", default="free,held", help="local designs to run, comma separated (free,held)")
    p.add_argument("--tries-per-particle", type=int, default=6)
    p.add_argument("--check-tries-per-particle", type=int, default=None,
                   help="N = 2000's 5× check: this many tries per particle against 5× as many "
                        "(default: --tries-per-particle; the local search of each checked IS is then also compared with it)")
    p.add_argument("--global-tries", type=int, default=400)
    p.add_argument("--no-global", action="store_true", help="local mode only")
    p.add_argument("--saturation", type=int, default=0,
                   help="on the first K IS of the arms 65, 130 and 2x65, also a global search with 5x the tries: "
                        "does the default search miss DWPs that more tries find?")
    p.add_argument("--check-is", default=None,
                   help="N = 2000: the IS (comma separated indices) that get the 5× check (default: the first "
                        "IS searched)")
    check = p.add_mutually_exclusive_group()
    check.add_argument("--check-only", action="store_true", help="N = 2000: only the 5× check")
    check.add_argument("--no-check", action="store_true", help="N = 2000: leave out the 5× check")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--write", action="store_true")
    p.add_argument("--cache", default=None, help="folder to keep the IS in between runs")
    p.add_argument("--results", default=str(Path(__file__).with_name("RESULTS.md")))
    args = p.parse_args()

    over = {k: v for k, v in dict(t_search=args.t_search, n_search=args.n_search, r_loc=args.r_loc,
                                  buffer=args.buffer).items() if v is not None}
    designs = args.designs.split(",")
    local = SearchParams.local(tries_per_particle=args.tries_per_particle, **over)
    glob = SearchParams()
    t_all = time.perf_counter()
    rows, notes = [], []

    def log(s):
        print(s, flush=True)

    for arm in args.arms.split(","):
        copies, n = (int(v) for v in arm.split("x")) if "x" in arm else (1, int(arm))
        system = tlsviz.KobAndersen(n=n, copies=copies)
        particles = n * copies
        count = args.big_minima if arm == "2000" else args.minima
        t0 = time.perf_counter()
        xs = make_is(n, copies, count, args.seed, args.cache)
        log(f"{arm}: {count} IS made in {time.perf_counter() - t0:.0f} s")
        label = "2 × 65" if arm == "2x65" else f"N = {n}"
        by_design = {designs[0]: []}
        big_ids = (is_ids("--big-is", args.big_is, len(xs)) if arm == "2000" and args.big_is
                   else list(range(len(xs))))
        for design in ([] if args.check_only and arm == "2000" else designs):
            pd_ = SearchParams.local(**{**asdict(local), "design": design})
            c_loc, s_loc, r_loc = run_arm(system, [xs[i] for i in big_ids], pd_, 1, args.seed,
                                          f"{label} local {design}", log, ids=big_ids)
            by_design[design] = r_loc
            subset = f", IS {', '.join(map(str, big_ids))}" if len(big_ids) < len(xs) else ""
            rows.append(summary(label, f"local ({design}){subset}", particles, c_loc, s_loc, r_loc[0].stats["tries"]))
            log(str(rows[-1]))
        if arm != "2000" and not args.no_global:
            g_tries = args.global_tries * particles // 65
            c_glb, s_glb, r_glb = run_arm(system, xs, glob, g_tries, args.seed, f"{label} global", log)
            rows.append(summary(label, "global", particles, c_glb, s_glb, g_tries))
            log(str(rows[-1]))
            for design, r_loc in by_design.items():
                h1, t1 = matched(system, r_glb, r_loc)
                h2, t2 = matched(system, r_loc, r_glb)
                notes.append(f"{label}: local ({design}) finds {h1} of the global search's {t1} DWPs "
                             f"({100 * h1 / max(t1, 1):.0f} %), global finds {h2} of local's {t2} "
                             f"({100 * h2 / max(t2, 1):.0f} %)")
                log(notes[-1])
        if arm != "2000" and args.saturation > 0 and not args.no_global:
            k = min(args.saturation, len(xs))
            c5, s5, r5 = run_arm(system, xs[:k], glob, 5 * g_tries, args.seed, f"{label} global 5× tries", log)
            rows.append(summary(label, f"global, 5× tries (IS 0–{k - 1})", particles, c5, s5, 5 * g_tries))
            c1 = c_glb[:k]
            sem1 = c1.std(ddof=1) / np.sqrt(k) if k > 1 else float("nan")
            h, t = matched(system, r5, r_glb[:k])
            notes.append(f"{label}, IS 0–{k - 1}: the default global search finds {h} of the {t} DWPs of the "
                         f"5× tries search ({100 * h / max(t, 1):.0f} %); DWPs / IS / 1000 particles on these IS: "
                         f"{1000 * c1.mean() / particles:.1f} ± {1000 * sem1 / particles:.1f} (default) against "
                         f"{1000 * c5.mean() / particles:.1f} (5× tries)")
            log(notes[-1])
        r_loc = by_design[designs[0]]
        if arm == "2000" and not args.no_check:
            # tries are seeded per (seed, IS, try) and centred on particle k mod N, so the first
            # M × N tries of the 5× search are the M-per-particle search's tries: its DWPs are
            # those of the 5× search first found by a try k < M × N (same minimum, same verdict)
            base_m = args.check_tries_per_particle or args.tries_per_particle
            five = SearchParams.local(**{**asdict(local), "design": designs[0], "tries_per_particle": 5 * base_m})
            # default: the first IS searched
            check_ids = is_ids("--check-is", args.check_is, len(xs)) if args.check_is else big_ids[:1]
            c5, s5, r5 = run_arm(system, [xs[i] for i in check_ids], five, 1, args.seed, f"{label} local 5× tries",
                                 log, ids=check_ids)
            which = ", ".join(map(str, check_ids))
            rows.append(summary(label, f"local ({designs[0]}), {5 * base_m} tries / particle, IS {which}",
                                particles, c5, s5, r5[0].stats["tries"]))
            hits = tots = 0
            for i, res in zip(check_ids, r5):
                dw = res.dwps
                h, t = int((dw.first_try < base_m * particles).sum()), len(dw)
                hits, tots = hits + h, tots + t
                notes.append(f"{label} IS {i}: the local search with {base_m} tries per particle finds {h} of the "
                             f"{t} DWPs of the search with {5 * base_m} ({100 * h / max(t, 1):.0f} %; its DWPs are "
                             f"those the 5× search's first {base_m * particles} tries found)")
                log(notes[-1])
                if base_m == args.tries_per_particle and r_loc and i in big_ids:
                    h2, t2 = matched(system, [r_loc[big_ids.index(i)]], [res])
                    notes.append(f"{label} IS {i}: check, the {base_m}-per-particle search run on its own: {t2} "
                                 f"DWPs, {h2} of them among the 5× search's")
                    log(notes[-1])
            if len(check_ids) > 1:
                notes.append(f"{label}, IS {which} together: {hits} of {tots} ({100 * hits / max(tots, 1):.0f} %)")
                log(notes[-1])

    headers = ["system", "mode", "IS", "tries / IS", "DWPs / IS", "DWPs / IS / 1000 particles",
               "certified DWPs / core-s", "CPU s / IS"]
    knobs = {k: getattr(local, k) for k in ("t_search", "n_search", "r_loc", "buffer", "tries_per_particle")}
    body = ("## Local against global search (`bench_local.py`)\n\n"
            + info_block(machine_info(), command_line())
            + f"\nLocal parameters: {knobs}; "
            f"global: T_search = {glob.t_search}, N_search = {glob.n_search}, {args.global_tries} tries per 65 "
            f"particles. Seed {args.seed}; ± is the standard error over the IS. Seconds are CPU seconds of "
            f"the one-core process (the machine was shared with other jobs). "
            f"Total {time.perf_counter() - t_all:.0f} s.\n\n"
            + table(headers, rows) + "\n\n" + "".join(f"- {s}\n" for s in notes))
    print(body)
    if args.write:
        print(f"(written to {write_section('bench_local', body, Path(args.results))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
