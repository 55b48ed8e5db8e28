"""Monte Carlo throughput on an accelerator: statmech's JAX kernels against the naive JAX script.

usage: python benchmarks/gpu.py [L ...]        (default L = 4096 16384)

Prints, for the periodic 2D Ising model at β_c, flips/ns (attempted single-spin
updates per ns) of statmech's checkerboard Metropolis and heat-bath kernels and
of the naive JAX checkerboard script run in the same process, and the ratio.
Runs wherever JAX runs; it is meant for a GPU (on the CPU use benchmarks/mc.py).
"""
from __future__ import annotations

import importlib.util
import pathlib
import sys
import time

import equinox as eqx
import jax
import jax.numpy as jnp

import statmech as sm
from statmech.mc import _local

BETA_C = 0.4406868
ROOT = pathlib.Path(__file__).resolve().parents[1]
BASELINE_PLACES = (ROOT.parent / "shared" / "baselines" / "naive_ising.py", ROOT / "shared" / "baselines" / "naive_ising.py")


def load_baseline():
    for path in BASELINE_PLACES:
        if path.exists():
            spec = importlib.util.spec_from_file_location("naive_ising", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
    raise SystemExit(f"baseline naive_ising.py not found in {[str(p) for p in BASELINE_PLACES]}")


@eqx.filter_jit
def _sweeps(kernel, key, state, model, beta, n_sweeps):
    def body(i, state):
        state, _ = kernel.step(jax.random.fold_in(key, i), state, model, beta)
        return state
    return jax.lax.fori_loop(0, n_sweeps, body, state)


def kernel_rate(kernel, L, n_sweeps):
    model = sm.Ising.square(L)
    state = kernel.init(jnp.ones(model.n_sites, jnp.int8), model, BETA_C)
    key = jax.random.key(0)
    state = _sweeps(kernel, key, state, model, BETA_C, jnp.asarray(2))  # compile
    jax.block_until_ready(state)
    start = time.perf_counter()
    state = _sweeps(kernel, key, state, model, BETA_C, jnp.asarray(n_sweeps))
    jax.block_until_ready(state)
    return L * L * n_sweeps / (time.perf_counter() - start) / 1e9


def main(sizes):
    baseline = load_baseline()
    print(f"JAX {jax.__version__}, devices: {jax.devices()}")
    print(f"{'kernel':<26} {'L':>6} {'flips/ns':>10} {'naive':>10} {'ratio':>7}")
    for L in sizes:
        n_sweeps = max(4, int(4e10 / (L * L)) if jax.default_backend() == "gpu" else int(2e8 / (L * L)))
        seconds, _ = baseline.run_jax(L, n_sweeps)
        naive = L * L * n_sweeps / seconds / 1e9
        for name, kernel in (("checkerboard_metropolis", _local.checkerboard_metropolis),
                             ("checkerboard_heatbath", _local.checkerboard_heatbath)):
            rate = kernel_rate(kernel, L, n_sweeps)
            print(f"{name:<26} {L:>6} {rate:>10.3f} {naive:>10.3f} {rate / naive:>6.2f}x", flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [4096, 16384])
