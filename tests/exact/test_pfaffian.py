"""The "pfaffian" method for 2D Ising spin glasses against brute force, transfer matrices and Kaufman."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import statmech as sm
from statmech.testing import brute_force_moments
import statmech.exact._pfaffian  # noqa: F401  (registers "pfaffian")
from statmech.exact._matching import planar_ground_energy as ground_state_energy
from statmech.exact._pfaffian import _decoration, pfaffian_moments

BETA_C = 0.5 * np.log(1 + np.sqrt(2))
BETAS = np.array([0.0, 0.1, 0.5, 1.0, 3.0])


def couplings(rng, Lx, Ly, kind, periodic):
    """Random (Jh, Jv) of shape (Ly, Lx): ±1, Gaussian, or ±1 with some zero bonds."""
    if kind == "gauss":
        Jh, Jv = rng.normal(size=(2, Ly, Lx))
    else:
        Jh, Jv = rng.choice([-1.0, 1.0], size=(2, Ly, Lx))
        if kind == "diluted":
            Jh *= rng.random((Ly, Lx)) < 0.7
            Jv *= rng.random((Ly, Lx)) < 0.7
    if not periodic:
        Jh[:, -1] = 0.0
        Jv[-1, :] = 0.0
    return Jh, Jv


def spin_glass(rng, Lx, Ly, kind, periodic):
    return sm.Ising.square((Lx, Ly), J=couplings(rng, Lx, Ly, kind, periodic), periodic=periodic)


def brute_force(model, betas):
    """log Z, <H> and Var(H) summed over all 2^N states (statmech.testing's reference, N <= 16)."""
    moments = brute_force_moments(model, betas)
    return np.array([moments.log_z, moments.energy, moments.energy_variance])


# ------------------------------------------------------------------ geometry
def clockwise_parities(decoration):
    """For every bounded face of the drawn decorated graph: its number of clockwise edges mod 2."""
    position, tail, head = decoration.position, decoration.tail, decoration.head
    Lx, Ly, periodic = decoration.Lx, decoration.Ly, decoration.periodic

    def vector(u, v):
        d = position[v] - position[u]
        if periodic:  # nearest image on the torus
            d = d - np.array([Lx, Ly]) * np.round(d / np.array([Lx, Ly]))
        return d

    rotation = {}
    for u in range(decoration.n_nodes):
        darts = [(int(v), k) for k in range(len(tail)) for v in ((head[k],) if tail[k] == u else
                                                                 (tail[k],) if head[k] == u else ())]
        rotation[u] = sorted(darts, key=lambda dart: np.arctan2(*vector(u, dart[0])[::-1]))
    seen, parities = set(), []
    for u in rotation:
        for v, k in rotation[u]:
            if (u, v, k) in seen:
                continue
            walk, dart = [], (u, v, k)
            while dart not in seen:  # the face on the left of each dart
                seen.add(dart)
                walk.append(dart)
                a, b, edge = dart
                around = rotation[b]
                index = around.index((a, edge))
                nxt, nxt_edge = around[index - 1]
                dart = (b, nxt, nxt_edge)
            steps = np.array([vector(a, b) for a, b, _ in walk])
            corners = steps.cumsum(axis=0)[:-1]
            area = np.sum(corners[:, 0] * steps[1:, 1] - corners[:, 1] * steps[1:, 0])
            if area < 0:
                continue  # the unbounded face of the open lattice
            clockwise = sum(tail[edge] != a for a, _, edge in walk)  # traversed against its arrow
            parities.append(clockwise % 2)
    return parities


@pytest.mark.parametrize("Lx, Ly, periodic", [(2, 2, False), (3, 4, False), (5, 3, False),
                                              (2, 3, True), (3, 3, True), (4, 3, True)])
def test_orientation_is_kasteleyn(Lx, Ly, periodic):
    parities = clockwise_parities(_decoration(Lx, Ly, periodic))
    n_faces = 3 * Lx * Ly if periodic else None  # two triangles per city + one face per site
    if n_faces is not None:
        assert len(parities) == n_faces
    assert parities and all(p == 1 for p in parities)


# --------------------------------------------------------------- exactness
@pytest.mark.parametrize("Lx, Ly, periodic", [(3, 3, False), (4, 4, False), (3, 5, False),
                                              (5, 3, False), (2, 2, False), (3, 3, True),
                                              (4, 4, True), (3, 4, True), (2, 3, True)])
@pytest.mark.parametrize("kind", ["pm", "gauss", "diluted"])
def test_matches_brute_force(Lx, Ly, periodic, kind):
    rng = np.random.default_rng(100 * Lx + 10 * Ly + periodic + len(kind))
    model = spin_glass(rng, Lx, Ly, kind, periodic)
    log_z, energy, variance = brute_force(model, BETAS)
    got = pfaffian_moments(model, BETAS)
    np.testing.assert_allclose(got.log_z, log_z, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(got.energy, energy, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got.energy_variance, variance, rtol=1e-8, atol=1e-8)
    np.testing.assert_array_equal(got.magnetization, 0.0)
    # log Z alone (no β-derivatives: what sm.log_z computes), down to the asymptote at huge β
    # (open ±J only: it needs a gap and an exact E₀; Gaussian couplings are refused there)
    betas = BETAS if periodic or kind == "gauss" else np.append(BETAS, 1e6)
    alone = pfaffian_moments(model, betas, log_z_only=True)
    assert alone.energy is None and alone.energy_variance is None
    np.testing.assert_allclose(alone.log_z[:len(BETAS)], log_z, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(alone.log_z, pfaffian_moments(model, betas).log_z, rtol=1e-12, atol=1e-12)
    front_door = sm.log_z(model, betas, method="pfaffian")
    np.testing.assert_array_equal(front_door.value, alone.log_z)
    assert front_door.stderr is None and front_door.method == "pfaffian"


@pytest.mark.parametrize("periodic", [False, True])
@pytest.mark.parametrize("kind", ["pm", "gauss"])
def test_4x5_matches_enumeration(periodic, kind):
    model = spin_glass(np.random.default_rng(45 + periodic), 4, 5, kind, periodic)
    reference = sm.thermo(model, BETAS, method="enumerate")
    got = pfaffian_moments(model, BETAS)
    np.testing.assert_allclose(got.log_z, reference.log_z.value, rtol=1e-11)
    np.testing.assert_allclose(got.energy, reference.energy.value, rtol=1e-9, atol=1e-9)


def test_beta_zero_is_n_log_2():
    rng = np.random.default_rng(1)
    for periodic in (False, True):
        model = spin_glass(rng, 7, 5, "gauss", periodic)
        assert pfaffian_moments(model, [0.0]).log_z[0] == pytest.approx(35 * np.log(2), abs=1e-12)


@pytest.mark.parametrize("kind", ["pm", "gauss"])
@pytest.mark.parametrize("L, periodic", [(6, False), (8, False), (6, True), (8, True)])
def test_matches_transfer_matrix(L, periodic, kind):
    rng = np.random.default_rng(7 * L + periodic)
    model = spin_glass(rng, L, L, kind, periodic)
    betas = np.array([0.1, 0.5, 1.0, 3.0])
    reference = sm.thermo(model, betas, method="transfer")
    got = sm.thermo(model, betas, method="pfaffian")
    np.testing.assert_allclose(got.log_z.value, reference.log_z.value, rtol=1e-10)
    np.testing.assert_allclose(got.energy.value, reference.energy.value, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(got.specific_heat.value, reference.specific_heat.value,
                               rtol=1e-7, atol=1e-7)


def test_rectangular_open_strip_matches_transfer():
    rng = np.random.default_rng(3)
    model = spin_glass(rng, 6, 13, "gauss", periodic=False)
    betas = np.array([0.4, 2.0, 8.0])
    np.testing.assert_allclose(pfaffian_moments(model, betas).log_z,
                               sm.log_z(model, betas, method="transfer").value, rtol=1e-11)


@pytest.mark.parametrize("L", [16, pytest.param(32, marks=pytest.mark.slow)])
def test_uniform_torus_matches_kaufman(L):
    model = sm.Ising.square(L, J=1.0, periodic=True)
    betas = np.array([0.2, BETA_C, 0.6])
    reference = sm.thermo(model, betas, method="kaufman")
    got = sm.thermo(model, betas, method="pfaffian")
    np.testing.assert_allclose(got.log_z.value, reference.log_z.value, rtol=1e-11)
    np.testing.assert_allclose(got.energy.value, reference.energy.value, rtol=1e-9)
    np.testing.assert_allclose(got.specific_heat.value, reference.specific_heat.value, rtol=1e-7)


def test_low_temperature_open_spin_glass():
    """β = 10 on 8 x 8 ±J glasses: the transfer matrix's value, or a refusal naming the β."""
    rng = np.random.default_rng(5)
    for _ in range(3):
        model = spin_glass(rng, 8, 8, "pm", periodic=False)
        try:
            got = pfaffian_moments(model, [10.0]).log_z
        except FloatingPointError as error:
            assert "precision ends" in str(error) and "beta = 10" in str(error)
            continue
        np.testing.assert_allclose(got, sm.log_z(model, 10.0, method="transfer").value, rtol=1e-10)


@settings(max_examples=8, deadline=None)
@given(site=st.integers(0, 19), periodic=st.booleans(), seed=st.integers(0, 2**16))
def test_gauge_invariance(site, periodic, seed):
    """Flipping the sign of the four bonds of one spin (s_i -> -s_i) leaves Z unchanged."""
    Lx, Ly = 5, 4
    Jh, Jv = couplings(np.random.default_rng(seed), Lx, Ly, "gauss", periodic)
    y, x = divmod(site, Lx)
    flipped_h, flipped_v = Jh.copy(), Jv.copy()
    flipped_h[y, x] *= -1
    flipped_h[y, (x - 1) % Lx] *= -1
    flipped_v[y, x] *= -1
    flipped_v[(y - 1) % Ly, x] *= -1
    if not periodic:
        flipped_h[:, -1] = 0.0
        flipped_v[-1, :] = 0.0
    betas = np.array([0.3, 1.5])
    a = pfaffian_moments(sm.Ising.square((Lx, Ly), J=(Jh, Jv), periodic=periodic), betas)
    b = pfaffian_moments(sm.Ising.square((Lx, Ly), J=(flipped_h, flipped_v), periodic=periodic), betas)
    np.testing.assert_allclose(b.log_z, a.log_z, rtol=1e-12)
    np.testing.assert_allclose(b.energy, a.energy, rtol=1e-9, atol=1e-9)


# ------------------------------------------------------------ ground states
@pytest.mark.parametrize("seed", range(6))
def test_ground_state_energy_matches_enumeration(seed):
    rng = np.random.default_rng(seed)
    for Lx, Ly in [(4, 4), (5, 4), (3, 6), (2, 7)]:
        for kind in ("pm", "gauss", "diluted"):
            model = spin_glass(rng, Lx, Ly, kind, periodic=False)
            assert ground_state_energy(model) == pytest.approx(sm.ground_energy(model), abs=1e-10)


def test_ground_state_energy_of_chain_like_lattice():
    model = sm.Ising.square((6, 1), J=(np.array([[1.0, -2.0, 0.5, 3.0, -1.0, 0.0]]), np.zeros((1, 6))),
                            periodic=False)
    assert ground_state_energy(model) == pytest.approx(-7.5)


def test_huge_beta_continuous_couplings_is_refused():
    """No gap is known for Gaussian couplings, so no certified asymptote: a clear refusal."""
    model = spin_glass(np.random.default_rng(11), 4, 4, "gauss", periodic=False)
    with pytest.raises(FloatingPointError, match="precision ends"):
        pfaffian_moments(model, [1e6])


@pytest.mark.parametrize("kind", ["pm", "diluted"])
def test_huge_beta_gives_ground_state(kind):
    rng = np.random.default_rng(11)
    model = spin_glass(rng, 4, 4, kind, periodic=False)
    beta = 1e6
    got = pfaffian_moments(model, [beta])
    log_z, energy, variance = got.log_z[0], got.energy[0], got.energy_variance[0]
    spins = 1.0 - 2.0 * ((np.arange(2**16)[:, None] >> np.arange(16)) & 1)
    energies = model.energy(spins)
    ground = energies.min()
    degeneracy = np.sum(np.isclose(energies, ground, rtol=0, atol=1e-9))
    assert np.isfinite(log_z)
    assert energy == pytest.approx(ground, abs=1e-9) and variance == 0.0
    assert log_z / beta == pytest.approx(-ground, rel=1e-6)
    if kind in ("pm", "diluted"):  # the gap is 2|J|: the constant is log(degeneracy)
        assert log_z + beta * ground == pytest.approx(np.log(degeneracy), abs=1e-6)


def test_low_temperature_limit_approaches_ground_state():
    """F(β) = −log Z/β → E₀ (Pfaffian vs matching, two independent routes):
    2 e^{−βE₀} ≤ Z ≤ 2^N e^{−βE₀} gives E₀ − N log 2/β ≤ F ≤ E₀ − log 2/β."""
    model = spin_glass(np.random.default_rng(2), 6, 6, "gauss", periodic=False)
    ground = ground_state_energy(model)
    betas = np.array([2.0, 5.0, 10.0, 20.0, 35.0])
    free_energy = -pfaffian_moments(model, betas).log_z / betas
    assert np.all(free_energy <= ground - np.log(2) / betas + 1e-12)
    assert np.all(free_energy >= ground - 36 * np.log(2) / betas - 1e-12)
    assert np.all(np.diff(free_energy) > 0)  # ∂F/∂β = S/β² > 0
    np.testing.assert_allclose(-free_energy * betas,
                               sm.log_z(model, betas, method="transfer").value, rtol=1e-11)


def test_uniform_torus_huge_beta():
    model = sm.Ising.square(6, J=1.0, periodic=True)
    got = pfaffian_moments(model, [1e6])
    assert got.log_z[0] == pytest.approx(1e6 * 72 + np.log(2), rel=1e-15)
    assert got.energy[0] == -72.0


# --------------------------------------------------------------------- errors
def test_registered_and_preferred_for_large_lattices():
    model = spin_glass(np.random.default_rng(0), 20, 20, "pm", periodic=False)
    assert "pfaffian" in sm.available_methods(model)
    assert sm.thermo(model, 0.5).method == "pfaffian"  # too wide for transfer, too big to enumerate


def test_refuses_a_field():
    model = sm.Ising.square(4, J=1.0, h=0.1, periodic=False)
    with pytest.raises(ValueError, match="needs h = 0.*method='transfer'"):
        sm.log_z(model, 0.5, method="pfaffian")


@pytest.mark.parametrize("model", [sm.Ising.chain(6, J=1.0), sm.Ising.cubic(3, J=1.0),
                                   sm.Ising.from_couplings(np.ones((4, 4)) - np.eye(4))])
def test_refuses_other_lattices(model):
    with pytest.raises(ValueError, match="needs a 2D square lattice"):
        sm.log_z(model, 0.5, method="pfaffian")


def test_refuses_a_single_row():
    with pytest.raises(ValueError, match="Lx, Ly >= 2"):
        sm.log_z(sm.Ising.square((5, 1), J=1.0, periodic=False), 0.5, method="pfaffian")


def test_refuses_options():
    with pytest.raises(ValueError, match="takes no options"):
        sm.log_z(sm.Ising.square(4, J=1.0), 0.5, method="pfaffian", chunk=3)


def test_ground_state_energy_errors():
    with pytest.raises(ValueError, match="open square lattice"):
        ground_state_energy(sm.Ising.square(4, J=1.0, periodic=True))
    with pytest.raises(ValueError, match="h = 0"):
        ground_state_energy(sm.Ising.square(4, J=1.0, h=0.5, periodic=False))
    with pytest.raises(TypeError, match="Ising model"):
        ground_state_energy("not a model")


def test_torus_glass_far_below_freezing_is_refused():
    """The four-Pfaffian sum cancels when wrapping walls dominate: a clear error, not garbage."""
    rng = np.random.default_rng(0)
    refused = 0
    for _ in range(6):
        model = spin_glass(rng, 3, 4, "gauss", periodic=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            try:
                got = pfaffian_moments(model, [12.0]).log_z[0]
            except FloatingPointError as error:
                assert "periodic=False" in str(error)
                refused += 1
                continue
        assert got == pytest.approx(brute_force(model, [12.0])[0][0], rel=1e-6)
    assert refused >= 1


# ---------------------------------------------------------------------- slow
@pytest.mark.slow
@pytest.mark.parametrize("L", [64, 128])
def test_large_uniform_torus_matches_kaufman(L):
    model = sm.Ising.square(L, J=1.0, periodic=True)
    reference = sm.thermo(model, BETA_C, method="kaufman")
    got = sm.thermo(model, BETA_C, method="pfaffian")
    assert got.log_z.value == pytest.approx(reference.log_z.value, rel=1e-11)
    assert got.energy.value == pytest.approx(reference.energy.value, rel=1e-8)


@pytest.mark.slow
@pytest.mark.parametrize("Lx", [64, 128])
def test_long_open_spin_glass_strip_matches_transfer(Lx):
    """An Lx x 12 open ±J strip: the transfer matrix runs along Lx with width 12."""
    model = spin_glass(np.random.default_rng(Lx), Lx, 12, "pm", periodic=False)
    betas = np.array([0.5, 2.0])
    np.testing.assert_allclose(pfaffian_moments(model, betas).log_z,
                               sm.log_z(model, betas, method="transfer").value, rtol=1e-11)


@pytest.mark.slow
def test_large_open_glass_energy_is_the_derivative():
    """U = −∂ log Z/∂β at L = 64 against a central difference of the Pfaffian log Z."""
    model = spin_glass(np.random.default_rng(9), 64, 64, "gauss", periodic=False)
    beta, step = 0.7, 1e-4
    got = pfaffian_moments(model, [beta - step, beta, beta + step])
    slope = (got.log_z[2] - got.log_z[0]) / (2 * step)
    assert got.energy[1] == pytest.approx(-slope, rel=1e-6)
