"""Local kernels (Metropolis, heat bath; sequential and checkerboard) and the chain drivers.

The reference is the exact Boltzmann distribution over all 2^N states,
computed here by brute force with plain NumPy from the edge list. Draws come
from many independent chains (vmapped over keys, random starts, a burn-in,
then a few draws spaced far beyond the autocorrelation time: τ_exp ≲ 10
sweeps for the slowest case, heat bath on the 3×3 torus). The χ² test of the
state histogram is repeated with fixed keys and the p-values are combined with
Fisher's method (pass: p > 0.01). Negative controls (β off by 5 %, a broken
acceptance exp(−βΔE/2), a synchronous update of all sites) must give p < 0.01.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from statmech.mc import _local
from statmech.mc._base import Kernel, SpinState, StepInfo
from statmech.mc._local import (
    checkerboard_heatbath,
    checkerboard_metropolis,
    colored_kernel,
    graph_coloring,
    hashed_checkerboard_heatbath,
    hashed_checkerboard_metropolis,
    heatbath,
    metropolis,
    run_chain,
    run_chain_observables,
)
from statmech.models import Ising
from statmech.testing import boltzmann_probabilities, chi2_pvalue, fisher_combined_pvalue, gaussian_couplings
from statmech.testing import edge_list_energy as brute_energy

KERNELS = {k.name: k for k in (metropolis, heatbath, checkerboard_metropolis, checkerboard_heatbath)}
HASHED = {k.name: k for k in (hashed_checkerboard_metropolis, hashed_checkerboard_heatbath)}  # two-colourable only
ALL_KERNELS = {**KERNELS, **HASHED}
SEEDS = (101, 202, 303, 404)


# ------------------------------------------------------------------ references
def random_spins(rng, n):
    return rng.choice(np.array([-1, 1], dtype=np.int8), size=n)


# -------------------------------------------------------------------- systems
def ferro_torus():
    """2D 3×3 periodic ferromagnet in a field (odd sides: checkerboard uses a graph colouring)."""
    return Ising.square(3, J=1.0, h=0.3), 0.4


def open_chain():
    rng = np.random.default_rng(8)
    return Ising.chain(8, J=rng.normal(size=7), h=rng.normal(0.0, 0.5, 8), periodic=False), 1.0


def gaussian_glass():
    """Frustrated Gaussian spin glass on the complete graph, N = 6."""
    return Ising.from_couplings(gaussian_couplings(np.random.default_rng(6), 6)), 1.0


def pm_j_open_square():
    """3×3 open ±J square lattice with random fields (packed 2D path, odd Lx padded)."""
    rng = np.random.default_rng(3)
    Jh = rng.choice([-1.0, 1.0], size=(3, 2))
    Jv = rng.choice([-1.0, 1.0], size=(2, 3))
    return Ising.square(3, J=(Jh, Jv), h=rng.normal(0.0, 0.3, 9), periodic=False), 0.8


def gaussian_torus_4x2():
    """4×2 periodic Gaussian-bond square lattice (packed 2D path; Ly = 2 doubles the y bonds)."""
    rng = np.random.default_rng(4)
    return Ising.square((4, 2), J=(rng.normal(size=(2, 4)), rng.normal(size=(2, 4))),
                        h=rng.normal(0.0, 0.3, 8)), 0.6


def cubic_2():
    """2×2×2 periodic cube (packed 3D path)."""
    rng = np.random.default_rng(2)
    return Ising.cubic(2, J=0.5, h=rng.normal(0.0, 0.3, 8)), 0.4


SYSTEMS = {
    "ferro_torus3": ferro_torus,
    "open_chain8": open_chain,
    "gaussian_glass6": gaussian_glass,
    "pm_j_open_square3": pm_j_open_square,
    "gaussian_torus4x2": gaussian_torus_4x2,
    "cubic2": cubic_2,
}


# ------------------------------------------------------------------- sampling
_SAMPLERS = {}


def sampler(kernel, system, n_chains, n_burn=120, n_draws=5, thin=30):
    """Cached jit(vmap) sampler: (seed, beta) → (n_chains·n_draws, N) draws.

    Each chain starts from random spins and ``run_chain`` keeps every
    ``thin``-th of ``n_burn + n_draws·thin`` sweeps; the draws within the
    burn-in are dropped.
    """
    if n_burn % thin:
        raise ValueError("n_burn must be a multiple of thin")
    cache_key = (kernel, system, n_chains, n_burn, n_draws, thin)
    if cache_key not in _SAMPLERS:
        model, _ = SYSTEMS[system]()

        def one_chain(key, beta):
            start_key, run_key = jax.random.split(key)
            spins = jax.random.rademacher(start_key, (model.n_sites,), jnp.int8)
            draws = run_chain(kernel, run_key, spins, model, beta, n_burn + n_draws * thin, thin)[1]
            return draws[n_burn // thin:]

        vmapped = jax.jit(jax.vmap(one_chain, in_axes=(0, None)))

        def sample(seed, beta):
            keys = jax.random.split(jax.random.key(seed), n_chains)
            return np.asarray(vmapped(keys, beta)).reshape(-1, model.n_sites)

        _SAMPLERS[cache_key] = sample
    return _SAMPLERS[cache_key]


def combined_pvalue(kernel, system, beta_factor=1.0, seeds=SEEDS, n_chains=4000, **options):
    """Fisher-combined χ² p-value of draws at β·beta_factor against Boltzmann at β."""
    model, beta = SYSTEMS[system]()
    sample = sampler(kernel, system, n_chains, **options)
    probabilities = boltzmann_probabilities(model, beta)
    pvalues = [chi2_pvalue(sample(seed, beta * beta_factor), probabilities) for seed in seeds]
    return fisher_combined_pvalue(pvalues), pvalues


# ------------------------------------------------------- deliberately wrong kernels
def _broken_metropolis_step(key, state, model, beta):
    """Sequential Metropolis accepting with exp(−βΔE/2): wrong on purpose."""
    s = state.spins
    u = jax.random.uniform(key, s.shape)

    def body(i, s):
        delta = model.delta_energy(s.astype(jnp.float32), i)
        return s.at[i].set(jnp.where(u[i] < jnp.exp(-beta * delta / 2), -s[i], s[i]))

    new = jax.lax.fori_loop(0, s.shape[0], body, s)
    return SpinState(spins=new), StepInfo(acceptance_rate=jnp.mean((new != s).astype(jnp.float32)))


def _synchronous_heatbath_step(key, state, model, beta):
    """Heat bath on every site at once from the old fields: wrong on purpose (not a colouring)."""
    s = state.spins
    field = model.local_field(s.astype(jnp.float32))
    up = jax.random.uniform(key, s.shape) < jax.nn.sigmoid(2 * beta * field)
    new = jnp.where(up, 1, -1).astype(jnp.int8)
    return SpinState(spins=new), StepInfo(acceptance_rate=jnp.mean((new != s).astype(jnp.float32)))


BROKEN_METROPOLIS = Kernel("broken_metropolis", metropolis.init, _broken_metropolis_step)
SYNCHRONOUS_HEATBATH = Kernel("synchronous_heatbath", heatbath.init, _synchronous_heatbath_step)


# ------------------------------------------------------------------ fast smoke
def test_smoke_distribution_and_broken_control():
    """2 keys × 8000 draws on the open ±J 3×3 lattice: checkerboard passes, broken Metropolis fails."""
    seeds = (1, 2)
    options = dict(n_chains=1000, n_burn=20, n_draws=4, thin=10)
    good, _ = combined_pvalue(checkerboard_metropolis, "pm_j_open_square3", seeds=seeds, **options)
    bad, _ = combined_pvalue(BROKEN_METROPOLIS, "pm_j_open_square3", seeds=seeds, **options)
    assert good > 0.01
    assert bad < 0.01


# ---------------------------------------------------------------- statistical
@pytest.mark.statistical
@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("name", KERNELS)
def test_distribution_matches_boltzmann(name, system):
    p, pvalues = combined_pvalue(KERNELS[name], system)
    assert p > 0.01, pvalues


@pytest.mark.statistical
@pytest.mark.parametrize("system", ["ferro_torus3", "gaussian_glass6"])
def test_colored_kernel_matches_boltzmann(system):
    model, _ = SYSTEMS[system]()
    p, pvalues = combined_pvalue(colored_kernel(model, "heatbath"), system)
    assert p > 0.01, pvalues


@pytest.mark.statistical
@pytest.mark.parametrize("system", ["ferro_torus3", "open_chain8", "gaussian_glass6"])
@pytest.mark.parametrize("name", KERNELS)
def test_negative_control_beta_off_by_five_percent(name, system):
    p, pvalues = combined_pvalue(KERNELS[name], system, beta_factor=1.05)
    assert p < 0.01, pvalues


@pytest.mark.statistical
@pytest.mark.parametrize("system", ["ferro_torus3", "open_chain8", "gaussian_glass6"])
def test_negative_control_broken_acceptance(system):
    p, pvalues = combined_pvalue(BROKEN_METROPOLIS, system)
    assert p < 0.01, pvalues


@pytest.mark.statistical
@pytest.mark.parametrize("system", ["ferro_torus3", "pm_j_open_square3"])
def test_negative_control_synchronous_update(system):
    """Updating neighbours simultaneously breaks balance; the colour classes are what make it right."""
    p, pvalues = combined_pvalue(SYNCHRONOUS_HEATBATH, system)
    assert p < 0.01, pvalues


TWO_COLOUR_SYSTEMS = ["open_chain8", "pm_j_open_square3", "gaussian_torus4x2", "cubic2"]


def test_smoke_hashed_kernel_distribution():
    """2 keys × 8000 draws on the open ±J 3×3 lattice: the hashed heat bath passes, β off by 20% fails."""
    seeds = (1, 2)
    options = dict(n_chains=1000, n_burn=20, n_draws=4, thin=10)
    good, _ = combined_pvalue(hashed_checkerboard_heatbath, "pm_j_open_square3", seeds=seeds, **options)
    bad, _ = combined_pvalue(hashed_checkerboard_heatbath, "pm_j_open_square3", beta_factor=1.2, seeds=seeds,
                             **options)
    assert good > 0.01
    assert bad < 0.01


@pytest.mark.statistical
@pytest.mark.parametrize("system", TWO_COLOUR_SYSTEMS)
@pytest.mark.parametrize("name", HASHED)
def test_hashed_distribution_matches_boltzmann(name, system):
    p, pvalues = combined_pvalue(HASHED[name], system)
    assert p > 0.01, pvalues


@pytest.mark.statistical
@pytest.mark.parametrize("system", ["open_chain8", "pm_j_open_square3"])
@pytest.mark.parametrize("name", HASHED)
def test_hashed_negative_control_beta_off_by_five_percent(name, system):
    p, pvalues = combined_pvalue(HASHED[name], system, beta_factor=1.05)
    assert p < 0.01, pvalues


@pytest.mark.statistical
def test_hashed_negative_control_shared_random_words(monkeypatch):
    """Neighbouring pairs of sites sharing one random word (a broken hash) must fail the χ² test."""
    original = _local.hashed_uniforms

    def shared(words, shape, dtype):
        u = original(words, shape, dtype)
        return jnp.repeat(u.reshape(-1)[::2], 2)[: u.size].reshape(shape)

    monkeypatch.setattr(_local, "hashed_uniforms", shared)
    broken = Kernel("hashed_shared_words", hashed_checkerboard_heatbath.init, hashed_checkerboard_heatbath.step)
    p, pvalues = combined_pvalue(broken, "open_chain8")
    assert p < 0.01, pvalues


def test_hashed_uniforms_are_uniform_and_independent():
    """χ² of 16 bins; correlation between neighbouring sites, the two colours and consecutive sweeps."""
    shape = (64, 32)
    keys = jax.random.split(jax.random.key(3), 2)
    sweeps = [np.asarray(jax.random.bits(k, (2, 2), jnp.uint32)) for k in keys]
    u = [[np.asarray(_local.hashed_uniforms(jnp.asarray(w[c]), shape, jnp.float32)) for c in (0, 1)] for w in sweeps]
    flat = np.concatenate([x.ravel() for pair in u for x in pair])
    assert flat.min() >= 0 and flat.max() < 1
    counts = np.histogram(flat, bins=16, range=(0, 1))[0]
    expected = flat.size / 16
    assert np.sum((counts - expected) ** 2 / expected) < 37.7  # χ²(15) 0.999 quantile
    bound = 4 / np.sqrt(u[0][0].size)  # 4σ of a correlation of independent uniforms
    pairs = [(u[0][0][:, :-1], u[0][0][:, 1:]), (u[0][0][:-1], u[0][0][1:]), (u[0][0], u[0][1]), (u[0][0], u[1][0])]
    for a, b in pairs:
        assert abs(np.corrcoef(a.ravel(), b.ravel())[0, 1]) < bound
    with jax.enable_x64(True):  # float64: all 32 bits of the word; float32: its top 24, exactly
        u64 = np.asarray(_local.hashed_uniforms(jnp.asarray(sweeps[0][0]), shape, jnp.float64))
    assert u64.dtype == np.float64 and np.all(u64 * 2.0**32 == np.floor(u64 * 2.0**32))
    assert np.mean(u64 * 2.0**24 != np.floor(u64 * 2.0**24)) > 0.9  # the low 8 bits are there
    np.testing.assert_array_equal(u[0][0], np.floor(u64 * 2.0**24) / 2.0**24)


# ------------------------------------------------------------ local fields, ΔE
def packable_models():
    rng = np.random.default_rng(0)
    return [
        Ising.square((4, 2), J=(rng.normal(size=(2, 4)), rng.normal(size=(2, 4))), h=rng.normal(size=8)),
        Ising.square(3, J=(rng.normal(size=(3, 2)), rng.normal(size=(2, 3))), h=rng.normal(size=9),
                     periodic=False),
        Ising.square((4, 5), J=(rng.normal(size=(5, 3)), rng.normal(size=(4, 4))), h=rng.normal(size=20),
                     periodic=False),
        Ising.chain(7, J=rng.normal(size=6), h=rng.normal(size=7), periodic=False),
        Ising.chain(2, J=rng.normal(size=2), h=rng.normal(size=2)),
        Ising.cubic(2, J=0.7, h=rng.normal(size=8)),
        Ising.cubic((4, 2, 2), J=-0.3, h=rng.normal(size=16)),
        Ising.cubic((3, 2, 5), J=1.1, h=rng.normal(size=30), periodic=False),
    ]


@pytest.mark.parametrize("model", packable_models(), ids=repr)
def test_packed_local_fields_give_brute_force_energy_differences(model):
    """ΔE_i = 2 s_i φ_i from the packed rolls equals H(s with s_i flipped) − H(s), recomputed."""
    assert _local.two_colourable_lattice(model.lattice)
    s = random_spins(np.random.default_rng(1), model.n_sites)
    fields = jax.jit(lambda spins: _local._lattice_local_fields(spins, model))(s)
    delta = 2.0 * s * np.asarray(fields)
    flipped = np.where(np.eye(model.n_sites, dtype=bool), -s, s)  # row i: s with s_i flipped
    expected = brute_energy(model, flipped) - brute_energy(model, s)
    np.testing.assert_allclose(delta, expected, atol=2e-5)


@pytest.mark.parametrize("model", packable_models(), ids=repr)
def test_padded_layout_gives_the_same_local_fields_bit_for_bit(model):
    """Reading the neighbours from a ghost-layer copy ("padded") sums the same terms as the rolls."""
    lattice = _local._PackedLattice(model, jnp.float32)
    packed = lattice.pack_spins(jnp.asarray(random_spins(np.random.default_rng(4), model.n_sites)))
    for colour in (0, 1):
        fields = [np.asarray(jax.jit(lambda other, layout=layout: lattice.local_field(colour, other, layout))(
            packed[1 - colour])) for layout in ("roll", "padded")]
        np.testing.assert_array_equal(fields[0], fields[1])


@pytest.mark.parametrize("shape", [(5,), (4, 6), (3, 4, 2), (2, 3, 4, 5)])
def test_neighbour_reader_equals_roll(shape):
    from statmech.mc._hash import neighbour_reader
    array = jnp.asarray(np.random.default_rng(0).normal(size=shape))
    n_axes = min(3, len(shape))
    for layout in ("roll", "padded"):
        shift = neighbour_reader(array, n_axes, layout)
        for axis in range(n_axes):
            for d in (-1, 0, 1):
                expected = np.roll(np.asarray(array), -d, axis=len(shape) - n_axes + axis)
                np.testing.assert_array_equal(np.asarray(shift(axis, d)), expected)
    only = neighbour_reader(array, n_axes, "padded", axes=(0,))
    np.testing.assert_array_equal(np.asarray(only(0, 1)), np.roll(np.asarray(array), -1, len(shape) - n_axes))
    if n_axes > 1:
        with pytest.raises(ValueError, match="no ghost layers"):
            only(1, 1)


def _zero_temperature_reference(model, s, groups):
    """Quench s_i ← sign(φ_i) group by group, φ recomputed from the dense J after each group."""
    s = np.array(s, dtype=np.float64)
    J = model.coupling_matrix()
    h = np.asarray(model.field)
    for group in groups:
        s[group] = np.sign(h[group] + J[group] @ s)
    return s.astype(np.int8)


def _colour_groups(model):
    """Sites grouped as each kernel documents: black ((x+y+z) even) then white, or graph colours."""
    if _local.two_colourable_lattice(model.lattice):
        coords = np.indices(tuple(reversed(model.lattice.shape))).reshape(len(model.lattice.shape), -1)
        parity = coords.sum(0) % 2
        return [np.flatnonzero(parity == 0), np.flatnonzero(parity == 1)]
    colours = graph_coloring(model)
    return [np.flatnonzero(colours == c) for c in range(colours.max() + 1)]


ZERO_TEMPERATURE_CASES = [  # every code path: sequential, packed 1D/2D/3D, colour classes
    ("metropolis", "torus3"), ("heatbath", "glass7"),
    ("checkerboard_metropolis", "torus6x4"), ("checkerboard_metropolis", "open5x3"),
    ("checkerboard_metropolis", "cube2"), ("checkerboard_metropolis", "glass7"),
    ("checkerboard_heatbath", "torus3"), ("checkerboard_heatbath", "chain9"),
    ("hashed_checkerboard_metropolis", "torus6x4"), ("hashed_checkerboard_metropolis", "open5x3"),
    ("hashed_checkerboard_heatbath", "cube2"), ("hashed_checkerboard_heatbath", "chain9"),
]


@pytest.mark.parametrize("name, case", ZERO_TEMPERATURE_CASES)
def test_zero_temperature_sweep_follows_documented_order(name, case):
    """At β = 1e6 (Gaussian couplings, no ties) one sweep is a deterministic quench in the kernel's order."""
    rng = np.random.default_rng(7)
    J = np.triu(rng.normal(size=(7, 7)), 1)
    model = {
        "torus6x4": lambda: Ising.square((6, 4), J=(rng.normal(size=(4, 6)), rng.normal(size=(4, 6))),
                                         h=rng.normal(0, 0.1, 24)),
        "torus3": lambda: Ising.square(3, J=(rng.normal(size=(3, 3)), rng.normal(size=(3, 3))),
                                       h=rng.normal(0, 0.1, 9)),
        "open5x3": lambda: Ising.square((5, 3), J=(rng.normal(size=(3, 4)), rng.normal(size=(2, 5))),
                                        h=rng.normal(0, 0.1, 15), periodic=False),
        "chain9": lambda: Ising.chain(9, J=rng.normal(size=8), h=rng.normal(0, 0.1, 9), periodic=False),
        "cube2": lambda: Ising.cubic(2, J=1.0, h=rng.normal(0, 0.5, 8)),
        "glass7": lambda: Ising.from_couplings(J + J.T, h=rng.normal(0, 0.1, 7)),
    }[case]()
    kernel = ALL_KERNELS[name]
    s = random_spins(rng, model.n_sites)
    step = jax.jit(lambda key, state: kernel.step(key, state, model, 1e6))
    state, info = step(jax.random.key(0), kernel.init(s, model, 1e6))
    if "checkerboard" in name:
        groups = _colour_groups(model)
    else:
        groups = [[i] for i in range(model.n_sites)]
    expected = _zero_temperature_reference(model, s, groups)
    np.testing.assert_array_equal(np.asarray(state.spins), expected)
    assert float(info.acceptance_rate) == pytest.approx(np.mean(expected != s))


