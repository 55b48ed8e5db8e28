"""Finite-N SK quenched free energies approach the Parisi value as N grows.

SK with Gaussian J_ij of variance 1/N, H = −Σ_{i<j} J_ij s_i s_j, no field.

- High temperature (β < 1): the replica-symmetric value is the paramagnet,
  f_∞ = −β/4 − ln 2/β (exact), and the finite-size correction is analytic in
  1/N. Its leading coefficient is known: ln Z_N − ln E Z_N converges to a
  Gaussian of mean ¼[ln(1 − β²) + β²] (Aizenman, Lebowitz & Ruelle, Commun.
  Math. Phys. 112, 3 (1987)); with ln E Z_N = N ln 2 + β²(N − 1)/4 this gives
  f_N = f_∞ − ln(1 − β²)/(4βN) + O(N⁻²).
- Low temperature (β > 1): the Parisi solution is exact, RS lies below it
  (f_RS < f_Parisi, the RS entropy turns negative), and f_N − f_∞ ∝ N^(−2/3)
  (Parisi, Ritort & Slanina, J. Phys. A 26, 3775 (1993); Aspelmeier,
  Billoire, Marinari & Moore, J. Phys. A 41, 324008 (2008): the k-RSB error
  ∝ k⁻⁴ with k(N) ∝ N^(1/6); Boettcher, Eur. Phys. J. B 46, 501 (2005) for
  the ground state e_N = e_∞ + A N^(−2/3)).

Quenched averages use *regression control variates* (Lavenberg & Welch,
Manage. Sci. 27, 322 (1981); Glasserman, *Monte Carlo Methods in Financial
Engineering* (2004), §4.1) with three invariants of J whose means are known
exactly — the terms of the high-temperature expansion of ln Z: bonds,
triangles, 4-cycles (see :func:`coupling_controls`). The estimator stays
unbiased for E[f_N]; its standard error drops ~10× at β = 0.5 and ~1.7× at
β = 5 (the controls explain 99 % and 64 % of the sample-to-sample variance).

Extrapolations are weighted least squares in the right variable, with the
standard errors of the per-size means as weights and the fit covariance
unscaled (so χ² tests the form). Measured with this file's seeds:
β = 0.5, N = 8..20, 500 instances each (f_N + a/N + b/N²): f_∞ = −1.51141 ±
0.00034 vs −1.51129 (−0.3σ), χ² = 2.9/4, a = 0.146 ± 0.009 vs ALR 0.1438; the
same data fitted in N^(−2/3) miss by −38σ. N = 8..24, 1000 instances each
(f_∞ + a N^(−2/3)): β = 5: f_∞ = −0.76215 ± 0.00178, χ² = 5.3/7, Parisi
−0.76508 (+1.6σ), RS −0.77724 (+8.5σ); β = 10: f_∞ = −0.76185 ± 0.00189,
χ² = 5.2/7, Parisi −0.76341 (+0.8σ), RS −0.78469 (+12.1σ). Population
annealing at β = 5, 64 instances: N = 32: −0.6954 ± 0.0030 (fit −0.6971 ±
0.0008), N = 48: −0.7127 ± 0.0022 (fit −0.7125 ± 0.0010).
With twice the instances (pooled runs during development) the two-parameter
N^(−2/3) fit sits 1.7σ (β = 5) to 2.6σ (β = 3) above Parisi: sub-leading
corrections of order +2e-3 at N <= 24, which a three-parameter fit
(N^(−2/3) and N⁻¹) cannot resolve (its σ is ~7× larger).
"""
import math

import numpy as np
import pytest
from scipy import stats

import statmech as sm
from statmech.models._disorder import SK, instance_seeds
from statmech.studies._disorder import quenched

HIGH_BETA = 0.5
LOW_BETAS = np.array([5.0, 10.0])
MC_BETA = 5.0


# ------------------------------------------------------------------ helpers
def paramagnet_free_energy(beta):
    """f_∞ = −β/4 − ln 2/β: RS = annealed = exact for β <= 1 (Sherrington & Kirkpatrick 1975)."""
    return -beta / 4.0 - math.log(2.0) / beta


def alr_slope(beta):
    """Coefficient a of f_N = f_∞ + a/N + O(N⁻²) for β < 1: a = −ln(1 − β²)/(4β) (ALR 1987)."""
    return -math.log(1.0 - beta**2) / (4.0 * beta)


def tr4_mean(n):
    """E Tr J⁴ = N(N−1)(2N−1)σ⁴ with σ² = 1/N, for Gaussian J (zero diagonal).

    Closed 4-walks using every bond an even number of times: i→j→i→l→i with
    l ≠ i, j (N(N−1)(N−2) walks, weight σ⁴), with l = j (N(N−1), E J⁴ = 3σ⁴),
    and i→j→k→j→i with k ≠ i, j (N(N−1)(N−2), σ⁴).
    """
    return (n - 1) * (2 * n - 1) / n


