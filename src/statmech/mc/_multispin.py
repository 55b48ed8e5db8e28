"""Multispin-coded Metropolis and heat bath: one bit per spin, 64 spins per machine word.

Applies to periodic square and cubic lattices with every side even, no field
and couplings of one magnitude |J| > 0. ΔE = 2|J|(z − 2c), c the number of
unsatisfied bonds, counted for 64 spins at once by bit-sliced adders; a word
of Bernoulli(p_c) bits is drawn digit by digit from fresh random words (p_c
to 64 binary digits). Layouts: ``lattice`` (one chain, sublattice rows
packed along x) and ``replica`` (one bit per chain, up to 64 chains, each
optionally with its own ±J couplings). Energies and magnetisations come
exactly from popcounts. Jacobs & Rebbi, J. Comput. Phys. 41, 203 (1981);
Romero et al., Comput. Phys. Commun. 256, 107473 (2020). Details:
docs/derivations.md.
"""
from __future__ import annotations

import math

import numba as nb
import numpy as np
from numba import types
from numba.extending import intrinsic

from statmech.mc import _rng
from statmech.models import Ising

__all__ = ["why_not", "layout", "probabilities", "digit_table", "LatticeLayout", "ReplicaLayout"]

U64 = np.uint64
ONES = U64(0xFFFFFFFFFFFFFFFF)
ZERO = U64(0)
_LEVELS = 32  # bit-sliced counter depth (counts up to 2^32 per replica)


@intrinsic
def popcount(typingctx, x):
    """Number of set bits of a uint64 (LLVM ctpop)."""
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return sig, codegen


# ------------------------------------------------------------ probabilities
def probabilities(beta: float, rule: str, z: int, coupling: float) -> np.ndarray:
    """Flip probability p_c for c = 0 … z unsatisfied bonds, ΔE = 2|J|(z − 2c)."""
    delta = 2.0 * abs(coupling) * (z - 2.0 * np.arange(z + 1))
    x = beta * delta
    if rule == "metropolis":
        return np.where(x <= 0, 1.0, np.exp(-np.maximum(x, 0.0)))
    return np.array([1.0 / (1.0 + math.exp(v)) if v < 700 else 0.0 for v in x])


def digit_table(p: np.ndarray):
    """(64, 7) table of 0/all-ones words: digit k (weight 2^-(k+1)) of p_c; and flags (certain, undecided).

    p_c is truncated to 64 binary digits: floor(p · 2⁶⁴) / 2⁶⁴ (p is a float64,
    so p · 2⁶⁴ is exact and the truncation error is below 2⁻⁶⁴).
    """
    table = np.zeros((64, 7), np.uint64)
    certain = np.zeros(7, np.uint64)
    undecided = np.zeros(7, np.uint64)
    for c, value in enumerate(np.asarray(p, np.float64)):
        if value >= 1.0:
            certain[c] = ONES
        elif value > 0.0:
            undecided[c] = ONES
            digits = int(value * 2.0**64)  # exact: scaling by a power of two
            for k in range(64):
                if (digits >> (63 - k)) & 1:
                    table[k, c] = ONES
    return table, certain, undecided


def few(undecided) -> bool:
    """True when only classes 0, 1, 2 can be undecided (Metropolis): the kernel's shorter digit loop applies."""
    return not np.any(np.asarray(undecided)[3:])


# ----------------------------------------------------------- the word update
@nb.njit(inline="always")
def _count(a1, a2, a3, a4, a5, a6):
    """Bits (b0, b1, b2) of a1 + … + a6, bitwise (bit-sliced full adders)."""
    x = a1 ^ a2
    s_a = x ^ a3
    c_a = (a1 & a2) | (x & a3)
    y = a4 ^ a5
    s_b = y ^ a6
    c_b = (a4 & a5) | (y & a6)
    b0 = s_a ^ s_b
    c0 = s_a & s_b
    b1 = c_a ^ c_b ^ c0
    b2 = (c_a & c_b) | (c0 & (c_a ^ c_b))
    return b0, b1, b2


