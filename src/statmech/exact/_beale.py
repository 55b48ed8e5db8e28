"""Exact density of states g(E) of the periodic Lx × Ly square-lattice Ising model.

Kaufman's Z as a polynomial in x = e^{−2K} with exact integer coefficients,
x^N Z = Σ_j g_j x^j, g_j = g(E = 2j − 2N) (P. D. Beale, Phys. Rev. Lett. 76,
78 (1996)); for coupling J the levels scale by J. Derivation:
docs/derivations.md.
"""
from __future__ import annotations

import dataclasses
import functools
import math

import flint
import numpy as np

from statmech._validation import as_beta_array, check_time
from statmech.models import Ising
from statmech._types import Method, Moments, Thermo
from statmech.exact._levels import level_moments

__all__ = ["DensityOfStates", "density_of_states"]

_OTHER_METHODS = "use method='transfer' (strips) or method='enumerate' (N <= 30) for other models"


# ------------------------------------------------------------ exact integers
def _dickson(n: int) -> flint.fmpz_poly:
    """C_n(y), monic integer polynomial with C_n(2cos t) = 2cos(nt) (C_0 = 2, C_1 = y)."""
    y = flint.fmpz_poly([0, 1])
    previous, current = flint.fmpz_poly([2]), y
    if n == 0:
        return previous
    for _ in range(n - 1):
        previous, current = current, y * current - previous
    return current


def _power_sums(poly: flint.fmpz_poly, s_max: int) -> list[int]:
    """Power sums p_s = Σ_roots r^s, s = 0..s_max, of a monic integer polynomial (Newton)."""
    degree = poly.degree()
    coeffs = [int(c) for c in poly.coeffs()]
    a = [coeffs[degree - i] for i in range(degree + 1)]  # y^d + a_1 y^{d−1} + ... + a_d
    sums = [degree] + [0] * s_max
    for s in range(1, s_max + 1):
        total = s * a[s] if s <= degree else 0
        for i in range(1, min(s - 1, degree) + 1):
            total += a[i] * sums[s - i]
        sums[s] = -total
    return sums


