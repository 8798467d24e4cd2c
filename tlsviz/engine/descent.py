"""Steepest-descent (intrinsic reaction coordinate) paths in compiled code.

The same integrator as :func:`tlsviz.engine.saddle.descent_path`, which calls it for the glass
(:class:`tlsviz.engine.surfaces.SystemSurface`), with the same arithmetic. Why compiled: a step's
force evaluation takes microseconds, far less than a Python loop's overhead per step. The
Python loop stays for the surfaces compiled code cannot call and for Cartesian paths
(:mod:`tlsviz.engine.saddle`'s docstring).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from .minimize import _max_force
from .potential import _energy_forces_nl, _new_neighbor_list


class DescentPath(NamedTuple):
    """A steepest-descent path of :func:`_descent`.

    Attributes
    ----------
    points : (k, N, 3) ndarray
        The path, starting with its start.
    energies : (k,) ndarray
        Strictly decreasing.
    n_evals : int
        Energy and force evaluations made.
    """

    points: np.ndarray
    energies: np.ndarray
    n_evals: int


@njit(cache=True, nogil=True)
def _unit_mw_step(f, sq, h, x, out):
    """out = x + h · (F_y / |F_y|) / √m with F_y = F / √m (per particle)."""
    s = 0.0
    for i in range(f.shape[0]):
        for k in range(3):
            s += (f[i, k] / sq[i]) ** 2
    c = h / np.sqrt(s)
    for i in range(f.shape[0]):
        for k in range(3):
            out[i, k] = x[i, k] + c * f[i, k] / (sq[i] * sq[i])


@njit(cache=True, nogil=True)
def _descent(x_start, direction, sq, model, ds, f_stop, f_risen, max_steps, ds_min):
    """Mass-weighted steepest-descent path from x_start (N, 3), first along ``direction``
    (N, 3, Cartesian); sq (N,) = √m; the arguments as in
    :func:`tlsviz.engine.saddle.descent_path`. Returns a :class:`DescentPath`."""
    n = x_start.shape[0]
    x = x_start.copy()
    f = np.empty_like(x)
    nl = _new_neighbor_list(x, model)
    e = _energy_forces_nl(x, f, model, nl)
    n_evals = 1
    cap = 256
    pts = np.empty((cap, n, 3))
    es = np.empty(cap)
    pts[0] = x
    es[0] = e
    k = 1
    # first step along the unstable direction (the force vanishes at the saddle)
    d = np.empty_like(x)
    norm = 0.0
    for i in range(n):
        for c in range(3):
            d[i, c] = direction[i, c] * sq[i]
            norm += d[i, c] * d[i, c]
    norm = np.sqrt(norm)
    x1 = np.empty_like(x)
    f1 = np.empty_like(x)
    x_mid = np.empty_like(x)
    f_mid = np.empty_like(x)
    h = ds
    while h >= ds_min:
        for i in range(n):
            for c in range(3):
                x1[i, c] = x[i, c] + h * d[i, c] / norm / sq[i]
        e1 = _energy_forces_nl(x1, f1, model, nl)
        n_evals += 1
        if e1 < e:
            x[:] = x1
            f[:] = f1
            e = e1
            pts[k] = x
            es[k] = e
            k += 1
            break
        h *= 0.5
    risen = f_risen <= 0.0  # f_stop applies once max|F| has been above f_risen
    for _ in range(max_steps):
        fmax = _max_force(f.reshape(-1))
        risen = risen or fmax > f_risen
        if risen and fmax < f_stop or h < ds_min:
            break
        _unit_mw_step(f, sq, 0.5 * h, x, x_mid)
        _energy_forces_nl(x_mid, f_mid, model, nl)
        _unit_mw_step(f_mid, sq, h, x, x1)
        e1 = _energy_forces_nl(x1, f1, model, nl)
        n_evals += 2
        if e1 >= e:
            h *= 0.5
            continue
        x[:] = x1
        f[:] = f1
        e = e1
        if k == cap:
            cap *= 2
            grown = np.empty((cap, n, 3))
            grown[:k] = pts[:k]
            pts = grown
            grown_e = np.empty(cap)
            grown_e[:k] = es[:k]
            es = grown_e
        pts[k] = x
        es[k] = e
        k += 1
        h = min(ds, 1.5 * h)
    return DescentPath(pts[:k].copy(), es[:k].copy(), n_evals)
