"""Structural passes of the Keras / TensorFlow -> PyTorch direction (docs/tf_to_torch.md)."""

from .builders import BuilderModules
from .fit_loop import FitLoop
from .layer_class import KerasLayerClass
from .layer_names import LayerNames
from .layout import Layout, LayoutWrap
from .static_sizes import StaticSizes
from .training_step import TrainingStep

__all__ = [
    "BuilderModules",
    "FitLoop",
    "KerasLayerClass",
    "LayerNames",
    "Layout",
    "LayoutWrap",
    "StaticSizes",
    "TrainingStep",
]
