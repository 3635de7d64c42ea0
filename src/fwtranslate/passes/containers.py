"""Subclasses of ``nn.Sequential``: ``keras.Sequential`` takes its layers as one list.

``super().__init__(conv, bn, act)`` -> ``super().__init__([conv, bn, act])`` and
``self.add_module(name, layer)`` -> ``self.add(layer)`` (the layer joins the sequence).
``self.norm = nn.BatchNorm2d(c)`` in such a class also joins the sequence in torch (an
nn.Sequential runs every registered module): ``self.norm = in_sequence(self, ...)``
(support_modules.py) adds the value when it is a layer.
"""
from __future__ import annotations

import libcst as cst

from .base import Pass

SEQUENTIAL = "torch.nn.Sequential"
IN_SEQUENCE = "in_sequence"


def _is_super_init(func: cst.BaseExpression) -> bool:
    return (isinstance(func, cst.Attribute) and func.attr.value == "__init__"
            and isinstance(func.value, cst.Call) and isinstance(func.value.func, cst.Name)
            and func.value.func.value == "super")


class SequentialSubclass(Pass):
    def _in_sequential(self) -> bool:
        cls = self.ctx.current_class
        return cls is not None and cls.source_base == SEQUENTIAL

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if not self._in_sequential():
            return updated
        func = updated.func
        if _is_super_init(func) and self.ctx.current_class.direct_base:  # type: ignore[union-attr]
            # (a subclass of a local Sequential subclass calls that class's own __init__)
            positional = [a for a in updated.args if a.keyword is None]
            if not positional or (len(positional) == 1 and positional[0].star == "" and isinstance(
                    positional[0].value, (cst.List, cst.Call))):
                return updated  # already a list (or an OrderedDict: left for the reviewer)
            elements = [cst.StarredElement(a.value) if a.star == "*" else cst.Element(a.value) for a in positional]
            rest = [a for a in updated.args if a.keyword is not None]
            return updated.with_changes(args=[cst.Arg(cst.List(elements)), *rest])
        if (isinstance(func, cst.Attribute) and func.attr.value == "add_module" and isinstance(func.value, cst.Name)
                and func.value.value == "self" and len(updated.args) == 2):
            self.ctx.skip.add(id(original))  # rewritten whole: the Module.add_module rule must not run
            return updated.with_changes(func=func.with_changes(attr=cst.Name("add")), args=[updated.args[1].with_changes(comma=cst.MaybeSentinel.DEFAULT)])
        return updated

    def leave_Assign(self, original: cst.Assign, updated: cst.Assign) -> cst.Assign:
        functions = self.ctx.functions
        if (not self._in_sequential() or not functions or functions[-1].name != "__init__"
                or functions[-1].owner is not self.ctx.current_class or len(updated.targets) != 1):
            return updated
        target = updated.targets[0].target
        if not (isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self"
                and isinstance(updated.value, (cst.Call, cst.Name, cst.Attribute))):
            return updated
        self.ctx.helpers_used.add(IN_SEQUENCE)
        return updated.with_changes(value=cst.Call(cst.Name(IN_SEQUENCE), [
            cst.Arg(cst.Name("self"), comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
            cst.Arg(updated.value)]))
