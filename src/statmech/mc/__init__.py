"""Monte Carlo: pure kernels (init/step pairs, key first), drivers and tempering.

Kernels: ``metropolis``, ``heatbath`` (sequential single-site, any Ising
model), ``checkerboard_metropolis``, ``checkerboard_heatbath``
(sublattice-parallel), ``hashed_checkerboard_metropolis``,
``hashed_checkerboard_heatbath`` (the same sweep with hashed random words,
two-colourable lattices), ``wolff``, ``swendsen_wang`` (ferromagnets), and
parallel tempering over any of them. ``run_instances`` runs one chain per
±J disorder instance with multispin replicas (numba).
"""
from statmech.mc._base import Kernel, SpinState, StepInfo
from statmech.mc._cluster import check_ferromagnetic, swendsen_wang, wolff
from statmech.mc._fast import run_instances
from statmech.mc._local import (
    checkerboard_heatbath,
    checkerboard_metropolis,
    colored_kernel,
    graph_coloring,
    hashed_checkerboard_heatbath,
    hashed_checkerboard_metropolis,
    heatbath,
    metropolis,
    run_chain,
    run_chain_observables,
)
from statmech.mc._tempering import (
    TemperingInfo,
    TemperingResult,
    TemperingState,
    check_ladder,
    parallel_tempering,
    run_tempering,
    tempering_init,
    tempering_step,
)

__all__ = [
    "Kernel", "SpinState", "StepInfo", "check_ferromagnetic", "swendsen_wang", "wolff",
    "checkerboard_heatbath", "checkerboard_metropolis", "colored_kernel", "graph_coloring",
    "hashed_checkerboard_heatbath", "hashed_checkerboard_metropolis", "heatbath",
    "metropolis", "run_chain", "run_chain_observables", "TemperingInfo", "TemperingResult",
    "TemperingState", "check_ladder", "parallel_tempering", "run_tempering", "tempering_init",
    "tempering_step", "run_instances",
]
