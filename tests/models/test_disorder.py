"""Disorder ensembles (SK, EA, RFIM, REM, Curie–Weiss) and the exact mean-field methods.

References are independent of the code under test: brute-force sums over all
states and all disorder patterns written here in plain NumPy, closed forms,
and the mean-field fixed point iterated here.
"""
import itertools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import logsumexp

import statmech.exact._mean_field as mean_field  # registers "curie-weiss" and "rem-sum"
from statmech.models import Ising
from statmech.models._disorder import (
    REM,
    SK,
    CurieWeiss,
    EdwardsAnderson,
    RandomFieldIsing,
    REMInstance,
    batch_axes,
    instance_seeds,
)
from statmech.thermo import log_z, thermo


# ------------------------------------------------------------ helpers
def states(n):
    """All 2^n ±1 configurations, (2^n, n) float64."""
    return np.array(list(itertools.product([-1.0, 1.0], repeat=n)))


def pair_list(model):
    return list(zip(np.asarray(model.edges).tolist(), np.asarray(model.couplings).tolist()))


def brute_energies(model):
    """H(s) for every state from the edge list, written out term by term."""
    s = states(model.n_sites)
    energy = -s @ np.asarray(model.field)
    for (i, j), coupling in pair_list(model):
        energy = energy - coupling * s[:, i] * s[:, j]
    return energy


def brute_log_z(model, beta):
    return float(logsumexp(-beta * brute_energies(model)))


# ----------------------------------------------------- seeds and batches
@pytest.mark.parametrize("ensemble", [
    SK(7), SK(5, couplings="pm1", h=0.3), EdwardsAnderson(4), EdwardsAnderson(3, dim=3, couplings="gaussian"),
    RandomFieldIsing(4, sigma=0.5), RandomFieldIsing(3, dim=3, field="pm1"),
])
def test_same_seed_same_instance_and_batch_matches_samples(ensemble):
    first, again, other = ensemble.sample(11), ensemble.sample(11), ensemble.sample(12)
    np.testing.assert_array_equal(first.couplings, again.couplings)
    np.testing.assert_array_equal(first.field, again.field)
    assert not (np.array_equal(first.couplings, other.couplings) and np.array_equal(first.field, other.field))
    assert first.n_sites == ensemble.n_sites

    batch = ensemble.sample_batch(3, 5)
    assert batch.couplings.shape == (5, first.n_edges)
    assert batch.field.shape == (5, ensemble.n_sites)
    np.testing.assert_array_equal(batch.edges, first.edges)  # shared topology, not batched
    for k, seed in enumerate(instance_seeds(3, 5)):
        single = ensemble.sample(int(seed))
        np.testing.assert_array_equal(batch.couplings[k], single.couplings)
        np.testing.assert_array_equal(batch.field[k], single.field)


def test_instance_seeds_are_distinct_and_reproducible():
    seeds = instance_seeds(0, 1000)
    assert seeds.dtype == np.int64 and len(set(seeds.tolist())) == 1000 and np.all(seeds >= 0)
    np.testing.assert_array_equal(seeds, instance_seeds(0, 1000))
    assert not np.array_equal(seeds[:10], instance_seeds(1, 10))


def test_vmap_energy_over_a_batch_of_instances():
    ensemble = SK(6, couplings="gaussian", h=0.2)
    batch = ensemble.sample_batch(0, 4)
    spins = np.random.default_rng(1).choice([-1.0, 1.0], size=(4, 6))
    expected = np.array([ensemble.sample(int(seed)).energy(s)
                         for seed, s in zip(instance_seeds(0, 4), spins)])
    axes = batch_axes(batch)
    with_jax = jax.vmap(lambda model, s: model.energy(s), in_axes=(axes, 0))(batch, jnp.asarray(spins))
    with_eqx = eqx.filter_vmap(lambda model, s: model.energy(s), in_axes=(axes, 0))(batch, jnp.asarray(spins))
    np.testing.assert_allclose(np.asarray(with_jax), expected, rtol=1e-5, atol=1e-5)  # float32 JAX
    np.testing.assert_allclose(np.asarray(with_eqx), expected, rtol=1e-5, atol=1e-5)


