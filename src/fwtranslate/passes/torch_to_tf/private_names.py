"""Layer classes whose names start with ``_`` (torchvision's ``_DenseLayer``): Keras names a
layer after its class (``__dense_layer``), and TensorFlow refuses a name scope that does not
start with a letter or digit. Their ``super().__init__(...)`` gets ``name=layer_name(self)``
(support_modules.py): the same snake-case name without the leading underscores, made unique.
"""

from __future__ import annotations

import libcst as cst

from ..common.base import Pass
from .containers import is_super_init

HELPER = "layer_name"


class PrivateLayerNames(Pass):
    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        cls = self.ctx.current_class
        function = self.ctx.functions[-1] if self.ctx.functions else None
        if (
            cls is None
            or not cls.is_module
            or not cls.direct_base
            or not cls.name.startswith("_")
            or function is None
            or function.name != "__init__"
            or function.owner is not cls
            or not is_super_init(updated.func)
        ):
            return updated
        if any((a.keyword is not None and a.keyword.value == "name") or a.star == "**" for a in updated.args):
            return updated
        self.ctx.helpers_used.add(HELPER)
        args = list(updated.args)
        if args and args[-1].comma is cst.MaybeSentinel.DEFAULT:
            args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        name = cst.Arg(
            cst.Call(cst.Name(HELPER), [cst.Arg(cst.Name("self"))]),
            keyword=cst.Name("name"),
            equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
        )
        return updated.with_changes(args=[*args, name])
