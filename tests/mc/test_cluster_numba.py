"""Numba Wolff and Swendsen–Wang (statmech.mc._cluster_numba).

The reference is the exact Boltzmann distribution over all 2^N states,
computed here by brute force with plain NumPy from the edge list. Samples are
the final states of many independent chains started from random spins, so
the χ² test sees i.i.d. draws; p-values over fixed seeds are combined with
Fisher's method (threshold 0.01), and the negative controls (β off by 5 %, a
broken bond probability, ghost bonds never opened) must fail.
"""
import re

import jax
import numpy as np
import pytest
from scipy import sparse, stats
from scipy.sparse import csgraph

import statmech as sm
from statmech.mc import _cluster_numba
from statmech.mc._cluster import FRUSTRATED_MESSAGE
from statmech.mc._cluster_numba import run_chains
from statmech.models import Ising
from statmech import testing
from statmech.testing import boltzmann_probabilities

METHODS = ("wolff", "swendsen-wang")
SEEDS = (11, 22, 33, 44)
N_CHAINS = 20_000
N_STEPS = {"wolff": 60, "swendsen-wang": 30}


# ------------------------------------------------------------------ references
def chi2_pvalue(spins, probabilities, min_expected=20.0):
    return testing.chi2_pvalue(spins, probabilities, min_expected)


def final_states(method, model, beta, seed, n_chains=N_CHAINS):
    """Final spins of ``n_chains`` independent chains after N_STEPS[method] steps from random spins."""
    run = run_chains(model, beta, method, 1, n_chains=n_chains, burn_in=N_STEPS[method] - 1, seed=seed)
    return run.final


def combined_pvalue(method, model, beta_run, beta_exact, seeds=SEEDS):
    probabilities = boltzmann_probabilities(model, beta_exact)
    pvalues = [chi2_pvalue(final_states(method, model, beta_run, seed), probabilities) for seed in seeds]
    return testing.fisher_combined_pvalue(pvalues), pvalues


def open_chain():
    return testing.random_chain(8, seed=5)


def mixed_field_chain():
    return testing.random_chain(8, seed=6, field_scale=0.4)


def random_bond_square():
    """Non-uniform (Jh, Jv) on an open 4×3 lattice: the lattice path with per-bond thresholds."""
    rng = np.random.default_rng(7)
    return Ising.square((4, 3), J=(rng.uniform(0.1, 1.2, (3, 3)), rng.uniform(0.1, 1.2, (2, 4))), periodic=False)


def graph_with_field():
    """A general graph (the adjacency path) with mixed fields."""
    rng = np.random.default_rng(8)
    edges = [(0, 1), (1, 2), (2, 0), (2, 3), (3, 4), (4, 5), (5, 3), (5, 6), (1, 7), (7, 6)]
    return Ising.from_edges(8, edges, J=rng.uniform(0.2, 1.0, len(edges)), h=rng.normal(0.0, 0.3, 8))


CASES = {
    "square3_beta0.4": (lambda: Ising.square(3), 0.4),
    "square3_beta0.6": (lambda: Ising.square(3), 0.6),
    "chain9_beta0.8": (lambda: Ising.chain(9), 0.8),
    "open_chain8_beta0.7": (open_chain, 0.7),
    "square3_h0.3_beta0.4": (lambda: Ising.square(3, h=0.3), 0.4),
    "chain8_mixed_field_beta0.7": (mixed_field_chain, 0.7),
    "open_square3x3_beta0.5": (lambda: Ising.square(3, periodic=False), 0.5),
    "open_square4x3_random_J_beta0.8": (random_bond_square, 0.8),
    "cubic2_beta0.2": (lambda: Ising.cubic(2), 0.2),  # periodic side 2: every pair bonded twice
    "graph8_field_beta0.6": (graph_with_field, 0.6),
}


# -------------------------------------------------------------------- smoke
@pytest.mark.parametrize("method", METHODS)
def test_smoke_distribution_square3(method):
    """One seed, 4000 chains: the 3×3 torus at β = 0.4 matches Boltzmann."""
    model = Ising.square(3)
    p = chi2_pvalue(final_states(method, model, 0.4, 7, 4000), boltzmann_probabilities(model, 0.4))
    assert p > 1e-3


# -------------------------------------------------------------- statistical
@pytest.mark.statistical
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("method", METHODS)
def test_distribution_matches_boltzmann(method, case):
    build, beta = CASES[case]
    p, pvalues = combined_pvalue(method, build(), beta, beta)
    print(f"{method} {case}: Fisher p = {p:.3g}, per seed {np.round(pvalues, 3)}")
    assert p > 0.01