def test_rem_batch_and_energy_lookup():
    ensemble = REM(4)
    batch = ensemble.sample_batch(2, 3)
    assert isinstance(batch, REMInstance) and batch.energies.shape == (3, 16)
    seeds = instance_seeds(2, 3)
    np.testing.assert_array_equal(batch.energies[1], ensemble.sample(int(seeds[1])).energies)
    instance = ensemble.sample(5)
    s = np.array([1, -1, 1, 1])  # index 1 + 4 + 8 = 13
    assert instance.energy(s) == instance.energies[13]
    looked_up = jax.vmap(lambda model, x: model.energy(x), in_axes=(batch_axes(batch), None))(
        batch, jnp.asarray(s))
    np.testing.assert_allclose(np.asarray(looked_up), batch.energies[:, 13], rtol=1e-6)
    assert repr(instance) == "REMInstance(n=4)"


# ------------------------------------------------------- coupling statistics
@pytest.mark.parametrize("couplings", ["gaussian", "pm1"])
def test_sk_coupling_mean_and_variance(couplings):
    n, n_instances = 10, 2000
    values = SK(n, couplings=couplings, J=1.5).sample_batch(0, n_instances).couplings.reshape(-1)
    variance = 1.5**2 / n
    count = values.size  # 90 000 independent couplings
    assert abs(values.mean()) < 5 * math.sqrt(variance / count)
    # sd of a sample variance: σ² √(2/count) (Gaussian), σ² √(κ+2)/√count in general (κ = −2 for ±1: exact)
    assert abs(values.var() - variance) < 5 * variance * math.sqrt(2 / count) + 1e-12
    if couplings == "pm1":
        np.testing.assert_allclose(np.abs(values), 1.5 / math.sqrt(n))


def test_sk_instance_is_all_to_all_with_symmetric_matrix():
    model = SK(5, h=0.25).sample(3)
    matrix = model.coupling_matrix()
    assert model.n_edges == 10 and np.all(matrix == matrix.T) and np.all(np.diag(matrix) == 0)
    np.testing.assert_array_equal(model.field, np.full(5, 0.25))


def test_open_edwards_anderson_has_no_wrap_bonds_and_matches_periodic():
    L = 5
    periodic = EdwardsAnderson(L, periodic=True).sample(4)
    open_ = EdwardsAnderson(L, periodic=False).sample(4)
    Jh_open, Jv_open = open_.bond_arrays()
    Jh, Jv = periodic.bond_arrays()
    assert np.all(Jh_open[:, -1] == 0) and np.all(Jv_open[-1, :] == 0)
    np.testing.assert_array_equal(Jh_open[:, :-1], Jh[:, :-1])  # same draw, wrap bonds removed
    np.testing.assert_array_equal(Jv_open[:-1, :], Jv[:-1, :])
    assert open_.n_edges == 2 * L * (L - 1)
    x = np.asarray(open_.edges) % L
    y = np.asarray(open_.edges) // L
    assert np.all(np.abs(x[:, 0] - x[:, 1]) + np.abs(y[:, 0] - y[:, 1]) == 1)  # nearest neighbours only
    assert set(np.unique(np.abs(periodic.couplings)).tolist()) == {1.0}


@pytest.mark.parametrize("periodic", [True, False])
def test_edwards_anderson_3d_uses_the_cubic_site_and_edge_order(periodic):
    L = 3
    model = EdwardsAnderson(L, dim=3, couplings="gaussian", periodic=periodic).sample(0)
    reference = Ising.cubic(L, periodic=periodic)
    np.testing.assert_array_equal(model.edges, reference.edges)
    assert model.lattice == reference.lattice and model.n_sites == 27
    # site (x, y, z) has index (z L + y) L + x: bond along x joins i and i + 1 (mod L in x)
    i, j = np.asarray(model.edges)[0]
    assert (i, j) == (0, 1)
    s = np.random.default_rng(0).choice([-1.0, 1.0], size=27)
    expected = -sum(c * s[a] * s[b] for (a, b), c in pair_list(model))
    assert model.energy(s) == pytest.approx(expected)
    assert len(np.unique(model.couplings)) == model.n_edges


