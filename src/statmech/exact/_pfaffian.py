"""Exact log Z of 2D Ising spin glasses, open or toroidal, by Pfaffians (method ``"pfaffian"``).

Any real couplings J on the Lx × Ly square lattice, h = 0. Domain walls of
a reference state are the even subgraphs of the dual lattice, counted as the
perfect matchings of a decorated planar graph with a Kasteleyn orientation:

    open:   Z = e^{−βH(s⁰)} Pf A,    torus:  Z = 2 e^{−βH(s⁰)} · ¼ σ₀ Σ_{b ∈ {0,1}²} Pf A_b.

The Pfaffians are eliminated frontally with partial pivoting, carry their
first two β-derivatives (U, C exact), and every value is certified by two
independent eliminations (refused past float64 precision with a
FloatingPointError). Kasteleyn, Physica 27, 1209 (1961); Barahona, J. Phys. A
15, 3241 (1982); Thomas & Middleton, Phys. Rev. E 80, 046708 (2009).
Derivation, costs and precision: docs/derivations.md.
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np

from statmech.exact._matching import planar_ground_state
from statmech.models import Ising
from statmech._types import Method, Moments
from statmech._validation import check_time

_OVERFLOW_EXPONENT = 300.0
"""Largest 2β|J'| allowed in a dimer weight y = e^{2β|J'|} (float64 holds e^{709})."""

# ------------------------------------------------------------------ geometry
# Plaquette city: nodes in elimination order, and its internal edges oriented
# tail -> head (a Kasteleyn orientation, found once and checked on every face).
_CITY = ("n", "w", "l1", "l2", "e", "s")
_CITY_OFFSET = {"n": (0.5, -0.1), "w": (0.1, -0.5), "l1": (0.35, -0.35), "l2": (0.65, -0.65),
                "e": (0.9, -0.5), "s": (0.5, -0.9)}  # drawing inside plaquette (x, y), y pointing down
_CITY_EDGES = (("n", "w"), ("l1", "w"), ("l1", "n"), ("l1", "l2"),
               ("e", "s"), ("e", "l2"), ("l2", "s"))
# Ring city (open boundaries): c, t_prev, t_next, t_ext. Orientation per side
# ("t" top, "r" right, "b" bottom, "l" left): +1 keeps the listed direction.
_RING = ("c", "tp", "tn", "tx")
_RING_EDGES = (("c", "tp"), ("c", "tn"), ("c", "tx"), ("tp", "tx"))
_RING_FLIP = {"t": (1, 1, 1, 1), "b": (1, 1, 1, 1), "r": (-1, 1, 1, -1), "l": (-1, 1, 1, -1)}
_CORNER_FLIP = {("r", "b"): -1}


@dataclasses.dataclass(frozen=True)
class _Decoration:
    """The decorated dual lattice of an Lx × Ly lattice (static geometry, cached).

    Nodes are numbered city by city (cities in sweep order, ``city_start`` /
    ``city_size``). Edges are oriented tail -> head (A[tail, head] = +weight).
    ``bond`` is the index into concatenate([Jh.ravel(), Jv.ravel()]) of the bond
    a dual edge crosses (−1 for the unit-weight city and ring edges); ``seam``
    is 1 for dual edges crossing an x-wrap bond Jv[y, 0] (negated by the b_x
    twist), 2 for a y-wrap bond Jh[0, x] (the b_y twist may equally negate the
    edges crossing any other row of bonds Jh[r, :]: the gauge change between two
    such rows flips whole 6-node cities and leaves Pf unchanged).
    """

    Lx: int
    Ly: int
    periodic: bool
    n_nodes: int
    tail: np.ndarray
    head: np.ndarray
    bond: np.ndarray
    seam: np.ndarray
    city_start: np.ndarray
    city_size: np.ndarray
    reference_sign: float       # sign of Pf of the city-internal edges alone (C = ∅)
    position: np.ndarray        # (n_nodes, 2) planar drawing (site (x, y) at (x, −y)), for checks


@functools.lru_cache(maxsize=16)
def _decoration(Lx: int, Ly: int, periodic: bool) -> _Decoration:
    """Build the decorated lattice: cities, oriented edges, bonds crossed, seams."""
    sizes: list[int] = []
    positions: list[tuple[float, float]] = []
    tails: list[int] = []
    heads: list[int] = []
    bonds: list[int] = []
    seams: list[int] = []
    counter = [0]

    def new_city(names, points):
        start = counter[0]
        counter[0] += len(names)
        sizes.append(len(names))
        positions.extend(points)
        return {name: start + k for k, name in enumerate(names)}

    def add(tail, head, bond=-1, seam=0, flip=1):
        if flip < 0:
            tail, head = head, tail
        tails.append(tail)
        heads.append(head)
        bonds.append(bond)
        seams.append(seam)

    def h_bond(y, x):
        return (y % Ly) * Lx + (x % Lx)

    def v_bond(y, x):
        return Lx * Ly + (y % Ly) * Lx + (x % Lx)

    cities = {}
    ring = {}

    def city(x, y):
        nodes = new_city(_CITY, [(x + _CITY_OFFSET[k][0], -y + _CITY_OFFSET[k][1]) for k in _CITY])
        cities[x, y] = nodes
        for a, b in _CITY_EDGES:
            add(nodes[a], nodes[b])

    def ring_city(side, k):
        # centre just outside boundary bond k of this side; inward normal; direction of the cycle
        centre, inward, along = {
            "t": ((k + 0.5, 0.3), (0, -1), (1, 0)), "r": ((Lx - 0.7, -(k + 0.5)), (-1, 0), (0, -1)),
            "b": ((k + 0.5, -(Ly - 1) - 0.3), (0, 1), (-1, 0)), "l": ((-0.3, -(k + 0.5)), (1, 0), (0, 1)),
        }[side]
        c, u, d = np.array(centre), np.array(inward), np.array(along)
        nodes = new_city(_RING, [tuple(c - 0.12 * u), tuple(c - 0.2 * d), tuple(c + 0.2 * d),
                                 tuple(c + 0.15 * u)])
        ring[side, k] = nodes
        for (a, b), flip in zip(_RING_EDGES, _RING_FLIP[side]):
            add(nodes[a], nodes[b], flip=flip)

    nx_, ny_ = (Lx, Ly) if periodic else (Lx - 1, Ly - 1)
    if periodic:
        for y in range(Ly):
            for x in range(Lx):
                city(x, y)
    else:
        for x in range(nx_):
            ring_city("t", x)
        for y in range(ny_):
            ring_city("l", y)
            for x in range(nx_):
                city(x, y)
            ring_city("r", y)
        for x in range(nx_):
            ring_city("b", x)
        cycle = ([("t", x) for x in range(nx_)] + [("r", y) for y in range(ny_)]
                 + [("b", x) for x in reversed(range(nx_))] + [("l", y) for y in reversed(range(ny_))])
        for k, key in enumerate(cycle):
            following = cycle[(k + 1) % len(cycle)]
            add(ring[key]["tn"], ring[following]["tp"],
                flip=_CORNER_FLIP.get((key[0], following[0]), 1))
        for x in range(nx_):
            add(cities[x, 0]["n"], ring["t", x]["tx"], h_bond(0, x))
            add(cities[x, ny_ - 1]["s"], ring["b", x]["tx"], h_bond(Ly - 1, x))
        for y in range(ny_):
            add(cities[0, y]["w"], ring["l", y]["tx"], v_bond(y, 0))
            add(cities[nx_ - 1, y]["e"], ring["r", y]["tx"], v_bond(y, Lx - 1))
    for y in range(ny_):
        for x in range(nx_):
            if x + 1 < nx_ or periodic:
                add(cities[x, y]["e"], cities[(x + 1) % nx_, y]["w"], v_bond(y, x + 1),
                    seam=1 if x + 1 == nx_ else 0)
            if y + 1 < ny_ or periodic:
                add(cities[x, y]["s"], cities[x, (y + 1) % ny_]["n"], h_bond(y + 1, x),
                    seam=2 if y + 1 == ny_ else 0)

    tail = np.array(tails, dtype=np.int64)
    head = np.array(heads, dtype=np.int64)
    bond = np.array(bonds, dtype=np.int64)
    city_size = np.array(sizes, dtype=np.int64)
    city_start = np.concatenate([[0], np.cumsum(city_size)[:-1]])

    # Reference matching (no dual edge used): Pf of the city-internal edges, city by city.
    owner = np.repeat(np.arange(len(city_size)), city_size)
    internal = (bond < 0) & (owner[tail] == owner[head])
    sign = 1.0
    for size in np.unique(city_size).tolist():
        chosen = internal & (city_size[owner[tail]] == size)
        index = np.searchsorted(np.flatnonzero(city_size == size), owner[tail[chosen]])
        local_tail = tail[chosen] - city_start[owner[tail[chosen]]]
        local_head = head[chosen] - city_start[owner[tail[chosen]]]
        blocks = np.zeros((int(np.sum(city_size == size)), size, size))
        blocks[index, local_tail, local_head] = 1.0
        blocks -= np.swapaxes(blocks, 1, 2)
        sign *= float(np.prod(np.sign(_pfaffian_small(blocks))))
    return _Decoration(Lx, Ly, periodic, counter[0], tail, head, bond,
                       np.array(seams, dtype=np.int8), city_start, city_size, float(sign),
                       np.array(positions))


# ------------------------------------------------------------- small Pfaffians
def _matchings(n):
    """Perfect matchings of range(n) as index pairs with the sign of their Pfaffian term."""
    if n == 0:
        return [((), 1)]
    out = []
    for j in range(1, n):
        rest = [k for k in range(1, n) if k != j]
        for pairs, sign in _matchings(n - 2):
            mapped = tuple((rest[a], rest[b]) for a, b in pairs)
            out.append((((0, j),) + mapped, sign * (-1) ** (j - 1)))
    return out


@functools.lru_cache(maxsize=None)
def _matching_table(n):
    terms = _matchings(n)
    rows = np.array([[a for a, _ in pairs] for pairs, _ in terms], dtype=np.int64)
    cols = np.array([[b for _, b in pairs] for pairs, _ in terms], dtype=np.int64)
    return rows, cols, np.array([s for _, s in terms], dtype=np.float64)


def _pfaffian_small(blocks):
    """Pfaffians of a batch of small skew matrices (..., g, g) by their explicit expansion."""
    rows, cols, signs = _matching_table(blocks.shape[-1])
    return np.sum(signs * np.prod(blocks[..., rows, cols], axis=-1), axis=-1)


# -------------------------------------------------------------------- sweep
_PIVOT_THRESHOLD = 0.1
"""A partner whose entry is at least this fraction of the column's largest may be chosen
(threshold partial pivoting: multipliers stay below 1/0.1); among those, one that needs no
new frontier nodes is preferred."""

_PENDING = 24
"""Rank-2 updates accumulated before they are applied to the frontier matrix in one product."""

_BINOMIAL = ((1.0,), (1.0, 1.0), (1.0, 2.0, 1.0))


def _leibniz_transposed(m: int) -> np.ndarray:
    """Leibniz rule for column extraction with m = 1 (values) or 3 (values and two β-derivatives).

    L[d, i, j] is the coefficient of (stored row i) × (value of stored row j
    at the column) in the d-th derivative of u vᵀ − v uᵀ, rows ordered
    (u, u′, ..., v, v′, ...); returned as L transposed in its last two axes.
    """
    table = np.zeros((m, 2 * m, 2 * m))
    for d in range(m):
        for a in range(d + 1):  # u^(a) v^(d−a)[slot] − v^(d−a) u^(a)[slot], binomial weights
            table[d, a, m + d - a] += _BINOMIAL[d][a]
            table[d, m + d - a, a] -= _BINOMIAL[d][a]
    return np.ascontiguousarray(np.swapaxes(table, 1, 2))


_LEIBNIZ_T = {m: _leibniz_transposed(m) for m in (1, 3)}


class _Frontal:
    """Parlett–Reid elimination of a sparse skew matrix with partial pivoting, column by column.

    Only the *active* nodes (touched so far) live in a dense matrix S (with
    its two β-derivatives S′, S″ when ``weights`` carries them), one slot each. Columns are eliminated in
    node order; the partner of column k is chosen among all active nodes by
    threshold partial pivoting, and a partner whose neighbours are not all
    active yet gets them activated first (its column must be complete). A pair
    (k, j) with a = S[k, j] contributes the Pf factor a and the rank-2 update
    S += u vᵀ − v uᵀ, u = S[:, j]/a, v = S[:, k]; updates are kept pending and
    applied in blocks of ``_PENDING`` (one matrix product).
    """

    def __init__(self, decoration: _Decoration, weights):
        self.weights = weights  # (m, E): edge weights (and their two β-derivatives when m = 3)
        self.m = m = weights.shape[0]
        tail, head = decoration.tail, decoration.head
        n = decoration.n_nodes
        both = np.concatenate([tail, head])
        order = np.argsort(both, kind="stable")
        self.neighbour = np.concatenate([head, tail])[order]
        edge = np.concatenate([np.arange(len(tail))] * 2)[order]
        orientation = np.concatenate([np.ones(len(tail)), -np.ones(len(tail))])[order]
        self.entry = weights[:, edge] * orientation  # A[node, neighbour] for each CSR position
        self.entry_edge = edge
        self.start = np.searchsorted(both[order], np.arange(n + 1))
        self.status = np.zeros(n, dtype=np.int8)             # 0 inactive, 1 active, 2 eliminated
        self.missing = np.diff(self.start).astype(np.int64)  # neighbours not yet active
        self.slot = np.full(n, -1, dtype=np.int64)
        self.capacity = 0
        self.free: list[int] = []
        self.active = np.zeros(0, bool)
        self.ready = np.zeros(0, bool)
        self.node_of = np.zeros(0, np.int64)
        self.S = np.zeros((m, 0, 0))
        self.pending_uv = np.zeros((_PENDING, 2 * m, 0))  # update p: (u, u′, u″, v, v′, v″) for m = 3
        self._grow((2 if decoration.periodic else 1) * decoration.Lx + 32)
        self.pending = 0
        self.sequence: list[int] = []
        # Pf and its two β-derivatives as e^{log_scale} · jet (linear, not logarithmic: a
        # twisted torus Pfaffian may pass through zero, where log-derivatives blow up).
        self.log_scale = 0.0
        self.jet = np.eye(m)[0]
        self.next_column = 0
        self.singular = False

    def _grow(self, capacity):
        old = self.capacity
        S = np.zeros((self.m, capacity, capacity))
        S[:, :old, :old] = self.S
        pending_uv = np.zeros((_PENDING, 2 * self.m, capacity))
        pending_uv[:, :, :old] = self.pending_uv
        self.S, self.pending_uv = S, pending_uv
        extra = capacity - old
        self.active = np.concatenate([self.active, np.zeros(extra, bool)])
        self.ready = np.concatenate([self.ready, np.zeros(extra, bool)])
        self.node_of = np.concatenate([self.node_of, np.full(extra, -1, np.int64)])
        self.free.extend(range(capacity - 1, old - 1, -1))
        self.capacity = capacity

    def _activate(self, node):
        if not self.free:
            self._grow(self.capacity + self.capacity // 2 + 8)
        slot = self.free.pop()
        self.slot[node] = slot
        self.node_of[slot] = node
        self.status[node] = 1
        self.active[slot] = True
        lo, hi = self.start[node], self.start[node + 1]
        neighbours = self.neighbour[lo:hi]
        present = self.status[neighbours] == 1
        present &= neighbours != node
        if present.any():
            others = neighbours[present]
            self.missing[others] -= 1
            self.missing[node] -= len(others)
            slots = self.slot[others]
            values = self.entry[:, lo:hi][:, present]
            self.S[:, slot, slots] = values
            self.S[:, slots, slot] = -values
            self.ready[slots[self.missing[others] == 0]] = True
        if self.missing[node] == 0:
            self.ready[slot] = True

    def _make_ready(self, node):
        lo, hi = self.start[node], self.start[node + 1]
        neighbours = self.neighbour[lo:hi]
        for other in neighbours[self.status[neighbours] == 0].tolist():
            self._activate(other)

    def _column(self, slot):
        """Column ``slot`` of the current S (pending updates included) and its two derivatives."""
        c = self.S[:, :, slot].copy()
        r = self.pending
        if r:
            uv = self.pending_uv[:r]
            # d^n/dβ^n of Σ_p (u_p v_p[slot] − v_p u_p[slot]), by Leibniz: coefficients of
            # the stored (u, u′, u″, v, v′, v″) rows, linear in their values at ``slot``.
            m = self.m
            coefficients = uv[:, :, slot] @ _LEIBNIZ_T[m]  # (m, r, 2m)
            c += coefficients.reshape(m, 2 * m * r) @ uv.reshape(2 * m * r, -1)
        return c

    def _flush(self):
        r = self.pending
        if not r:
            return
        # Rows of eliminated slots are zero in the pending updates and in S: update the
        # active block only.
        active = np.flatnonzero(self.active)
        uv = self.pending_uv[:r][:, :, active]
        m = self.m
        U, V = uv[:, :m], uv[:, m:]
        # d-th derivative of Σ_p u_p v_pᵀ: Σ_a C(d, a) U^(a)ᵀ V^(d−a), one product per order
        products = [np.concatenate([_BINOMIAL[d][a] * U[:, a] for a in range(d, -1, -1)]).T
                    @ np.concatenate([V[:, d - a] for a in range(d, -1, -1)]) for d in range(m)]
        block = np.ix_(active, active)
        for S, M in zip(self.S, products):
            S[block] += M - M.T
        self.pending_uv[:r] = 0.0
        self.pending = 0

    def _eliminate(self, k):
        """Eliminate node k with its pivot partner."""
        if self.status[k] == 0:
            self._activate(k)
        self._make_ready(k)
        sk = self.slot[k]
        c = self._column(sk)
        size = np.abs(c[0])
        size[sk] = 0.0
        largest = size.max()
        if largest == 0.0:
            raise _Singular
        candidates = np.flatnonzero((size >= _PIVOT_THRESHOLD * largest) & self.ready)
        sj = int(candidates[np.argmax(size[candidates])]) if candidates.size else int(np.argmax(size))
        j = int(self.node_of[sj])
        if not self.ready[sj]:
            self._make_ready(j)  # new nodes are not neighbours of k: column k is unchanged
            if c.shape[1] < self.capacity:  # ... but the matrix may have grown
                c = np.pad(c, ((0, 0), (0, self.capacity - c.shape[1])))
        d = self._column(sj)
        m = self.m
        a = -c[:, sj]  # a = S[k, j] = −S[j, k], and its β-derivatives
        p = self.jet  # (Pf · a)^(n) = Σ_q C(n, q) Pf^(n−q) a^(q)
        jet = np.array([sum(_BINOMIAL[n][q] * p[n - q] * a[q] for q in range(n + 1)) for n in range(m)])
        scale = np.abs(jet).max()
        self.jet = jet / scale
        self.log_scale += np.log(scale)
        if self.pending == _PENDING:
            self._flush()
        r = self.pending
        u = self.pending_uv[r]  # u = d / a and its derivatives: d^(n) = Σ_q C(n, q) u^(n−q) a^(q)
        for n in range(m):
            u[n] = (d[n] - sum(_BINOMIAL[n][q] * u[n - q] * a[q] for q in range(1, n + 1))) / a[0]
        u[m:] = c
        self.pending += 1
        pair = [sk, sj]
        self.S[:, pair, :] = 0.0
        self.S[:, :, pair] = 0.0
        self.pending_uv[:, :, pair] = 0.0
        for slot, node in ((sk, k), (sj, j)):
            self.status[node] = 2
            self.active[slot] = False
            self.ready[slot] = False
            self.node_of[slot] = -1
            self.slot[node] = -1
            self.free.append(slot)
        self.sequence += [k, j]

    def advance(self, stop):
        """Eliminate the columns up to node ``stop`` (those not yet paired)."""
        try:
            for k in range(self.next_column, stop):
                if self.status[k] != 2:
                    self._eliminate(k)
        except _Singular:
            self.singular = True
        self.next_column = stop

    def negate_edges(self, edges):
        """Negate the weights of ``edges``, which must not have entered S yet."""
        self.entry[:, np.isin(self.entry_edge, edges)] *= -1.0

    def result(self):
        """(log_scale, jet): Pf = e^{log_scale} jet[0] (node order), ∂Pf/∂β, ∂²Pf/∂β² likewise.

        An exactly singular matrix (a twisted torus Pfaffian can vanish) gives jet = 0.
        """
        if self.singular:
            return 0.0, np.zeros(self.m)
        return self.log_scale, self.jet * _permutation_sign(self.sequence)


class _Singular(Exception):
    """A column with no nonzero entry left: Pf = 0."""


def _permutation_sign(sequence):
    """Sign of the permutation that lists the nodes in ``sequence`` order."""
    permutation = np.asarray(sequence)
    seen = np.zeros(len(permutation), bool)
    transpositions = 0
    for start in range(len(permutation)):
        length = 0
        node = start
        while not seen[node]:
            seen[node] = True
            node = permutation[node]
            length += 1
        transpositions += max(length - 1, 0)
    return -1.0 if transpositions % 2 else 1.0


def _single_blas_thread():
    """Context in which BLAS runs on one thread: the products here are small (frontier × 72),
    and a threaded BLAS only adds contention."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _sweep(decoration: _Decoration, weights):
    """Pf of the decorated matrix for edge weights (3, E) = (w, ∂w/∂β, ∂²w/∂β²), or (1, E) = w.

    Returns (log_scale, jet) with (Pf, ∂Pf/∂β, ∂²Pf/∂β²) = e^{log_scale} · jet (Pf alone for (1, E)).
    """
    with _single_blas_thread():
        frontal = _Frontal(decoration, weights)
        frontal.advance(decoration.n_nodes)
        return frontal.result()


