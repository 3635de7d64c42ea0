"""The fast path: framework-free code is not parsed by LibCST but stood in for.

Framework-free code (weight enums, helpers, `x = self.block(x)` lines, docstrings) is half of
a model file; skipping it in the traversal still costs its parse and codegen, as much as the
rest of a translation. So the source LibCST parses has such classes, functions and lines
replaced by skeletons of the same kind, name and indentation (`class ResNet18_Weights:` + an
indented `pass`; `x = 0` for a line that assigns x), and the tree gets, in each skeleton's
place, a node whose code is the original text.

Why the output cannot change: a block owns the comment lines after it that start with its
indentation, up to the last one (LibCST's footer rule), and the skeleton's block has the
original's indentation, so every line outside the stand-in keeps its owner. The first
indented block sets the module's default indentation: the skeleton's is the original's.
Stand-ins keep what imports.py and the scope tracker read (names, the names a line binds);
no stand-in is where a pass reads more (`with` bodies; module-level lines other than plain
assignments). The rest is checked: a stand-in that a pass visits, changes or moves (another
indentation), or a stand-in class named like a model class, raises SpliceError, and the
file is translated whole. tests/common/test_fast_paths.py compares both ways.
"""

from __future__ import annotations

import ast
import dataclasses
import gc
import threading
from dataclasses import dataclass, field
from importlib import metadata

import libcst as cst

from .cstutil import walk
from .directions import Direction
from .rules import RuleSet
from .untouched import (
    CLASS_NAME,
    SELF_ATTR,
    Hits,
    Words,
    arithmetic_names,
    ast_blocks,
    cst_blocks,
    mutation_names,
    rule_names,
    sublayer_attributes,
    variable_attributes,
)

# Stand-in nodes subclass LibCST's nodes and override its private code generation
# (``_codegen_impl``): enabled only on the LibCST releases the tests prove it on
# (tests/common/test_fast_paths.py; the ``test`` extra pins the one CI installs). On any other
# release every file is translated whole: slower, the same output.
TESTED_LIBCST = ("1.9",)
ENABLED = ".".join(metadata.version("libcst").split(".")[:2]) in TESTED_LIBCST


class SpliceError(Exception):
    """A stand-in was not left alone: translate the whole tree instead."""


class _StandIn:
    """Mixin of the stand-in node classes; ``fwt_stand_in`` = (original text, its indentation,
    the skeleton node)."""

    __slots__ = ()

    def _codegen_impl(self, state, **kwargs) -> None:
        text, indent, skeleton = self.fwt_stand_in  # type: ignore[attr-defined]
        for line in self.leading_lines:  # type: ignore[attr-defined]
            line._codegen(state)
        if "".join(state.indent_tokens) != indent or any(
            getattr(self, f.name) is not getattr(skeleton, f.name)
            for f in dataclasses.fields(skeleton)
            if f.name != "leading_lines"
        ):
            # counted, not raised: LibCST's position bookkeeping breaks on an exception
            _faults.count = getattr(_faults, "count", 0) + 1
        state.add_token(text)


_faults = threading.local()  # stand-ins emitted moved or changed, in this thread


def fault_count() -> int:
    return getattr(_faults, "count", 0)


def set_fault_count(count: int) -> None:
    """Forget the faults counted since ``fault_count()`` said ``count`` (locate.py re-emits
    statements on their own, where a stand-in's indentation differs by design)."""
    _faults.count = count


@dataclasses.dataclass(frozen=True)
class StandInClass(_StandIn, cst.ClassDef):
    fwt_stand_in: tuple = ()


@dataclasses.dataclass(frozen=True)
class _StandInFunction(_StandIn, cst.FunctionDef):
    fwt_stand_in: tuple = ()


@dataclasses.dataclass(frozen=True)
class _StandInLine(_StandIn, cst.SimpleStatementLine):
    fwt_stand_in: tuple = ()


STAND_IN_KINDS = frozenset(c.__name__ for c in (StandInClass, _StandInFunction, _StandInLine))


@dataclass
class Plan:
    reduced: str  # the source with skeletons
    tree: ast.Module  # of the original source
    lines: list[str]  # of the original source, without their "\n"
    words: Words
    stand_ins: dict[int, tuple]  # id(ast statement) -> (kind, first line, last line, indentation, statements)
    paths: set[int] = field(default_factory=set)  # ids of the ast statements that hold stand-ins
    self_attrs: frozenset[str] = frozenset()
    variable: set[str] = field(default_factory=set)


