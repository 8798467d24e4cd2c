"""The analytic Hessian as a sparse matrix of 3 × 3 blocks, built from a cell list in O(N).

A pair (i, j) closer than r_c contributes the block K_ij = (V'' − V'/r) d̂d̂ᵀ + (V'/r) 1 (d = x_i − x_j,
minimum image; the b·r shift of the potential enters V' but not V'') to the off-diagonal blocks
H_ij = H_ji = −K_ij and to the diagonal blocks H_ii and H_jj. Row i of the matrix therefore holds
its diagonal block and one block per neighbour within r_c: about 30 neighbours at density 1.2,
so ~2.2 kB per particle (70 MB at N = 32 000) instead of the dense matrix's 72·N bytes per
particle (4.6 GB at N = 8000).

The kernel visits, for each particle i, the particles of the 27 cells around its own (cells of
edge ≥ r_c; all particles of the copy when the box holds fewer than three cells per edge), keeps
those of its copy closer than r_c, sorts them by index and writes the row's blocks in that
order, the diagonal block summed over the neighbours in ascending index. That is the order and
the arithmetic of the dense kernel (:func:`tlsviz.engine.potential._hessian_into`), so both give
the same bits, entry by entry (tests/test_modes.py). Each pair is computed from both of its
rows: twice the arithmetic of a half list, but rows are independent and the matrix is exactly
symmetric (x_j − x_i is exactly −(x_i − x_j) in floating point).

The result is a :class:`scipy.sparse.bsr_array` with 3 × 3 blocks (``blocksize=(3, 3)``),
sorted block indices, row 3i + k for particle i, axis k, as the dense Hessian.
"""

from __future__ import annotations

import os

import numpy as np
import scipy.sparse as sp
from numba import njit

#: Bytes per stored 3 × 3 block of the sparse Hessian (9 float64 + a 4-byte block index).
BLOCK_BYTES = 9 * 8 + 4


@njit(cache=True, nogil=True)
def _cell_sort(x, box, nc):
    """Particles sorted by cell (counting sort): ``order`` (N,), ``cell_start`` (nc³ + 1,) and each
    particle's cell coordinates ``cell_of`` (N, 3). Cells of edge box / nc; positions may be
    unwrapped."""
    n = x.shape[0]
    n_cells = nc * nc * nc
    cell_of = np.empty((n, 3), dtype=np.int64)
    count = np.zeros(n_cells + 1, dtype=np.int64)
    for i in range(n):
        for k in range(3):
            s = x[i, k] / box
            s -= np.floor(s)
            c = int(s * nc)
            if c >= nc:
                c = nc - 1
            cell_of[i, k] = c
        count[(cell_of[i, 0] * nc + cell_of[i, 1]) * nc + cell_of[i, 2] + 1] += 1
    for c in range(n_cells):
        count[c + 1] += count[c]
    fill = count[:n_cells].copy()
    order = np.empty(n, dtype=np.int64)
    for i in range(n):
        c = (cell_of[i, 0] * nc + cell_of[i, 1]) * nc + cell_of[i, 2]
        order[fill[c]] = i
        fill[c] += 1
    return order, count, cell_of


@njit(cache=True, nogil=True)
def _row_neighbours(i, x, group, box, inv_box, rc2, nc, order, cell_start, cell_of, out):
    """The particles j ≠ i of i's copy closer than r_c, ascending, into ``out``; returns their
    number. Candidates from the 27 cells around i (nc ≥ 3) or every particle (nc < 3)."""
    m = 0
    gi = group[i]
    n = x.shape[0]
    if nc >= 3:
        ci0, ci1, ci2 = cell_of[i, 0], cell_of[i, 1], cell_of[i, 2]
        for o0 in range(-1, 2):
            c0 = (ci0 + o0) % nc
            for o1 in range(-1, 2):
                c1 = (ci1 + o1) % nc
                for o2 in range(-1, 2):
                    c = (c0 * nc + c1) * nc + (ci2 + o2) % nc
                    for q in range(cell_start[c], cell_start[c + 1]):
                        j = order[q]
                        if j == i or group[j] != gi:
                            continue
                        r2 = 0.0
                        for k in range(3):
                            d = x[i, k] - x[j, k]
                            d -= box * np.rint(d * inv_box)
                            r2 += d * d
                        if r2 < rc2:
                            # insertion into the sorted prefix
                            p = m
                            while p > 0 and out[p - 1] > j:
                                out[p] = out[p - 1]
                                p -= 1
                            out[p] = j
                            m += 1
    else:
        for j in range(n):
            if j == i or group[j] != gi:
                continue
            r2 = 0.0
            for k in range(3):
                d = x[i, k] - x[j, k]
                d -= box * np.rint(d * inv_box)
                r2 += d * d
            if r2 < rc2:
                out[m] = j
                m += 1
    return m


