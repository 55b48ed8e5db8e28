"""Fast CPU Monte Carlo: numba kernels for local updates and the driver behind ``backend=``.

* ``"numba"``: int8 spins, float64 couplings and fields (any Ising model),
  one colour class at a time (checkerboard on square lattices, a greedy
  colouring otherwise); a site flips iff a 53-bit uniform u < g(βΔE).
* ``"multispin"``: bit-coded spins (:mod:`statmech.mc._multispin`) for
  periodic square and cubic lattices with couplings of one magnitude, h = 0.

Square lattices with even sides run the colour-packed checkerboard
(``_packed_kernel``: sublattices as rows with ghost columns, polynomial
bounds on exp, a branch-free loop LLVM vectorises); it makes the same
decisions as the [y, x] kernel (``_square_kernel``, odd sides) on the same
random words, so both run the same chain.
Random numbers come from counter-based streams (:mod:`statmech.mc._rng`), so
results depend on the seed and the backend, never on the number of threads.
Newman & Barkema (1999), ch. 3; the acceptance table and the energy
bookkeeping: docs/derivations.md.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numba as nb
import numpy as np

from statmech.mc import _local, _multispin, _rng
from statmech.models import Ising

__all__ = ["BACKENDS", "FastRun", "choose", "run", "run_instances", "why_not"]

BACKENDS = ("numba", "multispin")
RULES = ("metropolis", "heatbath")
_START_SWEEP = np.uint64(0xFFFFFFFFFFFFFFFF)  # sweep index naming the random start's stream
_SERIAL_BELOW = 8192  # sites: smaller systems run the serial build (no thread start-up per half sweep)
_BLOCK = 1024  # sites per random stream in the graph kernel
_CHUNKS = 64  # row chunks of the checkerboard kernel (the unit of work of a thread; fixed, so results never
              # depend on the thread count)
_TABLES = {}  # rule -> (table, offset) of flip_table
_SQUARE = {}  # (uniform, has_h, parallel) -> compiled checkerboard kernel
_PACKED = {}  # (uniform, has_h, parallel) -> compiled colour-packed checkerboard kernel


class FastRun(NamedTuple):
    """Series from a numba run: energy H and magnetisation Σ s after each recorded sweep."""

    energy: np.ndarray          # (chains, draws) float64
    magnetization: np.ndarray   # (chains, draws) int64
    spins: np.ndarray | None    # (chains, draws, N) int8 when recorded
    kernel: str


# ------------------------------------------------------------ acceptance
_GRID = 32.0          # grid points per unit of x = β ΔE
_XMAX = 40.0          # the table covers |x| <= 40 (heat bath) or 0 <= x <= 40 (Metropolis)


@nb.njit(inline="always")
def _flip_probability(x, rule):
    """Exact flip probability at x = β ΔE: Metropolis min(1, e^{−x}); heat bath 1/(1 + e^{x})."""
    if rule == 0:
        return 1.0 if x <= 0.0 else math.exp(-x)
    return 1.0 / (1.0 + math.exp(x))


@nb.njit(cache=True)
def _fill_table(rule, offset, out):
    """out[0] = 1, out[j + 1] = g((j − offset)/32) for j = 0 … K, out[K + 2] = 0 (g the flip probability)."""
    k_max = out.shape[0] - 3
    out[0] = 1.0
    for j in range(k_max + 1):
        out[j + 1] = _flip_probability((j - offset) / _GRID, rule)
    out[k_max + 2] = 0.0


def flip_table(rule: int):
    """(table, offset): table[j + 1] = g(x_j) on the grid x_j = (j − offset)/32, x_j from 0 (Metropolis) or
    −40 (heat bath) to 40, with table[0] = 1 and a final 0 (see :func:`_bounds`). g is computed by the
    kernels' own ``exp``, so the bounds bracket exactly the g(x) of the exact path."""
    if rule in _TABLES:
        return _TABLES[rule]
    offset = 0 if rule == 0 else int(_XMAX * _GRID)
    k_max = offset + int(_XMAX * _GRID)
    out = np.empty(k_max + 3)
    _fill_table(rule, offset, out)
    out.flags.writeable = False
    _TABLES[rule] = out, offset
    return out, offset


@nb.njit(inline="always")
def _bounds(x, table, offset):
    """(lo, hi) with lo <= g(x) <= hi from the grid x_j = (j − offset)/32: x in (x_{j−1}, x_j] gives
    lo = g(x_j), hi = g(x_{j−1}) (table[0] = 1 and table[K + 2] = 0 cover x beyond the grid)."""
    c = min(max(x * _GRID, -np.float64(offset)), table.shape[0] - 2.0 - offset)  # x·32 is exact
    m = np.int64(math.ceil(c)) + offset
    return table[m + 1], table[m]


@nb.njit(inline="always")
def _decide(x, u, table, offset, rule):
    """Flip iff u < g(x): by the bounds of :func:`_bounds`, computing g(x) only when u lies between them
    (probability hi − lo <= max|g'|/32: below 1/32 for Metropolis, 1/128 for heat bath)."""
    lo, hi = _bounds(x, table, offset)
    flip = u < lo
    if (u >= lo) & (u < hi):
        flip = u < _flip_probability(x, rule)
    return flip


