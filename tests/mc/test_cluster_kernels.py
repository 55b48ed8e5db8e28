"""Wolff and Swendsen–Wang cluster kernels.

The reference is the exact Boltzmann distribution over all 2^N states,
computed here by brute force with plain NumPy from the edge list. Samples are
the final states of many *independent* chains (vmapped over keys) started
from random spins, so the χ² test sees i.i.d. draws. Each statistical test is
repeated with fixed keys and the p-values are combined with Fisher's method;
the negative controls (β off by 5 %, a broken bond probability) must fail.
"""
import re

import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
import pytest
from jax import lax
from scipy import sparse
from scipy.sparse import csgraph

from statmech.mc import _cluster
from statmech.mc._base import SpinState
from statmech.mc._cluster import (
    FRUSTRATED_MESSAGE,
    cluster_labels,
    connected_components,
    grow_cluster,
    lattice_components,
    swendsen_wang,
    wolff,
)
from statmech.models import Ising
from statmech import testing
from statmech.testing import boltzmann_probabilities

KERNELS = {"wolff": wolff, "swendsen_wang": swendsen_wang}
JITTED_STEP = {name: jax.jit(kernel.step) for name, kernel in KERNELS.items()}
KEYS = (11, 22, 33, 44)
N_CHAINS = 20_000


# ------------------------------------------------------------------ references
def chi2_pvalue(spins, probabilities, min_expected=20.0):
    """χ² with states expected < 20 times pooled (with 5, exact multinomial draws gave p < 0.01 in 1.75 % of 400 trials)."""
    return testing.chi2_pvalue(spins, probabilities, min_expected)


def make_sampler(kernel, model, beta, n_steps):
    """jit(vmap) over chain keys: random start, ``n_steps`` steps, return the final spins."""

    def one_chain(key):
        start_key, run_key = jax.random.split(key)
        spins = jax.random.rademacher(start_key, (model.n_sites,), jnp.int8)
        state = kernel.init(spins, model, beta)

        def body(state, step_key):
            return kernel.step(step_key, state, model, beta)[0], None

        state, _ = lax.scan(body, state, jax.random.split(run_key, n_steps))
        return state.spins

    sample = jax.jit(jax.vmap(one_chain))
    return lambda seed, n_chains: np.asarray(sample(jax.random.split(jax.random.key(seed), n_chains)))


def combined_pvalue(kernel, model, beta_run, beta_exact, n_steps, keys=KEYS, n_chains=N_CHAINS):
    sample = make_sampler(kernel, model, beta_run, n_steps)
    probabilities = boltzmann_probabilities(model, beta_exact)
    pvalues = [chi2_pvalue(sample(seed, n_chains), probabilities) for seed in keys]
    return testing.fisher_combined_pvalue(pvalues), pvalues


def open_chain():
    return testing.random_chain(8, seed=5)


def mixed_field_chain():
    return testing.random_chain(8, seed=6, field_scale=0.4)


def graph_with_field():
    """A general graph (labelled by connected_components, not the lattice path) with mixed fields."""
    rng = np.random.default_rng(8)
    edges = [(0, 1), (1, 2), (2, 0), (2, 3), (3, 4), (4, 5), (5, 3), (5, 6), (1, 7), (7, 6)]
    return Ising.from_edges(8, edges, J=rng.uniform(0.2, 1.0, len(edges)), h=rng.normal(0.0, 0.3, 8))


CASES = {
    "square3_beta0.4": (lambda: Ising.square(3), 0.4),
    "square3_beta0.6": (lambda: Ising.square(3), 0.6),
    "open_chain8_beta0.7": (open_chain, 0.7),
    "square3_h0.3_beta0.4": (lambda: Ising.square(3, h=0.3), 0.4),
    "chain8_mixed_field_beta0.7": (mixed_field_chain, 0.7),
    "open_square3x3_beta0.5": (lambda: Ising.square(3, periodic=False), 0.5),
    "cubic2_beta0.2": (lambda: Ising.cubic(2), 0.2),  # periodic side 2: every pair bonded twice
    "graph8_field_beta0.6": (graph_with_field, 0.6),
}
N_STEPS = {"wolff": 60, "swendsen_wang": 30}


