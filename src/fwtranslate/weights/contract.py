"""The contract of a weight converter (converters.py holds the built-in ones; registry.py looks
them up).

A converter moves the parameters (and buffers: BatchNorm running statistics...) of ONE torch
module into the Keras object that the translation put at the same attribute path, and back.
That Keras object is whatever the rule's template built: usually the layer itself, sometimes
a wrapper (``keras.Sequential([ZeroPadding2D, Conv2D])`` for explicit padding, or a support
layer); a converter looks inside with ``only_weighted_layer``.

The Keras object is built (a dry run has been made) before a converter runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Convert = Callable[[Any, Any], None]  # (source, destination) -> None


@dataclass(frozen=True)
class Converter:
    name: str
    torch_to_keras: Convert  # (torch module, keras layer)
    keras_to_torch: Convert  # (keras layer, torch module)


CONVERTERS: dict[str, Converter] = {}


def register(name: str):
    """Class decorator: ``@register("dense") class _: def torch_to_keras(m, l) ...; def keras_to_torch(l, m) ...``"""

    def wrap(cls):
        CONVERTERS[name] = Converter(name, cls.torch_to_keras, cls.keras_to_torch)
        return cls

    return wrap


def only_weighted_layer(layer: Any) -> Any:
    """The single sub-layer that owns weights inside a wrapper (e.g. padding + conv)."""
    import keras

    if not isinstance(layer, keras.Sequential):
        return layer
    weighted = [sub for sub in layer.layers if sub.weights]
    if len(weighted) != 1:
        raise ValueError(f"expected one weighted layer inside {layer.name}, found {len(weighted)}")
    return only_weighted_layer(weighted[0])
