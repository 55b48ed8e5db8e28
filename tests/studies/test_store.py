"""The SQLite result store: layout, one transaction per task, and refusal of foreign files."""
import shutil
import sqlite3

import numpy as np
import pytest

from statmech.studies._store import APPLICATION_ID, SCHEMA_VERSION, ResultStore, StoreError
from statmech.studies._study import parse_study, task_id
from statmech.studies._sweep import run_sweep

STUDY = """\
[study]
name = "store-test"
[model]
kind = "ising-chain"
[method]
name = "transfer"
[grid]
L = [3, 5]
beta = [0.1, 0.7]
"""


@pytest.fixture
def study():
    return parse_study(STUDY, "store-test.toml")


@pytest.fixture
def store_path(tmp_path, study):
    path = tmp_path / "store.sqlite"
    ResultStore.create(path, study, study.tasks()).close()
    return path


def outcome(task, values, status="done"):
    return {"task_id": task, "status": status, "method": "transfer", "meta": None, "seconds": 0.01,
            "host": "h", "error": None if status == "done" else "ValueError: boom",
            "results": [{"quantity": q, "value": v, "stderr": None, "meta": None} for q, v in values]}


def test_layout_pragmas_and_tasks(store_path, study):
    connection = sqlite3.connect(store_path)
    assert connection.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("SELECT version FROM schema_version").fetchone()[0] == SCHEMA_VERSION
    connection.close()
    with ResultStore.open(store_path) as store:
        info = store.study_info()
        assert info["toml"] == STUDY and info["study_hash"] == study.study_hash
        assert store.counts() == {"pending": 4, "done": 0, "failed": 0}
        tasks = store.tasks()
    assert [t["coords"] for t in tasks] == [{"L": 3, "beta": 0.1, "seed": 0}, {"L": 3, "beta": 0.7, "seed": 0},
                                            {"L": 5, "beta": 0.1, "seed": 0}, {"L": 5, "beta": 0.7, "seed": 0}]
    # the task id is the hash of the task's config and seed: stable across runs
    assert [t["task_id"] for t in tasks] == [task_id(t["config"], t["seed"]) for t in tasks]
    assert len({t["task_id"] for t in tasks}) == 4


def test_task_ids_are_stable_and_sensitive():
    config = {"model": {"kind": "ising-chain", "L": 3}, "method": "transfer", "options": {}, "beta": 0.1}
    assert task_id(config, 0) == task_id(dict(reversed(list(config.items()))), 0)
    assert task_id(config, 0) != task_id(config, 1)
    assert task_id(config, 0) != task_id({**config, "beta": float(np.nextafter(0.1, 1.0))}, 0)  # one ulp


def test_record_is_one_transaction(store_path):
    with ResultStore.open(store_path, writable=True) as store:
        first, second = [t["task_id"] for t in store.tasks()][:2]
        assert store.record(outcome(first, [("log_z", 1.5), ("energy", -0.25)]))
        # a result set that violates the primary key (same quantity twice) is rolled back whole:
        # neither rows nor the status change survive
        with pytest.raises(sqlite3.IntegrityError):
            store.record(outcome(second, [("log_z", 2.0), ("log_z", 3.0)]))
        assert store.counts() == {"pending": 3, "done": 1, "failed": 0}
        assert [row[:3] for row in store.results()] == [(first, "energy", -0.25), (first, "log_z", 1.5)]
        # a task already done is never written twice
        assert not store.record(outcome(first, [("log_z", 9.0)]))
        assert len(store.results()) == 2
        # a failure carries its message and no rows
        assert store.record(outcome(second, [], status="failed"))
        failed = store.tasks("failed")
        assert [t["task_id"] for t in failed] == [second] and failed[0]["error"] == "ValueError: boom"


def test_values_round_trip_bit_for_bit(store_path):
    values = [("a", 0.1 + 0.2), ("b", -np.pi * 1e-300), ("c", 1e308), ("d", float("inf"))]
    with ResultStore.open(store_path, writable=True) as store:
        task = store.tasks()[0]["task_id"]
        store.record(outcome(task, values))
    with ResultStore.open(store_path) as store:
        stored = {row[1]: row[2] for row in store.results()}
    assert {k: float(v).hex() for k, v in stored.items()} == {k: float(v).hex() for k, v in values}
    # SQLite's two documented losses: -0.0 reads back as 0.0, NaN as NULL (None)
    with ResultStore.open(store_path, writable=True) as store:
        task = store.tasks()[1]["task_id"]
        store.record(outcome(task, [("zero", -0.0), ("nan", float("nan"))]))
        stored = {row[1]: row[2] for row in store.results() if row[0] == task}
    assert stored["zero"] == 0.0 and stored["nan"] is None


