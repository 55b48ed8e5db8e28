"""Fused checkerboard Metropolis and heat bath in JAX, for accelerators: the ``"jax-fused"`` backend.

Applies to the periodic square lattice (both sides even) with no field and
couplings of one magnitude (a uniform J of either sign, or ±|J| bonds).
Spins are int8 in two packed sublattices; a half sweep is one elementwise
computation whose random words are counter-based hashes computed in
registers, so no random array is written to memory, and a move is accepted
with probability p to within 2⁻³³. Energies and magnetisations are exact
integers. Preis et al., J. Comput. Phys. 228, 4468 (2009); Romero, Bisson,
Fatica & Bernaschi, Comput. Phys. Commun. 256, 107473 (2020). The layout and
the hash: docs/derivations.md.
"""
from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from statmech._compile_cache import ensure_compile_cache
from statmech.mc import _rng
from statmech.mc._hash import LAYOUTS, check_layout, default_layout, lowbias32, neighbour_reader
from statmech.mc._fast import FastRun
from statmech.models import Ising

__all__ = ["BACKEND", "RULES", "why_not", "run", "FusedLattice", "acceptance_table", "decision_pattern", "LAYOUTS",
           "default_layout", "hash_words", "stream_keys", "sweeps", "chain_keys", "start_spins"]

BACKEND = "jax-fused"
RULES = ("metropolis", "heatbath")
_START_WORD = 0xFFFFFFFE  # stream word of the random start (colour c uses _START_WORD + c); sweeps use 2t + c
_GOLDEN = 0x9E3779B9


# ------------------------------------------------------------------- hashing
def _u32(value):
    return jnp.uint32(value)


def stream_keys(keys, words):
    """(A, B) of the stream words ``words`` (uint32, any shape) for every chain: shape words.shape + (chains,).

    A = f(f(w ⊕ K₀) ⊕ K₁), B = f((A + K₁) ⊕ 0x9E3779B9), with ``keys`` (chains, 2) uint32.
    """
    words = jnp.asarray(words, jnp.uint32)[..., None]
    k0, k1 = keys[:, 0], keys[:, 1]
    a = lowbias32(lowbias32(words ^ k0) ^ k1)
    b = lowbias32((a + k1) ^ _u32(_GOLDEN))
    return a, b


def hash_words(a, b, shape):
    """Random uint32 words u[chain, y, k] = f(f((y + A)·W + k) ⊕ B) for stream keys ``a``, ``b`` (chains,).

    (y + A)·W + k = y·W + k + A·W (mod 2³²): distinct sites get distinct
    inputs. A is added to the row first so that no part of the expression is
    loop-invariant (XLA would hoist a site-index array out of the sweep loop
    and read it from memory, 4 bytes per site). ``shape``: (Ly, W). Returns
    (chains, Ly, W) uint32.
    """
    rows = jax.lax.broadcasted_iota(jnp.uint32, (1,) + tuple(shape), 1)
    cols = jax.lax.broadcasted_iota(jnp.uint32, (1,) + tuple(shape), 2)
    site = (rows + a[:, None, None]) * _u32(shape[1]) + cols
    return lowbias32(lowbias32(site) ^ b[:, None, None])


def chain_keys(seed: int, stream: int, n_chains: int) -> np.ndarray:
    """(n_chains, 2) uint32: the halves of ``_rng.key(seed, stream, chain)`` for every chain."""
    words = np.array([int(_rng.key(seed, stream, c)) for c in range(n_chains)], dtype=np.uint64)
    return np.stack([(words & np.uint64(0xFFFFFFFF)).astype(np.uint32),
                     (words >> np.uint64(32)).astype(np.uint32)], axis=-1)


