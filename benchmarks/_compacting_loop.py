"""The Verlet-list pair loop as it was before the masked-lane loop (main at b5fd942,
tlsviz/engine/pairlist.py ``_gather``, ``_lane_forces``, ``_range_forces``, ``_pair_forces``),
kept only so that benchmarks/bench_clusters.py can time it against today's loop. Per particle:
a scalar pass that keeps the pairs within r_c (compaction into lanes), one vectorised force
loop per neighbour type, a scalar scatter. ``work`` (9, 4 · 512 + 24) scratch."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, inline="always")
def _gather(x, xi0, xi1, xi2, lo, hi, box, inv_box, rc2, nbr, work, m, shift):
    """First pass over the pairs (i, nbr[k]) for k in [lo, hi): the pair vectors and r² into
    lanes m, m + 1, … of ``work`` (rows 0–3, j in row 8), kept only when r² < r_c² (without a
    branch: each pair is written at the next free lane, which advances when it is in range).
    Returns the next free lane. ``shift`` (a literal): reduce the pair vectors to the minimum
    image; False for the runs whose plain difference is the minimum image (reducing it would
    change nothing: d − L·rint(d / L) = d exactly)."""
    for k in range(lo, hi):
        j = nbr[k]
        d0 = xi0 - x[j, 0]
        d1 = xi1 - x[j, 1]
        d2 = xi2 - x[j, 2]
        if shift:
            d0 -= box * np.rint(d0 * inv_box)
            d1 -= box * np.rint(d1 * inv_box)
            d2 -= box * np.rint(d2 * inv_box)
        r2 = d0 * d0 + d1 * d1 + d2 * d2
        work[0, m] = d0
        work[1, m] = d1
        work[2, m] = d2
        work[3, m] = r2
        work[8, m] = j
        m += 1 if r2 < rc2 else 0
    return m


@njit(cache=True, nogil=True, inline="always")
def _lane_forces(q_lo, q_hi, cc12, cc6, aa, bb, work, need_energy):
    """Second pass: the pair forces (rows 4–6) and, when ``need_energy`` (a literal), energies
    (row 7) of lanes [q_lo, q_hi) of ``work``, all of one pair type, with no branch, so that
    LLVM vectorises it. The same operations as :func:`tlsviz.engine.potential._pair`."""
    c12x = 12.0 * cc12
    c6x = 6.0 * cc6
    if need_energy:  # two loops, not a flag tested inside one (LLVM would mask the stores)
        for q in range(q_lo, q_hi):
            r2 = work[3, q]
            t = 1.0 / r2
            inv_r = np.sqrt(t)
            t3 = t * t * t
            fr = (c12x * t3 - c6x) * t3 * t - bb * inv_r
            work[4, q] = fr * work[0, q]
            work[5, q] = fr * work[1, q]
            work[6, q] = fr * work[2, q]
            work[7, q] = (cc12 * t3 - cc6) * t3 + aa + bb * r2 * inv_r
    else:
        for q in range(q_lo, q_hi):
            t = 1.0 / work[3, q]
            inv_r = np.sqrt(t)
            t3 = t * t * t
            fr = (c12x * t3 - c6x) * t3 * t - bb * inv_r
            work[4, q] = fr * work[0, q]
            work[5, q] = fr * work[1, q]
            work[6, q] = fr * work[2, q]


@njit(cache=True, nogil=True, inline="always")
def _range_forces(x, f, i_lo, i_hi, types, box, rc2, c12, c6, a, b, nbr, start, split, work, need_energy):
    """The pairs of the particles i in [i_lo, i_hi) (with their listed neighbours), forces
    added into f; returns their energy (0 unless ``need_energy``, a literal). Per particle: its
    four runs gathered into one set of lanes (type A first, then B; :func:`_gather`), the
    forces of each type's lanes (:func:`_lane_forces`), then one pass that sums them into
    f[i] and takes them off f[j] in lane order."""
    inv_box = 1.0 / box
    e = 0.0
    for i in range(i_lo, i_hi):
        ti = types[i]
        xi0, xi1, xi2 = x[i, 0], x[i, 1], x[i, 2]
        s0, s1, s2 = split[i, 0], split[i, 1], split[i, 2]
        m = _gather(x, xi0, xi1, xi2, start[i], s0, box, inv_box, rc2, nbr, work, 0, False)
        m = _gather(x, xi0, xi1, xi2, s0, s1, box, inv_box, rc2, nbr, work, m, True)
        m_a = m
        m = _gather(x, xi0, xi1, xi2, s1, s2, box, inv_box, rc2, nbr, work, m, False)
        m = _gather(x, xi0, xi1, xi2, s2, start[i + 1], box, inv_box, rc2, nbr, work, m, True)
        _lane_forces(0, m_a, c12[ti, 0], c6[ti, 0], a[ti, 0], b[ti, 0], work, need_energy)
        _lane_forces(m_a, m, c12[ti, 1], c6[ti, 1], a[ti, 1], b[ti, 1], work, need_energy)
        fi0 = 0.0
        fi1 = 0.0
        fi2 = 0.0
        for q in range(m):
            j = int(work[8, q])
            g0 = work[4, q]
            g1 = work[5, q]
            g2 = work[6, q]
            fi0 += g0
            fi1 += g1
            fi2 += g2
            f[j, 0] -= g0
            f[j, 1] -= g1
            f[j, 2] -= g2
        f[i, 0] += fi0
        f[i, 1] += fi1
        f[i, 2] += fi2
        if need_energy:
            for q in range(m):
                e += work[7, q]
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
