"""benchmarks/api_coverage.py counts a name as translated, declared or missing from the rule files."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from fwtranslate.rules import load_rules

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _module():
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location("api_coverage", BENCH / "api_coverage.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["api_coverage"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_each_name_lands_in_one_class():
    cov = _module()
    names = ["torch.nn.Linear", "torch.nn.functional.grid_sample", "torch.nn.functional.no_such_name", "Tensor.view"]
    parts = cov.classify(cov.Namespace("t", "torch_to_tf", names), load_rules("torch_to_tf"))
    assert parts == {
        "translated": ["torch.nn.Linear", "Tensor.view"],
        "declared": ["torch.nn.functional.grid_sample"],
        "missing": ["torch.nn.functional.no_such_name"],
    }


def test_ranking_counts_calls(tmp_path):
    cov = _module()
    (tmp_path / "m.py").write_text("torch.cat(a)\ntorch.cat(b)\nx.view(1)\n")
    counts = cov.count_calls([tmp_path], [r"\btorch\.{}\s*\(", r"\.{}\s*\("])
    assert counts[(r"\btorch\.{}\s*\(", "cat")] == 2
    ranked = cov._ranked("r", "torch_to_tf", "torch.", ["cat", "stack"], counts, 5, r"\btorch\.{}\s*\(")
    assert ranked.names == ["torch.cat"]  # never called: not counted
