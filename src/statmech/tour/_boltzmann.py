"""Section 1: the Boltzmann distribution of the seed's 8-spin toy (step ``toy``)."""
from __future__ import annotations

import math

import numpy as np

import statmech as sm
from statmech.report._figures import COLOURS, FigureOut
from statmech.report._figures import figure_out as _out
from statmech.report._figures import new_figure as _figure
from statmech.report._figures import panel_label as _label
from statmech.report._figures import style as _style
from statmech.report._figures import xr_dataset as _dataset
from statmech.report._html import code, eq, frac, num, rounded, table
from statmech.tour._base import BETA, X, Section, StepData, StepResult, TourStep, figures_or_note, status_note
from statmech.tour._base import array as _array
from statmech.tour._base import values as _values


# ------------------------------------------------------------------ computation
def _step_toy(p: dict, seed: int) -> StepResult:
    """The seed's toy: N independent ±1 spins, E(x) = Σ B xᵢ (the Ising chain with J = 0, h = −B)."""
    model = sm.Ising.chain(p["n"], J=0.0, h=-p["B"], periodic=False)
    configurations = _array(p["configurations"], np.int8)
    distribution = sm.boltzmann(model, p["beta"])
    probabilities = distribution.prob(configurations)
    energies = model.energy(configurations.astype(np.float64))
    out = StepResult(method="enumerate")
    out.scalars.update(beta=p["beta"], B=p["B"], n_sites=model.n_sites, n_states=2 ** model.n_sites,
                       log_z=float(distribution.log_z), partition_function=math.exp(float(distribution.log_z)),
                       ground_energy=float(sm.ground_energy(model)))
    for k in range(len(configurations)):
        out.scalars[f"p_config{k}"] = float(probabilities[k])
        out.scalars[f"energy_config{k}"] = float(energies[k])
    out.artifacts["configurations"] = configurations
    out.artifacts["config_probability"] = _array(probabilities)
    out.artifacts["config_energy"] = _array(energies)

    # the whole distribution of energies, at several β; degeneracies from β = 0 (all states equally likely)
    levels, _ = sm.boltzmann(model, 0.0).energy_distribution()
    rows = []
    for beta in p["distribution_betas"]:
        level_energies, level_probabilities = sm.boltzmann(model, beta).energy_distribution()
        if not np.allclose(level_energies, levels):
            raise RuntimeError("the energy levels differ between temperatures")
        rows.append(level_probabilities)
    _, uniform = sm.boltzmann(model, 0.0).energy_distribution()
    out.artifacts["levels"] = _array(levels)
    out.artifacts["degeneracy"] = _array(np.rint(uniform * 2 ** model.n_sites), np.int64)
    out.artifacts["distribution_betas"] = _array(p["distribution_betas"])
    out.artifacts["level_probability"] = _array(rows)

    # how it changes with β: p of the two configurations, Z, U, S on a grid
    betas = np.linspace(*p["beta_range"], p["n_betas"])
    out.artifacts["betas"] = betas
    out.artifacts["config_log_probability"] = _array(
        [sm.boltzmann(model, b).log_prob(configurations) for b in betas]).T.copy()
    curves = sm.thermo(model, betas, method="enumerate")
    out.artifacts["log_z"] = _values(curves.log_z)
    out.artifacts["energy"] = _values(curves.energy)
    out.artifacts["entropy"] = _values(curves.entropy)
    return out


