"""Double descent of ridge regression: replica theory (lines) against simulation (points ± 1 stderr).

usage: python examples/double_descent.py [--quick] [OUT.png]

Teacher θ* ~ N(0, I_N), x ~ N(0, I_N/N), y = θ*·x + √Δ ξ with Δ = 0.25. Left:
generalisation error E_x[(θ̂·x − θ*·x)²] versus α = M/N for λ → 0 (minimum
norm, the peak at α = 1) and the optimal λ = Δ (no peak); right: training
error. Simulation at N = 400 over 40 data sets per point (``--quick``: N =
200, 16). Writes docs/figures/double_descent.png.
"""
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import statmech as sm  # noqa: E402


def main():
    quick = "--quick" in sys.argv
    paths = [a for a in sys.argv[1:] if a != "--quick"]
    output = paths[0] if paths else "docs/figures/double_descent.png"
    noise = 0.25
    n, n_seeds = (200, 16) if quick else (400, 40)
    lines = np.linspace(0.02, 4.0, 800)
    points = np.array([0.2, 0.4, 0.6, 0.8, 0.9, 1.1, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0])
    lams = {"λ → 0 (min-norm)": 0.0, f"optimal λ = Δ = {noise:g}": noise}
    start = time.perf_counter()
    sim = sm.ml.ridge_simulation(points[:, None], np.array(list(lams.values()))[None, :], noise,
                                 n_features=n, n_seeds=n_seeds, seed=0)
    print(f"simulation: N = {n}, {n_seeds} data sets per point, {time.perf_counter() - start:.1f} s")
    figure, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for j, (label, lam) in enumerate(lams.items()):
        theory = sm.theory.ridge(lines, lam, noise)
        color = f"C{j}"
        axes[0].plot(lines, theory.generalization_error, color=color, label=f"theory, {label}")
        axes[1].plot(lines, theory.training_error, color=color, label=f"theory, {label}")
        axes[0].errorbar(points, sim.generalization_error[:, j], yerr=sim.generalization_stderr[:, j], fmt="o",
                         color=color, ms=4, capsize=2, label=f"simulation N = {n}")
        axes[1].errorbar(points, sim.training_error[:, j], yerr=sim.training_stderr[:, j], fmt="o", color=color,
                         ms=4, capsize=2)
        z = (sim.generalization_error[:, j] - sm.theory.ridge(points, lam, noise).generalization_error) \
            / sim.generalization_stderr[:, j]
        print(f"{label}: z-scores of the generalisation error {np.round(z, 2).tolist()}")
    axes[0].set_yscale("log")
    axes[0].set_ylim(0.05, 20)
    axes[0].set_xlabel("α = M/N")
    axes[0].set_ylabel("generalisation error E(θ̂·x − θ*·x)²")
    axes[0].axvline(1.0, color="0.8", lw=0.8)
    axes[0].legend(fontsize=8)
    axes[1].set_xlabel("α = M/N")
    axes[1].set_ylabel("training error (1/M) Σ (y − θ̂·x)²")
    axes[1].axhline(noise, color="0.8", lw=0.8)
    axes[0].set_title(f"ridge regression, Δ = {noise:g}: double descent")
    axes[1].set_title("training error (→ Δ as α → ∞)")
    figure.tight_layout()
    figure.savefig(output, dpi=110)
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
