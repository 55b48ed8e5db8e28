"""Exact ground state of an Ising model on any sparse graph by tropical (min-plus) contraction.

The tensor network of :mod:`statmech.exact._tensor_network` with the energies
e_t(s) as entries and (min, +) in place of (+, ×) contracts to

    E₀ = min_s Σ_t e_t(s_t) = min_s H(s),

the β → ∞ limit of −log Z/β. Every intermediate tensor is kept; going back
down the contraction tree, each step fixes the spins it summed over to the
values that attain its minimum given the spins already fixed above it, which
yields one ground state s* with H(s*) = E₀ (Liu et al., SIAM J. Sci. Comput.
45, A1239 (2023), §4: "configuration back-tracking"). Unlike minimum-weight
matching (:func:`statmech.planar_ground_energy`) it accepts fields and
non-planar graphs; its cost grows like 2^width (see
:func:`statmech.exact.contraction_cost`).
"""
from __future__ import annotations

import dataclasses
import itertools

import numpy as np

from statmech.exact._tensor_network import (
    DEFAULT_MAX_MEMORY,
    _arrange,
    _check_max_memory,
    _layout,
    _over_budget,
    _plan,
    build_network,
    contract,
)


@dataclasses.dataclass(frozen=True)
class GroundState:
    """``energy`` E₀ = min_s H(s) and one ``spins`` configuration (int8 ±1, shape (N,)) attaining it."""

    energy: float
    spins: np.ndarray


def _pair_min(a, ainds, b, binds, keep):
    """C[b, l, r] = min_k A[b, l, k] + B[b, k, r], one summed value k at a time."""
    batch, left, summed, right = _layout(ainds, binds, keep)
    (A,), (B,) = _arrange([a], ainds, batch, left, summed), _arrange([b], binds, batch, summed, right)
    out = np.full((A.shape[0], A.shape[1], B.shape[2]), np.inf)
    for k in range(A.shape[2]):
        np.minimum(out, A[:, :, k, None] + B[:, None, k, :], out=out)
    inds = batch + left + right
    return out.reshape((2,) * len(inds)), inds


def _sum_out_min(t, inds, index):
    axis = inds.index(index)
    return t.min(axis=axis), [i for i in inds if i != index]


def tropical_ground_state(model, max_memory=DEFAULT_MAX_MEMORY) -> GroundState:
    """Exact ground-state energy and one ground state of any Ising model, by min-plus contraction.

    ``max_memory`` (bytes, default 2 GiB) bounds the intermediates, which are
    all kept for the back-tracking; a wider network is refused with the width
    it would need. Ties between ground states are broken towards s = −1.
    """
    max_memory = _check_max_memory(max_memory)
    network = build_network(model)
    plan = _plan(network, max_memory, derivatives=True)
    if plan.cost.moments_memory > max_memory:
        raise ValueError(_over_budget(model, plan.cost, plan.cost.moments_memory, max_memory))
    history: list = []
    leaves = [np.asarray(energy, dtype=np.float64) for energy in network.energies]
    minimum = contract(network, plan, leaves, _pair_min, _sum_out_min,
                       lambda scalars: float(sum(float(s) for s in scalars)), history=history)
    assignment: dict[int, int] = {}
    for _, out_inds, children in reversed(history):
        missing = sorted({i for _, inds in children for i in inds} - set(out_inds))
        best, best_value = None, np.inf
        for values in itertools.product((0, 1), repeat=len(missing)):
            trial = dict(assignment)
            trial.update(zip(missing, values))
            total = sum(float(tensor[tuple(trial[i] for i in inds)]) for tensor, inds in children)
            if total < best_value:
                best, best_value = values, total
        assignment.update(zip(missing, best))
    spins = np.full(network.n_sites, -1, dtype=np.int8)
    for site, value in assignment.items():
        spins[site] = 2 * value - 1
    return GroundState(minimum + network.constant, spins)
