"""A translated model is a model a Keras user can use, on a CPU-only TensorFlow.

For every PyTorch sample and 6 random PyTorch models (fwtranslate.testing.torch_models):
``model(x)`` eagerly, ``model.predict``, ``compile`` + one ``fit`` step and ``model.save`` +
``keras.models.load_model`` all work (fwtranslate.testing.keras_usage, in a child process with no
GPU), and every ``channels_first`` left in the translation is a layer the translator reported with
its reason (``info [layout]``).
"""

from __future__ import annotations

import ast
import json
import random
from pathlib import Path

import pytest

import fwtranslate
from fwtranslate.rules import load_rules
from fwtranslate.testing.keras_usage import STEPS, check_keras_usage
from fwtranslate.testing.torch_models import generate

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = json.loads((ROOT / "samples" / "torch" / "samples.json").read_text())
RANDOM_SEEDS = range(6)


def _shape(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.split(","))


SUPPORT = set(load_rules("torch_to_tf").support.files)


def _channels_first_lines(code: str) -> int:
    """Lines outside the copied support definitions that pass data_format="channels_first"."""
    tree = ast.parse(code)
    support = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name in SUPPORT]
    skip = {line for n in support for line in range(n.lineno, (n.end_lineno or n.lineno) + 1)}
    lines = code.splitlines()
    return sum(1 for i, line in enumerate(lines, 1) if i not in skip and 'data_format="channels_first"' in line)


def _check(result, out: Path, entry: str, shape, dtype="float32", value_range=(-1.0, 1.0)):
    assert result.ok, "\n".join(d.format() for d in result.diagnostics)
    reported = [d for d in result.diagnostics if d.code == "layout"]
    assert _channels_first_lines(result.code) <= len(reported), ([d.format() for d in reported], result.code)
    outcome = check_keras_usage(out, entry, shape, dtype, value_range)
    assert set(outcome) == set(STEPS)
    failed = {step: message for step, message in outcome.items() if message != "ok"}
    assert not failed, f"{failed}\n--- translation ---\n{result.code}"


@pytest.mark.parametrize("sample", SAMPLES, ids=[s["file"] for s in SAMPLES])
def test_sample_runs_in_keras(sample, tmp_path):
    src = ROOT / "samples" / "torch" / sample["file"]
    out = tmp_path / f"{src.stem}_tf.py"
    result = fwtranslate.translate_file(src, "tf", output=out)
    low, high = (float(v) for v in sample.get("input_range", "-1,1").split(","))
    _check(
        result, out, sample["entry"], _shape(sample["input_shape"]), sample.get("input_dtype", "float32"), (low, high)
    )


@pytest.mark.parametrize("seed", RANDOM_SEEDS)
def test_random_model_runs_in_keras(seed, tmp_path):
    model = generate(random.Random(seed))
    src, out = tmp_path / "random_net.py", tmp_path / "random_net_tf.py"
    src.write_text(model.source)
    result = fwtranslate.translate_file(src, "tf", output=out)
    _check(result, out, "RandomNet", tuple(model.input_shape))


def test_a_failing_step_is_reported(tmp_path):
    """The check can fail: a model whose call raises fails every step that calls it."""
    out = tmp_path / "broken_tf.py"
    out.write_text(
        "import keras\n\n\nclass Broken(keras.Model):\n    def call(self, x):\n        raise ValueError('no')\n"
    )
    outcome = check_keras_usage(out, "Broken", (2, 3))
    assert outcome["eager"].startswith("ValueError") and outcome["predict"] != "ok"
