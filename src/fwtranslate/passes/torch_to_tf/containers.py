"""Subclasses of ``nn.Sequential``: ``keras.Sequential`` takes its layers as one list.

``super().__init__(conv, bn, act)`` -> ``super().__init__([conv, bn, act])`` and
``self.add_module(name, layer)`` -> ``self.add(layer)`` (the layer joins the sequence).
A module assigned to an attribute (``self.norm = nn.BatchNorm2d(c)``) joins the sequence in
torch (an nn.Sequential runs every registered module), so such a class derives from
``TorchSequential`` (support_modules.py), a keras.Sequential that does the same.
"""

from __future__ import annotations

import libcst as cst

from ...cstutil import code
from ..common.base import Pass

SEQUENTIAL = "torch.nn.Sequential"
BASE = "TorchSequential"


def is_super_init(func: cst.BaseExpression) -> bool:
    return (
        isinstance(func, cst.Attribute)
        and func.attr.value == "__init__"
        and isinstance(func.value, cst.Call)
        and isinstance(func.value.func, cst.Name)
        and func.value.func.value == "super"
    )


class SequentialSubclass(Pass):
    def _in_sequential(self) -> bool:
        cls = self.ctx.current_class
        return cls is not None and cls.source_base == SEQUENTIAL

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if not self._in_sequential():
            return updated
        func = updated.func
        if is_super_init(func) and self.ctx.current_class.direct_base:  # type: ignore[union-attr]
            # (a subclass of a local Sequential subclass calls that class's own __init__)
            positional = [a for a in updated.args if a.keyword is None]
            if not positional or (
                len(positional) == 1
                and positional[0].star == ""
                and isinstance(positional[0].value, (cst.List, cst.Call))
            ):
                return updated  # already a list (or an OrderedDict: left for the reviewer)
            elements = [cst.StarredElement(a.value) if a.star == "*" else cst.Element(a.value) for a in positional]
            rest = [a for a in updated.args if a.keyword is not None]
            return updated.with_changes(args=[cst.Arg(cst.List(elements)), *rest])
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value == "add_module"
            and isinstance(func.value, cst.Name)
            and func.value.value == "self"
            and len(updated.args) == 2
        ):
            self.ctx.skip.add(id(original))  # rewritten whole: the Module.add_module rule must not run
            return updated.with_changes(
                func=func.with_changes(attr=cst.Name("add")),
                args=[updated.args[1].with_changes(comma=cst.MaybeSentinel.DEFAULT)],
            )
        return updated

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        cls = self.ctx.current_class
        if cls is None or cls.source_base != SEQUENTIAL or not cls.direct_base:
            return updated
        bases = [
            b.with_changes(value=cst.Name(BASE)) if code(b.value) == "keras.Sequential" else b for b in updated.bases
        ]
        if bases == list(updated.bases):
            return updated
        self.ctx.helpers_used.add(BASE)
        return updated.with_changes(bases=bases)
