"""Ridge regression simulated in the teacher–student setting (finite N, averaged over seeds).

Same convention as :func:`statmech.theory.ridge`: θ* ~ N(0, I_N),
x_μ ~ N(0, I_N/N), y_μ = θ*·x_μ + √Δ ξ_μ, M = round(αN), and
θ̂ = argmin Σ_μ (y_μ − θ·x_μ)² + λ|θ|² = V diag(s/(s² + λ)) Uᵀ y from the
thin SVD X = U diag(s) Vᵀ, taken from the eigenvectors of the smaller of XᵀX
and XXᵀ (one decomposition per data set serves every λ; λ = 0 is
the minimum-norm least-squares solution, the λ → 0⁺ limit). Per data set,
ε_gen = |θ̂ − θ*|²/N (= E_x[(θ̂·x − θ*·x)²] exactly, for fresh x ~ N(0, I/N))
and ε_train = |y − Xθ̂|²/M.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from statmech._validation import check_positive_int, as_nonnegative_array


@dataclasses.dataclass(frozen=True)
class RidgeSimulation:
    """Seed averages of ridge errors on the broadcast grid of ``alpha``, ``lam``, ``noise``.

    ``generalization_error`` / ``training_error`` are means over ``n_seeds``
    independent data sets, ``*_stderr`` their standard errors (sample
    standard deviation / √n_seeds); ``generalization_samples`` and
    ``training_samples`` hold every data set's value (leading axis: seed).
    """

    alpha: np.ndarray
    lam: np.ndarray
    noise: np.ndarray
    n_features: int
    n_seeds: int
    seed: int
    teacher: str
    generalization_error: np.ndarray
    generalization_stderr: np.ndarray
    training_error: np.ndarray
    training_stderr: np.ndarray
    generalization_samples: np.ndarray
    training_samples: np.ndarray


def _grid(value, name: str, strictly_positive: bool) -> np.ndarray:
    return as_nonnegative_array(value, name, strictly_positive)


def ridge_simulation(alpha, lam, noise=0.0, n_features: int = 200, n_seeds: int = 20,
                     seed: int = 0, teacher: str = "gaussian") -> RidgeSimulation:
    """Ridge generalisation and training error at N = ``n_features``, mean ± stderr over ``n_seeds`` data sets.

    ``alpha``, ``lam`` (λ >= 0) and ``noise`` (Δ >= 0) broadcast like
    :func:`statmech.theory.ridge`. The data sets at one M are drawn from the
    ``n_seeds`` children of ``np.random.SeedSequence([seed, M])``, so every λ and Δ at
    one α sees the same X, θ* and ξ (differences along λ are paired).
    At α = 1 and λ = 0 the error has no finite mean (the smallest singular
    value of a square Gaussian matrix is ~1/N); expect huge, unstable values.

    ``teacher="spherical"`` rescales θ* to |θ*|² = N exactly. Both errors
    are linear in |θ*|²/N once averaged over its direction (X is rotation
    invariant), so their expectations are the same as for the Gaussian
    teacher at every N; only the seed-to-seed spread is smaller.
    """
    if teacher not in ("gaussian", "spherical"):
        raise ValueError(f"teacher must be 'gaussian' (θ* ~ N(0, I)) or 'spherical' (|θ*|² = N), got {teacher!r}")
    n = check_positive_int(n_features, "n_features (N)", minimum=2)
    n_seeds = check_positive_int(n_seeds, "n_seeds", minimum=2)
    seed = check_positive_int(seed, "seed", minimum=0)
    alpha = _grid(alpha, "alpha (M/N)", True)
    lam = _grid(lam, "lam (ridge λ)", False)
    noise = _grid(noise, "noise (label-noise variance Δ)", False)
    a, lam_b, noise_b = np.broadcast_arrays(alpha, lam, noise)
    shape = a.shape
    flat_alpha, flat_lam, flat_noise = a.ravel(), lam_b.ravel(), noise_b.ravel()
    n_examples = np.rint(flat_alpha * n).astype(int)
    if np.any(n_examples < 1):
        raise ValueError(f"alpha * n_features rounds to 0 examples; use alpha >= {0.5 / n:g}")
    gen = np.empty((n_seeds, flat_alpha.size))
    train = np.empty((n_seeds, flat_alpha.size))
    for m in np.unique(n_examples):
        cols = np.flatnonzero(n_examples == m)
        lams, deltas = flat_lam[cols], flat_noise[cols]
        for k, child in enumerate(np.random.SeedSequence([seed, int(m)]).spawn(n_seeds)):
            rng = np.random.default_rng(child)
            theta = rng.normal(size=n)
            if teacher == "spherical":
                theta *= np.sqrt(n) / np.linalg.norm(theta)
            X = rng.normal(size=(m, n)) / np.sqrt(n)
            xi = rng.normal(size=m)
            # singular values and vectors from the smaller Gram matrix (eigh: ~3x cheaper than an SVD)
            Xtheta = X @ theta
            if m >= n:
                s2, V = np.linalg.eigh(X.T @ X)
                s = np.sqrt(np.maximum(s2, 0.0))
                c = V.T @ theta                                          # θ* in the row space (all of R^N)
                perp = 0.0
            else:
                s2, U = np.linalg.eigh(X @ X.T)
                s = np.sqrt(np.maximum(s2, 0.0))
                c = (U.T @ Xtheta) / s                                   # Vᵀθ* with V = XᵀU/s
                perp = max(theta @ theta - c @ c, 0.0)                   # |θ*_⊥|²
            s2 = s * s
            for j, (lam_j, delta) in enumerate(zip(lams, deltas)):
                y = Xtheta + np.sqrt(delta) * xi
                b = (V.T @ (X.T @ y)) / s if m >= n else U.T @ y         # Uᵀy
                with np.errstate(divide="ignore", invalid="ignore"):
                    shrink = np.where(s2 + lam_j > 0, s / (s2 + lam_j), 0.0)
                    resid_fit = np.where(s2 + lam_j > 0, lam_j / (s2 + lam_j), 0.0)
                coef = shrink * b                                        # θ̂ in the V basis
                gen[k, cols[j]] = (np.sum((coef - c) ** 2) + perp) / n
                outside = max(y @ y - b @ b, 0.0) if m > n else 0.0     # |y outside the column space|²
                train[k, cols[j]] = (outside + np.sum((resid_fit * b) ** 2)) / m
    root = np.sqrt(n_seeds)

    def reshape(x):
        return x.reshape(shape)

    return RidgeSimulation(
        alpha=a.copy(), lam=lam_b.copy(), noise=noise_b.copy(), n_features=n, n_seeds=n_seeds, seed=seed, teacher=teacher,
        generalization_error=reshape(gen.mean(axis=0)),
        generalization_stderr=reshape(gen.std(axis=0, ddof=1) / root),
        training_error=reshape(train.mean(axis=0)), training_stderr=reshape(train.std(axis=0, ddof=1) / root),
        generalization_samples=gen.reshape((n_seeds, *shape)), training_samples=train.reshape((n_seeds, *shape)))
