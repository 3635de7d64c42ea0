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

from . import suppress
from .directions import Direction
from .imports import ImportMap, free_globals
from .passes import PASSES_BY_DIRECTION
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

    def __init__(self, ctx: Context, passes: Iterable, untouched: frozenset[int] = frozenset()):
        super().__init__()
        self.ctx = ctx
        self.untouched = untouched  # ids of top-level statements with nothing to translate
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
        if id(node) in self.untouched:
            return False
        for handler in self._visit.get(type(node).__name__, ()):
            if handler(node) is False:
                return False
        return True

    def on_leave(self, original: cst.CSTNode, updated: cst.CSTNode):  # type: ignore[override]
        if id(original) in self.untouched:
            self.ctx.parents.pop()
            return updated
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
    if not imports.framework_imports:
        return RewriteResult(source, [])  # no framework code: unchanged
    ctx.target_imports.add(f"import {direction.layer_base.split('.', 1)[0]}")
    ctx.suppressed = suppress.checker(module, source)  # `# fwtranslate: ignore[RULE]` comments
    passes = PASSES_BY_DIRECTION[direction.name]
    spans = _statement_spans(module, source)
    interesting = _interesting_names(ctx, source)
    # `self.relu(x)` calls a sub-layer, not Tensor.relu: such attributes say nothing
    sublayers = (ctx.self_attrs - _STRUCTURAL_NAMES - _variable_attributes(source)
                 - {n for n, r in rules.methods.items() if r.is_module_member})
    untouched = _untouched_statements(module, source, spans, interesting, sublayers)
    new_module = module.visit(_Driver(ctx, [p(ctx) for p in passes], untouched))
    diagnostics = _locate(module, ctx, path, spans)
    return RewriteResult(new_module.code, diagnostics, set(imports.bindings), set(ctx.still_used))


# names any pass reacts to besides the framework's own and the rules' method/attribute names
_STRUCTURAL_NAMES = frozenset({"training", "forward", "register_buffer", "register_parameter", "add_module"})


def _interesting_names(ctx: Context, source: str) -> set[str]:
    names = set(ctx.imports.bindings) | set(ctx.rules.methods) | set(ctx.rules.members) | _STRUCTURAL_NAMES
    names |= {f"{m}_" for m in ctx.rules.methods}  # in-place forms: x.add_(y)
    if ctx.imports.star_modules:
        names |= ctx.imports.star_free
    names |= _variable_attributes(source)  # `self.count += 1` updates a buffer
    return names


def _variable_attributes(source: str) -> set[str]:
    return {n for pair in _VARIABLE_ATTR.findall(source) for n in pair if n}


# attributes that become keras.Variables: registered buffers/parameters, nn.Parameter(...)
_VARIABLE_ATTR = re.compile(r"register_(?:buffer|parameter)\(\s*[\"'](\w+)|\bself\.(\w+)\s*=\s*[\w.]*Parameter\(")


def _statement_spans(module: cst.Module, source: str) -> dict[int, tuple[int, int]]:
    """id(CST statement) -> (first line, decorators included; last line) for the top-level
    statements and, recursively, those in the blocks of compound statements; from CPython's own
    parser (C code, much cheaper than LibCST's position metadata)."""
    spans: dict[int, tuple[int, int]] = {}
    _match_spans(module.body, ast.parse(source).body, spans)
    return spans


def _match_spans(cst_body, ast_body: list, spans: dict[int, tuple[int, int]]) -> None:
    i = 0
    for stmt in cst_body:
        if i >= len(ast_body):
            break
        # `a = 1; b = 2` is one CST line and two ast statements
        count = len(stmt.body) if isinstance(stmt, cst.SimpleStatementLine) else 1
        first, last = ast_body[i], ast_body[i + count - 1]
        start = min([first.lineno] + [d.lineno for d in getattr(first, "decorator_list", [])])
        spans[id(stmt)] = (start, last.end_lineno or start)
        for cst_block, ast_block in zip(_cst_blocks(stmt), _ast_blocks(first)):
            _match_spans(cst_block, ast_block, spans)
        i += count


def _cst_blocks(stmt) -> list:
    """The statement lists of a compound statement, in the order of _ast_blocks."""
    def body(node) -> list:
        return list(node.body.body) if isinstance(node.body, cst.IndentedBlock) else []

    if isinstance(stmt, (cst.ClassDef, cst.FunctionDef, cst.With)):
        return [body(stmt)]
    if isinstance(stmt, (cst.For, cst.While)):
        return [body(stmt), body(stmt.orelse) if stmt.orelse else []]
    if isinstance(stmt, cst.If):
        orelse = stmt.orelse
        return [body(stmt), [orelse] if isinstance(orelse, cst.If) else body(orelse) if orelse else []]
    if isinstance(stmt, cst.Try):
        return [body(stmt), *(body(h) for h in stmt.handlers),
                body(stmt.orelse) if stmt.orelse else [], body(stmt.finalbody) if stmt.finalbody else []]
    return []


