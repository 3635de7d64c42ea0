"""Random Keras 3 models, generated as *source code*, for property-based tests of the Keras -> PyTorch
direction of the translator (the torch -> Keras counterpart is `torch_models`).

`models()` is a Hypothesis strategy producing a `KerasRandomModel`: the source of a module that
defines the model's entry (`build_random_net` or `class RandomNet(keras.Model)`) plus the input
shape it accepts, channels last. Two families:

* conv: 2..6 blocks on a `keras.Input((H, W, C))` image: Conv2D (kernel 1/3/5, strides 1/2,
  padding "valid"/"same", occasional dilation_rate, use_bias on/off, occasional activation=
  string), occasional DepthwiseConv2D / SeparableConv2D, BatchNormalization, activation layers
  (ReLU, ReLU(max_value=6), LeakyReLU, ELU, Activation("gelu"/"swish"/"tanh"/...)),
  MaxPooling2D / AveragePooling2D ("valid"/"same"), Dropout, residual `layers.Add()` with a 1x1
  Conv2D projection when shapes differ, and `layers.Concatenate()` skips; then a head:
  GlobalAveragePooling2D / GlobalMaxPooling2D + Dense, or Flatten + Dense (+ activation) + Dense.
* mlp: Dense / LayerNormalization / BatchNormalization / activation / Dropout stacks on a
  (batch, features) input, with residual Adds and Concatenate skips.

Each model is written in one of three styles: a functional builder (`def build_random_net():`
... `return keras.Model(inputs, outputs)`), a `keras.Sequential([...])` (only for models without
skips: a Sequential is a chain) returned by `build_random_net()`, or a subclassed `keras.Model`
(`class RandomNet`, layers made in `__init__`, applied in `call`).

Spatial sizes are tracked while generating (Keras' rules: "valid" gives
floor((n - d*(k-1) - 1) / s) + 1, "same" gives ceil(n / s)), so every model is valid for its
input shape; widths are small so a model translates and verifies in a few seconds.

Written against the `pick(options)` interface of `random_models` (choose one element of a
list; earlier options are "simpler", which is what Hypothesis shrinks toward);
`generate(random.Random(seed))` gives reproducible models for benchmarks/random_models.py
--source keras.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from .random_models import Outcome, Pick, RandomModel, check_translation, matching, picker, strategy

__all__ = ["KerasRandomModel", "Outcome", "check", "constructs", "generate", "models"]

# activation layers (after a conv / dense) and activation= strings (on a Conv2D / Dense)
ACTIVATION_LAYERS = [
    "ReLU()",
    'Activation("gelu")',
    'Activation("swish")',
    'Activation("tanh")',
    'Activation("sigmoid")',
    "ReLU(max_value=6.0)",
    "LeakyReLU(negative_slope=0.1)",
    "ELU()",
    'Activation("relu")',
    'Activation("hard_sigmoid")',
    'Activation("selu")',
    'Activation("softplus")',
    'Activation("leaky_relu")',
    'Activation("mish")',
]
ACTIVATION_ARGS = ["relu", "gelu", "swish", "tanh", "sigmoid", "elu", "relu6", "silu"]

FRAMEWORK_IMPORT = re.compile(r"^\s*(import|from)\s+(keras|tensorflow|tf_keras)\b", re.MULTILINE)
STYLES = ("functional", "sequential", "subclass")


@dataclass(frozen=True)
class KerasRandomModel(RandomModel):
    """`input_shape` includes the batch (2, ...); `entry` is what verify() builds."""

    entry: str = "build_random_net"
    style: str = "functional"


def conv_out(size: int, k: int, s: int, padding: str, d: int = 1) -> int:
    """Keras' output size of a convolution / pooling window along one axis."""
    if padding == "same":
        return math.ceil(size / s)
    return (size - d * (k - 1) - 1) // s + 1


