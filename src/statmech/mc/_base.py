"""The kernel interface shared by every Monte Carlo update (docs/architecture.md).

A kernel is a pair of pure functions

    state = init(spins, model, beta)
    state, info = step(key, state, model, beta)

with the JAX PRNG key first and the model and β as *arguments* (never
closed over), so a single ``jax.vmap`` runs many chains, many temperatures or
many disorder instances. One ``step`` is one sweep for local kernels (N
attempted single-spin updates), one cluster flip for Wolff, and one full
decomposition for Swendsen–Wang. What carries over between steps lives in
the state; diagnostics live in the info.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import equinox as eqx
import jax


class SpinState(eqx.Module):
    """What a spin kernel carries between steps: the configuration (N,) of ±1, int8."""

    spins: jax.Array


class StepInfo(eqx.Module):
    """Diagnostics of one step.

    ``acceptance_rate``: accepted / attempted single-spin updates (local
    kernels), or the flipped fraction of spins (cluster kernels).
    """

    acceptance_rate: jax.Array


class Kernel(NamedTuple):
    """A named Monte Carlo kernel: ``init(spins, model, beta)`` and ``step(key, state, model, beta)``."""

    name: str
    init: Callable
    step: Callable
