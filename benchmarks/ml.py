"""ln Z estimators for loss models: error vs wall time, against BlackJAX's adaptive tempered SMC used directly.

usage: python benchmarks/ml.py [--quick]

Part 1: logistic regression, d = 2 (one feature + intercept, n = 50 synthetic
points), β = 1, λ = 1. Reference ln Z from ``method="quadrature"`` (~1e-12).
For "ti", "ais", "smc" through ``sm.log_z`` (2–3 budgets each) and for a
direct use of ``blackjax.adaptive_tempered_smc`` (prior as the initial
distribution, log-likelihood −β L(θ), HMC moves with fixed step size and
identity mass, as a user would write it from the BlackJAX docs; 8
independent runs, ln Z = ln Z_prior + mean Σ log-evidence increments,
stderr = sd/√8) it prints |error|, the reported stderr and the wall time.

Part 2: an MLP (2 inputs, 5 tanh units, 1 output: d = 21, n = 40 synthetic
points, squared loss, β = 1, λ = 1): no reference exists, so it prints each
estimator's ln Z ± stderr (the last budget of Part 1 for each), its
deviation from the precision-weighted mean of all estimates, and the wall
time. ``--quick``: one budget per method in Part 1, only "smc" and the
direct BlackJAX SMC in Part 2 (compilation dominates the run time).

Wall times exclude compilation: each configuration runs once (seed 0) to
compile, then is timed on seed 1 (the estimate reported is the timed one).
"""
from __future__ import annotations

import math
import sys
import time

import blackjax
import jax
import jax.numpy as jnp
import numpy as np

import statmech as sm

jax.config.update("jax_enable_x64", True)


def logistic_model():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 1))
    y = (1.5 * X[:, 0] + 0.5 + rng.normal(size=50) > 0).astype(float)
    return sm.ml.LogisticRegression(X, y, prior_precision=1.0, fit_intercept=True)


def mlp_model():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 2))
    y = np.sin(1.5 * X[:, 0]) * X[:, 1] + 0.2 * rng.normal(size=40)
    return sm.ml.MLP(X, y, hidden=(5,), loss="squared", prior_precision=1.0, seed=0)


# ------------------------------------------------------------------ BlackJAX directly
def blackjax_tempered_smc(model, beta, n_particles, n_runs=8, n_mcmc_steps=5, step_size=0.1, n_leapfrog=10):
    """ln Z by ``blackjax.adaptive_tempered_smc`` written directly (no statmech tuning).

    Initial particles: exact draws of the normalised prior N(0, I/λ); tempered
    targets prior × exp(t·(−β L)); Σ log_likelihood_increment estimates
    ln[Z(β)/Z(0)], and ln Z(0) = (d/2) ln(2π/λ). Returns run(seed) -> (ln Z, stderr)
    (compiled once, on the first call).
    """
    lam, d = model.prior_precision, model.dim
    logprior = lambda t: -0.5 * lam * jnp.sum(t**2)  # noqa: E731
    loglikelihood = lambda t: -beta * model.loss(t)  # noqa: E731
    smc = blackjax.adaptive_tempered_smc(
        logprior, loglikelihood, blackjax.hmc.build_kernel(), blackjax.hmc.init,
        {"step_size": jnp.array([step_size]), "inverse_mass_matrix": jnp.ones((1, d)),
         "num_integration_steps": jnp.array([n_leapfrog])},
        blackjax.smc.resampling.systematic, 0.5, num_mcmc_steps=n_mcmc_steps)

    def one_run(key):
        init_key, loop_key = jax.random.split(key)
        state = smc.init(jax.random.normal(init_key, (n_particles, d)) / math.sqrt(lam))

        def cond(carry):
            return (carry[0].tempering_param < 1.0) & (carry[2] < 1000)

        def body(carry):
            state, log_evidence, n = carry
            state, info = smc.step(jax.random.fold_in(loop_key, n), state)
            return state, log_evidence + info.log_likelihood_increment, n + 1

        _, log_evidence, n = jax.lax.while_loop(cond, body, (state, jnp.zeros(()), jnp.zeros((), jnp.int32)))
        return log_evidence, n

    all_runs = jax.jit(jax.vmap(one_run))
    log_z_prior = 0.5 * d * math.log(2 * math.pi / lam)

    def run(seed):
        runs, _ = all_runs(jax.random.split(jax.random.key(seed), n_runs))
        runs = np.asarray(runs)
        return log_z_prior + runs.mean(), runs.std(ddof=1) / math.sqrt(n_runs)

    return run


