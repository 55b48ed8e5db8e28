"""Sweeps: values, resume, the kill test, Dask, failures, malformed studies and exports.

The kill test runs a sweep in a subprocess, SIGKILLs it when part of the
tasks are stored, resumes it, and requires the store to equal an
uninterrupted sweep's bit for bit (no duplicates, no partial tasks).
"""
import math
import re
import pathlib
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

import statmech as sm
from statmech.models._disorder import EdwardsAnderson
from statmech.studies._export import export_results, load_results, results_table
from statmech.studies._store import ResultStore, StoreError
from statmech._registry import get_method
from statmech.studies._study import MAX_TASKS, StudyError, load_study, method_options
from statmech.studies._sweep import SweepError, compute_task, run_sweep

CHAIN_STUDY = """\
[study]
name = "chain-transfer"
[model]
kind = "ising-chain"
periodic = true
J = 1.0
h = 0.0
[method]
name = "transfer"
[grid]
L = [4, 6]
beta = [0.2, 0.5, 1.0]
"""

# 40 exact tasks on Edwards–Anderson instances (disorder seeds), ~0.05 s each.
KILL_STUDY = """\
[study]
name = "ea-kill"
[model]
kind = "edwards-anderson"
L = 7
couplings = "gaussian"
[method]
name = "transfer"
[grid]
beta = [0.3, 0.6, 0.9, 1.2]
seeds = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
"""


def write(tmp_path, text, name="study.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def dump(store_path):
    """Every task (id, status) and result row, floats as hex: a bit-for-bit fingerprint."""
    connection = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True)
    try:
        tasks = connection.execute("SELECT task_id, status FROM tasks ORDER BY position").fetchall()
        rows = connection.execute("SELECT task_id, quantity, value, stderr FROM results "
                                  "ORDER BY task_id, quantity").fetchall()
    finally:
        connection.close()
    hexed = [(t, q, None if v is None else float(v).hex(), None if e is None else float(e).hex())
             for t, q, v, e in rows]
    return tasks, hexed


def count_done(store_path):
    connection = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True, timeout=5)
    try:
        return connection.execute("SELECT count(*) FROM tasks WHERE status = 'done'").fetchone()[0]
    finally:
        connection.close()


# ------------------------------------------------------------------ values
def test_grid_sweep_matches_direct_thermo_and_closed_form(tmp_path):
    study = write(tmp_path, CHAIN_STUDY)
    summary = run_sweep(study, tmp_path / "chain.sqlite", workers=1, progress=False)
    assert (summary.n_tasks, summary.n_done, summary.n_skipped, summary.n_failed) == (6, 6, 0, 0)
    ds = load_results(tmp_path / "chain.sqlite")
    assert ds.sizes == {"L": 2, "beta": 3, "seed": 1}
    assert list(ds.L.values) == [4, 6] and list(ds.beta.values) == [0.2, 0.5, 1.0]
    for L in (4, 6):
        for beta in (0.2, 0.5, 1.0):
            direct = sm.thermo(sm.Ising.chain(L, J=1.0, h=0.0, periodic=True), beta, method="transfer")
            point = ds.sel(L=L, beta=beta, seed=0)
            for name in direct.available():
                assert float(point[name]) == float(getattr(direct, name).value), name  # bit for bit
                assert math.isnan(float(point[f"{name}_stderr"]))  # exact: no error bar
            # independent closed form: Z = (2 cosh βJ)^L + (2 sinh βJ)^L for the periodic chain
            closed = math.log((2 * math.cosh(beta)) ** L + (2 * math.sinh(beta)) ** L)
            assert float(point["log_z"]) == pytest.approx(closed, rel=1e-12)
    assert (ds.task_status.values == 1).all()


