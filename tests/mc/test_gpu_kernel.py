"""The fused JAX checkerboard kernels (backend "jax-fused", statmech.mc._gpu), run on the CPU.

Distribution tests as in tests/mc/test_multispin.py: draws from many
independent chains (random starts, a burn-in, draws spaced far beyond the
autocorrelation time) against the exact Boltzmann distribution over all 2^N
states; χ² of the state histogram with fixed seeds, Fisher-combined (pass:
p > 0.01). Negative controls (β off by 5 %, acceptance p → sqrt(p)) must give
p < 0.01. Geometry and bond signs are checked exactly by zero-temperature
sweeps against a NumPy checkerboard quench; energy and |m| at L = 64 against
Kaufman's exact energy and Yang's magnetisation.
"""
import equinox as eqx
import jax.numpy as jnp
import numpy as np
import pytest

import statmech as sm
from statmech.mc import _gpu
from statmech.models import Ising
from statmech.testing import boltzmann_probabilities, chi2_pvalue, fisher_combined_pvalue

SEEDS = (101, 202, 303, 404)


def pm_j(model, seed):
    rng = np.random.default_rng(seed)
    signs = rng.choice([-1.0, 1.0], model.n_edges)
    return eqx.tree_at(lambda m: m.couplings, model, np.abs(np.asarray(model.couplings)) * signs)


SYSTEMS = {  # name: (model, beta)
    "ferro6x2": (lambda: Ising.square((6, 2)), 0.4),
    "pmj4x2": (lambda: pm_j(Ising.square((4, 2)), 1), 0.7),
    "anti2x6": (lambda: Ising.square((2, 6), J=-0.5), 0.6),
    "pmj4x4": (lambda: pm_j(Ising.square(4, J=0.6), 5), 0.5),
}


def combined_pvalue(system, method, beta_factor=1.0, seeds=SEEDS, n_chains=4000, burn_in=120, n_draws=5,
                    thin=30):
    make, beta = SYSTEMS[system]
    model = make()
    pvalues = []
    for seed in seeds:
        run = _gpu.run(model, beta * beta_factor, method, n_chains=n_chains, n_sweeps=n_draws * thin,
                       burn_in=burn_in, thin=thin, seed=seed, record_spins=True)
        pvalues.append(chi2_pvalue(run.spins.reshape(-1, model.n_sites), boltzmann_probabilities(model, beta)))
    return fisher_combined_pvalue(pvalues), pvalues


@pytest.fixture
def broken_acceptance(monkeypatch):
    """Acceptance sqrt(p) instead of p: wrong on purpose."""
    original = _gpu.acceptance_table

    def broken(beta, method, coupling):
        values = np.arange(-4, 5, 2, dtype=np.float64)
        x = 2.0 * beta * coupling * values
        p = np.exp(-np.maximum(x, 0.0)) if method == "metropolis" else 1.0 / (1.0 + np.exp(-x))
        scaled = np.rint(np.sqrt(p) * 2.0**32)
        always = scaled >= 2.0**32
        assert original(beta, method, coupling)[1].shape == always.shape
        return np.where(always, 0, scaled).astype(np.uint32), always

    monkeypatch.setattr(_gpu, "acceptance_table", broken)


# ------------------------------------------------------------------ fast smoke
def test_smoke_distribution_passes_and_negative_control_fails(broken_acceptance):
    options = dict(seeds=(1, 2), n_chains=1000, burn_in=20, n_draws=4, thin=10)
    bad, _ = combined_pvalue("pmj4x2", "metropolis", **options)
    assert bad < 0.01


def test_smoke_distribution_passes():
    options = dict(seeds=(1, 2), n_chains=1000, burn_in=20, n_draws=4, thin=10)
    for system in ("pmj4x2", "anti2x6"):
        good, pvalues = combined_pvalue(system, "metropolis", **options)
        assert good > 0.01, (system, pvalues)


