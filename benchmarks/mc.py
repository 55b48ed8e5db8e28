"""Monte Carlo throughput against the naive and numba baselines, and log Z estimators' error vs time.

usage: python benchmarks/mc.py [--quick] [--full] [--clusters] [--int8] [--estimators] [--threads N] [--cpu-time]

``--cpu-time`` times part 0 by the process's CPU time instead of the wall
clock: steadier on a shared machine, meaningful with ``--threads 1`` (the naive JAX
column stays wall-clock time).

Part 0 (the default run, about 2 minutes) prints flips per ns of statmech's
numba kernels (the ``backend="multispin"`` and ``backend="numba"`` kernels,
timed with energy and magnetisation recorded after every sweep unless the
row says otherwise) on the 2D Ising model at β_c for L = 256, 1024, 2048, on
the 3D cubic lattice, on ±J glasses, with Gaussian couplings or a random
field, and for 64 replicas, next to three anchors run in the same process:
the naive JAX checkerboard (../shared/baselines/naive_ising.py), a plain numba
int8 checkerboard and a numba 64-replica multispin code
(../shared/baselines/numba_ising.py), with the ratios. ``--full`` adds parts
1 and 2. ``--int8`` prints only the float (int8-spin) rows of ``backend="numba"``,
each next to the [y, x] checkerboard kernel it replaced on even lattices, against
the int8 anchor timed in turn with them five times: the medians of the ratios.

Part 1 prints spin flips (attempted single-spin updates; for cluster kernels,
flipped spins) per ns of each JAX kernel on the 2D Ising model at β_c, for
L = 256 and 1024, next to the naive JAX checkerboard of
../shared/baselines/naive_ising.py run in the same process, and the ratio;
the JAX Wolff and Swendsen–Wang rows are labelled "JAX reference"
(``backend="reference"``). Then the cluster rows: flipped spins per ns of the
kernels ``backend="auto"`` runs on a CPU (statmech's numba Wolff and
Swendsen–Wang) next to the serial numba anchors ``wolff_steps`` and
``sw_steps`` of ../shared/baselines/numba_ising.py, with the ratios, for
L = 64, 128, 256, 1024 on one numba thread and under the default thread count
(the table of ``benchmarks/clusters.py``). ``--clusters`` prints only these.

``--estimators`` prints only the JAX kernels that estimators, tempering and
quenched averages run (``backend="reference"``: the checkerboard kernels;
``"auto"``: the hashed checkerboard kernels): flips per ns of 64 vmapped
chains of L = 32 and of one chain of L = 256 and 1024, and the wall time of
AIS, TI, MBAR and parallel tempering on the periodic 32 × 32 lattice at β_c
with each backend (compiled before the timing, same seed), with the ratios
and each estimate's error against Kaufman.

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
import numba
import numpy as np

import statmech as sm
from statmech.mc import _cluster, _fast, _local, _multispin, _rng

import clusters  # benchmarks/clusters.py: the cluster rows (numba vs the serial numba anchors)

BASELINE = pathlib.Path(__file__).resolve().parents[2] / "shared" / "baselines" / "naive_ising.py"
NUMBA_BASELINE = BASELINE.with_name("numba_ising.py")
BETA_C = 0.4406868  # the baseline's β


def load_baseline(path=BASELINE):
    if not path.exists():
        raise SystemExit(f"baseline not found at {path}")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # numba's cache finds the module's globals by name
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
               ("hashed_checkerboard_metropolis", _local.hashed_checkerboard_metropolis, False),
               ("hashed_checkerboard_heatbath", _local.hashed_checkerboard_heatbath, False),
               ("metropolis (sequential)", _local.metropolis, False),
               ("heatbath (sequential)", _local.heatbath, False),
               ("wolff (JAX reference)", _cluster.wolff, True),
               ("swendsen_wang (JAX reference)", _cluster.swendsen_wang, True)]
    sizes = (64, 256) if quick else (256, 1024)
    print(f"{'kernel':<30} {'L':>5} {'flips/ns':>10} {'naive':>10} {'ratio':>7}")
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
            if name.startswith("wolff"):
                n_steps = min(sweeps * 4, 200)
            if name.startswith("swendsen_wang"):
                n_steps = min(sweeps, 100)
            rate, _ = kernel_rate(kernel, model, n_steps, cluster)
            print(f"{name:<30} {L:>5} {rate:>10.4f} {naive_rate:>10.4f} {rate / naive_rate:>6.2f}x")


@eqx.filter_jit
def _vmapped_steps(kernel, keys, spins, model, beta, n_steps):
    def one(key, s):
        return _steps(kernel, key, kernel.init(s, model, beta), model, beta, n_steps)[0].spins
    return jax.vmap(one)(keys, spins)


def estimator_kernels(quick):
    """``--estimators``: backend "reference" against "auto" (hashed) inside the estimators, same run."""
    kernels = {"reference": (_local.checkerboard_metropolis, _local.checkerboard_heatbath),
               "auto": (_local.hashed_checkerboard_metropolis, _local.hashed_checkerboard_heatbath)}
    print(f"JAX kernels inside estimators (2D Ising at beta_c; flips/ns, ratio auto / reference)")
    print(f"{'case':<34} {'reference':>10} {'auto':>10} {'ratio':>7}")
    n_chains, L = 64, 32
    model = sm.Ising.square(L)
    keys = jax.random.split(jax.random.key(0), n_chains)
    spins = jnp.ones((n_chains, model.n_sites), jnp.int8)
    n_steps = 50 if quick else 400
    for rule in (0, 1):
        rates = {}
        for backend, pair in kernels.items():
            kernel = pair[rule]
            jax.block_until_ready(_vmapped_steps(kernel, keys, spins, model, BETA_C, jnp.asarray(2)))
            start = time.perf_counter()
            jax.block_until_ready(_vmapped_steps(kernel, keys, spins, model, BETA_C, jnp.asarray(n_steps)))
            rates[backend] = n_chains * model.n_sites * n_steps / (time.perf_counter() - start) / 1e9
        name = f"{('metropolis', 'heatbath')[rule]}, {n_chains} chains of {L}x{L}"
        print(f"{name:<34} {rates['reference']:>10.4f} {rates['auto']:>10.4f} "
              f"{rates['auto'] / rates['reference']:>6.2f}x", flush=True)
    for size in ((64, 256) if quick else (256, 1024)):
        model = sm.Ising.square(size)
        n_steps = max(4, int((2e6 if quick else 2e7) / size**2))
        rates = {b: kernel_rate(pair[1], model, n_steps)[0] for b, pair in kernels.items()}
        name = f"heatbath, one chain of {size}x{size}"
        print(f"{name:<34} {rates['reference']:>10.4f} {rates['auto']:>10.4f} "
              f"{rates['auto'] / rates['reference']:>6.2f}x", flush=True)

    L = 16 if quick else 32
    model = sm.Ising.square(L)
    exact = float(sm.log_z(model, BETA_C, method="kaufman"))
    print(f"\nestimators on the periodic {L}x{L} lattice at beta_c (seconds after compilation, same seed)")
    print(f"{'run':<30} {'reference':>10} {'auto':>10} {'ratio':>7}   error/stderr (reference, auto)")
    runs = [("ais", {}), ("ti", {}), ("mbar", {})]
    for method, options in runs:
        seconds, z = {}, {}
        for backend in ("reference", "auto"):
            sm.log_z(model, BETA_C, method=method, seed=1, backend=backend, **options)  # compile
            start = time.perf_counter()
            estimate = sm.log_z(model, BETA_C, method=method, seed=0, backend=backend, **options)
            seconds[backend] = time.perf_counter() - start
            z[backend] = (float(estimate) - exact) / float(estimate.stderr)
        print(f"{method + ' (defaults)':<30} {seconds['reference']:>10.2f} {seconds['auto']:>10.2f} "
              f"{seconds['reference'] / seconds['auto']:>6.2f}x   {z['reference']:+.2f}, {z['auto']:+.2f}", flush=True)
    from statmech.estimators._mbar import default_ladder
    ladder = default_ladder(model, BETA_C)
    n_sweeps = 1000 if quick else 4000
    seconds = {}
    for backend, pair in kernels.items():
        sm.mc.run_tempering(1, model, ladder, pair[1], n_sweeps)  # compile
        start = time.perf_counter()
        sm.mc.run_tempering(0, model, ladder, pair[1], n_sweeps)
        seconds[backend] = time.perf_counter() - start
    name = f"tempering, {ladder.size} betas x {n_sweeps}"
    print(f"{name:<30} {seconds['reference']:>10.2f} {seconds['auto']:>10.2f} "
          f"{seconds['reference'] / seconds['auto']:>6.2f}x", flush=True)


def cluster_throughput(quick):
    """The cluster rows: backend="auto" (numba on a CPU) Wolff and Swendsen–Wang vs the serial numba anchors."""
    print()
    clusters.throughput(load_baseline(NUMBA_BASELINE), quick, reference=False)


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


# ------------------------------------------------------------ part 0: numba
CLOCK = time.perf_counter  # time.process_time with --cpu-time


def _best_rate(run, flips_per_call, repeats=3):
    """Median flips/ns of ``run()`` over ``repeats`` timed calls (after one untimed warm-up call)."""
    run()
    rates = []
    for _ in range(repeats):
        start = CLOCK()
        run()
        rates.append(flips_per_call / (CLOCK() - start) / 1e9)
    return float(np.median(rates))


def _sweeps(n_flips, per_sweep):
    return max(2, int(n_flips / per_sweep))


def _lattice_runner(model, method, n_flips):
    """One chain, bit-packed by sublattice; E and M recorded every sweep."""
    layout = _multispin.layout(model, 1, "lattice")
    state = layout.to_state(np.ones(model.n_sites, np.int8))
    n = _sweeps(n_flips, model.n_sites)
    key = _rng.key(0)
    return (lambda: layout.run_chain(state, BETA_C, method, key, np.uint64(0), 0, n, 1, n)), n * model.n_sites


def _replica_runner(models, method, n_flips, thin=1):
    """64 replicas (one model, or one ±J instance per replica); E and M per replica every ``thin`` sweeps."""
    layout = _multispin.ReplicaLayout(models, 64)
    state = layout.to_state(np.ones((64, models[0].n_sites), np.int8))
    per = 64 * models[0].n_sites
    n = thin * max(1, _sweeps(n_flips, per) // thin)
    key = _rng.key(0)
    return (lambda: layout.run_group(state, 0, BETA_C, method, key, 0, n, thin, n // thin)), n * per


def _int8_runner(model, method, n_flips, grid=False):
    """The numba int8 kernel (float couplings and fields); E and M recorded every sweep. ``grid``: the [y, x]
    checkerboard kernel that square lattices with odd sides still use (the even ones' kernel before the
    colour-packed one)."""
    layout = _fast._SquareLayout(model) if grid else _fast._layout(model, "numba", 1)
    state = layout.to_state(np.ones(model.n_sites, np.int8))
    n = _sweeps(n_flips, model.n_sites)
    out_e, out_m = np.empty(n), np.empty(n, np.int64)
    no_spins = np.empty((0, model.n_sites), np.int8)
    rule = _fast.RULES.index(method)
    key = _rng.key(0)
    return (lambda: layout(state, BETA_C, rule, key, np.uint64(0), 0, n, 1, 0.0, 0, out_e, out_m, no_spins)), \
        n * model.n_sites


def _anchor_rates(numba_anchor, L, n_flips):
    """(int8 checkerboard, 64-replica multispin) flips/ns of the numba anchors at size L."""
    s, rng, thresholds = numba_anchor.cb_setup(L, BETA_C)
    n_cb = _sweeps(n_flips / 8, L * L)
    cb = _best_rate(lambda: numba_anchor.cb_sweeps(s, rng, thresholds, n_cb), n_cb * L * L)
    w, rng2, p_bits, nbits = numba_anchor.msc_setup(L, BETA_C)
    n_msc = _sweeps(n_flips, 64 * L * L)
    msc = _best_rate(lambda: numba_anchor.msc_sweeps(w, rng2, p_bits, nbits, n_msc), n_msc * 64 * L * L)
    return cb, msc


def _pm_j(model, seed):
    rng = np.random.default_rng(seed)
    return eqx.tree_at(lambda m: m.couplings, model,
                       np.abs(np.asarray(model.couplings)) * rng.choice([-1.0, 1.0], model.n_edges))


def int8_throughput(quick, repeats):
    """``--int8``: the float kernel of backend="numba" (colour-packed) and the [y, x] kernel, next to the plain
    numba int8 anchor, timed in turn ``repeats`` times at each size; the medians of the ratios."""
    anchor = load_baseline(NUMBA_BASELINE)
    anchor.warm()
    n_flips = 1e8 if quick else 6e8
    sizes = (256,) if quick else (256, 1024, 2048)
    rng = np.random.default_rng(0)
    print(f"{'kernel (statmech)':<44} {'L':>5} {'flips/ns':>9} {'int8':>7} {'/int8':>6}  (medians of {repeats})")
    for L in sizes:
        gauss = sm.Ising.square(L, J=(rng.normal(size=(L, L)), rng.normal(size=(L, L))))
        field = sm.Ising.square(L, h=rng.normal(0.0, 0.3, L * L))
        cases = [("ferromagnet", sm.Ising.square(L), "metropolis"), ("Gaussian J", gauss, "metropolis"),
                 ("Gaussian J", gauss, "heatbath"), ("random field", field, "metropolis")]
        rows = {}
        for label, model, method in cases:
            for grid in (False, True):
                name = f"{'[y, x] kernel' if grid else 'numba int8'} {method}, {label}"
                rows[name] = _int8_runner(model, method, n_flips / 32, grid)
        s, rng_cb, thresholds = anchor.cb_setup(L, BETA_C)
        n_cb = _sweeps(n_flips / 32, L * L)
        rates = {name: [] for name in rows}
        anchors = []
        for _ in range(repeats):
            anchors.append(_best_rate(lambda: anchor.cb_sweeps(s, rng_cb, thresholds, n_cb), n_cb * L * L, 1))
            for name, (run, flips) in rows.items():
                rates[name].append(_best_rate(run, flips, 1))
        for name, values in rates.items():
            ratio = np.median(np.array(values) / np.array(anchors))
            print(f"{name:<44} {L:>5} {np.median(values):>9.3f} {np.median(anchors):>7.3f} {ratio:>5.2f}x",
                  flush=True)


def fast_throughput(quick):
    """Part 0: statmech's numba kernels next to the naive JAX and the two numba anchors, same process."""
    naive = load_baseline()
    anchor = load_baseline(NUMBA_BASELINE)
    anchor.warm()
    n_flips = 1e8 if quick else 6e8
    sizes = (256,) if quick else (256, 1024, 2048)
    print(f"{'kernel (statmech)':<40} {'L':>5} {'flips/ns':>9} {'naive':>7} {'int8':>7} {'msc':>7} "
          f"{'/naive':>7} {'/int8':>6} {'/msc':>6}")

    def row(name, L, rate, anchors):
        nv, cb, msc = anchors
        print(f"{name:<40} {L:>5} {rate:>9.3f} {nv:>7.3f} {cb:>7.3f} {msc:>7.3f} {rate / nv:>6.1f}x "
              f"{rate / cb:>5.2f}x {rate / msc:>5.2f}x", flush=True)

    rng = np.random.default_rng(0)
    for L in sizes:
        naive_sweeps = _sweeps(n_flips / 20, L * L)
        naive_seconds, _ = naive.run_jax(L, naive_sweeps)
        anchors = (L * L * naive_sweeps / naive_seconds / 1e9,) + _anchor_rates(anchor, L, n_flips)
        model = sm.Ising.square(L)
        for method in ("metropolis", "heatbath"):
            row(f"multispin lattice {method}", L, _best_rate(*_lattice_runner(model, method, n_flips)), anchors)
        glass = _pm_j(model, 1)
        row("multispin lattice metropolis, ±J", L, _best_rate(*_lattice_runner(glass, "metropolis", n_flips)),
            anchors)
        row("numba int8 metropolis", L, _best_rate(*_int8_runner(model, "metropolis", n_flips / 8)), anchors)
        gauss = sm.Ising.square(L, J=(rng.normal(size=(L, L)), rng.normal(size=(L, L))))
        for method in ("metropolis", "heatbath"):
            row(f"numba int8 {method}, Gaussian J", L,
                _best_rate(*_int8_runner(gauss, method, n_flips / 8)), anchors)
        field = sm.Ising.square(L, h=rng.normal(0.0, 0.3, L * L))
        row("numba int8 metropolis, random field", L, _best_rate(*_int8_runner(field, "metropolis", n_flips / 8)),
            anchors)
        if L == sizes[0]:
            cube = sm.Ising.cubic(64)
            for method in ("metropolis", "heatbath"):
                row(f"multispin lattice {method}, cubic 64^3", L,
                    _best_rate(*_lattice_runner(cube, method, n_flips)), anchors)
            row("multispin lattice metropolis, cubic ±J", L,
                _best_rate(*_lattice_runner(_pm_j(cube, 2), "metropolis", n_flips)), anchors)
    for L, count in ((32, 64), (64, 1)):
        anchors = (float("nan"),) + _anchor_rates(anchor, L, n_flips)
        model = sm.Ising.square(L)
        models = [_pm_j(model, seed) for seed in range(count)] if count > 1 else [model]
        label = "64 EA instances (±J)" if count > 1 else "64 chains"
        for method in ("metropolis", "heatbath"):
            row(f"multispin replica {method}, {label}", L,
                _best_rate(*_replica_runner(models, method, n_flips)), anchors)
        if count > 1:
            row(f"  same, E and M every 10 sweeps", L,
                _best_rate(*_replica_runner(models, "metropolis", n_flips, thin=10)), anchors)


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    if "--threads" in sys.argv:  # numba threads for statmech and the numba anchors alike
        numba.set_num_threads(int(sys.argv[sys.argv.index("--threads") + 1]))
    if "--cpu-time" in sys.argv:
        CLOCK = time.process_time
    print(f"JAX devices: {jax.devices()}; numba threads: {numba.get_num_threads()}; "
          f"clock: {CLOCK.__name__}")
    if "--clusters" in sys.argv:
        cluster_throughput(quick)
        sys.exit()
    if "--int8" in sys.argv:
        int8_throughput(quick, repeats=5)
        sys.exit()
    if "--estimators" in sys.argv:
        estimator_kernels(quick)
        sys.exit()
    fast_throughput(quick)
    if "--full" in sys.argv:
        throughput(quick)
        cluster_throughput(quick)
        estimators(quick)
