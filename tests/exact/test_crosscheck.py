"""Every exact method against every other on the cases where they overlap (~1e-10)."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import statmech as sm

BETAS = np.array([0.0, 0.1, 0.3, sm.CRITICAL_BETA, 0.6, 1.5, 4.0])
SHARED = ("log_z", "energy", "specific_heat", "entropy", "free_energy_density")


def assert_thermo_close(a, b, names=SHARED, rtol=1e-10, atol=1e-10):
    for name in names:
        left, right = getattr(a, name), getattr(b, name)
        assert left is not None and right is not None, name
        np.testing.assert_allclose(left.value, right.value, rtol=rtol, atol=atol,
                                   err_msg=f"{name}: {a.method} vs {b.method}")


@pytest.mark.parametrize("shape, J", [(4, 1.0), (3, 1.0), ((4, 3), 0.7), ((2, 4), -0.5), (4, -1.0)])
def test_all_four_exact_methods_agree_on_small_tori(shape, J):
    model = sm.Ising.square(shape, J=J, periodic=True)
    reference = sm.thermo(model, BETAS, method="enumerate")
    for method in ("transfer", "kaufman", "beale"):
        assert_thermo_close(sm.thermo(model, BETAS, method=method), reference)


@pytest.mark.parametrize("L", [8, 16])
def test_kaufman_and_beale_agree_beyond_enumeration(L):
    model = sm.Ising.square(L)
    assert_thermo_close(sm.thermo(model, BETAS, method="kaufman"),
                        sm.thermo(model, BETAS, method="beale"), rtol=1e-9)


def test_kaufman_and_periodic_strip_transfer_agree_at_width_8():
    model = sm.Ising.square((12, 8), J=0.9)
    assert_thermo_close(sm.thermo(model, BETAS, method="kaufman"),
                        sm.thermo(model, BETAS, method="transfer"))


@pytest.mark.parametrize("periodic", [True, False])
def test_enumeration_and_transfer_agree_with_fields_and_bond_arrays(periodic):
    rng = np.random.default_rng(11)
    Lx, Ly = 5, 4
    Jh, Jv = rng.normal(size=(Ly, Lx)), rng.choice([-1.0, 1.0], size=(Ly, Lx))
    if not periodic:
        Jh[:, -1] = 0.0
        Jv[-1, :] = 0.0
    model = sm.Ising.square((Lx, Ly), J=(Jh, Jv), h=rng.normal(size=Lx * Ly) * 0.5, periodic=periodic)
    names = SHARED + ("magnetization", "susceptibility_density")
    assert_thermo_close(sm.thermo(model, BETAS, method="enumerate"),
                        sm.thermo(model, BETAS, method="transfer"), names=names)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(2, 14), seed=st.integers(0, 2**31), periodic=st.booleans(),
       beta=st.floats(0.0, 3.0))
def test_random_chains_enumeration_equals_transfer(n, seed, periodic, beta):
    rng = np.random.default_rng(seed)
    n_bonds = n if periodic else n - 1
    model = sm.Ising.chain(n, J=rng.normal(size=n_bonds), h=rng.normal(size=n), periodic=periodic)
    names = SHARED + ("magnetization", "susceptibility_density")
    assert_thermo_close(sm.thermo(model, beta, method="enumerate"),
                        sm.thermo(model, beta, method="transfer"), names=names)


def test_uniform_chain_converges_to_the_infinite_chain():
    beta, J, h = 0.8, 1.0, 0.2
    infinite = sm.infinite_chain(beta, J=J, h=h)
    finite = sm.thermo(sm.Ising.chain(100_000, J=J, h=h), beta, method="transfer")
    for name in ("free_entropy_density", "energy_density", "magnetization_density", "specific_heat_density"):
        assert getattr(finite, name).value == pytest.approx(getattr(infinite, name).value, rel=1e-9)


def test_kaufman_converges_to_onsager_as_L_grows():
    beta = 0.35
    exact = float(sm.onsager(beta).free_entropy_density)
    gaps = [abs(float(sm.thermo(sm.Ising.square(L), beta, method="kaufman").free_entropy_density) - exact)
            for L in (4, 8, 16, 32, 64)]
    assert all(later < earlier for earlier, later in zip(gaps, gaps[1:]))
    assert gaps[-1] < 1e-12  # above T_c finite-size corrections decay exponentially in L


def test_zero_and_huge_beta_are_finite_and_right():
    model = sm.Ising.square(4, J=1.0)
    for method in ("enumerate", "transfer", "kaufman", "beale"):
        t = sm.thermo(model, [0.0, 1e6], method=method)
        assert t.log_z.value[0] == pytest.approx(16 * math.log(2), rel=1e-14)
        # Ground states: all up and all down, E0 = -2N J.
        assert t.log_z.value[1] - 1e6 * 32 == pytest.approx(math.log(2), abs=1e-6)
        assert t.energy_density.value[1] == pytest.approx(-2.0, rel=1e-12)
        assert np.all(np.isfinite(t.specific_heat.value))


@pytest.mark.parametrize("model, expected", [
    (sm.Ising.chain(50, h=0.1), "transfer"),
    (sm.Ising.square(32), "kaufman"),
    (sm.Ising.square(6, h=0.2), "transfer"),
    (sm.Ising.from_couplings(np.ones((5, 5)) - np.eye(5)), "curie-weiss"),
    (sm.Ising.from_couplings(np.arange(25.0).reshape(5, 5) + np.arange(25.0).reshape(5, 5).T
                             - 2 * np.diag(np.diag(np.arange(25.0).reshape(5, 5)))), "enumerate"),
    (sm.Ising.cubic(2), "enumerate"),
])
def test_auto_picks_the_best_applicable_exact_method(model, expected):
    assert sm.thermo(model, 0.4).method == expected


def test_auto_without_an_exact_method_names_what_would_work():
    with pytest.raises(ValueError, match="no exact method applies.*enumerate: N = 512.*tensor-network: .*width"):
        sm.log_z(sm.Ising.cubic(8), 0.3)


@pytest.mark.parametrize("model, method, match", [
    (sm.Ising.square(8, h=0.1), "kaufman", "h = 0"),
    (sm.Ising.square(8, periodic=False), "kaufman", "periodic"),
    (sm.Ising.square(8, h=0.1), "beale", "h = 0|field"),
    (sm.Ising.chain(31), "enumerate", "30"),
    (sm.Ising.square(8, J=(np.ones((8, 8)), 2 * np.ones((8, 8))), h=0.0), "beale", "uniform"),
])
def test_inapplicable_methods_say_why_and_what_applies(model, method, match):
    with pytest.raises(ValueError, match=match) as error:
        sm.thermo(model, 0.4, method=method)
    assert "Methods that apply" in str(error.value)


def test_specific_heat_is_beta_squared_energy_variance_from_the_distribution():
    """C from the methods' moments vs β² Var(H) of the exact Boltzmann distribution."""
    model = sm.Ising.square(3, J=(np.eye(3) - 0.5, np.ones((3, 3))), h=0.3)
    beta = 0.7
    dist = sm.boltzmann(model, beta)
    energies, probabilities = dist.energies(), dist.probabilities()
    mean = probabilities @ energies
    variance = probabilities @ (energies - mean) ** 2
    for method in ("enumerate", "transfer"):
        t = sm.thermo(model, beta, method=method)
        assert float(t.specific_heat) == pytest.approx(beta**2 * variance, rel=1e-10)
        assert float(t.energy) == pytest.approx(mean, rel=1e-12)
