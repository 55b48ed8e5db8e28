"""The counter-based generator of the numba kernels: a quick statistical battery.

Each test computes a p-value with a fixed key and asserts p > 0.01 (Fisher
combined over a few fixed keys); negative controls feed a deliberately bad
generator (a plain counter, or a stream correlated with its neighbour) to the
same test and must fail.
"""
import numpy as np
import pytest
from scipy import stats

from statmech.mc import _rng
from statmech.testing import fisher_combined_pvalue

KEYS = (1, 2, 3, 4)
N = 1 << 16


def fisher(pvalues):
    return fisher_combined_pvalue(pvalues)


def uniformity_pvalue(words, bins=256):
    """χ² of the top 8 bits against uniform."""
    counts = np.bincount((words >> np.uint64(56)).astype(np.int64), minlength=bins)
    return stats.chisquare(counts).pvalue


def bit_balance_pvalue(words):
    """Each of the 64 bit positions is 1 with probability 1/2: χ² with 64 degrees of freedom."""
    bits = ((words[:, None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)).astype(np.int64)
    n = len(words)
    z = (bits.sum(0) - n / 2) / np.sqrt(n / 4)
    return stats.chi2.sf(np.sum(z**2), 64)


def correlation_pvalue(a, b):
    """Pearson correlation of two uniform sequences (doubles): z = r·sqrt(n) ~ N(0, 1)."""
    x = (a >> np.uint64(11)).astype(np.float64)
    y = (b >> np.uint64(11)).astype(np.float64)
    r = np.corrcoef(x, y)[0, 1]
    return 2 * stats.norm.sf(abs(r) * np.sqrt(len(a)))


def pair_pvalue(a, b, bins=16):
    """χ² of the joint histogram of the top 4 bits of two sequences (detects non-linear dependence)."""
    joint = (a >> np.uint64(60)).astype(np.int64) * bins + (b >> np.uint64(60)).astype(np.int64)
    return stats.chisquare(np.bincount(joint, minlength=bins * bins)).pvalue


def stream(k, a=0, b=0, c=0, d=0, n=N):
    return _rng.words(_rng.key(k), a, b, c, d, n)


def test_stream_is_a_pure_function_of_its_name():
    np.testing.assert_array_equal(stream(5, 1, 2, 3, 4), stream(5, 1, 2, 3, 4))
    assert not np.array_equal(stream(5, 1, 2, 3, 4, 8), stream(5, 1, 2, 3, 5, 8))
    assert not np.array_equal(stream(5, n=8), stream(6, n=8))
    # word n of a stream is mix64(base + (n + 1)·γ): the first words agree with a longer fill
    np.testing.assert_array_equal(stream(5, 1, 2, 3, 4, 4), stream(5, 1, 2, 3, 4, 9)[:4])


def test_mix64_matches_the_published_splitmix64_sequence():
    """splitmix64 seeded with 0 starts 0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4 (Vigna's reference code)."""
    state = np.uint64(0)
    out = []
    for _ in range(2):
        state, word = _rng.next_word(state)
        out.append(int(word))
    assert out == [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4]


def test_uniformity_bit_balance_and_serial_correlation():
    words = [stream(k) for k in KEYS]
    assert fisher([uniformity_pvalue(w) for w in words]) > 0.01
    assert fisher([bit_balance_pvalue(w) for w in words]) > 0.01
    assert fisher([correlation_pvalue(w[:-1], w[1:]) for w in words]) > 0.01
    assert fisher([pair_pvalue(w[:-1], w[1:]) for w in words]) > 0.01
    u = np.concatenate([w >> np.uint64(11) for w in words]).astype(np.float64) / 2.0**53
    assert 0.0 <= u.min() and u.max() < 1.0


@pytest.mark.parametrize("axis", range(4))
def test_neighbouring_streams_are_uncorrelated(axis):
    """Streams whose names differ by one in a single coordinate (chain, sweep, colour, block)."""
    pvalues, pair = [], []
    for k in KEYS:
        name = [3, 7, 1, 11]
        a = stream(k, *name)
        name[axis] += 1
        b = stream(k, *name)
        pvalues.append(correlation_pvalue(a, b))
        pair.append(pair_pvalue(a, b))
    assert fisher(pvalues) > 0.01
    assert fisher(pair) > 0.01


def test_neighbouring_keys_are_uncorrelated():
    a = [stream(k) for k in KEYS]
    b = [stream(k + 1) for k in KEYS]
    assert fisher([pair_pvalue(x, y) for x, y in zip(a, b)]) > 0.01


def test_negative_controls_fail():
    """A bare counter fails the battery; a stream shifted by one word is perfectly correlated."""
    counter = (np.arange(N, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15))
    assert bit_balance_pvalue(np.arange(N, dtype=np.uint64) << np.uint64(40)) < 0.01
    assert pair_pvalue(counter[:-1], counter[1:]) < 0.01
    a = stream(1)
    assert correlation_pvalue(a[1:], a[1:]) < 0.01
    weak = a ^ (a >> np.uint64(1))  # a second stream built from the first one
    assert pair_pvalue(a, weak) < 0.01
