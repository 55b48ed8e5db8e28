"""TAP on the SK model: the fixed point solves the TAP equations, matches Monte Carlo, tends to Parisi.

β = 1.5 (T = 2/3 < T_c = 1) with a uniform field h = 1.0, above the
de Almeida–Thouless line (h_AT(T = 2/3) ≈ 0.28): the replica-symmetric phase,
where the TAP solution is unique and Bolthausen's iteration converges.
"""
import math

import numba
import numpy as np
import pytest

import statmech as sm
from statmech.approx import tap

BETA, H = 1.5, 1.0


def tap_equation_residual(J, h, beta, m):
    """max |m_i - tanh(beta h_i + beta sum_j J_ij m_j - beta^2 m_i sum_j J_ij^2 (1 - m_j^2))|, dense NumPy."""
    field = beta * h + beta * J @ m - beta**2 * m * ((J * J) @ (1 - m * m))
    return float(np.max(np.abs(m - np.tanh(field))))


def test_field_is_above_the_at_line():
    assert sm.theory.at_line(1 / BETA) < H


def test_tap_fixed_point_solves_the_tap_equations():
    model = sm.SK(500, h=H).sample(seed=1)
    J = model.coupling_matrix()
    h = np.asarray(model.field)
    result = tap(model, BETA)
    assert result.converged
    assert tap_equation_residual(J, h, BETA, result.magnetizations) < 1e-10
    # Negative control: without the Onsager reaction term the same m is far from a solution.
    naive = np.max(np.abs(result.magnetizations - np.tanh(BETA * h + BETA * J @ result.magnetizations)))
    assert naive > 1e-2
    # The TAP free entropy written out independently.
    m = result.magnetizations
    i, j = np.triu_indices(500, 1)
    entropy = -np.sum((1 + m) / 2 * np.log((1 + m) / 2) + (1 - m) / 2 * np.log((1 - m) / 2))
    phi = (BETA * h @ m + BETA * np.sum(J[i, j] * m[i] * m[j]) + entropy
           + 0.5 * BETA**2 * np.sum(J[i, j] ** 2 * (1 - m[i] ** 2) * (1 - m[j] ** 2)))
    assert result.log_z == pytest.approx(phi, rel=1e-12)


def test_tap_at_high_temperature_and_zero_field_is_the_paramagnet():
    model = sm.SK(200).sample(seed=0)
    J = model.coupling_matrix()
    beta = 0.5
    result = tap(model, beta)
    np.testing.assert_array_equal(result.magnetizations, 0.0)
    i, j = np.triu_indices(200, 1)
    assert result.log_z == pytest.approx(200 * math.log(2) + 0.5 * beta**2 * np.sum(J[i, j] ** 2),
                                         rel=1e-13)


def corrected_deviation(n, seeds):
    """Φ_TAP/N − φ_Parisi per instance, less its leading O(N^-1/2) part β m̄² Σ_{i<j} J_ij / N.

    In a field the free entropy of an instance moves with the sum of its
    couplings (a random ferromagnetic component, std 1/√(2N) per site): to
    first order by β m̄² Σ_{i<j} J_ij / N. Removing it leaves O(1/N) scatter.
    """
    phi = -sm.theory.parisi(BETA, h=H).free_energy_density * BETA
    out = []
    for seed in seeds:
        model = sm.SK(n, h=H).sample(seed=seed)
        result = tap(model, BETA)
        assert result.converged
        s = float(np.sum(model.couplings)) / n
        out.append(result.free_entropy_density - phi - BETA * result.magnetization_density**2 * s)
    out = np.array(out)
    return out.mean(), out.std(ddof=1) / math.sqrt(len(out))


@pytest.mark.slow
def test_tap_free_entropy_approaches_parisi():
    previous = None
    for n, seeds in ((250, range(8)), (1000, range(6)), (2000, range(4))):
        mean, stderr = corrected_deviation(n, seeds)
        assert abs(mean) < 3 * stderr + 1.0 / n, (n, mean, stderr)
        if previous is not None:
            assert stderr < previous
        previous = stderr


@numba.njit
def _heatbath_means(J, h, beta, spins, n_sweeps, n_batches, seed):
    """Sequential heat bath on a dense model; per-site means of s over n_batches batches."""
    np.random.seed(seed)
    n = spins.size
    field = h + J @ spins
    means = np.zeros((n_batches, n))
    per_batch = n_sweeps // n_batches
    for batch in range(n_batches):
        for sweep in range(per_batch):
            for i in range(n):
                new = 1.0 if np.random.random() < 0.5 * (1.0 + math.tanh(beta * field[i])) else -1.0
                if new != spins[i]:
                    delta = new - spins[i]
                    spins[i] = new
                    for k in range(n):
                        field[k] += J[k, i] * delta
            means[batch] += spins
        means[batch] /= per_batch
    return means


def monte_carlo(model, m_tap, n_sweeps, n_batches, seed):
    """Heat-bath run started from a configuration drawn from the TAP magnetisations.

    Returns per-site batch means (n_batches, N) and per-batch magnetisation densities.
    """
    J = model.coupling_matrix()
    h = np.asarray(model.field, dtype=np.float64)
    rng = np.random.default_rng(seed)
    spins = np.where(rng.random(model.n_sites) < 0.5 * (1 + m_tap), 1.0, -1.0)
    _heatbath_means(J, h, BETA, spins, 500, 1, seed + 1)  # burn-in
    return _heatbath_means(J, h, BETA, spins, n_sweeps, n_batches, seed + 2)


def excess_rms(means, reference):
    """rms over sites of (MC − reference) with the MC noise (its stderr²) subtracted."""
    mc = means.mean(axis=0)
    variance = means.var(axis=0, ddof=1) / means.shape[0]
    return math.sqrt(max(0.0, float(np.mean((mc - reference) ** 2 - variance))))


@pytest.mark.slow
@pytest.mark.statistical
def test_tap_magnetisations_match_a_long_monte_carlo_run():
    """N = 2000: the magnetisation density agrees within 3 MC error bars; per site, TAP's
    finite-N error (measured ≈ 0.36/√N rms at this β, h) shrinks like N^(-1/2) from N = 500.
    Negative control: naive mean-field magnetisations (no Onsager term) are rejected."""
    n_batches = 30
    models = {n: sm.SK(n, h=H).sample(seed=7) for n in (500, 2000)}
    results = {n: tap(model, BETA) for n, model in models.items()}
    assert all(r.converged for r in results.values())
    means = {n: monte_carlo(models[n], results[n].magnetizations, 3000, n_batches, 11)
             for n in models}

    batch_m = means[2000].mean(axis=1)  # magnetisation density of each batch
    m_mc = batch_m.mean()
    stderr = batch_m.std(ddof=1) / math.sqrt(n_batches)

    def z(reference):
        return abs(m_mc - float(np.mean(reference))) / stderr

    assert z(results[2000].magnetizations) < 3.0
    naive = sm.approx.mean_field(models[2000], BETA, n_starts=0, max_iter=100_000).magnetizations
    assert z(naive) > 3.0

    small, large = (excess_rms(means[n], results[n].magnetizations) for n in (500, 2000))
    assert large < 0.75 * small, (small, large)   # N^(-1/2) predicts 0.5
    assert excess_rms(means[2000], naive) > 5 * large
