"""The exact Boltzmann distribution: the seed's toy example, brute force, sampling, bad input."""
import dataclasses
import itertools
import math

import numpy as np
import pytest
import scipy.stats

import statmech as sm
from statmech.models import Ising
from statmech.testing import gaussian_couplings


def brute_energies(states, pairs, h):
    """H(s) = −Σ J s_i s_j − Σ h_i s_i written pair by pair; ``pairs`` is [(i, j, J), ...]."""
    states = np.asarray(states, dtype=float)
    energy = -states @ np.asarray(h, dtype=float)
    for i, j, coupling in pairs:
        energy = energy - coupling * states[:, i] * states[:, j]
    return energy


def random_glass(seed, n, field=True):
    rng = np.random.default_rng(seed)
    J = gaussian_couplings(rng, n)
    h = rng.normal(size=n) if field else np.zeros(n)
    pairs = [(i, j, J[i, j]) for i in range(n) for j in range(i + 1, n)]
    return Ising.from_couplings(J, h=h), pairs, h


# ------------------------------------------------------------ the seed's toy
def test_seed_toy_example():
    """8 independent spins, E(x) = Σ B x_i with B = 1, β = 1 (the seed's numbers)."""
    toy = sm.boltzmann(Ising.chain(8, J=0.0, h=-1.0, periodic=False), 1.0)
    z = (2 * math.cosh(1.0)) ** 8
    assert toy.log_z == pytest.approx(math.log(z), rel=1e-14)
    low = np.array([-1, -1, -1, -1, +1, -1, -1, -1])       # energy −6
    zero = np.array([+1, +1, +1, -1, +1, -1, -1, -1])      # energy 0
    assert toy.prob(low) == pytest.approx(math.exp(6.0) / z, rel=1e-13)
    assert toy.prob(low) == pytest.approx(0.0490, abs=5e-5)
    assert toy.prob(zero) == pytest.approx(1.0 / z, rel=1e-13)
    assert toy.prob(zero) == pytest.approx(1.2e-4, rel=0.02)
    assert toy.log_prob(zero) == pytest.approx(-math.log(z), rel=1e-14)


def test_toy_energy_distribution_is_binomial():
    beta = 0.8
    dist = sm.boltzmann(Ising.chain(8, J=0.0, h=-1.0, periodic=False), beta)
    levels, probabilities = dist.energy_distribution()
    np.testing.assert_allclose(levels, np.arange(-8, 9, 2), atol=1e-12)
    z = (2 * math.cosh(beta)) ** 8
    # E = 2 k − 8 where k spins are up: C(8, k) states.
    expected = [math.comb(8, k) * math.exp(-beta * (2 * k - 8)) / z for k in range(9)]
    np.testing.assert_allclose(probabilities, expected, rtol=1e-12)


# ------------------------------------------------------------- brute force
@pytest.mark.parametrize("field", [True, False])
def test_all_states_match_brute_force(field):
    model, pairs, h = random_glass(1, 7, field)
    beta = 0.9
    dist = sm.boltzmann(model, beta)
    states = dist.states()
    assert states.dtype == np.int8 and states.shape == (128, 7)
    for k in (0, 1, 5, 127):  # documented order: s_i = +1 where bit i of k is set
        assert states[k].tolist() == [1 if (k >> i) & 1 else -1 for i in range(7)]
    energies = brute_energies(states, pairs, h)
    np.testing.assert_allclose(dist.energies(), energies, rtol=1e-13, atol=1e-13)
    log_weights = -beta * energies
    log_z = log_weights.max() + np.log(np.sum(np.exp(log_weights - log_weights.max())))
    assert dist.log_z == pytest.approx(log_z, rel=1e-13)
    expected = np.exp(log_weights - log_z)
    np.testing.assert_allclose(dist.probabilities(), expected, rtol=1e-12)
    np.testing.assert_allclose(dist.prob(states), expected, rtol=1e-12)
    np.testing.assert_allclose(dist.log_prob(states), log_weights - log_z, rtol=1e-12, atol=1e-12)
    assert dist.probabilities().sum() == pytest.approx(1.0, abs=1e-13)


def test_log_z_agrees_with_the_thermo_front_door():
    model, _, _ = random_glass(6, 9)
    for beta in (0.0, 0.4, 3.0, 1e6):
        dist = sm.boltzmann(model, beta)
        assert dist.log_z == pytest.approx(float(sm.log_z(model, beta, method="enumerate")), rel=1e-13)


def test_log_prob_batches_over_leading_axes():
    model, _, _ = random_glass(2, 5)
    dist = sm.boltzmann(model, 0.5)
    spins = np.random.default_rng(0).choice([-1, 1], size=(2, 3, 5))
    out = dist.log_prob(spins)
    assert out.shape == (2, 3)
    assert out[1, 2] == pytest.approx(dist.log_prob(spins[1, 2]), rel=1e-15)


def test_degenerate_levels_are_merged():
    """Periodic 3x3 ferromagnet: level degeneracies from a brute-force count."""
    model = Ising.square(3, J=1.0, periodic=True)
    pairs = [(int(i), int(j), 1.0) for i, j in np.asarray(model.edges)]
    states = np.array(list(itertools.product([-1, 1], repeat=9)))
    energies = brute_energies(states, pairs, np.zeros(9))
    values, counts = np.unique(np.round(energies, 9), return_counts=True)
    beta = 0.3
    dist = sm.boltzmann(model, beta)
    levels, probabilities = dist.energy_distribution()
    np.testing.assert_allclose(levels, values, atol=1e-12)
    expected = counts * np.exp(-beta * values)
    np.testing.assert_allclose(probabilities, expected / expected.sum(), rtol=1e-12)


