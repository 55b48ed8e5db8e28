"""Cluster updates for ferromagnetic Ising models: Wolff and Swendsen–Wang (pure JAX).

Fortuin–Kasteleyn bonds p_ij = 1 − exp(−2βJ_ij) on satisfied bonds, a
ghost spin for fields (a cluster joined to it is never flipped).

* ``wolff``: one step = one cluster flip; ``StepInfo.acceptance_rate`` is
  the flipped fraction |C|/N (0 when the ghost vetoed the flip).
  U. Wolff, Phys. Rev. Lett. 62, 361 (1989).
* ``swendsen_wang``: one step = one full decomposition, each free cluster
  flipped with probability ½. R. H. Swendsen and J.-S. Wang, Phys. Rev.
  Lett. 58, 86 (1987).

Kernels run under ``jax.vmap``. Frustrated couplings (any J < 0) are refused
by ``init`` (and ``step`` outside ``jit``) with a ValueError; with traced
couplings call :func:`check_ferromagnetic` yourself. The ghost-spin argument
and the cluster labelling: docs/derivations.md.
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from statmech._validation import as_beta_array
from statmech.mc._base import Kernel, SpinState, StepInfo

FRUSTRATED_MESSAGE = (
    "cluster updates need ferromagnetic couplings (all J >= 0); "
    "use metropolis/heatbath or parallel tempering"
)
LATTICE_KINDS = ("chain", "square", "cubic")


# ---------------------------------------------------------------- validation
def _is_tracer(value) -> bool:
    return isinstance(value, jax.core.Tracer)


def check_ferromagnetic(model) -> None:
    """Raise ValueError when some coupling J_e < 0 (skipped if the couplings are tracers)."""
    if _is_tracer(model.couplings):
        return
    couplings = np.asarray(model.couplings, dtype=np.float64)
    negative = couplings < 0
    if np.any(negative):
        raise ValueError(
            f"{FRUSTRATED_MESSAGE} ({int(negative.sum())} of {couplings.size} bonds have "
            f"J < 0, the smallest is {couplings.min():.4g})"
        )


def _check_beta(beta) -> None:
    """β finite, >= 0 and a scalar (skipped for tracers)."""
    if _is_tracer(beta):
        return
    if np.ndim(beta) != 0:
        raise ValueError(
            f"beta must be a scalar for one chain, got shape {np.shape(beta)}; "
            "use jax.vmap over beta to run several temperatures"
        )
    as_beta_array(beta)  # a real number, finite and >= 0


def _as_spins(spins, n_sites) -> jax.Array:
    if not _is_tracer(spins):
        array = np.asarray(spins)
        if array.shape != (n_sites,):
            raise ValueError(
                f"spins must have shape ({n_sites},) for one chain, got {array.shape}; "
                "use jax.vmap over chains"
            )
        if not np.all((array == 1) | (array == -1)):
            raise ValueError("spins must be +1 or -1 (e.g. 2 * bits - 1)")
    return jnp.asarray(spins).astype(jnp.int8)


def _cluster_init(spins, model, beta) -> SpinState:
    """Check the model (ferromagnetic) and β, and wrap the spins as int8."""
    check_ferromagnetic(model)
    _check_beta(beta)
    return SpinState(spins=_as_spins(spins, model.n_sites))


# ------------------------------------------------------------ FK bonds
def _bond_probability(beta, coupling, xp=jnp):
    """FK activation probability of a satisfied bond, p = 1 − exp(−2βJ). ``xp``: ``jax.numpy`` or ``numpy``."""
    return -xp.expm1(-2.0 * beta * coupling)


def _open_bonds(key, spins, model, beta):
    """Activated bonds (E,): satisfied (s_i = s_j) and u_e < 1 − exp(−2βJ_e)."""
    edges = jnp.asarray(model.edges)
    couplings = jnp.asarray(model.couplings)
    satisfied = spins[edges[:, 0]] == spins[edges[:, 1]]
    uniform = jax.random.uniform(key, couplings.shape)
    return satisfied & (uniform < _bond_probability(beta, couplings))


def _open_ghost_bonds(key, spins, model, beta):
    """Activated ghost bonds (N,): s_i·sign(h_i) = +1 and u_i < 1 − exp(−2β|h_i|)."""
    field = jnp.asarray(model.field)
    satisfied = field * spins > 0
    uniform = jax.random.uniform(key, field.shape)
    return satisfied & (uniform < _bond_probability(beta, jnp.abs(field)))


# ------------------------------------------------------------ labelling
def _compress(labels):
    """Pointer jumping label ← label[label] until every label is a root (label[r] = r)."""

    def body(carry):
        labels, _ = carry
        once = labels[labels]
        twice = once[once]
        return twice, jnp.any(twice != once)

    labels, _ = lax.while_loop(lambda carry: carry[1], body, (labels, jnp.array(True)))
    return labels


def _hook_and_compress(labels, a, b):
    """Hook root max(a, b) under min(a, b) for every pair with a ≠ b, then compress.

    ``labels`` has one extra slot at the end (index n) that takes the
    updates of pairs with a = b, so the scatter needs no bounds check.
    """
    n = labels.shape[0] - 1
    high = jnp.where(a != b, jnp.maximum(a, b), n)
    labels = labels.at[high].min(jnp.minimum(a, b), mode="promise_in_bounds")
    return _compress(labels)


def connected_components(sources, targets, active, n_nodes):
    """Label every node with the smallest node index of its component.

    Only edges with ``active`` True connect. Every label is kept a node of
    the same component with a smaller or equal index, and a root (a node
    labelled by itself). Each round (a ``lax.while_loop`` iteration, until
    every active edge joins equal labels) hooks, for each active edge with
    labels a ≠ b, the root max(a, b) under min(a, b) (a scatter-min), then
    jumps pointers label ← label[label] until every label is a root again.
    The fixed point is the component minimum. Only roots that are local
    minima among their neighbours' roots survive a round, so a path of ℓ
    edges needs at most log2(ℓ) + 1 rounds, where min-label propagation
    needed ℓ (Y. Shiloach and U. Vishkin, J. Algorithms 3, 57 (1982)).
    """
    sources = jnp.asarray(sources)
    targets = jnp.asarray(targets)
    active = jnp.asarray(active)
    # inactive edges look like self-loops of node 0: never hooked, never pending
    sources = jnp.where(active, sources, 0)
    targets = jnp.where(active, targets, 0)
    labels = jnp.arange(n_nodes + 1, dtype=jnp.int32)

    def body(carry):
        labels, a, b = carry
        labels = _hook_and_compress(labels, a, b)
        return labels, labels[sources], labels[targets]

    carry = (labels, labels[sources], labels[targets])
    labels, _, _ = lax.while_loop(lambda carry: jnp.any(carry[1] != carry[2]), body, carry)
    return labels[:n_nodes]


def _run_roots(open_forward, axis):
    """Flat index of the smallest site of each site's run of open bonds along ``axis``.

    ``open_forward[c]`` is the bond from site c to c + e_axis (the last one
    along the axis wraps around; False where it does not exist). A run starts
    where the bond behind is closed; its start is a prefix max along the
    axis. When the wrap-around bond is open the last run joins the first, and
    the smallest site of the joined run is at coordinate 0.
    """
    shape = open_forward.shape
    size = shape[axis]
    coordinate = lax.broadcasted_iota(jnp.int32, shape, axis)
    behind_closed = ~jnp.roll(open_forward, 1, axis=axis) | (coordinate == 0)
    start = lax.associative_scan(jnp.maximum, jnp.where(behind_closed, coordinate, 0), axis=axis)
    last = lax.slice_in_dim(start, size - 1, size, axis=axis)
    wraps = lax.slice_in_dim(open_forward, size - 1, size, axis=axis) & (start == last)
    start = jnp.where(wraps, 0, start)
    stride = math.prod(shape[axis + 1:])
    sites = jnp.arange(math.prod(shape), dtype=jnp.int32).reshape(shape)
    return (sites + (start - coordinate) * stride).reshape(-1)


def lattice_components(open_grids):
    """Label every site of a lattice with the smallest site index of its cluster.

    ``open_grids``: one bool array per lattice axis (x, then y, then z), each
    of the spin array shape [.., y, x]; ``open_grids[k][c]`` is the activated
    bond from site c to its neighbour along axis k (wrapping; False where a
    wrap-around bond does not exist). Sites are row-major, so the smallest
    site of a run along x is at its smallest x.

    The runs along x are labelled at once by a prefix-max scan (on a chain
    that is the answer); then, as in :func:`connected_components`, rounds of
    hooking across the activated y (and z) bonds and pointer jumping run until
    every activated bond joins equal labels. The x runs stay consistent: all
    their sites point to the same root from the start.
    """
    shape = open_grids[0].shape
    ndim = len(shape)
    labels = _run_roots(open_grids[0], axis=ndim - 1)
    n = labels.shape[0]
    if ndim == 1:
        return labels
    labels = jnp.concatenate([labels, jnp.full(1, n, jnp.int32)])  # the dummy slot of _hook_and_compress

    def pairs(labels):
        """Labels at both ends of every y (and z) bond; an inactive bond gets its own label twice."""
        grid = labels[:n].reshape(shape)
        ends = [jnp.where(open_grids[k], jnp.roll(grid, -1, axis=ndim - 1 - k), grid) for k in range(1, ndim)]
        return jnp.tile(labels[:n], ndim - 1), jnp.concatenate([end.reshape(-1) for end in ends])

    def body(carry):
        labels, a, b = carry
        labels = _hook_and_compress(labels, a, b)
        return (labels, *pairs(labels))

    labels, _, _ = lax.while_loop(lambda carry: jnp.any(carry[1] != carry[2]), body, (labels, *pairs(labels)))
    return labels[:n]


def _lattice_array_shape(model):
    """Spin array shape [z, y, x] when ``model``'s bonds are those of its lattice, else None.

    The edges of ``Ising.chain``/``square``/``cubic`` are all existing x
    bonds in row-major order, then all y bonds, then all z bonds; only their
    number is checked (it is static under ``jit``), as the local kernels do.
    """
    lattice = model.lattice
    if lattice.kind not in LATTICE_KINDS:
        return None
    shape = tuple(reversed(lattice.shape))
    n_sites = math.prod(shape)
    expected = sum(n_sites if lattice.periodic else n_sites // side * (side - 1) for side in shape)
    if model.edges.shape[0] != expected:
        return None
    return shape


def _bond_grids(values, shape, periodic, xp=jnp):
    """Per-axis arrays (x, then y, then z), of the spin array shape, of an (E,) bond array in lattice order.

    Missing wrap-around bonds of open lattices get 0 (False). ``xp`` is ``jax.numpy`` (default) or ``numpy``.
    """
    grids, start = [], 0
    ndim = len(shape)
    for lattice_axis in range(ndim):
        axis = ndim - 1 - lattice_axis
        block = list(shape)
        if not periodic:
            block[axis] -= 1
        count = math.prod(block)
        grid = values[start:start + count].reshape(block)
        start += count
        if not periodic:
            widths = [(0, 0)] * ndim
            widths[axis] = (0, 1)
            grid = xp.pad(grid, widths)
        grids.append(grid)
    return grids


def _open_bond_grids(key, spins, model, beta, shape):
    """Activated bonds of a lattice model as per-axis arrays (see :func:`lattice_components`).

    Same law as :func:`_open_bonds`: a bond is satisfied (s_c = s_{c+e}) and
    u < 1 − exp(−2βJ); missing wrap-around bonds have J = 0, so p = 0.
    """
    periodic = model.lattice.periodic
    grid = spins.reshape(shape)
    couplings = _bond_grids(jnp.asarray(model.couplings), shape, periodic)
    uniform = jax.random.uniform(key, (len(shape),) + shape)
    return [
        (grid == jnp.roll(grid, -1, axis=len(shape) - 1 - k))
        & (uniform[k] < _bond_probability(beta, couplings[k]))
        for k in range(len(shape))
    ]


def _fk_labels(key, spins, model, beta):
    """Draw the activated bonds of ``spins`` and label the clusters (smallest site index)."""
    shape = _lattice_array_shape(model)
    if shape is not None:
        return lattice_components(_open_bond_grids(key, spins, model, beta, shape))
    return cluster_labels(_open_bonds(key, spins, model, beta), model)


def cluster_labels(open_bonds, model):
    """Sites (N,) labelled by the smallest site index of their cluster of activated bonds.

    ``open_bonds`` (E,) bool follows ``model.edges``. Lattice models use
    :func:`lattice_components`, other graphs :func:`connected_components`.
    """
    shape = _lattice_array_shape(model)
    if shape is not None:
        return lattice_components(_bond_grids(open_bonds, shape, model.lattice.periodic))
    edges = jnp.asarray(model.edges)
    return connected_components(edges[:, 0], edges[:, 1], open_bonds, model.field.shape[-1])


def grow_cluster(seed, open_bonds, model):
    """Sites (N,) bool of the cluster of ``seed`` over activated bonds ``open_bonds`` (E,)."""
    labels = cluster_labels(open_bonds, model)
    return labels == labels[seed]


def _fair_coins(key, n):
    """n independent fair coins (bool), 32 from each random word."""
    words = jax.random.bits(key, (-(-n // 32),), jnp.uint32)
    bits = (words[:, None] >> jnp.arange(32, dtype=jnp.uint32)) & 1
    return bits.reshape(-1)[:n].astype(bool)


# -------------------------------------------------------------------- steps
def _wolff_step(key, state, model, beta):
    """One Wolff cluster flip; returns (SpinState, StepInfo(flipped fraction))."""
    check_ferromagnetic(model)
    spins = state.spins
    n_sites = spins.shape[-1]
    key_seed, key_bonds, key_ghost = jax.random.split(key, 3)
    seed = jax.random.randint(key_seed, (), 0, n_sites)
    labels = _fk_labels(key_bonds, spins, model, beta)
    cluster = labels == labels[seed]
    vetoed = lax.cond(  # no ghost bond to draw when every h_i = 0
        jnp.any(jnp.asarray(model.field) != 0),
        lambda: jnp.any(cluster & _open_ghost_bonds(key_ghost, spins, model, beta)),
        lambda: jnp.array(False),
    )
    flip = cluster & ~vetoed
    new_spins = jnp.where(flip, -spins, spins).astype(spins.dtype)
    return SpinState(spins=new_spins), StepInfo(acceptance_rate=jnp.mean(flip.astype(jnp.float32)))


def _swendsen_wang_step(key, state, model, beta):
    """One Swendsen–Wang decomposition; returns (SpinState, StepInfo(flipped fraction))."""
    check_ferromagnetic(model)
    spins = state.spins
    n_sites = spins.shape[-1]
    key_bonds, key_ghost, key_coins = jax.random.split(key, 3)
    labels = _fk_labels(key_bonds, spins, model, beta)
    # clusters are named by their smallest site: one coin and one ghost flag per name
    field = jnp.asarray(model.field)

    def joined_to_ghost():
        ghost_bonds = _open_ghost_bonds(key_ghost, spins, model, beta)
        return jnp.zeros(n_sites, bool).at[labels].max(ghost_bonds, mode="promise_in_bounds")

    ghost_joined = lax.cond(jnp.any(field != 0), joined_to_ghost, lambda: jnp.zeros(n_sites, bool))
    flip = (_fair_coins(key_coins, n_sites) & ~ghost_joined)[labels]
    new_spins = jnp.where(flip, -spins, spins).astype(spins.dtype)
    return SpinState(spins=new_spins), StepInfo(acceptance_rate=jnp.mean(flip.astype(jnp.float32)))


wolff = Kernel(name="wolff", init=_cluster_init, step=_wolff_step)
"""Wolff single-cluster kernel for ferromagnets (any graph, any field via the ghost spin)."""

swendsen_wang = Kernel(name="swendsen_wang", init=_cluster_init, step=_swendsen_wang_step)
"""Swendsen–Wang multi-cluster kernel for ferromagnets (any graph, any field via the ghost spin)."""
