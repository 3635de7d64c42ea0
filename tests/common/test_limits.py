"""Input and output limits, at every entry: nesting (guard.py), line length, outputs that
would not parse, and --with-deps on a module CPython cannot hold. No framework needed."""

from __future__ import annotations

import ast
import sys

import pytest

from fwtranslate import TranslationError, translate
from fwtranslate.guard import MAX_LINE
from helpers import run_cli as cli

VIEWS = "import torch\n\n\ndef f(x):\n    y = x" + ".view(-1)" * 201 + "\n    return torch.relu(y)\n"


def test_api_refuses_deep_nesting_instead_of_crashing():
    with pytest.raises(TranslationError, match="too many nested parentheses"):
        translate("import torch\nx = " + "(" * 3000 + ")" * 3000 + "\n", to="tf")


def test_api_refuses_a_line_over_the_limit():
    with pytest.raises(TranslationError, match=f"line 3 is {MAX_LINE + 1:,} characters long"):
        translate("import torch\nx = 1\n" + "#" * (MAX_LINE + 1) + "\n", to="tf")


def test_unparsable_translation_keeps_the_statement():
    result = translate(VIEWS, to="tf")
    ast.parse(result.code)
    assert [d.code for d in result.diagnostics] == ["output-syntax"]
    assert (result.diagnostics[0].line, result.diagnostics[0].col) == (5, 5)
    assert "    y = x" + ".view(-1)" * 201 + "\n" in result.code
    assert "# fwtranslate: unconverted [output-syntax]" in result.code
    assert "keras.ops.relu(y)" in result.code  # the rest is translated


def test_unparsable_translation_via_the_cli(tmp_path):
    (tmp_path / "m.py").write_text(VIEWS)
    done = cli("m.py", "--to", "tf", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "m.py:5:5: error" in done.stderr and "output-syntax" in done.stderr
    ast.parse((tmp_path / "m_tf.py").read_text())


def test_bom_in_a_string_is_dropped():
    assert not translate("\ufeffimport torch\nx = torch.relu(y)\n", to="tf").code.startswith("\ufeff")


def test_with_deps_on_a_module_nested_too_deeply(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "m.py").write_text("import torch\nfrom . import deep\nx = torch.ones(2)\n")
    (pkg / "deep.py").write_text("y = " + "1 + " * 100_000 + "1\n")
    done = cli("pkg/m.py", "--to", "tf", "--with-deps", "-o", "out", cwd=tmp_path)
    assert "Traceback" not in done.stderr
    if sys.version_info >= (3, 11):  # the closure cannot parse it: one line, exit 2
        assert done.returncode == 2, done.stderr
        assert "deep.py" in done.stderr and "error" in done.stderr.strip().splitlines()[-1], done.stderr
    else:  # 3.10's parser holds it; no framework code, so it is copied unchanged, long line and all
        assert done.returncode == 0, done.stderr
        assert (tmp_path / "out" / "pkg" / "deep.py").read_text() == (pkg / "deep.py").read_text()
