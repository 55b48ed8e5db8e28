"""One task runner for sweeps, quenched averages and the tour.

:func:`run_tasks` computes ``compute(payload(task))`` for every task of a
list and calls ``on_outcome(task, result)`` in the calling process as each
task finishes, so that the caller stores (or reduces) every result at once:

- ``workers=1``: in the calling process, in the order given;
- ``workers > 1``: in a pool of spawned processes
  (:func:`statmech.studies._workers.process_pool`: workers exit with their
  parent and share the on-disk compilation cache), submitted in the order
  given (put the longest tasks first), at most ``2 × workers`` queued;
- ``client=``: on a Dask distributed cluster, at most 4 tasks per worker
  thread queued; a scheduler out of contact for ``scheduler_timeout``
  seconds stops the run.

A task whose computation raises is passed to ``on_error(task, error)``, which
returns the result to report instead (a failed task is then data), or, with
no ``on_error``, the error propagates. A run that cannot go on raises
:class:`RunnerError` (:class:`WorkerDied`: a worker process died, killed or
out of memory; :class:`SchedulerLost`) naming the tasks not reported; every
result reported before is the caller's already. On any error, Ctrl-C
included, queued tasks are cancelled and the pool is not waited for.

:class:`TaskProgress` is the one progress bar (Rich, on stderr): title, bar,
done/total, failed count, elapsed and remaining time, and a status text.
"""
from __future__ import annotations

import collections.abc
import concurrent.futures
import logging
import math
import time
from typing import Any, Callable, Sequence

from statmech.studies._workers import check_workers, process_pool

SCHEDULER_TIMEOUT = 60.0
"""Seconds without contact with the Dask scheduler after which a run gives up (:class:`SchedulerLost`)."""


class RunnerError(RuntimeError):
    """A run could not go on; ``unfinished``: the tasks whose results were not reported."""

    def __init__(self, message: str, unfinished: Sequence = ()):
        super().__init__(message)
        self.unfinished = tuple(unfinished)


class WorkerDied(RunnerError):
    """A worker process died (out of memory, killed, or a script without the ``__main__`` guard)."""


class SchedulerLost(RunnerError):
    """The Dask scheduler was out of contact for ``scheduler_timeout`` seconds."""


def check_scheduler_timeout(seconds) -> float:
    """``seconds`` as a float > 0 and finite, or a ValueError."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds < math.inf:
        raise ValueError(f"scheduler_timeout must be a finite number of seconds > 0, got {seconds!r}")
    return float(seconds)


def one_line(error: BaseException) -> str:
    """``"TypeName: message"`` on one line (whitespace collapsed)."""
    return " ".join(f"{type(error).__name__}: {error}".split())


def failed_status(result) -> bool:
    """The default failure test: a mapping with ``status == "failed"`` (the store's outcome dicts)."""
    return isinstance(result, collections.abc.Mapping) and result.get("status") == "failed"


# ------------------------------------------------------------------ progress
class TaskProgress:
    """One Rich progress bar on stderr: ``title``, bar, done/total, failed count, elapsed, remaining, status.

    A context manager; with ``enabled=False`` every method does nothing.
    ``advance(n, failed)`` counts ``n`` finished units (``failed``: they
    failed); ``status(text)`` sets the text after the bar (what runs now);
    ``print(markup)`` writes a line above the bar. ``transient=True`` removes
    the bar when it stops. The title and status are shown as written (not read
    as Rich markup).
    """

    def __init__(self, title: str, total: int, enabled: bool = True, transient: bool = False):
        self.title, self.total, self.enabled, self.transient = str(title), int(total), bool(enabled), transient
        self.n_done = 0
        self.n_failed = 0
        self._progress = None
        self._bar = None

    def __enter__(self) -> "TaskProgress":
        if self.enabled:
            from rich.console import Console
            from rich.markup import escape
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)

            self._escape = escape
            self._progress = Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                                      MofNCompleteColumn(), TextColumn("{task.fields[failed]}"),
                                      TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[status]}"),
                                      console=Console(stderr=True), transient=self.transient)
            self._progress.start()
            self._bar = self._progress.add_task(escape(self.title), total=self.total, failed="", status="")
        return self

    def advance(self, n: int = 1, failed: bool = False) -> None:
        self.n_done += n
        self.n_failed += n if failed else 0
        if self._progress is not None:
            self._progress.update(self._bar, advance=n,
                                  failed=f"[red]{self.n_failed} failed" if self.n_failed else "")

    def status(self, text: str) -> None:
        if self._progress is not None:
            self._progress.update(self._bar, status=self._escape(str(text)))

    def print(self, markup: str) -> None:
        if self._progress is not None:
            self._progress.console.print(markup)

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


