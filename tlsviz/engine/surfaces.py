"""Potential energy surfaces as seen by the saddle and path methods.

A surface works on flat coordinate vectors (n,) and provides

- ``energy_forces(x) -> (float, (n,) forces)``,
- ``hessian(x) -> (n, n)``,
- ``null_space`` : (n, k) orthonormal directions of exact symmetry (the rigid
  translations of a periodic system) or an (n, 0) array,
- ``masses`` : (n,) per coordinate, for mass-weighted paths,
- ``max_displacement(dx)`` : the largest displacement of one particle in dx.

and optionally ``use_sparse`` with ``sparse_hessian(x)`` (a scipy sparse matrix): the saddle
polish and the unstable mode then use :mod:`tlsviz.engine.sparse_saddle`.

:class:`SystemSurface` adapts a :class:`tlsviz.KobAndersen`, and also runs the ridge steps and
the descent paths in compiled code (``ridge_walk``, ``descent``: the saddle and path methods
use them when a surface has them); :class:`MullerBrown`
is the classic analytic 2-D test surface (Müller & Brown, Theor. Chim. Acta 53,
75 (1979)); :class:`CurvedValley` a 2-D double well joined by a strongly curved valley.
"""

from __future__ import annotations

import numpy as np

from . import potential
from .descent import _descent
from .minimize import _max_force
from .modes import SPARSE_MIN_N, translation_basis
from .sparse_hessian import sparse_hessian
from .ridge import RidgeState, _ridge_walk


class SystemSurface:
    """The glass of a :class:`tlsviz.KobAndersen` as a surface on flat (3N,) coordinates.

    ``energy_forces`` and ``hessian`` are the system's kernels (the same bits as
    :meth:`tlsviz.KobAndersen.energy_forces` and :meth:`tlsviz.KobAndersen.hessian`). It also
    runs the ridge walk and the descent path compiled (:meth:`ridge_walk`, :meth:`descent`), which
    :func:`tlsviz.engine.saddle.ridge_saddle` and :func:`tlsviz.engine.saddle.descent_path` use in
    place of their Python loops.

    Parameters
    ----------
    system : KobAndersen
        The system; its ``model`` is read at each call.

    Attributes
    ----------
    shape : tuple
        (N, 3), the shape of the system's positions.
    null_space : (3N, 3 · copies) ndarray
        Orthonormal rigid translations of each copy (:func:`tlsviz.engine.modes.translation_basis`).
    masses : (3N,) ndarray
        Each particle's mass, repeated for its three coordinates.
    n_evals : int
        Energy and force evaluations made through this surface, those of the compiled walks included.
    """

    def __init__(self, system):
        self.system = system
        self.shape = (system.n_particles, 3)
        self.null_space = translation_basis(system.group)
        self.masses = np.repeat(system.masses, 3)
        self.n_evals = 0
        self.sparse = None

    def energy_forces(self, x):
        """Energy and forces at x.

        Parameters
        ----------
        x : (3N,) ndarray
            Positions, flat; unwrapped positions are fine (the kernels apply the minimum image).

        Returns
        -------
        energy : float
            [ε].
        forces : (3N,) ndarray
            −∇E [ε/σ], flat.
        """
        self.n_evals += 1
        e, f = potential._energy_forces(np.ascontiguousarray(x.reshape(self.shape)), self.system.model)
        return e, f.ravel()

    def hessian(self, x):
        """The analytic Hessian (3N, 3N) at flat x [ε/σ²], translations not removed."""
        return potential._hessian(np.ascontiguousarray(x.reshape(self.shape)), self.system.model)

    @property
    def use_sparse(self) -> bool:
        """Whether the saddle polish and the unstable mode use the sparse Hessian
        (:mod:`tlsviz.engine.sparse_saddle`): from :data:`tlsviz.engine.modes.SPARSE_MIN_N`
        particles on, or as set by ``surface.sparse = True / False`` (None: by size)."""
        return self.system.n_particles >= SPARSE_MIN_N if self.sparse is None else bool(self.sparse)

    def sparse_hessian(self, x):
        """The Hessian at flat x as a sparse BSR matrix (:mod:`tlsviz.engine.sparse_hessian`)."""
        return sparse_hessian(np.ascontiguousarray(x, dtype=float).reshape(self.shape), self.system.model)

    def max_displacement(self, dx):
        """The largest per-particle norm max_i |dx_i| of a flat (3N,) vector (a step, or forces)."""
        return float(_max_force(np.ascontiguousarray(dx, dtype=float).reshape(-1)))

    def ridge_walk(self, state, next_polish, f_ref, sep, max_step, max_iter):
        """The ridge walk of :func:`tlsviz.engine.saddle._ridge_walk`, compiled
        (:func:`tlsviz.engine.ridge._ridge_walk`).

        Parameters
        ----------
        state : RidgeState
            Where the walk starts (:class:`tlsviz.engine.ridge.RidgeState`).
        next_polish, f_ref, sep, max_step, max_iter
            As in :func:`tlsviz.engine.saddle._ridge_walk`.

        Returns
        -------
        RidgeState
            The state where the walk stopped, ``status`` saying why. Its force evaluations are
            added to ``n_evals``.
        """
        flat = [np.ascontiguousarray(v, dtype=float).reshape(-1) for v in (state.m, state.forces, state.u)]
        start = RidgeState(flat[0], float(state.energy), flat[1], flat[2], float(state.h), int(state.it),
                           int(state.stalled), int(state.status), int(state.n_evals))
        out = _ridge_walk(start, float(next_polish), float(f_ref), float(sep), float(max_step), int(max_iter),
                          self.system.model)
        self.n_evals += out.n_evals - start.n_evals
        return out

    def descent(self, x, direction, ds, f_stop, f_risen, max_steps, ds_min):
        """The mass-weighted descent path of :func:`tlsviz.engine.saddle.descent_path`, compiled
        (:func:`tlsviz.engine.descent._descent`; the arguments as there).

        Returns
        -------
        points : (k, 3N) ndarray
            The path, starting with x.
        energies : (k,) ndarray
            Strictly decreasing.
        """
        sq = np.sqrt(self.system.masses)
        path = _descent(np.ascontiguousarray(x, dtype=float).reshape(self.shape),
                        np.ascontiguousarray(direction, dtype=float).reshape(self.shape),
                        sq, self.system.model, float(ds), float(f_stop), float(f_risen), int(max_steps),
                        float(ds_min))
        self.n_evals += path.n_evals
        return path.points.reshape(len(path.points), -1), path.energies