@nb.njit(inline="always")
def _flip_word(a1, a2, a3, a4, a5, a6, mask, table, cert, und_c, few, five, st):
    """Word of flips: bit set with probability p_c, c the bit's count of unsatisfied bonds."""
    b0, b1, b2 = _count(a1, a2, a3, a4, a5, a6)
    n0 = ~b0
    n1 = ~b1
    n2 = ~b2
    e0 = n0 & n1 & n2
    e1 = b0 & n1 & n2
    e2 = n0 & b1 & n2
    e3 = b0 & b1 & n2
    e4 = n0 & n1 & b2
    e5 = b0 & n1 & b2
    e6 = n0 & b1 & b2
    c0, c1, c2, c3, c4, c5, c6 = cert
    u0, u1, u2, u3, u4, u5, u6 = und_c
    flip = (e0 & c0) | (e1 & c1) | (e2 & c2) | (e3 & c3) | (e4 & c4) | (e5 & c5) | (e6 & c6)
    und = mask & ((e0 & u0) | (e1 & u1) | (e2 & u2) | (e3 & u3) | (e4 & u4) | (e5 & u5) | (e6 & u6))
    k = 0
    if few:  # only classes 0, 1, 2 undecided (Metropolis): a shorter digit loop
        while und != ZERO and k < 64:
            st, r = _rng.next_word(st)
            p = (e0 & table[k, 0]) | (e1 & table[k, 1]) | (e2 & table[k, 2])
            flip |= und & p & ~r      # U digit 0 < p digit 1: U < p decided
            und &= ~(p ^ r)           # digits equal: still undecided
            k += 1
        return flip & mask, st
    if five:  # counts up to 4 (square lattice): classes 5 and 6 never occur
        while und != ZERO and k < 64:
            st, r = _rng.next_word(st)
            p = (e0 & table[k, 0]) | (e1 & table[k, 1]) | (e2 & table[k, 2]) | (e3 & table[k, 3]) | (e4 & table[k, 4])
            flip |= und & p & ~r
            und &= ~(p ^ r)
            k += 1
        return flip & mask, st
    while und != ZERO and k < 64:
        st, r = _rng.next_word(st)
        p = ((e0 & table[k, 0]) | (e1 & table[k, 1]) | (e2 & table[k, 2]) | (e3 & table[k, 3])
             | (e4 & table[k, 4]) | (e5 & table[k, 5]) | (e6 & table[k, 6]))
        flip |= und & p & ~r
        und &= ~(p ^ r)
        k += 1
    return flip & mask, st


@nb.njit(inline="always")
def _add(counter, word, level):
    """Add the bits of ``word`` times 2^level to the bit-sliced counter (one count per bit position)."""
    carry = word
    while carry != ZERO:
        t = counter[level] & carry
        counter[level] ^= carry
        carry = t
        level += 1


_FLUSH = 32  # words added into the 8-level register counters between flushes (6·32 < 2^8)


@nb.njit(inline="always")
def _ripple(level, c, k):
    """One full-adder level of a bit-sliced counter: (new level word, carry) of level + c + k."""
    x = level ^ c
    return x ^ k, (level & c) | (x & k)


@nb.njit(inline="always")
def _add3(l, c0, c1, c2):
    """Add the 3-bit numbers (c2 c1 c0), one per bit position, to the 8-level counter ``l`` (no branch)."""
    l0, k = _ripple(l[0], c0, ZERO)
    l1, k = _ripple(l[1], c1, k)
    l2, k = _ripple(l[2], c2, k)
    l3, k = _ripple(l[3], ZERO, k)
    l4, k = _ripple(l[4], ZERO, k)
    l5, k = _ripple(l[5], ZERO, k)
    l6, k = _ripple(l[6], ZERO, k)
    return (l0, l1, l2, l3, l4, l5, l6, l[7] ^ k)


@nb.njit(inline="always")
def _flush(counter, l):
    """Add the 8-level register counter ``l`` into the bit-sliced ``counter``."""
    for level in range(8):
        _add(counter, l[level], level)


