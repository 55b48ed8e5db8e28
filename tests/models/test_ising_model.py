"""The Ising model: constructors, energy, local fields, conversions, bad input."""
import itertools

import equinox as eqx
import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from statmech.models import Ising


def brute_energy(s, pairs, h):
    """H(s) = −Σ J s_i s_j − Σ h s_i written out pair by pair."""
    total = 0.0
    for (i, j), coupling in pairs:
        total -= coupling * s[i] * s[j]
    return total - float(np.dot(h, s))


def random_spins(rng, shape):
    return rng.choice(np.array([-1, 1], dtype=np.int8), size=shape)


def test_seed_toy_model_is_one_line():
    """E(x) = Σ B x_i is the Ising model with J = 0 and h = −B."""
    B = 1.0
    toy = Ising.chain(8, J=0.0, h=-B, periodic=False)
    x = np.array([-1, -1, -1, -1, +1, -1, -1, -1])
    assert toy.energy(x) == pytest.approx(-6.0)
    assert toy.energy(np.array([+1, +1, +1, -1, +1, -1, -1, -1])) == pytest.approx(0.0)


def test_chain_bonds_and_energy():
    rng = np.random.default_rng(0)
    J = rng.normal(size=6)
    h = rng.normal(size=6)
    periodic = Ising.chain(6, J=J, h=h, periodic=True)
    open_chain = Ising.chain(6, J=J[:5], h=h, periodic=False)
    assert periodic.n_sites == 6 and periodic.n_edges == 6
    assert open_chain.n_edges == 5
    for s in random_spins(rng, (20, 6)):
        pairs = [((i, (i + 1) % 6), J[i]) for i in range(6)]
        assert periodic.energy(s) == pytest.approx(brute_energy(s, pairs, h))
        assert open_chain.energy(s) == pytest.approx(brute_energy(s, pairs[:5], h))


def test_square_bond_array_convention():
    """Jh[y, x] couples (x, y)-(x+1, y); Jv[y, x] couples (x, y)-(x, y+1); i = y*Lx + x."""
    rng = np.random.default_rng(1)
    Lx, Ly = 4, 3
    Jh, Jv = rng.normal(size=(Ly, Lx)), rng.normal(size=(Ly, Lx))
    h = rng.normal(size=(Ly, Lx))
    model = Ising.square((Lx, Ly), J=(Jh, Jv), h=h, periodic=True)
    pairs = []
    for y in range(Ly):
        for x in range(Lx):
            pairs.append(((y * Lx + x, y * Lx + (x + 1) % Lx), Jh[y, x]))
            pairs.append(((y * Lx + x, ((y + 1) % Ly) * Lx + x), Jv[y, x]))
    for s in random_spins(rng, (10, Lx * Ly)):
        assert model.energy(s) == pytest.approx(brute_energy(s, pairs, h.reshape(-1)))
    back_h, back_v = model.bond_arrays()
    np.testing.assert_array_equal(back_h, Jh)
    np.testing.assert_array_equal(back_v, Jv)


def test_square_open_boundaries_drop_wrap_bonds():
    rng = np.random.default_rng(2)
    L = 4
    Jh, Jv = rng.normal(size=(L, L)), rng.normal(size=(L, L))
    Jh[:, -1] = 0.0
    Jv[-1, :] = 0.0
    model = Ising.square(L, J=(Jh, Jv), periodic=False)
    assert model.n_edges == 2 * L * (L - 1)
    reduced = Ising.square(L, J=(Jh[:, :-1], Jv[:-1, :]), periodic=False)
    np.testing.assert_array_equal(model.couplings, reduced.couplings)
    np.testing.assert_array_equal(model.bond_arrays()[0], Jh)


