"""Section 5: the bridge to machine learning.

Steps ``ml_zero_temperature``, ``ml_methods``, ``ml_generalisation`` and ``double_descent``.
"""
from __future__ import annotations

import importlib
import math

import numpy as np

import statmech as sm
from statmech.report._figures import COLOURS, FigureOut
from statmech.report._figures import figure_out as _out
from statmech.report._figures import new_figure as _figure
from statmech.report._figures import panel_label as _label
from statmech.report._figures import style as _style
from statmech.report._figures import xr_dataset as _dataset
from statmech.report._html import code, eq, frac, num
from statmech.tour._base import (BETA, Section, StepData, StepResult, TourStep, figures_or_note, status_note,
                                 theory_function, unavailable, warning_count, warning_list)
from statmech.tour._base import array as _array
from statmech.tour._base import values as _values


# ------------------------------------------------------------------ computation
ML_NAMES = ("LinearRegression", "LogisticRegression", "minimize", "zero_temperature_limit")


def ml_module():
    """``statmech.ml`` with the names the tour uses, or the reason it cannot be used."""
    try:
        ml = importlib.import_module("statmech.ml")
    except Exception as error:  # noqa: BLE001 - any import failure means: not available
        return None, f"statmech.ml cannot be imported ({type(error).__name__}: {error})"
    missing = [name for name in ML_NAMES if not hasattr(ml, name)]
    if missing:
        return None, f"statmech.ml lacks {', '.join(missing)}"
    return ml, None


