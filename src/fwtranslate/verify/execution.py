"""Running Keras code on TensorFlow: graph mode first, XLA where graph mode has no kernel, eager last.

Translations compute channels last inside (passes/torch_to_tf/layout.py), which graph mode runs
on every device. On CPU, TensorFlow has no graph kernel for channels_first (NCHW) convolutions:
code that still has them (a hand-written channels-first model) is retried under
XLA, which compiles them. A function that fails in graph mode for another reason is retried
eagerly. tf.function retraces per input shape and keeps each trace, so a shape seen before costs
nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np

from .backend import Device, frameworks

MODES = ("graph", "xla", "eager")


class KerasExecutor:
    def __init__(self, device: Device):
        self.device = device
        self.first_mode = "graph"
        self._functions: dict[Hashable, tuple[str, Callable]] = {}
        self.fallbacks: list[str] = []  # why a function left XLA, for the report
        self.run_time = 0.0  # seconds in calls that reused a compiled trace
        self.compile_time = 0.0  # seconds in calls that traced (and compiled) anew

    def run(self, key: Hashable, fn: Callable, *tensors) -> Any:
        """Call ``fn(*tensors)`` (numpy in, numpy out, any nesting), compiled and cached by ``key``."""
        _, tf, _ = frameworks()
        with self.device.scope():
            args = [tf.convert_to_tensor(t) for t in tensors]
            mode, compiled = self._functions.get(key) or (None, None)
            if compiled is None:
                mode = self.first_mode
                compiled = self._compile(fn, mode)
            first_error = None
            while True:
                traces = _tracing_count(compiled)
                start = time.perf_counter()
                try:
                    out = compiled(*args)
                    elapsed = time.perf_counter() - start
                    if _tracing_count(compiled) != traces or (mode == "eager" and key not in self._functions):
                        self.compile_time += elapsed
                    else:
                        self.run_time += elapsed
                    break
                except Exception as exc:  # noqa: BLE001 - decided below
                    first_error = first_error or exc
                    nxt = self._next_mode(mode, exc)
                    if nxt is None:
                        # NHWC: only XLA could run it on CPU, so XLA's own error is the useful one
                        raise (exc if "NHWC" in str(first_error) else first_error) from None
                    self.fallbacks.append(f"{key!r}: {mode} failed ({_first_line(exc)}); using {nxt}")
                    mode, compiled = nxt, self._compile(fn, nxt)
            self._functions[key] = (mode, compiled)
            return tf.nest.map_structure(_to_numpy, out)

    def mode_of(self, key: Hashable) -> str | None:
        entry = self._functions.get(key)
        return entry[0] if entry else None

    @staticmethod
    def _compile(fn: Callable, mode: str) -> Callable:
        _, tf, _ = frameworks()
        if mode == "eager":
            return fn
        return tf.function(fn, jit_compile=(mode == "xla"), reduce_retracing=False)

    def _next_mode(self, mode: str, exc: Exception) -> str | None:
        """The mode to retry in, or None when the error is the code's own (raise it)."""
        _, tf, _ = frameworks()
        if not isinstance(exc, tf.errors.OpError) and not _mentions_xla(exc):
            return None  # a Python error while tracing: the same in every mode
        if "NHWC" in str(exc):  # no graph kernel for channels-first data on this device
            return "xla" if mode == "graph" and self.device.use_xla else None
        return "eager" if mode in ("graph", "xla") else None


def _tracing_count(fn) -> int:
    get = getattr(fn, "experimental_get_tracing_count", None)
    return get() if get else 0


def _mentions_xla(exc: Exception) -> bool:
    text = str(exc)
    return "XLA" in text or "jit_compile" in text or "compil" in text.lower()


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200] if text else ''}"


def _to_numpy(t):
    return t.numpy() if hasattr(t, "numpy") else np.asarray(t)


class ReferenceExecutor(KerasExecutor):
    """For the float64 copy of a Keras model (session.references()), run once or twice per
    example: graph mode first (no XLA compilation, which for a ResNet50 training step costs a
    minute), XLA when graph mode has no kernel (channels_first convolutions on CPU), eager last."""

    def __init__(self, device: Device):
        super().__init__(device)
        self.first_mode = "graph"

    def _next_mode(self, mode: str, exc: Exception) -> str | None:
        if mode == "graph":
            return "xla" if self.device.use_xla else "eager"
        return "eager" if mode == "xla" else None
