"""The result store: one embedded SQLite file per study.

Layout (schema version :data:`SCHEMA_VERSION`; ``PRAGMA application_id`` is
:data:`APPLICATION_ID`, ASCII "stmh", so a foreign file is recognised)::

    schema_version(version, statmech_version, created)
    study(id = 1, name, toml, study_hash, spec, created)     -- the study file, verbatim and parsed
    tasks(task_id PRIMARY KEY, position, config, seed, coords, status, error,
          method, meta, seconds, host, finished)             -- status: pending | done | failed
    results(task_id, quantity, value, stderr, meta, PRIMARY KEY (task_id, quantity))
    artifacts(task_id, name, kind, dtype, shape, data, PRIMARY KEY (task_id, name))

``config``, ``coords``, ``spec`` and ``meta`` are JSON. ``stderr`` is NULL for
exact values; ``value`` is NULL only for NaN (SQLite stores NaN as NULL).

``artifacts`` holds a task's non-scalar results (what the tour's figures are
drawn from): ``kind = 'array'`` is a NumPy array of booleans, integers or
floats stored as its little-endian bytes with ``dtype`` (NumPy's ``dtype.str``,
e.g. ``'<f8'``) and ``shape`` (JSON), so it round-trips bit for bit, NaN
included; ``kind = 'json'`` is a JSON document in ``data`` (UTF-8). The table
is additive (schema version 1 still): a store made before it existed gets it
when opened writable, and reads as having no artifacts when opened read-only.

Durability: the file is in WAL mode, and each finished task is written by
:meth:`ResultStore.record` in ONE transaction (its result rows and its status
together), so a crash at any moment leaves every task either wholly done or
still pending — never a partial task. If the sweep's process dies (``kill -9``,
out of memory, Ctrl-C), every committed task survives and resuming recomputes
only the tasks that were in flight. ``synchronous = NORMAL`` (WAL's
recommended setting: no fsync per commit, 0.2 ms instead of ~5 ms per task)
means that after a power failure or an operating-system crash the last tasks
committed before it may be lost too; they are then pending and a resume
recomputes them. The file is never corrupted either way. Only the sweep's
client process writes; workers return plain dicts. One sweep at a time per store.

A store is created atomically: written to a temporary file next to the
target, then renamed into place once complete.
"""
from __future__ import annotations

import datetime
import json
import os
import pathlib
import sqlite3
from typing import Any, Iterable

APPLICATION_ID = 0x73746D68  # "stmh"
SCHEMA_VERSION = 1
SQLITE_HEADER = b"SQLite format 3\x00"

_SCHEMA = """
CREATE TABLE schema_version (
    version INTEGER NOT NULL,
    statmech_version TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE study (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL,
    toml TEXT NOT NULL,
    study_hash TEXT NOT NULL,
    spec TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE TABLE tasks (
    task_id TEXT PRIMARY KEY,
    position INTEGER NOT NULL UNIQUE,
    config TEXT NOT NULL,
    seed INTEGER NOT NULL,
    coords TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
    error TEXT,
    method TEXT,
    meta TEXT,
    seconds REAL,
    host TEXT,
    finished TEXT
);
CREATE TABLE results (
    task_id TEXT NOT NULL REFERENCES tasks (task_id),
    quantity TEXT NOT NULL,
    value REAL,
    stderr REAL,
    meta TEXT,
    PRIMARY KEY (task_id, quantity)
) WITHOUT ROWID;
CREATE INDEX tasks_status ON tasks (status);
CREATE TABLE artifacts (
    task_id TEXT NOT NULL REFERENCES tasks (task_id),
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('array', 'json')),
    dtype TEXT,
    shape TEXT,
    data BLOB NOT NULL,
    PRIMARY KEY (task_id, name)
) WITHOUT ROWID;
"""

_ARTIFACTS_TABLE = _SCHEMA[_SCHEMA.index("CREATE TABLE artifacts"):].strip().rstrip(";").replace(
    "CREATE TABLE artifacts", "CREATE TABLE IF NOT EXISTS artifacts", 1)
ARTIFACT_DTYPE_KINDS = "biuf"
"""NumPy dtype kinds an array artifact may have: booleans, signed and unsigned integers, floats."""