# ------------------------------------------------------------- lattice layout
def _lattice_sweeps_py(S, J, has_j, rows_nb, par, bits, mask, table, certain, undecided, few, key, chain,
                       sweep0, n_sweeps, thin, out_u, out_d, unsat, down):
    """Sweeps of a packed lattice: S (2, R, nw) uint64 spins, J (2, z, R, nw) sign bits.

    Directions: 0 = x+1, 1 = x−1, then the rows in ``rows_nb`` (R, z − 2).
    Row r of colour c in sweep t draws from the stream (chain, t, c, r). On a
    recorded sweep, out_u gets the number of unsatisfied bonds and out_d the
    number of down spins.
    """
    n_rows = S.shape[1]
    nw = S.shape[2]
    cert = (certain[0], certain[1], certain[2], certain[3], certain[4], certain[5], certain[6])
    und_c = (undecided[0], undecided[1], undecided[2], undecided[3], undecided[4], undecided[5], undecided[6])
    nd = rows_nb.shape[1]
    top = U64(bits - 1)
    n_rec = out_u.shape[0]
    for t in range(n_sweeps):
        sweep = U64(sweep0 + t)
        measure = (t + 1) % thin == 0 and (t + 1) // thin - 1 < n_rec
        for colour in range(2):
            other = 1 - colour
            for r in nb.prange(n_rows):
                st = _rng.stream(key, chain, sweep, U64(colour), U64(r))
                offset = par[r] if colour == 0 else 1 - par[r]
                ra = rows_nb[r, 0]
                rb = rows_nb[r, 1]
                rc = rows_nb[r, 2 % nd]
                rd = rows_nb[r, 3 % nd]
                u_row = 0
                d_row = 0
                for w in range(nw):
                    s = S[colour, r, w]
                    same = S[other, r, w]
                    if offset == 0:  # x+1 is the other colour's k, x−1 its k−1
                        prev = S[other, r, w - 1 if w > 0 else nw - 1]
                        xp = same
                        xm = ((same << U64(1)) | (prev >> top)) & mask
                    else:  # x−1 is k, x+1 is k+1
                        nxt = S[other, r, w + 1 if w < nw - 1 else 0]
                        xm = same
                        xp = (same >> U64(1)) | ((nxt & U64(1)) << top)
                    a1 = s ^ xp
                    a2 = s ^ xm
                    a3 = s ^ S[other, ra, w]
                    a4 = s ^ S[other, rb, w]
                    a5 = ZERO
                    a6 = ZERO
                    if nd == 4:
                        a5 = s ^ S[other, rc, w]
                        a6 = s ^ S[other, rd, w]
                    if has_j:
                        a1 ^= J[colour, 0, r, w]
                        a2 ^= J[colour, 1, r, w]
                        a3 ^= J[colour, 2, r, w]
                        a4 ^= J[colour, 3, r, w]
                        if nd == 4:
                            a5 ^= J[colour, 4, r, w]
                            a6 ^= J[colour, 5, r, w]
                    flip, st = _flip_word(a1, a2, a3, a4, a5, a6, mask, table, cert, und_c, few, nd == 2, st)
                    new = s ^ flip
                    S[colour, r, w] = new
                    if measure:
                        d_row += popcount(new)
                        if colour == 1:
                            u_row += (popcount(a1 ^ flip) + popcount(a2 ^ flip) + popcount(a3 ^ flip)
                                      + popcount(a4 ^ flip))
                            if nd == 4:
                                u_row += popcount(a5 ^ flip) + popcount(a6 ^ flip)
                if measure:
                    down[colour, r] = d_row
                    if colour == 1:
                        unsat[r] = u_row
        if measure:
            k = (t + 1) // thin - 1
            total_u = 0
            total_d = 0
            for r in range(n_rows):
                total_u += unsat[r]
                total_d += down[0, r] + down[1, r]
            out_u[k] = total_u
            out_d[k] = total_d


_lattice_parallel = nb.njit(parallel=True, cache=True)(_lattice_sweeps_py)
_lattice_serial = nb.njit(cache=True)(_lattice_sweeps_py)


@nb.njit(cache=True)
def _unpack_lattice(S, par, bits, Lx, out):
    """Spins (N,) int8 of a packed lattice (site i = r·Lx + x)."""
    n_rows = S.shape[1]
    nw = S.shape[2]
    for colour in range(2):
        for r in range(n_rows):
            offset = par[r] if colour == 0 else 1 - par[r]
            for w in range(nw):
                word = S[colour, r, w]
                for b in range(bits):
                    x = 2 * (w * bits + b) + offset
                    out[r * Lx + x] = 1 - 2 * np.int8((word >> U64(b)) & U64(1))