def _ast_blocks(node) -> list:
    if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef, ast.With)):
        return [node.body]
    if isinstance(node, (ast.For, ast.While, ast.If)):
        return [node.body, node.orelse]
    if isinstance(node, ast.Try):
        return [node.body, *(h.body for h in node.handlers), node.orelse, node.finalbody]
    return []


_WORD = re.compile(r"[A-Za-z_]\w*")
# Docstrings (triple-quoted, not f-strings, which hold code) and comments: their words are no
# code. One-line strings are matched so that a `#` inside one is not taken for a comment, and
# kept: a forward-reference annotation "torch.Tensor" is one.
_Q3 = "\"\"\"[\\s\\S]*?\"\"\"|'''[\\s\\S]*?'''"
_CODE_ONLY = re.compile(
    r"(?P<fstring>(?<!\w)[rR]?[fF][rR]?(?:" + _Q3 + r"))"
    r"|(?P<blank>(?<!\w)[rRbBuU]{0,2}(?:" + _Q3 + r")|#[^\n]*)"
    r"|(?P<keep>(?<!\w)[rRbBuUfF]{0,2}(?:\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'))")
_NOT_NEWLINE = re.compile(r"[^\n]")
_SELF_ATTRIBUTE = re.compile(r"\bself\.(\w+)")


def _blank(match: re.Match) -> str:
    if match.group("blank") is None:
        return match.group()
    return _NOT_NEWLINE.sub(" ", match.group())  # keep the line structure


def _untouched_statements(module: cst.Module, source: str, spans: dict[int, tuple[int, int]],
                          interesting: set[str], sublayers: frozenset[str] = frozenset()) -> frozenset[int]:
    """Statements whose text mentions no name any pass or rule reacts to.

    Visiting a subtree costs about as much as parsing it, and model files carry large
    framework-free parts (weight enums, docs, factories, `x = self.block(x)` lines): a regex
    over each statement's lines finds them, at the top level and inside classes and
    functions. A false hit (the word in a comment) only costs a visit. A class deriving from
    a class that is translated is visited too. ``self.<sublayer>`` names (attributes the file
    assigns) are no Tensor methods, whatever they are called.
    """
    code = _CODE_ONLY.sub(_blank, source)
    if sublayers:
        code = _SELF_ATTRIBUTE.sub(lambda m: "self" if m.group(1) in sublayers else m.group(), code)
    lines = code.splitlines(keepends=True)
    untouched: set[int] = set()

    def check(body) -> None:
        for stmt in body:
            span = spans.get(id(stmt))
            if span is None:
                continue
            words = set(_WORD.findall("".join(lines[span[0] - 1:span[1]])))
            if not words & interesting:
                untouched.add(id(stmt))
                continue
            if isinstance(stmt, cst.ClassDef):
                interesting.add(stmt.name.value)
            for block in _cst_blocks(stmt):
                check(block)

    check(module.body)
    return frozenset(untouched)


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


def _locate(module: cst.Module, ctx: Context, path: str, spans: dict[int, tuple[int, int]]) -> list[Diagnostic]:
    """Line:col for each diagnostic.

    LibCST's PositionProvider re-generates the code it measures, at several times the cost of a
    plain codegen. So positions are computed only for the top-level statements that hold a
    diagnostic, each on its own, and shifted by the line where CPython's parser (C code, fast)
    says the statement starts. Columns need no shift: top-level statements start at column 0.
    """
    if not ctx.diagnostics:
        return []
    by_top: dict[int, list] = {}
    for d in ctx.diagnostics:
        by_top.setdefault(id(d.top), []).append(d)
    out = []
    for stmt in module.body:
        found = by_top.pop(id(stmt), None)
        if not found:
            continue
        alone = module.with_changes(body=[stmt.with_changes(leading_lines=[])], header=[], footer=[])
        positions = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
        offset = spans.get(id(stmt), (1, 1))[0] - 1
        for d in found:
            pos = positions.get(d.node)
            line, col = (pos.start.line + offset, pos.start.column + 1) if pos else (offset + 1, 1)
            out.append(Diagnostic(path, line, col, d.severity, d.code, d.message))
    for found in by_top.values():  # not inside a top-level statement (the module itself)
        out.extend(Diagnostic(path, 1, 1, d.severity, d.code, d.message) for d in found)
    out.sort(key=lambda d: (d.line, d.col, d.severity != ERROR))
    return out
