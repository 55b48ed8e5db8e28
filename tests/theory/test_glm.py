"""GLM theory: Bayes-optimal state evolution, the RS free entropy, and the teacher–student perceptron."""
import math

import numpy as np
import pytest
from scipy import integrate

import statmech as sm
from statmech.ml._perceptron import gibbs_learning_rs


def test_gaussian_linear_fixed_point_solves_the_quadratic():
    """Gaussian prior, linear channel: mse = 1/(1 + α/(Δ + mse)), i.e. mse² + (α + Δ − 1) mse − Δ = 0."""
    for alpha, noise in ((0.5, 0.1), (1.0, 0.01), (3.0, 1.0)):
        se = sm.theory.glm_state_evolution(alpha, "gaussian", "linear", noise, n_iter=5000, tol=1e-15)
        b = alpha + noise - 1
        assert se.converged
        assert se.mse[-1] == pytest.approx((-b + math.sqrt(b * b + 4 * noise)) / 2, rel=1e-10)
        assert se.mse[0] == 1.0 and np.all(np.diff(se.mse) < 0)


def test_free_entropy_equals_log_evidence_for_the_linear_gaussian_model():
    """max Φ = lim (1/N) E ln N(y; 0, XXᵀ + Δ) = −(α/2)(ln 2π + 1) − (1/2N) ln det(XXᵀ + Δ), here at N = 800."""
    alpha, noise, n = 1.5, 0.2, 800
    result = sm.theory.glm_replica(alpha, "gaussian", "linear", noise)
    rng = np.random.default_rng(0)
    values = []
    for _ in range(3):
        X = rng.normal(size=(int(alpha * n), n)) / math.sqrt(n)
        _, logdet = np.linalg.slogdet(X @ X.T + noise * np.eye(X.shape[0]))
        values.append(-alpha / 2 * (math.log(2 * math.pi) + 1) - logdet / (2 * n))
    # ln det/N fluctuates by O(1/N) and has an O(1/N) bias: 3/N is a generous bound at N = 800
    assert result.free_entropy == pytest.approx(np.mean(values), abs=3.0 / n)


@pytest.mark.parametrize("alpha, prior, channel, noise, flip", [
    (2.0, "gaussian", "sign", 0.0, 0.0), (1.3, "rademacher", "sign", 0.0, 0.0), (1.0, "rademacher", "linear", 0.5, 0.0),
    (2.0, "gaussian", "sign", 0.1, 0.0), (3.0, "rademacher", "sign", 0.0, 0.1), (0.7, "gaussian", "linear", 0.3, 0.0),
])
def test_state_evolution_fixed_points_are_stationary_points_of_the_free_entropy(alpha, prior, channel, noise, flip):
    se = sm.theory.glm_state_evolution(alpha, prior, channel, noise, flip=flip, n_iter=5000, tol=1e-14)
    m = se.overlap[-1]
    h = 1e-5

    def phi(x):
        return sm.theory.glm_replica_free_entropy(alpha, x, prior, channel, noise, flip=flip)

    slope = (phi(m + h) - phi(m - h)) / (2 * h)
    assert abs(slope) < 1e-6
    slope_away = (phi(0.8 * m + h) - phi(0.8 * m - h)) / (2 * h)
    assert slope_away > 1e-3                             # Φ rises towards the fixed point from below


def test_free_entropy_argmax_is_the_state_evolution_fixed_point():
    alpha = 2.0
    grid = np.linspace(0.01, 0.99, 99)
    values = sm.theory.glm_replica_free_entropy(alpha, grid, "gaussian", "sign")
    result = sm.theory.glm_replica(alpha, "gaussian", "sign")
    assert abs(grid[np.argmax(values)] - result.overlap) < 0.01
    assert result.free_entropy >= values.max() - 1e-12


def test_prior_free_entropy_and_denoiser_against_quadrature():
    from statmech.theory._glm import glm_prior
    for name in ("gaussian", "rademacher"):
        prior = glm_prior(name)
        mhat = 1.7
        if name == "gaussian":
            def log_z0(b):
                return b * b / (2 * (1 + mhat)) - 0.5 * math.log(1 + mhat)
            nodes, weights = np.polynomial.hermite_e.hermegauss(40)        # θ ~ N(0, 1): Gauss–Hermite
            draw = list(zip(nodes, weights / math.sqrt(2 * math.pi)))
        else:
            def log_z0(b):
                return -mhat / 2 + math.log(math.cosh(b))
            draw = [(-1.0, 0.5), (1.0, 0.5)]
        value = 0.0
        for theta, weight in draw:
            inner = integrate.quad(lambda x: log_z0(mhat * theta + math.sqrt(mhat) * x)
                                   * math.exp(-x * x / 2) / math.sqrt(2 * math.pi), -12, 12, epsabs=1e-12)[0]
            value += weight * inner
        assert prior.potential(mhat) == pytest.approx(value, rel=1e-6)
        # m = 2 dΨ₀/dm̂
        h = 1e-5
        assert 2 * (prior.potential(mhat + h) - prior.potential(mhat - h)) / (2 * h) == pytest.approx(
            prior.overlap(mhat), rel=1e-6)


