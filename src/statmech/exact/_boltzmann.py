"""The exact Boltzmann distribution of an enumerable Ising model (N <= 24).

    p(s) = exp(−β H(s)) / Z(β),    log p(s) = −β H(s) − log Z(β),

with log Z from the exact enumeration (method ``"enumerate"``), so nothing is
ever exponentiated before the log-domain normalisation. This is step 1 of the
seed's argument: ``boltzmann(Ising.chain(8, J=0.0, h=-1.0, periodic=False), 1.0)``
is its toy example of 8 independent spins with E(x) = Σ x_i.

Reference: e.g. MacKay, *Information Theory, Inference, and Learning
Algorithms* (2003), ch. 31 (Ising models) — p(x) = exp(−βE(x))/Z.
"""
from __future__ import annotations

import dataclasses
import numbers

import numpy as np

from statmech._validation import as_beta_array, check_positive_int
from statmech.exact._enumerate import (
    MAX_STATES_SITES,
    _shifted_moments,
    all_states,
    ground_energy,
    state_energies,
)
from statmech.models import Ising

_LEVEL_TOLERANCE = 1e-9
"""Energies closer than this times max(1, max |H|) are one degenerate level."""


@dataclasses.dataclass(frozen=True, eq=False)
class Boltzmann:
    """Exact Boltzmann distribution p(s) = exp(−β H(s)) / Z of an Ising model with N <= 24.

    Build it with :func:`boltzmann` (or ``Boltzmann(model, beta)``). Attributes:
    ``model``, ``beta`` (a float >= 0) and ``log_z`` (computed, a float).
    Arrays over all states (:meth:`states`, :meth:`energies`,
    :meth:`probabilities`) follow the order of
    :func:`statmech.exact.statmech.all_states`: state k has s_i = +1 where
    bit i of k is set.
    """

    model: Ising
    beta: float
    log_z: float = dataclasses.field(init=False)
    # log p(s) = −β (H(s) − E₀) − log Σ exp(−β (H − E₀)): no cancellation of two
    # huge numbers at large β (log Z ≈ 1.8e7 at β = 1e6 carries only ~1e−9 absolute).
    _ground_energy: float = dataclasses.field(init=False, repr=False)
    _log_z_above_ground: float = dataclasses.field(init=False, repr=False)

    def __post_init__(self):
        if not isinstance(self.model, Ising):
            raise TypeError(f"boltzmann needs an Ising model, got {type(self.model).__name__}")
        n = self.model.n_sites
        if n > MAX_STATES_SITES:
            raise ValueError(
                f"the model has N = {n} sites; boltzmann lists all 2^N states and is limited "
                f"to {MAX_STATES_SITES} sites. For log Z and thermodynamics up to 30 sites use "
                "sm.thermo(model, beta, method='enumerate'); beyond, a Monte Carlo sampler"
            )
        betas, scalar = as_beta_array(self.beta)
        if not scalar:
            raise ValueError(
                f"boltzmann takes one scalar beta, got an array of shape {np.shape(self.beta)}; "
                "build one distribution per beta, or use sm.thermo(model, betas) for a grid"
            )
        beta = float(betas[0])
        ground = ground_energy(self.model)
        log_z_above_ground = float(_shifted_moments(self.model, betas, ground).log_z[0])
        object.__setattr__(self, "beta", beta)
        object.__setattr__(self, "_ground_energy", ground)
        object.__setattr__(self, "_log_z_above_ground", log_z_above_ground)
        object.__setattr__(self, "log_z", log_z_above_ground - beta * ground)

    @property
    def n_sites(self) -> int:
        """Number of spins N."""
        return self.model.n_sites

    # ----------------------------------------------------------- single states
    def log_prob(self, s) -> np.ndarray:
        """log p(s) = −β H(s) − log Z for spins ``s`` of shape (..., N) with entries ±1; shape (...)."""
        spins = self._check_spins(s)
        return self._log_prob_of_energy(self.model.energy(spins))

    def prob(self, s) -> np.ndarray:
        """p(s) = exp(log p(s)) for spins ``s`` of shape (..., N) with entries ±1; shape (...)."""
        return np.exp(self.log_prob(s))

    # -------------------------------------------------------------- all states
    def states(self) -> np.ndarray:
        """All 2^N states, int8 (2^N, N), in the order of ``all_states``."""
        return all_states(self.n_sites)

    def energies(self) -> np.ndarray:
        """H(s) of every state, float64 (2^N,), aligned with :meth:`states`."""
        return state_energies(self.model)

    def log_probabilities(self) -> np.ndarray:
        """log p(s) of every state, float64 (2^N,), aligned with :meth:`states`."""
        return self._log_prob_of_energy(self.energies())

    def probabilities(self) -> np.ndarray:
        """p(s) of every state, float64 (2^N,), aligned with :meth:`states` (sums to 1)."""
        return np.exp(self.log_probabilities())

    def energy_distribution(self) -> tuple[np.ndarray, np.ndarray]:
        """(distinct energies E_l ascending, P(H = E_l) = Σ_{s: H(s)=E_l} p(s)).

        Energies that differ by less than 1e−9 · max(1, max |H|) (float
        rounding of one degenerate level) are merged; a level's energy is the
        mean of its members.
        """
        energies = self.energies()
        order = np.argsort(energies, kind="stable")
        sorted_energies = energies[order]
        tolerance = _LEVEL_TOLERANCE * max(1.0, float(np.max(np.abs(sorted_energies))))
        starts = np.concatenate([[0], np.flatnonzero(np.diff(sorted_energies) > tolerance) + 1])
        counts = np.diff(np.append(starts, len(sorted_energies)))
        levels = np.add.reduceat(sorted_energies, starts) / counts
        probabilities = np.add.reduceat(np.exp(self._log_prob_of_energy(sorted_energies)), starts)
        return levels, probabilities

    # ---------------------------------------------------------------- sampling
    def sample(self, n, seed) -> np.ndarray:
        """``n`` independent exact samples, int8 (n, N), drawn with ``np.random.default_rng(seed)``.

        Inverse-CDF sampling over the 2^N states (states of probability 0 are never drawn).
        """
        n = check_positive_int(n, "n")
        if isinstance(seed, bool) or not isinstance(seed, (numbers.Integral, np.integer)):
            raise TypeError(f"seed must be an int (e.g. seed=0), got {type(seed).__name__} {seed!r}")
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        rng = np.random.default_rng(int(seed))
        cumulative = np.cumsum(self.probabilities())
        uniforms = rng.random(n) * cumulative[-1]
        index = np.searchsorted(cumulative, uniforms, side="right")
        # u·total can round up to the total: map it to the last state of nonzero probability.
        last_possible = int(np.flatnonzero(np.diff(np.concatenate([[0.0], cumulative])) > 0)[-1])
        index = np.minimum(index, last_possible)
        bits = (index[:, None] >> np.arange(self.n_sites)) & 1
        return (2 * bits - 1).astype(np.int8)

    # --------------------------------------------------------------- internals
    def _log_prob_of_energy(self, energy):
        return -self.beta * (energy - self._ground_energy) - self._log_z_above_ground

    def _check_spins(self, s) -> np.ndarray:
        try:
            spins = np.asarray(s)
        except (TypeError, ValueError) as error:
            raise TypeError(f"spins must be an array of ±1 values, got {s!r}") from error
        if not (np.issubdtype(spins.dtype, np.number) or spins.dtype == np.bool_):
            raise TypeError(f"spins must be numeric ±1 values, got dtype {spins.dtype}")
        n = self.n_sites
        if spins.ndim == 0 or spins.shape[-1] != n:
            raise ValueError(
                f"spins must have shape (..., {n}) (one ±1 per site on the last axis), "
                f"got shape {spins.shape}"
            )
        valid = (spins == 1) | (spins == -1)
        if not np.all(valid):
            bad = spins[~valid].reshape(-1)[0]
            raise ValueError(
                f"spins must be ±1, found {bad!r}; convert 0/1 bits with 2 * bits - 1"
            )
        return spins.astype(np.int8)

    def __repr__(self) -> str:
        return f"Boltzmann({self.model!r}, beta={self.beta:g}, log_z={self.log_z:.12g})"


def boltzmann(model, beta) -> Boltzmann:
    """Exact Boltzmann distribution p(s) = exp(−β H(s))/Z of ``model`` at scalar ``beta`` >= 0.

    For N <= 24 sites. Returns a :class:`Boltzmann` with ``log_z``,
    ``prob(s)``, ``log_prob(s)``, ``sample(n, seed)``, ``states()``,
    ``energies()``, ``probabilities()`` and ``energy_distribution()``.
    """
    return Boltzmann(model, beta)
