"""Front doors for Monte Carlo: ``sample`` (configurations) and the MC ``thermo`` methods.

``sm.sample(model, beta, method=...)`` returns an xarray Dataset of
configurations and energies; ``sm.thermo(model, beta, method="metropolis" |
"heatbath" | "wolff" | "swendsen-wang" | "pt", ...)`` returns a ``Thermo``
whose every field carries a standard error from the Γ-method (means) or a
block jackknife (variances, Binder cumulant), with τ_int, ESS and R̂ in each
Estimate's ``meta``.

Randomness: ``seed`` (an int) → ``jax.random.key(seed)``, split once into
(start, burn-in, run) keys, then per chain. The seed is recorded in the result.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from statmech._compile_cache import ensure_compile_cache
from statmech._validation import as_beta_array, check_memory, check_positive_int, check_seed, renamed_option
from statmech.mc import _cluster, _cluster_numba, _fast, _gpu, _local, _tempering
from statmech.mc._base import Kernel
from statmech.models import Ising
from statmech.stats import Estimate, chain_statistics, jackknife
from statmech.stats._autocorr import MIN_DRAWS
from statmech._types import Method, Thermo

if TYPE_CHECKING:  # for the annotations only: xarray is imported when a Dataset is built
    import xarray

JAX_BACKENDS = ("auto", "reference", "sequential", "checkerboard", "hashed-checkerboard")
BACKENDS = JAX_BACKENDS + _fast.BACKENDS + (_gpu.BACKEND,)
CLUSTER_METHODS = ("wolff", "swendsen-wang")
CLUSTER_BACKENDS = ("auto", "reference", "numba")
SINGLE_BETA_METHODS = ("metropolis", "heatbath", "wolff", "swendsen-wang")


def applicable_backends(model, method: str, n_chains: int = 1) -> tuple[str, ...]:
    """The backends that can run ``method`` on ``model`` through ``sm.thermo`` / ``sm.sample``."""
    if method in CLUSTER_METHODS:
        return CLUSTER_BACKENDS
    if method not in ("metropolis", "heatbath"):
        return ("auto",)
    fast = tuple(b for b in _fast.BACKENDS if _fast.why_not(model, method, b, n_chains) is None)
    fused = (_gpu.BACKEND,) if _gpu.why_not(model, method, n_chains) is None else ()
    jax_backends = tuple(b for b in JAX_BACKENDS
                         if b != "hashed-checkerboard" or _local.two_colourable_lattice(model.lattice))
    return jax_backends + fast + fused


def _choose_fast(model, method, backend, n_chains):
    """The driver backend (numba ones, or "jax-fused": forced, or by "auto" when JAX runs on a GPU), or None."""
    if backend == _gpu.BACKEND or (backend == "auto" and jax.default_backend() == "gpu"
                                   and _gpu.why_not(model, method, n_chains) is None):
        return _gpu.BACKEND
    return _fast.choose(model, method, backend, n_chains)


def _run_fast(model, beta, method, backend, **options):
    """Run a driver backend chosen by :func:`_choose_fast`; returns a ``_fast.FastRun``."""
    return (_gpu.run if backend == _gpu.BACKEND else _fast.run)(model, beta, method, backend, **options)


def _check_not_periodic(method, betas) -> None:
    """Metropolis at β = 0 accepts every flip: a sweep flips every spin, a chain of period 2, not a sampler."""
    if method == "metropolis" and np.any(np.asarray(betas) == 0):
        raise ValueError("method 'metropolis' at beta = 0 flips every spin every sweep (a periodic chain, "
                         "wrong with small error bars); use method='heatbath' there, or an exact method "
                         "(at beta = 0 every configuration is equally likely)")


def _check_backend(model, method, backend, n_chains=1):
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if method in CLUSTER_METHODS:
        if backend not in CLUSTER_BACKENDS:
            raise ValueError(f"method {method!r} runs on backend {', '.join(map(repr, CLUSTER_BACKENDS))}, "
                             f"got {backend!r}")
        return
    if backend == _gpu.BACKEND and _gpu.why_not(model, method, n_chains) is not None:
        raise ValueError(f"backend {backend!r} does not apply ({_gpu.why_not(model, method, n_chains)}); "
                         f"backends that apply: {', '.join(applicable_backends(model, method, n_chains))}")
    if backend in _fast.BACKENDS:
        reason = _fast.why_not(model, method, backend, n_chains)
        if reason is not None:
            raise ValueError(f"backend {backend!r} does not apply ({reason}); backends that apply: "
                             f"{', '.join(applicable_backends(model, method, n_chains))}")


def select_kernel(model, method: str, backend: str = "auto") -> Kernel:
    """The JAX kernel for ``method`` on ``model`` (what estimators and tempering run inside ``jit``).

    ``backend="reference"`` uses the checkerboard (sublattice-parallel)
    kernels on chains, square and cubic lattices and the sequential
    single-site kernels on general graphs; ``"auto"`` the same, except the
    hashed checkerboard kernels (the same sweep, 2-4x faster random numbers)
    on two-colourable lattices; ``"sequential"`` / ``"checkerboard"`` /
    ``"hashed-checkerboard"`` force one. The numba backends (``"numba"``,
    ``"multispin"``, and the numba Wolff / Swendsen–Wang kernels) run only
    through ``sm.thermo`` / ``sm.sample``.
    """
    ensure_compile_cache()  # first use of a kernel: before anything compiles (statmech._compile_cache)
    if backend in _fast.BACKENDS + (_gpu.BACKEND,):
        _check_backend(model, method, backend)
        raise ValueError(f"backend {backend!r} runs through sm.thermo and sm.sample only; kernels that run "
                         f"inside JAX (estimators, tempering) take backend in {JAX_BACKENDS}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if method in CLUSTER_METHODS:
        if backend not in ("auto", "reference"):
            raise ValueError(f"method {method!r} runs on backend 'auto', 'numba' or 'reference', got {backend!r}")
        _cluster.check_ferromagnetic(model)
        return _cluster.wolff if method == "wolff" else _cluster.swendsen_wang
    if method not in ("metropolis", "heatbath"):
        raise ValueError(f"unknown sampling method {method!r}; use one of {SINGLE_BETA_METHODS}")
    lattice_kinds = ("chain", "square", "cubic")
    hashed = _local.two_colourable_lattice(model.lattice)
    if backend == "hashed-checkerboard" and not hashed:
        lattice = model.lattice
        raise ValueError(f"backend 'hashed-checkerboard' runs chain, square and cubic lattices that two colours "
                         f"tile (even periodic sides, or open), got a {lattice.kind} lattice {lattice.shape} "
                         f"(periodic={lattice.periodic}); use backend 'auto' or 'checkerboard'")
    if backend == "hashed-checkerboard" or (backend == "auto" and hashed):
        return _local.hashed_checkerboard_metropolis if method == "metropolis" else _local.hashed_checkerboard_heatbath
    if backend == "checkerboard" or (backend in ("auto", "reference") and model.lattice.kind in lattice_kinds):
        if not _local.two_colourable_lattice(model.lattice):
            # Periodic lattices with an odd side and graphs: colour classes built here, before tracing.
            return _local.colored_kernel(model, method)
        return _local.checkerboard_metropolis if method == "metropolis" else _local.checkerboard_heatbath
    return _local.metropolis if method == "metropolis" else _local.heatbath


def _traced(beta):
    """β as a JAX scalar, so ``eqx.filter_jit`` traces it (a Python float would be static: one compile per β)."""
    return jnp.asarray(beta, dtype=jnp.result_type(float))


def _start(key, n_chains, n_sites, start):
    if start == "random":
        return jax.random.rademacher(key, (n_chains, n_sites), jnp.int8)
    if start == "up":
        return jnp.ones((n_chains, n_sites), jnp.int8)
    raise ValueError(f"start must be 'random' or 'up', got {start!r}")


@eqx.filter_jit
def _burn(kernel, keys, spins, model, beta, n_sweeps):
    def one(key, s):
        state, _ = _local.run_chain(kernel, key, s, model, beta, n_sweeps, n_sweeps)
        return state.spins

    return jax.vmap(one)(keys, spins)


@eqx.filter_jit
def _draw(kernel, keys, spins, model, beta, n_sweeps, thin):
    def one(key, s):
        return _local.run_chain(kernel, key, s, model, beta, n_sweeps, thin)

    return jax.vmap(one)(keys, spins)


@eqx.filter_jit
def _observe(kernel, keys, spins, model, beta, n_sweeps, thin):
    def one(key, s):
        return _local.run_chain_observables(kernel, key, s, model, beta, n_sweeps, thin)

    return jax.vmap(one)(keys, spins)


def _chains(model, beta, kernel, n_chains, burn_in, key, start):
    start_key, burn_key, run_key = jax.random.split(key, 3)
    spins = _start(start_key, n_chains, model.n_sites, start)
    kernel.init(spins[0], model, beta)  # validates the model for this kernel (outside jit)
    if burn_in:
        spins = _burn(kernel, jax.random.split(burn_key, n_chains), spins, model, beta, burn_in)
    return jax.random.split(run_key, n_chains), spins


#: Peak bytes per recorded spin of sm.sample (int8 draws, the float64 copies of H recomputed): measured 33.
SAMPLE_BYTES_PER_SPIN = 36
#: Bytes per site of one chain's state while it runs (spins, local fields, kernel temporaries).
STATE_BYTES_PER_SITE = 16
#: Peak bytes per (chain, draw) of the recorded E and M series and their error analysis (FFT, jackknife).
SERIES_BYTES_PER_DRAW = 64


def check_run_memory(front_door, n_sites, n_chains, n_draws, n_states=1, recorded_spins=0):
    """Refuse a Monte Carlo run whose up-front memory estimate exceeds the budget (before any work).

    ``n_draws`` series entries per chain are kept (E and M), ``n_states`` chain states of
    ``n_sites`` spins run at once per chain, and ``recorded_spins`` spins are returned.
    """
    n_bytes = (STATE_BYTES_PER_SITE * n_states * n_chains * n_sites + SERIES_BYTES_PER_DRAW * n_chains * n_draws
               + SAMPLE_BYTES_PER_SPIN * recorded_spins)
    check_memory(n_bytes, f"{front_door} with {n_chains} chains of {n_sites} spins ({n_draws} draws each)",
                 "use fewer chains (a few long chains give the same error bar as many short ones), fewer "
                 "recorded draws (a smaller n_sweeps, a larger thin), or sm.thermo, which keeps only E and M per draw")


def _check_run(n_chains, burn_in, thin):
    n_chains = check_positive_int(n_chains, "n_chains")
    burn_in = check_positive_int(burn_in, "burn_in", minimum=0)
    thin = check_positive_int(thin, "thin")
    return n_chains, burn_in, thin


def sample(model, beta, method: str = "metropolis", n_sweeps: int | None = None, n_chains: int = 4,
           burn_in: int = 500, thin: int = 1, seed: int = 0, backend: str = "auto",
           start: str = "random", n_samples: int | None = None) -> xarray.Dataset:
    """Draw configurations of ``model`` at one ``beta`` by Monte Carlo.

    Runs ``n_chains`` independent chains (vmapped) from ``start`` ("random"
    ±1 or all "up"), discards ``burn_in`` sweeps, then runs ``n_sweeps``
    sweeps (default 1000) and keeps one configuration every ``thin`` sweeps,
    ``n_sweeps // thin`` draws per chain (a sweep is one step of the kernel:
    N single-spin updates, one Wolff cluster, or one Swendsen–Wang update),
    as in ``sm.thermo``. The old option ``n_samples`` (a number of draws,
    ``n_sweeps = n_samples * thin``) still works for one release, with a
    DeprecationWarning. Returns an ``xarray.Dataset`` with ``spins`` (chain, draw, site)
    int8, ``energy`` (chain, draw) float64 (H recomputed exactly) and
    ``magnetization`` (chain, draw); attributes record β, method, kernel and seed.

    ``backend``: see :func:`select_kernel`; for ``"wolff"`` and
    ``"swendsen-wang"``, ``"numba"`` runs the compiled CPU kernels of
    ``statmech.mc._cluster_numba`` (``"auto"`` does when JAX runs on the
    CPU) and ``"reference"`` the JAX kernels.
    """
    import xarray as xr

    betas, scalar = as_beta_array(beta)
    if not scalar:
        raise ValueError("sample() takes one beta; loop over betas, or use method='pt' in sm.thermo")
    if not isinstance(model, Ising):
        raise TypeError(f"sample() needs an sm.Ising model, got {type(model).__name__}")
    n_chains, burn_in, thin = _check_run(n_chains, burn_in, thin)
    if n_samples is not None:
        n_samples = check_positive_int(n_samples, "n_samples")
    n_sweeps = renamed_option("sample", "n_samples", None if n_samples is None else n_samples * thin,
                              "n_sweeps", n_sweeps, 1000)
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps")
    if n_sweeps < thin:
        raise ValueError(f"n_sweeps = {n_sweeps} keeps no draw with thin = {thin}; pass n_sweeps >= thin")
    n_samples = n_sweeps // thin
    seed = check_seed(seed)
    check_run_memory("sample()", model.n_sites, n_chains, n_samples,
                     recorded_spins=n_chains * n_samples * model.n_sites)
    beta_value = float(betas[0])
    _check_not_periodic(method, betas)
    _check_backend(model, method, backend, n_chains)
    fast = None if method in CLUSTER_METHODS else _choose_fast(model, method, backend, n_chains)
    if _numba_clusters(method, backend):
        run = _cluster_numba.run_chains(model, beta_value, method, n_samples, n_chains=n_chains, burn_in=burn_in,
                                        thin=thin, seed=seed, start=start, record_spins=True)
        draws, kernel_name = run.spins, f"{method}[numba]"
    elif fast is not None:
        run = _run_fast(model, beta_value, method, fast, n_chains=n_chains, n_sweeps=n_samples * thin,
                        burn_in=burn_in, thin=thin, seed=seed, start=start, record_spins=True)
        draws, kernel_name = run.spins, run.kernel
    else:
        kernel = select_kernel(model, method, backend)
        traced_beta = _traced(beta_value)
        keys, spins = _chains(model, traced_beta, kernel, n_chains, burn_in, jax.random.key(seed), start)
        _, draws = _draw(kernel, keys, spins, model, traced_beta, n_samples * thin, thin)
        draws, kernel_name = np.asarray(draws, dtype=np.int8), kernel.name
    energy = model.energy(draws.astype(np.float64))
    return xr.Dataset(
        {
            "spins": (("chain", "draw", "site"), draws),
            "energy": (("chain", "draw"), energy),
            "magnetization": (("chain", "draw"), draws.sum(axis=-1, dtype=np.int64)),
        },
        coords={"chain": np.arange(n_chains), "draw": np.arange(n_samples), "site": np.arange(model.n_sites)},
        attrs={"beta": beta_value, "method": method, "kernel": kernel_name, "seed": seed,
               "burn_in": burn_in, "thin": thin, "n_sites": model.n_sites},
    )


# ---------------------------------------------- numba cluster backend (Wolff, Swendsen–Wang)
def _numba_clusters(method, backend) -> bool:
    """True when ``method`` runs on the numba cluster kernels: ``backend="numba"``, or "auto" on a CPU.

    ``"reference"`` (and every other backend) keeps the JAX kernels.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if method not in CLUSTER_METHODS:
        return False
    return backend == "numba" or (backend == "auto" and jax.default_backend() == "cpu")


