"""Translated layer classes are complete Keras citizens.

Each class that became a ``keras.layers.Layer`` / ``keras.Model`` is registered for
serialization (``@keras.saving.register_keras_serializable``), and its ``__init__`` takes
``**kwargs`` (``name``, ``dtype``, ``trainable``...) and hands them to the base class. Keras then
builds ``get_config`` itself from the constructor's arguments (its "auto config", for arguments
of basic types) and ``from_config`` calls the constructor with them, so ``model.save("m.keras")``
followed by ``keras.models.load_model`` rebuilds the model. A constructor taking other objects
(a layer, a callable) needs a hand-written ``get_config``: Keras says so when saving.
"""

from __future__ import annotations

import re
from pathlib import Path

import libcst as cst

from ...cstutil import expression
from ..common.base import Pass

_KWARGS = "kwargs"


def package_name(path: str) -> str:
    """The registration package: the output module's name, so two files' classes never clash."""
    stem = Path(path).stem if path else ""
    return stem if re.fullmatch(r"[A-Za-z_]\w*", stem) else "fwtranslate"


class KerasSerializable(Pass):
    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.init_stack: list[bool] = []  # per function: an __init__ that now forwards **kwargs

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
        return updated.with_changes(params=updated.params.with_changes(star_kwarg=star))

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
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
        if any("register_keras_serializable" in cst.Module([]).code_for_node(d) for d in updated.decorators):
            return updated
        package = package_name(self.ctx.path)
        self.ctx.target_imports.add("import keras")
        decorator = cst.Decorator(expression(f'keras.saving.register_keras_serializable(package="{package}")'))
        return updated.with_changes(decorators=[decorator, *updated.decorators])


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