def test_random_field_ising_statistics():
    ensemble = RandomFieldIsing(10, sigma=0.7, J=0.5)
    batch = ensemble.sample_batch(0, 200)
    fields = batch.field.reshape(-1)  # 20 000 fields
    assert abs(fields.mean()) < 5 * 0.7 / math.sqrt(fields.size)
    assert abs(fields.std() - 0.7) < 5 * 0.7 / math.sqrt(2 * fields.size)
    assert np.all(batch.couplings == 0.5)
    pm1 = RandomFieldIsing(4, dim=3, sigma=2.0, field="pm1").sample(1)
    np.testing.assert_array_equal(np.abs(pm1.field), 2.0)
    assert pm1.lattice.kind == "cubic"


def test_documented_draw_order_of_the_couplings():
    """SK: pair k is the k-th (i < j) in row-major order; EA 2D: Jh[y, x] then Jv[y, x] (row-major)."""
    n, seed = 6, 42
    rng = np.random.default_rng(seed)
    values = rng.standard_normal(15) / math.sqrt(n)
    i, j = np.triu_indices(n, 1)
    np.testing.assert_allclose(SK(n).sample(seed).coupling_matrix()[i, j], values, rtol=1e-14)

    L = 4
    rng = np.random.default_rng(seed)
    Jh = 2.0 * rng.integers(0, 2, size=(L, L)) - 1.0
    Jv = 2.0 * rng.integers(0, 2, size=(L, L)) - 1.0
    model = EdwardsAnderson(L, couplings="pm1").sample(seed)
    got_h, got_v = model.bond_arrays()
    np.testing.assert_array_equal(got_h, Jh)
    np.testing.assert_array_equal(got_v, Jv)
    # and the energy agrees with the bond arrays summed by hand, Jh[y, x] joining (x, y)–(x+1, y)
    s = np.random.default_rng(0).choice([-1.0, 1.0], size=(L, L))  # s[y, x]
    by_hand = -np.sum(Jh * s * np.roll(s, -1, axis=1)) - np.sum(Jv * s * np.roll(s, -1, axis=0))
    assert model.energy(s.reshape(-1)) == pytest.approx(by_hand)


def test_reprs_are_readable():
    assert repr(SK(8)) == "SK(n=8, couplings='gaussian', J=1.0, h=0.0)"
    assert "EdwardsAnderson(L=4, dim=3" in repr(EdwardsAnderson(4, dim=3))
    assert repr(REM(5)) == "REM(n=5)"


# ---------------------------------------------------------- annealed closed forms
def exact_disorder_average_of_z(n, edges, scale, h, beta):
    """E[Z] over all 2^E equally likely coupling patterns J_e = ±scale (exact, by enumeration)."""
    s = states(n)
    edges = np.asarray(edges)
    products = s[:, edges[:, 0]] * s[:, edges[:, 1]]  # (2^n, E)
    patterns = scale * np.array(list(itertools.product([-1.0, 1.0], repeat=len(edges))))
    log_weights = beta * (patterns @ products.T + h * s.sum(axis=1))  # (2^E, 2^n)
    return float(np.mean(np.exp(logsumexp(log_weights, axis=1))))


@pytest.mark.parametrize("beta,h", [(0.7, 0.0), (1.3, 0.4)])
def test_sk_pm1_annealed_closed_form_by_enumerating_all_couplings(beta, h):
    n = 4
    i, j = np.triu_indices(n, 1)
    expected = math.log(exact_disorder_average_of_z(n, np.stack([i, j], 1), 1 / math.sqrt(n), h, beta)) / n
    assert SK(n, couplings="pm1", h=h).annealed_free_entropy_density(beta) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("dim,periodic,h", [(2, False, 0.0), (2, True, 0.3), (3, False, 0.2)])
