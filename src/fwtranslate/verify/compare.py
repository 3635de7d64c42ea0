"""Flattening nested outputs and comparing them element by element.

Tolerance: |keras - torch| <= atol * max(1, max|torch|) + rtol * |torch|, elementwise. The
absolute term scales with the tensor's magnitude: float32 sums of large values carry absolute
rounding errors proportional to them, and gradients are often large.
Reported relative error: |keras - torch| / max(|torch|, atol * max(1, max|torch|)).
Gradients use one scale for the whole phase (the largest gradient of any tensor) in place of
max|torch|: a gradient that cancels to ~0 (a bias right before a BatchNorm in training mode)
carries rounding noise of the size of the terms that cancelled, not of its own size.
In training mode the original is also run in float64: the allowance grows by NOISE_FACTOR x
the original's own float32 rounding error per tensor, since BatchNorm's batch statistics can
amplify rounding far past atol, and a translation cannot be held closer than the original is
to its exact value.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

NOISE_FACTOR = 4.0


def flatten(obj: Any, to_array, prefix: str = "") -> dict[str, Any]:
    """{path: leaf} for tensors nested in tuples, lists, dicts, dataclasses, named tuples and
    objects with a ``to_tuple``/``keys`` (ModelOutput); ``to_array`` says what a leaf is
    (returns None for anything else: ints, strings, None...)."""
    out: dict[str, Any] = {}
    _flatten(obj, to_array, prefix, out)
    return out


def _flatten(obj, to_array, path, out):
    leaf = to_array(obj)
    if leaf is not None:
        out[path or "output"] = leaf
        return
    if isinstance(obj, Mapping):
        for k in obj.keys():
            _flatten(obj[k], to_array, f"{path}[{k!r}]", out)
    elif hasattr(obj, "_fields") and isinstance(obj, tuple):  # named tuple
        for k in obj._fields:
            _flatten(getattr(obj, k), to_array, f"{path}.{k}", out)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _flatten(v, to_array, f"{path}[{i}]", out)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            _flatten(getattr(obj, f.name), to_array, f"{path}.{f.name}", out)


@dataclass
class Diff:
    path: str
    shape: tuple[int, ...]
    max_abs: float
    max_rel: float
    ok: bool
    message: str = ""
    worst_index: tuple[int, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        d = {"path": self.path, "shape": list(self.shape), "max_abs_error": self.max_abs,
             "max_rel_error": self.max_rel, "ok": self.ok}
        if self.message:
            d["message"] = self.message
        if self.worst_index is not None:
            d["worst_index"] = list(self.worst_index)
        return d


def compare_arrays(path: str, ref: np.ndarray, got: np.ndarray, rtol: float, atol: float,
                   reshape_ok: bool = False, scale: float = 0.0, noise: float = 0.0) -> Diff:
    ref, got = np.asarray(ref), np.asarray(got)
    if ref.shape != got.shape:
        if not (reshape_ok and ref.size == got.size):
            return Diff(path, ref.shape, float("inf"), float("inf"), False,
                        f"shape {tuple(got.shape)} (translation) != {tuple(ref.shape)} (original)")
        got = got.reshape(ref.shape)
    if ref.dtype == bool or got.dtype == bool:
        ref, got = ref.astype(np.int64), got.astype(np.int64)
    ref64, got64 = ref.astype(np.float64), got.astype(np.float64)
    if ref64.size == 0:
        return Diff(path, ref.shape, 0.0, 0.0, True)
    finite_ref, finite_got = np.isfinite(ref64), np.isfinite(got64)
    if not np.array_equal(finite_ref, finite_got) or not np.array_equal(ref64[~finite_ref], got64[~finite_got]):
        bad = np.argwhere(finite_ref != finite_got)
        return Diff(path, ref.shape, float("inf"), float("inf"), False, "non-finite values differ",
                    tuple(int(i) for i in bad[0]) if len(bad) else None)
    r, g = np.where(finite_ref, ref64, 0.0), np.where(finite_got, got64, 0.0)
    diff = np.abs(g - r)
    floor = atol * max(1.0, float(np.abs(r).max()), scale)
    allowed = floor + rtol * np.abs(r) + NOISE_FACTOR * noise
    rel = diff / np.maximum(np.abs(r), floor if floor > 0 else np.finfo(np.float64).tiny)
    worst = np.unravel_index(int(np.argmax(diff - allowed)), diff.shape) if diff.ndim else ()
    ok = bool(np.all(diff <= allowed))
    return Diff(path, ref.shape, float(diff.max()), float(rel.max()), ok,
                worst_index=None if ok else tuple(int(i) for i in worst))


def compare_trees(ref: dict[str, np.ndarray], got: dict[str, np.ndarray], rtol: float, atol: float,
                  scale: float = 0.0, noise: dict[str, float] | None = None) -> list[Diff]:
    """Compare two flattened outputs; a missing or extra leaf is a difference."""
    diffs = []
    for path, r in ref.items():
        if path not in got:
            diffs.append(Diff(path, np.shape(r), float("inf"), float("inf"), False, "missing in the translation's output"))
            continue
        diffs.append(compare_arrays(path, r, got[path], rtol, atol, scale=scale,
                                    noise=(noise or {}).get(path, 0.0)))
    for path in got.keys() - ref.keys():
        diffs.append(Diff(path, np.shape(got[path]), float("inf"), float("inf"), False,
                          "only in the translation's output"))
    return diffs


def magnitude(tree: dict[str, np.ndarray]) -> float:
    """The largest finite absolute value in a flattened tree."""
    values = [np.abs(a[np.isfinite(a)]).max() for a in map(np.asarray, tree.values())
              if a.size and np.issubdtype(a.dtype, np.number) and np.isfinite(a).any()]
    return float(max(values, default=0.0))


def rounding_noise(ref: dict[str, np.ndarray], exact: dict[str, np.ndarray]) -> dict[str, float]:
    """Per tensor, max |float32 result - float64 result| of the same (original) model."""
    out = {}
    for path, r in ref.items():
        e = exact.get(path)
        if e is not None and np.shape(e) == np.shape(r) and np.issubdtype(np.asarray(r).dtype, np.floating):
            d = np.abs(np.asarray(r, np.float64) - np.asarray(e, np.float64))
            out[path] = float(d[np.isfinite(d)].max()) if np.isfinite(d).any() else 0.0
    return out


def worst(diffs: list[Diff]) -> tuple[float, float]:
    return (max((d.max_abs for d in diffs), default=0.0), max((d.max_rel for d in diffs), default=0.0))
