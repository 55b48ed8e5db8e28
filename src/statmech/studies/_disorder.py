"""Disorder averages: quenched vs annealed free energies, and self-averaging.

For an ensemble of random instances J, the physical (quenched) free energy
density is the average of log Z over the disorder,

    f_q = −E_J[log Z_J] / (N β),

whereas the annealed one averages Z itself, f_a = −log E_J[Z_J] / (N β).
Jensen's inequality (log is concave) gives f_a <= f_q, for the true averages
and for the averages over any finite sample of instances alike.

f_N is *self-averaging*: its sample-to-sample variance vanishes as N grows,
Var(f_N) ∝ N^(−a), with a = 1 for short-range models (a sum of N weakly
dependent local contributions: central limit theorem) and a = 2 for the SK
model at high temperature, where log Z_N − log E[Z_N] has O(1) fluctuations
(Aizenman, Lebowitz & Ruelle, Commun. Math. Phys. 112, 3 (1987); Mézard,
Parisi & Virasoro, *Spin Glass Theory and Beyond* (1987), ch. 1; Wiseman &
Domany, PRE 52, 3469 (1995)).
"""
from __future__ import annotations

import dataclasses
import functools
import math
import os
from typing import Any, Callable

import numpy as np
from scipy.special import logsumexp

from statmech._validation import MEMORY_LIMIT_VARIABLE, as_beta_array, check_positive_int, check_seed, memory_limit
from statmech.thermo import log_z, resolve_method
from statmech.models._disorder import instance_seeds
from statmech.studies._runner import TaskProgress, WorkerDied, run_tasks
from statmech.studies._workers import check_workers

_PROGRESS_THRESHOLD = 50
"""With ``progress=None`` a progress bar is shown from this many instances on."""


