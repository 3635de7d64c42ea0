"""NumPy functions called on what the translation makes a torch tensor.

    val_logits = model(x_val)                       val_logits = model(x_val)
    np.argmax(val_logits, axis=1)            ->     np.argmax(val_logits.detach().cpu().numpy(), axis=1)

In Keras a model's output and a loss value are TensorFlow tensors, which NumPy reads through
``__array__``. Their translations are torch tensors: NumPy cannot read one that requires grad
or lives on a GPU, and dispatches to the tensor's own method where it has one
(``np.argmax(t, axis=1)`` calls ``t.argmax(axis=1, out=None)``, which torch rejects). So such an
argument gets ``.detach().cpu().numpy()``, the NumPy array Keras' tensor stood for.

Which arguments are tensors is a small analysis of the file: a call of a Keras model
(model_names.py) or of a loss object, an index into one, and a name that every assignment in its
function (or at module level) binds to one of those. Anything else, plain NumPy data included,
is left as it is.
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from ...cstutil import code
from ...imports import dotted_name
from .model_names import ModelNames


class NumpyCalls(cst.CSTVisitor):
    """``wrap``: ids of the NumPy calls' arguments that hold torch tensors after translation;
    ``visit_ids``: the statements around those calls (the traversal must visit them)."""

    def __init__(self, models: ModelNames, losses: set[str], numpy_aliases: Callable[[str], bool]):
        self.models = models
        self.losses = losses
        self.is_numpy = numpy_aliases
        self.wrap: set[int] = set()
        self.visit_ids: set[int] = set()
        self.assigned: dict[tuple[int, str], list[cst.BaseExpression | None]] = {}
        self.scopes: list[int] = [0]
        self.stack: list[cst.CSTNode] = []
        self.calls: list[tuple[cst.Call, int, list[cst.CSTNode]]] = []  # NumPy calls, their scope and statements

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            self.stack.append(node)
        return super().on_visit(node)

    def on_leave(self, original_node: cst.CSTNode) -> None:
        super().on_leave(original_node)
        if isinstance(original_node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            self.stack.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.scopes.append(id(node))
        params = node.params
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            self._bind(param.name, None)  # a parameter may receive anything

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.scopes.pop()

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._bind(target.target, node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._bind(node.target, None)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        self._bind(node.target, node.value)

    def visit_For(self, node: cst.For) -> None:
        self._bind(node.target, None)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind(node.asname.name, None)

    def _bind(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        if isinstance(target, cst.Name):
            self.assigned.setdefault((self.scopes[-1], target.value), []).append(value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind(element.value, None)

    def visit_Call(self, node: cst.Call) -> None:
        name = dotted_name(node.func)
        if name is not None and "." in name and self.is_numpy(name.split(".", 1)[0]):
            self.calls.append((node, self.scopes[-1], list(self.stack)))

    def leave_Module(self, original_node: cst.Module) -> None:
        for call, scope, stack in self.calls:
            found = [a.value for a in call.args if self.tensor(a.value, scope, set())]
            if found:
                self.wrap.update(id(v) for v in found)
                self.visit_ids.update(id(s) for s in stack)

    def tensor(self, value: cst.BaseExpression, scope: int, seen: set[str]) -> bool:
        """Is ``value`` a torch tensor in the translation?"""
        if isinstance(value, cst.Subscript):
            return self.tensor(value.value, scope, seen)
        if isinstance(value, cst.Call) and isinstance(value.func, (cst.Name, cst.Attribute)):
            return self.models.holds(value.func) or code(value.func) in self.losses
        if not isinstance(value, cst.Name) or value.value in seen:
            return False
        values = self.assigned.get((scope, value.value))
        if values is None and scope != 0:  # a module-level name read in a function
            scope, values = 0, self.assigned.get((0, value.value))
        seen = seen | {value.value}
        return (
            values is not None and bool(values) and all(v is not None and self.tensor(v, scope, seen) for v in values)
        )


def as_numpy(node: cst.BaseExpression) -> cst.BaseExpression:
    """``t`` -> ``t.detach().cpu().numpy()``: the array NumPy read from Keras' tensor."""
    text = code(node)
    if not isinstance(node, (cst.Name, cst.Attribute, cst.Subscript, cst.Call)):
        text = f"({text})"
    return cst.parse_expression(f"{text}.detach().cpu().numpy()")
