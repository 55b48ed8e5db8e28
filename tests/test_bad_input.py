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
    lambda: sm.ml.LinearRegression(np.eye(3) * (1 + 1j), np.ones(3)),
    lambda: sm.ml.LinearRegression(np.eye(3), np.ones(3) * 1j),
    lambda: sm.ml.LogisticRegression(np.eye(3) * (1 + 1j), np.array([1.0, -1.0, 1.0])),
    lambda: sm.ml.LinearRegression(np.eye(3), np.ones(3)).predict(np.zeros(3), np.eye(3) * 1j),
], ids=["beta-array", "beta-list", "bond-array", "field", "couplings", "ml-X", "ml-y", "ml-logistic-X",
        "ml-predict"])
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


# ------------------------------------------------------------ memory and time guards
from statmech._validation import check_memory, check_time, memory_limit, time_limit  # noqa: E402

HUGE = {
    "square-edges": (lambda: sm.Ising.square(30000).edges, "bond list .* 43.2 GB.*axis_bonds"),
    "chain-transfer": (lambda: sm.thermo(sm.Ising.chain(3 * 10**9), 0.44), "transfer.*would take about.*shorter chain"),
    "sk-instance": (lambda: sm.SK(200000).sample(0), "SK.*4.2 TB.*smaller size"),
    "ea-instance": (lambda: sm.EdwardsAnderson(30000).sample(0), "EdwardsAnderson.*115 GB"),
    "curie-weiss": (lambda: sm.CurieWeiss(10**6).sample(), "CurieWeiss.*TB.*annealed_free_entropy_density"),
    "sample-chains": (lambda: sm.sample(sm.Ising.square(16), 0.4, n_chains=10**8), "sample.*100000000 chains.*fewer chains"),
    "sample-draws": (lambda: sm.sample(sm.Ising.square(512), 0.4, n_sweeps=10**6), "sample.*TB.*recorded draws"),
    "thermo-chains": (lambda: sm.thermo(sm.Ising.square(16), 0.4, method="metropolis", n_chains=10**8),
                      "metropolis.*100000000 chains"),
    "thermo-sweeps": (lambda: sm.thermo(sm.Ising.square(4), 0.4, method="metropolis", n_sweeps=10**10),
                      "4 chains of 16 spins \\(10000000000 draws each\\).*TB"),
    "pt-chains": (lambda: sm.thermo(sm.Ising.square(16), 0.4, method="pt", n_chains=10**8), "'pt'.*chains"),
    "square-metropolis": (lambda: sm.thermo(sm.Ising.square(30000), 0.44, method="metropolis"),
                          "900000000 spins.*57.6 GB"),
    "beale": (lambda: sm.thermo(sm.Ising.square(256), 0.44, method="beale"), "Beale.*256 x 256.*hours.*kaufman"),
    "strip": (lambda: sm.thermo(sm.Ising.square((10**6, 10)), 0.44, method="transfer"), "transfer.*days"),
    "coupling-matrix": (lambda: sm.Ising.from_edges(10**6, [[0, 1]], 1.0).coupling_matrix(), "dense.*8 TB"),
}


@pytest.fixture
def fixed_budgets(monkeypatch):
    """The same budgets on every machine: 8 GB of memory, 600 s of run time."""
    monkeypatch.setenv("STATMECH_MEMORY_LIMIT", "8GB")
    monkeypatch.setenv("STATMECH_TIME_LIMIT", "600")


@pytest.mark.parametrize("case", sorted(HUGE))
def test_a_computation_too_big_for_the_machine_is_refused_before_any_work(case, fixed_budgets):
    build, message = HUGE[case]
    with pytest.raises(ValueError, match=message) as error:
        build()
    text = str(error.value)
    assert "more than the budget of" in text and ("STATMECH_MEMORY_LIMIT" in text or "STATMECH_TIME_LIMIT" in text)


