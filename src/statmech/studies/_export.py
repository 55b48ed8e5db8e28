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

An export never damages anything: it refuses to write over the store itself
(or its ``-wal``, ``-shm`` and lock files) and over an existing file unless
``force=True``; it writes a temporary file in the target folder and renames
it into place once complete, so a full disk or a crash leaves no truncated
export behind (and a replaced file intact). Reading runs SQLite's full
integrity check first.
"""
from __future__ import annotations

import errno
import json
import math
import os
import pathlib

import numpy as np

from statmech.studies._store import ResultStore, lock_path

STATUS_FLAGS = {"pending": 0, "done": 1, "failed": 2}
FORMATS = ("netcdf", "csv")
LAYOUTS = ("wide", "long")


def _read(store_path):
    with ResultStore.open(store_path, writable=False, integrity=True) as store:
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


def export_results(store_path, to: str = "netcdf", out=None, layout: str = "wide",
                   force: bool = False) -> pathlib.Path:
    """Write the store's results to ``out`` as netCDF (``to="netcdf"``) or CSV (``to="csv"``).

    ``out`` defaults to the store path with suffix ``.nc`` or ``.csv``.
    ``layout`` ("wide" or "long") applies to CSV. An existing ``out`` is
    refused unless ``force=True``; the store itself always is. The file is
    written under a temporary name and renamed once complete. Returns the
    path written. Raises ValueError for a bad ``out``, :class:`StoreError`
    for a bad store, and OSError (one line: what failed and why, e.g. the
    disk is full) when writing fails.
    """
    if to not in FORMATS:
        raise ValueError(f"to must be one of {FORMATS}, got {to!r}")
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    store_path = pathlib.Path(store_path)
    out = pathlib.Path(out) if out is not None else store_path.with_suffix(".nc" if to == "netcdf" else ".csv")
    _check_out(store_path, out, force)
    if to == "netcdf":
        dataset = load_results(store_path)
        _write_atomically(out, lambda temporary: dataset.to_netcdf(temporary, engine="netcdf4"))
    else:
        table = results_table(store_path, layout)
        _write_atomically(out, lambda temporary: table.to_csv(temporary, index=False))
    return out


def _check_out(store_path: pathlib.Path, out: pathlib.Path, force: bool) -> None:
    """Refuse an export target that is the store (or one of its files), a folder, or an existing file."""
    suffixes = ("", "-wal", "-shm", "-journal")
    store_files = [store_path.with_name(store_path.name + s) for s in suffixes] + [lock_path(store_path)]
    for store_file in store_files:
        same = out.resolve() == store_file.resolve()
        if not same and out.exists() and store_file.exists():
            same = os.path.samefile(out, store_file)  # hard links
        if same:
            what = "the result store" if store_file == store_path else f"a file of the result store ({store_file.name})"
            raise ValueError(f"{out}: that is {what}; refusing to overwrite it: give another --out, "
                             f"e.g. {store_path.with_suffix('.csv')}")
    if out.is_dir():
        raise ValueError(f"{out}: a folder; give the path of the file to write, e.g. {out / 'results.nc'}")
    if not out.parent.is_dir():
        raise ValueError(f"{out}: the folder {out.parent} does not exist")
    if (out.exists() or out.is_symlink()) and not force:
        raise ValueError(f"{out}: a file already exists there; pass --force (force=True) to replace it, "
                         "or choose another --out")


def _write_atomically(out: pathlib.Path, write) -> None:
    """``write(temporary)`` in ``out``'s folder, then rename it to ``out``; on failure remove it and say why."""
    temporary = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        write(temporary)
        os.replace(temporary, out)
    except BaseException as error:
        try:
            temporary.unlink(missing_ok=True)
        except OSError:  # e.g. a read-only file system, where nothing was written
            pass
        if isinstance(error, OSError) or _looks_like_io_error(error):
            raise OSError(getattr(error, "errno", None) or errno.EIO,
                          f"cannot write {out}: {_write_failure(out.parent, error)}") from None
        raise


def _looks_like_io_error(error: BaseException) -> bool:
    return isinstance(error, RuntimeError) and "HDF" in str(error)  # netCDF4 / HDF5 write errors


def _write_failure(folder: pathlib.Path, error: BaseException) -> str:
    """Why writing in ``folder`` failed, in a few words: the disk is full, the file system is read-only, or the error."""
    try:
        stats = os.statvfs(folder)
    except OSError:
        stats = None
    if stats is not None:
        if stats.f_flag & getattr(os, "ST_RDONLY", 1):
            return "read-only file system"
        free = stats.f_bavail * stats.f_frsize
        if free < 1 << 20:  # netCDF/HDF5 reports a full disk as e.g. "Permission denied"
            return f"the disk is full ({free} bytes free)"
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return "the disk is full"
    reason = getattr(error, "strerror", None) or str(error)
    return " ".join(str(reason).split())
