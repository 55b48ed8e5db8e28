"""Counter-based random numbers for the numba Monte Carlo kernels.

Every random word is a pure function of its coordinates: a stream is named by
(seed, β index, chain, sweep, colour, block) and word n of a stream is

    x_n = mix64(base + n·γ),   γ = 0x9E3779B97F4A7C15 (the golden ratio · 2⁶⁴),

with ``base`` the stream's name hashed by repeated ``mix64``. ``mix64`` is the
splitmix64 finaliser (Steele, Lea & Flood, "Fast splittable pseudorandom
number generators", OOPSLA 2014; variant 13 of Stafford's mixers), a bijection
of 64-bit words with full avalanche. So x_0, x_1, … is exactly splitmix64
started at ``base``: a generator that passes BigCrush (Steele et al. 2014).
Because a stream depends only on its name, a kernel that gives each block of
sites its own stream produces the same numbers whatever the number of threads
and whatever order the blocks run in.

``uniform53`` turns a word into a double in [0, 1) with 53 random bits.
"""
from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["GAMMA", "mix64", "stream", "stream_prefix", "stream_from_prefix", "next_word", "uniform53", "key", "words"]

GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0  # 2^-53


@nb.njit(inline="always", cache=True)
def mix64(z):
    """splitmix64 finaliser: z ← (z ⊕ z≫30)·M1; z ← (z ⊕ z≫27)·M2; z ⊕ z≫31 (a bijection)."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@nb.njit(inline="always", cache=True)
def stream_prefix(k, a, b, c):
    """The hash of (k, a, b, c) that :func:`stream` extends by its last name d (all uint64)."""
    h = mix64(k ^ mix64(a + GAMMA))
    h = mix64(h ^ mix64(b + GAMMA + GAMMA))
    return mix64(h ^ mix64(c ^ np.uint64(0x632BE59BD9B4E019)))


@nb.njit(inline="always", cache=True)
def stream_from_prefix(prefix, d):
    """Base counter of the stream (a, b, c, d), given ``prefix`` = stream_prefix(k, a, b, c)."""
    return mix64(prefix ^ mix64(d ^ np.uint64(0x8CB92BA72F3D8DD7)))


@nb.njit(inline="always", cache=True)
def stream(k, a, b, c, d):
    """Base counter of the stream named (a, b, c, d) under the key ``k`` (all uint64)."""
    return stream_from_prefix(stream_prefix(k, a, b, c), d)


@nb.njit(inline="always", cache=True)
def next_word(state):
    """(new counter, random uint64): one splitmix64 step."""
    state = state + GAMMA
    return state, mix64(state)


@nb.njit(inline="always", cache=True)
def uniform53(word):
    """A double in [0, 1) from the top 53 bits of ``word``."""
    return np.float64(np.int64(word >> _S11)) * _INV53  # < 2^53: the signed conversion is exact and cheap


def key(seed: int, *more: int) -> np.uint64:
    """The uint64 key of ``seed`` (and further non-negative ints, e.g. the β index)."""
    h = _mix64_py(int(seed) & 0xFFFFFFFFFFFFFFFF)
    for value in more:
        h = _mix64_py(h ^ _mix64_py((int(value) + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF))
    return np.uint64(h)


def _mix64_py(z: int) -> int:
    mask = 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
    return z ^ (z >> 31)


@nb.njit(cache=True)
def _fill(k, a, b, c, d, out):
    st = stream(k, a, b, c, d)
    for n in range(out.size):
        st, out[n] = next_word(st)


def words(k, a, b, c, d, n: int) -> np.ndarray:
    """The first ``n`` words of the stream (a, b, c, d) under key ``k`` (for tests and start states)."""
    out = np.empty(int(n), np.uint64)
    _fill(np.uint64(k), np.uint64(a), np.uint64(b), np.uint64(c), np.uint64(d), out)
    return out
