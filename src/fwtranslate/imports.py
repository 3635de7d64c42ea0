"""Which local names mean the source framework.

Resolving names from the import statements by hand is far cheaper than LibCST's
QualifiedNameProvider (see docs/design.md) and is all a model file needs: the usual forms are
``import torch``, ``import torch.nn as nn``, ``from torch import nn``,
``import torch.nn.functional as F``, ``from torch.nn import Conv2d as C`` and
``from torch.nn import *``.  A name that is not bound by one of those imports is never treated
as framework code, however it is spelled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import libcst as cst

from .cstutil import suites


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
    return (dotted_name(node) or "") if node is not None else ""


@dataclass
class ImportMap:
    """Local name -> qualified name, for names bound to the framework roots."""

    roots: tuple[str, ...]
    bindings: dict[str, str] = field(default_factory=dict)
    star_modules: list[str] = field(default_factory=list)
    # module-level names defined by the file itself: they shadow star imports
    local_names: set[str] = field(default_factory=set)
    # the import statements that bind framework names, for removal later
    framework_imports: list[cst.CSTNode] = field(default_factory=list)
    # of those, the ones inside a function or class (ids): removed where they stand
    nested_imports: set[int] = field(default_factory=set)
    # names bound by `import a.b as c` / `import a` of other modules: modules, never tensors
    module_aliases: set[str] = field(default_factory=set)
    # of those, the module each names (`np` -> "numpy")
    alias_modules: dict[str, str] = field(default_factory=dict)
    # with a star import: global names the file uses but never defines (see free_globals)
    star_free: set[str] = field(default_factory=set)
    # one spelling per API (tf.keras.layers.Dense -> keras.layers.Dense); None: names as written
    canonical: Callable[[str], str] | None = None

    def is_framework(self, qualified: str) -> bool:
        head = qualified.split(".", 1)[0]
        return head in self.roots

    @classmethod
    def from_module(
        cls, module: cst.Module, roots: Iterable[str], canonical: Callable[[str], str] | None = None
    ) -> ImportMap:
        imap = cls(tuple(roots), canonical=canonical)
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
            imap.module_aliases.discard(name)
        for small in _nested_imports(module.body):
            if imap._add_nested(small):
                imap.framework_imports.append(small)
                imap.nested_imports.add(id(small))
        return imap

    def _add_nested(self, node: cst.Import | cst.ImportFrom) -> bool:
        """A framework import inside a function (a lazy import) binds its names for the whole
        file, unless the file binds the same name to something else: `F` imported inside
        `forward` is `torch.nn.functional` wherever the file uses it."""
        probe = ImportMap(self.roots, canonical=self.canonical)
        if not probe._add_import(node) or probe.star_modules:
            return False
        for local, target in probe.bindings.items():
            if local in self.local_names or self.bindings.get(local, target) != target:
                return False
        self.bindings.update(probe.bindings)
        return True

    def _add_import(self, node: cst.Import | cst.ImportFrom) -> bool:
        bound = False
        if isinstance(node, cst.Import):
            for alias in node.names:
                full = _module_name(alias.name)
                local = alias.asname.name.value if alias.asname is not None else full.split(".", 1)[0]  # type: ignore[union-attr]
                if not self.is_framework(full):
                    self.bindings.pop(local, None)  # `import mylib.nn as nn` rebinds nn
                    self.module_aliases.add(local)
                    self.alias_modules[local] = full if alias.asname is not None else local
                    continue
                self.module_aliases.discard(local)
                self.bindings[local] = full if alias.asname is not None else local
                bound = True
            return bound
        module = _module_name(node.module)
        if node.relative or not self.is_framework(module):
            if not isinstance(node.names, cst.ImportStar):
                for alias in node.names:
                    local = alias.asname.name if alias.asname is not None else alias.name
                    if isinstance(local, cst.Name):
                        self.bindings.pop(local.value, None)  # `from mylib import nn` rebinds nn
                        self.module_aliases.discard(local.value)
            return False
        if isinstance(node.names, cst.ImportStar):
            self.star_modules.append(self.canonical(module) if self.canonical is not None else module)
            return True
        for alias in node.names:
            if not isinstance(alias.name, cst.Name):  # `from m import a.b` does not parse
                continue
            name = alias.name.value
            local = alias.asname.name.value if alias.asname is not None else name  # type: ignore[union-attr]
            self.bindings[local] = f"{module}.{name}"
        return True

    def resolve(
        self,
        node: cst.BaseExpression,
        shadowed: frozenset[str] | set[str] = frozenset(),
        star_names: frozenset[str] | set[str] = frozenset(),
    ) -> str | None:
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
                if head not in self.star_free:
                    return None
                # defined nowhere in the file: it comes from the star import (the last one
                # wins in Python), and it has no rule: it is reported, not silently dropped
                target = f"{self.star_modules[-1]}.{head}"
        qualified = f"{target}.{rest}" if rest else target
        return self.canonical(qualified) if self.canonical is not None else qualified

    def framework_locals(self) -> set[str]:
        return set(self.bindings)


def free_globals(source: str) -> set[str]:
    """Global names that ``source`` reads but never binds, builtins excepted: with a star
    import, those are the names the star import supplies. Python's own symbol tables (C code)
    make this cheap; an empty set when Python cannot parse the source."""
    import builtins
    import symtable

    try:
        top = symtable.symtable(source, "<source>", "exec")
    except (SyntaxError, ValueError):
        return set()
    used: set[str] = set()
    defined: set[str] = set()
    stack = [top]
    while stack:
        table = stack.pop()
        stack.extend(table.get_children())
        for sym in table.get_symbols():
            if not sym.is_global():
                continue
            if sym.is_assigned() or sym.is_imported():
                defined.add(sym.get_name())
            elif sym.is_referenced():
                used.add(sym.get_name())
    return used - defined - set(dir(builtins))


def target_names(node: cst.CSTNode) -> list[str]:
    """The names an assignment target binds: ``x``, ``a, (b, *c)``; not ``x.y`` or ``x[i]``."""
    if isinstance(node, cst.Name):
        return [node.value]
    if isinstance(node, (cst.Tuple, cst.List)):
        return [n for e in node.elements for n in target_names(e.value)]
    if isinstance(node, cst.StarredElement):
        return target_names(node.value)
    return []


def bound_names(body: Sequence[cst.CSTNode], known: set[int] | frozenset[int] = frozenset()) -> set[str]:
    """Names that a block of statements binds in its own scope (a function body): assignment,
    ``for``, ``with ... as``, ``except ... as`` and import targets, nested def/class names.
    Nested functions and classes are other scopes; ``global``/``nonlocal`` names are excluded.
    Imports whose id is in ``known`` (framework imports the ImportMap resolves) bind nothing here.
    Statement level only (no walk into expressions), so it costs little.
    """
    names: set[str] = set()
    declared: set[str] = set()

    def block(suite) -> None:
        if isinstance(suite, (cst.Else, cst.Finally)):
            suite = suite.body
        if isinstance(suite, cst.IndentedBlock):
            stmts(suite.body)
        elif isinstance(suite, cst.SimpleStatementSuite):
            small_stmts(suite.body)

    def stmts(items) -> None:
        for stmt in items:
            if isinstance(stmt, cst.SimpleStatementLine):
                small_stmts(stmt.body)
            elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                names.add(stmt.name.value)
            elif isinstance(stmt, cst.For):
                names.update(target_names(stmt.target))
                block(stmt.body)
                block(stmt.orelse)
            elif isinstance(stmt, cst.While):
                block(stmt.body)
                block(stmt.orelse)
            elif isinstance(stmt, cst.If):
                block(stmt.body)
                orelse = stmt.orelse
                if isinstance(orelse, cst.If):
                    stmts([orelse])
                else:
                    block(orelse)
            elif isinstance(stmt, cst.With):
                for item in stmt.items:
                    if item.asname is not None:
                        names.update(target_names(item.asname.name))
                block(stmt.body)
            elif isinstance(stmt, (cst.Try, cst.TryStar)):
                block(stmt.body)
                for handler in stmt.handlers:
                    if handler.name is not None:
                        names.update(target_names(handler.name.name))
                    block(handler.body)
                block(stmt.orelse)
                block(stmt.finalbody)
            elif isinstance(stmt, cst.Match):
                for case in stmt.cases:
                    block(case.body)

    def small_stmts(items) -> None:
        for small in items:
            if isinstance(small, cst.Assign):
                for t in small.targets:
                    names.update(target_names(t.target))
            elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                names.update(target_names(small.target))
            elif id(small) in known:
                continue
            elif isinstance(small, cst.Import):
                for alias in small.names:
                    if alias.asname is not None:
                        names.update(target_names(alias.asname.name))
                    else:
                        names.add((dotted_name(alias.name) or "").split(".", 1)[0])
            elif isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                for alias in small.names:
                    local = alias.asname.name if alias.asname is not None else alias.name
                    names.update(target_names(local))
            elif isinstance(small, (cst.Global, cst.Nonlocal)):
                declared.update(n.name.value for n in small.names)

    stmts(body)
    return names - declared


def _nested_imports(body: Iterable[cst.CSTNode], nested: bool = False):
    """Import statements inside functions and classes, at any depth (statements only: no walk
    into expressions, so it costs little)."""
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine):
            if nested:
                yield from (s for s in stmt.body if isinstance(s, (cst.Import, cst.ImportFrom)))
        elif isinstance(stmt, cst.BaseCompoundStatement):
            inner = nested or isinstance(stmt, (cst.FunctionDef, cst.ClassDef))
            for suite in suites(stmt):
                if isinstance(suite, cst.IndentedBlock):
                    yield from _nested_imports(suite.body, inner)


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
