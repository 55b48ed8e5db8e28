"""Beale's exact density of states of the periodic square-lattice Ising model.

References are independent of the code under test: brute-force histograms over
all 2^N states written here with plain NumPy, counting arguments for the low
excitations, Onsager's closed form for the infinite lattice, and the other
exact methods (transfer matrices, Kaufman) where they overlap.
"""
import math

import numpy as np
import pytest
from scipy.integrate import quad

from statmech.exact._beale import DensityOfStates, density_of_states
from statmech.models import Ising
from statmech.thermo import available_methods, thermo


# ------------------------------------------------------------------ references
def brute_energies(Lx, Ly, J=1.0):
    """H(s) = −J Σ_<ij> s_i s_j of every state of the Lx × Ly torus (site (x, y) at y·Lx + x)."""
    n = Lx * Ly
    codes = np.arange(2**n, dtype=np.int64)
    spins = (1 - 2 * ((codes[:, None] >> np.arange(n)) & 1)).astype(np.int8)
    spins = spins.reshape(-1, Ly, Lx)
    bonds = (spins * np.roll(spins, -1, axis=2)).sum(axis=(1, 2), dtype=np.int64)
    bonds += (spins * np.roll(spins, -1, axis=1)).sum(axis=(1, 2), dtype=np.int64)
    return -J * bonds.astype(np.float64)


def brute_histogram(Lx, Ly, J=1.0):
    energies, counts = np.unique(brute_energies(Lx, Ly, J), return_counts=True)
    return dict(zip(energies.tolist(), [int(c) for c in counts]))


def brute_log_z(energies, beta):
    log_w = -beta * energies
    shift = log_w.max()
    return shift + math.log(np.exp(log_w - shift).sum())


def onsager_free_entropy_density(K):
    """−βf of the infinite square lattice (Onsager 1944), by quadrature."""
    k = 2 * np.sinh(2 * K) / np.cosh(2 * K) ** 2
    integral, _ = quad(lambda t: np.log(0.5 * (1 + np.sqrt(1 - k * k * np.sin(t) ** 2))),
                       0, np.pi, epsabs=1e-13, epsrel=1e-13, limit=200)
    return np.log(2 * np.cosh(2 * K)) + integral / (2 * np.pi)


def as_dict(dos):
    return dict(zip(dos.energies.tolist(), dos.degeneracies))


# ------------------------------------------------------------- exact counts
def test_brute_force_reference_uses_the_model_hamiltonian():
    rng = np.random.default_rng(0)
    model = Ising.square((4, 3), J=0.7)
    codes = rng.integers(0, 2**12, size=50)
    spins = 1 - 2 * ((codes[:, None] >> np.arange(12)) & 1)
    np.testing.assert_allclose(brute_energies(4, 3, J=0.7)[codes], model.energy(spins), atol=1e-12)


@pytest.mark.parametrize("shape", [(1, 1), (2, 2), (3, 3), (4, 4), (2, 3), (3, 2), (4, 3),
                                   (3, 5), (5, 4), (1, 4)])
def test_degeneracies_match_brute_force(shape):
    dos = density_of_states(Ising.square(shape))
    assert as_dict(dos) == brute_histogram(*shape)
    assert all(type(g) is int for g in dos.degeneracies)


def test_four_by_four_literature_counts():
    brute = brute_histogram(4, 4)
    expected = {-32: 2, -24: 32, -20: 64, -16: 424, -12: 1728, -8: 6688, -4: 13568, 0: 20524}
    for energy, count in expected.items():
        assert brute[energy] == count and brute[-energy] == count
    assert as_dict(density_of_states(Ising.square(4))) == brute


