"""Sweeps: run every task of a study, locally in parallel or on a Dask cluster, into a result store.

:func:`run_sweep` validates the study, creates (or resumes) the store, then
computes the pending tasks with :func:`compute_task` — in this process
(``workers=1``), in a pool of ``workers`` spawned processes (the default,
one per CPU), or on a Dask distributed cluster (``scheduler="tcp://host:port"``).
Workers only compute and return plain dicts; this process writes each result
to the store as it arrives, one transaction per task. A task that raises is
stored as failed with its error message and the sweep goes on.

Worker processes are started with the "spawn" method (forking a process that
has started JAX's threads is unsafe). A script that calls :func:`run_sweep`
with ``workers > 1`` therefore needs the usual ``if __name__ == "__main__":`` guard.
They exit by themselves when the sweep's process dies.

A sweep that cannot go on raises :class:`SweepError` and leaves every task
stored so far in the store, the others pending for a resume: a local worker
process died, or the Dask scheduler was unreachable for ``scheduler_timeout``
seconds.
"""
from __future__ import annotations

import dataclasses
import math
import os
import pathlib
import socket
import time
import traceback

import numpy as np

from statmech.studies._store import ResultStore, StoreError
from statmech.studies._study import build_model, load_study, takes_seed
from statmech.studies._runner import (SCHEDULER_TIMEOUT, RunnerError, TaskProgress, check_scheduler_timeout,
                                      close, connect, one_line, run_tasks)
from statmech.studies._workers import check_workers


class SweepError(RuntimeError):
    """A sweep could not go on (a worker process died, the Dask scheduler was lost); the store keeps what was done."""


@dataclasses.dataclass(frozen=True)
class SweepSummary:
    """What a sweep did: tasks computed now (``n_done``), found done already
    (``n_skipped``), failed now (``n_failed``, with ``failures``: (coords, error)
    pairs), the wall time in ``seconds`` and the part of it until the first
    result was stored (``first_result_seconds``: worker start-up plus one
    task; NaN when nothing ran), and where the results are (``store``)."""

    store: pathlib.Path
    n_tasks: int
    n_done: int
    n_skipped: int
    n_failed: int
    seconds: float
    failures: tuple = ()
    first_result_seconds: float = math.nan

    @property
    def steady_tasks_per_second(self) -> float:
        """Tasks per second after the first result (start-up excluded)."""
        computed = self.n_done + self.n_failed
        span = self.seconds - self.first_result_seconds
        return (computed - 1) / span if computed > 1 and span > 0 else math.nan

    @property
    def tasks_per_second(self) -> float:
        computed = self.n_done + self.n_failed
        return computed / self.seconds if self.seconds > 0 else math.nan

    def __str__(self) -> str:
        text = (f"{self.n_done} done, {self.n_skipped} skipped (done before), {self.n_failed} failed "
                f"of {self.n_tasks} tasks in {self.seconds:.1f} s -> {self.store}")
        for coords, error in self.failures[:5]:
            point = ", ".join(f"{k}={v}" for k, v in coords.items())
            text += f"\n  failed at {point}: {error}"
        if len(self.failures) > 5:
            text += f"\n  ... and {len(self.failures) - 5} more (see the store's tasks table)"
        return text


def default_store_path(study_path) -> pathlib.Path:
    """The store a study writes to when none is given: the study file with suffix ``.sqlite``."""
    return pathlib.Path(study_path).with_suffix(".sqlite")


# ------------------------------------------------------------------ one task
def compute_task(task: dict) -> dict:
    """Compute one task (a plain dict: task_id, config, seed) and return a plain dict.

    ``thermo(model, beta, method, **options)`` with ``seed=`` added for
    methods that are not exact; the model is ``ensemble.sample(seed)`` for
    disorder kinds. Returns task_id, status ("done" or "failed"), results
    (one {quantity, value, stderr, meta} per available quantity), method (the
    method actually used, e.g. what "auto" chose), meta, seconds, host, error.
    Never raises for a failure of the computation itself.
    """
    start = time.perf_counter()
    outcome = {"task_id": task["task_id"], "host": socket.gethostname(), "pid": os.getpid()}
    try:
        from statmech.thermo import thermo

        config = task["config"]
        model = build_model(config["model"], task["seed"])
        options = dict(config["options"])
        if takes_seed(config["method"]):
            options["seed"] = int(task["seed"])
        result = thermo(model, float(config["beta"]), method=config["method"], **options)
        task_meta = dict(result.meta)
        rows = []
        for name in result.available():
            estimate = getattr(result, name)
            # per-quantity metadata (diagnostics such as tau_int, ESS, R-hat); what the task's
            # meta already records, and beta / n_sites (grid coordinates), is not repeated
            meta = {k: v for k, v in estimate.meta.items()
                    if k not in ("beta", "n_sites") and not (k in task_meta and _same(task_meta[k], v))}
            rows.append({"quantity": name, "value": float(estimate.value),
                         "stderr": None if estimate.stderr is None else float(estimate.stderr),
                         "meta": _jsonable(meta) if meta else None})
        outcome.update(status="done", results=rows, method=result.method, error=None,
                       meta=_jsonable(task_meta) if task_meta else None)
    except Exception as error:  # noqa: BLE001 - a failed task is data, stored with its message
        outcome.update(status="failed", results=[], method=None, error=one_line(error),
                       meta={"traceback": traceback.format_exc()})
    outcome["seconds"] = time.perf_counter() - start
    return outcome


