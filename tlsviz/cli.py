"""The ``tlsviz`` command line.

Only the standard library is imported before the arguments are parsed: numba, numpy,
pandas and scipy are imported inside the command handlers, so that ``--help`` and a bad
option answer at once. The defaults shown in ``--help`` are written here and kept equal
to :class:`tlsviz.SearchParams` and :data:`tlsviz.system.IS_BURN_IN` by tests/test_cli.py.

Every failure the user can cause ends in one or two lines on stderr, ``tlsviz COMMAND:
error: ...`` (exit 2), never a traceback; Ctrl-C ends with "interrupted" (exit 130).
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import threading
import time
from pathlib import Path

from . import __version__

#: Search defaults shown by --help (equal to tlsviz.SearchParams(); checked by the tests).
SEARCH_DEFAULTS = dict(t_search=0.7, n_search=100, d_min=1e-3, d_max=0.8, delta_min=0.0, delta_max=0.5)
#: Defaults of `tlsviz search --local` (equal to tlsviz.search.LOCAL_DEFAULTS; checked by the tests).
LOCAL_DEFAULTS = dict(t_search=2.0, r_loc=1.2, buffer=2.0, design="free", tries_per_particle=6)
#: Default burn-in before each IS, in τ (tlsviz.system.IS_BURN_IN).
BURN_IN_DEFAULT = 1000.0
#: Defaults of a chain campaign (--chains; tlsviz.campaign.CHAIN_BURN_IN, CHAIN_SPACING).
CHAIN_BURN_IN_DEFAULT = 3000.0
CHAIN_SPACING_DEFAULT = 1500.0
#: Default density and cut-off of tlsviz.KobAndersen, and the smallest n they allow (L > 2 r_c).
DENSITY, CUTOFF = 1.2, 1.8
N_MIN = math.floor(DENSITY * (2 * CUTOFF) ** 3) + 1
#: Where `tlsviz search` writes by default: under the current directory, named so that a user
#: finds it (`.gitignore` keeps it out of this repository).
DEFAULT_OUT = "tlsviz-catalog"


class CLIError(Exception):
    """A failure to report in one line (exit 2), without a traceback."""


# ------------------------------------------------------------------ option types
def _int_at_least(minimum: int, why: str = ""):
    """An argparse type: a whole number >= minimum, with a message that says so (and why)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a number >= {minimum}{why}, got {value}")
        return value

    return parse


_positive_int = _int_at_least(1)
_nonneg_int = _int_at_least(0)
_particles = _int_at_least(N_MIN, f" (at density {DENSITY} the box must be larger than twice the "
                                  f"cut-off {CUTOFF})")


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text}")
    return value


def _nonneg_float(text: str) -> float:
    value = _float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = _float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a length > 0 (sigma), got {text}")
    return value


def _temperature(text: str) -> float:
    value = _float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a temperature > 0, got {text}")
    return value


# ------------------------------------------------------------------ helpers
def _writable_dir(path: Path, option: str = "--out") -> Path:
    """Create the output directory ``path`` (and its parents), or a CLIError saying why not."""
    from .catalog import file_in_the_way

    parent = file_in_the_way(path)
    if parent is not None:
        where = "is a file" if parent == path else f"is inside {parent}, which is a file"
        raise CLIError(f"{option} {path} {where}: give a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CLIError(f"cannot create {option} {path} ({err.strerror or err}): choose a directory "
                       "you can write") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise CLIError(f"cannot write into {option} {path}: choose a directory you can write")
    return path


def _numba_cold() -> bool:
    """True when the search kernels are not in numba's cache yet (a first run compiles them)."""
    from ._numba_cache import cache_is_cold

    return cache_is_cold(str(Path(__file__).parent / "engine" / "tries.py"), "_search_tries")


COMPILING = "compiling kernels, first run only"


class _Interrupt:
    """SIGINT sets a flag (``is_set()``) for the whole command: the campaign, ``minima`` and
    ``tune`` look at it between compiled calls. No KeyboardInterrupt is raised inside compiled
    code (where it ends in a SystemError) nor inside a C extension's import (after which
    CPython ends the process by SIGINT, status -2, whatever main returns)."""

    def __init__(self):
        self.event = threading.Event()
        self.previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, lambda *_: self.event.set())
        return self.event

    def __exit__(self, *exc):
        # as the program (main() without argv), keep the flag to the end: a Ctrl-C while Python
        # shuts down would otherwise end the process by SIGINT (status -2) after the work is done
        if self.previous is not None and not _PROGRAM:
            signal.signal(signal.SIGINT, self.previous)


