"""Finding the first submodule whose outputs diverge.

Both models run the failing input once more while every submodule records its inputs and
outputs: torch through forward hooks, Keras by patching ``call`` on the layer at the same
attribute path. Calls are compared in torch's completion order (a child finishes before its
parent), the k-th call of a path with the k-th call of the same path on the other side:
- inputs differ: the code of the caller, between its sub-calls, went wrong -> the caller;
- inputs agree, outputs differ: this module -> it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..weights.tree import walk
from .compare import compare_arrays


@dataclass
class Call:
    path: str
    index: int  # k-th call of this path
    caller: str | None  # path of the enclosing recorded call
    inputs: list = field(default_factory=list)
    outputs: list = field(default_factory=list)


def _leaves(obj, is_leaf) -> list:
    out = []

    def visit(o):
        if is_leaf(o):
            out.append(o)
        elif isinstance(o, dict):
            for v in o.values():
                visit(v)
        elif isinstance(o, (list, tuple)):
            for v in o:
                visit(v)

    visit(obj)
    return out


class TorchRecorder:
    def __init__(self, model: Any):
        self.model = model
        self.calls: list[Call] = []
        self.open: list[Call] = []  # calls not finished: after a crash, the innermost raised

    @contextlib.contextmanager
    def hooked(self):
        import torch

        is_leaf = lambda v: isinstance(v, torch.Tensor)  # noqa: E731
        stack: list[Call] = []
        self.open = stack
        counts: dict[str, int] = {}
        handles = []

        def pre(path):
            def hook(module, args):
                k = counts.get(path, 0)
                counts[path] = k + 1
                call = Call(
                    path,
                    k,
                    stack[-1].path if stack else None,
                    [t.detach().cpu().clone().numpy() for t in _leaves(args, is_leaf)],
                )
                stack.append(call)

            return hook

        def post(path):
            def hook(module, args, output):
                call = stack.pop()
                call.outputs = [t.detach().cpu().clone().numpy() for t in _leaves(output, is_leaf)]
                self.calls.append(call)

            return hook

        for path, m in self.model.named_modules():
            if _has_forward(m):
                handles.append(m.register_forward_pre_hook(pre(path)))
                handles.append(m.register_forward_hook(post(path)))
        try:
            yield self
        finally:
            for h in handles:
                h.remove()


def _has_forward(m) -> bool:
    import torch.nn as nn

    return type(m).forward is not nn.Module.forward  # ModuleList / ModuleDict have none


class KerasRecorder:
    """Patches ``call`` of the Keras counterparts while a function is traced; the recorded
    tensors are returned from the traced function and handed back with ``set_values``."""

    def __init__(self, torch_model: Any, keras_model: Any, pairs: list[tuple[str, Any]] | None = None):
        """``pairs``: (torch path, Keras layer) to record, when the Keras model is the original
        (weights/from_keras.py pairs them); else the torch tree's walk gives them."""
        import keras

        self.paths: dict[int, str] = {}
        self.layers: list[Any] = []
        if pairs is None:
            pairs = [(node.torch_path, node.keras_obj) for node in walk(torch_model, keras_model)]
        for torch_path, obj in pairs:
            if isinstance(obj, keras.layers.Layer) and id(obj) not in self.paths:
                self.paths[id(obj)] = torch_path
                self.layers.append(obj)
        self.calls: list[Call] = []
        self._tensors: list[tuple[list, list]] = []
        self.error_path: str | None = None  # innermost layer that raised, if one did
        self.traces: dict[Any, list[Call]] = {}  # per traced input signature: its calls

    @contextlib.contextmanager
    def patched(self):
        from .backend import keras_leaf

        is_leaf = lambda v: keras_leaf(v) is not None  # noqa: E731
        stack: list[Call] = []
        counts: dict[str, int] = {}
        self.calls, self._tensors = [], []

        import tensorflow as tf

        graph = tf.compat.v1.get_default_graph()

        def wrap(layer, original):
            path = self.paths[id(layer)]

            def call(*args, **kwargs):
                if tf.compat.v1.get_default_graph() is not graph:
                    # Keras building a Sequential's functional graph in a scratch graph: not a
                    # call of the model being traced
                    return original(*args, **kwargs)
                k = counts.get(path, 0)
                counts[path] = k + 1
                record = Call(path, k, stack[-1].path if stack else None)
                stack.append(record)
                try:
                    out = original(*args, **kwargs)
                except Exception:
                    if self.error_path is None:
                        self.error_path = path  # the innermost layer sees the exception first
                    raise
                finally:
                    stack.pop()
                self.calls.append(record)
                self._tensors.append(
                    ([keras_leaf(v) for v in _leaves(args, is_leaf)], [keras_leaf(v) for v in _leaves(out, is_leaf)])
                )
                return out

            return call

        for layer in self.layers:
            object.__setattr__(layer, "call", wrap(layer, layer.call))
        try:
            yield self
        finally:
            for layer in self.layers:
                with contextlib.suppress(AttributeError):
                    object.__delattr__(layer, "call")

    def tensors(self):
        return self._tensors

    def shapes(self) -> list[Call]:
        """The calls completed before a crash, with the static shapes of their tensors (what is
        known when tracing stopped) in place of values."""
        out = []
        for call, (inputs, outputs) in zip(self.calls, self._tensors):
            out.append(
                Call(call.path, call.index, call.caller, [_static(t) for t in inputs], [_static(t) for t in outputs])
            )
        return out

    def end_trace(self, signature) -> None:
        """A compiled function is reused for inputs of the same signature without running the
        Python again: remember which calls its recorded tensors belong to."""
        self.traces[signature] = self.calls

    def set_values(self, values, signature=None) -> list[Call]:
        """Attach the values a compiled call returned to the calls of its trace."""
        calls = self.traces.get(signature, self.calls) if signature is not None else self.calls
        for call, (inputs, outputs) in zip(calls, values):
            call.inputs = [np.asarray(v) for v in inputs]
            call.outputs = [np.asarray(v) for v in outputs]
        self.calls = calls
        return calls


