#!/usr/bin/env bash
# The translator on every supported Python (3.10, 3.12, 3.13; the main venv covers 3.11),
# without the frameworks: a venv per version under .venv-py3.X/ with only the package's own
# dependencies + pytest + hypothesis, running the tests that need no framework. A version
# not found (pyenv or PATH) is skipped with a note. A few minutes in all.
set -euo pipefail
cd "$(dirname "$0")/.."
TESTS=(tests/common/test_rule_examples.py tests/common/test_limits.py tests/common/test_fuzz.py)
status=0
for version in 3.10 3.12 3.13; do
    python=""
    for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$version".*/bin/python"$version"; do
        [ -x "$candidate" ] && python="$candidate"
    done
    [ -z "$python" ] && python="$(command -v "python$version" || true)"
    if [ -z "$python" ]; then
        echo "test_pythons: python$version not found: skipped"
        continue
    fi
    venv=".venv-py$version"
    if [ ! -x "$venv/bin/python" ]; then
        "$python" -m venv "$venv"
        "$venv/bin/python" -m pip install -q --disable-pip-version-check -e . "libcst==1.9.0" pytest hypothesis
    fi
    echo "test_pythons: $("$venv/bin/python" --version)"
    tests=("${TESTS[@]}")
    if [ "$version" != 3.13 ]; then
        # every rule example (thousands) on the newest Python; the others run the limits and
        # the fuzz tests, which import the whole translator (CI runs this beside the main suite)
        tests=("${TESTS[@]:1}")
    fi
    if ! FWTRANSLATE_FUZZ_EXAMPLES="${FWTRANSLATE_FUZZ_EXAMPLES:-40}" \
            "$venv/bin/python" -m pytest -q -p no:cacheprovider "${tests[@]}"; then
        status=1
    fi
done
exit $status
