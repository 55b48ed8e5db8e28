"""Batched exact enumeration (log_z_batch) against brute force and method "enumerate", instance by instance.

References: a plain-NumPy sum over itertools.product with the energy written
bond by bond from the edge list (tiny systems), the NumPy enumeration of each
instance drawn on its own with ``ensemble.sample(seed_k)``, and closed forms
(β = 0: N log 2; β → ∞: −β E₀ + log 2 for a non-degenerate Gaussian glass).
"""
import itertools
import math

import numpy as np
import pytest

import statmech as sm
from statmech.exact._batched import MAX_BATCHED_SITES, log_z_batch
from statmech.models import Ising
from statmech.models._disorder import instance_seeds
from statmech.testing import gaussian_couplings

BETAS = np.array([0.0, 0.3, 2.0, 1e6])


def brute_log_z(n, edges, couplings, field, beta):
    """log Σ_s exp(−β H(s)), H = −Σ_e J_e s_i s_j − Σ h_i s_i, over all 2^n states (max-shifted)."""
    states = np.array(list(itertools.product([-1.0, 1.0], repeat=n)))
    energies = -states @ np.asarray(field, dtype=float)
    for (i, j), coupling in zip(edges, couplings):
        energies -= coupling * states[:, i] * states[:, j]
    log_weights = -beta * energies
    shift = log_weights.max()
    return shift + math.log(np.exp(log_weights - shift).sum())


def enumerate_reference(ensemble, seed, n_instances, betas):
    """(K, B) log Z of each instance drawn on its own, by the NumPy method "enumerate"."""
    return np.array([sm.thermo(ensemble.sample(int(s)), betas, method="enumerate").log_z.value
                     for s in instance_seeds(seed, n_instances)])


# ------------------------------------------------------------ brute force
def test_tiny_glass_with_field_matches_brute_force():
    rng = np.random.default_rng(11)
    n = 6
    J = gaussian_couplings(rng, n)
    h = rng.normal(size=n) * 0.5
    model = Ising.from_couplings(J, h=h)
    edges = [(i, j) for i in range(n) for j in range(i + 1, n)]
    couplings = [J[i, j] for i, j in edges]
    expected = [brute_log_z(n, edges, couplings, h, beta) for beta in BETAS]
    np.testing.assert_allclose(log_z_batch(model, BETAS), [expected], rtol=1e-13, atol=1e-12)


def test_tiny_batch_without_field_matches_brute_force_and_ground_state_limit():
    ensemble = sm.SK(6)
    batch = ensemble.sample_batch(5, 4)
    edges = np.asarray(batch.edges)
    got = log_z_batch(batch, BETAS)
    assert got.shape == (4, len(BETAS))
    for k in range(4):
        couplings = np.asarray(batch.couplings)[k]
        expected = [brute_log_z(6, edges, couplings, np.zeros(6), beta) for beta in BETAS]
        np.testing.assert_allclose(got[k], expected, rtol=1e-13, atol=1e-12)
        # β → ∞: log Z = −β E₀ + log 2 (a Gaussian glass has one ground state up to the global flip)
        states = np.array(list(itertools.product([-1.0, 1.0], repeat=6)))
        energies = -np.sum(couplings * states[:, edges[:, 0]] * states[:, edges[:, 1]], axis=1)
        assert got[k, -1] + 1e6 * energies.min() == pytest.approx(math.log(2.0), abs=1e-8)


def test_self_bonds_and_parallel_bonds():
    # chain(1) periodic: one self-bond (a constant −J); chain(2) periodic: two parallel bonds (0,1), (1,0).
    for n, J, h in ((1, 0.7, 0.3), (2, [0.4, -1.1], [0.2, -0.5]), (3, [1.0, -0.5, 0.25], 0.0)):
        model = Ising.chain(n, J=J, h=h, periodic=True)
        edges = np.asarray(model.edges)
        expected = [brute_log_z(n, edges, np.asarray(model.couplings), np.asarray(model.field), b) for b in BETAS]
        np.testing.assert_allclose(log_z_batch(model, BETAS)[0], expected, rtol=1e-13, atol=1e-12)


# -------------------------------------------------- every instance of an ensemble
@pytest.mark.parametrize("ensemble", [
    sm.SK(12, couplings="gaussian"),
    sm.SK(11, couplings="pm1"),
    sm.SK(8, couplings="gaussian", h=0.4),
    sm.EdwardsAnderson(3, couplings="pm1", periodic=True),
    sm.EdwardsAnderson(4, couplings="gaussian", periodic=False),
    sm.RandomFieldIsing(3, sigma=1.0),
    sm.RandomFieldIsing(4, sigma=0.5, field="pm1", periodic=False),
], ids=repr)
def test_every_instance_equals_numpy_enumeration(ensemble):
    n_instances, seed = 5, 42
    got = log_z_batch(ensemble.sample_batch(seed, n_instances), BETAS)
    expected = enumerate_reference(ensemble, seed, n_instances, BETAS)
    # β = 1e6 gives |log Z| ~ 1e7: relative 1e-13 there is ~1e-6 absolute, float64's limit.
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-10)
    assert np.all(np.isfinite(got))


