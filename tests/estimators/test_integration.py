"""Thermodynamic integration ("ti"): log Z(β) = N log 2 − ∫₀^β U.

References are independent of the code under test: the Kaufman solution of
the periodic square lattice (``sm.log_z(..., method="kaufman")``), the
closed-form transfer-matrix eigenvalues of a periodic chain in a field
(written here), and a brute-force sum over the 2^10 states of a small
frustrated Sherrington–Kirkpatrick-like system (plain NumPy, here). Every
estimate must satisfy |est − exact| / stderr < 4 with fixed seeds; the slow
test checks that one-sigma intervals cover the truth about 68 % of the time,
with a negative control (stderr divided by 3) that must fail.
"""
import math

import numpy as np
import pytest
from scipy import stats

import statmech as sm
from statmech.testing import brute_force_log_z as reference_log_z
from statmech.testing import periodic_chain_log_z, sk_instance, z_score
from statmech.estimators._integration import clenshaw_curtis, quadrature_plan, thermodynamic_integration

BETA_C = 0.4406868
GRID = np.array([0.3, BETA_C, 0.6])
FAST = dict(n_nodes=16, n_sweeps=500, n_chains=4)


# ------------------------------------------------------------- quadrature
@pytest.mark.parametrize("n", [2, 3, 8, 9, 16])
def test_clenshaw_curtis_integrates_polynomials_exactly(n):
    x, w = clenshaw_curtis(n)
    for k in range(n + 1):
        exact = 2.0 / (k + 1) if k % 2 == 0 else 0.0
        assert np.sum(w * x**k) == pytest.approx(exact, abs=1e-13)
    assert np.all(w > 0)


def test_quadrature_plan_with_the_exact_energy_reproduces_kaufman():
    """The cumulative weights integrate the exact U(β) to the exact log Z at every target."""
    model = sm.Ising.square(8)
    targets = np.array([0.2, BETA_C, 0.6])
    nodes, W, w0, W_half, w0_half = quadrature_plan(targets, 32)
    assert np.all(nodes > 0) and nodes.max() == pytest.approx(0.6)
    np.testing.assert_allclose(W.sum(axis=1) + w0, targets, rtol=1e-13)  # ∫₀^b 1 = b
    np.testing.assert_allclose(W_half.sum(axis=1) + w0_half, targets, rtol=1e-13)
    energy = sm.thermo(model, nodes, method="kaufman").energy.value
    log_z = model.n_sites * math.log(2) - W @ energy  # U(0) = 0: w0 drops out
    np.testing.assert_allclose(log_z, sm.log_z(model, targets, method="kaufman").value, atol=1e-5)
    difference = (W - W_half) @ energy
    assert np.all(np.abs(difference) < 1e-2) and np.any(np.abs(difference) > 1e-9)


def test_clenshaw_curtis_accuracy_stated_in_the_derivations_page():
    """docs/derivations.md: for the periodic 32×32 Ising model at β_c, 32 nodes integrate the exact U to
    ~2e−7 in log Z, and the half-rule difference D bounds the error of the rule (convergence is geometric)."""
    model = sm.Ising.square(32)
    exact = float(sm.log_z(model, BETA_C, method="kaufman"))
    errors, differences = {}, {}
    for n_nodes in (32, 64):
        nodes, W, _, W_half, _ = quadrature_plan(np.array([BETA_C]), n_nodes)
        assert nodes.size == n_nodes
        energy = sm.thermo(model, nodes, method="kaufman").energy.value
        errors[n_nodes] = abs(model.n_sites * math.log(2) - float((W @ energy)[0]) - exact)
        differences[n_nodes] = abs(float(((W - W_half) @ energy)[0]))
    assert 5e-8 < errors[32] < 4e-7, errors  # "~2e−7"
    assert errors[64] < 1e-9, errors          # doubling the nodes squares the error (geometric convergence)
    for n_nodes in (32, 64):
        assert differences[n_nodes] >= errors[n_nodes], (differences, errors)


