"""Annealed importance sampling ("ais") and population annealing ("pa").

References are independent of the code under test: the Kaufman solution of
the periodic square lattice, exact enumeration of the 4×4 lattice (for
magnetisations), the closed-form transfer-matrix eigenvalues of a periodic
chain in a field (written here) and a brute-force sum over the 2^10 states of
a small frustrated SK-like system (plain NumPy, here). Every estimate must
satisfy |est − exact| / stderr < 4 with fixed seeds; the slow tests check
one-sigma coverage over 60 seeds, with a negative control (stderr / 3).
"""
import math

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

import statmech as sm
from statmech.testing import brute_force_log_z as reference_log_z
from statmech.testing import periodic_chain_log_z, sk_instance, z_score
from statmech.estimators._annealing import (
    _adaptive_steps,
    _systematic_resample,
    annealed_importance_sampling,
    population_annealing,
)

BETA_C = 0.4406868
GRID = np.array([0.3, BETA_C, 0.6])
AIS_FAST = dict(n_chains=128, n_steps=300)
PA_FAST = dict(population=128, n_runs=8, n_sweeps=5)


def coverage_band(n_runs, p=0.6827, level=0.999):
    """Central binomial interval holding the number of covering runs with probability >= level."""
    return (stats.binom.ppf((1 - level) / 2, n_runs, p) / n_runs,
            stats.binom.ppf(1 - (1 - level) / 2, n_runs, p) / n_runs)


def ais(model, beta, **options):
    return annealed_importance_sampling(model, beta, **{**AIS_FAST, **options})


def pa(model, beta, **options):
    return population_annealing(model, beta, **{**PA_FAST, **options})


# ====================================================================== AIS
@pytest.mark.parametrize("L", [4, 8])
def test_ais_square_lattice_grid_matches_kaufman(L):
    model = sm.Ising.square(L)
    estimate = ais(model, GRID, seed=1)
    exact = sm.log_z(model, GRID, method="kaufman").value
    assert estimate.value.shape == GRID.shape and np.all(estimate.stderr > 0)
    assert np.all(np.abs(z_score(estimate, exact)) < 4), (estimate, exact)
    assert np.all(estimate.meta["ess"] > 0.05 * AIS_FAST["n_chains"]) and not estimate.meta["warnings"]
    assert set(GRID) <= set(estimate.meta["schedule_points"])


def test_ais_chain_with_field_and_frustrated_sk():
    """The pooled z of five independent runs, Σz/√5, within 4: more sensitive to a bias than one run's z,
    and not at the mercy of AIS's heavy low tail (one run in about 700 lies beyond 4σ, whatever the kernel:
    measured over 1000 seeds on this chain)."""
    chain = sm.Ising.chain(16, J=1.0, h=0.4, periodic=True)
    exact = periodic_chain_log_z(16, 1.0, 0.4, 0.8)
    z = [z_score(ais(chain, 0.8, seed=seed), exact) for seed in range(2, 7)]
    assert abs(np.sum(z) / np.sqrt(len(z))) < 4, z
    sk = sm.Ising.from_couplings(*sk_instance())
    exact = reference_log_z(sk, 1.0)
    z = [z_score(ais(sk, 1.0, seed=seed), exact) for seed in range(3, 8)]
    assert abs(np.sum(z) / np.sqrt(len(z))) < 4, z


def test_ais_beta_zero_is_n_log_2_exactly():
    model = sm.Ising.square(4)
    estimate = ais(model, 0.0)
    assert float(estimate) == 16 * math.log(2) and float(estimate.stderr) == 0.0
    grid = ais(model, [0.0, 0.3], seed=1)
    assert grid.value[0] == 16 * math.log(2) and grid.stderr[0] == 0.0 and grid.stderr[1] > 0


