"""What the model's inputs look like: parsed from ``--input-shape`` or inferred from its first layer.

Shape syntax, one input per ``;``-separated group, one token per dimension:
  ``32``     a fixed size; in first position it is the batch, drawn in 1..3 (write ``32!`` to
             keep a first dimension fixed)
  ``B``      a letter: a free size, the same for every dimension with that letter (the first
             dimension's letter is the batch, drawn in 1..3; others in 1..16)
  ``4..12``  a free size in that range (``T=4..12`` names it, to share it between inputs)
Examples: ``B,3,32,32``;  ``2,16,8`` (batch drawn, 16 and 8 fixed);  ``B,T=1..10;B,T``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

BATCH_RANGE = (1, 3)
FREE_RANGE = (1, 16)
FLOAT_RANGE = (-2.0, 2.0)
INT_DTYPES = ("int64", "int32", "int16", "int8", "uint8")


class SpecError(ValueError):
    pass


@dataclass(frozen=True)
class Dim:
    fixed: int | None = None  # a fixed size, or None for a free one
    name: str | None = None  # free dims with the same name share one drawn value
    low: int = 1
    high: int = 1

    def text(self) -> str:
        if self.fixed is not None:
            return str(self.fixed)
        return f"{self.name}={self.low}..{self.high}" if self.name else f"{self.low}..{self.high}"


@dataclass(frozen=True)
class TensorSpec:
    dims: tuple[Dim, ...]
    dtype: str = "float32"
    low: float = FLOAT_RANGE[0]
    high: float = FLOAT_RANGE[1]  # for integer dtypes: exclusive

    @property
    def is_int(self) -> bool:
        return self.dtype in INT_DTYPES or self.dtype == "bool"

    def to_dict(self) -> dict[str, Any]:
        return {"shape": ",".join(d.text() for d in self.dims), "dtype": self.dtype, "range": [self.low, self.high]}


@dataclass(frozen=True)
class InputSpec:
    tensors: tuple[TensorSpec, ...]
    inferred_from: str | None = None  # "Linear at 'fc1'" when inferred, else None (given)
    notes: tuple[str, ...] = field(default=())

    def free_dims(self) -> dict[str, tuple[int, int]]:
        """Name -> range of every free dimension (unnamed ones get a name of their own)."""
        out: dict[str, tuple[int, int]] = {}
        for i, t in enumerate(self.tensors):
            for j, d in enumerate(t.dims):
                if d.fixed is None:
                    out.setdefault(d.name or f"_{i}_{j}", (d.low, d.high))
        return out

    def shapes(self, sizes: dict[str, int]) -> list[tuple[int, ...]]:
        return [
            tuple(d.fixed if d.fixed is not None else sizes[d.name or f"_{i}_{j}"] for j, d in enumerate(t.dims))
            for i, t in enumerate(self.tensors)
        ]

    def with_batch_at_least(self, low: int) -> InputSpec:
        """Training mode: BatchNorm needs more than one value per channel."""
        tensors = tuple(
            TensorSpec(
                tuple(Dim(d.fixed, d.name, max(d.low, low), max(d.high, low)) if d.name == "B" else d for d in t.dims),
                t.dtype,
                t.low,
                t.high,
            )
            for t in self.tensors
        )
        return InputSpec(tensors, self.inferred_from, self.notes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": [t.to_dict() for t in self.tensors],
            "inferred_from": self.inferred_from,
            "notes": list(self.notes),
        }


_RANGE = re.compile(r"^(?:([A-Za-z_]\w*)=)?(\d+)\.\.(\d+)$")


def _shape_text(shape) -> str:
    """The API also takes shapes as Python values: (2, 3, 32, 32), or a list of them."""
    if isinstance(shape, str):
        return shape
    shape = list(shape)
    if shape and all(isinstance(s, (tuple, list)) for s in shape):
        return ";".join(",".join(str(n) for n in s) for s in shape)
    return ",".join(str(n) for n in shape)


def parse_shape(text, dtype: str | None = None, value_range: str | None = None) -> InputSpec:
    text = _shape_text(text)
    groups = [g.strip() for g in text.split(";") if g.strip()]
    if not groups:
        raise SpecError("empty --input-shape")
    dtypes = _split_per_input(dtype, len(groups), "float32")
    ranges = _split_per_input(value_range, len(groups), None)
    return InputSpec(
        tuple(
            TensorSpec(_parse_dims(g), _dtype(dt), *_range(rg, _dtype(dt))) for g, dt, rg in zip(groups, dtypes, ranges)
        )
    )


def _parse_dims(group: str) -> tuple[Dim, ...]:
    dims = []
    for i, token in enumerate(t.strip() for t in group.split(",")):
        if not token:
            raise SpecError(f"empty dimension in {group!r}")
        m = _RANGE.match(token)
        if m:
            low, high = int(m.group(2)), int(m.group(3))
            if not 1 <= low <= high:
                raise SpecError(f"bad range {token!r}")
            dims.append(Dim(None, m.group(1) or ("B" if i == 0 else None), low, high))
        elif token.endswith("!") and token[:-1].isdigit():
            dims.append(Dim(int(token[:-1])))
        elif token.isdigit():
            dims.append(Dim(None, "B", *BATCH_RANGE) if i == 0 else Dim(int(token)))
        elif re.fullmatch(r"[A-Za-z_]\w*", token):
            dims.append(Dim(None, "B" if i == 0 else token, *(BATCH_RANGE if i == 0 else FREE_RANGE)))
        else:
            raise SpecError(f"cannot read dimension {token!r} in {group!r} (use 32, B, 4..12, T=4..12 or 2!)")
    return tuple(dims)


def _split_per_input(text: str | None, n: int, default):
    if text is None or text == "":
        return [default] * n
    parts = [p.strip() for p in text.split(";")]
    if len(parts) == 1:
        return parts * n
    if len(parts) != n:
        raise SpecError(f"{text!r}: {len(parts)} values for {n} inputs")
    return parts


def _dtype(name: str | None) -> str:
    name = (name or "float32").lower().replace("torch.", "")
    aliases = {"float": "float32", "double": "float64", "long": "int64", "int": "int32", "half": "float16"}
    name = aliases.get(name, name)
    if name not in ("float16", "float32", "float64", "bool", *INT_DTYPES):
        raise SpecError(f"unsupported input dtype {name!r}")
    return name


def _range(text: str | None, dtype: str) -> tuple[float, float]:
    if text is None:
        return (0, 2) if dtype == "bool" else (0, 10) if dtype in INT_DTYPES else FLOAT_RANGE
    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError:
        raise SpecError(f"--input-range wants LOW,HIGH, got {text!r}") from None
    if dtype in INT_DTYPES:
        low, high = int(low), int(high)
        if high <= low:
            raise SpecError(f"empty integer range {text!r} (HIGH is exclusive)")
    elif high < low:
        raise SpecError(f"empty range {text!r}")
    return low, high


def with_precision(spec: InputSpec, float64: bool) -> InputSpec:
    """Float inputs follow the run's precision."""
    want = "float64" if float64 else "float32"
    tensors = tuple(t if t.is_int else TensorSpec(t.dims, want, t.low, t.high) for t in spec.tensors)
    return InputSpec(tensors, spec.inferred_from, spec.notes)
