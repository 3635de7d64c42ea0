"""The translator's shortcuts (stand_ins.py, untouched.py, locate.py) change nothing but the time it takes.

- stand-ins: framework-free classes, functions and lines are parsed as one-line skeletons and
  emitted as their original text; the output must be the bytes a whole-tree translation gives,
  diagnostics (line:col) included, whatever the comments, blank lines and indentation around
  them, and a stand-in that a pass would need falls back to the whole tree;
- the driver's own traversal (``_Driver.walk``): the same handler calls and the same result as
  LibCST's ``module.visit``, without rebuilding unchanged nodes;
- the children LibCST visits, read from its source (``_children``), in LibCST's order.
"""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import libcst as cst
import pytest

from fwtranslate import cstutil, driver, locate, pipeline, stand_ins
from fwtranslate.directions import direction_for
from fwtranslate.imports import ImportMap
from fwtranslate.passes.common.context import Context
from fwtranslate.rules import load_rules

ROOT = Path(__file__).resolve().parents[2]
DIRECTION = direction_for("tf")
RULES = load_rules(DIRECTION.name)
PASSES = DIRECTION.passes

NET = """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)

    def forward(self, x):
        y = self.fc(x)
        return torch.relu(y) + torch.stft(y)
"""

CASES = {
    "comments after blocks, at every indentation": """
import torch
import torch.nn as nn


class Plain:
    def f(self):
        if True:
            return 1
            # deep comment
        # method-level comment
    # class-level comment
# top comment

    # indented after a top-level comment
"""
    + NET
    + """

class Last:
    def g(self):
        return 2
        # trailing, indented
    # trailing
""",
    "two-space blocks first (the module's default indentation)": """
import torch
import torch.nn as nn


class Plain:
  def f(self):
    return 1
"""
    + NET,
    "tabs": "import torch\nimport torch.nn as nn\n\n\ndef helper(a):\n\tb = a\n\treturn b + 1\n" + NET,
    "decorators, comments between them, one-line bodies": '''
import functools
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)

    @property
    # between
    @functools.lru_cache()
    def size(self):
        return 3

    @staticmethod
    def helper(a): return a  # suite

    def forward(self, x):
        """Docstring."""
        n = self.size; m = n + 1
        a, (b, *c) = x, (x, x)
        d: int = 3
        n += 1
        return torch.relu(self.fc(x)) + torch.stft(x)
''',
    "headers over several lines, a backslash": """
import torch
import torch.nn as nn


def helper(a,
           b=(1,
              2)):
    return a


def suite(a,
          b): return a


def backslash(a) \\
        -> int:
    return a
"""
    + NET,
    "non-ASCII text before a body": '''
import torch
import torch.nn as nn


class Plain:
    """é ü 漢字"""
    def f(self): x = "漢字"; return x


def g(x="漢字"): return 1
'''
    + NET,
    "module-level assignments": """
import torch
import torch.nn as nn

_META = {
    "a": 1,  # comment
    "b": [1, 2, 3],
}
x = y = {"k": 2};  # trailing
a, b = 1, 2
"""
    + NET,
    "suppression comments (positions on the whole file)": """
import torch
import torch.nn as nn


class Plain:
    pass


class Net(nn.Module):
    def forward(self, x):
        y = x + 1
        return torch.stft(y)  # fwtranslate: ignore[no-rule]

    def other(self, x):
        z = x * 2
        return torch.istft(z)
""",
    "whitespace-only lines": "import torch\nimport torch.nn as nn\n\n\nclass Plain:\n    def f(self):\n"
    "        return 1\n        \n    \n  \n" + NET + "    \n",
    "guarded imports": """
try:
    import torch
    import torch.nn as nn
    HAS_TORCH = True
except ImportError:
    torch = None
    HAS_TORCH = False

if True:
    class Plain:
        def f(self):
            return 1
"""
    + NET,
    "names a function binds, in skipped lines": """
import torch
import torch.nn as nn
import mylib.functional as F


def build(n):
    F = n
    y = F.relu(n)
    return torch.zeros(n)
"""
    + NET,
    "a class derived from a translated one": """
import torch
import torch.nn as nn


class Base(nn.Module):
    def forward(self, x):
        return x


class Child(Base):
    def helper(self):
        return 1


class Plain:
    def f(self):
        return Child()
""",
    "no trailing newline": "import torch\nimport torch.nn as nn\n\n\nclass Plain:\n    pass\n" + NET.rstrip("\n"),
}

