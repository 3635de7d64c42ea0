#!/usr/bin/env bash
# Set up .venv/ and run the whole test suite (real torch and TensorFlow, CPU).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export KERAS_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=2
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
