"""Parallel tempering (replica exchange) over a ladder of inverse temperatures.

One step advances every slot β_k with an inner kernel, then proposes swaps
of neighbouring slots (even pairs on even steps, odd pairs on odd steps),
accepted with min(1, exp((β_{k+1} − β_k)(E_{k+1} − E_k))) (Hukushima & Nemoto,
J. Phys. Soc. Jpn. 65, 1604 (1996); Okabe et al., Chem. Phys. Lett. 335, 435
(2001)). ``tempering_init``, ``tempering_step``, ``run_tempering`` and
``parallel_tempering(kernel)``; how it works: docs/guides/monte_carlo.md.
"""
from __future__ import annotations

import dataclasses
import functools
import warnings
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from statmech._validation import check_positive_int, renamed_option
from statmech.mc._base import Kernel
from statmech.mc._local import energy_function


class TemperingState(eqx.Module):
    """What parallel tempering carries between steps.

    ``replicas``: the inner kernel's state with a leading slot axis (R, …);
    ``replica_at_slot`` (R,): which replica sits at slot k; ``phase`` (R,) per
    replica: 0 before its first visit to the lowest β, 1 after a visit to the
    lowest β, 2 after then reaching the highest β; ``round_trips`` (R,) per
    replica; ``n_steps``: tempering steps taken (its parity picks the pairs).
    """

    replicas: Any
    replica_at_slot: jax.Array
    phase: jax.Array
    round_trips: jax.Array
    n_steps: jax.Array

    @property
    def spins(self) -> jax.Array:
        """Configurations in slot order, (R, N)."""
        return self.replicas.spins


class TemperingInfo(eqx.Module):
    """Diagnostics of one tempering step.

    ``acceptance_rate`` (R,): the inner kernel's rate per slot (mean over the
    sweeps); ``swap_attempted`` / ``swap_accepted`` (R−1,): pair (k, k+1)
    proposed / exchanged this step; ``energy`` (R,): H of each slot after the swaps;
    ``magnetization`` (R,): Σ_i s_i of each slot after the swaps (int32).
    """

    acceptance_rate: jax.Array
    swap_attempted: jax.Array
    swap_accepted: jax.Array
    energy: jax.Array
    magnetization: jax.Array


def check_ladder(betas) -> np.ndarray:
    """Return the ladder as float64, or raise ValueError saying how to fix it.

    It must be 1-D, hold at least 2 values, all finite and >= 0, strictly increasing.
    """
    try:
        ladder = np.asarray(betas, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"betas must be a 1-D array of numbers, got {betas!r}") from error
    example = "e.g. np.geomspace(0.1, 1.0, 8)"
    if ladder.ndim != 1:
        raise ValueError(f"betas must be a 1-D ladder, got shape {ladder.shape}; {example}")
    if ladder.size < 2:
        raise ValueError(f"parallel tempering needs at least 2 temperatures, got {ladder.size}; {example}")
    if not np.all(np.isfinite(ladder)):
        raise ValueError("betas contains NaN or inf; pass finite inverse temperatures >= 0")
    if np.any(ladder < 0):
        raise ValueError(f"betas must all be >= 0, got {ladder.min()}; {example}")
    if np.any(np.diff(ladder) <= 0):
        raise ValueError(
            "betas must be strictly increasing (β_0 < β_1 < …, hottest first); "
            "pass np.unique(betas), which sorts and drops repeats"
        )
    return ladder


def _is_tracer(value) -> bool:
    return isinstance(value, jax.core.Tracer)


def tempering_init(spins, model, betas, kernel: Kernel) -> TemperingState:
    """Start R replicas: ``spins`` (R, N) of ±1, ``betas`` (R,) the ladder (validated when concrete)."""
    if not _is_tracer(betas):
        betas = check_ladder(betas)
    n_slots = betas.shape[0]
    if not _is_tracer(spins):
        shape = np.shape(spins)
        if shape != (n_slots, model.n_sites):
            raise ValueError(
                f"spins must have shape (R, N) = ({n_slots}, {model.n_sites}), one row per "
                f"temperature, got {shape}; e.g. np.tile(spins, ({n_slots}, 1))"
            )
    replicas = jax.vmap(kernel.init, in_axes=(0, None, 0))(spins, model, betas)
    phase = jnp.zeros(n_slots, jnp.int8).at[0].set(1)  # replica 0 starts at the lowest β
    return TemperingState(
        replicas=replicas,
        replica_at_slot=jnp.arange(n_slots, dtype=jnp.int32),
        phase=phase,
        round_trips=jnp.zeros(n_slots, jnp.int32),
        n_steps=jnp.zeros((), jnp.int32),
    )


