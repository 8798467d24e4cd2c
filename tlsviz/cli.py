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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tlsviz",
        description="Find and characterise the double-well potentials of the Kob-Andersen glass.",
    )
    parser.add_argument("--version", action="version", version=f"tlsviz {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("minima", help="equilibrate at T_equil and quench snapshots to inherent structures",
                       description="Equilibrate the glass former at T_equil with the Bussi thermostat "
                                   "and quench well-separated snapshots to their inherent structures.")
    p.add_argument("--n", type=_positive_int, default=65, help="particles per copy (default 65)")
    p.add_argument("--copies", type=int, choices=(1, 2), default=1, help="1, or 2 for the '2 x N' system")
    p.add_argument("--minima", type=_positive_int, default=3, help="number of inherent structures (default 3)")
    p.add_argument("--t-equil", type=_nonneg_float, default=0.5, help="equilibration temperature (default 0.5)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(func=_cmd_minima)
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
