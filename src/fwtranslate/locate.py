"""Where diagnostics are: line:col from the innermost statement that holds each one, re-emitted
on its own (LibCST's position metadata over a whole file costs as much as a translation)."""

from __future__ import annotations

import re

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from .passes.common.context import Context
from .report import ERROR, Diagnostic
from .stand_ins import fault_count, set_fault_count


def locate(
    module: cst.Module, ctx: Context, path: str, spans: dict[int, tuple[int, int]], source: str = ""
) -> list[Diagnostic]:
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
                    alone = module.with_changes(
                        body=[_header_only(stmt, found, nested).with_changes(leading_lines=[])], header=[], footer=[]
                    )
                    positions = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
                pos = positions.get(d.node)
                at = (pos.start.line + offset, pos.start.column + 1) if pos else (offset + 1, 1)
            out.append(Diagnostic(path, at[0], at[1], d.severity, d.code, d.message))
    for found in by_top.values():  # not inside a top-level statement (the module itself)
        out.extend(Diagnostic(path, 1, 1, d.severity, d.code, d.message) for d in found)
    out.sort(key=lambda d: (d.line, d.col, d.severity != ERROR))
    return out


def _header_only(stmt: cst.CSTNode, found: list, nested: dict[int, tuple[int, int]]) -> cst.CSTNode:
    """A class or function whose diagnostics left to the top-level positions are all in its
    header (decorators, bases, parameters): without its body, whose code they do not need."""
    if not isinstance(stmt, (cst.ClassDef, cst.FunctionDef)) or not isinstance(stmt.body, cst.IndentedBlock):
        return stmt
    for d in found:
        if id(d) not in nested and (len(d.path) < 3 or d.path[1] is not stmt or d.path[2] is stmt.body):
            return stmt
    return stmt.with_changes(body=cst.IndentedBlock(body=[]))


_NEWLINE = re.compile(r"\r\n?|\n")  # LibCST's and CPython's line ends


def _locate_nested(
    module: cst.Module, diagnostics: list, spans: dict[int, tuple[int, int]], source: str
) -> dict[int, tuple[int, int]]:
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
        if src_lines is None:
            src_lines = _NEWLINE.split(source)
        if d.node is stmt:  # on the statement itself (copied below, so not in its positions)
            if isinstance(stmt, cst.SimpleStatementLine):  # it starts after its indentation
                line = spans[id(stmt)][0]
                text = src_lines[line - 1] if 0 < line <= len(src_lines) else ""
                indent = text[: len(text) - len(text.lstrip(" \t"))]
                if text[len(indent) : len(indent) + 1] not in ("", " ", "\t", "\f", "\v"):
                    found[id(d)] = (line, len(indent) + 1)
            continue
        if id(stmt) not in cache:
            alone = module.with_changes(body=[stmt.with_changes(leading_lines=[])], header=[], footer=[])
            faults = fault_count()
            positions = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
            cache[id(stmt)] = (positions, _NEWLINE.split(alone.code))
            # a stand-in in it is indented otherwise on its own, but has all its lines: the
            # positions of the other nodes hold (and no diagnostic is on a stand-in's lines)
            set_fault_count(faults)
        positions, alone_lines = cache[id(stmt)]
        pos = positions.get(d.node)
        if pos is None:
            continue
        line = spans[id(stmt)][0] + pos.start.line - 1
        if not 0 < line <= len(src_lines) or pos.start.line > len(alone_lines):
            continue
        mine, theirs = alone_lines[pos.start.line - 1], src_lines[line - 1]
        width = len(mine) - len(mine.lstrip())
        col = pos.start.column
        if (
            not theirs.endswith(mine)
            or col < width
            or (col == 0 and not isinstance(d.node, (cst.BaseExpression, cst.SimpleStatementLine)))
        ):
            continue
        found[id(d)] = (line, col + len(theirs) - len(mine) + 1)
    return found
