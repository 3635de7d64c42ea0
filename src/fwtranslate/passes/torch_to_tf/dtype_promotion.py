"""Arithmetic on integer tensors, promoted the way torch promotes it.

torch's true division of an integer tensor gives the default float dtype (float32), and an
integer tensor with a Python float or a float tensor gives a float tensor. A TensorFlow tensor's
operators do not promote so: ``int32 / int`` is float64 (``pos * omega`` then fails with
"expected float but is double"), ``int32 * 0.5`` and ``int32 + int64`` fail at once. keras.ops'
functions promote as torch does (keras/src/backend/common/dtypes.py ``result_type``: an integer
quotient is floatx, an integer with a float is that float), and give the same result as the
operator on float tensors. So an operator with an operand that may be an integer tensor
(``torch.arange``, ``argmax``, ``.long()``, ``(x > 0).sum()``, a name bound only to such) becomes
the keras.ops function, unless the other operand is an integer literal (``t // 2``, ``t + 1``:
the operator keeps the dtype, as in torch).
"""

from __future__ import annotations

import re

import libcst as cst

from ..common.base import Pass
from ..common.context import Context
from ..common.receivers import bindings, stand_in_values

_FUNCTIONS = {
    cst.Divide: "divide",
    cst.FloorDivide: "floor_divide",
    cst.Multiply: "multiply",
    cst.Add: "add",
    cst.Subtract: "subtract",
    cst.Modulo: "mod",
    cst.Power: "power",
}
_AUGMENTED = {
    cst.DivideAssign: "divide",
    cst.FloorDivideAssign: "floor_divide",
    cst.MultiplyAssign: "multiply",
    cst.AddAssign: "add",
    cst.SubtractAssign: "subtract",
}
# torch functions whose result is an integer tensor (arange: unless a bound or the dtype is a float)
_INTEGER_FUNCTIONS = frozenset(
    "torch." + n
    for n in [
        "arange",
        "argmax",
        "argmin",
        "argsort",
        "randint",
        "randint_like",
        "randperm",
        "bucketize",
        "searchsorted",
        "count_nonzero",
        "tril_indices",
        "triu_indices",
    ]
)
_INTEGER_METHODS = frozenset(["long", "int", "short", "byte", "char", "argmax", "argmin", "argsort", "count_nonzero"])
# functions and methods whose result has their (first) input's dtype; a sum of booleans is an integer
_KEEP_DTYPE = frozenset(
    [
        "view",
        "reshape",
        "flatten",
        "unflatten",
        "unsqueeze",
        "squeeze",
        "permute",
        "transpose",
        "t",
        "expand",
        "expand_as",
        "repeat",
        "repeat_interleave",
        "clone",
        "detach",
        "contiguous",
        "cpu",
        "cuda",
        "flip",
        "roll",
        "abs",
        "neg",
        "sum",
        "cumsum",
        "prod",
        "cumprod",
        "amax",
        "amin",
        "clamp",
        "clip",
        "tril",
        "triu",
        "diag",
        "gather",
        "index_select",
        "narrow",
        "select",
        "view_as",
        "reshape_as",
        "remainder",
        "fmod",
        "square",
    ]
)
_INTEGER_DTYPES = frozenset(
    "torch." + n
    for n in ["long", "int64", "int", "int32", "short", "int16", "int8", "uint8", "uint16", "uint32", "uint64", "bool"]
)
_FLOAT_DTYPES = frozenset(
    "torch." + n
    for n in ["float", "float32", "double", "float64", "half", "float16", "bfloat16", "complex64", "complex128"]
)


class DtypePromotion(Pass):
    def leave_BinaryOperation(self, original: cst.BinaryOperation, updated: cst.BinaryOperation) -> cst.BaseExpression:
        function = _FUNCTIONS.get(type(original.operator))
        division = isinstance(original.operator, cst.Divide)
        if function is None or not _promotes(self.ctx, division, original.left, original.right):
            return updated
        call = _keras_call(function, updated.left, updated.right)
        return call.with_changes(lpar=updated.lpar, rpar=updated.rpar)

    def leave_AugAssign(self, original: cst.AugAssign, updated: cst.AugAssign) -> cst.BaseSmallStatement:
        function = _AUGMENTED.get(type(original.operator))
        if function is None or not isinstance(original.target, cst.Name):
            return updated
        # the target's other bindings say what it holds before this one
        if not _promotes(self.ctx, function == "divide", original.target, original.value, frozenset([id(original)])):
            return updated
        value = _keras_call(function, updated.target, updated.value)
        return cst.Assign([cst.AssignTarget(updated.target)], value)


def _keras_call(function: str, left: cst.BaseExpression, right: cst.BaseExpression) -> cst.Call:
    def bare(e: cst.BaseExpression) -> cst.BaseExpression:
        return e.with_changes(lpar=[], rpar=[]) if getattr(e, "lpar", None) else e

    func = cst.Attribute(cst.Attribute(cst.Name("keras"), cst.Name("ops")), cst.Name(function))
    return cst.Call(func, [cst.Arg(bare(left)), cst.Arg(bare(right))])


def _promotes(
    ctx: Context, division: bool, left: cst.BaseExpression, right: cst.BaseExpression, seen: frozenset = frozenset()
) -> bool:
    """Does the operator's dtype differ from torch's when it is left to the tensors' own?"""
    left_int, right_int = may_be_integer(ctx, left, seen), may_be_integer(ctx, right, seen)
    if not (left_int or right_int):
        return False
    if division:
        return True
    other = right if left_int else left
    return (left_int and right_int) or not _integer_literal(other)


