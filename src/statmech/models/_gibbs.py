"""Training losses as Hamiltonians over the weights θ ∈ R^d (the seed's ML bridge).

A model is an immutable Equinox module with a loss L(θ) written in JAX. Its
Gibbs (Boltzmann) distribution over the weights at inverse temperature β is

    p(θ) = exp(−β L(θ) − (λ/2)|θ|²) / Z(β),
    Z(β) = ∫_{R^d} exp(−β L(θ) − (λ/2)|θ|²) dθ   (Lebesgue measure),

with λ = ``prior_precision``. The Gaussian factor is a prior that is *not*
normalised, so Z(0) = (2π/λ)^{d/2}. λ = 0 (the flat measure) is allowed only
where Z is finite; models check that where it can be decided.

Loss ↔ energy, weights ↔ degrees of freedom, global minima ↔ ground states:
as β → ∞, F(β) = −ln Z/β → min L (saddle point / Laplace). References:
D. J. C. MacKay, *Information Theory, Inference and Learning Algorithms*
(2003), ch. 27 and 41; A. Engel and C. Van den Broeck, *Statistical Mechanics
of Learning* (2001), ch. 1–2.
"""
from __future__ import annotations

import abc
import math
import dataclasses
import numbers
from typing import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from scipy import optimize

from statmech._validation import check_positive_int, check_real


# ---------------------------------------------------------------- validation
def _check_prior_precision(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"prior_precision must be a number >= 0 (e.g. 1.0), got {value!r}")
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"prior_precision must be a finite number >= 0 (λ in exp(−λ|θ|²/2)), got {value}; "
                         "use 0 for the flat measure or e.g. 1.0 for a unit Gaussian prior")
    return value


def _features(X) -> np.ndarray:
    """New inputs X for ``predict``: a float64 array, complex values refused (not cast)."""
    check_real(X, "X")
    return np.asarray(X, dtype=np.float64)


def _as_data(X, y, y_ndim=(1,)) -> tuple[np.ndarray, np.ndarray]:
    """Read-only float64 copies of X (n, p) and y (n,) (or (n, k) when allowed), checked."""
    check_real(X, "X")
    check_real(y, "y")
    try:
        X = np.array(X, dtype=np.float64)
        y = np.array(y, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError("X and y must be numeric arrays: X of shape (n_samples, n_features), "
                        "y of shape (n_samples,)") from error
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}; "
                         "for a single feature use X.reshape(-1, 1)")
    if y.ndim not in y_ndim:
        shapes = " or ".join(["(n_samples,)", "(n_samples, n_outputs)"][: max(y_ndim)])
        raise ValueError(f"y must have shape {shapes}, got shape {y.shape}")
    if X.shape[0] == 0:
        raise ValueError("X has no rows; pass at least one training example")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X and y do not match: X has {X.shape[0]} rows (samples) but y has {y.shape[0]} "
                         "entries; pass one label per row of X")
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or inf; remove or impute those entries")
    if not np.all(np.isfinite(y)):
        raise ValueError("y contains NaN or inf; remove or impute those entries")
    X.setflags(write=False)
    y.setflags(write=False)
    return X, y


def _design(X: np.ndarray, fit_intercept: bool) -> np.ndarray:
    if not isinstance(fit_intercept, (bool, np.bool_)):
        raise TypeError(f"fit_intercept must be True or False, got {fit_intercept!r}")
    design = np.hstack([X, np.ones((X.shape[0], 1))]) if fit_intercept else X.copy()
    design.setflags(write=False)
    return design


def strictly_separable(margins: np.ndarray) -> bool:
    """True when some w has a_i·w >= 0 for all i with at least one a_i·w > 0 (rows a_i = (2y_i − 1) x_i).

    Then L(θ) = Σ_i softplus(−a_i·θ) strictly decreases along w from every θ,
    so inf L is not attained. By Stiemke's theorem of the alternative this
    holds iff no μ > 0 has Aᵀμ = 0, checked with one linear programme
    (scipy ``linprog``, HiGHS): find μ >= 1 with Aᵀμ = 0 (E. Stiemke, Math.
    Ann. 76, 340 (1915); A. Albert and J. A. Anderson, Biometrika 71, 1 (1984)).
    """
    margins = np.asarray(margins, dtype=np.float64)
    n, d = margins.shape
    result = optimize.linprog(np.zeros(n), A_eq=margins.T, b_eq=np.zeros(d), bounds=[(1.0, None)] * n,
                              method="highs")
    return result.status != 0