def _numba_cluster_series(model, betas, method, n_sweeps, n_chains, burn_in, thin, seed, start):
    """Per-β (energy, magnetization) series (n_chains, n_sweeps // thin); β number k uses stream k of ``seed``."""
    series = []
    for k, b in enumerate(betas):
        run = _cluster_numba.run_chains(model, float(b), method, n_sweeps // thin, n_chains=n_chains,
                                        burn_in=burn_in, thin=thin, seed=seed, stream=k, start=start)
        series.append((run.energy, run.magnetization))
    return series


# ------------------------------------------------------------------ thermo
def _estimates_from_series(energy, magnetization, beta, n_sites):
    """Per-β values, stderrs and diagnostics from (chains, draws) series of H and M."""
    energy = np.asarray(energy, dtype=np.float64)
    magnetization = np.asarray(magnetization, dtype=np.float64)
    out = {}
    for name, series in (("energy", energy), ("magnetization", magnetization),
                         ("abs_magnetization", np.abs(magnetization))):
        try:
            stats = chain_statistics(series)
        except ValueError as error:
            # The mean is kept; its error bar is unknown (NaN) and the reason is recorded.
            out[name] = (float(np.mean(series)), float("nan"), {"warnings": (f"{name}: {error}",)})
            continue
        warnings = tuple(f"{name}: {w}" for w in stats.warnings)
        out[name] = (stats.mean, stats.stderr, {"tau_int": stats.tau_int, "ess": stats.ess,
                                                "ess_multichain": stats.ess_multichain,
                                                "gamma_stderr": stats.gamma_stderr,
                                                "rhat": stats.rhat, "warnings": warnings})
    m = magnetization / n_sites
    e = energy - np.mean(energy)  # centred: the variance needs no cancellation of large numbers
    for name, function, inputs in (
        ("specific_heat", lambda a, a2: beta**2 * (a2 - a**2), (e, e**2)),
        ("susceptibility_density", lambda a, a2: beta * n_sites * (a2 - a**2), (m, m**2)),
        ("binder_cumulant", lambda a2, a4: 1.0 - a4 / (3.0 * a2**2), (m**2, m**4)),
    ):
        result = jackknife(function, inputs)
        out[name] = (result.value, result.stderr, {"warnings": tuple(f"{name}: {w}" for w in result.warnings)})
    return out


