"""Energy functions: Ising models on lattices and graphs, ensembles of disorder, and Gibbs models over weights."""
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
from statmech.models._gibbs import MLP, GibbsModel, LinearRegression, LogisticRegression, LossModel
from statmech.models._ising import Ising, Lattice

__all__ = [
    "Ising", "Lattice", "REM", "SK", "CurieWeiss", "DisorderEnsemble", "EdwardsAnderson", "IsingEnsemble",
    "RandomFieldIsing", "REMInstance", "batch_axes", "instance_seeds",
    "LossModel", "LinearRegression", "LogisticRegression", "MLP", "GibbsModel",
]
