"""The Sherrington–Kirkpatrick model in the thermodynamic limit: replica theory.

Model: H = −Σ_{i<j} J_ij s_i s_j − h Σ_i s_i with J_ij ~ N(0, 1/N) (J = 1).
The paramagnetic (annealed) free entropy density is ln 2 + β²/4 + ln cosh βh
and the spin-glass transition at h = 0 is at T_c = 1 (β_c = 1).

- :func:`sk_replica_symmetric`: the replica-symmetric (RS) solution
  (Sherrington & Kirkpatrick, PRL 35, 1792 (1975)).
- :func:`at_line`, :func:`at_line_temperature`: the de Almeida–Thouless
  instability line of the RS solution (J. Phys. A 11, 983 (1978)).
- :func:`parisi`: the full replica-symmetry-breaking (RSB) solution, as the
  limit of k-step RSB solutions of the Parisi variational formula
  (Parisi, PRL 43, 1754 (1979); J. Phys. A 13, L115 (1980); the variational
  form of Guerra, CMP 233, 1 (2003) and Talagrand, Ann. Math. 163, 221 (2006)).
- :func:`parisi_ground_state`, :func:`sk_ground_state_energy`: the same at
  T = 0 (the zero-temperature Parisi formula of Auffinger & Chen, CPAM 70,
  2011 (2017)); reference value e₀ = −0.7631667 (Crisanti & Rizzo, PRE 65,
  046137 (2002); Oppermann, Schmidt & Sherrington, PRL 98, 127201 (2007)).

Conventions: free entropy density φ = lim (1/N) E ln Z, free energy density
f = −φ/β, energy density u = −∂φ/∂β, entropy density s = φ + βu.
"""
from __future__ import annotations

import dataclasses
import math
import time
from typing import Any, Mapping

import numpy as np
from scipy import optimize, special

from statmech._numerics import log_2cosh, log_cosh
from statmech._validation import as_beta_array, check_finite_real, check_positive_int
from statmech._types import Thermo

__all__ = [
    "CRITICAL_BETA", "PARISI_MAX_BETA", "sk_replica_symmetric", "at_line", "at_line_temperature",
    "ParisiOrderParameter",
    "ParisiResult", "ParisiGroundState", "parisi", "parisi_ground_state", "sk_ground_state_energy",
    "plot_sk_phase_diagram", "plot_parisi_q",
]

#: β_c = 1: the SK spin-glass transition at h = 0 (T_c = J = 1).
CRITICAL_BETA = 1.0

