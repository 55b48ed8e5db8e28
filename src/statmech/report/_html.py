"""Page assembly: one self-contained HTML file (inline CSS, figures as data: URIs, no network).

:func:`tour_page` lays out the tour in the seed's order — for each section the
equation in the seed's notation, the statmech call that computes it (with the
parameters the run used, read from the store), and the computed figures and
tables. :func:`sweep_page` shows any other study store. Both take only what
:func:`statmech.report.build_report` read from the store.
"""
from __future__ import annotations

import base64
import html
import json
import math

import numpy as np

from statmech.report import _figures as figures
from statmech.report._figures import FigureOut, StepData

CSS = """
:root { --ink: #1d2330; --muted: #5b6475; --line: #dde2ea; --accent: #1f5fa8; --soft: #f5f7fa; --warn: #fff4e0; }
* { box-sizing: border-box; }
html { scroll-behavior: smooth; }
body { margin: 0; color: var(--ink); background: #fff; line-height: 1.55;
       font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
.page { max-width: 1000px; margin: 0 auto; padding: 28px 28px 60px; }
header.top { border-bottom: 3px solid var(--accent); padding-bottom: 14px; margin-bottom: 18px; }
header.top h1 { margin: 0 0 4px; font-size: 30px; letter-spacing: -0.5px; }
header.top p { margin: 4px 0; color: var(--muted); }
.meta { font-size: 13.5px; color: var(--muted); }
nav.toc { background: var(--soft); border: 1px solid var(--line); border-radius: 8px; padding: 12px 18px;
          margin: 18px 0 26px; }
nav.toc h2 { font-size: 15px; margin: 0 0 6px; text-transform: uppercase; letter-spacing: 0.6px; color: var(--muted); }
nav.toc ol { margin: 0; padding-left: 22px; columns: 2; column-gap: 30px; }
nav.toc li { margin: 2px 0; break-inside: avoid; }
nav.toc a { color: var(--accent); text-decoration: none; }
nav.toc a:hover { text-decoration: underline; }
section { margin: 0 0 40px; }
section > h2 { font-size: 23px; margin: 34px 0 8px; padding-top: 6px; border-top: 1px solid var(--line); }
h3 { font-size: 17px; margin: 22px 0 6px; }
p { margin: 8px 0; }
.eq { font-family: "Cambria Math", "STIX Two Math", "Latin Modern Math", Georgia, "Times New Roman", serif;
      font-size: 19px; text-align: center; margin: 14px 0; padding: 10px 12px; background: var(--soft);
      border-radius: 6px; overflow-x: auto; white-space: nowrap; }
.eq .tag { float: right; font-family: system-ui, sans-serif; font-size: 12px; color: var(--muted); }
.frac { display: inline-flex; flex-direction: column; vertical-align: middle; text-align: center; margin: 0 3px; }
.frac > span:first-child { border-bottom: 1px solid currentColor; padding: 0 3px; }
.frac > span:last-child { padding: 0 3px; }
i.v { font-style: italic; }
pre.code { background: #0f1720; color: #e6edf3; border-radius: 6px; padding: 12px 14px; overflow-x: auto;
           font: 13.5px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; }
pre.code .c { color: #8b98a9; }
code { font: 0.92em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--soft);
       padding: 0 3px; border-radius: 3px; }
pre.code code { background: none; padding: 0; }
figure { margin: 16px 0 22px; }
figure img { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figcaption { font-size: 14px; color: var(--muted); margin-top: 6px; }
figcaption b { color: var(--ink); }
table { border-collapse: collapse; margin: 10px 0 16px; font-size: 14.5px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 10px; text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.vocab td:first-child, table.vocab td:nth-child(2) { font-weight: 600; }
.note { background: var(--warn); border-left: 4px solid #e69f00; padding: 8px 12px; border-radius: 4px;
        margin: 12px 0; font-size: 14.5px; }
.fail { background: #fdecee; border-left-color: #d1495b; }
.api dt { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 14px; margin-top: 10px; }
.api dd { margin: 2px 0 0 18px; color: var(--muted); font-size: 14.5px; }
footer { border-top: 1px solid var(--line); margin-top: 30px; padding-top: 12px; font-size: 13px; color: var(--muted); }
a { color: var(--accent); }
"""

