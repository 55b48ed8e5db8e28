"""Thermodynamic limits in closed form: Onsager's square lattice and the 1D chain.

:func:`onsager` — the infinite square lattice at h = 0 (Onsager 1944,
Phys. Rev. 65, 117; Yang 1952 for the magnetisation; the single-integral and
elliptic forms as in Huang, *Statistical Mechanics*, 2nd ed., §15.8).
:func:`infinite_chain` — the infinite 1D chain in a field (transfer matrix;
Baxter, *Exactly Solved Models*, ch. 2).

Both return a *Thermo of densities* (``n_sites`` is None): per-site values only.
"""
from __future__ import annotations


import numpy as np
from scipy import integrate, special

from statmech._numerics import log_cosh
from statmech._validation import as_beta_array, check_finite_real
from statmech._types import Thermo

#: β_c J = ½ ln(1 + √2) ≈ 0.4406868 (Kramers–Wannier), for J = 1.
CRITICAL_BETA = 0.5 * float(np.log1p(np.sqrt(2.0)))
#: T_c / J = 2 / ln(1 + √2) ≈ 2.2691853.
CRITICAL_TEMPERATURE = 1.0 / CRITICAL_BETA

_LN2 = float(np.log(2.0))
_SERIES_MAX_PARAMETER = 0.1  # below this m = κ², the elliptic integrals come from their series
_SERIES_TERMS = 40           # 0.1^40: far below float64 rounding


# ------------------------------------------------------------ elliptic pieces
def _elliptic_excess_over_parameter(parameter, complement):
    """[(2/π) K(m) − 1]/m − ¼ and [(2/π) E(m) − 1]/m + ¼ for m = κ² (1 − m given accurately).

    (2/π)K = Σ_{n≥0} c_n mⁿ and (2/π)E = Σ_{n≥0} c_n mⁿ/(1 − 2n), c_n = ((2n−1)!!/(2n)!!)²
    (c_1 = ¼), so both results are O(m). For small m they come from the series
    (full relative accuracy down to m = 0); otherwise from SciPy's
    ``ellipkm1(1 − m)`` (accurate near m = 1, +inf at m = 1) and ``ellipe``.
    """
    parameter = np.asarray(parameter, dtype=np.float64)
    small = parameter < _SERIES_MAX_PARAMETER
    n = np.arange(2, _SERIES_TERMS + 2)
    coefficients = 0.25 * np.cumprod(((2 * n - 1) / (2 * n)) ** 2)
    powers = np.where(small, parameter, 0.0)[..., None] ** (n - 1)
    series_k = powers @ coefficients
    series_e = powers @ (coefficients / (1 - 2 * n))
    safe = np.where(small, 0.5, parameter)
    direct_k = (2.0 / np.pi * special.ellipkm1(np.where(small, 0.5, complement)) - 1.0) / safe - 0.25
    direct_e = (2.0 / np.pi * special.ellipe(safe) - 1.0) / safe + 0.25
    return np.where(small, series_k, direct_k), np.where(small, series_e, direct_e)


def _onsager_free_entropy(coupling: float) -> float:
    """−βf = ln(2 cosh 2K) + (1/π) ∫_0^{π/2} ln[½(1 + sqrt(1 − κ² sin²θ))] dθ.

    κ = 2 sinh 2K / cosh² 2K. The integrand is written as
    log1p(−x / (2(1 + sqrt(1 − x)))), x = κ² sin²θ, with
    1 − x = cos²θ + (1 − κ²) sin²θ ≥ 0, so it keeps full accuracy.
    """
    K = coupling
    log_two_cosh = 2.0 * K + np.log1p(np.exp(-4.0 * K))
    kappa, complement = _modulus(np.array([K]))
    kappa, complement = float(kappa[0]), float(complement[0])
    if kappa == 0.0:
        return float(log_two_cosh)

    def integrand(theta):
        s2 = np.sin(theta) ** 2
        x = kappa**2 * s2
        root = np.sqrt(np.cos(theta) ** 2 + complement * s2)
        return np.log1p(-x / (2.0 * (1.0 + root)))

    value, _ = integrate.quad(integrand, 0.0, np.pi / 2, epsabs=1e-14, epsrel=1e-13, limit=200)
    return float(log_two_cosh + value / np.pi)


def _modulus(K):
    """κ = 2 sinh 2K/cosh² 2K = 2 tanh 2K sech 2K and 1 − κ², both accurate for every K ≥ 0.

    Near β_c (κ → 1), 1 − κ² = (sinh² 2K − 1)²/cosh⁴ 2K avoids the cancellation.
    """
    K = np.asarray(K, dtype=np.float64)
    sech = 2.0 * np.exp(-2.0 * K) / (1.0 + np.exp(-4.0 * K))
    kappa = 2.0 * np.tanh(2.0 * K) * sech
    moderate = kappa > 0.5  # here 0.1 < K < 1.6: no overflow in sinh, cosh
    Km = np.where(moderate, K, 1.0)
    exact = ((np.sinh(2.0 * Km) - 1.0) * (np.sinh(2.0 * Km) + 1.0)) ** 2 / np.cosh(2.0 * Km) ** 4
    return kappa, np.where(moderate, exact, 1.0 - kappa**2)