# -------------------------------------------------------------------- smoke
@pytest.mark.parametrize("name", KERNELS)
def test_smoke_distribution_square3(name):
    """One key, 4000 chains: the 3×3 torus at β = 0.4 matches Boltzmann."""
    model = Ising.square(3)
    sample = make_sampler(KERNELS[name], model, 0.4, N_STEPS[name])
    p = chi2_pvalue(sample(7, 4000), boltzmann_probabilities(model, 0.4))
    assert p > 1e-3


# -------------------------------------------------------------- statistical
@pytest.mark.statistical
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("name", KERNELS)
def test_distribution_matches_boltzmann(name, case):
    build, beta = CASES[case]
    model = build()
    p, pvalues = combined_pvalue(KERNELS[name], model, beta, beta, N_STEPS[name])
    print(f"{name} {case}: Fisher p = {p:.3g}, per key {np.round(pvalues, 3)}")
    assert p > 0.01


@pytest.mark.statistical
@pytest.mark.parametrize("name", KERNELS)
def test_negative_control_beta_off_by_five_percent(name):
    model = Ising.square(3)
    p, _ = combined_pvalue(KERNELS[name], model, 0.4 * 1.05, 0.4, N_STEPS[name])
    print(f"{name} β off by 5%: Fisher p = {p:.3g}")
    assert p < 0.01


@pytest.mark.statistical
@pytest.mark.parametrize("name", KERNELS)
def test_negative_control_broken_bond_probability(name, monkeypatch):
    """p = 1 − exp(−βJ) instead of 1 − exp(−2βJ) samples β/2: it must fail."""
    monkeypatch.setattr(_cluster, "_bond_probability", lambda beta, j: -jnp.expm1(-beta * j))
    model = Ising.square(3)
    p, _ = combined_pvalue(KERNELS[name], model, 0.6, 0.6, N_STEPS[name])
    print(f"{name} broken p: Fisher p = {p:.3g}")
    assert p < 0.01


@pytest.mark.statistical
def test_negative_control_ghost_clusters_flipped():
    """Swendsen–Wang that also flips the ghost's cluster ignores the field: it must fail."""
    model = Ising.square(3, h=0.3)

    def no_ghost_bonds(key, spins, model, beta):
        return jnp.zeros(spins.shape, bool)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_cluster, "_open_ghost_bonds", no_ghost_bonds)
        p, _ = combined_pvalue(swendsen_wang, model, 0.4, 0.4, N_STEPS["swendsen_wang"])
    print(f"swendsen_wang ghost clusters flipped: Fisher p = {p:.3g}")
    assert p < 0.01


# ------------------------------------------------------------ bad input
@pytest.mark.parametrize("name", KERNELS)
def test_frustrated_couplings_are_refused(name):
    rng = np.random.default_rng(0)
    J = rng.normal(size=(5, 5))
    J = np.triu(J, 1) + np.triu(J, 1).T
    model = Ising.from_couplings(J)
    kernel = KERNELS[name]
    with pytest.raises(ValueError, match=re.escape(FRUSTRATED_MESSAGE)):
        kernel.init(np.ones(5, np.int8), model, 0.5)
    with pytest.raises(ValueError, match="metropolis/heatbath or parallel tempering"):
        kernel.step(jax.random.key(0), SpinState(jnp.ones(5, jnp.int8)), model, 0.5)
    antiferro = Ising.square(4, J=-1.0)
    with pytest.raises(ValueError, match=r"all J >= 0"):
        kernel.init(np.ones(16, np.int8), antiferro, 0.5)


