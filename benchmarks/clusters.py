"""Cluster updates: statmech's numba Wolff and Swendsen–Wang against serial numba anchors, and against Metropolis.

usage: python benchmarks/clusters.py [--quick] [--part 1|2]

Part 1 prints flipped spins per ns of the kernels ``backend="auto"`` runs on
a CPU (statmech's numba Wolff and Swendsen–Wang,
``sm.mc._cluster_numba.run_chains``: one chain, energy and magnetisation
recorded every step) next to the serial numba anchors ``wolff_steps`` and
``sw_steps`` of ../shared/baselines/numba_ising.py, run in the same process
on the periodic L × L lattice at β_c from the all-up state, and the ratio
(medians of 3), for L = 64, 128, 256, 1024, once with numba on one thread and
once under numba's default thread count (every kernel here is serial, so the
two should agree). The JAX reference kernels' rate (``backend="reference"``)
is printed for scale at L <= 256. ``benchmarks/mc.py --full`` prints the same
table.

Part 2 compares independent samples per second at L = 128 and β_c:
τ_int (Γ-method, ``statmech.stats.integrated_autocorrelation_time``) of |m|
and E per step, times wall time per step. Metropolis's τ_int is measured on
the numba checkerboard anchor ``cb_sweeps`` (the same Markov chain as
statmech's checkerboard Metropolis); its wall time per sweep is given for both
the anchor and statmech's own checkerboard Metropolis (``backend="auto"``).
Independent samples per second = 1 / (2 τ_int · seconds per step).

Times are CPU seconds of this process (``time.process_time``): on a shared
machine they do not count time spent waiting for a core. ``run_chains`` is
timed whole (set-up and energy/magnetisation recording included).
"""
from __future__ import annotations

import os
import tempfile

# The anchors' numba cache sits next to the shared baseline file, where other processes loading it under
# another module name leave entries this process cannot load: compile everything into a private cache.
os.environ.setdefault("NUMBA_CACHE_DIR", tempfile.mkdtemp(prefix="statmech-bench-numba-"))

import importlib.util  # noqa: E402
import pathlib  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numba  # noqa: E402
import numpy as np  # noqa: E402

import statmech as sm  # noqa: E402
from statmech.mc import _cluster_numba  # noqa: E402
from statmech.stats import integrated_autocorrelation_time  # noqa: E402

BASELINE = pathlib.Path(__file__).resolve().parents[2] / "shared" / "baselines" / "numba_ising.py"
BETA_C = 0.4406868