# ---------------------------------------------------------------- quenched
@dataclasses.dataclass(frozen=True, repr=False)
class QuenchedResult:
    """Free energy densities of ``n_instances`` disorder instances at one β or on a β grid.

    ``values``: f_k = −log Z_k / (N β) per instance, shape (K,) for a scalar
    β and (K, B) for a grid of B values; ``log_z`` and, for an estimator
    method, ``log_z_stderr`` likewise (None when exact). ``mean``, ``std``
    (sample-to-sample, ddof = 1; it includes the estimator noise when the
    method is not exact), ``stderr`` = std/√K (of the mean; it already
    accounts for per-instance estimator noise): floats, or (B,) arrays on a
    grid. ``annealed`` is −log((1/K) Σ_k Z_k)/(N β) from the same instances,
    never above ``mean`` (Jensen); ``annealed_exact`` is −log E[Z]/(N β) from
    the ensemble's closed form, or None when it has none.
    ``instance_seeds[k]`` reproduces instance k: ``ensemble.sample(instance_seeds[k])``.

    From ``quenched(..., keep_values=False)``, ``values``, ``log_z`` and
    ``log_z_stderr`` are None and ``running`` holds the running sums
    (:class:`RunningMoments`) that ``mean``, ``std``, ``stderr`` and
    ``annealed`` are read from; ``plot`` and ``control_variate_mean`` need
    the values and say so.
    """

    ensemble: Any
    beta: float | np.ndarray
    n_sites: int
    method: str
    seed: int
    instance_seeds: np.ndarray
    log_z: np.ndarray | None
    log_z_stderr: np.ndarray | None
    values: np.ndarray | None
    annealed_exact: float | np.ndarray | None
    running: "RunningMoments | None" = None

    @property
    def n_instances(self) -> int:
        return int(self.values.shape[0]) if self.values is not None else self.running.count

    def _needs_values(self, what: str) -> np.ndarray:
        if self.values is None:
            raise ValueError(f"{what} needs every instance's f; this result kept only running means and variances "
                             "(keep_values=False): run quenched with keep_values=True (the default)")
        return self.values

    def _over_instances(self, array):
        """A float for a scalar β, else the (B,) array."""
        return float(np.reshape(array, ())) if np.ndim(self.beta) == 0 else array

    @property
    def mean(self) -> float | np.ndarray:
        """Quenched free energy density, the average of f over the instances."""
        if self.values is None:
            return self._over_instances(self.running.mean.copy())
        return self._over_instances(np.mean(self.values, axis=0))

    @property
    def std(self) -> float | np.ndarray:
        """Sample-to-sample standard deviation of f (ddof = 1; NaN for one instance)."""
        if self.n_instances < 2:
            return self._over_instances(np.full(np.shape(self.beta), math.nan))
        if self.values is None:
            return self._over_instances(np.sqrt(self.running.sum_squares / (self.n_instances - 1)))
        return self._over_instances(np.std(self.values, axis=0, ddof=1))

    @property
    def stderr(self) -> float | np.ndarray:
        """Standard error of ``mean``: std / √K."""
        return self.std / math.sqrt(self.n_instances)

    @property
    def values_stderr(self) -> np.ndarray | None:
        """Per-instance standard error of f (estimator methods), else None."""
        if self.log_z_stderr is None:
            return None
        return self.log_z_stderr / (self.n_sites * self.beta)

    @property
    def annealed(self) -> float | np.ndarray:
        """−log((1/K) Σ_k Z_k) / (N β): the annealed free energy density of the sample."""
        log_sum_z = self.running.log_sum_z if self.values is None else logsumexp(self.log_z, axis=0)
        log_mean_z = log_sum_z - math.log(self.n_instances)
        return self._over_instances(-log_mean_z / (self.n_sites * self.beta))

    def control_variate_mean(self, controls=None):
        """Regression control-variate estimate of E[f] and its standard error: (mean, stderr).

        ``controls`` (K, p): per-instance values with exactly known mean 0
        (a (K,) array is one control); default: the ensemble's
        ``control_variates(instance)`` for every instance (:meth:`SK.control_variates
        <statmech.models.SK.control_variates>`). See :func:`control_variate_mean`;
        floats for a scalar β, (B,) arrays on a grid. Still unbiased for E[f];
        the error shrinks by √(1 − R²), R² the fraction of the
        sample-to-sample variance the controls explain.
        """
        values = self._needs_values("control_variate_mean")
        if controls is None:
            per_instance = getattr(self.ensemble, "control_variates", None)
            if per_instance is None:
                raise ValueError(f"{self.ensemble!r} has no control_variates(instance); pass "
                                 f"controls= yourself: a (K, p) array of per-instance values with known mean 0")
            controls = np.array([per_instance(self.ensemble.sample(int(s))) for s in self.instance_seeds])
        mean, stderr = control_variate_mean(values, controls)
        return self._over_instances(mean), self._over_instances(stderr)

    def plot(self, ax=None, bins: int | None = None):
        """One β: the histogram of f over the instances, with the quenched mean ± stderr and
        the annealed value (sample and closed form). A β grid: the quenched f(β) with its
        standard-error band, one faint curve per instance (at most 50), and the annealed curves."""
        self._needs_values("plot")
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(6, 4))
        if np.ndim(self.beta) == 0:
            count = bins if bins is not None else min(40, max(8, math.ceil(math.sqrt(self.n_instances))))
            ax.hist(self.values, bins=count, density=True, histtype="stepfilled", alpha=0.4,
                    label=f"f of {self.n_instances} instances")
            ax.axvspan(self.mean - self.stderr, self.mean + self.stderr, color="C0", alpha=0.3)
            ax.axvline(self.mean, color="C0", label=f"quenched {self.mean:.5g} ± {self.stderr:.2g}")
            ax.axvline(self.annealed, color="C1", ls="--", label=f"annealed (sample) {self.annealed:.5g}")
            if self.annealed_exact is not None:
                ax.axvline(self.annealed_exact, color="C3", ls=":", label=f"annealed (exact) {self.annealed_exact:.5g}")
            ax.set_xlabel(r"free energy density $f$")
            ax.set_ylabel("density")
            ax.set_title(f"{self.ensemble!r}, β = {self.beta:g}", fontsize=9)
        else:
            for row in self.values[:50]:
                ax.plot(self.beta, row, color="0.7", lw=0.5)
            ax.fill_between(self.beta, self.mean - self.stderr, self.mean + self.stderr, color="C0", alpha=0.3)
            ax.plot(self.beta, self.mean, "o-", color="C0", label=f"quenched, {self.n_instances} instances")
            ax.plot(self.beta, self.annealed, "--", color="C1", label="annealed (sample)")
            if self.annealed_exact is not None:
                ax.plot(self.beta, self.annealed_exact, ":", color="C3", label="annealed (exact)")
            ax.set_xlabel("β")
            ax.set_ylabel(r"free energy density $f$")
            ax.set_title(f"{self.ensemble!r}", fontsize=9)
        ax.legend(fontsize=8)
        return ax

    def __repr__(self) -> str:
        head = f"QuenchedResult({self.ensemble!r}, "
        if np.ndim(self.beta) == 0:
            exact = "" if self.annealed_exact is None else f" (exact {self.annealed_exact:.6g})"
            return (f"{head}beta={self.beta:g}, {self.n_instances} instances, "
                    f"method={self.method!r}): f = {self.mean:.6g} ± {self.stderr:.2g}, "
                    f"std {self.std:.3g}; annealed {self.annealed:.6g}{exact}")
        return (f"{head}{len(self.beta)} beta from {self.beta[0]:g} to {self.beta[-1]:g}, "
                f"{self.n_instances} instances, method={self.method!r})")


