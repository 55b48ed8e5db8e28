"""Ridge regression in the teacher–student setting, N → ∞ at fixed α = M/N (closed forms).

θ* ~ N(0, I_N), x ~ N(0, I_N/N), y = θ*·x + √Δ ξ; ridge minimises
Σ_μ (y_μ − θ·x_μ)² + λ|θ|². With g the Marchenko–Pastur Stieltjes transform,
u = λg and √D = 2u + α + λ − 1:

    ε_gen = [λ + (1 − α) u + Δ (1 − u)] / √D,   ε_train = (1 − u)(λ² + Δ/g²) / (α √D)

(Hastie, Montanari, Rosset & Tibshirani, Ann. Statist. 50, 949 (2022)).
Derivation and limits: docs/derivations.md.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from statmech._validation import as_nonnegative_array


@dataclasses.dataclass(frozen=True)
class RidgeTheory:
    """Asymptotic ridge errors on the broadcast grid of ``alpha``, ``lam``, ``noise``.

    ``generalization_error`` = E_x[(θ̂·x − θ*·x)²] (excluding the label noise
    of a fresh sample: add Δ for the test error on noisy labels),
    ``training_error`` = (1/M) Σ_μ (y_μ − θ̂·x_μ)², with its two parts
    ``bias`` = λ² (1/N) tr(G + λ)⁻² and ``variance`` = Δ (1/N) tr G(G + λ)⁻².
    ``stieltjes`` is g(λ) = (1/N) tr (G + λ)⁻¹ (∞ for λ = 0, α ≤ 1).
    """

    alpha: np.ndarray | float
    lam: np.ndarray | float
    noise: np.ndarray | float
    generalization_error: np.ndarray | float
    training_error: np.ndarray | float
    bias: np.ndarray | float
    variance: np.ndarray | float
    stieltjes: np.ndarray | float

    @property
    def optimal_lam(self):
        """λ minimising ε_gen at fixed α and Δ: λ* = Δ (the posterior mean), for every α."""
        return self.noise


def _as_array(value, name: str, strictly_positive: bool) -> np.ndarray:
    return as_nonnegative_array(value, name, strictly_positive)


def ridge(alpha, lam, noise=0.0) -> RidgeTheory:
    """Asymptotic (N → ∞) generalisation and training error of ridge regression.

    ``alpha`` = M/N > 0, ``lam`` = λ >= 0 (0: the ridgeless, minimum-norm
    limit λ → 0⁺), ``noise`` = Δ >= 0, the label-noise variance; all three
    broadcast against each other (NumPy rules). Closed forms from the
    Marchenko–Pastur Stieltjes transform (module docstring; Hastie et al.,
    Ann. Statist. 2022). At λ = 0, α = 1 the generalisation error is ∞ for
    Δ > 0 (0 for Δ = 0) and the training error 0.
    """
    alpha = _as_array(alpha, "alpha (M/N)", strictly_positive=True)
    lam = _as_array(lam, "lam (ridge λ)", strictly_positive=False)
    noise = _as_array(noise, "noise (label-noise variance Δ)", strictly_positive=False)
    a, lam_b, noise_b = np.broadcast_arrays(alpha, lam, noise)
    shift = a + lam_b - 1.0
    root = np.sqrt(shift * shift + 4.0 * lam_b)                    # √D
    with np.errstate(divide="ignore", invalid="ignore"):
        # u = λ g and r = 1/g, each from the form without cancellation
        r_pos = 0.5 * (shift + root)
        u_neg = 0.5 * (root - shift)
        u = np.where(shift >= 0, lam_b / r_pos, u_neg)
        r = np.where(shift >= 0, r_pos, lam_b / u_neg)
        singular = root == 0.0                                       # λ = 0 and α = 1
        u = np.where(singular, 0.0, u)
        r = np.where(singular, 0.0, r)
        bias = np.where(singular, 0.0, (lam_b + (1.0 - a) * u) / root)
        variance_coefficient = (1.0 - u) / root                        # (1/N) tr G (G + λ)⁻²
        variance = np.where(noise_b == 0.0, 0.0, noise_b * variance_coefficient)
        variance = np.where(singular & (noise_b > 0), np.inf, variance)
        train = np.where(singular, 0.0, (1.0 - u) * (lam_b * lam_b + noise_b * r * r) / (a * root))
        stieltjes = np.where(r == 0.0, np.inf, 1.0 / np.where(r == 0.0, 1.0, r))
    generalization = bias + variance
    scalar = np.ndim(generalization) == 0

    def out(x):
        return float(x) if scalar else x

    return RidgeTheory(alpha=out(a), lam=out(lam_b), noise=out(noise_b), generalization_error=out(generalization),
                       training_error=out(train), bias=out(bias), variance=out(variance), stieltjes=out(stieltjes))