class _RaisingInterrupts:
    """For work without compiled calls (info, export, report), once its imports are done:
    Ctrl-C raises KeyboardInterrupt again (one that came during the imports, now)."""

    def __init__(self, cancel):
        self.cancel = cancel
        self.previous = None

    def __enter__(self):
        if self.cancel.is_set():
            raise KeyboardInterrupt
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


#: True while main() runs as the program (the `tlsviz` command), not called from Python.
_PROGRAM = False


def _interrupted(out: Path) -> int:
    print(f"interrupted: finished IS are saved in {out.resolve()}; continue with --resume "
          "(the same command)", file=sys.stderr)
    return 130


# ------------------------------------------------------------------ commands
def _cmd_minima(args) -> int:
    from tqdm import tqdm

    import numpy as np

    from .campaign import CampaignConfig, _Cancelled, campaign_is, chain_is
    from .system import KobAndersen

    config = CampaignConfig(n=args.n, copies=args.copies, minima=args.minima, t_equil=args.t_equil,
                            burn_in=_burn_in(args), seed=args.seed, chains=args.chains,
                            spacing=_spacing(args)).validate()
    out = Path(args.out) if args.out else None
    if out is not None:
        if out.suffix != ".npz":
            raise CLIError(f"--out {out}: give a file name ending in .npz")
        _writable_dir(out.parent if str(out.parent) else Path("."), "the directory of --out")
        if out.is_dir():
            raise CLIError(f"--out {out} is a directory: give a file name ending in .npz")
    system = KobAndersen(n=args.n, copies=args.copies)
    t0 = time.perf_counter()
    desc = f"inherent structures ({COMPILING})" if _numba_cold() else "inherent structures"
    ims = []
    bar = tqdm(total=args.minima, unit="IS", desc=desc)
    cancel = args.cancel  # Ctrl-C: stop between compiled calls, keep the finished IS
    states = {}
    try:
        for i in range(args.minima):
            if cancel.is_set():
                break
            if config.chains:  # carry each chain's state from one IS to its next
                made = chain_is(config, i, states.pop(i - config.chains, None), cancel)
                states[i] = made.state
                ims.append(made.quench)
            else:
                ims.append(campaign_is(config, i, cancel))
            bar.set_description("inherent structures")
            bar.update(1)
    except _Cancelled:
        pass
    except BaseException:
        bar.leave = False  # the error message alone, not a bar at 0
        raise
    finally:
        bar.close()
    chains = f", {config.chains} chains, spacing {config.spacing:g} τ" if config.chains else ""
    print(f"{system!r}, T_equil = {args.t_equil}, burn-in {config.burn_in:g} τ{chains}, seed = {args.seed}: "
          f"{len(ims)} inherent structures in {time.perf_counter() - t0:.1f} s "
          f"(IS i as made by `tlsviz search` with the same options)")
    for i, q in enumerate(ims):
        print(f"  IS {i}: E = {q.energy:.8f} ({q.energy / system.n_particles:.6f} per particle), "
              f"max|F| = {q.grad_norm:.1e}, {q.n_evals} evaluations, converged = {q.converged}")
    if out is not None and ims:
        tmp = out.with_name(f".tmp-{out.name}")
        np.savez(tmp, positions=np.array([q.positions for q in ims]),
                 energy=np.array([q.energy for q in ims]), is_id=np.arange(len(ims)),
                 types=system.types, box=system.box, n=args.n, copies=args.copies,
                 t_equil=args.t_equil, burn_in=config.burn_in, seed=args.seed, chains=config.chains,
                 spacing=config.spacing)
        os.replace(tmp, out)
        print(f"written to {out.resolve()} (numpy: np.load(...)['positions'][i] is IS i, (N, 3))")
    if cancel.is_set():
        print(f"interrupted: {len(ims)} of {args.minima} inherent structures finished"
              + (f" (written to {out})" if out is not None and ims else ""), file=sys.stderr)
        return 130
    return 0


def _search_params(args):
    from .search import SearchParams

    common = dict(n_search=args.n_search, d_min=args.d_min, d_max=args.d_max, delta_min=args.delta_min,
                  delta_max=args.delta_max, precondition=not args.no_precondition)
    local = getattr(args, "local", False)
    knobs = ("r_loc", "design", "buffer", "tries_per_particle")
    given = [k for k in knobs if getattr(args, k, None) is not None]
    if given and not local:
        raise CLIError(", ".join("--" + k.replace("_", "-") for k in given)
                       + " only apply to local tries: add --local (or leave them out for the global search)")
    t_search = args.t_search if args.t_search is not None else (
        LOCAL_DEFAULTS if local else SEARCH_DEFAULTS)["t_search"]
    if not local:
        return SearchParams(t_search=t_search, **common)
    return SearchParams.local(t_search=t_search, **{k: getattr(args, k) for k in given}, **common)


