"""Monte Carlo error bars checked against AR(1) processes with known answers.

AR(1): x_t = φ x_{t−1} + ε_t, ε_t ~ N(0, 1), started in equilibrium
(x_0 ~ N(0, 1/(1−φ²))). Then ρ(t) = φ^t, τ_int = (1+φ)/(2(1−φ)) (convention
τ_int = 1/2 for i.i.d. draws) and the exact variance of the mean of n draws is
Var(x̄) = σ²/n · [1 + 2 Σ_{t=1}^{n−1} (1 − t/n) φ^t] with σ² = 1/(1−φ²).
"""
import math

import numpy as np
import pytest
from scipy.signal import lfilter

from statmech.stats._autocorr import (
    BlockingResult,
    ChainStatistics,
    autocorrelation_function,
    blocking_error,
    chain_statistics,
    integrated_autocorrelation_time,
    integrated_autocorrelation_time_stderr,
    jackknife,
    split_rhat,
)


def ar1(rng, phi, shape):
    """Stationary AR(1) draws with unit innovations; time is the last axis."""
    noise = rng.standard_normal(shape)
    noise[..., 0] /= math.sqrt(1.0 - phi**2)
    return lfilter([1.0], [1.0, -phi], noise, axis=-1)


def ar1_tau(phi):
    return (1.0 + phi) / (2.0 * (1.0 - phi))


def ar1_variance_of_mean(phi, n):
    lags = np.arange(1, n)
    return (1.0 / (1.0 - phi**2)) / n * (1.0 + 2.0 * np.sum((1.0 - lags / n) * phi**lags))


# ------------------------------------------------------------------ autocorrelation


def test_acf_matches_direct_double_sum_with_per_chain_means():
    rng = np.random.default_rng(0)
    chains = rng.standard_normal((3, 257)) + np.array([[0.0], [5.0], [-2.0]])
    n = chains.shape[1]
    acov = np.zeros(n)
    for chain in chains:
        centred = chain - chain.mean()
        acov += np.array([np.dot(centred[: n - t], centred[t:]) / n for t in range(n)])
    expected = acov / acov[0]
    np.testing.assert_allclose(autocorrelation_function(chains), expected, atol=1e-12)
    single = autocorrelation_function(chains[1])
    centred = chains[1] - chains[1].mean()
    np.testing.assert_allclose(single[3], np.dot(centred[:-3], centred[3:]) / np.dot(centred, centred))


def test_acf_of_ar1_decays_as_phi_to_the_t():
    rng = np.random.default_rng(1)
    rho = autocorrelation_function(ar1(rng, 0.7, 200_000))
    np.testing.assert_allclose(rho[:8], 0.7 ** np.arange(8), atol=0.01)


@pytest.mark.parametrize("phi, seed", [(0.0, 2), (0.5, 3), (0.9, 4)])
def test_tau_int_of_ar1_within_its_own_error_bars(phi, seed):
    x = ar1(np.random.default_rng(seed), phi, 100_000)
    tau, window = integrated_autocorrelation_time(x)
    tau_err = integrated_autocorrelation_time_stderr(tau, window, x.size)
    assert window >= 5.0 * tau
    assert abs(tau - ar1_tau(phi)) < 4 * tau_err, (tau, tau_err, ar1_tau(phi))
    assert tau_err < 0.1 * ar1_tau(phi)


def test_tau_int_averages_over_chains():
    x = ar1(np.random.default_rng(5), 0.8, (8, 10_000))
    tau, window = integrated_autocorrelation_time(x)
    tau_err = integrated_autocorrelation_time_stderr(tau, window, x.size)
    assert abs(tau - ar1_tau(0.8)) < 4 * tau_err