def test_disorder_seeds_are_instances_and_mc_seeds_are_passed(tmp_path):
    # Edwards–Anderson: seed k is ensemble.sample(k); enumeration gives log Z of that instance
    study = write(tmp_path, """\
[study]
name = "ea"
[model]
kind = "edwards-anderson"
L = 3
couplings = "gaussian"
[method]
name = "enumerate"
[grid]
beta = [0.7]
seeds = [3, 11]
""")
    run_sweep(study, tmp_path / "ea.sqlite", workers=1, progress=False)
    ds = load_results(tmp_path / "ea.sqlite")
    for seed in (3, 11):
        model = EdwardsAnderson(3, couplings="gaussian").sample(seed)
        # brute force over the 2^9 states, written here with plain NumPy
        states = 1 - 2 * ((np.arange(2**9)[:, None] >> np.arange(9)) & 1)
        edges, couplings = np.asarray(model.edges), np.asarray(model.couplings)
        energies = -(states[:, edges[:, 0]] * states[:, edges[:, 1]] * couplings).sum(axis=1)
        a = -0.7 * energies
        expected = a.max() + math.log(np.exp(a - a.max()).sum())
        assert float(ds.log_z.sel(beta=0.7, seed=seed)) == pytest.approx(expected, rel=1e-12)


def test_monte_carlo_task_gets_the_grid_seed(tmp_path):
    config = {"model": {"kind": "ising-chain", "L": 6, "J": 1.0, "h": 0.0, "periodic": True},
              "method": "metropolis", "options": {"n_sweeps": 64, "n_chains": 2}, "beta": 0.4}
    outcome = compute_task({"task_id": "t", "config": config, "seed": 5})
    assert outcome["status"] == "done", outcome["error"]
    direct = sm.thermo(sm.Ising.chain(6), 0.4, method="metropolis", n_sweeps=64, n_chains=2, seed=5)
    other = sm.thermo(sm.Ising.chain(6), 0.4, method="metropolis", n_sweeps=64, n_chains=2, seed=6)
    stored = {row["quantity"]: row for row in outcome["results"]}
    assert stored["energy"]["value"] == float(direct.energy.value)
    assert stored["energy"]["stderr"] == float(direct.energy.stderr)
    assert stored["energy"]["value"] != float(other.energy.value)  # the seed matters
    assert outcome["meta"]["seed"] == 5


# ------------------------------------------------------------------ resume
def test_resume_skips_done_tasks(tmp_path):
    study = write(tmp_path, CHAIN_STUDY)
    store = tmp_path / "chain.sqlite"
    run_sweep(study, store, workers=1, progress=False)
    reference = dump(store)
    # simulate a crash: three tasks lose their results and go back to pending
    connection = sqlite3.connect(store)
    lost = [row[0] for row in connection.execute("SELECT task_id FROM tasks ORDER BY position DESC LIMIT 3")]
    connection.executemany("DELETE FROM results WHERE task_id = ?", [(t,) for t in lost])
    connection.executemany("UPDATE tasks SET status = 'pending' WHERE task_id = ?", [(t,) for t in lost])
    connection.commit()
    connection.close()
    summary = run_sweep(study, store, resume=True, workers=1, progress=False)
    assert (summary.n_done, summary.n_skipped, summary.n_failed) == (3, 3, 0)
    assert dump(store) == reference
    again = run_sweep(study, store, resume=True, workers=1, progress=False)
    assert (again.n_done, again.n_skipped) == (0, 6)


def test_existing_store_needs_resume_and_the_same_study(tmp_path):
    study = write(tmp_path, CHAIN_STUDY)
    store = tmp_path / "chain.sqlite"
    run_sweep(study, store, workers=1, progress=False)
    before = store.read_bytes(), store.stat().st_mtime_ns
    with pytest.raises(StoreError, match="already exists.*resume"):
        run_sweep(study, store, workers=1, progress=False)
    changed = write(tmp_path, CHAIN_STUDY.replace("beta = [0.2, 0.5, 1.0]", "beta = [0.2, 0.5]"), "other.toml")
    with pytest.raises(StoreError, match="different study"):
        run_sweep(changed, store, resume=True, workers=1, progress=False)
    assert (store.read_bytes(), store.stat().st_mtime_ns) == before
    # comments and layout are not part of the study: the same study resumes
    same = write(tmp_path, "# a comment\n" + CHAIN_STUDY.replace("J = 1.0", "J = 1"), "same.toml")
    assert run_sweep(same, store, resume=True, workers=1, progress=False).n_skipped == 6


