"""Belief propagation: exact on trees, the paramagnetic Bethe fixed point on the torus, warnings.

Exact references here are brute-force sums over itertools.product with the
energy written bond by bond (never statmech's own energy), plus
``method="enumerate"`` for log Z.
"""
import itertools
import math

import networkx as nx
import numpy as np
import pytest

import statmech as sm
from statmech.approx import ConvergenceWarning, belief_propagation


def brute_marginals(n, edges, J, h, beta):
    """(log Z, U, m_i, <s_i s_j> per edge) by summing all 2^n states."""
    states = np.array(list(itertools.product([-1.0, 1.0], repeat=n)))
    energy = -states @ h
    for (i, j), coupling in zip(edges, J):
        energy -= coupling * states[:, i] * states[:, j]
    log_w = -beta * energy
    shift = log_w.max()
    w = np.exp(log_w - shift)
    p = w / w.sum()
    corr = np.array([p @ (states[:, i] * states[:, j]) for i, j in edges])
    return shift + math.log(w.sum()), p @ energy, p @ states, corr


def random_tree_model(seed, n):
    rng = np.random.default_rng(seed)
    tree = nx.random_labeled_tree(n, seed=seed)
    edges = np.array(sorted(tree.edges()))
    J = rng.normal(size=len(edges)) * rng.uniform(0.3, 2.0)
    h = rng.normal(size=n)
    return sm.Ising.from_edges(n, edges, J, h=h), edges, J, h


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("beta", [0.0, 0.3, 1.0, 3.0])
def test_bp_is_exact_on_random_trees(seed, beta):
    n = 6 + seed % 6
    model, edges, J, h = random_tree_model(seed, n)
    result = belief_propagation(model, beta)
    assert result.converged
    log_z, energy, m, corr = brute_marginals(n, edges, J, h, beta)
    assert result.log_z == pytest.approx(float(sm.log_z(model, beta, method="enumerate")), abs=1e-10)
    assert result.log_z == pytest.approx(log_z, abs=1e-10)
    assert result.energy == pytest.approx(energy, abs=1e-10)
    np.testing.assert_allclose(result.magnetizations, m, atol=1e-10)
    np.testing.assert_allclose(result.correlations, corr, atol=1e-10)


def test_bp_on_a_tree_through_the_registry_matches_enumeration_thermo():
    model, *_ = random_tree_model(3, 10)
    betas = np.array([0.2, 0.7, 1.5])
    approx = sm.thermo(model, betas, method="bp")
    exact = sm.thermo(model, betas, method="enumerate")
    np.testing.assert_allclose(approx.log_z.value, exact.log_z.value, atol=1e-10)
    np.testing.assert_allclose(approx.energy.value, exact.energy.value, atol=1e-10)
    np.testing.assert_allclose(approx.magnetization.value, exact.magnetization.value, atol=1e-10)
    # C from a central difference of U (step HEAT_STEP * max(beta, 1)): truncation error ~1e-8.
    np.testing.assert_allclose(approx.specific_heat.value, exact.specific_heat.value, rtol=1e-6)
    assert approx.meta["approximation"] is True
    assert approx.log_z.meta["approximation"] is True
    assert approx.meta["magnetizations"].shape == (3, 10)
    assert approx.meta["correlations"].shape == (3, model.n_edges)


def test_bp_on_a_tree_at_huge_beta_is_finite_and_exact():
    model, edges, J, h = random_tree_model(5, 11)
    beta = 1e6
    result = belief_propagation(model, beta)
    exact = float(sm.log_z(model, beta, method="enumerate"))
    assert np.isfinite(result.log_z) and np.isfinite(result.energy)
    assert result.log_z == pytest.approx(exact, rel=1e-12)
    assert result.energy == pytest.approx(sm.exact.ground_energy(model), rel=1e-12)


