"""The Keras translation's interface, from its layout header (layout_header.py): a model whose
``call`` takes channels-last tensors (``--layout keras``, or a block class with a contract) is
given the drawn channels-first input moved (its first tensor, rank 3 to 5: axis 1 -> -1), and
its channels-last results are moved back before they are compared."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..layout_header import read_header


@dataclass(frozen=True)
class KerasInterface:
    takes_last: bool = False  # the first input channels last
    returns_last: bool = False  # a single result, channels last where it has rank 3 or more

    @classmethod
    def of(cls, path: str | Path, model) -> KerasInterface:
        """The interface of ``model``'s class, as the header of the file ``path`` records it."""
        try:
            code = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return cls()
        found = read_header(code)
        names = {c.__name__ for c in type(model).__mro__}
        return cls(bool(names & found.takes_last), bool(names & found.returns_last))

    def call(self, model, xs, training: bool):
        """``model(*xs)`` with PyTorch's order outside."""
        import keras

        if self.takes_last and xs and 3 <= len(xs[0].shape) <= 5:
            xs = [keras.ops.moveaxis(xs[0], 1, -1), *xs[1:]]
        out = model(*xs, training=training)
        if self.returns_last and hasattr(out, "shape") and len(out.shape) >= 3:
            out = keras.ops.moveaxis(out, -1, 1)
        return out