def loss_is_coercive(margins: np.ndarray) -> bool:
    """True when L(θ) = Σ_i softplus(−a_i·θ) grows in every direction (so Z(β) < ∞ at λ = 0).

    L is bounded along w ≠ 0 iff a_i·w >= 0 for every i: either the data are
    (strictly) separable along w (:func:`strictly_separable`) or A w = 0
    (rank A < d, L is flat along w). Coercive iff neither.
    """
    margins = np.asarray(margins, dtype=np.float64)
    if np.linalg.matrix_rank(margins) < margins.shape[1]:
        return False
    return not strictly_separable(margins)


# ---------------------------------------------------------------- base class
class LossModel(eqx.Module):
    """A training loss L(θ), θ ∈ R^d, read as an energy over the weights.

    Subclasses provide ``loss(theta)`` (JAX, θ of shape (d,)), ``dim``,
    ``prior_precision`` λ and the data ``X``, ``y`` (None for a bare
    :class:`GibbsModel`). ``n_sites`` is ``dim``, so the densities of a
    :class:`~statmech.thermo.Thermo` are per parameter.
    """

    @abc.abstractmethod
    def loss(self, theta):
        """L(θ) for one weight vector θ of shape (d,)."""

    @property
    @abc.abstractmethod
    def dim(self) -> int:
        """Number of weights d."""

    @property
    def n_sites(self) -> int:
        """Degrees of freedom: the number of weights d (per-parameter densities)."""
        return self.dim

    @property
    def prior(self) -> float:
        """Alias of ``prior_precision``."""
        return self.prior_precision

    def energy(self, theta):
        """L(θ) batched over leading axes: θ of shape (..., d) → (...,)."""
        theta = jnp.asarray(theta)
        if theta.shape[-1:] != (self.dim,):
            raise ValueError(f"theta must have shape (..., {self.dim}), got {theta.shape}")
        flat = theta.reshape(-1, self.dim)
        return jax.vmap(self.loss)(flat).reshape(theta.shape[:-1])

    def log_weight(self, theta, beta):
        """Unnormalised log density −β L(θ) − (λ/2)|θ|² of the Gibbs distribution."""
        return -beta * self.loss(theta) - 0.5 * self.prior_precision * jnp.sum(theta**2)

    def initial_params(self) -> np.ndarray:
        """Starting point for optimisation (zeros unless the model says otherwise)."""
        return np.zeros(self.dim)

    def gauss_newton_hessian(self, theta):
        """Gauss–Newton (generalised) Hessian Σ_i J_iᵀ ∇²ℓ_i J_i; only for models with outputs."""
        raise ValueError(f"{type(self).__name__} has no output structure for a Gauss–Newton Hessian; "
                         "use hessian='exact'")

    def __repr__(self) -> str:
        samples = "" if self.X is None else f"n_samples={self.X.shape[0]}, "
        return f"{type(self).__name__}({samples}dim={self.dim}, prior_precision={self.prior_precision:g})"


class _OutputModel(LossModel):
    """A loss L(θ) = Σ_i ℓ(f_θ(x_i), y_i) with network outputs f (for Gauss–Newton)."""

    @abc.abstractmethod
    def predict(self, theta, X=None):
        """Outputs f_θ(x_i) of shape (n, k)."""

    @abc.abstractmethod
    def sample_loss(self, output, target):
        """ℓ(f, y) for one sample: output (k,), target as stored in y[i]."""

    def loss(self, theta):
        outputs = self.predict(theta)
        return jnp.sum(jax.vmap(self.sample_loss)(outputs, jnp.asarray(self.y)))

    def gauss_newton_hessian(self, theta):
        """G(θ) = Σ_i J_iᵀ ∇²_f ℓ_i J_i, J_i = ∂f_θ(x_i)/∂θ (PSD for convex ℓ); equals ∇²L for linear f.

        (N. N. Schraudolph, Neural Comput. 14, 1723 (2002).)
        """
        jac = jax.jacfwd(self.predict)(theta)                               # (n, k, d)
        outputs = self.predict(theta)
        curvature = jax.vmap(jax.hessian(self.sample_loss))(outputs, jnp.asarray(self.y))  # (n, k, k)
        return jnp.einsum("nkd,nkl,nle->de", jac, curvature, jac)


