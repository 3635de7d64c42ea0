"""Keras training code the training-step pass rewrites beyond the tape, run against real
Keras: the script is translated to PyTorch, both sides train from the same initial weights
(benchmarks/training_corpus.py's harness), and the losses and parameters must agree."""

from __future__ import annotations

import importlib.util
import itertools
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("keras")

import fwtranslate

REPO = Path(__file__).resolve().parents[2]
_names = itertools.count()


def _harness():
    spec = importlib.util.spec_from_file_location("training_corpus", REPO / "benchmarks" / "training_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


harness = _harness()


def _load(path: Path):
    return harness.load_module(path, f"_tf_training_step_numerics_{next(_names)}")


def compare(tmp_path: Path, name: str, train: str, epochs: int = 1) -> tuple[dict, str]:
    """The regression_adam corpus script's model and batches with ``train``, translated to
    PyTorch and compared with itself; the row and the translation."""
    corpus = (REPO / "benchmarks" / "training" / "keras" / "regression_adam.py").read_text()
    path = tmp_path / f"{name}.py"
    path.write_text(corpus[: corpus.index("def train(")] + textwrap.dedent(train))
    result = fwtranslate.translate(path.read_text(), to="torch", path=str(path))
    assert not [d for d in result.diagnostics if d.severity == "error"], result.diagnostics
    out = tmp_path / f"{name}_torch.py"
    out.write_text(result.code)
    return harness.compare_modules(_load(path), _load(out), epochs=epochs), result.code


MANUAL_LR = """
    def train(model, epochs=4):
        optimizer = keras.optimizers.{optimizer}
        mse = keras.losses.MeanSquaredError()
        losses = []
        for i, (x, y) in enumerate(batches(epochs=epochs)):
            x, y = tf.convert_to_tensor(x), tf.convert_to_tensor(y)
            with tf.GradientTape() as tape:
                loss = mse(y, model(x, training=True))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            if i % 2 == 1:  # a manual schedule, three ways
                optimizer.learning_rate.assign(optimizer.learning_rate * 0.5)
                optimizer.learning_rate = float(optimizer.learning_rate.numpy()) + 0.001
            losses.append(float(loss))
        return losses
"""


@pytest.mark.parametrize(
    ("optimizer", "translated"),
    [("SGD(learning_rate=0.05)", "torch.optim.SGD("), ("Adam(learning_rate=0.01)", "KerasAdam(")],
)
def test_a_learning_rate_set_by_hand_matches_keras(optimizer, translated, tmp_path):
    """learning_rate.assign(v) / .numpy() on a native torch optimizer (param_groups[0]["lr"])
    and on a port (its learning_rate property)."""
    row, code = compare(tmp_path, "manual_lr", MANUAL_LR.replace("{optimizer}", optimizer))
    assert translated in code and ".assign(" not in code and ".numpy()" not in code, code
    assert row.get("error") is None and row["runs"], row
    assert row["losses_match"] and row["params_match"], row
