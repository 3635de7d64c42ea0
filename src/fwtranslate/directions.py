"""What distinguishes one translation direction from the other, in one place.

The registry of directions: ``direction_for(to="tf")`` (by target) and ``Direction.by_name(
"torch_to_tf")`` (by name, the rules folder) are the only lookups; the rest of the package asks a
``Direction`` rather than comparing names.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:  # the passes import this module: only the type checker may import them here
    from .passes.common.base import Pass


@dataclass(frozen=True)
class Direction:
    name: str  # the rules folder: rules/<name>/
    source: str  # "torch" | "tf"
    target: str
    opposite_name: str  # the direction translating back (``opposite``)
    passes_attr: str  # fwtranslate.passes.<passes_attr>: its structural passes (``passes``)
    source_roots: tuple[str, ...]  # top-level packages whose names are framework code
    model_bases: frozenset[str]  # classes whose subclasses are models/layers
    layer_base: str  # the target base class for a nested model class
    model_base: str  # the target base class for a top-level model class
    entry_method: tuple[str, str]  # (source, target) name of the compute method
    # attributes the target base class reserves: a top-level class assigning one stays a layer
    reserved_model_attributes: frozenset[str] = frozenset()
    # import statements every translation gets (unused ones are not pruned: they are the target's)
    target_imports: tuple[str, ...] = ()
    # spellings of one API that rules name once: (prefix, canonical prefix), first match wins
    canonical_prefixes: tuple[tuple[str, str], ...] = ()
    # names a rule template may start with -> the import that binds it in the output
    template_imports: tuple[tuple[str, str], ...] = ()
    # the ``keras.layers.Activation`` rule doubles as the ``activation_of(a)`` template macro
    # (rules/loader.py registers it once the direction's rules are loaded)
    activation_macro: bool = False
    chooses_layout: bool = False  # --layout applies (PyTorch -> Keras: LAYOUTS)

    _by_name: ClassVar[dict[str, Direction]] = {}

    @classmethod
    def by_name(cls, name: str) -> Direction:
        """The direction called ``name`` ("torch_to_tf"); ValueError names the known ones."""
        try:
            return cls._by_name[name]
        except KeyError:
            raise ValueError(f"unknown direction {name!r} (known: {', '.join(cls._by_name)})") from None

    @property
    def rules_folder(self) -> str:
        """The folder of its shipped rules and support code, under rules/."""
        return self.name

    @property
    def opposite(self) -> Direction:
        return Direction.by_name(self.opposite_name)

    @property
    def passes(self) -> tuple[type[Pass], ...]:
        """Its structural passes, in order. Resolved on use: the passes import this module (a
        pass reads ``ctx.direction``), so this module names them instead of importing them."""
        return getattr(importlib.import_module(".passes", __package__), self.passes_attr)

    def canonical(self, qualified: str) -> str:
        # to a fixed point: keras.src.ops.numpy.add -> keras.ops.numpy.add -> keras.ops.add
        for _ in range(len(self.canonical_prefixes)):
            for prefix, canonical in self.canonical_prefixes:
                if qualified == prefix or qualified.startswith(prefix + "."):
                    qualified = canonical + qualified[len(prefix) :]
                    break
            else:
                return qualified
        return qualified


TORCH_TO_TF = Direction(
    name="torch_to_tf",
    source="torch",
    target="tf",
    opposite_name="tf_to_torch",
    passes_attr="PASSES",
    chooses_layout=True,
    # packages built on PyTorch count as PyTorch: a name of theirs left in the output is reported
    source_roots=(
        "torch",
        "torchvision",
        "torchaudio",
        "torchtext",
        "einops",
        "timm",
        "torchmetrics",
        "lightning",
        "pytorch_lightning",
        "segmentation_models_pytorch",
        "torch_geometric",
    ),
    model_bases=frozenset({"torch.nn.Module", "torch.nn.Sequential", "torch.nn.ModuleList", "torch.nn.ModuleDict"}),
    layer_base="keras.layers.Layer",
    model_base="keras.Model",
    entry_method=("forward", "call"),
    reserved_model_attributes=frozenset(
        {"layers", "metrics", "optimizer", "loss", "history", "stop_training", "compiled_loss", "compiled_metrics"}
    ),
    target_imports=("import keras",),
)

TF_TO_TORCH = Direction(
    name="tf_to_torch",
    source="tf",
    target="torch",
    opposite_name="torch_to_tf",
    passes_attr="TF_TO_TORCH_PASSES",
    activation_macro=True,
    # packages built on Keras / TensorFlow count as such: a name of theirs left in the output
    # (a keras-hub Backbone base class) is reported, never passed through silently
    source_roots=(
        "keras",
        "tensorflow",
        "tf_keras",
        "einops",
        "keras_hub",
        "keras_nlp",
        "keras_cv",
        "tensorflow_addons",
        "tensorflow_hub",
        "tensorflow_probability",
    ),
    model_bases=frozenset(
        {
            "keras.layers.Layer",
            "keras.Layer",
            "keras.layers.layer.Layer",
            "keras.engine.base_layer.Layer",
            "keras.Model",
            "keras.models.Model",
            "keras.Sequential",
            "keras.models.Sequential",
            "keras.models.Functional",
        }
    ),
    layer_base="nn.Module",
    model_base="nn.Module",
    entry_method=("call", "forward"),
    target_imports=("import torch", "from torch import nn"),
    # Keras 2 spellings (tf.keras, tensorflow.keras, tf_keras) and Keras' own internals
    # (keras.src.*, as in keras/applications) name the same Keras 3 APIs
    canonical_prefixes=(
        ("tensorflow.keras", "keras"),
        ("tf.keras", "keras"),
        ("tensorflow.python.keras", "keras"),
        ("tf_keras", "keras"),
        ("keras.src", "keras"),
        ("tensorflow", "tf"),
        ("tf.compat.v2", "tf"),  # TensorFlow 2's API under its compatibility name
        ("keras.api", "keras"),
        # keras.ops re-exports these submodules' functions under the same names (keras.ops.image's differ)
        ("keras.ops.numpy", "keras.ops"),
        ("keras.ops.nn", "keras.ops"),
        ("keras.ops.linalg", "keras.ops"),
        ("keras.ops.math", "keras.ops"),
        ("keras.ops.core", "keras.ops"),
    ),
    template_imports=(("F", "import torch.nn.functional as F"), ("math", "import math"), ("einops", "import einops")),
)

ALL = (TORCH_TO_TF, TF_TO_TORCH)
Direction._by_name.update((d.name, d) for d in ALL)
BY_NAME = Direction._by_name  # name -> Direction
TARGETS = tuple(d.target for d in ALL)  # what ``--to`` / ``to=`` accept: "tf", "torch"
# what ``--layout`` / ``layout=`` accept (PyTorch -> Keras; passes/torch_to_tf/layout.py): PyTorch's
# channels-first interface, Keras' channels-last one, or no layout plan (layer by layer)
LAYOUTS = ("torch", "keras", "channels-first")


def direction_for(to: str) -> Direction:
    """The direction translating to ``to`` ("tf" | "torch")."""
    for direction in ALL:
        if direction.target == to:
            return direction
    raise ValueError(f"unknown target {to!r} (supported: {', '.join(sorted(TARGETS))})")