def _cmd_search(args) -> int:
    out = Path(args.out)
    try:
        return _search(args, out, args.cancel)
    except KeyboardInterrupt:
        return _interrupted(out)


def _search(args, out: Path, cancel) -> int:
    from .campaign import CampaignConfig

    config = CampaignConfig(n=args.n, copies=args.copies, minima=args.minima, tries=args.tries,
                            t_equil=args.t_equil, burn_in=_burn_in(args), seed=args.seed,
                            search=_search_params(args), chains=args.chains, spacing=_spacing(args)).validate()
    if args.threads is not None:
        from . import system

        before = system._default_threads
        try:
            system.set_default_threads(args.threads)
        except ValueError as e:
            raise CLIError(f"--threads: {e}") from None
        try:
            return _search_checked(args, out, cancel, config)
        finally:
            system.set_default_threads(before)
    return _search_checked(args, out, cancel, config)


def _search_checked(args, out: Path, cancel, config) -> int:
    from .campaign import check_output

    if args.dask is None and args.workers > 1 and args.workers > (os.cpu_count() or 1):
        print(f"note: {args.workers} workers on {os.cpu_count()} cores", file=sys.stderr)
    if config.chains and args.workers > config.chains:
        print(f"note: {args.workers} workers for {config.chains} chains: at most {config.chains} IS run at a "
              "time (each chain is sequential); give --chains at least --workers", file=sys.stderr)
    check_output(out, config, args.resume, "--resume")
    created = not out.exists()
    _writable_dir(out)
    try:
        return _search_in(args, out, cancel, config)
    except BaseException:
        # a run that failed before writing anything leaves no directory that blocks a retry
        if created and out.is_dir() and all(p.name == ".lock" for p in out.iterdir()):
            import shutil

            shutil.rmtree(out, ignore_errors=True)
        raise


def _search_in(args, out: Path, cancel, config) -> int:
    from tqdm import tqdm

    from .campaign import CampaignInterrupted, run_campaign

    where = f"Dask {args.dask}" if args.dask else f"{args.workers} worker(s)"
    s = config.search
    tries = (f"{s.tries_per_particle} local tries per particle (r_loc = {s.r_loc:g}, buffer = {s.buffer:g}, "
             f"{s.design})" if s.mode == "local" else f"{args.tries} tries each")
    print(f"campaign -> {out.resolve()}: N = {args.n}{' x 2' if args.copies == 2 else ''}, "
          f"{args.minima} IS at T_equil = {args.t_equil}"
          + (f" from {config.chains} chains ({config.spacing:g} τ apart)" if config.chains else "")
          + f", {tries} at "
          f"T_search = {config.search.t_search}, N_search = {config.search.n_search}, seed {args.seed}, {where}",
          flush=True)
    cold = _numba_cold()
    bar = tqdm(total=args.minima, unit="IS", desc=f"search ({COMPILING})" if cold else "search")

    def progress(p):
        if cold:
            bar.set_description("search", refresh=False)
        bar.n = p.is_done
        bar.set_postfix(DWPs=p.dwps, tries_per_s=f"{p.tries_per_second:.0f}")

    try:
        cat = run_campaign(config, out, workers=args.workers, resume=args.resume, dask=args.dask,
                           progress=progress, cancel=cancel, resume_hint="--resume")
    except CampaignInterrupted:
        bar.close()
        return _interrupted(out)
    except BaseException:
        bar.leave = False  # the error message alone, not a bar at 0
        bar.close()
        raise
    bar.close()
    if cancel.is_set():  # Ctrl-C after the last IS: the catalogue is complete
        return _interrupted(out)
    print(f"{len(cat.dwps)} DWPs from {len(cat.minima)} IS written to {out.resolve()}/ "
          f"(open with tlsviz.Catalog.open({str(out)!r}); summary: tlsviz info {out})")
    return 0


def _dismissed_kinds(counts) -> list[tuple[int, str]]:
    """Dismissed reasons (``counts``: reason → number, as ``value_counts()``) grouped by kind: the
    numbers in a reason replaced by their range over the group ("d_mw,rp = 0.801–0.95 is not
    below d_max = 0.8"), most frequent first."""
    import re

    number = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
    groups: dict[str, list[list[float]]] = {}
    for reason, count in counts.items():
        key = number.sub("#", str(reason))
        values = [float(v) for v in number.findall(str(reason))]
        groups.setdefault(key, []).extend([values] * int(count))
    out = []
    for key, rows in groups.items():
        parts = key.split("#")
        text = parts[0]
        for k, rest in enumerate(parts[1:]):
            col = [r[k] for r in rows]
            lo, hi = min(col), max(col)
            text += f"{lo:g}" if lo == hi else f"{lo:g} to {hi:g}"
            text += rest
        out.append((len(rows), text))
    return sorted(out, key=lambda t: -t[0])


