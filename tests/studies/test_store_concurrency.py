"""Concurrent writers: two sweeps started together on one store.

Each sweep runs in its own process. A file barrier releases both at the same
moment: at the entry of ``ResultStore.create`` (two sweeps creating one new
store) or at the start of ``run_sweep`` (two resumes of one store). Exactly
one may write; the other must be refused with a clear message, and the store
must hold one study's tasks, all of them, and pass SQLite's integrity check.
"""
import json
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from statmech.studies._store import ResultStore, StoreError, StoreLock, lock_path

STUDY = """\
[study]
name = "{name}"
[model]
kind = "edwards-anderson"
L = 5
couplings = "gaussian"
[method]
name = "transfer"
[grid]
beta = [{betas}]
seeds = [0, 1, 2, 3, 4, 5, 6, 7]
"""

RUNNER = textwrap.dedent("""\
    import json, pathlib, sys, time
    from statmech.studies import _store, _sweep

    original = _store.ResultStore.create.__func__
    barrier = None

    def wait():
        (barrier / sys.argv[1]).touch()
        deadline = time.monotonic() + 120
        while len(list(barrier.iterdir())) < 2:
            if time.monotonic() > deadline:
                sys.exit("the other process never reached the barrier")

    def create(cls, *args, **kwargs):
        wait()
        return original(cls, *args, **kwargs)

    _store.ResultStore.create = classmethod(create)
    for study, store, barrier, where, resume in json.loads(sys.argv[2]):
        barrier = pathlib.Path(barrier)
        if where == "start":
            wait()  # else at the entry of ResultStore.create
        try:
            summary = _sweep.run_sweep(study, store, workers=1, progress=False, resume=resume)
        except _store.StoreError as error:
            print(json.dumps(["refused", str(error)]), flush=True)
        else:
            print(json.dumps(["ok", summary.n_done, summary.n_skipped]), flush=True)
""")


def write_study(tmp_path, name, betas):
    path = tmp_path / f"{name}.toml"
    path.write_text(STUDY.format(name=name, betas=", ".join(map(str, betas))))
    return path


def stored(store):
    connection = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        name = connection.execute("SELECT name FROM study").fetchone()[0]
        tasks = connection.execute("SELECT status, count(*) FROM tasks GROUP BY status").fetchall()
        return name, dict(tasks)
    finally:
        connection.close()


def test_two_sweeps_started_together_on_one_store_one_is_refused(tmp_path):
    """Two processes: (1) create one new store from two different studies at the same moment,
    (2) resume one store of pending tasks at the same moment. Before the store lock, both
    "succeeded" each time: results were lost or the store mixed two studies, and both resumes
    computed every task."""
    alpha = write_study(tmp_path, "alpha", [0.2, 0.4, 0.6])   # 24 tasks
    beta = write_study(tmp_path, "beta", [0.3, 0.5])          # 16 tasks
    gamma = write_study(tmp_path, "gamma", [0.2, 0.4, 0.6, 0.8, 1.0])  # 40 tasks
    created, resumed = tmp_path / "created.sqlite", tmp_path / "resumed.sqlite"
    ResultStore.create(resumed, _load(gamma), _load(gamma).tasks()).close()  # every task pending
    barriers = [tmp_path / "b1", tmp_path / "b2"]
    for folder in barriers:
        folder.mkdir()
    processes = []
    for k, study in enumerate((alpha, beta)):
        jobs = [(str(study), str(created), str(barriers[0]), "create", False),
                (str(gamma), str(resumed), str(barriers[1]), "start", True)]
        processes.append(subprocess.Popen([sys.executable, "-c", RUNNER, str(k), json.dumps(jobs)],
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        outputs.append([json.loads(line) for line in out.splitlines()])

    # (1) creation: one store, one study, all of its tasks done; the other sweep refused in one line
    first = [out[0] for out in outputs]
    assert sorted(result[0] for result in first) == ["ok", "refused"], first
    winner = [k for k, result in enumerate(first) if result[0] == "ok"][0]
    message = first[1 - winner][1]
    assert ("in use by another sweep" in message or "already exists" in message) and "\n" not in message
    assert stored(created) == (("alpha", {"done": 24}), ("beta", {"done": 16}))[winner]
    assert first[winner][1:] == [(24, 16)[winner], 0]

    # (2) resume: one sweep computed the 40 tasks; the other was refused while it wrote or, when the
    # scheduler let it open the store only after the first had finished, found every task done
    second = sorted((out[1] for out in outputs), key=lambda result: (result[0], -result[1] if result[0] == "ok" else 0))
    assert second[0] == ["ok", 40, 0], second
    assert (second[1][0] == "refused" and "in use by another sweep (pid" in second[1][1]) \
        or second[1] == ["ok", 0, 40], second
    assert stored(resumed) == ("gamma", {"done": 40})
    assert not lock_path(created).exists() and not lock_path(resumed).exists()  # released


def _load(path):
    from statmech.studies._study import load_study

    return load_study(path)


def test_the_lock_names_its_holder_and_is_free_after_close(tmp_path):
    study = write_study(tmp_path, "alpha", [0.2])
    store = tmp_path / "s.sqlite"
    with ResultStore.create(store, _load(study), _load(study).tasks()) as writer:
        assert writer.writable and lock_path(store).exists()
        with pytest.raises(StoreError, match=r"in use by another sweep \(pid \d+ on .*, since "):
            ResultStore.open(store, writable=True)
        with ResultStore.open(store) as reader:  # readers take no lock
            assert reader.counts()["pending"] == 8
    with ResultStore.open(store, writable=True):  # free again
        pass
    assert not lock_path(store).exists()


def test_a_lock_left_by_a_killed_writer_is_free(tmp_path):
    """kill -9 leaves the lock file behind but the kernel drops the lock: the next writer proceeds."""
    study = write_study(tmp_path, "alpha", [0.2])
    store = tmp_path / "s.sqlite"
    ResultStore.create(store, _load(study), _load(study).tasks()).close()
    # a writer holding the lock as StoreLock does (flock on STORE.lock), then killed
    code = (f"import fcntl, os, signal\nfd = os.open({str(lock_path(store))!r}, os.O_RDWR | os.O_CREAT)\n"
            f"fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\nos.kill(os.getpid(), signal.SIGKILL)\n")
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == -9
    assert lock_path(store).exists()
    lock = StoreLock.acquire(store)
    lock.release()


def test_a_tour_store_in_use_is_not_deleted_by_a_second_tour(tmp_path):
    """run_tour replaces a previous tour's store only when no process holds its writer's lock."""
    from statmech.tour._run import TourStudy, _remove_previous_tour

    store = tmp_path / "tour.sqlite"
    study = TourStudy("quick")
    ResultStore.create(store, study, study.tasks()).close()
    holder = StoreLock.acquire(store)
    try:
        with pytest.raises(StoreError, match="in use"):
            _remove_previous_tour(store)
        assert store.exists()
    finally:
        holder.release()
    _remove_previous_tour(store)
    assert not store.exists()
