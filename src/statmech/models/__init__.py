"""Energy functions: Ising models on lattices and graphs."""
from statmech.models._ising import Ising, Lattice

__all__ = ["Ising", "Lattice"]
