"""Translated layer classes are complete Keras citizens.

Each class that became a ``keras.layers.Layer`` / ``keras.Model`` is registered for
serialization (``@keras.saving.register_keras_serializable``), and its ``__init__`` takes
``**kwargs`` (``name``, ``dtype``, ``trainable``...) and hands them to the base class. Keras then
builds ``get_config`` itself from the constructor's arguments (its "auto config", for arguments
of basic types) and ``from_config`` calls the constructor with them, so ``model.save("m.keras")``
followed by ``keras.models.load_model`` rebuilds the model.

Keras' automatic config saves plain arguments only. Where the source shows that a constructor
may take a layer, a layer class, a function or a ``partial`` (constructor_args.py), the class
keeps its arguments (``self.init_args = {...}`` right after ``super().__init__``, before
``__init__`` can reassign one) and gets ``get_config`` / ``from_config`` that save and rebuild
them with ``serialize_arguments`` / ``deserialize_arguments`` (rules/torch_to_tf/support_saving.py).
Keras saves a function by its registered name, so the factories standing for a layer class and
the module's functions used as values are registered too. A lambda argument is reported: Keras'
safe mode refuses to rebuild it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import TypeVar

import libcst as cst
import libcst.matchers as m

from ...cstutil import expression, statement
from ...report import INFO, WARNING
from ..common.base import Pass
from .constructor_args import CONTAINERS, LAMBDA, find_class, object_params

_KWARGS = "kwargs"
ARGS_ATTR = "init_args"  # self.init_args: the constructor's arguments, for get_config


def package_name(path: str) -> str:
    """The registration package: the output module's name, so two files' classes never clash."""
    stem = Path(path).stem if path else ""
    return stem if re.fullmatch(r"[A-Za-z_]\w*", stem) else "fwtranslate"


class KerasSerializable(Pass):
    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.init_stack: list[bool] = []  # per function: an __init__ that now forwards **kwargs
        self.configs: dict[str, list[str]] = {}  # class -> the constructor arguments its get_config saves

    def _is_layer_init(self, node: cst.FunctionDef) -> bool:
        fn = self.ctx.current_function
        owner = fn.owner if fn is not None else None
        return (
            owner is not None and owner.is_module and node.name.value == "__init__" and node.params.star_kwarg is None
        )

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.init_stack.append(self._is_layer_init(node))

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        forwards = self.init_stack.pop()
        if not forwards:
            return updated
        star = cst.Param(cst.Name(_KWARGS))
        updated = updated.with_changes(params=updated.params.with_changes(star_kwarg=star))
        return self._keep_arguments(original, updated)

    # --- get_config / from_config where Keras' automatic config cannot save the arguments -------
    def _keep_arguments(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        ctx = self.ctx
        cls = ctx.current_class
        source = find_class(ctx.source, cls.name) if cls is not None else None
        if cls is None or cls.node is None or source is None:
            return updated
        objects = object_params(source, self._is_object, self._is_container)
        for param in init_params(original):
            if objects.get(param.name.value) == LAMBDA:
                ctx.report(param, WARNING, "keras-config", _LAMBDA.format(cls.name, param.name.value))
        inherited = any(isinstance(b.value, cst.Name) and b.value.value in self.configs for b in cls.node.bases)
        if not (objects or inherited):
            return updated  # plain arguments: Keras' automatic config saves them
        if isinstance(original.params.star_arg, cst.Param) or original.params.posonly_params:
            ctx.report(
                original, INFO, "keras-config", f"{cls.name} is not saveable as .keras: its constructor takes *args"
            )
            return updated
        names = [p.name.value for p in init_params(original)]
        self.configs[cls.name] = names
        fields = ", ".join(f'"{n}": {n}' for n in names)
        capture = statement(f"self.{ARGS_ATTR} = {{{fields}}}  # for get_config\n")
        body = list(updated.body.body)
        body.insert(_capture_at(body, set(names)), capture)
        return updated.with_changes(body=updated.body.with_changes(body=body))

    def _is_object(self, text: str) -> bool:
        """A framework object (``nn.BatchNorm2d``) or a class of this file."""
        if text in self.ctx.module_classes:
            return True
        qual = self.ctx.resolve(expression(text))
        return qual is not None and self.ctx.imports.is_framework(qual)

    def _is_container(self, text: str) -> bool:
        return self.ctx.resolve(expression(text)) in CONTAINERS

    def _forward_kwargs(self, updated: cst.Call) -> cst.BaseExpression:
        if not (self.init_stack and self.init_stack[-1] and _is_super_init(updated)):
            return updated
        if any(arg.star == "**" for arg in updated.args):
            return updated
        # a keyword given here may come in kwargs too (``name`` when Keras rebuilds the layer):
        # the caller's value wins, as it would in the base class
        args = [
            arg.with_changes(value=_pop(arg.keyword.value, arg.value)) if arg.keyword is not None else arg
            for arg in updated.args
        ]
        if args and args[-1].comma is cst.MaybeSentinel.DEFAULT:
            args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        args.append(cst.Arg(cst.Name(_KWARGS), star="**"))
        return updated.with_changes(args=args)

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        cls = self.ctx.current_class
        if cls is None or not cls.is_module or self.ctx.functions:
            return updated
        if cls.name in self.configs:
            updated = self._config_methods(updated, self.configs[cls.name])
        self.ctx.target_imports.add("import keras")
        return _registered(updated, package_name(self.ctx.path))

    def _config_methods(self, cls: cst.ClassDef, names: list[str]) -> cst.ClassDef:
        defined = {s.name.value for s in cls.body.body if isinstance(s, cst.FunctionDef)}
        if defined & {"get_config", "from_config"}:
            return cls  # the source's own
        self.ctx.helpers_used |= {"serialize_arguments", "deserialize_arguments"}
        listed = ", ".join(f'"{n}"' for n in names) + ("," if len(names) == 1 else "")
        methods = cst.parse_module(
            "def get_config(self):\n"
            f"    return {{**super().get_config(), **serialize_arguments(self.{ARGS_ATTR})}}\n"
            "\n"
            "@classmethod\n"
            "def from_config(cls, config):\n"
            f"    return super().from_config(deserialize_arguments(config, ({listed})))\n"
        ).body
        blank = [cst.EmptyLine(indent=False)]
        methods = [s.with_changes(leading_lines=blank) for s in methods]
        return cls.with_changes(body=cls.body.with_changes(body=[*cls.body.body, *methods]))

    # --- functions passed as arguments are registered, so Keras can save them by name -----------
    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        package = package_name(self.ctx.path)
        for qual, (name, fn) in list(self.ctx.factories.items()):  # a layer class used as a value
            self.ctx.factories[qual] = (name, _registered(fn, package))
        values = _value_names(self.ctx.source)
        body = [
            _registered(s, package) if isinstance(s, cst.FunctionDef) and s.name.value in values else s
            for s in updated.body
        ]
        return updated.with_changes(body=body)

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        self._check_lambda_argument(original)
        return self._forward_kwargs(updated)

    def _check_lambda_argument(self, call: cst.Call) -> None:
        func = call.func
        if not (isinstance(func, cst.Name) and func.value in self.ctx.module_classes):
            return
        for arg in call.args:
            if isinstance(arg.value, cst.Lambda):
                what = arg.keyword.value if arg.keyword is not None else "an argument"
                self.ctx.report(arg, WARNING, "keras-config", _LAMBDA.format(func.value, what))


_LAMBDA = (
    "{0}'s argument {1} is a lambda: keras.models.load_model refuses to rebuild it (safe mode); "
    "a named function can be saved"
)


def init_params(init: cst.FunctionDef) -> list[cst.Param]:
    """The named parameters of ``__init__``, ``self`` left out."""
    params = init.params
    return [*params.posonly_params, *params.params, *params.kwonly_params][1:]


_Definition = TypeVar("_Definition", cst.FunctionDef, cst.ClassDef)


def _registered(node: _Definition, package: str) -> _Definition:
    """``node`` with ``@keras.saving.register_keras_serializable`` first, unless it has one."""
    if any("register_keras_serializable" in cst.Module([]).code_for_node(d) for d in node.decorators):
        return node
    decorator = cst.Decorator(expression(f'keras.saving.register_keras_serializable(package="{package}")'))
    return node.with_changes(decorators=[decorator, *node.decorators])


def _value_names(source: str) -> set[str]:
    """Names used as values where a function may be passed to a constructor: call arguments
    (also inside a list or tuple argument), parameter defaults and assigned values. Read with
    ``ast.walk``, which does not recurse (201 chained calls are a legal file)."""
    out: set[str] = set()

    def add(node: ast.expr | None) -> None:
        if isinstance(node, ast.Name):
            out.add(node.id)
        elif isinstance(node, (ast.List, ast.Tuple)):
            for element in node.elts:
                add(element)

    try:
        tree = ast.parse(source)
    except (SyntaxError, RecursionError, MemoryError):
        return out
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                add(arg)
        elif isinstance(node, ast.arguments):
            for default in [*node.defaults, *node.kw_defaults]:
                add(default)
        elif isinstance(node, ast.Assign):
            add(node.value)
    return out


def _capture_at(body: list, names: set[str]) -> int:
    """Where ``self.init_args = ...`` goes: after ``super().__init__(...)`` (so a subclass's
    arguments replace its base's), unless a parameter is reassigned before; else first."""
    first = 1 if body and m.matches(body[0], m.SimpleStatementLine([m.Expr(m.SimpleString())])) else 0
    for i, stmt in enumerate(body):
        if m.findall(stmt, m.AssignTarget(target=m.OneOf(*(m.Name(n) for n in names)))) if names else False:
            return first
        if isinstance(stmt, cst.SimpleStatementLine) and any(
            isinstance(s, cst.Expr) and isinstance(s.value, cst.Call) and _is_super_init(s.value) for s in stmt.body
        ):
            return i + 1
    return first


def _pop(keyword: str, default: cst.BaseExpression) -> cst.Call:
    """``kwargs.pop("name", default)``."""
    comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
    return cst.Call(
        cst.Attribute(cst.Name(_KWARGS), cst.Name("pop")),
        [cst.Arg(cst.SimpleString(repr(keyword).replace("'", '"')), comma=comma), cst.Arg(default)],
    )


def _is_super_init(call: cst.Call) -> bool:
    func = call.func
    return (
        isinstance(func, cst.Attribute)
        and func.attr.value == "__init__"
        and isinstance(func.value, cst.Call)
        and isinstance(func.value.func, cst.Name)
        and func.value.func.value == "super"
    )
