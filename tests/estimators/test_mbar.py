"""MBAR free energies from one parallel-tempering run.

References are independent of the code under test: brute-force sums over all
2^N states written here with plain NumPy (small lattices and chains with a
field). Estimates pass when |est − exact| / stderr < 4 (no fudge factor); the
coverage test (statistical tier) is in test_coverage.py.
"""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import statmech as sm
from statmech.estimators._mbar import (
    JACKKNIFE_BLOCKS,
    MBARFreeEnergy,
    _newton_solve,
    default_ladder,
    high_temperature_energy_std,
    mbar_free_energy,
)
from statmech.models import Ising
from statmech.testing import brute_force_moments

BETA_C = 0.4406868
BETAS = np.array([0.0, 0.1, 0.25, BETA_C, 0.55, 0.7])


# ------------------------------------------------------------------ references
def brute_thermo(model, betas):
    """(ln Z, U, C) of every β by summing over all 2^N states."""
    moments = brute_force_moments(model, betas)
    return moments.log_z, moments.energy, np.asarray(betas) ** 2 * moments.energy_variance


# One model, ladder and run length for most tests, so the tempering run compiles once.
N_SWEEPS = 2000


@pytest.fixture(scope="module")
def square4():
    model = Ising.square(4)
    return model, mbar_free_energy(model, BETAS, n_sweeps=N_SWEEPS, seed=1)


# ------------------------------------------------------------------ accuracy
def test_log_z_matches_brute_force_on_the_ladder_and_between(square4):
    model, result = square4
    assert isinstance(result, MBARFreeEnergy)
    betas = np.concatenate([BETAS, [0.123, 0.3333, 0.6999]])  # off the ladder too
    estimate = result.log_z(betas)
    exact, _, _ = brute_thermo(model, betas)
    assert estimate.value[0] == pytest.approx(16 * math.log(2), abs=1e-9)
    assert estimate.stderr[0] == 0.0
    assert np.all(estimate.stderr[1:] > 0)
    z = (estimate.value[1:] - exact[1:]) / estimate.stderr[1:]
    assert np.all(np.abs(z) < 4), z
    assert result.meta["warnings"] == ()


def test_ladder_values_agree_with_log_z_at_the_ladder(square4):
    _, result = square4
    np.testing.assert_allclose(result.log_z(result.ladder).value, result.log_z_ladder, atol=1e-8)


def test_chain_with_field_matches_brute_force():
    model = Ising.chain(10, J=1.0, h=0.5)
    betas = np.array([0.2, 0.5, 0.9])
    estimate = sm.log_z(model, betas, method="mbar", n_sweeps=2000, seed=3)
    exact, _, _ = brute_thermo(model, betas)
    assert np.all(np.abs(estimate.value - exact) < 4 * estimate.stderr)


def test_thermo_by_reweighting(square4):
    model, result = square4
    betas = np.array([0.1, BETA_C, 0.65])
    thermo = result.thermo(betas)
    log_z, energy, heat = brute_thermo(model, betas)
    entropy = betas * energy + log_z
    for name, exact in (("log_z", log_z), ("energy", energy), ("specific_heat", heat),
                        ("entropy", entropy), ("free_energy", -log_z / betas)):
        est = getattr(thermo, name)
        assert np.all(est.stderr > 0), name
        assert np.all(np.abs(est.value - exact) < 4 * est.stderr), (name, est.value, exact)
    assert thermo.magnetization is None and thermo.method == "mbar"
    np.testing.assert_allclose(thermo.energy_density.value, thermo.energy.value / 16)


def test_registered_front_doors():
    model = Ising.square(4)
    estimate = sm.log_z(model, 0.7, method="mbar", n_sweeps=N_SWEEPS, seed=4)
    assert estimate.method == "mbar" and estimate.value.shape == () and float(estimate.stderr) > 0
    meta = estimate.meta
    assert meta["seed"] == 4 and meta["n_sweeps"] == N_SWEEPS and meta["wall_time"] > 0
    assert meta["ladder"][0] == 0.0 and meta["ladder"][-1] == pytest.approx(0.7)
    assert len(meta["swap_acceptance"]) == len(meta["ladder"]) - 1
    assert len(meta["n_uncorrelated"]) == len(meta["ladder"]) and meta["round_trips"] > 0
    exact, _, _ = brute_thermo(model, [0.7])
    assert abs(float(estimate) - exact[0]) < 4 * float(estimate.stderr)
    assert "mbar" in sm.available_methods(model)
    thermo = sm.thermo(model, [0.2, 0.7], method="mbar", n_sweeps=N_SWEEPS, seed=4)
    assert thermo.specific_heat.stderr.shape == (2,)


# ------------------------------------------------------------------ solver
def test_newton_solver_agrees_with_pymbar(square4):
    """The MBAR equations solved here (Newton over distinct energies with their counts, from the TI guess;
    and over every sample, from zero) and by pymbar (every sample) give the same f_k on the same samples."""
    _, result = square4
    u_kn = result.ladder[:, None] * result.energies[None, :]
    before = jax.config.jax_enable_x64
    with jax.enable_x64(True):
        import pymbar

        reference = pymbar.MBAR(u_kn, result.n_per_state).f_k
    jax.config.update("jax_enable_x64", before)
    np.testing.assert_allclose(result.f_k, reference - reference[0], atol=1e-8)
    assert np.unique(result.energies).size < result.energies.size / 10  # the grouping did group
    mine = _newton_solve(u_kn, result.n_per_state, np.zeros(result.ladder.size), np.ones(result.energies.size))
    np.testing.assert_allclose(mine, result.f_k, atol=1e-8)


