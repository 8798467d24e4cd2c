"""The parameters of a DWP search (:class:`SearchParams`), with their defaults and their checks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine import minimize


#: Search modes: every particle excited, or one region per try.
MODES = ("global", "local")
#: Local designs: the region's MD and quench with the particles beyond held ("held"), or
#: velocities only in the sphere and everything free ("free").
DESIGNS = ("held", "free")


#: The defaults of a local search (:meth:`SearchParams.local`, ``tlsviz search --local``): a try
#: excites ~10 particles instead of N, so it needs a hotter start than a global one
#: (docs/search.md, "Local tries"); 6 tries per particle (390 at N = 65) are about the published
#: 400 per IS.
LOCAL_DEFAULTS = dict(mode="local", t_search=2.0, n_search=100, r_loc=1.2, buffer=2.0, design="free",
                      tries_per_particle=6)


def _number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and np.isfinite(v)


@dataclass(frozen=True)
class SearchParams:
    """Parameters of a DWP search; defaults in reduced LJ units for N = 65 (see docs/search.md).

    t_search, n_search: temperature and number of NVE steps of a try (chosen by the scan of
    benchmarks/tuning.md). d_min, d_max: window on the mass-weighted distance (σ); d_max is
    applied to d_mw before the saddle search and to d_mw,rp after it. delta_min, delta_max:
    window on the asymmetry Δ (ε). ftol: quench tolerance on max|F|. e_same, d_same: "same
    minimum" tolerances. n_frames: frames of the stored path (odd; the saddle is the middle).
    minimizer: for the tries' quenches and the saddle checks, "lbfgs-hessian" (default:
    L-BFGS that takes Newton steps with the factored Hessian near the minimum, up to N = 150),
    "lbfgs" (half the evaluations of CG) or "cg" (:mod:`tlsviz.engine.minimize`).
    precondition: L-BFGS of the tries uses the inverse Hessian of the IS, scaled at each
    step, as its initial inverse Hessian once max|F| < 0.1 (:mod:`tlsviz.engine.minimize`;
    same minima, ~2× fewer evaluations); only for systems of at most
    :data:`tlsviz.search.PRECOND_MAX_N` particles, where the (3N)² matrix–vector product costs
    less than the evaluations it saves. With "lbfgs-hessian", a try that has not converged a
    few iterations later replaces it by the factored Hessian at its current point.

    mode: "global" (the default and the published method: Maxwell velocities for every
    particle, NVE and quench of the whole system) or "local" (:mod:`tlsviz.search.local`: try
    k excites only the particles within ``r_loc`` (σ) of centre particle k mod N). design, in
    local mode: "free" (velocities only in the sphere, NVE and quench of the whole system; the
    default, measured best up to N = 130) or "held" (MD and a quench of the sphere plus a
    ``buffer`` (σ) shell with the particles beyond held fixed, then a quench of the whole
    system; a try's cost does not grow with N). tries_per_particle: in local mode, M
    per particle (the search runs tries_per_particle × N tries, each particle the centre of
    as many); None: the ``tries`` of the search, centres cycling over the particles.

    ``SearchParams(mode="local")`` changes the mode only: it keeps the global defaults
    t_search = 0.7 and, with tries_per_particle None, the search's ``tries``. The local
    defaults, T = 2.0 and 6 tries per particle (:data:`LOCAL_DEFAULTS`, measured for local
    tries, docs/search.md), are those of :meth:`SearchParams.local` and of ``tlsviz search
    --local``: use ``SearchParams.local(...)`` for a local search.
    """

    t_search: float = 0.7
    n_search: int = 100
    d_min: float = 1e-3
    d_max: float = 0.8
    delta_min: float = 0.0
    delta_max: float = 0.5
    ftol: float = minimize.FTOL
    e_same: float = 1e-7
    d_same: float = 1e-4
    n_frames: int = 41
    dt: float = 0.01
    minimizer: str = "lbfgs-hessian"
    precondition: bool = True
    mode: str = "global"
    r_loc: float = 1.2
    buffer: float = 2.0
    tries_per_particle: int | None = None
    design: str = "free"

    @classmethod
    def local(cls, **kwargs) -> "SearchParams":
        """Parameters of a local search: :data:`LOCAL_DEFAULTS` (mode "local" and the try
        parameters measured for it, docs/search.md), overridden by ``kwargs``."""
        return cls(**{**LOCAL_DEFAULTS, **kwargs})

    def validate(self):
        checks = [
            (np.isfinite(self.t_search) and self.t_search > 0, "t_search must be a temperature > 0",
             ("t_search",)),
            (isinstance(self.n_search, (int, np.integer)) and self.n_search >= 1,
             "n_search must be a whole number of MD steps >= 1", ("n_search",)),
            (0 <= self.d_min < self.d_max, "need 0 <= d_min < d_max", ("d_min", "d_max")),
            (0 <= self.delta_min < self.delta_max, "need 0 <= delta_min < delta_max",
             ("delta_min", "delta_max")),
            (self.ftol > 0 and self.e_same > 0 and self.d_same > 0, "ftol, e_same, d_same must be > 0",
             ("ftol", "e_same", "d_same")),
            (isinstance(self.n_frames, (int, np.integer)) and self.n_frames >= 3 and self.n_frames % 2 == 1,
             "n_frames must be an odd number >= 3 (the saddle is the middle frame)", ("n_frames",)),
            (self.minimizer in minimize.METHODS, f"minimizer must be one of {sorted(minimize.METHODS)}",
             ("minimizer",)),
            (isinstance(self.precondition, (bool, np.bool_)), "precondition must be True or False",
             ("precondition",)),
            (self.mode in MODES, f"mode must be one of {list(MODES)}", ("mode",)),
            (self.design in DESIGNS, f"design must be one of {list(DESIGNS)}", ("design",)),
            (_number(self.r_loc) and self.r_loc > 0,
             "r_loc must be a radius > 0 (σ) around the centre particle (e.g. 1.5)", ("r_loc",)),
            (_number(self.buffer) and self.buffer > 0,
             "buffer must be a shell > 0 (σ) between the excited sphere and the held particles "
             "(e.g. 1.0)", ("buffer",)),
            (self.tries_per_particle is None or (isinstance(self.tries_per_particle, (int, np.integer))
                                                 and not isinstance(self.tries_per_particle, bool)
                                                 and self.tries_per_particle >= 1),
             "tries_per_particle must be a whole number >= 1 (or None: the search's tries)",
             ("tries_per_particle",)),
        ]
        for ok, msg, names in checks:
            if not ok:
                got = ", ".join(f"{k} = {getattr(self, k)!r}" for k in names)
                raise ValueError(f"{msg} (got {got})")
        return self
