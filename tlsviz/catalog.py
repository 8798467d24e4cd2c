"""Catalogues on disk: one directory per campaign, tables in Parquet, arrays in HDF5 (docs/catalog.md).

Layout (schema version :data:`SCHEMA_VERSION`)::

    CATALOG/
      campaign.json          parameters, seeds, tlsviz version, schema version
      parts/is_000000/       one directory per finished inherent structure, written
        minima.parquet       atomically (written under a temporary name, then renamed)
        dwps.parquet
        dismissed.parquet
        arrays.h5
        checksums.json       size and CRC-32 of each file above (a damaged file is found cheaply)
      minima.parquet ...     consolidated tables, rewritten when a campaign finishes: copies of
      consolidated.json      the parts' tables (a damaged one is read from the parts instead)
      .lock                  held (flock) by the process writing the campaign

Nothing is ever unpickled: Parquet, HDF5 and JSON only, so a catalogue from a stranger is
safe to open.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import warnings
import zlib
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import __version__

SCHEMA_VERSION = 1
#: The schema version of a chain campaign's catalogue (campaign.json has ``chains`` > 0 and its
#: parts chain states): tlsviz versions before chains refuse it instead of resuming it with
#: independent starts.
CHAIN_SCHEMA_VERSION = 2
TABLES = ("minima", "dwps", "dismissed")
PART_PREFIX = "is_"
#: Per part: {file name: {"size": bytes, "crc32": int}} of the files written with it.
CHECKSUMS = "checksums.json"


class CatalogError(ValueError):
    """A catalogue that cannot be read or written as asked (the message names the file)."""


def part_name(is_id: int) -> str:
    return f"{PART_PREFIX}{int(is_id):06d}"


# ----------------------------------------------------------------- writing
def file_in_the_way(path: Path) -> Path | None:
    """The nearest existing one of ``path`` and its parents when it is a file (so ``path`` cannot
    be a directory), else None."""
    for parent in [path, *path.parents]:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


def _file_digest(path: Path) -> dict:
    data = Path(path).read_bytes()
    return {"size": len(data), "crc32": zlib.crc32(data)}


def _write_parquet(df: pd.DataFrame, path: Path):
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path)


#: Bytes of one row (one DWP) of a per-DWP dataset from which it is stored as its own chunk.
ROW_CHUNK_BYTES = 64 * 1024


def _chunks(value: np.ndarray):
    """HDF5 chunk shape of a dataset: one row per chunk for per-DWP datasets with large rows (the
    path: F × N × 3 numbers, 2 MB at N = 2000), so that reading one DWP decompresses that DWP
    only; h5py's guess (True) otherwise."""
    if value.ndim >= 3 and value.nbytes // max(len(value), 1) >= ROW_CHUNK_BYTES:
        return (1, *value.shape[1:])
    return True


def write_part(root: Path, is_id: int, tables: dict, arrays: dict) -> Path:
    """Write the results of one IS atomically: a temporary directory renamed into place."""
    parts = Path(root) / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    final = parts / part_name(is_id)
    tmp = parts / f".tmp-{part_name(is_id)}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    for name in TABLES:
        _write_parquet(tables[name], tmp / f"{name}.parquet")
    with h5py.File(tmp / "arrays.h5", "w") as h5:
        for key, value in arrays.items():
            value = np.asarray(value)
            h5.create_dataset(key, data=value, chunks=_chunks(value), compression="gzip", compression_opts=4,
                              shuffle=True)
    write_json_atomic(tmp / CHECKSUMS, {f.name: _file_digest(f) for f in sorted(tmp.iterdir())})
    for f in tmp.iterdir():
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
    os.replace(tmp, final) if not final.exists() else _replace_dir(tmp, final)
    _fsync_dir(parts)
    return final


def _replace_dir(tmp: Path, final: Path):
    old = final.with_name(final.name + ".old")
    os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old)


