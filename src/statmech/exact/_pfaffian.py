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

_BATCH = 8
"""β values (times four twists on the torus) swept together."""

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


@dataclasses.dataclass(frozen=True)
class _Schedule:
    """Order of elimination (groups of whole cities) and the frontier slots it uses."""

    insert_ptr: np.ndarray      # edges inserted before eliminating group k: [ptr[k], ptr[k+1])
    insert_tail: np.ndarray     # their frontier slots (tail, head) and edge index
    insert_head: np.ndarray
    insert_edge: np.ndarray
    eliminate_ptr: np.ndarray   # slots of group k: eliminate_slots[ptr[k]:ptr[k+1]]
    eliminate_slots: np.ndarray
    n_slots: int


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


def _city_groups(decoration: _Decoration, heavy: np.ndarray) -> list[list[int]]:
    """Cities joined by a ``heavy`` edge (weight e^{2β|J'|} > 1) form one elimination group.

    Eliminating such a pair of cities together lets the pivoted LU of the
    block absorb the large weight; splitting them would put it on the frontier,
    where it later cancels catastrophically. Groups are ordered by their first city.
    """
    owner = np.repeat(np.arange(len(decoration.city_size)), decoration.city_size)
    parent = np.arange(len(decoration.city_size))

    def root(city):
        while parent[city] != city:
            parent[city] = parent[parent[city]]
            city = parent[city]
        return city

    for edge in np.flatnonzero(heavy).tolist():
        a, b = root(owner[decoration.tail[edge]]), root(owner[decoration.head[edge]])
        if a != b:
            parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for city in range(len(decoration.city_size)):
        groups.setdefault(root(city), []).append(city)
    return [groups[key] for key in sorted(groups)]


def _schedule(decoration: _Decoration, groups: list[list[int]]) -> _Schedule:
    """Frontier slots: when each edge enters the dense matrix and which slots each group frees.

    Before group k is eliminated, its nodes and all their not-yet-eliminated
    neighbours are activated (given a free slot) and every edge whose ends are
    both active is inserted once.
    """
    tail, head = decoration.tail, decoration.head
    n_nodes = decoration.n_nodes
    both = np.concatenate([tail, head])
    order = np.argsort(both, kind="stable")
    ends = np.concatenate([head, tail])[order]
    edge_of = np.concatenate([np.arange(len(tail))] * 2)[order]
    starts = np.searchsorted(both[order], np.arange(n_nodes + 1))
    slot = np.full(n_nodes, -1, dtype=np.int64)
    eliminated = np.zeros(n_nodes, dtype=bool)
    inserted = np.zeros(len(tail), dtype=bool)
    free: list[int] = []
    n_slots = 0
    insert_ptr, insert_tail, insert_head, insert_edge = [0], [], [], []
    eliminate_ptr, eliminate_slots = [0], []
    for group in groups:
        members = [node for city in group
                   for node in range(decoration.city_start[city],
                                     decoration.city_start[city] + decoration.city_size[city])]
        member_set = set(members)
        activate = [node for node in members if slot[node] < 0]
        for node in members:
            for neighbour in ends[starts[node]:starts[node + 1]].tolist():
                if (slot[neighbour] < 0 and not eliminated[neighbour] and neighbour not in member_set
                        and neighbour not in activate):
                    activate.append(neighbour)
        for node in activate:
            if free:
                slot[node] = free.pop()
            else:
                slot[node] = n_slots
                n_slots += 1
        for node in activate:
            for position in range(starts[node], starts[node + 1]):
                edge = edge_of[position]
                if not inserted[edge] and slot[ends[position]] >= 0:
                    inserted[edge] = True
                    insert_tail.append(slot[tail[edge]])
                    insert_head.append(slot[head[edge]])
                    insert_edge.append(edge)
        insert_ptr.append(len(insert_edge))
        for node in members:
            eliminate_slots.append(slot[node])
            free.append(slot[node])
            slot[node] = -1
            eliminated[node] = True
        eliminate_ptr.append(len(eliminate_slots))
    as_int = functools.partial(np.array, dtype=np.int64)
    return _Schedule(as_int(insert_ptr), as_int(insert_tail), as_int(insert_head),
                     as_int(insert_edge), as_int(eliminate_ptr), as_int(eliminate_slots), n_slots)


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


def _pfaffian_sign(blocks):
    """sign(Pf) of a batch of skew blocks: explicit expansion up to 6×6, else Parlett–Reid."""
    if blocks.shape[-1] <= 6:
        return np.sign(_pfaffian_small(blocks))
    return np.array([_parlett_reid_sign(block) for block in blocks])


def _parlett_reid_sign(block):
    """sign(Pf) of one skew matrix by Parlett–Reid elimination with partial pivoting."""
    A = 0.5 * (block - block.T)
    sign = 1.0
    for k in range(0, A.shape[0] - 1, 2):
        pivot = k + 1 + int(np.argmax(np.abs(A[k + 1:, k])))
        if pivot != k + 1:
            A[[k + 1, pivot]] = A[[pivot, k + 1]]
            A[:, [k + 1, pivot]] = A[:, [pivot, k + 1]]
            sign = -sign
        if A[k + 1, k] == 0.0:
            return 0.0
        sign *= np.sign(A[k, k + 1])
        if k + 2 < A.shape[0]:
            tau = A[k, k + 2:] / A[k, k + 1]
            A[k + 2:, k + 2:] += np.outer(tau, A[k + 2:, k + 1]) - np.outer(A[k + 2:, k + 1], tau)
    return sign