def test_ais_explicit_and_geometric_schedules():
    model = sm.Ising.square(4)
    exact = float(sm.log_z(model, BETA_C, method="kaufman"))
    explicit = ais(model, BETA_C, n_steps=None, schedule=np.linspace(0, 0.5, 301), seed=1)
    assert explicit.meta["schedule_points"][-1] == BETA_C and explicit.meta["schedule"] == "explicit"
    assert abs(float(explicit) - exact) / float(explicit.stderr) < 4
    geometric = ais(model, BETA_C, schedule="geometric", seed=1)
    assert abs(float(geometric) - exact) / float(geometric.stderr) < 4


def test_ais_tiny_ess_is_flagged():
    """A jump from β = 0.001 to 0.6 on L = 8: the weights degenerate and meta says so.

    (300 schedule points, as in the grid test, so the compiled loop is reused.)"""
    schedule = np.append(np.linspace(0.0, 0.001, 300), 0.6)
    estimate = ais(sm.Ising.square(8), 0.6, n_steps=None, schedule=schedule, seed=1)
    assert estimate.meta["ess"] < 5 and any("effective sample size" in w for w in estimate.meta["warnings"])


def test_ais_is_deterministic_and_seed_dependent():
    model = sm.Ising.square(4)
    first, again, other = ais(model, BETA_C, seed=5), ais(model, BETA_C, seed=5), ais(model, BETA_C, seed=6)
    assert float(first) == float(again) and float(first.stderr) == float(again.stderr)
    assert float(first) != float(other)


def test_ais_front_door():
    model = sm.Ising.square(4)
    assert {"ais", "pa"} <= set(sm.available_methods(model))
    estimate = sm.log_z(model, BETA_C, method="ais", seed=5, **AIS_FAST)
    assert estimate.method == "ais" and float(estimate) == float(ais(model, BETA_C, seed=5))


@pytest.mark.parametrize("options, error, match", [
    (dict(n_sweeps=0), ValueError, "n_sweeps must be >= 1"),
    (dict(n_chains=0), ValueError, "n_chains must be >= 2"),
    (dict(n_chains=1), ValueError, "n_chains must be >= 2"),
    (dict(n_steps=0), ValueError, "n_steps must be >= 1"),
    (dict(seed=-3), ValueError, "seed must be >= 0"),
    (dict(kernel="gibbs"), ValueError, "kernel must be one of"),
    (dict(schedule="cosine"), ValueError, "schedule must be 'linear', 'geometric'"),
    (dict(n_steps=None, schedule=[0.3]), ValueError, "at least 2 points"),
    (dict(n_steps=None, schedule=[0.1, 0.3]), ValueError, "must start at beta = 0"),
    (dict(n_steps=None, schedule=[0.0, 0.2, 0.1, 0.3]), ValueError, "strictly increasing"),
    (dict(n_steps=None, schedule=[0.0, 0.1]), ValueError, "below the largest requested beta"),
    (dict(n_steps=10, schedule=[0.0, 0.3]), ValueError, "either n_steps"),
    (dict(n_steps=None, schedule=[0.0, np.nan]), ValueError, "NaN or inf"),
])
def test_ais_bad_options_are_rejected(options, error, match):
    with pytest.raises(error, match=match):
        ais(sm.Ising.square(4), 0.3, **options)


def test_ais_bad_beta_and_model_are_rejected():
    with pytest.raises(ValueError, match="beta must be >= 0"):
        ais(sm.Ising.square(4), [0.3, -0.1])
    with pytest.raises(TypeError, match="needs an sm.Ising model"):
        ais(None, 0.3)
    with pytest.raises(ValueError, match="ferromagnetic"):
        ais(sm.Ising.from_couplings(sk_instance()[0]), 0.3, kernel="wolff")