def _same(a, b) -> bool:
    try:
        return bool(np.all(a == b)) if np.shape(a) == np.shape(b) else False
    except Exception:  # noqa: BLE001 - incomparable objects are kept
        return False


def _jsonable(value, limit: int = 10_000):
    """Plain JSON types: numbers, strings, lists, dicts (arrays as lists, other objects by repr)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): _jsonable(v, limit) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, limit) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "__array__"):
        array = np.asarray(value)
        if array.dtype.kind in "biuf" and array.size <= limit:
            return array.tolist()
        return f"<array shape={array.shape} dtype={array.dtype}>"
    return repr(value)


# ------------------------------------------------------------------ the sweep
def run_sweep(study_path, store_path=None, workers: int | None = None, scheduler: str | None = None,
              resume: bool = False, progress: bool = True,
              scheduler_timeout: float = SCHEDULER_TIMEOUT) -> SweepSummary:
    """Run the study at ``study_path`` into the result store at ``store_path``.

    ``store_path`` defaults to the study file with suffix ``.sqlite``.
    ``workers``: number of local processes (default: the number of CPUs;
    1 computes in this process). ``scheduler``: address of a Dask
    distributed scheduler (``"tcp://host:port"``) to run the tasks on instead;
    its workers need statmech installed. ``resume=True`` continues an
    existing store made from the same study (same study hash), skipping
    tasks already done and re-running failed or unfinished ones; without it an
    existing store is refused. The study is fully validated before anything
    is computed or written (:class:`StudyError`); a foreign, corrupt or
    mismatched store is refused (:class:`StoreError`), and so is a store
    another sweep is writing. ``scheduler_timeout``: seconds without contact
    with the Dask scheduler before the sweep stops with :class:`SweepError`
    (the tasks not done stay pending for ``resume=True``).
    Returns a :class:`SweepSummary`.
    """
    if workers is not None and scheduler is not None:
        raise ValueError("give either workers (local processes) or scheduler (a Dask cluster), not both")
    if workers is not None:
        workers = check_workers(workers)
    if scheduler is not None and not isinstance(scheduler, str):
        raise TypeError(f"scheduler must be an address string such as 'tcp://10.0.0.1:8786', got {scheduler!r}")
    scheduler_timeout = check_scheduler_timeout(scheduler_timeout)

    study = load_study(study_path)
    store_path = pathlib.Path(store_path) if store_path is not None else default_store_path(study_path)
    client = connect(scheduler) if scheduler is not None else None  # before the store is touched
    try:
        return _sweep(study, store_path, workers, client, resume, progress, scheduler_timeout)
    finally:
        if client is not None:
            close(client)


def _sweep(study, store_path, workers, client, resume, progress, scheduler_timeout) -> SweepSummary:
    store = _open_store(study, store_path, resume)
    start = time.perf_counter()
    try:
        counts = store.counts()
        pending = [{"task_id": t["task_id"], "config": t["config"], "seed": t["seed"], "coords": t["coords"]}
                   for t in store.tasks() if t["status"] != "done"]
        tally = {"done": 0, "failed": 0}
        failures = []
        first_result = [math.nan]

        def on_outcome(task, outcome):
            store.record(outcome)
            if math.isnan(first_result[0]):
                first_result[0] = time.perf_counter() - start
            tally[outcome["status"]] += 1
            if outcome["status"] == "failed":
                failures.append((task["coords"], outcome["error"]))

        with TaskProgress(study.name, len(pending), enabled=progress and bool(pending)) as bar:
            try:
                run_tasks(pending, compute_task, on_outcome, payload=_payload, client=client,
                          workers=1 if client is not None else workers or os.cpu_count() or 1,
                          on_error=_failed_outcome, progress=bar, scheduler_timeout=scheduler_timeout)
            except RunnerError as error:
                raise SweepError(f"{error}; the finished tasks are stored: "
                                 + ("restart the scheduler and its workers, then " if client is not None else "")
                                 + "re-run with resume=True (--resume) to compute the rest") from error
    finally:
        store.close()
    return SweepSummary(store=store_path, n_tasks=sum(counts.values()), n_done=tally["done"],
                        n_skipped=counts["done"], n_failed=tally["failed"],
                        seconds=time.perf_counter() - start, failures=tuple(failures),
                        first_result_seconds=first_result[0])


def _open_store(study, store_path: pathlib.Path, resume: bool) -> ResultStore:
    if not store_path.exists():
        return ResultStore.create(store_path, study, study.tasks())
    if not resume:
        raise StoreError(f"{store_path}: a store already exists; pass resume=True (--resume) to continue it, "
                         "or give another store path")
    # read-only first, with SQLite's full integrity check: refuse without writing
    with ResultStore.open(store_path, writable=False, integrity=True) as existing:
        info = existing.study_info()
    if info["study_hash"] != study.study_hash:
        raise StoreError(f"{store_path}: made from a different study ({info['name']!r}, hash "
                         f"{info['study_hash'][:12]}; this study {study.name!r} has hash "
                         f"{study.study_hash[:12]}); give a new store path for a changed study")
    return ResultStore.open(store_path, writable=True)  # the writer's lock: one sweep at a time


def _payload(task: dict) -> dict:
    return {"task_id": task["task_id"], "config": task["config"], "seed": task["seed"]}


def _failed_outcome(task: dict, error: BaseException) -> dict:
    """The stored outcome of a task whose worker raised (e.g. Dask's KilledWorker)."""
    return {"task_id": task["task_id"], "status": "failed", "results": [], "error": one_line(error),
            "method": None, "meta": None, "seconds": None, "host": None}
