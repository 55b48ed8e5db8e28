"""Figures drawn from stored results only: matplotlib (Agg, no pyplot), PNG bytes plus the data behind them.

Every function here takes what a store holds — a :class:`StepData` (the
scalars and artifacts of one tour step) or an ``xarray.Dataset`` of a sweep —
and returns :class:`FigureOut` objects: the PNG, a caption, and the data
drawn, as an ``xarray.Dataset`` written next to the page as netCDF. Nothing
here computes physics; a figure that needs a number finds it in the store.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import math
from typing import Any

import numpy as np

STYLE = {
    "font.size": 9.5, "axes.titlesize": 10, "axes.labelsize": 9.5, "legend.fontsize": 8,
    "xtick.labelsize": 8.5, "ytick.labelsize": 8.5, "axes.spines.top": False, "axes.spines.right": False,
    "axes.grid": True, "grid.alpha": 0.25, "grid.linewidth": 0.6, "lines.linewidth": 1.6,
    "axes.prop_cycle": None,  # set below
    "figure.dpi": 100, "savefig.dpi": 110, "svg.hashsalt": "statmech",
}
COLOURS = ["#1f5fa8", "#d1495b", "#2e8b57", "#e69f00", "#7b4fa0", "#555555"]
ONE_D, TWO_D = "#d1495b", "#1f5fa8"


@dataclasses.dataclass
class StepData:
    """One stored tour step: status, parameters, scalars {name: (value, stderr)} and artifacts {name: array|JSON}."""

    name: str
    section: int
    title: str
    status: str
    error: str | None
    method: str | None
    seconds: float | None
    params: dict
    scalars: dict
    artifacts: dict
    meta: dict | None = None
    seed: int = 0

    def value(self, name: str) -> float:
        return self.scalars[name][0]

    def stderr(self, name: str) -> float | None:
        return self.scalars[name][1]

    def array(self, name: str) -> np.ndarray:
        return np.asarray(self.artifacts[name])

    @property
    def unavailable(self) -> str | None:
        """The reason this step could not run (a missing optional module), or None."""
        info = self.artifacts.get("unavailable")
        return None if info is None else info.get("reason", "not available")


@dataclasses.dataclass
class FigureOut:
    """A drawn figure: ``key`` (file stem), ``caption`` (HTML), ``png`` bytes and the ``data`` drawn."""

    key: str
    caption: str
    png: bytes
    data: Any  # xarray.Dataset
    width: int = 0
    height: int = 0


def _cycle():
    from cycler import cycler

    return cycler(color=COLOURS)


@contextlib.contextmanager
def _style():
    import matplotlib

    style = dict(STYLE, **{"axes.prop_cycle": _cycle()})
    with matplotlib.rc_context(style):
        yield


def _figure(width: float, height: float, ncols: int = 1, nrows: int = 1, **kwargs):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    axes = figure.subplots(nrows, ncols, squeeze=False, **kwargs)
    return figure, axes


def _png(figure) -> tuple[bytes, int, int]:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    data = buffer.getvalue()
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    return data, width, height


def _out(key: str, caption: str, figure, data) -> FigureOut:
    png, width, height = _png(figure)
    return FigureOut(key, caption, png, data, width, height)


def _dataset(variables: dict, coords: dict | None = None, attrs: dict | None = None):
    import xarray as xr

    return xr.Dataset({k: (dims, np.asarray(v)) for k, (dims, v) in variables.items()},
                      coords=coords or {}, attrs={k: v for k, v in (attrs or {}).items() if v is not None})


def _label(ax, letter: str) -> None:
    ax.set_title(letter, loc="left", fontweight="bold")


# 1 ---------------------------------------------------------------------------
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
                                  coords={"beta": betas_d, "energy": levels}))

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
                                   coords={"beta": betas}))
    return [first, second]


# 2 ---------------------------------------------------------------------------
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
                 "open ones.", figure, data)]


# 3 ---------------------------------------------------------------------------
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
    return [_out("ising_1d_vs_2d", caption, figure, data)]


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
                 figure, data)]


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
                 "distribution of m has a size-independent shape.", figure, data)]


# 4 ---------------------------------------------------------------------------
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
                 "grows; its sample-to-sample variance falls as a power of N.", figure, data)]


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
                 "misses. Small systems carry finite-size corrections.", figure, data)]


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
        ax.legend(frameon=False, fontsize=7.5, loc="lower left")
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
                 _dataset(variables, coords, {"n_instances": int(step.value("n_instances"))}))]


# 5 ---------------------------------------------------------------------------
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
                 "(saddle-point) formula predicts how fast.", figure, data)]


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
                 "(saddle-point) approximation, and sequential Monte Carlo with its error bar.", figure, data)]


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
                 figure, data)]


# ------------------------------------------------------------------ a sweep store
def sweep_figures(dataset) -> list[FigureOut]:
    """One panel per quantity against β, one line per value of the other grid axes (mean over seeds)."""
    import itertools

    quantities = [name for name in dataset.data_vars
                  if not name.endswith("_stderr") and name != "task_status" and "beta" in dataset[name].dims]
    if not quantities or "beta" not in dataset.dims:
        return []
    others = [d for d in dataset[quantities[0]].dims if d not in ("beta", "seed")]
    combos = list(itertools.product(*[list(dataset[d].values) for d in others])) or [()]
    ncols = 3
    nrows = math.ceil(len(quantities) / ncols)
    with _style():
        figure, axes = _figure(9.6, 2.6 * nrows + 0.4, ncols=ncols, nrows=nrows)
        for k, name in enumerate(quantities):
            ax = axes[k // ncols, k % ncols]
            for combo in combos:
                selection = dict(zip(others, combo))
                values = dataset[name].sel(selection)
                errors = dataset[f"{name}_stderr"].sel(selection) if f"{name}_stderr" in dataset else None
                label = ", ".join(f"{a} = {v}" for a, v in selection.items()) or name
                if "seed" in values.dims and values.sizes["seed"] > 1:
                    mean = values.mean("seed")
                    err = values.std("seed", ddof=1) / math.sqrt(values.sizes["seed"])
                    ax.errorbar(dataset.beta, mean, yerr=err, fmt="o-", ms=3, capsize=2, label=label)
                else:
                    if "seed" in values.dims:
                        values = values.isel(seed=0)
                        errors = errors.isel(seed=0) if errors is not None else None
                    if errors is not None and np.any(np.isfinite(errors)):
                        ax.errorbar(dataset.beta, values, yerr=errors, fmt="o-", ms=3, capsize=2, label=label)
                    else:
                        ax.plot(dataset.beta, values, "o-", ms=3, label=label)
            ax.set_title(name)
            ax.set_xlabel("β")
            if k == 0:
                ax.legend(frameon=False, fontsize=7)
        for k in range(len(quantities), nrows * ncols):
            axes[k // ncols, k % ncols].set_visible(False)
    return [_out("results", "Every stored quantity against β (lines: the other grid axes; with several "
                            "seeds, their mean ± standard error).", figure, dataset)]