# a stand-in would be moved (no_grad) or changed (a model class of the same name): whole tree
FALLBACKS = {
    "a function in a no_grad block": """
import torch
import torch.nn as nn


class Net(nn.Module):
    def forward(self, x):
        with torch.no_grad():
            def inner(a):
                return a + 1
            y = inner(x)
        return torch.relu(y)
""",
    "a class named like a nested model class": """
import torch
import torch.nn as nn


class Block:
    def f(self):
        return 1


def make():
    class Block(nn.Module):
        def forward(self, x):
            return torch.relu(x)
    return Block()
""",
}


def _both(source: str):
    plan = stand_ins.plan_stand_ins(source, DIRECTION, RULES, PASSES)

    def run(p):
        result = pipeline._rewrite(source, pipeline.Job("m.py", DIRECTION, RULES), p)
        return result.code, [(d.line, d.col, d.severity, d.code, d.message) for d in result.diagnostics]

    return plan, run(None), (run(plan) if plan is not None else None)


@pytest.mark.parametrize("name", sorted(CASES))
def test_stand_ins_change_nothing(name):
    source = CASES[name].lstrip("\n")
    plan, whole, fast = _both(source)
    if name == "no trailing newline":
        assert plan is None  # not planned: the last line has no end
        return
    assert plan is not None and plan.stand_ins, "the case should exercise stand-ins"
    assert fast == whole
    assert pipeline.rewrite(source, "m.py", DIRECTION, RULES).code == whole[0]


@pytest.mark.parametrize("name", sorted(FALLBACKS))
def test_stand_in_needed_after_all_falls_back(name):
    source = FALLBACKS[name].lstrip("\n")
    whole = pipeline._rewrite(source, pipeline.Job("m.py", DIRECTION, RULES), None)
    plan = stand_ins.plan_stand_ins(source, DIRECTION, RULES, PASSES)
    if plan is not None:
        with pytest.raises(stand_ins.SpliceError):
            pipeline._rewrite(source, pipeline.Job("m.py", DIRECTION, RULES), plan)
    result = pipeline.rewrite(source, "m.py", DIRECTION, RULES)
    assert (result.code, result.diagnostics) == (whole.code, whole.diagnostics)


