"""statmech: the bridge between statistical physics and machine learning, computable.

Curated public API (re-exports only; the implementation lives in private modules)::

    import statmech as sm
    m = sm.Ising.square(8, J=1.0, h=0.0, periodic=True)
    sm.log_z(m, 0.44, method="kaufman")     # Estimate
    sm.thermo(m, [0.2, 0.44], method="auto") # Thermo

Names are imported on first use (PEP 562), so ``import statmech`` and the
``statmech`` command start quickly; JAX and the methods load when needed.
"""
from __future__ import annotations

import importlib

# Eager, and light (value types only): binds the names ``thermo``/``log_z`` to the front-door functions
# after the submodule ``statmech.thermo`` is bound, so ``sm.thermo`` is never the module.
from statmech.thermo import log_z, thermo  # noqa: F401  (re-exported)

__version__ = "0.1.0"

# public name -> (module, attribute); attribute None means the module itself
_EXPORTS: dict[str, tuple[str, str | None]] = {
    # subpackages
    "approx": ("statmech.approx", None),
    "estimators": ("statmech.estimators", None),
    "exact": ("statmech.exact", None),
    "mc": ("statmech.mc", None),
    "ml": ("statmech.ml", None),
    "models": ("statmech.models", None),
    "stats": ("statmech.stats", None),
    "studies": ("statmech.studies", None),
    "testing": ("statmech.testing", None),
    "theory": ("statmech.theory", None),
    # models
    "Ising": ("statmech.models", "Ising"),
    "Lattice": ("statmech.models", "Lattice"),
    "REM": ("statmech.models", "REM"),
    "SK": ("statmech.models", "SK"),
    "CurieWeiss": ("statmech.models", "CurieWeiss"),
    "EdwardsAnderson": ("statmech.models", "EdwardsAnderson"),
    "RandomFieldIsing": ("statmech.models", "RandomFieldIsing"),
    # value types and front doors
    "Estimate": ("statmech._types", "Estimate"),
    "Moments": ("statmech._types", "Moments"),
    "Thermo": ("statmech._types", "Thermo"),
    "StatmechWarning": ("statmech._types", "StatmechWarning"),
    "SamplingWarning": ("statmech._types", "SamplingWarning"),
    "available_methods": ("statmech._registry", "available_methods"),
    "sample": ("statmech.mc._sampling", "sample"),
    "quenched": ("statmech.studies", "quenched"),
    "self_averaging": ("statmech.studies", "self_averaging"),
    # exact
    "planar_ground_energy": ("statmech.exact", "planar_ground_energy"),
    "planar_ground_state": ("statmech.exact", "planar_ground_state"),
    "curie_weiss_mean_field": ("statmech.exact", "curie_weiss_mean_field"),
    "all_states": ("statmech.exact", "all_states"),
    "ground_energy": ("statmech.exact", "ground_energy"),
    "CRITICAL_BETA": ("statmech.exact", "CRITICAL_BETA"),
    "CRITICAL_TEMPERATURE": ("statmech.exact", "CRITICAL_TEMPERATURE"),
    "Boltzmann": ("statmech.exact", "Boltzmann"),
    "DensityOfStates": ("statmech.exact", "DensityOfStates"),
    "boltzmann": ("statmech.exact", "boltzmann"),
    "density_of_states": ("statmech.exact", "density_of_states"),
    "infinite_chain": ("statmech.exact", "infinite_chain"),
    "onsager": ("statmech.exact", "onsager"),
    "spontaneous_magnetization": ("statmech.exact", "spontaneous_magnetization"),
    "chimera_graph": ("statmech.exact", "chimera_graph"),
    "contraction_cost": ("statmech.exact", "contraction_cost"),
    "polynomial_density_of_states": ("statmech.exact", "polynomial_density_of_states"),
    "tropical_ground_state": ("statmech.exact", "tropical_ground_state"),
}

__all__ = sorted([*_EXPORTS, "log_z", "thermo"]) + ["__version__"]


def __getattr__(name: str):
    try:
        module_name, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'statmech' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
