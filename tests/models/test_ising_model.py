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
from statmech.testing import gaussian_couplings


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
    J = gaussian_couplings(rng, n)
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


# ------------------------------------------------- lattice models: O(N) storage
def brute_lattice(kind, shape, periodic, J):
    """Bonds, couplings and the padded neighbour table built site by site in Python.

    The lattice order: every existing x bond (c, c + e_x) in row-major site
    order, then every y bond, then every z bond; site i = (z·Ly + y)·Lx + x.
    Neighbour slots of a site: bonds where it is the first end, then where it
    is the second end, each in bond order; self-bonds are left out; padding
    slots hold neighbour 0 and bond E.
    """
    sizes = tuple(shape) + (1,) * (3 - len(shape))
    Lx, Ly, Lz = sizes
    edges, couplings = [], []
    for axis in range(len(shape)):
        for z in range(Lz):
            for y in range(Ly):
                for x in range(Lx):
                    c = [x, y, z]
                    if not periodic and c[axis] == sizes[axis] - 1:
                        continue
                    d = list(c)
                    d[axis] = (d[axis] + 1) % sizes[axis]
                    edges.append(((z * Ly + y) * Lx + x, (d[2] * Ly + d[1]) * Lx + d[0]))
                    couplings.append(J(axis, x, y, z))
    n = Lx * Ly * Lz
    slots = [[] for _ in range(n)]
    for end in (0, 1):
        for k, e in enumerate(edges):
            if e[0] != e[1]:
                slots[e[end]].append((e[1 - end], k))
    z = max(1, max(len(s) for s in slots))
    neighbors = np.zeros((n, z), np.int64)
    neighbor_edges = np.full((n, z), len(edges), np.int64)
    for i, s in enumerate(slots):
        for k, (j, bond) in enumerate(s):
            neighbors[i, k], neighbor_edges[i, k] = j, bond
    return np.array(edges, np.int64).reshape(-1, 2), np.array(couplings, float), neighbors, neighbor_edges


LATTICES = [("chain", (n,), p) for n in (1, 2, 3, 6) for p in (True, False)] + \
    [("square", s, p) for s in ((1, 1), (2, 2), (3, 2), (1, 4), (4, 3), (5, 5)) for p in (True, False)] + \
    [("cubic", s, p) for s in ((1, 1, 1), (2, 2, 2), (3, 2, 1), (3, 3, 3), (2, 3, 4)) for p in (True, False)]


@pytest.mark.parametrize("kind, shape, periodic", LATTICES)
def test_lattice_models_match_a_site_by_site_construction(kind, shape, periodic):
    """Bonds, couplings, neighbour tables, energies and local fields of chain/square/cubic."""
    rng = np.random.default_rng(11)
    n = int(np.prod(shape))
    h = rng.normal(size=n)
    if kind == "square":
        Lx, Ly = shape
        Jh, Jv = rng.normal(size=(Ly, Lx)), rng.normal(size=(Ly, Lx))
        if not periodic:
            Jh[:, -1] = 0.0
            Jv[-1, :] = 0.0
        model = Ising.square(shape, J=(Jh, Jv), h=h, periodic=periodic)
        coupling = lambda axis, x, y, z: (Jh, Jv)[axis][y, x]  # noqa: E731
    elif kind == "chain":
        J = rng.normal(size=n if periodic else n - 1)
        model = Ising.chain(n, J=J, h=h, periodic=periodic)
        coupling = lambda axis, x, y, z: J[x]  # noqa: E731
    else:
        model = Ising.cubic(shape, J=0.7, h=h, periodic=periodic)
        coupling = lambda axis, x, y, z: 0.7  # noqa: E731
    edges, couplings, neighbors, neighbor_edges = brute_lattice(kind, shape, periodic, coupling)
    np.testing.assert_array_equal(model.edges, edges)
    np.testing.assert_array_equal(model.couplings, couplings)
    np.testing.assert_array_equal(model.field, h)
    np.testing.assert_array_equal(model.neighbors, neighbors)
    np.testing.assert_array_equal(model.neighbor_edges, neighbor_edges)
    s = random_spins(rng, (7, n)).astype(np.float64)
    pairs = list(zip(map(tuple, edges), couplings))
    expected = np.array([brute_energy(row, pairs, h) for row in s])
    np.testing.assert_allclose(model.energy(s), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray(jax.jit(lambda m, x: m.energy(x))(model, jnp.asarray(s))),
                               expected, rtol=1e-5, atol=1e-5)
    fields = h + np.array([[sum(couplings[k] * row[j] for j, k in zip(neighbors[i], neighbor_edges[i])
                                if k < len(couplings)) for i in range(n)] for row in s])
    np.testing.assert_allclose(model.local_field(s), fields, rtol=1e-12, atol=1e-12)
    self_bonds = edges[:, 0] == edges[:, 1]
    assert model.constant_energy() == pytest.approx(-couplings[self_bonds].sum())


