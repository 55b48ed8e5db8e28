"""The built-in tour: the seed's argument, step by step, computed into a result store.

``statmech tour`` runs every :data:`TOUR_STEPS` entry — what to compute, with
a quick and a full budget — as one task of a store (``DIR/tour.sqlite``), then
draws ``DIR/index.html`` from that store alone with :func:`statmech.report.build_report`,
the same code ``statmech report`` uses. Each task stores its headline numbers
as scalar results (``results`` table: ``statmech results tour.sqlite`` exports
them) and the curves, histograms and snapshots behind the figures as artifacts
(named arrays and JSON documents written in the same transaction as the task).

The store looks like a study store: ``spec`` is ``{"name": "statmech-tour",
"model": {"kind": "tour", "budget": ...}, "method": "tour", "options": {},
"grid": {"step": [...], "seed": [0]}, "tour": {step: parameters}}``; a task's
``config`` is ``{"step": name, "params": {...}, "budget": ...}``.

Steps, in the seed's order (section numbers of the page):

1. ``toy`` — the 8-spin toy E = Σ B xᵢ: p(x), Z, the energy distribution and how it moves with β.
2. ``extensive`` — F and f of chains and square lattices of growing N.
3. ``ising_exact``, ``ising_mc``, ``snapshots``, ``binder`` — 1D vs 2D Ising.
4. ``self_averaging``, ``quenched``, ``rem`` — SK: f_N histograms, Var(f_N) ∝ N^-a, quenched vs
   annealed vs Parisi; the random energy model against Derrida's solution.
5. ``ml_zero_temperature``, ``ml_methods``, ``ml_generalisation`` — the ML bridge (needs ``statmech.ml``).
6. ``vocabulary`` — the seed's vocabulary table, each row computed once with the API it names.
"""
from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import math
import os
import pathlib
import socket
import time
import traceback
from typing import Callable

import numpy as np

from statmech.report import build_report
from statmech.studies._kinds import TOUR_KIND, is_tour_store
from statmech.studies._store import ResultStore, StoreError, StoreLock, _encode_artifact
from statmech.studies._study import study_hash, task_id
from statmech.studies._workers import check_workers, process_pool

TOUR_NAME = "statmech-tour"
BUDGETS = ("quick", "full")


# ------------------------------------------------------------------ the steps
@dataclasses.dataclass
class StepResult:
    """What one step computed: scalar results (value or (value, stderr)), artifacts, method, meta."""

    scalars: dict = dataclasses.field(default_factory=dict)
    artifacts: dict = dataclasses.field(default_factory=dict)
    method: str = ""
    meta: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class TourStep:
    """One step of the tour: ``compute(params, seed) -> StepResult`` with a quick and a full budget."""

    name: str
    section: int
    title: str
    compute: Callable[[dict, int], StepResult]
    quick: dict
    full: dict

    def params(self, budget: str) -> dict:
        return dict(self.quick if budget == "quick" else self.full)


def _array(values, dtype=np.float64) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(values, dtype=dtype))


def _values(estimate) -> np.ndarray:
    return _array(estimate.value)


def _errors(estimate) -> np.ndarray:
    if estimate.stderr is None:
        return np.full(np.shape(estimate.value), np.nan)
    return _array(estimate.stderr)


# 1 ---------------------------------------------------------------------------
def _step_toy(p: dict, seed: int) -> StepResult:
    """The seed's toy: N independent ±1 spins, E(x) = Σ B xᵢ (the Ising chain with J = 0, h = −B)."""
    import statmech as sm

    model = sm.Ising.chain(p["n"], J=0.0, h=-p["B"], periodic=False)
    configurations = _array(p["configurations"], np.int8)
    distribution = sm.boltzmann(model, p["beta"])
    probabilities = distribution.prob(configurations)
    energies = model.energy(configurations.astype(np.float64))
    out = StepResult(method="enumerate")
    out.scalars.update(beta=p["beta"], B=p["B"], n_sites=model.n_sites, n_states=2 ** model.n_sites,
                       log_z=float(distribution.log_z), partition_function=math.exp(float(distribution.log_z)),
                       ground_energy=float(sm.ground_energy(model)))
    for k in range(len(configurations)):
        out.scalars[f"p_config{k}"] = float(probabilities[k])
        out.scalars[f"energy_config{k}"] = float(energies[k])
    out.artifacts["configurations"] = configurations
    out.artifacts["config_probability"] = _array(probabilities)
    out.artifacts["config_energy"] = _array(energies)

    # the whole distribution of energies, at several β; degeneracies from β = 0 (all states equally likely)
    levels, _ = sm.boltzmann(model, 0.0).energy_distribution()
    rows = []
    for beta in p["distribution_betas"]:
        level_energies, level_probabilities = sm.boltzmann(model, beta).energy_distribution()
        if not np.allclose(level_energies, levels):
            raise RuntimeError("the energy levels differ between temperatures")
        rows.append(level_probabilities)
    _, uniform = sm.boltzmann(model, 0.0).energy_distribution()
    out.artifacts["levels"] = _array(levels)
    out.artifacts["degeneracy"] = _array(np.rint(uniform * 2 ** model.n_sites), np.int64)
    out.artifacts["distribution_betas"] = _array(p["distribution_betas"])
    out.artifacts["level_probability"] = _array(rows)

    # how it changes with β: p of the two configurations, Z, U, S on a grid
    betas = np.linspace(*p["beta_range"], p["n_betas"])
    out.artifacts["betas"] = betas
    out.artifacts["config_log_probability"] = _array(
        [sm.boltzmann(model, b).log_prob(configurations) for b in betas]).T.copy()
    curves = sm.thermo(model, betas, method="enumerate")
    out.artifacts["log_z"] = _values(curves.log_z)
    out.artifacts["energy"] = _values(curves.energy)
    out.artifacts["entropy"] = _values(curves.entropy)
    return out


