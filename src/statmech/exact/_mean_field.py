"""Exact mean-field sums: the Curie–Weiss model in O(N) and the random energy model.

Method ``"curie-weiss"`` applies to every Ising model whose pairs i < j all
carry the same coupling J_p (parallel bonds summed) and whose field h is
uniform. Then H depends on s only through M = Σ s_i,

    H(M) = −J_p (M² − N)/2 − h M + c,      Z = Σ_{k=0}^{N} C(N, k) exp(−β H(2k − N)),

(c the self-bond constant) and log Z, ⟨H⟩, Var H, ⟨M⟩, Var M and ⟨|M|⟩ follow
exactly from the N + 1 levels, with log C(N, k) from log-gamma functions and
stable log-sum-exp moments (:class:`~statmech.exact._levels.LevelAccumulator`).
For the Curie–Weiss model J_p = J/N.

:func:`curie_weiss_mean_field` is the N → ∞ limit: with m the stable solution
of m = tanh(β(J m + h)),

    log Z / N → log 2cosh(β(J m + h)) − β J m² / 2

(e.g. Baxter, *Exactly Solved Models*, ch. 3; Nishimori & Ortiz, *Elements of
Phase Transitions and Critical Phenomena*, §2.3).

Method ``"rem-sum"`` sums the 2^n stored energies of a random-energy-model
instance (Derrida, PRB 24, 2613 (1981)).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

from statmech._validation import as_beta_array
from statmech.exact._levels import LevelAccumulator
from statmech.models import Ising
from statmech.models._disorder import REMInstance, curie_weiss_levels
from statmech.models._ising import _common_value
from statmech._types import Method, Moments, Thermo

_CHUNK_ELEMENTS = 1 << 20  # β values × levels per chunk of the accumulator


# ------------------------------------------------------------ Curie–Weiss
def _uniform_all_to_all(model: Ising) -> tuple[float | None, str | None]:
    """(J_p, None) when every pair i < j carries the same total coupling J_p, else (None, reason)."""
    n = model.n_sites
    n_pairs = n * (n - 1) // 2
    if model.n_edges < n_pairs:  # O(1) exit before the bond list is built (a lattice's is built on demand)
        return None, (f"it needs every pair of sites coupled (all-to-all); this model has "
                      f"{model.n_edges} bonds for {n_pairs} pairs")
    edges = np.asarray(model.edges, dtype=np.int64)
    couplings = np.asarray(model.couplings, dtype=np.float64)
    off = edges[:, 0] != edges[:, 1]
    if int(np.count_nonzero(off)) < n_pairs:  # cheap early exit for sparse lattices
        return None, (f"it needs every pair of sites coupled (all-to-all); this model has "
                      f"{int(np.count_nonzero(off))} bonds for {n_pairs} pairs")
    low = np.minimum(edges[off, 0], edges[off, 1])
    high = np.maximum(edges[off, 0], edges[off, 1])
    keys, inverse = np.unique(low * n + high, return_inverse=True)
    if keys.size != n_pairs:
        return None, (f"it needs every pair of sites coupled (all-to-all); this model couples "
                      f"{keys.size} of the {n_pairs} pairs")
    if n_pairs == 0:
        return 0.0, None
    pair_sums = np.bincount(inverse.reshape(-1), weights=couplings[off], minlength=n_pairs)
    if not np.all(pair_sums == pair_sums[0]):
        return None, (f"it needs the same coupling on every pair; they range from "
                      f"{pair_sums.min():.6g} to {pair_sums.max():.6g}")
    return float(pair_sums[0]), None


def _why_not(model, options) -> str | None:
    if options:
        return f"it takes no options, got {', '.join(sorted(options))}"
    if np.ndim(model.couplings) != 1 or np.ndim(model.field) != 1:
        return "this is a batch of models; call it on one instance at a time"
    if model.n_sites and _common_value(model.field) is None:  # O(1) for a scalar h (a broadcast view)
        return "it needs a uniform field (the same h on every site)"
    _, reason = _uniform_all_to_all(model)
    return reason


def _level_sum(betas, energies, log_degeneracy=None, magnetizations=None) -> Moments:
    """Boltzmann moments of many levels, streamed in chunks of bounded memory."""
    accumulator = LevelAccumulator(betas, track_magnetization=magnetizations is not None)
    chunk = max(1, _CHUNK_ELEMENTS // len(betas))
    for start in range(0, len(energies), chunk):
        part = slice(start, start + chunk)
        accumulator.add(energies[part],
                        None if log_degeneracy is None else log_degeneracy[part],
                        None if magnetizations is None else magnetizations[part])
    return accumulator.moments()


def curie_weiss_log_z(n: int, pair_coupling: float, h: float, betas) -> np.ndarray:
    """log Z(β) of N all-to-all spins with pair coupling J_p and field h (O(N) per β)."""
    betas, _ = as_beta_array(betas)
    energies, log_degeneracy, _ = curie_weiss_levels(n, pair_coupling, h)
    return _level_sum(betas, energies, log_degeneracy).log_z


def _moments(model, betas, **options) -> Moments:
    """Exact Moments of a uniform all-to-all Ising model from the distribution of M."""
    reason = _why_not(model, options)
    if reason is not None:
        raise ValueError(f"method 'curie-weiss' does not apply to {model!r}: {reason}")
    pair_coupling, _ = _uniform_all_to_all(model)
    field = np.asarray(model.field, dtype=np.float64)
    h = float(field[0]) if field.size else 0.0
    energies, log_degeneracy, magnetization = curie_weiss_levels(
        model.n_sites, pair_coupling, h, model.constant_energy())
    betas = np.asarray(betas, dtype=np.float64).reshape(-1)
    return _level_sum(betas, energies, log_degeneracy, magnetization)


def _stable_magnetization(beta: float, J: float, h: float) -> float:
    """The stable (free-entropy maximising) solution of m = tanh(β(J m + h))."""
    if h < 0:
        return -_stable_magnetization(beta, J, -h)
    if beta == 0.0:
        return 0.0
    if h == 0.0:
        if beta * J <= 1.0:
            return 0.0
        # The positive root of 1 − tanh(βJ m)/m, increasing in m, = 1 − βJ at m → 0.
        def ratio(m):
            return 1.0 - beta * J if m == 0.0 else 1.0 - math.tanh(beta * J * m) / m

        if ratio(1.0) >= 0.0 and math.tanh(beta * J) == 1.0:
            return 1.0
        return brentq(ratio, 0.0, 1.0, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)

    # h > 0: for J >= 0, g(m) = m − tanh(β(J m + h)) is < 0 at 0, >= 0 at 1 and crosses
    # once in (0, 1] (concave); for J < 0 it is increasing, one root in [0, 1].
    def g(m):
        return m - math.tanh(beta * (J * m + h))

    if g(1.0) <= 0.0:
        return 1.0
    return brentq(g, 0.0, 1.0, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)


def curie_weiss_mean_field(beta, J: float = 1.0, h: float = 0.0) -> Thermo:
    """Curie–Weiss model as N → ∞: a Thermo of densities.

    m solves m = tanh(β(J m + h)) (the stable solution, sign of h; at h = 0
    the positive one), and

        φ = log 2cosh(β(J m + h)) − β J m²/2,    u = −J m²/2 − h m,
        c = β² (J m + h)² (1 − m²) / (1 − β J (1 − m²)),
        χ = β (1 − m²) / (1 − β J (1 − m²))        (per site).

    ``magnetization_density`` is m for h ≠ 0 and 0 at h = 0 (the finite-N
    ⟨M⟩/N vanishes by symmetry); ``abs_magnetization_density`` is |m|;
    ``susceptibility_density`` is the connected (single-phase) susceptibility,
    infinite at the critical point βJ = 1, h = 0.
    """
    betas, scalar = as_beta_array(beta)
    J = float(J)
    h = float(h)
    if not (math.isfinite(J) and math.isfinite(h)):
        raise ValueError(f"J and h must be finite numbers, got J = {J}, h = {h}")
    m = np.array([_stable_magnetization(float(b), J, h) for b in betas])
    x = betas * (J * m + h)
    phi = np.abs(x) + np.log1p(np.exp(-2.0 * np.abs(x))) - 0.5 * betas * J * m**2
    energy = 0.0 - (0.5 * J * m**2 + h * m)  # 0.0 − (+0.0): no −0.0 in the output
    one_minus_m2 = 1.0 - m**2
    denominator = 1.0 - betas * J * one_minus_m2
    with np.errstate(divide="ignore", invalid="ignore"):
        heat = np.where(one_minus_m2 * (J * m + h) == 0.0, 0.0,
                        betas**2 * (J * m + h) ** 2 * one_minus_m2 / denominator)
        susceptibility = np.where(one_minus_m2 == 0.0, 0.0,
                                  np.where(denominator == 0.0, np.inf,
                                           betas * one_minus_m2 / np.where(denominator == 0.0, 1.0,
                                                                           denominator)))
    magnetization = m if h != 0.0 else np.zeros_like(m)
    return Thermo.from_densities(betas, "curie-weiss-mean-field", phi, energy_density=energy,
                                 specific_heat_density=heat, magnetization_density=magnetization,
                                 abs_magnetization_density=np.abs(m),
                                 susceptibility_density=susceptibility, scalar=scalar,
                                 meta={"J": J, "h": h})


# ------------------------------------------------------------------- REM
def _rem_why_not(model, options) -> str | None:
    if options:
        return f"it takes no options, got {', '.join(sorted(options))}"
    if np.ndim(model.energies) != 1:
        return "this is a batch of REM instances; call it on one instance at a time"
    return None


def _rem_moments(model, betas, **options) -> Moments:
    """log Z = logsumexp(−β E), ⟨E⟩ and Var E over the 2^n stored energies."""
    reason = _rem_why_not(model, options)
    if reason is not None:
        raise ValueError(f"method 'rem-sum' does not apply to {model!r}: {reason}")
    betas = np.asarray(betas, dtype=np.float64).reshape(-1)
    return _level_sum(betas, np.asarray(model.energies, dtype=np.float64))


# Registered by statmech._registry (this module does not import the registry).
METHODS: list[Method] = []
METHODS.append(Method(name="curie-weiss", exact=True, why_not=_why_not, moments=_moments,
                       auto_rank=5, model_types=(Ising,)))
METHODS.append(Method(name="rem-sum", exact=True, why_not=_rem_why_not, moments=_rem_moments,
                       auto_rank=5, model_types=(REMInstance,)))
