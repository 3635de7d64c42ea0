"""The torch module tree and the Keras object tree, side by side.

The translation keeps attribute names, so the Keras counterpart of the torch module at
``block.conv`` is ``keras_model.block.conv``. Containers change kind: nn.Sequential becomes
keras.Sequential (torch child i is ``.layers[i]``), nn.ModuleList a Python list, nn.ModuleDict a
dict. A torch attribute that keras.Model reserves (``layers``...) may be renamed with a ``_``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

# Attributes keras.Model / keras.Layer define themselves: a translation stores a torch
# attribute of that name with a trailing underscore.
RESERVED = frozenset(
    {
        "layers",
        "metrics",
        "optimizer",
        "loss",
        "history",
        "stop_training",
        "compiled_loss",
        "compiled_metrics",
        "weights",
        "variables",
        "name",
        "dtype",
        "trainable",
        "built",
        "losses",
        "input",
        "output",
        "inputs",
        "outputs",
    }
)


@dataclass
class Node:
    torch_path: str  # "block.conv"; "" for the root
    module: Any  # the torch module
    keras_path: str  # "block.conv", "head.layers[0]"; "" for the root
    keras_obj: Any | None  # None when the translation has nothing at that path

    @property
    def label(self) -> str:
        return self.torch_path or "<root>"


def keras_child(torch_parent: Any, keras_parent: Any, name: str, index: int) -> tuple[Any | None, str]:
    """The Keras object standing for torch child ``name`` (the ``index``-th child), and the
    path suffix that reaches it (``.conv``, ``.layers[2]``, ``[0]``, ``['a']``)."""
    import keras
    import torch.nn as nn

    if keras_parent is None:
        return None, f".{name}"
    if isinstance(keras_parent, keras.Sequential):
        # the layout moves the translation inserts (passes/torch_to_tf/layout.py) have no torch child
        positions = [i for i, layer in enumerate(keras_parent.layers) if not isinstance(layer, keras.layers.Permute)]
        if index >= len(positions):
            return None, f".layers[{index}]"
        return keras_parent.layers[positions[index]], f".layers[{positions[index]}]"
    if isinstance(keras_parent, (list, tuple)):
        i = int(name) if name.isdigit() and not isinstance(torch_parent, nn.Sequential) else index
        return (keras_parent[i] if i < len(keras_parent) else None), f"[{i}]"
    if isinstance(keras_parent, Mapping):
        return keras_parent.get(name), f"[{name!r}]"
    candidates = (f"{name}_", name) if name in RESERVED else (name, f"{name}_")
    for cand in candidates:
        value = _own_attribute(keras_parent, cand)
        if value is not None:
            return value, f".{cand}"
    return None, f".{name}"


def _own_attribute(obj: Any, name: str) -> Any | None:
    """A layer, container or variable stored on ``obj`` (not a method, not a Keras property
    such as Model.layers)."""
    import keras

    if name in RESERVED and name in _class_attributes(type(obj)):
        return None
    try:
        value = getattr(obj, name)
    except Exception:  # noqa: BLE001 - properties of unbuilt layers may raise
        return None
    if isinstance(value, (keras.layers.Layer, keras.Variable, list, tuple, Mapping)):
        return value
    return None


def _class_attributes(cls: type) -> set[str]:
    return {k for klass in cls.__mro__ for k in vars(klass)}


def walk(torch_module: Any, keras_obj: Any) -> Iterator[Node]:
    """Every torch module (pre-order, registration order) with its Keras counterpart."""
    stack = [Node("", torch_module, "", keras_obj)]
    while stack:
        node = stack.pop()
        yield node
        children = []
        for index, (name, child) in enumerate(node.module.named_children()):
            kobj, suffix = keras_child(node.module, node.keras_obj, name, index)
            tpath = f"{node.torch_path}.{name}" if node.torch_path else name
            kpath = f"{node.keras_path}{suffix}" if node.keras_path else suffix.lstrip(".")
            children.append(Node(tpath, child, kpath, kobj))
        stack.extend(reversed(children))


def join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name