def test_lattice_model_stores_only_couplings_and_fields():
    """A lattice model's leaves are its couplings and fields; scalars take no memory per site."""
    model = Ising.square(64, J=1.0, h=0.5)
    leaves = jax.tree_util.tree_leaves(model)
    assert len(leaves) == 2
    assert all(leaf.strides == (0,) for leaf in leaves)  # broadcast views of one number
    assert model.couplings.shape == (2 * 64 * 64,) and model.field.shape == (64 * 64,)
    rng = np.random.default_rng(12)
    disordered = Ising.square(8, J=(rng.normal(size=(8, 8)), rng.normal(size=(8, 8))), h=rng.normal(size=64))
    assert [leaf.nbytes for leaf in jax.tree_util.tree_leaves(disordered)] == [8 * 128, 8 * 64]
    with pytest.raises(ValueError, match="read-only"):
        disordered.couplings[0] = 5.0  # the model owns immutable arrays (cached summaries stay valid)


def test_memory_per_site_of_a_large_square_lattice_is_bounded():
    """Ising.square(1024): no bytes per site for scalar J and h; 8 per bond + 8 per site with arrays."""
    import tracemalloc

    L = 1024
    n = L * L
    rng = np.random.default_rng(13)
    Jh, Jv, h = rng.normal(size=(L, L)), rng.normal(size=(L, L)), rng.normal(size=(L, L))
    tracemalloc.start()
    try:
        uniform = Ising.square(L, J=1.0)
        kept_uniform, peak_uniform = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        disordered = Ising.square(L, J=(Jh, Jv), h=h)
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert uniform.n_sites == disordered.n_sites == n
    assert peak_uniform / n < 0.01
    assert (kept - before) / n <= 24 + 0.01  # couplings 2 x 8 bytes, field 8 bytes per site
    assert (peak - before) / n <= 32 + 0.01  # and transient checks (no extra copies of Jh, Jv)


def test_tree_at_replaced_couplings_are_not_summarised_from_a_stale_cache():
    """Summaries (uniform J, field present) are cached per array; a new leaf is looked at afresh."""
    model = Ising.square(4, J=1.0)
    assert model.uniform_axis_couplings() == (1.0, 1.0) and model.uniform_coupling() == 1.0
    varied = np.ones(model.n_edges)
    varied[3] = 2.0
    other = eqx.tree_at(lambda m: m.couplings, model, varied)
    assert other.uniform_axis_couplings() is None and other.uniform_coupling() is None
    varied[3] = 1.0  # a writable array: summaries are recomputed, never cached
    assert other.uniform_axis_couplings() == (1.0, 1.0)
    anisotropic = Ising.square((3, 4), J=(np.full((4, 3), 0.5), np.full((4, 3), 2.0)))
    assert anisotropic.uniform_axis_couplings() == (0.5, 2.0)
    assert anisotropic.uniform_axis_couplings() == (0.5, 2.0)  # cached answer, same value
    field = eqx.tree_at(lambda m: m.field, model, np.r_[np.zeros(15), 0.1])
    assert field.has_field and not model.has_field


def test_vmap_over_a_batch_of_lattice_models():
    """Batched couplings (K, E) and fields (K, N) of a lattice: energy and local fields per instance."""
    rng = np.random.default_rng(14)
    template = Ising.square((3, 4), periodic=False)
    couplings = rng.normal(size=(5, template.n_edges))
    fields = rng.normal(size=(5, template.n_sites))
    batch = eqx.tree_at(lambda m: (m.couplings, m.field), template, (couplings, fields))
    s = random_spins(rng, (5, template.n_sites)).astype(np.float64)
    singles = [eqx.tree_at(lambda m: (m.couplings, m.field), template, (c, f)) for c, f in zip(couplings, fields)]
    np.testing.assert_allclose(batch.energy(s), [m.energy(x) for m, x in zip(singles, s)], rtol=1e-12)
    np.testing.assert_allclose(batch.local_field(s), [m.local_field(x) for m, x in zip(singles, s)], rtol=1e-12)
    from statmech.models._disorder import batch_axes

    mapped = jax.vmap(lambda m, x: m.energy(x), in_axes=(batch_axes(batch), 0))(batch, jnp.asarray(s))
    np.testing.assert_allclose(np.asarray(mapped), batch.energy(s), rtol=1e-5)