# ------------------------------------------------------------------ the perceptron
@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0, 5.0, 10.0])
def test_spherical_perceptron_overlap_equals_gibbs_learning_rs(alpha):
    """Nishimori: the Bayes-optimal overlap m equals the Gibbs-learning q = R (Engel & Van den Broeck eq. 2.42)."""
    result = sm.theory.glm_replica(alpha, "gaussian", "sign")
    gibbs = gibbs_learning_rs(alpha)
    assert result.overlap == pytest.approx(gibbs.overlap, abs=1e-9)
    # Bayes-optimal ε = arccos(√q)/π below Gibbs ε = arccos(q)/π
    assert result.generalization_error == pytest.approx(math.acos(math.sqrt(gibbs.overlap)) / math.pi, rel=1e-9)
    assert result.generalization_error < gibbs.generalization_error


def test_perceptron_large_alpha_constants():
    """ε_Gibbs ≈ 0.6246/α and ε_Bayes ≈ 0.442/α (Opper & Haussler 1991; Engel & Van den Broeck §3.3)."""
    alpha = 300.0
    bayes = sm.theory.glm_replica(alpha, "gaussian", "sign").generalization_error
    gibbs = gibbs_learning_rs(alpha).generalization_error
    assert alpha * gibbs == pytest.approx(0.6246, rel=2e-3)
    assert alpha * bayes == pytest.approx(0.442, rel=2e-3)
    assert gibbs / bayes == pytest.approx(math.sqrt(2), rel=2e-3)


def test_perceptron_small_alpha():
    """Small α: m ≈ m̂ = α E[g_out²] at m = 0 = 2α/π, so ε_Bayes ≈ 1/2 − √(2α/π)/π."""
    alpha = 1e-4
    result = sm.theory.glm_replica(alpha, "gaussian", "sign")
    assert result.overlap == pytest.approx(2 * alpha / math.pi, rel=1e-3)


def test_binary_perceptron_first_order_transition():
    """±1 teacher, ±1 prior: perfect generalisation beyond α_IT ≈ 1.245 (Györgyi 1990; 1.249 in Barbier et al.

    2019), reached by AMP from an uninformed start only beyond α_alg ≈ 1.493 (Barbier et al. 2019)."""
    def result(alpha):
        return sm.theory.glm_replica(alpha, "rademacher", "sign")

    assert result(1.238).overlap < 0.9 and result(1.255).overlap > 1 - 1e-9       # 1.238 < α_IT < 1.255
    assert result(1.485).algorithmic_overlap < 0.95 and result(1.500).algorithmic_overlap > 1 - 1e-9
    below = sm.theory.glm_replica(1.2, "rademacher", "sign")
    assert 0.3 < below.overlap < 0.9 and below.overlap == below.algorithmic_overlap
    between = sm.theory.glm_replica(1.4, "rademacher", "sign")
    assert between.overlap == pytest.approx(1.0, abs=1e-9) and between.algorithmic_overlap < 0.95


# ------------------------------------------------------------------ bad input
def test_unknown_prior_or_channel_lists_the_implemented_ones():
    with pytest.raises(ValueError, match="gaussian, rademacher"):
        sm.theory.glm_state_evolution(1.0, "laplace", "linear", 0.1)
    with pytest.raises(ValueError, match="linear, sign"):
        sm.theory.glm_state_evolution(1.0, "gaussian", "relu", 0.1)
    with pytest.raises(ValueError, match="flip"):
        sm.theory.glm_state_evolution(1.0, "gaussian", "linear", 0.1, flip=0.1)
    with pytest.raises(ValueError, match="flip"):
        sm.theory.glm_state_evolution(1.0, "gaussian", "sign", flip=0.5)
    with pytest.raises(ValueError, match="noise"):
        sm.theory.glm_state_evolution(1.0, "gaussian", "linear", -1.0)
    with pytest.raises(ValueError, match="alpha"):
        sm.theory.glm_replica(0.0, "gaussian", "linear", 0.1)
    with pytest.raises(ValueError, match="overlap"):
        sm.theory.glm_replica_free_entropy(1.0, 1.0, "gaussian", "sign")


def test_numbers_printed_in_the_ml_guide():
    """docs/guides/ml.md prints these (each also follows from the independent checks above)."""
    for alpha, bayes, gibbs in ((1.0, 0.254, 0.338), (2.0, 0.175, 0.240), (5.0, 0.084, 0.118)):
        assert round(sm.theory.glm_replica(alpha, "gaussian", "sign").generalization_error, 3) == bayes
        assert round(gibbs_learning_rs(alpha).generalization_error, 3) == gibbs
    assert sm.theory.glm_replica(1.3, "rademacher", "sign").overlap == 1.0
    ridgeless = sm.theory.ridge(np.array([0.5, 0.9, 1.1, 2.0]), 0.0, 0.25).generalization_error
    np.testing.assert_allclose(ridgeless, [0.75, 0.1 + 0.25 * 9, 2.5, 0.25], rtol=1e-12)
