"""The contract of sm.log_z / sm.thermo, run over every registered method on a set of small models.

statmech.testing.check_method_contract holds the promises (return types, the
method and seed recorded, scalar and grid β, log Z at β = 0, thermo or a clear
refusal); this file runs it over ``available_methods(model)`` for each model,
checks that a method which does not apply is refused with the alternatives
named, and shows once that a deliberately broken method fails the contract.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import statmech as sm
from statmech import _registry
from statmech.testing import check_method_contract, gaussian_couplings

# Small budgets for sampled methods (defaults are sized for accuracy, not for a contract check).
BUDGETS = {
    "metropolis": dict(n_sweeps=64, n_chains=2, seed=1),
    "heatbath": dict(n_sweeps=64, n_chains=2, seed=1),
    "wolff": dict(n_sweeps=64, n_chains=2, seed=1),
    "swendsen-wang": dict(n_sweeps=64, n_chains=2, seed=1),
    "pt": dict(n_sweeps=64, n_chains=2, seed=1),
    "ais": dict(n_chains=16, n_steps=8, seed=1),
    "pa": dict(population=32, n_runs=2, n_sweeps=2, seed=1),
    "ti": dict(n_nodes=4, n_sweeps=64, n_chains=2, seed=1),
    "mbar": dict(n_sweeps=128, seed=1),
    "wang-landau": dict(n_sweeps=2000, n_walkers=2, seed=1),
}
GIBBS_BUDGETS = {
    "ti": dict(n_nodes=4, n_sweeps=256, burn_in=64, n_chains=2, kernel="mala", seed=1),
    "ais": dict(n_particles=32, n_steps=8, kernel="mala", n_pilot=32, seed=1),
    "smc": dict(n_particles=32, n_runs=2, kernel="mala", seed=1),
}


def _models():
    rng = np.random.default_rng(4)
    couplings = gaussian_couplings(rng, 6)
    X = rng.normal(size=(12, 2))
    return {
        "chain with field": sm.Ising.chain(6, J=0.8, h=0.3, periodic=False),
        "4x4 torus": sm.Ising.square(4),
        "spin glass": sm.Ising.from_couplings(couplings),
        "linear regression": sm.ml.LinearRegression(X, X @ np.array([1.0, -0.5]) + 0.1 * rng.normal(size=12),
                                                     prior_precision=1.0),
    }


MODELS = _models()
SAMPLED_ON = {"chain with field", "linear regression"}  # sampled methods are checked on one model of each kind


def _cases():
    for label, model in MODELS.items():
        for name in sm.available_methods(model):
            method = _registry.get_method(name, model)
            if not method.exact and label not in SAMPLED_ON and method.moments is None:
                continue
            budgets = GIBBS_BUDGETS if isinstance(model, sm.ml.LossModel) else BUDGETS
            yield pytest.param(label, name, budgets.get(name, {}), id=f"{label}-{name}")


@pytest.mark.parametrize("label, name, options", list(_cases()))
def test_every_registered_method_keeps_the_contract(label, name, options):
    check_method_contract(MODELS[label], name, options)


def test_every_model_kind_is_served_by_some_method():
    for label, model in MODELS.items():
        assert sm.available_methods(model), f"no method applies to {label}"


@pytest.mark.parametrize("label", list(MODELS))
def test_a_method_that_does_not_apply_is_refused_with_the_alternatives(label):
    model = MODELS[label]
    applicable = sm.available_methods(model)
    refused = [name for name in _registry.registered_names() if name not in applicable]
    assert refused, "every method applies: nothing to check"
    for name in refused:
        with pytest.raises(ValueError) as info:
            sm.log_z(model, 0.3, method=name)
        message = str(info.value)
        assert name in message and any(other in message for other in applicable), message


def test_a_deliberately_broken_method_fails_the_contract(monkeypatch):
    """Negative controls: an exact method off by 1e-6 in log Z, and one that ignores all but the first β."""
    model = MODELS["chain with field"]
    enumerate_method = _registry.get_method("enumerate", model)

    def broken_moments(model, betas, **options):
        moments = enumerate_method.moments(model, betas, **options)
        return dataclasses.replace(moments, log_z=moments.log_z + 1e-6)

    broken = dataclasses.replace(enumerate_method, name="broken", moments=broken_moments, auto_rank=None)
    monkeypatch.setitem(_registry._REGISTRY, "broken", [broken])
    with pytest.raises(AssertionError, match="log Z\\(0\\)"):
        check_method_contract(model, "broken")

    def first_beta_only(model, betas, **options):
        moments = enumerate_method.moments(model, betas[:1], **options)
        return dataclasses.replace(moments, log_z=np.repeat(moments.log_z, 1))

    no_grid = dataclasses.replace(enumerate_method, name="no-grid", moments=first_beta_only,
                                  log_z_moments=None, auto_rank=None)
    monkeypatch.setitem(_registry._REGISTRY, "no-grid", [no_grid])
    with pytest.raises(AssertionError, match="shape"):
        check_method_contract(model, "no-grid")


def _register(monkeypatch, method):
    """Register ``method`` for this test only (monkeypatch removes it afterwards)."""
    monkeypatch.setitem(_registry._REGISTRY, method.name, [method])
    assert method.name in sm.available_methods(MODELS["chain with field"])


def _renamed_ais(name: str, breakage: str | None = None):
    """The "ais" estimator registered under ``name``, optionally with one promise broken."""
    ais = _registry.get_method("ais", MODELS["chain with field"])

    def log_z_fn(model, beta, **options):
        estimate = dataclasses.replace(ais.log_z_fn(model, beta, **options), method=name)
        if breakage == "float":
            return float(np.ravel(estimate.value)[0])
        if breakage == "no seed":
            return dataclasses.replace(estimate, meta={k: v for k, v in estimate.meta.items() if k != "seed"})
        if breakage == "wrong method name":
            return dataclasses.replace(estimate, method="ais")
        if breakage == "off at beta 0":
            return dataclasses.replace(estimate, value=np.asarray(estimate.value) + 1.0)
        return estimate

    return dataclasses.replace(ais, name=name, log_z_fn=log_z_fn, auto_rank=None)


@pytest.mark.parametrize("breakage, message", [
    ("float", "not Estimate"),
    ("no seed", "does not record its seed"),
    ("wrong method name", "recorded method 'ais'"),
    ("off at beta 0", "log Z\\(0\\)"),
])
def test_a_broken_estimator_fails_the_contract(monkeypatch, breakage, message):
    """Negative controls for sampled methods: a float instead of an Estimate, the seed not recorded in
    ``meta``, another method's name recorded, and log Z off by 1 (a wrong normalisation, seen at β = 0)."""
    _register(monkeypatch, _renamed_ais("broken-ais", breakage))
    # the front door itself refuses a result of the wrong type (TypeError); the rest is the contract check's
    with pytest.raises(TypeError if breakage == "float" else AssertionError, match=message):
        check_method_contract(MODELS["chain with field"], "broken-ais", BUDGETS["ais"])


