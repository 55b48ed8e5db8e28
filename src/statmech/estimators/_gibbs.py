"""Sampling estimators of log Z(β) for loss models: ``"ti"``, ``"ais"``, ``"smc"``.

Markov moves from BlackJAX (NUTS, HMC, MALA). They need λ > 0 so that the
β = 0 reference (the Gaussian prior, ln Z₀ = (d/2) ln(2π/λ)) exists. Same
measure and conventions as :mod:`statmech.exact._gibbs`.
"""
from __future__ import annotations

import functools
import math
import time
from typing import Any


import blackjax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from blackjax.mcmc.mala import MALAState

from statmech._types import Estimate, Thermo
from statmech._validation import as_beta_array, check_positive_int, check_seed, renamed_option
from statmech.estimators import _budget
from statmech.estimators._integration import quadrature_plan
from statmech.exact._gibbs import _curvature, _loss_batch
from statmech.models._gibbs import LossModel, _check_model
from statmech._types import Method
from statmech.stats import chain_statistics, jackknife
from statmech.stats._autocorr import MIN_DRAWS

# ===================================================================== sampling
KERNELS = ("nuts", "hmc", "mala")
#: acceptance rates targeted by the step-size adaptation (Stan/BlackJAX default; Roberts & Rosenthal 1998 for MALA)
TARGET_ACCEPTANCE = {"nuts": 0.8, "hmc": 0.8, "mala": 0.574}


def _check_sampling(model, method: str, kernel: str) -> None:
    if model.prior_precision <= 0:
        raise ValueError(f"{method} needs prior_precision > 0: it anneals from the Gaussian prior at beta = 0 "
                         f"(ln Z0 = (d/2) ln(2π/λ)), which does not exist at λ = 0; use 'exact', 'laplace' or "
                         "'quadrature', or give the model a prior")
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {', '.join(KERNELS)}, got {kernel!r}")


def _log_z_prior(model) -> float:
    """ln Z(0) = ln ∫ exp(−λ|θ|²/2) dθ = (d/2) ln(2π/λ)."""
    return 0.5 * model.dim * math.log(2.0 * math.pi / model.prior_precision)


class _PreconditionedMALA:
    """BlackJAX MALA with a diagonal preconditioner M⁻¹ = diag(c²).

    MALA is run on z = θ/c (the target's log density composed with θ = c z);
    the state is kept in θ coordinates, its gradient transformed as
    ∇_z = c ∇_θ. Same call signature as the HMC/NUTS kernels, so
    ``blackjax.window_adaptation`` can tune step size and c.
    """

    init = staticmethod(blackjax.mala.init)

    @staticmethod
    def build_kernel():
        kernel = blackjax.mala.build_kernel()

        def step(rng_key, state, logdensity_fn, step_size, inverse_mass_matrix):
            c = jnp.sqrt(inverse_mass_matrix)
            whitened = MALAState(state.position / c, state.logdensity, state.logdensity_grad * c)
            new, info = kernel(rng_key, whitened, lambda z: logdensity_fn(c * z), step_size)
            return MALAState(new.position * c, new.logdensity, new.logdensity_grad / c), info

        return step


def _algorithm(kernel: str):
    return {"nuts": blackjax.nuts, "hmc": blackjax.hmc, "mala": _PreconditionedMALA}[kernel]


def _step_fn(kernel: str, n_leapfrog: int):
    """step(key, state, logdensity, step_size, inverse_mass_matrix) for the chosen BlackJAX kernel."""
    if kernel == "hmc":
        build = blackjax.hmc.build_kernel()

        def hmc_step(key, state, logdensity, step_size, inverse_mass_matrix):
            # the step size is jittered uniformly in [0.8, 1.2]·ε (Neal 2011, §5.4.2.2) so that a fixed
            # trajectory length cannot resonate with a Gaussian direction of the target
            jitter_key, key = jax.random.split(key)
            jittered = step_size * jax.random.uniform(jitter_key, (), minval=0.8, maxval=1.2, dtype=jnp.float64)
            return build(key, state, logdensity, jittered, inverse_mass_matrix, n_leapfrog)

        return hmc_step
    return _algorithm(kernel).build_kernel()


def _prior_draws(key, model, n: int):
    return jax.random.normal(key, (n, model.dim), dtype=jnp.float64) / math.sqrt(model.prior_precision)


def _check_sampling_options(n_leapfrog, seed):
    return check_positive_int(n_leapfrog, "n_leapfrog"), check_seed(seed)


