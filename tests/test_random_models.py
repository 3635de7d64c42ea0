"""Property test of the translator: random PyTorch models (tests/model_strategies.py) translate to
Keras with no diagnostic and no torch import, and the translation parses and keeps the model.

What this does NOT assert yet: that every random model also *verifies*. The first runs of
benchmarks/random_models.py found verification failures (about 1 model in 5, all involving
normalization layers; categories and minimal sources in docs/random_models.md); they are open
work, tracked in the issue, and the verification half joins this test once they are fixed.
50 derandomized examples, so CI always runs the same models.
"""
from __future__ import annotations

import ast
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings

import fwtranslate
from model_strategies import TORCH_IMPORT, models


@settings(max_examples=50, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
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
