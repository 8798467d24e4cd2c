"""Local tries (``SearchParams(mode="local")``): each try excites one region around a centre
particle and quenches (docs/search.md, "Local tries").

Try k of a search of inherent structure ``is_id`` has centre particle ``k mod N`` and draws
its velocities from the same stream ``SeedSequence([seed, is_id, k])`` as a global try (all N
Gaussian triples; the sphere's particles use theirs), so the centres and the streams of a
search depend only on (seed, IS, try), never on how many workers run it. Two designs:

``"free"`` (default)
    the particles within ``r_loc`` of the centre get Maxwell velocities at ``t_search`` (their
    total momentum removed), all others zero; NVE and quench of the whole system
    (:func:`tlsviz.engine.tries._search_tries`).
``"held"``
    the particles within ``r_loc`` of the centre (in the IS) get Maxwell velocities at
    ``t_search`` (their total momentum removed); they and the particles of a ``buffer`` shell
    around them run ``n_search`` velocity-Verlet steps and a FIRE quench with every particle
    beyond held fixed (:mod:`tlsviz.engine.local`, on the sub-system that acts on the mobile
    particles, forces only on pairs with a mobile particle when it is part of a large system;
    a held stage that moves a particle more than :data:`SUB_MARGIN` is redone on a sub-system
    whose margin covers the move, or on the whole system); then the whole system is quenched as
    a global try is. The MD's energy stays in
    the region instead of spreading through the system, and the MD costs what the region
    costs, whatever N is.

Whatever a try does, the minimum it returns comes from the quench of the whole system, and
everything after the tries (windows, same-minimum identity, ridge saddle, Hessian checks,
connection) is the global search's (:mod:`tlsviz.search.run`), in the full system.
"""

from __future__ import annotations

import numpy as np

from ..engine import minimize
from ..engine.local import _held_inv_m3, _local_try
from ..engine.streams import pcg64_streams
from ..engine.tries import TryBatch, _search_tries
from .params import SearchParams

#: The held quench stops at this max|F| (ε/σ) on the mobile particles; the full quench ends it.
HELD_FTOL = 1e-2
#: Step cap of the held quench.
HELD_MAX_STEPS = 500
#: Margin (σ) beyond r_loc + buffer + r_c within which held particles enter the sub-system:
#: mobile particles move, and their neighbours within r_c must stay in it. A held stage that
#: moves a particle further is redone on the whole system (:func:`run_local_tries`).
SUB_MARGIN = 0.5


def check_local(system, params: SearchParams) -> None:
    """Raise ValueError, saying what to change, when the local parameters do not fit ``system``:
    ``r_loc`` must be below half the box (a larger sphere would meet its own periodic image)."""
    if params.mode != "local":
        return
    half = system.box / 2
    if params.r_loc >= half:
        raise ValueError(f"r_loc = {params.r_loc:g} σ is not below half the box ({half:.4g} σ at N = "
                         f"{system.n_particles}): the excited sphere would meet its own periodic image. "
                         f"Use r_loc < {half:.4g} (e.g. 1.5), or the global search (mode='global')")


def check_spheres(system, x_is, params: SearchParams) -> None:
    """Raise ValueError when ``r_loc`` is below every particle's nearest-neighbour distance in
    the IS ``x_is``: each sphere then holds its centre alone, whose momentum removal zeroes its
    velocity, and no try excites anything. Warn (RuntimeWarning) when only some spheres hold
    fewer than 2 particles: their tries excite nothing."""
    if params.mode != "local":
        return
    x = np.asarray(x_is, dtype=np.float64)
    n = system.n_particles
    nearest = np.empty(n)
    for lo in range(0, n, 256):
        d = x[lo:lo + 256, None, :] - x[None, :, :]
        d -= system.box * np.rint(d / system.box)
        r = np.sqrt((d * d).sum(axis=2))
        r[system.group[lo:lo + 256, None] != system.group[None, :]] = np.inf  # other copy
        r[np.arange(r.shape[0]), np.arange(lo, lo + r.shape[0])] = np.inf  # itself
        nearest[lo:lo + 256] = r.min(axis=1)
    alone = int(np.count_nonzero(nearest >= params.r_loc))
    if alone == n:
        raise ValueError(f"r_loc = {params.r_loc:g} σ is below every particle's nearest-neighbour distance "
                         f"(the smallest is {nearest.min():.3g} σ): each sphere holds its centre alone, whose "
                         f"momentum removal zeroes its velocity, so no try excites anything. Use r_loc > "
                         f"{nearest.max():.3g} σ (e.g. 1.2)")
    if alone:
        import warnings

        warnings.warn(f"r_loc = {params.r_loc:g} σ: the spheres of {alone} of {n} centre particles hold the "
                      f"centre alone (nearest neighbour beyond r_loc), so their tries excite nothing; "
                      f"r_loc > {nearest.max():.3g} σ gives every sphere 2 particles or more",
                      RuntimeWarning, stacklevel=3)


def local_tries_total(system, params: SearchParams, tries: int) -> int:
    """The number of tries of a search: ``tries_per_particle`` × N in local mode when set, else
    ``tries``."""
    if params.mode == "local" and params.tries_per_particle is not None:
        return int(params.tries_per_particle) * system.n_particles
    return int(tries)


def centre_of_try(system, k: int) -> int:
    """The centre particle of local try k: k mod N (every particle in turn)."""
    return int(k) % system.n_particles


def _minimum_image_distances(system, x, i):
    d = x - x[i]
    d -= system.box * np.rint(d / system.box)
    return np.sqrt((d * d).sum(axis=1))