# ---------------------------------------------------------------- statistical
@pytest.mark.statistical
@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("method", ["metropolis", "heatbath"])
def test_distribution_matches_boltzmann(system, method):
    p, pvalues = combined_pvalue(system, method)
    assert p > 0.01, pvalues


@pytest.mark.statistical
@pytest.mark.parametrize("system", ["ferro6x2", "pmj4x4"])
@pytest.mark.parametrize("method", ["metropolis", "heatbath"])
def test_negative_control_beta_off_by_five_percent(system, method):
    p, pvalues = combined_pvalue(system, method, beta_factor=1.05)
    assert p < 0.01, pvalues


@pytest.mark.statistical
@pytest.mark.parametrize("method", ["metropolis", "heatbath"])
def test_negative_control_broken_acceptance(method, broken_acceptance):
    p, pvalues = combined_pvalue("pmj4x4", method)
    assert p < 0.01, pvalues


# ------------------------------------------------------------ exact geometry
def quench_reference(model, spins):
    """One zero-temperature checkerboard sweep: black (x + y even) then white, s ← −s where ΔE ≤ 0."""
    s = np.array(spins, dtype=np.float64)
    J = model.coupling_matrix()
    Lx, Ly = model.lattice.shape
    parity = np.indices((Ly, Lx)).sum(0).reshape(-1) % 2
    for colour in (0, 1):
        group = np.flatnonzero(parity == colour)
        delta = 2 * s[group] * (J[group] @ s)
        s[group] = np.where(delta <= 0, -s[group], s[group])
    return s.astype(np.int8)


def start_configurations(model, seed, n_chains):
    lattice = _gpu.FusedLattice(model)
    keys = jnp.asarray(_gpu.chain_keys(seed, 0, n_chains))
    return np.asarray(lattice.unpack(_gpu.start_spins(lattice.shape, "random", keys)))


@pytest.mark.parametrize("make", [lambda: pm_j(Ising.square((8, 6)), 1), lambda: pm_j(Ising.square((2, 4)), 2),
                                  lambda: Ising.square((6, 10), J=-1.5)],
                         ids=["pmj8x6", "pmj2x4", "anti6x10"])
def test_zero_temperature_sweeps_are_the_checkerboard_quench(make):
    model = make()
    run = _gpu.run(model, 1e6, "metropolis", n_chains=3, n_sweeps=2, burn_in=0, thin=1, seed=9, record_spins=True)
    starts = start_configurations(model, 9, 3)
    for c in range(3):
        first = quench_reference(model, starts[c])
        np.testing.assert_array_equal(run.spins[c, 0], first)
        np.testing.assert_array_equal(run.spins[c, 1], quench_reference(model, first))
    np.testing.assert_allclose(run.energy, model.energy(run.spins.astype(np.float64)), atol=1e-9)
    np.testing.assert_array_equal(run.magnetization, run.spins.sum(-1, dtype=np.int64))


def test_recorded_observables_and_reproducibility():
    model = pm_j(Ising.square((8, 6), J=0.7), 3)  # the shapes of the quench test: no new compilation
    options = dict(n_chains=3, n_sweeps=12, burn_in=5, thin=6, record_spins=True)
    first = _gpu.run(model, 0.3, "metropolis", seed=3, **options)
    again = _gpu.run(model, 0.3, "metropolis", seed=3, **options)
    other = _gpu.run(model, 0.3, "metropolis", seed=4, **options)
    np.testing.assert_allclose(first.energy, model.energy(first.spins.astype(np.float64)), atol=1e-9)
    np.testing.assert_array_equal(first.magnetization, first.spins.sum(-1, dtype=np.int64))
    np.testing.assert_array_equal(first.spins, again.spins)
    np.testing.assert_array_equal(first.energy, again.energy)
    assert not np.array_equal(first.spins, other.spins)
    assert not np.array_equal(first.spins[0], first.spins[1])  # chains have their own streams