# ======================================================================= PA
@pytest.mark.parametrize("L", [4, 8])
def test_pa_square_lattice_grid_matches_kaufman(L):
    model = sm.Ising.square(L)
    result = pa(model, GRID, seed=1)
    exact = sm.thermo(model, GRID, method="kaufman")
    assert result.log_z.value.shape == GRID.shape and np.all(result.log_z.stderr > 0)
    assert np.all(np.abs(z_score(result.log_z, exact.log_z.value)) < 4), (result.log_z, exact.log_z)
    assert np.all(np.abs(z_score(result.energy, exact.energy.value)) < 4), (result.energy, exact.energy)
    assert np.all(np.abs(z_score(result.specific_heat, exact.specific_heat.value)) < 4)
    schedule = result.meta["schedule_points"]
    assert schedule[0] == 0 and np.all(np.diff(schedule) > 0) and set(GRID) <= set(schedule)
    assert result.meta["n_steps"] == schedule.size - 1 and result.meta["schedule"] == "adaptive (pilot run)"


def test_pa_thermo_matches_enumeration_on_every_field():
    """sm.thermo(method="pa") gives a Thermo whose every field has a stderr and agrees with enumeration."""
    model = sm.Ising.square(4)
    thermo = sm.thermo(model, BETA_C, method="pa", seed=2, **PA_FAST)
    exact = sm.thermo(model, BETA_C, method="enumerate")
    assert thermo.method == "pa" and thermo.binder_cumulant is not None
    for name in exact.available():
        estimate, reference = getattr(thermo, name), float(getattr(exact, name))
        assert estimate.stderr is not None and float(estimate.stderr) > 0, name
        assert abs(float(estimate) - reference) / float(estimate.stderr) < 4, (name, estimate, reference)


def test_pa_chain_with_field_and_frustrated_sk():
    chain = sm.Ising.chain(16, J=1.0, h=0.4, periodic=True)
    result = pa(chain, 0.8, seed=2)
    assert abs(z_score(result.log_z, periodic_chain_log_z(16, 1.0, 0.4, 0.8))) < 4
    magnetization = float(sm.thermo(chain, 0.8, method="transfer").magnetization)
    assert abs(float(result.magnetization) - magnetization) / float(result.magnetization.stderr) < 4
    sk = sm.Ising.from_couplings(*sk_instance())
    result = pa(sk, 1.0, seed=3)
    assert abs(z_score(result.log_z, reference_log_z(sk, 1.0))) < 4


def test_pa_beta_zero_is_n_log_2_exactly():
    model = sm.Ising.square(4)
    result = pa(model, [0.0, 0.3], seed=1)
    assert result.log_z.value[0] == 16 * math.log(2) and result.log_z.stderr[0] == 0.0
    assert result.log_z.stderr[1] > 0


def test_pa_explicit_schedule_is_followed():
    model = sm.Ising.square(4)
    schedule = np.linspace(0.0, 0.5, 41)
    result = pa(model, BETA_C, schedule=schedule, seed=1)
    expected = np.union1d(schedule[schedule <= BETA_C], [BETA_C])
    np.testing.assert_array_equal(result.meta["schedule_points"], expected)
    exact = float(sm.log_z(model, BETA_C, method="kaufman"))
    assert abs(float(result.log_z) - exact) / float(result.log_z.stderr) < 4


def test_pa_is_deterministic_and_seed_dependent():
    model = sm.Ising.square(4)
    first, again, other = pa(model, BETA_C, seed=5), pa(model, BETA_C, seed=5), pa(model, BETA_C, seed=6)
    assert float(first.log_z) == float(again.log_z) and float(first.energy) == float(again.energy)
    assert float(first.log_z) != float(other.log_z)


def test_systematic_resampling_gives_floor_or_ceil_copies():
    rng = np.random.default_rng(0)
    log_w = rng.normal(scale=2.0, size=(5, 200))
    indices = _systematic_resample(np.random.default_rng(1), log_w)
    weights = np.exp(log_w - logsumexp(log_w, axis=1, keepdims=True))
    for row, w in zip(indices, weights):
        counts = np.bincount(row, minlength=200)
        expected = 200 * w
        assert counts.sum() == 200
        assert np.all(counts >= np.floor(expected) - 1e-9) and np.all(counts <= np.ceil(expected) + 1e-9)