def test_instances_keep_their_order_and_chunking_does_not_matter():
    ensemble = sm.EdwardsAnderson(3, couplings="gaussian")
    batch = ensemble.sample_batch(7, 7)
    default = log_z_batch(batch, 0.8)
    one_by_one = [log_z_batch(ensemble.sample(int(s)), 0.8)[0] for s in instance_seeds(7, 7)]
    np.testing.assert_allclose(default, one_by_one, rtol=1e-14)
    assert len(np.unique(default)) == 7  # distinct instances, so a permutation would be caught
    for chunk_size in (1, 3, 7, 100):  # 3 pads the last chunk
        np.testing.assert_allclose(log_z_batch(batch, 0.8, chunk_size=chunk_size), default, rtol=1e-14)


def test_beta_zero_is_n_log_2():
    for model in (sm.SK(10).sample_batch(0, 3), sm.RandomFieldIsing(3).sample_batch(0, 3),
                  Ising.square(4, J=1.0, h=0.2)):
        n = model.n_sites
        np.testing.assert_allclose(log_z_batch(model, 0.0), n * math.log(2.0), rtol=1e-15)


def test_shapes():
    batch = sm.SK(6).sample_batch(1, 3)
    assert log_z_batch(batch, 0.5).shape == (3,)
    assert log_z_batch(batch, [0.5]).shape == (3, 1)
    assert log_z_batch(batch, [0.1, 0.5]).shape == (3, 2)
    single = sm.SK(6).sample_batch(1, 1)
    plain = sm.SK(6).sample(int(instance_seeds(1, 1)[0]))
    assert log_z_batch(single, 0.5).shape == (1,)
    np.testing.assert_allclose(log_z_batch(plain, 0.5), log_z_batch(single, 0.5), rtol=1e-15)
    value = float(sm.log_z(plain, 0.5, method="enumerate"))
    assert log_z_batch(plain, 0.5)[0] == pytest.approx(value, rel=1e-13)


def test_does_not_switch_jax_to_64_bit_globally():
    import jax
    import jax.numpy as jnp

    log_z_batch(sm.SK(5).sample_batch(0, 2), 1.0)
    assert jnp.zeros(1).dtype == (jnp.float64 if jax.config.jax_enable_x64 else jnp.float32)
    assert not jax.config.jax_enable_x64


# ---------------------------------------------------------------- bad input
def test_bad_input():
    batch = sm.SK(5).sample_batch(0, 2)
    with pytest.raises(TypeError, match="needs an Ising model"):
        log_z_batch(sm.REM(4).sample_batch(0, 2), 1.0)
    with pytest.raises(TypeError, match="needs an Ising model"):
        log_z_batch(np.zeros((2, 5, 5)), 1.0)
    with pytest.raises(ValueError, match=">= 0"):
        log_z_batch(batch, -0.1)
    with pytest.raises(ValueError, match="NaN"):
        log_z_batch(batch, [0.1, float("nan")])
    with pytest.raises(ValueError, match="finite"):
        log_z_batch(batch, float("inf"))
    with pytest.raises(TypeError, match="beta"):
        log_z_batch(batch, "hot")
    with pytest.raises(ValueError, match="chunk_size must be >= 1"):
        log_z_batch(batch, 1.0, chunk_size=0)
    with pytest.raises(TypeError, match="chunk_size must be an int"):
        log_z_batch(batch, 1.0, chunk_size=2.0)
    big = Ising.chain(MAX_BATCHED_SITES + 1)
    with pytest.raises(ValueError, match=r"method='enumerate'\) per instance"):
        log_z_batch(big, 1.0)
    mismatched = type(batch)(edges=batch.edges, couplings=np.asarray(batch.couplings)[:1],
                             field=batch.field, neighbors=batch.neighbors,
                             neighbor_edges=batch.neighbor_edges, lattice=batch.lattice)
    with pytest.raises(ValueError, match="same K"):
        log_z_batch(mismatched, 1.0)
    broken = type(batch)(edges=batch.edges, couplings=np.full_like(np.asarray(batch.couplings), np.nan),
                         field=batch.field, neighbors=batch.neighbors,
                         neighbor_edges=batch.neighbor_edges, lattice=batch.lattice)
    with pytest.raises(ValueError, match="NaN or inf"):
        log_z_batch(broken, 1.0)
