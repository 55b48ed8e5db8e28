"""log Z at any β from one parallel-tempering run, by MBAR.

Parallel tempering (:func:`statmech.mc._tempering.run_tempering`) samples a
ladder 0 = β_0 < β_1 < … < β_{K−1}. Each slot's energy series is thinned by
its statistical inefficiency g_k = 2 τ_int (Γ-method,
:func:`statmech.stats.chain_statistics`) to N_k roughly uncorrelated samples.
With reduced potentials u_k(x) = β_k H(x), the multistate Bennett acceptance
ratio (MBAR; Shirts & Chodera, J. Chem. Phys. 129, 124105 (2008)) solves

    f_i = −ln Σ_n exp(−u_i(x_n)) / Σ_k N_k exp(f_k − u_k(x_n)),    f = −ln Z,

over all N = Σ N_k samples, and the same formula with u(x) = β H(x) gives
f(β) at *any* β in [0, β_{K−1}] (an "unsampled state"), with the asymptotic
covariance of the estimate as its error bar. Because β_0 = 0 is on the ladder,
the absolute normalisation is exact:

    ln Z(β) = N_sites ln 2 − (f(β) − f(0)).

Error bars are MBAR's asymptotic ones for the thinned samples, which treat
the slots as independent. On short runs they are somewhat small — τ_int is
biased low and parallel tempering correlates neighbouring slots — measured
on the 4 × 4 torus: rms z = 1.25 at 1000 sweeps, 1.06 at 4000; slots shorter
than 50 τ_int are listed in ``meta["warnings"]``.

The solve and the error bars are pymbar's (``pymbar.MBAR``,
``compute_perturbed_free_energies``, ``compute_expectations``,
``compute_entropy_and_enthalpy``). pymbar 4 switches JAX to 64-bit globally
the first time it runs; here it is imported lazily and always called inside
:func:`_pymbar`, which runs it under a local ``jax.enable_x64(True)`` (so
pymbar sees 64-bit already on and flips nothing), silences its log banners,
and restores ``jax.config.jax_enable_x64`` afterwards in any case.

Default ladder ("linear"): β_k = β_max k/(K−1) with K chosen so that
Δβ·σ_0 ≈ 0.5, σ_0² = Σ_{i<j} J_ij² + Σ_i h_i² being Var(H) at β = 0. For two
Gaussian energy distributions of width σ the swap acceptance is
erfc(Δβσ/2), so this gives ≈ 0.72 at high temperature and still ≈ 0.4 where σ
has grown 2–3 fold (the 2D Ising model at β_c, L ≤ 32). "geometric" puts
β_1 = min(0.5/σ_0, β_max/2) and then a geometric progression to β_max (ratio
≈ 1.2 by default), for ranges that extend deep into the ordered phase, where
σ(β) shrinks. Or pass any ``ladder`` that starts at 0.

The inner kernel is the heat bath by default: Metropolis with systematic
sweeps flips every spin at β = 0 (periodic, and H(−s) = H(s) at h = 0 keeps
the energy fixed), so it is refused here.
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import time
import warnings
from typing import Any, Mapping

import jax
import numpy as np

from statmech._validation import as_beta_array, check_positive_int
from statmech._validation import check_seed
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


# --------------------------------------------------------------------- pymbar
@contextlib.contextmanager
def _pymbar():
    """Import and use pymbar without changing JAX's global 64-bit flag or printing banners."""
    os.environ.setdefault("PYMBAR_DISABLE_JAX", "1")  # honoured by later pymbar versions
    x64_before = bool(jax.config.jax_enable_x64)
    logger = logging.getLogger("pymbar")
    level_before = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with jax.enable_x64(True), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import pymbar

            yield pymbar
    finally:
        if bool(jax.config.jax_enable_x64) != x64_before:
            jax.config.update("jax_enable_x64", x64_before)
        logger.setLevel(level_before)


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
@dataclasses.dataclass(frozen=True, eq=False)
class MBARFreeEnergy:
    """MBAR free energies from one parallel-tempering run; ln Z at any β in [0, β_max].

    ``ladder`` (K,): the sampled β; ``energies`` (N,): the uncorrelated
    energies used, state by state; ``n_per_state`` (K,): N_k;
    ``statistical_inefficiency`` (K,): g_k = 2 τ_int of each slot's series;
    ``log_z_ladder`` / ``log_z_ladder_stderr`` (K,): ln Z at the ladder
    points; ``swap_acceptance`` (K−1,), ``round_trips``; ``meta``: seed, run
    lengths, wall times, warnings.
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
    _mbar: Any = dataclasses.field(repr=False)

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

    def _reduced(self, betas):
        """u_ln: row 0 is the β = 0 reference, then one row per requested β."""
        return np.concatenate([[0.0], betas])[:, None] * self.energies[None, :]

    def _log_z_arrays(self, betas):
        with _pymbar():
            result = self._mbar.compute_perturbed_free_energies(self._reduced(betas))
        log_z = self.n_sites * math.log(2.0) - result["Delta_f"][0, 1:]
        stderr = np.where(betas == 0, 0.0, result["dDelta_f"][0, 1:])
        return log_z, stderr

    def _estimate(self, values, stderrs, betas, scalar, extra=None) -> Estimate:
        meta = {"beta": betas[0] if scalar else betas, "n_sites": self.n_sites, **self.meta,
                **(extra or {})}
        if scalar:
            return Estimate(values[0], stderrs[0], METHOD, meta)
        return Estimate(values, stderrs, METHOD, meta)

    def log_z(self, beta) -> Estimate:
        """ln Z(β) for a scalar or 1-D array of β in [0, β_max], with MBAR's asymptotic stderr."""
        betas, scalar = self._betas(beta)
        log_z, stderr = self._log_z_arrays(betas)
        return self._estimate(log_z, stderr, betas, scalar)

    def thermo(self, beta) -> Thermo:
        """ln Z, F, U = ⟨H⟩, S = βU + ln Z and C = β² Var(H) by reweighting, each with a stderr.

        C uses the observable (H − Û(β))² with Û the reweighted mean; to first
        order its error bar is that of the variance. No magnetisation (the run
        records energies only).
        """
        betas, scalar = self._betas(beta)
        log_z, log_z_err = self._log_z_arrays(betas)
        u_ln = betas[:, None] * self.energies[None, :]
        with _pymbar():
            energy = self._mbar.compute_expectations(self.energies, u_kn=u_ln)
            centred = (self.energies[None, :] - energy["mu"][:, None]) ** 2
            variance = self._mbar.compute_expectations(centred, u_kn=u_ln, state_dependent=True)
            # The β = 0 reference row gets the constant reduced potential 1 instead of 0
            # (pymbar takes logs of the observable u); s = ⟨u⟩ − f does not change.
            reference = self._reduced(betas)
            reference[0] = 1.0
            decomposition = self._mbar.compute_entropy_and_enthalpy(u_kn=reference)
        n = float(self.n_sites)
        entropy = n * math.log(2.0) + decomposition["Delta_s"][0, 1:]
        entropy_err = np.where(betas == 0, 0.0, decomposition["dDelta_s"][0, 1:])
        heat, heat_err = betas**2 * variance["mu"], betas**2 * variance["sigma"]
        positive = betas > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            free_energy = np.where(positive, -log_z / np.where(positive, betas, 1.0), -np.inf)
            free_energy_err = np.where(positive, log_z_err / np.where(positive, betas, 1.0), 0.0)
        pairs = {
            "log_z": (log_z, log_z_err), "energy": (energy["mu"], energy["sigma"]),
            "entropy": (entropy, entropy_err), "specific_heat": (heat, heat_err),
            "free_energy": (free_energy, free_energy_err),
        }
        fields = {}
        for name, (value, error) in pairs.items():
            fields[name] = self._estimate(value, error, betas, scalar)
            density = "free_entropy_density" if name == "log_z" else f"{name}_density"
            fields[density] = self._estimate(value / n, error / n, betas, scalar)
        fields["free_entropy"] = fields["log_z"]
        return Thermo(beta=betas[0] if scalar else betas, n_sites=self.n_sites, method=METHOD,
                      meta=dict(self.meta), **fields)


