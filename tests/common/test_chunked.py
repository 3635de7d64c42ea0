"""A long file translated in pieces (chunked.py) gives the whole-file translation, exactly."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import fwtranslate
from fwtranslate import chunked

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from robustness_scaling import make_source

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
}


def _both(source: str, to: str, monkeypatch, path: str = "<string>") -> tuple[bool, object, object]:
    """(whether the pieces were used, the whole translation, the translation with pieces)."""
    monkeypatch.setattr(chunked, "THRESHOLD", 10**9)
    whole = fwtranslate.translate(source, to=to, path=path)
    monkeypatch.setattr(chunked, "THRESHOLD", 3)
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
