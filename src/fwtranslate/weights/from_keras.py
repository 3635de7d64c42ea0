"""Weight transfer when the ORIGINAL is Keras and the translation is PyTorch (``--to torch``).

The Keras tree drives the walk (the mirror of tree.py / transfer.py, where torch drives it):

- a subclassed layer or model keeps its attribute names: the torch counterpart of
  ``keras_model.block.conv`` is ``torch_model.block.conv``; a Python list of layers is an
  ``nn.ModuleList`` (or ``nn.Sequential``), a dict an ``nn.ModuleDict``;
- ``keras.Sequential([...])`` is ``nn.Sequential(...)`` in the same order (the Input dropped):
  Keras ``layers[i]`` is torch child ``i``, not counting the ToChannelsFirst / ToChannelsLast
  modules the layout pass inserted;
- a functional model's layers (no attribute names) are matched by name (a torch attribute
  called like the Keras layer's ``name``), else by order: the k-th Keras layer that owns
  weights with the k-th child subtree of the torch model that owns parameters, both sides in
  one canonical order of their graphs. The torch side is the tracer's FunctionalModel (flat),
  or a tree of plain modules (the builder lifted: ``blocks.0.1``, ``double_conv_2.conv2d_1``),
  whose modules standing for one Keras layer are found wherever they sit and ordered by a
  torch.fx trace of ``forward`` (see ``_lifted_children``);
- a Keras layer with a weight converter (the ``weights:`` of its rule ``keras.layers.<Class>``
  in rules/tf_to_torch, else FALLBACK_CONVERTERS) is handed to the converter together with the
  single module owning parameters inside the torch subtree at its path (``ChannelsLast(conv)``,
  ``nn.Sequential(nn.LazyLinear(4), nn.ReLU())``, ``nn.Sequential(KerasSamePad2d(..),
  nn.LazyConv2d(..))``: see ``only_weighted_module``);
- a variable a custom layer made with ``add_weight`` and stored as ``self.w`` is the
  ``nn.Parameter`` (or buffer) ``w`` of its torch counterpart, same layout.

Every Keras variable (seed-generator states excepted) and every torch tensor must be accounted
for: anything that has nowhere to go is a TransferError naming both paths.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..directions import TF_TO_TORCH
from . import registry
from .transfer import Step, TransferError, TransferPlan

# Used when no tf_to_torch rule names a converter for the Keras class (yet).
FALLBACK_CONVERTERS = {
    "Dense": "dense",
    "Conv1D": "conv",
    "Conv2D": "conv",
    "Conv3D": "conv",
    "Conv1DTranspose": "conv",
    "Conv2DTranspose": "conv",
    "Conv3DTranspose": "conv",
    "BatchNormalization": "batchnorm",
    "LayerNormalization": "affine_norm",
    "GroupNormalization": "affine_norm",
    "Embedding": "embedding",
    "LSTM": "lstm",
    "GRU": "gru",
    "SimpleRNN": "rnn",
    "Bidirectional": "keras_recurrent",
    "MultiHeadAttention": "multihead_attention",
    "DepthwiseConv2D": "depthwise_conv",
    "DepthwiseConv1D": "depthwise_conv",
    "RMSNormalization": "rms_norm",
}
# Modules the layout pass inserts into a translated keras.Sequential: no Keras layer stands for them.
_LAYOUT_MOVES = ("ToChannelsFirst", "ToChannelsLast")
# Keras variables that hold no model state (random seeds of dropout-like layers).
_IGNORED_VARIABLES = ("seed_generator_state",)


class MissingConverter(TransferError):
    """A Keras layer owning weights whose class no converter handles yet (a limitation of the
    tool, not of the translation)."""


@dataclass
class KNode:
    keras_path: str  # "block.conv", "layers[2]"; "" for the root
    layer: Any  # the Keras layer
    torch_path: str  # "block.conv", "2"; "" for the root
    module: Any | None  # the torch counterpart, None when the translation has nothing there
    how: str = "attribute"  # attribute | index | name | order

    @property
    def label(self) -> str:
        return self.keras_path or "<root>"


# --- converter lookup -------------------------------------------------------------------------
def converter_for_keras(layer: Any) -> str | None:
    """The ``weights:`` name of the tf_to_torch rule for the layer's class (or a Keras base
    class of it), else the fallback table's. ``Bidirectional`` takes its inner layer's."""
    import keras

    if isinstance(layer, keras.layers.Bidirectional):
        return converter_for_keras(layer.forward_layer)
    ruleset = _ruleset()
    for klass in type(layer).__mro__:
        if klass in (keras.layers.Layer, keras.Model, object):
            break
        if not _is_keras_module(klass.__module__):
            continue  # a user subclass: only Keras' own classes have rules
        for name in (f"keras.layers.{klass.__name__}", f"keras.{klass.__name__}"):
            rule = ruleset.calls.get(name) if ruleset is not None else None
            if rule is not None and rule.weights:
                return rule.weights
        if klass.__name__ in FALLBACK_CONVERTERS:
            return FALLBACK_CONVERTERS[klass.__name__]
    return None


def _ruleset():
    try:
        from ..rules import load_rules

        return load_rules(TF_TO_TORCH)
    except Exception:  # noqa: BLE001 - rules being written: the fallback table still works
        return None


def rule_name_for(layer: Any) -> str:
    return f"keras.layers.{type(layer).__name__}"


def only_weighted_module(module: Any) -> Any:
    """The single torch module that owns parameters inside a translated subtree (mirror of
    registry.only_weighted_layer): ``ChannelsLast(m)`` -> m, ``nn.Sequential(nn.LazyLinear,
    nn.ReLU())`` -> the LazyLinear, a support module holding one weighted module -> that one.
    A module with direct parameters or buffers is the answer itself."""
    if any(p is not None for p in module._parameters.values()) or any(b is not None for b in module._buffers.values()):
        return module
    weighted = [child for child in module.children() if _has_tensors(child)]
    if len(weighted) != 1:
        raise ValueError(
            f"expected one module owning parameters inside {type(module).__name__}, "
            f"found {len(weighted)} ({', '.join(type(w).__name__ for w in weighted)})"
        )
    return only_weighted_module(weighted[0])


def _constant_buffers(module: Any) -> list[str]:
    """Non-persistent buffers (KerasRescaling's scale, KerasNormalization's given mean): constants
    of the model's code, as in Keras, where they are no variables either."""
    return [
        f"{name}.{b}" if name else b
        for name, sub in module.named_modules(remove_duplicate=False)
        for b in sub._non_persistent_buffers_set
        if sub._buffers.get(b) is not None
    ]


