"""Coverage of the log Z error bars of the sampled estimators, against exact values.

For every estimator (at the budget given below) and every model of a small
exact test set, run ``--seeds`` independent seeds, take z = (estimate − exact)
/ stderr, and print one table row per estimator (all models pooled) and, with
``--per-model``, one per (estimator, model):

    method | budget | runs | rms z | mean z | 1σ coverage | 2σ coverage

Well-calibrated error bars give rms z ≈ 1, 1σ coverage ≈ 0.683 and 2σ
coverage ≈ 0.954 (for a Gaussian error; the spread-over-runs error bars of
"pa" and "wang-landau" follow Student's t, see docs/guides/estimators.md).

    python examples/estimator_coverage.py                  # the table of docs/guides/estimators.md
    python examples/estimator_coverage.py --methods ais ti --seeds 20 --per-model
    python examples/estimator_coverage.py --methods mbar --cases 1 --per-model   # the 8×8 torus

Exact references: Kaufman's solution (4×4 and 8×8 tori), the transfer matrix
of a periodic chain in a field, and brute-force enumeration (SK, N = 12).
The whole table takes about 25 CPU minutes.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import statmech as sm
from statmech import testing
from statmech.estimators._annealing import annealed_importance_sampling, population_annealing
from statmech.estimators._integration import thermodynamic_integration
from statmech.estimators._mbar import mbar_free_energy
from statmech.estimators._wang_landau import wang_landau

BETA_C = float(np.log1p(np.sqrt(2.0)) / 2.0)
#: The models of the table (the 8×8 torus, index 1, costs 4× more per run: ask for it with --cases 1).
DEFAULT_CASES = (0, 2, 3)


def test_set():
    """(name, model, β, exact log Z) of the exact test set."""
    square = sm.Ising.square(4)
    square8 = sm.Ising.square(8)
    chain = sm.Ising.chain(12, J=1.0, h=0.5)
    rng = np.random.default_rng(12)
    couplings = np.triu(rng.normal(0.0, 1.0 / np.sqrt(12), (12, 12)), 1)
    sk = sm.Ising.from_couplings(couplings + couplings.T)
    return [
        ("square 4x4, beta_c", square, BETA_C, float(sm.log_z(square, BETA_C, method="kaufman"))),
        ("square 8x8, beta_c", square8, BETA_C, float(sm.log_z(square8, BETA_C, method="kaufman"))),
        ("chain 12, h=0.5, beta=0.8", chain, 0.8, testing.periodic_chain_log_z(12, 1.0, 0.5, 0.8)),
        ("SK 12, beta=1.5", sk, 1.5, float(testing.brute_force_log_z(sk, 1.5))),
    ]


#: method -> (budget as printed, function (model, beta, seed) -> Estimate, integer energies only?)
ESTIMATORS = {
    "ais": ("n_chains=256, n_steps=1000 (defaults)",
            lambda m, b, s: annealed_importance_sampling(m, b, seed=s), False),
    "ais-64": ("n_chains=64, n_steps=200",
               lambda m, b, s: annealed_importance_sampling(m, b, n_chains=64, n_steps=200, seed=s), False),
    "ti": ("n_nodes=32, n_sweeps=1000, n_chains=4 (defaults)",
           lambda m, b, s: thermodynamic_integration(m, b, seed=s), False),
    "ti-400": ("n_sweeps=400",
               lambda m, b, s: thermodynamic_integration(m, b, n_sweeps=400, seed=s), False),
    "pa": ("population=512, n_runs=8 (defaults)",
           lambda m, b, s: population_annealing(m, b, seed=s).log_z, False),
    "pa-64": ("population=64, n_runs=4",
              lambda m, b, s: population_annealing(m, b, population=64, n_runs=4, seed=s).log_z, False),
    "mbar": ("n_sweeps=1000",
             lambda m, b, s: mbar_free_energy(m, b, n_sweeps=1000, seed=s).log_z(b), False),
    "mbar-4000": ("n_sweeps=4000 (default)",
                  lambda m, b, s: mbar_free_energy(m, b, seed=s).log_z(b), False),
    "wang-landau": ("n_sweeps=20000, n_walkers=8 (defaults)",
                    lambda m, b, s: wang_landau(m, seed=s).log_z(b), True),
}


def measure(method, cases, seeds, first_seed=0):
    """z-scores (len(cases), seeds) of ``method`` on ``cases`` with seeds first_seed, first_seed + 1, …;
    NaN where the model is not supported."""
    _, run, integer_only = ESTIMATORS[method]
    z = np.full((len(cases), seeds), np.nan)
    for i, (name, model, beta, exact) in enumerate(cases):
        if integer_only and name.startswith("SK"):
            continue
        for j in range(seeds):
            z[i, j] = testing.z_score(run(model, beta, first_seed + j), exact)
    return z


def row(method, budget, z):
    c = testing.coverage(z[np.isfinite(z)])
    return (f"| `{method}` | {budget} | {c.n} | {c.rms_z:.2f} | {c.mean_z:+.2f} | {c.one_sigma:.2f} | "
            f"{c.two_sigma:.2f} |")


BETA_C_3D = 0.2216544


def binder_coverage(L, burn_in, seeds, reference_steps=300_000):
    """z-scores of U₄ from ``sm.thermo`` (Wolff, 4 chains): 2D L×L at β_c by enumeration when L <= 4,
    else the L³ cube at β_c against one run of 8 chains × ``reference_steps`` steps."""
    if L <= 4:
        model, beta, n_sweeps = sm.Ising.square(L), BETA_C, 1000
        p = testing.boltzmann_probabilities(model, beta)
        m = testing.all_spin_states(model.n_sites).sum(axis=1).astype(np.float64)
        exact, exact_se = 1.0 - (p @ m**4) / (3.0 * (p @ m**2) ** 2), 0.0
        print(f"2D L = {L}, beta_c: exact U4 = {exact:.5f}")
    else:
        model, beta, n_sweeps = sm.Ising.cubic(L), BETA_C_3D, 4000
        reference = sm.thermo(model, beta, method="wolff", n_sweeps=reference_steps, n_chains=8, seed=10**6)
        exact, exact_se = float(reference.binder_cumulant.value), float(reference.binder_cumulant.stderr)
        print(f"3D L = {L}, beta_c: reference U4 = {exact:.5f} +- {exact_se:.5f} (8 x {reference_steps} steps)")
    values, errors = [], []
    for seed in range(seeds):
        u4 = sm.thermo(model, beta, method="wolff", n_sweeps=n_sweeps, burn_in=burn_in, seed=seed).binder_cumulant
        values.append(float(u4.value))
        errors.append(float(u4.stderr))
    values, errors = np.array(values), np.array(errors)
    c = testing.coverage((values - exact) / np.hypot(errors, exact_se))
    print(f"{n_sweeps} steps x 4 chains, burn_in {burn_in}: runs {c.n}, rms z {c.rms_z:.2f}, mean z {c.mean_z:+.2f}, "
          f"1 sigma {c.one_sigma:.2f}, 2 sigma {c.two_sigma:.2f}; spread / rms error bar "
          f"{np.std(values, ddof=1) / np.sqrt(np.mean(errors**2)):.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=["ais", "ti", "pa", "mbar", "mbar-4000", "wang-landau"],
                        choices=sorted(ESTIMATORS))
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds first-seed, first-seed + 1, ... (default 0)")
    parser.add_argument("--cases", nargs="+", type=int, help="indices into test_set() (default: 0 2 3)")
    parser.add_argument("--per-model", action="store_true", help="also print one row per (method, model)")
    parser.add_argument("--save", help="write the z-scores to this .npz file")
    parser.add_argument("--binder", type=int, metavar="L",
                        help="instead: coverage of the Binder cumulant's error bar (L <= 4: 2D, exact; else 3D)")
    parser.add_argument("--burn-in", type=int, help="with --binder: burn-in steps (default sm.thermo's n_sweeps // 5)")
    args = parser.parse_args(argv)
    if args.binder:
        binder_coverage(args.binder, args.burn_in, args.seeds)
        return
    cases = test_set()
    cases = [cases[i] for i in (args.cases if args.cases else DEFAULT_CASES)]
    print("| method | budget | runs | rms z | mean z | 1σ coverage | 2σ coverage |")
    print("|---|---|---|---|---|---|---|")
    saved = {}
    for method in args.methods:
        started = time.perf_counter()
        z = measure(method, cases, args.seeds, args.first_seed)
        saved[method] = z
        budget = ESTIMATORS[method][0]
        print(row(method, budget, z), flush=True)
        if args.per_model:
            for (name, *_), zi in zip(cases, z):
                if np.isfinite(zi).any():
                    print(row(method, name, zi), flush=True)
            print(f"<!-- {method}: {time.perf_counter() - started:.0f} s -->", flush=True)
    if args.save:
        np.savez(args.save, **{k.replace("-", "_"): v for k, v in saved.items()})


if __name__ == "__main__":
    main()