def test_reasonable_sizes_of_the_same_calls_still_work(fixed_budgets):
    """Negative control: the guards do not refuse what fits."""
    big = sm.Ising.square(30000)  # scalar J: O(1) memory, nothing to refuse
    assert big.n_sites == 9 * 10**8 and sm.Ising.chain(3 * 10**9).n_edges == 3 * 10**9
    assert sm.thermo(sm.Ising.square(4096), 0.44).method == "kaufman"  # auto does not build the bond list
    assert sm.Ising.square(64).edges.shape == (2 * 64 * 64, 2)
    assert sm.SK(40).sample(0).n_edges == 40 * 39 // 2
    assert sm.thermo(sm.Ising.chain(10**4), 0.44).method == "transfer"
    assert sm.sample(sm.Ising.square(4), 0.4, n_sweeps=8, n_chains=2, burn_in=0)["spins"].shape == (2, 8, 16)
    beale = sm.thermo(sm.Ising.square(8), 0.44, method="beale")
    np.testing.assert_allclose(float(beale.log_z), float(sm.thermo(sm.Ising.square(8), 0.44, method="kaufman").log_z),
                               rtol=1e-12)


def test_the_budgets_are_overridable_by_environment_variables(monkeypatch):
    monkeypatch.setenv("STATMECH_MEMORY_LIMIT", "2GiB")
    monkeypatch.setenv("STATMECH_TIME_LIMIT", "2h")
    assert memory_limit() == 2 * 2**30 and time_limit() == 7200.0
    check_memory(2**30, "a test", "nothing")  # within budget
    check_time(3600.0, "a test", "nothing")
    with pytest.raises(ValueError, match="3 GB.*budget of 2.15 GB.*do less"):
        check_memory(3e9, "a test", "do less")
    with pytest.raises(ValueError, match="3 hours.*budget of 2 hours"):
        check_time(3 * 3600.0, "a test", "do less")
    monkeypatch.setenv("STATMECH_MEMORY_LIMIT", "lots")
    with pytest.raises(ValueError, match="STATMECH_MEMORY_LIMIT='lots' is not understood"):
        memory_limit()
    monkeypatch.delenv("STATMECH_MEMORY_LIMIT")
    monkeypatch.delenv("STATMECH_TIME_LIMIT")
    assert memory_limit() > 0 and time_limit() == 600.0


@pytest.mark.parametrize("call, fragment", [
    (lambda: sm.thermo(sm.Ising.square(4), 0.4, method="metropolis", n_sweep=10), "did you mean 'n_sweeps'"),
    (lambda: sm.log_z(sm.Ising.square(4), 0.4, method="ais", n_step=10), "did you mean 'n_steps'"),
    (lambda: sm.thermo(sm.Ising.square(4), 0.4, method="pt", thin=2), "its options: backend, burn_in"),
    (lambda: sm.log_z(sm.ml.GibbsModel(lambda theta: (theta**2).sum(), 2), 1.0, method="smc", n_particle=64),
     "did you mean 'n_particles'"),
], ids=["sampler", "estimator", "pt", "gibbs"])
def test_a_misspelt_option_names_the_valid_ones_before_any_work(call, fragment):
    """It was ``_mc_thermo() got an unexpected keyword argument 'n_sweep'``: an internal name, no valid ones."""
    with pytest.raises(TypeError, match="takes no option") as error:
        call()
    assert fragment in str(error.value) and "_mc_thermo" not in str(error.value)


def test_options_a_method_checks_itself_are_left_to_it():
    """Negative control: the front door refuses only what it knows a method refuses; laplace takes seed=
    (the seed the sweeps and quenched pass to every method that is not exact)."""
    import jax.numpy as jnp

    model = sm.ml.GibbsModel(lambda theta: jnp.sum(theta**2), 2)
    assert np.isfinite(float(sm.log_z(model, 1.0, method="laplace", seed=0)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sm.SamplingWarning)  # a short chain: its diagnostics are not the point
        result = sm.thermo(sm.Ising.square(4), 0.4, method="metropolis", n_sweeps=256, seed=0, burn_in=10)
    assert np.isfinite(float(result.energy))


@pytest.mark.parametrize("method, valid", [("laplace", ("hessian", "init", "seed")),
                                           ("quadrature", ("step", "u_max", "tolerance", "seed"))])
def test_gibbs_exact_methods_name_every_option_they_take(method, valid):
    """A misspelt option of laplace/quadrature names all the valid ones (it said only 'seed')."""
    import jax.numpy as jnp

    model = sm.ml.GibbsModel(lambda theta: jnp.sum(theta**2), 2)
    with pytest.raises(TypeError) as error:
        sm.log_z(model, 1.0, method=method, hesian="exact")
    for name in valid:
        assert name in str(error.value), (name, str(error.value))
