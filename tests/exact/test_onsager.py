"""Onsager's infinite square lattice and the infinite chain against independent references."""
import numpy as np
import pytest
from scipy import integrate

import statmech as sm
from statmech.exact._onsager import spontaneous_magnetization

BETA_C = 0.5 * np.log(1 + np.sqrt(2))
CATALAN = 0.915965594177219015054603514932


def richardson(f, x, h):
    """Central difference with one Richardson step: error O(h⁴)."""
    d = lambda step: (f(x + step) - f(x - step)) / (2 * step)
    return (4 * d(h / 2) - d(h)) / 3


# ------------------------------------------------------------------- Onsager
def test_critical_constants():
    assert sm.CRITICAL_BETA == pytest.approx(0.44068679350977151, rel=1e-15)
    assert sm.CRITICAL_TEMPERATURE == pytest.approx(2.2691853142130216, rel=1e-15)
    assert np.sinh(2 * sm.CRITICAL_BETA) == pytest.approx(1.0, rel=1e-15)


def test_values_at_the_critical_point():
    th = sm.onsager(BETA_C)
    # −βf(β_c) = 2G/π + ½ ln 2 (G: Catalan's constant)
    assert float(th.free_entropy_density) == pytest.approx(
        2 * CATALAN / np.pi + 0.5 * np.log(2), abs=1e-14)
    assert float(th.energy_density) == pytest.approx(-np.sqrt(2), rel=1e-15)
    assert float(th.specific_heat_density) == np.inf
    assert float(th.abs_magnetization_density) == 0.0
    assert th.magnetization_density is None


@pytest.mark.parametrize("beta", [0.05, 0.3, 0.42, 0.46, 0.8, 1.5])
def test_free_entropy_matches_onsager_double_integral(beta):
    # −βf = ln 2 + (1/2π²) ∫∫_0^π ln[cosh² 2K − sinh 2K (cos a + cos b)] da db
    K = beta
    integrand = lambda a, b: np.log(np.cosh(2 * K) ** 2 - np.sinh(2 * K) * (np.cos(a) + np.cos(b)))
    value, _ = integrate.dblquad(integrand, 0, np.pi, 0, np.pi, epsabs=1e-13, epsrel=1e-13)
    expected = np.log(2) + value / (2 * np.pi**2)
    assert float(sm.onsager(beta).free_entropy_density) == pytest.approx(expected, abs=1e-12)


def test_high_and_low_temperature_series():
    # high T (v = tanh K): −βf = ln 2 + 2 ln cosh K + v⁴ + 2v⁶ + 9/2 v⁸ + …
    beta = 0.05
    v = np.tanh(beta)
    series = np.log(2) + 2 * np.log(np.cosh(beta)) + v**4 + 2 * v**6
    assert float(sm.onsager(beta).free_entropy_density) == pytest.approx(series, abs=10 * v**8)
    # low T (x = e^{−2K}): −βf = 2K + x⁴ + 2x⁶ + 9/2 x⁸ + …
    beta = 2.0
    x = np.exp(-2 * beta)
    th = sm.onsager(beta)
    assert float(th.free_entropy_density) == pytest.approx(2 * beta + x**4 + 2 * x**6, abs=1e-13)
    # u = −2 + 8x⁴ + …, c = 64 K² x⁴ + …: relative accuracy survives at low T
    for beta in (3.0, 5.0, 10.0):
        x = np.exp(-2 * beta)
        th = sm.onsager(beta)
        assert float(th.energy_density) + 2 == pytest.approx(8 * x**4, rel=1e-3)
        assert float(th.specific_heat_density) == pytest.approx(64 * beta**2 * x**4, rel=1e-4)
    # β → 0: u ≈ −2βJ², c ≈ 2β²J²
    th = sm.onsager(1e-8)
    assert float(th.energy_density) == pytest.approx(-2e-8, rel=1e-12)
    assert float(th.specific_heat_density) == pytest.approx(2e-16, rel=1e-12)


@pytest.mark.parametrize("beta", [0.05, 0.2, 0.4, 0.48, 0.7, 1.5, 3.0])
def test_energy_and_heat_are_derivatives_of_free_entropy(beta):
    phi = lambda b: sm.onsager(b).free_entropy_density.value
    u = lambda b: sm.onsager(b).energy_density.value
    th = sm.onsager(beta)
    assert float(th.energy_density) == pytest.approx(-richardson(phi, beta, 1e-3), abs=1e-9)
    assert float(th.specific_heat_density) == pytest.approx(
        -(beta**2) * richardson(u, beta, 1e-3), abs=1e-8)