def test_edwards_anderson_pm1_annealed_closed_form_by_enumerating_all_couplings(dim, periodic, h):
    beta, L = 0.8, 2
    ensemble = EdwardsAnderson(L, dim=dim, periodic=periodic, h=h)
    template = ensemble.sample(0)
    expected = math.log(exact_disorder_average_of_z(template.n_sites, template.edges, 1.0, h, beta))
    expected /= template.n_sites
    assert ensemble.annealed_free_entropy_density(beta) == pytest.approx(expected, rel=1e-12)


def test_random_field_pm1_annealed_closed_form_by_enumerating_all_fields():
    beta, sigma, L = 0.9, 0.6, 2
    ensemble = RandomFieldIsing(L, sigma=sigma, J=0.7, periodic=False, field="pm1")
    z = [math.exp(brute_log_z(Ising.square(L, J=0.7, h=sigma * np.array(signs), periodic=False), beta))
         for signs in itertools.product([-1.0, 1.0], repeat=L * L)]
    expected = math.log(np.mean(z)) / (L * L)
    clean = brute_log_z(ensemble.clean_model(), beta)
    assert ensemble.annealed_free_entropy_density(beta, clean_log_z=clean) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(NotImplementedError, match="clean_log_z"):
        ensemble.annealed_free_entropy_density(beta)


def test_sk_gaussian_annealed_closed_form_by_monte_carlo_over_instances():
    """E[Z] of SK N=4 from 20 000 instances (Z of each by brute force) within 4 standard errors."""
    n, beta, n_instances = 4, 1.0, 20000
    couplings = SK(n).sample_batch(7, n_instances).couplings  # (K, 6), pairs in triu order
    i, j = np.triu_indices(n, 1)
    s = states(n)
    products = s[:, i] * s[:, j]  # (16, 6)
    z = np.exp(beta * couplings @ products.T).sum(axis=1)
    mean, stderr = z.mean(), z.std(ddof=1) / math.sqrt(n_instances)
    closed = math.exp(n * SK(n).annealed_free_entropy_density(beta))
    assert abs(mean - closed) < 4 * stderr
    assert closed == pytest.approx(16 * math.exp(beta**2 * 6 / (2 * n)))  # E e^{βJ x} = e^{β²/(2N)}


def test_rem_annealed_closed_form_by_monte_carlo_over_instances():
    n, beta, n_instances = 3, 0.5, 20000
    energies = REM(n).sample_batch(0, n_instances).energies
    assert abs(energies.var() - n / 2) < 5 * (n / 2) * math.sqrt(2 / energies.size)
    z = np.exp(-beta * energies).sum(axis=1)
    closed = math.exp(n * REM(n).annealed_free_entropy_density(beta))
    assert closed == pytest.approx(2**n * math.exp(beta**2 * n / 4))
    assert abs(z.mean() - closed) < 4 * z.std(ddof=1) / math.sqrt(n_instances)


def test_annealed_accepts_a_beta_grid():
    grid = np.array([0.0, 0.5, 2.0])
    values = SK(10).annealed_free_entropy_density(grid)
    np.testing.assert_allclose(values, math.log(2) + grid**2 * 9 / 40)
    assert EdwardsAnderson(4).annealed_free_entropy_density(0.0) == pytest.approx(math.log(2))


# --------------------------------------------------------------- Curie–Weiss
@pytest.mark.parametrize("n,J,h", [(2, 1.0, 0.0), (7, 1.0, 0.3), (12, -0.8, 0.0), (16, 1.3, -0.2)])
def test_curie_weiss_method_matches_enumeration(n, J, h):
    model = CurieWeiss(n, J=J, h=h).sample(0)
    betas = np.array([0.0, 0.3, 1.0, 2.5, 1e6])
    fast = thermo(model, betas, method="curie-weiss")
    slow = thermo(model, betas, method="enumerate")
    for name in ("log_z", "energy", "specific_heat", "magnetization", "susceptibility_density",
                 "abs_magnetization_density"):
        a, b = getattr(fast, name).value, getattr(slow, name).value
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10 * max(1.0, np.max(np.abs(b[:-1]))),
                                   err_msg=name)
    # and against a brute-force sum written here (all but the ground-state β)
    expected = [brute_log_z(model, beta) for beta in betas[:-1]]
    np.testing.assert_allclose(fast.log_z.value[:-1], expected, rtol=1e-12)


