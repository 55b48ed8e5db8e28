"""Section 3: 1D vs 2D Ising.

Steps ``ising_exact``, ``ising_mc``, ``snapshots``, ``binder`` and ``approximations``.
"""
from __future__ import annotations

import numpy as np

import statmech as sm
from statmech.report._figures import COLOURS, ONE_D, TWO_D, FigureOut
from statmech.report._figures import figure_out as _out
from statmech.report._figures import new_figure as _figure
from statmech.report._figures import panel_label as _label
from statmech.report._figures import style as _style
from statmech.report._figures import xr_dataset as _dataset
from statmech.report._html import code, eq, esc, frac, num, table
from statmech.tour._base import (BETA, X, Section, StepData, StepResult, TourStep, figures_or_note, status_note,
                                 warning_count, warning_list)
from statmech.tour._base import array as _array
from statmech.tour._base import errors as _errors
from statmech.tour._base import values as _values


# ------------------------------------------------------------------ computation
def _temperature_grid(p: dict) -> np.ndarray:
    return np.linspace(p["t_min"], p["t_max"], p["n_temperatures"])


def _step_ising_exact(p: dict, seed: int) -> StepResult:
    """Exact curves against T: the infinite chain, the N-spin ring (transfer), Onsager/Yang, Kaufman at L."""
    temperatures = _temperature_grid(p)
    betas = 1.0 / temperatures
    out = StepResult(method="infinite-chain, transfer, onsager, kaufman")
    out.artifacts["temperature"] = temperatures
    chain = sm.infinite_chain(betas)
    out.artifacts["chain_infinite_energy_density"] = _values(chain.energy_density)
    out.artifacts["chain_infinite_specific_heat_density"] = _values(chain.specific_heat_density)
    out.artifacts["chain_infinite_magnetization_density"] = _values(chain.magnetization_density)
    ring = sm.thermo(sm.Ising.chain(p["chain_n"], J=1.0, h=0.0, periodic=True), betas, method="transfer")
    out.artifacts["chain_finite_energy_density"] = _values(ring.energy_density)
    out.artifacts["chain_finite_specific_heat_density"] = _values(ring.specific_heat_density)
    square = sm.onsager(betas)
    out.artifacts["square_infinite_energy_density"] = _values(square.energy_density)
    out.artifacts["square_infinite_specific_heat_density"] = _values(square.specific_heat_density)
    out.artifacts["square_infinite_abs_magnetization_density"] = _values(square.abs_magnetization_density)
    finite = sm.thermo(sm.Ising.square(p["square_L"], J=1.0, h=0.0, periodic=True), betas, method="kaufman")
    out.artifacts["square_finite_energy_density"] = _values(finite.energy_density)
    out.artifacts["square_finite_specific_heat_density"] = _values(finite.specific_heat_density)
    out.scalars.update(chain_n=p["chain_n"], square_L=p["square_L"],
                       critical_temperature=float(sm.CRITICAL_TEMPERATURE),
                       critical_beta=float(sm.CRITICAL_BETA))
    return out


def _step_ising_mc(p: dict, seed: int) -> StepResult:
    """Monte Carlo points with error bars for the N-spin ring and the L × L lattice.

    Both use Swendsen–Wang cluster updates by default: single-spin Metropolis
    from a random start needs ~N² sweeps to remove the domain walls of a cold
    chain, and on a large lattice below T_c it can stay in a striped state
    for far longer than the run.
    """
    out = StepResult(method=f"{p['chain_method']}, {p['square_method']}")
    warnings = 0
    for label, model in (("chain", sm.Ising.chain(p["chain_n"], J=1.0, h=0.0, periodic=True)),
                         ("square", sm.Ising.square(p["square_L"], J=1.0, h=0.0, periodic=True))):
        temperatures = np.linspace(*p[f"{label}_t_range"], p[f"{label}_n_temperatures"])
        result = sm.thermo(model, 1.0 / temperatures, method=p[f"{label}_method"], n_sweeps=p["n_sweeps"],
                           n_chains=p["n_chains"], seed=seed)
        out.artifacts[f"{label}_temperature"] = temperatures
        for name in ("energy_density", "specific_heat_density", "abs_magnetization_density"):
            estimate = getattr(result, name)
            out.artifacts[f"{label}_{name}"] = _values(estimate)
            out.artifacts[f"{label}_{name}_stderr"] = _errors(estimate)
        warnings += len(result.meta.get("warnings", ()))
        out.meta[f"{label}_kernel"] = result.meta.get("kernel")
        out.meta[f"{label}_warnings"] = list(result.meta.get("warnings", ()))
    out.scalars.update(chain_n=p["chain_n"], square_L=p["square_L"], n_sweeps=p["n_sweeps"],
                       n_chains=p["n_chains"], n_warnings=warnings)
    return out


