#!/usr/bin/env bash
# Set up .venv/ and run the whole test suite (real torch and TensorFlow, CPU).
# The tests run in parallel processes (pytest-xdist), one per core up to 4 (each holds torch and
# TensorFlow: about 2 GiB); FWTRANSLATE_TEST_WORKERS=1 runs them in this process.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export KERAS_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=2
workers="${FWTRANSLATE_TEST_WORKERS:-$(.venv/bin/python -c 'import os; print(min(4, len(os.sched_getaffinity(0))))')}"
parallel=()
if [ "$workers" -gt 1 ]; then
    parallel=(-n "$workers")
fi
exec .venv/bin/python -m pytest -q -p no:cacheprovider "${parallel[@]}" "$@"
