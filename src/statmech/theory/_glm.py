"""Bayes-optimal generalized linear models: priors, channels, state evolution, replica free entropy.

Teacher θ* i.i.d. from a prior (``"gaussian"``, ``"rademacher"``), inputs
with i.i.d. N(0, 1/N) entries, M = αN labels through a channel (``"linear"``,
``"sign"``). State evolution m̂_t = α E[g_out²], m_{t+1} = E[θ f_a] and the
replica-symmetric free entropy Φ(m) (Zdeborová & Krzakala, Adv. Phys. 65,
453 (2016); Barbier et al., PNAS 116, 5451 (2019)). Equations:
docs/derivations.md.
"""
from __future__ import annotations

import dataclasses
import math
import numbers

import numpy as np
from scipy import integrate, optimize, special

from statmech._numerics import log_cosh

PRIORS = ("gaussian", "rademacher")
CHANNELS = ("linear", "sign")
RHO = 1.0            # E θ² for both priors
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


# ------------------------------------------------------------------ helpers
def _expect(f) -> float:
    """E_ξ f(ξ), ξ ~ N(0, 1), by adaptive quadrature (scipy.integrate.quad)."""
    def integrand(x):
        return f(x) * math.exp(-0.5 * x * x - _LOG_SQRT_2PI)

    value, _ = integrate.quad(integrand, -np.inf, np.inf, epsabs=1e-14, epsrel=1e-11, limit=400)
    return value


def _expect_scaled(F, k: float) -> float:
    """E_ξ F(k ξ), ξ ~ N(0, 1): integrated in ξ for k <= 1 and in u = kξ for k > 1 (F decays on u ~ 1)."""
    if k <= 1.0:
        return _expect(lambda x: F(k * x))

    def integrand(u):
        t = u / k
        return F(u) * math.exp(-0.5 * t * t - _LOG_SQRT_2PI) / k

    value, _ = integrate.quad(integrand, -np.inf, np.inf, epsabs=1e-14, epsrel=1e-11, limit=400)
    return value


