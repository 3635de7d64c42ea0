"""Block classes passed as values (layout_blocks' class contracts).

torchvision's ResNet never names its block class where it builds the blocks: ``resnet18()`` calls
``_resnet(BasicBlock, ...)``, which calls ``ResNet(block, ...)``, whose ``__init__`` calls
``self._make_layer(block, ...)``, which builds ``block(...)``. This module follows such values
through the parameters of the file's functions, classes and methods: for each parameter, the
classes of the file that may reach it, and every call that builds an instance from one
(``block(...)``). A class value used any other way (stored, returned, passed where the analysis
cannot bind it to a parameter) is refused: its instances could be applied where the analysis
does not look. A caller outside the file may pass another class: the instances built from a
parameter are adapted at run time (``LayoutConventions.block_adapter``), so that one not written
for the native layout gets the channel axis moved around it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst


@dataclass
class ClassValues:
    params: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)  # (scope, parameter) -> classes
    instances: dict[int, frozenset[str]] = field(default_factory=dict)  # call building from a parameter -> classes
    understood: set[int] = field(default_factory=set)  # candidate names in a followed value position
    refused: set[str] = field(default_factory=set)


def class_values(module: cst.Module, candidates: set[str]) -> ClassValues:
    scopes = _scopes(module)
    found = ClassValues()
    held: dict[tuple[str, str], set[str]] = {}  # what may reach each parameter, grown to a fixed point
    uses: dict[tuple[str, str], list[str]] = {}  # parameter -> how it is used ("ok" or a reason)
    for _ in range(len(scopes) + 1):
        before = {k: set(v) for k, v in held.items()}
        for scope, fn in scopes.items():
            _Scope(scope, fn, scopes, candidates, held, found, uses).run()
        if held == before:
            break
    for key, classes in held.items():
        if classes and any(use != "ok" for use in uses.get(key, [])):
            found.refused |= classes
    found.params = {k: frozenset(v) for k, v in held.items() if v}
    found.instances = {i: c for i, c in found.instances.items() if c}
    return found


def _scopes(module: cst.Module) -> dict[str, cst.FunctionDef]:
    """Module-level functions (``name``) and methods (``Class.name``)."""
    scopes: dict[str, cst.FunctionDef] = {}
    for stmt in module.body:
        if isinstance(stmt, cst.FunctionDef):
            scopes[stmt.name.value] = stmt
        elif isinstance(stmt, cst.ClassDef):
            for item in stmt.body.body:
                if isinstance(item, cst.FunctionDef):
                    scopes[f"{stmt.name.value}.{item.name.value}"] = item
    return scopes


def _params(fn: cst.FunctionDef) -> list[cst.Param]:
    return [*fn.params.posonly_params, *fn.params.params]


class _Scope(cst.CSTVisitor):
    """One function: where the class values it names or holds go."""

    def __init__(self, scope, fn, scopes, candidates, held, found: ClassValues, uses):
        super().__init__()
        self.scope, self.fn, self.scopes, self.candidates = scope, fn, scopes, candidates
        self.held, self.found, self.uses = held, found, uses
        self.owner = scope.split(".")[0] if "." in scope else None
        names = {p.name.value for p in [*_params(fn), *fn.params.kwonly_params]}
        # a parameter rebound in the body is no longer the value passed in
        rebound = {n.value for n in _assigned_names(fn.body)}
        self.mine = {p: self.held.setdefault((scope, p), set()) for p in names - rebound}
        self.followed: set[int] = set()  # Name nodes in understood positions

    def run(self) -> None:
        signature = [*_params(self.fn), *self.fn.params.kwonly_params]
        for annotation in [*(p.annotation for p in signature), self.fn.returns]:
            for name in _read_names(annotation) if annotation is not None else ():
                self.follow(name)
        for param in signature:
            if param.default is not None and isinstance(param.default, cst.Name):
                classes = self.classes_of(param.default)
                if classes and param.name.value in self.mine:
                    self.mine[param.name.value] |= classes
                    self.found.understood.add(id(param.default))
        for key in [(self.scope, p) for p in self.mine]:
            self.uses[key] = []
        self.fn.body.visit(self)
        for node in _read_names(self.fn.body):
            if id(node) not in self.followed and node.value in self.mine:
                self.uses[(self.scope, node.value)].append("read")

    def classes_of(self, node: cst.BaseExpression) -> set[str] | None:
        """The classes a value may be, when it is a class value (a candidate or a parameter holding them)."""
        if not isinstance(node, cst.Name):
            return None
        if node.value in self.mine:
            return self.mine[node.value]
        if node.value in self.candidates:
            return {node.value}
        return None

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return node is self.fn  # a nested function: not followed (its reads refuse)

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_Annotation(self, node: cst.Annotation) -> bool:
        for name in _read_names(node):
            self.follow(name)
        return False

    def follow(self, name: cst.Name) -> None:
        """A name in a position that builds no instance (an annotation, ``isinstance``)."""
        self.followed.add(id(name))
        if name.value in self.candidates:
            self.found.understood.add(id(name))

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if isinstance(node.value, cst.Name) and node.value.value in self.mine:
            self.followed.add(id(node.value))  # block.expansion: a class attribute, no instance

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Name) and func.value == "isinstance" and len(node.args) == 2:
            for name in _read_names(node.args[1].value):
                self.follow(name)
            return
        if isinstance(func, cst.Name) and func.value in self.mine:
            self.followed.add(id(func))  # an instance: layout_blocks follows where it goes
            self.found.instances[id(node)] = frozenset(self.mine[func.value])
        target = self.callee(func)
        for arg in node.args:
            classes = self.classes_of(arg.value)
            if classes is None:
                continue
            param = self.bind(target, node, arg) if target is not None else None
            if param is None:
                if isinstance(arg.value, cst.Name) and arg.value.value in self.mine:
                    self.uses[(self.scope, arg.value.value)].append("passed where it is not followed")
                else:
                    self.found.refused |= classes
                self.followed.add(id(arg.value))
                continue
            self.followed.add(id(arg.value))
            self.held.setdefault(param, set()).update(classes)
            if arg.value.value in self.candidates and arg.value.value not in self.mine:  # type: ignore[attr-defined]
                self.found.understood.add(id(arg.value))

    def callee(self, func: cst.BaseExpression) -> tuple[str, int] | None:
        """(scope, parameters to skip) of a call of the file's function, class or own method."""
        if isinstance(func, cst.Name):
            if func.value in self.scopes and "." not in func.value:
                return func.value, 0
            if f"{func.value}.__init__" in self.scopes:
                return f"{func.value}.__init__", 1
        if (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.value.value == "self"
            and self.owner is not None
            and f"{self.owner}.{func.attr.value}" in self.scopes
        ):
            return f"{self.owner}.{func.attr.value}", 1
        return None

    def bind(self, target: tuple[str, int], call: cst.Call, arg: cst.Arg) -> tuple[str, str] | None:
        scope, skip = target
        fn = self.scopes[scope]
        params = _params(fn)[skip:]
        if arg.star or any(a.star for a in call.args[: call.args.index(arg)]):
            return None
        if arg.keyword is not None:
            names = {p.name.value for p in [*params, *fn.params.kwonly_params]}
            return (scope, arg.keyword.value) if arg.keyword.value in names else None
        index = [a for a in call.args if a.keyword is None].index(arg)
        return (scope, params[index].name.value) if index < len(params) else None


