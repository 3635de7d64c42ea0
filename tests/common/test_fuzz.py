"""Fuzzing the translator: random sources around PyTorch and Keras calls, both directions.

Every generated source goes through ``fwtranslate.translate(src, to=...)`` to both targets.
The translator may refuse it (TranslationError: bad input) and may leave constructs
unconverted (diagnostics), but it must not crash, and every output it returns must parse
(``ast.parse``). Needs no framework: only the translator itself (scripts/test_pythons.sh).

FWTRANSLATE_FUZZ_EXAMPLES=5000 runs longer than the default (sized for about a minute on two
cores); benchmarks/fuzz.py runs the same generator (fwtranslate.testing.fuzz) for a given time
and prints counts.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from fwtranslate.testing.fuzz import check, sources

EXAMPLES = int(os.environ.get("FWTRANSLATE_FUZZ_EXAMPLES", "100"))

# derandomized (the same examples every run) unless FWTRANSLATE_FUZZ_RANDOM is set; no shrinking
# unless FWTRANSLATE_FUZZ_SHRINK is set (it can take minutes): the failing input is printed whole
PHASES = [p for p in Phase if p is not Phase.shrink or os.environ.get("FWTRANSLATE_FUZZ_SHRINK")]


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("FWTRANSLATE_FUZZ_RANDOM") is None,
    database=None,
    phases=PHASES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
@given(sources())
def test_translate_never_crashes_and_outputs_parse(source: str) -> None:
    check(source)


@pytest.mark.parametrize(
    "source",
    [
        "import torch\ny = torch.ones(3)" + ".view(-1)" * 201 + "\n",
        "import keras\nx = " + "(" * 3000 + ")" * 3000 + "\n",
        "\ufeffimport torch\nx = torch.relu(y)\n",
        "import torch\r\nclass M(torch.nn.Module):\r\n\tdef forward(self, x):\r\n\t\treturn x.view(-1)\r\n",
    ],
)
def test_known_cases(source: str) -> None:
    check(source)
