"""Quenched vs annealed disorder averages and the self-averaging exponent.

Expected exponents (Var f_N ∝ N^-a): a = 2 for SK at high temperature (β = 0.5,
O(1) fluctuations of log Z: Aizenman, Lebowitz & Ruelle 1987), a = 1 for the
short-range Edwards–Anderson model (central limit theorem).

Power of the default fits, measured over 20 seeds (200 instances per size):
SK, N = 8..16, Gaussian couplings: a = 1.83 mean (sd 0.24 between seeds,
reported stderr ≈ 0.20) — a finite-size bias of about −0.17 toward smaller a;
EA 2D periodic Gaussian by Pfaffians, L = 4, 6, 8, 10, 120 instances per
size (10 seeds): a = 1.02 mean (sd 0.09, reported stderr ≈ 0.10); by
transfer matrices at L = 3..6 (20 seeds): a = 1.04 (sd 0.14, stderr ≈ 0.11).
Each fit excludes the other exponent by > 4 standard errors. The slow tier
reaches L = 64 (N = 4096): a = 1.001 ± 0.040 (seed 2, χ² = 1.1 for 2 dof).
"""
import itertools
import math

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from scipy.special import logsumexp  # noqa: E402

import statmech.exact._mean_field  # noqa: E402,F401  (registers "curie-weiss" and "rem-sum")
from statmech.models._disorder import REM, SK, CurieWeiss, EdwardsAnderson, instance_seeds  # noqa: E402
from statmech.thermo import log_z as sm_log_z  # noqa: E402
from statmech.studies._disorder import (  # noqa: E402
    QuenchedResult,
    SelfAveragingResult,
    fit_power_law,
    log_variance_stderr,
    quenched,
    self_averaging,
)


def brute_log_z(model, beta):
    s = np.array(list(itertools.product([-1.0, 1.0], repeat=model.n_sites)))
    edges = np.asarray(model.edges)
    energy = -(s[:, edges[:, 0]] * s[:, edges[:, 1]]) @ np.asarray(model.couplings) - s @ np.asarray(model.field)
    return float(logsumexp(-beta * energy))


# ------------------------------------------------------------------ quenched
def test_quenched_values_are_per_instance_free_energy_densities():
    ensemble, beta = SK(6, h=0.1), 0.8
    result = quenched(ensemble, beta, 12, method="enumerate", seed=5, progress=False)
    assert isinstance(result, QuenchedResult)
    np.testing.assert_array_equal(result.instance_seeds, instance_seeds(5, 12))
    expected_log_z = [brute_log_z(ensemble.sample(int(s)), beta) for s in result.instance_seeds]
    np.testing.assert_allclose(result.log_z, expected_log_z, rtol=1e-12)
    f = -np.array(expected_log_z) / (6 * beta)
    np.testing.assert_allclose(result.values, f, rtol=1e-12)
    assert result.mean == pytest.approx(f.mean(), rel=1e-12)
    assert result.std == pytest.approx(f.std(ddof=1), rel=1e-10)
    assert result.stderr == pytest.approx(f.std(ddof=1) / math.sqrt(12), rel=1e-10)
    annealed = -(logsumexp(expected_log_z) - math.log(12)) / (6 * beta)
    assert result.annealed == pytest.approx(annealed, rel=1e-12)
    assert result.log_z_stderr is None and result.values_stderr is None
    assert (result.beta, result.n_sites, result.method, result.seed) == (beta, 6, "enumerate", 5)
    assert result.annealed_exact == pytest.approx(-ensemble.annealed_free_entropy_density(beta) / beta)
    assert "SK(n=6" in repr(result) and "enumerate" in repr(result)


def test_quenched_is_reproducible_and_seed_dependent():
    ensemble = EdwardsAnderson(3, periodic=False)
    first = quenched(ensemble, 0.7, 6, method="transfer", seed=1, progress=False)
    again = quenched(ensemble, 0.7, 6, method="transfer", seed=1, progress=False)
    other = quenched(ensemble, 0.7, 6, method="transfer", seed=2, progress=False)
    np.testing.assert_array_equal(first.values, again.values)
    assert not np.array_equal(first.values, other.values)


@pytest.mark.parametrize("ensemble,beta,method", [
    (SK(10), 0.5, "enumerate"),
    (SK(10, couplings="pm1"), 2.0, "enumerate"),
    (EdwardsAnderson(4, couplings="gaussian"), 1.0, "transfer"),
    (REM(10), 2.0, "auto"),
])
def test_quenched_free_energy_is_never_below_annealed(ensemble, beta, method):
    """Jensen: log mean Z >= mean log Z, for the sample and for the exact E[Z]."""
    result = quenched(ensemble, beta, 40, method=method, progress=False)
    assert result.annealed <= result.mean
    assert result.annealed_exact <= result.mean + 4 * result.stderr
    assert result.annealed_exact < result.mean  # strictly, at these sizes and temperatures