class RunningMoments:
    """Running count, mean, sum of squared deviations (Welford) and log Σ Z of per-instance rows.

    ``add(f, log_z)`` takes one instance's (B,) rows of f and log Z. Welford's
    update, mean += δ/n and M₂ += δ (f − mean) with δ = f − mean_old, keeps
    the sample variance M₂/(n − 1) accurate where Σf² − n·mean² would cancel
    (Welford, Technometrics 4, 419 (1962)); log Σ Z accumulates by logaddexp.
    Memory: a few (B,) arrays, whatever the number of instances.
    """

    def __init__(self, n_betas: int):
        self.count = 0
        self.mean = np.zeros(n_betas)
        self.sum_squares = np.zeros(n_betas)
        self.log_sum_z = np.full(n_betas, -np.inf)

    def add(self, f: np.ndarray, log_z: np.ndarray) -> None:
        self.count += 1
        delta = f - self.mean
        self.mean += delta / self.count
        self.sum_squares += delta * (f - self.mean)
        self.log_sum_z = np.logaddexp(self.log_sum_z, log_z)


def _constant_columns(controls: np.ndarray) -> np.ndarray:
    """Mask of the columns equal over all rows (to 1e−12 relative): they carry no information."""
    spread = np.ptp(controls, axis=0)
    return spread <= 1e-12 * np.max(np.abs(controls), axis=0)


def control_variate_mean(values, controls) -> tuple[np.ndarray, np.ndarray]:
    """Regression control-variate estimate of E[y] and its standard error.

    ``values`` (K,) or (K, B): K independent samples y_k (B quantities each);
    ``controls`` (K, p) (or (K,) for one): per-sample values x_k with exactly
    known mean E[x] = 0. The intercept ĉ₀ of the least-squares fit
    y_k ≈ c₀ + x_k·c estimates E[y] without bias from the controls' mean
    (E[x] = 0); its standard error is

        se = sd(residuals)/√K · √((K − 2)/(K − p − 2)),

    sd with K − p − 1 degrees of freedom: smaller than the plain std/√K by
    about √(1 − R²), and the last factor is the cost of estimating c, exact
    under joint normality (Lavenberg & Welch, Manage. Sci. 27, 322 (1981);
    Glasserman, *Monte Carlo Methods in Financial Engineering* (2004), §4.1).
    Columns constant over the samples are dropped first (they are collinear
    with c₀); K must be at least p + 3. Returns (mean, stderr) of shape
    values.shape[1:].
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim not in (1, 2) or values.shape[0] < 1:
        raise ValueError(f"values must have shape (K,) or (K, B), got {values.shape}")
    count = values.shape[0]
    controls = np.asarray(controls, dtype=np.float64)
    if controls.ndim == 1:
        controls = controls[:, None]
    if controls.ndim != 2 or controls.shape[0] != count:
        raise ValueError(f"controls must have shape (K, p) = ({count}, p), one row per sample; got {controls.shape}")
    if not (np.all(np.isfinite(values)) and np.all(np.isfinite(controls))):
        raise ValueError("values and controls must be finite (no NaN or inf)")
    if controls.shape[1]:
        controls = controls[:, ~_constant_columns(controls)]
    n_controls = controls.shape[1]
    if count < n_controls + 3:
        raise ValueError(f"a regression on {n_controls} non-constant controls needs at least "
                         f"{n_controls + 3} samples (K >= p + 3), got K = {count}")
    design = np.column_stack([np.ones(count), controls])
    coef, *_ = np.linalg.lstsq(design, values, rcond=None)
    residual = values - design @ coef
    coefficient_cost = math.sqrt((count - 2) / (count - n_controls - 2))
    stderr = residual.std(axis=0, ddof=n_controls + 1) / math.sqrt(count) * coefficient_cost
    return coef[0], stderr


def weighted_least_squares(columns, y, stderr) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Weighted least squares y ≈ Σ_k c_k columns[k] with weights 1/stderr²: (c, covariance, χ², dof).

    The covariance (XᵀWX)⁻¹ takes ``stderr`` as known (not rescaled by χ²/dof),
    so χ² with dof = len(y) − len(columns) tests the fitted form.
    """
    design = np.column_stack([np.asarray(c, dtype=np.float64) for c in columns])
    y = np.asarray(y, dtype=np.float64)
    weights = 1.0 / np.asarray(stderr, dtype=np.float64) ** 2
    if design.shape[0] != y.shape[0] or weights.shape != y.shape:
        raise ValueError(f"columns, y and stderr need one entry per point: {design.shape[0]}, {y.shape}, "
                         f"{weights.shape}")
    covariance = np.linalg.inv(design.T @ (weights[:, None] * design))
    coef = covariance @ (design.T @ (weights * y))
    chi2 = float(np.sum(weights * (y - design @ coef) ** 2))
    return coef, covariance, chi2, len(y) - design.shape[1]


