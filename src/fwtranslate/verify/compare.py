"""Flattening nested outputs and comparing them element by element.

Tolerance: |keras - torch| <= atol * max(1, max|torch|) + rtol * |torch|, elementwise. The
absolute term scales with the tensor's magnitude: float32 sums of large values carry absolute
rounding errors proportional to them, and gradients are often large.
Reported relative error: |keras - torch| / max(|torch|, atol * max(1, max|torch|)).
Gradients use one scale for the whole phase (the largest gradient of any tensor) in place of
max|torch|: a gradient that cancels to ~0 (a bias right before a BatchNorm in training mode)
carries rounding noise of the size of the terms that cancelled, not of its own size.
Rounding of both frameworks (every phase, float32 only): when a tensor fails rtol/atol, the
original and the translation are each run again in float64 (same weights, inputs and loss
projections). With x_o, x_t the two float64 results, elementwise
    |translation - original| <= |translation - x_t| + |x_t - x_o| + |x_o - original|.
The outer terms are each model's own float32 rounding error ("noise": its max over the tensor,
measured); the middle one is the disagreement of the two models themselves, which no rounding
explains. The tensor passes when
    |x_t - x_o| <= rtol/atol allowance  (the models agree, in float64 arithmetic), and
    |translation - original| <= rtol/atol allowance + NOISE_FACTOR x (noise_o + noise_t).
The second follows from the first with NOISE_FACTOR = 1 (the noise terms are exact for the input
at hand, so no margin is needed); it is kept as the account the report gives ("allowed x: the
original's own float32 error is y, the translation's z"). A bug moves the float64 runs apart as
much as the float32 ones and fails the first; so does a translation that is not deterministic
(dropout left on), whose "rounding error" would otherwise be as large as it likes.
Why both models' rounding: TensorFlow's and torch's kernels round differently, and which rounds
worse varies per tensor (Keras ResNet50 at 64x64, gradients: TensorFlow's error on conv1's kernel
is up to 1.9x torch's, torch's on conv5_block1_0's is 110x TensorFlow's); BatchNorm's batch statistics
and a 50-layer backward pass amplify them past any fixed tolerance.
What it cannot catch: a translation whose float32 arithmetic is less accurate than the
original's while its float64 arithmetic agrees (an unstable formula). The report gives the
ratio of the two noises per phase.
The float64 runs only happen when rtol/atol alone fail (the verdict is the same as measuring
always: a tensor within rtol/atol passes either way), so a model that agrees to rtol/atol pays
nothing for them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

NOISE_FACTOR = 1.0


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
        for k in obj:
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
    noise: float | None = None  # the original's own float32 rounding error (None: not measured)
    noise_translation: float | None = None  # the translation's own float32 rounding error
    exact_gap: float | None = None  # max |translation - original| of the two float64 runs
    base_ok: bool = True  # within rtol/atol alone, before any allowance for rounding
    base_allowed: float = 0.0  # rtol/atol allowance at the element that used most of its allowance
    allowed: float = 0.0  # the same, the rounding allowance included

    @property
    def needed_noise(self) -> bool:
        """Passes only thanks to the allowance for both models' rounding."""
        return self.ok and not self.base_ok

    def to_dict(self) -> dict[str, Any]:
        d = {
            "path": self.path,
            "shape": list(self.shape),
            "max_abs_error": self.max_abs,
            "max_rel_error": self.max_rel,
            "ok": self.ok,
        }
        if self.message:
            d["message"] = self.message
        if self.noise is not None:
            d["original_rounding_error"] = self.noise
            d["translation_rounding_error"] = self.noise_translation
            d["rounding_allowance"] = NOISE_FACTOR * (self.noise + (self.noise_translation or 0.0))
            d["float64_disagreement"] = self.exact_gap
            d["within_rtol_atol"] = self.base_ok
            d["allowed_abs_error"] = self.allowed
        if self.worst_index is not None:
            d["worst_index"] = list(self.worst_index)
        return d


