"""Energy, forces and the analytic Hessian of the shifted-force LJ mixture (docs/method.md §1).

Every kernel takes the model as one :class:`Model` (a ``typing.NamedTuple``, which numba
compiles with attribute access) built by :class:`tlsviz.KobAndersen`. Particles of different
copies (``Model.group``) do not interact, which builds the "2 × N" system.

Positions are (N, 3) float64 in σ and may be unwrapped: every pair vector is reduced with the
minimum image ``dx - L * rint(dx / L)``, exact because L > 2 r_c. Energies are in ε, forces in
ε/σ, the Hessian (3N, 3N) in ε/σ², row 3i + k for particle i, axis k.

Four kernels give the same numbers up to summation order (≈1e-13 relative):

- all pairs, O(N²) (:func:`_energy_forces_allpairs`), the general fallback;
- the small-box kernel (:func:`_energy_forces_small`), all pairs of each copy written for
  SIMD, for copies of at most :data:`SMALL_MAX` particles ordered A first, then B (the
  N = 65 glass); the same bits on any CPU;
- a cell list rebuilt at every call, O(N) (:func:`_energy_forces_cells`), for single
  evaluations of large systems (needs three cells of edge ≥ r_c per box edge);
- inside compiled runs (MD, minimisation, search tries), a Verlet list of the pairs closer
  than r_c + skin, rebuilt when some particle has moved more than skin / 2 since the last
  build (:func:`_new_neighbor_list`, :func:`_energy_forces_nl`), and for evaluations and
  quenches an inner list pruned from it (a dual list, :func:`_refresh_neighbor_list`: the same
  bits, fewer lanes). It needs r_c + skin < L / 2, so it is not used for N = 65
  (L / 2 − r_c = 0.09).

No kernel uses fast-math; every sum runs in a fixed order, so results are the same bits on
every machine.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from .pairlist import (N_ROWS, ROW, _build_pairs, _build_pairs_threads, _new_pairs, _pair_forces, _pair_forces_threads,
                       _prune_pairs, _prune_pairs_threads)


class Model(NamedTuple):
    """The pair potential and the system it acts on, as every kernel reads them.

    Attributes
    ----------
    types : (N,) int64
        0 = A, 1 = B.
    group : (N,) int64
        The copy of each particle; particles of different copies do not interact.
    box : float
        Cubic box edge L (σ).
    c12, c6, a, b : (2, 2) float64
        4εσ¹², 4εσ⁶ and the shift constants of V(r) = c12 / r¹² − c6 / r⁶ + a + b·r per type pair.
    rc2 : float
        Squared cut-off r_c² (σ²).
    use_cells : bool
        Whether single evaluations use the cell list.
    skin : float
        Verlet-list skin (σ); 0 means no Verlet list.
    margin : float
        The margin of the inner list of a dual list (σ, :func:`_refresh_neighbor_list`) for
        evaluations and quenches; ≥ skin: none. MD runs use the Verlet list alone.
    """

    types: np.ndarray
    group: np.ndarray
    box: float
    c12: np.ndarray
    c6: np.ndarray
    a: np.ndarray
    b: np.ndarray
    rc2: float
    use_cells: bool
    skin: float
    margin: float


class NeighbourList(NamedTuple):
    """Neighbour state of a compiled run (:func:`_new_neighbor_list`).

    Attributes
    ----------
    nbr : (capacity,) int32
        Verlet half list (each pair once): the neighbours listed under particle i are
        ``nbr[start[i]:start[i + 1]]``,
        those of type A first, then B (:mod:`tlsviz.engine.pairlist`).
    start : (N + 1,) int64
        Offsets into ``nbr``; empty when the run has no Verlet list.
    x_ref : (N, 3) float64
        Positions at the last build.
    info : (4,) float64
        ``[r_list, skin, r_in, margin]`` (σ): r_list = r_c + skin, and for a dual list
        (:func:`_new_neighbor_list`) r_in = r_c + margin; margin = skin without one.
    builds : (2,) int64
        Number of builds and of prunings so far.
    work : float64 array
        Scratch rows of :func:`_energy_forces_small` (empty when it does not apply), or with a
        Verlet list those of :func:`tlsviz.engine.pairlist._pair_forces`.
    blocks : (copies, 3) int64
        Copies for :func:`_energy_forces_small` (:func:`_small_blocks`; empty when it does not apply).
    split : (N, 3) int64
        Where the runs of each particle's neighbours start in ``nbr`` (:mod:`tlsviz.engine.pairlist`);
        empty without a Verlet list.
    outer_nbr, outer_start, outer_split
        The Verlet list of the pairs closer than r_list; ``nbr``, ``start``, ``split`` are these
        same arrays, or with a dual list (margin < skin) its inner list, pruned from it.
    x_prune : (N, 3) float64
        Positions at the last pruning (``x_ref`` itself without a dual list).
    buf : (capacity,) int32
        Scratch of the threaded pruning (empty without a dual list).
    """

    nbr: np.ndarray
    start: np.ndarray
    x_ref: np.ndarray
    info: np.ndarray
    builds: np.ndarray
    work: np.ndarray
    blocks: np.ndarray
    split: np.ndarray
    outer_nbr: np.ndarray
    outer_start: np.ndarray
    outer_split: np.ndarray
    x_prune: np.ndarray
    buf: np.ndarray


# The three energy/force kernels below repeat the same pair block on purpose: in a shared helper
# numba does not hoist the array loads out of the pair loop (docs/engine.md, design history).


@njit(cache=True, nogil=True, inline="always")
def _pair(r2, c12, c6, a, b):
    """Pair energy V(r) = c12 / r¹² − c6 / r⁶ + a + b·r and −V'(r)/r at squared distance r2
    (written for a short chain of dependent operations: 12·c12 and 6·c6 are loop invariants)."""
    return _pair_t(1.0 / r2, r2, c12, c6, a, b)


@njit(cache=True, nogil=True, inline="always")
def _pair_t(t, r2, c12, c6, a, b):
    """:func:`_pair` given t = 1 / r2 as well (t = 0 gives a zero force)."""
    inv_r = np.sqrt(t)
    t3 = t * t * t
    e = (c12 * t3 - c6) * t3 + a + b * r2 * inv_r
    fr = (12.0 * c12 * t3 - 6.0 * c6) * t3 * t - b * inv_r
    return e, fr


@njit(cache=True, nogil=True)
def _energy_forces_allpairs(x, f, model):
    """Potential energy of x (N, 3) over all pairs of each copy, O(N²); forces into f (N, 3)."""
    types, group, box, c12, c6, a, b, rc2 = (model.types, model.group, model.box, model.c12, model.c6,
                                             model.a, model.b, model.rc2)
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
                ee, fr = _pair(r2, c12[ti, tj], c6[ti, tj], a[ti, tj], b[ti, tj])
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


#: Largest copy (particles of one group) handled by the vectorised small-box kernel.
SMALL_MAX = 512
# Rows of the small-box work array (see _energy_forces_small), each _ROW long. Offsets are
# unsigned compile-time constants, so that LLVM sees fixed distances between rows (no aliasing
# to rule out at run time) and no negative-index wrap-around; the row length is not a multiple
# of 4 KiB, whose "4K aliasing" between a store to one row and a load from another stalls the
# loads.
_ROW = 2 * SMALL_MAX + 24
# Per pair type: positions of the first (P) and second (Q) particles of the pairs, the forces
# on them (F, G), the pair energies by lane (E, over all types), and per k the lanes'
# minimum-image pair vectors (D), inverse squared lengths (T, 0 for the lanes to skip) and,
# when the energy is asked for, squared lengths (R2). Per copy: the positions of its A and of
# its B particles, repeated along the row (A, B: what P and Q are copied from), and the
# forces summed over the pair types (SA, SB). x, y, z rows of a kind are consecutive.
# Compiled MD runs of one copy (md._small_run) keep the whole state in rows: the positions in
# A and B, the forces in SA and SB, and the velocities (VA, VB) and 1 / mass (IA, IB) here.
(_PX, _PY, _PZ, _QX, _QY, _QZ, _FX, _FY, _FZ, _GX, _GY, _GZ, _RE, _RD0, _RD1, _RD2, _RT,
 _AX, _AY, _AZ, _BX, _BY, _BZ, _SAX, _SAY, _SAZ, _SBX, _SBY, _SBZ, _RR2,
 _VAX, _VAY, _VAZ, _VBX, _VBY, _VBZ, _IA, _IB) = (np.uint64(k * _ROW) for k in range(38))
_SMALL_WORK = 30 * _ROW  # the force kernel's rows
_SMALL_WORK_MD = 38 * _ROW  # and those of MD runs
_R1 = np.uint64(_ROW)  # from a kind's x row to its y row
_R2 = np.uint64(2 * _ROW)  # and to its z row


@njit(cache=True, nogil=True)
def _small_blocks(model, n):
    """(start, length, n_A) of each copy when every copy is one contiguous run of at most
    SMALL_MAX particles, its A particles first, then at least one B, and cells are not asked
    for; else an empty (0, 3) array, meaning that :func:`_energy_forces_small` does not
    apply."""
    types, group = model.types, model.group
    none = np.zeros((0, 3), dtype=np.int64)
    if model.use_cells:
        return none
    n_runs = 1
    for i in range(1, n):
        if group[i] != group[i - 1]:
            n_runs += 1
    blocks = np.zeros((n_runs, 3), dtype=np.int64)
    r = 0
    for i in range(1, n + 1):
        if i == n or group[i] != group[i - 1]:
            o = blocks[r, 0]
            m = i - o
            blocks[r, 1] = m
            if m > SMALL_MAX:
                return none
            for q in range(r):
                if group[blocks[q, 0]] == group[o]:
                    return none  # a copy split into several runs
            n_a = 0
            while n_a < m and types[o + n_a] == 0:
                n_a += 1
            for c in range(n_a, m):
                if types[o + c] != 1:
                    return none  # not A particles first, then B
            if n_a == 0 or n_a == m:
                return none
            blocks[r, 2] = n_a
            r += 1
            if i < n:
                blocks[r, 0] = i
    return blocks


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _small_geometry(work, i, j, n_first, box, inv_box, rc2, need_energy):
    """Lane i of the first pass of :func:`_small_pass`: the minimum-image vector d from Q[j]
    to P[i] into rows D, 1 / |d|² into row T (0 when |d|² ≥ rc2 or i ≥ n_first, a lane to
    skip: masked here rather than cleared after the loop, which compiled to a call to memset
    per k), and |d|² into row R2 when ``need_energy``."""
    d0 = work[_PX + i] - work[_QX + j]
    d1 = work[_PY + i] - work[_QY + j]
    d2 = work[_PZ + i] - work[_QZ + j]
    d0 -= box * np.rint(d0 * inv_box)
    d1 -= box * np.rint(d1 * inv_box)
    d2 -= box * np.rint(d2 * inv_box)
    work[_RD0 + i] = d0
    work[_RD1 + i] = d1
    work[_RD2 + i] = d2
    r2 = d0 * d0 + d1 * d1 + d2 * d2
    t = 1.0 / r2
    work[_RT + i] = t if (r2 < rc2) & (i < n_first) else 0.0
    if need_energy:
        work[_RR2 + i] = r2


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _small_pair(work, i, j, c12, c6, a, b, need_energy):
    """Lane i of the second pass: the pair from rows D, T (and R2 when ``need_energy``); adds
    its forces to rows F[i] and G[j] and returns its energy (when ``need_energy``: else LLVM
    drops that arithmetic). T = 0 (beyond the cut-off, and the lanes to skip) gives a zero
    force and, masked, energy."""
    t = work[_RT + i]
    ee, fr = _pair_t(t, work[_RR2 + i] if need_energy else 0.0, c12, c6, a, b)
    g0 = fr * work[_RD0 + i]
    g1 = fr * work[_RD1 + i]
    g2 = fr * work[_RD2 + i]
    work[_FX + i] += g0
    work[_FY + i] += g1
    work[_FZ + i] += g2
    work[_GX + j] -= g0
    work[_GY + j] -= g1
    work[_GZ + j] -= g2
    return ee if t > 0.0 else 0.0


@njit(cache=True, nogil=True, inline="always")
def _small_fill(work, x, first, m, length, rows):
    """Entry c < length of the x, y, z rows at ``rows`` ← x[first + (c mod m)]."""
    for c in range(min(m, length)):
        uc = np.uint64(c)
        work[rows + uc] = x[first + c, 0]
        work[rows + _R1 + uc] = x[first + c, 1]
        work[rows + _R2 + uc] = x[first + c, 2]
    _small_repeat(work, m, length, rows)  # entry c − m is already filled, and holds the same particle


@njit(cache=True, nogil=True, inline="always")
def _small_repeat(work, m, length, rows):
    """Entries c = m … length − 1 of the x, y, z rows at ``rows`` ← entry c − m: a forward
    copy onto the same rows m entries further (so entries beyond 2m repeat the copied ones)."""
    _row_copy(work, rows + np.uint64(m), rows, length - m)


@njit(cache=True, nogil=True, inline="always")
def _row_copy(work, dst, src, length):
    """The first ``length`` entries of the x, y, z rows from src to dst, in index order."""
    for cc in range(length):
        c = np.uint64(cc)
        work[dst + c] = work[src + c]
        work[dst + _R1 + c] = work[src + _R1 + c]
        work[dst + _R2 + c] = work[src + _R2 + c]


@njit(cache=True, nogil=True, inline="always")
def _row_add(work, dst, src, length):
    """dst[c] += src[c] for c < ``length`` in the x, y, z rows."""
    for cc in range(length):
        c = np.uint64(cc)
        work[dst + c] += work[src + c]
        work[dst + _R1 + c] += work[src + _R1 + c]
        work[dst + _R2 + c] += work[src + _R2 + c]


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _small_pass(work, p_src, m_p, q_src, m_q, s_p, s_q, lanes, k_first, k_last, half, box, inv_box,
                rc2, c12, c6, a, b, need_energy):
    """The pairs (P_i, Q_(i + k) mod m_q) of one pair type (c12, c6, a, b) for k in
    [k_first, k_last] and every lane i < ``lanes`` at once (P: the m_p particles of the rows at
    p_src, Q: the m_q at q_src, A or B), counting lane i when i < m_p, and only i < m_p / 2 for
    k > ``half`` (the last k of a type paired with itself, m_p even). Adds the forces to the
    sums at s_p (P's kind) and s_q (Q's), in index order, the pair energies to row E. Per k two
    passes over the lanes: minimum-image vectors and 1 / r² (0 beyond the cut-off and for the
    lanes to skip), then forces."""
    len_q = lanes + k_last + 1
    _row_copy(work, _PX, p_src, lanes)
    _row_copy(work, _QX, q_src, len_q)
    for c in range(len_q):  # lanes + k_last + 1 > lanes: clears F and G
        uc = np.uint64(c)
        work[_FX + uc] = 0.0
        work[_FY + uc] = 0.0
        work[_FZ + uc] = 0.0
        work[_GX + uc] = 0.0
        work[_GY + uc] = 0.0
        work[_GZ + uc] = 0.0
    for k in range(k_first, k_last + 1):
        uk = np.uint64(k)
        n_first = np.uint64(m_p if k <= half else m_p // 2)
        if need_energy:
            for ii in range(lanes):
                i = np.uint64(ii)
                _small_geometry(work, i, i + uk, n_first, box, inv_box, rc2, True)
        else:  # the same without r² (the energy's)
            for ii in range(lanes):
                i = np.uint64(ii)
                _small_geometry(work, i, i + uk, n_first, box, inv_box, rc2, False)
        if need_energy:
            for ii in range(lanes):
                i = np.uint64(ii)
                work[_RE + i] += _small_pair(work, i, i + uk, c12, c6, a, b, True)
        else:  # the same without the energy
            for ii in range(lanes):
                i = np.uint64(ii)
                _small_pair(work, i, i + uk, c12, c6, a, b, False)
    _row_add(work, s_p, _FX, m_p)
    base = 0
    while base < len_q:
        _row_add(work, s_q, _GX + np.uint64(base), min(m_q, len_q - base))
        base += m_q


@njit(cache=True, nogil=True, error_model="numpy")
def _energy_forces_small(x, f, model, work, blocks, need_energy):
    """All pairs of each copy, written for SIMD: the fastest kernel for small boxes.

    Parameters
    ----------
    x : (N, 3) float64
        Positions (σ), possibly unwrapped.
    f : (N, 3) float64
        Overwritten with the forces (ε/σ).
    model : tuple
        The model tuple (module docstring).
    work : (:data:`_SMALL_WORK`,) float64
        Scratch rows (or the rows of an MD run, :func:`tlsviz.engine.md._small_run`).
    blocks : (copies, 3) int64
        (start, length, n_A) of each copy, from :func:`_small_blocks` (not empty).
    need_energy : bool literal
        False (MD steps): the pair energies are not summed and 0 is returned.

    Returns
    -------
    float
        The potential energy (ε), or 0 when ``need_energy`` is False.

    Notes
    -----
    A copy of m particles (n_A of type A first, then n_B of type B) is done in three passes,
    one per pair type (AA, AB, BB; :func:`_small_pass`, the same code for the three), so that
    the pair parameters are constants of each pass. The pairs of n particles of one type are
    visited as (i, i + k) for k = 1 … ⌊n/2⌋ in the outer loop and every i at once in the inner
    one (k = n/2 only for i < n/2 when n is even, so every pair counts once), over positions
    stored twice in a row (index c holds particle c mod n); the AB pairs as
    (A_i, B_(i + k) mod n_B) for k = 0 … n_B − 1, over B positions repeated along a row. The
    inner loops have the same length for every k, padded to a multiple of 8
    (:func:`_small_lanes`), no branch and no running sum.

    Each k takes two passes over the lanes: the first writes the minimum-image vectors and
    the inverse squared distances 1 / r² (0 beyond the cut-off) to rows D and T, the second
    turns them into pair forces. Why: the split halves the chain of dependent operations per
    lane, so the CPU overlaps more lanes. The force on the first particle of a pair goes to
    row F[i], the one on the second to row G[i + k], the energy to E[i] (no iteration reads
    what an earlier one of the same k wrote); after each pass F and G are added to the copy's
    A and B force rows in index order, and these go to f at the end. The positions are read
    from x once per copy, into A and B rows that each pass copies P and Q from.

    Invariant: LLVM vectorises the loops without reordering any floating-point operation, so
    the results are the same bits whatever the CPU's vector width. With and without the
    energy are two loops, and callers pass ``need_energy`` as a literal, so that numba
    compiles one kernel for each without the branches of the other (a flag tested inside the
    loop compiles to masked loads and stores). Measurements: docs/engine.md.
    """
    e = 0.0
    for blk in range(blocks.shape[0]):
        o, m, n_a = blocks[blk, 0], blocks[blk, 1], blocks[blk, 2]
        n_b = m - n_a
        len_a, len_b = _small_row_lengths(n_a, n_b)
        _small_fill(work, x, o, n_a, len_a, _AX)
        _small_fill(work, x, o + n_a, n_b, len_b, _BX)
        if need_energy:
            e = _small_copy_forces(work, model, n_a, n_b, e, True)
        else:
            _small_copy_forces(work, model, n_a, n_b, 0.0, False)
        for c in range(n_a):
            uc = np.uint64(c)
            f[o + c, 0] = work[_SAX + uc]
            f[o + c, 1] = work[_SAY + uc]
            f[o + c, 2] = work[_SAZ + uc]
        for c in range(n_b):
            uc = np.uint64(c)
            f[o + n_a + c, 0] = work[_SBX + uc]
            f[o + n_a + c, 1] = work[_SBY + uc]
            f[o + n_a + c, 2] = work[_SBZ + uc]
    return e


@njit(cache=True, nogil=True, inline="always")
def _small_lanes(m):
    """Lanes of a pass whose first particles are m of one type: m rounded up to a multiple of
    8, the doubles of an AVX-512 register. Why: with a multiple of 4 (AVX) the N = 65 glass's
    52 A lanes left 4 lanes per k to a scalar remainder loop on AVX-512 machines; the extra
    lanes are masked (T = 0) and add exact zeros, so the sums are the same bits."""
    return (m + 7) // 8 * 8


@njit(cache=True, nogil=True, inline="always")
def _small_row_lengths(n_a, n_b):
    """How far the A and the B rows of a copy repeat its positions (entry c holds particle
    c mod n): as far as the lanes of its pair-type passes read them."""
    lanes_a = _small_lanes(n_a)
    lanes_b = _small_lanes(n_b)
    return lanes_a + n_a // 2 + 1, max(lanes_a + n_b, lanes_b + n_b // 2 + 1)


@njit(cache=True, nogil=True, error_model="numpy")
def _small_copy_forces(work, model, n_a, n_b, e, need_energy):
    """The three pair-type passes of :func:`_energy_forces_small` for one copy of n_a A and
    n_b B particles whose positions are in rows A and B (repeated as far as
    :func:`_small_row_lengths` says): the forces into rows SA and SB. Returns e plus the
    copy's energy (its pair energies added to e one lane after the other, as the sum over
    the copies goes) when ``need_energy`` (a literal, as for :func:`_energy_forces_small`), else e."""
    box, c12, c6, a, b, rc2 = model.box, model.c12, model.c6, model.a, model.b, model.rc2
    inv_box = 1.0 / box
    len_e = max(_small_lanes(n_a), _small_lanes(n_b))
    if need_energy:
        for c in range(len_e):
            work[_RE + np.uint64(c)] = 0.0
    for c in range(n_a):
        uc = np.uint64(c)
        work[_SAX + uc] = 0.0
        work[_SAY + uc] = 0.0
        work[_SAZ + uc] = 0.0
    for c in range(n_b):
        uc = np.uint64(c)
        work[_SBX + uc] = 0.0
        work[_SBY + uc] = 0.0
        work[_SBZ + uc] = 0.0
    # AA, AB, BB: three calls of the inlined pass, each with its rows as constants (docs/engine.md)
    _small_pass(work, _AX, n_a, _AX, n_a, _SAX, _SAX, _small_lanes(n_a), 1, n_a // 2, (n_a - 1) // 2,
                box, inv_box, rc2, c12[0, 0], c6[0, 0], a[0, 0], b[0, 0], need_energy)
    _small_pass(work, _AX, n_a, _BX, n_b, _SAX, _SBX, _small_lanes(n_a), 0, n_b - 1, n_b,
                box, inv_box, rc2, c12[0, 1], c6[0, 1], a[0, 1], b[0, 1], need_energy)
    _small_pass(work, _BX, n_b, _BX, n_b, _SBX, _SBX, _small_lanes(n_b), 1, n_b // 2, (n_b - 1) // 2,
                box, inv_box, rc2, c12[1, 1], c6[1, 1], a[1, 1], b[1, 1], need_energy)
    if need_energy:
        for c in range(len_e):
            e += work[_RE + np.uint64(c)]
    return e


@njit(cache=True, nogil=True)
def _cells_per_edge(box, rc2):
    """Cells per box edge for cells of edge at least r_c."""
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
    """Potential energy of x (N, 3) through a linked cell list rebuilt here, O(N); forces into
    f (N, 3). Needs at least three cells per edge (:func:`_cells_per_edge`)."""
    types, group, box, c12, c6, a, b, rc2 = (model.types, model.group, model.box, model.c12, model.c6,
                                             model.a, model.b, model.rc2)
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
                                    r2, c12[ti, tj], c6[ti, tj], a[ti, tj], b[ti, tj]
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
    if model.use_cells:
        return _energy_forces_cells(x, f, model)
    blocks = _small_blocks(model, x.shape[0])
    if blocks.shape[0] > 0:
        return _energy_forces_small(x, f, model, np.empty(_SMALL_WORK), blocks, True)
    return _energy_forces_allpairs(x, f, model)


@njit(cache=True, nogil=True)
def _new_neighbor_list(x, model, margin=-1.0, pool=None):
    """The :class:`NeighbourList` of a compiled run for x. With a Verlet list (``model.skin`` >
    0), the half list of :mod:`tlsviz.engine.pairlist` of the pairs closer than r_list = r_c +
    skin, and its scratch rows in ``work``; with a ``margin`` below the skin, a dual list: the
    force loop runs over the inner list of the pairs closer than r_c + margin, pruned from the
    Verlet list (:func:`_refresh_neighbor_list`). Without a Verlet list (small boxes), ``nbr``,
    ``start``, ``split`` are empty and ``work``, ``blocks`` are the work array and copies of
    :func:`_energy_forces_small` (empty when it does not apply; then
    :func:`_energy_forces_nl` falls back to :func:`_energy_forces_into`). ``pool``: build the
    list on numba's threads (:func:`tlsviz.engine.pairlist._new_pairs`; the same list)."""
    skin = model.skin
    n = x.shape[0]
    if skin <= 0.0:
        blocks = _small_blocks(model, n)
        work = np.empty(_SMALL_WORK if blocks.shape[0] > 0 else 0)
        none_i, none_s, none_x = np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int64), np.zeros((0, 3))
        none_split = np.zeros((0, 3), dtype=np.int64)
        return NeighbourList(none_i, none_s, none_x, np.zeros(4), np.zeros(2, dtype=np.int64), work, blocks,
                             none_split, none_i, none_s, none_split, none_x, none_i)
    rc = np.sqrt(model.rc2)
    r_list = rc + skin
    margin = min(model.margin if margin < 0.0 else margin, skin)
    nbr, start, split = _new_pairs(x, model.types, model.group, model.box, r_list, n / model.box ** 3, pool)
    x_ref = x.copy()
    info = np.array([r_list, skin, rc + margin, margin])
    builds = np.zeros(2, dtype=np.int64)
    builds[0] = 1
    work = np.empty(N_ROWS * ROW)
    blocks = np.zeros((0, 3), dtype=np.int64)
    if margin >= skin:
        return NeighbourList(nbr, start, x_ref, info, builds, work, blocks, split, nbr, start, split, x_ref,
                             np.zeros(0, dtype=np.int32))
    nl = NeighbourList(np.empty_like(nbr), np.empty_like(start), x_ref, info, builds, work, blocks,
                       np.empty_like(split), nbr, start, split, x.copy(), np.empty_like(nbr))
    _prune_neighbor_list(x, model, nl, pool)
    return nl


