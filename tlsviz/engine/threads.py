"""The thread counts the engine's threaded kernels accept: numba's threads."""

from __future__ import annotations

import numba
import numpy as np


def check_threads(threads, allow_none: bool = False):
    """threads as an int in [1, numba.config.NUMBA_NUM_THREADS] (None too with ``allow_none``:
    the automatic choice of :class:`tlsviz.KobAndersen`); a ValueError saying what is allowed
    otherwise. One check for every ``threads`` argument (:class:`tlsviz.KobAndersen`,
    :func:`tlsviz.system.set_default_threads`, :func:`tlsviz.engine.modes.lowest_modes`)."""
    if threads is None and allow_none:
        return None
    top = numba.config.NUMBA_NUM_THREADS
    if threads is None or isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) \
            or not 1 <= threads <= top:
        raise ValueError(f"threads must be a whole number from 1 to {top} (numba's thread count; set "
                         f"NUMBA_NUM_THREADS before importing tlsviz for more)"
                         f"{', or None for automatic' if allow_none else ''}, got {threads!r}")
    return int(threads)
