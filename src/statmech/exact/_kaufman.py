"""Kaufman's exact partition function of the finite periodic 2D Ising model at h = 0 (``"kaufman"``).

The Lx × Ly torus with couplings J_h (horizontal) and J_v (vertical), no field:

    Z = ½ (2 sinh 2K_v)^{mn/2} (Z_1 + Z_2 + Z_3 + Z_4)

(Kaufman, Phys. Rev. 76, 1232 (1949), in Beale's form, Phys. Rev. Lett. 76,
78 (1996)), rewritten as sums of positive terms and carried as a second-order
Taylor jet in β, so that log Z, U and Var(H) are exact at every β (O(Lx) per
β). Antiferromagnets need an even side. Derivation: docs/derivations.md.
"""
from __future__ import annotations

import numpy as np

from statmech.models import Ising
from statmech._types import Method, Moments

_LN2 = float(np.log(2.0))


# --------------------------------------------------------------- Taylor jets
class _Jet:
    """f(β) with its first two β-derivatives, elementwise on NumPy arrays."""

    __slots__ = ("v", "d1", "d2")

    def __init__(self, v, d1, d2):
        self.v, self.d1, self.d2 = v, d1, d2

    def __add__(self, other):
        if isinstance(other, _Jet):
            return _Jet(self.v + other.v, self.d1 + other.d1, self.d2 + other.d2)
        return _Jet(self.v + other, self.d1, self.d2)

    __radd__ = __add__

    def __neg__(self):
        return _Jet(-self.v, -self.d1, -self.d2)

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return (-self) + other

    def __mul__(self, other):
        if isinstance(other, _Jet):
            return _Jet(self.v * other.v, self.d1 * other.v + self.v * other.d1,
                        self.d2 * other.v + 2.0 * self.d1 * other.d1 + self.v * other.d2)
        return _Jet(self.v * other, self.d1 * other, self.d2 * other)

    __rmul__ = __mul__

    def __truediv__(self, other):
        return self * other.reciprocal()

    def reciprocal(self):
        inv = 1.0 / self.v
        return _Jet(inv, -self.d1 * inv**2, (2.0 * self.d1**2 * inv - self.d2) * inv**2)

    def sqrt(self):
        root = np.sqrt(self.v)
        first = 0.5 * self.d1 / root
        return _Jet(root, first, (0.5 * self.d2 - first**2) / root)

    def log(self):
        """log of a jet whose value is bounded away from 0."""
        first = self.d1 / self.v
        return _Jet(np.log(self.v), first, self.d2 / self.v - first**2)

    def log1p(self):
        """log(1 + f) for f > −1."""
        scale = 1.0 / (1.0 + self.v)
        first = self.d1 * scale
        return _Jet(np.log1p(self.v), first, self.d2 * scale - first**2)

    def exp(self):
        value = np.exp(self.v)
        return _Jet(value, value * self.d1, value * (self.d2 + self.d1**2))

    def neg_expm1(self):
        """1 − e^f, accurate for small f."""
        value = np.exp(self.v)
        return _Jet(-np.expm1(self.v), -value * self.d1, -value * (self.d2 + self.d1**2))

    def power(self, m: int):
        """f^m for f ≥ 0 and an integer m ≥ 1 (f^{m−2} never divides by zero)."""
        if m == 1:
            return self
        low = self.v ** (m - 2)
        return _Jet(low * self.v**2, m * low * self.v * self.d1,
                    m * low * ((m - 1) * self.d1**2 + self.v * self.d2))

    def weighted_sum(self, weights):
        """Σ_k w_k f_k over the last axis."""
        return _Jet(self.v @ weights, self.d1 @ weights, self.d2 @ weights)

    def column(self, index=0):
        """The jet of column ``index`` of 2-D arrays."""
        return _Jet(self.v[:, index], self.d1[:, index], self.d2[:, index])

    def where(self, condition, other):
        """Elementwise choice: this jet where ``condition``, else ``other``."""
        return _Jet(np.where(condition, self.v, other.v), np.where(condition, self.d1, other.d1),
                    np.where(condition, self.d2, other.d2))