def _has_tensors(module: Any) -> bool:
    """Parameters or persistent buffers: a constant buffer (KerasRescaling's scale, not saved
    in a state dict) is not a weight to transfer."""
    return any(True for _ in module.parameters()) or bool(module.state_dict(keep_vars=True))


# --- the walk ---------------------------------------------------------------------------------
def keras_children(layer: Any) -> list[tuple[str, Any]]:
    """(path suffix, child) of a Keras layer: sub-layers, lists/dicts of them and variables,
    in attribute order (``.conv``, ``.blocks[0]``, ``.heads['a']``, ``.layers[2]``)."""
    import keras

    if isinstance(layer, keras.Sequential):
        return [(f".layers[{i}]", sub) for i, sub in enumerate(layer.layers)]
    if is_functional(layer):
        return [
            (f".layers[{i}]", sub) for i, sub in enumerate(layer.layers) if not isinstance(sub, keras.layers.InputLayer)
        ]
    out = []
    for name, value in vars(layer).items():
        if name.startswith("_"):
            continue
        if isinstance(value, (keras.layers.Layer, keras.Variable)):
            out.append((f".{name}", value))
        elif (
            isinstance(value, (list, tuple))
            and value
            and all(isinstance(v, (keras.layers.Layer, keras.Variable)) for v in value)
        ):
            out += [(f".{name}[{i}]", v) for i, v in enumerate(value)]
        elif (
            isinstance(value, Mapping)
            and value
            and all(isinstance(v, (keras.layers.Layer, keras.Variable)) for v in value.values())
        ):
            out += [(f".{name}[{k!r}]", v) for k, v in value.items()]
    return out


