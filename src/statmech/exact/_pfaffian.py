"""Exact log Z of 2D Ising spin glasses, open or toroidal, by Pfaffians (method ``"pfaffian"``).

Any real couplings J (±J, Gaussian, zeros) on the Lx × Ly square lattice, h = 0.

Domain walls. Pick a reference configuration s⁰ and gauge it to all-up:
J'_ij = J_ij s⁰_i s⁰_j. Every configuration s is, up to the global flip, the set
C of bonds its domain walls cross (s_i ≠ s_j), and

    H(s) = H(s⁰) + 2 Σ_{e ∈ C} J'_e,    Z = 2 e^{−βH(s⁰)} Σ_C Π_{e∈C} y_e,   y_e = e^{−2βJ'_e},

where C runs over the *even subgraphs* of the dual lattice (every plaquette
touches an even number of walls). Open boundaries: all of them. Torus: only
those crossing every row and every column of bonds an even number of times
(Kramers & Wannier 1941; Barahona 1982, J. Phys. A 15, 3241).

Dimers. Each plaquette becomes a six-node "city" (two triangles n-w-l₁ and
s-e-l₂ joined by l₁–l₂): for every even set of its four sides used by C there
is exactly one dimer covering of the rest. A dual edge becomes a dimer
between two cities with weight y_e. With open boundaries the outer face is a
ring of four-node cities (one per boundary bond, edges c–t_prev, c–t_next,
c–t_ext, t_prev–t_ext) closed into a cycle, which doubles the count. Even
subgraphs are then perfect matchings and, with a Kasteleyn (Pfaffian)
orientation of the planar decorated graph — every face has an odd number of
clockwise edges — Σ_matchings = |Pf A| (Kasteleyn 1963; Fisher 1966; Thomas
& Middleton, Phys. Rev. E 80, 046708 (2009) for spin glasses):

    open:   Z = e^{−βH(s⁰)} Pf A,
    torus:  Z = 2 e^{−βH(s⁰)} · ¼ σ₀ Σ_{b ∈ {0,1}²} Pf A_b,

where A_b negates the dual edges crossing the x-wrap (b_x) and y-wrap (b_y)
bonds, and σ₀ is the sign of the reference matching (C = ∅). Twisting shifts
the sign of a homology class h by (−1)^{b·h}, so the average over b keeps
exactly the walls with even crossings (Kasteleyn 1961; Galluccio & Loebl
1999). The orientation is a fixed local rule, checked face by face in the
tests.

Cost. Nodes are numbered city by city, row by row, and eliminated one city
at a time (block Gaussian elimination / a fermionic transfer matrix): the
Schur complement on the "frontier" (terminals of cities not yet eliminated
that touch eliminated ones: ~Lx nodes open, ~2Lx torus) is updated with a
rank-6 correction, Pf A = Π_k Pf(B_k) over the 6×6 (or 4×4) pivot blocks.
That is O(N Lx²) work and O(Lx²) memory. The planar pivot blocks are ratios
of positive partition functions, so no pivoting across cities is needed.
Every matrix carries its first two β-derivatives (a Taylor jet), so
U = −∂ log Z/∂β and Var(H) = ∂² log Z/∂β² are exact:

    ∂ log Pf B = ½ tr(B⁻¹ ∂B),   ∂² log Pf B = ½ tr(B⁻¹ ∂²B) − ½ tr(B⁻¹ ∂B B⁻¹ ∂B).

Numerics. Weights y_e > 1 only on bonds the reference leaves unsatisfied,
so s⁰ is a zero-temperature greedy descent from all-up. Above
β_max = 300 / (2 max |J'| on those bonds) the weights would overflow and log Z
is continued from β_max with the ground-state asymptote
log Z(β) = log Z(β_max) − (β − β_max) E₀ (E₀ = ⟨H⟩ at β_max, Var(H) = 0),
exact once β_max · gap ≫ 1 (±J couplings: always). On the torus the sum of
four Pfaffians cancels when walls that wrap the torus carry most of the
weight (a spin glass deep in its low-temperature phase); the estimated
relative error eps · Σ|Pf_b| / |Σ Pf_b| is reported in a UserWarning when it
exceeds 1e−9.
"""
from __future__ import annotations

