"""log Z of loss models: exact, Laplace, quadrature against independent references; sampling estimators."""
import math

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, optimize
from scipy.special import logsumexp

import statmech.ml as ml  # registers the ML methods
from statmech.thermo import log_z, thermo

BETAS = np.array([0.1, 1.0, 10.0, 1000.0])


def _regression(d=2, n=15, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = X @ np.linspace(1.0, -2.0, d) + 0.3 * rng.normal(size=n)
    return X, y


def _gaussian_log_z(X, y, beta, lam):
    """ln ∫ exp(−β|y − Xθ|² − λ|θ|²/2) dθ written out: A = 2βXᵀX + λI, b = 2βXᵀy."""
    d = X.shape[1]
    A = 2 * beta * X.T @ X + lam * np.eye(d)
    b = 2 * beta * X.T @ y
    return 0.5 * d * math.log(2 * math.pi) - 0.5 * np.linalg.slogdet(A)[1] + 0.5 * b @ np.linalg.solve(A, b) \
        - beta * y @ y


def _logistic(n=30, seed=1, lam=1.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = (X @ np.array([1.5, -1.0]) + rng.normal(size=n) > 0).astype(float)
    return ml.LogisticRegression(X, y, prior_precision=lam)


def _brute_force_logistic(model, beta, center, half_width, n=801):
    """Dense 2-D trapezoid grid (spectrally accurate for a smooth integrand that vanishes at the edges)."""
    grid = np.linspace(-half_width, half_width, n)
    h = grid[1] - grid[0]
    signs = 2 * model.y - 1
    log_terms = []
    losses_all = []
    for a in grid + center[0]:
        theta = np.stack([np.full(n, a), grid + center[1]], axis=1)
        losses = np.sum(np.logaddexp(0.0, -signs[None, :] * (theta @ model.X.T)), axis=1)
        log_terms.append(-beta * losses - 0.5 * model.prior_precision * np.sum(theta**2, axis=1))
        losses_all.append(losses)
    log_terms, losses_all = np.concatenate(log_terms), np.concatenate(losses_all)
    log_z_value = logsumexp(log_terms) + 2 * math.log(h)
    p = np.exp(log_terms - logsumexp(log_terms))
    energy = p @ losses_all
    return log_z_value, energy, p @ (losses_all - energy) ** 2


# ------------------------------------------------------------ Gaussian: exact = Laplace = quadrature
@pytest.mark.parametrize("lam", [0.0, 0.7])
def test_linear_regression_exact_laplace_quadrature_agree(lam):
    X, y = _regression()
    m = ml.LinearRegression(X, y, prior_precision=lam)
    reference = np.array([_gaussian_log_z(X, y, b, lam) for b in BETAS])
    for method in ("exact", "laplace", "quadrature"):
        value = log_z(m, BETAS, method=method)
        assert value.stderr is None or method == "laplace"
        np.testing.assert_allclose(value.value, reference, rtol=1e-12, atol=1e-8, err_msg=method)


def test_linear_regression_three_weights_quadrature():
    X, y = _regression(d=3, n=25)
    m = ml.LinearRegression(X, y, prior_precision=0.3)
    betas = np.array([0.1, 1.0, 1000.0])
    np.testing.assert_allclose(log_z(m, betas, method="quadrature").value,
                               [_gaussian_log_z(X, y, b, 0.3) for b in betas], rtol=1e-12, atol=1e-8)


@pytest.mark.parametrize("lam", [0.0, 0.7])
def test_exact_energy_and_heat_are_derivatives_of_log_z(lam):
    X, y = _regression()
    m = ml.LinearRegression(X, y, prior_precision=lam)
    t = thermo(m, BETAS[:3], method="exact")
    for i, b in enumerate(BETAS[:3]):
        h = 1e-4 * b
        f = [_gaussian_log_z(X, y, b + k * h, lam) for k in (-1, 0, 1)]
        energy = -(f[2] - f[0]) / (2 * h)
        variance = (f[2] - 2 * f[1] + f[0]) / h**2
        assert t.energy.value[i] == pytest.approx(energy, rel=1e-6)
        assert t.specific_heat.value[i] == pytest.approx(b**2 * variance, rel=1e-4)
        assert t.entropy.value[i] == pytest.approx(f[1] + b * energy, rel=1e-6, abs=1e-8)
    assert t.n_sites == 2
    np.testing.assert_allclose(t.energy_density.value, t.energy.value / 2)


def test_exact_at_beta_zero_and_huge_beta():
    X, y = _regression()
    m = ml.LinearRegression(X, y, prior_precision=0.5)
    at_zero = log_z(m, 0.0, method="exact")
    assert float(at_zero) == pytest.approx(math.log(2 * math.pi / 0.5), rel=1e-14)   # (d/2) ln(2π/λ), d = 2
    huge = log_z(m, 1e6, method="exact")
    assert np.isfinite(float(huge))
    assert float(huge) == pytest.approx(_gaussian_log_z(X, y, 1e6, 0.5), rel=1e-12)
    flat = ml.LinearRegression(X, y, prior_precision=0.0)
    with pytest.raises(ValueError, match="diverges at beta = 0"):
        log_z(flat, [0.0, 1.0], method="exact")


def test_one_dimensional_quartic_gibbs_model_against_scipy_quad():
    m = ml.GibbsModel(lambda t: jnp.sum(t**4) / 4 + jnp.sum(t**2) / 2 - jnp.sum(t), 1, prior_precision=0.0)
    for beta in (0.3, 3.0):
        def integrand(t, k=0):
            loss = t**4 / 4 + t**2 / 2 - t
            return loss**k * math.exp(-beta * loss)

        z = integrate.quad(integrand, -np.inf, np.inf, epsabs=0, epsrel=1e-13)[0]
        energy = integrate.quad(integrand, -np.inf, np.inf, args=(1,), epsabs=0, epsrel=1e-13)[0] / z
        t = thermo(m, beta, method="quadrature")
        assert float(t.log_z) == pytest.approx(math.log(z), abs=1e-10)
        assert float(t.energy) == pytest.approx(energy, abs=1e-9)


def test_quadrature_warns_when_two_minima_are_not_resolved():
    m = ml.GibbsModel(lambda t: jnp.sum((t**2 - 1) ** 2), 1, prior_precision=0.0)   # double well, minima ±1
    beta = 20.0
    z = integrate.quad(lambda t: math.exp(-beta * (t * t - 1) ** 2), -3, 3, points=[-1, 1], epsabs=0,
                       epsrel=1e-13)[0]
    with pytest.warns(RuntimeWarning, match="not resolved"):
        ml.quadrature_moments(m, beta, init=[0.7])        # grid scaled to one well: the other is missed
    resolved = ml.quadrature_moments(m, beta, init=[0.7], step=0.005)
    assert resolved.log_z[0] == pytest.approx(math.log(z), abs=1e-10)


# ------------------------------------------------------------ logistic regression
@pytest.mark.parametrize("lam", [1.0, 0.0])
def test_logistic_quadrature_against_brute_force_grid(lam):
    m = _logistic(lam=lam)
    for beta in (0.5, 3.0):
        signs = 2 * m.y - 1
        center = optimize.minimize(lambda t: beta * np.sum(np.logaddexp(0.0, -signs * (m.X @ t))) + 0.5 * lam * t @ t,
                                   np.zeros(2), method="Nelder-Mead", options={"xatol": 1e-6}).x
        half_width = 12.0 / math.sqrt(beta + lam) if lam > 0 else 40.0 / beta
        reference = _brute_force_logistic(m, beta, center, half_width)
        t = thermo(m, beta, method="quadrature")
        assert float(t.log_z) == pytest.approx(reference[0], abs=1e-6)
        assert float(t.energy) == pytest.approx(reference[1], abs=1e-6)
        assert float(t.specific_heat) == pytest.approx(beta**2 * reference[2], rel=1e-5)


def test_laplace_error_shrinks_as_beta_grows():
    m = _logistic(lam=1.0)
    betas = np.array([1.0, 10.0, 100.0, 1000.0])
    exact = log_z(m, betas, method="quadrature").value
    laplace = log_z(m, betas, method="laplace").value
    errors = np.abs(laplace - exact)
    assert np.all(np.diff(errors) < 0), errors
    # the relative correction is O(1/β): β·error stays bounded, ratio of errors ~ 10 per decade
    assert np.all(errors[1:] < 0.3 * errors[:-1])
    gn = log_z(m, betas, method="laplace", hessian="gauss-newton").value   # equal for a linear model
    np.testing.assert_allclose(gn, laplace, rtol=1e-12)


def test_laplace_thermodynamics_is_consistent_with_its_log_z():
    m = _logistic(lam=1.0)
    beta, h = 2.0, 1e-3
    t = thermo(m, beta, method="laplace")
    f = log_z(m, [beta - h, beta, beta + h], method="laplace").value
    assert float(t.energy) == pytest.approx(-(f[2] - f[0]) / (2 * h), rel=1e-6)
    assert float(t.specific_heat) == pytest.approx(beta**2 * (f[2] - 2 * f[1] + f[0]) / h**2, rel=1e-3)


def test_quadrature_thermodynamics_is_consistent_with_its_log_z():
    m = _logistic(lam=0.0)
    beta, h = 2.0, 1e-3
    t = thermo(m, beta, method="quadrature")
    f = log_z(m, [beta - h, beta, beta + h], method="quadrature").value
    assert float(t.energy) == pytest.approx(-(f[2] - f[0]) / (2 * h), rel=1e-6)
    assert float(t.specific_heat) == pytest.approx(beta**2 * (f[2] - 2 * f[1] + f[0]) / h**2, rel=1e-3)
    assert float(t.specific_heat) > 0


def test_large_beta_is_finite_and_tends_to_min_loss():
    m = _logistic(lam=1.0)
    minimum = ml.minimize(m).loss
    for method in ("laplace", "quadrature"):
        value = float(log_z(m, 1e6, method=method))
        assert np.isfinite(value)
        assert -value / 1e6 == pytest.approx(minimum, rel=1e-4)


def test_auto_picks_exact_then_quadrature():
    X, y = _regression()
    assert log_z(ml.LinearRegression(X, y, prior_precision=1.0), 1.0).method == "exact"
    assert log_z(_logistic(), 1.0).method == "quadrature"


# ------------------------------------------------------------ errors
def test_method_errors_say_what_applies():
    m = _logistic()
    with pytest.raises(ValueError, match="'exact' does not apply.*Methods that apply: ais, laplace, quadrature"):
        log_z(m, 1.0, method="exact")
    X = np.random.default_rng(0).normal(size=(20, 4))
    four = ml.LogisticRegression(X, (X[:, 0] > 0).astype(float), prior_precision=1.0)
    with pytest.raises(ValueError, match="limited to d <= 3"):
        log_z(four, 1.0, method="quadrature")
    with pytest.raises(ValueError, match="limited to d <= 3"):
        ml.quadrature_moments(four, np.array([1.0]))
    flat = _logistic(lam=0.0)
    for method in ("ti", "ais", "smc"):
        with pytest.raises(ValueError, match="prior_precision > 0"):
            log_z(flat, 1.0, method=method)
    with pytest.raises(ValueError, match="needs prior_precision > 0"):
        ml.sequential_monte_carlo(flat, 1.0)
    with pytest.raises(ValueError, match="kernel must be one of nuts, hmc, mala"):
        log_z(m, 1.0, method="smc", kernel="rwm")
    with pytest.raises(ValueError, match="hessian must be 'exact' or 'gauss-newton'"):
        log_z(m, 1.0, method="laplace", hessian="bfgs")
    with pytest.raises(TypeError, match="unexpected option"):
        log_z(m, 1.0, method="quadrature", n_samples=10)
    with pytest.raises(ValueError, match="beta must be >= 0"):
        log_z(m, -1.0, method="laplace")


def test_registry_keeps_ising_methods_of_the_same_name():
    import statmech as sm
    from statmech._registry import resolve_method as _resolve

    ising = sm.Ising.chain(6, J=1.0, periodic=True)
    for name in ("ti", "ais"):      # one name, two methods: dispatch on the model type
        assert _resolve(ising, name, {}).model_types == (sm.Ising,)
        assert _resolve(_logistic(), name, {}).model_types == (ml.LossModel,)
    assert {"ti", "ais", "smc", "laplace", "quadrature"} <= set(sm.available_methods(_logistic()))
    assert "smc" not in sm.available_methods(ising) and "ti" in sm.available_methods(ising)


# ------------------------------------------------------------ sampling estimators (d = 2 logistic)
@pytest.fixture(scope="module")
def logistic_reference():
    m = _logistic(lam=1.0)
    return m, float(log_z(m, 1.0, method="quadrature")), float(thermo(m, 1.0, method="quadrature").energy)


def _z_score(estimate, reference):
    assert estimate.stderr is not None and float(estimate.stderr) > 0
    return abs(float(estimate) - reference) / float(estimate.stderr)


def test_smc_agrees_with_quadrature(logistic_reference):
    m, reference, energy = logistic_reference
    t = thermo(m, 1.0, method="smc", n_particles=128, n_runs=6, kernel="mala", seed=3)
    assert _z_score(t.log_z, reference) < 4
    assert _z_score(t.energy, energy) < 4
    assert float(t.specific_heat.stderr) > 0 and t.log_z.meta["seed"] == 3


def test_ais_agrees_with_quadrature(logistic_reference):
    m, reference, energy = logistic_reference
    t = thermo(m, 1.0, method="ais", n_particles=256, n_steps=32, kernel="mala", seed=1)
    assert _z_score(t.log_z, reference) < 4
    assert _z_score(t.energy, energy) < 4
    assert t.log_z.meta["ess"] > 50


def test_ti_agrees_with_quadrature(logistic_reference):
    m, reference, energy = logistic_reference
    est = log_z(m, 1.0, method="ti", n_nodes=8, n_sweeps=256, burn_in=200, kernel="mala", seed=2)
    assert _z_score(est, reference) < 4
    assert est.meta["nodes"][-1] == 1.0


@pytest.mark.slow
@pytest.mark.parametrize("method", ["ti", "ais", "smc"])
@pytest.mark.parametrize("kernel", ["nuts", "hmc"])
def test_sampling_estimators_with_each_kernel(logistic_reference, method, kernel):
    m, reference, _ = logistic_reference
    est = log_z(m, 1.0, method=method, kernel=kernel, seed=5)
    assert _z_score(est, reference) < 4


@pytest.mark.slow
def test_sampling_estimators_on_a_grid_and_at_beta_zero(logistic_reference):
    m, _, _ = logistic_reference
    betas = np.array([0.0, 0.5, 2.0])
    reference = log_z(m, betas, method="quadrature").value
    for method in ("ti", "ais", "smc"):
        est = log_z(m, betas, method=method, seed=7)
        assert est.value[0] == pytest.approx(math.log(2 * math.pi), rel=1e-14)   # (d/2) ln(2π/λ)
        assert np.all(np.abs(est.value[1:] - reference[1:]) < 4 * est.stderr[1:]), method


@pytest.mark.slow
def test_mlp_sampling_estimators_agree():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(20, 2))
    y = np.sin(X[:, 0]) + 0.1 * rng.normal(size=20)
    m = ml.MLP(X, y, hidden=(4,), prior_precision=1.0)
    estimates = {method: log_z(m, 1.0, method=method, seed=11) for method in ("ti", "ais", "smc")}
    for est in estimates.values():
        assert np.isfinite(float(est)) and 0 < float(est.stderr) < 0.5
    names = list(estimates)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            sigma = math.hypot(float(estimates[a].stderr), float(estimates[b].stderr))
            assert abs(float(estimates[a]) - float(estimates[b])) < 4 * sigma, (a, b, estimates)
