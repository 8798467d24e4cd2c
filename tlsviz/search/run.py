"""One DWP search of one inherent structure, run step by step (:class:`SearchRun`) or at once
(:func:`search_dwps`): tries, acceptance, distinct minima, then a verdict per pair."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterator

import numpy as np
import pandas as pd

from ..engine.surfaces import SystemSurface
from ..engine._blas import _one_blas_thread
from .descriptors import DISMISSED_COLUMNS, DWP_COLUMNS, _typed
from .identity import same_minimum
from .local import check_local, check_spheres, local_tries_total, run_local_tries
from .params import SearchParams
from .preconditioner import hessian_preconditioner
from .tries import TRY_BATCH, run_tries
from .verify import certify_minimum, verify_pair

@dataclass
class Minimum:
    """A distinct nearby minimum found by the tries."""

    positions: np.ndarray
    energy: float
    d: float
    d_mw: float
    first_try: int
    count: int = 1


@dataclass
class SearchProgress:
    """What a search reports to its caller: after each try, when the saddle stage begins
    (``pairs_done`` 0), after each pair examined, and once done."""

    stage: str  # "tries", "saddles" or "done"
    tries_done: int
    tries_total: int
    minima_found: int
    pairs_done: int = 0
    pairs_total: int = 0
    dwps_verified: int = 0
    new_dwp: dict | None = None
    result: "SearchResult | None" = None


@dataclass
class SearchResult:
    """The DWPs of one IS.

    dwps: one row per verified DWP (columns :data:`tlsviz.search.DWP_COLUMNS`; ``copy``: the copy of a "2 × N"
    system the DWP lies in, 0 with one copy; particle indices are the whole system's).
    dismissed: rejected pairs with a ``reason``.
    stats: try statistics (tries, converged, back_to_is, outside_windows, accepted, distinct,
    seconds) and the IS's certificate (:func:`tlsviz.search.certify_minimum`: is_certified, is_negative_modes,
    is_lowest_eigenvalue). Arrays per DWP row i: second minimum, saddle, path (n_frames, N, 3), path
    energies and mass-weighted arc length, displacements (N, 3) IS → second minimum; per
    dismissed row j: ``dismissed_positions[j]``, the minimum (or unconverged quench end).
    """

    is_positions: np.ndarray
    is_energy: float
    params: SearchParams
    dwps: pd.DataFrame
    dismissed: pd.DataFrame
    stats: dict
    minima_positions: list = field(default_factory=list)
    saddle_positions: list = field(default_factory=list)
    paths: list = field(default_factory=list)
    path_energies: list = field(default_factory=list)
    path_arclengths: list = field(default_factory=list)
    dismissed_positions: list = field(default_factory=list)
    cancelled: bool = False
    group: np.ndarray | None = None  # the copy of each particle, when the system has several

    def _dwp_row(self, i) -> int:
        """i checked against the DWPs found: an IndexError that says which exist, not a bare one."""
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"a DWP is selected by its row number (an integer), got {i!r}")
        n = len(self.dwps)
        if -n <= i < n:
            return int(i)
        if n == 0:
            tries, back = self.stats.get("tries", 0), self.stats.get("back_to_is", 0)
            raise IndexError(f"no DWP {i}: this search found none ({back} of {tries} tries quenched back to "
                             f"the IS, {len(self.dismissed)} pairs dismissed); res.dwps is empty. Search "
                             "another inherent structure, or more tries")
        raise IndexError(f"no DWP {i}: this search found {n}, rows 0..{n - 1} of res.dwps")

    def path(self, i: int) -> np.ndarray:
        """(n_frames, N, 3) minimum (the IS) → saddle → second minimum of DWP i (a row of ``dwps``).

        Raises IndexError, saying which rows exist, when there is no DWP i.
        """
        return self.paths[self._dwp_row(i)]

    def saddle(self, i: int) -> np.ndarray:
        """The saddle (N, 3) of DWP i."""
        return self.saddle_positions[self._dwp_row(i)]

    def minimum(self, i: int) -> np.ndarray:
        """The second minimum (N, 3) of DWP i."""
        return self.minima_positions[self._dwp_row(i)]

    def displacements(self, i: int) -> np.ndarray:
        """Per-particle displacement vectors (N, 3) from the IS to the second minimum, translation
        (each copy's) removed."""
        from ..engine.geometry import displacements

        box = self.stats["box"]
        return displacements(self.is_positions, self.minima_positions[self._dwp_row(i)], box, group=self.group)


class SearchRun:
    """One search, run step by step: iterate it for :class:`SearchProgress` events;
    :meth:`result` gives what has been verified so far (the whole result once iteration ends)."""

    def __init__(self, system, is_positions, tries: int = 400, seed: int = 0, *, is_id: int = 0,
                 params: SearchParams | None = None, **kwargs):
        params = params or SearchParams()
        if kwargs:
            unknown = set(kwargs) - set(SearchParams.__dataclass_fields__)
            if unknown:
                raise ValueError(f"unknown search parameter(s) {sorted(unknown)}; "
                                 f"known: {sorted(SearchParams.__dataclass_fields__)}")
            params = SearchParams(**{**asdict(params), **kwargs})
        self.params = params.validate()
        if isinstance(tries, bool) or not isinstance(tries, (int, np.integer)) or tries < 1:
            raise ValueError(f"tries must be a whole number >= 1, got {tries!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
        check_local(system, self.params)
        tries = local_tries_total(system, self.params, tries)
        self.system, self.tries, self.seed, self.is_id = system, int(tries), int(seed), int(is_id)
        self.x_is = system.check_positions(is_positions, "is_positions")
        check_spheres(system, self.x_is, self.params)
        e_is, f_is = system.energy_forces(self.x_is)
        fmax = np.max(np.linalg.norm(f_is, axis=1))
        if fmax > 1e-6:
            raise ValueError(f"is_positions is not a minimum (max |F| = {fmax:.1e} > 1e-6): "
                             "quench it first with system.quench(x)")
        self.e_is = e_is
        cert = certify_minimum(system, self.x_is)
        if not cert["is_certified"]:
            raise ValueError(f"is_positions is not a minimum: its Hessian has {cert['is_negative_modes']} negative "
                             f"mode(s) besides the translations (lowest eigenvalue {cert['is_lowest_eigenvalue']:.3g} "
                             "ε/σ²), so it is a saddle, where the forces vanish too. Displace it a little along "
                             "that mode (system.modes(x).unstable_mode) and quench it again")
        self.stats = dict(tries=0, converged=0, back_to_is=0, outside_windows=0, accepted=0, distinct=0,
                          n_evals=0, box=system.box, seconds=0.0, seconds_tries=0.0, **cert)
        self.minima: list[Minimum] = []
        self.rows, self.dismissed, self.arrays, self.dismissed_positions = [], [], [], []
        self.finished = False

    def __iter__(self) -> Iterator[SearchProgress]:
        system, params, x_is, e_is, stats = self.system, self.params, self.x_is, self.e_is, self.stats
        t0 = time.perf_counter()
        precond = hessian_preconditioner(system, x_is, params)
        runner = run_local_tries if params.mode == "local" else run_tries
        batch = []
        for k in range(self.tries):
            if not batch:  # tries run compiled in batches (a progress event still follows each try)
                ks = range(k, min(k + TRY_BATCH, self.tries))
                out = runner(system, x_is, ks, seed=self.seed, is_id=self.is_id, params=params, precond=precond)
                batch = [out.result(b) for b in range(len(ks))][::-1]
            r = batch.pop()
            xq, e, d, d_mw = r.positions, r.energy, r.d, r.d_mw
            stats["tries"] += 1
            stats["n_evals"] += r.n_evals
            if not r.converged:
                self.dismissed.append(dict(is_id=self.is_id, first_try=k, count=1, min_energy=e,
                                           asymmetry=abs(e - e_is), d=d, d_mw=d_mw,
                                           reason="quench did not converge"))
                self.dismissed_positions.append(xq)
            else:
                stats["converged"] += 1
                delta = abs(e - e_is)
                if same_minimum(system, x_is, e_is, xq, e, params.e_same, params.d_same, d=d):
                    stats["back_to_is"] += 1
                elif not (params.d_min < d_mw < params.d_max and params.delta_min <= delta < params.delta_max):
                    stats["outside_windows"] += 1
                else:
                    stats["accepted"] += 1
                    for m in self.minima:
                        if same_minimum(system, m.positions, m.energy, xq, e, params.e_same, params.d_same):
                            m.count += 1
                            break
                    else:
                        self.minima.append(Minimum(xq, e, d, d_mw, k))
            stats["seconds_tries"] = stats["seconds"] = time.perf_counter() - t0
            yield SearchProgress("tries", k + 1, self.tries, len(self.minima))
        stats["distinct"] = len(self.minima)
        surface = SystemSurface(system)
        # the saddle stage begins (a caller's progress bar switches to pairs before the first,
        # which may take a while: it compiles the saddle kernels on a cold cache)
        yield SearchProgress("saddles", self.tries, self.tries, len(self.minima), 0, len(self.minima), 0)
        for j, m in enumerate(self.minima):
            with _one_blas_thread():
                verdict = verify_pair(system, x_is, e_is, m.positions, m.energy, params, surface)
            new = None
            if not verdict.ok:
                self.dismissed.append(dict(is_id=self.is_id, first_try=m.first_try, count=m.count,
                                           min_energy=m.energy, asymmetry=abs(m.energy - e_is),
                                           d=m.d, d_mw=m.d_mw, reason=verdict.reason))
                self.dismissed_positions.append(m.positions)
            else:
                rec, out = verdict.record, verdict.arrays
                rec.update(is_id=self.is_id, dwp_id=len(self.rows), count=m.count, tries=self.tries,
                           first_try=m.first_try, copy=rec.get("copy", 0))
                self.rows.append(rec)
                self.arrays.append(out)
                new = rec
            stats["n_evals_saddles"] = surface.n_evals
            stats["seconds"] = time.perf_counter() - t0
            yield SearchProgress("saddles", self.tries, self.tries, len(self.minima), j + 1,
                                 len(self.minima), len(self.rows), new)
        self.finished = True
        yield SearchProgress("done", self.tries, self.tries, len(self.minima), len(self.minima),
                             len(self.minima), len(self.rows), None, self.result())

    def result(self) -> SearchResult:
        """The result so far (``cancelled`` is True until the search has finished)."""
        dwps = _typed(self.rows, DWP_COLUMNS)
        dis = _typed(self.dismissed, DISMISSED_COLUMNS)
        a = self.arrays
        return SearchResult(
            is_positions=self.x_is, is_energy=float(self.e_is), params=self.params, dwps=dwps,
            dismissed=dis, stats=dict(self.stats),
            minima_positions=[x["minimum"] for x in a], saddle_positions=[x["saddle"] for x in a],
            paths=[x["path"] for x in a], path_energies=[x["path_energy"] for x in a],
            path_arclengths=[x["path_arclength"] for x in a],
            dismissed_positions=list(self.dismissed_positions), cancelled=not self.finished,
            group=self.system.group if self.system.copies > 1 else None,
        )


def search_dwps(system, is_positions, tries: int = 400, seed: int = 0, *, is_id: int = 0,
                params: SearchParams | None = None,
                callback: Callable[[SearchProgress], object] | None = None, **kwargs) -> SearchResult:
    """Search the DWPs of one inherent structure (see the module docstring).

    Keywords override :class:`SearchParams` fields (``t_search``, ``n_search``, ``d_max``,
    ``delta_max``, ...). With ``mode="local"`` (:meth:`SearchParams.local`) each try excites
    one region (:mod:`tlsviz.search.local`) and the search runs ``tries_per_particle`` × N
    tries when that is set (else ``tries``). ``mode="local"`` as a keyword (or
    ``SearchParams(mode="local")``) keeps the global t_search 0.7 and ``tries``; the local
    defaults (T = 2.0, 6 tries per particle, as ``tlsviz search --local``) come with
    ``params=SearchParams.local()``. ``callback(progress)`` is called after every try and every pair; a
    true return value cancels the search, which then returns what it has verified so far,
    with ``cancelled=True``.
    """
    run = SearchRun(system, is_positions, tries, seed, is_id=is_id, params=params, **kwargs)
    for progress in run:
        if callback is not None and callback(progress):
            break
    return run.result()
