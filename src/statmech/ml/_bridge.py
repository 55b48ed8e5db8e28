"""The zero-temperature end of the bridge: min L, and F(β) → min L as β → ∞.

As β → ∞ the Gibbs distribution over the weights concentrates on the global
minima of the loss and, by Laplace's method around a non-degenerate minimum θ*
of L (∇²L(θ*) = K positive definite),

    ln Z(β) = −β L(θ*) − (λ/2)|θ*|² + (d/2) ln(2π/β) − ½ ln det(K + (λ/β) I) + O(1/β),
    F(β) − min L = (d/2β) ln(β/2π) + (1/2β) ln det(K + (λ/β) I) + (λ/2β)|θ*|² + O(1/β²)

(N. G. de Bruijn, *Asymptotic Methods in Analysis*, 1958, ch. 4; the seed's
step 6: the free energy tends to the minimum training loss). The gap shrinks
like ln β/β, and U(β) − min L ≈ d/(2β) (equipartition: each weight carries
½ k_B T of loss).
"""
from __future__ import annotations

import dataclasses
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from scipy import optimize

from statmech._validation import as_beta_array, check_positive_int
from statmech.ml._models import LinearRegression, LogisticRegression, LossModel, strictly_separable


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


# ------------------------------------------------------------ β → ∞
@dataclasses.dataclass(frozen=True)
class ZeroTemperatureLimit:
    """F(β), U(β), S(β) on a β grid next to min L and the Laplace prediction of the gap.

    ``gap = F − min L``; ``laplace_gap`` is the leading large-β prediction
    [(d/2) ln(β/2π) + ½ ln det(K + (λ/β) I) + (λ/2)|θ*|²]/β with K = ∇²L(θ*)
    at the minimiser θ* of L (NaN where K + (λ/β)I is not positive definite).
    ``thermo`` is the full :class:`~statmech.thermo.Thermo` of the method.
    """

    beta: np.ndarray
    free_energy: np.ndarray
    energy: np.ndarray
    entropy: np.ndarray
    min_loss: float
    gap: np.ndarray
    laplace_gap: np.ndarray
    params: np.ndarray
    method: str
    thermo: object = dataclasses.field(repr=False)

    def plot(self, ax=None):
        """F(β) and U(β) approaching min L (log β axis); returns the matplotlib Axes."""
        if ax is None:
            from matplotlib.figure import Figure  # no pyplot: works headless, leaves global state alone

            ax = Figure(figsize=(5, 3.5), layout="constrained").add_subplot()
        ax.semilogx(self.beta, self.free_energy, "o-", label=r"$F(\beta) = -\ln Z/\beta$")
        ax.semilogx(self.beta, self.energy, "s--", label=r"$U(\beta) = \langle L\rangle$")
        ax.semilogx(self.beta, self.min_loss + self.laplace_gap, ":", label="min L + Laplace gap")
        ax.axhline(self.min_loss, color="k", lw=0.8, label="min L")
        ax.set_xlabel(r"$\beta$")
        ax.set_ylabel("loss")
        ax.set_title(f"zero-temperature limit [{self.method}]")
        ax.legend(fontsize="small")
        return ax


def laplace_gap(model, betas, params=None) -> np.ndarray:
    """Leading large-β prediction of F(β) − min L (see the module docstring), at the minimiser ``params``."""
    _check_model(model)
    betas, _ = as_beta_array(betas)
    if params is None:
        params = minimize(model).params
    lam, d = model.prior_precision, model.dim
    with jax.enable_x64(True):
        hess = np.asarray(_loss_hessian(model, jnp.asarray(params)), dtype=np.float64)
    eigenvalues = np.linalg.eigvalsh(0.5 * (hess + hess.T))
    gap = np.full(betas.shape, np.nan)
    positive = betas > 0
    b = betas[positive]
    shifted = eigenvalues[None, :] + lam / b[:, None]
    ok = np.all(shifted > 0, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        logdet = np.where(ok, np.sum(np.log(np.where(shifted > 0, shifted, 1.0)), axis=1), np.nan)
    gap[positive] = (0.5 * d * np.log(b / (2 * np.pi)) + 0.5 * logdet + 0.5 * lam * float(params @ params)) / b
    return gap


def zero_temperature_limit(model, betas, method: str = "laplace", **options) -> ZeroTemperatureLimit:
    """F(β) = −ln Z/β, U = ⟨L⟩ and S over ``betas`` with min L and the Laplace gap prediction.

    ``method`` is any method of :func:`statmech.thermo.thermo` that applies
    (``"exact"`` for linear regression, ``"quadrature"`` for d <= 3,
    ``"laplace"``, or a sampling method; ``options`` go to it). β must be > 0.
    """
    from statmech.thermo import thermo

    _check_model(model)
    betas, _ = as_beta_array(betas)
    if np.any(betas <= 0):
        raise ValueError("zero_temperature_limit needs beta > 0 (F = −ln Z/β); pass e.g. np.geomspace(0.1, 1e4, 12)")
    result = thermo(model, betas, method=method, **options)
    ground = minimize(model)
    free_energy = np.asarray(result.free_energy.value, dtype=np.float64)
    missing = np.full_like(betas, np.nan)
    energy = missing if result.energy is None else np.asarray(result.energy.value, dtype=np.float64)
    entropy = missing if result.entropy is None else np.asarray(result.entropy.value, dtype=np.float64)
    return ZeroTemperatureLimit(
        beta=betas, free_energy=free_energy, energy=energy, entropy=entropy, min_loss=ground.loss,
        gap=free_energy - ground.loss, laplace_gap=laplace_gap(model, betas, ground.params),
        params=ground.params, method=result.method, thermo=result)
