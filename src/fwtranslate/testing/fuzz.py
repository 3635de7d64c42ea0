"""Random sources around PyTorch and Keras calls, for fuzzing the translator (Hypothesis strategies).

``sources()`` draws a whole module; ``check(source)`` translates it both ways and raises on a crash
or an output that does not parse. tests/common/test_fuzz.py runs them under pytest and
benchmarks/fuzz.py for a given time. Needs Hypothesis (the ``verify`` extra), no framework.
"""

from __future__ import annotations

import ast

from hypothesis import strategies as st

from fwtranslate import TranslationError, translate
from fwtranslate.directions import direction_for
from fwtranslate.testing.residue import unmarked_residue

IMPORTS = [
    "import torch",
    "import torch.nn as nn",
    "import torch.nn.functional as F",
    "from torch import nn",
    "import keras",
    "from keras import layers",
    "from keras import ops",
    "import numpy as np",
    "import os, torch",
    "from torch.nn import Linear as L",
]
NAMES = ["x", "y", "z", "self.fc", "self.conv", "h", "out", "np.pi", "kwargs", "args"]
ATOMS = [
    "1",
    "2.5",
    "-1",
    "0",
    "None",
    "True",
    "'s'",
    '"é\\n"',
    "b'\\x00'",
    "r'\\d'",
    "[1, 2]",
    "(3, 4)",
    "{'a': 1}",
    "...",
    "1e-3",
    "0x1F",
    "'''doc'''",
    "'\\u00e9t\\u00e9'",
    "'日本'",
]
CALLS = [
    "torch.cat([{a}, {b}], 1)",
    "torch.cat(({a}, {b}), dim=-1)",
    "torch.relu({a})",
    "F.relu({a})",
    "torch.flatten({a}, 1)",
    "torch.zeros({a})",
    "torch.ones(2, 3)",
    "nn.Conv2d(3, 8, 3)",
    "nn.Linear(4, {a})",
    "nn.Sequential(nn.ReLU(), nn.Linear(2, 2))",
    "{a}.view(-1)",
    "{a}.view({b}, -1)",
    "{a}.permute(0, 2, 1)",
    "{a}.size(0)",
    "{a}.shape[1]",
    "{a}.mean(dim=1)",
    "torch.stack([{a}], 0)",
    "{a}.reshape(2, -1)",
    "{a}.transpose(1, 2)",
    "torch.matmul({a}, {b})",
    "{a}.float()",
    "{a}.to('cpu')",
    "keras.layers.Dense({a})",
    "layers.Dense(4, activation='relu')",
    "layers.Conv2D(8, 3)",
    "keras.ops.concatenate([{a}, {b}], axis=1)",
    "keras.ops.relu({a})",
    "ops.reshape({a}, (-1,))",
    "keras.Sequential([layers.Dense(2)])",
    "keras.ops.mean({a}, axis=1)",
    "layers.Flatten()({a})",
    "np.zeros({a})",
    "len({a})",
    "max({a}, {b})",
    "print({a}, sep='')",
    "{a}(*{b}, **kwargs)",
]


@st.composite
def expressions(draw, depth: int = 0):
    if depth > 3 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(NAMES + ATOMS))
    sub = lambda: draw(expressions(depth + 1))  # noqa: E731
    form = draw(st.integers(0, 13))
    if form <= 4:
        return draw(st.sampled_from(CALLS)).format(a=sub(), b=sub())
    if form == 5:
        return (
            f"{sub()} {draw(st.sampled_from(['+', '*', '-', '/', '@', '**', '//', '==', 'and', 'or', 'in']))} {sub()}"
        )
    if form == 6:
        return f"(lambda {draw(st.sampled_from(['t', 't, u=1', '*a']))}: {sub()})"
    if form == 7:
        kind = draw(
            st.sampled_from(
                ["[{e} for t in {s}]", "{{t: {e} for t in {s}}}", "({e} for t in {s} if t)", "{{{e} for t in {s}}}"]
            )
        )
        return kind.format(e=sub(), s=sub())
    if form == 8:
        inner = (
            draw(st.sampled_from(NAMES + CALLS)).format(a="x", b="y").replace("'", "").replace("=)", "=1)")
        )  # no quotes, no
        return draw(st.sampled_from(['f"{{{e}}}"', "f'{{{e}!r:>10}} x'", 'f"{{{e}=}}"'])).format(e=inner)  # backslash
    if form == 9:
        return f"{sub()}[{draw(st.sampled_from(['0', '1:', '..., 0', ':, None', '-1']))}]"
    if form == 10:
        return f"({sub()} if {sub()} else {sub()})"
    if form == 11:
        return f"{sub()}{draw(st.sampled_from(['.view(-1)', '.float()', '.detach()', '.numpy()', '.shape']))}"
    if form == 12:
        return f"(w := {sub()})"
    return f"not {sub()}"