def test_graph_coloring_is_proper():
    rng = np.random.default_rng(0)
    models = [Ising.square(5), Ising.cubic(3), Ising.chain(7),
              Ising.from_edges(30, rng.integers(0, 30, size=(80, 2)), rng.normal(size=80))]
    for model in models:
        colours = graph_coloring(model)
        edges = np.asarray(model.edges)
        edges = edges[edges[:, 0] != edges[:, 1]]
        assert colours.shape == (model.n_sites,)
        assert np.all(colours[edges[:, 0]] != colours[edges[:, 1]])


# ------------------------------------------------------ drivers and observables
def _dyadic_square(L, periodic=True):
    """Couplings and fields that are exact in float32, so every sum is exact."""
    rng = np.random.default_rng(L)
    Jh = rng.choice([-1.0, 0.5, 1.0], size=(L, L))
    Jv = rng.choice([-1.0, 0.5, 1.0], size=(L, L))
    if not periodic:
        Jh[:, -1] = 0.0
        Jv[-1, :] = 0.0
    return Ising.square(L, J=(Jh, Jv), h=rng.choice([-0.25, 0.0, 0.25], size=L * L), periodic=periodic)


OBSERVABLE_CASES = {
    "checkerboard_metropolis/torus6": (checkerboard_metropolis, _dyadic_square(6)),  # packed energy
    "hashed_checkerboard_heatbath/torus6": (hashed_checkerboard_heatbath, _dyadic_square(6)),
    "heatbath/glass6": (heatbath, gaussian_glass()[0]),  # model.energy
}


