"""From DWPs to two-level systems: the potential along each DWP's path, its tunnelling splitting
(WKB and the exact 1-D Schrödinger equation), TLS energies and the tunnelling-model density P̄.

Everything is in reduced units: the mass-weighted arc length q (σ_AA √m_A; coordinates
scaled by (m_i/m_A)^(1/2), so the mass along q is 1), energies in ε_AA, ħ* = ħ/(σ_AA √(m_A ε_AA))
(0.01316 for Ni80P20, :data:`HBAR_NIP`). The conventions (prefactor, zero-point levels, the
tilt that defines Δ₀, P̄) are written out with their references in docs/tunnelling.md. ::

    well = DoubleWell.from_path(system, res.path(0))   # V(q) along the stored path
    t = tunnelling(well)                               # WKB and exact, ħ* of Ni-P
    t.wkb.lam, t.delta0, t.tls_energy                  # λ, Δ₀ (ε), E = √(Δ² + Δ₀²) (ε)

The analysis of a whole catalogue (per-DWP table in K, the density P̄ in J⁻¹ m⁻³, histograms) is
:class:`tlsviz.analysis.tunnelling.TunnellingAnalysis`.
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
    y, sq = _mass_weighted(system, frames)
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
    x = (pts / sq).reshape(-1, npart, 3)
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
    y, sq = _mass_weighted(system, frames)
    ys = y[top]
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
    first = y[0]
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


# ------------------------------------------------- names that moved to analysis/
#: The catalogue analysis lives in :mod:`tlsviz.analysis.tunnelling`; these names stay importable
#: from here (``from tlsviz.tunnelling import TunnellingAnalysis``, the campaign and the explorer
#: import ``tunnelling_columns``). They are looked up on first use (PEP 562) because that module
#: imports this one. ``tls_density`` and ``TABLE_COLUMNS`` are the old names of
#: ``tunnelling_model_density`` and ``TUNNELLING_TABLE_COLUMNS``.
_MOVED = {"TunnellingAnalysis": "TunnellingAnalysis", "TUNNELLING_COLUMNS": "TUNNELLING_COLUMNS",
          "tunnelling_columns": "tunnelling_columns", "with_tunnelling_columns": "with_tunnelling_columns",
          "poisson_upper_limit": "poisson_upper_limit", "UPPER_LIMIT_CL": "UPPER_LIMIT_CL",
          "tunnelling_model_density": "tunnelling_model_density", "tls_density": "tunnelling_model_density",
          "TUNNELLING_TABLE_COLUMNS": "TUNNELLING_TABLE_COLUMNS", "TABLE_COLUMNS": "TUNNELLING_TABLE_COLUMNS"}


def __getattr__(name):
    if name in _MOVED:
        from .analysis import tunnelling as _analysis

        value = getattr(_analysis, _MOVED[name])
        globals()[name] = value  # the next access is a plain attribute
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
