"""Source signatures, and binding a call's arguments to them.

Binding normalises positional and keyword arguments: ``nn.Conv2d(3, 8, 3, 2)`` and
``nn.Conv2d(in_channels=3, out_channels=8, kernel_size=3, stride=2)`` bind identically, so a
rule's template only ever talks about parameter names.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import libcst as cst

from ..cstutil import expression
from .literals import UNKNOWN, literal_value, to_node

REQUIRED = object()  # a parameter without default


class SignatureError(ValueError):
    pass


class BindError(Exception):
    """The call's arguments cannot be matched to the signature statically."""


@dataclass(frozen=True)
class Param:
    name: str
    kind: str  # "positional" (positional-or-keyword), "keyword", "varargs", "varkw"
    default: Any = REQUIRED


@dataclass(frozen=True)
class Signature:
    params: tuple[Param, ...]
    text: str

    @classmethod
    def parse(cls, text: str) -> Signature:
        try:
            fn = ast.parse(f"def _{text.strip()}: pass").body[0]
        except SyntaxError as exc:
            raise SignatureError(f"not a Python parameter list: {text!r} ({exc.msg})") from None
        if not isinstance(fn, ast.FunctionDef):  # `x): pass\nclass C(`: something else parsed
            raise SignatureError(f"not a Python parameter list: {text!r}")
        a = fn.args
        params: list[Param] = []
        positional = [*a.posonlyargs, *a.args]
        defaults = [REQUIRED] * (len(positional) - len(a.defaults)) + [_default(d, text) for d in a.defaults]
        for arg, default in zip(positional, defaults):
            params.append(Param(arg.arg, "positional", default))
        if a.vararg is not None:
            params.append(Param(a.vararg.arg, "varargs", ()))
        for arg, default in zip(a.kwonlyargs, a.kw_defaults):
            params.append(Param(arg.arg, "keyword", REQUIRED if default is None else _default(default, text)))
        if a.kwarg is not None:
            params.append(Param(a.kwarg.arg, "varkw", {}))
        return cls(tuple(params), text.strip())

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def param(self, name: str) -> Param | None:
        for p in self.params:
            if p.name == name:
                return p
        return None


def _default(node: ast.expr, text: str) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError:
        # e.g. `dtype=torch.float32`: kept as source text, substituted verbatim if used
        return Opaque(ast.get_source_segment(f"def _{text.strip()}: pass", node) or "None")


@dataclass(frozen=True)
class Opaque:
    """A default that is not a Python literal (kept as source)."""

    source: str


@dataclass
class BoundArg:
    """One parameter after binding: the source expression (or the default) and its value."""

    node: cst.BaseExpression
    given: bool  # passed explicitly by the caller
    value: Any  # the Python value when the expression is a literal, else UNKNOWN
    elements: tuple[cst.BaseElement, ...] | None = None  # varargs: the individual elements
    keywords: tuple[cst.Arg, ...] | None = None  # **kwargs: the extra keyword (and **) arguments


def bind(sig: Signature, args: Sequence[cst.Arg], receiver: cst.BaseExpression | None = None) -> dict[str, BoundArg]:
    """Bind call arguments (and a method receiver, bound to the first parameter)."""
    bound: dict[str, BoundArg] = {}
    positional_params = [p for p in sig.params if p.kind == "positional"]
    varargs = next((p for p in sig.params if p.kind == "varargs"), None)
    varkw = next((p for p in sig.params if p.kind == "varkw"), None)
    extra: list[cst.BaseElement] = []
    extra_kw: list[cst.Arg] = []
    pos_index = 0
    all_args: list[cst.Arg] = list(args)
    if receiver is not None:
        all_args.insert(0, cst.Arg(receiver))
    for arg in all_args:
        if arg.keyword is None and arg.star == "":
            if pos_index < len(positional_params):
                p = positional_params[pos_index]
                pos_index += 1
                bound[p.name] = BoundArg(arg.value, True, literal_value(arg.value))
            elif varargs is not None:
                extra.append(cst.Element(arg.value))
            else:
                raise BindError(f"too many positional arguments for {sig.text}")
        elif arg.star == "*":
            if varargs is None or pos_index < len(positional_params):
                raise BindError("a *starred argument cannot be matched to parameters statically")
            extra.append(cst.StarredElement(arg.value))
        elif arg.star == "**":
            if varkw is None:
                raise BindError("**kwargs in the call cannot be matched to parameters statically")
            extra_kw.append(arg)
        else:
            name = arg.keyword.value  # type: ignore[union-attr]
            named = sig.param(name)
            if named is None or named.kind in ("varargs", "varkw"):
                if varkw is not None:
                    extra_kw.append(arg)  # collected by **kwargs of the source signature
                    continue
                raise BindError(f"unexpected keyword argument {name!r}")
            if name in bound:
                raise BindError(f"argument {name!r} given twice")
            bound[name] = BoundArg(arg.value, True, literal_value(arg.value))
    if varargs is not None:
        elements = tuple(extra)
        value: Any = UNKNOWN
        if all(isinstance(e, cst.Element) for e in elements):
            values = tuple(literal_value(e.value) for e in elements)
            value = UNKNOWN if UNKNOWN in values else values
        bound[varargs.name] = BoundArg(
            cst.Tuple(list(elements)) if elements else cst.Tuple([]), bool(elements), value, elements
        )
    if varkw is not None:
        items = [
            cst.StarredDictElement(a.value)
            if a.star == "**"
            else cst.DictElement(cst.SimpleString(f'"{a.keyword.value}"'), a.value)  # type: ignore[union-attr]
            for a in extra_kw
        ]
        kw_values = {a.keyword.value: literal_value(a.value) for a in extra_kw if a.keyword is not None}
        known = all(a.star == "" for a in extra_kw) and UNKNOWN not in kw_values.values()
        bound[varkw.name] = BoundArg(
            cst.Dict(items), bool(extra_kw), kw_values if known else UNKNOWN, keywords=tuple(extra_kw)
        )
    for p in sig.params:
        if p.name in bound or p.kind in ("varargs", "varkw"):
            continue
        if p.default is REQUIRED:
            raise BindError(f"missing required argument {p.name!r}")
        default = p.default
        if isinstance(default, Opaque):
            bound[p.name] = BoundArg(expression(default.source), False, UNKNOWN)
        else:
            bound[p.name] = BoundArg(to_node(default), False, default)
    return bound