# ---------------------------------------------------------------- TI
@eqx.filter_jit
def _ti_node_losses(model, key, node_betas, n_chains: int, n_warmup: int, n_samples: int, kernel: str,
                    n_leapfrog: int):
    """L(θ) series (nodes, chains, n_samples) from adapted BlackJAX chains at each node β."""
    lam = model.prior_precision
    extra = {"num_integration_steps": n_leapfrog} if kernel == "hmc" else {}
    step = _step_fn(kernel, n_leapfrog)

    def one_chain(key, beta):
        init_key, warm_key, run_key = jax.random.split(key, 3)
        logdensity = lambda t: -beta * model.loss(t) - 0.5 * lam * jnp.sum(t**2)  # noqa: E731
        position = _prior_draws(init_key, model, 1)[0]
        warmup = blackjax.window_adaptation(_algorithm(kernel), logdensity, initial_step_size=0.5,
                                            target_acceptance_rate=TARGET_ACCEPTANCE[kernel],
                                            adaptation_info_fn=lambda *args: None, **extra)
        (state, parameters), _ = warmup.run(warm_key, position, n_warmup)

        def body(state, k):
            state, info = step(k, state, logdensity, parameters["step_size"], parameters["inverse_mass_matrix"])
            return state, (model.loss(state.position), info.acceptance_rate)

        _, (losses, acceptance) = jax.lax.scan(body, state, jax.random.split(run_key, n_samples))
        return losses, jnp.mean(acceptance), parameters["step_size"]

    keys = jax.random.split(key, node_betas.size * n_chains).reshape(node_betas.size, n_chains)
    per_node = jax.vmap(lambda ks, b: jax.vmap(lambda k: one_chain(k, b))(ks))
    return per_node(keys, node_betas)


def _check_ti_budget(model, betas, n_nodes, n_samples, n_warmup, n_chains, kernel, n_leapfrog) -> None:
    """Refuse a TI run over the memory or time budget before any work: the prior draws (d + 1 floats each)
    and each node's loss and acceptance series (16 bytes a draw); nodes · n_chains · (burn_in + n_sweeps)
    moves of :func:`statmech.estimators._budget.gradients_per_move` gradients each."""
    n_points = max(n_nodes, 2 * np.unique(betas[betas > 0]).size) + 1
    draws = float(n_chains) * n_samples
    n_bytes = 8.0 * (model.dim + 1) * draws + 16.0 * n_points * draws
    moves = float(n_points) * n_chains * (n_warmup + n_samples)
    _budget.check_budget(
        f"TI with {n_points} nodes x {n_chains} chains x {n_warmup + n_samples} steps in d = {model.dim}", n_bytes,
        _budget.gradient_seconds(model, moves * _budget.gradients_per_move(kernel, n_leapfrog)),
        "use fewer nodes (n_nodes), chains (n_chains) or steps (n_sweeps, burn_in)")


