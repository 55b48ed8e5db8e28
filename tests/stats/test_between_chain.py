"""The standard error of a sampled mean counts chains that disagree (multi-chain ESS, Vehtari et al. 2021)."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats as scipy_stats

import statmech as sm
from statmech.stats import chain_statistics, multichain_ess
from statmech.testing import reference_ess_mean, reference_mcse_mean


def ar1(rng, phi, shape):
    noise = rng.standard_normal(shape)
    x = np.empty(shape)
    x[..., 0] = noise[..., 0] / math.sqrt(1 - phi**2)
    for t in range(1, shape[-1]):
        x[..., t] = phi * x[..., t - 1] + noise[..., t]
    return x


@pytest.mark.parametrize("phi, shape, offset", [(0.0, (4, 200), 0.0), (0.9, (4, 201), 0.3), (0.98, (8, 300), 1.0), (0.7, (8, 300), 1.0),
                                                (0.5, (1, 100), 0.0)])
def test_multichain_ess_is_the_reference_formula(phi, shape, offset):
    """The FFT implementation equals the paper's formula written out lag by lag (as ArviZ computes it)."""
    rng = np.random.default_rng(int(phi * 100) + shape[0])
    x = ar1(rng, phi, shape) + offset * rng.standard_normal((shape[0], 1))
    assert multichain_ess(x) == pytest.approx(reference_ess_mean(x), rel=1e-10)
    try:
        stats = chain_statistics(x)
    except ValueError as error:  # a window that does not close gives no error bar at all
        assert "chain too short" in str(error)
        return
    assert stats.stderr >= reference_mcse_mean(x) * (1 - 1e-9)


def test_chains_that_disagree_widen_the_error_bar_beyond_the_within_chain_estimate():
    rng = np.random.default_rng(3)
    x = ar1(rng, 0.5, (4, 2000))
    agreeing = chain_statistics(x)
    disagreeing = chain_statistics(x + np.array([[-1.0], [-1.0], [1.0], [1.0]]))  # two modes, never crossed
    assert agreeing.stderr == pytest.approx(agreeing.gamma_stderr, rel=0.15)  # well mixed: the two agree
    assert disagreeing.stderr > 5 * disagreeing.gamma_stderr
    # the spread of the 4 chain means is what the error bar must reflect: sd(means)/sqrt(4) = 0.5
    assert 0.25 < disagreeing.stderr < 1.0
    assert disagreeing.ess < 0.05 * agreeing.ess and disagreeing.rhat > 1.01


@pytest.mark.statistical
def test_error_bars_of_short_slowly_mixing_runs_cover_the_exact_energy():
    """L = 16 at beta = 0.44 (near critical), 100 sweeps of 4 Metropolis chains, 300 seeds, against Kaufman.

    The fraction of runs with |E - E_exact| < stderr must be consistent with 0.6827 (two-sided binomial
    test, p > 0.01). Negative control: the within-chain (Gamma-method) error bar alone, what statmech
    reported before, must fail the same test (it covered about 59%). Runs whose autocorrelation window
    does not close give no error bar and are not counted.
    """
    model = sm.Ising.square(16)
    exact = float(sm.thermo(model, 0.44, method="kaufman").energy)
    z_new, z_old = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sm.SamplingWarning)
        for seed in range(300):
            result = sm.thermo(model, 0.44, method="metropolis", n_sweeps=100, n_chains=4, seed=seed)
            stderr = float(result.energy.stderr)
            if not np.isfinite(stderr):
                continue
            gamma = result.energy.meta["diagnostics"]["gamma_stderr"]
            z_new.append((float(result.energy) - exact) / stderr)
            z_old.append((float(result.energy) - exact) / gamma)
    z_new, z_old = np.array(z_new), np.array(z_old)
    assert z_new.size > 200

    def p_value(z):
        return scipy_stats.binomtest(int(np.sum(np.abs(z) < 1)), z.size, 0.6827).pvalue

    assert p_value(z_new) > 0.01, np.mean(np.abs(z_new) < 1)
    assert p_value(z_old) < 0.01, np.mean(np.abs(z_old) < 1)  # negative control