def _fsync_dir(path: Path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path: Path, data: dict):
    tmp = path.with_name(f".tmp-{path.name}-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def read_campaign_json(root: Path) -> dict:
    path = Path(root) / "campaign.json"
    if not path.exists():
        raise CatalogError(f"{path} is missing: {root} is not a tlsviz catalogue")
    try:
        meta = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CatalogError(f"{path} is not valid JSON ({err}); the file is damaged") from None
    if not isinstance(meta, dict) or meta.get("format") != "tlsviz-catalog":
        raise CatalogError(f"{path} is not a tlsviz catalogue description (no 'format': 'tlsviz-catalog')")
    if meta.get("schema_version") not in (SCHEMA_VERSION, CHAIN_SCHEMA_VERSION):
        raise CatalogError(f"{path} has schema version {meta.get('schema_version')!r}; this tlsviz "
                           f"({__version__}) reads versions {SCHEMA_VERSION} and {CHAIN_SCHEMA_VERSION}")
    return meta


class CampaignLock:
    """An exclusive, non-blocking flock on CATALOG/.lock, held while a campaign writes."""

    def __init__(self, root: Path):
        self.path = Path(root) / ".lock"
        self.fh = None

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = open(self.path, "a+")
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.fh.seek(0)
            holder = self.fh.read().strip() or "another process"
            self.fh.close()
            raise CatalogError(f"{self.path.parent} is being written by {holder}; "
                               "two processes must not write one campaign at once") from None
        self.fh.seek(0)
        self.fh.truncate()
        self.fh.write(f"pid {os.getpid()}")
        self.fh.flush()
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fh, fcntl.LOCK_UN)
        self.fh.close()


# ----------------------------------------------------------------- reading
def _part_remedy(part: Path) -> str:
    return (f"delete {part} and resume the campaign to recompute that inherent structure "
            "(the same `tlsviz search` command with --resume; `tlsviz info --check` prints it)")


def _table_remedy(root: Path) -> str:
    return ("the top-level tables are copies of the parts: tlsviz reads the parts instead, and the "
            f"next `tlsviz search --resume` of {root} rewrites them (or delete {root}/consolidated.json)")


def _read_parquet(path: Path, remedy: str = "") -> pd.DataFrame:
    try:
        return pq.read_table(path).to_pandas()
    except (pa.ArrowInvalid, OSError) as err:
        if not remedy:
            part = Path(path).parent
            remedy = _part_remedy(part) if part.name.startswith(PART_PREFIX) else _table_remedy(part)
        raise CatalogError(f"{path} is not a readable Parquet file ({err}); it is truncated or "
                           f"damaged: {remedy}") from None


def _check_file(f: Path, full: bool):
    """Raise (pa.ArrowInvalid, OSError, KeyError) when f cannot be read; full: every byte."""
    if f.suffix == ".parquet":
        pq.read_table(f) if full else pq.read_metadata(f)
    elif f.suffix == ".h5":
        with h5py.File(f, "r") as h5:
            if full:
                for key in h5:
                    h5[key][()]