def is_functional(layer: Any) -> bool:
    from keras.src.models.functional import Functional

    return isinstance(layer, Functional) and _is_keras_module(type(layer).__module__)


def torch_child(module: Any, suffix: str) -> tuple[Any | None, str]:
    """The torch object standing for the Keras child reached by ``suffix`` (attribute, then
    index or key), and its torch path suffix ("conv", "blocks.0", "heads.a", "2")."""
    import re

    import torch.nn as nn

    if module is None:
        return None, suffix.lstrip(".")
    m = re.fullmatch(r"\.layers\[(\d+)\]", suffix)
    if m and isinstance(module, nn.Sequential):
        # Keras layers[i] is the i-th torch child that is not a layout move the translation
        # inserted into the list (ToChannelsFirst / ToChannelsLast, support_core.py)
        i = int(m.group(1))
        kept = [j for j, child in enumerate(module) if type(child).__name__ not in _LAYOUT_MOVES]
        return (module[kept[i]], str(kept[i])) if i < len(kept) else (None, str(i))
    m = re.fullmatch(r"\.(\w+)(?:\[(.+)\])?", suffix)
    if not m:
        return None, suffix
    name, key = m.group(1), m.group(2)
    obj = _torch_attr(module, name)
    if key is None:
        return obj, name
    key = key.strip("'\"")
    if obj is None:
        return None, f"{name}.{key}"
    if isinstance(obj, (nn.ModuleList, nn.Sequential, nn.ParameterList)) and key.isdigit():
        i = int(key)
        return (obj[i] if i < len(obj) else None), f"{name}.{i}"
    if isinstance(obj, (nn.ModuleDict, nn.ParameterDict)):
        return (obj[key] if key in obj else None), f"{name}.{key}"  # noqa: SIM401 - nn.ModuleDict has no get()
    return None, f"{name}.{key}"


def _torch_attr(module: Any, name: str) -> Any | None:
    for cand in (name, f"{name}_"):
        for table in (module._modules, module._parameters, module._buffers):
            if cand in table and table[cand] is not None:
                return table[cand]
    return None


def walk_keras(keras_obj: Any, torch_module: Any) -> Iterator[KNode]:
    """Every Keras layer and variable (pre-order) with its torch counterpart."""
    import keras

    stack = [KNode("", keras_obj, "", torch_module)]
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node.layer, keras.layers.Layer):
            continue  # a variable
        if converter_for_keras(node.layer) or (_is_builtin(node.layer) and not _is_container(node.layer)):
            children = []  # a converter handles the subtree whole (a Keras layer without one: an error)
        elif is_functional(node.layer) and node.module is not None:
            children = _functional_children(node)
        else:
            children = []
            for suffix, child in keras_children(node.layer):
                tobj, tsuffix = torch_child(node.module, suffix)
                kpath = f"{node.keras_path}{suffix}" if node.keras_path else suffix.lstrip(".")
                tpath = f"{node.torch_path}.{tsuffix}" if node.torch_path else tsuffix
                children.append(
                    KNode(kpath, child, tpath, tobj, "index" if suffix.startswith(".layers[") else "attribute")
                )
        stack.extend(reversed(children))