def thermo_from_series(series_per_beta, betas, n_sites, method, scalar, meta) -> Thermo:
    """Build a sampled ``Thermo`` (every field with a stderr) from per-β (energy, magnetization) series."""
    per_beta = [_estimates_from_series(e, m, b, n_sites) for (e, m), b in zip(series_per_beta, betas)]

    def est(key):
        values = np.array([p[key][0] for p in per_beta])
        errors = np.array([p[key][1] for p in per_beta])
        diagnostics = [p[key][2] for p in per_beta]
        info = {"beta": betas[0] if scalar else betas, "n_sites": n_sites, **meta,
                "diagnostics": diagnostics[0] if scalar else diagnostics}
        if scalar:
            return Estimate(values[0], errors[0], method, info)
        return Estimate(values, errors, method, info)

    warnings = sorted({w for p in per_beta for item in p.values() for w in item[2].get("warnings", ())})
    return Thermo.from_estimates(
        betas[0] if scalar else np.asarray(betas), n_sites, method,
        energy=est("energy"), specific_heat=est("specific_heat"), magnetization=est("magnetization"),
        abs_magnetization=est("abs_magnetization"), susceptibility_density=est("susceptibility_density"),
        binder_cumulant=est("binder_cumulant"), meta={**meta, "warnings": tuple(warnings)},
    )


