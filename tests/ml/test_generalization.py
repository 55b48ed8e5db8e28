"""Train/test error of Gibbs posterior draws vs β (statmech.ml._generalization)."""
import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from scipy import optimize
from scipy.special import expit, logsumexp

import statmech.ml as ml
from statmech.ml._generalization import classification_split, generalization_vs_beta

BETAS = [0.0, 0.01, 0.1, 1.0, 10.0, 100.0]


def _numpy_logistic_loss(theta, design, y):
    z = design @ theta
    return np.sum(np.logaddexp(0.0, z) - y * z)


@pytest.fixture(scope="module")
def cancer():
    return classification_split("breast_cancer", n_components=10, test_fraction=0.3, seed=0)


@pytest.fixture(scope="module")
def result(cancer):
    # MALA: compiles in about half the time of NUTS, and 400 draws cost ~0.1 s here
    return generalization_vs_beta(cancer, BETAS, n_sweeps=400, burn_in=300, n_chains=2, kernel="mala", seed=0)


def test_split_is_seeded_stratified_and_standardised(cancer):
    X_train, y_train, X_test, y_test = cancer
    assert X_train.shape == (398, 10) and X_test.shape == (171, 10)
    assert set(np.unique(y_train)) == {0.0, 1.0} and set(np.unique(y_test)) == {0.0, 1.0}
    np.testing.assert_allclose(X_train.mean(axis=0), 0.0, atol=1e-10)       # PCA of standardised features
    assert abs(y_train.mean() - y_test.mean()) < 0.01                        # stratified: 357/569 benign
    again = classification_split("breast_cancer", seed=0)
    np.testing.assert_array_equal(again.X_test, X_test)
    other = classification_split("breast_cancer", seed=1)
    assert not np.array_equal(other.y_test, y_test)
    digits = classification_split("digits", n_components=5)
    assert digits.X_train.shape[1] == 5 and set(np.unique(digits.y_train)) == {0.0, 1.0}


def test_shapes_and_ranges(result):
    n = len(BETAS)
    for name in ("train_error", "train_error_stderr", "test_error", "test_error_stderr", "mean_train_error",
                 "mean_test_error", "mean_loss", "acceptance"):
        value = getattr(result, name)
        assert value.shape == (n,) and value.dtype == np.float64 and np.all(np.isfinite(value)), name
    for name in ("train_error", "test_error", "mean_train_error", "mean_test_error", "acceptance"):
        assert np.all((getattr(result, name) >= 0) & (getattr(result, name) <= 1)), name
    assert np.all(result.train_error_stderr >= 0)
    assert result.dim == 11 and result.n_train == 398 and result.n_test == 171
    np.testing.assert_array_equal(result.beta, BETAS)


def test_beta_zero_is_a_coin_flip(result):
    # at β = 0 θ ~ N(0, I/λ) is symmetric under θ → −θ, which flips every label: each point is
    # misclassified with probability exactly 1/2
    assert abs(result.train_error[0] - 0.5) < 4 * result.train_error_stderr[0] + 0.02
    assert abs(result.test_error[0] - 0.5) < 4 * result.test_error_stderr[0] + 0.02


def test_train_error_and_loss_fall_as_beta_grows(result):
    err, se = result.train_error, result.train_error_stderr
    for i in range(len(BETAS) - 1):      # non-increasing within error bars
        assert err[i + 1] <= err[i] + 3 * np.hypot(se[i], se[i + 1]) + 1e-3, (i, err)
    assert err[0] - err[-1] > 0.4
    # d⟨L⟩/dβ = −Var(L) < 0: the mean training loss falls strictly
    assert np.all(np.diff(result.mean_loss) < 0)


def test_large_beta_approaches_the_minimiser(cancer, result):
    X_train, y_train, X_test, y_test = cancer
    design = np.hstack([X_train, np.ones((len(X_train), 1))])
    reference = optimize.minimize(_numpy_logistic_loss, np.zeros(11), args=(design, y_train), method="BFGS",
                                  options={"gtol": 1e-8})
    train_error = np.mean((design @ reference.x > 0) != y_train)
    test_error = np.mean((np.hstack([X_test, np.ones((len(X_test), 1))]) @ reference.x > 0) != y_test)
    assert result.minimizer_train_error == pytest.approx(train_error, abs=1e-12)
    assert result.minimizer_test_error == pytest.approx(test_error, abs=1e-12)
    assert result.minimizer_loss == pytest.approx(reference.fun, rel=1e-6)
    # β = 100: the posterior sits within O(β^-1/2) of argmin L; at most 2 of 398 training points differ
    assert abs(result.mean_train_error[-1] - train_error) <= 2 / 398 + 1e-12
    assert abs(result.train_error[-1] - train_error) <= 4 / 398