@njit(cache=True, nogil=True)
def _sparse_hessian(x, types, group, box, c12, c6, b, rc2):
    """The Hessian at x (N, 3) as BSR arrays ``(data (nnzb, 3, 3), indices (nnzb,) int32,
    indptr (N + 1,) int64)``: row i holds blocks for i and its neighbours within r_c, ascending.
    Same arithmetic and summation order as the dense kernel."""
    n = x.shape[0]
    rc = np.sqrt(rc2)
    nc = int(np.floor(box / rc))
    if nc >= 3:
        order, cell_start, cell_of = _cell_sort(x, box, nc)
    else:
        order = np.zeros(0, dtype=np.int64)
        cell_start = np.zeros(1, dtype=np.int64)
        cell_of = np.zeros((0, 3), dtype=np.int64)
    inv_box = 1.0 / box
    nbr = np.empty(n, dtype=np.int64)
    # pass 1: the rows' lengths
    indptr = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        indptr[i + 1] = indptr[i] + 1 + _row_neighbours(i, x, group, box, inv_box, rc2, nc, order,
                                                        cell_start, cell_of, nbr)
    nnzb = indptr[n]
    data = np.empty((nnzb, 3, 3))
    indices = np.empty(nnzb, dtype=np.int32)
    d = np.empty(3)
    # pass 2: the blocks
    for i in range(n):
        m = _row_neighbours(i, x, group, box, inv_box, rc2, nc, order, cell_start, cell_of, nbr)
        ti = types[i]
        p = indptr[i]
        diag = p  # the diagonal block's slot: after the neighbours below i
        for q in range(m):
            if nbr[q] < i:
                diag += 1
        data[diag] = 0.0
        indices[diag] = i
        slot = p
        for q in range(m):
            j = nbr[q]
            if slot == diag:
                slot += 1
            for k in range(3):
                dk = x[i, k] - x[j, k]
                d[k] = dk - box * np.rint(dk * inv_box)
            r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2]
            tj = types[j]
            r = np.sqrt(r2)
            t = 1.0 / r2
            t3 = t * t * t
            dv_r = (-12.0 * c12[ti, tj] * t3 + 6.0 * c6[ti, tj]) * t3 * t + b[ti, tj] / r
            d2v = (156.0 * c12[ti, tj] * t3 - 42.0 * c6[ti, tj]) * t3 * t
            indices[slot] = j
            for k in range(3):
                for mm in range(3):
                    uu = d[k] * d[mm] / r2
                    kk = (d2v - dv_r) * uu
                    if k == mm:
                        kk += dv_r
                    data[slot, k, mm] = 0.0 - kk
                    data[diag, k, mm] += kk
            slot += 1
    return data, indices, indptr


def sparse_hessian(x: np.ndarray, model) -> sp.bsr_array:
    """The analytic Hessian at x as a sparse (3N, 3N) BSR array of 3 × 3 blocks.

    Parameters
    ----------
    x : (N, 3) float64 ndarray
        Positions (σ), possibly unwrapped; C-contiguous.
    model
        The engine's model (:class:`tlsviz.engine.potential.Model`): its ``types``, ``group``,
        ``box``, ``c12``, ``c6``, ``b`` and ``rc2`` are read.

    Returns
    -------
    scipy.sparse.bsr_array
        ∂²E/∂x∂x (ε/σ²), exactly symmetric, ``blocksize`` (3, 3), sorted indices: the same
        entries, bit for bit, as the dense :func:`tlsviz.engine.potential._hessian`.
    """
    n = x.shape[0]
    data, indices, indptr = _sparse_hessian(x, model.types, model.group, float(model.box), model.c12,
                                            model.c6, model.b, float(model.rc2))
    h = sp.bsr_array((data, indices, indptr), shape=(3 * n, 3 * n))
    h.has_sorted_indices = True
    return h


def _cgroup_room() -> int | None:
    """Bytes left under this process's cgroup memory limit (v2 ``memory.max`` − ``memory.current``,
    or v1 ``memory.limit_in_bytes`` − ``memory.usage_in_bytes``); None without a limit. Why: in a
    container or a Dask worker /proc/meminfo shows the host's memory, not what may be used."""
    for limit, usage in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                         ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                          "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit) as fh:
                text = fh.read().strip()
            if text == "max":
                return None
            with open(usage) as fh:
                return max(int(text) - int(fh.read().strip()), 0)
        except (OSError, ValueError):
            continue
    return None


def _host_room() -> int:
    """Bytes available on the host: ``MemAvailable`` of /proc/meminfo (free memory plus what the
    page cache can give back), else free physical pages (``os.sysconf``), else no limit."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    for name in ("SC_AVPHYS_PAGES", "SC_PHYS_PAGES"):
        try:
            return int(os.sysconf(name)) * int(os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            continue
    return 2**63 - 1  # unknown: no limit


def available_memory() -> int:
    """Bytes of memory available to a new allocation now: the smaller of the host's available
    memory and the room under the process's cgroup limit, if it has one."""
    room = _cgroup_room()
    host = _host_room()
    return host if room is None else min(host, room)