def coupling_controls(model):
    """(Σ_{i<j} J_ij² − (N−1)/2, Tr J³, Tr J⁴ − E Tr J⁴): zero-mean invariants of one instance.

    E Tr J³ = 0 because J and −J are equally likely.
    """
    J = model.coupling_matrix()
    n = J.shape[0]
    J2 = J @ J
    return np.array([np.sum(J**2) / 2.0 - (n - 1) / 2.0, np.trace(J2 @ J), np.trace(J2 @ J2) - tr4_mean(n)])


def control_variate_mean(values, controls):
    """Regression control-variate estimate of E[values] and its standard error.

    ``controls`` (K, p) have exactly known mean 0. The intercept of the least
    squares fit values ≈ c₀ + controls·c estimates the mean; its standard
    error is sd(residuals)/√K, with K − p − 1 degrees of freedom.
    """
    values = np.asarray(values, dtype=np.float64)
    design = np.column_stack([np.ones(len(values)), controls])
    coef, *_ = np.linalg.lstsq(design, values, rcond=None)
    residual = values - design @ coef
    return float(coef[0]), float(residual.std(ddof=design.shape[1]) / math.sqrt(len(values)))


def weighted_fit(columns, y, stderr):
    """Weighted least squares y ≈ Σ_k c_k columns[k]: (c, covariance, χ², dof); weights 1/stderr²."""
    design = np.column_stack(columns)
    weights = 1.0 / np.asarray(stderr) ** 2
    covariance = np.linalg.inv(design.T @ (weights[:, None] * design))
    coef = covariance @ (design.T @ (weights * y))
    chi2 = float(np.sum(weights * (y - design @ coef) ** 2))
    return coef, covariance, chi2, len(y) - design.shape[1]


def enumerated_free_energies(n, betas, n_instances, seed):
    """f_k(β) = −ln Z_k(β)/(Nβ) for the instances of ``quenched(SK(n), β, K, seed=seed)`` and their controls.

    One enumeration per instance for the whole β grid (``quenched`` takes one β).
    """
    betas = np.asarray(betas, dtype=np.float64)
    ensemble = SK(n)
    values = np.empty((n_instances, betas.size))
    controls = np.empty((n_instances, 3))
    for k, instance_seed in enumerate(instance_seeds(seed, n_instances)):
        model = ensemble.sample(int(instance_seed))
        values[k] = -np.asarray(sm.log_z(model, betas, method="enumerate").value) / (n * betas)
        controls[k] = coupling_controls(model)
    return values, controls


def quenched_means(result):
    """Control-variate mean and standard error of a QuenchedResult's f values."""
    controls = np.array([coupling_controls(result.ensemble.sample(int(s))) for s in result.instance_seeds])
    return control_variate_mean(result.values, controls)


# ---------------------------------------------------- the tools of the tests
def test_controls_have_the_stated_means_and_a_wrong_mean_is_rejected():
    n, count = 6, 20000
    batch = SK(n).sample_batch(3, count)
    edges = np.asarray(batch.edges)
    J = np.zeros((count, n, n))
    J[:, edges[:, 0], edges[:, 1]] = np.asarray(batch.couplings)
    J += J.transpose(0, 2, 1)
    J2 = J @ J
    bonds = np.sum(J**2, axis=(1, 2)) / 2.0
    triangles = np.einsum("kij,kji->k", J2, J)
    four_cycles = np.einsum("kij,kji->k", J2, J2)
    for sample, mean in [(bonds, (n - 1) / 2.0), (triangles, 0.0), (four_cycles, tr4_mean(n))]:
        z = (sample.mean() - mean) / (sample.std(ddof=1) / math.sqrt(count))
        assert abs(z) < 4.0
    # Negative control: taking E J⁴ = σ⁴ (forgetting the Gaussian 3σ⁴) gives N(N−1)(2N−3)σ⁴.
    wrong = (n - 1) * (2 * n - 3) / n
    assert abs(four_cycles.mean() - wrong) / (four_cycles.std(ddof=1) / math.sqrt(count)) > 4.0


def test_control_variate_mean_is_the_sample_mean_without_controls_and_shrinks_the_error():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 1))
    y = 2.0 + 3.0 * x[:, 0] + 0.1 * rng.standard_normal(400)
    mean, stderr = control_variate_mean(y, np.zeros((400, 0)))
    assert mean == pytest.approx(y.mean(), rel=1e-12)
    assert stderr == pytest.approx(y.std(ddof=1) / 20.0, rel=1e-12)
    mean_cv, stderr_cv = control_variate_mean(y, x)
    assert abs(mean_cv - 2.0) < 4 * stderr_cv
    assert stderr_cv < stderr / 10


