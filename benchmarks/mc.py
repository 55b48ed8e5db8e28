"""Monte Carlo throughput against the naive baseline, and log Z estimators' error vs time.

usage: python benchmarks/mc.py [--quick]

Part 1 prints spin flips (attempted single-spin updates; for cluster kernels,
flipped spins) per ns of each kernel on the 2D Ising model at β_c, for
L = 256 and 1024, next to the naive JAX checkerboard of
../shared/baselines/naive_ising.py run in the same process, and the ratio.

Part 2 prints, for each registered log Z estimator, |ln Z − ln Z_Kaufman|,
the reported standard error and the wall time for the periodic L = 32 lattice
at β_c, at a few run lengths.
"""
from __future__ import annotations

import importlib.util
import pathlib
import sys
import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import statmech as sm
from statmech.mc import _cluster, _local

BASELINE = pathlib.Path(__file__).resolve().parents[2] / "shared" / "baselines" / "naive_ising.py"
BETA_C = 0.4406868  # the baseline's β


def load_baseline():
    if not BASELINE.exists():
        raise SystemExit(f"baseline not found at {BASELINE}")
    spec = importlib.util.spec_from_file_location("naive_ising", BASELINE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@eqx.filter_jit
def _steps(kernel, key, state, model, beta, n_steps):
    def body(i, carry):
        state, flipped = carry
        state, info = kernel.step(jax.random.fold_in(key, i), state, model, beta)
        return state, flipped + info.acceptance_rate
    return jax.lax.fori_loop(0, n_steps, body, (state, jnp.zeros((), jnp.float32)))


def kernel_rate(kernel, model, n_steps, cluster=False):
    """Spin updates per ns: N per step for local kernels, flipped spins for cluster kernels."""
    key = jax.random.key(0)
    state = kernel.init(jnp.ones(model.n_sites, jnp.int8), model, BETA_C)
    # n_steps is passed as an array so that the warm-up call compiles the timed one.
    state, _ = _steps(kernel, key, state, model, BETA_C, jnp.asarray(2))
    jax.block_until_ready(state)
    start = time.perf_counter()
    state, flipped = _steps(kernel, key, state, model, BETA_C, jnp.asarray(n_steps))
    jax.block_until_ready(state)
    seconds = time.perf_counter() - start
    updates = float(flipped) * model.n_sites if cluster else n_steps * model.n_sites
    return updates / seconds / 1e9, seconds


def throughput(quick):
    baseline = load_baseline()
    kernels = [("checkerboard_metropolis", _local.checkerboard_metropolis, False),
               ("checkerboard_heatbath", _local.checkerboard_heatbath, False),
               ("metropolis (sequential)", _local.metropolis, False),
               ("heatbath (sequential)", _local.heatbath, False),
               ("wolff", _cluster.wolff, True),
               ("swendsen_wang", _cluster.swendsen_wang, True)]
    sizes = (64, 256) if quick else (256, 1024)
    print(f"{'kernel':<26} {'L':>5} {'flips/ns':>10} {'naive':>10} {'ratio':>7}")
    for L in sizes:
        sweeps = max(4, int(2e8 / (L * L))) if not quick else 20
        naive_seconds, _ = baseline.run_jax(L, sweeps)
        naive_rate = L * L * sweeps / naive_seconds / 1e9
        model = sm.Ising.square(L)
        for name, kernel, cluster in kernels:
            n_steps = sweeps
            if name.endswith("(sequential)"):
                n_steps = max(1, sweeps // 20)
            # cluster kernels: one step labels every FK cluster (a few ms at L = 256 on CPU);
            # a Wolff step flips one cluster, ~0.4 N spins at L = 256 and beta_c
            if name == "wolff":
                n_steps = min(sweeps * 4, 200)
            if name == "swendsen_wang":
                n_steps = min(sweeps, 100)
            rate, _ = kernel_rate(kernel, model, n_steps, cluster)
            print(f"{name:<26} {L:>5} {rate:>10.4f} {naive_rate:>10.4f} {rate / naive_rate:>6.2f}x")


def estimators(quick):
    """|ln Z − ln Z_Kaufman| and the reported stderr vs wall time at β_c (first call includes compilation)."""
    L = 16 if quick else 32
    runs = [  # (method, L, options); budgets from short to long
        ("ti", L, {"n_sweeps": 2000}), ("ti", L, {"n_sweeps": 8000}),
        ("ais", L, {"n_chains": 64, "n_steps": 4000}), ("ais", L, {"n_chains": 64, "n_steps": 16000}),
        ("pa", L, {"population": 64, "n_sweeps": 5}), ("pa", L, {"population": 256, "n_sweeps": 5}),
        ("mbar", L, {"n_sweeps": 2000}), ("mbar", L, {"n_sweeps": 8000}),
        # Wang-Landau needs ~1e6 sweeps at L = 32 (hours on 2 cores): measured at L = 16.
        ("wang-landau", 16, {"n_sweeps": 20000}), ("wang-landau", 16, {"n_sweeps": 100000}),
    ]
    if quick:
        runs = [run for k, run in enumerate(runs) if k % 2 == 0]
    print(f"\nlog Z estimators at beta_c (periodic square lattice; error against Kaufman)")
    print(f"{'method':<12} {'L':>3} {'budget':<34} {'|error|':>9} {'stderr':>9} {'z':>6} {'seconds':>8}")
    for method, size, options in runs:
        model = sm.Ising.square(size)
        exact = float(sm.log_z(model, BETA_C, method="kaufman"))
        start = time.perf_counter()
        try:
            estimate = sm.log_z(model, BETA_C, method=method, seed=0, **options)
        except (TypeError, ValueError) as error:
            print(f"{method:<12} {size:>3} {str(options):<34} failed: {error}")
            continue
        seconds = time.perf_counter() - start
        error = float(estimate) - exact
        stderr = float(estimate.stderr)
        print(f"{method:<12} {size:>3} {str(options):<34} {abs(error):>9.2e} {stderr:>9.2e} "
              f"{error / stderr:>6.2f} {seconds:>8.1f}")


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    print(f"JAX devices: {jax.devices()}")
    throughput(quick)
    estimators(quick)
