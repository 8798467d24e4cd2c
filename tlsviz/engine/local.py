"""Local search tries in compiled code: MD and a quench of a region with the particles beyond it
held fixed, then a quench of the whole system (docs/search.md, "Local tries").

A *held* particle is one whose coordinates get 1 / mass = 0 in the integrator: its velocity
stays zero (it must be zero on entry) and no force moves it, so its position keeps its bits.
The particles that move are the *mobile* ones; the forces on them are the full model's,
computed on a sub-system (the mobile particles and the held ones near enough to act on them,
in the same periodic box), so that the MD and the held quench cost what the region costs,
whatever N is. The final quench of the whole system, by :func:`tlsviz.engine.minimize._minimize`
as every try's, decides which minimum the try found: a configuration that is a minimum only
while particles are held has forces on the held particles, which that quench relaxes.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .geometry import _distance_by_copy
from .md import _kick, _kick_drift, _vv_step
from .minimize import _max_force, _minimize
from .potential import _energy_forces_nl, _new_neighbor_list, _pair
from .tries import TryResult

#: FIRE parameters of the held quench (Bitzek et al., Phys. Rev. Lett. 97, 170201 (2006)).
FIRE_N_MIN = 5
FIRE_F_INC = 1.1
FIRE_F_DEC = 0.5
FIRE_ALPHA0 = 0.1
FIRE_F_ALPHA = 0.99
#: Largest time step of the held quench, in units of the MD time step.
FIRE_DT_MAX = 10.0
#: No particle moves more than this (σ) in one step of the held quench.
FIRE_MAX_MOVE = 0.1


@njit(cache=True, nogil=True)
def _held_inv_m3(masses, mobile):
    """1 / mass per coordinate (3n,), 0 for the coordinates of held particles (mobile False)."""
    out = np.zeros(3 * masses.shape[0])
    for i in range(masses.shape[0]):
        if mobile[i]:
            for k in range(3):
                out[3 * i + k] = 1.0 / masses[i]
    return out


@njit(cache=True, nogil=True)
def _held_nve(x, v, f, inv_m3, dt, steps, model):
    """``steps`` velocity-Verlet steps in place on x, v, f with the held particles (inv_m3 0,
    velocity 0 on entry) fixed: they keep their positions bit for bit. Returns the potential
    energy of the (sub-)system at the end."""
    nl = _new_neighbor_list(x, model, model.skin)  # MD: the Verlet list alone (docs/engine.md)
    e = _energy_forces_nl(x, f, model, nl)
    for s in range(steps):
        e = _vv_step(x, v, f, inv_m3, dt, model, nl, s == steps - 1)
    return e


@njit(cache=True, nogil=True)
def _held_forces(x, f, inv_m3, model, nl):
    """Energy and forces at x with the forces on held particles set to zero."""
    e = _energy_forces_nl(x, f, model, nl)
    ff = f.reshape(-1)
    for c in range(ff.shape[0]):
        if inv_m3[c] == 0.0:
            ff[c] = 0.0
    return e


@njit(cache=True, nogil=True, inline="always")
def _fire_step(xf, vf, ff, inv_m3, dt, dt_max, alpha, n_pos):
    """One FIRE step of :func:`_held_fire` and :func:`_held_fire_pl` up to the new forces, on
    flat arrays: the velocity mixing (or a stop when the power is negative), then the first
    half kick and the drift, no coordinate moving more than :data:`FIRE_MAX_MOVE`. Returns
    the new (dt, alpha, n_pos); the caller evaluates the forces and gives the second half
    kick."""
    n3 = xf.shape[0]
    p = 0.0
    vv = 0.0
    fn = 0.0
    for c in range(n3):
        p += ff[c] * vf[c]
        vv += vf[c] * vf[c]
        fn += ff[c] * ff[c]
    if p > 0.0:
        mix = alpha * np.sqrt(vv / fn) if fn > 0.0 else 0.0
        for c in range(n3):
            vf[c] = (1.0 - alpha) * vf[c] + mix * ff[c]
        n_pos += 1
        if n_pos > FIRE_N_MIN:
            dt = min(dt * FIRE_F_INC, dt_max)
            alpha *= FIRE_F_ALPHA
    else:
        n_pos = 0
        dt *= FIRE_F_DEC
        alpha = FIRE_ALPHA0
        for c in range(n3):
            vf[c] = 0.0
    for c in range(n3):
        vf[c] += 0.5 * dt * ff[c] * inv_m3[c]
    big = 0.0
    for c in range(n3):
        big = max(big, abs(dt * vf[c]))
    scale = 1.0 if big <= FIRE_MAX_MOVE else FIRE_MAX_MOVE / big
    for c in range(n3):
        xf[c] += scale * dt * vf[c]
    return dt, alpha, n_pos


@njit(cache=True, nogil=True)
def _held_fire(x, inv_m3, dt0, ftol, max_steps, model):
    """FIRE quench of the mobile particles, in place on x, held particles fixed, until the
    largest force on a mobile particle is below ``ftol`` or ``max_steps`` steps.

    Mass-weighted (the MD's velocity Verlet with the FIRE velocity mixing); no particle moves
    more than :data:`FIRE_MAX_MOVE` per step. Returns (energy, max|F| on mobile particles,
    force evaluations).
    """
    n3 = x.shape[0] * 3
    f = np.empty_like(x)
    v = np.zeros_like(x)
    xf, vf, ff = x.reshape(-1), v.reshape(-1), f.reshape(-1)
    nl = _new_neighbor_list(x, model)
    e = _held_forces(x, f, inv_m3, model, nl)
    n_evals = 1
    dt = dt0
    dt_max = FIRE_DT_MAX * dt0
    alpha = FIRE_ALPHA0
    n_pos = 0
    fmax = _max_force(ff)
    for _ in range(max_steps):
        if fmax < ftol:
            break
        dt, alpha, n_pos = _fire_step(xf, vf, ff, inv_m3, dt, dt_max, alpha, n_pos)
        e = _held_forces(x, f, inv_m3, model, nl)
        n_evals += 1
        for c in range(n3):
            vf[c] += 0.5 * dt * ff[c] * inv_m3[c]
        fmax = _max_force(ff)
    return e, fmax, n_evals


#: Verlet skin (σ) of the held stage's own pair list (:func:`_held_pairs`).
HELD_SKIN = 0.3


@njit(cache=True, nogil=True)
def _held_pairs(x, inv_m3, group, box, r_list):
    """The pairs (pi, pj) of x (n, 3) closer than ``r_list`` (minimum image; every pair when
    ``r_list`` is not below half the box) with at least one mobile particle (inv_m3 ≠ 0), each
    once, particles of one copy (``group``) only. Pairs of two held particles are left out:
    their forces never move anything. Brute force, O(n × mobile): built once per try and again
    only when a particle has moved more than half the skin."""
    n = x.shape[0]
    inv_box = 1.0 / box
    all_pairs = r_list >= 0.5 * box
    r2l = r_list * r_list
    count = 0
    for sweep in range(2):
        if sweep == 1:
            pi = np.empty(count, dtype=np.int32)
            pj = np.empty(count, dtype=np.int32)
            count = 0
        for i in range(n):
            if inv_m3[3 * i] == 0.0:  # pairs (held i, mobile j) are listed from j
                continue
            for j in range(n):
                if j == i or group[j] != group[i]:
                    continue
                if j < i and inv_m3[3 * j] != 0.0:  # a mobile pair once
                    continue
                if not all_pairs:
                    r2 = 0.0
                    for k in range(3):
                        dk = x[i, k] - x[j, k]
                        dk -= box * np.rint(dk * inv_box)
                        r2 += dk * dk
                    if r2 >= r2l:
                        continue
                if sweep == 1:
                    pi[count] = i
                    pj[count] = j
                count += 1
    return pi, pj


@njit(cache=True, nogil=True)
def _held_pair_forces(x, f, inv_m3, model, pi, pj):
    """Energy of the pairs (pi, pj) (every pair with a mobile particle: the energy of the
    configuration up to a constant, the held–held pairs') and the forces on the mobile
    particles (zero on held ones), into f."""
    types, box, c12, c6, a, b, rc2 = model.types, model.box, model.c12, model.c6, model.a, model.b, model.rc2
    inv_box = 1.0 / box
    f[:] = 0.0
    e = 0.0
    for p in range(pi.shape[0]):
        i = pi[p]
        j = pj[p]
        d0 = x[i, 0] - x[j, 0]
        d1 = x[i, 1] - x[j, 1]
        d2 = x[i, 2] - x[j, 2]
        d0 -= box * np.rint(d0 * inv_box)
        d1 -= box * np.rint(d1 * inv_box)
        d2 -= box * np.rint(d2 * inv_box)
        r2 = d0 * d0 + d1 * d1 + d2 * d2
        if r2 >= rc2:
            continue
        ti = types[i]
        tj = types[j]
        ee, fr = _pair(r2, c12[ti, tj], c6[ti, tj], a[ti, tj], b[ti, tj])
        e += ee
        f[i, 0] += fr * d0
        f[i, 1] += fr * d1
        f[i, 2] += fr * d2
        f[j, 0] -= fr * d0
        f[j, 1] -= fr * d1
        f[j, 2] -= fr * d2
    ff = f.reshape(-1)
    for c in range(ff.shape[0]):
        if inv_m3[c] == 0.0:
            ff[c] = 0.0
    return e


@njit(cache=True, nogil=True)
def _held_list(x, inv_m3, model):
    """A pair list for :func:`_held_pair_forces` at x: (pi, pj, positions at the build, r_list)."""
    r_list = np.sqrt(model.rc2) + HELD_SKIN
    pi, pj = _held_pairs(x, inv_m3, model.group, model.box, r_list)
    return pi, pj, x.copy(), r_list


@njit(cache=True, nogil=True)
def _held_list_stale(x, x_ref, r_list, model):
    """True when the list built at x_ref may miss a pair at x (some particle moved more than
    half the skin); never for a list of every pair."""
    if r_list >= 0.5 * model.box:
        return False
    return _max_displacement(x, x_ref) > 0.5 * HELD_SKIN


@njit(cache=True, nogil=True)
def _held_nve_pl(x, v, f, inv_m3, dt, steps, model):
    """:func:`_held_nve` on the pair list of :func:`_held_pairs` (forces only where a mobile
    particle takes part: the cost of a try's held stage is that of its mobile particles, not of
    the held ones around them). Returns the energy of the listed pairs at the end."""
    pi, pj, x_ref, r_list = _held_list(x, inv_m3, model)
    e = _held_pair_forces(x, f, inv_m3, model, pi, pj)
    xf, vf, ff = x.reshape(-1), v.reshape(-1), f.reshape(-1)
    half = 0.5 * dt
    for _ in range(steps):
        _kick_drift(xf, vf, ff, inv_m3, half, dt, 0, xf.shape[0])
        if _held_list_stale(x, x_ref, r_list, model):
            pi, pj, x_ref, r_list = _held_list(x, inv_m3, model)
        e = _held_pair_forces(x, f, inv_m3, model, pi, pj)
        _kick(vf, ff, inv_m3, half, 0, xf.shape[0])
    return e


@njit(cache=True, nogil=True)
def _held_fire_pl(x, inv_m3, dt0, ftol, max_steps, model):
    """:func:`_held_fire` on the pair list of :func:`_held_pairs` (same steps, same result up to
    the summation order of the forces)."""
    n3 = x.shape[0] * 3
    f = np.empty_like(x)
    v = np.zeros_like(x)
    xf, vf, ff = x.reshape(-1), v.reshape(-1), f.reshape(-1)
    pi, pj, x_ref, r_list = _held_list(x, inv_m3, model)
    e = _held_pair_forces(x, f, inv_m3, model, pi, pj)
    n_evals = 1
    dt = dt0
    dt_max = FIRE_DT_MAX * dt0
    alpha = FIRE_ALPHA0
    n_pos = 0
    fmax = _max_force(ff)
    for _ in range(max_steps):
        if fmax < ftol:
            break
        dt, alpha, n_pos = _fire_step(xf, vf, ff, inv_m3, dt, dt_max, alpha, n_pos)
        if _held_list_stale(x, x_ref, r_list, model):
            pi, pj, x_ref, r_list = _held_list(x, inv_m3, model)
        e = _held_pair_forces(x, f, inv_m3, model, pi, pj)
        n_evals += 1
        for c in range(n3):
            vf[c] += 0.5 * dt * ff[c] * inv_m3[c]
        fmax = _max_force(ff)
    return e, fmax, n_evals


#: A held quench that ends with every particle within BACK_NEAR (σ) of the IS goes on to
#: max|F| < BACK_FTOL (ε/σ); if then every particle is within BACK_DIST (σ) of the IS, the
#: whole configuration (the held particles exactly at the IS) lies within ~1e-6 σ of the IS
#: with forces ~1e-6: in the IS's basin, where the full quench would return. The try is
#: "back to the IS" without that quench (most local tries are; at large N it is most of a
#: try's cost).
BACK_NEAR = 0.1
BACK_FTOL = 1e-6
BACK_DIST = 1e-3
BACK_MAX_STEPS = 2000


@njit(cache=True, nogil=True)
def _max_displacement(a, b):
    m = 0.0
    for i in range(a.shape[0]):
        m = max(m, (a[i, 0] - b[i, 0]) ** 2 + (a[i, 1] - b[i, 1]) ** 2 + (a[i, 2] - b[i, 2]) ** 2)
    return np.sqrt(m)


@njit(cache=True, nogil=True)
def _held_relax(x_is, idx, v_sub, inv_m3_sub, sub_model, dt, n_steps, ftol_held, max_held, pair_list=False):
    """The held stage of a try: the sub-system ``x_is[idx]`` (``sub_model``: its types and group
    in the full model's box) runs ``n_steps`` MD steps from velocities ``v_sub`` with the held
    particles (``inv_m3_sub`` 0) fixed, then a FIRE quench of its mobile particles to max|F| <
    ``ftol_held`` (at most ``max_held`` steps). ``pair_list``: on the pair list of the mobile
    particles (:func:`_held_nve_pl`, :func:`_held_fire_pl`; for sub-systems of large systems,
    where most sub-system particles are held) instead of the system's force kernel. Returns
    (positions (len(idx), 3), force evaluations of the quench)."""
    m = idx.shape[0]
    xs = np.empty((m, 3))
    for r in range(m):
        for k in range(3):
            xs[r, k] = x_is[idx[r], k]
    v = v_sub.copy()
    f = np.empty_like(xs)
    if pair_list:
        _held_nve_pl(xs, v, f, inv_m3_sub, dt, n_steps, sub_model)
        _, _, ne_held = _held_fire_pl(xs, inv_m3_sub, dt, ftol_held, max_held, sub_model)
    else:
        _held_nve(xs, v, f, inv_m3_sub, dt, n_steps, sub_model)
        _, _, ne_held = _held_fire(xs, inv_m3_sub, dt, ftol_held, max_held, sub_model)
    return xs, ne_held


@njit(cache=True, nogil=True)
def _local_try(x_is, e_is, idx, v_sub, inv_m3_sub, sub_model, masses, dt, n_steps, ftol_held, max_held,
               ftol, max_iter, max_step, method, precond, model, max_move, pair_list=False):
    """One held-region try: the held stage (:func:`_held_relax`) on the sub-system
    ``x_is[idx]``; its positions go back into the full system, which is quenched as a search
    try is (``method``, ``precond``: :func:`tlsviz.engine.minimize._minimize`).

    Returns (:class:`tlsviz.engine.tries.TryResult` as :func:`tlsviz.engine.tries._search_try`,
    the largest displacement of a sub-system particle in the held stage). n_evals counts the
    sub-system's evaluations (MD steps and held quench) and the full quench's. A try whose held
    quench comes back to the IS (:data:`BACK_DIST`) returns x_is itself, ``e_is``, max|F| 0 and
    distances 0, without the full quench. A held stage that moved a particle more than
    ``max_move`` (σ: the sub-system's margin, beyond which particles left out of it would act on
    the mobile ones) stops there and returns x_is, ``e_is`` and converged False: the caller
    redoes the try on the whole system. ``pair_list``: the held stage on the mobile particles'
    pair list (:func:`_held_relax`).
    """
    m = idx.shape[0]
    xs, ne_held = _held_relax(x_is, idx, v_sub, inv_m3_sub, sub_model, dt, n_steps, ftol_held, max_held,
                              pair_list)
    xs_is = np.empty((m, 3))
    for r in range(m):
        for k in range(3):
            xs_is[r, k] = x_is[idx[r], k]
    moved = _max_displacement(xs, xs_is)
    if moved > max_move:
        return TryResult(x_is.copy(), e_is, 0.0, ne_held + n_steps + 1, False, 0.0, 0.0), moved
    if moved < BACK_NEAR:
        if pair_list:
            _, fm, ne_back = _held_fire_pl(xs, inv_m3_sub, dt, BACK_FTOL, BACK_MAX_STEPS, sub_model)
        else:
            _, fm, ne_back = _held_fire(xs, inv_m3_sub, dt, BACK_FTOL, BACK_MAX_STEPS, sub_model)
        ne_held += ne_back
        if fm < BACK_FTOL and _max_displacement(xs, xs_is) < BACK_DIST:
            return TryResult(x_is.copy(), e_is, 0.0, ne_held + n_steps + 1, True, 0.0, 0.0), moved
    x = x_is.copy()
    for r in range(m):
        for k in range(3):
            x[idx[r], k] = xs[r, k]
    xq, e, g, ne, _, conv = _minimize(x, model, ftol, max_iter, max_step, method, precond)
    d = _distance_by_copy(x_is, xq, model.box, masses, False, model.group)
    d_mw = _distance_by_copy(x_is, xq, model.box, masses, True, model.group)
    return TryResult(xq, e, g, ne + ne_held + n_steps + 1, conv, d, d_mw), moved
