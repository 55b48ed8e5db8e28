"""A full disk and a read-only file system, for real: a small tmpfs (needs root; skipped otherwise).

The store must report "the disk is full" in one line (not SQLite's "cannot
rollback"), keep every task stored before, and resume once there is room;
exports must leave no truncated file; a store on a read-only file system
must read and export, and be refused for writing as read-only, not corrupt.
"""
import os
import shutil
import subprocess

import pytest

from statmech.studies._export import export_results
from statmech.studies._store import ResultStore, StoreError
from statmech.studies._sweep import run_sweep

STUDY = """\
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


@pytest.fixture
def small_disk(tmp_path):
    """Mount a 300 kB tmpfs at tmp_path/disk; yields (folder, remount(options))."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    folder = tmp_path / "disk"
    folder.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(folder)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")

    def remount(options):
        subprocess.run(["mount", "-o", f"remount,{options}", str(folder)], check=True)

    try:
        yield folder, remount
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def test_a_full_disk_is_one_clear_line_and_the_sweep_resumes(tmp_path, small_disk):
    folder, remount = small_disk
    study = tmp_path / "study.toml"
    study.write_text(STUDY)
    store = folder / "s.sqlite"
    with pytest.raises(StoreError) as caught:
        run_sweep(study, store, workers=1, progress=False)
    message = str(caught.value)
    assert "the disk is full" in message and "resume" in message and "cannot rollback" not in message
    assert "\n" not in message
    with ResultStore.open(store) as opened:
        kept = opened.counts()
    assert kept["done"] > 0 and kept["pending"] > 0 and kept["failed"] == 0

    (folder / "filler").write_bytes(b"")  # export onto the full disk: nothing partial left behind
    with pytest.raises(OSError, match="cannot write .*: the disk is full"):
        export_results(store, to="csv", out=folder / "out.csv")
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".") or p.name == "out.csv"]

    remount("size=16m")
    summary = run_sweep(study, store, resume=True, workers=1, progress=False)
    assert (summary.n_skipped, summary.n_done, summary.n_failed) == (kept["done"], 100 - kept["done"], 0)


def test_a_store_on_a_read_only_file_system_reads_but_is_not_corrupt(tmp_path, small_disk):
    folder, remount = small_disk
    remount("size=16m")
    study = tmp_path / "study.toml"
    study.write_text(STUDY)
    store = folder / "s.sqlite"
    run_sweep(study, store, workers=1, progress=False)
    remount("ro")
    with ResultStore.open(store) as opened:  # reading needs no -shm file on a read-only file system
        assert opened.counts()["done"] == 100
    assert export_results(store, to="csv", out=tmp_path / "out.csv").exists()
    with pytest.raises(OSError, match="cannot write .*: read-only file system"):
        export_results(store, to="csv", out=folder / "out.csv")
    for attempt in (lambda: ResultStore.open(store, writable=True),
                    lambda: run_sweep(study, store, resume=True, workers=1, progress=False)):
        with pytest.raises(StoreError, match="read-only") as caught:
            attempt()
        assert "corrupt" not in str(caught.value)
    with pytest.raises(StoreError, match="Read-only file system"):
        run_sweep(study, folder / "new.sqlite", workers=1, progress=False)
