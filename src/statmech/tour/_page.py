"""The tour's page: drawn from a tour's result store alone, section by section.

:func:`build_report` reads a store written by :func:`statmech.tour.run_tour`
and writes ``DIR/index.html`` — for each section of
:data:`statmech.tour._sections.SECTIONS` the equation in the seed's notation,
the statmech call that computes it (with the parameters the run used, read
from the store), and the computed figures and tables — plus ``DIR/data/``:
one netCDF file per figure and one JSON file per step with its parameters
and numbers. Nothing is computed: the same store always gives the same page.
"""
from __future__ import annotations

import math
import pathlib

import numpy as np

from statmech._numerics import json_safe
from statmech.report import plain_name, write_report
from statmech.report._figures import FigureOut
from statmech.report._html import Figures, document, esc, note, table
from statmech.studies._kinds import is_tour_store
from statmech.studies._store import ResultStore, StoreError
from statmech.tour._base import StepData
from statmech.tour._sections import SECTIONS


def read_steps(store: ResultStore) -> dict[str, StepData]:
    """The tour's steps from an open store, as ``{name: StepData}`` in the seed's order."""
    scalars: dict[str, dict] = {}
    for task_id, quantity, value, stderr, _meta in store.results():
        scalars.setdefault(task_id, {})[quantity] = (math.nan if value is None else value, stderr)
    steps = {}
    for task in store.tasks():
        config = task["config"]
        plain_name(config["step"], "step name", store.path)
        steps[config["step"]] = StepData(
            name=config["step"], section=int(config["section"]), title=config["title"], status=task["status"],
            error=task["error"], method=task["method"], seconds=task["seconds"], params=config["params"],
            scalars=scalars.get(task["task_id"], {}),
            artifacts=store.artifacts(task["task_id"]) if task["status"] == "done" else {}, meta=task["meta"],
            seed=int(task["seed"]))
    return steps


def step_json(step: StepData) -> dict:
    """A stored step as a JSON document: parameters, scalars, arrays and documents."""
    return json_safe({
        "step": step.name, "section": step.section, "title": step.title, "status": step.status,
        "error": step.error, "method": step.method, "seconds": step.seconds, "params": step.params,
        "scalars": {k: {"value": v, "stderr": e} for k, (v, e) in step.scalars.items()},
        "arrays": {k: {"shape": list(v.shape), "values": v} for k, v in step.artifacts.items()
                   if isinstance(v, np.ndarray)},
        "documents": {k: v for k, v in step.artifacts.items() if not isinstance(v, np.ndarray)},
    })


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
    toc = "".join(f'<li><a href="#{section.key}">{esc(section.title)}</a></li>' for section in SECTIONS)
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
        *(f'<section id="{section.key}"><h2>{number}. {esc(section.title)}</h2>{section.render(steps, figs)}'
          "</section>" for number, section in enumerate(SECTIONS, start=1)),
        _provenance(info, steps, store_name),
    ]
    return document("statmech tour: the seed, computed", "".join(body)), figs.items


def build_report(store_path, out_dir) -> pathlib.Path:
    """Draw ``out_dir/index.html`` and ``out_dir/data/*`` from the tour's store at ``store_path``.

    Only the store is read: no model is built and nothing is computed. A step
    the store lacks (an older tour), one that failed and one that could not
    run are each shown as a note in its section. Returns the path of
    ``index.html``. A missing, foreign or corrupt store raises
    :class:`statmech.studies.StoreError`; so does a store that is not a
    tour's (draw that one with :func:`statmech.report.build_report`).
    """
    store_path = pathlib.Path(store_path)
    with ResultStore.open(store_path, writable=False) as store:
        info = store.study_info()
        if not is_tour_store(info):
            raise StoreError(f"{store_path}: the store of study {info['name']!r}, not a tour's; draw it with "
                             "statmech.report.build_report(store, out) or `statmech report STORE --out DIR`")
        steps = read_steps(store)
    page, drawn = tour_page(info, steps, store_path.name)
    documents = {f"{name}.json": step_json(step) for name, step in steps.items()}
    return write_report(out_dir, page, drawn, documents, store_path)
