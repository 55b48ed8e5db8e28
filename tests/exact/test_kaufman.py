"""Kaufman's finite-lattice solution against brute force, derivatives and Onsager."""
import numpy as np
import pytest

import statmech as sm
from statmech.exact._kaufman import kaufman_moments

BETA_C = 0.5 * np.log(1 + np.sqrt(2))
BETAS = np.array([0.0, 0.1, BETA_C, 0.7, 2.0])


def brute_force(Lx, Ly, Jh, Jv, betas):
    """log Z, U, Var(H) by summing all 2^N states of the periodic Lx x Ly lattice."""
    n = Lx * Ly
    bits = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
    s = (1 - 2 * bits).reshape(-1, Ly, Lx).astype(float)  # s[state, y, x]
    energy = (-Jh * np.sum(s * np.roll(s, -1, axis=2), axis=(1, 2))
              - Jv * np.sum(s * np.roll(s, -1, axis=1), axis=(1, 2)))
    out = []
    for beta in betas:
        log_w = -beta * energy
        shift = log_w.max()
        w = np.exp(log_w - shift)
        p = w / w.sum()
        mean = p @ energy
        out.append((shift + np.log(w.sum()), mean, p @ (energy - mean) ** 2))
    return np.array(out).T


def square(Lx, Ly, Jh, Jv):
    if Jh == Jv:
        return sm.Ising.square((Lx, Ly), J=Jh)
    return sm.Ising.square((Lx, Ly), J=(np.full((Ly, Lx), Jh), np.full((Ly, Lx), Jv)))


