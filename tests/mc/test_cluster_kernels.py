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
from scipy import stats

from statmech.mc import _cluster
from statmech.mc._base import SpinState
from statmech.mc._cluster import (
    FRUSTRATED_MESSAGE,
    connected_components,
    grow_cluster,
    swendsen_wang,
    wolff,
)
from statmech.models import Ising

KERNELS = {"wolff": wolff, "swendsen_wang": swendsen_wang}
JITTED_STEP = {name: jax.jit(kernel.step) for name, kernel in KERNELS.items()}
KEYS = (11, 22, 33, 44)
N_CHAINS = 20_000


# ------------------------------------------------------------------ references
def all_states(n):
    codes = np.arange(2**n)
    return 1 - 2 * ((codes[:, None] >> np.arange(n)) & 1)  # bit i set ↔ s_i = −1


def state_codes(spins):
    bits = (1 - np.asarray(spins, dtype=np.int64)) // 2
    return bits @ (1 << np.arange(bits.shape[-1]))


def boltzmann_probabilities(model, beta):
    """p(s) ∝ exp(−βH(s)) over all 2^N states, H from the edge list (plain NumPy)."""
    s = all_states(model.n_sites).astype(np.float64)
    edges = np.asarray(model.edges)
    energy = -(np.asarray(model.couplings) * s[:, edges[:, 0]] * s[:, edges[:, 1]]).sum(1)
    energy -= s @ np.asarray(model.field)
    log_w = -beta * energy
    w = np.exp(log_w - log_w.max())
    return w / w.sum()


def chi2_pvalue(spins, probabilities, min_expected=20.0):
    """Pearson χ² of the state histogram; states expected < 20 times are pooled into one bin.

    (With a floor of 5, exact multinomial draws gave p < 0.01 in 1.75 % of
    400 trials — Poisson tails of many sparse bins; with 20, 1.25 %.)
    """
    counts = np.bincount(state_codes(spins), minlength=probabilities.size)
    expected = counts.sum() * probabilities
    small = expected < min_expected
    observed, expect = counts[~small], expected[~small]
    if small.any():
        observed = np.append(observed, counts[small].sum())
        expect = np.append(expect, expected[small].sum())
    return stats.chisquare(observed, expect).pvalue


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
    return stats.combine_pvalues(np.maximum(pvalues, 1e-300), method="fisher").pvalue, pvalues


def open_chain():
    rng = np.random.default_rng(5)
    return Ising.chain(8, J=rng.uniform(0.2, 1.5, 7), periodic=False)


def mixed_field_chain():
    rng = np.random.default_rng(6)
    return Ising.chain(8, J=rng.uniform(0.2, 1.5, 7), h=rng.normal(0.0, 0.4, 8), periodic=False)


CASES = {
    "square3_beta0.4": (lambda: Ising.square(3), 0.4),
    "square3_beta0.6": (lambda: Ising.square(3), 0.6),
    "open_chain8_beta0.7": (open_chain, 0.7),
    "square3_h0.3_beta0.4": (lambda: Ising.square(3, h=0.3), 0.4),
    "chain8_mixed_field_beta0.7": (mixed_field_chain, 0.7),
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
    with pytest.raises(ValueError, match=r"beta must be finite and >= 0"):
        kernel.init(np.ones(9), model, -0.1)
    with pytest.raises(ValueError, match="vmap over beta"):
        kernel.init(np.ones(9), model, np.array([0.1, 0.2]))


# ------------------------------------------------------- structure and purity
def test_connected_components_match_networkx():
    rng = np.random.default_rng(1)
    for trial in range(5):
        n, e = 40, 60
        edges = rng.integers(0, n, size=(e, 2))
        active = rng.random(e) < 0.6
        labels = np.asarray(connected_components(edges[:, 0], edges[:, 1], jnp.asarray(active), n))
        graph = nx.Graph()
        graph.add_nodes_from(range(n))
        graph.add_edges_from(edges[active].tolist())
        for component in nx.connected_components(graph):
            members = sorted(component)
            assert np.all(labels[members] == members[0])


def test_wolff_cluster_is_the_component_of_the_seed():
    """Frontier growth returns exactly the open-bond component containing the seed (BFS reference)."""
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
