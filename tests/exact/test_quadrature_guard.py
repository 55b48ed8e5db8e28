"""method="quadrature" refuses, before building any grid, a tensor grid of (2⌈u_max/step⌉ + 1)^d nodes
over the memory budget (48·(d+1) bytes a node) or the time budget (nodes · (1e-6 + 2e-8·rows·d) s per β)."""
import numpy as np
import pytest

import statmech as sm
from statmech.exact import _gibbs


@pytest.fixture
def budgets(monkeypatch):
    """8 GB and 600 s on every machine, and no work allowed: the minimiser (the first step) raises."""
    monkeypatch.setenv("STATMECH_MEMORY_LIMIT", "8GB")
    monkeypatch.setenv("STATMECH_TIME_LIMIT", "600")

    def forbidden(*args, **kwargs):
        raise AssertionError("the quadrature started")

    monkeypatch.setattr(_gibbs, "_argmin", forbidden)


def regression(n_rows, d, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, d))
    return sm.ml.LinearRegression(X, X @ np.ones(d) + rng.normal(size=n_rows), prior_precision=1.0,
                                  fit_intercept=False)


@pytest.mark.parametrize("d, step, message", [
    (2, 1e-4, r"step=0.0001, u_max=4 in d = 2 \(6.4e\+09 grid nodes\) would need about 922 GB"),  # 80001^2 * 144
    (3, 1e-2, r"step=0.01, u_max=4 in d = 3 \(5.14e\+08 grid nodes\) would need about 98.7 GB"),  # 801^3 * 192
])
def test_a_tiny_step_is_refused_by_its_memory_before_any_work(budgets, d, step, message):
    with pytest.raises(ValueError, match=message + r".*budget of 8 GB; pass a larger step"):
        sm.log_z(regression(20, d), 1.0, method="quadrature", step=step)


def test_a_grid_that_fits_in_memory_but_takes_too_long_is_refused(budgets):
    # 1601^2 nodes (369 MB) x (1e-6 + 2e-8 * 2000 rows * 2) s x 5 betas = 1038 s
    with pytest.raises(ValueError, match=r"step=0.005.*at 5 beta\(s\) \(a rough estimate\) would take about "
                                         r"17.3 minutes, more than the budget of 10 minutes"):
        sm.log_z(regression(2000, 2), [0.5, 1.0, 1.5, 2.0, 2.5], method="quadrature", step=0.005)


def test_the_default_grid_is_not_refused_and_matches_the_closed_form(monkeypatch):
    """Negative control: under the same budgets the default rule runs and agrees with method='exact'."""
    monkeypatch.setenv("STATMECH_MEMORY_LIMIT", "8GB")
    monkeypatch.setenv("STATMECH_TIME_LIMIT", "600")
    model = regression(20, 2)
    quadrature = sm.log_z(model, [0.5, 2.0], method="quadrature")
    exact = sm.log_z(model, [0.5, 2.0], method="exact")
    np.testing.assert_allclose(quadrature.value, exact.value, rtol=1e-10)
