"""Bad input found by an audit: each is a clear error before any work, never a silent cast."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import statmech as sm


@pytest.mark.parametrize("build", [
    lambda: sm.thermo(sm.Ising.square(4), np.array([0.3 + 1j])),
    lambda: sm.log_z(sm.Ising.square(4), [0.3, 1j]),
    lambda: sm.Ising.square(4, J=(np.full((4, 4), 1 + 1j), np.ones((4, 4)))),
    lambda: sm.Ising.chain(4, h=np.full(4, 0.5j)),
    lambda: sm.Ising.from_couplings(np.ones((3, 3)) * (1 + 0j) - np.eye(3)),
], ids=["beta-array", "beta-list", "bond-array", "field", "couplings"])
def test_complex_input_is_refused_not_cast(build):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ComplexWarning would mean the imaginary part was dropped
        with pytest.raises(TypeError, match="must be real"):
            build()


def test_real_input_of_complex_dtype_is_still_refused_with_the_fix_named():
    with pytest.raises(TypeError, match=r"take \.real"):
        sm.thermo(sm.Ising.square(4), np.array([0.3 + 0j]))


@pytest.mark.parametrize("seed", [2**63, 2**70])
def test_a_seed_beyond_64_bits_is_a_clear_error(seed):
    with pytest.raises(ValueError, match="seed must be < 2\\*\\*63"):
        sm.thermo(sm.Ising.square(4), 0.4, method="metropolis", n_sweeps=64, seed=seed)


def test_edges_must_be_rows_of_integer_pairs():
    with pytest.raises(ValueError, match=r"shape \(E, 2\).*edges\.T"):
        sm.Ising.from_edges(3, np.array([[0, 1, 2], [1, 2, 0]]), 1.0)  # a (2, E) array with E = 3
    with pytest.raises(TypeError, match="integer site indices"):
        sm.Ising.from_edges(3, [[0.5, 1], [1, 2]], 1.0)
    assert sm.Ising.from_edges(3, [[0, 1], [1, 2]], 1.0).n_edges == 2


def test_energy_refuses_spins_that_are_not_plus_or_minus_one():
    model = sm.Ising.chain(4, J=1.0, h=0.2)
    with pytest.raises(ValueError, match="must be \\+1 or -1"):
        model.energy(np.array([0, 1, 1, 0]))
    assert model.energy(np.array([1, -1, 1, 1])) == pytest.approx(-(-1 - 1 + 1 + 1) - 0.2 * 2)


@pytest.mark.parametrize("front_door", ["thermo", "sample"])
def test_metropolis_at_infinite_temperature_is_refused_and_heatbath_is_right(front_door):
    """Systematic-scan Metropolis at β = 0 is periodic (E = 3 ± 0.27 against 0 was reported); heat bath is not."""
    model = sm.Ising.square(4)
    run = sm.thermo if front_door == "thermo" else sm.sample
    with pytest.raises(ValueError, match="flips every spin every sweep.*heatbath"):
        run(model, 0.0, method="metropolis", seed=0)
    result = sm.thermo(model, 0.0, method="heatbath", n_sweeps=2000, n_chains=4, seed=0)
    assert abs(float(result.energy)) < 4 * float(result.energy.stderr)


def test_parallel_tempering_at_one_beta_builds_a_ladder_and_reports_the_top_rung():
    model = sm.Ising.square(4)
    result = sm.thermo(model, 0.5, method="pt", n_sweeps=1000, n_chains=2, seed=0)
    np.testing.assert_allclose(result.meta["ladder"][[0, -1]], [0.125, 0.5])
    assert np.ndim(result.energy.value) == 0 and float(result.beta) == 0.5
    exact = float(sm.thermo(model, 0.5, method="kaufman").energy)
    assert abs(float(result.energy) - exact) < 4 * float(result.energy.stderr)
    with pytest.raises(ValueError, match="beta = 0"):
        sm.thermo(model, 0.0, method="pt")


def test_a_nan_loss_is_named_not_a_numpy_error_deep_inside():
    import jax.numpy as jnp

    model = sm.ml.GibbsModel(lambda theta: jnp.sum(theta**2) * jnp.nan, 2)
    for call in (lambda: sm.ml.minimize(model), lambda: sm.log_z(model, 1.0, method="laplace")):
        with pytest.raises(ValueError, match="loss .* is not finite at theta"):
            call()
    finite = sm.ml.GibbsModel(lambda theta: jnp.sum(theta**2), 2)  # negative control: a good loss minimises
    assert sm.ml.minimize(finite).loss == pytest.approx(0.0, abs=1e-12)