# ------------------------------------------------------------------ the runner
def run_tasks(tasks: Sequence, compute: Callable[[Any], Any], on_outcome: Callable[[Any, Any], None], *,
              payload: Callable[[Any], Any] | None = None, workers: int = 1, client=None,
              on_error: Callable[[Any, BaseException], Any] | None = None,
              progress: TaskProgress | None = None, weight: Callable[[Any], int] | None = None,
              is_failure: Callable[[Any], bool] = failed_status, label: Callable[[Any], str] | None = None,
              scheduler_timeout: float = SCHEDULER_TIMEOUT) -> None:
    """Compute every task and report each result to ``on_outcome(task, result)`` as it finishes.

    ``tasks``: a sequence (list, range, array) of the caller's task objects;
    ``payload(task)`` (default: the task itself) is what ``compute`` gets, and
    it (with ``compute`` and its result) must pickle for ``workers > 1`` or a
    Dask ``client``. ``on_outcome`` runs in this process, one call at a time;
    an error it raises stops the run. ``on_error(task, error)``: the result to
    report for a task whose computation raised (also Dask's ``KilledWorker``);
    None lets the error propagate. ``workers``: 1 computes in this process
    (so does a single task), more in that many spawned processes (at most one
    per task). ``client``: a ``distributed.Client`` instead of local
    processes. ``progress``: a :class:`TaskProgress` (entered) that advances by
    ``weight(task)`` (default 1) per result, counted failed where
    ``is_failure(result)`` (default: a dict with ``status == "failed"``);
    ``label(task)``: its status text while the task runs in this process.
    Raises :class:`WorkerDied` or :class:`SchedulerLost` (with the tasks not
    reported) when the run cannot go on.
    """
    workers = check_workers(workers)
    if client is not None and workers != 1:
        raise ValueError("give either workers (local processes) or a Dask client, not both")
    scheduler_timeout = check_scheduler_timeout(scheduler_timeout)
    payload = payload if payload is not None else _identity
    weight = weight if weight is not None else _one

    def report(task, result):
        on_outcome(task, result)
        if progress is not None:
            progress.advance(weight(task), failed=is_failure(result))

    if len(tasks) == 0:
        return
    if client is not None:
        _run_dask(tasks, compute, payload, report, on_error, client, scheduler_timeout, progress)
    elif workers == 1 or len(tasks) == 1:
        _run_here(tasks, compute, payload, report, on_error, progress, label)
    else:
        _run_pool(tasks, compute, payload, report, on_error, min(workers, len(tasks)), progress)
    if progress is not None:
        progress.status("")


def _identity(task):
    return task


def _one(task) -> int:
    return 1


def _run_here(tasks, compute, payload, report, on_error, progress, label) -> None:
    for task in tasks:
        if progress is not None and label is not None:
            progress.status(label(task))
        try:
            result = compute(payload(task))
        except Exception as error:  # noqa: BLE001 - on_error decides: a failed task, or the error propagates
            if on_error is None:
                raise
            result = on_error(task, error)
        report(task, result)


