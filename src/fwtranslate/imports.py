"""Which local names mean the source framework.

Resolving names from the import statements by hand is far cheaper than LibCST's
QualifiedNameProvider (see docs/design.md) and is all a model file needs: the usual forms are
``import torch``, ``import torch.nn as nn``, ``from torch import nn``,
``import torch.nn.functional as F``, ``from torch.nn import Conv2d as C`` and
``from torch.nn import *``.  A name that is not bound by one of those imports is never treated
as framework code, however it is spelled.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import libcst as cst


def dotted_name(node: cst.BaseExpression) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


def _module_name(node: cst.BaseExpression | None) -> str:
    return dotted_name(node) if node is not None else ""


@dataclass
class ImportMap:
    """Local name -> qualified name, for names bound to the framework roots."""

    roots: tuple[str, ...]
    bindings: dict[str, str] = field(default_factory=dict)
    star_modules: list[str] = field(default_factory=list)
    # module-level names defined by the file itself: they shadow star imports
    local_names: set[str] = field(default_factory=set)
    # the import statements (top-level) that bind framework names, for removal later
    framework_imports: list[cst.CSTNode] = field(default_factory=list)

    def is_framework(self, qualified: str) -> bool:
        head = qualified.split(".", 1)[0]
        return head in self.roots

    @classmethod
    def from_module(cls, module: cst.Module, roots: Iterable[str]) -> "ImportMap":
        imap = cls(tuple(roots))
        for stmt in _top_level_statements(module.body):
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, (cst.Import, cst.ImportFrom)):
                        if imap._add_import(small):
                            imap.framework_imports.append(small)
                    elif isinstance(small, (cst.Assign, cst.AnnAssign)):
                        targets = small.targets if isinstance(small, cst.Assign) else [small]
                        for t in targets:
                            target = t.target
                            if isinstance(target, cst.Name):
                                imap.local_names.add(target.value)
            elif isinstance(stmt, (cst.ClassDef, cst.FunctionDef)):
                imap.local_names.add(stmt.name.value)
        for name in imap.local_names:
            # `nn = MyThing()` or `class Linear:` at module level rebinds the imported name
            imap.bindings.pop(name, None)
        return imap

    def _add_import(self, node: cst.Import | cst.ImportFrom) -> bool:
        bound = False
        if isinstance(node, cst.Import):
            for alias in node.names:
                full = _module_name(alias.name)
                if not self.is_framework(full):
                    continue
                if alias.asname is not None:
                    self.bindings[alias.asname.name.value] = full  # type: ignore[union-attr]
                else:
                    head = full.split(".", 1)[0]
                    self.bindings[head] = head
                bound = True
            return bound
        if node.relative:
            return False
        module = _module_name(node.module)
        if not self.is_framework(module):
            return False
        if isinstance(node.names, cst.ImportStar):
            self.star_modules.append(module)
            return True
        for alias in node.names:
            name = alias.name.value  # type: ignore[union-attr]
            local = alias.asname.name.value if alias.asname is not None else name  # type: ignore[union-attr]
            self.bindings[local] = f"{module}.{name}"
        return True

    def resolve(self, node: cst.BaseExpression, shadowed: frozenset[str] | set[str] = frozenset(),
                star_names: frozenset[str] | set[str] = frozenset()) -> str | None:
        """Qualified framework name of a Name/Attribute chain, or None.

        ``shadowed`` holds names bound locally (function parameters, assignments);
        ``star_names`` the qualified names a star import may supply (those with rules).
        """
        name = dotted_name(node)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        if head in shadowed:
            return None
        target = self.bindings.get(head)
        if target is None:
            if not self.star_modules or head in self.local_names:
                return None
            for module in self.star_modules:
                candidate = f"{module}.{head}"
                if candidate in star_names:
                    target = candidate
                    break
            else:
                return None
        return f"{target}.{rest}" if rest else target

    def framework_locals(self) -> set[str]:
        return set(self.bindings)


def _top_level_statements(body: Iterable[cst.CSTNode]):
    """Module-level statements, looking inside ``try``/``if`` blocks (guarded imports)."""
    for stmt in body:
        if isinstance(stmt, (cst.Try, cst.If)):
            yield from _top_level_statements(stmt.body.body)
            if isinstance(stmt, cst.Try):
                for handler in stmt.handlers:
                    yield from _top_level_statements(handler.body.body)
            elif stmt.orelse is not None and isinstance(stmt.orelse, cst.Else):
                yield from _top_level_statements(stmt.orelse.body.body)
        else:
            yield stmt

