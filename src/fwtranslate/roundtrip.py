"""Round trips: our own support code, met again in the other direction.

A PyTorch file translated to Keras carries copies of support definitions
(``rules/torch_to_tf/support*.py``: ``ChannelsFirstConv2D``, ``TorchLSTM``, ``exact_gelu``...).
Translating that output back must not translate those definitions line by line (they are
written against Keras internals): a module-level definition whose code is exactly one of the
other direction's support definitions is recognised, dropped from the output, and its name
resolves to ``fwtranslate.support.<Name>``, which the rules of this direction translate like any
framework API (``rules/tf_to_torch/roundtrip.yaml``: ``TorchLSTM(...)`` -> ``nn.LSTM(...)``).
"""
from __future__ import annotations

import ast
import functools
from pathlib import Path

import libcst as cst

from .imports import ImportMap

PREFIX = "fwtranslate.support"
_OPPOSITE = {"torch_to_tf": "tf_to_torch", "tf_to_torch": "torch_to_tf"}


@functools.lru_cache(maxsize=4)
def _shipped_definitions(direction: str) -> dict[str, str]:
    """Name -> ``ast.dump`` of every support definition shipped for ``direction``."""
    from .rules.loader import builtin_rules_dir

    out: dict[str, str] = {}
    for path in sorted(Path(builtin_rules_dir() / direction).glob("support*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                out[node.name] = ast.dump(node)
    return out


def recognise_support(module: cst.Module, source: str, direction: str, imports: ImportMap) -> set[int]:
    """Bind the other direction's support definitions found in ``module`` to ``PREFIX.<Name>``;
    return the ids of their statements (to drop from the output)."""
    opposite = _OPPOSITE.get(direction)
    if opposite is None:
        return set()
    shipped = _shipped_definitions(opposite)
    candidates = [s for s in module.body if isinstance(s, (cst.FunctionDef, cst.ClassDef)) and s.name.value in shipped]
    if not candidates:
        return set()
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    same = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))
            and shipped.get(n.name) == ast.dump(n)}
    dropped: set[int] = set()
    for stmt in candidates:
        name = stmt.name.value
        if name in same:
            imports.bindings[name] = f"{PREFIX}.{name}"
            imports.local_names.discard(name)
            dropped.add(id(stmt))
    return dropped