# ------------------------------------------------------------ square lattice
def _square_kernel(uniform: bool, has_h: bool, parallel: bool):
    """The checkerboard kernel with ``uniform`` and ``has_h`` fixed at compile time (closure constants).

    numba keys its disk cache on the closure's values too, so each of the
    (at most eight) variants compiles once.
    """
    if (uniform, has_h, parallel) in _SQUARE:
        return _SQUARE[uniform, has_h, parallel]

    def _square_sweeps(s, Jh, Jv, h, J0, beta, table, offset, rule, key, chain, sweep0, n_sweeps, thin, energy,
                       magnetization, out_e, out_m, out_s, d_e, d_m, buf_k, buf_de):
        """``n_sweeps`` checkerboard sweeps of the int8 grid ``s`` [y, x] in place; returns (H, M).

        Black sites (x + y even) first, then white. φ = h + Jh[y,x] s[y,x+1] +
        Jh[y,x−1] s[y,x−1] + Jv[y,x] s[y+1,x] + Jv[y−1,x] s[y−1,x] (indices
        periodic; open lattices have zero wrap bonds); with ``uniform`` every bond
        is J0 and the bond arrays are not read, without ``has_h`` neither is h.
        Site k (x = 2k + (y + c) mod 2) of row y, colour c, sweep t flips iff
        u < g(β ΔE), u from word k of the stream (chain, t, c, y). A row is one
        branch-free (vectorisable) pass deciding by the table bounds, then a pass
        over the few sites where u fell between them. ``buf_de``, ``buf_amb``:
        (threads, ⌈Lx/2⌉) scratch. After sweep t with (t + 1) % thin == 0,
        record number (t + 1)//thin − 1 (when it fits in ``out_e``).
        """
        Ly, Lx = s.shape
        n_rec = out_e.shape[0]
        n_chunks = buf_k.shape[0]
        per_chunk = (Ly + n_chunks - 1) // n_chunks
        for t in range(n_sweeps):
            sweep = np.uint64(sweep0 + t)
            for colour in range(2):
                for q in nb.prange(n_chunks):  # chunks of rows, each with its own scratch rows
                    amb_k = buf_k[q]
                    amb_de = buf_de[q]
                    for y in range(q * per_chunk, min((q + 1) * per_chunk, Ly)):
                        base = _rng.stream(key, chain, sweep, np.uint64(colour), np.uint64(y))
                        up = y - 1 if y > 0 else Ly - 1
                        dn = y + 1 if y < Ly - 1 else 0
                        x0 = (y + colour) & 1
                        de_row = 0.0
                        dm_row = 0
                        n_amb = 0
                        for k in range((Lx - x0 + 1) // 2):  # no branch on the data: flips decided by the bounds
                            x = x0 + 2 * k
                            left = x - 1 if x > 0 else Lx - 1
                            right = x + 1 if x < Lx - 1 else 0
                            if uniform:
                                phi = J0 * np.float64(np.int64(s[y, right]) + s[y, left] + s[dn, x] + s[up, x])
                            else:
                                phi = (Jh[y, x] * s[y, right] + Jh[y, left] * s[y, left]
                                       + Jv[y, x] * s[dn, x] + Jv[up, x] * s[up, x])
                            if has_h:
                                phi += h[y, x]
                            spin = s[y, x]
                            de = 2.0 * spin * phi
                            u = _rng.uniform53(_rng.mix64(base + np.uint64(k + 1) * _rng.GAMMA))
                            lo, hi = _bounds(beta * de, table, offset)
                            flip = u < lo
                            s[y, x] = spin - 2 * spin * np.int8(flip)
                            dm_row -= 2 * spin * np.int64(flip)
                            de_row += de if flip else 0.0
                            amb_k[n_amb] = k  # kept only when u lies between the bounds
                            amb_de[n_amb] = de
                            n_amb += (u < hi) & (u >= lo)
                        for a in range(n_amb):  # u between the bounds (probability < 1/32 per site): the exact g
                            k = amb_k[a]
                            u = _rng.uniform53(_rng.mix64(base + np.uint64(k + 1) * _rng.GAMMA))
                            if u < _flip_probability(beta * amb_de[a], rule):
                                x = x0 + 2 * k
                                spin = s[y, x]
                                s[y, x] = -spin
                                dm_row -= 2 * spin
                                de_row += amb_de[a]
                        d_e[y] = de_row
                        d_m[y] = dm_row
                for y in range(Ly):
                    energy += d_e[y]
                    magnetization += d_m[y]
            if (t + 1) % thin == 0:
                k = (t + 1) // thin - 1
                if k < n_rec:
                    out_e[k] = energy
                    out_m[k] = magnetization
                    if out_s.shape[0] == n_rec:
                        out_s[k] = s.reshape(-1)
        return energy, magnetization

    kernel = nb.njit(parallel=parallel, cache=True)(_square_sweeps)
    _SQUARE[uniform, has_h, parallel] = kernel
    return kernel


# ------------------------------------------------- square lattice, colour-packed
@nb.njit(inline="always")
def _sum_by_eight(values, n):
    """Σ values[:n] as eight interleaved partial sums added in a fixed order (vectorisable, deterministic)."""
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
    n8 = n - n % 8
    for k in range(0, n8, 8):
        a0 += values[k]
        a1 += values[k + 1]
        a2 += values[k + 2]
        a3 += values[k + 3]
        a4 += values[k + 4]
        a5 += values[k + 5]
        a6 += values[k + 6]
        a7 += values[k + 7]
    for k in range(n8, n):
        a0 += values[k]
    return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))