def test_kill_minus_nine_then_resume_equals_an_uninterrupted_sweep(tmp_path):
    study = write(tmp_path, KILL_STUDY)
    reference_store = tmp_path / "reference.sqlite"
    assert run_sweep(study, reference_store, workers=1, progress=False).n_done == 40

    store = tmp_path / "killed.sqlite"
    code = (f"from statmech.studies._sweep import run_sweep\n"
            f"run_sweep({str(study)!r}, {str(store)!r}, workers=1, progress=False)\n")
    process = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 120
        done_at_kill = None
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"the sweep ended (status {process.returncode}) before it could be killed")
            if store.exists() and count_done(store) >= 12:
                os.kill(process.pid, signal.SIGKILL)
                break
            time.sleep(0.002)
        else:
            pytest.fail("the sweep made no progress in 120 s")
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    done_at_kill = count_done(store)
    assert 12 <= done_at_kill < 40

    # no partial task: every done task has all its quantities, no pending task has any
    reference_tasks, reference_rows = dump(reference_store)
    n_quantities = len(reference_rows) // 40
    tasks, rows = dump(store)
    per_task = {}
    for task_id, *_ in rows:
        per_task[task_id] = per_task.get(task_id, 0) + 1
    status = dict(tasks)
    assert all(per_task.get(t, 0) == (n_quantities if s == "done" else 0) for t, s in status.items())

    summary = run_sweep(study, store, resume=True, workers=1, progress=False)
    assert (summary.n_skipped, summary.n_done, summary.n_failed) == (done_at_kill, 40 - done_at_kill, 0)
    tasks, rows = dump(store)
    assert tasks == reference_tasks
    assert len(rows) == len(set((t, q) for t, q, *_ in rows)) == len(reference_rows)
    assert rows == reference_rows  # bit for bit


# ------------------------------------------------------------------ parallel backends
def test_process_pool_gives_the_same_values(tmp_path):
    study = write(tmp_path, CHAIN_STUDY)
    run_sweep(study, tmp_path / "serial.sqlite", workers=1, progress=False)
    summary = run_sweep(study, tmp_path / "pool.sqlite", workers=2, progress=False)
    assert summary.n_done == 6
    assert dump(tmp_path / "pool.sqlite") == dump(tmp_path / "serial.sqlite")


def test_dask_local_cluster_gives_the_same_values(tmp_path):
    distributed = pytest.importorskip("distributed")
    study = write(tmp_path, CHAIN_STUDY)
    run_sweep(study, tmp_path / "serial.sqlite", workers=1, progress=False)
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        summary = run_sweep(study, tmp_path / "dask.sqlite", scheduler=cluster.scheduler_address,
                            progress=False)
    assert (summary.n_done, summary.n_failed) == (6, 0)
    assert dump(tmp_path / "dask.sqlite") == dump(tmp_path / "serial.sqlite")


def test_workers_and_scheduler_are_exclusive(tmp_path):
    study = write(tmp_path, CHAIN_STUDY)
    with pytest.raises(ValueError, match="either workers .* or scheduler"):
        run_sweep(study, tmp_path / "x.sqlite", workers=2, scheduler="tcp://127.0.0.1:1")
    with pytest.raises(ValueError, match="workers must be a positive int"):
        run_sweep(study, tmp_path / "x.sqlite", workers=0)
    assert not (tmp_path / "x.sqlite").exists()


# ------------------------------------------------------------------ failures
def test_failing_tasks_are_stored_with_their_error_and_the_sweep_goes_on(tmp_path):
    study = write(tmp_path, """\
[study]
name = "fails"
[model]
kind = "ising-chain"
L = 4
[method]
name = "metropolis"
[method.options]
n_sweeps = -5
[grid]
beta = [0.2, 0.4]
seeds = [0, 1]
""")
    store = tmp_path / "fails.sqlite"
    summary = run_sweep(study, store, workers=1, progress=False)
    assert (summary.n_done, summary.n_failed) == (0, 4)
    assert "n_sweeps" in summary.failures[0][1] and "failed at" in str(summary)
    with ResultStore.open(store) as opened:
        tasks = opened.tasks()
        assert all(t["status"] == "failed" and "n_sweeps" in t["error"] for t in tasks)
        assert "Traceback" in tasks[0]["meta"]["traceback"]
        assert opened.results() == []
    assert (load_results(store).task_status.values == 2).all()
    # resume re-runs failed tasks (explicitly asked for), never duplicating rows
    again = run_sweep(study, store, resume=True, workers=1, progress=False)
    assert (again.n_skipped, again.n_failed) == (0, 4)


