"""Campaign throughput: inherent structures per minute for 1 and 2 worker processes and a
Dask LocalCluster of 2 workers (issue: campaigns), with the scaling efficiency.

    python benchmarks/bench_campaign.py [--minima 8] [--tries 400] [--n 65]
    python benchmarks/bench_campaign.py --cost-only [--minima 16]
    python benchmarks/bench_campaign.py --breakdown [--minima 8]
    python benchmarks/bench_campaign.py --chain-cost [--chains 2] [--minima 8]

Each mode runs the same campaign (same seed) into a fresh temporary directory; the script
also checks that the three catalogues are identical. It then measures, in this process, the
CPU time of an IS: making it (burn-in + quench, ``campaign_is``) and in all (``compute_is``),
and projects the time of a ``--project``-IS campaign (default 10⁴, a published-size data set)
on 2 workers, from the 2-worker rate and from the CPU time (which other jobs on a shared
machine inflate much less than wall time). ``--cost-only``: only the CPU-time part, in its own
section. ``--breakdown``: where the CPU time of an IS goes (random start, burn-in, IS quench;
the tries' MD, their quenches, the quench tail below max|F| = 1e-2; the rest of the search), and
the projection for shorter burn-ins and for a quench stopped as soon as its basin is known; own
section. ``--chain-cost``: the CPU time of an IS of a chain campaign (``--chains``, at the CLI's
defaults: 3000 τ of burn-in per chain, an IS every 1500 τ), each chain's state carried from IS to
IS as a campaign does, averaged over the IS after each chain's first; own section. Writes a
section of benchmarks/RESULTS.md.
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
from tlsviz.system import KobAndersen


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


def chain_cost(config):
    """CPU seconds (``time.process_time``) of :func:`compute_is` for each IS of a chain campaign,
    the state of each chain handed on as :func:`run_campaign` does: (mean over the IS after each
    chain's first, the first IS of each chain)."""
    state, later, first = {}, [], []
    for i in range(config.minima):
        t0 = time.process_time()
        result = compute_is(config, i, state=state.pop(i - config.chains, None))
        (first if i < config.chains else later).append(time.process_time() - t0)
        state[i] = result["state"]
    return sum(later) / len(later), sum(first) / len(first)


def breakdown(config):
    """CPU seconds per IS (``time.process_time``), each part measured on the same IS back to back:
    making it as :func:`campaign_is` does (random start + loose quench, the NVT burn-in, the IS
    quench), then its 400 tries three ways (MD only; MD + quench to max|F| < 1e-2, the most any
    early stop of the quench can save, since the basin is not known before then; to 1e-4, about
    where a rigorous certificate of the basin becomes possible; MD + quench to the search's
    tolerance), then the whole search (tries, IS certificate, saddles)."""
    import numpy as np

    from tlsviz.engine import minimize
    from tlsviz.engine.tries import _search_tries
    from tlsviz.search import search_dwps
    from tlsviz.search.preconditioner import hessian_preconditioner
    from tlsviz.search.tries import try_velocities
    from tlsviz.system import DT, _stream_seed

    system = KobAndersen(n=config.n, copies=config.copies)
    params = config.search
    parts = dict(start=0.0, burn_in=0.0, is_quench=0.0, tries_md=0.0, tries_to_1e2=0.0, tries_to_1e4=0.0, tries=0.0,
                 search=0.0)
    evals = dict(tries_md=0.0, tries_to_1e2=0.0, tries_to_1e4=0.0, tries=0.0)
    clock = time.process_time
    for i in range(config.minima):
        seed = _stream_seed(config.seed, 100_000 + i)  # as campaign_is -> KobAndersen.equilibrate
        t0 = clock()
        x = system.quench(system.random_positions(seed), ftol=1e-3).positions
        v = system.maxwell_velocities(config.t_equil, seed)
        t1 = clock()
        x, v = system.nvt(x, v, int(round(config.burn_in / DT)), config.t_equil, _stream_seed(seed, 0))
        t2 = clock()
        q = system.quench(x)
        t3 = clock()
        parts["start"] += t1 - t0
        parts["burn_in"] += t2 - t1
        parts["is_quench"] += t3 - t2
        x_is = q.positions
        pc = hessian_preconditioner(system, x_is, params)
        vel = try_velocities(system, range(config.tries), seed=config.seed, is_id=i, params=params)
        for key, ftol, max_iter in (("tries_md", params.ftol, 0), ("tries_to_1e2", 1e-2, minimize.MAX_ITER),
                                    ("tries_to_1e4", 1e-4, minimize.MAX_ITER), ("tries", params.ftol, minimize.MAX_ITER)):
            t0 = clock()
            out = _search_tries(x_is, vel, system.masses, params.dt, int(params.n_search), ftol, max_iter,
                                minimize.MAX_STEP, minimize.METHODS[params.minimizer], pc, system.model)
            parts[key] += clock() - t0
            evals[key] += float(np.mean(out.n_evals))
        t0 = clock()
        search_dwps(system, x_is, config.tries, config.seed, is_id=i, params=params)
        parts["search"] += clock() - t0
    return ({k: v / config.minima for k, v in parts.items()}, {k: v / config.minima for k, v in evals.items()})


def breakdown_text(config, parts, evals, project):
    make = parts["start"] + parts["burn_in"] + parts["is_quench"]
    total = make + parts["search"]
    tail2 = parts["tries"] - parts["tries_to_1e2"]
    tail4 = parts["tries"] - parts["tries_to_1e4"]
    rows = [["making the IS: random start + loose quench", parts["start"]],
            [f"making the IS: NVT burn-in, {config.burn_in:g} τ", parts["burn_in"]],
            ["making the IS: quench to max|F| < 1e-10 (CG)", parts["is_quench"]],
            [f"{config.tries} tries: MD only ({config.search.n_search} NVE steps each)", parts["tries_md"]],
            [f"{config.tries} tries: MD + quench to max|F| < 1e-2", parts["tries_to_1e2"]],
            [f"{config.tries} tries: MD + quench to max|F| < 1e-4", parts["tries_to_1e4"]],
            [f"{config.tries} tries: MD + quench to max|F| < {config.search.ftol:g} (as the search)", parts["tries"]],
            ["the whole search (tries, IS certificate, saddles)", parts["search"]],
            ["the whole IS (making + search)", total]]
    table = md_table(["CPU per IS", "s", "share of the IS"],
                     [[r[0], f"{r[1]:.3f}", f"{100 * r[1] / total:.0f} %"] for r in rows])
    hours = lambda per_is: project * per_is / 2 / 3600
    proj = []
    for b in (config.burn_in, 600.0, 300.0, 0.0):
        base = total - parts["burn_in"] * (1 - b / config.burn_in)
        proj.append([f"{b:g} τ", f"{hours(base):.2f}", f"{hours(base - tail4):.2f}", f"{hours(base - tail2):.2f}"])
    ptable = md_table(["burn-in", "h, as today", "h, quench stopped at max|F| < 1e-4",
                       "h, stopped at max|F| < 1e-2"], proj)
    return (table + f"\n\nEvaluations per try: MD {evals['tries_md']:.1f}; with the quench to max|F| < 1e-2 "
            f"{evals['tries_to_1e2']:.1f}, to 1e-4 {evals['tries_to_1e4']:.1f}, to the end {evals['tries']:.1f}.\n\nProjected time of a {project}-IS campaign at {config.tries} tries "
            f"on 2 fully used cores (CPU per IS × {project} / 2):\n\n" + ptable + "\n")


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
    p.add_argument("--breakdown", action="store_true",
                   help="where the CPU time of an IS goes, and projections; own section")
    p.add_argument("--chain-cost", action="store_true",
                   help="CPU cost per IS of a chain campaign (--chains, CLI defaults); own section")
    p.add_argument("--chains", type=int, default=2, help="chains of --chain-cost")
    p.add_argument("--results", default=str(Path(__file__).with_name("RESULTS.md")))
    args = p.parse_args()

    config = CampaignConfig(n=args.n, minima=args.minima, tries=args.tries, seed=args.seed)
    # compile (and cache) every kernel before timing
    run_campaign(CampaignConfig(n=args.n, minima=1, tries=20, burn_in=5.0), tempfile.mkdtemp() + "/warm")

    if args.breakdown:
        parts, evals = breakdown(config)
        body = ("## Campaigns: where the time of an IS goes (`bench_campaign.py --breakdown`)\n\n"
                f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, tlsviz {tlsviz.__version__}, "
                f"load average {os.getloadavg()[0]:.1f} (shared 2-core machine; every part measured on the same "
                f"IS back to back, so the shares are more reliable than the seconds). Command: `python "
                f"benchmarks/bench_campaign.py --breakdown --minima {args.minima} --tries {args.tries}`, "
                f"N = {args.n}, seed {args.seed}.\n\n" + breakdown_text(config, parts, evals, args.project))
        print(body)
        print(f"(written to {write_section('bench_campaign-breakdown', body, Path(args.results))})")
        return 0

    if args.chain_cost:
        from tlsviz.campaign import CHAIN_BURN_IN, CHAIN_SPACING

        chained = CampaignConfig(n=args.n, minima=args.minima, tries=args.tries, seed=args.seed, chains=args.chains,
                                 burn_in=CHAIN_BURN_IN, spacing=CHAIN_SPACING)
        if args.minima <= args.chains:
            p.error("--chain-cost needs --minima > --chains (the IS after each chain's first are timed)")
        later, first = chain_cost(chained)
        hours = args.project * later / 2 / 3600
        body = ("## Campaigns from chains: cost per IS (`bench_campaign.py --chain-cost`)\n\n"
                f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, tlsviz {tlsviz.__version__}, "
                f"load average {os.getloadavg()[0]:.1f}. Command: `python benchmarks/bench_campaign.py --chain-cost "
                f"--chains {args.chains} --minima {args.minima} --tries {args.tries}`, N = {args.n}, seed {args.seed}.\n\n"
                f"CPU time per IS (one process, `time.process_time`) of a campaign with {args.chains} chains, "
                f"{CHAIN_BURN_IN:g} τ of burn-in per chain and an IS every {CHAIN_SPACING:g} τ: {later:.3f} s per IS "
                f"after each chain's first ({args.minima - args.chains} IS), {first:.3f} s for each chain's first. "
                f"On 2 fully used cores a {args.project}-IS campaign at {args.tries} tries would take {hours:.2f} h "
                "(the chains' first IS left out).\n")
        print(body)
        print(f"(written to {write_section('bench_campaign-chains', body, Path(args.results))})")
        return 0

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