def _functional_children(node: KNode) -> list[KNode]:
    """A functional model's layers have no attribute names. Its translation is either a module
    with one attribute per layer, or FunctionalModel (support_functional.py), whose ``layers``
    ModuleList holds the modules in call order. A torch attribute named like the Keras layer
    (a name the user gave) is its counterpart; the other layers are matched in order: all of
    them when both sides have as many layers and agree on which own weights, else the k-th
    weighted Keras layer with the k-th weighted torch module."""
    import keras
    import torch.nn as nn

    if not _is_traced_functional(node.module):
        return _lifted_children(node)
    layers = [(i, sub) for i, sub in enumerate(node.layer.layers) if not isinstance(sub, keras.layers.InputLayer)]
    listed = node.module._modules.get("layers")
    if isinstance(listed, nn.ModuleList) and not any(
        _has_tensors(c) for n, c in node.module.named_children() if n != "layers"
    ):
        candidates = [(f"layers.{j}", c) for j, c in enumerate(listed)]
    else:
        candidates = list(node.module.named_children())
    named = dict(candidates)
    taken: set[str] = set()
    out: list[KNode] = []
    unnamed = []
    for i, sub in layers:
        kpath = f"{node.keras_path}.layers[{i}]" if node.keras_path else f"layers[{i}]"
        if sub.name in named and sub.name not in taken and not _automatic_name(sub):
            taken.add(sub.name)
            out.append(KNode(kpath, sub, _join(node.torch_path, sub.name), named[sub.name], "name"))
        else:
            unnamed.append((kpath, sub))
    rest = [(n, c) for n, c in candidates if n not in taken]
    keras_rank, torch_rank = _keras_graph_order(node.layer), _torch_graph_order(node.module)
    if keras_rank and torch_rank:
        # both sides in one canonical order of their graphs (Keras' model.layers is sorted by
        # depth, FunctionalModel's modules by call order: the two differ on branches)
        unnamed.sort(key=lambda item: keras_rank.get(id(item[1]), len(keras_rank)))
        rest.sort(key=lambda item: torch_rank.get(item[0], len(torch_rank)))
    if len(rest) == len(unnamed) and all(
        bool(_keras_variables(s)) == _has_tensors(c) for (_, s), (_, c) in zip(unnamed, rest)
    ):
        pairs = list(zip(unnamed, rest))
        left = []
    else:
        weighted_keras = [(p, s) for p, s in unnamed if _keras_variables(s)]
        weighted_torch = [(n, c) for n, c in rest if _has_tensors(c)]
        pairs = list(zip(weighted_keras, weighted_torch))
        left = weighted_keras[len(weighted_torch) :]
    for (kpath, sub), (name, child) in pairs:
        out.append(KNode(kpath, sub, _join(node.torch_path, name), child, "order"))
    for kpath, sub in left:
        out.append(KNode(kpath, sub, "", None, "order"))
    return out


def _is_traced_functional(module: Any) -> bool:
    """FunctionalModel (support_functional.py: a trace replayed by ``steps``), or a module whose
    layers sit in one flat ``layers`` ModuleList: the forms ``_functional_children`` matches flat."""
    import torch.nn as nn

    if isinstance(getattr(module, "steps", None), list) and hasattr(module, "output_refs"):
        return True
    listed = module._modules.get("layers")
    return isinstance(listed, nn.ModuleList) and not any(
        _has_tensors(c) for n, c in module.named_children() if n != "layers"
    )


