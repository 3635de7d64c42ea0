"""parse -> analyze -> rewrite -> emit -> report, for one source text.

The passes share a single LibCST traversal (see passes/base.py): translation speed is judged
against a bare parse + codegen, and every extra walk of the tree costs about one parse.
"""
from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import re
import typing
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
        # node types whose leave needs more than the pop of the parents stack
        self._leaving = frozenset(k for k in (*self._leave, *self._scope_leave)
                                  if self._leave.get(k) or self._scope_leave.get(k))
        self._opaque = _opaque_types(frozenset(self._visit) | self._leaving)

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.ctx.parents.append(node)  # popped in on_leave, which LibCST calls even when we skip
        if id(node) in self.untouched:
            return False
        kind = type(node).__name__
        for handler in self._visit.get(kind, ()):
            if handler(node) is False:
                return False
        # nothing below this node has a handler (whitespace, commas, a Name's parentheses...):
        # LibCST would only rebuild an equal copy of the subtree, node by node
        return kind not in self._opaque

    def on_leave(self, original: cst.CSTNode, updated: cst.CSTNode):  # type: ignore[override]
        kind = type(original).__name__
        if kind not in self._leaving or id(original) in self.untouched:
            self.ctx.parents.pop()
            return updated
        result = updated
        for handler in self._leave.get(kind, ()):
            result = handler(original, result)
            if not isinstance(result, type(original)):
                break  # replaced by another kind of node (or removed): later handlers don't apply
        for handler in self._scope_leave.get(kind, ()):
            handler(original, original)
        self.ctx.parents.pop()
        return result

    # attribute-level hooks are unused: skip LibCST's per-attribute getattr dispatch
    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        return None

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        return None


@functools.lru_cache(maxsize=None)
def _opaque_types(handled: frozenset[str]) -> frozenset[str]:
    """Names of the LibCST node types none of whose possible descendants is in ``handled``
    (the node types some pass has a handler for), from the types of the nodes' fields.

    The driver does not descend into those: their subtrees stay the original objects, where
    LibCST would rebuild an equal copy of each node (about half the nodes of a visited
    statement are whitespace). Handlers of the type itself still run; a leave handler then
    gets ``updated is original``.
    """
    concrete = _concrete_subclasses
    parents: dict[type, set[type]] = {}  # child type -> the types with a field that may hold it
    dirty: set[type] = set()  # types that may have a handled descendant
    for cls in concrete(cst.CSTNode):
        try:
            hints = typing.get_type_hints(cls)
        except Exception:  # noqa: BLE001 - a type we cannot read is never opaque
            dirty.add(cls)
            continue
        kids: set[type] = set()
        for f in dataclasses.fields(cls):
            _node_types(hints.get(f.name), kids)
        if any(k.__name__ in handled for k in kids):
            dirty.add(cls)
        for k in kids:
            parents.setdefault(k, set()).add(cls)
    stack = list(dirty)
    while stack:
        for parent in parents.get(stack.pop(), ()):
            if parent not in dirty:
                dirty.add(parent)
                stack.append(parent)
    classes = concrete(cst.CSTNode)
    dirty_names = {c.__name__ for c in dirty}  # two classes of one name: both must be opaque
    return frozenset(c.__name__ for c in classes if c.__name__ not in dirty_names)


@functools.lru_cache(maxsize=None)
def _concrete_subclasses(cls: type) -> tuple[type, ...]:
    found, stack, seen = [], [cls], set()
    while stack:
        c = stack.pop()
        if c in seen:
            continue
        seen.add(c)
        stack.extend(c.__subclasses__())
        if dataclasses.is_dataclass(c) and not inspect.isabstract(c):
            found.append(c)
    return tuple(found)


def _node_types(hint, out: set) -> None:
    """The concrete CST node classes a field annotation admits."""
    if inspect.isclass(hint):
        if issubclass(hint, cst.CSTNode):
            out.update(_concrete_subclasses(hint))
        return
    for arg in typing.get_args(hint):
        _node_types(arg, out)


_SELF_ATTR = re.compile(r"\bself\.(\w+)\s*(?::[^=\n]*)?=(?!=)")


