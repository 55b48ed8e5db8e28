"""Numba (CPU) Wolff and Swendsen–Wang updates for ferromagnetic Ising models.

Same Markov chains as the JAX kernels of :mod:`statmech.mc._cluster`, on the
same models (J_e ≥ 0 on any graph, chains, square and cubic lattices
included; any field through the ghost spin), as serial CPU loops:

* **Wolff** grows only the seed's cluster with an explicit stack; a satisfied
  bond opens with p = 1 − exp(−2βJ); an opened ghost bond vetoes the flip.
  U. Wolff, Phys. Rev. Lett. 62, 361 (1989).
* **Swendsen–Wang** joins the ends of every opened bond with union-find
  (path halving, the larger root under the smaller, one labelling pass in
  index order: J. Hoshen and R. Kopelman, Phys. Rev. B 14, 3438 (1976)); each
  cluster not joined to the ghost flips with probability ½.
  R. H. Swendsen and J.-S. Wang, Phys. Rev. Lett. 58, 86 (1987).

Random numbers are counter based (splitmix64 of key + k·γ, the key a hash
of seed, stream and chain), so a seed's result does not depend on the number
of chains or threads. The energy bookkeeping, the lattice fast paths and
measured speeds are in docs/guides/monte_carlo.md (Cluster backends).
"""
from __future__ import annotations

import dataclasses

import numba as nb
import numpy as np

from statmech._validation import as_beta_array, check_positive_int, check_seed
from statmech.mc import _cluster
from statmech.mc._cluster import check_ferromagnetic

U64 = np.uint64
GAMMA = U64(0x9E3779B97F4A7C15)
MASK64 = (1 << 64) - 1
METHODS = ("wolff", "swendsen-wang")
BUFFER = 64  # bond draws are hashed 64 at a time into a buffer
STARTS = ("random", "up")


# ------------------------------------------------------------------- random numbers
@nb.njit(inline="always")
def _mix64(z):
    """splitmix64 finaliser (Stafford's Mix13): a bijection of 64-bit words."""
    z = (z ^ (z >> U64(30))) * U64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> U64(27))) * U64(0x94D049BB133111EB)
    return z ^ (z >> U64(31))


@nb.njit(inline="always")
def _draw(key, counter):
    """Draw number ``counter`` of stream ``key``: mix64(key + counter·γ)."""
    return _mix64(key + counter * GAMMA)


def _mix64_int(z: int) -> int:
    z &= MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def stream_key(seed: int, chain: int, stream: int = 0) -> int:
    """64-bit key of chain ``chain`` in stream ``stream`` (e.g. the index of β in a grid) of ``seed``."""
    key = _mix64_int(int(seed) * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019)
    key = _mix64_int(key ^ _mix64_int(int(stream) + 0x8CB92BA72F3D8DD7))
    return _mix64_int(key ^ _mix64_int(int(chain) + 0xD1B54A32D192ED03))


@nb.njit(cache=True)
def random_words(key, start, n):
    """Draws start, …, start + n − 1 of stream ``key`` (uint64), for testing the generator."""
    out = np.empty(n, np.uint64)
    for k in range(n):
        out[k] = _draw(U64(key), U64(start + k))
    return out


# --------------------------------------------------------------------- union-find
@nb.njit(cache=True)
def _find(parent, x):
    """Root of x (parent[r] = r), halving the path on the way (parent[x] ← parent[parent[x]])."""
    while parent[x] != x:
        up = parent[parent[x]]
        parent[x] = up
        x = up
    return x


@nb.njit(cache=True)
def _union(parent, a, b):
    """Join the sets of a and b: the larger root goes under the smaller, so every pointer goes to a smaller
    index and the root of a set is its smallest node. (A plain njit helper costs nothing per call here.)"""
    ra = _find(parent, a)
    rb = _find(parent, b)
    if ra < rb:
        parent[rb] = ra
    else:
        parent[ra] = rb


@nb.njit(cache=True)
def _resolve(parent, n):
    """Point every node 0..n−1 at its root in one pass in index order (pointers go to smaller indices)."""
    for x in range(n):
        parent[x] = parent[parent[x]]


@nb.njit(cache=True)
def union_find_labels(n, sources, targets, active):
    """Label nodes 0..n−1 by the smallest node of their component over the ``active`` edges."""
    parent = np.arange(n, dtype=np.int64)
    for e in range(sources.shape[0]):
        if active[e]:
            _union(parent, sources[e], targets[e])
    _resolve(parent, n)
    return parent


