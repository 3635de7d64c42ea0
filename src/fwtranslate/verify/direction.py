"""Which way a translation goes: torch original -> Keras translation, or Keras original -> torch.

Decided from what each file imports (parsed, not run): a file importing torch and not
keras / tensorflow is torch code, and the other way round. When the imports do not tell (both
frameworks, or neither: a file that only imports a local package), the other file decides; if
neither does, the original is taken as torch (the historical direction), and the type of the
model the entry builds is checked when it is built.
"""

from __future__ import annotations

import ast
from pathlib import Path

from ..directions import TF_TO_TORCH, TORCH_TO_TF, Direction

_TORCH = ("torch",)
_KERAS = ("keras", "tensorflow", "tf_keras")


def framework_of(path: str | Path) -> str | None:
    """ "torch", "keras" or None (both or neither imported, or the file cannot be parsed)."""
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError):
        return None
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.split(".")[0])
    torch, keras = bool(roots & set(_TORCH)), bool(roots & set(_KERAS))
    if torch and not keras:
        return "torch"
    if keras and not torch:
        return "keras"
    return None


def detect_direction(original: str | Path, translated: str | Path) -> Direction:
    orig = framework_of(original)
    if orig == "keras":
        return TF_TO_TORCH
    if orig == "torch":
        return TORCH_TO_TF
    trans = framework_of(translated)
    if trans == "torch":
        return TF_TO_TORCH
    return TORCH_TO_TF
