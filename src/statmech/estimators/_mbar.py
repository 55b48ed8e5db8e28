"""log Z at any β from one parallel-tempering run, by MBAR.

A ladder 0 = β_0 < … < β_{K−1} is sampled by parallel tempering, each slot
thinned by 2 τ_int, and the MBAR equations (Shirts & Chodera, J. Chem. Phys.
129, 124105 (2008))

    f_i = −ln Σ_n exp(−u_i(x_n)) / Σ_k N_k exp(f_k − u_k(x_n)),   u_k = β_k H,

are solved by Newton's method; ln Z(β) = N ln 2 − (f(β) − f(0)) at any β in
[0, β_{K−1}]. Error bars: a block jackknife over the run. Derivation:
docs/derivations.md; the default ladder and the coverage measurements:
docs/guides/estimators.md.
"""
from __future__ import annotations

import dataclasses
import math
import time
from typing import Any, Mapping

import jax
import numpy as np

from statmech._validation import as_beta_array, check_positive_int
from statmech._validation import check_seed
from statmech.estimators import _budget
from statmech.mc._sampling import select_kernel
from statmech.mc._tempering import check_ladder, run_tempering
from statmech.models import Ising
from statmech.stats import Estimate, chain_statistics
from statmech._types import Method, Thermo

METHOD = "mbar"
#: Target Δβ·σ_0 between neighbouring temperatures of the default ladders.
TARGET_STEP = 0.5
#: Ratio of neighbouring β of the default geometric ladder.
GEOMETRIC_RATIO = 1.2
#: Fewest temperatures of a default ladder, and most of any ladder.
MIN_TEMPERATURES = 4
MAX_TEMPERATURES = 256
SPACINGS = ("linear", "geometric")
KERNELS = ("heatbath", "wolff", "swendsen-wang")
#: Consecutive blocks of sweeps left out one at a time for the jackknife error bars.
JACKKNIFE_BLOCKS = 20


# --------------------------------------------------------------------- ladder
def high_temperature_energy_std(model: Ising) -> float:
    """σ_0 = √Var(H) at β = 0: √(Σ_{i<j} J_ij² + Σ_i h_i²), parallel bonds summed, self-bonds dropped."""
    edges = np.sort(np.asarray(model.edges), axis=1)
    couplings = np.asarray(model.couplings, dtype=np.float64)
    off = edges[:, 0] != edges[:, 1]
    if np.any(off):
        pairs, inverse = np.unique(edges[off], axis=0, return_inverse=True)
        summed = np.bincount(inverse.reshape(-1), weights=couplings[off], minlength=len(pairs))
    else:
        summed = np.zeros(0)
    field = np.asarray(model.field, dtype=np.float64)
    return float(math.sqrt(np.sum(summed**2) + np.sum(field**2)))


def default_ladder(model: Ising, beta_max: float, n_temperatures: int | None = None,
                   spacing: str = "linear") -> np.ndarray:
    """A ladder from β = 0 to ``beta_max`` (see the module docstring for the rules)."""
    if spacing not in SPACINGS:
        raise ValueError(f"spacing must be one of {SPACINGS}, got {spacing!r}")
    beta_max = float(beta_max)
    if not (math.isfinite(beta_max) and beta_max > 0):
        raise ValueError(f"beta_max must be finite and > 0, got {beta_max}")
    sigma = high_temperature_energy_std(model)
    first = min(TARGET_STEP / sigma, beta_max / 2) if sigma > 0 else beta_max / 2
    if n_temperatures is None:
        if spacing == "linear":
            n_temperatures = max(MIN_TEMPERATURES, math.ceil(beta_max * sigma / TARGET_STEP) + 1)
        else:
            n_geometric = math.ceil(math.log(beta_max / first) / math.log(GEOMETRIC_RATIO)) + 1
            n_temperatures = max(MIN_TEMPERATURES, n_geometric + 1)
        if n_temperatures > MAX_TEMPERATURES:
            hint = ("spacing='geometric'" if spacing == "linear"
                    else "an explicit ladder=... or a smaller beta")
            raise ValueError(
                f"a {spacing} ladder from 0 to beta = {beta_max:g} needs about {n_temperatures} "
                f"temperatures for this model (more than {MAX_TEMPERATURES}); use {hint}")
    n_temperatures = check_positive_int(n_temperatures, "n_temperatures", minimum=2)
    if n_temperatures > MAX_TEMPERATURES:
        raise ValueError(f"n_temperatures must be <= {MAX_TEMPERATURES}, got {n_temperatures}")
    if spacing == "linear" or n_temperatures == 2:
        return np.linspace(0.0, beta_max, n_temperatures)
    return np.concatenate([[0.0], np.geomspace(first, beta_max, n_temperatures - 1)])


