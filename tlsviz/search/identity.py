"""The permutation-aware identity test of two minima (:func:`same_minimum`): energy, then distance up
to a permutation of identical particles and a translation of each copy."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


def same_minimum(system, xa, ea, xb, eb, e_tol=1e-7, d_tol=1e-4, d=None) -> bool:
    """Are xa and xb one minimum? Energy within e_tol and distance below d_tol, up to a
    permutation of identical particles (within each copy) and a translation of each copy (a
    global one for a single copy). ``d``: system.distance(xa, xb) when the caller has it
    already (a search try has)."""
    if not abs(ea - eb) <= e_tol:  # (a NaN energy is no match)
        return False
    if (system.distance(xa, xb) if d is None else d) < d_tol:
        return True
    box = system.box
    perm = np.arange(len(xa))
    copies = np.unique(system.group)
    shift = np.zeros((len(copies), 3))  # each copy's mean displacement
    for _ in range(3):
        for t in np.unique(system.types):
            for ci, c in enumerate(copies):
                idx = np.flatnonzero((system.types == t) & (system.group == c))
                dd = xb[idx][None, :, :] - xa[idx][:, None, :] - shift[ci]
                dd -= box * np.rint(dd / box)
                cost = np.einsum("ijk,ijk->ij", dd, dd)
                row, col = linear_sum_assignment(cost)
                perm[idx[row]] = idx[col]
        disp = xb[perm] - xa
        disp -= box * np.rint(disp / box)
        shift = disp.mean(axis=0)[None] if len(copies) == 1 else \
            np.array([disp[system.group == c].mean(axis=0) for c in copies])
    return system.distance(xa, xb[perm]) < d_tol