@st.composite
def blocks(draw, indent: str, unit: str, depth: int, in_def: bool, in_loop: bool, in_class: bool = False) -> list[str]:
    """Lines of a block (at least one statement), each ending without a newline."""
    out: list[str] = []
    for _ in range(draw(st.integers(1, 4))):
        out += draw(statement(indent, unit, depth, in_def, in_loop, in_class))
    return out


@st.composite
def statement(draw, indent: str, unit: str, depth: int, in_def: bool, in_loop: bool, in_class: bool) -> list[str]:
    e = lambda: draw(expressions())  # noqa: E731
    inner = indent + unit
    nest = lambda **kw: draw(blocks(inner, unit, depth + 1, kw.get("d", in_def), kw.get("l", in_loop)))  # noqa: E731
    simple = [
        f"{indent}{draw(st.sampled_from(['x', 'y', 'h', 'out', 'a, b', 'self.fc', 'x[0]']))} = {e()}",
        f"{indent}{e()}",
        f"{indent}x += {e()}",
        f"{indent}pass",
        f"{indent}assert {e()}, 'msg'",
        f"{indent}y: int = {e()}",
        f"{indent}del y" if in_def else f"{indent}...",
        f"{indent}x = {e()}; y = {e()}",
        f"{indent}x = (\n{inner}{e()},\n{inner}{e()})",
        f"{indent}x = {e()} \\\n{inner}+ 1",
        f"{indent}pass  # a comment: torch.cat(x)",
    ]
    if in_def:
        simple += [f"{indent}return {e()}", f"{indent}yield {e()}"]
    if in_loop:
        simple += [f"{indent}break", f"{indent}continue"]
    form = draw(st.integers(0, 14 if depth < 3 else 0))
    if form <= 5:
        return [draw(st.sampled_from(simple))]
    if form == 6:
        lines = [f"{indent}if {e()}:", *nest()]
        if draw(st.booleans()):
            lines += [f"{indent}elif {e()}:", *nest()]
        if draw(st.booleans()):
            lines += [f"{indent}else:", *nest()]
        return lines
    if form == 7:
        return [f"{indent}for i in {e()}:", *nest(l=True)]
    if form == 8:
        return [f"{indent}with {draw(st.sampled_from(['torch.no_grad()', 'open(p) as f', 'ctx', 'a, b']))}:", *nest()]
    if form == 9:
        decorator = draw(
            st.sampled_from(
                [
                    "",
                    "@staticmethod",
                    "@torch.no_grad()",
                    "@functools.wraps(f)",
                    "@keras.saving.register_keras_serializable()",
                ]
            )
        )
        args = draw(st.sampled_from(["x", "self, x", "x, *args, **kwargs", "x: torch.Tensor = None", "x, /, y=1"]))
        head = [f"{indent}{decorator}"] if decorator else []
        return head + [
            f"{indent}{draw(st.sampled_from(['def', 'async def']))} f{depth}({args}):",
            *nest(d=True, l=False),
        ]
    if form == 10:
        lines = [
            f"{indent}try:",
            *nest(),
            f"{indent}except {draw(st.sampled_from(['Exception', '(ValueError, E) as err', '']))}:",
            *nest(),
        ]
        if draw(st.booleans()):
            lines += [f"{indent}finally:", *nest()]
        return lines
    if form == 11:
        return [f"{indent}while {e()}:", *nest(l=True)]
    if form == 12:
        return [
            f"{indent}match {e()}:",
            f"{inner}case [a, *rest]:",
            *draw(blocks(inner + unit, unit, depth + 2, in_def, in_loop)),
            f"{inner}case _:",
            f"{inner}{unit}pass",
        ]
    return draw(model_class(indent, unit, depth))


