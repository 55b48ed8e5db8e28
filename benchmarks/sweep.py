"""Sweep throughput: tasks per second, local (in-process and a process pool) vs a Dask LocalCluster.

A 200-point sweep of small exact tasks (Kaufman on L x L square lattices,
~1 ms each), so the figure measures the sweep machinery: task dispatch,
result transfer and one SQLite transaction per task. Every timing includes
the workers' start-up (spawned processes import statmech) except the Dask
cluster's own start, which runs before the clock starts as for a cluster
already running (its workers import statmech on their first task). The
steady-state rate counts from the first stored result on. Printed as ratios
against the in-process run.

    python benchmarks/sweep.py [--points 200] [--workers 2]
"""
from __future__ import annotations

import argparse
import pathlib
import tempfile
import time

from statmech.studies._sweep import run_sweep

STUDY = """\
[study]
name = "bench-sweep"
[model]
kind = "ising-square"
[method]
name = "kaufman"
[grid]
L = [8, 16]
beta = [{betas}]
"""


def write_study(folder: pathlib.Path, n_points: int) -> pathlib.Path:
    n_betas = max(1, n_points // 2)
    betas = ", ".join(repr(0.05 + 0.9 * k / n_betas) for k in range(n_betas))
    path = folder / "bench.toml"
    path.write_text(STUDY.format(betas=betas))
    return path


def benchmark_sweep(n_points: int = 200, workers: int = 2) -> dict[str, dict[str, float]]:
    """Throughput of one sweep run in-process, in a pool of ``workers`` processes, and on Dask.

    For each backend: ``rate`` = tasks / wall time (start-up included),
    ``steady`` = tasks per second after the first stored result, and
    ``startup`` = seconds until the first result (spawning workers, importing
    statmech, connecting to the scheduler, plus one task).
    """
    from distributed import LocalCluster

    results = {}
    with tempfile.TemporaryDirectory() as folder:
        folder = pathlib.Path(folder)
        study = write_study(folder, n_points)

        def measure(label, **kwargs):
            start = time.perf_counter()
            summary = run_sweep(study, folder / f"{len(results)}.sqlite", progress=False, **kwargs)
            seconds = time.perf_counter() - start
            assert summary.n_done == summary.n_tasks and summary.n_failed == 0
            results[label] = {"rate": summary.n_done / seconds, "steady": summary.steady_tasks_per_second,
                              "startup": summary.first_result_seconds}

        measure("in-process (workers=1)", workers=1)
        measure(f"process pool (workers={workers})", workers=workers)
        with LocalCluster(n_workers=workers, processes=True, threads_per_worker=1,
                          dashboard_address=None) as cluster:
            measure(f"dask LocalCluster ({workers} workers)", scheduler=cluster.scheduler_address)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    results = benchmark_sweep(args.points, args.workers)
    baseline = next(iter(results.values()))
    print(f"{args.points}-point sweep of exact Kaufman tasks (L = 8, 16), {args.workers} workers")
    print(f"  {'backend':<32} {'tasks/s':>8} {'ratio':>6} {'steady':>8} {'ratio':>6} {'start-up':>9}")
    for label, r in results.items():
        print(f"  {label:<32} {r['rate']:8.1f} {r['rate'] / baseline['rate']:6.2f} "
              f"{r['steady']:8.1f} {r['steady'] / baseline['steady']:6.2f} {r['startup']:8.2f}s")


if __name__ == "__main__":
    main()