# ------------------------------------------------------------- replica layout
def _replica_kernel(nd: int, few: bool, has_j: bool, parallel: bool):
    """The replica kernel for ``nd`` = z − 2 neighbour rows, with ``few`` (only classes 0–2 undecided) and
    ``has_j`` (sign bits read) fixed at compile time; numba's disk cache keys on these closure values."""
    key_ = (nd, few, has_j, parallel)
    if key_ in _REPLICA:
        return _REPLICA[key_]

    def _replica_sweeps(W, J, rows_nb, par, mask, table, certain, undecided, key, chain, sweep0, n_sweeps, thin,
                        out_u, out_d, chunk_u, chunk_d, rows_per_chunk):
        """Sweeps of 64 replicas: W (R, Lx) uint64 (bit b = replica b), J (z, R, Lx) sign bits.

        Site (r, x) is black when x + par[r] is even. Row r of colour c in sweep
        t draws from the stream (chain, t, c, r). On a recorded sweep, out_u[k, b]
        and out_d[k, b] get replica b's unsatisfied bonds and down spins, summed
        with bit-sliced counters over chunks of rows.
        """
        n_rows, Lx = W.shape
        cert = (certain[0], certain[1], certain[2], certain[3], certain[4], certain[5], certain[6])
        und_c = (undecided[0], undecided[1], undecided[2], undecided[3], undecided[4], undecided[5], undecided[6])
        n_rec = out_u.shape[0]
        n_chunks = chunk_u.shape[0]
        for t in range(n_sweeps):
            sweep = U64(sweep0 + t)
            measure = (t + 1) % thin == 0 and (t + 1) // thin - 1 < n_rec
            if measure:
                chunk_u[:] = 0
                chunk_d[:] = 0
            for colour in range(2):
                for q in nb.prange(n_chunks):
                    cu = chunk_u[q]
                    cd = chunk_d[q]
                    lu = (ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO)  # register counters, flushed into cu, cd
                    ld = lu
                    pending = 0
                    for r in range(q * rows_per_chunk, min((q + 1) * rows_per_chunk, n_rows)):
                        st = _rng.stream(key, chain, sweep, U64(colour), U64(r))
                        ra = rows_nb[r, 0]
                        rb = rows_nb[r, 1]
                        rc = rows_nb[r, 2 % nd]
                        rd = rows_nb[r, 3 % nd]
                        for x in range((colour + par[r]) & 1, Lx, 2):
                            s = W[r, x]
                            a1 = s ^ W[r, x + 1 if x < Lx - 1 else 0]
                            a2 = s ^ W[r, x - 1 if x > 0 else Lx - 1]
                            a3 = s ^ W[ra, x]
                            a4 = s ^ W[rb, x]
                            a5 = ZERO
                            a6 = ZERO
                            if nd == 4:
                                a5 = s ^ W[rc, x]
                                a6 = s ^ W[rd, x]
                            if has_j:
                                a1 ^= J[0, r, x]
                                a2 ^= J[1, r, x]
                                a3 ^= J[2, r, x]
                                a4 ^= J[3, r, x]
                                if nd == 4:
                                    a5 ^= J[4, r, x]
                                    a6 ^= J[5, r, x]
                            flip, st = _flip_word(a1, a2, a3, a4, a5, a6, mask, table, cert, und_c, few, nd == 2, st)
                            new = s ^ flip
                            W[r, x] = new
                            if measure:
                                ld = _add3(ld, new & mask, ZERO, ZERO)
                                if colour == 1:
                                    if nd == 4:
                                        c0, c1, c2 = _count(a1 ^ flip, a2 ^ flip, a3 ^ flip, a4 ^ flip,
                                                            a5 ^ flip, a6 ^ flip)
                                    else:
                                        c0, c1, c2 = _count(a1 ^ flip, a2 ^ flip, a3 ^ flip, a4 ^ flip, ZERO, ZERO)
                                    lu = _add3(lu, c0 & mask, c1 & mask, c2 & mask)
                                pending += 1
                                if pending == _FLUSH:
                                    _flush(cd, ld)
                                    _flush(cu, lu)
                                    lu = (ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO, ZERO)
                                    ld = lu
                                    pending = 0
                    if measure:
                        _flush(cd, ld)
                        _flush(cu, lu)
            if measure:  # per-replica totals from the bit-sliced counters of every chunk
                k = (t + 1) // thin - 1
                for b in range(64):
                    out_u[k, b] = 0
                    out_d[k, b] = 0
                for q in range(n_chunks):
                    for level in range(_LEVELS):
                        wu = chunk_u[q, level]
                        wd = chunk_d[q, level]
                        if wu == ZERO and wd == ZERO:
                            continue
                        for b in range(64):
                            out_u[k, b] += np.int64((wu >> U64(b)) & U64(1)) << level
                            out_d[k, b] += np.int64((wd >> U64(b)) & U64(1)) << level

    kernel = nb.njit(parallel=parallel, cache=True)(_replica_sweeps)
    _REPLICA[key_] = kernel
    return kernel