def test_adaptive_step_hits_the_target_ess():
    rng = np.random.default_rng(0)
    energies = rng.normal(scale=[[5.0], [20.0]], size=(2, 1000))
    steps = _adaptive_steps(energies, np.array([10.0, 10.0]), 0.9)
    for e, step in zip(energies, steps):
        w = np.exp(-step * (e - e.min()))
        assert w.sum() ** 2 / (1000 * np.sum(w**2)) == pytest.approx(0.9, abs=1e-9)
    assert steps[0] > steps[1]  # a wider energy spread needs a smaller step
    np.testing.assert_array_equal(_adaptive_steps(energies, np.array([1e-6, 0.0]), 0.9), [1e-6, 0.0])


@pytest.mark.parametrize("options, error, match", [
    (dict(n_sweeps=0), ValueError, "n_sweeps must be >= 1"),
    (dict(population=0), ValueError, "population must be >= 2"),
    (dict(n_runs=1), ValueError, "n_runs must be >= 2"),
    (dict(target_ess=1.0), ValueError, "target_ess must be a number in"),
    (dict(target_ess="high"), ValueError, "target_ess must be a number in"),
    (dict(seed=1.5), TypeError, "seed must be an int"),
    (dict(schedule="linear"), ValueError, "schedule must be 'adaptive'"),
    (dict(schedule=[0.0]), ValueError, "at least 2 points"),
    (dict(schedule=[0.0, 0.1]), ValueError, "below the largest requested beta"),
])
def test_pa_bad_options_are_rejected(options, error, match):
    with pytest.raises(error, match=match):
        pa(sm.Ising.square(4), 0.3, **options)


def test_pa_bad_beta_is_rejected():
    with pytest.raises(ValueError, match="beta must be >= 0"):
        pa(sm.Ising.square(4), -0.2)


# ================================================================ coverage
def _coverage(errors, stderrs):
    low, high = coverage_band(len(errors))
    return np.mean(np.abs(errors) < stderrs), np.mean(np.abs(errors) < stderrs / 3), (low, high)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["ais", "pa"])
def test_one_sigma_coverage_and_negative_control(method):
    """60 seeds, L = 4 at β_c: the fraction with |est − exact| < stderr lies in the 99.9 % binomial band
    around 0.683 ([0.483, 0.867]). Negative control: stderr / 3 (true coverage ≈ 0.26) falls outside it.
    (PA's error bar from 8 runs is t-distributed with 7 dof: its coverage is 0.65, inside the band.)"""
    model = sm.Ising.square(4)
    exact = float(sm.log_z(model, BETA_C, method="kaufman"))
    if method == "ais":
        runs = [ais(model, BETA_C, seed=seed) for seed in range(60)]
    else:
        runs = [pa(model, BETA_C, seed=seed).log_z for seed in range(60)]
    errors = np.array([float(r) - exact for r in runs])
    stderrs = np.array([float(r.stderr) for r in runs])
    coverage, control, (low, high) = _coverage(errors, stderrs)
    assert low <= coverage <= high, coverage
    assert not low <= control <= high, control


def test_old_option_name_sampler_still_works_with_a_deprecation_warning():
    model = sm.Ising.square(4)
    new = ais(model, 0.3, kernel="metropolis", n_chains=16, n_steps=8, seed=2)
    with pytest.warns(DeprecationWarning, match="sampler= is renamed kernel="):
        old = ais(model, 0.3, sampler="metropolis", n_chains=16, n_steps=8, seed=2)
    assert float(old) == float(new) and old.stderr == new.stderr
    with pytest.raises(TypeError, match="pass kernel= only"):
        ais(model, 0.3, sampler="metropolis", kernel="metropolis")