def onsager(beta, J=1.0) -> Thermo:
    """The infinite square-lattice Ising model at h = 0 (Onsager 1944): a Thermo of densities.

    With K = βJ, sh = sinh 2K, ch = cosh 2K, t = tanh 2K and the modulus
    κ = 2 sh/ch² (complete elliptic integrals K₁(κ), E₁(κ)):

    - free entropy density −βf = ln(2 ch) + (1/π) ∫_0^{π/2} ln[½(1 + sqrt(1 − κ² sin²θ))] dθ
      (adaptive quadrature, ~1e−14);
    - energy density u = −J coth 2K [1 + (2/π)(2t² − 1) K₁(κ)]  (u(β_c) = −√2 J);
    - specific heat density c = K² dU/dK (U = −u/J), in closed form
      c = K² [−2/sh² + (2/π)·2(sh⁴ + sh² + 2)/(sh² ch²)·K₁ − (2/π)·2(ch²/sh²)·E₁]
      (derived here by differentiating u; evaluated through the series
      remainders [(2/π)K₁ − 1]/κ² − ¼ and [(2/π)E₁ − 1]/κ² + ¼, so that the
      leading terms cancel analytically and c keeps its relative accuracy at
      both high and low temperature); it diverges like ln|β − β_c|, and
      ``+inf`` is returned within 4 ulp of β_c;
    - ``abs_magnetization_density``: Yang's spontaneous magnetisation
      (1 − sinh⁻⁴ 2K)^{1/8} for β > β_c, 0 otherwise (see
      :func:`spontaneous_magnetization`). ``magnetization_density`` is None: at
      h = 0 the two ordered states ±M are equally likely, so the signed value
      is not defined (⟨M⟩ = 0 by symmetry, |M| is what a simulation measures).

    ``J`` must be > 0; ``meta`` holds ``critical_beta`` = β_c(J) and
    ``critical_temperature`` = T_c(J).
    """
    J = check_finite_real(J, "J")
    if J <= 0:
        raise ValueError(
            f"onsager needs a ferromagnetic coupling J > 0, got J = {J}; the square-lattice "
            "antiferromagnet has the same thermodynamics at h = 0 (flip one sublattice): "
            "pass J=abs(J). For J = 0 the free entropy density is ln 2."
        )
    betas, scalar = as_beta_array(beta)
    K = betas * J
    free_entropy = np.array([_onsager_free_entropy(k) for k in K])
    t = np.tanh(2.0 * K)
    sech_sq = (2.0 * np.exp(-2.0 * K) / (1.0 + np.exp(-4.0 * K))) ** 2
    kappa, complement = _modulus(K)
    excess_k, excess_e = _elliptic_excess_over_parameter(kappa**2, complement)
    at_critical = np.abs(K - CRITICAL_BETA) <= 4.0 * np.spacing(CRITICAL_BETA)
    # u = −J coth 2K [1 + (2/π)(2t² − 1) K₁] = −J t [2 + 4 (2t² − 1) sech² 2K (¼ + excess_k)]
    with np.errstate(invalid="ignore"):
        slope = np.where(complement == 0.0, 0.0, (2.0 * t**2 - 1.0) * (0.25 + excess_k))
    energy = -J * t * (2.0 + 4.0 * sech_sq * slope)
    # c = K² dU/dK (U = −u/J); with s = sech² 2K,
    # dU/dK = s [−2s + 4s² + 8 (1 − s + 2s²) excess_k − 8 excess_e]: the O(1) terms
    # have cancelled analytically, so low temperatures keep their relative accuracy.
    bracket = -2.0 * sech_sq + 4.0 * sech_sq**2 + 8.0 * (1.0 - sech_sq + 2.0 * sech_sq**2) * excess_k \
        - 8.0 * excess_e
    heat = np.where(at_critical, np.inf, K**2 * sech_sq * bracket)
    magnetization = spontaneous_magnetization(betas, J)
    critical_beta = CRITICAL_BETA / J
    meta = {"J": J, "critical_beta": critical_beta, "critical_temperature": 1.0 / critical_beta}
    return Thermo.from_densities(betas, "onsager", free_entropy, energy_density=energy,
                                 specific_heat_density=heat,
                                 abs_magnetization_density=magnetization,
                                 scalar=scalar, meta=meta)