_REPLICA = {}  # (nd, few, has_j, parallel) -> compiled replica kernel


# --------------------------------------------------------------- applicability
def why_not(model, n_chains=1) -> str | None:
    """Why multispin coding cannot represent ``model`` (None when it can)."""
    lattice = model.lattice
    if lattice.kind not in ("square", "cubic"):
        return f"multispin coding needs a square or cubic lattice, this model is a {lattice.kind}"
    if not lattice.periodic:
        return "multispin coding needs periodic boundaries (open ones have missing bonds); use backend='numba'"
    if any(side % 2 for side in lattice.shape):
        return (f"multispin coding needs every side even (two sublattices), got {lattice.shape}; "
                "use backend='numba'")
    if model.has_field:
        return "multispin coding needs h = 0 (a field is not bit-codable); use backend='numba'"
    magnitudes = np.abs(np.asarray(model.couplings, np.float64))
    if magnitudes.size == 0 or magnitudes.min() == 0 or magnitudes.min() != magnitudes.max():
        return ("multispin coding needs couplings of one magnitude |J| > 0 (ferromagnet, antiferromagnet "
                "or ±J); Gaussian or diluted bonds run with backend='numba'")
    return None


def word_bits(model) -> int:
    """Spins per word of the lattice layout: the largest power of two <= 64 dividing Lx/2."""
    half = model.lattice.shape[0] // 2
    return math.gcd(half, 64)