# ---------------------------------------------------------------- models
class LinearRegression(_OutputModel):
    """Least squares L(θ) = Σ_i (y_i − x_i·θ)² (no factor ½), a Gaussian Gibbs distribution.

    With ``fit_intercept=True`` a column of ones is appended, so θ = (w, b)
    and d = n_features + 1. λ = 0 is allowed iff the design matrix has rank d
    (else Z diverges along its null space). ``design`` is the matrix used.
    """

    X: np.ndarray
    y: np.ndarray
    design: np.ndarray
    prior_precision: float = eqx.field(static=True)
    fit_intercept: bool = eqx.field(static=True)

    def __init__(self, X, y, prior_precision=0.0, fit_intercept=False):
        self.X, self.y = _as_data(X, y)
        self.prior_precision = _check_prior_precision(prior_precision)
        self.design = _design(self.X, fit_intercept)
        self.fit_intercept = bool(fit_intercept)
        if self.prior_precision == 0:
            rank = int(np.linalg.matrix_rank(self.design))
            if rank < self.design.shape[1]:
                raise ValueError(f"Z diverges: X has rank {rank} < d = {self.design.shape[1]} (the loss is flat "
                                 "along its null space); use prior_precision > 0")

    @property
    def dim(self) -> int:
        return int(self.design.shape[1])

    def predict(self, theta, X=None):
        design = jnp.asarray(self.design) if X is None else _design(_features(X), self.fit_intercept)
        return (design @ theta)[:, None]

    def sample_loss(self, output, target):
        return (target - output[0]) ** 2

    def loss(self, theta):
        residual = jnp.asarray(self.y) - jnp.asarray(self.design) @ theta
        return jnp.sum(residual**2)


class LogisticRegression(_OutputModel):
    """Logistic loss L(θ) = Σ_i [log(1 + e^{x_i·θ}) − y_i x_i·θ], labels y_i ∈ {0, 1}.

    Written as Σ_i softplus(−(2y_i − 1) x_i·θ) (stable). λ = 0 is allowed
    only if Z is finite, i.e. the data are not (quasi-)separable; checked with
    a linear programme (:func:`loss_is_coercive`).
    """

    X: np.ndarray
    y: np.ndarray
    design: np.ndarray
    prior_precision: float = eqx.field(static=True)
    fit_intercept: bool = eqx.field(static=True)

    def __init__(self, X, y, prior_precision=1.0, fit_intercept=False):
        self.X, self.y = _as_data(X, y)
        if not np.all((self.y == 0) | (self.y == 1)):
            bad = self.y[(self.y != 0) & (self.y != 1)][0]
            raise ValueError(f"labels y must be 0 or 1, found {bad:g}; map ±1 labels with y = (y + 1) / 2")
        self.prior_precision = _check_prior_precision(prior_precision)
        self.design = _design(self.X, fit_intercept)
        self.fit_intercept = bool(fit_intercept)
        if self.prior_precision == 0 and not loss_is_coercive((2 * self.y - 1)[:, None] * self.design):
            raise ValueError("Z diverges for separable data at λ = 0: some direction w has "
                             "(2y_i − 1) x_i·w >= 0 for every sample, so the loss stays bounded along it; "
                             "use prior_precision > 0")

    @property
    def dim(self) -> int:
        return int(self.design.shape[1])

    def predict(self, theta, X=None):
        design = jnp.asarray(self.design) if X is None else _design(_features(X), self.fit_intercept)
        return (design @ theta)[:, None]

    def sample_loss(self, output, target):
        return jax.nn.softplus(-(2 * target - 1) * output[0])

    def loss(self, theta):
        margins = (2 * jnp.asarray(self.y) - 1) * (jnp.asarray(self.design) @ theta)
        return jnp.sum(jax.nn.softplus(-margins))


_ACTIVATIONS = {"tanh": jnp.tanh, "relu": jax.nn.relu, "gelu": jax.nn.gelu, "sigmoid": jax.nn.sigmoid,
                "softplus": jax.nn.softplus, "identity": lambda x: x}