@njit(cache=True, nogil=True)
def _build_neighbor_list(x, model, nl, pool=None):
    """Rebuild the Verlet list nl for x (:func:`tlsviz.engine.pairlist._build_pairs`, on
    numba's threads with a ``pool``), and prune a dual list's inner list from it; x_ref ← x.
    A build that fails (it raises) leaves x_ref and x_prune at infinity, so that a list it
    half wrote is never taken for a valid one."""
    nl.x_ref[0, 0] = np.inf
    nl.x_prune[0, 0] = np.inf
    if pool is None:
        ok = _build_pairs(x, model.types, model.group, model.box, nl.info[0], nl.outer_nbr, nl.outer_start,
                          nl.outer_split)
    else:
        ok = _build_pairs_threads(x, model.types, model.group, model.box, nl.info[0], nl.outer_nbr,
                                  nl.outer_start, nl.outer_split, pool[2])
    if not ok:
        raise RuntimeError("Verlet list overflow: more neighbours than room for 1.5 times the mean at this density")
    nl.x_ref[:] = x
    nl.builds[0] += 1
    if nl.info[3] < nl.info[1]:
        _prune_neighbor_list(x, model, nl, pool)


@njit(cache=True, nogil=True)
def _prune_neighbor_list(x, model, nl, pool=None):
    """The inner list of the dual list nl: the pairs of its Verlet list closer than r_in at x
    (:func:`tlsviz.engine.pairlist._prune_pairs`, on numba's threads with a ``pool``);
    x_prune ← x."""
    nl.x_prune[0, 0] = np.inf
    if pool is None:
        _prune_pairs(x, model.box, nl.info[2], nl.outer_nbr, nl.outer_start, nl.outer_split, nl.nbr, nl.start,
                     nl.split)
    else:
        _prune_pairs_threads(x, model.box, nl.info[2], nl.outer_nbr, nl.outer_start, nl.outer_split, nl.nbr,
                             nl.start, nl.split, nl.buf, pool[0].shape[0])
    nl.x_prune[:] = x
    nl.builds[1] += 1


