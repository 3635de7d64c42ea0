"""What distinguishes one translation direction from the other, in one place."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Direction:
    name: str  # the rules folder: rules/<name>/
    source: str  # "torch" | "tf"
    target: str
    source_roots: tuple[str, ...]  # top-level packages whose names are framework code
    model_bases: frozenset[str]  # classes whose subclasses are models/layers
    layer_base: str  # the target base class for a nested model class
    model_base: str  # the target base class for a top-level model class
    entry_method: tuple[str, str]  # (source, target) name of the compute method
    # attributes the target base class reserves: a top-level class assigning one stays a layer
    reserved_model_attributes: frozenset[str] = frozenset()


TORCH_TO_TF = Direction(
    name="torch_to_tf",
    source="torch",
    target="tf",
    source_roots=("torch", "einops"),
    model_bases=frozenset({"torch.nn.Module", "torch.nn.Sequential", "torch.nn.ModuleList", "torch.nn.ModuleDict"}),
    layer_base="keras.layers.Layer",
    model_base="keras.Model",
    entry_method=("forward", "call"),
    reserved_model_attributes=frozenset({"layers", "metrics", "optimizer", "loss", "history",
                                         "stop_training", "compiled_loss", "compiled_metrics"}),
)

DIRECTIONS = {"tf": TORCH_TO_TF}


def direction_for(to: str) -> Direction:
    try:
        return DIRECTIONS[to]
    except KeyError:
        raise ValueError(f"unknown target {to!r} (supported: {', '.join(sorted(DIRECTIONS))})") from None