@pytest.mark.parametrize("phi, seed", [(0.0, 6), (0.5, 7), (0.9, 8)])
def test_stderr_of_mean_matches_exact_ar1_variance(phi, seed):
    n = 100_000
    x = ar1(np.random.default_rng(seed), phi, n)
    stats = chain_statistics(x)
    exact = math.sqrt(ar1_variance_of_mean(phi, n))
    # relative error of the estimated stderr ≈ δτ/(2τ) + 1/sqrt(2n) (a few %)
    assert abs(stats.stderr / exact - 1.0) < 0.1, (stats.stderr, exact)
    assert abs(stats.mean) < 4 * exact
    assert stats.warnings == ()
    assert stats.rhat is None and stats.n_chains == 1 and stats.n_draws == n
    assert stats.ess == pytest.approx(min(n / (2 * stats.tau_int), stats.ess_multichain))
    assert stats.stderr == pytest.approx(max(stats.gamma_stderr, math.sqrt(stats.variance * n / (n - 1)
                                                                          / stats.ess_multichain)))


def test_anticorrelated_chain_gives_finite_conservative_error():
    x = ar1(np.random.default_rng(9), -0.5, 50_000)
    stats = chain_statistics(x)
    exact = math.sqrt(ar1_variance_of_mean(-0.5, x.size))
    assert math.isfinite(stats.stderr) and stats.stderr > 0
    assert 0.9 * exact < stats.stderr < 1.6 * exact
    # perfectly alternating chain (Metropolis at beta = 0): finite, positive
    alternating = chain_statistics(np.tile([1.0, -1.0], 100))
    assert 0 < alternating.stderr < 0.1 and alternating.tau_int > 0


# --------------------------------------------------------------------------- coverage


def test_one_sigma_coverage_and_naive_negative_control():
    x = ar1(np.random.default_rng(10), 0.8, (400, 4000))
    means = x.mean(axis=1)
    honest = np.array([chain_statistics(chain).stderr for chain in x])
    naive = x.std(axis=1, ddof=1) / math.sqrt(x.shape[1])
    coverage = np.mean(np.abs(means) / honest < 1.0)
    naive_coverage = np.mean(np.abs(means) / naive < 1.0)
    assert abs(coverage - 0.68) < 0.05, coverage
    # negative control: ignoring τ_int (= 4.5) must fail the same check
    assert not abs(naive_coverage - 0.68) < 0.05, naive_coverage
    assert naive_coverage < 0.4


# ------------------------------------------------------------------- refusals, warnings


def test_short_chain_raises_too_short():
    with pytest.raises(ValueError, match="too short.*run at least 12 more sweeps"):
        chain_statistics(np.random.default_rng(11).standard_normal(20))
    with pytest.raises(ValueError, match="too short"):
        integrated_autocorrelation_time(np.arange(10.0))
    with pytest.raises(ValueError, match="too short"):
        blocking_error(np.ones(8))


def test_window_that_never_closes_raises_too_short():
    random_walk = np.cumsum(np.random.default_rng(12).standard_normal(1000))
    with pytest.raises(ValueError, match="too short for an error bar.*did not close.*run at least"):
        chain_statistics(random_walk)
    with pytest.raises(ValueError, match="too short"):
        integrated_autocorrelation_time(random_walk)


def test_chain_shorter_than_50_tau_carries_a_warning():
    phi = 0.905  # τ_int ≈ 10
    x = ar1(np.random.default_rng(13), phi, 200)
    stats = chain_statistics(x)
    assert len(stats.warnings) == 1
    assert "shorter than 50 tau" in stats.warnings[0] and "run longer" in stats.warnings[0]


def test_constant_chain_gives_zero_error_not_nan():
    stats = chain_statistics(np.full(100, -2.0))
    assert stats.mean == -2.0 and stats.stderr == 0.0 and stats.tau_int == 0.5
    assert stats.variance == 0.0 and stats.ess == 100.0
    assert "did not move" in stats.warnings[0]
    several = chain_statistics(np.full((4, 64), 0.1))
    assert several.stderr == 0.0 and several.rhat == 1.0 and not math.isnan(several.mean)
    assert integrated_autocorrelation_time(np.full(40, 3.0)) == (0.5, 1)
    np.testing.assert_array_equal(autocorrelation_function(np.full(5, 1.0)), [1, 0, 0, 0, 0])


