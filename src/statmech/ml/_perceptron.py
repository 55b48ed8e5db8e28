"""The teacher–student perceptron: Gibbs learning, its replica theory, Cover's capacity.

A teacher w* labels M = round(α n) Gaussian inputs x_μ ~ N(0, I_n) with
y_μ = sign(w*·x_μ). A student w has the energy (training errors)

    E(w) = Σ_μ Θ(−y_μ w·x_μ)      (Θ(0) = 1: a zero field counts as an error),

and its generalisation error is ε(w) = arccos(R)/π, R = w·w*/(|w||w*|), the
probability that w and w* disagree on a fresh Gaussian input. Gibbs learning
samples p(w) ∝ exp(−β E(w)) over the prior of w (uniform on the sphere
|w|² = n, or on {±1}^n); β → ∞ samples the version space (E = 0).
References: A. Engel and C. Van den Broeck, *Statistical Mechanics of
Learning* (2001), ch. 2–3; E. Gardner, J. Phys. A 21, 257 (1988);
H. S. Seung, H. Sompolinsky and N. Tishby, Phys. Rev. A 45, 6056 (1992);
T. M. Cover, IEEE Trans. Electron. Comput. EC-14, 326 (1965).
"""
from __future__ import annotations

import dataclasses
import math
import numbers

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from scipy import integrate, optimize, special, stats

from statmech._validation import check_positive_int
from statmech.models._gibbs import LossModel
from statmech.stats import ChainStatistics, chain_statistics

WEIGHT_PRIORS = ("spherical", "binary")


# ---------------------------------------------------------------- validation
def _check_alpha(alpha, name: str = "alpha") -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} (examples per weight, M = alpha n) must be a number > 0, got {alpha!r}")
    alpha = float(alpha)
    if not np.isfinite(alpha) or alpha <= 0:
        raise ValueError(f"{name} (examples per weight, M = alpha n) must be a finite number > 0, got {alpha}")
    return alpha


def _check_beta(beta, allow_inf: bool) -> float:
    if isinstance(beta, bool) or not isinstance(beta, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"beta must be a number >= 0 (np.inf: version-space sampling), got {beta!r}")
    beta = float(beta)
    if np.isnan(beta) or beta < 0:
        raise ValueError(f"beta must be >= 0, got {beta}")
    if beta == np.inf and not allow_inf:
        raise ValueError("beta = inf (version-space sampling) needs weights='spherical': single-weight flips "
                         "cannot move within the version space of binary weights; use a large finite beta")
    return beta