@pytest.mark.parametrize("case", OBSERVABLE_CASES)
def test_observables_match_brute_force_energy_of_draws(case):
    """run_chain_observables records H and M of exactly the configurations run_chain stores."""
    kernel, model = OBSERVABLE_CASES[case]
    spins = random_spins(np.random.default_rng(2), model.n_sites)
    key = jax.random.key(9)
    state, draws = run_chain(kernel, key, spins, model, 0.5, 24, thin=3)
    state2, energy, magnetization = run_chain_observables(kernel, key, spins, model, 0.5, 24, thin=3)
    draws = np.asarray(draws)
    assert draws.dtype == np.int8 and draws.shape == (8, model.n_sites)
    np.testing.assert_array_equal(np.asarray(state.spins), np.asarray(state2.spins))
    np.testing.assert_array_equal(np.asarray(state.spins), draws[-1])
    np.testing.assert_allclose(np.asarray(energy), brute_energy(model, draws), atol=1e-4)
    assert magnetization.dtype == jnp.int32
    np.testing.assert_array_equal(np.asarray(magnetization), draws.astype(np.int64).sum(1))


def test_run_chain_runs_leftover_sweeps():
    """n_sweeps not a multiple of thin: draws after sweeps thin, 2·thin, …; the final state after all."""
    model = Ising.chain(6, J=0.5, h=0.25)
    spins = random_spins(np.random.default_rng(3), 6)
    key = jax.random.key(4)
    final_7, draws_7 = run_chain(checkerboard_heatbath, key, spins, model, 0.3, 7, thin=3)
    _, every = run_chain(checkerboard_heatbath, key, spins, model, 0.3, 7)
    assert draws_7.shape == (2, 6) and every.shape == (7, 6)
    np.testing.assert_array_equal(np.asarray(draws_7), np.asarray(every)[[2, 5]])
    np.testing.assert_array_equal(np.asarray(final_7.spins), np.asarray(every)[6])


