"""Estimators of log Z with error bars: thermodynamic integration, annealed importance
sampling, population annealing, MBAR over parallel tempering, and Wang–Landau.

All are available through ``sm.log_z(model, beta, method="ti" | "ais" | "pa" | "mbar" | "wang-landau")``.
"""
from statmech.estimators._annealing import (
    PopulationAnnealingResult,
    annealed_importance_sampling,
    population_annealing,
)
from statmech.estimators._integration import clenshaw_curtis, thermodynamic_integration
from statmech.estimators._mbar import MBARFreeEnergy, default_ladder, mbar_free_energy
from statmech.estimators._wang_landau import WangLandauResult, energy_grid, wang_landau

__all__ = [
    "PopulationAnnealingResult", "annealed_importance_sampling", "population_annealing", "clenshaw_curtis",
    "thermodynamic_integration", "MBARFreeEnergy", "default_ladder", "mbar_free_energy", "WangLandauResult",
    "energy_grid", "wang_landau",
]