@nb.njit(cache=True)
def _next_word(key, counter, buffer, position):
    """The next bond draw from the buffer, refilled 64 hashes at a time (a tight loop, off the branchy path).

    Returns (word, counter, position)."""
    if position == BUFFER:
        for q in range(BUFFER):
            buffer[q] = _draw(key, counter + U64(q + 1))
        counter += U64(BUFFER)
        position = 0
    return buffer[position], counter, position + 1


# ----------------------------------------------------------------------- kernels
@nb.njit(inline="always")
def _lattice_neighbor(d, i, x, r, lx, plane, n, periodic):
    """Neighbour j of site i in direction d (+x, −x, +y, −y, +z, −z), the site b whose bond it is, and
    whether it exists. x = i mod Lx, r = i mod (Lx·Ly)."""
    if d == 0:
        inner = x < lx - 1
        j = i + 1 if inner else i + 1 - lx
        return j, i, inner or periodic
    if d == 1:
        inner = x > 0
        j = i - 1 if inner else i - 1 + lx
        return j, j, inner or periodic
    if d == 2:
        inner = r < plane - lx
        j = i + lx if inner else i + lx - plane
        return j, i, inner or periodic
    if d == 3:
        inner = r >= lx
        j = i - lx if inner else i - lx + plane
        return j, j, inner or periodic
    if d == 4:
        inner = i < n - plane
        j = i + plane if inner else i + plane - n
        return j, i, inner or periodic
    inner = i >= plane
    j = i - plane if inner else i - plane + n
    return j, j, inner or periodic


@nb.njit(cache=True)
def _wolff_step(s, lattice, geometry, indptr, neighbors, thresholds, weights, threshold0, weight0, field,
                ghost_thresholds, has_field, key, counter, buffer, position, stack, members):
    """One Wolff cluster flip in place. Returns (counter, buffer position, flipped, ΔE, ΔM).

    ``lattice``: neighbours from ``geometry`` = (Lx, Ly, Lz, ndim, periodic,
    uniform), bond (axis a, site b) with threshold ``thresholds[a, b]`` and
    J ``weights[a, b]`` (or ``threshold0``/``weight0`` when uniform);
    otherwise the adjacency ``indptr``/``neighbors`` with per-entry
    ``thresholds[0, k]``/``weights[0, k]``.

    Spin states during growth, for the seed's spin σ: σ unvisited aligned,
    2σ on the stack, −σ anti-aligned or grown (flipped when popped). Each
    time a grown site looks at a neighbour across a bond J it adds +J when
    the neighbour reads σ or 2σ and −J when it reads −σ. An inner bond is
    seen twice, once as +J (from the end grown first: the other reads σ or
    2σ) and once as −J (from the other end: this one reads −σ), so the sum
    is Σ_{boundary} J s_i s_j before the flip. Only a veto by the ghost needs
    the list of members (kept when there is a field), to restore σ.
    """
    n = s.shape[0]
    lx = geometry[0]
    plane = geometry[0] * geometry[1]
    n_dirs = 2 * geometry[3]
    periodic = geometry[4] != 0
    uniform = geometry[5] != 0
    counter += U64(1)
    seed = np.int64((_draw(key, counter) >> U64(11)) % U64(n))
    sigma = s[seed]
    pushed = np.int8(2 * sigma)
    flipped = np.int8(-sigma)
    s[seed] = pushed
    stack[0] = seed
    members[0] = seed
    top = 1
    count = 1
    boundary = 0.0  # Σ_{boundary} J s_i s_j before the flip
    n_boundary = 0  # uniform couplings: Σ_{boundary} s_i s_j, an integer (no chain of float additions)
    field_sum = 0.0  # Σ_{i∈C} h_i
    vetoed = False
    while top > 0:
        top -= 1
        i = np.int64(stack[top])
        s[i] = flipped
        if has_field:
            hi = field[i]
            field_sum += hi
            if hi * sigma > 0:
                counter += U64(1)
                if (_draw(key, counter) >> U64(11)) < ghost_thresholds[i]:
                    vetoed = True
                    break
        if lattice:
            x = i % lx
            r = i % plane if n_dirs == 6 else i
            for d in range(n_dirs):
                j, b, exists = _lattice_neighbor(d, i, x, r, lx, plane, n, periodic)
                if exists:
                    if uniform:
                        threshold = threshold0
                    else:
                        threshold = thresholds[d >> 1, b]
                    # one draw per neighbour and one branch (open or not): the outcome of a random
                    # test cannot be predicted, so fewer branches beat fewer draws. Written out (no
                    # array-passing helper: that would cost reference counting per neighbour).
                    v = s[j]
                    if position == BUFFER:  # refill: hashes in a tight loop, off the branchy path
                        for q in range(BUFFER):
                            buffer[q] = _draw(key, counter + U64(q + 1))
                        counter += U64(BUFFER)
                        position = 0
                    word = buffer[position]
                    position += 1
                    if uniform:
                        n_boundary += 1 - 2 * np.int64(v == flipped)
                    else:
                        boundary += weights[d >> 1, b] * (1 - 2 * np.int64(v == flipped))
                    if (v == sigma) & ((word >> U64(11)) < threshold):
                        s[j] = pushed
                        stack[top] = j
                        top += 1
                        if has_field:
                            members[count] = j
                        count += 1
        else:
            for k in range(indptr[i], indptr[i + 1]):
                weight = weights[0, k]
                j = neighbors[k]
                v = s[j]
                if position == BUFFER:  # refill: hashes in a tight loop, off the branchy path
                    for q in range(BUFFER):
                        buffer[q] = _draw(key, counter + U64(q + 1))
                    counter += U64(BUFFER)
                    position = 0
                word = buffer[position]
                position += 1
                boundary += weight * (1 - 2 * np.int64(v == flipped))
                if (v == sigma) & ((word >> U64(11)) < thresholds[0, k]):
                    s[j] = pushed
                    stack[top] = j
                    top += 1
                    if has_field:
                        members[count] = j
                    count += 1
    if vetoed:
        for m in range(count):
            s[members[m]] = sigma
        return counter, position, 0, 0.0, 0
    boundary += weight0 * n_boundary
    return counter, position, count, 2.0 * boundary + 2.0 * sigma * field_sum, -2 * np.int64(sigma) * count