def test_curie_weiss_is_chosen_by_auto_and_applies_to_any_uniform_all_to_all_model():
    # a periodic triangle is all-to-all with J = 0.4 on every pair
    triangle = Ising.chain(3, J=0.4, h=0.1, periodic=True)
    assert log_z(triangle, 0.7).method == "curie-weiss"
    assert log_z(triangle, 0.7).value == pytest.approx(brute_log_z(triangle, 0.7), rel=1e-13)
    # parallel bonds summed: two bonds of 0.2 on each pair behave like 0.4
    doubled = Ising.from_edges(3, [(0, 1), (1, 2), (0, 2), (1, 0), (2, 1), (2, 0)], [0.2] * 6, h=0.1)
    assert log_z(doubled, 0.7, method="curie-weiss").value == pytest.approx(
        log_z(triangle, 0.7).value, rel=1e-13)


@pytest.mark.parametrize("model,reason", [
    (Ising.chain(4, J=1.0), "every pair"),
    (SK(5).sample(0), "same coupling"),
    (Ising.from_couplings(np.ones((3, 3)) - np.eye(3), h=[0.1, 0.2, 0.3]), "uniform field"),
])
def test_curie_weiss_refuses_models_it_does_not_fit(model, reason):
    with pytest.raises(ValueError, match=reason):
        log_z(model, 0.5, method="curie-weiss")


def mean_field_by_iteration(beta, J, h):
    """m from m ← tanh(β(Jm + h)) started at +1 (monotone: the largest fixed point), φ at m."""
    m = 1.0
    for _ in range(200000):
        m = math.tanh(beta * (J * m + h))
    x = beta * (J * m + h)
    return m, math.log(2 * math.cosh(x)) - beta * J * m * m / 2


@pytest.mark.parametrize("beta,h", [(0.5, 0.0), (1.5, 0.0), (0.8, 0.2), (2.0, 0.05)])
def test_curie_weiss_mean_field_fixed_point_and_finite_n_convergence(beta, h):
    m, phi = mean_field_by_iteration(beta, 1.0, h)
    limit = mean_field.curie_weiss_mean_field(beta, J=1.0, h=h)
    assert limit.free_entropy_density.value == pytest.approx(phi, abs=1e-12)
    assert limit.abs_magnetization_density.value == pytest.approx(abs(m), abs=1e-10)
    # log Z_N / N → φ with an O(1/N) correction (Gaussian fluctuations / two-peak log 2)
    gaps = [abs(mean_field.curie_weiss_log_z(n, 1.0 / n, h, beta)[0] / n - phi) for n in (100, 1000, 10000)]
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] < 5e-4 and 10000 * gaps[2] < 5


def test_curie_weiss_mean_field_derivatives_by_finite_differences():
    beta, h, step = 1.4, 0.1, 1e-5

    def phi(b, field=h):
        return float(mean_field.curie_weiss_mean_field(b, 1.0, field).free_entropy_density.value)

    result = mean_field.curie_weiss_mean_field(beta, 1.0, h)
    energy = -(phi(beta + step) - phi(beta - step)) / (2 * step)
    assert result.energy_density.value == pytest.approx(energy, rel=1e-6)

    def u(b):
        return float(mean_field.curie_weiss_mean_field(b, 1.0, h).energy_density.value)

    heat = -beta**2 * (u(beta + step) - u(beta - step)) / (2 * step)
    assert result.specific_heat_density.value == pytest.approx(heat, rel=1e-5)
    magnetization = (phi(beta, h + step) - phi(beta, h - step)) / (2 * step) / beta
    assert result.magnetization_density.value == pytest.approx(magnetization, rel=1e-6)

    def m(field):
        return float(mean_field.curie_weiss_mean_field(beta, 1.0, field).magnetization_density.value)

    assert result.susceptibility_density.value == pytest.approx((m(h + step) - m(h - step)) / (2 * step),
                                                                rel=1e-5)


