"""Displacements and distances between two configurations of the same particles (docs/method.md §5).

The displacement of particle i is the minimum-image vector r²_i − r¹_i with
the global translation removed: the plain mean displacement for d, the
mass-weighted mean for the mass-weighted distance d_mw (each is the rigid
shift that minimises its own distance). With m = m_A = 1:

    d²    = Σ_i |d_i|²
    d_mw² = Σ_i (m_i / m_A) |d_i^mw|²

In the "2 × N" system (``group``: the copy of each particle, copies 0, 1, ...
in blocks) each copy translates freely against the others, so each copy's
own mean displacement is removed (:func:`_displacements_by_copy`); with one
copy that is the global mean, computed by the one-copy kernels themselves.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _displacements(x1, x2, box, weights):
    """Minimum-image x2 − x1 minus its ``weights``-weighted mean, (N, 3)."""
    n = x1.shape[0]
    d = np.empty((n, 3))
    inv_box = 1.0 / box
    wsum = 0.0
    for i in range(n):
        wsum += weights[i]
    for k in range(3):
        mean = 0.0
        for i in range(n):
            dk = x2[i, k] - x1[i, k]
            dk -= box * np.rint(dk * inv_box)
            d[i, k] = dk
            mean += weights[i] * dk
        mean /= wsum
        for i in range(n):
            d[i, k] -= mean
    return d


@njit(cache=True, nogil=True)
def _distance(x1, x2, box, masses, mass_weighted):
    """d (plain) or d_mw (mass-weighted) between x1 and x2."""
    n = x1.shape[0]
    if mass_weighted:
        w = masses
    else:
        w = np.ones(n)
    d = _displacements(x1, x2, box, w)
    s = 0.0
    for i in range(n):
        s += w[i] * (d[i, 0] ** 2 + d[i, 1] ** 2 + d[i, 2] ** 2)
    return np.sqrt(s)


@njit(cache=True, nogil=True)
def _displacements_by_copy(x1, x2, box, weights, group):
    """Minimum-image x2 − x1 minus, for each copy c (``group[i]``, 0 ≤ c), the
    ``weights``-weighted mean over the particles of c, (N, 3)."""
    n = x1.shape[0]
    n_copies = 0
    for i in range(n):
        n_copies = max(n_copies, group[i] + 1)
    d = np.empty((n, 3))
    inv_box = 1.0 / box
    wsum = np.zeros(n_copies)
    for i in range(n):
        wsum[group[i]] += weights[i]
    mean = np.empty(n_copies)
    for k in range(3):
        mean[:] = 0.0
        for i in range(n):
            dk = x2[i, k] - x1[i, k]
            dk -= box * np.rint(dk * inv_box)
            d[i, k] = dk
            mean[group[i]] += weights[i] * dk
        for c in range(n_copies):
            mean[c] /= wsum[c]
        for i in range(n):
            d[i, k] -= mean[group[i]]
    return d


@njit(cache=True, nogil=True)
def _distance_by_copy(x1, x2, box, masses, mass_weighted, group):
    """d or d_mw between x1 and x2 with each copy's translation removed; with a single copy
    (``group`` all 0) exactly :func:`_distance`, bit for bit."""
    n = x1.shape[0]
    single = True
    for i in range(n):
        if group[i] != 0:
            single = False
            break
    if single:
        return _distance(x1, x2, box, masses, mass_weighted)
    if mass_weighted:
        w = masses
    else:
        w = np.ones(n)
    d = _displacements_by_copy(x1, x2, box, w, group)
    s = 0.0
    for i in range(n):
        s += w[i] * (d[i, 0] ** 2 + d[i, 1] ** 2 + d[i, 2] ** 2)
    return np.sqrt(s)


def _check_group(group, n):
    """group as an int64 (n,) array, or None when it is None or a single copy (the global
    translation: the one-copy kernels)."""
    if group is None:
        return None
    group = np.ascontiguousarray(group, dtype=np.int64)
    if group.shape != (n,) or (n and group.min() < 0):
        raise ValueError(f"group must give the copy (an integer >= 0) of each of the {n} particles, "
                         f"got shape {group.shape}")
    return group if n and group.max() > 0 else None


def _check_pair(x1, x2):
    x1 = np.ascontiguousarray(x1, dtype=np.float64)
    x2 = np.ascontiguousarray(x2, dtype=np.float64)
    if x1.shape != x2.shape or x1.ndim != 2 or x1.shape[1] != 3:
        raise ValueError(
            f"need two (N, 3) configurations of the same particles, got shapes {x1.shape} and {x2.shape}"
        )
    return x1, x2


def displacements(x1, x2, box, masses=None, group=None):
    """Per-particle displacements from x1 to x2 with the rigid translation removed.

    Parameters
    ----------
    x1, x2 : (N, 3) array_like
        Two configurations of the same particles (σ), possibly unwrapped.
    box : float
        Cubic box edge L (σ); each pair vector is the minimum image.
    masses : (N,) array_like, optional
        Masses in units of m_A: the mass-weighted mean displacement is removed (the rigid
        shift that minimises d_mw); otherwise the plain mean (the one that minimises d).
    group : (N,) array_like of int, optional
        The copy of each particle; with more than one copy, each copy's own mean is removed.

    Returns
    -------
    (N, 3) ndarray
        The displacements (σ).

    Raises
    ------
    ValueError
        If x1 and x2 are not (N, 3) arrays of the same shape, or ``group`` is not N integers ≥ 0.
    """
    x1, x2 = _check_pair(x1, x2)
    w = np.ones(len(x1)) if masses is None else np.ascontiguousarray(masses, dtype=np.float64)
    group = _check_group(group, len(x1))
    if group is not None:
        return _displacements_by_copy(x1, x2, float(box), w, group)
    return _displacements(x1, x2, float(box), w)


def distance(x1, x2, box, masses=None, group=None):
    """The distance d between x1 and x2, or d_mw when ``masses`` are given (docs/method.md §5).

    Parameters
    ----------
    x1, x2, box, masses, group
        As for :func:`displacements`; with ``masses`` (units of m_A) the mass-weighted
        distance d_mw² = Σ_i (m_i / m_A) |d_i^mw|², else d² = Σ_i |d_i|².

    Returns
    -------
    float
        d or d_mw (σ). With one copy the same bits as the one-copy kernel.

    Raises
    ------
    ValueError
        As :func:`displacements`.
    """
    x1, x2 = _check_pair(x1, x2)
    group = _check_group(group, len(x1))
    if group is not None:
        w = np.ones(len(x1)) if masses is None else np.ascontiguousarray(masses, dtype=np.float64)
        return float(_distance_by_copy(x1, x2, float(box), w, masses is not None, group))
    if masses is None:
        return float(_distance(x1, x2, float(box), np.ones(len(x1)), False))
    return float(_distance(x1, x2, float(box), np.ascontiguousarray(masses, dtype=np.float64), True))
