"""The small interpreter for the expressions rule files hold: conditions and ``static(...)``.

Rule files are data. A condition such as ``padding != 0 and not is_one(stride)`` is parsed by
CPython's parser into an ``ast`` tree, checked against a whitelist when the file is loaded
(``check``), and walked by ``interpret``; nothing from a rule file reaches ``eval``, ``exec`` or
``compile``. What the grammar allows:

- literals, and tuple / list / set / dict displays;
- names: the rule's parameters, comprehension variables and the functions of ``FUNCTIONS``;
- ``and or not``, comparisons (``== != < <= > >= in not in is is not``), arithmetic
  (``+ - * / // % **``, unary ``- +``), set operators (``| & - ^``), ``a if c else b``;
- indexing and slicing;
- comprehensions and generator expressions (``for`` over names or tuples of names, ``if``);
- calls of ``FUNCTIONS`` and of the methods in ``METHODS`` on strings, dicts and sequences.

No attribute is read except such a method, so nothing reaches ``__class__`` and its kin; sizes
are bounded so that ``"x" * 10**12`` or ``10 ** 10 ** 10`` fail instead of eating the machine.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from .predicates import PREDICATES


class ExpressionError(ValueError):
    """An expression uses something outside the whitelisted grammar."""


# called with parameter names, they read the binding rather than a value (see template.py)
BINDING_FUNCTIONS = ("given", "source", "starred")
FUNCTIONS = (
    frozenset(PREDICATES) - {"None", "True", "False"}
    | set(BINDING_FUNCTIONS)
    | {"sorted", "set", "dict", "zip", "enumerate", "reversed", "sum", "round"}
)
_EXTRA_BUILTINS: dict[str, Any] = {
    "sorted": sorted,
    "set": set,
    "dict": dict,
    "zip": zip,
    "enumerate": enumerate,
    "reversed": reversed,
    "sum": sum,
    "round": round,
}
METHODS: dict[type, frozenset[str]] = {
    str: frozenset(
        {
            "lower",
            "upper",
            "strip",
            "lstrip",
            "rstrip",
            "startswith",
            "endswith",
            "isidentifier",
            "isdigit",
            "count",
            "replace",
            "split",
            "join",
            "find",
        }
    ),
    dict: frozenset({"keys", "values", "items", "get"}),
    tuple: frozenset({"count", "index"}),
    list: frozenset({"count", "index"}),
}
_ALL_METHODS = frozenset().union(*METHODS.values())

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
    ast.BitOr: operator.or_,
    ast.BitAnd: operator.and_,
    ast.BitXor: operator.xor,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.Not: operator.not_, ast.USub: operator.neg, ast.UAdd: operator.pos}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_LEAVES = (ast.Load, ast.operator, ast.unaryop, ast.cmpop, ast.boolop, ast.comprehension, ast.keyword, ast.Slice)
_ALLOWED = (
    ast.Expression,
    ast.Constant,
    ast.Name,
    ast.Tuple,
    ast.List,
    ast.Set,
    ast.Dict,
    ast.BoolOp,
    ast.UnaryOp,
    ast.BinOp,
    ast.Compare,
    ast.IfExp,
    ast.Subscript,
    ast.Call,
    ast.GeneratorExp,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.Store,
    *_LEAVES,
)
MAX_ITEMS = 100_000  # elements a value or a loop may have
_MAX_POWER = 256  # largest exponent


def parse(source: str) -> ast.expr:
    """Parse and check an expression (ExpressionError when it is not in the grammar)."""
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"not a Python expression ({exc.msg})") from None
    check(tree.body)
    return tree.body


def check(node: ast.AST, names: Collection[str] | None = None) -> None:
    """Raise ExpressionError for anything outside the grammar; ``names``, when given, are the
    only free names allowed besides FUNCTIONS and comprehension variables."""
    bound = {
        t.id
        for n in ast.walk(node)
        if isinstance(n, ast.comprehension)
        for t in ast.walk(n.target)
        if isinstance(t, ast.Name)
    }
    methods = {id(n.func) for n in ast.walk(node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
    nodes = list(ast.walk(node))
    # the most telling refusal first: a lambda, a dunder name, then calls and unknown names
    for n in nodes:
        if isinstance(n, ast.Attribute) and id(n) in methods:
            continue  # a method call: _check_call decides
        if not isinstance(n, _ALLOWED):
            raise ExpressionError(f"{_describe(n)} is not allowed in a rule expression")
        if isinstance(n, ast.Constant) and not isinstance(n.value, (int, float, str, bool, type(None))):
            raise ExpressionError(f"the constant {n.value!r} is not allowed in a rule expression")
        if isinstance(n, ast.comprehension) and n.is_async:
            raise ExpressionError("async comprehensions are not allowed in a rule expression")
        if isinstance(n, ast.Name) and n.id.startswith("__"):
            raise ExpressionError(f"the name {n.id!r} is not allowed in a rule expression")
    for n in nodes:
        if isinstance(n, ast.Call):
            _check_call(n)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and names is not None:
            if n.id not in names and n.id not in FUNCTIONS and n.id not in bound and n.id not in _NAMED_CONSTANTS:
                raise ExpressionError(f"unknown name {n.id!r} (parameters: {', '.join(sorted(names)) or 'none'})")
    _check_constant_parts(node)


def _check_constant_parts(node: ast.AST) -> None:
    """Arithmetic on literals alone is computed now, so that ``10 ** 10 ** 10`` is refused when
    the file is loaded rather than on the first call it would apply to."""
    for n in ast.walk(node):
        if isinstance(n, ast.BinOp) and not any(
            isinstance(m, (ast.Name, ast.Call, ast.comprehension)) for m in ast.walk(n)
        ):
            try:
                interpret(n, {}, {})
            except ExpressionError:
                raise
            except Exception:  # noqa: BLE001, S112 - 1 / 0 in a branch never taken is the rule's business
                continue


def _check_call(call: ast.Call) -> None:
    func = call.func
    if isinstance(func, ast.Name):
        if func.id not in FUNCTIONS:
            raise ExpressionError(
                f"{func.id}() is not a function rule expressions may call (allowed: {', '.join(sorted(FUNCTIONS))})"
            )
        if func.id in BINDING_FUNCTIONS and not (
            len(call.args) == 1
            and not call.keywords
            and isinstance(call.args[0], ast.Constant)
            and isinstance(call.args[0].value, str)
        ):
            raise ExpressionError(f"{func.id}() takes one parameter name as a string literal")
    elif isinstance(func, ast.Attribute):
        if isinstance(func.value, ast.Name) and func.value.id in FUNCTIONS:
            raise ExpressionError(f"{func.value.id}.{func.attr}(): methods are called on values, not on functions")
        if func.attr not in _ALL_METHODS:
            raise ExpressionError(
                f"the method .{func.attr}() is not allowed in a rule expression "
                f"(allowed: {', '.join(sorted(_ALL_METHODS))})"
            )
    else:
        raise ExpressionError("only named functions and whitelisted methods may be called in a rule expression")
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        raise ExpressionError("*args and **kwargs are not allowed in a rule expression")


_NAMED_CONSTANTS = {"None": None, "True": True, "False": False}


def _describe(node: ast.AST) -> str:
    kinds = {
        ast.Attribute: "reading an attribute",
        ast.Lambda: "a lambda",
        ast.NamedExpr: "an assignment (:=)",
        ast.JoinedStr: "an f-string",
        ast.Starred: "unpacking (*)",
        ast.Await: "await",
        ast.Yield: "yield",
    }
    return kinds.get(type(node), type(node).__name__)


class _Env:
    """Names visible to an expression: the bound values, comprehension variables, functions."""

    def __init__(self, values: Mapping[str, Any], functions: Mapping[str, Callable]):
        self.scopes: list[Mapping[str, Any]] = [values]
        self.functions = functions
        self.steps = 0

    def lookup(self, name: str) -> Any:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        if name in self.functions:
            return self.functions[name]
        if name in _NAMED_CONSTANTS:
            return _NAMED_CONSTANTS[name]
        raise NameError(f"name {name!r} is not defined")

    def tick(self) -> None:
        self.steps += 1
        if self.steps > MAX_ITEMS:
            raise ExpressionError(f"a rule expression took more than {MAX_ITEMS} steps")


_BASE_FUNCTIONS: dict[str, Callable] = {
    **{name: value for name, value in PREDICATES.items() if name not in _NAMED_CONSTANTS},
    **_EXTRA_BUILTINS,
}


def functions_for(binding: Mapping[str, Callable]) -> dict[str, Callable]:
    """FUNCTIONS with the binding functions (given/source/starred) of one bound call."""
    return {**_BASE_FUNCTIONS, **binding}


def interpret(node: ast.expr, values: Mapping[str, Any], functions: Mapping[str, Callable]) -> Any:
    """The value of a checked expression."""
    return _eval(node, _Env(values, functions))


def _eval(node: ast.expr, env: _Env) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return env.lookup(node.id)
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        items = [_eval(e, env) for e in node.elts]
        return (
            tuple(items) if isinstance(node, ast.Tuple) else list(items) if isinstance(node, ast.List) else set(items)
        )
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise ExpressionError("**unpacking is not allowed in a rule expression")
        return {_eval(k, env): _eval(v, env) for k, v in zip(node.keys, node.values)}  # type: ignore[arg-type]
    if isinstance(node, ast.BoolOp):
        result: Any = None
        for value in node.values:
            result = _eval(value, env)
            if bool(result) == isinstance(node.op, ast.Or):
                return result
        return result
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_eval(node.operand, env))
    if isinstance(node, ast.BinOp):
        return _binary(node.op, _eval(node.left, env), _eval(node.right, env))
    if isinstance(node, ast.Compare):
        left = _eval(node.left, env)
        for op, right_node in zip(node.ops, node.comparators):
            right = _eval(right_node, env)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        return _eval(node.body, env) if _eval(node.test, env) else _eval(node.orelse, env)
    if isinstance(node, ast.Subscript):
        return _eval(node.value, env)[_index(node.slice, env)]
    if isinstance(node, ast.Call):
        return _call(node, env)
    if isinstance(node, (ast.GeneratorExp, ast.ListComp, ast.SetComp)):
        items = list(_comprehension(node.generators, env, lambda: _eval(node.elt, env)))
        return set(items) if isinstance(node, ast.SetComp) else items if isinstance(node, ast.ListComp) else iter(items)
    if isinstance(node, ast.DictComp):
        return dict(_comprehension(node.generators, env, lambda: (_eval(node.key, env), _eval(node.value, env))))
    raise ExpressionError(f"{_describe(node)} is not allowed in a rule expression")


def _index(node: ast.expr, env: _Env) -> Any:
    if isinstance(node, ast.Slice):
        return slice(*(None if part is None else _eval(part, env) for part in (node.lower, node.upper, node.step)))
    return _eval(node, env)


def _binary(op: ast.operator, left: Any, right: Any) -> Any:
    if isinstance(op, ast.Pow) and isinstance(right, (int, float)):
        if abs(right) > _MAX_POWER or (isinstance(left, int) and left.bit_length() * abs(right) > 1 << 16):
            raise ExpressionError(f"a power too large for a rule expression ({left!r} ** {right!r})")
    if isinstance(op, ast.Mult):
        for seq, count in ((left, right), (right, left)):
            if isinstance(seq, (str, tuple, list)) and isinstance(count, int) and len(seq) * count > MAX_ITEMS:
                raise ExpressionError(f"a value of more than {MAX_ITEMS} items in a rule expression")
    fn = _BINARY.get(type(op))
    if fn is None:
        raise ExpressionError(f"the operator {type(op).__name__} is not allowed in a rule expression")
    return fn(left, right)


def _call(node: ast.Call, env: _Env) -> Any:
    args = [_eval(a, env) for a in node.args]
    kwargs = {k.arg: _eval(k.value, env) for k in node.keywords if k.arg is not None}
    if isinstance(node.func, ast.Attribute):
        receiver = _eval(node.func.value, env)
        allowed = METHODS.get(type(receiver), frozenset())
        if node.func.attr not in allowed:
            raise ExpressionError(f"{type(receiver).__name__}.{node.func.attr}() is not allowed in a rule expression")
        return getattr(receiver, node.func.attr)(*args, **kwargs)
    if not isinstance(node.func, ast.Name) or node.func.id not in env.functions:
        raise ExpressionError("only named functions and whitelisted methods may be called in a rule expression")
    fn = env.functions[node.func.id]
    if fn is range and len(range(*args)) > MAX_ITEMS:
        raise ExpressionError(f"a range of more than {MAX_ITEMS} items in a rule expression")
    return fn(*args, **kwargs)


def _comprehension(generators: list[ast.comprehension], env: _Env, produce: Callable[[], Any]) -> Iterable[Any]:
    first, rest = generators[0], generators[1:]
    scope: dict[str, Any] = {}
    env.scopes.append(scope)
    try:
        for item in _eval(first.iter, env):
            env.tick()
            _assign(first.target, item, scope)
            if all(_eval(cond, env) for cond in first.ifs):
                if rest:
                    yield from _comprehension(rest, env, produce)
                else:
                    yield produce()
    finally:
        env.scopes.pop()


def _assign(target: ast.expr, value: Any, scope: dict[str, Any]) -> None:
    if isinstance(target, ast.Name):
        scope[target.id] = value
    elif isinstance(target, (ast.Tuple, ast.List)):
        values = list(value)
        if len(values) != len(target.elts):
            raise ValueError(f"cannot unpack {len(values)} values into {len(target.elts)} names")
        for t, v in zip(target.elts, values):
            _assign(t, v, scope)
    else:
        raise ExpressionError("a comprehension may only assign to names")
