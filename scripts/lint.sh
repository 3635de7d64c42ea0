#!/usr/bin/env bash
# Lint the checkout: ruff (pyproject.toml [tool.ruff]) and mypy on the translation core
# ([tool.mypy]), with the tools of .venv/. Installs the pinned ruff and mypy into .venv/ when they
# are missing (the same pins as the `test` extra). Exit status: non-zero when any check fails.
set -uo pipefail
cd "$(dirname "$0")/.."
RUFF_VERSION=0.17.6
MYPY_VERSION=2.4.1
if [ ! -x .venv/bin/python ]; then
    echo "lint: no .venv/ (run scripts/setup.sh first)" >&2
    exit 2
fi
if ! .venv/bin/ruff --version 2>/dev/null | grep -qx "ruff $RUFF_VERSION" \
        || ! .venv/bin/mypy --version 2>/dev/null | grep -q "^mypy $MYPY_VERSION "; then
    .venv/bin/python -m pip install -q --disable-pip-version-check "ruff==$RUFF_VERSION" "mypy==$MYPY_VERSION" || exit 2
fi
status=0
echo "lint: ruff check" >&2
.venv/bin/ruff check . || status=1
echo "lint: ruff format --check" >&2
.venv/bin/ruff format --check . || status=1
echo "lint: mypy" >&2
.venv/bin/mypy || status=1
exit $status
