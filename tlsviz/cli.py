"""The ``tlsviz`` command line."""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from . import __version__


def _int_at_least(minimum: int):
    """An argparse type: a whole number >= minimum, with a message that says so."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a number >= {minimum}, got {value}")
        return value

    return parse


_positive_int = _int_at_least(1)
_nonneg_int = _int_at_least(0)


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


def _search_params(args):
    from .search import SearchParams

    return SearchParams(t_search=args.t_search, n_search=args.n_search, d_min=args.d_min,
                        d_max=args.d_max, delta_min=args.delta_min, delta_max=args.delta_max,
                        precondition=not args.no_precondition)


def _cmd_search(args) -> int:
    from pathlib import Path

    from tqdm import tqdm

    from .campaign import CampaignConfig, check_output, run_campaign

    config = CampaignConfig(n=args.n, copies=args.copies, minima=args.minima, tries=args.tries,
                            t_equil=args.t_equil, burn_in=args.burn_in, seed=args.seed,
                            search=_search_params(args)).validate()
    if args.dask is None and args.workers > 1 and args.workers > (os.cpu_count() or 1):
        print(f"note: {args.workers} workers on {os.cpu_count()} cores", file=sys.stderr)
    out = Path(args.out)
    check_output(out, config, args.resume)
    where = f"Dask {args.dask}" if args.dask else f"{args.workers} worker(s)"
    print(f"campaign -> {out.resolve()}: N = {args.n}{' x 2' if args.copies == 2 else ''}, "
          f"{args.minima} IS at T_equil = {args.t_equil}, {args.tries} tries each at "
          f"T_search = {config.search.t_search}, N_search = {config.search.n_search}, seed {args.seed}, {where}")
    bar = tqdm(total=args.minima, unit="IS", desc="search")

    def progress(p):
        bar.n = p.is_done
        bar.set_postfix(DWPs=p.dwps, tries_per_s=f"{p.tries_per_second:.0f}")

    try:
        cat = run_campaign(config, out, workers=args.workers, resume=args.resume, dask=args.dask,
                           progress=progress)
    except KeyboardInterrupt:
        bar.close()
        print(f"interrupted: finished IS are saved in {out.resolve()}; continue with --resume",
              file=sys.stderr)
        return 130
    bar.close()
    print(f"{len(cat.dwps)} DWPs from {len(cat.minima)} IS written to {out.resolve()}/ "
          f"(open with tlsviz.Catalog.open({str(out)!r}); summary: tlsviz info {out})")
    return 0


def _cmd_info(args) -> int:
    import json

    from .catalog import Catalog

    cat = Catalog.open(args.catalog)
    m, d = cat.minima, cat.dwps
    summary = dict(
        path=str(cat.root), tlsviz_version=cat.params.get("tlsviz_version"),
        n=cat.params["n"], copies=cat.params["copies"], seed=cat.params["seed"],
        minima_planned=cat.params["minima"], minima_done=len(m), tries_per_is=cat.params["tries"],
        t_equil=cat.params["t_equil"], search=cat.params["search"], dwps=len(d),
        dwps_per_is=(len(d) / len(m)) if len(m) else None,
        dismissed=len(cat.dismissed),
        dismissed_reasons=cat.dismissed.reason.value_counts().to_dict() if len(cat.dismissed) else {},
        central_b_fraction=float((d.central_type == "B").mean()) if len(d) else None,
        is_energy_mean=float(m.energy.mean()) if len(m) else None,
        asymmetry_median=float(d.asymmetry.median()) if len(d) else None,
        barrier_median=float(d.barrier.median()) if len(d) else None,
    )
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"catalogue {summary['path']} (tlsviz {summary['tlsviz_version']})")
    print(f"  system: N = {summary['n']}{' x 2 copies' if summary['copies'] == 2 else ''}, "
          f"T_equil = {summary['t_equil']}, seed {summary['seed']}")
    print(f"  search: {summary['tries_per_is']} tries per IS, T_search = {summary['search']['t_search']}, "
          f"N_search = {summary['search']['n_search']}, d_max = {summary['search']['d_max']}, "
          f"delta_max = {summary['search']['delta_max']}")
    print(f"  inherent structures: {summary['minima_done']} of {summary['minima_planned']} done")
    if len(m):
        print(f"  DWPs: {summary['dwps']} ({summary['dwps_per_is']:.3f} per IS), dismissed pairs: "
              f"{summary['dismissed']}")
    if len(d):
        print(f"  central particle B in {100 * summary['central_b_fraction']:.1f} % of the DWPs; "
              f"median asymmetry {summary['asymmetry_median']:.4f}, median barrier {summary['barrier_median']:.4f}")
    for reason, count in summary["dismissed_reasons"].items():
        print(f"    dismissed: {count} x {reason}")
    return 0


def _cmd_tune(args) -> int:
    from .search import best_search_parameters, scan_search_parameters
    from .system import KobAndersen

    system = KobAndersen(n=args.n, copies=args.copies)
    ims = system.inherent_structures(args.minima, t_equil=args.t_equil, seed=args.seed)
    table = scan_search_parameters(system, [q.positions for q in ims], args.t_values, args.n_values,
                                   tries=args.tries, seed=args.seed,
                                   callback=lambda row: print(f"  T_search = {row['t_search']}, N_search = "
                                                              f"{row['n_search']}: {row['distinct_per_is']:.2f} "
                                                              "distinct minima per IS", flush=True))
    print(table.drop(columns="distinct_by_is").to_string(index=False))
    best = best_search_parameters(table)
    print(f"best: --t-search {best.t_search} --n-search {int(best.n_search)}")
    return 0


def _cmd_export(args) -> int:
    from pathlib import Path

    from .catalog import Catalog
    from .export import export_catalog

    cat = Catalog.open(args.catalog)
    written = export_catalog(cat, Path(args.out), dwp=args.dwp, fmt=args.format)
    for path in written:
        print(path)
    return 0


def _cmd_report(args) -> int:
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")  # files only, no display needed

    from .analysis.report import write_report
    from .catalog import Catalog

    if args.label is not None and len(args.label) != len(args.catalog):
        raise ValueError(f"{len(args.label)} --label for {len(args.catalog)} catalogues: give one --label "
                         "per catalogue, in the same order, or none")
    cats = [Catalog.open(path) for path in args.catalog]
    out = Path(args.out)
    summary = write_report(cats, out, labels=args.label)
    for entry in summary["catalogues"]:
        print(f"  {entry['label']}: {entry['n_is']} IS, {entry['n_dwps']} DWPs ({entry['path']})")
    n_fig = sum(len(e["figures"]) for e in summary["catalogues"]) + len(summary["figures"])
    print(f"report of {len(cats)} catalogue(s) written to {out.resolve()}/: report.md, report.html, "
          f"summary.json, {n_fig} figures (PNG + SVG) in figures/, tables in data/")
    return 0


def _cmd_explore(args) -> int:
    from .widgets.serve import serve

    return serve(args.catalog, port=args.port)


def _add_system_options(p: argparse.ArgumentParser) -> None:
    """Options shared by the commands that make inherent structures."""
    p.add_argument("--n", type=_positive_int, default=65, help="particles per copy (default 65)")
    p.add_argument("--copies", type=int, choices=(1, 2), default=1, help="1, or 2 for the '2 x N' system")
    p.add_argument("--minima", type=_positive_int, default=3, help="number of inherent structures (default 3)")
    p.add_argument("--t-equil", type=_nonneg_float, default=0.5, help="equilibration temperature (default 0.5)")
    p.add_argument("--seed", type=_nonneg_int, default=0, help="random seed, an integer >= 0 (default 0)")


def build_parser() -> argparse.ArgumentParser:
    from .campaign import CampaignConfig
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

    p = sub.add_parser("search", help="run (or resume) a campaign: inherent structures and their DWPs",
                       description="Make inherent structures at T_equil, run M tries on each (MD at "
                                   "T_search + quench), find and certify the saddles by the ridge method, "
                                   "and write a catalogue (Parquet tables + HDF5 arrays) that survives "
                                   "interruption: run again with --resume to continue.")
    _add_system_options(p)
    p.add_argument("--tries", type=_positive_int, default=400, help="tries M per IS (default 400)")
    p.add_argument("--burn-in", type=_nonneg_float, default=CampaignConfig.burn_in,
                   help=f"NVT time before each IS, in tau (default {CampaignConfig.burn_in:g})")
    defaults = SearchParams()
    p.add_argument("--t-search", type=_nonneg_float, default=defaults.t_search,
                   help=f"temperature of a try (default {defaults.t_search})")
    p.add_argument("--n-search", type=_positive_int, default=defaults.n_search,
                   help=f"MD steps of a try (default {defaults.n_search})")
    p.add_argument("--d-min", type=_nonneg_float, default=defaults.d_min,
                   help=f"lower window on d_mw in sigma (default {defaults.d_min})")
    p.add_argument("--d-max", type=_nonneg_float, default=defaults.d_max,
                   help=f"upper window on d_mw,rp in sigma (default {defaults.d_max})")
    p.add_argument("--delta-min", type=_nonneg_float, default=defaults.delta_min,
                   help=f"lower window on the asymmetry in epsilon (default {defaults.delta_min})")
    p.add_argument("--delta-max", type=_nonneg_float, default=defaults.delta_max,
                   help=f"upper window on the asymmetry in epsilon (default {defaults.delta_max})")
    p.add_argument("--no-precondition", action="store_true",
                   help="plain L-BFGS in the tries (default: preconditioned near the end by the IS Hessian)")
    p.add_argument("--out", default="tlsviz-catalog", help="catalogue directory (default ./tlsviz-catalog)")
    p.add_argument("--workers", type=_positive_int, default=1, help="processes (default 1)")
    p.add_argument("--resume", action="store_true", help="continue the campaign already in --out")
    p.add_argument("--dask", metavar="ADDRESS", default=None,
                   help="run on Dask: 'local' for a LocalCluster of --workers processes, or a "
                        "scheduler address tcp://host:port (e.g. a dask-jobqueue cluster)")
    p.set_defaults(func=_cmd_search)

    p = sub.add_parser("info", help="summarise a catalogue", description="Summarise a catalogue.")
    p.add_argument("catalog", help="catalogue directory")
    p.add_argument("--json", action="store_true", help="print the summary as JSON for scripts")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser("tune", help="scan (T_search, N_search) for the most distinct nearby minima",
                       description="Scan a grid of (T_search, N_search) on a few inherent structures "
                                   "and report the distinct accepted nearby minima per IS (no saddles).")
    _add_system_options(p)
    p.add_argument("--tries", type=_positive_int, default=100, help="tries per IS and grid point (default 100)")
    p.add_argument("--t-values", type=_nonneg_float, nargs="+", default=[0.3, 0.5, 0.7, 1.0],
                   help="T_search values (default 0.3 0.5 0.7 1.0)")
    p.add_argument("--n-values", type=_positive_int, nargs="+", default=[50, 100, 200, 400],
                   help="N_search values (default 50 100 200 400)")
    p.set_defaults(func=_cmd_tune)

    p = sub.add_parser("export", help="write DWPs as extended XYZ (OVITO) and LAMMPS data files",
                       description="Export one DWP (--dwp) or the whole catalogue: the path as a "
                                   "multi-frame extended XYZ trajectory and the IS, saddle and second "
                                   "minimum as LAMMPS data files.")
    p.add_argument("catalog", help="catalogue directory")
    p.add_argument("--dwp", type=_nonneg_int, default=None, help="row of the DWP table (default: all)")
    p.add_argument("--format", choices=("xyz", "lammps", "both"), default="both", help="default both")
    p.add_argument("--out", default="tlsviz-export", help="output directory (default ./tlsviz-export)")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("report", help="figures, tables and summary.json of the observables of one or more catalogues",
                       description="Compute every observable of the method (distances, found counts, DWPs per "
                                   "IS and per particle, TLS densities in Ni-P units, sorted displacements, "
                                   "participation ratios, central-particle correlations) and write figures "
                                   "(PNG + SVG), report.md, report.html and summary.json (keys in docs/report.md). "
                                   "Several catalogues (e.g. N = 65, 130 and 2 x 65) add the finite-size "
                                   "comparison.")
    p.add_argument("catalog", nargs="+", help="catalogue directories")
    p.add_argument("--out", default="tlsviz-report", help="output directory (default ./tlsviz-report); "
                                                          "report files already there are replaced")
    p.add_argument("--label", action="append", default=None,
                   help="name of a catalogue in the report, once per catalogue in order (default 'N = 65', '2 x 65', ...)")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("explore", help="serve the explorer as a web page (Voila) on 127.0.0.1",
                       description="Serve the explorer as a standalone web page with Voila on 127.0.0.1 "
                                   "(to project it, or to use it without a notebook); Ctrl-C stops it.")
    p.add_argument("catalog", nargs="?", default=None, help="catalogue directory (default: the built-in demo)")
    p.add_argument("--port", type=int, default=8866, help="TCP port (default 8866)")
    p.set_defaults(func=_cmd_explore)
    return parser


def main(argv: list[str] | None = None) -> int:
    import signal

    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `tlsviz info ... | head` ends quietly
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except (ValueError, KeyError, IndexError) as err:
        parser.exit(2, f"tlsviz {args.command}: error: {err}\n")


if __name__ == "__main__":
    sys.exit(main())
