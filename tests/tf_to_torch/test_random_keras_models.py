"""Property tests of the Keras -> PyTorch direction on random Keras models
(fwtranslate.testing.keras_models; the PyTorch -> Keras counterpart is test_random_models.py).

* 50 derandomized Hypothesis examples translate to PyTorch with no diagnostic and no keras /
  tensorflow import, and the translation parses and keeps the entry (`build_random_net` or
  `class RandomNet`) (translation only: fast).
* 30 more models, from fixed seeds, are translated AND verified numerically against the Keras
  original (inference, training mode, gradients, one SGD step; 3 verifier examples each). Model
  i is `generate(random.Random(CI_SEED * 1_000_003 + i))`, the same model as index i of
  `benchmarks/random_models.py --source keras --seed 1`, which writes the larger run (500
  models, seed 0) to docs/random_models.md. Fixed seeds rather than Hypothesis here: the
  verifier runs its own Hypothesis search, which must not be nested inside a @given test.
* A deliberately wrong rule (Keras' LeakyReLU translated with torch's default slope 0.01
  instead of Keras' negative_slope) makes the same check fail, so the verification half can fail.
* Regression tests for the weight-transfer bugs the random models found (see
  docs/random_models.md): SeparableConv2D, BatchNormalization(center=False / scale=False), a
  keras.Sequential whose translation has layout moves inserted, and a functional model whose
  layers Keras orders differently from the call order.
"""

from __future__ import annotations

import ast
import random
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import fwtranslate
from fwtranslate.testing.keras_models import FRAMEWORK_IMPORT, KerasRandomModel, check, generate, models

CI_SEED = 1
CI_COUNT = 20  # a bounded sample; 500 models: benchmarks/random_models.py --source keras
PHASES = {"inference", "training", "gradients", "step"}


def _entry_kept(tree: ast.Module, model: KerasRandomModel) -> bool:
    if model.style == "subclass":
        classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
        if model.entry not in classes:
            return False
        methods = {f.name for f in classes[model.entry].body if isinstance(f, ast.FunctionDef)}
        return {"__init__", "forward"} <= methods
    return any(isinstance(n, ast.FunctionDef) and n.name == model.entry for n in tree.body)


@settings(max_examples=50, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=models())
def test_random_keras_model_translates_completely(model):
    with tempfile.TemporaryDirectory() as workdir:
        src, dst = Path(workdir) / "random_net.py", Path(workdir) / "random_net_torch.py"
        src.write_text(model.source)
        result = fwtranslate.translate_file(src, "torch", output=dst)
        message = f"--- generated source ---\n{model.source}\n--- translation ---\n{result.code}"
        assert result.ok, "\n".join(d.format() for d in result.diagnostics) + "\n" + message
        assert not FRAMEWORK_IMPORT.search(result.code), message
        tree = ast.parse(dst.read_text())
        assert _entry_kept(tree, model), message


def _model(i: int) -> KerasRandomModel:
    return generate(random.Random(CI_SEED * 1_000_003 + i))


def test_the_ci_models_cover_every_style_and_family():
    seen = {(_model(i).style, _model(i).family) for i in range(CI_COUNT)}
    assert {s for s, _ in seen} == {"functional", "sequential", "subclass"}, seen
    assert {f for _, f in seen} == {"conv", "mlp"}, seen


@pytest.mark.parametrize("i", range(CI_COUNT))
def test_random_keras_model_verifies(i, tmp_path):
    model = _model(i)
    # each in a child process (as the command line runs verify), so that a crash stays one case's
    outcome = check(model, tmp_path, examples=3, isolate=True)
    assert outcome.stage == "ok", (
        f"model {i} (seed {CI_SEED}), input {model.input_shape}: {outcome.stage} failed\n"
        f"--- generated source ---\n{model.source}\n--- report ---\n{outcome.detail}"
    )
    assert set(outcome.phases) >= PHASES, outcome.detail


WRONG_LEAKY_RELU = """
keras.layers.LeakyReLU:
  signature: (negative_slope=0.3, alpha=None, name=None, dtype=None, input_shape=None, trainable=True)
  layout: elementwise
  to: nn.LeakyReLU()
  ignore: [negative_slope, alpha, name, dtype, input_shape, trainable]
"""