def _torus_sweeps(decoration: _Decoration, weights):
    """The four twisted Pfaffians [(b_x, b_y) = (0,0), (1,0), (0,1), (1,1)] as (log_scale, jet).

    For each b_x one elimination runs up to the last few rows, then forks: the
    b_y twist goes on a row of bonds whose dual edges have not entered the
    frontier yet, so the two branches share everything before the fork.
    """
    import copy

    Lx, Ly = decoration.Lx, decoration.Ly
    x_twist = np.where(decoration.seam == 1, -1.0, 1.0)

    def row_cut(r):  # dual edges crossing the bonds Jh[r, :]
        return np.flatnonzero((decoration.bond >= r * Lx) & (decoration.bond < (r + 1) * Lx))

    fork_row = max(Ly - 4, 0)
    fork = int(decoration.city_start[fork_row * Lx])
    results = {}
    with _single_blas_thread():
        for bx in (0, 1):
            shared = _Frontal(decoration, weights * x_twist if bx else weights)
            shared.advance(fork)
            cut = None
            for r in [0] if fork == 0 else range(Ly - 1, fork_row, -1):
                edges = row_cut(r)
                if not np.any((shared.status[decoration.tail[edges]] > 0)
                              & (shared.status[decoration.head[edges]] > 0)):
                    cut = edges
                    break
            if cut is None:  # pivoting touched every candidate row: no shared prefix
                twisted = _Frontal(decoration, weights * x_twist if bx else weights)
                cut = row_cut(0)
            else:
                twisted = copy.deepcopy(shared)
            twisted.negate_edges(cut)
            for by, branch in ((0, shared), (1, twisted)):
                branch.advance(decoration.n_nodes)
                results[bx, by] = branch.result()
    return [results[key] for key in ((0, 0), (1, 0), (0, 1), (1, 1))]


