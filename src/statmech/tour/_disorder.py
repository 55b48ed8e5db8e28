"""Section 4: disorder and self-averaging (steps ``self_averaging``, ``quenched``, ``rem``)."""
from __future__ import annotations

import importlib

import numpy as np

import statmech as sm
from statmech.report._figures import COLOURS, FigureOut
from statmech.report._figures import figure_out as _out
from statmech.report._figures import new_figure as _figure
from statmech.report._figures import panel_label as _label
from statmech.report._figures import style as _style
from statmech.report._figures import xr_dataset as _dataset
from statmech.report._html import code, eq, esc, frac, note, num
from statmech.tour._base import (BETA, X, Section, StepData, StepResult, TourStep, figures_or_note, status_note,
                                 theory_function)
from statmech.tour._base import array as _array
from statmech.tour._base import values as _values


# ------------------------------------------------------------------ computation
def _sk(n: int):
    return sm.SK(n)


def _step_self_averaging(p: dict, seed: int) -> StepResult:
    """Var(f_N) over SK instances for growing N and the fit Var ∝ N^-a (``sm.self_averaging``)."""
    result = sm.self_averaging(_sk, tuple(p["sizes"]), p["beta"], n_instances=p["n_instances"],
                               method=p["method"], seed=seed, progress=False)
    out = StepResult(method=result.method)
    out.artifacts["n_sites"] = _array(result.n_sites, np.int64)
    out.artifacts["free_energy_density"] = _array([r.values for r in result.results])
    out.artifacts["variance"] = _array(result.variances)
    out.artifacts["log_variance_stderr"] = _array(result.log_variance_stderr)
    out.artifacts["mean"] = _array([r.mean for r in result.results])
    out.artifacts["mean_stderr"] = _array([r.stderr for r in result.results])
    out.scalars.update(beta=result.beta, n_instances=p["n_instances"],
                       exponent=(result.exponent, result.exponent_stderr), amplitude=result.amplitude,
                       chi2=result.chi2, dof=result.dof)
    return out


def _density(result, name: str = "free_energy_density") -> float:
    """A float density from a theory result: a Thermo (Estimate), a result object, or a number."""
    value = getattr(result, name, result)
    value = getattr(value, "value", value)
    return float(np.asarray(value, dtype=np.float64).reshape(-1)[0])


def _step_quenched(p: dict, seed: int) -> StepResult:
    """Quenched vs annealed f of SK instances over β (``sm.quenched``), with the replica theory."""
    betas = _array(p["betas"])
    out = StepResult(method=p["method"])
    # the same instances at every β, each computed once for the grid: one curve per instance, averaged
    result = sm.quenched(sm.SK(p["n"]), betas, p["n_instances"], method=p["method"], seed=seed,
                         progress=False)
    rows = {"quenched": result.mean, "quenched_stderr": result.stderr, "annealed_sample": result.annealed,
            "annealed": np.full(len(betas), np.nan) if result.annealed_exact is None else result.annealed_exact}
    out.artifacts["beta"] = betas
    for name, values in rows.items():
        out.artifacts[name] = _array(values)
    dense = np.linspace(float(min(betas.min(), min(p["theory_betas"]))),
                        float(max(betas.max(), max(p["theory_betas"]))), 200)
    out.artifacts["annealed_beta"] = dense
    out.artifacts["annealed_curve"] = _array(-np.asarray(sm.SK(p["n"]).annealed_free_entropy_density(dense)) / dense)
    out.scalars.update(n=p["n"], n_instances=p["n_instances"])

    theory_betas = _array(p["theory_betas"])
    notes = {}
    for label, name, options in (("parisi", "parisi", p["parisi_options"]),
                                 ("replica_symmetric", "sk_replica_symmetric", {})):
        function = theory_function(name)
        if function is None:
            notes[label] = f"statmech.theory.{name} is not available in this installation"
            continue
        out.artifacts[f"{label}_beta"] = theory_betas
        out.artifacts[label] = _array([_density(function(float(b), **options)) for b in theory_betas])
    parisi = theory_function("parisi")
    if parisi is not None:
        reference = parisi(float(p["parisi_reference_beta"]), **p["parisi_options"])
        out.scalars["parisi_reference_beta"] = float(p["parisi_reference_beta"])
        out.scalars["parisi_reference"] = _density(reference)
    replica_symmetric = theory_function("sk_replica_symmetric")
    if replica_symmetric is not None:
        out.scalars["replica_symmetric_reference"] = _density(replica_symmetric(float(p["parisi_reference_beta"])))
    out.artifacts["theory_notes"] = notes
    return out