def standardised_breast_cancer(n_features: int | None = None):
    """scikit-learn's bundled breast-cancer data (no download), features standardised, y ∈ {0, 1}."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    X = np.asarray(data.data, dtype=np.float64)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    if n_features is not None:
        X = X[:, :n_features]
    return X, np.asarray(data.target, dtype=np.float64), list(data.feature_names)


def _step_ml_zero_temperature(p: dict, seed: int) -> StepResult:
    """F(β), U(β), S(β) of a least-squares loss approach min L as β → ∞ (exact Gaussian integral)."""
    ml, reason = ml_module()
    if ml is None:
        return unavailable(reason)
    X, y, names = standardised_breast_cancer(p["n_features"])
    model = ml.LinearRegression(X, 2.0 * y - 1.0, prior_precision=p["prior_precision"], fit_intercept=True)
    betas = np.geomspace(*p["beta_range"], p["n_betas"])
    limit = ml.zero_temperature_limit(model, betas, method="exact")
    out = StepResult(method=limit.method)
    out.artifacts.update(beta=_array(limit.beta), free_energy=_array(limit.free_energy),
                         energy=_array(limit.energy), entropy=_array(limit.entropy),
                         laplace_gap=_array(limit.laplace_gap), features=[str(n) for n in names[: p["n_features"]]])
    out.scalars.update(min_loss=float(limit.min_loss), n_samples=int(X.shape[0]), dim=int(model.dim),
                       prior_precision=p["prior_precision"],
                       largest_beta_gap=float(limit.free_energy[-1] - limit.min_loss))
    return out


def _step_ml_methods(p: dict, seed: int) -> StepResult:
    """log Z of a logistic loss (one feature and an intercept, d = 2).

    Quadrature (exact to ~1e-12) against Laplace (saddle point) and SMC sampling (with error bars).
    """
    ml, reason = ml_module()
    if ml is None:
        return unavailable(reason)
    X, y, names = standardised_breast_cancer()
    X = X[:, p["features"]]
    model = ml.LogisticRegression(X, y, prior_precision=p["prior_precision"], fit_intercept=True)
    betas = _array(p["betas"])
    out = StepResult(method="quadrature, laplace, smc")
    exact = sm.thermo(model, betas, method="quadrature")
    laplace = sm.thermo(model, betas, method="laplace")
    out.artifacts.update(beta=betas, features=[str(names[k]) for k in p["features"]],
                         exact_free_energy=_values(exact.free_energy), exact_energy=_values(exact.energy),
                         laplace_free_energy=_values(laplace.free_energy), laplace_energy=_values(laplace.energy))
    sampled_betas = _array(p["sampled_betas"])
    values, errors = [], []
    for k, beta in enumerate(sampled_betas):
        estimate = sm.log_z(model, float(beta), method="smc", seed=seed + k, **p["smc_options"])
        values.append(-float(estimate.value) / beta)
        errors.append(float(estimate.stderr) / beta)
    exact_at_sampled = sm.thermo(model, sampled_betas, method="quadrature")
    out.artifacts.update(sampled_beta=sampled_betas, sampled_free_energy=_array(values),
                         sampled_free_energy_stderr=_array(errors),
                         sampled_exact_free_energy=_values(exact_at_sampled.free_energy))
    out.scalars.update(min_loss=float(ml.minimize(model).loss), dim=int(model.dim),
                       n_samples=int(X.shape[0]), prior_precision=p["prior_precision"])
    return out


def _step_ml_generalisation(p: dict, seed: int) -> StepResult:
    """Train and test errors of Gibbs posterior draws p_β(θ) of a logistic regression, against β.

    ``sm.ml.generalization_vs_beta`` on scikit-learn's bundled breast-cancer
    data (``sm.ml.classification_split``): the 0/1 error of single draws
    (Gibbs classifier) and of the posterior-mean predictor, and the minimiser
    of the training loss (β → ∞).
    """
    ml, reason = ml_module()
    if ml is not None and not all(hasattr(ml, name) for name in ("generalization_vs_beta", "classification_split")):
        ml, reason = None, "statmech.ml lacks generalization_vs_beta"
    if ml is None:
        return unavailable(reason)
    data = ml.classification_split(p["dataset"], n_components=p["n_components"], test_fraction=p["test_fraction"],
                                   seed=seed)
    result = ml.generalization_vs_beta(data, betas=p["betas"], prior_precision=p["prior_precision"],
                                       n_sweeps=p["n_sweeps"], burn_in=p["burn_in"], n_chains=p["n_chains"],
                                       kernel=p["kernel"], seed=seed)
    out = StepResult(method=f"generalization_vs_beta ({result.kernel})")
    for name in ("beta", "train_error", "train_error_stderr", "test_error", "test_error_stderr",
                 "mean_train_error", "mean_test_error", "mean_loss", "acceptance"):
        out.artifacts[name] = _array(getattr(result, name))
    best = int(np.argmin(result.mean_test_error))
    out.scalars.update(n_train=result.n_train, n_test=result.n_test, dim=result.dim,
                       prior_precision=p["prior_precision"], minimizer_train_error=result.minimizer_train_error,
                       minimizer_test_error=result.minimizer_test_error, minimizer_loss=result.minimizer_loss,
                       minimizer_converged=float(result.minimizer_converged), best_beta=float(result.beta[best]),
                       best_mean_test_error=float(result.mean_test_error[best]),
                       n_warnings=len(result.warnings))
    out.meta["warnings"] = list(result.warnings)
    return out


def _step_double_descent(p: dict, seed: int) -> StepResult:
    """Ridge regression's generalisation and training error against α = M/N: replica theory and simulation.

    ``sm.theory.ridge`` (N → ∞) on a fine α grid and ``sm.ml.ridge_simulation``
    (N = ``n_features``, mean ± stderr over ``n_seeds`` data sets) at a few α,
    for each ridge penalty λ in ``lams``. Teacher θ* ~ N(0, I_N), x ~ N(0, I_N/N),
    y = θ*·x + √Δ ξ. The simulation runs on one BLAS thread: the tour computes
    steps side by side in processes.
    """
    from threadpoolctl import threadpool_limits

    ml, reason = ml_module()
    ridge = theory_function("ridge")
    if ml is not None and not hasattr(ml, "ridge_simulation"):
        ml, reason = None, "statmech.ml lacks ridge_simulation"
    if ml is not None and ridge is None:
        ml, reason = None, "statmech.theory lacks ridge"
    if ml is None:
        return unavailable(reason)
    alphas, lams, noise = _array(p["alphas"]), _array(p["lams"]), float(p["noise"])
    with threadpool_limits(limits=1, user_api="blas"):
        sim = ml.ridge_simulation(alphas[:, None], lams[None, :], noise, n_features=p["n_features"],
                                  n_seeds=p["n_seeds"], seed=seed)
    lines = np.linspace(*p["theory_alpha_range"], p["n_theory"])
    theory = [ridge(lines, float(lam), noise) for lam in lams]
    at_points = np.stack([ridge(alphas, float(lam), noise).generalization_error for lam in lams], axis=1)
    out = StepResult(method="theory.ridge, ml.ridge_simulation")
    out.artifacts.update(alpha=alphas, lam=lams,
                         generalization_error=_array(sim.generalization_error),
                         generalization_stderr=_array(sim.generalization_stderr),
                         training_error=_array(sim.training_error), training_stderr=_array(sim.training_stderr),
                         theory_alpha=_array(lines),
                         theory_generalization_error=_array([r.generalization_error for r in theory]),
                         theory_training_error=_array([r.training_error for r in theory]),
                         theory_at_alpha=_array(at_points))
    z = (np.asarray(sim.generalization_error) - at_points) / np.asarray(sim.generalization_stderr)
    out.artifacts["z_score"] = _array(z)
    out.scalars.update(noise=noise, n_features=p["n_features"], n_seeds=p["n_seeds"],
                       max_abs_z_score=float(np.max(np.abs(z))),
                       peak_theory_generalization_error=float(np.max(theory[0].generalization_error)))
    return out


# ------------------------------------------------------------------ figures
def ml_zero_temperature_figures(step: StepData) -> list[FigureOut]:
    beta = step.array("beta")
    min_loss = step.value("min_loss")
    with _style():
        figure, axes = _figure(9.2, 3.3, ncols=2)
        ax = axes[0, 0]
        ax.semilogx(beta, step.array("free_energy"), color=COLOURS[0], label="F(β) = −log Z/β")
        ax.semilogx(beta, step.array("energy"), color=COLOURS[1], ls="--", label="U(β) = ⟨L⟩")
        ax.axhline(min_loss, color="#222222", lw=0.9, ls=":", label=f"min L = {min_loss:.4g}")
        ax.set_ylim(0.6 * min_loss, 2.6 * min_loss)
        ax.set_xlabel("β")
        ax.set_ylabel("training loss")
        ax.legend(frameon=False)
        _label(ax, "a   F and U approach min L")
        ax = axes[0, 1]
        gap = step.array("free_energy") - min_loss
        shown = (beta >= 0.1) & (gap > 0)
        ax.loglog(beta[shown], gap[shown], color=COLOURS[0], label="F(β) − min L (exact)")
        ax.loglog(beta[shown], step.array("laplace_gap")[shown], ":", color=COLOURS[3], lw=2.2,
                  label="Laplace prediction")
        ax.set_xlabel("β")
        ax.legend(frameon=False)
        _label(ax, "b   the gap closes like (d/2β) log β")
    data = _dataset({k: (("beta",), step.array(k)) for k in ("free_energy", "energy", "entropy", "laplace_gap")},
                    coords={"beta": beta}, attrs={"min_loss": min_loss, "dim": int(step.value("dim"))})
    return [_out("ml_zero_temperature",
                 "A least-squares training loss as a Hamiltonian over the weights: its free energy and mean "
                 "energy tend to the minimum training loss as β → ∞ (the zero-temperature limit); the Laplace "
                 "(saddle-point) formula predicts how fast. At small β, F = U − S/β is dominated by the "
                 "entropy of the prior weight and drops towards −∞ (see the text).", figure, data,
                 alt="Left: free energy F and mean energy U of a least-squares training loss against β on a log "
                     "axis, both approaching the minimum training loss. Right: the gap F − min L against β on "
                     "log-log axes, closing as the Laplace prediction says.")]


def ml_methods_figures(step: StepData) -> list[FigureOut]:
    beta = step.array("beta")
    exact = step.array("exact_free_energy")
    laplace = step.array("laplace_free_energy")
    sb = step.array("sampled_beta")
    sampled, sampled_se = step.array("sampled_free_energy"), step.array("sampled_free_energy_stderr")
    with _style():
        figure, axes = _figure(9.2, 3.3, ncols=2)
        ax = axes[0, 0]
        ax.semilogx(beta, exact, "o-", color=COLOURS[0], ms=4, label="quadrature (exact)")
        ax.semilogx(beta, laplace, "s--", color=COLOURS[3], ms=3.5, mfc="white", label="Laplace")
        ax.errorbar(sb, sampled, yerr=sampled_se, fmt="D", ms=4.5, capsize=3, color=COLOURS[1],
                    label="SMC sampling")
        ax.axhline(step.value("min_loss"), color="#222222", lw=0.9, ls=":", label="min L")
        ax.set_xlabel("β")
        ax.set_ylabel("F(β)")
        ax.legend(frameon=False)
        _label(ax, "a   F(β) of a logistic loss")
        ax = axes[0, 1]
        # log Z = −βF: differences of log Z against the exact value, signed
        ax.semilogx(beta, -(laplace - exact) * beta, "s--", color=COLOURS[3], ms=3.5, mfc="white",
                    label="Laplace − exact")
        exact_at_sampled = step.array("sampled_exact_free_energy")
        ax.errorbar(sb, -(sampled - exact_at_sampled) * sb, yerr=sampled_se * sb, fmt="D", ms=4.5, capsize=3,
                    color=COLOURS[1], label="SMC − exact (± one stderr)")
        ax.axhline(0.0, color="#222222", lw=0.9)
        ax.set_xlabel("β")
        ax.set_ylabel("error in log Z")
        ax.legend(frameon=False)
        _label(ax, "b   errors against the exact value")
    data = _dataset({"exact_free_energy": (("beta",), exact), "laplace_free_energy": (("beta",), laplace),
                     "sampled_free_energy": (("sampled_beta",), sampled),
                     "sampled_free_energy_stderr": (("sampled_beta",), sampled_se),
                     "sampled_exact_free_energy": (("sampled_beta",), step.array("sampled_exact_free_energy"))},
                    coords={"beta": beta, "sampled_beta": sb},
                    attrs={"min_loss": step.value("min_loss"), "dim": int(step.value("dim"))})
    return [_out("ml_laplace_exact_sampling",
                 "Three ways to the free energy of a logistic-regression loss: exact quadrature, the Laplace "
                 "(saddle-point) approximation, and sequential Monte Carlo with its error bar.", figure, data,
                 alt="Left: the free energy of a logistic-regression loss against β from quadrature, Laplace and "
                     "SMC sampling with error bars. Right: the error in log Z of Laplace and of SMC against the "
                     "exact value.")]


def ml_generalisation_figures(step: StepData) -> list[FigureOut]:
    beta = step.array("beta")
    with _style():
        figure, axes = _figure(9.2, 3.4, ncols=2)
        ax = axes[0, 0]
        ax.errorbar(beta, 100 * step.array("train_error"), yerr=100 * step.array("train_error_stderr"), fmt="o-",
                    ms=3.5, capsize=2, color=COLOURS[0], label="one Gibbs draw, train")
        ax.errorbar(beta, 100 * step.array("test_error"), yerr=100 * step.array("test_error_stderr"), fmt="s-",
                    ms=3.5, capsize=2, color=COLOURS[1], label="one Gibbs draw, test")
        ax.plot(beta, 100 * step.array("mean_test_error"), "s--", ms=3.5, mfc="white", color=COLOURS[1],
                label="posterior mean, test")
        ax.axhline(100 * step.value("minimizer_test_error"), color=COLOURS[1], lw=0.9, ls=":",
                   label="argmin L (β → ∞), test")
        ax.set_xscale("log")
        ax.set_xlabel("β")
        ax.set_ylabel("classification error (%)")
        ax.legend(frameon=False)
        _label(ax, "a   train and test error")
        ax = axes[0, 1]
        n_train = step.value("n_train")
        ax.loglog(beta, step.array("mean_loss") / n_train, "o-", ms=3.5, color=COLOURS[0],
                  label="⟨L⟩ per training example")
        ax.set_xlabel("β")
        ax.set_ylabel("training loss")
        ax.legend(frameon=False)
        _label(ax, "b   U(β) = ⟨L⟩ falls towards inf L")
    data = _dataset({k: (("beta",), step.array(k)) for k in (
        "train_error", "train_error_stderr", "test_error", "test_error_stderr", "mean_train_error",
        "mean_test_error", "mean_loss", "acceptance")}, coords={"beta": beta},
        attrs={"n_train": int(step.value("n_train")), "n_test": int(step.value("n_test")),
               "dim": int(step.value("dim")), "minimizer_train_error": step.value("minimizer_train_error"),
               "minimizer_test_error": step.value("minimizer_test_error")})
    return [_out("ml_generalisation",
                 "Generalisation against β for a logistic regression on scikit-learn's breast-cancer data. At "
                 "small β the prior dominates and the classifier underfits; as β grows the Gibbs distribution "
                 "concentrates on low training loss, the training error goes to zero and the test error rises "
                 "again (overfitting a small training set); in between the posterior-mean predictor does best.",
                 figure, data,
                 alt="Left: train and test classification error in percent against β on a log axis, for one "
                     "Gibbs draw and the posterior mean. Right: the mean training loss per example against β, "
                     "falling as β grows.")]


def double_descent_figures(step: StepData) -> list[FigureOut]:
    alpha, lams = step.array("alpha"), step.array("lam")
    lines = step.array("theory_alpha")
    noise, n = step.value("noise"), int(step.value("n_features"))
    names = ["λ → 0 (minimum norm)" if lam == 0 else f"λ = {lam:g}" + (" = Δ (optimal)" if lam == noise else "")
             for lam in lams]
    with _style():
        figure, axes = _figure(9.2, 3.6, ncols=2)
        for k, (ax, what) in enumerate(zip(axes[0], ("generalization", "training"))):
            for j, name in enumerate(names):
                colour = COLOURS[j % len(COLOURS)]
                ax.plot(lines, step.array(f"theory_{what}_error")[j], color=colour, label=f"theory, {name}")
                ax.errorbar(alpha, step.array(f"{what}_error")[:, j], yerr=step.array(f"{what}_stderr")[:, j],
                            fmt="o", ms=3.8, capsize=2, color=colour, mfc="white",
                            label=f"simulation, N = {n} (± one stderr)" if (j, k) == (0, 0) else None)
            ax.axvline(1.0, color="#888888", lw=0.8, ls=":")
            ax.set_xlabel("α = M/N (examples per weight)")
        ax = axes[0, 0]
        ax.set_yscale("log")
        ax.set_ylim(0.05, 20)
        ax.set_ylabel("generalisation error")
        ax.legend(frameon=False, fontsize=7.5, loc="upper right")
        _label(ax, "a   double descent: the peak at α = 1")
        ax = axes[0, 1]
        ax.axhline(noise, color="#888888", lw=0.8, ls="--")
        ax.annotate(f"Δ = {noise:g}", (lines.max(), noise), xytext=(-4, 4), textcoords="offset points",
                    ha="right", fontsize=8, color="#555555")
        ax.set_ylabel("training error")
        ax.legend(frameon=False, fontsize=7.5, loc="lower right")
        _label(ax, "b   training error → Δ as α → ∞")
    data = _dataset({"generalization_error": (("alpha", "lam"), step.array("generalization_error")),
                     "generalization_stderr": (("alpha", "lam"), step.array("generalization_stderr")),
                     "training_error": (("alpha", "lam"), step.array("training_error")),
                     "training_stderr": (("alpha", "lam"), step.array("training_stderr")),
                     "theory_generalization_error": (("lam", "theory_alpha"),
                                                     step.array("theory_generalization_error")),
                     "theory_training_error": (("lam", "theory_alpha"), step.array("theory_training_error"))},
                    coords={"alpha": alpha, "lam": lams, "theory_alpha": lines},
                    attrs={"noise": noise, "n_features": n, "n_seeds": int(step.value("n_seeds"))})
    return [_out("ridge_double_descent",
                 f"Ridge regression of a noisy linear teacher (label noise Δ = {noise:g}): replica theory for "
                 f"N → ∞ (lines) and simulation at N = {n} (points, mean ± one standard error over "
                 f"{int(step.value('n_seeds'))} data sets). Without regularisation the generalisation error "
                 "peaks where the number of examples equals the number of weights (α = 1) and falls again "
                 "beyond it; the optimal penalty λ = Δ removes the peak.", figure, data,
                 alt="Left: generalisation error of ridge regression against the number of examples per weight "
                     "on a log scale, theory lines and simulation points: with vanishing penalty it rises to a "
                     "sharp peak at alpha = 1 and falls again; with the optimal penalty it falls smoothly. "
                     "Right: the training error, zero below alpha = 1 without penalty and rising towards the "
                     "noise level.")]


# ------------------------------------------------------------------ text
def _section_ml(steps, figs) -> str:
    zt, mm, gen = steps.get("ml_zero_temperature"), steps.get("ml_methods"), steps.get("ml_generalisation")
    out = ["<p>Supervised learning fits a function φ<sub>θ</sub> to <i>M</i> examples by minimising a loss:</p>",
           eq("min<sub>θ ∈ Θ</sub> ∑<sub><i>i</i>=1</sub><sup><i>M</i></sup> "
              "ℓ(φ<sub>θ</sub>(<b><i>x</i></b><sub><i>i</i></sub>), <i>y<sub>i</sub></i>)"),
           "<p>Read the loss as a Hamiltonian over the weights θ: the weights are the degrees of freedom, and "
           "the Boltzmann distribution over them is a Gibbs posterior:</p>",
           eq("<i>H</i>(θ) = ∑<sub><i>i</i></sub> |φ<sub>θ</sub>(<b><i>x</i></b><sub><i>i</i></sub>) − "
              "<i>y<sub>i</sub></i>|²,&emsp; "
              f"<i>p</i>(θ) = {frac('1', '<i>Z</i>')} exp(−{BETA}<i>H</i>(θ)),&emsp; "
              f"<i>F<sub>N</sub></i>({BETA}) = −{frac('1', BETA)} log ∫dθ e<sup>−{BETA}<i>H</i>(θ)</sup> "
              f"→ min<sub>θ</sub> <i>H</i>(θ) &nbsp;as {BETA} → ∞"),
           "<p>(statmech adds a Gaussian prior weight e<sup>−λ|θ|²/2</sup> inside the integral so that <i>Z</i> "
           "is finite; as β → ∞ its effect vanishes.) The limit is the saddle-point (Laplace) method: the "
           "integral is dominated by the minimum of the loss.</p>"]
    status = status_note(zt, "The zero-temperature limit of a training loss")
    if status is not None:
        out.append(status)
    else:
        p = zt.params
        out.append(code(f"""
