"""Wang–Landau (1/t) density of states and log Z.

References are independent of the code under test: Beale's exact density of
states of the periodic L × L lattice, and brute-force histograms over all 2^N
states written here with plain NumPy. Estimates pass when
|est − exact| / stderr < 4 (no fudge factor); the slow coverage test checks
that one-sigma intervals cover the truth at the rate Student's t predicts,
with a negative control (error bars divided by 3) that must fail.
"""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import statmech as sm
from statmech.testing import brute_force_energies
from statmech.estimators._wang_landau import WangLandauResult, energy_grid, wang_landau
from statmech.models import Ising

BETA_C = 0.4406868
BETAS = np.array([0.1, 0.3, BETA_C, 0.7, 1.0])


# ------------------------------------------------------------------ references
def brute_levels(model):
    """Exact (energies, ln g) from the brute-force energies of all 2^N states."""
    levels, counts = np.unique(np.round(brute_force_energies(model), 9), return_counts=True)
    return levels, np.log(counts)


def brute_log_z(levels, log_g, betas):
    log_w = log_g[None, :] - np.asarray(betas)[:, None] * levels[None, :]
    shift = log_w.max(axis=1)
    return shift + np.log(np.exp(log_w - shift[:, None]).sum(axis=1))


def assert_most_levels_agree(z):
    """|z| < 4 on at least 90% of the levels and no gross outlier.

    z = (est − exact)/(std/√W) follows Student's t with W − 1 = 7 degrees of
    freedom: P(|t_7| > 4) ≈ 0.5% per level, so "every level" would fail a
    correct estimator often; P(|t_7| > 8) ≈ 1e−4.
    """
    assert np.mean(np.abs(z) < 4) >= 0.9 and np.all(np.abs(z) < 8), z


def level_z_scores(result: WangLandauResult, levels, log_g):
    exact = dict(zip(np.round(levels, 9).tolist(), log_g.tolist()))
    assert set(np.round(result.energies, 9).tolist()) == set(exact), "levels found != exact levels"
    reference = np.array([exact[e] for e in np.round(result.energies, 9).tolist()])
    return (result.log_g - reference) / result.log_g_stderr


@pytest.fixture(scope="module")
def square4():
    model = Ising.square(4)
    return model, wang_landau(model, n_sweeps=20_000, n_walkers=8, seed=1)


# ------------------------------------------------------------------ the grid
def test_grid_of_the_square_torus_has_spacing_four():
    grid = energy_grid(Ising.square(4))
    assert (grid.step * grid.unit, grid.n_levels) == (4.0, 17)
    assert grid.energies()[0] == -32.0 and grid.energies()[-1] == 32.0


def test_grid_contains_every_level_and_spacing_is_the_gcd():
    for model in (Ising.chain(7, J=1.0, h=1.0), Ising.chain(6, J=[1, -2, 1, 3, 1, 1], h=2.0),
                  Ising.square(3, J=-1.0), Ising.chain(5, J=0.5, h=0.25, periodic=False)):
        levels, _ = brute_levels(model)
        grid = energy_grid(model)
        energies = grid.energies()
        assert np.all(np.isin(np.round(levels, 9), np.round(energies, 9)))
        spacing = np.gcd.reduce(np.round((levels - levels[0]) / grid.unit).astype(np.int64))
        assert spacing == grid.step


# ------------------------------------------------------------- against exact g
def test_log_g_and_log_z_match_beale_l4(square4):
    model, result = square4
    dos = sm.density_of_states(model)
    assert_most_levels_agree(level_z_scores(result, dos.energies, dos.log_degeneracy))
    estimate = result.log_z(BETAS)
    assert np.all(np.abs(estimate.value - dos.log_z(BETAS)) < 4 * estimate.stderr)


@pytest.mark.parametrize("L, n_sweeps", [(6, 20_000), pytest.param(8, 50_000, marks=pytest.mark.slow)])
def test_log_g_matches_beale(L, n_sweeps):
    model = Ising.square(L)
    result = wang_landau(model, n_sweeps=n_sweeps, n_walkers=8, seed=3)
    dos = sm.density_of_states(model)
    assert_most_levels_agree(level_z_scores(result, dos.energies, dos.log_degeneracy))
    estimate = result.log_z(BETAS)
    assert np.all(np.abs(estimate.value - dos.log_z(BETAS)) < 4 * estimate.stderr)