# ---------------------------------------------------------------- couplings
def _bond_vector(model):
    """(Lx, Ly, periodic, J) with J = concatenate([Jh.ravel(), Jv.ravel()]) (zeros for missing bonds)."""
    Lx, Ly = model.lattice.shape
    Jh, Jv = model.bond_arrays()
    return Lx, Ly, bool(model.lattice.periodic), np.concatenate([Jh.ravel(), Jv.ravel()])


def _neighbour_bonds(Lx, Ly):
    """For each site: its 4 neighbours and the bond index joining them (wrap-around included)."""
    y, x = np.divmod(np.arange(Lx * Ly), Lx)
    neighbours = np.stack([y * Lx + (x + 1) % Lx, y * Lx + (x - 1) % Lx,
                           ((y + 1) % Ly) * Lx + x, ((y - 1) % Ly) * Lx + x], axis=1)
    bonds = np.stack([y * Lx + x, y * Lx + (x - 1) % Lx,
                      Lx * Ly + y * Lx + x, Lx * Ly + ((y - 1) % Ly) * Lx + x], axis=1)
    return neighbours, bonds


def _greedy_reference(Lx, Ly, periodic, J):
    """A local energy minimum s⁰ (±1 per site): zero-temperature descent from all-up.

    Sites are updated colour class by colour class (no two neighbours in one
    class) and a spin flips only if that strictly lowers the energy, so the
    descent stops. It only reduces the dynamic range of the weights y_e.
    """
    neighbours, bonds = _neighbour_bonds(Lx, Ly)
    y, x = np.divmod(np.arange(Lx * Ly), Lx)
    colour_x = np.where(periodic & (Lx % 2 == 1) & (x == Lx - 1), 2, x % 2)
    colour_y = np.where(periodic & (Ly % 2 == 1) & (y == Ly - 1), 2, y % 2)
    colour = colour_x + 3 * colour_y
    classes = [np.flatnonzero(colour == c) for c in range(9) if np.any(colour == c)]
    spins = np.ones(Lx * Ly)
    for _ in range(10 * (Lx + Ly)):
        flipped = False
        for sites in classes:
            field = np.sum(J[bonds[sites]] * spins[neighbours[sites]], axis=1)
            unhappy = sites[spins[sites] * field < 0]
            if unhappy.size:
                spins[unhappy] *= -1
                flipped = True
        if not flipped:
            break
    return spins