def _lifted_children(node: KNode) -> list[KNode]:
    """A functional model translated to a tree of plain modules (the builder lifted to nn.Module
    classes: loops become nn.Sequential / nn.ModuleList of blocks, helpers become submodule
    classes, so the layers Keras lists flat sit at ``blocks.0.1`` or ``double_conv_2.conv2d_1``).

    A torch module whose last attribute name is a name the user gave a Keras layer (and that no
    other module of the tree carries) is its counterpart, a whole subtree if need be (a nested
    ``keras.Sequential(..., name="head")``). The other Keras layers are paired with the torch
    *units*, the smallest subtrees that stand for one Keras layer (see ``_unit_predicate``), both
    sides in the canonical order of their graphs: Keras' from its nodes, torch's from
    ``torch.fx`` (the modules ``forward`` calls and how their arguments flow), which does not
    depend on the order the code computes the branches in. When fx cannot trace ``forward``, the
    units keep their registration order (the order the builder created the layers) and the Keras
    layers theirs. All layers are paired when both sides count as many and agree on which own
    weights (the verifier then compares unweighted layers' outputs too), else the k-th weighted
    Keras layer with the k-th weighted unit."""
    import keras

    layers = [
        (_join(node.keras_path, f"layers[{i}]"), sub)
        for i, sub in enumerate(node.layer.layers)
        if not isinstance(sub, keras.layers.InputLayer)
    ]
    root: Any = node.module  # never None here (walk_keras checks)
    modules: dict[str, Any] = dict(root.named_modules())
    carrying: dict[str, list[str]] = {}
    for path in modules:
        if path:
            carrying.setdefault(path.rsplit(".", 1)[-1], []).append(path)
    out: list[KNode] = []
    taken: set[str] = set()
    unnamed = []
    for kpath, sub in layers:
        hits = carrying.get(sub.name, [])
        if (
            len(hits) == 1
            and not _automatic_name(sub)
            and not any(_nested(hits[0], t) or _nested(t, hits[0]) for t in taken)
        ):
            taken.add(hits[0])
            out.append(KNode(kpath, sub, _join(node.torch_path, hits[0]), modules[hits[0]], "name"))
        else:
            unnamed.append((kpath, sub))
    is_unit = _unit_predicate({type(sub).__name__ for _, sub in layers if not _is_builtin(sub)}, taken)
    units, traced = _torch_units(root, is_unit)
    units = [(p, m) for p, m in units if p not in taken and type(m).__name__ not in _LAYOUT_MOVES]
    keras_rank = _keras_graph_order(node.layer) if traced else {}
    if keras_rank:
        unnamed.sort(key=lambda item: keras_rank.get(id(item[1]), len(keras_rank)))
    if len(units) == len(unnamed) and all(
        bool(_keras_variables(s)) == _has_tensors(m) for (_, s), (_, m) in zip(unnamed, units)
    ):
        pairs = list(zip(unnamed, units))
        left = []
    else:
        weighted_keras = [(p, s) for p, s in unnamed if _keras_variables(s)]
        weighted_torch = [(p, m) for p, m in units if _has_tensors(m)]
        pairs = list(zip(weighted_keras, weighted_torch))
        left = weighted_keras[len(weighted_torch) :]
    for (kpath, sub), (path, module) in pairs:
        out.append(KNode(kpath, sub, _join(node.torch_path, path), module, "order"))
    for kpath, sub in left:
        out.append(KNode(kpath, sub, "", None, "order"))
    return out


def _nested(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + ".")


# tensor-free modules a rule puts beside the one weighted module of a Keras layer's translation
# (``nn.Sequential(KerasSamePad2d(..), nn.LazyConv2d(..))``, ``nn.Sequential(nn.LazyLinear(4),
# KerasActivation("gelu"))``): activations are recognised by torch's own module
_PARTS_OF_A_LAYER = (
    "KerasActivation",
    "KerasSamePad1d",
    "KerasSamePad2d",
    "KerasSamePad3d",
    "KerasCausalPad1d",
    *_LAYOUT_MOVES,
)


def _unit_predicate(custom_classes: set[str], forced: set[str]):
    """``is_unit(module, path)``: does the torch module stand for one Keras layer (a unit, not
    to be looked into)? A module owning tensors itself (``nn.LazyConv2d``,
    KerasBatchNormalization); a support class (``ChannelsLast(conv)``, KerasBidirectional: the
    rule of one Keras layer made it); the translation of a Keras layer class the user wrote
    (same class name); torch's own layers (fx's default); an ``nn.Sequential`` of torch's own
    layers and support modules only (what a rule makes of one Keras layer: ``Dense(4,
    activation="relu")``, SeparableConv2D's depthwise and pointwise convolutions), or holding one
    weighted module beside activations and padding; any other module without tensors. Not
    units: containers and classes the translation generated (a loop's ``nn.ModuleList``, a
    helper's ``DoubleConv``), which hold several layers."""
    import torch.nn as nn

    ruleset = _ruleset()
    support = set(ruleset.support.files) if ruleset is not None else set()
    containers = (nn.Sequential, nn.ModuleList, nn.ModuleDict)

    def part_of_a_layer(module: Any) -> bool:
        return not _has_tensors(module) and (
            type(module).__name__ in _PARTS_OF_A_LAYER or type(module).__module__ == "torch.nn.modules.activation"
        )

    def is_unit(module: Any, path: str) -> bool:
        name = type(module).__name__
        if path in forced or name in custom_classes or name in support:
            return True
        if any(p is not None for p in module._parameters.values()) or any(
            b is not None for b in module._buffers.values()
        ):
            return True
        if not isinstance(module, containers):
            return type(module).__module__.startswith("torch.nn.") or not _has_tensors(module)
        children = list(module.children())
        if (
            isinstance(module, nn.Sequential)
            and children
            and all(
                not isinstance(c, containers)
                and (type(c).__module__.startswith("torch.nn.") or type(c).__name__ in support)
                for c in children
            )
        ):
            return True  # one rule's output for one Keras layer
        weighted = [c for c in children if _has_tensors(c)]
        return (
            isinstance(module, nn.Sequential)
            and len(weighted) == 1
            and not isinstance(weighted[0], containers)  # the smallest: a loop of one block is no unit
            and is_unit(weighted[0], "")
            and all(c is weighted[0] or part_of_a_layer(c) for c in children)
        )

    return is_unit


