"""Channel counts through a lifted builder (builders/lift.py): what a module does to the size of
the channel axis, as code ``__init__`` can evaluate.

Keras layers learn their input size on the first call; torch modules are told it. While the
builder becomes a class, ``__init__`` keeps one variable per tensor (``x_channels``) holding its
channel count, so that ``nn.LazyConv2d(f, 3)`` becomes ``nn.Conv2d(x_channels, f, 3)`` and a
decision on ``x.shape[1]`` can be taken in ``__init__``. Everything here works on the torch
constructors the rules emitted; a module it does not know gives ``None`` (unknown) and leaves a
Lazy module, never a guess.
"""

from __future__ import annotations

import re

import libcst as cst

from ....cstutil import code, expression

# modules whose output has as many channels as their input (the torch names the rules emit)
_KEEP = re.compile(
    r"(Lazy)?(BatchNorm[123]d|InstanceNorm[123]d|LayerNorm|GroupNorm|RMSNorm|LocalResponseNorm"
    r"|ReLU6?|GELU|SiLU|Sigmoid|Tanh|LeakyReLU|ELU|SELU|CELU|Softmax|LogSoftmax|Softplus|Softsign"
    r"|Hardswish|Hardsigmoid|Hardtanh|Mish|PReLU|Identity|Tanhshrink|Threshold"
    r"|Dropout[123]?d?|AlphaDropout|MaxPool[123]d|AvgPool[123]d|AdaptiveAvgPool[123]d|AdaptiveMaxPool[123]d"
    r"|ZeroPad[123]d|ConstantPad[123]d|ReflectionPad[123]d|ReplicationPad[123]d|Upsample|UpsamplingNearest2d"
    r"|UpsamplingBilinear2d|KerasBatchNormalization|KerasLayerNormalization|KerasActivation|KerasSamePad[123]d"
    r"|KerasCausalPad1d|KerasMaxPoolSame|KerasAvgPoolSame|KerasAdaptedNormalization)$"
)
# parameter-free modules whose behaviour does not depend on train/eval mode: one built inside
# ``forward`` from a tensor's shape (Keras' correct_pad) computes what the layer computed
PARAMETER_FREE = re.compile(
    r"(ZeroPad[123]d|ConstantPad[123]d|ReflectionPad[123]d|ReplicationPad[123]d|MaxPool[123]d|AvgPool[123]d"
    r"|AdaptiveAvgPool[123]d|AdaptiveMaxPool[123]d|Upsample|Flatten|Unflatten|Identity|ReLU6?|GELU|SiLU"
    r"|Sigmoid|Tanh|Softmax|Hardswish|Hardsigmoid|KerasSamePad[123]d|KerasCausalPad1d)$"
)
# Lazy torch modules and the module they become once told the input size (first argument)
_LAZY = re.compile(r"Lazy(Conv[123]d|ConvTranspose[123]d|Linear|BatchNorm[123]d|InstanceNorm[123]d)$")
_OUT_FIRST = re.compile(r"Lazy(Conv[123]d|ConvTranspose[123]d|Linear)$")  # out size: 1st argument
_OUT_SECOND = re.compile(r"(Conv[123]d|ConvTranspose[123]d|Linear)$")  # out size: 2nd argument
_OUT_KEYWORDS = ("out_channels", "out_features")
# support modules that take ``num_features`` first (None: learnt on the first call)
_SIZED_SUPPORT = ("KerasBatchNormalization", "KerasLayerNormalization")


def class_name(ctor: cst.BaseExpression) -> str:
    return code(ctor.func).rsplit(".", 1)[-1] if isinstance(ctor, cst.Call) else ""


def module_out(ctor: cst.BaseExpression, channels: str | None) -> str | None:
    """The channel count of ``ctor``'s output as code, given its input's (None: unknown)."""
    if not isinstance(ctor, cst.Call):
        return None
    name = class_name(ctor)
    if name == "Sequential":
        pooled = False
        for arg in ctor.args:
            inner = class_name(arg.value)
            if inner == "Flatten" and pooled:
                continue  # (N, C, 1, 1) -> (N, C)
            pooled = inner.startswith("Adaptive") and _single(arg.value)
            channels = module_out(arg.value, channels)
        return channels
    if _KEEP.match(name):
        return channels
    if _OUT_FIRST.match(name):
        return _argument(ctor, 0, _OUT_KEYWORDS)
    if _OUT_SECOND.match(name) and not name.startswith("Lazy"):
        return _argument(ctor, 1, _OUT_KEYWORDS)
    if name == "KerasDepthwiseConv" and channels is not None:
        multiplier = _argument(ctor, 4, ("depth_multiplier",)) or "1"
        return channels if multiplier == "1" else f"{channels} * {multiplier}"
    return None