# ------------------------------------------------------------------ figures
def toy_figures(step: StepData) -> list[FigureOut]:
    levels = step.array("levels")
    degeneracy = step.array("degeneracy")
    betas_d = step.array("distribution_betas")
    table = step.array("level_probability")
    beta = step.value("beta")
    energies = step.array("config_energy")
    probabilities = step.array("config_probability")
    with _style():
        figure, axes = _figure(9.2, 3.3, ncols=2)
        ax = axes[0, 0]
        at_beta = table[int(np.argmin(np.abs(betas_d - beta)))]
        bars = ax.bar(levels, at_beta, width=1.5, color=COLOURS[0], alpha=0.85)
        for bar, count in zip(bars, degeneracy):
            ax.annotate(f"×{count}", (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center",
                        va="bottom", fontsize=7.5, color="#333333")
        for k, (energy, colour) in enumerate(zip(energies, (COLOURS[1], COLOURS[3]))):
            ax.axvline(energy, color=colour, ls="--", lw=1.2,
                       label=f"seed's x{'₁₂'[k]}: H = {energy + 0.0:g}, p(x) = {probabilities[k]:.3g}")
        ax.set_xlabel("energy H(x)")
        ax.set_ylabel(r"$P(H=E)$")
        ax.set_xticks(levels)
        ax.set_ylim(0, max(at_beta) * 1.18)
        ax.legend(loc="upper right", frameon=False)
        _label(ax, f"a   the 256 configurations by energy, β = {beta:g}")
        ax = axes[0, 1]
        for row, b in zip(table, betas_d):
            ax.plot(levels, row, "o-", ms=3.5, label=f"β = {b:g}")
        ax.set_xticks(levels)
        ax.set_xlabel("energy H(x)")
        ax.set_ylabel(r"$P(H=E)$")
        ax.legend(frameon=False)
        _label(ax, "b   larger β (colder) favours low energy")
    first = _out("toy_energy_distribution",
                 "The Boltzmann distribution of the toy, grouped by energy level (×: number of configurations "
                 "with that energy). The two dashed lines are the seed's configurations.",
                 figure, _dataset({"probability": (("beta", "energy"), table),
                                   "degeneracy": (("energy",), degeneracy)},
                                  coords={"beta": betas_d, "energy": levels}),
                 alt="Two bar and line charts of the probability of each energy level of the 8-spin toy: left, "
                     "at β = 1, with the number of configurations per level and the seed's two configurations "
                     "marked; right, the same distribution at five values of β, shifting to low energy as β grows.")

    betas = step.array("betas")
    log_p = step.array("config_log_probability")
    with _style():
        figure, axes = _figure(9.2, 3.1, ncols=2)
        ax = axes[0, 0]
        for k, colour in enumerate((COLOURS[1], COLOURS[3])):
            ax.semilogy(betas, np.exp(log_p[k]), color=colour, label=f"x{'₁₂'[k]} (H = {energies[k] + 0.0:g})")
            ax.plot([beta], [probabilities[k]], "o", color=colour)
            ax.annotate(f"{probabilities[k]:.3g}", (beta, probabilities[k]), textcoords="offset points",
                        xytext=(6, 4), fontsize=8, color=colour)
        ax.axhline(1 / 256, color="#888888", lw=0.8, ls=":", label="1/256 (β = 0)")
        ax.set_xlabel("β")
        ax.set_ylabel("p(x)")
        ax.legend(frameon=False, loc="lower left")
        _label(ax, "c   p(x) of the seed's two configurations")
        ax = axes[0, 1]
        ax.plot(betas, step.array("energy"), color=COLOURS[0], label="U = ⟨H⟩")
        ax.plot(betas, step.array("entropy"), color=COLOURS[2], label="S = β(U − F)")
        ax.axhline(step.value("ground_energy"), color="#888888", lw=0.8, ls=":", label="ground state")
        ax.set_xlabel("β")
        ax.legend(frameon=False)
        _label(ax, "d   mean energy and entropy")
    second = _out("toy_beta_dependence",
                  "How the distribution changes with β: the low-energy configuration gains weight, the "
                  "high-energy one loses it; ⟨H⟩ falls to the ground-state energy and the entropy to log 1 = 0.",
                  figure, _dataset({"log_probability": (("configuration", "beta"), log_p),
                                    "energy": (("beta",), step.array("energy")),
                                    "entropy": (("beta",), step.array("entropy")),
                                    "log_z": (("beta",), step.array("log_z")),
                                    "spins": (("configuration", "site"), step.array("configurations"))},
                                   coords={"beta": betas}),
                  alt="Left: the probabilities of the seed's two configurations against β on a log scale, one "
                      "rising and one falling from 1/256 at β = 0. Right: the mean energy falling to the "
                      "ground-state energy and the entropy falling to zero as β grows.")
    return [first, second]


# ------------------------------------------------------------------ text
def _section_boltzmann(steps, figs) -> str:
    step = steps.get("toy")
    out = [f"<p>A configuration {X} of <i>N</i> degrees of freedom has an energy, the Hamiltonian "
           f"<i>H</i>({X}). At inverse temperature {BETA} it is found with the Boltzmann probability</p>",
           eq(f"<i>p</i>({X}) = {frac('1', f'<i>Z</i>({BETA})')} exp(−{BETA}<i>H</i>({X})),&emsp; "
              f"<i>Z</i>({BETA}) = ∑<sub>{X}</sub> exp(−{BETA}<i>H</i>({X}))", "Boltzmann"),
           "<p>The seed's toy: eight ±1 spins on a line, without interactions, with energy "
           f"<i>E</i>({X}) = ∑<sub><i>i</i></sub> <i>B x<sub>i</sub></i>: 2<sup>8</sup> = 256 configurations. "
           "(In statmech's convention <i>H</i> = −∑<i>J s<sub>i</sub>s<sub>j</sub></i> − ∑<i>h s<sub>i</sub></i>, "
           "so the toy is an Ising chain with <i>J</i> = 0 and <i>h</i> = −<i>B</i>. For spins the seed's "
           "integral over configurations is this sum.)</p>"]
    status = status_note(step, "The 8-spin toy")
    if status is not None:
        return "".join(out) + status
    p = step.params
    c0, c1 = p["configurations"]
    p0, p1 = step.value("p_config0"), step.value("p_config1")
    fmt = lambda c: "(" + ", ".join(f"{v:+d}" for v in c) + ")"  # noqa: E731
    out.append(code(f"""
import statmech as sm
toy = sm.Ising.chain({p['n']}, J=0.0, h=-{p['B']:g}, periodic=False)   # E(x) = sum_i B x_i, B = {p['B']:g}
boltz = sm.boltzmann(toy, beta={p['beta']:g})
boltz.prob({list(c0)})    # {num(p0)}
boltz.prob({list(c1)})    # {num(p1)}
boltz.log_z                                  # log Z = {num(step.value('log_z'))}
boltz.energy_distribution()                  # levels E and P(H = E): figure 1
sm.thermo(toy, betas, method="enumerate")    # U(beta), S(beta): figure 2
"""))
    out.append(table([f"configuration {X}", f"<i>H</i>({X})", f"<i>p</i>({X}) computed", "rounded", "the seed says"],
                     [[f"<code>{fmt(c0)}</code>", num(step.value("energy_config0")), num(p0), rounded(p0), "≈ 0.05"],
                      [f"<code>{fmt(c1)}</code>", num(step.value("energy_config1")), num(p1), rounded(p1),
                       "≈ 10<sup>−4</sup>"]],
                     numeric=(1, 2, 3)))
    z = step.value("partition_function")
    log_ratio = -step.value("beta") * (step.value("energy_config0") - step.value("energy_config1"))
    out.append(f"<p>At {BETA} = <i>B</i> = {num(step.value('beta'))}: <i>Z</i> = {num(z)} "
               f"(log <i>Z</i> = {num(step.value('log_z'))}); the configuration of energy "
               f"{num(step.value('energy_config0'))} is {num(p0 / p1, 4)} times more probable than the one of "
               f"energy {num(step.value('energy_config1'))} — that is e<sup>{num(log_ratio)}</sup>: "
               "only energy differences matter. The ground state (all spins −1) has energy "
               f"{num(step.value('ground_energy'))}.</p>")
    out.append(figures_or_note(figs, step, "The 8-spin toy", toy_figures))
    return "".join(out)


# ------------------------------------------------------------------ the section
SEED_CONFIGURATIONS = [[-1, -1, -1, -1, +1, -1, -1, -1], [+1, +1, +1, -1, +1, -1, -1, -1]]
"""The seed's two configurations of the toy (p ≈ 0.049 and ≈ 1.2e-4 at β = B = 1)."""

STEPS = (
    TourStep("toy", "The Boltzmann distribution of the 8-spin toy", _step_toy,
             quick=dict(n=8, B=1.0, beta=1.0, configurations=SEED_CONFIGURATIONS,
                        distribution_betas=[0.0, 0.25, 0.5, 1.0, 2.0], beta_range=[0.0, 3.0], n_betas=61),
             full=dict(n=8, B=1.0, beta=1.0, configurations=SEED_CONFIGURATIONS,
                       distribution_betas=[0.0, 0.25, 0.5, 1.0, 2.0], beta_range=[0.0, 3.0], n_betas=121)),
)
SECTION = Section("boltzmann", "Boltzmann distribution and the partition function", STEPS, _section_boltzmann)