def test_a_wrong_rule_makes_a_random_keras_model_fail(tmp_path):
    """The check used above catches a plausible translation bug (torch's default slope, 0.01,
    instead of the Keras layer's)."""
    i = next(i for i in range(CI_COUNT, 20 * CI_COUNT) if "layers.LeakyReLU(" in _model(i).source)
    rules = tmp_path / "wrong.yaml"
    rules.write_text(WRONG_LEAKY_RELU)
    (tmp_path / "work").mkdir()
    outcome = check(_model(i), tmp_path / "work", examples=3, rules=[rules])
    assert outcome.stage == "verify", outcome.detail
    assert "NOT EQUIVALENT" in outcome.detail and "LeakyReLU" in outcome.detail, outcome.detail


# --- regressions: weight-transfer bugs found by the random models -------------------------------
REGRESSIONS = {
    # SeparableConv2D had no registered weight converter ("separable_conv")
    "separable_conv": """
import keras
from keras import layers


def build_random_net():
    inputs = keras.Input(shape=(9, 9, 3))
    x = layers.SeparableConv2D(4, 3, strides=2, padding="same", depth_multiplier=2)(inputs)
    x = layers.SeparableConv2D(5, 1, use_bias=False, activation="relu")(x)
    x = layers.Flatten()(x)
    return keras.Model(inputs, layers.Dense(3)(x))
""",
    # the batchnorm converter copied beta whenever gamma existed (and skipped both without gamma)
    "batchnorm_center_scale_off": """
import keras
from keras import layers


def build_random_net():
    inputs = keras.Input(shape=(6, 6, 2))
    x = layers.Conv2D(4, 3)(inputs)
    x = layers.BatchNormalization(center=False)(x)
    x = layers.BatchNormalization(axis=3, scale=False)(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(3)(x))
""",
    # Keras layers[i] was torch child i, but the layout pass inserts ToChannelsFirst/Last there
    "sequential_with_layout_moves": """
import keras
from keras import layers


def build_random_net():
    return keras.Sequential([
        keras.Input((7, 7, 1)),
        layers.Dropout(0.5),
        layers.Conv2D(3, 3),
        layers.Flatten(),
        layers.Dense(4),
    ])
""",
    # Keras sorts a functional model's layers by depth, the translation keeps call order: the
    # projection called after the branch was paired with the branch's BatchNormalization
    # (before the fix: "'kerasbatchnormalization_3' -> 'layers[4]' (conv): weight: torch shape
    # (4,) != converted Keras shape (4, 1, 1, 1)")
    "functional_branch_order": """
import keras
from keras import layers


def build_random_net():
    inputs = keras.Input(shape=(8, 6, 1))
    x = inputs
    y = layers.Conv2D(8, 1)(x)
    y = layers.BatchNormalization()(y)
    y = layers.Conv2D(4, 3, padding="same", use_bias=False)(y)
    y = layers.BatchNormalization()(y)
    x = layers.Add()([layers.Conv2D(4, 1)(x), y])
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(3)(x))
""",
}
REGRESSION_SHAPES = {
    "separable_conv": (2, 9, 9, 3),
    "batchnorm_center_scale_off": (2, 6, 6, 2),
    "sequential_with_layout_moves": (2, 7, 7, 1),
    "functional_branch_order": (2, 8, 6, 1),
}


@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_weight_transfer_regression(name, tmp_path):
    model = KerasRandomModel(REGRESSIONS[name], REGRESSION_SHAPES[name], "regression")
    outcome = check(model, tmp_path, examples=2)
    assert outcome.stage == "ok", outcome.detail
    assert set(outcome.phases) >= PHASES, outcome.detail


def test_localiser_aligns_a_tensor_with_as_many_channels_as_pixels():
    """Found by the wrong-rule test: the layer that diverged was blamed on a Conv2D whose output,
    (N, 8, 8, 8), has the same shape channels first and last, so the localiser compared the
    translation's channels-first tensor with Keras' channels-last one without moving its axis."""
    import numpy as np

    from fwtranslate.verify.localize import _first_bad

    keras_value = np.random.default_rng(0).normal(size=(1, 4, 4, 4)).astype("float32")
    torch_value = np.moveaxis(keras_value, -1, 1)
    assert _first_bad([keras_value], [torch_value], 1e-4, 1e-5, align=True) is None
    assert _first_bad([keras_value], [torch_value + 1], 1e-4, 1e-5, align=True) is not None