# 2 ---------------------------------------------------------------------------
def _step_extensive(p: dict, seed: int) -> StepResult:
    """F = −log Z/β and f = F/N for chains (transfer matrix) and L × L lattices (Kaufman) of growing N."""
    import statmech as sm

    out = StepResult(method="transfer, kaufman")
    beta = p["beta"]
    out.scalars["beta"] = beta
    for periodic in (True, False):
        label = "periodic" if periodic else "open"
        rows = [sm.thermo(sm.Ising.chain(n, J=1.0, h=0.0, periodic=periodic), beta, method="transfer")
                for n in p["chain_sizes"]]
        out.artifacts[f"chain_{label}_log_z"] = _array([float(r.log_z.value) for r in rows])
        out.artifacts[f"chain_{label}_free_energy"] = _array([float(r.free_energy.value) for r in rows])
        out.artifacts[f"chain_{label}_free_energy_density"] = _array(
            [float(r.free_energy_density.value) for r in rows])
    out.artifacts["chain_sizes"] = _array(p["chain_sizes"], np.int64)
    rows = [sm.thermo(sm.Ising.square(L, J=1.0, h=0.0, periodic=True), p["square_beta"], method="kaufman")
            for L in p["square_sizes"]]
    out.artifacts["square_sizes"] = _array(p["square_sizes"], np.int64)
    out.artifacts["square_n_sites"] = _array([L * L for L in p["square_sizes"]], np.int64)
    out.artifacts["square_log_z"] = _array([float(r.log_z.value) for r in rows])
    out.artifacts["square_free_energy"] = _array([float(r.free_energy.value) for r in rows])
    out.artifacts["square_free_energy_density"] = _array([float(r.free_energy_density.value) for r in rows])
    out.scalars["square_beta"] = p["square_beta"]
    out.scalars["chain_infinite_free_energy_density"] = float(sm.infinite_chain(beta).free_energy_density.value)
    out.scalars["square_infinite_free_energy_density"] = float(
        sm.onsager(p["square_beta"]).free_energy_density.value)
    return out


# 3 ---------------------------------------------------------------------------
def _temperature_grid(p: dict) -> np.ndarray:
    return np.linspace(p["t_min"], p["t_max"], p["n_temperatures"])


def _step_ising_exact(p: dict, seed: int) -> StepResult:
    """Exact curves against T: the infinite chain, the N-spin ring (transfer), Onsager/Yang, Kaufman at L."""
    import statmech as sm

    temperatures = _temperature_grid(p)
    betas = 1.0 / temperatures
    out = StepResult(method="infinite-chain, transfer, onsager, kaufman")
    out.artifacts["temperature"] = temperatures
    chain = sm.infinite_chain(betas)
    out.artifacts["chain_infinite_energy_density"] = _values(chain.energy_density)
    out.artifacts["chain_infinite_specific_heat_density"] = _values(chain.specific_heat_density)
    out.artifacts["chain_infinite_magnetization_density"] = _values(chain.magnetization_density)
    ring = sm.thermo(sm.Ising.chain(p["chain_n"], J=1.0, h=0.0, periodic=True), betas, method="transfer")
    out.artifacts["chain_finite_energy_density"] = _values(ring.energy_density)
    out.artifacts["chain_finite_specific_heat_density"] = _values(ring.specific_heat_density)
    square = sm.onsager(betas)
    out.artifacts["square_infinite_energy_density"] = _values(square.energy_density)
    out.artifacts["square_infinite_specific_heat_density"] = _values(square.specific_heat_density)
    out.artifacts["square_infinite_abs_magnetization_density"] = _values(square.abs_magnetization_density)
    finite = sm.thermo(sm.Ising.square(p["square_L"], J=1.0, h=0.0, periodic=True), betas, method="kaufman")
    out.artifacts["square_finite_energy_density"] = _values(finite.energy_density)
    out.artifacts["square_finite_specific_heat_density"] = _values(finite.specific_heat_density)
    out.scalars.update(chain_n=p["chain_n"], square_L=p["square_L"],
                       critical_temperature=float(sm.CRITICAL_TEMPERATURE),
                       critical_beta=float(sm.CRITICAL_BETA))
    return out


def _step_ising_mc(p: dict, seed: int) -> StepResult:
    """Monte Carlo points with error bars for the N-spin ring and the L × L lattice.

    The ring uses Swendsen–Wang cluster updates (single-spin Metropolis from a
    random start needs ~N² sweeps to remove the domain walls of a cold chain);
    the lattice uses the textbook Metropolis algorithm.
    """
    import statmech as sm

    out = StepResult(method=f"{p['chain_method']}, {p['square_method']}")
    warnings = 0
    for label, model in (("chain", sm.Ising.chain(p["chain_n"], J=1.0, h=0.0, periodic=True)),
                         ("square", sm.Ising.square(p["square_L"], J=1.0, h=0.0, periodic=True))):
        temperatures = np.linspace(*p[f"{label}_t_range"], p[f"{label}_n_temperatures"])
        result = sm.thermo(model, 1.0 / temperatures, method=p[f"{label}_method"], n_sweeps=p["n_sweeps"],
                           n_chains=p["n_chains"], seed=seed)
        out.artifacts[f"{label}_temperature"] = temperatures
        for name in ("energy_density", "specific_heat_density", "abs_magnetization_density"):
            estimate = getattr(result, name)
            out.artifacts[f"{label}_{name}"] = _values(estimate)
            out.artifacts[f"{label}_{name}_stderr"] = _errors(estimate)
        warnings += len(result.meta.get("warnings", ()))
        out.meta[f"{label}_kernel"] = result.meta.get("kernel")
        out.meta[f"{label}_warnings"] = list(result.meta.get("warnings", ()))
    out.scalars.update(chain_n=p["chain_n"], square_L=p["square_L"], n_sweeps=p["n_sweeps"],
                       n_chains=p["n_chains"], n_warnings=warnings)
    return out


