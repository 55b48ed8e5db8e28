"""Exact log Z of many disorder instances at once: enumeration in JAX, vmapped over instances.

log Z_k(β) = log Σ_s exp(−β H_k(s)) for every instance k of a batched Ising
model (shared ``edges``), the states split in two halves so that each block
of energies is one matrix product, reduced in the log domain in float64 and
chunked over instances to bound memory (Newman & Barkema, *Monte Carlo
Methods in Statistical Physics* (1999), §1.2). Details: docs/derivations.md.
"""
from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from statmech._validation import as_beta_array, check_positive_int
from statmech.models import Ising

MAX_BATCHED_SITES = 26
"""Largest N for :func:`log_z_batch` (2^26 states per instance); above it use method="enumerate" per instance."""

_BLOCK_ELEMENTS = 1 << 16
"""Energies per block of one instance (512 kB of float64)."""

_CHUNK_ELEMENTS = {"cpu": 1 << 18, "other": 1 << 24}
"""Energies live at once across the instances of a chunk: 2 MB of float64 on a CPU (stays in
cache; measured fastest on 2 cores at N = 20 and 24), 128 MB on an accelerator (wide kernels)."""


# ------------------------------------------------------------------ input
def _disorder_arrays(batch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(J (K, N, N), h (K, N), c (K,)) float64 of a batched or plain Ising model."""
    if not isinstance(batch, Ising):
        raise TypeError(
            f"log_z_batch needs an Ising model (one instance, or a batch from "
            f"ensemble.sample_batch(seed, n_instances)), got {type(batch).__name__}")
    couplings = np.asarray(batch.couplings, dtype=np.float64)
    field = np.asarray(batch.field, dtype=np.float64)
    edges = np.asarray(batch.edges, dtype=np.int64).reshape(-1, 2)
    if couplings.ndim == 1 and field.ndim == 1:
        couplings, field = couplings[None, :], field[None, :]
    if couplings.ndim != 2 or field.ndim != 2 or couplings.shape[0] != field.shape[0]:
        raise ValueError(
            f"a batch has couplings of shape (K, E) and field of shape (K, N) with the same K; got "
            f"{couplings.shape} and {field.shape}. Build it with ensemble.sample_batch(seed, n_instances)")
    if couplings.shape[1] != len(edges):
        raise ValueError(f"couplings have {couplings.shape[1]} bonds per instance but the model has "
                         f"{len(edges)} edges")
    if not (np.all(np.isfinite(couplings)) and np.all(np.isfinite(field))):
        raise ValueError("the couplings or fields contain NaN or inf; every entry must be finite")
    n_instances, n_sites = field.shape
    matrices = np.zeros((n_instances, n_sites, n_sites))
    off = edges[:, 0] != edges[:, 1]
    i, j = edges[off, 0], edges[off, 1]
    np.add.at(matrices, (slice(None), i, j), couplings[:, off])
    np.add.at(matrices, (slice(None), j, i), couplings[:, off])
    constants = -np.sum(couplings[:, ~off], axis=1)  # self-bonds: −Σ J_ii, independent of s
    return matrices, field, constants


def _spin_table(n: int, first: int = 0) -> np.ndarray:
    """±1 float64 table of the states ``first..2^n − 1`` (bit i of the state number is site i)."""
    index = np.arange(first, 2**n, dtype=np.int64)
    return (((index[:, None] >> np.arange(n)) & 1) * 2.0 - 1.0).reshape(len(index), n)


@functools.lru_cache(maxsize=8)
def _tables(n_sites: int, symmetric: bool):
    """Spin tables of A (2^m, m) and B (columns, N − m), and the rows of A per block."""
    m = n_sites // 2
    n_b = n_sites - m
    spins_a = _spin_table(m)
    spins_b = _spin_table(n_b, first=2 ** (n_b - 1) if symmetric else 0)  # symmetric: s_{N−1} = +1
    rows = max(1, min(2**m, _BLOCK_ELEMENTS // len(spins_b)))
    rows = 1 << (rows.bit_length() - 1)  # a power of two, so it divides 2^m
    return spins_a, spins_b, rows


# ------------------------------------------------------------ the kernel
def _instance_log_z(couplings, field, constant, betas, spins_a, spins_b, rows: int):
    """log Z(β) of one instance (traced; vmapped over instances): shape (B,)."""
    m = spins_a.shape[1]
    j_aa, j_ab, j_bb = couplings[:m, :m], couplings[:m, m:], couplings[m:, m:]
    energy_a = -0.5 * jnp.sum((spins_a @ j_aa) * spins_a, axis=1) - spins_a @ field[:m] + constant
    energy_b = -0.5 * jnp.sum((spins_b @ j_bb) * spins_b, axis=1) - spins_b @ field[m:]
    cross = j_ab @ spins_b.T  # (m, columns): Σ_j J_ij b_j
    n_blocks = spins_a.shape[0] // rows

    def block_sums(block):
        """(shift (B,), Σ exp(−β H) e^{−shift} (B,)) of one block of A-rows against all B."""
        start = block * rows
        a = jax.lax.dynamic_slice_in_dim(spins_a, start, rows)
        e_a = jax.lax.dynamic_slice_in_dim(energy_a, start, rows)
        energies = e_a[:, None] + energy_b[None, :] - a @ cross
        lowest = jnp.min(energies)
        excess = energies - lowest  # >= 0, so every weight is <= 1

        def one_beta(beta):  # two-stage sum: rounding ~ (rows + columns) eps
            return jnp.sum(jnp.sum(jnp.exp(-beta * excess), axis=1))

        return -betas * lowest, jax.lax.map(one_beta, betas)

    def merge(carry, block):
        scale, total = carry
        shift, sums = block_sums(block)
        new_scale = jnp.maximum(scale, shift)
        total = total * jnp.exp(scale - new_scale) + sums * jnp.exp(shift - new_scale)
        return (new_scale, total), None

    start = (jnp.full(betas.shape, -jnp.inf), jnp.zeros(betas.shape))
    (scale, total), _ = jax.lax.scan(merge, start, jnp.arange(n_blocks))
    return scale + jnp.log(total)


@functools.partial(jax.jit, static_argnames=("rows",))
def _chunk_log_z(couplings, fields, constants, betas, spins_a, spins_b, rows):
    """log Z of a chunk of instances: (C, B)."""
    one_instance = functools.partial(_instance_log_z, rows=rows)
    return jax.vmap(one_instance, in_axes=(0, 0, 0, None, None, None))(
        couplings, fields, constants, betas, spins_a, spins_b)


# ------------------------------------------------------------ public
def log_z_batch(batch, beta, *, chunk_size: int | None = None) -> np.ndarray:
    """Exact log Z of every instance of a batch of Ising models, by enumerating all 2^N states.

    ``batch``: an :class:`Ising` from ``ensemble.sample_batch(seed, K)``
    (``couplings`` (K, E), ``field`` (K, N)), or one plain Ising (K = 1).
    ``beta``: a scalar → returns float64 array of shape (K,); a 1-D grid of
    length B → shape (K, B). Row k is the exact log Z of instance k
    (``ensemble.sample(instance_seeds(seed, K)[k])``), equal to
    ``sm.log_z(instance, beta, method="enumerate")`` to ~1e−12 relative.
    N <= ``MAX_BATCHED_SITES`` = 26. ``chunk_size``: instances per vmapped
    call (default: as many as keep ≈ 2^18 energies live at once on a CPU,
    2^24 on an accelerator).
    """
    matrices, fields, constants = _disorder_arrays(batch)
    betas, scalar = as_beta_array(beta)
    n_instances, n_sites = fields.shape
    if n_sites > MAX_BATCHED_SITES:
        raise ValueError(
            f"log_z_batch enumerates 2^N states per instance in memory-bounded blocks up to "
            f"N = {MAX_BATCHED_SITES}; this model has N = {n_sites}. Use "
            f"sm.log_z(instance, beta, method='enumerate') per instance (up to N = 30)")
    symmetric = not np.any(fields != 0.0)  # H(s) = H(−s) in every instance
    spins_a, spins_b, rows = _tables(n_sites, symmetric)
    if chunk_size is None:
        budget = _CHUNK_ELEMENTS["cpu" if jax.default_backend() == "cpu" else "other"]
        chunk_size = max(1, budget // (rows * len(spins_b)))
    chunk_size = min(check_positive_int(chunk_size, "chunk_size"), n_instances)

    out = np.empty((n_instances, len(betas)))
    with jax.enable_x64(True):
        tables = (jnp.asarray(betas), jnp.asarray(spins_a), jnp.asarray(spins_b))
        for start in range(0, n_instances, chunk_size):
            stop = min(start + chunk_size, n_instances)
            pad = chunk_size - (stop - start)  # repeat the last instance: one compiled shape
            pieces = [np.concatenate([x[start:stop], np.repeat(x[stop - 1:stop], pad, axis=0)])
                      for x in (matrices, fields, constants)]
            values = _chunk_log_z(*(jnp.asarray(p) for p in pieces), *tables, rows=rows)
            out[start:stop] = np.asarray(values, dtype=np.float64)[: stop - start]
    if symmetric:
        out += math.log(2.0)
    return out[:, 0] if scalar else out
