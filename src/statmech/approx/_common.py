"""Shared pieces of the approximate methods: the graph of an Ising model, stable
log-cosh functions, the result type, option checks and the convergence warning.

Notation used by every approximation: θ_i = β h_i (fields), K_e = β J_e
(couplings), so that −βH(s) = Σ_e K_e s_i s_j + Σ_i θ_i s_i − βc, with c the
constant energy of self-bonds (a periodic chain of one site).
"""
from __future__ import annotations

import dataclasses
import functools
import math
import numbers
from typing import Any, Mapping

import numpy as np
import scipy.sparse
import scipy.sparse.csgraph

from statmech._numerics import log_2cosh, log_cosh, readonly_float64
from statmech._types import StatmechWarning
from statmech._validation import check_positive_int, check_seed
from statmech.models import Ising


class ConvergenceWarning(StatmechWarning):
    """An iterative approximation stopped before its fixed-point residual reached ``tol``."""


# ----------------------------------------------------------------- numerics


def binary_entropy_of_field(x, m):
    """Entropy of the spin law p(s) ∝ e^{x s}, whose mean is m = tanh x: ln 2cosh x − x m."""
    return log_2cosh(x) - x * m


def binary_entropy(m):
    """Entropy of a ±1 spin with mean m: −Σ_s (1 + s m)/2 · ln((1 + s m)/2) (0 at m = ±1)."""
    m = np.clip(m, -1.0, 1.0)
    plus, minus = 0.5 * (1.0 + m), 0.5 * (1.0 - m)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -(np.where(plus > 0, plus * np.log(np.where(plus > 0, plus, 1.0)), 0.0)
                 + np.where(minus > 0, minus * np.log(np.where(minus > 0, minus, 1.0)), 0.0))


def cavity_bias(coupling, tanh_coupling, field):
    """u = atanh(tanh K · tanh x), the field a spin with cavity field x sends through a bond K.

    Computed as atanh of the product where |tanh K tanh x| ≤ 0.9 and as
    ½[ln cosh(K + x) − ln cosh(K − x)] (the same number, finite for any size)
    elsewhere, so that β = 10⁶ gives finite messages.
    """
    product = np.tanh(field)
    product *= tanh_coupling
    with np.errstate(divide="ignore"):
        out = np.arctanh(product)
    if max(float(product.max()), -float(product.min())) > 0.9:
        large = np.abs(product) > 0.9
        k, x = coupling[large], field[large]
        out[large] = 0.5 * (log_cosh(k + x) - log_cosh(k - x))
    return out