@pytest.mark.parametrize("L", [8, 16, 32])
def test_sum_symmetry_and_low_excitations(L):
    n = L * L
    dos = density_of_states(Ising.square(L))
    g = as_dict(dos)
    assert sum(dos.degeneracies) == 2**n
    assert dos.degeneracies == dos.degeneracies[::-1]                    # g(E) = g(−E), bipartite
    np.testing.assert_array_equal(dos.energies, -dos.energies[::-1])
    ground = -2.0 * n
    assert dos.energies[0] == ground and g[ground] == 2
    assert ground + 4 not in g                                           # no ΔE = 4 excitation
    assert g[ground + 8] == 2 * n                                        # one flipped spin
    assert g[ground + 12] == 4 * n                                       # a flipped bond pair
    # two separate spins, or a straight / bent trimer or a 2x2 plaquette (8 broken bonds)
    assert g[ground + 16] == 2 * (n * (n - 1) // 2 - 2 * n + 7 * n)
    assert np.all(np.diff(dos.energies) > 0)
    assert np.all(np.diff(dos.energies) % 4 == 0)


def test_odd_sizes_are_not_symmetric_but_still_sum_to_two_to_the_n():
    dos = density_of_states(Ising.square(5))
    assert sum(dos.degeneracies) == 2**25
    assert as_dict(dos).get(50.0, 0) == 0 and as_dict(dos)[-50.0] == 2   # frustrated top
    assert dos.degeneracies != dos.degeneracies[::-1]


# ------------------------------------------------------------------ couplings
def test_negative_coupling_even_size_is_mirrored():
    ferro = density_of_states(Ising.square(4, J=1.0))
    anti = density_of_states(Ising.square(4, J=-1.0))
    assert as_dict(anti) == brute_histogram(4, 4, J=-1.0)
    np.testing.assert_array_equal(anti.energies, ferro.energies)        # symmetric spectrum
    assert anti.degeneracies == ferro.degeneracies


def test_negative_coupling_odd_size_matches_brute_force():
    anti = density_of_states(Ising.square(3, J=-1.0))
    assert as_dict(anti) == brute_histogram(3, 3, J=-1.0)
    assert anti.energies[0] == -6.0 and anti.degeneracies[0] == brute_histogram(3, 3, -1.0)[-6.0]


def test_scaled_coupling():
    dos = density_of_states(Ising.square((3, 4), J=0.35))
    reference = brute_histogram(3, 4, J=0.35)
    np.testing.assert_allclose(dos.energies, sorted(reference), rtol=0, atol=1e-12)
    assert list(dos.degeneracies) == [reference[e] for e in sorted(reference)]


def test_zero_coupling_is_one_level():
    dos = density_of_states(Ising.square(3, J=0.0))
    assert dos.energies.tolist() == [0.0] and dos.degeneracies == (2**9,)
    assert dos.log_z(1.7) == pytest.approx(9 * math.log(2), abs=1e-14)


# ------------------------------------------------------------- thermodynamics
@pytest.mark.parametrize("shape,J", [((4, 4), 1.0), ((3, 3), 1.0), ((3, 3), -0.8), ((4, 3), 0.6)])
def test_log_z_energy_and_heat_match_brute_force(shape, J):
    energies = brute_energies(*shape, J=J)
    betas = np.array([0.0, 0.1, 0.4, 1.0, 3.0])
    dos = density_of_states(Ising.square(shape, J=J))
    result = dos.thermo(betas)
    for k, beta in enumerate(betas):
        log_w = -beta * energies
        p = np.exp(log_w - log_w.max())
        p /= p.sum()
        u = p @ energies
        var = p @ (energies - u) ** 2
        assert result.log_z.value[k] == pytest.approx(brute_log_z(energies, beta), abs=1e-12)
        assert dos.log_z(beta) == pytest.approx(brute_log_z(energies, beta), abs=1e-12)
        assert result.energy.value[k] == pytest.approx(u, abs=1e-11)
        assert result.specific_heat.value[k] == pytest.approx(beta**2 * var, abs=1e-10)
    assert result.magnetization is None


def test_beta_limits_are_finite():
    n = 36
    dos = density_of_states(Ising.square(6))
    assert dos.log_z(0.0) == pytest.approx(n * math.log(2), rel=1e-15)
    big = 1e6
    value = dos.log_z(big)
    assert np.isfinite(value)
    assert value == pytest.approx(-big * (-2.0 * n) + math.log(2), rel=1e-15)
    t = dos.thermo(np.array([0.0, big]))
    assert np.all(np.isfinite(t.log_z.value)) and np.all(np.isfinite(t.specific_heat.value))
    assert t.energy.value[1] == pytest.approx(-2.0 * n, abs=1e-9)
    assert t.energy.value[0] == pytest.approx(0.0, abs=1e-12)


def test_log_z_accepts_scalar_and_grid():
    dos = density_of_states(Ising.square(4))
    grid = dos.log_z([0.1, 0.2])
    assert isinstance(dos.log_z(0.1), float) and grid.shape == (2,)
    assert grid[0] == dos.log_z(0.1)


def test_probabilities_sum_to_one_and_match_brute_force():
    energies = brute_energies(4, 4)
    dos = density_of_states(Ising.square(4))
    for beta in (0.0, 0.3, 1e6):
        p = dos.probabilities(beta)
        assert p.sum() == pytest.approx(1.0, abs=1e-14)
        log_w = -beta * energies
        w = np.exp(log_w - log_w.max())
        expected = [w[energies == e].sum() / w.sum() for e in dos.energies]
        np.testing.assert_allclose(p, expected, rtol=1e-12, atol=1e-300)
    assert dos.probabilities(1e6)[0] == pytest.approx(1.0)


@pytest.mark.parametrize("beta", [0.2, 0.3])
def test_high_temperature_matches_onsager_at_L32(beta):
    dos = density_of_states(Ising.square(32))
    assert dos.log_z(beta) / 1024 == pytest.approx(onsager_free_entropy_density(beta), abs=1e-10)


@pytest.mark.parametrize("beta", [0.6, 0.8])
def test_low_temperature_matches_onsager_plus_two_ground_states_at_L32(beta):
    # Below T_c the torus sums over both ordered phases: log Z ≈ N(−βf) + ln 2.
    dos = density_of_states(Ising.square(32))
    value = (dos.log_z(beta) - math.log(2)) / 1024
    assert value == pytest.approx(onsager_free_entropy_density(beta), abs=1e-10)


# ------------------------------------------------------------ front doors
def test_registered_method_matches_dos():
    model = Ising.square(5, J=1.3)
    betas = np.array([0.05, 0.3, 0.9])
    direct = density_of_states(model).thermo(betas)
    via_front_door = thermo(model, betas, method="beale")
    np.testing.assert_array_equal(via_front_door.log_z.value, direct.log_z.value)
    np.testing.assert_array_equal(via_front_door.specific_heat.value, direct.specific_heat.value)
    assert via_front_door.method == "beale"
    assert "beale" in available_methods(model)


@pytest.mark.parametrize("shape", [(10, 6), (6, 10)])
def test_agrees_with_transfer_matrix(shape):
    if "transfer" not in available_methods(Ising.square(shape)):
        pytest.skip("the transfer-matrix method does not apply here")
    model = Ising.square(shape, J=0.8)
    betas = np.array([0.0, 0.2, 0.44, 0.7, 2.0])
    a = thermo(model, betas, method="beale")
    b = thermo(model, betas, method="transfer")
    np.testing.assert_allclose(a.log_z.value, b.log_z.value, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(a.energy.value, b.energy.value, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(a.specific_heat.value, b.specific_heat.value, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("L", [8, 16])
def test_agrees_with_kaufman(L):
    model = Ising.square(L)
    if "kaufman" not in available_methods(model):
        pytest.skip("the 'kaufman' method is not available")
    betas = np.array([0.0, 0.2, 0.4406868, 0.6, 1.5])
    a = thermo(model, betas, method="beale")
    b = thermo(model, betas, method="kaufman")
    np.testing.assert_allclose(a.log_z.value, b.log_z.value, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(a.energy.value, b.energy.value, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(a.specific_heat.value, b.specific_heat.value, rtol=1e-10, atol=1e-10)


# ------------------------------------------------------------------- errors
def test_open_boundaries_are_refused():
    with pytest.raises(ValueError, match="periodic square lattice.*method='transfer'"):
        density_of_states(Ising.square(4, periodic=False))
    with pytest.raises(ValueError, match="method 'beale' does not apply.*periodic"):
        thermo(Ising.square(4, periodic=False), 0.3, method="beale")


def test_field_is_refused():
    with pytest.raises(ValueError, match="h = 0.*method='enumerate'"):
        density_of_states(Ising.square(4, h=0.1))


def test_non_uniform_coupling_is_refused():
    rng = np.random.default_rng(1)
    Jh, Jv = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
    with pytest.raises(ValueError, match="uniform coupling"):
        density_of_states(Ising.square(4, J=(Jh, Jv)))


def test_other_lattices_and_types_are_refused():
    with pytest.raises(ValueError, match="periodic square lattice"):
        density_of_states(Ising.chain(6))
    with pytest.raises(TypeError, match="needs an Ising model"):
        density_of_states("4x4")
    with pytest.raises(ValueError, match="takes no options"):
        thermo(Ising.square(4), 0.3, method="beale", chunk_size=3)


def test_bad_beta_is_refused():
    dos = density_of_states(Ising.square(3))
    with pytest.raises(ValueError, match=">= 0"):
        dos.log_z(-1.0)
    with pytest.raises(ValueError, match="scalar beta"):
        dos.probabilities([0.1, 0.2])


def test_object_is_frozen_and_has_a_repr():
    dos = density_of_states(Ising.square((6, 4)))
    assert isinstance(dos, DensityOfStates)
    assert dos.n_sites == 24 and dos.shape == (6, 4)
    assert "6x4" in repr(dos) and "levels" in repr(dos)
    with pytest.raises(Exception):
        dos.coupling = 2.0
    with pytest.raises(ValueError):
        dos.energies[0] = 0.0