def _read_names(node: cst.CSTNode) -> list[cst.Name]:
    """Names read (not ``x`` of ``a.x``, not assignment targets, not keyword names)."""
    found: list[cst.Name] = []

    class V(cst.CSTVisitor):
        def visit_Attribute(self, n: cst.Attribute) -> bool:
            n.value.visit(self)
            return False

        def visit_Arg(self, n: cst.Arg) -> bool:
            n.value.visit(self)
            return False

        def visit_AssignTarget(self, n: cst.AssignTarget) -> bool:
            if not isinstance(n.target, cst.Name):
                n.target.visit(self)
            return False

        def visit_Param(self, n: cst.Param) -> bool:
            if n.default is not None:
                n.default.visit(self)
            return False

        def visit_Name(self, n: cst.Name) -> None:
            found.append(n)

    node.visit(V())
    return found


def _assigned_names(node: cst.CSTNode) -> list[cst.Name]:
    found: list[cst.Name] = []

    class V(cst.CSTVisitor):
        def visit_AssignTarget(self, n: cst.AssignTarget) -> None:
            if isinstance(n.target, cst.Name):
                found.append(n.target)

        def visit_AugAssign(self, n: cst.AugAssign) -> None:
            if isinstance(n.target, cst.Name):
                found.append(n.target)

        def visit_For(self, n: cst.For) -> None:
            if isinstance(n.target, cst.Name):
                found.append(n.target)

    node.visit(V())
    return found


