"""log Z(β) of loss models without sampling: ``"exact"``, ``"quadrature"``, ``"laplace"``.

Measure and conventions (see :mod:`statmech.models._gibbs`):

    Z(β) = ∫_{R^d} exp(−β L(θ) − (λ/2)|θ|²) dθ,

the "energy" is the loss, U = ⟨L⟩ = −∂ ln Z/∂β, C = β² Var(L), F = −ln Z/β
and S = β(U − F) = ln Z + β⟨L⟩ (relative to the prior weight). Densities of a
Thermo are per weight (n_sites = d).

- ``"exact"`` — linear regression, closed Gaussian integral (any λ, any β).
- ``"laplace"`` — saddle point at the minimiser of β L + (λ/2)|θ|²; exact
  for quadratic losses; no error bar (a deterministic approximation).
- ``"quadrature"`` — d <= 3, sinh-mapped trapezoidal rule centred and
  scaled at the Laplace point (exponentially convergent), log domain.
"""
from __future__ import annotations

import math

import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import logsumexp

from statmech._validation import as_beta_array, check_memory, check_time
from statmech.exact._levels import LevelAccumulator
from statmech.models._gibbs import LinearRegression, LossModel, _argmin, _check_model
from statmech._types import Method, Moments

LOG_2PI = math.log(2.0 * math.pi)


def _check_betas(model, betas, method: str) -> np.ndarray:
    if model.prior_precision == 0 and np.any(betas == 0):
        raise ValueError(f"{method}: Z diverges at beta = 0 with prior_precision = 0 (flat measure on R^d); "
                         "use beta > 0 or prior_precision > 0")
    return betas


def _no_options(method: str, options, allowed=("seed",)) -> None:
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise TypeError(f"method {method!r} got unexpected option(s) {', '.join(unknown)}; "
                        f"it accepts {', '.join(allowed) or 'none'}")


# ===================================================================== exact
def gaussian_moments(model: LinearRegression, betas) -> Moments:
    """Closed-form ln Z, ⟨L⟩ and Var(L) of linear regression, L = |y − Xθ|².

    With A = 2β XᵀX + λI, b = 2β Xᵀy and θ* = A⁻¹b (the ridge solution),

        ln Z = (d/2) ln 2π − ½ ln det A − [β L(θ*) + (λ/2)|θ*|²]
             (= (d/2) ln 2π − ½ ln det A + ½ bᵀA⁻¹b − β yᵀy),
        ⟨L⟩  = L(θ*) + tr(XᵀX A⁻¹),
        Var L = gᵀ A⁻¹ g + 2 tr((XᵀX A⁻¹)²),   g = ∇L(θ*) = −2Xᵀ(y − Xθ*),

    from θ ~ N(θ*, A⁻¹) (C. M. Bishop, *Pattern Recognition and Machine
    Learning*, 2006, §3.5). Computed from the SVD of X (eigenvalues
    2βs_k² + λ of A) and a least-squares solve for θ*, so nothing cancels:
    finite and accurate from β = 0 (λ > 0) to β = 10⁶.
    """
    if not isinstance(model, LinearRegression):
        raise TypeError(f"gaussian_moments needs a LinearRegression, got {type(model).__name__}")
    betas = _check_betas(model, as_beta_array(betas)[0], "exact")
    design, y = model.design, model.y
    lam, d = model.prior_precision, model.dim
    _, singular, vt = np.linalg.svd(design, full_matrices=True)   # vt: (d, d), rows = eigenvectors of XᵀX
    s2 = np.zeros(d)
    s2[: singular.size] = singular**2
    log_z, energy, variance = (np.zeros(betas.size) for _ in range(3))
    for i, beta in enumerate(betas):
        eig = 2 * beta * s2 + lam                       # eigenvalues of A
        if beta > 0:
            stacked = np.vstack([math.sqrt(beta) * design, math.sqrt(lam / 2) * np.eye(d)])
            theta, *_ = np.linalg.lstsq(stacked, np.concatenate([math.sqrt(beta) * y, np.zeros(d)]), rcond=None)
        else:
            theta = np.zeros(d)
        residual = y - design @ theta
        loss = float(residual @ residual)
        grad = -2.0 * design.T @ residual
        ratio = s2 / eig                                 # eigenvalues of XᵀX A⁻¹
        log_z[i] = 0.5 * d * LOG_2PI - 0.5 * np.sum(np.log(eig)) - (beta * loss + 0.5 * lam * float(theta @ theta))
        energy[i] = loss + np.sum(ratio)
        variance[i] = np.sum((vt @ grad) ** 2 / eig) + 2.0 * np.sum(ratio**2)
    return Moments(log_z=log_z, energy=energy, energy_variance=variance)


