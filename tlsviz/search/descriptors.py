"""The DWP tables' columns and the per-DWP descriptors of docs/method.md §6: participation ratios,
central particle (and how clearly it is central), typed tables from row dicts."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Columns of the DWP table, in order (the catalogue contract).
DWP_COLUMNS = [
    "is_id", "dwp_id", "is_energy", "min_energy", "saddle_energy", "asymmetry", "barrier",
    "barrier_from_is", "d", "d_mw", "d_rp", "d_mwrp", "central_index", "central_type",
    "central_displacement", "pr1", "pr2", "pr3", "pr4", "lambda_neg", "count", "tries", "first_try",
    "copy", "second_ratio", "second_index", "second_type",
]
#: Columns of the dismissed-pairs table.
DISMISSED_COLUMNS = ["is_id", "first_try", "count", "min_energy", "asymmetry", "d", "d_mw", "reason"]
_INT_COLUMNS = {"is_id", "dwp_id", "central_index", "count", "tries", "first_try", "copy", "second_index"}
_STR_COLUMNS = {"central_type", "reason", "second_type"}
#: A DWP's central particle is *ambiguous* when the second-largest displacement is more than this
#: fraction of the largest (``second_ratio > AMBIGUOUS_RATIO``): a 10 % difference in |d| is within
#: what the choice of the pair's alignment and the descent's end tolerance can move in a soft
#: glass, so the A/B label of such a DWP is not a result (docs/search.md, "central particle").
AMBIGUOUS_RATIO = 0.9


def _typed(rows, columns) -> pd.DataFrame:
    """A table with fixed dtypes (int64, float64, str) from row dicts, also when it has no row
    (column by column: a whole-frame ``astype`` cost ~10 ms, as much as 1000 force evaluations)."""
    data = {}
    for c in columns:
        values = [r[c] for r in rows]
        if c in _STR_COLUMNS:
            data[c] = pd.Series([str(v) for v in values], dtype=object).astype(str)
        else:
            data[c] = np.array(values, dtype=np.int64 if c in _INT_COLUMNS else np.float64)
    return pd.DataFrame(data, columns=columns)


def participation_ratios(disp: np.ndarray) -> np.ndarray:
    """The four per-DWP quantities of docs/method.md §6 from displacement vectors (N, 3).

    q1 = d_max² / Σ d_i², q2 = Σ d_i² / d_max², q3 = Σ |d_i| / d_max, q4 = (Σ d_i²)² / Σ d_i⁴;
    each equals n (q1: 1/n) when n particles move the same distance and the rest stay put.
    """
    a = np.linalg.norm(np.asarray(disp, dtype=float), axis=1)
    a2 = a * a
    dmax2 = a2.max()
    if dmax2 == 0:
        raise ValueError("participation ratios need a non-zero displacement")
    s2 = a2.sum()
    return np.array([dmax2 / s2, s2 / dmax2, a.sum() / np.sqrt(dmax2), s2 * s2 / np.sum(a2 * a2)])


def central_particles(disp: np.ndarray, types=None) -> dict:
    """The central particle of a displacement set (N, 3) and how clearly it is central.

    Returns ``central_index`` (the particle that moves most), ``central_displacement`` (its |d|),
    ``second_index`` (the particle that moves second most), ``second_ratio`` = |d_second| /
    |d_central| (in [0, 1]; 1 when two particles move equally: then the central particle, and
    its type, is a matter of round-off — see :data:`AMBIGUOUS_RATIO`) and, when ``types``
    (N,) 0/1 is given, ``central_type`` and ``second_type`` ("A"/"B"). Ties go to the lower index.
    """
    a = np.linalg.norm(np.asarray(disp, dtype=float), axis=1)
    if a.size < 2:
        raise ValueError(f"a central particle needs at least two particles, got displacements of shape {np.shape(disp)}")
    order = np.argsort(-a, kind="stable")
    c, s2 = int(order[0]), int(order[1])
    if not a[c] > 0:
        raise ValueError("the central particle needs a non-zero displacement")
    out = dict(central_index=c, central_displacement=float(a[c]), second_index=s2, second_ratio=float(a[s2] / a[c]))
    if types is not None:
        out.update(central_type="AB"[int(types[c])], second_type="AB"[int(types[s2])])
    return out