def _gauge(Lx, Ly, J, spins):
    """J'_ij = J_ij s_i s_j for the bond vector J (Jh then Jv, wrap-around bonds included)."""
    y, x = np.divmod(np.arange(Lx * Ly), Lx)
    right = y * Lx + (x + 1) % Lx
    down = ((y + 1) % Ly) * Lx + x
    return J * np.concatenate([spins * spins[right], spins * spins[down]])


# ------------------------------------------------------------------ moments
_SAFETY = 10.0
"""The two-path discrepancy times this must stay inside the tolerances below (measured:
the true error of a path exceeded the discrepancy by at most a factor ~3 where it mattered)."""

_LOG_Z_TOLERANCE = 1e-10
"""Promised precision of log Z: relative, |δ log Z| ≤ 1e−10 · max(1, |log Z|)."""

_ENERGY_TOLERANCE = 1e-8
"""Promised precision of U: absolute, |δU| ≤ 1e−8 · max(1, Σ|J|)."""

_HEAT_TOLERANCE = 1e-6
"""Promised precision of C = β² Var(H): absolute, |δC| ≤ 1e−6 · N."""

_LADDER = (1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 11.0, 16.0, 22.0, 32.0, 45.0, 64.0)
"""β · min|J| tried, in order, as the matching point of the ground-state asymptote."""


