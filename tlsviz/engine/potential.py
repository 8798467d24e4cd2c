"""Energy, forces and the analytic Hessian of the shifted-force LJ mixture.

Kernels take the model as one tuple ``model = (types, group, box, s2, e4, a,
b, rc2, use_cells, skin)`` built by :class:`tlsviz.KobAndersen`: ``types`` (N,)
int64, 0 = A, 1 = B; ``group`` (N,) int64,
the copy a particle belongs to (particles of different copies do not
interact, which builds the "2 × N" system); ``box`` the cubic edge L;
``s2, e4, a, b`` (2, 2) tables of σ², 4ε and the shift constants; ``rc2`` the
squared cut-off; ``use_cells`` whether single evaluations use the cell list;
``skin`` the Verlet-list skin (0: no Verlet list).

Positions may be unwrapped: every pair vector is reduced with the minimum
image ``dx - L * rint(dx / L)``, which is exact because L > 2 r_c.

Three neighbour strategies give the same numbers up to summation order
(≈1e-13 relative): all pairs, O(N²), fastest for small N; a cell list
rebuilt at every call, O(N), for single evaluations of large systems (needs
at least three cells of edge ≥ r_c per box edge); and, inside compiled runs
(MD, minimisation, search tries), a Verlet list of all pairs closer than
r_c + skin, rebuilt when some particle has moved more than skin / 2 since the
last build (:func:`_new_neighbor_list`, :func:`_energy_forces_nl`). The
Verlet list needs r_c + skin < L / 2, so it is not used for N = 65 (L / 2 − r_c
= 0.09).
"""

from __future__ import annotations

import numpy as np
from numba import njit


# The three energy/force kernels below repeat the same pair block on purpose: moving it into
# an inlined helper that takes the model tuple and writes f[j] made them 5x slower (numba
# 0.68: the array loads are no longer hoisted out of the pair loop).


@njit(cache=True, nogil=True, inline="always")
def _pair(r2, s2, e4, a, b):
    """Pair energy V(r) and −V'(r)/r at squared distance r2."""
    inv_r2 = 1.0 / r2
    inv_r = np.sqrt(inv_r2)
    ir2 = s2 * inv_r2
    ir6 = ir2 * ir2 * ir2
    ir12 = ir6 * ir6
    e = e4 * (ir12 - ir6) + a + b * r2 * inv_r
    fr = e4 * (12.0 * ir12 - 6.0 * ir6) * inv_r2 - b * inv_r
    return e, fr


@njit(cache=True, nogil=True)
def _energy_forces_allpairs(x, f, model):
    types, group, box, s2, e4, a, b, rc2 = model[:8]
    n = x.shape[0]
    f[:] = 0.0
    e = 0.0
    inv_box = 1.0 / box
    for i in range(n - 1):
        xi0, xi1, xi2 = x[i, 0], x[i, 1], x[i, 2]
        ti = types[i]
        gi = group[i]
        fi0 = 0.0
        fi1 = 0.0
        fi2 = 0.0
        for j in range(i + 1, n):
            if group[j] != gi:
                continue
            d0 = xi0 - x[j, 0]
            d1 = xi1 - x[j, 1]
            d2 = xi2 - x[j, 2]
            d0 -= box * np.rint(d0 * inv_box)
            d1 -= box * np.rint(d1 * inv_box)
            d2 -= box * np.rint(d2 * inv_box)
            r2 = d0 * d0 + d1 * d1 + d2 * d2
            if r2 < rc2:
                tj = types[j]
                ee, fr = _pair(r2, s2[ti, tj], e4[ti, tj], a[ti, tj], b[ti, tj])
                e += ee
                fi0 += fr * d0
                fi1 += fr * d1
                fi2 += fr * d2
                f[j, 0] -= fr * d0
                f[j, 1] -= fr * d1
                f[j, 2] -= fr * d2
        f[i, 0] += fi0
        f[i, 1] += fi1
        f[i, 2] += fi2
    return e


@njit(cache=True, nogil=True)
def _cells_per_edge(box, rc2):
    return int(np.floor(box / np.sqrt(rc2)))


@njit(cache=True, nogil=True)
def _build_cells(x, box, nc):
    """Linked cell list: ``head[c]`` first particle of cell c, ``nxt[i]`` the next."""
    n = x.shape[0]
    head = -np.ones(nc * nc * nc, dtype=np.int64)
    nxt = -np.ones(n, dtype=np.int64)
    cell_of = np.empty((n, 3), dtype=np.int64)
    for i in range(n):
        for k in range(3):
            s = x[i, k] / box
            s -= np.floor(s)
            c = int(s * nc)
            if c >= nc:
                c = nc - 1
            cell_of[i, k] = c
        c = (cell_of[i, 0] * nc + cell_of[i, 1]) * nc + cell_of[i, 2]
        nxt[i] = head[c]
        head[c] = i
    return head, nxt, cell_of


