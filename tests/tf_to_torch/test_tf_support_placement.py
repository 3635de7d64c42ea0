"""Keras -> PyTorch: support code goes after the docstring, the bare strings before the imports,
and the imports it needs."""

from __future__ import annotations

import ast

from fwtranslate import translate


def test_support_code_after_bare_strings_and_imports():
    source = '"""Doc."""\n"A bare string."\nimport keras\n\n\ndef f(x):\n    return keras.ops.flip(x)\n'
    result = translate(source, to="torch")
    assert result.ok, [d.format() for d in result.diagnostics]
    body = ast.parse(result.code).body
    kinds = [type(s).__name__ for s in body]
    assert kinds[:2] == ["Expr", "Expr"]  # the docstring, then the bare string
    first_def = kinds.index("FunctionDef")
    last_import = max(i for i, k in enumerate(kinds) if k in ("Import", "ImportFrom"))
    assert last_import < first_def
    assert [s.name for s in body if isinstance(s, ast.FunctionDef)][-1] == "f"
    assert "keras_flip" in {s.name for s in body if isinstance(s, ast.FunctionDef)}
