"""The one task runner shared by sweeps, quenched averages and the tour (statmech.studies._runner)."""
import functools
import math
import operator
import os

import pytest

from statmech.studies._runner import TaskProgress, WorkerDied, failed_status, one_line, run_tasks


def _outcome(value: float) -> dict:
    return {"status": "failed" if value < 0 else "done", "value": value}


def test_in_process_reports_every_task_in_order_and_counts_failures():
    reported = []
    with TaskProgress("t", 5, enabled=False) as bar:
        run_tasks([3, -1, 4, -1, 5], _outcome, lambda task, result: reported.append((task, result)), progress=bar)
    assert [task for task, _ in reported] == [3, -1, 4, -1, 5]
    assert [result["value"] for _, result in reported] == [3, -1, 4, -1, 5]
    assert (bar.n_done, bar.n_failed) == (5, 2)


def test_payload_weight_and_label():
    seen, labels = [], []

    class Recording(TaskProgress):
        def status(self, text):
            labels.append(text)

    with Recording("t", 10, enabled=False) as bar:
        run_tasks([(0, 4), (4, 10)], sum, lambda task, result: seen.append(result), payload=lambda t: range(*t),
                  progress=bar, weight=lambda t: t[1] - t[0], label=lambda t: f"rows {t[0]}-{t[1]}")
    assert seen == [sum(range(0, 4)), sum(range(4, 10))]
    assert bar.n_done == 10 and bar.n_failed == 0
    assert labels == ["rows 0-4", "rows 4-10", ""]  # cleared when the run ends


def test_a_raising_task_is_passed_to_on_error_or_propagates():
    def compute(x):
        if x == 2:
            raise ArithmeticError("two")
        return x

    reported = []
    run_tasks([1, 2, 3], compute, lambda t, r: reported.append(r),
              on_error=lambda task, error: {"status": "failed", "error": one_line(error), "task": task})
    assert reported[0] == 1 and reported[2] == 3
    assert reported[1] == {"status": "failed", "error": "ArithmeticError: two", "task": 2}
    assert failed_status(reported[1]) and not failed_status(reported[0])

    reported.clear()
    with pytest.raises(ArithmeticError, match="two"):
        run_tasks([1, 2, 3], compute, lambda t, r: reported.append(r))
    assert reported == [1]  # what finished before the error was reported


def test_bad_arguments():
    with pytest.raises(ValueError, match="workers must be a positive int"):
        run_tasks([1], abs, print, workers=0)
    with pytest.raises(ValueError, match="scheduler_timeout must be a finite number"):
        run_tasks([1], abs, print, scheduler_timeout=math.inf)
    with pytest.raises(ValueError, match="either workers .* or a Dask client"):
        run_tasks([1], abs, print, workers=2, client=object())
    run_tasks([], abs, print, workers=3)  # nothing to do: no pool started


def test_the_progress_bar_shows_title_counts_and_failures(capsys, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")  # render as on a terminal
    with TaskProgress("a [red]title", 4) as bar:
        run_tasks([1, -2, 3, -4], _outcome, lambda t, r: None, progress=bar)
        bar.status("[bold]status")
    err = capsys.readouterr().err
    assert "a [red]title" in err and "4/4" in err and "2 failed" in err and "[bold]status" in err
    with TaskProgress("hidden", 2, enabled=False) as bar:
        bar.advance(2, failed=True)
        bar.print("nothing")
    assert capsys.readouterr().err == "" and (bar.n_done, bar.n_failed) == (2, 2)


# ------------------------------------------------------------------ spawned processes
def test_a_pool_reports_as_tasks_finish_with_a_bounded_queue_and_survives_a_dead_worker():
    """Two spawned workers computing square roots; the last task kills its worker (os._exit).

    Never more than 2 × workers tasks are submitted ahead of the results; every
    result reported is right; the death raises WorkerDied naming exactly the
    tasks not reported (the killer among them), and the 8 results reported
    before the killer was submitted are kept.
    """
    tasks = list(range(12))
    submitted, reported, ahead = [], {}, []

    def payload(task):
        submitted.append(task)
        ahead.append(len(submitted) - len(reported))
        return functools.partial(os._exit, 3) if task == 11 else functools.partial(math.sqrt, task)

    with pytest.raises(WorkerDied, match="a worker process died") as caught:
        run_tasks(tasks, operator.call, lambda task, result: reported.__setitem__(task, result), payload=payload,
                  workers=2)
    assert max(ahead) <= 4 and submitted == tasks
    assert all(result == math.sqrt(task) for task, result in reported.items())
    unfinished = set(caught.value.unfinished)
    assert 11 in unfinished and not unfinished & set(reported)
    assert unfinished | set(reported) == set(tasks)
    assert len(reported) >= 8
