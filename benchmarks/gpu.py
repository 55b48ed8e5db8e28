"""Monte Carlo throughput on an accelerator: statmech's JAX kernels against the naive JAX script.

usage: python benchmarks/gpu.py [L ...]        (default L = 4096 16384; on a CPU try 256 or 1024)

For the periodic 2D Ising model at β_c, prints flips/ns (attempted single-spin
updates per ns) of, all measured in this process:

* the naive JAX checkerboard script (shared/baselines/naive_ising.py), the anchor;
* statmech's fused kernels (backend "jax-fused", statmech.mc._gpu), Metropolis and heat bath, with
  both neighbour layouts ("roll", "padded"; the same chain bit for bit), the default one marked;
* statmech's reference checkerboard Metropolis kernel (statmech.mc._local) with
  the model put on the device once, and as a user would call it, with the NumPy
  model passed to the jitted function on every call (the host-to-device copy
  of the broadcast coupling and field arrays is then part of every call);

each with its ratio to the naive script, plus the published figure of NVIDIA's
multispin-coded CUDA code (849 flips/ns on an H200; not measured here) as an
external reference line. Runs wherever JAX runs.
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
from statmech.mc import _gpu, _local

BETA_C = 0.4406868
NVIDIA_H200 = 849.0  # flips/ns, NVIDIA's optimized multispin code on an H200 (external figure, not measured)
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


def reference_rate(L, n_sweeps, on_device):
    """Reference checkerboard Metropolis; ``on_device``: the model is put on the device once, outside the timing."""
    kernel = _local.checkerboard_metropolis
    model = sm.Ising.square(L)
    state = kernel.init(jnp.ones(model.n_sites, jnp.int8), model, BETA_C)
    if on_device:
        model = jax.device_put(model)
    key, beta = jax.random.key(0), jnp.float32(BETA_C)
    state = _sweeps(kernel, key, state, model, beta, jnp.asarray(2))  # compile
    jax.block_until_ready(state)
    start = time.perf_counter()
    state = _sweeps(kernel, key, state, model, beta, jnp.asarray(n_sweeps))
    jax.block_until_ready(state)
    return L * L * n_sweeps / (time.perf_counter() - start) / 1e9


def fused_rate(L, n_sweeps, method, layout):
    """One chain of the fused kernel from all +1; returns (flips/ns, |m| after the run)."""
    model = sm.Ising.square(L)
    lattice = _gpu.FusedLattice(model)
    keys = jnp.asarray(_gpu.chain_keys(0, 0, 1))
    thresholds, always = _gpu.acceptance_table(BETA_C, method, lattice.coupling)
    options = dict(rule=method, pattern=_gpu.decision_pattern(thresholds, always), layout=layout)
    thresholds = jnp.asarray(thresholds)
    packed = _gpu.start_spins(lattice.shape, "up", keys)
    packed = _gpu.sweeps(packed, keys, None, thresholds, jnp.uint32(0), jnp.int32(2), **options)
    jax.block_until_ready(packed)
    start = time.perf_counter()
    packed = _gpu.sweeps(packed, keys, None, thresholds, jnp.uint32(2), jnp.int32(n_sweeps), **options)
    jax.block_until_ready(packed)
    seconds = time.perf_counter() - start
    return L * L * n_sweeps / seconds / 1e9, abs(float(jnp.mean(packed.astype(jnp.float32))))


def main(sizes):
    baseline = load_baseline()
    on_gpu = jax.default_backend() == "gpu"
    print(f"JAX {jax.__version__}, devices: {jax.devices()}")
    print(f"{'kernel':<40} {'L':>6} {'sweeps':>6} {'flips/ns':>10} {'vs naive':>9}")
    for L in sizes:
        n_sweeps = max(4, int((4e10 if on_gpu else 2e7) / (L * L)))
        seconds, _ = baseline.run_jax(L, n_sweeps)
        naive = L * L * n_sweeps / seconds / 1e9
        print(f"{'naive JAX script (baseline)':<40} {L:>6} {n_sweeps:>6} {naive:>10.3f} {1:>8.2f}x", flush=True)
        fused = {}
        for method in ("metropolis", "heatbath"):
            for layout in _gpu.LAYOUTS:
                fused[method, layout], m = fused_rate(L, n_sweeps, method, layout)
                mark = " (default here)" if layout == _gpu.default_layout() else ""
                print(f"{'jax-fused ' + method + ', ' + layout:<40} {L:>6} {n_sweeps:>6} "
                      f"{fused[method, layout]:>10.3f} {fused[method, layout] / naive:>8.2f}x   |m| = {m:.3f}{mark}",
                      flush=True)
        for on_device, label in ((True, "reference metropolis, model on device"),
                                 (False, "reference metropolis, NumPy model/call")):
            rate = reference_rate(L, n_sweeps, on_device)
            print(f"{label:<40} {L:>6} {n_sweeps:>6} {rate:>10.3f} {rate / naive:>8.2f}x", flush=True)
        print(f"{'NVIDIA multispin CUDA, H200 (published)':<40} {L:>6} {'':>6} {NVIDIA_H200:>10.3f} "
              f"{NVIDIA_H200 / naive:>8.2f}x   jax-fused metropolis / NVIDIA = "
              f"{max(fused['metropolis', layout] for layout in _gpu.LAYOUTS) / NVIDIA_H200:.3f}", flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [4096, 16384])