def _thermodynamic_integration_with_moments(model, beta, *, n_nodes: int = 16, n_sweeps: int | None = None,
                                            burn_in: int | None = None, n_chains: int = 4, kernel: str = "nuts",
                                            n_leapfrog: int = 8, scale: float | None = None, seed: int = 0,
                                            n_samples: int | None = None, n_warmup: int | None = None):
    """ln Z(β) = ln Z₀ − ∫₀^β ⟨L⟩_b db, Z₀ = (2π/λ)^{d/2} (thermodynamic integration from the prior).

    The integral is taken in x = ln(1 + b/b₀), where (b + b₀)⟨L⟩_b is smooth
    (for a quadratic loss with curvature κ and b₀ = λ/κ it is constant), by
    Clenshaw–Curtis rules on the segments between requested β
    (:func:`statmech.estimators._integration.quadrature_plan`, ``n_nodes``
    intervals). The constant ⟨L⟩ at the top node is integrated exactly and
    only the rest by the rule. b₀ = ``scale``, by default λ d / tr ∇²L(θ₀)
    (clipped to [1e−4 β, β]). ⟨L⟩_b at b = 0 comes from exact prior draws;
    at each node b > 0 ``n_chains`` BlackJAX chains (``kernel`` "nuts",
    "hmc" with ``n_leapfrog`` steps, or "mala") start from prior draws, adapt
    step size and a diagonal mass matrix (``blackjax.window_adaptation``,
    ``burn_in`` steps), then record ``n_sweeps`` draws. Error bar: Γ-method
    stderr of ⟨L⟩ per node (:func:`statmech.stats.chain_statistics`),
    propagated through the weights; ``meta`` has the half-rule discretisation
    difference and warnings (as in the Ising "ti"). (Frenkel & Smit,
    *Understanding Molecular Simulation*, 2002, ch. 7; Gelman & Meng, Stat.
    Sci. 13, 163 (1998).)
    """

    started = time.perf_counter()
    betas, scalar = as_beta_array(beta)
    _check_sampling(_check_model(model), "ti", kernel)
    n_nodes = check_positive_int(n_nodes, "n_nodes", minimum=2)
    n_samples = check_positive_int(renamed_option("thermodynamic_integration", "n_samples", n_samples, "n_sweeps",
                                                  n_sweeps, 500), "n_sweeps", minimum=MIN_DRAWS)
    n_warmup = check_positive_int(renamed_option("thermodynamic_integration", "n_warmup", n_warmup, "burn_in",
                                                 burn_in, 500), "burn_in")
    n_chains = check_positive_int(n_chains, "n_chains")
    n_leapfrog, seed = _check_sampling_options(n_leapfrog, seed)
    _check_ti_budget(model, betas, n_nodes, n_samples, n_warmup, n_chains, kernel, n_leapfrog)
    lam, d = model.prior_precision, model.dim
    log_z0 = _log_z_prior(model)
    targets = np.unique(betas[betas > 0])
    if scale is None:
        with jax.enable_x64(True):
            curvature = float(jnp.trace(_curvature(model, jnp.asarray(model.initial_params()))))
        top = targets[-1] if targets.size else 1.0
        scale = lam * d / curvature if curvature > 0 else top
        scale = min(max(scale, 1e-4 * top), top)
    elif not (isinstance(scale, (int, float)) and scale > 0):
        raise ValueError(f"scale (b0 of the map x = ln(1 + b/b0)) must be a positive number, got {scale!r}")
    meta: dict[str, Any] = {"beta": betas[0] if scalar else betas, "n_sites": d, "seed": seed, "kernel": kernel,
                            "n_nodes": n_nodes, "n_sweeps": n_samples, "burn_in": n_warmup,
                            "n_chains": n_chains, "scale": scale, "log_z_prior": log_z0,
                            "stderr_method": "Gamma-method stderr of <L> per node, propagated through the "
                                             "quadrature weights; discretisation not included (see warnings)"}
    log_z = np.full(betas.shape, log_z0)
    stderr = np.zeros(betas.shape)
    key = jax.random.key(seed)
    prior_key, chain_key = jax.random.split(key)
    with jax.enable_x64(True):
        prior_losses = np.asarray(_loss_batch(model, _prior_draws(prior_key, model, n_chains * n_samples)))
    energy_zero = float(prior_losses.mean())
    energy_zero_se = float(prior_losses.std(ddof=1) / math.sqrt(prior_losses.size))
    # Var(L) at each requested β (for the specific heat): block jackknife of ⟨(L − L̄)²⟩ − ⟨L − L̄⟩²
    variance = np.full(betas.shape, float(prior_losses.var()))
    variance_se = np.full(betas.shape, float(np.std((prior_losses - energy_zero) ** 2) / math.sqrt(prior_losses.size)))
    notes: list[str] = []
    if targets.size:
        x_targets = np.log1p(targets / scale)
        x_nodes, W, w0, W_half, w0_half = quadrature_plan(x_targets, n_nodes)
        nodes = scale * np.expm1(x_nodes)
        for j, xt in enumerate(x_targets):   # the requested β must be nodes exactly
            nodes[np.argmin(np.abs(x_nodes - xt))] = targets[j]
        with jax.enable_x64(True):
            losses, acceptance, step_sizes = _ti_node_losses(
                model, chain_key, jnp.asarray(nodes), n_chains, n_warmup, n_samples, kernel, n_leapfrog)
        losses = np.asarray(losses, dtype=np.float64)
        energy, energy_se, tau = np.zeros(nodes.size), np.zeros(nodes.size), np.zeros(nodes.size)
        for k, b in enumerate(nodes):
            try:
                stats = chain_statistics(losses[k])
            except ValueError as error:
                raise ValueError(f"ti: node beta={b:.6g}: {error}; increase n_sweeps") from error
            energy[k], energy_se[k], tau[k] = stats.mean, stats.stderr, stats.tau_int
            notes.extend(f"node beta={b:.6g}: {w}" for w in stats.warnings)
        jac = nodes + scale          # db = (b + b0) dx
        all_values = np.concatenate([[energy_zero], energy])
        all_se = np.concatenate([[energy_zero_se], energy_se])
        integral, integral_se, difference, difference_se = (np.zeros(targets.size) for _ in range(4))
        for j, b in enumerate(targets):
            top = 1 + int(np.flatnonzero(nodes == b)[0])
            full = np.concatenate([[w0[j] * scale], W[j] * jac])
            half = np.concatenate([[w0_half[j] * scale], W_half[j] * jac])
            # ∫ (U − U_top) by the rule, ∫ U_top = b U_top exactly
            full[top] += b - full.sum()
            half[top] += b - half.sum()
            integral[j] = full @ all_values
            integral_se[j] = math.sqrt(np.sum(full**2 * all_se**2))
            difference[j] = (full - half) @ all_values
            difference_se[j] = math.sqrt(np.sum((full - half) ** 2 * all_se**2))
            if abs(difference[j]) - 2.0 * difference_se[j] > integral_se[j]:
                notes.append(f"beta={b:.6g}: the half-resolution quadrature differs by {difference[j]:.3g} "
                                f"(noise {difference_se[j]:.2g}), more than the statistical error "
                                f"{integral_se[j]:.2g}; increase n_nodes")
        where = np.searchsorted(targets, betas)
        positive = betas > 0
        log_z[positive] -= integral[where[positive]]
        stderr[positive] = integral_se[where[positive]]
        for i, b in enumerate(betas):
            if b > 0:
                series = losses[np.flatnonzero(nodes == b)[0]]
                centred = series - series.mean()
                result = jackknife(lambda a, a2: a2 - a**2, (centred, centred**2))
                variance[i], variance_se[i] = result.value, result.stderr
        at_beta = np.array([energy[np.flatnonzero(nodes == b)[0]] if b > 0 else energy_zero for b in betas])
        at_beta_se = np.array([energy_se[np.flatnonzero(nodes == b)[0]] if b > 0 else energy_zero_se
                               for b in betas])
        pick = lambda a: np.where(positive, a[np.minimum(where, a.size - 1)], 0.0)  # noqa: E731
        meta.update(nodes=nodes, node_energy=energy, node_energy_stderr=energy_se, node_tau_int=tau,
                    node_acceptance=np.asarray(acceptance).mean(axis=1),
                    node_step_size=np.asarray(step_sizes).mean(axis=1),
                    energy_at_beta=at_beta[0] if scalar else at_beta,
                    energy_at_beta_stderr=at_beta_se[0] if scalar else at_beta_se,
                    discretisation_difference=pick(difference)[0] if scalar else pick(difference),
                    discretisation_difference_stderr=pick(difference_se)[0] if scalar else pick(difference_se))
    else:
        at_beta, at_beta_se = np.full(betas.shape, energy_zero), np.full(betas.shape, energy_zero_se)
    meta.update(energy_beta_zero=energy_zero, warnings=tuple(notes), wall_time=time.perf_counter() - started)
    estimate = Estimate(log_z[0], stderr[0], "ti", meta) if scalar else Estimate(log_z, stderr, "ti", meta)
    return estimate, (at_beta, at_beta_se, variance, variance_se)