class _Builder:
    """Statements of one model, with layers as placeholders `@L3@`, rendered in a given style."""

    def __init__(self) -> None:
        self.exprs: list[str] = []
        self.lines: list[str] = []
        self.chain = True  # every statement is `x = LAYER(x)`: a Sequential can hold it

    def layer(self, expr: str) -> str:
        self.exprs.append(expr)
        return f"@L{len(self.exprs) - 1}@"

    def apply(self, expr: str, var: str = "x", out: str = "x", training: bool = False) -> None:
        """`out = LAYER(var)`, optionally passing `training=training` in a subclassed call."""
        token = self.layer(expr)
        self.lines.append(f"{out} = {token}({var}{'@T@' if training else ''})")
        if (var, out) != ("x", "x"):
            self.chain = False

    def raw(self, line: str) -> None:
        self.lines.append(line)
        self.chain = False

    def render(self, style: str, doc: str, input_shape: tuple[int, ...], pick: Pick) -> str:
        head = f'"""{doc}"""\nimport keras\nfrom keras import layers\n\n\n'
        shape = "(" + ", ".join(map(str, input_shape)) + ("," if len(input_shape) == 1 else "") + ")"
        if style == "sequential":
            items = [f"keras.Input({shape})"] + [f"layers.{e}" for e in self.exprs]
            body = "".join(f"        {item},\n" for item in items)
            return head + f"def build_random_net():\n    return keras.Sequential([\n{body}    ])\n"
        if style == "subclass":
            init = "".join(f"        self.layer{i} = layers.{e}\n" for i, e in enumerate(self.exprs))
            call = "".join(
                f"        {self._sub(line, lambda i: f'self.layer{i}', ', training=training')}\n" for line in self.lines
            )
            return (
                head + "class RandomNet(keras.Model):\n    def __init__(self, **kwargs):\n"
                f"        super().__init__(**kwargs)\n{init}\n    def call(self, x, training=None):\n"
                f"{call}        return x\n"
            )
        body = "".join(f"    {self._sub(line, lambda i: f'layers.{self.exprs[i]}', '')}\n" for line in self.lines)
        keyword = pick([False, True])
        ret = 'keras.Model(inputs=inputs, outputs=x, name="random_net")' if keyword else "keras.Model(inputs, x)"
        return (
            head + f"def build_random_net():\n    inputs = keras.Input(shape={shape})\n    x = inputs\n"
            f"{body}    return {ret}\n"
        )

    @staticmethod
    def _sub(line: str, name, training: str) -> str:
        return re.sub(r"@L(\d+)@", lambda m: name(int(m.group(1))), line).replace("@T@", training)


def _act_layer(pick: Pick) -> str:
    return pick(ACTIVATION_LAYERS)


def _conv(
    pick: Pick, b: _Builder, c: int, hw: tuple[int, int], var: str = "x", out: str = "x", keep_size: bool = False
) -> tuple[int, tuple[int, int]]:
    """One convolution (+ optional BatchNormalization and activation); returns (channels, (h, w))."""
    m = min(hw)
    k = pick([3, 1, 5]) if m >= 5 else pick([1, 3]) if m >= 3 else 1
    strides = 1 if keep_size else pick([1, 2])
    # Keras itself refuses strides > 1 together with dilation_rate > 1
    dil = pick([1, 1, 1, 2]) if k > 1 and strides == 1 and m >= 2 * k + 1 else 1
    padding = "same" if keep_size else pick(["same", "valid"])
    if conv_out(m, k, strides, padding, dil) < 1:
        padding = "same"
    kind = pick(["Conv2D", "Conv2D", "Conv2D", "Conv2D", "DepthwiseConv2D", "SeparableConv2D"])
    opts = f", strides={strides}" if strides != 1 else ""
    opts += f', padding="{padding}"' if padding != "valid" else ""
    opts += f", dilation_rate={dil}" if dil != 1 else ""
    if kind == "DepthwiseConv2D":
        mult = pick([1, 2])
        cout = c * mult
        opts += f", depth_multiplier={mult}" if mult != 1 else ""
        args = f"{k}{opts}"
    else:
        cout = pick([4, 8, 6, 3])
        if kind == "SeparableConv2D" and pick([False, True]):
            opts += ", depth_multiplier=2"
        args = f"{cout}, {k}{opts}"
    if pick([False, True]):
        args += ", use_bias=False"
    if pick([False, False, True]):
        args += f', activation="{pick(ACTIVATION_ARGS)}"'
    b.apply(f"{kind}({args})", var, out)
    if pick([True, False]):
        bn = pick(
            [
                "BatchNormalization()",
                "BatchNormalization(momentum=0.9, epsilon=1e-05)",
                "BatchNormalization(axis=-1, center=False)",
                "BatchNormalization(axis=3, scale=False)",
            ]
        )
        b.apply(bn, out, out, training=pick([False, True]))
    if pick([True, False]):
        b.apply(_act_layer(pick), out, out)
    h, w = (conv_out(n, k, strides, padding, dil) for n in hw)
    return cout, (h, w)


