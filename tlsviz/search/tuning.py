"""The scan of the try parameters (T_search, N_search) and the choice of the defaults from it."""

from __future__ import annotations

import time
from dataclasses import asdict
from itertools import product

import numpy as np
import pandas as pd

from .params import SearchParams
from .run import SearchRun



def scan_search_parameters(system, is_positions_list, t_values=(0.3, 0.5, 0.7, 1.0),
                           n_values=(50, 100, 200, 400), tries: int = 100, seed: int = 0,
                           params: SearchParams | None = None, callback=None, *, r_loc_values=None,
                           buffer_values=None, tries_per_particle_values=None,
                           objective: str | None = None) -> pd.DataFrame:
    """The yield of a search on a grid of try parameters (docs/method.md §3), one row per point.

    Grid: ``t_values`` × ``n_values`` (T_search, N_search) and, for a local search
    (``params.mode == "local"``), × ``r_loc_values`` × ``buffer_values`` ×
    ``tries_per_particle_values`` (each None: the value of ``params``). Every point searches
    every IS of ``is_positions_list`` with the same seed.

    ``objective``:

    - ``"distinct"`` (the default of a global search): only the tries and the acceptance
      windows (no saddles); ``distinct_per_is`` (mean over the IS), ``distinct_per_is_err``
      (its standard error), ``distinct_by_is`` (the counts IS by IS: the same IS at every point,
      so points compare pairwise), ``distinct_per_try``, the fractions of tries that came back
      to the IS or fell outside the windows, and the seconds per try.
    - ``"certified"`` (the default of a local search): whole searches, saddles and
      certification included, and besides the columns above ``certified_per_is`` (± ``_err``),
      ``certified_by_is``, ``seconds_per_is`` (CPU seconds of this process) and
      ``certified_per_core_second`` (certified DWPs over those seconds: the searches run on one
      core, so this is what a campaign gets for its CPU, whatever else loads the machine). The
      distinct minima include pairs later dismissed; this objective does not.

    ``callback(row)`` after each grid point. Pick the defaults with :func:`best_search_parameters`.
    """
    base = params or SearchParams()
    objective = objective or ("certified" if base.mode == "local" else "distinct")
    if objective not in ("distinct", "certified"):
        raise ValueError(f"objective must be 'distinct' or 'certified', got {objective!r}")
    local = base.mode == "local"
    xs = [system.check_positions(x, "is_positions") for x in is_positions_list]
    if local:
        extra = list(product(r_loc_values or (base.r_loc,), buffer_values or (base.buffer,),
                             tries_per_particle_values or (base.tries_per_particle,)))
    else:
        extra = [None]
    rows = []
    for t, n, ex in product(t_values, n_values, extra):
        change = {"t_search": float(t), "n_search": int(n)}
        if ex is not None:
            change.update(r_loc=float(ex[0]), buffer=float(ex[1]),
                          tries_per_particle=None if ex[2] is None else int(ex[2]))
        p = SearchParams(**{**asdict(base), **change}).validate()
        per_is, certified, secs = [], [], []
        back = outside = total = 0
        t0 = time.perf_counter()
        for i, x in enumerate(xs):
            t_is = time.process_time()  # CPU seconds: a shared machine's load does not count
            run = SearchRun(system, x, tries, seed, is_id=i, params=p)
            for prog in run:
                if objective == "distinct" and prog.tries_done == prog.tries_total:
                    break  # the tries are done; no saddles
            secs.append(time.process_time() - t_is)
            per_is.append(len(run.minima))
            certified.append(len(run.rows))
            back += run.stats["back_to_is"]
            outside += run.stats["outside_windows"]
            total += run.tries
        distinct = sum(per_is)
        row = dict(t_search=float(t), n_search=int(n))
        if ex is not None:
            row.update(r_loc=p.r_loc, buffer=p.buffer, tries_per_particle=p.tries_per_particle)
        row.update(distinct_per_is=distinct / len(xs), distinct_per_is_err=_sem(per_is),
                   distinct_by_is=tuple(per_is), distinct_per_try=distinct / total, back_to_is=back / total,
                   outside_windows=outside / total, seconds_per_try=(time.perf_counter() - t0) / total)
        if objective == "certified":
            row.update(certified_per_is=sum(certified) / len(xs), certified_per_is_err=_sem(certified),
                       certified_by_is=tuple(certified), seconds_per_is=float(np.mean(secs)),
                       certified_per_core_second=sum(certified) / sum(secs))
        rows.append(row)
        if callback is not None:
            callback(row)
    return pd.DataFrame(rows)


def _sem(values) -> float:
    """Standard error of the mean (NaN for fewer than two values)."""
    return float(np.std(values, ddof=1) / np.sqrt(len(values))) if len(values) > 1 else float("nan")


def yield_vs_best(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """For every row of a :func:`scan_search_parameters` table, its ``distinct_per_is`` minus the
    largest, and the standard error of that difference: paired IS by IS (``distinct_by_is``:
    every point searched the same IS), or without that column the two rows' standard errors
    combined."""
    top = table.loc[table.distinct_per_is.idxmax()]
    diff, err = [], []
    for _, row in table.iterrows():
        if "distinct_by_is" in table and len(row.distinct_by_is) > 1:
            d = np.asarray(row.distinct_by_is, float) - np.asarray(top.distinct_by_is, float)
            diff.append(d.mean())
            err.append(np.std(d, ddof=1) / np.sqrt(len(d)))
        else:
            diff.append(row.distinct_per_is - top.distinct_per_is)
            err.append(np.hypot(np.nan_to_num(row.distinct_per_is_err), np.nan_to_num(top.distinct_per_is_err)))
    return np.array(diff), np.array(err)


def best_search_parameters(table: pd.DataFrame) -> pd.Series:
    """The row of a :func:`scan_search_parameters` table to use.

    A table scanned for certified DWPs (column ``certified_per_core_second``): the row with
    the most certified DWPs per core-second. Otherwise, by the one-standard-error rule:
    the fewest MD steps (``n_search``, the cost of a try) among the points whose yield
    (``distinct_per_is``) is not below the largest by more than one standard error of the
    difference (:func:`yield_vs_best`), and among those the largest yield. A scan on a few IS
    rarely separates neighbouring points; the rule then prefers the cheaper try to the noise."""
    if "certified_per_core_second" in table:
        return table.loc[table.certified_per_core_second.idxmax()]
    diff, err = yield_vs_best(table)
    ok = table[diff >= -err - 1e-12]  # (round-off at the boundary)
    return ok.sort_values(["n_search", "distinct_per_is", "t_search"], ascending=[True, False, True]).iloc[0]