from sklearn.datasets import load_breast_cancer                 # bundled with scikit-learn: no download
X, y = standardised {p['n_features']} features, labels as +-1
model = sm.ml.LinearRegression(X, y, prior_precision={p['prior_precision']:g}, fit_intercept=True)
# H(theta) = sum_i (y_i - x_i . theta)^2
sm.ml.zero_temperature_limit(model, betas, method="exact")    # F, U, S and the Laplace gap
sm.ml.minimize(model).loss                                    # min L = {num(zt.value('min_loss'))}
"""))
        out.append(figures_or_note(figs, zt, "The zero-temperature limit", ml_zero_temperature_figures))
        d, lam = zt.value("dim"), zt.value("prior_precision")
        out.append(f"<p>{num(zt.value('n_samples'))} examples, <i>d</i> = {num(d)} weights: at the "
                   f"largest β computed, <i>F</i> − min <i>L</i> = {num(zt.value('largest_beta_gap'), 3)}.</p>")
        out.append("<p>Why <i>F</i>(β) first rises and then drops at small β (panel a): <i>F</i> = <i>U</i> − "
                   "<i>S</i>/β, and the entropy term takes over as β → 0. There the loss hardly matters, the "
                   "Gibbs distribution becomes the prior weight e<sup>−λ|θ|²/2</sup>, and log <i>Z</i> tends to "
                   f"its Gaussian integral (<i>d</i>/2) ln(2π/λ) = {num(0.5 * d * math.log(2 * math.pi / lam), 4)} "
                   "(the prior weight is not normalised, so this is not 0), so <i>F</i> = −log <i>Z</i>/β ≈ "
                   f"−{num(0.5 * d * math.log(2 * math.pi / lam), 4)}/β falls without bound; at large β, "
                   "<i>F</i> → min <i>L</i>. In between, <i>F</i> has a maximum. The mean energy <i>U</i> = "
                   "⟨<i>L</i>⟩ has no such term: it only falls as β grows, towards min <i>L</i>.</p>")
    out.append("<h3>Laplace vs exact vs sampling</h3>")
    status = status_note(mm, "Laplace vs exact vs sampling")
    if status is not None:
        out.append(status)
    else:
        p = mm.params
        smc = ", ".join(f"{key}={value!r}" for key, value in p["smc_options"].items())
        out.append(code(f"""
