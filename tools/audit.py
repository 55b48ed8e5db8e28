"""Re-run the "ready for strangers" audit: every concrete case it names, through the API and the CLI.

usage: python tools/audit.py [-k SUBSTRING] [--timeout SECONDS] [--list]

Run from the repository root with the project's Python (the one statmech's
dependencies are installed in, e.g. .venv/bin/python): the cases run with it. Each case runs in its own subprocess (this
checkout's code: PYTHONPATH=src, the CLI as ``python -m statmech``) with a
timeout; a case that runs past it is a FAIL ("no refusal before work").
Memory and time guards run with STATMECH_MEMORY_LIMIT=8GB and
STATMECH_TIME_LIMIT=600 (the same budget on every machine).

Every case ends in one of three outcomes:

* ``error``   -- a clear error before any work: the expected exception type or
  exit status 2, a one-line message with the expected words, no traceback,
  within the timeout;
* ``correct`` -- it ran and the answer (or the file system afterwards) is right,
  checked against an independent value (closed form, brute force, bytes on disk);
* ``FAIL``    -- anything else, with what was seen.

One line per case (case, expected, outcome, PASS/FAIL), then the counts.
Exit status 1 when a case failed. Cases marked "(test)" run an existing test
of tests/ that covers them. The full-disk cases mount a small tmpfs (root
only); without root they are simulated with RLIMIT_FSIZE (``ulimit -f``),
which the case line says; the read-only file-system case is then skipped
(counted apart, never as a pass).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PYTHON = sys.executable
TIMEOUT = 60.0
GUARDS = {"STATMECH_MEMORY_LIMIT": "8GB", "STATMECH_TIME_LIMIT": "600"}
WORK = Path(tempfile.mkdtemp(prefix="statmech-audit-"))


# ------------------------------------------------------------------ running one subprocess
@dataclass
class Run:
    returncode: int | None  # None: killed at the timeout
    out: str
    err: str
    seconds: float
    peak_mb: float  # the child's peak resident memory


def environment(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(SRC) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("JAX_PLATFORMS", "cpu")
    env["COLUMNS"] = "200"  # Rich tables and help are not wrapped into many lines
    env.pop("FORCE_COLOR", None)
    env.update(GUARDS)
    env.update(extra or {})
    return env


def run(argv: list[str], timeout: float | None = None, env: dict | None = None, cwd: Path | None = None,
        preexec: Callable | None = None) -> Run:
    """Run ``argv``; wait4() gives the child's own peak memory. Killed (with its group) at the timeout."""
    timeout = TIMEOUT if timeout is None else timeout
    out_path, err_path = WORK / "stdout.txt", WORK / "stderr.txt"
    with open(out_path, "w") as out, open(err_path, "w") as err:
        start = time.monotonic()
        process = subprocess.Popen(argv, stdout=out, stderr=err, env=environment(env), cwd=cwd or WORK,
                                   start_new_session=True, preexec_fn=preexec)
        returncode, peak = None, 0.0
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                returncode = os.waitstatus_to_exitcode(status)
                peak = usage.ru_maxrss / 1024
                process.returncode = returncode
                break
            if time.monotonic() - start > timeout:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                break
            time.sleep(0.05)
        seconds = time.monotonic() - start
    return Run(returncode, out_path.read_text(errors="replace"), err_path.read_text(errors="replace"), seconds, peak)


HARNESS = textwrap.dedent('''\
    import json, sys, warnings
    report = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        space = {}
        try:
            exec(compile(sys.argv[1], "<case>", "exec"), space)
            ok = space.get("ok")
            report["ok"] = bool(ok) if type(ok).__name__ == "bool_" else ok
            report["result"] = repr(space.get("result"))[:400]
        except BaseException as error:
            report["exception"] = [c.__name__ for c in type(error).__mro__]
            report["message"] = str(error)
    report["warnings"] = [[[c.__name__ for c in w.category.__mro__], str(w.message)[:300]] for w in caught]
    print("AUDIT-REPORT " + json.dumps(report, default=str))
''')


def python_case(code: str, timeout: float | None = None, env: dict | None = None) -> tuple[Run, dict | None]:
    result = run([PYTHON, "-c", HARNESS, textwrap.dedent(code)], timeout=timeout, env=env)
    for line in result.out.splitlines():
        if line.startswith("AUDIT-REPORT "):
            return result, json.loads(line[len("AUDIT-REPORT "):])
    return result, None


def cli(*argv, **kwargs) -> Run:
    return run([PYTHON, "-m", "statmech", *map(str, argv)], **kwargs)


def short(text: str, n: int = 150) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 3] + "..."


def took(result: Run) -> str:
    return f"{result.seconds:.1f} s, {result.peak_mb:.0f} MB"


# ------------------------------------------------------------------ outcomes
class Fail(Exception):
    """The case did not hold; the message says what was seen."""


def timed_out(result: Run) -> None:
    if result.returncode is None:
        raise Fail(f"no refusal before work: still running after {result.seconds:.0f} s (killed)")


def expect_error(code: str, kind: str, pattern: str, timeout: float | None = None, env: dict | None = None,
                 max_mb: float = 3000) -> tuple[str, str]:
    """The API case raises ``kind`` (a class name in its MRO) with a message matching ``pattern``."""
    result, report = python_case(code, timeout, env)
    timed_out(result)
    if report is None:
        raise Fail(f"crashed (status {result.returncode}): {short(result.err[-300:])}")
    if "exception" not in report:
        raise Fail(f"no error; returned {short(report.get('result'))}")
    message = report["message"]
    if kind not in report["exception"]:
        raise Fail(f"{report['exception'][0]} instead of {kind}: {short(message)}")
    if not re.search(pattern, message, re.DOTALL):
        raise Fail(f"{report['exception'][0]} without /{pattern}/: {short(message)}")
    if result.peak_mb > max_mb:
        raise Fail(f"refused only after using {result.peak_mb:.0f} MB: {short(message)}")
    return "error", f"{report['exception'][0]}: {short(message, 110)} ({took(result)})"


def expect_correct(code: str, timeout: float | None = None, env: dict | None = None,
                   warning: str | None = None, no_warning: bool = False) -> tuple[str, str]:
    """The API case sets ``ok = True`` (checked in the child against an independent value) and ``result``."""
    result, report = python_case(code, timeout, env)
    timed_out(result)
    if report is None:
        raise Fail(f"crashed (status {result.returncode}): {short(result.err[-300:])}")
    if "exception" in report:
        raise Fail(f"{report['exception'][0]}: {short(report['message'])}")
    if report.get("ok") is not True:
        raise Fail(f"wrong answer: {short(report.get('result'))}")
    categories = [w[0] for w in report["warnings"]]
    if warning and not any(warning in c for c in categories):
        raise Fail(f"right answer but no {warning}: {short(report.get('result'))}")
    if no_warning and categories:
        raise Fail(f"unexpected warnings: {short(report['warnings'])}")
    extra = f"; {warning} raised" if warning else ""
    return "correct", f"{short(report.get('result'), 110)}{extra} ({took(result)})"


def one_line_error(result: Run, pattern: str, status: int = 2) -> str:
    """The CLI exits with ``status``, prints one ``error:`` line matching ``pattern``, and no traceback."""
    timed_out(result)
    lines = [line for line in result.err.strip().splitlines() if line.strip()]
    if "Traceback" in result.out + result.err:
        raise Fail(f"traceback (status {result.returncode}): {short(lines[-1] if lines else '')}")
    if result.returncode != status:
        raise Fail(f"status {result.returncode}, not {status}: {short(result.err or result.out)}")
    errors = [line for line in lines if line.startswith("error:")]
    if len(errors) != 1 or not re.search(pattern, errors[0]):
        raise Fail(f"no one-line error /{pattern}/: {short(result.err)}")
    return errors[0]