def _torch_units(module: Any, is_unit) -> tuple[list[tuple[str, Any]], bool]:
    """The units (``_unit_predicate``) of a torch tree, (path, module): in the canonical graph
    order of ``forward`` when torch.fx traces it (units it never calls last, in registration
    order), and True; else in registration order, and False."""
    units: list[tuple[str, Any]] = []
    seen: set[int] = set()

    def collect(prefix: str, parent: Any) -> None:
        for name, child in parent.named_children():
            if child is None or id(child) in seen:
                continue
            seen.add(id(child))
            path = _join(prefix, name)
            if is_unit(child, path):
                units.append((path, child))
            else:
                collect(path, child)

    collect("", module)
    rank = _fx_graph_order(module, is_unit)
    if rank is None:
        return units, False
    units.sort(key=lambda item: rank.get(item[0], len(rank)))  # stable: the uncalled keep their order
    return units, True


def _fx_graph_order(module: Any, is_unit) -> dict | None:
    """{module path: rank} of the units ``forward`` calls, in the canonical graph order (from
    torch.fx's symbolic trace, units as its leaf modules); None when fx cannot trace it."""
    try:
        import torch.fx as fx

        class UnitTracer(fx.Tracer):
            def is_leaf_module(self, m: Any, module_qualified_name: str) -> bool:
                return is_unit(m, module_qualified_name)

        graph = UnitTracer().trace(module)
        outputs = [n for n in graph.nodes if n.op == "output"]
        return _graph_order(
            outputs,
            lambda n: list(n.all_input_nodes),
            lambda n: n.target if n.op == "call_module" else None,
        )
    except Exception:  # noqa: BLE001 - data-dependent control flow, untraceable code: registration order
        return None


def _graph_order(outputs, parents, emit) -> dict:
    """Post-order of a graph walked from ``outputs`` (each node's inputs in argument order):
    ``emit(node)`` gives the key to rank (or None); returns {key: rank}, first visit wins."""
    order: dict = {}
    done: set = set()
    for out in outputs:
        stack = [(out, False)]
        while stack:
            item, expanded = stack.pop()
            if item in done and not expanded:
                continue
            if expanded:
                key = emit(item)
                if key is not None and key not in order:
                    order[key] = len(order)
                continue
            done.add(item)
            stack.append((item, True))
            stack.extend((p, False) for p in reversed(parents(item)) if p not in done)
    return order


def _keras_graph_order(model: Any) -> dict:
    """{id(layer): rank} of a functional Keras model's layers in the canonical graph order."""
    try:
        from keras import tree

        nodes: dict = {}

        def node_of(tensor):
            op, index, _ = tensor._keras_history
            if op is None:
                return None
            node = op._inbound_nodes[index]
            nodes[id(node)] = node
            return id(node)

        outputs = [n for n in (node_of(t) for t in tree.flatten(model.outputs)) if n is not None]

        def parents(key):
            node = nodes[key]
            if node.is_input:
                return []
            return [n for n in (node_of(t) for t in node.input_tensors) if n is not None]

        return _graph_order(outputs, parents, lambda key: id(nodes[key].operation))
    except Exception:  # noqa: BLE001 - not a graph this walk understands: keep Keras' order
        return {}


