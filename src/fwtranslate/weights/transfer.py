"""Model-level weight transfer between a torch module and its Keras translation.

Walks both trees side by side (tree.py). A torch module whose class has a rule with a
``weights:`` converter is handed whole (its subtree included) to that converter; the direct
parameters and buffers of any other module go to the ``keras.Variable`` attribute of the same
name on its Keras counterpart (same layout). Every torch tensor is accounted for: one that
nothing transfers is an error, never a silent skip.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..directions import TORCH_TO_TF, Direction
from . import registry
from .tree import Node, join, walk

# Used only when no rule names a converter for the class (the rules are the source of truth):
# the converters of the layers every model has, so weights move while their rules are written.
FALLBACK_CONVERTERS = {
    "Linear": "dense",
    "Conv1d": "conv",
    "Conv2d": "conv",
    "Conv3d": "conv",
    "BatchNorm1d": "batchnorm",
    "BatchNorm2d": "batchnorm",
    "BatchNorm3d": "batchnorm",
    "LayerNorm": "affine_norm",
    "GroupNorm": "affine_norm",
    "Embedding": "embedding",
}


class TransferError(Exception):
    """A torch module or tensor with no usable Keras counterpart (both paths in the message)."""

    def __init__(self, message: str, torch_path: str = "", keras_path: str = ""):
        super().__init__(message)
        self.torch_path, self.keras_path = torch_path, keras_path


@dataclass
class Step:
    torch_path: str
    keras_path: str
    what: str  # converter name, or "variable"
    tensors: list[str]  # torch names moved by this step (state_dict keys)
    to_keras: Callable[[], None]
    to_torch: Callable[[], None]


@dataclass
class TransferPlan:
    steps: list[Step] = field(default_factory=list)

    @property
    def tensor_count(self) -> int:
        return sum(len(s.tensors) for s in self.steps)

    def owner_of(self, tensor_name: str) -> Step | None:
        for step in self.steps:
            if tensor_name in step.tensors:
                return step
        return None


def plan(torch_module: Any, keras_obj: Any, direction: Direction | str = TORCH_TO_TF) -> TransferPlan:
    """What moves where; raises TransferError for anything that has nowhere to go."""
    check_materialised(torch_module)
    result = TransferPlan()
    covered: list[str] = []  # subtrees a converter handles whole
    for node in walk(torch_module, keras_obj):
        if any(node.torch_path == c or node.torch_path.startswith(c + ".") for c in covered if c) or "" in covered:
            continue
        tensors = _subtree_tensors(node)
        if not tensors:
            continue  # parameter-free module (activation...): the translation may have inlined it
        name = converter_for(node.module, direction)
        if name is not None:
            _need_counterpart(node, tensors)
            result.steps.append(_converter_step(node, registry.get(name), tensors))
            covered.append(node.torch_path)
            continue
        for attr, tensor, kind in _direct_tensors(node.module):
            _need_counterpart(node, [join(node.torch_path, attr)])
            result.steps.append(_variable_step(node, attr, tensor, kind))
    _check_all_accounted(torch_module, result)
    return result


def converter_for(module: Any, direction: Direction | str = TORCH_TO_TF) -> str | None:
    """The converter name the rules give the module's class, else the fallback table's."""
    import torch.nn as nn

    name = registry.converter_name_for(module, direction)
    if name is None and type(module).__module__.startswith("torch.nn"):
        for klass in type(module).__mro__:
            if klass is nn.Module:
                break
            name = FALLBACK_CONVERTERS.get(klass.__name__)
            if name is not None:
                break
    return name


def torch_to_keras(torch_module: Any, keras_obj: Any) -> TransferPlan:
    """Copy every parameter and buffer of ``torch_module`` into the built ``keras_obj``."""
    p = plan(torch_module, keras_obj)
    for step in p.steps:
        run_step(step, step.to_keras)
    return p


def keras_to_torch(keras_obj: Any, torch_module: Any) -> TransferPlan:
    """Copy the Keras weights back into ``torch_module`` (torch layouts)."""
    p = plan(torch_module, keras_obj)
    for step in p.steps:
        run_step(step, step.to_torch)
    return p


def build_by_dry_run(
    keras_obj: Any, sample_inputs: Sequence[Any], executor=None, training: bool = False, interface=None
) -> Any:
    """Create the Keras variables by calling the object once (Keras builds layers lazily);
    returns the flattened outputs ({path: array}). ``interface`` (verify/interface.py): the
    object takes channels-last tensors (--layout keras); the sample is PyTorch's.

    Runs through the verifier's executor: on CPU a channels_first model runs only under XLA.
    The call is cached under the same key as the verifier's forward pass, so the compilation
    made here serves the comparisons that follow.
    """
    from ..verify.backend import choose_device, keras_leaf
    from ..verify.compare import flatten
    from ..verify.execution import KerasExecutor
    from ..verify.interface import KerasInterface

    executor = executor or KerasExecutor(choose_device("cpu"))
    interface = interface or KerasInterface()
    with warnings.catch_warnings():
        # Keras warns that a subclassed model without build() is "marked as built": it is built
        # by this very call.
        warnings.filterwarnings("ignore", message=".*does not have a `build\\(\\)` method.*")
        return executor.run(
            ("forward", training),
            lambda *xs: flatten(interface.call(keras_obj, list(xs), training), keras_leaf),
            *sample_inputs,
        )


# --- steps ----------------------------------------------------------------------------------
def _converter_step(node: Node, conv: registry.Converter, tensors: list[str]) -> Step:
    module, layer = node.module, node.keras_obj
    return Step(
        node.torch_path,
        node.keras_path,
        conv.name,
        tensors,
        lambda: conv.torch_to_keras(module, layer),
        lambda: conv.keras_to_torch(layer, module),
    )


def _variable_step(node: Node, attr: str, tensor: Any, kind: str) -> Step:
    from .tree import keras_child

    var, suffix = keras_child(node.module, node.keras_obj, attr, -1)
    kpath = f"{node.keras_path}{suffix}" if node.keras_path else suffix.lstrip(".")
    tpath = join(node.torch_path, attr)
    if not _is_variable(var):
        raise TransferError(
            f"torch {kind} '{tpath}' has no keras.Variable counterpart: expected one at "
            f"'{kpath or '<root>'}' on {type(node.keras_obj).__name__}",
            tpath,
            kpath,
        )

    def to_keras():
        value = tensor.detach().cpu().numpy()
        if tuple(var.shape) != value.shape:
            raise ValueError(f"Keras shape {tuple(var.shape)} != torch shape {value.shape}")
        var.assign(value.astype(_dtype_name(var), copy=False))

    def to_torch():
        import torch

        value = np.asarray(var.numpy())
        if tuple(tensor.shape) != value.shape:
            raise ValueError(f"torch shape {tuple(tensor.shape)} != Keras shape {value.shape}")
        with torch.no_grad():
            tensor.copy_(torch.as_tensor(np.ascontiguousarray(value), dtype=tensor.dtype))

    return Step(tpath, kpath, "variable", [tpath], to_keras, to_torch)


def run_step(step: Step, action: Callable[[], None]) -> None:
    try:
        action()
    except TransferError:
        raise
    except Exception as exc:
        raise TransferError(
            f"'{step.torch_path or '<root>'}' -> '{step.keras_path or '<root>'}' ({step.what}): {exc}",
            step.torch_path,
            step.keras_path,
        ) from exc


# --- checks ---------------------------------------------------------------------------------
def _need_counterpart(node: Node, tensors: list[str]) -> None:
    if node.keras_obj is None:
        raise TransferError(
            f"torch module '{node.label}' ({type(node.module).__name__}) owns {', '.join(tensors[:4])}"
            f"{'...' if len(tensors) > 4 else ''} but the translation has nothing at "
            f"'{node.keras_path or '<root>'}'",
            node.torch_path,
            node.keras_path,
        )


def check_materialised(torch_module: Any) -> None:
    from torch.nn.parameter import UninitializedParameter

    for name, p in [*torch_module.named_parameters(), *torch_module.named_buffers()]:
        if isinstance(p, UninitializedParameter):
            raise TransferError(
                f"'{name}' is an uninitialised lazy parameter: run the torch model once "
                f"(a dry run) before transferring",
                name,
                "",
            )


def _check_all_accounted(torch_module: Any, result: TransferPlan) -> None:
    moved = {n for s in result.steps for n in s.tensors}
    every = named_tensors(torch_module, "")
    missing = [n for n in every if n not in moved]
    if missing:
        raise TransferError(f"{len(missing)} torch tensor(s) not transferred: {', '.join(missing[:6])}", missing[0], "")


def _direct_tensors(module: Any):
    for name, p in module._parameters.items():
        if p is not None:
            yield name, p, "parameter"
    for name, b in module._buffers.items():
        if b is not None:
            yield name, b, "buffer"


def named_tensors(module: Any, prefix: str) -> list[str]:
    names = [join(prefix, n) for n, _ in module.named_parameters(remove_duplicate=False)]
    names += [join(prefix, n) for n, _ in module.named_buffers(remove_duplicate=False)]
    return names


def _subtree_tensors(node: Node) -> list[str]:
    return named_tensors(node.module, node.torch_path)


def _is_variable(obj: Any) -> bool:
    import keras

    return isinstance(obj, keras.Variable)


def _dtype_name(var: Any) -> str:
    dtype = var.dtype
    return dtype if isinstance(dtype, str) else dtype.name