def test_jackknife_solutions_leave_one_block_out(square4):
    """Every jackknife f_k solves MBAR without its block (checked against a fresh solve from zero)."""
    _, result = square4
    u_kn = result.ladder[:, None] * result.energies[None, :]
    assert result.jackknife_f_k.shape == (JACKKNIFE_BLOCKS, result.ladder.size)
    assert set(np.unique(result.sample_block)) == set(range(JACKKNIFE_BLOCKS))
    for j in (0, JACKKNIFE_BLOCKS - 1):
        keep = result.sample_block != j
        counts = np.bincount(result.sample_state[keep], minlength=result.ladder.size)
        fresh = _newton_solve(u_kn[:, keep], counts, np.zeros(result.ladder.size), np.ones(keep.sum()))
        np.testing.assert_allclose(result.jackknife_f_k[j], fresh, atol=1e-8)


def test_estimates_do_not_touch_the_jax_precision_flag(square4):
    before = jax.config.jax_enable_x64
    model, result = square4
    mbar_free_energy(model, BETAS, n_sweeps=N_SWEEPS, seed=0).thermo(0.3)
    result.log_z(0.2)
    assert jax.config.jax_enable_x64 == before
    assert jnp.ones(1).dtype == jnp.float32


# ------------------------------------------------------------------ ladders
def test_default_ladders():
    model = Ising.square(4)
    sigma = high_temperature_energy_std(model)
    assert sigma == pytest.approx(math.sqrt(32))  # 2N bonds of J = 1
    linear = default_ladder(model, 0.7)
    assert linear[0] == 0 and linear[-1] == 0.7
    assert len(linear) == math.ceil(0.7 * sigma / 0.5) + 1
    np.testing.assert_allclose(np.diff(linear), np.diff(linear)[0])
    geometric = default_ladder(model, 5.0, spacing="geometric")
    assert geometric[0] == 0 and geometric[1] == pytest.approx(0.5 / sigma)
    assert geometric[-1] == pytest.approx(5.0) and np.all(np.diff(geometric) > 0)
    assert len(default_ladder(model, 0.7, n_temperatures=5)) == 5


def test_parallel_bonds_and_fields_enter_sigma():
    model = Ising.from_edges(3, [(0, 1), (1, 0), (1, 2), (2, 2)], [1.0, 2.0, 1.0, 5.0], h=[0.5, 0, 0])
    assert high_temperature_energy_std(model) == pytest.approx(math.sqrt(9 + 1 + 0.25))


def test_fixed_seed_is_deterministic():
    model = Ising.square(4)
    first = mbar_free_energy(model, 0.7, n_sweeps=N_SWEEPS, seed=9).log_z(0.5)
    again = mbar_free_energy(model, 0.7, n_sweeps=N_SWEEPS, seed=9).log_z(0.5)
    other = mbar_free_energy(model, 0.7, n_sweeps=N_SWEEPS, seed=10).log_z(0.5)
    assert float(first) == float(again) and float(first.stderr) == float(again.stderr)
    assert float(first) != float(other)


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("beta, options, error, match", [
    (0.5, {"ladder": [0.0, 0.5, 0.3]}, ValueError, "strictly increasing"),
    (0.5, {"ladder": [0.1, 0.3, 0.5]}, ValueError, "must start at beta = 0"),
    (0.9, {"ladder": [0.0, 0.3, 0.5]}, ValueError, "does not extrapolate"),
    (0.5, {"ladder": [0.0, 0.5], "n_temperatures": 4}, ValueError, "not both"),
    (-0.1, {}, ValueError, "beta must be >= 0"),
    (None, {}, ValueError, "pass the beta values"),
    (0.0, {}, ValueError, "all requested beta are 0"),
    (0.5, {"kernel": "metropolis"}, ValueError, "periodic at beta = 0"),
    (0.5, {"kernel": "gibbs"}, ValueError, "kernel must be one of"),
    (0.5, {"spacing": "log"}, ValueError, "spacing must be one of"),
    (0.5, {"n_temperatures": 1}, ValueError, "n_temperatures must be >= 2"),
    (0.5, {"n_sweeps": 0}, ValueError, "n_sweeps must be >= 1"),
    (0.5, {"seed": -3}, ValueError, "seed must be >= 0"),
    (0.5, {"n_sweeps": 20}, ValueError, "too short"),
    (1e6, {}, ValueError, "spacing='geometric'"),
])
def test_bad_input(beta, options, error, match):
    with pytest.raises(error, match=match):
        mbar_free_energy(Ising.square(4), beta, **options)


def test_beta_beyond_the_ladder_is_refused(square4):
    _, result = square4
    with pytest.raises(ValueError, match="beyond the sampled ladder"):
        result.log_z(0.71)
    with pytest.raises(TypeError, match="sm.Ising"):
        mbar_free_energy("model", 0.5)