# ---------------------------------------------------------------- SMC
def _tuned_parameters(particles, step_size, acceptance, target, n_particles):
    """Next MCMC parameters from the population: diagonal inverse mass = particle variance (shrunk as in
    Stan toward 1e−3, pseudo-count 5), step size ×exp(2(acceptance − target)) (Buchholz, Chopin & Jacob,
    Bayesian Anal. 16, 745 (2021), §3.1)."""
    variance = jnp.var(particles, axis=0)
    variance = (n_particles / (n_particles + 5.0)) * variance + 1e-3 * (5.0 / (n_particles + 5.0))
    return step_size * jnp.exp(2.0 * (acceptance - target)), variance


@eqx.filter_jit
def _smc_runs(model, keys, beta, n_particles: int, kernel: str, n_leapfrog: int, n_mcmc_steps: int,
              target_ess: float, max_steps: int):
    """Independent adaptive tempered SMC runs (vmapped over ``keys``) from the prior to β.

    Returns per run: ln(Z(β)/Z₀), the number of tempering steps, final particles,
    final normalised weights, the final tempering parameter and a history dict
    (per step: t reached, the step size and inverse mass tuned for it, the
    acceptance of the moves; padded with NaN).
    """
    lam, d = model.prior_precision, model.dim
    step = _step_fn(kernel, n_leapfrog)
    target = TARGET_ACCEPTANCE[kernel]

    def logprior(t):
        return -0.5 * lam * jnp.sum(t**2)

    def loglikelihood(t):
        return -beta * model.loss(t)

    def one_run(key):
        init_key, loop_key = jax.random.split(key)
        particles = _prior_draws(init_key, model, n_particles)
        state = blackjax.smc.adaptive_tempered.init(particles)
        # initial steps in units of the prior scale: ε ≈ d^(−1/4) (HMC), τ ≈ 0.5 d^(−1/3) (MALA)
        step_size0 = jnp.asarray(0.5 * d ** (-1 / 3) if kernel == "mala" else d ** (-0.25), dtype=jnp.float64)
        imm0 = jnp.full((d,), 1.0 / lam, dtype=jnp.float64)
        history0 = {"t": jnp.full((max_steps,), jnp.nan, dtype=jnp.float64),
                    "step_size": jnp.full((max_steps,), jnp.nan, dtype=jnp.float64),
                    "acceptance": jnp.full((max_steps,), jnp.nan, dtype=jnp.float64),
                    "inverse_mass": jnp.full((max_steps, d), jnp.nan, dtype=jnp.float64)}

        def cond(carry):
            state, _, _, _, n, _ = carry
            return (state.tempering_param < 1.0) & (n < max_steps)

        def body(carry):
            state, step_size, imm, log_evidence, n, history = carry
            smc = blackjax.adaptive_tempered_smc(
                logprior, loglikelihood, step, blackjax.mala.init if kernel == "mala" else blackjax.hmc.init,
                {"step_size": step_size[None], "inverse_mass_matrix": imm[None]},
                blackjax.smc.resampling.systematic, target_ess, num_mcmc_steps=n_mcmc_steps)
            new_state, info = smc.step(jax.random.fold_in(loop_key, n), state)
            acceptance = jnp.mean(info.update_info.acceptance_rate)
            new_step, new_imm = _tuned_parameters(new_state.particles, step_size, acceptance, target, n_particles)
            # row n: the new tempering parameter and the parameters tuned for it
            history = {"t": history["t"].at[n].set(new_state.tempering_param),
                       "step_size": history["step_size"].at[n].set(new_step),
                       "acceptance": history["acceptance"].at[n].set(acceptance),
                       "inverse_mass": history["inverse_mass"].at[n].set(new_imm)}
            return new_state, new_step, new_imm, log_evidence + info.log_likelihood_increment, n + 1, history

        carry = (state, step_size0, imm0, jnp.zeros((), jnp.float64), jnp.zeros((), jnp.int32), history0)
        state, _, _, log_evidence, n, history = jax.lax.while_loop(cond, body, carry)
        history["initial_step_size"], history["initial_inverse_mass"] = step_size0, imm0
        return log_evidence, n, state.particles, state.weights, state.tempering_param, history

    return jax.vmap(one_run)(keys)


