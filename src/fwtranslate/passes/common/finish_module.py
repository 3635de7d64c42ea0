"""Module-level finishing touches, once the whole file has been rewritten.

- a model class that no other model class in the file instantiates becomes the target's model
  class (``keras.Model``), the others stay layers;
- source-framework imports go when nothing uses them any more; target imports are added once,
  where the source imports stood;
- the support code the translation uses is inserted after the imports.
"""

from __future__ import annotations

import libcst as cst

from ...cstutil import code, expression, statement
from ...imports import dotted_name
from ...report import INFO
from ...stand_ins import STAND_IN_KINDS
from .base import Pass


def _import_sort_key(line: str) -> tuple[int, int, str]:
    framework = "keras" in line or "tensorflow" in line or "torch" in line
    # import torch / from torch import nn / import torch.nn.functional as F
    return (1 if framework else 0, 0 if line == "import torch" else 1 if line.startswith("from") else 2, line)


_Statement = cst.SimpleStatementLine | cst.BaseCompoundStatement  # what a module's body holds


class FinishModule(Pass):
    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        body = list(updated.body)
        if self.ctx.dropped and len(original.body) == len(body):  # our own support code (roundtrip.py)
            body = [new for old, new in zip(original.body, body) if id(old) not in self.ctx.dropped]
        body = [self._promote_top_level_model(stmt) for stmt in body]
        if not self.ctx.piece:
            body = self._fix_imports(body)
        if self.ctx.imports.nested_imports:
            body = [s.visit(_NestedImports(self)) for s in body]  # type: ignore[misc]
        return updated.with_changes(body=body)

    # --- Layer vs Model --------------------------------------------------------------------
    def _promote_top_level_model(self, stmt: _Statement) -> _Statement:
        ctx = self.ctx
        if not isinstance(stmt, cst.ClassDef):
            return stmt
        info = ctx.module_classes.get(stmt.name.value)
        if info is None or stmt.name.value in ctx.instantiated:
            return stmt
        reserved = info.assigns & ctx.direction.reserved_model_attributes
        if reserved:
            ctx.report(
                info.node or stmt,
                INFO,
                "reserved-attribute",
                f"{stmt.name.value} stays a {ctx.direction.layer_base}: "
                f"{ctx.direction.model_base} reserves self.{sorted(reserved)[0]}",
            )
            return stmt
        bases = [
            b.with_changes(value=expression(ctx.direction.model_base))
            if code(b.value) == ctx.direction.layer_base
            else b
            for b in stmt.bases
        ]
        return stmt.with_changes(bases=bases)

    # --- imports ------------------------------------------------------------------------------
    def _fix_imports(self, body: list[_Statement]) -> list[_Statement]:
        ctx = self.ctx
        self.helpers = set(ctx.helpers_used)
        if ctx.maybe_unused_helpers:  # a layer rewritten after its rule ran (torch_to_tf/layout.py)
            named = _names(body)
            self.helpers -= {h for h in ctx.maybe_unused_helpers if h not in named}
        framework = {id(n) for n in ctx.imports.framework_imports}
        out: list[_Statement] = []
        insert_at: int | None = None
        header: list[cst.EmptyLine] = []  # comments above the first removed import
        carry: list[cst.EmptyLine] = []  # comments above later removed imports
        for stmt in body:
            if self._unused_fallback(stmt, framework):  # try: import keras / except ImportError: ...
                if insert_at is None:
                    insert_at, header = len(out), list(stmt.leading_lines)
                else:
                    carry.extend(stmt.leading_lines)
                continue
            if isinstance(stmt, cst.SimpleStatementLine) and any(id(s) in framework for s in stmt.body):
                first = insert_at is None
                if first:
                    insert_at = len(out)
                kept = [k for k in (self._prune(s) if id(s) in framework else s for s in stmt.body) if k is not None]
                if kept:
                    out.append(stmt.with_changes(body=kept, leading_lines=[*carry, *stmt.leading_lines]))
                    carry = []
                elif first:
                    header = list(stmt.leading_lines)
                else:
                    carry.extend(stmt.leading_lines)
                continue
            if carry:
                stmt = stmt.with_changes(leading_lines=[*carry, *stmt.leading_lines])
                carry = []
            out.append(stmt)
        existing = {code(s).strip() for s in out if _is_import_line(s)}  # after pruning: a pruned
        # framework import the output needs again (`import einops`) is re-added
        wanted = sorted(set(ctx.target_imports) | self._support_imports(), key=_import_sort_key)
        new_imports = [statement(line + "\n") for line in wanted if line.strip() not in existing]
        if insert_at is None:
            insert_at = _after_header(out)
        if new_imports:
            new_imports[0] = new_imports[0].with_changes(leading_lines=header)
        elif header and insert_at < len(out):
            out[insert_at] = out[insert_at].with_changes(leading_lines=[*header, *out[insert_at].leading_lines])
        out[insert_at:insert_at] = new_imports
        needed = ctx.rules.support.closure(self.helpers)
        support = [ctx.rules.support.definition(n) for n in needed]
        support += [fn for _, fn in ctx.factories.values()]
        if support:
            # after the import block, and never above the imports added here (which it uses)
            at = max(_after_imports(out), insert_at + len(new_imports))
            blank = [cst.EmptyLine(), cst.EmptyLine()]
            support = [s.with_changes(leading_lines=blank) for s in support]
            if at < len(out):
                out[at] = out[at].with_changes(leading_lines=blank + _strip_blank(out[at].leading_lines))
            out[at:at] = support
        return out

    def _support_imports(self) -> set[str]:
        lib = self.ctx.rules.support
        return lib.imports_for(lib.closure(self.helpers))

    def _unused_fallback(self, stmt: _Statement, framework: set[int]) -> bool:
        """A ``try:`` of framework imports with ``except ImportError:`` fallbacks that import the
        framework another way, none of whose names the output still uses: it goes whole (an
        import kept because a name is still used keeps its ``try`` as written)."""
        if not isinstance(stmt, cst.Try) or stmt.orelse is not None or stmt.finalbody is not None:
            return False
        if not stmt.handlers or not all(_catches_import_error(h) for h in stmt.handlers):
            return False
        blocks = [stmt.body, *(h.body for h in stmt.handlers)]
        smalls: list[cst.BaseSmallStatement] = []
        for block in blocks:
            for line in getattr(block, "body", ()):
                if not isinstance(line, cst.SimpleStatementLine):
                    return False
                smalls.extend(s for s in line.body if not isinstance(s, cst.Pass))
        if not smalls or not all(id(s) in framework for s in smalls):
            return False
        return all(self._prune(s) is None for s in smalls)

    def _prune(self, node: cst.BaseSmallStatement):
        if not isinstance(node, (cst.Import, cst.ImportFrom)):  # (only imports are framework imports)
            return node
        """Drop the aliases of an import whose names the output no longer uses."""
        used = self.ctx.still_used
        if isinstance(node, cst.ImportFrom) and isinstance(node.names, cst.ImportStar):
            return node if self.ctx.still_used else None
        keep = []
        for alias in node.names:  # type: ignore[union-attr]
            name = dotted_name(alias.name) or ""
            if isinstance(node, cst.Import) and not self.ctx.imports.is_framework(name):
                keep.append(alias)  # `import os, torch`: os is not ours to remove
                continue
            if alias.asname is not None:
                local = alias.asname.name.value  # type: ignore[union-attr]
            else:
                local = name.split(".", 1)[0]
            if local in used:
                keep.append(alias)
        if not keep:
            return None
        keep[-1] = keep[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return node.with_changes(names=keep)


class _NestedImports(cst.CSTTransformer):
    """Framework imports inside functions (lazy imports) pruned where they stand, like the
    module's: the target's imports are at the top of the file."""

    def __init__(self, finish: FinishModule) -> None:
        super().__init__()
        self.finish = finish
        self.nested = finish.ctx.imports.nested_imports

    def on_visit(self, node: cst.CSTNode) -> bool:
        # statements only; a stand-in (stand_ins.py) holds no framework code and must stay as it is
        if type(node).__name__ in STAND_IN_KINDS or isinstance(node, cst.BaseExpression):
            return False
        return super().on_visit(node)

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
        return False

    def leave_SimpleStatementLine(self, original, updated):
        if not any(id(s) in self.nested for s in original.body):
            return updated
        kept = [k for k in (self.finish._prune(s) if id(s) in self.nested else s for s in original.body) if k]
        if kept:
            kept[-1] = kept[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
            return updated.with_changes(body=kept)
        return cst.RemoveFromParent()

    def leave_IndentedBlock(self, original, updated):
        if updated.body:
            return updated
        return updated.with_changes(body=[cst.SimpleStatementLine(body=[cst.Pass()])])


_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError"})


def _catches_import_error(handler: cst.ExceptHandler) -> bool:
    kind = handler.type
    if kind is None:
        return True  # a bare `except:`
    names = [e.value for e in kind.elements] if isinstance(kind, cst.Tuple) else [kind]
    return all(dotted_name(n) in _IMPORT_ERRORS for n in names)


def _names(body: list[_Statement]) -> set[str]:
    found: set[str] = set()

    class V(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            found.add(node.value)

    for stmt in body:
        stmt.visit(V())
    return found


def _strip_blank(lines):
    lines = list(lines)
    while lines and lines[0].comment is None:
        lines.pop(0)
    return lines


def _is_import_line(stmt: cst.CSTNode) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(
        isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body
    )


def _is_docstring(stmt: cst.CSTNode) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _after_header(body: list) -> int:
    """After the docstring, and the bare strings and ``from __future__`` imports before the
    first other statement (nothing may precede a ``__future__`` import)."""
    i = 0
    while i < len(body) and (
        _is_docstring(body[i])
        or (
            _is_import_line(body[i])
            and isinstance(body[i].body[0], cst.ImportFrom)
            and dotted_name(body[i].body[0].module or cst.Name("")) == "__future__"
        )
    ):
        i += 1
    return i


def _after_imports(body: list) -> int:
    i = _after_header(body)
    last = i
    for j in range(i, len(body)):
        stmt = body[j]
        if _is_import_line(stmt):
            last = j + 1
        elif isinstance(stmt, (cst.Try, cst.If)) and j == last:
            # guarded imports (try: import x / except ImportError) count as imports
            last = j + 1 if "import" in code(stmt).split("\n", 1)[0] or _guarded_import(stmt) else last
        else:
            break
    return last


def _guarded_import(stmt) -> bool:
    return isinstance(stmt, cst.Try) and all(_is_import_line(s) for s in stmt.body.body)