def _estimator_seed(disorder_seed: int) -> int:
    """A 31-bit seed for an estimator's own randomness, independent of the disorder stream."""
    child = np.random.SeedSequence([int(disorder_seed), 0xE57])
    return int(child.generate_state(1, np.uint32)[0] >> np.uint32(1))


def _annealed_exact(ensemble, beta):
    closed_form = getattr(ensemble, "annealed_free_entropy_density", None)
    if closed_form is None:
        return None
    try:
        if hasattr(ensemble, "clean_model"):  # the random-field model: log E[Z] needs the clean lattice's log Z
            free_entropy = closed_form(beta, clean_log_z=log_z(ensemble.clean_model(), beta).value)
        else:
            free_entropy = closed_form(beta)
    except (NotImplementedError, ValueError):
        return None
    if np.ndim(beta) == 0:
        return -float(free_entropy) / beta
    return -np.asarray(free_entropy, dtype=np.float64) / beta


def _check_beta(beta, grid: bool = False):
    """β > 0 as a float, or (``grid=True``) a 1-D grid as a read-only float64 array."""
    betas, scalar = as_beta_array(beta)
    if not scalar and not grid:
        raise ValueError("beta must be a scalar here; loop over a grid of β yourself")
    if np.any(betas <= 0):
        raise ValueError(f"the free energy density −log Z/(Nβ) needs beta > 0, got {float(betas.min())}")
    if scalar:
        return float(betas[0])
    betas = betas.copy()
    betas.setflags(write=False)
    return betas


def _instance_log_z(ensemble, instance_seed: int, beta, method: str, exact: bool,
                    options: dict) -> tuple[np.ndarray, np.ndarray]:
    """(log Z, its stderr or NaN) of instance ``ensemble.sample(instance_seed)`` as (B,) arrays; runs in workers too."""
    extra = {} if exact else {"seed": _estimator_seed(instance_seed)}
    estimate = log_z(ensemble.sample(instance_seed), beta, method=method, **options, **extra)
    value = np.atleast_1d(np.asarray(estimate.value, dtype=np.float64))
    stderr = np.full_like(value, math.nan) if estimate.stderr is None else np.asarray(estimate.stderr, np.float64)
    return value, np.broadcast_to(stderr, value.shape)


_BATCH_INSTANCES = 64
"""Instances per call of the batched enumeration in :func:`quenched` (progress is shown per batch)."""

_BATCH_MIN_SITES = 18
"""Smaller instances are enumerated one by one: there, JAX's compile time (~0.5 s) exceeds the gain."""

MEMORY_BUDGET = 4 * 2**30
"""Bytes :func:`quenched` may hold by default (its ``memory_budget``): 4 GiB."""

