"""Reports: a self-contained HTML page drawn from a result store, never recomputing physics.

    statmech report STORE --out DIR          # a sweep's store: build_report(STORE, DIR)

:func:`build_report` reads a sweep's store and writes ``DIR/index.html`` —
inline CSS, figures embedded as ``data:`` URIs, no network, no external files
— plus the data behind it in ``DIR/data/``: one netCDF file per figure
(``data/FIGURE.nc``). The same store always gives the same page. The tour's
store (``statmech tour``) is drawn by :func:`statmech.tour.build_report` with
the same pieces (:func:`write_report`, :mod:`statmech.report._html`,
:mod:`statmech.report._figures`); ``statmech report`` picks the right one by
the kind the store records.
"""
from __future__ import annotations

import json
import os
import pathlib
import re

from statmech.report import _html
from statmech.studies._export import load_results
from statmech.studies._kinds import is_tour_store
from statmech.studies._store import ResultStore, StoreError

__all__ = ["build_report", "write_report"]


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


def write_report(out_dir, page: str, drawn, documents: dict, store_path) -> pathlib.Path:
    """Write ``out_dir/index.html`` (``page``), ``data/KEY.nc`` per drawn figure and ``data/NAME.json`` per document.

    ``drawn``: the :class:`~statmech.report._figures.FigureOut` objects of the
    page; ``documents``: ``{"NAME.json": JSON-able dict}``. Every file name
    comes from the store and must be a plain name (else :class:`StoreError`).
    Each file is written to a temporary name and moved into place. Returns
    the path of ``index.html``.
    """
    out_dir = pathlib.Path(out_dir)
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


def build_report(store_path, out_dir) -> pathlib.Path:
    """Draw ``out_dir/index.html`` and ``out_dir/data/*`` from the sweep store at ``store_path``.

    The page shows the study, its status, every stored quantity against β and
    the failed tasks. Only the store is read: no model is built and nothing is
    computed. Returns the path of ``index.html``. A missing, foreign or
    corrupt store raises :class:`statmech.studies.StoreError`, and so does a
    tour's store: draw that one with :func:`statmech.tour.build_report` (or
    ``statmech report STORE``, which picks by kind).
    """
    store_path = pathlib.Path(store_path)
    with ResultStore.open(store_path, writable=False) as store:
        info = store.study_info()
        if is_tour_store(info):
            raise StoreError(f"{store_path}: a tour's store; draw it with statmech.tour.build_report(store, out) "
                             "or `statmech report STORE --out DIR`")
        counts = store.counts()
        failures = [(t["coords"], t["error"]) for t in store.tasks("failed")]
    dataset = load_results(store_path)
    page, drawn = _html.sweep_page(info, dataset, counts, failures, store_path.name)
    return write_report(out_dir, page, drawn, {}, store_path)