def test_chains_frozen_at_different_values_are_flagged():
    stats = chain_statistics(np.stack([np.full(100, 1.0), np.full(100, -1.0)]))
    assert stats.rhat == math.inf
    assert any("chains disagree" in w for w in stats.warnings)


def test_bad_input_messages():
    with pytest.raises(ValueError, match="NaN or inf"):
        chain_statistics([1.0, np.nan] * 20)
    with pytest.raises(ValueError, match="shape"):
        chain_statistics(np.zeros((2, 3, 40)))
    with pytest.raises(TypeError, match="numeric"):
        chain_statistics(["a"] * 40)
    with pytest.raises(ValueError, match="c must be a positive"):
        integrated_autocorrelation_time(np.zeros(40), c=0.0)


def test_chain_statistics_is_frozen_and_converts_to_estimate():
    stats = chain_statistics(np.random.default_rng(14).standard_normal(500))
    assert isinstance(stats, ChainStatistics)
    with pytest.raises(AttributeError):
        stats.mean = 0.0
    estimate = stats.to_estimate("metropolis", {"seed": 14})
    assert float(estimate) == stats.mean and float(estimate.stderr) == stats.stderr
    assert estimate.meta["seed"] == 14 and estimate.meta["tau_int"] == stats.tau_int


# ---------------------------------------------------------------------------- R-hat


def test_rhat_near_one_for_identical_chains():
    x = ar1(np.random.default_rng(15), 0.5, (4, 2000))
    rhat = split_rhat(x)
    assert 0.99 < rhat < 1.02
    stats = chain_statistics(x)
    assert stats.rhat == rhat and stats.warnings == ()


def test_rhat_large_for_shifted_chains():
    x = ar1(np.random.default_rng(16), 0.5, (4, 2000)) + np.arange(4)[:, None] * 1.0
    assert split_rhat(x) > 1.1
    assert any("R-hat" in w for w in chain_statistics(x).warnings)


def test_split_rhat_catches_drift_within_one_chain_and_different_scales():
    rng = np.random.default_rng(17)
    drifting = rng.standard_normal(2000) + np.linspace(0.0, 3.0, 2000)
    assert split_rhat(drifting) > 1.1
    # same centre, different widths: the folded (tail) R̂ sees it
    scales = rng.standard_normal((4, 2000)) * np.array([[1.0], [1.0], [3.0], [3.0]])
    assert split_rhat(scales) > 1.1


def test_split_rhat_is_rank_based():
    x = ar1(np.random.default_rng(18), 0.3, (3, 500))
    assert split_rhat(np.exp(x)) == pytest.approx(split_rhat(x), rel=1e-12)
    with pytest.raises(ValueError, match="at least 4 draws"):
        split_rhat(np.zeros((2, 3)))


# ------------------------------------------------------------------------- blocking


def test_blocking_plateau_agrees_with_gamma_method_and_exact():
    n = 2**17
    x = ar1(np.random.default_rng(19), 0.9, n)
    result = blocking_error(x)
    assert isinstance(result, BlockingResult) and result.warnings == ()
    gamma = chain_statistics(x).stderr
    exact = math.sqrt(ar1_variance_of_mean(0.9, n))
    assert abs(result.stderr / gamma - 1.0) < 0.2, (result.stderr, gamma)
    assert abs(result.stderr / exact - 1.0) < 0.2
    # level 0 is the naive error, and the block size is far beyond τ_int
    assert result.stderrs[0] == pytest.approx(x.std(ddof=1) / math.sqrt(n))
    np.testing.assert_array_equal(result.block_sizes, 2 ** np.arange(len(result.block_sizes)))
    assert result.block_size >= 2 * ar1_tau(0.9)
    assert result.stderrs[0] < 0.4 * result.stderr


def test_blocking_of_uncorrelated_draws_plateaus_at_once():
    x = np.random.default_rng(20).standard_normal((4, 8192))
    result = blocking_error(x)
    assert result.block_size <= 4
    assert abs(result.stderr * math.sqrt(x.size) - 1.0) < 0.05