def test_annealed_sample_estimate_approaches_the_closed_form_at_high_temperature():
    # at β = 0.3 Z has small relative fluctuations: the sample average of Z converges quickly
    result = quenched(SK(12), 0.3, 200, method="enumerate", progress=False)
    assert result.annealed == pytest.approx(result.annealed_exact, abs=2e-3)


def test_clean_model_has_no_sample_to_sample_fluctuations():
    result = quenched(CurieWeiss(40, h=0.05), 1.2, 5, progress=False)
    assert result.method == "curie-weiss"
    assert result.std == 0.0
    assert result.annealed == pytest.approx(result.mean, rel=1e-14)
    assert result.annealed_exact == pytest.approx(result.mean, rel=1e-12)


def test_rem_auto_method_and_progress_bar():
    result = quenched(REM(8), 1.0, 60, progress=True)
    assert result.method == "rem-sum" and result.n_instances == 60
    energies = REM(8).sample(int(result.instance_seeds[3])).energies
    assert result.log_z[3] == pytest.approx(logsumexp(-energies), rel=1e-12)


def test_estimator_method_gets_a_seed_and_reports_errors():
    result = quenched(SK(6), 0.5, 3, method="ais", seed=0, progress=False, n_chains=32, n_steps=20)
    exact = quenched(SK(6), 0.5, 3, method="enumerate", seed=0, progress=False)
    assert result.method == "ais"
    assert result.log_z_stderr.shape == (3,) and np.all(result.log_z_stderr > 0)
    assert np.all(np.abs(result.log_z - exact.log_z) < 5 * result.log_z_stderr + 1e-3)
    again = quenched(SK(6), 0.5, 3, method="ais", seed=0, progress=False, n_chains=32, n_steps=20)
    np.testing.assert_array_equal(result.log_z, again.log_z)


@pytest.mark.parametrize("kwargs,error,match", [
    ({"n_instances": 0}, ValueError, "n_instances must be a positive int"),
    ({"n_instances": -3}, ValueError, "n_instances must be a positive int"),
    ({"n_instances": 2.0}, ValueError, "n_instances must be a positive int"),
    ({"n_instances": 3, "beta": 0.0}, ValueError, "needs beta > 0"),
    ({"n_instances": 3, "beta": [[0.1, 0.2]]}, ValueError, "beta must be a scalar or a 1-D array"),
    ({"n_instances": 3, "beta": [0.5, 0.0]}, ValueError, "needs beta > 0"),
    ({"n_instances": 3, "seed": -1}, ValueError, "seed must be >= 0"),
    ({"n_instances": 3, "method": "nonsense"}, ValueError, "unknown method 'nonsense'"),
    ({"n_instances": 3, "workers": 0}, ValueError, "workers must be a positive int"),
    ({"n_instances": 3, "workers": 1.5}, ValueError, "workers must be a positive int"),
])
def test_quenched_bad_input(kwargs, error, match):
    arguments = {"beta": 0.5, **kwargs}
    with pytest.raises(error, match=match):
        quenched(SK(4), progress=False, **arguments)


def test_worker_processes_give_the_same_instances_in_the_same_order():
    """Instances in two spawned processes: values identical to the in-process run, estimator seeds included."""
    ensemble = EdwardsAnderson(4, couplings="pm1", periodic=False)
    serial = quenched(ensemble, 0.7, 6, method="pfaffian", seed=3, progress=False)
    parallel = quenched(ensemble, 0.7, 6, method="pfaffian", seed=3, progress=False, workers=2)
    np.testing.assert_array_equal(parallel.log_z, serial.log_z)
    for k in (0, 5):
        assert serial.log_z[k] == pytest.approx(brute_log_z(ensemble.sample(int(serial.instance_seeds[k])), 0.7),
                                                rel=1e-12)
    noisy = quenched(SK(5), 0.5, 4, method="ais", seed=1, progress=False, workers=2, n_chains=16, n_steps=10)
    again = quenched(SK(5), 0.5, 4, method="ais", seed=1, progress=False, n_chains=16, n_steps=10)
    np.testing.assert_array_equal(noisy.log_z, again.log_z)
    np.testing.assert_array_equal(noisy.log_z_stderr, again.log_z_stderr)


@pytest.mark.parametrize("ensemble", [SK(18), SK(18, couplings="pm1", h=0.3)])
def test_enumeration_batched_over_instances_equals_one_by_one(ensemble):
    """N >= 18 with method="enumerate" runs vmapped batches of 64: same sums, same order (70 instances: two batches)."""
    result = quenched(ensemble, 0.8, 70, method="enumerate", seed=5, progress=True)
    for k in (0, 63, 64, 69):
        one = sm_log_z(ensemble.sample(int(result.instance_seeds[k])), 0.8, method="enumerate").value
        assert result.log_z[k] == pytest.approx(one, rel=1e-13)
    assert len(set(result.log_z.tolist())) == 70
    assert result.log_z_stderr is None and result.method == "enumerate"