@njit(cache=True, nogil=True, inline="always")
def _displacements(x, nl):
    """0 when nl holds every pair closer than r_c at x, 1 when its inner list must be pruned
    again, 2 when its Verlet list must be rebuilt (:func:`_refresh_neighbor_list`): one pass
    over the particles' displacements since the last build and the last pruning."""
    return _displacements_range(x, nl, 0, x.shape[0])


@njit(cache=True, nogil=True, inline="always")
def _displacements_range(x, nl, i_lo, i_hi):
    """:func:`_displacements` over the particles [i_lo, i_hi) only (the largest value over a
    cut of the particles into ranges is :func:`_displacements`'s)."""
    skin, margin = nl.info[1], nl.info[3]
    build2 = 0.25 * skin * skin
    x_ref = nl.x_ref
    if margin >= skin:
        for i in range(i_lo, i_hi):
            d2 = (x[i, 0] - x_ref[i, 0]) ** 2 + (x[i, 1] - x_ref[i, 1]) ** 2 + (x[i, 2] - x_ref[i, 2]) ** 2
            if d2 > build2:
                return 2
        return 0
    prune2 = 0.25 * margin * margin
    x_prune = nl.x_prune
    state = 0
    for i in range(i_lo, i_hi):
        d2 = (x[i, 0] - x_ref[i, 0]) ** 2 + (x[i, 1] - x_ref[i, 1]) ** 2 + (x[i, 2] - x_ref[i, 2]) ** 2
        if d2 > build2:
            return 2
        p2 = (x[i, 0] - x_prune[i, 0]) ** 2 + (x[i, 1] - x_prune[i, 1]) ** 2 + (x[i, 2] - x_prune[i, 2]) ** 2
        state = 1 if p2 > prune2 else state
    return state