# ------------------------------------------------------------------ malformed studies
BAD_STUDIES = {
    "syntax": ("J = 1.0", "J = = 1.0", 6, "model.J", "TOML syntax error"),
    "unknown key": ("J = 1.0", "J = 1.0\nspin = 3", 7, "model.spin", "unknown key"),
    "negative size": ("L = [4, 6]", "L = [4, -6]", 11, "grid.L", "positive integer"),
    "zero size": ("L = [4, 6]", "L = [0]", 11, "grid.L", "positive integer"),
    "empty beta": ("beta = [0.2, 0.5, 1.0]", "beta = []", 12, "grid.beta", "empty"),
    "negative beta": ("beta = [0.2, 0.5, 1.0]", "beta = [0.2, -1.0]", 12, "grid.beta", ">= 0"),
    "unknown method": ('name = "transfer"', 'name = "transfr"', 9, "method.name", "unknown method"),
    "unknown kind": ('kind = "ising-chain"', 'kind = "potts"', 4, "model.kind", "unknown model kind"),
    "wrong type": ("periodic = true", 'periodic = "yes"', 5, "model.periodic", "true or false"),
    "unknown option": ('name = "transfer"', 'name = "transfer"\n[method.options]\nn_sweeps = 10',
                       11, "method.options.n_sweeps", "takes no option"),
}


@pytest.mark.parametrize("case", sorted(BAD_STUDIES))
def test_malformed_study_names_file_line_and_key_and_writes_nothing(tmp_path, case):
    old, new, line, key, message = BAD_STUDIES[case]
    good = write(tmp_path, CHAIN_STUDY)
    store = tmp_path / "chain.sqlite"
    run_sweep(good, store, workers=1, progress=False)
    before = store.read_bytes(), store.stat().st_mtime_ns
    assert old in CHAIN_STUDY
    bad = write(tmp_path, CHAIN_STUDY.replace(old, new), "bad.toml")
    for target, resume in ((store, True), (tmp_path / "new.sqlite", False)):
        with pytest.raises(StudyError, match=message) as caught:
            run_sweep(bad, target, resume=resume, workers=1, progress=False)
        error = caught.value
        assert (error.path, error.line, error.key) == (str(bad), line, key)
        assert str(error).startswith(f"{bad}:{line}: {key}: ") and "\n" not in str(error)
    assert (store.read_bytes(), store.stat().st_mtime_ns) == before
    assert not (tmp_path / "new.sqlite").exists()


def test_missing_study_file():
    with pytest.raises(StudyError, match="no such study file"):
        load_study("/nonexistent/study.toml")


def test_inapplicable_method_is_refused_before_running(tmp_path):
    bad = write(tmp_path, CHAIN_STUDY.replace('"transfer"', '"kaufman"'))
    with pytest.raises(StudyError, match=r"'kaufman' does not apply.*L = 4") as caught:
        run_sweep(bad, tmp_path / "x.sqlite", workers=1, progress=False)
    assert caught.value.key == "method.name" and caught.value.line == 9


# ------------------------------------------------------------------ exports
def test_exports_netcdf_and_csv(tmp_path):
    xr = pytest.importorskip("xarray")
    pd = pytest.importorskip("pandas")
    study = write(tmp_path, CHAIN_STUDY)
    store = tmp_path / "chain.sqlite"
    run_sweep(study, store, workers=1, progress=False)
    dataset = load_results(store)
    path = export_results(store, to="netcdf")
    assert path == tmp_path / "chain.nc"
    with xr.open_dataset(path, engine="netcdf4") as reopened:
        for name in dataset.data_vars:
            np.testing.assert_array_equal(reopened[name].values, dataset[name].values)
        assert reopened.attrs["study_hash"] == dataset.attrs["study_hash"]
        assert reopened.attrs["study_toml"] == CHAIN_STUDY
    wide = pd.read_csv(export_results(store, to="csv", out=tmp_path / "wide.csv"))
    assert len(wide) == 6 and list(wide.columns[:5]) == ["L", "beta", "seed", "status", "error"]
    assert wide["log_z_stderr"].isna().all()
    long = pd.read_csv(export_results(store, to="csv", out=tmp_path / "long.csv", layout="long"))
    assert list(long.columns) == ["L", "beta", "seed", "quantity", "value", "stderr"]
    assert len(long) == 6 * len(sm.thermo(sm.Ising.chain(4), 0.2, method="transfer").available())
    row = long[(long.L == 6) & (long.beta == 0.5) & (long.quantity == "log_z")]
    assert float(row.value.iloc[0]) == float(dataset.log_z.sel(L=6, beta=0.5, seed=0))
    assert results_table(store).shape[0] == 6
    with pytest.raises(ValueError, match="to must be one of"):
        export_results(store, to="hdf5")


