"""The Verlet half-list pair loop without compaction: every listed pair in SIMD lanes, the
pairs beyond r_c masked (prototype; issue 24, benchmarks/bench_clusters.py).

What: the same list and the same results as :func:`tlsviz.engine.pairlist._pair_forces` (the
same bits: the same pair terms, summed in the same order, the masked lanes adding exact
zeros), computed in three passes per particle i over one scratch row set:

1. a plain gather of the pair vectors x_i − x_j of all its listed neighbours (its four runs,
   contiguous in ``nbr``) into lanes 0 … m − 1, lanes m … m8 − 1 (m8: m rounded up to a
   multiple of 8) set to zero;
2. one branch-free loop over the m8 lanes: minimum image (on every lane: for the runs whose
   plain difference is already the minimum image it changes nothing, d − L·0 = d), r², t =
   1 / r² or 0 (beyond r_c, or a pad lane), the pair constants of each lane chosen by
   whether it lies in the A or the B runs, the pair force and (when asked) energy;
3. the scalar scatter: f_i summed in lane order, f_j −= g_j, the energy summed in lane order.

Why: the loop of :mod:`tlsviz.engine.pairlist` compacts the in-range pairs in pass 1 (a
dependent write index per pair), then runs two short force loops (one per neighbour type,
~12 and ~3 lanes: mostly the scalar remainder of the vector loop). Here pass 2 always runs
whole 8-lane vectors (the trip count m8, a multiple of 8, read at run time) on ~30 lanes
instead of ~15, with no scalar remainder, and pass 1 is independent iteration to iteration.
It is the masked-lane style of :func:`tlsviz.engine.potential._energy_forces_small` and of
the cluster-pair kernels of Páll & Hess, Comput. Phys. Commun. 184, 2641 (2013), on the
existing Verlet list (their cluster pairs cost ~7× more lanes here: r_c = 1.8 is under two
particle spacings; :mod:`tlsviz.engine.clusters`).

Contract: as :func:`tlsviz.engine.pairlist._pair_forces` (``work`` one flat array of at least
:data:`tlsviz.engine.pairlist.N_ROWS` · :data:`tlsviz.engine.pairlist.ROW` doubles); no
fast-math, fixed summation order.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .pairlist import ROW

# Scratch rows (unsigned compile-time offsets into one flat array: LLVM sees fixed distances
# between them and adds no run-time alias checks): pair vectors, pair forces, pair energies.
_D0, _D1, _D2, _G0, _G1, _G2, _E = (np.uint64(k * ROW) for k in range(7))


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _lanes(work, m, m8, m_a, box, inv_box, rc2, k12a, k6a, ba, c12a, c6a, aa, k12b, k6b, bb, c12b, c6b, ab,
           need_energy):
    """Pass 2 over lanes [0, m8): lanes < m_a are A neighbours, m_a … m − 1 B ones, ≥ m pads."""
    for qq in range(m8):
        q = np.uint64(qq)
        d0 = work[_D0 + q]
        d1 = work[_D1 + q]
        d2 = work[_D2 + q]
        d0 -= box * np.rint(d0 * inv_box)
        d1 -= box * np.rint(d1 * inv_box)
        d2 -= box * np.rint(d2 * inv_box)
        r2 = d0 * d0 + d1 * d1 + d2 * d2
        t = 1.0 / r2
        t = t if (r2 < rc2) & (qq < m) else 0.0
        is_a = qq < m_a
        k12 = k12a if is_a else k12b
        k6 = k6a if is_a else k6b
        b = ba if is_a else bb
        inv_r = np.sqrt(t)
        t3 = t * t * t
        fr = (k12 * t3 - k6) * t3 * t - b * inv_r
        work[_G0 + q] = fr * d0
        work[_G1 + q] = fr * d1
        work[_G2 + q] = fr * d2
        if need_energy:
            c12 = c12a if is_a else c12b
            c6 = c6a if is_a else c6b
            a = aa if is_a else ab
            ee = (c12 * t3 - c6) * t3 + a + b * r2 * inv_r
            work[_E + q] = ee if t > 0.0 else 0.0


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _range_forces_masked(x, f, i_lo, i_hi, types, box, rc2, c12, c6, a, b, nbr, start, split, work, need_energy):
    """The pairs of the particles i in [i_lo, i_hi) (module docstring), forces added into f;
    returns their energy (0 unless ``need_energy``, a literal)."""
    inv_box = 1.0 / box
    e = 0.0
    for i in range(i_lo, i_hi):
        ti = types[i]
        xi0, xi1, xi2 = x[i, 0], x[i, 1], x[i, 2]
        lo = start[i]
        m = start[i + 1] - lo
        m_a = split[i, 1] - lo
        m8 = (m + 7) // 8 * 8
        for q in range(m):
            j = nbr[lo + q]
            uq = np.uint64(q)
            work[_D0 + uq] = xi0 - x[j, 0]
            work[_D1 + uq] = xi1 - x[j, 1]
            work[_D2 + uq] = xi2 - x[j, 2]
        for q in range(m, m8):
            uq = np.uint64(q)
            work[_D0 + uq] = 0.0
            work[_D1 + uq] = 0.0
            work[_D2 + uq] = 0.0
        _lanes(work, m, m8, m_a, box, inv_box, rc2,
               12.0 * c12[ti, 0], 6.0 * c6[ti, 0], b[ti, 0], c12[ti, 0], c6[ti, 0], a[ti, 0],
               12.0 * c12[ti, 1], 6.0 * c6[ti, 1], b[ti, 1], c12[ti, 1], c6[ti, 1], a[ti, 1], need_energy)
        fi0 = 0.0
        fi1 = 0.0
        fi2 = 0.0
        for q in range(m):
            j = nbr[lo + q]
            uq = np.uint64(q)
            g0 = work[_G0 + uq]
            g1 = work[_G1 + uq]
            g2 = work[_G2 + uq]
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
                e += work[_E + np.uint64(q)]
    return e


@njit(cache=True, nogil=True, error_model="numpy")
def _pair_forces_masked(x, f, model, nbr, start, split, work, need_energy):
    """:func:`tlsviz.engine.pairlist._pair_forces` by :func:`_range_forces_masked` (``work``
    flat, e.g. ``NeighbourList.work``)."""
    f[:] = 0.0
    if need_energy:
        return _range_forces_masked(x, f, 0, x.shape[0], model.types, model.box, model.rc2, model.c12, model.c6,
                                    model.a, model.b, nbr, start, split, work, True)
    return _range_forces_masked(x, f, 0, x.shape[0], model.types, model.box, model.rc2, model.c12, model.c6,
                                model.a, model.b, nbr, start, split, work, False)