def test_specific_heat_diverges_logarithmically():
    # c ≈ −(8 K_c²/π) ln|1 − β/β_c| + const on either side of β_c
    amplitude = 8 * BETA_C**2 / np.pi
    for side in (-1, 1):
        near = float(sm.onsager(BETA_C * (1 + side * 1e-8)).specific_heat_density)
        far = float(sm.onsager(BETA_C * (1 + side * 1e-6)).specific_heat_density)
        assert near - far == pytest.approx(amplitude * np.log(100), rel=1e-4)


def test_spontaneous_magnetization():
    assert spontaneous_magnetization(1.0) == pytest.approx(0.99927575195706, rel=1e-12)
    assert spontaneous_magnetization(1.0) > 0.999
    betas = np.linspace(0, 2, 401)
    m = spontaneous_magnetization(betas)
    assert isinstance(m, np.ndarray) and isinstance(spontaneous_magnetization(0.5), float)
    np.testing.assert_array_equal(m[betas <= BETA_C], 0.0)
    assert np.all(np.diff(m[betas > BETA_C]) > 0)
    # M ≈ 2^{7/8} ... vanishes like (β − β_c)^{1/8}: ratio for a 2^8 smaller distance is 1/2
    ratio = spontaneous_magnetization(BETA_C * (1 + 2**-20)) / spontaneous_magnetization(
        BETA_C * (1 + 2**-12))
    assert ratio == pytest.approx(0.5, rel=1e-3)
    assert spontaneous_magnetization(1e6) == 1.0
    np.testing.assert_array_equal(sm.onsager(betas).abs_magnetization_density.value, m)


def test_extreme_temperatures():
    th = sm.onsager(np.array([0.0, 1e6]))
    np.testing.assert_allclose(th.free_entropy_density.value, [np.log(2), 2e6], rtol=1e-15)
    np.testing.assert_array_equal(th.energy_density.value, [0.0, -2.0])
    np.testing.assert_array_equal(th.specific_heat_density.value, [0.0, 0.0])
    np.testing.assert_array_equal(th.abs_magnetization_density.value, [0.0, 1.0])


def test_coupling_scaling_and_meta():
    J = 2.5
    th = sm.onsager(np.array([0.1, 0.3]), J=J)
    ref = sm.onsager(np.array([0.1, 0.3]) * J)
    np.testing.assert_allclose(th.free_entropy_density.value, ref.free_entropy_density.value,
                               rtol=1e-15)
    np.testing.assert_allclose(th.energy_density.value, J * ref.energy_density.value, rtol=1e-14)
    np.testing.assert_allclose(th.specific_heat_density.value, ref.specific_heat_density.value,
                               rtol=1e-14)
    assert th.meta["critical_beta"] == pytest.approx(BETA_C / J, rel=1e-15)
    assert th.meta["critical_temperature"] == pytest.approx(J / BETA_C, rel=1e-15)
    assert th.n_sites is None


def test_scalar_and_array_beta():
    th = sm.onsager(0.3)
    assert np.ndim(th.free_entropy_density.value) == 0 and np.ndim(th.beta) == 0
    th = sm.onsager([0.3, 0.5])
    assert th.free_entropy_density.value.shape == (2,)


@pytest.mark.parametrize("J", [0.0, -1.0])
def test_onsager_refuses_non_ferromagnets(J):
    with pytest.raises(ValueError, match=r"J > 0.*J=abs\(J\)"):
        sm.onsager(0.3, J=J)


def test_onsager_refuses_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        sm.onsager(np.nan)
    with pytest.raises(ValueError, match="finite"):
        sm.onsager(0.3, J=np.inf)
    with pytest.raises(TypeError, match="real number"):
        sm.onsager(0.3, J="1")
    with pytest.raises(ValueError, match=">= 0"):
        sm.onsager([0.1, -0.2])


# ------------------------------------------------------------- infinite chain
def finite_chain_free_entropy(beta, J, h, n):
    """ln(λ₊ⁿ + λ₋ⁿ)/n with the 2x2 transfer-matrix eigenvalues (moderate β only)."""
    K, H = beta * J, beta * h
    a = np.exp(K) * np.cosh(H)
    root = np.sqrt(np.exp(2 * K) * np.sinh(H) ** 2 + np.exp(-2 * K))
    plus, minus = a + root, a - root
    return np.log(plus) + np.log1p(np.sign(minus) * (abs(minus) / plus) ** n) / n