@pytest.mark.parametrize("ensemble,method", [
    (SK(9), "enumerate"), (SK(18), "enumerate"),  # one by one, and vmapped batches
    (EdwardsAnderson(4, couplings="gaussian", periodic=True), "pfaffian"), (REM(7), "auto"),
])
def test_a_beta_grid_equals_one_run_per_beta(ensemble, method):
    """quenched on a β grid: (K, B) values, and every summary equal to separate runs at each β."""
    betas = np.array([0.3, 0.8, 2.0])
    grid = quenched(ensemble, betas, 12, method=method, seed=3, progress=False)
    assert grid.values.shape == grid.log_z.shape == (12, 3)
    assert grid.mean.shape == grid.std.shape == grid.stderr.shape == grid.annealed.shape == (3,)
    assert np.all(grid.annealed <= grid.mean)  # Jensen, at every β
    for j, beta in enumerate(betas):
        one = quenched(ensemble, float(beta), 12, method=method, seed=3, progress=False)
        np.testing.assert_allclose(grid.values[:, j], one.values, rtol=1e-13)
        for name in ("mean", "std", "stderr", "annealed"):
            assert getattr(grid, name)[j] == pytest.approx(getattr(one, name), rel=1e-12)
        if one.annealed_exact is not None:
            assert grid.annealed_exact[j] == pytest.approx(one.annealed_exact, rel=1e-12)
    k = 4
    model = ensemble.sample(int(grid.instance_seeds[k]))
    if hasattr(model, "edges"):
        expected = [brute_log_z(model, beta) for beta in betas]
    else:  # the REM: its 2^n energies
        expected = [logsumexp(-beta * np.asarray(model.energies)) for beta in betas]
    np.testing.assert_allclose(grid.log_z[k], expected, rtol=1e-12)
    assert "3 beta from 0.3 to 2" in repr(grid)


def test_a_beta_grid_with_an_estimator_carries_per_instance_errors():
    grid = quenched(SK(5), [0.4, 0.9], 3, method="ais", seed=1, progress=False, n_chains=16, n_steps=10)
    assert grid.log_z_stderr.shape == grid.values_stderr.shape == (3, 2)
    assert np.all(grid.log_z_stderr > 0)
    np.testing.assert_allclose(grid.values_stderr, grid.log_z_stderr / (5 * np.array([0.4, 0.9])))


def test_a_method_that_does_not_apply_is_refused_before_workers_start():
    with pytest.raises(ValueError, match="does not apply"):
        quenched(SK(40), 0.5, 2, method="enumerate", progress=False, workers=2)


def test_rem_too_large_for_enumeration():
    with pytest.raises(ValueError, match="must fit in memory: n <= 26"):
        quenched(REM(40), 1.0, 2)


# ------------------------------------------------------------ memory: streamed, bounded, refused up front
def test_a_run_above_the_memory_budget_is_refused_before_any_work(monkeypatch):
    import statmech.studies._disorder as disorder

    drawn = []
    def seeds(seed, n):
        drawn.append(n)
        if n > 1000:
            pytest.fail(f"{n} instance seeds drawn before the memory check")
        return instance_seeds(seed, n)

    monkeypatch.setattr(disorder, "instance_seeds", seeds)
    monkeypatch.setattr(disorder, "log_z", lambda *a, **k: pytest.fail("an instance was computed"))
    with pytest.raises(ValueError) as caught:
        quenched(SK(6), 0.5, 10**9)
    message = str(caught.value)
    need = float(message.split("would need about ")[1].split(" GiB")[0])
    assert need * 2**30 >= 10**9 * (2 * 8 + 8)  # at least log Z, f and the seed, 8 bytes each per instance
    assert "fewer instances" in message and "sweep study" in message and "memory_budget" in message
    assert drawn == [1]  # only instance 0's seed (to resolve the method): the 10^9 seeds were never drawn