def test_multi_beta_enumeration_matches_quenched_front_door():
    betas = np.array([0.5, 5.0])
    values, controls = enumerated_free_energies(10, betas, 6, seed=42)
    for j, beta in enumerate(betas):
        result = quenched(SK(10), beta, 6, method="enumerate", seed=42, progress=False)
        np.testing.assert_allclose(values[:, j], result.values, rtol=1e-12)
    np.testing.assert_allclose(controls[0], coupling_controls(SK(10).sample(int(instance_seeds(42, 6)[0]))))


def test_weighted_fit_recovers_a_line_and_its_chi2():
    x = np.array([0.1, 0.2, 0.3, 0.4])
    se = np.array([0.01, 0.02, 0.01, 0.02])
    y = 1.0 - 2.0 * x + np.array([0.01, -0.02, 0.0, 0.02])
    coef, cov, chi2, dof = weighted_fit([np.ones_like(x), x], y, se)
    design = np.column_stack([np.ones_like(x), x]) / se[:, None]
    expected, *_ = np.linalg.lstsq(design, y / se, rcond=None)
    np.testing.assert_allclose(coef, expected, rtol=1e-12)
    np.testing.assert_allclose(cov, np.linalg.inv(design.T @ design), rtol=1e-12)
    assert chi2 == pytest.approx(np.sum(((y - np.column_stack([np.ones_like(x), x]) @ expected) / se) ** 2))
    assert dof == 2


# ---------------------------------------------------------- high temperature
HIGH_SIZES = (8, 10, 12, 14, 16, 18, 20)


@pytest.fixture(scope="module")
def high_temperature_means():
    means, errors = [], []
    for n in HIGH_SIZES:
        result = quenched(SK(n), HIGH_BETA, 500, method="enumerate", seed=100 + n, progress=False)
        assert result.mean > result.annealed  # Jensen, for every finite sample
        mean, stderr = quenched_means(result)
        means.append(mean)
        errors.append(stderr)
    return np.array(HIGH_SIZES, dtype=np.float64), np.array(means), np.array(errors)


def test_high_temperature_extrapolation_in_one_over_n_gives_the_paramagnet(high_temperature_means):
    n, f, se = high_temperature_means
    coef, cov, chi2, dof = weighted_fit([np.ones_like(n), 1 / n, 1 / n**2], f, se)
    f_inf, sigma = coef[0], math.sqrt(cov[0, 0])
    exact = paramagnet_free_energy(HIGH_BETA)
    assert float(sm.theory.sk_replica_symmetric(HIGH_BETA).free_energy_density) == pytest.approx(exact, abs=1e-12)
    assert abs(f_inf - exact) < 3 * sigma
    # The error bar matters: 20× below the finite-size shift at N = 20 (≈ 0.0072).
    assert sigma < 5e-4
    assert f[-1] - exact > 20 * sigma
    assert stats.chi2.sf(chi2, dof) > 1e-3
    # The fitted 1/N coefficient is the Aizenman–Lebowitz–Ruelle one.
    assert abs(coef[1] - alr_slope(HIGH_BETA)) < 3 * math.sqrt(cov[1, 1])


def test_high_temperature_extrapolation_in_the_low_temperature_variable_misses(high_temperature_means):
    """Negative control: the same data fitted in N^(−2/3) miss the exact value by many σ."""
    n, f, se = high_temperature_means
    coef, cov, _, _ = weighted_fit([np.ones_like(n), n ** (-2 / 3)], f, se)
    assert abs(coef[0] - paramagnet_free_energy(HIGH_BETA)) > 4 * math.sqrt(cov[0, 0])


# ----------------------------------------------------------- low temperature
def test_low_temperature_free_energies_approach_parisi_from_above():
    beta = MC_BETA
    parisi = sm.theory.parisi(beta, tol=1e-4).free_energy_density
    rs = float(sm.theory.sk_replica_symmetric(beta).free_energy_density)
    assert rs < parisi - 0.01  # RS lies below Parisi here (−0.7772 vs −0.7651)
    gaps, errors = [], []
    for n in (8, 12, 16):
        result = quenched(SK(n), beta, 300, method="enumerate", seed=200 + n, progress=False)
        mean, stderr = quenched_means(result)
        gaps.append(mean - parisi)
        errors.append(stderr)
    gaps, errors = np.array(gaps), np.array(errors)
    assert np.all(gaps > 10 * errors)
    steps = gaps[:-1] - gaps[1:]
    assert np.all(steps > 4 * np.hypot(errors[:-1], errors[1:]))


