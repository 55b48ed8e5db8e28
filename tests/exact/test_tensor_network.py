"""method="tensor-network" against every exact method it overlaps (|Δ log Z| <= 1e-10), its
exact density of states and tropical ground states against enumeration and Beale, its cost
report and its refusals."""
import networkx as nx
import numpy as np
import pytest

import statmech as sm
from statmech._registry import all_methods
from statmech.exact._enumerate import state_energies
from statmech.exact._tensor_network import DEFAULT_MAX_MEMORY, build_network
from statmech.testing import gaussian_couplings

BETAS = np.array([0.0, 0.1, 0.3, sm.CRITICAL_BETA, 0.7, 1.5, 4.0])


def close(a, b, names=("log_z", "energy", "specific_heat", "magnetization", "susceptibility_density"),
          rtol=1e-10, atol=1e-10):
    for name in names:
        left, right = getattr(a, name), getattr(b, name)
        assert left is not None and right is not None, name
        np.testing.assert_allclose(left.value, right.value, rtol=rtol, atol=atol,
                                   err_msg=f"{name}: {a.method} vs {b.method}")


def random_square(rng, L, periodic, field=True):
    Lx, Ly = (L, L) if np.ndim(L) == 0 else L
    shapes = ((Ly, Lx), (Ly, Lx)) if periodic else ((Ly, Lx - 1), (Ly - 1, Lx))
    J = tuple(rng.normal(size=shape) for shape in shapes)
    h = rng.normal(size=Lx * Ly) if field else 0.0
    return sm.Ising.square((Lx, Ly), J=J, h=h, periodic=periodic)


def random_cubic(rng, L, periodic, field=True):
    template = sm.Ising.cubic(L, periodic=periodic)
    edges = np.asarray(template.edges)
    h = rng.normal(size=template.n_sites) if field else 0.0
    return sm.Ising.from_edges(template.n_sites, edges, rng.choice([-1.0, 1.0], size=len(edges)), h)


def enumerable_models():
    rng = np.random.default_rng(2026)
    dense = np.triu(rng.normal(size=(11, 11)), 1)
    regular = nx.random_regular_graph(3, 20, seed=7)
    for u, v in regular.edges:
        regular.edges[u, v]["J"] = float(rng.normal())
    for node in regular.nodes:
        regular.nodes[node]["h"] = float(rng.normal())
    return [
        random_square(rng, 4, periodic=True),
        random_square(rng, 4, periodic=False),
        random_square(rng, (5, 3), periodic=True, field=False),
        sm.Ising.chain(12, J=rng.normal(size=12), h=rng.normal(size=12), periodic=True),
        sm.Ising.chain(9, J=rng.normal(size=8), h=rng.normal(size=9), periodic=False),
        sm.Ising.chain(1, J=0.8, h=-0.3),  # one self-bond: a constant energy
        sm.Ising.chain(2, J=0.8, h=0.2),  # two parallel bonds 0-1, merged
        random_cubic(rng, 2, periodic=True),
        random_cubic(rng, (3, 2, 3), periodic=False),
        sm.Ising.from_couplings(dense + dense.T, h=rng.normal(size=11)),  # complete graph
        sm.Ising.from_networkx(regular),
        sm.Ising.from_edges(6, [(0, 1), (1, 2), (4, 5)], [1.0, -2.0, 0.0], h=[0.1, 0, 0, 0.5, -0.3, 0.2]),
        sm.Ising.from_networkx(sm.chimera_graph(1, 2, 3)),
        sm.Ising.chain(5, J=0.0, h=0.0),  # no bonds left: free spins
        sm.Ising.from_edges(3, np.zeros((0, 2)), np.zeros(0), h=[0.4, 0.0, -1.0]),
    ]


@pytest.mark.parametrize("model", enumerable_models(), ids=repr)
def test_matches_enumeration_with_fields_and_random_couplings(model):
    close(sm.thermo(model, BETAS, method="tensor-network"), sm.thermo(model, BETAS, method="enumerate"))


