"""statmech: the bridge between statistical physics and machine learning, computable.

Curated public API (re-exports only; the implementation lives in private modules)::

    import statmech as sm
    m = sm.Ising.square(8, J=1.0, h=0.0, periodic=True)
    sm.log_z(m, 0.44, method="kaufman")     # Estimate
    sm.thermo(m, [0.2, 0.44], method="auto") # Thermo
"""
from statmech import estimators, mc, ml, studies, theory
from statmech.models import REM, SK, CurieWeiss, EdwardsAnderson, Ising, Lattice, RandomFieldIsing
from statmech.studies import quenched, self_averaging
from statmech.stats import Estimate
from statmech.thermo import Moments, Thermo, available_methods, log_z, thermo
from statmech.mc._sampling import sample
from statmech.exact import (
    planar_ground_energy, planar_ground_state,
    curie_weiss_mean_field,
    all_states,
    ground_energy,
    CRITICAL_BETA,
    CRITICAL_TEMPERATURE,
    Boltzmann,
    DensityOfStates,
    boltzmann,
    density_of_states,
    infinite_chain,
    onsager,
    spontaneous_magnetization,
)

__version__ = "0.1.0"

__all__ = [
    "estimators", "mc", "ml", "studies", "theory", "REM", "SK", "CurieWeiss", "EdwardsAnderson", "RandomFieldIsing", "quenched",
    "self_averaging", "curie_weiss_mean_field",
    "Ising", "Lattice", "Estimate", "Moments", "Thermo", "available_methods", "log_z", "thermo", "sample",
    "CRITICAL_BETA", "CRITICAL_TEMPERATURE", "Boltzmann", "DensityOfStates", "boltzmann",
    "density_of_states", "planar_ground_energy", "planar_ground_state", "all_states", "ground_energy", "infinite_chain", "onsager", "spontaneous_magnetization", "__version__",
]