class MLP(_OutputModel):
    """A small fully connected network f_θ, L(θ) = Σ_i ℓ(f_θ(x_i), y_i).

    Layers: x → act(x W₁ + b₁) → … → W_out h + b_out; all weights and biases
    flattened into θ with ``jax.flatten_util.ravel_pytree`` (order: W₁, b₁,
    W₂, b₂, …). ``loss="squared"``: ℓ = |y − f|² (y of shape (n,) or (n, k));
    ``loss="cross_entropy"``: y are class labels 0..K−1 and ℓ = logsumexp(f) − f_y
    with K outputs. λ > 0 is required (the loss of a network is not coercive:
    e.g. it is flat along directions of dead or saturated units). ``seed``
    fixes the LeCun-normal initial weights used as the optimiser's start
    (``initial_params``).
    """

    X: np.ndarray
    y: np.ndarray
    prior_precision: float = eqx.field(static=True)
    hidden: tuple[int, ...] = eqx.field(static=True)
    loss_name: str = eqx.field(static=True)
    activation: str = eqx.field(static=True)
    n_outputs: int = eqx.field(static=True)
    seed: int = eqx.field(static=True)
    init_theta: np.ndarray
    unravel: Callable = eqx.field(static=True)

    def __init__(self, X, y, hidden=(8,), loss="squared", prior_precision=1.0, activation="tanh", seed=0):
        if loss not in ("squared", "cross_entropy"):
            raise ValueError(f"loss must be 'squared' or 'cross_entropy', got {loss!r}")
        self.X, self.y = _as_data(X, y, y_ndim=(1, 2) if loss == "squared" else (1,))
        if isinstance(hidden, (numbers.Integral, np.integer)):
            hidden = (hidden,)
        hidden = tuple(check_positive_int(h, "each hidden layer width") for h in hidden)
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(_ACTIVATIONS)}, got {activation!r}")
        prior_precision = _check_prior_precision(prior_precision)
        if prior_precision == 0:
            raise ValueError("an MLP needs prior_precision > 0: its loss does not grow in every direction "
                             "(saturated or dead units, permutations), so Z diverges at λ = 0")
        if loss == "cross_entropy":
            if not np.all(self.y == np.round(self.y)) or np.any(self.y < 0):
                raise ValueError("for loss='cross_entropy' y must hold class labels 0, 1, ..., K-1")
            n_outputs = int(self.y.max()) + 1
            if n_outputs < 2:
                raise ValueError("for loss='cross_entropy' y must contain at least two classes (labels 0..K-1)")
        else:
            n_outputs = 1 if self.y.ndim == 1 else int(self.y.shape[1])
        seed = check_positive_int(seed, "seed", minimum=0)
        self.prior_precision, self.hidden, self.loss_name = prior_precision, hidden, loss
        self.activation, self.n_outputs, self.seed = activation, n_outputs, seed
        rng = np.random.default_rng(seed)
        widths = (self.X.shape[1], *hidden, n_outputs)
        layers = [(rng.normal(size=(a, b)) / np.sqrt(a), np.zeros(b)) for a, b in zip(widths[:-1], widths[1:])]
        with jax.enable_x64(True):
            flat, unravel = ravel_pytree([(jnp.asarray(w), jnp.asarray(b)) for w, b in layers])
            init_theta = np.array(flat, dtype=np.float64)
        init_theta.setflags(write=False)
        self.init_theta, self.unravel = init_theta, unravel

    @property
    def dim(self) -> int:
        return int(self.init_theta.shape[0])

    def initial_params(self) -> np.ndarray:
        return np.array(self.init_theta)

    def predict(self, theta, X=None):
        act = _ACTIVATIONS[self.activation]
        h = jnp.asarray(self.X if X is None else _features(X))
        layers = self.unravel(theta)
        for w, b in layers[:-1]:
            h = act(h @ w + b)
        w, b = layers[-1]
        return h @ w + b

    def sample_loss(self, output, target):
        if self.loss_name == "squared":
            return jnp.sum((jnp.atleast_1d(target) - output) ** 2)
        return jax.nn.logsumexp(output) - output[target.astype(jnp.int32)]


class GibbsModel(LossModel):
    """Any loss written in JAX: ``GibbsModel(loss_fn, dim, prior_precision)``.

    ``loss_fn(theta)`` maps θ of shape (d,) to a scalar. At λ = 0 the user
    vouches that Z is finite (it cannot be checked for a general loss);
    the sampling estimators need λ > 0 regardless.
    """

    loss_fn: Callable = eqx.field(static=True)
    n_params: int = eqx.field(static=True)
    prior_precision: float = eqx.field(static=True)
    X: None = eqx.field(static=True, default=None)
    y: None = eqx.field(static=True, default=None)

    def __init__(self, loss_fn, dim, prior_precision=1.0):
        if not callable(loss_fn):
            raise TypeError(f"loss_fn must be a function theta -> scalar written in JAX, got {loss_fn!r}")
        self.loss_fn = loss_fn
        self.n_params = check_positive_int(dim, "dim")
        self.prior_precision = _check_prior_precision(prior_precision)
        self.X = None
        self.y = None
        value = jax.eval_shape(loss_fn, jax.ShapeDtypeStruct((self.n_params,), jnp.float32))
        if getattr(value, "shape", None) != ():
            raise ValueError(f"loss_fn must return a scalar for theta of shape ({self.n_params},), "
                             f"got shape {getattr(value, 'shape', None)}")

    @property
    def dim(self) -> int:
        return self.n_params

    def loss(self, theta):
        return self.loss_fn(theta)


