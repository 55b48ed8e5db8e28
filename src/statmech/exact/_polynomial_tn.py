"""Exact density of states g(E) of an Ising model with integer couplings, by polynomial contraction.

With integer J_ij and h_i (in units of ``energy_unit``), each local energy
e_t(s) shifted by its minimum is a non-negative integer, and the network of
:mod:`statmech.exact._tensor_network` with the monomials x^{e_t(s) − min e_t}
as entries contracts (with exact integer polynomial arithmetic, python-flint's
``fmpz_poly``) to the generating polynomial

    P(x) = Σ_s x^{H(s) − E_min} = Σ_E g(E) x^{E − E_min},

whose coefficients are the exact degeneracies g(E) (Σ_E g(E) = 2^N). Then
Z(β) = Σ_E g(E) e^{−βE} at every β, and the lowest nonzero coefficient is the
ground-state degeneracy. Liu et al., SIAM J. Sci. Comput. 45, A1239 (2023),
§3.2 (polynomial element type); on the periodic square lattice it reproduces
Beale's g(E) (:func:`statmech.density_of_states`).
"""
from __future__ import annotations

import dataclasses
import math

import flint
import numpy as np

from statmech._types import Moments
from statmech._validation import as_beta_array
from statmech.exact._levels import level_moments
from statmech.exact._tensor_network import (
    DEFAULT_MAX_MEMORY,
    _arrange,
    _check_max_memory,
    _best_plan,
    _layout,
    _plan,
    build_network,
    contract,
)


@dataclasses.dataclass(frozen=True)
class GraphDensityOfStates:
    """Exact energy levels E_k and degeneracies g_k of an Ising model (from :func:`polynomial_density_of_states`).

    ``energies`` (float64, increasing), ``degeneracies`` (exact Python ints,
    Σ g_k = 2^N), ``log_degeneracy`` (float64 ln g_k), ``n_sites``. Only levels
    with g_k > 0 are listed. Z(β) = Σ_k g_k e^{−β E_k}.
    """

    n_sites: int
    energies: np.ndarray
    degeneracies: tuple[int, ...]
    log_degeneracy: np.ndarray

    @property
    def ground_energy(self) -> float:
        """E₀, the lowest level."""
        return float(self.energies[0])

    @property
    def ground_degeneracy(self) -> int:
        """g(E₀), the number of ground states (exact)."""
        return self.degeneracies[0]

    def log_z(self, beta):
        """log Z(β) = log Σ_k g_k e^{−β E_k} (log-sum-exp); float for scalar β, array for 1-D β."""
        betas, scalar = as_beta_array(beta)
        values = self.moments(betas).log_z
        return float(values[0]) if scalar else values

    def moments(self, betas) -> Moments:
        """log Z, ⟨H⟩ and Var(H) on a 1-D β array (no magnetisation)."""
        betas, _ = as_beta_array(betas)
        return level_moments(betas, self.energies, self.log_degeneracy)


def _integer_energies(network, energy_unit):
    """The shifted local energies as exact integers (in ``energy_unit``), or a ValueError naming the fix."""
    tables = []
    for energy in network.energies:
        scaled = (energy - energy.min()) / energy_unit
        rounded = np.rint(scaled)
        if np.any(np.abs(scaled - rounded) > 1e-9 * np.maximum(1.0, np.abs(scaled))):
            raise ValueError(
                "the density of states by polynomial contraction needs integer couplings and fields "
                f"(in units of energy_unit={energy_unit:g}); got local energy gaps {scaled.ravel()}. "
                "Pass energy_unit=<a common divisor of every J and h>")
        tables.append(rounded.astype(np.int64))
    return tables


def _monomials(exponents):
    out = np.empty(exponents.shape, dtype=object)
    for index, power in np.ndenumerate(exponents):
        coefficients = [0] * int(power) + [1]
        out[index] = flint.fmpz_poly(coefficients)
    return out


def _pair_poly(a, ainds, b, binds, keep):
    batch, left, summed, right = _layout(ainds, binds, keep)
    (A,), (B,) = _arrange([a], ainds, batch, left, summed), _arrange([b], binds, batch, summed, right)
    out = np.matmul(A, B)
    inds = batch + left + right
    return out.reshape((2,) * len(inds)), inds


def _sum_out_poly(t, inds, index):
    summed = t.sum(axis=inds.index(index))
    if not isinstance(summed, np.ndarray):  # a single polynomial: keep it a 0-d object array
        scalar = np.empty((), dtype=object)
        scalar[()] = summed
        summed = scalar
    return summed, [i for i in inds if i != index]


def _product(scalars):
    total = flint.fmpz_poly([1])
    for scalar in scalars:
        total = total * (scalar.item() if isinstance(scalar, np.ndarray) else scalar)
    return total


def polynomial_density_of_states(model, energy_unit: float = 1.0,
                                 max_memory=DEFAULT_MAX_MEMORY) -> GraphDensityOfStates:
    """Exact g(E) of an Ising model whose couplings and fields are integers (in ``energy_unit``).

    Contracts the model's tensor network over integer polynomials (see the
    module docstring). ``max_memory`` bounds the intermediates: each entry is
    a polynomial of up to (E_max − E_min)/energy_unit + 1 coefficients of up
    to N bits. Work grows like 2^width; practical up to width ≈ 16.
    """
    if isinstance(energy_unit, bool) or not isinstance(energy_unit, (int, float, np.integer, np.floating)) \
            or not np.isfinite(energy_unit) or energy_unit <= 0:
        raise ValueError(f"energy_unit must be a positive number, got {energy_unit!r}")
    max_memory = _check_max_memory(max_memory)
    network = build_network(model)
    tables = _integer_energies(network, float(energy_unit))
    degree = int(sum(int(t.max()) for t in tables))
    bytes_per_entry = 64 + (degree + 1) * (8 + network.n_sites / 8)
    plan = _plan(network, max_memory, derivatives=False)
    need = plan.cost.memory / 8.0 * bytes_per_entry
    if need > max_memory:  # polynomial entries are heavy: search for a narrower order
        plan = _best_plan(network.structure)
        need = plan.cost.memory / 8.0 * bytes_per_entry
    if need > max_memory:
        raise ValueError(
            f"the polynomial contraction of {model!r} needs about {need / 2**30:.3g} GiB (contraction "
            f"width {plan.cost.width:g}, polynomials of degree up to {degree}), over max_memory = "
            f"{max_memory / 2**30:.3g} GiB; raise max_memory=..., or use method='tensor-network' "
            "for Z(β) at given β")
    leaves = [_monomials(table) for table in tables]
    polynomial = contract(network, plan, leaves, _pair_poly, _sum_out_poly, _product)
    coefficients = [int(c) for c in polynomial.coeffs()]
    shift = float(sum(float(e.min()) for e in network.energies)) + network.constant
    levels = [(shift + k * float(energy_unit), g) for k, g in enumerate(coefficients) if g > 0]
    energies = np.array([e for e, _ in levels], dtype=np.float64)
    degeneracies = tuple(g for _, g in levels)
    log_degeneracy = np.array([math.log(g) for g in degeneracies], dtype=np.float64)
    return GraphDensityOfStates(network.n_sites, energies, degeneracies, log_degeneracy)