def test_the_default_budget_follows_statmech_memory_limit(monkeypatch):
    """STATMECH_MEMORY_LIMIT, when set, is quenched's default budget too (the library-wide guard)."""
    import statmech.studies._disorder as disorder

    need = disorder.quenched_memory(200_000, 1, exact=True)
    assert need < disorder.MEMORY_BUDGET  # fits the 4 GiB default ...
    monkeypatch.setenv("STATMECH_MEMORY_LIMIT", str(need // 2))
    monkeypatch.setattr(disorder, "log_z", lambda *a, **k: pytest.fail("an instance was computed"))
    with pytest.raises(ValueError, match="memory_budget"):  # ... but not the budget the user set
        quenched(SK(6), 0.5, 200_000, method="enumerate", progress=False)


def test_the_memory_budget_is_the_estimate_of_what_is_held():
    from statmech.studies._disorder import quenched_memory

    grid = np.linspace(0.1, 1.0, 200)
    need = quenched_memory(50, 200, exact=True)
    assert need >= 50 * (2 * 200 * 8 + 8)  # log Z and f on 200 β, and the seed
    assert quenched_memory(50, 200, exact=False) >= need + 50 * 200 * 8  # and log Z's stderr
    result = quenched(SK(4), grid, 50, method="enumerate", progress=False, memory_budget=need)
    assert result.values.nbytes + result.log_z.nbytes + result.instance_seeds.nbytes <= need
    with pytest.raises(ValueError, match=r"would need about .* MiB at its peak.*at most about 49\b"):
        quenched(SK(4), grid, 50, method="enumerate", progress=False, memory_budget=need - 1)
    for bad in (0, -5, 1.5, True):
        with pytest.raises(ValueError, match="memory_budget must be a positive int"):
            quenched(SK(4), 0.5, 5, progress=False, memory_budget=bad)


@pytest.mark.parametrize("beta,method,options", [
    (0.7, "enumerate", {}),
    ([0.3, 0.7, 1.5], "enumerate", {}),
    ([0.3, 0.7], "ais", {"n_chains": 16, "n_steps": 10}),
])
def test_keep_values_false_keeps_running_moments_only_and_gives_the_same_summaries(beta, method, options):
    kept = quenched(SK(6, h=0.2), beta, 40, method=method, seed=4, progress=False, **options)
    running = quenched(SK(6, h=0.2), beta, 40, method=method, seed=4, progress=False, keep_values=False, **options)
    assert running.values is None and running.log_z is None and running.log_z_stderr is None
    assert running.n_instances == 40 and running.method == method
    np.testing.assert_array_equal(running.instance_seeds, kept.instance_seeds)
    for name in ("mean", "std", "stderr", "annealed"):
        np.testing.assert_allclose(getattr(running, name), getattr(kept, name), rtol=1e-12, err_msg=name)
        assert np.shape(getattr(running, name)) == np.shape(getattr(kept, name))
    assert repr(running).split(":")[0] == repr(kept).split(":")[0]
    with pytest.raises(ValueError, match="plot needs every instance's f.*keep_values=True"):
        running.plot()
    with pytest.raises(ValueError, match="control_variate_mean needs every instance's f"):
        running.control_variate_mean()


def test_keep_values_false_fits_a_budget_the_values_would_not():
    from statmech.studies._disorder import quenched_memory

    grid = np.linspace(0.2, 1.0, 100)
    lean = quenched_memory(30, 100, exact=True, keep_values=False)
    assert lean < quenched_memory(30, 100, exact=True)
    with pytest.raises(ValueError, match=r"keep only running means and variances \(keep_values=False\)"):
        quenched(SK(4), grid, 30, method="enumerate", progress=False, memory_budget=lean)
    result = quenched(SK(4), grid, 30, method="enumerate", progress=False, memory_budget=lean, keep_values=False)
    assert result.n_instances == 30 and result.mean.shape == (100,)
    with pytest.raises(ValueError, match="keep_values must be True or False"):
        quenched(SK(4), 0.5, 5, progress=False, keep_values="no")
    with pytest.raises(ValueError, match="self_averaging needs every instance's f"):
        self_averaging(lambda n: SK(n), [4, 5, 6], 0.5, n_instances=8, progress=False, keep_values=False)


def test_the_seed_allowance_covers_drawing_the_instance_seeds():
    """Drawing K instance seeds peaks at about 420 bytes per instance: within the estimate's _SEED_BYTES (512),
    the "half a kilobyte" of docs/guides/disorder.md; the default budget is the 4 GiB the docs give."""
    import tracemalloc

    import statmech.studies._disorder as disorder

    assert disorder.MEMORY_BUDGET == 4 * 2**30
    instance_seeds(0, 10)  # imports and caches out of the measurement
    tracemalloc.start()
    try:
        instance_seeds(1, 5000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak / 5000 <= disorder._SEED_BYTES
    assert disorder.quenched_memory(5000, 1, exact=True) >= peak


def test_batched_enumeration_draws_only_one_batch_of_disorder_at_a_time(monkeypatch):
    """The batched path samples instances per batch of 64, never the whole ensemble at once."""
    ensemble = SK(18)
    reference = quenched(ensemble, 0.8, 70, method="enumerate", seed=2, progress=False)
    monkeypatch.setattr(SK, "sample_batch", lambda *a, **k: pytest.fail("the whole ensemble was drawn"))
    import statmech.studies._disorder as disorder

    sizes = []
    original = disorder._enumerate_batch
    monkeypatch.setattr(disorder, "_enumerate_batch",
                        lambda ens, beta, seeds: sizes.append(len(seeds)) or original(ens, beta, seeds))
    again = quenched(ensemble, 0.8, 70, method="enumerate", seed=2, progress=False)
    assert sizes == [64, 6]
    np.testing.assert_array_equal(again.log_z, reference.log_z)


# ------------------------------------------------------------ self-averaging
def test_log_variance_stderr_is_the_gaussian_formula_for_gaussian_like_data():
    # symmetric two-point data has excess kurtosis −2: se = √(2/(K−1) − 2/K)
    values = np.array([-1.0, 1.0] * 50)
    assert log_variance_stderr(values) == pytest.approx(math.sqrt(2 / 99 - 2 / 100))
    # the sampling distribution of log s² of Gaussian data: sd over many repeats
    rng = np.random.default_rng(0)
    samples = rng.standard_normal((4000, 50))
    empirical = np.std(np.log(samples.var(axis=1, ddof=1)))
    predicted = np.mean([log_variance_stderr(x) for x in samples[:200]])
    assert predicted == pytest.approx(empirical, rel=0.1)


def test_fit_power_law_recovers_an_exact_power_law():
    n = np.array([10, 20, 40, 80])
    exponent, stderr, amplitude, chi2, dof = fit_power_law(n, 3.0 * n**-1.5, np.full(4, 0.1))
    assert exponent == pytest.approx(1.5) and amplitude == pytest.approx(3.0) and chi2 == pytest.approx(0, abs=1e-20)
    x = np.log(n)
    assert stderr == pytest.approx(0.1 / math.sqrt(np.sum((x - x.mean()) ** 2)))
    assert dof == 2


def test_sk_self_averaging_exponent_is_two_at_high_temperature():
    result = self_averaging(lambda n: SK(n), [8, 10, 12, 14, 16], 0.5, n_instances=200,
                            method="enumerate", seed=0, progress=False)
    assert isinstance(result, SelfAveragingResult)
    np.testing.assert_array_equal(result.n_sites, [8, 10, 12, 14, 16])
    assert 0.1 < result.exponent_stderr < 0.3  # the power of this test: a is known to ±0.2
    assert abs(result.exponent - 2.0) < 3 * result.exponent_stderr
    assert result.exponent - 1.0 > 4 * result.exponent_stderr  # the CLT exponent is excluded
    assert np.all(np.diff(result.variances) < 0)
    assert [r.n_instances for r in result.results] == [200] * 5


def test_edwards_anderson_self_averaging_exponent_is_one():
    """Periodic Gaussian 2D EA by the Pfaffian method: Var f_N ∝ 1/N.

    (With open boundaries the small-L fit is biased low, by about 0.5/L: the
    bonds number 2L(L−1), not 2L². With ±J couplings the leading
    Σ log cosh(βJ) is not random and wrap-around loops dominate at L = 3, 4.)
    """
    result = self_averaging(lambda L: EdwardsAnderson(L, couplings="gaussian", periodic=True),
                            [4, 6, 8, 10], 0.5, n_instances=120, method="pfaffian", seed=0, progress=False)
    assert result.method == "pfaffian"
    assert result.exponent_stderr < 0.15
    assert abs(result.exponent - 1.0) < 3 * result.exponent_stderr
    assert 2.0 - result.exponent > 4 * result.exponent_stderr


def test_quenched_plots_one_beta_and_a_grid():
    one = quenched(SK(6), 0.7, 20, method="enumerate", progress=False)
    figure = Figure()
    ax_one, ax_grid = figure.subplots(1, 2)
    assert one.plot(ax=ax_one) is ax_one
    assert len(ax_one.patches) >= 1  # the histogram
    lines = {line.get_label(): line for line in ax_one.get_lines()}
    quenched_line = next(line for label, line in lines.items() if label.startswith("quenched"))
    assert quenched_line.get_xdata()[0] == pytest.approx(one.mean)
    assert any(label.startswith("annealed (exact)") for label in lines)
    grid = quenched(SK(6), [0.3, 0.7, 1.5], 60, method="enumerate", progress=False)
    assert grid.plot(ax=ax_grid) is ax_grid
    curves = {line.get_label(): line for line in ax_grid.get_lines()}
    np.testing.assert_allclose(curves["quenched, 60 instances"].get_ydata(), grid.mean)
    assert len(ax_grid.get_lines()) == 50 + 3  # at most 50 instance curves, quenched, two annealed
    import matplotlib.pyplot as plt

    assert one.plot().figure is not None
    plt.close("all")


def test_self_averaging_plots_and_repr():
    result = self_averaging(lambda n: SK(n), [4, 5, 6], 0.5, n_instances=20, method="enumerate",
                            progress=False)
    figure = Figure()
    ax_hist, ax_var = figure.subplots(1, 2)
    assert result.plot_histograms(ax=ax_hist) is ax_hist
    assert len(ax_hist.patches) == 3
    assert result.plot_variance(ax=ax_var) is ax_var
    assert ax_var.get_xscale() == "log" and ax_var.get_yscale() == "log"
    standalone = result.plot_variance()  # a new Agg figure
    assert standalone.figure is not None
    import matplotlib.pyplot as plt

    plt.close("all")
    assert "a = " in repr(result)


@pytest.mark.parametrize("kwargs,match", [
    ({"sizes": [4, 5]}, "at least 3 sizes"),
    ({"sizes": [4, 4, 5]}, "distinct sizes"),
    ({"n_instances": 3}, "n_instances must be >= 4"),
    ({"beta": -1.0}, "beta must be >= 0"),
    ({"beta": [0.5, 1.0]}, "beta must be a scalar here"),
])
def test_self_averaging_bad_input(kwargs, match):
    arguments = {"sizes": [4, 5, 6], "beta": 0.5, "n_instances": 10, **kwargs}
    with pytest.raises(ValueError, match=match):
        self_averaging(lambda n: SK(n), method="enumerate", progress=False, **arguments)


@pytest.mark.slow
def test_sk_self_averaging_larger_sizes():
    result = self_averaging(lambda n: SK(n), [8, 11, 14, 17, 20], 0.5, n_instances=400,
                            method="enumerate", seed=1, progress=False)
    assert abs(result.exponent - 2.0) < 3 * result.exponent_stderr
    assert result.exponent_stderr < 0.2


@pytest.mark.slow
def test_edwards_anderson_self_averaging_larger_sizes():
    """The transfer-matrix method gives the same exponent on small tori (a cross-check of the Pfaffian fit)."""
    result = self_averaging(lambda L: EdwardsAnderson(L, couplings="gaussian", periodic=True),
                            [3, 4, 5, 6, 7], 0.5, n_instances=400, method="transfer", seed=1,
                            progress=False)
    assert abs(result.exponent - 1.0) < 3 * result.exponent_stderr
    assert result.exponent_stderr < 0.08


@pytest.mark.slow
def test_edwards_anderson_pfaffian_self_averaging_up_to_l64():
    """Periodic Gaussian EA, L = 8, 16, 32, 64 (N = 64 … 4096), 100 instances each, two processes.

    Each L = 64 torus takes a few seconds (four Pfaffians); the whole test a few minutes.
    """
    result = self_averaging(lambda L: EdwardsAnderson(L, couplings="gaussian", periodic=True),
                            [8, 16, 32, 64], 0.5, n_instances=100, method="pfaffian", seed=2,
                            progress=False, workers=2)
    assert result.exponent_stderr < 0.08
    assert abs(result.exponent - 1.0) < 3 * result.exponent_stderr
    assert np.all(np.diff(result.variances) < 0)


# ---------------------------------------------------------- control variates
from statmech.studies._disorder import control_variate_mean, weighted_least_squares  # noqa: E402


def sk_invariants(batch):
    """(Σ_{i<j} J_ij², Tr J³, Tr J⁴) of every instance of an SK batch: plain NumPy on dense matrices."""
    n = batch.n_sites
    edges = np.asarray(batch.edges)
    couplings = np.asarray(batch.couplings)
    J = np.zeros((len(couplings), n, n))
    J[:, edges[:, 0], edges[:, 1]] = couplings
    J += J.transpose(0, 2, 1)
    J2 = J @ J
    return np.stack([np.sum(J**2, axis=(1, 2)) / 2.0, np.einsum("kij,kji->k", J2, J),
                     np.einsum("kij,kji->k", J2, J2)], axis=1)


@pytest.mark.parametrize("couplings", ["gaussian", "pm1"])
def test_sk_control_variates_are_the_invariants_shifted_to_mean_zero(couplings):
    n, scale, count, seed = 6, 1.3, 20000, 3
    ensemble = SK(n, couplings=couplings, J=scale, h=0.2)
    raw = sk_invariants(ensemble.sample_batch(seed, count))
    seeds = instance_seeds(seed, count)
    library = np.array([ensemble.control_variates(ensemble.sample(int(s))) for s in seeds[:40]])
    # The library's controls are the invariants minus one constant per column (the field plays no part) ...
    shift = raw[:40] - library
    np.testing.assert_allclose(shift, np.broadcast_to(shift[0], shift.shape), rtol=0, atol=1e-12)
    other_field = SK(n, couplings=couplings, J=scale, h=-1.0)
    np.testing.assert_array_equal(other_field.control_variates(other_field.sample(int(seeds[0]))), library[0])
    # ... and that constant is the mean: each control averages to 0 over 20000 instances.
    controls = raw - shift[0]
    for column in range(3):
        spread = controls[:, column].std(ddof=1)
        if couplings == "pm1" and column == 0:  # Σ J² = (N − 1)J²/2 for every ±J instance
            assert spread < 1e-12 and np.all(library[:, 0] == 0.0)
            continue
        assert abs(controls[:, column].mean()) < 4.0 * spread / math.sqrt(count)
    # Negative controls: E Tr J⁴ of the other distribution (E J⁴ = 3σ⁴ vs σ⁴), or without the scale J,
    # is rejected by the same data.
    wrong_shape = (n - 1) * (2 * n - 3 if couplings == "gaussian" else 2 * n - 1) / n * scale**4
    right_shape_unit_scale = shift[0, 2] / scale**4
    tr4_se = raw[:, 2].std(ddof=1) / math.sqrt(count)
    for wrong in (wrong_shape, right_shape_unit_scale):
        assert abs(raw[:, 2].mean() - wrong) > 10 * tr4_se


def test_sk_control_variates_bad_input():
    ensemble = SK(5)
    with pytest.raises(ValueError, match="not a batch"):
        ensemble.control_variates(ensemble.sample_batch(0, 3))
    with pytest.raises(ValueError, match="has 6 sites"):
        ensemble.control_variates(SK(6).sample(0))
    with pytest.raises(TypeError, match="needs one SK instance"):
        ensemble.control_variates(REM(5).sample(0))


def test_control_variate_mean_is_the_regression_intercept_and_shrinks_the_error():
    rng = np.random.default_rng(0)
    count = 400
    x = rng.standard_normal((count, 2))
    y = 2.0 + 3.0 * x[:, 0] - x[:, 1] + 0.1 * rng.standard_normal(count)
    plain_mean, plain_stderr = control_variate_mean(y, np.zeros((count, 0)))
    assert plain_mean == pytest.approx(y.mean(), rel=1e-12)
    assert plain_stderr == pytest.approx(y.std(ddof=1) / 20.0, rel=1e-12)
    mean, stderr = control_variate_mean(y, x)
    assert abs(mean - 2.0) < 4 * stderr
    assert stderr < plain_stderr / 10
    # One control: the textbook estimator ȳ − b x̄ with b = cov(x, y)/var(x), and K − 2 dof.
    one_mean, one_stderr = control_variate_mean(y, x[:, 0])
    slope = np.cov(x[:, 0], y)[0, 1] / np.var(x[:, 0], ddof=1)
    assert one_mean == pytest.approx(y.mean() - slope * x[:, 0].mean(), rel=1e-12)
    residual = y - y.mean() - slope * (x[:, 0] - x[:, 0].mean())
    # sd with K − 2 dof, times the coefficient cost √((K − 2)/(K − 3)) (Lavenberg & Welch)
    assert one_stderr == pytest.approx(math.sqrt(np.sum(residual**2) / (count - 3) / count), rel=1e-12)
    # A (K, B) array is B regressions on the same controls.
    both_mean, both_stderr = control_variate_mean(np.column_stack([y, -y]), x)
    np.testing.assert_allclose(both_mean, [mean, -mean], rtol=1e-12)
    np.testing.assert_allclose(both_stderr, [stderr, stderr], rtol=1e-12)


def test_control_variate_mean_with_uncorrelated_controls_is_the_plain_mean_within_noise():
    rng = np.random.default_rng(1)
    count = 400
    y = 5.0 + rng.standard_normal(count)
    x = rng.standard_normal((count, 3))
    mean, stderr = control_variate_mean(y, x)
    plain_stderr = y.std(ddof=1) / math.sqrt(count)
    assert abs(mean - y.mean()) < 0.3 * plain_stderr  # differs by O(σ/K), not O(σ/√K)
    assert stderr == pytest.approx(plain_stderr, rel=0.05)


def test_control_variate_mean_is_unbiased_and_its_error_bar_is_calibrated():
    """2000 repeats of K = 100: the estimates scatter around the true mean 1 as the error bars say."""
    rng = np.random.default_rng(2)
    repeats, count = 2000, 100
    estimates, stderrs = np.empty(repeats), np.empty(repeats)
    for r in range(repeats):
        x = rng.standard_normal((count, 3))
        y = 1.0 + x @ np.array([1.0, 0.5, 0.0]) + 0.3 * rng.standard_exponential(count)  # skewed noise
        estimates[r], stderrs[r] = control_variate_mean(y - 0.3, x)
    assert abs(estimates.mean() - 1.0) < 4 * estimates.std(ddof=1) / math.sqrt(repeats)
    ratio = estimates.var(ddof=1) / np.mean(stderrs**2)  # (K − 2)/(K − p − 2) = 1.03 expected
    assert 0.9 < ratio < 1.15
    # The plain mean of the same data would be ~3.9 times less precise.
    assert np.mean(stderrs) < 0.3 * math.sqrt(1.0 + 0.25 + 0.09) / math.sqrt(count)


def test_quenched_control_variate_mean_on_a_grid_equals_scalar_runs():
    ensemble = SK(8)
    betas = np.array([0.5, 2.0])
    grid = quenched(ensemble, betas, 40, method="enumerate", seed=2, progress=False)
    mean, stderr = grid.control_variate_mean()
    assert mean.shape == stderr.shape == (2,)
    controls = np.array([ensemble.control_variates(ensemble.sample(int(s))) for s in grid.instance_seeds])
    explicit = grid.control_variate_mean(controls)
    np.testing.assert_array_equal(explicit[0], mean)
    for j, beta in enumerate(betas):
        one = quenched(ensemble, float(beta), 40, method="enumerate", seed=2, progress=False)
        one_mean, one_stderr = one.control_variate_mean()
        assert isinstance(one_mean, float) and isinstance(one_stderr, float)
        assert one_mean == pytest.approx(mean[j], rel=1e-12) and one_stderr == pytest.approx(stderr[j], rel=1e-10)
    # The SK controls explain most of the sample-to-sample variance at high temperature.
    assert stderr[0] < grid.stderr[0] / 4 and stderr[1] < grid.stderr[1]


def test_a_constant_control_column_is_dropped():
    """±J SK: Σ J² is the same for every instance, so only Tr J³ and Tr J⁴ enter the regression."""
    ensemble = SK(8, couplings="pm1")
    result = quenched(ensemble, 0.5, 30, method="enumerate", seed=4, progress=False)
    controls = np.array([ensemble.control_variates(ensemble.sample(int(s))) for s in result.instance_seeds])
    assert np.all(controls[:, 0] == 0.0)
    assert result.control_variate_mean() == pytest.approx(control_variate_mean(result.values, controls[:, 1:]),
                                                          rel=1e-12)
    # K = 5 is the least for the two remaining controls (K >= p + 3); Gaussian couplings have three.
    assert math.isfinite(quenched(ensemble, 0.5, 5, method="enumerate", progress=False).control_variate_mean()[1])
    with pytest.raises(ValueError, match="3 non-constant controls needs at least 6 samples"):
        quenched(SK(8), 0.5, 5, method="enumerate", progress=False).control_variate_mean()


@pytest.mark.parametrize("controls,match", [
    (np.zeros((5, 1)), r"shape \(K, p\) = \(6, p\)"),
    (np.zeros((6, 1, 1)), r"shape \(K, p\)"),
    (np.full((6, 1), np.nan), "finite"),
    (np.arange(30.0).reshape(6, 5) ** 2, "5 non-constant controls needs at least 8 samples"),
])
def test_control_variate_mean_bad_input(controls, match):
    result = quenched(SK(6), 0.5, 6, method="enumerate", progress=False)
    with pytest.raises(ValueError, match=match):
        result.control_variate_mean(controls)


def test_control_variate_mean_needs_controls_for_an_ensemble_without_them():
    result = quenched(EdwardsAnderson(3, couplings="gaussian"), 0.5, 5, method="enumerate", progress=False)
    with pytest.raises(ValueError, match="has no control_variates.*pass controls="):
        result.control_variate_mean()
    rng = np.random.default_rng(0)
    mean, stderr = result.control_variate_mean(rng.standard_normal(5))  # (K,): one control
    assert math.isfinite(mean) and stderr > 0


def test_weighted_least_squares_recovers_a_line_and_its_chi2():
    x = np.array([0.1, 0.2, 0.3, 0.4])
    se = np.array([0.01, 0.02, 0.01, 0.02])
    y = 1.0 - 2.0 * x + np.array([0.01, -0.02, 0.0, 0.02])
    coef, cov, chi2, dof = weighted_least_squares([np.ones_like(x), x], y, se)
    design = np.column_stack([np.ones_like(x), x]) / se[:, None]
    expected, *_ = np.linalg.lstsq(design, y / se, rcond=None)
    np.testing.assert_allclose(coef, expected, rtol=1e-12)
    np.testing.assert_allclose(cov, np.linalg.inv(design.T @ design), rtol=1e-12)
    assert chi2 == pytest.approx(np.sum(((y - np.column_stack([np.ones_like(x), x]) @ expected) / se) ** 2))
    assert dof == 2
    with pytest.raises(ValueError, match="one entry per point"):
        weighted_least_squares([np.ones(4), x], y, se[:3])