def _check_user_ladder(ladder, beta_max) -> np.ndarray:
    ladder = check_ladder(ladder)
    if ladder[0] != 0.0:
        raise ValueError(
            f"the ladder must start at beta = 0 (it fixes ln Z(0) = N ln 2), got {ladder[0]:g}; "
            "prepend 0, e.g. np.concatenate([[0.0], ladder])")
    if beta_max is not None and beta_max > ladder[-1]:
        raise ValueError(
            f"the ladder ends at beta = {ladder[-1]:g} but beta = {beta_max:g} was asked; MBAR does "
            "not extrapolate: extend the ladder")
    return ladder


# --------------------------------------------------------------------- result
def _logsumexp(x, axis):
    """ln Σ exp(x) along ``axis`` (plain NumPy; scipy's version costs more than the sums here)."""
    top = np.max(x, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return np.squeeze(top, axis) + np.log(np.sum(np.exp(x - top), axis=axis))


def _log_denominator(energies, n_per_state, f_k, ladder):
    """ln Σ_k N_k exp(f_k − β_k E_n) for every sample n (states with N_k = 0 drop out)."""
    with np.errstate(divide="ignore"):
        log_n = np.log(np.asarray(n_per_state, dtype=np.float64))
    return _logsumexp(log_n[:, None] + f_k[:, None] - ladder[:, None] * energies[None, :], axis=0)


def _energy_groups(energies):
    """(distinct energies E_u, index of every sample's E_u): MBAR's sums see a sample only through its energy.

    Ising energies with couplings on a grid take few values (hundreds for a
    32 × 32 lattice against tens of thousands of samples), so the sums run
    over distinct energies weighted by their counts c_u: the same numbers,
    in far less time. Continuous energies give one group per sample.
    """
    return np.unique(energies, return_inverse=True)


def _reweight(energies, log_denominator, betas, n_sites, counts):
    """ln Z, U = ⟨H⟩, C = β² Var(H) and S = βU + ln Z at ``betas`` from MBAR weights, shape (4, B).

    ``energies``: the distinct energies E_u, ``counts``: how many samples have
    each. W_u(β) ∝ c_u exp(−β E_u − ln denominator_u); ln Z(β) = N ln 2 −
    (f(β) − f(0)), f(β) = −ln Σ_u c_u exp(−β E_u − ln denominator_u)
    (Shirts & Chodera 2008, eq. 15).
    """
    with np.errstate(divide="ignore"):
        log_counts = np.log(np.asarray(counts, dtype=np.float64))
    log_w = -betas[:, None] * energies[None, :] - log_denominator[None, :] + log_counts[None, :]
    log_norm = _logsumexp(log_w, axis=1)
    log_z = n_sites * math.log(2.0) + log_norm - _logsumexp(log_counts - log_denominator, axis=0)
    p = np.exp(log_w - log_norm[:, None])
    energy = p @ energies
    variance = np.sum(p * (energies[None, :] - energy[:, None]) ** 2, axis=1)
    return np.stack([log_z, energy, betas**2 * variance, betas * energy + log_z])


def _newton_solve(u_kn, n_per_state, f_start, counts, tolerance=1e-10, max_iterations=100):
    """The MBAR free energies f_k (f_0 = 0) of ``u_kn`` (K, U) by Newton's method from ``f_start``.

    Column u stands for ``counts[u]`` samples of one energy. Minimises the
    convex F(f) = Σ_u c_u ln Σ_k N_k exp(f_k − u_ku) − Σ_k N_k f_k
    (Shirts & Chodera 2008, appendix C), with step halving when F does not
    decrease (damped Newton converges from any start on a convex function).
    States with N_k = 0 are held at their starting value (they do not enter F).
    Raises RuntimeError when the gradient is not below ``tolerance``·N after
    ``max_iterations`` steps.
    """
    n_per_state = np.asarray(n_per_state, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.float64)
    free = np.flatnonzero(n_per_state > 0)
    free = free[free != 0]
    with np.errstate(divide="ignore"):
        log_n = np.log(n_per_state)

    def objective(f):
        log_denominator = _logsumexp(log_n[:, None] + f[:, None] - u_kn, axis=0)
        return float(counts @ log_denominator - n_per_state @ f), log_denominator

    f = np.array(f_start, dtype=np.float64) - f_start[0]
    value, log_denominator = objective(f)
    for _ in range(max_iterations):
        weights = np.exp(f[free, None] - u_kn[free] - log_denominator[None, :])  # W_uk, (free, U)
        gradient = n_per_state[free] * (weights @ counts) - n_per_state[free]
        if np.max(np.abs(gradient)) < tolerance * max(1.0, n_per_state.sum()):
            break
        scaled = n_per_state[free, None] * weights
        hessian = np.diag(scaled @ counts) - (scaled * counts[None, :]) @ scaled.T
        step = np.linalg.solve(hessian, gradient)
        for _ in range(30):
            trial = f.copy()
            trial[free] -= step
            trial_value, trial_denominator = objective(trial)
            if trial_value <= value + 1e-12 * abs(value):
                break
            step = 0.5 * step
        f, value, log_denominator = trial, trial_value, trial_denominator
    else:
        raise RuntimeError(f"MBAR: Newton's method did not converge in {max_iterations} iterations "
                           f"(largest gradient {np.max(np.abs(gradient)):.3g}); the samples may not overlap: "
                           "use more temperatures")
    return f


@dataclasses.dataclass(frozen=True, eq=False)
class MBARFreeEnergy:
    """MBAR free energies from one parallel-tempering run; ln Z at any β in [0, β_max].

    ``ladder`` (K,): the sampled β; ``energies`` (N,): the uncorrelated
    energies used, state by state; ``n_per_state`` (K,): N_k;
    ``statistical_inefficiency`` (K,): g_k = 2 τ_int of each slot's series;
    ``log_z_ladder`` / ``log_z_ladder_stderr`` (K,): ln Z at the ladder
    points; ``swap_acceptance`` (K−1,), ``round_trips``; ``meta``: seed, run
    lengths, wall times, warnings. ``f_k`` (K,): the MBAR solution;
    ``sample_block`` (N,): the jackknife block of every sample;
    ``jackknife_f_k`` (B, K): the solutions with block j left out.
    """

    ladder: np.ndarray
    n_sites: int
    energies: np.ndarray
    n_per_state: np.ndarray
    statistical_inefficiency: np.ndarray
    log_z_ladder: np.ndarray
    log_z_ladder_stderr: np.ndarray
    swap_acceptance: np.ndarray
    round_trips: int
    meta: Mapping[str, Any]
    f_k: np.ndarray
    sample_block: np.ndarray
    jackknife_f_k: np.ndarray

    @property
    def beta_max(self) -> float:
        """Largest β of the ladder (ln Z is not extrapolated beyond it)."""
        return float(self.ladder[-1])

    def _betas(self, beta):
        betas, scalar = as_beta_array(beta)
        if np.any(betas > self.beta_max):
            raise ValueError(
                f"beta = {betas.max():g} is beyond the sampled ladder (max {self.beta_max:g}); "
                "MBAR does not extrapolate: rerun with a ladder that reaches it")
        return betas, scalar

    def _with_errors(self, betas):
        """(ln Z, U, C, S) at ``betas`` (4, B) and their block-jackknife standard errors (4, B).

        θ_j: the quantities with block j left out (re-solved f_k, its samples
        dropped); stderr = sqrt((B−1)/B Σ_j (θ_j − θ̄)²) (Efron & Stein 1981).
        """
        distinct, group = _energy_groups(self.energies)
        values = _reweight(distinct, _log_denominator(distinct, self.n_per_state, self.f_k, self.ladder), betas,
                           self.n_sites, np.bincount(group, minlength=distinct.size))
        blocks = self.jackknife_f_k.shape[0]
        replicas = np.empty((blocks,) + values.shape)
        for j in range(blocks):
            keep = self.sample_block != j
            counts = np.bincount(group[keep], minlength=distinct.size)
            n_per_state = np.bincount(self.sample_state[keep], minlength=self.ladder.size)
            replicas[j] = _reweight(distinct, _log_denominator(distinct, n_per_state, self.jackknife_f_k[j],
                                                               self.ladder), betas, self.n_sites, counts)
        spread = replicas - replicas.mean(axis=0)
        stderr = np.sqrt((blocks - 1) / blocks * np.sum(spread**2, axis=0))
        stderr[np.ix_([0, 3], betas == 0)] = 0.0  # ln Z(0) = S(0) = N ln 2 exactly
        return values, stderr

    @property
    def sample_state(self) -> np.ndarray:
        """The ladder slot of every sample (N,)."""
        return np.repeat(np.arange(self.ladder.size), self.n_per_state)

    def _estimate(self, values, stderrs, betas, scalar, extra=None) -> Estimate:
        meta = {"beta": betas[0] if scalar else betas, "n_sites": self.n_sites, **self.meta,
                **(extra or {})}
        if scalar:
            return Estimate(values[0], stderrs[0], METHOD, meta)
        return Estimate(values, stderrs, METHOD, meta)

    def log_z(self, beta) -> Estimate:
        """ln Z(β) for a scalar or 1-D array of β in [0, β_max], with a block-jackknife stderr."""
        betas, scalar = self._betas(beta)
        values, stderr = self._with_errors(betas)
        return self._estimate(values[0], stderr[0], betas, scalar)

    def thermo(self, beta) -> Thermo:
        """ln Z, F, U = ⟨H⟩, S = βU + ln Z and C = β² Var(H) by reweighting, each with a block-jackknife stderr.

        No magnetisation (the run records energies only).
        """
        betas, scalar = self._betas(beta)
        values, errors = self._with_errors(betas)
        (log_z, energy, heat, entropy), (log_z_err, energy_err, heat_err, entropy_err) = values, errors
        return Thermo.from_estimates(
            betas[0] if scalar else betas, self.n_sites, METHOD, meta=dict(self.meta),
            log_z=self._estimate(log_z, log_z_err, betas, scalar),
            energy=self._estimate(energy, energy_err, betas, scalar),
            entropy=self._estimate(entropy, entropy_err, betas, scalar),
            specific_heat=self._estimate(heat, heat_err, betas, scalar))


# ----------------------------------------------------------------- front door
def _thin(series: np.ndarray, slot: int, beta: float):
    """Every ceil(g)-th draw of one slot's energy series (ending with the last), g = 2 τ_int (≥ 1):
    (draws, their sweep indices, g, τ_int, warnings)."""
    try:
        stats = chain_statistics(series)
    except ValueError as error:
        raise ValueError(
            f"slot {slot} (beta = {beta:g}): {error}. Increase n_sweeps") from error
    inefficiency = max(1.0, 2.0 * stats.tau_int)
    stride = math.ceil(inefficiency)
    times = np.arange(len(series) - 1, -1, -stride)[::-1]
    return series[times], times, inefficiency, stats.tau_int, stats.warnings


def _check_mbar_budget(model, n_temperatures, n_sweeps, burn_in) -> None:
    """Refuse an MBAR run over the memory or time budget before any work: the K replicas, their
    recorded energies and swap statistics (32 bytes per replica and sweep), and MBAR's reduced
    energies u_kn with two temporaries of the same size (K × K·n_sweeps at worst, no thinning);
    K · (burn_in + n_sweeps) · N spin updates."""
    k, n = n_temperatures, model.n_sites
    n_bytes = _budget.spin_run_bytes(k, n) + 32.0 * k * n_sweeps + 24.0 * k * k * n_sweeps
    _budget.check_budget(
        f"MBAR over parallel tempering with {k} temperatures of {n} spins x {burn_in + n_sweeps} sweeps", n_bytes,
        _budget.spin_update_seconds(float(k) * (burn_in + n_sweeps) * n),
        "use fewer sweeps (n_sweeps) or temperatures (n_temperatures)")


def mbar_free_energy(model: Ising, beta=None, *, ladder=None, n_temperatures: int | None = None,
                     spacing: str = "linear", n_sweeps: int = 4000, burn_in: int | None = None,
                     kernel: str = "heatbath", backend: str = "auto",
                     seed: int = 0) -> MBARFreeEnergy:
    """Run parallel tempering from β = 0 to max(``beta``) and solve MBAR.

    ``beta``: the β (scalar or 1-D) that must be covered; ``ladder``: an
    explicit strictly increasing ladder starting at 0 (then ``beta`` may be
    None); ``n_temperatures`` / ``spacing`` ("linear" or "geometric"): the
    default ladder (module docstring); ``n_sweeps``: recorded sweeps of every
    replica (one swap attempt per sweep), the budget; ``burn_in``: discarded
    sweeps (default n_sweeps // 5); ``kernel``: inner update, "heatbath"
    (default) or, for ferromagnets, "wolff" / "swendsen-wang"; ``backend``:
    as in :func:`statmech.mc._sampling.select_kernel`; ``seed``: int.
    """
    if not isinstance(model, Ising):
        raise TypeError(f"MBAR needs an sm.Ising model, got {type(model).__name__}")
    beta_max = None
    if beta is not None:
        betas, _ = as_beta_array(beta)
        beta_max = float(betas.max())
    user_ladder = ladder is not None
    if user_ladder:
        if n_temperatures is not None:
            raise ValueError("pass either ladder=... or n_temperatures=..., not both")
        ladder = _check_user_ladder(ladder, beta_max)
    else:
        if beta_max is None:
            raise ValueError("pass the beta values to cover (beta=...) or an explicit ladder=...")
        if beta_max == 0:
            raise ValueError(
                "all requested beta are 0, where ln Z = N ln 2 exactly; nothing to sample "
                "(ask for some beta > 0, or use an exact method)")
        ladder = default_ladder(model, beta_max, n_temperatures, spacing)
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps")
    burn_in = n_sweeps // 5 if burn_in is None else burn_in
    burn_in = check_positive_int(burn_in, "burn_in", minimum=0)
    seed = check_seed(seed)
    _check_mbar_budget(model, ladder.size, n_sweeps, burn_in)
    if kernel == "metropolis":
        raise ValueError(
            "kernel='metropolis' (systematic sweeps) is periodic at beta = 0, the first rung of "
            "the ladder; use kernel='heatbath'")
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
    inner = select_kernel(model, kernel, backend)

    start = time.perf_counter()
    run = run_tempering(jax.random.key(seed), model, ladder, inner, n_sweeps, burn_in=burn_in)
    sampling_time = time.perf_counter() - start

    samples, times, inefficiency, warnings_ = [], [], [], []
    n_recorded = run.energies.shape[0]
    block_length = n_recorded / JACKKNIFE_BLOCKS
    for k, b in enumerate(ladder):
        thinned, when, g, tau, notes = _thin(run.energies[:, k], k, b)
        samples.append(thinned)
        times.append(when)
        inefficiency.append(g)
        warnings_.extend(f"slot {k} (beta = {b:.4g}): {note}" for note in notes)
        if block_length < 2.0 * tau:
            warnings_.append(
                f"slot {k} (beta = {b:.4g}): jackknife blocks of {block_length:.0f} sweeps are shorter than "
                f"2 tau_int = {2 * tau:.3g}; the error bars are too small; increase n_sweeps")
    n_per_state = np.array([len(s) for s in samples])
    energies = np.concatenate(samples).astype(np.float64)
    sample_block = np.minimum(np.concatenate(times) * JACKKNIFE_BLOCKS // n_recorded, JACKKNIFE_BLOCKS - 1)
    sample_state = np.repeat(np.arange(ladder.size), n_per_state)
    low_swaps = np.flatnonzero(run.swap_acceptance < 0.05)
    if low_swaps.size:
        warnings_.append(
            f"swap acceptance below 5% between slots {low_swaps.tolist()}: the ladder is too "
            "sparse there (more temperatures)")
    if run.round_trips == 0:
        warnings_.append("no replica made a round trip 0 -> beta_max -> 0: run longer")

    # Initial guess: thermodynamic integration of the slot means, f_k = ∫_0^{β_k} ⟨H⟩ dβ.
    means = np.array([s.mean() for s in samples])
    initial = np.concatenate([[0.0], np.cumsum(np.diff(ladder) * (means[1:] + means[:-1]) / 2)])
    start = time.perf_counter()
    distinct, group = _energy_groups(energies)
    u_kn = ladder[:, None] * distinct[None, :]
    f_k = _newton_solve(u_kn, n_per_state, initial, np.bincount(group, minlength=distinct.size))
    jackknife_f_k = np.empty((JACKKNIFE_BLOCKS, ladder.size))
    for j in range(JACKKNIFE_BLOCKS):
        keep = sample_block != j
        jackknife_f_k[j] = _newton_solve(u_kn, np.bincount(sample_state[keep], minlength=ladder.size), f_k,
                                         np.bincount(group[keep], minlength=distinct.size))
    mbar_time = time.perf_counter() - start
    n = model.n_sites
    meta = {
        "seed": seed, "n_sweeps": n_sweeps, "burn_in": burn_in, "kernel": run.kernel,
        "ladder": ladder, "spacing": "user" if user_ladder else spacing,
        "swap_acceptance": run.swap_acceptance, "round_trips": run.round_trips,
        "n_uncorrelated": n_per_state, "statistical_inefficiency": np.array(inefficiency),
        "sampling_time": sampling_time, "mbar_time": mbar_time,
        "wall_time": sampling_time + mbar_time, "warnings": tuple(warnings_),
        "jackknife_blocks": JACKKNIFE_BLOCKS,
        "stderr_method": f"block jackknife over {JACKKNIFE_BLOCKS} consecutive blocks of sweeps",
    }
    result = MBARFreeEnergy(
        ladder=ladder, n_sites=n, energies=energies, n_per_state=n_per_state,
        statistical_inefficiency=np.array(inefficiency), log_z_ladder=np.zeros(ladder.size),
        log_z_ladder_stderr=np.zeros(ladder.size), swap_acceptance=run.swap_acceptance,
        round_trips=run.round_trips, meta=meta, f_k=f_k, sample_block=sample_block, jackknife_f_k=jackknife_f_k)
    values, stderr = result._with_errors(ladder)
    return dataclasses.replace(result, log_z_ladder=values[0], log_z_ladder_stderr=stderr[0])


# ------------------------------------------------------------------- registry
def _why_not(model, options) -> str | None:
    return None


def _log_z(model, beta, **options) -> Estimate:
    betas, scalar = as_beta_array(beta)
    if not np.any(betas > 0):  # ln Z(0) = N ln 2 exactly: nothing to sample
        value = np.full(betas.shape, model.n_sites * math.log(2.0))
        seed = check_seed(options.get("seed", 0))
        meta = {"beta": betas[0] if scalar else betas, "n_sites": model.n_sites, "seed": seed,
                "note": "beta = 0: ln Z = N ln 2 exactly, nothing sampled"}
        return Estimate(value[0] if scalar else value, np.zeros(()) if scalar else np.zeros_like(value), METHOD, meta)
    return mbar_free_energy(model, beta, **options).log_z(beta)


def _thermo(model, beta, **options) -> Thermo:
    return mbar_free_energy(model, beta, **options).thermo(beta)


# Registered by statmech._registry (this module does not import the registry).
METHODS: list[Method] = []
METHODS.append(Method(name=METHOD, exact=False, why_not=_why_not, log_z_fn=_log_z,
                       thermo_fn=_thermo, model_types=(Ising,)))