# -------------------------------------------------------------------- sweep
def _sweep(schedule: _Schedule, w0, w1, w2):
    """Pf of the decorated matrix with edge weights w0 (batch, E) and their β-jets w1, w2.

    Returns log|Pf|, sign(Pf), ∂ log|Pf|/∂β and ∂² log|Pf|/∂β², each of shape (batch,).
    """
    batch = w0.shape[0]
    K = schedule.n_slots
    S0 = np.zeros((batch, K, K))
    S1 = np.zeros((batch, K, K))
    S2 = np.zeros((batch, K, K))
    log_abs = np.zeros(batch)
    sign = np.ones(batch)
    d1 = np.zeros(batch)
    d2 = np.zeros(batch)
    jets = (S0, S1, S2), (w0, w1, w2)
    ins_ptr, ins_t, ins_h, ins_e = (schedule.insert_ptr, schedule.insert_tail,
                                    schedule.insert_head, schedule.insert_edge)
    el_ptr, el_slots = schedule.eliminate_ptr, schedule.eliminate_slots
    for k in range(len(el_ptr) - 1):
        a, b = ins_ptr[k], ins_ptr[k + 1]
        t, h, e = ins_t[a:b], ins_h[a:b], ins_e[a:b]
        for S, w in zip(*jets):
            values = w[:, e]
            S[:, t, h] += values
            S[:, h, t] -= values
        slots = el_slots[el_ptr[k]:el_ptr[k + 1]]
        B0, B1, B2 = (S[:, slots[:, None], slots[None, :]] for S in (S0, S1, S2))
        X0, X1, X2 = S0[:, :, slots], S1[:, :, slots], S2[:, :, slots]
        Y0 = np.linalg.inv(B0)
        YB1 = Y0 @ B1
        Y1 = -YB1 @ Y0
        Y2 = -(Y0 @ B2) @ Y0 + 2.0 * YB1 @ YB1 @ Y0
        _, log_det = np.linalg.slogdet(B0)
        log_abs += 0.5 * log_det
        sign *= _pfaffian_sign(B0)
        d1 += 0.5 * np.trace(YB1, axis1=1, axis2=2)
        d2 += 0.5 * (np.einsum("bij,bji->b", Y0, B2) - np.einsum("bij,bji->b", YB1, YB1))
        # S ← S + X B⁻¹ Xᵀ (the Schur complement S_RR − S_RG B⁻¹ S_GR with S_GR = −Xᵀ).
        P0 = X0 @ Y0
        P1 = X1 @ Y0 + X0 @ Y1
        P2 = X2 @ Y0 + 2.0 * X1 @ Y1 + X0 @ Y2
        X0t, X1t, X2t = (np.swapaxes(X, 1, 2) for X in (X0, X1, X2))
        for S, M in ((S0, P0 @ X0t),
                     (S1, np.concatenate([P1, P0], axis=2) @ np.concatenate([X0t, X1t], axis=1)),
                     (S2, np.concatenate([P2, 2.0 * P1, P0], axis=2)
                      @ np.concatenate([X0t, X1t, X2t], axis=1))):
            M -= np.swapaxes(M, 1, 2)  # skew by construction, and kept exactly skew
            M *= 0.5
            S += M
        for S in (S0, S1, S2):
            S[:, slots, :] = 0.0
            S[:, :, slots] = 0.0
    return log_abs, sign, d1, d2


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
    schedule = _schedule(decoration, _city_groups(decoration, dual & (coupling < 0)))
    value = np.empty(len(betas))
    first = np.empty(len(betas))
    second = np.empty(len(betas))
    error = np.zeros(len(betas))
    for start in range(0, len(betas), _BATCH):
        chunk = betas[start:start + _BATCH]
        exponent = -2.0 * chunk[:, None] * coupling[None, :]
        y0 = np.where(dual, np.exp(exponent), 1.0)
        y1 = np.where(dual, -2.0 * coupling * y0, 0.0)
        y2 = np.where(dual, 4.0 * coupling**2 * y0, 0.0)
        w0, w1, w2 = ((y[:, None, :] * twist_sign[None]).reshape(-1, len(bond)) for y in (y0, y1, y2))
        log_abs, sign, d1, d2 = (r.reshape(len(chunk), n_twists) for r in _sweep(schedule, w0, w1, w2))
        part = slice(start, start + len(chunk))
        if not decoration.periodic:
            value[part], first[part], second[part] = log_abs[:, 0], d1[:, 0], d2[:, 0]
            continue
        shift = log_abs.max(axis=1, keepdims=True)
        terms = decoration.reference_sign * sign * np.exp(log_abs - shift)
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
