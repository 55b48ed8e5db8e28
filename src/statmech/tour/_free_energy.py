"""Section 2: free energy, free entropy and density for growing N (step ``extensive``)."""
from __future__ import annotations

import numpy as np

import statmech as sm
from statmech.report._figures import FigureOut, ONE_D, TWO_D
from statmech.report._figures import figure_out as _out
from statmech.report._figures import new_figure as _figure
from statmech.report._figures import panel_label as _label
from statmech.report._figures import style as _style
from statmech.report._figures import xr_dataset as _dataset
from statmech.report._html import code, eq, frac, num, table
from statmech.tour._base import BETA, Section, StepData, StepResult, TourStep, figures_or_note, status_note
from statmech.tour._base import array as _array


# ------------------------------------------------------------------ computation
def _step_extensive(p: dict, seed: int) -> StepResult:
    """F = −log Z/β and f = F/N for chains (transfer matrix) and L × L lattices (Kaufman) of growing N."""
    out = StepResult(method="transfer, kaufman")
    beta = p["beta"]
    out.scalars["beta"] = beta
    for periodic in (True, False):
        label = "periodic" if periodic else "open"
        rows = [sm.thermo(sm.Ising.chain(n, J=1.0, h=0.0, periodic=periodic), beta, method="transfer")
                for n in p["chain_sizes"]]
        out.artifacts[f"chain_{label}_log_z"] = _array([float(r.log_z.value) for r in rows])
        out.artifacts[f"chain_{label}_free_energy"] = _array([float(r.free_energy.value) for r in rows])
        out.artifacts[f"chain_{label}_free_energy_density"] = _array(
            [float(r.free_energy_density.value) for r in rows])
    out.artifacts["chain_sizes"] = _array(p["chain_sizes"], np.int64)
    rows = [sm.thermo(sm.Ising.square(L, J=1.0, h=0.0, periodic=True), p["square_beta"], method="kaufman")
            for L in p["square_sizes"]]
    out.artifacts["square_sizes"] = _array(p["square_sizes"], np.int64)
    out.artifacts["square_n_sites"] = _array([L * L for L in p["square_sizes"]], np.int64)
    out.artifacts["square_log_z"] = _array([float(r.log_z.value) for r in rows])
    out.artifacts["square_free_energy"] = _array([float(r.free_energy.value) for r in rows])
    out.artifacts["square_free_energy_density"] = _array([float(r.free_energy_density.value) for r in rows])
    out.scalars["square_beta"] = p["square_beta"]
    out.scalars["chain_infinite_free_energy_density"] = float(sm.infinite_chain(beta).free_energy_density.value)
    out.scalars["square_infinite_free_energy_density"] = float(
        sm.onsager(p["square_beta"]).free_energy_density.value)
    return out


# ------------------------------------------------------------------ figures
def extensive_figures(step: StepData) -> list[FigureOut]:
    sizes = step.array("chain_sizes")
    square_n = step.array("square_n_sites")
    beta, square_beta = step.value("beta"), step.value("square_beta")
    with _style():
        figure, axes = _figure(9.2, 3.3, ncols=2)
        ax = axes[0, 0]
        ax.loglog(sizes, -step.array("chain_periodic_free_energy"), "o-", color=ONE_D, ms=4,
                  label=f"chain, periodic (β = {beta:g})")
        ax.loglog(sizes, -step.array("chain_open_free_energy"), "s--", color=ONE_D, ms=3.5, mfc="white",
                  label="chain, open")
        ax.loglog(square_n, -step.array("square_free_energy"), "^-", color=TWO_D, ms=4,
                  label=f"L × L square, periodic (β = {square_beta:g})")
        ax.set_xlabel("number of spins N")
        ax.set_ylabel("−F  (log scale)")
        ax.legend(frameon=False)
        _label(ax, "a   F grows like N: extensive")
        ax = axes[0, 1]
        ax.semilogx(sizes, step.array("chain_periodic_free_energy_density"), "o-", color=ONE_D, ms=4,
                    label="chain, periodic")
        ax.semilogx(sizes, step.array("chain_open_free_energy_density"), "s--", color=ONE_D, ms=3.5,
                    mfc="white", label="chain, open")
        ax.axhline(step.value("chain_infinite_free_energy_density"), color=ONE_D, lw=0.9, ls=":",
                   label="infinite chain")
        ax.semilogx(square_n, step.array("square_free_energy_density"), "^-", color=TWO_D, ms=4,
                    label="L × L square")
        ax.axhline(step.value("square_infinite_free_energy_density"), color=TWO_D, lw=0.9, ls=":",
                   label="Onsager (N = ∞)")
        ax.set_xlabel("number of spins N")
        ax.set_ylabel("f = F/N")
        ax.legend(frameon=False, fontsize=7.5, ncols=2)
        _label(ax, "b   f = F/N settles: intensive")
    data = _dataset({
        "chain_periodic_free_energy": (("chain_n",), step.array("chain_periodic_free_energy")),
        "chain_open_free_energy": (("chain_n",), step.array("chain_open_free_energy")),
        "chain_periodic_free_energy_density": (("chain_n",), step.array("chain_periodic_free_energy_density")),
        "chain_open_free_energy_density": (("chain_n",), step.array("chain_open_free_energy_density")),
        "chain_periodic_log_z": (("chain_n",), step.array("chain_periodic_log_z")),
        "square_free_energy": (("square_L",), step.array("square_free_energy")),
        "square_free_energy_density": (("square_L",), step.array("square_free_energy_density")),
        "square_log_z": (("square_L",), step.array("square_log_z")),
    }, coords={"chain_n": sizes, "square_L": step.array("square_sizes")},
        attrs={"beta_chain": beta, "beta_square": square_beta,
               "chain_infinite_free_energy_density": step.value("chain_infinite_free_energy_density"),
               "square_infinite_free_energy_density": step.value("square_infinite_free_energy_density")})
    return [_out("free_energy_extensive",
                 "F is extensive (proportional to N: slope 1 in log–log) while f = F/N is intensive: it "
                 "converges to the N = ∞ value (dotted), at once for periodic boundaries and like 1/N for "
                 "open ones.", figure, data,
                 alt="Left: minus the free energy F against the number of spins N on log-log axes, straight lines "
                     "of slope one for chains and square lattices. Right: the free energy density f = F/N against "
                     "N, converging to its infinite-size value.")]


