"""Ridge regression: the Marchenko–Pastur closed forms vs quadrature, limits, optimal λ, and simulation."""
import math

import numpy as np
import pytest
from scipy import integrate, optimize, stats

import statmech as sm
from statmech.theory._glm import glm_state_evolution


# ------------------------------------------------------------------ closed forms vs the MP density
def mp_errors(alpha, lam, noise):
    """ε_gen and ε_train by quadrature over the Marchenko–Pastur law of G = XᵀX (entries of X ~ N(0, 1/N)).

    Nonzero eigenvalues have density √((s − a)(b − s))/(2π s) on [a, b] = [(1 ∓ √α)²] (mass min(1, α) per
    N eigenvalues of G); zero eigenvalues have weight (1 − α)₊ in G and (1 − 1/α)₊ in K = XXᵀ.
    """
    a, b = (1 - math.sqrt(alpha)) ** 2, (1 + math.sqrt(alpha)) ** 2

    def density(s):
        return math.sqrt(max((s - a) * (b - s), 0.0)) / (2 * math.pi * s)

    def quad(f):
        return integrate.quad(lambda s: f(s) * density(s), a, b, epsabs=1e-13, epsrel=1e-11, limit=200)[0]

    mass = quad(lambda s: 1.0)
    assert mass == pytest.approx(min(1.0, alpha), abs=1e-9)
    zero_g, zero_k = max(1.0 - alpha, 0.0), max(1.0 - 1.0 / alpha, 0.0)
    if lam == 0:
        gen = zero_g + noise * quad(lambda s: 1.0 / s)
        train = zero_k * noise
    else:
        gen = zero_g + quad(lambda s: (lam**2 + noise * s) / (s + lam) ** 2)
        train = quad(lambda s: lam**2 * (s + noise) / (s + lam) ** 2) / alpha + zero_k * noise
    return gen, train


@pytest.mark.parametrize("alpha", [0.3, 0.8, 1.0, 1.7, 4.0])
@pytest.mark.parametrize("lam", [0.0, 1e-3, 0.2, 3.0])
@pytest.mark.parametrize("noise", [0.0, 0.5])
def test_closed_form_matches_marchenko_pastur_quadrature(alpha, lam, noise):
    if alpha == 1.0 and lam == 0.0:
        pytest.skip("the λ = 0, α = 1 point is the divergence, tested separately")
    gen, train = mp_errors(alpha, lam, noise)
    theory = sm.theory.ridge(alpha, lam, noise)
    assert theory.generalization_error == pytest.approx(gen, rel=1e-8, abs=1e-12)
    assert theory.training_error == pytest.approx(train, rel=1e-8, abs=1e-12)
    assert theory.bias + theory.variance == pytest.approx(theory.generalization_error, rel=1e-14)


def test_ridgeless_limits_hastie_et_al():
    """Hastie et al. (2022) Thm 1 with γ = N/M = 1/α, r² = 1, σ² = Δ: min-norm risk
    r²(1 − 1/γ) + σ²/(γ − 1) for γ > 1 (α < 1) and σ² γ/(1 − γ) = Δ/(α − 1) for γ < 1."""
    noise = 0.3
    for alpha in (0.2, 0.5, 0.9):
        expected = (1 - alpha) + noise * alpha / (1 - alpha)
        assert sm.theory.ridge(alpha, 0.0, noise).generalization_error == pytest.approx(expected, rel=1e-12)
        assert sm.theory.ridge(alpha, 0.0, noise).training_error == 0.0
    for alpha in (1.1, 2.0, 10.0):
        assert sm.theory.ridge(alpha, 0.0, noise).generalization_error == pytest.approx(noise / (alpha - 1), rel=1e-12)
        # least squares residual: Δ (M − N)/M
        assert sm.theory.ridge(alpha, 0.0, noise).training_error == pytest.approx(noise * (1 - 1 / alpha), rel=1e-12)
    peak = sm.theory.ridge(1.0, 0.0, noise)
    assert peak.generalization_error == np.inf and peak.training_error == 0.0
    assert sm.theory.ridge(1.0, 0.0, 0.0).generalization_error == 0.0
    # λ → 0⁺ is continuous with λ = 0
    for alpha in (0.5, 2.0):
        assert sm.theory.ridge(alpha, 1e-12, noise).generalization_error == pytest.approx(
            sm.theory.ridge(alpha, 0.0, noise).generalization_error, rel=1e-9)


def test_vectorised_over_alpha_and_lambda():
    alphas = np.linspace(0.2, 3.0, 7)
    lams = np.array([0.0, 0.1, 1.0])
    grid = sm.theory.ridge(alphas[:, None], lams[None, :], 0.25)
    assert grid.generalization_error.shape == (7, 3) and grid.training_error.shape == (7, 3)
    for i, alpha in enumerate(alphas):
        for j, lam in enumerate(lams):
            one = sm.theory.ridge(float(alpha), float(lam), 0.25)
            assert isinstance(one.generalization_error, float)
            assert grid.generalization_error[i, j] == one.generalization_error
            assert grid.training_error[i, j] == one.training_error


