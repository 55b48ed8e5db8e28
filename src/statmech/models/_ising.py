"""The Ising model on any graph, as an immutable JAX pytree.

    H(s) = − Σ_{edges (i,j)} J_ij s_i s_j − Σ_i h_i s_i,   s_i ∈ {−1, +1},

each edge counted once (DESIGN.md §2). The seed's toy E(x) = Σ B x_i is the
model with J = 0 and h = −B: ``Ising.chain(8, J=0.0, h=-B, periodic=False)``.
"""
from __future__ import annotations

import dataclasses
import numbers

import equinox as eqx
import jax
import numpy as np

from statmech._validation import as_finite_float_array, check_positive_int


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

    Leaves (arrays, so ``vmap``/``grad`` over them work): ``edges`` (E, 2) site
    pairs, ``couplings`` (E,) J_e, ``field`` (N,) h_i, and a padded neighbour
    table ``neighbors`` / ``neighbor_edges`` (N, z) used for local fields.
    ``lattice`` is static geometry.
    """

    edges: np.ndarray
    couplings: np.ndarray
    field: np.ndarray
    neighbors: np.ndarray
    neighbor_edges: np.ndarray
    lattice: Lattice = eqx.field(static=True)

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
        """True when some h_i ≠ 0."""
        return bool(np.any(np.asarray(self.field) != 0))

    @property
    def is_ferromagnetic(self) -> bool:
        """True when every J_e ≥ 0."""
        return bool(np.all(np.asarray(self.couplings) >= 0))

    def coupling_matrix(self) -> np.ndarray:
        """Dense symmetric (N, N) float64 matrix with J_ij summed over parallel bonds.

        Self-bonds (a periodic chain of one site) are constant energies and do
        not appear here; see :meth:`constant_energy`.
        """
        n = self.n_sites
        matrix = np.zeros((n, n))
        edges = np.asarray(self.edges)
        couplings = np.asarray(self.couplings, dtype=np.float64)
        off = edges[:, 0] != edges[:, 1]
        np.add.at(matrix, (edges[off, 0], edges[off, 1]), couplings[off])
        np.add.at(matrix, (edges[off, 1], edges[off, 0]), couplings[off])
        return matrix

    def constant_energy(self) -> float:
        """Energy of the self-bonds, −Σ J_ii (they do not depend on s)."""
        edges = np.asarray(self.edges)
        self_bonds = edges[:, 0] == edges[:, 1]
        return -float(np.sum(np.asarray(self.couplings, dtype=np.float64)[self_bonds]))

    # ----------------------------------------------------------------- energy
    def energy(self, s):
        """H(s) for spins ``s`` of shape (..., N) with entries ±1; returns shape (...).

        NumPy input gives a float64 NumPy result; JAX input gives a JAX array
        (traceable under jit/vmap/grad).
        """
        xp = _namespace(s, self.couplings, self.field)
        s = xp.asarray(s)
        if s.shape[-1] != self.n_sites:
            raise ValueError(
                f"spins have {s.shape[-1]} sites on their last axis; this model has {self.n_sites}"
            )
        dtype = np.float64 if xp is np else None
        s = s.astype(dtype if dtype else xp.result_type(float))
        edges = xp.asarray(self.edges)
        bond_term = xp.sum(
            xp.asarray(self.couplings) * s[..., edges[:, 0]] * s[..., edges[:, 1]], axis=-1
        )
        field_term = xp.sum(xp.asarray(self.field) * s, axis=-1)
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
        padded = xp.concatenate([xp.asarray(self.couplings, dtype=dtype), xp.zeros(1, dtype)])
        neighbors = xp.asarray(self.neighbors)
        neighbor_edges = xp.asarray(self.neighbor_edges)
        field = xp.asarray(self.field, dtype=dtype)
        if site is not None:
            neighbors = neighbors[site]
            neighbor_edges = neighbor_edges[site]
            field = field[site]
            if np.ndim(site) == 0:
                return field + xp.sum(padded[neighbor_edges] * s[..., neighbors], axis=-1)
        return field + xp.sum(padded[neighbor_edges] * s[..., neighbors], axis=-1)

    def delta_energy(self, s, site=None):
        """Energy change H(s with s_i flipped) − H(s) = 2 s_i (h_i + Σ_j J_ij s_j).

        Same shapes as :meth:`local_field`.
        """
        xp = _namespace(s, self.couplings, self.field)
        s = xp.asarray(s)
        spin = s if site is None else s[..., site]
        return 2.0 * spin * self.local_field(s, site)

    # ------------------------------------------------------------ constructors
    @classmethod
    def chain(cls, n, J=1.0, h=0.0, periodic=True) -> "Ising":
        """1D chain of ``n`` spins, bonds (i, i+1), plus (n−1, 0) when periodic.

        ``J`` is a scalar or an array of the n (periodic) or n−1 (open) bonds;
        ``h`` a scalar or an array of n fields.
        """
        n = check_positive_int(n, "n")
        n_bonds = n if periodic else n - 1
        first = np.arange(n_bonds)
        edges = np.stack([first, (first + 1) % n], axis=1)
        couplings = _bond_values(J, (n_bonds,), "J", hint="one per bond (i, i+1)")
        return cls._build(n, edges, couplings, h, Lattice("chain", (n,), bool(periodic)))

    @classmethod
    def square(cls, L, J=1.0, h=0.0, periodic=True) -> "Ising":
        """Square lattice; ``L`` is an int or a pair ``(Lx, Ly)``.

        Site (x, y) has index i = y·Lx + x. ``J`` is a scalar or bond arrays
        ``(Jh, Jv)`` of shape (Ly, Lx): ``Jh[y, x]`` couples (x, y)–(x+1, y),
        ``Jv[y, x]`` couples (x, y)–(x, y+1), wrapping when periodic. With open
        boundaries the wrap-around entries (``Jh[:, -1]``, ``Jv[-1, :]``) must
        be 0, or pass arrays of shape (Ly, Lx−1) and (Ly−1, Lx).
        """
        Lx, Ly = _lattice_sizes(L, 2)
        n = Lx * Ly
        x, y = np.meshgrid(np.arange(Lx), np.arange(Ly))  # arrays indexed [y, x]
        site = y * Lx + x
        right = y * Lx + (x + 1) % Lx
        down = ((y + 1) % Ly) * Lx + x
        if isinstance(J, tuple) or isinstance(J, list):
            if len(J) != 2:
                raise ValueError("J must be a scalar or a pair (Jh, Jv) of bond arrays")
            Jh, Jv = (_square_bond_array(a, Ly, Lx, axis, periodic, name)
                      for a, axis, name in ((J[0], 1, "Jh"), (J[1], 0, "Jv")))
        else:
            scalar = _scalar(J, "J")
            Jh = np.full((Ly, Lx), scalar)
            Jv = np.full((Ly, Lx), scalar)
        h_mask = np.ones((Ly, Lx), bool) if periodic else (x < Lx - 1)
        v_mask = np.ones((Ly, Lx), bool) if periodic else (y < Ly - 1)
        edges = np.concatenate([
            np.stack([site[h_mask], right[h_mask]], axis=1),
            np.stack([site[v_mask], down[v_mask]], axis=1),
        ])
        couplings = np.concatenate([Jh[h_mask], Jv[v_mask]])
        h = _reshape_lattice_field(h, (Ly, Lx))
        return cls._build(n, edges, couplings, h, Lattice("square", (Lx, Ly), bool(periodic)))

    @classmethod
    def cubic(cls, L, J=1.0, h=0.0, periodic=True) -> "Ising":
        """Simple cubic lattice L×L×L (``L`` an int or a triple), uniform scalar ``J``.

        Site (x, y, z) has index i = (z·Ly + y)·Lx + x.
        """
        Lx, Ly, Lz = _lattice_sizes(L, 3)
        scalar = _scalar(J, "J")
        z, y, x = np.meshgrid(np.arange(Lz), np.arange(Ly), np.arange(Lx), indexing="ij")
        site = (z * Ly + y) * Lx + x
        pieces = []
        for axis_coord, size, neighbor in (
            (x, Lx, (z * Ly + y) * Lx + (x + 1) % Lx),
            (y, Ly, (z * Ly + (y + 1) % Ly) * Lx + x),
            (z, Lz, (((z + 1) % Lz) * Ly + y) * Lx + x),
        ):
            mask = np.ones(site.shape, bool) if periodic else axis_coord < size - 1
            pieces.append(np.stack([site[mask], neighbor[mask]], axis=1))
        edges = np.concatenate(pieces)
        couplings = np.full(len(edges), scalar)
        h = _reshape_lattice_field(h, (Lz, Ly, Lx))
        return cls._build(Lx * Ly * Lz, edges, couplings, h,
                          Lattice("cubic", (Lx, Ly, Lz), bool(periodic)))

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
        return cls._build(n, edges, J[i, j], h, Lattice("graph", (), False))

    @classmethod
    def from_edges(cls, n, edges, J, h=0.0) -> "Ising":
        """``n`` spins and a list of bonds ``edges`` (E, 2) with couplings ``J`` (E,)."""
        n = check_positive_int(n, "n")
        edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
        if edges.size and (edges.min() < 0 or edges.max() >= n):
            raise ValueError(f"edges must hold site indices in [0, {n}); got {edges.min()}..{edges.max()}")
        couplings = _bond_values(J, (len(edges),), "J", hint="one per edge")
        return cls._build(n, edges, couplings, h, Lattice("graph", (), False))

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
        Lx, Ly = self.lattice.shape
        x, y = np.meshgrid(np.arange(Lx), np.arange(Ly))
        periodic = self.lattice.periodic
        h_mask = np.ones((Ly, Lx), bool) if periodic else (x < Lx - 1)
        v_mask = np.ones((Ly, Lx), bool) if periodic else (y < Ly - 1)
        couplings = np.asarray(self.couplings, dtype=np.float64)
        n_h = int(h_mask.sum())
        Jh = np.zeros((Ly, Lx))
        Jv = np.zeros((Ly, Lx))
        Jh[h_mask] = couplings[:n_h]
        Jv[v_mask] = couplings[n_h:]
        return Jh, Jv

    def uniform_coupling(self) -> float | None:
        """The common J when all bonds are equal, else None."""
        couplings = np.asarray(self.couplings, dtype=np.float64)
        if couplings.size and np.all(couplings == couplings[0]):
            return float(couplings[0])
        return None

    def __repr__(self) -> str:
        lattice = self.lattice
        geometry = "x".join(map(str, lattice.shape)) if lattice.shape else f"{self.n_sites} sites"
        bc = "periodic" if lattice.periodic else "open"
        if lattice.kind == "graph":
            bc = f"{self.n_edges} bonds"
        return f"Ising({lattice.kind} {geometry}, {bc})"

    # ---------------------------------------------------------------- internals
    @classmethod
    def _build(cls, n, edges, couplings, h, lattice) -> "Ising":
        edges = np.asarray(edges, dtype=np.int32).reshape(-1, 2)
        couplings = as_finite_float_array(couplings, "J").reshape(-1)
        field = _site_values(h, n)
        neighbors, neighbor_edges = _neighbor_table(n, edges)
        return cls(edges=edges, couplings=couplings, field=field, neighbors=neighbors,
                   neighbor_edges=neighbor_edges, lattice=lattice)


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


def _bond_values(J, shape, name, hint) -> np.ndarray:
    if np.ndim(J) == 0:
        return np.full(shape, _scalar(J, name))
    array = as_finite_float_array(J, name)
    if array.shape != shape:
        raise ValueError(f"{name} must be a scalar or have shape {shape} ({hint}), got {array.shape}")
    return array


def _site_values(h, n) -> np.ndarray:
    if np.ndim(h) == 0:
        return np.full(n, _scalar(h, "h"))
    array = as_finite_float_array(h, "h").reshape(-1) if np.size(h) == n else None
    if array is None:
        raise ValueError(f"h must be a scalar or have one value per site ({n}), got shape {np.shape(h)}")
    return array


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
    array = as_finite_float_array(array, name)
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
