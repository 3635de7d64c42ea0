"""Which of the file's classes only its own classes apply, and where (layout_analysis' class
contracts).

A block class (``BasicBlock``) may take and return tensors in the target's native layout when
the analysis sees every place its instances are applied: each instance the file creates goes,
inside another class, to a layer attribute set in ``__init__`` (``self.layer1 = ...``) either
directly or through a container of such instances (``nn.Sequential(*layers)`` of a local list
filled with ``layers = [Block(...)]`` / ``layers.append(Block(...))``, or a method that returns
one, ``self._make_stage(...)``). Anything else (an instance returned to other code, stored in a
dict, passed as an argument, the class passed as a value or subclassed) refuses the class.
Reading a class attribute (``BasicBlock.expansion``) is no use of an instance. A class passed as a
value is followed through parameters (layout_class_values.py): an instance built from a parameter
(``block(...)``) goes where an instance may go, and is adapted at run time (``Blocks.adapted``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import libcst as cst

from .layout_class_values import class_values


@dataclass
class Blocks:
    values: dict[int, frozenset[str]] = field(default_factory=dict)  # expression -> the classes it applies
    attrs: dict[str, dict[str, frozenset[str]]] = field(default_factory=dict)  # owner -> attribute -> classes
    refused: set[str] = field(default_factory=set)  # used some way the analysis does not follow
    internal: set[str] = field(default_factory=set)  # instantiated inside the file's other classes
    external: set[str] = field(default_factory=set)  # named outside any class (functions, module code)
    adapted: dict[int, frozenset[str]] = field(default_factory=dict)  # instance built from a parameter -> classes
    escaped: set[str] = field(default_factory=set)  # class values gone where they are not followed


def find_blocks(module: cst.Module, candidates: set[str], is_sequential: Callable[[cst.Call], bool]) -> Blocks:
    found = Blocks()
    values = class_values(module, candidates)
    found.refused |= values.refused
    found.escaped = set(values.refused)
    classes = [s for s in module.body if isinstance(s, cst.ClassDef)]
    understood: set[int] = set(values.understood)  # ids of candidate names in a followed position
    for cls in classes:
        _Owner(cls, candidates, is_sequential, found, understood, values.instances).run()
    for call, held in values.instances.items():
        if call in found.values:
            found.adapted[call] = held
            found.internal |= held  # applied by the class that builds it
        else:  # built where no followed value goes
            found.refused |= held
    for name, node, owner in _candidate_names(module, candidates):
        if id(node) in values.understood:
            continue
        if owner is None:
            found.external.add(name)
        elif owner != name:
            found.internal.add(name)
        if id(node) not in understood and owner is not None:
            found.refused.add(name)
        if id(node) not in understood:  # anything may be done with it there, passing it on included
            found.escaped.add(name)
    return found


def _candidate_names(module: cst.Module, candidates: set[str]):
    """(name, Name node, the module-level class it is in or None) of every reference to a
    candidate other than its own ``class`` statement and ``Candidate.attribute`` reads."""
    out: list[tuple[str, cst.Name, str | None]] = []

    class V(cst.CSTVisitor):
        def __init__(self) -> None:
            super().__init__()
            self.owner: list[str] = []
            self.skip: set[int] = set()

        def visit_ClassDef(self, node: cst.ClassDef) -> None:
            self.skip.add(id(node.name))
            self.owner.append(node.name.value)

        def leave_ClassDef(self, node: cst.ClassDef) -> None:
            self.owner.pop()

        def visit_Attribute(self, node: cst.Attribute) -> None:
            if isinstance(node.value, cst.Name) and node.attr.value not in ("forward", "__call__", "call"):
                self.skip.add(id(node.value))

        def visit_Name(self, node: cst.Name) -> None:
            if node.value in candidates and id(node) not in self.skip:
                out.append((node.value, node, self.owner[0] if self.owner else None))

    module.visit(V())
    return out


class _Owner:
    """One class of the file: the block values its methods build and where they go."""

    def __init__(self, cls, candidates, is_sequential, found: Blocks, understood: set[int], instances):
        self.cls, self.candidates, self.is_sequential = cls, candidates, is_sequential
        self.instances: dict[int, frozenset[str]] = instances  # built from a parameter holding classes
        self.found, self.understood = found, understood
        self.methods = {s.name.value: s for s in cls.body.body if isinstance(s, cst.FunctionDef)}
        self.returns: dict[str, frozenset[str]] = {}  # method -> the classes the container it returns applies
        self.return_nodes: dict[str, list[cst.BaseExpression]] = {}

    def run(self) -> None:
        # methods returning containers first (twice: one may call another), then the sinks
        for _ in range(2):
            for name, fn in self.methods.items():
                if name == "__init__":
                    continue
                rets = _returns(fn)
                lists = self._lists(fn)
                sets = [self.value(r, lists) for r in rets]
                if rets and all(s for s in sets):
                    self.returns[name] = frozenset().union(*sets)  # type: ignore[arg-type]
                    self.return_nodes[name] = rets
        sunk_methods: set[str] = set()
        other: set[str] = set()  # attributes also given something else than instances (or None)
        owned: dict[str, frozenset[str]] = {}
        for name, fn in self.methods.items():
            lists = self._lists(fn)
            for stmt in _all_statements(fn):
                target, value = self_assignment(stmt)
                if target is None or value is None:
                    continue
                classes = self.value(value, lists)
                if classes and name == "__init__":
                    owned[target] = owned.get(target, frozenset()) | classes
                    sunk_methods |= self.mark(value, lists)
                elif not (isinstance(value, cst.Name) and value.value == "None"):
                    other.add(target)
        for target in other & set(owned):  # `self.body = Block(c)` or a convolution: not followed
            self.found.refused |= owned.pop(target)
        if owned:
            self.found.attrs[self.cls.name.value] = owned
        # a method's returned containers are followed only where every call of it is
        done: set[str] = set()
        progress = True
        while progress:
            progress = False
            for name in sorted(sunk_methods & set(self.returns) - done):
                if self._only_sunk_calls(name):
                    done.add(name)
                    progress = True
                    lists = self._lists(self.methods[name])
                    for ret in self.return_nodes[name]:
                        sunk_methods |= self.mark(ret, lists)

    def _only_sunk_calls(self, method: str) -> bool:
        return all(id(call) in self.found.values for call in _self_references(self.cls, method))

    def _lists(self, fn: cst.FunctionDef) -> dict[str, list[cst.BaseExpression] | None]:
        """Local lists of instances: name -> the elements put in it (None when it is used some
        other way than ``[...]``, ``.append(x)`` and ``nn.Sequential(*name)``)."""
        lists: dict[str, list[cst.BaseExpression] | None] = {}
        allowed: set[int] = set()
        for stmt in _all_statements(fn):
            if not isinstance(stmt, cst.SimpleStatementLine):
                continue
            for small in stmt.body:
                if (
                    isinstance(small, cst.Assign)
                    and len(small.targets) == 1
                    and isinstance(small.targets[0].target, cst.Name)
                    and isinstance(small.value, cst.List)
                ):
                    name = small.targets[0].target.value
                    allowed.add(id(small.targets[0].target))
                    elements = [e.value for e in small.value.elements if not isinstance(e, cst.StarredElement)]
                    if len(elements) != len(small.value.elements) or name in lists:
                        lists[name] = None
                    else:
                        lists[name] = elements
        for call in _calls(fn):
            func = call.func
            if (
                isinstance(func, cst.Attribute)
                and isinstance(func.value, cst.Name)
                and func.value.value in lists
                and func.attr.value == "append"
                and len(call.args) == 1
                and call.args[0].keyword is None
                and not call.args[0].star
            ):
                allowed.add(id(func.value))
                items = lists[func.value.value]
                if items is not None:
                    items.append(call.args[0].value)
            elif self.is_sequential(call):
                allowed.update(id(a.value) for a in call.args if a.star == "*" and isinstance(a.value, cst.Name))
        for node in _names(fn.body):
            if node.value in lists and id(node) not in allowed:
                lists[node.value] = None
        return lists

    def value(self, node: cst.BaseExpression, lists) -> frozenset[str] | None:
        """The classes an expression's value applies when called, or None when it is no such
        value (an instance, a container of instances, a method returning one)."""
        if not isinstance(node, cst.Call):
            return None
        func = node.func
        if isinstance(func, cst.Name) and func.value in self.candidates:
            return frozenset({func.value})
        if id(node) in self.instances:
            return self.instances[id(node)]
        if (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.value.value == "self"
            and func.attr.value in self.returns
        ):
            return self.returns[func.attr.value]
        if not self.is_sequential(node) or not node.args:
            return None
        found: set[str] = set()
        for arg in node.args:
            if arg.keyword is not None or arg.star == "**":
                return None
            if arg.star == "*":
                items = lists.get(arg.value.value) if isinstance(arg.value, cst.Name) else None
                if not items:
                    return None
                parts = [self.value(i, lists) for i in items]
            else:
                parts = [self.value(arg.value, lists)]
            if not all(parts):
                return None
            for part in parts:
                found |= part or frozenset()
        return frozenset(found)

    def mark(self, node: cst.BaseExpression, lists) -> set[str]:
        """Record a followed value and its parts; returns the methods whose results it uses."""
        classes = self.value(node, lists)
        if classes is None or not isinstance(node, cst.Call):
            return set()
        self.found.values[id(node)] = classes
        func = node.func
        if isinstance(func, cst.Name):
            self.understood.add(id(func))
            return set()
        if isinstance(func, cst.Attribute) and not self.is_sequential(node):
            return {func.attr.value}
        methods: set[str] = set()
        for arg in node.args:
            if arg.star == "*" and isinstance(arg.value, cst.Name):
                for item in lists.get(arg.value.value) or ():
                    methods |= self.mark(item, lists)
            else:
                methods |= self.mark(arg.value, lists)
        return methods


def self_assignment(stmt: cst.CSTNode):
    """(attribute, value) of a statement ``self.attribute = value``, else (None, None)."""
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Assign):
        assign = stmt.body[0]
        if len(assign.targets) == 1:
            t = assign.targets[0].target
            if isinstance(t, cst.Attribute) and isinstance(t.value, cst.Name) and t.value.value == "self":
                return t.attr.value, assign.value
    return None, None


def _all_statements(fn: cst.FunctionDef) -> list[cst.BaseStatement]:
    out: list[cst.BaseStatement] = []

    class V(cst.CSTVisitor):
        def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
            out.append(node)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is fn  # a nested function: its own scope

    fn.visit(V())
    return out


def _returns(fn: cst.FunctionDef) -> list[cst.BaseExpression]:
    """The values ``fn`` returns; empty when one ``return`` has none."""
    found: list[cst.BaseExpression] = []
    bare = False
    for stmt in _all_statements(fn):
        for small in stmt.body:  # type: ignore[attr-defined]
            if isinstance(small, cst.Return):
                if small.value is None:
                    bare = True
                else:
                    found.append(small.value)
    return [] if bare else found


def _calls(node: cst.CSTNode) -> list[cst.Call]:
    calls: list[cst.Call] = []

    class V(cst.CSTVisitor):
        def visit_Call(self, n: cst.Call) -> None:
            calls.append(n)

    node.visit(V())
    return calls


def _names(node: cst.CSTNode) -> list[cst.Name]:
    """The names read or bound (not the ``attr`` of ``a.attr``)."""
    found: list[cst.Name] = []

    class V(cst.CSTVisitor):
        def visit_Attribute(self, n: cst.Attribute) -> bool:
            n.value.visit(self)
            return False

        def visit_Name(self, n: cst.Name) -> None:
            found.append(n)

    node.visit(V())
    return found


def _self_references(cls: cst.ClassDef, method: str) -> list[cst.CSTNode]:
    """Each ``self.method`` in the class: its call when it is called, else the attribute."""
    out: list[cst.CSTNode] = []

    class V(cst.CSTVisitor):
        def __init__(self) -> None:
            super().__init__()
            self.called: dict[int, cst.Call] = {}

        def visit_Call(self, node: cst.Call) -> None:
            self.called[id(node.func)] = node

        def visit_Attribute(self, node: cst.Attribute) -> None:
            if isinstance(node.value, cst.Name) and node.value.value == "self" and node.attr.value == method:
                out.append(self.called.get(id(node), node))

    cls.visit(V())
    return out