def load_anchors():
    if not BASELINE.exists():
        raise SystemExit(f"baseline not found at {BASELINE}")
    spec = importlib.util.spec_from_file_location("numba_ising", BASELINE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # numba's cache finds the module's globals by name
    spec.loader.exec_module(module)
    return module


def anchor_rate(anchors, method, L, n_steps):
    """Flipped spins per ns of the anchor from all up (its setup included, as ours)."""
    start = time.process_time()
    s, state, p_add, stack, parent, coin = anchors.cluster_setup(L, BETA_C)
    if method == "wolff":
        flipped, _ = anchors.wolff_steps(s, state, p_add, n_steps, stack)
    else:
        flipped, _ = anchors.sw_steps(s, state, p_add, n_steps, parent, coin)
    return flipped / (time.process_time() - start) / 1e9


def statmech_rate(method, model, n_steps):
    """Flipped spins per ns of run_chains (one chain from all up, E and M recorded every step)."""
    start = time.process_time()
    run = _cluster_numba.run_chains(model, BETA_C, method, n_steps, start="up", seed=0)
    return run.flipped.sum() / (time.process_time() - start) / 1e9


def reference_rate(method, model, n_steps):
    """Flipped spins per ns of the JAX reference kernels through sm.sample (compiled by a first call)."""
    options = dict(method=method, n_chains=1, burn_in=0, start="up", seed=0, backend="reference")
    sm.sample(model, BETA_C, n_sweeps=n_steps, **options)  # compiles for this n_sweeps
    start = time.process_time()
    ds = sm.sample(model, BETA_C, n_sweeps=n_steps, **options)
    seconds = time.process_time() - start
    spins = ds["spins"].values[0]
    flipped = np.count_nonzero(np.diff(spins, axis=0)) + np.count_nonzero(spins[0] != 1)
    return flipped / seconds / 1e9


def throughput(anchors, quick, sizes=None, reference=True):
    """Part 1 table: statmech numba (what backend="auto" runs on a CPU) vs the serial numba anchors.

    Under one numba thread, then under numba's default thread count. Returns the rows
    (threads, method, L, statmech, anchor) for the caller."""
    sizes = sizes or ((64, 128) if quick else (64, 128, 256, 1024))
    rows = []
    previous = numba.get_num_threads()
    for threads in dict.fromkeys((1, numba.config.NUMBA_NUM_THREADS)):  # one row set if the default is 1
        numba.set_num_threads(threads)
        print(f"Cluster kernels, flipped spins per ns at beta_c (periodic square lattice, one chain, medians of 3, "
              f"numba threads = {threads}); statmech = backend='auto' (numba on a CPU)")
        print(f"{'method':<15} {'L':>5} {'statmech':>9} {'anchor':>9} {'ratio':>7} {'JAX ref':>9}")
        for L in sizes:
            model = sm.Ising.square(L)
            for method in ("wolff", "swendsen-wang"):
                steps = {"wolff": 40 * max(1, int(2e6 / L**2)) + 200,
                         "swendsen-wang": max(20, int(1.6e7 / L**2))}[method]
                if quick:
                    steps = max(10, steps // 4)
                ours = statistics.median(statmech_rate(method, model, steps) for _ in range(3))
                anchor = statistics.median(anchor_rate(anchors, method, L, steps) for _ in range(3))
                ref = reference_rate(method, model, 20) if reference and threads == 1 and L <= 256 \
                    else float("nan")
                rows.append((threads, method, L, ours, anchor))
                print(f"{method:<15} {L:>5} {ours:>9.4f} {anchor:>9.4f} {ours / anchor:>6.2f}x {ref:>9.4f}",
                      flush=True)
    numba.set_num_threads(previous)
    return rows


# ---------------------------------------------------------------- part 2
def tau(series):
    try:
        return integrated_autocorrelation_time(series)[0]
    except ValueError:
        return float("nan")


def cluster_row(method, L, n_steps, n_chains):
    model = sm.Ising.square(L)
    _cluster_numba.run_chains(model, BETA_C, method, 2, seed=9)  # compiled (cached) kernels loaded
    start = time.process_time()
    run = _cluster_numba.run_chains(model, BETA_C, method, n_steps, n_chains=1, burn_in=n_steps // 10, seed=1)
    seconds = (time.process_time() - start) / (n_steps + n_steps // 10)
    more = _cluster_numba.run_chains(model, BETA_C, method, n_steps, n_chains=n_chains - 1,
                                     burn_in=n_steps // 10, seed=2) if n_chains > 1 else None
    energy = run.energy if more is None else np.concatenate([run.energy, more.energy])
    magnetization = run.magnetization if more is None else np.concatenate([run.magnetization, more.magnetization])
    return tau(np.abs(magnetization) / model.n_sites), tau(energy / model.n_sites), seconds


def metropolis_row(anchors, L, n_records, thin, n_chains):
    """τ_int per sweep of checkerboard Metropolis (numba anchor, records every ``thin`` sweeps)."""
    abs_m, energy = np.empty((n_chains, n_records)), np.empty((n_chains, n_records))
    seconds = []
    for c in range(n_chains):
        s, rng, thresholds = anchors.cb_setup(L, BETA_C, seed=10 + c)
        anchors.cb_sweeps(s, rng, thresholds, n_records * thin // 10)  # burn-in
        start = time.process_time()
        for k in range(n_records):
            anchors.cb_sweeps(s, rng, thresholds, thin)
            abs_m[c, k] = abs(int(s.sum(dtype=np.int64))) / L**2
            energy[c, k] = anchors.cb_energy(s)
        seconds.append((time.process_time() - start) / (n_records * thin))
    # sweep time without the recording: a plain run
    start = time.process_time()
    anchors.cb_sweeps(s, rng, thresholds, 200)
    sweep = (time.process_time() - start) / 200
    return tau(abs_m) * thin, tau(energy) * thin, sweep


def statmech_checkerboard_seconds(L, n_sweeps):
    """Seconds per sweep of statmech's checkerboard Metropolis as backend="auto" runs it (compiled first)."""
    model = sm.Ising.square(L)
    options = dict(method="metropolis", n_chains=1, burn_in=0, seed=0, backend="auto")
    sm.sample(model, BETA_C, n_sweeps=n_sweeps, **options)  # compiles for this n_sweeps
    start = time.process_time()
    sm.sample(model, BETA_C, n_sweeps=n_sweeps, **options)
    return (time.process_time() - start) / n_sweeps


def samples_per_second(anchors, quick):
    L = 64 if quick else 128
    numba.set_num_threads(1)
    print(f"\nPart 2: independent samples per second at L = {L}, beta_c "
          "(1 / (2 tau_int * seconds per step); tau_int per step: one cluster, one SW update, one sweep)")
    print(f"{'sampler':<34} {'tau|m|':>9} {'tauE':>9} {'s/step':>10} {'|m|/s':>9} {'E/s':>9}")
    rows = []
    n_chains = 4
    for method, steps in (("wolff", 20000 if quick else 40000), ("swendsen-wang", 4000 if quick else 10000)):
        tau_m, tau_e, sec = cluster_row(method, L, steps, n_chains)
        rows.append((f"statmech numba {method}", tau_m, tau_e, sec))
    records, thin = (2000, 10) if quick else (4000, 50)
    tau_m, tau_e, sweep = metropolis_row(anchors, L, records, thin, n_chains)
    rows.append(("Metropolis (numba cb anchor)", tau_m, tau_e, sweep))
    rows.append(("Metropolis (statmech, auto)", tau_m, tau_e, statmech_checkerboard_seconds(L, 200)))
    for name, tau_m, tau_e, sec in rows:
        print(f"{name:<34} {tau_m:>9.2f} {tau_e:>9.2f} {sec:>10.3e} {1 / (2 * tau_m * sec):>9.1f} "
              f"{1 / (2 * tau_e * sec):>9.1f}")
    best_m = 1 / (2 * rows[2][1] * rows[2][3])
    best_e = 1 / (2 * rows[2][2] * rows[2][3])
    for name, tau_m, tau_e, sec in rows[:2]:
        print(f"{name}: {1 / (2 * tau_m * sec) / best_m:.1f}x (|m|) and {1 / (2 * tau_e * sec) / best_e:.1f}x (E) "
              "the independent samples per second of the numba Metropolis anchor")
    print("(nan: the autocorrelation window did not close; the run is too short for tau_int)")


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    part = sys.argv[sys.argv.index("--part") + 1] if "--part" in sys.argv else "all"
    anchors = load_anchors()
    if part in ("1", "all"):
        throughput(anchors, quick)
    if part in ("2", "all"):
        samples_per_second(anchors, quick)