@njit(cache=True, nogil=True, inline="always")
def _refresh_neighbor_list(x, model, nl, pool=None):
    """Keep nl exact at x: every pair closer than r_c in the list that the force loop reads.

    A Verlet list (pairs closer than r_c + skin at its build) holds every pair closer than r_c
    while no particle has moved more than skin / 2 since: two particles' distance changes by
    at most twice the largest displacement. A dual list (GROMACS's, Páll et al., J. Chem. Phys.
    153, 134110 (2020), with an exact criterion in place of its buffer estimate) prunes from
    the Verlet list an inner list of the pairs closer than r_in = r_c + margin, and prunes it
    again once some particle has moved more than margin / 2 since the last pruning: a pair
    left out of the Verlet list is beyond r_c while the Verlet list is valid, one left out of
    the inner list while no particle has moved margin / 2 since. The Verlet list is rebuilt
    exactly when it would be without the inner list, so a run makes the same builds, and its
    loop the same pair terms in the same order less the exact zeros of the pairs beyond r_c:
    the same bits with or without the inner list, on one thread or on a fixed number (the
    threads' chunks are cut by the Verlet list; tests/test_pair_loop.py)."""
    _renew_neighbor_list(x, model, nl, _displacements(x, nl), pool)


@njit(cache=True, nogil=True, inline="always")
def _renew_neighbor_list(x, model, nl, state, pool=None):
    """What :func:`_refresh_neighbor_list` does once it knows the state of nl at x
    (:func:`_displacements`): rebuild (2), prune (1) or nothing (0)."""
    if state == 2:
        _build_neighbor_list(x, model, nl, pool)
    elif state == 1:
        _prune_neighbor_list(x, model, nl, pool)


