"""The result store: one embedded SQLite file per study.

Tables ``schema_version``, ``study``, ``tasks``, ``results`` and
``artifacts`` (schema :data:`SCHEMA_VERSION`, ``PRAGMA application_id`` =
:data:`APPLICATION_ID`). WAL mode, one transaction per finished task, one
writer at a time (an ``flock`` on ``STORE.lock``), atomic creation. Layout,
durability and locking: docs/studies.md, "The result store".
"""
from __future__ import annotations

import datetime
import errno
import json
import os
import pathlib
import socket
import sqlite3
from typing import Any, Iterable

try:
    import fcntl
except ImportError:  # pragma: no cover - not a POSIX system: no advisory locks
    fcntl = None

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
    """The store file cannot be used: missing, foreign, corrupt, newer, from another study, in use, read-only, or the disk is full."""


def lock_path(store_path) -> pathlib.Path:
    """The lock file of the store at ``store_path``: ``STORE.lock`` next to it."""
    store_path = pathlib.Path(store_path)
    return store_path.with_name(store_path.name + ".lock")


class StoreLock:
    """The exclusive writer's lock of one store: ``fcntl.flock`` on ``STORE.lock``.

    :meth:`acquire` never waits: when another process holds the lock it raises
    :class:`StoreError` naming that process (pid, host, since when). The lock
    file records its holder; it is removed on :meth:`release`, and a lock
    left by a killed process is free again (the kernel drops it with the process).
    """

    def __init__(self, store_path: pathlib.Path, fd: int | None):
        self.store_path = pathlib.Path(store_path)
        self.path = lock_path(store_path)
        self._fd = fd

    @classmethod
    def acquire(cls, store_path) -> "StoreLock":
        store_path = pathlib.Path(store_path)
        path = lock_path(store_path)
        if fcntl is None:  # pragma: no cover - no advisory locks on this system
            return cls(store_path, None)
        while True:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as error:
                raise StoreError(f"{store_path}: cannot write the lock file {path.name} in {path.parent} "
                                 f"({_os_reason(error)})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                holder = _read_holder(fd)
                os.close(fd)
                if error.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise StoreError(f"{store_path}: cannot lock {path.name} ({_os_reason(error)})") from None
                raise StoreError(f"{store_path}: in use by another sweep ({holder}); one writer at a time: "
                                 "wait for it to finish (then --resume to add anything left), or stop it") from None
            # the previous holder may have removed the file between our open and our lock: retry on the new one
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        holder = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": _now()})
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder.encode(), 0)
        return cls(store_path, fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)  # still locked: nobody else holds this inode
        except OSError:
            pass
        os.close(self._fd)
        self._fd = None


def _read_holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
        return f"pid {info['pid']} on {info['host']}, since {info['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


def _os_reason(error: OSError) -> str:
    """One line for an OSError: the system's words ("No space left on device", "Read-only file system")."""
    return error.strerror or str(error)


