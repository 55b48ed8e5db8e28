"""The Ising model on any graph, as an immutable JAX pytree.

    H(s) = − Σ_{edges (i,j)} J_ij s_i s_j − Σ_i h_i s_i,   s_i ∈ {−1, +1},

each edge counted once (docs/conventions.md). The seed's toy E(x) = Σ B x_i is the
model with J = 0 and h = −B: ``Ising.chain(8, J=0.0, h=-B, periodic=False)``.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import weakref

import equinox as eqx
import jax
import numpy as np

from statmech._validation import as_finite_float_array, check_memory, check_positive_int


@dataclasses.dataclass(frozen=True)
class Lattice:
    """Static geometry of a model.

    ``kind`` is ``"chain"``, ``"square"``, ``"cubic"`` or ``"graph"``;
    ``shape`` is ``(n,)``, ``(Lx, Ly)`` or ``(L, L, L)`` (``()`` for a graph);
    ``periodic`` tells whether the wrap-around bonds exist.
    """

    kind: str
    shape: tuple[int, ...]
    periodic: bool


def _namespace(*arrays):
    """jax.numpy when any argument is a JAX array or tracer, else NumPy (float64)."""
    if any(isinstance(a, jax.Array) for a in arrays):
        import jax.numpy as jnp

        return jnp
    return np


class Ising(eqx.Module):
    """Ising model H(s) = −Σ_e J_e s_i s_j − Σ_i h_i s_i on a graph.

    Build it with ``Ising.chain``, ``Ising.square``, ``Ising.cubic``,
    ``Ising.from_couplings``, ``Ising.from_networkx`` or ``Ising.from_bqm``.

    Leaves (arrays, so ``vmap``/``grad`` over them work): ``couplings`` (E,)
    J_e and ``field`` (N,) h_i. ``lattice`` is static geometry. The bond list
    ``edges`` (E, 2) and the padded neighbour table ``neighbors`` /
    ``neighbor_edges`` (N, z) are leaves of a general graph; on a chain,
    square or cubic lattice they follow from the geometry, so they are not
    stored but built on first use (and cached per geometry): such a model
    holds only its couplings and fields, O(N) bytes, and a scalar J or h is
    kept as a read-only broadcast view of one number.
    """

    couplings: np.ndarray
    field: np.ndarray
    _edges: np.ndarray | None
    _neighbors: np.ndarray | None
    _neighbor_edges: np.ndarray | None
    lattice: Lattice = eqx.field(static=True)

    def __init__(self, couplings, field, lattice, edges=None, neighbors=None, neighbor_edges=None):
        """Low level: prefer the constructors. ``edges``/``neighbors``/``neighbor_edges`` may be
        None on a chain, square or cubic ``lattice`` (then they follow from the geometry)."""
        self.couplings = couplings
        self.field = field
        self._edges = edges
        self._neighbors = neighbors
        self._neighbor_edges = neighbor_edges
        self.lattice = lattice

    # ------------------------------------------------------------ topology
    @property
    def bonds_from_lattice(self) -> bool:
        """True when the bonds are those of ``lattice`` (chain/square/cubic), not a stored edge list.

        Bonds then come in lattice order: every existing x bond in row-major
        site order, then every y bond, then every z bond (see :meth:`edges`).
        """
        return self._edges is None and self.lattice.kind in _LATTICE_KINDS

    @property
    def edges(self) -> np.ndarray:
        """(E, 2) int32 site pairs of the bonds, each once (built from the lattice on first use)."""
        if self._edges is not None or self.lattice.kind not in _LATTICE_KINDS:
            return self._edges
        return _lattice_edges(self.lattice)

    @property
    def neighbors(self) -> np.ndarray:
        """(N, z) int32 neighbour sites, padded with 0 where a site has fewer than z bonds."""
        return self._tables()[0]

    @property
    def neighbor_edges(self) -> np.ndarray:
        """(N, z) int32 bond index of each neighbour slot; padding slots point at bond E (J = 0)."""
        return self._tables()[1]

    def _tables(self):
        if self._neighbors is not None:
            return self._neighbors, self._neighbor_edges
        if self._edges is not None:
            return _neighbor_table(self.n_sites, np.asarray(self._edges))
        return _lattice_tables(self.lattice)

    # ------------------------------------------------------------------ basics
    @property
    def n_sites(self) -> int:
        """Number of spins N."""
        return int(np.shape(self.field)[-1])

    @property
    def n_edges(self) -> int:
        """Number of bonds E (each counted once)."""
        return int(np.shape(self.couplings)[-1])

    @property
    def has_field(self) -> bool:
        """True when some h_i ≠ 0 (O(1) for a scalar h; cached for the model's own arrays)."""
        return bool(_memo(self.field, "nonzero", lambda a: np.any(a != 0)))

    @property
    def is_ferromagnetic(self) -> bool:
        """True when every J_e ≥ 0."""
        return bool(_memo(self.couplings, "nonnegative", lambda a: np.all(a >= 0)))

    def coupling_matrix(self) -> np.ndarray:
        """Dense symmetric (N, N) float64 matrix with J_ij summed over parallel bonds.

        Self-bonds (a periodic chain of one site) are constant energies and do
        not appear here; see :meth:`constant_energy`.
        """
        n = self.n_sites
        check_memory(8.0 * n * n + _EDGE_LIST_BYTES_PER_BOND * self.n_edges,
                     f"coupling_matrix() of {self!r} (a dense {n} x {n} float64 matrix)",
                     "use model.edges and model.couplings (a sparse bond list) instead")
        matrix = np.zeros((n, n))
        edges = np.asarray(self.edges)
        couplings = np.asarray(self.couplings, dtype=np.float64)
        off = edges[:, 0] != edges[:, 1]
        np.add.at(matrix, (edges[off, 0], edges[off, 1]), couplings[off])
        np.add.at(matrix, (edges[off, 1], edges[off, 0]), couplings[off])
        return matrix

    def constant_energy(self) -> float:
        """Energy of the self-bonds, −Σ J_ii (they do not depend on s)."""
        if self.bonds_from_lattice:
            # Self-bonds exist only along a periodic axis of length 1 (site c to c + e_a = c).
            axes = self.axis_bonds(np.asarray(self.couplings, dtype=np.float64), np)
            array_shape = _array_shape(self.lattice)
            return -float(sum(np.sum(J) for axis, J in axes
                              if self.lattice.periodic and array_shape[axis] == 1))
        edges = np.asarray(self.edges)
        self_bonds = edges[:, 0] == edges[:, 1]
        return -float(np.sum(np.asarray(self.couplings, dtype=np.float64)[self_bonds]))

    def axis_bonds(self, couplings=None, xp=np) -> list[tuple[int, object]]:
        """Bond arrays of a lattice model, one per axis: [(array axis, J_a)].

        Spins are indexed [z, y, x] (site i = (z·Ly + y)·Lx + x); ``J_a[c]``
        couples site c to c + e_a, wrapping when periodic, and is 0 for the
        missing wrap-around bonds of open boundaries (so ``J_x`` and ``J_y``
        are the ``Jh`` and ``Jv`` of the square lattice). ``couplings``
        (default ``self.couplings``) may carry leading batch axes; the array
        axis counts from the end of those. ``xp`` is ``numpy`` or
        ``jax.numpy``. Needs :attr:`bonds_from_lattice`.
        """
        if not self.bonds_from_lattice:
            raise ValueError(
                f"axis_bonds() needs the bonds of a chain, square or cubic lattice; this model "
                f"({self.lattice.kind}) stores its own edge list: use model.edges and model.couplings"
            )
        couplings = self.couplings if couplings is None else couplings
        array_shape = _array_shape(self.lattice)
        ndim = len(array_shape)
        lead = tuple(np.shape(couplings)[:-1])
        expected = _lattice_bond_count(self.lattice)
        if np.shape(couplings)[-1] != expected:
            raise ValueError(
                f"this {self.lattice.kind} lattice has {expected} bonds but {np.shape(couplings)[-1]} "
                "couplings; build it with the Ising constructor, or pass explicit edges"
            )
        arrays, start = [], 0
        for lattice_axis in range(ndim):
            axis = ndim - 1 - lattice_axis
            block = list(array_shape)
            if not self.lattice.periodic:
                block[axis] -= 1
            count = math.prod(block)
            J = xp.reshape(couplings[..., start:start + count], lead + tuple(block))
            start += count
            if not self.lattice.periodic:
                widths = [(0, 0)] * (len(lead) + ndim)
                widths[len(lead) + axis] = (0, 1)
                J = xp.pad(J, widths)
            arrays.append((axis, J))
        return arrays

    # ----------------------------------------------------------------- energy
    def energy(self, s):
        """H(s) for spins ``s`` of shape (..., N) with entries ±1; returns shape (...).

        NumPy input gives a float64 NumPy result; JAX input gives a JAX array
        (traceable under jit/vmap/grad). On a lattice the bond sum is taken
        with shifted copies of the spin array (no edge list).
        """
        xp = _namespace(s, self.couplings, self.field)
        s = xp.asarray(s)
        if s.shape[-1] != self.n_sites:
            raise ValueError(
                f"spins have {s.shape[-1]} sites on their last axis; this model has {self.n_sites}"
            )
        if xp is np and s.size and not np.all((s == 1) | (s == -1)):
            bad = s[(s != 1) & (s != -1)].ravel()[0]
            raise ValueError(f"spins must be +1 or -1, got {bad!r}; map 0/1 bits with s = 2 * bits - 1")
        dtype = np.float64 if xp is np else xp.result_type(float)
        s = s.astype(dtype)
        field_term = xp.sum(xp.asarray(self.field) * s, axis=-1)
        if self.bonds_from_lattice:
            array_shape = _array_shape(self.lattice)
            ndim = len(array_shape)
            grid = xp.reshape(s, s.shape[:-1] + array_shape)
            axes = tuple(range(-ndim, 0))
            bond_term = 0.0
            for axis, J in self.axis_bonds(xp.asarray(self.couplings), xp):
                ahead = xp.roll(grid, -1, axis=axis - ndim)
                bond_term = bond_term + xp.sum(J * grid * ahead, axis=axes)
            return -bond_term - field_term
        edges = xp.asarray(self.edges)
        bond_term = xp.sum(
            xp.asarray(self.couplings) * s[..., edges[:, 0]] * s[..., edges[:, 1]], axis=-1
        )
        return -bond_term - field_term

    def local_field(self, s, site=None):
        """Local field h_i + Σ_j J_ij s_j (self-bonds excluded).

        ``s`` has shape (..., N). With ``site=None`` returns all N fields
        (..., N); with an integer (or integer array) ``site`` only those.
        """
        xp = _namespace(s, self.couplings, self.field)
        s = xp.asarray(s)
        dtype = np.float64 if xp is np else xp.result_type(float)
        s = s.astype(dtype)
        if self.bonds_from_lattice:
            fields = self._lattice_local_fields(s, xp, dtype)
            return fields if site is None else fields[..., site]
        padded = xp.concatenate([xp.asarray(self.couplings, dtype=dtype), xp.zeros(1, dtype)])
        neighbors = xp.asarray(self.neighbors)
        neighbor_edges = xp.asarray(self.neighbor_edges)
        field = xp.asarray(self.field, dtype=dtype)
        if site is not None:
            neighbors = neighbors[site]
            neighbor_edges = neighbor_edges[site]
            field = field[site]
        return field + xp.sum(padded[neighbor_edges] * s[..., neighbors], axis=-1)

    def delta_energy(self, s, site=None):
        """Energy change H(s with s_i flipped) − H(s) = 2 s_i (h_i + Σ_j J_ij s_j).

        Same shapes as :meth:`local_field`.
        """
        xp = _namespace(s, self.couplings, self.field)
        s = xp.asarray(s)
        spin = s if site is None else s[..., site]
        return 2.0 * spin * self.local_field(s, site)

    def _lattice_local_fields(self, s, xp, dtype):
        """φ(c) = h(c) + Σ_a [J_a(c) s(c + e_a) + J_a(c − e_a) s(c − e_a)], self-bonds excluded."""
        array_shape = _array_shape(self.lattice)
        ndim = len(array_shape)
        grid = xp.reshape(s, s.shape[:-1] + array_shape)
        total = 0.0 * grid
        for axis, J in self.axis_bonds(xp.asarray(self.couplings, dtype=dtype), xp):
            if self.lattice.periodic and array_shape[axis] == 1:
                continue  # the bond joins c to itself: a constant, not a field
            total = total + J * xp.roll(grid, -1, axis=axis - ndim)
            total = total + xp.roll(J * grid, 1, axis=axis - ndim)
        total = xp.reshape(total, total.shape[:-ndim] + (self.n_sites,))
        return xp.asarray(self.field, dtype=dtype) + total

    # ------------------------------------------------------------ constructors
    @classmethod
    def chain(cls, n, J=1.0, h=0.0, periodic=True) -> "Ising":
        """1D chain of ``n`` spins, bonds (i, i+1), plus (n−1, 0) when periodic.

        ``J`` is a scalar or an array of the n (periodic) or n−1 (open) bonds;
        ``h`` a scalar or an array of n fields.
        """
        n = check_positive_int(n, "n")
        n_bonds = n if periodic else n - 1
        couplings = _bond_values(J, (n_bonds,), "J", hint="one per bond (i, i+1)")
        return cls._build(n, couplings, h, Lattice("chain", (n,), bool(periodic)))

    @classmethod
    def square(cls, L, J=1.0, h=0.0, periodic=True) -> "Ising":
        """Square lattice; ``L`` is an int or a pair ``(Lx, Ly)``.

        Site (x, y) has index i = y·Lx + x. ``J`` is a scalar or bond arrays
        ``(Jh, Jv)`` of shape (Ly, Lx): ``Jh[y, x]`` couples (x, y)–(x+1, y),
        ``Jv[y, x]`` couples (x, y)–(x, y+1), wrapping when periodic. With open
        boundaries the wrap-around entries (``Jh[:, -1]``, ``Jv[-1, :]``) must
        be 0, or pass arrays of shape (Ly, Lx−1) and (Ly−1, Lx). Memory: the
        couplings (8 bytes per bond, none for a scalar J) and the fields (8
        bytes per site, none for a scalar h).
        """
        Lx, Ly = _lattice_sizes(L, 2)
        lattice = Lattice("square", (Lx, Ly), bool(periodic))
        if isinstance(J, tuple) or isinstance(J, list):
            if len(J) != 2:
                raise ValueError("J must be a scalar or a pair (Jh, Jv) of bond arrays")
            Jh, Jv = (_square_bond_array(a, Ly, Lx, axis, periodic, name)
                      for a, axis, name in ((J[0], 1, "Jh"), (J[1], 0, "Jv")))
            if periodic:
                couplings = np.concatenate([Jh.reshape(-1), Jv.reshape(-1)])
            else:
                couplings = np.concatenate([Jh[:, : Lx - 1].reshape(-1), Jv[: Ly - 1, :].reshape(-1)])
        else:
            couplings = _broadcast(_scalar(J, "J"), _lattice_bond_count(lattice))
        h = _reshape_lattice_field(h, (Ly, Lx))
        return cls._build(Lx * Ly, couplings, h, lattice)

    @classmethod
    def cubic(cls, L, J=1.0, h=0.0, periodic=True) -> "Ising":
        """Simple cubic lattice L×L×L (``L`` an int or a triple), uniform scalar ``J``.

        Site (x, y, z) has index i = (z·Ly + y)·Lx + x.
        """
        Lx, Ly, Lz = _lattice_sizes(L, 3)
        lattice = Lattice("cubic", (Lx, Ly, Lz), bool(periodic))
        couplings = _broadcast(_scalar(J, "J"), _lattice_bond_count(lattice))
        h = _reshape_lattice_field(h, (Lz, Ly, Lx))
        return cls._build(Lx * Ly * Lz, couplings, h, lattice)

    @classmethod
    def from_couplings(cls, J, h=0.0) -> "Ising":
        """Dense symmetric coupling matrix J (N, N) with zero diagonal.

        Every pair i < j becomes a bond (zeros included, so instances of one
        size share a structure and can be vmapped).
        """
        J = as_finite_float_array(J, "J")
        if J.ndim != 2 or J.shape[0] != J.shape[1]:
            raise ValueError(f"J must be a square (N, N) matrix, got shape {J.shape}")
        if not np.array_equal(J, J.T):
            worst = float(np.max(np.abs(J - J.T)))
            raise ValueError(
                f"J must be symmetric (max |J - J.T| = {worst:.3g}); pass (J + J.T) / 2"
            )
        if np.any(np.diag(J) != 0):
            raise ValueError(
                "J must have a zero diagonal (s_i² = 1 makes J_ii a constant); "
                "set np.fill_diagonal(J, 0)"
            )
        n = J.shape[0]
        if n < 1:
            raise ValueError("J must have at least one site")
        i, j = np.triu_indices(n, k=1)
        edges = np.stack([i, j], axis=1)
        return cls._build(n, J[i, j], h, Lattice("graph", (), False), edges)

    @classmethod
    def from_edges(cls, n, edges, J, h=0.0) -> "Ising":
        """``n`` spins and a list of bonds ``edges`` (E, 2) with couplings ``J`` (E,)."""
        n = check_positive_int(n, "n")
        raw = np.asarray(edges)
        if raw.size == 0:
            raw = raw.reshape(0, 2)
        if raw.ndim != 2 or raw.shape[1] != 2:
            hint = " (a (2, E) array? pass its transpose, edges.T)" if raw.ndim == 2 and raw.shape[0] == 2 else ""
            raise ValueError(f"edges must have shape (E, 2), one row per bond; got shape {raw.shape}{hint}")
        if raw.size and not (np.issubdtype(raw.dtype, np.integer) or (
                np.issubdtype(raw.dtype, np.floating) and np.all(raw == np.round(raw)))):
            raise TypeError(f"edges must hold integer site indices, got dtype {raw.dtype}")
        edges = raw.astype(np.int64)
        if edges.size and (edges.min() < 0 or edges.max() >= n):
            raise ValueError(f"edges must hold site indices in [0, {n}); got {edges.min()}..{edges.max()}")
        couplings = _bond_values(J, (len(edges),), "J", hint="one per edge")
        return cls._build(n, couplings, h, Lattice("graph", (), False), edges)

    @classmethod
    def from_networkx(cls, graph) -> "Ising":
        """From a networkx graph: edge attribute ``J`` (default 1), node attribute ``h`` (default 0).

        Nodes are numbered in ``graph.nodes`` order. Parallel edges of a
        MultiGraph are separate bonds.
        """
        import networkx as nx

        if not isinstance(graph, nx.Graph):
            raise TypeError(f"expected a networkx graph, got {type(graph).__name__}")
        if graph.is_directed():
            raise ValueError("the graph is directed; pass graph.to_undirected()")
        nodes = list(graph.nodes)
        index = {node: k for k, node in enumerate(nodes)}
        edges, couplings = [], []
        for u, v, data in graph.edges(data=True):
            edges.append((index[u], index[v]))
            couplings.append(data.get("J", 1.0))
        h = [graph.nodes[node].get("h", 0.0) for node in nodes]
        return cls.from_edges(len(nodes), np.array(edges, dtype=np.int64).reshape(-1, 2),
                              np.array(couplings, dtype=np.float64), h)

    def to_networkx(self):
        """A networkx ``Graph`` (``MultiGraph`` if there are parallel bonds) with ``J`` and ``h``."""
        import networkx as nx

        edges = np.asarray(self.edges)
        pairs = {tuple(sorted(e)) for e in edges.tolist()}
        graph = nx.MultiGraph() if len(pairs) < len(edges) else nx.Graph()
        for i, h in enumerate(np.asarray(self.field, dtype=np.float64).tolist()):
            graph.add_node(i, h=h)
        for (i, j), coupling in zip(edges.tolist(), np.asarray(self.couplings).tolist()):
            graph.add_edge(i, j, J=coupling)
        return graph

    def to_bqm(self):
        """dimod ``BinaryQuadraticModel`` (SPIN) with the same energy.

        dimod's energy is Σ a_i s_i + Σ b_ij s_i s_j + c, the opposite sign
        convention: a_i = −h_i, b_ij = −J_ij.
        """
        dimod = _import_dimod()
        linear = {i: -h for i, h in enumerate(np.asarray(self.field, dtype=np.float64).tolist())}
        quadratic: dict = {}
        offset = self.constant_energy()
        for (i, j), coupling in zip(np.asarray(self.edges).tolist(), np.asarray(self.couplings).tolist()):
            if i == j:
                continue
            key = (min(i, j), max(i, j))
            quadratic[key] = quadratic.get(key, 0.0) - coupling
        return dimod.BinaryQuadraticModel(linear, quadratic, offset, dimod.SPIN)

    @classmethod
    def from_bqm(cls, bqm) -> "Ising":
        """From a dimod ``BinaryQuadraticModel`` (BINARY models are converted to SPIN).

        Variables are numbered in ``bqm.variables`` order. A nonzero constant
        offset cannot be represented (H has no constant term) and is refused.
        """
        dimod = _import_dimod()
        if bqm.vartype is not dimod.SPIN:
            bqm = bqm.change_vartype(dimod.SPIN, inplace=False)
        if bqm.offset != 0:
            raise ValueError(
                f"the BQM has a constant offset {bqm.offset}; statmech's Ising has none. "
                "Set bqm.offset = 0 and add the offset c back yourself (energy + c, log Z − βc)"
            )
        variables = list(bqm.variables)
        index = {v: k for k, v in enumerate(variables)}
        h = [-bqm.linear[v] for v in variables]
        edges = [(index[u], index[v]) for (u, v) in bqm.quadratic]
        couplings = [-bias for bias in bqm.quadratic.values()]
        return cls.from_edges(len(variables), np.array(edges, dtype=np.int64).reshape(-1, 2),
                              np.array(couplings, dtype=np.float64), h)

    # ------------------------------------------------------------- lattice views
    def bond_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(Jh, Jv) of a square-lattice model, shape (Ly, Lx), zeros for missing wrap bonds."""
        if self.lattice.kind != "square":
            raise ValueError(f"bond_arrays() needs a square lattice, this model is a {self.lattice.kind}")
        if not self.bonds_from_lattice:
            raise ValueError("bond_arrays() needs the bonds of Ising.square; this model stores its own "
                             "edge list (use model.edges and model.couplings)")
        (_, Jh), (_, Jv) = self.axis_bonds(np.asarray(self.couplings, dtype=np.float64), np)
        return np.array(Jh), np.array(Jv)

    def uniform_coupling(self) -> float | None:
        """The common J when all bonds are equal, else None (O(1) for a scalar J; cached)."""
        return _memo(self.couplings, "uniform", _common_value)

    def uniform_axis_couplings(self) -> tuple[float, ...] | None:
        """Per-axis common couplings (J_x, J_y[, J_z]) of a lattice model, or None.

        None when the bonds along some axis differ (or the model is not a
        lattice). Missing wrap-around bonds of open boundaries are not
        counted. O(1) for a scalar J; otherwise one vectorised pass over the
        bonds, cached for the model's own (read-only) coupling array.
        """
        if not self.bonds_from_lattice or np.ndim(self.couplings) != 1:
            return None
        if self.n_edges != _lattice_bond_count(self.lattice):
            return None
        counts = _axis_bond_counts(self.lattice)

        def per_axis(couplings):
            values, start = [], 0
            for count in counts:
                value = _common_value(couplings[start:start + count]) if count else 0.0
                if value is None:
                    return None
                values.append(value)
                start += count
            return tuple(values)

        return _memo(self.couplings, ("axes", counts), per_axis, elementwise=False)

    def __repr__(self) -> str:
        lattice = self.lattice
        geometry = "x".join(map(str, lattice.shape)) if lattice.shape else f"{self.n_sites} sites"
        bc = "periodic" if lattice.periodic else "open"
        if lattice.kind == "graph":
            bc = f"{self.n_edges} bonds"
        return f"Ising({lattice.kind} {geometry}, {bc})"

    # ---------------------------------------------------------------- internals
    @classmethod
    def _build(cls, n, couplings, h, lattice, edges=None) -> "Ising":
        """A model from couplings (E,), fields h and a lattice; ``edges`` only for a graph.

        Arrays the model owns are made read-only (so summaries of them can be
        cached); scalars stay broadcast views of one number.
        """
        couplings = _owned(couplings, "J", fresh=True)
        field = _site_values(h, n)
        if np.shape(field) != (n,):  # pragma: no cover - constructors guarantee it
            raise ValueError(f"h must have {n} values")
        if lattice.kind in _LATTICE_KINDS:
            return cls(couplings=couplings, field=field, lattice=lattice)
        edges = np.array(edges, dtype=np.int32).reshape(-1, 2)
        neighbors, neighbor_edges = _neighbor_table(n, edges)
        for array in (edges, neighbors, neighbor_edges):
            array.setflags(write=False)
        return cls(couplings=couplings, field=field, lattice=lattice, edges=edges,
                   neighbors=neighbors, neighbor_edges=neighbor_edges)


def _import_dimod():
    try:
        import dimod
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("dimod interop needs the optional extra: pip install 'statmech[dimod]'") from error
    return dimod


def _scalar(value, name) -> float:
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        if np.ndim(value) == 0:
            try:
                value = float(value)
            except (TypeError, ValueError) as error:
                raise TypeError(f"{name} must be a real number, got {value!r}") from error
        else:
            raise TypeError(f"{name} must be a scalar here, got an array of shape {np.shape(value)}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} is {value}; it must be a finite number")
    return value


def _broadcast(value: float, n: int) -> np.ndarray:
    """A read-only (n,) float64 view of one number: no memory per element."""
    return np.broadcast_to(np.float64(value), (n,))


def _owned(values, name, fresh=False) -> np.ndarray:
    """A float64 1-D array the model owns, read-only; a broadcast view of one number stays one.

    ``fresh=True`` says ``values`` is a new, checked float64 array nobody else
    holds (the constructors' own concatenations): it is kept without a copy.
    """
    if isinstance(values, np.ndarray) and values.ndim == 1 and values.strides == (0,):
        return values
    if not (fresh and isinstance(values, np.ndarray) and values.dtype == np.float64
            and values.ndim == 1 and values.base is None):
        values = as_finite_float_array(np.reshape(values, -1), name)
    values.setflags(write=False)
    return values


def _bond_values(J, shape, name, hint) -> np.ndarray:
    if np.ndim(J) == 0:
        return _broadcast(_scalar(J, name), shape[0])
    array = as_finite_float_array(J, name)
    if array.shape != shape:
        raise ValueError(f"{name} must be a scalar or have shape {shape} ({hint}), got {array.shape}")
    return array


def _site_values(h, n) -> np.ndarray:
    if np.ndim(h) == 0:
        return _broadcast(_scalar(h, "h"), n)
    if np.size(h) != n:
        raise ValueError(f"h must be a scalar or have one value per site ({n}), got shape {np.shape(h)}")
    return _owned(h, "h")


def _reshape_lattice_field(h, shape):
    if np.ndim(h) == 0:
        return h
    array = np.asarray(h)
    n = int(np.prod(shape))
    if array.shape == tuple(shape) or array.shape == (n,):
        return array.reshape(-1)
    raise ValueError(f"h must be a scalar, shape {tuple(shape)} or ({n},), got {array.shape}")


def _lattice_sizes(L, dims) -> tuple[int, ...]:
    if isinstance(L, (tuple, list)):
        if len(L) != dims:
            raise ValueError(f"L must be an int or {dims} ints, got {L!r}")
        return tuple(check_positive_int(value, "L") for value in L)
    size = check_positive_int(L, "L")
    return (size,) * dims


def _square_bond_array(array, Ly, Lx, axis, periodic, name) -> np.ndarray:
    array = as_finite_float_array(array, name, copy=False)  # a view: Ising.square copies the bonds once
    full = (Ly, Lx)
    reduced = (Ly, Lx - 1) if axis == 1 else (Ly - 1, Lx)
    if array.shape == full:
        if not periodic:
            wrap = array[:, -1] if axis == 1 else array[-1, :]
            if np.any(wrap != 0):
                where = f"{name}[:, -1]" if axis == 1 else f"{name}[-1, :]"
                raise ValueError(
                    f"open boundaries: {where} are wrap-around bonds that do not exist; "
                    f"set them to 0, pass shape {reduced}, or use periodic=True"
                )
        return array
    if not periodic and array.shape == reduced:
        padded = np.zeros(full)
        if axis == 1:
            padded[:, : Lx - 1] = array
        else:
            padded[: Ly - 1, :] = array
        return padded
    allowed = f"{full}" if periodic else f"{full} or {reduced}"
    raise ValueError(f"{name} must have shape {allowed} (indexed [y, x]), got {array.shape}")


def _neighbor_table(n, edges) -> tuple[np.ndarray, np.ndarray]:
    """Padded (N, z) neighbour sites and bond indices; padding points at bond E (J = 0)."""
    n_edges = len(edges)
    off = edges[:, 0] != edges[:, 1]
    ends = np.concatenate([edges[off, 0], edges[off, 1]])
    others = np.concatenate([edges[off, 1], edges[off, 0]])
    bond_index = np.concatenate([np.flatnonzero(off), np.flatnonzero(off)])
    degree = np.bincount(ends, minlength=n)
    z = max(int(degree.max()) if degree.size else 0, 1)
    neighbors = np.zeros((n, z), dtype=np.int32)
    neighbor_edges = np.full((n, z), n_edges, dtype=np.int32)
    order = np.argsort(ends, kind="stable")
    ends, others, bond_index = ends[order], others[order], bond_index[order]
    starts = np.concatenate([[0], np.cumsum(degree)[:-1]])
    slot = np.arange(len(ends)) - starts[ends]
    neighbors[ends, slot] = others
    neighbor_edges[ends, slot] = bond_index
    return neighbors, neighbor_edges


# ------------------------------------------------------------ lattice geometry
_LATTICE_KINDS = ("chain", "square", "cubic")


def _array_shape(lattice) -> tuple[int, ...]:
    """Spin array shape [z, y, x] of a lattice (its ``shape`` reversed)."""
    return tuple(reversed(lattice.shape))


def _axis_bond_counts(lattice) -> tuple[int, ...]:
    """Number of bonds along x, y (, z): N per axis when periodic, N (L_a − 1)/L_a when open."""
    n = math.prod(lattice.shape)
    return tuple(n if lattice.periodic else n // side * (side - 1) for side in lattice.shape)


def _lattice_bond_count(lattice) -> int:
    return sum(_axis_bond_counts(lattice))


#: Peak bytes per bond of building the (E, 2) int32 bond list of a lattice (measured: 20).
_EDGE_LIST_BYTES_PER_BOND = 24
#: Peak bytes per bond of building the padded neighbour tables from a bond list (measured: 105 in all).
_TABLE_BYTES_PER_BOND = 88


def _check_table_memory(lattice, bytes_per_bond, what) -> None:
    """Refuse to build a lattice's explicit bond list or neighbour table when it would not fit in memory."""
    geometry = "x".join(map(str, lattice.shape))
    check_memory(bytes_per_bond * _lattice_bond_count(lattice),
                 f"the explicit {what} of the {lattice.kind} lattice {geometry}",
                 "a lattice model needs none for its energy, local fields and samplers: use "
                 "model.axis_bonds() (per-axis bond arrays) or a smaller lattice")


@functools.lru_cache(maxsize=8)
def _lattice_edges(lattice) -> np.ndarray:
    """(E, 2) int32 bonds of a lattice: x bonds (c, c + e_x) in row-major order, then y, then z.

    Wrap-around bonds only when periodic. Built with array shifts of the site
    index grid, once per geometry (read-only, cached).
    """
    _check_table_memory(lattice, _EDGE_LIST_BYTES_PER_BOND, "bond list (edges)")
    array_shape = _array_shape(lattice)
    ndim = len(array_shape)
    index = np.arange(math.prod(array_shape), dtype=np.int32).reshape(array_shape)
    blocks = []
    for lattice_axis in range(ndim):
        axis = ndim - 1 - lattice_axis
        ahead = np.roll(index, -1, axis=axis)
        here = index
        if not lattice.periodic:
            keep = [slice(None)] * ndim
            keep[axis] = slice(0, array_shape[axis] - 1)
            here, ahead = here[tuple(keep)], ahead[tuple(keep)]
        blocks.append(np.stack([here.reshape(-1), ahead.reshape(-1)], axis=1))
    edges = np.concatenate(blocks) if blocks else np.zeros((0, 2), np.int32)
    edges.setflags(write=False)
    return edges


@functools.lru_cache(maxsize=8)
def _lattice_tables(lattice) -> tuple[np.ndarray, np.ndarray]:
    """The padded neighbour table of a lattice (see :func:`_neighbor_table`), cached per geometry."""
    _check_table_memory(lattice, _EDGE_LIST_BYTES_PER_BOND + _TABLE_BYTES_PER_BOND, "neighbour table")
    tables = _neighbor_table(math.prod(lattice.shape), _lattice_edges(lattice))
    for table in tables:
        table.setflags(write=False)
    return tables


# --------------------------------------------------- cached array summaries
_MEMO: dict = {}


def _memo(array, name, compute, elementwise=True):
    """``compute(array)``, remembered for immutable arrays.

    A broadcast view of one number (all strides 0) is summarised from one
    element when ``elementwise``; a read-only NumPy array that owns its data,
    or a concrete JAX array, is summarised once and the result kept until
    the array is garbage collected. Writable arrays are recomputed each call.
    """
    if isinstance(array, np.ndarray):
        if elementwise and array.size and all(stride == 0 for stride in array.strides):
            return compute(array.reshape(-1)[:1])
        cacheable = not array.flags.writeable and array.base is None
    else:
        cacheable = isinstance(array, jax.Array) and not isinstance(array, jax.core.Tracer)
    if not cacheable:
        return compute(np.asarray(array))
    key = (name, id(array))
    hit = _MEMO.get(key)
    if hit is not None and hit[0]() is array:
        return hit[1]
    value = compute(np.asarray(array))
    try:
        ref = weakref.ref(array, lambda _, key=key: _MEMO.pop(key, None))
    except TypeError:  # pragma: no cover - an array type without weak references
        return value
    _MEMO[key] = (ref, value)
    return value


def _common_value(array) -> float | None:
    """The value every entry shares, or None (O(1) for a broadcast view)."""
    array = np.asarray(array)
    if not array.size:
        return None
    first = float(array.reshape(-1)[0])
    if all(stride == 0 for stride in array.strides):
        return first
    return first if bool(np.all(array == first)) else None
