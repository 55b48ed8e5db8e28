"""Reports: a self-contained HTML page drawn from a result store, never recomputing physics.

    statmech report STORE --out DIR          # build_report(STORE, DIR)

:func:`build_report` reads a store (the tour's ``tour.sqlite`` or any sweep's
store) and writes ``DIR/index.html`` — inline CSS, figures embedded as
``data:`` URIs, no network, no external files — plus the data behind it in
``DIR/data/``: one netCDF file per figure (``data/FIGURE.nc``) and, for the
tour, one JSON file per step with its parameters and numbers
(``data/STEP.json``). The same store always gives the same page.
"""
from __future__ import annotations

import json
import math
import os
import pathlib
import re

import numpy as np

from statmech.report import _html
from statmech.report._figures import StepData
from statmech.studies._export import load_results
from statmech.studies._kinds import is_tour_store
from statmech.studies._store import ResultStore, StoreError

__all__ = ["build_report"]


_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")


def plain_name(name, what: str, store_path) -> str:
    """``name`` when it is a plain file-name stem (letters, digits, ``_``, ``-``); else a StoreError.

    Names read from a store become file names under ``--out``; one such as
    ``"../../x"`` (a tampered store) must never be joined into a path.
    """
    if not isinstance(name, str) or not _PLAIN_NAME.fullmatch(name):
        raise StoreError(f"{store_path}: {what} {name!r} is not a plain name (letters, digits, _ and -); "
                         "the store was altered or was not written by statmech")
    return name


def _read_steps(store: ResultStore):
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


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (np.generic,)):
        return _jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _step_json(step) -> dict:
    return _jsonable({
        "step": step.name, "section": step.section, "title": step.title, "status": step.status,
        "error": step.error, "method": step.method, "seconds": step.seconds, "params": step.params,
        "scalars": {k: {"value": v, "stderr": e} for k, (v, e) in step.scalars.items()},
        "arrays": {k: {"shape": list(v.shape), "values": v} for k, v in step.artifacts.items()
                   if isinstance(v, np.ndarray)},
        "documents": {k: v for k, v in step.artifacts.items() if not isinstance(v, np.ndarray)},
    })


def _write_text(path: pathlib.Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def _write_netcdf(path: pathlib.Path, dataset) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    dataset = dataset.copy()
    for name in list(dataset.variables):
        if dataset[name].dtype == object:
            dataset[name] = dataset[name].astype(str)
    dataset.to_netcdf(temporary, engine="netcdf4")
    os.replace(temporary, path)


def build_report(store_path, out_dir) -> pathlib.Path:
    """Draw ``out_dir/index.html`` and ``out_dir/data/*`` from the result store at ``store_path``.

    A tour store (``statmech tour``) gives the tour page; any other study
    store gives a page of its study, its status and every stored quantity
    against β. Only the store is read: no model is built and nothing is
    computed. Returns the path of ``index.html``. A missing, foreign or
    corrupt store raises :class:`statmech.studies.StoreError`.
    """
    store_path = pathlib.Path(store_path)
    out_dir = pathlib.Path(out_dir)
    with ResultStore.open(store_path, writable=False) as store:
        info = store.study_info()
        if is_tour_store(info):
            steps = _read_steps(store)
            page, drawn = _html.tour_page(info, steps, store_path.name)
            documents = {f"{name}.json": _step_json(step) for name, step in steps.items()}
        else:
            counts = store.counts()
            failures = [(t["coords"], t["error"]) for t in store.tasks("failed")]
            dataset = load_results(store_path)
            page, drawn = _html.sweep_page(info, dataset, counts, failures, store_path.name)
            documents = {}
    data_dir = out_dir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    for figure in drawn:
        _write_netcdf(data_dir / f"{plain_name(figure.key, 'figure name', store_path)}.nc", figure.data)
    for name, document in documents.items():
        plain_name(name.removesuffix(".json"), "step name", store_path)
        _write_text(data_dir / name, json.dumps(document, indent=1, sort_keys=True, allow_nan=False) + "\n")
    index = out_dir / "index.html"
    _write_text(index, page)
    return index