def _step_snapshots(p: dict, seed: int) -> StepResult:
    """One equilibrium configuration of the L × L lattice below, at and above T_c (``sm.sample``)."""
    model = sm.Ising.square(p["L"], J=1.0, h=0.0, periodic=True)
    out = StepResult(method=p["method"])
    temperatures = [float(t) for t in p["temperatures"]]
    snapshots = []
    for k, temperature in enumerate(temperatures):
        draws = sm.sample(model, 1.0 / temperature, method=p["method"], n_sweeps=1, n_chains=1,
                          burn_in=p["burn_in"], seed=seed + k)
        snapshots.append(np.asarray(draws.spins.values[0, 0], dtype=np.int8).reshape(p["L"], p["L"]))
    out.artifacts["temperature"] = _array(temperatures)
    out.artifacts["spins"] = _array(snapshots, np.int8)
    out.artifacts["magnetization_density"] = _array([s.mean() for s in snapshots])
    out.scalars.update(L=p["L"], burn_in=p["burn_in"],
                       critical_temperature=float(sm.CRITICAL_TEMPERATURE))
    return out


def _step_binder(p: dict, seed: int) -> StepResult:
    """Binder cumulants U₄(T; L) and their crossings (``sm.studies.binder_crossings``)."""
    temperatures = np.linspace(*p["t_range"], p["n_temperatures"])
    study = sm.studies.binder_crossings(tuple(p["sizes"]), temperatures, lambda L: sm.Ising.square(L),
                                        method=p["method"], n_sweeps=p["n_sweeps"], n_chains=p["n_chains"],
                                        seed=seed)
    out = StepResult(method=p["method"])
    out.artifacts["sizes"] = _array(study.sizes, np.int64)
    out.artifacts["temperature"] = _array(study.temperatures)
    out.artifacts["binder"] = _array(study.binder)
    out.artifacts["binder_stderr"] = _array(study.binder_stderr)
    pairs = sorted(study.crossings)
    out.artifacts["crossing_pairs"] = _array(pairs, np.int64).reshape(len(pairs), 2)
    out.artifacts["crossing_temperature"] = _array([study.crossings[pair] for pair in pairs])
    exact = float(sm.CRITICAL_TEMPERATURE)
    crossings = np.array([study.crossings[pair] for pair in pairs])
    last = crossings[-1]
    out.scalars.update(critical_temperature=exact, crossing_temperature=float(last),
                       crossing_relative_error=float(abs(last - exact) / exact),
                       n_sweeps=p["n_sweeps"], n_chains=p["n_chains"])
    return out