# ---------------------------------------------------------------- the model
class Perceptron(LossModel):
    """Teacher–student perceptron ``Perceptron(n, alpha, weights="spherical" | "binary", seed=0)``.

    Teacher: spherical, uniform on |w*|² = n; binary, w*_i = ±1 with equal
    probability. Data ``X`` (M, n) with rows x_μ ~ N(0, I_n), M = round(α n),
    labels ``y`` = sign(X w*). ``loss(w)`` = E(w) = Σ_μ Θ(−y_μ w·x_μ), the
    number of training errors (Engel & Van den Broeck, ch. 2).

    As a :class:`LossModel` the weight prior is the unit Gaussian
    (``prior_precision`` = 1). E depends on the direction of w only, so for
    spherical weights the Gaussian prior gives exactly the spherical Gibbs
    distribution of directions, and Z_Gauss(β) = (2π)^{n/2} Z_sphere(β) with
    Z_sphere normalised to 1 at β = 0. For binary weights the continuous
    methods describe that spherical problem, not the binary one; use
    :func:`gibbs_generalization`.
    """

    X: np.ndarray
    y: np.ndarray
    teacher: np.ndarray
    n_inputs: int = eqx.field(static=True)
    alpha: float = eqx.field(static=True)
    weights: str = eqx.field(static=True)
    seed: int = eqx.field(static=True)
    prior_precision: float = eqx.field(static=True)

    def __init__(self, n, alpha, weights="spherical", seed=0):
        n = check_positive_int(n, "n (number of weights)", minimum=2)
        alpha = _check_alpha(alpha)
        if weights not in WEIGHT_PRIORS:
            raise ValueError(f"weights must be 'spherical' or 'binary', got {weights!r}")
        seed = check_positive_int(seed, "seed", minimum=0)
        n_examples = int(round(alpha * n))
        if n_examples < 1:
            raise ValueError(f"alpha * n = {alpha * n:g} rounds to 0 examples; use alpha >= {0.5 / n:g}")
        rng = np.random.default_rng(seed)
        if weights == "spherical":
            direction = rng.normal(size=n)
            teacher = direction / np.linalg.norm(direction) * np.sqrt(n)
        else:
            teacher = rng.choice(np.array([-1.0, 1.0]), size=n)
        X = rng.normal(size=(n_examples, n))
        y = np.sign(X @ teacher)
        if np.any(y == 0):  # probability zero for Gaussian inputs
            raise ValueError("a teacher field is exactly 0; use another seed")
        for array in (teacher, X, y):
            array.setflags(write=False)
        self.X, self.y, self.teacher = X, y, teacher
        self.n_inputs, self.alpha, self.weights, self.seed = n, alpha, weights, seed
        self.prior_precision = 1.0

    @property
    def dim(self) -> int:
        return self.n_inputs

    @property
    def n_examples(self) -> int:
        """M = round(α n)."""
        return int(self.X.shape[0])

    def loss(self, theta):
        """E(w) = Σ_μ Θ(−y_μ w·x_μ) (JAX; piecewise constant, so no useful gradient)."""
        margins = jnp.asarray(self.y) * (jnp.asarray(self.X) @ theta)
        return jnp.sum(jnp.where(margins <= 0, 1.0, 0.0))

    def _as_students(self, w) -> np.ndarray:
        w = np.asarray(w, dtype=np.float64)
        if w.shape[-1:] != (self.n_inputs,):
            raise ValueError(f"w must have shape (..., {self.n_inputs}), got {w.shape}")
        if not np.all(np.isfinite(w)):
            raise ValueError("w contains NaN or inf")
        return w

    def training_errors(self, w) -> np.ndarray:
        """E(w) = #{μ : y_μ w·x_μ <= 0} for w of shape (..., n) (NumPy, exact integers)."""
        w = self._as_students(w)
        return np.sum(self.y * (w @ self.X.T) <= 0, axis=-1)

    def overlap(self, w) -> np.ndarray:
        """R = w·w*/(|w||w*|) for w of shape (..., n)."""
        w = self._as_students(w)
        norms = np.linalg.norm(w, axis=-1)
        if np.any(norms == 0):
            raise ValueError("w = 0 has no direction; its overlap with the teacher is undefined")
        return np.clip((w @ self.teacher) / (norms * np.linalg.norm(self.teacher)), -1.0, 1.0)

    def generalization_error(self, w) -> np.ndarray:
        """ε(w) = arccos(R)/π: probability of disagreeing with the teacher on a new x ~ N(0, I)."""
        return np.arccos(self.overlap(w)) / np.pi

    def __repr__(self) -> str:
        return (f"Perceptron(n={self.n_inputs}, alpha={self.alpha:g}, weights={self.weights!r}, "
                f"seed={self.seed}, n_examples={self.n_examples})")


# ---------------------------------------------------------------- Gibbs learning (Monte Carlo)
@dataclasses.dataclass(frozen=True)
class GibbsLearningResult:
    """Posterior average of ε over Gibbs-learning samples, with its Γ-method error bar.

    ``generalization_error`` ± ``stderr`` (from ``statistics``, a
    :class:`~statmech.stats.ChainStatistics` over ``n_chains`` chains);
    ``training_errors`` is ⟨E⟩; ``samples`` (n_chains, n_sweeps) holds ε after
    every sweep; ``final_weights`` (n_chains, n) the last students (|w|² = n
    for spherical weights).
    """

    generalization_error: float
    stderr: float
    training_errors: float
    beta: float
    statistics: ChainStatistics
    samples: np.ndarray
    final_weights: np.ndarray


