"""``optimizer.param_groups`` on an optimizer translated to a native Keras one.

The TorchX ports (support_optim.py) have torch's ``param_groups`` (one group whose "lr",
"momentum", "betas" read and set the Keras optimizer). A native ``keras.optimizers.SGD`` /
``Adadelta`` (chosen where it is torch's rule exactly) has none, so on those:

    optimizer.param_groups[0]["lr"] = 0.01     ->   optimizer.learning_rate = 0.01
    lr = optimizer.param_groups[0]["lr"]       ->   lr = float(optimizer.learning_rate)
    for g in optimizer.param_groups: ...       ->   for g in [TorchParamGroup(optimizer)]: ...

Keras' ``learning_rate`` setter assigns the optimizer's learning-rate variable (the same as
``optimizer.learning_rate.assign(0.01)``). Other keys of the native optimizers' group (a
"momentum" torch has, the native SGD has not) are TorchParamGroup's: kept beside it, not used.
"""

from __future__ import annotations

import libcst as cst

from ...cstutil import code, expression

NATIVE = "keras.optimizers."  # a translated constructor with this prefix is a native optimizer
GROUP_HELPER = "TorchParamGroup"


def groups_of(node: cst.BaseExpression) -> str | None:
    """``X`` of ``X.param_groups``."""
    if isinstance(node, cst.Attribute) and node.attr.value == "param_groups":
        return code(node.value)
    return None


def first_lr_of(node: cst.BaseExpression) -> str | None:
    """``X`` of ``X.param_groups[0]["lr"]`` (or ``['lr']``)."""
    if not isinstance(node, cst.Subscript) or len(node.slice) != 1:
        return None
    key = node.slice[0].slice
    if not (
        isinstance(key, cst.Index) and isinstance(key.value, cst.SimpleString) and key.value.evaluated_value == "lr"
    ):
        return None
    inner = node.value
    if not isinstance(inner, cst.Subscript) or len(inner.slice) != 1:
        return None
    index = inner.slice[0].slice
    if not (isinstance(index, cst.Index) and isinstance(index.value, cst.Integer) and index.value.value == "0"):
        return None
    return groups_of(inner.value)


def learning_rate(optimizer: str, target: bool) -> cst.BaseExpression:
    """``X.learning_rate`` where it is set, ``float(X.learning_rate)`` where it is read (a
    Python number, as torch's group holds)."""
    return expression(f"{optimizer}.learning_rate" if target else f"float({optimizer}.learning_rate)")


def groups(optimizer: str) -> cst.BaseExpression:
    return expression(f"[{GROUP_HELPER}({optimizer})]")


def is_target(node: cst.CSTNode, parent: cst.CSTNode | None) -> bool:
    """Is ``node`` what its parent assigns (``x = ...``, ``x += ...``)?"""
    if isinstance(parent, cst.AssignTarget):
        return True
    return isinstance(parent, (cst.AugAssign, cst.AnnAssign)) and parent.target is node