@pytest.mark.statistical
@pytest.mark.parametrize("method", METHODS)
def test_negative_control_beta_off_by_five_percent(method):
    p, _ = combined_pvalue(method, Ising.square(3), 0.4 * 1.05, 0.4)
    print(f"{method} β off by 5%: Fisher p = {p:.3g}")
    assert p < 0.01


@pytest.mark.statistical
@pytest.mark.parametrize("method", METHODS)
def test_negative_control_broken_bond_probability(method, monkeypatch):
    """p = 1 − exp(−βJ) instead of 1 − exp(−2βJ) samples β/2: it must fail."""
    monkeypatch.setattr(_cluster_numba, "_bond_probability", lambda beta, j: -np.expm1(-beta * np.asarray(j)))
    p, _ = combined_pvalue(method, Ising.square(3), 0.6, 0.6)
    print(f"{method} broken p: Fisher p = {p:.3g}")
    assert p < 0.01


@pytest.mark.statistical
@pytest.mark.parametrize("method", METHODS)
def test_negative_control_ghost_bonds_never_open(method, monkeypatch):
    """Clusters flipped as if h = 0 ignore the field: it must fail."""
    monkeypatch.setattr(_cluster_numba, "_ghost_probability", lambda beta, h: np.zeros(np.shape(h)))
    p, _ = combined_pvalue(method, Ising.square(3, h=0.3), 0.4, 0.4)
    print(f"{method} ghost bonds never open: Fisher p = {p:.3g}")
    assert p < 0.01


# ---------------------------------------------- observables vs exact values
@pytest.mark.parametrize("method", METHODS)
def test_energy_and_abs_magnetisation_match_enumeration(method):
    """4×4 torus at three temperatures: E/N, C/N and |m| within 4σ of exact enumeration."""
    model = Ising.square(4)
    betas = np.array([0.3, sm.CRITICAL_BETA, 0.6])
    sampled = sm.thermo(model, betas, method=method, backend="numba", n_sweeps=20000, n_chains=4, seed=3)
    exact = sm.thermo(model, betas, method="enumerate")
    for name in ("energy_density", "specific_heat_density", "abs_magnetization_density"):
        estimate, truth = getattr(sampled, name), getattr(exact, name)
        z = (estimate.value - truth.value) / estimate.stderr
        assert np.all(np.abs(z) < 4), (method, name, z)


def yang_magnetisation(beta):
    """Spontaneous magnetisation of the infinite square lattice, (1 − sinh(2β)^−4)^(1/8) (C. N. Yang 1952)."""
    return (1.0 - np.sinh(2.0 * beta) ** -4) ** 0.125


@pytest.mark.parametrize("method, n_sweeps", [
    ("swendsen-wang", 4000), pytest.param("wolff", 40000, marks=pytest.mark.slow)])
def test_energy_matches_kaufman_at_L32(method, n_sweeps):
    """L = 32 at β = 0.3, β_c, 0.6: E/N and C/N within 4σ of Kaufman; at β = 0.6 (ξ ≈ 1.7 ≪ L, finite-size
    corrections ~e^{−L/ξ}) |m| within 4σ of Yang's spontaneous magnetisation."""
    model = Ising.square(32)
    betas = np.array([0.3, sm.CRITICAL_BETA, 0.6])
    sampled = sm.thermo(model, betas, method=method, backend="numba", n_sweeps=n_sweeps, n_chains=4, seed=5)
    exact = sm.thermo(model, betas, method="kaufman")
    for name in ("energy_density", "specific_heat_density"):
        estimate, truth = getattr(sampled, name), getattr(exact, name)
        z = (estimate.value - truth.value) / estimate.stderr
        assert np.all(np.abs(z) < 4), (method, name, z)
    m = sampled.abs_magnetization_density
    z = (m.value[2] - yang_magnetisation(0.6)) / m.stderr[2]
    assert abs(z) < 4, (method, z)