def test_optimal_lambda_is_the_noise_variance_and_gives_the_bayes_mmse():
    for noise in (0.05, 0.5, 2.0):
        for alpha in (0.3, 1.0, 3.0):
            best = optimize.minimize_scalar(lambda log_lam: sm.theory.ridge(alpha, math.exp(log_lam), noise)
                                            .generalization_error, bounds=(-12, 6), method="bounded",
                                            options={"xatol": 1e-10})
            assert math.exp(best.x) == pytest.approx(noise, rel=1e-4)
            # λ = Δ is the posterior mean: its error is the MMSE of Bayes-optimal AMP (Gaussian prior, linear channel)
            se = glm_state_evolution(alpha, "gaussian", "linear", noise, n_iter=2000, tol=1e-15)
            assert sm.theory.ridge(alpha, noise, noise).generalization_error == pytest.approx(se.mse[-1], rel=1e-9)


def test_double_descent_peak_and_its_removal():
    alphas = np.linspace(0.05, 4.0, 400)
    noise = 0.25
    ridgeless = sm.theory.ridge(alphas, 0.0, noise).generalization_error
    tiny = sm.theory.ridge(alphas, 1e-6, noise).generalization_error
    peak = alphas[np.argmax(tiny)]
    assert abs(peak - 1.0) < 0.02
    assert np.nanmax(ridgeless[np.isfinite(ridgeless)]) > 10 * ridgeless[0]
    optimal = sm.theory.ridge(alphas, noise, noise).generalization_error
    assert np.all(np.diff(optimal) < 0)                                   # monotone: no peak
    assert np.all(optimal <= tiny + 1e-12)


@pytest.mark.parametrize("bad, error", [
    (dict(alpha=0.0, lam=1.0), ValueError), (dict(alpha=1.0, lam=-1.0), ValueError),
    (dict(alpha=1.0, lam=1.0, noise=-0.1), ValueError), (dict(alpha=np.nan, lam=1.0), ValueError),
    (dict(alpha="1", lam=1.0), TypeError), (dict(alpha=[1.0, -2.0], lam=1.0), ValueError),
])
def test_bad_input(bad, error):
    with pytest.raises(error, match="alpha|lam|noise"):
        sm.theory.ridge(**bad)


# ------------------------------------------------------------------ theory vs simulation
ALPHAS = np.array([0.2, 0.4, 0.6, 0.8, 0.9, 1.1, 1.25, 1.5, 2.0, 3.0])
NOISE = 0.25


def z_scores(sim, noise):
    theory = sm.theory.ridge(sim.alpha, sim.lam, noise)
    zg = (sim.generalization_error - theory.generalization_error) / sim.generalization_stderr
    keep = theory.training_error > 0          # ridgeless interpolation (α < 1): exactly 0 in theory and simulation
    zt = (sim.training_error[keep] - theory.training_error[keep]) / sim.training_stderr[keep]
    return np.concatenate([zg.ravel(), zt.ravel()])


def simulate(n_features, n_seeds, seed, teacher, alphas=ALPHAS):
    lams = np.array([0.0, NOISE])             # λ → 0 (minimum norm) and the optimal λ = Δ
    return sm.ml.ridge_simulation(alphas[:, None], lams[None, :], NOISE, n_features=n_features, n_seeds=n_seeds,
                                  seed=seed, teacher=teacher)


def hotelling_fisher(sim, noise):
    """Fisher-combined p-value of per-α Hotelling T² tests of (ε_gen, ε_train at both λ) against the theory.

    The four errors at one α share their data sets (paired, strongly correlated), so a plain Σ z² is not χ²;
    T² uses their sample covariance: (n − p)/(p (n − 1)) T² ~ F(p, n − p). Different α use independent data.
    """
    theory = sm.theory.ridge(sim.alpha, sim.lam, noise)
    n = sim.n_seeds
    log_p = []
    for i in range(sim.alpha.shape[0]):
        columns = [sim.generalization_samples[:, i, :] - theory.generalization_error[i]]
        keep = theory.training_error[i] > 0
        columns.append((sim.training_samples[:, i, :] - theory.training_error[i])[:, keep])
        data = np.concatenate(columns, axis=1)
        p = data.shape[1]
        mean = data.mean(axis=0)
        t2 = n * mean @ np.linalg.solve(np.cov(data, rowvar=False), mean)
        log_p.append(stats.f.logsf((n - p) / (p * (n - 1)) * t2, p, n - p))
    return stats.chi2.sf(-2 * np.sum(log_p), 2 * len(log_p))


def check_against_theory(sim, noise, n_seeds):
    """Every |z| below the Bonferroni bound (family-wise 1%, Student t with n_seeds − 1 dof); joint p-value."""
    z = z_scores(sim, noise)
    bound = stats.t.ppf(1 - 0.01 / (2 * z.size), n_seeds - 1)
    return z, bound, hotelling_fisher(sim, noise)


