"""What a local name is known to hold, from every binding of it in its scope.

Conservative and statement level: a name is PLAIN (certainly not a framework object: the
result of ``parse_args()``, a literal, an ``argparse.Namespace``, a module imported from
another package) or TENSOR (certainly a tensor: a framework call, a tensor-only method, a
layer called in a model's method) only when *every* binding of it in its scope says so;
anything else (a parameter, a loop variable, one unknown binding) is OTHER. Tensor rules skip
PLAIN receivers; item assignment to a TENSOR name is reported.

A stand-in line (stand_ins.py) is read from its original text, and only when asked about.
"""

from __future__ import annotations

import functools
import textwrap

import libcst as cst

from ...imports import dotted_name, target_names
from .context import Context

PLAIN, TENSOR, MODEL, OTHER = "plain", "tensor", "model", "other"
DATA = "data"  # a dataset or loader: itself (and its `.dataset`) no tensor, its fields may be
# methods of a model that return the model itself
_MODEL_METHODS = frozenset({"to", "cuda", "cpu", "float", "double", "half", "eval", "train"})

LITERALS = (  # literal expressions: never a framework object
    cst.SimpleString,
    cst.ConcatenatedString,
    cst.FormattedString,
    cst.Integer,
    cst.Float,
    cst.Imaginary,
    cst.List,
    cst.Dict,
    cst.Set,
    cst.Tuple,
    cst.ListComp,
    cst.DictComp,
    cst.SetComp,
)
# torch.<name> calls that do not return one tensor (tuples, objects, None)
_NOT_TENSOR_CALLS = frozenset(
    [
        "device",
        "Size",
        "load",
        "save",
        "finfo",
        "iinfo",
        "is_tensor",
        "is_floating_point",
        "numel",
        "manual_seed",
        "seed",
        "get_default_dtype",
        "set_default_dtype",
        "set_grad_enabled",
        "no_grad",
        "enable_grad",
        "inference_mode",
        "dtype",
        "Generator",
        "compile",
        "split",
        "chunk",
        "unbind",
        "meshgrid",
        "broadcast_tensors",
        "tensor_split",
        "hsplit",
        "vsplit",
        "dsplit",
        "sort",
        "max",
        "min",
        "topk",
        "unique",
        "where",
        "nonzero",
        "svd",
        "qr",
        "lu",
        "eig",
        "histogram",
        "aminmax",
        "var_mean",
        "std_mean",
        "mode",
        "median",
        "kthvalue",
        "cummax",
        "cummin",
        "frexp",
    ]
)
# classes whose objects are data pipelines (DATA), never tensors or modules (`dataset.data` is its images)
_DATA_CLASSES = ("torch.utils.data.", "torchvision.datasets.")
_TENSOR_MODULES = ("torch.nn.functional.", "torch.fft.", "torch.linalg.", "torch.special.")
# methods only tensors have (numpy arrays share reshape, copy, transpose...: not listed)
_TENSOR_ONLY_METHODS = frozenset(
    [
        "clone",
        "detach",
        "contiguous",
        "view",
        "view_as",
        "permute",
        "unsqueeze",
        "masked_fill",
        "new_zeros",
        "new_ones",
        "new_full",
        "new_empty",
        "new_tensor",
        "type_as",
        "expand",
        "expand_as",
    ]
)


def kind_of(ctx: Context, name: str) -> str:
    """PLAIN, TENSOR or OTHER for ``name`` where the traversal is now (the innermost scope that
    binds it)."""
    found = bindings(ctx, name)
    if found is None:
        return OTHER
    values, model_method = found
    return _fold(ctx, name, values, model_method=model_method)


