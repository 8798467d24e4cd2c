"""The compiled engine: numba kernels for the potential, MD, minimisation, modes and distances.

Each module holds private ``_name`` kernels (``@njit(cache=True)``) and, where a
user calls it directly, a checked public wrapper. Most users go through
:class:`tlsviz.KobAndersen` instead.
"""
