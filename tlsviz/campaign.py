"""Campaigns: many inherent structures searched, on all cores or a Dask cluster, never losing work.

IS ``i`` of a campaign with seed ``s`` is made from its own random start — random
positions, a loose quench, ``burn_in`` τ at T_equil under the thermostat, all from the
stream ``(s, i)`` — then quenched and searched with ``search_dwps(seed=s, is_id=i)``. So
every IS is independent of the others and of where and when it runs: the catalogue is
the same for 1 or N workers, locally or on Dask, interrupted and resumed or not.

Each finished IS is written at once and atomically (:func:`tlsviz.catalog.write_part`);
``resume=True`` skips the IS already on disk.
"""

from __future__ import annotations

import shutil
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from . import __version__
from .catalog import (SCHEMA_VERSION, Catalog, CampaignLock, CatalogError, check_part, consolidate,
                      finished_parts, read_campaign_json, write_json_atomic, write_part)
from .search import SearchParams, search_dwps
from .system import IS_BURN_IN, KobAndersen, _stream_seed

#: Columns of the IS table.
MINIMA_COLUMNS = ["is_id", "energy", "grad_norm", "quench_evals", "tries", "converged", "back_to_is",
                  "outside_windows", "accepted", "distinct", "n_dwps", "n_dismissed", "certified", "lowest_eigenvalue"]


def _stored_search(search: dict) -> dict:
    """Search parameters as stored in a campaign.json, with the values that campaigns written
    before a parameter existed ran with: before the preconditioned tries, none."""
    return {"precondition": False, **search}