def expect_cli_error(*argv, pattern: str, status: int = 2, **kwargs) -> tuple[str, str]:
    result = cli(*argv, **kwargs)
    line = one_line_error(result, pattern, status)
    return "error", f"exit {status}: {short(line, 110)} ({took(result)})"


def check(condition: bool, seen: str) -> None:
    if not condition:
        raise Fail(seen)


# ------------------------------------------------------------------ cases
@dataclass
class Case:
    name: str
    expected: str
    body: Callable[[], tuple[str, str]]


CASES: list[Case] = []


def case(name: str, expected: str):
    def register(body):
        CASES.append(Case(name, expected, body))
        return body
    return register


def api_error(name: str, code: str, kind: str, pattern: str, **kwargs) -> None:
    CASES.append(Case(name, f"{kind} /{pattern}/", lambda: expect_error(code, kind, pattern, **kwargs)))


def api_correct(name: str, expected: str, code: str, **kwargs) -> None:
    CASES.append(Case(name, expected, lambda: expect_correct(code, **kwargs)))


def cli_error(name: str, argv: list, pattern: str, status: int = 2, **kwargs) -> None:
    CASES.append(Case(name, f"exit {status}, one line /{pattern}/",
                      lambda: expect_cli_error(*argv, pattern=pattern, status=status, **kwargs)))


