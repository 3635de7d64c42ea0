"""Rule templates: a target expression written in Python, over the source's parameter names.

Semantics (see docs/rules.md):
- a parameter name is replaced by the caller's expression, or by the source default;
- a call argument whose value mentions only parameters the caller did not pass is omitted
  (the target default must then mean the same), unless the parameter is listed in ``force``;
- ``*name`` of a ``*args`` parameter expands its elements; a bare ``name`` becomes a tuple
  (one non-integer element is passed through: ``x.view(shape)``);
- ``**name`` of a ``**kwargs`` parameter expands the caller's extra keyword arguments;
- ``owner_of(p)`` / ``attr_of(p)`` split an argument written ``m.weight`` into ``m`` and
  ``"weight"`` (itself and ``None`` otherwise): for in-place initialisers of layer weights;
- ``static(expr)`` is evaluated at translation time when every parameter in it is a literal,
  else it is emitted as ``expr``;
- arithmetic on literals is folded (``1 - 0.1`` -> ``0.9``).
"""

from __future__ import annotations

import ast
import functools
import operator
from collections.abc import Callable, Mapping
from typing import Any

import libcst as cst

from ..cstutil import opaque_types, walk
from . import expressions
from .literals import UNKNOWN, literal_value, to_node
from .signature import BoundArg

_NEEDS_PARENS = (
    cst.BinaryOperation,
    cst.BooleanOperation,
    cst.Comparison,
    cst.UnaryOperation,
    cst.IfExp,
    cst.Lambda,
    cst.NamedExpr,
)
_SAFE_PARENTS = (
    cst.Arg,
    cst.Element,
    cst.StarredElement,
    cst.DictElement,
    cst.Index,
    cst.SubscriptElement,
    cst.Param,
    cst.Tuple,
    cst.List,
)


_PARAMS_CACHE: dict[tuple, frozenset[str]] = {}


def referenced_params(expr: str | cst.CSTNode, params: set[str] | frozenset[str], direct: bool = False) -> set[str]:
    """Parameter names an expression mentions. ``direct``: not those inside the arguments of a
    nested call (which omits its own arguments), except inside ``static(...)``."""
    if isinstance(expr, str) and not direct:
        # conditions: CPython's parser is much cheaper than LibCST's
        tree = ast.parse(expr, mode="eval")  # keyword and attribute names are no ast.Name
        return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id in params}
    if not isinstance(expr, str):
        key = (id(expr), params if isinstance(params, frozenset) else frozenset(params), direct)
        cached = _PARAMS_CACHE.get(key)
        if cached is not None:
            return set(cached)
    node = cst.parse_expression(expr) if isinstance(expr, str) else expr
    found: set[str] = set()

    class _V(cst.CSTVisitor):
        def visit_Call(self, n: cst.Call) -> bool:
            if direct and not (isinstance(n.func, cst.Name) and n.func.value == "static"):
                n.func.visit(self)
                return False
            return True

        def visit_Name(self, n: cst.Name) -> None:
            if n.value in params:
                found.add(n.value)

        def visit_Attribute(self, n: cst.Attribute) -> bool:
            n.value.visit(self)  # attribute names are not parameters
            return False

        def visit_Arg(self, n: cst.Arg) -> bool:
            n.value.visit(self)  # keyword names are not parameters
            return False

    node.visit(_V())
    if not isinstance(expr, str):
        # template nodes live as long as their rule: cache by identity (renders are hot)
        _PARAMS_CACHE[key] = frozenset(found)
    return found


def evaluate(expr_source: str, bound: Mapping[str, BoundArg]) -> Any:
    """Evaluate a condition over literal parameter values; UNKNOWN if a value is not known.

    ``and`` / ``or`` / ``not`` are three-valued: ``stride != 1 and dilation != 1`` is False when
    dilation is the literal 1, whatever the (unknown) stride.
    """
    try:
        return _evaluate(_parse_condition(expr_source), expr_source, bound)
    except RuleExpressionError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever a rule's expression raises is the rule's fault
        raise RuleExpressionError(expr_source, exc) from None


class RuleExpressionError(Exception):
    """A rule's condition or ``static(...)`` failed on one call (a TypeError, a size limit...)."""

    def __init__(self, source: str, cause: BaseException):
        self.source, self.cause = source, cause
        super().__init__(f"the rule expression {source!r} failed: {type(cause).__name__}: {cause}")


@functools.cache
def _parse_condition(source: str) -> ast.expr:
    return expressions.parse(source)  # checked against the whitelist; rule files never reach eval


# conditions are evaluated for every call a rule translates: the names of each (cached,
# long-lived) ast node are computed once
_NAMES: dict[int, frozenset[str]] = {}