def _run_pool(tasks, compute, payload, report, on_error, workers: int, progress) -> None:
    """A pool of ``workers`` spawned processes, at most 2 × workers tasks queued at a time."""
    if progress is not None:
        progress.status(f"in {workers} processes")
    queue = iter(tasks)
    pool = process_pool(workers)
    in_flight: dict = {}
    try:
        for task in queue:
            in_flight[pool.submit(compute, payload(task))] = task
            if len(in_flight) >= 2 * workers:
                break
        while in_flight:
            finished, _ = concurrent.futures.wait(in_flight, return_when=concurrent.futures.FIRST_COMPLETED)
            broken = None
            for future in finished:
                task = in_flight.pop(future)
                try:
                    result = future.result()
                except concurrent.futures.process.BrokenProcessPool as error:
                    broken = broken or error
                    in_flight[future] = task  # not reported: unfinished
                    continue
                except Exception as error:  # noqa: BLE001 - raised by compute in the worker
                    if on_error is None:
                        raise
                    result = on_error(task, error)
                report(task, result)
            if broken is not None:  # the results that did arrive are reported above
                unfinished = [*in_flight.values(), *queue]
                raise WorkerDied(
                    f"a worker process died (out of memory, killed, or a script that starts workers without "
                    f"an `if __name__ == \"__main__\":` guard: processes are spawned and re-import the main "
                    f"module); {len(unfinished)} tasks were not computed", unfinished) from broken
            for task in queue:
                in_flight[pool.submit(compute, payload(task))] = task
                if len(in_flight) >= 2 * workers:
                    break
    except BaseException:  # an error, a dead worker or Ctrl-C: drop what is queued, do not wait for the rest
        for future in in_flight:
            future.cancel()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


# ------------------------------------------------------------------ Dask
def connect(scheduler: str):
    """A ``distributed.Client`` for the scheduler at ``scheduler``, or a ValueError saying how to start one."""
    if not isinstance(scheduler, str):
        raise TypeError(f"scheduler must be an address string such as 'tcp://10.0.0.1:8786', got {scheduler!r}")
    try:
        from distributed import Client
    except ImportError as error:  # pragma: no cover - distributed is a dependency
        raise ImportError("scheduler= needs Dask distributed: pip install 'dask[distributed]'") from error
    try:
        return Client(scheduler, timeout="30s")
    except (OSError, ValueError) as error:
        raise ValueError(f"cannot reach the Dask scheduler at {scheduler!r} ({error}); start one with "
                         "`dask scheduler` and workers with `dask worker ADDRESS`") from None


def close(client) -> None:
    """Close a Dask client; after a lost scheduler, without its reconnection tracebacks in the log."""
    if client.status == "running":
        client.close()
        return
    logger = logging.getLogger("distributed.client")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        client.close(timeout=5)
    except Exception:  # noqa: BLE001 - the scheduler is gone already; SchedulerLost says so
        pass
    finally:
        logger.setLevel(level)


def _run_dask(tasks, compute, payload, report, on_error, client, scheduler_timeout: float, progress) -> None:
    """Submit to the Dask cluster (at most 4 per worker thread queued); report each as it completes.

    Waits in slices of a few seconds; when the client has lost the scheduler
    for ``scheduler_timeout`` seconds, raises :class:`SchedulerLost`.
    """
    from distributed import wait

    n_threads = max(1, sum(client.nthreads().values()))
    if progress is not None:
        progress.status(f"on {n_threads} Dask threads")
    window = max(8, 4 * n_threads)
    queue = iter(tasks)
    in_flight: dict = {}

    def submit_more():
        for task in queue:
            in_flight[client.submit(compute, payload(task), pure=False)] = task
            if len(in_flight) >= window:
                break

    submit_more()
    lost_since = None
    while in_flight:
        try:
            finished = wait(list(in_flight), timeout=min(2.0, scheduler_timeout), return_when="FIRST_COMPLETED").done
        except Exception:  # noqa: BLE001 - a timeout (its class differs between versions): check the scheduler
            finished = set()
        if not finished:
            if client.status == "running":
                lost_since = None
                continue
            lost_since = time.monotonic() if lost_since is None else lost_since
            if time.monotonic() - lost_since >= scheduler_timeout:
                unfinished = [*in_flight.values(), *queue]
                raise SchedulerLost(f"lost the Dask scheduler at {client.scheduler.address} (no contact for "
                                    f"{scheduler_timeout:g} s; client status {client.status!r}); "
                                    f"{len(unfinished)} tasks were not computed", unfinished)
            continue
        lost_since = None
        for future in finished:
            task = in_flight.pop(future)
            try:
                result = future.result()
            except Exception as error:  # noqa: BLE001 - raised by compute, or e.g. KilledWorker
                if on_error is None:
                    raise
                result = on_error(task, error)
            report(task, result)
            future.release()
        submit_more()