def _check_number(value, name: str, minimum: float = 0.0, strict: bool = False,
                  maximum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    value = float(value)
    low_bad = value <= minimum if strict else value < minimum
    if not math.isfinite(value) or low_bad or (maximum is not None and value > maximum):
        bound = f"{'>' if strict else '>='} {minimum:g}" + (f" and <= {maximum:g}" if maximum is not None else "")
        raise ValueError(f"{name} must be a finite number {bound}, got {value}")
    return value


# ------------------------------------------------------------------ priors
@dataclasses.dataclass(frozen=True)
class GLMPrior:
    """Prior P₀ of the teacher's weights: ``"gaussian"`` N(0, 1) or ``"rademacher"`` ±1 (ρ = 1)."""

    name: str

    @property
    def rho(self) -> float:
        return RHO

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        if self.name == "gaussian":
            return rng.normal(size=n)
        return rng.choice(np.array([-1.0, 1.0]), size=n)

    def denoise(self, R, sigma):
        """Posterior mean f_a and variance f_v of θ ~ P₀ observed as R = θ + √Σ ξ."""
        R = np.asarray(R, dtype=np.float64)
        if self.name == "gaussian":
            return R / (1.0 + sigma), np.full_like(R, sigma / (1.0 + sigma))
        x = R / sigma
        mean = np.tanh(x)
        t = np.exp(-2.0 * np.abs(x))
        var = 4.0 * t / (1.0 + t) ** 2                                 # sech² x = 1 − tanh² x, no overflow
        return mean, var

    def mse(self, mhat: float) -> float:
        """ρ − m(m̂): the MMSE of the scalar channel R = θ + ξ/√m̂ (stable as m̂ → ∞)."""
        if mhat <= 0:
            return RHO
        if self.name == "gaussian":
            return 1.0 / (1.0 + mhat)
        root = math.sqrt(mhat)
        # θ = 1 by symmetry: 1 − E tanh(m̂ + √m̂ ξ) = E 2σ(−2(m̂ + √m̂ ξ))
        return _expect(lambda x: 2.0 * special.expit(-2.0 * (mhat + root * x)))

    def overlap(self, mhat: float) -> float:
        """m = E[θ f_a(θ + ξ/√m̂, 1/m̂)] = ρ − mse."""
        return RHO - self.mse(mhat)

    def potential(self, mhat: float) -> float:
        """Ψ₀(m̂) = E ln Z₀(m̂ θ + √m̂ ξ, m̂)."""
        if mhat <= 0:
            return 0.0
        if self.name == "gaussian":
            return 0.5 * mhat - 0.5 * math.log1p(mhat)
        root = math.sqrt(mhat)
        return -0.5 * mhat + _expect(lambda x: log_cosh(mhat + root * x))

    def mhat_for_overlap(self, m: float) -> float:
        """Inverse of m(m̂): the m̂ at which the inner inf of Φ sits, for 0 <= m < ρ."""
        if m <= 0:
            return 0.0
        if self.name == "gaussian":
            return m / (1.0 - m)
        target = RHO - m

        def residual(log_mhat):
            return math.log(self.mse(math.exp(log_mhat))) - math.log(target)

        low, high = -40.0, 1.0
        while residual(high) > 0:
            high += 2.0
            if high > 12.0:
                raise ValueError(f"overlap m = {m!r} is too close to 1 for this prior's quadrature; use m < 1 - 1e-12")
        return math.exp(optimize.brentq(residual, low, high, xtol=1e-13, rtol=1e-13))


def glm_prior(prior) -> GLMPrior:
    """The prior named ``prior`` (a :class:`GLMPrior` passes through); ValueError lists those implemented."""
    if isinstance(prior, GLMPrior):
        return prior
    if not isinstance(prior, str) or prior not in PRIORS:
        raise ValueError(f"prior {prior!r} is not implemented; implemented priors: {', '.join(PRIORS)}")
    return GLMPrior(prior)


# ------------------------------------------------------------------ channels
@dataclasses.dataclass(frozen=True)
class GLMChannel:
    """Output channel P_out(y | z): ``"linear"`` y = z + √Δ ξ; ``"sign"`` y = ±sign(z + √Δ ξ), flipped w.p. ``flip``."""

    name: str
    noise: float = 0.0
    flip: float = 0.0

    def sample(self, z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        noisy = z + math.sqrt(self.noise) * rng.normal(size=z.shape) if self.noise > 0 else z
        if self.name == "linear":
            return noisy
        y = np.where(noisy >= 0, 1.0, -1.0)
        if self.flip > 0:
            y = np.where(rng.uniform(size=z.shape) < self.flip, -y, y)
        return y

    def _sign_terms(self, u):
        """w = (1 − 2p) φ(u) / Z(u), Z(u) = p + (1 − 2p) Φ(u), in the log domain."""
        log_phi = -0.5 * u * u - _LOG_SQRT_2PI
        if self.flip == 0.0:
            return np.exp(log_phi - special.log_ndtr(u))
        log_a = math.log1p(-2.0 * self.flip)
        log_z = np.logaddexp(math.log(self.flip), log_a + special.log_ndtr(u))
        return np.exp(log_a + log_phi - log_z)

    def output(self, y, omega, V):
        """g_out(y, ω, V) = ∂_ω ln Z_out and −∂_ω g_out, elementwise (V a scalar > 0 or Δ > 0)."""
        total = V + self.noise
        if self.name == "linear":
            return (y - omega) / total, np.full_like(omega, 1.0 / total)
        s = math.sqrt(total)
        u = y * omega / s
        w = self._sign_terms(u)
        return y * w / s, w * (u + w) / total

    def mhat(self, m: float, alpha: float) -> float:
        """m̂ = α E_{ξ, y}[g_out(y, √m ξ, ρ − m)²] (state evolution, Bayes-optimal)."""
        V = RHO - m
        total = V + self.noise
        if self.name == "linear":
            return alpha / total
        s = math.sqrt(total)
        k = math.sqrt(max(m, 0.0)) / s
        a = 1.0 - 2.0 * self.flip

        def F(u):           # Σ_y Z(y u) w(y u)² = a² φ(u)² [1/Z(u) + 1/Z(−u)]
            log_phi2 = -u * u - 2.0 * _LOG_SQRT_2PI
            if self.flip == 0.0:
                return math.exp(log_phi2 - special.log_ndtr(u)) + math.exp(log_phi2 - special.log_ndtr(-u))
            log_p, log_a = math.log(self.flip), math.log(a)
            z_plus = np.logaddexp(log_p, log_a + special.log_ndtr(u))
            z_minus = np.logaddexp(log_p, log_a + special.log_ndtr(-u))
            return a * a * (math.exp(log_phi2 - z_plus) + math.exp(log_phi2 - z_minus))

        return alpha / total * _expect_scaled(F, k)

    def potential(self, m: float) -> float:
        """Ψ_out(m) = E_{ξ, y} ln Z_out(y, √m ξ, ρ − m)."""
        V = RHO - m
        total = V + self.noise
        if self.name == "linear":
            return -0.5 * math.log(2.0 * math.pi * math.e * total)
        s = math.sqrt(total)
        k = math.sqrt(max(m, 0.0)) / s
        log_p = math.log(self.flip) if self.flip > 0 else -np.inf
        log_a = math.log1p(-2.0 * self.flip)

        def F(u):           # Σ_y Z(y u) ln Z(y u)
            total_value = 0.0
            for v in (u, -u):
                log_z = float(np.logaddexp(log_p, log_a + special.log_ndtr(v)))
                total_value += math.exp(log_z) * log_z
            return total_value

        return _expect_scaled(F, k)


def glm_channel(channel, noise=0.0, flip=0.0) -> GLMChannel:
    """The channel named ``channel`` with noise variance Δ = ``noise`` and label-flip rate ``flip`` (sign only)."""
    if isinstance(channel, GLMChannel):
        return channel
    if not isinstance(channel, str) or channel not in CHANNELS:
        raise ValueError(f"channel {channel!r} is not implemented; implemented channels: {', '.join(CHANNELS)}")
    noise = _check_number(noise, "noise (variance Δ of the Gaussian noise)")
    flip = _check_number(flip, "flip (label-flip probability)", maximum=0.5)
    if channel == "linear" and flip != 0.0:
        raise ValueError("flip applies to the 'sign' channel only; the linear channel takes noise=Δ")
    if flip == 0.5:
        raise ValueError("flip = 0.5 makes the labels independent of the teacher; use flip < 0.5")
    return GLMChannel(channel, noise, flip)


def _generalization(channel: GLMChannel, m: np.ndarray) -> np.ndarray:
    """Sign: P[sign(â·x) ≠ sign(θ*·x)] = arccos(√(m/ρ))/π; linear: E(â·x − θ*·x)² = ρ − m."""
    m = np.clip(np.asarray(m, dtype=np.float64), 0.0, RHO)
    if channel.name == "sign":
        return np.arccos(np.sqrt(m / RHO)) / np.pi
    return RHO - m


# ------------------------------------------------------------------ state evolution
@dataclasses.dataclass(frozen=True)
class StateEvolution:
    """Bayes-optimal state evolution: per iteration t = 0 … T (t = 0: the uninformed start m₀).

    ``overlap`` m_t, ``mse`` ρ − m_t, ``mhat`` m̂_t (length T, m̂_t feeds m_{t+1}),
    ``generalization_error`` (sign: arccos(√m_t)/π; linear: ρ − m_t),
    ``converged`` (|m_{t+1} − m_t| < tol before ``n_iter``).
    """

    alpha: float
    prior: str
    channel: str
    noise: float
    flip: float
    overlap: np.ndarray
    mse: np.ndarray
    mhat: np.ndarray
    generalization_error: np.ndarray
    converged: bool


def _check_alpha(alpha) -> float:
    return _check_number(alpha, "alpha (M/N)", strict=True)


def glm_state_evolution(alpha, prior="gaussian", channel="linear", noise=0.0, *, flip=0.0, n_iter: int = 200,
                        tol: float = 1e-12, init_overlap: float = 0.0, min_mse: float = 1e-13) -> StateEvolution:
    """Iterate the Bayes-optimal GAMP state evolution from m₀ = ``init_overlap`` (module docstring).

    Stops after ``n_iter`` iterations, when |m_{t+1} − m_t| < ``tol``, or when
    the MSE falls below ``min_mse`` (exact recovery). Zdeborová & Krzakala
    (2016) eqs. (171)–(172); Rangan (2011).
    """
    alpha = _check_alpha(alpha)
    p, ch = glm_prior(prior), glm_channel(channel, noise, flip)
    if isinstance(n_iter, bool) or not isinstance(n_iter, (numbers.Integral, np.integer)) or n_iter < 1:
        raise ValueError(f"n_iter must be an int >= 1, got {n_iter!r}")
    init_overlap = _check_number(init_overlap, "init_overlap", maximum=RHO)
    if init_overlap >= RHO:
        raise ValueError("init_overlap must be < 1 (m = 1 is exact recovery, a fixed point already)")
    overlaps, mses, mhats = [init_overlap], [RHO - init_overlap], []
    converged = False
    for _ in range(int(n_iter)):
        mhat = ch.mhat(overlaps[-1], alpha)
        mse = p.mse(mhat)
        mhats.append(mhat)
        overlaps.append(RHO - mse)
        mses.append(mse)
        if abs(overlaps[-1] - overlaps[-2]) < tol or mse < min_mse:
            converged = True
            break
    overlap = np.array(overlaps)
    return StateEvolution(alpha=alpha, prior=p.name, channel=ch.name, noise=ch.noise, flip=ch.flip,
                          overlap=overlap, mse=np.array(mses), mhat=np.array(mhats),
                          generalization_error=_generalization(ch, overlap), converged=converged)


# ------------------------------------------------------------------ replica free entropy
def glm_replica_free_entropy(alpha, overlap, prior="gaussian", channel="linear", noise=0.0, *, flip=0.0):
    """RS potential Φ(m) = inf_m̂ [−m m̂/2 + Ψ₀(m̂)] + α Ψ_out(m) at each overlap m ∈ [0, 1).

    Its stationary points are the state-evolution fixed points and its
    maximum is lim (1/N) E ln Z(y, X), the free entropy of the
    Bayes-optimal posterior (Barbier et al., PNAS 2019). Returns a float for
    a scalar ``overlap``, else an array.
    """
    alpha = _check_alpha(alpha)
    p, ch = glm_prior(prior), glm_channel(channel, noise, flip)
    m = np.asarray(overlap, dtype=np.float64)
    if not np.all(np.isfinite(m)) or np.any(m < 0) or np.any(m >= RHO):
        raise ValueError("overlap must lie in [0, 1): m = E θ*·â/N, and m = 1 has Φ = −∞ for noiseless channels")
    values = np.empty(m.shape)
    for index, mi in np.ndenumerate(m):
        mhat = p.mhat_for_overlap(float(mi))
        values[index] = -0.5 * mi * mhat + p.potential(mhat) + alpha * ch.potential(float(mi))
    return float(values) if values.ndim == 0 else values


@dataclasses.dataclass(frozen=True)
class GLMReplicaResult:
    """Bayes-optimal RS prediction at ``alpha``: the argmax of Φ over the state-evolution fixed points.

    ``overlap`` m, ``mse`` = ρ − m, ``free_entropy`` = Φ(m),
    ``generalization_error`` (sign channel: arccos(√m)/π, the Bayes-optimal
    classification error on the teacher's clean label; linear: ρ − m).
    ``fixed_points`` are (m, Φ(m)) pairs from the uninformed (m₀ = 0) and
    informed (m₀ → 1) starts; ``algorithmic_overlap`` is the uninformed one,
    what AMP reaches from a random start. A first-order transition shows as
    ``overlap`` ≠ ``algorithmic_overlap``.
    """

    alpha: float
    prior: str
    channel: str
    noise: float
    flip: float
    overlap: float
    mse: float
    free_entropy: float
    generalization_error: float
    algorithmic_overlap: float
    fixed_points: tuple


def glm_replica(alpha, prior="gaussian", channel="linear", noise=0.0, *, flip=0.0,
                informed_mse: float = 1e-9) -> GLMReplicaResult:
    """Bayes-optimal overlap, MSE and generalisation error of a GLM from the RS free entropy.

    Runs state evolution from m₀ = 0 and from m₀ = 1 − ``informed_mse``,
    evaluates Φ at both fixed points and keeps the larger (Barbier et al.,
    PNAS 2019; Györgyi, Phys. Rev. A 41, 7097 (1990) for the ±1 perceptron).
    A fixed point at m → 1 (exact recovery) has Φ = lim_{m→1} Φ(m), taken at
    the converged m.
    """
    alpha = _check_alpha(alpha)
    p, ch = glm_prior(prior), glm_channel(channel, noise, flip)
    points = []
    for start in (0.0, RHO - informed_mse):
        se = glm_state_evolution(alpha, p, ch, n_iter=5000, tol=1e-13, init_overlap=start)
        m = float(se.overlap[-1])
        m_eval = min(m, RHO - 1e-12)
        try:
            phi = glm_replica_free_entropy(alpha, m_eval, p, ch)
        except ValueError:                     # m too close to 1 for the prior's inverse: use the limit
            phi = glm_replica_free_entropy(alpha, RHO - 1e-9, p, ch)
        points.append((m, phi))
    best = max(points, key=lambda point: point[1])
    if abs(points[0][1] - points[1][1]) < 1e-10:   # one fixed point reached from both ends
        best = points[0]
    m = best[0]
    return GLMReplicaResult(alpha=alpha, prior=p.name, channel=ch.name, noise=ch.noise, flip=ch.flip, overlap=m,
                            mse=RHO - m, free_entropy=best[1],
                            generalization_error=float(_generalization(ch, m)),
                            algorithmic_overlap=points[0][0], fixed_points=tuple(points))
