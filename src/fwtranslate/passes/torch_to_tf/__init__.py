"""Structural passes of the PyTorch -> Keras direction."""

from .checkpoints import Checkpoints
from .containers import SequentialSubclass
from .dtype_promotion import DtypePromotion
from .forward_to_call import ForwardToCall
from .layout import Layout, LayoutWrap
from .private_names import PrivateLayerNames
from .serializable import KerasSerializable
from .statements import Statements
from .torch_attributes import TorchAttributes
from .training_step import TrainingStep
from .weight_presence import WeightPresence

__all__ = [
    "Checkpoints",
    "DtypePromotion",
    "ForwardToCall",
    "KerasSerializable",
    "Layout",
    "LayoutWrap",
    "PrivateLayerNames",
    "SequentialSubclass",
    "Statements",
    "TorchAttributes",
    "TrainingStep",
    "WeightPresence",
]