def _mc_thermo(model, beta, *, method, n_sweeps=2000, n_chains=4, burn_in=None, thin=1, seed=0,
               backend="auto", start="random"):
    betas = np.atleast_1d(np.asarray(beta, dtype=np.float64))
    scalar = np.ndim(beta) == 0
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps")
    burn_in = n_sweeps // 5 if burn_in is None else burn_in
    n_chains, burn_in, thin = _check_run(n_chains, burn_in, thin)
    if n_sweeps // thin < MIN_DRAWS:
        raise ValueError(
            f"chain too short for an error bar: n_sweeps // thin = {n_sweeps // thin} draws per chain; "
            f"use n_sweeps >= {MIN_DRAWS * thin} (and in practice >= 50 autocorrelation times)"
        )
    seed = check_seed(seed)
    check_run_memory(f"thermo(method={method!r})", model.n_sites, n_chains, len(betas) * (n_sweeps // thin))
    _check_not_periodic(method, betas)
    _check_backend(model, method, backend, n_chains)
    fast = None if method in CLUSTER_METHODS else _choose_fast(model, method, backend, n_chains)
    if _numba_clusters(method, backend):
        series, kernel_name = _numba_cluster_series(model, betas, method, n_sweeps, n_chains, burn_in, thin, seed,
                                                    start), f"{method}[numba]"
    elif fast is not None:
        # β number k of a grid runs the streams of key(seed, k): a pure function of the seed.
        runs = [_run_fast(model, b, method, fast, n_chains=n_chains, n_sweeps=n_sweeps, burn_in=burn_in,
                          thin=thin, seed=seed, start=start, stream=k) for k, b in enumerate(betas)]
        series, kernel_name = [(run.energy, run.magnetization) for run in runs], runs[0].kernel
    else:
        kernel = select_kernel(model, method, backend)
        series, kernel_name = [], kernel.name
        for k, b in enumerate(betas):
            # β number k of a grid gets the stream fold_in(key(seed), k): a pure function of the seed.
            key = jax.random.key(seed) if len(betas) == 1 else jax.random.fold_in(jax.random.key(seed), k)
            keys, spins = _chains(model, _traced(b), kernel, n_chains, burn_in, key, start)
            _, energy, magnetization = _observe(kernel, keys, spins, model, _traced(b), n_sweeps, thin)
            series.append((np.asarray(energy), np.asarray(magnetization)))
    meta = {"seed": seed, "n_sweeps": n_sweeps, "n_chains": n_chains, "burn_in": burn_in, "thin": thin,
            "kernel": kernel_name, "backend": fast or ("numba" if _numba_clusters(method, backend) else "reference")}
    return thermo_from_series(series, betas, model.n_sites, method, scalar, meta)


#: rungs of the default ladder that parallel tempering builds for a single β
DEFAULT_RUNGS = 8


def default_ladder(beta: float, n_rungs: int = DEFAULT_RUNGS) -> np.ndarray:
    """The ladder for a single target β: ``n_rungs`` geometric rungs from β/4 to β (the hottest mixes fast)."""
    return np.geomspace(beta / 4.0, beta, n_rungs)


def _pt_thermo(model, beta, *, n_sweeps=2000, n_chains=4, burn_in=None, seed=0, kernel=None,
               backend="auto", n_sweeps_between_swaps=1, inner=None):
    """Parallel tempering on the ladder ``beta``: a sampled Thermo at every rung, with swap diagnostics.

    A single β gets the ladder :func:`default_ladder` (geometric, β/4 … β,
    recorded in ``meta["ladder"]``) and the Thermo of its top rung.
    """
    single = np.ndim(beta) == 0
    if single:
        if float(beta) <= 0:
            raise ValueError("method 'pt' at beta = 0: every configuration is equally likely, nothing to temper; "
                             "use an exact method, or pass a ladder of beta > 0")
        beta = default_ladder(float(beta))
    ladder = _tempering.check_ladder(beta)
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps")
    burn_in = n_sweeps // 5 if burn_in is None else burn_in
    n_chains, burn_in, _ = _check_run(n_chains, burn_in, 1)
    n_between = check_positive_int(n_sweeps_between_swaps, "n_sweeps_between_swaps")
    if n_sweeps // n_between < MIN_DRAWS:
        raise ValueError(f"chain too short for an error bar: n_sweeps // n_sweeps_between_swaps = "
                         f"{n_sweeps // n_between} draws per rung; use n_sweeps >= {MIN_DRAWS * n_between}")
    seed = check_seed(seed)
    check_run_memory("thermo(method='pt')", model.n_sites, n_chains, ladder.size * (n_sweeps // n_between),
                     n_states=ladder.size)
    kernel_name = renamed_option("thermo(method='pt')", "inner", inner, "kernel", kernel, "metropolis")
    if kernel_name not in SINGLE_BETA_METHODS:
        raise ValueError(f"kernel must be one of {', '.join(SINGLE_BETA_METHODS)}; got {kernel_name!r}")
    kernel = select_kernel(model, kernel_name, backend)
    runs = [_tempering.run_tempering(jax.random.fold_in(jax.random.key(seed), c), model, ladder, kernel,
                                     n_sweeps - n_sweeps % n_between, n_sweeps_between_swaps=n_between,
                                     burn_in=burn_in // n_between)
            for c in range(n_chains)]
    energies = np.stack([run.energies for run in runs])            # (chains, steps, R)
    magnetizations = np.stack([run.magnetizations for run in runs])
    series = [(energies[:, :, k], magnetizations[:, :, k]) for k in range(ladder.size)]
    meta = {"seed": seed, "n_sweeps": n_sweeps, "n_chains": n_chains, "burn_in": burn_in,
            "kernel": f"pt({kernel.name})", "n_sweeps_between_swaps": n_between,
            "swap_acceptance": np.mean([run.swap_acceptance for run in runs], axis=0),
            "round_trips": int(sum(run.round_trips for run in runs)), "ladder": ladder}
    if single:
        return thermo_from_series(series[-1:], ladder[-1:], model.n_sites, "pt", True, meta)
    return thermo_from_series(series, ladder, model.n_sites, "pt", False, meta)


def _why_not_sampler(method):
    def why_not(model, options):
        if method in ("wolff", "swendsen-wang") and not model.is_ferromagnetic:
            return "cluster updates need ferromagnetic couplings (all J >= 0); use metropolis, heatbath or pt"
        return None

    return why_not


# Registered by statmech._registry (this module does not import the registry).
METHODS: list[Method] = []
METHODS.append(Method(name="pt", exact=False, why_not=lambda model, options: None, thermo_fn=_pt_thermo,
                       model_types=(Ising,)))

for _name in SINGLE_BETA_METHODS:
    METHODS.append(Method(
        name=_name, exact=False, why_not=_why_not_sampler(_name),
        thermo_fn=(lambda name: lambda model, beta, **options: _mc_thermo(model, beta, method=name, **options))(_name),
        model_types=(Ising,),
    ))