def test_beta_zero_is_uniform():
    dist = sm.boltzmann(random_glass(3, 6)[0], 0.0)
    assert dist.log_z == pytest.approx(6 * math.log(2), rel=1e-15)
    np.testing.assert_allclose(dist.probabilities(), np.full(64, 1 / 64), rtol=1e-14)


def test_large_beta_concentrates_on_ground_states():
    model = Ising.square(3, J=1.0, periodic=True)   # ground states: all up, all down
    dist = sm.boltzmann(model, 1e6)
    p = dist.probabilities()
    assert np.all(np.isfinite(p)) and np.all(np.isfinite(dist.log_probabilities()))
    states = dist.states()
    aligned = np.abs(states.sum(axis=1)) == 9
    np.testing.assert_allclose(p[aligned], 0.5, rtol=1e-14)
    assert np.all(p[~aligned] == 0.0)
    assert dist.log_z == pytest.approx(1e6 * 18 + math.log(2), rel=1e-15)
    samples = dist.sample(50, seed=0)
    assert np.all(np.abs(samples.sum(axis=1)) == 9)


# ----------------------------------------------------------------- sampling
def chi_square_p_value(samples, probabilities):
    """χ² goodness of fit of sampled state indices; bins with expected count < 5 are pooled."""
    n_sites = samples.shape[1]
    index = ((samples > 0).astype(np.int64) << np.arange(n_sites)).sum(axis=1)
    observed = np.bincount(index, minlength=len(probabilities)).astype(float)
    expected = probabilities * len(samples)
    small = expected < 5
    observed = np.append(observed[~small], observed[small].sum())
    expected = np.append(expected[~small], expected[small].sum())
    if expected[-1] == 0:
        observed, expected = observed[:-1], expected[:-1]
    return scipy.stats.chisquare(observed, expected).pvalue


def brute_probabilities(pairs, h, beta, n):
    states = np.array(list(itertools.product([-1, 1], repeat=n)))[:, ::-1]  # bit i ↔ site i
    log_weights = -beta * brute_energies(states, pairs, h)
    weights = np.exp(log_weights - log_weights.max())
    return weights / weights.sum()


def test_samples_follow_the_distribution():
    model, pairs, h = random_glass(4, 4)
    beta, n = 0.7, 20000
    reference = brute_probabilities(pairs, h, beta, 4)
    samples = sm.boltzmann(model, beta).sample(n, seed=0)
    assert samples.dtype == np.int8 and samples.shape == (n, 4)
    assert chi_square_p_value(samples, reference) > 0.01
    # Negative control: samples at a β 30% off must be rejected.
    wrong = sm.boltzmann(model, 1.3 * beta).sample(n, seed=0)
    assert chi_square_p_value(wrong, reference) < 1e-6


def test_sampling_is_reproducible():
    dist = sm.boltzmann(random_glass(5, 6)[0], 1.0)
    a = dist.sample(100, seed=42)
    np.testing.assert_array_equal(a, dist.sample(100, seed=42))
    assert not np.array_equal(a, dist.sample(100, seed=43))
    assert np.all(np.isin(a, [-1, 1]))


# ---------------------------------------------------------------- bad input
def test_bad_input():
    model = Ising.chain(4, J=1.0)
    dist = sm.boltzmann(model, 1.0)
    with pytest.raises(ValueError, match="±1"):
        dist.prob([0, 1, 1, 0])
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 4\)"):
        dist.log_prob([1, -1, 1])
    with pytest.raises(ValueError, match="shape"):
        dist.prob(1)
    with pytest.raises(TypeError, match="numeric"):
        dist.prob(["a", "b", "c", "d"])
    with pytest.raises(ValueError, match="scalar beta"):
        sm.boltzmann(model, [0.5, 1.0])
    with pytest.raises(ValueError, match=">= 0"):
        sm.boltzmann(model, -1.0)
    with pytest.raises(ValueError, match="finite"):
        sm.boltzmann(model, np.inf)
    with pytest.raises(ValueError, match=">= 1"):
        dist.sample(0, seed=0)
    with pytest.raises(TypeError, match="int"):
        dist.sample(2.5, seed=0)
    with pytest.raises(TypeError, match="seed must be an int"):
        dist.sample(3, seed="zero")
    with pytest.raises(TypeError, match="seed must be an int"):
        dist.sample(3, seed=None)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        dist.sample(3, seed=-1)
    with pytest.raises(ValueError, match="limited to 24 sites"):
        sm.boltzmann(Ising.chain(25), 1.0)
    with pytest.raises(TypeError, match="Ising model"):
        sm.boltzmann("chain", 1.0)


def test_frozen_and_repr():
    dist = sm.boltzmann(Ising.chain(3), 2)
    assert isinstance(dist, sm.Boltzmann) and dist.beta == 2.0 and isinstance(dist.beta, float)
    with pytest.raises(dataclasses.FrozenInstanceError):
        dist.beta = 1.0
    assert "beta=2" in repr(dist)
