"""Generalisation of Gibbs (posterior) predictors as a function of β.

For a classifier with training loss L(θ) and prior precision λ, the Gibbs
distribution over the weights

    p_β(θ) ∝ exp(−β L(θ) − (λ/2)|θ|²)

is the Bayesian posterior at β = 1 (L = −log-likelihood) and concentrates on
the minimisers of L as β → ∞. For each β we report the 0/1 error on the
training and test sets of

- a single posterior draw θ ~ p_β (the *Gibbs classifier*), averaged over draws,
- the *posterior-mean predictor* (Bayes-averaged predictive): the label that
  maximises ⟨P(y | x, θ)⟩_{p_β},

next to the zero-temperature answer, the minimiser of L (``minimize``).
(Engel & Van den Broeck, *Statistical Mechanics of Learning*, 2001, ch. 2–3:
Gibbs learning and the Bayes-optimal predictor; MacKay 2003, ch. 41.)
Draws come from BlackJAX NUTS (or preconditioned MALA) chains with a window
adaptation of step size and a diagonal mass matrix, started from prior draws.
"""
from __future__ import annotations

import dataclasses
import numbers
import time
from typing import Callable, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from statmech._validation import check_positive_int, check_seed, renamed_option
from statmech.estimators._gibbs import TARGET_ACCEPTANCE, _algorithm, _prior_draws, _step_fn
from statmech.models._gibbs import _ACTIVATIONS, MLP, LogisticRegression, LossModel, minimize
from statmech.stats import chain_statistics
from statmech.stats._autocorr import MIN_DRAWS

#: the kernels that may draw posterior samples here (HMC needs a trajectory length; use NUTS)
POSTERIOR_KERNELS = ("nuts", "mala")