@njit(cache=True, nogil=True)
def _energy_forces_cells(x, f, model):
    types, group, box, s2, e4, a, b, rc2 = model[:8]
    nc = _cells_per_edge(box, rc2)
    head, nxt, cell_of = _build_cells(x, box, nc)
    n = x.shape[0]
    f[:] = 0.0
    e = 0.0
    inv_box = 1.0 / box
    for i in range(n):
        xi0, xi1, xi2 = x[i, 0], x[i, 1], x[i, 2]
        ti = types[i]
        gi = group[i]
        ci0, ci1, ci2 = cell_of[i, 0], cell_of[i, 1], cell_of[i, 2]
        fi0 = 0.0
        fi1 = 0.0
        fi2 = 0.0
        for o0 in range(-1, 2):
            c0 = (ci0 + o0) % nc
            for o1 in range(-1, 2):
                c1 = (ci1 + o1) % nc
                for o2 in range(-1, 2):
                    c2 = (ci2 + o2) % nc
                    j = head[(c0 * nc + c1) * nc + c2]
                    while j >= 0:
                        if j > i and group[j] == gi:
                            d0 = xi0 - x[j, 0]
                            d1 = xi1 - x[j, 1]
                            d2 = xi2 - x[j, 2]
                            d0 -= box * np.rint(d0 * inv_box)
                            d1 -= box * np.rint(d1 * inv_box)
                            d2 -= box * np.rint(d2 * inv_box)
                            r2 = d0 * d0 + d1 * d1 + d2 * d2
                            if r2 < rc2:
                                tj = types[j]
                                ee, fr = _pair(
                                    r2, s2[ti, tj], e4[ti, tj], a[ti, tj], b[ti, tj]
                                )
                                e += ee
                                fi0 += fr * d0
                                fi1 += fr * d1
                                fi2 += fr * d2
                                f[j, 0] -= fr * d0
                                f[j, 1] -= fr * d1
                                f[j, 2] -= fr * d2
                        j = nxt[j]
        f[i, 0] += fi0
        f[i, 1] += fi1
        f[i, 2] += fi2
    return e


@njit(cache=True, nogil=True)
def _energy_forces_into(x, f, model):
    """Potential energy of x (N, 3); writes the forces into f (N, 3)."""
    if model[8]:
        return _energy_forces_cells(x, f, model)
    return _energy_forces_allpairs(x, f, model)


@njit(cache=True, nogil=True)
def _new_neighbor_list(x, model):
    """Verlet-list state for x: ``(nbr, start, x_ref (N, 3), info [r_list, skin, builds])``,
    the neighbours j > i of particle i being ``nbr[start[i]:start[i + 1]]`` (one contiguous
    array, read in order by the force loop); empty arrays when the model has no skin (then
    :func:`_energy_forces_nl` falls back to :func:`_energy_forces_into`)."""
    skin = model[9]
    n = x.shape[0]
    if skin <= 0.0:
        return (np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64), np.zeros((0, 3)), np.zeros(3))
    r_list = np.sqrt(model[7]) + skin
    # room for 1.5 times the mean number of pairs within r_list at density 1.2, plus a margin
    capacity = int(1.5 * n * 0.5 * 1.2 * 4.0 / 3.0 * np.pi * r_list**3) + 1000
    nl = (np.empty(capacity, dtype=np.int32), np.zeros(n + 1, dtype=np.int64), x.copy(),
          np.array([r_list, skin, 0.0]))
    _build_neighbor_list(x, model, nl)
    return nl


@njit(cache=True, nogil=True)
def _build_neighbor_list(x, model, nl):
    """Half list (j > i) of the pairs of one copy closer than r_list; x_ref ← x."""
    types, group, box = model[0], model[1], model[2]
    nbr, start, x_ref, info = nl
    r_list = info[0]
    rl2 = r_list * r_list
    n = x.shape[0]
    capacity = nbr.shape[0]
    inv_box = 1.0 / box
    count = 0
    nc = int(np.floor(box / r_list))
    if nc >= 3:
        head, nxt, cell_of = _build_cells(x, box, nc)
    for i in range(n):
        for k in range(3):
            x_ref[i, k] = x[i, k]
        start[i] = count
        gi = group[i]
        if nc >= 3:
            ci0, ci1, ci2 = cell_of[i, 0], cell_of[i, 1], cell_of[i, 2]
            for o0 in range(-1, 2):
                for o1 in range(-1, 2):
                    for o2 in range(-1, 2):
                        j = head[(((ci0 + o0) % nc) * nc + (ci1 + o1) % nc) * nc + (ci2 + o2) % nc]
                        while j >= 0:
                            if j > i and group[j] == gi:
                                r2 = 0.0
                                for k in range(3):
                                    d = x[i, k] - x[j, k]
                                    d -= box * np.rint(d * inv_box)
                                    r2 += d * d
                                if r2 < rl2:
                                    if count >= capacity:
                                        raise RuntimeError("Verlet list overflow: too many neighbours")
                                    nbr[count] = j
                                    count += 1
                            j = nxt[j]
        else:
            for j in range(i + 1, n):
                if group[j] != gi:
                    continue
                r2 = 0.0
                for k in range(3):
                    d = x[i, k] - x[j, k]
                    d -= box * np.rint(d * inv_box)
                    r2 += d * d
                if r2 < rl2:
                    if count >= capacity:
                        raise RuntimeError("Verlet list overflow: too many neighbours")
                    nbr[count] = j
                    count += 1
    start[n] = count
    info[2] += 1.0