_SEED_BYTES = 512
"""Bytes per instance while the instance seeds are drawn (``np.random.SeedSequence.spawn``; measured ~420)."""


def _batched_enumeration(ensemble, method: str, options: dict) -> bool:
    from statmech.exact._batched import MAX_BATCHED_SITES
    from statmech.models._disorder import IsingEnsemble

    return (method == "enumerate" and not options and isinstance(ensemble, IsingEnsemble)
            and _BATCH_MIN_SITES <= ensemble.n_sites <= MAX_BATCHED_SITES)


def _enumerate_batch(ensemble, beta, seeds: np.ndarray) -> tuple[np.ndarray, None]:
    """Exact log Z (len(seeds), B) of instances ``ensemble.sample(s)``, s in ``seeds``, vmapped in JAX.

    Only this batch's disorder is drawn (not the whole ensemble's): memory per
    batch, not per run.
    """
    import equinox as eqx

    from statmech.exact._batched import log_z_batch

    instances = [ensemble.sample(int(s)) for s in seeds]
    couplings = np.stack([np.asarray(m.couplings, dtype=np.float64) for m in instances])
    field = np.stack([np.asarray(m.field, dtype=np.float64) for m in instances])
    batch = eqx.tree_at(lambda m: (m.couplings, m.field), instances[0], (couplings, field))
    values = log_z_batch(batch, beta)
    return values.reshape(len(values), -1), None


def quenched_memory(n_instances: int, n_betas: int, exact: bool, keep_values: bool = True) -> int:
    """Bytes :func:`quenched` holds for ``n_instances`` instances on ``n_betas`` β values (an estimate).

    Per instance: log Z and f, and for an estimator method log Z's stderr,
    n_betas float64 each (none with ``keep_values=False``: running sums of
    4 × n_betas floats in all), plus its int64 seed; and, while the seeds are
    drawn, about half a kilobyte (``SeedSequence.spawn``). Per-instance models
    and estimates are reduced to these numbers as they arrive and not kept.
    """
    per_instance = (8 * n_betas * (2 if exact else 3) if keep_values else 0) + 8
    return n_instances * max(per_instance, _SEED_BYTES + 8) + (0 if keep_values else 32 * n_betas)


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.3g} GiB" if n_bytes >= 2**30 / 10 else f"{n_bytes / 2**20:.3g} MiB"