@dataclass(frozen=True)
class CampaignConfig:
    """What a campaign computes. Everything here is stored in campaign.json."""

    n: int = 65
    copies: int = 1
    minima: int = 3
    tries: int = 400
    t_equil: float = 0.5
    burn_in: float = IS_BURN_IN
    seed: int = 0
    search: SearchParams = field(default_factory=SearchParams)

    def validate(self) -> "CampaignConfig":
        KobAndersen(n=self.n, copies=self.copies)  # raises on a bad size
        for name in ("minima", "tries"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be a whole number >= 1, got {v!r}")
        if not (np.isfinite(self.t_equil) and self.t_equil > 0):
            raise ValueError(f"t_equil must be a temperature > 0, got {self.t_equil!r}")
        if not (np.isfinite(self.burn_in) and self.burn_in >= 0):
            raise ValueError(f"burn_in must be >= 0 (τ), got {self.burn_in!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ValueError(f"seed must be an integer >= 0, got {self.seed!r}")
        self.search.validate()
        return self

    def to_dict(self) -> dict:
        d = asdict(self)
        d["search"] = asdict(self.search)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "CampaignConfig":
        d = dict(d)
        d["search"] = SearchParams(**_stored_search(d.get("search", {})))
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def compute_is(config: CampaignConfig, is_id: int) -> dict:
    """Make IS ``is_id`` of a campaign and search it: tables and arrays for :func:`write_part`."""
    t0 = time.perf_counter()
    system = KobAndersen(n=config.n, copies=config.copies)
    x, _ = system.equilibrate(_stream_seed(config.seed, 100_000 + is_id), config.t_equil, config.burn_in)
    q = system.quench(x)
    res = search_dwps(system, q.positions, config.tries, config.seed, is_id=is_id, params=config.search)
    st = res.stats
    minima = pd.DataFrame([dict(
        is_id=is_id, energy=q.energy, grad_norm=q.grad_norm, quench_evals=q.n_evals, tries=st["tries"],
        converged=st["converged"], back_to_is=st["back_to_is"], outside_windows=st["outside_windows"],
        accepted=st["accepted"], distinct=st["distinct"], n_dwps=len(res.dwps),
        n_dismissed=len(res.dismissed), certified=st["is_certified"], lowest_eigenvalue=st["is_lowest_eigenvalue"],
    )], columns=MINIMA_COLUMNS)
    n = system.n_particles
    frames = config.search.n_frames
    k = len(res.dwps)
    stack = lambda items, shape: np.array(items, dtype=float) if items else np.zeros((0, *shape))
    arrays = dict(
        is_positions=res.is_positions,
        minimum=stack(res.minima_positions, (n, 3)),
        saddle=stack(res.saddle_positions, (n, 3)),
        path=stack(res.paths, (frames, n, 3)),
        path_energy=stack(res.path_energies, (frames,)),
        path_arclength=stack(res.path_arclengths, (frames,)),
        displacements=stack([res.displacements(i) for i in range(k)], (n, 3)),
        dismissed_minimum=stack(res.dismissed_positions, (n, 3)),
    )
    return dict(is_id=is_id, tables=dict(minima=minima, dwps=res.dwps, dismissed=res.dismissed),
                arrays=arrays, seconds=time.perf_counter() - t0, tries=st["tries"])


def _compute_is_dict(config_dict: dict, is_id: int) -> dict:
    """compute_is from a plain dict (what crosses process and network boundaries)."""
    return compute_is(CampaignConfig.from_dict(config_dict), is_id)


@dataclass
class CampaignProgress:
    is_done: int
    is_total: int
    dwps: int
    tries: int
    seconds: float
    skipped: int = 0

    @property
    def tries_per_second(self) -> float:
        return self.tries / self.seconds if self.seconds > 0 else 0.0


def check_output(out, config: CampaignConfig, resume: bool) -> dict:
    """Read-only checks of the output directory against the config (raises CatalogError)."""
    out = Path(out)
    if (out / "campaign.json").exists():
        old = {**read_campaign_json(out)}
        if isinstance(old.get("search"), dict):
            old["search"] = _stored_search(old["search"])
        if not resume:
            raise CatalogError(f"{out} already holds a campaign; pass --resume (resume=True) to "
                               "continue it, or choose another output directory")
        diff = {k: (old.get(k), v) for k, v in config.to_dict().items() if k != "minima" and old.get(k) != v}
        if diff:
            lines = ", ".join(f"{k}: stored {a!r}, given {b!r}" for k, (a, b) in diff.items())
            raise CatalogError(f"{out}/campaign.json was written with other parameters ({lines}); "
                               "resume with the same parameters or choose another output directory")
    elif out.exists() and (not out.is_dir() or any(p.name != ".lock" for p in out.iterdir())):
        raise CatalogError(f"{out} exists and is not a tlsviz catalogue (no campaign.json); "
                           "choose an empty or new output directory")
    return dict(format="tlsviz-catalog", schema_version=SCHEMA_VERSION, tlsviz_version=__version__,
                **config.to_dict())


def prepare(out, config: CampaignConfig, resume: bool) -> list[int]:
    """Check the output directory, write campaign.json, clean up after a killed run, and
    return the is_ids still to compute (CatalogError naming any damaged file)."""
    out = Path(out)
    meta = check_output(out, config, resume)
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "campaign.json", meta)
    parts_dir = out / "parts"
    if parts_dir.is_dir():
        for tmp in parts_dir.glob(".tmp-*"):
            shutil.rmtree(tmp, ignore_errors=True)  # from a run that was killed mid-write
    done = finished_parts(out)
    for path in done.values():
        check_part(path)
    return [i for i in range(config.minima) if i not in done]


def run_campaign(config: CampaignConfig, out, *, workers: int = 1, resume: bool = False,
                 dask: str | None = None,
                 progress: Callable[[CampaignProgress], object] | None = None) -> Catalog:
    """Run (or resume) a campaign into directory ``out`` and return its :class:`Catalog`.

    workers: processes on this machine (1 runs in this process). dask: None, "local" (a
    LocalCluster of ``workers`` processes on 127.0.0.1) or a scheduler address
    "tcp://host:port". ``progress(p)`` after every finished IS; a true return value stops
    the campaign after the IS in flight (what is finished stays on disk).
    """
    config = config.validate()
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"workers must be a whole number >= 1, got {workers!r}")
    if dask is not None and dask != "local" and not str(dask).startswith(("tcp://", "tls://", "inproc://")):
        raise ValueError(f"dask must be 'local' or a scheduler address like tcp://host:8786, got {dask!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with CampaignLock(out):
        todo = prepare(out, config, resume)
        skipped = config.minima - len(todo)
        state = CampaignProgress(skipped, config.minima, 0, 0, 0.0, skipped)
        t0 = time.perf_counter()

        def record(result) -> bool:
            write_part(out, result["is_id"], result["tables"], result["arrays"])
            state.is_done += 1
            state.dwps += len(result["tables"]["dwps"])
            state.tries += result["tries"]
            state.seconds = time.perf_counter() - t0
            return bool(progress(state)) if progress is not None else False

        if dask is not None:
            _run_dask(config, todo, dask, workers, record)
        elif workers == 1:
            for i in todo:
                if record(compute_is(config, i)):
                    break
        else:
            _run_pool(config, todo, workers, record)
        if len(finished_parts(out)) >= config.minima:
            consolidate(out)
    return Catalog.open(out)


def _run_pool(config, todo, workers, record):
    cfg = config.to_dict()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending = {pool.submit(_compute_is_dict, cfg, i) for i in todo[:2 * workers]}
        queue = list(todo[2 * workers:])
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                stop = False
                for fut in done:
                    stop = record(fut.result()) or stop
                if stop:
                    queue.clear()
                while queue and len(pending) < 2 * workers:
                    pending.add(pool.submit(_compute_is_dict, cfg, queue.pop(0)))
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise


def _run_dask(config, todo, address, workers, record):
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise ValueError("--dask needs Dask distributed: pip install 'tlsviz[dask]'") from None

    cluster = None
    if address == "local":
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)
        client = Client(cluster)
    else:
        client = Client(address)
    try:
        cfg = config.to_dict()
        futures = [client.submit(_compute_is_dict, cfg, i, pure=False) for i in todo]
        for fut in as_completed(futures):
            if record(fut.result()):
                for f in futures:
                    f.cancel()
                break
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