@pytest.mark.slow
@pytest.mark.parametrize("L", [16, 64])
@pytest.mark.parametrize("method, n_sweeps", [("swendsen-wang", 6000), ("wolff", 20000)])
def test_energy_and_abs_magnetisation_at_larger_L(L, method, n_sweeps):
    """E/N and C/N vs Kaufman within 4σ at three temperatures; |m| vs the JAX reference kernel within 4σ
    (combined error) at β = 0.3 and β_c, and vs Yang's magnetisation at β = 0.6."""
    model = Ising.square(L)
    betas = np.array([0.3, sm.CRITICAL_BETA, 0.6])
    sampled = sm.thermo(model, betas, method=method, backend="numba", n_sweeps=n_sweeps, n_chains=4, seed=L)
    exact = sm.thermo(model, betas, method="kaufman")
    for name in ("energy_density", "specific_heat_density"):
        estimate, truth = getattr(sampled, name), getattr(exact, name)
        z = (estimate.value - truth.value) / estimate.stderr
        assert np.all(np.abs(z) < 4), (method, L, name, z)
    m = sampled.abs_magnetization_density
    assert abs(m.value[2] - yang_magnetisation(0.6)) / m.stderr[2] < 4
    reference = sm.thermo(model, betas[:2], method="swendsen-wang", backend="reference", n_sweeps=3000,
                          n_chains=4, seed=L + 1).abs_magnetization_density
    z = (m.value[:2] - reference.value) / np.hypot(m.stderr[:2], reference.stderr)
    assert np.all(np.abs(z) < 4), (method, L, z)


# ------------------------------------------------------- energy bookkeeping
BOOKKEEPING_MODELS = [
    Ising.square((5, 4), h=0.2), Ising.square((6, 5), periodic=False), random_bond_square(),
    Ising.cubic(3), Ising.cubic((3, 4, 5), periodic=False, h=-0.1), Ising.chain(7, h=0.3), open_chain(),
    Ising.cubic(2), Ising.chain(1), Ising.square((1, 4)), graph_with_field(),
    Ising.from_couplings(np.triu(np.random.default_rng(0).uniform(0, 1, (6, 6)), 1)
                         + np.triu(np.random.default_rng(0).uniform(0, 1, (6, 6)), 1).T, h=0.1),
]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("model", BOOKKEEPING_MODELS, ids=repr)
def test_recorded_energy_and_magnetisation_are_those_of_the_spins(method, model):
    """The kernels' running H and M equal H and M recomputed from the recorded spins (any neighbour
    wrongly computed would show here), with thinning."""
    run = run_chains(model, 0.5, method, 40, n_chains=2, burn_in=3, thin=3, seed=1, record_spins=True)
    np.testing.assert_allclose(run.energy, model.energy(run.spins.astype(np.float64)), rtol=0, atol=1e-9)
    np.testing.assert_array_equal(run.magnetization, run.spins.sum(axis=-1))
    np.testing.assert_array_equal(run.final, run.spins[:, -1])


# --------------------------------------------------------- labelling vs scipy
def scipy_smallest_labels(n, edges, active):
    """Each node labelled by the smallest node of its component, from scipy's connected_components."""
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)[np.asarray(active, bool)]
    graph = sparse.coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    count, component = csgraph.connected_components(graph, directed=False)
    smallest = np.full(count, n)
    np.minimum.at(smallest, component, np.arange(n))
    return smallest[component]


def test_union_find_labels_match_scipy():
    """Random multigraphs with self-loops, duplicate edges and isolated nodes, sparse to dense."""
    rng = np.random.default_rng(1)
    n = 150
    for density in (0.0, 0.1, 0.3, 0.6, 1.0):
        for used in (1, 20, 150):
            edges = rng.integers(0, used, size=(300, 2))
            active = rng.random(300) < density
            labels = _cluster_numba.union_find_labels(n, edges[:, 0], edges[:, 1], active)
            np.testing.assert_array_equal(labels, scipy_smallest_labels(n, edges, active))


def kernel_arrays(model, open_bonds, method):
    """The step functions' bond arrays with thresholds 2⁵³ (always open) or 0 (never) for each bond of ``model``.

    Returns (lattice, geometry, graph, thresholds, weights) as ``run_chains`` passes them; self-bonds are
    dropped by the kernels (a constant energy), so ``open_bonds`` must be False there.
    """
    graph = _cluster_numba._graph(model)
    per_bond = np.where(open_bonds, np.uint64(2**53), np.uint64(0)).astype(np.uint64)
    if graph.geometry is not None:
        geometry = graph.geometry.copy()
        geometry[5] = 0  # per-bond thresholds
        arrays = graph.lattice_weights  # bonds from site b along axis a, in the order of model.edges (J = 1 here)
        thresholds = np.zeros(arrays.shape, np.uint64)
        start = 0
        for a in range(arrays.shape[0]):
            exists = arrays[a] != 0
            thresholds[a, exists] = per_bond[start:start + exists.sum()]
            start += exists.sum()
        return True, geometry, graph, thresholds, np.ascontiguousarray(arrays)
    geometry = np.array([model.n_sites, 1, 1, 1, 0, 0], np.int64)
    edges = np.asarray(model.edges)
    kept = np.flatnonzero((edges[:, 0] != edges[:, 1]) & (np.asarray(model.couplings) > 0))
    if method == "wolff":  # one threshold per adjacency entry
        return False, geometry, graph, per_bond[kept][graph.adjacency_bond][None, :], \
            graph.weights[graph.adjacency_bond][None, :]
    return False, geometry, graph, per_bond[kept][None, :], graph.weights[None, :]


