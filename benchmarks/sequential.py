"""The sequential (site-by-site) Metropolis sweep: ns per site against the plain loop, same run.

usage: python benchmarks/sequential.py [--quick]

The plain loop updates site i of the whole (N,) spin array inside a
``fori_loop``. XLA's CPU backend splits an op over its threads by the size of
its output, so once N passes a few 10^5 every single-site update paid a
thread hand-off. statmech's kernel sweeps blocks of 4096 sites (every
per-site op is small) and gives the same spins bit for bit; this script
checks that and prints wall and CPU ns per site for both, and their ratio.
"""
from __future__ import annotations

import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import statmech as sm
from statmech.mc import metropolis


def plain_sweep(key, spins, model, beta):
    """The sweep as it was: one fori_loop over all N sites of the full array."""
    dtype = jnp.result_type(float)
    padded = jnp.concatenate([jnp.asarray(model.couplings, dtype), jnp.zeros(1, dtype)])
    bonds = padded[jnp.asarray(model.neighbor_edges)]
    neighbors = jnp.asarray(model.neighbors)
    uniforms = jax.random.uniform(key, (model.n_sites,), dtype)

    def update(i, s):
        phi = jnp.sum(bonds[i] * s[neighbors[i]].astype(dtype))
        return s.at[i].set(jnp.where(uniforms[i] < jnp.exp(-2.0 * beta * s[i] * phi), -s[i], s[i]))

    return jax.lax.fori_loop(0, model.n_sites, update, spins)


def per_site(function, n_sites, repeat=2):
    """Best (wall, CPU) nanoseconds per site over ``repeat`` calls (after one warm-up call)."""
    jax.block_until_ready(function(0))
    wall = cpu = float("inf")
    for r in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        jax.block_until_ready(function(r + 1))
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    return wall / n_sites * 1e9, cpu / n_sites * 1e9


def main(quick: bool = False) -> None:
    beta = float(sm.CRITICAL_BETA)
    print(f"{'L':>6} {'plain wall':>11} {'blocked wall':>13} {'ratio':>6} {'plain CPU':>10} "
          f"{'blocked CPU':>12} {'ratio':>6}   (ns per site; CPU counts every thread)")
    for L in ((256, 768) if quick else (256, 768, 1024)):
        model = sm.Ising.square(L)
        spins = jnp.asarray(np.random.default_rng(0).choice([-1, 1], model.n_sites), jnp.int8)
        state = metropolis.init(spins, model, beta)
        plain = jax.jit(plain_sweep)
        blocked = jax.jit(lambda key, st, m: metropolis.step(key, st, m, beta)[0].spins)
        same = np.array_equal(np.asarray(plain(jax.random.key(0), spins, model, beta)),
                              np.asarray(blocked(jax.random.key(0), state, model)))
        old = per_site(lambda r: plain(jax.random.key(r), spins, model, beta), model.n_sites)
        new = per_site(lambda r: blocked(jax.random.key(r), state, model), model.n_sites)
        print(f"{L:>6} {old[0]:>11.0f} {new[0]:>13.0f} {old[0] / new[0]:>5.1f}x {old[1]:>10.0f} "
              f"{new[1]:>12.0f} {old[1] / new[1]:>5.1f}x   same spins: {same}", flush=True)


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