def region(system, x_is, centre: int, params: SearchParams, margin: float | None = None):
    """The particles of a local try around ``centre`` (in the IS x_is), each an index array:
    ``sphere`` (within r_loc: excited), ``mobile`` (within r_loc + buffer: they move in the
    "held" design), ``sub`` (within r_loc + buffer + r_c + ``margin``, by default
    :data:`SUB_MARGIN`: the sub-system of the held MD and quench, sorted; all particles when
    that is most of the system). Only particles of the centre's copy (a "2 × N" system: the
    others do not interact with it)."""
    margin = SUB_MARGIN if margin is None else margin
    r = _minimum_image_distances(system, x_is, centre)
    own = system.group == system.group[centre]
    sphere = np.flatnonzero(own & (r < params.r_loc))
    mobile = np.flatnonzero(own & (r < params.r_loc + params.buffer))
    sub = np.flatnonzero(own & (r < params.r_loc + params.buffer + system.rc + margin))
    if len(sub) > 0.8 * system.n_particles:
        sub = np.arange(system.n_particles)
    return sphere, mobile, sub


def local_velocities(system, ks, *, seed, is_id=0, params: SearchParams = SearchParams(), x_is):
    """The velocities (len(ks), N, 3) of local tries ``ks`` from the IS ``x_is`` (N, 3),
    required: the spheres are taken in it. Each try's stream draws N Gaussian triples as a
    global try; the particles of its sphere (:func:`region` of centre k mod N) get Maxwell
    velocities at ``t_search`` with their total momentum removed, the others zero."""
    g = np.empty((len(ks), system.n_particles, 3))
    for b, rng in enumerate(pcg64_streams(seed, is_id, ks)):
        rng.standard_normal(out=g[b])
    v = np.zeros_like(g)
    scale = np.sqrt(params.t_search / system.masses)
    for b, k in enumerate(ks):
        sphere, _, _ = region(system, x_is, centre_of_try(system, k), params)
        vs = g[b, sphere] * scale[sphere, None]
        m = system.masses[sphere]
        vs -= (m[:, None] * vs).sum(axis=0) / m.sum()
        v[b, sphere] = vs
    return v


def _sub_model(model, sub):
    """The model of the particles ``sub`` (types and group taken), same box and pair tables."""
    return model._replace(types=np.ascontiguousarray(model.types[sub]), group=np.ascontiguousarray(model.group[sub]))


def _held_try(system, x_is, e_is, sub, is_mobile, v, params, method, precond, max_move):
    """One held try on the sub-system ``sub`` (all particles: the full model):
    :func:`tlsviz.engine.local._local_try`'s (TryResult, largest held-stage displacement)."""
    model = system.model if len(sub) == system.n_particles else _sub_model(system.model, sub)
    inv_m3 = _held_inv_m3(system.masses[sub], is_mobile[sub])
    return _local_try(x_is, e_is, sub.astype(np.int64), np.ascontiguousarray(v[sub]), inv_m3, model,
                      system.masses, params.dt, int(params.n_search), HELD_FTOL, HELD_MAX_STEPS,
                      params.ftol, minimize.MAX_ITER, minimize.MAX_STEP, method, precond, system.model,
                      float(max_move), len(sub) < system.n_particles)


def run_local_tries(system, x_is, ks, *, seed, is_id=0, params: SearchParams = SearchParams(),
                    precond=None) -> TryBatch:
    """Local tries ``ks`` (:func:`tlsviz.search.run_tries`'s contract): a
    :class:`tlsviz.engine.tries.TryBatch`, one entry per try of ``ks``."""
    if precond is None:
        from .preconditioner import hessian_preconditioner

        precond = hessian_preconditioner(system, x_is, params)
    x_is = np.ascontiguousarray(x_is, dtype=np.float64)
    v = local_velocities(system, ks, seed=seed, is_id=is_id, params=params, x_is=x_is)
    method = minimize.METHODS[params.minimizer]
    if params.design == "free":
        return _search_tries(x_is, v, system.masses, params.dt, int(params.n_search), params.ftol,
                             minimize.MAX_ITER, minimize.MAX_STEP, method, precond, system.model)
    b = len(ks)
    n = system.n_particles
    e_is = system.energy(x_is)
    out = TryBatch(np.empty((b, n, 3)), np.empty(b), np.empty(b), np.empty(b, dtype=np.int64),
                   np.empty(b, dtype=np.bool_), np.empty(b), np.empty(b))
    for t, k in enumerate(ks):
        centre = centre_of_try(system, k)
        _, mobile, sub = region(system, x_is, centre, params)
        is_mobile = np.zeros(n, dtype=np.bool_)
        is_mobile[mobile] = True
        res = None
        if len(sub) < n:
            res, moved = _held_try(system, x_is, e_is, sub, is_mobile, v[t], params, method, precond,
                                   SUB_MARGIN)
            if moved > SUB_MARGIN:  # particles left out of the sub-system may act: redo on more
                res = None
                # the same held stage on a sub-system whose margin covers the move seen, checked
                # again; the whole system when that is no smaller or moves further still
                margin = moved + SUB_MARGIN
                _, _, wider = region(system, x_is, centre, params, margin)
                if len(sub) < len(wider) < n:
                    res, moved = _held_try(system, x_is, e_is, wider, is_mobile, v[t], params, method, precond,
                                           margin)
                    if moved > margin:
                        res = None
        if res is None:
            res, _ = _held_try(system, x_is, e_is, np.arange(n), is_mobile, v[t], params, method, precond,
                               np.inf)
        for a, r in zip(out, res):
            a[t] = r
    return out
