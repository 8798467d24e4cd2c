"""Neighbour lists and the one pair loop over them (docs/engine.md).

A neighbour list here is a half list in compressed rows: the neighbours j > i of particle i
(in the order of the arrays, which compiled runs sort by cell) are ``nbr[start[i]:start[i +
1]]``, those of type A first, up to ``split[i]``, then those of type B. Every kind of list
feeds the same loop, :func:`_pair_forces`: a Verlet list (pairs closer than r_c + skin, kept
while no particle has moved more than skin / 2), a list of the pairs closer than r_c built
from cells for one evaluation, or all pairs of a small system.

The loop takes each particle's neighbours of one type (so that the pair constants are fixed)
in three passes over a scratch row: the minimum-image pair vectors and r² (gathering the
neighbours' positions), then the pair forces with no branch (1 / r² set to 0 beyond the
cut-off), which LLVM vectorises, then the sums into f in list order. No fast-math: the pair
terms are the same bits as :func:`tlsviz.engine.potential._pair`, and every sum runs in a
fixed order.

Threads (:func:`_pair_forces_threads`): the particles are cut into as many contiguous chunks
as the pool has rows; each chunk adds its pair forces into its own force array (so no two
threads write to one place), and these are summed in chunk order. The result depends on the
number of chunks only, never on the scheduling: a fixed thread count gives the same bits run
to run, and one chunk gives the bits of :func:`_pair_forces`. With more chunks a force is the
same pair terms summed in another order.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

#: Length of a scratch row: the most neighbours of one type one particle may have (at density
#: 1.2 and r_c + skin = 2.1 a particle has ~46 neighbours in all, ~23 in a half list).
ROW = 512
#: Scratch rows of :func:`_pair_forces`: pair vector (3), r², pair force (3), pair energy.
N_ROWS = 8


@njit(cache=True, nogil=True)
def _cell_grid(x, box, nc):
    """Linked cells of edge box / nc: ``head[c]`` first particle of cell c, ``nxt[i]`` the
    next, ``cell_of[i]`` the three cell indices of particle i (positions taken modulo box)."""
    n = x.shape[0]
    head = -np.ones(nc * nc * nc, dtype=np.int64)
    nxt = -np.ones(n, dtype=np.int64)
    cell_of = np.empty((n, 3), dtype=np.int64)
    for i in range(n - 1, -1, -1):  # backwards, so that each cell lists its particles in order
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
def _list_capacity(n, r_list, density):
    """Room for the half list of n particles at this number density: 1.5 times the mean
    number of pairs within r_list, plus a margin."""
    return int(1.5 * n * 0.5 * density * 4.0 / 3.0 * np.pi * r_list ** 3) + 1000


@njit(cache=True, nogil=True)
def _build_pairs(x, types, group, box, r_list, nbr, start, split):
    """Fill the half list (module docstring) with the pairs of one copy closer than r_list,
    from cells of edge ≥ r_list when there are at least three per box edge, else from all
    pairs. Returns False (the list incomplete) when ``nbr`` is too short; raises when one
    particle has more than :data:`ROW` neighbours of one type."""
    n = x.shape[0]
    capacity = nbr.shape[0]
    rl2 = r_list * r_list
    inv_box = 1.0 / box
    nc = int(np.floor(box / r_list))
    use_cells = nc >= 3
    if use_cells:
        head, nxt, cell_of = _cell_grid(x, box, nc)
    else:
        head, nxt, cell_of = _cell_grid(x, box, 1)
    tmp = np.empty(ROW, dtype=np.int32)  # the B neighbours of particle i, until its A ones are in
    count = 0
    for i in range(n):
        start[i] = count
        gi = group[i]
        xi0, xi1, xi2 = x[i, 0], x[i, 1], x[i, 2]
        n_b = 0
        n_cand = 27 if use_cells else 1
        for o in range(n_cand):
            if use_cells:
                c0 = (cell_of[i, 0] + o // 9 - 1) % nc
                c1 = (cell_of[i, 1] + (o // 3) % 3 - 1) % nc
                c2 = (cell_of[i, 2] + o % 3 - 1) % nc
                j = head[(c0 * nc + c1) * nc + c2]
            else:
                j = i + 1 if i + 1 < n else -1
            while j >= 0:
                if j > i and group[j] == gi:
                    d0 = xi0 - x[j, 0]
                    d1 = xi1 - x[j, 1]
                    d2 = xi2 - x[j, 2]
                    d0 -= box * np.rint(d0 * inv_box)
                    d1 -= box * np.rint(d1 * inv_box)
                    d2 -= box * np.rint(d2 * inv_box)
                    if d0 * d0 + d1 * d1 + d2 * d2 < rl2:
                        if types[j] == 0:
                            if count >= capacity:
                                return False
                            nbr[count] = j
                            count += 1
                        else:
                            if n_b >= ROW:
                                raise RuntimeError("a particle has more than 512 neighbours of one type: "
                                                   "positions collapsed (NaN or overlapping particles?)")
                            tmp[n_b] = j
                            n_b += 1
                if use_cells:
                    j = nxt[j]
                else:
                    j = j + 1 if j + 1 < n else -1
        if count - start[i] > ROW:
            raise RuntimeError("a particle has more than 512 neighbours of one type: "
                               "positions collapsed (NaN or overlapping particles?)")
        split[i] = count
        if count + n_b > capacity:
            return False
        for q in range(n_b):
            nbr[count] = tmp[q]
            count += 1
    start[n] = count
    return True


@njit(cache=True, nogil=True)
def _new_pairs(x, types, group, box, r_list, density):
    """(nbr, start, split) of a fresh half list of the pairs closer than r_list, the arrays
    grown until the list fits."""
    n = x.shape[0]
    capacity = _list_capacity(n, r_list, density)
    start = np.zeros(n + 1, dtype=np.int64)
    split = np.zeros(n, dtype=np.int64)
    while True:
        nbr = np.empty(capacity, dtype=np.int32)
        if _build_pairs(x, types, group, box, r_list, nbr, start, split):
            return nbr, start, split
        capacity *= 2


@njit(cache=True, nogil=True, inline="always")
def _segment_forces(x, f, i, lo, hi, ti, tj, box, inv_box, rc2, c12, c6, a, b, nbr, work, need_energy):
    """The pairs (i, nbr[k]) for k in [lo, hi), all of type (ti, tj): their forces into f
    (f[i] in a running sum returned, f[j] subtracted in place) and their energy. Returns
    (e, fi0, fi1, fi2). Three passes over the rows of ``work`` (module docstring)."""
    xi0, xi1, xi2 = x[i, 0], x[i, 1], x[i, 2]
    m = hi - lo
    for q in range(m):
        j = nbr[lo + q]
        d0 = xi0 - x[j, 0]
        d1 = xi1 - x[j, 1]
        d2 = xi2 - x[j, 2]
        d0 -= box * np.rint(d0 * inv_box)
        d1 -= box * np.rint(d1 * inv_box)
        d2 -= box * np.rint(d2 * inv_box)
        work[0, q] = d0
        work[1, q] = d1
        work[2, q] = d2
        work[3, q] = d0 * d0 + d1 * d1 + d2 * d2
    cc12 = c12[ti, tj]
    cc6 = c6[ti, tj]
    aa = a[ti, tj]
    bb = b[ti, tj]
    c12x = 12.0 * cc12
    c6x = 6.0 * cc6
    if need_energy:  # two loops, not a flag tested inside one (LLVM would mask the stores)
        for q in range(m):
            r2 = work[3, q]
            t = 1.0 / r2
            t = t if r2 < rc2 else 0.0
            inv_r = np.sqrt(t)
            t3 = t * t * t
            fr = (c12x * t3 - c6x) * t3 * t - bb * inv_r
            work[4, q] = fr * work[0, q]
            work[5, q] = fr * work[1, q]
            work[6, q] = fr * work[2, q]
            ee = (cc12 * t3 - cc6) * t3 + aa + bb * r2 * inv_r
            work[7, q] = ee if t > 0.0 else 0.0
    else:
        for q in range(m):
            r2 = work[3, q]
            t = 1.0 / r2
            t = t if r2 < rc2 else 0.0
            inv_r = np.sqrt(t)
            t3 = t * t * t
            fr = (c12x * t3 - c6x) * t3 * t - bb * inv_r
            work[4, q] = fr * work[0, q]
            work[5, q] = fr * work[1, q]
            work[6, q] = fr * work[2, q]
    e = 0.0
    fi0 = 0.0
    fi1 = 0.0
    fi2 = 0.0
    for q in range(m):
        j = nbr[lo + q]
        g0 = work[4, q]
        g1 = work[5, q]
        g2 = work[6, q]
        fi0 += g0
        fi1 += g1
        fi2 += g2
        f[j, 0] -= g0
        f[j, 1] -= g1
        f[j, 2] -= g2
    if need_energy:
        for q in range(m):
            e += work[7, q]
    return e, fi0, fi1, fi2


@njit(cache=True, nogil=True, inline="always")
def _range_forces(x, f, i_lo, i_hi, types, box, rc2, c12, c6, a, b, nbr, start, split, work, need_energy):
    """The pairs of the particles i in [i_lo, i_hi) (with their neighbours j > i), forces
    added into f; returns their energy (0 unless ``need_energy``)."""
    inv_box = 1.0 / box
    e = 0.0
    for i in range(i_lo, i_hi):
        ti = types[i]
        if need_energy:
            ea, a0, a1, a2 = _segment_forces(x, f, i, start[i], split[i], ti, 0, box, inv_box, rc2, c12, c6, a, b,
                                             nbr, work, True)
            eb, b0, b1, b2 = _segment_forces(x, f, i, split[i], start[i + 1], ti, 1, box, inv_box, rc2, c12, c6, a,
                                             b, nbr, work, True)
            e += ea
            e += eb
        else:
            ea, a0, a1, a2 = _segment_forces(x, f, i, start[i], split[i], ti, 0, box, inv_box, rc2, c12, c6, a, b,
                                             nbr, work, False)
            eb, b0, b1, b2 = _segment_forces(x, f, i, split[i], start[i + 1], ti, 1, box, inv_box, rc2, c12, c6, a,
                                             b, nbr, work, False)
        f[i, 0] += a0 + b0
        f[i, 1] += a1 + b1
        f[i, 2] += a2 + b2
    return e


@njit(cache=True, nogil=True, error_model="numpy")
def _pair_forces(x, f, model, nbr, start, split, work, need_energy):
    """Energy of x (N, 3) over the half list (module docstring) and the forces into f (N, 3),
    on one thread. ``work`` (:data:`N_ROWS`, :data:`ROW`) scratch. ``need_energy`` a literal
    bool: False skips the pair energies and returns 0. The caller keeps the list valid (every
    pair closer than r_c in it)."""
    f[:] = 0.0
    if need_energy:
        return _range_forces(x, f, 0, x.shape[0], model.types, model.box, model.rc2, model.c12, model.c6,
                             model.a, model.b, nbr, start, split, work, True)
    return _range_forces(x, f, 0, x.shape[0], model.types, model.box, model.rc2, model.c12, model.c6,
                         model.a, model.b, nbr, start, split, work, False)


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def _pair_forces_threads(x, f, model, nbr, start, split, pool_f, pool_work, need_energy):
    """:func:`_pair_forces` in ``pool_f.shape[0]`` chunks of particles run by numba's threads,
    each into its own row of ``pool_f`` (chunks, N, 3) with its own scratch ``pool_work``
    (chunks, :data:`N_ROWS`, :data:`ROW`), then summed in chunk order (module docstring)."""
    n = x.shape[0]
    chunks = pool_f.shape[0]
    energies = np.zeros(chunks)
    types, box, rc2, c12, c6, a, b = model.types, model.box, model.rc2, model.c12, model.c6, model.a, model.b
    for c in prange(chunks):
        fc = pool_f[c]
        fc[:] = 0.0
        i_lo = c * n // chunks
        i_hi = (c + 1) * n // chunks
        if need_energy:
            energies[c] = _range_forces(x, fc, i_lo, i_hi, types, box, rc2, c12, c6, a, b, nbr, start, split,
                                        pool_work[c], True)
        else:
            energies[c] = _range_forces(x, fc, i_lo, i_hi, types, box, rc2, c12, c6, a, b, nbr, start, split,
                                        pool_work[c], False)
    for i in prange(n):
        s0 = pool_f[0, i, 0]
        s1 = pool_f[0, i, 1]
        s2 = pool_f[0, i, 2]
        for c in range(1, chunks):
            s0 += pool_f[c, i, 0]
            s1 += pool_f[c, i, 1]
            s2 += pool_f[c, i, 2]
        f[i, 0] = s0
        f[i, 1] = s1
        f[i, 2] = s2
    e = 0.0
    for c in range(chunks):
        e += energies[c]
    return e