# ------------------------------------------------------------ the minimum of the loss
def _check_model(model) -> LossModel:
    if not isinstance(model, LossModel):
        raise TypeError(f"expected a statmech.ml loss model (LinearRegression, LogisticRegression, MLP, "
                        f"GibbsModel), got {type(model).__name__}")
    return model


# --------------------------------------------------------------- objective
@eqx.filter_jit
def _objective(model, theta, beta, prior_weight, scale):
    """(β L(θ) + (w/2)|θ|²)/s, its gradient and Hessian (w = prior weight, s = scale)."""

    def phi(t):
        return (beta * model.loss(t) + 0.5 * prior_weight * jnp.sum(t**2)) / scale

    return phi(theta), jax.grad(phi)(theta), jax.hessian(phi)(theta)


@eqx.filter_jit
def _loss_value_grad(model, theta):
    return model.loss(theta), jax.grad(model.loss)(theta)


@eqx.filter_jit
def _loss_hessian(model, theta):
    return jax.hessian(model.loss)(theta)


@dataclasses.dataclass(frozen=True)
class MinimizeResult:
    """The zero-temperature answer: ``loss`` = min L, ``params`` = θ*.

    ``objective`` is the minimised function's value (equal to ``loss`` unless
    ``include_prior=True``); ``converged`` says whether the optimiser met its
    gradient tolerance; ``gradient_norm`` is |∇objective| at θ*.
    """

    loss: float
    params: np.ndarray
    converged: bool
    n_iterations: int
    objective: float
    gradient_norm: float
    message: str = ""


@eqx.filter_jit
def _objective_value_grad(model, theta, beta, prior_weight, scale):
    def phi(t):
        return (beta * model.loss(t) + 0.5 * prior_weight * jnp.sum(t**2)) / scale

    return jax.value_and_grad(phi)(theta)


#: above this many weights the optimiser is L-BFGS-B (no dense Hessians)
NEWTON_MAX_DIM = 400


def _argmin(model, beta: float, prior_weight: float, init=None, gtol: float = 1e-10, max_iterations: int = 500):
    """argmin of β L(θ) + (w/2)|θ|² in float64 (the objective is divided by β + w).

    scipy ``trust-exact`` with exact JAX gradients and Hessians, then up to
    four Newton steps while the Hessian is positive definite and the objective
    does not rise; L-BFGS-B above ``NEWTON_MAX_DIM`` weights. Returns
    (θ*, converged, n_iterations, message, gradient norm).
    """
    scale = beta + prior_weight
    if scale <= 0:
        raise ValueError("nothing to minimise: beta = 0 and no prior term")
    theta0 = model.initial_params() if init is None else np.array(init, dtype=np.float64)
    if theta0.shape != (model.dim,):
        raise ValueError(f"init must have shape ({model.dim},), got {theta0.shape}")
    newton = model.dim <= NEWTON_MAX_DIM
    with jax.enable_x64(True):
        args = (jnp.float64(beta), jnp.float64(prior_weight), jnp.float64(scale))
        cache = {}

        def evaluate(theta):
            key = theta.tobytes()
            if key not in cache:
                cache.clear()
                if newton:
                    value, grad, hess = _objective(model, jnp.asarray(theta), *args)
                    hess = np.asarray(hess, dtype=np.float64)
                else:
                    (value, grad), hess = _objective_value_grad(model, jnp.asarray(theta), *args), None
                if not (np.isfinite(value) and np.all(np.isfinite(grad))
                        and (hess is None or np.all(np.isfinite(hess)))):
                    raise ValueError(f"the loss (or its gradient/Hessian) is not finite at theta = {theta.tolist()}"
                                     f" (value {float(value)!r}); check loss_fn for NaN or overflow there")
                cache[key] = (float(value), np.asarray(grad, dtype=np.float64), hess)
            return cache[key]

        if newton:
            result = optimize.minimize(lambda t: evaluate(t)[0], theta0, jac=lambda t: evaluate(t)[1],
                                       hess=lambda t: evaluate(t)[2], method="trust-exact",
                                       options={"gtol": gtol, "maxiter": max_iterations})
        else:
            result = optimize.minimize(lambda t: evaluate(t)[0], theta0, jac=lambda t: evaluate(t)[1],
                                       method="L-BFGS-B", options={"gtol": gtol, "maxiter": max_iterations})
        theta = np.array(result.x, dtype=np.float64)
        for _ in range(4 if newton else 0):   # Newton polish
            value, grad, hess = evaluate(theta)
            try:
                np.linalg.cholesky(hess)
                step = np.linalg.solve(hess, grad)
            except np.linalg.LinAlgError:
                break
            candidate = theta - step
            if not evaluate(candidate)[0] <= value + 1e-15 * max(1.0, abs(value)):
                break
            theta = candidate
            if np.linalg.norm(step) <= 1e-15 * (1.0 + np.linalg.norm(theta)):
                break
        grad_norm = float(np.linalg.norm(evaluate(theta)[1]))
    converged = bool(result.success or grad_norm <= gtol)
    return theta, converged, int(result.nit), str(result.message), grad_norm