def _evaluate(node: ast.expr, source: str | None, bound: Mapping[str, BoundArg]) -> Any:
    env: dict[str, Any] = {}
    names = _NAMES.get(id(node))
    if names is None:
        names = _NAMES[id(node)] = frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name))
    for name in names:
        if name in bound:
            value = bound[name].value
            if value is UNKNOWN:
                return _evaluate_logic(node, bound)
            env[name] = value
    binding = {
        "given": lambda name: bound[name].given,
        "source": lambda name: _source(bound[name]),
        "starred": lambda name: any(isinstance(e, cst.StarredElement) for e in bound[name].elements or ()),
    }
    return expressions.interpret(node, env, expressions.functions_for(binding))


def _evaluate_logic(node: ast.expr, bound: Mapping[str, BoundArg]) -> Any:
    """A condition with an unknown value: decided only if a known operand of and/or decides it."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = _evaluate(node.operand, None, bound)
        return UNKNOWN if inner is UNKNOWN else not inner
    if isinstance(node, ast.BoolOp):
        decisive = isinstance(node.op, ast.Or)  # the operand truth value that decides the whole
        values = [_evaluate(v, None, bound) for v in node.values]
        if any(v is not UNKNOWN and bool(v) == decisive for v in values):
            return decisive
        if all(v is not UNKNOWN for v in values):  # all known, none decisive
            return not decisive
    return UNKNOWN


def _source(b: BoundArg) -> str | tuple[str, ...]:
    """The caller's code for a parameter (its default when not given); a tuple for ``*args``."""
    code = cst.Module([]).code_for_node
    if b.elements is not None:
        return tuple(code(e.value) for e in b.elements)
    return code(b.node)


class Renderer(cst.CSTTransformer):
    """Instantiate one template for one bound call."""

    def __init__(self, bound: Mapping[str, BoundArg], force: frozenset[str] = frozenset()):
        super().__init__()
        self.bound = bound
        self.force = force
        self.params = frozenset(bound)
        self._parents: list[cst.CSTNode] = []

    # --- traversal bookkeeping -------------------------------------------------------------
    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "static":
            self._parents.append(node)
            return False  # handled whole in leave_Call
        self._parents.append(node)
        if type(node).__name__ in _renderer_opaque():
            return False  # nothing below it to substitute (whitespace, commas, a Name's parens)
        return super().on_visit(node)

    def on_leave(self, original: cst.CSTNode, updated: cst.CSTNode):
        self._parents.pop()
        return super().on_leave(original, updated)

    # attribute-level hooks are unused: skip LibCST's per-attribute getattr dispatch
    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        return None

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        return None

    # --- substitution ----------------------------------------------------------------------
    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.BaseExpression:
        b = self.bound.get(original.value)
        if b is None:
            return updated
        parent = self._parents[-1] if self._parents else None
        if isinstance(parent, cst.Attribute) and parent.attr is original:
            return updated
        if isinstance(parent, cst.Arg) and parent.keyword is original:
            return updated
        if b.elements is not None:  # *args parameter used bare: a tuple
            elements = b.elements
            if (
                len(elements) == 1
                and isinstance(elements[0], cst.Element)
                and not isinstance(literal_value(elements[0].value), int)
            ):
                return self._fit(elements[0].value, parent)
            if len(elements) == 1 and isinstance(elements[0], cst.Element):
                return cst.Tuple([elements[0].with_changes(comma=cst.MaybeSentinel.DEFAULT)])
            return cst.Tuple([e.with_changes(comma=cst.MaybeSentinel.DEFAULT) for e in elements])
        return self._fit(b.node, parent)

    def _fit(self, value: cst.BaseExpression, parent: cst.CSTNode | None) -> cst.BaseExpression:
        if isinstance(value, _NEEDS_PARENS) and not value.lpar and not isinstance(parent, _SAFE_PARENTS):
            return value.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        return value

    def leave_StarredElement(self, original: cst.StarredElement, updated: cst.StarredElement):
        b = self._vararg(original.value)
        if b is None:
            return updated
        if not b.elements:
            return cst.RemoveFromParent()
        return cst.FlattenSentinel([e.with_changes(comma=cst.MaybeSentinel.DEFAULT) for e in b.elements])

    def _vararg(self, node: cst.BaseExpression) -> BoundArg | None:
        if isinstance(node, cst.Name):
            b = self.bound.get(node.value)
            if b is not None and b.elements is not None:
                return b
        return None

    def leave_Arg(self, original: cst.Arg, updated: cst.Arg):
        if original.star == "**" and isinstance(original.value, cst.Name):
            b = self.bound.get(original.value.value)
            if b is not None and b.keywords is not None:
                if not b.keywords:
                    return cst.RemoveFromParent()
                return cst.FlattenSentinel([a.with_changes(comma=cst.MaybeSentinel.DEFAULT) for a in b.keywords])
        if original.star == "*":
            b = self._vararg(original.value)
            if b is not None:
                if not b.elements:
                    return cst.RemoveFromParent()
                return cst.FlattenSentinel(
                    [cst.Arg(e.value, star="*" if isinstance(e, cst.StarredElement) else "") for e in b.elements]
                )
        used = referenced_params(original.value, self.params, direct=True)
        if used and not any(self.bound[n].given or n in self.force for n in used) and not self._in_always():
            return cst.RemoveFromParent()
        return updated.with_changes(value=fold(updated.value))

    def _in_always(self) -> bool:
        """Is the argument being left one of an ``always(...)`` call (its parent)?"""
        parent = self._parents[-1] if self._parents else None
        return isinstance(parent, cst.Call) and isinstance(parent.func, cst.Name) and parent.func.value == "always"

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if isinstance(original.func, cst.Name) and original.func.value == "static":
            inner = original.args[0].value
            source = cst.Module([]).code_for_node(inner)
            value = evaluate(source, self.bound)
            if value is not UNKNOWN:
                return to_node(value)
            return inner.visit(Renderer(self.bound, self.force))  # type: ignore[return-value]
        if isinstance(original.func, cst.Name) and original.func.value in ("owner_of", "attr_of"):
            return self._split_attribute(original)
        if isinstance(original.func, cst.Name) and original.func.value in MACROS:
            return MACROS[original.func.value]([a.value for a in updated.args])
        return updated.with_changes(args=_fix_commas(updated.args))

    def _split_attribute(self, call: cst.Call) -> cst.BaseExpression:
        """``owner_of(p)`` / ``attr_of(p)``: for an argument written ``m.weight``, the object
        ``m`` and the string ``"weight"``; for any other expression, itself and ``None``."""
        arg = call.args[0].value
        b = self.bound.get(arg.value) if isinstance(arg, cst.Name) else None
        node = b.node if b is not None else arg
        owner = call.func.value == "owner_of"  # type: ignore[attr-defined]
        if isinstance(node, cst.Attribute):
            return node.value if owner else to_node(node.attr.value)
        return node if owner else cst.Name("None")