LABEL_MODELS = [Ising.square((7, 5)), Ising.square((6, 4), periodic=False), Ising.cubic((3, 4, 3)),
                Ising.chain(9, periodic=False),
                Ising.from_edges(12, np.random.default_rng(2).integers(0, 12, (30, 2)), J=1.0)]


def random_open_bonds(model, seed, density):
    edges = np.asarray(model.edges)
    return (np.random.default_rng(seed).random(model.n_edges) < density) & (edges[:, 0] != edges[:, 1])


@pytest.mark.parametrize("model", LABEL_MODELS, ids=repr)
def test_swendsen_wang_kernel_clusters_match_scipy(model):
    """With bonds forced open or shut and all spins up, the kernel's clusters (sites whose spins agree in
    all of 64 updates) are scipy's connected components of the open bonds."""
    open_bonds = random_open_bonds(model, 3, 0.5)
    lattice, geometry, graph, thresholds, weights = kernel_arrays(model, open_bonds, "swendsen-wang")
    n = model.n_sites
    parent = np.empty(n + 1, np.int64)
    coins = np.empty(n // 64 + 1, np.uint64)
    history = np.empty((64, n), np.int8)
    counter, position, buffer = np.uint64(0), _cluster_numba.BUFFER, np.empty(_cluster_numba.BUFFER, np.uint64)
    for k in range(64):
        s = np.ones(n, np.int8)
        counter, position = _cluster_numba._sw_step(
            s, lattice, geometry, graph.sources, graph.targets, thresholds, weights, np.uint64(0), 0.0, graph.field,
            np.zeros(n, np.uint64), False, np.uint64(99), counter, buffer, position, parent, coins)[:2]
        history[k] = s
    _, cluster = np.unique(history.T, axis=0, return_inverse=True)
    cluster = cluster.ravel()
    smallest = np.full(cluster.max() + 1, n)
    np.minimum.at(smallest, cluster, np.arange(n))
    np.testing.assert_array_equal(smallest[cluster], scipy_smallest_labels(n, model.edges, open_bonds))


@pytest.mark.parametrize("model", LABEL_MODELS, ids=repr)
def test_wolff_kernel_flips_the_component_of_its_seed(model):
    """With bonds forced open or shut and all spins up, each Wolff step flips one whole component."""
    open_bonds = random_open_bonds(model, 4, 0.25)  # below percolation: many clusters
    lattice, geometry, graph, thresholds, weights = kernel_arrays(model, open_bonds, "wolff")
    expected = scipy_smallest_labels(model.n_sites, model.edges, open_bonds)
    n = model.n_sites
    stack, members = np.empty(n, np.int32), np.empty(n, np.int32)
    counter, position, buffer = np.uint64(0), _cluster_numba.BUFFER, np.empty(_cluster_numba.BUFFER, np.uint64)
    seen = set()
    for _ in range(40):
        s = np.ones(n, np.int8)
        counter, position, count, _, d_m = _cluster_numba._wolff_step(
            s, lattice, geometry, graph.indptr, graph.neighbors, thresholds, weights, np.uint64(0), 0.0,
            graph.field, np.zeros(n, np.uint64), False, np.uint64(5), counter, buffer, position, stack, members)
        flipped = np.flatnonzero(s == -1)
        assert count == flipped.size and d_m == -2 * count
        np.testing.assert_array_equal(flipped, np.flatnonzero(expected == expected[flipped[0]]))
        seen.add(expected[flipped[0]])
    assert len(seen) > 1


# ------------------------------------------------------------ reproducibility
@pytest.mark.parametrize("method", METHODS)
def test_reproducible_for_a_seed_and_chains_are_streams(method):
    model = Ising.square(6, h=0.1)
    first = run_chains(model, 0.4, method, 30, n_chains=3, burn_in=5, seed=8, record_spins=True)
    again = run_chains(model, 0.4, method, 30, n_chains=3, burn_in=5, seed=8, record_spins=True)
    other = run_chains(model, 0.4, method, 30, n_chains=3, burn_in=5, seed=9, record_spins=True)
    np.testing.assert_array_equal(first.spins, again.spins)
    np.testing.assert_array_equal(first.energy, again.energy)
    assert not np.array_equal(first.spins, other.spins)
    # chain c is stream (seed, c): the same whatever the number of chains
    fewer = run_chains(model, 0.4, method, 30, n_chains=2, burn_in=5, seed=8, record_spins=True)
    np.testing.assert_array_equal(fewer.spins, first.spins[:2])
    assert not np.array_equal(first.spins[0], first.spins[1])


def test_front_door_backends():
    model = Ising.square(6)
    numba = sm.sample(model, 0.44, method="wolff", n_sweeps=20, n_chains=2, burn_in=5, seed=0, backend="numba")
    auto = sm.sample(model, 0.44, method="wolff", n_sweeps=20, n_chains=2, burn_in=5, seed=0)
    if jax.default_backend() == "cpu":  # auto is numba when JAX runs on the CPU
        np.testing.assert_array_equal(numba["spins"].values, auto["spins"].values)
    assert numba.attrs["kernel"] == "wolff[numba]"
    np.testing.assert_allclose(numba["energy"].values, model.energy(numba["spins"].values.astype(float)))
    reference = sm.sample(model, 0.44, method="swendsen-wang", n_sweeps=5, n_chains=1, burn_in=0, seed=0,
                          backend="reference")
    assert reference.attrs["kernel"] == "swendsen_wang"
    t = sm.thermo(model, 0.44, method="swendsen-wang", n_sweeps=200, seed=0, backend="numba")
    assert t.meta["kernel"] == "swendsen-wang[numba]" and np.isfinite(t.energy_density.stderr)


# ------------------------------------------------------------ bad input
@pytest.mark.parametrize("method", METHODS)
def test_bad_input_is_refused(method):
    rng = np.random.default_rng(0)
    J = rng.normal(size=(5, 5))
    with pytest.raises(ValueError, match=re.escape(FRUSTRATED_MESSAGE)):
        run_chains(Ising.from_couplings(np.triu(J, 1) + np.triu(J, 1).T), 0.5, method, 10)
    model = Ising.square(3)
    with pytest.raises(ValueError, match=r"beta must be >= 0"):
        run_chains(model, -0.1, method, 10)
    with pytest.raises(ValueError, match="one call per beta"):
        run_chains(model, np.array([0.1, 0.2]), method, 10)
    with pytest.raises(ValueError, match="start must be 'random' or 'up'"):
        run_chains(model, 0.4, method, 10, start="down")
    with pytest.raises(ValueError, match="n_draws must be >= 1"):
        run_chains(model, 0.4, method, 0)
    with pytest.raises(TypeError, match="thin must be an int"):
        run_chains(model, 0.4, method, 10, thin=1.5)
    with pytest.raises(ValueError, match="method must be one of"):
        run_chains(model, 0.4, "metropolis", 10)
    with pytest.raises(ValueError, match="method 'wolff' runs on backend"):
        sm.thermo(model, 0.4, method="wolff", backend="multispin", n_sweeps=100)


# ----------------------------------------------------------- random numbers
def uniformity_pvalue(words):
    """χ² of the top 8 bits over 256 bins."""
    return stats.chisquare(np.bincount((words >> np.uint64(56)).astype(np.int64), minlength=256)).pvalue


def neighbour_correlation(a, b):
    """Pearson correlation of the top-53-bit uniforms of two streams."""
    return np.corrcoef((a >> np.uint64(11)).astype(np.float64), (b >> np.uint64(11)).astype(np.float64))[0, 1]


@pytest.mark.statistical
def test_generator_is_uniform_and_neighbouring_streams_are_uncorrelated():
    """Top bytes uniform, lag-1 and neighbouring-chain correlations within 4/√n of 0 (Fisher over seeds);
    the negative control (the counter·γ sequence without the finaliser) fails both."""
    n = 200_000
    pvalues, worst = [], 0.0
    for seed in SEEDS:
        keys = [_cluster_numba.stream_key(seed, chain) for chain in (0, 1)]
        a, b = (_cluster_numba.random_words(np.uint64(key), 1, n) for key in keys)
        pvalues += [uniformity_pvalue(a), uniformity_pvalue(b)]
        worst = max(worst, abs(neighbour_correlation(a, b)), abs(neighbour_correlation(a[:-1], a[1:])))
    assert testing.fisher_combined_pvalue(pvalues) > 0.01
    assert worst < 4 / np.sqrt(n)
    # negative control: key + k·γ alone (no finaliser)
    raw = (np.uint64(12345) + np.arange(1, n + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15))
    bad_correlation = abs(neighbour_correlation(raw[:-1], raw[1:]))
    assert uniformity_pvalue(raw) < 0.01 or bad_correlation > 4 / np.sqrt(n)
