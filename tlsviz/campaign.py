"""Campaigns: many inherent structures searched, on all cores or a Dask cluster, never losing work.

IS ``i`` of a campaign with seed ``s`` is made from its own random start — random
positions, a loose quench, ``burn_in`` τ at T_equil under the thermostat, all from the
stream ``(s, i)`` — then quenched and searched with ``search_dwps(seed=s, is_id=i)``. So
every IS is independent of the others and of where and when it runs: the catalogue is
the same for 1 or N workers, locally or on Dask, interrupted and resumed or not.

With ``chains = C > 0`` the IS come instead from C long NVT chains, one per fixed chain
index, so that the catalogue still does not depend on the number of workers: IS ``i``
belongs to chain ``i mod C``; the chain's first IS is taken after ``burn_in`` τ from its own
random start, each later one ``spacing`` τ after the previous one, the MD continuing from
the state stored with that IS (so a resumed campaign continues every chain where its last
finished IS left it). A snapshot that quenches to the chain's previous IS is skipped and the
chain runs on for another ``spacing`` (the count is stored with the IS). Why chains: at
N = 65, T = 0.5 a random start needs ≈ 2000–3000 τ to reach equilibrium IS energies, while an
equilibrated chain decorrelates its IS energy in τ_int = 1420 ± 450 τ (docs/engine.md,
"Inherent structures"): along chains (``burn_in`` ≈ 3000, ``spacing`` ≈ 1500) an equilibrium
IS costs ≈ 1500 τ of MD instead of ≈ 3000 τ from its own start, but the IS of one chain stay
weakly correlated (N of them count as ≈ 0.6–1 × N independent ones). At most ``chains`` IS
are computed at a time, so give at least as many chains as workers.

Each finished IS is written at once and atomically (:func:`tlsviz.catalog.write_part`);
``resume=True`` skips the IS already on disk.

Interrupting (Ctrl-C, or a ``cancel`` event) stops at the next point between two compiled
calls — within a second or two — and raises :class:`CampaignInterrupted`: what is finished
stays on disk, the IS in flight is dropped, and a resumed campaign completes to the same
catalogue.
"""

from __future__ import annotations

import shutil
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
import pandas as pd

from . import __version__
from .catalog import (CHAIN_SCHEMA_VERSION, SCHEMA_VERSION, Catalog, CampaignLock, CatalogError, check_part, check_tables,
                      consolidate, file_in_the_way, finished_parts, part_name, read_campaign_json,
                      write_json_atomic,
                      write_part)
from .search import SearchParams, search_dwps
from .search.local import check_local
from .system import DT, IS_BURN_IN, IS_MAX_SKIPS, KobAndersen, QuenchResult, _stream_seed, set_default_threads
from .tunnelling import with_tunnelling_columns

#: Seconds to wait for a Dask scheduler (a refused connection fails at once).
DASK_CONNECT_TIMEOUT = 10.0

#: Default spacing (τ) of the IS of one chain of a chain campaign (``chains`` > 0): the
#: integrated autocorrelation time of the IS energy along equilibrated chains at T = 0.5,
#: N = 65 (1420 ± 450 τ, benchmarks/decorrelation.py, docs/engine.md), rounded up.
CHAIN_SPACING = 1500.0
#: Burn-in (τ) that the CLI gives a chain campaign unless told: where the IS energy of a random
#: start at T = 0.5, N = 65 levels off (docs/engine.md).
CHAIN_BURN_IN = 3000.0

#: Columns of the IS table.
MINIMA_COLUMNS = ["is_id", "energy", "grad_norm", "quench_evals", "tries", "converged", "back_to_is",
                  "outside_windows", "accepted", "distinct", "n_dwps", "n_dismissed", "certified", "lowest_eigenvalue"]


def _stored_search(search: dict) -> dict:
    """Search parameters as stored in a campaign.json, with the values that campaigns written
    before a parameter existed ran with: before the preconditioned tries, none; before local
    tries, the global search (the local knobs at their defaults, unused)."""
    d = SearchParams()
    before_local = {k: getattr(d, k) for k in ("mode", "r_loc", "buffer", "tries_per_particle", "design")}
    return {"precondition": False, **before_local, **search}