def _weighted_moments(losses, weights):
    """Self-normalised ⟨L⟩ and Var(L) with delta-method stderrs (weights sum to 1)."""
    mean = float(weights @ losses)
    centred = losses - mean
    variance = float(weights @ centred**2)
    mean_se = math.sqrt(float(weights**2 @ centred**2))
    variance_se = math.sqrt(float(weights**2 @ (centred**2 - variance) ** 2))
    return mean, mean_se, variance, variance_se


#: Copies of the particle array an SMC step holds (particles, proposals, momenta, gradients, resampled).
_SMC_PARTICLE_COPIES = 8


def _check_smc_budget(model, betas, n_particles, n_runs, n_mcmc_steps, max_steps, kernel, n_leapfrog) -> None:
    """Refuse an SMC run over the memory or time budget before any work: n_runs · n_particles particles
    (several copies of d floats, their weights and losses) and the per-step history (max_steps rows of
    d + 3 floats per run); time from one tempering step per β (a lower estimate: the adaptive schedule
    takes as many as it needs)."""
    d, particles = model.dim, float(n_runs) * n_particles
    n_bytes = 8.0 * particles * (_SMC_PARTICLE_COPIES * d + 4) + 8.0 * n_runs * max_steps * (d + 3)
    moves = particles * n_mcmc_steps * int(np.count_nonzero(betas))
    _budget.check_budget(
        f"SMC with {n_runs} runs x {n_particles} particles in d = {d}", n_bytes,
        _budget.gradient_seconds(model, moves * _budget.gradients_per_move(kernel, n_leapfrog)),
        "use fewer particles (n_particles), runs (n_runs) or MCMC steps (n_mcmc_steps)")


def _sequential_monte_carlo_with_moments(model, beta, *, n_particles: int = 256, n_runs: int = 16, n_mcmc_steps: int = 5,
                           kernel: str = "hmc", n_leapfrog: int = 8, target_ess: float = 0.5,
                           max_steps: int = 500, seed: int = 0):
    """ln Z(β) by adaptive tempered SMC (``blackjax.adaptive_tempered_smc``) from the prior.

    The tempered targets π_t ∝ exp(−(λ/2)|θ|²) exp(−t β L(θ)), t: 0 → 1, are
    bridged with the next t chosen so that the ESS of the incremental weights
    is ``target_ess``·n_particles (Jasra et al., Scand. J. Stat. 38, 1 (2011));
    particles are resampled (systematic) and moved by ``n_mcmc_steps``
    BlackJAX ``kernel`` steps whose diagonal mass matrix and step size are
    tuned from the population after each step (Buchholz, Chopin & Jacob
    2021). ln Z = ln Z₀ + Σ_t ln(mean incremental weight) (Del Moral, Doucet
    & Jasra, JRSS B 68, 411 (2006)). Error bar: ``n_runs`` independent runs;
    the value is their mean and the stderr their standard deviation / √n_runs.
    """

    started = time.perf_counter()
    betas, scalar = as_beta_array(beta)
    _check_sampling(_check_model(model), "smc", kernel)
    n_particles = check_positive_int(n_particles, "n_particles", minimum=2)
    n_runs = check_positive_int(n_runs, "n_runs", minimum=2)
    n_mcmc_steps = check_positive_int(n_mcmc_steps, "n_mcmc_steps")
    max_steps = check_positive_int(max_steps, "max_steps")
    n_leapfrog, seed = _check_sampling_options(n_leapfrog, seed)
    if not (isinstance(target_ess, float) and 0 < target_ess < 1):
        raise ValueError(f"target_ess must be a float in (0, 1), e.g. 0.5, got {target_ess!r}")
    _check_smc_budget(model, betas, n_particles, n_runs, n_mcmc_steps, max_steps, kernel, n_leapfrog)
    log_z0 = _log_z_prior(model)
    values, errors = np.full(betas.shape, log_z0), np.zeros(betas.shape)
    energy, energy_se, variance, variance_se = (np.zeros(betas.shape) for _ in range(4))
    runs_log_z, n_steps, schedules, notes = [], [], [], []
    for i, b in enumerate(betas):
        key = jax.random.key(seed) if betas.size == 1 else jax.random.fold_in(jax.random.key(seed), i)
        if b == 0:
            with jax.enable_x64(True):
                losses = np.asarray(_loss_batch(model, _prior_draws(key, model, n_particles * n_runs)))
            energy[i], variance[i] = losses.mean(), losses.var()
            energy_se[i] = losses.std(ddof=1) / math.sqrt(losses.size)
            variance_se[i] = math.sqrt(np.var((losses - energy[i]) ** 2) / losses.size)
            runs_log_z.append(np.full(n_runs, log_z0))
            n_steps.append(np.zeros(n_runs, dtype=int))
            schedules.append(None)
            continue
        with jax.enable_x64(True):
            log_ratio, steps, particles, weights, reached, history = _smc_runs(
                model, jax.random.split(key, n_runs), jnp.float64(b), n_particles, kernel, n_leapfrog,
                n_mcmc_steps, float(target_ess), max_steps)
            losses = np.asarray(jax.vmap(lambda p: _loss_batch(model, p))(particles), dtype=np.float64)
        log_ratio, reached = np.asarray(log_ratio, dtype=np.float64), np.asarray(reached)
        if np.any(reached < 1.0):
            raise ValueError(f"smc: beta={b:g} not reached in max_steps={max_steps} tempering steps "
                             f"(stopped at t = {reached.min():.3g}); raise max_steps or target_ess")
        if not np.all(np.isfinite(log_ratio)):
            raise ValueError(f"smc: a run gave a non-finite log evidence at beta={b:g}; the MCMC moves "
                             "diverged; try kernel='nuts', more n_mcmc_steps or a larger prior_precision")
        values[i] = log_z0 + log_ratio.mean()
        errors[i] = log_ratio.std(ddof=1) / math.sqrt(n_runs)
        per_run = np.array([_weighted_moments(losses[r], np.asarray(weights[r], dtype=np.float64))
                            for r in range(n_runs)])
        energy[i], variance[i] = per_run[:, 0].mean(), per_run[:, 2].mean()
        energy_se[i] = per_run[:, 0].std(ddof=1) / math.sqrt(n_runs)
        variance_se[i] = per_run[:, 2].std(ddof=1) / math.sqrt(n_runs)
        runs_log_z.append(log_z0 + log_ratio)
        n_steps.append(np.asarray(steps))
        schedules.append(np.asarray(history["t"][0])[: int(steps[0])])
        final_acceptance = np.asarray(history["acceptance"])[np.arange(n_runs), np.asarray(steps) - 1]
        if np.any(final_acceptance < 0.1):
            notes.append(f"beta={b:g}: final MCMC acceptance {final_acceptance.min():.2f} < 0.1; "
                            "the particles may not move; try kernel='nuts' or more n_mcmc_steps")
    pick = (lambda a: a[0]) if scalar else (lambda a: a)
    meta = {"beta": pick(betas), "n_sites": model.dim, "seed": seed, "kernel": kernel,
            "n_particles": n_particles, "n_runs": n_runs, "n_mcmc_steps": n_mcmc_steps,
            "target_ess": target_ess, "log_z_prior": log_z0, "runs_log_z": pick(runs_log_z),
            "n_tempering_steps": pick(n_steps), "schedule_first_run": pick(schedules),
            "stderr_method": f"standard deviation of ln Z over {n_runs} independent runs / sqrt(n_runs)",
            "warnings": tuple(notes), "wall_time": time.perf_counter() - started}
    estimate = Estimate(pick(values), pick(errors), "smc", meta)
    return estimate, (energy, energy_se, variance, variance_se)


