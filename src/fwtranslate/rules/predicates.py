"""Functions a rule's ``when`` / ``unsupported`` conditions and ``static(...)`` may call.

They see literal values only (ints, floats, strings, tuples, None); an unknown value makes the
whole condition unknown before any of these runs.
"""

from __future__ import annotations

from typing import Any


def ntuple(value: Any, n: int) -> tuple:
    """``3`` -> ``(3, 3)`` for n=2; tuples pass through (torch's _pair/_triple)."""
    if isinstance(value, (tuple, list)):
        return tuple(value)
    return (value,) * n


def is_zero(value: Any) -> bool:
    if isinstance(value, (tuple, list)):
        return all(v == 0 for v in value)
    return value == 0


def is_one(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, (tuple, list)):
        return all(v == 1 for v in value)
    return value == 1


def same_padding(kernel_size: Any, stride: Any, padding: Any, dilation: Any, n: int) -> bool:
    """True when torch's symmetric ``padding`` equals Keras' ``padding="same"``.

    Keras pads ``total // 2`` before and the rest after; with stride 1 and an odd effective
    kernel that is ``d * (k - 1) / 2`` on both sides, exactly torch's symmetric padding.
    """
    if isinstance(padding, str):
        return padding == "same"
    ks, ss, ps, ds = (ntuple(v, n) for v in (kernel_size, stride, padding, dilation))
    return all(s == 1 and (d * (k - 1)) % 2 == 0 and p == d * (k - 1) // 2 for k, s, p, d in zip(ks, ss, ps, ds))


def pad_pairs(padding: Any, n: int) -> tuple:
    """Torch conv/pool ``padding`` -> Keras ZeroPadding ``((a, a), (b, b))`` form."""
    return tuple((p, p) for p in ntuple(padding, n))


def torch_pad_to_pairs(pad: Any, ndim: int) -> tuple:
    """``F.pad``'s last-dimension-first flat list -> ``keras.ops.pad`` pairs for every axis."""
    pad = tuple(pad)
    pairs = [(0, 0)] * ndim
    for i in range(len(pad) // 2):
        pairs[ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return tuple(pairs)


def kaiming_scale(nonlinearity: str, a: float) -> float:
    """VarianceScaling's ``scale`` for torch's kaiming init: gain(nonlinearity, a) ** 2."""
    gains = {"relu": 2.0, "tanh": (5.0 / 3) ** 2, "selu": 9.0 / 16}
    if nonlinearity == "leaky_relu":
        return 2.0 / (1 + (0.01 if a is None else a) ** 2)
    if nonlinearity in gains:
        return gains[nonlinearity]
    if nonlinearity in ("linear", "sigmoid") or nonlinearity.startswith(
        ("conv1d", "conv2d", "conv3d", "conv_transpose")
    ):
        return 1.0
    raise ValueError(f"unknown nonlinearity {nonlinearity!r}")


PREDICATES: dict[str, Any] = {
    "kaiming_scale": kaiming_scale,
    "ntuple": ntuple,
    "is_zero": is_zero,
    "is_one": is_one,
    "same_padding": same_padding,
    "pad_pairs": pad_pairs,
    "torch_pad_to_pairs": torch_pad_to_pairs,
    "isinstance": isinstance,
    "len": len,
    "tuple": tuple,
    "list": list,
    "range": range,
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "all": all,
    "any": any,
    "abs": abs,
    "min": min,
    "max": max,
    "None": None,
    "True": True,
    "False": False,
}