def bindings(ctx: Context, name: str) -> tuple[list, bool] | None:
    """The values bound to ``name`` in the innermost scope that binds it where the traversal is
    now (None in the list: a binding with no readable value; a stand-in line is a tuple), and
    whether that scope is a model's method; None where that is unknown (a parameter, a loop or
    comprehension variable, a class attribute, a piece of a long file)."""
    in_function = False
    for node in reversed(ctx.parents):
        if isinstance(node, cst.FunctionDef):
            params = node.params
            if name in {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}:
                return None
            if any(isinstance(s, cst.Param) and s.name.value == name for s in (params.star_arg, params.star_kwarg)):
                return None
            found = _scope(ctx, node, node.body.body).get(name)
            if found is not None:
                return found, _in_model(ctx, node)
            in_function = True
        elif isinstance(node, cst.Lambda):
            if name in {p.name.value for p in node.params.params}:
                return None
        elif isinstance(node, (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)):
            comp: cst.CompFor | None = node.for_in
            while comp is not None:
                if name in target_names(comp.target):
                    return None
                comp = comp.inner_for_in
        elif isinstance(node, cst.ClassDef) and not in_function:
            if name in _scope(ctx, node, _block(node.body)):
                return None  # a class attribute
        elif isinstance(node, cst.Module):
            if ctx.piece:
                return None  # a piece of a long file: other pieces may rebind it
            found = _scope(ctx, node, node.body).get(name)
            return None if found is None else (found, False)
    return None


def stand_in_values(text: str, name: str) -> list:
    """The values a stand-in line (its original text) binds to ``name``."""
    return _stand_in_line(text).get(name, [None])


def _in_model(ctx: Context, fn: cst.FunctionDef) -> bool:
    return any(f.owner is not None and f.owner.is_module and f.name == fn.name.value for f in ctx.functions)


def _fold(ctx: Context, name: str, values: list, model_method: bool) -> str:
    kinds = set()
    for v in values:
        if isinstance(v, tuple) and v[0] == "stand-in":
            kinds |= {_value_kind(ctx, w, model_method) for w in _stand_in_line(v[1]).get(name, [None])}
        else:
            kinds.add(_value_kind(ctx, v, model_method))
    return kinds.pop() if len(kinds) == 1 else OTHER


# --- the bindings of one scope ---------------------------------------------------------------
def _scope(ctx: Context, owner: cst.CSTNode, body) -> dict[str, list]:
    """name -> the values bound to it in this scope (None: a binding with no readable value)."""
    cache = ctx.receiver_scopes
    if id(owner) not in cache:
        found: dict[str, list] = {}
        _statements(body, found)
        cache[id(owner)] = found
    return cache[id(owner)]


def _block(suite) -> list:
    if isinstance(suite, (cst.Else, cst.Finally)):
        suite = suite.body
    if isinstance(suite, cst.IndentedBlock):
        return list(suite.body)
    if isinstance(suite, cst.SimpleStatementSuite):
        return [cst.SimpleStatementLine(body=suite.body)]
    return []


def _add(found: dict[str, list], names, value) -> None:
    for name in names:
        found.setdefault(name, []).append(value)


def _statements(items, found: dict[str, list]) -> None:
    for stmt in items:
        stand_in = getattr(stmt, "fwt_stand_in", None)
        if stand_in and isinstance(stmt, cst.SimpleStatementLine):
            names: dict[str, list] = {}
            _small(stmt.body, names)  # the skeleton binds the same names; the text says to what
            _add(found, names, ("stand-in", stand_in[0]))
        elif isinstance(stmt, cst.SimpleStatementLine):
            _small(stmt.body, found)
        elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            _add(found, [stmt.name.value], None)
        elif isinstance(stmt, cst.If):
            _statements(_block(stmt.body), found)
            orelse = stmt.orelse
            _statements([orelse] if isinstance(orelse, cst.If) else _block(orelse), found)
        elif isinstance(stmt, (cst.For, cst.While)):
            if isinstance(stmt, cst.For):
                _add(found, target_names(stmt.target), None)
            _statements(_block(stmt.body) + _block(stmt.orelse), found)
        elif isinstance(stmt, cst.With):
            for item in stmt.items:
                if item.asname is not None:
                    _add(found, target_names(item.asname.name), None)
            _statements(_block(stmt.body), found)
        elif isinstance(stmt, (cst.Try, cst.TryStar)):
            _statements(_block(stmt.body) + _block(stmt.orelse) + _block(stmt.finalbody), found)
            for handler in stmt.handlers:
                if handler.name is not None:
                    _add(found, target_names(handler.name.name), None)
                _statements(_block(handler.body), found)
        elif isinstance(stmt, cst.Match):
            for case in stmt.cases:
                _statements(_block(case.body), found)
            _add(found, _match_names(stmt), None)