def test_simulation_matches_theory_on_the_double_descent_curve():
    """N = 400, 20 seeds, teacher rescaled to |θ*|² = N (same expectation as θ* ~ N(0, I), see
    ridge_simulation; it removes the χ²_N spread of |θ*|² from the error bars).

    Finite-N bias: at λ = 0 the variance term is Δ M/(N − M − 1)/N (α < 1) or Δ/(M − N − 1)·N/N (α > 1), a
    relative bias 1/|M − N|, which at N = 200 and α = 0.9, 1.1 is 5%, comparable to the error bar (measured:
    max |z| 3.95 there). This default-tier check therefore keeps |M − N| >= 100 (α = 0.75, 1.25 at N = 400, bias
    ≈ 1%, < 0.5 stderr); the slow test covers α = 0.9, 1.1 at N = 1000."""
    alphas = np.array([0.25, 0.5, 0.75, 1.25, 1.5, 2.0, 3.0])
    sim = simulate(400, 20, seed=0, teacher="spherical", alphas=alphas)
    # ridgeless data at α < 1 interpolate: training error exactly 0 in both
    assert np.all(sim.training_error[alphas < 1, 0] < 1e-20)
    z, bound, p_joint = check_against_theory(sim, NOISE, 20)
    assert np.max(np.abs(z)) < bound, (np.round(z, 2), bound)
    assert p_joint > 0.01
    # negative control: the theory with a 25% wrong noise variance fails the same check
    z_wrong, _, p_wrong = check_against_theory(sim, 1.25 * NOISE, 20)
    assert p_wrong < 0.01


@pytest.mark.slow
def test_simulation_matches_theory_at_n_1000():
    n_seeds = 30
    sim = simulate(1000, n_seeds, seed=1, teacher="gaussian")
    z, bound, p_joint = check_against_theory(sim, NOISE, n_seeds)
    assert np.max(np.abs(z)) < bound, (np.round(z, 2), bound)
    assert p_joint > 0.01
    assert np.mean(np.abs(z) < 2) > 0.85   # about 95% expected within 2σ


def test_simulation_reproducible_and_validated():
    a = sm.ml.ridge_simulation([0.5, 2.0], 0.1, 0.2, n_features=20, n_seeds=3, seed=5)
    b = sm.ml.ridge_simulation([0.5, 2.0], 0.1, 0.2, n_features=20, n_seeds=3, seed=5)
    np.testing.assert_array_equal(a.generalization_samples, b.generalization_samples)
    assert a.generalization_samples.shape == (3, 2)
    # one data set at each α against a direct solve (M = 10 < N and M = 40 > N)
    for column, m in ((0, 10), (1, 40)):
        rng = np.random.default_rng(np.random.SeedSequence([5, m]).spawn(3)[0])
        teacher = rng.normal(size=20)
        X = rng.normal(size=(m, 20)) / math.sqrt(20)
        y = X @ teacher + math.sqrt(0.2) * rng.normal(size=m)
        theta = np.linalg.solve(X.T @ X + 0.1 * np.eye(20), X.T @ y)
        assert a.generalization_samples[0, column] == pytest.approx(np.sum((theta - teacher) ** 2) / 20, rel=1e-10)
        assert a.training_samples[0, column] == pytest.approx(np.mean((y - X @ theta) ** 2), rel=1e-10)
    # λ = 0: the minimum-norm least-squares solution (lstsq)
    b = sm.ml.ridge_simulation([0.5, 2.0], 0.0, 0.2, n_features=20, n_seeds=3, seed=5)
    for column, m in ((0, 10), (1, 40)):
        rng = np.random.default_rng(np.random.SeedSequence([5, m]).spawn(3)[0])
        teacher = rng.normal(size=20)
        X = rng.normal(size=(m, 20)) / math.sqrt(20)
        y = X @ teacher + math.sqrt(0.2) * rng.normal(size=m)
        theta = np.linalg.lstsq(X, y, rcond=None)[0]
        assert b.generalization_samples[0, column] == pytest.approx(np.sum((theta - teacher) ** 2) / 20, rel=1e-9)
        assert b.training_samples[0, column] == pytest.approx(np.mean((y - X @ theta) ** 2), rel=1e-9, abs=1e-20)
    with pytest.raises(ValueError, match="n_seeds"):
        sm.ml.ridge_simulation(1.0, 0.1, n_seeds=1)
    with pytest.raises(ValueError, match="lam"):
        sm.ml.ridge_simulation(1.0, -0.1)
    with pytest.raises(ValueError, match="teacher"):
        sm.ml.ridge_simulation(1.0, 0.1, teacher="binary")


def test_spherical_teacher_has_the_gaussian_teachers_mean():
    """At N = 20 (far from the limit) both teachers give the same mean error (to their error bars)."""
    kw = dict(alpha=[0.5, 2.0], lam=0.3, noise=0.1, n_features=20, n_seeds=400, seed=3)
    g = sm.ml.ridge_simulation(teacher="gaussian", **kw)
    s = sm.ml.ridge_simulation(teacher="spherical", **kw)
    z = (g.generalization_error - s.generalization_error) / np.hypot(g.generalization_stderr, s.generalization_stderr)
    assert np.all(np.abs(z) < 3.5)
    assert np.all(s.generalization_stderr < g.generalization_stderr)