# Bounds on exp for the colour-packed kernel: a polynomial instead of a table (no gather, so the loop vectorises).
_LOG2E = 1.4426950408889634  # log2(e); a data argument of the kernel (tests break it for a negative control)
_LN2 = 0.6931471805599453
_EXP_CLAMP = 64.0             # |z| beyond which exp(z) is bounded by its value at ±64
_EXP_MARGIN = 2.0**-16        # relative half-width of the bounds: 3x the 4.9e-6 error of the polynomial
_ROUNDER = 6755399441055744.0  # 1.5·2^52: adding it rounds |t| < 2^51 to an integer in the low mantissa bits
_ROUNDER_BITS = np.int64(0x4338000000000000)  # its bit pattern


@nb.njit(inline="always")
def _exp_bounds(z, log2e):
    """(lo, hi) with lo <= exp(z) <= hi for the libm exp, hi/lo − 1 ≈ 2^-15.

    exp(z) = 2^n e^w, n = round(z log2 e) (exactly, by adding 1.5·2^52),
    w = (z log2 e − n) ln 2 in [−0.35, 0.35]; e^w by its Taylor polynomial of
    degree 5 in Estrin's form (relative error <= |w|^6 e^{2|w|} / 6! < 4.9e-6),
    2^n from its exponent bits (|n| <= 93: no subnormal). lo, hi = that value
    × (1 ∓ 2^-16), a margin three times the polynomial's error, far above the
    roundings' (< 1e-13 together) and libm's (1 ulp). Beyond |z| = 64:
    lo = 0 below, hi = inf above (Muller, *Elementary Functions*, 3rd ed., ch. 11).
    """
    zc = min(z, _EXP_CLAMP)
    zc = max(zc, -_EXP_CLAMP)
    shifted = zc * log2e + _ROUNDER  # t + 1.5·2^52: its last bits are n = round(t), exactly
    n = shifted - _ROUNDER
    w = (zc * log2e - n) * _LN2
    w2 = w * w  # Estrin's scheme: short dependency chains, so many sites are in flight at once
    p = ((1.0 + w) + w2 * (0.5 + w * (1.0 / 6.0))) + (w2 * w2) * (1.0 / 24.0 + w * (1.0 / 120.0))
    two_n = np.int64((np.float64(shifted).view(np.int64) - _ROUNDER_BITS + 1023) << 52).view(np.float64)
    value = p * two_n
    lo = value * (1.0 - _EXP_MARGIN)
    hi = value * (1.0 + _EXP_MARGIN)
    lo = 0.0 if z < -_EXP_CLAMP else lo
    hi = math.inf if z > _EXP_CLAMP else hi
    return lo, hi


@nb.njit(inline="always")
def _flip_bounds(x, rule, log2e):
    """(lo, hi) with lo <= g(x) <= hi, g as computed by :func:`_flip_probability`: from :func:`_exp_bounds`
    through the same monotone float operations (Metropolis 1 or e^{−x}; heat bath 1/(1 + e^x))."""
    if rule == 0:
        lo, hi = _exp_bounds(-x, log2e)
        lo = 1.0 if x <= 0.0 else lo
        hi = 1.0 if x <= 0.0 else hi
        return lo, hi
    e_lo, e_hi = _exp_bounds(x, log2e)
    return 1.0 / (1.0 + e_hi), 1.0 / (1.0 + e_lo)