def compare_arrays(
    path: str,
    ref: np.ndarray,
    got: np.ndarray,
    rtol: float,
    atol: float,
    reshape_ok: bool = False,
    scale: float = 0.0,
    noise: float | None = None,
    noise_translation: float | None = None,
    exact: tuple | None = None,
) -> Diff:
    """``exact``: (the original's, the translation's) float64 results for this tensor, from which
    ``noise`` and ``noise_translation`` (each model's own float32 rounding error) and the float64
    disagreement are measured (module docstring); the noise may also be given as numbers."""
    ref, got = np.asarray(ref), np.asarray(got)
    if ref.shape != got.shape:
        if not (reshape_ok and ref.size == got.size):
            return Diff(
                path,
                ref.shape,
                float("inf"),
                float("inf"),
                False,
                f"shape {tuple(got.shape)} (translation) != {tuple(ref.shape)} (original)",
            )
        got = got.reshape(ref.shape)
    if ref.dtype == bool or got.dtype == bool:
        ref, got = ref.astype(np.int64), got.astype(np.int64)
    ref64, got64 = ref.astype(np.float64), got.astype(np.float64)
    if ref64.size == 0:
        return Diff(path, ref.shape, 0.0, 0.0, True)
    finite_ref, finite_got = np.isfinite(ref64), np.isfinite(got64)
    if not np.array_equal(finite_ref, finite_got) or not np.array_equal(ref64[~finite_ref], got64[~finite_got]):
        bad = np.argwhere(finite_ref != finite_got)
        return Diff(
            path,
            ref.shape,
            float("inf"),
            float("inf"),
            False,
            "non-finite values differ",
            tuple(int(i) for i in bad[0]) if len(bad) else None,
        )
    r, g = np.where(finite_ref, ref64, 0.0), np.where(finite_got, got64, 0.0)
    diff = np.abs(g - r)
    floor = atol * max(1.0, float(np.abs(r).max()), scale)
    base = floor + rtol * np.abs(r)
    gap_ok, gap = True, None
    if exact is not None:
        o64, t64 = (np.asarray(e, np.float64) for e in exact)
        if t64.shape != ref.shape and t64.size == ref.size:
            t64 = t64.reshape(ref.shape)
        if o64.shape != ref.shape or t64.shape != ref.shape:
            exact = None  # not measured for this tensor
        else:
            o64, t64 = np.where(finite_ref, o64, 0.0), np.where(finite_got, t64, 0.0)
            noise, noise_translation = _max(np.abs(r - o64)), _max(np.abs(g - t64))
            gaps = np.abs(t64 - o64)
            gap, gap_ok = _max(gaps), bool(np.all((gaps <= base) | ~np.isfinite(gaps)))
    allowed = base + NOISE_FACTOR * ((noise or 0.0) + (noise_translation or 0.0))
    rel = diff / np.maximum(np.abs(r), floor if floor > 0 else np.finfo(np.float64).tiny)
    flat = int(np.argmax(diff / allowed)) if np.all(allowed > 0) else int(np.argmax(diff - allowed))
    worst = np.unravel_index(flat, diff.shape) if diff.ndim else ()
    ok = bool(np.all(diff <= allowed))
    if not gap_ok and ok:  # within both rounding errors, yet the float64 runs disagree
        ok = False
        worst = np.unravel_index(int(np.argmax(gaps - base)), diff.shape) if diff.ndim else ()
    return Diff(
        path,
        ref.shape,
        float(diff.max()),
        float(rel.max()),
        ok,
        "" if gap_ok else f"the float64 runs differ too ({gap:.3g})",
        worst_index=None if ok else tuple(int(i) for i in worst),
        noise=noise,
        noise_translation=noise_translation,
        exact_gap=gap,
        base_ok=bool(np.all(diff <= base)),
        base_allowed=float(base[worst]),
        allowed=float(allowed[worst]),
    )


def compare_trees(
    ref: dict[str, np.ndarray],
    got: dict[str, np.ndarray],
    rtol: float,
    atol: float,
    scale: float = 0.0,
    exact: tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | None = None,
) -> list[Diff]:
    """Compare two flattened outputs; a missing or extra leaf is a difference. ``exact``: the
    original's and the translation's float64 results, by the same paths (module docstring)."""
    diffs = []
    for path, r in ref.items():
        if path not in got:
            diffs.append(
                Diff(path, np.shape(r), float("inf"), float("inf"), False, "missing in the translation's output")
            )
            continue
        pair = None
        if exact is not None and path in exact[0] and path in exact[1]:
            pair = (exact[0][path], exact[1][path])
        diffs.append(compare_arrays(path, r, got[path], rtol, atol, scale=scale, exact=pair))
    for path in got.keys() - ref.keys():
        diffs.append(
            Diff(path, np.shape(got[path]), float("inf"), float("inf"), False, "only in the translation's output")
        )
    return diffs


def magnitude(tree: dict[str, np.ndarray]) -> float:
    """The largest finite absolute value in a flattened tree."""
    values = [
        np.abs(a[np.isfinite(a)]).max()
        for a in map(np.asarray, tree.values())
        if a.size and np.issubdtype(a.dtype, np.number) and np.isfinite(a).any()
    ]
    return float(max(values, default=0.0))


def _max(a: np.ndarray) -> float:
    finite = a[np.isfinite(a)]
    return float(finite.max()) if finite.size else 0.0


def worst(diffs: list[Diff]) -> tuple[float, float]:
    return (max((d.max_abs for d in diffs), default=0.0), max((d.max_rel for d in diffs), default=0.0))