# ------------------------------------------------------------ vs exact
@pytest.mark.parametrize("L", [4, 8])
def test_square_lattice_grid_matches_kaufman(L):
    model = sm.Ising.square(L)
    estimate = thermodynamic_integration(model, GRID, seed=1, **FAST)
    exact = sm.log_z(model, GRID, method="kaufman").value
    assert estimate.value.shape == GRID.shape and np.all(estimate.stderr > 0)
    assert np.all(np.abs(z_score(estimate, exact)) < 4), (estimate, exact)
    assert estimate.method == "ti" and estimate.meta["seed"] == 1
    assert estimate.meta["energy_at_beta"].shape == GRID.shape


def test_chain_with_field_matches_transfer_matrix():
    model = sm.Ising.chain(16, J=1.0, h=0.4, periodic=True)
    estimate = thermodynamic_integration(model, 0.8, seed=2, **FAST)
    exact = periodic_chain_log_z(16, 1.0, 0.4, 0.8)
    assert exact == pytest.approx(float(sm.log_z(model, 0.8, method="transfer")), rel=1e-12)
    assert abs(float(estimate) - exact) / float(estimate.stderr) < 4


def test_frustrated_sk_instance_matches_brute_force():
    J, h = sk_instance()
    model = sm.Ising.from_couplings(J, h)
    assert not model.is_ferromagnetic
    estimate = thermodynamic_integration(model, 1.0, seed=3, **FAST)
    assert abs(z_score(estimate, reference_log_z(model, 1.0))) < 4


# ----------------------------------------------------------- behaviour
def test_beta_zero_is_n_log_2_exactly():
    """At β = 0 nothing is sampled: log Z = N log 2 with stderr 0 (an exact point of the estimate)."""
    model = sm.Ising.square(4)
    estimate = thermodynamic_integration(model, 0.0)
    assert float(estimate) == 16 * math.log(2) and float(estimate.stderr) == 0.0
    grid = thermodynamic_integration(model, [0.0, 0.3], seed=1, **FAST)
    assert grid.value[0] == 16 * math.log(2) and grid.stderr[0] == 0.0 and grid.stderr[1] > 0


def test_grid_order_and_repeats_do_not_change_the_values():
    model = sm.Ising.square(4)
    forward = thermodynamic_integration(model, [0.3, BETA_C, 0.6], seed=1, **FAST)
    shuffled = thermodynamic_integration(model, [0.6, 0.3, BETA_C, 0.3], seed=1, **FAST)
    np.testing.assert_array_equal(shuffled.value, forward.value[[2, 0, 1, 0]])
    np.testing.assert_array_equal(shuffled.stderr, forward.stderr[[2, 0, 1, 0]])


def test_same_seed_same_value_and_different_seed_differs():
    model = sm.Ising.square(4)
    first = thermodynamic_integration(model, BETA_C, seed=5, **FAST)
    again = thermodynamic_integration(model, BETA_C, seed=5, **FAST)
    other = thermodynamic_integration(model, BETA_C, seed=6, **FAST)
    assert float(first) == float(again) and float(first.stderr) == float(again.stderr)
    assert float(first) != float(other)


def test_front_door_and_registry():
    model = sm.Ising.square(4)
    assert "ti" in sm.available_methods(model)
    estimate = sm.log_z(model, BETA_C, method="ti", seed=5, **FAST)
    direct = thermodynamic_integration(model, BETA_C, seed=5, **FAST)
    assert estimate.method == "ti" and float(estimate) == float(direct)
    with pytest.raises(ValueError, match="kernel"):
        sm.log_z(sm.Ising.from_couplings(sk_instance()[0]), 0.5, method="ti", kernel="wolff")


