"""Which constructor arguments Keras' automatic config cannot save, decided from the source.

Keras rebuilds a layer from ``get_config()`` and saves a constructor's arguments by itself only
when they are all plain values (numbers, strings, booleans, None and lists of them). An argument
that may hold a layer, a layer class or a function needs a written ``get_config`` /
``from_config`` (serializable.py). The PyTorch source says so, without running it, when the
parameter

- is annotated with something else than plain types (``norm_layer: Callable[..., nn.Module]``,
  ``block: Type[BasicBlock]``, ``features: nn.Module``);
- defaults to something else than a plain literal (``act=nn.ReLU``, ``fn=F.gelu``);
- is called in ``__init__`` (``norm_layer(planes)``), or passed to a method that calls it
  (``self._make_layer(block, ...)``), or stored as ``self.x = p`` where the class calls
  ``self.x(...)`` (``self.fn = fn``), or handed to ``nn.Sequential`` / ``nn.ModuleList``;
- is given a framework object or a class of this file in ``__init__``
  (``if norm_layer is None: norm_layer = nn.BatchNorm2d``).
A parameter with none of these is taken as a plain value, and a class whose parameters are all
plain keeps Keras' automatic config. The source is read with ``ast`` (the translation's CST
stands some framework-free lines in by their text, ``stand_ins.py``).
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable

# names an annotation of a plain value is made of (typing's containers included)
PLAIN_TYPES = frozenset(
    {"int", "float", "str", "bool", "None", "complex", "bytes", "list", "tuple", "dict", "List", "Tuple", "Dict"}
    | {"Sequence", "Optional", "Union", "Literal", "Any", "typing", "Mapping", "Iterable"}
)
CONTAINERS = frozenset({"torch.nn.Sequential", "torch.nn.ModuleList", "torch.nn.ModuleDict"})
LAMBDA = "defaults to a lambda"


def find_class(source: str, name: str) -> ast.ClassDef | None:
    """The module-level class ``name`` of ``source``."""
    return _classes(source).get(name)


@functools.lru_cache(maxsize=2)
def _classes(source: str) -> dict[str, ast.ClassDef]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    return {c.name: c for c in tree.body if isinstance(c, ast.ClassDef)}


def _named(fn: ast.FunctionDef) -> list[ast.arg]:
    """The named parameters, ``self`` left out."""
    return [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs][1:]


def object_params(
    cls: ast.ClassDef, is_object: Callable[[str], bool], is_container: Callable[[str], bool]
) -> dict[str, str]:
    """Parameter of ``cls.__init__`` -> why it may hold a layer, a class or a function (the
    evidence above). ``is_object(code)``: the expression names a framework object or a class of
    this file; ``is_container(code)``: the callee is nn.Sequential / ModuleList / ModuleDict."""
    methods = {f.name: f for f in cls.body if isinstance(f, ast.FunctionDef)}
    init = methods.get("__init__")
    if init is None:
        return {}
    called_attrs = {
        n.func.attr
        for n in ast.walk(cls)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and isinstance(n.func.value, ast.Name)
        and n.func.value.id == "self"
    }
    defaults = dict(zip(reversed(init.args.posonlyargs + init.args.args), reversed(init.args.defaults)))
    defaults.update((a, d) for a, d in zip(init.args.kwonlyargs, init.args.kw_defaults) if d is not None)
    found: dict[str, str] = {}
    for param in _named(init):
        why = (
            _annotation(param.annotation)
            or _default(defaults.get(param))
            or _use(param.arg, init, methods, called_attrs, is_object, is_container)
        )
        if why:
            found[param.arg] = why
    return found


def _annotation(node: ast.expr | None) -> str | None:
    if node is None or isinstance(node, ast.Constant):  # none, or a string annotation: not read
        return None
    names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
    }
    other = sorted(names - PLAIN_TYPES)
    return f"annotated {other[0]}" if other else None


def plain_literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _default(node: ast.expr | None) -> str | None:
    if node is None or plain_literal(node):
        return None
    return LAMBDA if isinstance(node, ast.Lambda) else "defaults to an object"


def _is(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _use(name, init, methods, called_attrs, is_object, is_container) -> str | None:
    calls = [n for n in ast.walk(init) if isinstance(n, ast.Call)]
    if any(_is(c.func, name) for c in calls):
        return "called in __init__"
    for call in calls:
        given = [a for a in call.args if _is(a.value if isinstance(a, ast.Starred) else a, name)]
        given_kw = [k for k in call.keywords if _is(k.value, name)]
        if (given or given_kw) and is_container(ast.unparse(call.func)):
            return "a container's content"
        target = _method(call.func, methods)
        if target is not None and any(_calls_param(target, call, a) for a in given + given_kw):
            return f"called by {target.name}"
    for node in ast.walk(init):
        if not isinstance(node, ast.Assign):
            continue
        for t in node.targets:
            attr = t.attr if isinstance(t, ast.Attribute) and _is(t.value, "self") else None
            if attr in called_attrs and _is(node.value, name):
                return f"stored as self.{attr}, which is called"
            if _is(t, name) and any(
                is_object(ast.unparse(n)) for n in ast.walk(node.value) if isinstance(n, (ast.Name, ast.Attribute))
            ):
                return "given an object in __init__"
    return None


def _method(func: ast.expr, methods: dict[str, ast.FunctionDef]) -> ast.FunctionDef | None:
    if isinstance(func, ast.Attribute) and _is(func.value, "self"):
        return methods.get(func.attr)
    return None


def _calls_param(method: ast.FunctionDef, call: ast.Call, arg: ast.expr | ast.keyword) -> bool:
    """The method's parameter that receives ``arg`` is called in the method."""
    params = _named(method)
    if isinstance(arg, ast.keyword):
        if arg.arg is None:  # **mapping
            return False
        target = arg.arg
    else:
        if arg not in call.args or call.args.index(arg) >= len(params):
            return False
        target = params[call.args.index(arg)].arg
    return any(isinstance(n, ast.Call) and _is(n.func, target) for n in ast.walk(method))
