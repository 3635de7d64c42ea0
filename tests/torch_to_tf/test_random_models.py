"""Property tests of the translator on random PyTorch models (fwtranslate.testing.torch_models).

* 50 derandomized Hypothesis examples translate to Keras with no diagnostic and no torch import,
  and the translation parses and keeps the model (translation only: fast).
* 30 more models, from fixed seeds, are translated AND verified numerically (inference, training
  mode, gradients, one SGD step; 3 verifier examples each). Model i is
  `generate(random.Random(CI_SEED * 1_000_003 + i))`, the same model as index i of
  `benchmarks/random_models.py --seed 1`, which writes the larger run (500 models, seed 0) to
  docs/random_models.md. Fixed seeds rather than Hypothesis here: the verifier runs its own
  Hypothesis search, which must not be nested inside a @given test.
* A deliberately wrong rule (LeakyReLU without torch's slope: Keras' default 0.3) makes the same
  check fail, so the verification half can fail.
"""

from __future__ import annotations

import ast
import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import fwtranslate
from fwtranslate.testing.torch_models import TORCH_IMPORT, check, generate, models

CI_SEED = 1
CI_COUNT = 20  # a bounded sample; 500 models: benchmarks/random_models.py
PHASES = {"inference", "training", "gradients", "step"}


@settings(max_examples=50, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=models())
def test_random_model_translates_completely(model):
    with tempfile.TemporaryDirectory() as workdir:
        src, dst = Path(workdir) / "random_net.py", Path(workdir) / "random_net_tf.py"
        src.write_text(model.source)
        result = fwtranslate.translate_file(src, "tf", output=dst)
        message = f"--- generated source ---\n{model.source}\n--- translation ---\n{result.code}"
        assert result.ok, "\n".join(d.format() for d in result.diagnostics) + "\n" + message
        assert not TORCH_IMPORT.search(result.code), message
        tree = ast.parse(dst.read_text())
        classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}  # + support layers
        assert "RandomNet" in classes, message
        methods = {f.name for f in classes["RandomNet"].body if isinstance(f, ast.FunctionDef)}
        assert {"__init__", "call"} <= methods, message


def _model(i: int):
    return generate(random.Random(CI_SEED * 1_000_003 + i))


@pytest.mark.parametrize("i", range(CI_COUNT))
def test_random_model_verifies(i, tmp_path):
    model = _model(i)
    outcome = check(model, tmp_path, examples=3)
    assert outcome.stage == "ok", (
        f"model {i} (seed {CI_SEED}), input {model.input_shape}: {outcome.stage} failed\n"
        f"--- generated source ---\n{model.source}\n--- report ---\n{outcome.detail}"
    )
    assert set(outcome.phases) >= PHASES, outcome.detail


WRONG_LEAKY_RELU = """
torch.nn.LeakyReLU:
  signature: (negative_slope=0.01, inplace=False)
  to: keras.layers.LeakyReLU()
  ignore: [negative_slope, inplace]
"""


def test_a_wrong_rule_makes_a_random_model_fail(tmp_path):
    """The check used above catches a plausible translation bug (forgetting to force torch's slope)."""
    i = next(i for i in range(CI_COUNT, 10 * CI_COUNT) if "nn.LeakyReLU(" in _model(i).source)
    rules = tmp_path / "wrong.yaml"
    rules.write_text(WRONG_LEAKY_RELU)
    (tmp_path / "work").mkdir()
    outcome = check(_model(i), tmp_path / "work", examples=3, rules=[rules])
    assert outcome.stage == "verify", outcome.detail
    assert "NOT EQUIVALENT" in outcome.detail and "LeakyReLU" in outcome.detail, outcome.detail
