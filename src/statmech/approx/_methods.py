"""Registry entries of the approximations: ``"mean-field"``, ``"bp"``, ``"tap"``, ``"trw"``.

``sm.log_z(model, beta, method=...)`` gives an :class:`Estimate` and
``sm.thermo`` a :class:`Thermo`, both with ``meta["approximation"] = True``
and the converged marginals in ``meta``: ``"magnetizations"`` (N,) and
``"correlations"`` (one per bond of ``model.edges``), shape (B, ·) on a grid
of B values of β, plus ``"iterations"``, ``"residual"`` and ``"converged"``.

U is the stationary-point formula U = −∂ log Z_approx/∂β = the average energy
under the approximating marginals. The specific heat is C = −β² ∂U/∂β by a
central difference with step δ = ``HEAT_STEP`` · max(β, 1), each side
restarted from the fixed point at β (it follows that branch; across a jump
between branches it is meaningless). The magnetisation is Σ_i m_i;
susceptibility and ⟨|M|⟩ are not given. The stderr of every value is None:
the error is systematic (the approximation), not statistical.
"""
from __future__ import annotations

import numpy as np

from statmech._types import Estimate, Method, Moments, Thermo
from statmech._validation import as_beta_array
from statmech.approx._bp import BP_OPTIONS, bp_runner
from statmech.approx._common import Graph, check_model, why_not_factory
from statmech.approx._mean_field import MF_OPTIONS, mean_field_runner
from statmech.approx._tap import TAP_OPTIONS, tap_runner
from statmech.approx._trw import TRW_OPTIONS, TRWRunner
from statmech.models import Ising

#: Relative step of the central difference C = −β² ∂U/∂β (δ = HEAT_STEP · max(β, 1)).
HEAT_STEP = 1e-4


def _bp_factory(graph, options):
    def run(beta, warm=None, warn=True):
        return bp_runner(graph, beta, options, warm=warm, warn=warn)

    return run


_FACTORIES = {
    "mean-field": (mean_field_runner, MF_OPTIONS),
    "bp": (_bp_factory, BP_OPTIONS),
    "tap": (tap_runner, TAP_OPTIONS),
    "trw": (TRWRunner, TRW_OPTIONS),
}


def _solve(name, model, beta, options, with_heat):
    check_model(model, name)
    betas, scalar = as_beta_array(beta)
    factory, _ = _FACTORIES[name]
    graph = Graph.of(model)
    run = factory(graph, dict(options))
    results, variances = [], []
    for b in betas:
        result, state = run(float(b))
        results.append(result)
        if with_heat:
            delta = HEAT_STEP * max(float(b), 1.0)
            up = run(float(b) + delta, warm=state, warn=False)[0]
            down = run(float(b) - delta, warm=state, warn=False)[0]
            variances.append(-(up.energy - down.energy) / (2.0 * delta))

    def stack(values):
        array = np.array(values)
        array = array[0] if scalar else array
        if isinstance(array, np.ndarray):
            array.setflags(write=False)
        return array

    meta = {
        "approximation": True,
        "magnetizations": stack([r.magnetizations for r in results]),
        "correlations": stack([r.correlations for r in results]),
        "iterations": stack([r.iterations for r in results]),
        "residual": stack([r.residual for r in results]),
        "converged": stack([r.converged for r in results]),
        "options": dict(options),
    }
    if name == "trw":
        meta["edge_probabilities"] = results[0].meta["edge_probabilities"]
    if name == "mean-field":
        meta["start"] = stack([r.meta["start"] for r in results])
    if with_heat:
        meta["heat_step"] = HEAT_STEP
    return betas, scalar, results, variances, meta


def _log_z_fn(name):
    def log_z_fn(model, beta, **options) -> Estimate:
        betas, scalar, results, _, meta = _solve(name, model, beta, options, with_heat=False)
        values = np.array([r.log_z for r in results])
        return Estimate(values[0] if scalar else values, None, name,
                        {"beta": betas[0] if scalar else betas, "n_sites": model.n_sites, **meta})

    return log_z_fn


def _thermo_fn(name):
    def thermo_fn(model, beta, **options) -> Thermo:
        betas, scalar, results, variances, meta = _solve(name, model, beta, options,
                                                         with_heat=True)
        moments = Moments(
            log_z=np.array([r.log_z for r in results]),
            energy=np.array([r.energy for r in results]),
            energy_variance=np.array(variances),
            magnetization=np.array([float(np.sum(r.magnetizations)) for r in results]),
        )
        return Thermo.from_moments(moments, betas, model.n_sites, name, scalar, meta=meta)

    return thermo_fn


METHODS: list[Method] = [
    Method(name=name, exact=False, why_not=why_not_factory(name, option_names),
           log_z_fn=_log_z_fn(name), thermo_fn=_thermo_fn(name), auto_rank=None,
           model_types=(Ising,), options=tuple(option_names))
    for name, (_, option_names) in _FACTORIES.items()
]
