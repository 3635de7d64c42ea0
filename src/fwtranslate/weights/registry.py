"""Per-layer weight converters, looked up by the name a rule's ``weights:`` field gives
(the contract a converter fulfils: contract.py; the built-in ones: converters.py)."""

from __future__ import annotations

from typing import Any

from ..directions import TORCH_TO_TF, Direction
from . import converters  # noqa: F401  (registers the built-in converters)
from .contract import CONVERTERS, Convert, Converter, only_weighted_layer, register  # noqa: F401  (the API)


def get(name: str) -> Converter:
    try:
        return CONVERTERS[name]
    except KeyError:
        raise KeyError(f"no weight converter named {name!r} (known: {', '.join(sorted(CONVERTERS))})") from None


def converter_name_for(torch_module: Any, direction: Direction | str = TORCH_TO_TF) -> str | None:
    """The ``weights:`` name of the rule that translates this module's class (torch.nn.<Class>)."""
    from ..rules import load_rules

    ruleset = load_rules(direction)
    cls = type(torch_module)
    for klass in cls.__mro__:
        rule = ruleset.calls.get(f"torch.nn.{klass.__name__}")
        if rule is not None and rule.weights:
            return rule.weights
    return None
