"""Replica and mean-field theory in the thermodynamic limit: REM and SK (RS, AT line, Parisi).

    import statmech as sm
    sm.theory.sk_replica_symmetric(beta)   # Thermo of densities (RS)
    p = sm.theory.parisi(beta)             # full RSB: p.free_energy_density, p.q(x), p.thermo()
    sm.theory.sk_ground_state_energy()     # e0 from the T = 0 Parisi formula (≈ −0.7632)
    sm.theory.rem(beta)                    # Thermo of densities (Derrida's REM)
    sm.theory.ridge(alpha, lam, noise)     # ridge regression: generalization_error, training_error (N → ∞)
    sm.theory.glm_state_evolution(alpha, prior, channel, noise)   # Bayes-optimal AMP, per iteration
"""
from statmech.theory._glm import (GLMReplicaResult, StateEvolution, glm_replica, glm_replica_free_entropy,
                                  glm_state_evolution)
from statmech.theory._ridge import RidgeTheory, ridge
from statmech.theory._rem import REM_CRITICAL_BETA, REM_CRITICAL_TEMPERATURE, rem
from statmech.theory._sk import (
    CRITICAL_BETA as SK_CRITICAL_BETA,
    PARISI_MAX_BETA,
    ParisiGroundState,
    ParisiOrderParameter,
    ParisiResult,
    at_line,
    at_line_temperature,
    parisi,
    parisi_ground_state,
    plot_parisi_q,
    plot_sk_phase_diagram,
    sk_ground_state_energy,
    sk_replica_symmetric,
)

__all__ = [
    "REM_CRITICAL_BETA", "REM_CRITICAL_TEMPERATURE", "rem",
    "SK_CRITICAL_BETA", "PARISI_MAX_BETA", "ParisiGroundState", "ParisiOrderParameter", "ParisiResult",
    "at_line", "at_line_temperature", "parisi", "parisi_ground_state", "plot_parisi_q",
    "plot_sk_phase_diagram", "sk_ground_state_energy", "sk_replica_symmetric",
    "glm_state_evolution", "glm_replica_free_entropy", "glm_replica", "StateEvolution", "GLMReplicaResult",
    "ridge", "RidgeTheory",
]