def _match_names(stmt: cst.Match) -> list[str]:
    names: list[str] = []

    class V(cst.CSTVisitor):
        def visit_MatchAs(self, node: cst.MatchAs) -> None:
            if node.name is not None:
                names.append(node.name.value)

        def visit_MatchStar(self, node: cst.MatchStar) -> None:
            if node.name is not None:
                names.append(node.name.value)

    for case in stmt.cases:
        case.pattern.visit(V())
    return names


@functools.lru_cache(maxsize=256)
def _stand_in_line(text: str) -> dict[str, list]:
    """The bindings of a stand-in line, parsed from its original text when first asked about."""
    found: dict[str, list] = {}
    try:
        line = cst.parse_statement(textwrap.dedent(text).strip() + "\n")
    except cst.ParserSyntaxError:
        return found
    if isinstance(line, cst.SimpleStatementLine):
        _small(line.body, found)
    return found


def _small(items, found: dict[str, list]) -> None:
    for small in items:
        if isinstance(small, cst.Assign):
            for t in small.targets:
                _target(t.target, small.value, found)
        elif isinstance(small, cst.AnnAssign):
            _target(small.target, small.value, found)
        elif isinstance(small, cst.AugAssign):  # unknown, but dtype_promotion.py reads the operator
            _add(found, target_names(small.target), small if isinstance(small.target, cst.Name) else None)
        elif isinstance(small, cst.Import):
            for alias in small.names:
                full = dotted_name(alias.name) or ""
                local = alias.asname.name.value if alias.asname is not None else full.split(".", 1)[0]  # type: ignore[union-attr]
                _add(found, [local], ("import", full))
        elif isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
            for alias in small.names:
                local = alias.asname.name if alias.asname is not None else alias.name
                _add(found, target_names(local), None)
        elif isinstance(small, (cst.Global, cst.Nonlocal, cst.Del)):
            names = [n.name.value for n in small.names] if not isinstance(small, cst.Del) else []
            if isinstance(small, cst.Del):
                names = target_names(small.target)
            _add(found, names, None)  # bound elsewhere too: unknown


def _target(target: cst.BaseExpression, value: cst.BaseExpression | None, found: dict[str, list]) -> None:
    if isinstance(target, cst.Name):
        _add(found, [target.value], value)
    elif isinstance(target, (cst.Tuple, cst.List)) and _is_method_call(value, "parse_known_args"):
        # `args, rest = parser.parse_known_args()`: the namespace, then a list of strings
        names = target_names(target)
        _add(found, names[:1], ("plain",))
        _add(found, names[1:], None)
    else:
        _add(found, target_names(target), None)


# --- what one bound value is ----------------------------------------------------------------
def _value_kind(ctx: Context, value, model_method: bool) -> str:
    if value is None:
        return OTHER
    if isinstance(value, tuple):
        if value[0] == "plain":
            return PLAIN
        return OTHER if ctx.imports.is_framework(value[1]) else PLAIN  # ("import", module)
    if isinstance(value, LITERALS):
        return PLAIN
    if isinstance(value, cst.UnaryOperation) and isinstance(value.expression, (cst.Integer, cst.Float)):
        return PLAIN
    if _is_method_call(value, "parse_args"):
        return PLAIN
    if (
        isinstance(value, cst.Subscript)
        and _is_method_call(value.value, "parse_known_args")
        and len(value.slice) == 1
        and isinstance(value.slice[0].slice, cst.Index)
        and isinstance(value.slice[0].slice.value, cst.Integer)
        and value.slice[0].slice.value.value == "0"
    ):
        return PLAIN
    if isinstance(value, cst.Call):
        callee = dotted_name(value.func) or ""
        if plain_call(ctx, value):
            return PLAIN
        if _is_model(ctx, value):
            return MODEL
        if callee in ("argparse.Namespace", "Namespace"):
            return PLAIN
        qual = ctx.imports.resolve(value.func, star_names=ctx.star_names)
        if qual is not None and qual.startswith(_DATA_CLASSES) and qual.rsplit(".", 1)[1][:1].isupper():
            return DATA
        if qual is not None and _tensor_call(qual):
            return TENSOR
        func = value.func
        if isinstance(func, cst.Attribute) and func.attr.value in _TENSOR_ONLY_METHODS:
            return TENSOR
        if (
            model_method
            and isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.value.value == "self"
            and ctx.current_class is not None
            and func.attr.value in ctx.current_class.assigns
        ):
            return TENSOR  # `h = self.fc(x)`: a layer's output
    return OTHER