@njit(cache=True, nogil=True)
def _cell_order(x, model):
    """An order of the particles by cell of the Verlet-list grid, for runs with a Verlet list
    (an empty array otherwise): neighbours then sit close in memory. Why: unsorted, the force
    loop of a large run reads its neighbours from all over an array larger than the caches.
    Read off the linked cell list: O(N), and quick to compile, unlike a general sort."""
    skin = model.skin
    if skin <= 0.0:
        return np.zeros(0, dtype=np.int64)
    box = model.box
    nc = int(np.floor(box / (np.sqrt(model.rc2) + skin)))
    if nc < 3:
        return np.zeros(0, dtype=np.int64)
    head, nxt, _ = _build_cells(x, box, nc)
    order = np.empty(x.shape[0], dtype=np.int64)
    k = 0
    for c in range(head.shape[0]):
        j = head[c]
        while j >= 0:
            order[k] = j
            k += 1
            j = nxt[j]
    return order


@njit(cache=True, nogil=True)
def _take_rows(a, order):
    """a[order] for an (N, 3) array, written out (cheaper to compile than fancy indexing)."""
    out = np.empty((order.shape[0], 3))
    for i in range(order.shape[0]):
        for k in range(3):
            out[i, k] = a[order[i], k]
    return out


@njit(cache=True, nogil=True)
def _put_rows(a, order, b):
    """a[order] = b for (N, 3) arrays."""
    for i in range(order.shape[0]):
        for k in range(3):
            a[order[i], k] = b[i, k]