def test_cubic_counts_and_ground_state():
    model = Ising.cubic(3, J=1.0, periodic=True)
    assert model.n_sites == 27 and model.n_edges == 81
    assert model.energy(np.ones(27)) == pytest.approx(-81.0)
    open_model = Ising.cubic(3, periodic=False)
    assert open_model.n_edges == 3 * 3 * 3 * 2
    assert np.all(np.sum(model.neighbor_edges < model.n_edges, axis=1) == 6)


def test_energy_is_batched_and_works_in_jax():
    rng = np.random.default_rng(3)
    model = Ising.square(3, J=0.7, h=0.2)
    s = random_spins(rng, (2, 5, 9))
    energies = model.energy(s)
    assert energies.shape == (2, 5)
    assert energies.dtype == np.float64
    jitted = jax.jit(lambda m, x: m.energy(x))(model, jnp.asarray(s))
    np.testing.assert_allclose(np.asarray(jitted), energies, rtol=1e-6)


def test_energy_gradient_with_respect_to_couplings():
    """Couplings are leaves: ∂H/∂J_e = −s_i s_j."""
    model = Ising.chain(5, J=1.0)
    s = jnp.array([1, -1, -1, 1, 1])

    def energy_of(couplings):
        return eqx.tree_at(lambda m: m.couplings, model, couplings).energy(s)

    gradient = jax.grad(energy_of)(jnp.asarray(model.couplings, dtype=jnp.float32))
    expected = -np.array([s[i] * s[(i + 1) % 5] for i in range(5)])
    np.testing.assert_allclose(np.asarray(gradient), expected)


@pytest.mark.parametrize("factory", [
    lambda: Ising.chain(7, J=np.linspace(-1, 1, 7), h=0.3),
    lambda: Ising.square((3, 4), J=0.5, h=np.linspace(-1, 1, 12), periodic=False),
    lambda: Ising.square(2, J=1.0, periodic=True),  # parallel bonds
    lambda: Ising.cubic(2, J=-0.5, h=0.1),
    lambda: Ising.from_couplings(np.array([[0, 1.5, -2], [1.5, 0, 0.5], [-2, 0.5, 0]]), h=[0.1, 0, -0.2]),
])
def test_delta_energy_equals_full_recompute(factory):
    model = factory()
    rng = np.random.default_rng(4)
    s = random_spins(rng, (6, model.n_sites)).astype(np.float64)
    all_deltas = model.delta_energy(s)
    for i in range(model.n_sites):
        flipped = s.copy()
        flipped[:, i] *= -1
        expected = model.energy(flipped) - model.energy(s)
        np.testing.assert_allclose(all_deltas[:, i], expected, atol=1e-12)
        np.testing.assert_allclose(model.delta_energy(s, i), expected, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 7), st.integers(0, 10_000))
def test_from_couplings_matches_pairwise_sum(n, seed):
    rng = np.random.default_rng(seed)
    J = np.triu(rng.normal(size=(n, n)), 1)
    J = J + J.T
    h = rng.normal(size=n)
    model = Ising.from_couplings(J, h=h)
    pairs = [((i, j), J[i, j]) for i, j in itertools.combinations(range(n), 2)]
    s = random_spins(rng, n)
    assert model.energy(s) == pytest.approx(brute_energy(s, pairs, h), abs=1e-12)
    # Z2: flipping every spin and every field leaves H unchanged.
    flipped = Ising.from_couplings(J, h=-h)
    assert flipped.energy(-s) == pytest.approx(model.energy(s), abs=1e-12)
    np.testing.assert_allclose(model.coupling_matrix(), J)


def test_networkx_round_trip():
    graph = nx.petersen_graph()
    for k, (u, v) in enumerate(graph.edges):
        graph.edges[u, v]["J"] = 0.1 * (k - 7)
    for node in graph.nodes:
        graph.nodes[node]["h"] = 0.05 * node
    model = Ising.from_networkx(graph)
    back = model.to_networkx()
    assert nx.is_isomorphic(graph, back)
    rng = np.random.default_rng(5)
    s = random_spins(rng, 10)
    again = Ising.from_networkx(back)
    assert again.energy(s) == pytest.approx(model.energy(s))
    expected = -sum(d["J"] * s[u] * s[v] for u, v, d in graph.edges(data=True)) - sum(
        graph.nodes[i]["h"] * s[i] for i in graph.nodes)
    assert model.energy(s) == pytest.approx(expected)