def plan_stand_ins(source: str, direction: Direction, rules: RuleSet, passes, facts=None) -> Plan | None:
    """The stand-ins of a file (None: parse it whole): the classes and functions at any depth,
    the lines of simple statements in them, and the top-level assignments to plain names, that
    hold no name any pass reacts to. The same check as untouched_statements, on CPython's tree,
    with every name the framework imports bind (a superset: a statement it finds framework-free
    is), verified on LibCST's tree by check_stand_ins_untouched."""
    if not ENABLED:
        return None
    if any(p.reads_whole_tree(source, rules) for p in passes):
        return None  # a pass that reads the whole file needs the whole tree
    if "\r" in source or not source.endswith("\n"):
        return None
    try:
        tree = _parse_acyclic(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    bindings = _framework_names(tree.body, direction.source_roots)
    if not bindings:
        return None  # no framework import (nothing to translate), or a star import
    # a piece of a long file (chunked.Facts): what the whole file's text says
    variable = variable_attributes(source) if facts is None else facts.variable
    self_attrs = frozenset(SELF_ATTR.findall(source)) if facts is None else facts.self_attrs
    interesting = bindings | rule_names(rules) | variable | mutation_names(source) | arithmetic_names(source)
    # the names the checks may look for: these, and the classes the file defines
    vocabulary = interesting | (set(CLASS_NAME.findall(source)) if facts is None else facts.class_names)
    words = Words(source, sublayer_attributes(self_attrs, variable, rules), vocabulary)
    hits = Hits(words, interesting)
    lines = source.split("\n")
    plan = Plan("", tree, lines, words, {}, self_attrs=self_attrs, variable=variable)
    planner = _Planner(plan, hits, lines)
    planner.check(tree.body, 0, False, False)
    skeletons = planner.skeletons
    if not skeletons:
        return None
    parts, done = [], 0
    for first, last, skeleton in skeletons:  # in source order, never nested
        parts.append("".join(line + "\n" for line in lines[done : first - 1]))
        parts.append(skeleton)
        done = last
    parts.append("\n".join(lines[done:]))
    plan.reduced = "".join(parts)
    return plan


class _Planner:
    """plan_stand_ins' walk over CPython's tree, in untouched_statements' order."""

    def __init__(self, plan: Plan, hits: Hits, lines: list[str]):
        self.plan, self.hits, self.lines = plan, hits, lines
        self.skeletons: list[tuple[int, int, str]] = []
        self.path: list[int] = []  # ids of the enclosing statements

    def check(self, body: list, depth: int, in_def: bool, in_with: bool) -> None:
        i = 0
        while i < len(body):
            node, j = body[i], i + 1
            if not isinstance(node, _AST_COMPOUND):  # `a = 1; b = 2`: one CST line
                while (
                    j < len(body)
                    and not isinstance(body[j], _AST_COMPOUND)
                    and body[j].lineno == body[j - 1].end_lineno
                ):
                    j += 1
            group, i = body[i:j], j
            first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            last = group[-1].end_lineno or first
            if self.hits.within(first, last):
                if isinstance(node, ast.ClassDef):
                    self.hits.add(node.name)
                self.path.append(id(node))
                inner = (
                    in_def or isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)),
                    in_with or isinstance(node, (ast.With, ast.AsyncWith)),
                )
                for block in ast_blocks(node):
                    self.check(block, depth + 1, *inner)
                self.path.pop()
                continue
            if in_with:  # `with torch.no_grad():` moves and rewrites its body
                continue
            if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                made = _compound_skeleton(node, first, self.lines)
            elif depth == 0:  # imports.py reads top-level assignments to plain names
                made = (
                    ("line", "", " = ".join(t.id for t in node.targets) + " = 0\n")  # type: ignore[attr-defined]
                    if (
                        len(group) == 1
                        and isinstance(node, ast.Assign)
                        and all(isinstance(t, ast.Name) for t in node.targets)
                    )
                    else None
                )
            elif in_def and not isinstance(node, _AST_COMPOUND):
                made = _simple_skeleton(group, first, last, self.lines)
            else:
                continue
            if made is None:
                continue
            kind, indent, skeleton = made
            self.plan.stand_ins[id(node)] = (kind, first, last, indent, len(group))
            self.plan.paths.update(self.path)
            self.skeletons.append((first, last, skeleton))