def _rotated(Lx, Ly, J):
    """The bond vector of the same model turned by 180° (site (x, y) -> (Lx−1−x, Ly−1−y))."""
    Jh = J[:Lx * Ly].reshape(Ly, Lx)[::-1, ::-1]
    Jv = J[Lx * Ly:].reshape(Ly, Lx)[::-1, ::-1]
    return np.concatenate([np.roll(Jh, -1, axis=1).ravel(), np.roll(Jv, -1, axis=0).ravel()])


class _Path:
    """One elimination route: the bond vector in one orientation, gauged by its greedy reference."""

    def __init__(self, decoration, Lx, Ly, periodic, J):
        self.decoration = decoration
        self.J_gauged = _gauge(Lx, Ly, J, _greedy_reference(Lx, Ly, periodic, J))
        self.reference_energy = -float(np.sum(self.J_gauged))  # H(s⁰)
        unsatisfied = np.abs(self.J_gauged[self.J_gauged < 0])
        self.overflow_beta = (_OVERFLOW_EXPONENT / (2.0 * unsatisfied.max()) if unsatisfied.size
                              else np.inf)

    def evaluate(self, beta, derivatives):
        """(log Z, U, Var H) at β (U, Var None without derivatives); None where the torus
        Pfaffians cancel to a non-positive sum (precision lost)."""
        try:
            value, first, second = _pfaffian_jets(self.decoration, self.J_gauged, beta, derivatives)
        except _Cancelled:
            return None
        log_z = -beta * self.reference_energy + value
        if not derivatives:
            return log_z, None, None
        return log_z, self.reference_energy - first, second