# On load, the page checks its own images (for people and for the browser test):
# body[data-loaded] = "loaded/total"; a broken image is reported with console.error.
SCRIPT = """
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var loaded = 0;
  images.forEach(function (img) {
    if (img.complete && img.naturalWidth > 0) { loaded += 1; }
    else { console.error("statmech report: image did not load: " + (img.id || img.alt)); }
  });
  document.body.setAttribute("data-loaded", loaded + "/" + images.length);
});
"""

SECTIONS = (
    ("boltzmann", "Boltzmann distribution and the partition function"),
    ("free-energy", "Free energy, free entropy and density"),
    ("ising", "1D vs 2D Ising: no transition vs a phase transition"),
    ("disorder", "Disorder and self-averaging"),
    ("ml-bridge", "The bridge to machine learning"),
    ("vocabulary", "The vocabulary"),
)


# ------------------------------------------------------------------ small pieces
def esc(text) -> str:
    return html.escape(str(text), quote=True)


def frac(numerator: str, denominator: str) -> str:
    return f'<span class="frac"><span>{numerator}</span><span>{denominator}</span></span>'


def eq(body: str, tag: str = "") -> str:
    tag_html = f'<span class="tag">{esc(tag)}</span>' if tag else ""
    return f'<div class="eq">{tag_html}{body}</div>'


def code(text: str) -> str:
    lines = []
    for line in text.strip("\n").split("\n"):
        source, hash_, comment = line.partition("#")
        lines.append(esc(source) + (f'<span class="c">#{esc(comment)}</span>' if hash_ else ""))
    return '<pre class="code"><code>' + "\n".join(lines) + "</code></pre>"


def note(text: str, failed: bool = False) -> str:
    return f'<div class="note{" fail" if failed else ""}">{text}</div>'


def num(value, digits: int = 6) -> str:
    """A number with ``digits`` significant digits, written with a true minus sign."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, (int, np.integer)) or (float(value).is_integer() and abs(value) < 1e15):
        return f"{int(value):d}".replace("-", "−")
    return f"{float(value):.{digits}g}".replace("-", "−")


def big(value) -> str:
    """1000000 as 10⁶ (powers of ten), other numbers as :func:`num`."""
    exponent = math.log10(value) if value > 0 else 0.5
    if value >= 1e4 and float(exponent).is_integer():
        return "10" + str(int(exponent)).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
    return num(value)


def rst(text: str) -> str:
    """A docstring line for HTML: ``literal`` and :role:`name` become code."""
    import re

    escaped = esc(text)
    escaped = re.sub(r":[a-z]+:`~?([^`]+)`", r"<code>\1</code>", escaped)
    return re.sub(r"``([^`]+)``", r"<code>\1</code>", escaped)


def rounded(p: float) -> str:
    """The seed's style of rounding a probability: 0.049, 1.2e-04."""
    return f"{p:.3f}" if p >= 1e-2 else f"{p:.1e}"