# ---------------------------------------------------------------- AIS
@eqx.filter_jit
def _ais_run(model, key, beta, schedule, step_sizes, inverse_masses, n_particles: int, kernel: str,
             n_leapfrog: int, n_mcmc_steps: int):
    """AIS with a fixed schedule t_0 = 0 < … < t_K = 1 and fixed per-step kernel parameters."""
    lam = model.prior_precision
    step = _step_fn(kernel, n_leapfrog)
    init = blackjax.mala.init if kernel == "mala" else blackjax.hmc.init
    init_key, run_key = jax.random.split(key)
    particles = _prior_draws(init_key, model, n_particles)

    def transition(carry, inputs):
        positions, log_w = carry
        k, t_prev, t_next, step_size, imm = inputs
        log_w = log_w - (t_next - t_prev) * beta * jax.vmap(model.loss)(positions)
        logdensity = lambda th: -t_next * beta * model.loss(th) - 0.5 * lam * jnp.sum(th**2)  # noqa: E731

        def move(key, position):
            state = init(position, logdensity)

            def one(state, k):
                state, info = step(k, state, logdensity, step_size, imm)
                return state, info.acceptance_rate

            state, acceptance = jax.lax.scan(one, state, jax.random.split(key, n_mcmc_steps))
            return state.position, jnp.mean(acceptance)

        keys = jax.random.split(jax.random.fold_in(run_key, k), n_particles)
        positions, acceptance = jax.vmap(move)(keys, positions)
        return (positions, log_w), jnp.mean(acceptance)

    n = schedule.size - 1
    inputs = (jnp.arange(n), schedule[:-1], schedule[1:], step_sizes, inverse_masses)
    (positions, log_w), acceptance = jax.lax.scan(transition, (particles, jnp.zeros(n_particles)), inputs)
    return log_w, positions, acceptance