def _is_model(ctx: Context, value: cst.BaseExpression) -> bool:
    """``Net()`` (a model class of this file), ``nn.Linear(...)``, ``Net().to(device)``."""
    while (
        isinstance(value, cst.Call)
        and isinstance(value.func, cst.Attribute)
        and value.func.attr.value in _MODEL_METHODS
    ):
        value = value.func.value
    if not isinstance(value, cst.Call):
        return False
    if isinstance(value.func, cst.Name) and value.func.value in ctx.module_classes:
        return True
    qual = ctx.imports.resolve(value.func, star_names=ctx.star_names) or ""
    return qual.startswith("torch.nn.") and qual.rsplit(".", 1)[1][:1].isupper()


def is_model(ctx: Context, receiver: cst.BaseExpression) -> bool:
    """Is the receiver known to be a model or layer: ``self`` (or ``self.<attr>``) in a model
    class, or a name bound only to models?"""
    name = root_name(receiver)
    if name == "self":
        cls = ctx.current_class
        return cls is not None and cls.is_module
    if isinstance(receiver, cst.Name) and name is not None:
        return kind_of(ctx, name) == MODEL
    return _is_model(ctx, receiver)


def _tensor_call(qual: str) -> bool:
    if qual.startswith(_TENSOR_MODULES):
        return True
    head, _, name = qual.partition(".")
    return head == "torch" and name.isidentifier() and name not in _NOT_TENSOR_CALLS


def _is_method_call(node, name: str) -> bool:
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == name


def root_name(node: cst.BaseExpression) -> str | None:
    """``args`` of ``args``, ``args.opt.lr``; None for anything else."""
    while isinstance(node, cst.Attribute):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


# packages whose functions never return a framework object: `np.exp(x).sum(axis=1)` is NumPy's
PLAIN_PACKAGES = frozenset({"numpy", "math", "random", "pandas", "scipy", "PIL", "sklearn", "matplotlib"})


def plain_call(ctx: Context, node: cst.BaseExpression) -> bool:
    """A call of a function of a PLAIN_PACKAGES module (``np.exp(x)``, ``np.random.default_rng(0)``)."""
    if not isinstance(node, cst.Call):
        return False
    callee = dotted_name(node.func)
    if callee is None or "." not in callee:
        return False
    module = ctx.imports.alias_modules.get(callee.split(".", 1)[0])
    return module is not None and module.split(".", 1)[0] in PLAIN_PACKAGES


def is_plain(ctx: Context, receiver: cst.BaseExpression) -> bool:
    """Is the receiver known not to be a framework object (so a Tensor/Module rule cannot apply)?"""
    if plain_call(ctx, receiver):
        return True
    name = root_name(receiver)
    if name is None or name in ("self", "cls"):
        return False
    kind = kind_of(ctx, name)
    if kind == DATA:  # `train_set.data`, `loader.dataset.data`: the dataset's field, not Tensor.data
        while isinstance(receiver, cst.Attribute) and receiver.attr.value == "dataset":
            receiver = receiver.value
        return isinstance(receiver, cst.Name)
    return kind == PLAIN