def minimize(model, *, include_prior: bool = False, init=None, gtol: float = 1e-10,
             max_iterations: int = 500) -> MinimizeResult:
    """min_θ L(θ): the ground state of the loss (the β → ∞ limit of the Gibbs distribution).

    By default the prior is *not* included: the result is the minimum of the
    training loss itself, the limit of F(β) as β → ∞ (for any λ). With
    ``include_prior=True`` it minimises L(θ) + (λ/2)|θ|² (the β = 1 MAP
    objective). Float64 trust-region Newton (scipy ``trust-exact``, exact JAX
    gradients and Hessians; L-BFGS-B above ``NEWTON_MAX_DIM`` = 400 weights) from
    ``model.initial_params()`` or ``init``; linear regression uses the
    least-squares solution (minimum-norm when X is rank deficient). A
    non-convex loss (MLP) gives a local minimum. A loss whose infimum is not
    attained gives ``converged=False``: detected exactly for logistic
    regression on separable data (a linear programme), otherwise only when the
    gradient does not fall below ``gtol``.
    """
    _check_model(model)
    max_iterations = check_positive_int(max_iterations, "max_iterations")
    if not isinstance(include_prior, bool):
        raise TypeError(f"include_prior must be True or False, got {include_prior!r}")
    weight = model.prior_precision if include_prior else 0.0
    if isinstance(model, LinearRegression):
        design, y = model.design, model.y
        if weight > 0:   # ridge: [X; sqrt(λ/2) I] θ ≈ [y; 0]
            design = np.vstack([design, math.sqrt(weight / 2) * np.eye(model.dim)])
            y = np.concatenate([y, np.zeros(model.dim)])
        theta, *_ = np.linalg.lstsq(design, y, rcond=None)
        residual = model.y - model.design @ theta
        loss = float(residual @ residual)
        grad = -2 * model.design.T @ residual + weight * theta
        return MinimizeResult(loss=loss, params=theta, converged=True, n_iterations=1,
                              objective=loss + 0.5 * weight * float(theta @ theta),
                              gradient_norm=float(np.linalg.norm(grad)), message="least squares (lstsq)")
    theta, converged, n_iterations, message, grad_norm = _argmin(model, 1.0, weight, init, gtol, max_iterations)
    with jax.enable_x64(True):
        loss = float(_loss_value_grad(model, jnp.asarray(theta))[0])
    if not converged:
        message = (f"{message}; the gradient norm is {grad_norm:.3g} > gtol = {gtol:g}: the minimum may not "
                   "be attained (e.g. separable data for logistic regression) or more iterations are needed")
    elif weight == 0 and isinstance(model, LogisticRegression) and strictly_separable(
            (2 * model.y - 1)[:, None] * model.design):
        converged = False
        message = ("the data are separable: L decreases without bound along a separating direction, so "
                   "inf L = 0 is approached as |θ| → ∞ but not attained (the minimum may not be attained); "
                   "use include_prior=True for a finite minimiser")
    return MinimizeResult(loss=loss, params=theta, converged=converged, n_iterations=n_iterations,
                          objective=loss + 0.5 * weight * float(theta @ theta), gradient_norm=grad_norm,
                          message=message)