class _Cancelled(Exception):
    """The four torus Pfaffians summed to a non-positive number: rounding won."""


def _pfaffian_jets(decoration, J_gauged, beta, derivatives: bool = True):
    """log Pf (open) or log(2 · ¼ σ₀ Σ_b Pf A_b) (torus) at one β and its two β-derivatives
    (None when ``derivatives`` is False: a third of the work)."""
    bond = decoration.bond
    dual = bond >= 0
    coupling = np.where(dual, J_gauged[np.maximum(bond, 0)], 0.0)
    y = np.where(dual, np.exp(-2.0 * beta * coupling), 1.0)
    weights = np.stack([y, -2.0 * coupling * y, 4.0 * coupling**2 * y]) if derivatives else y[None]
    if not decoration.periodic:
        log_scale, jet = _sweep(decoration, weights)
        if not derivatives:
            return log_scale + np.log(abs(jet[0])), None, None
        p0, p1, p2 = jet
        first = p1 / p0
        return log_scale + np.log(abs(p0)), first, p2 / p0 - first**2
    results = _torus_sweeps(decoration, weights)
    log_scale = np.array([r[0] for r in results])
    jets = np.array([r[1] for r in results])  # (twist, derivative order)
    shift = log_scale.max()
    sums = (decoration.reference_sign * jets * np.exp(log_scale - shift)[:, None]).sum(axis=0)
    total = sums[0]
    if not total > 0:
        raise _Cancelled
    log_value = np.log(2.0) + shift + np.log(total / 4.0)
    if not derivatives:
        return log_value, None, None
    first = sums[1] / total
    return log_value, first, sums[2] / total - first**2


def _energy_quantum(J):
    """2u when every |J| is an integer multiple of u = min |J| (every energy difference is then
    a multiple of 2u: H = −Σ|J| + 2 Σ_unsatisfied |J|), else None."""
    magnitudes = np.abs(J[J != 0])
    if magnitudes.size == 0:
        return None
    ratio = magnitudes / magnitudes.min()
    if np.all(np.abs(ratio - np.round(ratio)) <= 1e-12 * ratio) and ratio.max() < 1e6:
        return 2.0 * float(magnitudes.min())
    return None