def _stored_config(d: dict) -> dict:
    """A stored campaign.json's parameters with the values campaigns written before a
    parameter existed ran with: before chains, an independent start per IS."""
    return {"chains": 0, "spacing": CHAIN_SPACING, **d}


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
    chains: int = 0
    spacing: float = CHAIN_SPACING

    def validate(self) -> "CampaignConfig":
        system = KobAndersen(n=self.n, copies=self.copies)  # raises on a bad size
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
        if isinstance(self.chains, bool) or not isinstance(self.chains, (int, np.integer)) or self.chains < 0:
            raise ValueError(f"chains must be a whole number >= 0 (0: an independent start per IS), "
                             f"got {self.chains!r}")
        if not (np.isfinite(self.spacing) and self.spacing >= DT):
            raise ValueError(f"spacing must be at least one MD step ({DT:g} τ), got {self.spacing!r}")
        self.search.validate()
        check_local(system, self.search)  # r_loc against this box
        return self

    def to_dict(self) -> dict:
        d = asdict(self)
        d["search"] = asdict(self.search)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "CampaignConfig":
        d = _stored_config(d)
        d["search"] = SearchParams(**_stored_search(d.get("search", {})))
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


class CampaignInterrupted(KeyboardInterrupt):
    """A campaign stopped by Ctrl-C or its ``cancel`` event, at a clean point: every finished
    IS is on disk; resume to continue."""


class _Cancelled(Exception):
    """compute_is was cancelled between two compiled calls (internal)."""


class ChainState(NamedTuple):
    """Where a chain of a chain campaign stands after one of its IS: the MD positions and
    velocities at that IS's snapshot, and the IS (positions, energy) to tell a repeat."""

    x: np.ndarray
    v: np.ndarray
    is_positions: np.ndarray
    is_energy: float


class ChainIS(NamedTuple):
    """An IS of a chain campaign: its quench, the chain's state there, and how many snapshots
    before it were skipped as repeats of the chain's previous IS."""

    quench: QuenchResult
    state: ChainState
    skipped: int


def chain_is(config: CampaignConfig, is_id: int, state: ChainState | None = None, cancel=None) -> ChainIS:
    """IS ``is_id`` of a chain campaign (``config.chains`` > 0, module docstring).

    The chain is ``is_id mod chains``, and this is its IS number ``k = is_id // chains``. k = 0:
    ``burn_in`` τ from the chain's random start (stream ``(seed, 200000 + chain)``). k > 0: from
    ``state``, the chain's state at IS ``is_id − chains``, ``spacing`` τ more (stream
    ``((seed, 300000 + is_id), attempt)``), again while the snapshot quenches to that IS
    (:func:`tlsviz.search.same_minimum`), at most :data:`tlsviz.system.IS_MAX_SKIPS` times. Without
    ``state`` the chain is run from its start (what ``tlsviz minima`` and one-off calls do).
    """
    from .search import same_minimum

    if config.chains < 1:
        raise ValueError("chain_is needs a campaign with chains >= 1")
    system = KobAndersen(n=config.n, copies=config.copies)
    chain, k = is_id % config.chains, is_id // config.chains
    if k > 0 and state is None:  # run the chain from its start up to the previous IS
        for j in range(chain, is_id, config.chains):
            state = chain_is(config, j, state, cancel).state
    if k == 0:
        x, v = system.equilibrate(_stream_seed(config.seed, 200_000 + chain), config.t_equil, config.burn_in)
        if cancel is not None and cancel.is_set():
            raise _Cancelled
        q = system.quench(x)
        return ChainIS(q, ChainState(x, v, q.positions, q.energy), 0)
    x, v = state.x, state.v
    steps = int(round(config.spacing / DT))
    stream = _stream_seed(config.seed, 300_000 + is_id)
    for attempt in range(IS_MAX_SKIPS + 1):
        if cancel is not None and cancel.is_set():
            raise _Cancelled
        x, v = system.nvt(x, v, steps, config.t_equil, _stream_seed(stream, attempt))
        system._check_md(x, config.t_equil, DT)
        q = system.quench(x)
        if not same_minimum(system, state.is_positions, state.is_energy, q.positions, q.energy):
            return ChainIS(q, ChainState(x, v, q.positions, q.energy), attempt)
    raise RuntimeError(
        f"chain {chain} of the campaign is stuck: {IS_MAX_SKIPS + 1} snapshots in a row "
        f"{config.spacing:g} τ apart quenched to the IS before IS {is_id} at T_equil = {config.t_equil:g}; "
        "use a larger spacing or a higher t_equil")