@pytest.mark.parametrize("name", KERNELS)
def test_bad_spins_and_beta_are_refused(name):
    kernel = KERNELS[name]
    model = Ising.square(3)
    with pytest.raises(ValueError, match=r"shape \(9,\)"):
        kernel.init(np.ones(8), model, 0.5)
    with pytest.raises(ValueError, match=r"\+1 or -1"):
        kernel.init(np.zeros(9), model, 0.5)
    with pytest.raises(ValueError, match=r"beta must be >= 0"):
        kernel.init(np.ones(9), model, -0.1)
    with pytest.raises(ValueError, match="vmap over beta"):
        kernel.init(np.ones(9), model, np.array([0.1, 0.2]))


# ------------------------------------------------------- structure and purity
def scipy_smallest_labels(n, edges, active):
    """Each node labelled by the smallest node of its component, from scipy's connected_components."""
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)[np.asarray(active, bool)]
    graph = sparse.coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    count, component = csgraph.connected_components(graph, directed=False)
    smallest = np.full(count, n)
    np.minimum.at(smallest, component, np.arange(n))
    return smallest[component]


CONNECTED_COMPONENTS = jax.jit(connected_components, static_argnums=3)


def test_connected_components_match_scipy_on_random_graphs():
    """Sparse to dense random multigraphs with self-loops, duplicate edges and isolated nodes (one vmapped call)."""
    rng = np.random.default_rng(1)
    n, n_edges, trials = 150, 300, 24
    used_nodes = rng.integers(1, n + 1, size=(trials, 1))  # edges among the first few nodes only: many isolated
    edges = rng.integers(0, n, size=(trials, n_edges, 2)) % used_nodes[:, :, None]
    active = rng.random((trials, n_edges)) < rng.choice([0.0, 0.1, 0.3, 0.6, 1.0], size=(trials, 1))
    label = jax.jit(jax.vmap(lambda e, a: connected_components(e[:, 0], e[:, 1], a, n)))
    labels = np.asarray(label(jnp.asarray(edges), jnp.asarray(active)))
    for k in range(trials):
        np.testing.assert_array_equal(labels[k], scipy_smallest_labels(n, edges[k], active[k]))