def _exp_linear(rate, betas):
    """Jet of e^{−rate·β}."""
    value = np.exp(-rate * betas)
    return _Jet(value, -rate * value, rate**2 * value)


def _one_minus_exp_linear(rate, betas):
    """Jet of 1 − e^{−rate·β} (value via expm1, accurate at small β)."""
    value = np.exp(-rate * betas)
    return _Jet(-np.expm1(-rate * betas), rate * value, -(rate**2) * value)


# -------------------------------------------------------------------- physics
def kaufman_log_z_jet(betas, Lx: int, Ly: int, Jh: float, Jv: float):
    """log Z of the periodic Lx × Ly lattice at h = 0 as (rest, rest′, rest″, slope).

    log Z = slope·β + rest(β): the ground-state term N (Jh + Jv) β is returned
    as its exact slope so that nothing large is added to the small
    corrections; rest′ and rest″ are the exact β-derivatives of rest. Couplings
    Jh (horizontal bonds) and Jv (vertical bonds) must be ≥ 0 with Jv > 0
    (callers gauge away J < 0 and swap the axes when Jv = 0). ``betas`` is a
    1-D float64 array of β ≥ 0.
    """
    betas = np.asarray(betas, dtype=np.float64).reshape(-1, 1)
    n, m = int(Lx), int(Ly)
    # Mode k and 2n−k are equal; keep k = 1..n with their multiplicities.
    k = np.arange(1, n + 1)
    multiplicity = np.where(k < n, 2.0, 1.0)
    weight_odd = np.where(k % 2 == 1, multiplicity, 0.0)
    weight_even = np.where(k % 2 == 0, multiplicity, 0.0)
    sin_half_sq = np.sin(np.pi * k / (2.0 * n)) ** 2

    exp_h = _exp_linear(2.0 * Jh, betas)                         # e^{−2K_h}
    exp_v = _exp_linear(2.0 * Jv, betas)                         # e^{−2K_v}
    p = _one_minus_exp_linear(2.0 * Jv, betas)                   # 2P e^{−K_h−K_v}
    q = exp_h * (1.0 + exp_v)                                    # 2Q e^{−K_h−K_v}
    one_minus_exp_h_sq = _one_minus_exp_linear(4.0 * Jh, betas)  # 1 − e^{−4K_h}
    # r_k e^{−2K_h−2K_v}·4 = 4 e^{−2K_v}(1 − e^{−4K_h}) sin²(πk/2n)
    t = (4.0 * exp_v * one_minus_exp_h_sq) * sin_half_sq
    sigma = ((p + q) * (p + q) + t).sqrt()
    delta = ((p - q) * (p - q) + t).sqrt()
    lam = sigma + delta                                          # 2 λ_k^+ e^{−K_h−K_v}
    log_lam = lam.log()                                          # ln λ_k^+ − (K_h+K_v) + ln 2
    rho_m = ((4.0 * p * q) / (lam * lam)).power(m)               # (λ^−/λ^+)^m
    log1p_rho = rho_m.log1p()
    log_tau = (-1.0 * rho_m).log1p() - log1p_rho                # ln τ_k ≤ 0

    lam_odd, lam_even = log_lam.weighted_sum(weight_odd), log_lam.weighted_sum(weight_even)
    lp_odd, lp_even = log1p_rho.weighted_sum(weight_odd), log1p_rho.weighted_sum(weight_even)
    lt_odd, lt_even = log_tau.weighted_sum(weight_odd), log_tau.weighted_sum(weight_even)

    # log(Z_1 + Z_2) − N(K_h + K_v):
    log_one_plus_tau_odd = lt_odd.exp().log1p()
    log_z12 = m * lam_odd + (-m * n * _LN2) + lp_odd + log_one_plus_tau_odd
    # (Z_3 + Z_4)/(Z_1 + Z_2) = e^{ΔT} · bracket, both positive.
    p, q = p.column(), q.column()
    p_wins = p.v >= q.v
    larger = p.where(p_wins, q)
    smaller = q.where(p_wins, p)
    ratio_m = (smaller / larger).power(m)                        # (min(P,Q)/max(P,Q))^m
    tau_even = lt_even.exp()
    one_minus_tau_even = lt_even.neg_expm1()
    one_plus_tau_even = 1.0 + tau_even
    bracket = (one_plus_tau_even + ratio_m * one_minus_tau_even).where(
        p_wins, one_minus_tau_even + ratio_m * one_plus_tau_even)
    delta_t = (m * (larger.log() + lam_even - lam_odd) + m * _LN2 + lp_even - lp_odd
               - log_one_plus_tau_odd)
    ratio = delta_t.exp() * bracket
    rest = log_z12 + ratio.log1p() + (-_LN2)
    linear_slope = n * m * (Jh + Jv)
    return rest.v, rest.d1, rest.d2, linear_slope


