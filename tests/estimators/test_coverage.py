"""One-sigma coverage of every sampled log Z estimator (and of the Binder cumulant) against exact values.

Each test runs an estimator over fixed seeds on a model with an exact answer,
counts how often |estimate − exact| < stderr, and applies a two-sided
binomial test against the coverage the error bar promises: 0.6827 for a
Gaussian error, and P(|t| < 1) for the error bars that come from the spread
of n independent runs or walkers (Student's t with n − 1 degrees of freedom:
0.649 for 8). The test fails when p < 0.01 (the false-fail rate). Negative
control, on the same runs: error bars halved (true coverage ≈ 0.38) must fail
the same test. docs/guides/estimators.md has the full coverage table
(examples/estimator_coverage.py).
"""
import importlib.util
import pathlib

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp

import statmech as sm
from statmech import testing
from statmech.estimators._annealing import annealed_importance_sampling, population_annealing
from statmech.estimators._integration import thermodynamic_integration
from statmech.estimators._mbar import mbar_free_energy
from statmech.estimators._wang_landau import wang_landau

pytestmark = pytest.mark.statistical

BETA_C = float(np.log1p(np.sqrt(2.0)) / 2.0)
GAUSSIAN = 0.6827
ALPHA = 0.01


def t_coverage(n_runs):
    """P(|t| < 1) for Student's t with n_runs − 1 degrees of freedom."""
    return float(2.0 * stats.t.cdf(1.0, n_runs - 1) - 1.0)


def coverage_pvalue(z, expected):
    """Two-sided binomial p-value of the number of |z| < 1 against ``expected`` coverage."""
    z = np.asarray(z, dtype=np.float64)
    return float(stats.binomtest(int(np.sum(np.abs(z) < 1.0)), z.size, expected).pvalue)


def check(z, expected):
    """The coverage test passes on the z-scores and fails with error bars halved (z doubled)."""
    summary = testing.coverage(z)
    assert coverage_pvalue(z, expected) > ALPHA, (summary, expected)
    assert coverage_pvalue(2.0 * np.asarray(z), expected) < ALPHA, ("negative control passed", summary)


@pytest.fixture(scope="module")
def square4():
    model = sm.Ising.square(4)
    return model, float(sm.log_z(model, BETA_C, method="kaufman"))


def z_scores(run, exact, seeds):
    return np.array([testing.z_score(run(seed), exact) for seed in range(seeds)])


def test_ais_coverage(square4):
    model, exact = square4
    check(z_scores(lambda s: annealed_importance_sampling(model, BETA_C, n_chains=64, n_steps=200, seed=s),
                   exact, 120), GAUSSIAN)


def test_ti_coverage(square4):
    model, exact = square4
    check(z_scores(lambda s: thermodynamic_integration(model, BETA_C, n_sweeps=400, seed=s), exact, 120),
          GAUSSIAN)


@pytest.mark.slow
def test_mbar_coverage():
    """MBAR at its default budget (4000 sweeps) on the three models of the guide's table, seeds 0–99 each.

    The error bar is a 20-block jackknife, so z follows Student's t with 19 degrees of freedom
    (P(|t| < 1) = 0.670). pymbar's asymptotic error bars covered 0.51–0.55 (see the guide)."""
    rng = np.random.default_rng(12)
    couplings = np.triu(rng.normal(0.0, 1.0 / np.sqrt(12), (12, 12)), 1)
    sk = sm.Ising.from_couplings(couplings + couplings.T)
    square = sm.Ising.square(4)
    cases = [(square, BETA_C, float(sm.log_z(square, BETA_C, method="kaufman"))),
             (sm.Ising.chain(12, J=1.0, h=0.5), 0.8, testing.periodic_chain_log_z(12, 1.0, 0.5, 0.8)),
             (sk, 1.5, float(testing.brute_force_log_z(sk, 1.5)))]
    z = np.concatenate([z_scores(lambda s: mbar_free_energy(model, beta, seed=s).log_z(beta), exact, 100)
                        for model, beta, exact in cases])
    check(z, t_coverage(20))


def test_pa_coverage(square4):
    model, exact = square4
    n_runs = 8
    check(z_scores(lambda s: population_annealing(model, BETA_C, population=128, n_runs=n_runs, seed=s).log_z,
                   exact, 120), t_coverage(n_runs))


def test_wang_landau_coverage():
    model = sm.Ising.chain(10, J=1.0, h=0.5)
    exact = testing.periodic_chain_log_z(10, 1.0, 0.5, 0.8)
    n_walkers = 8
    check(z_scores(lambda s: wang_landau(model, n_sweeps=5000, n_walkers=n_walkers, seed=s).log_z(0.8),
                   exact, 100), t_coverage(n_walkers))


def test_binder_cumulant_coverage():
    """U₄ = 1 − ⟨m⁴⟩/(3⟨m²⟩²) of the 4×4 torus at β_c (exact by enumeration): the block-jackknife error
    bar of sm.thermo (Wolff, 1000 steps × 4 chains, 20 blocks) covers the exact value at the t(19) rate."""
    model = sm.Ising.square(4)
    energies = testing.brute_force_energies(model)
    m = testing.all_spin_states(model.n_sites).sum(axis=1).astype(np.float64)
    log_w = -BETA_C * energies
    p = np.exp(log_w - logsumexp(log_w))
    exact = 1.0 - (p @ m**4) / (3.0 * (p @ m**2) ** 2)

    def run(seed):
        return sm.thermo(model, BETA_C, method="wolff", n_sweeps=1000, seed=seed).binder_cumulant

    check(z_scores(run, exact, 100), t_coverage(20))


@pytest.mark.slow
def test_the_guide_prints_what_the_coverage_script_measures():
    """One row of the coverage table in docs/guides/estimators.md, recomputed by examples/estimator_coverage.py
    (fixed seeds: the row must match digit for digit)."""
    root = pathlib.Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("estimator_coverage", root / "examples" / "estimator_coverage.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    method = "ais-64"
    cases = [script.test_set()[i] for i in script.DEFAULT_CASES]
    expected = script.row(method, script.ESTIMATORS[method][0], script.measure(method, cases, 100))
    guide = (root / "docs" / "guides" / "estimators.md").read_text()
    assert expected in guide.splitlines(), expected