def _step_approximations(p: dict, seed: int) -> StepResult:
    """Naive mean field, BP (Bethe) and TRW against Kaufman's exact log Z/N on the periodic L × L lattice.

    ``sm.approx.square_lattice_curves`` (J = 1, h = 0); TAP is computed with
    them and stored, but not drawn: it is an expansion for dense models.
    """
    betas = np.linspace(*p["beta_range"], p["n_betas"])
    curves = sm.approx.square_lattice_curves(betas, L=p["L"])
    out = StepResult(method="mean-field, bp, trw, tap, kaufman")
    out.artifacts["beta"] = _array(curves.betas)
    for name in ("exact", "mean_field", "bp", "trw", "tap"):
        out.artifacts[name] = _array(getattr(curves, name))
    out.scalars.update(L=curves.L, bethe_critical_beta=float(curves.bethe_beta),
                       critical_beta=float(sm.CRITICAL_BETA), mean_field_critical_beta=0.25)
    for name in ("mean_field", "bp", "trw"):
        error = np.asarray(getattr(curves, name)) - np.asarray(curves.exact)
        out.scalars[f"{name}_max_abs_error"] = float(np.max(np.abs(error)))
    out.scalars["mean_field_max_error"] = float(np.max(curves.mean_field - curves.exact))  # <= 0: a lower bound
    out.scalars["trw_min_error"] = float(np.min(curves.trw - curves.exact))  # >= 0: an upper bound
    return out


# ------------------------------------------------------------------ figures
def ising_figures(exact: StepData, mc: StepData | None) -> list[FigureOut]:
    T = exact.array("temperature")
    tc = exact.value("critical_temperature")
    chain_n, square_L = int(exact.value("chain_n")), int(exact.value("square_L"))
    have_mc = mc is not None and mc.status == "done"
    rows = (("chain", "1D chain", ONE_D), ("square", "2D square lattice", TWO_D))
    columns = (("energy_density", "energy per spin  u"), ("specific_heat_density", "specific heat per spin  c"),
               ("abs_magnetization_density", "magnetisation per spin  |m|"))
    with _style():
        figure, axes = _figure(9.6, 5.6, ncols=3, nrows=2, sharex=True)
        for r, (kind, name, colour) in enumerate(rows):
            for c, (quantity, ylabel) in enumerate(columns):
                ax = axes[r, c]
                if kind == "chain":
                    if quantity == "abs_magnetization_density":
                        ax.plot(T, np.abs(exact.array("chain_infinite_magnetization_density")), color=colour,
                                label="N = ∞: m = 0 at every T > 0")
                    else:
                        ax.plot(T, exact.array(f"chain_infinite_{quantity}"), color=colour, label="N = ∞ (exact)")
                        ax.plot(T, exact.array(f"chain_finite_{quantity}"), color="#222222", lw=0.9, ls="--",
                                label=f"N = {chain_n} ring (transfer)")
                else:
                    ax.plot(T, exact.array(f"square_infinite_{quantity}"), color=colour,
                            label="N = ∞ (Onsager, Yang)")
                    if quantity != "abs_magnetization_density":
                        ax.plot(T, exact.array(f"square_finite_{quantity}"), color="#222222", lw=0.9, ls="--",
                                label=f"L = {square_L} (Kaufman)")
                    ax.axvline(tc, color="#888888", lw=0.8, ls=":")
                if have_mc:
                    size = f"N = {int(mc.value('chain_n'))}" if kind == "chain" else f"L = {int(mc.value('square_L'))}"
                    label = f"Monte Carlo, {size}"
                    if kind == "chain" and quantity == "abs_magnetization_density":
                        label += " (→ 0 as N → ∞)"
                    ax.errorbar(mc.array(f"{kind}_temperature"), mc.array(f"{kind}_{quantity}"),
                                yerr=mc.array(f"{kind}_{quantity}_stderr"), fmt="o", ms=3.5, capsize=2,
                                color="#222222", mfc="white", label=label)
                if r == 0:
                    ax.set_title(ylabel)
                if c == 0:
                    ax.set_ylabel(name)
                if r == 1:
                    ax.set_xlabel("temperature T = 1/β")
                if c == 1:
                    top = np.nanmax(exact.array(f"{kind}_finite_{quantity}")) if kind == "square" else np.nanmax(
                        exact.array(f"chain_infinite_{quantity}"))
                    ax.set_ylim(0, 1.6 * top if kind == "square" else 1.3 * top)
                if c == 2:
                    ax.set_ylim(-0.03, 1.05)
                # legends in the corners the curves leave empty: the lattice's specific heat peaks at T_c
                # (upper middle) and its magnetisation fills the upper left and the bottom right
                corner = {("square", "specific_heat_density"): "upper left",
                          ("square", "abs_magnetization_density"): "center left"}.get((kind, quantity), "best")
                ax.legend(frameon=False, fontsize=7, loc=corner)
        for ax, quantity in zip(axes[1], (c[0] for c in columns)):
            # the T_c label where the curves are not: below the ordered magnetisation (left of the line),
            # to the right of the line at the bottom for the energy and the specific heat
            left = quantity == "abs_magnetization_density"
            ax.annotate("T_c", (tc, 0.0), xycoords=("data", "axes fraction"), xytext=(-3 if left else 3, 4),
                        textcoords="offset points", ha="right" if left else "left", fontsize=8, color="#555555")
    variables = {}
    for key, value in exact.artifacts.items():
        if isinstance(value, np.ndarray) and value.shape == T.shape and key != "temperature":
            variables[key] = (("temperature",), value)
    coords = {"temperature": T}
    if have_mc:
        for kind in ("chain", "square"):
            dim = f"{kind}_mc_temperature"
            coords[dim] = mc.array(f"{kind}_temperature")
            for quantity, _ in columns:
                variables[f"{kind}_mc_{quantity}"] = ((dim,), mc.array(f"{kind}_{quantity}"))
                variables[f"{kind}_mc_{quantity}_stderr"] = ((dim,), mc.array(f"{kind}_{quantity}_stderr"))
    data = _dataset(variables, coords, {"critical_temperature": tc, "chain_n": chain_n, "square_L": square_L})
    caption = ("Exact curves (lines) and Monte Carlo points (circles, one standard error) against temperature. "
               "The chain's specific heat is a smooth bump and its magnetisation vanishes at every T > 0: no "
               "transition. The square lattice has a singular specific heat and a spontaneous magnetisation "
               "below T_c (dotted line).")
    if not have_mc:
        caption += " (The Monte Carlo step did not complete: no points.)"
    alt = ("A grid of six panels against temperature: energy, specific heat and magnetisation per spin for the "
           "1D chain (top row) and the 2D square lattice (bottom row), exact curves with Monte Carlo points. The "
           "chain's curves are smooth with zero magnetisation; the lattice's specific heat peaks sharply and its "
           "magnetisation drops to zero at the critical temperature.")
    return [_out("ising_1d_vs_2d", caption, figure, data, alt=alt)]