import dataclasses
import functools
import itertools
import warnings

import numpy as np

from statmech.models import Ising
from statmech.thermo import Method, Moments, register_method

_OVERFLOW_EXPONENT = 300.0
"""Largest 2β|J'| allowed in a dimer weight y = e^{2β|J'|} (float64 holds e^{709})."""

_CANCELLATION_WARNING = 1e-9
"""Estimated relative error of the torus four-Pfaffian sum above which a warning is issued."""

# ------------------------------------------------------------------ geometry
# Plaquette city: nodes in elimination order, and its internal edges oriented
# tail -> head (a Kasteleyn orientation, found once and checked on every face).
_CITY = ("n", "w", "l1", "l2", "e", "s")
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
    is 1 for dual edges crossing an x-wrap bond, 2 for a y-wrap bond, else 0.
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


@functools.lru_cache(maxsize=16)
def _decoration(Lx: int, Ly: int, periodic: bool) -> _Decoration:
    """Build the decorated lattice: cities, oriented edges, bonds crossed, seams."""
    sizes: list[int] = []
    tails: list[int] = []
    heads: list[int] = []
    bonds: list[int] = []
    seams: list[int] = []
    counter = [0]

    def new_city(names):
        start = counter[0]
        counter[0] += len(names)
        sizes.append(len(names))
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
        nodes = new_city(_CITY)
        cities[x, y] = nodes
        for a, b in _CITY_EDGES:
            add(nodes[a], nodes[b])

    def ring_city(side, k):
        nodes = new_city(_RING)
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
                       np.array(seams, dtype=np.int8), city_start, city_size, float(sign))


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


