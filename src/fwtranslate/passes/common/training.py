"""What the training code of a file binds: optimizers (with the parameters they update) and
loss objects, for the training-step passes of both directions.

The two frameworks split a training step differently. A PyTorch optimizer receives its
parameters when it is built (``optim.SGD(model.parameters())``) and a step reads the gradients
``loss.backward()`` left on them; a Keras optimizer receives them at every step
(``apply_gradients(zip(grads, model.trainable_variables))``). A loss object is called
(prediction, target) in PyTorch and (y_true, y_pred) in Keras. So the passes need to know, at
each ``optimizer.step()`` / ``apply_gradients`` / ``criterion(out, y)``, which object the name
holds. ``collect`` answers from the original module, before the traversal:

- ``name = <optimizer constructor>(...)`` and ``self.name = ...`` bind an optimizer, and
  ``name = <loss constructor>(...)`` a loss object;
- a function parameter receives one where every call of the function in the file passes it
  (``train(model, opt, criterion)``), and then the optimizer's parameters are expressed in
  the function's own names when the caller passes their owner too (``model``).

Names are matched as written (``optimizer``, ``self.optimizer``), per file: a name that is an
optimizer in one function and something else in another is taken for neither.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import libcst as cst

from ...cstutil import code

AMBIGUOUS = object()  # a name bound to different things in different places
LOSS = "loss"


@dataclass
class Optimizer:
    """An optimizer binding: ``owners`` are the expressions whose parameters it updates
    (``model``, ``self.model``), or None when the file does not say."""

    owners: tuple[str, ...] | None


@dataclass
class Bindings:
    optimizers: dict[str, Optimizer] = field(default_factory=dict)
    losses: set[str] = field(default_factory=set)

    def optimizer(self, node: cst.BaseExpression, cls: str | None = None) -> Optimizer | None:
        return self.optimizers.get(key(code(node), cls))

    def is_loss(self, node: cst.BaseExpression, cls: str | None = None) -> bool:
        return key(code(node), cls) in self.losses

    def loss_names(self) -> set[str]:
        """The losses' names as the code writes them (``criterion``, ``self.criterion``)."""
        return {name.rpartition(":")[2] for name in self.losses}


def key(name: str, cls: str | None) -> str:
    """A binding's name in the tables: ``self.<attr>`` is per class (two trainer classes may
    both have a ``self.optimizer``), other names are per file."""
    return f"{cls}:{name}" if cls and name.startswith("self.") else name


def collect(
    module: cst.Module,
    resolve: Callable[[cst.BaseExpression], str | None],
    is_optimizer: Callable[[str], bool],
    is_loss: Callable[[str], bool],
    owners_of: Callable[[cst.Call], tuple[str, ...] | None],
) -> Bindings:
    """The optimizer and loss bindings of ``module``. ``owners_of`` reads the owners of the
    parameters from a constructor call (None: not known here; the direction decides what its
    optimizers take)."""
    finder = _Finder(resolve, is_optimizer, is_loss, owners_of)
    module.visit(finder)
    optimizers: dict[str, object] = {}
    losses: dict[str, bool] = {}
    for name, value in finder.optimizers:
        _bind(optimizers, name, value)
    for name in finder.losses:
        losses[name] = True
    for name in finder.other:
        if name in optimizers:
            optimizers[name] = AMBIGUOUS
        losses.pop(name, None)
    _through_calls(finder, optimizers, losses)
    return Bindings(
        {n: v for n, v in optimizers.items() if isinstance(v, Optimizer)},
        set(losses),
    )


def _bind(table: dict[str, object], name: str, value: object) -> None:
    old = table.get(name)
    if old is None:
        table[name] = value
    elif old != value:
        table[name] = AMBIGUOUS


def _through_calls(finder: _Finder, optimizers: dict[str, object], losses: dict[str, bool]) -> None:
    """Parameters of local functions that receive an optimizer or a loss at every call site."""
    for _ in range(3):  # train -> train_epoch -> step: a few levels
        changed = False
        for function, params in finder.functions.items():
            calls = finder.calls.get(function, [])
            if not calls:
                continue
            for index, param in enumerate(params):
                passed = [_argument(call, index, param) for call in calls]
                if any(p is None for p in passed):
                    continue
                found = [finder.inline(p) or optimizers.get(code(p)) for p in passed if p is not None]
                if all(isinstance(f, Optimizer) for f in found) and param not in optimizers:
                    owners = [_owners_in_callee(f, call, params) for f, call in zip(found, calls)]  # type: ignore[arg-type]
                    same = owners[0] if all(o == owners[0] for o in owners) else None
                    optimizers[param] = Optimizer(same)
                    changed = True
                texts = [code(p) for p in passed if p is not None]
                is_loss = [t in losses or finder.inline(p) == LOSS for t, p in zip(texts, passed)]
                if all(is_loss) and param not in losses:
                    losses[param] = True
                    changed = True
        if not changed:
            return


def _argument(call: cst.Call, index: int, param: str) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == param:
            return arg.value
    positional = [a for a in call.args if a.keyword is None]
    if any(a.star for a in positional[: index + 1]):
        return None
    return positional[index].value if index < len(positional) else None


def _owners_in_callee(optimizer: Optimizer, call: cst.Call, params: list[str]) -> tuple[str, ...] | None:
    """The caller's owners (``model``) as the callee names them (the parameter ``net`` that
    receives ``model``); None when one of them is not passed."""
    if optimizer.owners is None:
        return None
    renamed = []
    for owner in optimizer.owners:
        for index, param in enumerate(params):
            arg = _argument(call, index, param)
            if arg is not None and code(arg) == owner:
                renamed.append(param)
                break
        else:
            return None
    return tuple(renamed)


