"""Reads of torch layer attributes on other layers (``m.out_features``, ``conv.in_channels``):
Keras names them differently (``units``, ``filters``) or only knows them once the layer is built.
The read becomes ``layer_attribute(m, "out_features")`` (support_modules.py), which returns the
attribute where the layer has it (a support layer or the user's own class keeps torch's names)
and Keras' equivalent otherwise.

``self.out_channels`` inside a class is the class's own attribute and is left alone, and so are
assignments.
"""

from __future__ import annotations

import libcst as cst

from ..common.base import Pass

TORCH_ATTRIBUTES = frozenset({"in_features", "out_features", "in_channels", "out_channels"})
HELPER = "layer_attribute"


class TorchAttributes(Pass):
    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        if updated.attr.value not in TORCH_ATTRIBUTES:
            return updated
        receiver = updated.value
        if isinstance(receiver, cst.Name) and receiver.value in ("self", "cls"):
            return updated
        parent = self.ctx.parent()
        if isinstance(parent, (cst.AssignTarget, cst.AugAssign, cst.Del)) or (
            isinstance(parent, cst.Attribute) and parent.value is original
        ):
            return updated
        if self.ctx.resolve(original) is not None:  # a framework name (torch.x.in_features?): not a layer
            return updated
        self.ctx.helpers_used.add(HELPER)
        return cst.Call(cst.Name(HELPER), [cst.Arg(receiver), cst.Arg(cst.SimpleString(f'"{updated.attr.value}"'))])
