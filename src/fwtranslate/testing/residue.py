"""An outside check of the "honest" promise: every statement of a translation that still uses a
name of the source framework carries the in-file marker, and an output with no error has none.

It reads only the output text (CPython's ``ast`` and the comments above each statement), so it
shares nothing with the passes that place the markers: a pass that forgets to report a leftover
is caught here, not excused by the same bookkeeping that forgot it.

A statement counts as marked when a ``# fwtranslate: unconverted`` comment sits in the comment
block right above it or above one of the statements that enclose it (the marks pass puts a
header's marks above the compound statement). An import of the source framework is residue
only when nothing in the output uses what it binds.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from ..directions import Direction

MARKER = "fwtranslate: unconverted"


@dataclass(frozen=True)
class Residue:
    line: int  # 1-based line of the statement in the output
    name: str  # the source-framework name it uses
    text: str  # the statement's first line, stripped

    def __str__(self) -> str:
        return f"{self.line}: {self.name}: {self.text}"


def unmarked_residue(code: str, direction: Direction) -> list[Residue]:
    """Statements of ``code`` (a translation made in ``direction``) that use a name bound by an
    import of the source framework (``direction.source_roots``) and carry no marker."""
    tree = ast.parse(code)
    lines = code.splitlines()
    bound = _source_bindings(tree, direction.source_roots)
    if not bound:
        return []
    found: list[Residue] = []
    used: set[str] = set()

    def walk(statement: ast.stmt, marked: bool, local: frozenset[str]) -> None:
        marked = marked or _marked_above(statement, lines)
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            return
        for name in _own_names(statement) - local:
            if name in bound:
                used.add(name)
                if not marked:
                    found.append(Residue(statement.lineno, name, lines[statement.lineno - 1].strip()))
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            local = local | _locals(statement)
        for child in _child_statements(statement):
            walk(child, marked, local)

    for statement in tree.body:
        walk(statement, False, frozenset())
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)) and not _marked_above(node, lines):
            for alias in node.names:
                name = (alias.asname or alias.name).split(".")[0]
                if name in bound and name not in used:
                    found.append(Residue(node.lineno, name, lines[node.lineno - 1].strip()))
    return sorted(set(found), key=lambda r: (r.line, r.name))


def _source_bindings(tree: ast.Module, roots: tuple[str, ...]) -> set[str]:
    """Names the output's imports bind to modules (or members) of the source framework."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in roots:
                    bound.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] in roots:
                bound.update(alias.asname or alias.name for alias in node.names if alias.name != "*")
    return bound


def _locals(function: ast.FunctionDef | ast.AsyncFunctionDef) -> frozenset[str]:
    """The function's parameters and the names its own body stores (not those of nested
    functions), less what its imports of the framework bind (a lazy import is the framework)."""
    arguments = function.args
    names = {a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]}
    names |= {a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None}
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        elif isinstance(node, (ast.Lambda, ast.Import, ast.ImportFrom)):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return frozenset(names)


def _child_statements(statement: ast.stmt) -> list[ast.stmt]:
    children: list[ast.stmt] = []
    for field in ("body", "orelse", "finalbody"):
        children.extend(getattr(statement, field, []) or [])
    for handler in getattr(statement, "handlers", []) or []:
        children.extend(handler.body)
    for case in getattr(statement, "cases", []) or []:
        children.extend(case.body)
    return children


def _own_names(statement: ast.stmt) -> set[str]:
    """Names loaded by the statement itself: for a compound statement its header (test,
    iterator, context managers, decorators, bases, defaults, annotations), not its body."""
    children = {id(s) for s in _child_statements(statement)}
    names: set[str] = set()
    stack: list[ast.AST] = [statement]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if id(child) in children or (isinstance(child, ast.excepthandler) and node is statement):
                if isinstance(child, ast.ExceptHandler) and child.type is not None:
                    stack.append(child.type)  # `except tf.errors.X:` is the handler's header
                continue
            if isinstance(child, ast.Name):
                names.add(child.id)
            stack.append(child)
    return names


def _marked_above(statement: ast.stmt, lines: list[str]) -> bool:
    first = min([statement.lineno, *(d.lineno for d in getattr(statement, "decorator_list", []))])
    index = first - 2  # the line above, 0-based
    while index >= 0 and lines[index].strip().startswith("#"):
        if MARKER in lines[index]:
            return True
        index -= 1
    return False
