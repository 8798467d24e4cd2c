"""Neighbour lists and the one pair loop over them (docs/engine.md).

A neighbour list here is a half list in compressed rows: each pair is listed once, under the
one of its two particles that comes first in the build's cell order (:func:`_sorted_cells`; by
index within a cell, so under the lower index when the arrays are in cell order, as compiled
runs sort them). Particle i's neighbours are ``nbr[start[i]:start[i + 1]]``, those of type A
first, then those of type B, each split into the pairs whose plain difference x_i − x_j is
the minimum image and those that need a box shift (``split[i]``, (N, 3): where the last three
runs start), each run in increasing index. Every Verlet list (pairs closer than r_c + skin,
kept while no particle has moved more than skin / 2), and the inner list of a dual list pruned
from it (:func:`_prune_pairs`, the pairs closer than r_c + margin), feeds the same loop,
:func:`_pair_forces`; single evaluations from cells and the all-pairs kernels of small boxes
have kernels of their own (:mod:`tlsviz.engine.potential`).

The loop takes each particle's neighbours in three passes over scratch rows, all of its
listed pairs in SIMD lanes, those beyond r_c masked (issue 24): the pair vectors of its four
runs (a plain gather of the neighbours' positions, contiguous in ``nbr``) into lanes 0 … m − 1,
padded with zeros to a multiple of 8; then one branch-free loop over those lanes (minimum
image, t = 1 / r² or 0 beyond r_c and for the pads, each lane's pair constants chosen by its
neighbour type), which LLVM vectorises whole (8-lane AVX-512 vectors, no scalar remainder);
then one pass summing them into f in lane order. The loop before it kept only the pairs within
r_c in the first pass (a compaction) and ran one force loop per neighbour type (~12 and ~3
lanes: mostly the scalar remainder of the vector loop); the masked lanes compute ~2× the pairs
and still cost 1.4× less (CPU time per evaluation, benchmarks/bench_clusters.py: N = 260
40.1 → 27.7 µs, N = 2000 301 → 216 µs, N = 8000 1282 → 921 µs; docs/engine.md). The masked
lanes add exact zeros, so for finite positions the results are the same bits as before
(tests/test_pair_loop.py; a NaN position now makes NaN forces, where the compaction dropped
its pairs). No fast-math: the pair terms are the same bits as
:func:`tlsviz.engine.potential._pair`, and every sum runs in a fixed order.

Threads (:func:`_pair_forces_threads`): the particles are cut into as many contiguous chunks
as the pool has rows, each with about the same share of the list (:func:`_balanced_chunks`);
each chunk adds its pair forces into its own force array (so no two threads write to one
place), and these are summed in chunk order. The result depends on the number of chunks and
the list only, never on the scheduling: a fixed thread count gives the same bits run to run,
and one chunk gives the bits of :func:`_pair_forces`. With more chunks a force is the
same pair terms summed in another order.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

#: The most neighbours one particle may have in one run of the list (at density 1.2 and
#: r_c + skin = 2.3 a particle has ~61 neighbours in all, ~30 in a half list).
RUN = 512
#: Length of a scratch row of the pair loop: one particle's four runs (and the pad lanes up to a
#: multiple of 8), plus a few lanes so that the rows are not 4 KiB apart (a store to one row and
#: a load from another 4 KiB further stall each other, "4K aliasing").
ROW = 4 * RUN + 24
#: Scratch rows of :func:`_pair_forces` (one flat array of N_ROWS · ROW doubles): pair vector
#: (3), pair force (3), pair energy.
N_ROWS = 7
#: The error of a list build asked for pairs up to r_list ≥ L / 2, which the minimum image
#: cannot give (a pair could then count through two images).
_TOO_LONG = ("a Verlet list needs r_c + skin < L / 2: this box is too small for the list asked; use a smaller "
             "skin, or the all-pairs kernel (KobAndersen(neighbor='all-pairs'))")
#: The error of a list build that finds a particle with a NaN position or more than :data:`RUN`
#: neighbours of one kind.
_CROWDED = ("a particle has a NaN position or more than 512 neighbours of one kind: the run blew up (time "
            "step too long?) or particles overlap")


@njit(cache=True, nogil=True)
def _list_capacity(n, r_list, density):
    """Room for the half list of n particles at this number density: 1.5 times the mean
    number of pairs within r_list, plus a margin."""
    return int(1.5 * n * 0.5 * density * 4.0 / 3.0 * np.pi * r_list ** 3) + 1000


@njit(cache=True, nogil=True)
def _grid(box, r_list):
    """Cells per box edge of the list build's grid (:func:`_sorted_cells`): cells of edge
    box / nc ≥ r_list (at least one cell). Each particle visits only the cells that its
    r_list sphere touches (2–3 per axis), row by row (:func:`_particle_runs`). Finer cells
    cut the candidates (the sphere swept over cells of edge r_list / k) but visit more, shorter
    rows, which cost more than the candidates they save. Measured (CPU time, best of 7,
    shared 2-core machine at load 5; ms per build at N = 2000 / 8000 / 32 000, T = 0.5
    snapshot or a jiggled lattice, particles in cell order): edge r_list 1.39 / 4.99 / 18.3,
    r_list / 2 2.71 / 11.3 / 54.6, r_list / 3 3.81 / 18.3 / 62.0, r_list / 4 4.79 / 24.0 /
    75.5; the former build (cells of edge r_list, all 27 around, candidates in index order,
    j > i by index) 3.10 / 11.6 / 65.4. The same choice at every size. Needs r_list < L / 2,
    as every Verlet list does: then nc ≥ 2 and the cells searched around a particle lie
    within one box of it (:func:`_wrap_cell`)."""
    return max(1, int(np.floor(box / r_list)))


@njit(cache=True, nogil=True)
def _sorted_cells(x, group, box, nc):
    """The particles in cell order, for the list build. Positions wrapped into [0, L)
    (``w``, (N, 3), in the caller's order), binned into nc³ cells of edge h = L / nc, then
    sorted by cell (cell (a, b, c) is number (a·nc + b)·nc + c; in a cell, by index). Returns
    (w, ws, idx, gs, pos, first): ws (3, N) the wrapped positions in cell order (one row per
    axis, so that a run of candidates is contiguous), idx and gs the index and copy of each,
    ``pos[i]`` where particle i stands in that order, and ``first`` (nc³ + 1,) where each
    cell's particles start."""
    n = x.shape[0]
    inv_box = 1.0 / box
    w = np.empty((n, 3))
    cell = np.empty(n, dtype=np.int64)
    first = np.zeros(nc * nc * nc + 1, dtype=np.int64)
    for i in range(n):
        c = 0
        for k in range(3):
            s = x[i, k] * inv_box
            s -= np.floor(s)
            w[i, k] = s * box
            q = s * nc
            a = int(q) if q > 0.0 else 0  # NaN (a particle gone off) into cell 0: no index out of range
            c = c * nc + (a if a < nc else nc - 1)
        cell[i] = c
        first[c + 1] += 1
    for c in range(nc * nc * nc):
        first[c + 1] += first[c]
    fill = first[:-1].copy()
    ws = np.empty((3, n))
    idx = np.empty(n, dtype=np.int64)
    gs = np.empty(n, dtype=np.int64)
    pos = np.empty(n, dtype=np.int64)
    for i in range(n):
        p = fill[cell[i]]
        fill[cell[i]] += 1
        ws[0, p] = w[i, 0]
        ws[1, p] = w[i, 1]
        ws[2, p] = w[i, 2]
        idx[p] = i
        gs[p] = group[i]
        pos[i] = p
    return w, ws, idx, gs, pos, first


@njit(cache=True, nogil=True, inline="always")
def _gap(u, a, h):
    """Distance from coordinate u to the interval [a·h, (a + 1)·h) (0 inside)."""
    return max(max(a * h - u, u - (a + 1) * h), 0.0)


@njit(cache=True, nogil=True, inline="always")
def _wrap_cell(a, nc):
    """(a mod nc, the image: (a − a mod nc) / nc) for −nc ≤ a < 2 nc."""
    if a < 0:
        return a + nc, -1
    if a >= nc:
        return a - nc, 1
    return a, 0


@njit(cache=True, nogil=True, inline="always")
def _particle_runs(x, types, group, box, inv_box, rl2, i, w, ws, idx, gs, pos, first, nc, cand, keep, tmp, lens):
    """Particle i's neighbours (of its copy) closer than r_list and after it in cell order
    (position ``pos[i]`` of :func:`_sorted_cells`) into the four runs of ``tmp`` (lengths in
    ``lens``), each run in increasing index. Returns False, leaving the runs incomplete, when
    i's position is not finite or i has too many candidates (the caller raises: a raise in
    here would keep the threaded build's loop from running in parallel).

    The candidates: the particles of every cell that the sphere of radius r_list around i's
    wrapped position touches, visited row by row (a row: the cells of one (a, b) along the
    last axis, contiguous in cell order, cut in two where it wraps), each row's image shift
    taken off i's position once, from i's own place in cell order on. Two passes per row: the
    distance tests (contiguous, unsigned indices, so that LLVM vectorises them), then the
    compaction without a branch (each candidate written at the next free place of ``cand``,
    which advances when it is kept: below r_list plus a margin and of i's copy). The kept
    ones are then tested as the force loop sees them, on the caller's (possibly unwrapped)
    positions with the minimum image ``d − L·rint(d / L)``, so that the list holds exactly the
    pairs closer than r_list by that distance, whatever the grid."""
    r_list = np.sqrt(rl2)
    # a margin for the rounding of wrapped positions, but never beyond L / 2: a reach over half
    # the box would meet one particle through two images (the same cell visited from both
    # sides) and list the pair twice (KobAndersen clips the skin to r_list = L / 2 − 1e-6)
    reach = min(r_list + 1e-6 * (1.0 + r_list), 0.5 * box)
    reach2 = reach * reach
    h = box / nc
    inv_h = nc / box
    for r in range(4):  # a loop, not lens[:] = 0: inside a prange that would be a nested parallel loop
        lens[r] = 0
    gi = group[i]
    wi0, wi1, wi2 = w[i, 0], w[i, 1], w[i, 2]
    if not (np.isfinite(wi0) and np.isfinite(wi1) and np.isfinite(wi2)):
        return False  # a NaN position: no cells to search (the caller raises)
    room = cand.shape[0]
    ws0, ws1, ws2 = ws[0], ws[1], ws[2]
    after = pos[i] + 1
    m = 0
    ok = True
    for a0 in range(int(np.floor((wi0 - reach) * inv_h)), int(np.floor((wi0 + reach) * inv_h)) + 1):
        g0 = _gap(wi0, a0, h)
        rem0 = reach2 - g0 * g0
        p0, img0 = _wrap_cell(a0, nc)
        c0 = wi0 - box * img0
        for a1 in range(int(np.floor((wi1 - reach) * inv_h)), int(np.floor((wi1 + reach) * inv_h)) + 1):
            g1 = _gap(wi1, a1, h)
            rem1 = rem0 - g1 * g1
            if rem1 < 0.0:
                continue
            p1, img1 = _wrap_cell(a1, nc)
            c1 = wi1 - box * img1
            t = np.sqrt(rem1)
            a2 = int(np.floor((wi2 - t) * inv_h))
            hi2 = int(np.floor((wi2 + t) * inv_h))
            row = (p0 * nc + p1) * nc
            while a2 <= hi2:  # the row in up to three pieces that do not wrap
                p2, img = _wrap_cell(a2, nc)
                last = min(hi2, a2 - p2 + nc - 1)  # the piece's last cell
                c2 = wi2 - box * img
                k0 = max(first[row + p2], after)  # the half list: only those after i in cell order
                k1 = first[row + p2 + last - a2 + 1]
                k1 = max(k1, k0)
                if m + k1 - k0 > room:
                    ok = False
                    k1 = k0
                # two passes: the distance tests vectorise, the compaction does not
                # unsigned indices: numba's wrap-around of negative ones would stop the vectorising
                u0 = np.uint64(k0)
                for q in range(k1 - k0):
                    u = u0 + np.uint64(q)
                    d0 = c0 - ws0[u]
                    d1 = c1 - ws1[u]
                    d2 = c2 - ws2[u]
                    keep[np.uint64(q)] = (d0 * d0 + d1 * d1 + d2 * d2 < reach2) & (gs[u] == gi)
                for q in range(k1 - k0):
                    cand[np.uint64(m)] = idx[u0 + np.uint64(q)]
                    m += keep[np.uint64(q)]
                a2 = last + 1
    xi0, xi1, xi2 = x[i, 0], x[i, 1], x[i, 2]
    for q in range(m):
        j = cand[q]
        d0 = xi0 - x[j, 0]
        d1 = xi1 - x[j, 1]
        d2 = xi2 - x[j, 2]
        s0 = np.rint(d0 * inv_box)
        s1 = np.rint(d1 * inv_box)
        s2 = np.rint(d2 * inv_box)
        d0 -= box * s0
        d1 -= box * s1
        d2 -= box * s2
        if d0 * d0 + d1 * d1 + d2 * d2 < rl2:
            run = 2 * types[j] + (0 if (s0 == 0.0) & (s1 == 0.0) & (s2 == 0.0) else 1)
            p = lens[run]
            if p >= RUN:
                ok = False
            else:
                while p > 0 and tmp[run, p - 1] > j:  # insertion: the rows come nearly sorted
                    tmp[run, p] = tmp[run, p - 1]
                    p -= 1
                # met again through a second image: undo the shift (a backstop for rounding; with
                # reach ≤ L / 2 and 2 r_list < L two images cannot both pass the tests above)
                if p > 0 and tmp[run, p - 1] == j:
                    for q2 in range(p, lens[run]):
                        tmp[run, q2] = tmp[run, q2 + 1]
                else:
                    tmp[run, p] = j
                    lens[run] += 1
    return ok


@njit(cache=True, nogil=True, inline="always")
def _write_runs(i, tmp, lens, nbr, count, split):
    """Particle i's four runs from tmp into nbr from ``count`` on (split[i] ← where runs 1–3
    start); returns the new count."""
    for run in range(4):
        if run > 0:
            split[i, run - 1] = count
        for q in range(lens[run]):
            nbr[count] = tmp[run, q]
            count += 1
    return count


@njit(cache=True, nogil=True)
def _build_pairs(x, types, group, box, r_list, nbr, start, split):
    """Fill the half list (module docstring) with the pairs of one copy closer than r_list
    (minimum image), searched through cells (:func:`_grid`, :func:`_particle_runs`). Each
    particle's neighbours come in four runs, each in increasing index: type A whose plain
    difference x_i − x_j is the minimum image, type A that needs a box shift, then the same
    for type B; ``split[i]`` holds where the last three start. Returns False (the list
    incomplete) when ``nbr`` is too short; raises when a particle's position is NaN or it has
    more than :data:`RUN` neighbours in one run, and when 2 r_list ≥ L (the minimum image
    would miss pairs)."""
    return _build_pairs_grid(x, types, group, box, r_list, nbr, start, split, _grid(box, r_list))


@njit(cache=True, nogil=True)
def _build_pairs_grid(x, types, group, box, r_list, nbr, start, split, nc):
    """:func:`_build_pairs` on a grid of nc³ cells: every nc ≥ 1 lists the same pairs, each
    under the particle first in that grid's cell order (the grids other than :func:`_grid`'s
    are for measuring)."""
    if not 2.0 * r_list < box:
        raise ValueError(_TOO_LONG)
    n = x.shape[0]
    capacity = nbr.shape[0]
    inv_box = 1.0 / box
    w, ws, idx, gs, pos, first = _sorted_cells(x, group, box, nc)
    cand = np.empty(4 * RUN, dtype=np.int64)
    keep = np.empty(4 * RUN, dtype=np.int64)
    tmp = np.empty((4, RUN), dtype=np.int64)
    lens = np.zeros(4, dtype=np.int64)
    count = 0
    for i in range(n):
        start[i] = count
        if not _particle_runs(x, types, group, box, inv_box, r_list * r_list, i, w, ws, idx, gs, pos, first, nc, cand,
                              keep, tmp, lens):
            raise RuntimeError(_CROWDED)
        if count + lens[0] + lens[1] + lens[2] + lens[3] > capacity:
            return False
        count = _write_runs(i, tmp, lens, nbr, count, split)
    start[n] = count
    return True


@njit(cache=True, nogil=True, parallel=True)
def _build_pairs_threads(x, types, group, box, r_list, nbr, start, split, bufs):
    """:func:`_build_pairs` on numba's threads: as many contiguous ranges of particles as
    ``bufs`` (chunks, room) has rows each write their runs into a row of their own, then into
    nbr at their offset. The same list, bit for bit. The ranges are cut by the list that
    ``start`` holds on entry (the last build's, on a rebuild: :func:`_balanced_chunks`), since
    a particle early in cell order both holds more pairs and scans more candidates; equal
    numbers of particles when it holds none. Rows shorter than nbr are replaced by new ones
    (a chunk may hold most pairs); ``bufs`` from :func:`new_pool` lives as long as a run, so
    that its rebuilds do not each allocate and fault in new pages (at N = 8000 on two threads
    that was 9 % of a rebuild)."""
    if not 2.0 * r_list < box:
        raise ValueError(_TOO_LONG)
    n = x.shape[0]
    chunks = bufs.shape[0]
    bounds = _balanced_chunks(start, chunks)
    inv_box = 1.0 / box
    nc = _grid(box, r_list)
    w, ws, idx, gs, pos, first = _sorted_cells(x, group, box, nc)
    room = nbr.shape[0]  # a chunk may hold most pairs (the first in cell order hold more)
    if bufs.shape[1] < room:
        bufs = np.empty((chunks, room), dtype=np.int32)
    used = np.zeros(chunks + 1, dtype=np.int64)
    # per chunk: 0 done, 1 out of room (the list grows), 2 a crowded particle (raised after
    # the loop: a raise or a break in the body keeps numba from running the loop in parallel)
    status = np.zeros(chunks, dtype=np.int64)
    for c in prange(chunks):
        cand = np.empty(4 * RUN, dtype=np.int64)
        keep = np.empty(4 * RUN, dtype=np.int64)
        tmp = np.empty((4, RUN), dtype=np.int64)
        lens = np.empty(4, dtype=np.int64)
        buf = bufs[c]
        count = 0
        for i in range(bounds[c], bounds[c + 1]):
            if status[c] == 0:
                start[i] = count  # relative to the chunk; shifted below
                if not _particle_runs(x, types, group, box, inv_box, r_list * r_list, i, w, ws, idx, gs, pos, first, nc,
                                      cand, keep, tmp, lens):
                    status[c] = 2
                elif count + lens[0] + lens[1] + lens[2] + lens[3] > room:
                    status[c] = 1
                else:
                    count = _write_runs(i, tmp, lens, buf, count, split)
        used[c + 1] = count
    for c in range(chunks):
        if status[c] == 2:
            raise RuntimeError(_CROWDED)
    for c in range(chunks):
        if status[c] == 1:
            return False
        used[c + 1] += used[c]
    if used[chunks] > nbr.shape[0]:
        return False
    for c in prange(chunks):
        _place_chunk(bufs[c], 0, nbr, used[c], used[c + 1], start, split, bounds[c], bounds[c + 1])
    start[n] = used[chunks]
    return True


@njit(cache=True, nogil=True, inline="always")
def _place_chunk(src, src_lo, nbr, lo, hi, start, split, i_lo, i_hi):
    """The last step of a threaded build or pruning, for one chunk: its pairs, written from
    ``src[src_lo]`` on, into ``nbr[lo:hi]``, and the offsets ``start``, ``split`` of its
    particles [i_lo, i_hi), written relative to ``src``, shifted to match."""
    shift = lo - src_lo
    for q in range(hi - lo):
        nbr[lo + q] = src[src_lo + q]
    for i in range(i_lo, i_hi):
        start[i] += shift
        for k in range(3):
            split[i, k] += shift


@njit(cache=True, nogil=True)
def _new_pairs(x, types, group, box, r_list, density, pool=None):
    """(nbr, start, split) of a fresh half list of the pairs closer than r_list, the arrays
    grown until the list fits; built on numba's threads with a ``pool`` (:func:`new_pool`),
    the same list."""
    n = x.shape[0]
    capacity = _list_capacity(n, r_list, density)
    start = np.zeros(n + 1, dtype=np.int64)
    split = np.zeros((n, 3), dtype=np.int64)
    while True:
        nbr = np.empty(capacity, dtype=np.int32)
        if pool is None:
            ok = _build_pairs(x, types, group, box, r_list, nbr, start, split)
        else:
            ok = _build_pairs_threads(x, types, group, box, r_list, nbr, start, split, pool[2])
        if ok:
            return nbr, start, split
        capacity *= 2


@njit(cache=True, nogil=True, inline="always")
def _prune_range(x, box, rin2, nbr, start, split, i_lo, i_hi, out, count, pstart, psplit, keep):
    """The pairs of particles i in [i_lo, i_hi) of the half list (nbr, start, split) that are
    closer than r_in (minimum image, the distance the force loop computes), written into
    ``out`` from ``count`` on, each run kept in its order; pstart[i] and psplit[i] ← where
    i's runs start there. Returns the new count. Per particle two passes, as in the list build:
    the distance tests of all its pairs into ``keep`` (a gather and no branch: LLVM vectorises
    it), then the compaction, also without a branch (each pair written at the next free place,
    which advances when it is kept; ``out`` needs one place beyond the last pair kept, and the
    caller's is as long as nbr)."""
    inv_box = 1.0 / box
    for i in range(i_lo, i_hi):
        xi0, xi1, xi2 = x[i, 0], x[i, 1], x[i, 2]
        lo = start[i]
        ulo = np.uint64(lo)
        for q in range(start[i + 1] - lo):
            uq = np.uint64(q)
            j = np.uint64(nbr[ulo + uq])
            d0 = xi0 - x[j, 0]
            d1 = xi1 - x[j, 1]
            d2 = xi2 - x[j, 2]
            d0 -= box * np.rint(d0 * inv_box)
            d1 -= box * np.rint(d1 * inv_box)
            d2 -= box * np.rint(d2 * inv_box)
            # not (r² ≥ r_in²): a NaN distance is kept, so NaN positions make NaN forces as without pruning
            keep[uq] = not (d0 * d0 + d1 * d1 + d2 * d2 >= rin2)
        pstart[i] = count
        for run in range(4):
            if run > 0:
                psplit[i, run - 1] = count
            r_lo = lo if run == 0 else split[i, run - 1]
            r_hi = split[i, run] if run < 3 else start[i + 1]
            uc = np.uint64(count)
            for q in range(r_hi - r_lo):
                u = np.uint64(r_lo - lo + q)
                out[uc] = nbr[ulo + u]
                uc += np.uint64(keep[u])
            count = np.int64(uc)
    return count


@njit(cache=True, nogil=True)
def _prune_pairs(x, box, r_in, nbr, start, split, pnbr, pstart, psplit):
    """The inner list of a dual pair list (docs/engine.md): from the half list (nbr, start,
    split) of the pairs closer than r_list, those closer than r_in < r_list at x, into
    (pnbr, pstart, psplit) in the same layout (module docstring), each pair under the same
    particle and in the same place of its run. Why: the force loop then runs over ~r_in³ /
    r_list³ of the lanes, and while the pairs it leaves out are beyond r_c
    (:func:`tlsviz.engine.potential._refresh_neighbor_list` says when to prune again), their
    lanes would add exact zeros: the forces and energy are the same bits as over the whole
    list."""
    keep = np.empty(4 * RUN, dtype=np.int64)
    pstart[x.shape[0]] = _prune_range(x, box, r_in * r_in, nbr, start, split, 0, x.shape[0], pnbr, 0, pstart, psplit,
                                      keep)


@njit(cache=True, nogil=True, parallel=True)
def _prune_pairs_threads(x, box, r_in, nbr, start, split, pnbr, pstart, psplit, buf, chunks):
    """:func:`_prune_pairs` on numba's threads: ``chunks`` contiguous ranges of particles (cut
    by the list's offsets, :func:`_balanced_chunks`: a particle's cost is its listed pairs) each
    compact their pairs into their own stretch of ``buf`` (as long as nbr: a range's pairs
    kept fit in the stretch its pairs take in nbr), then into pnbr at their offset. The same
    list, bit for bit."""
    n = x.shape[0]
    rin2 = r_in * r_in
    bounds = _balanced_chunks(start, chunks)
    used = np.zeros(chunks + 1, dtype=np.int64)
    for c in prange(chunks):
        keep = np.empty(4 * RUN, dtype=np.int64)
        lo = start[bounds[c]]
        used[c + 1] = _prune_range(x, box, rin2, nbr, start, split, bounds[c], bounds[c + 1], buf, lo, pstart,
                                   psplit, keep) - lo
    for c in range(chunks):
        used[c + 1] += used[c]
    for c in prange(chunks):
        _place_chunk(buf, start[bounds[c]], pnbr, used[c], used[c + 1], pstart, psplit, bounds[c], bounds[c + 1])
    pstart[n] = used[chunks]


# Scratch rows of the pair loop (unsigned compile-time offsets into one flat array: LLVM sees
# fixed distances between them and adds no run-time alias checks): pair vectors, pair forces,
# pair energies.
_D0, _D1, _D2, _G0, _G1, _G2, _E = (np.uint64(k * ROW) for k in range(N_ROWS))


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _lanes(work, m, m8, m_a, box, inv_box, rc2, k12a, k6a, ba, c12a, c6a, aa, k12b, k6b, bb, c12b, c6b, ab,
           need_energy):
    """Second pass: lanes [0, m8) of ``work``, m8 a multiple of 8 (lanes < m_a: A neighbours,
    m_a … m − 1: B, ≥ m: pads), with no branch, so that LLVM vectorises it whole (8-lane
    AVX-512 vectors, the last one masked: no scalar remainder). The minimum image on every
    lane (for the runs whose plain difference is already the minimum image it changes nothing:
    d − L·0 = d exactly); t = 1 / r², or 0 beyond r_c and for the pads (zero force); the pair
    constants of each lane chosen by its type (k12 = 12·c12, k6 = 6·c6); pair forces into rows
    G and, when ``need_energy`` (a literal), the energies (0 where t = 0) into row E. The same
    operations as :func:`tlsviz.engine.potential._pair`."""
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
def _range_forces(x, f, i_lo, i_hi, types, box, rc2, c12, c6, a, b, nbr, start, split, work, need_energy):
    """The pairs of the particles i in [i_lo, i_hi) (with their listed neighbours), forces
    added into f; returns their energy (0 unless ``need_energy``, a literal). Per particle
    (module docstring): its m listed pair vectors gathered into lanes 0 … m − 1 (pads up to a
    multiple of 8 set to 0), the forces of all lanes (:func:`_lanes`), then one pass that sums
    them into f[i] and takes them off f[j] in lane order. Unsigned indices: numba's
    wrap-around of negative ones cost ~10 % of the loop."""
    inv_box = 1.0 / box
    e = 0.0
    for i in range(i_lo, i_hi):
        ti = types[i]
        xi0, xi1, xi2 = x[i, 0], x[i, 1], x[i, 2]
        lo = start[i]
        ulo = np.uint64(lo)
        m = start[i + 1] - lo
        m_a = split[i, 1] - lo
        m8 = (m + 7) // 8 * 8
        for q in range(m):
            uq = np.uint64(q)
            j = np.uint64(nbr[ulo + uq])
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
            uq = np.uint64(q)
            j = np.uint64(nbr[ulo + uq])
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
def _pair_forces(x, f, model, nbr, start, split, work, need_energy):
    """Energy of x (N, 3) over the half list (module docstring) and the forces into f (N, 3),
    on one thread. ``work`` (:data:`N_ROWS` · :data:`ROW`,) scratch. ``need_energy`` a literal
    bool: False skips the pair energies and returns 0. The caller keeps the list valid (every
    pair closer than r_c in it)."""
    f[:] = 0.0
    if need_energy:
        return _range_forces(x, f, 0, x.shape[0], model.types, model.box, model.rc2, model.c12, model.c6,
                             model.a, model.b, nbr, start, split, work, True)
    return _range_forces(x, f, 0, x.shape[0], model.types, model.box, model.rc2, model.c12, model.c6,
                         model.a, model.b, nbr, start, split, work, False)


#: The cost of a particle in the pair loop besides its listed pairs, in listed pairs (its gather
#: and sum set-up, the pad lanes up to a multiple of 8): for :func:`_balanced_chunks`.
PARTICLE_COST = 4


@njit(cache=True, nogil=True)
def _balanced_chunks(start, chunks):
    """Where the ``chunks`` contiguous ranges of particles of the threaded pair loop (and list
    build, :func:`_build_pairs_threads`) start ((chunks + 1,), the last N): cut so that each
    holds about the same share of listed pairs plus :data:`PARTICLE_COST` per particle. Why:
    the half list puts each pair under the particle first in cell order, so the first
    particles hold more pairs (at N = 2000 the first half 59 % of the list, at 16 000 54 %),
    and equal numbers of particles left one thread waiting for the other. The cut depends on
    the list only, so a fixed thread count still gives the same bits run to run."""
    n = start.shape[0] - 1
    total = start[n] + PARTICLE_COST * n
    bounds = np.empty(chunks + 1, dtype=np.int64)
    bounds[0] = 0
    i = 0
    for c in range(1, chunks):
        target = c * total // chunks
        while i < n and start[i] + PARTICLE_COST * i < target:
            i += 1
        bounds[c] = i
    bounds[chunks] = n
    return bounds


def new_pool(n, chunks, room=0):
    """The ``pool`` of the threaded kernels for n particles in ``chunks`` chunks: (per-chunk
    force arrays (chunks, n, 3), per-chunk scratch rows (chunks, :data:`N_ROWS` · :data:`ROW`),
    per-chunk rows of the list build (chunks, room): :func:`_build_pairs_threads`; ``room``
    the list's capacity, :func:`_list_capacity`)."""
    return np.empty((chunks, n, 3)), np.empty((chunks, N_ROWS * ROW)), np.empty((chunks, room), dtype=np.int32)


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def _pair_forces_threads(x, f, model, nbr, start, split, pool, need_energy, cut_start):
    """:func:`_pair_forces` in as many chunks of particles as the ``pool`` (:func:`new_pool`)
    has rows, run by numba's threads, each into its own force array with its own scratch, then
    summed in chunk order (module docstring). The chunks are cut by the list offsets
    ``cut_start`` (:func:`_balanced_chunks`): ``start`` itself, or for the inner list of a dual
    list its Verlet list's, so that a run on a dual list sums the same chunks as on the Verlet
    list alone (the same bits) and its cut does not move at every pruning. (Summing only the
    forces that cross chunks was slower: docs/engine.md, design history.)"""
    pool_f, pool_work = pool[0], pool[1]
    n = x.shape[0]
    chunks = pool_f.shape[0]
    bounds = _balanced_chunks(cut_start, chunks)
    energies = np.zeros(chunks)
    types, box, rc2, c12, c6, a, b = model.types, model.box, model.rc2, model.c12, model.c6, model.a, model.b
    for c in prange(chunks):
        fc = pool_f[c]
        for i in range(n):  # a loop, not fc[:] = 0: inside a prange that would be a nested parallel loop
            fc[i, 0] = 0.0
            fc[i, 1] = 0.0
            fc[i, 2] = 0.0
        i_lo = bounds[c]
        i_hi = bounds[c + 1]
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
