"""Parsed CST for fixed snippets (class names, import lines, rule conditions), and a cheaper
traversal for transformers (walk; the node types it need not descend into: opaque_types).

LibCST nodes are immutable, so one parse can be shared by every translation; each parse call
costs a fixed overhead that adds up over hundreds of rewritten calls.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import sys
import textwrap
import typing

import libcst as cst


@functools.lru_cache(maxsize=4096)
def expression(source: str) -> cst.BaseExpression:
    return cst.parse_expression(source)


@functools.lru_cache(maxsize=1024)
def statement(source: str) -> cst.SimpleStatementLine | cst.BaseCompoundStatement:
    return cst.parse_statement(source)


def code(node: cst.CSTNode) -> str:
    """The source of one node (no module context needed)."""
    return cst.Module([]).code_for_node(node)


def suites(stmt: cst.CSTNode):
    """The suites of a compound statement: its body and each ``elif``'s, then ``else`` and
    ``finally``, the ``except`` handlers, the ``match`` cases (one-line suites included)."""
    if isinstance(stmt, cst.If):
        yield stmt.body
        if isinstance(stmt.orelse, cst.If):
            yield from suites(stmt.orelse)
        elif stmt.orelse is not None:
            yield stmt.orelse.body
        return
    body = getattr(stmt, "body", None)
    if isinstance(body, cst.BaseSuite):
        yield body
    for name in ("orelse", "finalbody"):
        extra = getattr(stmt, name, None)
        if extra is not None:
            yield extra.body
    for handler in getattr(stmt, "handlers", ()):
        yield handler.body
    for case in getattr(stmt, "cases", ()):
        yield case.body


@functools.cache
def opaque_types(handled: frozenset[str]) -> frozenset[str]:
    """Names of the LibCST node types none of whose possible descendants is in ``handled``
    (the node types some pass has a handler for), from the types of the nodes' fields.

    A transformer need not descend into those: their subtrees stay the original objects, where
    LibCST would rebuild an equal copy of each node (about half the nodes of a statement are
    whitespace). Handlers of the type itself still run; a leave handler then gets
    ``updated is original``.
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


@functools.cache
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


def walk(
    node: cst.CSTNode,
    transformer: cst.CSTTransformer,
    inert: frozenset[str] = frozenset(),
    fresh: frozenset[str] = frozenset(),
):
    """``node.visit(transformer)``: the same ``on_visit`` / ``on_leave`` calls in the same order,
    and an equal result, except that a node none of whose children changed is kept instead of
    copied (LibCST's traversal rebuilds every node it visits, the most of its cost), and the
    nodes whose type is in ``inert`` (no handler for them or below them) are not visited at
    all. Node types whose children this cannot read (_children) go through LibCST's own code.

    ``on_leave`` gets a copy as ``updated``, as with LibCST, for the node types in ``fresh``
    (those with leave handlers: ``updated is original`` stays False for a node visited inside);
    an unchanged child of ``updated`` is the original child itself."""
    result = _Walk(transformer, inert, fresh).visit(node)
    if isinstance(node, cst.Module) and isinstance(result, cst.RemovalSentinel):
        return node.with_changes(body=(), header=(), footer=())  # Module.visit
    return result


