"""The explorer's state, without any layout: what is selected, what is running, what was found.

Panels observe these traits and set them. A search (or "Make IS") runs in a background thread
whose compiled kernels release the GIL (nogil), so the notebook stays responsive; the thread
never touches a widget: it hands snapshots of its progress, at most one per
:data:`PUBLISH_INTERVAL`, to the kernel's event loop, so that every widget, plot and nglview
update happens on the kernel's main thread, or applies them itself where no loop runs (a
script, a test, ``blocking=True``).
"""

from __future__ import annotations

import asyncio
import collections
import math
import os
import threading
import time
import traceback
from functools import partial

import numpy as np
import pandas as pd
import traitlets

from ..search import DWP_COLUMNS, SearchParams, SearchRun, same_minimum
from ..system import KobAndersen
from ..tunnelling import TUNNELLING_COLUMNS, tunnelling_columns

__all__ = ["ExplorerModel", "TUNNELLING_COLUMNS", "PUBLISH_INTERVAL", "INPUT_LIMITS", "search_kernels_cold"]

#: Seconds between two progress snapshots of a running search (at most ~10 widget updates per
#: second whatever the try rate: two per try flooded the browser with ~220 messages per second).
PUBLISH_INTERVAL = 0.1

#: Accepted values of the search inputs: name → (label, type, lowest, highest, why).
INPUT_LIMITS = {
    "t_search": ("T_search", float, 0.0, 3.0, "a temperature above 0 and at most 3 ε/k_B (the liquid is "
                                              "far above T = 0.435; hotter tries only leave the basin)"),
    "n_search": ("N_search", int, 1, 100_000, "a whole number of MD steps from 1 to 100000"),
    "tries": ("tries M", int, 1, 100_000, "a whole number of tries from 1 to 100000"),
    "seed": ("seed", int, 0, 2**63 - 1, "a whole number >= 0"),
}

#: What the launcher says while the search kernels compile (a cold numba cache).
COMPILING = "compiling the search kernels — first run only, one to three minutes"

#: Catalogue DWPs whose arrays :meth:`ExplorerModel.dwp` keeps in memory (the last read).
DWP_CACHE = 4

#: Filter ranges: DWP column → (trait name of the (lo, hi) tuple).
RANGE_COLUMNS = {"asymmetry": "delta_range", "barrier": "barrier_range", "d": "d_range", "pr2": "pr_range"}
#: Traits of the model that change :meth:`ExplorerModel.filtered`.
FILTER_TRAITS = ["table", "scope", "central_type", "selected_is", "tls_only", *RANGE_COLUMNS.values()]


def input_error(name: str, value) -> str:
    """"" when ``value`` is acceptable for search input ``name`` (:data:`INPUT_LIMITS`), else a
    message that says what is wrong and what to type instead. Values are never rounded or clipped."""
    label, kind, lo, hi, what = INPUT_LIMITS[name]
    if kind is int:
        ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool) and lo <= value <= hi
    else:
        ok = isinstance(value, (int, float, np.number)) and math.isfinite(value) and lo < value <= hi
    return "" if ok else f"{label} must be {what}; got {value!r}"


def parse_input(name: str, text: str):
    """(value, "") from the text typed for search input ``name``, or (None, message). Integers
    must be written with digits only (``1e4`` is refused, not read as 1 or 14: write 10000)."""
    label, kind, *_ = INPUT_LIMITS[name]
    s = str(text).strip()
    try:
        if kind is int:
            if not s.lstrip("+-").isdigit():
                raise ValueError
            value = int(s)
        else:
            value = float(s)
    except ValueError:
        hint = " (digits only, e.g. 10000 rather than 1e4)" if kind is int else " (e.g. 0.7)"
        return None, f"{label}: {s!r} is not {'a whole number' if kind is int else 'a number'}{hint}"
    msg = input_error(name, value)
    return (value, "") if not msg else (None, msg)


def search_kernels_cold() -> bool:
    """True when a search in this process must first compile its kernels: neither compiled in
    this process nor found in numba's on-disk cache (the tries, the ridge walk, the descent)."""
    from ..engine import descent, ridge, tries

    for disp in (tries._search_tries, ridge._ridge_walk, descent._descent):
        if disp.signatures:
            continue
        try:
            if not disp._cache._cache_file._load_index():
                return True
        except Exception:  # numba's cache internals changed: cannot tell
            return False
    return False


