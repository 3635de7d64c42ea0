"""Python values of literal CST expressions, and back."""

from __future__ import annotations

import ast
import functools
from typing import Any

import libcst as cst


class _Unknown:
    """Marks a value that is not known at translation time."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()


def literal_value(node: cst.BaseExpression) -> Any:
    """The value of a literal expression (numbers, strings, bools, None, tuples/lists of them)."""
    if isinstance(node, cst.Integer):
        return int(node.value.replace("_", ""), 0)
    if isinstance(node, cst.Float):
        return float(node.value.replace("_", ""))
    if isinstance(node, cst.SimpleString):
        return ast.literal_eval(node.value)
    if isinstance(node, cst.Name):
        if node.value == "True":
            return True
        if node.value == "False":
            return False
        if node.value == "None":
            return None
        return UNKNOWN
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        inner = literal_value(node.expression)
        if isinstance(inner, (int, float)) and not isinstance(inner, bool):
            return -inner
        return UNKNOWN
    if isinstance(node, (cst.Tuple, cst.List)):
        values = []
        for element in node.elements:
            if not isinstance(element, cst.Element):
                return UNKNOWN
            v = literal_value(element.value)
            if v is UNKNOWN:
                return UNKNOWN
            values.append(v)
        return tuple(values) if isinstance(node, cst.Tuple) else values
    return UNKNOWN


def to_node(value: Any) -> cst.BaseExpression:
    """A CST expression for a Python literal value (nodes are immutable: cached and shared)."""
    try:
        kind: type = type(value)
        return _to_node_cached(kind, value)
    except TypeError:  # unhashable (a list)
        return _to_node(value)


@functools.lru_cache(maxsize=4096)
def _to_node_cached(kind: type, value: Any) -> cst.BaseExpression:
    return _to_node(value)


def _to_node(value: Any) -> cst.BaseExpression:
    if value is None or isinstance(value, bool):
        return cst.Name(repr(value))
    if isinstance(value, int):
        node: cst.BaseExpression = cst.Integer(str(abs(value)))
        return cst.UnaryOperation(cst.Minus(), node) if value < 0 else node
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        if "e" not in repr(value) and "." in repr(value):
            node = cst.Float(repr(abs(value)))
            return cst.UnaryOperation(cst.Minus(), node) if repr(value).startswith("-") else node
    if isinstance(value, float) and value != value:  # NaN
        return cst.parse_expression('float("nan")')
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return cst.parse_expression('float("inf")' if value > 0 else 'float("-inf")')
    if isinstance(value, str):
        return cst.SimpleString(_quote(value))
    if isinstance(value, tuple) and len(value) == 1:
        return cst.Tuple([cst.Element(to_node(value[0]))])
    if isinstance(value, (tuple, list)):
        elements = [cst.Element(to_node(v)) for v in value]  # recursion through the cache
        return cst.Tuple(elements) if isinstance(value, tuple) else cst.List(elements)
    return cst.parse_expression(repr(value))


def _quote(s: str) -> str:
    # double quotes, like black, unless the string contains them
    if '"' not in s and "\\" not in s and "\n" not in s:
        return f'"{s}"'
    return repr(s)