# ------------------------------------------------------------------ geometry
def why_not(model, method, n_chains=1) -> str | None:
    """Why ``"jax-fused"`` cannot run ``method`` on ``model`` (None when it can)."""
    if method not in RULES:
        return f"backend 'jax-fused' runs local updates ({', '.join(RULES)}), not {method!r}"
    if not isinstance(model, Ising):
        return f"needs an sm.Ising model, got {type(model).__name__}"
    lattice = model.lattice
    if lattice.kind != "square" or not model.bonds_from_lattice:
        return "backend 'jax-fused' runs the square lattice (Ising.square) only"
    if not lattice.periodic or any(side % 2 or side < 2 for side in lattice.shape):
        return f"backend 'jax-fused' needs a periodic square lattice with even sides >= 2, got {lattice.shape}"
    if np.ndim(model.couplings) != 1 or np.ndim(model.field) != 1:
        return "backend 'jax-fused' runs one model (no batch axes on couplings or field)"
    if model.has_field:
        return "backend 'jax-fused' needs h = 0 (use backend 'numba' or 'reference' with a field)"
    if _magnitude(model) is None:
        return "backend 'jax-fused' needs couplings of one magnitude |J| > 0 (uniform J or ±J bonds)"
    return None


def _magnitude(model):
    """(J_eff, signed): the common J when uniform (signed=False), else |J| when all |J_e| agree, else None."""
    uniform = model.uniform_coupling()
    if uniform is not None:
        return (float(uniform), False) if uniform != 0 else None
    couplings = np.asarray(model.couplings, dtype=np.float64)
    magnitude = abs(float(couplings[0]))
    if magnitude == 0 or not np.all(np.abs(couplings) == magnitude):
        return None
    return magnitude, True