def _running_loop():
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class DWPSource:
    """Arrays of one DWP: the path (F, N, 3), its energies (F,), displacements IS → minimum (N, 3),
    and (live results) the second minimum (N, 3)."""

    def __init__(self, path, energies, displacements, minimum=None):
        self.path = np.asarray(path)
        self.energies = np.asarray(energies)
        self.displacements = np.asarray(displacements)
        self.minimum = None if minimum is None else np.asarray(minimum)


class ExplorerModel(traitlets.HasTraits):
    """State of the explorer over a catalogue (or a fresh system).

    structures: the inherent structures one can pick (is_id, energy, n_dwps, source).
    table: every DWP known (catalogue + live search), one row per DWP (a DWP found again by a
    search is the row it already had), ``key`` unique.

    The selection (``selected_is``, ``selected_dwp``) changes only when the user changes it, or
    when the filters hide the selected DWP: ``selected_dwp`` is then "" and ``notice`` says so
    (the DWP comes back when the filters show it again).
    """

    selected_is = traitlets.Int(-1)
    selected_dwp = traitlets.Unicode("")  # key of a row of ``table``
    structures = traitlets.Instance(pd.DataFrame)
    table = traitlets.Instance(pd.DataFrame)
    notice = traitlets.Unicode("")  # e.g. "no DWP matches the filters"
    # search inputs (checked by :func:`input_error` before a search, never rewritten)
    t_search = traitlets.Float(SearchParams.t_search)
    n_search = traitlets.Int(SearchParams.n_search)
    tries = traitlets.Int(400)
    seed = traitlets.Int(0)
    # search progress
    running = traitlets.Bool(False)
    phase = traitlets.Unicode("")  # "compiling", "tries", "saddles", "done", "cancelled", "failed"
    tries_done = traitlets.Int(0)
    tries_total = traitlets.Int(0)
    minima_found = traitlets.Int(0)
    pairs_done = traitlets.Int(0)
    pairs_total = traitlets.Int(0)
    dwps_verified = traitlets.Int(0)
    found_again = traitlets.Int(0)  # verified DWPs of this search that the table had already
    status = traitlets.Unicode("")
    error = traitlets.Unicode("")
    # Make IS
    making = traitlets.Bool(False)
    making_status = traitlets.Unicode("")
    # filters
    scope = traitlets.Enum(["selected IS", "all"], "all")
    central_type = traitlets.Enum(["any", "A", "B"], "any")
    tls_only = traitlets.Bool(False)
    delta_range = traitlets.Tuple(traitlets.Float(), traitlets.Float(), default_value=(0.0, np.inf))
    barrier_range = traitlets.Tuple(traitlets.Float(), traitlets.Float(), default_value=(0.0, np.inf))
    d_range = traitlets.Tuple(traitlets.Float(), traitlets.Float(), default_value=(0.0, np.inf))
    pr_range = traitlets.Tuple(traitlets.Float(), traitlets.Float(), default_value=(0.0, np.inf))

    def __init__(self, catalog=None, system=None, **kwargs):
        super().__init__(**kwargs)
        self.catalog = catalog
        self.system = system if system is not None else (catalog.system() if catalog is not None
                                                          else KobAndersen(n=65))
        self._is_positions: dict[int, np.ndarray] = {}
        self._sources: dict[str, object] = {}
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop = None
        self._pending: collections.deque = collections.deque()
        self._mean_curves: dict[str, np.ndarray] | None = None
        self._dwp_cache: collections.OrderedDict[str, DWPSource] = collections.OrderedDict()
        self._hidden = ""  # the DWP the filters hid (selected again when they show it)
        self._n_live = 0
        self.last_search_is: int | None = None  # the IS the last search ran on
        self.publish_times: list[float] = []  # when progress snapshots were applied (monotonic s)
        self.tunnelling_stored = True
        cols = ["key", "source", *DWP_COLUMNS, *TUNNELLING_COLUMNS]
        if catalog is not None:
            m = catalog.minima
            counts = catalog.dwps.groupby("is_id").size() if len(catalog.dwps) else pd.Series(dtype=int)
            self.structures = pd.DataFrame({"is_id": m.is_id.astype(int), "energy": m.energy,
                                            "n_dwps": [int(counts.get(i, 0)) for i in m.is_id],
                                            "source": "catalogue"})
            t = catalog.dwps.copy()
            t.insert(0, "source", "catalogue")
            t.insert(0, "key", [f"cat-{i}" for i in range(len(t))])
            self._sources.update((key, ("catalog", i)) for i, key in enumerate(t.key))
            if not set(TUNNELLING_COLUMNS) <= set(t.columns):
                # a catalogue written before campaigns stored them: computed when a DWP is selected
                self.tunnelling_stored = False
                for c in TUNNELLING_COLUMNS:
                    t[c] = np.nan if c != "is_tls" else pd.Series([pd.NA] * len(t), dtype="boolean")
            self.table = t.reset_index(drop=True)
        else:
            self.structures = pd.DataFrame({"is_id": pd.Series(dtype=int), "energy": pd.Series(dtype=float),
                                            "n_dwps": pd.Series(dtype=int), "source": pd.Series(dtype=str)})
            self.table = pd.DataFrame(columns=cols)
        if len(self.table):  # the first event is shown at once
            self.selected_is = int(self.table.is_id.iloc[0])
            self.selected_dwp = str(self.table.key.iloc[0])
        elif len(self.structures):
            self.selected_is = int(self.structures.is_id.iloc[0])
        self.observe(self._filters_changed, FILTER_TRAITS)
        self.observe(self._dwp_selected, "selected_dwp")
        self._dwp_selected(None)

    # ------------------------------------------------------------ structures
    def is_positions(self, is_id: int) -> np.ndarray:
        if is_id in self._is_positions:
            return self._is_positions[is_id]
        if self.catalog is not None:
            return self.catalog.positions("is", is_id)
        raise KeyError(f"no inherent structure {is_id}")

    def add_structure(self, positions, label: str = "added") -> int:
        """Add an inherent structure of one's own (quenched here to be sure); returns its is_id."""
        q = self.system.quench(positions)
        new = int(self.structures.is_id.max()) + 1 if len(self.structures) else 0
        self._is_positions[new] = q.positions
        row = pd.DataFrame([dict(is_id=new, energy=q.energy, n_dwps=0, source=label)])
        self.structures = pd.concat([self.structures, row], ignore_index=True)
        self.selected_is = new
        return new

    def make_structures(self, count: int = 1, t_equil: float = 0.5, burn_in: float = 200.0,
                        blocking: bool = False):
        """Add ``count`` new inherent structures, each from an equilibration at t_equil (``burn_in``
        τ under the thermostat) and a quench, in a background thread (``blocking`` for scripts);
        ``making_status`` says which step runs. The last one made becomes the selected IS."""
        if self.running or self.making:
            self.error = "wait for the running search or Make IS to finish (or cancel it)"
            return
        self.error = ""
        start = int(self.structures.is_id.max()) + 1 if len(self.structures) else 0
        self.making = True
        self._start(partial(self._make_worker, start, count, t_equil, burn_in), blocking)

    def _make_worker(self, start, count, t_equil, burn_in):
        try:
            for k in range(count):
                t0 = time.monotonic()
                label = f"IS {start + k} ({k + 1} of {count})"
                self._post(partial(setattr, self, "making_status",
                                   f"making {label}: equilibrating {burn_in:g} τ at T = {t_equil:g}…"))
                x, _ = self.system.equilibrate(seed=self.seed + 7919 * (start + k), t_equil=t_equil,
                                              burn_in=burn_in)
                self._post(partial(setattr, self, "making_status", f"making {label}: quenching…"))
                q = self.system.quench(x)
                row = dict(is_id=start + k, energy=q.energy, n_dwps=0, source="made here")
                self._post(partial(self._add_made, start + k, q.positions, row,
                                   f"made {label} in {time.monotonic() - t0:.1f} s"))
        except Exception as err:
            self._post(partial(setattr, self, "error", f"Make IS failed: {type(err).__name__}: {err}"))
        finally:
            self._post(partial(setattr, self, "making", False))

    def _add_made(self, is_id, positions, row, status):
        self._is_positions[is_id] = positions
        self.structures = pd.concat([self.structures, pd.DataFrame([row])], ignore_index=True)
        self.selected_is = is_id
        self.making_status = status

    def sorted_structures(self, by: str = "energy") -> pd.DataFrame:
        return self.structures.sort_values([by, "is_id"], ascending=[by == "energy", True])

    # ---------------------------------------------------------------- table
    def filtered(self) -> pd.DataFrame:
        t = self.table
        if len(t) == 0:
            return t
        keep = np.ones(len(t), dtype=bool)
        if self.scope == "selected IS":
            keep &= (t.is_id == self.selected_is).to_numpy()
        if self.central_type != "any":
            keep &= (t.central_type == self.central_type).to_numpy()
        for col, trait in RANGE_COLUMNS.items():
            lo, hi = getattr(self, trait)
            v = t[col].to_numpy(dtype=float)
            keep &= (v >= lo) & (v <= hi)
        if self.tls_only:
            keep &= t["is_tls"].fillna(False).to_numpy(dtype=bool)
        return t[keep]

    def _filters_changed(self, _):
        """A filter that hides the selected DWP unselects it and says so (the notice first, so
        that the panels clear rather than redraw); one that shows it again selects it again."""
        keys = set(self.filtered().key)
        selected = self.selected_dwp
        if not selected and self._hidden in keys:
            self.selected_dwp = self._hidden  # (its observer clears the notice)
            return
        if selected and selected not in keys:
            self._hidden = selected
        if (selected and selected in keys) or not len(self.table):
            self.notice = ""
        elif not keys:
            self.notice = "no DWP matches the filters: widen them to see one"
        elif self._hidden:
            self.notice = f"the filters hide DWP {self._hidden}; pick one of the {len(keys)} listed"
        else:
            self.notice = ""
        if selected and selected not in keys:
            self.selected_dwp = ""

    def _dwp_selected(self, change):
        if self.selected_dwp:
            self._hidden = ""
            self.notice = ""
            self._ensure_tunnelling(self.selected_dwp)

    def _ensure_tunnelling(self, key: str):
        """For a catalogue without stored tunnelling columns: compute them for this DWP only."""
        if self.tunnelling_stored or key not in self._sources or self._sources[key][0] != "catalog":
            return
        t = self.table
        i = int(np.flatnonzero((t.key == key).to_numpy())[0])
        if not pd.isna(t["lambda_wkb"].iloc[i]):
            return
        j = self._sources[key][1]
        cols = tunnelling_columns(self.catalog.path_arclength(j), self.catalog.path_energies(j))
        t = t.copy()
        for c, v in cols.items():
            t.loc[t.index[i], c] = v
        self.table = t

    def dwp(self, key: str) -> DWPSource:
        """Arrays of the DWP with this key. A catalogue DWP is read from disk when asked for and
        the last :data:`DWP_CACHE` read are kept (the viewer and the plot ask for the same one;
        its path is F × N × 3 numbers)."""
        src = self._sources[key]
        if src[0] != "catalog":
            return src[1]
        cached = self._dwp_cache.pop(key, None)
        if cached is None:
            i = src[1]
            cached = DWPSource(self.catalog.path(i), self.catalog.path_energies(i), self.catalog.displacements(i))
        self._dwp_cache[key] = cached
        while len(self._dwp_cache) > DWP_CACHE:
            self._dwp_cache.popitem(last=False)
        return cached

    def central_b_events(self) -> list[str]:
        """Keys of the DWPs whose central particle is B (over the whole table)."""
        self.scope = "all"
        self.central_type = "B"
        return list(self.filtered().key)

    def mean_curves(self) -> dict[str, np.ndarray]:
        """The catalogue's mean sorted displacement curves for central A and central B DWPs
        (computed once: the catalogue's rows do not change). This reads every DWP's
        displacements (N × 3 numbers each): :meth:`mean_curves_then` does it in the background."""
        if self._mean_curves is None:
            self._mean_curves = self._compute_mean_curves()
        return self._mean_curves

    def _compute_mean_curves(self) -> dict[str, np.ndarray]:
        curves = {}
        if self.catalog is not None and len(self.catalog.dwps):
            from ..analysis._common import dwp_amplitudes

            sorted_amp = -np.sort(-dwp_amplitudes(self.catalog), axis=1)
            central = self.catalog.dwps.central_type.to_numpy()
            for ctype in ("A", "B"):
                if (central == ctype).any():
                    curves[ctype] = sorted_amp[central == ctype].mean(axis=0)
        return curves

    def mean_curves_then(self, callback):
        """Call ``callback(curves)`` with :meth:`mean_curves`, on the kernel's main thread.

        In a kernel (an event loop runs) the curves are computed in a background thread and the
        callback runs on the loop when they are ready, so that opening a catalogue never waits
        for every DWP's displacements (at N = 2000 and thousands of DWPs, seconds); at once when
        they are known already or no loop runs (a script, a test). A catalogue that cannot be
        read gives no curves and a message in ``error``."""
        loop = _running_loop()
        if self._mean_curves is not None or loop is None:
            callback(self.mean_curves())
            return

        def done(curves, message):
            if self._mean_curves is None:
                self._mean_curves = curves
            if message:
                self.error = message
            callback(self._mean_curves)

        def work():
            try:
                curves, message = self._compute_mean_curves(), ""
            except Exception as err:  # a damaged part: the explorer still works without the curves
                curves, message = {}, f"mean displacement curves not shown: {type(err).__name__}: {err}"
            try:
                loop.call_soon_threadsafe(done, curves, message)
            except RuntimeError:  # the kernel's loop has closed
                pass

        threading.Thread(target=work, daemon=True, name="tlsviz-mean-curves").start()

    # ------------------------------------------------------- background work
    def _start(self, target, blocking: bool):
        """Run target in a background thread; its snapshots go to the kernel's event loop when
        one is running (and we do not block it), else they are applied by the thread itself."""
        self._loop = None if blocking else _running_loop()
        self._thread = threading.Thread(target=target, daemon=True)
        self._thread.start()
        if blocking:
            self.wait()

    def _post(self, fn):
        """Apply fn (a trait update) on the event loop's thread, or at once where there is none."""
        loop = self._loop
        if loop is None or loop.is_closed():
            fn()
            return
        self._pending.append(fn)
        try:
            loop.call_soon_threadsafe(self._drain)
        except RuntimeError:  # the loop has just closed
            self._drain()

    def _drain(self):
        while self._pending:
            try:
                fn = self._pending.popleft()
            except IndexError:
                return
            fn()

    def wait(self, timeout: float | None = None):
        """Wait for the running search or Make IS (then apply what it has left to publish)."""
        if self._thread is not None:
            self._thread.join(timeout)
        if threading.current_thread() is threading.main_thread():
            self._drain()

    # --------------------------------------------------------------- search
    def input_errors(self) -> list[str]:
        """Messages for the search inputs that are out of range (empty when all are fine)."""
        return [msg for name in INPUT_LIMITS if (msg := input_error(name, getattr(self, name)))]

    def start_search(self, blocking: bool = False):
        """Search the DWPs of the selected IS in a background thread (``blocking`` for scripts).
        Inputs out of range are refused with a message in ``error`` (nothing is rewritten)."""
        if self.running or self.making:
            raise RuntimeError("a search or Make IS is already running: cancel it or wait for it")
        errors = self.input_errors()
        if errors:
            self.error = "\n".join(errors)
            return
        self.error = ""
        try:
            x = self.is_positions(self.selected_is)
            run = SearchRun(self.system, x, int(self.tries), int(self.seed), is_id=int(self.selected_is),
                            t_search=float(self.t_search), n_search=int(self.n_search))
        except Exception as err:  # bad parameters: shown in the panel
            self.error = f"{type(err).__name__}: {err}"
            return
        cold = search_kernels_cold()
        known = self._known_minima(run.is_id)
        self._cancel.clear()
        self.last_search_is = run.is_id
        self.publish_times = []
        with self.hold_trait_notifications():
            self.tries_done, self.tries_total, self.minima_found = 0, run.tries, 0
            self.pairs_done, self.pairs_total, self.dwps_verified, self.found_again = 0, 0, 0, 0
            self.phase = "compiling" if cold else "tries"
            self.status = COMPILING if cold else f"searching IS {run.is_id}"
            self.running = True
        self._start(partial(self._search_worker, run, known, cold), blocking)

    def cancel(self):
        """Stop the running search at its next step (the DWPs verified so far are kept)."""
        self._cancel.set()
        if self.running:
            self.status = "cancelling: the search stops after its current step"

    def _known_minima(self, is_id: int) -> list:
        """(key, second minimum (N, 3), its energy) of the DWPs of IS is_id in the table, for
        "found again" (the search's own same-minimum identity)."""
        t = self.table
        out = []
        for r in t[t.is_id == is_id].itertuples():
            src = self._sources[r.key]
            if src[0] == "catalog":
                x = self.catalog.positions("minimum", src[1])
            elif src[1].minimum is not None:
                x = src[1].minimum
            else:
                continue
            out.append((r.key, x, float(r.min_energy)))
        return out

    def _live_row(self, run: SearchRun, rec: dict, known: list):
        """(row, source, key found again or None) of a DWP the search has just verified."""
        arrays = run.arrays[-1]
        p = run.params
        for key, x, e in known:
            if same_minimum(self.system, x, e, arrays["minimum"], rec["min_energy"], p.e_same, p.d_same):
                return None, None, key
        disp = self.system.displacements(run.x_is, arrays["minimum"])
        src = DWPSource(arrays["path"], arrays["path_energy"], disp, arrays["minimum"])
        row = {"source": "search", **rec, **tunnelling_columns(arrays["path_arclength"], arrays["path_energy"])}
        return row, src, None

    def _search_worker(self, run: SearchRun, known: list, cold: bool):
        new, again = [], []
        last, stage, prog = -math.inf, None, None
        outcome = "done"
        try:
            for prog in run:
                if prog.new_dwp is not None:
                    row, src, key = self._live_row(run, prog.new_dwp, known)
                    (again.append(key) if key else new.append((row, src)))
                if self._cancel.is_set():
                    outcome = "cancelled"
                    break
                now = time.monotonic()
                if now - last >= PUBLISH_INTERVAL or prog.stage != stage or prog.stage == "done":
                    self._post(partial(self._publish, self._snapshot(run, prog, cold), new, again))
                    new, again, last, stage = [], [], now, prog.stage
        except Exception as err:
            outcome = "failed"
            msg = f"{type(err).__name__}: {err}\n" + "".join(traceback.format_exc(limit=3))
            self._post(partial(setattr, self, "error", msg))
        snap = self._snapshot(run, prog, cold) if prog is not None else {}
        s = run.stats
        snap.update(running=False, phase=outcome, status={
            "done": f"done: {s['tries']} tries, {len(run.minima)} distinct minima, {len(run.rows)} DWPs",
            "cancelled": f"cancelled after {s['tries']} tries ({len(run.rows)} DWPs verified, kept)",
            "failed": "failed"}[outcome])
        self._post(partial(self._publish, snap, new, again))

    def _snapshot(self, run, prog, cold: bool) -> dict:
        """The trait values that describe a search at event prog."""
        snap = dict(tries_done=prog.tries_done, tries_total=prog.tries_total, minima_found=prog.minima_found,
                    pairs_done=prog.pairs_done, pairs_total=prog.pairs_total, dwps_verified=prog.dwps_verified,
                    phase=prog.stage)
        if prog.stage == "tries":
            snap["status"] = f"IS {run.is_id}: tries {prog.tries_done}/{prog.tries_total}"
        elif prog.stage == "saddles":
            snap["status"] = (f"IS {run.is_id}: saddles, pair {min(prog.pairs_done + 1, prog.pairs_total)} of "
                              f"{prog.pairs_total}, {prog.dwps_verified} DWPs verified")
            if cold and prog.pairs_done == 0:
                snap["status"] += " (compiling the saddle kernels — first run only)"
        return snap

    def _publish(self, snap: dict, new: list, again: list):
        """Apply one snapshot: progress traits, then the new rows (one table update)."""
        self.publish_times.append(time.monotonic())
        if new:
            rows, t = [], self.table
            for row, src in new:
                self._n_live += 1
                key = f"live-{self._n_live}"
                self._sources[key] = ("live", src)
                rows.append({"key": key, **row})
            add = pd.DataFrame(rows)
            self.table = pd.concat([t, add], ignore_index=True) if len(t) else add[list(t.columns)]
            s = self.structures
            counts = add.groupby("is_id").size()
            self.structures = s.assign(n_dwps=s.n_dwps + s.is_id.map(counts).fillna(0).astype(int).to_numpy())
        with self.hold_trait_notifications():
            if again:
                self.found_again = self.found_again + len(again)
            if "status" in snap and self.found_again and not snap.get("running", True):
                snap["status"] += f"; {self.found_again} of them already listed (one row each)"
            for name, value in snap.items():
                setattr(self, name, value)