class _Certifier:
    """Evaluates both paths at a β and accepts the result only if they agree to the tolerances."""

    def __init__(self, model, log_z_only):
        Lx, Ly, periodic, J = _bond_vector(model)
        self.Lx, self.Ly, self.periodic, self.J = Lx, Ly, periodic, J
        self.n_sites = Lx * Ly
        self.log_z_only = log_z_only
        decoration = _decoration(Lx, Ly, periodic)
        self.paths = (_Path(decoration, Lx, Ly, periodic, J),
                      _Path(decoration, Lx, Ly, periodic, _rotated(Lx, Ly, J)))
        self.overflow_beta = min(path.overflow_beta for path in self.paths)
        self.energy_scale = max(1.0, float(np.sum(np.abs(J))))
        self.model = model

    def evaluate(self, beta, derivatives):
        """((log Z, U, Var), (δ log Z, δU, δC)) certified at β, or (None, reason)."""
        where = (f"the {self.Lx}x{self.Ly} {'periodic' if self.periodic else 'open'} lattice at "
                 f"beta = {beta:g}")
        if beta > self.overflow_beta:
            return None, (f"{where}: the dimer weights exp(2 beta |J|) of unsatisfied bonds would "
                          "overflow float64")
        a, b = (path.evaluate(beta, derivatives) for path in self.paths)
        if a is None or b is None:
            return None, f"{where}: the four torus Pfaffians cancel beyond float64 precision"
        log_z_error = _SAFETY * abs(a[0] - b[0])
        log_z_tolerance = _LOG_Z_TOLERANCE * max(1.0, abs(a[0]))
        if not log_z_error <= log_z_tolerance:
            return None, (f"{where}: two independent float64 eliminations give log Z "
                          f"{a[0]:.12g} and {b[0]:.12g}, beyond the promised 1e-10 relative precision")
        if not derivatives:
            return (a, (log_z_error, None, None)), None
        energy_error = _SAFETY * abs(a[1] - b[1])
        heat_error = _SAFETY * beta**2 * abs(a[2] - b[2])
        if not energy_error <= _ENERGY_TOLERANCE * self.energy_scale:
            return None, (f"{where}: two independent float64 eliminations give U = {a[1]:.12g} and "
                          f"{b[1]:.12g}, beyond the promised precision 1e-8 sum|J|")
        if not heat_error <= _HEAT_TOLERANCE * self.n_sites:
            return None, (f"{where}: two independent float64 eliminations give C = "
                          f"{beta**2 * a[2]:.12g} and {beta**2 * b[2]:.12g}, beyond the promised "
                          "precision 1e-6 N")
        return ((a[0], a[1], max(a[2], 0.0)), (log_z_error, energy_error, heat_error)), None

    def ground_energy(self):
        """E₀ where it is known exactly: open lattices (matching), or an unfrustrated instance
        whose greedy reference satisfies every bond (E₀ = −Σ|J|); else None."""
        if not self.periodic:
            return planar_ground_state(self.model)[0]
        if np.all(self.paths[0].J_gauged >= 0):
            return -float(np.sum(np.abs(self.J)))
        return None


def pfaffian_moments(model, betas, log_z_only: bool = False) -> Moments:
    """log Z, ⟨H⟩ and Var(H) of an Lx × Ly square-lattice Ising model with h = 0, certified.

    ``log_z_only``: log Z alone (energy and variance None), without the
    β-derivatives — about a third of the work.

    Every β is evaluated by two independent float64 eliminations (the lattice
    and its 180° rotation); a result is returned only where 10× their
    discrepancy is within |δ log Z| ≤ 1e−10·|log Z|, |δU| ≤ 1e−8·Σ|J|,
    |δC| ≤ 1e−6·N. Past the first β that fails, commensurate couplings (±J)
    with a known E₀ (open lattices: matching) continue with the ground-state
    asymptote log Z(β₁) − (β − β₁)E₀, U = E₀, C = 0, where its rigorous error
    bound −ln(1 − (U(β₁) − E₀)/Δ) (gap Δ = 2 min|J|) meets the same
    tolerances; anything else raises a FloatingPointError that names the β
    where precision ends. ⟨M⟩ = 0 by the spin-flip symmetry.
    """
    betas = np.asarray(betas, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(betas)) or np.any(betas < 0):
        raise ValueError(f"pfaffian needs finite beta >= 0, got {betas}")
    n_betas = len(np.unique(betas))
    check_time(n_betas * _seconds_per_beta(model, log_z_only),
               f"method 'pfaffian' on {model!r} at {n_betas} beta(s)",
               "pass fewer betas, a smaller lattice, periodic=False (about 3x faster), or method='kaufman' "
               "for uniform J")
    certifier = _Certifier(model, log_z_only)
    results: dict[float, tuple] = {}
    last_good, failure = None, None
    for beta in np.unique(betas).tolist():
        result, reason = certifier.evaluate(beta, not log_z_only)
        if result is None:
            failure = (beta, reason)
            break
        results[beta] = result[0]
        last_good = beta
    far = np.array([beta not in results for beta in betas.tolist()], dtype=bool)
    log_z, energy, variance = (np.empty(len(betas)) for _ in range(3))
    if np.any(far):
        asymptote = _asymptote(certifier, betas[far], last_good, failure)
        log_z[far], energy[far], variance[far] = asymptote
    near = ~far
    log_z[near] = [results[beta][0] for beta in betas[near].tolist()]
    if log_z_only:
        return Moments(log_z, None, None)
    energy[near] = [results[beta][1] for beta in betas[near].tolist()]
    variance[near] = [results[beta][2] for beta in betas[near].tolist()]
    return Moments(log_z, energy, variance, magnetization=np.zeros(len(betas)))