def _composed_sum(sums_a: list[int], sums_b: list[int], degree: int) -> list[int]:
    """Coefficients (low → high) of Π_{a,b} (y − a − b), given the power sums of both root sets.

    p_s(a + b) = Σ_t C(s, t) p_t(a) p_{s−t}(b), done as one product of exponential
    generating functions (scaled by D! to stay in integers), then Newton's identities.
    """
    scale = math.factorial(degree)
    egf_a = flint.fmpz_poly([sums_a[t] * (scale // math.factorial(t)) for t in range(degree + 1)])
    egf_b = flint.fmpz_poly([sums_b[t] * (scale // math.factorial(t)) for t in range(degree + 1)])
    product = egf_a * egf_b
    sums = [int(product[s]) * math.factorial(s) // scale**2 for s in range(degree + 1)]
    # Newton: k a_k = −Σ_{i=1..k} p_i a_{k−i} for Π(1 − r t) = Σ a_k t^k.
    a = [1] + [0] * degree
    for k in range(1, degree + 1):
        total = sum(sums[i] * a[k - i] for i in range(1, k + 1))
        a[k] = -(total // k)
    return a[::-1]


@functools.lru_cache(maxsize=32)
def _degeneracies(Lx: int, Ly: int) -> tuple[int, ...]:
    """g_j for E = 2j − 2N (J = 1), j = 0..2N, exact; see the module docstring."""
    n, m, n_sites = Lx, Ly, Lx * Ly
    x = flint.fmpz_poly([0, 1])
    one = flint.fmpz_poly([1])
    u = (1 + x**2) ** 2
    v = x - x**3
    row, column = _dickson(n), _dickson(m)
    total = flint.fmpz_poly([0])
    for odd in (True, False):                      # Z₁, Z₂ (l odd) and Z₃, Z₄ (l even)
        all_alphas = row + 2 if odd else row - 2   # roots 2cos(πl/n), l odd / even in [0, 2n)
        unpaired = ([-2] if n % 2 else []) if odd else ([2, -2] if n % 2 == 0 else [2])
        n_pairs = (n - len(unpaired)) // 2
        degree = n_pairs * m
        full_sums = _power_sums(all_alphas, degree)
        pair_sums = [(full_sums[s] - sum(r**s for r in unpaired)) // 2 for s in range(degree + 1)]
        for sign in (1, -1):                       # cosh (Z₁, Z₃) and sinh (Z₂, Z₄)
            betas_poly = column + 2 * sign
            coeffs = _composed_sum(pair_sums, _power_sums(betas_poly, degree), degree)
            paired = flint.fmpz_poly([coeffs[degree]])
            v_power = one
            for k in range(degree - 1, -1, -1):   # Σ_k c_k u^k v^{D−k} (Horner)
                v_power = v_power * v
                paired = paired * u + coeffs[k] * v_power
            for root in unpaired:                  # l = 0 (γ = 2(K − K*)), l = n (2(K + K*))
                s = -1 if root == 2 else 1
                paired *= (1 + s * x) ** m + sign * x**m * (1 - s * x) ** m
            total += paired
    doubled = [int(c) for c in total.coeffs()]
    doubled += [0] * (2 * n_sites + 1 - len(doubled))
    if len(doubled) != 2 * n_sites + 1 or any(c % 2 or c < 0 for c in doubled) \
            or sum(doubled) != 2 ** (n_sites + 1):
        raise RuntimeError(f"internal error: Beale polynomial for {Lx}x{Ly} failed its checks")
    return tuple(c // 2 for c in doubled)


# ------------------------------------------------------------------ public API
@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class DensityOfStates:
    """Exact energy levels E_k and degeneracies g_k of a periodic square-lattice Ising model.

    ``energies`` (float64, increasing), ``degeneracies`` (exact Python ints,
    Σ g_k = 2^N), ``log_degeneracy`` (float64 ln g_k), ``n_sites``, ``shape``
    (Lx, Ly) and ``coupling`` J. Only levels with g_k > 0 are listed.
    Z(β) = Σ_k g_k e^{−β E_k} (Beale 1996).
    """

    shape: tuple[int, int]
    coupling: float
    energies: np.ndarray
    degeneracies: tuple[int, ...]
    log_degeneracy: np.ndarray

    @property
    def n_sites(self) -> int:
        """Number of spins N = Lx·Ly."""
        return self.shape[0] * self.shape[1]

    def log_z(self, beta):
        """log Z(β) = log Σ_k g_k e^{−β E_k} (log-sum-exp); float for scalar β, array for 1-D β."""
        betas, scalar = as_beta_array(beta)
        log_weights = self.log_degeneracy[None, :] - betas[:, None] * self.energies[None, :]
        shift = np.max(log_weights, axis=1)
        values = shift + np.log(np.sum(np.exp(log_weights - shift[:, None]), axis=1))
        return float(values[0]) if scalar else values

    def probabilities(self, beta) -> np.ndarray:
        """P(E_k; β) = g_k e^{−β E_k} / Z(β) for one scalar β (sums to 1)."""
        betas, scalar = as_beta_array(beta)
        if not scalar:
            raise ValueError("probabilities() takes one scalar beta; loop over a grid yourself")
        log_weights = self.log_degeneracy - betas[0] * self.energies
        shift = np.max(log_weights)
        weights = np.exp(log_weights - shift)
        return weights / weights.sum()

    def moments(self, betas) -> Moments:
        """log Z, ⟨H⟩ and Var(H) on a validated 1-D β array (no magnetisation)."""
        return level_moments(betas, self.energies, self.log_degeneracy)

    def thermo(self, beta) -> Thermo:
        """Exact :class:`~statmech.thermo.Thermo` at scalar or 1-D β (magnetisation not available)."""
        betas, scalar = as_beta_array(beta)
        return Thermo.from_moments(self.moments(betas), betas, self.n_sites, "beale", scalar)

    def __len__(self) -> int:
        return len(self.degeneracies)

    def __repr__(self) -> str:
        Lx, Ly = self.shape
        return (f"DensityOfStates({Lx}x{Ly} periodic, J={self.coupling:g}, {len(self)} levels, "
                f"E in [{self.energies[0]:g}, {self.energies[-1]:g}], sum g = 2^{self.n_sites})")


def _why_not_model(model) -> str | None:
    """None when Beale's method applies to ``model``, else the reason."""
    if not isinstance(model, Ising):
        return f"it needs an Ising model, got {type(model).__name__}"
    if model.lattice.kind != "square" or not model.lattice.periodic:
        return "it needs a periodic square lattice, Ising.square(L, J, periodic=True)"
    if model.has_field:
        return "it needs h = 0 (no field)"
    if model.uniform_coupling() is None:
        return "it needs one uniform coupling J on every bond"
    return None


def density_of_states(model) -> DensityOfStates:
    """Exact density of states of a periodic Lx × Ly Ising model with uniform J and h = 0.

    Levels are E = J × ε with ε = 2j − 2N the energies of the J = 1 model and
    integer degeneracies from Beale's expansion of Kaufman's Z (Beale, PRL 76,
    78 (1996)). Results are cached per (Lx, Ly); L = 32 takes about a second.
    J = 0 gives one level E = 0 with g = 2^N.
    """
    reason = _why_not_model(model)
    if reason is not None:
        error = TypeError if not isinstance(model, Ising) else ValueError
        raise error(f"density_of_states: {reason}; {_OTHER_METHODS}")
    Lx, Ly = model.lattice.shape
    coupling = float(model.uniform_coupling())
    if coupling == 0.0:
        levels = [(0.0, 2 ** (Lx * Ly))]
    else:
        check_time(_estimated_seconds(Lx * Ly), f"Beale's exact density of states of the {Lx} x {Ly} torus",
                   "for log Z and its derivatives use method='kaufman' (O(L), the same exact values in "
                   "float64); Beale's integer degeneracies are practical up to about L = 100")
        g = _degeneracies(int(Lx), int(Ly))
        levels = [(coupling * (2 * j - 2 * Lx * Ly), count) for j, count in enumerate(g) if count]
        if coupling < 0:
            levels.reverse()
    energies = np.array([e for e, _ in levels], dtype=np.float64)
    degeneracies = tuple(count for _, count in levels)
    log_degeneracy = np.array([math.log(count) for count in degeneracies], dtype=np.float64)
    energies.flags.writeable = False
    log_degeneracy.flags.writeable = False
    return DensityOfStates((int(Lx), int(Ly)), coupling, energies, degeneracies, log_degeneracy)


#: Run time of _degeneracies: about 0.5 s at N = 32 x 32, growing as N^2.65 (measured L = 16 ... 32).
_SECONDS_AT_1024_SITES = 0.5
_COST_EXPONENT = 2.65


def _estimated_seconds(n_sites: int) -> float:
    """Up-front estimate of the time to compute the degeneracies of an N-site torus."""
    return _SECONDS_AT_1024_SITES * (n_sites / 1024.0) ** _COST_EXPONENT


# ------------------------------------------------------------------ registry
def _why_not(model, options) -> str | None:
    if options:
        return f"it takes no options (got {', '.join(sorted(options))})"
    return _why_not_model(model)


def _moments(model, betas, **options) -> Moments:
    return density_of_states(model).moments(betas)


# Registered by statmech._registry (this module does not import the registry).
METHODS: list[Method] = []
METHODS.append(Method(name="beale", exact=True, why_not=_why_not, moments=_moments,
                       auto_rank=40, model_types=(Ising,)))