def check_part(path: Path, full: bool = False):
    """Raise CatalogError naming the first damaged or missing file of a part directory, with
    the remedy (delete the part, then resume).

    A part written with :data:`CHECKSUMS` is checked against it: sizes and CRC-32 of every
    file (~0.2 ms per part; any truncation or changed byte is found). An older part without
    it: its Parquet footers and HDF5 superblock are read (``full``: every table and dataset).
    """
    path = Path(path)
    names = [f"{name}.parquet" for name in TABLES] + ["arrays.h5"]
    for name in names:
        if not (path / name).exists():
            raise CatalogError(f"{path / name} is missing: {_part_remedy(path)}")
    sums = path / CHECKSUMS
    if sums.exists():
        try:
            expected = json.loads(sums.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise CatalogError(f"{sums} is damaged: {_part_remedy(path)}") from None
        for name in names:
            got = _file_digest(path / name)
            if expected.get(name) != got:
                what = ("truncated or extended" if expected.get(name, {}).get("size") != got["size"]
                        else "changed")
                raise CatalogError(f"{path / name} is damaged ({what} since it was written): "
                                   f"{_part_remedy(path)}")
        return
    for name in names:
        f = path / name
        try:
            _check_file(f, full)
        except (pa.ArrowInvalid, OSError, KeyError, ValueError) as err:
            kind = "Parquet" if f.suffix == ".parquet" else "HDF5"
            raise CatalogError(f"{f} is not a readable {kind} file ({err}): {_part_remedy(path)}") from None


def check_tables(root: Path) -> list[Path]:
    """The top-level tables of a consolidated catalogue that cannot be read (fully)."""
    root = Path(root)
    if not (root / "consolidated.json").exists():
        return []
    bad = []
    for name in TABLES:
        try:
            pq.read_table(root / f"{name}.parquet")
        except (pa.ArrowInvalid, OSError):
            bad.append(root / f"{name}.parquet")
    return bad


def check_catalog(root: Path, full: bool = True) -> list[str]:
    """Every problem of a catalogue's files, one message (with its remedy) each; [] when
    every part (:func:`check_part`) and top-level table reads."""
    root = Path(root)
    problems = []
    for path in finished_parts(root).values():
        try:
            check_part(path, full=full)
        except CatalogError as err:
            problems.append(str(err))
    for f in check_tables(root):
        problems.append(f"{f} is truncated or damaged: {_table_remedy(root)}")
    return problems


def finished_parts(root: Path) -> dict[int, Path]:
    """is_id → part directory, for every finished IS."""
    parts = Path(root) / "parts"
    out = {}
    if parts.is_dir():
        for p in parts.iterdir():
            if p.is_dir() and p.name.startswith(PART_PREFIX) and p.name[len(PART_PREFIX):].isdigit():
                out[int(p.name[len(PART_PREFIX):])] = p
    return dict(sorted(out.items()))


def consolidate(root: Path):
    """Write the top-level tables from the parts (atomically, each file)."""
    root = Path(root)
    parts = finished_parts(root)
    for name in TABLES:
        frames = [_read_parquet(p / f"{name}.parquet") for p in parts.values()]
        frames = [f for f in frames if len(f)] or frames[:1]
        df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        tmp = root / f".tmp-{name}.parquet"
        _write_parquet(df, tmp)
        os.replace(tmp, root / f"{name}.parquet")
    write_json_atomic(root / "consolidated.json", {"parts": sorted(parts)})


def _consolidated_parts(path: Path):
    try:
        return json.loads(path.read_text()).get("parts")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        return None  # damaged: read the parts


class Catalog:
    """A campaign's results: DataFrames loaded on first use, arrays read on demand.

    ``cat.minima`` (one row per IS: ``is_id, energy, grad_norm``, try statistics),
    ``cat.dwps`` (one row per verified DWP, columns of :data:`tlsviz.search.DWP_COLUMNS`),
    ``cat.dismissed`` (rejected pairs with their ``reason``), ``cat.params`` (campaign.json).
    ``cat.positions(kind, i)``: kind "is" (i = is_id), "minimum" or "saddle" (i = row of
    ``cat.dwps``); ``cat.path(i)``, ``cat.displacements(i)``.
    """

    def __init__(self, root: Path, meta: dict):
        self.root = Path(root)
        self.params = meta
        self._tables: dict[str, pd.DataFrame] = {}
        self._parts: dict[int, Path] | None = None

    @classmethod
    def open(cls, path) -> "Catalog":
        root = Path(path)
        if not root.is_dir():
            raise CatalogError(f"{root} is not a directory: give the directory a campaign wrote")
        return cls(root, read_campaign_json(root))

    def __repr__(self):
        return f"Catalog({str(self.root)!r}, {len(self.minima)} IS, {len(self.dwps)} DWPs)"

    @property
    def parts(self) -> dict[int, Path]:
        """is_id → part directory (listed once; listed again when an is_id is not found, so a
        catalogue opened while its campaign runs sees the new parts). Read once into a local, so
        that a reset by another thread between the check and the return cannot give None."""
        parts = self._parts
        if parts is None:
            parts = self._parts = finished_parts(self.root)
        return parts

    def _part(self, is_id: int) -> Path:
        path = self.parts.get(int(is_id))
        if path is None:
            self._parts = None
            path = self.parts.get(int(is_id))
        if path is None:
            raise KeyError(f"no inherent structure with is_id {is_id} in {self.root}")
        return path

    def _table(self, name: str) -> pd.DataFrame:
        if name not in self._tables:
            self._parts = None
            parts = self.parts
            cons = self.root / "consolidated.json"
            df = None
            if cons.exists() and _consolidated_parts(cons) == sorted(parts):
                try:
                    df = _read_parquet(self.root / f"{name}.parquet")
                except CatalogError as err:
                    warnings.warn(str(err), stacklevel=3)
            if df is None:
                frames = [_read_parquet(p / f"{name}.parquet") for p in parts.values()]
                frames = [f for f in frames if len(f)] or frames[:1]
                df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
            self._tables[name] = df
        return self._tables[name]

    @property
    def minima(self) -> pd.DataFrame:
        return self._table("minima")

    @property
    def dwps(self) -> pd.DataFrame:
        return self._table("dwps")

    @property
    def dismissed(self) -> pd.DataFrame:
        return self._table("dismissed")

    def is_arrays(self, is_id: int, key: str) -> np.ndarray:
        """A whole dataset of one IS's ``arrays.h5`` (docs/catalog.md), e.g. ("displacements")
        (k, N, 3) for its k DWPs in ``dwp_id`` order."""
        return self._array(is_id, key)

    def _array(self, is_id: int, key: str, index=None) -> np.ndarray:
        f = self._part(is_id) / "arrays.h5"
        try:
            with h5py.File(f, "r") as h5:
                ds = h5[key]
                return ds[()] if index is None else ds[index]
        except OSError as err:
            raise CatalogError(f"{f} is not a readable HDF5 file ({err}): {_part_remedy(f.parent)}") from None

    def _dwp(self, i: int):
        if not 0 <= i < len(self.dwps):
            raise IndexError(f"DWP index {i} out of range: the catalogue has {len(self.dwps)} DWPs")
        row = self.dwps.iloc[i]
        return int(row.is_id), int(row.dwp_id)

    def positions(self, kind: str, i: int) -> np.ndarray:
        """(N, 3): kind "is" by is_id, or "minimum" (the DWP's second minimum; also "min",
        "second_minimum") / "saddle" of DWP row i."""
        if kind == "is":
            return self._array(i, "is_positions")
        kind = {"min": "minimum", "second_minimum": "minimum"}.get(kind, kind)
        if kind not in ("minimum", "saddle"):
            raise ValueError(f"kind must be 'is', 'minimum' (or 'min', 'second_minimum') or 'saddle', "
                             f"got {kind!r}")
        is_id, j = self._dwp(i)
        return self._array(is_id, kind, j)

    def path(self, i: int) -> np.ndarray:
        """(n_frames, N, 3) IS → saddle → second minimum of DWP row i.

        The end frames are where the two descent paths from the saddle, each finished by a
        quench, arrived: the IS and the second minimum as *reached from the saddle*. They are
        the same minima as ``positions("is", is_id)`` and ``positions("minimum", i)`` moved as a
        whole: frame 0 differs from the IS by a global translation of up to ~2e-3 σ and by
        nothing else (measured on the demo catalogue: the rest is below 1e-10 σ;
        ``system.distance``, which removes the translation, gives ~1e-11). The frames are kept
        as the search computed them (one continuous curve; its arc length and energies do not
        depend on the translation). Compare frames with ``system.distance``, not element by
        element.
        """
        is_id, j = self._dwp(i)
        return self._array(is_id, "path", j)

    def path_energies(self, i: int) -> np.ndarray:
        is_id, j = self._dwp(i)
        return self._array(is_id, "path_energy", j)

    def path_arclength(self, i: int) -> np.ndarray:
        is_id, j = self._dwp(i)
        return self._array(is_id, "path_arclength", j)

    def displacements(self, i: int) -> np.ndarray:
        """(N, 3) displacement vectors IS → second minimum of DWP row i (translation removed)."""
        is_id, j = self._dwp(i)
        return self._array(is_id, "displacements", j)

    def system(self):
        """The :class:`tlsviz.KobAndersen` the campaign ran on."""
        from .system import KobAndersen

        return KobAndersen(n=int(self.params["n"]), copies=int(self.params["copies"]))