# -------------------------------------------------------------------- graph
@dataclasses.dataclass(frozen=True)
class Graph:
    """The bonds of an Ising model with parallel bonds merged and self-bonds set apart.

    ``i``, ``j``, ``J``: the E distinct bonds (i < j) and their summed
    couplings; ``h``: fields; ``constant``: the self-bond energy −Σ J_ii;
    ``edge_of_bond[b]``: for bond b of ``model.edges``, its index in the
    merged list (−1 for a self-bond).
    """

    n: int
    i: np.ndarray
    j: np.ndarray
    J: np.ndarray
    h: np.ndarray
    constant: float
    edge_of_bond: np.ndarray
    lattice: Any

    @classmethod
    def of(cls, model: Ising) -> "Graph":
        edges = np.asarray(model.edges, dtype=np.int64).reshape(-1, 2)
        couplings = np.asarray(model.couplings, dtype=np.float64).reshape(-1)
        n = model.n_sites
        off = edges[:, 0] != edges[:, 1]
        low = np.minimum(edges[off, 0], edges[off, 1])
        high = np.maximum(edges[off, 0], edges[off, 1])
        keys = low * n + high
        edge_of_bond = np.full(len(edges), -1, dtype=np.int64)
        ordered = np.sort(keys)  # a sort is much faster than np.unique's hashing here
        if keys.size and np.any(ordered[1:] == ordered[:-1]):
            unique, inverse = np.unique(keys, return_inverse=True)
            inverse = inverse.reshape(-1)
            J = np.bincount(inverse, weights=couplings[off], minlength=unique.size)
            i, j = unique // n, unique % n
            edge_of_bond[off] = inverse
        else:
            i, j, J = low, high, couplings[off]
            edge_of_bond[off] = np.arange(keys.size)
        return cls(n=n, i=np.ascontiguousarray(i), j=np.ascontiguousarray(j),
                   J=np.ascontiguousarray(J, dtype=np.float64),
                   h=np.asarray(model.field, dtype=np.float64).reshape(-1).copy(),
                   constant=model.constant_energy(), edge_of_bond=edge_of_bond,
                   lattice=model.lattice)

    @property
    def n_edges(self) -> int:
        return int(self.i.size)

    def degrees(self) -> np.ndarray:
        return (np.bincount(self.i, minlength=self.n) + np.bincount(self.j, minlength=self.n))

    def matrix(self, values) -> scipy.sparse.csr_matrix:
        """Symmetric sparse (N, N) matrix with ``values[e]`` at (i_e, j_e) and (j_e, i_e)."""
        rows = np.concatenate([self.i, self.j])
        cols = np.concatenate([self.j, self.i])
        data = np.concatenate([values, values])
        return scipy.sparse.csr_matrix((data, (rows, cols)), shape=(self.n, self.n))

    def neighbor_sum(self, along_ij, along_ji) -> np.ndarray:
        """Σ over the bonds at each site: site j receives ``along_ij[e]``, site i ``along_ji[e]``."""
        return (np.bincount(self.j, weights=along_ij, minlength=self.n)
                + np.bincount(self.i, weights=along_ji, minlength=self.n))

    @functools.cached_property
    def two_colouring(self) -> np.ndarray | None:
        """A proper 2-colouring of the sites (bool per site) when the graph is bipartite, else None.

        Parity of the depth in a breadth-first forest, by pointer doubling along
        the parent links; the graph is bipartite iff every bond joins two parities.
        """
        n = self.n
        if self.n_edges == 0:
            return np.zeros(n, dtype=bool)
        shape = getattr(self.lattice, "shape", ())
        if shape and int(np.prod(shape)) == n:  # a lattice: try the parity of the coordinates
            red = (np.indices(shape).sum(axis=0) % 2).astype(bool).reshape(-1)
            if np.all(red[self.i] != red[self.j]):
                return red
        adjacency = scipy.sparse.csr_matrix(
            (np.ones(2 * self.n_edges), (np.concatenate([self.i, self.j]),
                                         np.concatenate([self.j, self.i]))), shape=(n, n))
        _, labels = scipy.sparse.csgraph.connected_components(adjacency, directed=False)
        parent = np.arange(n)
        for root in np.unique(labels, return_index=True)[1]:
            _, predecessors = scipy.sparse.csgraph.breadth_first_order(adjacency, root,
                                                                       directed=False)
            reached = predecessors >= 0
            parent[reached] = predecessors[reached]
        parity = (parent != np.arange(n)).astype(np.int8)
        ancestor = parent
        for _ in range(max(1, n.bit_length())):
            parity ^= parity[ancestor]
            ancestor = ancestor[ancestor]
        red = parity.astype(bool)
        return red if np.all(red[self.i] != red[self.j]) else None

    def per_bond(self, edge_values, self_bond_value) -> np.ndarray:
        """Values on the merged edges mapped back to ``model.edges`` order."""
        out = np.full(self.edge_of_bond.size, float(self_bond_value))
        inside = self.edge_of_bond >= 0
        out[inside] = np.asarray(edge_values)[self.edge_of_bond[inside]]
        return out