model = sm.ml.LogisticRegression(X[:, {p['features']}], y01, prior_precision={p['prior_precision']:g},
                                 fit_intercept=True)
sm.thermo(model, betas, method="quadrature")   # exact (d = {num(mm.value('dim'))})
sm.thermo(model, betas, method="laplace")      # saddle point
for k, beta in enumerate({[float(b) for b in p['sampled_betas']]}):
    sm.log_z(model, beta, method="smc", seed=k, {smc})   # value and stderr
"""))
        out.append(figures_or_note(figs, mm, "Laplace vs exact vs sampling", ml_methods_figures))
        out.append("<p>The peak of <i>F</i>(β) at small β has the same cause as above: there log <i>Z</i> tends "
                   "to the integral of the unnormalised prior weight, and <i>F</i> = −log <i>Z</i>/β falls like "
                   "−(<i>d</i>/2β) ln(2π/λ). Laplace is exact for a quadratic loss and becomes exact here as "
                   "β grows; SMC carries a statistical error instead of a bias.</p>")
    out.append("<h3>Generalisation vs β</h3>")
    status = status_note(gen, "Generalisation vs β")
    if status is not None:
        out.append(status)
    else:
        p = gen.params
        out.append(code(f"""
data = sm.ml.classification_split("{p['dataset']}", n_components={p['n_components']},
                                 test_fraction={p['test_fraction']:g})
