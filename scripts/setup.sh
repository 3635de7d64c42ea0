#!/usr/bin/env bash
# Create .venv/ in the checkout with fwtranslate (editable) and the frameworks verification needs.
# Idempotent: a second run only checks that everything is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1
# torch first and pinned: a bare `torch` requirement would pull a multi-GB CUDA build; 2.13.0 is the
# CPU build these machines carry. Translation itself needs none of this (libcst + click only).
.venv/bin/python -m pip install -q "torch==2.13.0" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -m pip install -q -e ".[test]" 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c "import fwtranslate, torch, keras, hypothesis" || {
  echo "setup failed: could not import the installed packages" >&2; exit 1; }
echo "ready: $(.venv/bin/fwtranslate --version), torch $(.venv/bin/python -c 'import torch; print(torch.__version__)')" >&2
