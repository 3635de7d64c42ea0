"""Which expressions of a Keras file hold a Keras model: the fit loop's and the model methods'
receivers (fit_loop.py, model_methods.py), and the calls whose results are tensors
(numpy_calls.py).

A model is built by ``keras.Sequential(...)`` / ``keras.Model(...)``, a model class of the file,
a ``keras.applications`` class, ``keras.models.load_model(...)`` or a function of the file that
returns one (a builder). A name or attribute (``model``, ``self.model``) holds one when every
assignment to it in the file is a model; a function parameter when every call of the function in
the file passes one there (``train(build_model())``). The file is read once before the traversal
and these facts settle to a fixed point, so the order of the definitions does not matter. Names
are matched as written, per file: one bound to anything else anywhere is not taken.
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from ...cstutil import code

MODEL_CLASSES = frozenset({"keras.Sequential", "keras.Model", "keras.models.Sequential", "keras.models.Model"})
LOADERS = frozenset({"keras.saving.load_model", "keras.models.load_model"})  # they return a Keras model


class ModelNames:
    def __init__(self, module: cst.Module, resolve: Callable[[cst.BaseExpression], str | None]):
        self.resolve = resolve
        reader = _Reader()
        module.visit(reader)
        self.assigned = reader.assigned  # every value each name, attribute and parameter receives
        self.classes: set[str] = set()  # the file's Keras model classes
        changed = True
        while changed:  # classes deriving from the file's model classes
            count = len(self.classes)
            self.classes |= {n for n, bases in reader.classes.items() if any(self._model_base(b) for b in bases)}
            changed = len(self.classes) != count
        # names and builders depend on each other (`model = build()` in a builder that returns
        # `model`, a parameter given `model`): what may be a model is what is left after dropping
        # every name that receives anything else (a greatest fixed point); of those, a model is
        # one a constructor reaches (a least fixed point), not a cycle of names alone
        assigned, returns = reader.assigned, reader.returns
        self.returns = returns  # the values each of the file's functions returns
        self.builders: set[str] = set(returns)
        self.models: set[str] = set(assigned)
        changed = True
        while changed:  # each round can only drop: it ends
            before = (len(self.builders), len(self.models))
            self.builders = {n for n in self.builders if any(self.is_model(r) for r in returns[n])}
            self.models = {t for t in self.models if all(v is not None and self.is_model(v) for v in assigned[t])}
            changed = before != (len(self.builders), len(self.models))
        possible, possible_builders = self.models, self.builders
        self.models, self.builders = set(), set()
        changed = True
        while changed:  # each round can only add: it ends
            before = (len(self.builders), len(self.models))
            self.builders = {n for n in possible_builders if any(self.is_model(r) for r in returns[n])}
            self.models = {t for t in possible if any(v is not None and self.is_model(v) for v in assigned[t])}
            changed = before != (len(self.builders), len(self.models))
        self.not_models = set(assigned) - self.models

    def _model_base(self, base: cst.BaseExpression) -> bool:
        return self.resolve(base) in MODEL_CLASSES or (isinstance(base, cst.Name) and base.value in self.classes)

    def holds(self, receiver: cst.BaseExpression) -> bool:
        """Does ``receiver`` (a name, an attribute, a call) hold a Keras model?"""
        if isinstance(receiver, (cst.Name, cst.Attribute)):
            return code(receiver) in self.models
        return self.is_model(receiver)

    def is_model(self, value: cst.BaseExpression) -> bool:
        """A Keras model: built here, or a name holding one."""
        if isinstance(value, (cst.Name, cst.Attribute)):
            return code(value) in self.models
        if not isinstance(value, cst.Call):
            return False
        if isinstance(value.func, cst.Name) and value.func.value in self.classes | self.builders:
            return True
        qual = self.resolve(value.func) or ""
        applications = qual.startswith("keras.applications.") and qual.rsplit(".", 1)[1][:1].isupper()
        return qual in MODEL_CLASSES or qual in LOADERS or applications


class _Reader(cst.CSTVisitor):
    """The file's class bases, the values its functions return, and every value a name, an
    attribute or a parameter receives (None: one this reading does not follow)."""

    def __init__(self) -> None:
        self.classes: dict[str, list[cst.BaseExpression]] = {}
        self.returns: dict[str, list[cst.BaseExpression]] = {}
        self.assigned: dict[str, list[cst.BaseExpression | None]] = {}
        self.params: dict[str, list[cst.Param]] = {}  # function -> its parameters
        self.calls: list[cst.Call] = []
        self.defining: list[str] = []

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes[node.name.value] = [b.value for b in node.bases]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.defining.append(node.name.value)
        self.params[node.name.value] = [*node.params.posonly_params, *node.params.params, *node.params.kwonly_params]

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.defining.pop()

    def visit_Return(self, node: cst.Return) -> None:
        if self.defining and node.value is not None:
            self.returns.setdefault(self.defining[-1], []).append(node.value)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._bind(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._bind(node.target, node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._bind(node.target, None)

    def visit_For(self, node: cst.For) -> None:
        self._bind(node.target, None)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind(node.asname.name, None)

    def visit_Call(self, node: cst.Call) -> None:
        self.calls.append(node)

    def _bind(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        if isinstance(target, (cst.Name, cst.Attribute)):
            self.assigned.setdefault(code(target), []).append(value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            values = value.elements if isinstance(value, (cst.Tuple, cst.List)) else ()
            pairs = len(values) == len(target.elements) and not any(isinstance(e, cst.StarredElement) for e in values)
            for i, element in enumerate(target.elements):  # `a, b = build(), build()`: pairwise
                self._bind(element.value, values[i].value if pairs else None)

    def leave_Module(self, original_node: cst.Module) -> None:
        """A parameter receives what every call of its function passes there."""
        for name, params in self.params.items():
            calls = [c for c in self.calls if isinstance(c.func, cst.Name) and c.func.value == name]
            for index, param in enumerate(params):
                if param.name.value in ("self", "cls"):
                    continue
                values = [_passed(c, index, param) for c in calls] or [None]
                self.assigned.setdefault(param.name.value, []).extend(values)


def _passed(call: cst.Call, index: int, param: cst.Param) -> cst.BaseExpression | None:
    """What ``call`` passes for ``param`` (the ``index``-th parameter), or None (its default,
    a star argument: not followed)."""
    if any(a.star for a in call.args):
        return None
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == param.name.value:
            return arg.value
    positional = [a for a in call.args if a.keyword is None]
    return positional[index].value if index < len(positional) else None
