"""The DWP search: IS → tries → distinct nearby minima → ridge saddles → verified DWPs (docs/method.md §3–6).

For one starting inherent structure (IS):

1. **tries** (compiled, :func:`tlsviz.engine.tries._search_try`): Maxwell velocities at
   ``t_search`` from the try's own random stream ``SeedSequence([seed, is_id, try])``,
   ``n_search`` NVE steps, a quench to max|F| < ``ftol`` (L-BFGS, preconditioned near its
   end by the IS's inverse Hessian: :func:`hessian_preconditioner`), and the distances to the IS;
2. **acceptance** (pre-filter): not the IS itself (see "same minimum" below),
   ``d_min < d_mw`` and ``d_mw < d_max`` (d_mw ≤ d_mw,rp by the triangle inequality, so this
   loses nothing the final filter would keep), and ``delta_min <= Δ < delta_max``;
3. **distinct minima**: a minimum found again is one record with a count. Two minima are
   the same when their energies differ by less than ``e_same`` and their distance, minimised
   over permutations of identical particles (a species-wise assignment), is below ``d_same``;
4. **saddle** by the ridge method (:mod:`tlsviz.engine.saddle`) from the two minima alone;
5. **verification**: Hessian with the translations removed — no negative mode at either
   minimum, exactly one at the saddle —, the **final filter** ``d_mw,rp < d_max`` (it needs
   only the saddle, so it comes before the costly part), and the two steepest-descent paths
   (mass-weighted) from the saddle along ± the unstable mode, each finished by a quench,
   must end one in the IS and one in the new minimum. A pair that fails is dismissed with
   its reason;
6. the descriptors of §6 and the minimum → saddle → minimum path (``n_frames`` frames,
   equally spaced in mass-weighted arc length, the saddle one of them).

One module per job; every name is importable from ``tlsviz.search``:

- :mod:`.params`: :class:`SearchParams`, the parameters and their checks;
- :mod:`.tries`: the tries (velocities from each try's stream, compiled batches);
- :mod:`.local`: local tries (``mode="local"``: one region around a centre particle per try);
- :mod:`.preconditioner`: the inverse Hessian of the IS for the tries' quenches;
- :mod:`.identity`: :func:`same_minimum`, the permutation-aware identity test;
- :mod:`.verify`: the saddle stage of a pair (:func:`verify_pair` → :class:`PairVerdict`,
  :func:`verify_pair_by_copy` for "2 × N"), :func:`certify_minimum`;
- :mod:`.descriptors`: the table columns, participation ratios, central particle;
- :mod:`.run`: :class:`SearchRun` (steps 1–6 for one IS), :func:`search_dwps`, the result;
- :mod:`.tuning`: the (T_search, N_search) scan and the choice of defaults;
"""

from __future__ import annotations

from ..engine._blas import _one_blas_thread
from .descriptors import (_INT_COLUMNS, _STR_COLUMNS, AMBIGUOUS_RATIO, DISMISSED_COLUMNS, DWP_COLUMNS, _typed,
                          central_particles, participation_ratios)
from .identity import same_minimum
from .local import centre_of_try, check_local, local_velocities, region, run_local_tries
from .params import LOCAL_DEFAULTS, SearchParams
from .preconditioner import PRECOND_FLOOR, PRECOND_MAX_N, hessian_preconditioner
from .run import Minimum, SearchProgress, SearchResult, SearchRun, search_dwps
from .tries import TRY_BATCH, TryBatch, TryResult, run_tries, run_try, try_velocities
from .tuning import best_search_parameters, scan_search_parameters, yield_vs_best
from .verify import (PATH_F_RISEN, PATH_F_STOP, PairVerdict, _aligned, _failed_ridge_reason, _resample,
                     certify_minimum, third_minimum_reason, verify_pair, verify_pair_by_copy)

__all__ = [
    "AMBIGUOUS_RATIO", "DISMISSED_COLUMNS", "DWP_COLUMNS", "LOCAL_DEFAULTS", "centre_of_try", "check_local",
    "local_velocities", "region", "run_local_tries", "PATH_F_RISEN", "PATH_F_STOP", "PRECOND_FLOOR",
    "PRECOND_MAX_N", "TRY_BATCH", "Minimum", "PairVerdict", "SearchParams", "SearchProgress", "SearchResult",
    "SearchRun", "TryBatch", "TryResult", "best_search_parameters", "central_particles", "certify_minimum", "hessian_preconditioner",
    "participation_ratios", "run_tries", "run_try", "same_minimum", "scan_search_parameters", "search_dwps",
    "third_minimum_reason", "try_velocities", "verify_pair", "verify_pair_by_copy", "yield_vs_best",
]