def _step_snapshots(p: dict, seed: int) -> StepResult:
    """One equilibrium configuration of the L × L lattice below, at and above T_c (``sm.sample``)."""
    import statmech as sm

    model = sm.Ising.square(p["L"], J=1.0, h=0.0, periodic=True)
    out = StepResult(method=p["method"])
    temperatures = [float(t) for t in p["temperatures"]]
    snapshots = []
    for k, temperature in enumerate(temperatures):
        draws = sm.sample(model, 1.0 / temperature, method=p["method"], n_samples=1, n_chains=1,
                          burn_in=p["burn_in"], seed=seed + k)
        snapshots.append(np.asarray(draws.spins.values[0, 0], dtype=np.int8).reshape(p["L"], p["L"]))
    out.artifacts["temperature"] = _array(temperatures)
    out.artifacts["spins"] = _array(snapshots, np.int8)
    out.artifacts["magnetization_density"] = _array([s.mean() for s in snapshots])
    out.scalars.update(L=p["L"], burn_in=p["burn_in"],
                       critical_temperature=float(sm.CRITICAL_TEMPERATURE))
    return out


def _step_binder(p: dict, seed: int) -> StepResult:
    """Binder cumulants U₄(T; L) and their crossings (``sm.studies.binder_crossings``)."""
    import statmech as sm

    temperatures = np.linspace(*p["t_range"], p["n_temperatures"])
    study = sm.studies.binder_crossings(tuple(p["sizes"]), temperatures, lambda L: sm.Ising.square(L),
                                        method=p["method"], n_sweeps=p["n_sweeps"], n_chains=p["n_chains"],
                                        seed=seed)
    out = StepResult(method=p["method"])
    out.artifacts["sizes"] = _array(study.sizes, np.int64)
    out.artifacts["temperature"] = _array(study.temperatures)
    out.artifacts["binder"] = _array(study.binder)
    out.artifacts["binder_stderr"] = _array(study.binder_stderr)
    pairs = sorted(study.crossings)
    out.artifacts["crossing_pairs"] = _array(pairs, np.int64).reshape(len(pairs), 2)
    out.artifacts["crossing_temperature"] = _array([study.crossings[pair] for pair in pairs])
    exact = float(sm.CRITICAL_TEMPERATURE)
    crossings = np.array([study.crossings[pair] for pair in pairs])
    last = crossings[-1]
    out.scalars.update(critical_temperature=exact, crossing_temperature=float(last),
                       crossing_relative_error=float(abs(last - exact) / exact),
                       n_sweeps=p["n_sweeps"], n_chains=p["n_chains"])
    return out


# 4 ---------------------------------------------------------------------------
def _sk(n: int):
    import statmech as sm

    return sm.SK(n)


def _step_self_averaging(p: dict, seed: int) -> StepResult:
    """Var(f_N) over SK instances for growing N and the fit Var ∝ N^-a (``sm.self_averaging``)."""
    import statmech as sm

    result = sm.self_averaging(_sk, tuple(p["sizes"]), p["beta"], n_instances=p["n_instances"],
                               method=p["method"], seed=seed, progress=False)
    out = StepResult(method=result.method)
    out.artifacts["n_sites"] = _array(result.n_sites, np.int64)
    out.artifacts["free_energy_density"] = _array([r.values for r in result.results])
    out.artifacts["variance"] = _array(result.variances)
    out.artifacts["log_variance_stderr"] = _array(result.log_variance_stderr)
    out.artifacts["mean"] = _array([r.mean for r in result.results])
    out.artifacts["mean_stderr"] = _array([r.stderr for r in result.results])
    out.scalars.update(beta=result.beta, n_instances=p["n_instances"],
                       exponent=(result.exponent, result.exponent_stderr), amplitude=result.amplitude,
                       chi2=result.chi2, dof=result.dof)
    return out


def _theory_function(name: str):
    """``statmech.theory.<name>`` when that module and function exist, else None."""
    try:
        theory = importlib.import_module("statmech.theory")
    except ImportError:
        return None
    return getattr(theory, name, None)


def _density(result, name: str = "free_energy_density") -> float:
    """A float density from a theory result: a Thermo (Estimate), a result object, or a number."""
    value = getattr(result, name, result)
    value = getattr(value, "value", value)
    return float(np.asarray(value, dtype=np.float64).reshape(-1)[0])


