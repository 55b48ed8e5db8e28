"""The zero-temperature end of the bridge: min L and F(β) → min L with the Laplace gap."""
import math

import numpy as np
import pytest
from scipy import optimize

import statmech.ml as ml


def _regression(d=2, n=15, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, X @ np.linspace(1.0, -2.0, d) + 0.3 * rng.normal(size=n)


def _logistic_data(n=30, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    return X, (X @ np.array([1.5, -1.0]) + rng.normal(size=n) > 0).astype(float)


def _numpy_logistic_loss(theta, X, y):
    z = X @ theta
    return np.sum(np.logaddexp(0.0, z) - y * z)


# ------------------------------------------------------------------ minimize
def test_minimize_linear_regression_solves_the_normal_equations():
    X, y = _regression()
    result = ml.minimize(ml.LinearRegression(X, y, prior_precision=2.0))
    theta = np.linalg.solve(X.T @ X, X.T @ y)          # the prior is not included by default
    np.testing.assert_allclose(result.params, theta, rtol=1e-12)
    assert result.loss == pytest.approx(np.sum((y - X @ theta) ** 2), rel=1e-12)
    assert result.converged
    ridge = ml.minimize(ml.LinearRegression(X, y, prior_precision=2.0), include_prior=True)
    # L + (λ/2)|θ|² = |y − Xθ|² + |θ|²  ⇒  (XᵀX + I) θ = Xᵀy
    np.testing.assert_allclose(ridge.params, np.linalg.solve(X.T @ X + np.eye(2), X.T @ y), rtol=1e-12)
    assert ridge.objective == pytest.approx(ridge.loss + ridge.params @ ridge.params, rel=1e-12)


def test_minimize_logistic_regression_matches_scipy_on_a_numpy_loss():
    X, y = _logistic_data()
    result = ml.minimize(ml.LogisticRegression(X, y, prior_precision=1.0))
    reference = optimize.minimize(_numpy_logistic_loss, np.zeros(2), args=(X, y), method="BFGS",
                                  options={"gtol": 1e-10})
    assert result.converged and result.gradient_norm < 1e-8
    assert result.loss == pytest.approx(reference.fun, rel=1e-10)
    np.testing.assert_allclose(result.params, reference.x, rtol=1e-5)


def test_minimize_reports_an_unattained_infimum():
    X, _ = _logistic_data()
    separable = (X[:, 0] > 0).astype(float)
    result = ml.minimize(ml.LogisticRegression(X, separable, prior_precision=1.0), max_iterations=50)
    assert not result.converged
    assert result.loss < 1e-2                       # inf L = 0, approached but not attained
    assert "may not be attained" in result.message
    with_prior = ml.minimize(ml.LogisticRegression(X, separable, prior_precision=1.0), include_prior=True)
    assert with_prior.converged                     # the prior makes the objective coercive


def test_minimize_mlp_finds_a_stationary_point_below_the_start():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(20, 2))
    y = np.sin(X[:, 0]) + 0.3 * rng.normal(size=20)
    m = ml.MLP(X, y, hidden=(3,), prior_precision=1.0)
    start = float(m.loss(m.initial_params()))
    # with the prior the objective is coercive: a true stationary point
    regularised = ml.minimize(m, include_prior=True)
    assert regularised.converged and regularised.gradient_norm < 1e-8
    assert regularised.loss < start
    assert regularised.objective == pytest.approx(
        regularised.loss + 0.5 * regularised.params @ regularised.params, rel=1e-12)
    # the bare loss of a network need not attain its infimum (saturating units): reported, not hidden
    bare = ml.minimize(m, max_iterations=100)
    assert bare.loss < regularised.loss
    assert bare.converged or "may not be attained" in bare.message


def test_minimize_rejects_non_models():
    with pytest.raises(TypeError, match="statmech.ml loss model"):
        ml.minimize(np.zeros(3))


# ------------------------------------------------------------------ F(β) → min L
@pytest.mark.parametrize("lam", [0.0, 0.5])
def test_free_energy_tends_to_min_loss_with_the_laplace_gap(lam):
    X, y = _regression()
    m = ml.LinearRegression(X, y, prior_precision=lam)
    betas = np.geomspace(10.0, 1e5, 9)
    limit = ml.zero_temperature_limit(m, betas, method="exact")
    min_loss = np.sum((y - X @ np.linalg.solve(X.T @ X, X.T @ y)) ** 2)
    assert limit.min_loss == pytest.approx(min_loss, rel=1e-12)
    assert np.all(limit.gap > 0) and np.all(np.diff(limit.gap) < 0)      # monotone approach from above
    # the gap is (d/2β) ln(β/2π) + (1/2β) ln det(2XᵀX + λ/β) + (λ/2β)|θ*|² + O(1/β²), written out here
    theta = np.linalg.solve(X.T @ X, X.T @ y)
    predicted = np.array([(2 * math.log(b / (2 * math.pi)) + np.linalg.slogdet(2 * X.T @ X + lam / b * np.eye(2))[1]
                           + lam * theta @ theta) / (2 * b) for b in betas])
    np.testing.assert_allclose(limit.laplace_gap, predicted, rtol=1e-10)
    deviation = np.abs(limit.gap - predicted)
    if lam == 0:
        np.testing.assert_allclose(limit.gap, predicted, rtol=1e-6)          # Gaussian: Laplace is exact
    else:
        assert np.all(deviation * betas**2 < 1.0)                            # O(1/β²)
        assert deviation[-1] < 1e-3 * limit.gap[-1]
    # equipartition: U − min L → d/(2β)
    np.testing.assert_allclose((limit.energy - min_loss) * betas, 1.0, rtol=2e-2)
    np.testing.assert_allclose(limit.entropy, limit.thermo.log_z.value + betas * limit.energy, rtol=1e-12)


def test_logistic_gap_approaches_the_laplace_prediction():
    X, y = _logistic_data()
    m = ml.LogisticRegression(X, y, prior_precision=0.0)
    betas = np.array([3.0, 30.0, 300.0, 3000.0])
    limit = ml.zero_temperature_limit(m, betas, method="quadrature")
    relative = np.abs(limit.gap / limit.laplace_gap - 1.0)
    assert np.all(np.diff(relative) < 0)
    assert relative[-1] < 1e-3
    reference = optimize.minimize(_numpy_logistic_loss, np.zeros(2), args=(X, y), method="BFGS",
                                  options={"gtol": 1e-10})
    assert limit.min_loss == pytest.approx(reference.fun, rel=1e-10)


def test_plot_is_headless_and_shows_the_limit():
    X, y = _regression()
    limit = ml.zero_temperature_limit(ml.LinearRegression(X, y), np.geomspace(0.1, 1e3, 5), method="laplace")
    ax = limit.plot()
    assert len(ax.get_lines()) == 4
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), limit.free_energy)
    assert ax.get_lines()[3].get_ydata()[0] == pytest.approx(limit.min_loss)


def test_zero_temperature_limit_needs_positive_beta():
    X, y = _regression()
    with pytest.raises(ValueError, match="beta > 0"):
        ml.zero_temperature_limit(ml.LinearRegression(X, y, prior_precision=1.0), [0.0, 1.0], method="exact")
