"""Structural passes of the PyTorch -> Keras direction."""

from .containers import SequentialSubclass
from .forward_to_call import ForwardToCall
from .private_names import PrivateLayerNames
from .statements import Statements
from .torch_attributes import TorchAttributes
from .weight_presence import WeightPresence

__all__ = [
    "ForwardToCall",
    "PrivateLayerNames",
    "SequentialSubclass",
    "Statements",
    "TorchAttributes",
    "WeightPresence",
]