LOW_SIZES = (8, 10, 12, 14, 16, 18, 20, 22, 24)
LOW_INSTANCES = 1000


@pytest.fixture(scope="module")
def low_temperature_means():
    """Control-variate means (S, B) and errors of f_N at LOW_BETAS, N = 8..24, 1000 instances each."""
    means = np.empty((len(LOW_SIZES), LOW_BETAS.size))
    errors = np.empty_like(means)
    for i, n in enumerate(LOW_SIZES):
        values, controls = enumerated_free_energies(n, LOW_BETAS, LOW_INSTANCES, seed=300 + n)
        for j in range(LOW_BETAS.size):
            means[i, j], errors[i, j] = control_variate_mean(values[:, j], controls)
    return np.array(LOW_SIZES, dtype=np.float64), means, errors


@pytest.fixture(scope="module")
def parisi_values():
    return {float(b): sm.theory.parisi(float(b), tol=1e-5).free_energy_density for b in LOW_BETAS}


@pytest.mark.slow
@pytest.mark.parametrize("index", range(LOW_BETAS.size), ids=[f"beta={b:g}" for b in LOW_BETAS])
def test_low_temperature_extrapolation_selects_parisi_and_rejects_rs(low_temperature_means, parisi_values, index):
    n, means, errors = low_temperature_means
    beta = float(LOW_BETAS[index])
    f, se = means[:, index], errors[:, index]
    parisi = parisi_values[beta]
    rs = float(sm.theory.sk_replica_symmetric(beta).free_energy_density)
    coef, cov, chi2, dof = weighted_fit([np.ones_like(n), n ** (-2 / 3)], f, se)
    f_inf, sigma = coef[0], math.sqrt(cov[0, 0])
    assert stats.chi2.sf(chi2, dof) > 1e-3
    assert abs(f_inf - parisi) < 3 * sigma
    assert (f_inf - rs) / sigma > 4  # the same fit rejects replica symmetry
    # |f_N − f_Parisi| shrinks with N: from above, by many σ over every 8 sites,
    # and never growing by more than 3σ from one size to the next.
    gap = f - parisi
    assert np.all(gap > 0)
    assert gap[0] - gap[4] > 5 * math.hypot(se[0], se[4]) and gap[4] - gap[8] > 5 * math.hypot(se[4], se[8])
    assert np.all(gap[1:] - gap[:-1] < 3 * np.hypot(se[1:], se[:-1]))


# ---------------------------------------------------- Monte Carlo beyond N = 24
PA_OPTIONS = {"population": 256, "n_runs": 4, "n_sweeps": 4}


@pytest.mark.slow
def test_population_annealing_continues_the_trend_toward_parisi(low_temperature_means, parisi_values):
    beta = MC_BETA
    # First the estimator on N = 20 against enumeration (same instances).
    exact = quenched(SK(20), beta, 8, method="enumerate", seed=7, progress=False)
    estimated = quenched(SK(20), beta, 8, method="pa", seed=7, progress=False, **PA_OPTIONS)
    assert estimated.method == "pa"
    np.testing.assert_array_equal(exact.instance_seeds, estimated.instance_seeds)
    # No bias: the mean error is within 4σ of 0 (σ from PA's own error bars), and each instance's
    # error is ≪ the sample-to-sample spread of f (which alone sets the error of a quenched mean).
    mean_se = math.sqrt(np.sum(estimated.values_stderr**2)) / estimated.n_instances
    assert abs(estimated.mean - exact.mean) < 4 * mean_se and mean_se < 1e-3
    assert np.max(np.abs(estimated.values - exact.values)) < 0.05 * exact.std

    # The enumeration fit f_∞ + a N^(−2/3) (N = 8..24), predicted at N = 32, 48 with its error.
    n, means, errors = low_temperature_means
    index = int(np.flatnonzero(LOW_BETAS == beta)[0])
    coef, cov, _, _ = weighted_fit([np.ones_like(n), n ** (-2 / 3)], means[:, index], errors[:, index])
    parisi = parisi_values[beta]
    previous = means[-1, index]
    for size in (32, 48):
        result = quenched(SK(size), beta, 64, method="pa", seed=400 + size, progress=False, **PA_OPTIONS)
        mean, stderr = quenched_means(result)
        x = np.array([1.0, size ** (-2 / 3)])
        predicted, predicted_se = x @ coef, math.sqrt(x @ cov @ x)
        assert abs(mean - predicted) < 3 * math.hypot(stderr, predicted_se)
        assert parisi < mean < previous  # closer to Parisi than the smaller size, still above it
        previous = mean