def test_example_study_runs(tmp_path):
    example = pathlib.Path(__file__).resolve().parents[2] / "examples" / "study.toml"
    study = load_study(example)
    assert study.axes == ("L", "beta", "seed") and study.n_tasks == 21
    summary = run_sweep(example, tmp_path / "example.sqlite", workers=1, progress=False)
    assert (summary.n_done, summary.n_failed) == (21, 0)
    ds = load_results(tmp_path / "example.sqlite")
    # larger lattices approach Onsager's free energy density at every beta
    onsager = sm.onsager(ds.beta.values).free_entropy_density.value
    gaps = np.abs(ds.free_entropy_density.sel(seed=0).values - onsager)
    assert (np.diff(gaps, axis=0) < 0).all()


def test_any_model_parameter_can_be_a_grid_axis(tmp_path):
    xr = pytest.importorskip("xarray")
    study = write(tmp_path, """\
[study]
name = "axes"
[model]
kind = "edwards-anderson"
L = 3
[method]
name = "enumerate"
[grid]
periodic = [true, false]
couplings = ["pm1", "gaussian"]
beta = [0.5]
seeds = [4]
""")
    run_sweep(study, tmp_path / "axes.sqlite", workers=1, progress=False)
    dataset = load_results(tmp_path / "axes.sqlite")
    assert dataset.sizes == {"periodic": 2, "couplings": 2, "beta": 1, "seed": 1}
    with xr.open_dataset(export_results(tmp_path / "axes.sqlite"), engine="netcdf4") as reopened:
        assert list(reopened.periodic.values) == [1, 0]  # netCDF has no booleans
        assert list(reopened.couplings.values) == ["pm1", "gaussian"]
        point = reopened.log_z.sel(periodic=0, couplings="gaussian", beta=0.5, seed=4)
        model = EdwardsAnderson(3, couplings="gaussian", periodic=False).sample(4)
        expected = sm.thermo(model, 0.5, method="enumerate").log_z.value
        assert float(point) == float(expected)


# ------------------------------------------------------------------ issue 14: data safety

OPTION_STUDY = """\
[study]
name = "options"
[model]
kind = "ising-square"
L = 4
[method]
name = "{method}"
[method.options]
{options}
[grid]
beta = [0.3]
"""


@pytest.mark.parametrize("method, options, key, fragment", [
    ("metropolis", "n_sweep = 100", "n_sweep", "did you mean 'n_sweeps'?"),
    ("heatbath", "n_chain = 2", "n_chain", "did you mean 'n_chains'?"),
    ("pa", "n_chains = 2", "n_chains", "its options: backend, kernel, max_steps, n_runs, n_sweeps, population"),
    ("wang-landau", "sweeps = 10", "sweeps", "its options: check_every, flatness, n_sweeps, n_walkers"),
    ("kaufman", "n_sweeps = 10", "n_sweeps", "its options: none"),
])
def test_unknown_options_of_a_pass_through_method_are_refused_when_read(tmp_path, method, options, key, fragment):
    """Sampling methods take ``**options`` and forward them; a misspelt one made every task fail at run time."""
    study = write(tmp_path, OPTION_STUDY.format(method=method, options=options))
    with pytest.raises(StudyError, match=re.escape(fragment)) as caught:
        run_sweep(study, tmp_path / "s.sqlite", workers=1, progress=False)
    assert (caught.value.line, caught.value.key) == (9, f"method.options.{key}")
    assert not (tmp_path / "s.sqlite").exists()