def _check_ais_budget(model, betas, n_particles, n_steps, n_mcmc_steps, n_pilot, kernel, n_leapfrog) -> None:
    """Refuse an AIS run over the memory or time budget before any work: the walkers (several copies of
    d floats, as in SMC), the pilot's particles and history, and the schedule with its per-step step
    sizes, mass matrices and acceptances (d + 4 floats a step); per β > 0,
    n_particles · n_steps · n_mcmc_steps moves (the pilot, at least one step, added)."""
    d = model.dim
    n_bytes = (8.0 * (n_particles + n_pilot) * (_SMC_PARTICLE_COPIES * d + 4) + 8.0 * 500 * (d + 3)
               + 8.0 * (n_steps + 1) * (d + 4))
    moves = (float(n_particles) * n_steps + n_pilot) * n_mcmc_steps * int(np.count_nonzero(betas))
    _budget.check_budget(
        f"AIS with {n_particles} walkers x {n_steps} steps in d = {d}", n_bytes,
        _budget.gradient_seconds(model, moves * _budget.gradients_per_move(kernel, n_leapfrog)),
        "use fewer walkers (n_particles), steps (n_steps) or MCMC steps (n_mcmc_steps)")


def _annealed_importance_sampling_with_moments(model, beta, *, n_particles: int = 256, n_steps: int = 64,
                                 n_mcmc_steps: int = 2, kernel: str = "hmc", n_leapfrog: int = 8,
                                 n_pilot: int = 128, seed: int = 0):
    """ln Z(β) by annealed importance sampling from the prior (Neal, Stat. Comput. 11, 125 (2001)).

    ``n_particles`` independent walkers start from exact prior draws and
    anneal through π_t ∝ exp(−(λ/2)|θ|² − t β L(θ)), t_0 = 0 < … < t_K = 1
    (K = ``n_steps``), accumulating ln w = −β Σ_k (t_k − t_{k−1}) L(θ_{k−1})
    and moving with ``n_mcmc_steps`` BlackJAX ``kernel`` steps invariant for
    π_{t_k}. The schedule and the kernel's step size and diagonal mass
    matrix come from a pilot adaptive tempered SMC run (``n_pilot``
    particles, independent random numbers), interpolated to K steps, so the
    AIS weights stay unbiased for Z. ln Z = ln Z₀ + ln mean(w); stderr by the
    delta method, sqrt(Σ p_i² − 1/N) with p the normalised weights (it
    underestimates when the weights are heavy-tailed: ``meta["ess"]`` should
    be a good fraction of N).
    """

    started = time.perf_counter()
    betas, scalar = as_beta_array(beta)
    _check_sampling(_check_model(model), "ais", kernel)
    n_particles = check_positive_int(n_particles, "n_particles", minimum=2)
    n_steps = check_positive_int(n_steps, "n_steps")
    n_mcmc_steps = check_positive_int(n_mcmc_steps, "n_mcmc_steps")
    n_pilot = check_positive_int(n_pilot, "n_pilot", minimum=2)
    n_leapfrog, seed = _check_sampling_options(n_leapfrog, seed)
    _check_ais_budget(model, betas, n_particles, n_steps, n_mcmc_steps, n_pilot, kernel, n_leapfrog)
    log_z0 = _log_z_prior(model)
    values, errors = np.full(betas.shape, log_z0), np.zeros(betas.shape)
    energy, energy_se, variance, variance_se = (np.zeros(betas.shape) for _ in range(4))
    ess, pilot_steps, notes = np.full(betas.shape, float(n_particles)), np.zeros(betas.shape, int), []
    for i, b in enumerate(betas):
        key = jax.random.key(seed) if betas.size == 1 else jax.random.fold_in(jax.random.key(seed), i)
        pilot_key, run_key = jax.random.split(key)
        if b == 0:
            with jax.enable_x64(True):
                losses = np.asarray(_loss_batch(model, _prior_draws(run_key, model, n_particles)))
            weights = np.full(n_particles, 1.0 / n_particles)
            energy[i], energy_se[i], variance[i], variance_se[i] = _weighted_moments(losses, weights)
            continue
        with jax.enable_x64(True):
            *_, reached, pilot = _smc_runs(model, pilot_key[None], jnp.float64(b), n_pilot, kernel, n_leapfrog,
                                           n_mcmc_steps, 0.5, 500)
            if float(reached[0]) < 1.0:
                raise ValueError(f"ais: the pilot SMC did not reach beta={b:g}; use a larger prior_precision")
            pilot = jax.tree.map(lambda a: np.asarray(a[0], dtype=np.float64), pilot)
            done = np.isfinite(pilot["t"])
            # the pilot's tempering parameters 0 = t_0 < t_1 < … < t_P = 1, and the parameters tuned at each
            t_pilot = np.concatenate([[0.0], pilot["t"][done]])
            step_table = np.concatenate([[pilot["initial_step_size"]], pilot["step_size"][done]])
            imm_table = np.concatenate([pilot["initial_inverse_mass"][None], pilot["inverse_mass"][done]])
            # AIS schedule: the pilot's (ESS-adapted) schedule, linearly interpolated to n_steps steps
            schedule = np.interp(np.linspace(0.0, t_pilot.size - 1, n_steps + 1), np.arange(t_pilot.size), t_pilot)
            schedule[0], schedule[-1] = 0.0, 1.0
            # moves at t use the parameters the pilot tuned at the largest t_p <= t
            index = np.clip(np.searchsorted(t_pilot, schedule[1:], side="right") - 1, 0, t_pilot.size - 1)
            log_w, positions, acceptance = _ais_run(
                model, run_key, jnp.float64(b), jnp.asarray(schedule), jnp.asarray(step_table[index]),
                jnp.asarray(imm_table[index]), n_particles, kernel, n_leapfrog, n_mcmc_steps)
            log_w = np.asarray(log_w, dtype=np.float64)
            losses = np.asarray(_loss_batch(model, positions), dtype=np.float64)
        shift = log_w.max()
        p = np.exp(log_w - shift)
        total = p.sum()
        p /= total
        values[i] = log_z0 + shift + math.log(total / n_particles)
        errors[i] = math.sqrt(max(float(p @ p) - 1.0 / n_particles, 0.0))
        ess[i] = 1.0 / float(p @ p)
        pilot_steps[i] = t_pilot.size - 1
        energy[i], energy_se[i], variance[i], variance_se[i] = _weighted_moments(losses, p)
        if ess[i] < 0.05 * n_particles:
            notes.append(f"beta={b:g}: effective sample size {ess[i]:.1f} of {n_particles} walkers; the "
                            "delta-method error bar is unreliable; raise n_steps or n_mcmc_steps")
        if np.min(np.asarray(acceptance)) < 0.1:
            notes.append(f"beta={b:g}: MCMC acceptance fell to {np.min(np.asarray(acceptance)):.2f}")
    pick = (lambda a: a[0]) if scalar else (lambda a: a)
    meta = {"beta": pick(betas), "n_sites": model.dim, "seed": seed, "kernel": kernel,
            "n_particles": n_particles, "n_steps": n_steps, "n_mcmc_steps": n_mcmc_steps, "n_pilot": n_pilot,
            "log_z_prior": log_z0, "ess": pick(ess), "pilot_tempering_steps": pick(pilot_steps),
            "stderr_method": "delta method on the importance weights: sqrt(sum p_i^2 - 1/N)",
            "warnings": tuple(notes), "wall_time": time.perf_counter() - started}
    estimate = Estimate(pick(values), pick(errors), "ais", meta)
    return estimate, (energy, energy_se, variance, variance_se)


