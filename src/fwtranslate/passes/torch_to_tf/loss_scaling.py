"""``torch.amp.GradScaler`` steps, PyTorch -> Keras: the plain step they scale.

    scaler = torch.amp.GradScaler()            (dropped, with a warning)
    scaler.scale(loss).backward()        ->    loss.backward()
    scaler.unscale_(optimizer)                 (dropped)
    scaler.step(optimizer)               ->    optimizer.step()
    scaler.update()                            (dropped)

and then the training step pass writes the tape as for any step. GradScaler multiplies the loss
by a power of two (65536 at first) and the gradients by its inverse: in float32 both products
are exact (short of overflow), so the gradients the optimizer sees are the unscaled ones. What
goes is the skip: a step whose scaled gradients hold inf or NaN is not taken, and the scale
halves. The warning says so; ``keras.mixed_precision.LossScaleOptimizer`` has that behaviour
with other constants (initial scale 32768), float16 autocast is not translated at all.
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from ...cstutil import code

GRAD_SCALERS = frozenset(
    {
        "torch.amp.GradScaler",
        "torch.amp.grad_scaler.GradScaler",
        "torch.cuda.amp.GradScaler",
        "torch.cpu.amp.GradScaler",
    }
)
METHODS = ("scale", "step", "update", "unscale_")
DROP = object()  # what unscaled() returns for a statement that goes


def scaler_names(module: cst.Module, resolve: Callable[[cst.BaseExpression], str | None]) -> set[str]:
    """Names assigned a GradScaler (``scaler``, ``self.scaler``)."""
    found: set[str] = set()

    class _V(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            if isinstance(node.value, cst.Call) and resolve(node.value.func) in GRAD_SCALERS:
                found.update(code(t.target) for t in node.targets)

    module.visit(_V())
    return found


def scaler_call(node: cst.BaseExpression, scalers: set[str]) -> str | None:
    """The method of ``scaler.<method>(...)`` for a known scaler."""
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and code(node.func.value) in scalers:
        return node.func.attr.value if node.func.attr.value in METHODS else None
    return None


def unscaled(stmt: cst.BaseStatement, scalers: set[str], is_scaler: Callable[[cst.BaseExpression], bool]):
    """``stmt`` without its scaler: the statement, ``DROP``, or ``stmt`` itself when it has none."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return stmt
    small = stmt.body[0]
    if isinstance(small, cst.Assign) and is_scaler(small.value):
        return DROP
    if not isinstance(small, cst.Expr) or not isinstance(small.value, cst.Call):
        return stmt
    call = small.value
    method = scaler_call(call, scalers)
    if method in ("update", "unscale_"):
        return DROP
    if method == "step" and len(call.args) == 1 and call.args[0].keyword is None:
        step = cst.Call(cst.Attribute(call.args[0].value, cst.Name("step")))
        return stmt.with_changes(body=[small.with_changes(value=step)])
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value == "backward":
        inner = func.value
        if scaler_call(inner, scalers) == "scale" and isinstance(inner, cst.Call) and len(inner.args) == 1:
            backward = call.with_changes(func=func.with_changes(value=inner.args[0].value))
            return stmt.with_changes(body=[small.with_changes(value=backward)])
    return stmt