def _step_quenched(p: dict, seed: int) -> StepResult:
    """Quenched vs annealed f of SK instances over β (``sm.quenched``), with the replica theory."""
    import statmech as sm

    betas = _array(p["betas"])
    out = StepResult(method=p["method"])
    # the same instances at every β, each computed once for the grid: one curve per instance, averaged
    result = sm.quenched(sm.SK(p["n"]), betas, p["n_instances"], method=p["method"], seed=seed,
                         progress=False)
    rows = {"quenched": result.mean, "quenched_stderr": result.stderr, "annealed_sample": result.annealed,
            "annealed": np.full(len(betas), np.nan) if result.annealed_exact is None else result.annealed_exact}
    out.artifacts["beta"] = betas
    for name, values in rows.items():
        out.artifacts[name] = _array(values)
    dense = np.linspace(float(min(betas.min(), min(p["theory_betas"]))),
                        float(max(betas.max(), max(p["theory_betas"]))), 200)
    out.artifacts["annealed_beta"] = dense
    out.artifacts["annealed_curve"] = _array(-np.asarray(sm.SK(p["n"]).annealed_free_entropy_density(dense)) / dense)
    out.scalars.update(n=p["n"], n_instances=p["n_instances"])

    theory_betas = _array(p["theory_betas"])
    notes = {}
    for label, name, options in (("parisi", "parisi", p["parisi_options"]),
                                 ("replica_symmetric", "sk_replica_symmetric", {})):
        function = _theory_function(name)
        if function is None:
            notes[label] = f"statmech.theory.{name} is not available in this installation"
            continue
        out.artifacts[f"{label}_beta"] = theory_betas
        out.artifacts[label] = _array([_density(function(float(b), **options)) for b in theory_betas])
    parisi = _theory_function("parisi")
    if parisi is not None:
        reference = parisi(float(p["parisi_reference_beta"]), **p["parisi_options"])
        out.scalars["parisi_reference_beta"] = float(p["parisi_reference_beta"])
        out.scalars["parisi_reference"] = _density(reference)
    replica_symmetric = _theory_function("sk_replica_symmetric")
    if replica_symmetric is not None:
        out.scalars["replica_symmetric_reference"] = _density(replica_symmetric(float(p["parisi_reference_beta"])))
    out.artifacts["theory_notes"] = notes
    return out


def _step_rem(p: dict, seed: int) -> StepResult:
    """The random energy model: quenched f for growing n against Derrida's solution (``sm.theory.rem``)."""
    import statmech as sm

    betas = _array(p["betas"])
    out = StepResult(method=p["method"])
    values, errors = [], []
    annealed = []
    for n in p["sizes"]:
        row, row_errors = [], []
        for beta in betas:
            result = sm.quenched(sm.REM(n), float(beta), p["n_instances"], method=p["method"], seed=seed,
                                 progress=False)
            row.append(result.mean)
            row_errors.append(result.stderr)
            if n == p["sizes"][0]:
                annealed.append(np.nan if result.annealed_exact is None else result.annealed_exact)
        values.append(row)
        errors.append(row_errors)
    out.artifacts.update(beta=betas, sizes=_array(p["sizes"], np.int64), quenched=_array(values),
                         quenched_stderr=_array(errors), annealed=_array(annealed))
    out.scalars.update(n_instances=p["n_instances"])
    rem = _theory_function("rem")
    if rem is None:
        out.artifacts["theory_notes"] = {"rem": "statmech.theory.rem is not available in this installation"}
    else:
        theory_betas = np.linspace(float(betas.min()), float(betas.max()), 200)
        out.artifacts["theory_beta"] = theory_betas
        out.artifacts["theory"] = _values(rem(theory_betas).free_energy_density)
        critical = getattr(importlib.import_module("statmech.theory"), "REM_CRITICAL_BETA", None)
        if critical is not None:
            out.scalars["critical_beta"] = float(critical)
    dense = np.linspace(float(betas.min()), float(betas.max()), 200)
    out.artifacts["annealed_beta"] = dense
    out.artifacts["annealed_curve"] = _array(
        -np.asarray(sm.REM(p["sizes"][0]).annealed_free_entropy_density(dense)) / dense)
    return out


# 5 ---------------------------------------------------------------------------
ML_NAMES = ("LinearRegression", "LogisticRegression", "minimize", "zero_temperature_limit")


def _ml_module():
    """``statmech.ml`` with the names the tour uses, or the reason it cannot be used."""
    try:
        ml = importlib.import_module("statmech.ml")
    except Exception as error:  # noqa: BLE001 - any import failure means: not available
        return None, f"statmech.ml cannot be imported ({type(error).__name__}: {error})"
    missing = [name for name in ML_NAMES if not hasattr(ml, name)]
    if missing:
        return None, f"statmech.ml lacks {', '.join(missing)}"
    return ml, None


def _unavailable(reason: str) -> StepResult:
    return StepResult(method="unavailable", artifacts={"unavailable": {"reason": reason}})