@dataclass
class Divergence:
    path: str
    torch_class: str
    keras_class: str
    reason: str
    max_abs_error: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path or "<root>",
            "torch_class": self.torch_class,
            "keras_class": self.keras_class,
            "reason": self.reason,
            "max_abs_error": self.max_abs_error,
        }


def first_divergence(
    torch_calls: list[Call],
    keras_calls: list[Call],
    rtol: float,
    atol: float,
    classes: dict[str, tuple[str, str]],
    align: bool = False,
) -> Divergence | None:
    """``torch_calls``: the original's calls, ``keras_calls``: the translation's (named for the
    torch -> Keras direction; a Keras original passes its calls first). ``align``: a tensor of
    the translation may have its channel axis elsewhere than the original's (a translation moves
    the channel axis once for a run of layers: to the front for torch, to the end for Keras)."""
    by_key = {(c.path, c.index): c for c in keras_calls}
    for tc in torch_calls:
        kc = by_key.get((tc.path, tc.index))
        if kc is None:
            continue  # the translation inlined this module (an activation written as a function...)
        bad_in = _first_bad(tc.inputs, kc.inputs, rtol, atol, align)
        if bad_in is not None:
            where = tc.caller if tc.caller is not None else tc.path
            return _divergence(
                where,
                classes,
                f"the inputs of '{tc.path or '<root>'}' (call {tc.index}) differ: "
                f"the code of '{where or '<root>'}' before that call diverges ({bad_in.message or 'values'})",
                bad_in.max_abs,
            )
        bad_out = _first_bad(tc.outputs, kc.outputs, rtol, atol, align)
        if bad_out is not None:
            return _divergence(
                tc.path,
                classes,
                f"same inputs, different outputs (call {tc.index})"
                + (f": {bad_out.message}" if bad_out.message else ""),
                bad_out.max_abs,
            )
    return None