def test_curie_weiss_mean_field_limits():
    result = mean_field.curie_weiss_mean_field([0.0, 0.5, 1e6], J=1.0, h=0.0)
    np.testing.assert_allclose(result.free_entropy_density.value[:2], math.log(2))
    assert result.free_entropy_density.value[2] == pytest.approx(0.5e6)  # −β E_0/N, E_0/N = −J/2
    np.testing.assert_array_equal(result.magnetization_density.value, 0.0)
    assert result.susceptibility_density.value[1] == pytest.approx(0.5 / (1 - 0.5))


def test_curie_weiss_ensemble_is_not_random():
    ensemble = CurieWeiss(6, J=1.0, h=0.1)
    np.testing.assert_array_equal(ensemble.sample(0).couplings, ensemble.sample(99).couplings)
    assert ensemble.annealed_free_entropy_density(0.9) == pytest.approx(
        brute_log_z(ensemble.sample(0), 0.9) / 6, rel=1e-12)


# ----------------------------------------------------------------------- REM
def test_rem_sum_matches_numpy():
    instance = REM(12).sample(3)
    energies = instance.energies
    betas = np.array([0.0, 0.4, 1.7, 1e6])
    result = thermo(instance, betas)  # auto picks the only exact method
    assert result.method == "rem-sum" and result.n_sites == 12
    for k, beta in enumerate(betas[:-1]):
        weights = np.exp(-beta * energies)
        p = weights / weights.sum()
        assert result.log_z.value[k] == pytest.approx(math.log(weights.sum()), rel=1e-12)
        assert result.energy.value[k] == pytest.approx(p @ energies, rel=1e-10, abs=1e-10)
        variance = p @ (energies - p @ energies) ** 2
        assert result.specific_heat.value[k] == pytest.approx(beta**2 * variance, rel=1e-9, abs=1e-12)
    assert result.log_z.value[-1] == pytest.approx(-1e6 * energies.min(), rel=1e-14)
    assert result.energy.value[-1] == pytest.approx(energies.min())
    assert result.magnetization is None


# ------------------------------------------------------------------- bad input
@pytest.mark.parametrize("make,match", [
    (lambda: EdwardsAnderson(4, dim=4), "dim must be 2"),
    (lambda: RandomFieldIsing(4, dim=1), "dim must be 2"),
    (lambda: SK(1), "n >= 2"),
    (lambda: CurieWeiss(1), "n >= 2"),
    (lambda: SK(5, couplings="cauchy"), "unknown coupling distribution 'cauchy'"),
    (lambda: EdwardsAnderson(4, couplings="uniform"), "unknown coupling distribution"),
    (lambda: RandomFieldIsing(4, field="binary"), "unknown field distribution"),
    (lambda: RandomFieldIsing(4, sigma=-1.0), "sigma .* >= 0"),
    (lambda: REM(27), "2\\^n energies, which must fit in memory: n <= 26"),
    (lambda: SK(5, J=float("nan")), "finite"),
    (lambda: EdwardsAnderson(1), "L must be >= 2"),
    (lambda: instance_seeds(0, 0), "n_instances must be >= 1"),
    (lambda: instance_seeds(-1, 3), "seed must be >= 0"),
])
def test_bad_input_is_refused_with_a_clear_message(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_seed_must_be_an_int():
    with pytest.raises(TypeError, match="seed must be an int"):
        SK(4).sample(1.5)
    with pytest.raises(TypeError, match="batch_axes needs"):
        batch_axes(np.zeros(3))