# ------------------------------------------------------------------------ jackknife


def test_jackknife_variance_of_gaussian_matches_known_stderr():
    n, sigma = 20_000, 2.0
    g = np.random.default_rng(21).standard_normal(n) * sigma
    result = jackknife(lambda a, a2: a2 - a**2, (g, g**2), n_blocks=200)
    known = math.sqrt(2.0 / n) * sigma**2
    # the jackknife stderr itself has relative error ≈ 1/sqrt(2(B−1)) = 0.05
    assert abs(result.stderr / known - 1.0) < 0.15, (result.stderr, known)
    assert abs(result.value - sigma**2) < 4 * known
    assert result.warnings == () and result.block_size == 100


def test_jackknife_linear_function_is_block_mean_error_and_bias_free():
    x = np.random.default_rng(22).standard_normal((2, 1000)) + 3.0
    result = jackknife(lambda a: a, (x,), n_blocks=10)
    block_means = x.reshape(2, 10, 100).mean(axis=(0, 2))
    assert result.value == pytest.approx(x.mean())
    assert result.bias_corrected == pytest.approx(x.mean())
    assert result.stderr == pytest.approx(block_means.std(ddof=1) / math.sqrt(10))


def test_jackknife_bias_correction_of_squared_mean_is_exact():
    # for f = ā², the jackknife-corrected value is ā² − s²/B exactly (s²: block-mean variance)
    x = np.random.default_rng(23).standard_normal(3000) + 0.5
    result = jackknife(lambda a: a**2, (x,), n_blocks=30)
    block_means = x.reshape(30, 100).mean(axis=1)
    expected = x.mean() ** 2 - block_means.var(ddof=1) / 30
    assert result.bias_corrected == pytest.approx(expected, rel=1e-10)


def test_jackknife_binder_cumulant_of_gaussian_with_dict_input():
    m = np.random.default_rng(24).standard_normal((4, 5000))
    result = jackknife(lambda m2, m4: 1.0 - m4 / (3.0 * m2**2), {"m2": m**2, "m4": m**4})
    assert 0 < result.stderr < 0.02
    assert abs(result.bias_corrected - 0.0) < 4 * result.stderr  # U4 = 0 for a Gaussian
    assert result.n_blocks == 20


def test_jackknife_warns_when_blocks_are_shorter_than_two_tau():
    x = ar1(np.random.default_rng(25), 0.95, 4000)
    short = jackknife(lambda a, a2: a2 - a**2, (x, x**2), n_blocks=400)
    assert any("shorter than 2 tau_int" in w and "input 0" in w for w in short.warnings)
    long = jackknife(lambda a, a2: a2 - a**2, (x, x**2), n_blocks=10)
    assert long.warnings == ()


def test_jackknife_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        jackknife(lambda a, b: a + b, (np.zeros(100), np.zeros(90)))
    with pytest.raises(ValueError, match="fewer blocks"):
        jackknife(lambda a: a, (np.zeros(10),), n_blocks=20)
    with pytest.raises(TypeError, match="dict or a tuple"):
        jackknife(lambda a: a, np.zeros(100))


def test_split_rhat_is_blind_to_float_rounding_noise_on_a_discrete_observable():
    """Energies accumulated as E += dE differ from exact levels by ~1e-16; R-hat must not see it."""
    from statmech.stats import split_rhat

    rng = np.random.default_rng(3)
    levels = rng.choice([-1.6, -0.8, 0.0, 0.8, 1.6], p=[0.05, 0.25, 0.4, 0.25, 0.05], size=(4, 4000))
    noisy = levels + rng.integers(-2, 3, size=levels.shape) * 2.0**-52
    assert split_rhat(levels) < 1.01
    assert split_rhat(noisy) == pytest.approx(split_rhat(levels), abs=1e-12)
    shifted = levels.copy()
    shifted[0] += 0.4  # negative control: one chain really sits elsewhere
    assert split_rhat(shifted) > 1.02