def _torch_graph_order(module: Any) -> dict:
    """{attribute name: rank} of a FunctionalModel's (support_functional.py) modules in the same
    canonical order (its steps' arguments refer to earlier nodes by ``_Ref``)."""
    steps = getattr(module, "steps", None)
    if not isinstance(steps, list) or not hasattr(module, "output_refs"):
        return {}
    try:
        table = {index: (kind, fn, args, kwargs) for index, kind, fn, args, kwargs in steps}

        def refs(value):
            if isinstance(value, (list, tuple)):
                return [r for v in value for r in refs(v)]
            if isinstance(value, dict):
                return [r for v in value.values() for r in refs(v)]
            return [value.node] if type(value).__name__ == "_Ref" else []

        outputs = refs(module.output_refs)

        def parents(index):
            return [r for r in refs(table[index][2:]) if r in table] if index in table else []

        def emit(index):
            if index in table and table[index][0] == "module":
                return table[index][1]
            return None

        return _graph_order(outputs, parents, emit)
    except Exception:  # noqa: BLE001
        return {}


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _automatic_name(layer: Any) -> bool:
    """A name Keras made up (``dense``, ``conv2d_3``): it depends on what was built before in the
    process, so it says nothing about the layer; only names a user gave are matched."""
    import re

    from keras.src.utils.naming import to_snake_case

    return re.fullmatch(re.escape(to_snake_case(type(layer).__name__)) + r"(_\d+)?", layer.name) is not None


def _keras_variables(layer: Any) -> list:
    return [v for v in layer.variables if not _ignored(v)]


def _ignored(var: Any) -> bool:
    import keras

    return any(var.name == n or var.path.endswith(n) for n in _IGNORED_VARIABLES) or not keras.backend.is_float_dtype(
        var.dtype
    )


# --- the plan ---------------------------------------------------------------------------------
def plan_from_keras(keras_obj: Any, torch_module: Any) -> TransferPlan:
    """What moves where (Keras original -> torch translation); raises TransferError for a Keras
    variable or a torch tensor that has nowhere to go."""
    import keras

    from .transfer import check_materialised, named_tensors

    check_materialised(torch_module)
    result = TransferPlan()
    keras_done: set[int] = set()
    missing_converter: list[str] = []
    for node in walk_keras(keras_obj, torch_module):
        if isinstance(node.layer, keras.Variable):
            if _ignored(node.layer) or id(node.layer) in keras_done:
                continue
            result.steps.append(_variable_step(node))
            keras_done.add(id(node.layer))
            continue
        variables = [v for v in _keras_variables(node.layer) if id(v) not in keras_done]
        if not variables:
            continue
        name = converter_for_keras(node.layer)
        if name is None:
            if _is_builtin(node.layer) and not _is_container(node.layer):
                missing_converter.append(f"'{node.label}' ({rule_name_for(node.layer)})")
                keras_done |= {id(v) for v in node.layer.variables}
            continue  # its children and variables come next in the walk
        if node.module is None:
            raise TransferError(
                f"Keras layer '{node.label}' ({type(node.layer).__name__}) owns "
                f"{', '.join(v.path for v in variables[:4])} but the translation has nothing "
                f"at '{node.torch_path or '<root>'}' ({_how(node)})",
                node.torch_path,
                node.keras_path,
            )
        tensors = named_tensors(node.module, node.torch_path)
        if name not in registry.CONVERTERS:  # importing registry registered the built-in ones
            missing_converter.append(
                f"'{node.label}' ({rule_name_for(node.layer)}: its rule names the converter "
                f"{name!r}, which is not registered yet)"
            )
            keras_done |= {id(v) for v in node.layer.variables}
            continue
        result.steps.append(_converter_step(node, registry.get(name), tensors))
        keras_done |= {id(v) for v in node.layer.variables}
    if missing_converter:
        raise MissingConverter(
            "no weight converter for "
            + ", ".join(missing_converter)
            + f": their {TF_TO_TORCH.name} rules have no `weights:` converter (and no fallback "
            f"exists)",
            "",
            "",
        )
    left = [v.path for v in keras_obj.variables if id(v) not in keras_done and not _ignored(v)]
    if left:
        raise TransferError(f"{len(left)} Keras variable(s) not transferred: {', '.join(left[:6])}", "", "")
    moved = {n for s in result.steps for n in s.tensors}
    every = named_tensors(torch_module, "")
    constants = set(_constant_buffers(torch_module))
    untouched = [n for n in every if n not in moved and n not in constants]
    if untouched:
        raise TransferError(
            f"{len(untouched)} torch tensor(s) of the translation have no Keras counterpart: "
            f"{', '.join(untouched[:6])}",
            untouched[0],
            "",
        )
    return result


