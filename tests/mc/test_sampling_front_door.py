"""sm.sample and the Monte Carlo thermo methods against exact values."""
import numpy as np
import pytest

import statmech as sm

FIELDS = ("energy_density", "specific_heat_density", "abs_magnetization_density", "susceptibility_density")


def test_sample_returns_a_dataset_with_the_contract_dims():
    model = sm.Ising.square(4, h=0.1)
    ds = sm.sample(model, 0.4, method="metropolis", n_sweeps=100, n_chains=3, burn_in=20, thin=2, seed=0,
                   backend="auto")
    assert ds["spins"].dims == ("chain", "draw", "site")
    assert ds["spins"].shape == (3, 50, 16)
    assert ds["energy"].dims == ("chain", "draw")
    assert set(np.unique(ds["spins"].values)) <= {-1, 1}
    np.testing.assert_allclose(ds["energy"].values, model.energy(ds["spins"].values.astype(float)))
    assert ds.attrs["seed"] == 0 and ds.attrs["beta"] == 0.4


def test_sample_is_reproducible_and_seed_dependent():
    model = sm.Ising.chain(12, h=0.2)
    first = sm.sample(model, 0.7, n_sweeps=20, n_chains=2, burn_in=5, seed=3)
    again = sm.sample(model, 0.7, n_sweeps=20, n_chains=2, burn_in=5, seed=3)
    other = sm.sample(model, 0.7, n_sweeps=20, n_chains=2, burn_in=5, seed=4)
    np.testing.assert_array_equal(first["spins"].values, again["spins"].values)
    assert not np.array_equal(first["spins"].values, other["spins"].values)


@pytest.mark.parametrize("method, n_sweeps", [("metropolis", 4000), ("heatbath", 4000), ("wolff", 8000),
                                              ("swendsen-wang", 3000)])
def test_sampled_thermo_matches_kaufman_within_four_sigma(method, n_sweeps):
    model = sm.Ising.square(8)
    betas = np.array([0.3, 0.55])
    sampled = sm.thermo(model, betas, method=method, n_sweeps=n_sweeps, n_chains=4, seed=1)
    exact = sm.thermo(model, betas, method="kaufman")
    for name in ("energy_density", "specific_heat_density"):
        estimate, truth = getattr(sampled, name), getattr(exact, name)
        assert np.all(estimate.stderr > 0)
        z = (estimate.value - truth.value) / estimate.stderr
        assert np.all(np.abs(z) < 4), (name, z)


def test_every_sampled_field_has_a_stderr_and_diagnostics():
    t = sm.thermo(sm.Ising.square(6, h=0.05), 0.4, method="heatbath", n_sweeps=4000, seed=0)  # long enough for |m| (tau_int ~ 20)
    for name in FIELDS + ("magnetization_density", "binder_cumulant"):
        estimate = getattr(t, name)
        assert estimate.stderr is not None and np.isfinite(estimate.stderr), name
    diagnostics = t.energy.meta["diagnostics"]
    assert diagnostics["tau_int"] > 0 and diagnostics["ess"] > 0 and diagnostics["rhat"] is not None
    assert t.meta["seed"] == 0 and t.meta["n_chains"] == 4


def test_magnetisation_with_a_field_matches_enumeration():
    model = sm.Ising.square((4, 3), J=0.5, h=0.2, periodic=False)
    exact = sm.thermo(model, 0.6, method="enumerate")
    sampled = sm.thermo(model, 0.6, method="metropolis", n_sweeps=6000, seed=2)
    for name in ("magnetization_density", "abs_magnetization_density", "susceptibility_density"):
        z = (getattr(sampled, name).value - getattr(exact, name).value) / getattr(sampled, name).stderr
        assert abs(z) < 4, (name, z)


def test_short_chain_gives_a_warning_not_a_silent_number():
    t = sm.thermo(sm.Ising.square(16), sm.CRITICAL_BETA, method="metropolis", n_sweeps=300, seed=0)
    assert any("50 tau_int" in w or "too short" in w for w in t.meta["warnings"])


@pytest.mark.parametrize("options, error, match", [
    ({"n_sweeps": 0}, ValueError, "n_sweeps must be >= 1"),
    ({"n_sweeps": -5}, ValueError, "n_sweeps must be >= 1"),
    ({"n_chains": 0}, ValueError, "n_chains must be >= 1"),
    ({"n_sweeps": 10}, ValueError, "too short for an error bar"),
    ({"seed": -1}, ValueError, "seed must be >= 0"),
    ({"seed": 1.5}, TypeError, "seed must be an int"),
    ({"backend": "gpu-magic"}, ValueError, "backend must be one of"),
])
def test_bad_sampler_options_are_refused(options, error, match):
    with pytest.raises(error, match=match):
        sm.thermo(sm.Ising.square(4), 0.4, method="metropolis", **options)


def test_cluster_updates_refuse_frustrated_couplings():
    rng = np.random.default_rng(0)
    glass = sm.Ising.square(4, J=(rng.choice([-1.0, 1.0], (4, 4)), rng.choice([-1.0, 1.0], (4, 4))))
    for method in ("wolff", "swendsen-wang"):
        with pytest.raises(ValueError, match="ferromagnetic"):
            sm.thermo(glass, 0.5, method=method, n_sweeps=100)
    with pytest.raises(ValueError, match="ferromagnetic"):
        sm.sample(glass, 0.5, method="wolff", n_sweeps=10)


def test_samplers_give_no_log_z_and_say_which_methods_do():
    with pytest.raises(ValueError, match="gives no log Z"):
        sm.log_z(sm.Ising.square(4), 0.4, method="metropolis")


def test_sample_refuses_a_beta_grid():
    with pytest.raises(ValueError, match="one beta"):
        sm.sample(sm.Ising.square(4), [0.1, 0.2], n_sweeps=10)


def test_parallel_tempering_thermo_matches_kaufman_on_its_ladder():
    model = sm.Ising.square(8)
    ladder = np.linspace(0.2, 0.6, 5)
    sampled = sm.thermo(model, ladder, method="pt", n_sweeps=1500, n_chains=3, seed=0)
    exact = sm.thermo(model, ladder, method="kaufman")
    for name in ("energy_density", "specific_heat_density"):
        z = (getattr(sampled, name).value - getattr(exact, name).value) / getattr(sampled, name).stderr
        assert np.all(np.abs(z) < 4), (name, z)
    assert sampled.meta["swap_acceptance"].shape == (4,)
    assert np.all((sampled.meta["swap_acceptance"] > 0) & (sampled.meta["swap_acceptance"] <= 1))
    assert sampled.meta["round_trips"] >= 0


@pytest.mark.parametrize("beta, match", [
    (0.0, "beta = 0"),
    ([0.5, 0.3, 0.7], "increasing"),
    ([-0.1, 0.3], ">= 0"),
])
def test_parallel_tempering_refuses_bad_ladders(beta, match):
    with pytest.raises(ValueError, match=match):
        sm.thermo(sm.Ising.square(4), beta, method="pt", n_sweeps=100)
