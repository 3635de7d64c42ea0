"""Robustness cases: rule files and configuration that are malformed or try to run code.

The escape below wrote the file ``pwned`` when conditions went through ``eval`` with
``__builtins__={}``; every case checks that the folder holds nothing new afterwards.
"""

from __future__ import annotations

from robustness_support import GOOD, Case

# the classic sandbox escape: walk from a tuple to a class whose module still has open()
ESCAPE = (
    "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'catch_warnings'][0]()"
    "._module.__builtins__['open']('pwned', 'w').write('x')"
)


def _rule(field: str, value: str) -> str:
    """A user rule for torch.cat with one field set to ``value`` (YAML-quoted)."""
    quoted = value.replace("'", "''")
    if field == "static":
        return f"torch.cat:\n  signature: (tensors, dim=0)\n  to: 'keras.ops.concatenate(tensors, axis=static({quoted}))'\n"
    if field == "when":
        return (
            f"torch.cat:\n  signature: (tensors, dim=0)\n  to:\n    - when: '{quoted}'\n"
            "      to: keras.ops.concatenate(tensors, axis=dim)\n"
        )
    return (
        f"torch.cat:\n  signature: (tensors, dim=0)\n  to: keras.ops.concatenate(tensors, axis=dim)\n"
        f"  unsupported:\n    - when: '{quoted}'\n      message: never\n"
    )


def _evil(field: str, value: str = ESCAPE, *, what: str, message: str) -> Case:
    return Case(
        what,
        {"m.py": GOOD, "evil.yaml": _rule(field, value)},
        ("m.py", "--to", "tf", "--rules", "evil.yaml"),
        2,
        message,
        exact=False,
    )


_PYPROJECT = '[tool.fwtranslate]\nto = "tf"\nmirrors = {"m.py" = "m_tf.py"}\nrules = ["evil.yaml"]\n'

CASES: list[Case] = [
    _evil("when", what="Sandbox escape in a rule's `when`", message="evil.yaml: rule 'torch.cat', field 'to.when': "),
    _evil("unsupported", what="Sandbox escape in `unsupported.when`", message="field 'unsupported.when': "),
    _evil("static", what="Sandbox escape in `static(...)`", message="field 'to': "),
    _evil(
        "when",
        "__import__('os').system('touch pwned')",
        what="`__import__` in a condition",
        message="the name '__import__' is not allowed in a rule expression",
    ),
    _evil(
        "when",
        "dim.real",
        what="An attribute read in a condition",
        message="reading an attribute is not allowed in a rule expression",
    ),
    _evil("when", "(lambda: 1)()", what="A lambda in a condition", message="a lambda is not allowed"),
    Case(
        "A condition that would take gigabytes on this call (the call stays unconverted, reported)",
        {"m.py": GOOD, "r.yaml": _rule("when", "'x' * (dim * 10 ** 12) == 'x'")},
        ("m.py", "--to", "tf", "--rules", "r.yaml", "--stdout"),
        1,
        "m.py:3:5: error [rule-error] torch.cat (r.yaml): the rule expression \"'x' * (dim * 10 ** 12) == 'x'\" "
        "failed: ExpressionError: a value of more than 100000 items in a rule expression",
    ),
    _evil(
        "when",
        "10 ** 10 ** 10 == 1",
        what="A condition that would compute a huge number",
        message="a power too large for a rule expression",
    ),
    _evil(
        "when",
        "dimm == 1",
        what="A misspelt parameter in a condition",
        message="unknown name 'dimm' (parameters: dim, tensors)",
    ),
    Case(
        "Sandbox escape in a repository's rules, run by the pre-commit hook",
        {"m.py": GOOD, "evil.yaml": _rule("when", ESCAPE), "pyproject.toml": _PYPROJECT},
        ("m.py",),
        2,
        "field 'to.when': ",
        exact=False,
        program="fwtranslate-mirror",
    ),
    Case(
        "Rule field `examples: 5`",
        {"m.py": GOOD, "r.yaml": "torch.foo:\n  signature: (x)\n  to: keras.ops.foo(x)\n  examples: 5\n"},
        ("m.py", "--to", "tf", "--rules", "r.yaml"),
        2,
        "fwtranslate: error: r.yaml: rule 'torch.foo', field 'examples': expected a list of 'before => after' strings",
    ),
    Case(
        "Rule field `class: [1, 2]`",
        {"m.py": GOOD, "r.yaml": "torch.foo:\n  signature: (x)\n  to: keras.ops.foo(x)\n  class: [1, 2]\n"},
        ("m.py", "--to", "tf", "--rules", "r.yaml"),
        2,
        "fwtranslate: error: r.yaml: rule 'torch.foo', field 'class': expected a class name such as "
        "keras.layers.Layer, got [1, 2]",
    ),
    Case(
        "Rule field `base: 3`",
        {"m.py": GOOD, "r.yaml": "torch.foo:\n  signature: (x)\n  to: keras.ops.foo(x)\n  base: 3\n"},
        ("m.py", "--to", "tf", "--rules", "r.yaml"),
        2,
        "fwtranslate: error: r.yaml: rule 'torch.foo', field 'base': expected a class name such as "
        "keras.layers.Layer, got 3",
    ),
    Case(
        "Rule field `imports` holding a statement",
        {
            "m.py": GOOD,
            "r.yaml": "torch.foo:\n  signature: (x)\n  to: keras.ops.foo(x)\n"
            "  imports: ['import os; os.system(\"x\")']\n",
        },
        ("m.py", "--to", "tf", "--rules", "r.yaml"),
        2,
        "field 'imports': expected 'import a.b [as c]' or 'from a.b import c [as d]'",
        exact=False,
    ),
    Case(
        "Rule field `method: yes please`",
        {"m.py": GOOD, "r.yaml": "torch.foo:\n  signature: (x)\n  to: keras.ops.foo(x)\n  method: yes please\n"},
        ("m.py", "--to", "tf", "--rules", "r.yaml"),
        2,
        "fwtranslate: error: r.yaml: rule 'torch.foo', field 'method': expected true or false, got 'yes please'",
    ),
    Case(
        "`tool = 3` in pyproject.toml",
        {"m.py": GOOD, "pyproject.toml": "tool = 3\n"},
        ("m.py",),
        2,
        "pyproject.toml: [tool] must be a table (found tool = 3)",
        exact=False,
        program="fwtranslate-mirror",
    ),
]