def _asymptote(certifier, far_betas, last_good, failure):
    """log Z, U, Var(H) at the β's past direct precision from the ground-state asymptote, or raise.

    For β ≥ β₁, log Z(β) + βE₀ = log Σ_E g(E) e^{−β(E−E₀)} decreases from its value at
    β₁ towards log g₀, and with a gap Δ the drop is at most −ln(1 − (U(β₁) − E₀)/Δ)
    (since U − E₀ ≥ Δ·(1 − g₀e^{−βE₀}/Z)); C(β) ≤ β²(2Σ|J|)² r/(1−r) e^{−(β−β₁)Δ}
    with r = (U(β₁) − E₀)/Δ.
    """
    beta_fail, reason = failure if failure is not None else (None, None)
    quantum = _energy_quantum(certifier.J)
    ground = certifier.ground_energy() if quantum is not None else None

    good = [last_good] if last_good is not None else []

    def refuse(extra):
        ends = (f"precision ends between beta = {max(good):g} and {beta_fail:g}" if good
                else f"precision ends at or below beta = {beta_fail:g}")
        raise FloatingPointError(
            f"method='pfaffian' refuses {reason}; {ends}. {extra}Use a smaller beta"
            + (" or periodic=False" if certifier.periodic else "") + ".")

    if ground is None:
        refuse("" if quantum is None else "(no exact ground-state energy is known for this torus) ")
    unit = quantum / 2.0
    lowest = float(np.min(far_betas))
    start = -1.0 if last_good is None else last_good
    candidates = sorted(k / unit for k in _LADDER if start < k / unit < lowest)
    # the largest certified candidate, by bisection (precision falls with β)
    anchor, lo, hi = None, -1, len(candidates)
    while lo + 1 < hi:
        mid = (lo + hi) // 2
        result, _ = certifier.evaluate(candidates[mid], derivatives=True)
        if result is None:
            hi = mid
        else:
            anchor, lo = (candidates[mid], result), mid
            good.append(candidates[mid])
    if anchor is None and last_good is not None:
        result, _ = certifier.evaluate(last_good, derivatives=True)
        anchor = None if result is None else (last_good, result)
    if anchor is None:
        refuse("(and no beta with a certified U to start the ground-state asymptote from) ")
    beta1, ((log_z1, energy1, _), (log_z_error, energy_error, _)) = anchor
    excess = max(energy1 - ground, 0.0) + energy_error
    r = excess / quantum
    if r >= 0.5:
        refuse(f"(at beta = {beta1:g}, U - E0 = {energy1 - ground:.2e} is too large to continue "
               "with the ground-state asymptote) ")
    drop = -np.log1p(-r) + log_z_error
    log_z = log_z1 - (far_betas - beta1) * ground
    heat_bound = (far_betas**2 * (2.0 * certifier.energy_scale)**2 * r / (1.0 - r)
                  * np.exp(-(far_betas - beta1) * quantum))
    ok = ((drop <= _LOG_Z_TOLERANCE * np.maximum(1.0, np.abs(log_z)))
          & (excess <= _ENERGY_TOLERANCE * certifier.energy_scale)
          & (certifier.log_z_only | (heat_bound <= _HEAT_TOLERANCE * certifier.n_sites)))
    if not np.all(ok):
        bad = float(far_betas[~ok].min())
        refuse(f"(the ground-state asymptote from beta = {beta1:g} is not certified at beta = "
               f"{bad:g}: log Z bound {drop:.1e}, U bound {excess:.1e}) ")
    return log_z, np.full(len(far_betas), ground), np.zeros(len(far_betas))


# ------------------------------------------------------------------ registry
def _why_not(model, options) -> str | None:
    if options:
        return f"it takes no options (got {', '.join(sorted(options))})"
    if model.lattice.kind != "square":
        return (f"needs a 2D square lattice (this model is a {model.lattice.kind}); "
                "use method='transfer' or 'enumerate'")
    if model.has_field:
        return "the Pfaffian method needs h = 0; use method='transfer' for strips with a field"
    Lx, Ly = model.lattice.shape
    if min(Lx, Ly) < 2:
        return f"needs Lx, Ly >= 2 (this lattice is {Lx}x{Ly}); use method='transfer' for a chain"
    expected = 2 * Lx * Ly if model.lattice.periodic else (Lx - 1) * Ly + Lx * (Ly - 1)
    if model.n_edges != expected:
        return f"needs the {expected} bonds of Ising.square (this model has {model.n_edges})"
    return None


#: Seconds per site and β of an open lattice, and per site, β and unit of min(Lx, Ly): both
#: eliminations with their β-derivatives (fit to L x L = 16..128: 0.13 s to 11.7 s; shared 2-core machine).
_SECONDS_PER_SITE = 4.5e-4
_SECONDS_PER_SITE_AND_WIDTH = 2.25e-6
#: The torus (four Pfaffians per path) over the open lattice (measured 2.8 to 3.2 at L = 32..96).
_TORUS_FACTOR = 3.3
#: log Z alone (no β-derivatives) over the moments (measured 0.63 to 0.72).
_LOG_Z_ONLY_FACTOR = 0.7


def _seconds_per_beta(model, log_z_only: bool = False) -> float:
    """Rough seconds per β: N·(4.5e-4 + 2.25e-6·min(Lx, Ly)) on an open lattice, ×3.3 on a
    torus, ×0.7 for log Z alone."""
    Lx, Ly = model.lattice.shape
    seconds = Lx * Ly * (_SECONDS_PER_SITE + _SECONDS_PER_SITE_AND_WIDTH * min(Lx, Ly))
    if model.lattice.periodic:
        seconds *= _TORUS_FACTOR
    return seconds * (_LOG_Z_ONLY_FACTOR if log_z_only else 1.0)


def _cost(model, options) -> float:
    """Seconds per β of the moments (:func:`_seconds_per_beta`); inf on a model it does not take."""
    if model.lattice.kind != "square":
        return np.inf
    return _seconds_per_beta(model)


def _moments(model, betas, **options) -> Moments:
    return pfaffian_moments(model, betas)


def _log_z_moments(model, betas, **options) -> Moments:
    return pfaffian_moments(model, betas, log_z_only=True)


# Registered by statmech._registry (this module does not import the registry).
METHODS: list[Method] = []
METHODS.append(Method(name="pfaffian", exact=True, why_not=_why_not, moments=_moments,
                       log_z_moments=_log_z_moments, auto_rank=25, model_types=(Ising,), cost=_cost))