@functools.cache
def _renderer_handled() -> frozenset[str]:
    own = {a for c in Renderer.__mro__[: Renderer.__mro__.index(cst.CSTTransformer)] for a in vars(c)}
    return frozenset(a.split("_", 1)[1] for a in own if a.startswith(("visit_", "leave_")))


@functools.cache
def _renderer_opaque() -> frozenset[str]:
    return opaque_types(_renderer_handled())


@functools.cache
def _renderer_inert() -> frozenset[str]:
    return _renderer_opaque() - _renderer_handled()


def _chain(items: list[cst.BaseExpression]) -> cst.BaseExpression:
    """``chain(a, b, ...)``: the layers that are not ``None`` applied in order: one layer is
    itself, several an ``nn.Sequential`` (torch target: a Keras layer's ``activation=``)."""
    kept = [i for i in items if not (isinstance(i, cst.Name) and i.value == "None")]
    if len(kept) == 1:
        return kept[0]
    if not kept:
        return cst.parse_expression("nn.Identity()")
    return cst.Call(cst.parse_expression("nn.Sequential"), [cst.Arg(i) for i in kept])


def _sequential_of(items: list[cst.BaseExpression]) -> cst.BaseExpression:
    """``sequential_of(layers)`` (torch target): ``nn.Sequential(a, b)`` for a literal list, less
    the ``KerasInput(...)`` entries that only declared a shape; else a runtime filter."""
    container = cst.parse_expression("nn.Sequential")
    if not items:
        return cst.Call(container, [])
    value = items[0]
    if isinstance(value, (cst.List, cst.Tuple)):
        kept = [
            e
            for e in value.elements
            if not (
                isinstance(e.value, cst.Call)
                and isinstance(e.value.func, cst.Name)
                and e.value.func.value == "KerasInput"
            )
        ]
        return cst.Call(
            container, [cst.Arg(e.value, star="*" if isinstance(e, cst.StarredElement) else "") for e in kept]
        )
    return cst.Call(container, [cst.Arg(cst.Call(cst.Name("without_inputs"), [cst.Arg(value)]), star="*")])


def _arithmetic(node: cst.BaseExpression) -> bool:
    """Names and integers under + - * // (what the static size analysis passes as a size)."""
    if isinstance(node, cst.Name):
        return node.value not in ("True", "False", "None")
    if isinstance(node, cst.Integer):
        return True
    return (
        isinstance(node, cst.BinaryOperation)
        and isinstance(node.operator, (cst.Add, cst.Subtract, cst.Multiply, cst.FloorDivide))
        and _arithmetic(node.left)
        and _arithmetic(node.right)
    )