def _step_rem(p: dict, seed: int) -> StepResult:
    """The random energy model: quenched f for growing n against Derrida's solution (``sm.theory.rem``)."""
    betas = _array(p["betas"])
    out = StepResult(method=p["method"])
    values, errors = [], []
    annealed = []
    for n in p["sizes"]:
        row, row_errors = [], []
        for beta in betas:
            result = sm.quenched(sm.REM(n), float(beta), p["n_instances"], method=p["method"], seed=seed,
                                 progress=False)
            row.append(result.mean)
            row_errors.append(result.stderr)
            if n == p["sizes"][0]:
                annealed.append(np.nan if result.annealed_exact is None else result.annealed_exact)
        values.append(row)
        errors.append(row_errors)
    out.artifacts.update(beta=betas, sizes=_array(p["sizes"], np.int64), quenched=_array(values),
                         quenched_stderr=_array(errors), annealed=_array(annealed))
    out.scalars.update(n_instances=p["n_instances"])
    rem = theory_function("rem")
    if rem is None:
        out.artifacts["theory_notes"] = {"rem": "statmech.theory.rem is not available in this installation"}
    else:
        theory_betas = np.linspace(float(betas.min()), float(betas.max()), 200)
        out.artifacts["theory_beta"] = theory_betas
        out.artifacts["theory"] = _values(rem(theory_betas).free_energy_density)
        critical = getattr(importlib.import_module("statmech.theory"), "REM_CRITICAL_BETA", None)
        if critical is not None:
            out.scalars["critical_beta"] = float(critical)
    dense = np.linspace(float(betas.min()), float(betas.max()), 200)
    out.artifacts["annealed_beta"] = dense
    out.artifacts["annealed_curve"] = _array(
        -np.asarray(sm.REM(p["sizes"][0]).annealed_free_entropy_density(dense)) / dense)
    return out


