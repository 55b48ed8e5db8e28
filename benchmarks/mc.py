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
            if name == "wolff":
                n_steps = sweeps * 4
            rate, _ = kernel_rate(kernel, model, n_steps, cluster)
            print(f"{name:<26} {L:>5} {rate:>10.4f} {naive_rate:>10.4f} {rate / naive_rate:>6.2f}x")


def estimators(quick):
    L = 16 if quick else 32
    model = sm.Ising.square(L)
    exact = float(sm.log_z(model, BETA_C, method="kaufman"))
    print(f"\nlog Z estimators, periodic L={L} at beta_c: exact ln Z = {exact:.6f}")
    print(f"{'method':<14} {'budget':<26} {'|error|':>10} {'stderr':>10} {'z':>6} {'seconds':>9}")
    budgets = {
        "ti": [{"n_sweeps": 200}, {"n_sweeps": 800}],
        "ais": [{"n_steps": 200}, {"n_steps": 800}],
        "pa": [{"population": 200}, {"population": 800}],
        "mbar": [{"n_sweeps": 1000}, {"n_sweeps": 4000}],
        "wang-landau": [{}],
    }
    available = set(sm.available_methods(model))
    for method, options_list in budgets.items():
        if method not in available:
            print(f"{method:<14} (not available)")
            continue
        for options in options_list[:1] if quick else options_list:
            start = time.perf_counter()
            try:
                estimate = sm.log_z(model, BETA_C, method=method, seed=0, **options)
            except (TypeError, ValueError) as error:
                print(f"{method:<14} {str(options):<26} failed: {error}")
                continue
            seconds = time.perf_counter() - start
            error = abs(float(estimate) - exact)
            stderr = float(estimate.stderr)
            print(f"{method:<14} {str(options):<26} {error:>10.2e} {stderr:>10.2e} "
                  f"{(float(estimate) - exact) / stderr:>6.2f} {seconds:>9.2f}")


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    print(f"JAX devices: {jax.devices()}")
    throughput(quick)
    estimators(quick)
