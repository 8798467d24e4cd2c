"""From DWPs to two-level systems: the potential along each DWP's path, its tunnelling splitting
(WKB and the exact 1-D Schrödinger equation), TLS energies and the tunnelling-model density P̄.

Everything is in reduced units: the mass-weighted arc length q (σ_AA √m_A; coordinates
scaled by (m_i/m_A)^(1/2), so the mass along q is 1), energies in ε_AA, ħ* = ħ/(σ_AA √(m_A ε_AA))
(0.01316 for Ni80P20, :data:`HBAR_NIP`); :class:`TunnellingAnalysis` gives Kelvin and SI.
The conventions (prefactor, zero-point levels, the tilt that defines Δ₀, P̄) are written
out with their references in docs/tunnelling.md. ::

    well = DoubleWell.from_path(system, res.path(0))   # V(q) along the stored path
    t = tunnelling(well)                               # WKB and exact, ħ* of Ni-P
    t.wkb.lam, t.delta0, t.tls_energy                  # λ, Δ₀ (ε), E = √(Δ² + Δ₀²) (ε)
    ana = TunnellingAnalysis(e_max_k=1.0).compute(cat) # per-DWP table, P̄ (J⁻¹ m⁻³), histograms
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd
from scipy import constants
from scipy.interpolate import CubicSpline
from scipy.linalg import eigh_tridiagonal
from scipy.optimize import brentq, minimize_scalar

from .analysis.units import NI62_U, NI_P

# ------------------------------------------------------------------------- units
#: ε_AA / k_B of the Ni80P20 mapping (K), docs/method.md §1.
EPSILON_K = NI_P.epsilon_k
#: σ_AA of the Ni80P20 mapping (m).
SIGMA_M = NI_P.sigma_m
#: Default upper bound of the TLS energy E (K): a DWP is a TLS when E < E_MAX_K.
E_MAX_K = 1.0


def reduced_hbar(sigma_m: float = SIGMA_M, epsilon_k: float = EPSILON_K, mass_u: float = NI62_U) -> float:
    """ħ* = ħ / (σ_AA √(m_A ε_AA)) from CODATA constants (scipy.constants).

    Ni80P20 (σ = 2.2 Å, ε = 933.9 K k_B, m_A = ⁶²Ni = 61.928 u): ħ* = 0.013164.
    """
    eps_j = epsilon_k * constants.k
    mass_kg = mass_u * constants.atomic_mass
    return float(constants.hbar / (sigma_m * np.sqrt(mass_kg * eps_j)))


#: ħ* of the Ni80P20 mapping (0.013164).
HBAR_NIP = reduced_hbar()


# ------------------------------------------------------------- V(q) along a path
def potential_along_path(system, frames, points_per_segment: int = 16, interpolation: str = "spline",
                         reference: str = "lower"):
    """The potential V(q) along a stored minimum → saddle → minimum path.

    frames: (F, N, 3) unwrapped configurations along the mass-weighted minimum-energy path
    (``res.path(i)`` or ``cat.path(i)``), the two ends being the minima.
    interpolation: "spline" (default) — a cubic spline through the frames in mass-weighted
    configuration space y = (m_i/m_A)^(1/2) x, parametrised by the chord length, and q its arc
    length (Gauss–Legendre quadrature of |dy/ds|); "linear" — straight segments between the
    frames, q the summed chord lengths. A chord cuts the corners of the curved path, so along it
    V is too high by O(h⁴) and q too short by O(h³) per segment (h the frame spacing); the
    spline's errors are of higher order (tests/test_tunnelling.py measures both).
    points_per_segment: energies evaluated per frame interval (the frames themselves included).
    reference: the zero of V: "lower" (the lower of the two end minima, default), "first" (the
    first frame, the IS of a catalogue path) or "none" (the system's total energy).

    Returns (q, V): (n,) arc length (σ√m_A) from the first frame, and (n,) energy (ε), with
    n = (F − 1) · points_per_segment + 1; frame k is sample k · points_per_segment.
    """
    frames = np.asarray(frames, dtype=float)
    npart = system.n_particles
    if frames.ndim != 3 or frames.shape[1:] != (npart, 3) or len(frames) < 3:
        raise ValueError(f"frames must have shape (F >= 3, {npart}, 3) for {system!r}, got {frames.shape}")
    if not np.all(np.isfinite(frames)):
        raise ValueError("frames contain NaN or inf")
    m = int(points_per_segment)
    if m < 1:
        raise ValueError(f"points_per_segment must be an integer >= 1, got {points_per_segment!r}")
    if interpolation not in ("spline", "linear"):
        raise ValueError(f"interpolation must be 'spline' or 'linear', got {interpolation!r}")
    if reference not in ("lower", "first", "none"):
        raise ValueError(f"reference must be 'lower', 'first' or 'none', got {reference!r}")
    sq = np.sqrt(np.asarray(system.masses, dtype=float))[None, :, None]
    y = (frames * sq).reshape(len(frames), -1)
    chord = np.linalg.norm(np.diff(y, axis=0), axis=1)
    if np.any(chord <= 0):
        raise ValueError(f"frames {np.flatnonzero(chord <= 0).tolist()} and the next coincide: "
                         "a path needs distinct consecutive frames")
    s = np.r_[0.0, np.cumsum(chord)]
    frac = np.arange(m) / m
    t = np.r_[(s[:-1, None] + chord[:, None] * frac[None, :]).ravel(), s[-1]]
    if interpolation == "linear":
        k = np.minimum(np.searchsorted(s, t, side="right") - 1, len(chord) - 1)
        w = ((t - s[k]) / chord[k])[:, None]
        pts = (1 - w) * y[k] + w * y[k + 1]
        q = t
    else:
        spline = CubicSpline(s, y, axis=0)
        pts = spline(t)
        pts[::m] = y  # the frames exactly
        nodes, weights = np.polynomial.legendre.leggauss(5)
        mid, half = 0.5 * (t[1:] + t[:-1]), 0.5 * (t[1:] - t[:-1])
        tt = mid[:, None] + half[:, None] * nodes[None, :]
        speed = np.linalg.norm(spline(tt.ravel(), 1), axis=1).reshape(tt.shape)
        q = np.r_[0.0, np.cumsum((speed * weights).sum(axis=1) * half)]
    x = pts.reshape(-1, npart, 3) / sq
    energy = np.array([system.energy(xi) for xi in x])
    ref = {"lower": min(energy[0], energy[-1]), "first": energy[0], "none": 0.0}[reference]
    return q, energy - ref


def _mass_weighted(system, frames):
    """(F, 3N) mass-weighted flat coordinates y = (m_i/m_A)^(1/2) x of frames (F, N, 3), and √m (3N,)."""
    sq = np.sqrt(np.repeat(np.asarray(system.masses, dtype=float), 3))
    return np.asarray(frames, dtype=float).reshape(len(frames), -1) * sq, sq


def path_end_curvatures(system, frames) -> tuple[float, float]:
    """(k_left, k_right): V'' at the two end minima of a path along its own direction there,
    from the analytic Hessian: k = tᵀ M^-1/2 H M^-1/2 t, t the unit tangent of the cubic spline
    through the frames (mass-weighted, chord-parametrised, as :func:`potential_along_path`) at
    that end. Along a curved path V''(q) = tᵀHt + ∇V·(curvature of the path), and ∇V = 0 at a
    minimum, so this is the exact curvature of V(q) there once the tangent is right."""
    frames = np.asarray(frames, dtype=float)
    y, sq = _mass_weighted(system, frames)
    chord = np.linalg.norm(np.diff(y, axis=0), axis=1)
    if len(frames) < 3 or np.any(chord <= 0):
        raise ValueError("a path needs at least three distinct consecutive frames")
    spline = CubicSpline(np.r_[0.0, np.cumsum(chord)], y, axis=0)
    out = []
    for end, s in ((0, 0.0), (-1, float(chord.sum()))):
        t = spline(s, 1)
        t /= np.linalg.norm(t)
        h = system.hessian(frames[end]) / np.outer(sq, sq)
        out.append(float(t @ h @ t))
    return out[0], out[1]


#: Arc-length step (σ √m_A) of the reaction path of :func:`reaction_path`; the error estimate of
#: :class:`TunnellingAnalysis` is the change from a path at twice this step (docs/tunnelling.md,
#: "Accuracy").
REACTION_DS = 0.005
#: :func:`reaction_path` stops when the mass-weighted gradient |∇_y V| is below this (ε/(σ√m_A)).
REACTION_G_STOP = 1e-6
#: The direction in which a reaction path arrives at a minimum is that of ∇V where |∇_y V| has
#: fallen to this (ε/(σ√m_A)), from the quadratic model of the last step (:func:`reaction_path`).
REACTION_G_TANGENT = 1e-7
#: Distance (σ √m_A) from the saddle along the unstable mode where a reaction path starts.
REACTION_START = 1e-4


def reaction_path(system, frames, *, ds: float = REACTION_DS, g_stop: float = REACTION_G_STOP,
                  max_steps: int = 2000, return_tangents: bool = False):
    """The minimum → saddle → minimum reaction path of a stored path, integrated again to a stated
    step by the local quadratic approximation (LQA) of Page & McIver, J. Chem. Phys. 88, 922 (1988).

    A stored path (``res.path(i)``, ``cat.path(i)``) hands its two explicit descents over to a
    quench at max|F| < 3e-3 and joins the quench's end by a straight segment: that stretch, and the
    zig-zag of its 1e-2 step across stiff valleys, left it up to 5e-3 σ off the converged reaction
    path and moved λ by up to 2 % and Δ₀ by up to 50 % (docs/tunnelling.md, "Accuracy"). Here the
    saddle (the stored path's highest frame) is kept, and each side starts ``REACTION_START`` from
    it along ± the unstable mode of the mass-weighted Hessian. Each step takes the mass-weighted
    Hessian H = Σ λ_i v_i v_iᵀ and gradient g at the current point y and moves along the exact
    steepest-descent path of that quadratic model, y(t) = y − Σ_i g_i (1 − e^(−λ_i t)) / λ_i v_i,
    by arc length ``ds`` (no zig-zag: the stiff directions relax exactly within the model); when
    the model's minimum is nearer than the step, the step shrinks 8× at a time down to ds/512 (so
    that the last model, from which the direction of arrival follows, is taken within ~1e-5 of
    the minimum), then goes there (a Newton step). It stops once |g| < ``g_stop`` (at the minimum:
    max|F| ~ 1e-6 ε/σ or less).

    Returns frames (K, N, 3) from the stored path's first end to its last, the saddle among them,
    ~``ds`` apart (K ≈ 150 at the default for a catalogue DWP); :meth:`DoubleWell.from_path` makes
    the well along them. Cost: one Hessian and its eigendecomposition per step (~2 s a DWP at N = 65).
    ``return_tangents``: also return (t_first, t_last), the unit mass-weighted directions in which
    the path arrives at its two ends: that of ∇V where |∇_y V| = ``REACTION_G_TANGENT`` along the
    quadratic model of the last regular step (the path turns onto its final direction only very
    near a minimum; a tangent taken from frames ``ds`` apart mixes in stiff directions, and
    k = tᵀHt is sensitive to them: :meth:`DoubleWell.from_path` ``tangents``).
    """
    frames = np.asarray(frames, dtype=float)
    npart = system.n_particles
    if frames.ndim != 3 or frames.shape[1:] != (npart, 3) or len(frames) < 3:
        raise ValueError(f"frames must have shape (F >= 3, {npart}, 3) for {system!r}, got {frames.shape}")
    if not (ds > 0 and g_stop > 0):
        raise ValueError(f"need ds > 0 and g_stop > 0, got {ds!r}, {g_stop!r}")
    energies = np.array([system.energy(f) for f in frames])
    top = int(np.argmax(energies))
    if top in (0, len(frames) - 1):
        raise ValueError("the path has no barrier: its highest frame is an end")
    sq = np.sqrt(np.repeat(np.asarray(system.masses, dtype=float), 3))
    ys = frames[top].ravel() * sq
    w, v = np.linalg.eigh(system.hessian(frames[top]) / np.outer(sq, sq))
    if not w[0] < 0:
        raise ValueError("the highest frame of the path is not a saddle (no negative curvature)")
    from .search import _one_blas_thread

    sides = []
    for sign in (-1.0, 1.0):
        with _one_blas_thread():  # 195² eigendecompositions: threads only contend (60× slower when loaded)
            ys_, qs_, tan = _lqa_descent(system, sq, ys + sign * REACTION_START * v[:, 0], ds, g_stop,
                                         max_steps)
        sides.append((np.vstack([ys, ys_]), np.r_[0.0, REACTION_START + qs_], tan))
    first = frames[0].ravel() * sq
    if np.linalg.norm(sides[0][0][-1] - first) > np.linalg.norm(sides[1][0][-1] - first):
        sides = sides[::-1]
    (y0, q0), (y1, q1) = (_thin_end(*side[:2], ds) for side in sides)
    out = (np.vstack([y0[::-1], y1[1:]]) / sq).reshape(-1, npart, 3)
    return (out, (sides[0][2], sides[1][2])) if return_tangents else out


def _thin_end(y, q, ds):
    """Drop the points of a side that lie within ds/4 of its end (the minimum) but the end
    itself: the last Newton steps land within round-off of it, where V(q) is flat to 1e-12."""
    keep = np.r_[q[:-1] < q[-1] - 0.25 * ds, True]
    keep[0] = True
    return y[keep], q[keep]


def _lqa_descent(system, sq, y, ds, g_stop, max_steps):
    """Page–McIver LQA steps from y (mass-weighted flat) down to |g| < g_stop: (points (k, n)
    after y, their arc length from y (k,), unit direction of arrival (see :func:`reaction_path`))."""
    npart = len(sq) // 3
    pts, qs = [], []
    q = 0.0
    model = None
    h = ds
    for _ in range(max_steps):
        x = (y / sq).reshape(npart, 3)
        _, f = system.energy_forces(x)
        g = -f.ravel() / sq
        gn = float(np.linalg.norm(g))
        if gn < g_stop:
            break
        lam, vec = np.linalg.eigh(system.hessian(x) / np.outer(sq, sq))
        gi = vec.T @ g
        soft = np.abs(lam) < 1e-9

        def speed(t):
            return np.sqrt(np.sum((gi[:, None] ** 2) * np.exp(np.minimum(-2.0 * np.outer(lam, t), 700.0)), axis=0))

        def disp(t):
            c = np.where(soft, t, -np.expm1(-lam * t) / np.where(soft, 1.0, lam))
            return -(vec @ (gi * c))

        # arc length s(t) = ∫ |dy/dt| dt of the model path: find t with s(t) = h
        while True:
            t_hi = h / gn
            grid = s_grid = None
            for _ in range(60):
                grid = np.linspace(0.0, t_hi, 257)
                sp = speed(grid)
                s_grid = np.r_[0.0, np.cumsum(0.5 * (sp[1:] + sp[:-1]) * np.diff(grid))]
                if s_grid[-1] >= h or np.all(lam[~soft & (np.abs(gi) > 1e-14 * gn)] > 0) and sp[-1] < 1e-6 * sp[0]:
                    break
                t_hi *= 2.0
            if s_grid[-1] >= h or h <= ds / 512:
                break
            h /= 8.0  # near the minimum: shorter steps, so the last model is taken close to it
        if s_grid[-1] >= h:
            t = float(np.interp(h, s_grid, grid))
            step, dq = disp(t), h
            model = (lam, vec, gi)
        else:  # the model's minimum is nearer than ds / 512: go there
            pos = ~soft
            step = -(vec[:, pos] @ (gi[pos] / lam[pos]))
            dq = float(s_grid[-1])
        y = y + step
        q += dq
        pts.append(y.copy())
        qs.append(q)
    else:
        raise RuntimeError(f"the reaction path did not reach a minimum in {max_steps} steps of {ds}")
    if model is None:  # no regular step (the start was within ds of the minimum): the model there
        x = (y / sq).reshape(npart, 3)
        lam, vec = np.linalg.eigh(system.hessian(x) / np.outer(sq, sq))
        model = (lam, vec, vec.T @ (-system.energy_forces(x)[1].ravel() / sq))
    return np.array(pts), np.array(qs), _arrival_direction(*model)


def _arrival_direction(lam, vec, gi, g_end=REACTION_G_TANGENT):
    """Along the quadratic model's steepest-descent path, g_i(t) = g_i e^(−λ_i t): the unit
    direction of g(t) once |g(t)| = g_end (positive modes only; at t = 0 if already below)."""
    pos = lam > 1e-9
    lam, gi = lam[pos], gi[pos]
    norm = lambda t: float(np.sqrt(np.sum((gi * np.exp(-lam * t)) ** 2)))
    lo, hi = 0.0, 1.0
    if norm(0.0) > g_end:
        while norm(hi) > g_end and hi < 1e8:
            lo, hi = hi, 2.0 * hi
        for _ in range(100):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if norm(mid) > g_end else (lo, mid)
    else:
        hi = 0.0
    g = vec[:, pos] @ (gi * np.exp(-lam * hi))
    return g / np.linalg.norm(g)


def _resample_polyline(points, n):
    """n points equally spaced in arc length along a polyline (k, dof), ends kept."""
    s = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))]
    target = np.linspace(0.0, s[-1], n)
    out = np.empty((n, points.shape[1]))
    for k in range(points.shape[1]):
        out[:, k] = np.interp(target, s, points[:, k])
    return out


# ------------------------------------------------------------------ the 1-D well
@dataclass(frozen=True)
class DoubleWell:
    """A 1-D double-well potential V(q) along a mass-weighted coordinate (mass 1).

    q_left < q_top < q_right: the two minima and the barrier top; v_*: V there (ε);
    k_left, k_right: the curvatures V'' at the minima (ε / (σ² m_A)), so that ω = √k (τ⁻¹).
    Call it, ``well(q)``, for V at any q (array or scalar; ``func`` must accept arrays). ``knots``:
    the points where V is not smooth (a spline's knots; None for a smooth V). Wells made from samples
    (:meth:`from_samples`, :meth:`from_path`) are a cubic spline between the minima and the
    harmonic continuation v + k (q − q_min)² / 2 beyond them (the path ends at the minima;
    the wave functions reach a few ħ/ω beyond).
    """

    q_left: float
    q_top: float
    q_right: float
    v_left: float
    v_top: float
    v_right: float
    k_left: float
    k_right: float
    func: Callable = field(repr=False, compare=False)
    #: Where V is not smooth (the knots of a spline, whose third derivative jumps there), or None:
    #: the WKB quadrature splits its intervals there (:func:`wkb_splitting`).
    knots: np.ndarray | None = field(default=None, repr=False, compare=False)

    def __call__(self, q):
        return self.func(q)

    @property
    def omega_left(self) -> float:
        """√(V'') at the first minimum (τ⁻¹)."""
        return float(np.sqrt(self.k_left))

    @property
    def omega_right(self) -> float:
        return float(np.sqrt(self.k_right))

    @property
    def asymmetry(self) -> float:
        """Δ = V(q_right) − V(q_left) (signed, ε)."""
        return self.v_right - self.v_left

    @property
    def barrier(self) -> float:
        """Barrier top above the lower minimum (ε)."""
        return self.v_top - min(self.v_left, self.v_right)

    # ---------------------------------------------------------------- makers
    @classmethod
    def from_samples(cls, q, V, fit_fraction: float = 0.05, k_left: float | None = None,
                     k_right: float | None = None) -> "DoubleWell":
        """A well from samples (q, V) whose two ends are the minima, e.g. ``potential_along_path``.

        The curvature at each minimum is ``k_left`` / ``k_right`` when given (the Hessian along
        the path's tangent: :func:`path_end_curvatures`), else a least-squares fit
        V − V_min = c₂u² + c₃u³ + c₄u⁴ (u = |q − q_min|, no linear term: V' = 0 at a minimum) to
        the samples within ``fit_fraction`` of the distance from that minimum to the barrier top
        (at least the two nearest samples); k = 2 c₂. The fit rests on the few frames nearest the
        minimum, where a stored path bends from stiff directions onto the soft one, and was off by
        up to +42 % on catalogue paths (docs/tunnelling.md, "Accuracy").
        """
        q = np.asarray(q, dtype=float).ravel()
        V = np.asarray(V, dtype=float).ravel()
        if q.shape != V.shape or len(q) < 5:
            raise ValueError(f"q and V must be 1-D of the same length >= 5, got {q.shape} and {V.shape}")
        if not (np.all(np.isfinite(q)) and np.all(np.isfinite(V))):
            raise ValueError("q and V must be finite")
        if np.any(np.diff(q) <= 0):
            raise ValueError("q must increase strictly along the samples")
        i_top = int(np.argmax(V))
        if i_top in (0, len(V) - 1):
            raise ValueError("V has no barrier: its largest value is at an end of the path")
        if not (V[1] > V[0] and V[-2] > V[-1]):
            raise ValueError("the ends of the samples are not minima (V must rise from both ends)")
        spline = CubicSpline(q, V, bc_type=((1, 0.0), (1, 0.0)))
        lo, hi = q[max(i_top - 1, 0)], q[min(i_top + 1, len(q) - 1)]
        res = minimize_scalar(lambda x: -float(spline(x)), bounds=(lo, hi), method="bounded",
                              options=dict(xatol=1e-12 * (q[-1] - q[0])))
        q_top = float(res.x) if -res.fun >= V[i_top] else float(q[i_top])
        v_top = float(spline(q_top))
        for name, k in (("k_left", k_left), ("k_right", k_right)):
            if k is not None and not (np.isfinite(k) and k > 0):
                raise ValueError(f"{name} must be a positive curvature (ε/(σ² m_A)), got {k!r}: "
                                 "the end of the path is not a minimum along its tangent")
        if k_left is None:
            k_left = _end_curvature(q - q[0], V - V[0], (q_top - q[0]) * fit_fraction)
        if k_right is None:
            k_right = _end_curvature(q[-1] - q[::-1], V[::-1] - V[-1], (q[-1] - q_top) * fit_fraction)
        k_left, k_right = float(k_left), float(k_right)
        q_l, q_r, v_l, v_r = float(q[0]), float(q[-1]), float(V[0]), float(V[-1])

        def func(x):
            x = np.asarray(x, dtype=float)
            out = spline(np.clip(x, q_l, q_r))
            out = np.where(x < q_l, v_l + 0.5 * k_left * (x - q_l) ** 2, out)
            out = np.where(x > q_r, v_r + 0.5 * k_right * (x - q_r) ** 2, out)
            return out if out.ndim else float(out)

        return cls(q_l, q_top, q_r, v_l, v_top, v_r, k_left, k_right, func, knots=q.copy())

    @classmethod
    def from_path(cls, system, frames, points_per_segment: int = 16, interpolation: str = "spline",
                  fit_fraction: float = 0.05, curvature: str = "hessian", tangents=None) -> "DoubleWell":
        """The well along a path: :func:`potential_along_path` (V from the lower minimum), then
        :meth:`from_samples`. curvature: "hessian" (default) — k at each end from the analytic
        Hessian along the path's tangent (:func:`path_end_curvatures`); "fit" — the polynomial
        fit of :meth:`from_samples` to the samples near each end. tangents: (t_first, t_last) unit
        mass-weighted directions of arrival at the two ends (:func:`reaction_path`), used for
        "hessian" instead of the spline's tangents."""
        if curvature not in ("hessian", "fit"):
            raise ValueError(f"curvature must be 'hessian' or 'fit', got {curvature!r}")
        q, V = potential_along_path(system, frames, points_per_segment, interpolation)
        if curvature == "fit":
            ks = (None, None)
        elif tangents is None:
            ks = path_end_curvatures(system, frames)
        else:
            sq = np.sqrt(np.repeat(np.asarray(system.masses, dtype=float), 3))
            ks = tuple(float(t @ (system.hessian(frames[e]) / np.outer(sq, sq)) @ t)
                       for t, e in zip(tangents, (0, -1)))
        return cls.from_samples(q, V, fit_fraction, *ks)

    @classmethod
    def from_function(cls, func, q_left: float, q_right: float) -> "DoubleWell":
        """A well from a vectorised function V(q) defined on the whole line, with minima near
        q_left and q_right (refined here); curvatures by a 5-point finite difference."""
        span = float(q_right - q_left)
        if not span > 0:
            raise ValueError(f"need q_left < q_right, got {q_left!r}, {q_right!r}")

        def fs(x):
            return float(func(np.float64(x)))

        def refine(x0, sign):
            r = minimize_scalar(lambda x: sign * fs(x), bounds=(x0 - 0.1 * span, x0 + 0.1 * span),
                                method="bounded", options=dict(xatol=1e-13 * span))
            return float(r.x)

        ql, qr = refine(q_left, 1.0), refine(q_right, 1.0)
        grid = np.linspace(ql, qr, 401)
        qt = float(grid[int(np.argmax(func(grid)))])
        r = minimize_scalar(lambda x: -fs(x), bounds=(qt - span / 400, qt + span / 400), method="bounded",
                            options=dict(xatol=1e-13 * span))
        qt = float(r.x)
        h = 1e-3 * span

        def curv(x):
            return (-fs(x - 2 * h) + 16 * fs(x - h) - 30 * fs(x) + 16 * fs(x + h) - fs(x + 2 * h)) / (12 * h * h)

        kl, kr = curv(ql), curv(qr)
        if not (kl > 0 and kr > 0):
            raise ValueError("V'' is not positive at both minima")
        return cls(ql, qt, qr, fs(ql), fs(qt), fs(qr), kl, kr, func)


def _end_curvature(u, dv, window):
    """k = V''(0) from samples u > 0 (distance from the minimum) and dv = V − V_min."""
    sel = (u > 0) & (u <= window)
    if sel.sum() < 2:
        sel = np.zeros_like(sel)
        sel[1:3] = True
    uu, vv = u[sel], dv[sel]
    n_terms = min(3, len(uu))
    basis = np.stack([uu ** (2 + j) for j in range(n_terms)], axis=1)
    scale = uu.max()
    coef, *_ = np.linalg.lstsq(basis / scale ** np.arange(2, 2 + n_terms), vv, rcond=None)
    k = 2.0 * coef[0] / scale ** 2
    if not k > 0 and dv[1] > 0:
        # the polynomial extrapolates to a non-positive V''(0): the samples are too coarse for it
        # (a stored path of 41 frames has one or two inside the window, and the path bends from
        # the minimum's soft mode to stiffer directions between them). The parabola through the
        # nearest sample is then the best estimate (exact for the harmonic part of the well).
        k = 2.0 * dv[1] / u[1] ** 2
    if not k > 0:
        raise ValueError("the curvature of V at a minimum is not positive: the ends of the path are not minima")
    return float(k)


# --------------------------------------------------------------------------- WKB
#: WKB prefactors Δ₀ = C ħω₀ e^(−λ): Landau–Lifshitz §50 (C = 1/π) and Garg, Am. J. Phys. 68,
#: 430 (2000) (C = 1/√(eπ), the asymptotically exact value; see docs/tunnelling.md).
WKB_PREFACTORS = {"landau": 1.0 / np.pi, "garg": 1.0 / np.sqrt(np.e * np.pi)}


@dataclass(frozen=True)
class WKBSplitting:
    """The WKB tunnelling splitting of a :class:`DoubleWell`.

    lam: λ = (1/ħ) [∫_a^{q_top} √(2(V − E_L)) dq + ∫_{q_top}^b √(2(V − E_R)) dq], E_L, E_R the
    zero-point levels V_min + ħω/2 of each well, a, b their inner turning points.
    delta0: Δ₀ = C ħω₀ e^(−λ) (ε), ω₀ = √(ω_L ω_R), C from :data:`WKB_PREFACTORS`.
    omega0: ω₀ (τ⁻¹). level_left, level_right: E_L, E_R (ε). turning_points: (a, b).
    valid: both levels lie below the barrier top (otherwise λ = 0 and Δ₀ = C ħω₀, no tunnelling).
    lam_error: an upper estimate of the quadrature error of λ (the difference between the
    20- and 10-point Gauss–Legendre rules of :func:`_action`; 0 when ``valid`` is False). It is
    ~1e-12 λ or less for the wells of a catalogue; λ's real uncertainty is that of V(q)
    (docs/tunnelling.md).
    """

    lam: float
    delta0: float
    omega0: float
    level_left: float
    level_right: float
    turning_points: tuple
    prefactor: str
    valid: bool
    lam_error: float = 0.0


def _check_hbar(hbar):
    if not (np.isfinite(hbar) and hbar > 0):
        raise ValueError(f"hbar must be a positive number (reduced units), got {hbar!r}")
    return float(hbar)


def wkb_splitting(well: DoubleWell, hbar: float = HBAR_NIP, prefactor: str = "landau") -> WKBSplitting:
    """Δ₀ = C ħω₀ exp(−λ) for the well (docs/tunnelling.md, "WKB").

    prefactor: "landau" (C = 1/π, Landau & Lifshitz, Quantum Mechanics §50, problem 3; the
    formula of the issue) or "garg" (C = 1/√(eπ), Garg 2000, exact as λ → ∞; it is the
    Landau value times √(π/e) = 1.075). For a symmetric well both reduce to the textbook
    result with E₀ = ħω/2; for an asymmetric one each side of the barrier is integrated at its
    own well's zero-point level (the resonance of the two levels when one well is shifted
    rigidly against the other, which is how the exact Δ₀ is defined) and ω₀ = √(ω_L ω_R).
    """
    hbar = _check_hbar(hbar)
    if prefactor not in WKB_PREFACTORS:
        raise ValueError(f"prefactor must be one of {sorted(WKB_PREFACTORS)}, got {prefactor!r}")
    wl, wr = well.omega_left, well.omega_right
    omega0 = float(np.sqrt(wl * wr))
    el = well.v_left + 0.5 * hbar * wl
    er = well.v_right + 0.5 * hbar * wr
    c = WKB_PREFACTORS[prefactor]
    if el >= well.v_top or er >= well.v_top:
        return WKBSplitting(0.0, c * hbar * omega0, omega0, el, er, (np.nan, np.nan), prefactor, False)
    a = _turning_point(well, well.q_left, well.q_top, el, inner_end="right")
    b = _turning_point(well, well.q_top, well.q_right, er, inner_end="left")

    s_left, err_left = _action(well, a, well.q_top, el)
    s_right, err_right = _action(well, b, well.q_top, er)
    lam = (s_left + s_right) / hbar
    return WKBSplitting(float(lam), float(c * hbar * omega0 * np.exp(-lam)), omega0, float(el), float(er),
                        (float(a), float(b)), prefactor, True, float((err_left + err_right) / hbar))


#: Gauss–Legendre rules of the action integral: the result (20 points per piece) and the lower
#: order (10) whose difference from it is the error estimate.
_GAUSS_HIGH = np.polynomial.legendre.leggauss(20)
_GAUSS_LOW = np.polynomial.legendre.leggauss(10)
#: The action integral's interval in u is cut into at least this many equal pieces (and at the knots).
ACTION_PIECES = 16


def _action(well: DoubleWell, turning: float, top: float, level: float) -> tuple[float, float]:
    """∫ √(2(V(q) − level)) dq between a turning point V(turning) = level and the barrier top,
    and an estimate of its quadrature error.

    Why not adaptive quadrature (QUADPACK, as before): at the turning point the integrand has a
    square-root edge, and a V made from samples is a cubic spline whose third derivative jumps at
    every knot (hundreds of them); at a tight tolerance QUADPACK then stops with "roundoff error
    detected" (an IntegrationWarning on 5 of the 32 DWPs of the demo catalogue). Here the
    substitution q = turning + (top − turning) u² turns the square-root edge into a smooth
    u² behaviour (V − level ∝ q − turning near a simple turning point), and the interval in u is
    cut at the knots (mapped to u) and into at least :data:`ACTION_PIECES` equal pieces, so that
    each piece holds one polynomial piece of V: there Gauss–Legendre converges fast. The result
    is the 20-point rule on every piece; the error estimate is its difference from the 10-point
    rule (an upper estimate: the 20-point rule's error is far smaller).
    """
    span = float(top - turning)
    breaks = np.linspace(0.0, 1.0, ACTION_PIECES + 1)
    if well.knots is not None:
        t = (np.asarray(well.knots, dtype=float) - turning) / span
        breaks = np.union1d(breaks, np.sqrt(t[(t > 0.0) & (t < 1.0)]))
    lo, hi = breaks[:-1, None], breaks[1:, None]

    def rule(nodes, weights):
        u = 0.5 * (lo + hi) + 0.5 * (hi - lo) * nodes[None, :]
        v = np.asarray(well((turning + span * u * u).ravel()), dtype=float).reshape(u.shape)
        f = np.sqrt(np.maximum(2.0 * (v - level), 0.0)) * 2.0 * abs(span) * u
        return float((0.5 * (hi - lo) * (f * weights[None, :])).sum())

    high = rule(*_GAUSS_HIGH)
    return high, abs(high - rule(*_GAUSS_LOW))


def _turning_point(well, lo, hi, level, inner_end):
    """The turning point V = level in [lo, hi] next to the barrier: the crossing nearest to the
    top (``inner_end``: the side of the interval where the top is)."""
    grid = np.linspace(lo, hi, 2001)
    below = np.asarray(well(grid)) <= level
    if inner_end == "right":
        i = int(np.flatnonzero(below)[-1])
        x0, x1 = grid[i], grid[min(i + 1, len(grid) - 1)]
    else:
        i = int(np.flatnonzero(below)[0])
        x0, x1 = grid[max(i - 1, 0)], grid[i]
    if x0 == x1:
        return float(x0)
    return float(brentq(lambda x: float(well(x)) - level, x0, x1, xtol=1e-14 * (hi - lo), rtol=1e-14))


# ---------------------------------------------------------- exact 1-D solution
#: Default grid: points per smallest length (ħ/ω)^(1/2) or 1/κ_max = ħ/√(2 V_top) of the problem.
POINTS_PER_LENGTH = 40
#: Default extent of the grid beyond each minimum, in oscillator lengths (ħ/ω)^(1/2) of that well.
EXTENT = 10.0
#: A Δ₀ below this many times the eigenvalue precision is reported as not resolved.
RESOLUTION = 100.0


@dataclass(frozen=True)
class Levels:
    """Lowest eigenpairs of −(ħ²/2) ψ'' + V ψ = E ψ on a uniform grid (Dirichlet ends).

    q: (n,) grid; energies: (k,); states: (n, k) normalised so that Σ ψ² dq = 1 (None when not
    asked for); precision: absolute accuracy of each eigenvalue, eps · ‖T‖₁ (ε).
    """

    q: np.ndarray
    energies: np.ndarray
    states: np.ndarray | None
    precision: float


def _grid(well: DoubleWell, hbar, points_per_length, extent):
    if not (np.isfinite(points_per_length) and points_per_length >= 4):
        raise ValueError(f"points_per_length must be a number >= 4, got {points_per_length!r}")
    if not (np.isfinite(extent) and extent > 0):
        raise ValueError(f"extent must be a positive number of oscillator lengths, got {extent!r}")
    ll, lr = np.sqrt(hbar / well.omega_left), np.sqrt(hbar / well.omega_right)
    kappa = np.sqrt(2.0 * max(well.barrier, 0.0)) / hbar
    length = min(ll, lr, 1.0 / kappa if kappa > 0 else np.inf)
    dq = length / float(points_per_length)
    lo, hi = well.q_left - extent * ll, well.q_right + extent * lr
    n = int(np.ceil((hi - lo) / dq)) + 1
    return np.linspace(lo, hi, n)


def schrodinger_levels(well: DoubleWell, hbar: float = HBAR_NIP, n_levels: int = 2, *, tilt: float = 0.0,
                       points_per_length: float = POINTS_PER_LENGTH, extent: float = EXTENT,
                       states: bool = False, grid=None) -> Levels:
    """The lowest ``n_levels`` levels of the well (plus ``tilt`` · s(q), see :func:`tilt_step`),
    by second-order finite differences and :func:`scipy.linalg.eigh_tridiagonal`.

    The grid (unless given) runs from ``extent`` oscillator lengths (ħ/ω)^(1/2) before the first
    minimum to as far beyond the second, with spacing min((ħ/ω_L)^(1/2), (ħ/ω_R)^(1/2),
    ħ/√(2 V_top)) / points_per_length. The eigenvalues converge as dq² (tests).
    """
    hbar = _check_hbar(hbar)
    if isinstance(n_levels, bool) or not isinstance(n_levels, (int, np.integer)) or n_levels < 1:
        raise ValueError(f"n_levels must be an integer >= 1, got {n_levels!r}")
    q = _grid(well, hbar, points_per_length, extent) if grid is None else np.asarray(grid, dtype=float)
    if q.ndim != 1 or len(q) <= n_levels + 2:
        raise ValueError(f"the grid must be 1-D with more than {n_levels + 2} points, got shape {q.shape}")
    dq = q[1] - q[0]
    kin = hbar * hbar / (dq * dq)
    diag = kin + np.asarray(well(q), dtype=float)
    if tilt:
        diag = diag + tilt * tilt_step(well, q)
    off = np.full(len(q) - 1, -0.5 * kin)
    precision = float(np.finfo(float).eps * (np.abs(diag).max() + kin))
    if states:
        w, v = eigh_tridiagonal(diag, off, select="i", select_range=(0, n_levels - 1))
        v = v / np.sqrt(dq)
        return Levels(q, w, v, precision)
    w = eigh_tridiagonal(diag, off, eigvals_only=True, select="i", select_range=(0, n_levels - 1))
    return Levels(q, w, None, precision)


def tilt_step(well: DoubleWell, q):
    """s(q) = (1 + tanh((q − q_top)/w)) / 2: 0 in the first well, 1 in the second, a smooth step
    of width w = 5 % of the shorter side at the barrier top. V + f·s shifts the second well
    rigidly by f against the first."""
    w = 0.05 * min(well.q_top - well.q_left, well.q_right - well.q_top)
    return 0.5 * (1.0 + np.tanh((np.asarray(q, dtype=float) - well.q_top) / w))


@dataclass(frozen=True)
class ExactSplitting:
    """The tunnelling splitting from the exact 1-D Schrödinger equation.

    e0, e1: the two lowest levels of the well as it is (ε, same zero as V); splitting = e1 − e0.
    delta0: Δ₀, the smallest e1 − e0 when the second well is shifted rigidly by f against the
    first (V + f s(q), :func:`tilt_step`): the gap at the resonance of the two localised ground
    states (ε; NaN when not resolved, or when the well holds no such doublet).
    level_asymmetry: the asymmetry of the two localised ground levels at f = 0, E_R − E_L, zero-
    point energies included (ε, signed; it is −c f* with f* the resonant shift, c = |⟨0|2s−1|1⟩|
    at resonance, ≈ 1).
    tilt: f* (ε). precision: eigenvalue accuracy (ε). resolved: Δ₀ > 100 × precision.
    valid: the resonance was found (a doublet of localised states exists).
    """

    e0: float
    e1: float
    splitting: float
    delta0: float
    level_asymmetry: float
    tilt: float
    precision: float
    resolved: bool
    valid: bool
    n_grid: int

    @property
    def tls_energy(self) -> float:
        """E = √(level_asymmetry² + Δ₀²) (ε); NaN where Δ₀ is not resolved."""
        return float(np.hypot(self.level_asymmetry, self.delta0))


def exact_splitting(well: DoubleWell, hbar: float = HBAR_NIP, *, points_per_length: float = POINTS_PER_LENGTH,
                    extent: float = EXTENT, max_iter: int = 50) -> ExactSplitting:
    """Δ₀ and the level asymmetry from the exact 1-D problem (docs/tunnelling.md, "Exact").

    The resonance shift f* is found by Newton steps on the two-level relation
    ⟨0|2s − 1|0⟩ = −(E_R − E_L + f)/(e1 − e0), started from the harmonic estimate
    f = (v_L + ħω_L/2) − (v_R + ħω_R/2); a bounded minimisation of e1 − e0 over f is the
    fallback. Then Δ₀ = √(gap² − δ²) at the last step (δ the remaining level asymmetry).
    """
    hbar = _check_hbar(hbar)
    q = _grid(well, hbar, points_per_length, extent)
    base = schrodinger_levels(well, hbar, 2, grid=q)
    e0, e1 = (float(x) for x in base.energies)
    prec = base.precision
    f = (well.v_left + 0.5 * hbar * well.omega_left) - (well.v_right + 0.5 * hbar * well.omega_right)
    step = tilt_step(well, q)
    sign = 2.0 * step - 1.0
    dq = q[1] - q[0]
    nan = float("nan")

    def solve(f):
        lv = schrodinger_levels(well, hbar, 2, tilt=f, grid=q, states=True)
        psi = lv.states
        z00 = float((psi[:, 0] ** 2 * sign).sum() * dq)
        z01 = float((psi[:, 0] * psi[:, 1] * sign).sum() * dq)
        return float(lv.energies[1] - lv.energies[0]), z00, z01

    converged = False
    gap, z00, z01 = solve(f)
    for _ in range(max_iter):
        p = float(np.hypot(z00, z01)) or 1.0
        delta = -gap * z00 / p
        if abs(delta) <= max(1e-3 * gap, 10.0 * prec):  # then √(gap² − δ²) is well conditioned
            converged = True
            break
        f = f - delta / p
        gap, z00, z01 = solve(f)
    if not converged:  # fall back on minimising the gap near the harmonic estimate
        span = 0.5 * hbar * min(well.omega_left, well.omega_right)
        r = minimize_scalar(lambda x: solve(x)[0], bounds=(f - span, f + span), method="bounded",
                            options=dict(xatol=max(1e-9 * span, prec)))
        f = float(r.x)
        gap, z00, z01 = solve(f)
        converged = abs(z00) < 0.5 and abs(z01) > 0.5  # both states delocalised: a resonance
    if not converged:
        return ExactSplitting(e0, e1, e1 - e0, nan, nan, nan, prec, False, False, len(q))
    p = float(np.hypot(z00, z01)) or 1.0
    delta = -gap * z00 / p
    d0 = float(np.sqrt(max(gap * gap - delta * delta, 0.0)))
    level_asym = delta - p * f
    resolved = d0 > RESOLUTION * prec
    return ExactSplitting(e0, e1, e1 - e0, d0 if resolved else nan, float(level_asym), float(f), prec,
                          bool(resolved), True, len(q))


# ------------------------------------------------------------------ one DWP
@dataclass(frozen=True)
class Tunnelling:
    """WKB and exact tunnelling of one DWP (reduced units: ε, τ⁻¹).

    delta0: the best Δ₀ — the exact one where resolved, else the WKB one (``delta0_source``).
    tls_energy: E = √(Δ² + Δ₀²) with Δ the exact level asymmetry (zero-point energies
    included) and the best Δ₀; NaN where the exact solution finds no doublet.
    """

    well: DoubleWell
    wkb: WKBSplitting
    exact: ExactSplitting
    hbar: float

    @property
    def delta0(self) -> float:
        return self.exact.delta0 if self.exact.resolved else self.wkb.delta0

    @property
    def delta0_source(self) -> str:
        return "exact" if self.exact.resolved else "wkb"

    @property
    def tls_energy(self) -> float:
        if not self.exact.valid:
            return float("nan")
        return float(np.hypot(self.exact.level_asymmetry, self.delta0))


def tunnelling(well: DoubleWell, hbar: float = HBAR_NIP, *, prefactor: str = "landau",
               points_per_length: float = POINTS_PER_LENGTH, extent: float = EXTENT) -> Tunnelling:
    """WKB (:func:`wkb_splitting`) and exact (:func:`exact_splitting`) tunnelling of one well."""
    return Tunnelling(well, wkb_splitting(well, hbar, prefactor),
                      exact_splitting(well, hbar, points_per_length=points_per_length, extent=extent),
                      _check_hbar(hbar))


# ------------------------------------------------------------------- density P̄
#: Confidence level of the one-sided upper limit on P̄ (:func:`poisson_upper_limit`).
UPPER_LIMIT_CL = 0.95


def poisson_upper_limit(n: int, cl: float = UPPER_LIMIT_CL) -> float:
    """The one-sided upper limit μ of a Poisson mean after observing n events, at confidence cl.

    μ solves P(N ≤ n | μ) = 1 − cl, i.e. μ = ½ χ²_cl(2(n + 1)) (Garwood, Biometrika 28, 437 (1936);
    Gehrels, Astrophys. J. 303, 336 (1986)). For n = 0 it is −ln(1 − cl): 2.996 at 95 %, the
    "3 events" of a search that found none.
    """
    from scipy.stats import chi2

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a count (an integer >= 0), got {n!r}")
    if not 0.0 < cl < 1.0:
        raise ValueError(f"cl must lie between 0 and 1, got {cl!r}")
    return float(0.5 * chi2.ppf(cl, 2 * (int(n) + 1)))


def tls_density(tls_energy, delta0, volume: float, e_max: float) -> dict:
    """The tunnelling-model density P̄ and the TLS density n₀ from TLS found in a volume.

    tls_energy, delta0: per DWP (any energy unit, the same as e_max; NaN entries are no TLS);
    volume: the volume searched (any unit). With the TLS = DWPs with 0 < E < e_max and their
    weights w = (Δ₀/E)²:

    - P̄ = Σ_TLS w / (volume · e_max), error √(Σ_TLS w²) / (volume · e_max);
    - n₀ = N_TLS / (volume · e_max), error √N_TLS / (volume · e_max) (1 count if N_TLS = 0, and
      then also the P̄ error is that of one count of weight 1);
    - p_bar_upper = μ₉₅(N_TLS) / (volume · e_max), with μ₉₅ the one-sided 95 % Poisson upper limit
      of the number of TLS (:func:`poisson_upper_limit`; 2.996 for N_TLS = 0). It bounds n₀ and,
      because every weight (Δ₀/E)² is at most 1, P̄ too. It is the number to quote when no TLS
      was found: P̄ = 0 ± (one count) says nothing, "P̄ < p_bar_upper at 95 %" does (the bound
      shrinks as 1 / volume searched).

    In the standard tunnelling model P(Δ, Δ₀) = P̄/Δ₀ (Δ ≥ 0), and the (Δ₀/E)²-weighted density of
    TLS per unit energy is P̄ at every E, so the first line estimates P̄ without an assumption on
    the smallest Δ₀ (docs/tunnelling.md). Returns dict(n_tls, weight_sum, p_bar, p_bar_err, n0,
    n0_err, p_bar_upper) in (energy unit)⁻¹ (volume unit)⁻¹.
    """
    e = np.asarray(tls_energy, dtype=float).ravel()
    d0 = np.asarray(delta0, dtype=float).ravel()
    if e.shape != d0.shape:
        raise ValueError(f"tls_energy and delta0 must have the same length, got {e.shape} and {d0.shape}")
    if not (volume > 0 and e_max > 0):
        raise ValueError(f"volume and e_max must be positive, got {volume!r}, {e_max!r}")
    tls = np.isfinite(e) & (e > 0) & (e < e_max)
    w = np.clip(d0[tls] / e[tls], 0.0, 1.0) ** 2
    w = np.where(np.isfinite(w), w, 0.0)
    norm = volume * e_max
    n = int(tls.sum())
    return dict(n_tls=n, weight_sum=float(w.sum()), p_bar=float(w.sum() / norm),
                p_bar_err=float(np.sqrt((w ** 2).sum()) / norm if n else 1.0 / norm),
                n0=n / norm, n0_err=float(np.sqrt(max(n, 1)) / norm), p_bar_upper=poisson_upper_limit(n) / norm)


#: Columns of :attr:`TunnellingAnalysis.table` (energies in K, ω in τ⁻¹).
TABLE_COLUMNS = ["is_id", "dwp_id", "asymmetry", "barrier", "omega_left", "omega_right", "lambda_wkb",
                 "delta0_wkb", "delta0_exact", "delta0", "delta0_source", "level_asymmetry", "splitting",
                 "tls_energy", "is_tls", "weight", "below_barrier", "lambda_err", "delta0_err"]


#: The tunnelling columns a catalogue stores beside its DWP rows (:func:`tunnelling_columns`):
#: the WKB exponent λ, Δ₀ (K), the TLS energy E = √(Δ² + Δ₀²) (K) and whether E < :data:`E_MAX_K`.
TUNNELLING_COLUMNS = ("lambda_wkb", "delta0_K", "tls_energy_K", "is_tls")


def tunnelling_columns(arclength, energies) -> dict:
    """The :data:`TUNNELLING_COLUMNS` of one DWP from its stored path: V(q) as a cubic spline
    through the stored frame energies against the stored mass-weighted arc length, as
    :class:`TunnellingAnalysis` with ``source="stored"`` (Ni-P units). A profile that is not a
    double well gives NaN and ``is_tls`` False. About 0.3 s per DWP: a campaign computes them
    once, when it writes the catalogue, so that nothing reading it has to."""
    e = np.asarray(energies, dtype=float)
    try:
        row = TunnellingAnalysis(source="stored").row(DoubleWell.from_samples(np.asarray(arclength, dtype=float),
                                                                              e - min(e[0], e[-1])))
    except (ValueError, RuntimeError):
        return dict(lambda_wkb=np.nan, delta0_K=np.nan, tls_energy_K=np.nan, is_tls=False)
    return dict(lambda_wkb=float(row["lambda_wkb"]), delta0_K=float(row["delta0"]),
                tls_energy_K=float(row["tls_energy"]), is_tls=bool(row["is_tls"]))


def with_tunnelling_columns(dwps: pd.DataFrame, arclengths, energies) -> pd.DataFrame:
    """A copy of a DWP table with the :data:`TUNNELLING_COLUMNS` added (row i from the stored
    path arc length and energies i), with fixed dtypes also when the table is empty."""
    rows = [tunnelling_columns(q, e) for q, e in zip(arclengths, energies)]
    out = dwps.copy()
    for c in TUNNELLING_COLUMNS:
        out[c] = np.array([r[c] for r in rows], dtype=bool if c == "is_tls" else np.float64)
    return out


class TunnellingAnalysis:
    """Tunnelling splittings, TLS and the density P̄ of a catalogue (issue 6, parts 1–4).

    Parameters
    ----------
    e_max_k : a DWP is a TLS when its energy E = √(Δ² + Δ₀²) < e_max_k (K).
    source : "reaction" (default) — the reaction path integrated again from the stored saddle
        (:func:`reaction_path`, arc-length step ``REACTION_DS``), V(q) along a cubic spline through
        its frames and the curvature at each minimum from the Hessian along the path
        (:meth:`DoubleWell.from_path`); Δ₀ within 5 % and λ within 0.2 % of a converged path on
        the certified pairs, ~2–3 s per DWP (docs/tunnelling.md, "Accuracy"); "path" — the same
        along the stored frames (fast; their last stretch is a straight segment to the quench's
        end, which moved Δ₀ by up to 50 %); "stored" — a cubic spline through the stored frame
        energies against the stored arc length, curvatures fitted (no energy evaluation; coarser).
    error_estimate : with source "reaction", integrate each path a second time at twice the step
        and give the change of λ and Δ₀ from that path to the one used as ``lambda_err`` and
        ``delta0_err`` (NaN otherwise; +50 % cost). The error falls with the step, so this is an
        upper estimate of the error left.
    prefactor : WKB prefactor, "landau" or "garg" (:func:`wkb_splitting`).
    epsilon_k, sigma_m, mass_u : the mapping to a real glass (Ni80P20 by default); ħ* follows.
    bins : number of histogram bins of the distributions.

    Results (after :meth:`compute`): :attr:`table` — one row per row of ``cat.dwps``:
    ``is_id, dwp_id``, ``asymmetry`` and ``barrier`` (K, from the path's V), ``omega_left,
    omega_right`` (τ⁻¹), ``lambda_wkb``, ``delta0_wkb``, ``delta0_exact`` (K; NaN where not
    resolved), ``delta0`` (K, the exact value where resolved, else WKB; ``delta0_source``),
    ``level_asymmetry`` (K, signed, zero-point energies included), ``splitting`` (K, E₁ − E₀ of
    the well as it is), ``tls_energy`` (K), ``is_tls``, ``weight`` ((Δ₀/E)² for TLS, else 0),
    ``below_barrier`` (both zero-point levels below the barrier top: a double well also quantum
    mechanically, and the WKB applies), ``lambda_err, delta0_err`` (λ, and K: the change of λ and
    Δ₀ between the reaction path at twice the step and the one used, see ``error_estimate``);
    :attr:`density` — a one-row DataFrame: ``n_is, n_dwps, n_tls, volume_m3, e_max_k, e_max_j,
    hbar, p_bar, p_bar_err, n0, n0_err, p_bar_upper`` (J⁻¹ m⁻³; ``p_bar_upper`` the one-sided 95 %
    upper limit of :func:`tls_density`, the number to quote when ``n_tls`` is 0, as
    :meth:`p_bar_summary` does); :attr:`distributions` — tidy histograms:
    ``quantity`` ("lambda_wkb" or "log10_delta0", Δ₀ in K), ``subset`` ("all" or "tls"),
    ``bin_left, bin_right, count``.
    """

    def __init__(self, e_max_k: float = E_MAX_K, source: str = "reaction", points_per_segment: int = 16,
                 prefactor: str = "landau", epsilon_k: float = EPSILON_K, sigma_m: float = SIGMA_M,
                 mass_u: float = NI62_U, bins: int = 30, error_estimate: bool = True):
        if not (np.isfinite(e_max_k) and e_max_k > 0):
            raise ValueError(f"e_max_k must be a positive energy in K, got {e_max_k!r}")
        if source not in ("reaction", "path", "stored"):
            raise ValueError(f"source must be 'reaction', 'path' or 'stored', got {source!r}")
        self.error_estimate = bool(error_estimate)
        if prefactor not in WKB_PREFACTORS:
            raise ValueError(f"prefactor must be one of {sorted(WKB_PREFACTORS)}, got {prefactor!r}")
        self.e_max_k = float(e_max_k)
        self.source = source
        self.points_per_segment = int(points_per_segment)
        self.prefactor = prefactor
        self.epsilon_k = float(epsilon_k)
        self.sigma_m = float(sigma_m)
        self.mass_u = float(mass_u)
        self.hbar = reduced_hbar(sigma_m, epsilon_k, mass_u)
        self.bins = int(bins)
        self._results = None

    def _get(self, name):
        if self._results is None:
            raise RuntimeError(f"TunnellingAnalysis: call .compute(catalog) before reading .{name}")
        return self._results[name]

    def well(self, cat, i: int, system=None, ds: float = REACTION_DS) -> DoubleWell:
        """The :class:`DoubleWell` of DWP row i of the catalogue, as :meth:`compute` builds it
        (``ds``: the step of the reaction path, source "reaction")."""
        if self.source == "stored":
            e = np.asarray(cat.path_energies(i), dtype=float)
            return DoubleWell.from_samples(cat.path_arclength(i), e - min(e[0], e[-1]))
        system = system if system is not None else cat.system()
        frames, tangents = cat.path(i), None
        if self.source == "reaction":
            frames, tangents = reaction_path(system, frames, ds=ds, return_tangents=True)
        return DoubleWell.from_path(system, frames, self.points_per_segment, tangents=tangents)

    def row(self, well: DoubleWell) -> dict:
        """The table's columns (after is_id, dwp_id) for one well: energies in K."""
        ek = self.epsilon_k
        t = tunnelling(well, self.hbar, prefactor=self.prefactor)
        e = t.tls_energy * ek
        is_tls = bool(np.isfinite(e) and e < self.e_max_k)
        return dict(
            asymmetry=abs(well.asymmetry) * ek, barrier=well.barrier * ek, omega_left=well.omega_left,
            omega_right=well.omega_right, lambda_wkb=t.wkb.lam, delta0_wkb=t.wkb.delta0 * ek,
            delta0_exact=t.exact.delta0 * ek, delta0=t.delta0 * ek, delta0_source=t.delta0_source,
            level_asymmetry=t.exact.level_asymmetry * ek, splitting=t.exact.splitting * ek, tls_energy=e,
            is_tls=is_tls, weight=float(min(t.delta0 * ek / e, 1.0) ** 2) if is_tls else 0.0,
            below_barrier=t.wkb.valid)

    def compute(self, catalog, rows=None, callback=None) -> "TunnellingAnalysis":
        """catalog: a :class:`tlsviz.Catalog` or a path to one. rows: DWP rows to use (default all;
        the density then counts the TLS among those rows, in the volume of all the IS).
        callback(k, n) is called after each DWP."""
        from .catalog import Catalog

        cat = catalog if isinstance(catalog, Catalog) else Catalog.open(catalog)
        system = cat.system()
        dwps = cat.dwps
        rows = range(len(dwps)) if rows is None else [int(r) for r in rows]
        out = []
        for k, i in enumerate(rows):
            try:
                row = self.row(self.well(cat, i, system))
                row.update(lambda_err=np.nan, delta0_err=np.nan)
                if self.error_estimate and self.source == "reaction":
                    coarser = self.row(self.well(cat, i, system, ds=2.0 * REACTION_DS))
                    row.update(lambda_err=abs(coarser["lambda_wkb"] - row["lambda_wkb"]),
                               delta0_err=abs(coarser["delta0"] - row["delta0"]))
            except (ValueError, RuntimeError):  # a path whose profile is not a double well: no numbers
                row = dict.fromkeys(TABLE_COLUMNS[2:], np.nan)
                row.update(delta0_source="none", is_tls=False, weight=0.0, below_barrier=False)
            out.append(dict(is_id=int(dwps.is_id.iloc[i]), dwp_id=int(dwps.dwp_id.iloc[i]), **row))
            if callback is not None:
                callback(k + 1, len(rows))
        table = pd.DataFrame(out, columns=TABLE_COLUMNS)
        n_is = len(cat.minima)
        volume_m3 = n_is * system.n_particles / system.density * self.sigma_m ** 3
        e_max_j = self.e_max_k * constants.k
        if n_is and len(table):
            dens = tls_density(table.tls_energy.to_numpy() * constants.k, table.delta0.to_numpy() * constants.k,
                               volume_m3, e_max_j)
        else:
            nan = float("nan")
            dens = dict(n_tls=0, p_bar=nan, p_bar_err=nan, n0=nan, n0_err=nan, p_bar_upper=nan)
            if n_is:  # IS searched, no DWP in them: the same numbers as no TLS among the DWPs
                dens = tls_density([], [], volume_m3, e_max_j)
        density = pd.DataFrame([dict(n_is=n_is, n_dwps=len(table), n_tls=dens["n_tls"], volume_m3=volume_m3,
                                     e_max_k=self.e_max_k, e_max_j=e_max_j, hbar=self.hbar, p_bar=dens["p_bar"],
                                     p_bar_err=dens["p_bar_err"], n0=dens["n0"], n0_err=dens["n0_err"],
                                     p_bar_upper=dens["p_bar_upper"])])
        self._results = dict(table=table, density=density, distributions=self._histograms(table))
        return self

    def _histograms(self, table):
        rows = []
        values = {"lambda_wkb": table.lambda_wkb.to_numpy(float),
                  "log10_delta0": np.log10(np.where(table.delta0 > 0, table.delta0, np.nan).astype(float))}
        tls = table.is_tls.to_numpy(bool)
        for name, v in values.items():
            ok = np.isfinite(v)
            if not ok.any():
                continue
            lo, hi = float(v[ok].min()), float(v[ok].max())
            edges = np.linspace(lo, hi if hi > lo else lo + 1.0, self.bins + 1)
            for subset, sel in (("all", ok), ("tls", ok & tls)):
                counts, _ = np.histogram(v[sel], edges)
                rows += [dict(quantity=name, subset=subset, bin_left=a, bin_right=b, count=int(c))
                         for a, b, c in zip(edges[:-1], edges[1:], counts)]
        return pd.DataFrame(rows, columns=["quantity", "subset", "bin_left", "bin_right", "count"])

    @property
    def table(self) -> pd.DataFrame:
        return self._get("table")

    @property
    def density(self) -> pd.DataFrame:
        return self._get("density")

    @property
    def p_bar(self) -> tuple[float, float]:
        """(P̄, its error) in J⁻¹ m⁻³."""
        d = self.density.iloc[0]
        return float(d.p_bar), float(d.p_bar_err)

    def p_bar_summary(self) -> str:
        """P̄ in one line for people: "k TLS among n DWPs; P̄ = x ± y J⁻¹ m⁻³", or, when the
        catalogue holds no TLS, "no TLS in this catalogue (...); P̄ < bound J⁻¹ m⁻³" with the
        one-sided 95 % upper limit ``p_bar_upper`` (see :func:`tls_density`)."""
        d = self.density.iloc[0]
        if not d.n_is:
            return "no inherent structures in this catalogue: P̄ is undefined"
        if d.n_tls == 0:
            mu = poisson_upper_limit(0)
            return (f"no TLS in this catalogue (none of its {int(d.n_dwps)} DWPs in {int(d.n_is)} IS has "
                    f"E < {self.e_max_k:g} K); P̄ < {d.p_bar_upper:.2g} J⁻¹ m⁻³ (95 % upper limit: "
                    f"{mu:.3g} TLS / ({d.volume_m3:.3g} m³ × {self.e_max_k:g} K))")
        return (f"{int(d.n_tls)} TLS among {int(d.n_dwps)} DWPs; P̄ = {d.p_bar:.3g} ± {d.p_bar_err:.2g} J⁻¹ m⁻³ "
                f"(95 % upper limit {d.p_bar_upper:.2g})")

    @property
    def distributions(self) -> pd.DataFrame:
        return self._get("distributions")

    def plot(self, ax=None, quantity: str = "lambda_wkb"):
        """Histogram of λ (``quantity="lambda_wkb"``) or log₁₀ Δ₀ (``"log10_delta0"``), all DWPs and TLS."""
        if quantity not in ("lambda_wkb", "log10_delta0"):
            raise ValueError(f"quantity must be 'lambda_wkb' or 'log10_delta0', got {quantity!r}")
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots()
        h = self.distributions
        h = h[h.quantity == quantity]
        if h.empty:
            ax.text(0.5, 0.5, "no DWPs", transform=ax.transAxes, ha="center", va="center", color="0.4")
            return ax
        for subset, label in (("all", "all DWPs"), ("tls", f"TLS (E < {self.e_max_k:g} K)")):
            s = h[h.subset == subset]
            if s["count"].sum():
                ax.stairs(s["count"].to_numpy(), np.r_[s.bin_left.to_numpy(), s.bin_right.to_numpy()[-1]],
                          label=label, fill=subset == "tls", alpha=0.5 if subset == "tls" else 1.0)
        ax.set_xlabel("λ (WKB exponent)" if quantity == "lambda_wkb" else "log₁₀ Δ₀ / K")
        ax.set_ylabel("DWPs")
        ax.legend(frameon=False)
        return ax
