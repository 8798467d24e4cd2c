"""The explorer's state, without any layout: what is selected, what is running, what was found.

Panels observe these traits and set them; the search runs in a background thread that only
sets traits (never prints or writes into Output widgets), as in
shared/notes/widgets-threads.md, and the compiled kernels release the GIL (nogil) so the
notebook stays responsive.
"""

from __future__ import annotations

import threading
import traceback

import numpy as np
import pandas as pd
import traitlets

from ..search import DWP_COLUMNS, SearchParams, SearchRun
from ..system import KobAndersen

#: Tunnelling columns of the table (issue 6): WKB exponent, Δ₀ (K), E = √(Δ² + Δ₀²) (K), E < 1 K.
TUNNELLING_COLUMNS = ("lambda_wkb", "delta0_K", "tls_energy_K", "is_tls")


def _tunnelling_columns(q, energies) -> dict:
    """λ, Δ₀, E (K) and is_tls of one DWP from its stored path (V(q) through the stored frames,
    as :class:`tlsviz.tunnelling.TunnellingAnalysis` with ``source="stored"``)."""
    from ..tunnelling import DoubleWell, TunnellingAnalysis

    e = np.asarray(energies)
    try:
        row = TunnellingAnalysis(source="stored").row(DoubleWell.from_samples(np.asarray(q), e - min(e[0], e[-1])))
    except (ValueError, RuntimeError):  # a path whose profile is not a double well
        return dict(lambda_wkb=np.nan, delta0_K=np.nan, tls_energy_K=np.nan, is_tls=False)
    return dict(lambda_wkb=row["lambda_wkb"], delta0_K=row["delta0"], tls_energy_K=row["tls_energy"],
                is_tls=row["is_tls"])


#: Filter ranges: DWP column → (trait name of the (lo, hi) tuple).
RANGE_COLUMNS = {"asymmetry": "delta_range", "barrier": "barrier_range", "d": "d_range", "pr2": "pr_range"}


class DWPSource:
    """Arrays of one DWP: the path (F, N, 3), its energies (F,), displacements IS → minimum (N, 3)."""

    def __init__(self, path, energies, displacements):
        self.path = np.asarray(path)
        self.energies = np.asarray(energies)
        self.displacements = np.asarray(displacements)