result = sm.ml.generalization_vs_beta(data, betas={p['betas']}, prior_precision={p['prior_precision']:g},
                                      n_sweeps={p['n_sweeps']}, burn_in={p['burn_in']}, n_chains={p['n_chains']},
                                      kernel="{p['kernel']}", seed=0)
result.test_error, result.mean_test_error, result.minimizer_test_error
"""))
        out.append(figures_or_note(figs, gen, "Generalisation vs β", ml_generalisation_figures))
        converged = gen.value("minimizer_converged") > 0.5
        out.append(f"<p>{num(gen.value('n_train'))} training and {num(gen.value('n_test'))} test examples, "
                   f"<i>d</i> = {num(gen.value('dim'))} weights. The posterior-mean predictor's test error is "
                   f"smallest at β ≈ {num(gen.value('best_beta'), 3)} "
                   f"({100 * gen.value('best_mean_test_error'):.1f} %), "
                   f"against {100 * gen.value('minimizer_test_error'):.1f} % for the minimiser of the training "
                   "loss" + ("" if converged else " (the training data are separable: the loss has no minimum, only an "
                             "infimum approached as |θ| → ∞)") + ". "
                   f"({warning_count(gen.value('n_warnings'), 'sampler diagnostic warning')}.)</p>")
        out.append(warning_list((gen.meta or {}).get("warnings"), "the Gibbs sampler (generalisation vs β)"))
    out.append("<h3>Double descent</h3>")
    dd = steps.get("double_descent")
    out.append("<p>Statistical physics also predicts how well a model generalises. A student fits "
               "<i>M</i> = α<i>N</i> noisy examples <i>y</i> = θ*·<b><i>x</i></b> + √Δ ξ of a linear teacher "
               "with <i>N</i> weights by ridge regression, the ground state of the loss</p>")
    out.append(eq("<i>H</i>(θ) = ∑<sub><i>i</i>=1</sub><sup><i>M</i></sup> (<i>y<sub>i</sub></i> − "
                  "θ·<b><i>x</i></b><sub><i>i</i></sub>)² + λ|θ|²,&emsp; "
                  "<i>e</i><sub>g</sub> = E<sub><b><i>x</i></b></sub>[(θ̂·<b><i>x</i></b> − "
                  "θ*·<b><i>x</i></b>)²]"))
    out.append("<p>The replica method gives <i>e</i><sub>g</sub> for <i>N</i> → ∞ at fixed α. Without "
               "regularisation (λ → 0, the minimum-norm interpolator) it diverges at the interpolation threshold "
               "α = 1, where the data can just be fitted exactly and the fit follows the noise; beyond it the "
               "error falls again — the second descent.</p>")
    status = status_note(dd, "Double descent")
    if status is not None:
        out.append(status)
    else:
        p = dd.params
        out.append(code(f"""