@st.composite
def model_class(draw, indent: str, unit: str, depth: int) -> list[str]:
    base = draw(
        st.sampled_from(
            [
                "nn.Module",
                "keras.Model",
                "keras.layers.Layer",
                "layers.Layer",
                "object",
                "torch.nn.Module",
                "nn.Sequential",
            ]
        )
    )
    method = "forward" if "nn" in base or base == "object" else "call"
    i1, i2 = indent + unit, indent + unit * 2
    lines = [f"{indent}class M{depth}{draw(st.integers(0, 9))}({base}):"]
    if draw(st.booleans()):
        lines.append(f'{i1}"""A model."""')
    lines += [
        f"{i1}def __init__(self, n=4):",
        f"{i2}super().__init__()",
        f"{i2}self.fc = {draw(st.sampled_from(['nn.Linear(n, n)', 'layers.Dense(n)', 'nn.Conv2d(3, n, 3)', 'None']))}",
    ]
    lines += draw(blocks(i2, unit, depth + 2, True, False))
    lines += [f"{i1}def {method}(self, x{draw(st.sampled_from(['', ', training=False', ', mask=None']))}):"]
    lines += draw(blocks(i2, unit, depth + 2, True, False))
    lines.append(f"{i2}return {draw(expressions())}")
    return lines


@st.composite
def sources(draw) -> str:
    unit = draw(st.sampled_from(["    ", "  ", "\t", "        "]))
    lines = [draw(st.sampled_from(IMPORTS)) for _ in range(4 - draw(st.integers(0, 4)))]
    if draw(st.booleans()):
        lines.insert(0, '"""Module docstring with torch.cat in it."""')
    for _ in range(draw(st.integers(1, 4))):
        lines += draw(statement("", unit, 0, False, False, False))
        lines += [""] * draw(st.integers(0, 2))
    if draw(st.integers(0, 4)) == 0:  # odd whitespace: trailing blanks, form feeds
        lines = [
            line + draw(st.sampled_from(["", " ", "\t", "  # c"])) if line and not line.endswith("\\") else line
            for line in lines
        ]
    newline = draw(st.sampled_from(["\n", "\n", "\n", "\r\n"]))
    text = newline.join(lines) + draw(st.sampled_from([newline, "", newline * 2]))
    if draw(st.integers(0, 9)) == 0:
        text = "# -*- coding: utf-8 -*-" + newline + text
    if draw(st.integers(0, 9)) == 0:
        text = "\ufeff" + text  # a byte-order mark left in the string
    return text


def check(source: str) -> dict[str, str]:
    """Translate both ways; returns {target: "refused" | "ok"}; raises on a crash or an output
    that does not parse."""
    outcome = {}
    for to in ("tf", "torch"):
        try:
            result = translate(source, to=to)
        except TranslationError:
            outcome[to] = "refused"
            continue
        try:
            ast.parse(result.code)
        except SyntaxError as exc:
            if result.code == source.removeprefix("\ufeff"):
                try:
                    ast.parse(result.code)
                except SyntaxError:  # no framework code: returned as given (an f-string with a
                    outcome[to] = "unchanged-invalid"  # backslash before 3.12, say)
                    continue
            raise AssertionError(f"the translation to {to} does not parse ({exc}):\n{result.code}") from None
        left = unmarked_residue(result.code, direction_for(to))
        if left:  # a statement still using the source framework, with no marker: silent
            raise AssertionError(f"unmarked source-framework names in the translation to {to}: {left}\n{result.code}")
        outcome[to] = "ok"
    return outcome
