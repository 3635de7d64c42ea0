"""Applying a layout Plan (layout_analysis.py) during the traversal, for either direction.

``Layout`` runs before the call rewriter: it runs the analysis on the original tree, marks the
layers that run in the target's native layout (``mark_native``), renumbers their axis
arguments, inserts conversion layers into containers and conversion statements into blocks.
``LayoutWrap`` runs after it: it converts expressions in place and renumbers axis literals, and
may rewrite a rule's output for the native layout (``after_rules``). Each direction subclasses
both with its conventions and its conversion code (``tf_to_torch/layout.py``,
``torch_to_tf/layout.py``).
"""

from __future__ import annotations

import libcst as cst

from ...cstutil import expression, statement
from .base import Pass
from .layout_analysis import LayoutConventions, Plan, analyse


class Layout(Pass):
    """Runs before the call rewriter: constructor arguments and the statements around."""

    conventions: LayoutConventions
    contract_note = ""  # the comment above a helper that takes and returns native tensors
    keep_note = ""  # the comment above a model's entry method that takes native tensors (plan.keeps)
    native_interface = False  # the models too may take native tensors (analyse)
    plan: Plan | None = None

    def conversion(self, var: str, direction: str) -> str:
        """One statement (with its newline) that converts variable ``var``."""
        raise NotImplementedError

    def mark_native(self, call: cst.Call) -> cst.Call:
        """Before the rules: a layer that will run in the native layout (default: unchanged)."""
        return call

    def prepare(self, module: cst.Module) -> set[int]:
        self.plan = analyse(module, self.ctx, self.conventions, self.native_interface)
        self.ctx.layout_plan = self.plan
        if self.plan.helpers:
            self.ctx.helpers_used |= self.plan.helpers
        return self.plan.visit

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        plan = self.plan
        if plan is None:
            return updated
        key = id(original)
        if key in plan.native:
            updated = self.mark_native(updated)
        if key in plan.axis:
            position, value = plan.axis[key]
            updated = set_keyword(updated, self.conventions.axis_param, expression(repr(value)), position)
        inserts = plan.list_inserts.get(key)
        if inserts:  # nn.Sequential(conv, bn, relu): the layers are the arguments
            args = list(updated.args)
            for index, code in sorted(inserts, key=lambda item: -item[0]):
                args.insert(index, cst.Arg(expression(code)))
            updated = updated.with_changes(args=_commas(args))
        return updated

    def leave_List(self, original: cst.List, updated: cst.List) -> cst.BaseExpression:
        plan = self.plan
        inserts = plan.list_inserts.get(id(original)) if plan is not None else None
        if not inserts:
            return updated
        elements = list(updated.elements)
        for index, code in sorted(inserts, key=lambda item: -item[0]):
            elements.insert(index, cst.Element(expression(code)))
        return updated.with_changes(elements=_commas(elements))

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        plan = self.plan
        if plan is None or id(original) not in plan.contract_comments:
            return updated
        text = self.keep_note if id(original) in plan.keeps else self.contract_note
        note = cst.EmptyLine(comment=cst.Comment(text))
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
                body.append(statement(self.conversion(var, direction)))
            body.append(new)
            for var, direction in plan.after.get(id(old), ()):
                body.append(statement(self.conversion(var, direction)))
        return updated.with_changes(body=body)


class LayoutWrap(Pass):
    """Runs after the call rewriter: an expression whose layout is not what its consumer needs
    and that is no plain variable is converted in place (``convert``)."""

    def convert(self, value: cst.BaseExpression, direction: str) -> cst.BaseExpression:
        raise NotImplementedError

    def after_rules(self, original: cst.Call, updated: cst.BaseExpression) -> cst.BaseExpression:
        """A native layer's translation, rewritten for the native layout (default: unchanged)."""
        return updated

    def _wrap(self, original: cst.CSTNode, updated: cst.BaseExpression) -> cst.BaseExpression:
        plan = self.ctx.layout_plan
        if plan is not None and id(original) in plan.replace:
            return expression(plan.replace[id(original)])
        direction = plan.wrap.get(id(original)) if plan is not None else None
        if direction is None:
            return updated
        return self.convert(updated, direction)

    def leave_Call(self, original: cst.Call, updated: cst.BaseExpression) -> cst.BaseExpression:
        plan = self.ctx.layout_plan
        if plan is not None and id(original) in plan.native:
            updated = self.after_rules(original, updated)
        if plan is not None and id(original) in plan.adapt_blocks:  # block(...): adapted when built
            adapter, classes, strict = plan.adapt_blocks[id(original)]
            native = "(" + ", ".join(classes) + ("," if len(classes) == 1 else "") + ")"
            updated = cst.Call(expression(adapter), [cst.Arg(updated)])
            updated = set_keyword(updated, "native", expression(native), None)
            if strict:
                updated = set_keyword(updated, "strict", expression("True"), None)
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

    def leave_Tuple(self, original, updated):  # a renumbered tuple of axes
        return self._wrap(original, updated)

    def leave_List(self, original, updated):
        return self._wrap(original, updated)


def _commas(items: list) -> list:
    """Elements or arguments separated by ", " (none after the last)."""
    return [
        e.with_changes(comma=cst.MaybeSentinel.DEFAULT)
        if i == len(items) - 1
        else e.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        if e.comma is cst.MaybeSentinel.DEFAULT
        else e
        for i, e in enumerate(items)
    ]


def parenthesized(value: cst.BaseExpression) -> cst.BaseExpression:
    """``value`` safe as the receiver of a method call."""
    if not isinstance(value, (cst.Name, cst.Call, cst.Attribute, cst.Subscript)) or value.lpar:
        return value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return value


def set_keyword(call: cst.Call, name: str, value: cst.BaseExpression, position: int | None) -> cst.Call:
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