def _standardised_breast_cancer(n_features: int | None = None):
    """scikit-learn's bundled breast-cancer data (no download), features standardised, y ∈ {0, 1}."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    X = np.asarray(data.data, dtype=np.float64)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    if n_features is not None:
        X = X[:, :n_features]
    return X, np.asarray(data.target, dtype=np.float64), list(data.feature_names)


def _step_ml_zero_temperature(p: dict, seed: int) -> StepResult:
    """F(β), U(β), S(β) of a least-squares loss approach min L as β → ∞ (exact Gaussian integral)."""
    ml, reason = _ml_module()
    if ml is None:
        return _unavailable(reason)
    X, y, names = _standardised_breast_cancer(p["n_features"])
    model = ml.LinearRegression(X, 2.0 * y - 1.0, prior_precision=p["prior_precision"], fit_intercept=True)
    betas = np.geomspace(*p["beta_range"], p["n_betas"])
    limit = ml.zero_temperature_limit(model, betas, method="exact")
    out = StepResult(method=limit.method)
    out.artifacts.update(beta=_array(limit.beta), free_energy=_array(limit.free_energy),
                         energy=_array(limit.energy), entropy=_array(limit.entropy),
                         laplace_gap=_array(limit.laplace_gap), features=[str(n) for n in names[: p["n_features"]]])
    out.scalars.update(min_loss=float(limit.min_loss), n_samples=int(X.shape[0]), dim=int(model.dim),
                       prior_precision=p["prior_precision"],
                       largest_beta_gap=float(limit.free_energy[-1] - limit.min_loss))
    return out


def _step_ml_methods(p: dict, seed: int) -> StepResult:
    """log Z of a logistic loss (one feature and an intercept, d = 2).

    Quadrature (exact to ~1e-12) against Laplace (saddle point) and SMC sampling (with error bars).
    """
    import statmech as sm

    ml, reason = _ml_module()
    if ml is None:
        return _unavailable(reason)
    X, y, names = _standardised_breast_cancer()
    X = X[:, p["features"]]
    model = ml.LogisticRegression(X, y, prior_precision=p["prior_precision"], fit_intercept=True)
    betas = _array(p["betas"])
    out = StepResult(method="quadrature, laplace, smc")
    exact = sm.thermo(model, betas, method="quadrature")
    laplace = sm.thermo(model, betas, method="laplace")
    out.artifacts.update(beta=betas, features=[str(names[k]) for k in p["features"]],
                         exact_free_energy=_values(exact.free_energy), exact_energy=_values(exact.energy),
                         laplace_free_energy=_values(laplace.free_energy), laplace_energy=_values(laplace.energy))
    sampled_betas = _array(p["sampled_betas"])
    values, errors = [], []
    for k, beta in enumerate(sampled_betas):
        estimate = sm.log_z(model, float(beta), method="smc", seed=seed + k, **p["smc_options"])
        values.append(-float(estimate.value) / beta)
        errors.append(float(estimate.stderr) / beta)
    exact_at_sampled = sm.thermo(model, sampled_betas, method="quadrature")
    out.artifacts.update(sampled_beta=sampled_betas, sampled_free_energy=_array(values),
                         sampled_free_energy_stderr=_array(errors),
                         sampled_exact_free_energy=_values(exact_at_sampled.free_energy))
    out.scalars.update(min_loss=float(ml.minimize(model).loss), dim=int(model.dim),
                       n_samples=int(X.shape[0]), prior_precision=p["prior_precision"])
    return out


def _step_ml_generalisation(p: dict, seed: int) -> StepResult:
    """Train and test errors of Gibbs posterior draws p_β(θ) of a logistic regression, against β.

    ``sm.ml.generalization_vs_beta`` on scikit-learn's bundled breast-cancer
    data (``sm.ml.classification_split``): the 0/1 error of single draws
    (Gibbs classifier) and of the posterior-mean predictor, and the minimiser
    of the training loss (β → ∞).
    """
    ml, reason = _ml_module()
    if ml is not None and not all(hasattr(ml, name) for name in ("generalization_vs_beta", "classification_split")):
        ml, reason = None, "statmech.ml lacks generalization_vs_beta"
    if ml is None:
        return _unavailable(reason)
    data = ml.classification_split(p["dataset"], n_components=p["n_components"], test_fraction=p["test_fraction"],
                                   seed=seed)
    result = ml.generalization_vs_beta(data, betas=p["betas"], prior_precision=p["prior_precision"],
                                       n_sweeps=p["n_sweeps"], burn_in=p["burn_in"], n_chains=p["n_chains"],
                                       kernel=p["kernel"], seed=seed)
    out = StepResult(method=f"generalization_vs_beta ({result.kernel})")
    for name in ("beta", "train_error", "train_error_stderr", "test_error", "test_error_stderr",
                 "mean_train_error", "mean_test_error", "mean_loss", "acceptance"):
        out.artifacts[name] = _array(getattr(result, name))
    best = int(np.argmin(result.mean_test_error))
    out.scalars.update(n_train=result.n_train, n_test=result.n_test, dim=result.dim,
                       prior_precision=p["prior_precision"], minimizer_train_error=result.minimizer_train_error,
                       minimizer_test_error=result.minimizer_test_error, minimizer_loss=result.minimizer_loss,
                       minimizer_converged=float(result.minimizer_converged), best_beta=float(result.beta[best]),
                       best_mean_test_error=float(result.mean_test_error[best]),
                       n_warnings=len(result.warnings))
    out.meta["warnings"] = list(result.warnings)
    return out


# 6 ---------------------------------------------------------------------------
_API = ("statmech.Ising.energy", "statmech.thermo", "statmech.log_z", "statmech.boltzmann", "statmech.onsager",
        "statmech.infinite_chain", "statmech.sample", "statmech.studies.binder_crossings",
        "statmech.self_averaging", "statmech.quenched", "statmech.ground_energy",
        "statmech.ml.LinearRegression", "statmech.ml.LogisticRegression", "statmech.ml.minimize",
        "statmech.ml.zero_temperature_limit", "statmech.theory.parisi")


def _resolve(dotted: str):
    """The object named ``dotted``: attributes first (``statmech.thermo`` is the function), then submodules."""
    parts = dotted.split(".")
    try:
        obj = importlib.import_module(parts[0])
    except ImportError:
        return None
    for k, part in enumerate(parts[1:], start=1):
        if hasattr(obj, part):
            obj = getattr(obj, part)
            continue
        try:
            obj = importlib.import_module(".".join(parts[: k + 1]))
        except ImportError:
            return None
    return obj


def _api_entry(dotted: str) -> dict:
    obj = _resolve(dotted)
    if obj is None:
        return {"name": dotted, "available": False, "signature": "", "summary": "not available in this installation"}
    try:
        signature = inspect.signature(obj)
        signature = str(signature.replace(
            parameters=[q.replace(annotation=inspect.Parameter.empty) for q in signature.parameters.values()
                        if q.name != "self"],
            return_annotation=inspect.Signature.empty))
    except (TypeError, ValueError):
        signature = "(...)"
    doc = inspect.getdoc(obj) or ""
    return {"name": dotted, "available": True, "signature": signature,
            "summary": doc.strip().split("\n\n")[0].replace("\n", " ")}


def _step_vocabulary(p: dict, seed: int) -> StepResult:
    """Each row of the seed's vocabulary table, computed once with the API it names."""
    import statmech as sm

    toy = sm.Ising.chain(8, J=0.0, h=-1.0, periodic=False)
    x = _array(p["configuration"], np.int8)
    cold = sm.thermo(toy, p["cold_beta"], method="enumerate")
    large = sm.thermo(sm.Ising.square(p["square_L"]), sm.CRITICAL_BETA, method="kaufman")
    out = StepResult(method="enumerate, kaufman, onsager")
    out.scalars.update(
        energy_of_configuration=float(toy.energy(x.astype(np.float64))),
        cold_beta=p["cold_beta"], cold_energy=float(cold.energy.value),
        cold_free_energy=float(cold.free_energy.value), n_sites=toy.n_sites,
        probability_of_configuration=float(sm.boltzmann(toy, 1.0).prob(x)),
        square_L=p["square_L"], critical_beta=float(sm.CRITICAL_BETA),
        finite_free_energy_density=float(large.free_energy_density.value),
        infinite_free_energy_density=float(sm.onsager(sm.CRITICAL_BETA).free_energy_density.value))
    ml, reason = _ml_module()
    if ml is not None:
        X, y, _ = _standardised_breast_cancer(p["ml_features"])
        model = ml.LinearRegression(X, 2.0 * y - 1.0, prior_precision=1.0, fit_intercept=True)
        ground = ml.minimize(model)
        cold_ml = sm.thermo(model, p["cold_beta"], method="exact")
        out.scalars.update(ml_dim=int(model.dim), ml_min_loss=float(ground.loss),
                           ml_cold_free_energy=float(cold_ml.free_energy.value))
    else:
        out.artifacts["ml_unavailable"] = {"reason": reason}
    out.artifacts["api"] = [_api_entry(name) for name in _API]
    out.artifacts["configuration"] = x
    return out


