"""One set of option names on the spin and the learning side: n_chains, n_sweeps, burn_in, kernel, seed.

Each old name (``n_samples``, ``n_warmup``, ``n_burn_in``, ``sampler=``, ``inner=``) still works for one
release: it raises a DeprecationWarning naming the new one and gives exactly the result of the new name,
which is silent. Passing both names is a TypeError.
"""
from __future__ import annotations

import inspect
import warnings

import jax
import numpy as np
import pytest

import statmech as sm
from statmech import ml
from statmech.estimators._gibbs import thermodynamic_integration as gibbs_ti
from statmech.mc import checkerboard_metropolis, run_tempering
from statmech.ml import generalization_vs_beta

OLD_NAMES = ("n_samples", "n_warmup", "n_burn_in", "sampler", "inner")


def _silently(call):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        return call()


def _same(old, new):
    for name in ("value", "stderr"):
        np.testing.assert_array_equal(getattr(old, name), getattr(new, name))


def test_sample_n_samples_is_n_sweeps_over_thin():
    model = sm.Ising.square(4)
    options = dict(n_chains=2, burn_in=5, thin=3, seed=1)
    new = _silently(lambda: sm.sample(model, 0.4, n_sweeps=30, **options))
    with pytest.warns(DeprecationWarning, match="n_samples= is renamed n_sweeps="):
        old = sm.sample(model, 0.4, n_samples=10, **options)
    assert new["spins"].shape == (2, 10, 16)
    np.testing.assert_array_equal(old["spins"].values, new["spins"].values)
    with pytest.raises(TypeError, match="pass n_sweeps= only"):
        sm.sample(model, 0.4, n_samples=10, n_sweeps=30)


def test_run_tempering_n_burn_in_is_burn_in():
    model = sm.Ising.square(4)
    ladder = np.array([0.2, 0.3, 0.4])
    new = _silently(lambda: run_tempering(jax.random.key(2), model, ladder, checkerboard_metropolis, 64,
                                          burn_in=16))
    with pytest.warns(DeprecationWarning, match="n_burn_in= is renamed burn_in="):
        old = run_tempering(jax.random.key(2), model, ladder, checkerboard_metropolis, 64, n_burn_in=16)
    np.testing.assert_array_equal(old.energies, new.energies)
    assert new.burn_in == 16
    with pytest.warns(DeprecationWarning, match="n_burn_in is renamed burn_in"):
        assert new.n_burn_in == 16


@pytest.mark.filterwarnings("ignore::statmech._types.SamplingWarning")  # a short run; only the names matter here
def test_parallel_tempering_inner_is_kernel():
    model = sm.Ising.square(4)
    options = dict(method="pt", n_sweeps=64, n_chains=2, seed=3)
    new = _silently(lambda: sm.thermo(model, [0.2, 0.3], kernel="heatbath", **options))
    with pytest.warns(DeprecationWarning, match="inner= is renamed kernel="):
        old = sm.thermo(model, [0.2, 0.3], inner="heatbath", **options)
    _same(old.energy, new.energy)


@pytest.mark.parametrize("method, options", [
    ("ti", dict(n_nodes=4, n_sweeps=256, n_chains=2, seed=1)),
    ("pa", dict(population=32, n_runs=2, n_sweeps=2, seed=1)),
])
def test_ising_estimators_sampler_is_kernel(method, options):
    model = sm.Ising.chain(6, J=0.8, periodic=False)
    new = _silently(lambda: sm.log_z(model, 0.4, method=method, kernel="heatbath", **options))
    with pytest.warns(DeprecationWarning, match="sampler= is renamed kernel="):
        old = sm.log_z(model, 0.4, method=method, sampler="heatbath", **options)
    _same(old, new)


def test_gibbs_thermodynamic_integration_n_samples_n_warmup_are_n_sweeps_burn_in():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 2))
    model = ml.LinearRegression(X, X @ np.array([1.0, -0.5]) + 0.1 * rng.normal(size=12), prior_precision=1.0)
    options = dict(n_nodes=4, n_chains=2, kernel="mala", seed=1)
    new = _silently(lambda: gibbs_ti(model, 0.5, n_sweeps=256, burn_in=64, **options))
    with pytest.warns(DeprecationWarning) as caught:
        old = gibbs_ti(model, 0.5, n_samples=256, n_warmup=64, **options)
    assert {"n_samples= is renamed n_sweeps=", "n_warmup= is renamed burn_in="} <= {
        str(w.message).split(": option ")[1].split(";")[0] for w in caught}
    _same(old, new)


def test_the_public_samplers_take_the_common_names_and_keep_the_old_ones_only_as_deprecated():
    """Every sampling entry point takes the common names; an old name is only a keyword defaulting to None."""
    from statmech.estimators import annealed_importance_sampling, population_annealing, thermodynamic_integration
    from statmech.mc._sampling import _pt_thermo

    expected = {
        sm.sample: {"n_sweeps", "n_chains", "burn_in", "seed"},
        run_tempering: {"n_sweeps", "burn_in"},
        _pt_thermo: {"n_sweeps", "n_chains", "burn_in", "kernel", "seed"},
        thermodynamic_integration: {"n_sweeps", "n_chains", "kernel", "seed"},
        annealed_importance_sampling: {"n_sweeps", "n_chains", "kernel", "seed"},
        population_annealing: {"n_sweeps", "kernel", "seed"},
        gibbs_ti: {"n_sweeps", "n_chains", "burn_in", "kernel", "seed"},
        generalization_vs_beta: {"n_sweeps", "n_chains", "burn_in", "kernel", "seed"},
    }
    for function, names in expected.items():
        parameters = inspect.signature(function).parameters
        assert names <= set(parameters), (function.__name__, names - set(parameters))
        for old in set(OLD_NAMES) & set(parameters):
            assert parameters[old].default is None, (function.__name__, old)