@njit(cache=True, nogil=True)
def _take(a, order):
    """a[order] for a 1-D array."""
    out = np.empty(order.shape[0], dtype=a.dtype)
    for i in range(order.shape[0]):
        out[i] = a[order[i]]
    return out


@njit(cache=True, nogil=True)
def _permuted_model(model, order):
    """The model with its per-particle arrays in ``order``."""
    return Model(_take(model.types, order), _take(model.group, order), model.box, model.c12, model.c6, model.a,
                 model.b, model.rc2, model.use_cells, model.skin, model.margin)


@njit(cache=True, nogil=True, inline="always")
def _energy_forces_nl(x, f, model, nl, need_energy=True, pool=None):
    """Energy and forces (into f) through the Verlet list nl, rebuilt first if some particle
    has moved more than skin / 2 since the last build (with a dual list, its inner list, pruned
    again first when needed: :func:`_refresh_neighbor_list`); without a list, as
    :func:`_energy_forces_into`. ``need_energy=False`` lets the kernels skip the energy (then
    the value returned is not the energy). ``pool`` (per-thread force arrays, scratch and list-build
    rows: :func:`tlsviz.engine.pairlist.new_pool`) runs the Verlet-list loop, its rebuilds and
    prunings on numba's threads; None (the default) keeps every caller that does not pass one free of the
    parallel kernel (numba prunes the branch at compile time)."""
    start, blocks, work = nl.start, nl.blocks, nl.work
    if start.shape[0] == 0:
        if blocks.shape[0] > 0:
            # a literal flag: numba compiles the kernel once with and once without the energy
            # (one kernel taking the flag at run time is slower, docs/engine.md)
            if need_energy:
                return _energy_forces_small(x, f, model, work, blocks, True)
            return _energy_forces_small(x, f, model, work, blocks, False)
        return _energy_forces_into(x, f, model)
    _refresh_neighbor_list(x, model, nl, pool)
    return _listed_forces(x, f, model, nl, need_energy, pool)


