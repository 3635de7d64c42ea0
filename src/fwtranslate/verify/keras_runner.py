"""Running the Keras translation: inference, and one training step whose gradients and updated
weights are brought back to torch names and layouts (through the weight converters'
keras_to_torch), so they compare one to one with the original's."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import numpy as np

from ..weights.transfer import keras_to_torch
from .backend import frameworks, keras_leaf
from .compare import flatten
from .execution import KerasExecutor
from .interface import KerasInterface
from .torch_runner import TrainResult

_fresh = itertools.count()


class KerasRunner:
    def __init__(
        self,
        model: Any,
        executor: KerasExecutor,
        shadow: Any,
        recorder=None,
        to_torch=None,
        interface: KerasInterface | None = None,
    ):
        """``shadow``: a spare copy of the torch model that receives Keras values in torch layout
        (``to_torch(keras_model, shadow)`` moves them: the translation's converters by default;
        for a Keras original, the Keras-driven transfer of weights/from_keras.py). ``interface``:
        the model takes or returns channels-last tensors (interface.py)."""
        from .localize import KerasRecorder

        self.model, self.executor, self.shadow = model, executor, shadow
        self.interface = interface or KerasInterface()
        self.to_torch = to_torch or keras_to_torch
        # Inference always records every submodule's inputs and outputs: localising a failure
        # then needs no second XLA compilation (which costs as much as the first).
        self.recorder = recorder if recorder is not None else KerasRecorder(shadow, model)
        self.last_calls: list = []

    def apply(self, *xs, training: bool):
        """The model on inputs in PyTorch's order; its results in PyTorch's order."""
        return self.interface.call(self.model, list(xs), training)

    def forward(self, arrays: list[np.ndarray], training: bool) -> dict[str, np.ndarray]:
        if not training:
            return self._recorded_inference(arrays)
        saved = self.snapshot()
        try:
            return self.executor.run(
                ("forward", True), lambda *xs: flatten(self.apply(*xs, training=True), keras_leaf), *arrays
            )
        finally:
            self.restore(saved)

    def _recorded_inference(self, arrays: list[np.ndarray]) -> dict[str, np.ndarray]:
        recorder = self.recorder

        def fn(*xs):
            with recorder.patched():
                out = flatten(self.apply(*xs, training=False), keras_leaf)
            recorder.end_trace(_signature(xs))
            return out, recorder.tensors()

        out, records = self.executor.run(("forward", False), fn, *arrays)
        self.last_calls = recorder.set_values(records, _signature(arrays))
        return out

    def train_step(
        self, arrays: list[np.ndarray], projections: dict[str, np.ndarray] | None, lr: float, seed: int = 0
    ) -> TrainResult:
        """``projections`` None (the Keras model is the original): drawn inside the step, one
        fixed random direction per float output (seeded by ``seed`` and the output's path), and
        returned in the result for the translation's step."""
        _, tf, _ = frameworks()
        model = self.model
        variables = list(model.trainable_variables)
        if projections is None:
            return self._train_step_own_projections(arrays, lr, seed)
        paths = sorted(projections)
        float_inputs = [i for i, a in enumerate(arrays) if np.issubdtype(a.dtype, np.floating)]
        n = len(arrays)

        def step(*tensors):
            xs, projs = list(tensors[:n]), dict(zip(paths, tensors[n:]))
            with tf.GradientTape() as tape:
                for i in float_inputs:
                    tape.watch(xs[i])
                flat = flatten(self.apply(*xs, training=True), keras_leaf)
                terms = [tf.reduce_sum(tf.cast(flat[p], projs[p].dtype) * projs[p]) for p in paths if p in flat]
                loss = tf.add_n(terms) if terms else tf.constant(0.0)
            sources = [xs[i] for i in float_inputs] + variables
            grads = tape.gradient(loss, sources)
            # embeddings give sparse IndexedSlices gradients: compare them dense
            grads = [tf.zeros_like(s) if g is None else tf.convert_to_tensor(g) for g, s in zip(grads, sources)]
            return flat, grads

        saved = self.snapshot()
        try:
            flat, grads = self.executor.run(("train", tuple(paths)), step, *arrays, *(projections[p] for p in paths))
            input_grads = {f"input[{i}]": g for i, g in zip(float_inputs, grads)}
            var_grads = grads[len(float_inputs) :]
            # moving statistics now hold their training-mode update; weights get the SGD step
            after_forward = [v.numpy() for v in variables]
            for v, g in zip(variables, var_grads):
                v.assign(g)
            param_grads = self._in_torch_layout(params_only=True)
            for v, value, g in zip(variables, after_forward, var_grads):
                v.assign(value - lr * g)
            state = self._in_torch_layout(params_only=False)
            return TrainResult(flat, input_grads, param_grads, state)
        finally:
            self.restore(saved)

    def _train_step_own_projections(self, arrays: list[np.ndarray], lr: float, seed: int) -> TrainResult:
        import zlib

        _, tf, _ = frameworks()
        model = self.model
        variables = list(model.trainable_variables)
        float_inputs = [i for i, a in enumerate(arrays) if np.issubdtype(a.dtype, np.floating)]

        def step(*xs):
            xs = list(xs)
            with tf.GradientTape() as tape:
                for i in float_inputs:
                    tape.watch(xs[i])
                flat = flatten(self.apply(*xs, training=True), keras_leaf)
                projs = {
                    p: tf.random.stateless_normal(
                        tf.shape(v), seed=[seed, zlib.crc32(p.encode()) & 0x7FFFFFFF], dtype=v.dtype
                    )
                    for p, v in sorted(flat.items())
                    if v.dtype.is_floating
                }
                terms = [tf.reduce_sum(flat[p] * projs[p]) for p in sorted(projs)]
                loss = tf.add_n(terms) if terms else tf.constant(0.0)
            sources = [xs[i] for i in float_inputs] + variables
            grads = tape.gradient(loss, sources)
            grads = [tf.zeros_like(s) if g is None else tf.convert_to_tensor(g) for g, s in zip(grads, sources)]
            return flat, projs, grads

        saved = self.snapshot()
        try:
            flat, projs, grads = self.executor.run(("train", "own", seed), step, *arrays)
            return self._finish_step(flat, grads, float_inputs, variables, lr, projs)
        finally:
            self.restore(saved)

    def _finish_step(self, flat, grads, float_inputs, variables, lr, projections) -> TrainResult:
        input_grads = {f"input[{i}]": g for i, g in zip(float_inputs, grads)}
        var_grads = grads[len(float_inputs) :]
        after_forward = [v.numpy() for v in variables]
        for v, g in zip(variables, var_grads):
            v.assign(g)
        param_grads = self._in_torch_layout(params_only=True)
        for v, value, g in zip(variables, after_forward, var_grads):
            v.assign(value - lr * g)
        state = self._in_torch_layout(params_only=False)
        return TrainResult(flat, input_grads, param_grads, state, dict(projections))

    def _in_torch_layout(self, params_only: bool) -> dict[str, np.ndarray]:
        self.to_torch(self.model, self.shadow)
        if params_only:
            return {n: p.detach().cpu().numpy().copy() for n, p in self.shadow.named_parameters() if p.requires_grad}
        return {k: v.detach().cpu().numpy().copy() for k, v in self.shadow.state_dict().items()}

    def run_recorded(self, arrays: list[np.ndarray], training: bool, recorder) -> dict[str, np.ndarray]:
        """A forward pass with ``recorder`` patched into the layers (traced afresh: the
        recorder's bookkeeping happens while tracing)."""
        saved = self.snapshot() if training else None

        def fn(*xs):
            with recorder.patched():
                out = flatten(self.apply(*xs, training=training), keras_leaf)
            return out, recorder.tensors()

        try:
            out, records = self.executor.run(("recorded", training, next(_fresh)), fn, *arrays)
            recorder.set_values(records)
            return out
        finally:
            if saved is not None:
                self.restore(saved)

    def snapshot(self) -> list[np.ndarray]:
        return [copy.deepcopy(v.numpy()) for v in self.model.variables]

    def restore(self, saved: list[np.ndarray]) -> None:
        for v, value in zip(self.model.variables, saved):
            v.assign(value)


class KerasReferenceRunner(KerasRunner):
    """A float64 copy of the Keras model, run like a TorchRunner (session.references()):
    inference without recording, ``train_step(arrays, lr, seed, projections)``."""

    def __init__(self, model: Any, executor: KerasExecutor, shadow: Any, to_torch=None, interface=None):
        super().__init__(model, executor, shadow, recorder=False, to_torch=to_torch, interface=interface)

    def _recorded_inference(self, arrays: list[np.ndarray]) -> dict[str, np.ndarray]:
        return self.executor.run(
            ("forward", False), lambda *xs: flatten(self.apply(*xs, training=False), keras_leaf), *arrays
        )

    def train_step(self, arrays, lr, seed=0, projections=None) -> TrainResult:
        return super().train_step(arrays, projections, lr, seed)


def _signature(xs) -> tuple:
    """What tf.function retraces on: the inputs' shapes and dtypes."""
    return tuple((tuple(x.shape), str(getattr(x.dtype, "name", x.dtype))) for x in xs)