DETERMINISM_CASES = {  # the colour-class path is checked under vmap in the colored_kernel test
    "checkerboard_metropolis/open5": (checkerboard_metropolis, _dyadic_square(5, periodic=False)),
    "hashed_checkerboard_metropolis/open5": (hashed_checkerboard_metropolis, _dyadic_square(5, periodic=False)),
    "metropolis/chain": (metropolis, Ising.chain(10, J=-1.0, h=0.5)),
}


@pytest.mark.parametrize("case", DETERMINISM_CASES)
def test_same_key_same_output_with_and_without_jit_and_vmap(case):
    kernel, model = DETERMINISM_CASES[case]
    n = model.n_sites
    spins = random_spins(np.random.default_rng(5), n)
    keys = jax.random.split(jax.random.key(12), 2)

    def run(key):
        state, draws = run_chain(kernel, key, spins, model, 0.45, 10, thin=2)
        _, energy, magnetization = run_chain_observables(kernel, key, spins, model, 0.45, 10, thin=2)
        return state.spins, draws, energy, magnetization

    eager = run(keys[0])
    jitted = jax.jit(run)
    batched = jax.vmap(run)(keys)
    for a, b in zip(eager, jitted(keys[0])):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    loop = [jitted(key) for key in keys]
    for k in range(len(keys)):
        for a, c in zip(loop[k], batched):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(c)[k])
    assert not np.array_equal(np.asarray(loop[0][1]), np.asarray(loop[1][1]))  # keys matter


