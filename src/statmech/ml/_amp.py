"""Bayes-optimal GAMP for generalized linear models, checked against its state evolution.

Teacher–student data (:func:`glm_teacher_student`): θ*_i i.i.d. from the
prior, X (M, N) with i.i.d. N(0, 1/N) entries, M = round(αN),
y_μ ~ P_out(y | θ*·x_μ). GAMP with scalar variances (the i.i.d. X version;
Rangan, ISIT 2011; Zdeborová & Krzakala, Adv. Phys. 65, 453 (2016), Alg. 2):

    V^t   = c Σ_i v_i^t,                         c = mean of X²_μi (≈ 1/N)
    ω^t   = X â^t − V^t g^{t−1}                    (Onsager term; g^{−1} = 0)
    g^t   = g_out(y, ω^t, V^t),  A^t = c Σ_μ −∂_ω g_out(y, ω^t, V^t)
    R^t   = â^t + Xᵀ g^t / A^t
    â^{t+1} = f_a(R^t, 1/A^t),   v^{t+1} = f_v(R^t, 1/A^t),

started at â⁰ = E θ = 0, v⁰ = ρ = 1. Its per-iteration MSE |â^t − θ*|²/N
follows the state evolution of :func:`statmech.theory.glm_state_evolution`
as N → ∞ (Bayati & Montanari, IEEE Trans. Inf. Theory 57, 764 (2011);
Javanmard & Montanari, Inf. Inference 2, 115 (2013)).
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from statmech._validation import check_positive_int
from statmech.theory._glm import (
    RHO,
    GLMChannel,
    GLMPrior,
    StateEvolution,
    glm_channel,
    glm_prior,
    glm_state_evolution,
)


@dataclasses.dataclass(frozen=True)
class GLMData:
    """A teacher–student data set: ``X`` (M, N), labels ``y`` (M,), ``teacher`` θ* (N,), and how it was drawn."""

    X: np.ndarray
    y: np.ndarray
    teacher: np.ndarray
    alpha: float
    prior: str
    channel: str
    noise: float
    flip: float
    seed: int


def glm_teacher_student(n_features: int, alpha, prior="gaussian", channel="linear", noise=0.0, *, flip=0.0,
                        seed: int = 0) -> GLMData:
    """Draw θ* ~ prior^N, X with N(0, 1/N) entries (M = round(αN) rows) and y ~ P_out(y | Xθ*).

    ``np.random.default_rng(seed)`` draws θ*, then X, then the channel noise.
    """
    n = check_positive_int(n_features, "n_features (N)", minimum=2)
    seed = check_positive_int(seed, "seed", minimum=0)
    p, ch = glm_prior(prior), glm_channel(channel, noise, flip)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)) or not alpha > 0:
        raise ValueError(f"alpha (M/N) must be a number > 0, got {alpha!r}")
    m = int(round(float(alpha) * n))
    if m < 1:
        raise ValueError(f"alpha * n_features rounds to 0 examples; use alpha >= {0.5 / n:g}")
    rng = np.random.default_rng(seed)
    teacher = p.sample(n, rng)
    X = rng.normal(size=(m, n)) / math.sqrt(n)
    y = ch.sample(X @ teacher, rng)
    return GLMData(X=X, y=y, teacher=teacher, alpha=m / n, prior=p.name, channel=ch.name, noise=ch.noise,
                   flip=ch.flip, seed=seed)


@dataclasses.dataclass(frozen=True)
class AMPResult:
    """GAMP output.

    ``estimate`` â (posterior means), ``variance`` v (posterior variances),
    ``n_iter`` iterations run, ``converged`` (mean |Δâ|² < tol),
    ``residuals`` mean |â^{t+1} − â^t|² per iteration. With ``theta_star``:
    ``mse`` |â^t − θ*|²/N for t = 0 … n_iter (t = 0 is the start â = 0) and
    ``overlap`` θ*·â^t/N; else None. ``state_evolution`` is the
    :class:`~statmech.theory.StateEvolution` run for the same number of
    iterations at α = M/N (its ``.mse`` is the prediction for ``mse``).
    """

    estimate: np.ndarray
    variance: np.ndarray
    n_iter: int
    converged: bool
    residuals: np.ndarray
    mse: np.ndarray | None
    overlap: np.ndarray | None
    state_evolution: StateEvolution
    prior: str
    channel: str
    noise: float
    flip: float

    @property
    def state_evolution_mse(self) -> np.ndarray:
        """The state-evolution MSE per iteration t = 0 … n_iter, aligned with ``mse``.

        State evolution stops once its MSE is below 1e-13 (exact recovery); the
        remaining iterations repeat that last value.
        """
        se = self.state_evolution.mse
        if len(se) >= self.n_iter + 1:
            return se[: self.n_iter + 1]
        return np.concatenate([se, np.full(self.n_iter + 1 - len(se), se[-1])])

    def generalization_error(self, X, theta_star) -> float:
        """Test error of â on inputs ``X`` labelled by the noiseless teacher ``theta_star``.

        Sign channel: fraction of sign(X â) ≠ sign(X θ*); linear: mean (X â − X θ*)².
        """
        X = np.asarray(X, dtype=np.float64)
        theta_star = np.asarray(theta_star, dtype=np.float64)
        if self.channel == "sign":
            return float(np.mean(np.sign(X @ self.estimate) != np.sign(X @ theta_star)))
        return float(np.mean((X @ (self.estimate - theta_star)) ** 2))


def _as_matrix(X, y):
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array (M examples, N features), got shape {X.shape}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},) to match X {X.shape}, got {y.shape}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise ValueError("X or y contains NaN or inf")
    return X, y


def amp(X, y, prior="gaussian", channel="linear", noise=0.0, *, flip=0.0, theta_star=None, n_iter: int = 200,
        tol: float = 1e-10, damping: float = 0.0) -> AMPResult:
    """Bayes-optimal GAMP on data ``X`` (M, N) (i.i.d. entries of variance 1/N), labels ``y``.

    ``prior`` in ("gaussian", "rademacher"), ``channel`` in ("linear",
    "sign") with Gaussian noise variance ``noise`` = Δ and, for "sign", a
    label-flip probability ``flip``. Iterates (module docstring) until the
    mean squared change of â is below ``tol`` or ``n_iter`` iterations;
    ``damping`` ∈ [0, 1) mixes the previous (â, v) into the new ones (0: none,
    which is what state evolution describes). ``theta_star`` (the teacher)
    turns on the per-iteration MSE. For a sign channel without noise the
    variances can vanish (exact recovery); the iteration then stops,
    counted as converged. Deterministic: no randomness is drawn.
    """
    X, y = _as_matrix(X, y)
    p: GLMPrior = glm_prior(prior)
    ch: GLMChannel = glm_channel(channel, noise, flip)
    n_iter = check_positive_int(n_iter, "n_iter")
    if isinstance(damping, bool) or not isinstance(damping, (int, float)) or not 0.0 <= damping < 1.0:
        raise ValueError(f"damping must be a number in [0, 1), got {damping!r}")
    if ch.name == "sign" and not np.all(np.isin(y, (-1.0, 1.0))):
        raise ValueError("the 'sign' channel needs labels y in {-1, +1}")
    M, N = X.shape
    if theta_star is not None:
        theta_star = np.asarray(theta_star, dtype=np.float64)
        if theta_star.shape != (N,):
            raise ValueError(f"theta_star must have shape ({N},), got {theta_star.shape}")
    c = float(np.einsum("ij,ij->", X, X)) / (M * N)                      # mean X², ≈ 1/N
    estimate = np.zeros(N)
    variance = np.full(N, RHO)
    g = np.zeros(M)
    mses = [float(np.mean((estimate - theta_star) ** 2))] if theta_star is not None else None
    overlaps = [0.0] if theta_star is not None else None
    residuals = []
    converged = False
    iterations = 0
    for _ in range(n_iter):
        V = c * float(np.sum(variance))
        if V <= 1e-300 and ch.noise == 0.0:
            converged = True                     # posterior collapsed onto a point: exact recovery
            break
        omega = X @ estimate - V * g
        g, dg = ch.output(y, omega, V)
        A = c * float(np.sum(dg))
        if A == 0.0 and V < 1e-8:
            converged = True                     # every label fitted with a vanishing variance: exact recovery
            break
        if not A > 0:
            raise FloatingPointError(f"GAMP broke down at iteration {iterations}: sum of -dg_out = {A}")
        R = estimate + (X.T @ g) / A
        new_estimate, new_variance = p.denoise(R, 1.0 / A)
        if damping:
            new_estimate = damping * estimate + (1.0 - damping) * new_estimate
            new_variance = damping * variance + (1.0 - damping) * new_variance
        residual = float(np.mean((new_estimate - estimate) ** 2))
        estimate, variance = new_estimate, new_variance
        iterations += 1
        residuals.append(residual)
        if theta_star is not None:
            mses.append(float(np.mean((estimate - theta_star) ** 2)))
            overlaps.append(float(estimate @ theta_star) / N)
        if residual < tol:
            converged = True
            break
    se = glm_state_evolution(M / N, p, ch, n_iter=max(iterations, 1), tol=0.0)
    return AMPResult(estimate=estimate, variance=variance, n_iter=iterations, converged=converged,
                     residuals=np.array(residuals), mse=None if mses is None else np.array(mses),
                     overlap=None if overlaps is None else np.array(overlaps), state_evolution=se,
                     prior=p.name, channel=ch.name, noise=ch.noise, flip=ch.flip)