class StoreError(ValueError):
    """The store file cannot be used: missing, foreign, corrupt, newer, or from another study."""


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _statmech_version() -> str:
    try:
        from importlib.metadata import version

        return version("statmech")
    except Exception:  # noqa: BLE001 - running from a source tree
        return "unknown"


def check_store_file(path) -> pathlib.Path:
    """Raise :class:`StoreError` unless ``path`` starts like an SQLite database.

    Reads the 16-byte header only; SQLite-level checks happen in :meth:`ResultStore.open`.
    """
    path = pathlib.Path(path)
    if not path.exists():
        raise StoreError(f"{path}: no such result store")
    if not path.is_file():
        raise StoreError(f"{path}: not a file; give the path of a statmech result store (.sqlite)")
    with open(path, "rb") as handle:
        header = handle.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        what = "an empty file" if not header else "not an SQLite database"
        raise StoreError(f"{path}: {what}, so not a statmech result store; "
                         "give the .sqlite file written by `statmech sweep`")
    return path


class ResultStore:
    """An open result store. Make one with :meth:`create` or :meth:`open`; close it (or use ``with``)."""

    def __init__(self, path: pathlib.Path, connection: sqlite3.Connection, writable: bool):
        self.path = path
        self._connection = connection
        self.writable = writable

    # ---------------------------------------------------------------- opening
    @classmethod
    def create(cls, path, study, tasks: Iterable) -> "ResultStore":
        """Create a new store at ``path`` for ``study`` with every task pending.

        Refuses an existing file. The file appears only once complete
        (written under a temporary name, then renamed).
        """
        path = pathlib.Path(path)
        if path.exists():
            raise StoreError(f"{path}: a file already exists there; resume it or choose another store path")
        if not path.parent.is_dir():
            raise StoreError(f"{path}: the folder {path.parent} does not exist")
        temporary = path.with_name(f".{path.name}.{os.getpid()}.creating")
        for leftover in (temporary, *_sidecars(temporary)):
            leftover.unlink(missing_ok=True)
        connection = sqlite3.connect(temporary, isolation_level=None)
        try:
            connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            connection.execute("PRAGMA journal_mode = DELETE")
            connection.execute("BEGIN")
            for statement in _SCHEMA.strip().split(";"):
                if statement.strip():
                    connection.execute(statement)
            created = _now()
            connection.execute("INSERT INTO schema_version VALUES (?, ?, ?)",
                               (SCHEMA_VERSION, _statmech_version(), created))
            connection.execute("INSERT INTO study VALUES (1, ?, ?, ?, ?, ?)",
                               (study.name, study.text, study.study_hash, _dumps(study.spec()), created))
            connection.executemany(
                "INSERT INTO tasks (task_id, position, config, seed, coords) VALUES (?, ?, ?, ?, ?)",
                ((t.task_id, t.position, _dumps(t.config), t.seed, _dumps(t.coords)) for t in tasks))
            connection.execute("COMMIT")
            connection.execute("PRAGMA journal_mode = WAL")  # persistent: stored in the file header
        except BaseException:
            connection.close()
            temporary.unlink(missing_ok=True)
            raise
        connection.close()
        os.replace(temporary, path)
        return cls.open(path, writable=True)

    @classmethod
    def open(cls, path, writable: bool = False) -> "ResultStore":
        """Open an existing store, refusing foreign, corrupt or newer files with :class:`StoreError`.

        ``writable=False`` opens it read-only (safe while a sweep is writing it).
        """
        path = check_store_file(path)
        uri = f"{path.resolve().as_uri()}?mode={'rw' if writable else 'ro'}"
        try:
            connection = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=30.0)
        except sqlite3.Error as error:
            raise StoreError(f"{path}: cannot open the result store: {error}") from None
        try:
            _check_identity(path, connection)
            if writable:
                connection.execute("PRAGMA journal_mode = WAL")
                connection.execute("PRAGMA synchronous = NORMAL")
                connection.execute("PRAGMA foreign_keys = ON")
                connection.execute(_ARTIFACTS_TABLE)  # stores made before the table existed
        except sqlite3.DatabaseError as error:
            connection.close()
            raise StoreError(f"{path}: corrupt or not a statmech result store ({error})") from None
        except BaseException:
            connection.close()
            raise
        return cls(path, connection, writable)

    def close(self) -> None:
        self._connection.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---------------------------------------------------------------- reading
    def study_info(self) -> dict:
        """name, toml, study_hash, spec (dict), created, schema version and statmech version."""
        name, toml, digest, spec, created = self._connection.execute(
            "SELECT name, toml, study_hash, spec, created FROM study WHERE id = 1").fetchone()
        version, statmech_version = self._connection.execute(
            "SELECT version, statmech_version FROM schema_version").fetchone()
        return {"name": name, "toml": toml, "study_hash": digest, "spec": json.loads(spec),
                "created": created, "schema_version": version, "statmech_version": statmech_version}

    def counts(self) -> dict[str, int]:
        """Number of tasks by status: {"pending": .., "done": .., "failed": ..}."""
        counts = {"pending": 0, "done": 0, "failed": 0}
        for status, count in self._connection.execute("SELECT status, count(*) FROM tasks GROUP BY status"):
            counts[status] = count
        return counts

    def tasks(self, status: str | None = None) -> list[dict]:
        """Tasks in grid order (optionally only those with ``status``), JSON columns decoded."""
        query = ("SELECT task_id, position, config, seed, coords, status, error, method, meta, seconds, "
                 "host, finished FROM tasks")
        args: tuple = ()
        if status is not None:
            query += " WHERE status = ?"
            args = (status,)
        rows = []
        for row in self._connection.execute(query + " ORDER BY position", args):
            task_id, position, config, seed, coords, status_, error, method, meta, seconds, host, finished = row
            rows.append({"task_id": task_id, "position": position, "config": json.loads(config),
                         "seed": seed, "coords": json.loads(coords), "status": status_, "error": error,
                         "method": method, "meta": None if meta is None else json.loads(meta),
                         "seconds": seconds, "host": host, "finished": finished})
        return rows

    def results(self) -> list[tuple]:
        """All result rows (task_id, quantity, value, stderr, meta JSON), ordered by task then quantity."""
        return self._connection.execute(
            "SELECT r.task_id, r.quantity, r.value, r.stderr, r.meta FROM results r "
            "JOIN tasks t ON t.task_id = r.task_id ORDER BY t.position, r.quantity").fetchall()

    def artifacts(self, task_id: str) -> dict:
        """The artifacts of one task, by name (sorted): NumPy arrays (read-only) and JSON values.

        Empty for a task without artifacts, and for a store made before the
        artifacts table existed.
        """
        if not self._has_artifacts_table():
            return {}
        rows = self._connection.execute(
            "SELECT name, kind, dtype, shape, data FROM artifacts WHERE task_id = ? ORDER BY name", (task_id,))
        return {name: _decode_artifact(kind, dtype, shape, data) for name, kind, dtype, shape, data in rows}

    def _has_artifacts_table(self) -> bool:
        return self._connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'artifacts'").fetchone() is not None

    # ---------------------------------------------------------------- writing
    def record(self, outcome: dict) -> bool:
        """Store one finished task in ONE transaction: its results, artifacts and status together.

        ``outcome`` is what a worker returns: task_id, status ("done" or
        "failed"), results (list of {quantity, value, stderr, meta}), error,
        method, meta, seconds, host, and optionally artifacts (a mapping
        name -> NumPy array of bools/ints/floats, or a JSON-able value; see
        the module docstring). A task already done is left as it is (returns
        False).
        """
        if not self.writable:
            raise StoreError(f"{self.path}: opened read-only")
        status = outcome["status"]
        if status not in ("done", "failed"):
            raise ValueError(f"a finished task has status 'done' or 'failed', got {status!r}")
        artifacts = [_encode_artifact(name, value) for name, value in (outcome.get("artifacts") or {}).items()]
        if artifacts and status != "done":
            raise ValueError("only a task that is done has artifacts; a failed task keeps its error message")
        connection = self._connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            updated = connection.execute(
                "UPDATE tasks SET status = ?, error = ?, method = ?, meta = ?, seconds = ?, host = ?, "
                "finished = ? WHERE task_id = ? AND status != 'done'",
                (status, outcome.get("error"), outcome.get("method"), _dumps_or_none(outcome.get("meta")),
                 outcome.get("seconds"), outcome.get("host"), _now(), outcome["task_id"])).rowcount
            if updated == 1:
                connection.execute("DELETE FROM results WHERE task_id = ?", (outcome["task_id"],))
                connection.execute("DELETE FROM artifacts WHERE task_id = ?", (outcome["task_id"],))
                if status == "done":
                    connection.executemany(
                        "INSERT INTO results (task_id, quantity, value, stderr, meta) VALUES (?, ?, ?, ?, ?)",
                        ((outcome["task_id"], row["quantity"], row["value"], row["stderr"],
                          _dumps_or_none(row.get("meta"))) for row in outcome.get("results", ())))
                    connection.executemany(
                        "INSERT INTO artifacts (task_id, name, kind, dtype, shape, data) VALUES (?, ?, ?, ?, ?, ?)",
                        ((outcome["task_id"], *row) for row in artifacts))
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        return updated == 1