_TRY_STAR = (ast.TryStar,) if hasattr(ast, "TryStar") else ()  # Python 3.11+
_AST_COMPOUND = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.If,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.With,
    ast.AsyncWith,
    ast.Try,
    *_TRY_STAR,
    ast.Match,
)
# simple statements a stand-in may replace; the names they bind are all the scope tracker reads
_AST_BINDING = (ast.Assign, ast.AugAssign, ast.AnnAssign)
_AST_INERT = (ast.Expr, ast.Return, ast.Pass, ast.Break, ast.Continue, ast.Raise, ast.Assert, ast.Delete)


def _simple_skeleton(group: list, first: int, last: int, lines: list[str]) -> tuple[str, str, str] | None:
    """(kind, indentation, skeleton) of a line of simple statements in a function or class:
    one skeleton statement per statement (``pass``, or ``a = b = 0`` binding the same names)."""
    if not all(isinstance(n, _AST_BINDING + _AST_INERT) for n in group):
        return None  # imports, global/nonlocal...
    indent = _indentation(lines[first - 1])
    if indent is None or any(lines[n - 1].endswith("\\") for n in range(first - 1, last + 1)):
        return None
    if _col(lines[first - 1], group[0].col_offset) != len(indent):
        return None  # the body of `def f(): ...` on the header's line
    parts = []
    for node in group:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        names = [n for t in targets for n in _ast_target_names(t)]
        parts.append(" = ".join(names) + " = 0" if names else "pass")
    return "line", indent, indent + "; ".join(parts) + "\n"


def _ast_target_names(node) -> list[str]:
    """imports.target_names on CPython's tree."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, (ast.Tuple, ast.List)):
        return [n for e in node.elts for n in _ast_target_names(e)]
    if isinstance(node, ast.Starred):
        return _ast_target_names(node.value)
    return []


def _col(line: str, col_offset: int) -> int:
    """CPython's column (UTF-8 bytes) in characters."""
    return len(line.encode("utf-8")[:col_offset].decode("utf-8", errors="replace"))


def _indentation(line: str) -> str | None:
    """The spaces and tabs that start a statement's line (None: other whitespace)."""
    indent = line[: len(line) - len(line.lstrip(" \t"))]
    return None if line[len(indent) : len(indent) + 1] in ("", " ", "\t", "\f", "\v") else indent


def _parse_acyclic(source: str) -> ast.Module:
    """``ast.parse`` with the cyclic garbage collector paused: CPython's tree has no cycles, and
    a collector running while it is built (one C call) only scans it, dozens of times per file,
    and ages it toward a full collection of the process' objects."""
    if not gc.isenabled():
        return ast.parse(source)
    gc.disable()
    try:
        return ast.parse(source)
    finally:
        gc.enable()


def _compound_skeleton(node, first: int, lines: list[str]) -> tuple[str, str, str] | None:
    """(kind, indentation, skeleton) of a class or function, or None when its shape is unusual
    (a backslash in the header, indentation other than spaces and tabs)."""
    indent = _indentation(lines[first - 1])
    if indent is None or lines[(node.end_lineno or first) - 1].endswith("\\"):
        return None
    body = node.body[0]
    if any(lines[n - 1].endswith("\\") for n in range(node.lineno, body.lineno)):
        return None  # the body's line may continue the header's
    try:
        before = lines[body.lineno - 1].encode("utf-8")[: body.col_offset].decode("utf-8")
    except (UnicodeError, IndexError):
        return None
    head = f"{indent}class {node.name}:" if isinstance(node, ast.ClassDef) else f"{indent}def {node.name}():"
    kind = "class" if isinstance(node, ast.ClassDef) else "def"
    if body.lineno > node.lineno and before and not before.strip(" \t"):
        if len(before) <= len(indent) or not before.startswith(indent):
            return None
        return kind, indent, f"{head}\n{before}pass\n"  # an indented block, indented alike
    if before.strip(" \t") and body.lineno >= node.lineno:
        return kind, indent, f"{head} pass\n"  # the body follows the colon on its line
    return None