# ------------------------------------------------------------------ timing
def timed(function):
    """(value, stderr, seconds) of function(seed=1) after a compiling call function(seed=0)."""
    function(seed=0)
    start = time.perf_counter()
    value, stderr = function(seed=1)
    return value, stderr, time.perf_counter() - start


def ours(model, method, **budget):
    def run(seed):
        estimate = sm.log_z(model, 1.0, method=method, seed=seed, **budget)
        return float(estimate.value), float(estimate.stderr)
    return run


def direct(model, **budget):
    return blackjax_tempered_smc(model, 1.0, **budget)


def configurations(model, quick):
    if quick:
        return [
            ("ti", "nodes=8, 200 draws x 2 chains", ours(model, "ti", n_nodes=8, n_sweeps=200, burn_in=200,
                                                          n_chains=2)),
            ("ais", "128 walkers x 32 steps", ours(model, "ais", n_particles=128, n_steps=32)),
            ("smc", "128 particles x 8 runs", ours(model, "smc", n_particles=128, n_runs=8)),
            ("blackjax smc", "128 particles x 8 runs", direct(model, n_particles=128)),
        ]
    return [
        ("ti", "nodes=8, 200 draws x 2 chains", ours(model, "ti", n_nodes=8, n_sweeps=200, burn_in=200,
                                                      n_chains=2)),
        ("ti", "nodes=16, 500 draws x 4 chains", ours(model, "ti", n_nodes=16, n_sweeps=500, burn_in=500,
                                                       n_chains=4)),
        ("ais", "128 walkers x 32 steps", ours(model, "ais", n_particles=128, n_steps=32)),
        ("ais", "512 walkers x 128 steps", ours(model, "ais", n_particles=512, n_steps=128)),
        ("smc", "128 particles x 8 runs", ours(model, "smc", n_particles=128, n_runs=8)),
        ("smc", "512 particles x 16 runs", ours(model, "smc", n_particles=512, n_runs=16)),
        ("blackjax smc", "128 particles x 8 runs", direct(model, n_particles=128)),
        ("blackjax smc", "512 particles x 8 runs", direct(model, n_particles=512)),
    ]


def logistic_table(quick):
    model = logistic_model()
    reference = float(sm.log_z(model, 1.0, method="quadrature"))
    print(f"\nPart 1: logistic regression d = {model.dim}, n = 50, beta = 1, lambda = 1; "
          f"ln Z (quadrature) = {reference:.10f}")
    print(f"{'method':<14}{'budget':<34}{'|error|':>10}{'stderr':>10}{'|err|/se':>10}{'seconds':>10}")
    for method, budget, run in configurations(model, quick):
        value, stderr, seconds = timed(run)
        error = abs(value - reference)
        print(f"{method:<14}{budget:<34}{error:>10.2e}{stderr:>10.2e}{error / stderr:>10.2f}{seconds:>10.3f}")


def mlp_table(quick):
    model = mlp_model()
    print(f"\nPart 2: MLP 2-5-1 tanh, d = {model.dim}, n = 40, beta = 1, lambda = 1 (no reference: spread)")
    rows = []
    # one budget per method (the larger one); --quick: only the two SMC implementations (compilation time)
    chosen = {}
    for method, budget, run in configurations(model, quick):
        chosen[method] = (method, budget, run)
    if quick:
        chosen = {key: chosen[key] for key in ("smc", "blackjax smc")}
    for method, budget, run in chosen.values():
        value, stderr, seconds = timed(run)
        rows.append((method, budget, value, stderr, seconds))
    values = np.array([r[2] for r in rows])
    weights = 1.0 / np.array([r[3] for r in rows]) ** 2
    pooled = float(np.sum(weights * values) / np.sum(weights))
    print(f"{'method':<14}{'budget':<34}{'ln Z':>12}{'stderr':>10}{'ln Z - pooled':>15}{'seconds':>10}")
    for method, budget, value, stderr, seconds in rows:
        print(f"{method:<14}{budget:<34}{value:>12.4f}{stderr:>10.2e}{value - pooled:>15.3e}{seconds:>10.3f}")
    print(f"precision-weighted mean {pooled:.4f}; spread (max - min) {values.max() - values.min():.3e}")


def main():
    quick = "--quick" in sys.argv
    started = time.perf_counter()
    print(f"jax {jax.__version__}, blackjax {blackjax.__version__}, devices {jax.devices()}")
    logistic_table(quick)
    mlp_table(quick)
    print(f"\ntotal wall time {time.perf_counter() - started:.1f} s (compilation included)")


if __name__ == "__main__":
    main()
