"""Name analysis for lifting builders into modules (lift.py): which names a piece of
code reads and assigns, and which of a function's names hold tensors.

Flow-insensitive and conservative: a name that ever holds a tensor is a tensor name everywhere
in the function; a lifted function must not use one name for both.
"""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst

from ....cstutil import suites
from ....imports import target_names

# code that may run any number of times, or not at all, per execution of its statement
_SCOPES = (cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp, cst.IfExp, cst.BooleanOperation)


class _Reads(cst.CSTVisitor):
    def __init__(self, skip: cst.CSTNode | None = None, shapes: bool = True) -> None:
        self.names: list[str] = []
        self.skip = skip
        self.shapes = shapes  # False: ``x.shape`` does not count as reading x
        self.loads_only = False  # True: assignment and loop targets are not reads
        self.local: list[set[str]] = []  # names the comprehensions around bind

    def on_visit(self, node: cst.CSTNode) -> bool:
        if node is self.skip:
            return False
        if isinstance(node, (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)):
            self.local.append(_comprehension_names(node))  # its own scope: `for args in ...`
        return super().on_visit(node)

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if isinstance(original_node, (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)):
            self.local.pop()
        super().on_leave(original_node)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        if self.shapes or node.attr.value != "shape":
            node.value.visit(self)  # .attr is not a variable
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)  # keyword= is not a variable
        return False

    def visit_AssignTarget(self, node: cst.AssignTarget) -> bool:
        if not self.loads_only:
            return True
        self._target(node.target)
        return False

    def visit_For(self, node: cst.For) -> bool:
        if not self.loads_only:
            return True
        self._target(node.target)
        for part in (node.iter, node.body, node.orelse):
            if part is not None:
                part.visit(self)
        return False

    def _target(self, target: cst.BaseExpression) -> None:
        """Only what a target reads: ``a[i] = ...`` reads a and i, ``a = ...`` nothing."""
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._target(element.value)
        elif isinstance(target, cst.StarredElement):
            self._target(target.value)
        elif not isinstance(target, cst.Name):
            target.visit(self)

    def visit_Name(self, node: cst.Name) -> None:
        if not any(node.value in scope for scope in self.local):
            self.names.append(node.value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False  # its own scope (a nested def): not read here


def reads(node: cst.CSTNode, skip: cst.CSTNode | None = None, shapes: bool = True) -> list[str]:
    """The variable names ``node`` mentions, in order (assignment targets included: a statement
    that assigns ``x[0]`` reads ``x``), not counting those inside ``skip`` (nor, with
    ``shapes=False``, a tensor whose static ``.shape`` only is read)."""
    visitor = _Reads(skip, shapes)
    node.visit(visitor)
    return visitor.names


def _comprehension_names(node: cst.CSTNode) -> set[str]:
    names: set[str] = set()
    comp = getattr(node, "for_in", None)
    while comp is not None:
        names |= set(target_names(comp.target))
        comp = comp.inner_for_in
    return names


def loads(node: cst.CSTNode, skip: cst.CSTNode | None = None) -> list[str]:
    """Like ``reads``, without the names that are only assigned (``x = ...``, ``for x in``).
    (By position, not by node identity: generated code may share one cached Name node.)"""
    visitor = _Reads(skip)
    visitor.loads_only = True
    node.visit(visitor)
    return visitor.names


def assigned(stmt: cst.CSTNode) -> list[str]:
    """The names a statement binds (inside its compound bodies too, not in nested defs)."""
    out: list[str] = []

    class V(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            for t in node.targets:
                out.extend(target_names(t.target))

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            out.extend(target_names(node.target))

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            out.extend(target_names(node.target))

        def visit_For(self, node: cst.For) -> None:
            out.extend(target_names(node.target))

        def visit_AsName(self, node: cst.AsName) -> None:
            out.extend(target_names(node.name))

        def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
            out.extend(target_names(node.target))

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            out.append(node.name.value)
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            out.append(node.name.value)
            return False

    stmt.visit(V())
    return out


def in_nested_scope(node: cst.CSTNode, inner: cst.CSTNode) -> bool:
    """Whether ``inner`` sits inside a lambda, a comprehension or a conditional expression within
    ``node`` (code that may run any number of times, or not at all, per execution of ``node``)."""
    found = False

    class V(cst.CSTVisitor):
        depth = 0

        def on_visit(self, n: cst.CSTNode) -> bool:
            nonlocal found
            if n is inner and self.depth:
                found = True
            if isinstance(n, _SCOPES):
                self.depth += 1
            return not found

        def on_leave(self, n: cst.CSTNode) -> None:
            if isinstance(n, _SCOPES):
                self.depth -= 1

    node.visit(V())
    return found


def tensor_names(body: Iterable[cst.CSTNode], seeds: set[str]) -> set[str]:
    """The names of ``body`` that hold tensors: ``seeds``, and every name assigned from an
    expression that reads one; a container that a statement fills with tensors
    (``skips.append(x)``) is one too."""
    names = set(seeds)
    statements = list(_simple_and_loops(body))
    changed = True
    while changed:
        changed = False
        for node in statements:
            for targets, value in _bindings(node):
                read = set(reads(value, shapes=False))  # (a size read from x.shape is no tensor)
                if read & names:
                    new = set(targets) - names
                    if new:
                        names |= new
                        changed = True
            if isinstance(node, cst.Expr) and isinstance(node.value, cst.Call):
                func = node.value.func  # skips.append(x), skips.extend([...]): skips holds tensors
                if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
                    if set(reads(node.value.args[0] if node.value.args else node.value)) & names:
                        if func.value.value not in names:
                            names.add(func.value.value)
                            changed = True
    return names


def _simple_and_loops(body: Iterable[cst.CSTNode]):
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine):
            yield from stmt.body
        elif isinstance(stmt, (cst.For, cst.While, cst.If, cst.With, cst.Try)):
            if isinstance(stmt, cst.For):
                yield stmt
            for block in suites(stmt):
                yield from _simple_and_loops(block.body)


def _bindings(node: cst.CSTNode):
    """(target names, value) pairs a simple statement or a for loop binds."""
    if isinstance(node, cst.Assign):
        for t in node.targets:
            yield target_names(t.target), node.value
    elif isinstance(node, (cst.AugAssign, cst.AnnAssign)) and node.value is not None:
        yield target_names(node.target), node.value
    elif isinstance(node, cst.For):
        yield from _loop_bindings(node.target, node.iter)


def _loop_bindings(target: cst.BaseExpression, iterable: cst.BaseExpression):
    """A loop over ``zip(a, b)`` binds each target part to its own sequence."""
    parts = zip_parts(target, iterable)
    if parts is None:
        yield target_names(target), iterable
    else:
        for t, seq in parts:
            yield target_names(t), seq


def zip_parts(target: cst.BaseExpression, iterable: cst.BaseExpression):
    """[(target part, sequence)] for ``for a, b in zip(xs, ys)``, else None."""
    if not (
        isinstance(iterable, cst.Call)
        and isinstance(iterable.func, cst.Name)
        and iterable.func.value == "zip"
        and isinstance(target, (cst.Tuple, cst.List))
        and len(target.elements) == len(iterable.args)
        and all(a.keyword is None and not a.star for a in iterable.args)
    ):
        return None
    return [(e.value, a.value) for e, a in zip(target.elements, iterable.args)]
