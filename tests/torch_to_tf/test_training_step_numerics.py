"""Training steps the translator rewrites structurally, run against real PyTorch: the script is
translated, both sides train from the same initial weights (benchmarks/training_corpus.py's
harness), and the losses and parameters after each run must agree."""

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
    return harness.load_module(path, f"_training_step_numerics_{next(_names)}")


def compare(script: str | Path, tmp_path: Path, epochs: int, edit=None) -> dict:
    """A PyTorch script (a corpus script's name, or a file) translated to Keras (``edit``
    applied to the translation) and compared with itself."""
    path = script if isinstance(script, Path) else REPO / "benchmarks" / "training" / "torch" / script
    result = fwtranslate.translate(path.read_text(), to="tf", path=str(path))
    assert not [d for d in result.diagnostics if d.severity == "error"], result.diagnostics
    out = tmp_path / f"{path.stem}_tf.py"
    out.write_text(edit(result.code) if edit else result.code)
    return harness.compare_modules(_load(path), _load(out), epochs=epochs)


def _script(tmp_path: Path, name: str, train: str) -> Path:
    """A script of the corpus' contract: the model and batches of accumulation_sgd.py, ``train``."""
    corpus = (REPO / "benchmarks" / "training" / "torch" / "accumulation_sgd.py").read_text()
    head = corpus[: corpus.index("def train(")]
    path = tmp_path / f"{name}.py"
    path.write_text(head + textwrap.dedent(train))
    return path


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


MANUAL_LR = """
    def train(model, epochs=4):
        optimizer = torch.optim.SGD(model.parameters(), lr=0.2)
        criterion = nn.CrossEntropyLoss()
        losses = []
        for i, (x, y) in enumerate(batches(epochs=epochs)):
            optimizer.zero_grad()
            loss = criterion(model(torch.tensor(x)), torch.tensor(y))
            loss.backward()
            optimizer.step()
            if i % 3 == 2:  # a manual schedule, three ways
                optimizer.param_groups[0]["lr"] = optimizer.param_groups[0]["lr"] * 0.5
                optimizer.param_groups[0]["lr"] *= 0.9
                for group in optimizer.param_groups:
                    group["lr"] = group["lr"] + 0.01
            losses.append(loss.item())
        return losses
"""


def test_param_groups_learning_rate_of_a_native_keras_optimizer_matches_torch(tmp_path):
    """SGD without momentum is keras.optimizers.SGD, which has no param_groups: the reads and
    writes of param_groups[0]["lr"] become its learning_rate."""
    path = _script(tmp_path, "manual_lr", MANUAL_LR)
    result = fwtranslate.translate(path.read_text(), to="tf")
    assert "keras.optimizers.SGD(" in result.code and "optimizer.learning_rate = " in result.code, result.code
    row = compare(path, tmp_path, epochs=2)
    assert row.get("error") is None and row["runs"], row
    assert row["losses_match"] and row["params_match"], row


GRAD_SCALER = """
    def train(model, epochs=4):
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        criterion = nn.CrossEntropyLoss()
        scaler = torch.amp.GradScaler("cpu")  # enabled: torch scales on the CPU too
        losses = []
        for x, y in batches(epochs=epochs):
            optimizer.zero_grad()
            loss = criterion(model(torch.tensor(x)), torch.tensor(y))
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), 0.5)
            scaler.step(optimizer)
            scaler.update()
            losses.append(loss.item())
        return losses
"""


def test_grad_scaler_steps_match_torch_in_float32(tmp_path):
    """Scaling by a power of two and back is exact in float32: the plain steps are GradScaler's."""
    path = _script(tmp_path, "grad_scaler", GRAD_SCALER)
    result = fwtranslate.translate(path.read_text(), to="tf")
    assert "scaler" not in result.code, result.code
    warnings = [d for d in result.diagnostics if d.code == "training-step" and d.severity == "warning"]
    assert len(warnings) == 1 and "inf/NaN" in warnings[0].message
    row = compare(path, tmp_path, epochs=2)
    assert row.get("error") is None and row["runs"], row
    assert row["losses_match"] and row["params_match"], row
