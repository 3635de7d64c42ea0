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

from .directions import Direction
from .imports import ImportMap

PREFIX = "fwtranslate.support"


@functools.lru_cache(maxsize=4)
def _shipped_definitions(rules_folder: str) -> dict[str, str]:
    """Name -> ``ast.dump`` of every support definition shipped in ``rules/<rules_folder>``."""
    from .rules.loader import builtin_rules_dir

    out: dict[str, str] = {}
    for path in sorted(Path(builtin_rules_dir() / rules_folder).glob("support*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                out[node.name] = ast.dump(node)
    return out


def shipped_names(direction: Direction) -> set[str]:
    """The names of the support definitions that recognise_support drops when translating in ``direction``."""
    return set(_shipped_definitions(direction.opposite.rules_folder))


def recognise_support(module: cst.Module, source: str, direction: Direction | str, imports: ImportMap) -> set[int]:
    """Bind the other direction's support definitions found in ``module`` to ``PREFIX.<Name>``;
    return the ids of their statements (to drop from the output). ``direction``: the one
    translating ``module`` (or its name)."""
    if isinstance(direction, str):
        direction = Direction.by_name(direction)
    shipped = _shipped_definitions(direction.opposite.rules_folder)
    candidates = [s for s in module.body if isinstance(s, (cst.FunctionDef, cst.ClassDef)) and s.name.value in shipped]
    if not candidates:
        return set()
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    same = {
        n.name
        for n in tree.body
        if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and shipped.get(n.name) == ast.dump(n)
    }
    dropped: set[int] = set()
    for stmt in candidates:
        name = stmt.name.value
        if name in same:
            imports.bindings[name] = f"{PREFIX}.{name}"
            imports.local_names.discard(name)
            dropped.add(id(stmt))
    return dropped
