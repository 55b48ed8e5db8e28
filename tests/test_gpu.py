"""Checks that need a GPU (marker ``gpu``; not run by default or in CI, which has none).

Run on a machine with a CUDA build of JAX: ``.venv/bin/python -m pytest -m gpu -q``.
They check that JAX really runs on the accelerator and that the code paths
chosen there (the batched enumeration's accelerator chunk size, the
checkerboard and cluster kernels, the fused "jax-fused" kernels that
``backend="auto"`` picks on a GPU) give the exact answers. They are sized
to run in seconds each on a GPU; ``bash benchmarks/gpu_check.sh`` runs them,
then the throughput benchmark.
"""
import jax
import numpy as np
import pytest

import statmech as sm
from statmech.exact._batched import log_z_batch

pytestmark = pytest.mark.gpu


def test_jax_runs_on_a_gpu():
    assert jax.default_backend() == "gpu", f"JAX backend is {jax.default_backend()!r}, not a GPU"


def test_batched_enumeration_on_the_gpu_equals_numpy_enumeration():
    ensemble = sm.SK(20)
    batch = ensemble.sample_batch(0, 16)
    values = log_z_batch(batch, np.array([0.0, 0.5, 2.0]))
    for k, seed in enumerate(sm.models.instance_seeds(0, 16)[:4]):
        exact = sm.log_z(ensemble.sample(int(seed)), [0.0, 0.5, 2.0], method="enumerate").value
        np.testing.assert_allclose(values[k], exact, rtol=1e-12)


@pytest.mark.parametrize("method", ["metropolis", "heatbath", "wolff", "swendsen-wang"])
def test_monte_carlo_energy_on_the_gpu_matches_kaufman(method):
    """Energy density of the 32 × 32 torus at β = 0.3 within 5 standard errors of Kaufman's."""
    model = sm.Ising.square(32)
    exact = float(sm.thermo(model, 0.3, method="kaufman").energy_density)
    estimate = sm.thermo(model, 0.3, method=method, n_sweeps=4000, seed=0).energy_density
    assert abs(float(estimate) - exact) < 5 * float(estimate.stderr), (float(estimate), exact)


# ------------------------------------------------------- fused kernel (jax-fused)
def _pm_j(model, seed):
    import equinox as eqx

    signs = np.random.default_rng(seed).choice([-1.0, 1.0], model.n_edges)
    return eqx.tree_at(lambda m: m.couplings, model, np.abs(np.asarray(model.couplings)) * signs)


def test_auto_backend_on_the_gpu_is_the_fused_kernel():
    model = sm.Ising.square(16)
    thermo = sm.thermo(model, 0.3, method="metropolis", n_sweeps=200, seed=0)
    assert thermo.meta["backend"] == "jax-fused", thermo.meta["backend"]


def test_fused_kernel_on_the_gpu_equals_the_cpu_bit_for_bit():
    """Integer hashing and int8 spins: the GPU run of a ±J 64 × 32 lattice equals the CPU run exactly."""
    from statmech.mc import _gpu

    model = _pm_j(sm.Ising.square((64, 32)), 1)
    options = dict(n_chains=3, n_sweeps=30, burn_in=7, thin=5, seed=5, record_spins=True)
    on_gpu = _gpu.run(model, 0.7, "metropolis", **options)
    with jax.default_device(jax.devices("cpu")[0]):
        on_cpu = _gpu.run(model, 0.7, "metropolis", **options)
    np.testing.assert_array_equal(on_gpu.spins, on_cpu.spins)
    np.testing.assert_array_equal(on_gpu.energy, on_cpu.energy)
    np.testing.assert_allclose(on_gpu.energy, model.energy(on_gpu.spins.astype(np.float64)), atol=1e-9)


@pytest.mark.parametrize("method", ["metropolis", "heatbath"])
def test_fused_kernel_on_the_gpu_samples_boltzmann_and_a_wrong_beta_fails(method):
    """χ² of 4 × 4 ±J states against enumeration (Fisher over 2 seeds); β off by 5 % must fail."""
    from statmech.mc import _gpu
    from statmech.testing import boltzmann_probabilities, chi2_pvalue, fisher_combined_pvalue

    model, beta = _pm_j(sm.Ising.square(4, J=0.6), 5), 0.5
    exact = boltzmann_probabilities(model, beta)

    def pvalue(factor):
        runs = [_gpu.run(model, beta * factor, method, n_chains=20000, n_sweeps=150, burn_in=120, thin=30,
                         seed=seed, record_spins=True) for seed in (11, 12)]
        return fisher_combined_pvalue([chi2_pvalue(run.spins.reshape(-1, 16), exact) for run in runs])

    assert pvalue(1.0) > 0.01
    assert pvalue(1.05) < 0.01


@pytest.mark.parametrize("method", ["metropolis", "heatbath"])
def test_fused_kernel_on_the_gpu_energy_and_abs_m_at_L64_match_exact_values(method):
    model = sm.Ising.square(64)
    betas = np.array([0.3, 0.5, 0.6])
    sampled = sm.thermo(model, betas, method=method, backend="jax-fused", n_sweeps=8000, n_chains=16, seed=64,
                       start="up")
    exact = sm.thermo(model, betas, method="kaufman").energy_density.value
    z = (sampled.energy_density.value - exact) / sampled.energy_density.stderr
    assert np.all(np.abs(z) < 4), z
    m = sampled.abs_magnetization_density
    z = (m.value[1:] - sm.spontaneous_magnetization(betas[1:])) / m.stderr[1:]
    assert np.all(np.abs(z) < 4), z
