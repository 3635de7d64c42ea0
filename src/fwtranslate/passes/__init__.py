"""Structural rewrites, one concern per module, run together in one traversal (driver.py):
``common/`` for both directions, ``torch_to_tf/`` and ``tf_to_torch/`` for one each."""

from .common import CallRewriter, FinishModule, ScopeTracker
from .tf_to_torch import KerasLayerClass, LayerNames, Layout, LayoutWrap, StaticSizes
from .tf_to_torch.export_decorators import KerasExportDecorators
from .torch_to_tf import (
    ForwardToCall,
    PrivateLayerNames,
    SequentialSubclass,
    Statements,
    TorchAttributes,
    WeightPresence,
)

# Order matters where two passes handle the same node: the scope tracker sees a node first,
# ForwardToCall renames self.forward before the call rewriter looks at it.
PASSES = (
    ScopeTracker,
    ForwardToCall,
    SequentialSubclass,
    PrivateLayerNames,
    CallRewriter,
    WeightPresence,
    TorchAttributes,
    Statements,
    FinishModule,
)

# the passes of each direction (directions.Direction.passes names its tuple here)
TF_TO_TORCH_PASSES = (
    ScopeTracker,
    KerasLayerClass,
    Layout,
    StaticSizes,
    KerasExportDecorators,
    CallRewriter,
    LayerNames,
    LayoutWrap,
    FinishModule,
)