def _conv_block(pick: Pick, b: _Builder, c: int, hw: tuple[int, int]) -> tuple[int, tuple[int, int]]:
    kind = pick(["conv", "pool", "residual", "concat", "dropout"])
    if kind == "pool" and min(hw) >= 2:
        k = pick([2, 3]) if min(hw) >= 3 else 2
        strides = pick([None, 1, 2])
        padding = pick(["valid", "same"])
        name = pick(["MaxPooling2D", "AveragePooling2D"])
        args = f"{k}" if pick([True, False]) else f"pool_size={k}"
        args += f", strides={strides}" if strides is not None else ""
        args += f', padding="{padding}"' if padding != "valid" else ""
        b.apply(f"{name}({args})")
        h, w = (conv_out(n, k, strides or k, padding) for n in hw)
        return c, (h, w)
    if kind == "dropout":
        b.apply(f"Dropout({pick([0.1, 0.5])})", training=pick([False, True]))
        return c, hw
    if kind == "residual":
        cout, hw2 = _conv(pick, b, c, hw, out="y")
        cout, hw2 = _conv(pick, b, cout, hw2, var="y", out="y", keep_size=True)
        if (cout, hw2) == (c, hw):
            b.raw(f"x = {b.layer('Add()')}([x, y])")
        else:  # 1x1 projection; strides chosen so sizes match ("valid": (n - 1) // s + 1)
            s = next((s for s in (1, 2, 3, 4) if tuple(conv_out(n, 1, s, "valid") for n in hw) == hw2), None)
            if s is None:
                b.raw("x = y")
                return cout, hw2
            proj = b.layer(f"Conv2D({cout}, 1" + (f", strides={s}" if s != 1 else "") + ")")
            b.raw(f"x = {b.layer('Add()')}([{proj}(x), y])")
        if pick([True, False]):
            b.apply(_act_layer(pick))
        return cout, hw2
    if kind == "concat":
        cout, _ = _conv(pick, b, c, hw, out="y", keep_size=True)
        b.raw(f"x = {b.layer(pick(['Concatenate()', 'Concatenate(axis=-1)', 'Concatenate(axis=3)']))}([x, y])")
        return c + cout, hw
    return _conv(pick, b, c, hw)


def _head(pick: Pick, b: _Builder, c: int, hw: tuple[int, int]) -> None:
    classes = pick([3, 5, 10])
    if pick(["pool", "flatten"]) == "pool":
        b.apply(pick(["GlobalAveragePooling2D()", "GlobalAveragePooling2D()", "GlobalMaxPooling2D()"]))
    else:
        b.apply("Flatten()")
        if pick([False, True]):
            hidden = pick([8, 16])
            act = pick([None, "relu", "gelu", "tanh"])
            b.apply(f"Dense({hidden}" + (f', activation="{act}"' if act else "") + ")")
            if act is None:
                b.apply(_act_layer(pick))
    b.apply(f"Dense({classes})")


def _style(pick: Pick, b: _Builder) -> str:
    return pick(["functional", "subclass", "sequential"] if b.chain else ["functional", "subclass"])


def _model(b: _Builder, pick: Pick, family: str, doc: str, shape: tuple[int, ...]) -> KerasRandomModel:
    style = _style(pick, b)
    source = b.render(style, doc, shape[1:], pick)
    return KerasRandomModel(source, shape, family, "RandomNet" if style == "subclass" else "build_random_net", style)


def _conv_model(pick: Pick) -> KerasRandomModel:
    b = _Builder()
    c, h = pick([3, 1, 2, 4]), pick(list(range(8, 25)))
    w = h if pick([True, True, False]) else pick(list(range(8, 25)))
    shape = (2, h, w, c)
    hw = (h, w)
    for _ in range(pick([2, 3, 4, 5, 6])):
        c, hw = _conv_block(pick, b, c, hw)
    _head(pick, b, c, hw)
    return _model(b, pick, "conv", f"Random Keras conv net for input {shape} (channels last).", shape)