def _exact(value: float) -> str:
    """The shortest decimal that reads back as exactly ``value`` ("0.5", "1500", "1234.5678")."""
    import numpy as np

    return np.format_float_positional(value, trim="-")


def _resume_command(cat) -> str:
    """The `tlsviz search` command that resumes the catalogue's campaign (non-default options)."""
    p = cat.params
    d = vars(build_parser().parse_args(["search"]))  # the defaults of `tlsviz search`
    d["chains"], d["spacing"] = 0, CHAIN_SPACING_DEFAULT  # as campaigns before chains ran
    d["burn_in"] = CHAIN_BURN_IN_DEFAULT if p.get("chains") else BURN_IN_DEFAULT
    keys = ("n", "copies", "minima", "tries", "t_equil", "burn_in", "seed") + (
        ("chains", "spacing") if p.get("chains") else ())
    opts = [(k, p.get(k, d[k]) if k == "burn_in" else p[k], d[k]) for k in keys]
    s = p.get("search", {})
    local = s.get("mode", "global") == "local"
    d["t_search"] = (LOCAL_DEFAULTS if local else SEARCH_DEFAULTS)["t_search"]
    opts += [(k, s.get(k, d[k]), d[k]) for k in SEARCH_DEFAULTS]
    if local:  # (tries_per_particle None, from the API: the campaign's --tries, no option for it)
        opts += [(k, s.get(k, v), v) for k, v in LOCAL_DEFAULTS.items() if k != "t_search"
                 and s.get(k, v) is not None]
    # floats in their shortest exact form: the resumed campaign must compare equal
    words = [f"--{k.replace('_', '-')} " + (_exact(value) if isinstance(value, float) else f"{value}")
             for k, value, default in opts if value != default]
    if s.get("precondition", True) is False:
        words.append("--no-precondition")
    if local:
        words.append("--local")
    return " ".join(["tlsviz search", *words, "--out", str(cat.root), "--resume"])


def _cmd_info(args) -> int:
    import json
    import warnings

    from .catalog import Catalog, check_catalog

    with _RaisingInterrupts(args.cancel):  # Ctrl-C: KeyboardInterrupt (no compiled calls)
        cat = Catalog.open(args.catalog)
        if args.check:
            problems = check_catalog(cat.root, full=True)
            if problems:
                for line in problems:
                    print(f"damaged: {line}", file=sys.stderr)
                print(f"{len(problems)} damaged file(s) in {cat.root}; after deleting the damaged parts, resume "
                      f"with: {_resume_command(cat)}", file=sys.stderr)
                return 2
            print(f"{cat.root}: every file of {len(cat.parts)} parts and the top-level tables reads")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            m, d = cat.minima, cat.dwps
            dismissed = cat.dismissed
        for w in caught:
            print(f"warning: {w.message}", file=sys.stderr)
        counts = dismissed.reason.value_counts() if len(dismissed) else None
        kinds = _dismissed_kinds(counts) if counts is not None else []
        summary = dict(
            path=str(cat.root), tlsviz_version=cat.params.get("tlsviz_version"),
            n=cat.params["n"], copies=cat.params["copies"], seed=cat.params["seed"],
            minima_planned=cat.params["minima"], minima_done=len(m), tries_per_is=cat.params["tries"],
            t_equil=cat.params["t_equil"], burn_in=cat.params.get("burn_in"), chains=cat.params.get("chains", 0),
            spacing=cat.params.get("spacing") if cat.params.get("chains") else None,
            search=cat.params["search"], dwps=len(d),
            dwps_per_is=(len(d) / len(m)) if len(m) else None,
            dismissed=len(dismissed),
            dismissed_reasons=counts.to_dict() if counts is not None else {},
            dismissed_kinds={text: count for count, text in kinds},
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
              f"T_equil = {summary['t_equil']}, seed {summary['seed']}, IS after "
              + (f"{summary['burn_in']:g} τ of burn-in" if summary["burn_in"] is not None else "a burn-in")
              + (f" along {summary['chains']} chains, {summary['spacing']:g} τ apart" if summary["chains"]
                 else " each from its own start"))
        se = summary["search"]
        tries = (f"local ({se.get('design')}), {se.get('tries_per_particle')} tries per particle, r_loc = "
                 f"{se.get('r_loc')}, buffer = {se.get('buffer')}" if se.get("mode") == "local" and
                 se.get("tries_per_particle") is not None else f"{summary['tries_per_is']} tries per IS")
        print(f"  search: {tries}, T_search = {summary['search']['t_search']}, "
              f"N_search = {summary['search']['n_search']}, d_max = {summary['search']['d_max']}, "
              f"delta_max = {summary['search']['delta_max']}")
        print(f"  inherent structures: {summary['minima_done']} of {summary['minima_planned']} done")
        if len(m):
            print(f"  DWPs: {summary['dwps']} ({summary['dwps_per_is']:.3f} per IS), dismissed pairs: "
                  f"{summary['dismissed']}")
        if len(d):
            print(f"  central particle B in {100 * summary['central_b_fraction']:.1f} % of the DWPs; "
                  f"median asymmetry {summary['asymmetry_median']:.4f}, median barrier {summary['barrier_median']:.4f}")
        for count, text in kinds:
            print(f"    dismissed: {count} x {text}")
        return 0