def pytest_case(name: str, expected: str, target: str, marker: str = "", timeout: float = 600) -> None:
    def body():
        argv = [PYTHON, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", target]
        if marker:
            argv += ["-m", marker]
        result = run(argv, timeout=timeout, cwd=ROOT)
        timed_out(result)
        summary = (result.out.strip().splitlines() or [""])[-1]
        if result.returncode != 0 or " passed" not in summary:
            reasons = [line for line in result.out.splitlines() if line.startswith("E ")][:3]
            raise Fail(f"pytest status {result.returncode}: {short(summary)}; {short(' | '.join(reasons), 300)}")
        return "correct", f"{summary.strip('= ')} ({result.seconds:.0f} s)"
    CASES.append(Case(name + " (test)", expected, body))


CHAIN_STUDY = """\
[study]
name = "{name}"
[model]
kind = "ising-chain"
L = 4
[method]
name = "{method}"
{options}
[grid]
beta = [0.2, 0.4]
"""

EA_STUDY = """\
[study]
name = "{name}"
[model]
kind = "edwards-anderson"
L = {L}
couplings = "gaussian"
[method]
name = "transfer"
[grid]
beta = [{betas}]
seeds = [{seeds}]
"""


def folder(name: str) -> Path:
    path = WORK / name
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def chain_study(where: Path, name="chain", method="transfer", options="", file="study.toml") -> Path:
    path = where / file
    path.write_text(CHAIN_STUDY.format(name=name, method=method, options=options))
    return path


def ea_study(where: Path, name: str, betas, seeds=range(8), L=5, file=None) -> Path:
    path = where / (file or f"{name}.toml")
    path.write_text(EA_STUDY.format(name=name, L=L, betas=", ".join(map(str, betas)),
                                    seeds=", ".join(map(str, seeds))))
    return path


def store_state(store: Path) -> tuple[str, str, dict]:
    """(integrity_check, study name, {status: count}) read without the library."""
    connection = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
        name = connection.execute("SELECT name FROM study").fetchone()[0]
        counts = dict(connection.execute("SELECT status, count(*) FROM tasks GROUP BY status").fetchall())
        return integrity, name, counts
    finally:
        connection.close()


def swept(where: Path) -> Path:
    """A finished 2-task sweep store (through the CLI)."""
    store = where / "s.sqlite"
    result = cli("sweep", chain_study(where), "--store", store, "--workers", 1, "--no-progress")
    check(result.returncode == 0, f"setup sweep failed: {short(result.err)}")
    return store


# ---------------------------------------------------------------- 0. the CLI is reachable as documented
@case("cli: python -m statmech --version", "prints 'statmech <version>', exit 0")
def _():
    result = cli("--version")
    timed_out(result)
    check(result.returncode == 0 and re.fullmatch(r"statmech \d+\.\d+\.\d+\S*", result.out.strip()) is not None,
          f"status {result.returncode}: {short(result.out + result.err)}")
    return "correct", result.out.strip()


# ---------------------------------------------------------------- 1. data safety
SYNCHRONISED = textwrap.dedent("""\
    import sys, time
    import statmech, statmech.cli, statmech.studies._sweep, statmech.thermo  # imported before the start
    import statmech.models, statmech.exact  # noqa: F401
    start = float(sys.argv[1])
    while time.time() < start:
        time.sleep(0.0005)
    sys.exit(statmech.cli.main(sys.argv[2:]))
""")


def synchronised(argvs: list[list], lead: float = 25.0) -> list[Run]:
    """Run the CLI commands ``argvs`` in parallel processes that all start at the same wall-clock moment."""
    start = time.time() + lead
    processes, files = [], []
    for k, argv in enumerate(argvs):
        out, err = open(WORK / f"sync{k}.out", "w"), open(WORK / f"sync{k}.err", "w")
        files.append((out, err))
        processes.append((subprocess.Popen([PYTHON, "-c", SYNCHRONISED, repr(start), *map(str, argv)],
                                           stdout=out, stderr=err, env=environment(), cwd=WORK,
                                           start_new_session=True), time.monotonic()))
    results = []
    for (process, began), (out, err) in zip(processes, files):
        try:
            process.wait(timeout=lead + 240)
            code = process.returncode
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            code = None
        out.close(), err.close()
        results.append(Run(code, Path(out.name).read_text(), Path(err.name).read_text(),
                           time.monotonic() - began, 0.0))
    return results


@case("store creation race: two CLI sweeps of different studies, one new store, synchronised start (x3)",
      "one exits 0, the other exits 2 in one line; the store holds one study, all its tasks, integrity ok")
def _():
    seen = []
    for attempt in range(3):
        where = folder(f"race{attempt}")
        alpha = ea_study(where, "alpha", [0.2, 0.4, 0.6])   # 24 tasks
        beta = ea_study(where, "beta", [0.3, 0.5])          # 16 tasks
        store = where / "shared.sqlite"
        results = synchronised([["sweep", study, "--store", store, "--workers", 1, "--no-progress"]
                                for study in (alpha, beta)])
        for result in results:
            timed_out(result)
        codes = [r.returncode for r in results]
        check(sorted(codes) == [0, 2], f"attempt {attempt}: exit statuses {codes} "
                                       f"({short(results[0].err)} | {short(results[1].err)})")
        winner = codes.index(0)
        line = one_line_error(results[1 - winner], r"in use by another sweep|already exists")
        integrity, name, counts = store_state(store)
        wanted = ("alpha", {"done": 24}) if winner == 0 else ("beta", {"done": 16})
        check(integrity == "ok" and (name, counts) == wanted,
              f"attempt {attempt}: store {integrity}, {name}, {counts}; wanted {wanted}")
        seen.append(f"{name} won")
    return "error", f"3/3: {', '.join(seen)}; the other: {short(line, 80)}"


@case("two --resume sweeps of one store, synchronised start",
      "every task computed once: one sweep does them, the other is refused in one line (or they share)")
def _():
    where = folder("resume-race")
    study = ea_study(where, "gamma", [0.2, 0.4, 0.6, 0.8, 1.0])  # 40 tasks
    store = where / "gamma.sqlite"
    # a store with every task pending: create it, then reset the statuses (plain SQL, no library)
    first = cli("sweep", study, "--store", store, "--workers", 1, "--no-progress")
    check(first.returncode == 0, f"setup sweep: {short(first.err)}")
    connection = sqlite3.connect(store)
    with connection:
        connection.execute("DELETE FROM results")
        connection.execute("UPDATE tasks SET status = 'pending'")
        if "artifacts" in [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")]:
            connection.execute("DELETE FROM artifacts")
    connection.close()
    results = synchronised([["sweep", study, "--store", store, "--resume", "--workers", 1, "--no-progress"]] * 2)
    for result in results:
        timed_out(result)
    done = []
    for result in results:
        match = re.search(r"(\d+) done", result.out)
        done.append(int(match.group(1)) if match and result.returncode == 0 else 0)
    integrity, _, counts = store_state(store)
    check(integrity == "ok" and counts == {"done": 40}, f"store {integrity} {counts}")
    check(sum(done) == 40, f"tasks computed {done} (sum {sum(done)}, 40 needed once each); "
                           f"{short(results[0].out)} | {short(results[1].out)}")
    refused = [r for r in results if r.returncode != 0]
    if refused:
        line = one_line_error(refused[0], r"in use by another sweep")
        return "error", f"computed {done}; the other: {short(line, 90)}"
    return "correct", f"the two shared the 40 tasks: {done}"


pytest_case("concurrent writers: creation and resume races, barrier at ResultStore.create",
            "one study per store, every task once", "tests/studies/test_store_concurrency.py")


@case("results S --to csv --out S (and S-wal, ./S) with --force",
      "exit 2 refusing to overwrite the store; the store unchanged")
def _():
    where = folder("out-store")
    store = swept(where)
    before = store.read_bytes()
    lines = []
    for target in (store, where / "." / "s.sqlite", where / "s.sqlite-wal"):
        lines.append(one_line_error(cli("results", store, "--to", "csv", "--out", target, "--force"),
                                    r"refusing to overwrite"))
    check(store.read_bytes() == before, "the store's bytes changed")
    integrity, _, counts = store_state(store)
    check(integrity == "ok" and counts == {"done": 2}, f"store {integrity} {counts}")
    return "error", f"3/3 refused; {short(lines[0], 100)}"


@case("results S --out EXISTING (no --force), then with --force",
      "exit 2 naming --force, the file kept; --force replaces it")
def _():
    where = folder("out-existing")
    store = swept(where)
    existing = where / "old.csv"
    existing.write_text("keep me\n")
    line = one_line_error(cli("results", store, "--to", "csv", "--out", existing), r"already exists.*--force")
    check(existing.read_text() == "keep me\n", "the existing file was changed")
    forced = cli("results", store, "--to", "csv", "--out", existing, "--force")
    check(forced.returncode == 0 and existing.read_text().startswith("beta,"),
          f"--force: status {forced.returncode}, {short(existing.read_text()[:60])}")
    return "error", short(line, 120)


@case("sweep with failed tasks (valid option, bad value: n_sweeps = 8)",
      "exit 1, the count of failed tasks and the first error")
def _():
    where = folder("failed")
    study = chain_study(where, method="metropolis", options="[method.options]\nn_sweeps = 8")
    result = cli("sweep", study, "--workers", 1, "--no-progress")
    line = one_line_error(result, r"2 of 2 tasks failed; the first at beta=0\.2.*chain too short", status=1)
    return "error", f"exit 1: {short(line, 110)}"


@case("unknown method option: [method.options] n_sweep = 100",
      "exit 2 with file:line:key and the valid names, before any work")
def _():
    where = folder("unknown-option")
    study = chain_study(where, method="metropolis", options="[method.options]\nn_sweep = 100")
    result = cli("sweep", study, "--workers", 1, "--no-progress")
    line = one_line_error(result, re.escape(f"{study}:9: method.options.n_sweep:") + r".*did you mean 'n_sweeps'")
    check(not (where / "study.sqlite").exists(), "a store was created")
    return "error", short(line, 130)


TAMPER = textwrap.dedent("""\
    import json, sqlite3, sys
    from statmech.studies._store import ResultStore
    from statmech.tour import TourStudy
    study = TourStudy("quick")
    ResultStore.create(sys.argv[2], study, study.tasks()).close()
    connection = sqlite3.connect(sys.argv[2])
    with connection:
        config = json.loads(connection.execute("SELECT config FROM tasks WHERE position = 0").fetchone()[0])
        config["step"] = sys.argv[1]
        connection.execute("UPDATE tasks SET config = ? WHERE position = 0", (json.dumps(config),))
    connection.close()
""")


@case("report of a tampered tour store: step name '../../escaped' (and an absolute path)",
      "exit 2 'not a plain name'; nothing written outside --out")
def _():
    lines = []
    for k, name in enumerate(("../../escaped", str(WORK / "abs-escaped"))):
        where = folder(f"traversal{k}")
        (where / "deep").mkdir()
        store = where / "deep" / "tour.sqlite"
        made = run([PYTHON, "-c", TAMPER, name, str(store)])
        check(made.returncode == 0, f"setup: {short(made.err[-300:])}")
        lines.append(one_line_error(cli("report", store, "--out", where / "deep" / "report"), r"not a plain name"))
        escaped = list(where.rglob("escaped*")) + list(WORK.glob("abs-escaped*"))
        check(not escaped, f"written outside --out: {escaped}")
    return "error", f"2/2; {short(lines[0], 110)}"


@case("report of a tampered sweep store: study name and a grid value with '../'",
      "exit 2, or a report written inside --out only")
def _():
    where = folder("traversal-sweep")
    store = swept(where)
    connection = sqlite3.connect(store)
    with connection:
        connection.execute("UPDATE study SET name = '../../escaped-study'")
    connection.close()
    out = where / "deep" / "report"
    (where / "deep").mkdir()
    result = cli("report", store, "--out", out)
    timed_out(result)
    escaped = [p for p in WORK.rglob("*escaped*")]
    check(not escaped, f"written outside --out: {escaped}")
    if result.returncode == 0:
        outside = [p for p in where.rglob("*") if p.is_file() and out not in p.parents
                   and p.name not in ("s.sqlite", "study.toml") and not p.name.startswith("s.sqlite")]
        check(not outside, f"files outside --out: {outside}")
        return "correct", "report written inside --out only"
    line = one_line_error(result, r".")
    return "error", short(line, 120)


KILLED_SWEEP = textwrap.dedent("""\
    import sys
    from statmech.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def children(pid: int) -> set[int]:
    """Every descendant of ``pid`` (from /proc)."""
    found, frontier = set(), [pid]
    while frontier:
        parent = frontier.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                kids = (task / "children").read_text().split()
            except OSError:
                continue
            for kid in map(int, kids):
                if kid not in found:
                    found.add(kid)
                    frontier.append(kid)
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@case("kill -9 of `statmech sweep --workers 2` while tasks run",
      "no pool worker or resource tracker alive 20 s later; --resume completes the store")
def _():
    where = folder("orphans")
    study = ea_study(where, "kill", [0.3, 0.6, 0.9, 1.2], seeds=range(20), L=7)  # 80 tasks
    store = where / "kill.sqlite"
    with open(where / "out", "w") as out:
        process = subprocess.Popen([PYTHON, "-c", KILLED_SWEEP, "sweep", str(study), "--store", str(store),
                                    "--workers", "2", "--no-progress"], stdout=out, stderr=subprocess.STDOUT,
                                   env=environment(), cwd=where)
    deadline, descendants = time.monotonic() + 240, set()
    try:
        while time.monotonic() < deadline and process.poll() is None:
            descendants |= children(process.pid)
            if store.exists() and len(descendants) >= 2:
                try:
                    done = store_state(store)[2].get("done", 0)
                except sqlite3.Error:
                    done = 0
                if done >= 4:
                    break
            time.sleep(0.05)
        check(process.poll() is None, f"the sweep ended before it could be killed: {(where / 'out').read_text()[-300:]}")
        descendants |= children(process.pid)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    check(len(descendants) >= 2, f"only {len(descendants)} child processes seen")
    deadline = time.monotonic() + 20
    left = descendants
    while left and time.monotonic() < deadline:
        left = {pid for pid in descendants if alive(pid)}
        time.sleep(0.2)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    check(not left, f"{len(left)} of {len(descendants)} children alive 20 s after the kill: "
                    + ", ".join(short(Path(f'/proc/{p}/cmdline').read_text().replace(chr(0), ' '), 60) for p in left
                                if Path(f'/proc/{p}').exists()))
    resumed = cli("sweep", study, "--store", store, "--resume", "--workers", 1, "--no-progress", timeout=240)
    timed_out(resumed)
    integrity, _, counts = store_state(store)
    check(resumed.returncode == 0 and integrity == "ok" and counts == {"done": 80},
          f"resume: status {resumed.returncode}, store {integrity} {counts}")
    return "correct", f"{len(descendants)} children all gone; resume: {short(resumed.out, 60)}"


pytest_case("integrity_check on open for --resume and in results",
            "refused with the check's finding",
            "tests/studies/test_sweep.py::test_integrity_check_runs_on_resume_and_in_results")
pytest_case("kill -9 then --resume equals an uninterrupted sweep, bit for bit", "identical stores",
            "tests/studies/test_sweep.py::test_kill_minus_nine_then_resume_equals_an_uninterrupted_sweep")
pytest_case("a lost Dask scheduler fails the sweep, the rest left for --resume", "SweepError after a timeout",
            "tests/studies/test_sweep.py::test_a_lost_dask_scheduler_fails_the_sweep_and_leaves_the_rest_for_resume",
            marker="slow")

FILLS_THE_DISK = """\
[study]
name = "fills-the-disk"
[model]
kind = "ising-chain"
periodic = true
[method]
name = "transfer"
[grid]
L = [4, 6, 8, 10, 12]
beta = [{betas}]
""".format(betas=", ".join(f"{0.1 * k:.1f}" for k in range(1, 21)))


class SmallDisk:
    """A tmpfs of ``size`` (root); None outside root or when mount fails."""

    def __init__(self, size: str):
        self.folder = folder(f"disk-{size}")
        self.mounted = os.geteuid() == 0 and shutil.which("mount") is not None and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(self.folder)], capture_output=True
        ).returncode == 0

    def remount(self, options: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{options}", str(self.folder)], check=True)

    def close(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.folder)], capture_output=True)


def file_size_limit(n_bytes: int):
    import resource

    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (n_bytes, n_bytes))


@case("full disk: a sweep fills a 300 kB tmpfs, export onto it, then room and --resume",
      "one line 'the disk is full' (not 'cannot rollback'); no partial export; resume completes")
def _():
    disk = SmallDisk("300k")
    where = folder("full-disk")
    study = where / "study.toml"
    study.write_text(FILLS_THE_DISK)
    try:
        if not disk.mounted:  # simulate: the store may not grow past 200 kB (ulimit -f)
            store = where / "s.sqlite"
            result = cli("sweep", study, "--store", store, "--workers", 1, "--no-progress",
                         preexec=file_size_limit(200_000))
            line = one_line_error(result, r"disk is full|File too large|file size")
            return "error", f"SIMULATED with RLIMIT_FSIZE (no root): {short(line, 100)}"
        store = disk.folder / "s.sqlite"
        result = cli("sweep", study, "--store", store, "--workers", 1, "--no-progress")
        line = one_line_error(result, r"disk is full")
        check("cannot rollback" not in result.err, f"'cannot rollback' shown: {short(result.err)}")
        integrity, _, counts = store_state(store)
        check(integrity == "ok" and counts.get("done", 0) > 0, f"store {integrity} {counts}")
        kept = counts["done"]
        exports = []
        for fmt, name in (("csv", "out.csv"), ("netcdf", "out.nc")):
            exported = cli("results", store, "--to", fmt, "--out", disk.folder / name)
            exports.append(one_line_error(exported, r"disk is full|No space left"))
            left = [p.name for p in disk.folder.iterdir() if p.name.startswith(".") or p.name == name]
            check(not left, f"{fmt} export left {left}")
        disk.remount("size=16m")
        resumed = cli("sweep", study, "--store", store, "--resume", "--workers", 1, "--no-progress")
        check(resumed.returncode == 0 and store_state(store)[2] == {"done": 100},
              f"resume: status {resumed.returncode}: {short(resumed.err)}")
        return "error", f"sweep: {short(line, 70)}; exports: {short(exports[0], 50)}; resume {kept}->100"
    finally:
        disk.close()


@case("read-only file system: results to it, sweep --resume on it, results from it",
      "one line 'read-only' (never 'corrupt'), exit 2; reading and exporting elsewhere work")
def _():
    disk = SmallDisk("16m")
    where = folder("read-only")
    study = chain_study(where)
    try:
        if not disk.mounted:
            return "skipped", "needs root to mount a tmpfs (no simulation of a read-only file system)"
        store = disk.folder / "s.sqlite"
        check(cli("sweep", study, "--store", store, "--workers", 1, "--no-progress").returncode == 0, "setup sweep")
        disk.remount("ro")
        lines = [one_line_error(cli("results", store, "--to", "csv", "--out", disk.folder / "o.csv"),
                                r"[Rr]ead-only file system"),
                 one_line_error(cli("sweep", study, "--store", store, "--resume", "--workers", 1, "--no-progress"),
                                r"read-only")]
        check(all("corrupt" not in line for line in lines), f"called corrupt: {lines}")
        exported = cli("results", store, "--to", "csv", "--out", where / "o.csv")
        check(exported.returncode == 0 and (where / "o.csv").read_text().startswith("beta,"),
              f"export elsewhere: {short(exported.err)}")
        return "error", f"{short(lines[1], 110)}; export elsewhere works"
    finally:
        disk.close()


@case("docs: Dask scheduler bound to 127.0.0.1, TLS for real clusters", "docs/studies.md says both")
def _():
    text = (ROOT / "docs" / "studies.md").read_text()
    check("--host 127.0.0.1" in text and "tls://" in text, "docs/studies.md lacks --host 127.0.0.1 or tls://")
    return "correct", "--host 127.0.0.1 and tls:// documented"


# ---------------------------------------------------------------- 1b. memory and time guards (8 GB, 600 s)
api_correct("Ising.square(30000): the model itself", "O(1) memory: built at once, 9e8 sites",
            "import statmech as sm\nm = sm.Ising.square(30000)\nresult = m.n_sites\nok = result == 9 * 10**8")
api_error("Ising.square(30000).edges", "import statmech as sm\nsm.Ising.square(30000).edges",
          "ValueError", r"43\.2 GB.*budget")
api_correct("thermo(Ising.square(30000), 0.44): auto", "Kaufman, log Z/N = Onsager's to 1e-6",
            """\
            import math, statmech as sm
            from scipy.integrate import quad
            b = 0.44
            k = 2 * math.sinh(2 * b) / math.cosh(2 * b) ** 2
            onsager = math.log(2 * math.cosh(2 * b)) + quad(lambda t: math.log(0.5 * (1 + math.sqrt(1 - k * k * math.sin(t) ** 2))), 0, math.pi)[0] / (2 * math.pi)
            r = sm.thermo(sm.Ising.square(30000), b)
            result = (r.method, float(r.log_z) / 9e8, onsager)
            ok = r.method == "kaufman" and abs(result[1] - onsager) < 1e-6
            """)
api_error("Ising.chain(3*10**9): thermo", "import statmech as sm\nsm.thermo(sm.Ising.chain(3 * 10**9), 0.44)",
          "ValueError", r"would take about.*shorter chain")
api_error("SK(200000).sample(0)", "import statmech as sm\nsm.SK(200000).sample(0)", "ValueError", r"TB.*smaller")
api_error("sm.sample(Ising.square(16), 0.4, n_chains=10**8)",
          "import statmech as sm\nsm.sample(sm.Ising.square(16), 0.4, n_chains=10**8)", "ValueError",
          r"100000000 chains.*fewer chains")
api_error("thermo(..., method='metropolis', n_chains=10**8)",
          "import statmech as sm\nsm.thermo(sm.Ising.square(16), 0.4, method='metropolis', n_chains=10**8)",
          "ValueError", r"100000000 chains.*budget")
api_error("quenched(SK(6), .5, 10**9)", "import statmech as sm\nsm.quenched(sm.SK(6), .5, 10**9)",
          "ValueError", r"1000000000 instances.*fewer instances")
api_error("quenched(SK(6), .5, 10**9, keep_values=False)",
          "import statmech as sm\nsm.quenched(sm.SK(6), .5, 10**9, keep_values=False)",
          "ValueError", r"1000000000 instances")
api_error("method='beale' at L = 256", "import statmech as sm\nsm.thermo(sm.Ising.square(256), 0.44, method='beale')",
          "ValueError", r"[Bb]eale.*hours.*kaufman")
api_error("method='enumerate' at L = 8 (64 spins)",
          "import statmech as sm\nsm.thermo(sm.Ising.square(8), 0.44, method='enumerate')", "ValueError", r".")
api_error("Ising.from_edges(10**6, ...).coupling_matrix()",
          "import statmech as sm\nsm.Ising.from_edges(10**6, [[0, 1]], 1.0).coupling_matrix()", "ValueError",
          r"dense.*TB")


@case("a 2-million-task grid (2000 betas x 1000 seeds)", "exit 2 naming the task limit, no store, before work")
def _():
    where = folder("big-grid")
    betas = ", ".join(f"{0.001 * k:.3f}" for k in range(1, 2001))
    study = where / "study.toml"
    seeds = ", ".join(map(str, range(1000)))
    study.write_text(f'[study]\nname = "big"\n[model]\nkind = "edwards-anderson"\nL = 4\n'
                     f'couplings = "gaussian"\n[method]\nname = "transfer"\n[grid]\nbeta = [{betas}]\n'
                     f'seeds = [{seeds}]\n')
    result = cli("sweep", study, "--workers", 1, "--no-progress")
    line = one_line_error(result, r"2,000,000 tasks.*limit")
    check(not (where / "study.sqlite").exists(), "a store was created")
    check(result.peak_mb < 1500, f"{result.peak_mb:.0f} MB used before refusing")
    return "error", f"{short(line, 100)} ({took(result)})"


# ---------------------------------------------------------------- 2. wrong answers and silent acceptance
api_error("Metropolis at beta = 0 (thermo)",
          "import statmech as sm\nsm.thermo(sm.Ising.square(4), 0.0, method='metropolis', seed=0)",
          "ValueError", r"heatbath")
api_error("Metropolis at beta = 0 (sample)",
          "import statmech as sm\nsm.sample(sm.Ising.square(4), 0.0, method='metropolis')", "ValueError", r"heatbath")
api_error("Metropolis at beta = 0 in a beta grid",
          "import statmech as sm\nsm.thermo(sm.Ising.square(4), [0.0, 0.3], method='metropolis', seed=0)",
          "ValueError", r"heatbath")
cli_error("CLI: thermo --method metropolis --beta 0",
          ["thermo", "ising-square", "--L", 4, "--beta", 0, "--method", "metropolis", "--no-progress"], r"heatbath")
api_correct("heat bath at beta = 0 (4x4)", "E within 4 sigma of 0",
            """\
            import statmech as sm
            r = sm.thermo(sm.Ising.square(4), 0.0, method='heatbath', n_sweeps=2000, n_chains=4, seed=0)
            result = (float(r.energy), float(r.energy.stderr))
            ok = abs(result[0]) < 4 * result[1]
            """)
api_correct("Metropolis at beta = 50 from random starts (4x4)",
            "E = -32 within 4 sigma, or a SamplingWarning (stuck chains flagged)",
            """\
            import warnings, statmech as sm
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                r = sm.thermo(sm.Ising.square(4), 50.0, method='metropolis', n_sweeps=2000, n_chains=4, seed=0)
            flagged = any(issubclass(w.category, sm.SamplingWarning) for w in seen)
            E, s = float(r.energy), float(r.energy.stderr)
            result = (E, s, "SamplingWarning" if flagged else "no warning")
            ok = flagged or abs(E + 32) < 4 * max(s, 1e-12)
            """)
for _label, _code in [
    ("couplings", "sm.Ising.square(4, J=(np.full((4, 4), 1 + 1j), np.ones((4, 4))))"),
    ("fields", "sm.Ising.chain(4, h=np.full(4, 0.5j))"),
    ("beta array", "sm.thermo(sm.Ising.square(4), np.array([0.3 + 1j]))"),
    ("coupling matrix", "sm.Ising.from_couplings(np.ones((3, 3)) * (1 + 0j) - np.eye(3))"),
    ("ML data", "sm.ml.LinearRegression(np.ones((5, 2)) * (1 + 1j), np.ones(5))"),
]:
    api_error(f"complex {_label}", "import warnings, numpy as np, statmech as sm\nwarnings.simplefilter('error')\n"
              + _code, "TypeError", r"real")
api_error("Ising.from_edges with a (2, E) array, E = 3",
          "import numpy as np, statmech as sm\nsm.Ising.from_edges(3, np.array([[0, 1, 2], [1, 2, 0]]), 1.0)",
          "ValueError", r"shape \(E, 2\)")
# E = 2: a (2, 2) array has the shape (E, 2) either way, so no check can tell a transposed one; it is read
# as documented, one row per bond (a row (0, 0) is a self-bond, a constant -J, which the library allows)
api_correct("Ising.from_edges with a (2, 2) array: one row per bond, as documented",
            "log Z = brute force over the rows' bonds (0, 1), (1, 2)",
            """\
            import itertools, math, statmech as sm
            m = sm.Ising.from_edges(3, [[0, 1], [1, 2]], [0.5, 1.5])
            brute = math.log(sum(math.exp(0.7 * (0.5 * s[0] * s[1] + 1.5 * s[1] * s[2]))
                                 for s in itertools.product((1, -1), repeat=3)))
            result = (float(sm.log_z(m, 0.7)), brute)
            ok = abs(result[0] - brute) < 1e-12
            """)
api_error("Ising.from_edges with float indices",
          "import statmech as sm\nsm.Ising.from_edges(3, [[0.5, 1], [1, 2]], 1.0)", "TypeError", r"integer")
api_correct("Ising.from_edges triangle (E, 2): log Z", "brute force over 8 states",
            """\
            import itertools, math, statmech as sm
            m = sm.Ising.from_edges(3, [[0, 1], [1, 2], [2, 0]], 1.0)
            brute = math.log(sum(math.exp(0.7 * (s[0]*s[1] + s[1]*s[2] + s[2]*s[0]))
                                 for s in itertools.product((1, -1), repeat=3)))
            result = (float(sm.log_z(m, 0.7)), brute)
            ok = abs(result[0] - brute) < 1e-12
            """)
api_error("Ising.energy with spins 0/1", "import numpy as np, statmech as sm\n"
          "sm.Ising.chain(4).energy(np.array([0, 1, 1, 0]))", "ValueError", r"\+1 or -1")
api_error("Ising.energy with spins 2", "import numpy as np, statmech as sm\n"
          "sm.Ising.chain(4).energy(np.array([2, 1, 1, -1]))", "ValueError", r"\+1 or -1")
api_error("seed=2**70 (thermo)", "import statmech as sm\n"
          "sm.thermo(sm.Ising.square(4), 0.4, method='metropolis', n_sweeps=64, seed=2**70)", "ValueError", r"seed")
api_error("seed=2**70 (sample)", "import statmech as sm\nsm.sample(sm.Ising.square(4), 0.4, seed=2**70)",
          "ValueError", r"seed")
api_error("seed=2**70 (quenched)", "import statmech as sm\nsm.quenched(sm.SK(6), 0.5, 4, seed=2**70)",
          "ValueError", r"seed")
api_error("seed=-1 (sample)", "import statmech as sm\nsm.sample(sm.Ising.square(4), 0.4, seed=-1)",
          "ValueError", r"seed")
api_error("NaN loss in a GibbsModel (minimize)", "import jax.numpy as jnp, statmech as sm\n"
          "sm.ml.minimize(sm.ml.GibbsModel(lambda t: jnp.sum(t**2) * jnp.nan, 2))", "ValueError", r"not finite")
api_error("NaN loss in a GibbsModel (log_z laplace)", "import jax.numpy as jnp, statmech as sm\n"
          "sm.log_z(sm.ml.GibbsModel(lambda t: jnp.sum(t**2) * jnp.nan, 2), 1.0, method='laplace')",
          "ValueError", r"not finite")
api_error("sm.thermo('ising', 0.4)", "import statmech as sm\nsm.thermo('ising', 0.4)", "TypeError", r"pass a model")
api_error("sm.log_z('ising', 0.4)", "import statmech as sm\nsm.log_z('ising', 0.4)", "TypeError", r"pass a model")

# the same places, looked at again: more bad input of the same kinds
api_error("sample(n_samples=0)", "import statmech as sm\nsm.sample(sm.Ising.square(4), 0.4, n_samples=0)",
          "ValueError", r"n_samples")
api_error("Ising.square(4, J=nan)", "import statmech as sm\nsm.Ising.square(4, J=float('nan'))",
          "ValueError", r"NaN|finite")
api_error("quenched at beta < 0", "import statmech as sm\nsm.quenched(sm.SK(6), -0.5, 4)", "ValueError", r"beta")
api_error("thermo with a 2-D beta", "import statmech as sm\nsm.thermo(sm.Ising.square(4), [[0.1, 0.2]])",
          "ValueError", r"1-D|flatten")
api_error("complex ML data in predict()", "import warnings, numpy as np, statmech as sm\n"
          "warnings.simplefilter('error')\n"
          "m = sm.ml.LinearRegression(np.eye(3), np.ones(3))\nm.predict(np.zeros(3), np.eye(3) * 1j)",
          "TypeError", r"real")
for _label, _code, _kind, _pattern in [
    ("energy of spins of the wrong length", "sm.Ising.chain(4).energy(np.array([1, 1, 1]))", "ValueError", r"4"),
    ("from_couplings: an asymmetric J", "sm.Ising.from_couplings(np.array([[0, 1.0], [0.5, 0]]))", "ValueError",
     r"symmetric"),
    ("from_couplings: a non-zero diagonal", "sm.Ising.from_couplings(np.array([[1, 1.0], [1, 0]]))", "ValueError",
     r"diagonal"),
    ("Ising.square(2.5)", "sm.Ising.square(2.5)", "TypeError", r"int"),
    ("Ising.square(True)", "sm.Ising.square(True)", "TypeError", r"int"),
    ("a field of the wrong length", "sm.Ising.chain(4, h=np.ones(3))", "ValueError", r"one value per site"),
    ("beta as a string", "sm.thermo(sm.Ising.chain(4), '0.4')", "TypeError", r"number"),
    ("beta = inf", "sm.log_z(sm.Ising.chain(4), float('inf'))", "ValueError", r"finite"),
    ("n_chains = 1.5", "sm.thermo(sm.Ising.square(4), 0.4, method='metropolis', n_chains=1.5)", "TypeError", r"int"),
    ("thin = 0", "sm.sample(sm.Ising.square(4), 0.4, thin=0)", "ValueError", r"thin"),
    ("EdwardsAnderson(couplings='cauchy')", "sm.EdwardsAnderson(4, couplings='cauchy')", "ValueError",
     r"gaussian"),
]:
    api_error(_label, "import numpy as np, statmech as sm\n" + _code, _kind, _pattern)
cli_error("CLI: sweep --workers 0", ["sweep", "study.toml", "--workers", 0], r"workers|study")
cli_error("CLI: thermo --beta nan", ["thermo", "ising-square", "--L", 4, "--beta", "nan"], r"beta|NaN")
cli_error("CLI: thermo --n-chains 10**8 (memory guard through the CLI)",
          ["thermo", "ising-square", "--L", 16, "--beta", 0.4, "--method", "metropolis", "--n-chains", 10**8,
           "--no-progress"], r"chains.*budget")
cli_error("CLI: thermo ising-square --L 100000 --method metropolis (memory guard)",
          ["thermo", "ising-square", "--L", 100000, "--beta", 0.4, "--method", "metropolis", "--no-progress"],
          r"budget")

# ---------------------------------------------------------------- 3. warnings and error bars
api_correct("sampler diagnostics as a Python warning, filterable", "a SamplingWarning (a StatmechWarning); "
            "none after simplefilter('ignore', sm.SamplingWarning)",
            """\
            import warnings, statmech as sm
            run = lambda: sm.thermo(sm.Ising.square(4), 0.4, method='metropolis', n_sweeps=64, n_chains=2,
                                    burn_in=10, seed=3)
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                r = run()
            raised = [w for w in seen if issubclass(w.category, sm.SamplingWarning)]
            with warnings.catch_warnings(record=True) as quiet:
                warnings.simplefilter("always")
                warnings.simplefilter("ignore", sm.SamplingWarning)
                run()
            result = (len(r.meta["warnings"]), len(raised), issubclass(sm.SamplingWarning, sm.StatmechWarning), len(quiet))
            ok = result[0] > 0 and result[1] == 1 and result[2] and result[3] == 0
            """)


@case("CLI: sampler warnings in the table and in --json",
      "'warning:' lines under the table; --json 'warnings' non-empty and strict")
def _():
    argv = ["thermo", "ising-square", "--L", 4, "--beta", 0.4, "--method", "metropolis", "--n-sweeps", 64,
            "--n-chains", 2, "--burn-in", 10, "--seed", 3, "--no-progress"]
    table = cli(*argv)
    check(table.returncode == 0 and "warning:" in table.out, f"table: status {table.returncode}, no 'warning:' lines")
    as_json = cli(*argv, "--json")
    data = json.loads(as_json.out, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    check(as_json.returncode == 0 and data["warnings"], f"--json warnings: {data.get('warnings')}")
    shown = table.out.count("warning:")
    check(shown == len(data["warnings"]), f"table shows {shown}, json {len(data['warnings'])}")
    return "correct", f"{shown} warnings in both"


api_correct("between-chain stderr (L = 16, beta = 0.44, 200 sweeps, 8 chains)",
            "stderr of <E> >= the spread of the chain means / sqrt(8)",
            """\
            import warnings, numpy as np, statmech as sm
            from statmech.stats import chain_statistics
            d = sm.sample(sm.Ising.square(16), 0.44, method='metropolis', n_samples=200, burn_in=40, n_chains=8, seed=1)
            E = np.asarray(d['energy'])
            between = E.mean(axis=1).std(ddof=1) / np.sqrt(E.shape[0])
            stats = chain_statistics(E)
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                r = sm.thermo(sm.Ising.square(16), 0.44, method='metropolis', n_sweeps=200, n_chains=8, seed=1)
            flagged = any(issubclass(w.category, sm.SamplingWarning) for w in seen)
            result = (round(float(stats.stderr), 2), round(float(between), 2), float(r.energy.stderr), flagged)
            ok = bool(stats.stderr >= between * 0.999)
            """, timeout=120)
@case("tour page lists the sampler warnings next to their figure (statmech tour --quick)",
      "every warning text the store records for a step is on the page")
def _():
    import html

    out = folder("tour") / "page"
    result = cli("tour", "--quick", "--out", out, "--no-progress", timeout=900)
    timed_out(result)
    check(result.returncode == 0, f"tour: status {result.returncode}: {short(result.err[-300:])}")
    page = html.unescape((out / "index.html").read_text())
    connection = sqlite3.connect(f"file:{out / 'tour.sqlite'}?mode=ro", uri=True)
    try:
        metas = [json.loads(m) for (m,) in connection.execute("SELECT meta FROM tasks WHERE meta IS NOT NULL "
                                                              "UNION ALL SELECT meta FROM results WHERE meta IS NOT NULL")]
        counted_in_store = sum(v for (v,) in connection.execute(
            "SELECT value FROM results WHERE quantity = 'n_warnings'"))
    finally:
        connection.close()
    recorded = sorted({text for meta in metas if isinstance(meta, dict) for key, texts in meta.items()
                       if key.endswith("warnings") and isinstance(texts, list) for text in texts})
    counted = [int(n) for n in re.findall(r"(\d+) (?:sampler )?diagnostic warnings (?:are )?recorded", page)]
    missing = [text for text in recorded if html.unescape(text) not in page]
    check(not missing, f"{len(missing)} of {len(recorded)} recorded warnings not on the page (it says "
                       f"{counted} 'recorded in the store'); e.g. {short(missing[0] if missing else '', 80)}")
    check(len(recorded) > 0 or counted_in_store == 0, f"the store counts {counted_in_store} warnings, "
                                                       "but no warning texts were found in it")
    return "correct", (f"{len(recorded)} recorded warnings ({counted_in_store:g} counted), all on the page"
                       + ("" if recorded else "; none in a quick tour: the listing is tested with injected "
                          "warnings in tests/report/test_tour.py"))


pytest_case("tour page lists injected sampler warnings, escaped", "each text on the page",
            "tests/report/test_tour.py::test_sampler_warnings_are_listed_on_the_page_next_to_their_figure")
api_correct("sm.thermo(model, 2.0, method='pt')", "a ladder ending at 2.0 in meta; E within 4 sigma (+1e-4 rel.) of Kaufman",
            """\
            import statmech as sm
            m = sm.Ising.square(4)
            r = sm.thermo(m, 2.0, method='pt', n_sweeps=1000, n_chains=2, seed=0)
            exact = float(sm.thermo(m, 2.0, method='kaufman').energy)
            ladder = r.meta['ladder']
            result = (float(r.energy), float(r.energy.stderr), exact, float(ladder[-1]), len(ladder))
            # at beta = 2 every draw may be a ground state (stderr 0): allow 1e-4 relative (exact: 32 - 1.4e-5)
            ok = float(ladder[-1]) == 2.0 and abs(result[0] - exact) <= 4 * result[1] + 1e-4 * abs(exact)
            """, timeout=180)

# ---------------------------------------------------------------- 4. a complete CLI


@case("CLI --seed --n-sweeps --n-chains --burn-in reach the method",
      "same flags: the API's numbers; another seed: other numbers")
def _():
    argv = ["thermo", "ising-square", "--L", 4, "--beta", 0.4, "--method", "metropolis", "--n-sweeps", 256,
            "--n-chains", 2, "--burn-in", 10, "--json", "--no-progress"]
    runs = {seed: cli(*argv, "--seed", seed) for seed in (7, 8)}
    for result in runs.values():
        check(result.returncode == 0, f"status {result.returncode}: {short(result.err)}")
    values = {seed: json.loads(r.out)["energy"]["value"] for seed, r in runs.items()}
    _, report = python_case("import statmech as sm\nresult = float(sm.thermo(sm.Ising.square(4), 0.4, "
                            "method='metropolis', n_sweeps=256, n_chains=2, burn_in=10, seed=7).energy)")
    direct = float(report["result"])
    check(values[7] == direct and values[8] != direct, f"CLI {values}, API seed 7: {direct}")
    return "correct", f"seed 7: {values[7]} (= API), seed 8: {values[8]}"


@case("CLI -h, thermo -h", "help lists the commands and the sampling flags")
def _():
    top, sub = cli("-h"), cli("thermo", "-h")
    check(top.returncode == 0 and all(c in top.out for c in ("thermo", "sweep", "results", "methods")),
          f"-h: {short(top.out)}")
    flags = ("--seed", "--n-sweeps", "--n-chains", "--burn-in", "--json")
    check(sub.returncode == 0 and all(f in sub.out for f in flags), f"thermo -h lacks {[f for f in flags if f not in sub.out]}")
    return "correct", "commands and flags listed"


@case("CLI table shows the method: [method: kaufman]", "the title keeps '[method: kaufman]'")
def _():
    result = cli("thermo", "ising-square", "--L", 4, "--beta", 0.4, "--method", "kaufman")
    check(result.returncode == 0 and "[method: kaufman]" in result.out, short(result.out[:200]))
    return "correct", "shown as written"


@case("Rich markup: a study named 'x[/bold]' (and '[red]y'), progress bar on",
      "exit 0, the name shown as written")
def _():
    for k, name in enumerate(("x[/bold]", "[red]y")):
        where = folder(f"markup{k}")
        study = chain_study(where, name=name)
        result = cli("sweep", study, "--workers", 1, "--progress", env={"FORCE_COLOR": "1"})
        timed_out(result)
        check(result.returncode == 0 and "Traceback" not in result.err, f"{name}: status {result.returncode}: "
                                                                         f"{short(result.err[-200:])}")
        plain = re.sub(r"\x1b\[[0-9;]*m", "", result.err)
        check(name in plain, f"{name!r} not shown in the progress bar")
    return "correct", "both names shown as written"


@case("statmech thermo ising-cubic --L 8 --beta 0.3 (no exact method)",
      "exit 2; suggestions only of methods that apply (not transfer)")
def _():
    result = cli("thermo", "ising-cubic", "--L", 8, "--beta", 0.3)
    line = one_line_error(result, r"methods that apply: ")
    suggested = line.split("methods that apply: ")[1].split(" (")[0].split(", ")
    check("transfer" not in suggested, f"suggests transfer: {suggested}")
    _, report = python_case("import statmech as sm\nresult = sm.available_methods(sm.Ising.cubic(8))")
    applicable = eval(report["result"])
    check(set(suggested) <= set(applicable), f"suggested {suggested}, apply {applicable}")
    return "error", short(line, 120)


cli_error("statmech methods ising-square (no --L)", ["methods", "ising-square"], r"--L")


@case("--json strict at beta = 0 (ising-chain L = 4, beta 0 and 0.5)", "parses with no -Infinity/NaN; null + a note")
def _():
    result = cli("thermo", "ising-chain", "--L", 4, "--beta", 0, "--beta", 0.5, "--json")
    check(result.returncode == 0, short(result.err))

    def refuse(constant):
        raise Fail(f"not strict JSON: {constant}")
    data = json.loads(result.out, parse_constant=refuse)
    check(data["free_energy"]["value"][0] is None and data.get("notes"), f"free_energy {data['free_energy']}")
    return "correct", f"null at beta=0; notes: {short(data['notes'][0], 70)}"


@case("file errors: missing folder (sweep --store, results --out)", "exit 2, one line each")
def _():
    where = folder("missing")
    store = swept(where)
    lines = [one_line_error(cli("results", store, "--to", "csv", "--out", where / "nope" / "x.csv"), r"nope"),
             one_line_error(cli("sweep", where / "study.toml", "--store", where / "nope" / "s.sqlite", "--workers", 1),
                            r"nope")]
    return "error", f"2/2; {short(lines[1], 110)}"


@case("file errors: an existing directory (results --out DIR, sweep --store DIR, results DIR)", "exit 2, one line each")
def _():
    where = folder("directory")
    store = swept(where)
    lines = [one_line_error(cli("results", store, "--to", "csv", "--out", where), r"."),
             one_line_error(cli("sweep", where / "study.toml", "--store", where, "--workers", 1), r"."),
             one_line_error(cli("results", where), r".")]
    return "error", f"3/3; {short(lines[0], 110)}"


@case("file errors: --out an existing file (tour --out FILE, report --out FILE)", "exit 2, one line each")
def _():
    where = folder("out-file")
    store = swept(where)
    lines = [one_line_error(cli("tour", "--out", where / "study.toml", "--quick"), r"a file"),
             one_line_error(cli("report", store, "--out", where / "study.toml"), r"a file")]
    return "error", f"2/2; {short(lines[1], 110)}"


cli_error("file errors: a missing study file", ["sweep", "/nonexistent/study.toml"], r"study")
cli_error("CLI: unknown option --n-sweep", ["thermo", "ising-square", "--L", 4, "--beta", 0.4, "--n-sweep", 5],
          r"--n-sweep")

# ---------------------------------------------------------------- 5. documentation and packaging
api_correct("help(sm.thermo) lists every method", "each registered method name in the docstring",
            """\
            import pydoc, statmech as sm
            text = pydoc.render_doc(sm.thermo)
            names = sm.available_methods()
            missing = [n for n in names if f'"{n}"' not in text]
            result = (len(names), missing)
            ok = not missing
            """)
api_error("unknown option names the valid ones: thermo(method='metropolis', n_sweep=10)",
          "import statmech as sm\nsm.thermo(sm.Ising.square(4), 0.4, method='metropolis', n_sweep=10)",
          "Exception", r"n_sweeps")
api_error("unknown option does not expose internals", "import statmech as sm\n"
          "sm.thermo(sm.Ising.square(4), 0.4, method='metropolis', n_sweep=10)", "Exception", r"^(?!.*_mc_thermo)")
api_error("unknown option of an estimator: log_z(method='ais', n_step=10)",
          "import statmech as sm\nsm.log_z(sm.Ising.square(4), 0.4, method='ais', n_step=10)",
          "Exception", r"n_steps")
api_correct("type hints on the public API", "every exported function annotates its return value",
            """\
            import inspect, statmech as sm
            functions = [n for n in sm.__all__ if inspect.isfunction(getattr(sm, n))]
            missing = [n for n in functions if "return" not in getattr(sm, n).__annotations__]
            result = (len(functions), missing)
            ok = not missing
            """)
pytest_case("docs: every example runs and prints what the page claims", "tests/test_docs.py passes",
            "tests/test_docs.py")


@case("dependencies: optax unused, pfapack an extra", "neither in [project] dependencies nor imported by src/")
def _():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    required = " ".join(project.get("dependencies", []))
    imports = subprocess.run(["grep", "-rlE", r"^\s*(import|from) (optax|pfapack)", str(SRC)],
                             capture_output=True, text=True).stdout.split()
    check("optax" not in required and "pfapack" not in required and not imports,
          f"dependencies: {required}; imported in {imports}")
    extras = {name: deps for name, deps in project.get("optional-dependencies", {}).items()
              if any("pfapack" in d for d in deps)}
    return "correct", f"pfapack only in extras {sorted(extras)}; optax nowhere"


@case("LICENSE, CHANGELOG, py.typed", "present; py.typed shipped as package data")
def _():
    missing = [p for p in ("LICENSE", "CHANGELOG.md", "src/statmech/py.typed") if not (ROOT / p).exists()]
    check(not missing, f"missing {missing}")
    check("py.typed" in (ROOT / "pyproject.toml").read_text(), "py.typed not in package-data")
    license_text = (ROOT / "LICENSE").read_text()
    check("MIT" in license_text or "Permission is hereby granted" in license_text, "LICENSE is not MIT")
    return "correct", "all present"


@case("no references to DESIGN.md, the issue tracker or files outside the repository",
      "grep README.md, docs/, src/, examples/ finds none")
def _():
    pattern = r"DESIGN\.md|\bissues? (show|tracker|list|note|resolved)\b|See `issues`|\.\./shared|/work/"
    hits = subprocess.run(["grep", "-rnIE", pattern, "README.md", "docs", "src", "examples", "mkdocs.yml"],
                          capture_output=True, text=True, cwd=ROOT).stdout.strip().splitlines()
    check(not hits, f"{len(hits)} hits: {short(' | '.join(hits), 200)}")
    return "correct", "none"


@case("mkdocs build --strict (the API reference)", "builds with no warning")
def _():
    mkdocs = Path(PYTHON).parent / "mkdocs"
    if not mkdocs.exists():
        mkdocs = Path("/work/main/.venv/bin/mkdocs")
    site = WORK / "site"
    result = run([str(mkdocs), "build", "--strict", "-d", str(site)], timeout=600, cwd=ROOT,
                 env={"NO_MKDOCS_2_WARNING": "1"})
    timed_out(result)
    warnings_ = [line for line in result.err.splitlines() if "WARNING" in line]
    check(result.returncode == 0 and not warnings_, f"status {result.returncode}; {len(warnings_)} warnings: "
                                                     f"{short(' | '.join(warnings_), 200)}")
    return "correct", f"built in {result.seconds:.0f} s, 0 warnings"


# ------------------------------------------------------------------ main
def main() -> int:
    global TIMEOUT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", default="", help="run only the cases whose name contains this")
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds per case subprocess")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    args = parser.parse_args()
    TIMEOUT = args.timeout
    chosen = [c for c in CASES if args.k.lower() in c.name.lower()]
    if args.list:
        for c in chosen:
            print(f"{c.name}  --  {c.expected}")
        return 0
    counts = {"error": 0, "correct": 0, "skipped": 0, "FAIL": 0}
    failures = []
    for c in chosen:
        began = time.monotonic()
        try:
            outcome, seen = c.body()
            verdict = "SKIP" if outcome == "skipped" else "PASS"
        except Fail as failure:
            outcome, seen, verdict = "FAIL", str(failure), "FAIL"
        except Exception as error:  # the audit itself broke on this case
            outcome, seen, verdict = "FAIL", f"audit error {type(error).__name__}: {short(error)}", "FAIL"
        counts[outcome] += 1
        if verdict == "FAIL":
            failures.append(c.name)
        print(f"{verdict} | {c.name} | expected: {c.expected} | {outcome}: {seen} "
              f"[{time.monotonic() - began:.0f} s]", flush=True)
    print(f"\ncases tried: {len(chosen)}; clear error before work: {counts['error']}; "
          f"correct answer: {counts['correct']}; FAIL: {counts['FAIL']}"
          + (f"; skipped: {counts['skipped']}" if counts["skipped"] else ""))
    for name in failures:
        print(f"  FAIL: {name}")
    shutil.rmtree(WORK, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