def first_shape_divergence(
    torch_calls: list[Call], keras_shapes: list[Call], classes: dict[str, tuple[str, str]], align: bool = False
) -> Divergence | None:
    """When the translation crashed: the first call whose tensors' shapes already differ."""
    by_key = {(c.path, c.index): c for c in keras_shapes}
    for tc in torch_calls:
        kc = by_key.get((tc.path, tc.index))
        if kc is None:
            continue
        for kind, ref, got in (("inputs", tc.inputs, kc.inputs), ("outputs", tc.outputs, kc.outputs)):
            pairs = list(zip(ref, got)) if len(ref) == len(got) else [(ref[0], got[0])] if ref and got else []
            for r, g in pairs:
                if not _shape_fits(tuple(np.shape(r)), g) and not (
                    align
                    and (
                        _shape_fits(tuple(np.shape(r)), _channels_last(tuple(g)))
                        or _shape_fits(tuple(np.shape(r)), _channels_first(tuple(g)))
                    )
                ):
                    where = (tc.caller if tc.caller is not None else tc.path) if kind == "inputs" else tc.path
                    return _divergence(
                        where,
                        classes,
                        f"{kind} of '{tc.path or '<root>'}' have shape {g} in the "
                        f"translation, {tuple(np.shape(r))} in the original",
                        None,
                    )
    return None


def _static(t) -> tuple:
    try:
        return tuple(t.shape.as_list()) if hasattr(t.shape, "as_list") else tuple(t.shape)
    except ValueError:  # unknown rank
        return ()


def _shape_fits(ref: tuple, got: tuple) -> bool:
    if not got:
        return True
    if len(ref) != len(got):
        known = [d for d in got if d is not None]
        return len(known) != len(got) or int(np.prod(ref)) == int(np.prod(known))
    return all(g is None or g == r for r, g in zip(ref, got))


def _channels_last(shape: tuple) -> tuple:
    return (shape[0], *shape[2:], shape[1]) if len(shape) >= 3 else shape


def _channels_first(shape: tuple) -> tuple:
    return (shape[0], shape[-1], *shape[1:-1]) if len(shape) >= 3 else shape


def _first_bad(ref: list, got: list, rtol: float, atol: float, align: bool = False):
    if not ref or not got:
        return None
    pairs = list(zip(ref, got)) if len(ref) == len(got) else [(ref[0], got[0])]
    for r, g in pairs:
        moves = []  # the translation's tensor with its channel axis where the original's is
        if align and np.ndim(g) >= 3:
            if np.shape(r) == _channels_last(np.shape(g)):
                moves.append(np.moveaxis(np.asarray(g), 1, -1))
            if np.shape(r) == _channels_first(np.shape(g)):
                moves.append(np.moveaxis(np.asarray(g), -1, 1))
        if moves and np.shape(r) != np.shape(g):
            g = moves.pop(0)
        d = compare_arrays("", r, g, rtol, atol, reshape_ok=True)
        for moved in moves if not d.ok else ():
            # as many channels as pixels along each side (N, 8, 8, 8): the shape does not say
            # which layout the translation's tensor has; it matches if either one does
            d2 = compare_arrays("", r, moved, rtol, atol, reshape_ok=True)
            if d2.ok:
                d = d2
                break
        if not d.ok:
            return d
    return None


def _divergence(path: str, classes: dict[str, tuple[str, str]], reason: str, err: float | None) -> Divergence:
    tcls, kcls = classes.get(path, ("?", "?"))
    return Divergence(path, tcls, kcls, reason, None if err is None or not np.isfinite(err) else float(err))


def class_names(torch_model: Any, keras_model: Any) -> dict[str, tuple[str, str]]:
    return {
        n.torch_path: (type(n.module).__name__, type(n.keras_obj).__name__ if n.keras_obj is not None else "-")
        for n in walk(torch_model, keras_model)
    }