# ------------------------------------------------------------------- result
@dataclasses.dataclass(frozen=True, repr=False)
class ApproxResult:
    """One converged (or stopped) approximation at one β.

    ``log_z``: the approximate log Z (a lower bound for ``"mean-field"``, an
    upper bound for ``"trw"``, neither for ``"bp"`` and ``"tap"``).
    ``energy``: U = −∂ log Z_approx/∂β, which at a stationary point equals the
    average energy under the approximating marginals,
    U = −Σ_e J_e c_e − Σ_i h_i m_i + (self-bond constant).
    ``magnetizations``: m_i (N,); ``correlations``: c_e = ⟨s_i s_j⟩ of each
    bond of ``model.edges`` (1 for self-bonds). ``iterations``, ``residual``
    (the last fixed-point residual, max |F(x) − x|) and ``converged`` are
    diagnostics; ``meta`` holds method-specific extras.
    """

    method: str
    beta: float
    n_sites: int
    log_z: float
    energy: float
    magnetizations: np.ndarray
    correlations: np.ndarray
    iterations: int
    residual: float
    converged: bool
    meta: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "magnetizations", readonly_float64(self.magnetizations))
        object.__setattr__(self, "correlations", readonly_float64(self.correlations))

    @property
    def free_entropy_density(self) -> float:
        """log Z_approx / N."""
        return self.log_z / self.n_sites

    @property
    def free_energy_density(self) -> float:
        """f = −log Z_approx / (β N) (−∞ at β = 0)."""
        return -self.log_z / (self.beta * self.n_sites) if self.beta > 0 else -math.inf

    @property
    def energy_density(self) -> float:
        return self.energy / self.n_sites

    @property
    def magnetization_density(self) -> float:
        """Σ_i m_i / N."""
        return float(np.mean(self.magnetizations))

    def __repr__(self) -> str:
        state = "converged" if self.converged else "NOT converged"
        return (f"ApproxResult({self.method!r}, beta={self.beta:.6g}, log_z={self.log_z:.10g}, "
                f"energy={self.energy:.10g}, {state} in {self.iterations} iterations, "
                f"residual={self.residual:.3g})")


# ------------------------------------------------------------ option checks
def check_model(model, method: str) -> None:
    if not isinstance(model, Ising):
        raise TypeError(f"method {method!r} needs an Ising model, got {type(model).__name__}")
    if np.ndim(model.couplings) != 1 or np.ndim(model.field) != 1:
        raise ValueError("this is a batch of models; call it on one instance at a time")


def check_beta(beta) -> float:
    if isinstance(beta, bool) or not isinstance(beta, (numbers.Real, np.floating, np.integer)):
        if np.ndim(beta) == 0 and not isinstance(beta, (str, bytes)) and beta is not None:
            beta = float(beta)
        else:
            raise TypeError(f"beta must be one real number here (a grid goes through sm.thermo), "
                            f"got {beta!r}")
    beta = float(beta)
    if not math.isfinite(beta) or beta < 0:
        raise ValueError(f"beta must be finite and >= 0, got {beta}")
    return beta


def check_damping(damping) -> float:
    if isinstance(damping, bool) or not isinstance(damping, (numbers.Real, np.floating)):
        raise TypeError(f"damping must be a number in [0, 1), got {damping!r}")
    damping = float(damping)
    if not 0.0 <= damping < 1.0:
        raise ValueError(f"damping must be in [0, 1) (0: no damping; 0.5: half of the old "
                         f"value kept), got {damping}")
    return damping


def check_tol(tol) -> float:
    if isinstance(tol, bool) or not isinstance(tol, (numbers.Real, np.floating)):
        raise TypeError(f"tol must be a positive number, got {tol!r}")
    tol = float(tol)
    if not (tol > 0 and math.isfinite(tol)):
        raise ValueError(f"tol must be a positive number such as 1e-12, got {tol}")
    return tol


def check_call(model, beta, method: str) -> float:
    """Check the model of a front door (one Ising instance) and return β as a float."""
    check_model(model, method)
    return check_beta(beta)


def check_count(value, name: str, minimum: int) -> int:
    """An int option (``max_iter``, ``n_starts``, ``anderson``) at least ``minimum``."""
    return check_positive_int(value, name, minimum)


def check_iteration_options(damping, tol, max_iter, seed) -> tuple[float, float, int, int]:
    """The options every fixed-point iteration takes: (damping, tol, max_iter, seed), checked."""
    return check_damping(damping), check_tol(tol), check_count(max_iter, "max_iter", 1), check_seed(seed)


def why_not_factory(name: str, option_names: tuple[str, ...]):
    """A ``why_not(model, options)`` for the registry: Ising models, known options only."""

    def why_not(model, options) -> str | None:
        if not isinstance(model, Ising):
            return f"it needs an Ising model, got {type(model).__name__}"
        if np.ndim(model.couplings) != 1 or np.ndim(model.field) != 1:
            return "this is a batch of models; call it on one instance at a time"
        unknown = sorted(set(options) - set(option_names))
        if unknown:
            return (f"unknown option(s) {', '.join(unknown)}; {name!r} takes "
                    f"{', '.join(option_names)}")
        return None

    return why_not
