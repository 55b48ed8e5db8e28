"""Hashed random words and neighbour reads for the JAX checkerboard kernels (``"jax-fused"``, ``"hashed-checkerboard"``).

Two pieces shared by :mod:`statmech.mc._gpu` and :mod:`statmech.mc._local`:
Wellons's "lowbias32" finaliser, a bijection of 32-bit words, with which a
site's random word is computed in registers from its index and two keys; and
the two ways to read the neighbours of a packed sublattice, by wrapped rolls
or by slices of a copy with one ghost layer on each side. Derivations:
docs/derivations.md.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["lowbias32", "LAYOUTS", "default_layout", "check_layout", "neighbour_reader"]

#: how a half sweep reads the other colour: "roll" (wrapped rolls inside the fused update) or "padded"
#: (the other colour copied once into an array with one ghost layer on each side, read by plain slices).
#: The values read are the same, so the chain is the same bit for bit; only the speed differs: XLA's CPU
#: backend does not vectorise the wrapped rolls ("padded" is 2.5-3.6x faster there, benchmarks/gpu.py).
LAYOUTS = ("roll", "padded")


def lowbias32(x):
    """Wellons's lowbias32 finaliser on uint32 arrays: x ⊕= x≫16; x ·= 0x7FEB352D; x ⊕= x≫15; x ·= 0x846CA68B; x ⊕= x≫16."""
    x = x ^ (x >> jnp.uint32(16))
    x = x * jnp.uint32(0x7FEB352D)
    x = x ^ (x >> jnp.uint32(15))
    x = x * jnp.uint32(0x846CA68B)
    return x ^ (x >> jnp.uint32(16))


def default_layout() -> str:
    """"padded" on the CPU (measured there), "roll" on accelerators (not yet measured there)."""
    return "padded" if jax.default_backend() == "cpu" else "roll"


def check_layout(layout) -> str:
    """``layout`` itself, or :func:`default_layout` for None; anything else is a ValueError."""
    if layout is None:
        return default_layout()
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS} or None, got {layout!r}")
    return layout


def neighbour_reader(array, n_axes: int, layout: str, axes=None):
    """A function ``shift(axis, d)`` = ``jnp.roll(array, -d, axis)`` (periodic) over the last ``n_axes`` axes.

    ``axis`` counts among those last axes (0 = the first of them), d ∈ {−1, 0, 1}.
    "roll" rolls inside the consumer's fusion; "padded" builds the extended
    array once (kept as one array by an optimisation barrier, else XLA would
    fuse it back into rolls) and slices it; ``axes`` (default: all of them)
    are the axes it will be shifted along, the only ones given ghost layers.
    """
    first = array.ndim - n_axes
    if layout == "roll":
        return lambda axis, d: array if d == 0 else jnp.roll(array, -d, first + axis)
    axes = tuple(range(n_axes)) if axes is None else tuple(axes)
    ext = array
    for axis in (first + a for a in axes):
        n = ext.shape[axis]
        ext = jnp.concatenate([jax.lax.slice_in_dim(ext, n - 1, n, axis=axis), ext,
                               jax.lax.slice_in_dim(ext, 0, 1, axis=axis)], axis=axis)
    ext = jax.lax.optimization_barrier(ext)

    def shift(axis, d):
        if d != 0 and axis not in axes:
            raise ValueError(f"axis {axis} has no ghost layers (axes={axes})")
        index = [slice(None)] * ext.ndim
        for a in axes:
            index[first + a] = slice(1, -1)
        if axis in axes:
            index[first + axis] = slice(1 + d, 1 + d + array.shape[first + axis])
        return ext[tuple(index)]

    return shift
