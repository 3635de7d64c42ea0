"""Keras layer names survive in functional builders.

``layers.Conv2D(64, 7, name="conv1_conv")(x)`` in a builder becomes
``named(nn.LazyConv2d(64, 7), "conv1_conv")(x)``: FunctionalModel (support_functional.py)
registers the module under that name, so the translated model's ``state_dict()`` keys are the
Keras layer names (``conv1_conv.weight``) and weights can be matched by name. In classes the
attribute names already play that part, and the rules drop ``name=``.
"""

from __future__ import annotations

import libcst as cst

from ..common.base import Pass


class LayerNames(Pass):
    """Runs after the call rewriter: wraps translated layer constructors that had a ``name=``."""

    def leave_Call(self, original: cst.Call, updated: cst.BaseExpression) -> cst.BaseExpression:
        ctx = self.ctx
        if ctx.current_class is not None or not ctx.functions or updated is original:
            return updated
        name = next((a.value for a in original.args if a.keyword is not None and a.keyword.value == "name"), None)
        if name is None:
            return updated
        qual = ctx.resolve(original.func)
        if qual is None or not qual.startswith("keras.layers.") or qual not in ctx.rules.calls:
            return updated
        ctx.helpers_used.add("named")
        return cst.Call(cst.Name("named"), [cst.Arg(updated), cst.Arg(name)])