CHAIN_CASES = [(1.0, 0.0), (1.0, 0.3), (-0.7, 0.5), (0.5, -1.2), (0.0, 0.4), (-1.0, 0.0)]


@pytest.mark.parametrize("J, h", CHAIN_CASES)
@pytest.mark.parametrize("beta", [0.1, 0.5, 1.3])
def test_chain_is_the_limit_of_finite_chains(J, h, beta):
    th = sm.infinite_chain(beta, J=J, h=h)
    limit = finite_chain_free_entropy(beta, J, h, 10**5)
    assert float(th.free_entropy_density) == pytest.approx(limit, abs=1e-14)
    # and a short chain is visibly different (the check can fail)
    if J != 0:
        assert abs(finite_chain_free_entropy(beta, J, h, 4) - limit) > 1e-8


@pytest.mark.parametrize("J, h", CHAIN_CASES)
@pytest.mark.parametrize("beta", [0.1, 0.5, 1.3])
def test_chain_derivatives(J, h, beta):
    phi = lambda b, field=h: sm.infinite_chain(b, J=J, h=field).free_entropy_density.value
    u = lambda b: sm.infinite_chain(b, J=J, h=h).energy_density.value
    m = lambda field: sm.infinite_chain(beta, J=J, h=field).magnetization_density.value
    th = sm.infinite_chain(beta, J=J, h=h)
    assert float(th.energy_density) == pytest.approx(-richardson(phi, beta, 1e-3), abs=1e-10)
    assert float(th.specific_heat_density) == pytest.approx(
        -(beta**2) * richardson(u, beta, 1e-3), abs=1e-10)
    # m = (1/β) ∂φ/∂h, χ = ∂m/∂h
    assert float(th.magnetization_density) == pytest.approx(
        richardson(lambda field: phi(beta, field), h, 1e-3) / beta, abs=1e-10)
    assert float(th.susceptibility_density) == pytest.approx(richardson(m, h, 1e-3), rel=1e-8)


def test_chain_closed_forms_at_zero_field():
    beta, J = 0.7, 1.3
    K = beta * J
    th = sm.infinite_chain(beta, J=J)
    assert float(th.free_entropy_density) == pytest.approx(np.log(2 * np.cosh(K)), rel=1e-15)
    assert float(th.energy_density) == pytest.approx(-J * np.tanh(K), rel=1e-15)
    assert float(th.specific_heat_density) == pytest.approx((K / np.cosh(K)) ** 2, rel=1e-14)
    assert float(th.susceptibility_density) == pytest.approx(beta * np.exp(2 * K), rel=1e-14)
    assert float(th.magnetization_density) == 0.0
    assert sm.infinite_chain(1e-8, J=J).energy_density.value == pytest.approx(-J**2 * 1e-8,
                                                                               rel=1e-12)


def test_chain_extreme_temperatures():
    betas = np.array([0.0, 1e6])
    th = sm.infinite_chain(betas, J=1.0, h=0.5)   # ferromagnet in a field: all up
    np.testing.assert_allclose(th.free_entropy_density.value, [np.log(2), 1.5e6], rtol=1e-15)
    np.testing.assert_array_equal(th.energy_density.value, [0.0, -1.5])
    np.testing.assert_array_equal(th.magnetization_density.value, [0.0, 1.0])
    np.testing.assert_array_equal(th.specific_heat_density.value, [0.0, 0.0])
    th = sm.infinite_chain(betas, J=-1.0, h=0.5)  # antiferromagnet, weak field: Néel order
    np.testing.assert_allclose(th.free_entropy_density.value, [np.log(2), 1e6], rtol=1e-15)
    np.testing.assert_array_equal(th.energy_density.value, [0.0, -1.0])
    np.testing.assert_array_equal(th.magnetization_density.value, [0.0, 0.0])
    th = sm.infinite_chain(1e6, J=-1.0, h=3.0)    # strong field wins: all up
    assert float(th.energy_density) == -2.0 and float(th.magnetization_density) == 1.0
    th = sm.infinite_chain(1e6, J=1.0)            # χ = β e^{2βJ} exceeds float64
    assert float(th.free_entropy_density) == 1e6 and float(th.susceptibility_density) == np.inf


def test_chain_refuses_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        sm.infinite_chain(np.nan)
    with pytest.raises(ValueError, match="finite"):
        sm.infinite_chain(0.3, h=np.nan)
    with pytest.raises(TypeError, match="real number"):
        sm.infinite_chain(0.3, J=[1.0])