_SEED_CONFIGURATIONS = [[-1, -1, -1, -1, +1, -1, -1, -1], [+1, +1, +1, -1, +1, -1, -1, -1]]

TOUR_STEPS: tuple[TourStep, ...] = (
    TourStep("toy", 1, "The Boltzmann distribution of the 8-spin toy", _step_toy,
             quick=dict(n=8, B=1.0, beta=1.0, configurations=_SEED_CONFIGURATIONS,
                        distribution_betas=[0.0, 0.25, 0.5, 1.0, 2.0], beta_range=[0.0, 3.0], n_betas=61),
             full=dict(n=8, B=1.0, beta=1.0, configurations=_SEED_CONFIGURATIONS,
                       distribution_betas=[0.0, 0.25, 0.5, 1.0, 2.0], beta_range=[0.0, 3.0], n_betas=121)),
    TourStep("extensive", 2, "Free energy: extensive F, intensive f", _step_extensive,
             quick=dict(beta=0.5, chain_sizes=[4, 8, 16, 32, 64, 128, 256, 512, 1024],
                        square_beta=0.3, square_sizes=[2, 4, 8, 16, 32]),
             full=dict(beta=0.5, chain_sizes=[4, 8, 16, 32, 64, 128, 256, 512, 1024],
                       square_beta=0.3, square_sizes=[2, 4, 8, 16, 32, 64])),
    TourStep("ising_exact", 3, "1D and 2D Ising: exact curves", _step_ising_exact,
             quick=dict(t_min=0.2, t_max=4.0, n_temperatures=191, chain_n=64, square_L=16),
             full=dict(t_min=0.2, t_max=4.0, n_temperatures=381, chain_n=64, square_L=32)),
    TourStep("ising_mc", 3, "1D and 2D Ising: Monte Carlo", _step_ising_mc,
             quick=dict(chain_method="swendsen-wang", square_method="metropolis", chain_n=64, square_L=16,
                        chain_t_range=[0.5, 3.5],
                        chain_n_temperatures=7, square_t_range=[1.5, 3.5], square_n_temperatures=9,
                        n_sweeps=1000, n_chains=4),
             full=dict(chain_method="swendsen-wang", square_method="metropolis", chain_n=64, square_L=32,
                       chain_t_range=[0.5, 3.5],
                       chain_n_temperatures=11, square_t_range=[1.5, 3.5], square_n_temperatures=17,
                       n_sweeps=4000, n_chains=4)),
    TourStep("snapshots", 3, "Lattice snapshots", _step_snapshots,
             quick=dict(method="swendsen-wang", L=48, temperatures=[1.8, 2.269, 3.2], burn_in=100),
             full=dict(method="swendsen-wang", L=96, temperatures=[1.8, 2.269, 3.2], burn_in=400)),
    TourStep("binder", 3, "T_c from the Binder crossing", _step_binder,
             quick=dict(method="wolff", sizes=[8, 16], t_range=[2.1, 2.45], n_temperatures=8, n_sweeps=1000,
                        n_chains=4),
             full=dict(method="wolff", sizes=[8, 16, 32], t_range=[2.15, 2.4], n_temperatures=11,
                       n_sweeps=4000, n_chains=4)),
    TourStep("self_averaging", 4, "Self-averaging of f_N", _step_self_averaging,
             quick=dict(sizes=[6, 8, 10, 12], beta=0.5, n_instances=200, method="enumerate"),
             full=dict(sizes=[6, 8, 10, 12, 14, 16], beta=0.5, n_instances=800, method="enumerate")),
    TourStep("quenched", 4, "Quenched vs annealed, and Parisi", _step_quenched,
             quick=dict(n=12, betas=[0.25, 0.5, 0.75, 1.0, 1.5, 2.0], n_instances=40, method="enumerate",
                        theory_betas=[0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0], parisi_options={"tol": 1e-4},
                        parisi_reference_beta=2.0),
             full=dict(n=14, betas=[0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0], n_instances=200,
                       method="enumerate",
                       theory_betas=[0.2, 0.4, 0.6, 0.8, 1.0, 1.1, 1.25, 1.4, 1.6, 1.8, 2.0],
                       parisi_options={"tol": 1e-5}, parisi_reference_beta=2.0)),
    TourStep("rem", 4, "The random energy model", _step_rem,
             quick=dict(sizes=[8, 12], betas=[0.5, 1.0, 1.5, 2.0, 2.5, 3.0], n_instances=40, method="rem-sum"),
             full=dict(sizes=[10, 13, 16], betas=[0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0],
                       n_instances=100, method="rem-sum")),
    TourStep("ml_zero_temperature", 5, "A training loss as a Hamiltonian", _step_ml_zero_temperature,
             quick=dict(n_features=10, prior_precision=1.0, beta_range=[1e-3, 1e4], n_betas=29),
             full=dict(n_features=10, prior_precision=1.0, beta_range=[1e-3, 1e4], n_betas=57)),
    TourStep("ml_methods", 5, "Laplace vs exact vs sampling", _step_ml_methods,
             quick=dict(features=[0], prior_precision=1.0, betas=[0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0],
                        sampled_betas=[0.1, 1.0, 10.0],
                        smc_options={"n_particles": 128, "n_runs": 6, "kernel": "mala"}),
             full=dict(features=[0], prior_precision=1.0,
                       betas=[0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0],
                       sampled_betas=[0.03, 0.1, 0.3, 1.0, 3.0, 10.0],
                       smc_options={"n_particles": 256, "n_runs": 8, "kernel": "mala"})),
    TourStep("ml_generalisation", 5, "Generalisation vs β", _step_ml_generalisation,
             quick=dict(dataset="breast_cancer", n_components=10, test_fraction=0.8, prior_precision=1.0,
                        betas=[0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0, 1000.0], n_sweeps=300, burn_in=200,
                        n_chains=2, kernel="nuts"),
             full=dict(dataset="breast_cancer", n_components=10, test_fraction=0.8, prior_precision=1.0,
                       betas=[0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0],
                       n_sweeps=500, burn_in=500, n_chains=4, kernel="nuts")),
    TourStep("vocabulary", 6, "The vocabulary, computed", _step_vocabulary,
             quick=dict(configuration=_SEED_CONFIGURATIONS[0], cold_beta=1e6, square_L=64, ml_features=10),
             full=dict(configuration=_SEED_CONFIGURATIONS[0], cold_beta=1e6, square_L=128, ml_features=10)),
)
STEPS_BY_NAME = {step.name: step for step in TOUR_STEPS}