class _Stop(Exception):
    """Raised from a callback (plain Python, between compiled calls) to end a scan on Ctrl-C."""


def _cmd_tune(args) -> int:
    import pandas as pd

    from .search import best_search_parameters, scan_search_parameters, yield_vs_best
    from .system import KobAndersen

    system = KobAndersen(n=args.n, copies=args.copies)
    if _numba_cold():
        print(f"({COMPILING}: a few minutes)", file=sys.stderr, flush=True)
    rows = []

    if args.local:
        return _tune_local(args, system)
    args.t_values = args.t_values or [0.3, 0.5, 0.7, 1.0]
    args.n_values = args.n_values or [50, 100, 200, 400]

    def on_row(row):
        rows.append(row)
        print(f"  T_search = {row['t_search']}, N_search = {row['n_search']}: "
              f"{row['distinct_per_is']:.2f} distinct minima per IS", flush=True)
        if cancel.is_set():
            raise _Stop

    # Ctrl-C: stop after the IS or grid point in progress, show what was scanned
    cancel = args.cancel
    ims = system.inherent_structures(args.minima, t_equil=args.t_equil, seed=args.seed,
                                     callback=lambda i, q: cancel.is_set())
    try:
        if not cancel.is_set():
            scan_search_parameters(system, [q.positions for q in ims], args.t_values, args.n_values,
                                   tries=args.tries, seed=args.seed, callback=on_row)
    except _Stop:
        pass
    if cancel.is_set():
        if rows:
            print(pd.DataFrame(rows).drop(columns="distinct_by_is").to_string(index=False))
        print(f"interrupted: {len(rows)} of {len(args.t_values) * len(args.n_values)} grid points scanned",
              file=sys.stderr)
        return 130
    table = pd.DataFrame(rows)
    print(table.drop(columns="distinct_by_is").to_string(index=False))
    if not (table.distinct_per_is > 0).any():
        print(f"no point found a nearby minimum in {args.tries} tries on {args.minima} IS: nothing to "
              "choose from; scan with more --tries or --minima, or higher --t-values")
        return 0
    pick = best_search_parameters(table)
    diff, err = yield_vs_best(table)
    tied = int((diff >= -err - 1e-12).sum())
    choice = f"--t-search {pick.t_search:g} --n-search {int(pick.n_search)}"
    if tied == 1:
        print(f"best: {choice} (the highest yield, separated from the others by more than one "
              "standard error)")
    else:
        print(f"{tied} of {len(table)} points are within one standard error of the highest yield (not "
              f"separated on {args.minima} IS); the cheapest of them: {choice}. Scan more --minima to "
              "separate them.")
    return 0