@pytest.mark.parametrize("Lx, Ly, Jh, Jv", [
    (2, 2, 1.0, 1.0), (2, 3, 1.0, 1.0), (3, 2, 1.0, 1.0), (3, 3, 1.0, 1.0), (4, 4, 1.0, 1.0),
    (3, 3, 0.5, 0.5), (4, 4, -1.0, -1.0), (2, 4, -1.0, -1.0), (4, 2, -0.5, -0.5),
    (3, 4, 0.5, 1.3), (4, 3, 1.3, 0.5), (4, 2, -0.5, 0.7), (4, 3, 0.0, 1.0), (4, 3, 1.0, 0.0),
    (1, 3, 1.0, 1.0), (4, 1, 1.0, 1.0),
])
def test_matches_brute_force(Lx, Ly, Jh, Jv):
    log_z, energy, variance = brute_force(Lx, Ly, Jh, Jv, BETAS)
    th = sm.thermo(square(Lx, Ly, Jh, Jv), BETAS, method="kaufman")
    np.testing.assert_allclose(th.log_z.value, log_z, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(th.energy.value, energy, rtol=1e-11, atol=1e-10)
    np.testing.assert_allclose(th.specific_heat.value, BETAS**2 * variance, rtol=1e-10, atol=1e-10)
    assert th.magnetization is None and th.abs_magnetization_density is None


def test_variance_at_infinite_temperature():
    # β = 0: independent spins, Var(H) = Σ over distinct pairs of (Σ parallel J)²
    for (Lx, Ly), expected in [((5, 4), 2 * 20), ((2, 5), 2 * 10 + 10), ((3, 1), 3)]:
        moments = kaufman_moments(np.array([0.0]), Lx, Ly, 1.0, 1.0)
        assert moments.log_z[0] == pytest.approx(Lx * Ly * np.log(2), rel=1e-15)
        assert moments.energy[0] == pytest.approx(-(Lx * Ly if Ly == 1 else 0), abs=1e-14)
        assert moments.energy_variance[0] == pytest.approx(expected, rel=1e-13)


def test_zero_coupling():
    th = sm.thermo(sm.Ising.square((5, 3), J=0.0), [0.0, 1.0, 1e6], method="kaufman")
    np.testing.assert_allclose(th.log_z.value, 15 * np.log(2), rtol=1e-15)
    np.testing.assert_array_equal(th.energy.value, 0.0)
    np.testing.assert_array_equal(th.specific_heat.value, 0.0)


def richardson(f, x, h):
    """Central difference with one Richardson step: error O(h⁴)."""
    d = lambda step: (f(x + step) - f(x - step)) / (2 * step)
    return (4 * d(h / 2) - d(h)) / 3


@pytest.mark.parametrize("L", [16, 64])
@pytest.mark.parametrize("beta", [0.2, BETA_C, 0.7])
def test_derivatives_match_numerical_differentiation(L, beta):
    model = sm.Ising.square(L)
    log_z = lambda b: sm.thermo(model, b, method="kaufman").log_z.value
    energy = lambda b: sm.thermo(model, b, method="kaufman").energy.value
    th = sm.thermo(model, beta, method="kaufman")
    h = 1e-4
    assert float(th.energy) == pytest.approx(-richardson(log_z, beta, h), rel=1e-9)
    variance = th.specific_heat.value / beta**2
    assert variance == pytest.approx(-richardson(energy, beta, h), rel=1e-8)


@pytest.mark.parametrize("shape", [(2, 2), (3, 5), (8, 8), (16, 6), (64, 64)])
def test_specific_heat_is_nonnegative(shape):
    betas = np.linspace(0.0, 4.0, 801)
    heat = sm.thermo(sm.Ising.square(shape), betas, method="kaufman").specific_heat.value
    assert np.all(heat >= 0)


def test_ground_state_at_huge_beta():
    beta = 1e6
    th = sm.thermo(sm.Ising.square(4), [beta, 50.0], method="kaufman")
    n = 16
    # log Z = −β E_ground + ln 2 (two ground states), E_ground = −2NJ
    assert th.log_z.value[0] - 2 * n * beta == pytest.approx(np.log(2), abs=1e-8)
    assert th.log_z.value[1] - 2 * n * 50.0 == pytest.approx(np.log(2), abs=1e-12)
    np.testing.assert_allclose(th.energy.value, -2 * n, rtol=1e-15)
    np.testing.assert_allclose(th.specific_heat.value, 0.0, atol=1e-20)
    th = sm.thermo(sm.Ising.square((6, 4), J=-0.5), beta, method="kaufman")  # gauged antiferromagnet
    assert float(th.log_z) - 24 * beta == pytest.approx(np.log(2), abs=1e-8)


def test_large_lattice_is_finite_everywhere():
    betas = np.array([0.0, 1e-12, 0.3, BETA_C, 0.6, 50.0, 1e6])
    moments = kaufman_moments(betas, 1024, 1024, 1.0, 1.0)
    n = 1024**2
    for array in (moments.log_z, moments.energy, moments.energy_variance):
        assert np.all(np.isfinite(array))
    assert moments.log_z[0] == pytest.approx(n * np.log(2), rel=1e-13)
    # energy accurate to ~1e-16 N |J|: U/N = −2β J² at tiny β
    assert moments.energy[1] / n == pytest.approx(-2e-12, abs=1e-14)
    assert moments.energy[-1] / n == pytest.approx(-2.0, rel=1e-15)


@pytest.mark.parametrize("beta", [0.1, 0.3, 0.4, 0.5, 0.6, 1.0])
def test_converges_to_onsager(beta):
    L = 256
    n = L * L
    th = sm.thermo(sm.Ising.square(L), beta, method="kaufman")
    exact = sm.onsager(beta)
    # below T_c the torus has two ordered states: log Z ≈ N φ + ln 2
    degeneracy = np.log(2) if beta > BETA_C else 0.0
    assert (float(th.log_z) - degeneracy) / n == pytest.approx(
        float(exact.free_entropy_density), abs=1e-12)
    assert float(th.energy_density) == pytest.approx(float(exact.energy_density), abs=1e-12)
    assert float(th.specific_heat_density) == pytest.approx(
        float(exact.specific_heat_density), abs=1e-10)


def test_finite_size_near_critical_point():
    # at β_c the torus differs from Onsager by O(1/L²) in φ and O(1/L) in u
    gaps = []
    for L in (32, 64, 128):
        th = sm.thermo(sm.Ising.square(L), BETA_C, method="kaufman")
        gaps.append(abs(float(th.energy_density) - (-np.sqrt(2))))
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[1] / gaps[2] == pytest.approx(2.0, rel=0.05)


def test_applies_and_is_listed():
    model = sm.Ising.square(6)
    assert "kaufman" in sm.available_methods(model)
    assert float(sm.log_z(model, 0.3, method="kaufman")) == pytest.approx(
        float(sm.thermo(model, 0.3, method="kaufman").log_z), rel=1e-15)


@pytest.mark.parametrize("model, message", [
    (sm.Ising.square(4, h=0.1), r"needs h = 0 \(this model has a field\); use method='transfer'"),
    (sm.Ising.square(4, periodic=False), "needs periodic boundaries"),
    (sm.Ising.square(3, J=(np.arange(9.0).reshape(3, 3), np.ones((3, 3)))),
     "needs uniform couplings"),
    (sm.Ising.chain(8), "needs a square lattice"),
    (sm.Ising.cubic(2), "needs a square lattice"),
    (sm.Ising.square(3, J=-1.0), "frustrated.*'transfer' or 'enumerate'"),
    (sm.Ising.square((4, 3), J=-1.0), "frustrated"),
])
def test_refuses_what_it_cannot_do(model, message):
    with pytest.raises(ValueError, match=message):
        sm.thermo(model, 0.5, method="kaufman")
    assert "kaufman" not in sm.available_methods(model)


def test_refuses_options_and_bad_beta():
    model = sm.Ising.square(4)
    with pytest.raises(ValueError, match="takes no options"):
        sm.thermo(model, 0.5, method="kaufman", chunk=3)
    with pytest.raises(ValueError, match="NaN"):
        sm.thermo(model, np.nan, method="kaufman")
    with pytest.raises(ValueError, match=">= 0"):
        sm.thermo(model, -1.0, method="kaufman")


def naive_uniform_couplings(model):
    """The check written out over the edge list: (Jh, Jv) when each direction has one value."""
    edges, couplings = np.asarray(model.edges), np.asarray(model.couplings)
    Lx, _ = model.lattice.shape
    horizontal = (edges[:, 1] - edges[:, 0]) % Lx == 1 % Lx
    horizontal &= edges[:, 0] // Lx == edges[:, 1] // Lx
    values = []
    for mask in (horizontal, ~horizontal):
        chosen = couplings[mask]
        if chosen.size == 0 or np.any(chosen != chosen[0]):
            return None
        values.append(float(chosen[0]))
    return tuple(values)


@pytest.mark.parametrize("make", [
    lambda: sm.Ising.square(6),
    lambda: sm.Ising.square((5, 4), J=(np.full((4, 5), 0.3), np.full((4, 5), 1.2))),
    lambda: sm.Ising.square(4, J=(np.ones((4, 4)), np.arange(16.0).reshape(4, 4))),
    lambda: sm.Ising.square(4, J=(np.arange(16.0).reshape(4, 4), np.ones((4, 4)))),
])
def test_coupling_check_agrees_with_the_edge_list(make):
    """The O(1)/cached coupling check equals a check over the explicit bonds."""
    from statmech.exact._kaufman import _couplings

    model = make()
    assert _couplings(model) == naive_uniform_couplings(model)
    assert _couplings(model) == naive_uniform_couplings(model)  # second call: the cached answer


def test_replaced_couplings_are_checked_again():
    """A model whose couplings are swapped (as disorder samples are) is not judged by a stale cache."""
    import equinox as eqx

    model = sm.Ising.square(4)
    assert "kaufman" in sm.available_methods(model)
    varied = np.ones(model.n_edges)
    varied[5] = 0.5
    other = eqx.tree_at(lambda m: m.couplings, model, varied)
    with pytest.raises(ValueError, match="needs uniform couplings"):
        sm.thermo(other, 0.5, method="kaufman")
    uniform = eqx.tree_at(lambda m: m.couplings, model, np.full(model.n_edges, 0.5))
    log_z, _, _ = brute_force(4, 4, 0.5, 0.5, [0.5])
    assert float(sm.log_z(uniform, 0.5, method="kaufman")) == pytest.approx(log_z[0], rel=1e-12)


def test_uniform_bond_arrays_equal_a_scalar_coupling():
    """J = (Jh, Jv) arrays with one value each give the same Thermo as scalar couplings."""
    arrays = sm.Ising.square((6, 4), J=(np.full((4, 6), 0.8), np.full((4, 6), 0.8)))
    scalar = sm.Ising.square((6, 4), J=0.8)
    a = sm.thermo(arrays, BETAS, method="kaufman")
    b = sm.thermo(scalar, BETAS, method="kaufman")
    np.testing.assert_array_equal(a.log_z.value, b.log_z.value)
    np.testing.assert_array_equal(a.specific_heat.value, b.specific_heat.value)