def _packed_kernel(rule: int, uniform: bool, has_h: bool, parallel: bool):
    """The colour-packed checkerboard kernel with ``rule``, ``uniform`` and ``has_h`` fixed at compile time."""
    if (rule, uniform, has_h, parallel) in _PACKED:
        return _PACKED[rule, uniform, has_h, parallel]

    def _field(k, p, across, above, below, right_bonds, left_bonds, down_bonds, up_bonds, field, J0):
        """φ of site k: the order of the [y, x] kernel (right, left, down, up, then h)."""
        s_left = across[k + p]
        s_right = across[k + p + 1]
        s_down = below[k + 1]
        s_up = above[k + 1]
        if uniform:
            phi = J0 * np.float64(np.int64(s_right) + s_left + s_down + s_up)
        else:
            phi = (right_bonds[k + 1] * s_right + left_bonds[k + p] * s_left + down_bonds[k] * s_down
                   + up_bonds[k] * s_up)
        if has_h:
            phi += field[k]
        return phi

    local_field = nb.njit(inline="always")(_field)

    def _row(P, H, V, F, J0, beta, log2e, prefix, c, y, amb, de_buf, d_e, d_m):
        """Update row y of colour c: one branch-free (vectorised) pass deciding by the bounds of
        :func:`_flip_bounds`, then the exact g for the sites whose u fell between them."""
        Ly = P.shape[1]
        W = P.shape[2] - 2
        o = 1 - c
        p = (y + c) & 1
        up = y - 1 if y > 0 else Ly - 1
        dn = y + 1 if y < Ly - 1 else 0
        base = _rng.stream_from_prefix(prefix, np.uint64(y))  # the stream (chain, sweep, c, y)
        spins = P[c, y]
        across = P[o, y]
        above = P[o, up]
        below = P[o, dn]
        right_bonds = H[c, y]
        left_bonds = H[o, y]
        down_bonds = V[c, y]
        up_bonds = V[o, up]
        field = F[c, y]
        dm = 0
        n_amb = 0
        counter = base
        for k in range(W):
            phi = local_field(k, p, across, above, below, right_bonds, left_bonds, down_bonds, up_bonds, field, J0)
            spin = spins[k + 1]
            de = 2.0 * spin * phi
            counter += _rng.GAMMA  # word k + 1 of the stream
            u = _rng.uniform53(_rng.mix64(counter))
            lo, hi = _flip_bounds(beta * de, rule, log2e)
            flip = u < lo
            between = (u >= lo) & (u < hi)
            spins[k + 1] = spin - 2 * spin * np.int8(flip)
            dm -= 2 * np.int64(spin) * np.int64(flip)
            de_buf[k] = de if flip else 0.0
            amb[k] = between
            n_amb += np.int64(between)
        de_row = _sum_by_eight(de_buf, W)
        if n_amb:  # u between the bounds (probability below 1e-4 per site): the exact g
            for k in range(W):
                if amb[k]:
                    phi = local_field(k, p, across, above, below, right_bonds, left_bonds, down_bonds, up_bonds,
                                      field, J0)
                    spin = spins[k + 1]
                    de = 2.0 * spin * phi
                    u = _rng.uniform53(_rng.mix64(base + np.uint64(k + 1) * _rng.GAMMA))
                    if u < _flip_probability(beta * de, rule):
                        spins[k + 1] = -spin
                        dm -= 2 * spin
                        de_row += de
        spins[0] = spins[W]
        spins[W + 1] = spins[1]
        d_e[c, y] = de_row
        d_m[c, y] = dm

    row = nb.njit(inline="always")(_row)

    def _packed_sweeps(P, H, V, F, J0, beta, log2e, key, chain, sweep0, n_sweeps, thin, energy,
                       magnetization, out_e, out_m, out_s, d_e, d_m, buf_amb, buf_de):
        """``n_sweeps`` checkerboard sweeps of the colour-packed spins ``P`` in place; returns (H, M).

        P[c, y, 1 + k] is the spin at x = 2k + (y + c) mod 2 of row y (colour c:
        0 black, x + y even; 1 white), P[c, y, 0] and P[c, y, W + 1] periodic
        copies of P[c, y, W] and P[c, y, 1] (W = Lx/2). Its left and right
        neighbours are P[1 − c, y, k + p] and P[1 − c, y, k + p + 1]
        (p = (y + c) mod 2), the vertical ones P[1 − c, y ± 1, 1 + k].
        H[c, y, 1 + k] = Jh[y, x] (ghosts as for P), V[c, y, k] = Jv[y, x],
        F[c, y, k] = h[y, x]; φ = H[c,y,1+k] s_right + H[1−c,y,k+p] s_left +
        V[c,y,k] s_down + V[1−c,y−1,k] s_up (+ F), the order of the [y, x] kernel.
        Site k of row y, colour c, sweep t flips iff u < g(βΔE), u from word
        k of the stream (chain, t, c, y): the decisions of ``_square_kernel``.

        Rows are split into chunks, one per thread. In a chunk [a, b), black row y
        and then white row y − 1 (a < y − 1) are updated in one pass, so each bond
        row is read from memory once per sweep; the white rows a and b − 1, whose
        black neighbours lie in other chunks, follow after all black rows.
        Results do not depend on the chunks: every row has its own stream and
        the row sums are added in a fixed order.
        """
        Ly = P.shape[1]
        n_rec = out_e.shape[0]
        n_chunks = buf_amb.shape[0]
        per_chunk = (Ly + n_chunks - 1) // n_chunks
        for t in range(n_sweeps):
            sweep = np.uint64(sweep0 + t)
            black = _rng.stream_prefix(key, chain, sweep, np.uint64(0))
            white = _rng.stream_prefix(key, chain, sweep, np.uint64(1))
            for q in nb.prange(n_chunks):
                a = q * per_chunk
                b = min(a + per_chunk, Ly)
                for y in range(a, b):
                    row(P, H, V, F, J0, beta, log2e, black, 0, y, buf_amb[q], buf_de[q],
                        d_e, d_m)
                    if y - 1 > a:
                        row(P, H, V, F, J0, beta, log2e, white, 1, y - 1, buf_amb[q],
                            buf_de[q], d_e, d_m)
            for q in nb.prange(n_chunks):
                a = q * per_chunk
                b = min(a + per_chunk, Ly)
                if a < b:
                    row(P, H, V, F, J0, beta, log2e, white, 1, a, buf_amb[q], buf_de[q],
                        d_e, d_m)
                if b - 1 > a:
                    row(P, H, V, F, J0, beta, log2e, white, 1, b - 1, buf_amb[q],
                        buf_de[q], d_e, d_m)
            for c in range(2):
                for y in range(Ly):
                    energy += d_e[c, y]
                    magnetization += d_m[c, y]
            if (t + 1) % thin == 0:
                k = (t + 1) // thin - 1
                if k < n_rec:
                    out_e[k] = energy
                    out_m[k] = magnetization
                    if out_s.shape[0] == n_rec:
                        _unpack(P, out_s[k])
        return energy, magnetization

    kernel = nb.njit(parallel=parallel, cache=True)(_packed_sweeps)
    _PACKED[rule, uniform, has_h, parallel] = kernel
    return kernel