def _tune_local(args, system) -> int:
    """`tlsviz tune --local`: whole local searches on the grid, certified DWPs per core-second."""
    import pandas as pd

    from .search import SearchParams, best_search_parameters, scan_search_parameters

    cancel = args.cancel
    rows = []

    def on_row(row):
        rows.append(row)
        print(f"  T_search = {row['t_search']}, N_search = {row['n_search']}, r_loc = {row['r_loc']}, "
              f"{row['tries_per_particle']} tries per particle: {row['certified_per_is']:.2f} certified DWPs "
              f"per IS, {row['certified_per_core_second']:.3f} per core-second", flush=True)
        if cancel.is_set():
            raise _Stop

    ims = system.inherent_structures(args.minima, t_equil=args.t_equil, seed=args.seed,
                                     callback=lambda i, q: cancel.is_set())
    t_values = args.t_values or [LOCAL_DEFAULTS["t_search"]]
    n_values = args.n_values or [SEARCH_DEFAULTS["n_search"]]
    try:
        if not cancel.is_set():
            scan_search_parameters(system, [q.positions for q in ims], t_values, n_values,
                                   seed=args.seed, params=SearchParams.local(), callback=on_row,
                                   r_loc_values=args.r_loc_values,
                                   tries_per_particle_values=args.tries_per_particle_values)
    except _Stop:
        pass
    table = pd.DataFrame(rows)
    hide = [c for c in ("distinct_by_is", "certified_by_is") if c in table]
    if len(table):
        print(table.drop(columns=hide).to_string(index=False))
    if cancel.is_set():
        print(f"interrupted: {len(rows)} grid points scanned", file=sys.stderr)
        return 130
    if not (table.certified_per_is > 0).any():
        print(f"no point found a certified DWP on {args.minima} IS: nothing to choose from; scan more "
              "--minima or other --t-values")
        return 0
    pick = best_search_parameters(table)
    print(f"best: --local --t-search {pick.t_search:g} --n-search {int(pick.n_search)} --r-loc "
          f"{pick.r_loc:g} --tries-per-particle {int(pick.tries_per_particle)} "
          f"({pick.certified_per_core_second:.3f} certified DWPs per core-second)")
    return 0


def _cmd_export(args) -> int:
    from .catalog import Catalog
    from .export import export_catalog

    with _RaisingInterrupts(args.cancel):  # Ctrl-C: KeyboardInterrupt (no compiled calls)
        cat = Catalog.open(args.catalog)
        n = len(cat.dwps)
        if n == 0:
            raise CLIError(f"{cat.root} has no DWPs ({len(cat.minima)} IS searched): nothing to export")
        if args.dwp is not None and args.dwp >= n:
            raise CLIError(f"--dwp {args.dwp} is out of range: the catalogue has {n} DWPs (rows 0..{n - 1})")
        out = _writable_dir(Path(args.out))
        written = export_catalog(cat, out, dwp=args.dwp, fmt=args.format)
        for path in written:
            print(path)
        return 0


def _cmd_report(args) -> int:
    if args.label is not None and len(args.label) != len(args.catalog):
        raise CLIError(f"{len(args.label)} --label for {len(args.catalog)} catalogues: give one --label "
                       "per catalogue, in the same order, or none")

    import matplotlib

    matplotlib.use("Agg")  # files only, no display needed

    from .analysis.report import write_report
    from .catalog import Catalog

    with _RaisingInterrupts(args.cancel):  # Ctrl-C: KeyboardInterrupt (no compiled calls)
        cats = [Catalog.open(path) for path in args.catalog]
        out = _writable_dir(Path(args.out))
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


#: The commands that handle Ctrl-C themselves, through ``args.cancel`` (set by SIGINT): those
#: with compiled calls look at it between them, the others (_RaisingInterrupts) turn it back
#: into KeyboardInterrupt once their imports are done. Any other command gets
#: KeyboardInterrupt as usual.
_HANDLE_CTRL_C = {_cmd_minima, _cmd_search, _cmd_info, _cmd_tune, _cmd_export, _cmd_report}


# ------------------------------------------------------------------ parser
def _add_system_options(p: argparse.ArgumentParser) -> None:
    """Options shared by the commands that make inherent structures."""
    p.add_argument("--n", type=_particles, default=65, help=f"particles per copy, >= {N_MIN} (default 65)")
    p.add_argument("--copies", type=int, choices=(1, 2), default=1, help="1, or 2 for the '2 x N' system")
    p.add_argument("--minima", type=_positive_int, default=3, help="number of inherent structures (default 3)")
    p.add_argument("--t-equil", type=_temperature, default=0.5,
                   help="equilibration temperature (default 0.5; the MD step is stable up to about 1.5)")
    p.add_argument("--seed", type=_nonneg_int, default=0, help="random seed, an integer >= 0 (default 0)")


def _add_burn_in(p: argparse.ArgumentParser) -> None:
    p.add_argument("--burn-in", type=_nonneg_float, default=None,
                   help=f"NVT time before each IS (with --chains: before each chain's first IS), in tau "
                        f"(default {BURN_IN_DEFAULT:g}, with --chains {CHAIN_BURN_IN_DEFAULT:g}; at T_equil 0.5, "
                        "N 65 the IS energy levels off only from about 2000-3000 tau: docs/engine.md)")
    p.add_argument("--chains", type=_nonneg_int, default=0,
                   help="take the IS from this many long NVT chains (IS i from chain i mod CHAINS, "
                        "--spacing tau after the chain's previous IS) instead of an independent random start "
                        "each (default 0: independent starts)")
    p.add_argument("--spacing", type=_positive_float, default=None,
                   help=f"with --chains: tau between the IS of one chain (default {CHAIN_SPACING_DEFAULT:g}, "
                        "the decorrelation time of the IS energy at T_equil 0.5, N 65)")