def test_chain_with_field_matches_enumeration():
    model = Ising.chain(10, J=1.0, h=1.0)
    levels, log_g = brute_levels(model)
    result = wang_landau(model, n_sweeps=20_000, n_walkers=8, seed=5)
    assert_most_levels_agree(level_z_scores(result, levels, log_g))
    estimate = result.log_z(BETAS)
    assert np.all(np.abs(estimate.value - brute_log_z(levels, log_g, BETAS)) < 4 * estimate.stderr)


def test_beta_zero_is_exact_and_large_beta_is_the_ground_state(square4):
    model, result = square4
    assert float(result.log_z(0.0)) == pytest.approx(model.n_sites * math.log(2), abs=1e-9)
    big = result.log_z(1e6)
    exact = 1e6 * 32 + math.log(2)  # E_0 = −32, g(E_0) = 2
    assert np.isfinite(float(big)) and abs(float(big) - exact) < 4 * float(big.stderr)


def test_probabilities_sum_to_one_and_follow_boltzmann(square4):
    model, result = square4
    p = result.probabilities(BETA_C)
    assert p.shape == result.energies.shape and p.sum() == pytest.approx(1.0)
    grid = result.probabilities(BETAS)
    assert grid.shape == (len(BETAS), len(result.energies))
    dos = sm.density_of_states(model)
    np.testing.assert_allclose(p, dos.probabilities(BETA_C), atol=0.01)


def test_scaled_couplings_give_the_same_walk():
    """J = 0.5 has the same integer tables as J = 1: identical ln g, energies halved."""
    one = wang_landau(Ising.square(4), n_sweeps=200, n_walkers=2, seed=0)
    half = wang_landau(Ising.square(4, J=0.5), n_sweeps=200, n_walkers=2, seed=0)
    np.testing.assert_array_equal(one.log_g, half.log_g)
    np.testing.assert_array_equal(one.energies / 2, half.energies)


def test_antiferromagnet_matches_mirrored_beale():
    model = Ising.square(4, J=-1.0)
    result = wang_landau(model, n_sweeps=20_000, n_walkers=8, seed=1)
    dos = sm.density_of_states(model)
    assert_most_levels_agree(level_z_scores(result, dos.energies, dos.log_degeneracy))


# -------------------------------------------------------------- front doors
def test_registered_log_z_and_thermo():
    model = Ising.square(4)
    estimate = sm.log_z(model, [0.2, BETA_C], method="wang-landau", n_sweeps=20_000, seed=2)
    assert estimate.method == "wang-landau" and estimate.stderr.shape == (2,)
    assert estimate.meta["seed"] == 2 and estimate.meta["n_sweeps"] == 20_000
    assert estimate.meta["wall_time"] > 0
    exact = sm.thermo(model, [0.2, BETA_C], method="beale")
    assert np.all(np.abs(estimate.value - exact.log_z.value) < 4 * estimate.stderr)
    scalar = sm.log_z(model, 0.3, method="wang-landau", n_sweeps=20_000, seed=2)
    assert scalar.value.shape == () and float(scalar.stderr) > 0
    result = sm.thermo(model, [0.2, BETA_C], method="wang-landau", n_sweeps=20_000, seed=2)
    for name in ("energy", "specific_heat", "entropy", "free_energy_density"):
        est, ref = getattr(result, name), getattr(exact, name)
        assert np.all(np.abs(est.value - ref.value) < 4 * est.stderr), name
    assert result.magnetization is None


def test_fixed_seed_is_deterministic_and_seeds_differ():
    model = Ising.chain(8, J=1.0, h=1.0)
    first = wang_landau(model, n_sweeps=300, n_walkers=2, seed=7)
    again = wang_landau(model, n_sweeps=300, n_walkers=2, seed=7)
    other = wang_landau(model, n_sweeps=300, n_walkers=2, seed=8)
    np.testing.assert_array_equal(first.walker_log_g, again.walker_log_g)
    assert not np.array_equal(first.walker_log_g, other.walker_log_g)


def test_jax_precision_flag_is_left_alone():
    before = jax.config.jax_enable_x64
    wang_landau(Ising.chain(8, J=1.0, h=1.0), n_sweeps=300, n_walkers=2, seed=7)
    assert jax.config.jax_enable_x64 == before
    assert jnp.ones(1).dtype == (jnp.float64 if before else jnp.float32)


