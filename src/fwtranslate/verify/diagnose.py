"""Saying where a translation goes wrong: the first diverging submodule.

Forward mismatches are replayed with every submodule recorded (localize.py); a crash is traced
back to the first wrong shape; gradient and step mismatches name the module owning the tensor.
"""
from __future__ import annotations

from typing import Any

from .localize import KerasRecorder, TorchRecorder, first_divergence, first_shape_divergence
from .report import NOT_EQUIVALENT, PhaseResult, VerifyReport
from .search import Mismatch



def short(exc: Exception) -> str:
    """The first line of an exception's message, for reports."""
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else ""


def translation_crashed(report: VerifyReport, s, sample, exc: Exception) -> None:
    report.status = NOT_EQUIVALENT
    report.reason = f"the translation raised on the first input: {type(exc).__name__}: {short(exc)}"
    report.phases.append(PhaseResult("build", False, message=report.reason))
    report.failing_input = {"inputs": [{"shape": list(a.shape), "dtype": str(a.dtype), "pattern": "sample",
                                        "seed": None, "min": None, "max": None, "mean": None,
                                        "first_values": []} for a in sample]}
    report.diverging_layer = _crash_site(s, sample, exc)


def transfer_failed(report: VerifyReport, s, exc) -> None:
    report.status, report.reason = NOT_EQUIVALENT, f"weight transfer failed: {exc}"
    report.phases.append(PhaseResult("transfer", False, message=str(exc)))
    report.diverging_layer = path_divergence(s, exc.torch_path, str(exc))


def localize(s, m: Mismatch, arrays, training: bool) -> dict[str, Any] | None:
    if m.phase in ("inference", "training"):
        trec = TorchRecorder(s.torch)
        with trec.hooked():
            s.trun.forward(arrays, training=training)
        # inference records on every call (already compiled); training mode is traced afresh
        krec = s.krun.recorder if not training else KerasRecorder(s.torch, s.keras)
        try:
            if training:
                s.krun.run_recorded(arrays, training, krec)
            else:
                s.krun.forward(arrays, training=False)
        except Exception as exc:  # noqa: BLE001
            return _crash_divergence(s, trec, krec, exc)
        div = first_divergence(trec.calls, krec.calls, s.rtol, s.atol, s.classes)
        return div.to_dict() if div else None
    # gradients / step: the module owning the first differing tensor, latest in forward order
    bad = [d.path for d in m.diffs if not d.ok]
    owners = [p.rsplit(".", 1)[0] if "." in p else "" for p in bad if not p.startswith("input[")]
    if not owners:
        return path_divergence(s, "", f"{m.phase}: input gradients differ ({', '.join(bad[:3])})")
    order = {path: i for i, path in enumerate(s.classes)}
    owner = max(owners, key=lambda o: order.get(o, -1)) if m.phase == "gradients" else owners[0]
    tensors = [p for p in bad if (p.rsplit(".", 1)[0] if "." in p else "") == owner]
    return path_divergence(s, owner, f"{m.phase}: {', '.join(tensors[:4])} differ")


def _crash_site(s, sample, exc: Exception) -> dict[str, Any] | None:
    """The dry run (a recorded inference call) crashed: its recorder holds the calls made
    before the crash."""
    trec = TorchRecorder(s.torch)
    with trec.hooked():
        s.trun.forward(sample, training=False)
    return _crash_divergence(s, trec, s.krun.recorder, exc)


def _crash_divergence(s, trec, krec, exc: Exception) -> dict[str, Any] | None:
    """A crash is often the consequence of an earlier wrong shape: look for that first, else
    name the innermost layer that raised."""
    div = first_shape_divergence(trec.calls, krec.shapes(), s.classes)
    if div is not None:
        div.reason += f" (then {type(exc).__name__}: {short(exc)})"
        return div.to_dict()
    if krec.error_path is not None:
        return path_divergence(s, krec.error_path, f"raised {type(exc).__name__}: {short(exc)}")
    return None


def path_divergence(s, path: str, reason: str) -> dict[str, Any]:
    tcls, kcls = s.classes.get(path, ("?", "?"))
    return {"path": path or "<root>", "torch_class": tcls, "keras_class": kcls, "reason": reason,
            "max_abs_error": None}