def _spacing(args) -> float:
    """--spacing, which only a chain campaign has, or its default."""
    if args.spacing is not None and not args.chains:
        raise CLIError("--spacing is the time between the IS of one chain: give --chains too")
    return CHAIN_SPACING_DEFAULT if args.spacing is None else args.spacing


def _burn_in(args) -> float:
    """--burn-in, or its default: longer for chains, whose first IS must be at equilibrium."""
    if args.burn_in is not None:
        return args.burn_in
    return CHAIN_BURN_IN_DEFAULT if args.chains else BURN_IN_DEFAULT


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tlsviz",
        description="Find and characterise the double-well potentials of the Kob-Andersen glass.",
        epilog="Terms (IS, DWP, M, tau, d_mw, d_mw,rp, asymmetry, T_search, ...) are defined in the "
               "README's glossary (README.md#glossary).",
    )
    parser.add_argument("--version", action="version", version=f"tlsviz {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("minima", help="make inherent structures (the ones `tlsviz search` would search)",
                       description="Make inherent structures as a campaign does: IS i is equilibrated "
                                   "for --burn-in tau at T_equil (Bussi thermostat) from its own random "
                                   "start and quenched, so `tlsviz minima` and `tlsviz search` with the "
                                   "same options make the same structures.")
    _add_system_options(p)
    _add_burn_in(p)
    p.add_argument("--out", default=None, metavar="FILE.npz",
                   help="write the structures to a numpy .npz file (positions (k, N, 3), energy, types, box)")
    p.set_defaults(func=_cmd_minima)

    p = sub.add_parser("search", help="run (or resume) a campaign: inherent structures and their DWPs",
                       description="Make inherent structures at T_equil, run M tries on each (MD at "
                                   "T_search + quench), find and certify the saddles by the ridge method, "
                                   "and write a catalogue (Parquet tables + HDF5 arrays) that survives "
                                   "interruption: run again with --resume to continue.")
    _add_system_options(p)
    p.add_argument("--tries", type=_positive_int, default=400, help="tries M per IS (default 400)")
    _add_burn_in(p)
    d = SEARCH_DEFAULTS
    p.add_argument("--t-search", type=_temperature, default=None,
                   help=f"temperature of a try (default {d['t_search']}, {LOCAL_DEFAULTS['t_search']} with --local)")
    p.add_argument("--n-search", type=_positive_int, default=d["n_search"],
                   help=f"MD steps of a try (default {d['n_search']})")
    p.add_argument("--d-min", type=_nonneg_float, default=d["d_min"],
                   help=f"lower window on d_mw in sigma (default {d['d_min']})")
    p.add_argument("--d-max", type=_nonneg_float, default=d["d_max"],
                   help=f"upper window on d_mw,rp in sigma (default {d['d_max']})")
    p.add_argument("--delta-min", type=_nonneg_float, default=d["delta_min"],
                   help=f"lower window on the asymmetry in epsilon (default {d['delta_min']})")
    p.add_argument("--delta-max", type=_nonneg_float, default=d["delta_max"],
                   help=f"upper window on the asymmetry in epsilon (default {d['delta_max']})")
    p.add_argument("--no-precondition", action="store_true",
                   help="plain L-BFGS in the tries (default: preconditioned near the end by the IS Hessian)")
    lo = LOCAL_DEFAULTS
    p.add_argument("--local", action="store_true",
                   help="local tries: each excites the particles within --r-loc of one centre particle "
                        "(every particle in turn) instead of the whole system (docs/search.md)")
    p.add_argument("--r-loc", type=_positive_float, default=None,
                   help=f"with --local: radius of the excited sphere in sigma (default {lo['r_loc']})")
    p.add_argument("--design", choices=["free", "held"], default=None,
                   help="with --local: 'free' (velocities in the sphere only, MD and quench of everything) or "
                        "'held' (MD and quench of sphere + buffer with the rest held, then a full quench; cost "
                        f"per try independent of N) (default {lo['design']})")
    p.add_argument("--buffer", type=_positive_float, default=None,
                   help=f"with --local --design held: mobile shell around the sphere in sigma (default {lo['buffer']})")
    p.add_argument("--tries-per-particle", type=_positive_int, default=None,
                   help="with --local: tries per centre particle, replacing --tries "
                        f"(default {lo['tries_per_particle']})")
    p.add_argument("--out", default=DEFAULT_OUT,
                   help=f"catalogue directory (default ./{DEFAULT_OUT}, in the current directory)")
    p.add_argument("--workers", type=_positive_int, default=1, help="processes (default 1)")
    p.add_argument("--threads", type=_positive_int, default=None,
                   help="threads of the force loop when the IS are made in this process (--workers 1): "
                        "default all cores from 4000 particles on, 1 below; worker processes use 1 each")
    p.add_argument("--resume", action="store_true", help="continue the campaign already in --out")
    p.add_argument("--dask", metavar="ADDRESS", default=None,
                   help="run on Dask: 'local' for a LocalCluster of --workers processes, or a "
                        "scheduler address tcp://host:port (e.g. a dask-jobqueue cluster)")
    p.set_defaults(func=_cmd_search)

    p = sub.add_parser("info", help="summarise a catalogue", description="Summarise a catalogue.")
    p.add_argument("catalog", help="catalogue directory")
    p.add_argument("--json", action="store_true", help="print the summary as JSON for scripts")
    p.add_argument("--check", action="store_true",
                   help="read every file of every part first; name each damaged one and the remedy")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser("tune", help="scan (T_search, N_search) for the most distinct nearby minima",
                       description="Scan a grid of (T_search, N_search) on a few inherent structures "
                                   "and report the distinct accepted nearby minima per IS (no saddles).")
    _add_system_options(p)
    p.add_argument("--tries", type=_positive_int, default=100, help="tries per IS and grid point (default 100)")
    p.add_argument("--t-values", type=_temperature, nargs="+", default=None,
                   help="T_search values (default 0.3 0.5 0.7 1.0)")
    p.add_argument("--n-values", type=_positive_int, nargs="+", default=None,
                   help="N_search values (default 50 100 200 400)")
    p.add_argument("--local", action="store_true",
                   help="scan local searches (whole searches, saddles included) for certified DWPs per "
                        f"core-second; --t-values and --n-values default to {LOCAL_DEFAULTS['t_search']} and "
                        f"{SEARCH_DEFAULTS['n_search']} there")
    p.add_argument("--r-loc-values", type=_positive_float, nargs="+", default=[1.0, 1.2, 1.5],
                   help="with --local: r_loc values in sigma (default 1.0 1.2 1.5)")
    p.add_argument("--tries-per-particle-values", type=_positive_int, nargs="+",
                   default=[LOCAL_DEFAULTS["tries_per_particle"]],
                   help=f"with --local: tries per particle (default {LOCAL_DEFAULTS['tries_per_particle']})")
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