def test_method_options_follow_the_forwarded_options():
    """Expected names read off the functions' signatures by hand (mc._sampling._mc_thermo, population_annealing,
    wang_landau, mbar_free_energy); exact methods take none."""
    model = sm.Ising.square(4)
    assert method_options(get_method("metropolis", model)) == (
        "backend", "burn_in", "n_chains", "n_sweeps", "seed", "start", "thin")
    assert method_options(get_method("pa", model)) == (  # sampler: the deprecated name of kernel
        "backend", "kernel", "max_steps", "n_runs", "n_sweeps", "population", "sampler", "schedule", "seed",
        "target_ess")
    assert method_options(get_method("wang-landau", model)) == (
        "check_every", "flatness", "n_sweeps", "n_walkers", "seed")
    assert method_options(get_method("mbar", model)) == (
        "backend", "burn_in", "kernel", "ladder", "n_sweeps", "n_temperatures", "seed", "spacing")
    for exact in ("kaufman", "transfer", "enumerate", "beale", "pfaffian"):
        assert method_options(get_method(exact, model)) == (), exact


def test_a_log_z_only_method_is_refused_when_read(tmp_path):
    study = write(tmp_path, OPTION_STUDY.format(method="ais", options=""))
    with pytest.raises(StudyError, match="estimates log Z only") as caught:
        run_sweep(study, tmp_path / "s.sqlite", workers=1, progress=False)
    assert caught.value.key == "method.name" and "metropolis" in str(caught.value)


def test_a_grid_above_the_task_limit_is_refused_before_anything_is_built(tmp_path):
    betas = ", ".join(repr(0.001 * k) for k in range(1, 2001))
    seeds = ", ".join(str(k) for k in range(1000))
    study = write(tmp_path, f"""\
[study]
name = "huge"
[model]
kind = "sk"
n = 8
[method]
name = "enumerate"
[grid]
beta = [{betas}]
seeds = [{seeds}]
""")
    with pytest.raises(StudyError, match=f"2,000,000 tasks .*limit of {MAX_TASKS:,}.* about 4.0 GB") as caught:
        run_sweep(study, tmp_path / "s.sqlite", workers=1, progress=False)
    assert caught.value.key == "grid" and "split the grid" in str(caught.value)
    assert not (tmp_path / "s.sqlite").exists()


def test_integrity_check_runs_on_resume_and_in_results(tmp_path):
    """A store whose index disagrees with its table passes quick_check, not integrity_check."""
    study = write(tmp_path, CHAIN_STUDY)
    store = tmp_path / "s.sqlite"
    run_sweep(study, store, workers=1, progress=False)
    connection = sqlite3.connect(store)
    connection.execute("PRAGMA writable_schema = ON")
    connection.execute("UPDATE sqlite_master SET sql = 'CREATE INDEX tasks_status ON tasks (seed)' "
                       "WHERE name = 'tasks_status'")
    connection.commit()
    connection.close()
    with ResultStore.open(store) as opened:  # the cheap check on every open passes
        assert opened.counts()["done"] == 6
    with pytest.raises(StoreError, match="integrity_check: row 1 missing from index"):
        run_sweep(study, store, resume=True, workers=1, progress=False)
    with pytest.raises(StoreError, match="integrity_check"):
        export_results(store, to="csv", out=tmp_path / "s.csv")
    assert not (tmp_path / "s.csv").exists()


@pytest.fixture
def swept(tmp_path):
    study = write(tmp_path, CHAIN_STUDY)
    store = tmp_path / "s.sqlite"
    run_sweep(study, store, workers=1, progress=False)
    return store


def test_export_refuses_the_store_and_existing_files(swept, tmp_path):
    before = swept.read_bytes()
    for target in (swept, tmp_path / "x" / ".." / "s.sqlite", pathlib.Path(f"{swept}-shm")):
        with pytest.raises(ValueError, match="refusing to overwrite"):
            export_results(swept, to="csv", out=target, force=True)
    assert swept.read_bytes() == before
    (tmp_path / "out.nc").write_bytes(b"old")
    with pytest.raises(ValueError, match="already exists.*force=True"):
        export_results(swept, out=tmp_path / "out.nc")
    assert (tmp_path / "out.nc").read_bytes() == b"old"
    assert export_results(swept, out=tmp_path / "out.nc", force=True) == tmp_path / "out.nc"
    assert float(load_results(swept).log_z.sel(L=4, beta=0.2, seed=0)) == pytest.approx(
        math.log((2 * math.cosh(0.2)) ** 4 + (2 * math.sinh(0.2)) ** 4), rel=1e-12)


