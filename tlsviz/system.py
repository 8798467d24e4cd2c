"""The Kob–Andersen binary Lennard-Jones glass: a system object over the compiled engine.

Units are reduced LJ units (σ_AA, ε_AA, m_A, τ = σ_AA √(m_A/ε_AA), k_B = 1).
"""

from __future__ import annotations

import contextlib
import os
import threading
import warnings
from typing import Callable

import numba
import numpy as np

from .engine import geometry, md, minimize, modes, pairlist, potential
from .engine.minimize import QuenchResult
from .engine.params import KA_CUTOFF, KA_MASSES, LJParams
from .engine.sparse_hessian import available_memory, sparse_hessian
from .engine.threads import check_threads

#: Default number density.
DENSITY = 1.2
#: MD time step (τ).
DT = 0.01
#: Above this many particles (and with ≥ 3 cells per edge) single evaluations use the cell list.
CELL_LIST_MIN_N = 400
#: Verlet-list skin (σ) for compiled runs, where the box allows it: the fastest MD at T = 0.5
#: (N = 16 000, one thread: 0.5 σ took 0.83 times the step time of 0.3 σ; 0.4 and 0.6 in between;
#: with the cell-ordered list build at N = 2000 and 8000: 0.4 and 0.5 σ equal within the noise,
#: 0.3 σ 10–20 % slower; docs/engine.md).
VERLET_SKIN = 0.5
#: The margin of the inner list of the dual list of evaluations and quenches (σ): their force
#: loop runs over the pairs closer than r_c + margin, pruned from the Verlet list whenever some
#: particle has moved margin / 2 since (docs/engine.md; the same bits as the Verlet list alone).
#: Quenches at N = 260 and 2000 were 1.2–1.6× faster at 0.05–0.15 σ than without the inner list,
#: at 0.1 σ the fastest or within 1 % of it; MD, which would prune every step or two, keeps the
#: Verlet list alone.
LIST_MARGIN = 0.1
#: The Verlet list is used only when the box leaves at least this much skin (L/2 − r_c).
MIN_SKIN = 0.1
#: "auto" uses the Verlet list from this many particles on (below, all pairs are as fast).
VERLET_MIN_N = 200
#: ``threads=None`` runs the force loop of systems of at least this many particles (with a Verlet
#: list) on every thread numba has, smaller ones on one. On the shared 2-vCPU machine two threads
#: lost below N = 8000 and broke even at 8000 (MD 1.05x), the cores being busy with other jobs;
#: on the quiet machine with OpenMP, MD on two threads was 1.37x one at N = 260, 1.59x at 2000 and
#: 1.43-1.68x at 8000 (benchmarks/RESULTS.md), but the threaded kernels' first compile (~2 min) is
#: more than short runs of a few thousand particles save: pass threads=2 for long ones.
THREADS_MIN_N = 4000

_default_threads: int | None = None

# numba's threading layer for the threaded force loop, unless the user chose one
# (NUMBA_THREADING_LAYER or NUMBA_THREADING_LAYER_PRIORITY): OpenMP where numba can load it, else
# workqueue. A parallel loop costs a launch and a join; on the quiet 2-vCPU machine (2026-12-04)
# an empty one took 1.5 µs with OpenMP (its workers spin a while before they sleep) and 100 µs
# with workqueue (they sleep at once), so that with workqueue two threads were 2-3 times slower
# than one at N = 2000 (an evaluation runs two parallel loops; the same machine type had given
# workqueue 1.6 times one thread that morning) and with OpenMP 1.5 times faster. Earlier, on the
# machine busy with other jobs, OpenMP was the slower (N = 16 000: 3-5 times slower than one
# thread, workqueue 1.4 times faster): spinning workers wait for one that another job holds off
# its core. On a shared machine pass threads=1 (campaign workers always do), or set
# NUMBA_THREADING_LAYER=workqueue. The environment variable is set as well as numba's config, so
# that numba's reload of its config (when some NUMBA_ variable changes) keeps the order.
# Threaded calls go one at a time (_PARALLEL): workqueue does not take two launches at once.
if "NUMBA_THREADING_LAYER" not in os.environ and "NUMBA_THREADING_LAYER_PRIORITY" not in os.environ:
    os.environ["NUMBA_THREADING_LAYER_PRIORITY"] = "omp workqueue tbb"  # numba needs all three named
    numba.config.THREADING_LAYER_PRIORITY = ["omp", "workqueue", "tbb"]
_PARALLEL = threading.Lock()


def set_default_threads(threads: int | None) -> None:
    """The thread count of every :class:`KobAndersen` whose ``threads`` is None: an int ≥ 1, or
    None for the automatic choice (all of numba's threads from :data:`THREADS_MIN_N` particles
    on, one below). Campaign worker processes set 1, so that workers do not share cores."""
    global _default_threads
    _default_threads = check_threads(threads, allow_none=True)