def _sized(items: list[cst.BaseExpression]) -> cst.BaseExpression:
    """``sized(size, nn.LazyX(args))`` (torch target): ``nn.X(size, args)`` when ``size`` is a
    positive integer literal or arithmetic on variables (torch's Lazy modules are their plain module less the first
    argument: in_features, in_channels, num_features), else the Lazy module as written. An
    argument that mentions only a template variable that was not given is omitted: then only
    the Lazy module is left."""
    lazy = items[-1]
    size = literal_value(items[0]) if len(items) == 2 else UNKNOWN
    named = len(items) == 2 and size is UNKNOWN and _arithmetic(items[0])  # `dim`, `dim * 2`: variables hold it
    if not (
        isinstance(lazy, cst.Call) and (named or (isinstance(size, int) and not isinstance(size, bool) and size > 0))
    ):
        return lazy
    func = lazy.func
    attr = func.attr if isinstance(func, cst.Attribute) else func if isinstance(func, cst.Name) else None
    if attr is None or not attr.value.startswith("Lazy"):
        return lazy
    plain = attr.with_changes(value=attr.value[len("Lazy") :])
    func = func.with_changes(attr=plain) if isinstance(func, cst.Attribute) else plain
    value = items[0] if named else to_node(size)
    args = [
        cst.Arg(value, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))) if lazy.args else cst.Arg(value),
        *lazy.args,
    ]
    return lazy.with_changes(func=func, args=args)


def _always(items: list[cst.BaseExpression]) -> cst.BaseExpression:
    """``always(expr)``: ``expr``, written even when the caller left every parameter it names at
    its default (a ``force`` for one variant: ``eps=always(epsilon)`` in a native torch module
    whose default differs, where the rule's other variants keep Keras' defaults unwritten)."""
    return fold(items[0])


# Template functions computed at translation time: name -> (rendered argument nodes) -> node.
# Directions register their own (rules/loader.py: activation_of for tf_to_torch).
MACROS: dict[str, Callable[[list[cst.BaseExpression]], cst.BaseExpression]] = {
    "chain": _chain,
    "sequential_of": _sequential_of,
    "sized": _sized,
    "always": _always,
}
# support definitions a macro may emit (so a rule using the macro copies them when needed)
MACRO_HELPERS: dict[str, frozenset[str]] = {"sequential_of": frozenset({"without_inputs"})}
# helpers only a macro's output can need: copied when the rendered call really names them
# helpers a macro may drop from its arguments (keyed by a helper the macro brings): the output
# keeps them only where it still names them
MACRO_DROPS: dict[str, frozenset[str]] = {"without_inputs": frozenset({"KerasInput"})}
MACRO_OPTIONAL: set[str] = {"without_inputs", "KerasActivation"}  # (+ what activation_of may emit)


def _fix_commas(args):
    # After removals, the last argument must not keep a dangling comma.
    args = list(args)
    if args and args[-1].comma is not cst.MaybeSentinel.DEFAULT:
        args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return args


_BINOPS = {
    cst.Add: operator.add,
    cst.Subtract: operator.sub,
    cst.Multiply: operator.mul,
    cst.Divide: operator.truediv,
    cst.FloorDivide: operator.floordiv,
    cst.Power: operator.pow,
}


def _fold_value(node: cst.BaseExpression) -> Any:
    if isinstance(node, cst.BinaryOperation) and type(node.operator) in _BINOPS:
        left, right = _fold_value(node.left), _fold_value(node.right)
        if _is_number(left) and _is_number(right):
            try:
                return _BINOPS[type(node.operator)](left, right)
            except ArithmeticError:
                return UNKNOWN
        return UNKNOWN
    value = literal_value(node)
    return value if _is_number(value) else UNKNOWN


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def fold(node: cst.BaseExpression) -> cst.BaseExpression:
    """Fold arithmetic on numeric literals; anything else is returned unchanged."""
    if not isinstance(node, cst.BinaryOperation):
        return node
    value = _fold_value(node)
    if value is UNKNOWN:
        return node
    if isinstance(value, float):
        value = float(f"{value:.12g}")  # 1 - 0.9 -> 0.1, not 0.09999999999999998
    return to_node(value)


def render(
    template: cst.BaseExpression, bound: Mapping[str, BoundArg], force: frozenset[str] = frozenset()
) -> cst.BaseExpression:
    out = walk(
        template, Renderer(bound, force), _renderer_inert(), _renderer_handled()
    )  # template.visit(Renderer(...))
    return fold(out)