def test_pack_unpack_round_trip():
    lattice = _gpu.FusedLattice(Ising.square((6, 4)))
    spins = np.random.default_rng(0).choice(np.array([-1, 1], np.int8), (3, 24))
    np.testing.assert_array_equal(np.asarray(lattice.unpack(lattice.pack(spins))), spins)


def test_acceptance_table_resolves_p_to_two_to_the_minus_32():
    beta, coupling = 0.4406868, 1.0
    thresholds, always = _gpu.acceptance_table(beta, "metropolis", coupling)
    p = np.exp(-np.maximum(2 * beta * coupling * np.arange(-4, 5, 2), 0))
    taken = np.where(always, 1.0, thresholds / 2.0**32)
    assert np.all(np.abs(taken - p) <= 2.0**-33)
    assert list(always) == [True, True, True, False, False]
    thresholds, always = _gpu.acceptance_table(beta, "heatbath", coupling)
    q = 1 / (1 + np.exp(-2 * beta * coupling * np.arange(-4, 5, 2)))
    assert np.all(np.abs(np.where(always, 1.0, thresholds / 2.0**32) - q) <= 2.0**-33)


@pytest.mark.parametrize("method", ["metropolis", "heatbath"])
@pytest.mark.parametrize("beta_coupling", [0.0, 0.2, 0.4406868, -0.7, 3.0, -6.0, 1e6, -1e6])
def test_specialised_decision_equals_the_table_lookup(method, beta_coupling):
    """The compiled decision (runs of "always"/"never" as one comparison) takes exactly the moves of the table."""
    thresholds, always = _gpu.acceptance_table(abs(beta_coupling), method, np.sign(beta_coupling) or 1.0)
    pattern = _gpu.decision_pattern(thresholds, always)
    rng = np.random.default_rng(7)
    v = np.repeat(np.arange(-4, 5, 2, dtype=np.int8), 4000)
    u = rng.integers(0, 2**32, v.size, dtype=np.uint64).astype(np.uint32)
    u[::97] = thresholds[(v[::97] + 4) // 2]  # words on the thresholds and one below: the boundary cases
    u[1::97] = thresholds[(v[1::97] + 4) // 2] - np.uint32(1)
    index = (v.astype(int) + 4) // 2
    expected = always[index] | (u < thresholds[index])
    taken = np.asarray(_gpu._decide(jnp.asarray(v), jnp.asarray(u), jnp.asarray(thresholds), pattern))
    np.testing.assert_array_equal(taken, expected)
    drawn = np.array([pattern[i] == "draw" for i in index])
    if drawn.any():  # the draw entries take some moves and refuse others
        assert 0 < expected[drawn].mean() < 1


@pytest.mark.parametrize("system", ["ferro6x2", "anti2x6", "pmj4x4"])
@pytest.mark.parametrize("method", ["metropolis", "heatbath"])
def test_neighbour_layouts_give_the_same_chain(system, method):
    """The "roll" and "padded" neighbour reads are the same sums: the same spins and energies, bit for bit."""
    make, beta = SYSTEMS[system]
    model = make()
    options = dict(n_chains=3, n_sweeps=24, burn_in=5, thin=6, seed=8, record_spins=True)
    runs = [_gpu.run(model, beta, method, layout=layout, **options) for layout in _gpu.LAYOUTS]
    np.testing.assert_array_equal(runs[0].spins, runs[1].spins)
    np.testing.assert_array_equal(runs[0].energy, runs[1].energy)
    np.testing.assert_allclose(runs[0].energy, model.energy(runs[0].spins.astype(np.float64)), atol=1e-9)
    assert _gpu.default_layout() == "padded"  # these tests run on the CPU
    with pytest.raises(ValueError, match="layout must be one of"):
        _gpu.run(model, beta, method, layout="rolled", **options)


def test_decision_refuses_a_pattern_that_is_not_monotone():
    with pytest.raises(ValueError, match="not monotone"):
        _gpu._decide(jnp.zeros(5, jnp.int8), jnp.zeros(5, jnp.uint32), jnp.zeros(5, jnp.uint32),
                     ("always", "draw", "always", "draw", "draw"))


def test_hash_words_are_uniform_and_differ_between_streams():
    keys = jnp.asarray(_gpu.chain_keys(0, 0, 2))
    a, b = _gpu.stream_keys(keys, jnp.arange(2, dtype=jnp.uint32))
    words = [np.asarray(_gpu.hash_words(a[w], b[w], (64, 32))) for w in (0, 1)]
    u = np.concatenate([w.ravel() for w in words]) / 2.0**32
    counts = np.histogram(u, bins=16, range=(0, 1))[0]
    expected = u.size / 16
    chi2 = np.sum((counts - expected) ** 2 / expected)
    assert chi2 < 37.7  # χ²(15) 0.999 quantile
    assert np.mean(words[0] == words[1]) < 1e-3 and np.mean(words[0][0] == words[0][1]) < 1e-3


def test_front_door_runs_the_backend_and_rejects_what_it_cannot_run():
    model = Ising.square(8)
    thermo = sm.thermo(model, 0.3, method="metropolis", backend="jax-fused", n_sweeps=200, n_chains=2, seed=0)
    assert thermo.meta["backend"] == "jax-fused" and thermo.meta["kernel"] == "jax_fused_metropolis"
    sample = sm.sample(model, 0.3, method="heatbath", backend="jax-fused", n_sweeps=5, n_chains=2, seed=1)
    assert sample.spins.shape == (2, 5, 64)
    np.testing.assert_allclose(sample.energy, model.energy(np.asarray(sample.spins, np.float64)))
    for bad, match in ((Ising.square(8, h=0.1), "h = 0"), (Ising.square(7), "even sides"),
                       (Ising.cubic(4), "square lattice"), (Ising.square(4, periodic=False), "periodic"),
                       (Ising.square(4, J=(np.arange(1.0, 17).reshape(4, 4), np.ones((4, 4)))), "one magnitude")):
        with pytest.raises(ValueError, match=match):
            sm.thermo(bad, 0.3, method="metropolis", backend="jax-fused", n_sweeps=400)
    with pytest.raises(ValueError, match="sm.thermo and sm.sample only"):
        sm.mc._sampling.select_kernel(model, "metropolis", "jax-fused")
    with pytest.raises(ValueError, match="beta must be"):
        _gpu.run(model, -1.0, "metropolis", n_chains=1, n_sweeps=2, burn_in=0, thin=1, seed=0)


# -------------------------------------------------------------- vs Kaufman
@pytest.mark.slow
@pytest.mark.parametrize("method", ["metropolis", "heatbath"])
def test_energy_and_abs_magnetization_at_L64_match_exact_values(method):
    """Energy vs Kaufman at β = 0.3, 0.5, 0.6; |m| vs Yang at 0.5 and 0.6 (L = 64 ≫ ξ there).

    Ordered start: from a random one, local dynamics at β = 0.6 can freeze into long-lived stripes.
    """
    model = Ising.square(64)
    betas = np.array([0.3, 0.5, 0.6])
    sampled = sm.thermo(model, betas, method=method, backend="jax-fused", n_sweeps=4000, n_chains=8, seed=64,
                       start="up")
    exact = sm.thermo(model, betas, method="kaufman").energy_density.value
    z = (sampled.energy_density.value - exact) / sampled.energy_density.stderr
    assert np.all(np.abs(z) < 4), z
    m = sampled.abs_magnetization_density
    yang = sm.spontaneous_magnetization(betas[1:])
    z = (m.value[1:] - yang) / m.stderr[1:]
    assert np.all(np.abs(z) < 4), z
