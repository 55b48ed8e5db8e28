"""Honest Monte Carlo error bars: autocorrelation, the Γ-method, R̂, blocking, jackknife.

Conventions used throughout this module:

- A chain is an array of shape ``(n_draws,)``; several chains are an array of
  shape ``(n_chains, n_draws)``. Draws are consecutive measurements (e.g. one
  per sweep).
- The normalised autocorrelation is ρ(t) = C(t)/C(0) with the (biased,
  divide-by-n) autocovariance C(t) = (1/n) Σ_{i<n−t} (x_i − x̄)(x_{i+t} − x̄),
  each chain's own mean removed; for several chains C(t) is averaged over
  chains before normalising.
- The integrated autocorrelation time is **τ_int = 1/2 + Σ_{t≥1} ρ(t)**, so
  τ_int = 1/2 for uncorrelated data and the variance of the mean of n draws is
  Var(x̄) ≈ 2 τ_int σ²/n (Sokal's convention; emcee and NetKet use
  τ = 2 τ_int). The effective sample size is n/(2 τ_int).

References: N. Madras and A. D. Sokal, J. Stat. Phys. 50, 109 (1988);
A. D. Sokal, "Monte Carlo methods in statistical mechanics: foundations and new
algorithms", Cargèse lectures (1996/1997); U. Wolff, Comput. Phys. Commun. 156,
143 (2004); H. Flyvbjerg and H. G. Petersen, J. Chem. Phys. 91, 461 (1989);
M. Jonsson, Phys. Rev. E 98, 043304 (2018); A. Vehtari, A. Gelman, D. Simpson,
B. Carpenter and P.-C. Bürkner, Bayesian Analysis 16, 667 (2021).
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from scipy import special, stats

from statmech.stats._estimate import Estimate

#: Fewer draws per chain than this and no error bar is given at all.
MIN_DRAWS = 32
#: The window must close within n_draws / WINDOW_FRACTION (emcee's rule).
WINDOW_FRACTION = 4
#: A chain shorter than this many τ_int gets a warning in its statistics.
RELIABLE_LENGTH_IN_TAU = 50
#: Chains whose split-R̂ exceeds this get a warning (Vehtari et al. 2021).
RHAT_THRESHOLD = 1.01


# --------------------------------------------------------------------------- input


def _as_chains(samples, name: str = "samples") -> np.ndarray:
    """float64 array of shape (n_chains, n_draws) from a 1-D or 2-D input."""
    if isinstance(samples, (str, bytes)) or samples is None:
        raise TypeError(f"{name} must be a numeric array of shape (n_draws,) or (n_chains, n_draws)")
    try:
        array = np.array(samples, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"{name} must be a numeric array of shape (n_draws,) or (n_chains, n_draws)"
        ) from error
    if array.ndim == 1:
        array = array[np.newaxis, :]
    if array.ndim != 2:
        raise ValueError(
            f"{name} must have shape (n_draws,) or (n_chains, n_draws), got shape {array.shape}; "
            "reshape it, e.g. x.reshape(n_chains, -1)"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {array.shape}); pass at least one draw")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or inf; every draw must be a finite number")
    return array


def _check_c(c) -> float:
    if isinstance(c, bool) or not isinstance(c, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"c must be a positive number (Sokal recommends 4 to 10), got {c!r}")
    c = float(c)
    if not (math.isfinite(c) and c > 0):
        raise ValueError(f"c must be a positive number (Sokal recommends 4 to 10), got {c}")
    return c


def _too_short(n_draws: int, needed: int, reason: str) -> ValueError:
    more = max(int(needed) - n_draws, 1)
    return ValueError(
        f"chain too short for an error bar: {reason}; run at least {more} more sweeps "
        f"(>= {int(needed)} draws per chain)"
    )


def _is_constant(chains: np.ndarray) -> bool:
    """True when every draw of every chain is exactly the same number."""
    return bool(np.all(chains == chains.flat[0]))


# ----------------------------------------------------------------- autocorrelation


def _autocovariance(chains: np.ndarray) -> np.ndarray:
    """C(t), t = 0..n−1, per chain mean removed, averaged over chains (FFT)."""
    n_draws = chains.shape[1]
    centred = chains - chains.mean(axis=1, keepdims=True)
    n_fft = 1 << (2 * n_draws - 1).bit_length()  # zero padding: no circular wrap
    spectrum = np.fft.rfft(centred, n=n_fft, axis=1)
    acov = np.fft.irfft(spectrum.real**2 + spectrum.imag**2, n=n_fft, axis=1)[:, :n_draws]
    return acov.mean(axis=0) / n_draws


def autocorrelation_function(x) -> np.ndarray:
    """Normalised autocorrelation ρ(t) = C(t)/C(0), t = 0 .. n_draws−1.

    ``x`` has shape ``(n_draws,)`` or ``(n_chains, n_draws)``. Each chain's own
    mean is removed, C(t) = (1/n) Σ_{i<n−t} (x_i − x̄)(x_{i+t} − x̄) is computed
    with a zero-padded FFT and, for several chains, averaged over chains before
    normalising (a stuck chain then adds nothing instead of 0/0). A chain that
    never moves (C(0) = 0) gets ρ = (1, 0, 0, ...), i.e. τ_int = 1/2.
    (Sokal 1997, §3; the FFT method as in emcee and NetKet.)
    """
    chains = _as_chains(x, "x")
    acov = _autocovariance(chains)
    rho = np.zeros_like(acov)
    rho[0] = 1.0
    if acov[0] > 0:
        rho[1:] = acov[1:] / acov[0]
    return rho


def _sokal_window(rho: np.ndarray, c: float, max_window: int):
    """Smallest W in 1..max_window with W >= c·τ_int(W) and τ_int(W) > 0.

    Returns (τ_int(W), W), or (τ_int(max_window), None) when no window closes.
    """
    taus = 0.5 + np.cumsum(rho[1 : max_window + 1])
    windows = np.arange(1, taus.size + 1)
    closed = np.flatnonzero((windows >= c * taus) & (taus > 0))
    if closed.size == 0:
        return float(taus[-1]) if taus.size else 0.5, None
    w = int(closed[0])
    return float(taus[w]), int(windows[w])


def integrated_autocorrelation_time(x, c: float = 5.0) -> tuple[float, int]:
    """Γ-method τ_int with Sokal's automatic window; returns ``(tau_int, window)``.

    τ_int(W) = 1/2 + Σ_{t=1}^{W} ρ(t), with W the smallest window such that
    W >= c·τ_int(W) (Madras & Sokal 1988; Sokal 1997). Convention: τ_int = 1/2
    for uncorrelated draws and Var(mean) = 2 τ_int σ²/n. Its standard error is
    :func:`integrated_autocorrelation_time_stderr`.

    ``x`` has shape ``(n_draws,)`` or ``(n_chains, n_draws)`` (ρ averaged over
    chains). Like emcee, this refuses rather than answers wrongly: it raises
    ``ValueError`` ("chain too short") when n_draws < 32 or when no window
    W <= n_draws/4 closes. For anticorrelated chains (ρ(1) < 0) the window also
    requires τ_int(W) > 0, which makes τ_int conservative (too large). A chain
    that never moves gets (0.5, 1).
    """
    c = _check_c(c)
    chains = _as_chains(x, "x")
    n_draws = chains.shape[1]
    if n_draws < MIN_DRAWS:
        raise _too_short(n_draws, MIN_DRAWS, f"{n_draws} draws per chain, fewer than {MIN_DRAWS}")
    if _is_constant(chains):
        return 0.5, 1
    rho = autocorrelation_function(chains)
    max_window = n_draws // WINDOW_FRACTION
    tau, window = _sokal_window(rho, c, max_window)
    if window is None:
        needed = max(2 * n_draws, math.ceil(RELIABLE_LENGTH_IN_TAU * max(tau, 1.0)))
        raise _too_short(
            n_draws,
            needed,
            f"the autocorrelation window did not close within n_draws/{WINDOW_FRACTION} = "
            f"{max_window} draws (tau_int >= {tau:.3g} at that window, c = {c:g})",
        )
    return tau, window


def integrated_autocorrelation_time_stderr(tau_int: float, window: int, n_samples: int) -> float:
    """Madras–Sokal standard error of τ_int: δτ ≈ τ_int·sqrt(2(2W+1)/n).

    ``n_samples`` is the total number of draws the ACF was averaged over
    (n_chains·n_draws). Madras & Sokal (1988), eq. (2.23 ff.); Sokal (1997) eq. (3.19).
    """
    if n_samples < 1 or window < 0:
        raise ValueError(f"need n_samples >= 1 and window >= 0, got {n_samples} and {window}")
    return float(abs(tau_int) * math.sqrt(2.0 * (2 * window + 1) / n_samples))


# ------------------------------------------------------------------------- R-hat


def _rhat_basic(chains: np.ndarray) -> float:
    """Gelman–Rubin R̂ of (M, N) chains: sqrt(((N−1)/N·W + B/N)/W)."""
    n_chains, n_draws = chains.shape
    chain_means = chains.mean(axis=1)
    every_chain_constant = bool(np.all(chains == chains[:, :1]))
    within = 0.0 if every_chain_constant else chains.var(axis=1, ddof=1).mean()
    between = 0.0 if np.all(chain_means == chain_means[0]) else n_draws * chain_means.var(ddof=1)
    if within == 0:
        return 1.0 if between == 0 else math.inf
    pooled = (n_draws - 1) / n_draws * within + between / n_draws
    return float(math.sqrt(pooled / within))


def _rank_normalise(chains: np.ndarray) -> np.ndarray:
    """z = Φ⁻¹((r − 3/8)/(S + 1/4)) with r the pooled ranks (ties averaged)."""
    ranks = stats.rankdata(chains, method="average").reshape(chains.shape)
    return special.ndtri((ranks - 0.375) / (chains.size + 0.25))


def _snap(values: np.ndarray) -> np.ndarray:
    """Values equal up to float rounding (1e-10 of their range) made equal, so that ranks see them as ties.

    A discrete observable accumulated incrementally (E += ΔE) carries rounding
    noise of ~1e-16 that would otherwise split its ties at random and bias the
    rank-normalised R̂.
    """
    spread = float(np.max(values) - np.min(values))
    if not np.isfinite(spread) or spread == 0.0:
        return values
    quantum = 1e-10 * spread
    return np.round(values / quantum) * quantum


def split_rhat(samples) -> float:
    """Rank-normalised split-R̂ (Vehtari et al. 2021): max of bulk and tail R̂.

    ``samples`` has shape ``(n_chains, n_draws)`` (or ``(n_draws,)`` for one
    chain) with n_draws >= 4. Each chain is split into its first and last halves
    (the middle draw dropped when n_draws is odd), giving 2·n_chains chains.
    Bulk R̂ is Gelman–Rubin R̂ of the rank-normalised draws; tail R̂ is the same
    for the folded draws |x − median|. R̂ ≈ 1 means the chains agree; > 1.01
    means they do not (yet). Chains that never move give 1 when they all sit at
    the same value and ``inf`` otherwise.
    """
    chains = _as_chains(samples)
    n_chains, n_draws = chains.shape
    if n_draws < 4:
        raise ValueError(f"split_rhat needs at least 4 draws per chain, got {n_draws}; run longer")
    half = n_draws // 2
    split = _snap(np.concatenate([chains[:, :half], chains[:, n_draws - half :]], axis=0))
    if _is_constant(split):
        return 1.0
    bulk = _rhat_basic(_rank_normalise(split))
    folded = _snap(np.abs(split - np.median(split)))
    tail = 1.0 if _is_constant(folded) else _rhat_basic(_rank_normalise(folded))
    return float(max(bulk, tail))


# ---------------------------------------------------------- multi-chain ESS (Vehtari et al.)


def multichain_ess(samples) -> float:
    """Effective sample size of the mean that counts chains that disagree (Vehtari et al. 2021, eqs. 10-11).

    ``samples`` has shape ``(n_chains, n_draws)`` (or ``(n_draws,)``), n_draws >= 4. Each chain is
    split in halves (a trend within a chain then shows as disagreement); with W the mean
    within-chain variance (ddof 1), C̄_t the mean autocovariance at lag t and B/n the variance of
    the chain means,

        ρ̂_t = 1 − (W − C̄_t)/var⁺,   var⁺ = (n−1)/n W + B/n,   ESS = M n / (−1 + 2 Σ_{t ≤ T} ρ̂_t),

    the sum truncated by Geyer's initial monotone sequence (pairs ρ̂_{2k} + ρ̂_{2k+1} > 0, made
    non-increasing). The between-chain variance B/n enters every ρ̂_t, so chains stuck in different
    places lower the ESS even when each looks well mixed on its own. Draws that never move give M n.
    (The same estimator as ArviZ's and Stan's ``ess_mean``.)
    """
    chains = _as_chains(samples)
    if chains.shape[1] < 4:
        raise ValueError(f"multichain_ess needs at least 4 draws per chain, got {chains.shape[1]}; run longer")
    half = chains.shape[1] // 2
    chains = np.concatenate([chains[:, :half], chains[:, chains.shape[1] - half:]], axis=0)
    n_chain, n_draw = chains.shape
    total = n_chain * n_draw
    if _is_constant(chains):
        return float(total)
    centred = chains - chains.mean(axis=1, keepdims=True)
    n_fft = 1 << (2 * n_draw - 1).bit_length()
    spectrum = np.fft.rfft(centred, n=n_fft, axis=1)
    acov = np.fft.irfft(spectrum.real**2 + spectrum.imag**2, n=n_fft, axis=1)[:, :n_draw].mean(axis=0) / n_draw
    within = acov[0] * n_draw / (n_draw - 1.0)
    var_plus = acov[0] + (np.var(chains.mean(axis=1), ddof=1) if n_chain > 1 else 0.0)
    if var_plus <= 0:
        return float(total)
    rho = 1.0 - (within - acov) / var_plus
    rho[0] = 1.0
    # Geyer's initial positive sequence over pairs (ρ_{2k}, ρ_{2k+1}) up to lag n − 2, made non-increasing;
    # the even lag of the first non-positive (or the last) pair closes the sum where positive, as in Stan.
    n_pairs = (n_draw - 1) // 2
    pairs = rho[: 2 * n_pairs].reshape(n_pairs, 2).sum(axis=1)
    negative = np.flatnonzero(pairs <= 0)
    stop = int(negative[0]) if negative.size else n_pairs - 1
    pairs = np.minimum.accumulate(pairs[:stop]) if stop else pairs[:0]
    tail = max(float(rho[2 * stop]), 0.0)
    tau = max(-1.0 + 2.0 * float(np.sum(pairs)) + tail, 1.0 / math.log10(total))
    return float(total / tau)


# ------------------------------------------------------------------ chain statistics


@dataclasses.dataclass(frozen=True)
class ChainStatistics:
    """Mean of Monte Carlo draws with an honest error bar and its diagnostics.

    ``stderr`` is the larger of ``gamma_stderr = sqrt(variance · 2 tau_int / (n_chains · n_draws))``
    (Γ-method, τ_int = 1/2 for uncorrelated draws) and the multi-chain error bar
    sqrt(s² / ``ess_multichain``) (:func:`multichain_ess`, which counts chains that disagree);
    ``ess`` is the smaller of n_chains·n_draws/(2 tau_int) and ``ess_multichain``;
    ``rhat`` is the rank-normalised split-R̂ (None for a single chain);
    ``warnings`` lists every reason to distrust the numbers (empty when none).
    """

    mean: float
    stderr: float
    variance: float
    tau_int: float
    tau_int_stderr: float
    window: int
    ess: float
    rhat: float | None
    n_chains: int
    n_draws: int
    warnings: tuple[str, ...] = ()
    gamma_stderr: float | None = None
    ess_multichain: float | None = None

    def to_estimate(self, method: str, meta: Mapping[str, Any] | None = None) -> Estimate:
        """This mean as an :class:`Estimate`, the diagnostics recorded in ``meta``."""
        diagnostics = {
            "tau_int": self.tau_int,
            "tau_int_stderr": self.tau_int_stderr,
            "window": self.window,
            "ess": self.ess,
            "ess_multichain": self.ess_multichain,
            "gamma_stderr": self.gamma_stderr,
            "rhat": self.rhat,
            "n_chains": self.n_chains,
            "n_draws": self.n_draws,
            "warnings": self.warnings,
        }
        diagnostics.update(meta or {})
        return Estimate(self.mean, self.stderr, method, diagnostics)


def chain_statistics(samples, c: float = 5.0) -> ChainStatistics:
    """Mean, Γ-method standard error, τ_int, ESS and R̂ of MC draws.

    ``samples`` has shape ``(n_draws,)`` or ``(n_chains, n_draws)``. The mean
    and the variance σ² are taken over all draws (σ² about the grand mean, so
    disagreeing chains widen the error bar); τ_int comes from the ACF averaged
    over chains (:func:`integrated_autocorrelation_time`) and the Γ-method gives
    sqrt(σ² · 2τ_int / (n_chains·n_draws)). Removing each chain's own mean, that
    estimate cannot see chains that disagree (slow modes longer than a chain), so
    the reported stderr is the larger of it and the multi-chain error bar
    sqrt(s²/ESS) with the ESS of Vehtari et al. (2021), :func:`multichain_ess`,
    in which the variance of the chain means enters every autocorrelation.

    Raises ``ValueError`` ("chain too short for an error bar") rather than
    return a wrong error bar when n_draws < 32 or the Sokal window does not
    close within n_draws/4. Warnings (in ``.warnings``, not Python warnings):
    chain shorter than 50 τ_int (τ_int taken at its upper one-sigma value
    τ_int + δτ, because τ_int is biased low on short chains), chains that disagree (R̂ > 1.01), and a chain
    that did not move (then stderr = 0 and τ_int = 1/2). Anticorrelated chains
    (τ_int < 1/2, e.g. Metropolis at β = 0 flipping every spin each sweep) get a
    conservative, i.e. too large, error bar (see
    :func:`integrated_autocorrelation_time`).
    """
    chains = _as_chains(samples)
    n_chains, n_draws = chains.shape
    n_total = n_chains * n_draws
    if n_draws < MIN_DRAWS:
        raise _too_short(n_draws, MIN_DRAWS, f"{n_draws} draws per chain, fewer than {MIN_DRAWS}")
    mean = float(chains.mean())
    rhat = split_rhat(chains) if n_chains > 1 else None

    if _is_constant(chains):
        tau, window, variance, tau_stderr = 0.5, 1, 0.0, 0.0
        notes = [
            f"the chain did not move: all {n_total} draws equal {mean:.6g}; the error bar 0 "
            "is right only if the system is truly frozen (e.g. a ground state at large beta), "
            "otherwise the sampler is stuck"
        ]
    else:
        tau, window = integrated_autocorrelation_time(chains, c)
        variance = float(np.mean((chains - mean) ** 2))
        notes = []
        tau_stderr = integrated_autocorrelation_time_stderr(tau, window, n_total)
        # τ_int is biased low on short chains, so compare with its upper one-sigma value
        tau_high = tau + tau_stderr
        if n_draws < RELIABLE_LENGTH_IN_TAU * tau_high:
            notes.append(
                f"chain of {n_draws} draws is shorter than {RELIABLE_LENGTH_IN_TAU} tau_int = "
                f"{RELIABLE_LENGTH_IN_TAU * tau_high:.4g} (tau_int = {tau:.3g} ± {tau_stderr:.2g}, "
                "taking its upper one-sigma value); the error bar may be underestimated; run longer"
            )
    if rhat is not None and rhat > RHAT_THRESHOLD:
        notes.append(
            f"chains disagree: split R-hat = {rhat:.4g} > {RHAT_THRESHOLD}; they have not "
            "converged to the same distribution (or cannot cross a barrier); run longer"
        )

    gamma_stderr = math.sqrt(variance * 2.0 * tau / n_total)
    ess_multichain = multichain_ess(chains)
    # The multi-chain (Vehtari) error bar counts chains that disagree; the Γ-method's, with each chain's
    # own mean removed, cannot see them. The larger of the two is reported.
    between_stderr = math.sqrt(variance * n_total / max(n_total - 1, 1) / ess_multichain)
    stderr = max(gamma_stderr, between_stderr)
    return ChainStatistics(
        mean=mean,
        stderr=stderr,
        variance=variance,
        tau_int=tau,
        tau_int_stderr=tau_stderr,
        window=window,
        ess=min(n_total / (2.0 * tau), ess_multichain),
        rhat=rhat,
        n_chains=n_chains,
        n_draws=n_draws,
        warnings=tuple(notes),
        gamma_stderr=gamma_stderr,
        ess_multichain=ess_multichain,
    )


# ---------------------------------------------------------------------- blocking


@dataclasses.dataclass(frozen=True)
class BlockingResult:
    """Flyvbjerg–Petersen blocking curve and its plateau.

    ``block_sizes[k] = 2**k`` draws; ``stderrs[k]`` is the standard error of the
    mean from blocks of that size and ``stderr_errors[k]`` its own error,
    stderrs[k]/sqrt(2(n_blocks−1)). ``stderr`` / ``block_size`` are the value
    at the plateau chosen by Jonsson's (2018) test; ``warnings`` is empty
    unless no plateau was reached.
    """

    mean: float
    block_sizes: np.ndarray
    n_blocks: np.ndarray
    stderrs: np.ndarray
    stderr_errors: np.ndarray
    stderr: float
    block_size: int
    warnings: tuple[str, ...] = ()


def blocking_error(x, confidence: float = 0.99) -> BlockingResult:
    """Flyvbjerg–Petersen blocking analysis of the standard error of the mean.

    ``x`` has shape ``(n_draws,)`` or ``(n_chains, n_draws)``. At level k the
    draws of each chain are averaged in blocks of 2**k (a trailing odd block is
    dropped at each halving); the standard error of the grand mean from the
    pooled block means is sqrt(Σ(b − x̄)²/(B(B−1))) with B blocks. It grows
    with k until blocks are longer than the correlation time, then plateaus.

    The plateau is chosen as in Jonsson (2018): the first level k at which
    M_k = Σ_{j>=k} B_j ρ̂_j(1)² (ρ̂_j(1): lag-1 autocorrelation of the level-j
    block means) is below the χ² quantile ``confidence`` with (levels − k)
    degrees of freedom, i.e. the block means look uncorrelated from there on.
    Levels with fewer than 2 blocks per chain are not used. A cross-check of
    the Γ-method (:func:`chain_statistics`).
    """
    chains = _as_chains(x, "x")
    n_chains, n_draws = chains.shape
    if n_draws < MIN_DRAWS:
        raise _too_short(n_draws, MIN_DRAWS, f"{n_draws} draws per chain, fewer than {MIN_DRAWS}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), e.g. 0.99, got {confidence}")
    mean = float(chains.mean())
    sizes, counts, errors, lag1_terms = [], [], [], []
    blocks, size = chains, 1
    while blocks.shape[1] >= 2:
        n_blocks = blocks.size
        deviations = blocks - mean
        errors.append(math.sqrt(np.sum(deviations**2) / (n_blocks * (n_blocks - 1))))
        local = blocks - blocks.mean(axis=1, keepdims=True)
        c0 = float(np.mean(local**2))
        c1 = float(np.sum(local[:, :-1] * local[:, 1:]) / n_blocks)
        lag1_terms.append(n_blocks * (c1 / c0) ** 2 if c0 > 0 else 0.0)
        sizes.append(size)
        counts.append(n_blocks)
        even = blocks.shape[1] // 2 * 2
        blocks = 0.5 * (blocks[:, 0:even:2] + blocks[:, 1:even:2])
        size *= 2

    stderrs = np.array(errors)
    counts_array = np.array(counts)
    stderr_errors = stderrs / np.sqrt(2.0 * (counts_array - 1))
    tail_sums = np.cumsum(np.array(lag1_terms)[::-1])[::-1]
    dof = np.arange(len(sizes), 0, -1)
    passing = np.flatnonzero(tail_sums < stats.chi2.ppf(confidence, dof))
    notes: tuple[str, ...] = ()
    if passing.size:
        level = int(passing[0])
    else:
        level = len(sizes) - 1
        notes = (
            "blocking found no plateau: block means stay correlated at every level; "
            "the error bar is a lower bound; run longer",
        )
    return BlockingResult(
        mean=mean,
        block_sizes=np.array(sizes),
        n_blocks=counts_array,
        stderrs=stderrs,
        stderr_errors=stderr_errors,
        stderr=float(stderrs[level]),
        block_size=int(sizes[level]),
        warnings=notes,
    )


# ---------------------------------------------------------------------- jackknife


@dataclasses.dataclass(frozen=True)
class JackknifeResult:
    """Block-jackknife estimate of a function of means.

    ``value`` = f(full means); ``bias_corrected`` = B·value − (B−1)·mean of the
    leave-one-block-out values; ``stderr`` the jackknife standard error;
    ``block_size`` draws per block (per chain); ``warnings`` why to distrust it.
    """

    value: Any
    bias_corrected: Any
    stderr: Any
    n_blocks: int
    block_size: int
    warnings: tuple[str, ...] = ()


def jackknife(
    function: Callable[..., Any],
    samples: Mapping[str, Any] | Sequence[Any],
    n_blocks: int = 20,
) -> JackknifeResult:
    """Block-jackknife value and standard error of f(⟨a⟩, ⟨b⟩, ...).

    ``samples`` is a tuple of arrays (called as ``function(mean_a, mean_b, ...)``)
    or a dict (called as ``function(**means)``); every array has the same shape
    ``(n_chains, n_draws)`` or ``(n_draws,)``. Draws are cut into ``n_blocks``
    consecutive blocks of ``n_draws // n_blocks`` draws (the remainder at the
    end is dropped), pooled over chains. With θ_j = f(means without block j),
    θ̄ = mean θ_j and B blocks:

        stderr = sqrt((B−1)/B · Σ_j (θ_j − θ̄)²),  bias-corrected = B θ − (B−1) θ̄

    (Efron & Stein 1981; blocking as in Flyvbjerg 1998). Examples:
    C = β²(⟨E²⟩ − ⟨E⟩²), χ = β(⟨M²⟩ − ⟨|M|⟩²)/N, U₄ = 1 − ⟨m⁴⟩/(3⟨m²⟩²).

    Blocks must be longer than the correlation time: a warning is returned when
    the block size is below 2·τ_int of an input (the error bar is then too
    small — use fewer blocks or longer chains).
    """
    if isinstance(n_blocks, bool) or not isinstance(n_blocks, (numbers.Integral, np.integer)):
        raise TypeError(f"n_blocks must be an int >= 2, got {n_blocks!r}")
    if n_blocks < 2:
        raise ValueError(f"n_blocks must be >= 2, got {n_blocks}")
    if not callable(function):
        raise TypeError("function must be callable, e.g. lambda e, e2: e2 - e**2")
    if isinstance(samples, Mapping):
        names = [str(key) for key in samples]
        arrays = [_as_chains(samples[key], f"samples[{key!r}]") for key in samples]
    elif isinstance(samples, (tuple, list)):
        names = [f"input {i}" for i in range(len(samples))]
        arrays = [_as_chains(a, f"samples[{i}]") for i, a in enumerate(samples)]
    else:
        raise TypeError(
            "samples must be a dict or a tuple of arrays of shape (n_chains, n_draws), "
            "e.g. (energies, energies**2)"
        )
    if not arrays:
        raise ValueError("samples is empty; pass at least one array")
    shape = arrays[0].shape
    for name, array in zip(names, arrays):
        if array.shape != shape:
            raise ValueError(
                f"all samples must have the same shape; {names[0]} has {shape}, {name} has "
                f"{array.shape}"
            )
    n_chains, n_draws = shape
    block_size = n_draws // n_blocks
    if block_size < 1:
        raise ValueError(
            f"n_blocks = {n_blocks} is more than the {n_draws} draws per chain; use fewer blocks"
        )

    notes = []
    for name, array in zip(names, arrays):
        if _is_constant(array):
            continue
        try:
            tau, _ = integrated_autocorrelation_time(array)
        except ValueError as error:
            notes.append(f"could not estimate tau_int of {name} to check the block size: {error}")
            continue
        if block_size < 2 * tau:
            notes.append(
                f"blocks of {block_size} draws are shorter than 2 tau_int = {2 * tau:.3g} of "
                f"{name}; the error bar is underestimated; use fewer blocks or run longer"
            )

    # block sums, pooled over chains: shape (n_inputs, n_blocks)
    used = n_blocks * block_size
    block_sums = np.stack(
        [a[:, :used].reshape(n_chains, n_blocks, block_size).sum(axis=(0, 2)) for a in arrays]
    )
    total = block_sums.sum(axis=1)
    per_block = n_chains * block_size
    full_means = total / (n_blocks * per_block)
    leave_one_out = (total[:, np.newaxis] - block_sums) / ((n_blocks - 1) * per_block)

    def call(means):
        if isinstance(samples, Mapping):
            return np.asarray(function(**dict(zip(samples.keys(), means))), dtype=np.float64)
        return np.asarray(function(*means), dtype=np.float64)

    value = call(full_means)
    thetas = np.stack([call(leave_one_out[:, j]) for j in range(n_blocks)])
    theta_bar = thetas.mean(axis=0)
    stderr = np.sqrt((n_blocks - 1) / n_blocks * np.sum((thetas - theta_bar) ** 2, axis=0))
    bias_corrected = n_blocks * value - (n_blocks - 1) * theta_bar
    if not (np.all(np.isfinite(value)) and np.all(np.isfinite(thetas))):
        notes.append("function returned NaN or inf for some blocks; the result is not usable")

    def plain(a):
        return float(a) if a.ndim == 0 else a

    return JackknifeResult(
        value=plain(value),
        bias_corrected=plain(bias_corrected),
        stderr=plain(stderr),
        n_blocks=n_blocks,
        block_size=block_size,
        warnings=tuple(notes),
    )
