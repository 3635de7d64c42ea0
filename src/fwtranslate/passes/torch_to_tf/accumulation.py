"""Gradient accumulation, PyTorch -> Keras: ``backward()`` every batch, ``step()`` every k.

    for i, (x, y) in enumerate(loader):          grad_sum = None
        loss = criterion(model(x), y) / k        for i, (x, y) in enumerate(loader):
        loss.backward()                              with tf.GradientTape() as tape:
        if (i + 1) % k == 0:               ->            loss = criterion(y, model(x, training=True)) / k
            optimizer.step()                         grads = tape.gradient(loss, model.trainable_variables)
            optimizer.zero_grad()                    grad_sum = grads if grad_sum is None else [s + g for s, g in zip(grad_sum, grads)]
                                                     if (i + 1) % k == 0:
                                                         optimizer.apply_gradients(zip(grad_sum, model.trainable_variables))
                                                         grad_sum = None

PyTorch sums gradients into ``p.grad`` until ``zero_grad()``; the translation sums them into a
list that ``zero_grad()`` empties (None, as ``set_to_none``). The list starts empty before the
outermost loop of the function, where PyTorch's gradients are whatever an earlier call left
(None in a fresh training): an info note says so. This module finds the pattern; the training
step pass (training_step.py) writes the tape.
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from ...cstutil import statement

Check = Callable[[cst.BaseStatement], bool]


def step_if(stmt: cst.BaseStatement, is_step: Check) -> cst.BaseStatement | None:
    """The ``optimizer.step()`` statement of ``if cond: ... optimizer.step() ...`` (no else, one
    step, no ``backward()`` in it): an accumulating step. None otherwise."""
    if not isinstance(stmt, cst.If) or stmt.orelse is not None or not isinstance(stmt.body, cst.IndentedBlock):
        return None
    steps = [s for s in stmt.body.body if is_step(s)]
    return steps[0] if len(steps) == 1 else None


def zero_grad_if(stmt: cst.BaseStatement, is_zero_grad: Check) -> bool:
    """``if i % k == 0: optimizer.zero_grad()``: a reset of the sum under a condition."""
    return (
        isinstance(stmt, cst.If)
        and stmt.orelse is None
        and isinstance(stmt.body, cst.IndentedBlock)
        and bool(stmt.body.body)
        and all(is_zero_grad(s) for s in stmt.body.body)
    )


def outermost_loop(parents: list[cst.CSTNode]) -> cst.CSTNode | None:
    """The outermost ``for`` / ``while`` around the block being left, inside its function: where
    the sum starts empty. None when the block is in no loop (a step function called per batch)."""
    found = None
    for node in reversed(parents[:-1]):
        if isinstance(node, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            break
        if isinstance(node, (cst.For, cst.While)):
            found = node
    return found


def add_line(total: str, grads: str) -> cst.BaseStatement:
    return statement(f"{total} = {grads} if {total} is None else [s + g for s, g in zip({total}, {grads})]")


def reset_line(total: str, like: cst.BaseStatement) -> cst.SimpleStatementLine:
    """``optimizer.zero_grad()`` -> ``grad_sum = None``, its comments kept."""
    line = cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(cst.Name(total))], cst.Name("None"))])
    return line.with_changes(leading_lines=getattr(like, "leading_lines", ()))


def loops_in(stmts: list) -> list[int]:
    return [k for k, s in enumerate(stmts) if isinstance(s, (cst.For, cst.While))]
