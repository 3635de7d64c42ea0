"""The comment that records a PyTorch -> Keras translation's layout (``--layout``), written by
passes/torch_to_tf/layout.py and read by verify, so that neither needs to be told:

    # fwtranslate: layout=keras; channels-last in: LeNet, ResNet; channels-last out: UNet

``channels-last in``: the classes whose ``call`` takes channels-last tensors where PyTorch's
``forward`` takes channels-first ones (rank 3 to 5); ``channels-last out``: those whose results
are channels last too. A class not named keeps PyTorch's order; a file without the comment is
``layout=torch`` with no class named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_LINE = re.compile(r"^# fwtranslate: layout=([\w-]+)(?P<rest>.*)$", re.MULTILINE)
_PART = re.compile(r";\s*channels-last (in|out):\s*([\w, ]+)")


@dataclass(frozen=True)
class Interface:
    layout: str = "torch"
    takes_last: frozenset[str] = field(default_factory=frozenset)  # classes: channels-last inputs
    returns_last: frozenset[str] = field(default_factory=frozenset)  # classes: channels-last results


def header(layout: str, interfaces: dict[str, tuple[int, bool]]) -> str:
    """The comment for ``interfaces`` (class -> (rank, returns channels last))."""
    text = f"# fwtranslate: layout={layout}"
    if interfaces:
        text += "; channels-last in: " + ", ".join(sorted(interfaces))
    out = sorted(name for name, (_, last) in interfaces.items() if last)
    if out:
        text += "; channels-last out: " + ", ".join(out)
    return text


def read_header(code: str) -> Interface:
    match = _LINE.search(code)
    if match is None:
        return Interface()
    parts: dict[str, frozenset[str]] = {"in": frozenset(), "out": frozenset()}
    for kind, names in _PART.findall(match.group("rest")):
        parts[kind] = frozenset(n.strip() for n in names.split(",") if n.strip())
    return Interface(match.group(1), parts["in"], parts["out"])