def test_a_failed_export_leaves_no_partial_file_and_says_why(swept, tmp_path, monkeypatch):
    import errno

    import pandas as pd
    import xarray as xr

    def half_then_full(self, path, **kwargs):
        pathlib.Path(path).write_text("L,beta,se")  # a truncated file, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_full)
    (tmp_path / "kept.csv").write_text("previous export\n")
    with pytest.raises(OSError, match=r"cannot write .*kept.csv: the disk is full$") as caught:
        export_results(swept, to="csv", out=tmp_path / "kept.csv", force=True)
    assert "\n" not in str(caught.value)
    assert (tmp_path / "kept.csv").read_text() == "previous export\n"  # the old file is intact

    def hdf5_on_a_full_disk(self, path, **kwargs):
        pathlib.Path(path).write_bytes(b"")  # netCDF4 leaves a 0-byte file and says "Permission denied"
        raise PermissionError(13, "Permission denied")

    class Full:
        f_flag, f_bavail, f_frsize = 0, 0, 4096

    monkeypatch.setattr(xr.Dataset, "to_netcdf", hdf5_on_a_full_disk)
    monkeypatch.setattr("statmech.studies._export.os.statvfs", lambda folder: Full())
    with pytest.raises(OSError, match=r"cannot write .*new.nc: the disk is full \(0 bytes free\)"):
        export_results(swept, out=tmp_path / "new.nc")
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".") or p.name == "new.nc"]


@pytest.mark.slow  # spawning a worker that imports statmech: ~10-25 s on a busy machine
def test_pool_workers_exit_when_the_sweep_process_is_killed(tmp_path):
    """kill -9 of the process that owns a pool: its workers must not live on as orphans."""
    code = ("import os, signal, sys, time\n"
            "from statmech.studies._workers import process_pool\n"
            "if __name__ == '__main__':\n"
            "    pool = process_pool(1)\n"
            "    pool.submit(time.sleep, 0).result()\n"  # the worker is up (and past init_worker)
            "    print(*[p.pid for p in pool._processes.values()], flush=True)\n"
            "    pool.submit(time.sleep, 600)\n"
            "    time.sleep(0.5)\n"
            "    os.kill(os.getpid(), signal.SIGKILL)\n")
    script = tmp_path / "owner.py"
    script.write_text(code)
    printed = tmp_path / "pids.txt"
    with open(printed, "w") as out:  # a file, not a pipe: an orphan would hold a pipe open
        returncode = subprocess.run([sys.executable, str(script)], stdout=out, timeout=300).returncode
    assert returncode == -signal.SIGKILL
    workers = [int(pid) for pid in printed.read_text().split()]
    assert workers
    deadline = time.monotonic() + 20
    alive = workers
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in workers if _alive(pid)]
        time.sleep(0.1)
    for pid in alive:
        os.kill(pid, signal.SIGKILL)  # clean up before failing
    assert not alive, "pool workers outlived their parent"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.slow  # a Dask cluster and a 2 s timeout: ~15-30 s
def test_a_lost_dask_scheduler_fails_the_sweep_and_leaves_the_rest_for_resume(tmp_path):
    distributed = pytest.importorskip("distributed")
    import threading

    study = write(tmp_path, KILL_STUDY)
    store = tmp_path / "dask.sqlite"
    cluster = distributed.LocalCluster(n_workers=1, processes=False, threads_per_worker=1, dashboard_address=None)

    def stop_scheduler_after_some_tasks():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if store.exists() and count_done(store) >= 4:
                break
            time.sleep(0.01)
        cluster.sync(cluster.scheduler.close)

    stopper = threading.Thread(target=stop_scheduler_after_some_tasks, daemon=True)
    try:
        stopper.start()
        with pytest.raises(SweepError, match=r"lost the Dask scheduler .*\(no contact for 2 s.*resume"):
            run_sweep(study, store, scheduler=cluster.scheduler_address, progress=False, scheduler_timeout=2)
    finally:
        stopper.join(timeout=60)
        cluster.close()
    done = count_done(store)
    assert 4 <= done < 40
    summary = run_sweep(study, store, resume=True, workers=1, progress=False)
    assert (summary.n_skipped, summary.n_done, summary.n_failed) == (done, 40 - done, 0)
