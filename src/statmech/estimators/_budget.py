"""Up-front memory and run-time estimates of the estimators, refused before any work.

Each public estimator calls one of the ``check_*`` functions below after
validating its options and before it allocates a chain or compiles a kernel;
they raise ``ValueError`` through :func:`statmech._validation.check_memory`
and :func:`statmech._validation.check_time` (budgets: half the physical
memory or ``$STATMECH_MEMORY_LIMIT``; 600 s or ``$STATMECH_TIME_LIMIT``).

Memory estimates count the arrays each estimator holds (chains × spins, the
recorded series, the weights); time estimates are rough: spin updates (or
loss-gradient evaluations) times a cost per update measured on a shared
2-core machine and rounded down, so that only runs clearly over the budget
are refused.
"""
from __future__ import annotations

import math

import numpy as np

from statmech._validation import check_memory, check_time
from statmech.mc._sampling import SERIES_BYTES_PER_DRAW, STATE_BYTES_PER_SITE

#: Seconds per single-spin update of the vmapped JAX kernels (measured 70-90 ns per update with
#: heat-bath AIS, TI and PA on a 16x16 torus; 25 ns taken: a rough lower estimate).
SECONDS_PER_SPIN_UPDATE = 25e-9
#: Seconds per Wang–Landau single-spin-flip attempt (a sequential scan; measured 410 ns; 100 ns taken).
SECONDS_PER_WANG_LANDAU_ATTEMPT = 100e-9
#: Seconds per loss-gradient evaluation of a BlackJAX move: a fixed part plus a part per data row and
#: weight (measured 5e-7 to 3e-5 s, i.e. 2e-9 to 9e-9 s per row and weight, with linear regression of
#: 100 and 1000 rows; the lower ends taken).
SECONDS_PER_GRADIENT = 2e-7
SECONDS_PER_GRADIENT_ROW_WEIGHT = 2e-9
#: Bytes per chain and schedule row of the recorded E, M and log-weight buffers (device and NumPy copies).
ROW_BYTES_PER_CHAIN = 48


def check_budget(what: str, n_bytes: float, seconds: float, alternative: str) -> None:
    """Refuse ``what`` when ``n_bytes`` exceeds the memory budget or the rough ``seconds`` the time budget."""
    check_memory(n_bytes, what, alternative)
    check_time(seconds, f"{what} (a rough estimate)", alternative)


def spin_run_bytes(n_chains: float, n_sites: int, n_draws: float = 0.0, n_states: int = 1) -> float:
    """Bytes of ``n_chains`` chain states of ``n_sites`` spins (``n_states`` copies each) and of
    ``n_draws`` recorded E and M entries per chain with their error analysis."""
    return float(n_chains) * (STATE_BYTES_PER_SITE * n_states * n_sites + SERIES_BYTES_PER_DRAW * float(n_draws))


def spin_update_seconds(n_updates: float) -> float:
    return float(n_updates) * SECONDS_PER_SPIN_UPDATE


def high_temperature_energy_std(model) -> float:
    """√(Σ J² + Σ h²): the sd of H at β = 0, from the stored couplings (parallel bonds not merged; rough)."""
    couplings = np.asarray(model.couplings, dtype=np.float64)
    field = np.asarray(model.field, dtype=np.float64)
    bonds = float(np.mean(couplings**2)) * model.n_edges if couplings.size else 0.0
    fields = float(np.mean(field**2)) * model.n_sites if field.size else 0.0
    return math.sqrt(bonds + fields)


def adaptive_steps(model, beta_max: float, target_ess: float, n_targets: int) -> int:
    """Rough number of steps of an ESS-adaptive schedule to ``beta_max``: the normalised ESS of a step
    Δβ is exp(−Δβ² Var H) for Gaussian energies, so Δβ = √(−ln target / Var H) with Var H at β = 0
    (a lower estimate: Var H grows towards the critical point)."""
    sigma = high_temperature_energy_std(model)
    if sigma == 0 or beta_max == 0:
        return max(n_targets, 1)
    return max(n_targets, math.ceil(beta_max * sigma / math.sqrt(-math.log(target_ess))))


def gradient_seconds(model, n_evaluations: float) -> float:
    """Rough seconds of ``n_evaluations`` loss-gradient evaluations of a loss model."""
    data = getattr(model, "X", None)
    n_rows = 1 if data is None else int(np.shape(data)[0])
    return float(n_evaluations) * (SECONDS_PER_GRADIENT + SECONDS_PER_GRADIENT_ROW_WEIGHT * n_rows * model.dim)


def gradients_per_move(kernel: str, n_leapfrog: int) -> int:
    """Loss gradients per BlackJAX move: n_leapfrog for HMC, 1 for MALA, about 8 for NUTS (rough)."""
    return {"hmc": n_leapfrog, "mala": 1}.get(kernel, 8)
