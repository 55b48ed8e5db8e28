"""U* and β_c of the 3D Ising model from Binder-cumulant crossings of L and 2L.

usage: python examples/binder_3d.py [--sizes 6 8 ...] [--sweeps N] [--data DIR] [--figure OUT.png] [--save J]
       python examples/binder_3d.py --load examples/binder_3d.json   # the fits of the stored measurement
       python examples/binder_3d.py --coverage L [--beta B] [--runs 50]
       python examples/binder_3d.py --grid-check L [--temperatures LO HI N] [--runs 10]

The full measurement (L = 6 ... 40, the sweeps of SWEEPS) takes about half an hour of one core (more on a loaded machine); it wrote
docs/figures/binder_3d.png and examples/binder_3d.json, whose numbers docs/guides/monte_carlo.md quotes.

For every L one long Wolff run at β_c (``--chains`` chains, ``--sweeps``
lattice sweeps in all, H and M recorded about once per sweep; the series are
stored in ``--data`` and reused). U₄(β; L) near β_c comes from single
histogram reweighting of that run (Ferrenberg & Swendsen 1988); the crossing
β× of U₄(β; L) and U₄(β; 2L), U× = U₄(β×), and U₄(β_c; L) get block-jackknife
errors, jointly over all sizes (their covariance enters the fits). The fits

    U×(L) = U* + a L^-ω,   U₄(β_c; L) = U* + a L^-ω,   β×(L) = β_c + c L^-(ω + 1/ν)

use ω = 0.832 and 1/ν = 1/0.63002 (Hasenbusch 2010) and the covariance of
the points (generalised least squares; χ²/dof printed). References:
Hasenbusch, PRB 82, 174433 (2010): ⟨m⁴⟩/⟨m²⟩² = 1.6036(1) at criticality,
i.e. U* = 0.46547(3); Ferrenberg, Xu & Landau, PRE 97, 043301 (2018):
β_c = 0.221654626(5).

``--coverage L`` instead checks the error bar of ``sm.thermo``'s U₄ at β_c
(Wolff, 4000 steps × 4 chains, burn-in 4000 as ``binder_crossings`` uses):
``--runs`` independent runs against the long run of that L.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import warnings

import numpy as np

import statmech as sm
from statmech import testing
from statmech.mc import _cluster_numba

BETA_C = 0.221654626      # Ferrenberg, Xu & Landau 2018
U_STAR = 1.0 - 1.6036 / 3.0  # Hasenbusch 2010
OMEGA = 0.832             # Hasenbusch 2010
INV_NU = 1.0 / 0.63002    # Hasenbusch 2010
SIZES = (6, 8, 10, 12, 16, 20, 24, 32, 40)
N_BLOCKS = 40


def simulate(L, n_sweeps, n_chains=8, seed=0):
    """(energy, magnetization, thin) of ``n_chains`` Wolff chains of the L³ cube at β_c, recorded every
    ``thin`` clusters (≈ one sweep: thin = N / mean cluster size of a pilot run), n_sweeps in all."""
    model = sm.Ising.cubic(L)
    pilot = _cluster_numba.run_chains(model, BETA_C, "wolff", 2000, n_chains=1, burn_in=2000, seed=seed,
                                      stream=1, start="up")
    thin = max(1, int(round(L**3 * pilot.n_steps / pilot.flipped[0])))
    run = _cluster_numba.run_chains(model, BETA_C, "wolff", n_sweeps // n_chains, n_chains=n_chains,
                                    burn_in=1000 * thin, thin=thin, seed=seed)
    return run.energy, run.magnetization, thin


def load_or_simulate(L, n_sweeps, data, seed=None):
    seed = L if seed is None else seed
    path = pathlib.Path(data) / f"wolff_L{L}_{n_sweeps}_{seed}.npz"
    if path.exists():
        stored = np.load(path)
        return stored["energy"], stored["magnetization"]
    energy, magnetization, thin = simulate(L, n_sweeps, seed=seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, energy=energy, magnetization=magnetization, thin=thin)
    return energy, magnetization


SWEEPS = {6: 200_000, 8: 200_000, 10: 200_000, 12: 200_000, 16: 200_000, 20: 200_000, 24: 150_000,
          32: 40_000, 40: 30_000}
N_GRID = 121


class Reweighted:
    """U₄(β) of one size near β_c by single-histogram reweighting, for the full run and each jackknife replicate.

    The records of every chain are cut into ``N_BLOCKS`` consecutive blocks (block j pooled over chains);
    ``curves[j]`` is U₄ on ``betas`` without block j, ``curve`` with all of them.
    """

    def __init__(self, L, energy, magnetization, half_width=2.5):
        self.L = L
        n_chains, n_draws = energy.shape
        size = n_draws // N_BLOCKS
        e = energy[:, :size * N_BLOCKS].reshape(n_chains, N_BLOCKS, size).transpose(1, 0, 2).reshape(N_BLOCKS, -1)
        m = (magnetization[:, :size * N_BLOCKS] / L**3).reshape(n_chains, N_BLOCKS, size)
        m = m.transpose(1, 0, 2).reshape(N_BLOCKS, -1)
        e = e - e.mean()
        self.betas = BETA_C + half_width / e.std() * np.linspace(-1.0, 1.0, N_GRID)
        sums = np.empty((N_BLOCKS, N_GRID, 3))
        for j in range(N_BLOCKS):
            w = np.exp(-np.outer(self.betas - BETA_C, e[j]))
            sums[j] = np.stack([w.sum(axis=1), w @ m[j] ** 2, w @ m[j] ** 4], axis=-1)
        total = sums.sum(axis=0)

        def binder(s):
            return 1.0 - s[..., 0] * s[..., 2] / (3.0 * s[..., 1] ** 2)

        self.curve = binder(total)
        self.curves = binder(total[None] - sums)
        self.at_beta_c = (self.curve[N_GRID // 2], self.curves[:, N_GRID // 2])


def crossing(first_betas, first, second_betas, second):
    """(β×, U×) where the cubic splines of two curves U₄(β) cross inside both grids (nearest β_c); NaNs if none."""
    from scipy.interpolate import CubicSpline
    from scipy.optimize import brentq

    a, b = CubicSpline(first_betas, first), CubicSpline(second_betas, second)
    grid = np.linspace(max(first_betas[0], second_betas[0]), min(first_betas[-1], second_betas[-1]), 2001)
    difference = a(grid) - b(grid)
    changes = np.flatnonzero(np.sign(difference[:-1]) != np.sign(difference[1:]))
    if changes.size == 0:
        return float("nan"), float("nan")
    k = changes[np.argmin(np.abs(grid[changes] - BETA_C))]
    beta = brentq(lambda x: a(x) - b(x), grid[k], grid[k + 1], xtol=1e-14)
    return beta, float(a(beta))


def measurements(curves, pairs=None):
    """The vector (U×, β× for each pair, by default (L, 2L); U₄(β_c; L) for each L), its value and
    jackknife covariance.

    ``curves``: {L: Reweighted}. Replicate (L, j) drops block j of size L only; the sizes are independent
    runs, so the covariance is the sum over sizes of their jackknife covariances.
    """
    sizes = sorted(curves)
    pairs = [(L, 2 * L) for L in sizes if 2 * L in curves] if pairs is None else pairs

    def vector(replace=None):
        def curve(L):
            return replace[1] if replace is not None and replace[0] == L else curves[L].curve
        cross = [crossing(curves[a].betas, curve(a), curves[b].betas, curve(b)) for a, b in pairs]
        at_beta_c = [curve(L)[N_GRID // 2] for L in sizes]
        return np.array([c[1] for c in cross] + [c[0] for c in cross] + at_beta_c)

    value = vector()
    covariance = np.zeros((value.size, value.size))
    for L in sizes:
        replicas = np.array([vector((L, curves[L].curves[j])) for j in range(N_BLOCKS)])
        deviation = replicas - replicas.mean(axis=0)
        covariance += (N_BLOCKS - 1) / N_BLOCKS * deviation.T @ deviation
    return pairs, sizes, value, covariance


def fit(y, covariance, *columns):
    """Generalised least squares y = p0 + Σ_k p_k columns[k]: (parameters, their covariance, χ², dof)."""
    design = np.column_stack([np.ones_like(y), *columns])
    inverse = np.linalg.inv(covariance)
    parameter_covariance = np.linalg.inv(design.T @ inverse @ design)
    parameters = parameter_covariance @ design.T @ inverse @ y
    residual = y - design @ parameters
    return parameters, parameter_covariance, float(residual @ inverse @ residual), len(y) - len(parameters)


def scaling_columns(pairs):
    """Leading corrections of a crossing of L and L' = bL: U× − U* ∝ g(b) L^-ω, β× − β_c ∝ h(b) L^-(ω+1/ν).

    From U₄ = U* + u (β − β_c) L^(1/ν) + a L^-ω at both sizes: h(b) = (1 − b^-ω)/(b^(1/ν) − 1) and
    g(b) = 1 + h(b) (Binder 1981; constant for b = 2, where they only rescale a and c).
    """
    small = np.array([a for a, _ in pairs], dtype=float)
    ratio = np.array([b / a for a, b in pairs], dtype=float)
    h = (1.0 - ratio**-OMEGA) / (ratio**INV_NU - 1.0)
    return small, (1.0 + h) * small**-OMEGA, h * small ** -(OMEGA + INV_NU)


def report(pairs, sizes, value, covariance, l_min=(6, 8, 10, 12)):
    """Print the crossings, U₄(β_c; L) and the fits for L >= each of ``l_min``; returns {(fit, L_min): ...}."""
    n = len(pairs)
    error = np.sqrt(np.diag(covariance))
    print("   L   L'  beta_x                 U_x")
    for k, (a, b) in enumerate(pairs):
        print(f"{a:4d} {b:4d}  {value[n + k]:.6f} ± {error[n + k]:.6f}   {value[k]:.4f} ± {error[k]:.4f}")
    print("   L  U4(beta_c; L)")
    for i, L in enumerate(sizes):
        print(f"{L:4d}  {value[2 * n + i]:.4f} ± {error[2 * n + i]:.4f}")
    print(f"fits with omega = {OMEGA}, 1/nu = {INV_NU:.4f} (Hasenbusch U* = {U_STAR:.5f}, "
          f"FXL beta_c = {BETA_C}):")
    small, u_column, beta_column = scaling_columns(pairs)
    sizes_array = np.array(sizes, dtype=float)
    results = {}
    for name, x, index, column, target, digits in (
            ("U_x = U* + a g(b) L^-w", small, np.arange(n), u_column, U_STAR, 4),
            ("U4(beta_c; L) = U* + a L^-w", sizes_array, 2 * n + np.arange(len(sizes)), sizes_array**-OMEGA,
             U_STAR, 4),
            ("beta_x = beta_c + c h(b) L^-(w+1/nu)", small, n + np.arange(n), beta_column, BETA_C, 6)):
        for lowest in l_min:
            keep = x >= lowest
            if keep.sum() < 3:
                continue
            p, pc, chi2, dof = fit(value[index][keep], covariance[np.ix_(index[keep], index[keep])], column[keep])
            error0 = np.sqrt(pc[0, 0])
            print(f"  {name:38s} L >= {lowest:2d}: {p[0]:.{digits}f} ± {error0:.{digits}f} "
                  f"(z = {(p[0] - target) / error0:+.1f}), chi2/dof = {chi2:.1f}/{dof}")
            results[(name.split(" ")[0], lowest)] = (p[0], error0, chi2, dof)
    return results


def subset_fit(pairs, value, covariance, l_max):
    """The U× fit over the pairs whose larger size is <= ``l_max`` (a sub-block of the same measurements)."""
    n = len(pairs)
    keep = np.array([b <= l_max for _, b in pairs])
    index = np.flatnonzero(keep)
    _, column, _ = scaling_columns([pairs[k] for k in index])
    p, pc, chi2, dof = fit(np.asarray(value)[index], np.asarray(covariance)[np.ix_(index, index)], column)
    error0 = np.sqrt(pc[0, 0])
    print(f"  U_x = U* + a g(b) L^-w, pairs up to L' = {l_max}: {p[0]:.4f} ± {error0:.4f} "
          f"(z = {(p[0] - U_STAR) / error0:+.1f}), chi2/dof = {chi2:.1f}/{dof}")
    return p[0], error0, chi2, dof


def coverage(L, beta, runs, data, long_sweeps=None):
    """z-scores of ``sm.thermo``'s U₄ (Wolff, 4000 steps × 4 chains, burn-in 4000, seeds 0..runs-1) against
    the long run of size L reweighted to ``beta``; prints rms z, mean z, 1σ and 2σ coverage."""
    from scipy.interpolate import CubicSpline

    curve = Reweighted(L, *load_or_simulate(L, long_sweeps or SWEEPS[L], data))
    if not curve.betas[0] <= beta <= curve.betas[-1]:
        raise ValueError(f"beta = {beta} is outside the reweighting window {curve.betas[0]:.5f}..{curve.betas[-1]:.5f}")
    reference = float(CubicSpline(curve.betas, curve.curve)(beta))
    replicas = CubicSpline(curve.betas, curve.curves, axis=1)(beta)
    reference_error = float(np.sqrt((N_BLOCKS - 1) / N_BLOCKS * np.sum((replicas - replicas.mean()) ** 2)))
    model = sm.Ising.cubic(L)
    values, errors = [], []
    for seed in range(runs):
        with warnings.catch_warnings():  # split R-hat of 4 short chains often reads 1.01-1.03 here
            warnings.simplefilter("ignore", sm.SamplingWarning)
            u4 = sm.thermo(model, beta, method="wolff", n_sweeps=4000, burn_in=4000, seed=seed).binder_cumulant
        values.append(float(u4.value))
        errors.append(float(u4.stderr))
    values, errors = np.array(values), np.array(errors)
    c = testing.coverage((values - reference) / np.hypot(errors, reference_error))
    print(f"L = {L}, beta = {beta}: long run U4 = {reference:.5f} ± {reference_error:.5f}; {c.n} runs of 4000 x 4 "
          f"Wolff steps: mean U4 = {values.mean():.5f}, rms z {c.rms_z:.2f}, mean z {c.mean_z:+.2f}, "
          f"1 sigma {c.one_sigma:.2f}, 2 sigma {c.two_sigma:.2f}, spread / rms error bar "
          f"{np.std(values, ddof=1) / np.sqrt(np.mean(errors ** 2)):.2f}")
    return values, errors, reference, reference_error


def grid_check(L, temperatures, seeds, data, n_sweeps=4000, long_sweeps=None):
    """``sm.studies.binder_crossings`` on (L, 2L) over a temperature grid (independent runs per point, cubic
    fits), over ``seeds``, against the reweighted crossing of the long runs: mean β× and U× ± their spread/√n."""
    from statmech.studies import binder_crossings

    curves = {k: Reweighted(k, *load_or_simulate(k, long_sweeps or SWEEPS[k], data)) for k in (L, 2 * L)}
    _, _, value, covariance = measurements(curves, [(L, 2 * L)])
    error = np.sqrt(np.diag(covariance))
    betas, values = [], []
    for seed in seeds:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sm.SamplingWarning)
            study = binder_crossings((L, 2 * L), temperatures, sm.Ising.cubic, n_sweeps=n_sweeps, seed=100 * seed)
        t = study.crossings[(L, 2 * L)]
        # U4 at the crossing from the same weighted cubic fits binder_crossings intersects (mean of the two)
        fits = [np.polynomial.Polynomial.fit(temperatures, study.binder[k], 3, w=1.0 / study.binder_stderr[k])
                for k in range(2)]
        betas.append(1.0 / t)
        values.append(0.5 * (fits[0](t) + fits[1](t)))
    betas, values = np.array(betas), np.array(values)
    n = len(betas)
    print(f"binder_crossings ({L}, {2 * L}), T = {temperatures[0]:.3f}..{temperatures[-1]:.3f} "
          f"({len(temperatures)} points), {n_sweeps} steps x 4 chains, {n} seeds: "
          f"beta_x = {betas.mean():.6f} ± {betas.std(ddof=1) / np.sqrt(n):.6f}, "
          f"U_x = {values.mean():.4f} ± {values.std(ddof=1) / np.sqrt(n):.4f} (spread {values.std(ddof=1):.4f}); "
          f"reweighted long runs: beta_x = {value[1]:.6f} ± {error[1]:.6f}, U_x = {value[0]:.4f} ± {error[0]:.4f}")
    return betas, values


def plot(curves, pairs, sizes, value, covariance, path):
    """U₄(β; L) with jackknife bands, and U× and U₄(β_c; L) against L^-ω with the fits and Hasenbusch's U*."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for L in sizes:
        c = curves[L]
        spread = np.sqrt((N_BLOCKS - 1) / N_BLOCKS * np.sum((c.curves - c.curves.mean(axis=0)) ** 2, axis=0))
        line, = left.plot(c.betas, c.curve, lw=1, label=f"L = {L}")
        left.fill_between(c.betas, c.curve - spread, c.curve + spread, color=line.get_color(), alpha=0.3)
    left.axvline(BETA_C, color="k", ls="--", lw=1, label=r"$\beta_c$ (FXL 2018)")
    left.axhline(U_STAR, color="gray", ls=":", lw=1)
    left.set_xlim(BETA_C - 0.002, BETA_C + 0.002)
    left.set_ylim(0.40, 0.55)
    left.set_xlabel(r"$\beta$")
    left.set_ylabel(r"$U_4(\beta; L)$")
    left.legend(fontsize=7, ncol=2)
    n = len(pairs)
    error = np.sqrt(np.diag(covariance))
    small, _, _ = scaling_columns(pairs)
    x_pairs, x_sizes = small**-OMEGA, np.array(sizes, float) ** -OMEGA
    right.errorbar(x_pairs, value[:n], error[:n], fmt="o", capsize=2, label=r"$U_\times(L, 2L)$")
    right.errorbar(x_sizes, value[2 * n:], error[2 * n:], fmt="s", ms=4, capsize=2,
                   label=r"$U_4(\beta_c; L)$")
    grid = np.linspace(0.0, max(x_sizes) * 1.05, 50)
    for (index, xs), colour in zip(((np.arange(n), x_pairs), (2 * n + np.arange(len(sizes)), x_sizes)),
                                   ("C0", "C1")):
        p, *_ = fit(value[index], covariance[np.ix_(index, index)], xs)  # all sizes
        right.plot(grid, p[0] + p[1] * grid, color=colour, lw=1)
    right.errorbar([0.0], [U_STAR], [3e-5], fmt="*", color="k", ms=10, label="Hasenbusch 2010")
    right.set_xlabel(r"$L^{-\omega}$, $\omega = 0.832$  ($L$ the smaller size for $U_\times$)")
    right.set_ylabel(r"$U_4$")
    right.legend(fontsize=8)
    figure.suptitle("3D Ising, Wolff + single-histogram reweighting")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=list(SIZES))
    parser.add_argument("--sweeps", type=int, help="sweeps per size (default: the table SWEEPS)")
    parser.add_argument("--data", default="binder_3d_data", help="directory of the stored series")
    parser.add_argument("--figure", help="write the figure here (e.g. docs/figures/binder_3d.png)")
    parser.add_argument("--save", help="write the measurements (values and covariance) to this .json file")
    parser.add_argument("--load", help="instead of measuring: print the fits of measurements saved by --save")
    parser.add_argument("--coverage", type=int, metavar="L", help="instead: coverage of sm.thermo's U4 error bar")
    parser.add_argument("--beta", type=float, default=BETA_C, help="with --coverage: the beta (default beta_c)")
    parser.add_argument("--grid-check", type=int, metavar="L",
                        help="instead: sm.studies.binder_crossings on (L, 2L) against the reweighted crossing")
    parser.add_argument("--temperatures", nargs=3, type=float, default=[4.40, 4.62, 8], metavar=("LO", "HI", "N"),
                        help="with --grid-check: the temperature grid")
    parser.add_argument("--runs", type=int, default=50, help="with --coverage: independent short runs")
    args = parser.parse_args(argv)
    if args.coverage:
        coverage(args.coverage, args.beta, args.runs, args.data, args.sweeps)
        return None
    if args.grid_check:
        lo, hi, n = args.temperatures
        grid_check(args.grid_check, np.linspace(lo, hi, int(n)), range(args.runs), args.data, long_sweeps=args.sweeps)
        return None
    if args.load:
        stored = json.loads(pathlib.Path(args.load).read_text())
        for analysis in stored["analyses"]:
            print(analysis["title"])
            report([tuple(p) for p in analysis["pairs"]], stored["sizes"], np.array(analysis["value"]),
                   np.array(analysis["covariance"]), l_min=analysis["l_min"])
        consecutive = stored["analyses"][1]
        subset_fit([tuple(p) for p in consecutive["pairs"]], consecutive["value"], consecutive["covariance"], 16)
        return stored
    curves = {}
    for L in args.sizes:
        energy, magnetization = load_or_simulate(L, args.sweeps or SWEEPS[L], args.data)
        curves[L] = Reweighted(L, energy, magnetization)
    sizes = sorted(curves)
    analyses = []
    for title, pairs, l_min in (("crossings of L and 2L", [(L, 2 * L) for L in sizes if 2 * L in curves],
                                 [6, 8, 10, 12]),
                                ("crossings of consecutive sizes", list(zip(sizes[:-1], sizes[1:])), [6, 8, 10])):
        print(title)
        pairs, sizes, value, covariance = measurements(curves, pairs)
        report(pairs, sizes, value, covariance, l_min=l_min)
        analyses.append({"title": title, "pairs": pairs, "l_min": l_min, "value": value.tolist(),
                         "covariance": covariance.tolist()})
    subset_fit(pairs, value, covariance, 16)
    if args.figure:
        first = analyses[0]
        plot(curves, first["pairs"], sizes, np.array(first["value"]), np.array(first["covariance"]), args.figure)
    stored = {"sizes": sizes, "sweeps": {L: args.sweeps or SWEEPS[L] for L in sizes}, "analyses": analyses}
    if args.save:
        pathlib.Path(args.save).write_text(json.dumps(stored) + "\n")
    return stored


if __name__ == "__main__":
    main()
