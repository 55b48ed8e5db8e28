"""Start-up of Monte Carlo: the first sm.thermo call of a fresh process, cold and with the compile cache.

usage: python benchmarks/compile_cache.py

Runs the same script in three fresh processes sharing a new, empty cache
directory: without the cache (STATMECH_COMPILE_CACHE=0), then twice with it
(the first fills it, the second reads it). Prints the first call's wall and
CPU time and the total XLA compilation time JAX logs, with the ratio against
the uncached process.
"""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = r"""
import io, json, logging, re, time
import jax
import statmech as sm
stream = io.StringIO()
logging.getLogger("jax").addHandler(logging.StreamHandler(stream))
logging.getLogger("jax").setLevel(logging.WARNING)
jax.config.update("jax_log_compiles", True)
model = sm.Ising.square(16)
wall, cpu = time.perf_counter(), time.process_time()
sm.thermo(model, 0.44, method="metropolis", n_sweeps=200)
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
log = stream.getvalue()
compile_seconds = sum(float(x) for x in re.findall(r"Finished XLA compilation of .* in ([0-9.]+) sec", log))
print(json.dumps({"wall": wall, "cpu": cpu, "compile": compile_seconds,
                  "hits": log.count("Persistent compilation cache hit")}))
"""


def run(cache, env_value):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    env["STATMECH_COMPILE_CACHE"] = env_value if env_value == "0" else str(cache)
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        cache = pathlib.Path(folder) / "jax"
        rows = [("no cache (STATMECH_COMPILE_CACHE=0)", run(cache, "0")),
                ("cache, first process (fills it)", run(cache, "on")),
                ("cache, second process (reads it)", run(cache, "on"))]
    base = rows[0][1]
    print(f"{'first sm.thermo(metropolis, L=16) of a process':<44} {'wall':>7} {'CPU':>7} {'XLA compile':>12} "
          f"{'hits':>5} {'compile speed-up':>17}")
    for name, r in rows:
        print(f"{name:<44} {r['wall']:6.2f}s {r['cpu']:6.2f}s {r['compile']:11.2f}s {r['hits']:>5} "
              f"{base['compile'] / max(r['compile'], 1e-9):16.1f}x")


if __name__ == "__main__":
    main()