class ClassificationData(NamedTuple):
    """A fixed train/test split with labels 0/1 (unpacks as X_train, y_train, X_test, y_test)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def classification_split(name: str = "breast_cancer", n_components: int | None = 10, test_fraction: float = 0.3,
                         seed: int = 0) -> ClassificationData:
    """A seeded, stratified train/test split of a dataset bundled with scikit-learn, labels in {0, 1}.

    ``name``: ``"breast_cancer"`` (569 samples, 30 features; y = 1 benign)
    or ``"digits"`` (1797 8×8 images, y = 1 for odd digits). Features are
    standardised with the training mean and standard deviation and, unless
    ``n_components`` is None, projected on the first ``n_components``
    principal components of the training set (fitted on it only, so the
    test set stays unseen).
    """
    from sklearn import datasets
    from sklearn.decomposition import PCA
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    if name == "breast_cancer":
        X, y = datasets.load_breast_cancer(return_X_y=True)
    elif name == "digits":
        X, y = datasets.load_digits(return_X_y=True)
        y = y % 2
    else:
        raise ValueError(f"name must be 'breast_cancer' or 'digits', got {name!r}")
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, numbers.Real) or not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be a number in (0, 1), e.g. 0.3, got {test_fraction!r}")
    seed = check_positive_int(seed, "seed", minimum=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=float(test_fraction), random_state=seed,
                                                        stratify=y)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    if n_components is not None:
        n_components = check_positive_int(n_components, "n_components")
        if n_components > X.shape[1]:
            raise ValueError(f"n_components must be <= {X.shape[1]} (the number of features of {name}), "
                             f"got {n_components}")
        pca = PCA(n_components=n_components, random_state=seed).fit(X_train)
        X_train, X_test = pca.transform(X_train), pca.transform(X_test)
    return ClassificationData(np.asarray(X_train, np.float64), np.asarray(y_train, np.float64),
                              np.asarray(X_test, np.float64), np.asarray(y_test, np.float64))


# ------------------------------------------------------------------ predictions
def _check_classifier(model) -> LossModel:
    if isinstance(model, LogisticRegression):
        return model
    if isinstance(model, MLP) and (model.loss_name == "cross_entropy" or model.n_outputs == 1):
        return model
    raise TypeError(f"model_factory must build a classifier: a LogisticRegression or an MLP (loss='cross_entropy', "
                    f"or loss='squared' with one output and 0/1 targets), got {model!r}")


def _outputs(model, theta, X):
    """f_θ(x_i), shape (n, k), for a traced X (``model.predict(θ, X)`` converts X with NumPy)."""
    X = jnp.asarray(X)
    if isinstance(model, LogisticRegression):
        design = jnp.hstack([X, jnp.ones((X.shape[0], 1), X.dtype)]) if model.fit_intercept else X
        return (design @ theta)[:, None]
    act = _ACTIVATIONS[model.activation]
    layers = model.unravel(theta)
    h = X
    for w, b in layers[:-1]:
        h = act(h @ w + b)
    w, b = layers[-1]
    return h @ w + b


def _class_probabilities(model, theta, X):
    """P(y = 1 | x, θ) for 0/1 classifiers, shape (n,); (n, K) class probabilities for cross-entropy MLPs."""
    outputs = _outputs(model, theta, X)
    if isinstance(model, LogisticRegression):
        return jax.nn.sigmoid(outputs[:, 0])
    if model.loss_name == "cross_entropy":
        return jax.nn.softmax(outputs, axis=-1)
    return outputs[:, 0]   # squared loss: the output estimates E[y | x] = P(y = 1 | x)


def _is_multiclass(model) -> bool:
    return isinstance(model, MLP) and model.loss_name == "cross_entropy"


def _labels(model, probabilities):
    """Most probable label: argmax over the last axis (cross-entropy MLP) or P(y = 1) > 1/2."""
    if _is_multiclass(model):
        return jnp.argmax(probabilities, axis=-1).astype(probabilities.dtype)
    return (probabilities > 0.5).astype(probabilities.dtype)


def _error(model, probabilities, y):
    """Fraction of samples whose most probable label differs from y (last axis = samples)."""
    return jnp.mean((_labels(model, probabilities) != y).astype(jnp.float64), axis=-1)


def classification_error(model, theta, X, y) -> float:
    """0/1 error of the classifier with weights θ on (X, y): fraction of i with predicted label ≠ y_i."""
    _check_classifier(model)
    with jax.enable_x64(True):
        probabilities = _class_probabilities(model, jnp.asarray(theta, jnp.float64), np.asarray(X, np.float64))
        return float(_error(model, probabilities, jnp.asarray(y, jnp.float64)))


@eqx.filter_jit
def _draws_and_errors(model, key, betas, X_train, y_train, X_test, y_test, n_chains: int, n_warmup: int,
                      n_samples: int, kernel: str):
    """Per β and chain: errors of every draw and the running mean of the predictive probabilities."""
    lam = model.prior_precision
    step = _step_fn(kernel, 1)

    def errors_and_probabilities(theta):
        p_train = _class_probabilities(model, theta, X_train)
        p_test = _class_probabilities(model, theta, X_test)
        return (_error(model, p_train, y_train), _error(model, p_test, y_test), p_train, p_test,
                model.loss(theta))

    def one_chain(key, beta):
        init_key, warm_key, run_key = jax.random.split(key, 3)
        logdensity = lambda t: -beta * model.loss(t) - 0.5 * lam * jnp.sum(t**2)  # noqa: E731
        position = _prior_draws(init_key, model, 1)[0]
        warmup = _window_adaptation(kernel, logdensity)
        (state, parameters), _ = warmup.run(warm_key, position, n_warmup)

        def body(carry, k):
            state, sum_train, sum_test = carry
            state, info = step(k, state, logdensity, parameters["step_size"], parameters["inverse_mass_matrix"])
            e_train, e_test, p_train, p_test, loss = errors_and_probabilities(state.position)
            return (state, sum_train + p_train, sum_test + p_test), (e_train, e_test, loss, info.acceptance_rate)

        zeros = errors_and_probabilities(position)
        carry = (state, jnp.zeros_like(zeros[2]), jnp.zeros_like(zeros[3]))
        (_, sum_train, sum_test), (e_train, e_test, losses, acceptance) = jax.lax.scan(
            body, carry, jax.random.split(run_key, n_samples))
        return e_train, e_test, losses, sum_train / n_samples, sum_test / n_samples, jnp.mean(acceptance)

    keys = jax.random.split(key, betas.size * n_chains).reshape(betas.size, n_chains)
    return jax.vmap(lambda ks, b: jax.vmap(lambda k: one_chain(k, b))(ks))(keys, betas)


def _window_adaptation(kernel: str, logdensity):
    """``blackjax.window_adaptation`` (Stan's step size + diagonal mass matrix warm-up) for ``kernel``."""
    import blackjax

    return blackjax.window_adaptation(_algorithm(kernel), logdensity, initial_step_size=0.5,
                                      target_acceptance_rate=TARGET_ACCEPTANCE[kernel],
                                      adaptation_info_fn=lambda *args: None)


# ------------------------------------------------------------------ result
@dataclasses.dataclass(frozen=True)
class GeneralizationResult:
    """Train/test 0/1 errors of Gibbs draws and of the posterior-mean predictor over β.

    Arrays have one entry per β: ``train_error``/``test_error`` are means
    over draws of the error of a single draw θ ~ p_β (``*_stderr``: Γ-method
    standard errors over all chains, :func:`statmech.stats.chain_statistics`);
    ``mean_train_error``/``mean_test_error`` are errors of the Bayes-averaged
    predictor argmax_y ⟨P(y|x, θ)⟩. ``minimizer_*`` are the errors of θ* =
    argmin L from :func:`~statmech.ml.minimize` (the β → ∞ limit; its
    ``minimizer_converged`` is False when inf L is not attained, e.g.
    separable data). ``mean_loss`` = ⟨L⟩_β, ``acceptance`` the mean
    acceptance rate, ``warnings`` the chain diagnostics.
    """

    beta: np.ndarray
    train_error: np.ndarray
    train_error_stderr: np.ndarray
    test_error: np.ndarray
    test_error_stderr: np.ndarray
    mean_train_error: np.ndarray
    mean_test_error: np.ndarray
    mean_loss: np.ndarray
    acceptance: np.ndarray
    minimizer_train_error: float
    minimizer_test_error: float
    minimizer_loss: float
    minimizer_converged: bool
    n_train: int
    n_test: int
    dim: int
    kernel: str
    n_chains: int
    n_sweeps: int
    seed: int
    wall_time: float
    warnings: tuple[str, ...] = ()

    def plot(self, ax=None):
        """Train/test errors against β (log axis), with the minimiser's as horizontal lines; returns the Axes."""
        if ax is None:
            from matplotlib.figure import Figure  # no pyplot: works headless, leaves global state alone

            ax = Figure(figsize=(5.5, 3.8), layout="constrained").add_subplot()
        x = self.beta
        ax.errorbar(x, self.train_error, yerr=self.train_error_stderr, fmt="o-", color="C0", ms=4,
                    label="Gibbs draw, train")
        ax.errorbar(x, self.test_error, yerr=self.test_error_stderr, fmt="s-", color="C1", ms=4,
                    label="Gibbs draw, test")
        ax.plot(x, self.mean_train_error, "o--", color="C0", mfc="none", label="posterior mean, train")
        ax.plot(x, self.mean_test_error, "s--", color="C1", mfc="none", label="posterior mean, test")
        ax.axhline(self.minimizer_train_error, color="C0", lw=0.8, ls=":", label="argmin L, train")
        ax.axhline(self.minimizer_test_error, color="C1", lw=0.8, ls=":", label="argmin L, test")
        if np.all(x > 0):
            ax.set_xscale("log")
        ax.set_xlabel(r"$\beta$")
        ax.set_ylabel("0/1 error")
        ax.set_title(f"generalisation vs β (d = {self.dim}, n_train = {self.n_train})")
        ax.legend(fontsize="x-small")
        return ax


# ------------------------------------------------------------------ front door
def _check_split(data):
    if isinstance(data, str):
        return classification_split(data)
    if not isinstance(data, (tuple, list)) or len(data) != 4:
        raise TypeError("data must be a dataset name ('breast_cancer', 'digits') or a tuple "
                        "(X_train, y_train, X_test, y_test), e.g. classification_split('breast_cancer')")
    X_train, y_train, X_test, y_test = (np.asarray(a, dtype=np.float64) for a in data)
    for name, X, y in (("train", X_train, y_train), ("test", X_test, y_test)):
        if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0] or X.shape[0] == 0:
            raise ValueError(f"the {name} set must be X of shape (n, p) and y of shape (n,) with n >= 1, got "
                             f"X {X.shape} and y {y.shape}")
        if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
            raise ValueError(f"the {name} set contains NaN or inf")
    if X_train.shape[1] != X_test.shape[1]:
        raise ValueError(f"train and test sets must have the same features: X_train has {X_train.shape[1]} "
                         f"columns, X_test has {X_test.shape[1]}")
    return ClassificationData(X_train, y_train, X_test, y_test)