class _Frontal:
    """Parlett–Reid elimination of a sparse skew matrix with partial pivoting, column by column.

    Only the *active* nodes (touched so far) live in a dense matrix S (with
    its two β-derivatives S′, S″), one slot each. Columns are eliminated in
    node order; the partner of column k is chosen among all active nodes by
    threshold partial pivoting, and a partner whose neighbours are not all
    active yet gets them activated first (its column must be complete). A pair
    (k, j) with a = S[k, j] contributes the Pf factor a and the rank-2 update
    S += u vᵀ − v uᵀ, u = S[:, j]/a, v = S[:, k]; updates are kept pending and
    applied in blocks of ``_PENDING`` (one matrix product).
    """

    def __init__(self, decoration: _Decoration, weights):
        self.weights = weights  # (3, E): edge weights and their two β-derivatives
        tail, head = decoration.tail, decoration.head
        n = decoration.n_nodes
        both = np.concatenate([tail, head])
        order = np.argsort(both, kind="stable")
        self.neighbour = np.concatenate([head, tail])[order]
        edge = np.concatenate([np.arange(len(tail))] * 2)[order]
        orientation = np.concatenate([np.ones(len(tail)), -np.ones(len(tail))])[order]
        self.entry = weights[:, edge] * orientation  # A[node, neighbour] for each CSR position
        self.start = np.searchsorted(both[order], np.arange(n + 1))
        self.status = np.zeros(n, dtype=np.int8)             # 0 inactive, 1 active, 2 eliminated
        self.missing = np.diff(self.start).astype(np.int64)  # neighbours not yet active
        self.slot = np.full(n, -1, dtype=np.int64)
        self.capacity = 0
        self.free: list[int] = []
        self.active = np.zeros(0, bool)
        self.ready = np.zeros(0, bool)
        self.node_of = np.zeros(0, np.int64)
        self.S = np.zeros((3, 0, 0))
        self.U = np.zeros((3, _PENDING, 0))
        self.V = np.zeros((3, _PENDING, 0))
        self._grow((2 if decoration.periodic else 1) * decoration.Lx + 32)
        self.pending = 0
        self.sequence: list[int] = []
        self.log_abs = 0.0
        self.sign = 1.0
        self.d1 = 0.0
        self.d2 = 0.0

    def _grow(self, capacity):
        old = self.capacity
        S = np.zeros((3, capacity, capacity))
        S[:, :old, :old] = self.S
        U = np.zeros((3, _PENDING, capacity))
        V = np.zeros((3, _PENDING, capacity))
        U[:, :, :old], V[:, :, :old] = self.U, self.V
        self.S, self.U, self.V = S, U, V
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
            U, V = self.U[:, :r], self.V[:, :r]
            u, v = U[:, :, slot], V[:, :, slot]  # (3, r)
            # d^n/dβ^n of Σ_p (u_p v_p[slot] − v_p u_p[slot]), by Leibniz.
            c[0] += v[0] @ U[0] - u[0] @ V[0]
            c[1] += v[0] @ U[1] + v[1] @ U[0] - u[0] @ V[1] - u[1] @ V[0]
            c[2] += (v[0] @ U[2] + 2.0 * (v[1] @ U[1]) + v[2] @ U[0]
                     - u[0] @ V[2] - 2.0 * (u[1] @ V[1]) - u[2] @ V[0])
        return c

    def _flush(self):
        r = self.pending
        if not r:
            return
        U, V = self.U[:, :r], self.V[:, :r]
        products = (U[0].T @ V[0],
                    np.concatenate([U[1], U[0]]).T @ np.concatenate([V[0], V[1]]),
                    np.concatenate([U[2], 2.0 * U[1], U[0]]).T @ np.concatenate([V[0], V[1], V[2]]))
        for S, M in zip(self.S, products):
            S += M
            S -= M.T
        self.U[:, :r] = 0.0
        self.V[:, :r] = 0.0
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
            self._make_ready(j)
            c = self._column(sk)
        d = self._column(sj)
        a0, a1, a2 = -c[:, sj]  # a = S[k, j] = −S[j, k]
        self.log_abs += np.log(abs(a0))
        self.sign *= np.sign(a0)
        g1 = a1 / a0
        self.d1 += g1
        self.d2 += a2 / a0 - g1 * g1
        if self.pending == _PENDING:
            self._flush()
        r = self.pending
        u = self.U[:, r]
        u[0] = d[0] / a0
        u[1] = (d[1] - u[0] * a1) / a0
        u[2] = (d[2] - 2.0 * u[1] * a1 - u[0] * a2) / a0
        self.V[:, r] = c
        self.pending += 1
        for slot, node in ((sk, k), (sj, j)):
            self.S[:, slot, :] = 0.0
            self.S[:, :, slot] = 0.0
            self.U[:, :, slot] = 0.0
            self.V[:, :, slot] = 0.0
            self.status[node] = 2
            self.active[slot] = False
            self.ready[slot] = False
            self.node_of[slot] = -1
            self.slot[node] = -1
            self.free.append(slot)
        self.sequence += [k, j]

    def run(self):
        """log|Pf|, sign(Pf) in node order, ∂ log|Pf|/∂β and ∂² log|Pf|/∂β².

        An exactly singular matrix (a twisted torus Pfaffian can vanish) gives log|Pf| = −inf.
        """
        try:
            for k in range(len(self.status)):
                if self.status[k] != 2:
                    self._eliminate(k)
        except _Singular:
            return -np.inf, 0.0, 0.0, 0.0
        return self.log_abs, self.sign * _permutation_sign(self.sequence), self.d1, self.d2


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


