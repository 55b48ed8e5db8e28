"""Teacher–student perceptron: data, Gibbs learning vs replica theory, Cover's separability curve."""
import math

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, special

from statmech.ml._perceptron import (
    Perceptron,
    cover_separable_fraction,
    gibbs_generalization,
    gibbs_learning_rs,
    is_separable,
    separability_curve,
)


# ------------------------------------------------------------------ the model
def test_data_and_energy_match_plain_numpy():
    p = Perceptron(30, 2.0, seed=4)
    assert p.X.shape == (60, 30) and p.y.shape == (60,) and p.dim == 30 and p.n_examples == 60
    assert np.linalg.norm(p.teacher) ** 2 == pytest.approx(30)
    np.testing.assert_array_equal(p.y, np.sign(p.X @ p.teacher))
    assert p.training_errors(p.teacher) == 0
    assert p.training_errors(-p.teacher) == 60
    w = np.random.default_rng(1).normal(size=(5, 30))
    expected = np.array([sum(1 for mu in range(60) if p.y[mu] * (p.X[mu] @ v) <= 0) for v in w])
    np.testing.assert_array_equal(p.training_errors(w), expected)
    assert float(p.loss(jnp.asarray(w[0]))) == expected[0]


def test_binary_teacher_and_generalization_error():
    p = Perceptron(40, 1.0, weights="binary", seed=2)
    assert set(np.unique(p.teacher)) == {-1.0, 1.0}
    assert p.generalization_error(p.teacher) == pytest.approx(0.0, abs=1e-7)
    assert p.generalization_error(-p.teacher) == pytest.approx(1.0)
    w = p.teacher.copy()
    w[:10] *= -1                                   # R = (40 − 20)/40 = 1/2 → ε = 1/3
    assert p.generalization_error(w) == pytest.approx(1.0 / 3.0)


def test_generalization_error_is_the_disagreement_probability():
    p = Perceptron(10, 1.0, seed=0)
    rng = np.random.default_rng(5)
    w = p.teacher + 2.0 * rng.normal(size=10)
    fresh = rng.normal(size=(200_000, 10))
    disagree = np.mean(np.sign(fresh @ w) != np.sign(fresh @ p.teacher))
    assert p.generalization_error(w) == pytest.approx(disagree, abs=4 * math.sqrt(0.25 / 200_000))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(n=10, alpha=0.0), ValueError, "alpha"),
        (dict(n=10, alpha=-1.0), ValueError, "alpha"),
        (dict(n=10, alpha=float("nan")), ValueError, "alpha"),
        (dict(n=10, alpha="2"), TypeError, "alpha"),
        (dict(n=1, alpha=1.0), ValueError, "n .* >= 2"),
        (dict(n=10, alpha=1.0, weights="ising"), ValueError, "'spherical' or 'binary'"),
        (dict(n=10, alpha=0.01), ValueError, "rounds to 0 examples"),
    ],
)
def test_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        Perceptron(**kwargs)


def test_bad_sampler_input():
    p = Perceptron(10, 1.0, weights="binary")
    with pytest.raises(ValueError, match="needs weights='spherical'"):
        gibbs_generalization(p, np.inf)
    with pytest.raises(ValueError, match="beta must be >= 0"):
        gibbs_generalization(p, -1.0)
    with pytest.raises(ValueError, match="n_sweeps must be >= 32"):
        gibbs_generalization(p, 1.0, n_sweeps=5)
    with pytest.raises(TypeError, match="Perceptron"):
        gibbs_generalization("model", 1.0)
    with pytest.raises(ValueError, match="alpha"):
        gibbs_learning_rs(0.0)
    with pytest.raises(ValueError, match="alpha"):
        separability_curve(10, [1.0, -2.0], n_samples=4)


# ------------------------------------------------------------------ replica-symmetric theory
def _version_space_integral(r):
    """∫ Dt exp(−R t²/2)/H(−√R t), written here independently (H(−x) = Φ(x) = ndtr(x))."""
    def f(t):
        return math.exp(-0.5 * t * t * (1 + r) - special.log_ndtr(math.sqrt(r) * t)) / math.sqrt(2 * math.pi)
    return integrate.quad(f, -40, 40, limit=200)[0]


def test_rs_small_alpha_limit():
    # R ≈ (α/π)·∫Dt/H(0) = 2α/π and ε = arccos(R)/π ≈ 1/2 − 2α/π²
    for alpha in (1e-4, 1e-3):
        theory = gibbs_learning_rs(alpha)
        assert theory.overlap == pytest.approx(2 * alpha / math.pi, rel=1e-2)
        assert theory.generalization_error == pytest.approx(0.5 - 2 * alpha / math.pi**2, abs=1e-6)
    assert gibbs_learning_rs(1e-8).generalization_error == pytest.approx(0.5, abs=1e-8)


def test_rs_large_alpha_limit():
    # 1 − R ≈ (π/(α I₁))², ε ≈ √2/(α I₁) ≈ 0.625/α (Engel & Van den Broeck, ch. 2)
    asymptote = math.sqrt(2) / _version_space_integral(1.0)
    assert asymptote == pytest.approx(0.625, abs=1e-3)
    assert 1e4 * gibbs_learning_rs(1e4).generalization_error == pytest.approx(asymptote, rel=1e-3)
    assert 100 * gibbs_learning_rs(100.0).generalization_error == pytest.approx(asymptote, rel=1e-2)


@pytest.mark.parametrize("alpha", [0.5, 2.0, 5.0])
def test_rs_solves_the_saddle_point_equation(alpha):
    theory = gibbs_learning_rs(alpha)
    r = theory.overlap
    assert r / math.sqrt(1 - r) == pytest.approx(alpha / math.pi * _version_space_integral(r), rel=1e-8)
    assert theory.generalization_error == pytest.approx(math.acos(r) / math.pi, rel=1e-10)