def use_replicas(model, n_chains) -> bool:
    """Replicas when they fill words at least as well as one chain's rows do (ties go to replicas)."""
    if n_chains <= 1:
        return False
    groups = -(-n_chains // 64)
    return n_chains / (64 * groups) >= word_bits(model) / 64


def fill(model, n_chains) -> float:
    """Fraction of each word's 64 bits that hold spins, in the layout ``layout`` would choose."""
    if use_replicas(model, n_chains):
        return n_chains / (64 * -(-n_chains // 64))
    return word_bits(model) / 64


def layout(model, n_chains=1, kind=None, bits=None):
    """The layout for ``n_chains`` chains of ``model``: ``kind`` "lattice" or "replica" (None: by fill)."""
    reason = why_not(model, n_chains)
    if reason is not None:
        raise ValueError(reason)
    if kind is None:
        kind = "replica" if use_replicas(model, n_chains) else "lattice"
    if kind == "replica":
        return ReplicaLayout([model], n_chains)
    if kind == "lattice":
        return LatticeLayout(model, bits)
    raise ValueError(f"multispin layout must be 'lattice' or 'replica', got {kind!r}")


# ---------------------------------------------------------------- geometry
def _geometry(model):
    """Rows r = z·Ly + y (array shape (R, Lx)), parity of y + z per row, neighbour rows (R, z − 2),
    and per-site sign bits (z, R, Lx) of the bond in each direction (x+, x−, y−, y+, z−, z+)."""
    shape = model.lattice.shape
    Lx = shape[0]
    others = shape[1:]
    grid = tuple(reversed(others))  # (Ly,) or (Lz, Ly)
    coords = np.indices(grid).reshape(len(grid), -1)  # rows in order r = z·Ly + y
    n_rows = coords.shape[1]
    par = (coords.sum(0) % 2).astype(np.int64)
    row_index = np.arange(n_rows).reshape(grid)
    neighbours = []
    for axis in reversed(range(len(grid))):  # y first, then z
        neighbours.append(np.roll(row_index, 1, axis).reshape(-1))   # y − 1 (row index of y−1)
        neighbours.append(np.roll(row_index, -1, axis).reshape(-1))  # y + 1
    rows_nb = np.stack(neighbours, axis=1).astype(np.int64)
    ndim = len(shape)
    array_shape = tuple(reversed(shape))
    n = int(np.prod(shape))
    couplings = np.asarray(model.couplings, np.float64)
    if couplings.size != ndim * n:
        raise ValueError(f"this {model.lattice.kind} model has {couplings.size} bonds where a periodic lattice "
                         f"{shape} has {ndim * n}; build it with Ising.{model.lattice.kind}")
    # Ising.square / Ising.cubic list all x bonds (row-major), then all y bonds, then all z bonds.
    bonds = {ndim - 1 - k: couplings[k * n:(k + 1) * n].reshape(array_shape) for k in range(ndim)}
    negative = []
    x_bonds = bonds[ndim - 1] < 0  # [.., x]: bond to x + 1
    negative.append(x_bonds)
    negative.append(np.roll(x_bonds, 1, axis=ndim - 1))  # bond to x − 1 is J at x − 1
    for axis in reversed(range(ndim - 1)):  # array axis ndim−2 is y, ndim−3 is z
        forward = bonds[axis] < 0
        negative.append(np.roll(forward, 1, axis=axis))  # bond to −1
        negative.append(forward)
    signs = np.stack([n.reshape(n_rows, Lx) for n in negative])
    return n_rows, Lx, par, rows_nb, signs


class LatticeLayout:
    """One chain bit-packed by sublattice (see the module docstring)."""

    name = "multispin_lattice"
    replicas = False

    def __init__(self, model, bits=None):
        self.model = model
        self.n_rows, self.Lx, self.par, rows_nb, signs = _geometry(model)
        self.rows_nb = rows_nb
        self.z = 2 + rows_nb.shape[1]
        self.bits = word_bits(model) if bits is None else int(bits)
        if self.bits < 1 or (self.Lx // 2) % self.bits or self.bits > 64:
            raise ValueError(f"bits must divide Lx/2 = {self.Lx // 2} and be <= 64, got {bits}")
        self.nw = self.Lx // 2 // self.bits
        self.mask = ONES if self.bits == 64 else U64((1 << self.bits) - 1)
        self.coupling = float(np.abs(np.asarray(model.couplings, np.float64)[0]))
        self.has_j = bool(np.any(signs))
        self.J = np.stack([self.pack(signs[d]) for d in range(self.z)], axis=1) if self.has_j else \
            np.zeros((2, self.z, 1, 1), np.uint64)
        self.n_bonds = self.z // 2 * model.n_sites
        self.unsat = np.zeros(self.n_rows, np.int64)
        self.down = np.zeros((2, self.n_rows), np.int64)
        self.sweeps = _lattice_serial if model.n_sites < 8192 else _lattice_parallel

    def pack(self, bits_grid):
        """(R, Lx) 0/1 → (2, R, nw) words: colour c keeps x = 2k + offset_c(r), k = w·B + b."""
        grid = np.asarray(bits_grid, np.uint64)
        even, odd = grid[:, 0::2], grid[:, 1::2]
        black = np.where(self.par[:, None] == 0, even, odd)
        white = np.where(self.par[:, None] == 0, odd, even)
        weights = np.uint64(1) << np.arange(self.bits, dtype=np.uint64)
        out = [(c.reshape(self.n_rows, self.nw, self.bits) * weights).sum(-1, dtype=np.uint64)
               for c in (black, white)]
        return np.ascontiguousarray(np.stack(out))

    def spins(self, S):
        out = np.empty(self.n_rows * self.Lx, np.int8)
        _unpack_lattice(S, self.par, self.bits, self.Lx, out)
        return out

    def to_state(self, spins):
        return self.pack((np.asarray(spins).reshape(self.n_rows, self.Lx) < 0).astype(np.uint64))

    def run_chain(self, S, beta, method, key, chain, sweep0, n_sweeps, thin, n_rec):
        table, certain, undecided = digit_table(probabilities(beta, method, self.z, self.coupling))
        out_u = np.zeros(n_rec, np.int64)
        out_d = np.zeros(n_rec, np.int64)
        self.sweeps(S, self.J, self.has_j, self.rows_nb, self.par, self.bits, self.mask, table, certain,
                    undecided, few(undecided), key, chain, np.uint64(sweep0), n_sweeps, thin, out_u, out_d, self.unsat,
                    self.down)
        energy = -self.coupling * (self.n_bonds - 2.0 * out_u)
        magnetization = self.model.n_sites - 2 * out_d
        return energy, magnetization


class ReplicaLayout:
    """Up to 64 chains per word, one bit each; ``models`` share one lattice and |J|, signs may differ."""

    name = "multispin_replica"
    replicas = True

    def __init__(self, models, n_chains):
        model = models[0]
        self.model = model
        self.n_chains = n_chains
        self.n_rows, self.Lx, self.par, self.rows_nb, signs = _geometry(model)
        self.z = 2 + self.rows_nb.shape[1]
        self.coupling = float(np.abs(np.asarray(model.couplings, np.float64)[0]))
        sign_sets = [signs] if len(models) == 1 else [_geometry(m)[4] for m in models]
        self.has_j = any(bool(np.any(s)) for s in sign_sets)
        self.groups = -(-n_chains // 64)
        self.J = []
        for g in range(self.groups):
            if not self.has_j:
                self.J.append(np.zeros((self.z, 1, 1), np.uint64))
                continue
            words = np.zeros(signs.shape, np.uint64)
            for b in range(min(64, n_chains - 64 * g)):
                chosen = sign_sets[0] if len(sign_sets) == 1 else sign_sets[64 * g + b]
                words |= chosen.astype(np.uint64) << np.uint64(b)
            self.J.append(words)
        self.n_bonds = self.z // 2 * model.n_sites
        n = model.n_sites
        serial = n < 2048
        self.parallel = not serial
        self.rows_per_chunk = self.n_rows if serial else max(1, -(-self.n_rows // 16))
        self.n_chunks = -(-self.n_rows // self.rows_per_chunk)

    def to_state(self, starts):
        """Starts (≤ 64, N) of one group of chains → words (R, Lx), bit b = chain b (1 = down)."""
        bits = (np.asarray(starts) < 0).astype(np.uint64)
        shifts = np.arange(bits.shape[0], dtype=np.uint64)[:, None]
        words = np.bitwise_or.reduce(bits << shifts, axis=0)
        return np.ascontiguousarray(words.reshape(self.n_rows, self.Lx))

    def spins(self, W, count):
        """Spins (count, N) int8 of the first ``count`` replicas."""
        bits = (W.reshape(1, -1) >> np.arange(count, dtype=np.uint64)[:, None]) & np.uint64(1)
        return (1 - 2 * bits.astype(np.int8)).astype(np.int8)

    def run_group(self, W, group, beta, method, key, sweep0, n_sweeps, thin, n_rec):
        """Sweeps of one group of 64 replicas; (energy, magnetization) of shape (n_rec, 64)."""
        table, certain, undecided = digit_table(probabilities(beta, method, self.z, self.coupling))
        count = min(64, self.n_chains - 64 * group)
        mask = ONES if count == 64 else U64((1 << count) - 1)
        out_u = np.zeros((n_rec, 64), np.int64)
        out_d = np.zeros((n_rec, 64), np.int64)
        chunk_u = np.zeros((self.n_chunks, _LEVELS), np.uint64)  # bit-sliced counters, one set per chunk
        chunk_d = np.zeros((self.n_chunks, _LEVELS), np.uint64)
        kernel = _replica_kernel(self.rows_nb.shape[1], few(undecided), self.has_j, self.parallel)
        kernel(W, self.J[group], self.rows_nb, self.par, mask, table, certain, undecided, key, U64(group),
               U64(sweep0), n_sweeps, thin, out_u, out_d, chunk_u, chunk_d, self.rows_per_chunk)
        energy = -self.coupling * (self.n_bonds - 2.0 * out_u)
        magnetization = self.model.n_sites - 2 * out_d
        return energy, magnetization