def _check_identity(path, connection) -> None:
    application_id = connection.execute("PRAGMA application_id").fetchone()[0]
    if application_id != APPLICATION_ID:
        raise StoreError(f"{path}: an SQLite database of another application (application_id "
                         f"{application_id:#010x}; a statmech store has {APPLICATION_ID:#010x}); "
                         "give the .sqlite file written by `statmech sweep`")
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "schema_version" not in tables:
        raise StoreError(f"{path}: corrupt statmech store (no schema_version table)")
    row = connection.execute("SELECT version FROM schema_version").fetchone()
    if row is None:
        raise StoreError(f"{path}: corrupt statmech store (empty schema_version table)")
    version = row[0]
    if not isinstance(version, int) or version < 1:
        raise StoreError(f"{path}: corrupt statmech store (schema version {version!r})")
    if version > SCHEMA_VERSION:
        raise StoreError(f"{path}: written by a newer statmech (store schema {version}; this version "
                         f"reads schema {SCHEMA_VERSION}); upgrade statmech to read it")
    if version < SCHEMA_VERSION:
        raise StoreError(f"{path}: store schema {version} is older than {SCHEMA_VERSION} and has no "
                         "migration; re-run the sweep into a new store")
    missing = {"study", "tasks", "results"} - tables
    if missing:
        raise StoreError(f"{path}: corrupt statmech store (missing tables: {', '.join(sorted(missing))})")
    check = connection.execute("PRAGMA quick_check").fetchone()[0]
    if check != "ok":
        raise StoreError(f"{path}: corrupt statmech store (SQLite quick_check: {check})")


