"""A model's weights saved and loaded the PyTorch way -> Keras' own weight files.

    torch.save(model.state_dict(), "model.pt")               model.save_weights("model.weights.h5")
    model.load_state_dict(torch.load("model.pt"))      ->    load_weights_when_built(model, "model.weights.h5")

``load_weights_when_built`` (rules/torch_to_tf/support_saving.py) is ``model.load_weights``, also
for a fresh subclassed model, which has no variables before its first call (a PyTorch module has
them from ``__init__``): it loads them in that call.

Keras writes weights only to files named ``*.weights.h5``: a literal path gets that ending in
place of its own (``.pt``, ``.pth``, ``.bin``, ``.ckpt``), any other path has it appended, so the
save and the load of one path still meet. An info note says so. Other uses of ``state_dict`` (an
optimizer's, a dict of several) are reported by their rules.
"""

from __future__ import annotations

import libcst as cst

from ...cstutil import code, expression
from ...report import INFO
from ..common.base import Pass

SAVE, LOAD = "torch.save", "torch.load"
SUFFIX = ".weights.h5"
LOAD_HELPER = "load_weights_when_built"
_EXTENSIONS = (".pt", ".pth", ".bin", ".ckpt", ".tar")
_NOT_MODELS = ("opt", "sched", "scaler")  # receivers whose state_dict is no model's weights


def _method(node: cst.BaseExpression, name: str) -> cst.Call | None:
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value == name:
        return node
    return None


def _weights_path(path: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(path, cst.SimpleString) and path.prefix == "":
        text = path.evaluated_value
        if isinstance(text, str):
            if not text.endswith(SUFFIX):
                stem = next((text[: -len(e)] for e in _EXTENSIONS if text.endswith(e)), text)
                text = stem + SUFFIX
            return cst.SimpleString(f'"{text}"' if '"' not in text and "\\" not in text else repr(text))
    return expression(f'str({code(path)}) + "{SUFFIX}"')


class Checkpoints(Pass):
    def visit_Expr(self, node: cst.Expr) -> None:
        found = self._match(node.value)
        if found is not None:
            self.ctx.skip.update(id(n) for n in found[2])  # handled here, not by the rules

    def _match(self, call: cst.BaseExpression):
        """(model, path, inner calls) of a weights save or load statement, or None."""
        if not isinstance(call, cst.Call):
            return None
        if self.ctx.resolve(call.func) == SAVE and len(call.args) == 2 and all(a.keyword is None for a in call.args):
            state = _method(call.args[0].value, "state_dict")
            if state is not None and not state.args and self._model(state.func.value):  # type: ignore[attr-defined]
                return state.func.value, call.args[1].value, (call, state)  # type: ignore[attr-defined]
        load = _method(call, "load_state_dict")
        if load is not None and len(load.args) == 1 and self._model(load.func.value):  # type: ignore[attr-defined]
            inner = load.args[0].value
            if isinstance(inner, cst.Call) and self.ctx.resolve(inner.func) == LOAD and inner.args:
                extra = {a.keyword.value for a in inner.args[1:] if a.keyword is not None}
                if len(inner.args) == 1 + len(extra) and extra <= {"map_location", "weights_only"}:
                    return load.func.value, inner.args[0].value, (load, inner)  # type: ignore[attr-defined]
        return None

    def _model(self, receiver: cst.BaseExpression) -> bool:
        name = code(receiver).rsplit(".", 1)[-1].lower()
        return not any(word in name for word in _NOT_MODELS)

    def leave_Expr(self, original: cst.Expr, updated: cst.Expr):
        found = self._match(original.value)
        if found is None:
            return updated
        model, path, _ = found
        saving = self.ctx.resolve(original.value.func) == SAVE  # type: ignore[attr-defined]
        target = _weights_path(path)
        if saving:
            call = f"{code(model)}.save_weights({code(target)})"
        else:
            self.ctx.helpers_used.add(LOAD_HELPER)
            call = f"{LOAD_HELPER}({code(model)}, {code(target)})"
        self.ctx.report(original, INFO, "checkpoint", f"{call}: Keras weight files end in {SUFFIX}")
        return updated.with_changes(value=expression(call))