def test_gibbs_error_matches_a_grid_integral_in_one_dimension():
    rng = np.random.default_rng(3)
    x = rng.normal(size=60)
    y = (0.4 * x + rng.normal(size=60) > 0).astype(float)
    X_train, y_train, X_test, y_test = x[:30, None], y[:30], x[30:, None], y[30:]
    betas = [0.1, 1.0]
    no_intercept = lambda X, y: ml.LogisticRegression(X, y, prior_precision=1.0)  # noqa: E731
    result = generalization_vs_beta((X_train, y_train, X_test, y_test), betas, model_factory=no_intercept,
                                    n_sweeps=1000, burn_in=300,
                                    n_chains=4, kernel="mala", seed=1)
    theta = np.linspace(-12, 12, 20001)
    for i, beta in enumerate(betas):
        log_p = np.array([-beta * _numpy_logistic_loss(np.array([t]), X_train, y_train) for t in theta]) \
            - 0.5 * theta**2
        p = np.exp(log_p - logsumexp(log_p))
        positive = p[theta > 0].sum()
        for X, yy, got, se in ((X_train, y_train, result.train_error, result.train_error_stderr),
                               (X_test, y_test, result.test_error, result.test_error_stderr)):
            # θ > 0 predicts y = 1 where x > 0; θ < 0 the opposite
            expected = positive * np.mean((X[:, 0] > 0) != yy) + (1 - positive) * np.mean((X[:, 0] < 0) != yy)
            assert abs(got[i] - expected) < 4 * se[i] + 0.005, (beta, got[i], expected, se[i])
        if beta < 1:
            continue   # a nearly symmetric posterior: every ⟨σ(xθ)⟩ is within sampling noise of 1/2
        # posterior-mean predictor: ⟨σ(xθ)⟩ > 1/2, unless the exact average is within sampling noise of 1/2
        average = expit(X_train[:, 0][:, None] * theta[None, :]) @ p
        clear = np.abs(average - 0.5) > 0.03
        assert clear.sum() >= 20
        # only the points whose exact average is close to 1/2 may be decided differently by the draws
        exact = np.mean((average > 0.5) != y_train)
        assert abs(result.mean_train_error[i] - exact) <= (~clear).sum() / 30 + 1e-12


def test_plot_is_headless(result):
    ax = result.plot()
    assert len(ax.lines) >= 6 and ax.get_xscale() == "linear"       # β = 0 is on the grid: no log axis
    from matplotlib.figure import Figure

    ax2 = Figure().add_subplot()
    assert result.plot(ax=ax2) is ax2


@pytest.mark.slow
def test_mlp_classifier_runs():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(float)
    factory = lambda X, y: ml.MLP(X, y, hidden=(3,), loss="cross_entropy", prior_precision=1.0)  # noqa: E731
    result = generalization_vs_beta((X[:30], y[:30], X[30:], y[30:]), [0.1, 10.0], model_factory=factory,
                                    n_sweeps=100, burn_in=100, n_chains=2, seed=0)
    assert result.dim == 2 * 3 + 3 + 3 * 2 + 2
    assert np.all((result.train_error >= 0) & (result.train_error <= 1))
    assert result.mean_loss[1] < result.mean_loss[0]
    assert result.plot().get_xscale() == "log"


def test_bad_input(cancer):
    with pytest.raises(ValueError, match=">= 0"):
        generalization_vs_beta(cancer, [-1.0, 1.0])
    with pytest.raises(ValueError, match="empty"):
        generalization_vs_beta(cancer, [])
    with pytest.raises(TypeError, match="X_train, y_train, X_test, y_test"):
        generalization_vs_beta(cancer[:3], [1.0])
    with pytest.raises(ValueError, match="same features"):
        generalization_vs_beta((cancer.X_train, cancer.y_train, cancer.X_test[:, :3], cancer.y_test), [1.0])
    with pytest.raises(ValueError, match="y of shape"):
        generalization_vs_beta((cancer.X_train, cancer.y_train[:5], cancer.X_test, cancer.y_test), [1.0])
    with pytest.raises(ValueError, match="kernel must be one of"):
        generalization_vs_beta(cancer, [1.0], kernel="hmc")
    with pytest.raises(ValueError, match="labels must be 0 or 1"):
        generalization_vs_beta((cancer.X_train, 2 * cancer.y_train - 1, cancer.X_test, cancer.y_test), [1.0])
    with pytest.raises(TypeError, match="classifier"):
        generalization_vs_beta(cancer, [1.0], model_factory=lambda X, y: ml.LinearRegression(X, y, 1.0))
    with pytest.raises(TypeError, match="model_factory must be a function"):
        generalization_vs_beta(cancer, [1.0], model_factory=3)
    with pytest.raises(ValueError, match="n_sweeps"):
        generalization_vs_beta(cancer, [1.0], n_sweeps=2)
    with pytest.raises(ValueError, match="name must be"):
        classification_split("iris")
    with pytest.raises(ValueError, match="test_fraction"):
        classification_split(test_fraction=1.5)
    with pytest.raises(ValueError, match="n_components must be <="):
        classification_split(n_components=31)
