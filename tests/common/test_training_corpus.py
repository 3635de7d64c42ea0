"""The training-code corpus (benchmarks/training/) and its harness (benchmarks/training_corpus.py),
a bounded sample for CI: every script keeps the contract and trains as an original (one epoch),
and the harness' comparison can tell a match from a mismatch. Translation results are the
benchmark's to report (they depend on rules written elsewhere), never asserted here.
"""

from __future__ import annotations

import ast
import importlib.util
import itertools
import math
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


def _harness():
    spec = importlib.util.spec_from_file_location("training_corpus", REPO / "benchmarks" / "training_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


harness = _harness()
SCRIPTS = harness.scripts()
_names = itertools.count()


def load(path: Path):
    """The script at ``path`` as a fresh module (its own name: imports do not share state)."""
    return harness.load_module(path, f"_training_script_{next(_names)}")


def load_changed(path: Path, old: str, new: str, tmp_path: Path):
    source = path.read_text()
    assert source.count(old) == 1, f"{old!r} must occur once in {path.name}"
    changed = tmp_path / path.name
    changed.write_text(source.replace(old, new))
    return load(changed)


def test_the_corpus_has_both_directions():
    frameworks = [framework for _, framework, _ in SCRIPTS]
    assert frameworks.count("torch") >= 12 and frameworks.count("keras") >= 8


@pytest.mark.parametrize(("name", "framework", "path"), SCRIPTS, ids=[f"{f}/{n}" for n, f, _ in SCRIPTS])
def test_batches_keep_the_contract(name, framework, path):
    module = load(path)
    first, second = list(module.batches()), list(module.batches())
    assert len(first) == 20  # 4 epochs x 5 steps by default
    for (x1, y1), (x2, y2) in zip(first, second, strict=True):
        assert x1.dtype == np.float32 and y1.dtype in (np.float32, np.int64)
        np.testing.assert_array_equal(x1, x2)
        np.testing.assert_array_equal(y1, y2)


@pytest.mark.parametrize(("name", "framework", "path"), SCRIPTS, ids=[f"{f}/{n}" for n, f, _ in SCRIPTS])
def test_original_matches_itself(name, framework, path):
    """One epoch of the script against a second import of itself: it runs, and the harness
    reports a match (5 steps, parameters included)."""
    row = harness.compare_modules(load(path), load(path), epochs=1)
    assert row.get("error") is None
    assert row["runs"] and row["steps"] == 5
    assert row["losses_match"] and row["params_match"], row
    assert row["first_diverging_step"] is None


@pytest.mark.parametrize(
    ("script", "old", "new"),
    [
        ("torch/regression_adam.py", "lr=1e-2", "lr=1.1e-2"),
        ("keras/subclass_rmsprop_huber.py", "learning_rate=5e-3", "learning_rate=5.5e-3"),
    ],
)
def test_a_changed_learning_rate_is_a_mismatch(script, old, new, tmp_path):
    """The first loss is computed before any update (equal); the second after one step with
    another learning rate: the comparison must see it, in the losses and in the parameters."""
    path = harness.SCRIPTS / script
    row = harness.compare_modules(load(path), load_changed(path, old, new, tmp_path), epochs=1)
    assert row["runs"]
    assert not row["losses_match"] and not row["params_match"]
    assert row["first_diverging_step"] == 2


# Correct translations written by hand, one per direction: the harness' cross-framework path
# (weights moved forward by fwtranslate.weights, trained, moved back and compared) must see a
# match, and a mismatch once the hand translation's learning rate differs.
KERAS_RANKING = """
import keras
import numpy as np
import tensorflow as tf


class Scorer(keras.Model):
    def __init__(self):
        super().__init__()
        self.score = keras.Sequential([keras.layers.Dense(8), keras.layers.ReLU(), keras.layers.Dense(1)])

    def call(self, pairs):
        return keras.ops.squeeze(self.score(pairs[:, 0]), -1), keras.ops.squeeze(self.score(pairs[:, 1]), -1)


def build_model():
    return Scorer()


def train(model, epochs=4):
    optimizer = keras.optimizers.SGD(learning_rate=0.1)
    losses = []
    for pairs, target in batches(epochs=epochs):
        with tf.GradientTape() as tape:
            first, second = model(tf.constant(pairs), training=True)
            loss = keras.ops.mean(keras.ops.relu(-target * (first - second) + 0.5))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        losses.append(float(loss))
    return losses
"""
TORCH_EMBEDDING = """
import numpy as np
import torch
from torch import nn


def build_model():
    return nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 4))


def train(model, epochs=4):
    # Keras' Adadelta: epsilon 1e-7 (torch's default eps is 1e-6)
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0, rho=0.9, eps=1e-7)
    losses = []
    for x, y in batches(epochs=epochs):
        optimizer.zero_grad()
        loss = -nn.functional.cosine_similarity(model(torch.from_numpy(x)), torch.from_numpy(y), dim=-1).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
"""


@pytest.mark.parametrize(
    ("script", "counterpart", "old", "new"),
    [
        ("torch/ranking_margin.py", KERAS_RANKING, "learning_rate=0.1", "learning_rate=0.11"),
        ("keras/embedding_adadelta.py", TORCH_EMBEDDING, "lr=1.0", "lr=1.1"),
    ],
    ids=["torch->keras", "keras->torch"],
)
def test_a_correct_translation_matches_across_frameworks(script, counterpart, old, new, tmp_path):
    path = harness.SCRIPTS / script
    source = path.read_text()
    batches = next(n for n in ast.parse(source).body if getattr(n, "name", "") == "batches")
    counterpart += "\n\n" + ast.get_source_segment(source, batches) + "\n"
    (tmp_path / "right.py").write_text(counterpart)
    (tmp_path / "wrong.py").write_text(counterpart.replace(old, new))
    right = harness.compare_modules(load(path), load(tmp_path / "right.py"), epochs=1)
    assert row_matches(right), right
    assert right["transfer"] not in ("state_dict", "variables")  # fwtranslate.weights moved them
    wrong = harness.compare_modules(load(path), load(tmp_path / "wrong.py"), epochs=1)
    assert wrong["runs"] and not wrong["losses_match"] and not wrong["params_match"]
    assert wrong["first_diverging_step"] == 2


def row_matches(row: dict) -> bool:
    return row.get("error") is None and row["runs"] and row["losses_match"] and row["params_match"]


def test_a_translation_that_raises_is_reported_as_not_running(tmp_path):
    path = harness.SCRIPTS / "torch" / "autoencoder_adamax.py"
    broken = load_changed(path, "loss.backward()", "loss.backward(); raise RuntimeError('no rule')", tmp_path)
    row = harness.compare_modules(load(path), broken, epochs=1)
    assert not row["runs"] and not row["losses_match"] and not row["params_match"]
    assert "RuntimeError: no rule" in row["error"]


def test_loss_comparison_finds_the_first_diverging_step():
    reference = [1.0, 0.9, 0.8, 0.7]
    assert harness.compare_losses(reference, list(reference))["losses_match"]
    row = harness.compare_losses(reference, [1.0, 0.9, 0.81, 0.7])
    assert not row["losses_match"] and row["first_diverging_step"] == 3
    short = harness.compare_losses(reference, reference[:3])  # a train() that stopped early
    assert not short["losses_match"] and short["first_diverging_step"] == 4
    assert not harness.compare_losses(reference, [1.0, 0.9, math.nan, 0.7])["losses_match"]


def test_translate_reports_exit_and_diagnostics():
    """The shape of the translation facts only (their values depend on the rules present)."""
    path = harness.SCRIPTS / "torch" / "regression_adam.py"
    facts = harness.translate(path, "tf")
    assert isinstance(facts["code"], str) and facts["exit"] in (0, 1)
    assert facts["exit"] == int(any(key.startswith("error ") for key in facts["diagnostics"]))