@pytest.mark.parametrize("model", [
    random_square(np.random.default_rng(1), (6, 24), periodic=False),
    random_square(np.random.default_rng(2), (5, 12), periodic=True),
    sm.Ising.chain(300, J=np.random.default_rng(3).normal(size=300), h=0.3),
], ids=repr)
def test_matches_transfer_strips_beyond_enumeration(model):
    close(sm.thermo(model, BETAS, method="tensor-network"), sm.thermo(model, BETAS, method="transfer"),
          names=("log_z", "energy", "specific_heat", "magnetization"), rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("shape, J", [(6, 1.0), ((8, 4), -0.7), ((7, 4), 0.6)])
def test_matches_kaufman_on_tori(shape, J):
    model = sm.Ising.square(shape, J=J, periodic=True)
    close(sm.thermo(model, BETAS, method="tensor-network"), sm.thermo(model, BETAS, method="kaufman"),
          names=("log_z", "energy", "specific_heat"))


@pytest.mark.parametrize("L, periodic", [(10, False), ((6, 5), True)])
def test_matches_the_pfaffian_on_spin_glasses(L, periodic):
    model = random_square(np.random.default_rng(11), L, periodic, field=False)
    close(sm.thermo(model, BETAS, method="tensor-network"), sm.thermo(model, BETAS, method="pfaffian"),
          names=("log_z", "energy", "specific_heat"), rtol=1e-10, atol=1e-9)


def test_log_z_alone_equals_the_thermo_log_z():
    model = random_cubic(np.random.default_rng(5), 3, periodic=False)
    alone = sm.log_z(model, BETAS, method="tensor-network").value
    np.testing.assert_allclose(alone, sm.thermo(model, BETAS, method="tensor-network").log_z.value,
                               rtol=1e-12, atol=1e-12)


def test_extreme_beta_is_finite_and_right():
    model = random_square(np.random.default_rng(8), 4, periodic=True)
    huge = sm.thermo(model, 1e6, method="tensor-network")
    ground = sm.ground_energy(model)
    assert abs(huge.log_z.value / 1e6 + ground) < 1e-9
    assert abs(huge.energy.value - ground) < 1e-9
    assert 0.0 <= huge.specific_heat.value < 1e-6
    zero = sm.thermo(model, 0.0, method="tensor-network")
    assert abs(zero.log_z.value - model.n_sites * np.log(2.0)) < 1e-12
    np.testing.assert_allclose(sm.log_z(model, [50.0, 1e3], method="tensor-network").value,
                               sm.log_z(model, [50.0, 1e3], method="enumerate").value, rtol=1e-13)


def test_cost_is_reported_before_and_in_meta():
    model = sm.Ising.square((3, 40), h=0.2, periodic=False)
    cost = sm.contraction_cost(model)
    assert 3 <= cost.width <= 6 and cost.flops > 0 and cost.memory > 0
    assert cost.moments_memory >= cost.memory
    assert cost.n_tensors == len(build_network(model).inputs)
    estimate = sm.log_z(model, 0.4, method="tensor-network")
    assert estimate.meta["contraction_width"] == cost.width
    assert estimate.meta["contraction_flops"] == cost.flops


def test_a_chain_is_a_width_one_contraction():
    assert sm.contraction_cost(sm.Ising.chain(500, h=0.1, periodic=False)).width <= 2


def test_over_the_memory_budget_is_refused_with_the_width_and_a_suggestion():
    model = sm.Ising.square((6, 6), h=0.1, periodic=False)
    with pytest.raises(ValueError, match=r"width \d+.*memory budget.*transfer.*sampler"):
        sm.thermo(model, 0.3, method="tensor-network", max_memory=4e3)
    with pytest.raises(ValueError, match=r"at least .*width of at least 63"):
        sm.thermo(sm.Ising.square(64, h=0.1), 0.3, method="tensor-network")
    with pytest.raises(ValueError, match="max_memory must be a positive"):
        sm.thermo(model, 0.3, method="tensor-network", max_memory=-1)
    with pytest.raises(TypeError, match="max_memory must be a number"):
        sm.contraction_cost(model, max_memory="2GB")
    with pytest.raises(ValueError, match="unknown option.*max_memory"):
        sm.thermo(model, 0.3, method="tensor-network", n_sweeps=10)
    assert DEFAULT_MAX_MEMORY == 2 * 1024**3


@pytest.mark.parametrize("model, expected", [
    (sm.Ising.chain(50, h=0.1), "transfer"),
    (sm.Ising.square(32), "kaufman"),
    (sm.Ising.square(6, h=0.2), "transfer"),
    (sm.Ising.square((10, 18), J=(np.ones((18, 9)), -np.ones((17, 10))), periodic=False), "transfer"),
    (sm.Ising.square((20, 18), J=(np.ones((18, 19)), -np.ones((17, 20))), periodic=False), "pfaffian"),
    (sm.Ising.cubic(2), "enumerate"),
    (sm.Ising.from_networkx(nx.random_regular_graph(3, 40, seed=1)), "tensor-network"),
    (sm.Ising.cubic((3, 3, 4), h=0.1, periodic=False), "tensor-network"),
], ids=repr)
def test_auto_keeps_the_older_exact_methods_and_adds_the_tensor_network(model, expected):
    assert sm.log_z(model, 0.4).method == expected


def _regular_with_fields(n, seed):
    rng = np.random.default_rng(seed)
    edges = np.array(nx.random_regular_graph(3, n, seed=seed).edges())
    return sm.Ising.from_edges(n, edges, rng.normal(size=len(edges)), h=rng.normal(size=n))


def test_auto_takes_the_tensor_network_where_it_is_cheaper_than_enumeration():
    # A sparse 28-spin graph with fields: both apply; the contraction (width ~6) is far cheaper
    # than 2^28 states, and auto chooses it without searching an order.
    model = _regular_with_fields(28, 1)
    assert sm.log_z(model, 0.4).method == "tensor-network"
    costs = {m.name: m.cost(model, {}) for m in all_methods() if m.cost is not None}
    assert costs["tensor-network"] < costs["enumerate"] / 100
    # ... and on 22 spins, where enumeration is still quick, the two agree.
    model = _regular_with_fields(22, 2)
    auto = sm.thermo(model, BETAS)
    assert auto.method == "tensor-network"
    close(auto, sm.thermo(model, BETAS, method="enumerate"))


@pytest.mark.parametrize("n", [6, 10, 14])
def test_auto_keeps_enumeration_for_small_dense_models(n):
    rng = np.random.default_rng(n)
    model = sm.Ising.from_couplings(gaussian_couplings(rng, n), h=rng.normal(size=n))
    auto = sm.thermo(model, BETAS)
    assert auto.method == "enumerate"
    close(auto, sm.thermo(model, BETAS, method="tensor-network"))


# ----------------------------------------------------------------- ground states
@pytest.mark.parametrize("model", enumerable_models(), ids=repr)
def test_tropical_ground_state_matches_enumeration(model):
    state = sm.tropical_ground_state(model)
    assert state.spins.dtype == np.int8 and state.spins.shape == (model.n_sites,)
    assert set(np.unique(state.spins)) <= {-1, 1}
    np.testing.assert_allclose(state.energy, sm.ground_energy(model), rtol=0, atol=1e-10)
    np.testing.assert_allclose(float(model.energy(state.spins.astype(np.float64))), state.energy,
                               rtol=0, atol=1e-10)


def test_tropical_ground_state_matches_matching_on_a_planar_glass_beyond_enumeration():
    model = random_square(np.random.default_rng(4), 12, periodic=False, field=False)
    state = sm.tropical_ground_state(model)
    np.testing.assert_allclose(state.energy, sm.planar_ground_energy(model), rtol=1e-12)
    np.testing.assert_allclose(float(model.energy(state.spins.astype(np.float64))), state.energy, rtol=1e-12)


# ------------------------------------------------------------ density of states
@pytest.mark.parametrize("shape", [4, (6, 4), 6])
def test_density_of_states_matches_beale(shape):
    model = sm.Ising.square(shape, J=1.0, periodic=True)
    ours, beale = sm.polynomial_density_of_states(model), sm.density_of_states(model)
    np.testing.assert_array_equal(ours.energies, beale.energies)
    assert ours.degeneracies == tuple(beale.degeneracies)
    assert ours.ground_degeneracy == 2 and sum(ours.degeneracies) == 2**model.n_sites


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_density_of_states_matches_enumeration_with_integer_fields(seed):
    rng = np.random.default_rng(seed)
    model = sm.Ising.square(4, J=(rng.integers(-2, 3, (4, 4)).astype(float), rng.integers(-2, 3, (4, 4)).astype(float)),
                            h=rng.integers(-1, 2, 16).astype(float), periodic=True)
    dos = sm.polynomial_density_of_states(model)
    levels, counts = np.unique(np.round(state_energies(model), 9), return_counts=True)
    np.testing.assert_array_equal(dos.energies, levels)
    assert dos.degeneracies == tuple(int(c) for c in counts)
    assert dos.ground_energy == levels[0] and dos.ground_degeneracy == counts[0]
    np.testing.assert_allclose(dos.log_z(BETAS), sm.log_z(model, BETAS, method="tensor-network").value,
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("model", [sm.Ising.chain(5, J=0.0, h=0.0),
                                   sm.Ising.from_edges(3, np.zeros((0, 2)), np.zeros(0), h=[1.0, 0.0, -2.0]),
                                   sm.Ising.chain(7, J=[1, -1, 2, 1, 1, -3, 1], h=1.0)], ids=repr)
def test_density_of_states_of_free_spins_and_chains(model):
    dos = sm.polynomial_density_of_states(model)
    levels, counts = np.unique(np.round(state_energies(model), 9), return_counts=True)
    np.testing.assert_array_equal(dos.energies, levels)
    assert dos.degeneracies == tuple(int(c) for c in counts)


def test_density_of_states_in_a_unit_and_refusing_non_integers():
    model = sm.Ising.chain(5, J=0.5, h=0.25, periodic=False)
    dos = sm.polynomial_density_of_states(model, energy_unit=0.25)
    levels, counts = np.unique(np.round(state_energies(model), 9), return_counts=True)
    np.testing.assert_allclose(dos.energies, levels, atol=1e-12)
    assert dos.degeneracies == tuple(int(c) for c in counts)
    with pytest.raises(ValueError, match="integer couplings.*energy_unit"):
        sm.polynomial_density_of_states(sm.Ising.chain(4, J=0.3, h=0.1))
    with pytest.raises(ValueError, match="energy_unit must be a positive"):
        sm.polynomial_density_of_states(model, energy_unit=0)


def test_chimera_graph_has_the_dwave_layout():
    graph = sm.chimera_graph(4, 4, 4)
    assert graph.number_of_nodes() == 128 and graph.number_of_edges() == 352
    assert sorted(graph.nodes) == list(range(128))
    # Spin (i, j, u, k) is ((i n + j) 2 + u) t + k; a vertical spin couples to the 4 horizontal ones
    # of its cell and to the vertical spins k of the cells above and below.
    assert sorted(graph.neighbors(0)) == [4, 5, 6, 7, 32]
    assert graph.nodes[33]["chimera_index"] == (1, 0, 0, 1)
    with pytest.raises(ValueError):
        sm.chimera_graph(0)
