"""examples/binder_3d.py: the reweighted Binder cumulants, their crossings and the fits behind the 3D
U* and β_c of docs/guides/monte_carlo.md."""
import importlib.util
import pathlib

import numpy as np
import pytest

from statmech.stats import jackknife

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("binder_3d", ROOT / "examples" / "binder_3d.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_series(L, seed, n_chains=4, n_draws=400):
    """Energies and magnetisations with the right types and a spread like a critical run (not a physical one)."""
    rng = np.random.default_rng(seed)
    magnetization = np.rint(rng.normal(0.0, 0.3 * L**3, (n_chains, n_draws))).astype(np.int64)
    energy = -0.33 * 3 * L**3 - 0.5 * np.abs(magnetization) + rng.normal(0.0, 3.0 * L**1.5, (n_chains, n_draws))
    return energy, magnetization


def test_reweighting_at_beta_c_is_the_plain_cumulant_and_its_jackknife(script):
    L = 4
    energy, magnetization = fake_series(L, 0)
    curve = script.Reweighted(L, energy, magnetization)
    m = magnetization / L**3
    expected = jackknife(lambda a2, a4: 1.0 - a4 / (3.0 * a2**2), (m**2, m**4), n_blocks=script.N_BLOCKS)
    value, replicas = curve.at_beta_c
    assert curve.betas[script.N_GRID // 2] == pytest.approx(script.BETA_C, abs=1e-15)
    assert value == pytest.approx(expected.value, rel=1e-12)
    stderr = np.sqrt((script.N_BLOCKS - 1) / script.N_BLOCKS * np.sum((replicas - replicas.mean()) ** 2))
    assert stderr == pytest.approx(expected.stderr, rel=1e-10)


def test_reweighting_to_another_beta_weights_each_record_by_its_boltzmann_factor(script):
    L = 4
    energy, magnetization = fake_series(L, 1)
    curve = script.Reweighted(L, energy, magnetization)
    k = 7
    w = np.exp(-(curve.betas[k] - script.BETA_C) * energy.ravel())
    m = magnetization.ravel() / L**3
    expected = 1.0 - np.sum(w * m**4) * np.sum(w) / (3.0 * np.sum(w * m**2) ** 2)
    assert curve.curve[k] == pytest.approx(expected, rel=1e-10)


def test_crossing_of_two_curves_is_found_where_they_meet(script):
    betas = script.BETA_C + np.linspace(-0.01, 0.01, 41)
    cross = script.BETA_C + 0.0013
    first = 0.47 + 20.0 * (betas - cross) + 3e3 * (betas - cross) ** 3
    second = 0.47 + 60.0 * (betas - cross)
    beta, value = script.crossing(betas, first, betas[::2], second[::2])
    assert beta == pytest.approx(cross, abs=1e-9)
    assert value == pytest.approx(0.47, abs=1e-8)
    assert np.isnan(script.crossing(betas, first, betas, first + 1.0)[0])


def test_generalised_least_squares_recovers_a_power_law_and_its_chi2(script):
    x = np.array([6.0, 8.0, 10.0, 12.0, 16.0])
    y = 0.4655 + 0.11 * x**-script.OMEGA
    covariance = np.diag(np.full(x.size, 1e-6))
    parameters, parameter_covariance, chi2, dof = script.fit(y, covariance, x**-script.OMEGA)
    assert parameters == pytest.approx([0.4655, 0.11], abs=1e-12)
    assert chi2 == pytest.approx(0.0, abs=1e-12) and dof == 3
    # Moving one point by 3 sigma gives chi2 of order 9 times the fraction of it the fit cannot absorb.
    y[2] += 3e-3
    _, _, chi2, _ = script.fit(y, covariance, x**-script.OMEGA)
    assert 3.0 < chi2 < 9.0
