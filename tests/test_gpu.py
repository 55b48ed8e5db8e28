"""Checks that need a GPU (marker ``gpu``; not run by default or in CI, which has none).

Run on a machine with a CUDA build of JAX: ``.venv/bin/python -m pytest -m gpu -q``.
They check that JAX really runs on the accelerator and that the code paths
chosen there (the batched enumeration's accelerator chunk size, the
checkerboard and cluster kernels) give the exact answers.
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