def _check_memory(n_instances: int, n_betas: int, exact: bool, keep_values: bool, budget) -> None:
    """A ValueError, before any work, when :func:`quenched_memory` exceeds ``budget`` bytes."""
    if budget is None:  # the library-wide budget when the user set one, else 4 GiB
        budget = memory_limit() if os.environ.get(MEMORY_LIMIT_VARIABLE) else MEMORY_BUDGET
    elif isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget <= 0:
        raise ValueError(f"memory_budget must be a positive int (bytes), got {budget!r}")
    need = quenched_memory(n_instances, n_betas, exact, keep_values)
    if need > budget:
        fits = max(1, n_instances * budget // need)
        lighter = "" if not keep_values or n_betas * 16 <= _SEED_BYTES else \
            "keep only running means and variances (keep_values=False), "
        raise ValueError(
            f"quenched over {n_instances} instances on {n_betas} β value(s) would need about {_gib(need)} at its peak "
            f"(per instance: log Z and f, 8 bytes per β each, and its seed; about half a kilobyte while the "
            f"seeds are drawn), more than the "
            f"memory_budget of {_gib(budget)}; use fewer instances (at most about {fits}), {lighter}raise "
            f"memory_budget= if you have the memory, or run the ensemble's seeds as a sweep study, which "
            f"stores every instance on disk as it finishes (docs/studies.md)")


def quenched(ensemble, beta, n_instances, method: str = "auto", seed: int = 0,
             progress: bool | None = None, workers: int = 1, memory_budget: int | None = None,
             keep_values: bool = True, **options) -> QuenchedResult:
    """Quenched average of the free energy density over ``n_instances`` instances.

    ``beta``: one β > 0, or a 1-D grid (each instance is then computed once
    for the whole grid, which exact methods do at little extra cost).
    Instance k is ``ensemble.sample(instance_seeds(seed, n_instances)[k])``;
    log Z_k comes from ``statmech.thermo.log_z(instance, beta, method=method,
    **options)``. An estimator method (not exact) also gets ``seed=``, derived
    from the instance's seed. ``progress``: None shows a Rich progress bar
    from 50 instances on, True/False force it. ``workers``: instances are
    independent tasks; with ``workers > 1`` they run in that many spawned
    processes (results identical to ``workers=1``; a script doing this needs
    the ``if __name__ == "__main__":`` guard). With ``workers=1``,
    ``method="enumerate"`` on an Ising ensemble of 18 <= N <= 26 enumerates the
    instances in batches vmapped in JAX (:func:`~statmech.exact._batched.log_z_batch`,
    the same sums to ~1e−15 relative, an order of magnitude faster).

    Each instance is reduced to its log Z (and stderr) as it finishes; what
    is kept is :func:`quenched_memory` bytes, checked before any work against
    ``memory_budget`` (bytes; default ``$STATMECH_MEMORY_LIMIT`` when set, else
    :data:`MEMORY_BUDGET`, 4 GiB): above
    it, a ValueError says how much and what to do instead.
    ``keep_values=False`` keeps no per-instance values at all, only running
    means, variances and log Σ Z (:class:`RunningMoments`): ``mean``, ``std``,
    ``stderr``, ``annealed`` as with the values (equal to ~1e−15 relative),
    while ``values``, ``log_z`` and ``log_z_stderr`` are None; for long β grids
    over many instances. For a cluster, or
    to keep every instance in a store as it finishes, sweep the ensemble's
    seeds in a study (docs/studies.md). Returns a :class:`QuenchedResult`.
    """
    beta = _check_beta(beta, grid=True)
    if isinstance(n_instances, bool) or not isinstance(n_instances, (int, np.integer)):
        raise ValueError(f"n_instances must be a positive int, got {n_instances!r}")
    if n_instances <= 0:
        raise ValueError(f"n_instances must be a positive int, got {n_instances}")
    n_instances = int(n_instances)
    seed = check_seed(seed)
    workers = check_workers(workers)
    if "seed" in options:
        raise ValueError("pass seed= once (the disorder seed); estimator seeds are derived from it")
    n_betas = int(np.size(beta))
    # Resolve the method on instance 0 (raises here, with the reason, if it does not apply). Its seed
    # does not depend on n_instances (SeedSequence children are numbered), so the K seeds are not drawn yet.
    chosen = resolve_method(ensemble.sample(int(instance_seeds(seed, 1)[0])), method, options)
    if not isinstance(keep_values, bool):
        raise ValueError(f"keep_values must be True or False, got {keep_values!r}")
    _check_memory(n_instances, n_betas, chosen.exact, keep_values, memory_budget)

    n_sites = int(ensemble.n_sites)
    seeds = instance_seeds(seed, n_instances)
    if keep_values:
        log_z_values = np.empty((n_instances, n_betas))
        log_z_errors = None if chosen.exact else np.empty((n_instances, n_betas))
        running = None
    else:
        log_z_values = log_z_errors = None
        running = RunningMoments(n_betas)

    def store(rows, result):
        values, errors = result
        if running is not None:  # workers > 1: in order of arrival (the same sums to rounding)
            for row in np.reshape(values, (-1, n_betas)):
                running.add(-row / (n_sites * beta), row)
            return
        log_z_values[rows] = values
        if log_z_errors is not None:
            log_z_errors[rows] = errors

    show = n_instances >= _PROGRESS_THRESHOLD if progress is None else bool(progress)
    with TaskProgress(f"quenched {ensemble!r}", n_instances, enabled=show, transient=True) as bar:
        if workers == 1 and _batched_enumeration(ensemble, chosen.name, options):
            batches = [slice(start, min(start + _BATCH_INSTANCES, n_instances))
                       for start in range(0, n_instances, _BATCH_INSTANCES)]
            run_tasks(batches, functools.partial(_enumerate_batch, ensemble, beta), store,
                      payload=lambda rows: seeds[rows], progress=bar, weight=lambda rows: rows.stop - rows.start)
        else:
            compute = functools.partial(_instance_log_z, ensemble, beta=beta, method=chosen.name,
                                        exact=chosen.exact, options=options)
            try:
                run_tasks(range(n_instances), compute, store, payload=lambda k: int(seeds[k]),
                          workers=workers, progress=bar)
            except WorkerDied as error:
                raise RuntimeError(f"{error}; use workers=1, or guard the script") from error

    seeds.setflags(write=False)
    if running is not None:
        return QuenchedResult(ensemble=ensemble, beta=beta, n_sites=n_sites, method=chosen.name, seed=seed,
                              instance_seeds=seeds, log_z=None, log_z_stderr=None, values=None,
                              annealed_exact=_annealed_exact(ensemble, beta), running=running)
    if np.ndim(beta) == 0:  # one β: (K,) arrays
        log_z_values = log_z_values[:, 0]
        log_z_errors = None if log_z_errors is None else log_z_errors[:, 0]
    log_z_values.setflags(write=False)
    values = -log_z_values / (n_sites * beta)
    values.setflags(write=False)
    if log_z_errors is not None:
        log_z_errors.setflags(write=False)
    return QuenchedResult(ensemble=ensemble, beta=beta, n_sites=n_sites, method=chosen.name, seed=seed,
                          instance_seeds=seeds, log_z=log_z_values, log_z_stderr=log_z_errors, values=values,
                          annealed_exact=_annealed_exact(ensemble, beta))


# ---------------------------------------------------------- self-averaging
def log_variance_stderr(values) -> float:
    """Standard error of log s², s² the sample variance of ``values`` (delta method).

    Var(s²) = σ⁴ (2/(K−1) + κ/K), κ the excess kurtosis (here its plug-in
    estimate g₂ >= −2, which keeps the bracket positive); so
    se(log s²) = √(2/(K−1) + κ/K). For Gaussian data κ = 0 and this is the
    familiar √(2/(K−1)).
    """
    values = np.asarray(values, dtype=np.float64)
    k = values.size
    centred = values - values.mean()
    second = np.mean(centred**2)
    kurtosis = np.mean(centred**4) / second**2 - 3.0 if second > 0 else 0.0
    return math.sqrt(2.0 / (k - 1) + kurtosis / k)


@dataclasses.dataclass(frozen=True, repr=False)
class SelfAveragingResult:
    """Var(f_N) over sizes and the fit Var(f_N) = A N^(−a).

    ``results``: one :class:`QuenchedResult` per size; ``n_sites`` (S,),
    ``variances`` (S,) the sample variances of f_N, ``log_variance_stderr``
    (S,) their standard errors in log (see :func:`log_variance_stderr`).
    ``exponent`` a and ``exponent_stderr`` from weighted least squares of
    log Var = log A − a log N with weights 1/se², the error from the fit's
    covariance with the se taken as known (not rescaled); ``chi2`` and ``dof``
    tell whether the power law describes the data within those errors.
    """

    sizes: tuple
    beta: float
    method: str
    seed: int
    results: tuple
    n_sites: np.ndarray
    variances: np.ndarray
    log_variance_stderr: np.ndarray
    exponent: float
    exponent_stderr: float
    amplitude: float
    chi2: float
    dof: int

    def plot_histograms(self, ax=None, bins: int | None = None):
        """Histograms (densities) of f_N for every size: they narrow as N grows.

        ``bins`` per size; default ⌈√K⌉ for K instances (between 8 and 40).
        """
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(6, 4))
        for n, result in zip(self.n_sites, self.results):
            count = bins if bins is not None else min(40, max(8, math.ceil(math.sqrt(result.n_instances))))
            ax.hist(result.values, bins=count, density=True, histtype="step", lw=1.5, label=f"N = {n}")
        ax.set_xlabel(r"free energy density $f_N$")
        ax.set_ylabel("density")
        ax.set_title(f"sample-to-sample distribution of $f_N$ at β = {self.beta:g}")
        ax.legend()
        return ax

    def plot_variance(self, ax=None):
        """log–log Var(f_N) against N with error bars and the fitted A N^(−a)."""
        if ax is None:
            import matplotlib.pyplot as plt

            _, ax = plt.subplots(figsize=(6, 4))
        n = np.asarray(self.n_sites, dtype=np.float64)
        low = self.variances * (1.0 - np.exp(-self.log_variance_stderr))
        high = self.variances * (np.exp(self.log_variance_stderr) - 1.0)
        ax.errorbar(n, self.variances, yerr=[low, high], fmt="o", capsize=3, label="Var($f_N$)")
        grid = np.geomspace(n.min(), n.max(), 50)
        ax.plot(grid, self.amplitude * grid ** (-self.exponent), "-",
                label=f"fit $N^{{-a}}$, a = {self.exponent:.2f} ± {self.exponent_stderr:.2f}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("N")
        ax.set_ylabel(r"Var$(f_N)$")
        ax.legend()
        return ax

    def __repr__(self) -> str:
        return (f"SelfAveragingResult(N = {self.n_sites.tolist()}, beta={self.beta:g}, "
                f"method={self.method!r}): Var(f_N) ∝ N^-a, a = {self.exponent:.3f} ± "
                f"{self.exponent_stderr:.3f} (chi2 = {self.chi2:.2f} for {self.dof} dof)")


def fit_power_law(n_sites, variances, log_stderr) -> tuple[float, float, float, float, int]:
    """Weighted least squares of log Var = c − a log N: (a, se(a), e^c, χ², dof)."""
    x = np.log(np.asarray(n_sites, dtype=np.float64))
    y = np.log(np.asarray(variances, dtype=np.float64))
    (intercept, exponent), covariance, chi2, dof = weighted_least_squares([np.ones_like(x), -x], y, log_stderr)
    return float(exponent), float(math.sqrt(covariance[1, 1])), float(math.exp(intercept)), chi2, dof


def self_averaging(ensemble_factory: Callable[[int], Any], sizes, beta, n_instances: int = 200,
                   method: str = "auto", seed: int = 0, progress: bool | None = None,
                   workers: int = 1, **options) -> SelfAveragingResult:
    """Sample-to-sample variance of f_N over sizes, and its exponent Var(f_N) ∝ N^(−a).

    For each ``size`` in ``sizes`` runs :func:`quenched` on
    ``ensemble_factory(size)`` (N = its ``n_sites``) with ``n_instances``
    instances and a seed derived from ``seed`` and the size's position, then
    fits the power law by weighted least squares in log–log
    (:func:`fit_power_law`, :func:`log_variance_stderr`). Expected: a = 1 for
    short-range models (CLT), a = 2 for SK at high temperature. ``workers``
    spreads each size's instances over processes (see :func:`quenched`).
    """
    beta = _check_beta(beta)
    n_instances = check_positive_int(n_instances, "n_instances")
    if n_instances < 4:
        raise ValueError(f"n_instances must be >= 4 to estimate a variance and its error, got {n_instances}")
    seed = check_seed(seed)
    sizes = tuple(sizes)
    if len(sizes) < 3:
        raise ValueError(f"give at least 3 sizes to fit a power law with an error bar, got {sizes!r}")
    if "keep_values" in options:
        raise ValueError("self_averaging needs every instance's f (the error of log Var uses its fourth moment); "
                         "drop keep_values")
    ensembles = [ensemble_factory(size) for size in sizes]
    n_sites = np.array([int(e.n_sites) for e in ensembles])
    if len(set(n_sites.tolist())) != len(n_sites):
        raise ValueError(f"the sizes give repeated numbers of sites {n_sites.tolist()}; use distinct sizes")
    size_seeds = np.random.SeedSequence(seed).spawn(len(sizes))
    results = []
    for ensemble, size_seed in zip(ensembles, size_seeds):
        derived = int(size_seed.generate_state(1, np.uint64)[0] >> np.uint64(1))
        results.append(quenched(ensemble, beta, n_instances, method=method, seed=derived,
                                progress=progress, workers=workers, **options))
    variances = np.array([np.var(r.values, ddof=1) for r in results])
    if np.any(variances <= 0):
        raise ValueError("f_N does not fluctuate at some size (zero variance); is the ensemble random?")
    log_stderr = np.array([log_variance_stderr(r.values) for r in results])
    exponent, exponent_stderr, amplitude, chi2, dof = fit_power_law(n_sites, variances, log_stderr)
    methods = {r.method for r in results}
    return SelfAveragingResult(sizes=sizes, beta=beta, method=", ".join(sorted(methods)), seed=seed,
                               results=tuple(results), n_sites=n_sites, variances=variances,
                               log_variance_stderr=log_stderr, exponent=exponent,
                               exponent_stderr=exponent_stderr, amplitude=amplitude, chi2=chi2, dof=dof)