def test_read_only_store_refuses_writes(store_path):
    with ResultStore.open(store_path) as store:
        with pytest.raises(StoreError, match="read-only"):
            store.record(outcome(store.tasks()[0]["task_id"], []))


def test_create_refuses_an_existing_file(store_path, study):
    with pytest.raises(StoreError, match="already exists"):
        ResultStore.create(store_path, study, study.tasks())


def refused(path, match):
    """``path`` is refused by open() and by a resumed sweep, and stays byte for byte the same."""
    before = path.read_bytes()
    with pytest.raises(StoreError, match=match):
        ResultStore.open(path)
    with pytest.raises(StoreError, match=match):
        ResultStore.open(path, writable=True)
    study = path.parent / "study.toml"
    study.write_text(STUDY)
    with pytest.raises(StoreError, match=match):
        run_sweep(study, path, resume=True, workers=1, progress=False)
    assert path.read_bytes() == before


def test_random_bytes_are_refused(tmp_path):
    path = tmp_path / "random.sqlite"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    refused(path, "not an SQLite database")


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.sqlite"
    path.write_bytes(b"")
    refused(path, "empty file")


def test_foreign_sqlite_database_is_refused(tmp_path):
    path = tmp_path / "foreign.sqlite"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE tasks (id INTEGER PRIMARY KEY, title TEXT)")
    connection.execute("INSERT INTO tasks (title) VALUES ('buy milk')")
    connection.commit()
    connection.close()
    refused(path, "another application")


def test_newer_schema_is_refused(store_path):
    connection = sqlite3.connect(store_path)
    connection.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION + 1,))
    connection.commit()
    connection.execute("PRAGMA journal_mode = DELETE")
    connection.close()
    refused(store_path, "newer statmech")


def test_corrupt_store_is_refused(store_path, tmp_path):
    corrupt = tmp_path / "corrupt.sqlite"
    shutil.copy(store_path, corrupt)
    data = bytearray(corrupt.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    data[page_size + 8: 2 * page_size] = b"\xff" * (page_size - 8)  # garble the second page
    corrupt.write_bytes(bytes(data))
    refused(corrupt, "corrupt")


def test_missing_store(tmp_path):
    with pytest.raises(StoreError, match="no such result store"):
        ResultStore.open(tmp_path / "nothing.sqlite")


def test_a_full_disk_is_reported_in_one_line_and_loses_nothing(store_path):
    """SQLite's "database or disk is full" used to be buried under "cannot rollback - no transaction is active"."""
    with ResultStore.open(store_path, writable=True) as store:
        first, second = [t["task_id"] for t in store.tasks()[:2]]
        assert store.record(outcome(first, [("log_z", 1.5)]))
        pages = store._connection.execute("PRAGMA page_count").fetchone()[0]
        store._connection.execute(f"PRAGMA max_page_count = {pages}")  # the file may not grow: a full disk
        many = [(f"quantity_{k:04d}", float(k)) for k in range(2000)]
        with pytest.raises(StoreError) as caught:
            store.record(outcome(second, many))
    message = str(caught.value)
    assert "the disk is full" in message and "database or disk is full" in message and "resume" in message
    assert "cannot rollback" not in message and "\n" not in message
    with ResultStore.open(store_path) as store:
        assert store.counts() == {"pending": 3, "done": 1, "failed": 0}
        assert [row[:3] for row in store.results()] == [(first, "log_z", 1.5)]


def test_a_store_without_write_access_is_read_only_not_corrupt(store_path, monkeypatch):
    import statmech.studies._store as module

    real_access = module.os.access
    monkeypatch.setattr(module.os, "access", lambda path, mode: False if mode == module.os.W_OK
                        else real_access(path, mode))
    with pytest.raises(StoreError, match="read-only") as caught:
        ResultStore.open(store_path, writable=True)
    assert "corrupt" not in str(caught.value)
    with ResultStore.open(store_path) as store:  # reading still works
        assert store.counts()["pending"] == 4