def test_coarse_quadrature_is_flagged():
    """Two Clenshaw–Curtis intervals up to β = 0.6 on L = 8 miss the peak of C: a warning says so."""
    model = sm.Ising.square(8)
    # 2 nodes × 32 chains: the same batch shape as the L = 8 grid test (one compilation)
    estimate = thermodynamic_integration(model, 0.6, n_nodes=2, n_sweeps=500, n_chains=32, seed=1)
    assert any("increase n_nodes" in w for w in estimate.meta["warnings"])
    assert abs(estimate.meta["discretisation_difference"]) > 1.0


def test_meta_records_run_lengths_and_diagnostics():
    model = sm.Ising.square(4)
    estimate = thermodynamic_integration(model, 0.3, seed=4, **FAST)
    meta = estimate.meta
    for key in ("seed", "n_nodes", "n_sweeps", "n_chains", "burn_in", "kernel", "wall_time",
                "nodes", "node_energy", "node_energy_stderr", "node_tau_int", "discretisation_difference",
                "discretisation_difference_stderr", "warnings"):
        assert key in meta
    assert meta["burn_in"] == 100 and meta["nodes"].size == 16 and meta["wall_time"] > 0


@pytest.mark.parametrize("options, error, match", [
    (dict(n_sweeps=0), ValueError, "n_sweeps must be >= 1"),
    (dict(n_sweeps=10), ValueError, "n_sweeps must be >= 32"),
    (dict(n_sweeps=2.0), TypeError, "n_sweeps must be an int"),
    (dict(n_chains=0), ValueError, "n_chains must be >= 1"),
    (dict(n_nodes=1), ValueError, "n_nodes must be >= 2"),
    (dict(burn_in=-1), ValueError, "burn_in must be >= 0"),
    (dict(seed=-1), ValueError, "seed must be >= 0"),
    (dict(kernel="gibbs"), ValueError, "kernel must be one of"),
])
def test_bad_options_are_rejected(options, error, match):
    with pytest.raises(error, match=match):
        thermodynamic_integration(sm.Ising.square(4), 0.3, **options)


def test_bad_beta_and_model_are_rejected():
    model = sm.Ising.square(4)
    with pytest.raises(ValueError, match="beta must be >= 0"):
        thermodynamic_integration(model, -0.1)
    with pytest.raises(ValueError, match="beta must be finite"):
        thermodynamic_integration(model, [0.1, np.inf])
    with pytest.raises(TypeError, match="needs an sm.Ising model"):
        thermodynamic_integration("not a model", 0.3)
    with pytest.raises(ValueError, match="ferromagnetic"):
        thermodynamic_integration(sm.Ising.from_couplings(sk_instance()[0]), 0.3, kernel="swendsen-wang")


# ------------------------------------------------------------ coverage
def coverage_band(n_runs, p=0.6827, level=0.999):
    """Central binomial interval holding the number of covering runs with probability >= level."""
    low = stats.binom.ppf((1 - level) / 2, n_runs, p)
    high = stats.binom.ppf(1 - (1 - level) / 2, n_runs, p)
    return low / n_runs, high / n_runs


@pytest.mark.slow
def test_one_sigma_coverage_and_negative_control():
    """60 seeds, L = 4 at β_c: the fraction with |est − exact| < stderr lies in the 99.9 % binomial band
    around 0.683 ([0.483, 0.867]). Negative control: stderr / 3 (true coverage ≈ 0.26) falls outside it."""
    model = sm.Ising.square(4)
    exact = float(sm.log_z(model, BETA_C, method="kaufman"))
    runs = [thermodynamic_integration(model, BETA_C, seed=seed, **FAST) for seed in range(60)]
    errors = np.array([float(r) - exact for r in runs])
    stderrs = np.array([float(r.stderr) for r in runs])
    low, high = coverage_band(len(runs))
    coverage = np.mean(np.abs(errors) < stderrs)
    assert low <= coverage <= high, coverage
    assert np.max(np.abs(errors) / stderrs) < 4.5
    assert not low <= np.mean(np.abs(errors) < stderrs / 3) <= high
