"""Molecular dynamics: velocity Verlet (NVE) and a stochastic velocity-rescaling thermostat (NVT).

Both ensembles run in :func:`_run`: velocity Verlet (:func:`_vv_step`) for any
system, and the same steps with the state kept in the small-box kernel's rows
for one small copy (:func:`_small_run`, the N = 65 glass; same bits). Whole runs
execute in compiled code; random numbers are drawn beforehand by the caller (numpy Generator),
so a run is reproducible from its seed whatever thread or process runs it.

Thermostat: the canonical stochastic velocity rescaling of Bussi, Donadio &
Parrinello, J. Chem. Phys. 126, 014101 (2007): after each velocity-Verlet
step the kinetic energy K is replaced by a sample of the exact stochastic
evolution of K over one step under a thermostat of relaxation time τ_T,
and all velocities are rescaled by √(K_new / K). It samples the canonical
ensemble, keeps the total momentum zero, and perturbs the dynamics only
globally (no per-particle friction), which suits the measurement of
relaxation times.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .potential import (_AX, _BX, _IA, _IB, _R1, _R2, _SAX, _SBX, _SMALL_WORK_MD, _VAX, _VBX, _cell_order,
                        _displacements_range, _energy_forces_nl, _listed_forces, _new_neighbor_list, _permuted_model,
                        _put_rows, _renew_neighbor_list, _small_blocks, _small_copy_forces, _small_fill, _small_repeat,
                        _small_row_lengths, _take, _take_rows)


@njit(cache=True, nogil=True, inline="always")
def _vv_step(x, v, f, inv_m3, dt, model, nl, need_energy=True, pool=None, bounds=None):
    """One velocity-Verlet step, in place on x, v, f (C-contiguous (N, 3); inv_m3: 1 / mass
    per coordinate, (3N,); nl: the run's neighbour list); returns the new potential energy
    (only when ``need_energy``: runs ask for it at their last step). The updates run over the
    flat 3N coordinates, which LLVM vectorises (loops over (N, 3) with an inner loop of 3 it
    does not). With a ``pool`` (threads, see
    :func:`tlsviz.engine.potential._energy_forces_nl`) every part of the step runs on numba's
    threads, the updates and the list's displacement check in the particle ranges ``bounds``
    (:func:`_even_bounds`): the same arithmetic on every coordinate, so the same bits as the
    step whose updates run on one thread (a rebuild's cell sort and chunk cut still run on one)."""
    half = 0.5 * dt
    if pool is None:
        return _vv_step_serial(x, v, f, inv_m3, dt, model, nl, need_energy)
    if nl.start.shape[0] == 0:  # no Verlet list (not made so by KobAndersen._pool): nothing to thread
        return _vv_step_serial(x, v, f, inv_m3, dt, model, nl, need_energy)
    _renew_neighbor_list(x, model, nl, _kick_drift_threads(x, v, f, inv_m3, half, dt, nl, bounds), pool)
    e = _listed_forces(x, f, model, nl, need_energy, pool)
    _kick_threads(v, f, inv_m3, half, bounds)
    return e


@njit(cache=True, nogil=True, inline="always")
def _vv_step_serial(x, v, f, inv_m3, dt, model, nl, need_energy):
    """:func:`_vv_step` on the calling thread."""
    half = 0.5 * dt
    xf, vf, ff = x.reshape(-1), v.reshape(-1), f.reshape(-1)
    _kick_drift(xf, vf, ff, inv_m3, half, dt, 0, xf.shape[0])
    e = _energy_forces_nl(x, f, model, nl, need_energy)
    _kick(vf, ff, inv_m3, half, 0, xf.shape[0])
    return e


@njit(cache=True, nogil=True, inline="always")
def _kick_drift(xf, vf, ff, inv_m3, half, dt, lo, hi):
    """v += (dt / 2) F / m, then x += dt v, on the flat coordinates [lo, hi) (one loop for the
    serial and the threaded step: the same arithmetic, so the same bits)."""
    for c in range(lo, hi):
        vf[c] += half * ff[c] * inv_m3[c]
        xf[c] += dt * vf[c]


@njit(cache=True, nogil=True, inline="always")
def _kick(vf, ff, inv_m3, half, lo, hi):
    """v += (dt / 2) F / m on the flat coordinates [lo, hi)."""
    for c in range(lo, hi):
        vf[c] += half * ff[c] * inv_m3[c]


@njit(cache=True, nogil=True)
def _even_bounds(n, chunks):
    """Where ``chunks`` ranges of about n / chunks particles each start ((chunks + 1,), the last n)."""
    return np.array([c * n // chunks for c in range(chunks + 1)], dtype=np.int64)


@njit(cache=True, nogil=True, parallel=True)
def _kick_drift_threads(x, v, f, inv_m3, half, dt, nl, bounds):
    """The first half of :func:`_vv_step` on numba's threads, one particle range of ``bounds``
    each: v += (dt / 2) F / m, x += dt v; returns the state of the neighbour list nl at the new
    x (:func:`tlsviz.engine.potential._displacements`, the largest over the ranges), found by
    the thread that has just moved the particles. Why: one thread running these passes over
    3N coordinates left the other idle ~2 % of an MD step at N = 8000 (docs/engine.md)."""
    xf, vf, ff = x.reshape(-1), v.reshape(-1), f.reshape(-1)
    chunks = bounds.shape[0] - 1
    states = np.zeros(chunks, dtype=np.int64)
    for r in prange(chunks):
        _kick_drift(xf, vf, ff, inv_m3, half, dt, 3 * bounds[r], 3 * bounds[r + 1])
        states[r] = _displacements_range(x, nl, bounds[r], bounds[r + 1])
    return states.max()


@njit(cache=True, nogil=True, parallel=True)
def _kick_threads(v, f, inv_m3, half, bounds):
    """The last half of :func:`_vv_step` on numba's threads: v += (dt / 2) F / m."""
    vf, ff = v.reshape(-1), f.reshape(-1)
    for r in prange(bounds.shape[0] - 1):
        _kick(vf, ff, inv_m3, half, 3 * bounds[r], 3 * bounds[r + 1])


@njit(cache=True, nogil=True)
def _inv_m3(masses):
    """1 / mass of the particle of each coordinate, (3N,)."""
    out = np.empty(3 * masses.shape[0])
    for i in range(masses.shape[0]):
        for k in range(3):
            out[3 * i + k] = 1.0 / masses[i]
    return out


@njit(cache=True, nogil=True)
def _kinetic(v, masses):
    """Kinetic energy Σ m v² / 2 of velocities v (N, 3)."""
    k = 0.0
    for i in range(v.shape[0]):
        k += 0.5 * masses[i] * (v[i, 0] ** 2 + v[i, 1] ** 2 + v[i, 2] ** 2)
    return k


@njit(cache=True, nogil=True)
def _nve_run(x, v, f, masses, dt, steps, model, pool=None):
    """``steps`` NVE steps in place on x, v and f (f: the forces at the end; its contents on
    entry are not used). Returns the potential energy at the end. ``pool``: run the force loop
    on numba's threads (:func:`tlsviz.engine.potential._energy_forces_nl`)."""
    return _run(x, v, f, masses, dt, steps, model, np.empty(0), np.empty(0), 0.0, 1.0, 1.0, pool)


@njit(cache=True, nogil=True)
def _nvt_run(x, v, f, masses, dt, t_bath, tau_steps, ndof, gauss, chi2, model, pool=None):
    """Bussi–Donadio–Parrinello NVT, len(gauss) steps in place.

    ``gauss[s]`` ~ N(0, 1) and ``chi2[s]`` ~ χ²(ndof − 1) are the random numbers of
    step s; ``tau_steps`` is the thermostat time in units of dt; ``pool`` as for :func:`_nve_run`.
    """
    return _run(x, v, f, masses, dt, gauss.shape[0], model, gauss, chi2, t_bath, tau_steps, ndof, pool)


#: Steps between two sorts of the particles by cell in a run with a Verlet list: particles
#: diffuse away from the neighbours they were sorted beside, and memory access with them.
RESORT_STEPS = 2000


@njit(cache=True, nogil=True, inline="always")
def _run(x, v, f, masses, dt, steps, model, gauss, chi2, t_bath, tau_steps, ndof, pool):
    """``steps`` velocity-Verlet steps in place on x, v, f, thermostatted (:func:`_nvt_run`)
    when ``chi2`` is not empty. One small copy runs in :func:`_small_run`, everything else in
    :func:`_vv_run`; with a Verlet list the run works on the particles sorted by cell
    (:func:`_cell_order`), sorted again every :data:`RESORT_STEPS` steps, and puts them back in
    the caller's order at the end."""
    n_a = _small_copy_n_a(model, x.shape[0])
    if n_a > 0:
        return _small_run(x, v, f, masses, dt, steps, n_a, model, gauss, chi2, t_bath, tau_steps, ndof)
    order = _cell_order(x, model)
    if order.shape[0] == 0:
        return _vv_run(x, v, f, masses, dt, steps, model, gauss, chi2, t_bath, tau_steps, ndof, pool)
    thermostat = chi2.shape[0] > 0
    done = 0
    e = 0.0
    while True:
        seg = min(RESORT_STEPS, steps - done)
        xs, vs, fs = _take_rows(x, order), _take_rows(v, order), _take_rows(f, order)
        e = _vv_run(xs, vs, fs, _take(masses, order), dt, seg, _permuted_model(model, order),
                    gauss[done:done + seg] if thermostat else gauss, chi2[done:done + seg] if thermostat else chi2,
                    t_bath, tau_steps, ndof, pool)
        _put_rows(x, order, xs)
        _put_rows(v, order, vs)
        _put_rows(f, order, fs)
        done += seg
        if done >= steps:
            return e
        order = _cell_order(x, model)


@njit(cache=True, nogil=True)
def _vv_run(x, v, f, masses, dt, steps, model, gauss, chi2, t_bath, tau_steps, ndof, pool=None):
    """The run of :func:`_run` on (N, 3) arrays, for any system: :func:`_vv_step` and the
    thermostat."""
    thermostat = chi2.shape[0] > 0
    nl = _new_neighbor_list(x, model, model.skin, pool)  # the Verlet list alone: MD prunes too often (docs/engine.md)
    inv_m = _inv_m3(masses)
    e = _energy_forces_nl(x, f, model, nl, True, pool)
    c = np.exp(-1.0 / tau_steps)
    bounds = np.zeros(2, dtype=np.int64)
    if pool is not None:
        bounds = _even_bounds(x.shape[0], pool[0].shape[0])
    for s in range(steps):
        e = _vv_step(x, v, f, inv_m, dt, model, nl, s == steps - 1, pool, bounds)
        if thermostat:
            k = _kinetic(v, masses)
            if k > 0.0:
                scale = _bussi_scale(k, 0.5 * ndof * t_bath, c, ndof, gauss[s], chi2[s])
                vf = v.reshape(-1)
                for q in range(vf.shape[0]):
                    vf[q] *= scale
    return e


@njit(cache=True, nogil=True, inline="always")
def _bussi_scale(k, k_target, c, ndof, r, chi2):
    """The factor that takes the velocities from kinetic energy k to the sample of the
    thermostatted kinetic energy one step later (c = exp(−dt / τ_T); r ~ N(0, 1), chi2 ~
    χ²(ndof − 1))."""
    k_new = (
        k
        + (1.0 - c) * (k_target * (chi2 + r * r) / ndof - k)
        + 2.0 * r * np.sqrt(k * k_target / ndof * (1.0 - c) * c)
    )
    return np.sqrt(max(k_new, 0.0) / k)


# Runs of one small copy: the state stays in the rows of the small-box kernel's work array.


@njit(cache=True, nogil=True, inline="always")
def _small_copy_n_a(model, n):
    """n_A when a run of these n particles takes the small-box kernel (no Verlet list, see
    :func:`_new_neighbor_list`) on one copy, else 0."""
    if model.skin > 0.0:
        return 0
    blocks = _small_blocks(model, n)
    return blocks[0, 2] if blocks.shape[0] == 1 else 0


@njit(cache=True, nogil=True)
def _small_run(x, v, f, masses, dt, steps, n_a, model, gauss, chi2, t_bath, tau_steps, ndof):
    """``steps`` velocity-Verlet steps of one copy of n_a A then n_B B particles (the
    small-box kernel's case), in place on x, v, f; thermostatted as :func:`_vv_run` when
    ``chi2`` is not empty. Returns the potential energy at the end.

    The same steps as :func:`_vv_run`, the same arithmetic in the same order, so the same
    bits; but the positions, velocities and forces stay in rows of the kernel's work array
    (x, y, z rows, A and B apart) for the whole run. Why: no copy of x into the rows and of
    the forces back into f at every step."""
    work = np.empty(_SMALL_WORK_MD)
    n_b = x.shape[0] - n_a
    len_a, len_b = _small_row_lengths(n_a, n_b)
    _small_fill(work, x, 0, n_a, len_a, _AX)
    _small_fill(work, x, n_a, n_b, len_b, _BX)
    _small_fill(work, v, 0, n_a, n_a, _VAX)
    _small_fill(work, v, n_a, n_b, n_b, _VBX)
    for c in range(n_a):
        work[_IA + np.uint64(c)] = 1.0 / masses[c]
    for c in range(n_b):
        work[_IB + np.uint64(c)] = 1.0 / masses[n_a + c]
    e = _small_copy_forces(work, model, n_a, n_b, 0.0, True)
    thermostat = chi2.shape[0] > 0
    c = np.exp(-1.0 / tau_steps)
    half = 0.5 * dt
    for s in range(steps):
        _small_kick_drift(work, _VAX, _SAX, _IA, _AX, n_a, half, dt)
        _small_kick_drift(work, _VBX, _SBX, _IB, _BX, n_b, half, dt)
        _small_repeat(work, n_a, len_a, _AX)
        _small_repeat(work, n_b, len_b, _BX)
        if s == steps - 1:
            e = _small_copy_forces(work, model, n_a, n_b, 0.0, True)
        else:
            _small_copy_forces(work, model, n_a, n_b, 0.0, False)
        _small_kick(work, _VAX, _SAX, _IA, n_a, half)
        _small_kick(work, _VBX, _SBX, _IB, n_b, half)
        if thermostat:
            k = 0.0
            for q in range(x.shape[0]):  # as _kinetic: particle by particle, in order
                row = _VAX + np.uint64(q) if q < n_a else _VBX + np.uint64(q - n_a)
                k += 0.5 * masses[q] * (work[row] ** 2 + work[row + _R1] ** 2 + work[row + _R2] ** 2)
            if k > 0.0:
                scale = _bussi_scale(k, 0.5 * ndof * t_bath, c, ndof, gauss[s], chi2[s])
                for q in range(n_a):
                    _small_scale(work, _VAX + np.uint64(q), scale)
                for q in range(n_b):
                    _small_scale(work, _VBX + np.uint64(q), scale)
    for q in range(x.shape[0]):
        uq = np.uint64(q) if q < n_a else np.uint64(q - n_a)
        xr, vr, fr = (_AX, _VAX, _SAX) if q < n_a else (_BX, _VBX, _SBX)
        for d in range(3):
            ud = np.uint64(d) * _R1 + uq
            x[q, d] = work[xr + ud]
            v[q, d] = work[vr + ud]
            f[q, d] = work[fr + ud]
    return e


@njit(cache=True, nogil=True, inline="always")
def _small_kick_drift(work, vel, force, inv_m, pos, m, half, dt):
    """v += (dt / 2) F / m, then x += dt v, for the m particles of the rows at vel, force,
    inv_m, pos (the arithmetic of :func:`_vv_step`)."""
    for cc in range(m):
        c = np.uint64(cc)
        im = work[inv_m + c]
        for d in (np.uint64(0), _R1, _R2):
            work[vel + d + c] += half * work[force + d + c] * im
            work[pos + d + c] += dt * work[vel + d + c]


@njit(cache=True, nogil=True, inline="always")
def _small_kick(work, vel, force, inv_m, m, half):
    """v += (dt / 2) F / m for the m particles of the rows at vel, force, inv_m."""
    for cc in range(m):
        c = np.uint64(cc)
        im = work[inv_m + c]
        for d in (np.uint64(0), _R1, _R2):
            work[vel + d + c] += half * work[force + d + c] * im


@njit(cache=True, nogil=True, inline="always")
def _small_scale(work, entry, scale):
    """The x, y, z entries at ``entry`` of the work rows times ``scale``."""
    work[entry] *= scale
    work[entry + _R1] *= scale
    work[entry + _R2] *= scale
