"""Molecular dynamics: velocity Verlet (NVE) and a stochastic velocity-rescaling thermostat (NVT).

Every integrator reuses :func:`_vv_step`. Whole runs execute in compiled
code; random numbers are drawn beforehand by the caller (numpy Generator),
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
from numba import njit

from .potential import (_cell_order, _energy_forces_nl, _new_neighbor_list, _permuted_model, _put_rows,
                        _take, _take_rows)


@njit(cache=True, nogil=True, inline="always")
def _vv_step(x, v, f, inv_m3, dt, model, nl, need_energy=True):
    """One velocity-Verlet step, in place on x, v, f (C-contiguous (N, 3); inv_m3: 1 / mass
    per coordinate, (3N,); nl: the run's neighbour list); returns the new potential energy
    (only when ``need_energy``: runs ask for it at their last step). The updates run over the
    flat 3N coordinates, which LLVM vectorises (loops over (N, 3) with an inner loop of 3 it
    does not): ~0.1 µs of a 6 µs step at N = 65."""
    xf, vf, ff = x.reshape(-1), v.reshape(-1), f.reshape(-1)
    half = 0.5 * dt
    for c in range(xf.shape[0]):
        vf[c] += half * ff[c] * inv_m3[c]
        xf[c] += dt * vf[c]
    e = _energy_forces_nl(x, f, model, nl, need_energy)
    for c in range(xf.shape[0]):
        vf[c] += half * ff[c] * inv_m3[c]
    return e


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
    k = 0.0
    for i in range(v.shape[0]):
        k += 0.5 * masses[i] * (v[i, 0] ** 2 + v[i, 1] ** 2 + v[i, 2] ** 2)
    return k


@njit(cache=True, nogil=True)
def _nve_run(x, v, f, masses, dt, steps, model):
    """``steps`` NVE steps in place; f must hold the forces at x. Returns the potential energy.

    With a Verlet list the run works on the particles sorted by cell (:func:`_cell_order`) and
    puts them back in the caller's order at the end."""
    order = _cell_order(x, model)
    if order.shape[0] == 0:
        return _nve_core(x, v, f, masses, dt, steps, model)
    xs, vs, fs, ms, ps = _sorted_run_state(x, v, f, masses, model, order)
    e = _nve_core(xs, vs, fs, ms, dt, steps, ps)
    _unsort_run_state(x, v, f, order, xs, vs, fs)
    return e


@njit(cache=True, nogil=True)
def _sorted_run_state(x, v, f, masses, model, order):
    """x, v, f, masses and the model with the particles in ``order``."""
    return (_take_rows(x, order), _take_rows(v, order), _take_rows(f, order), _take(masses, order),
            _permuted_model(model, order))


@njit(cache=True, nogil=True)
def _unsort_run_state(x, v, f, order, xs, vs, fs):
    """Put the sorted run's xs, vs, fs back into the caller's x, v, f."""
    _put_rows(x, order, xs)
    _put_rows(v, order, vs)
    _put_rows(f, order, fs)


@njit(cache=True, nogil=True, inline="always")
def _nve_core(x, v, f, masses, dt, steps, model):
    inv_m = _inv_m3(masses)
    nl = _new_neighbor_list(x, model)
    e = _energy_forces_nl(x, f, model, nl)
    for s in range(steps):
        e = _vv_step(x, v, f, inv_m, dt, model, nl, s == steps - 1)
    return e


@njit(cache=True, nogil=True)
def _nvt_run(x, v, f, masses, dt, t_bath, tau_steps, ndof, gauss, chi2, model):
    """Bussi–Donadio–Parrinello NVT, len(gauss) steps in place.

    ``gauss[s]`` ~ N(0, 1) and ``chi2[s]`` ~ χ²(ndof − 1) are the random numbers of
    step s; ``tau_steps`` is the thermostat time in units of dt. Sorted by cell as
    :func:`_nve_run`.
    """
    order = _cell_order(x, model)
    if order.shape[0] == 0:
        return _nvt_core(x, v, f, masses, dt, t_bath, tau_steps, ndof, gauss, chi2, model)
    xs, vs, fs, ms, ps = _sorted_run_state(x, v, f, masses, model, order)
    e = _nvt_core(xs, vs, fs, ms, dt, t_bath, tau_steps, ndof, gauss, chi2, ps)
    _unsort_run_state(x, v, f, order, xs, vs, fs)
    return e


@njit(cache=True, nogil=True, inline="always")
def _nvt_core(x, v, f, masses, dt, t_bath, tau_steps, ndof, gauss, chi2, model):
    inv_m = _inv_m3(masses)
    nl = _new_neighbor_list(x, model)
    e = _energy_forces_nl(x, f, model, nl)
    c = np.exp(-1.0 / tau_steps)
    k_target = 0.5 * ndof * t_bath
    for s in range(gauss.shape[0]):
        e = _vv_step(x, v, f, inv_m, dt, model, nl, s == gauss.shape[0] - 1)
        k = _kinetic(v, masses)
        if k <= 0.0:
            continue
        r = gauss[s]
        k_new = (
            k
            + (1.0 - c) * (k_target * (chi2[s] + r * r) / ndof - k)
            + 2.0 * r * np.sqrt(k * k_target / ndof * (1.0 - c) * c)
        )
        scale = np.sqrt(max(k_new, 0.0) / k)
        vf = v.reshape(-1)
        for q in range(vf.shape[0]):
            vf[q] *= scale
    return e