class MullerBrown:
    """The Müller–Brown surface: three minima and two first-order saddles in 2-D.

    V(x, y) = Σ_k A_k exp(a_k (x − x0_k)² + b_k (x − x0_k)(y − y0_k) + c_k (y − y0_k)²), with the
    four terms of Müller & Brown, Theor. Chim. Acta 53, 75 (1979),
    https://doi.org/10.1007/BF00547608. The classic test of saddle methods: the minima lie near
    (−0.558, 1.442), (0.623, 0.028) and (−0.050, 0.467), and the first and second minima are joined
    only through the third. No symmetry (an empty null space), unit masses.

    Attributes
    ----------
    n_evals : int
        Energy and force evaluations made.
    """

    A = np.array([-200.0, -100.0, -170.0, 15.0])
    a = np.array([-1.0, -1.0, -6.5, 0.7])
    b = np.array([0.0, 0.0, 11.0, 0.6])
    c = np.array([-10.0, -10.0, -6.5, 0.7])
    x0 = np.array([1.0, 0.0, -0.5, -1.0])
    y0 = np.array([0.0, 0.5, 1.5, 1.0])

    shape = (2,)
    null_space = np.zeros((2, 0))
    masses = np.ones(2)

    def __init__(self):
        self.n_evals = 0

    def _terms(self, p):
        """(x − x0, y − y0, the four terms A_k exp(…)) at p."""
        dx, dy = p[0] - self.x0, p[1] - self.y0
        return dx, dy, self.A * np.exp(self.a * dx**2 + self.b * dx * dy + self.c * dy**2)

    def energy_forces(self, p):
        """V(p) and the forces −∇V(p) (2,) at the point p = (x, y)."""
        self.n_evals += 1
        dx, dy, t = self._terms(p)
        gx = np.sum(t * (2 * self.a * dx + self.b * dy))
        gy = np.sum(t * (self.b * dx + 2 * self.c * dy))
        return float(np.sum(t)), -np.array([gx, gy])

    def hessian(self, p):
        """The analytic Hessian (2, 2) of V at p."""
        dx, dy, t = self._terms(p)
        ux = 2 * self.a * dx + self.b * dy
        uy = self.b * dx + 2 * self.c * dy
        hxx = np.sum(t * (ux**2 + 2 * self.a))
        hyy = np.sum(t * (uy**2 + 2 * self.c))
        hxy = np.sum(t * (ux * uy + self.b))
        return np.array([[hxx, hxy], [hxy, hyy]])

    def max_displacement(self, dx):
        """The Euclidean norm of dx (2,): the surface is one "particle" in 2-D."""
        return float(np.sqrt(np.sum(dx**2)))


class CurvedValley:
    """A 2-D double well joined by a strongly curved valley.

    V(x, y) = a (x² − 1)² + c (y − h (1 − x²))²: minima at (±1, 0) joined by the valley
    y = h (1 − x²), whose one saddle is (0, h) with V = a. For h larger than the two minima's
    separation the straight line between them passes far below the valley: its maximum, (0, 0),
    is h away from the saddle, which a ridge walk reaches and a trust-limited Newton polish from
    the line maximum does not (tests/test_saddle.py, docs/search.md). No symmetry, unit masses.

    Parameters
    ----------
    h : float
        Height of the valley's apex above the line joining the minima.
    a : float
        Barrier height along the valley.
    c : float
        Stiffness across the valley.

    Attributes
    ----------
    n_evals : int
        Energy and force evaluations made.
    """

    shape = (2,)
    null_space = np.zeros((2, 0))
    masses = np.ones(2)

    def __init__(self, h: float = 3.0, a: float = 1.0, c: float = 5.0):
        self.h, self.a, self.c = float(h), float(a), float(c)
        self.n_evals = 0

    def energy_forces(self, p):
        """V(p) and the forces −∇V(p) (2,) at the point p = (x, y)."""
        self.n_evals += 1
        x, y = p
        u = y - self.h * (1 - x * x)
        gx = 4 * self.a * x * (x * x - 1) + 4 * self.c * self.h * x * u
        gy = 2 * self.c * u
        return float(self.a * (x * x - 1) ** 2 + self.c * u * u), -np.array([gx, gy])

    def hessian(self, p):
        """The analytic Hessian (2, 2) of V at p."""
        x, y = p
        a, c, h = self.a, self.c, self.h
        u = y - h * (1 - x * x)
        hxx = a * (12 * x * x - 4) + 8 * c * h * h * x * x + 4 * c * h * u
        hxy = 4 * c * h * x
        return np.array([[hxx, hxy], [hxy, 2 * c]])

    def max_displacement(self, dx):
        """The Euclidean norm of dx (2,): the surface is one "particle" in 2-D."""
        return float(np.sqrt(np.sum(np.asarray(dx) ** 2)))