def _mlp_model(pick: Pick) -> KerasRandomModel:
    b = _Builder()
    f = pick([8, 4, 16, 32])
    shape = (2, f)
    for _ in range(pick([2, 3, 4, 5, 6])):
        kind = pick(["dense", "norm", "act", "residual", "dropout", "concat"])
        if kind == "dense":
            out = pick([8, 16, 4, 32])
            args = f"{out}" + ("" if pick([True, False]) else ", use_bias=False")
            if pick([False, True]):
                args += f', activation="{pick(ACTIVATION_ARGS)}"'
            b.apply(f"Dense({args})")
            f = out
        elif kind == "norm":
            b.apply(
                pick(["LayerNormalization()", "LayerNormalization(epsilon=1e-05)", "BatchNormalization()"]),
                training=pick([False, True]),
            )
        elif kind == "act":
            b.apply(_act_layer(pick))
        elif kind == "dropout":
            b.apply(f"Dropout({pick([0.1, 0.5])})")
        elif kind == "concat":
            out = pick([4, 8])
            b.apply(f"Dense({out})", out="y")
            b.raw(f"x = {b.layer('Concatenate()')}([x, y])")
            f += out
        else:
            dense, act, add = b.layer(f"Dense({f})"), b.layer(_act_layer(pick)), b.layer("Add()")
            b.raw(f"x = {add}([x, {act}({dense}(x))])")
    b.apply(f"Dense({pick([3, 5, 10])})")
    return _model(b, pick, "mlp", f"Random Keras MLP for input {shape}.", shape)


def generate(rng_or_pick: random.Random | Pick) -> KerasRandomModel:
    """One model; pass a random.Random (benchmark) or a pick function (Hypothesis)."""
    pick = picker(rng_or_pick)
    return _conv_model(pick) if pick(["conv", "conv", "mlp"]) == "conv" else _mlp_model(pick)


def models():
    """Hypothesis strategy: a KerasRandomModel (shrinks toward small functional conv nets)."""
    return strategy(generate)


_LAYERS = (
    "Conv2D",
    "DepthwiseConv2D",
    "SeparableConv2D",
    "BatchNormalization",
    "MaxPooling2D",
    "AveragePooling2D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling2D",
    "Dropout",
    "Flatten",
    "Dense",
    "LayerNormalization",
    "Add",
    "Concatenate",
    "ReLU",
    "LeakyReLU",
    "ELU",
)
CONSTRUCTS = {  # name -> pattern in the generated source, for coverage counts
    **{f"layers.{m}": re.compile(rf"layers\.{m}\(") for m in _LAYERS},
    **{
        f'Activation("{a}")': re.compile(rf'Activation\("{a}"\)')
        for a in sorted({e.split('"')[1] for e in ACTIVATION_LAYERS if e.startswith("Activation")})
    },
    "activation= argument": re.compile(r"activation="),
    "ReLU(max_value=6.0)": re.compile(r"ReLU\(max_value="),
    "Conv2D strides=2": re.compile(r"Conv2D\([^)]*strides=2"),
    'Conv2D padding="same" (strided)': re.compile(r'Conv2D\([^)]*strides=2, padding="same"'),
    "Conv2D dilation_rate": re.compile(r"Conv2D\([^)]*dilation_rate="),
    "Conv2D use_bias=False": re.compile(r"Conv2D\([^)]*use_bias=False"),
    "depth_multiplier=2": re.compile(r"depth_multiplier=2"),
    'pooling padding="same"': re.compile(r'Pooling2D\([^)]*padding="same"'),
    "BatchNormalization in an MLP": re.compile(r"(?s)^(?!.*Conv2D).*BatchNormalization"),
    "non-square input": re.compile(r"input \(2, (\d+), (?!\1,)\d+, \d+\)"),
    "style: functional builder": re.compile(r"keras\.Model\(inputs"),
    "style: keras.Sequential": re.compile(r"keras\.Sequential\("),
    "style: subclassed keras.Model": re.compile(r"class RandomNet\(keras\.Model\)"),
    "training=training passed": re.compile(r"training=training"),
}


def constructs(model: RandomModel) -> list[str]:
    """The constructs of CONSTRUCTS that `model` uses."""
    return matching(CONSTRUCTS, model)


def check(
    model: KerasRandomModel,
    workdir,
    examples: int = 3,
    check_training: bool = True,
    rules: Sequence = (),
    isolate: bool = False,
) -> Outcome:
    """Translate `model` to PyTorch and verify it numerically against the Keras original, writing
    files under `workdir`. `rules`: extra rule files (the tests use a deliberately wrong one)."""
    return check_translation(
        model,
        workdir,
        to="torch",
        entry=model.entry,
        leftover=FRAMEWORK_IMPORT,
        leftover_message="keras/tensorflow still imported in output",
        examples=examples,
        check_training=check_training,
        rules=rules,
        isolate=isolate,
    )
