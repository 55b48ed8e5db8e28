"""SK quenched free energy at finite N: the approach to the Parisi value, and where RS fails.

usage: python examples/sk_finite_size.py [--quick] [OUT.png]

SK with Gaussian J_ij of variance 1/N, H = −Σ_{i<j} J_ij s_i s_j. For each N
the quenched average E_J[f_N], f_N = −ln Z_N/(Nβ), is computed by exact
enumeration (N = 8..24, one pass for the whole β grid per instance) and by
population annealing beyond (N = 32, 48 at β = 5), over independent
instances. Averages use regression control variates
(``QuenchedResult.control_variate_mean``) with three zero-mean invariants of
J (``SK.control_variates``: bonds, triangles and 4-cycles, the first terms of
the high-temperature expansion of ln Z), which keeps them unbiased and shrinks
their standard errors ~10× at β = 0.5 and ~1.7× at β = 5.

Extrapolations, weighted least squares with those standard errors:
- β < 1: f_N = f_∞ + a/N + b/N² (analytic in 1/N; a = −ln(1−β²)/(4β) from
  Aizenman, Lebowitz & Ruelle 1987), f_∞ = −β/4 − ln 2/β (RS = annealed = exact).
- β > 1: f_N = f_∞ + a N^(−2/3) (Parisi, Ritort & Slanina 1993; Aspelmeier,
  Billoire, Marinari & Moore 2008), against the Parisi value (exact) and the
  RS value (below it).

Writes docs/figures/sk_finite_size.png (or OUT.png): (a) f_N against N^(−2/3)
at β = 5 (top) and against 1/N at β = 0.5 (bottom) with the fits and the
theory values; (b) f against T = 1/β: RS, Parisi, annealed, and the finite-N
quenched averages with their extrapolations. ``--quick``: fewer sizes and
instances (< 1 min). Prints every number it plots.
"""
import argparse
import math
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import statmech as sm  # noqa: E402
from statmech.models._disorder import SK  # noqa: E402
from statmech.studies._disorder import quenched, weighted_least_squares  # noqa: E402

HIGH_BETA, LOW_BETA = 0.5, 5.0
PA_OPTIONS = {"population": 256, "n_runs": 4, "n_sweeps": 4}


# ------------------------------------------------------------------ helpers
def paramagnet_free_energy(beta):
    """−β/4 − ln 2/β: the N → ∞ annealed free energy density (= RS = exact for β <= 1)."""
    beta = np.asarray(beta, dtype=np.float64)
    return -beta / 4.0 - math.log(2.0) / beta


def fit_columns(beta, n):
    """The extrapolation variable: powers of 1/N above T_c, N^(−2/3) below."""
    n = np.asarray(n, dtype=np.float64)
    return [np.ones_like(n), 1.0 / n, 1.0 / n**2] if beta < 1.0 else [np.ones_like(n), n ** (-2.0 / 3.0)]


def enumerated_means(sizes, betas, n_instances):
    """Control-variate means and standard errors of f_N (S, B) by enumeration; seeds 300 + N."""
    means = np.empty((len(sizes), betas.size))
    errors = np.empty_like(means)
    for i, n in enumerate(sizes):
        started = time.perf_counter()
        result = quenched(SK(n), betas, n_instances, method="enumerate", seed=300 + n, progress=False)
        means[i], errors[i] = result.control_variate_mean()
        print(f"  enumerated N = {n:2d}: {n_instances} instances in {time.perf_counter() - started:5.1f} s "
              f"(control variates shrink the error {np.min(result.stderr / errors[i]):.1f}x to "
              f"{np.max(result.stderr / errors[i]):.1f}x)")
    return means, errors