def test_the_same_estimator_unbroken_passes_the_check(monkeypatch):
    """The positive side of the controls above: the same wrapper with nothing broken keeps the contract."""
    _register(monkeypatch, _renamed_ais("copy-of-ais"))
    check_method_contract(MODELS["chain with field"], "copy-of-ais", BUDGETS["ais"])


def test_the_broken_methods_are_gone_after_their_tests():
    assert not {"broken", "no-grid", "broken-ais", "copy-of-ais"} & set(_registry.registered_names())


def test_a_sampler_that_doubts_its_answer_raises_a_sampling_warning():
    model = sm.Ising.square(8)
    with pytest.warns(sm.SamplingWarning, match=r"\[metropolis\] \d+ diagnostic"):
        result = sm.thermo(model, 0.44, method="metropolis", n_sweeps=64, n_chains=2, seed=0)
    assert result.meta["warnings"]
    assert issubclass(sm.SamplingWarning, sm.StatmechWarning) and issubclass(sm.StatmechWarning, UserWarning)


def test_a_long_clean_run_raises_no_sampling_warning():
    """Negative control: a well-mixed run at high temperature records no diagnostics and warns nothing."""
    import warnings

    model = sm.Ising.chain(8, J=0.2, periodic=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", sm.SamplingWarning)
        result = sm.thermo(model, 0.1, method="heatbath", n_sweeps=4000, n_chains=4, seed=0)
    assert not result.meta["warnings"]


def test_a_string_instead_of_a_model_is_a_clear_type_error():
    for front_door in (sm.thermo, sm.log_z):
        with pytest.raises(TypeError, match="pass a model such as sm.Ising.square"):
            front_door("ising", 0.4)


def test_help_of_the_front_doors_lists_every_registered_method_and_only_real_options():
    import re

    from statmech.studies._study import method_options

    doc = sm.thermo.__doc__
    assert sm.log_z.__doc__.endswith(doc[-500:]), "sm.log_z's help lists the same methods"
    for name in _registry.registered_names():
        assert f'``"{name}"``' in doc, f"help(sm.thermo) does not list method {name!r}"
    # every option the table names for a method with declared options is one it accepts
    for line in doc.splitlines():
        named = re.findall(r'``"([a-z-]+)"``', line)
        if len(named) != 1 or "options:" not in line:
            continue
        listed = [o.strip() for o in line.split("options:")[1].split(",")]
        for method in _registry.all_methods():
            if method.name == named[0]:
                assert set(listed) <= set(method_options(method) or ()), (named[0], listed)
