"""The tries' random streams, ``PCG64(SeedSequence([seed, is_id, k]))``, seeded at compiled speed.

Why: building numpy's ``SeedSequence`` and handing a ``PCG64`` its four seed words is tens of
µs of Python per try, a visible share of a whole N = 65 try. :func:`_seed_words`
computes those words for a batch of tries in compiled code, by SeedSequence's published
algorithm (M. E. O'Neill's ``seed_seq`` alternative, as numpy documents it: the entropy as
32-bit words, lowest first, hashed into a pool of four words, the pool cross-mixed, then
hashed out into the requested words); :func:`pcg64_streams` passes them to numpy's own
``PCG64`` through a minimal ``ISeedSequence``, so that the generator and everything drawn from
it stay numpy's. The streams are the very ones ``np.random.default_rng(SeedSequence([seed,
is_id, k]))`` gives, bit for bit (``tests/test_search.py`` compares them for entropy of three to
six 32-bit words: seeds, IS and try indices below and above 2³²).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.random.bit_generator import ISeedSequence

# SeedSequence's hash constants (32-bit arithmetic, done here in uint64 and masked)
_M32 = np.uint64(0xFFFFFFFF)
_INIT_A = np.uint64(0x43B0D7E5)
_MULT_A = np.uint64(0x931E8875)
_INIT_B = np.uint64(0x8B51F9DD)
_MULT_B = np.uint64(0x58F38DED)
_MIX_L = np.uint64(0xCA01F9DD)
_MIX_R = np.uint64(0x4973F715)
_XSHIFT = np.uint64(16)
_POOL = 4


@njit(cache=True, nogil=True, inline="always")
def _hash(value, h, mult):
    """(hashed value, next hash constant): SeedSequence's hashmix with multiplier ``mult``."""
    value ^= h
    h = (h * mult) & _M32
    value = (value * h) & _M32
    return value ^ (value >> _XSHIFT), h


@njit(cache=True, nogil=True, inline="always")
def _mix(x, y):
    """SeedSequence's mix of two 32-bit words."""
    r = (_MIX_L * x - _MIX_R * y) & _M32
    return r ^ (r >> _XSHIFT)


@njit(cache=True, nogil=True)
def _seed_words(prefix, ks):
    """(len(ks), 4) uint64: the words ``SeedSequence(entropy).generate_state(4, np.uint64)``
    for entropy = the 32-bit words ``prefix`` (uint64 values < 2³²) followed by those of k."""
    out = np.empty((ks.shape[0], 4), dtype=np.uint64)
    ent = np.empty(prefix.shape[0] + 2, dtype=np.uint64)
    ent[:prefix.shape[0]] = prefix
    pool = np.empty(_POOL, dtype=np.uint64)
    for t in range(ks.shape[0]):
        k = np.uint64(ks[t])
        n_ent = prefix.shape[0]
        ent[n_ent] = k & _M32
        n_ent += 1
        if k > _M32:
            ent[n_ent] = k >> np.uint64(32)
            n_ent += 1
        h = _INIT_A  # the entropy into the pool
        for i in range(_POOL):
            v, h = _hash(ent[i] if i < n_ent else np.uint64(0), h, _MULT_A)
            pool[i] = v
        for i_src in range(_POOL):  # every pool word into every other
            for i_dst in range(_POOL):
                if i_src != i_dst:
                    v, h = _hash(pool[i_src], h, _MULT_A)
                    pool[i_dst] = _mix(pool[i_dst], v)
        for i_src in range(_POOL, n_ent):  # entropy beyond the pool size
            for i_dst in range(_POOL):
                v, h = _hash(ent[i_src], h, _MULT_A)
                pool[i_dst] = _mix(pool[i_dst], v)
        h = _INIT_B  # 8 words of 32 bits out, paired little-endian into 4 of 64
        for w in range(4):
            lo, h = _hash(pool[(2 * w) % _POOL], h, _MULT_B)
            hi, h = _hash(pool[(2 * w + 1) % _POOL], h, _MULT_B)
            out[t, w] = lo | (hi << np.uint64(32))
    return out


def _uint32_words(n: int) -> list[int]:
    """A non-negative integer as SeedSequence reads it: 32-bit words, lowest first (0 is [0])."""
    n = int(n)
    if n < 0:
        raise ValueError(f"seeds and stream indices must be non-negative integers, got {n}")
    words = [n & 0xFFFFFFFF]
    n >>= 32
    while n:
        words.append(n & 0xFFFFFFFF)
        n >>= 32
    return words


class _SeedWords(ISeedSequence):
    """An ISeedSequence that hands over precomputed uint64 seed words."""

    __slots__ = ("words",)

    def __init__(self, words):
        self.words = words

    def generate_state(self, n_words, dtype=np.uint32):
        if n_words != self.words.shape[0] or np.dtype(dtype) != np.uint64:
            raise ValueError("_SeedWords only serves the four uint64 words of a PCG64")
        return self.words


def pcg64_streams(seed: int, is_id: int, ks) -> list[np.random.Generator]:
    """The random streams of tries ``ks`` of inherent structure ``is_id``.

    Parameters
    ----------
    seed : int
        The search's seed (≥ 0).
    is_id : int
        The inherent structure's index (≥ 0).
    ks : array_like of int
        Try indices (≥ 0).

    Returns
    -------
    list of numpy.random.Generator
        ``[np.random.default_rng(SeedSequence([seed, is_id, k])) for k in ks]``, bit for bit,
        with the seed words computed in compiled code.

    Raises
    ------
    ValueError
        If a try index is negative.
    """
    ks = np.asarray(ks, dtype=np.int64).reshape(-1)
    if (ks < 0).any():
        raise ValueError(f"try indices must be non-negative, got {ks.min()}")
    prefix = np.array(_uint32_words(seed) + _uint32_words(is_id), dtype=np.uint64)
    words = _seed_words(prefix, ks)
    return [np.random.Generator(np.random.PCG64(_SeedWords(w))) for w in words]
