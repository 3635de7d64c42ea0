"""Random PyTorch models, generated as *source code*, for property-based tests of the translator.

`models()` is a Hypothesis strategy producing a `RandomModel`: the source of a module that defines
`class RandomNet(nn.Module)` plus the input shape it accepts. Two families:

* conv: 2..6 blocks drawn from Conv2d (kernel 1/3/5, stride 1/2, padding 0/1/k//2/"same",
  occasional dilation, depthwise groups, bias on/off) + BatchNorm2d + activation, MaxPool2d /
  AvgPool2d (padding, ceil_mode), Dropout, residual blocks (identity shortcut when shapes match,
  1x1-conv projection otherwise) and torch.cat skip connections along dim=1; then a head:
  AdaptiveAvgPool2d(1) + flatten + Linear, or flatten (torch.flatten / x.view / x.flatten)
  + Linear + activation + Linear.
* mlp: Linear / LayerNorm / activation / Dropout stacks on a (2, features) input, with residuals.

Spatial sizes are tracked while generating, so every model is valid for its input shape, and
all widths are small so a model translates and verifies in a few seconds.

Written against the `pick(options)` interface of `random_models`: `models()` backs it with
Hypothesis draws, `generate(random.Random(seed))` with a seeded RNG (benchmarks/random_models.py).
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence

from .random_models import Outcome, Pick, RandomModel, check_translation, matching, picker, strategy

ACTIVATIONS = ["ReLU()", "ReLU6()", "LeakyReLU(0.1)", "GELU()", "SiLU()", "Tanh()", "Sigmoid()", "Hardswish()", "ELU()"]

TORCH_IMPORT = re.compile(r"^\s*(import|from)\s+torch\b", re.MULTILINE)

__all__ = ["Outcome", "RandomModel", "check", "constructs", "generate", "models"]


def conv_out(size: int, k: int, s: int, p: int, d: int = 1) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def pool_out(size: int, k: int, s: int, p: int, ceil_mode: bool) -> int:
    if not ceil_mode:
        return (size + 2 * p - k) // s + 1
    out = math.ceil((size + 2 * p - k) / s) + 1
    if (out - 1) * s >= size + p:  # the last window must start inside the input or left padding
        out -= 1
    return out


class _Builder:
    """Accumulates __init__ and forward lines, naming layers layer0, layer1, ..."""

    def __init__(self) -> None:
        self.init: list[str] = []
        self.fwd: list[str] = []
        self.n = 0

    def layer(self, expr: str, prefix: str = "layer") -> str:
        name = f"{prefix}{self.n}"
        self.n += 1
        self.init.append(f"self.{name} = nn.{expr}")
        return f"self.{name}"

    def source(self, doc: str) -> str:
        init = "\n".join("        " + line for line in self.init)
        fwd = "\n".join("        " + line for line in self.fwd)
        return (
            f'"""{doc}"""\nimport torch\nimport torch.nn as nn\n\n\n'
            f"class RandomNet(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            f"{init}\n\n    def forward(self, x):\n{fwd}\n        return x\n"
        )


def _conv(
    pick: Pick, b: _Builder, cin: int, h: int, var: str = "x", out: str = "x", keep_size: bool = False
) -> tuple[int, int]:
    """One Conv2d (+ optional BatchNorm2d and activation); returns (channels, size)."""
    k = pick([3, 1, 5]) if h >= 5 else pick([1, 3]) if h >= 3 else 1
    stride = 1 if keep_size else pick([1, 2])
    # Keras cannot combine stride > 1 with dilation > 1 (the translator reports it as unsupported)
    dil = pick([1, 1, 1, 2]) if k > 1 and stride == 1 and h >= 2 * k + 1 else 1
    if keep_size:
        pad = pick([dil * (k // 2), "same"])
    else:
        pad = pick([dil * (k // 2), 0, 1] + (["same"] if stride == 1 else []))
    p = dil * (k - 1) // 2 if pad == "same" else pad
    if conv_out(h, k, stride, p, dil) < 1:
        pad = p = dil * (k // 2)
    pad = "'same'" if pad == "same" else pad
    depthwise = cin > 1 and pick([False, False, False, True])
    cout = cin * pick([1, 2]) if depthwise else pick([4, 8, 6, 3])
    args = f"{cin}, {cout}, kernel_size={k}"
    args += f", stride={stride}" if stride != 1 else ""
    args += f", padding={pad}" if pad != 0 else ""
    args += f", dilation={dil}" if dil != 1 else ""
    args += f", groups={cin}" if depthwise else ""
    args += ", bias=False" if pick([False, True]) else ""
    line = f"{b.layer(f'Conv2d({args})')}({var})"
    if pick([True, False]):
        line = f"{b.layer(f'BatchNorm2d({cout})')}({line})"
    b.fwd.append(f"{out} = {line}")
    if pick([True, False]):
        b.fwd.append(f"{out} = {b.layer(pick(ACTIVATIONS))}({out})")
    return cout, conv_out(h, k, stride, p, dil)


def _conv_block(pick: Pick, b: _Builder, c: int, h: int) -> tuple[int, int]:
    kind = pick(["conv", "pool", "residual", "concat", "dropout"])
    if kind == "pool" and h >= 2:
        k = pick([2, 3]) if h >= 3 else 2
        stride = pick([2, 1, k])
        pad = pick([0, 0, k // 2])
        ceil_mode = pick([False, True])
        kind_name = pick(["MaxPool2d", "AvgPool2d"])
        args = f"kernel_size={k}, stride={stride}"
        args += f", padding={pad}" if pad else ""
        args += ", ceil_mode=True" if ceil_mode else ""
        b.fwd.append(f"x = {b.layer(f'{kind_name}({args})')}(x)")
        return c, pool_out(h, k, stride, pad, ceil_mode)
    if kind == "dropout":
        b.fwd.append(f"x = {b.layer(f'Dropout({pick([0.1, 0.5])})')}(x)")
        return c, h
    if kind == "residual":
        cout, h2 = _conv(pick, b, c, h, out="y")
        cout, h2 = _conv(pick, b, cout, h2, var="y", out="y", keep_size=True)
        if (cout, h2) == (c, h):
            b.fwd.append("x = x + y")
        else:  # 1x1 projection; stride chosen so sizes match (conv_out(h, 1, s, 0) == h2)
            s = next((s for s in (1, 2, 3, 4) if conv_out(h, 1, s, 0) == h2), None)
            if s is None:
                b.fwd.append("x = y")
                return cout, h2
            args = f"{c}, {cout}, kernel_size=1" + (f", stride={s}" if s != 1 else "")
            b.fwd.append(f"x = {b.layer(f'Conv2d({args})')}(x) + y")
        if pick([True, False]):
            b.fwd.append(f"x = {b.layer(pick(ACTIVATIONS))}(x)")
        return cout, h2
    if kind == "concat":
        cout, _ = _conv(pick, b, c, h, out="y", keep_size=True)
        b.fwd.append("x = torch.cat([x, y], dim=1)")
        return c + cout, h
    return _conv(pick, b, c, h)


def _head(pick: Pick, b: _Builder, c: int, h: int) -> None:
    classes = pick([3, 5, 10])
    if pick(["pool", "flatten"]) == "pool":
        b.fwd.append(f"x = {b.layer('AdaptiveAvgPool2d(1)')}(x)")
        features = c
    else:
        features = c * h * h
    b.fwd.append(pick(["x = torch.flatten(x, 1)", "x = x.view(x.size(0), -1)", "x = x.flatten(1)"]))
    if pick([False, True]):
        hidden = pick([8, 16])
        b.fwd.append(f"x = {b.layer(f'Linear({features}, {hidden})')}(x)")
        b.fwd.append(f"x = {b.layer(pick(ACTIVATIONS))}(x)")
        features = hidden
    b.fwd.append(f"x = {b.layer(f'Linear({features}, {classes})')}(x)")


def _conv_model(pick: Pick) -> RandomModel:
    b = _Builder()
    c, h = pick([3, 1, 2, 4]), pick(list(range(8, 25)))
    shape = (2, c, h, h)
    for _ in range(pick([2, 3, 4, 5, 6])):
        c, h = _conv_block(pick, b, c, h)
    _head(pick, b, c, h)
    return RandomModel(b.source(f"Random conv net for input {shape}."), shape, "conv")


def _mlp_model(pick: Pick) -> RandomModel:
    b = _Builder()
    f = pick([8, 4, 16, 32])
    shape = (2, f)
    for _ in range(pick([2, 3, 4, 5, 6])):
        kind = pick(["linear", "norm", "act", "residual", "dropout"])
        if kind == "linear":
            out = pick([8, 16, 4, 32])
            bias = "" if pick([True, False]) else ", bias=False"
            b.fwd.append(f"x = {b.layer(f'Linear({f}, {out}{bias})')}(x)")
            f = out
        elif kind == "norm":
            b.fwd.append(f"x = {b.layer(f'LayerNorm({f})')}(x)")
        elif kind == "act":
            b.fwd.append(f"x = {b.layer(pick(ACTIVATIONS))}(x)")
        elif kind == "dropout":
            b.fwd.append(f"x = {b.layer('Dropout(0.1)')}(x)")
        else:
            lin = b.layer(f"Linear({f}, {f})")
            act = b.layer(pick(ACTIVATIONS))
            b.fwd.append(f"x = x + {act}({lin}(x))")
    b.fwd.append(f"x = {b.layer(f'Linear({f}, {pick([3, 5, 10])})')}(x)")
    return RandomModel(b.source(f"Random MLP for input {shape}."), shape, "mlp")


def generate(rng_or_pick: random.Random | Pick) -> RandomModel:
    """One model; pass a random.Random (benchmark) or a pick function (Hypothesis)."""
    pick = picker(rng_or_pick)
    return _conv_model(pick) if pick(["conv", "conv", "mlp"]) == "conv" else _mlp_model(pick)


def models():
    """Hypothesis strategy: a RandomModel (shrinks toward small conv nets with simple layers)."""
    return strategy(generate)


CONSTRUCTS = {  # name -> pattern in the generated source, for coverage counts
    **{
        f"nn.{m}": re.compile(rf"nn\.{m}\(")
        for m in (
            "Conv2d",
            "BatchNorm2d",
            "MaxPool2d",
            "AvgPool2d",
            "AdaptiveAvgPool2d",
            "Dropout",
            "Linear",
            "LayerNorm",
        )
    },
    **{f"nn.{a.split('(')[0]}": re.compile(rf"nn\.{a.split('(')[0]}\(") for a in ACTIVATIONS},
    "Conv2d stride 2": re.compile(r"nn\.Conv2d\([^)]*stride=2"),
    "Conv2d dilation": re.compile(r"nn\.Conv2d\([^)]*dilation="),
    "Conv2d depthwise (groups)": re.compile(r"nn\.Conv2d\([^)]*groups="),
    "Conv2d padding='same'": re.compile(r"nn\.Conv2d\([^)]*padding='same'"),
    "pooling ceil_mode": re.compile(r"Pool2d\([^)]*ceil_mode=True"),
    "pooling padding": re.compile(r"Pool2d\([^)]*padding="),
    "residual add": re.compile(r"x = x \+ |\(x\) \+ y"),
    "torch.cat": re.compile(r"torch\.cat\("),
    "torch.flatten / x.flatten / x.view": re.compile(r"flatten\(|\.view\("),
}


def constructs(model: RandomModel) -> list[str]:
    """The constructs of CONSTRUCTS that `model` uses."""
    return matching(CONSTRUCTS, model)


def check(
    model: RandomModel,
    workdir,
    examples: int = 3,
    check_training: bool = True,
    rules: Sequence = (),
    layout: str = "torch",
) -> Outcome:
    """Translate `model` to Keras (`layout`: its --layout) and verify it numerically, writing files
    under `workdir`. `rules`: extra rule files (the tests use a deliberately wrong one to show a
    failure is caught)."""
    return check_translation(
        model,
        workdir,
        to="tf",
        entry="RandomNet",
        leftover=TORCH_IMPORT,
        leftover_message="torch still imported in output",
        examples=examples,
        check_training=check_training,
        rules=rules,
        layout=layout,
    )
