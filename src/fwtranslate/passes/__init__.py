"""Structural rewrites, one concern per module, run together in one traversal (driver.py):
``common/`` for both directions, ``torch_to_tf/`` and ``tf_to_torch/`` for one each."""

from .common import CallRewriter, FinishModule, Marks, ScopeTracker
from .tf_to_torch import BuilderModules, FitLoop, KerasLayerClass, LayerNames, StaticSizes
from .tf_to_torch import Layout as ChannelsFirstLayout
from .tf_to_torch import LayoutWrap as ChannelsFirstLayoutWrap
from .tf_to_torch import TrainingStep as TorchTrainingStep
from .tf_to_torch.backend_checks import BackendChecks
from .tf_to_torch.export_decorators import KerasExportDecorators
from .tf_to_torch.name_scopes import NameScopes
from .torch_to_tf import (
    Checkpoints,
    DtypePromotion,
    ForwardToCall,
    KerasSerializable,
    PrivateLayerNames,
    SequentialSubclass,
    Statements,
    TorchAttributes,
    WeightPresence,
)
from .torch_to_tf import Layout as ChannelsLastLayout
from .torch_to_tf import LayoutWrap as ChannelsLastLayoutWrap
from .torch_to_tf import TrainingStep as TapeTrainingStep

# Order matters where two passes handle the same node: the scope tracker sees a node first,
# ForwardToCall renames self.forward before the call rewriter looks at it.
PASSES = (
    ScopeTracker,
    ForwardToCall,
    SequentialSubclass,
    PrivateLayerNames,
    ChannelsLastLayout,
    TapeTrainingStep,
    Checkpoints,
    CallRewriter,
    DtypePromotion,  # after CallRewriter: its operands are translated
    ChannelsLastLayoutWrap,
    WeightPresence,
    TorchAttributes,
    Statements,
    KerasSerializable,
    FinishModule,
)

# the passes of each direction (directions.Direction.passes names its tuple here)
TF_TO_TORCH_PASSES = (
    ScopeTracker,
    KerasLayerClass,
    ChannelsFirstLayout,
    StaticSizes,
    KerasExportDecorators,
    NameScopes,  # before CallRewriter: the scope calls go with their `with`
    BackendChecks,  # before CallRewriter: the backend queries are decided, not reported
    FitLoop,  # before TorchTrainingStep: an optimizer given to compile gets its parameters here
    TorchTrainingStep,
    CallRewriter,
    LayerNames,
    ChannelsFirstLayoutWrap,
    Marks,
    BuilderModules,  # leave_Module: after every rewrite of the builders' statements
    FinishModule,
)