def test_vmap_over_beta_and_over_disorder_instances():
    """Model and β are arguments: vmap over β, and over coupling instances, equals the loop."""
    rng = np.random.default_rng(6)
    models = [_dyadic_square(4) for _ in range(3)]
    models = [eqx.tree_at(lambda m: m.couplings, m, rng.choice([-1.0, 1.0], m.n_edges)) for m in models]
    stacked = jax.tree.map(lambda *leaves: np.stack(leaves), *models)
    spins = jnp.asarray(random_spins(rng, 16))
    key = jax.random.key(1)

    @jax.jit
    def final(model, beta):
        return run_chain(checkerboard_heatbath, key, spins, model, beta, 5)[0].spins

    betas = jnp.array([0.1, 0.5, 2.0])
    by_beta = jax.vmap(final, in_axes=(None, 0))(models[0], betas)
    by_model = jax.vmap(final, in_axes=(0, None))(stacked, 0.5)
    for k in range(3):
        np.testing.assert_array_equal(np.asarray(by_beta[k]), np.asarray(final(models[0], float(betas[k]))))
        np.testing.assert_array_equal(np.asarray(by_model[k]), np.asarray(final(models[k], 0.5)))


def test_colored_kernel_under_vmap_over_instances_and_traced_checkerboard_refuses():
    rng = np.random.default_rng(8)
    instances = []
    for _ in range(2):
        J = np.triu(rng.choice([-1.0, 1.0], size=(6, 6)), 1)
        instances.append(Ising.from_couplings(J + J.T))
    stacked = jax.tree.map(lambda *leaves: np.stack(leaves), *instances)
    spins = jnp.asarray(random_spins(rng, 6))
    key = jax.random.key(3)
    kernel = colored_kernel(instances[0], "metropolis")

    def final(model, kernel=kernel):
        return run_chain(kernel, key, spins, model, 0.7, 4)[0].spins

    batched = jax.vmap(final)(stacked)
    single = jax.jit(final)  # the colored kernel takes a traced model
    for k in range(2):
        np.testing.assert_array_equal(np.asarray(batched[k]), np.asarray(single(instances[k])))
    # outside tracing, checkerboard on a graph computes the same colouring itself
    np.testing.assert_array_equal(np.asarray(batched[0]),
                                  np.asarray(final(instances[0], checkerboard_metropolis)))
    with pytest.raises(ValueError, match=r"colored_kernel\(model, 'metropolis'\).*'metropolis'"):
        jax.vmap(lambda m: final(m, checkerboard_metropolis))(stacked)
    # A lattice's bonds follow from its static geometry: traced, an odd torus still gets its colouring.
    def odd_torus(m):
        return run_chain(checkerboard_metropolis, key, np.ones(9, np.int8), m, 0.7, 4)[0].spins

    np.testing.assert_array_equal(np.asarray(jax.jit(odd_torus)(Ising.square(3))),
                                  np.asarray(odd_torus(Ising.square(3))))


