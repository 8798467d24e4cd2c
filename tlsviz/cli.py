"""The ``tlsviz`` command line."""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from . import __version__


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def _nonneg_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value}")
    return value


def _nonneg_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not np.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text}")
    return value


def _cmd_minima(args) -> int:
    from tqdm import tqdm

    from .system import KobAndersen

    system = KobAndersen(n=args.n, copies=args.copies)
    t0 = time.perf_counter()
    with tqdm(total=args.minima, unit="IS", desc="inherent structures") as bar:
        ims = system.inherent_structures(
            args.minima, t_equil=args.t_equil, seed=args.seed,
            callback=lambda i, q: bar.update(1) and False,
        )
    print(f"{system!r}, T_equil = {args.t_equil}, seed = {args.seed}: "
          f"{len(ims)} inherent structures in {time.perf_counter() - t0:.1f} s")
    for i, q in enumerate(ims):
        print(f"  IS {i}: E = {q.energy:.8f} ({q.energy / system.n_particles:.6f} per particle), "
              f"max|F| = {q.grad_norm:.1e}, {q.n_evals} evaluations, converged = {q.converged}")
    return 0


def _cmd_search(args) -> int:
    from pathlib import Path

    import pandas as pd
    from tqdm import tqdm

    from .search import SearchParams, SearchRun
    from .system import KobAndersen

    system = KobAndersen(n=args.n, copies=args.copies)
    params = SearchParams(t_search=args.t_search, n_search=args.n_search, d_max=args.d_max,
                          delta_max=args.delta_max).validate()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"{system!r}: {args.minima} inherent structures at T_equil = {args.t_equil}, "
          f"{args.tries} tries each at T_search = {params.t_search}, N_search = {params.n_search}, "
          f"seed {args.seed}")
    ims = []
    with tqdm(total=args.minima, unit="IS", desc="equilibrate + quench") as bar:
        system.inherent_structures(args.minima, t_equil=args.t_equil, seed=args.seed,
                                   callback=lambda i, q: ims.append(q) or bar.update(1) and False)
    dwps, dismissed, minima = [], [], []
    t0 = time.perf_counter()
    tries_done = 0
    with tqdm(total=args.minima * args.tries, unit="try", desc="search") as bar:
        for i, q in enumerate(ims):
            run = SearchRun(system, q.positions, args.tries, args.seed, is_id=i, params=params)
            for prog in run:
                if prog.stage == "tries":
                    tries_done += 1
                    bar.update(1)
                bar.set_postfix(IS=f"{i}/{len(ims)}", DWPs=sum(len(d) for d in dwps) + prog.dwps_verified,
                                refresh=False)
            res = run.result()
            dwps.append(res.dwps)
            dismissed.append(res.dismissed)
            minima.append(dict(is_id=i, energy=q.energy, grad_norm=q.grad_norm, quench_evals=q.n_evals,
                               n_dwps=len(res.dwps), **{k: v for k, v in res.stats.items() if k != "box"}))
    table = pd.concat(dwps, ignore_index=True)
    pd.DataFrame(minima).to_csv(out / "minima.csv", index=False)
    table.to_csv(out / "dwps.csv", index=False)
    pd.concat(dismissed, ignore_index=True).to_csv(out / "dismissed.csv", index=False)
    dt = time.perf_counter() - t0
    print(f"{len(table)} DWPs from {len(ims)} IS ({tries_done / dt:.0f} tries/s); "
          f"tables written to {out.resolve()}/ (minima.csv, dwps.csv, dismissed.csv)")
    if len(table):
        cols = ["is_id", "asymmetry", "barrier", "d_mwrp", "central_type", "pr2", "count"]
        print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    return 0


def _add_system_options(p: argparse.ArgumentParser) -> None:
    """Options shared by the commands that make inherent structures."""
    p.add_argument("--n", type=_positive_int, default=65, help="particles per copy (default 65)")
    p.add_argument("--copies", type=int, choices=(1, 2), default=1, help="1, or 2 for the '2 x N' system")
    p.add_argument("--minima", type=_positive_int, default=3, help="number of inherent structures (default 3)")
    p.add_argument("--t-equil", type=_nonneg_float, default=0.5, help="equilibration temperature (default 0.5)")
    p.add_argument("--seed", type=_nonneg_int, default=0, help="random seed, an integer >= 0 (default 0)")


def build_parser() -> argparse.ArgumentParser:
    from .search import SearchParams

    parser = argparse.ArgumentParser(
        prog="tlsviz",
        description="Find and characterise the double-well potentials of the Kob-Andersen glass.",
    )
    parser.add_argument("--version", action="version", version=f"tlsviz {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("minima", help="equilibrate at T_equil and quench snapshots to inherent structures",
                       description="Equilibrate the glass former at T_equil with the Bussi thermostat "
                                   "and quench well-separated snapshots to their inherent structures.")
    _add_system_options(p)
    p.set_defaults(func=_cmd_minima)

    p = sub.add_parser("search", help="find the DWPs of freshly made inherent structures",
                       description="Make inherent structures at T_equil, run M tries on each "
                                   "(MD at T_search + quench), find and certify the saddles by the "
                                   "ridge method, and write the DWP tables.")
    _add_system_options(p)
    p.add_argument("--tries", type=_positive_int, default=400, help="tries M per IS (default 400)")
    defaults = SearchParams()
    p.add_argument("--t-search", type=_nonneg_float, default=defaults.t_search,
                   help=f"temperature of a try (default {defaults.t_search})")
    p.add_argument("--n-search", type=_positive_int, default=defaults.n_search,
                   help=f"MD steps of a try (default {defaults.n_search})")
    p.add_argument("--d-max", type=_nonneg_float, default=defaults.d_max,
                   help=f"window on d_mw,rp in sigma (default {defaults.d_max})")
    p.add_argument("--delta-max", type=_nonneg_float, default=defaults.delta_max,
                   help=f"window on the asymmetry in epsilon (default {defaults.delta_max})")
    p.add_argument("--out", default="tlsviz-output", help="output directory (default ./tlsviz-output)")
    p.set_defaults(func=_cmd_search)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except ValueError as err:
        parser.exit(2, f"tlsviz {args.command}: error: {err}\n")


if __name__ == "__main__":
    sys.exit(main())
