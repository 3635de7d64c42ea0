"""A Keras optimizer's ``learning_rate`` on its PyTorch translation.

The KerasX ports (support_optim.py) have a ``learning_rate`` property that reads and sets
every parameter group's "lr" (and the schedule's value, when built with one). A native torch
optimizer (``torch.optim.SGD``, ``Adadelta``, ``NAdam``, chosen where it is Keras' rule exactly)
has only torch's groups, so on those:

    optimizer.learning_rate.assign(0.01)     ->   optimizer.param_groups[0]["lr"] = 0.01
    lr = float(optimizer.learning_rate)      ->   lr = float(optimizer.param_groups[0]["lr"])
    optimizer.learning_rate = 0.01           ->   optimizer.param_groups[0]["lr"] = 0.01

(the translated optimizer has one group: the parameters ``apply_gradients`` updates). On both,
``.assign(v)`` becomes an assignment and ``.numpy()`` goes: the learning rate is a Python float.
"""

from __future__ import annotations

import libcst as cst

from ...cstutil import code, expression

NATIVE = "torch.optim."  # a translated constructor with this prefix is a native torch optimizer


def learning_rate_of(node: cst.BaseExpression) -> str | None:
    """``X`` of ``X.learning_rate``."""
    if isinstance(node, cst.Attribute) and node.attr.value == "learning_rate":
        return code(node.value)
    return None


def method_on_learning_rate(node: cst.BaseExpression, method: str) -> str | None:
    """``X`` of ``X.learning_rate.<method>(...)``."""
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == method:
        return learning_rate_of(node.func.value)
    return None


def first_group_lr(optimizer: str) -> cst.BaseExpression:
    return expression(f'{optimizer}.param_groups[0]["lr"]')


def assignment(target: cst.BaseExpression, value: cst.BaseExpression) -> cst.Assign | None:
    """``target = value``: what ``target.assign(value)`` does to a Python float (None where
    ``target`` is not something Python assigns to)."""
    if not isinstance(target, (cst.Attribute, cst.Subscript, cst.Name)):
        return None
    return cst.Assign(targets=[cst.AssignTarget(target)], value=value)