# -------------------------------------------------------- acceptance and limits
@pytest.mark.parametrize("name", ["metropolis", "checkerboard_metropolis", "checkerboard_heatbath"])
def test_acceptance_rate_limits(name):
    """β = 1e6 from the ground state: nothing changes; β = 0: Metropolis flips all, heat bath half."""
    kernel = KERNELS[name]
    model = Ising.square(4, J=1.0, h=0.5)
    step = jax.vmap(lambda key, spins, beta: kernel.step(key, kernel.init(spins, model, beta), model, beta))
    starts = np.stack([np.ones(16, np.int8)] + [random_spins(np.random.default_rng(k), 16) for k in range(20)])
    betas = np.array([1e6] + [0.0] * 20, dtype=np.float32)
    state, info = jax.jit(step)(jax.random.split(jax.random.key(1), 21), starts, betas)
    rates = np.asarray(info.acceptance_rate)
    assert np.all((rates >= 0.0) & (rates <= 1.0))
    assert rates[0] == 0.0
    np.testing.assert_array_equal(np.asarray(state.spins)[0], starts[0])
    if "metropolis" in name:
        np.testing.assert_array_equal(rates[1:], 1.0)  # β = 0: every flip accepted
    else:
        assert 0.3 < rates[1:].mean() < 0.7  # β = 0: each spin redrawn fair