class ExplorerModel(traitlets.HasTraits):
    """State of the explorer over a catalogue (or a fresh system).

    structures: the inherent structures one can pick (is_id, energy, n_dwps, source).
    table: every DWP known (catalogue + live search), one row per DWP, ``key`` unique.
    """

    selected_is = traitlets.Int(-1)
    selected_dwp = traitlets.Unicode("")  # key of a row of ``table``
    structures = traitlets.Instance(pd.DataFrame)
    table = traitlets.Instance(pd.DataFrame)
    # search
    t_search = traitlets.Float(SearchParams.t_search)
    n_search = traitlets.Int(SearchParams.n_search)
    tries = traitlets.Int(400)
    seed = traitlets.Int(0)
    running = traitlets.Bool(False)
    tries_done = traitlets.Int(0)
    tries_total = traitlets.Int(0)
    minima_found = traitlets.Int(0)
    dwps_verified = traitlets.Int(0)
    status = traitlets.Unicode("")
    error = traitlets.Unicode("")
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
        self._lock = threading.Lock()
        self._mean_curves: dict[str, np.ndarray] | None = None
        self.last_search_is: int | None = None  # the IS the last search ran on
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
            for i, key in enumerate(t.key):
                self._sources[key] = ("catalog", i)
            self.table = self._with_tunnelling(t.reset_index(drop=True))
        else:
            self.structures = pd.DataFrame({"is_id": pd.Series(dtype=int), "energy": pd.Series(dtype=float),
                                            "n_dwps": pd.Series(dtype=int), "source": pd.Series(dtype=str)})
            self.table = pd.DataFrame(columns=cols)
        if len(self.structures):
            self.selected_is = int(self.structures.is_id.iloc[0])

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

    def make_structures(self, count: int = 1, t_equil: float = 0.5, burn_in: float = 200.0):
        """Add ``count`` new inherent structures from an equilibration at t_equil."""
        start = int(self.structures.is_id.max()) + 1 if len(self.structures) else 0
        rows = []
        for k in range(count):
            x, _ = self.system.equilibrate(seed=self.seed + 7919 * (start + k), t_equil=t_equil,
                                          burn_in=burn_in)
            q = self.system.quench(x)
            self._is_positions[start + k] = q.positions
            rows.append(dict(is_id=start + k, energy=q.energy, n_dwps=0, source="made here"))
        self.structures = pd.concat([self.structures, pd.DataFrame(rows)], ignore_index=True)
        self.selected_is = start

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

    def _with_tunnelling(self, t: pd.DataFrame) -> pd.DataFrame:
        """Add λ (WKB), Δ₀ and E (K) and is_tls to the catalogue rows (from the stored paths)."""
        rows = [_tunnelling_columns(self.catalog.path_arclength(i), self.catalog.path_energies(i))
                for i in range(len(t))]
        extra = pd.DataFrame(rows, columns=list(TUNNELLING_COLUMNS), index=t.index)
        return pd.concat([t, extra], axis=1)

    def dwp(self, key: str) -> DWPSource:
        """Arrays of the DWP with this key."""
        src = self._sources[key]
        if src[0] == "catalog":
            i = src[1]
            return DWPSource(self.catalog.path(i), self.catalog.path_energies(i), self.catalog.displacements(i))
        return src[1]

    def central_b_events(self) -> list[str]:
        """Keys of the DWPs whose central particle is B (over the whole table)."""
        self.scope = "all"
        self.central_type = "B"
        return list(self.filtered().key)

    def mean_curves(self) -> dict[str, np.ndarray]:
        """The catalogue's mean sorted displacement curves for central A and central B DWPs
        (computed once: the catalogue's rows do not change)."""
        if self._mean_curves is None:
            self._mean_curves = {}
            if self.catalog is not None and len(self.catalog.dwps):
                from ..analysis._common import dwp_amplitudes

                curves = -np.sort(-dwp_amplitudes(self.catalog), axis=1)
                central = self.catalog.dwps.central_type.to_numpy()
                for ctype in ("A", "B"):
                    if (central == ctype).any():
                        self._mean_curves[ctype] = curves[central == ctype].mean(axis=0)
        return self._mean_curves

    # --------------------------------------------------------------- search
    def start_search(self, blocking: bool = False):
        """Search the DWPs of the selected IS in a background thread (``blocking`` for scripts)."""
        if self.running:
            raise RuntimeError("a search is already running: cancel it first")
        self.error = ""
        try:
            x = self.is_positions(self.selected_is)
            run = SearchRun(self.system, x, int(self.tries), int(self.seed), is_id=int(self.selected_is),
                            t_search=float(self.t_search), n_search=int(self.n_search))
        except Exception as err:  # bad parameters: shown in the panel
            self.error = f"{type(err).__name__}: {err}"
            return
        self._cancel.clear()
        self.tries_done, self.tries_total, self.minima_found, self.dwps_verified = 0, run.tries, 0, 0
        self.last_search_is = int(self.selected_is)
        self.running = True
        self.status = f"searching IS {self.selected_is}"
        self._thread = threading.Thread(target=self._run, args=(run,), daemon=True)
        self._thread.start()
        if blocking:
            self.wait()

    def cancel(self):
        self._cancel.set()

    def wait(self, timeout: float | None = None):
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self, run: SearchRun):
        try:
            for prog in run:
                self.tries_done, self.minima_found = prog.tries_done, prog.minima_found
                self.dwps_verified = prog.dwps_verified
                if prog.new_dwp is not None:
                    self._add_live(run, prog.new_dwp)
                if self._cancel.is_set():
                    self.status = f"cancelled after {prog.tries_done} tries"
                    break
            else:
                self.status = (f"done: {run.stats['tries']} tries, {run.stats['distinct']} distinct minima, "
                               f"{len(run.rows)} DWPs")
        except Exception as err:
            self.error = f"{type(err).__name__}: {err}\n" + "".join(traceback.format_exc(limit=3))
            self.status = "failed"
        finally:
            self.running = False

    def _add_live(self, run: SearchRun, rec: dict):
        arrays = run.arrays[-1]
        disp = self.system.displacements(run.x_is, arrays["minimum"])
        with self._lock:
            key = f"live-{len(self._sources)}"
            self._sources[key] = ("live", DWPSource(arrays["path"], arrays["path_energy"], disp))
            row = {"key": key, "source": "search", **rec,
                   **_tunnelling_columns(arrays["path_arclength"], arrays["path_energy"])}
            self.table = pd.concat([self.table, pd.DataFrame([row])], ignore_index=True)
        s = self.structures
        self.structures = s.assign(n_dwps=np.where(s.is_id == rec["is_id"], s.n_dwps + 1, s.n_dwps))