@njit(cache=True, nogil=True)
def _energy_forces_verlet(x, f, model, nbr, start):
    types, group, box, s2, e4, a, b, rc2 = model[:8]
    n = x.shape[0]
    f[:] = 0.0
    e = 0.0
    inv_box = 1.0 / box
    for i in range(n):
        xi0, xi1, xi2 = x[i, 0], x[i, 1], x[i, 2]
        ti = types[i]
        fi0 = 0.0
        fi1 = 0.0
        fi2 = 0.0
        for kk in range(start[i], start[i + 1]):
            j = nbr[kk]
            d0 = xi0 - x[j, 0]
            d1 = xi1 - x[j, 1]
            d2 = xi2 - x[j, 2]
            d0 -= box * np.rint(d0 * inv_box)
            d1 -= box * np.rint(d1 * inv_box)
            d2 -= box * np.rint(d2 * inv_box)
            r2 = d0 * d0 + d1 * d1 + d2 * d2
            if r2 < rc2:
                tj = types[j]
                ee, fr = _pair(r2, s2[ti, tj], e4[ti, tj], a[ti, tj], b[ti, tj])
                e += ee
                fi0 += fr * d0
                fi1 += fr * d1
                fi2 += fr * d2
                f[j, 0] -= fr * d0
                f[j, 1] -= fr * d1
                f[j, 2] -= fr * d2
        f[i, 0] += fi0
        f[i, 1] += fi1
        f[i, 2] += fi2
    return e


@njit(cache=True, nogil=True)
def _energy_forces_nl(x, f, model, nl):
    """Energy and forces (into f) through the Verlet list nl, rebuilt first if some particle
    has moved more than skin / 2 since the last build; without a list, as
    :func:`_energy_forces_into`."""
    nbr, start, x_ref, info = nl
    if start.shape[0] == 0:
        return _energy_forces_into(x, f, model)
    half_skin2 = 0.25 * info[1] * info[1]
    for i in range(x.shape[0]):
        d2 = (x[i, 0] - x_ref[i, 0]) ** 2 + (x[i, 1] - x_ref[i, 1]) ** 2 + (x[i, 2] - x_ref[i, 2]) ** 2
        if d2 > half_skin2:
            _build_neighbor_list(x, model, nl)
            break
    return _energy_forces_verlet(x, f, model, nbr, start)


@njit(cache=True, nogil=True)
def _energy_forces(x, model):
    f = np.empty_like(x)
    e = _energy_forces_into(x, f, model)
    return e, f


@njit(cache=True, nogil=True)
def _hessian(x, model):
    """Analytic (3N, 3N) Hessian, all pairs, including the linear shift term."""
    types, group, box, s2, e4, a, b, rc2 = model[:8]
    n = x.shape[0]
    h = np.zeros((3 * n, 3 * n))
    d = np.empty(3)
    inv_box = 1.0 / box
    for i in range(n - 1):
        ti = types[i]
        for j in range(i + 1, n):
            if group[j] != group[i]:
                continue
            for k in range(3):
                dk = x[i, k] - x[j, k]
                d[k] = dk - box * np.rint(dk * inv_box)
            r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2]
            if r2 >= rc2:
                continue
            tj = types[j]
            r = np.sqrt(r2)
            ir2 = s2[ti, tj] / r2
            ir6 = ir2 * ir2 * ir2
            ir12 = ir6 * ir6
            # V'(r)/r and V''(r); the b·r shift enters V' but not V''.
            dv_r = e4[ti, tj] * (-12.0 * ir12 + 6.0 * ir6) / r2 + b[ti, tj] / r
            d2v = e4[ti, tj] * (156.0 * ir12 - 42.0 * ir6) / r2
            for k in range(3):
                for m in range(3):
                    uu = d[k] * d[m] / r2
                    kk = (d2v - dv_r) * uu
                    if k == m:
                        kk += dv_r
                    h[3 * i + k, 3 * j + m] -= kk
                    h[3 * j + m, 3 * i + k] -= kk
                    h[3 * i + k, 3 * i + m] += kk
                    h[3 * j + k, 3 * j + m] += kk
    return h