def _exact_why_not(model, options):
    if not isinstance(model, LinearRegression):
        return "a closed form exists only for linear regression (a Gaussian integral); use 'quadrature' " \
               "(d <= 3), 'laplace' or a sampling method"
    return None


def _exact_moments(model, betas, **options):
    _no_options("exact", options)
    return gaussian_moments(model, betas)


# ===================================================================== Laplace
def _hessian_fn(model, kind: str):
    if kind == "exact":
        return jax.hessian(model.loss)
    if kind == "gauss-newton":
        return model.gauss_newton_hessian
    raise ValueError(f"hessian must be 'exact' or 'gauss-newton', got {kind!r}")


@eqx.filter_jit
def _laplace_terms(model, theta_star, beta, kind: str):
    """Laplace ln Z at β and its first two β-derivatives (θ* moved with β by the implicit function theorem).

    ln Z_L(β) = −[β L(θ*) + (λ/2)|θ*|²] + (d/2) ln 2π − ½ ln det(β K(θ*) + λI),
    dθ*/dβ = −(β∇²L + λI)⁻¹ ∇L(θ*), K = ∇²L (``"exact"``) or Gauss–Newton.
    """
    lam, d = model.prior_precision, model.dim
    hess = _hessian_fn(model, kind)
    exact_hess = jax.hessian(model.loss)
    eye = jnp.eye(d, dtype=theta_star.dtype)

    @jax.custom_jvp
    def moved(b, t0):
        return t0   # evaluated only at b = β, where the minimiser is t0

    @moved.defjvp
    def _moved_jvp(primals, tangents):
        b, t0 = primals
        db, _ = tangents
        t = moved(b, t0)
        direction = -jnp.linalg.solve(b * exact_hess(t) + lam * eye, jax.grad(model.loss)(t))
        return t, direction * db

    def log_z(b):
        t = moved(b, theta_star)
        _, logdet = jnp.linalg.slogdet(b * hess(t) + lam * eye)
        return -(b * model.loss(t) + 0.5 * lam * jnp.sum(t**2)) + 0.5 * d * LOG_2PI - 0.5 * logdet

    first = jax.jacfwd(log_z)
    second = jax.jacfwd(first)
    sign, _ = jnp.linalg.slogdet(beta * hess(theta_star) + lam * eye)
    return log_z(beta), -first(beta), second(beta), sign