#: Highest T_equil at which MD with the step DT is stable at density 1.2 (measured: 4 of 4 runs of
#: 1000 τ stayed finite at T = 1.5, 1 of 4 blew up at 2.0 and every run above 2.5).
MD_STABLE_T = 1.5
#: ``modes(x, k=...)`` uses the sparse Hessian and Lanczos from this many particles on (below,
#: the dense analysis; docs/engine.md, "Sparse modes").
SPARSE_MODES_MIN_N = modes.SPARSE_MIN_N
#: Dense (3N, 3N) matrices a dense mode analysis holds at once (the Hessian, the basis of the
#: translations' complement, the reduced matrix and eigh's copy), for the memory check.
DENSE_MODES_MATRICES = 4
#: Bussi thermostat relaxation time (τ).
THERMOSTAT_TAU = 1.0
#: α-relaxation time τ_α of this model at T = 0.5, ρ = 1.2, N = 65 (τ), where the A particles'
#: self-intermediate scattering function at q = 7.25 falls to 1/e (197 ± 58 over four runs); measured with
#: :meth:`KobAndersen.relaxation_time` (benchmarks/relaxation.py, recorded in docs/engine.md).
TAU_ALPHA_T05 = 200.0
#: Default spacing between snapshots for inherent structures (τ): ten relaxation times. Measured
#: along chains at T = 0.5, N = 65 (benchmarks/decorrelation.py, docs/engine.md): two IS 1000 τ apart
#: are still the same minimum 6 % of the time and their energies correlated (0.23); 2000 τ apart, 2 %
#: and 0.07 ± 0.04 (the noise level).
IS_SPACING = 10 * TAU_ALPHA_T05
#: Default burn-in before the first snapshot (τ): five relaxation times. Not quite equilibrium: at
#: T = 0.5, N = 65 the mean IS energy per particle 1000 τ after a random start is still ≈ 0.005 ε
#: above the value it levels off at from ≈ 2000–3000 τ on (benchmarks/decorrelation.py
#: --from-start, docs/engine.md "Inherent structures"); pass ``burn_in=3000`` for equilibrium IS.
IS_BURN_IN = 5 * TAU_ALPHA_T05
#: Snapshots in a row that may quench to an IS already found before a chain counts as stuck.
IS_MAX_SKIPS = 20


def quench_method(n_particles: int) -> str:
    """:meth:`KobAndersen.quench`'s method for a system of this size when none is given: "cg"
    up to :data:`tlsviz.engine.minimize.HESS_MAX_N` particles (so that the inherent
    structures of small systems stay those of every catalogue made so far), "lbfgs" above,
    where it is the fastest method to max|F| < 1e-10: 0.56 and 0.31 times the evaluations of
    CG from T = 0.5 liquids at N = 2000 and 8000 ("lbfgs-hessian" is plain L-BFGS there;
    benchmarks/RESULTS.md, docs/engine.md)."""
    return "cg" if n_particles <= minimize.HESS_MAX_N else "lbfgs"


def _rng(seed, *stream) -> np.random.Generator:
    """A numpy Generator for the random stream (seed, *stream)."""
    if seed is None:
        raise ValueError("a seed is required (an int >= 0), so that every run can be repeated")
    return np.random.default_rng(np.random.SeedSequence([int(seed), *map(int, stream)]))