# ----------------------------------------------------------------- bad input
def test_bad_input_messages():
    model = Ising.square(4)
    with pytest.raises(ValueError, match="shape \\(16,\\).*jax.vmap"):
        metropolis.init(np.ones((2, 16), np.int8), model, 0.5)
    with pytest.raises(ValueError, match="±1"):
        checkerboard_heatbath.init(np.zeros(16, np.int8), model, 0.5)
    with pytest.raises(ValueError, match="beta must be one finite number >= 0.*1e6"):
        metropolis.init(np.ones(16, np.int8), model, np.inf)
    with pytest.raises(ValueError, match="beta must be one finite number.*jax.vmap"):
        checkerboard_metropolis.init(np.ones(16, np.int8), model, np.array([0.1, 0.2]))
    with pytest.raises(TypeError, match="Ising model"):
        heatbath.init(np.ones(16, np.int8), object(), 0.5)
    with pytest.raises(ValueError, match="rule must be one of"):
        colored_kernel(model, "glauber")
    with pytest.raises(ValueError, match="thin .* must be <= n_sweeps"):
        run_chain(metropolis, jax.random.key(0), np.ones(16, np.int8), model, 0.5, 3, thin=5)
    with pytest.raises(TypeError, match="n_sweeps must be an int"):
        run_chain(metropolis, jax.random.key(0), np.ones(16, np.int8), model, 0.5, 10.0)
    other = Ising.square(3)
    kernel = colored_kernel(Ising.chain(9, periodic=False), "heatbath")
    with pytest.raises(ValueError, match="not proper for this model"):
        kernel.init(np.ones(9, np.int8), other, 0.5)