# ---------------------------------------------------------------- Thermo of the sampling methods
def sampled_thermo(model, betas, scalar, estimate, energy, energy_se, variance, variance_se):
    """A :class:`~statmech.thermo.Thermo` with stderrs from a sampled ln Z and ⟨L⟩, Var(L) at each β.

    S = ln Z + β⟨L⟩ (stderr sqrt(δlnZ² + β²δU²), the covariance of the two
    neglected), C = β² Var(L); F and the densities (per weight) come from
    :meth:`~statmech.Thermo.from_estimates`.
    """

    d = model.dim
    log_z, log_z_se = np.atleast_1d(estimate.value), np.atleast_1d(estimate.stderr)
    info = {"beta": betas[0] if scalar else betas, "n_sites": d, **dict(estimate.meta)}

    def est(value, error):
        value, error = np.asarray(value, dtype=np.float64), np.asarray(error, dtype=np.float64)
        return Estimate(value[0] if scalar else value, error[0] if scalar else error, estimate.method, info)

    entropy = log_z + betas * energy
    entropy_se = np.sqrt(log_z_se**2 + (betas * energy_se) ** 2)
    heat, heat_se = betas**2 * variance, betas**2 * variance_se
    return Thermo.from_estimates(
        betas[0] if scalar else betas, d, estimate.method, meta=dict(estimate.meta),
        log_z=est(log_z, log_z_se), energy=est(energy, energy_se), entropy=est(entropy, entropy_se),
        specific_heat=est(heat, heat_se))


def _sampling_method(name, with_moments):
    def log_z_fn(model, beta, **options):
        return with_moments(model, beta, **options)[0]

    def thermo_fn(model, beta, **options):
        betas, scalar = as_beta_array(beta)
        estimate, moments = with_moments(model, beta, **options)
        return sampled_thermo(model, betas, scalar, estimate, *moments)

    def why_not(model, options):
        if model.prior_precision <= 0:
            return "it anneals from the Gaussian prior, which needs prior_precision > 0"
        return None

    return Method(name=name, exact=False, why_not=why_not, log_z_fn=log_z_fn, thermo_fn=thermo_fn,
                  model_types=(LossModel,))


# ---------------------------------------------------------------- public: the Estimate alone
def _estimate_only(with_moments, name: str):
    """The public estimator: ``with_moments``'s log Z Estimate, with its signature and docstring."""

    @functools.wraps(with_moments)
    def estimator(model, beta, **options):
        return with_moments(model, beta, **options)[0]

    estimator.__name__ = estimator.__qualname__ = name
    return estimator


thermodynamic_integration = _estimate_only(_thermodynamic_integration_with_moments, "thermodynamic_integration")
sequential_monte_carlo = _estimate_only(_sequential_monte_carlo_with_moments, "sequential_monte_carlo")
annealed_importance_sampling = _estimate_only(_annealed_importance_sampling_with_moments,
                                              "annealed_importance_sampling")


# ===================================================================== registration
# Registered by statmech._registry (this module does not import the registry).
METHODS: list[Method] = [
    _sampling_method("ti", _thermodynamic_integration_with_moments),
    _sampling_method("ais", _annealed_importance_sampling_with_moments),
    _sampling_method("smc", _sequential_monte_carlo_with_moments),
]