def _is_interrupt(err: BaseException) -> bool:
    """Ctrl-C, also when it surfaced inside a compiled call as a SystemError."""
    while err is not None:
        if isinstance(err, KeyboardInterrupt):
            return True
        err = err.__cause__ or err.__context__
    return False


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default: the program's arguments) and return the exit
    status; ``argv=None`` means running as the program (its signal handlers stay set)."""
    global _PROGRAM
    _PROGRAM = argv is None
    try:
        with _Interrupt() as cancel:  # first: Ctrl-C during the heavy imports is a flag too
            return _main(argv, cancel)
    finally:
        if _PROGRAM:  # the status is decided: a late Ctrl-C must not replace it
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def _main(argv, cancel):
    parser = build_parser()
    args = parser.parse_args(argv)
    args.cancel = cancel
    if args.command is None:
        parser.print_help()
        return 0
    if hasattr(signal, "SIGPIPE") and _PROGRAM and args.command != "search":
        # `tlsviz info ... | head` ends quietly. Not for search: its worker processes talk
        # through pipes, and a write to a stopped worker's pipe must not kill the campaign.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    fail = lambda text: parser.exit(2, f"tlsviz {args.command}: error: {text}\n")
    try:
        if args.func in _HANDLE_CTRL_C:
            code = args.func(args)
        else:  # a command that does not look at args.cancel: Ctrl-C raises KeyboardInterrupt
            with _RaisingInterrupts(cancel):
                code = args.func(args)
        if cancel.is_set() and code == 0:  # Ctrl-C during work that does not look at the flag
            raise KeyboardInterrupt
        return code
    except (CLIError, ValueError, KeyError, IndexError) as err:
        fail(str(err).strip("'\""))  # (KeyError quotes its message)
    except OSError as err:
        where = f" ({err.filename})" if getattr(err, "filename", None) else ""
        fail(f"{err.strerror or err}{where}")
    except BaseException as err:
        if _is_interrupt(err):
            print("interrupted", file=sys.stderr)
            return 130
        if isinstance(err, SystemExit) or os.environ.get("TLSVIZ_TRACEBACK"):
            raise
        print(f"tlsviz {args.command}: internal error: {type(err).__name__}: {err}\n"
              "  (a bug: please report it with the command; TLSVIZ_TRACEBACK=1 shows the traceback)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