def argument_layers(
    module: cst.Module, classes: set[str], instances: dict[int, frozenset[str]], adapted: set[int] | None = None
) -> tuple[dict[tuple[str, str], list[cst.BaseExpression]], set[int]]:
    """Constructor parameters of ``classes`` that every construction in the file gives a known
    value (torchvision's ``block(..., downsample, ...)`` with ``downsample = None`` or
    ``nn.Sequential(conv1x1(...), norm_layer(...))`` in the caller): (class, parameter) -> the
    values other than ``None``, so that ``self.downsample = downsample`` is a layer the analysis
    knows; and the instance calls (``block(...)``) that pass such values. A parameter given
    anything the analysis cannot see (a caller's own parameter), or at a call that may build a
    class outside ``classes``, is left out; so is every call of ``instances`` not in ``adapted``
    (those the adapter will refuse a foreign class at, when given)."""
    scopes = _scopes(module)
    found: dict[tuple[str, str], list[cst.BaseExpression]] = {}
    unknown: set[tuple[str, str]] = set()
    sites: dict[tuple[str, str], set[int]] = {}  # (class, parameter) -> the instance calls giving it
    for fn in scopes.values():
        local = _local_values(fn)
        for call in _calls(fn):
            func = call.func
            targets = set(instances.get(id(call), ()))
            if isinstance(func, cst.Name) and func.value in scopes_classes(scopes):
                targets.add(func.value)
            trusted = not (targets - classes) and (id(call) not in instances or adapted is None or id(call) in adapted)
            for cls in targets & classes:
                init = scopes.get(f"{cls}.__init__")
                if init is None:
                    continue
                bound = _bind_all(init, call)
                if bound is None or not trusted:
                    unknown.update((cls, p.name.value) for p in [*_params(init)[1:], *init.params.kwonly_params])
                    continue
                for param, value in bound.items():
                    values = _resolve(value, local)
                    if values is None:
                        unknown.add((cls, param))
                    else:
                        found.setdefault((cls, param), []).extend(values)
                        if values and id(call) in instances:
                            sites.setdefault((cls, param), set()).add(id(call))
    layers = {k: v for k, v in found.items() if k not in unknown and v}
    return layers, {call for key in layers for call in sites.get(key, ())}


def scopes_classes(scopes: dict[str, cst.FunctionDef]) -> set[str]:
    return {s.split(".")[0] for s in scopes if s.endswith(".__init__")}


def _bind_all(init: cst.FunctionDef, call: cst.Call) -> dict[str, cst.BaseExpression] | None:
    """parameter -> argument of a constructor call (``self`` skipped); None with ``*`` / ``**``."""
    if any(a.star for a in call.args):
        return None
    params = _params(init)[1:]
    names = {p.name.value for p in [*params, *init.params.kwonly_params]}
    positional = [a for a in call.args if a.keyword is None]
    if len(positional) > len(params):
        return None
    bound = {p.name.value: a.value for p, a in zip(params, positional)}
    for arg in call.args:
        if arg.keyword is not None:
            if arg.keyword.value not in names:
                return None
            bound[arg.keyword.value] = arg.value
    return bound


def _resolve(value: cst.BaseExpression, local: dict[str, list[cst.BaseExpression] | None]):
    """The values an argument may be (``None`` left out), or None when unknown."""
    if isinstance(value, cst.Name):
        if value.value == "None":
            return []
        values = local.get(value.value)
        return values if values is not None and all(isinstance(v, cst.Call) for v in values) else None
    return [value] if isinstance(value, cst.Call) else None


def _local_values(fn: cst.FunctionDef) -> dict[str, list[cst.BaseExpression] | None]:
    """Names of ``fn`` bound only by plain ``name = value`` (not parameters): their values other
    than ``None``; None for a name bound any other way."""
    params = {p.name.value for p in [*_params(fn), *fn.params.kwonly_params]}
    local: dict[str, list[cst.BaseExpression] | None] = {}

    class V(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            for t in node.targets:
                if isinstance(t.target, cst.Name):
                    name = t.target.value
                    values = local.setdefault(name, [])
                    if len(node.targets) != 1 or values is None:
                        local[name] = None
                    elif not (isinstance(node.value, cst.Name) and node.value.value == "None"):
                        values.append(node.value)

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            if isinstance(node.target, cst.Name):
                local[node.target.value] = None

        def visit_For(self, node: cst.For) -> None:
            for name in _read_names(node.target):
                local[name.value] = None

    fn.body.visit(V())
    return {k: v for k, v in local.items() if k not in params}


def _calls(node: cst.CSTNode) -> list[cst.Call]:
    calls: list[cst.Call] = []

    class V(cst.CSTVisitor):
        def visit_Call(self, n: cst.Call) -> None:
            calls.append(n)

    node.visit(V())
    return calls