def _swap_log_acceptance(betas, energies):
    """log of the swap acceptance ratio of pairs (k, k+1): (β_{k+1} − β_k)(E_{k+1} − E_k)."""
    return (betas[1:] - betas[:-1]) * (energies[1:] - energies[:-1])


def tempering_step(key, state: TemperingState, model, betas, kernel: Kernel,
                   n_sweeps_between_swaps: int = 1):
    """Advance every slot ``n_sweeps_between_swaps`` inner steps, then swap even or odd pairs.

    Returns ``(TemperingState, TemperingInfo)``. Pure and key-first: ``jit``
    it with ``kernel`` and ``n_sweeps_between_swaps`` static.
    """
    betas = jnp.asarray(betas)
    n_slots = betas.shape[0]
    sweep_keys = jax.random.split(key, n_sweeps_between_swaps + 1)

    def sweep(replicas, sweep_key):
        slot_keys = jax.random.split(sweep_key, n_slots)
        replicas, info = jax.vmap(kernel.step, in_axes=(0, 0, None, 0))(
            slot_keys, replicas, model, betas)
        return replicas, info.acceptance_rate

    replicas, rates = lax.scan(sweep, state.replicas, sweep_keys[:-1])
    energies = jax.vmap(energy_function(model))(replicas.spins)  # the packed sum on lattices: a third of a sweep

    pairs = jnp.arange(n_slots - 1)
    attempted = (pairs % 2) == (state.n_steps % 2)
    log_uniform = jnp.log(jax.random.uniform(sweep_keys[-1], (n_slots - 1,)))
    accepted = attempted & (log_uniform < _swap_log_acceptance(betas, energies))
    # accepted pairs are disjoint: slot k takes from k+1 (lower end) or k−1 (upper end)
    no = jnp.zeros(1, bool)
    source = jnp.arange(n_slots)
    source = jnp.where(jnp.concatenate([accepted, no]), source + 1, source)
    source = jnp.where(jnp.concatenate([no, accepted]), source - 1, source)
    replicas = jax.tree_util.tree_map(lambda leaf: leaf[source], replicas)
    replica_at_slot = state.replica_at_slot[source]
    energies = energies[source]

    lowest, highest = replica_at_slot[0], replica_at_slot[n_slots - 1]
    phase, round_trips = state.phase, state.round_trips
    round_trips = round_trips.at[lowest].add((phase[lowest] == 2).astype(jnp.int32))
    phase = phase.at[lowest].set(1)
    phase = phase.at[highest].set(jnp.where(phase[highest] == 1, 2, phase[highest]).astype(phase.dtype))

    new_state = TemperingState(replicas=replicas, replica_at_slot=replica_at_slot, phase=phase,
                               round_trips=round_trips, n_steps=state.n_steps + 1)
    info = TemperingInfo(acceptance_rate=jnp.mean(rates, axis=0), swap_attempted=attempted,
                         swap_accepted=accepted, energy=energies,
                         magnetization=jnp.sum(replicas.spins, axis=-1, dtype=jnp.int32))
    return new_state, info


def parallel_tempering(kernel: Kernel, n_sweeps_between_swaps: int = 1) -> Kernel:
    """A :class:`Kernel` running ``kernel`` on a β ladder with replica exchange.

    Its ``init(spins (R, N), model, betas (R,))`` and ``step(key, state, model,
    betas)`` are :func:`tempering_init` / :func:`tempering_step`.
    """
    if not isinstance(kernel, Kernel):
        raise TypeError(f"kernel must be a statmech.mc Kernel, got {type(kernel).__name__}")
    n_sweeps_between_swaps = check_positive_int(n_sweeps_between_swaps, "n_sweeps_between_swaps")
    return Kernel(
        name=f"parallel_tempering({kernel.name})",
        init=functools.partial(tempering_init, kernel=kernel),
        step=functools.partial(tempering_step, kernel=kernel,
                               n_sweeps_between_swaps=n_sweeps_between_swaps),
    )