def _sqlite_reason(path, error: sqlite3.Error) -> str | None:
    """A clear one-line message for a full disk or a read-only file, None for other SQLite errors."""
    text = str(error).lower()
    if "database or disk is full" in text or "disk is full" in text:
        return (f"{path}: the disk is full (SQLite: database or disk is full); every task stored before is "
                "kept: free some space, then resume (--resume)")
    if "readonly" in text or "read-only" in text:
        return (f"{path}: read-only (SQLite: {error}); the store itself is fine: copy it to a writable "
                "folder to resume it")
    return None


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
        self._lock: StoreLock | None = None

    # ---------------------------------------------------------------- opening
    @classmethod
    def create(cls, path, study, tasks: Iterable) -> "ResultStore":
        """Create a new store at ``path`` for ``study`` with every task pending; return it open for writing.

        Refuses an existing file, and a path another process is creating or
        writing (:class:`StoreError`). The file appears only once complete
        (written under a temporary name, then linked into place exclusively).
        """
        path = pathlib.Path(path)
        if path.is_dir():
            raise StoreError(f"{path}: a folder; give the path of a new store file, e.g. {path / 'study.sqlite'}")
        if not path.parent.is_dir():
            raise StoreError(f"{path}: the folder {path.parent} does not exist")
        lock = StoreLock.acquire(path)
        try:
            if path.exists() or path.is_symlink():
                raise StoreError(f"{path}: a file already exists there; resume it or choose another store path")
            temporary = path.with_name(f".{path.name}.{os.getpid()}.creating")
            for leftover in (temporary, *_sidecars(temporary)):
                leftover.unlink(missing_ok=True)
            try:
                _write_new_store(temporary, study, tasks)
                _link_exclusive(temporary, path)
            finally:
                for leftover in (temporary, *_sidecars(temporary)):
                    leftover.unlink(missing_ok=True)
            return cls._open(path, writable=True, lock=lock, integrity=False)
        except sqlite3.Error as error:
            lock.release()
            full = "full" in str(error).lower()
            raise StoreError(f"{path}: cannot create the store: "
                             f"{'the disk is full (SQLite: ' + str(error) + ')' if full else error}") from None
        except OSError as error:
            lock.release()
            raise StoreError(f"{path}: cannot create the store ({_os_reason(error)})") from None
        except BaseException:
            lock.release()
            raise

    @classmethod
    def open(cls, path, writable: bool = False, integrity: bool = False) -> "ResultStore":
        """Open an existing store, refusing foreign, corrupt or newer files with :class:`StoreError`.

        ``writable=False`` opens it read-only (safe while a sweep is writing
        it). ``writable=True`` takes the store's writer lock (refused while
        another process holds it) until :meth:`close`. ``integrity=True``
        runs SQLite's full ``integrity_check`` (it reads the whole file)
        instead of the ``quick_check`` done on every open.
        """
        return cls._open(path, writable=writable, lock=None, integrity=integrity)

    @classmethod
    def _open(cls, path, writable: bool, lock: "StoreLock | None", integrity: bool) -> "ResultStore":
        path = check_store_file(path)
        if writable and lock is None:
            if not os.access(path, os.W_OK):
                raise StoreError(f"{path}: read-only (no write permission, or a read-only file system); the "
                                 "store itself is fine: copy it to a writable folder to resume it")
            lock = StoreLock.acquire(path)
        uri = f"{path.resolve().as_uri()}?mode={'rw' if writable else 'ro'}"
        if not writable and not os.access(path.parent, os.W_OK) and not _sidecars(path)[0].exists():
            # a read-only folder or file system: SQLite cannot make the -shm file that reading a WAL
            # store needs, and nobody can be writing (no -wal file, and no one could create one)
            uri += "&immutable=1"
        try:
            try:
                connection = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=30.0)
            except sqlite3.Error as error:
                raise StoreError(_sqlite_reason(path, error)
                                 or f"{path}: cannot open the result store: {error}") from None
            try:
                _check_identity(path, connection, integrity)
                if writable:
                    connection.execute("PRAGMA journal_mode = WAL")
                    connection.execute("PRAGMA synchronous = NORMAL")
                    connection.execute("PRAGMA foreign_keys = ON")
                    connection.execute(_ARTIFACTS_TABLE)  # stores made before the table existed
            except sqlite3.DatabaseError as error:
                connection.close()
                reason = _sqlite_reason(path, error)
                if reason is None and "unable to open" in str(error).lower():
                    reason = (f"{path}: cannot read the store ({error}); a store in a read-only folder needs "
                              "its -wal and -shm files beside it, or copy it to a writable folder")
                raise StoreError(reason or f"{path}: corrupt or not a statmech result store ({error})") from None
            except BaseException:
                connection.close()
                raise
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        store = cls(path, connection, writable)
        store._lock = lock
        return store

    def close(self) -> None:
        try:
            self._connection.close()
        finally:
            if self._lock is not None:
                self._lock.release()
                self._lock = None

    def integrity_check(self) -> str:
        """SQLite's full ``PRAGMA integrity_check``: "ok", or the first problems it found (one line)."""
        rows = [row[0] for row in self._connection.execute("PRAGMA integrity_check(5)")]
        return "ok" if rows == ["ok"] else "; ".join(rows)

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
        try:
            return self._record(connection, status, outcome, artifacts)
        except sqlite3.Error as error:
            reason = _sqlite_reason(self.path, error)
            if reason is None:
                raise
            raise StoreError(reason) from None

    @staticmethod
    def _record(connection, status, outcome, artifacts) -> bool:
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
            if connection.in_transaction:  # SQLite already rolled back after e.g. a full disk
                connection.execute("ROLLBACK")
            raise
        return updated == 1


def _write_new_store(temporary: pathlib.Path, study, tasks) -> None:
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
    finally:
        connection.close()


def _link_exclusive(temporary: pathlib.Path, path: pathlib.Path) -> None:
    """Put the finished ``temporary`` at ``path`` atomically, failing if anything is there already."""
    try:
        os.link(temporary, path)  # atomic, and refuses an existing target
    except FileExistsError:
        raise StoreError(f"{path}: a file already exists there; resume it or choose another store path") from None
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.ENOSYS):
            raise
        # a file system without hard links: claim the name exclusively, then rename over the claim
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        except FileExistsError:
            raise StoreError(f"{path}: a file already exists there; resume it or choose another store "
                             "path") from None
        os.replace(temporary, path)


def _check_identity(path, connection, integrity: bool = False) -> None:
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
    pragma = "integrity_check" if integrity else "quick_check"
    rows = [row[0] for row in connection.execute(f"PRAGMA {pragma}(5)")]
    if rows != ["ok"]:
        raise StoreError(f"{path}: corrupt statmech store (SQLite {pragma}: {'; '.join(rows)})")


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
