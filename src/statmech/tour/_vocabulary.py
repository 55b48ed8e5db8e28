"""Section 6: the seed's vocabulary table, each row computed once with the API it names (step ``vocabulary``)."""
from __future__ import annotations

import importlib
import inspect

import numpy as np

import statmech as sm
from statmech.report._html import big, esc, note, num, rst, table
from statmech.tour import _ml
from statmech.tour._base import Section, StepResult, TourStep, status_note
from statmech.tour._base import array as _array
from statmech.tour._boltzmann import SEED_CONFIGURATIONS


# ------------------------------------------------------------------ computation
_API = ("statmech.Ising.energy", "statmech.thermo", "statmech.log_z", "statmech.boltzmann", "statmech.onsager",
        "statmech.infinite_chain", "statmech.sample", "statmech.studies.binder_crossings",
        "statmech.self_averaging", "statmech.quenched", "statmech.ground_energy",
        "statmech.ml.LinearRegression", "statmech.ml.LogisticRegression", "statmech.ml.minimize",
        "statmech.ml.zero_temperature_limit", "statmech.theory.parisi",
        "statmech.approx.square_lattice_curves", "statmech.theory.ridge", "statmech.ml.ridge_simulation")


def _resolve(dotted: str):
    """The object named ``dotted``: attributes first (``statmech.thermo`` is the function), then submodules."""
    parts = dotted.split(".")
    try:
        obj = importlib.import_module(parts[0])
    except ImportError:
        return None
    for k, part in enumerate(parts[1:], start=1):
        if hasattr(obj, part):
            obj = getattr(obj, part)
            continue
        try:
            obj = importlib.import_module(".".join(parts[: k + 1]))
        except ImportError:
            return None
    return obj


def _api_entry(dotted: str) -> dict:
    obj = _resolve(dotted)
    if obj is None:
        return {"name": dotted, "available": False, "signature": "", "summary": "not available in this installation"}
    try:
        signature = inspect.signature(obj)
        signature = str(signature.replace(
            parameters=[q.replace(annotation=inspect.Parameter.empty) for q in signature.parameters.values()
                        if q.name != "self"],
            return_annotation=inspect.Signature.empty))
    except (TypeError, ValueError):
        signature = "(...)"
    doc = inspect.getdoc(obj) or ""
    return {"name": dotted, "available": True, "signature": signature,
            "summary": doc.strip().split("\n\n")[0].replace("\n", " ")}


def _step_vocabulary(p: dict, seed: int) -> StepResult:
    """Each row of the seed's vocabulary table, computed once with the API it names."""
    toy = sm.Ising.chain(8, J=0.0, h=-1.0, periodic=False)
    x = _array(p["configuration"], np.int8)
    cold = sm.thermo(toy, p["cold_beta"], method="enumerate")
    large = sm.thermo(sm.Ising.square(p["square_L"]), sm.CRITICAL_BETA, method="kaufman")
    out = StepResult(method="enumerate, kaufman, onsager")
    out.scalars.update(
        energy_of_configuration=float(toy.energy(x.astype(np.float64))),
        cold_beta=p["cold_beta"], cold_energy=float(cold.energy.value),
        cold_free_energy=float(cold.free_energy.value), n_sites=toy.n_sites,
        probability_of_configuration=float(sm.boltzmann(toy, 1.0).prob(x)),
        square_L=p["square_L"], critical_beta=float(sm.CRITICAL_BETA),
        finite_free_energy_density=float(large.free_energy_density.value),
        infinite_free_energy_density=float(sm.onsager(sm.CRITICAL_BETA).free_energy_density.value))
    ml, reason = _ml.ml_module()
    if ml is not None:
        X, y, _ = _ml.standardised_breast_cancer(p["ml_features"])
        model = ml.LinearRegression(X, 2.0 * y - 1.0, prior_precision=1.0, fit_intercept=True)
        ground = ml.minimize(model)
        cold_ml = sm.thermo(model, p["cold_beta"], method="exact")
        out.scalars.update(ml_dim=int(model.dim), ml_min_loss=float(ground.loss),
                           ml_cold_free_energy=float(cold_ml.free_energy.value))
    else:
        out.artifacts["ml_unavailable"] = {"reason": reason}
    out.artifacts["api"] = [_api_entry(name) for name in _API]
    out.artifacts["configuration"] = x
    return out


# ------------------------------------------------------------------ text
def _api_anchor(name: str) -> str:
    return "api-" + name.replace("statmech.", "").replace(".", "-").lower()


def _section_vocabulary(steps, figs) -> str:
    step = steps.get("vocabulary")
    out = ["<p>The seed's table, with the statmech name of each concept and one value computed with it in "
           "this run:</p>"]
    status = status_note(step, "The vocabulary")
    if status is not None:
        return "".join(out) + status

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
    return "".join(out)


# ------------------------------------------------------------------ the section
STEPS = (
    TourStep("vocabulary", "The vocabulary, computed", _step_vocabulary,
             quick=dict(configuration=SEED_CONFIGURATIONS[0], cold_beta=1e6, square_L=64, ml_features=10),
             full=dict(configuration=SEED_CONFIGURATIONS[0], cold_beta=1e6, square_L=128, ml_features=10)),
)
SECTION = Section("vocabulary", "The vocabulary", STEPS, _section_vocabulary)