def kaufman_moments(betas, Lx: int, Ly: int, Jh: float, Jv: float) -> Moments:
    """log Z, U = −∂ log Z/∂β and Var(H) = ∂² log Z/∂β² for any real Jh, Jv.

    Negative couplings are gauged away (they need an even size along their
    direction); a zero Jv swaps the axes; Jh = Jv = 0 gives N ln 2.
    """
    betas = np.asarray(betas, dtype=np.float64).reshape(-1)
    n_sites = Lx * Ly
    if (Jh < 0 and Lx % 2) or (Jv < 0 and Ly % 2):
        raise ValueError("antiferromagnetic bonds across an odd period are frustrated; "
                         "use method='transfer' or 'enumerate'")
    Jh, Jv = abs(float(Jh)), abs(float(Jv))
    if Jh == 0 and Jv == 0:
        zeros = np.zeros_like(betas)
        return Moments(np.full_like(betas, n_sites * _LN2), zeros, zeros.copy())
    if Jv == 0:
        Lx, Ly, Jh, Jv = Ly, Lx, Jv, Jh
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        rest, rest_d1, rest_d2, slope = kaufman_log_z_jet(betas, Lx, Ly, Jh, Jv)
    log_z = slope * betas + rest
    energy = -(slope + rest_d1)
    return Moments(log_z, energy, rest_d2)


# --------------------------------------------------------------- registration
def _couplings(model):
    """(Jh, Jv) when each direction has one value, else None (periodic square lattice).

    ``Ising.uniform_axis_couplings`` answers in O(1) for scalar couplings and
    otherwise once per coupling array (one vectorised pass, then cached), so
    the check costs nothing next to the O(L) evaluation per β.
    """
    return model.uniform_axis_couplings()


def _why_not(model, options) -> str | None:
    if options:
        return f"it takes no options (got {', '.join(sorted(options))})"
    if model.lattice.kind != "square":
        return f"needs a square lattice (this model is a {model.lattice.kind})"
    if not model.lattice.periodic:
        return "needs periodic boundaries (this lattice is open)"
    if model.has_field:
        return ("needs h = 0 (this model has a field); use method='transfer' for narrow "
                "strips with a field")
    if not model.bonds_from_lattice or np.ndim(model.couplings) != 1 \
            or np.shape(model.couplings)[-1] != 2 * model.n_sites:
        return "needs the 2N bonds of Ising.square(..., periodic=True)"
    couplings = _couplings(model)
    if couplings is None:
        return ("needs uniform couplings (one J for all bonds, or one for all horizontal "
                "and one for all vertical bonds)")
    Lx, Ly = model.lattice.shape
    Jh, Jv = couplings
    if (Jh < 0 and Lx % 2) or (Jv < 0 and Ly % 2):
        return (f"the antiferromagnet on an odd torus ({Lx}x{Ly}) is frustrated and cannot be "
                "gauged to a ferromagnet; use method='transfer' or 'enumerate'")
    return None


def _moments(model, betas, **options) -> Moments:
    Lx, Ly = model.lattice.shape
    Jh, Jv = _couplings(model)
    return kaufman_moments(betas, Lx, Ly, Jh, Jv)


# Registered by statmech._registry (this module does not import the registry).
METHODS: list[Method] = []
METHODS.append(Method(name="kaufman", exact=True, why_not=_why_not, moments=_moments,
                       auto_rank=10, model_types=(Ising,)))