# ------------------------------------------------------------------ text
def _section_free_energy(steps, figs) -> str:
    step = steps.get("extensive")
    out = ["<p>The free energy, the free entropy and the free energy density:</p>",
           eq(f"<i>F<sub>N</sub></i>({BETA}) = −{frac('1', BETA)} log <i>Z</i>({BETA}),&emsp; "
              f"<i>S</i>({BETA}) = −{BETA}<i>F<sub>N</sub></i>({BETA}) = log <i>Z</i>,&emsp; "
              f"<i>f</i>({BETA}) = −{frac('1', f'<i>N</i>{BETA}')} log <i>Z</i>({BETA})"),
           "<p><i>F</i> is <b>extensive</b> — it grows in proportion to <i>N</i> — and <i>f</i> is "
           "<b>intensive</b>: it has a limit as <i>N</i> → ∞. (The seed writes <i>S</i> = −β<i>F</i> for the "
           "free entropy; statmech calls it <code>free_entropy</code> = log <i>Z</i> and keeps "
           "<code>entropy</code> for the thermodynamic entropy β(<i>U</i> − <i>F</i>).) Computed here for "
           "Ising chains (transfer matrix) and square lattices (Kaufman's exact solution) of growing size:</p>"]
    status = status_note(step, "Free energy for growing N")
    if status is not None:
        return "".join(out) + status
    p = step.params
    out.append(code(f"""
for N in {p['chain_sizes']}:
    t = sm.thermo(sm.Ising.chain(N, J=1.0), {p['beta']:g}, method="transfer")
    t.free_energy, t.free_energy_density, t.free_entropy       # F, f, log Z
sm.infinite_chain({p['beta']:g}).free_energy_density              # N = infinity
for L in {p['square_sizes']}:
    sm.thermo(sm.Ising.square(L), {p['square_beta']:g}, method="kaufman").free_energy_density
sm.onsager({p['square_beta']:g}).free_energy_density
"""))
    sizes = step.array("chain_sizes")
    F = step.array("chain_periodic_free_energy")
    f = step.array("chain_periodic_free_energy_density")
    fo = step.array("chain_open_free_energy_density")
    logz = step.array("chain_periodic_log_z")
    keep = [k for k in range(len(sizes)) if k % 2 == 0 or k == len(sizes) - 1]
    rows = [[num(sizes[k]), num(logz[k]), num(F[k]), num(f[k], 10), num(fo[k], 10)] for k in keep]
    rows.append(["∞", "", "", num(step.value("chain_infinite_free_energy_density"), 10), ""])
    out.append(f"<p>Ising chain, <i>J</i> = 1, {BETA} = {num(step.value('beta'))}:</p>")
    out.append(table(["<i>N</i>", "log <i>Z</i>", "<i>F</i>", "<i>f</i> = <i>F</i>/<i>N</i> (periodic)",
                      "<i>f</i> (open)"], rows, numeric=(0, 1, 2, 3, 4)))
    out.append(figures_or_note(figs, step, "Free energy for growing N", extensive_figures))
    return "".join(out)


# ------------------------------------------------------------------ the section
STEPS = (
    TourStep("extensive", "Free energy: extensive F, intensive f", _step_extensive,
             quick=dict(beta=0.5, chain_sizes=[4, 8, 16, 32, 64, 128, 256, 512, 1024],
                        square_beta=0.3, square_sizes=[2, 4, 8, 16, 32]),
             full=dict(beta=0.5, chain_sizes=[4, 8, 16, 32, 64, 128, 256, 512, 1024],
                       square_beta=0.3, square_sizes=[2, 4, 8, 16, 32, 64, 128])),
)
SECTION = Section("free-energy", "Free energy, free entropy and density", STEPS, _section_free_energy)