def table(header, rows, cls: str = "", numeric=()) -> str:
    head = "".join(f"<th>{h}</th>" for h in header)
    body = []
    for row in rows:
        cells = "".join(f'<td class="num">{c}</td>' if k in numeric else f"<td>{c}</td>" for k, c in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    cls_attr = f' class="{cls}"' if cls else ""
    return f"<table{cls_attr}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


class Figures:
    """Numbers the figures of a page and keeps them for the data files."""

    def __init__(self):
        self.items: list[FigureOut] = []

    def html(self, figure: FigureOut) -> str:
        self.items.append(figure)
        number = len(self.items)
        encoded = base64.b64encode(figure.png).decode("ascii")
        size = f' width="{figure.width}" height="{figure.height}"' if figure.width else ""
        return (f'<figure id="fig-{figure.key}"><img id="img-{figure.key}" src="data:image/png;base64,{encoded}"'
                f'{size} alt="Figure {number}: {esc(figure.key)}">'
                f"<figcaption><b>Figure {number}.</b> {figure.caption} "
                f'<a href="data/{figure.key}.nc">data (netCDF)</a></figcaption></figure>')


def _status(step: StepData | None, what: str) -> str | None:
    """A visible note when a step is missing, failed or unavailable; None when it is done."""
    if step is None:
        return note(f"{esc(what)}: this store has no such step.", failed=True)
    if step.status == "failed":
        return note(f"<b>{esc(what)} failed</b> in this run: <code>{esc(step.error)}</code>. "
                    "The store keeps the traceback (tasks table, meta).", failed=True)
    if step.status != "done":
        return note(f"{esc(what)} was not computed in this run (status: {esc(step.status)}).", failed=True)
    if step.unavailable:
        return note(f"<b>Not yet available:</b> {esc(what)} needs a part of statmech that this installation "
                    f"lacks ({esc(step.unavailable)}). Nothing is shown in its place.")
    return None


def _figures_or_note(figs: Figures, step, what, draw) -> str:
    status = _status(step, what)
    if status is not None:
        return status
    try:
        return "".join(figs.html(f) for f in draw(step))
    except Exception as error:  # noqa: BLE001 - a figure that cannot be drawn says so on the page
        return note(f"The figure for {esc(what)} could not be drawn: <code>{esc(type(error).__name__)}: "
                    f"{esc(error)}</code>", failed=True)


# ------------------------------------------------------------------ sections
V = lambda name: f'<i class="v">{name}</i>'  # noqa: E731 - a math variable
X = '<b><i>x</i></b>'
BETA = V("β")


def _section_boltzmann(steps, figs) -> str:
    step = steps.get("toy")
    out = [f'<section id="{SECTIONS[0][0]}"><h2>1. {SECTIONS[0][1]}</h2>',
           f"<p>A configuration {X} of <i>N</i> degrees of freedom has an energy, the Hamiltonian "
           f"<i>H</i>({X}). At inverse temperature {BETA} it is found with the Boltzmann probability</p>",
           eq(f"<i>p</i>({X}) = {frac('1', f'<i>Z</i>({BETA})')} exp(−{BETA}<i>H</i>({X})),&emsp; "
              f"<i>Z</i>({BETA}) = ∑<sub>{X}</sub> exp(−{BETA}<i>H</i>({X}))", "Boltzmann"),
           "<p>The seed's toy: eight ±1 spins on a line, without interactions, with energy "
           f"<i>E</i>({X}) = ∑<sub><i>i</i></sub> <i>B x<sub>i</sub></i>: 2<sup>8</sup> = 256 configurations. "
           "(In statmech's convention <i>H</i> = −∑<i>J s<sub>i</sub>s<sub>j</sub></i> − ∑<i>h s<sub>i</sub></i>, "
           "so the toy is an Ising chain with <i>J</i> = 0 and <i>h</i> = −<i>B</i>. For spins the seed's "
           "integral over configurations is this sum.)</p>"]
    status = _status(step, "The 8-spin toy")
    if status is not None:
        return "".join(out) + status + "</section>"
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
    out.append(_figures_or_note(figs, step, "The 8-spin toy", figures.toy_figures))
    return "".join(out) + "</section>"


def _section_free_energy(steps, figs) -> str:
    step = steps.get("extensive")
    out = [f'<section id="{SECTIONS[1][0]}"><h2>2. {SECTIONS[1][1]}</h2>',
           "<p>The free energy, the free entropy and the free energy density:</p>",
           eq(f"<i>F<sub>N</sub></i>({BETA}) = −{frac('1', BETA)} log <i>Z</i>({BETA}),&emsp; "
              f"<i>S</i>({BETA}) = −{BETA}<i>F<sub>N</sub></i>({BETA}) = log <i>Z</i>,&emsp; "
              f"<i>f</i>({BETA}) = −{frac('1', f'<i>N</i>{BETA}')} log <i>Z</i>({BETA})"),
           "<p><i>F</i> is <b>extensive</b> — it grows in proportion to <i>N</i> — and <i>f</i> is "
           "<b>intensive</b>: it has a limit as <i>N</i> → ∞. (The seed writes <i>S</i> = −β<i>F</i> for the "
           "free entropy; statmech calls it <code>free_entropy</code> = log <i>Z</i> and keeps "
           "<code>entropy</code> for the thermodynamic entropy β(<i>U</i> − <i>F</i>).) Computed here for "
           "Ising chains (transfer matrix) and square lattices (Kaufman's exact solution) of growing size:</p>"]
    status = _status(step, "Free energy for growing N")
    if status is not None:
        return "".join(out) + status + "</section>"
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
    out.append(_figures_or_note(figs, step, "Free energy for growing N", figures.extensive_figures))
    return "".join(out) + "</section>"


def _section_ising(steps, figs) -> str:
    exact, mc = steps.get("ising_exact"), steps.get("ising_mc")
    snapshots, binder = steps.get("snapshots"), steps.get("binder")
    out = [f'<section id="{SECTIONS[2][0]}"><h2>3. {SECTIONS[2][1]}</h2>',
           "<p>The Ising model adds interactions between neighbouring spins:</p>",
           eq(f"<i>H</i>({X}) = −<i>J</i> ∑<sub>⟨<i>ij</i>⟩</sub> <i>x<sub>i</sub> x<sub>j</sub></i>,&emsp; "
              f"<i>T</i> = 1/{BETA}"),
           "<p>(The seed writes <i>E</i> = ∑ <i>J x</i><sub><i>i</i>−1</sub><i>x<sub>i</sub></i>; with "
           "statmech's sign, <i>J</i> &gt; 0 favours aligned spins.) On a line the model is disordered at "
           "every temperature; on the square lattice it has an ordered phase below the critical temperature "
           f"<i>T</i><sub>c</sub> = 2<i>J</i>/ln(1 + √2)"]
    if exact is not None and exact.status == "done":
        out.append(f" = {num(exact.value('critical_temperature'), 7)}")
    out.append(".</p>")
    status = _status(exact, "The exact Ising curves")
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
            out.append(_status(mc, "The Monte Carlo points"))
        out.append(_figures_or_note(figs, exact, "The exact Ising curves", lambda s: figures.ising_figures(s, mc)))
        if mc is not None and mc.status == "done":
            out.append(f"<p class=\"meta\">Monte Carlo: {esc(mc.params['chain_method'])} (chain) and "
                       f"{esc(mc.params['square_method'])} (lattice), {num(mc.value('n_chains'))} "
                       f"chains × {num(mc.value('n_sweeps'))} sweeps per temperature, seed {num(mc.seed)}; "
                       "error bars from the autocorrelation-corrected standard error "
                       f"({num(mc.value('n_warnings'))} diagnostic warnings recorded in the store).</p>")
    out.append("<h3>Ordered and disordered phases</h3>")
    status = _status(snapshots, "The lattice snapshots")
    if status is not None:
        out.append(status)
    else:
        sp = snapshots.params
        out.append(code(f"""
for k, T in enumerate({[float(t) for t in sp['temperatures']]}):
    sm.sample(sm.Ising.square({sp['L']}), beta=1 / T, method="{sp['method']}", n_samples=1, n_chains=1,
              burn_in={sp['burn_in']}, seed=k).spins
"""))
        out.append(_figures_or_note(figs, snapshots, "The lattice snapshots", figures.snapshot_figures))
    out.append("<h3>Locating <i>T</i><sub>c</sub> from the Binder crossing</h3>")
    status = _status(binder, "The Binder crossing")
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
        out.append(_figures_or_note(figs, binder, "The Binder crossing", figures.binder_figures))
    return "".join(out) + "</section>"


def _section_disorder(steps, figs) -> str:
    sa, qa = steps.get("self_averaging"), steps.get("quenched")
    out = [f'<section id="{SECTIONS[3][0]}"><h2>4. {SECTIONS[3][1]}</h2>',
           "<p>With quenched disorder — random couplings <i>J</i> drawn once and frozen — the free energy "
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
    status = _status(sa, "Self-averaging")
    if status is not None:
        out.append(status)
    else:
        p = sa.params
        out.append(code(f"""
sa = sm.self_averaging(lambda n: sm.SK(n), sizes={tuple(p['sizes'])}, beta={p['beta']:g},
                       n_instances={p['n_instances']}, method="{p['method']}", seed=0)
sa.exponent, sa.exponent_stderr      # a = {num(sa.value('exponent'), 3)} ± {num(sa.stderr('exponent'), 2)}
"""))
        out.append(_figures_or_note(figs, sa, "Self-averaging", figures.self_averaging_figures))
        out.append(f"<p>Fitted exponent <i>a</i> = {num(sa.value('exponent'), 3)} ± {num(sa.stderr('exponent'), 2)} "
                   f"(χ² = {num(sa.value('chi2'), 3)} for {num(sa.value('dof'))} degrees of freedom). For SK at high "
                   "temperature log <i>Z</i> − log E[<i>Z</i>] has O(1) fluctuations, so the asymptotic exponent is "
                   "<i>a</i> = 2 (for short-range models, <i>a</i> = 1); at these small <i>N</i> the fit still "
                   "includes finite-size corrections.</p>")
    out.append("<h3>Quenched vs annealed, and Parisi's solution</h3>")
    status = _status(qa, "Quenched vs annealed")
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
        out.append(_figures_or_note(figs, qa, "Quenched vs annealed", figures.quenched_figures))
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
    status = _status(rem, "The random energy model")
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
        out.append(_figures_or_note(figs, rem, "The random energy model", figures.rem_figures))
    return "".join(out) + "</section>"


def _section_ml(steps, figs) -> str:
    zt, mm, gen = steps.get("ml_zero_temperature"), steps.get("ml_methods"), steps.get("ml_generalisation")
    out = [f'<section id="{SECTIONS[4][0]}"><h2>5. {SECTIONS[4][1]}</h2>',
           "<p>Supervised learning fits a function φ<sub>θ</sub> to <i>M</i> examples by minimising a loss:</p>",
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
    status = _status(zt, "The zero-temperature limit of a training loss")
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
        out.append(_figures_or_note(figs, zt, "The zero-temperature limit", figures.ml_zero_temperature_figures))
        out.append(f"<p>{num(zt.value('n_samples'))} examples, <i>d</i> = {num(zt.value('dim'))} weights: at the "
                   f"largest β computed, <i>F</i> − min <i>L</i> = {num(zt.value('largest_beta_gap'), 3)}.</p>")
    out.append("<h3>Laplace vs exact vs sampling</h3>")
    status = _status(mm, "Laplace vs exact vs sampling")
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
        out.append(_figures_or_note(figs, mm, "Laplace vs exact vs sampling", figures.ml_methods_figures))
    out.append("<h3>Generalisation vs β</h3>")
    status = _status(gen, "Generalisation vs β")
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
        out.append(_figures_or_note(figs, gen, "Generalisation vs β", figures.ml_generalisation_figures))
        converged = gen.value("minimizer_converged") > 0.5
        out.append(f"<p>{num(gen.value('n_train'))} training and {num(gen.value('n_test'))} test examples, "
                   f"<i>d</i> = {num(gen.value('dim'))} weights. The posterior-mean predictor's test error is "
                   f"smallest at β ≈ {num(gen.value('best_beta'), 3)} "
                   f"({100 * gen.value('best_mean_test_error'):.1f} %), "
                   f"against {100 * gen.value('minimizer_test_error'):.1f} % for the minimiser of the training "
                   "loss" + ("" if converged else " (the training data are separable: the loss has no minimum, only an "
                             "infimum approached as |θ| → ∞)") + ". "
                   f"({num(gen.value('n_warnings'))} sampler diagnostic warnings are recorded in the store.)</p>")
    return "".join(out) + "</section>"


def _api_anchor(name: str) -> str:
    return "api-" + name.replace("statmech.", "").replace(".", "-").lower()


def _section_vocabulary(steps) -> str:
    step = steps.get("vocabulary")
    out = [f'<section id="{SECTIONS[5][0]}"><h2>6. {SECTIONS[5][1]}</h2>',
           "<p>The seed's table, with the statmech name of each concept and one value computed with it in "
           "this run:</p>"]
    status = _status(step, "The vocabulary")
    if status is not None:
        return "".join(out) + status + "</section>"

    def link(name, text=None):
        return f'<a href="#{_api_anchor(name)}"><code>{esc(text or name.replace("statmech.", "sm."))}</code></a>'

    s = step.value
    ml = "ml_min_loss" in step.scalars
    x = "(" + ", ".join(f"{int(v):+d}" for v in step.array("configuration")) + ")"
    rows = [
        ["Loss function", "Energy function (or Hamiltonian)",
         f"{link('statmech.Ising.energy', 'model.energy(s)')}; {link('statmech.ml.LinearRegression')}",
         f"toy: <i>H</i>{x} = {num(s('energy_of_configuration'))}"],
        ["Global minima", "Ground states",
         f"{link('statmech.ground_energy')}, {link('statmech.thermo', 'sm.thermo(model, 1e6)')}, "
         f"{link('statmech.ml.minimize')}",
         f"toy: <i>U</i> = {num(s('cold_energy'))}, <i>F</i> = {num(s('cold_free_energy'))} "
         f"at β = {big(s('cold_beta'))}"
         + (f"; least squares: min <i>L</i> = {num(s('ml_min_loss'))}, <i>F</i>(β = {big(s('cold_beta'))}) = "
            f"{num(s('ml_cold_free_energy'))}" if ml else "")],
        ["Parameters", "Degrees of freedom", "spins: <code>model.n_sites</code>; weights: <code>model.dim</code>",
         f"toy: <i>N</i> = {num(s('n_sites'))}" + (f"; least squares: <i>d</i> = {num(s('ml_dim'))}" if ml else "")],
        ["Probability distribution of parameters", "Boltzmann distribution",
         f"{link('statmech.boltzmann', 'sm.boltzmann(model, beta).prob(x)')}",
         f"toy at β = 1: <i>p</i>{x} = {num(s('probability_of_configuration'))}"],
        ["High-dimensional limit", "Thermodynamic limit",
         f"<code>Thermo.*_density</code>, {link('statmech.onsager')}, {link('statmech.infinite_chain')}",
         f"2D Ising at β<sub>c</sub>: <i>f</i> = {num(s('finite_free_energy_density'), 8)} for <i>L</i> = "
         f"{num(s('square_L'))}, {num(s('infinite_free_energy_density'), 8)} for <i>N</i> = ∞"],
    ]
    out.append(table(["Machine learning", "Statistical physics", "statmech", "computed in this run"], rows,
                     cls="vocab"))
    if not ml:
        reason = step.artifacts.get("ml_unavailable", {}).get("reason", "statmech.ml not available")
        out.append(note(f"<b>Not yet available:</b> the machine-learning column's computed values ({esc(reason)})."))
    out.append('<h3 id="api">The API used on this page</h3><dl class="api">')
    for entry in step.artifacts.get("api", []):
        name = entry["name"]
        if entry["available"]:
            short = esc(name.replace("statmech.", "sm."))
            out.append(f'<dt id="{_api_anchor(name)}">{short}{esc(entry["signature"])}</dt>'
                       f"<dd>{rst(entry['summary'])}</dd>")
        else:
            out.append(f'<dt id="{_api_anchor(name)}">{esc(name.replace("statmech.", "sm."))}</dt>'
                       "<dd>not available in this installation</dd>")
    out.append("</dl>")
    return "".join(out) + "</section>"


def _provenance(info: dict, steps: dict, store_name: str) -> str:
    rows = []
    for step in steps.values():
        seconds = "" if step.seconds is None else f"{step.seconds:.1f} s"
        status = step.status if not step.unavailable else "not available"
        rows.append([f"{step.section}", esc(step.name), esc(step.title), esc(status), esc(step.method or ""),
                     seconds, f'<a href="data/{esc(step.name)}.json">{esc(step.name)}.json</a>'])
    total = sum(s.seconds or 0.0 for s in steps.values())
    budget = info["spec"].get("model", {}).get("budget", "")
    return (f'<section id="provenance"><h2>Where the numbers come from</h2>'
            f"<p>Every number and figure on this page was read from the result store <code>{esc(store_name)}</code>, "
            f"written by <code>statmech tour{' --quick' if budget == 'quick' else ''}</code> on {esc(info['created'])} "
            f"(statmech {esc(info['statmech_version'])}, {esc(budget)} budget, study hash "
            f"<code>{esc(info['study_hash'][:12])}</code>); the page was drawn from the store alone, by the same code "
            f"as <code>statmech report {esc(store_name)} --out DIR</code>. Each step is one task of the store; its "
            f"numbers are in <code>data/STEP.json</code> and the data of each figure in <code>data/FIGURE.nc</code> "
            f"(netCDF, open with <code>xarray.open_dataset</code>).</p>"
            + table(["§", "step", "what", "status", "method", "time", "numbers"], rows, numeric=(0, 5))
            + f"<p class=\"meta\">Computation time, all steps: {total:.1f} s.</p></section>")


def tour_page(info: dict, steps: dict[str, StepData], store_name: str) -> tuple[str, list[FigureOut]]:
    """The tour page and its figures, from the stored steps (name -> StepData)."""
    figs = Figures()
    budget = info["spec"].get("model", {}).get("budget", "")
    toc = "".join(f'<li><a href="#{key}">{esc(title)}</a></li>' for key, title in SECTIONS)
    toc += ('<li><a href="#api">The API used on this page</a></li>'
            '<li><a href="#provenance">Where the numbers come from</a></li>')
    failed = [s for s in steps.values() if s.status != "done"]
    warning = ""
    if failed:
        warning = note("Steps that did not complete in this run: " + ", ".join(esc(s.name) for s in failed) +
                       ". Their sections say so below.", failed=True)
    body = [
        '<header class="top"><h1>statmech tour: the seed, computed</h1>',
        "<p>A beginner's guide to the link between statistical physics and machine learning — every "
        "equation of it evaluated by statmech, in the guide's order.</p>",
        f'<p class="meta">{esc(budget)} budget · computed {esc(info["created"])} · statmech '
        f'{esc(info["statmech_version"])} · store <code>{esc(store_name)}</code></p></header>',
        f'<nav class="toc"><h2>Contents</h2><ol>{toc}</ol></nav>', warning,
        _section_boltzmann(steps, figs), _section_free_energy(steps, figs), _section_ising(steps, figs),
        _section_disorder(steps, figs), _section_ml(steps, figs), _section_vocabulary(steps),
        _provenance(info, steps, store_name),
    ]
    return _document("statmech tour: the seed, computed", "".join(body)), figs.items


def sweep_page(info: dict, dataset, counts: dict, failures: list, store_name: str) -> tuple[str, list[FigureOut]]:
    """A page for any study store: the study, its status, a figure of every quantity against β, the failures."""
    figs = Figures()
    spec = info["spec"]
    body = [f'<header class="top"><h1>{esc(info["name"])}</h1>',
            f"<p>{esc(spec.get('description') or '')}</p>",
            f'<p class="meta">store <code>{esc(store_name)}</code> · created {esc(info["created"])} · statmech '
            f'{esc(info["statmech_version"])} · study hash <code>{esc(info["study_hash"][:12])}</code></p></header>',
            "<section><h2>Study</h2>", code(info["toml"]),
            table(["tasks", "done", "failed", "pending"],
                  [[num(sum(counts.values())), num(counts["done"]), num(counts["failed"]), num(counts["pending"])]],
                  numeric=(0, 1, 2, 3)), "</section>", "<section><h2>Results</h2>"]
    drawn = figures.sweep_figures(dataset)
    if drawn:
        body.extend(figs.html(f) for f in drawn)
    else:
        body.append(note("Nothing to draw: no quantity has a β axis with finished tasks."))
    body.append("</section>")
    if failures:
        body.append("<section><h2>Failed tasks</h2>")
        body.append(table(["grid point", "error"],
                          [[esc(json.dumps(c)), f"<code>{esc(e)}</code>"] for c, e in failures]))
        body.append("</section>")
    return _document(f"statmech report: {info['name']}", "".join(body)), figs.items


def _document(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{esc(title)}</title><style>{CSS}</style></head>\n"
            f'<body data-loaded="pending"><div class="page">{body}'
            '<footer>Made by statmech from stored results only; no network, no external files.</footer></div>'
            f"<script>{SCRIPT}</script></body></html>\n")
