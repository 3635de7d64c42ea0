"""``m.bias is not None`` on a layer: torch modules always have the attribute (None without a
bias); a Keras layer has no ``bias`` until it is built, and says whether it will have one in
``use_bias`` (``center``/``scale`` for normalization layers). The test becomes
``has_weight(m, "bias")`` (support_modules.py), which answers for built and unbuilt layers.

``self.bias is None`` inside a module's own code is left alone: there ``self.bias`` is the
module's own variable (or None), which the translation keeps as it is.
"""

from __future__ import annotations

import libcst as cst

from ..common.base import Pass

WEIGHT_NAMES = frozenset({"weight", "bias"})
HELPER = "has_weight"


class WeightPresence(Pass):
    def leave_Comparison(self, original: cst.Comparison, updated: cst.Comparison) -> cst.BaseExpression:
        if len(updated.comparisons) != 1:
            return updated
        [target] = updated.comparisons
        left = updated.left
        if not (
            isinstance(target.operator, (cst.Is, cst.IsNot))
            and isinstance(target.comparator, cst.Name)
            and target.comparator.value == "None"
            and isinstance(left, cst.Attribute)
            and left.attr.value in WEIGHT_NAMES
            and not _is_self(left.value)
        ):
            return updated
        self.ctx.helpers_used.add(HELPER)
        test: cst.BaseExpression = cst.Call(
            cst.Name(HELPER), [cst.Arg(left.value), cst.Arg(cst.SimpleString(f'"{left.attr.value}"'))]
        )
        if isinstance(target.operator, cst.Is):
            test = cst.UnaryOperation(cst.Not(), test)
        return test.with_changes(lpar=updated.lpar, rpar=updated.rpar) if updated.lpar else test


def _is_self(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "self"