sm.theory.ridge(alpha, lam, noise={p['noise']:g}).generalization_error        # N = infinity
sim = sm.ml.ridge_simulation(alpha[:, None], {[float(v) for v in p['lams']]}, noise={p['noise']:g},
                             n_features={p['n_features']}, n_seeds={p['n_seeds']}, seed=0)
sim.generalization_error, sim.generalization_stderr                           # N = {p['n_features']}
"""))
        out.append(figures_or_note(figs, dd, "Double descent", double_descent_figures))
        out.append(f"<p>The simulated points follow the theory up to finite-size corrections (largest |<i>z</i>| "
                   f"= {num(dd.value('max_abs_z_score'), 3)} over all points and both λ, <i>z</i> = (simulation − "
                   "theory)/stderr). At α = 1 itself and λ → 0 the error of a finite system has no finite mean "
                   "(the smallest singular value of a square random matrix is of order 1/<i>N</i>), so no point "
                   "is simulated there.</p>")
    return "".join(out)


# ------------------------------------------------------------------ the section
STEPS = (
    TourStep("ml_zero_temperature", "A training loss as a Hamiltonian", _step_ml_zero_temperature,
             quick=dict(n_features=10, prior_precision=1.0, beta_range=[1e-3, 1e4], n_betas=29),
             full=dict(n_features=10, prior_precision=1.0, beta_range=[1e-3, 1e4], n_betas=57)),
    TourStep("ml_methods", "Laplace vs exact vs sampling", _step_ml_methods,
             quick=dict(features=[0], prior_precision=1.0, betas=[0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0],
                        sampled_betas=[0.1, 1.0, 10.0],
                        smc_options={"n_particles": 128, "n_runs": 6, "kernel": "mala"}),
             full=dict(features=[0], prior_precision=1.0,
                       betas=[0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0],
                       sampled_betas=[0.03, 0.1, 0.3, 1.0, 3.0, 10.0],
                       smc_options={"n_particles": 256, "n_runs": 8, "kernel": "mala"})),
    TourStep("ml_generalisation", "Generalisation vs β", _step_ml_generalisation,
             quick=dict(dataset="breast_cancer", n_components=10, test_fraction=0.8, prior_precision=1.0,
                        betas=[0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0, 1000.0], n_sweeps=300, burn_in=200,
                        n_chains=2, kernel="nuts"),
             full=dict(dataset="breast_cancer", n_components=10, test_fraction=0.8, prior_precision=1.0,
                       betas=[0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0],
                       n_sweeps=500, burn_in=500, n_chains=4, kernel="nuts")),
    TourStep("double_descent", "Double descent of ridge regression", _step_double_descent,
             quick=dict(noise=0.25, lams=[0.0, 0.25], alphas=[0.2, 0.4, 0.6, 0.8, 1.25, 1.5, 2.0, 3.0, 4.0],
                        n_features=100, n_seeds=12, theory_alpha_range=[0.02, 4.0], n_theory=400),
             full=dict(noise=0.25, lams=[0.0, 0.25],
                       alphas=[0.2, 0.4, 0.6, 0.8, 0.9, 1.1, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0],
                       n_features=200, n_seeds=32, theory_alpha_range=[0.02, 4.0], n_theory=800)),
)
SECTION = Section("ml-bridge", "The bridge to machine learning", STEPS, _section_ml)
