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

import jax
import jax.numpy as jnp
import numpy as np

from statmech._validation import as_beta_array
from statmech.models._gibbs import _check_model, _loss_hessian, minimize
from statmech.thermo import thermo


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
