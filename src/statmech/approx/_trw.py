"""Tree-reweighted belief propagation: an upper bound on log Z (method ``"trw"``).

    log Z ≤ max_τ  Σ_i θ_i m_i + Σ_e K_e c_e + Σ_i H(τ_i) − Σ_e ρ_e I(τ_e)

for edge appearance probabilities ρ_e of spanning trees (Wainwright, Jaakkola
& Willsky, IEEE Trans. Inf. Theory 51, 2313 (2005)); the fixed point of the
reweighted messages attains it. ρ_e of the uniform spanning tree are the
effective resistances. Derivation: docs/derivations.md.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse
import scipy.sparse.csgraph

from statmech.approx._bp import bethe_quantities, initial_messages, pass_messages, warn_not_converged
from statmech.approx._common import (ApproxResult, Graph, check_call, check_count,
                                     check_iteration_options, check_model)

MAX_DENSE_RESISTANCE_SITES = 3000
TRW_OPTIONS = ("damping", "tol", "max_iter", "init", "seed", "edge_probabilities", "anderson")
_DEFAULTS = {"damping": 0.5, "tol": 1e-10, "max_iter": 10_000, "init": "zero", "seed": 0}
_ANDERSON_MAX_MESSAGES = 1_000_000  # default Anderson memory only below this many messages


def _lattice_uniform(graph: Graph) -> bool:
    lattice = graph.lattice
    if lattice is None or lattice.kind not in ("square", "cubic") or not lattice.periodic:
        return False
    if min(lattice.shape) < 3:
        return False
    return graph.n_edges == len(lattice.shape) * graph.n


def _resistances(graph: Graph) -> np.ndarray:
    """Effective resistance of every merged bond (unit conductances), per connected component."""
    n, i, j = graph.n, graph.i, graph.j
    adjacency = scipy.sparse.csr_matrix((np.ones(i.size), (i, j)), shape=(n, n))
    n_components, labels = scipy.sparse.csgraph.connected_components(adjacency, directed=False)
    rho = np.empty(i.size)
    edge_component = labels[i]
    for component in range(n_components):
        sites = np.flatnonzero(labels == component)
        bonds = np.flatnonzero(edge_component == component)
        if bonds.size == 0:
            continue
        if bonds.size == sites.size - 1:  # a tree: every bond is in the one spanning tree
            rho[bonds] = 1.0
            continue
        if sites.size > MAX_DENSE_RESISTANCE_SITES:
            raise ValueError(
                f"trw: effective resistances need a dense inverse of a {sites.size}-site component "
                f"(limit {MAX_DENSE_RESISTANCE_SITES}); pass edge_probabilities=... (one value in "
                f"(0, 1] per bond of model.edges, a point of the spanning-tree polytope)")
        local = np.full(n, -1)
        local[sites] = np.arange(sites.size)
        a, b = local[i[bonds]], local[j[bonds]]
        laplacian = np.zeros((sites.size, sites.size))
        np.add.at(laplacian, (a, b), -1.0)
        np.add.at(laplacian, (b, a), -1.0)
        laplacian[np.diag_indices(sites.size)] = -laplacian.sum(axis=1)
        # L + 11ᵀ/n is invertible on a connected component; the 11ᵀ part cancels in R_ab.
        inverse = np.linalg.inv(laplacian + 1.0 / sites.size)
        rho[bonds] = inverse[a, a] + inverse[b, b] - 2.0 * inverse[a, b]
    return np.clip(rho, 1e-300, 1.0)


def spanning_tree_edge_probabilities(model) -> np.ndarray:
    """Probability that each bond of ``model.edges`` lies in a uniform random spanning tree.

    ρ_e = effective resistance between the ends of e with unit conductances
    (Kirchhoff; Lyons & Peres, *Probability on Trees and Networks*, §4.2);
    Σ_e ρ_e = N − (number of components) (Foster). Parallel bonds are one
    edge of the graph (they share ρ); self-bonds get 1. On periodic square and
    cubic lattices with sides ≥ 3 the uniform value (N − 1)/|E|.
    """
    check_model(model, "trw")
    graph = Graph.of(model)
    return graph.per_bond(_edge_probabilities(graph, None), 1.0)


def _edge_probabilities(graph: Graph, given) -> np.ndarray:
    if given is not None:
        array = np.array(given, dtype=np.float64).reshape(-1)
        if array.size != graph.edge_of_bond.size:
            raise ValueError(f"edge_probabilities must have one value per bond of model.edges "
                             f"({graph.edge_of_bond.size}), got {array.size}")
        inside = graph.edge_of_bond >= 0
        if not np.all(np.isfinite(array)) or np.any(array[inside] <= 0) or np.any(array[inside] > 1):
            raise ValueError("edge_probabilities must lie in (0, 1] (e.g. "
                             "sm.approx.spanning_tree_edge_probabilities(model))")
        rho = np.empty(graph.n_edges)
        rho[graph.edge_of_bond[inside]] = array[inside]
        return rho
    if graph.n_edges == 0:
        return np.ones(0)
    if _lattice_uniform(graph) and (len(set(graph.lattice.shape)) == 1
                                    or graph.n > MAX_DENSE_RESISTANCE_SITES):
        # Equal sides: edge-transitive, so these are the exact resistances; unequal sides
        # too large for the dense inverse: still a point of the spanning-tree polytope.
        return np.full(graph.n_edges, (graph.n - 1) / graph.n_edges)
    return _resistances(graph)


def _anderson(graph: Graph, anderson) -> int:
    if anderson is None:
        return 5 if 2 * graph.n_edges <= _ANDERSON_MAX_MESSAGES else 0
    return check_count(anderson, "anderson", 0)


def _trw(graph: Graph, beta: float, rho: np.ndarray, damping: float, tol: float, max_iter: int,
         init, seed: int, memory: int, warn: bool = True):
    messages = initial_messages(graph, beta, init, seed)
    u, H, iterations, residual, converged = pass_messages(graph, beta, messages, rho, damping,
                                                          tol, max_iter, memory)
    if not converged and warn:
        warn_not_converged("tree-reweighted BP", beta, residual, iterations, tol,
                           "the value is not the TRW optimum and need not bound log Z; raise "
                           "damping (e.g. damping=0.7) or max_iter")
    log_z, energy, m, c = bethe_quantities(graph, beta, u, H, rho)
    result = ApproxResult(
        method="trw", beta=beta, n_sites=graph.n, log_z=log_z, energy=energy, magnetizations=m,
        correlations=graph.per_bond(c, 1.0), iterations=iterations, residual=residual,
        converged=converged,
        meta={"damping": damping, "tol": tol, "max_iter": max_iter, "anderson": memory,
              "init": init if isinstance(init, str) else "array", "seed": seed,
              "edge_probabilities": graph.per_bond(rho, 1.0)})
    return result, u


def trw(model, beta, *, damping=0.5, tol=1e-10, max_iter=10_000, init="zero", seed=0,
        edge_probabilities=None, anderson=None) -> ApproxResult:
    """Tree-reweighted BP at one β: ``log_z`` is an upper bound on log Z (at convergence).

    ``edge_probabilities``: ρ_e per bond of ``model.edges`` (default: uniform
    spanning tree, :func:`spanning_tree_edge_probabilities`). Other options
    as in :func:`belief_propagation`; the objective is concave, so the fixed
    point does not depend on ``init``. ``anderson``: memory of the Anderson
    acceleration (default 5 up to a million messages, else 0). Warns (:class:`ConvergenceWarning`)
    with the residual when the messages have not converged.
    """
    beta = check_call(model, beta, "trw")
    damping, tol, max_iter, seed = check_iteration_options(damping, tol, max_iter, seed)
    graph = Graph.of(model)
    rho = _edge_probabilities(graph, edge_probabilities)
    return _trw(graph, beta, rho, damping, tol, max_iter, init, seed, _anderson(graph, anderson))[0]


class TRWRunner:
    """Registry helper: edge probabilities computed once per model, fixed points per β."""

    def __init__(self, graph: Graph, options: dict):
        self.graph = graph
        self.options = options
        options = {**_DEFAULTS, **options}
        self.args = check_iteration_options(options["damping"], options["tol"], options["max_iter"], options["seed"])
        self.init = options["init"]
        self.memory = _anderson(graph, options.get("anderson"))
        self.rho = _edge_probabilities(graph, options.get("edge_probabilities"))

    def __call__(self, beta, warm=None, warn=True):
        damping, tol, max_iter, seed = self.args
        init = self.init if warm is None else warm
        return _trw(self.graph, beta, self.rho, damping, tol, max_iter, init, seed, self.memory,
                    warn=warn)
