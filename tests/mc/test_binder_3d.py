"""examples/binder_3d.py: the reweighted Binder cumulants, their crossings and the fits behind the 3D
U* and β_c of docs/guides/monte_carlo.md."""
import importlib.util
import json
import pathlib

import numpy as np
import pytest
from scipy import stats

import statmech as sm
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


GUIDE = ROOT / "docs" / "guides" / "monte_carlo.md"


def guide_blocks():
    """The ```text blocks of the 3D Binder section of the Monte Carlo guide, as lists of lines."""
    text = GUIDE.read_text()
    section = text[text.index("### Three dimensions: U* and β_c"):]
    section = section[:section.index("\n## ")]
    blocks = section.split("```text\n")[1:]
    return [block[:block.index("```")].strip("\n").splitlines() for block in blocks]


def test_the_guide_quotes_the_stored_3d_measurement(script, capsys):
    """Every line of the guide's table of crossings and fits is printed by the script's fits of the
    measurement it stored (examples/binder_3d.json)."""
    script.main(["--load", str(ROOT / "examples" / "binder_3d.json")])
    printed = capsys.readouterr().out.splitlines()
    quoted = guide_blocks()[0]
    assert len(quoted) >= 10
    for line in quoted:
        assert line in printed, line


@pytest.fixture(scope="module")
def long_runs(tmp_path_factory):
    return tmp_path_factory.mktemp("binder_3d_data")


@pytest.mark.slow
def test_the_stored_measurement_is_what_the_script_measures(script, long_runs):
    """The (6, 12) crossing and U4(beta_c) at L = 6 and 12, recomputed from fresh runs with the script's seeds
    and sweeps, equal the stored values the guide's table and fits come from (about a minute of runs)."""
    stored = json.loads((ROOT / "examples" / "binder_3d.json").read_text())
    first = stored["analyses"][0]
    curves = {L: script.Reweighted(L, *script.load_or_simulate(L, script.SWEEPS[L], long_runs)) for L in (6, 12)}
    _, _, value, covariance = script.measurements(curves, [(6, 12)])
    n, sizes = len(first["pairs"]), stored["sizes"]
    index = [0, n, 2 * n + sizes.index(6), 2 * n + sizes.index(12)]
    assert first["pairs"][0] == [6, 12]
    np.testing.assert_allclose(value, np.array(first["value"])[index], rtol=1e-9)
    np.testing.assert_allclose(np.diag(covariance), np.diag(np.array(first["covariance"]))[index], rtol=1e-6)


@pytest.mark.slow
def test_the_guide_prints_the_grid_check_and_the_coverage_at_l8(script, long_runs, capsys):
    """binder_crossings on (6, 12) against the reweighted crossing, and the error-bar coverage at L = 8,
    recomputed digit for digit (a few minutes)."""
    script.grid_check(6, np.linspace(4.40, 4.62, 8), range(10), long_runs)
    script.coverage(8, 0.2236, 50, long_runs)
    printed = capsys.readouterr().out.splitlines()
    quoted = [line for block in guide_blocks()[1:] for line in block]
    assert printed[0] in quoted
    assert printed[1] in quoted


@pytest.mark.slow
def test_the_guide_prints_the_coverage_at_l16(script, long_runs, capsys):
    script.coverage(16, script.BETA_C, 50, long_runs)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] in [line for block in guide_blocks()[1:] for line in block]


@pytest.mark.statistical
def test_the_3d_binder_error_bar_covers_a_long_run(script, long_runs):
    """sm.thermo's jackknife error of U4 on the 6^3 cube at beta_c covers the long run's value as often as a
    t-interval from 20 blocks promises (two-sided binomial test, p > 0.01); with the error bars halved the same
    test must fail (negative control)."""
    curve = script.Reweighted(6, *script.load_or_simulate(6, script.SWEEPS[6], long_runs))
    reference, replicas = curve.at_beta_c
    reference_error = np.sqrt((script.N_BLOCKS - 1) / script.N_BLOCKS * np.sum((replicas - replicas.mean()) ** 2))
    model = sm.Ising.cubic(6)
    z = []
    for seed in range(100):
        u4 = sm.thermo(model, script.BETA_C, method="wolff", n_sweeps=4000, burn_in=4000, seed=seed).binder_cumulant
        z.append((float(u4.value) - reference) / np.hypot(float(u4.stderr), reference_error))
    z = np.array(z)
    promised = float(2.0 * stats.t.cdf(1.0, 19) - 1.0)

    def pvalue(scores):
        return stats.binomtest(int(np.sum(np.abs(scores) < 1.0)), scores.size, promised).pvalue

    assert pvalue(z) > 0.01, (np.mean(np.abs(z) < 1.0), np.sqrt(np.mean(z**2)))
    assert pvalue(2.0 * z) < 0.01, "negative control: halved error bars passed"