def campaign_is(config: CampaignConfig, is_id: int, cancel=None) -> QuenchResult:
    """IS ``is_id`` of a campaign: ``burn_in`` τ at ``t_equil`` from its own random start
    (stream ``(seed, 100000 + is_id)``), then quenched; with ``chains`` > 0 the IS of its chain
    (:func:`chain_is`, the chain run from its start). ``tlsviz minima`` makes the same
    structures as ``tlsviz search`` with the same options."""
    if config.chains > 0:
        return chain_is(config, is_id, None, cancel).quench
    system = KobAndersen(n=config.n, copies=config.copies)
    x, _ = system.equilibrate(_stream_seed(config.seed, 100_000 + is_id), config.t_equil, config.burn_in)
    if cancel is not None and cancel.is_set():
        raise _Cancelled
    return system.quench(x)


def compute_is(config: CampaignConfig, is_id: int, cancel=None, state: ChainState | None = None) -> dict:
    """Make IS ``is_id`` of a campaign and search it: tables and arrays for :func:`write_part`.

    ``cancel``: an object with ``is_set()`` (a threading.Event), looked at between compiled
    calls; when set, the IS is abandoned (internal ``_Cancelled``). ``state``: in a chain
    campaign, the chain's state at IS ``is_id − chains`` (:func:`chain_is`); the chain's state
    at this IS is returned under "state" and stored in the part (arrays ``chain_x``,
    ``chain_v``; ``chain_skipped``: the snapshots skipped as repeats before it)."""
    t0 = time.perf_counter()
    system = KobAndersen(n=config.n, copies=config.copies)
    if config.chains > 0:
        made = chain_is(config, is_id, state, cancel)
        q = made.quench
    else:
        made = None
        q = campaign_is(config, is_id, cancel)
    stop = (lambda p: cancel.is_set()) if cancel is not None else None
    res = search_dwps(system, q.positions, config.tries, config.seed, is_id=is_id, params=config.search,
                      callback=stop)
    if res.cancelled:
        raise _Cancelled
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
    if made is not None:
        arrays.update(chain_x=made.state.x, chain_v=made.state.v, chain_skipped=np.array([made.skipped]))
    dwps = with_tunnelling_columns(res.dwps, res.path_arclengths, res.path_energies)
    return dict(is_id=is_id, tables=dict(minima=minima, dwps=dwps, dismissed=res.dismissed),
                arrays=arrays, seconds=time.perf_counter() - t0, tries=st["tries"],
                state=made.state if made is not None else None)


def _compute_is_dict(config_dict: dict, is_id: int, state: ChainState | None = None) -> dict:
    """compute_is from a plain dict (what crosses process and network boundaries), in a worker
    process or on a Dask worker: on one thread, so that the workers do not share cores."""
    set_default_threads(1)
    return compute_is(CampaignConfig.from_dict(config_dict), is_id, state=state)


def _stored_state(out: Path, is_id: int) -> ChainState:
    """The chain state stored with finished IS ``is_id`` (its part's arrays and minima row)."""
    import h5py

    from .catalog import _read_parquet

    part = Path(out) / "parts" / part_name(is_id)
    with h5py.File(part / "arrays.h5", "r") as h5:
        x, v, xi = h5["chain_x"][()], h5["chain_v"][()], h5["is_positions"][()]
    energy = float(_read_parquet(part / "minima.parquet")["energy"].iloc[0])
    return ChainState(x, v, xi, energy)


class _Ready:
    """Which IS can start: every one of an independent-start campaign; in a chain campaign an
    IS once its chain's previous IS is finished (its state, from the run or from disk)."""

    def __init__(self, config: CampaignConfig, out: Path, todo: list[int]):
        self.chains = config.chains
        self.out = out
        todo_set = set(todo)
        if self.chains == 0:
            self.queue = list(todo)
            self.waiting = {}
        else:
            # an IS can start now when it is its chain's first or its chain's previous IS is on
            # disk (after damaged parts were deleted, a chain may have several such IS)
            self.queue = sorted(i for i in todo if i < self.chains or i - self.chains not in todo_set)
            self.waiting = {i: i + self.chains for i in todo if i + self.chains in todo_set}
        self.states: dict[int, ChainState] = {}

    def stop(self):
        """Start nothing more (the IS in flight still finish)."""
        self.queue.clear()
        self.waiting.clear()

    def done(self, result: dict):
        """Record a finished IS; its chain's next IS becomes ready."""
        nxt = self.waiting.pop(result["is_id"], None)
        if nxt is not None:
            self.states[nxt] = result["state"]
            self.queue.append(nxt)
            self.queue.sort()

    def pop(self) -> tuple[int, ChainState | None]:
        """The next IS to start and the state it continues from (None: none needed)."""
        i = self.queue.pop(0)
        if self.chains == 0 or i < self.chains:
            return i, None
        state = self.states.pop(i, None)
        return i, state if state is not None else _stored_state(self.out, i - self.chains)