def _version_space_point(perceptron: Perceptron) -> np.ndarray:
    """A zero-error unit vector that is not the teacher: the max-margin LP solution (HiGHS)."""
    margin, w = _max_margin(perceptron.y[:, None] * perceptron.X)
    if margin <= 0:
        raise RuntimeError("linprog could not find a zero-error student")
    return w / np.linalg.norm(w)


def _great_circle_moves(perceptron: Perceptron, w: np.ndarray, beta: float, n_moves: int,
                        rng: np.random.Generator) -> np.ndarray:
    """Heat-bath moves along random great circles through each chain's unit vector w (C, n).

    For a random unit u ⟂ w, the field on w(φ) = w cos φ + u sin φ is
    h_μ(φ) = a_μ cos φ + b_μ sin φ = r_μ cos(φ − θ_μ), so E(φ) is piecewise
    constant with 2M breakpoints θ_μ ± π/2. φ is drawn exactly from
    exp(−β E(φ)) dφ on the circle (β = ∞, w in the version space: uniform on the
    zero-error arc through w, found in O(M) because the version space is a convex cone). The
    chosen circle is the same from both ends and the kernel on it is the
    conditional of the target, so the move is reversible w.r.t. the uniform
    measure on the sphere times exp(−β E) (a hit-and-run / Gibbs step;
    R. L. Smith, Oper. Res. 32, 1296 (1984)).
    """
    margins = perceptron.y[:, None] * perceptron.X                      # (M, n)
    n_chains = w.shape[0]
    n_examples = margins.shape[0]
    fields = w @ margins.T                                               # a_μ, (C, M)
    two_pi = 2.0 * np.pi
    for move in range(n_moves):
        u = rng.normal(size=w.shape)
        u -= np.sum(u * w, axis=1, keepdims=True) * w
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        b = u @ margins.T
        theta = np.arctan2(b, fields)
        enter = np.mod(theta + 0.5 * np.pi, two_pi)                      # field turns negative
        leave = np.mod(theta + 1.5 * np.pi, two_pi)                      # field turns positive
        if beta == np.inf:
            # w has E = 0, so every error arc [enter, enter + π] misses φ = 0: enter ∈ (0, π) and the
            # zero-error arc is the single interval (max leave − 2π, min enter) around φ = 0
            low = np.max(leave, axis=1) - two_pi
            high = np.min(enter, axis=1)
            phi = low + rng.uniform(size=n_chains) * (high - low)
            cos, sin = np.cos(phi)[:, None], np.sin(phi)[:, None]
            w = cos * w + sin * u
            fields = cos * fields + sin * b
            if move % 64 == 63:
                w /= np.linalg.norm(w, axis=1, keepdims=True)
                fields = w @ margins.T
            continue
        positions = np.concatenate([enter, leave], axis=1)
        steps = np.concatenate([np.ones((n_chains, n_examples)), -np.ones((n_chains, n_examples))], axis=1)
        order = np.argsort(positions, axis=1)
        positions = np.take_along_axis(positions, order, axis=1)
        steps = np.take_along_axis(steps, order, axis=1)
        energy0 = np.sum(fields <= 0, axis=1, keepdims=True).astype(float)
        energies = np.concatenate([energy0, energy0 + np.cumsum(steps, axis=1)], axis=1)  # (C, 2M+1)
        starts = np.concatenate([np.zeros((n_chains, 1)), positions], axis=1)
        lengths = np.diff(np.concatenate([starts, np.full((n_chains, 1), two_pi)], axis=1), axis=1)
        with np.errstate(divide="ignore"):
            log_weights = np.log(lengths)
        log_weights = log_weights - beta * energies
        pick = np.argmax(log_weights + rng.gumbel(size=log_weights.shape), axis=1)
        rows = np.arange(n_chains)
        phi = starts[rows, pick] + rng.uniform(size=n_chains) * lengths[rows, pick]
        cos, sin = np.cos(phi)[:, None], np.sin(phi)[:, None]
        w = cos * w + sin * u
        fields = cos * fields + sin * b
        if move % 64 == 63:                                               # stop rounding drift
            w /= np.linalg.norm(w, axis=1, keepdims=True)
            fields = w @ margins.T
    return w / np.linalg.norm(w, axis=1, keepdims=True)


