"""The random energy model in the thermodynamic limit (Derrida, PRB 24, 2613 (1981)).

2^N configurations with independent energies E ~ N(0, N/2) (the convention of
:class:`statmech.models.REM`). The number of configurations at energy density
e is exp(N s(e)) with s(e) = ln 2 − e² for |e| ≤ √(ln 2) (and none beyond),
so the quenched free entropy density is

    φ(β) = ln 2 + β²/4          for β ≤ β_c = 2√(ln 2),
    φ(β) = β √(ln 2)            for β > β_c (frozen phase: the system sits in
                                 the lowest states, e = −√(ln 2), s = 0).

The transition is continuous in φ and in its first derivative (u(β_c) = −√ln 2
from both sides) and has a jump in the specific heat, from β_c²/2 = 2 ln 2 to 0
(a random first-order transition; Derrida 1981; Mézard & Montanari,
*Information, Physics, and Computation*, ch. 5).
"""
from __future__ import annotations

import math

import numpy as np

from statmech._validation import as_beta_array
from statmech._types import Thermo

__all__ = ["REM_CRITICAL_BETA", "REM_CRITICAL_TEMPERATURE", "rem"]

#: β_c = 2√(ln 2) ≈ 1.6651092 for energies of variance N/2.
REM_CRITICAL_BETA = 2.0 * math.sqrt(math.log(2.0))
#: T_c = 1/β_c ≈ 0.6005612.
REM_CRITICAL_TEMPERATURE = 1.0 / REM_CRITICAL_BETA

_SQRT_LN2 = math.sqrt(math.log(2.0))


def rem(beta) -> Thermo:
    """The REM (energies N(0, N/2), Derrida 1981) in the limit N → ∞: a Thermo of densities.

    For β ≤ β_c = 2√(ln 2): φ = ln 2 + β²/4, u = −β/2, s = ln 2 − β²/4, c = β²/2
    (the annealed result is exact there). For β > β_c (frozen): φ = β√(ln 2),
    u = −√(ln 2), s = 0, c = 0. At β = β_c itself the high-temperature values
    are returned (c = 2 ln 2 on the left of its jump). ``meta``:
    ``critical_beta``, ``critical_temperature``, and ``frozen`` (bool per β).
    """
    betas, scalar = as_beta_array(beta)
    frozen = betas > REM_CRITICAL_BETA
    free_entropy = np.where(frozen, betas * _SQRT_LN2, math.log(2.0) + betas**2 / 4.0)
    energy = np.where(frozen, -_SQRT_LN2, -betas / 2.0)
    heat = np.where(frozen, 0.0, betas**2 / 2.0)
    meta = {"critical_beta": REM_CRITICAL_BETA, "critical_temperature": REM_CRITICAL_TEMPERATURE,
            "frozen": bool(frozen[0]) if scalar else frozen}
    return Thermo.from_densities(betas, "rem", free_entropy, energy_density=energy,
                                 specific_heat_density=heat, scalar=scalar, meta=meta)