@pytest.mark.parametrize("order", ["increasing", "decreasing", "shuffled", "zigzag"])
def test_connected_components_of_long_paths(order):
    """A 3000-node path: min-label propagation needed ~3000 rounds, hooking with jumps needs ~log2."""
    n = 3000
    nodes = {"increasing": np.arange(n), "decreasing": np.arange(n)[::-1],
             "shuffled": np.random.default_rng(2).permutation(n),
             "zigzag": np.ravel(np.stack([np.arange(n // 2), np.arange(n - 1, n // 2 - 1, -1)], axis=1))}[order]
    edges = np.stack([nodes[:-1], nodes[1:]], axis=1)
    active = np.ones(n - 1, bool)
    active[1000] = False  # two paths
    labels = CONNECTED_COMPONENTS(edges[:, 0], edges[:, 1], active, n)
    np.testing.assert_array_equal(np.asarray(labels), scipy_smallest_labels(n, edges, active))


LATTICES = [  # sides 1 and 2 included (self-loops, doubled bonds), open and periodic
    Ising.chain(1), Ising.chain(2, periodic=False), Ising.chain(9), Ising.chain(9, periodic=False),
    Ising.square((1, 4)), Ising.square(2), Ising.square((5, 3), periodic=False), Ising.square((4, 6)),
    Ising.square(7, periodic=False), Ising.cubic(2), Ising.cubic((3, 1, 4), periodic=False), Ising.cubic((3, 4, 2)),
]
DENSITIES = np.array([0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 0.9, 1.0])


@pytest.mark.parametrize("model", LATTICES, ids=repr)
def test_lattice_labels_match_scipy(model):
    """Random bonds at several densities, labelled by the lattice path (one vmapped call per lattice)."""
    assert _cluster._lattice_array_shape(model) is not None  # the lattice path is the one tested
    rng = np.random.default_rng(3)
    active = rng.random((len(DENSITIES), model.n_edges)) < DENSITIES[:, None]
    labels = jax.jit(jax.vmap(lambda bonds: cluster_labels(bonds, model)))(jnp.asarray(active))
    for k in range(len(DENSITIES)):
        np.testing.assert_array_equal(np.asarray(labels[k]),
                                      scipy_smallest_labels(model.n_sites, model.edges, active[k]))


def snake_and_spiral_bonds(model):
    """Open bonds of a boustrophedon through every site of an open L×L lattice, and of a spiral."""
    Lx, Ly = model.lattice.shape
    index = {tuple(edge): k for k, edge in enumerate(np.asarray(model.edges).tolist())}

    def path_bonds(path):
        bonds = np.zeros(model.n_edges, bool)
        for a, b in zip(path[:-1], path[1:]):
            bonds[index[(min(a, b), max(a, b))]] = True
        return bonds

    snake = [y * Lx + (x if y % 2 == 0 else Lx - 1 - x) for y in range(Ly) for x in range(Lx)]
    spiral, grid = [], np.arange(Lx * Ly).reshape(Ly, Lx)
    while grid.size:
        spiral.extend(grid[0].tolist())
        grid = np.rot90(grid[1:])
    return path_bonds(snake), path_bonds(spiral)


def test_lattice_labels_of_winding_paths():
    """Paths that turn at every row (snake) or wind inwards (spiral), cut at random places."""
    rng = np.random.default_rng(4)
    model = Ising.square(30, periodic=False)
    label = jax.jit(lambda bonds: cluster_labels(bonds, model))
    for bonds in snake_and_spiral_bonds(model):
        for cuts in (0, 1, 5):
            active = bonds.copy()
            active[rng.choice(np.flatnonzero(active), cuts, replace=False)] = False
            labels = label(jnp.asarray(active))
            np.testing.assert_array_equal(np.asarray(labels), scipy_smallest_labels(model.n_sites, model.edges, active))


def test_lattice_and_graph_paths_agree():
    """The same bonds labelled as a lattice and as a general graph (Ising.from_edges) give the same labels."""
    rng = np.random.default_rng(5)
    for model in (Ising.square((6, 5)), Ising.cubic(3, periodic=False)):
        graph = Ising.from_edges(model.n_sites, np.asarray(model.edges), J=1.0)
        assert _cluster._lattice_array_shape(graph) is None
        active = jnp.asarray(rng.random(model.n_edges) < 0.6)
        np.testing.assert_array_equal(np.asarray(cluster_labels(active, model)),
                                      np.asarray(cluster_labels(active, graph)))


def test_lattice_with_foreign_edges_falls_back_to_the_graph_path():
    """A model that calls itself square but lacks a bond is labelled from its edge list."""
    model = Ising.square(4)
    # A lattice model stores no edge list (it follows from the geometry); give this one its own.
    cut = Ising(couplings=model.couplings[1:], field=model.field, lattice=model.lattice,
                edges=model.edges[1:])
    assert _cluster._lattice_array_shape(cut) is None
    active = np.random.default_rng(6).random(cut.n_edges) < 0.7
    np.testing.assert_array_equal(np.asarray(cluster_labels(jnp.asarray(active), cut)),
                                  scipy_smallest_labels(16, cut.edges, active))


def test_lattice_components_vmap_and_jit_equal_loop():
    rng = np.random.default_rng(7)
    grids = [jnp.asarray(rng.random((5, 6, 7)) < 0.55) for _ in range(2)]  # x and y bonds, 5 configs on 7×6
    batched = jax.jit(jax.vmap(lattice_components))(grids)
    for k in range(5):
        single = lattice_components([grid[k] for grid in grids])
        np.testing.assert_array_equal(np.asarray(batched[k]), np.asarray(single))


def test_wolff_cluster_is_the_component_of_the_seed():
    """grow_cluster returns exactly the open-bond component containing the seed (BFS reference)."""
    rng = np.random.default_rng(2)
    model = Ising.square(6)
    edges = np.asarray(model.edges)
    for trial in range(5):
        open_bonds = rng.random(len(edges)) < 0.5
        seed = int(rng.integers(36))
        cluster = np.asarray(grow_cluster(seed, jnp.asarray(open_bonds), model))
        graph = nx.Graph()
        graph.add_nodes_from(range(36))
        graph.add_edges_from(edges[open_bonds].tolist())
        expected = np.zeros(36, bool)
        expected[list(nx.node_connected_component(graph, seed))] = True
        np.testing.assert_array_equal(cluster, expected)


@pytest.mark.parametrize("name", KERNELS)
def test_cluster_is_aligned_and_rate_is_flipped_fraction(name):
    kernel = KERNELS[name]
    model = Ising.square(4)
    rng = np.random.default_rng(3)
    spins = np.where(rng.random(16) < 0.5, 1, -1).astype(np.int8)
    state = kernel.init(spins, model, 0.44)
    for k in range(5):
        new, info = JITTED_STEP[name](jax.random.key(k), state, model, 0.44)
        flipped = np.asarray(new.spins) != np.asarray(state.spins)
        assert float(info.acceptance_rate) == pytest.approx(flipped.mean())
        if name == "wolff":  # one cluster of aligned spins
            assert len(set(np.asarray(state.spins)[flipped].tolist())) <= 1
        state = new


@pytest.mark.parametrize("name", KERNELS)
def test_vmap_over_keys_and_betas_equals_loop(name):
    """Model and β are arguments: one vmap runs many chains or a β grid, as a loop would."""
    kernel = KERNELS[name]
    model = Ising.square(4, h=0.2)
    betas = jnp.array([0.0, 0.3, 0.6, 1.0])
    keys = jax.random.split(jax.random.key(3), 4)
    state = kernel.init(np.ones(16, np.int8), model, 0.5)
    by_key, key_info = jax.jit(jax.vmap(kernel.step, in_axes=(0, None, None, None)))(keys, state, model, 0.5)
    by_beta, _ = jax.jit(jax.vmap(kernel.step, in_axes=(0, None, None, 0)))(keys, state, model, betas)
    assert by_key.spins.dtype == jnp.int8
    for k in range(4):
        single, single_info = JITTED_STEP[name](keys[k], state, model, 0.5)
        np.testing.assert_array_equal(np.asarray(by_key.spins[k]), np.asarray(single.spins))
        assert float(key_info.acceptance_rate[k]) == float(single_info.acceptance_rate)
        single, _ = JITTED_STEP[name](keys[k], state, model, betas[k])
        np.testing.assert_array_equal(np.asarray(by_beta.spins[k]), np.asarray(single.spins))


@pytest.mark.parametrize("name", KERNELS)
def test_jit_and_no_jit_agree(name):
    kernel = KERNELS[name]
    model = Ising.square(4, h=-0.1)
    state = kernel.init(np.ones(16, np.int8), model, 0.4)
    plain, fast = state, state
    for k in range(2):
        key = jax.random.key(100 + k)
        plain, _ = kernel.step(key, plain, model, 0.4)
        fast, _ = JITTED_STEP[name](key, fast, model, 0.4)
        np.testing.assert_array_equal(np.asarray(plain.spins), np.asarray(fast.spins))


def test_beta_zero_and_huge_beta():
    """β = 0: SW flips every spin independently (bonds never open); β = 1e6 at h = 0: one cluster."""
    model = Ising.square(4)
    spins = np.ones(16, np.int8)
    state = swendsen_wang.init(spins, model, 0.0)
    _, info = JITTED_STEP["swendsen_wang"](jax.random.key(0), state, model, 0.0)
    assert 0.0 < float(info.acceptance_rate) < 1.0
    new, info = JITTED_STEP["wolff"](jax.random.key(0), wolff.init(spins, model, 1e6), model, 1e6)
    assert float(info.acceptance_rate) == 1.0
    assert np.all(np.asarray(new.spins) == -1)