def _integer_literal(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
        node = node.expression
    return isinstance(node, cst.Integer)


def may_be_integer(ctx: Context, node: cst.BaseExpression, seen: frozenset = frozenset()) -> bool:
    """Is ``node`` (source code) a tensor that may hold integers? False where it is not known
    to be a tensor: a Python number keeps its operators. ``seen``: the names being followed, and
    the ids of bindings to leave out."""
    if isinstance(node, cst.Call):
        return _integer_call(ctx, node, seen)
    if isinstance(node, cst.Name):
        return _integer_name(ctx, node.value, seen)
    if isinstance(node, cst.Subscript):
        return may_be_integer(ctx, node.value, seen)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
        return may_be_integer(ctx, node.expression, seen)
    if isinstance(node, cst.BinaryOperation) and type(node.operator) in _FUNCTIONS:
        if isinstance(node.operator, cst.Divide):
            return False  # a quotient is a float (the pass makes it one)
        sides = (node.left, node.right)
        if any(isinstance(s, cst.Float) for s in sides):
            return False
        return any(may_be_integer(ctx, s, seen) for s in sides)
    return False


def _integer_call(ctx: Context, call: cst.Call, seen: frozenset) -> bool:
    dtype = _keyword(call, "dtype")
    qual = ctx.resolve(call.func)
    if qual is not None and qual.startswith("torch."):
        if dtype is not None:
            return ctx.resolve(dtype) in _INTEGER_DTYPES
        if qual in _INTEGER_FUNCTIONS:
            return not (qual == "torch.arange" and any(_has_float(a.value) for a in call.args))
        name = qual[len("torch.") :]
        if name in _KEEP_DTYPE and call.args:
            return _integer_input(ctx, call.args[0].value, seen)
        return False
    func = call.func
    if not isinstance(func, cst.Attribute):
        return False
    method = func.attr.value
    if method in _INTEGER_METHODS:
        return True
    if method in ("to", "type"):
        target = dtype if dtype is not None else (call.args[0].value if call.args else None)
        if target is None:
            return False
        if ctx.resolve(target) in _INTEGER_DTYPES:
            return True
        if ctx.resolve(target) in _FLOAT_DTYPES:
            return False
        return may_be_integer(ctx, func.value, seen)  # .to(device)
    if method in _KEEP_DTYPE:
        return _integer_input(ctx, func.value, seen)
    return False


def _integer_input(ctx: Context, node: cst.BaseExpression, seen: frozenset) -> bool:
    if isinstance(node, cst.Comparison) or (
        isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.BitInvert)
    ):
        return True  # a boolean tensor: its sum is an integer
    return may_be_integer(ctx, node, seen)


def _integer_name(ctx: Context, name: str, seen: frozenset) -> bool:
    if name in seen:
        return False
    found = bindings(ctx, name)
    if found is None:
        return False
    values: list = []
    for v in (v for v in found[0] if id(v) not in seen):
        values.extend(stand_in_values(v[1], name) if isinstance(v, tuple) and v[0] == "stand-in" else [v])
    # one binding to an integer tensor is enough (the function is right for a float tensor too),
    # but a binding to a Python number or to what is not known keeps the operators
    inner = seen | {name}
    if any(v is None or _number(v) for v in values):
        return False
    return any(_integer_value(ctx, v, inner) for v in values)


def _integer_value(ctx: Context, value, seen: frozenset) -> bool:
    if isinstance(value, cst.AugAssign):
        # `t += 1` keeps what t held and makes nothing an integer tensor (`layers += [conv]` on a list)
        return False
    return isinstance(value, cst.BaseExpression) and may_be_integer(ctx, value, seen)


def _number(value) -> bool:
    if isinstance(value, cst.UnaryOperation):
        value = value.expression
    return isinstance(value, (cst.Integer, cst.Float, cst.Imaginary, tuple))


def _keyword(call: cst.Call, name: str) -> cst.BaseExpression | None:
    for a in call.args:
        if a.keyword is not None and a.keyword.value == name:
            return a.value
    return None


def _has_float(node: cst.BaseExpression) -> bool:
    return any(True for _ in _floats(node))


def _floats(node: cst.CSTNode):
    if isinstance(node, cst.Float):
        yield node
    for child in node.children:
        yield from _floats(child)


# --- which statements the traversal must visit (untouched.py) -------------------------------
_PRODUCER = re.compile(
    r"\b(?:arange|argmax|argmin|argsort|randint|randint_like|randperm|bucketize|searchsorted|count_nonzero)\s*\("
    r"|\.\s*(?:long|int|short|byte|sum)\s*\("
)
_ASSIGNMENT = re.compile(r"^[ \t]*([A-Za-z_]\w*)[ \t]*(?::[^=\n]*)?=(?!=)([^\n]*)", re.MULTILINE)


def promotion_names(source: str) -> set[str]:
    """Names bound (on one line) to what may be an integer tensor, and to expressions over such
    names: a statement that names one is visited, so that its arithmetic can be promoted."""
    assigned = _ASSIGNMENT.findall(source)
    names = {target for target, value in assigned if _PRODUCER.search(value)}
    for _ in range(3):  # names over names over names: deeper chains are rare
        if not names:
            return names
        word = re.compile(r"\b(?:" + "|".join(sorted(names)) + r")\b")
        more = {target for target, value in assigned if target not in names and word.search(value)}
        if not more:
            return names
        names |= more
    return names