class _Walk:
    def __init__(self, transformer: cst.CSTTransformer, inert: frozenset[str], fresh: frozenset[str]):
        self.transformer, self.inert, self.fresh = transformer, inert, fresh
        self.on_visit, self.on_leave = transformer.on_visit, transformer.on_leave

    def visit(self, node):  # CSTNode.visit
        kind = type(node).__name__
        if kind in self.inert:
            return node
        if self.on_visit(node):
            spec = _children(type(node))
            if spec is None:
                updated = node._visit_and_replace_children(self.transformer)  # children via .visit()
            else:
                changes = None
                for name, how in spec:
                    old = getattr(node, name)
                    if how is _SEQUENCE or how is _BODY:
                        new = self.sequence(old, how is _BODY)
                    elif old is None or isinstance(old, cst.MaybeSentinel):
                        continue  # an absent optional child
                    elif type(old).__name__ in self.inert:
                        continue  # (what visit() would return: the same node)
                    else:
                        new = self.visit(old)
                        if isinstance(new, cst.FlattenSentinel) or (
                            isinstance(new, cst.RemovalSentinel) and how is _REQUIRED
                        ):
                            raise TypeError(
                                f"We got a {type(new).__name__} while visiting a "
                                f"{type(old).__name__}. This node's parent does not allow it."
                            )
                        if isinstance(new, cst.RemovalSentinel):
                            new = None if how is _OPTIONAL else cst.MaybeSentinel.DEFAULT
                    if new is not old:
                        if changes is None:
                            changes = {}
                        changes[name] = new
                if changes is not None:
                    updated = node.with_changes(**changes)
                elif kind in self.fresh:
                    updated = node.with_changes()
                else:
                    updated = node
        else:
            updated = node
        result = self.on_leave(node, updated)
        if not isinstance(result, (cst.CSTNode, cst.RemovalSentinel, cst.FlattenSentinel)):
            raise cst.CSTValidationError(
                "Expected a node of type CSTNode or a RemovalSentinel, "
                f"but got a return value of {type(result).__name__}"
            )
        return result

    def sequence(self, children, body: bool):  # internal.visit_sequence / visit_body_sequence
        out: list = []
        changed = False
        inert = self.inert
        for child in children:
            if type(child).__name__ in inert:
                out.append(child)
                continue
            new = self.visit(child)
            if isinstance(new, cst.RemovalSentinel):
                changed = True
            elif isinstance(new, cst.FlattenSentinel):
                changed = True
                out.extend(n for n in new if not (body and not child._is_removable() and n._is_removable()))
            elif body and not child._is_removable() and new._is_removable():
                changed = True  # emptied by a removal below it: dropped
            else:
                changed = changed or new is not child
                out.append(new)
        return tuple(out) if changed else children


_REQUIRED, _OPTIONAL, _SENTINEL, _SEQUENCE, _BODY = "required", "optional", "sentinel", "sequence", "body"
_HOW = {
    "visit_required": _REQUIRED,
    "visit_optional": _OPTIONAL,
    "visit_sentinel": _SENTINEL,
    "visit_sequence": _SEQUENCE,
    "visit_body_sequence": _BODY,
}
_CHILDREN: dict[type, list[tuple[str, str]] | None] = {}


def _children(cls: type) -> list[tuple[str, str]] | None:
    """The children LibCST's ``_visit_and_replace_children`` visits, in its order, each with the
    helper that visits it (required, optional...), read from its source; None when that method
    does more than ``return Node(field=visit_x(self, "field", self.field, visitor), ...)``."""
    try:
        return _CHILDREN[cls]
    except KeyError:
        pass
    spec = None
    try:
        spec = _read_children(cls)
    except Exception:  # noqa: BLE001 - no source, another shape: LibCST's own method
        spec = None
    _CHILDREN[cls] = spec
    return spec


def _read_children(cls: type) -> list[tuple[str, str]] | None:
    from libcst._nodes import internal

    owner = next(c for c in cls.__mro__ if "_visit_and_replace_children" in vars(c))
    method = vars(owner)["_visit_and_replace_children"]
    tree = ast.parse(textwrap.dedent(inspect.getsource(method))).body[0]
    body = [s for s in tree.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]  # type: ignore[attr-defined]
    if len(body) != 1 or not isinstance(body[0], ast.Return) or not isinstance(body[0].value, ast.Call):
        return None
    call = body[0].value
    ctor = call.func
    # the copy must be of the node's own class, as with_changes makes it
    if call.args or not (
        (isinstance(ctor, ast.Name) and ctor.id == cls.__name__ and owner.__name__ == cls.__name__)
        or ast.unparse(ctor) == "self.__class__"
    ):
        return None
    module = sys.modules[method.__module__]
    spec: list[tuple[str, str]] = []
    seen = set()
    for kw in call.keywords:
        if kw.arg is None:  # `**kwargs`: not the plain shape
            return None
        value = kw.value
        seen.add(kw.arg)
        if isinstance(value, ast.Attribute) and ast.unparse(value) == f"self.{kw.arg}":
            continue  # passed through
        if not (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name)
            and value.func.id in _HOW
            and getattr(module, value.func.id, None) is getattr(internal, value.func.id)
            and [ast.unparse(a) for a in value.args] == ["self", repr(kw.arg), f"self.{kw.arg}", "visitor"]
            and not value.keywords
        ):
            return None
        spec.append((kw.arg, _HOW[value.func.id]))
    if seen != {f.name for f in dataclasses.fields(cls) if f.init}:
        return None
    return spec
