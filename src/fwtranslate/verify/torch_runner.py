"""Running the original torch model: inference, and one training step with gradients."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .compare import flatten


@dataclass
class TrainResult:
    outputs: dict[str, np.ndarray]
    input_grads: dict[str, np.ndarray]
    param_grads: dict[str, np.ndarray]  # torch names and layouts
    state_after: dict[str, np.ndarray]  # state_dict after one SGD step
    projections: dict[str, np.ndarray] = field(default_factory=dict)  # loss = sum(output * projection)
    notes: list[str] = field(default_factory=list)


def projection_for(path: str, shape: tuple[int, ...], dtype, seed: int) -> np.ndarray:
    """A fixed random direction per output: the scalar loss mixes every output element."""
    import zlib

    rng = np.random.default_rng([seed, zlib.crc32(path.encode())])
    return rng.normal(size=shape).astype(dtype)


def torch_leaf(v):
    import torch

    return v if isinstance(v, torch.Tensor) else None


def to_numpy(t) -> np.ndarray:
    # a copy: on CPU .numpy() shares memory with the tensor, which the restore overwrites
    return t.detach().cpu().numpy().copy()


class TorchRunner:
    def __init__(self, model: Any, device: str):
        self.model, self.device = model, device
        self.model_time = 0.0  # seconds inside the model's forward and backward passes

    def tensors(self, arrays: list[np.ndarray], grad: bool = False) -> list:
        import torch

        out = []
        for a in arrays:
            t = torch.as_tensor(a).to(self.device)
            if grad and t.is_floating_point():
                t.requires_grad_(True)
            out.append(t)
        return out

    def forward(self, arrays: list[np.ndarray], training: bool) -> dict[str, np.ndarray]:
        import torch

        self.model.train(training)
        saved = self.snapshot() if training else None
        try:
            xs = self.tensors(arrays)
            start = time.perf_counter()
            with torch.no_grad():
                out = self.model(*xs)
            self.model_time += time.perf_counter() - start
            return {k: to_numpy(v) for k, v in flatten(out, torch_leaf).items()}
        finally:
            if saved is not None:
                self.restore(saved)
            self.model.eval()

    def train_step(
        self, arrays: list[np.ndarray], lr: float, seed: int, projections: dict[str, np.ndarray] | None = None
    ) -> TrainResult:
        """Outputs, gradients of sum(output * projection) and the state after one SGD step."""
        import torch

        model = self.model
        saved = self.snapshot()
        bn = BatchNormWatch(model)
        model.train()
        try:
            model.zero_grad(set_to_none=True)
            xs = self.tensors(arrays, grad=True)
            start = time.perf_counter()
            flat = flatten(model(*xs), torch_leaf)
            if projections is None:
                projections = {
                    k: projection_for(k, tuple(v.shape), _np_dtype(v), seed)
                    for k, v in flat.items()
                    if v.is_floating_point()
                }
            loss = sum(
                (v * torch.as_tensor(projections[k], device=v.device, dtype=v.dtype)).sum()
                for k, v in flat.items()
                if k in projections
            )
            if isinstance(loss, torch.Tensor) and loss.requires_grad:
                loss.backward()
            self.model_time += time.perf_counter() - start
            outputs = {k: to_numpy(v) for k, v in flat.items()}
            input_grads = {
                f"input[{i}]": to_numpy(x.grad) if x.grad is not None else np.zeros(x.shape, _np_dtype(x))
                for i, x in enumerate(xs)
                if x.is_floating_point()
            }
            params = dict(model.named_parameters())
            grads = {
                n: to_numpy(p.grad) if p.grad is not None else np.zeros(p.shape, _np_dtype(p))
                for n, p in params.items()
                if p.requires_grad
            }
            with torch.no_grad():
                for p in params.values():
                    if p.grad is not None:
                        p -= lr * p.grad
            state = {k: to_numpy(v) for k, v in model.state_dict().items()}
            notes = bn.expect_keras_variance(state)
            return TrainResult(outputs, input_grads, grads, state, projections, notes)
        finally:
            bn.remove()
            model.zero_grad(set_to_none=True)
            self.restore(saved)
            model.eval()

    def snapshot(self) -> dict[str, Any]:
        return copy.deepcopy(self.model.state_dict())

    def restore(self, saved: dict[str, Any]) -> None:
        self.model.load_state_dict(saved)


def _np_dtype(t) -> np.dtype:
    return to_numpy(t.new_zeros(())).dtype


class BatchNormWatch:
    """Keras' BatchNormalization updates its moving variance with the biased batch variance,
    torch with the unbiased one: a difference no translation can remove. The torch batch
    statistics are recorded, and the running variance Keras must end with is computed from them
    (everything else about the update, momentum included, is still checked)."""

    def __init__(self, model):
        import torch.nn as nn

        self.records: dict[str, list[np.ndarray]] = {}
        self.start: dict[str, tuple[np.ndarray, Any, int]] = {}
        self.handles = []
        for name, m in model.named_modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats and m.running_var is not None:
                self.start[name] = (to_numpy(m.running_var).copy(), m.momentum, int(m.num_batches_tracked))
                self.handles.append(m.register_forward_pre_hook(self._hook(name)))

    def _hook(self, name):
        def hook(module, args):
            if module.training:
                x = args[0].detach()
                dims = [d for d in range(x.dim()) if d != 1]
                self.records.setdefault(name, []).append(to_numpy(x.double().var(dim=dims, unbiased=False)))

        return hook

    def expect_keras_variance(self, state: dict[str, np.ndarray]) -> list[str]:
        notes = []
        for name, batches in self.records.items():
            var, momentum, count = self.start[name]
            for k, b in enumerate(batches):
                factor = momentum if momentum is not None else 1.0 / (count + k + 1)
                var = (1 - factor) * var + factor * b
            key = f"{name}.running_var" if name else "running_var"
            state[key] = var.astype(state[key].dtype)
        if self.records:
            notes.append(
                "BatchNorm running_var after the step is compared with Keras' update rule "
                "(biased batch variance); torch uses the unbiased one"
            )
        return notes

    def remove(self):
        for h in self.handles:
            h.remove()
