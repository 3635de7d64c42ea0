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
    report.failing_input = {
        "inputs": [
            {
                "shape": list(a.shape),
                "dtype": str(a.dtype),
                "pattern": "sample",
                "seed": None,
                "min": None,
                "max": None,
                "mean": None,
                "first_values": [],
            }
            for a in sample
        ]
    }
    if getattr(s, "keras_original", False):
        report.diverging_layer = named(s, _crash_site_keras_original(s, sample, exc))
        return
    report.diverging_layer = named(s, _crash_site(s, sample, exc))


def transfer_failed(report: VerifyReport, s, exc) -> None:
    report.status, report.reason = NOT_EQUIVALENT, f"weight transfer failed: {exc}"
    report.phases.append(PhaseResult("transfer", False, message=str(exc)))
    if getattr(s, "keras_original", False):
        tcls, kcls = s.classes.get(exc.torch_path, ("-", "?"))
        report.diverging_layer = {
            "path": exc.keras_path or "<root>",
            "translation_path": exc.torch_path or "<root>",
            "torch_class": tcls,
            "keras_class": kcls,
            "original_class": kcls,
            "translation_class": tcls,
            "reason": str(exc),
            "max_abs_error": None,
        }
        return
    report.diverging_layer = named(s, path_divergence(s, exc.torch_path, str(exc)))


def localize(s, m: Mismatch, arrays, training: bool) -> dict[str, Any] | None:
    return named(s, _localize(s, m, arrays, training))


def named(s, div: dict[str, Any] | None) -> dict[str, Any] | None:
    """Which side is which: ``original_class`` / ``translation_class``; for a Keras original,
    ``path`` is the layer's path in the Keras model (``translation_path`` the torch module's)."""
    if div is None:
        return None
    if not getattr(s, "keras_original", False):
        div.setdefault("original_class", div.get("torch_class"))
        div.setdefault("translation_class", div.get("keras_class"))
        return div
    tpath = "" if div["path"] == "<root>" else div["path"]
    if "translation_path" not in div:
        owner = _paired_owner(s, tpath)
        div["translation_path"] = div["path"]
        if owner is not None:
            div["path"] = s.paths[owner] or "<root>"
            div["torch_class"], div["keras_class"] = s.classes.get(owner, (div["torch_class"], div["keras_class"]))
            if owner != tpath:
                div["torch_class"] = f"{div['torch_class']} at '{owner or '<root>'}'"
    div["original_class"], div["translation_class"] = div.get("keras_class"), div.get("torch_class")
    return div


def _paired_owner(s, tpath: str) -> str | None:
    """The torch path of the Keras layer whose translation contains the torch module ``tpath``."""
    best = None
    for owner in s.paths:
        if owner == tpath or owner == "" or tpath.startswith(owner + "."):
            if best is None or len(owner) > len(best):
                best = owner
    return best


def _localize(s, m: Mismatch, arrays, training: bool) -> dict[str, Any] | None:
    if m.phase in ("inference", "training") and getattr(s, "keras_original", False):
        return _localize_keras_original(s, arrays, training)
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
        div = first_divergence(trec.calls, krec.calls, s.rtol, s.atol, s.classes, align=True)
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
    div = first_shape_divergence(trec.calls, krec.shapes(), s.classes, align=True)
    if div is not None:
        div.reason += f" (then {type(exc).__name__}: {short(exc)})"
        return div.to_dict()
    if krec.error_path is not None:
        return path_divergence(s, krec.error_path, f"raised {type(exc).__name__}: {short(exc)}")
    return None


def _localize_keras_original(s, arrays, training: bool) -> dict[str, Any] | None:
    """The Keras original's calls are the reference; the torch translation's calls are matched
    to them by the torch path of each Keras layer's counterpart."""
    krec = (
        s.krun.recorder
        if not training
        else KerasRecorder(None, s.keras, [(t, s.krun.recorder.layers[i]) for i, t in enumerate(_rec_paths(s))])
    )
    if training:
        s.krun.run_recorded(arrays, training, krec)
    else:
        s.krun.forward(arrays, training=False)
    trec = TorchRecorder(s.torch)
    try:
        with trec.hooked():
            s.trun.forward(arrays, training=training)
    except Exception as exc:  # noqa: BLE001 - the translation crashed on this input
        return _crash_divergence_keras_original(s, krec, trec, exc)
    div = first_divergence(krec.calls, trec.calls, s.rtol, s.atol, s.classes, align=True)
    return div.to_dict() if div else None


def _rec_paths(s) -> list[str]:
    rec = s.krun.recorder
    return [rec.paths[id(layer)] for layer in rec.layers]


def _crash_site_keras_original(s, sample, exc: Exception) -> dict[str, Any] | None:
    """The torch translation raised on the first input; the Keras original's recorded dry run
    is the reference."""
    trec = TorchRecorder(s.torch)
    try:
        with trec.hooked():
            s.trun.forward(sample, training=False)
    except Exception:  # noqa: BLE001 - expected: it raised before
        pass
    return _crash_divergence_keras_original(s, s.krun.recorder, trec, exc)


def _crash_divergence_keras_original(s, krec, trec, exc: Exception) -> dict[str, Any] | None:
    import numpy as np

    from .localize import Call

    got = [
        Call(c.path, c.index, c.caller, [tuple(np.shape(t)) for t in c.inputs], [tuple(np.shape(t)) for t in c.outputs])
        for c in trec.calls
    ]
    div = first_shape_divergence(krec.calls, got, s.classes, align=True)
    if div is not None:
        div.reason += f" (then {type(exc).__name__}: {short(exc)})"
        return div.to_dict()
    if trec.open:
        return path_divergence(s, trec.open[-1].path, f"raised {type(exc).__name__}: {short(exc)}")
    return None


def path_divergence(s, path: str, reason: str) -> dict[str, Any]:
    tcls, kcls = s.classes.get(path, ("?", "?"))
    return {"path": path or "<root>", "torch_class": tcls, "keras_class": kcls, "reason": reason, "max_abs_error": None}