@pytest.mark.parametrize("beta", [0.05, 0.15, 0.25, 0.32])
def test_paramagnetic_bethe_fixed_point_on_the_torus_below_the_bethe_point(beta):
    assert beta < math.atanh(1 / 3)
    L = 8
    model = sm.Ising.square(L)
    result = belief_propagation(model, beta, max_iter=20_000)  # random start, damping 0.5
    assert result.converged
    assert result.free_entropy_density == pytest.approx(math.log(2) + 2 * math.log(math.cosh(beta)),
                                                        abs=1e-10)
    np.testing.assert_allclose(result.magnetizations, 0.0, atol=1e-9)
    np.testing.assert_allclose(result.correlations, math.tanh(beta), atol=1e-9)


def test_above_the_bethe_point_bp_finds_a_magnetised_fixed_point_with_larger_free_entropy():
    model = sm.Ising.square(8)
    beta_b = math.atanh(1 / 3)
    below = belief_propagation(model, beta_b - 0.02, init="up", max_iter=20_000)
    above = belief_propagation(model, beta_b + 0.03, init="up", max_iter=20_000)
    assert abs(below.magnetization_density) < 1e-6
    assert above.magnetization_density > 0.3
    paramagnet = math.log(2) + 2 * math.log(math.cosh(beta_b + 0.03))
    assert above.free_entropy_density > paramagnet + 1e-6


def test_bp_energy_is_minus_the_beta_derivative_of_the_bethe_free_entropy():
    rng = np.random.default_rng(2)
    model = sm.Ising.square(5, J=(rng.normal(size=(5, 5)) + 0.5, rng.normal(size=(5, 5)) + 0.5),
                            h=0.2 * rng.normal(size=25))
    beta, step = 0.4, 1e-5
    up = belief_propagation(model, beta + step, init="zero")
    down = belief_propagation(model, beta - step, init="zero")
    mid = belief_propagation(model, beta, init="zero")
    assert mid.energy == pytest.approx(-(up.log_z - down.log_z) / (2 * step), rel=1e-7)


def test_non_converging_bp_warns_with_the_residual():
    # Undamped parallel updates on a bipartite torus above the Bethe point oscillate (period 2).
    model = sm.Ising.square(4)
    plain = {"damping": 0.0, "schedule": "parallel", "anderson": 0}
    with pytest.warns(ConvergenceWarning, match=r"residual \d"):
        result = belief_propagation(model, 0.5, init="random", max_iter=200, **plain)
    assert not result.converged and result.residual > 1e-3
    with pytest.warns(ConvergenceWarning, match="residual"):
        estimate = sm.log_z(model, 0.5, method="bp", max_iter=200, **plain)
    assert estimate.meta["converged"] is False or not bool(estimate.meta["converged"])


def test_parallel_bonds_and_self_bonds_are_handled():
    # A 2-site periodic chain has two parallel bonds; a 1-site periodic chain a self-bond.
    for model in (sm.Ising.chain(2, J=[0.7, -0.2], h=[0.3, -0.1]), sm.Ising.chain(1, J=0.4, h=0.2)):
        for beta in (0.5, 2.0):
            result = belief_propagation(model, beta)
            assert result.log_z == pytest.approx(float(sm.log_z(model, beta, method="enumerate")),
                                                 abs=1e-12)
            assert result.correlations.shape == (model.n_edges,)


def test_bad_options_are_refused_with_the_fix():
    model = sm.Ising.chain(4)
    with pytest.raises(ValueError, match=r"damping must be in \[0, 1\)"):
        belief_propagation(model, 0.5, damping=1.0)
    with pytest.raises(ValueError, match="init must be one of"):
        belief_propagation(model, 0.5, init="sideways")
    with pytest.raises(ValueError, match="unknown option"):
        sm.log_z(model, 0.5, method="bp", dampening=0.1)
    with pytest.raises(TypeError, match="one real number"):
        belief_propagation(model, [0.1, 0.2])