def test_rs_is_monotone_in_alpha():
    eps = [gibbs_learning_rs(a).generalization_error for a in (0.1, 1.0, 3.0, 10.0)]
    assert all(e1 > e2 for e1, e2 in zip(eps, eps[1:]))


# ------------------------------------------------------------------ Cover's theorem
def test_cover_formula_matches_the_binomial_sum():
    for m, n in [(5, 3), (20, 10), (40, 20), (81, 40), (3, 5)]:
        exact = 2.0 ** (1 - m) * sum(math.comb(m - 1, k) for k in range(n))
        assert cover_separable_fraction(m, n) == pytest.approx(min(exact, 1.0), rel=1e-12)
    assert cover_separable_fraction(80, 40) == pytest.approx(0.5, rel=1e-12)


def test_is_separable_on_obvious_cases():
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    assert is_separable(X, np.array([1.0, 1.0, 1.0]))
    assert not is_separable(np.array([[1.0, 0.0], [-1.0, 0.0]]), np.array([1.0, 1.0]))  # x and −x, same label
    p = Perceptron(20, 3.0, seed=0)                          # teacher labels are always separable
    assert is_separable(p.X, p.y)


def test_lp_fraction_agrees_with_cover():
    curve = separability_curve(20, [1.5, 2.0, 2.5], n_samples=120, seed=1)
    np.testing.assert_array_equal(curve.n_points, [30, 40, 50])
    for f, p in zip(curve.fraction, curve.cover):
        assert abs(f - p) < 4 * math.sqrt(p * (1 - p) / curve.n_samples)


def test_separability_transition_at_alpha_two():
    curve = separability_curve(40, [1.6, 1.8, 2.0, 2.2, 2.4], n_samples=80, seed=2)
    assert curve.fraction[0] > 0.8 and curve.fraction[-1] < 0.2
    assert abs(curve.crossing(0.5) - 2.0) < 0.2


# ------------------------------------------------------------------ Gibbs learning (Monte Carlo)
def test_version_space_samples_have_no_training_errors():
    p = Perceptron(20, 2.0, seed=3)
    result = gibbs_generalization(p, np.inf, n_sweeps=200, seed=0, n_chains=2)
    assert result.training_errors == 0
    assert np.all(p.training_errors(result.final_weights) == 0)
    np.testing.assert_allclose(np.linalg.norm(result.final_weights, axis=1) ** 2, 20)
    assert 0 < result.generalization_error < 0.5 and result.stderr > 0


def test_beta_zero_samples_the_prior():
    # at β = 0 the student is uniform: ⟨ε⟩ = 1/2 (E[arccos R] = π/2 by symmetry), ⟨E⟩ = M/2
    p = Perceptron(10, 2.0, seed=0)
    result = gibbs_generalization(p, 0.0, n_sweeps=200, seed=1, n_chains=4)
    assert abs(result.generalization_error - 0.5) < 4 * result.stderr + 1e-3
    assert result.training_errors == pytest.approx(10, abs=1.5)


def test_binary_metropolis_matches_enumeration():
    # n = 10 binary weights: the exact Gibbs average of ε by enumerating all 2^10 students
    p = Perceptron(10, 1.5, weights="binary", seed=6)
    beta = 1.0
    students = np.array(np.meshgrid(*[[-1.0, 1.0]] * 10, indexing="ij")).reshape(10, -1).T
    energies = np.array([np.sum(p.y * (p.X @ v) <= 0) for v in students])
    eps = np.arccos(students @ p.teacher / 10) / np.pi
    log_w = -beta * energies
    weights = np.exp(log_w - log_w.max())
    exact = np.sum(weights * eps) / weights.sum()
    result = gibbs_generalization(p, beta, n_sweeps=1000, seed=2, n_chains=4)
    assert abs(result.generalization_error - exact) < 4 * result.stderr


def test_spherical_finite_beta_matches_importance_sampling():
    # n = 3: ⟨ε⟩ = E_u[ε e^{−βE}]/E_u[e^{−βE}] with u uniform on the sphere, by plain Monte Carlo
    p = Perceptron(3, 4.0, seed=1)
    beta = 1.5
    u = np.random.default_rng(0).normal(size=(400_000, 3))
    energies = np.sum(p.y * (u @ p.X.T) <= 0, axis=1)
    eps = np.arccos(u @ p.teacher / np.linalg.norm(u, axis=1) / math.sqrt(3)) / np.pi
    weights = np.exp(-beta * (energies - energies.min()))
    exact = np.sum(weights * eps) / weights.sum()
    result = gibbs_generalization(p, beta, n_sweeps=1000, seed=3, n_chains=4)
    assert abs(result.generalization_error - exact) < 4 * result.stderr + 2e-3


@pytest.mark.slow
@pytest.mark.parametrize("alpha", [1.0, 2.0, 5.0, 10.0])
def test_version_space_sampling_matches_replica_theory(alpha):
    # disorder average over 8 independent teachers/data sets at n = 50; the error bar is the
    # spread over instances (each instance's thermal error is inside it). τ_int ≈ 20–30 sweeps,
    # up to ~50 at α >= 5, so 1200–1600 sweeps per chain let the Γ-method window close. ~1 min per α.
    n_sweeps = 1200 if alpha < 5 else 1600
    values = [gibbs_generalization(Perceptron(50, alpha, seed=100 + k), np.inf, n_sweeps=n_sweeps, seed=k,
                                   n_chains=2).generalization_error for k in range(8)]
    mean, stderr = np.mean(values), np.std(values, ddof=1) / math.sqrt(len(values))
    assert abs(mean - gibbs_learning_rs(alpha).generalization_error) < 4 * stderr
