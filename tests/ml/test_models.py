"""Loss models of the ML bridge: losses against plain NumPy, input validation, immutability."""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import statmech.ml as ml


def _data(n=20, p=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    return rng, X


# ------------------------------------------------------------------ losses
def test_linear_regression_loss_is_sum_of_squares():
    rng, X = _data()
    y = rng.normal(size=20)
    theta = np.array([0.3, -1.2])
    m = ml.LinearRegression(X, y)
    assert m.dim == 2 and m.n_sites == 2
    assert float(m.loss(jnp.asarray(theta))) == pytest.approx(np.sum((y - X @ theta) ** 2), rel=1e-6)
    with_intercept = ml.LinearRegression(X, y, fit_intercept=True)
    assert with_intercept.dim == 3
    theta3 = np.array([0.3, -1.2, 0.7])
    expected = np.sum((y - X @ theta3[:2] - theta3[2]) ** 2)
    assert float(with_intercept.loss(jnp.asarray(theta3))) == pytest.approx(expected, rel=1e-6)


def test_logistic_loss_matches_definition_and_is_stable():
    rng, X = _data()
    y = (rng.random(20) < 0.5).astype(float)
    m = ml.LogisticRegression(X, y)
    theta = np.array([0.5, -0.25])
    z = X @ theta
    expected = np.sum(np.log1p(np.exp(z)) - y * z)
    assert float(m.loss(jnp.asarray(theta))) == pytest.approx(expected, rel=1e-6)
    # huge weights: log(1 + e^z) − y z must not overflow
    with jax.enable_x64(True):
        big = float(m.loss(jnp.asarray(1e4 * theta)))
    z = X @ (1e4 * theta)
    assert np.isfinite(big)
    assert big == pytest.approx(np.sum(np.logaddexp(0.0, z) - y * z), rel=1e-12)


def test_mlp_loss_matches_a_numpy_forward_pass():
    rng, X = _data(n=15, p=3)
    y = rng.normal(size=15)
    m = ml.MLP(X, y, hidden=(4, 2), activation="tanh", prior_precision=1.0, seed=3)
    assert m.dim == 3 * 4 + 4 + 4 * 2 + 2 + 2 * 1 + 1
    theta = rng.normal(size=m.dim)
    # ravel_pytree order: W1, b1, W2, b2, W3, b3 (row-major)
    sizes = [(3, 4), (4,), (4, 2), (2,), (2, 1), (1,)]
    parts, start = [], 0
    for shape in sizes:
        count = int(np.prod(shape))
        parts.append(theta[start:start + count].reshape(shape))
        start += count
    h = np.tanh(X @ parts[0] + parts[1])
    h = np.tanh(h @ parts[2] + parts[3])
    out = (h @ parts[4] + parts[5])[:, 0]
    with jax.enable_x64(True):
        value = float(m.loss(jnp.asarray(theta)))
    assert value == pytest.approx(np.sum((y - out) ** 2), rel=1e-12)


def test_mlp_cross_entropy_loss():
    rng, X = _data(n=12, p=2)
    y = rng.integers(0, 3, size=12)
    m = ml.MLP(X, y, hidden=(3,), loss="cross_entropy", prior_precision=0.5)
    assert m.n_outputs == 3
    theta = rng.normal(size=m.dim)
    w1, b1 = theta[:6].reshape(2, 3), theta[6:9]
    w2, b2 = theta[9:18].reshape(3, 3), theta[18:21]
    logits = np.tanh(X @ w1 + b1) @ w2 + b2
    log_norm = np.log(np.sum(np.exp(logits), axis=1))
    expected = np.sum(log_norm - logits[np.arange(12), y])
    with jax.enable_x64(True):
        assert float(m.loss(jnp.asarray(theta))) == pytest.approx(expected, rel=1e-12)


def test_mlp_initial_params_depend_on_seed_only():
    _, X = _data()
    y = X[:, 0]
    a, b, c = (ml.MLP(X, y, seed=s) for s in (1, 1, 2))
    np.testing.assert_array_equal(a.initial_params(), b.initial_params())
    assert not np.array_equal(a.initial_params(), c.initial_params())


def test_gibbs_model_and_batched_energy():
    m = ml.GibbsModel(lambda t: jnp.sum(t**4) / 4 + jnp.sum(t**2) / 2, 3, prior_precision=0.0)
    thetas = np.arange(12.0).reshape(2, 2, 3) / 10
    energies = np.asarray(m.energy(thetas))
    assert energies.shape == (2, 2)
    np.testing.assert_allclose(energies, np.sum(thetas**4, -1) / 4 + np.sum(thetas**2, -1) / 2, rtol=1e-6)
    assert m.X is None and m.y is None and m.dim == 3


def test_gauss_newton_equals_hessian_for_linear_models_and_is_psd_for_mlp():
    rng, X = _data()
    y = (rng.random(20) < 0.5).astype(float)
    for m in (ml.LogisticRegression(X, y), ml.LinearRegression(X, y)):
        with jax.enable_x64(True):
            theta = jnp.asarray([0.4, -0.3])
            np.testing.assert_allclose(jax.jit(lambda t: m.gauss_newton_hessian(t))(theta), jax.hessian(m.loss)(theta),
                                       rtol=1e-10)
    mlp = ml.MLP(X, y, hidden=(3,))
    with jax.enable_x64(True):
        gn = np.asarray(jax.jit(lambda t: mlp.gauss_newton_hessian(t))(jnp.asarray(mlp.initial_params())))
    assert gn.shape == (mlp.dim, mlp.dim)
    assert np.min(np.linalg.eigvalsh(gn)) > -1e-10
    with pytest.raises(ValueError, match="Gauss–Newton"):
        ml.GibbsModel(lambda t: jnp.sum(t**2), 2).gauss_newton_hessian(jnp.zeros(2))


def test_models_are_immutable():
    rng, X = _data()
    m = ml.LinearRegression(X, rng.normal(size=20), prior_precision=1.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.prior_precision = 2.0
    with pytest.raises(ValueError):
        m.X[0, 0] = 1.0
    X[0, 0] = 99.0  # the model holds its own copy
    assert m.X[0, 0] != 99.0
    assert "LinearRegression(n_samples=20, dim=2, prior_precision=1)" == repr(m)


def test_loss_is_coercive_detects_separability():
    # (quasi-)separable data: every margin row has a_i·w >= 0 for w = (1, 0)
    separable = np.array([[1.0, 0.3], [2.0, -1.0], [0.5, 0.0]])
    assert not ml.loss_is_coercive(separable)
    quasi = np.array([[0.0, 1.0], [0.0, -1.0], [1.0, 0.5]])     # w = (1, 0): margins 0, 0, 1
    assert not ml.loss_is_coercive(quasi)
    overlapping = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    assert ml.loss_is_coercive(overlapping)
    rank_deficient = np.array([[1.0, 0.0], [-1.0, 0.0]])       # the second weight is free
    assert not ml.loss_is_coercive(rank_deficient)


# ------------------------------------------------------------------ bad input
def test_bad_data_is_rejected_with_a_fix():
    rng, X = _data()
    y = rng.normal(size=20)
    with pytest.raises(ValueError, match="do not match"):
        ml.LinearRegression(X, y[:-1])
    with pytest.raises(ValueError, match="2-D"):
        ml.LinearRegression(X[:, 0], y)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        ml.LinearRegression(bad, y)
    with pytest.raises(ValueError, match="y contains NaN"):
        ml.LogisticRegression(X, np.where(np.arange(20) == 2, np.nan, 1.0))
    with pytest.raises(ValueError, match="labels y must be 0 or 1"):
        ml.LogisticRegression(X, np.sign(y))
    with pytest.raises(TypeError, match="numeric"):
        ml.LinearRegression("abc", y)


def test_bad_prior_precision_is_rejected():
    rng, X = _data()
    y = rng.normal(size=20)
    with pytest.raises(ValueError, match="prior_precision must be a finite number >= 0"):
        ml.LinearRegression(X, y, prior_precision=-1.0)
    with pytest.raises(ValueError, match="prior_precision must be a finite number >= 0"):
        ml.LogisticRegression(X, (y > 0).astype(float), prior_precision=np.nan)
    with pytest.raises(TypeError, match="prior_precision must be a number"):
        ml.GibbsModel(lambda t: jnp.sum(t**2), 2, prior_precision="1")


def test_flat_measure_only_where_z_is_finite():
    rng, X = _data(n=3, p=5)
    with pytest.raises(ValueError, match=r"Z diverges: X has rank 3 < d = 5.*prior_precision > 0"):
        ml.LinearRegression(X, rng.normal(size=3), prior_precision=0.0)
    ml.LinearRegression(X, rng.normal(size=3), prior_precision=0.1)   # fine with a prior
    _, X = _data(n=30)
    separable = (X[:, 0] > 0).astype(float)
    with pytest.raises(ValueError, match="Z diverges for separable data"):
        ml.LogisticRegression(X, separable, prior_precision=0.0)
    noisy = (X[:, 0] + rng.normal(size=30) > 0).astype(float)
    assert ml.LogisticRegression(X, noisy, prior_precision=0.0).prior_precision == 0.0
    with pytest.raises(ValueError, match="prior_precision > 0"):
        ml.MLP(X, noisy, prior_precision=0.0)


def test_bad_mlp_and_gibbs_options():
    rng, X = _data()
    y = rng.normal(size=20)
    with pytest.raises(ValueError, match="loss must be 'squared' or 'cross_entropy'"):
        ml.MLP(X, y, loss="hinge")
    with pytest.raises(ValueError, match="activation must be one of"):
        ml.MLP(X, y, activation="swish2")
    with pytest.raises(ValueError, match="class labels"):
        ml.MLP(X, y, loss="cross_entropy")
    with pytest.raises(ValueError, match=">= 1"):
        ml.MLP(X, y, hidden=(0,))
    with pytest.raises(TypeError, match="loss_fn must be a function"):
        ml.GibbsModel(3.0, 2)
    with pytest.raises(ValueError, match="must return a scalar"):
        ml.GibbsModel(lambda t: t**2, 2)
    with pytest.raises(ValueError, match="dim must be >= 1"):
        ml.GibbsModel(lambda t: jnp.sum(t), 0)