# ----------------------------------------------------------- schedules and Anderson mixing
def test_two_colouring_is_proper_on_bipartite_graphs_and_none_otherwise():
    from statmech.approx._common import Graph

    rng = np.random.default_rng(3)
    tree = nx.random_labeled_tree(30, seed=3)
    forest = sm.Ising.from_edges(40, np.array(tree.edges()), 1.0)  # 10 isolated sites too
    for model in (sm.Ising.square(6), sm.Ising.square((4, 6), periodic=False),
                  sm.Ising.chain(8), forest):
        colours = Graph.of(model).two_colouring
        edges = np.asarray(model.edges)
        assert colours is not None and np.all(colours[edges[:, 0]] != colours[edges[:, 1]])
    odd_cycle = sm.Ising.chain(7)
    triangle_and_tree = sm.Ising.from_edges(6, [(0, 1), (1, 2), (2, 0), (3, 4), (4, 5)],
                                            rng.normal(size=5))
    for model in (sm.Ising.square(5), odd_cycle, triangle_and_tree):
        assert Graph.of(model).two_colouring is None
    with pytest.raises(ValueError, match="bipartite"):
        belief_propagation(odd_cycle, 0.3, schedule="red-black")
    with pytest.raises(ValueError, match="schedule must be one of"):
        belief_propagation(odd_cycle, 0.3, schedule="sequential")


@pytest.mark.parametrize("model", [
    sm.Ising.square(6, J=0.7, h=np.linspace(-0.5, 0.5, 36)),                  # bipartite
    sm.Ising.square(5, J=(np.full((5, 5), 0.8), np.full((5, 5), -0.3)), h=0.2),  # not bipartite
    sm.Ising.from_networkx(nx.random_regular_graph(3, 24, seed=4)),
], ids=repr)
def test_every_schedule_reaches_the_same_fixed_point(model):
    reference = belief_propagation(model, 0.3, schedule="parallel", damping=0.5, anderson=0,
                                   max_iter=20_000)
    assert reference.converged
    options = [{}, {"anderson": 0}, {"schedule": "parallel"}, {"anderson": 2, "damping": 0.3}]
    if belief_propagation(model, 0.3).meta["schedule"] == "red-black":  # bipartite
        options.append({"schedule": "red-black", "damping": 0.5})
    for option in options:
        result = belief_propagation(model, 0.3, max_iter=20_000, **option)
        assert result.converged, option
        assert result.log_z == pytest.approx(reference.log_z, abs=1e-10)
        np.testing.assert_allclose(result.magnetizations, reference.magnetizations, atol=1e-9)
        np.testing.assert_allclose(result.correlations, reference.correlations, atol=1e-9)


def test_red_black_sweeps_with_anderson_converge_near_the_bethe_point_where_damping_stalls():
    model = sm.Ising.square(32)
    beta = 0.34  # 3 tanh(beta) = 0.982: the parallel update contracts slowly
    fast = belief_propagation(model, beta, max_iter=1000)
    assert fast.meta["schedule"] == "red-black" and fast.converged and fast.iterations < 300
    with pytest.warns(ConvergenceWarning):
        slow = belief_propagation(model, beta, max_iter=1000, schedule="parallel", damping=0.5,
                                  anderson=0)
    assert not slow.converged
    assert fast.free_entropy_density == pytest.approx(math.log(2) + 2 * math.log(math.cosh(beta)),
                                                      abs=1e-10)


def test_bp_is_exact_on_trees_with_every_schedule():
    rng = np.random.default_rng(11)
    tree = nx.random_labeled_tree(10, seed=11)
    edges = np.array(tree.edges())
    J, h = rng.normal(size=len(edges)), rng.normal(size=10)
    model = sm.Ising.from_edges(10, edges, J, h=h)
    log_z, energy, m, corr = brute_marginals(10, edges, J, h, 0.8)
    for schedule in ("auto", "parallel", "red-black"):
        for anderson in (0, 5):
            result = belief_propagation(model, 0.8, schedule=schedule, anderson=anderson)
            assert result.log_z == pytest.approx(log_z, abs=1e-10)
            assert result.energy == pytest.approx(energy, abs=1e-9)
            np.testing.assert_allclose(result.magnetizations, m, atol=1e-10)
            np.testing.assert_allclose(result.correlations, corr, atol=1e-10)