# ----------------------------------------------------------------- front door
def _thin(series: np.ndarray, slot: int, beta: float):
    """Every ceil(g)-th draw of one slot's energy series, g = 2 τ_int (≥ 1), and g."""
    try:
        stats = chain_statistics(series)
    except ValueError as error:
        raise ValueError(
            f"slot {slot} (beta = {beta:g}): {error}. Increase n_sweeps") from error
    inefficiency = max(1.0, 2.0 * stats.tau_int)
    stride = math.ceil(inefficiency)
    return series[len(series) - 1::-stride][::-1], inefficiency, stats.warnings


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
    if kernel == "metropolis":
        raise ValueError(
            "kernel='metropolis' (systematic sweeps) is periodic at beta = 0, the first rung of "
            "the ladder; use kernel='heatbath'")
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
    inner = select_kernel(model, kernel, backend)

    start = time.perf_counter()
    run = run_tempering(jax.random.key(seed), model, ladder, inner, n_sweeps, n_burn_in=burn_in)
    sampling_time = time.perf_counter() - start

    samples, inefficiency, warnings_ = [], [], []
    for k, b in enumerate(ladder):
        thinned, g, notes = _thin(run.energies[:, k], k, b)
        samples.append(thinned)
        inefficiency.append(g)
        warnings_.extend(f"slot {k} (beta = {b:.4g}): {note}" for note in notes)
    n_per_state = np.array([len(s) for s in samples])
    energies = np.concatenate(samples).astype(np.float64)
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
    with _pymbar() as pymbar:
        solver = pymbar.MBAR(ladder[:, None] * energies[None, :], n_per_state,
                             initial_f_k=initial)
        result = solver.compute_free_energy_differences()
    mbar_time = time.perf_counter() - start
    n = model.n_sites
    meta = {
        "seed": seed, "n_sweeps": n_sweeps, "burn_in": burn_in, "kernel": run.kernel,
        "ladder": ladder, "spacing": "user" if user_ladder else spacing,
        "swap_acceptance": run.swap_acceptance, "round_trips": run.round_trips,
        "n_uncorrelated": n_per_state, "statistical_inefficiency": np.array(inefficiency),
        "sampling_time": sampling_time, "mbar_time": mbar_time,
        "wall_time": sampling_time + mbar_time, "warnings": tuple(warnings_),
    }
    return MBARFreeEnergy(
        ladder=ladder, n_sites=n, energies=energies, n_per_state=n_per_state,
        statistical_inefficiency=np.array(inefficiency),
        log_z_ladder=n * math.log(2.0) - result["Delta_f"][0],
        log_z_ladder_stderr=result["dDelta_f"][0],
        swap_acceptance=run.swap_acceptance, round_trips=run.round_trips, meta=meta, _mbar=solver,
    )


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