def generalization_vs_beta(data="breast_cancer", betas=(0.01, 0.1, 1.0, 10.0, 100.0), *,
                           model_factory: Callable | None = None, prior_precision: float = 1.0,
                           n_sweeps: int | None = None, burn_in: int | None = None, n_chains: int = 4,
                           kernel: str = "nuts", seed: int = 0, n_samples: int | None = None,
                           n_warmup: int | None = None) -> GeneralizationResult:
    """Train/test 0/1 error of Gibbs posterior draws p_β(θ) ∝ exp(−β L(θ) − (λ/2)|θ|²) for each β.

    ``data``: a tuple (X_train, y_train, X_test, y_test) or a dataset name for
    :func:`classification_split` (default: breast cancer, 10 principal
    components). ``model_factory(X, y)`` builds the classifier on the
    training set (default ``LogisticRegression(X, y, prior_precision,
    fit_intercept=True)``; an ``MLP(..., loss="cross_entropy")`` works too);
    its own λ is used. For each β ≥ 0, ``n_chains`` BlackJAX ``kernel``
    chains ("nuts" or "mala") start from prior draws, adapt for
    ``burn_in`` steps (``blackjax.window_adaptation``, default 500) and record
    ``n_sweeps`` draws (default 500); all β and chains run in one vmapped, compiled call.
    Reported per β: the mean error of single draws (Gibbs classifier) ±
    Γ-method stderr, the error of the posterior-mean predictor
    argmax_y ⟨P(y|x,θ)⟩, and ⟨L⟩; and once the errors of argmin L
    (:func:`~statmech.ml.minimize`, the β → ∞ limit). (Engel & Van den
    Broeck 2001, ch. 2–3; MacKay 2003, ch. 41.)
    """

    started = time.perf_counter()
    split = _check_split(data)
    if not np.all(np.isin(split.y_train, (0.0, 1.0))) or not np.all(np.isin(split.y_test, (0.0, 1.0))):
        if model_factory is None:
            raise ValueError("labels must be 0 or 1 for logistic regression; map ±1 labels with y = (y + 1) / 2")
    try:
        betas = np.array(betas, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as error:
        raise TypeError(f"betas must be numbers >= 0, e.g. [0.01, 1, 100], got {betas!r}") from error
    if betas.size == 0:
        raise ValueError("betas is empty; pass at least one inverse temperature, e.g. [0.01, 1, 100]")
    if not np.all(np.isfinite(betas)) or np.any(betas < 0):
        raise ValueError(f"betas must be finite and >= 0, got {betas}")
    if kernel not in POSTERIOR_KERNELS:
        raise ValueError(f"kernel must be one of {', '.join(POSTERIOR_KERNELS)}, got {kernel!r}")
    n_samples = check_positive_int(renamed_option("generalization_vs_beta", "n_samples", n_samples, "n_sweeps",
                                                  n_sweeps, 500), "n_sweeps", minimum=MIN_DRAWS)
    n_warmup = check_positive_int(renamed_option("generalization_vs_beta", "n_warmup", n_warmup, "burn_in",
                                                 burn_in, 500), "burn_in")
    n_chains = check_positive_int(n_chains, "n_chains")
    seed = check_seed(seed)
    if model_factory is None:
        model = LogisticRegression(split.X_train, split.y_train, prior_precision=prior_precision, fit_intercept=True)
    elif callable(model_factory):
        model = model_factory(split.X_train, split.y_train)
    else:
        raise TypeError(f"model_factory must be a function (X, y) -> classifier model, got {model_factory!r}")
    _check_classifier(model)
    if model.prior_precision <= 0:
        raise ValueError("generalization_vs_beta needs prior_precision > 0: chains start from prior draws and "
                         "β = 0 is the prior itself")

    ground = minimize(model)
    with jax.enable_x64(True):
        X_train, y_train = jnp.asarray(split.X_train), jnp.asarray(split.y_train)
        X_test, y_test = jnp.asarray(split.X_test), jnp.asarray(split.y_test)
        e_train, e_test, losses, p_train, p_test, acceptance = _draws_and_errors(
            model, jax.random.key(seed), jnp.asarray(betas), X_train, y_train, X_test, y_test,
            n_chains, n_warmup, n_samples, kernel)
        # average the predictive probabilities over chains, then take the most probable label
        mean_train = np.asarray(_error(model, p_train.mean(axis=1), y_train))
        mean_test = np.asarray(_error(model, p_test.mean(axis=1), y_test))
        theta_star = jnp.asarray(ground.params)
        minimizer_train = float(_error(model, _class_probabilities(model, theta_star, X_train), y_train))
        minimizer_test = float(_error(model, _class_probabilities(model, theta_star, X_test), y_test))
    e_train, e_test = np.asarray(e_train, np.float64), np.asarray(e_test, np.float64)
    losses = np.asarray(losses, np.float64)
    out = {k: np.zeros(betas.size) for k in ("train", "train_se", "test", "test_se", "loss")}
    notes: list[str] = []
    for i, beta in enumerate(betas):
        for name, series in (("train", e_train[i]), ("test", e_test[i])):
            try:
                stats = chain_statistics(series)
            except ValueError as error:
                raise ValueError(f"beta={beta:g}, {name} error: {error}; increase n_sweeps") from error
            out[name][i], out[name + "_se"][i] = stats.mean, stats.stderr
            notes.extend(f"beta={beta:g}, {name} error: {w}" for w in stats.warnings)
        out["loss"][i] = losses[i].mean()
    return GeneralizationResult(
        beta=betas, train_error=out["train"], train_error_stderr=out["train_se"], test_error=out["test"],
        test_error_stderr=out["test_se"], mean_train_error=mean_train.astype(np.float64),
        mean_test_error=mean_test.astype(np.float64), mean_loss=out["loss"],
        acceptance=np.asarray(acceptance, np.float64).mean(axis=1), minimizer_train_error=minimizer_train,
        minimizer_test_error=minimizer_test, minimizer_loss=float(ground.loss),
        minimizer_converged=bool(ground.converged), n_train=int(split.X_train.shape[0]),
        n_test=int(split.X_test.shape[0]), dim=int(model.dim), kernel=kernel, n_chains=n_chains,
        n_sweeps=n_samples, seed=seed, wall_time=time.perf_counter() - started, warnings=tuple(notes))
