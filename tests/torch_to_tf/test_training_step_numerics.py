"""Training steps the translator rewrites structurally, run against real PyTorch: the script is
translated, both sides train from the same initial weights (benchmarks/training_corpus.py's
harness), and the losses and parameters after each run must agree."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("keras")

import fwtranslate

REPO = Path(__file__).resolve().parents[2]
_names = itertools.count()


def _harness():
    spec = importlib.util.spec_from_file_location("training_corpus", REPO / "benchmarks" / "training_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


harness = _harness()


def _load(path: Path):
    return harness.load_module(path, f"_training_step_numerics_{next(_names)}")


def compare(script: str, tmp_path: Path, epochs: int, edit=None) -> dict:
    """The corpus script translated to Keras (``edit`` applied to the translation) against itself."""
    path = REPO / "benchmarks" / "training" / "torch" / script
    result = fwtranslate.translate(path.read_text(), to="tf", path=str(path))
    assert not [d for d in result.diagnostics if d.severity == "error"], result.diagnostics
    out = tmp_path / f"{path.stem}_tf.py"
    out.write_text(edit(result.code) if edit else result.code)
    return harness.compare_modules(_load(path), _load(out), epochs=epochs)


def test_gradient_accumulation_matches_torch(tmp_path):
    """2 epochs of 5 batches, a step every 2: 5 steps, one of them on a sum that spans the epochs."""
    row = compare("accumulation_sgd.py", tmp_path, epochs=2)
    assert row.get("error") is None and row["runs"], row
    assert row["steps"] == 10 and row["losses_match"] and row["params_match"], row


def test_an_accumulation_that_forgets_the_sum_is_a_mismatch(tmp_path):
    """The test can fail: applying only the last batch's gradients trains differently."""
    row = compare(
        "accumulation_sgd.py", tmp_path, epochs=2, edit=lambda c: c.replace("zip(grad_sum, grads)", "zip(grads, grads)")
    )
    assert row["runs"] and not row["params_match"], row
