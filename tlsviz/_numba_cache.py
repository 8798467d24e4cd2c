"""Where numba caches tlsviz's compiled kernels: a user cache directory, not the package.

By default numba writes its cache files (``*.nbi``, ``*.nbc``) into ``__pycache__`` beside
the sources. For a regular install that is inside ``site-packages/tlsviz/``, where pip does
not know the files: ``pip uninstall`` (and so ``pip install -e .`` after ``pip install .``)
leaves ``site-packages/tlsviz/`` behind holding them, and that directory — a namespace
package without ``__init__.py`` — then hides the editable install (``cannot import name
'__version__' from 'tlsviz' (unknown location)``).

So tlsviz points numba at ``$XDG_CACHE_HOME/tlsviz/numba/src-<key>``
(``~/.cache/tlsviz/numba/src-<key>``) before any kernel is compiled, unless
``NUMBA_CACHE_DIR`` is set already (then that directory is used, as numba documents). The key
(:func:`source_key`) is a hash of the sources that compiled kernels are made of: numba
re-validates a cached kernel against the timestamp of its own source file only, so a kernel
of ``md.py`` that inlines code from ``potential.py`` would keep the old code after an edit of
``potential.py`` alone (an editable install gave stale results until the cache was removed by
hand); with the key, any edit of those sources starts a fresh cache. The :data:`KEEP` most
recently used caches are kept, older ones removed once unused for a week (a process marks
its cache as used when it imports tlsviz, worker processes included). Numba keeps the caches of
different source trees apart below that (a subdirectory per source directory), so several
checkouts or virtualenvs share the directory without clashing. The variable is set in ``os.environ``, so worker
processes (a process pool, a local Dask cluster) use the same cache; it applies to every
numba function of the process that asks for ``cache=True``, which is harmless (their cache
files land there too).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

#: Caches (one per source key) kept below the cache root; older ones are removed once unused
#: for :data:`PRUNE_AGE_S`.
KEEP = 8
#: A cache beyond the :data:`KEEP` newest is removed once unused for this long (a week: a
#: campaign's workers mark the cache they use at every start, so only an idle one goes).
PRUNE_AGE_S = 7 * 86400.0
PACKAGE = Path(__file__).resolve().parent


def source_key(package: Path = PACKAGE) -> str:
    """16 hex digits of the SHA-256 of the sources compiled kernels are made of: every ``.py``
    file below ``package/engine``, where all of tlsviz's kernels live and which imports nothing
    else of tlsviz (paths and contents, in sorted order). Equal sources give equal keys on any
    machine; any edit of them gives another."""
    h = hashlib.sha256()
    engine = package / "engine"
    for path in sorted(engine.rglob("*.py")):
        h.update(path.relative_to(engine).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/tlsviz/numba``, or ``~/.cache/tlsviz/numba``: the caches of all keys."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tlsviz" / "numba"


def default_cache_dir() -> Path:
    """The cache of these sources: ``cache_root() / f"src-{source_key()}"``."""
    return cache_root() / f"src-{source_key()}"


def prune_caches(root: Path, current: Path, keep: int = KEEP, min_age_s: float = PRUNE_AGE_S) -> list[Path]:
    """Remove the caches (directories) of ``root`` beyond the ``keep`` most recently used (their
    modification time; ``current`` counts as the newest) that have not been used for
    ``min_age_s`` seconds; return those removed. Those of tlsviz before the keyed caches (numba's
    per-source-directory folders right below the root) go the same way. Errors (a cache
    removed meanwhile by another process) are ignored."""
    removed = []
    try:
        others = [p for p in root.iterdir() if p.is_dir() and p != current]
        others.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return removed
    now = time.time()
    for path in others[max(keep - 1, 0):]:
        try:
            if now - path.stat().st_mtime > min_age_s:
                shutil.rmtree(path)
                removed.append(path)
        except OSError:
            pass
    return removed


def configure_numba_cache() -> str | None:
    """Set ``NUMBA_CACHE_DIR`` to :func:`default_cache_dir` unless it is set, and return the
    directory numba will use (None: numba's own default, when ours cannot be written)."""
    given = os.environ.get("NUMBA_CACHE_DIR")
    if given:
        if Path(given).parent == cache_root():  # ours, inherited by a worker: mark it as in use
            try:
                os.utime(given)
            except OSError:
                pass
        return given
    try:
        path = default_cache_dir()
        path.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
        os.utime(path)  # in use: the newest for prune_caches
    except OSError:
        return None  # not writable (a read-only home): numba falls back to its own places
    prune_caches(path.parent, path)
    os.environ["NUMBA_CACHE_DIR"] = str(path)
    config = sys.modules.get("numba.core.config")
    if config is not None and not getattr(config, "CACHE_DIR", ""):
        config.CACHE_DIR = str(path)  # numba imported before tlsviz: its config has been read
    return str(path)


def cache_is_cold(module_file: str, function: str) -> bool:
    """True when the configured cache directory holds no numba index for ``function`` of the
    source file ``module_file`` (then the first run of a new install compiles for minutes).
    The subdirectory is numba's own name for the source directory (its base name and the
    SHA-1 of its absolute path)."""
    import hashlib

    root = os.environ.get("NUMBA_CACHE_DIR")
    if not root:
        return False  # numba's default places: do not guess
    src_dir = os.path.dirname(os.path.abspath(module_file))
    sub = f"{os.path.basename(src_dir)}_{hashlib.sha1(src_dir.encode()).hexdigest()}"
    try:
        return not any((Path(root) / sub).glob(f"{Path(module_file).stem}.{function}-*.nbi"))
    except OSError:
        return False