class _Finder(cst.CSTVisitor):
    def __init__(self, resolve, is_optimizer, is_loss, owners_of):
        self.qualified = resolve
        self.is_optimizer = is_optimizer
        self.is_loss = is_loss
        self.owners_of = owners_of
        self.optimizers: list[tuple[str, Optimizer]] = []
        self.losses: list[str] = []
        self.other: list[str] = []  # names also bound to something else
        self.functions: dict[str, list[str]] = {}  # function name -> its parameter names
        self.calls: dict[str, list[cst.Call]] = {}  # function name -> its calls in the file
        self.aliases: list[dict[str, str]] = []  # per enclosing function: local name -> self.<attr>
        self.classes: list[str] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.aliases.append(_self_aliases(node))
        params = [p.name.value for p in (*node.params.posonly_params, *node.params.params)]
        if params and params[0] == "self":
            params = params[1:]  # a method, called as obj.method(...)
        name = node.name.value
        self.functions[name] = AMBIGUOUS if name in self.functions else params  # type: ignore[assignment]

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.aliases.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes.append(node.name.value)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.classes.pop()

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        name = func.value if isinstance(func, cst.Name) else None
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self":
            name = func.attr.value
        if name is not None:
            self.calls.setdefault(name, []).append(node)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._bind(target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._bind(node.target, node.value)

    def inline(self, value: cst.BaseExpression | None) -> Optimizer | str | None:
        """An optimizer or ``LOSS`` when ``value`` constructs one (``fit(model, nn.MSELoss())``)."""
        qual = self.qualified(value.func) if isinstance(value, cst.Call) else None
        if qual is not None and self.is_optimizer(qual):
            return Optimizer(self.owners_of(value))
        if qual is not None and self.is_loss(qual):
            return LOSS
        return None

    def _bind(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if not isinstance(target, (cst.Name, cst.Attribute)):
            return
        name = key(code(target), self.classes[-1] if self.classes else None)
        found = self.inline(value)
        if isinstance(found, Optimizer) and isinstance(target, cst.Attribute) and found.owners:
            # `self.optimizer = optim.SGD(model.parameters())` in __init__: other methods step it,
            # where `model` is `self.model` (when __init__ says so) or not known at all
            aliases = self.aliases[-1] if self.aliases else {}
            owners = tuple(_as_attribute(o, aliases) for o in found.owners)
            found = Optimizer(None if None in owners else owners)  # type: ignore[arg-type]
        if isinstance(found, Optimizer):
            self.optimizers.append((name, found))
        elif found == LOSS:
            self.losses.append(name)
        else:
            self.other.append(name)

    def leave_Module(self, original_node: cst.Module) -> None:
        self.functions = {k: v for k, v in self.functions.items() if isinstance(v, list)}


def _self_aliases(function: cst.FunctionDef) -> dict[str, str]:
    """``self.model = model`` statements of a method: {"model": "self.model"}."""
    found: dict[str, str] = {}
    for stmt in getattr(function.body, "body", ()):
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, cst.Assign) and isinstance(small.value, cst.Name) and len(small.targets) == 1:
                    target = small.targets[0].target
                    if isinstance(target, cst.Attribute) and code(target.value) == "self":
                        found.setdefault(small.value.value, code(target))
    return found


def _as_attribute(owner: str, aliases: dict[str, str]) -> str | None:
    """``owner`` as the object's other methods see it: ``self.model`` for ``model``."""
    head, dot, rest = owner.partition(".")
    if head == "self":
        return owner
    return aliases[head] + dot + rest if head in aliases else None


def swap_loss_arguments(call: cst.Call) -> cst.Call:
    """``criterion(out, y)`` <-> ``criterion(y, out)``: (prediction, target) in PyTorch,
    (y_true, y_pred) in Keras. Keyword arguments are left as they are (their names differ
    per framework and the loss rules do not know them)."""
    positional = [a for a in call.args if a.keyword is None and not a.star]
    if len(positional) < 2 or any(a.star for a in call.args):
        return call
    first, second = positional[0], positional[1]
    args = list(call.args)
    i, j = args.index(first), args.index(second)
    args[i] = second.with_changes(comma=first.comma)
    args[j] = first.with_changes(comma=second.comma)
    return call.with_changes(args=args)


def statements_naming(module: cst.Module, names: set[str], attribute: str | None = None) -> set[int]:
    """Ids of the statements (and the statements around them) whose code calls one of
    ``names`` (with ``attribute``: reads ``name.attribute``): the traversal must visit them
    although they mention no framework name."""
    if not names:
        return set()
    found: set[int] = set()

    def _mentions(node: cst.CSTNode) -> bool:
        if attribute is None:
            return isinstance(node, cst.Call) and code(node.func) in names
        return isinstance(node, cst.Attribute) and node.attr.value == attribute and code(node.value) in names

    class _V(cst.CSTVisitor):
        def __init__(self) -> None:
            self.stack: list[cst.CSTNode] = []

        def on_visit(self, node: cst.CSTNode) -> bool:
            if isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                self.stack.append(node)
            if _mentions(node):
                found.update(id(s) for s in self.stack)
            return True

        def on_leave(self, original_node: cst.CSTNode) -> None:
            if isinstance(original_node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                self.stack.pop()

    module.visit(_V())
    return found