def spontaneous_magnetization(beta, J: float = 1.0) -> float | np.ndarray:
    """Yang's spontaneous magnetisation (1 − sinh⁻⁴ 2βJ)^{1/8} for β > β_c, else 0.

    C. N. Yang (1952), Phys. Rev. 85, 808. Returns a float for scalar β, else
    an ndarray. ``J`` must be > 0.
    """
    J = check_finite_real(J, "J")
    if J <= 0:
        raise ValueError(f"spontaneous_magnetization needs J > 0, got J = {J}; pass J=abs(J)")
    betas, scalar = as_beta_array(beta)
    K = betas * J
    # sinh⁻⁴ 2K = (2 e^{−2K} / (1 − e^{−4K}))⁴, finite for every K > 0
    with np.errstate(divide="ignore", over="ignore"):
        inv_sinh4 = (2.0 * np.exp(-2.0 * K) / -np.expm1(-4.0 * K)) ** 4
    ordered = K > CRITICAL_BETA
    # sinh 2K > 1 above β_c; the max() only guards float rounding a hair above β_c
    value = np.where(ordered, np.maximum(1.0 - np.where(ordered, inv_sinh4, 0.0), 0.0) ** 0.125,
                     0.0)
    return float(value[0]) if scalar else value


# -------------------------------------------------------------- infinite chain
def infinite_chain(beta, J=1.0, h=0.0) -> Thermo:
    """The infinite 1D Ising chain in a field: a Thermo of densities.

    With K = βJ, H = βh and R = sqrt(sinh² H + e^{−4K}) the transfer-matrix
    eigenvalues are λ± = e^K (cosh H ± R), and per site (Baxter 1982, §2.1):

    - free entropy density ln λ₊ = K + ln(cosh H + R);
    - magnetisation m = ∂ ln λ₊/∂H = sinh H / R;
    - bond correlation ⟨s_i s_{i+1}⟩ = ∂ ln λ₊/∂K = 1 − 2g = m² + (1 − m²) λ₋/λ₊,
      g = e^{−4K}/(R (cosh H + R));
    - energy u = −J ⟨s_i s_{i+1}⟩ − h m;
    - specific heat c = β² (J² ∂²_K + 2Jh ∂_K∂_H + h² ∂²_H) ln λ₊ with
      ∂²_K = 4g(2 − v − g), ∂_K∂_H = 2 m v, ∂²_H = v cosh H / R, v = e^{−4K}/R² = 1 − m²;
    - susceptibility χ = β ∂²_H ln λ₊ = β v cosh H / R.

    Everything is evaluated from logarithms (ln R = ½ logaddexp(2 ln sinh|H|, −4K)),
    so β = 10⁶ and either sign of J and h are fine. The one value that does not
    fit in float64 is χ = β e^{2βJ} at h = 0 for βJ ≳ 355; it is returned as +inf.
    """
    J = check_finite_real(J, "J")
    h = check_finite_real(h, "h")
    betas, scalar = as_beta_array(beta)
    K = betas * J
    H = betas * h
    absH = np.abs(H)
    with np.errstate(divide="ignore", under="ignore"):
        log_sinh = absH + np.log(-np.expm1(-2.0 * absH)) - _LN2     # −inf at H = 0
    log_cosh_h = log_cosh(absH)
    log_r = 0.5 * np.logaddexp(2.0 * log_sinh, -4.0 * K)
    log_cosh_plus_r = np.logaddexp(log_cosh_h, log_r)
    free_entropy = K + log_cosh_plus_r
    magnetization = np.sign(H) * np.exp(log_sinh - log_r)
    g = np.exp(-4.0 * K - log_r - log_cosh_plus_r)
    v = np.exp(-4.0 * K - 2.0 * log_r)
    d_kk = 4.0 * g * (2.0 - v - g)
    d_kh = 2.0 * magnetization * v
    with np.errstate(over="ignore"):  # h = 0, βJ ≳ 355: χ = β e^{2βJ} is beyond float64
        d_hh = np.exp(log_cosh_h - 4.0 * K - 3.0 * log_r)
    # ⟨s_i s_{i+1}⟩ = 1 − 2g = m² + v λ₋/λ₊ with λ₋/λ₊ = (1 − e^{−4K})/(cosh H + R)²:
    # the second form keeps its relative accuracy when the correlation is small.
    with np.errstate(divide="ignore"):
        log_numerator = np.maximum(-4.0 * K, 0.0) + np.log(-np.expm1(-4.0 * np.abs(K)))
        ratio = np.sign(K) * np.exp(log_numerator - 2.0 * log_cosh_plus_r)
    correlation = magnetization**2 + v * ratio
    energy = -J * correlation - h * magnetization
    heat = betas**2 * (J**2 * d_kk + 2.0 * J * h * d_kh)
    if h != 0.0:
        heat = heat + (betas * h) ** 2 * d_hh
    susceptibility = betas * d_hh
    meta = {"J": J, "h": h}
    return Thermo.from_densities(betas, "infinite_chain", free_entropy, energy_density=energy,
                                 specific_heat_density=heat,
                                 magnetization_density=magnetization,
                                 susceptibility_density=susceptibility,
                                 scalar=scalar, meta=meta)
