#!/usr/bin/env bash
# The GPU check, about 5 minutes of device time: the gpu-marked tests, then the throughput benchmark.
#
# usage (from the repository root): bash benchmarks/gpu_check.sh [L ...]     (default L = 4096 16384)
# Extra wheels (a CUDA build of jaxlib) are expected in /tmp/site; PYTHON picks the interpreter.
set -u
cd "$(dirname "$0")/.."
export PYTHONPATH="src:/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
PYTHON="${PYTHON:-python}"
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(4096 16384)
status=0
start=$(date +%s)
timeout 140 "$PYTHON" -m pytest -o addopts="" -p no:cacheprovider -m gpu tests/test_gpu.py -q || status=$?
echo "gpu tests: $(( $(date +%s) - start )) s"
timeout 150 "$PYTHON" benchmarks/gpu.py "${sizes[@]}" || status=$?
echo "gpu check: $(( $(date +%s) - start )) s, exit status $status"
exit $status
