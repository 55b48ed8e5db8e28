"""Local (single-spin) Monte Carlo kernels for Ising models, and chain drivers.

One ``step`` is one sweep (N attempted single-spin updates), by Metropolis
(flip with probability min(1, exp(−2β s_i φ_i))) or heat bath (s_i = +1 with
probability 1/(1 + exp(−2βφ_i))), φ_i = h_i + Σ_j J_ij s_j:

* ``metropolis`` / ``heatbath``: sequential scan 0, 1, …, N−1 (reference);
* ``checkerboard_metropolis`` / ``checkerboard_heatbath``: one colour class
  at a time (packed sublattices on two-colourable lattices, a greedy graph
  colouring otherwise);
* ``hashed_checkerboard_metropolis`` / ``hashed_checkerboard_heatbath``: the
  packed sweep with each site's uniform hashed from its index (two-colourable
  lattices; 2-4x faster, what ``backend="auto"`` runs inside estimators).

Kernels follow :mod:`statmech.mc._base` (``init``/``step``, model and β as
arguments, so ``jax.vmap`` runs many chains); arithmetic in JAX's default
float. Metropolis at β = 0 is periodic: use the heat bath there. Newman &
Barkema, *Monte Carlo Methods in Statistical Physics* (1999), ch. 3; why
the orders are exact: docs/derivations.md.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from statmech._compile_cache import ensure_compile_cache
from statmech._validation import check_positive_int
from statmech.mc._base import Kernel, SpinState, StepInfo
from statmech.mc._hash import default_layout, lowbias32, neighbour_reader
from statmech.models import Ising

__all__ = [
    "metropolis",
    "heatbath",
    "checkerboard_metropolis",
    "checkerboard_heatbath",
    "hashed_checkerboard_metropolis",
    "hashed_checkerboard_heatbath",
    "hashed_uniforms",
    "colored_kernel",
    "graph_coloring",
    "run_chain",
    "run_chain_observables",
]

_RULES = ("metropolis", "heatbath")
_LATTICE_KINDS = ("chain", "square", "cubic")


# --------------------------------------------------------------------- shared
def _float_dtype():
    return jnp.result_type(float)


def _check_rule(rule):
    if rule not in _RULES:
        raise ValueError(f"rule must be one of {_RULES}, got {rule!r}")
    return rule


def _check_model(model):
    if not isinstance(model, Ising):
        raise TypeError(f"local kernels need a statmech Ising model, got {type(model).__name__}")


def _concrete(array):
    """``array`` as a NumPy array, or None when it is a JAX tracer (inside jit/vmap)."""
    try:
        return np.asarray(array)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return None


def _new_spins(rule, spins, local_field, beta, uniform):
    """Apply one update rule to the spins, given their local fields and uniforms in [0, 1).

    Metropolis: flip when u < exp(−2β s φ) (always when ΔE ≤ 0, as u < 1).
    Heat bath: +1 when u < σ(2βφ) = 1/(1 + exp(−2βφ)), else −1.
    """
    if rule == "metropolis":
        flip = uniform < jnp.exp(-2.0 * beta * spins * local_field)
        return jnp.where(flip, -spins, spins)
    one = jnp.ones((), spins.dtype)
    return jnp.where(uniform < jax.nn.sigmoid(2.0 * beta * local_field), one, -one)


def _init(spins, model, beta):
    """SpinState(spins as int8), after checking shape (N,) and, when concrete, spins ±1 and β ≥ 0.

    Also switches on statmech's persistent compile cache (once per process,
    see :mod:`statmech._compile_cache`).
    """
    ensure_compile_cache()
    _check_model(model)
    spins = jnp.asarray(spins)
    n = model.n_sites
    if spins.ndim != 1 or spins.shape[0] != n:
        raise ValueError(
            f"spins must have shape ({n},) for this model, got {spins.shape}; "
            "for several chains use jax.vmap over the kernel"
        )
    values = _concrete(spins)
    if values is not None and not np.all(np.abs(values) == 1):
        raise ValueError("spins must be ±1; e.g. np.where(x > 0, 1, -1).astype(np.int8)")
    value = _concrete(beta)
    if value is not None and (value.ndim != 0 or not np.isfinite(value) or value < 0):
        raise ValueError(
            f"beta must be one finite number >= 0, got {beta!r}; use 1e6 for the ground state "
            "and jax.vmap over the kernel for several temperatures"
        )
    return SpinState(spins=spins.astype(jnp.int8))


def _info(old, new):
    """Fraction of the N spins that changed in the sweep (each is updated once)."""
    return StepInfo(acceptance_rate=jnp.mean((old != new).astype(_float_dtype())))


# ---------------------------------------------------------- sequential scan
# Sites per block of the sequential sweep. XLA's CPU backend splits an op over
# its threads by the size of the op's output; an in-place update of one spin
# of the whole (N,) array counts as an op of size N, so for N >~ 5·10⁵ every
# single-site update paid a thread hand-off (1.6 µs instead of 0.07 µs per
# site on two threads). The sweep therefore copies a block of _BLOCK spins
# out, updates it site by site (every per-site op is small), and writes the
# block back once.
_BLOCK = 4096


def _sequential_tables(model, dtype):
    """(neighbors (N, z) int32, bonds (N, z) float): slot k of site i holds j and J_ij (0 for padding).

    Lattice models build the table inside the computation from the bond
    arrays (no (N, z) constants in the compiled program), in the slot order
    of ``model.neighbors``: the bonds to c + e_x, c + e_y, c + e_z, then to
    c − e_x, c − e_y, c − e_z (missing open-boundary bonds hold J = 0).
    """
    lattice = model.lattice
    if model.bonds_from_lattice:
        array_shape = tuple(reversed(lattice.shape))
        ndim = len(array_shape)
        axes = [(axis, J) for axis, J in model.axis_bonds(jnp.asarray(model.couplings, dtype), jnp)
                if not (lattice.periodic and array_shape[axis] == 1)]  # self-bonds are constants
        if axes:
            index = jnp.arange(model.n_sites, dtype=jnp.int32).reshape(array_shape)
            neighbors = ([jnp.roll(index, -1, axis) for axis, _ in axes]
                         + [jnp.roll(index, 1, axis) for axis, _ in axes])
            bonds = [J for _, J in axes] + [jnp.roll(J, 1, axis) for axis, J in axes]
            z = len(neighbors)
            return (jnp.stack(neighbors, axis=-1).reshape(-1, z),
                    jnp.stack(bonds, axis=-1).reshape(-1, z))
    couplings = jnp.asarray(model.couplings, dtype)
    padded = jnp.concatenate([couplings, jnp.zeros(1, dtype)])
    return jnp.asarray(model.neighbors), padded[jnp.asarray(model.neighbor_edges)]


def _sequential_step(rule, key, state, model, beta):
    """One sweep of single-site updates in the order 0, 1, …, N−1.

    Sites are visited in blocks of ``_BLOCK`` (the last block is shifted to
    end at N and skips the sites it overlaps); inside a block a neighbour's
    spin is read from the block when it lies there, else from the full
    array, which holds every spin outside the block. The result equals the
    plain site-by-site loop exactly (same uniforms, same order).
    """
    _check_model(model)
    dtype = _float_dtype()
    neighbors, bonds = _sequential_tables(model, dtype)
    field = jnp.asarray(model.field, dtype)
    beta = jnp.asarray(beta, dtype)
    n = model.n_sites
    uniforms = jax.random.uniform(key, (n,), dtype)
    block = min(_BLOCK, n)
    n_blocks = -(-n // block)

    def update_block(b, spins):
        start = jnp.minimum(b * block, n - block)
        local = jax.lax.dynamic_slice(spins, (start,), (block,))

        first = b * block - start  # sites start .. b·block − 1 were done by the previous block

        def update_site(k, local):
            i = start + k
            sites = neighbors[i]
            inside = (sites >= start) & (sites < start + block)
            values = jnp.where(inside, local[jnp.clip(sites - start, 0, block - 1)], spins[sites])
            local_field = field[i] + jnp.sum(bonds[i] * values.astype(dtype))
            new = _new_spins(rule, local[k], local_field, beta, uniforms[i])
            return local.at[k].set(jnp.where(k >= first, new, local[k]))

        local = jax.lax.fori_loop(0, block, update_site, local)
        return jax.lax.dynamic_update_slice(spins, local, (start,))

    spins = jax.lax.fori_loop(0, n_blocks, update_block, state.spins)
    return SpinState(spins=spins), _info(state.spins, spins)


def _sequential_kernel(rule):
    def step(key, state, model, beta):
        return _sequential_step(rule, key, state, model, beta)

    step.__doc__ = (
        f"One sweep of {rule} updates, sites in the order 0..N−1 (any Ising model)."
    )
    return Kernel(name=rule, init=_init, step=step)


metropolis = _sequential_kernel("metropolis")
heatbath = _sequential_kernel("heatbath")


# ------------------------------------------------------- packed sublattices
def two_colourable_lattice(lattice) -> bool:
    """True when the parity of x + y + z is a proper 2-colouring that rolls can use."""
    if lattice.kind not in _LATTICE_KINDS:
        return False
    return not (lattice.periodic and any(side % 2 for side in lattice.shape))


@functools.lru_cache(maxsize=64)
def _lattice_geometry(shape, periodic):
    """Static layout of a packed lattice.

    ``shape`` is the lattice shape (Lx,), (Lx, Ly) or (Lx, Ly, Lz); arrays are
    stored reversed, [z, y, x], so site i = (z·Ly + y)·Lx + x is the row-major
    index. An open lattice with odd Lx gets one extra, decoupled column of
    dummy spins so that x packs into pairs. Returns (array shape, padded
    array shape, parity of the coordinates other than x with shape (..., 1)).
    """
    array_shape = tuple(reversed(shape))
    lx = array_shape[-1]
    padded = array_shape[:-1] + (lx + lx % 2,)
    others = np.indices(array_shape[:-1] + (1,)).sum(axis=0) if len(array_shape) > 1 else np.zeros(1, int)
    return array_shape, padded, (others % 2).astype(bool)


def _pack(array, offset):
    """Sites x = 2k + offset of ``array`` (..., Lx): shape (..., Lx/2)."""
    pairs = array.reshape(array.shape[:-1] + (array.shape[-1] // 2, 2))
    return jnp.where(offset, pairs[..., 1], pairs[..., 0])


def _unpack(black, white, parity):
    """Inverse of packing: black sites at x = 2k + parity, white at x = 2k + 1 − parity."""
    even = jnp.where(parity, white, black)
    odd = jnp.where(parity, black, white)
    both = jnp.stack([even, odd], axis=-1)
    return both.reshape(both.shape[:-2] + (2 * both.shape[-2],))


def _lattice_bond_arrays(model, dtype):
    """One bond array per axis, [z, y, x]-indexed like the spins, from ``model.couplings``.

    ``J_a[c]`` couples site c to c + e_a (wrapping when periodic; 0 for the
    missing wrap bonds of open boundaries). The edges of ``Ising.chain``,
    ``Ising.square`` and ``Ising.cubic`` are all existing x bonds in row-major
    order, then all y bonds, then all z bonds. Returns [(array axis, J_a)].
    """
    lattice = model.lattice
    array_shape = tuple(reversed(lattice.shape))
    ndim = len(array_shape)
    couplings = jnp.asarray(model.couplings, dtype)
    arrays, start = [], 0
    for lattice_axis in range(ndim):
        axis = ndim - 1 - lattice_axis
        block_shape = list(array_shape)
        if not lattice.periodic:
            block_shape[axis] -= 1
        count = int(np.prod(block_shape))
        block = couplings[start:start + count].reshape(block_shape)
        start += count
        if not lattice.periodic:
            widths = [(0, 0)] * ndim
            widths[axis] = (0, 1)
            block = jnp.pad(block, widths)
        arrays.append((axis, block))
    if start != model.n_edges:
        raise ValueError(
            f"this {lattice.kind} model has {model.n_edges} bonds where its lattice has {start}; "
            f"build it with Ising.{lattice.kind}, or use metropolis/heatbath"
        )
    return arrays


class _PackedLattice:
    """Bonds, fields and spins of a two-colourable lattice, packed by colour.

    Colour c (0 = black, x + y + z even; 1 = white) holds the sites
    x = 2k + offset_c of each row, offset_0 = parity of the other coordinates
    and offset_1 = 1 − parity. Every bond joins a black and a white site, and
    the neighbour c ± e_a of a site has the other colour: at the same packed
    index for the y and z axes, at index k or k ± 1 (depending on the offset)
    for the x axis. ``J_a`` is packed like the spins, so the bond to c + e_a
    is ``J_a`` at c and the bond to c − e_a is ``J_a`` at the neighbour.
    """

    def __init__(self, model, dtype):
        lattice = model.lattice
        self.array_shape, self.padded_shape, self.parity = _lattice_geometry(lattice.shape, lattice.periodic)
        self.offsets = (self.parity, ~self.parity)
        self.x_axis = len(self.array_shape) - 1
        self.dtype = dtype
        field = self._pad(jnp.asarray(model.field, dtype).reshape(self.array_shape))
        self.fields = [_pack(field, offset) for offset in self.offsets]
        self.bonds = [
            (axis, [_pack(self._pad(J), offset) for offset in self.offsets])
            for axis, J in _lattice_bond_arrays(model, dtype)
        ]

    def _pad(self, array, value=0):
        extra = self.padded_shape[-1] - self.array_shape[-1]
        if extra == 0:
            return array
        widths = [(0, 0)] * (array.ndim - 1) + [(0, extra)]
        return jnp.pad(array, widths, constant_values=value)

    def pack_spins(self, spins):
        grid = self._pad(spins.reshape(self.array_shape).astype(self.dtype), value=1)
        return [_pack(grid, offset) for offset in self.offsets]

    def unpack_spins(self, packed):
        grid = _unpack(packed[0], packed[1], self.parity)
        grid = grid[..., : self.array_shape[-1]]
        return grid.reshape(-1).astype(jnp.int8)

    def local_field(self, colour, other, layout="roll"):
        """φ = h + Σ_a (J_a(c) s(c + e_a) + J_a(c − e_a) s(c − e_a)) on the sites of ``colour``.

        ``other`` holds the packed spins of the other colour. Along x the
        neighbour c ± e_x of a site with offset 1 (0) is at packed index k ± 1
        (k), elsewhere at the same packed index one row or plane away.
        ``layout`` (:data:`statmech.mc._hash.LAYOUTS`) is how the neighbours are
        read; the sums, and so the result, are the same bit for bit.
        """
        offset = self.offsets[colour]
        total = self.fields[colour]
        n_axes = len(self.array_shape)
        ahead = neighbour_reader(other, n_axes, layout)
        for axis, packed_bonds in self.bonds:
            rolled = ahead(axis, 1)
            forward = packed_bonds[colour] * (jnp.where(offset, rolled, other) if axis == self.x_axis else rolled)
            product = packed_bonds[1 - colour] * other
            rolled = neighbour_reader(product, n_axes, layout, axes=(axis,))(axis, -1)
            backward = jnp.where(offset, product, rolled) if axis == self.x_axis else rolled
            total = total + forward + backward
        return total


def _lattice_local_fields(spins, model):
    """All N local fields φ_i computed the packed way (for tests and diagnostics)."""
    lattice = _PackedLattice(model, _float_dtype())
    packed = lattice.pack_spins(jnp.asarray(spins))
    fields = [lattice.local_field(colour, packed[1 - colour]) for colour in (0, 1)]
    grid = _unpack(fields[0], fields[1], lattice.parity)[..., : lattice.array_shape[-1]]
    return grid.reshape(-1)


def _packed_step(rule, key, state, model, beta):
    """One sweep: all black sites (x + y + z even) at once, then all white ones."""
    dtype = _float_dtype()
    lattice = _PackedLattice(model, dtype)
    beta = jnp.asarray(beta, dtype)
    packed = lattice.pack_spins(state.spins)
    uniforms = jax.random.uniform(key, (2,) + packed[0].shape, dtype)
    layout = default_layout()
    for colour in (0, 1):
        local_field = lattice.local_field(colour, packed[1 - colour], layout)
        packed[colour] = _new_spins(rule, packed[colour], local_field, beta, uniforms[colour])
    spins = lattice.unpack_spins(packed)
    return SpinState(spins=spins), _info(state.spins, spins)


def hashed_uniforms(words, shape, dtype):
    """Uniforms in [0, 1) for the sites of a packed colour: u = f(f(i + K₀) ⊕ K₁) / 2³², f = lowbias32.

    ``words``: the colour's two uint32 keys (K₀, K₁); i: the site's row-major
    index in the packed array of ``shape``. In float32 the word keeps its top
    24 bits (u on the grid 2⁻²⁴, exact); in float64 all 32 (grid 2⁻³²).
    """
    index = jax.lax.broadcasted_iota(jnp.uint32, shape, len(shape) - 1)
    stride = 1
    for axis in range(len(shape) - 2, -1, -1):
        stride *= shape[axis + 1]
        index = index + jax.lax.broadcasted_iota(jnp.uint32, shape, axis) * jnp.uint32(stride)
    bits = lowbias32(lowbias32(index + words[0]) ^ words[1])
    if jnp.dtype(dtype).itemsize < 8:
        return (bits >> jnp.uint32(8)).astype(dtype) * jnp.asarray(2.0**-24, dtype)
    return bits.astype(dtype) * jnp.asarray(2.0**-32, dtype)


def _hashed_step(rule, key, state, model, beta):
    """One sweep like :func:`_packed_step`, with hashed uniforms: one 4-word draw from ``key`` per sweep."""
    _check_model(model)
    if not two_colourable_lattice(model.lattice):
        raise ValueError(f"the hashed checkerboard kernels run two-colourable chain, square and cubic lattices "
                         f"(even periodic sides, or open), got a {model.lattice.kind} lattice {model.lattice.shape} "
                         f"(periodic={model.lattice.periodic}); use the checkerboard or sequential kernels")
    dtype = _float_dtype()
    lattice = _PackedLattice(model, dtype)
    beta = jnp.asarray(beta, dtype)
    packed = lattice.pack_spins(state.spins)
    words = jax.random.bits(key, (2, 2), jnp.uint32)
    layout = default_layout()
    for colour in (0, 1):
        local_field = lattice.local_field(colour, packed[1 - colour], layout)
        uniform = hashed_uniforms(words[colour], packed[colour].shape, dtype)
        packed[colour] = _new_spins(rule, packed[colour], local_field, beta, uniform)
    spins = lattice.unpack_spins(packed)
    return SpinState(spins=spins), _info(state.spins, spins)


def _hashed_kernel(rule):
    def step(key, state, model, beta):
        return _hashed_step(rule, key, state, model, beta)

    step.__doc__ = (f"One sweep of {rule} updates, black then white sublattice, with uniforms hashed from the "
                    "site index and four words drawn from the key.")
    return Kernel(name=f"hashed_checkerboard_{rule}", init=_init, step=step)


hashed_checkerboard_metropolis = _hashed_kernel("metropolis")
hashed_checkerboard_heatbath = _hashed_kernel("heatbath")


# ---------------------------------------------------------- graph colouring
def graph_coloring(model) -> np.ndarray:
    """A proper colouring of the bond graph: colours (N,) int32, different across every bond.

    Greedy colouring, largest degree first (Welsh & Powell, Comput. J. 10, 85
    (1967)), by ``networkx.greedy_color``; self-bonds are ignored (they do not
    enter local fields). Needs the model's bonds as concrete arrays (outside
    ``jit``).
    """
    _check_model(model)
    edges = _concrete(model.edges)
    if edges is None:
        raise ValueError(
            "graph_coloring needs the bond structure as concrete arrays, but the model is traced "
            "(inside jit/vmap); call it, or colored_kernel(model, ...), before tracing"
        )
    return _coloring_from_edges(model.n_sites, np.ascontiguousarray(edges, dtype=np.int64).tobytes())


@functools.lru_cache(maxsize=32)
def _coloring_from_edges(n, edge_bytes):
    import networkx as nx

    edges = np.frombuffer(edge_bytes, dtype=np.int64).reshape(-1, 2)
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from((i, j) for i, j in edges.tolist() if i != j)
    colours = nx.greedy_color(graph, strategy="largest_first")
    result = np.array([colours[i] for i in range(n)], dtype=np.int32)
    result.setflags(write=False)
    return result


@functools.lru_cache(maxsize=32)
def _classes_from_edges(n, edge_bytes):
    classes = _colour_classes(_coloring_from_edges(n, edge_bytes))
    classes.setflags(write=False)
    return classes


def _colour_classes(colours) -> np.ndarray:
    """(n_colours, size of the largest class) site indices, padded with N."""
    n = len(colours)
    members = [np.flatnonzero(colours == c) for c in range(int(colours.max()) + 1)]
    width = max(len(m) for m in members)
    classes = np.full((len(members), width), n, dtype=np.int32)
    for row, m in zip(classes, members):
        row[: len(m)] = m
    return classes


def _check_coloring(colours, model):
    edges = _concrete(model.edges)
    if edges is None:
        return
    if len(colours) != model.n_sites:
        raise ValueError(
            f"the colouring has {len(colours)} sites, the model {model.n_sites}; "
            "build the kernel with colored_kernel(model, ...) for this model"
        )
    edges = edges[edges[:, 0] != edges[:, 1]]
    if np.any(colours[edges[:, 0]] == colours[edges[:, 1]]):
        raise ValueError(
            "the colouring is not proper for this model (a bond joins two sites of one colour); "
            "build the kernel with colored_kernel(model, ...) for this model's bonds"
        )


def _colored_step(rule, classes, key, state, model, beta):
    """One sweep: each colour class updated at once (gathers), classes in turn."""
    dtype = _float_dtype()
    n = model.n_sites
    couplings = jnp.asarray(model.couplings, dtype)
    padded = jnp.concatenate([couplings, jnp.zeros(1, dtype)])
    safe = np.minimum(classes, n - 1)  # padding slots read site N−1, their writes are dropped
    class_neighbors = jnp.asarray(model.neighbors)[safe]  # (n_colours, width, z)
    class_bonds = padded[jnp.asarray(model.neighbor_edges)[safe]]
    class_field = jnp.asarray(model.field, dtype)[safe]
    beta = jnp.asarray(beta, dtype)
    uniforms = jax.random.uniform(key, classes.shape, dtype)

    def update_class(spins, inputs):
        sites, neighbors, bonds, field, u = inputs
        local_field = field + jnp.sum(bonds * spins[neighbors].astype(dtype), axis=-1)
        new = _new_spins(rule, spins[jnp.minimum(sites, n - 1)], local_field, beta, u)
        return spins.at[sites].set(new, mode="drop"), None

    inputs = (jnp.asarray(classes), class_neighbors, class_bonds, class_field, uniforms)
    spins, _ = jax.lax.scan(update_class, state.spins, inputs)
    return SpinState(spins=spins), _info(state.spins, spins)


def colored_kernel(model, rule="metropolis") -> Kernel:
    """Kernel updating the colour classes of ``graph_coloring(model)`` in turn.

    Use it for checkerboard-style updates on a general graph inside ``jit`` or
    ``vmap`` over disorder instances: the colouring is computed here, once,
    from ``model``'s bonds; the returned kernel's ``step`` still takes the
    model (couplings and fields) as an argument, which must have the same
    bonds (``init`` checks this when the model is concrete).
    """
    _check_rule(rule)
    colours = graph_coloring(model)
    classes = _colour_classes(colours)

    def init(spins, model, beta):
        state = _init(spins, model, beta)
        _check_coloring(colours, model)
        return state

    def step(key, state, model, beta):
        return _colored_step(rule, classes, key, state, model, beta)

    return Kernel(name=f"colored_{rule}", init=init, step=step)


# -------------------------------------------------------------- checkerboard
def _checkerboard_step(rule, key, state, model, beta):
    _check_model(model)
    if two_colourable_lattice(model.lattice):
        return _packed_step(rule, key, state, model, beta)
    if _concrete(model.edges) is None:
        lattice = model.lattice
        where = (f"a periodic {lattice.kind} lattice with an odd side {lattice.shape}"
                 if lattice.kind in _LATTICE_KINDS else "a general graph")
        raise ValueError(
            f"checkerboard kernels on {where} update the classes of a graph colouring, which needs "
            f"the bonds as concrete arrays, but the model is traced (inside jit/vmap over the model). "
            f"Build the kernel before tracing with statmech.mc.colored_kernel(model, {rule!r}), "
            f"or use the sequential {rule!r} kernel"
        )
    edge_bytes = np.ascontiguousarray(np.asarray(model.edges), dtype=np.int64).tobytes()
    classes = _classes_from_edges(model.n_sites, edge_bytes)
    return _colored_step(rule, classes, key, state, model, beta)


def _checkerboard_kernel(rule):
    def step(key, state, model, beta):
        return _checkerboard_step(rule, key, state, model, beta)

    step.__doc__ = (
        f"One sweep of {rule} updates by colour class: black then white sublattice on "
        "two-colourable lattices (jnp.roll), greedy colour classes otherwise."
    )
    return Kernel(name=f"checkerboard_{rule}", init=_init, step=step)


checkerboard_metropolis = _checkerboard_kernel("metropolis")
checkerboard_heatbath = _checkerboard_kernel("heatbath")


# ------------------------------------------------------------------ drivers
def _check_lengths(n_sweeps, thin):
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps")
    thin = check_positive_int(thin, "thin")
    if thin > n_sweeps:
        raise ValueError(f"thin ({thin}) must be <= n_sweeps ({n_sweeps}) to record at least one draw")
    return n_sweeps, thin


def _scan_chain(kernel, key, spins, model, beta, n_sweeps, thin, record):
    """Run ``n_sweeps`` steps; record(state) after every ``thin``-th. Sweep t uses fold_in(key, t)."""
    n_sweeps, thin = _check_lengths(n_sweeps, thin)
    state = kernel.init(spins, model, beta)

    def sweep(state, index):
        state, _ = kernel.step(jax.random.fold_in(key, index), state, model, beta)
        return state, None

    def block(state, first):
        state, _ = jax.lax.scan(sweep, state, first + jnp.arange(thin))
        return state, record(state)

    n_draws = n_sweeps // thin
    state, records = jax.lax.scan(block, state, thin * jnp.arange(n_draws))
    rest = n_sweeps - n_draws * thin
    if rest:
        state, _ = jax.lax.scan(sweep, state, n_draws * thin + jnp.arange(rest))
    return state, records


def run_chain(kernel, key, spins, model, beta, n_sweeps, thin=1):
    """Run ``n_sweeps`` steps of ``kernel`` from ``spins``; keep every ``thin``-th configuration.

    Returns ``(final_state, draws)`` with ``draws`` int8 of shape
    (n_sweeps // thin, N): the spins after sweeps thin, 2·thin, …. Sweep t
    uses the key ``jax.random.fold_in(key, t)``, so the output is a pure
    function of ``key``: the same with or without ``jit``, and ``jax.vmap``
    over keys equals a loop over keys. ``n_sweeps`` and ``thin`` are static.
    """
    return _scan_chain(kernel, key, spins, model, beta, n_sweeps, thin, lambda state: state.spins)


def energy_function(model):
    """H(s) as a function of spins (N,): ``model.energy``, or a cheaper packed sum on two-colourable lattices.

    Every bond of a two-colourable lattice joins a black and a white site, so
    H = −Σ_black s_i φ_i − Σ_white h_i s_i with φ the local field.
    """
    if not two_colourable_lattice(model.lattice):
        return model.energy

    def energy(spins):
        lattice = _PackedLattice(model, _float_dtype())
        black, white = lattice.pack_spins(spins)
        return -jnp.sum(black * lattice.local_field(0, white, default_layout())) - jnp.sum(white * lattice.fields[1])

    return energy


def run_chain_observables(kernel, key, spins, model, beta, n_sweeps, thin=1):
    """Like :func:`run_chain`, but records only H(s) and M(s) = Σ_i s_i, not configurations.

    Returns ``(final_state, energy, magnetization)``: ``energy`` (float,
    equal to ``model.energy`` of the spins up to rounding; on two-colourable
    lattices summed as −Σ_black s_i φ_i − Σ_white h_i s_i, which costs half a
    sweep instead of a gather over all bonds) and ``magnetization`` (int32), each of
    shape (n_sweeps // thin,). Memory is O(N + n_sweeps), so large lattices
    are cheap.
    """
    energy = energy_function(model)

    def record(state):
        return energy(state.spins), jnp.sum(state.spins, dtype=jnp.int32)

    state, (energy, magnetization) = _scan_chain(kernel, key, spins, model, beta, n_sweeps, thin, record)
    return state, energy, magnetization
