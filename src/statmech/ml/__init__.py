"""The ML bridge: training losses as Hamiltonians over the weights θ ∈ R^d.

    p(θ) ∝ exp(−β L(θ) − (λ/2)|θ|²),   Z(β) = ∫ exp(−β L(θ) − (λ/2)|θ|²) dθ,

λ = ``prior_precision`` (λ = 0: the flat measure, only where Z is finite).
The energy is the loss: U = ⟨L⟩ = −∂ln Z/∂β, C = β² Var(L), F = −ln Z/β,
S = ln Z + β⟨L⟩ (the entropy relative to the prior weight; the differential
entropy of p when λ = 0). Densities are per weight (``n_sites = dim``).

    import statmech as sm
    m = sm.ml.LogisticRegression(X, y, prior_precision=1.0)
    sm.log_z(m, 1.0, method="quadrature")          # d <= 3, ~1e-12
    sm.log_z(m, 1.0, method="smc", seed=0)         # estimate ± stderr
    sm.ml.minimize(m).loss                          # min L, the β → ∞ limit of F
    sm.ml.zero_temperature_limit(m, [1, 10, 100]).plot()

Methods for ``sm.log_z`` / ``sm.thermo``: ``"exact"`` (linear regression),
``"laplace"``, ``"quadrature"`` (d <= 3), ``"ti"``, ``"ais"``, ``"smc"``
(sampling, need λ > 0).
"""
from statmech.ml._bridge import ZeroTemperatureLimit, laplace_gap, zero_temperature_limit
from statmech.ml._generalization import (
    ClassificationData,
    GeneralizationResult,
    classification_error,
    classification_split,
    generalization_vs_beta,
)
from statmech.exact._gibbs import gaussian_moments, laplace_moments, quadrature_moments
from statmech.estimators._gibbs import (
    annealed_importance_sampling,
    sampled_thermo,
    sequential_monte_carlo,
    thermodynamic_integration,
)
from statmech.models._gibbs import (
    MLP,
    GibbsModel,
    LinearRegression,
    LogisticRegression,
    LossModel,
    MinimizeResult,
    loss_is_coercive,
    minimize,
    strictly_separable,
)

from statmech.ml._perceptron import (
    GibbsLearningResult,
    GibbsLearningTheory,
    Perceptron,
    SeparabilityCurve,
    cover_separable_fraction,
    gibbs_generalization,
    gibbs_learning_rs,
    is_separable,
    separability_curve,
)

__all__ = [
    "LossModel", "LinearRegression", "LogisticRegression", "MLP", "GibbsModel", "loss_is_coercive",
    "strictly_separable",
    "minimize", "MinimizeResult", "zero_temperature_limit", "ZeroTemperatureLimit", "laplace_gap",
    "gaussian_moments", "laplace_moments", "quadrature_moments", "thermodynamic_integration",
    "annealed_importance_sampling", "sequential_monte_carlo", "sampled_thermo",
    "GibbsLearningResult", "GibbsLearningTheory", "Perceptron", "SeparabilityCurve", "cover_separable_fraction",
    "gibbs_generalization", "gibbs_learning_rs", "is_separable", "separability_curve",
    "generalization_vs_beta", "GeneralizationResult", "classification_split", "ClassificationData",
    "classification_error",
]
