"""Exact enumeration of all 2^N states of an Ising model (method ``"enumerate"``, N <= 30).

    Z(β) = Σ_s exp(−β H(s)),   H(s) = −½ sᵀ J s − h·s + c,

with J the coupling matrix (parallel bonds summed) and c the energy of the
self-bonds. The spins are split into a group A (sites 0..k−1, k = ⌊N/2⌋) and a
group B (the other N − k sites), so that

    H(a, b) = H_A(a) + H_B(b) − aᵀ J_AB b,    M(a, b) = M_A(a) + M_B(b).

The 2^k × 2^(N−k) energies are produced block by block (a few rows a against
all b, from precomputed tables: see ``_Split``), each block holding at most
2^18 energies, and reduced to per-β Boltzmann moments shifted by the
block's lowest energy (log domain). The blocks are merged with the stable
pairwise update of :class:`~statmech.exact._levels.LevelAccumulator`
(Chan, Golub & LeVeque 1979). Memory stays at a few tens of MB for every
N <= 30 and every β-grid length. Without a field, H(s) = H(−s): only the half
of the states with s_{N−1} = +1 is visited and log Z gains log 2.

Reference: any statistical-mechanics text, e.g. Newman & Barkema, *Monte Carlo
Methods in Statistical Physics* (1999), §1.2 — Z as the sum over all states.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from statmech._validation import check_positive_int
from statmech.exact._levels import LevelAccumulator
from statmech.models import Ising
from statmech._types import Method, Moments

MAX_ENUMERATION_SITES = 30
"""Largest N for which ``method="enumerate"`` applies (2^30 ≈ 10^9 states)."""

MAX_STATES_SITES = 24
"""Largest N for which all states can be materialised as an array (2^24 × 24 int8 = 400 MB)."""

_BLOCK_ELEMENTS = 1 << 18  # energies per block: 2 MB of float64, stays in cache


def all_states(n) -> np.ndarray:
    """All 2^n spin configurations as an int8 array of shape (2^n, n) with entries ±1.

    Order: state number k has s_i = +1 where bit i of k is 1 and s_i = −1
    where it is 0 (site 0 is the least significant bit). So row 0 is all −1,
    row 1 is (+1, −1, ..., −1) and row 2^n − 1 is all +1. ``n`` <= 24.
    """
    n = check_positive_int(n, "n")
    if n > MAX_STATES_SITES:
        raise ValueError(
            f"all_states(n) materialises 2^n rows; n = {n} exceeds the limit of "
            f"{MAX_STATES_SITES} sites. Use sm.thermo(model, beta, method='enumerate') "
            f"(up to {MAX_ENUMERATION_SITES} sites, memory-bounded) for thermodynamics"
        )
    return _spin_table(n, np.int8)


def _spin_table(n: int, dtype) -> np.ndarray:
    """(2^n, n) ±1 table in the order of :func:`all_states` (n = 0 gives one empty row)."""
    index = np.arange(2**n, dtype=np.uint32)
    table = np.empty((2**n, n), dtype=dtype)
    for site in range(n):
        table[:, site] = ((index >> np.uint32(site)) & np.uint32(1)).astype(dtype)
    table *= 2
    table -= 1
    return table


@dataclasses.dataclass(frozen=True)
class _Split:
    """Spins split into group A (sites 0..k−1, rows) and group B (sites k..N−1, columns).

    A itself is split into its r low sites (2^r rows of one block) and its
    k − r high sites (fixed within a block), so that a block's energies

        H(a, b) = H_A(a) + [H_B(b) − a_high · c_high(b)] − a_low · c_low(b),

    with c(b) = J_AB b, are two additions of precomputed tables: ``low_table``
    (2^r, columns) holds −a_low · c_low(b), and the bracket is one short sum per
    block. No large matrix product runs inside the loop (multithreaded BLAS on
    small blocks is slow when the cores are shared).
    """

    low_bits: int                # r
    low_table: np.ndarray        # (2^r, columns)
    high_spins: np.ndarray       # (2^(k−r), k − r) float64
    high_cross: np.ndarray       # (k − r, columns): c_high(b)
    energy_a: np.ndarray         # (2^k,) H_A, self-bond constant and offset included
    energy_b: np.ndarray         # (columns,)
    magnetization_a: np.ndarray  # (2^k,)
    magnetization_b: np.ndarray  # (columns,)

    @property
    def n_blocks(self) -> int:
        return self.high_spins.shape[0]

    @property
    def n_columns(self) -> int:
        return self.energy_b.shape[0]

    def rows(self, block: int) -> slice:
        """Rows of A in ``block`` (state index of A = a_low + 2^r · a_high)."""
        return slice(block << self.low_bits, (block + 1) << self.low_bits)

    def block_energies(self, block: int) -> np.ndarray:
        """H(a, b) for the 2^r rows a of ``block`` and all columns b: shape (2^r, columns)."""
        column_part = self.energy_b - np.einsum("i,ij->j", self.high_spins[block], self.high_cross)
        energies = self.low_table + column_part[None, :]
        energies += self.energy_a[self.rows(block), None]
        return energies

    def reorder_columns(self, order) -> "_Split":
        return dataclasses.replace(
            self, low_table=np.ascontiguousarray(self.low_table[:, order]),
            high_cross=np.ascontiguousarray(self.high_cross[:, order]),
            energy_b=self.energy_b[order], magnetization_b=self.magnetization_b[order])


def _split(model: Ising, half_b: bool = False, energy_offset: float = 0.0) -> _Split:
    """Group tables of ``model`` for the energy H − ``energy_offset``.

    ``half_b`` keeps only the B states with s_{N−1} = +1.
    """
    n = model.n_sites
    k = n // 2
    couplings = model.coupling_matrix()
    field = np.asarray(model.field, dtype=np.float64)
    spins_a = _spin_table(k, np.float64)
    spins_b = _spin_table(n - k, np.float64)
    if half_b:
        spins_b = spins_b[2 ** (n - k - 1):]  # last bit set: s_{N−1} = +1
    n_columns = len(spins_b)
    low_bits = min(k, max(0, (_BLOCK_ELEMENTS // n_columns).bit_length() - 1))

    def group_energy(spins, sites):
        block = couplings[np.ix_(sites, sites)]
        return -0.5 * np.einsum("si,si->s", spins @ block, spins) - spins @ field[sites]

    sites_a = np.arange(k)
    sites_b = np.arange(k, n)
    cross = couplings[np.ix_(sites_a, sites_b)] @ spins_b.T  # (k, columns): c_i(b) = Σ_j J_ij b_j
    return _Split(
        low_bits=low_bits,
        low_table=-(_spin_table(low_bits, np.float64) @ cross[:low_bits]),
        high_spins=_spin_table(k - low_bits, np.float64),
        high_cross=np.ascontiguousarray(cross[low_bits:]),
        energy_a=group_energy(spins_a, sites_a) + (model.constant_energy() - energy_offset),
        energy_b=group_energy(spins_b, sites_b),
        magnetization_a=spins_a.sum(axis=1),
        magnetization_b=spins_b.sum(axis=1),
    )


def state_energies(model: Ising) -> np.ndarray:
    """H(s) of every state, float64 (2^N,), in the order of :func:`all_states` (N <= 24)."""
    n = model.n_sites
    if n > MAX_STATES_SITES:
        raise ValueError(
            f"N = {n} exceeds the limit of {MAX_STATES_SITES} sites for listing every state"
        )
    split = _split(model)
    # State index = a + 2^k · b (A holds the low bits): the table indexed [b, a].
    table = np.empty((split.n_columns, len(split.energy_a)))
    for block in range(split.n_blocks):
        table[:, split.rows(block)] = split.block_energies(block).T
    return table.reshape(-1)


def ground_energy(model: Ising) -> float:
    """min_s H(s) by enumeration (N <= 30), block by block in bounded memory."""
    reason = _why_not(model, {})
    if reason is not None:
        raise ValueError(f"ground_energy enumerates all states: {reason}")
    split = _split(model, half_b=not model.has_field)  # H(s) = H(−s) without a field
    return float(min(split.block_energies(block).min() for block in range(split.n_blocks)))


def _why_not(model, options) -> str | None:
    if not isinstance(model, Ising):
        return f"it needs an Ising model, got {type(model).__name__}"
    if options:
        return f"it takes no options, got {', '.join(sorted(options))}"
    if model.n_sites > MAX_ENUMERATION_SITES:
        return (f"N = {model.n_sites} exceeds the enumeration limit of "
                f"{MAX_ENUMERATION_SITES} sites")
    return None


def _cost(model, options) -> float:
    """Seconds per β, about 1e-9 · 2^N · (E + N): every state's energy from its bonds and fields
    (measured with benchmarks/exact.py's auto comparison)."""
    if model.n_sites > MAX_ENUMERATION_SITES:  # it does not apply (and 2^N overflows a float past 1023)
        return np.inf
    return 1e-9 * 2.0**model.n_sites * (model.n_edges + model.n_sites)


def _moments(model, betas, **options) -> Moments:
    """Exact log Z, ⟨H⟩, Var(H), ⟨M⟩, Var(M), ⟨|M|⟩ on the grid ``betas`` by summing all states."""
    reason = _why_not(model, options)
    if reason is not None:
        raise ValueError(f"method 'enumerate' does not apply: {reason}")
    return _shifted_moments(model, np.asarray(betas, dtype=np.float64).reshape(-1))


def _shifted_moments(model: Ising, betas: np.ndarray, energy_offset: float = 0.0) -> Moments:
    """Moments of the energy H − ``energy_offset``: log Σ_s exp(−β (H(s) − offset)), ⟨H⟩ − offset, ...

    With the ground energy as offset, log Z is kept to full relative precision
    at huge β (used for the probabilities of :class:`~statmech.exact.Boltzmann`).
    """
    symmetric = not model.has_field  # H(s) = H(−s): visit half, add log 2
    split = _split(model, half_b=symmetric, energy_offset=energy_offset)

    # Sort the B columns by magnetisation, so that Boltzmann weights summed over
    # equal-M_B segments (np.add.reduceat) give every magnetisation moment.
    order = np.argsort(split.magnetization_b, kind="stable")
    split = split.reorder_columns(order)
    levels_b, starts = np.unique(split.magnetization_b, return_index=True)

    accumulator = LevelAccumulator(betas)
    n_betas = len(betas)
    for block in range(split.n_blocks):
        shifted = split.block_energies(block)  # becomes H − min H of the block
        lowest = float(shifted.min())
        shifted -= lowest
        squared = shifted * shifted
        flat, flat_squared = shifted.reshape(-1), squared.reshape(-1)
        magnetization = split.magnetization_a[split.rows(block), None] + levels_b[None, :]
        magnetization_squared = magnetization**2
        abs_magnetization = np.abs(magnetization)
        weights = np.empty_like(shifted)
        sums = np.empty((6, n_betas))
        for j, beta in enumerate(betas):
            np.multiply(shifted, -beta, out=weights)
            np.exp(weights, out=weights)  # ≤ 1, and = 1 at the block minimum
            by_magnetization = np.add.reduceat(weights, starts, axis=1)
            sums[0, j] = by_magnetization.sum()
            flat_weights = weights.reshape(-1)  # einsum, not BLAS ddot: see _Split
            sums[1, j] = np.einsum("i,i->", flat_weights, flat)
            sums[2, j] = np.einsum("i,i->", flat_weights, flat_squared)
            sums[3, j] = np.sum(by_magnetization * magnetization)
            sums[4, j] = np.sum(by_magnetization * magnetization_squared)
            sums[5, j] = np.sum(by_magnetization * abs_magnetization)
        total = sums[0]
        mean_shifted = sums[1] / total
        mean_magnetization = sums[3] / total
        # Raw second moments inside one block (rounding may give −1e−17: clip to 0).
        energy_var = np.maximum(sums[2] / total - mean_shifted**2, 0.0)
        mag_var = np.maximum(sums[4] / total - mean_magnetization**2, 0.0)
        accumulator.merge(-betas * lowest + np.log(total), lowest + mean_shifted, energy_var,
                           mean_magnetization, mag_var, sums[5] / total)

    moments = accumulator.moments()
    if not symmetric:
        return moments
    # The visited half has ⟨M²⟩ and ⟨|M|⟩ of the whole space; ⟨M⟩ = 0 by symmetry.
    second_moment = moments.magnetization_variance + moments.magnetization**2
    return Moments(moments.log_z + np.log(2.0), moments.energy, moments.energy_variance,
                   np.zeros_like(moments.log_z), second_moment, moments.abs_magnetization)


# Registered by statmech._registry (this module does not import the registry).
METHODS: list[Method] = []
METHODS.append(Method(name="enumerate", exact=True, why_not=_why_not, moments=_moments,
                       auto_rank=30, model_types=(Ising,), cost=_cost))