def _ignore_sigint():
    """Pool workers leave Ctrl-C to the parent, which stops them (no traceback from each)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


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


def check_output(out, config: CampaignConfig, resume: bool, resume_hint: str = "resume=True") -> dict:
    """Read-only checks of the output directory against the config (raises CatalogError).
    ``resume_hint``: how the caller's user asks to resume (the CLI: "--resume")."""
    out = Path(out)
    parent = file_in_the_way(out)
    if parent is not None:
        where = "is" if parent == out else f"is inside {parent}, which is"
        raise CatalogError(f"{out} {where} a file, not a directory: give a directory for the catalogue")
    if (out / "campaign.json").exists():
        old = _stored_config(read_campaign_json(out))
        if isinstance(old.get("search"), dict):
            old["search"] = _stored_search(old["search"])
        if not resume:
            raise CatalogError(f"{out} already holds a campaign: continue it with {resume_hint}, or "
                               "choose another output directory")
        diff = {k: (old.get(k), v) for k, v in config.to_dict().items() if k != "minima" and old.get(k) != v
                and not (k == "spacing" and not config.chains and not old.get("chains"))}  # unused without chains
        if diff:
            lines = ", ".join(f"{k}: stored {a!r}, given {b!r}" for k, (a, b) in diff.items())
            raise CatalogError(f"{out}/campaign.json was written with other parameters ({lines}); "
                               "resume with the same parameters or choose another output directory")
    elif out.exists() and (not out.is_dir() or any(p.name != ".lock" for p in out.iterdir())):
        raise CatalogError(f"{out} exists and is not a tlsviz catalogue (no campaign.json); "
                           "choose an empty or new output directory")
    return dict(format="tlsviz-catalog", schema_version=CHAIN_SCHEMA_VERSION if config.chains else SCHEMA_VERSION,
                tlsviz_version=__version__, **config.to_dict())


def prepare(out, config: CampaignConfig, resume: bool, resume_hint: str = "resume=True") -> list[int]:
    """Check the output directory, write campaign.json, clean up after a killed run, check
    every finished part's files (:func:`tlsviz.catalog.check_part`), and return the is_ids
    still to compute (CatalogError naming any damaged file and the remedy)."""
    out = Path(out)
    meta = check_output(out, config, resume, resume_hint)
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "campaign.json", meta)
    parts_dir = out / "parts"
    if parts_dir.is_dir():
        for tmp in parts_dir.glob(".tmp-*"):
            shutil.rmtree(tmp, ignore_errors=True)  # from a run that was killed mid-write
    done = finished_parts(out)
    for path in done.values():
        check_part(path)
    if check_tables(out):
        # damaged copies of the parts: readers fall back to the parts until consolidate rewrites them
        (out / "consolidated.json").unlink()
    return [i for i in range(config.minima) if i not in done]


def run_campaign(config: CampaignConfig, out, *, workers: int = 1, resume: bool = False,
                 dask: str | None = None,
                 progress: Callable[[CampaignProgress], object] | None = None,
                 cancel=None, resume_hint: str = "resume=True") -> Catalog:
    """Run (or resume) a campaign into directory ``out`` and return its :class:`Catalog`.

    workers: processes on this machine (1 runs in this process). dask: None, "local" (a
    LocalCluster of ``workers`` processes on 127.0.0.1) or a scheduler address
    "tcp://host:port" (reached before anything is written: a wrong address leaves nothing
    behind). ``progress(p)`` after every finished IS; a true return value stops the campaign
    after the IS in flight (what is finished stays on disk).

    ``cancel``: an object with ``is_set()`` (a threading.Event) that stops the campaign at the
    next point between compiled calls and raises :class:`CampaignInterrupted`. Without one,
    run from the main thread, Ctrl-C (SIGINT) does the same while the campaign runs (the
    previous handler is restored afterwards).
    """
    config = config.validate()
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise ValueError(f"workers must be a whole number >= 1, got {workers!r}")
    if dask is not None and dask != "local" and not str(dask).startswith(("tcp://", "tls://", "inproc://")):
        raise ValueError(f"dask must be 'local' or a scheduler address like tcp://host:8786, got {dask!r}")
    out = Path(out)
    check_output(out, config, resume, resume_hint)
    own_handler = None
    if cancel is None:
        cancel = threading.Event()
        if threading.current_thread() is threading.main_thread():
            own_handler = signal.signal(signal.SIGINT, lambda *_: cancel.set())
    try:
        client = _dask_client(dask, workers) if dask is not None else None
        try:
            return _run(config, out, workers, resume, client, progress, cancel, resume_hint)
        finally:
            if client is not None:
                _close_dask(client, quiet=cancel.is_set())
    finally:
        if own_handler is not None:
            signal.signal(signal.SIGINT, own_handler)


