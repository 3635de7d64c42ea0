"""``forward`` -> ``call`` in model classes, and ``self.training`` -> the ``training`` argument.

Keras passes ``training`` down to nested layers by itself, so only a ``call`` that reads the
flag needs the parameter.
"""

from __future__ import annotations

import libcst as cst

from ...report import ERROR
from ..common.base import Pass
from ..common.context import FunctionInfo


class ForwardToCall(Pass):
    def _model_method(self) -> FunctionInfo | None:
        """The method of a model class this code is in (functions nested in it included)."""
        for fn in reversed(self.ctx.functions):
            if fn.owner is not None:
                return fn if fn.owner.is_module else None
        return None

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        if not (isinstance(original.value, cst.Name) and original.value.value == "self"):
            return updated
        source_entry, target_entry = self.ctx.direction.entry_method
        if original.attr.value == "training" and not isinstance(self.ctx.parent(), cst.AssignTarget):
            fn = self._model_method()
            if fn is not None and fn.name == source_entry:
                fn.uses_training = True
                return cst.Name("training")
            if fn is not None:
                self.ctx.report(
                    original,
                    ERROR,
                    "training-flag",
                    f"self.training in {fn.name}(): Keras layers have no training attribute; "
                    f"pass `training` down from {target_entry}()",
                )
                return updated
        if (
            original.attr.value == source_entry
            and self.ctx.current_class is not None
            and self.ctx.current_class.is_module
        ):
            return updated.with_changes(attr=cst.Name(target_entry))
        return updated

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        fn = self.ctx.current_function
        source_entry, target_entry = self.ctx.direction.entry_method
        if fn is None or fn.owner is None or not fn.owner.is_module or original.name.value != source_entry:
            return updated
        updated = updated.with_changes(name=cst.Name(target_entry))
        if fn.uses_training:
            updated = updated.with_changes(params=_add_training(updated.params))
        return updated

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        # super().forward(x) -> super().call(x)
        func = updated.func
        source_entry, target_entry = self.ctx.direction.entry_method
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value == source_entry
            and isinstance(func.value, cst.Call)
            and isinstance(func.value.func, cst.Name)
            and func.value.func.value == "super"
        ):
            return updated.with_changes(func=func.with_changes(attr=cst.Name(target_entry)))
        return updated


def _add_training(params: cst.Parameters) -> cst.Parameters:
    names = {p.name.value for p in (*params.params, *params.kwonly_params)}
    if "training" in names:
        return params
    new = cst.Param(
        cst.Name("training"),
        default=cst.Name("None"),
        equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
    )
    if isinstance(params.star_arg, cst.Param) or params.kwonly_params:
        return params.with_changes(kwonly_params=[*params.kwonly_params, new])
    return params.with_changes(params=[*params.params, new])
