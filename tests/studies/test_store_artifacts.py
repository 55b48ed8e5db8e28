"""Artifacts in the result store: named arrays and JSON documents, written with their task in one transaction."""
import sqlite3

import numpy as np
import pytest

from statmech.studies._store import ResultStore
from statmech.studies._study import parse_study

STUDY = """\
[study]
name = "artifact-test"
[model]
kind = "ising-chain"
[method]
name = "transfer"
[grid]
L = [3, 5]
beta = [0.1]
"""


@pytest.fixture
def store_and_tasks(tmp_path):
    study = parse_study(STUDY, "artifact-test.toml")
    path = tmp_path / "store.sqlite"
    ResultStore.create(path, study, study.tasks()).close()
    with ResultStore.open(path) as store:
        tasks = [t["task_id"] for t in store.tasks()]
    return path, tasks


def outcome(task, status="done", artifacts=None):
    return {"task_id": task, "status": status, "method": "transfer", "meta": None, "seconds": 0.01, "host": "h",
            "error": None if status == "done" else "ValueError: boom",
            "results": [{"quantity": "log_z", "value": 1.5, "stderr": None, "meta": None}] if status == "done" else [],
            "artifacts": artifacts}


def test_arrays_and_documents_round_trip_bit_for_bit(store_and_tasks):
    path, (task, _) = store_and_tasks
    floats = np.array([[1.5, np.nan, -0.0], [np.inf, -np.inf, 1e-300]])
    arrays = {
        "floats": floats,
        "float32": np.array([1.25, -3.5], dtype=np.float32),
        "spins": np.array([[1, -1], [-1, 1]], dtype=np.int8),
        "sizes": np.array([4, 8, 1 << 40], dtype=np.int64),
        "flags": np.array([True, False]),
        "big_endian": np.array([1.0, 2.0], dtype=">f8"),
        "scalar": np.array(3.0),
        "empty": np.zeros((0, 3)),
        "strided": np.arange(12.0).reshape(3, 4)[:, ::2],
    }
    documents = {"note": {"reason": "ß ∞", "list": [1, 2.5, None]}, "names": ["a", "b"]}
    with ResultStore.open(path, writable=True) as store:
        assert store.record(outcome(task, artifacts={**arrays, **documents}))
    with ResultStore.open(path) as store:
        back = store.artifacts(task)
    assert sorted(back) == sorted([*arrays, *documents])
    for name, array in arrays.items():
        assert back[name].shape == array.shape and back[name].dtype == array.dtype.newbyteorder("=")
        assert back[name].tobytes() == np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("=")).tobytes()
        assert not back[name].flags.writeable
    assert np.signbit(back["floats"][0, 2])  # -0.0 survives (unlike a REAL column)
    assert back["note"] == documents["note"] and back["names"] == ["a", "b"]


def test_artifacts_are_per_task_and_empty_by_default(store_and_tasks):
    path, (first, second) = store_and_tasks
    with ResultStore.open(path, writable=True) as store:
        store.record(outcome(first, artifacts={"x": np.ones(2)}))
        store.record(outcome(second))
        assert list(store.artifacts(first)) == ["x"]
        assert store.artifacts(second) == {}
        # a task already done is left as it is, artifacts included
        assert not store.record(outcome(first, artifacts={"y": np.zeros(1)}))
        assert list(store.artifacts(first)) == ["x"]


@pytest.mark.parametrize("bad, error, match", [
    (np.array(["a", "b"]), TypeError, "arrays of booleans, integers or floats"),
    (np.array([1 + 2j]), TypeError, "arrays of booleans, integers or floats"),
    ({1, 2}, TypeError, "not plain JSON"),
    ({"x": float("nan")}, TypeError, "not plain JSON"),
])
def test_unstorable_artifacts_are_refused_before_anything_is_written(store_and_tasks, bad, error, match):
    path, (task, _) = store_and_tasks
    with ResultStore.open(path, writable=True) as store:
        with pytest.raises(error, match=match):
            store.record(outcome(task, artifacts={"good": np.ones(3), "bad": bad}))
        assert store.counts() == {"pending": 2, "done": 0, "failed": 0}
        assert store.results() == [] and store.artifacts(task) == {}


def test_a_failed_task_has_no_artifacts(store_and_tasks):
    path, (task, _) = store_and_tasks
    with ResultStore.open(path, writable=True) as store:
        with pytest.raises(ValueError, match="only a task that is done has artifacts"):
            store.record(outcome(task, status="failed", artifacts={"x": np.ones(1)}))
        assert store.counts()["pending"] == 2


def test_results_artifacts_and_status_are_one_transaction(store_and_tasks):
    """An artifact insert that fails inside the transaction leaves the task pending, with no result rows."""
    path, (task, _) = store_and_tasks
    connection = sqlite3.connect(path)
    connection.execute("CREATE TRIGGER refuse BEFORE INSERT ON artifacts WHEN NEW.name = 'poison' "
                       "BEGIN SELECT RAISE(ABORT, 'disk full, say'); END")
    connection.commit()
    connection.close()
    with ResultStore.open(path, writable=True) as store:
        with pytest.raises(sqlite3.DatabaseError, match="disk full"):
            store.record(outcome(task, artifacts={"fine": np.ones(2), "poison": np.ones(2)}))
        assert store.counts() == {"pending": 2, "done": 0, "failed": 0}
        assert store.results() == [] and store.artifacts(task) == {}
        assert store.record(outcome(task, artifacts={"fine": np.ones(2)}))  # and the store still works
        assert list(store.artifacts(task)) == ["fine"]


def test_a_store_made_before_the_artifacts_table(store_and_tasks):
    path, (task, _) = store_and_tasks
    connection = sqlite3.connect(path)
    connection.execute("DROP TABLE artifacts")
    connection.commit()
    connection.close()
    with ResultStore.open(path) as store:  # read-only: reads as no artifacts
        assert store.artifacts(task) == {}
    with ResultStore.open(path, writable=True) as store:  # writable: the table is added
        store.record(outcome(task, artifacts={"x": np.arange(3)}))
        assert store.artifacts(task)["x"].tolist() == [0, 1, 2]