def _sweep(decoration: _Decoration, weights):
    """Pf of the decorated matrix for edge weights (3, E) = (w, ∂w/∂β, ∂²w/∂β²).

    Returns log|Pf|, sign(Pf) (node order), ∂ log|Pf|/∂β and ∂² log|Pf|/∂β².
    """
    return _Frontal(decoration, weights).run()


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
def _pfaffian_jets(decoration, J, betas):
    """log Z + βH(s⁰), its first and second β-derivatives, and the torus cancellation estimate.

    ``J`` are the gauged couplings J' (so that H(s⁰) = −Σ J'). Open: log Pf A.
    Torus: log(2 · ¼ σ₀ Σ_b Pf A_b).
    """
    twists = [(0, 0), (1, 0), (0, 1), (1, 1)] if decoration.periodic else [(0, 0)]
    n_twists = len(twists)
    bond = decoration.bond
    dual = bond >= 0
    coupling = np.where(dual, J[np.maximum(bond, 0)], 0.0)
    twist_sign = np.ones((n_twists, len(bond)))
    for k, (bx, by) in enumerate(twists):
        twist_sign[k, (decoration.seam == 1) & bool(bx)] = -1.0
        twist_sign[k, (decoration.seam == 2) & bool(by)] = -1.0
    value = np.empty(len(betas))
    first = np.empty(len(betas))
    second = np.empty(len(betas))
    error = np.zeros(len(betas))
    for index, beta in enumerate(betas):
        y0 = np.where(dual, np.exp(-2.0 * beta * coupling), 1.0)
        weights = np.stack([y0, np.where(dual, -2.0 * coupling * y0, 0.0),
                            np.where(dual, 4.0 * coupling**2 * y0, 0.0)])
        log_abs, sign, d1, d2 = (np.array(r)[None] for r in zip(
            *(_sweep(decoration, weights * twist) for twist in twist_sign)))
        part = slice(index, index + 1)
        if not decoration.periodic:
            value[part], first[part], second[part] = log_abs[:, 0], d1[:, 0], d2[:, 0]
            continue
        shift = log_abs.max(axis=1, keepdims=True)
        terms = decoration.reference_sign * sign * np.exp(log_abs - shift)
        d1, d2 = np.where(sign != 0, d1, 0.0), np.where(sign != 0, d2, 0.0)
        total = terms.sum(axis=1)
        if np.any(total <= 0):
            raise FloatingPointError(
                "the four torus Pfaffians cancelled completely (a spin glass far below its "
                "freezing temperature); use open boundaries or a smaller beta")
        total1 = np.sum(terms * d1, axis=1)
        total2 = np.sum(terms * (d2 + d1**2), axis=1)
        value[part] = np.log(2.0) + shift[:, 0] + np.log(total / 4.0)
        first[part] = total1 / total
        second[part] = total2 / total - first[part] ** 2
        error[part] = np.finfo(float).eps * np.sum(np.abs(terms), axis=1) / total
    return value, first, second, error


def pfaffian_moments(model, betas) -> Moments:
    """log Z, ⟨H⟩ and Var(H) of a square-lattice Ising model with h = 0 (see the module docstring)."""
    betas = np.asarray(betas, dtype=np.float64).reshape(-1)
    Lx, Ly, periodic, J = _bond_vector(model)
    decoration = _decoration(Lx, Ly, periodic)
    spins = _greedy_reference(Lx, Ly, periodic, J)
    J_gauged = _gauge(Lx, Ly, J, spins)
    reference_energy = -float(np.sum(J_gauged))
    unsatisfied = np.abs(J_gauged[J_gauged < 0])
    beta_max = _OVERFLOW_EXPONENT / (2.0 * unsatisfied.max()) if unsatisfied.size else np.inf
    direct = betas <= beta_max
    grid = np.concatenate([betas[direct], [beta_max]]) if not np.all(direct) else betas
    value, first, second, error = _pfaffian_jets(decoration, J_gauged, grid)
    log_z = -grid * reference_energy + value
    energy = reference_energy - first
    variance = second
    if np.any(error > _CANCELLATION_WARNING):
        worst = float(error.max())
        warnings.warn(
            f"periodic {Lx}x{Ly} lattice: the four-Pfaffian sum cancels, log Z is only good to "
            f"about {worst:.1e} (relative) at the lowest temperatures; open boundaries do not "
            "have this problem", UserWarning, stacklevel=3)
    out_log_z = np.empty(len(betas))
    out_energy = np.empty(len(betas))
    out_variance = np.empty(len(betas))
    n_direct = int(np.sum(direct))
    out_log_z[direct], out_energy[direct], out_variance[direct] = (
        log_z[:n_direct], energy[:n_direct], variance[:n_direct])
    if not np.all(direct):
        # Ground-state asymptote from β_max: log Z(β) = log Z(β_max) − (β − β_max) E₀.
        far = ~direct
        out_log_z[far] = log_z[-1] - (betas[far] - beta_max) * energy[-1]
        out_energy[far] = energy[-1]
        out_variance[far] = 0.0
    return Moments(out_log_z, out_energy, np.maximum(out_variance, 0.0),
                   magnetization=np.zeros(len(betas)))


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


def _moments(model, betas, **options) -> Moments:
    return pfaffian_moments(model, betas)


register_method(Method(name="pfaffian", exact=True, why_not=_why_not, moments=_moments,
                       auto_rank=25, model_types=(Ising,)))