def _run(config, out, workers, resume, client, progress, cancel, resume_hint) -> Catalog:
    if cancel.is_set():
        raise CampaignInterrupted(str(out))
    out.mkdir(parents=True, exist_ok=True)
    with CampaignLock(out):
        todo = prepare(out, config, resume, resume_hint)
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

        if client is not None:
            _run_dask(config, _Ready(config, out, todo), client, record, cancel)
        elif workers == 1:
            ready = _Ready(config, out, todo)
            while ready.queue and not cancel.is_set():
                i, st = ready.pop()
                try:
                    result = compute_is(config, i, cancel, st)
                except _Cancelled:
                    break
                ready.done(result)
                if record(result):
                    break
        else:
            _run_pool(config, _Ready(config, out, todo), workers, record, cancel)
        if cancel.is_set():
            raise CampaignInterrupted(str(out))
        if len(finished_parts(out)) >= config.minima:
            consolidate(out)
    return Catalog.open(out)


def _run_pool(config, ready, workers, record, cancel):
    cfg = config.to_dict()
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_ignore_sigint)
    try:
        pending = set()
        while ready.queue and len(pending) < 2 * workers:
            pending.add(pool.submit(_compute_is_dict, cfg, *ready.pop()))
        while pending and not cancel.is_set():
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            stop = False
            for fut in done:
                result = fut.result()
                ready.done(result)
                stop = record(result) or stop
            if stop:
                ready.stop()
            while ready.queue and len(pending) < 2 * workers and not cancel.is_set():
                pending.add(pool.submit(_compute_is_dict, cfg, *ready.pop()))
    finally:
        if cancel.is_set():
            # the IS in flight are dropped: stop the workers now rather than wait for them
            for proc in list(getattr(pool, "_processes", {}).values()):
                proc.terminate()
        pool.shutdown(wait=True, cancel_futures=True)


def _dask_client(address, workers):
    """A connected Dask client (and its LocalCluster for "local"), or a ValueError that says
    the scheduler cannot be reached — before anything is written."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise ValueError("--dask needs Dask distributed: pip install 'tlsviz[dask]'") from None
    if address == "local":
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)
        client = Client(cluster)
        client._tlsviz_cluster = cluster
        return client
    hint = ("start the scheduler first (e.g. a dask-jobqueue cluster, README) and give its address "
            "as printed, like tcp://10.0.0.5:8786")
    if address.startswith(("tcp://", "tls://")):
        import socket

        host, _, port = address.split("://", 1)[1].rpartition(":")
        if not port.isdigit() or not host:
            raise ValueError(f"--dask {address}: expected an address like tcp://host:8786")
        try:
            socket.create_connection((host.strip("[]"), int(port)), timeout=DASK_CONNECT_TIMEOUT).close()
        except OSError as err:
            raise ValueError(f"cannot reach the Dask scheduler at {address} "
                             f"({err.strerror or err}): {hint}") from None
    try:
        return Client(address, timeout=DASK_CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as err:
        raise ValueError(f"cannot connect to the Dask scheduler at {address} ({err}): {hint}") from None


def _close_dask(client, quiet: bool = False):
    """Close the client (and its LocalCluster); ``quiet``: after Ctrl-C, without Dask's warnings
    about the tasks and workers it stops."""
    import logging

    logger = logging.getLogger("distributed")
    level = logger.level
    if quiet:
        logger.setLevel(logging.ERROR)
    try:
        cluster = getattr(client, "_tlsviz_cluster", None)
        client.close()
        if cluster is not None:
            cluster.close()
    finally:
        logger.setLevel(level)


def _run_dask(config, ready, client, record, cancel):
    from dask.distributed import wait as dask_wait

    cfg = config.to_dict()
    pending = set()

    def submit_ready():
        while ready.queue:
            pending.add(client.submit(_compute_is_dict, cfg, *ready.pop(), pure=False))

    submit_ready()
    try:
        while pending and not cancel.is_set():
            try:
                done = dask_wait(pending, timeout=0.2, return_when="FIRST_COMPLETED").done
            except TimeoutError:
                continue
            stop = False
            for fut in done:
                pending.discard(fut)
                result = fut.result()
                ready.done(result)
                stop = record(result) or stop
            if stop:
                break
            submit_ready()
    finally:
        for fut in pending:
            fut.cancel()
