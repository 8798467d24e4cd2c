"""Cluster-pair list and its energy/force kernel (prototype; docs/engine.md, issue 24).

What: the pair loop of GROMACS's cluster-pair scheme (S. Páll and B. Hess, "A flexible
algorithm for calculating pair interactions on SIMD architectures", Comput. Phys. Commun.
184, 2641 (2013)) for the shifted-force Kob–Andersen mixture. The particles are sorted into
columns of the x–y plane (edge ~ (4 / ρ)^(1/3)), by z within a column, and cut into
*j-clusters* of :data:`CJ` = 8 consecutive particles of one column and one copy (a column is
padded with far-away dummy slots to a multiple of 8); each j-cluster's halves are the
*i-clusters* of :data:`CI` = 4. The list holds, per i-cluster, the (j-cluster, periodic
shift) pairs whose bounding boxes (of the wrapped positions at the build) are closer than
r_list = r_c + skin, each unordered particle pair once: j-cluster index above the i-cluster's
own, or its own with the zero shift (then only lanes after the i particle's own slot) or a
shift whose first non-zero component is positive.

The kernel copies the positions into per-slot rows (structure of arrays, the build's image
offset taken off, so that the stored shift stays the right image while no particle moved more
than skin / 2), then for each listed cluster pair computes all 4 × 8 interactions with
fixed-length inner loops of 8 lanes (one AVX-512 register; two AVX2 ones) without a branch:
the lanes beyond r_c (and the dummy slots, the masked self pairs) get t = 1 / r² = 0, hence a
zero force and a masked energy. The i forces accumulate in 8-lane scratch rows (summed lane by
lane in a fixed order at the end of the i-cluster), the j forces straight into the slot rows.

Why (tried for issue 24): the Verlet half-list loop as it was then spent most of its time
compacting each particle's in-range neighbours into lanes (a scalar gather) and in short
scalar epilogues; here every loop has the fixed trip count 8 and contiguous loads,
trading ~7× more pair candidates (~210 lanes per particle against ~30 listed pairs: r_c = 1.8 is
under two particle spacings, so a cluster's bounding box is large against r_list) for SIMD on
all of them: measured 1.9× slower than the Verlet-list loop before its masked lanes and 2.7×
slower than since (benchmarks/bench_clusters.py); kept as a measured prototype.

Contract: no fast-math; every sum runs in a fixed order (the same bits run to run); the pair
terms are those of :func:`tlsviz.engine.potential._pair` (other summation order, ≈1e-13
relative). The list is valid while no particle moved more than skin / 2 since the build
(the caller checks it, as for the Verlet list). Needs r_list < L / 2.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

#: Particles per j-cluster (the SIMD width of the inner loop: 8 doubles, one AVX-512 register).
CJ = 8
#: Particles per i-cluster (half a j-cluster).
CI = 4
#: Coordinate of the dummy slots (far from the box and from each other: no interaction).
_FAR = 1.0e6


class ClusterList(NamedTuple):
    """A cluster-pair list (:func:`_new_cluster_list`).

    Attributes
    ----------
    slot : (N,) int64
        The slot of each particle (slots 8J … 8J + 7 form j-cluster J).
    img : (N, 3) float64
        The image offset L·floor(x / L) of each particle at the build, taken off its position
        when it is copied into its slot.
    start : (n_i + 1,) int64
        Entries of i-cluster I (slots 4I … 4I + 3): ``cj[start[I]:start[I + 1]]``.
    cj : (n_entries,) int64
        The j-cluster of each entry.
    shift : (n_entries, 3) float64
        The periodic shift s·L of each entry: pair vector x_i − (x_j + shift).
    lim : (n_entries,) int64
        −CJ, or for the self entry (own j-cluster, zero shift) the i-cluster's first slot within
        the j-cluster (0 or 4): then lane l counts for row p only when l > lim + p.
    rec : (n_j · REC,) float64
        One record per j-cluster (offsets _X … _KB below): its slots' positions (the dummy
        slots at :data:`_FAR` + 10·slot, written at the build), forces (scratch) and the pair
        constants seen by an i particle of type A and of type B (zeros for the dummies).
    ti : (n_slots,) int64
        Type of each slot (0 for the dummies).
    acc : (4 · 4 · 8,) float64
        Scratch of an i-cluster: per row p, the x, y, z force lanes and the energy lanes
        (8 each, from 32p on).
    lanes : (1,) int64
        [CJ]: the inner loop's trip count, read at run time. Why: LLVM does not vectorize a
        loop of a known trip count below 16 that needs run-time alias checks (here between
        ``rec`` and ``acc``).
    """

    slot: np.ndarray
    img: np.ndarray
    start: np.ndarray
    cj: np.ndarray
    shift: np.ndarray
    lim: np.ndarray
    rec: np.ndarray
    ti: np.ndarray
    acc: np.ndarray
    lanes: np.ndarray


@njit(cache=True, nogil=True)
def _columns_per_edge(box, density):
    """Columns per box edge: edge ≈ (4 / ρ)^(1/3), an i-cluster about as tall as wide."""
    return max(1, int(np.floor(box / (4.0 / density) ** (1.0 / 3.0) + 0.5)))


@njit(cache=True, nogil=True)
def _new_cluster_list(x, types, group, box, c12, c6, a, b, r_list, density):
    """The :class:`ClusterList` of x (N, 3) for pairs closer than r_list (module docstring).
    Raises ValueError when 2 r_list ≥ L."""
    if not 2.0 * r_list < box:
        raise ValueError("a cluster-pair list needs r_c + skin < L / 2")
    n = x.shape[0]
    nxy = _columns_per_edge(box, density)
    h = box / nxy
    inv_box = 1.0 / box
    w = np.empty((n, 3))
    img = np.empty((n, 3))
    col = np.empty(n, dtype=np.int64)
    gmax = 0
    for i in range(n):
        for k in range(3):
            s = np.floor(x[i, k] * inv_box)
            img[i, k] = s * box
            w[i, k] = x[i, k] - s * box
            if w[i, k] >= box:  # rounding
                w[i, k] -= box
                img[i, k] += box
        cx = min(int(w[i, 0] / h), nxy - 1)
        cy = min(int(w[i, 1] / h), nxy - 1)
        col[i] = cx * nxy + cy
        gmax = max(gmax, group[i])
    ncol = nxy * nxy
    # slots: each (copy, column) bin a run padded to a multiple of CJ, its particles by z
    # (a counting sort into the bins, then insertion by z within each: quick to compile,
    # unlike np.argsort)
    bins = (gmax + 1) * ncol
    count = np.zeros(bins, dtype=np.int64)
    for i in range(n):
        count[group[i] * ncol + col[i]] += 1
    first = np.zeros(bins + 1, dtype=np.int64)  # first slot of each bin
    for c in range(bins):
        first[c + 1] = first[c] + (count[c] + CJ - 1) // CJ * CJ
    n_slots = first[bins]
    n_j = n_slots // CJ
    owner = -np.ones(n_slots, dtype=np.int64)
    fill = first[:-1].copy()
    for i in range(n):
        c = group[i] * ncol + col[i]
        p = fill[c]
        while p > first[c] and w[owner[p - 1], 2] > w[i, 2]:
            owner[p] = owner[p - 1]
            p -= 1
        owner[p] = i
        fill[c] += 1
    slot = np.empty(n, dtype=np.int64)
    for sl in range(n_slots):
        if owner[sl] >= 0:
            slot[owner[sl]] = sl
    # per j-cluster: its bin (column, copy) and bounding box; per i-cluster: its bounding box
    jbin = np.empty(n_j, dtype=np.int64)
    for c in range(bins):
        for jc in range(first[c] // CJ, first[c + 1] // CJ):
            jbin[jc] = c
    n_i = n_slots // CI
    lo = np.full((n_i, 3), np.inf)
    hi = np.full((n_i, 3), -np.inf)
    for i in range(n):
        ic = slot[i] // CI
        for k in range(3):
            lo[ic, k] = min(lo[ic, k], w[i, k])
            hi[ic, k] = max(hi[ic, k], w[i, k])
    jlo = np.full((n_j, 3), np.inf)
    jhi = np.full((n_j, 3), -np.inf)
    for jc in range(n_j):
        for k in range(3):
            jlo[jc, k] = min(lo[2 * jc, k], lo[2 * jc + 1, k])
            jhi[jc, k] = max(hi[2 * jc, k], hi[2 * jc + 1, k])
    # entries: for each i-cluster, columns within reach (each (column, image) once), j-clusters
    # of its copy in them, every z image, bounding boxes closer than r_list
    rl2 = r_list * r_list
    reach = int(np.ceil(r_list / h))
    cap = n_i * 16 + 64
    start = np.zeros(n_i + 1, dtype=np.int64)
    cj = np.empty(cap, dtype=np.int64)
    shift = np.empty((cap, 3))
    lim = np.empty(cap, dtype=np.int64)
    m = 0
    for ic in range(n_i):
        start[ic] = m
        if lo[ic, 0] == np.inf:  # dummies only
            continue
        own = ic // 2
        c_own = jbin[own]
        g = c_own // ncol
        cc = c_own - g * ncol
        cx = cc // nxy
        cy = cc - cx * nxy
        for ox in range(-reach, reach + 1):
            ax = cx + ox
            px = ax % nxy
            sx = (ax - px) // nxy  # image of that column
            for oy in range(-reach, reach + 1):
                ay = cy + oy
                py = ay % nxy
                sy = (ay - py) // nxy
                c = g * ncol + px * nxy + py
                for jc in range(first[c] // CJ, first[c + 1] // CJ):
                    if jc < own:
                        continue
                    for sz in range(-1, 2):
                        sh0 = sx * box
                        sh1 = sy * box
                        sh2 = sz * box
                        d2 = 0.0
                        for k in range(3):
                            shk = sh0 if k == 0 else (sh1 if k == 1 else sh2)
                            gap = max(max(jlo[jc, k] + shk - hi[ic, k], lo[ic, k] - jhi[jc, k] - shk), 0.0)
                            d2 += gap * gap
                        if d2 >= rl2:
                            continue
                        self_entry = jc == own and sx == 0 and sy == 0 and sz == 0
                        if jc == own and not self_entry:
                            # own cluster through an image: only shifts whose first non-zero
                            # component is positive (the other sign is the same pairs)
                            first_nz = sx if sx != 0 else (sy if sy != 0 else sz)
                            if first_nz < 0:
                                continue
                        if m == cap:
                            cap *= 2
                            cj2 = np.empty(cap, dtype=np.int64)
                            cj2[:m] = cj[:m]
                            cj = cj2
                            sh2a = np.empty((cap, 3))
                            sh2a[:m] = shift[:m]
                            shift = sh2a
                            lim2 = np.empty(cap, dtype=np.int64)
                            lim2[:m] = lim[:m]
                            lim = lim2
                        cj[m] = jc
                        shift[m, 0] = sh0
                        shift[m, 1] = sh1
                        shift[m, 2] = sh2
                        lim[m] = (ic - 2 * own) * CI if self_entry else -CJ
                        m += 1
    start[n_i] = m
    rec = np.zeros(n_j * REC)
    ti = np.zeros(n_slots, dtype=np.int64)
    for sl in range(n_slots):
        i = owner[sl]
        o = sl // CJ * REC + sl % CJ
        if i < 0:
            for k in range(3):
                rec[o + k * CJ] = _FAR + 10.0 * sl
            continue
        tj = types[i]
        ti[sl] = tj
        for t in range(2):
            kt = o + (6 + 6 * t) * CJ
            rec[kt] = 12.0 * c12[t, tj]
            rec[kt + CJ] = 6.0 * c6[t, tj]
            rec[kt + 2 * CJ] = b[t, tj]
            rec[kt + 3 * CJ] = c12[t, tj]
            rec[kt + 4 * CJ] = c6[t, tj]
            rec[kt + 5 * CJ] = a[t, tj]
    return ClusterList(slot, img, start, cj[:m].copy(), shift[:m].copy(), lim[:m].copy(), rec, ti,
                       np.zeros(4 * CI * CJ), np.array([CJ]))


# Offsets in a j-cluster's record of the slot array (:class:`ClusterList` ``rec``): positions,
# forces, then the pair constants seen by an i particle of type A (_KA) and of type B (_KB):
# 12·c12, 6·c6, b, c12, c6, a, 8 lanes each. Unsigned compile-time constants: LLVM sees fixed
# distances between the rows of one array (no aliasing to rule out at run time, which kept the
# inner loop scalar when the rows were separate arrays).
_X, _Y, _Z, _FX, _FY, _FZ = (np.uint64(k * CJ) for k in range(6))
_KA = np.uint64(6 * CJ)
_KB = np.uint64(12 * CJ)
_K12, _K6, _KBB, _C12, _C6, _CA = (np.uint64(k * CJ) for k in range(6))
#: Doubles per j-cluster record.
REC = 18 * CJ


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _cluster_pair(rec, acc, up, kt, xi0, xi1, xi2, base, lim, rc2, lanes, need_energy):
    """Row p of one cluster pair (i particle at xi, pair constants at record offset kt: _KA or
    _KB, a literal): the 8 lanes of the j-cluster whose record starts at ``base``, forces added
    into acc[up … up + 7] (x), [up + 8 …] (y), [up + 16 …] (z) and taken off the record's
    forces, the masked energies into acc[up + 24 …] when ``need_energy`` (a literal). Lane l
    counts when r² < r_c² and l > lim (the self entry's half list; lim < 0 otherwise)."""
    for ll in range(lanes):
        l = np.uint64(ll)
        j = base + l
        d0 = xi0 - rec[j + _X]
        d1 = xi1 - rec[j + _Y]
        d2 = xi2 - rec[j + _Z]
        r2 = d0 * d0 + d1 * d1 + d2 * d2
        t = 1.0 / r2
        t = t if (r2 < rc2) & (ll > lim) else 0.0
        inv_r = np.sqrt(t)
        t3 = t * t * t
        kb = rec[j + kt + _KBB]
        fr = (rec[j + kt + _K12] * t3 - rec[j + kt + _K6]) * t3 * t - kb * inv_r
        g0 = fr * d0
        g1 = fr * d1
        g2 = fr * d2
        acc[up + l] += g0
        acc[up + np.uint64(CJ) + l] += g1
        acc[up + np.uint64(2 * CJ) + l] += g2
        rec[j + _FX] -= g0
        rec[j + _FY] -= g1
        rec[j + _FZ] -= g2
        if need_energy:
            ee = (rec[j + kt + _C12] * t3 - rec[j + kt + _C6]) * t3 + rec[j + kt + _CA] + kb * r2 * inv_r
            acc[up + np.uint64(3 * CJ) + l] += ee if t > 0.0 else 0.0


@njit(cache=True, nogil=True, error_model="numpy")
def _cluster_forces(x, f, rc2, cl, need_energy):
    """Energy of x (N, 3) over the cluster-pair list cl and the forces into f (N, 3), on one
    thread. ``need_energy`` a literal bool: False skips the energies and returns 0. The
    caller keeps cl valid (no particle moved more than skin / 2 since its build)."""
    slot, img, rec, ti, acc = cl.slot, cl.img, cl.rec, cl.ti, cl.acc
    start, cj, shift, lim = cl.start, cl.cj, cl.shift, cl.lim
    n = x.shape[0]
    n_j = rec.shape[0] // REC
    lanes = cl.lanes[0]
    for jc in range(n_j):
        for k in range(3 * CJ):
            rec[jc * REC + 3 * CJ + k] = 0.0
    for i in range(n):
        s = slot[i]
        o = s // CJ * REC + s % CJ
        rec[o] = x[i, 0] - img[i, 0]
        rec[o + CJ] = x[i, 1] - img[i, 1]
        rec[o + 2 * CJ] = x[i, 2] - img[i, 2]
    e = 0.0
    n_i = start.shape[0] - 1
    for ic in range(n_i):
        e0 = start[ic]
        e1 = start[ic + 1]
        if e1 == e0:
            continue
        acc[:] = 0.0
        s0 = ic * CI
        o0 = s0 // CJ * REC + s0 % CJ
        for q in range(e0, e1):
            base = np.uint64(cj[q] * REC)
            sh0 = shift[q, 0]
            sh1 = shift[q, 1]
            sh2 = shift[q, 2]
            lq = lim[q]
            for p in range(CI):
                o = o0 + p
                up = np.uint64(p * 4 * CJ)
                xi0 = rec[o] - sh0
                xi1 = rec[o + CJ] - sh1
                xi2 = rec[o + 2 * CJ] - sh2
                if ti[s0 + p] == 0:
                    _cluster_pair(rec, acc, up, _KA, xi0, xi1, xi2, base, lq + p, rc2, lanes, need_energy)
                else:
                    _cluster_pair(rec, acc, up, _KB, xi0, xi1, xi2, base, lq + p, rc2, lanes, need_energy)
        for p in range(CI):
            o = o0 + p
            u = p * 4 * CJ
            g0 = 0.0
            g1 = 0.0
            g2 = 0.0
            for ll in range(CJ):
                g0 += acc[u + ll]
                g1 += acc[u + CJ + ll]
                g2 += acc[u + 2 * CJ + ll]
            rec[o + 3 * CJ] += g0
            rec[o + 4 * CJ] += g1
            rec[o + 5 * CJ] += g2
            if need_energy:
                for ll in range(CJ):
                    e += acc[u + 3 * CJ + ll]
    for i in range(n):
        s = slot[i]
        o = s // CJ * REC + s % CJ
        f[i, 0] = rec[o + 3 * CJ]
        f[i, 1] = rec[o + 4 * CJ]
        f[i, 2] = rec[o + 5 * CJ]
    return e