def _binary_sweep(perceptron: Perceptron, w: np.ndarray, fields: np.ndarray, beta: float,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One Metropolis sweep of single-weight flips w_i → −w_i for C chains at once.

    ``fields`` (C, M) are y_μ w·x_μ, updated incrementally: flipping w_i
    changes them by −2 w_i y_μ x_μi; ΔE = #new errors − #old errors,
    accepted with probability min(1, exp(−β ΔE)).
    """
    margins = perceptron.y[:, None] * perceptron.X
    for i in rng.permutation(perceptron.n_inputs):
        proposed = fields - 2.0 * w[:, i:i + 1] * margins[:, i]
        delta = np.sum(proposed <= 0, axis=1) - np.sum(fields <= 0, axis=1)
        accept = np.log(rng.uniform(size=w.shape[0])) < -beta * delta if beta > 0 else np.ones(w.shape[0], bool)
        accept |= delta <= 0
        w[accept, i] *= -1.0
        fields[accept] = proposed[accept]
    return w, fields


def gibbs_generalization(perceptron: Perceptron, beta, n_sweeps: int = 200, seed: int = 0, n_chains: int = 4,
                         burn_in: int | None = None) -> GibbsLearningResult:
    """Gibbs learning by Monte Carlo: ⟨ε⟩ over p(w) ∝ exp(−β E(w)) ± a Γ-method stderr.

    Spherical weights: a sweep is n heat-bath moves on random great circles
    (exact in φ, any β including ``np.inf`` = version-space sampling);
    chains start at a zero-error point found by linear programming (β = ∞) or at
    random unit vectors (finite β). Binary
    weights: a sweep is n single-flip Metropolis proposals (finite β only),
    chains start at random ±1 vectors. ``burn_in`` sweeps (default
    n_sweeps // 4) are discarded; ε is recorded after each of the ``n_sweeps``
    kept sweeps (Engel & Van den Broeck, ch. 2–3).
    """
    if not isinstance(perceptron, Perceptron):
        raise TypeError(f"expected a statmech.ml.Perceptron, got {type(perceptron).__name__}")
    spherical = perceptron.weights == "spherical"
    beta = _check_beta(beta, allow_inf=spherical)
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps", minimum=32)
    n_chains = check_positive_int(n_chains, "n_chains")
    burn_in = n_sweeps // 4 if burn_in is None else check_positive_int(burn_in, "burn_in", minimum=0)
    seed = check_positive_int(seed, "seed", minimum=0)
    rng = np.random.default_rng(seed)
    n = perceptron.n_inputs
    margins = perceptron.y[:, None] * perceptron.X

    if spherical and beta == np.inf:
        start = _version_space_point(perceptron)
        w = np.tile(start, (n_chains, 1))
    elif spherical:
        w = rng.normal(size=(n_chains, n))
        w /= np.linalg.norm(w, axis=1, keepdims=True)
    else:
        w = rng.choice(np.array([-1.0, 1.0]), size=(n_chains, n))
        fields = w @ margins.T
    samples = np.empty((n_chains, n_sweeps))
    errors = np.empty((n_chains, n_sweeps))
    for sweep in range(burn_in + n_sweeps):
        if spherical:
            w = _great_circle_moves(perceptron, w, beta, n, rng)
        else:
            w, fields = _binary_sweep(perceptron, w, fields, beta, rng)
        if sweep >= burn_in:
            samples[:, sweep - burn_in] = perceptron.generalization_error(w)
            errors[:, sweep - burn_in] = perceptron.training_errors(w)
    statistics = chain_statistics(samples)
    weights = w * np.sqrt(n) if spherical else w.copy()
    return GibbsLearningResult(generalization_error=statistics.mean, stderr=statistics.stderr,
                               training_errors=float(errors.mean()), beta=beta, statistics=statistics,
                               samples=samples, final_weights=weights)


# ---------------------------------------------------------------- replica-symmetric theory
@dataclasses.dataclass(frozen=True)
class GibbsLearningTheory:
    """RS prediction for zero-temperature Gibbs learning: ε = arccos(R)/π at ``alpha``."""

    alpha: float
    overlap: float
    generalization_error: float


def _version_space_integral(overlap: float) -> float:
    """∫ Dt exp(−R t²/2)/H(−√R t), with H(−x) = Φ(x) taken in the log domain (log_ndtr)."""
    root = math.sqrt(overlap)

    def integrand(t):
        return math.exp(-0.5 * (1.0 + overlap) * t * t - special.log_ndtr(root * t)) / math.sqrt(2 * math.pi)

    value, _ = integrate.quad(integrand, -np.inf, np.inf, epsabs=0.0, epsrel=1e-12, limit=200)
    return value


def gibbs_learning_rs(alpha) -> GibbsLearningTheory:
    """Replica-symmetric ε(α) of Gibbs learning at β → ∞ (version space), spherical perceptron.

    The overlap R = q solves (Engel & Van den Broeck eq. (2.42))

        R/√(1 − R) = (α/π) ∫ Dt exp(−R t²/2) / H(−√R t),   H(x) = ∫_x^∞ Dz,

    and ε = arccos(R)/π. Limits: ε ≈ 1/2 − 2α/π² as α → 0; ε ≈ √2/(α I₁)
    ≈ 0.6246/α as α → ∞ with I₁ = ∫ Dt e^{−t²/2}/H(−t). Solved for δ = 1 − R
    (brentq, scipy quadrature), so R → 1 keeps full relative precision.
    """
    alpha = _check_alpha(alpha)

    def residual(log_delta):
        delta = math.exp(log_delta)
        overlap = 1.0 - delta
        return overlap / math.sqrt(delta) - alpha / np.pi * _version_space_integral(overlap)

    # residual < 0 at δ = 1 (R = 0: 0 − 2α/π) and > 0 as δ → 0
    low = math.log(1e-300)
    if residual(low) <= 0:  # only for α beyond ~1e149
        raise ValueError(f"alpha = {alpha:g} is too large for double precision (1 − R < 1e-300)")
    log_delta = optimize.brentq(residual, low, 0.0, xtol=1e-14, rtol=1e-14, maxiter=500)
    delta = math.exp(log_delta)
    epsilon = 2.0 * math.asin(math.sqrt(0.5 * delta)) / np.pi       # arccos(1 − δ)/π without cancellation
    return GibbsLearningTheory(alpha=alpha, overlap=1.0 - delta, generalization_error=epsilon)


# ---------------------------------------------------------------- Cover's capacity
def cover_separable_fraction(n_points, n) -> float:
    """Cover's P(M, n) = 2^{1−M} Σ_{k=0}^{n−1} C(M−1, k): fraction of the 2^M labellings of M points

    in general position in R^n separable by a hyperplane through the origin
    (Cover 1965). Equals the Binomial(M − 1, ½) CDF at n − 1; P(2n, n) = ½.
    """
    n_points = check_positive_int(n_points, "n_points (M)")
    n = check_positive_int(n, "n (dimension)")
    return float(stats.binom.cdf(n - 1, n_points - 1, 0.5))


def _max_margin(margins: np.ndarray) -> tuple[float, np.ndarray]:
    """max t over |w_i| <= 1 subject to a_μ·w >= t for all rows a_μ (LP, HiGHS); always feasible, bounded."""
    n_points, n = margins.shape
    cost = np.zeros(n + 1)
    cost[-1] = -1.0
    result = optimize.linprog(cost, A_ub=np.hstack([-margins, np.ones((n_points, 1))]), b_ub=np.zeros(n_points),
                              bounds=[(-1.0, 1.0)] * n + [(None, None)], method="highs")
    if result.status != 0:
        raise RuntimeError(f"linprog failed on the max-margin problem: {result.message}")
    return float(result.x[-1]), result.x[:-1]


def is_separable(X, y, tol: float = 1e-9) -> bool:
    """True when some w has y_μ w·x_μ > 0 for all μ (a hyperplane through the origin).

    Solved as the always-feasible LP max t s.t. y_μ x_μ·w >= t, |w_i| <= 1
    (scipy linprog / HiGHS): separable iff t* > ``tol``. (The bare
    feasibility LP y_μ w·x_μ >= 1 can end in HiGHS status "unknown" on
    nearly degenerate data near α = 2.)
    """
    margins = np.asarray(y, dtype=np.float64)[:, None] * np.asarray(X, dtype=np.float64)
    return _max_margin(margins)[0] > tol


@dataclasses.dataclass(frozen=True)
class SeparabilityCurve:
    """Fraction of random labellings that are linearly separable, vs α = M/n.

    ``fraction`` ± ``stderr`` (binomial, sqrt(f(1 − f)/n_samples)) at each
    ``alphas`` (M = ``n_points``); ``cover`` is Cover's exact P(M, n).
    """

    n: int
    n_samples: int
    alphas: np.ndarray
    n_points: np.ndarray
    fraction: np.ndarray
    stderr: np.ndarray
    cover: np.ndarray

    def crossing(self, level: float = 0.5) -> float:
        """α where the measured fraction first falls through ``level`` (linear interpolation)."""
        above = self.fraction >= level
        for k in range(len(self.alphas) - 1):
            if above[k] and not above[k + 1]:
                a0, a1 = self.alphas[k], self.alphas[k + 1]
                f0, f1 = self.fraction[k], self.fraction[k + 1]
                return float(a0 + (f0 - level) * (a1 - a0) / (f0 - f1))
        raise ValueError(f"the measured fraction does not cross {level} on this alpha grid; widen the grid")


def separability_curve(n, alphas, n_samples: int = 100, seed: int = 0) -> SeparabilityCurve:
    """Zero-temperature training on random labels: the separable fraction at each α vs Cover (1965).

    For every α, ``n_samples`` data sets of M = round(α n) points x ~ N(0, I_n)
    with labels ±1 drawn independently of x are tested for linear
    separability through the origin by :func:`is_separable`. The fraction
    falls from 1 to 0 around the capacity α_c = 2 (Gardner 1988).
    """
    n = check_positive_int(n, "n (number of weights)", minimum=2)
    n_samples = check_positive_int(n_samples, "n_samples", minimum=2)
    seed = check_positive_int(seed, "seed", minimum=0)
    alphas = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    if alphas.ndim != 1 or alphas.size == 0:
        raise ValueError("alphas must be a non-empty 1-D sequence of numbers > 0")
    for alpha in alphas:
        _check_alpha(alpha, "each alpha")
    n_points = np.array([max(1, int(round(a * n))) for a in alphas])
    rng = np.random.default_rng(seed)
    fraction = np.empty(len(alphas))
    for k, m in enumerate(n_points):
        hits = 0
        for _ in range(n_samples):
            X = rng.normal(size=(m, n))
            y = rng.choice(np.array([-1.0, 1.0]), size=m)
            hits += is_separable(X, y)
        fraction[k] = hits / n_samples
    stderr = np.sqrt(fraction * (1 - fraction) / n_samples)
    cover = np.array([cover_separable_fraction(int(m), n) for m in n_points])
    return SeparabilityCurve(n=n, n_samples=n_samples, alphas=alphas, n_points=n_points, fraction=fraction,
                             stderr=stderr, cover=cover)