@njit(cache=True, nogil=True, inline="always")
def _listed_forces(x, f, model, nl, need_energy=True, pool=None):
    """The pair loop of :func:`_energy_forces_nl` over the Verlet list nl as it is (the caller
    has kept it exact at x)."""
    start, work = nl.start, nl.work
    if pool is None:
        if need_energy:
            return _pair_forces(x, f, model, nl.nbr, start, nl.split, work, True)
        return _pair_forces(x, f, model, nl.nbr, start, nl.split, work, False)
    if need_energy:
        return _pair_forces_threads(x, f, model, nl.nbr, start, nl.split, pool, True, nl.outer_start)
    return _pair_forces_threads(x, f, model, nl.nbr, start, nl.split, pool, False, nl.outer_start)


@njit(cache=True, nogil=True)
def _energy_forces_kept(x, f, model, nl, pool=None):
    """:func:`_energy_forces_nl` with the energy, for a Verlet list kept between calls from
    Python (:meth:`tlsviz.KobAndersen.energy_forces`)."""
    return _energy_forces_nl(x, f, model, nl, True, pool)


@njit(cache=True, nogil=True)
def _energy_forces(x, model):
    """(energy, forces (N, 3)) at x (N, 3), by :func:`_energy_forces_into`."""
    f = np.empty_like(x)
    e = _energy_forces_into(x, f, model)
    return e, f


@njit(cache=True, nogil=True)
def _hessian(x, model):
    """Analytic (3N, 3N) Hessian, all pairs, including the linear shift term."""
    n = x.shape[0]
    h = np.empty((3 * n, 3 * n))
    _hessian_into(x, model, h)
    return h


@njit(cache=True, nogil=True)
def _hessian_into(x, model, h):
    """:func:`_hessian` written into h (3N, 3N)."""
    types, group, box, c12, c6, a, b, rc2 = (model.types, model.group, model.box, model.c12, model.c6,
                                             model.a, model.b, model.rc2)
    n = x.shape[0]
    h[:] = 0.0
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
            t = 1.0 / r2
            t3 = t * t * t
            # V'(r)/r and V''(r); the b·r shift enters V' but not V''.
            dv_r = (-12.0 * c12[ti, tj] * t3 + 6.0 * c6[ti, tj]) * t3 * t + b[ti, tj] / r
            d2v = (156.0 * c12[ti, tj] * t3 - 42.0 * c6[ti, tj]) * t3 * t
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
