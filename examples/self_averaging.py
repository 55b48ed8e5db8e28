"""Self-averaging of the free energy density: SK (a = 2) and 2D Edwards–Anderson (a = 1).

usage: python examples/self_averaging.py [--quick] [OUT.png]

SK at β = 0.5 by exact enumeration (N = 8 … 20); the periodic Gaussian 2D EA
model at β = 0.5 by the exact Pfaffian method (L = 8, 16, 32, 64, in two
processes). ``--quick`` takes smaller sizes and fewer instances (about a
minute). Writes the figure shown in docs/guides/disorder.md.
"""
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import statmech as sm  # noqa: E402


def main():
    quick = "--quick" in sys.argv
    paths = [a for a in sys.argv[1:] if a != "--quick"]
    output = paths[0] if paths else "docs/figures/self_averaging.png"

    runs = {
        "SK, β = 0.5 (enumeration)": dict(
            ensemble_factory=lambda n: sm.SK(n, couplings="gaussian"),
            sizes=[8, 10, 12, 14] if quick else [8, 11, 14, 17, 20],
            n_instances=100 if quick else 300, method="enumerate", expected=2.0),
        "2D EA torus, β = 0.5 (Pfaffian)": dict(
            ensemble_factory=lambda L: sm.EdwardsAnderson(L, dim=2, couplings="gaussian", periodic=True),
            sizes=[4, 6, 8, 10] if quick else [8, 16, 32, 64],
            n_instances=60 if quick else 100, method="pfaffian", expected=1.0),
    }

    figure, axes = plt.subplots(2, 2, figsize=(11, 8))
    for row, (title, run) in zip(axes, runs.items()):
        expected = run.pop("expected")
        start = time.perf_counter()
        study = sm.self_averaging(beta=0.5, seed=0, workers=2, progress=True, **run)
        seconds = time.perf_counter() - start
        print(f"{title}: N = {study.n_sites.tolist()}, {run['n_instances']} instances each, {seconds:.0f} s")
        for n, result in zip(study.n_sites, study.results):
            print(f"  N = {n:5d}: mean f = {result.mean:.6f} ± {result.stderr:.1e}, std {result.std:.2e}")
        print(f"  a = {study.exponent:.3f} ± {study.exponent_stderr:.3f} (expected {expected:g}; "
              f"chi2 = {study.chi2:.2f} for {study.dof} dof)")
        study.plot_histograms(ax=row[0])
        row[0].set_title(title)
        study.plot_variance(ax=row[1])
        row[1].set_title(f"Var($f_N$) ∝ $N^{{-a}}$, expected a = {expected:g}")
    figure.tight_layout()
    figure.savefig(output, dpi=110)
    print(f"wrote {output}")


if __name__ == "__main__":  # worker processes are spawned: they re-import this file
    main()