@nb.njit(cache=True)
def _sw_step(s, lattice, geometry, sources, targets, thresholds, weights, threshold0, weight0, field,
             ghost_thresholds, has_field, key, counter, buffer, position, parent, coins):
    """One Swendsen–Wang update in place.

    Bonds as in :func:`_wolff_step` (lattice: each site's +x, +y, +z bonds;
    otherwise the bond list ``sources``/``targets`` with ``thresholds[0, e]``).
    ``parent`` has N + 1 entries (node N is the ghost). Returns (counter,
    buffer position, flipped, Σ J over satisfied bonds *before* the update,
    M after, Σ h_i s_i after).

    On a lattice each row's x bonds are drawn first, while its sites are still
    singletons: a site joins the run of its left neighbour without a branch
    (parent = start of the run). The y bonds to the row before are then
    joined by union-find; the wrap-around and z bonds follow in one loop.
    """
    n = s.shape[0]
    parent[n] = n  # the ghost
    satisfied = 0.0
    n_same = 0  # uniform couplings: an integer count, no chain of float additions through the loop
    if lattice:
        lx, ly, lz = geometry[0], geometry[1], geometry[2]
        plane = lx * ly
        n_axes = geometry[3]
        periodic = geometry[4] != 0
        uniform = geometry[5] != 0
        i = 0
        for z in range(lz):
            for y in range(ly):
                row = i
                parent[i] = i
                start = i
                for x in range(1, lx):  # the x bond of site i − 1 (inner bonds only)
                    if position == BUFFER:  # refill: hashes in a tight loop, off the branchy path (written out: the
                        for q in range(BUFFER):  # helper _next_word costs 15 % here)
                            buffer[q] = _draw(key, counter + U64(q + 1))
                        counter += U64(BUFFER)
                        position = 0
                    word = buffer[position]
                    position += 1
                    i += 1
                    same = s[i - 1] == s[i]
                    if uniform:
                        threshold = threshold0
                        n_same += same
                    else:
                        threshold = thresholds[0, i - 1]
                        satisfied += weights[0, i - 1] * same
                    joined = same & ((word >> U64(11)) < threshold)
                    start = start if joined else i
                    parent[i] = start
                i += 1
                if n_axes >= 2 and y > 0:  # the y bonds from the row before (inner bonds only)
                    for b in range(row, row + lx):
                        if position == BUFFER:  # refill: hashes in a tight loop, off the branchy path (written out: the
                            for q in range(BUFFER):  # helper _next_word costs 15 % here)
                                buffer[q] = _draw(key, counter + U64(q + 1))
                            counter += U64(BUFFER)
                            position = 0
                        word = buffer[position]
                        position += 1
                        a = b - lx
                        same = s[a] == s[b]
                        if uniform:
                            threshold = threshold0
                            n_same += same
                        else:
                            threshold = thresholds[1, a]
                            satisfied += weights[1, a] * same
                        if same & ((word >> U64(11)) < threshold):
                            _union(parent, a, b)
        # the rest: wrap-around x and y bonds (periodic), z bonds
        for axis in range(n_axes):
            if axis == 0:
                count = n // lx if periodic else 0
            elif axis == 1:
                count = lz * lx if periodic else 0
            else:
                count = n if periodic else n - plane
            for k in range(count):
                if axis == 0:
                    a = k * lx + lx - 1
                    b = a + 1 - lx
                elif axis == 1:
                    a = (k // lx) * plane + plane - lx + k % lx
                    b = a + lx - plane
                else:
                    a = k
                    b = k + plane if k < n - plane else k + plane - n
                word, counter, position = _next_word(key, counter, buffer, position)
                same = s[a] == s[b]
                if uniform:
                    threshold = threshold0
                    n_same += same
                else:
                    threshold = thresholds[axis, a]
                    satisfied += weights[axis, a] * same
                if same & ((word >> U64(11)) < threshold):
                    _union(parent, a, b)
        satisfied += weight0 * n_same
    else:
        for x in range(n):
            parent[x] = x
        for e in range(sources.shape[0]):  # one draw per bond, one branch (see _wolff_step)
            word, counter, position = _next_word(key, counter, buffer, position)
            a = sources[e]
            b = targets[e]
            same = s[a] == s[b]
            satisfied += weights[0, e] * same
            if same & ((word >> U64(11)) < thresholds[0, e]):
                _union(parent, a, b)
    if has_field:
        for i in range(n):
            if field[i] * s[i] > 0:
                counter += U64(1)
                if (_draw(key, counter) >> U64(11)) < ghost_thresholds[i]:
                    _union(parent, i, n)
    for w in range(coins.shape[0]):
        counter += U64(1)
        coins[w] = _draw(key, counter)
    ghost = _find(parent, n)
    flipped = 0
    magnetization = 0
    field_term = 0.0
    for x in range(n):
        r = parent[parent[x]]  # parent[x] < x already points at its root: one pass resolves every site
        parent[x] = r
        flip = np.int64((coins[r >> 6] >> U64(r & 63)) & U64(1)) & np.int64(r != ghost)  # no branch on a coin
        value = s[x] * (1 - 2 * flip)
        s[x] = value
        flipped += flip
        magnetization += value
        if has_field:
            field_term += field[x] * value
    return counter, position, flipped, satisfied, magnetization, field_term


@nb.njit(cache=True)
def _bond_sum(s, lattice, geometry, weights, weight0, sources, targets, bond_weights):
    """Σ_bonds J s_a s_b: over the lattice's bonds (J = ``weights[a, i]``, or ``weight0`` when uniform, as the
    kernels read them) or over the bond list ``sources``/``targets``/``bond_weights``."""
    total = 0.0
    if not lattice:
        for e in range(sources.shape[0]):
            total += bond_weights[e] * s[sources[e]] * s[targets[e]]
        return total
    n = s.shape[0]
    lx, ly = geometry[0], geometry[1]
    plane = lx * ly
    periodic = geometry[4] != 0
    uniform = geometry[5] != 0
    for i in range(n):
        x = i % lx
        y = (i % plane) // lx
        for a in range(geometry[3]):
            if a == 0:
                inner = x < lx - 1
                j = i + 1 if inner else i + 1 - lx
            elif a == 1:
                inner = y < ly - 1
                j = i + lx if inner else i + lx - plane
            else:
                inner = i < n - plane
                j = i + plane if inner else i + plane - n
            if inner or periodic:
                total += (weight0 if uniform else weights[a, i]) * s[i] * s[j]
    return total


@nb.njit(cache=True)
def _field_sum(s, field):
    total = 0.0
    for i in range(s.shape[0]):
        total += field[i] * s[i]
    return total


@nb.njit(cache=True)
def _start_spins(s, key, counter, random_start):
    """±1 from the stream (one bit per site) or all +1. Returns the counter."""
    n = s.shape[0]
    if not random_start:
        s[:] = 1
        return counter
    for w in range((n + 63) // 64):
        counter += U64(1)
        word = _draw(key, counter)
        for b in range(min(64, n - 64 * w)):
            s[64 * w + b] = 1 - 2 * np.int8((word >> U64(b)) & U64(1))
    return counter


@nb.njit(cache=True)
def _run_wolff(keys, random_start, n_burn, n_draws, thin, lattice, geometry, indptr, neighbors, thresholds,
               weights, threshold0, weight0, sources, targets, bond_weights, constant, field, ghost_thresholds,
               has_field, energy, magnetization, flipped, spins_out, record_spins, final):
    n_chains, n = final.shape
    s = np.empty(n, np.int8)
    stack = np.empty(n, np.int32)
    members = np.empty(n, np.int32)
    buffer = np.empty(BUFFER, np.uint64)
    for c in range(n_chains):
        key = keys[c]
        counter = _start_spins(s, key, U64(0), random_start)
        position = BUFFER
        for _ in range(n_burn):
            counter, position, _, _, _ = _wolff_step(
                s, lattice, geometry, indptr, neighbors, thresholds, weights, threshold0, weight0, field,
                ghost_thresholds, has_field, key, counter, buffer, position, stack, members)
        e = constant - _bond_sum(s, lattice, geometry, weights, weight0, sources, targets, bond_weights) \
            - _field_sum(s, field)
        m = np.int64(0)
        for i in range(n):
            m += s[i]
        total = 0
        for d in range(n_draws):
            for _ in range(thin):
                counter, position, count, d_e, d_m = _wolff_step(
                    s, lattice, geometry, indptr, neighbors, thresholds, weights, threshold0, weight0, field,
                    ghost_thresholds, has_field, key, counter, buffer, position, stack, members)
                e += d_e
                m += d_m
                total += count
            energy[c, d] = e
            magnetization[c, d] = m
            if record_spins:
                spins_out[c, d, :] = s
        flipped[c] = total
        final[c, :] = s


@nb.njit(cache=True)
def _run_swendsen_wang(keys, random_start, n_burn, n_draws, thin, lattice, geometry, thresholds, weights,
                       threshold0, weight0, sources, targets, bond_weights, constant, field, ghost_thresholds,
                       has_field, energy, magnetization, flipped, spins_out, record_spins, final, parent, bond_total):
    """``parent``: the (N + 1,) union-find work array, int32 when N < 2³¹ − 1; ``bond_total`` = Σ_bonds J."""
    n_chains, n = final.shape
    s = np.empty(n, np.int8)
    coins = np.empty(n // 64 + 1, np.uint64)
    buffer = np.empty(BUFFER, np.uint64)
    for c in range(n_chains):
        key = keys[c]
        counter = _start_spins(s, key, U64(0), random_start)
        position = BUFFER
        for _ in range(n_burn):
            counter, position, _, _, _, _ = _sw_step(
                s, lattice, geometry, sources, targets, thresholds, weights, threshold0, weight0, field,
                ghost_thresholds, has_field, key, counter, buffer, position, parent, coins)
        total = 0
        n_steps = n_draws * thin
        for t in range(n_steps):
            counter, position, count, satisfied, m, field_term = _sw_step(
                s, lattice, geometry, sources, targets, thresholds, weights, threshold0, weight0, field,
                ghost_thresholds, has_field, key, counter, buffer, position, parent, coins)
            total += count
            if t > 0 and t % thin == 0:
                # the input of step t is the state after step t − 1, draw t // thin − 1
                energy[c, t // thin - 1] += constant - (2.0 * satisfied - bond_total)
            if (t + 1) % thin == 0:
                d = (t + 1) // thin - 1
                energy[c, d] = -field_term
                magnetization[c, d] = m
                if record_spins:
                    spins_out[c, d, :] = s
        energy[c, n_draws - 1] += constant - _bond_sum(s, lattice, geometry, weights, weight0, sources, targets,
                                                      bond_weights)
        flipped[c] = total
        final[c, :] = s


# ---------------------------------------------------------------- model → arrays
def _bond_probability(beta, coupling):
    """FK activation probability of a satisfied bond, p = 1 − exp(−2βJ), in float64 (formula of _cluster)."""
    return _cluster._bond_probability(beta, np.asarray(coupling, dtype=np.float64), xp=np)


def _ghost_probability(beta, field):
    """Activation probability of a satisfied ghost bond, p_i = 1 − exp(−2β|h_i|)."""
    return _bond_probability(beta, np.abs(np.asarray(field, dtype=np.float64)))


def _thresholds(p):
    """⌊p·2⁵³⌋ as uint64: a 53-bit uniform u activates when u < threshold (p exact to 2⁻⁵³)."""
    return np.floor(np.asarray(p, dtype=np.float64) * 2.0**53).astype(np.uint64)


@dataclasses.dataclass(frozen=True)
class _Graph:
    """The model as the kernels read it: bond list, adjacency (CSR), lattice geometry, field."""

    n_sites: int
    sources: np.ndarray      # (B,) int64, bonds with J > 0 and i ≠ j (empty on a lattice: the kernels read it)
    targets: np.ndarray
    weights: np.ndarray      # (B,) float64 J
    indptr: np.ndarray       # (N + 1,) int64
    neighbors: np.ndarray    # (2B,) int64
    adjacency_bond: np.ndarray  # (2B,) int64: bond index of each adjacency entry
    constant: float          # energy of self-bonds, −Σ J_ii
    field: np.ndarray        # (N,) float64
    has_field: bool
    geometry: np.ndarray | None  # (Lx, Ly, Lz, ndim, periodic, uniform) of a lattice with every side >= 3
    lattice_weights: np.ndarray | None  # (ndim, N) J of the bond from each site along +x, +y, +z (0: none)


def _lattice_geometry(model):
    """(geometry, per-axis bond arrays) when the model's bonds are its lattice's and every side is >= 3, else None.

    Sides 1 and 2 (self-bonds, doubled bonds) go through the adjacency path.
    """
    if _cluster._lattice_array_shape(model) is None or min(model.lattice.shape) < 3:
        return None, None
    sides = tuple(model.lattice.shape)          # (Lx[, Ly[, Lz]])
    ndim = len(sides)
    shape = tuple(reversed(sides))              # array shape [z, y, x]
    periodic = model.lattice.periodic
    couplings = np.asarray(model.couplings, dtype=np.float64)
    arrays = [grid.reshape(-1) for grid in _cluster._bond_grids(couplings, shape, periodic, xp=np)]
    uniform = bool(np.all(couplings == couplings[0])) if couplings.size else True
    padded = tuple(sides) + (1,) * (3 - ndim)
    geometry = np.array([*padded, ndim, int(periodic), int(uniform)], dtype=np.int64)
    return geometry, np.stack(arrays)


def _graph(model) -> _Graph:
    couplings = np.asarray(model.couplings, dtype=np.float64)
    field = np.ascontiguousarray(np.asarray(model.field, dtype=np.float64))
    n = int(field.shape[-1])
    geometry, lattice_weights = _lattice_geometry(model)
    if geometry is not None:  # the kernels read the lattice (sides >= 3: no self-bonds); no bond list to build
        empty = np.zeros(0, np.int64)
        return _Graph(n, empty, empty, np.zeros(0), np.zeros(n + 1, np.int64), empty, empty, 0.0, field,
                      bool(np.any(field != 0)), geometry, lattice_weights)
    edges = np.asarray(model.edges, dtype=np.int64).reshape(-1, 2)
    self_bond = edges[:, 0] == edges[:, 1]
    keep = ~self_bond & (couplings > 0)
    sources, targets, weights = edges[keep, 0].copy(), edges[keep, 1].copy(), couplings[keep].copy()
    indptr = np.zeros(n + 1, np.int64)  # the adjacency (CSR) of the Wolff kernel
    ends = np.concatenate([sources, targets])
    order = np.argsort(ends, kind="stable")
    np.cumsum(np.bincount(ends, minlength=n), out=indptr[1:])
    neighbors = np.concatenate([targets, sources])[order]
    adjacency_bond = np.concatenate([np.arange(len(sources)), np.arange(len(sources))])[order]
    return _Graph(n, sources, targets, weights, indptr, neighbors, adjacency_bond,
                  -float(couplings[self_bond].sum()), field, bool(np.any(field != 0)), geometry, lattice_weights)


@dataclasses.dataclass(frozen=True)
class ClusterRun:
    """Series of one run: ``energy`` H and ``magnetization`` M = Σ s_i, shape (n_chains, n_draws).

    ``spins`` (n_chains, n_draws, N) int8 when recorded, else None; ``final``
    (n_chains, N) the last configurations; ``flipped`` (n_chains,) the spins
    flipped after burn-in; ``n_steps`` the steps after burn-in per chain.
    """

    energy: np.ndarray
    magnetization: np.ndarray
    spins: np.ndarray | None
    final: np.ndarray
    flipped: np.ndarray
    n_steps: int


def run_chains(model, beta, method: str, n_draws: int, *, n_chains: int = 1, burn_in: int = 0, thin: int = 1,
               seed: int = 0, stream: int = 0, start: str = "random", record_spins: bool = False) -> ClusterRun:
    """Run ``n_chains`` independent Wolff or Swendsen–Wang chains of ``model`` at ``beta``.

    Each chain starts from ``start`` ("random" ±1 or all "up"), makes
    ``burn_in`` steps, then ``n_draws·thin`` steps, recording H and M after
    every ``thin``-th (one step: one Wolff cluster or one Swendsen–Wang
    update). Chain c draws from stream ``stream_key(seed, c, stream)``.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if start not in STARTS:
        raise ValueError(f"start must be 'random' or 'up', got {start!r}")
    check_ferromagnetic(model)
    if np.ndim(beta) != 0:
        raise ValueError(f"beta must be a scalar, got shape {np.shape(beta)}; run one call per beta")
    beta = float(as_beta_array(beta)[0][0])  # a real number, finite and >= 0
    n_draws = check_positive_int(n_draws, "n_draws")
    n_chains = check_positive_int(n_chains, "n_chains")
    burn_in = check_positive_int(burn_in, "burn_in", minimum=0)
    thin = check_positive_int(thin, "thin")
    seed = check_seed(seed)
    graph = _graph(model)
    n = graph.n_sites
    keys = np.array([stream_key(seed, c, stream) for c in range(n_chains)], dtype=np.uint64)
    ghost_thresholds = _thresholds(_ghost_probability(beta, graph.field))
    energy = np.zeros((n_chains, n_draws))
    magnetization = np.zeros((n_chains, n_draws), np.int64)
    flipped = np.zeros(n_chains, np.int64)
    final = np.empty((n_chains, n), np.int8)
    spins = np.empty((n_chains, n_draws, n) if record_spins else (1, 1, 1), np.int8)
    lattice = graph.geometry is not None
    if lattice:
        geometry = graph.geometry
        uniform = bool(geometry[5])
        bond_weights = np.ascontiguousarray(graph.lattice_weights[:, :1] if uniform else graph.lattice_weights)
        weight0 = float(graph.lattice_weights[0, 0])
    else:
        geometry = np.array([n, 1, 1, 1, 0, 0], np.int64)
        bond_weights = (graph.weights[graph.adjacency_bond] if method == "wolff" else graph.weights)[None, :]
        weight0 = 0.0
    thresholds = _thresholds(_bond_probability(beta, bond_weights))
    threshold0 = np.uint64(_thresholds(_bond_probability(beta, weight0)))
    common = (keys, start == "random", burn_in, n_draws, thin, lattice, geometry)
    tail = (graph.sources, graph.targets, graph.weights, graph.constant, graph.field, ghost_thresholds,
            graph.has_field, energy, magnetization, flipped, spins, record_spins, final)
    if method == "wolff":
        _run_wolff(*common, graph.indptr, graph.neighbors, thresholds, bond_weights, threshold0, weight0, *tail)
    else:
        parent = np.empty(n + 1, np.int32 if n < 2**31 - 1 else np.int64)  # int32: half the cache footprint
        bond_total = float(graph.weights.sum() if graph.geometry is None else graph.lattice_weights.sum())
        _run_swendsen_wang(*common, thresholds, bond_weights, threshold0, weight0, *tail, parent, bond_total)
    return ClusterRun(energy=energy, magnetization=magnetization, spins=spins if record_spins else None,
                      final=final, flipped=flipped, n_steps=n_draws * thin)