def test_networkx_defaults_to_ferromagnet():
    model = Ising.from_networkx(nx.cycle_graph(4))
    assert model.uniform_coupling() == 1.0 and not model.has_field


def test_dimod_round_trip_has_opposite_sign_convention():
    dimod = pytest.importorskip("dimod")
    rng = np.random.default_rng(6)
    model = Ising.square(3, J=(rng.normal(size=(3, 3)), rng.normal(size=(3, 3))), h=rng.normal(size=9))
    bqm = model.to_bqm()
    # dimod's energy: Σ a_i s_i + Σ b_ij s_i s_j; ours is −Σ J s s − Σ h s.
    assert bqm.linear[0] == pytest.approx(-model.field[0])
    for s in random_spins(rng, (5, 9)):
        sample = {i: int(v) for i, v in enumerate(s)}
        assert bqm.energy(sample) == pytest.approx(model.energy(s))
    back = Ising.from_bqm(bqm)
    for s in random_spins(rng, (5, 9)):
        assert back.energy(s) == pytest.approx(model.energy(s))


def test_dimod_binary_model_converts_and_offset_is_refused():
    dimod = pytest.importorskip("dimod")
    bqm = dimod.BinaryQuadraticModel({0: 1.0, 1: -2.0}, {(0, 1): 0.5}, 0.0, dimod.BINARY)
    with pytest.raises(ValueError, match="offset"):
        Ising.from_bqm(bqm)
    spin = bqm.change_vartype(dimod.SPIN, inplace=False)
    offset = spin.offset
    spin.offset = 0.0
    model = Ising.from_bqm(spin)
    for x0, x1 in itertools.product([0, 1], repeat=2):
        s = np.array([2 * x0 - 1, 2 * x1 - 1])
        assert model.energy(s) + offset == pytest.approx(bqm.energy({0: x0, 1: x1}))


@pytest.mark.parametrize("call, error, match", [
    (lambda: Ising.square(0), ValueError, "L must be >= 1"),
    (lambda: Ising.square(-3), ValueError, "L must be >= 1"),
    (lambda: Ising.square(4.0), TypeError, "pass 4"),
    (lambda: Ising.square(2.5), TypeError, "must be an int"),
    (lambda: Ising.chain(5, J=np.nan), ValueError, "finite"),
    (lambda: Ising.chain(5, h=np.inf), ValueError, "finite"),
    (lambda: Ising.chain(5, J=[1.0, 2.0]), ValueError, "shape"),
    (lambda: Ising.square(3, J=(np.ones((3, 3)), np.ones((2, 3)))), ValueError, "Jv must have shape"),
    (lambda: Ising.square(3, J=(np.ones((3, 3)), np.ones((3, 3))), periodic=False), ValueError,
     "wrap-around"),
    (lambda: Ising.square(3, J=(np.ones((3, 3)), np.full((3, 3), np.nan))), ValueError, "NaN"),
    (lambda: Ising.from_couplings(np.array([[0, 1], [2, 0]])), ValueError, "symmetric"),
    (lambda: Ising.from_couplings(np.eye(3)), ValueError, "zero diagonal"),
    (lambda: Ising.from_couplings(np.ones(3)), ValueError, r"\(N, N\)"),
    (lambda: Ising.from_couplings([[0, np.nan], [np.nan, 0]]), ValueError, "NaN"),
    (lambda: Ising.chain(4, h=np.ones(3)), ValueError, "one value per site"),
    (lambda: Ising.square(2).energy(np.ones(5)), ValueError, "4"),
])
def test_bad_input_is_refused_with_a_fix(call, error, match):
    with pytest.raises(error, match=match):
        call()