# ------------------------------------------------------------------ the tour as a study
@dataclasses.dataclass(frozen=True)
class TourTask:
    task_id: str
    position: int
    config: dict
    seed: int
    coords: dict


@dataclasses.dataclass(frozen=True)
class TourStudy:
    """The tour as a store's study: one task per step, in the seed's order."""

    budget: str
    seed: int = 0

    @property
    def name(self) -> str:
        return TOUR_NAME

    @property
    def description(self) -> str:
        return (f"The seed's argument, computed by statmech ({self.budget} budget): Boltzmann distribution, "
                "free energy, 1D vs 2D Ising, disorder and self-averaging, the ML bridge, the vocabulary")

    def step_params(self) -> dict:
        return {step.name: step.params(self.budget) for step in TOUR_STEPS}

    def spec(self) -> dict:
        return {"name": self.name, "description": self.description,
                "model": {"kind": TOUR_KIND, "budget": self.budget}, "method": "tour", "options": {},
                "grid": {"step": [step.name for step in TOUR_STEPS], "seed": [self.seed]},
                "tour": self.step_params()}

    @property
    def study_hash(self) -> str:
        return study_hash(self.spec())

    @property
    def text(self) -> str:
        """The tour's parameters as a TOML document (kept verbatim in the store)."""
        lines = ["[study]", f'name = "{self.name}"', f"description = {json.dumps(self.description)}",
                 f'budget = "{self.budget}"', f"seed = {self.seed}"]
        for step in TOUR_STEPS:
            lines += ["", f"[steps.{step.name}]", f"section = {step.section}", f"title = {json.dumps(step.title)}"]
            for key, value in step.params(self.budget).items():
                lines.append(f"{key} = {_toml_value(value)}")
        return "\n".join(lines) + "\n"

    def tasks(self) -> list[TourTask]:
        tasks = []
        for position, step in enumerate(TOUR_STEPS):
            config = {"step": step.name, "section": step.section, "title": step.title,
                      "budget": self.budget, "params": step.params(self.budget)}
            tasks.append(TourTask(task_id(config, self.seed), position, config, self.seed,
                                  {"step": step.name, "seed": self.seed}))
        return tasks


def _toml_value(value) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


# ------------------------------------------------------------------ running it
def compute_step(task: dict) -> dict:
    """Compute one tour task (task_id, config, seed) into an outcome for :meth:`ResultStore.record`.

    Never raises for a failure of the computation: the task is stored as
    failed with its message, and the page shows it.
    """
    start = time.perf_counter()
    outcome = {"task_id": task["task_id"], "host": socket.gethostname()}
    config = task["config"]
    try:
        result = STEPS_BY_NAME[config["step"]].compute(config["params"], int(task["seed"]))
        for name, value in result.artifacts.items():
            _encode_artifact(name, value)  # storable? (else this step fails here, not the store write)
        rows = []
        for quantity, value in result.scalars.items():
            if isinstance(value, tuple):
                value, stderr = value
            else:
                stderr = None
            rows.append({"quantity": quantity, "value": float(value),
                         "stderr": None if stderr is None else float(stderr), "meta": None})
        outcome.update(status="done", results=rows, artifacts=result.artifacts, method=result.method,
                       error=None, meta=result.meta or None)
    except Exception as error:  # noqa: BLE001 - a failed step is shown on the page with its message
        outcome.update(status="failed", results=[], artifacts={}, method=None,
                       error=" ".join(f"{type(error).__name__}: {error}".split()),
                       meta={"traceback": traceback.format_exc()})
    outcome["seconds"] = time.perf_counter() - start
    return outcome


