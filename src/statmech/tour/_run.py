"""Running the tour: its steps as the tasks of one result store, computed in worker processes.

``statmech tour`` runs every step of :data:`statmech.tour.TOUR_STEPS` — what
to compute, with a quick and a full budget — as one task of a store
(``DIR/tour.sqlite``), then draws ``DIR/index.html`` from that store alone
with :func:`statmech.tour.build_report`, the same code ``statmech report``
uses for a tour's store. Each task stores its headline numbers as scalar
results (``results`` table: ``statmech results tour.sqlite`` exports them)
and the curves, histograms and snapshots behind the figures as artifacts
(named arrays and JSON documents written in the same transaction as the task).

The store looks like a study store: ``spec`` is ``{"name": "statmech-tour",
"model": {"kind": "tour", "budget": ...}, "method": "tour", "options": {},
"grid": {"step": [...], "seed": [0]}, "tour": {step: parameters}}``; a task's
``config`` is ``{"step": name, "section": number, "title": ..., "params": {...}, "budget": ...}``.
The steps, section by section, are listed in :mod:`statmech.tour._sections`.
"""
from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import socket
import time
import traceback

from rich.markup import escape

from statmech.studies._kinds import TOUR_KIND, is_tour_store
from statmech.studies._store import ResultStore, StoreError, StoreLock, _encode_artifact
from statmech.studies._study import Task, study_hash, task_id
from statmech.studies._runner import TaskProgress, WorkerDied, run_tasks
from statmech.studies._workers import check_workers
from statmech.tour._page import build_report
from statmech.tour._sections import STEPS_BY_NAME, TOUR_STEPS

TOUR_NAME = "statmech-tour"
BUDGETS = ("quick", "full")


# ------------------------------------------------------------------ the tour as a study
@dataclasses.dataclass(frozen=True)
class TourStudy:
    """The tour as a store's study: one task per step, in the seed's order."""

    budget: str
    seed: int = 0

    @property
    def name(self) -> str:
        return TOUR_NAME

    @property
    def description(self) -> str:
        return (f"The seed's argument, computed by statmech ({self.budget} budget): Boltzmann distribution, "
                "free energy, 1D vs 2D Ising, disorder and self-averaging, the ML bridge, the vocabulary")

    def step_params(self) -> dict:
        return {step.name: step.params(self.budget) for step in TOUR_STEPS}

    def spec(self) -> dict:
        return {"name": self.name, "description": self.description,
                "model": {"kind": TOUR_KIND, "budget": self.budget}, "method": "tour", "options": {},
                "grid": {"step": [step.name for step in TOUR_STEPS], "seed": [self.seed]},
                "tour": self.step_params()}

    @property
    def study_hash(self) -> str:
        return study_hash(self.spec())

    @property
    def text(self) -> str:
        """The tour's parameters as a TOML document (kept verbatim in the store)."""
        lines = ["[study]", f'name = "{self.name}"', f"description = {json.dumps(self.description)}",
                 f'budget = "{self.budget}"', f"seed = {self.seed}"]
        for step in TOUR_STEPS:
            lines += ["", f"[steps.{step.name}]", f"section = {step.section}", f"title = {json.dumps(step.title)}"]
            for key, value in step.params(self.budget).items():
                lines.append(f"{key} = {_toml_value(value)}")
        return "\n".join(lines) + "\n"

    def tasks(self) -> list[Task]:
        tasks = []
        for position, step in enumerate(TOUR_STEPS):
            config = {"step": step.name, "section": step.section, "title": step.title,
                      "budget": self.budget, "params": step.params(self.budget)}
            tasks.append(Task(task_id(config, self.seed), position, config, self.seed,
                                  {"step": step.name, "seed": self.seed}))
        return tasks


def _toml_value(value) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


# ------------------------------------------------------------------ running it
def compute_step(task: dict) -> dict:
    """Compute one tour task (task_id, config, seed) into an outcome for :meth:`ResultStore.record`.

    Never raises for a failure of the computation: the task is stored as
    failed with its message, and the page shows it.
    """
    start = time.perf_counter()
    outcome = {"task_id": task["task_id"], "host": socket.gethostname()}
    config = task["config"]
    try:
        result = STEPS_BY_NAME[config["step"]].compute(config["params"], int(task["seed"]))
        for name, value in result.artifacts.items():
            _encode_artifact(name, value)  # storable? (else this step fails here, not the store write)
        rows = []
        for quantity, value in result.scalars.items():
            if isinstance(value, tuple):
                value, stderr = value
            else:
                stderr = None
            rows.append({"quantity": quantity, "value": float(value),
                         "stderr": None if stderr is None else float(stderr), "meta": None})
        outcome.update(status="done", results=rows, artifacts=result.artifacts, method=result.method,
                       error=None, meta=result.meta or None)
    except Exception as error:  # noqa: BLE001 - a failed step is shown on the page with its message
        outcome.update(status="failed", results=[], artifacts={}, method=None,
                       error=" ".join(f"{type(error).__name__}: {error}".split()),
                       meta={"traceback": traceback.format_exc()})
    outcome["seconds"] = time.perf_counter() - start
    return outcome