def laplace_moments(model, betas, hessian: str = "exact", init=None) -> Moments:
    """Laplace (saddle-point) ln Z, with U = −∂ln Z_L/∂β and Var = ∂²ln Z_L/∂β² of the same formula.

    ln Z ≈ −Φ(θ*) + (d/2) ln 2π − ½ ln det H,  Φ = β L + (λ/2)|θ|², H = β K + λI
    at the minimiser θ* of Φ (found in float64 by trust-region Newton, warm
    started along the β grid); K is ∇²L(θ*) (``hessian="exact"``) or the
    Gauss–Newton matrix (``"gauss-newton"``, PSD; for linear/logistic
    regression the two coincide). U and Var(L) differentiate this formula in
    β including θ*(β) (implicit function theorem; JAX forward mode), so the
    Laplace thermodynamics is internally consistent (U = −∂ln Z/∂β exactly).
    Exact for quadratic losses; relative error O(1/β) otherwise (de Bruijn
    1958, ch. 4; MacKay 2003, ch. 27). Raises if H is not positive definite.
    """
    betas = _check_betas(_check_model(model), as_beta_array(betas)[0], "laplace")
    _hessian_fn(model, hessian)  # validates the option
    out = np.zeros((3, betas.size))
    order = np.argsort(betas)
    theta = None if init is None else np.asarray(init, dtype=np.float64)
    for i in order:
        beta = float(betas[i])
        theta, converged, _, message, grad_norm = _argmin(model, beta, model.prior_precision, theta)
        if not converged and grad_norm > 1e-6:
            raise ValueError(f"laplace: the minimiser of beta*L + (λ/2)|θ|² at beta={beta:g} did not converge "
                             f"({message}; |grad| = {grad_norm:.3g}); pass init= closer to a minimum")
        with jax.enable_x64(True):
            log_z, energy, variance, sign = _laplace_terms(model, jnp.asarray(theta), jnp.float64(beta), hessian)
        if float(sign) <= 0:
            raise ValueError(f"laplace: the Hessian β∇²L + λI is not positive definite at the minimiser found "
                             f"for beta={beta:g}; Laplace does not apply there (try hessian='gauss-newton' "
                             "or a sampling method)")
        out[:, i] = float(log_z), float(energy), float(variance)
    return Moments(log_z=out[0], energy=out[1], energy_variance=out[2])


def _laplace_moments(model, betas, hessian="exact", init=None, **options):
    _no_options("laplace", options, allowed=("hessian", "init", "seed"))
    return laplace_moments(model, betas, hessian=hessian, init=init)


# ===================================================================== quadrature
MAX_QUADRATURE_DIM = 3
#: points evaluated per compiled call
_QUADRATURE_CHUNK = 1 << 15


@eqx.filter_jit
def _loss_batch(model, thetas):
    return jax.vmap(model.loss)(thetas)


@eqx.filter_jit
def _curvature(model, theta, kind: str = "exact"):
    """∇²L(θ) (``"exact"``) or the Gauss–Newton matrix (``"gauss-newton"``)."""
    return _hessian_fn(model, kind)(theta)


def _sinh_rule(step: float, u_max: float):
    """Nodes z_k = sinh(u_k) and log weights ln(h cosh u_k) of the trapezoidal rule in u, u_k = k h, |u_k| <= u_max."""
    half = int(math.ceil(u_max / step - 1e-9))
    u = step * np.arange(-half, half + 1)
    return np.sinh(u), np.log(step) + np.log(np.cosh(u))