def _remove_previous_tour(store_path: pathlib.Path) -> None:
    """Delete a previous tour's store at ``store_path``; refuse anything that is not one."""
    with ResultStore.open(store_path, writable=False) as previous:
        info = previous.study_info()
    if not is_tour_store(info):
        raise StoreError(f"{store_path}: a result store of study {info['name']!r}, not a tour; "
                         "choose another --out folder")
    lock = StoreLock.acquire(store_path)  # another tour still writing it: refused, nothing deleted
    try:
        for path in (store_path, *(store_path.with_name(store_path.name + s) for s in ("-wal", "-shm"))):
            path.unlink(missing_ok=True)
    finally:
        lock.release()


def run_tour(out_dir="tour-output", quick: bool = False, progress: bool = True,
             workers: int | None = None) -> pathlib.Path:
    """Run the tour into ``out_dir/tour.sqlite`` and draw ``out_dir/index.html`` from it; return that path.

    ``quick=True`` uses the small budget (under a minute on two cores);
    otherwise the full one (a few minutes). A previous tour's store in
    ``out_dir`` is replaced; any other file there named ``tour.sqlite`` is
    refused (:class:`StoreError`). ``progress`` shows Rich progress bars on
    stderr. ``workers``: processes computing steps side by side (default:
    two, or one on a single-CPU machine; 1 computes in this process). A step
    that fails is stored as failed and shown on the page; the others still
    run. The page and the data files come from the store alone
    (:func:`statmech.report.build_report`).
    """
    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    workers = check_workers(workers)
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    store_path = out_dir / "tour.sqlite"
    if store_path.exists():
        _remove_previous_tour(store_path)
    study = TourStudy("quick" if quick else "full")
    tasks = study.tasks()
    started = time.perf_counter()
    with ResultStore.create(store_path, study, tasks) as store, _TourProgress(progress, len(tasks)) as bar:
        def on_outcome(task, outcome):
            store.record(outcome)
            bar.finish(task.config["title"], outcome)

        if workers == 1:
            for task in tasks:
                bar.start(task.config["title"])
                on_outcome(task, compute_step(_payload(task)))
        else:
            bar.start(f"computing in {workers} processes")
            _run_parallel(tasks, workers, on_outcome)
        bar.start("drawing the report")
        page = build_report(store_path, out_dir)
        bar.done(time.perf_counter() - started, page)
    return page


_HEAVY_FIRST = ("binder", "ml_methods", "ising_mc", "ml_generalisation", "snapshots", "rem", "quenched",
                "self_averaging")
"""Steps that take longest, submitted first so that the processes finish together."""


def _payload(task: TourTask) -> dict:
    return {"task_id": task.task_id, "config": task.config, "seed": task.seed}


def _run_parallel(tasks, workers: int, on_outcome) -> None:
    """Compute the steps in a pool of spawned processes; store each outcome as it arrives."""
    import concurrent.futures

    rank = {name: k for k, name in enumerate(_HEAVY_FIRST)}
    ordered = sorted(tasks, key=lambda t: (rank.get(t.config["step"], len(rank)), t.position))
    with process_pool(workers) as pool:
        futures = {pool.submit(compute_step, _payload(task)): task for task in ordered}
        try:
            for future in concurrent.futures.as_completed(futures):
                task = futures[future]
                try:
                    outcome = future.result()
                except Exception as error:  # noqa: BLE001 - e.g. a worker killed: the step is failed, not lost
                    outcome = {"task_id": task.task_id, "status": "failed", "results": [], "artifacts": {},
                               "method": None, "error": " ".join(f"{type(error).__name__}: {error}".split()),
                               "meta": None, "seconds": None, "host": socket.gethostname()}
                on_outcome(task, outcome)
        except BaseException:  # Ctrl-C: do not wait for the steps still running
            pool.shutdown(wait=False, cancel_futures=True)
            raise


class _TourProgress:
    """Rich progress on stderr: one bar over the steps, the current step, elapsed time; failures printed."""

    def __init__(self, enabled: bool, total: int):
        self.enabled, self.total = enabled, total
        self._progress = None

    def __enter__(self):
        if self.enabled:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                                       TimeElapsedColumn)

            self._console = Console(stderr=True)
            self._progress = Progress(SpinnerColumn(), TextColumn("[bold]statmech tour[/]"), BarColumn(),
                                      MofNCompleteColumn(), TimeElapsedColumn(),
                                      TextColumn("{task.description}"), console=self._console)
            self._progress.start()
            self._bar = self._progress.add_task("", total=self.total)
        return self

    def start(self, title: str) -> None:
        if self._progress is not None:
            self._progress.update(self._bar, description=title)

    def finish(self, title: str, outcome: dict) -> None:
        if self._progress is None:
            return
        if outcome["status"] == "failed":
            self._progress.console.print(f"[red]failed[/] {title}: {outcome['error']}")
        else:
            self._progress.console.print(f"[green]done[/]   {title} [dim]({outcome['seconds']:.1f} s)[/]")
        self._progress.advance(self._bar)

    def done(self, seconds: float, page: pathlib.Path) -> None:
        if self._progress is not None:
            self._progress.update(self._bar, description=f"report written in {seconds:.0f} s")
            self._progress.console.print(f"tour: {page}")

    def __exit__(self, *exc):
        if self._progress is not None:
            self._progress.stop()
