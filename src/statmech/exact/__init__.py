"""Exact methods (registered with ``sm.log_z``/``sm.thermo`` by ``statmech._registry``).

- ``"enumerate"``: sum over all 2^N states (N <= 30).
- ``"transfer"``: transfer matrices for chains and 2D strips (width <= 16).
- ``"kaufman"``: finite periodic 2D Ising model at h = 0 (Kaufman 1949).
- ``"beale"``: exact density of states of the periodic L x L 2D Ising model (Beale 1996).
- ``"pfaffian"``: 2D square lattices with arbitrary bonds at h = 0, open (planar) or periodic (four Pfaffians).
- ``"tensor-network"``: any graph, fields included, as far as its contraction width allows.
- ``"curie-weiss"``: uniform all-to-all couplings, O(N) sum over the magnetisation.
- ``"rem-sum"``: the random energy model's 2^N energies.
- :func:`onsager`: the infinite square lattice and the infinite chain.
"""
from statmech.exact._boltzmann import Boltzmann, boltzmann
from statmech.exact._onsager import (
    CRITICAL_BETA,
    CRITICAL_TEMPERATURE,
    infinite_chain,
    onsager,
    spontaneous_magnetization,
)
from statmech.exact._beale import DensityOfStates, density_of_states
from statmech.exact._enumerate import MAX_ENUMERATION_SITES, all_states, ground_energy
from statmech.exact._mean_field import curie_weiss_log_z, curie_weiss_mean_field
from statmech.exact._matching import planar_ground_energy, planar_ground_state

__all__ = [
    "MAX_ENUMERATION_SITES", "all_states", "ground_energy", "curie_weiss_log_z", "curie_weiss_mean_field", "planar_ground_energy", "planar_ground_state",
    "Boltzmann", "boltzmann", "onsager", "infinite_chain", "CRITICAL_BETA",
    "CRITICAL_TEMPERATURE", "DensityOfStates", "density_of_states", "spontaneous_magnetization",
]

from statmech.exact._tensor_network import ContractionCost, contraction_cost  # noqa: E402  (tensor networks)
from statmech.exact._tropical import GroundState, tropical_ground_state  # noqa: E402
from statmech.exact._polynomial_tn import GraphDensityOfStates, polynomial_density_of_states  # noqa: E402
from statmech.exact._chimera import chimera_graph  # noqa: E402
__all__ += ["ContractionCost", "contraction_cost", "GroundState", "tropical_ground_state",
            "GraphDensityOfStates", "polynomial_density_of_states", "chimera_graph"]
