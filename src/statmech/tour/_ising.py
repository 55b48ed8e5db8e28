"""Section 3: 1D vs 2D Ising (steps ``ising_exact``, ``ising_mc``, ``snapshots``, ``binder``, ``approximations``).
"""
from __future__ import annotations

import numpy as np

import statmech as sm
from statmech.report._figures import FigureOut, ONE_D, TWO_D
from statmech.report._figures import figure_out as _out
from statmech.report._figures import new_figure as _figure
from statmech.report._figures import style as _style
from statmech.report._figures import xr_dataset as _dataset
from statmech.report._html import code, eq, esc, num, table
from statmech.tour._base import BETA, X, Section, StepData, StepResult, TourStep, figures_or_note, status_note
from statmech.tour._base import array as _array
from statmech.tour._base import errors as _errors
from statmech.tour._base import values as _values


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

    The ring uses Swendsen–Wang cluster updates (single-spin Metropolis from a
    random start needs ~N² sweeps to remove the domain walls of a cold chain);
    the lattice uses the textbook Metropolis algorithm.
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
        draws = sm.sample(model, 1.0 / temperature, method=p["method"], n_samples=1, n_chains=1,
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
                corner = "lower left" if (kind, quantity) == ("square", "abs_magnetization_density") else "best"
                ax.legend(frameon=False, fontsize=7, loc=corner)
        for ax in axes[1]:
            ax.annotate("T_c", (tc, ax.get_ylim()[0]), xytext=(3, 4), textcoords="offset points", fontsize=8,
                        color="#555555")
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
        figure, axes = _figure(9.0, 3.35, ncols=len(spins))
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
            out.append(f"<p class=\"meta\">Monte Carlo: {esc(mc.params['chain_method'])} (chain) and "
                       f"{esc(mc.params['square_method'])} (lattice), {num(mc.value('n_chains'))} "
                       f"chains × {num(mc.value('n_sweeps'))} sweeps per temperature, seed {num(mc.seed)}; "
                       "error bars from the autocorrelation-corrected standard error "
                       f"({num(mc.value('n_warnings'))} diagnostic warnings recorded in the store).</p>")
    out.append("<h3>Ordered and disordered phases</h3>")
    status = status_note(snapshots, "The lattice snapshots")
    if status is not None:
        out.append(status)
    else:
        sp = snapshots.params
        out.append(code(f"""
for k, T in enumerate({[float(t) for t in sp['temperatures']]}):
    sm.sample(sm.Ising.square({sp['L']}), beta=1 / T, method="{sp['method']}", n_samples=1, n_chains=1,
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
    return "".join(out)


# ------------------------------------------------------------------ the section
STEPS = (
    TourStep("ising_exact", "1D and 2D Ising: exact curves", _step_ising_exact,
             quick=dict(t_min=0.2, t_max=4.0, n_temperatures=191, chain_n=64, square_L=16),
             full=dict(t_min=0.2, t_max=4.0, n_temperatures=381, chain_n=64, square_L=32)),
    TourStep("ising_mc", "1D and 2D Ising: Monte Carlo", _step_ising_mc,
             quick=dict(chain_method="swendsen-wang", square_method="metropolis", chain_n=64, square_L=16,
                        chain_t_range=[0.5, 3.5],
                        chain_n_temperatures=7, square_t_range=[1.5, 3.5], square_n_temperatures=9,
                        n_sweeps=1000, n_chains=4),
             full=dict(chain_method="swendsen-wang", square_method="metropolis", chain_n=64, square_L=32,
                       chain_t_range=[0.5, 3.5],
                       chain_n_temperatures=11, square_t_range=[1.5, 3.5], square_n_temperatures=17,
                       n_sweeps=4000, n_chains=4)),
    TourStep("snapshots", "Lattice snapshots", _step_snapshots,
             quick=dict(method="swendsen-wang", L=48, temperatures=[1.8, 2.269, 3.2], burn_in=100),
             full=dict(method="swendsen-wang", L=96, temperatures=[1.8, 2.269, 3.2], burn_in=400)),
    TourStep("binder", "T_c from the Binder crossing", _step_binder,
             quick=dict(method="wolff", sizes=[8, 16], t_range=[2.1, 2.45], n_temperatures=8, n_sweeps=1000,
                        n_chains=4),
             full=dict(method="wolff", sizes=[8, 16, 32], t_range=[2.15, 2.4], n_temperatures=11,
                       n_sweeps=4000, n_chains=4)),
)
SECTION = Section("ising", "1D vs 2D Ising: no transition vs a phase transition", STEPS, _section_ising)