class FusedLattice:
    """Static layout of one model: shape (Ly, Lx/2) per colour, J_eff and the packed bond-sign bits.

    ``signs[c]`` (uint8, (Ly, Lx/2)) has bit j set when the bond from a site
    of colour c to its neighbour slot j is negative; slots are 0: (y, k),
    1: (y, k − 1) for offset 0 and (y, k + 1) for offset 1, 2: (y + 1, k),
    3: (y − 1, k) of the other colour. None for a uniform J.
    """

    def __init__(self, model):
        Lx, Ly = model.lattice.shape
        self.Lx, self.Ly, self.width = Lx, Ly, Lx // 2
        self.shape = (Ly, Lx // 2)
        self.coupling, signed = _magnitude(model)
        self.signs = self._sign_bits(model) if signed else None

    def _sign_bits(self, model):
        Jh, Jv = model.bond_arrays()  # Jh[y, x]: (y, x)–(y, x+1); Jv[y, x]: (y, x)–(y+1, x)
        y = np.arange(self.Ly)[:, None]
        k = np.arange(self.width)[None, :]
        out = []
        for colour in (0, 1):
            o = (y + colour) % 2
            x = 2 * k + o
            left = (x - 1) % self.Lx
            bonds = (np.where(o == 0, Jh[y, x], Jh[y, left]),   # slot 0: x + 1 (o = 0) or x − 1 (o = 1)
                     np.where(o == 0, Jh[y, left], Jh[y, x]),   # slot 1: the other horizontal neighbour
                     Jv[y, x],                                   # slot 2: y + 1
                     Jv[(y - 1) % self.Ly, x])                   # slot 3: y − 1
            bits = sum((bond < 0).astype(np.uint8) << j for j, bond in enumerate(bonds))
            out.append(bits.astype(np.uint8))
        return np.stack(out)

    def pack(self, spins):
        """(chains, N) ±1 in site order y·Lx + x → (chains, 2, Ly, Lx/2) int8."""
        grid = np.asarray(spins, np.int8).reshape(-1, self.Ly, self.Lx)
        even, odd = grid[..., 0::2], grid[..., 1::2]
        odd_row = (np.arange(self.Ly) % 2 == 1)[:, None]
        black = np.where(odd_row, odd, even)
        white = np.where(odd_row, even, odd)
        return np.stack([black, white], axis=1)

    def unpack(self, packed):
        """Inverse of :meth:`pack` (JAX arrays): (..., 2, Ly, Lx/2) → (..., N)."""
        black, white = packed[..., 0, :, :], packed[..., 1, :, :]
        odd_row = (jnp.arange(self.Ly) % 2 == 1)[:, None]
        even = jnp.where(odd_row, white, black)
        odd = jnp.where(odd_row, black, white)
        grid = jnp.stack([even, odd], axis=-1)
        return grid.reshape(grid.shape[:-3] + (self.Ly * self.Lx,))


def acceptance_table(beta: float, method: str, coupling: float):
    """(thresholds uint32 (5,), always bool (5,)) for index i = (v + 4)/2, v ∈ {−4, −2, 0, 2, 4}.

    Metropolis: v = sσ, p = min(1, exp(−2β J_eff v)); heat bath: v = σ,
    p = 1/(1 + exp(−2β J_eff σ)). A move with index i is taken when the
    uniform word u < thresholds[i] or always[i]; thresholds = round(p·2³²),
    so P(taken) = thresholds/2³² differs from p by at most 2⁻³³.
    """
    values = np.arange(-4, 5, 2, dtype=np.float64)
    x = 2.0 * beta * coupling * values
    if method == "metropolis":
        p = np.exp(-np.maximum(x, 0.0))
    else:
        p = np.array([1.0 / (1.0 + math.exp(-v)) if v > -700 else 0.0 for v in x])
    scaled = np.rint(p * 2.0**32)
    always = scaled >= 2.0**32
    return np.where(always, 0, scaled).astype(np.uint32), always


# ------------------------------------------------------------------- kernels
def _neighbour_slots(other, parity, layout):
    """The four neighbour slots of every site of one colour, from the other colour ``other`` (chains, Ly, W)."""
    shift = neighbour_reader(other, 2, layout)  # axes (y, k); shift(a, d) = other at index + d along a
    return (shift(0, 0), jnp.where(parity, shift(1, 1), shift(1, -1)), shift(0, 1), shift(0, -1))


def _neighbour_sum(other, parity, signs, layout="roll"):
    """σ = Σ_j ε_j n_j over the four neighbour slots (int8), ``other`` (chains, Ly, W)."""
    slots = _neighbour_slots(other, parity, layout)
    if signs is None:
        return slots[0] + slots[1] + slots[2] + slots[3]
    total = jnp.zeros_like(other)
    for j, n in enumerate(slots):
        negative = ((signs >> np.uint8(j)) & np.uint8(1)).astype(bool)
        total = total + jnp.where(negative, -n, n)
    return total


def decision_pattern(thresholds, always) -> tuple[str, ...]:
    """Static kind of each table entry: "always" (p rounds to 1), "never" (p rounds to 0) or "draw".

    The kernels are compiled for the pattern, so an entry that needs no random
    word costs one comparison; the thresholds themselves stay traced.
    """
    thresholds, always = np.asarray(thresholds), np.asarray(always)
    return tuple("always" if a else "never" if t == 0 else "draw" for t, a in zip(thresholds, always))


def _decide(v, u, thresholds, pattern):
    """Move taken for table index i = (v + 4)/2, v ∈ {−4, −2, 0, 2, 4} (int8): u < thresholds[i] or "always".

    p is monotone in v for both rules, so the "always" and "never" entries are
    runs at the ends of the table: each run is one comparison on v, and the
    threshold of a "draw" entry is picked by a chain of selects over the draw
    entries only (ferromagnetic Metropolis: v ≤ 0 or u < (T₂ if v = 2 else T₄)).
    Elementwise, so it fuses into the site update.
    """
    values = range(-4, 5, 2)
    draws = [i for i, kind in enumerate(pattern) if kind == "draw"]
    always = [i for i, kind in enumerate(pattern) if kind == "always"]
    taken = None
    if draws:
        threshold = thresholds[draws[-1]]
        for i in reversed(draws[:-1]):
            threshold = jnp.where(v == values[i], thresholds[i], threshold)
        taken = u < threshold
        if "never" in pattern:  # the never run is excluded: v inside the draw range
            taken = taken & (v >= values[draws[0]]) & (v <= values[draws[-1]])
    if always:
        if always == list(range(always[0], 5)):
            in_always = v >= values[always[0]]
        elif always == list(range(0, always[-1] + 1)):
            in_always = v <= values[always[-1]]
        else:
            raise ValueError(f"acceptance pattern {pattern} is not monotone in v")
        taken = in_always if taken is None else taken | in_always
    return jnp.zeros(v.shape, bool) if taken is None else taken


def _half_sweep(rule, spins, other, colour, a, b, signs, thresholds, pattern, layout):
    """New spins of ``colour`` (chains, Ly, W) int8, all updated at once given the other colour's."""
    shape = spins.shape[1:]
    parity = (jax.lax.broadcasted_iota(jnp.int32, (shape[0], 1), 0) + colour) % 2 == 1
    sigma = _neighbour_sum(other, parity, None if signs is None else signs[colour], layout)
    u = hash_words(a, b, shape)
    if rule == "metropolis":
        return jnp.where(_decide(spins * sigma, u, thresholds, pattern), -spins, spins)
    # Written as a flip of the old spin (s = +1 flips unless set up, s = −1 flips if set up), as in
    # Metropolis: with the new spins a constant ±1 of the draw, XLA's CPU fusion fused one half sweep
    # into the next on small lattices, recomputing each site once per neighbour.
    flip = _decide(sigma, u, thresholds, pattern) != (spins > 0)
    return jnp.where(flip, -spins, spins)


#: sweeps per iteration of the sweep loop (unrolled): fewer loop-condition round trips on a GPU
UNROLL = 4


def _words(first, size):
    """Stream words 2t + c of the sweeps t = first … first + size − 1 (uint32), shape (size, 2)."""
    sweeps = first + jnp.arange(size, dtype=jnp.uint32)
    return sweeps[:, None] * _u32(2) + jnp.arange(2, dtype=jnp.uint32)


def _advance(rule, colours, keys, signs, thresholds, pattern, layout, first, n_sweeps):
    """``n_sweeps`` (traced) sweeps numbered first, first + 1, … (``first`` uint32) of (black, white).

    Blocks of UNROLL sweeps, then the rest one by one. The stream keys of a
    block are computed by the previous loop iteration and carried, so they
    reach the site updates as loop parameters: computed in the same
    iteration, XLA would fuse (and repeat) their scalar hashing into every
    site's update.
    """
    n_sweeps = jnp.asarray(n_sweeps, jnp.int32)
    n_blocks = n_sweeps // UNROLL

    def loop(count, size, start, colours):
        def body(i, carry):
            (black, white), (a, b) = carry
            for j in range(size):
                black = _half_sweep(rule, black, white, 0, a[j, 0], b[j, 0], signs, thresholds, pattern, layout)
                white = _half_sweep(rule, white, black, 1, a[j, 1], b[j, 1], signs, thresholds, pattern, layout)
            upcoming = stream_keys(keys, _words(start + ((i + 1) * size).astype(jnp.uint32), size))
            return (black, white), upcoming

        carry = (colours, stream_keys(keys, _words(start, size)))
        return jax.lax.fori_loop(0, count, body, carry)[0]

    colours = loop(n_blocks, UNROLL, first, colours)
    return loop(n_sweeps - n_blocks * UNROLL, 1, first + (n_blocks * UNROLL).astype(jnp.uint32), colours)


@functools.partial(jax.jit, static_argnames=("rule", "pattern", "layout"), donate_argnums=(0,))
def sweeps(packed, keys, signs, thresholds, sweep0, n_sweeps, *, rule, pattern, layout="roll"):
    """``n_sweeps`` (traced) checkerboard sweeps numbered sweep0, sweep0 + 1, …; ``packed`` is donated.

    ``packed``: (chains, 2, Ly, W) int8; ``keys``: (chains, 2) uint32;
    ``signs``: (2, Ly, W) uint8 or None; ``thresholds``: the
    :func:`acceptance_table`, ``pattern`` its :func:`decision_pattern`; ``sweep0``: uint32. Sweep t, colour c uses the
    stream word 2t + c.
    """
    colours = _advance(rule, (packed[:, 0], packed[:, 1]), keys, signs, thresholds, pattern, layout,
                       jnp.asarray(sweep0, jnp.uint32), n_sweeps)
    return jnp.stack(colours, axis=1)


def _observables(packed, signs):
    """(Σ_black s σ, Σ s) per chain, int32: H = −J_eff · the first."""
    black, white = packed[:, 0], packed[:, 1]
    parity = (jax.lax.broadcasted_iota(jnp.int32, (black.shape[1], 1), 0)) % 2 == 1
    sigma = _neighbour_sum(white, parity, None if signs is None else signs[0])
    bonds = jnp.sum(black.astype(jnp.int32) * sigma.astype(jnp.int32), axis=(1, 2))
    return bonds, jnp.sum(packed.astype(jnp.int32), axis=(1, 2, 3))


@functools.partial(jax.jit, static_argnames=("shape", "rule", "pattern", "layout", "n_draws", "record_spins",
                                             "start"))
def _run_chains(keys, signs, thresholds, burn_in, thin, *, shape, rule, pattern, layout, n_draws, record_spins,
                start):
    """Start, ``burn_in`` sweeps, then ``n_draws`` blocks of ``thin`` sweeps, recording the observables.

    One compiled program per (shape, rule, pattern, layout, n_draws, record_spins, start);
    ``burn_in`` and ``thin`` are traced. Returns (Σ_black s σ, M, packed
    spins or None), each with the draw axis first.
    """
    packed = start_spins(shape, start, keys)
    colours = _advance(rule, (packed[:, 0], packed[:, 1]), keys, signs, thresholds, pattern, layout, jnp.uint32(0), burn_in)

    def draw(colours, d):
        first = burn_in.astype(jnp.uint32) + (d * thin).astype(jnp.uint32)
        colours = _advance(rule, colours, keys, signs, thresholds, pattern, layout, first, thin)
        packed = jnp.stack(colours, axis=1)
        bonds, magnetization = _observables(packed, signs)
        return colours, (bonds, magnetization, packed if record_spins else None)

    return jax.lax.scan(draw, colours, jnp.arange(n_draws, dtype=jnp.int32))[1]


def start_spins(shape, start, keys):
    """(chains, 2, Ly, W) int8: all +1, or ±1 from the top bit of the hash words of the start stream."""
    n_chains = keys.shape[0]
    if start == "up":
        return jnp.ones((n_chains, 2) + tuple(shape), jnp.int8)
    if start == "random":
        a, b = stream_keys(keys, jnp.arange(2, dtype=jnp.uint32) + _u32(_START_WORD))
        colours = [hash_words(a[c], b[c], tuple(shape)) for c in (0, 1)]
        bits = jnp.stack(colours, axis=1) >> _u32(31)
        return (1 - 2 * bits.astype(jnp.int32)).astype(jnp.int8)
    raise ValueError(f"start must be 'random' or 'up', got {start!r}")


# -------------------------------------------------------------------- driver
def run(model, beta, method, backend=BACKEND, *, n_chains, n_sweeps, burn_in, thin, seed, start="random",
        record_spins=False, stream=0, layout=None) -> FastRun:
    """Run ``n_chains`` chains of ``method`` with the fused JAX kernels at one ``beta``.

    Same contract as :func:`statmech.mc._fast.run`: sweeps 0 … burn_in − 1
    are discarded, then H and M are recorded after every ``thin``-th of
    ``n_sweeps`` sweeps (and the spins, in site order, when
    ``record_spins``). Chain c uses the key ``_rng.key(seed, stream, c)``:
    the output is a pure function of (seed, stream, arguments), on any device
    and with either neighbour ``layout`` (None: :func:`default_layout`).
    """
    ensure_compile_cache()
    if backend != BACKEND:
        raise ValueError(f"backend must be {BACKEND!r}, got {backend!r}")
    layout = check_layout(layout)
    reason = why_not(model, method, n_chains)
    if reason is not None:
        raise ValueError(reason)
    beta = float(beta)
    if not math.isfinite(beta) or beta < 0:
        raise ValueError(f"beta must be one finite number >= 0, got {beta!r}; use 1e6 for the ground state")
    lattice = FusedLattice(model)
    keys = jnp.asarray(chain_keys(seed, stream, n_chains))
    thresholds, always = acceptance_table(beta, method, lattice.coupling)
    pattern = decision_pattern(thresholds, always)
    signs = None if lattice.signs is None else jnp.asarray(lattice.signs)
    if start not in ("random", "up"):
        raise ValueError(f"start must be 'random' or 'up', got {start!r}")
    bonds, magnetization, spins = _run_chains(
        keys, signs, jnp.asarray(thresholds), jnp.int32(burn_in), jnp.int32(thin), shape=lattice.shape, rule=method,
        pattern=pattern, layout=layout,
        n_draws=n_sweeps // thin, record_spins=record_spins, start=start)
    energy = -lattice.coupling * np.asarray(bonds, dtype=np.float64).T
    magnetization = np.asarray(magnetization, dtype=np.int64).T
    if record_spins:
        spins = np.asarray(lattice.unpack(jnp.swapaxes(spins, 0, 1)), dtype=np.int8)
    return FastRun(energy, magnetization, spins, f"jax_fused_{method}")