def _framework_names(body: list, roots: tuple[str, ...]) -> set[str] | None:
    """Every local name that an import of the source framework binds, at any depth (lazy imports
    inside functions bind file-wide names too: a superset of ImportMap.bindings); None with a
    star import."""
    names: set[str] = set()
    stack = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import):
            for alias in node.names:
                root = alias.name.split(".", 1)[0]
                if root in roots:
                    names.add(alias.asname or root)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module and node.module.split(".", 1)[0] in roots:
                for alias in node.names:
                    if alias.name == "*":
                        return None
                    names.add(alias.asname or alias.name)
        else:
            for block in ast_blocks(node):
                stack.extend(block)
    return names


def install_stand_ins(module: cst.Module, plan: Plan) -> cst.Module:
    """The parsed skeletons replaced by stand-in nodes."""
    found: dict[int, cst.CSTNode] = {}
    ancestors: set[int] = set()
    _find_skeletons(module.body, plan.tree.body, plan, found, ancestors)
    if len(found) != len(plan.stand_ins):
        raise SpliceError("a skeleton was not found")
    body: list[cst.CSTNode] = []
    for stmt in module.body:
        if id(stmt) in found:
            body.append(found[id(stmt)])
        elif id(stmt) in ancestors:
            body.append(walk(stmt, _Install(found, ancestors)))
        else:
            body.append(stmt)
    return module.with_changes(body=body)


def _find_skeletons(cst_body, ast_body: list, plan: Plan, found: dict[int, cst.CSTNode], ancestors: set[int]) -> None:
    """The skeletons' nodes (-> their stand-ins) and the statements that hold them."""
    i = 0
    for stmt in cst_body:
        if i >= len(ast_body):
            break
        count = len(stmt.body) if isinstance(stmt, cst.SimpleStatementLine) else 1
        node = ast_body[i]
        info = plan.stand_ins.get(id(node))
        if info is not None:
            found[id(stmt)] = _stand_in(stmt, info, plan)
        elif id(node) in plan.paths:
            ancestors.add(id(stmt))
            for cst_block, ast_block in zip(cst_blocks(stmt), ast_blocks(node)):
                _find_skeletons(cst_block, ast_block, plan, found, ancestors)
        i += count


class _Install(cst.CSTTransformer):
    """Puts the stand-ins in their skeletons' places, descending only to them."""

    def __init__(self, found: dict[int, cst.CSTNode], ancestors: set[int]):
        super().__init__()
        self.found, self.ancestors = found, ancestors

    def on_visit(self, node: cst.CSTNode) -> bool:
        return id(node) in self.ancestors or isinstance(
            node, (cst.IndentedBlock, cst.Else, cst.Finally, cst.ExceptHandler)
        )

    def on_leave(self, original: cst.CSTNode, updated: cst.CSTNode):
        return self.found.get(id(original), updated)


def _stand_in(skeleton: cst.CSTNode, info: tuple, plan: Plan) -> cst.CSTNode:
    kind, first, last, indent, count = info
    expected = {"class": cst.ClassDef, "def": cst.FunctionDef, "line": cst.SimpleStatementLine}[kind]
    if type(skeleton) is not expected or (kind == "line" and len(skeleton.body) != count):
        raise SpliceError("a skeleton parsed as something else")
    footer = 0
    body = getattr(skeleton, "body", None)
    if isinstance(body, cst.IndentedBlock):
        footer = len(body.footer)  # comment lines after the block, at its indentation
    text = "\n".join(plan.lines[first - 1 : last + footer]) + "\n"
    cls = {"class": StandInClass, "def": _StandInFunction, "line": _StandInLine}[kind]
    fields = {f.name: getattr(skeleton, f.name) for f in dataclasses.fields(skeleton)}
    return cls(**fields, fwt_stand_in=(text, indent, skeleton))


def check_stand_ins_untouched(module: cst.Module, untouched: frozenset[int]) -> None:
    """Every stand-in is skipped by the traversal: it, or a statement holding it, is untouched."""
    _check_skipped(module.body, untouched)


def _check_skipped(body, untouched: frozenset[int]) -> None:
    for stmt in body:
        if id(stmt) in untouched:
            continue
        if isinstance(stmt, _StandIn):
            raise SpliceError("a stand-in holds framework code")
        for block in cst_blocks(stmt):
            _check_skipped(block, untouched)