def _remove_previous_tour(store_path: pathlib.Path) -> None:
    """Delete a previous tour's store at ``store_path``; refuse anything that is not one."""
    with ResultStore.open(store_path, writable=False) as previous:
        info = previous.study_info()
    if not is_tour_store(info):
        raise StoreError(f"{store_path}: a result store of study {info['name']!r}, not a tour; "
                         "choose another --out folder")
    lock = StoreLock.acquire(store_path)  # another tour still writing it: refused, nothing deleted
    try:
        for path in (store_path, *(store_path.with_name(store_path.name + s) for s in ("-wal", "-shm"))):
            path.unlink(missing_ok=True)
    finally:
        lock.release()


def run_tour(out_dir="tour-output", quick: bool = False, progress: bool = True,
             workers: int | None = None) -> pathlib.Path:
    """Run the tour into ``out_dir/tour.sqlite`` and draw ``out_dir/index.html`` from it; return that path.

    ``quick=True`` uses the small budget (under a minute on two cores);
    otherwise the full one (a few minutes). A previous tour's store in
    ``out_dir`` is replaced; any other file there named ``tour.sqlite`` is
    refused (:class:`StoreError`). ``progress`` shows Rich progress bars on
    stderr. ``workers``: processes computing steps side by side (default:
    two, or one on a single-CPU machine; 1 computes in this process). A step
    that fails is stored as failed and shown on the page; the others still
    run. The page and the data files come from the store alone
    (:func:`statmech.report.build_report`).
    """
    if workers is None:
        workers = min(2, os.cpu_count() or 1)
    workers = check_workers(workers)
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    store_path = out_dir / "tour.sqlite"
    if store_path.exists():
        _remove_previous_tour(store_path)
    study = TourStudy("quick" if quick else "full")
    tasks = study.tasks()
    rank = {name: k for k, name in enumerate(_HEAVY_FIRST)}
    ordered = tasks if workers == 1 else sorted(
        tasks, key=lambda t: (rank.get(t.config["step"], len(rank)), t.position))
    started = time.perf_counter()
    with ResultStore.create(store_path, study, tasks) as store, \
            TaskProgress("statmech tour", len(tasks), enabled=progress) as bar:
        def on_outcome(task, outcome):
            store.record(outcome)
            title = escape(task.config["title"])
            if outcome["status"] == "failed":
                bar.print(f"[red]failed[/] {title}: {escape(outcome['error'])}")
            else:
                bar.print(f"[green]done[/]   {title} [dim]({outcome['seconds']:.1f} s)[/]")

        try:
            run_tasks(ordered, compute_step, on_outcome, payload=_payload, workers=workers,
                      on_error=_failed_outcome, progress=bar, label=lambda task: task.config["title"])
        except WorkerDied as error:  # a worker killed: the steps not reported are stored as failed, not lost
            for task in error.unfinished:
                on_outcome(task, _failed_outcome(task, error))
                bar.advance(failed=True)
        bar.status("drawing the report")
        page = build_report(store_path, out_dir)
        bar.status(f"report written in {time.perf_counter() - started:.0f} s")
        bar.print(f"tour: {escape(str(page))}")
    return page


_HEAVY_FIRST = ("binder", "ml_methods", "ising_mc", "ml_generalisation", "double_descent", "snapshots", "rem",
                "quenched", "approximations", "self_averaging")
"""Steps that take longest, submitted first so that the processes finish together."""


def _payload(task: Task) -> dict:
    return {"task_id": task.task_id, "config": task.config, "seed": task.seed}


def _failed_outcome(task: Task, error: BaseException) -> dict:
    """The stored outcome of a step whose computation raised (e.g. a worker killed): failed, not lost."""
    return {"task_id": task.task_id, "status": "failed", "results": [], "artifacts": {}, "method": None,
            "error": " ".join(f"{type(error).__name__}: {error}".split()), "meta": None, "seconds": None,
            "host": socket.gethostname()}
