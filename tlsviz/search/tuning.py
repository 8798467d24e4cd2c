"""The scan of the try parameters (T_search, N_search) and the choice of the defaults from it."""

from __future__ import annotations

import time
from dataclasses import asdict

import numpy as np
import pandas as pd

from .params import SearchParams
from .run import SearchRun



def scan_search_parameters(system, is_positions_list, t_values=(0.3, 0.5, 0.7, 1.0),
                           n_values=(50, 100, 200, 400), tries: int = 100, seed: int = 0,
                           params: SearchParams | None = None, callback=None) -> pd.DataFrame:
    """Distinct accepted nearby minima per try on a grid of (T_search, N_search) (docs/method.md §3).

    Runs only the tries and the acceptance windows (no saddles), on every IS of
    ``is_positions_list``, and returns one row per grid point: ``distinct_per_is`` (mean
    over the IS), ``distinct_per_try``, the fractions of tries that came back to the IS or
    fell outside the windows, and the seconds per try. ``distinct_per_is_err`` is the standard
    error of the mean over the IS, ``distinct_by_is`` the counts IS by IS (the same IS at every
    grid point, so points compare pairwise). ``callback(row)`` after each grid point. Pick the
    defaults with :func:`best_search_parameters`.
    """
    base = params or SearchParams()
    xs = [system.check_positions(x, "is_positions") for x in is_positions_list]
    rows = []
    for t in t_values:
        for n in n_values:
            p = SearchParams(**{**asdict(base), "t_search": float(t), "n_search": int(n)}).validate()
            per_is = []
            back = outside = 0
            t0 = time.perf_counter()
            for i, x in enumerate(xs):
                run = SearchRun(system, x, tries, seed, is_id=i, params=p)
                for prog in run:
                    if prog.tries_done == prog.tries_total:
                        break  # the tries are done; no saddles
                per_is.append(len(run.minima))
                back += run.stats["back_to_is"]
                outside += run.stats["outside_windows"]
            total = tries * len(xs)
            distinct = sum(per_is)
            err = float(np.std(per_is, ddof=1) / np.sqrt(len(per_is))) if len(per_is) > 1 else float("nan")
            row = dict(t_search=float(t), n_search=int(n), distinct_per_is=distinct / len(xs),
                       distinct_per_is_err=err, distinct_by_is=tuple(per_is),
                       distinct_per_try=distinct / total, back_to_is=back / total,
                       outside_windows=outside / total, seconds_per_try=(time.perf_counter() - t0) / total)
            rows.append(row)
            if callback is not None:
                callback(row)
    return pd.DataFrame(rows)


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
    """The row of a :func:`scan_search_parameters` table to use, by the one-standard-error rule:
    the fewest MD steps (``n_search``, the cost of a try) among the points whose yield
    (``distinct_per_is``) is not below the largest by more than one standard error of the
    difference (:func:`yield_vs_best`), and among those the largest yield. A scan on a few IS
    rarely separates neighbouring points; the rule then prefers the cheaper try to the noise."""
    diff, err = yield_vs_best(table)
    ok = table[diff >= -err - 1e-12]  # (round-off at the boundary)
    return ok.sort_values(["n_search", "distinct_per_is", "t_search"], ascending=[True, False, True]).iloc[0]