def _how(node: KNode) -> str:
    return {
        "attribute": "same attribute name",
        "index": "same position in the Sequential",
        "name": "torch attribute named like the Keras layer",
        "order": "k-th weighted layer",
    }[node.how]


def _is_keras_module(name: str) -> bool:
    """Keras' own code (``keras.src.layers...``), not a library built on it (``keras_hub``)."""
    return name == "keras" or name.startswith("keras.")


def _is_builtin(layer: Any) -> bool:
    return _is_keras_module(type(layer).__module__)


def _is_container(layer: Any) -> bool:
    """Keras' own classes that only hold other layers (their weights are their layers')."""
    import keras

    return (
        isinstance(layer, keras.Sequential) or is_functional(layer) or type(layer) in (keras.layers.Layer, keras.Model)
    )


def _converter_step(node: KNode, conv: registry.Converter, tensors: list[str]) -> Step:
    layer, subtree = node.layer, node.module

    def target():
        # the single weighted module inside the translated subtree; a translation made of several
        # weighted parts (a support module: KerasBidirectional...) goes to the converter whole
        try:
            return only_weighted_module(subtree)
        except ValueError:
            return subtree

    def to_torch():
        conv.keras_to_torch(layer, target())

    def to_keras():
        conv.torch_to_keras(target(), layer)

    return Step(node.torch_path, node.keras_path, conv.name, tensors, to_keras, to_torch)


def _variable_step(node: KNode) -> Step:
    import torch

    var, tensor = node.layer, node.module
    if not isinstance(tensor, torch.Tensor):
        raise TransferError(
            f"Keras variable '{node.label}' ({var.path}) has no torch counterpart: expected an "
            f"nn.Parameter or buffer at '{node.torch_path}'",
            node.torch_path,
            node.keras_path,
        )

    def to_torch():
        value = np.asarray(var.numpy())
        if tuple(tensor.shape) != value.shape:
            raise ValueError(f"torch shape {tuple(tensor.shape)} != Keras shape {value.shape}")
        with torch.no_grad():
            tensor.copy_(torch.as_tensor(np.ascontiguousarray(value), dtype=tensor.dtype))

    def to_keras():
        value = tensor.detach().cpu().numpy()
        if tuple(var.shape) != value.shape:
            raise ValueError(f"Keras shape {tuple(var.shape)} != torch shape {value.shape}")
        var.assign(value.astype(var.dtype if isinstance(var.dtype, str) else var.dtype.name, copy=False))

    return Step(node.torch_path, node.keras_path, "variable", [node.torch_path], to_keras, to_torch)


def _run_all(p: TransferPlan, attr: str) -> TransferPlan:
    from .transfer import run_step

    for step in p.steps:
        run_step(step, getattr(step, attr))
    return p


def keras_to_torch_model(keras_obj: Any, torch_module: Any) -> TransferPlan:
    """Copy the weights of the Keras original into its torch translation (materialised)."""
    return _run_all(plan_from_keras(keras_obj, torch_module), "to_torch")


def torch_to_keras_model(torch_module: Any, keras_obj: Any) -> TransferPlan:
    """Copy a torch translation's weights back into the Keras original (checkpoint conversion)."""
    return _run_all(plan_from_keras(keras_obj, torch_module), "to_keras")


def layer_pairs(keras_obj: Any, torch_module: Any) -> list[KNode]:
    """Keras layers with a torch counterpart (for recording calls on both sides)."""
    import keras

    return [
        n
        for n in walk_keras(keras_obj, torch_module)
        if isinstance(n.layer, keras.layers.Layer)
        and n.module is not None
        and not isinstance(n.module, torch_tensor_type())
    ]


def torch_tensor_type():
    import torch

    return torch.Tensor
