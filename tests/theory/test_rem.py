"""The random energy model (Derrida 1981): closed forms and a direct simulation at N = 20."""
import math

import numpy as np
import pytest
from scipy.special import logsumexp

import statmech as sm
import statmech.theory  # noqa: F401  (sm.theory)

LN2 = math.log(2.0)
BETA_C = 2 * math.sqrt(LN2)
EULER_GAMMA = 0.5772156649015329


def test_critical_point():
    assert sm.theory.REM_CRITICAL_BETA == pytest.approx(1.6651092223153954, rel=1e-15)
    assert sm.theory.REM_CRITICAL_TEMPERATURE * sm.theory.REM_CRITICAL_BETA == pytest.approx(1.0)
    # β_c is where the annealed entropy ln 2 − β²/4 vanishes
    assert LN2 - sm.theory.REM_CRITICAL_BETA**2 / 4 == pytest.approx(0.0, abs=1e-15)


def test_closed_forms_on_both_sides():
    betas = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 5.0, 1e6])
    th = sm.theory.rem(betas)
    high = betas <= BETA_C
    phi = np.where(high, LN2 + betas**2 / 4, betas * math.sqrt(LN2))
    np.testing.assert_allclose(th.free_entropy_density.value, phi, rtol=1e-15)
    np.testing.assert_allclose(th.energy_density.value, np.where(high, -betas / 2, -math.sqrt(LN2)),
                               rtol=1e-15)
    np.testing.assert_allclose(th.entropy_density.value, np.where(high, LN2 - betas**2 / 4, 0.0),
                               atol=1e-9)
    np.testing.assert_allclose(th.specific_heat_density.value, np.where(high, betas**2 / 2, 0.0),
                               rtol=1e-15)
    assert np.all(np.isfinite(th.free_energy_density.value[1:]))
    assert th.free_energy_density.value[-1] == pytest.approx(-math.sqrt(LN2), rel=1e-15)
    assert th.meta["critical_beta"] == sm.theory.REM_CRITICAL_BETA
    assert list(th.meta["frozen"]) == [False] * 4 + [True] * 3
    assert th.method == "rem" and th.n_sites is None


def test_continuity_at_the_transition():
    eps = 1e-9
    below, at, above = sm.theory.rem(np.array([BETA_C - eps, BETA_C, BETA_C + eps])).free_entropy_density.value
    assert below == pytest.approx(at, abs=2e-9) and above == pytest.approx(at, abs=2e-9)
    assert at == pytest.approx(2 * LN2, rel=1e-15)  # ln 2 + β_c²/4 = β_c √ln 2 = 2 ln 2
    energy = sm.theory.rem(np.array([BETA_C - eps, BETA_C + eps])).energy_density.value
    assert energy[0] == pytest.approx(energy[1], abs=1e-9)  # u is continuous, c jumps
    heat = sm.theory.rem(np.array([BETA_C, BETA_C + eps])).specific_heat_density.value
    assert heat[0] == pytest.approx(2 * LN2) and heat[1] == 0.0


def test_entropy_nonnegative_and_thermodynamic_consistency():
    betas = np.linspace(0.0, 4.0, 81)
    th = sm.theory.rem(betas)
    assert np.all(th.entropy_density.value >= -1e-12)
    # u = −dφ/dβ away from β_c (central differences)
    h = 1e-5
    ok = np.abs(betas - BETA_C) > 1e-3
    b = betas[ok & (betas > h)]
    du = -(sm.theory.rem(b + h).free_entropy_density.value - sm.theory.rem(b - h).free_entropy_density.value) / (2 * h)
    np.testing.assert_allclose(sm.theory.rem(b).energy_density.value, du, atol=1e-8)
    # φ ≤ annealed ln 2 + β²/4 everywhere (Jensen)
    assert np.all(th.free_entropy_density.value <= LN2 + betas**2 / 4 + 1e-15)


@pytest.fixture(scope="module")
def rem_samples():
    """20 independent REM instances, N = 20: 2^20 energies E ~ N(0, N/2) each."""
    n = 20
    rng = np.random.default_rng(20240611)
    return n, [math.sqrt(n / 2) * rng.standard_normal(2**n) for _ in range(20)]


@pytest.mark.parametrize("beta", [0.4, 0.8])
def test_simulation_high_temperature(rem_samples, beta):
    """ln Z/N of 20 samples against φ(β) for β < β_c/2.

    E[Z] = 2^N e^{β²N/4} exactly, so ln E[Z]/N = φ; the quenched mean is lower by
    ≈ Var(Z)/(2 N E[Z]²) with Var(Z)/E[Z]² = 2^{−N}(e^{β²N/2} − 1) (1e−5 at β = 0.4,
    3e−3 at β = 0.8): the theory must lie within mean ± 4 SE plus that bias.
    """
    n, samples = rem_samples
    log_z = np.array([logsumexp(-beta * energies) / n for energies in samples])
    se = log_z.std(ddof=1) / math.sqrt(len(log_z))
    relative_variance = 2.0**-n * math.expm1(beta**2 * n / 2)
    bias = relative_variance / (2 * n)
    theory = float(sm.theory.rem(beta).free_entropy_density)
    assert abs(log_z.mean() + bias - theory) < 4 * se + bias
    # and the spread is what the same variance predicts (a check of the check)
    assert log_z.std(ddof=1) == pytest.approx(math.sqrt(relative_variance) / n, rel=0.6)


def test_simulation_frozen_phase(rem_samples):
    """β = 3 > β_c: ln Z/N = −β E_min/N + (1/N) ln Σ_i e^{−β(E_i − E_min)}.

    Extreme-value theory for the minimum of M = 2^N Gaussians of variance N/2
    (a_M = √(2 ln M)) gives E[E_min]/N = −√ln 2 + (ln(4π N ln 2) − 2γ)/(4N√ln 2)
    + o(1/N) (γ: Euler's constant); the second term is the O(ln N / N)
    finite-size correction (+0.060 at N = 20). The excited states add
    0 ≤ (1/N) E ln(1 + Σ_{i≥2} e^{−βΔ_i}) ≤ β_c/((β − β_c) N) (their density
    near the bottom is β_c e^{β_c Δ}). So the theory φ = β√ln 2 must exceed
    the sample mean by the finite-size term, within 4 SE plus that range.
    """
    n, samples = rem_samples
    beta = 3.0
    log_z = np.array([logsumexp(-beta * energies) / n for energies in samples])
    se = log_z.std(ddof=1) / math.sqrt(len(log_z))
    theory = float(sm.theory.rem(beta).free_entropy_density)
    finite_size = beta * (math.log(4 * math.pi * n * LN2) - 2 * EULER_GAMMA) / (4 * n * math.sqrt(LN2))
    excited = BETA_C / ((beta - BETA_C) * n)
    low, high = theory - finite_size - 4 * se, theory - finite_size + excited + 4 * se
    assert low < log_z.mean() < high
    minima = np.array([energies.min() / n for energies in samples])
    assert abs(minima.mean() - (-math.sqrt(LN2) + finite_size / beta)) < 4 * minima.std(ddof=1) / math.sqrt(20) + 0.01


def test_bad_input():
    with pytest.raises(ValueError, match=">= 0"):
        sm.theory.rem(-0.1)
    with pytest.raises(TypeError, match="beta"):
        sm.theory.rem("1.0")