def monte_carlo_means(sizes, beta, n_instances):
    """Population-annealing quenched averages at ``beta`` (control variates), seeds 400 + N."""
    means, errors = [], []
    for n in sizes:
        started = time.perf_counter()
        result = quenched(SK(n), beta, n_instances, method="pa", seed=400 + n, progress=False, **PA_OPTIONS)
        mean, stderr = result.control_variate_mean()
        means.append(mean)
        errors.append(stderr)
        print(f"  PA N = {n}: {n_instances} instances in {time.perf_counter() - started:5.1f} s "
              f"(plain mean {result.mean:.5f} ± {result.stderr:.5f}, median PA error of f "
              f"{np.median(result.values_stderr):.1e})")
    return np.array(means), np.array(errors)


# --------------------------------------------------------------------- main
def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes and instances (< 1 min)")
    parser.add_argument("out", nargs="?", default="docs/figures/sk_finite_size.png")
    args = parser.parse_args()
    started = time.perf_counter()
    if args.quick:
        sizes, n_instances, mc_sizes, mc_instances, tol = (8, 10, 12, 14, 16, 18), 150, (32,), 8, 1e-4
        betas = np.array([0.5, 0.75, 1.5, 2.0, 3.0, 5.0])
    else:
        sizes, n_instances, mc_sizes, mc_instances, tol = (8, 10, 12, 14, 16, 18, 20, 22, 24), 500, (32, 48), 48, 1e-5
        betas = np.array([0.5, 0.75, 1.5, 2.0, 3.0, 5.0, 10.0])
    n = np.array(sizes, dtype=np.float64)

    print(f"SK, Gaussian J (variance 1/N); enumeration N = {sizes[0]}..{sizes[-1]}, {n_instances} instances "
          f"per size; PA at beta = {LOW_BETA:g}, N = {mc_sizes}, {mc_instances} instances")
    means, errors = enumerated_means(sizes, betas, n_instances)
    mc_means, mc_errors = monte_carlo_means(mc_sizes, LOW_BETA, mc_instances)

    parisi = {}
    for beta in betas:
        parisi[beta] = (float(paramagnet_free_energy(beta)) if beta <= 1.0
                        else sm.theory.parisi(float(beta), tol=tol).free_energy_density)
    rs = {beta: float(sm.theory.sk_replica_symmetric(float(beta)).free_energy_density) for beta in betas}

    print("\nquenched f_N (control-variate mean ± standard error):")
    print("  beta  " + "".join(f"      N = {size:<8d}" for size in sizes))
    for j, beta in enumerate(betas):
        print(f"  {beta:4g}  " + "".join(f"{means[i, j]:9.5f} ± {errors[i, j]:.5f}" for i in range(len(sizes))))
    for size, mean, err in zip(mc_sizes, mc_means, mc_errors):
        print(f"  {LOW_BETA:4g}  N = {size} (PA): {mean:.5f} ± {err:.5f}")

    print("\nextrapolation N -> infinity (weighted least squares):")
    print("  beta  variable         f_inf              chi2/dof   Parisi      z_P    RS          z_RS   annealed")
    fits = {}
    for j, beta in enumerate(betas):
        coef, cov, chi2, dof = weighted_least_squares(fit_columns(beta, n), means[:, j], errors[:, j])
        fits[beta] = (coef, cov)
        f_inf, sigma = coef[0], math.sqrt(cov[0, 0])
        variable = "1/N, 1/N^2" if beta < 1 else "N^(-2/3)"
        print(f"  {beta:4g}  {variable:12s} {f_inf:9.5f} ± {sigma:.5f}   {chi2:5.1f}/{dof}   {parisi[beta]:9.5f} "
              f"{(f_inf - parisi[beta]) / sigma:+6.1f}  {rs[beta]:9.5f} {(f_inf - rs[beta]) / sigma:+6.1f}  "
              f"{float(paramagnet_free_energy(beta)):9.5f}")
    high = int(np.flatnonzero(betas == HIGH_BETA)[0])
    low = int(np.flatnonzero(betas == LOW_BETA)[0])
    coef_high, cov_high = fits[HIGH_BETA]
    alr = -math.log(1 - HIGH_BETA**2) / (4 * HIGH_BETA)
    print(f"  beta = {HIGH_BETA:g}: fitted 1/N coefficient {coef_high[1]:.4f} ± {math.sqrt(cov_high[1, 1]):.4f}, "
          f"Aizenman-Lebowitz-Ruelle -ln(1-b^2)/(4b) = {alr:.4f}")
    coef_low, cov_low = fits[LOW_BETA]
    for size, mean, err in zip(mc_sizes, mc_means, mc_errors):
        x = np.array([1.0, size ** (-2 / 3)])
        predicted, predicted_se = x @ coef_low, math.sqrt(x @ cov_low @ x)
        print(f"  beta = {LOW_BETA:g}, N = {size}: PA {mean:.5f} ± {err:.5f}, enumeration fit predicts "
              f"{predicted:.5f} ± {predicted_se:.5f} (z = {(mean - predicted) / math.hypot(err, predicted_se):+.2f})")
    all_n = np.concatenate([n, mc_sizes])
    joint, joint_cov, joint_chi2, joint_dof = weighted_least_squares(
        fit_columns(LOW_BETA, all_n), np.concatenate([means[:, low], mc_means]),
        np.concatenate([errors[:, low], mc_errors]))
    sigma = math.sqrt(joint_cov[0, 0])
    print(f"  beta = {LOW_BETA:g}, joint fit with the PA points: f_inf = {joint[0]:.5f} ± {sigma:.5f} "
          f"(chi2 {joint_chi2:.1f}/{joint_dof}; z_P = {(joint[0] - parisi[LOW_BETA]) / sigma:+.1f}, "
          f"z_RS = {(joint[0] - rs[LOW_BETA]) / sigma:+.1f})")

    # ------------------------------------------------------------- figure
    fig = plt.figure(figsize=(11, 6.5), layout="constrained")
    grid = fig.add_gridspec(2, 2, width_ratios=[1, 1.15])
    ax_low, ax_high, ax_b = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[:, 1])

    x = n ** (-2 / 3)
    line = np.linspace(0.0, x.max() * 1.05, 100)
    ax_low.errorbar(x, means[:, low], yerr=errors[:, low], fmt="o", ms=4, capsize=2, color="C0",
                    label="enumeration")
    ax_low.errorbar(np.array(mc_sizes) ** (-2 / 3), mc_means, yerr=mc_errors, fmt="s", ms=5, capsize=2,
                    color="C1", label="population annealing")
    low_label = f"fit $f_\\infty + a N^{{-2/3}}$, $f_\\infty$ = {coef_low[0]:.4f} ± {math.sqrt(cov_low[0, 0]):.4f}"
    ax_low.plot(line, coef_low[0] + coef_low[1] * line, "-", color="C0", lw=1, label=low_label)
    ax_low.errorbar([0.0], [coef_low[0]], yerr=[math.sqrt(cov_low[0, 0])], fmt="D", ms=5, capsize=3, color="C0")
    ax_low.axhline(parisi[LOW_BETA], color="k", lw=1.2, label=f"Parisi {parisi[LOW_BETA]:.4f}")
    ax_low.axhline(rs[LOW_BETA], color="C3", ls="--", lw=1.2, label=f"RS {rs[LOW_BETA]:.4f}")
    ax_low.set_xlim(-0.005, line[-1])
    ax_low.set_xlabel("$N^{-2/3}$")
    ax_low.set_ylabel("quenched $f_N$")
    ax_low.set_title(f"(a) β = {LOW_BETA:g} (T = {1 / LOW_BETA:g}); annealed "
                     f"{float(paramagnet_free_energy(LOW_BETA)):.3f} is off scale", fontsize=10)
    top = ax_low.secondary_xaxis("top")
    ticks = [n_ for n_ in (8, 12, 16, 24, 48) if n_ ** (-2 / 3) <= line[-1]]
    top.set_xticks([t ** (-2 / 3) for t in ticks], labels=[f"N={t}" for t in ticks], fontsize=8)
    ax_low.legend(fontsize=8, frameon=False, loc="upper left")

    x = 1.0 / n
    line = np.linspace(0.0, x.max() * 1.05, 100)
    ax_high.errorbar(x, means[:, high], yerr=errors[:, high], fmt="o", ms=4, capsize=2, color="C0",
                     label="enumeration")
    high_label = f"fit $f_\\infty + a/N + b/N^2$, $f_\\infty$ = {coef_high[0]:.5f} ± {math.sqrt(cov_high[0, 0]):.5f}"
    ax_high.plot(line, coef_high[0] + coef_high[1] * line + coef_high[2] * line**2, "-", color="C0", lw=1,
                 label=high_label)
    f_para = float(paramagnet_free_energy(HIGH_BETA))
    ax_high.plot(line, f_para + alr * line, ":", color="C2", lw=1.2, label="$f_\\infty$ + ALR slope / N")
    annealed_n = -(math.log(2.0) + HIGH_BETA**2 * (1 - line) / 4.0) / HIGH_BETA  # −ln E Z_N/(Nβ), 1/N = line
    ax_high.plot(line, annealed_n, "--", color="C4", lw=1, label="annealed $-\\ln E Z_N/(N\\beta)$")
    ax_high.axhline(f_para, color="k", lw=1.2, label=f"Parisi = RS = paramagnet {f_para:.5f}")
    ax_high.set_xlabel("$1/N$")
    ax_high.set_ylabel("quenched $f_N$")
    ax_high.set_title(f"(a) β = {HIGH_BETA:g} (T = {1 / HIGH_BETA:g})", fontsize=10)
    ax_high.legend(fontsize=8, frameon=False, loc="upper left")

    fine = np.linspace(0.1, 10.0, 200)
    rs_curve = np.asarray(sm.theory.sk_replica_symmetric(fine).free_energy_density)
    ax_b.plot(1 / fine, rs_curve, color="C3", ls="--", lw=1.2, label="replica symmetric")
    ax_b.plot(1 / fine, paramagnet_free_energy(fine), color="0.5", ls=":", lw=1.2, label="annealed / paramagnet")
    theory_betas = [1.0] + [b for b in betas if b > 1.0]  # at T = 1 Parisi is the paramagnet
    theory_values = [float(paramagnet_free_energy(1.0))] + [parisi[b] for b in theory_betas[1:]]
    ax_b.plot([1 / b for b in theory_betas], theory_values, "k*-", ms=9, lw=0.8, zorder=5, label="Parisi")
    for i, size in enumerate(sizes):
        if size in (sizes[0], sizes[len(sizes) // 2], sizes[-1]):
            ax_b.errorbar(1 / betas, means[i], yerr=errors[i], fmt="o-", ms=3, lw=0.8, capsize=2,
                          label=f"quenched, N = {size}")
    extrapolated = np.array([fits[b][0][0] for b in betas])
    extrapolated_se = np.array([math.sqrt(fits[b][1][0, 0]) for b in betas])
    ax_b.errorbar(1 / betas, extrapolated, yerr=extrapolated_se, fmt="D", ms=6, mfc="none", capsize=3,
                  color="C4", label="extrapolated $N \\to \\infty$")
    ax_b.axvline(1.0, color="0.7", lw=0.8)
    ax_b.set_xlim(0.0, 1.05 / betas.min())
    ax_b.set_ylim(-1.6, -0.55)
    ax_b.set_xlabel("temperature $T = 1/\\beta$")
    ax_b.set_ylabel("free energy density $f$")
    ax_b.set_title("(b) SK free energy: theory and finite-N quenched averages", fontsize=10)
    ax_b.legend(fontsize=8, frameon=False, loc="lower left")
    fig.savefig(args.out, dpi=120)
    print(f"\nwrote {args.out} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