# ------------------------------------------------------------------ figures
def self_averaging_figures(step: StepData) -> list[FigureOut]:
    n = step.array("n_sites")
    values = step.array("free_energy_density")
    variance = step.array("variance")
    se = step.array("log_variance_stderr")
    exponent, exponent_se = step.value("exponent"), step.stderr("exponent")
    amplitude = step.value("amplitude")
    with _style():
        figure, axes = _figure(9.2, 3.3, ncols=2)
        ax = axes[0, 0]
        low, high = np.min(values), np.max(values)
        bins = np.linspace(low, high, 36)
        for k, size in enumerate(n):
            ax.hist(values[k], bins=bins, density=True, histtype="step", lw=1.5, label=f"N = {size}")
        ax.set_xlabel(r"free energy density $f_N$ of one instance")
        ax.set_ylabel("density")
        ax.legend(frameon=False)
        _label(ax, f"a   {values.shape[1]} SK instances per N, β = {step.value('beta'):g}")
        ax = axes[0, 1]
        ax.errorbar(n, variance, yerr=[variance * (1 - np.exp(-se)), variance * (np.exp(se) - 1)], fmt="o",
                    capsize=3, color=COLOURS[0], label=r"Var$(f_N)$ over instances")
        grid = np.geomspace(n.min(), n.max(), 50)
        ax.plot(grid, amplitude * grid ** (-exponent), color=COLOURS[1],
                label=f"fit A·N^(−a), a = {exponent:.2f} ± {exponent_se:.2f}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(n, [str(v) for v in n])
        ax.minorticks_off()
        ax.set_xlabel("N")
        ax.set_ylabel(r"Var$(f_N)$")
        ax.legend(frameon=False)
        _label(ax, "b   the variance law")
    data = _dataset({"free_energy_density": (("N", "instance"), values), "variance": (("N",), variance),
                     "log_variance_stderr": (("N",), se), "mean": (("N",), step.array("mean")),
                     "mean_stderr": (("N",), step.array("mean_stderr"))},
                    coords={"N": n}, attrs={"beta": step.value("beta"), "exponent": exponent,
                                            "exponent_stderr": exponent_se, "amplitude": amplitude,
                                            "chi2": step.value("chi2"), "dof": int(step.value("dof"))})
    return [_out("sk_self_averaging",
                 "Self-averaging: the free energy density of one random instance concentrates on its mean as N "
                 "grows; its sample-to-sample variance falls as a power of N.", figure, data,
                 alt="Left: histograms of the free energy density of single SK instances, narrowing as N grows. "
                     "Right: their variance against N on log-log axes with a fitted power law.")]


def quenched_figures(step: StepData) -> list[FigureOut]:
    beta = step.array("beta")
    n = int(step.value("n"))
    with _style():
        figure, axes = _figure(9.2, 3.5, ncols=2)
        for k, ax in enumerate(axes[0]):
            zoom = k == 1
            ax.errorbar(beta, step.array("quenched"), yerr=step.array("quenched_stderr"), fmt="o", ms=4, capsize=2,
                        color=COLOURS[0], label=f"quenched, N = {n} (exact per instance)", zorder=3)
            ax.plot(beta, step.array("annealed_sample"), "s", ms=3.5, mfc="white", color=COLOURS[1],
                    label="annealed, same instances")
            if "annealed_curve" in step.artifacts:
                ax.plot(step.array("annealed_beta"), step.array("annealed_curve"), "-", color=COLOURS[1], lw=1,
                        label=f"annealed, exact E[Z], N = {n}")
            if "parisi" in step.artifacts:
                ax.plot(step.array("parisi_beta"), step.array("parisi"), "-", color=COLOURS[2], lw=2,
                        label="Parisi (N = ∞)")
            if "replica_symmetric" in step.artifacts:
                ax.plot(step.array("replica_symmetric_beta"), step.array("replica_symmetric"), "--",
                        color=COLOURS[4], lw=1.2, label="replica symmetric (N = ∞)")
            ax.axvline(1.0, color="#888888", lw=0.8, ls=":")
            ax.set_xlabel("β")
            ax.set_ylabel("free energy density f")
            if zoom:
                low = beta >= 0.999
                ax.set_xlim(0.95, beta.max() * 1.03)
                values = [step.array("quenched")[low], step.array("annealed_sample")[low]]
                for label in ("parisi", "replica_symmetric"):
                    if label in step.artifacts:
                        values.append(step.array(label)[step.array(f"{label}_beta") >= 0.999])
                values = np.concatenate(values)
                values = values[np.isfinite(values)]
                span = values.max() - values.min()
                ax.set_ylim(values.min() - 0.08 * span, values.max() + 0.08 * span)
                _label(ax, "b   low temperature, β ≥ 1")
            else:
                ax.legend(frameon=False, fontsize=7.5, loc="lower right")
                _label(ax, "a   f against β")
    variables = {"quenched": (("beta",), step.array("quenched")),
                 "quenched_stderr": (("beta",), step.array("quenched_stderr")),
                 "annealed_sample": (("beta",), step.array("annealed_sample")),
                 "annealed": (("beta",), step.array("annealed"))}
    coords = {"beta": beta}
    if "annealed_curve" in step.artifacts:
        coords["annealed_beta"] = step.array("annealed_beta")
        variables["annealed_curve"] = (("annealed_beta",), step.array("annealed_curve"))
    for label in ("parisi", "replica_symmetric"):
        if label in step.artifacts:
            coords[f"{label}_beta"] = step.array(f"{label}_beta")
            variables[label] = ((f"{label}_beta",), step.array(label))
    data = _dataset(variables, coords, {"n": n, "n_instances": int(step.value("n_instances"))})
    return [_out("sk_quenched_annealed",
                 "Quenched and annealed free energies of the SK model. Above the spin-glass temperature (β < 1) "
                 "they agree; below it the annealed average is dominated by rare instances and is wrong, and the "
                 "quenched value of the infinite system is Parisi's solution, which the replica-symmetric one "
                 "misses. Small systems carry finite-size corrections.", figure, data,
                 alt="The SK free energy density against β: quenched points with error bars, the annealed values "
                     "and curve, Parisi's and the replica-symmetric solutions; the right panel zooms on β ≥ 1, "
                     "where the annealed curve separates from the quenched values.")]


def rem_figures(step: StepData) -> list[FigureOut]:
    beta = step.array("beta")
    sizes = step.array("sizes")
    with _style():
        figure, axes = _figure(6.6, 3.7)
        ax = axes[0, 0]
        for k, n in enumerate(sizes):
            ax.errorbar(beta, step.array("quenched")[k], yerr=step.array("quenched_stderr")[k], fmt="o", ms=3.8,
                        capsize=2, color=COLOURS[k % len(COLOURS)], label=f"quenched, n = {n} (exact per instance)")
        if "annealed_curve" in step.artifacts:
            ax.plot(step.array("annealed_beta"), step.array("annealed_curve"), "--", color=COLOURS[5], lw=1.2,
                    label="annealed −log E[Z]/(nβ)")
        else:
            ax.plot(beta, step.array("annealed"), "--", color=COLOURS[5], lw=1.2, label="annealed −log E[Z]/(nβ)")
        if "theory" in step.artifacts:
            ax.plot(step.array("theory_beta"), step.array("theory"), "-", color="#222222", lw=1.8,
                    label="Derrida's solution (n = ∞)")
        if "critical_beta" in step.scalars:
            ax.axvline(step.value("critical_beta"), color="#888888", lw=0.8, ls=":")
            ax.annotate("β_c = 2√ln 2", (step.value("critical_beta"), ax.get_ylim()[1]), xytext=(4, -12),
                        textcoords="offset points", fontsize=8, color="#555555")
        ax.set_xlabel("β")
        ax.set_ylabel("free energy density f")
        # below the curves on the right: the quenched points and Derrida's curve run along the upper edge
        ax.legend(frameon=False, fontsize=7.5, loc="lower right")
    variables = {"quenched": (("n", "beta"), step.array("quenched")),
                 "quenched_stderr": (("n", "beta"), step.array("quenched_stderr")),
                 "annealed": (("beta",), step.array("annealed"))}
    coords = {"n": sizes, "beta": beta}
    if "annealed_curve" in step.artifacts:
        coords["annealed_beta"] = step.array("annealed_beta")
        variables["annealed_curve"] = (("annealed_beta",), step.array("annealed_curve"))
    if "theory" in step.artifacts:
        coords["theory_beta"] = step.array("theory_beta")
        variables["theory"] = (("theory_beta",), step.array("theory"))
    return [_out("rem_quenched_annealed",
                 "The random energy model: 2<sup>n</sup> independent Gaussian energies. Below the freezing point "
                 "β<sub>c</sub> the annealed average is exact; above it the system freezes into its lowest "
                 "levels, f stops changing, and only the quenched average is right.", figure,
                 _dataset(variables, coords, {"n_instances": int(step.value("n_instances"))}),
                 alt="The free energy density of the random energy model against β: quenched points with error "
                     "bars for several n, the annealed curve and Derrida's solution, which flattens beyond the "
                     "freezing point β_c where the annealed curve keeps falling.")]


# ------------------------------------------------------------------ text
def _section_disorder(steps, figs) -> str:
    sa, qa = steps.get("self_averaging"), steps.get("quenched")
    out = ["<p>With quenched disorder — random couplings <i>J</i> drawn once and frozen — the free energy "
           "depends on the sample. The Sherrington–Kirkpatrick (SK) spin glass couples every pair with a "
           "Gaussian <i>J<sub>ij</sub></i> of variance 1/<i>N</i>:</p>",
           eq(f"<i>H<sub>J</sub></i>({X}) = −∑<sub><i>i</i>&lt;<i>j</i></sub> <i>J<sub>ij</sub> x<sub>i</sub> "
              f"x<sub>j</sub></i>,&emsp; <i>f<sub>N</sub></i> = −{frac('1', f'<i>N</i>{BETA}')} log "
              f"<i>Z<sub>J</sub></i>({BETA})"),
           "<p>As <i>N</i> grows, <i>f<sub>N</sub></i> concentrates on its average: it is "
           "<b>self-averaging</b>, so one computes the average of log <i>Z</i> — the <b>quenched</b> free "
           "energy — which is hard; averaging <i>Z</i> itself (<b>annealed</b>) is easy but, at low "
           "temperature, wrong:</p>",
           eq(f"<i>f</i><sub>quenched</sub> = −{frac('1', f'<i>N</i>{BETA}')} E<sub><i>J</i></sub>[log "
              f"<i>Z<sub>J</sub></i>],&emsp; <i>f</i><sub>annealed</sub> = −{frac('1', f'<i>N</i>{BETA}')} "
              f"log E<sub><i>J</i></sub>[<i>Z<sub>J</sub></i>] ≤ <i>f</i><sub>quenched</sub>,&emsp; "
              "Var(<i>f<sub>N</sub></i>) ∝ <i>N</i><sup>−<i>a</i></sup>")]
    status = status_note(sa, "Self-averaging")
    if status is not None:
        out.append(status)
    else:
        p = sa.params
        out.append(code(f"""
sa = sm.self_averaging(lambda n: sm.SK(n), sizes={tuple(p['sizes'])}, beta={p['beta']:g},
                       n_instances={p['n_instances']}, method="{p['method']}", seed=0)
sa.exponent, sa.exponent_stderr      # a = {num(sa.value('exponent'), 3)} ± {num(sa.stderr('exponent'), 2)}
"""))
        out.append(figures_or_note(figs, sa, "Self-averaging", self_averaging_figures))
        out.append(f"<p>Fitted exponent <i>a</i> = {num(sa.value('exponent'), 3)} ± {num(sa.stderr('exponent'), 2)} "
                   f"(χ² = {num(sa.value('chi2'), 3)} for {num(sa.value('dof'))} degrees of freedom). For SK at high "
                   "temperature log <i>Z</i> − log E[<i>Z</i>] has O(1) fluctuations, so the asymptotic exponent is "
                   "<i>a</i> = 2 (for short-range models, <i>a</i> = 1); at these small <i>N</i> the fit still "
                   "includes finite-size corrections.</p>")
    out.append("<h3>Quenched vs annealed, and Parisi's solution</h3>")
    status = status_note(qa, "Quenched vs annealed")
    if status is not None:
        out.append(status)
    else:
        p = qa.params
        theory = ""
        if "parisi" in qa.artifacts:
            theory = "\nsm.theory.parisi(beta).free_energy_density                  # N = infinity, full RSB"
        if "replica_symmetric" in qa.artifacts:
            theory += "\nsm.theory.sk_replica_symmetric(beta).free_energy_density     # N = infinity, RS"
        out.append(code(f"""
q = sm.quenched(sm.SK({p['n']}), beta, n_instances={p['n_instances']}, method="{p['method']}", seed=0)
q.mean, q.stderr, q.annealed, q.annealed_exact{theory}
"""))
        for label, notice in sorted(qa.artifacts.get("theory_notes", {}).items()):
            out.append(note(f"<b>Not yet available:</b> the {'Parisi' if label == 'parisi' else 'replica-symmetric'} "
                            f"curve ({esc(notice)}); the panel shows the computed quenched and annealed values only."))
        out.append(figures_or_note(figs, qa, "Quenched vs annealed", quenched_figures))
        if "parisi_reference" in qa.scalars:
            b = qa.value("parisi_reference_beta")
            betas = qa.array("beta")
            at = np.flatnonzero(np.isclose(betas, b))
            finite = (f"; the exact average over {num(qa.value('n_instances'))} instances of <i>N</i> = "
                      f"{num(qa.value('n'))} gives {num(qa.array('quenched')[at[0]], 5)} ± "
                      f"{num(qa.array('quenched_stderr')[at[0]], 2)}" if at.size else "")
            rs = ""
            if "replica_symmetric_reference" in qa.scalars:
                rs = (f" (the replica-symmetric solution, which is unstable there, gives "
                      f"{num(qa.value('replica_symmetric_reference'), 7)})")
            out.append(f"<p>At {BETA} = {num(b)} Parisi's solution gives <i>f</i> = "
                       f"{num(qa.value('parisi_reference'), 7)} "
                       f"in the limit <i>N</i> → ∞{rs}{finite}: at low temperature systems this small are far "
                       "from the limit (the finite-size corrections of SK decay slowly, like a power of "
                       "1/<i>N</i>).</p>")
    out.append("<h3>The random energy model</h3>")
    rem = steps.get("rem")
    out.append("<p>Derrida's random energy model keeps only the randomness: each of the 2<sup><i>n</i></sup> "
               "configurations gets an independent Gaussian energy of variance <i>n</i>/2. It is solved exactly "
               "for <i>n</i> → ∞, and shows the failure of the annealed average at its purest:</p>")
    status = status_note(rem, "The random energy model")
    if status is not None:
        out.append(status)
    else:
        p = rem.params
        out.append(code(f"""
for n in {p['sizes']}:
    sm.quenched(sm.REM(n), beta, n_instances={p['n_instances']}, method="{p['method']}", seed=0).mean
sm.theory.rem(betas).free_energy_density          # n = infinity (Derrida 1981)
"""))
        for label, notice in sorted(rem.artifacts.get("theory_notes", {}).items()):
            out.append(note(f"<b>Not yet available:</b> the exact n = ∞ curve ({esc(notice)})."))
        out.append(figures_or_note(figs, rem, "The random energy model", rem_figures))
    return "".join(out)


# ------------------------------------------------------------------ the section
STEPS = (
    TourStep("self_averaging", "Self-averaging of f_N", _step_self_averaging,
             quick=dict(sizes=[6, 8, 10, 12], beta=0.5, n_instances=200, method="enumerate"),
             full=dict(sizes=[6, 8, 10, 12, 14, 16], beta=0.5, n_instances=800, method="enumerate")),
    TourStep("quenched", "Quenched vs annealed, and Parisi", _step_quenched,
             quick=dict(n=12, betas=[0.25, 0.5, 0.75, 1.0, 1.5, 2.0], n_instances=40, method="enumerate",
                        theory_betas=[0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0], parisi_options={"tol": 1e-4},
                        parisi_reference_beta=2.0),
             full=dict(n=14, betas=[0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0], n_instances=200,
                       method="enumerate",
                       theory_betas=[0.2, 0.4, 0.6, 0.8, 1.0, 1.1, 1.25, 1.4, 1.6, 1.8, 2.0],
                       parisi_options={"tol": 1e-5}, parisi_reference_beta=2.0)),
    TourStep("rem", "The random energy model", _step_rem,
             quick=dict(sizes=[8, 12], betas=[0.5, 1.0, 1.5, 2.0, 2.5, 3.0], n_instances=40, method="rem-sum"),
             full=dict(sizes=[10, 13, 16], betas=[0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0],
                       n_instances=100, method="rem-sum")),
)
SECTION = Section("disorder", "Disorder and self-averaging", STEPS, _section_disorder)