def test_samples_translate_alike_with_and_without_stand_ins():
    for path in sorted((ROOT / "samples" / "torch").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        plan, whole, fast = _both(source)
        if plan is not None:
            assert fast == whole, path.name


def test_walk_is_libcst_visit():
    """Same output and the same handler calls, in the same order, as LibCST's traversal."""
    for path in sorted((ROOT / "samples" / "torch").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        runs = []
        for walk in (True, False):
            calls: list[tuple[str, str]] = []
            module = cst.parse_module(source)
            ctx = Context(
                path="m.py",
                direction=DIRECTION,
                rules=RULES,
                imports=ImportMap.from_module(module, DIRECTION.source_roots),
                star_names=frozenset(),
            )
            dispatch = driver.Driver(ctx, [p(ctx) for p in PASSES])
            for table in (dispatch._visit, dispatch._leave, dispatch._scope_leave):
                for kind, handlers in table.items():
                    handlers[:] = [_logged(h, kind, calls) for h in handlers]
            new = dispatch.walk(module) if walk else module.visit(dispatch)
            runs.append((new.code, calls))
        assert runs[0] == runs[1], path.name


def _logged(handler, kind, calls):
    def call(*args):
        calls.append((kind, handler.__name__))
        return handler(*args)

    call.__self__ = handler.__self__  # the driver sorts the scope tracker's handlers by owner
    call.__name__ = handler.__name__
    return call


class _Order(cst.CSTTransformer):
    def __init__(self):
        super().__init__()
        self.fields: list[str] = []

    def on_visit(self, node):
        return False

    def on_visit_attribute(self, node, attribute):
        self.fields.append(attribute)


def test_children_follow_libcst_order():
    module = cst.parse_module((ROOT / "samples" / "torch" / "transformer.py").read_text(encoding="utf-8"))
    seen: dict[type, cst.CSTNode] = {}

    class Collect(cst.CSTVisitor):
        def on_visit(self, node):
            seen.setdefault(type(node), node)
            return True

    module.visit(Collect())
    read = 0
    for cls, node in seen.items():
        spec = cstutil._children(cls)
        if spec is None:
            continue
        read += 1
        order = _Order()
        node._visit_and_replace_children(order)
        assert [name for name, _ in spec] == order.fields, cls.__name__
    assert read > 20


def test_dedent_in_source_and_stand_in_positions():
    """Diagnostics inside a class with stand-ins keep their line:col."""
    source = dedent("""\
        import torch
        import torch.nn as nn


        class Net(nn.Module):
            def helper(self):
                return {
                    "a": 1,
                }

            def forward(self, x):
                y = x + 1
                return torch.stft(y)
        """)
    result = pipeline.rewrite(source, "m.py", DIRECTION, RULES)
    assert [(d.line, d.col, d.code) for d in result.diagnostics] == [(13, 16, "not-translated")]  # declared


LOCATE = '''
import torch
import torch.nn as nn


@torch.no_grad()
def helper(x, y=torch.stft):
    """Doc."""
    return torch.stft(x) + \\
        torch.istft(y)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)

    @torch.no_grad()
    def stats(self, x):
        if self.training and torch.stft(x):
            pass
        elif torch.istft(x):
            for a in torch.stft(x):
                y = [torch.istft(b)
                     for b in a]
        return {
            "a": torch.stft(x),  # comment
            "b": lambda z: torch.istft(z),
        }

    def forward(self, x):
        x.add_(1) + 2
        return torch.stft(self.fc(x))


x = torch.stft(torch.ones(3))
'''


def test_inner_statement_positions_are_the_top_level_ones(monkeypatch):
    source = LOCATE.lstrip("\n")
    result = pipeline.rewrite(source, "m.py", DIRECTION, RULES)
    assert len(result.diagnostics) >= 10
    monkeypatch.setattr(locate, "_locate_nested", lambda *args: {})
    monkeypatch.setattr(locate, "_header_only", lambda stmt, *args: stmt)
    reference = pipeline.rewrite(source, "m.py", DIRECTION, RULES)
    assert result.diagnostics == reference.diagnostics


def test_the_fast_path_runs_on_the_libcst_ci_installs():
    """The stand-ins override LibCST internals: a LibCST release they are not tested on turns
    them off (stand_ins.TESTED_LIBCST); CI must test the release it installs."""
    assert stand_ins.ENABLED, "LibCST's version is not in stand_ins.TESTED_LIBCST: run this file and add it"


@pytest.mark.parametrize(
    "path", sorted((Path(__file__).resolve().parents[2] / "samples" / "torch").glob("*.py")), ids=lambda p: p.name
)
def test_without_the_fast_path_the_output_is_the_same(path, monkeypatch):
    source = path.read_text()
    fast = pipeline.rewrite(source, path.name, DIRECTION, RULES)
    monkeypatch.setattr(stand_ins, "ENABLED", False)
    whole = pipeline.rewrite(source, path.name, DIRECTION, RULES)
    assert (whole.code, whole.diagnostics) == (fast.code, fast.diagnostics)
