#!/usr/bin/env bash
# Measure a GPU machine in one go (see benchmarks/gpu_suite.py): bash benchmarks/gpu_suite.sh OUT
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
exec "$PY" benchmarks/gpu_suite.py "${1:?usage: bash benchmarks/gpu_suite.sh OUT}" --device cuda "${@:2}"
