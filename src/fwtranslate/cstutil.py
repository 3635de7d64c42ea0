"""Parsed CST for fixed snippets (class names, import lines, rule conditions).

LibCST nodes are immutable, so one parse can be shared by every translation; each parse call
costs a fixed overhead that adds up over hundreds of rewritten calls.
"""
from __future__ import annotations

import functools

import libcst as cst


@functools.lru_cache(maxsize=4096)
def expression(source: str) -> cst.BaseExpression:
    return cst.parse_expression(source)


@functools.lru_cache(maxsize=1024)
def statement(source: str) -> cst.BaseStatement:
    return cst.parse_statement(source)


def code(node: cst.CSTNode) -> str:
    """The source of one node (no module context needed)."""
    return cst.Module([]).code_for_node(node)