@dataclasses.dataclass(frozen=True)
class TemperingResult:
    """Output of :func:`run_tempering` (NumPy arrays).

    ``energies`` (n_steps, R): H of each temperature slot after every
    tempering step; ``magnetizations`` (n_steps, R): Σ_i s_i likewise; ``spins`` (n_steps, R, N) int8 when recorded, else None;
    ``swap_acceptance`` (R−1,): accepted / attempted swaps of pair (k, k+1);
    ``round_trips``: completed lowest→highest→lowest β trips summed over
    replicas during the recorded steps; ``inner_acceptance`` (R,): mean inner
    kernel rate per slot; ``state``: the final :class:`TemperingState`.
    """

    betas: np.ndarray
    energies: np.ndarray
    magnetizations: np.ndarray
    spins: np.ndarray | None
    swap_acceptance: np.ndarray
    round_trips: int
    inner_acceptance: np.ndarray
    n_sweeps: int
    n_sweeps_between_swaps: int
    burn_in: int
    kernel: str
    key: Any
    state: TemperingState

    @property
    def n_burn_in(self) -> int:
        """Old name of :attr:`burn_in` (kept for one release)."""
        warnings.warn("TemperingResult.n_burn_in is renamed burn_in; the old name will be removed in the next "
                      "release", DeprecationWarning, stacklevel=2)
        return self.burn_in


@eqx.filter_jit
def _run(key, model, betas, state, kernel, n_sweeps_between_swaps, burn_in, n_steps, record_spins):
    step = functools.partial(tempering_step, model=model, betas=betas, kernel=kernel,
                             n_sweeps_between_swaps=n_sweeps_between_swaps)
    burn_key, run_key = jax.random.split(key)

    def burn(state, k):
        return step(k, state)[0], None

    state, _ = lax.scan(burn, state, jax.random.split(burn_key, burn_in))
    start_trips = jnp.sum(state.round_trips)

    def record(state, k):
        state, info = step(k, state)
        out = (info.energy, info.swap_attempted, info.swap_accepted, info.acceptance_rate,
               info.magnetization)
        return state, out + ((state.spins,) if record_spins else ())

    state, outputs = lax.scan(record, state, jax.random.split(run_key, n_steps))
    return state, outputs, jnp.sum(state.round_trips) - start_trips


def run_tempering(key, model, betas, kernel: Kernel, n_sweeps: int, *, spins=None,
                  n_sweeps_between_swaps: int = 1, burn_in: int | None = None,
                  record_spins: bool = False, n_burn_in: int | None = None) -> TemperingResult:
    """Run parallel tempering for ``n_sweeps`` inner sweeps and collect diagnostics.

    ``key``: a JAX PRNG key (or an int seed). ``spins`` (R, N): the start
    (default: independent random ±1 rows). There are
    ``n_sweeps // n_sweeps_between_swaps`` tempering steps (``n_sweeps`` must
    be a multiple); ``burn_in`` further steps (default 0) run first and are
    discarded (the old name ``n_burn_in`` works for one release, with a DeprecationWarning).
    Energies (and spins, with ``record_spins``) are recorded after every
    step, swap rates and round trips are counted over the recorded steps.
    """
    ladder = check_ladder(betas)
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps")
    n_sweeps_between_swaps = check_positive_int(n_sweeps_between_swaps, "n_sweeps_between_swaps")
    burn_in = check_positive_int(renamed_option("run_tempering", "n_burn_in", n_burn_in, "burn_in", burn_in, 0),
                                 "burn_in", minimum=0)
    if n_sweeps % n_sweeps_between_swaps:
        raise ValueError(
            f"n_sweeps ({n_sweeps}) must be a multiple of n_sweeps_between_swaps "
            f"({n_sweeps_between_swaps})"
        )
    if not isinstance(kernel, Kernel):
        raise TypeError(f"kernel must be a statmech.mc Kernel, got {type(kernel).__name__}")
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        key = jax.random.key(int(key))
    init_key, run_key = jax.random.split(key)
    if spins is None:
        spins = np.asarray(jax.random.rademacher(init_key, (ladder.size, model.n_sites), jnp.int8))
    state = tempering_init(spins, model, ladder, kernel)
    n_steps = n_sweeps // n_sweeps_between_swaps
    state, outputs, trips = _run(run_key, model, ladder, state, kernel, n_sweeps_between_swaps,
                                 burn_in, n_steps, bool(record_spins))
    energies, attempted, accepted, rates = (np.asarray(x) for x in outputs[:4])
    n_attempted = attempted.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        swap_acceptance = np.where(n_attempted > 0, accepted.sum(axis=0) / np.maximum(n_attempted, 1), np.nan)
    return TemperingResult(
        betas=ladder, energies=energies.astype(np.float64),
        spins=np.asarray(outputs[5]) if record_spins else None,
        magnetizations=np.asarray(outputs[4]).astype(np.int64),
        swap_acceptance=swap_acceptance, round_trips=int(trips),
        inner_acceptance=rates.mean(axis=0).astype(np.float64),
        n_sweeps=n_sweeps, n_sweeps_between_swaps=n_sweeps_between_swaps, burn_in=burn_in,
        kernel=kernel.name, key=key, state=state,
    )
