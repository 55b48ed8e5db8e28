"""Sampled observables of the 2D Ising model at L = 16 and 32 vs Kaufman, including near β_c (slow)."""
import numpy as np
import pytest

import statmech as sm

BETAS = np.array([0.3, 0.42, sm.CRITICAL_BETA, 0.46, 0.6])


@pytest.mark.slow
@pytest.mark.parametrize("L", [16, 32])
@pytest.mark.parametrize("method, n_sweeps", [("swendsen-wang", 6000), ("wolff", 20000),
                                              ("metropolis", 20000)])
def test_energy_and_specific_heat_match_kaufman_within_four_sigma(L, method, n_sweeps):
    model = sm.Ising.square(L)
    sampled = sm.thermo(model, BETAS, method=method, n_sweeps=n_sweeps, n_chains=4, seed=L)
    exact = sm.thermo(model, BETAS, method="kaufman")
    for name in ("energy_density", "specific_heat_density"):
        estimate, truth = getattr(sampled, name), getattr(exact, name)
        finite = np.isfinite(estimate.stderr)
        assert finite.sum() >= len(BETAS) - 1, (name, estimate.stderr)
        z = (estimate.value[finite] - truth.value[finite]) / estimate.stderr[finite]
        assert np.all(np.abs(z) < 4), (method, L, name, z)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["metropolis", "heatbath"])
def test_hashed_checkerboard_at_L64_matches_kaufman_and_yang(method):
    """The hashed JAX kernels (what estimators run): energy vs Kaufman at β = 0.3, 0.5, 0.6, |m| vs Yang at 0.5, 0.6.

    Ordered start: from a random one, local dynamics at β = 0.6 can freeze into long-lived stripes.
    """
    model = sm.Ising.square(64)
    betas = np.array([0.3, 0.5, 0.6])
    sampled = sm.thermo(model, betas, method=method, backend="hashed-checkerboard", n_sweeps=4000, n_chains=8,
                        seed=64, start="up")
    assert sampled.meta["kernel"] == f"hashed_checkerboard_{method}"
    exact = sm.thermo(model, betas, method="kaufman").energy_density.value
    z = (sampled.energy_density.value - exact) / sampled.energy_density.stderr
    assert np.all(np.abs(z) < 4), z
    m = sampled.abs_magnetization_density
    z = (m.value[1:] - sm.spontaneous_magnetization(betas[1:])) / m.stderr[1:]
    assert np.all(np.abs(z) < 4), z
