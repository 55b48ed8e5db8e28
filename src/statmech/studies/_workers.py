"""Worker processes shared by the tour, sweeps and quenched averages.

Processes are *spawned*, never forked: forking a process in which JAX runs
threads is unsafe. Each worker starts with :func:`init_worker`, which also
starts a watchdog: a worker whose parent process dies (``kill -9``, out of
memory) exits within about a second instead of living on as an orphan.
"""
from __future__ import annotations

import concurrent.futures
import multiprocessing
import numbers
import os
import threading
import time

from statmech._compile_cache import ensure_compile_cache

PARENT_POLL_SECONDS = 0.5
"""How often a worker checks that the process that started it is still alive."""


def exit_with_parent(parent_pid: int | None = None, poll: float = PARENT_POLL_SECONDS) -> threading.Thread:
    """Start a daemon thread that ends this process (``os._exit``) once its parent has died.

    A dead parent's children are re-parented (to init or a subreaper), so
    ``os.getppid()`` changes; the thread polls it every ``poll`` seconds.
    Portable (no ``prctl``), and unaffected by which thread started the process.
    """
    parent_pid = os.getppid() if parent_pid is None else parent_pid

    def watch():
        while True:
            time.sleep(poll)
            if os.getppid() != parent_pid:
                os._exit(1)  # noqa: SLF001 - no clean-up to run: the parent that wanted our results is gone

    thread = threading.Thread(target=watch, name="statmech-exit-with-parent", daemon=True)
    thread.start()
    return thread


def init_worker() -> None:
    """Worker start-up: exit with the parent; GPU memory allocated as needed (processes share a GPU);
    compiled kernels cached on disk.

    Compiling the Monte Carlo and sampling kernels is most of a short task's
    time; the persistent compilation cache (:func:`statmech._compile_cache.ensure_compile_cache`,
    the same folder and the same ``STATMECH_COMPILE_CACHE`` switch as in the
    caller) makes a second run start warm. Results do not depend on it.
    """
    exit_with_parent()
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    ensure_compile_cache()


def check_workers(workers) -> int:
    """``workers`` as an int >= 1 (1 computes in the calling process), or a ValueError."""
    if isinstance(workers, bool) or not isinstance(workers, numbers.Integral) or workers < 1:
        raise ValueError(f"workers must be a positive int (1 computes in this process), got {workers!r}")
    return int(workers)


def process_pool(workers: int) -> concurrent.futures.ProcessPoolExecutor:
    """A pool of ``workers`` spawned processes, each started with :func:`init_worker`."""
    context = multiprocessing.get_context("spawn")
    return concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                                  initializer=init_worker)
