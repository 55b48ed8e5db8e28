"""Exports of a result store: an xarray Dataset (netCDF) or a pandas table (CSV).

:func:`load_results` reads a store into an ``xarray.Dataset`` whose
dimensions are the study's grid axes in file order (e.g. ``L``, ``beta``,
``seed``), with one variable per quantity (``log_z``, ``energy_density``, ...)
and ``<quantity>_stderr`` beside it (NaN where the value is exact, and both
NaN where the task is not done). ``task_status`` holds 0 = pending,
1 = done, 2 = failed for every grid point (CF flag attributes). The study
file, its hash, the model, method and options are kept in the attributes.

:func:`export_results` writes that Dataset to netCDF (netCDF4 engine), or a
CSV table: ``layout="wide"`` (default) has one row per task — the grid
coordinates, ``status``, ``error``, then ``q`` and ``q_stderr`` for every
quantity q; ``layout="long"`` has one row per (task, quantity) with columns
coordinates…, ``quantity``, ``value``, ``stderr`` (done tasks only).
"""
from __future__ import annotations

import json
import math
import pathlib

import numpy as np

from statmech.studies._store import ResultStore

STATUS_FLAGS = {"pending": 0, "done": 1, "failed": 2}
FORMATS = ("netcdf", "csv")
LAYOUTS = ("wide", "long")


def _read(store_path):
    with ResultStore.open(store_path, writable=False) as store:
        return store.study_info(), store.tasks(), store.results()


def load_results(store_path):
    """The results in the store at ``store_path`` as an ``xarray.Dataset`` over the grid axes."""
    import xarray as xr

    info, tasks, results = _read(store_path)
    spec = info["spec"]
    grid = spec["grid"]
    axes = list(grid)
    shape = tuple(len(grid[axis]) for axis in axes)
    index_of = {axis: {_key(value): i for i, value in enumerate(grid[axis])} for axis in axes}
    position = {}
    status = np.zeros(shape, dtype=np.int8)
    for task in tasks:
        where = tuple(index_of[axis][_key(task["coords"][axis])] for axis in axes)
        position[task["task_id"]] = where
        status[where] = STATUS_FLAGS[task["status"]]

    quantities: list[str] = []
    values: dict[str, np.ndarray] = {}
    errors: dict[str, np.ndarray] = {}
    for task_id, quantity, value, stderr, _meta in results:
        if quantity not in values:
            quantities.append(quantity)
            values[quantity] = np.full(shape, np.nan)
            errors[quantity] = np.full(shape, np.nan)
        where = position[task_id]
        values[quantity][where] = np.nan if value is None else value
        errors[quantity][where] = np.nan if stderr is None else stderr

    from statmech._types import Thermo

    order = {name: i for i, name in enumerate(Thermo.QUANTITIES)}
    quantities.sort(key=lambda name: (order.get(name, len(order)), name))
    data_vars = {}
    for quantity in quantities:
        data_vars[quantity] = (axes, values[quantity], {"long_name": quantity})
        data_vars[f"{quantity}_stderr"] = (axes, errors[quantity],
                                           {"long_name": f"standard error of {quantity} (NaN: exact)"})
    data_vars["task_status"] = (axes, status, {
        "flag_values": np.array(list(STATUS_FLAGS.values()), dtype=np.int8),
        "flag_meanings": " ".join(STATUS_FLAGS)})
    coords = {axis: (axis, _coordinate(grid[axis])) for axis in axes}
    n_failed = int(np.sum(status == STATUS_FLAGS["failed"]))
    attrs = {
        "study_name": info["name"],
        "study_hash": info["study_hash"],
        "study_toml": info["toml"],
        "model": json.dumps(spec["model"], sort_keys=True),
        "model_kind": spec["model"]["kind"],
        "method": spec["method"],
        "method_options": json.dumps(spec["options"], sort_keys=True),
        "n_tasks": len(tasks),
        "n_done": int(np.sum(status == STATUS_FLAGS["done"])),
        "n_failed": n_failed,
        "created": info["created"],
        "statmech_version": info["statmech_version"],
        "store_schema_version": info["schema_version"],
    }
    used = sorted({t["method"] for t in tasks if t["method"]})
    if used:
        attrs["methods_used"] = ", ".join(used)
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def _key(value):
    """Dictionary key of a grid value (JSON round trips keep floats exact; bools stay distinct from ints)."""
    return (type(value).__name__, value)


def _coordinate(values):
    if all(isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.int8)  # netCDF has no boolean type: 0 / 1
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.int64)
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.float64)
    return np.array([str(v) for v in values], dtype=object)


def results_table(store_path, layout: str = "wide"):
    """The results as a ``pandas.DataFrame`` in ``layout`` "wide" or "long" (see the module docstring)."""
    import pandas as pd

    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    info, tasks, results = _read(store_path)
    axes = list(info["spec"]["grid"])
    by_id = {task["task_id"]: task for task in tasks}
    from statmech._types import Thermo

    order = {name: i for i, name in enumerate(Thermo.QUANTITIES)}
    if layout == "long":
        rows = []
        position = {task["task_id"]: task["position"] for task in tasks}
        results = sorted(results, key=lambda row: (position[row[0]], order.get(row[1], len(order)), row[1]))
        for task_id, quantity, value, stderr, _meta in results:
            coords = by_id[task_id]["coords"]
            rows.append({**{axis: coords[axis] for axis in axes}, "quantity": quantity,
                         "value": math.nan if value is None else value,
                         "stderr": math.nan if stderr is None else stderr})
        return pd.DataFrame(rows, columns=[*axes, "quantity", "value", "stderr"])
    table = {task["task_id"]: {**{axis: task["coords"][axis] for axis in axes}, "status": task["status"],
                               "error": task["error"] or ""} for task in tasks}
    quantities: list[str] = []
    for task_id, quantity, value, stderr, _meta in results:
        if quantity not in quantities:
            quantities.append(quantity)
        table[task_id][quantity] = math.nan if value is None else value
        table[task_id][f"{quantity}_stderr"] = math.nan if stderr is None else stderr
    quantities.sort(key=lambda name: (order.get(name, len(order)), name))
    columns = [*axes, "status", "error"] + [c for q in quantities for c in (q, f"{q}_stderr")]
    return pd.DataFrame(list(table.values()), columns=columns)


def export_results(store_path, to: str = "netcdf", out=None, layout: str = "wide") -> pathlib.Path:
    """Write the store's results to ``out`` as netCDF (``to="netcdf"``) or CSV (``to="csv"``).

    ``out`` defaults to the store path with suffix ``.nc`` or ``.csv``.
    ``layout`` ("wide" or "long") applies to CSV. Returns the path written.
    """
    if to not in FORMATS:
        raise ValueError(f"to must be one of {FORMATS}, got {to!r}")
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    store_path = pathlib.Path(store_path)
    out = pathlib.Path(out) if out is not None else store_path.with_suffix(".nc" if to == "netcdf" else ".csv")
    if to == "netcdf":
        load_results(store_path).to_netcdf(out, engine="netcdf4")
    else:
        results_table(store_path, layout).to_csv(out, index=False)
    return out
