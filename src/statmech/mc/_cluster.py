"""Cluster updates for ferromagnetic Ising models: Wolff and Swendsen–Wang.

Both rest on the Fortuin–Kasteleyn representation of

    H(s) = − Σ_{edges (i,j)} J_ij s_i s_j − Σ_i h_i s_i,   all J_ij ≥ 0:

every satisfied bond (s_i = s_j) is *activated* with probability

    p_ij = 1 − exp(−2β J_ij),

and the clusters of activated bonds can be flipped without changing the
Boltzmann weight. A field is handled with a *ghost spin*: an extra spin g,
fixed at +1, joined to every site by a bond of strength |h_i| (so
h_i s_i = |h_i| · (sign(h_i) s_i) · g). The ghost bond of site i is satisfied
when s_i·sign(h_i) = +1 and is activated with p_i = 1 − exp(−2β|h_i|); a
cluster joined to the ghost is never flipped (flipping it would flip g, and
undoing that by the global Z2 flip leaves the other clusters' coins fair).

* ``wolff`` — one step = **one cluster flip** (a Wolff "sweep" is one
  cluster, not N spin updates): a random seed site, its cluster grown by
  frontier expansion, flipped unless it reaches the ghost.
  ``StepInfo.acceptance_rate`` is the flipped fraction |C|/N (0 when the
  ghost vetoed the flip).
  U. Wolff, Phys. Rev. Lett. 62, 361 (1989).
* ``swendsen_wang`` — one step = one full decomposition: all bonds are
  activated, connected components are found by min-label propagation with
  pointer jumping, each cluster not joined to the ghost is flipped with
  probability ½. ``StepInfo.acceptance_rate`` is the flipped fraction.
  R. H. Swendsen and J.-S. Wang, Phys. Rev. Lett. 58, 86 (1987).

Both are pure JAX (``lax.while_loop``), so ``jax.vmap`` over chains, β or
disorder instances works. Frustrated couplings (any J < 0) make the FK
weights negative: ``init`` (and ``step`` called outside ``jit``) raise a
ValueError. When the couplings are tracers (a ``jit``/``vmap`` over models)
the check cannot run and is skipped — call ``init`` outside the
transformation, or use :func:`check_ferromagnetic` yourself.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from statmech.mc._base import Kernel, SpinState, StepInfo

FRUSTRATED_MESSAGE = (
    "cluster updates need ferromagnetic couplings (all J >= 0); "
    "use metropolis/heatbath or parallel tempering"
)


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
    if _is_tracer(beta):
        return
    value = np.asarray(beta, dtype=np.float64)
    if value.ndim != 0:
        raise ValueError(
            f"beta must be a scalar for one chain, got shape {value.shape}; "
            "use jax.vmap over beta to run several temperatures"
        )
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"beta must be finite and >= 0, got {float(value)}")


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


# ------------------------------------------------------------------- pieces
def _bond_probability(beta, coupling):
    """FK activation probability of a satisfied bond, p = 1 − exp(−2βJ)."""
    return -jnp.expm1(-2.0 * beta * coupling)


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


def connected_components(sources, targets, active, n_nodes):
    """Label every node with the smallest node index of its component.

    Only edges with ``active`` True connect. Iterates, in a ``lax.while_loop``
    until nothing changes, (1) hooking: for each active edge with labels
    (a, b), label[max(a, b)] and both endpoints take min(a, b); (2) pointer
    jumping label ← label[label]. Every label stays a node of the same
    component with a smaller or equal index, so the fixed point is the
    component minimum (Shiloach & Vishkin, J. Algorithms 3, 57 (1982)).
    """
    sources = jnp.asarray(sources)
    targets = jnp.asarray(targets)
    labels = jnp.arange(n_nodes, dtype=jnp.int32)

    def body(carry):
        labels, _ = carry
        a, b = labels[sources], labels[targets]
        low = jnp.where(active, jnp.minimum(a, b), n_nodes)
        high = jnp.maximum(a, b)
        index = jnp.concatenate([high, sources, targets])
        new = labels.at[index].min(jnp.concatenate([low, low, low]).astype(jnp.int32))
        new = new[new]
        return new, jnp.any(new != labels)

    labels, _ = lax.while_loop(lambda carry: carry[1], body, (labels, jnp.array(True)))
    return labels


def grow_cluster(seed, open_bonds, model):
    """Sites (N,) bool of the cluster of ``seed`` over activated bonds ``open_bonds`` (E,).

    Frontier growth: each round, every site outside the cluster joined by an
    activated bond to a site of the current frontier joins; the newcomers are
    the next frontier. A bond is looked at only while its cluster end is in
    the frontier, so with one uniform per bond per step each bond is tested
    once, as in Wolff's recursive construction.
    """
    n_sites = model.field.shape[-1]
    neighbors = jnp.asarray(model.neighbors)
    # padding slots of the neighbour table point at bond E: never open
    open_slot = jnp.concatenate([open_bonds, jnp.zeros(1, bool)])[jnp.asarray(model.neighbor_edges)]
    cluster = jnp.zeros(n_sites, bool).at[seed].set(True)

    def body(carry):
        cluster, frontier = carry
        reached = jnp.any(frontier[neighbors] & open_slot, axis=1) & ~cluster
        return cluster | reached, reached

    cluster, _ = lax.while_loop(lambda carry: jnp.any(carry[1]), body, (cluster, cluster))
    return cluster


# -------------------------------------------------------------------- steps
def _wolff_step(key, state, model, beta):
    """One Wolff cluster flip; returns (SpinState, StepInfo(flipped fraction))."""
    check_ferromagnetic(model)
    spins = state.spins
    n_sites = spins.shape[-1]
    key_seed, key_bonds, key_ghost = jax.random.split(key, 3)
    seed = jax.random.randint(key_seed, (), 0, n_sites)
    cluster = grow_cluster(seed, _open_bonds(key_bonds, spins, model, beta), model)
    vetoed = jnp.any(cluster & _open_ghost_bonds(key_ghost, spins, model, beta))
    flip = cluster & ~vetoed
    new_spins = jnp.where(flip, -spins, spins).astype(spins.dtype)
    return SpinState(spins=new_spins), StepInfo(acceptance_rate=jnp.mean(flip.astype(jnp.float32)))


def _swendsen_wang_step(key, state, model, beta):
    """One Swendsen–Wang decomposition; returns (SpinState, StepInfo(flipped fraction))."""
    check_ferromagnetic(model)
    spins = state.spins
    n_sites = spins.shape[-1]
    key_bonds, key_ghost, key_coins = jax.random.split(key, 3)
    edges = jnp.asarray(model.edges)
    sites = jnp.arange(n_sites, dtype=edges.dtype)
    ghost = n_sites
    sources = jnp.concatenate([edges[:, 0], sites])
    targets = jnp.concatenate([edges[:, 1], jnp.full(n_sites, ghost, edges.dtype)])
    active = jnp.concatenate([
        _open_bonds(key_bonds, spins, model, beta),
        _open_ghost_bonds(key_ghost, spins, model, beta),
    ])
    labels = connected_components(sources, targets, active, n_sites + 1)
    coins = jax.random.bernoulli(key_coins, 0.5, (n_sites + 1,))
    site_labels = labels[:n_sites]
    flip = coins[site_labels] & (site_labels != labels[ghost])
    new_spins = jnp.where(flip, -spins, spins).astype(spins.dtype)
    return SpinState(spins=new_spins), StepInfo(acceptance_rate=jnp.mean(flip.astype(jnp.float32)))


wolff = Kernel(name="wolff", init=_cluster_init, step=_wolff_step)
"""Wolff single-cluster kernel for ferromagnets (any graph, any field via the ghost spin)."""

swendsen_wang = Kernel(name="swendsen_wang", init=_cluster_init, step=_swendsen_wang_step)
"""Swendsen–Wang multi-cluster kernel for ferromagnets (any graph, any field via the ghost spin)."""
