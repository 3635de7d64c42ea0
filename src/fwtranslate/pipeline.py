"""parse -> analyze -> rewrite -> emit -> report, for one source text.

The passes share a single LibCST traversal (see passes/base.py): translation speed is judged
against a bare parse + codegen, and every extra walk of the tree costs about one parse.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from .directions import Direction
from .imports import ImportMap, free_globals
from .passes import PASSES
from .passes.context import Context
from .passes.scopes import ScopeTracker
from .report import ERROR, Diagnostic
from .rules import RuleSet


class TranslationError(Exception):
    """Bad input: nothing was translated (syntax error, undecodable text...)."""

    def __init__(self, message: str, line: int = 0, col: int = 0):
        super().__init__(message)
        self.line, self.col = line, col


@dataclass
class RewriteResult:
    code: str
    diagnostics: list[Diagnostic]
    framework_locals: set[str] = field(default_factory=set)  # names bound to the source framework
    kept_locals: set[str] = field(default_factory=set)  # of those, the ones the output still uses


class _Driver(cst.CSTTransformer):
    """Dispatches each visit/leave to the passes' handlers, in pass order."""

    def __init__(self, ctx: Context, passes: Iterable):
        super().__init__()
        self.ctx = ctx
        self._visit: dict[str, list[Callable]] = {}
        self._leave: dict[str, list[Callable]] = {}
        for p in passes:
            for attr in dir(type(p)):
                if attr.startswith("visit_"):
                    self._visit.setdefault(attr[6:], []).append(getattr(p, attr))
                elif attr.startswith("leave_"):
                    self._leave.setdefault(attr[6:], []).append(getattr(p, attr))
        # the scope tracker pops its stacks after every other pass has left the node, always
        self._scope_leave: dict[str, list[Callable]] = {}
        for key, handlers in self._leave.items():
            self._scope_leave[key] = [h for h in handlers if isinstance(h.__self__, ScopeTracker)]
            handlers[:] = [h for h in handlers if not isinstance(h.__self__, ScopeTracker)]

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.ctx.parents.append(node)  # popped in on_leave, which LibCST calls even when we skip
        for handler in self._visit.get(type(node).__name__, ()):
            if handler(node) is False:
                return False
        return True

    def on_leave(self, original: cst.CSTNode, updated: cst.CSTNode):  # type: ignore[override]
        result = updated
        for handler in self._leave.get(type(original).__name__, ()):
            result = handler(original, result)
            if not isinstance(result, type(original)):
                break  # replaced by another kind of node (or removed): later handlers don't apply
        for handler in self._scope_leave.get(type(original).__name__, ()):
            handler(original, original)
        self.ctx.parents.pop()
        return result

    # attribute-level hooks are unused: skip LibCST's per-attribute getattr dispatch
    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        return None

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        return None


_SELF_ATTR = re.compile(r"\bself\.(\w+)\s*(?::[^=\n]*)?=(?!=)")


def rewrite(source: str, path: str, direction: Direction, rules: RuleSet) -> RewriteResult:
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        raise _syntax_error(source, path, exc) from None
    imports = ImportMap.from_module(module, direction.source_roots)
    if imports.star_modules:
        imports.star_free = free_globals(source)
    star_names = frozenset(rules.calls) | frozenset(rules.attributes) if imports.star_modules else frozenset()
    ctx = Context(path=path, direction=direction, rules=rules, imports=imports, star_names=star_names,
                  self_attrs=frozenset(_SELF_ATTR.findall(source)))
    if not imports.bindings and not imports.star_modules:
        return RewriteResult(source, [])  # no framework code: unchanged
    ctx.target_imports.add(f"import {direction.layer_base.split('.', 1)[0]}")
    new_module = module.visit(_Driver(ctx, [p(ctx) for p in PASSES]))
    diagnostics = _locate(module, ctx, path)
    return RewriteResult(new_module.code, diagnostics, set(imports.bindings), set(ctx.still_used))


def _syntax_error(source: str, path: str, exc: cst.ParserSyntaxError) -> TranslationError:
    """LibCST's native parser often points past the error (the next line, column 1);
    CPython's parser gives the exact place and a clearer message, so ask it first."""
    try:
        compile(source, path, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as err:
        if err.lineno:
            return TranslationError(f"syntax error: {err.msg}", err.lineno, err.offset or 1)
    except (ValueError, MemoryError, RecursionError):
        pass
    return TranslationError(f"syntax error: {exc.message}", exc.editor_line, exc.editor_column)


def _locate(module: cst.Module, ctx: Context, path: str) -> list[Diagnostic]:
    """Line:col for each diagnostic; positions are computed only when there is something to say."""
    if not ctx.diagnostics:
        return []
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    out = []
    for d in ctx.diagnostics:
        pos = positions.get(d.node)
        line, col = (pos.start.line, pos.start.column + 1) if pos else (0, 0)
        out.append(Diagnostic(path, line, col, d.severity, d.code, d.message))
    out.sort(key=lambda d: (d.line, d.col, d.severity != ERROR))
    return out
