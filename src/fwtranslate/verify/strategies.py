"""Hypothesis strategies for model inputs.

A drawn case is small: the free sizes, and per input a pattern and a seed; the arrays are made
from those with numpy. Hypothesis then shrinks the few numbers that matter (batch 3 -> 1,
normal -> uniform, token ids random -> constant) instead of thousands of floats, which keeps
shrinking fast.

Float inputs are always random (in general position). A constant float input makes exact ties
(max-pooling and ReLU gradients then follow each framework's own tie-breaking) and zero-variance
normalization, where Keras' ``x * inv + (beta - mean * inv)`` and torch's ``(x - mean) * inv``
(both right) differ by rounding amplified by 1/sqrt(eps): framework conventions on degenerate
inputs, not properties of a translation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .spec import InputSpec, TensorSpec

# simplest first: Hypothesis shrinks towards it
INT_PATTERNS = ("constant", "uniform")
FLOAT_PATTERNS = ("uniform", "normal")


@dataclass(frozen=True)
class Case:
    sizes: tuple[tuple[str, int], ...]
    patterns: tuple[tuple[str, int, float], ...]  # per input: (pattern, seed, constant in [0, 1])

    def to_dict(self) -> dict[str, Any]:
        return {
            "sizes": dict(self.sizes),
            "patterns": [{"pattern": p, "seed": s, "constant": c} for p, s, c in self.patterns],
        }


def cases(spec: InputSpec):
    from hypothesis import strategies as st

    free = spec.free_dims()
    sizes = st.tuples(*(st.tuples(st.just(name), st.integers(low, high)) for name, (low, high) in free.items()))

    def one(t: TensorSpec):
        return st.tuples(
            st.sampled_from(INT_PATTERNS if t.is_int else FLOAT_PATTERNS),
            st.integers(0, 2**31 - 1),
            st.floats(0.0, 1.0, allow_nan=False, width=32),
        )

    return st.builds(Case, sizes, st.tuples(*(one(t) for t in spec.tensors)))


def realise(spec: InputSpec, case: Case) -> list[np.ndarray]:
    sizes = dict(case.sizes)
    shapes = spec.shapes(sizes)
    return [_array(t, shape, *pattern) for t, shape, pattern in zip(spec.tensors, shapes, case.patterns)]


def _array(t: TensorSpec, shape: tuple[int, ...], pattern: str, seed: int, constant: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if t.is_int:
        low, high = int(t.low), int(t.high)
        if pattern == "constant":
            value = low + int(constant * (high - 1 - low))
            return np.full(shape, value, dtype=t.dtype)
        return rng.integers(low, high, size=shape).astype(t.dtype)
    low, high = float(t.low), float(t.high)
    if pattern == "constant":
        return np.full(shape, low + constant * (high - low), dtype=t.dtype)
    if pattern == "uniform":
        return rng.uniform(low, high, size=shape).astype(t.dtype)
    mid, half = (low + high) / 2, (high - low) / 2
    return np.clip(rng.normal(mid, half / 2, size=shape), low, high).astype(t.dtype)


def summary(spec: InputSpec, case: Case, arrays: list[np.ndarray]) -> dict[str, Any]:
    """The failing input, for the report: shapes, statistics and the first values."""
    out = []
    for _t, a, (pattern, seed, _constant) in zip(spec.tensors, arrays, case.patterns):
        flat = a.reshape(-1)
        out.append(
            {
                "shape": list(a.shape),
                "dtype": str(a.dtype),
                "pattern": pattern,
                "seed": seed,
                "min": _num(flat.min()) if flat.size else None,
                "max": _num(flat.max()) if flat.size else None,
                "mean": _num(flat.mean()) if flat.size else None,
                "first_values": [_num(v) for v in flat[:8]],
            }
        )
    return {"inputs": out, "sizes": dict(case.sizes)}


def _num(v) -> float | int:
    return v.item() if hasattr(v, "item") else v
