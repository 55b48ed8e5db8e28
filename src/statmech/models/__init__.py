"""Energy functions: Ising models on lattices and graphs, and ensembles of disorder."""
from statmech.models._disorder import (
    REM,
    SK,
    CurieWeiss,
    DisorderEnsemble,
    EdwardsAnderson,
    IsingEnsemble,
    RandomFieldIsing,
    REMInstance,
    batch_axes,
    instance_seeds,
)
from statmech.models._ising import Ising, Lattice

__all__ = [
    "Ising", "Lattice", "REM", "SK", "CurieWeiss", "DisorderEnsemble", "EdwardsAnderson", "IsingEnsemble",
    "RandomFieldIsing", "REMInstance", "batch_axes", "instance_seeds",
]
