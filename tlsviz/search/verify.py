"""The saddle stage of a pair (IS, nearby minimum): ridge saddle, Hessian checks, final filter,
descent paths and the stored path (:func:`verify_pair`, one verdict per pair), also for systems of
several copies (:func:`verify_pair_by_copy`), and the certificate of a starting minimum."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine.modes import SPARSE_MIN_N
from ..engine.saddle import descent_path, mass_weighted_unstable_mode, ridge_point_basins, ridge_saddle
from ..engine.surfaces import SystemSurface
from ..engine._blas import _one_blas_thread
from .descriptors import central_particles, participation_ratios
from .identity import same_minimum
from .params import SearchParams

#: A descent path from a saddle hands over to the quench once max|F| (ε/σ) has come down the
#: slope (been above PATH_F_RISEN) and fallen below PATH_F_STOP: from there to the minimum is
#: ≲ 1.5 % of the path's mass-weighted length, and the integrator, whose steps shrink with the
#: force in the stiff valley floor, would spend a quarter of its evaluations on it.
PATH_F_STOP = 0.003
PATH_F_RISEN = 0.3
#: A second minimum whose largest force (ε/σ) in the whole system is above this is not a
#: minimum (as an IS is tested in :class:`tlsviz.search.SearchRun`): e.g. the end of a quench
#: with particles held fixed (a local try's), which exists only while they are held. A search
#: whose quench tolerance ``ftol`` is looser is tested at 10 × ftol instead.
STATIONARY_FTOL = 1e-6


@dataclass(frozen=True)
class PairVerdict:
    """What :func:`verify_pair` says of a pair: a verified DWP, or why the pair is dismissed.

    record: the DWP's row (columns of :data:`tlsviz.search.DWP_COLUMNS` but those the search adds:
    ``is_id``, ``dwp_id``, ``count``, ``tries``, ``first_try``, and ``copy`` with one copy), None
    when dismissed. arrays: ``minimum`` and ``saddle`` (N, 3), ``path`` (n_frames, N, 3),
    ``path_energy`` and ``path_arclength`` (n_frames,), None when dismissed. reason: why the pair
    is dismissed ("" when verified). ``ok``: the pair is a verified DWP.
    """

    record: dict | None = None
    arrays: dict | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.record is not None

    @classmethod
    def dismissed(cls, reason: str) -> "PairVerdict":
        """The verdict on a dismissed pair."""
        return cls(reason=reason)

#: Lowest modes computed to certify a minimum or a saddle from
#: :data:`tlsviz.engine.modes.SPARSE_MIN_N` particles on (sparse Hessian, Lanczos): the count of
#: negative modes is exact up to CERT_MODES − 1, which covers "minimum", "first-order saddle" and
#: the order of the higher ones the dismissal reasons give.
CERT_MODES = 10


def certifying_modes(system, x):
    """The eigenvalues that certify x as a minimum or a first-order saddle: the whole spectrum
    (dense Hessian) below :data:`tlsviz.engine.modes.SPARSE_MIN_N` particles, the
    :data:`CERT_MODES` lowest (sparse Hessian) from there on (:meth:`tlsviz.KobAndersen.modes`)."""
    if system.n_particles >= SPARSE_MIN_N:
        return system.modes(x, vectors=False, k=CERT_MODES, sparse=True)
    return system.modes(x, vectors=False)


def certify_minimum(system, x) -> dict:
    """The method's test of a minimum (docs/method.md §5), for a starting inherent structure:
    the Hessian at x, translations removed, has no negative eigenvalue (below
    ``-tlsviz.engine.modes.NEGATIVE_TOL``). A point where the forces vanish may be a saddle
    (a quench can stop on one); the DWP's two minima are tested this way in
    :func:`verify_pair`, and this tests the IS once per search. From
    :data:`tlsviz.engine.modes.SPARSE_MIN_N` particles on, the :data:`CERT_MODES` lowest
    eigenvalues are computed (:func:`certifying_modes`).

    Returns ``is_certified`` (no negative mode), ``is_negative_modes`` (their number) and
    ``is_lowest_eigenvalue`` (ε/σ², the softest non-translational curvature; its size says
    how close the IS is to losing its stability).
    """
    with _one_blas_thread():
        m = certifying_modes(system, x)
    return dict(is_certified=bool(m.n_negative == 0), is_negative_modes=int(m.n_negative),
                is_lowest_eigenvalue=float(m.lowest))


def _aligned(x_ref, x, box):
    """x moved particle by particle to the periodic image nearest x_ref."""
    d = x - x_ref
    return x_ref + d - box * np.rint(d / box)


def _resample(points, masses, n):
    """n points equally spaced in mass-weighted arc length along a polyline (k, dof)."""
    sq = np.sqrt(masses)
    seg = np.linalg.norm(np.diff(points * sq, axis=0), axis=1)
    s = np.r_[0.0, np.cumsum(seg)]
    target = np.linspace(0.0, s[-1], n)
    out = np.empty((n, points.shape[1]))
    for k in range(points.shape[1]):
        out[:, k] = np.interp(target, s, points[:, k])
    return out


def third_minimum_reason(e_third: float, e_is: float) -> str:
    """The dismissal reason of a pair joined through a third minimum of energy ``e_third``:
    "connects a third minimum (E = …, … ε below/above the IS)"; tables filter on its start."""
    de = e_third - e_is
    return f"connects a third minimum (E = {e_third:.6f} ε, {abs(de):.3g} ε {'below' if de < 0 else 'above'} the IS)"


def _which_minimum(system, x_is, e_is, x2, e_min, q, params) -> str:
    """Where the converged quench q ended: "is" (the IS), "min" (the pair's minimum x2) or "third"."""
    if same_minimum(system, x_is, e_is, q.positions, q.energy, params.e_same, params.d_same):
        return "is"
    if same_minimum(system, x2, e_min, q.positions, q.energy, params.e_same, params.d_same):
        return "min"
    return "third"


def _failed_ridge_reason(system, surface, x_is, e_is, x2, e_min, res, params) -> str:
    """Why a ridge walk from the pair found no saddle: when one side of the last ridge point
    drains (descent path, then quench) into neither minimum, the walk followed the border of a
    third minimum through which the pair is joined (:func:`third_minimum_reason`); otherwise
    "no saddle found (<the walk's message>; <where the two sides of the last ridge point drain>)":
    to the IS and the minimum (the walk lost a border it was on), or both to one of them (the
    pair left the border: e.g. a second well so shallow that the ridge reached its bottom)."""
    if res.mode is None:
        return f"no saddle found ({res.message})"
    n = system.n_particles
    where = []
    for x_end, _ in ridge_point_basins(surface, res.positions, res.mode, f_stop=PATH_F_STOP):
        q = system.quench(x_end.reshape(n, 3), ftol=params.ftol, method=params.minimizer)
        if not q.converged:
            where.append("an unconverged quench")
            continue
        which = _which_minimum(system, x_is, e_is, x2, e_min, q, params)
        if which == "third":
            return third_minimum_reason(q.energy, e_is)
        where.append("the IS" if which == "is" else "the minimum")
    sides = (f"both sides of the last ridge point drain to {where[0]}" if where[0] == where[1]
             else f"the sides of the last ridge point drain to {where[0]} and {where[1]}")
    return f"no saddle found ({res.message}; {sides})"


def verify_pair(system, x_is, e_is, x_min, e_min, params: SearchParams = SearchParams(), surface=None):
    """Find and certify the saddle between x_is and x_min.

    Returns a :class:`PairVerdict`: the DWP's record and arrays when it is verified
    (``verdict.ok``), else the reason the pair is dismissed.
    With several copies the pair is verified in the one copy it changes
    (:func:`verify_pair_by_copy`).
    """
    if system.copies > 1:
        return verify_pair_by_copy(system, x_is, e_is, x_min, e_min, params, surface)
    surface = surface or SystemSurface(system)
    n = system.n_particles
    x2 = _aligned(x_is, x_min, system.box)
    f_max = float(np.max(np.linalg.norm(system.energy_forces(x2)[1], axis=1)))
    if not f_max < max(STATIONARY_FTOL, 10.0 * params.ftol):
        return PairVerdict.dismissed(f"second minimum is not a minimum of the full system (max |F| = "
                                     f"{f_max:.1e} ε/σ)")
    modes_min = certifying_modes(system, x2)
    if modes_min.n_negative:
        return PairVerdict.dismissed(f"second minimum has {modes_min.n_negative} negative mode(s)")
    res = ridge_saddle(surface, x_is.ravel(), x2.ravel(), ftol=params.ftol)
    if not res.converged:
        return PairVerdict.dismissed(_failed_ridge_reason(system, surface, x_is, e_is, x2, e_min, res, params))
    xs = res.positions.reshape(n, 3)
    modes_s = certifying_modes(system, xs)
    if modes_s.n_negative != 1:
        kind = "a minimum" if modes_s.n_negative == 0 else f"a saddle of order {modes_s.n_negative}"
        return PairVerdict.dismissed(f"higher-order saddle: the ridge ended on {kind}" if modes_s.n_negative > 1
                                     else f"no saddle found: the ridge ended on {kind}")
    # the final filter on d_mw,rp needs only the saddle: before the descent paths, which cost
    # more than everything else of a pair
    d_rp = system.distance(x_is, xs) + system.distance(xs, x2)
    d_mwrp = system.distance(x_is, xs, True) + system.distance(xs, x2, True)
    if d_mwrp >= params.d_max:
        return PairVerdict.dismissed(f"d_mw,rp = {d_mwrp:.3f} is not below d_max = {params.d_max}")
    mode = mass_weighted_unstable_mode(surface, xs)
    ends, sides = [], []
    for sign in (-1.0, 1.0):
        pts, es = descent_path(surface, xs.ravel(), sign * mode, f_stop=PATH_F_STOP, f_risen=PATH_F_RISEN)
        q = system.quench(pts[-1].reshape(n, 3), ftol=params.ftol, method=params.minimizer)
        if not q.converged:
            return PairVerdict.dismissed("quench did not converge (descent from the saddle)")
        ends.append(q)
        sides.append(np.vstack([pts, q.positions.ravel()]))
    which = [_which_minimum(system, x_is, e_is, x2, e_min, q, params) for q in ends]
    if sorted(which) != ["is", "min"]:
        if "third" in which:
            return PairVerdict.dismissed(third_minimum_reason(ends[which.index("third")].energy, e_is))
        return PairVerdict.dismissed("both sides of the saddle reach the same minimum")
    if which[0] == "min":
        sides = sides[::-1]
    # path IS → saddle → second minimum, n_frames equally spaced in mass-weighted arc length per side
    half = (params.n_frames + 1) // 2
    m3 = np.repeat(system.masses, 3)
    to_is = _resample(sides[0], m3, half)
    to_min = _resample(sides[1], m3, half)
    frames = np.vstack([to_is[::-1], to_min[1:]]).reshape(-1, n, 3)
    # arc length along the frames themselves: the raw descent steps zig-zag across stiff valleys
    # by up to ~10 %, which would inflate q (and a tunnelling exponent) without moving the path
    step = np.linalg.norm(np.diff(frames.reshape(len(frames), -1) * np.sqrt(m3), axis=0), axis=1)
    arclen = np.r_[0.0, np.cumsum(step)]
    energies = np.array([system.energy(fr) for fr in frames])
    disp = system.displacements(x_is, x2)
    q1, q2, q3, q4 = participation_ratios(disp)
    rec = dict(
        is_energy=e_is, min_energy=e_min, saddle_energy=res.energy,
        asymmetry=abs(e_min - e_is), barrier=res.energy - min(e_is, e_min), barrier_from_is=res.energy - e_is,
        d=system.distance(x_is, x2), d_mw=system.distance(x_is, x2, True), d_rp=d_rp, d_mwrp=d_mwrp,
        **central_particles(disp, system.types), pr1=q1, pr2=q2, pr3=q3, pr4=q4,
        lambda_neg=float(modes_s.eigenvalues[0]),
    )
    arrays = dict(minimum=x2, saddle=xs, path=frames, path_energy=energies, path_arclength=arclen)
    return PairVerdict(rec, arrays)


def verify_pair_by_copy(system, x_is, e_is, x_min, e_min, params: SearchParams = SearchParams(), surface=None):
    """:func:`verify_pair` for a system of several non-interacting copies ("2 × N").

    Copies do not interact, so a DWP of the whole system changes one copy and leaves the
    others in their IS: the pair is identified copy by copy (:func:`tlsviz.search.same_minimum` on the
    one-copy system, each copy's translation a symmetry). A second minimum that changes no
    copy, or more than one (two independent transitions, as two distant regions of one large
    system would be), is dismissed. The changed copy c is verified as the one-copy system it
    is (:meth:`KobAndersen.single_copy`: ridge, polish, certification and descent paths on its
    n particles, so the others' translations and modes never enter), then embedded in the
    whole system: the other copies stay at the IS in the second minimum, the saddle and every
    path frame; energies are the whole system's (the others' energy added), the asymmetry,
    barriers, distances, participation ratios and λ_neg those of copy c (the other copies do
    not move, so the whole system's are the same); particle indices (``*_index`` columns)
    are the whole system's, and ``copy`` = c.
    """
    one = system.single_copy()
    x_is = system.check_positions(x_is, "x_is")
    x2 = _aligned(x_is, system.check_positions(x_min, "x_min"), system.box)
    changed, parts = [], []
    for c in range(system.copies):
        sl = system.copy_slice(c)
        e_c, e2_c = one.energy(x_is[sl]), one.energy(x2[sl])
        parts.append((sl, e_c, e2_c))
        if not same_minimum(one, x_is[sl], e_c, x2[sl], e2_c, params.e_same, params.d_same):
            changed.append(c)
    if len(changed) != 1:
        return PairVerdict.dismissed("the second minimum is the IS (every copy the same minimum)" if not changed else
                                     f"changes {len(changed)} copies ({', '.join(map(str, changed))}): not one DWP")
    c = changed[0]
    sl, e_c, e2_c = parts[c]
    sub_surface = SystemSurface(one)
    verdict = verify_pair(one, x_is[sl], e_c, x2[sl], e2_c, params, sub_surface)
    if surface is not None:
        surface.n_evals += sub_surface.n_evals
    if not verdict.ok:
        return verdict
    rec, arrays = verdict.record, verdict.arrays
    e_other = e_is - e_c  # the other copies' energy, at the IS throughout

    def whole(xc):
        x = x_is.copy()
        x[sl] = xc
        return x

    rec = dict(rec)
    for key in ("min_energy", "saddle_energy"):
        rec[key] = rec[key] + e_other
    rec["is_energy"] = e_is
    for key in rec:
        if key.endswith("_index"):
            rec[key] = int(rec[key]) + sl.start
    rec["copy"] = c
    out = dict(arrays)
    out["minimum"], out["saddle"] = whole(arrays["minimum"]), whole(arrays["saddle"])
    out["path"] = np.array([whole(fr) for fr in arrays["path"]])
    out["path_energy"] = arrays["path_energy"] + e_other
    return PairVerdict(rec, out)