# ------------------------------------------------ blocked sequential sweep
def site_by_site_sweep(rule, key, spins, model, beta):
    """The sequential sweep written plainly: site i = 0..N−1 updated in the full array."""
    dtype = jnp.result_type(float)
    padded = jnp.concatenate([jnp.asarray(model.couplings, dtype), jnp.zeros(1, dtype)])
    bonds = padded[jnp.asarray(model.neighbor_edges)]
    neighbors = jnp.asarray(model.neighbors)
    field = jnp.asarray(model.field, dtype)
    uniforms = jax.random.uniform(key, (model.n_sites,), dtype)

    def update(i, s):
        phi = field[i] + jnp.sum(bonds[i] * s[neighbors[i]].astype(dtype))
        if rule == "metropolis":
            new = jnp.where(uniforms[i] < jnp.exp(-2.0 * beta * s[i] * phi), -s[i], s[i])
        else:
            new = jnp.where(uniforms[i] < jax.nn.sigmoid(2.0 * beta * phi), 1, -1).astype(s.dtype)
        return s.at[i].set(new)

    return jax.lax.fori_loop(0, model.n_sites, update, spins)


def test_blocked_sequential_sweep_equals_the_site_by_site_loop(monkeypatch):
    """Blocks of 7 sites (the last one overlapping the previous) change nothing: same spins, bit for bit."""
    monkeypatch.setattr(_local, "_BLOCK", 7)
    rng = np.random.default_rng(21)
    graph_J = np.triu(rng.normal(size=(9, 9)), 1)
    cases = [
        (Ising.square((5, 3), J=(rng.normal(size=(3, 4)), rng.normal(size=(2, 5))), h=0.2, periodic=False),
         "metropolis"),
        (Ising.cubic((2, 1, 3), h=-0.1), "heatbath"),
        (Ising.from_couplings(graph_J + graph_J.T), "metropolis"),
    ]
    for model, rule in cases:
        kernel = KERNELS[rule]
        state = kernel.init(jnp.asarray(rng.choice([-1, 1], model.n_sites), jnp.int8), model, 0.4)
        key = jax.random.key(3)
        expected = site_by_site_sweep(rule, key, state.spins, model, 0.4)
        state, _ = kernel.step(key, state, model, 0.4)
        np.testing.assert_array_equal(np.asarray(state.spins), np.asarray(expected))


def test_auto_runs_the_hashed_kernels_where_two_colours_tile_and_reference_keeps_the_old_ones():
    from statmech.mc._sampling import applicable_backends, select_kernel
    for model in (Ising.square(8), Ising.square(5, periodic=False), Ising.cubic(4), Ising.chain(6)):
        assert select_kernel(model, "heatbath").name == "hashed_checkerboard_heatbath"
        assert select_kernel(model, "metropolis", "hashed-checkerboard").name == "hashed_checkerboard_metropolis"
        assert select_kernel(model, "metropolis", "reference").name == "checkerboard_metropolis"
        assert "hashed-checkerboard" in applicable_backends(model, "metropolis")
    odd = Ising.square(5)
    assert select_kernel(odd, "heatbath").name == "colored_heatbath"
    assert "hashed-checkerboard" not in applicable_backends(odd, "heatbath")
    with pytest.raises(ValueError, match="use backend 'auto' or 'checkerboard'"):
        select_kernel(odd, "heatbath", "hashed-checkerboard")
    with pytest.raises(ValueError, match="two-colourable"):
        hashed_checkerboard_heatbath.step(jax.random.key(0), hashed_checkerboard_heatbath.init(
            np.ones(25, np.int8), odd, 0.3), odd, 0.3)
    graph = gaussian_glass()[0]
    assert select_kernel(graph, "metropolis").name == "metropolis"