@nb.njit(cache=True)
def _unpack(P, out):
    """The flat spins s[y·Lx + x] of the colour-packed P (see ``_packed_kernel``)."""
    Ly = P.shape[1]
    W = P.shape[2] - 2
    for c in range(2):
        for y in range(Ly):
            p = (y + c) & 1
            for k in range(W):
                out[y * 2 * W + 2 * k + p] = P[c, y, k + 1]


def _pack(grid, ghosts):
    """(2, Ly, W [+ 2]) colour-packed copy of the [y, x] array ``grid`` (with periodic ghost columns)."""
    Ly, Lx = grid.shape
    W = Lx // 2
    parity = np.arange(Ly)[:, None] & 1
    out = np.empty((2, Ly, W + 2 if ghosts else W), grid.dtype)
    for c in range(2):
        x = 2 * np.arange(W)[None, :] + ((parity + c) & 1)
        values = np.take_along_axis(grid, x, axis=1)
        if ghosts:
            out[c, :, 1:W + 1] = values
            out[c, :, 0] = values[:, -1]
            out[c, :, W + 1] = values[:, 0]
        else:
            out[c] = values
    return out


# ------------------------------------------------------------- any graph
def _graph_sweeps_py(s, order, class_ptr, nb_ptr, nb_idx, nb_J, h, beta, table, offset, rule, key, chain, sweep0,
                     n_sweeps, thin, energy, magnetization, out_e, out_m, out_s, d_e, d_m):
    """Colour-class sweeps of the int8 spins ``s`` (N,) in place; returns (H, M).

    Class c holds the sites order[class_ptr[c]:class_ptr[c+1]]; they are
    updated in blocks of 1024, site q of block b of class c in sweep t
    drawing word q of the stream (chain, t, c, b). φ_i = h_i + Σ_k nb_J[k]
    s[nb_idx[k]] over k in nb_ptr[i]:nb_ptr[i+1] (self-bonds excluded).
    """
    n_classes = class_ptr.shape[0] - 1
    n_rec = out_e.shape[0]
    for t in range(n_sweeps):
        sweep = np.uint64(sweep0 + t)
        for c in range(n_classes):
            first = class_ptr[c]
            size = class_ptr[c + 1] - first
            n_blocks = (size + _BLOCK - 1) // _BLOCK
            for b in nb.prange(n_blocks):
                counter = _rng.stream(key, chain, sweep, np.uint64(c), np.uint64(b))
                de_block = 0.0
                dm_block = 0
                for q in range(first + b * _BLOCK, min(first + (b + 1) * _BLOCK, first + size)):
                    i = order[q]
                    phi = h[i]
                    for k in range(nb_ptr[i], nb_ptr[i + 1]):
                        phi += nb_J[k] * s[nb_idx[k]]
                    spin = s[i]
                    de = 2.0 * spin * phi
                    counter += _rng.GAMMA
                    u = _rng.uniform53(_rng.mix64(counter))
                    if _decide(beta * de, u, table, offset, rule):
                        s[i] = -spin
                        de_block += de
                        dm_block -= 2 * spin
                d_e[b] = de_block
                d_m[b] = dm_block
            for b in range(n_blocks):
                energy += d_e[b]
                magnetization += d_m[b]
        if (t + 1) % thin == 0:
            k = (t + 1) // thin - 1
            if k < n_rec:
                out_e[k] = energy
                out_m[k] = magnetization
                if out_s.shape[0] == n_rec:
                    out_s[k] = s
    return energy, magnetization


_graph_parallel = nb.njit(parallel=True, cache=True)(_graph_sweeps_py)
_graph_serial = nb.njit(cache=True)(_graph_sweeps_py)


# ------------------------------------------------------------ model layouts
def _is_square_grid(model) -> bool:
    lattice = model.lattice
    return lattice.kind == "square" and _local.two_colourable_lattice(lattice)


def _is_packable(model) -> bool:
    """Square lattice with both sides even (periodic or open): the colour-packed kernel applies."""
    return _is_square_grid(model) and all(side % 2 == 0 for side in model.lattice.shape)