def quadrature_moments(model, betas, step: float | None = None, u_max: float = 4.0, hessian: str = "exact",
                       init=None, max_u_max: float = 10.0, tolerance: float = 1e-4) -> Moments:
    """ln Z, ⟨L⟩, Var(L) by tensor-product quadrature for d <= 3.

    Centre and scale at the Laplace point: θ = θ* + C z with C Cᵀ = H⁻¹
    (H = β∇²L(θ*) + λI), then z_j = sinh(u_j) and the trapezoidal rule in u
    with step h = ``step`` (default 1/16 for d <= 2, 1/8 for d = 3) on |u| <= ``u_max``. The map turns exponential tails
    (logistic losses at small λ) into double-exponential ones, and the
    trapezoidal rule converges exponentially fast in 1/h for analytic
    integrands (Takahasi & Mori, Publ. RIMS 9, 721 (1974); Trefethen &
    Weideman, SIAM Rev. 56, 385 (2014)). Where the integrand is not
    negligible (> e⁻⁴⁰ of its peak) on the edge of the box, u_max grows by 1
    (up to ``max_u_max``, then ValueError). Sums are in the log domain
    (:class:`~statmech.exact._levels.LevelAccumulator`). Defaults reach
    ~1e−12 in ln Z on linear and logistic regression (d = 2; h = 1/8 gives
    ~1e−8 on logistic, ~1e−13 on Gaussian integrands). The nodes of even
    index form the rule with step 2h; when it differs from the full rule by
    more than ``tolerance`` in ln Z (an under-resolved integrand, e.g. several
    well separated minima) a RuntimeWarning says so. Cost: (2u_max/h + 1)^d
    loss evaluations per β (measured times: docs/guides/ml.md).
    """
    betas = _check_betas(_check_model(model), as_beta_array(betas)[0], "quadrature")
    d = model.dim
    if d > MAX_QUADRATURE_DIM:
        raise ValueError(f"quadrature is limited to d <= {MAX_QUADRATURE_DIM} weights (tensor grid of "
                         f"(2 u_max/step)^d points), this model has d = {d}; use 'laplace' or 'ti', 'ais', 'smc'")
    if step is None:
        step = 0.0625 if d <= 2 else 0.125
    for name, value in (("step", step), ("u_max", u_max), ("max_u_max", max_u_max), ("tolerance", tolerance)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < np.inf:
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    _check_grid(model, float(step), float(u_max), betas.size)
    lam = model.prior_precision
    out = np.zeros((3, betas.size))
    theta = None if init is None else np.asarray(init, dtype=np.float64)
    for i in np.argsort(betas):
        beta = float(betas[i])
        theta, _, _, _, _ = _argmin(model, beta, lam, theta)
        with jax.enable_x64(True):
            curvature = np.asarray(_curvature(model, jnp.asarray(theta), hessian), dtype=np.float64)
        precision = beta * 0.5 * (curvature + curvature.T) + lam * np.eye(d)
        try:
            chol_precision = np.linalg.cholesky(precision)
        except np.linalg.LinAlgError:
            raise ValueError(f"quadrature: β∇²L + λI is not positive definite at the minimiser for beta={beta:g}; "
                             "try hessian='gauss-newton' to scale the grid") from None
        # C = L⁻ᵀ with H = L Lᵀ, so C Cᵀ = H⁻¹ and ln|det C| = −Σ ln L_kk
        scale = np.linalg.solve(chol_precision.T, np.eye(d))
        log_det_scale = -float(np.sum(np.log(np.diag(chol_precision))))
        width = float(u_max)
        while True:
            z1, logw1 = _sinh_rule(float(step), width)
            z = np.stack([g.reshape(-1) for g in np.meshgrid(*([z1] * d), indexing="ij")], axis=1)
            log_w = sum(np.meshgrid(*([logw1] * d), indexing="ij")).reshape(-1)
            thetas = theta[None, :] + z @ scale.T
            losses = _evaluate_losses(model, thetas)
            log_g = log_w + log_det_scale - 0.5 * lam * np.sum(thetas**2, axis=1)
            log_integrand = log_g - beta * losses
            if not np.all(np.isfinite(log_integrand)):
                raise ValueError(f"quadrature: the loss is not finite on the grid at beta={beta:g}")
            on_edge = np.any(np.abs(z) >= z1[-1], axis=1)
            if np.max(log_integrand[on_edge]) <= np.max(log_integrand) - 40.0:
                break
            if width + 1.0 > max_u_max:
                raise ValueError(f"quadrature: the integrand is not negligible on the edge of the grid at "
                                 f"beta={beta:g} even with u_max = {width:g} (|z| <= {z1[-1]:.3g} Laplace widths); "
                                 "the tails are too heavy for this rule; raise max_u_max")
            width += 1.0
            _check_grid(model, float(step), width, 1)
        accumulator = LevelAccumulator([beta], track_magnetization=False)
        accumulator.add(losses, log_g)
        out[:, i] = accumulator.log_w[0], accumulator.energy_mean[0], accumulator.energy_var[0]
        # the rule with step 2h uses every other node: |ln Z_h − ln Z_2h| bounds the error of ln Z_h
        index = np.stack([g.reshape(-1) for g in np.meshgrid(*([np.arange(z1.size)] * d), indexing="ij")], axis=1)
        coarse = np.all(index % 2 == 0, axis=1)
        coarse_log_z = logsumexp(log_integrand[coarse]) + d * math.log(2.0)
        if abs(coarse_log_z - out[0, i]) > tolerance:
            warnings.warn(f"quadrature at beta={beta:g}: the rule with twice the step differs by "
                          f"{abs(coarse_log_z - out[0, i]):.2g} in ln Z (> {tolerance:g}); the integrand is not "
                          "resolved (several modes?); pass a smaller step", RuntimeWarning, stacklevel=2)
    return Moments(log_z=out[0], energy=out[1], energy_variance=out[2])


#: Bytes per grid node and coordinate (+1): the nodes, θ's, weights, losses and index arrays in float64.
_GRID_BYTES_PER_NODE_AND_AXIS = 48
#: Seconds per node, and per node, data row and weight, of one loss evaluation on the grid (measured
#: 1.5e-8 to 2.3e-8 with logistic regression, 50-2000 rows, d = 2, 3; shared 2-core machine).
_SECONDS_PER_NODE = 1e-6
_SECONDS_PER_NODE_ROW_AXIS = 2e-8


def _check_grid(model, step: float, u_max: float, n_betas: int) -> None:
    """Refuse, before building it, a grid of (2⌈u_max/h⌉ + 1)^d nodes over the memory or time budget
    (48·(d+1) bytes per node; rough time n_betas · nodes · (1e-6 + 2e-8 · rows · d) s)."""
    d = model.dim
    n_nodes = float(2 * math.ceil(u_max / step - 1e-9) + 1) ** d
    n_rows = 1 if getattr(model, "X", None) is None else int(model.X.shape[0])
    what = f"quadrature with step={step:g}, u_max={u_max:g} in d = {d} ({n_nodes:.3g} grid nodes)"
    alternative = "pass a larger step (the default is 1/16 for d <= 2, 1/8 for d = 3) or use method='laplace' or 'ti'"
    check_memory(_GRID_BYTES_PER_NODE_AND_AXIS * (d + 1) * n_nodes, what, alternative)
    check_time(n_betas * n_nodes * (_SECONDS_PER_NODE + _SECONDS_PER_NODE_ROW_AXIS * n_rows * d),
               f"{what} at {n_betas} beta(s) (a rough estimate)", alternative)


def _evaluate_losses(model, thetas: np.ndarray) -> np.ndarray:
    """L at many points, float64, in fixed-size chunks (one compilation)."""
    n = thetas.shape[0]
    chunk = min(_QUADRATURE_CHUNK, n)
    out = np.empty(n)
    with jax.enable_x64(True):
        for start in range(0, n, chunk):
            block = thetas[start:start + chunk]
            pad = chunk - block.shape[0]
            if pad:
                block = np.concatenate([block, np.repeat(block[-1:], pad, axis=0)])
            values = np.asarray(_loss_batch(model, jnp.asarray(block)), dtype=np.float64)
            out[start:start + chunk] = values[: chunk - pad]
    return out


def _quadrature_why_not(model, options):
    if model.dim > MAX_QUADRATURE_DIM:
        return (f"tensor-product quadrature is limited to d <= {MAX_QUADRATURE_DIM} weights, this model has "
                f"d = {model.dim}")
    return None


def _quadrature_moments(model, betas, step=None, u_max=4.0, hessian="exact", init=None, max_u_max=10.0,
                        tolerance=1e-4, **options):
    _no_options("quadrature", options, allowed=("step", "u_max", "hessian", "init", "max_u_max", "tolerance",
                                                "seed"))
    return quadrature_moments(model, betas, step=step, u_max=u_max, hessian=hessian, init=init,
                              max_u_max=max_u_max, tolerance=tolerance)


# ===================================================================== registration
# Registered by statmech._registry (this module does not import the registry).
METHODS: list[Method] = [
    Method(name="exact", exact=True, why_not=_exact_why_not, moments=_exact_moments,
           auto_rank=5, model_types=(LossModel,)),
    Method(name="quadrature", exact=True, why_not=_quadrature_why_not,
           moments=_quadrature_moments, auto_rank=15, model_types=(LossModel,)),
    Method(name="laplace", exact=False, why_not=lambda model, options: None, moments=_laplace_moments,
           model_types=(LossModel,)),
]
