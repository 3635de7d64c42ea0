"""A long file translated in pieces (chunked.py) gives the whole-file translation, exactly."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

import fwtranslate
from fwtranslate import TranslationError, chunked, guard
from fwtranslate.testing.large_files import make_source

ROOT = Path(__file__).resolve().parents[2]

HEAD = '"""Doc."""\n# a comment\nimport torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n'
CLASS = """

class Plain{i}(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return F.relu(self.fc(x))
"""
TRICKY = {
    "derived": HEAD
    + CLASS.format(i=9)
    + CLASS.format(i=0)
    + """

class Derived(Plain0):
    def forward(self, x):
        return torch.flatten(super().forward(x), 1)
"""
    + CLASS.format(i=1),
    "shared_helper": HEAD
    + CLASS.format(i=0)
    + """

def helper(x):
    return torch.cat([x, x], 1)
"""
    + CLASS.format(i=5)
    + """

class A(nn.Module):
    def forward(self, x):
        return helper(x)


class B(nn.Module):
    def forward(self, x):
        return helper(x) + 1
"""
    + CLASS.format(i=1),
    "last_only": '"""Doc."""\nimport torch\nimport torch.nn as nn\n'
    + "".join(f"\n\nclass P{i}:\n    def f(self, x):\n        return x + {i}\n" for i in range(4))
    + """

class Last(nn.Module):
    def forward(self, x):
        return torch.relu(x)
""",
    "ignore": HEAD
    + CLASS.format(i=0)
    + """

class Odd(nn.Module):
    def forward(self, x):
        return torch.stft(x, 4)  # fwtranslate: ignore[unsupported]
"""
    + CLASS.format(i=1)
    + """

class Odd2(nn.Module):
    def forward(self, x):
        return torch.stft(x, 4)  # fwtranslate: ignore
"""
    + CLASS.format(i=2),
    "between": HEAD
    + CLASS.format(i=0)
    + "\n\nSCALE = 3  # a constant\nprint('hello')\n"
    + CLASS.format(i=1)
    + """

class Scaled(nn.Module):
    def forward(self, x):
        return torch.relu(x) * SCALE
"""
    + CLASS.format(i=2),
    "decorators": HEAD
    + """

def deco(cls):
    return cls


@deco
class D0(nn.Module):
    def forward(self, x):
        return torch.relu(x)
"""
    + CLASS.format(i=0)
    + """

@torch.no_grad()
def infer(m, x):
    return m(x)
"""
    + CLASS.format(i=1)
    + """

@torch.jit.script
def jitted(x):
    return torch.sigmoid(x)
""",
    "main": HEAD
    + CLASS.format(i=0)
    + CLASS.format(i=1)
    + CLASS.format(i=2)
    + """

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = Plain2()

    def forward(self, x):
        return self.a(x)


if __name__ == "__main__":
    model = Net()
    print(model(torch.zeros(2, 4)).shape)
else:
    pass
""",
    "nested_model": HEAD
    + CLASS.format(i=0)
    + CLASS.format(i=1)
    + """

# a comment between classes

class Wrap(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = Plain1()
        self.w = nn.Parameter(torch.zeros(3))
        self.register_buffer("count", torch.zeros(1))

    def forward(self, x):
        self.count += 1
        return self.inner(x) * self.w.sum()
    # a trailing comment in the class
"""
    + CLASS.format(i=3)
    + """

class UsesCount(nn.Module):
    def forward(self, x):
        self.count = x.reshape(-1).view(2, -1)
        return self.count.size(0)
"""
    + CLASS.format(i=4)
    + "\n# the end\n",
    # str.splitlines would cut these lines at \u2028, \x0b and \x1c: the tokenizer does not
    "separators": HEAD
    + "\n# a line \u2028 separator\n"
    + CLASS.format(i=1)
    + "# \x0b\x1c\n"
    + CLASS.format(i=2)
    + CLASS.format(i=3),
}


def _both(source: str, to: str, monkeypatch, path: str = "<string>") -> tuple[bool, object, object]:
    """(whether the pieces were used, the whole translation, the translation with pieces)."""
    monkeypatch.setattr(chunked, "THRESHOLD", 10**9)
    monkeypatch.setattr(guard, "PIECE_LINES", 10**9)
    whole = fwtranslate.translate(source, to=to, path=path)
    monkeypatch.setattr(chunked, "THRESHOLD", 3)
    monkeypatch.setattr(guard, "PIECE_LINES", 3)
    used = []
    original = chunked.translate_in_pieces

    def spy(*args, **kwargs):
        result = original(*args, **kwargs)
        used.append(result is not None)
        return result

    monkeypatch.setattr(chunked, "translate_in_pieces", spy)
    pieces = fwtranslate.translate(source, to=to, path=path)
    return any(used), whole, pieces


def _same(whole, pieces) -> None:
    assert pieces.code == whole.code
    assert pieces.diagnostics == whole.diagnostics
    assert pieces.stats == whole.stats


FILES = sorted(
    [
        *(ROOT / "samples" / "torch").glob("*.py"),
        *(ROOT / "samples" / "tf").glob("*.py"),
        *(ROOT / "tests" / "fixtures").rglob("*.py"),
    ]
)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_files(path, monkeypatch):
    source = path.read_text(encoding="utf-8")
    to = "torch" if "/tf/" in path.as_posix() or "keras" in path.name else "tf"
    _, whole, pieces = _both(source, to, monkeypatch, str(path))
    _same(whole, pieces)


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_tricky(name, monkeypatch):
    used, whole, pieces = _both(TRICKY[name], "tf", monkeypatch, f"{name}.py")
    assert used, "not split"
    _same(whole, pieces)


def test_make_source(monkeypatch):
    used, whole, pieces = _both(make_source(3000), "tf", monkeypatch)
    assert used
    _same(whole, pieces)


def test_unsafe_files_are_whole(monkeypatch):
    late_import = TRICKY["derived"] + "\nimport os\n"
    star = "from torch.nn import *\n" + TRICKY["derived"]
    rebinding = TRICKY["derived"] + "\nF = None\n"
    for source in (late_import, star, rebinding):
        used, whole, pieces = _both(source, "tf", monkeypatch)
        assert not used
        _same(whole, pieces)


def _guard(source: str, roots: tuple[str, ...]):
    try:
        return guard.check_source(source, "g.py", roots)
    except TranslationError as err:
        return str(err), err.line, err.col


DEEP = "x = " + "(" * 300 + ")" * 300 + "\n"
GUARDED = {
    "plain": TRICKY["derived"],
    "no framework": TRICKY["derived"].replace("torch", "numpy"),
    "import in a function": "x = 1\ny = 2\ndef f():\n    import torch\n    return torch\nz = 3\nw = 4\n",
    "nesting late": TRICKY["derived"] + DEEP,
    "nesting early": "import torch\n" + DEEP + TRICKY["derived"],
    "nesting, no framework": "import os\n" + "a = 1\n" * 5 + DEEP + "b = 2\n" * 5,
    "syntax error late": TRICKY["derived"] + "def f(:\n    pass\n",
    "long line": TRICKY["derived"] + "x = 1  #" + "#" * guard.MAX_LINE + "\n",
    "long line, no framework": "import os\n" + "a = 1\n" * 5 + "#" * (guard.MAX_LINE + 1) + "\n" + "b = 2\n" * 5,
    "long line and nesting": TRICKY["derived"] + "#" * (guard.MAX_LINE + 1) + "\n" + DEEP,
    "string over a cut": "import torch\n" + 'x = """\n' + "text\n" * 10 + '"""\n' + TRICKY["derived"],
    "string over a cut, no framework": 'x = """\nimport torch\n' + "text\n" * 10 + '"""\n' + "a = 1\n" * 5,
    "brackets over a cut": "import torch\nx = [\n" + "a,\n" * 10 + "]\n" + "b = 2\n" * 5,
    "backslash": "import torch\n" + "x = 1 + \\\n" * 10 + "2\n" + "b = 2\n" * 5,
    "else at column 0": "import torch\nif x:\n" + "    a = 1\n" * 5 + "else:\n" + "    b = 2\n" * 5,
    "indentation error": TRICKY["derived"] + "if x:\nprint(1)\n",
    "tabs and spaces": TRICKY["derived"] + "if x:\n\tpass\n        pass\n",
    "null byte": TRICKY["derived"] + "x = 1\0\n",
    "unterminated string": TRICKY["derived"] + 'x = "abc\n',
    "barry": "from __future__ import barry_as_FLUFL\nimport torch\n" + "a = 1\n" * 5 + "b = 1 <> 2\n",
}


@pytest.mark.parametrize("name", sorted(GUARDED))
@pytest.mark.parametrize("roots", [("torch",), ()], ids=["roots", "no roots"])
def test_guard_in_pieces(name, roots, monkeypatch):
    """The guard's outcome (refusal and message, or whether there is framework code) does not
    depend on compiling the file in pieces."""
    source = GUARDED[name]
    monkeypatch.setattr(guard, "PIECE_LINES", 10**9)
    whole = _guard(source, roots)
    monkeypatch.setattr(guard, "PIECE_LINES", 3)
    compiled: list[str] = []
    original = guard.compile if hasattr(guard, "compile") else compile

    def spy(text, *args, **kwargs):
        compiled.append(text)
        return original(text, *args, **kwargs)

    monkeypatch.setattr(guard, "compile", spy, raising=False)
    assert _guard(source, roots) == whole
    if name in ("plain", "no framework", "import in a function", "long line, no framework"):
        assert len(compiled) > 1 and "".join(c.lstrip("\n") for c in compiled) == source.lstrip("\n")


def test_guard_warnings_name_the_files_lines(monkeypatch):
    """CPython's warnings while the guard compiles (an invalid escape) give the file's line numbers."""
    source = TRICKY["derived"] + 'PATTERN = "\\d+"\n'
    line = source.count("\n")

    def warned() -> list[tuple[str, int]]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            guard.check_source(source, "w.py", ("torch",))
        return [(str(w.message), w.lineno) for w in caught]

    monkeypatch.setattr(guard, "PIECE_LINES", 10**9)
    whole = warned()
    monkeypatch.setattr(guard, "PIECE_LINES", 3)
    assert warned() == whole
    assert [n for _, n in whole] == [line]


def test_robustness_inputs_guarded_alike(monkeypatch):
    from robustness_cases_input import CASES  # tests/common/, beside this file

    sources = [v for case in CASES for k, v in case.files.items() if isinstance(v, str) and k.endswith(".py")]
    assert sources
    for source in sources:
        monkeypatch.setattr(guard, "PIECE_LINES", 10**9)
        whole = _guard(source, ("torch",))
        monkeypatch.setattr(guard, "PIECE_LINES", 1)
        assert _guard(source, ("torch",)) == whole, source[:80]