def test_short_run_warns_that_walkers_did_not_reach_one_over_t():
    result = wang_landau(Ising.square(4), n_sweeps=5, n_walkers=2, seed=0)
    assert any("1/t stage" in w for w in result.meta["warnings"])


# --------------------------------------------------------------- bad input
@pytest.mark.parametrize("options, error, match", [
    ({"n_walkers": 0}, ValueError, "n_walkers must be >= 1"),
    ({"n_walkers": 1}, ValueError, "n_walkers must be >= 2"),
    ({"n_sweeps": 0}, ValueError, "n_sweeps must be >= 1"),
    ({"n_sweeps": 10.0}, TypeError, "n_sweeps must be an int"),
    ({"flatness": 1.0}, ValueError, r"flatness must be in \[0, 1\)"),
    ({"flatness": "flat"}, TypeError, "flatness must be a number"),
    ({"seed": -1}, ValueError, "seed must be >= 0"),
    ({"check_every": 0}, ValueError, "check_every must be >= 1"),
])
def test_bad_options(options, error, match):
    with pytest.raises(error, match=match):
        wang_landau(Ising.square(4), **options)


def test_continuous_couplings_are_refused():
    J = np.random.default_rng(0).normal(size=(6, 6))
    model = Ising.from_couplings((J + J.T) / 2 * (1 - np.eye(6)))
    with pytest.raises(ValueError, match="not integer multiples of one unit"):
        wang_landau(model)
    with pytest.raises(ValueError, match="does not apply"):
        sm.log_z(model, 0.5, method="wang-landau")
    assert "wang-landau" not in sm.available_methods(model)
    assert "wang-landau" in sm.available_methods(Ising.square(4))


def test_not_an_ising_model_and_bad_beta():
    with pytest.raises(TypeError, match="sm.Ising"):
        wang_landau("not a model")
    result = wang_landau(Ising.chain(8, J=1.0, h=1.0), n_sweeps=300, n_walkers=2, seed=7)
    with pytest.raises(ValueError, match="beta must be >= 0"):
        result.log_z(-0.1)


# ------------------------------------------------------------------ coverage
COVERAGE_RUNS = 50
N_WALKERS = 8


def _coverage_band(p, n, sigmas=3.0):
    spread = sigmas * math.sqrt(p * (1 - p) / n)
    return p - spread, p + spread


@pytest.mark.slow
def test_one_sigma_coverage_of_log_z_and_a_negative_control():
    """Over 50 seeds, |ln Z_est − ln Z| < stderr at the rate P(|t_7| < 1) ≈ 0.65.

    stderr = std/√W over W = 8 walkers, so (est − exact)/stderr follows
    Student's t with 7 degrees of freedom. The 3σ binomial band for 50 runs is
    0.65 ± 0.20; error bars divided by 3 (P(|t_7| < 1/3) ≈ 0.25) must fall
    below it.
    """
    model = Ising.square(4)
    exact = sm.density_of_states(model).log_z(BETA_C)
    z = []
    for seed in range(COVERAGE_RUNS):
        estimate = wang_landau(model, n_sweeps=50_000, n_walkers=N_WALKERS, seed=100 + seed).log_z(BETA_C)
        z.append((float(estimate) - exact) / float(estimate.stderr))
    z = np.abs(np.array(z))
    expected = 2 * stats.t.cdf(1.0, N_WALKERS - 1) - 1
    low, high = _coverage_band(expected, COVERAGE_RUNS)
    assert low <= np.mean(z < 1) <= high, (np.mean(z < 1), low, high)
    assert np.max(z) < 6
    assert np.mean(z < 1 / 3) < low  # negative control: stderr / 3 under-covers


def test_thermo_at_beta_zero_is_exact(square4):
    model, result = square4
    thermo = result.thermo([0.0, 0.5])
    assert thermo.log_z.value[0] == pytest.approx(16 * math.log(2)) and thermo.log_z.stderr[0] < 1e-9
    assert thermo.free_energy.value[0] == -np.inf and thermo.free_energy.stderr[0] == 0.0
    assert np.isfinite(thermo.free_energy.value[1]) and thermo.free_energy.stderr[1] > 0
    assert abs(thermo.energy.value[0]) < 4 * thermo.energy.stderr[0]  # ⟨H⟩ = 0 at β = 0