class KobAndersen:
    """N particles of the 80:20 Kob–Andersen mixture in a cubic periodic box.

    Reduced LJ units throughout (docs/method.md §1). Positions are (N, 3) float64 arrays
    (σ), possibly unwrapped; the A particles of each copy come first, then its B particles.

    Parameters
    ----------
    n : int
        Particles per copy; nA = round(0.8 n) A particles come first, then B.
    density : float
        Number density of each copy (the box is L = (n / density)^(1/3)).
    rc : float
        Cut-off radius (σ), the same for every pair type.
    copies : {1, 2}
        1, or 2 for the "2 × N" system of two non-interacting copies sharing one box of the
        n-particle size (2n particles in all).
    neighbor : {"auto", "all-pairs", "cells", "verlet"}
        "all-pairs" (O(N²) everywhere), "cells" (a cell list rebuilt at every evaluation),
        "verlet" (a Verlet list with a 0.5 σ skin inside compiled runs — MD, quenches,
        search tries — and all pairs or cells for single evaluations), or "auto": "verlet"
        from 200 particles on where the box allows it (L / 2 − r_c ≥ 0.1), else "all-pairs".
        All give the same numbers up to summation order.
    threads : int or None
        Threads of the force loop in MD, quenches and evaluations of a system with a Verlet
        list, and of the Hessian products of the sparse lowest modes (:meth:`modes`; from 1 to
        numba's thread count). None: :func:`set_default_threads`'s value, by
        default every thread from :data:`THREADS_MIN_N` particles on and one below. Results
        with several threads agree with one thread to round-off (each force is the same pair
        terms summed in another order: within 1e-12 × max(1, max|F|)) and a given count gives
        the same bits run to run.

    Raises
    ------
    ValueError
        If n is not an integer large enough for L > 2 r_c, density or rc is not positive,
        copies is not 1 or 2, the box is too small for the neighbour method asked for, or
        threads is not None or a whole number in range.
    """

    def __init__(self, n: int = 65, density: float = DENSITY, rc: float = KA_CUTOFF,
                 copies: int = 1, neighbor: str = "auto", threads: int | None = None):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise ValueError(f"n must be an integer number of particles, got {n!r}")
        if not (np.isfinite(density) and density > 0):
            raise ValueError(f"density must be a positive number, got {density!r}")
        if not (np.isfinite(rc) and rc > 0):
            raise ValueError(f"rc must be a positive cut-off radius, got {rc!r}")
        n_min = max(2, int(np.floor(density * (2 * rc) ** 3)) + 1)
        if n < n_min:
            raise ValueError(
                f"n={n} at density {density} gives a box of edge {(max(n, 0) / density) ** (1 / 3):.4f}, not "
                f"larger than 2 rc = {2 * rc}: the minimum-image convention needs L > 2 rc. Use n >= {n_min}.")
        if copies not in (1, 2):
            raise ValueError(f"copies must be 1 or 2 (the '2 x N' system), got {copies!r}")
        self.n = int(n)
        self.copies = int(copies)
        self.density = float(density)
        self.params = LJParams(rc=float(rc))
        self.box = (self.n / self.density) ** (1.0 / 3.0)
        n_a = int(round(0.8 * self.n))
        one = np.r_[np.zeros(n_a, dtype=np.int64), np.ones(self.n - n_a, dtype=np.int64)]
        self.types = np.tile(one, self.copies)
        self.group = np.repeat(np.arange(self.copies, dtype=np.int64), self.n)
        self.masses = KA_MASSES[self.types]
        n_cells = int(np.floor(self.box / rc))
        skin_room = self.box / 2 - rc  # the Verlet list needs rc + skin < L / 2
        if neighbor not in ("auto", "all-pairs", "cells", "verlet"):
            raise ValueError(f"neighbor must be 'auto', 'all-pairs', 'cells' or 'verlet', got {neighbor!r}")
        if neighbor == "cells" and n_cells < 3:
            raise ValueError(
                f"the cell list needs a box of at least 3 r_c = {3 * rc} (got {self.box:.4f}); "
                "use neighbor='all-pairs' or 'auto'"
            )
        if neighbor == "verlet" and skin_room < MIN_SKIN:
            raise ValueError(
                f"the Verlet list needs a box larger than 2 (r_c + {MIN_SKIN}) = {2 * (rc + MIN_SKIN):.2f} "
                f"(got {self.box:.4f}); use neighbor='all-pairs' or 'auto'"
            )
        if neighbor == "auto":
            neighbor = "verlet" if skin_room >= MIN_SKIN and self.n_particles >= VERLET_MIN_N else "all-pairs"
        use_cells = neighbor == "cells" or (neighbor == "verlet" and n_cells >= 3
                                            and self.n_particles >= CELL_LIST_MIN_N)
        skin = min(VERLET_SKIN, skin_room - 1e-6) if neighbor == "verlet" else 0.0
        self.neighbor = neighbor
        self.skin = skin
        c12, c6, a, b, rc2 = self.params.packed()
        self.threads = threads
        self._lists = threading.local()  # each thread's Verlet list for energy_forces
        self.model = potential.Model(self.types, self.group, float(self.box), c12, c6, a, b, rc2, bool(use_cells),
                                     float(skin), float(min(LIST_MARGIN, skin)))

    # ------------------------------------------------------------------ basics
    @property
    def threads(self) -> int | None:
        """Threads of the force loop (None: automatic, see the class docstring)."""
        return self._threads

    @threads.setter
    def threads(self, value):
        self._threads = check_threads(value, allow_none=True)

    def _thread_count(self) -> int:
        """The threads this system runs on: ``threads``, else :func:`set_default_threads`'s
        value, else the automatic choice (the class docstring)."""
        t = self._threads if self._threads is not None else _default_threads
        if t is None:
            t = numba.config.NUMBA_NUM_THREADS if self.n_particles >= THREADS_MIN_N else 1
        return t

    def _pool(self):
        """The ``pool`` argument of the compiled runs (None: one thread), numba's thread count
        set for the calling thread when it is not None."""
        t = self._thread_count()
        if t <= 1 or self.skin <= 0.0:
            return None
        numba.set_num_threads(t)
        n = self.n_particles
        # the capacity of the run's first list (potential._new_neighbor_list), so that its
        # rebuilds reuse the pool's rows (pairlist._build_pairs_threads)
        room = pairlist._list_capacity(n, np.sqrt(self.model.rc2) + self.skin, n / self.model.box ** 3)
        return pairlist.new_pool(n, t, room)

    @property
    def n_particles(self) -> int:
        """Total number of particles (n × copies)."""
        return self.n * self.copies

    @property
    def rc(self) -> float:
        """The cut-off radius r_c (σ), the same for every pair type."""
        return self.params.rc

    @property
    def ndof(self) -> int:
        """Degrees of freedom with each copy's total momentum fixed."""
        return 3 * self.n_particles - 3 * self.copies

    def __repr__(self) -> str:
        copies = f"{self.copies} x " if self.copies > 1 else ""
        return f"KobAndersen(n={copies}{self.n}, box={self.box:.5f}, neighbor={self.neighbor!r})"

    def check_positions(self, x, name: str = "positions") -> np.ndarray:
        """x as a contiguous (N, 3) float64 copy.

        Parameters
        ----------
        x : array_like
            A configuration (or velocities) of this system.
        name : str
            What x is, for the error message.

        Returns
        -------
        (N, 3) ndarray
            A new array; x is not modified.

        Raises
        ------
        ValueError
            If x is not numeric, not of shape (N, 3), or holds NaN or inf (the message names
            the particles).
        """
        arr = np.asarray(x)
        if arr.shape != (self.n_particles, 3):
            raise ValueError(
                f"{name} must have shape ({self.n_particles}, 3) for {self!r}, got {arr.shape}"
            )
        if not np.issubdtype(arr.dtype, np.number):
            raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
        arr = np.array(arr, dtype=np.float64, order="C")
        if not np.all(np.isfinite(arr)):
            bad = np.flatnonzero(~np.isfinite(arr).all(axis=1))
            raise ValueError(f"{name} contain NaN or inf (particles {bad[:10].tolist()})")
        return arr

    def _check_temperature(self, temperature) -> float:
        if not (np.isfinite(temperature) and temperature >= 0):
            raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
        return float(temperature)

    @staticmethod
    def _check_steps(steps) -> int:
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
            raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
        return int(steps)

    # -------------------------------------------------------------- structures
    def random_positions(self, seed: int, min_distance: float = 0.75) -> np.ndarray:
        """A random configuration in [0, L)³ with no two particles of a copy too close.

        Parameters
        ----------
        seed : int
            Seed (≥ 0) of the random stream: the same seed gives the same configuration.
        min_distance : float
            Smallest distance (σ) between two particles of a copy, in [0, 0.9).

        Returns
        -------
        (N, 3) ndarray

        Raises
        ------
        ValueError
            If seed is None or min_distance is out of range.
        RuntimeError
            If random insertion fails (min_distance too large for the density).
        """
        rng = _rng(seed, 0)
        if not (0 <= min_distance < 0.9):
            raise ValueError(f"min_distance must be in [0, 0.9) σ, got {min_distance!r}")
        x = np.empty((self.n_particles, 3))
        for c in range(self.copies):
            placed = np.empty((self.n, 3))
            k = 0
            attempts = 0
            while k < self.n:
                attempts += 1
                if attempts > 1000 * self.n:
                    raise RuntimeError("random insertion failed; lower min_distance")
                trial = rng.uniform(0.0, self.box, 3)
                d = placed[:k] - trial
                d -= self.box * np.rint(d / self.box)
                if k == 0 or np.min(np.einsum("ij,ij->i", d, d)) >= min_distance**2:
                    placed[k] = trial
                    k += 1
            x[c * self.n:(c + 1) * self.n] = placed
        return x

    # --------------------------------------------------------------- potential
    def energy(self, x) -> float:
        """Potential energy (ε) of the configuration x (N, 3); see :meth:`energy_forces`."""
        return self.energy_forces(x)[0]

    def energy_forces(self, x):
        """Potential energy and forces at x.

        Parameters
        ----------
        x : (N, 3) array_like
            Positions (σ), possibly unwrapped.

        Returns
        -------
        energy : float
            Potential energy (ε).
        forces : (N, 3) ndarray
            −∇E (ε/σ).

        Raises
        ------
        ValueError
            If x is not a finite (N, 3) array (:meth:`check_positions`).
        """
        x = self.check_positions(x)
        if self.skin <= 0.0:
            e, f = potential._energy_forces(x, self.model)
            return float(e), f
        # A Verlet list kept between calls (one per Python thread), over the particles sorted by
        # cell at its first build (neighbours close in memory, and the threads' chunks balanced);
        # rebuilt when stale, and then sorted afresh at the next call.
        kept = getattr(self._lists, "kept", None)
        if kept is None:
            order = potential._cell_order(x, self.model)
            if order.size == 0:
                order = np.arange(self.n_particles)
            model = potential._permuted_model(self.model, order)
            kept = self._lists.kept = (order, model, potential._new_neighbor_list(x[order], model))
        order, model, nl = kept
        xs = x[order]
        fs = np.empty_like(xs)
        builds = int(nl.builds[0])
        pool = self._pool()
        try:
            if pool is None:
                e = potential._energy_forces_kept(xs, fs, model, nl)
            else:
                with _PARALLEL:
                    e = potential._energy_forces_kept(xs, fs, model, nl, pool)
        except BaseException:
            self._lists.kept = None  # a rebuild failed half way: never reuse that list
            raise
        if nl.builds[0] != builds:
            self._lists.kept = None
        f = np.empty_like(x)
        f[order] = fs
        return float(e), f

    def hessian(self, x, sparse: bool = False):
        """The analytic Hessian at x, including the shift term of the potential.

        Parameters
        ----------
        x : (N, 3) array_like
            Positions (σ).
        sparse : bool
            False: a dense (3N, 3N) ndarray (72·N² bytes: 4.6 GB at N = 8000). True: a
            :class:`scipy.sparse.bsr_array` of 3 × 3 blocks built from a cell list in O(N)
            time and memory (~2.2 kB per particle), with the same entries, bit for bit
            (:mod:`tlsviz.engine.sparse_hessian`).

        Returns
        -------
        (3N, 3N) ndarray or scipy.sparse.bsr_array
            ∂²E/∂x∂x (ε/σ²), symmetric; row 3i + k for particle i, axis k.

        Raises
        ------
        ValueError
            If x is not a finite (N, 3) array, or the dense matrix would not fit in the memory
            available (the message gives the bytes and says to use ``sparse=True``).
        """
        x = self.check_positions(x)
        if sparse:
            return sparse_hessian(x, self.model)
        self._check_dense_memory(1, "hessian(x, sparse=True)")
        return potential._hessian(x, self.model)

    def _check_dense_memory(self, matrices: int, instead: str):
        """A ValueError naming ``instead`` when ``matrices`` dense (3N, 3N) float64 matrices do not
        fit in the memory available now (:func:`available_memory`)."""
        need = matrices * (3 * self.n_particles) ** 2 * 8
        free = available_memory()
        if need > free:
            raise ValueError(
                f"a dense Hessian {'analysis ' if matrices > 1 else ''}of {self.n_particles} particles needs "
                f"{_size(need)} and {_size(free)} of memory are available: use "
                f"system.{instead}, which needs O(N) memory")

    def modes(self, x, vectors: bool = True, k: int | None = None, sparse: bool | None = None) -> modes.ModeAnalysis:
        """Eigen-analysis of the Hessian at x with the rigid translations removed.

        Certifies minima (no negative mode) and first-order saddles (one); see
        :mod:`tlsviz.engine.modes`. The translations are 3 zero modes per copy ("2 × N": 6).

        Parameters
        ----------
        x : (N, 3) array_like
            Positions (σ).
        vectors : bool
            Also compute the eigenvectors; False: eigenvalues only, cheaper.
        k : int, optional
            Only the k lowest modes (eigenvalues ascending, eigenvectors (3N, k)). None: the
            whole spectrum, from the dense Hessian.
        sparse : bool, optional
            With ``k``: the sparse Hessian and a Lanczos solver, Chebyshev-filtered from 500
            particles on (:func:`tlsviz.engine.modes.lowest_modes`; O(N) memory) or, False, the dense
            analysis cut to k. None: sparse from :data:`SPARSE_MODES_MIN_N` particles on.

        Returns
        -------
        tlsviz.engine.modes.ModeAnalysis
            ``complete`` is False when only k modes are returned; the sparse solver's
            ``n_negative`` counts the negative modes among the k.

        Raises
        ------
        ValueError
            On a bad configuration or k, ``sparse=True`` without k, or a dense analysis that
            would not fit in memory (the message says to use ``k`` and ``sparse=True``).
        """
        x = self.check_positions(x)
        if k is None:
            if sparse:
                raise ValueError("modes(x, sparse=True) needs k, the number of lowest modes wanted")
            self._check_dense_memory(DENSE_MODES_MATRICES, "modes(x, k=..., sparse=True)")
            return modes.analyse_hessian(potential._hessian(x, self.model), self.group, vectors=vectors)
        k_max = self.ndof - 3 * self.copies - 2  # the non-translational modes, less the Lanczos margin
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= k_max:
            raise ValueError(f"k must be an integer in [1, {k_max}] (the non-translational modes), got {k!r}")
        if sparse is None:
            sparse = self.n_particles >= SPARSE_MODES_MIN_N
        if sparse:
            t = self._thread_count()
            with _PARALLEL if t > 1 else contextlib.nullcontext():  # the filter's products on numba's threads
                return modes.lowest_modes(sparse_hessian(x, self.model), modes.translation_basis(self.group), int(k),
                                          vectors=vectors, threads=t)
        self._check_dense_memory(DENSE_MODES_MATRICES, "modes(x, k=..., sparse=True)")
        m = modes.analyse_hessian(potential._hessian(x, self.model), self.group, vectors=vectors)
        return modes.ModeAnalysis(m.eigenvalues[:k], None if m.eigenvectors is None else m.eigenvectors[:, :k],
                                  m.translation_eigenvalues, m.n_negative, complete=False)

    # --------------------------------------------------------------- distances
    def displacements(self, x1, x2, mass_weighted: bool = False) -> np.ndarray:
        """Per-particle displacements (N, 3) from x1 to x2, each copy's translation removed.

        Parameters
        ----------
        x1, x2 : (N, 3) array_like
            Two configurations of this system.
        mass_weighted : bool
            Remove the mass-weighted mean displacement instead of the plain one.

        Returns
        -------
        (N, 3) ndarray
            Minimum-image displacements (σ); see :func:`tlsviz.engine.geometry.displacements`.
        """
        x1 = self.check_positions(x1, "x1")
        x2 = self.check_positions(x2, "x2")
        return geometry.displacements(x1, x2, self.box, self.masses if mass_weighted else None, self._groups())

    def distance(self, x1, x2, mass_weighted: bool = False) -> float:
        """The distance d (or d_mw) between x1 and x2, each copy's translation removed.

        Parameters
        ----------
        x1, x2 : (N, 3) array_like
            Two configurations of this system.
        mass_weighted : bool
            d_mw (docs/method.md §5) instead of d.

        Returns
        -------
        float
            The distance (σ).
        """
        x1 = self.check_positions(x1, "x1")
        x2 = self.check_positions(x2, "x2")
        return geometry.distance(x1, x2, self.box, self.masses if mass_weighted else None, self._groups())

    def _groups(self):
        """``group`` for the geometry functions: None for one copy (the global translation)."""
        return self.group if self.copies > 1 else None

    # ------------------------------------------------------------------ copies
    def copy_slice(self, c: int) -> slice:
        """The particles of copy c (0 ≤ c < copies), a slice of the whole system's indices."""
        if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or not 0 <= c < self.copies:
            raise ValueError(f"copy must be an integer in [0, {self.copies}) for {self!r}, got {c!r}")
        return slice(int(c) * self.n, (int(c) + 1) * self.n)

    def single_copy(self) -> "KobAndersen":
        """The system of one copy alone: what each copy of a "2 × N" system is, since copies do
        not interact (the same n, density and cut-off; the neighbour method chosen for n
        particles, as ``KobAndersen(n)`` would). ``self`` when there is one copy."""
        if self.copies == 1:
            return self
        one = getattr(self, "_single", None)
        if one is None:
            one = self._single = KobAndersen(n=self.n, density=self.density, rc=self.rc)
        return one

    # ---------------------------------------------------------------- dynamics
    def maxwell_velocities(self, temperature: float, seed: int) -> np.ndarray:
        """Maxwell–Boltzmann velocities at ``temperature``, zero total momentum per copy.

        Parameters
        ----------
        temperature : float
            Temperature (ε / k_B), ≥ 0.
        seed : int
            Seed (≥ 0) of the random stream.

        Returns
        -------
        (N, 3) ndarray
            Velocities (σ / τ).
        """
        temperature = self._check_temperature(temperature)
        rng = _rng(seed, 1)
        v = rng.standard_normal((self.n_particles, 3)) * np.sqrt(temperature / self.masses)[:, None]
        return self._zero_momentum(v)

    def _zero_momentum(self, v):
        """Remove each copy's total momentum from velocities (..., N, 3), in place."""
        for c in range(self.copies):
            sl = slice(c * self.n, (c + 1) * self.n)
            m = self.masses[sl]
            v[..., sl, :] -= (m[:, None] * v[..., sl, :]).sum(axis=-2, keepdims=True) / m.sum()
        return v

    def kinetic_temperature(self, v) -> float:
        """The kinetic temperature 2 K / ndof of velocities v (N, 3)."""
        v = self.check_positions(v, "velocities")
        return float(2.0 * md._kinetic(v, self.masses) / self.ndof)

    def nve(self, x, v, steps: int, dt: float = DT):
        """``steps`` velocity-Verlet NVE steps.

        Parameters
        ----------
        x, v : (N, 3) array_like
            Positions (σ) and velocities (σ / τ); not modified.
        steps : int
            Number of steps (≥ 0).
        dt : float
            Time step (τ), in (0, 0.05].

        Returns
        -------
        x, v : (N, 3) ndarray
            The new positions (unwrapped) and velocities.

        Raises
        ------
        ValueError
            On a bad shape, a negative or non-integer ``steps``, or dt out of range.
        """
        x = self.check_positions(x)
        v = self.check_positions(v, "velocities")
        steps = self._check_steps(steps)
        self._check_dt(dt)
        f = np.empty_like(x)
        pool = self._pool()
        if pool is None:
            md._nve_run(x, v, f, self.masses, float(dt), steps, self.model)
        else:
            with _PARALLEL:
                md._nve_run(x, v, f, self.masses, float(dt), steps, self.model, pool)
        return x, v

    @staticmethod
    def _check_dt(dt):
        if not (np.isfinite(dt) and 0 < dt <= 0.05):
            raise ValueError(f"dt must be in (0, 0.05] τ, got {dt!r}")

    def nvt(self, x, v, steps: int, temperature: float, seed: int,
            tau: float = THERMOSTAT_TAU, dt: float = DT):
        """``steps`` NVT steps with the Bussi stochastic velocity-rescaling thermostat.

        Bussi, Donadio & Parrinello, J. Chem. Phys. 126, 014101 (2007); see
        :mod:`tlsviz.engine.md`. The random numbers are drawn from ``seed`` beforehand, so a run
        is reproducible whatever thread runs it.

        Parameters
        ----------
        x, v : (N, 3) array_like
            Positions (σ) and velocities (σ / τ); not modified.
        steps : int
            Number of steps (≥ 0).
        temperature : float
            Bath temperature (ε / k_B), ≥ 0.
        seed : int
            Seed (≥ 0) of the thermostat's random stream.
        tau : float
            Thermostat relaxation time (τ), > 0.
        dt : float
            Time step (τ), in (0, 0.05].

        Returns
        -------
        x, v : (N, 3) ndarray
            The new positions (unwrapped) and velocities.

        Raises
        ------
        ValueError
            On a bad shape or a parameter out of range.
        """
        x = self.check_positions(x)
        v = self.check_positions(v, "velocities")
        steps = self._check_steps(steps)
        temperature = self._check_temperature(temperature)
        self._check_dt(dt)
        if not (np.isfinite(tau) and tau > 0):
            raise ValueError(f"tau must be a positive thermostat time, got {tau!r}")
        rng = _rng(seed, 2)
        gauss = rng.standard_normal(steps)
        chi2 = rng.chisquare(self.ndof - 1, steps)
        f = np.empty_like(x)
        pool = self._pool()
        if pool is None:
            md._nvt_run(x, v, f, self.masses, float(dt), temperature, tau / dt, float(self.ndof),
                        gauss, chi2, self.model)
        else:
            with _PARALLEL:
                md._nvt_run(x, v, f, self.masses, float(dt), temperature, tau / dt, float(self.ndof),
                            gauss, chi2, self.model, pool)
        return x, v

    # ---------------------------------------------------------------- minimise
    def quench(self, x, ftol: float = minimize.FTOL, max_iter: int = minimize.MAX_ITER,
               max_step: float = minimize.MAX_STEP, method: str | None = None) -> QuenchResult:
        """Minimise the energy from x to the local minimum, max_i |F_i| < ftol.

        All methods reach the same minimum from the same start (tests/test_contracts.py);
        see :mod:`tlsviz.engine.minimize` for the methods and their contract.

        Parameters
        ----------
        x : (N, 3) array_like
            Start (σ); not modified.
        ftol : float
            Force tolerance (ε/σ) on the largest per-particle force, > 0.
        max_iter : int
            Iterations (line searches) at most.
        max_step : float
            Largest displacement (σ) of any particle in one line search, > 0.
        method : {None, "cg", "lbfgs", "lbfgs-hessian"}
            Polak–Ribière conjugate gradient, L-BFGS, or L-BFGS with Newton steps on the
            factored Hessian near the minimum (the search's default; the fewest evaluations up
            to :data:`tlsviz.engine.minimize.HESS_MAX_N` particles, plain L-BFGS above). None:
            :func:`quench_method`, "cg" up to HESS_MAX_N particles (the inherent structures
            of every catalogue made so far) and "lbfgs", the fastest, above.

        Returns
        -------
        QuenchResult
            ``converged`` is False when max_iter ran out or the line search failed.

        Raises
        ------
        ValueError
            On a bad configuration, an unknown method, or a non-positive ftol or max_step.
        """
        x = self.check_positions(x)
        if method is None:
            method = quench_method(self.n_particles)
        if method not in minimize.METHODS:
            raise ValueError(f"method must be one of {sorted(minimize.METHODS)}, got {method!r}")
        if not (np.isfinite(ftol) and ftol > 0):
            raise ValueError(f"ftol must be a positive force tolerance, got {ftol!r}")
        if not (np.isfinite(max_step) and max_step > 0):
            raise ValueError(f"max_step must be positive, got {max_step!r}")
        pool = self._pool()
        args = (x, self.model, float(ftol), int(max_iter), float(max_step), minimize.METHODS[method],
                minimize.NO_PRECOND)
        if pool is None:
            return minimize._minimize(*args)
        with _PARALLEL:
            return minimize._minimize(*args, pool)

    # -------------------------------------------------------- inherent structures
    def equilibrate(self, seed: int, t_equil: float = 0.5, burn_in: float = IS_BURN_IN,
                    dt: float = DT):
        """A configuration and velocities equilibrated at t_equil from a random start.

        The random start is first quenched (to remove overlaps), then given Maxwell
        velocities and run for ``burn_in`` τ under the thermostat.
        """
        t_equil = self._check_temperature(t_equil)
        x = self.random_positions(seed)
        x = self.quench(x, ftol=1e-3).positions
        v = self.maxwell_velocities(t_equil, seed)
        x, v = self.nvt(x, v, int(round(burn_in / dt)), t_equil, _stream_seed(seed, 0), dt=dt)
        self._check_md(x, t_equil, dt)
        return x, v

    def _check_md(self, x, temperature, dt):
        """A ValueError that says the MD blew up (and what works) when x is not finite."""
        if not np.all(np.isfinite(x)):
            raise ValueError(
                f"the MD at T = {temperature:g} blew up (positions became NaN or inf) with the time step "
                f"{dt:g} τ at density {self.density:g}: use T_equil <= {MD_STABLE_T:g} (the step is "
                f"stable up to about {MD_STABLE_T:g}; the method's inherent structures come from T_equil = 0.5)")

    def inherent_structures(self, count: int, t_equil: float = 0.5, seed: int = 0,
                            burn_in: float = IS_BURN_IN, spacing: float = IS_SPACING,
                            dt: float = DT, ftol: float = minimize.FTOL,
                            callback: Callable[[int, QuenchResult], object] | None = None,
                            distinct: bool = True, max_skips: int = IS_MAX_SKIPS) -> "InherentStructures":
        """``count`` distinct inherent structures from one NVT run at t_equil.

        After ``burn_in`` τ, a snapshot is taken every ``spacing`` τ and quenched to its IS.
        Along one chain two IS ``spacing`` apart can still be the same minimum (at the default
        2000 τ, ten relaxation times, 2 % of the pairs at T = 0.5, N = 65; 6 % at 1000 τ:
        benchmarks/RESULTS.md, docs/engine.md), so with ``distinct=True`` each new IS is
        compared with every IS returned so far (energy within 1e-7 ε, then
        :func:`tlsviz.search.same_minimum`: distance up to a permutation of identical particles
        and a translation) and, when it is one of them, it is skipped and the chain runs on for
        another ``spacing``. The skipped snapshots are listed in the
        result's ``skipped_times``; ``distinct=False`` returns every snapshot's IS, duplicates
        included (what a decorrelation measurement needs).

        After ``max_skips`` skips in a row the chain is taken to be stuck in one basin (T_equil
        far below the glass transition, or a spacing far below the relaxation time): the IS found
        so far are returned with ``stuck=True`` and a warning that says what to change.

        ``callback(i, result)`` is called after each returned IS; a true return value stops early.

        Returns an :class:`InherentStructures`: a list of :class:`QuenchResult`, with ``times``
        (the chain time of each snapshot, τ from the end of the burn-in), ``skipped_times`` and
        ``stuck``. Without duplicates, the result is the same, bit for bit, whatever ``distinct``.
        """
        count = self._check_steps(count)
        if burn_in < 0 or spacing <= 0:
            raise ValueError(f"burn_in must be >= 0 and spacing > 0 (τ), got {burn_in!r}, {spacing!r}")
        if isinstance(max_skips, bool) or not isinstance(max_skips, (int, np.integer)) or max_skips < 1:
            raise ValueError(f"max_skips must be a whole number >= 1, got {max_skips!r}")
        from .search import same_minimum  # search imports this module

        x, v = self.equilibrate(seed, t_equil, burn_in, dt)
        out = InherentStructures()
        steps = int(round(spacing / dt))
        j = 0  # snapshots taken (segment j of the chain uses the stream (seed, j))
        in_a_row = 0
        while len(out) < count:
            if j > 0:
                x, v = self.nvt(x, v, steps, t_equil, _stream_seed(seed, j), dt=dt)
                self._check_md(x, t_equil, dt)
            q = self.quench(x, ftol=ftol)
            t = j * steps * dt
            j += 1
            if distinct and any(same_minimum(self, p.positions, p.energy, q.positions, q.energy) for p in out):
                out.skipped_times.append(t)
                in_a_row += 1
                if in_a_row >= max_skips:
                    out.stuck = True
                    warnings.warn(
                        f"inherent_structures: {in_a_row} snapshots in a row {spacing:g} τ apart quenched to "
                        f"minima already found at T_equil = {t_equil:g}: the chain is stuck; returning the "
                        f"{len(out)} distinct IS found. Use a larger spacing or a higher t_equil.",
                        RuntimeWarning, stacklevel=2)
                    break
                continue
            in_a_row = 0
            out.append(q)
            out.times.append(t)
            if callback is not None and callback(len(out) - 1, q):
                break
        return out


class InherentStructures(list):
    """The inherent structures of one chain (a list of :class:`QuenchResult`).

    times: the chain time (τ after the burn-in) of each returned IS's snapshot.
    skipped_times: the chain times of snapshots whose IS was one already returned (not in the
        list); ``skipped`` is their number.
    stuck: True when the chain stopped early after too many skips in a row.
    """

    def __init__(self, items=()):
        super().__init__(items)
        self.times: list[float] = []
        self.skipped_times: list[float] = []
        self.stuck = False

    @property
    def skipped(self) -> int:
        """How many snapshots were skipped as duplicates."""
        return len(self.skipped_times)


def _size(n_bytes: int) -> str:
    """A byte count for a message: "4.6 GB", "780.0 MB"."""
    return f"{n_bytes / 1e9:.1f} GB" if n_bytes >= 1e9 else f"{n_bytes / 1e6:.1f} MB"


def _stream_seed(seed: int, i: int) -> int:
    """An int seed for sub-stream i of seed (deterministic)."""
    return int(np.random.SeedSequence([int(seed), 1000 + int(i)]).generate_state(1)[0])
