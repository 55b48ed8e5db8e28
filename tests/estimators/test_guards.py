"""Every estimator refuses, before any work, a run whose memory or (rough) time estimate is over the
budget, with a ValueError naming the estimate; the defaults are not refused (negative control).

Work is made impossible: the first call each estimator makes after its checks (building the kernel,
starting walkers, evaluating a loss) raises ``WorkStarted``; a refusal therefore happened before it,
and a default run that passes the guard reaches it."""
import numpy as np
import pytest

import statmech as sm
from statmech.estimators import _annealing, _integration, _mbar, _wang_landau
from statmech.estimators import _gibbs as _gibbs_estimators

ISING = sm.Ising.square(16)  # the 16 x 16 torus
_rng = np.random.default_rng(0)
_X = _rng.normal(size=(50, 2))
REGRESSION = sm.ml.LinearRegression(_X, _X @ np.array([1.0, -0.5]) + 0.1 * _rng.normal(size=50),
                                    prior_precision=1.0)


class WorkStarted(Exception):
    pass


@pytest.fixture
def no_work(monkeypatch):
    """Budgets of 200 MB and 600 s; the first step of real work raises WorkStarted."""
    monkeypatch.setenv("STATMECH_MEMORY_LIMIT", "200MB")
    monkeypatch.setenv("STATMECH_TIME_LIMIT", "600")

    def started(*args, **kwargs):
        raise WorkStarted

    for module, name in ((_annealing, "kernel_for"), (_integration, "kernel_for"), (_mbar, "select_kernel"),
                         (_wang_landau, "_start"), (_gibbs_estimators, "_loss_batch"),
                         (_gibbs_estimators, "_curvature"), (_gibbs_estimators, "_smc_runs")):
        monkeypatch.setattr(module, name, started)


HUGE = {
    "ais-chains": (ISING, "ais", dict(n_chains=10**8), r"AIS with 100000000 chains.*would need about"),
    "ais-steps": (ISING, "ais", dict(n_chains=2, n_steps=10**8), r"AIS with 2 chains.*would take about"),
    "pa-population": (ISING, "pa", dict(population=10**8), r"population annealing .*100000000 replicas.*would need"),
    "pa-runs": (ISING, "pa", dict(n_runs=10**7), r"population annealing with 10000000 runs.*would need"),
    "pa-sweeps": (ISING, "pa", dict(n_sweeps=10**6), r"population annealing.*would take about"),
    "mbar-sweeps": (ISING, "mbar", dict(n_sweeps=10**9), r"MBAR over parallel tempering.*would need about"),
    "wang-landau-walkers": (ISING, "wang-landau", dict(n_walkers=10**8), r"Wang-Landau with 100000000 walkers.*would need"),
    "wang-landau-sweeps": (ISING, "wang-landau", dict(n_sweeps=10**9), r"Wang-Landau .*1000000000 sweeps.*would take"),
    "ti-chains": (ISING, "ti", dict(n_chains=10**8), r"TI with 33 nodes x 100000000 chains.*would need about"),
    "ti-nodes": (ISING, "ti", dict(n_nodes=10**7), r"TI with 10000001 nodes.*would need about"),
    "ti-sweeps": (ISING, "ti", dict(n_sweeps=10**9), r"TI with 33 nodes.*would need about"),
    "ti-burn-in": (ISING, "ti", dict(burn_in=10**9), r"TI with 33 nodes.*would take about"),
    "gibbs-ti-chains": (REGRESSION, "ti", dict(n_chains=10**8), r"TI with 17 nodes x 100000000 chains.*d = 2.*would need"),
    "gibbs-ti-burn-in": (REGRESSION, "ti", dict(burn_in=10**8), r"TI with 17 nodes.*d = 2.*would take about"),
    "gibbs-smc-particles": (REGRESSION, "smc", dict(n_particles=10**8), r"SMC with 16 runs x 100000000 particles.*would need"),
    "gibbs-smc-steps": (REGRESSION, "smc", dict(n_mcmc_steps=10**7), r"SMC with 16 runs.*would take about"),
    "gibbs-ais-steps": (REGRESSION, "ais", dict(n_steps=10**9), r"AIS with 256 walkers x 1000000000 steps.*would need"),
    "gibbs-ais-walkers": (REGRESSION, "ais", dict(n_particles=10**7, n_steps=100), r"AIS with 10000000 walkers.*would"),
}


@pytest.mark.parametrize("case", sorted(HUGE))
def test_a_run_over_the_budget_is_refused_before_any_work(case, no_work):
    model, method, options, message = HUGE[case]
    with pytest.raises(ValueError, match=message) as error:
        sm.log_z(model, 0.44 if model is ISING else 1.0, method=method, **options)
    text = str(error.value)
    assert "more than the budget of" in text and ("STATMECH_MEMORY_LIMIT" in text or "STATMECH_TIME_LIMIT" in text)
    if "would take" in text:
        assert "(a rough estimate)" in text


@pytest.mark.parametrize("model, method", [
    (ISING, "ais"), (ISING, "pa"), (ISING, "mbar"), (ISING, "wang-landau"), (ISING, "ti"),
    (REGRESSION, "ti"), (REGRESSION, "smc"), (REGRESSION, "ais"),
], ids=lambda value: value if isinstance(value, str) else type(value).__name__)
def test_the_defaults_pass_the_guards_and_reach_the_work(model, method, no_work):
    """Negative control: under the same budgets, the default options are not refused."""
    with pytest.raises(WorkStarted):
        sm.log_z(model, 0.44 if model is ISING else 1.0, method=method)
