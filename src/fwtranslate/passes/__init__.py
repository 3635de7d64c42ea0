"""Structural rewrites, one concern per module, run together in one traversal (pipeline.py)."""

from .calls import CallRewriter
from .containers import SequentialSubclass
from .finish_module import FinishModule
from .forward_to_call import ForwardToCall
from .private_names import PrivateLayerNames
from .scopes import ScopeTracker
from .statements import Statements
from .tf_to_torch import KerasLayerClass, LayerNames, Layout, LayoutWrap, StaticSizes
from .tf_to_torch.export_decorators import KerasExportDecorators
from .torch_attributes import TorchAttributes
from .weight_presence import WeightPresence

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
