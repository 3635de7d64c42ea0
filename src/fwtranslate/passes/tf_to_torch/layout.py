"""Channels last outside, channels first inside (docs/tf_to_torch.md).

Keras computes images channels last (N, H, W, C); torch's convolutions, pooling and batch norm
want channels first (N, C, H, W). Every spatial rule is exact on its own (its default variant
wraps the torch module in ``ChannelsLast``, which moves the channel axis around that one
layer). This pass removes those moves where it can see the data flow: in a layer's ``call``, in
a function, and in a ``keras.Sequential([...])`` list, it moves the channel axis once where a run
of spatial layers starts and back where the code needs Keras' order again, and gives the layers
of the run ``data_format="channels_first"`` (and renumbered ``axis=`` arguments), so their
rules emit plain channels-first torch modules.

The analysis (layout_analysis.py) runs on the original tree before the traversal; the handlers
here apply its plan: constructor arguments before the rules translate the calls
(``Layout``), conversions of expressions after them (``LayoutWrap``), statements inserted per
block.
"""

from __future__ import annotations

import libcst as cst

from ...cstutil import expression, statement
from ..common.base import Pass
from .layout_analysis import TO_FIRST, Plan, analyse

_TO_FIRST_STMT = "{v} = {v}.movedim(-1, 1)  # channels last -> first: torch's layout for the layers below\n"
_TO_LAST_STMT = "{v} = {v}.movedim(1, -1)  # channels first -> last: Keras' order again\n"


class Layout(Pass):
    """Runs before the call rewriter: constructor arguments and the statements around."""

    plan: Plan | None = None

    def prepare(self, module: cst.Module) -> set[int]:
        self.plan = analyse(module, self.ctx)
        self.ctx.layout_plan = self.plan  # type: ignore[attr-defined]  # shared with LayoutWrap
        if self.plan.helpers:
            self.ctx.helpers_used |= self.plan.helpers
        return self.plan.visit

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        plan = self.plan
        if plan is None:
            return updated
        key = id(original)
        if key in plan.channels_first:
            updated = _set_keyword(updated, "data_format", cst.SimpleString('"channels_first"'), None)
        if key in plan.axis:
            position, value = plan.axis[key]
            updated = _set_keyword(updated, "axis", expression(repr(value)), position)
        return updated

    def leave_List(self, original: cst.List, updated: cst.List) -> cst.BaseExpression:
        plan = self.plan
        inserts = plan.list_inserts.get(id(original)) if plan is not None else None
        if not inserts:
            return updated
        elements = list(updated.elements)
        for index, code in sorted(inserts, key=lambda item: -item[0]):
            elements.insert(index, cst.Element(expression(code)))
        elements = [
            e.with_changes(comma=cst.MaybeSentinel.DEFAULT)
            if i == len(elements) - 1
            else e.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            if e.comma is cst.MaybeSentinel.DEFAULT
            else e
            for i, e in enumerate(elements)
        ]
        return updated.with_changes(elements=elements)

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        plan = self.plan
        if plan is None or id(original) not in plan.contract_comments:
            return updated
        note = cst.EmptyLine(
            comment=cst.Comment(
                "# fwtranslate: channels-first tensors in and out (torch layout); callers here move the axis"
            )
        )
        return updated.with_changes(leading_lines=[*updated.leading_lines, note])

    def leave_IndentedBlock(self, original: cst.IndentedBlock, updated: cst.IndentedBlock) -> cst.IndentedBlock:
        plan = self.plan
        if plan is None or not any(id(s) in plan.before or id(s) in plan.after for s in original.body):
            return updated
        if len(original.body) != len(updated.body):  # another pass split a statement: keep ours exact
            return updated
        body: list[cst.BaseStatement] = []
        for old, new in zip(original.body, updated.body):
            for var, direction in plan.before.get(id(old), ()):
                body.append(_conversion(var, direction))
            body.append(new)
            for var, direction in plan.after.get(id(old), ()):
                body.append(_conversion(var, direction))
        return updated.with_changes(body=body)


class LayoutWrap(Pass):
    """Runs after the call rewriter: ``expr`` -> ``expr.movedim(...)`` where an expression's
    layout is not what its consumer needs and it is no plain variable."""

    def _wrap(self, original: cst.CSTNode, updated: cst.BaseExpression) -> cst.BaseExpression:
        plan = getattr(self.ctx, "layout_plan", None)
        if plan is not None and id(original) in plan.replace:
            return expression(plan.replace[id(original)])
        direction = plan.wrap.get(id(original)) if plan is not None else None
        if direction is None:
            return updated
        source, target = ("-1", "1") if direction == TO_FIRST else ("1", "-1")
        value = updated
        if not isinstance(value, (cst.Name, cst.Call, cst.Attribute, cst.Subscript)) or value.lpar:
            value = value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        return cst.Call(
            cst.Attribute(value, cst.Name("movedim")), [cst.Arg(expression(source)), cst.Arg(expression(target))]
        )

    def leave_Call(self, original: cst.Call, updated: cst.BaseExpression) -> cst.BaseExpression:
        return self._wrap(original, updated)

    def leave_Name(self, original: cst.Name, updated: cst.BaseExpression) -> cst.BaseExpression:
        return self._wrap(original, updated)

    def leave_BinaryOperation(self, original, updated):
        return self._wrap(original, updated)

    def leave_Subscript(self, original, updated):
        return self._wrap(original, updated)

    def leave_Attribute(self, original, updated):
        return self._wrap(original, updated)

    def leave_Integer(self, original, updated):
        return self._wrap(original, updated)

    def leave_UnaryOperation(self, original, updated):
        return self._wrap(original, updated)


def _conversion(var: str, direction: str) -> cst.BaseStatement:
    return statement((_TO_FIRST_STMT if direction == TO_FIRST else _TO_LAST_STMT).format(v=var))


def _set_keyword(call: cst.Call, name: str, value: cst.BaseExpression, position: int | None) -> cst.Call:
    """Replace the argument ``name`` (keyword, or positional at ``position``) or add it."""
    args = list(call.args)
    for i, arg in enumerate(args):
        if arg.keyword is not None and arg.keyword.value == name:
            args[i] = arg.with_changes(value=value)
            return call.with_changes(args=args)
    positional = [i for i, a in enumerate(args) if a.keyword is None and not a.star]
    if position is not None and position < len(positional):
        i = positional[position]
        args[i] = args[i].with_changes(value=value)
        return call.with_changes(args=args)
    if args and args[-1].comma is cst.MaybeSentinel.DEFAULT:
        args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    args.append(
        cst.Arg(
            value, keyword=cst.Name(name), equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace(""))
        )
    )
    return call.with_changes(args=args)