def _encode_artifact(name, value) -> tuple:
    """(name, kind, dtype, shape, data) of one artifact; TypeError/ValueError says what is storable."""
    import numpy as np

    if not isinstance(name, str) or not name:
        raise TypeError(f"an artifact name must be a non-empty string, got {name!r}")
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in ARTIFACT_DTYPE_KINDS:
            raise TypeError(f"artifact {name!r}: arrays of booleans, integers or floats only, got dtype "
                            f"{value.dtype}; store text or mixed data as JSON (lists and dicts) instead")
        little = np.array(value, dtype=value.dtype.newbyteorder("<"), order="C")  # 0-d stays 0-d
        return name, "array", little.dtype.str, _dumps(list(little.shape)), little.tobytes()
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise TypeError(f"artifact {name!r}: not a NumPy array and not plain JSON ({error}); convert it "
                        "to an array, or to lists/dicts of finite numbers and strings") from None
    return name, "json", None, None, text.encode("utf-8")


def _decode_artifact(kind: str, dtype, shape, data):
    if kind == "json":
        return json.loads(bytes(data).decode("utf-8"))
    import numpy as np

    array = np.frombuffer(bytes(data), dtype=np.dtype(dtype)).reshape(json.loads(shape))
    return array.astype(array.dtype.newbyteorder("="), copy=False)


def _sidecars(path: pathlib.Path) -> tuple[pathlib.Path, ...]:
    return tuple(path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal"))


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _dumps_or_none(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, separators=(",", ":"))