def rewrite(source: str, path: str, direction: Direction, rules: RuleSet) -> RewriteResult:
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        raise _syntax_error(source, path, exc) from None
    imports = ImportMap.from_module(module, direction.source_roots,
                                    direction.canonical if direction.canonical_prefixes else None)
    if imports.star_modules:
        imports.star_free = free_globals(source)
    star_names = frozenset(rules.calls) | frozenset(rules.attributes) if imports.star_modules else frozenset()
    ctx = Context(path=path, direction=direction, rules=rules, imports=imports, star_names=star_names,
                  self_attrs=frozenset(_SELF_ATTR.findall(source)))
    if not imports.framework_imports:
        return RewriteResult(source, [])  # no framework code: unchanged
    ctx.target_imports.update(direction.target_imports)
    ctx.suppressed = suppress.checker(module, source)  # `# fwtranslate: ignore[RULE]` comments
    passes = PASSES_BY_DIRECTION[direction.name]
    spans = _statement_spans(module, source)
    interesting = _interesting_names(ctx, source)
    # `self.relu(x)` calls a sub-layer, not Tensor.relu: such attributes say nothing
    sublayers = (ctx.self_attrs - _STRUCTURAL_NAMES - _variable_attributes(source)
                 - {n for n, r in rules.methods.items() if r.is_module_member})
    untouched = _untouched_statements(module, source, spans, interesting, sublayers)
    instances = [p(ctx) for p in passes]
    for instance in instances:  # a pass that analyses the file first names what it must visit
        prepare = getattr(instance, "prepare", None)
        if prepare is not None:
            untouched = untouched - prepare(module)
    new_module = module.visit(_Driver(ctx, instances, untouched))
    diagnostics = _locate(module, ctx, path, spans, source)
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
# (the leading lookahead only filters: every match starts with one of those characters, and
# it lets the regex engine skip the other positions fast: 2-3 times faster)
_CODE_ONLY = re.compile(
    r"(?=[rRbBuUfF\"'#])(?:"
    r"(?P<fstring>(?<!\w)[rR]?[fF][rR]?(?:" + _Q3 + r"))"
    r"|(?P<blank>(?<!\w)[rRbBuU]{0,2}(?:" + _Q3 + r")|#[^\n]*)"
    r"|(?P<keep>(?<!\w)[rRbBuUfF]{0,2}(?:\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*')))")
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


def _locate(module: cst.Module, ctx: Context, path: str, spans: dict[int, tuple[int, int]],
            source: str = "") -> list[Diagnostic]:
    """Line:col for each diagnostic.

    LibCST's PositionProvider re-generates the code it measures, at several times the cost of a
    plain codegen. So positions are computed only for the statements that hold a diagnostic,
    each on its own, and shifted by the line where CPython's parser (C code, fast) says the
    statement starts: the innermost statement (see _locate_nested), else the top-level one, where
    columns need no shift (top-level statements start at column 0).
    """
    if not ctx.diagnostics:
        return []
    by_top: dict[int, list] = {}
    for d in ctx.diagnostics:
        by_top.setdefault(id(d.top), []).append(d)
    nested = _locate_nested(module, ctx.diagnostics, spans, source) if source else {}
    out = []
    for stmt in module.body:
        found = by_top.pop(id(stmt), None)
        if not found:
            continue
        positions = None
        offset = spans.get(id(stmt), (1, 1))[0] - 1
        for d in found:
            at = nested.get(id(d))
            if at is None:
                if positions is None:
                    alone = module.with_changes(body=[stmt.with_changes(leading_lines=[])], header=[], footer=[])
                    positions = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
                pos = positions.get(d.node)
                at = (pos.start.line + offset, pos.start.column + 1) if pos else (offset + 1, 1)
            out.append(Diagnostic(path, at[0], at[1], d.severity, d.code, d.message))
    for found in by_top.values():  # not inside a top-level statement (the module itself)
        out.extend(Diagnostic(path, 1, 1, d.severity, d.code, d.message) for d in found)
    out.sort(key=lambda d: (d.line, d.col, d.severity != ERROR))
    return out


_NEWLINE = re.compile(r"\r\n?|\n")  # LibCST's and CPython's line ends


def _locate_nested(module: cst.Module, diagnostics: list, spans: dict[int, tuple[int, int]],
                   source: str) -> dict[int, tuple[int, int]]:
    """id(diagnostic) -> (line, col), from the innermost statement with a span below the
    top-level one (a diagnostic in a 300-line class costs the positions of its one line).

    That statement's code on its own is its source text less its indentation: where its lines
    are suffixes of the source lines, the column shifts by the difference. A node that starts
    inside a line's indentation, or at column 0 of an unindented line without being an
    expression or a simple statement (whose positions start after the indentation), is left
    to the top-level statement's positions.
    """
    found: dict[int, tuple[int, int]] = {}
    cache: dict[int, tuple] = {}
    src_lines: list[str] | None = None
    for d in diagnostics:
        stmt = next((n for n in reversed(d.path[2:]) if id(n) in spans), None)
        if stmt is None or len(d.path) < 2 or d.path[1] is not d.top:
            continue
        if id(stmt) not in cache:
            alone = module.with_changes(body=[stmt.with_changes(leading_lines=[])], header=[], footer=[])
            positions = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
            cache[id(stmt)] = (positions, _NEWLINE.split(alone.code))
        positions, alone_lines = cache[id(stmt)]
        pos = positions.get(d.node)
        if pos is None:
            continue
        if src_lines is None:
            src_lines = _NEWLINE.split(source)
        line = spans[id(stmt)][0] + pos.start.line - 1
        if not 0 < line <= len(src_lines) or pos.start.line > len(alone_lines):
            continue
        mine, theirs = alone_lines[pos.start.line - 1], src_lines[line - 1]
        indent = len(mine) - len(mine.lstrip())
        col = pos.start.column
        if not theirs.endswith(mine) or col < indent or (
                col == 0 and not isinstance(d.node, (cst.BaseExpression, cst.SimpleStatementLine))):
            continue
        found[id(d)] = (line, col + len(theirs) - len(mine) + 1)
    return found