def sized(ctor: cst.BaseExpression, channels: str | None) -> cst.BaseExpression:
    """``ctor`` told its input size where it was a Lazy module (``nn.LazyConv2d(8, 3)`` ->
    ``nn.Conv2d(c, 8, 3)``); unchanged where that is unknown or not needed."""
    if channels is None or not isinstance(ctor, cst.Call):
        return ctor
    name = class_name(ctor)
    if name == "Sequential" and ctor.args:
        args = list(ctor.args)
        for i, arg in enumerate(args):
            args[i] = arg.with_changes(value=sized(arg.value, channels))
            channels = module_out(arg.value, channels)
            if channels is None:
                break
        return ctor.with_changes(args=args)
    size = cst.Arg(expression(channels))
    if _LAZY.match(name) and not any(a.keyword is None and a.star for a in ctor.args):
        func = code(ctor.func)
        return ctor.with_changes(func=expression(func[: len(func) - len(name)] + name[4:]), args=[size, *ctor.args])
    if name in _SIZED_SUPPORT and not _argument(ctor, 0, ("num_features",)):
        return ctor.with_changes(args=[size, *ctor.args])
    return ctor


def is_lazy(ctor: cst.BaseExpression, lazy_support: set[str]) -> bool:
    """Whether a module made by ``ctor`` learns a size on its first call."""
    text = code(ctor)
    if re.search(r"\bnn\.Lazy", text):
        return True
    for name in lazy_support:
        for match in re.finditer(rf"\b{name}\(", text):
            if name not in _SIZED_SUPPORT or not _sized_call(text[match.end() :]):
                return True
    return False


def _sized_call(rest: str) -> bool:
    """Whether a support call's argument text starts with a size (not a keyword argument)."""
    first = rest.split(",", 1)[0].split(")", 1)[0].strip()
    return bool(first) and "=" not in first


def _single(ctor: cst.BaseExpression) -> bool:
    return (
        isinstance(ctor, cst.Call) and len(ctor.args) == 1 and code(ctor.args[0].value) in ("1", "(1, 1)", "(1, 1, 1)")
    )


def _argument(call: cst.Call, position: int, keywords: tuple[str, ...]) -> str | None:
    for i, arg in enumerate(call.args):
        if arg.keyword is not None:
            if arg.keyword.value in keywords:
                return code(arg.value)
        elif arg.star:
            return None
        elif i == position:
            return code(arg.value)
    return None


# Keras' merge layers (support KerasMerge / KerasConcatenate) applied to a list of tensors, as
# the expression an engineer writes in forward: (mode, Python operator or torch function)
_MERGES = {
    "add": ("+", None),
    "subtract": ("-", None),
    "multiply": ("*", None),
    "maximum": (None, "torch.maximum"),
    "minimum": (None, "torch.minimum"),
}


def merged(ctor: cst.BaseExpression, applied: cst.Call) -> cst.BaseExpression | None:
    """``KerasMerge("add")([a, b])`` -> ``a + b``, ``KerasConcatenate(axis=1)([a, b])`` ->
    ``torch.cat([a, b], dim=1)``; None where the call is not one of those on a list display."""
    name = class_name(ctor)
    if name not in ("KerasMerge", "KerasConcatenate") or len(applied.args) != 1 or applied.args[0].keyword:
        return None
    items = applied.args[0].value
    if not isinstance(items, (cst.List, cst.Tuple)) or len(items.elements) < 2:
        return None
    if any(isinstance(e, cst.StarredElement) for e in items.elements):
        return None
    parts = [code(e.value) for e in items.elements]
    if name == "KerasConcatenate":
        axis = _argument(ctor, 0, ("axis",)) or "-1"  # type: ignore[arg-type]
        return expression(f"torch.cat([{', '.join(parts)}], dim={axis})")
    mode = _argument(ctor, 0, ("mode",))  # type: ignore[arg-type]
    mode = mode.strip("\"'") if mode else None
    if mode == "average":
        return expression(f"({' + '.join(parts)}) / {len(parts)}")
    if mode not in _MERGES or (mode == "subtract" and len(parts) != 2):
        return None
    operator, function = _MERGES[mode]
    if operator:
        return expression(f" {operator} ".join(f"({p})" if not _simple(p) else p for p in parts))
    out = parts[0]
    for p in parts[1:]:
        out = f"{function}({out}, {p})"
    return expression(out)


def _simple(text: str) -> bool:
    return text.replace(".", "").replace("_", "").isalnum() or (
        text.endswith(")") and "(" in text and " " not in text.split("(")[0]
    )
