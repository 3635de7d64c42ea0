"""Every example carried by every shipped rule is run: the rule files are their own tests."""

from __future__ import annotations

import ast
import functools
import importlib.util
import os
import re
import subprocess
import sys

import pytest

from fwtranslate import translate
from fwtranslate.rules import load_rules
from fwtranslate.rules.loader import builtin_rules_dir
from helpers import support_sources

# what an example's `before` side may use, and the source names its `after` side must not
PRELUDE = {
    "torch_to_tf": "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\nimport torchvision\nimport timm\nimport einops\n",
    "tf_to_torch": (
        "import keras\nfrom keras import layers, ops, activations, initializers\n"
        "import tensorflow as tf\nimport einops\nimport einops.layers.keras\n"
    ),
}
SOURCE_NAMES = {
    "torch_to_tf": {"torch", "nn", "F"},
    "tf_to_torch": {"keras", "layers", "ops", "tf", "activations", "initializers"},
}
TARGET = {"torch_to_tf": "tf", "tf_to_torch": "torch"}
RESULT = "__result__"


@functools.lru_cache(maxsize=2)
def _support_sources(direction: str) -> dict[str, str]:
    """Name -> exact source of each support definition shipped for ``direction``."""
    return support_sources(direction)


def _prelude(direction: str, before: str) -> str:
    """PRELUDE, plus the other direction's support definitions the example calls by name
    (rules/tf_to_torch/roundtrip.yaml: `TorchLSTM(4, 8)`; rules/torch_to_tf/data.yaml:
    `TFDataset.range(10)`), copied as a translated file carries them, so that they resolve to
    fwtranslate.support.<Name>."""
    sources = _support_sources("torch_to_tf" if direction == "tf_to_torch" else "tf_to_torch")
    names = {n.id for n in ast.walk(ast.parse(before.strip(), mode="eval")) if isinstance(n, ast.Name)}
    return PRELUDE[direction] + "".join(f"{sources[n]}\n\n\n" for n in sorted(names & set(sources)))


def _cases():
    for direction in PRELUDE:
        ruleset = load_rules(direction)
        for rule in ruleset.all_rules():
            for i, example in enumerate(rule.examples):
                yield pytest.param(direction, rule, example, id=f"{direction}:{rule.name}[{i}]")


def _normal(expr: str) -> str:
    return ast.dump(ast.parse(expr.strip(), mode="eval").body)


@pytest.mark.parametrize("direction", list(PRELUDE))
def test_every_rule_has_an_example(direction):
    missing = [r.name for r in load_rules(direction).all_rules() if not r.examples]
    assert not missing, f"rules without examples: {missing}"


@pytest.mark.parametrize("direction,rule,example", list(_cases()))
def test_rule_example(direction, rule, example):
    result = translate(f"{_prelude(direction, example.before)}{RESULT} = {example.before}\n", to=TARGET[direction])
    error = re.fullmatch(r"ERROR\[([\w-]+)\]", example.after)
    if error:
        codes = {d.code for d in result.diagnostics}
        assert error.group(1) in codes, f"expected [{error.group(1)}], got {result.diagnostics}"
        return
    # an optimizer rule writes PARAMS for the training-step pass to fill (passes/tf_to_torch/
    # training_step.py), which reports it in an example that has no training step
    expected = {"training-step"} if "PARAMS" in example.after else set()
    assert not [d.format() for d in result.diagnostics if d.severity == "error" and d.code not in expected]
    tree = ast.parse(result.code)
    values = [
        n.value
        for n in tree.body
        if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name) and n.targets[0].id == RESULT
    ]
    assert len(values) == 1, result.code
    assert ast.dump(values[0]) == _normal(example.after), (
        f"\n  rule:     {rule.name} ({rule.file.name})\n  before:   {example.before}\n"
        f"  expected: {example.after}\n  got:      {ast.unparse(values[0])}"
    )
    names = {n.id for n in ast.walk(values[0]) if isinstance(n, ast.Name)}
    assert not names & SOURCE_NAMES[direction], ast.unparse(values[0])  # (helpers may be named torch_*)


@pytest.mark.parametrize("direction", list(PRELUDE))
def test_support_files_import_what_they_borrow(direction):
    """A support definition that uses one of another support file imports it from that file by
    name, so that each file imports and lints on its own; the translation copies the definition
    instead, and never the import."""
    support = load_rules(direction).support
    folder = builtin_rules_dir() / direction
    imported: dict[str, set[str]] = {}  # file stem -> the names it imports from its siblings
    for path in sorted(folder.glob("support*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("support"):
                imported.setdefault(path.stem, set()).update(a.name for a in node.names)
    for name, path in support.files.items():
        for used in support.depends[name]:
            if support.files[used] != path:
                assert used in imported.get(path.stem, set()), f"{path.name}: {name} uses {used} unimported"
    assert not [line for line in support.import_of.values() if "support" in line]
    if direction == "tf_to_torch":  # add_weight's helper takes its fan and orthogonal helpers along
        needed = support.closure({"keras_initializer"})
        assert {"_fans", "_keras_orthogonal"} <= set(needed)
        assert not [line for line in support.imports_for(needed) if "support" in line]


@pytest.mark.parametrize("direction", list(PRELUDE))
def test_support_files_import_on_their_own(direction):
    framework = {"torch_to_tf": "keras", "tf_to_torch": "torch"}[direction]
    if importlib.util.find_spec(framework) is None:
        pytest.skip(f"{framework} is not installed")
    folder = builtin_rules_dir() / direction
    modules = ", ".join(sorted(p.stem for p in folder.glob("support*.py")))
    env = {**os.environ, "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "tensorflow"), "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, sys.argv[1]); import {modules}", str(folder)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