_LN2 = math.log(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


# ======================================================================= helpers


def _sech_sq(x):
    """sech² x = 4 e^{−2|x|} / (1 + e^{−2|x|})², accurate for all x (no 1 − tanh²)."""
    e = np.exp(-2.0 * np.abs(x))
    return 4.0 * e / (1.0 + e) ** 2


# ============================================================ replica symmetric
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(20)
_Z_MAX = 12.0  # the standard normal beyond |z| = 12 has mass 3.6e-33


def _normal_rule(kink: float, width: float):
    """Nodes and weights for E_z[g(z)], z ~ N(0, 1), with g having a step of ``width`` at ``kink``.

    Composite 20-point Gauss–Legendre on [−12, 12]: panels of width 0.5, plus
    panels refined geometrically (×2) around ``kink`` down to ``width`` (the
    scale of tanh(β√q (z − kink)) at large β). Exact to ~1e−15 for every β.
    """
    breaks = list(np.arange(-_Z_MAX, _Z_MAX + 0.25, 0.5))
    if width < 0.5 and abs(kink) < _Z_MAX:
        scale = width
        while scale < 0.5:
            breaks += [kink - scale, kink + scale]
            scale *= 2.0
        breaks.append(kink)
    breaks = np.unique(np.clip(breaks, -_Z_MAX, _Z_MAX))
    left, right = breaks[:-1], breaks[1:]
    half = 0.5 * (right - left)
    nodes = (0.5 * (left + right))[:, None] + half[:, None] * _GL_NODES[None, :]
    weights = half[:, None] * _GL_WEIGHTS[None, :] * _INV_SQRT_2PI * np.exp(-0.5 * nodes**2)
    return nodes.ravel(), weights.ravel()


def _rs_rule(beta: float, q: float, h: float):
    if q <= 0.0 or beta == 0.0:
        return _normal_rule(0.0, 1.0)
    return _normal_rule(-h / math.sqrt(q), 1.0 / (beta * math.sqrt(q)))


def _rs_overlap(beta: float, h: float) -> tuple[float, float]:
    """(q, 1 − q) for the RS Edwards–Anderson parameter: q = E_z tanh²(β(√q z + h)).

    Solved with brentq: for q ≤ ½ in q, for q > ½ in ε = 1 − q through
    ε = E_z sech²(β(√(1−ε) z + h)) (so that 1 − q keeps its relative accuracy at
    low temperature). At h = 0 and β ≤ 1 the only solution is q = 0; at
    h = 0 and β > 1 the non-trivial solution is returned (divided by q, the
    equation has no root at q = 0). The solution is unique
    (Latała–Guerra; Talagrand, *Mean Field Models for Spin Glasses*, §1.3).
    """
    if beta == 0.0 or (h == 0.0 and beta <= 1.0):
        return 0.0, 1.0

    def tanh_sq_mean(q):
        z, w = _rs_rule(beta, q, h)
        return w @ np.tanh(beta * (math.sqrt(q) * z + h)) ** 2

    def sech_sq_mean(eps):
        q = 1.0 - eps
        z, w = _rs_rule(beta, q, h)
        return w @ _sech_sq(beta * (math.sqrt(q) * z + h))

    if h == 0.0:
        in_q = lambda q: tanh_sq_mean(q) / q - 1.0  # → β² − 1 > 0 as q → 0
        lower = 1e-200
    else:
        in_q = lambda q: tanh_sq_mean(q) - q
        lower = 0.0
    if in_q(0.5) <= 0.0:
        q = optimize.brentq(in_q, lower, 0.5, xtol=1e-300, rtol=1e-15, maxiter=500)
        return q, 1.0 - q
    eps = optimize.brentq(lambda e: sech_sq_mean(e) - e, 1e-300, 0.5, xtol=1e-300, rtol=1e-15,
                          maxiter=500)
    return 1.0 - eps, eps


def _rs_point(beta: float, h: float) -> dict:
    """Every RS quantity at one (β, h), derivatives by implicit differentiation.

    With w = β(√q z + h), t = tanh w, S = sech² w, ε = 1 − q = E S:
    φ = ln 2 + β²ε²/4 + E ln cosh w,  u = −β(1 − q²)/2 − h m,  m = E t,
    and, from the fixed point G(ε) = E S − ε = 0 with Gaussian integration by
    parts (E[z g(w)] = β√q E[g'(w)]):
    ∂G/∂ε = β² E[S(3S − 2)] − 1,  dε/dβ = (2βq E[S(3S − 2)] + 2h E[St]) / ∂G/∂ε,
    dm/dβ = −2βq E[St] + hε + β² E[St] dε/dβ,
    c = −β² du/dβ = β² [ε(1 − ε/2) + β(1 − ε) dε/dβ + h dm/dβ],
    χ = dm/dh = βε + 2β³ E[St]² / ∂G/∂ε.
    """
    q, eps = _rs_overlap(beta, h)
    z, w = _rs_rule(beta, q, h)
    arg = beta * (math.sqrt(q) * z + h)
    t = np.tanh(arg)
    S = _sech_sq(arg)
    phi = _LN2 + beta**2 * eps**2 / 4.0 + float(w @ log_cosh(arg))
    mag = float(w @ t) if h != 0.0 else 0.0  # m = 0 at h = 0 by the spin-flip symmetry
    energy = -0.5 * beta * eps * (2.0 - eps) - h * mag
    kappa_sq = beta**2 * q
    if kappa_sq >= 1.0:
        # Integration by parts in z (E g''(z) = E (z² − 1) g(z), E g'(z) = E z g(z)) turns
        # E[S(3S − 2)] = −½ E[S''(w)] and E[S t] = −½ E[S'(w)] into averages without the
        # O(1/κ) cancellations of the direct forms (κ = β√q ≫ 1 at low temperature).
        E_S3S2 = float(w @ ((1.0 - z**2) * S)) / (2.0 * kappa_sq)
        E_St = -float(w @ (z * S)) / (2.0 * math.sqrt(kappa_sq)) if h != 0.0 else 0.0
    else:
        E_S3S2 = float(w @ (S * (3.0 * S - 2.0)))
        E_St = float(w @ (S * t)) if h != 0.0 else 0.0
    G_eps = beta**2 * E_S3S2 - 1.0
    if q == 0.0 and h == 0.0:
        deps = 0.0  # paramagnet: q ≡ 0 for β ≤ 1
        dmag = 0.0
    else:
        # −∂G/∂β = E[2 S t (√q z + h)] = 2βq E[S(3S − 2)] + 2h E[S t]
        deps = (2.0 * beta * q * E_S3S2 + 2.0 * h * E_St) / G_eps
        # dm/dβ = E[S(√q z + h)] + (∂m/∂q)(dq/dβ) = −2βq E[St] + h ε + β² E[St] dε/dβ
        dmag = -2.0 * beta * q * E_St + h * eps + beta**2 * E_St * deps
    # u = −(β/2) ε (2 − ε) − h m
    du = -0.5 * eps * (2.0 - eps) - beta * (1.0 - eps) * deps - h * dmag
    heat = -beta**2 * du
    chi = beta * eps + (2.0 * beta**3 * E_St**2 / G_eps if (q > 0.0 or h != 0.0) else 0.0)
    return {"q": q, "phi": phi, "energy": energy, "heat": heat, "magnetization": mag,
            "susceptibility": chi, "at_eigenvalue": 1.0 - beta**2 * float(w @ S**2)}


def sk_replica_symmetric(beta, h=0.0) -> Thermo:
    """The replica-symmetric SK solution (Sherrington & Kirkpatrick 1975): a Thermo of densities.

    q solves q = E_z tanh²(β(√q z + h)) (z ~ N(0, 1)); then
    φ_RS = ln 2 + β²(1 − q)²/4 + E_z ln cosh(β√q z + βh),
    u = −β(1 − q²)/2 − h m (m = E_z tanh(β√q z + βh)), s = φ + βu, and the
    specific heat c = −β² du/dβ and susceptibility χ = dm/dh are exact
    derivatives (implicit differentiation of the q equation). Gaussian
    averages use composite Gauss–Legendre rules refined around the kink of
    tanh, accurate to ~1e−14 at every β (β = 1e6 included).

    For h = 0 and β ≤ 1 this is the exact paramagnet (q = 0, φ = ln 2 + β²/4).
    Below T = 1 it is *not* the SK solution: its entropy turns negative
    (s → −1/(2π) as T → 0, e → −√(2/π)); see :func:`parisi`.
    ``meta``: ``q`` (array), ``h``, ``at_eigenvalue`` (1 − β² E sech⁴: negative
    where the RS solution is unstable, below the AT line), ``critical_beta``.
    """
    betas, scalar = as_beta_array(beta)
    h = check_finite_real(h, "h")
    points = [_rs_point(float(b), h) for b in betas]
    get = lambda key: np.array([p[key] for p in points])
    meta = {"q": get("q"), "h": h, "at_eigenvalue": get("at_eigenvalue"),
            "critical_beta": CRITICAL_BETA}
    if scalar:
        meta["q"] = float(meta["q"][0])
        meta["at_eigenvalue"] = float(meta["at_eigenvalue"][0])
    return Thermo.from_densities(betas, "sk-rs", get("phi"), energy_density=get("energy"),
                                 specific_heat_density=get("heat"),
                                 magnetization_density=get("magnetization"),
                                 susceptibility_density=get("susceptibility"),
                                 scalar=scalar, meta=meta)


# ====================================================================== AT line
def _at_function(beta: float, h: float) -> float:
    """β² E_z sech⁴(β(√q z + h)) − 1 at the RS q: > 0 where RS is unstable."""
    return -_rs_point(beta, h)["at_eigenvalue"]


def _at_field_at(beta: float) -> float:
    if beta <= 1.0:
        raise ValueError(f"the AT line exists below T = 1 only; got T = {1.0 / beta}")
    upper = 0.5
    while _at_function(beta, upper) > 0.0:
        upper *= 2.0
        if upper > 1e3:
            raise ValueError(f"no AT field found up to h = 1e3 at T = {1.0 / beta}")
    return optimize.brentq(lambda h: _at_function(beta, h), 0.0, upper, xtol=1e-300, rtol=1e-13)


def at_line(temperature):
    """The de Almeida–Thouless field h_AT(T) for 0 < T < 1 (J = 1).

    The RS solution is stable iff β² E_z sech⁴(β(√q z + h)) ≤ 1, with q the
    RS overlap at (β, h) (de Almeida & Thouless, J. Phys. A 11, 983 (1978));
    h_AT solves the equality. Near T = 1, h_AT² ≈ (4/3)(1 − T)³; h_AT → ∞ as T → 0.
    ``temperature``: a scalar or 1-D array in (0, 1); returns a float or an array.
    """
    temps = np.asarray(temperature, dtype=np.float64)
    scalar = temps.ndim == 0
    temps = np.atleast_1d(temps)
    if temps.ndim != 1:
        raise ValueError(f"temperature must be a scalar or a 1-D array, got shape {temps.shape}")
    if not np.all(np.isfinite(temps)) or np.any(temps <= 0.0) or np.any(temps >= 1.0):
        raise ValueError(
            "the AT line h_AT(T) exists for 0 < T < 1 (above T = 1 the RS solution is stable at "
            f"every field); got {temperature!r}")
    fields = np.array([_at_field_at(1.0 / t) for t in temps])
    return float(fields[0]) if scalar else fields


def at_line_temperature(field):
    """The de Almeida–Thouless temperature T_AT(h) for a field h ≠ 0 (the inverse of :func:`at_line`).

    ``field``: a scalar or 1-D array of nonzero fields (the sign does not matter).
    T_AT(h) → 1 as h → 0 and → 0 as |h| → ∞.
    """
    fields = np.asarray(field, dtype=np.float64)
    scalar = fields.ndim == 0
    fields = np.atleast_1d(fields)
    if fields.ndim != 1:
        raise ValueError(f"field must be a scalar or a 1-D array, got shape {fields.shape}")
    if not np.all(np.isfinite(fields)) or np.any(fields == 0.0):
        raise ValueError(f"field must be finite and nonzero (T_AT(0) = 1); got {field!r}")
    temps = []
    for h in np.abs(fields):
        upper = 2.0
        while _at_function(upper, h) < 0.0:
            upper *= 2.0
            if upper > 1e6:
                raise ValueError(f"no AT temperature found above T = 1e-6 for h = {h}")
        beta = optimize.brentq(lambda b: _at_function(b, h), 1.0, upper, xtol=1e-14, rtol=1e-13)
        temps.append(1.0 / beta)
    temps = np.array(temps)
    return float(temps[0]) if scalar else temps


# ================================================================ Parisi (k-RSB)
# The Parisi variational formula (Guerra 2003, Talagrand 2006) for the SK free
# entropy density, for a k-step order parameter
#     q(x) = q_l  for  m_{l−1} < x ≤ m_l   (l = 1..K, K = k + 1, m_0 = 0, m_K = 1),
#     0 ≤ q_1 ≤ … ≤ q_K < 1,   0 ≤ m_1 ≤ … ≤ m_{K−1} ≤ 1:
#
#     P = ln 2 + Φ_0(βh) + β²(1 − q_K)/2 − (β²/4) [Σ_{l=1}^{K−1} m_l (q_{l+1}² − q_l²) + 1 − q_K²],
#     Φ_K(y) = ln cosh y,
#     Φ_l(y) = (1/m_l) ln E_z exp(m_l Φ_{l+1}(y + β√(q_{l+1} − q_l) z))   (l = K−1 … 1),
#     Φ_0(y) = E_z Φ_1(y + β√q_1 z),
#
# and φ = min over (q, m) of P (for every k the minimum is an upper bound on φ;
# it decreases with k to φ). At k = 0 (K = 1), P is φ_RS of q_1.
#
# At T = 0 (m_l = μ_l/β, y = βu, 1 − q_K = O(T)) the same recursion with
# Ψ = Φ/β gives the ground-state energy e₀ = −min over (q, μ) of
#     Ψ_0(h) − ¼ Σ_{l=1}^{K−1} μ_l (q_{l+1}² − q_l²),   q_K = 1,  Ψ_K(u) = |u|,
#     Ψ_l(u) = (1/μ_l) ln E_z exp(μ_l Ψ_{l+1}(u + √(q_{l+1} − q_l) z)),   0 ≤ μ_1 ≤ … ≤ μ_{K−1},
# (Auffinger & Chen, CPAM 70, 2011 (2017)); its top level is in closed form:
#     Ψ_{K−1}(u) = |u| + μs²/2 + (1/μ) ln[Φ_N(|u|/s + μs) + e^{−2μ|u|} Φ_N(μs − |u|/s)],
#     s = √(1 − q_{K−1}).
#
# Numerics: each Φ_l (l ≥ 1) is even in y and is stored on y_i = a sinh(i dξ) ≥ 0
# (fine near 0, coarse where Φ_l is linear) as r = Φ_l − ln(2 cosh y), read
# back with 6-point Lagrange interpolation in ξ; the Gaussian averages are
# trapezoidal sums in z (spectrally accurate for these analytic integrands),
# with the node spacing set by the width of the Gaussian against the
# smallest scale of the integrand. Gradients come from the adjoint (reverse)
# recursion, so the (2k + 1)-parameter minimisation uses L-BFGS-B.

_STENCIL = np.arange(-2, 4)  # 6-point Lagrange stencil offsets


def _lagrange_coefficients():
    """Monomial coefficients C (6, 6) with L_k(t) = Σ_j C[j, k] t^j (Lagrange basis on −2..3)."""
    nodes = _STENCIL.astype(np.float64)
    vander = np.vander(nodes, len(nodes), increasing=True)  # V[i, j] = node_i^j
    return np.linalg.inv(vander)  # L_k(t) = Σ_j inv(V)[j, k] t^j


_LAGRANGE = _lagrange_coefficients()
_LAGRANGE_SLOPE = np.arange(1, 6)[:, None] * _LAGRANGE[1:]  # coefficients of L_k'(t)


def _lagrange_weights(t):
    """6-point Lagrange weights and their t-derivatives at offsets −2..3 for t ∈ [0, 1)."""
    powers = t[:, None] ** np.arange(6)[None, :]
    return powers @ _LAGRANGE, powers[:, :5] @ _LAGRANGE_SLOPE


class _EvenGrid:
    """An even function on y ≥ 0 at y_i = a sinh(i dξ), i = 0..n, stored as r = Φ − ln(2 cosh y).

    Read back with 6-point Lagrange interpolation in ξ = asinh(|y|/a) (mirror
    images across 0; r held constant beyond the last node, where Φ − |y| is
    constant to e^{−2y}).
    """

    def __init__(self, scale: float, y_max: float, dxi: float):
        self.scale = scale
        self.dxi = dxi
        self.n = int(math.ceil(math.asinh(y_max / scale) / dxi))
        self.y = scale * np.sinh(dxi * np.arange(self.n + 1))

    def locate(self, points):
        """Stencil indices (P, 6), weights (P, 6) and d/dy weights (P, 6) for ``points`` (P,)."""
        absy = np.abs(points)
        s = np.arcsinh(absy / self.scale) / self.dxi
        base = np.floor(s)
        t = s - base
        beyond = base > self.n + 2
        base = np.where(beyond, self.n + 3, base).astype(np.int64)
        t = np.where(beyond, 0.0, t)
        index = np.abs(base[:, None] + _STENCIL[None, :])
        index = np.minimum(index, self.n)
        weights, slopes = _lagrange_weights(t)
        dtdy = np.sign(points) / (self.dxi * np.sqrt(self.scale**2 + points**2))
        slopes = np.where(beyond[:, None], 0.0, slopes * dtdy[:, None])
        return index, weights, slopes

    def evaluate(self, r, points):
        """Φ and Φ' at ``points`` (any shape) from grid values r; also the stencil (for the adjoint)."""
        flat = points.ravel()
        index, weights, slopes = self.locate(flat)
        vals = r[index]
        value = log_2cosh(flat) + np.sum(weights * vals, axis=1)
        slope = np.tanh(flat) + np.sum(slopes * vals, axis=1)
        return value.reshape(points.shape), slope.reshape(points.shape), (index, weights)


def _gauss_nodes(spacing: float, half_width: float):
    """Trapezoidal nodes z and normalised weights w for E_z[·], z ~ N(0, 1), on [−half_width, half_width]."""
    n = int(math.ceil(half_width / spacing))
    z = spacing * np.arange(-n, n + 1)
    w = np.exp(-0.5 * z**2)
    return z, w / w.sum()


_SMALL_M = 1e-9  # below this, (1/m) ln E e^{mv} is E v + (m/2) Var v to float64 precision


class _Level:
    """One step Φ_out(y) = (1/m) ln E_z exp(m Φ_in(y + σz)) (or E_z Φ_in when m = 0), with its adjoint."""

    def __init__(self, y_out, sigma, m, spacing, source, grid):
        half_width = 9.0 + m * sigma  # e^{−z²/2} < 3e−18 beyond, tilted by e^{mσz}
        if sigma > 0.0:
            z, w = _gauss_nodes(spacing, half_width)
        else:
            z, w = np.zeros(1), np.ones(1)
        points = y_out[:, None] + sigma * z[None, :]
        if source is None:  # the top level Φ_K = ln cosh, exact
            v, dv = log_cosh(points), np.tanh(points)
            self.stencil = None
        else:
            v, dv, self.stencil = grid.evaluate(source, points)
        vbar = v @ w
        excess = np.expm1(m * (v - vbar[:, None]))
        mean_excess = excess @ w
        if m > _SMALL_M:
            out = vbar + np.log1p(mean_excess) / m
            p = w[None, :] * (1.0 + excess) / (1.0 + mean_excess)[:, None]
        else:
            var = ((v - vbar[:, None]) ** 2) @ w
            out = vbar + 0.5 * m * var
            p = np.broadcast_to(w[None, :], v.shape)
        self.z, self.w, self.p, self.v, self.dv = z, w, p, v, dv
        self.sigma, self.m, self.out = sigma, m, out

    def backward(self, g, n_grid):
        """From g = ∂P/∂Φ_out: (∂P/∂Φ_in on the grid or None, ∂P/∂σ², ∂P/∂m)."""
        gp = g[:, None] * self.p
        if self.sigma > 0.0:
            d_var = float(np.sum(gp * self.dv * self.z[None, :])) / (2.0 * self.sigma)
        else:
            d_var = 0.0
        if self.m > _SMALL_M:
            d_m = float(g @ (np.sum(self.p * self.v, axis=1) - self.out)) / self.m
        else:
            vbar = self.v @ self.w
            d_m = 0.5 * float(g @ (((self.v - vbar[:, None]) ** 2) @ self.w))
        d_source = None
        if self.stencil is not None:
            index, weights = self.stencil
            d_source = np.bincount(index.ravel(), weights=(gp.reshape(-1, 1) * weights).ravel(),
                                   minlength=n_grid + 1)
        return d_source, d_var, d_m


class _ZeroTemperatureTop:
    """Ψ_{K−1}(u) = (1/μ) ln E_z exp(μ |u + s z|) in closed form, with ∂/∂s and ∂/∂μ."""

    def __init__(self, u, s, mu):
        a = np.abs(u)
        upper = a / s + mu * s
        lower = mu * s - a / s
        ratio = np.exp(-2.0 * mu * a + special.log_ndtr(lower) - special.log_ndtr(upper))
        big = special.ndtr(upper)
        B = big * (1.0 + ratio)
        log_B = special.log_ndtr(upper) + np.log1p(ratio)
        out = a + 0.5 * mu * s**2 + log_B / mu
        rho = _INV_SQRT_2PI * np.exp(-0.5 * upper**2) / B
        tilt = (1.0 - ratio) / (1.0 + ratio)  # (E₊ − E₋)/(E₊ + E₋) for u ≥ 0
        self.d_s = mu * s + 2.0 * rho
        self.d_mu = (-out + a * tilt + mu * s**2 + 2.0 * s * rho) / mu
        self.out = out
        self.s = s

    def backward(self, g, n_grid):
        return None, float(g @ self.d_s) / (2.0 * self.s), float(g @ self.d_mu)


class _ParisiFunctional:
    """P(q, m) and its gradient for the k-RSB SK order parameter (finite β or T = 0).

    ``beta=None`` selects the zero-temperature functional (then ``q`` ends with
    q_K = 1 and ``m`` holds μ_1..μ_{K−1}); the value is −e₀ for it, φ otherwise.
    """

    def __init__(self, beta, h, grid_scale=None, dxi=0.04):
        self.beta = beta
        self.h = h
        if beta is None:
            self.field = h
            self.var_scale = 1.0
            y_max = 25.0
            scale = 0.02 if grid_scale is None else grid_scale
        else:
            self.field = beta * h
            self.var_scale = beta**2
            # Φ_l − ln 2cosh y is constant to ~e^{−2y + 2β²} beyond y_max (h only sets where
            # Φ_0 is read, not the Φ_l themselves)
            y_max = 22.0 + 2.0 * beta**2
            scale = 0.25 if grid_scale is None else grid_scale
        self.grid = _EvenGrid(scale, y_max, dxi)

    def _spacing(self, sigma, smoothing):
        """Trapezoid spacing in z for a Gaussian of width σ over Φ_{l+1}.

        The error of the trapezoid rule for an integrand analytic in a strip of
        half-width d (in z) is ~exp(−2πd/spacing); spacing = 0.18 d gives ~1e−16 with
        margin. Φ_K = ln cosh y is analytic in |Im y| < π/2 and Φ_{l+1}, smoothed by a
        Gaussian of variance V = ``smoothing``, is taken as analytic in
        |Im y| < √((π/2)² + V); at T = 0, Ψ_{l+1} (the kink |u| smoothed by V) in
        |Im u| < 2√V (both checked against halved spacings to ~1e−10).
        """
        if sigma <= 0.0:
            return 0.5
        if self.beta is None:
            width = 2.0 * math.sqrt(max(smoothing, 1e-300))
        else:
            width = math.sqrt(0.25 * math.pi**2 + smoothing)
        return min(0.6, 0.18 * width / sigma)

    def value_and_grad(self, q, m):
        """(P, ∂P/∂q (K,), ∂P/∂m (K−1,), ∂P/∂y0) for nondecreasing q (K,) and m (K−1,)."""
        q = np.asarray(q, dtype=np.float64)
        m = np.asarray(m, dtype=np.float64)
        K = len(q)
        zero_t = self.beta is None
        steps = self.var_scale * np.diff(np.concatenate([[0.0], q]))  # σ_l² for l = 0..K−1
        steps = np.maximum(steps, 0.0)
        levels = []
        source = None
        for l in range(K - 1, -1, -1):
            y_out = self.grid.y if l >= 1 else np.array([self.field])
            sigma = math.sqrt(steps[l])
            m_l = m[l - 1] if l >= 1 else 0.0
            if zero_t and l == K - 1:
                level = _ZeroTemperatureTop(y_out, sigma, m_l)
            else:
                top = 1.0 if zero_t else q[-1]
                smoothing = max(self.var_scale * (top - q[l]), 0.0)  # variance already applied to Φ_{l+1}
                level = _Level(y_out, sigma, m_l, self._spacing(sigma, smoothing), source, self.grid)
            levels.append(level)
            source = level.out - log_2cosh(y_out) if l >= 1 else None
        phi0 = float(levels[-1].out[0])
        d_field = float(np.sum(levels[-1].p * levels[-1].dv)) if not isinstance(
            levels[-1], _ZeroTemperatureTop) else float("nan")
        # penalty and constants
        m_ext = np.concatenate([[0.0], m, [1.0]])
        if zero_t:
            penalty = 0.25 * float(np.sum(m * (q[1:] ** 2 - q[:-1] ** 2)))
            value = phi0 - penalty
            d_q = -0.25 * 2.0 * q * (m_ext[:-1] - m_ext[1:])[:K]
            d_q[-1] = 0.0
            d_m = -0.25 * (q[1:] ** 2 - q[:-1] ** 2)
        else:
            b2 = self.var_scale
            penalty = 0.25 * b2 * (float(np.sum(m * (q[1:] ** 2 - q[:-1] ** 2))) + 1.0 - q[-1] ** 2)
            value = _LN2 + phi0 + 0.5 * b2 * (1.0 - q[-1]) - penalty
            d_q = -0.5 * b2 * q * (m_ext[:-1] - m_ext[1:])
            d_q[-1] -= 0.5 * b2
            d_m = -0.25 * b2 * (q[1:] ** 2 - q[:-1] ** 2)
        # adjoint recursion: g = ∂P/∂Φ_l
        g = np.ones(1)
        d_steps = np.zeros(K)
        for level, l in zip(reversed(levels), range(K)):
            d_source, d_var, d_mass = level.backward(g, self.grid.n)
            d_steps[l] = d_var
            if l >= 1:
                d_m[l - 1] += d_mass
            g = d_source
        # σ_l² = s (q_{l+1} − q_l), q_0 = 0
        d_q += self.var_scale * d_steps
        d_q[:-1] -= self.var_scale * d_steps[1:]
        if zero_t:
            d_q[-1] = 0.0  # q_K = 1 is fixed
        self.last = {"d_steps": d_steps, "d_field": d_field}
        return value, d_q, d_m, d_field

    def beta_derivative(self, q, m):
        """∂P/∂β at fixed (q, m) (finite β): at the minimum this is dφ/dβ = −u (envelope theorem).

        P depends on β through σ_l² = β²(q_{l+1} − q_l), the read-out point y₀ = βh,
        the constant β²(1 − q_K)/2 and the β² of the penalty.
        """
        q = np.asarray(q, dtype=np.float64)
        m = np.asarray(m, dtype=np.float64)
        self.value_and_grad(q, m)
        beta = self.beta
        increments = np.diff(np.concatenate([[0.0], q]))
        through_steps = float(self.last["d_steps"] @ (2.0 * beta * increments))
        penalty = 0.5 * beta * (float(np.sum(m * (q[1:] ** 2 - q[:-1] ** 2))) + 1.0 - q[-1] ** 2)
        return through_steps + self.h * self.last["d_field"] + beta * (1.0 - q[-1]) - penalty


# ------------------------------------------------------------ the minimisation
_Q_FLOOR = 1e-12  # stick-breaking fractions stay in [1e−12, 1 − 1e−12]: σ_l > 0, q_K < 1


def _encode_fractions(values):
    """Stick-breaking: 0 ≤ v_1 ≤ … ≤ v_n ≤ 1 from fractions u_l = (v_l − v_{l−1}) / (1 − v_{l−1})."""
    previous = np.concatenate([[0.0], values[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        fractions = np.where(previous < 1.0, (values - previous) / (1.0 - previous), 0.0)
    return fractions


def _decode_fractions(fractions):
    """v_l = v_{l−1} + (1 − v_{l−1}) u_l (v_0 = 0); 1 − v_l = Π_{j ≤ l} (1 − u_j)."""
    return 1.0 - np.cumprod(1.0 - fractions)


def _fractions_grad(fractions, grad_values):
    """Chain rule of :func:`_decode_fractions`: ∂P/∂u from ∂P/∂v."""
    values = _decode_fractions(fractions)
    previous = np.concatenate([[0.0], values[:-1]])
    total = np.zeros(len(fractions))
    carry = 0.0
    for l in range(len(fractions) - 1, -1, -1):
        carry = grad_values[l] + carry
        total[l] = carry * (1.0 - previous[l])
        carry *= 1.0 - fractions[l]
    return total


class _Parametrisation:
    """Coordinates θ for (q, m) in which the minimisation is well conditioned.

    Finite β: box-constrained stick-breaking fractions for q (in [1e−12, 1 − 1e−12])
    and m (in [0, 1]), so that degenerate optima (q_1 = 0, equal levels, the
    paramagnet) are reached exactly. T = 0: logits of the q fractions and logs of
    the increments of μ (unbounded; μ spans decades, and L-BFGS needs ~5× fewer
    steps in these coordinates).
    """

    def __init__(self, K, zero_temperature):
        self.K = K
        self.zero_t = zero_temperature
        self.n_q = K - 1 if zero_temperature else K  # at T = 0, q_K = 1 is fixed
        self.n_m = K - 1

    def bounds(self):
        if self.zero_t:
            return None
        return [(_Q_FLOOR, 1.0 - _Q_FLOOR)] * self.n_q + [(0.0, 1.0)] * self.n_m

    def encode(self, q, m):
        fractions = np.clip(_encode_fractions(np.asarray(q[: self.n_q], float)), _Q_FLOOR, 1.0 - _Q_FLOOR)
        m = np.asarray(m, float)
        if self.zero_t:
            increments = np.maximum(np.diff(np.concatenate([[0.0], m])), 1e-8)
            return np.concatenate([np.log(fractions / (1.0 - fractions)), np.log(increments)])
        return np.concatenate([fractions, np.clip(_encode_fractions(m), 0.0, 1.0)])

    def _fractions(self, theta):
        if self.zero_t:
            u = special.expit(theta[: self.n_q])
            return u, u * (1.0 - u)
        return theta[: self.n_q], np.ones(self.n_q)

    def decode(self, theta):
        u, _ = self._fractions(theta)
        q = _decode_fractions(u)
        if self.zero_t:
            return np.concatenate([q, [1.0]]), np.cumsum(np.exp(theta[self.n_q:]))
        return q, _decode_fractions(theta[self.n_q:])

    def grad(self, theta, d_q, d_m):
        u, du = self._fractions(theta)
        g_q = _fractions_grad(u, d_q[: self.n_q]) * du
        if self.zero_t:
            g_m = np.cumsum(d_m[::-1])[::-1] * np.exp(theta[self.n_q:])
        else:
            g_m = _fractions_grad(theta[self.n_q:], d_m)
        return np.concatenate([g_q, g_m])


def _minimise(functional, q, m, max_iter=5000):
    """Minimise P over (q, m) with L-BFGS-B from a starting point; returns (P, q, m, info)."""
    zero_t = functional.beta is None
    param = _Parametrisation(len(q), zero_t)
    evaluations = [0]

    def objective(theta):
        evaluations[0] += 1
        qq, mm = param.decode(theta)
        value, d_q, d_m, _ = functional.value_and_grad(qq, mm)
        return value, param.grad(theta, d_q, d_m)

    theta0 = param.encode(q, m)
    result = optimize.minimize(objective, theta0, jac=True, method="L-BFGS-B", bounds=param.bounds(),
                               options={"maxiter": max_iter, "maxfun": 2 * max_iter, "ftol": 1e-14,
                                        "gtol": 1e-9, "maxcor": 30})
    qq, mm = param.decode(result.x)
    value = functional.value_and_grad(qq, mm)[0]
    info = {"iterations": int(result.nit), "evaluations": evaluations[0],
            "converged": bool(result.success), "message": str(result.message)}
    return value, qq, mm, info


def _refine(q, m, k_new, zero_temperature, first_breakpoint=0.5):
    """A k_new-step starting point resampled from a k-step solution (k_new > k).

    The k-step levels are read as samples of smooth functions of a level
    coordinate ν: breakpoint m_l at ν = l (m_0 = 0) and q_l at ν = l − ½; the
    top (plateau) level q_K is kept. Both are resampled at k_new evenly spaced
    levels over the same ν range by linear interpolation (linear extrapolation
    below the first level, kept inside [0, q_K]). From RS (k = 0)
    the breakpoints are spread evenly up to ``first_breakpoint``.
    """
    q = np.asarray(q, float)
    m = np.asarray(m, float)
    K, K_new = len(q), k_new + 1
    if K == 1:  # from RS (finite β only): evenly spaced levels below the RS plateau
        new_q = q[0] * np.concatenate([(np.arange(1, K_new) - 0.5) / (K_new - 1), [1.0]])
        new_m = first_breakpoint * np.arange(1, K_new) / (K_new - 1)
        return new_q, new_m
    scale = (K - 1) / (K_new - 1)
    nu_m = np.arange(K)  # m_0 = 0, m_1 .. m_{K−1}
    new_m = np.interp(scale * np.arange(1, K_new), nu_m, np.concatenate([[0.0], m]))
    nu_q = np.arange(1, K + 1) - 0.5
    new_nu_q = scale * (np.arange(1, K_new) - 0.5)
    new_q = np.interp(new_nu_q, nu_q, q)
    slope = (q[1] - q[0]) / (nu_q[1] - nu_q[0])  # linear extrapolation below ν = ½
    below = new_nu_q < nu_q[0]
    new_q[below] = q[0] + slope * (new_nu_q[below] - nu_q[0])
    new_q = np.clip(new_q, 0.0, q[-1])
    return np.concatenate([new_q, [q[-1]]]), new_m


def _insert_start(q, m, gap, zero_temperature, share=1.0 / 3.0):
    """A (k+1)-step start with a new level in the middle of q-gap ``gap``.

    Gap j (0-based) lies below level j + 1 (gap 0: between 0 and q_1); at finite β
    gap K is between q_K and 1. The new level takes the fraction ``share`` of the
    x-width of each neighbouring interval (levels occupy (m_{j−1}, m_j], m_0 = 0,
    m_K = 1; at T = 0 the last interval is unbounded and counted as μ_{K−1} wide).
    """
    q = [float(v) for v in q]
    m = [float(v) for v in m]
    K = len(q)
    last = (2.0 * m[-1] if m else 2.0) if zero_temperature else 1.0
    edges = [0.0, *m, last]  # level j + 1 occupies (edges[j], edges[j + 1]]
    lower = q[gap - 1] if gap >= 1 else 0.0
    upper = q[gap] if gap < K else 1.0
    new_level = 0.5 * (lower + upper)
    if gap == 0:
        new_m = [share * edges[1]] + m
    elif gap == K:
        new_m = m + [edges[K] - share * (edges[K] - edges[K - 1])]
    else:
        b = edges[gap]
        new_m = m[: gap - 1] + [b - share * (b - edges[gap - 1]), b + share * (edges[gap + 1] - b)] + m[gap:]
    return np.array(q[:gap] + [new_level] + q[gap:]), np.array(new_m)


def _degenerate(q, m, zero_temperature, tiny=1e-4):
    """True when two levels coincide or one has no x-width: effectively fewer steps."""
    last = [] if zero_temperature else [1.0]
    widths = np.diff(np.concatenate([[0.0], m, last]))
    return bool(np.any(np.diff(q) < tiny) or np.any(widths < tiny))


_EXPLORE_UP_TO_K = 3  # in a field, for k ≤ 3 every insertion start is tried (several minima)


def _solve_k(functional, previous, k, first_breakpoint):
    """The k-step minimum, started from the (k−1)-step one.

    Starts: the resampled (k−1)-step solution (:func:`_refine`) and, for
    k ≤ 3 in a field h ≠ 0 (where q(x) has a lower plateau and the few-step
    landscape has several minima), or when that one ends above the
    (k−1)-step value (the true k-step
    minimum never is) or at a degenerate point (two equal levels, or a level of
    zero x-width: a saddle where the minimisation stalls), a new level inserted
    in every q-gap of the (k−1)-step solution with a third and a tenth of the
    neighbouring x-widths (:func:`_insert_start`). The lowest minimum is kept;
    if all end above the (k−1)-step value, that solution is returned with a
    repeated level (the same value).
    """
    zero_t = functional.beta is None
    prev_value, prev_q, prev_m = previous
    best = _minimise(functional, *_refine(prev_q, prev_m, k, zero_t, first_breakpoint))
    explore = (functional.h != 0.0 and k <= _EXPLORE_UP_TO_K) or prev_value is None \
        or best[0] > prev_value - 1e-11 \
        or _degenerate(best[1], best[2], zero_t)
    if not explore:
        return best
    restarted = False
    n_gaps = len(prev_q) if zero_t else len(prev_q) + 1
    for gap in range(n_gaps):
        for share in (1.0 / 3.0, 0.1):
            trial = _minimise(functional, *_insert_start(prev_q, prev_m, gap, zero_t, share))
            if trial[0] < best[0] - 1e-13:
                best, restarted = trial, True
    value, q, m, info = best
    info = {**info, "restarted": restarted}
    if prev_value is not None and value > prev_value + 1e-12:  # keep the (k−1)-step solution
        q = np.insert(prev_q, 0, prev_q[0])
        m = np.insert(prev_m, 0, 0.0)
        value = prev_value
        info["fallback"] = "previous k"
    return value, q, m, info


@dataclasses.dataclass(frozen=True)
class ParisiOrderParameter:
    """A k-step Parisi order parameter: q(x) = q_l for m_{l−1} < x ≤ m_l (m_0 = 0, m_K = 1).

    ``values``: q_1 ≤ … ≤ q_K; ``breakpoints``: m_1 ≤ … ≤ m_{K−1}. At T = 0
    (:func:`parisi_ground_state`) the breakpoints are μ_l = m_l/T ∈ [0, ∞) and q_K = 1.
    Calling it evaluates the step function: ``p.q(x)``.
    """

    values: np.ndarray
    breakpoints: np.ndarray

    def __call__(self, x):
        """q(x) (scalar or array x ≥ 0)."""
        x = np.asarray(x, dtype=np.float64)
        index = np.searchsorted(self.breakpoints, x, side="left")
        out = self.values[np.minimum(index, len(self.values) - 1)]
        return float(out) if out.ndim == 0 else out

    @property
    def k(self) -> int:
        """Number of replica-symmetry-breaking steps (K − 1)."""
        return len(self.values) - 1

    def integral_of_square(self, upper: float = 1.0) -> float:
        """∫_0^upper q(x)² dx (the energy of the Parisi solution is −(β/2)(1 − ∫_0^1 q²) − hm)."""
        edges = np.concatenate([[0.0], np.minimum(self.breakpoints, upper), [upper]])
        return float(np.sum(np.diff(edges) * self.values**2))


def _truncation(history):
    """(truncation error, extrapolated value) of the last entry of [(k, value)], consecutive k.

    Observed here: value_k − value_∞ ∝ k^{−p} with p ≈ 4 at T > 0 (the law
    reported by Crisanti & Rizzo 2002) and p ≈ 3.5 at T = 0. With increments
    Δ_j ∝ j^{−(p+1)}, the remainder Σ_{j>k} Δ_j ≈ Δ_k k^{p+1} / (p (k + ½)^p).
    The error estimate takes a conservative p = 3; the extrapolation uses p
    fitted to the last three values (clipped to [2, 8]), None with fewer.
    """
    def remainder(delta, k, p):
        return delta * k ** (p + 1) / (p * (k + 0.5) ** p)

    if len(history) < 2 or history[-1][0] != history[-2][0] + 1:
        return None, None
    k, value = history[-1]
    delta = value - history[-2][1]
    error = abs(remainder(delta, k, 3.0))
    if len(history) < 3 or history[-3][0] != k - 2 or k < 3:
        return error, None
    prev_delta = history[-2][1] - history[-3][1]
    if delta == 0.0 or prev_delta == 0.0 or np.sign(delta) != np.sign(prev_delta):
        return error, None
    p = math.log(abs(prev_delta / delta)) / math.log(k / (k - 1.0)) - 1.0
    p = min(max(p, 2.0), 8.0)
    return error, value + remainder(delta, k, p)


@dataclasses.dataclass(frozen=True, repr=False)
class ParisiResult:
    """The k-step RSB solution of the SK model at one (β, h), from :func:`parisi`.

    Densities: ``free_entropy_density`` φ_k = min P (an upper bound on the
    exact φ, decreasing with k), ``free_energy_density`` f_k = −φ_k/β (a lower
    bound on f), ``energy_density`` u = −dφ_k/dβ (envelope theorem: ∂P/∂β at
    the minimum), ``entropy_density`` φ + βu, ``magnetization_density`` m.
    ``q``: the order parameter (:class:`ParisiOrderParameter`), ``q_max`` = q_EA
    (its plateau), ``q_min`` = q(0). ``history``: ((k, f_k), …) for
    k = 0 (RS), 1, …, ``truncation_error``: the estimated |f − f_k| from the
    k-dependence, ``extrapolated_free_energy_density`` (k → ∞; None with
    fewer than three steps). ``diagnostics``: optimiser information.
    """

    beta: float
    h: float
    k: int
    free_entropy_density: float
    free_energy_density: float
    energy_density: float
    entropy_density: float
    magnetization_density: float
    q: ParisiOrderParameter
    history: tuple
    truncation_error: float | None
    extrapolated_free_energy_density: float | None
    diagnostics: Mapping[str, Any]

    @property
    def q_max(self) -> float:
        """The Edwards–Anderson parameter q_EA = q(1) (the plateau of q(x))."""
        return float(self.q.values[-1])

    @property
    def q_min(self) -> float:
        """q(0), the smallest overlap (0 at h = 0 in the full-RSB limit)."""
        return float(self.q.values[0])

    def thermo(self) -> Thermo:
        """A Thermo of densities (method ``"parisi"``) at this β, ``meta`` holding q and k."""
        meta = {"h": self.h, "k": self.k, "q_values": self.q.values, "q_breakpoints": self.q.breakpoints,
                "q_max": self.q_max, "truncation_error": self.truncation_error,
                "critical_beta": CRITICAL_BETA}
        return Thermo.from_densities(np.array([self.beta]), "parisi", [self.free_entropy_density],
                                     energy_density=[self.energy_density],
                                     magnetization_density=[self.magnetization_density],
                                     scalar=True, meta=meta)

    def __repr__(self) -> str:
        err = "" if self.truncation_error is None else f" ± {self.truncation_error:.1g} (k-truncation)"
        return (f"ParisiResult(beta={self.beta}, h={self.h}, k={self.k}, "
                f"free_energy_density={self.free_energy_density:.10f}{err}, q_max={self.q_max:.6f})")


@dataclasses.dataclass(frozen=True, repr=False)
class ParisiGroundState:
    """The k-step zero-temperature Parisi solution, from :func:`parisi_ground_state`.

    ``energy_density`` e_k = −min P₀ (a lower bound on the SK ground-state energy
    density, increasing with k); ``q``: q(μ) with μ = x/T (q_K = 1);
    ``history``: ((k, e_k), …); ``truncation_error``, ``extrapolated_energy_density``
    as in :class:`ParisiResult`.
    """

    h: float
    k: int
    energy_density: float
    q: ParisiOrderParameter
    history: tuple
    truncation_error: float | None
    extrapolated_energy_density: float | None
    diagnostics: Mapping[str, Any]

    def __float__(self) -> float:
        return float(self.energy_density)

    def __repr__(self) -> str:
        err = "" if self.truncation_error is None else f" ± {self.truncation_error:.1g} (k-truncation)"
        return f"ParisiGroundState(h={self.h}, k={self.k}, energy_density={self.energy_density:.10f}{err})"


#: Largest β accepted by :func:`parisi` (the y-grid and the Gaussian nodes grow with β);
#: for lower temperatures use :func:`parisi_ground_state` (T = 0).
PARISI_MAX_BETA = 20.0


def _check_steps(k, tol, k_max):
    if k is not None:
        k = check_positive_int(k, "k", 0)
    tol = check_finite_real(tol, "tol")
    if tol <= 0.0:
        raise ValueError(f"tol must be > 0 (a free-energy accuracy such as 1e-6), got {tol}")
    k_max = check_positive_int(k_max, "k_max", 1)
    return k, tol, k_max


def parisi(beta, h=0.0, *, k=None, tol=1e-6, k_max=30) -> ParisiResult:
    """The Parisi (full-RSB) solution of the SK model at one β: k-step RSB with growing k.

    For k = 0 (RS), 1, 2, … the Parisi functional P(q, m) (see the module source:
    the recursive Gaussian-convolution form of Guerra 2003 / Talagrand 2006,
    φ = inf P) is minimised over the 2k + 1 numbers 0 ≤ q_1 ≤ … ≤ q_{k+1} < 1,
    0 ≤ m_1 ≤ … ≤ m_k ≤ 1 (L-BFGS-B with adjoint gradients), each k started
    from the (k−1)-step solution. The minima decrease with k
    (f_RS ≤ f_1RSB ≤ … ≤ f, each a rigorous lower bound on f) and converge
    like k^{−4}. Growth stops at ``k`` if given, otherwise when the estimated
    truncation error |f − f_k| ≤ ``tol`` or at ``k_max``.
    The numerical error of each P is ~1e−10 (grid and quadrature, checked by
    refinement).

    At h = 0 and β ≤ 1 the solution is the paramagnet: q ≡ 0, f = −(ln 2 + β²/4)/β.
    In a field above the AT line it is RS; below it, q(0) > 0.
    Values and costs at h = 0, T = 0.5: docs/guides/disorder.md.
    ``beta``: one value in [0, 20]; ``h``: the uniform field. For k ≤ 3 in a
    field several starting points are tried (the few-step landscape has several
    minima), which makes those steps a few times slower.
    """
    betas, scalar = as_beta_array(beta)
    if not scalar:
        raise ValueError("parisi takes one beta (it returns one solution); for a grid use "
                         "[sm.theory.parisi(b) for b in betas]")
    beta = float(betas[0])
    if beta > PARISI_MAX_BETA:
        raise ValueError(
            f"parisi supports beta <= {PARISI_MAX_BETA} (T >= {1 / PARISI_MAX_BETA}); got beta = {beta}. "
            "For the T -> 0 limit use sm.theory.parisi_ground_state()")
    h = check_finite_real(h, "h")
    k, tol, k_max = _check_steps(k, tol, k_max)
    started = time.perf_counter()
    functional = _ParisiFunctional(beta, h)
    q_rs = _rs_overlap(beta, h)[0]
    q, m = np.array([q_rs]), np.zeros(0)
    value = functional.value_and_grad(q, m)[0]
    history = [(0, float(-value / beta) if beta > 0 else -math.inf)]
    infos = []
    first_breakpoint = min(0.5, 1.0 / beta) if beta > 0 else 0.5
    target = k if k is not None else k_max
    if beta == 0.0:
        target = 0  # φ = ln 2 exactly: every q(x) gives the same P
    current = 0
    while current < target:
        current += 1
        value, q, m, info = _solve_k(functional, (value, q, m), current, first_breakpoint)
        infos.append({"k": current, **info})
        history.append((current, float(-value / beta)))
        error = _truncation(history)[0]
        if k is None and current >= 2 and error <= tol:
            break
    error, extrapolated = _truncation(history)
    d_beta = functional.beta_derivative(q, m) if beta > 0.0 else 0.0
    magnetization = functional.last["d_field"] if beta > 0.0 else 0.0
    energy = -d_beta
    free_energy = -value / beta if beta > 0 else -math.inf
    diagnostics = {"steps": tuple(infos), "seconds": time.perf_counter() - started,
                   "grid_points": functional.grid.n + 1,
                   "energy_from_q": -0.5 * beta * (1.0 - ParisiOrderParameter(q, m).integral_of_square())
                   - h * magnetization}
    return ParisiResult(beta=beta, h=h, k=current, free_entropy_density=float(value),
                        free_energy_density=float(free_energy), energy_density=float(energy),
                        entropy_density=float(value + beta * energy),
                        magnetization_density=float(magnetization),
                        q=ParisiOrderParameter(q.copy(), m.copy()), history=tuple(history),
                        truncation_error=error, extrapolated_free_energy_density=extrapolated,
                        diagnostics=diagnostics)


def parisi_ground_state(h=0.0, *, k=None, tol=1e-4, k_max=30) -> ParisiGroundState:
    """The SK ground-state energy density from the zero-temperature Parisi formula, k-RSB with growing k.

    As T → 0 the Parisi breakpoints scale as m_l = μ_l T and the top overlap
    as 1 − q_K = O(T); with y = βu the recursion becomes (Auffinger & Chen 2017)
    e₀ = −inf over (q, μ) of [Ψ_0(h) − ¼ Σ_l μ_l (q_{l+1}² − q_l²)], Ψ_K(u) = |u|,
    Ψ_l(u) = (1/μ_l) ln E_z exp(μ_l Ψ_{l+1}(u + √(q_{l+1} − q_l) z)), q_K = 1,
    minimised here for k = 1, 2, … (each e_k a lower bound on e₀). Reference
    values: e_RS = −√(2/π) = −0.79788, e_1 ≈ −0.7652 (Parisi 1979),
    e₀ = −0.7631667 (Crisanti & Rizzo, PRE 65, 046137 (2002)); the values of
    each k and their costs: docs/guides/disorder.md.
    Stops at ``k``, or when the truncation estimate ≤ ``tol``, or at ``k_max``.
    """
    h = check_finite_real(h, "h")
    k, tol, k_max = _check_steps(k, tol, k_max)
    if k == 0:
        raise ValueError("the zero-temperature solver starts at k = 1 (k = 0 is RS: e = -E|h + z|)")
    started = time.perf_counter()
    functional = _ParisiFunctional(None, h)
    # RS at T = 0: e = −E_z |h + z| = −[h (2Φ(h) − 1) + 2φ(h)]
    e_rs = -(abs(h) * (2.0 * special.ndtr(abs(h)) - 1.0) + 2.0 * _INV_SQRT_2PI * math.exp(-0.5 * h * h))
    history = [(0, float(e_rs))]
    value, q, m, info = _minimise(functional, np.array([0.5, 1.0]), np.array([1.4]))
    infos = [{"k": 1, **info}]
    history.append((1, float(-value)))
    target = k if k is not None else k_max
    current = 1
    while current < target and not (k is None and current >= 2 and _truncation(history)[0] <= tol):
        current += 1
        value, q, m, info = _solve_k(functional, (value, q, m), current, 1.0)
        infos.append({"k": current, **info})
        history.append((current, float(-value)))
    error, extrapolated = _truncation(history)
    diagnostics = {"steps": tuple(infos), "seconds": time.perf_counter() - started,
                   "grid_points": functional.grid.n + 1}
    return ParisiGroundState(h=h, k=current, energy_density=float(-value),
                             q=ParisiOrderParameter(q.copy(), m.copy()), history=tuple(history),
                             truncation_error=error,
                             extrapolated_energy_density=None if extrapolated is None else float(extrapolated),
                             diagnostics=diagnostics)


def sk_ground_state_energy(h=0.0, *, k=None, tol=1e-4, k_max=30) -> float:
    """The SK ground-state energy density e₀ (J = 1) from the T = 0 Parisi solver (a float).

    ``parisi_ground_state(h, k=k, tol=tol, k_max=k_max).energy_density``:
    computed, not stored; with the defaults e₀ = −0.763229 (k = 4, a lower bound
    6e−5 below the value −0.7631667 of Crisanti & Rizzo 2002; ``tol=1e-6`` or
    ``k=12`` get within 2e−6). Use
    :func:`parisi_ground_state` for the order parameter and convergence history.
    """
    return parisi_ground_state(h, k=k, tol=tol, k_max=k_max).energy_density


# ======================================================================= figures
def plot_sk_phase_diagram(ax=None, temperatures=None):
    """The SK (T, h) phase diagram: the de Almeida–Thouless line h_AT(T) (J = 1).

    Below the line (small |h|, T < 1) replica symmetry is broken; above it the
    RS solution is exact. Returns the matplotlib Axes.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 3.5), layout="constrained")
    temps = np.linspace(0.08, 0.995, 60) if temperatures is None else np.asarray(temperatures, float)
    fields = at_line(temps)
    ax.plot(temps, fields, color="C3", label="AT line $h_{AT}(T)$")
    ax.fill_between(temps, 0.0, fields, color="C3", alpha=0.15, label="RSB (spin glass)")
    ax.set_xlim(0.0, 1.3)
    ax.set_ylim(0.0, float(np.max(fields)) * 1.05)
    ax.axvline(1.0, color="0.5", lw=0.8, ls=":")
    ax.set_xlabel("temperature $T/J$")
    ax.set_ylabel("field $h/J$")
    ax.set_title("SK model: de Almeida–Thouless line")
    ax.legend(frameon=False)
    return ax


def plot_parisi_q(result, ax=None):
    """Step plot of the Parisi order parameter q(x) of a :class:`ParisiResult` (or ground state)."""
    import matplotlib.pyplot as plt

    if not isinstance(result, (ParisiResult, ParisiGroundState)):
        raise TypeError(f"plot_parisi_q needs a ParisiResult or ParisiGroundState, got {type(result).__name__}")
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 3.5), layout="constrained")
    order = result.q
    zero_t = isinstance(result, ParisiGroundState)
    last = (2.0 * order.breakpoints[-1] if len(order.breakpoints) else 1.0) if zero_t else 1.0
    edges = np.concatenate([[0.0], order.breakpoints, [last]])
    ax.stairs(order.values, edges, baseline=None, color="C0", lw=1.5, label=f"k = {result.k}")
    ax.set_xlabel(r"$\mu = x/T$" if zero_t else "$x$")
    ax.set_ylabel("$q(x)$")
    title = "T = 0" if zero_t else f"T = {1.0 / result.beta:.3g}" if result.beta > 0 else "T = inf"
    ax.set_title(f"Parisi order parameter, {title}")
    ax.legend(frameon=False)
    return ax
