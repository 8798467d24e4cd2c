"""Where numba caches tlsviz's compiled kernels: a user cache directory, not the package.

By default numba writes its cache files (``*.nbi``, ``*.nbc``) into ``__pycache__`` beside
the sources. For a regular install that is inside ``site-packages/tlsviz/``, where pip does
not know the files: ``pip uninstall`` (and so ``pip install -e .`` after ``pip install .``)
leaves ``site-packages/tlsviz/`` behind holding them, and that directory — a namespace
package without ``__init__.py`` — then hides the editable install (``cannot import name
'__version__' from 'tlsviz' (unknown location)``).

So tlsviz points numba at ``$XDG_CACHE_HOME/tlsviz/numba`` (``~/.cache/tlsviz/numba``)
before any kernel is compiled, unless ``NUMBA_CACHE_DIR`` is set already (then that
directory is used, as numba documents). Numba keeps the caches of different source trees
apart below it (a subdirectory per source directory), so several checkouts or virtualenvs
share the directory without clashing. The variable is set in ``os.environ``, so worker
processes (a process pool, a local Dask cluster) use the same cache; it applies to every
numba function of the process that asks for ``cache=True``, which is harmless (their cache
files land there too).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/tlsviz/numba``, or ``~/.cache/tlsviz/numba``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tlsviz" / "numba"


def configure_numba_cache() -> str | None:
    """Set ``NUMBA_CACHE_DIR`` to :func:`default_cache_dir` unless it is set, and return the
    directory numba will use (None: numba's own default, when ours cannot be written)."""
    given = os.environ.get("NUMBA_CACHE_DIR")
    if given:
        return given
    path = default_cache_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError:
        return None  # not writable (a read-only home): numba falls back to its own places
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