def snapshot_figures(step: StepData) -> list[FigureOut]:
    from matplotlib.colors import ListedColormap

    spins = step.array("spins")
    temperatures = step.array("temperature")
    tc = step.value("critical_temperature")
    names = []
    for t in temperatures:
        names.append("ordered" if t < tc - 0.05 else "disordered" if t > tc + 0.05 else "critical")
    with _style():
        figure, axes = _figure(9.0, 3.6, ncols=len(spins))
        cmap = ListedColormap(["#f2b84b", "#1f3f6e"])
        for ax, config, t, name, m in zip(axes[0], spins, temperatures, names, step.array("magnetization_density")):
            ax.imshow(config, cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            ax.set_title(f"T = {t:.3g} ({name})\nm = {m:+.2f}")
    data = _dataset({"spins": (("temperature", "y", "x"), spins),
                     "magnetization_density": (("temperature",), step.array("magnetization_density"))},
                    coords={"temperature": temperatures}, attrs={"L": int(step.value("L"))})
    L = int(step.value("L"))
    return [_out("ising_snapshots",
                 f"Equilibrium configurations of the {L} × {L} lattice (blue: +1, amber: −1). Below T_c one "
                 "sign dominates (ordered phase); above, the spins are disordered; at T_c domains of all sizes.",
                 figure, data,
                 alt=f"Three {L} × {L} spin configurations in two colours: below T_c almost all one colour, at "
                     "T_c clusters of every size, above T_c fine-grained noise.")]


def binder_figures(step: StepData) -> list[FigureOut]:
    sizes = step.array("sizes")
    T = step.array("temperature")
    binder, errors = step.array("binder"), step.array("binder_stderr")
    tc = step.value("critical_temperature")
    crossings = step.array("crossing_temperature")
    pairs = step.array("crossing_pairs")
    with _style():
        figure, axes = _figure(6.4, 3.6)
        ax = axes[0, 0]
        for k, L in enumerate(sizes):
            ax.errorbar(T, binder[k], yerr=errors[k], fmt="o-", ms=3.5, capsize=2, lw=1.1, label=f"L = {L}")
        ax.axvline(tc, color="#222222", ls="--", lw=1, label=f"exact T_c = {tc:.4f}")
        for (a, b), t in zip(pairs, crossings):
            if np.isfinite(t):
                ax.axvline(t, color="#e69f00", lw=1.2, ls=":", label=f"crossing L = {a}, {b}: T = {t:.4f}")
        ax.set_xlabel("temperature T")
        ax.set_ylabel(r"$U_4 = 1 - \langle m^4\rangle / 3\langle m^2\rangle^2$")
        ax.legend(frameon=False, fontsize=7.5)
    data = _dataset({"binder": (("L", "temperature"), binder), "binder_stderr": (("L", "temperature"), errors),
                     "crossing_temperature": (("pair",), crossings),
                     "crossing_sizes": (("pair", "end"), pairs)},
                    coords={"L": sizes, "temperature": T}, attrs={"critical_temperature": tc})
    return [_out("ising_binder",
                 "Binder cumulants of the magnetisation: the curves of different L cross near T_c, where the "
                 "distribution of m has a size-independent shape.", figure, data,
                 alt="Binder cumulant U_4 against temperature for several lattice sizes L, with error bars; the "
                     "curves cross close to the exact critical temperature, marked by a vertical line.")]


def approximation_figures(step: StepData) -> list[FigureOut]:
    beta = step.array("beta")
    exact = step.array("exact")
    L = int(step.value("L"))
    bethe, critical = step.value("bethe_critical_beta"), step.value("critical_beta")
    styles = (("trw", "TRW (upper bound)", COLOURS[1], "--"), ("bp", "BP / Bethe", COLOURS[0], "-"),
              ("mean_field", "naive mean field (lower bound)", COLOURS[3], "-."))
    with _style():
        figure, axes = _figure(9.2, 3.5, ncols=2)
        ax = axes[0, 0]
        ax.plot(beta, exact, color="#222222", lw=2.2, label=f"exact (Kaufman, L = {L})")
        for name, label, colour, line in styles:
            ax.plot(beta, step.array(name), line, color=colour, label=label)
        ax.plot(beta, np.log(2.0) + 2.0 * np.log(np.cosh(beta)), color="#999999", lw=0.9,
                label="paramagnetic Bethe: ln 2 + 2 ln cosh β")
        ax.set_xlabel("β")
        ax.set_ylabel("log Z / N")
        ax.legend(frameon=False, fontsize=7.5, loc="upper left")
        _label(ax, "a   free entropy density")
        ax = axes[0, 1]
        for name, label, colour, line in styles:
            ax.plot(beta, step.array(name) - exact, line, color=colour, label=label)
        ax.axhline(0.0, color="#222222", lw=0.9)
        ax.set_xlabel("β")
        ax.set_ylabel("approximation − exact")
        ax.legend(frameon=False, fontsize=7.5, loc="lower right")
        low, high = ax.get_ylim()
        ax.set_ylim(low, high + 0.12 * (high - low))  # room for the labels of the lines above the TRW curve
        _label(ax, "b   errors")
        # the two critical points are close: one label on each side of its line; half-way up panel a
        # (between the legend and the curves) and at the top of panel b (above the error curves)
        for ax, height in zip(axes[0], (0.55, 1.0)):
            for value, colour, text, side in ((bethe, COLOURS[0], "β_Bethe = atanh(1/3)", -1),
                                              (critical, "#222222", "β_c", 1)):
                ax.axvline(value, color=colour, lw=0.8, ls=":")
                ax.annotate(text, (value, height), xycoords=("data", "axes fraction"), xytext=(3 * side, -11),
                            textcoords="offset points", ha="left" if side > 0 else "right", fontsize=8,
                            color=colour)
    data = _dataset({name: (("beta",), step.array(name)) for name in ("exact", "mean_field", "bp", "trw", "tap")},
                    coords={"beta": beta},
                    attrs={"L": L, "bethe_critical_beta": bethe, "critical_beta": critical})
    return [_out("square_lattice_approximations",
                 f"Three approximations of log <i>Z</i>/<i>N</i> on the periodic {L} × {L} square lattice "
                 "against the exact value. Mean field is a lower bound and TRW an upper bound at every β; BP "
                 "(the Bethe approximation) is exact on trees and follows the paramagnetic curve "
                 "ln 2 + 2 ln cosh β up to its critical point β<sub>Bethe</sub> = atanh(1/3), where it orders, "
                 "before the true transition at β<sub>c</sub>.", figure, data,
                 alt=f"Left: log Z per spin of the {L} by {L} square lattice against β, exact and from naive mean "
                     "field, BP and TRW, with vertical lines at the Bethe critical point atanh(1/3) and the exact "
                     "critical point. Right: each approximation minus the exact value: mean field below zero, "
                     "TRW above, BP closest, all largest near the transition.")]


# ------------------------------------------------------------------ text
def _section_ising(steps, figs) -> str:
    exact, mc = steps.get("ising_exact"), steps.get("ising_mc")
    snapshots, binder = steps.get("snapshots"), steps.get("binder")
    out = ["<p>The Ising model adds interactions between neighbouring spins:</p>",
           eq(f"<i>H</i>({X}) = −<i>J</i> ∑<sub>⟨<i>ij</i>⟩</sub> <i>x<sub>i</sub> x<sub>j</sub></i>,&emsp; "
              f"<i>T</i> = 1/{BETA}"),
           "<p>(The seed writes <i>E</i> = ∑ <i>J x</i><sub><i>i</i>−1</sub><i>x<sub>i</sub></i>; with "
           "statmech's sign, <i>J</i> &gt; 0 favours aligned spins.) On a line the model is disordered at "
           "every temperature; on the square lattice it has an ordered phase below the critical temperature "
           "<i>T</i><sub>c</sub> = 2<i>J</i>/ln(1 + √2)"]
    if exact is not None and exact.status == "done":
        out.append(f" = {num(exact.value('critical_temperature'), 7)}")
    out.append(".</p>")
    status = status_note(exact, "The exact Ising curves")
    if status is not None:
        out.append(status)
    else:
        ep = exact.params
        mp = mc.params if mc is not None else {}
        mc_line = ""
        if mp:
            mc_line = (f"\nsm.thermo(sm.Ising.chain({mp['chain_n']}), betas, method=\"{mp['chain_method']}\", "
                       f"n_sweeps={mp['n_sweeps']}, n_chains={mp['n_chains']}, seed=0)"
                       f"\nsm.thermo(sm.Ising.square({mp['square_L']}), betas, method=\"{mp['square_method']}\", "
                       f"n_sweeps={mp['n_sweeps']}, n_chains={mp['n_chains']}, seed=0)"
                       "\n# Monte Carlo: each quantity an Estimate with .value and .stderr")
        out.append(code(f"""
betas = 1 / temperatures
sm.infinite_chain(betas)                                       # 1D, N = infinity
sm.thermo(sm.Ising.chain({ep['chain_n']}), betas, method="transfer")        # 1D ring of {ep['chain_n']} spins
sm.onsager(betas)                                              # 2D, N = infinity (Onsager, Yang)
sm.thermo(sm.Ising.square({ep['square_L']}), betas, method="kaufman")       # 2D, finite L (Kaufman){mc_line}
"""))
        if mc is not None and mc.status != "done":
            out.append(status_note(mc, "The Monte Carlo points"))
        out.append(figures_or_note(figs, exact, "The exact Ising curves", lambda s: ising_figures(s, mc)))
        if mc is not None and mc.status == "done":
            kernels = {kind: (mc.meta or {}).get(f"{kind}_kernel") for kind in ("chain", "square")}
            kernel = {kind: f" (kernel <code>{esc(name)}</code>)" if name else "" for kind, name in kernels.items()}
            out.append(f"<p class=\"meta\">Monte Carlo: {esc(mc.params['chain_method'])}{kernel['chain']} (chain) "
                       f"and {esc(mc.params['square_method'])}{kernel['square']} (lattice), "
                       f"{num(mc.value('n_chains'))} chains × {num(mc.value('n_sweeps'))} sweeps per temperature, "
                       f"seed {num(mc.seed)}; "
                       "error bars from the autocorrelation-corrected standard error "
                       f"({warning_count(mc.value('n_warnings'), 'diagnostic warning')}).</p>")
            for kind in ("chain", "square"):
                out.append(warning_list((mc.meta or {}).get(f"{kind}_warnings"),
                                        f"the Monte Carlo points of the {'ring' if kind == 'chain' else 'lattice'}"))
    out.append("<h3>Ordered and disordered phases</h3>")
    status = status_note(snapshots, "The lattice snapshots")
    if status is not None:
        out.append(status)
    else:
        sp = snapshots.params
        out.append(code(f"""
for k, T in enumerate({[float(t) for t in sp['temperatures']]}):
    sm.sample(sm.Ising.square({sp['L']}), beta=1 / T, method="{sp['method']}", n_sweeps=1, n_chains=1,
              burn_in={sp['burn_in']}, seed=k).spins
"""))
        out.append(figures_or_note(figs, snapshots, "The lattice snapshots", snapshot_figures))
    out.append("<h3>Locating <i>T</i><sub>c</sub> from the Binder crossing</h3>")
    status = status_note(binder, "The Binder crossing")
    if status is not None:
        out.append(status)
    else:
        bp = binder.params
        out.append(code(f"""
study = sm.studies.binder_crossings({tuple(bp['sizes'])}, temperatures, lambda L: sm.Ising.square(L),
                                    method="{bp['method']}", n_sweeps={bp['n_sweeps']}, n_chains={bp['n_chains']})
study.crossings
"""))
        pairs = binder.array("crossing_pairs")
        crossings = binder.array("crossing_temperature")
        tc = binder.value("critical_temperature")
        rows = [[f"{a}, {b}", num(t, 5), num(tc, 7), f"{100 * abs(t - tc) / tc:.2f} %"]
                for (a, b), t in zip(pairs, crossings)]
        out.append(table(["sizes <i>L</i>", "crossing <i>T</i>", "exact <i>T</i><sub>c</sub>", "difference"],
                         rows, numeric=(1, 2, 3)))
        out.append(figures_or_note(figs, binder, "The Binder crossing", binder_figures))
    out.append("<h3>Approximations against the exact solution</h3>")
    approx = steps.get("approximations")
    out.append("<p>Most models have no exact solution, and log <i>Z</i> is approximated. Naive mean field "
               "replaces the Boltzmann distribution by the best product of independent spins (a lower bound, by "
               "the Gibbs variational principle); belief propagation (BP) minimises the Bethe free energy, exact "
               "on trees; tree-reweighted BP (TRW) gives an upper bound. On the square lattice (<i>z</i> = 4 "
               "neighbours) mean field orders at β<sub>MF</sub>, BP at β<sub>Bethe</sub>, the exact solution at "
               "β<sub>c</sub>:</p>")
    out.append(eq(f"{BETA}<sub>MF</sub> = 1/<i>z</i> = 0.25,&emsp; tanh {BETA}<sub>Bethe</sub> = "
                  f"{frac('1', '<i>z</i> − 1')}: {BETA}<sub>Bethe</sub> ≈ 0.3466,&emsp; "
                  f"{BETA}<sub>c</sub> = ½ ln(1 + √2) ≈ 0.4407"))
    status = status_note(approx, "The approximations")
    if status is not None:
        out.append(status)
    else:
        ap = approx.params
        out.append(code(f"""
betas = np.linspace({ap['beta_range'][0]:g}, {ap['beta_range'][1]:g}, {ap['n_betas']})
curves = sm.approx.square_lattice_curves(betas, L={ap['L']})   # mean field, BP, TRW, TAP, exact (Kaufman)
curves.mean_field, curves.bp, curves.trw, curves.exact          # log Z / N on the grid
"""))
        out.append(figures_or_note(figs, approx, "The approximations", approximation_figures))
        out.append(f"<p>Largest error over the grid: mean field {num(approx.value('mean_field_max_abs_error'), 3)}, "
                   f"BP {num(approx.value('bp_max_abs_error'), 3)}, TRW {num(approx.value('trw_max_abs_error'), 3)} "
                   "(per spin). TAP (the second-order Plefka expansion) is an approximation for dense models such "
                   "as SK; on this sparse lattice it is computed too (in the data file) but not drawn.</p>")
    return "".join(out)


# ------------------------------------------------------------------ the section
STEPS = (
    TourStep("ising_exact", "1D and 2D Ising: exact curves", _step_ising_exact,
             quick=dict(t_min=0.2, t_max=4.0, n_temperatures=191, chain_n=64, square_L=32),
             full=dict(t_min=0.2, t_max=4.0, n_temperatures=381, chain_n=64, square_L=64)),
    TourStep("ising_mc", "1D and 2D Ising: Monte Carlo", _step_ising_mc,
             quick=dict(chain_method="swendsen-wang", square_method="swendsen-wang", chain_n=64, square_L=32,
                        chain_t_range=[0.5, 3.5],
                        chain_n_temperatures=7, square_t_range=[1.5, 3.5], square_n_temperatures=9,
                        n_sweeps=1000, n_chains=4),
             full=dict(chain_method="swendsen-wang", square_method="swendsen-wang", chain_n=64, square_L=64,
                       chain_t_range=[0.5, 3.5],
                       chain_n_temperatures=11, square_t_range=[1.5, 3.5], square_n_temperatures=17,
                       n_sweeps=2000, n_chains=4)),
    TourStep("snapshots", "Lattice snapshots", _step_snapshots,
             quick=dict(method="swendsen-wang", L=64, temperatures=[1.8, 2.269, 3.2], burn_in=100),
             full=dict(method="swendsen-wang", L=128, temperatures=[1.8, 2.269, 3.2], burn_in=400)),
    TourStep("binder", "T_c from the Binder crossing", _step_binder,
             quick=dict(method="wolff", sizes=[8, 16, 32], t_range=[2.1, 2.45], n_temperatures=8, n_sweeps=1000,
                        n_chains=4),
             full=dict(method="swendsen-wang", sizes=[16, 32, 64, 128], t_range=[2.24, 2.3], n_temperatures=7,
                       n_sweeps=1000, n_chains=4)),
    TourStep("approximations", "Mean field, BP and TRW against the exact square lattice", _step_approximations,
             quick=dict(L=16, beta_range=[0.05, 0.8], n_betas=16),
             full=dict(L=32, beta_range=[0.05, 0.8], n_betas=46)),
)
SECTION = Section("ising", "1D vs 2D Ising: no transition vs a phase transition", STEPS, _section_ising)