class _SquareLayout:
    """[y, x] grid of int8 spins with (Jh, Jv) bond arrays and the field, for the checkerboard kernel."""

    name = "numba_checkerboard"

    def __init__(self, model):
        Lx, Ly = model.lattice.shape
        self.shape = (Ly, Lx)
        J0 = model.uniform_coupling()
        self.uniform = bool(J0 is not None and model.lattice.periodic)
        self.J0 = float(J0) if self.uniform else 0.0
        if self.uniform:
            self.Jh = self.Jv = np.zeros((1, 1))
        else:
            Jh, Jv = model.bond_arrays()
            self.Jh = np.ascontiguousarray(Jh, np.float64)
            self.Jv = np.ascontiguousarray(Jv, np.float64)
        self.has_h = bool(model.has_field)
        self.h = (np.ascontiguousarray(np.asarray(model.field, np.float64).reshape(Ly, Lx)) if self.has_h
                  else np.zeros((1, 1)))
        self.d_e = np.zeros(Ly)
        self.d_m = np.zeros(Ly, np.int64)
        chunks = min(Ly, _CHUNKS)
        self.buf_k = np.zeros((chunks, (Lx + 1) // 2 + 1), np.int64)
        self.buf_de = np.zeros((chunks, (Lx + 1) // 2 + 1))
        self.sweeps = _square_kernel(self.uniform, self.has_h, model.n_sites >= _SERIAL_BELOW)

    def to_state(self, spins):
        return np.ascontiguousarray(spins.reshape(self.shape), np.int8)

    def __call__(self, state, beta, rule, key, chain, sweep0, n_sweeps, thin, energy, magnetization,
                 out_e, out_m, out_s):
        table, offset = flip_table(rule)
        return self.sweeps(state, self.Jh, self.Jv, self.h, self.J0, beta, table, offset,
                           rule, key, chain, np.uint64(sweep0), n_sweeps, thin, energy, magnetization, out_e, out_m,
                           out_s, self.d_e, self.d_m, self.buf_k, self.buf_de)


class _PackedLayout:
    """Colour-packed spins, bonds and field of a square lattice with even sides, for ``_packed_kernel``."""

    name = "numba_checkerboard"

    def __init__(self, model):
        Lx, Ly = model.lattice.shape
        self.shape = (Ly, Lx)
        J0 = model.uniform_coupling()
        self.uniform = bool(J0 is not None and model.lattice.periodic)
        self.J0 = float(J0) if self.uniform else 0.0
        if self.uniform:
            self.H = np.zeros((2, 1, 1))
            self.V = np.zeros((2, 1, 1))
        else:
            Jh, Jv = model.bond_arrays()
            self.H = _pack(np.asarray(Jh, np.float64), ghosts=True)
            self.V = _pack(np.asarray(Jv, np.float64), ghosts=False)
        self.has_h = bool(model.has_field)
        self.F = (_pack(np.asarray(model.field, np.float64).reshape(Ly, Lx), ghosts=False) if self.has_h
                  else np.zeros((2, 1, 1)))
        self.d_e = np.zeros((2, Ly))
        self.d_m = np.zeros((2, Ly), np.int64)
        self.parallel = model.n_sites >= _SERIAL_BELOW

    def to_state(self, spins):
        return _pack(np.asarray(spins, np.int8).reshape(self.shape), ghosts=True)

    def __call__(self, state, beta, rule, key, chain, sweep0, n_sweeps, thin, energy, magnetization,
                 out_e, out_m, out_s):
        sweeps = _packed_kernel(rule, self.uniform, self.has_h, self.parallel)
        chunks = min(self.shape[0], nb.get_num_threads()) if self.parallel else 1
        W = self.shape[1] // 2
        buf_amb = np.zeros((chunks, W), np.uint8)
        buf_de = np.zeros((chunks, W))
        return sweeps(state, self.H, self.V, self.F, self.J0, beta, _LOG2E, key, chain,
                           np.uint64(sweep0), n_sweeps, thin, energy, magnetization, out_e, out_m, out_s,
                           self.d_e, self.d_m, buf_amb, buf_de)


class _GraphLayout:
    """Neighbour list (CSR) and colour classes of any Ising model, for the graph kernel."""

    name = "numba_colored"

    def __init__(self, model):
        n = model.n_sites
        edges = np.asarray(model.edges, np.int64)
        couplings = np.asarray(model.couplings, np.float64)
        off = edges[:, 0] != edges[:, 1]
        ends = np.concatenate([edges[off, 0], edges[off, 1]])
        others = np.concatenate([edges[off, 1], edges[off, 0]])
        values = np.concatenate([couplings[off], couplings[off]])
        order = np.argsort(ends, kind="stable")
        self.nb_idx = others[order].astype(np.int32)
        self.nb_J = values[order]
        self.nb_ptr = np.concatenate([[0], np.cumsum(np.bincount(ends, minlength=n))]).astype(np.int64)
        if _local.two_colourable_lattice(model.lattice):
            coords = np.indices(tuple(reversed(model.lattice.shape))).reshape(len(model.lattice.shape), -1)
            colours = coords.sum(0) % 2
        else:
            colours = np.asarray(_local.graph_coloring(model))
        self.order = np.argsort(colours, kind="stable").astype(np.int32)
        self.class_ptr = np.concatenate([[0], np.cumsum(np.bincount(colours))]).astype(np.int64)
        self.h = np.asarray(model.field, np.float64)
        n_blocks = max(1, int(np.max(np.diff(self.class_ptr)) + _BLOCK - 1) // _BLOCK)
        self.d_e = np.zeros(n_blocks)
        self.d_m = np.zeros(n_blocks, np.int64)
        self.sweeps = _graph_serial if n < _SERIAL_BELOW else _graph_parallel

    def to_state(self, spins):
        return np.ascontiguousarray(spins, np.int8)

    def __call__(self, state, beta, rule, key, chain, sweep0, n_sweeps, thin, energy, magnetization,
                 out_e, out_m, out_s):
        table, offset = flip_table(rule)
        return self.sweeps(state, self.order, self.class_ptr, self.nb_ptr, self.nb_idx, self.nb_J, self.h,
                           beta, table, offset, rule, key, chain, np.uint64(sweep0), n_sweeps, thin, energy, magnetization,
                           out_e, out_m, out_s, self.d_e, self.d_m)


# ------------------------------------------------------------- selection
def why_not(model, method, backend, n_chains=1) -> str | None:
    """Why ``backend`` cannot run ``method`` on ``model`` (None when it can)."""
    if method not in RULES:
        return f"the numba backends run local updates ({', '.join(RULES)}), not {method!r}"
    if not isinstance(model, Ising):
        return f"needs an sm.Ising model, got {type(model).__name__}"
    if backend == "numba":
        return None
    if backend == "multispin":
        return _multispin.why_not(model, n_chains)
    raise ValueError(f"unknown fast backend {backend!r}; use one of {BACKENDS}")


def choose(model, method, backend, n_chains=1) -> str | None:
    """The numba backend to run: ``backend`` when it applies (else ValueError), None for a JAX one.

    ``"auto"`` takes ``"multispin"`` when the model is bit-codable and its
    words are at least a quarter full (16 of 64 bits: Lx/2 divisible by 16,
    or enough chains to fill replica words), else ``"numba"``.
    """
    if backend in BACKENDS:
        reason = why_not(model, method, backend, n_chains)
        if reason is not None:
            raise ValueError(f"backend {backend!r} does not apply: {reason}")
        return backend
    if backend == "auto" and method in RULES and isinstance(model, Ising):
        if why_not(model, method, "multispin", n_chains) is None and _multispin.fill(model, n_chains) >= 0.25:
            return "multispin"
        return "numba"
    return None


def _layout(model, backend, n_chains, multispin_layout=None, bits=None):
    if backend == "multispin":
        return _multispin.layout(model, n_chains, multispin_layout, bits)
    if _is_packable(model):
        return _PackedLayout(model)
    return _SquareLayout(model) if _is_square_grid(model) else _GraphLayout(model)


def start_spins(model, start, key, chain):
    """Start configuration of one chain: all +1, or ±1 from the stream (chain, start, 0, 0)."""
    n = model.n_sites
    if start == "up":
        return np.ones(n, np.int8)
    if start == "random":
        words = _rng.words(key, chain, _START_SWEEP, 0, 0, (n + 63) // 64)
        bits = (words[:, None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)
        return (1 - 2 * bits.reshape(-1)[:n].astype(np.int8)).astype(np.int8)
    raise ValueError(f"start must be 'random' or 'up', got {start!r}")


def run(model, beta, method, backend, *, n_chains, n_sweeps, burn_in, thin, seed, start="random",
        record_spins=False, stream=0, multispin_layout=None, bits=None) -> FastRun:
    """Run ``n_chains`` chains of ``method`` with a numba ``backend`` at one ``beta``.

    Sweeps 0 … burn_in − 1 are discarded; then H and M are recorded after
    every ``thin``-th of ``n_sweeps`` sweeps (and the spins, when
    ``record_spins``). Chain c uses the streams (key(seed, stream), c, sweep,
    …): the output is a pure function of (seed, stream, backend, arguments).
    ``multispin_layout`` ("lattice" or "replica") and ``bits`` (spins per
    word of the lattice layout) override the automatic choice.
    """
    if method not in RULES:
        raise ValueError(f"method must be one of {RULES}, got {method!r}")
    beta = float(beta)
    if not math.isfinite(beta) or beta < 0:
        raise ValueError(f"beta must be one finite number >= 0, got {beta!r}; use 1e6 for the ground state")
    rule = RULES.index(method)
    key = _rng.key(seed, stream)
    layout = _layout(model, backend, n_chains, multispin_layout, bits)
    n_draws = n_sweeps // thin
    n = model.n_sites
    starts = np.stack([start_spins(model, start, key, c) for c in range(n_chains)])
    energy = np.empty((n_chains, n_draws))
    magnetization = np.empty((n_chains, n_draws), np.int64)
    spins = np.empty((n_chains, n_draws, n), np.int8) if record_spins else None
    name = f"{layout.name}_{method}"
    if isinstance(layout, _multispin.ReplicaLayout):
        for group in range(layout.groups):
            chains = slice(64 * group, min(64 * (group + 1), n_chains))
            count = chains.stop - chains.start
            state = layout.to_state(starts[chains])
            if burn_in:
                layout.run_group(state, group, beta, method, key, 0, burn_in, 1, 0)
            if not record_spins:
                e, m = layout.run_group(state, group, beta, method, key, burn_in, n_sweeps, thin, n_draws)
                energy[chains], magnetization[chains] = e.T[:count], m.T[:count]
                continue
            for d in range(n_draws):
                e, m = layout.run_group(state, group, beta, method, key, burn_in + d * thin, thin, thin, 1)
                energy[chains, d], magnetization[chains, d] = e[0, :count], m[0, :count]
                spins[chains, d] = layout.spins(state, count)
        return FastRun(energy, magnetization, spins, name)
    if isinstance(layout, _multispin.LatticeLayout):
        for c in range(n_chains):
            state = layout.to_state(starts[c])
            chain = np.uint64(c)
            if burn_in:
                layout.run_chain(state, beta, method, key, chain, 0, burn_in, 1, 0)
            if not record_spins:
                energy[c], magnetization[c] = layout.run_chain(state, beta, method, key, chain, burn_in, n_sweeps,
                                                               thin, n_draws)
                continue
            for d in range(n_draws):
                e, m = layout.run_chain(state, beta, method, key, chain, burn_in + d * thin, thin, thin, 1)
                energy[c, d], magnetization[c, d] = e[0], m[0]
                spins[c, d] = layout.spins(state)
        return FastRun(energy, magnetization, spins, name)
    empty_e, empty_m, empty_s = np.empty(0), np.empty(0, np.int64), np.empty((0, n), np.int8)
    for c in range(n_chains):
        state = layout.to_state(starts[c])
        e0 = float(model.energy(starts[c].astype(np.float64)))
        m0 = int(starts[c].sum(dtype=np.int64))
        chain = np.uint64(c)
        if burn_in:
            e0, m0 = layout(state, beta, rule, key, chain, 0, burn_in, 1, e0, m0, empty_e, empty_m, empty_s)
        out_s = spins[c] if record_spins else empty_s
        layout(state, beta, rule, key, chain, burn_in, n_sweeps, thin, e0, m0, energy[c], magnetization[c],
               out_s)
    return FastRun(energy, magnetization, spins, name)


def run_instances(models, beta, method="metropolis", *, n_sweeps, burn_in=0, thin=1, seed=0,
                  start="random") -> FastRun:
    """One chain per disorder instance, 64 instances per word (multispin replicas, ±J bonds bit-packed).

    ``models``: Ising models on one periodic square or cubic lattice (every
    side even, no field) whose couplings share one magnitude |J| and differ
    in sign, e.g. Edwards–Anderson ±J instances. Returns a :class:`FastRun`
    with one row per instance: H and M after every ``thin``-th of
    ``n_sweeps`` sweeps (after ``burn_in`` discarded ones). Instance k uses
    the streams of chain k under key(seed).
    """
    models = list(models)
    if not models:
        raise ValueError("models is empty; pass at least one Ising model")
    if method not in RULES:
        raise ValueError(f"method must be one of {RULES}, got {method!r}")
    first = models[0]
    for k, model in enumerate(models):
        if not isinstance(model, Ising):
            raise TypeError(f"models[{k}] is a {type(model).__name__}, not an sm.Ising model")
        reason = _multispin.why_not(model)
        if reason is not None:
            raise ValueError(f"models[{k}]: {reason}")
        if model.lattice != first.lattice or not np.array_equal(np.asarray(model.edges), np.asarray(first.edges)):
            raise ValueError(f"models[{k}] has another lattice than models[0]; replicas share one lattice")
        if abs(float(model.couplings[0])) != abs(float(first.couplings[0])):
            raise ValueError(f"models[{k}] has |J| = {abs(float(model.couplings[0]))}, models[0] "
                             f"{abs(float(first.couplings[0]))}; replicas share one |J| (scale beta instead)")
    beta = float(beta)
    if not math.isfinite(beta) or beta < 0:
        raise ValueError(f"beta must be one finite number >= 0, got {beta!r}")
    n_chains = len(models)
    layout = _multispin.ReplicaLayout(models, n_chains)
    key = _rng.key(seed)
    n_draws = n_sweeps // thin
    energy = np.empty((n_chains, n_draws))
    magnetization = np.empty((n_chains, n_draws), np.int64)
    for group in range(layout.groups):
        chains = slice(64 * group, min(64 * (group + 1), n_chains))
        count = chains.stop - chains.start
        starts = np.stack([start_spins(first, start, key, c) for c in range(chains.start, chains.stop)])
        state = layout.to_state(starts)
        if burn_in:
            layout.run_group(state, group, beta, method, key, 0, burn_in, 1, 0)
        e, m = layout.run_group(state, group, beta, method, key, burn_in, n_sweeps, thin, n_draws)
        energy[chains], magnetization[chains] = e.T[:count], m.T[:count]
    return FastRun(energy, magnetization, None, f"{layout.name}_{method}")
