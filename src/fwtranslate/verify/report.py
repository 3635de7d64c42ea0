"""The verifier's result: VerifyReport, its JSON form and its text form."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .compare import NOISE_FACTOR, Diff

EQUIVALENT, NOT_EQUIVALENT, ERROR = "equivalent", "not_equivalent", "error"


@dataclass
class PhaseResult:
    name: str  # "inference", "training", "gradients", "step", "transfer"
    ok: bool
    examples: int = 0
    diffs: list[Diff] = field(default_factory=list)  # the worst example's, per output/tensor
    message: str = ""
    # the original's own float32 rounding error, measured when rtol/atol alone were not met
    # (phases.NoiseLog.summary); None when the phase does not use it (float64, transfer)
    noise: dict[str, Any] | None = None

    @property
    def max_abs(self) -> float:
        return max((d.max_abs for d in self.diffs), default=0.0)

    @property
    def max_rel(self) -> float:
        return max((d.max_rel for d in self.diffs), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        bad = [d for d in self.diffs if not d.ok]
        shown = self.diffs if len(self.diffs) <= 40 else bad[:40] or sorted(self.diffs, key=lambda d: -d.max_abs)[:40]
        return {
            "name": self.name,
            "ok": self.ok,
            "examples": self.examples,
            "max_abs_error": _num(self.max_abs),
            "max_rel_error": _num(self.max_rel),
            "mismatches": len(bad),
            "compared": len(self.diffs),
            "results": [_clean(d.to_dict()) for d in shown],
            "message": self.message,
            **({"rounding_noise": _clean(self.noise)} if self.noise is not None else {}),
        }

    def noise_lines(self) -> list[str]:
        """The text report's account of the allowance for both models' float32 rounding."""
        n = self.noise
        if not n or not n.get("measured_on"):
            return [f"       float32 rounding not measured: {n['unavailable']}"] if n and n.get("unavailable") else []
        o, t = n["largest_original_rounding_error"], n["largest_translation_rounding_error"]
        lines = [
            (
                f"       own float32 error vs a float64 run, measured on {n['measured_on']} of {n['examples']} "
                f"examples: original up to {o['value']:.3g} ({o['tensor']}), translation up to {t['value']:.3g} "
                f"({t['tensor']}); float64 runs within {n.get('largest_float64_disagreement', 0.0):.3g} of each "
                f"other; {n['passed_thanks_to_it']} tensors within rtol/atol + {_factor(n['factor'])}(both "
                f"errors) but not rtol/atol alone"
            )
        ]
        for d in n.get("tensors", [])[:3]:
            lines.append(
                f"       {d['path']}: abs {d['max_abs_error']:.3g} allowed {d['allowed_abs_error']:.3g} = "
                f"rtol/atol {d['rtol_atol_allowance']:.3g} + {_factor(n['factor'])}(original's own "
                f"float32 error {d['original_rounding_error']:.3g} + translation's "
                f"{d['translation_rounding_error']:.3g})"
            )
        r = n.get("translation_vs_original_rounding") or {}
        if r.get("max_ratio", 0) > 10:
            lines.append(
                f"       the translation's float32 arithmetic is the less accurate one: up to "
                f"{r['max_ratio']:.3g}x the original's error ({r['tensor']})"
            )
        return lines


def _factor(f: float) -> str:
    return "" if f == 1 else f"{f:g} x "


@dataclass
class VerifyReport:
    status: str = ERROR
    reason: str = ""  # why it could not run, or what differs
    phases: list[PhaseResult] = field(default_factory=list)
    failing_input: dict[str, Any] | None = None
    diverging_layer: dict[str, Any] | None = None
    input_spec: dict[str, Any] | None = None
    tolerances: dict[str, float] = field(default_factory=dict)
    precision: str = "float32"
    device: str = "cpu"
    keras_execution: str = ""
    transferred: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    output: str = ""  # what the verified code printed (an isolated run: its last lines), never the report's
    # training mode (training.py): steps, batch shapes, steps run per side, losses, first divergence
    training: dict[str, Any] | None = None

    @property
    def equivalent(self) -> bool:
        return self.status == EQUIVALENT

    @property
    def max_abs_error(self) -> float:
        return max((p.max_abs for p in self.phases), default=0.0)

    @property
    def max_rel_error(self) -> float:
        return max((p.max_rel for p in self.phases), default=0.0)

    @property
    def exit_code(self) -> int:
        return {EQUIVALENT: 0, NOT_EQUIVALENT: 1}.get(self.status, 2)

    def to_dict(self) -> dict[str, Any]:
        return _clean(
            {
                "equivalent": self.equivalent,
                "status": self.status,
                "reason": self.reason,
                "max_abs_error": _num(self.max_abs_error),
                "max_rel_error": _num(self.max_rel_error),
                "phases": {p.name: p.to_dict() for p in self.phases},
                "failing_input": self.failing_input,
                "diverging_layer": self.diverging_layer,
                "input_spec": self.input_spec,
                "tolerances": self.tolerances,
                "precision": self.precision,
                "device": self.device,
                "keras_execution": self.keras_execution,
                "transferred": self.transferred,
                "timings": {k: round(v, 4) for k, v in self.timings.items()},
                "notes": self.notes,
                "output": self.output,
                **({"training": self.training} if self.training is not None else {}),
            }
        )

    def format_text(self) -> str:
        if self.status not in (EQUIVALENT, NOT_EQUIVALENT):  # nothing was compared: no error figures
            return "\n".join(
                [f"COULD NOT VERIFY: {self.reason or 'unknown reason'}"] + [f"  note: {note}" for note in self.notes]
            )
        head = {EQUIVALENT: "EQUIVALENT", NOT_EQUIVALENT: "NOT EQUIVALENT"}[self.status]
        lines = [
            (
                f"{head}: max abs error {self.max_abs_error:.3g}, max rel error {self.max_rel_error:.3g} "
                f"({self.precision}, rtol {self.tolerances.get('rtol')}, atol {self.tolerances.get('atol')}, {self.device})"
            )
        ]
        if self.reason:
            lines.append(f"  reason: {self.reason}")
        if self.input_spec:
            shapes = "; ".join(
                f"{i['shape']} {i['dtype']} in [{i['range'][0]}, {i['range'][1]}]" for i in self.input_spec["inputs"]
            )
            how = f" (inferred from {self.input_spec['inferred_from']})" if self.input_spec.get("inferred_from") else ""
            lines.append(f"  inputs: {shapes}{how}")
        for p in self.phases:
            mark = "ok  " if p.ok else "FAIL"
            lines.append(
                f"  {mark} {p.name:10s} examples {p.examples:3d}  max abs {p.max_abs:.3g}  max rel {p.max_rel:.3g}"
                + (f"  {p.message}" if p.message else "")
            )
            for d in [d for d in p.diffs if not d.ok][:5]:
                allowed = (
                    f" allowed {d.allowed:.3g} (incl. {_factor(NOISE_FACTOR)}(original's own float32 error "
                    f"{d.noise:.3g} + translation's {d.noise_translation or 0.0:.3g}))"
                    if d.noise is not None and math.isfinite(d.max_abs)
                    else ""
                )
                lines.append(f"       {d.path}: abs {d.max_abs:.3g} rel {d.max_rel:.3g}{allowed} {d.message}".rstrip())
            lines += p.noise_lines()
        lines += self._training_lines()
        if self.diverging_layer:
            dl = self.diverging_layer
            classes = (dl.get("original_class") or dl["torch_class"], dl.get("translation_class") or dl["keras_class"])
            where = (
                f" (translation: {dl['translation_path']})"
                if dl.get("translation_path") not in (None, dl["path"])
                else ""
            )
            lines.append(f"  first diverging layer: {dl['path']} ({classes[0]} -> {classes[1]}){where}: {dl['reason']}")
        if self.failing_input:
            for i, inp in enumerate(self.failing_input["inputs"]):
                lines.append(
                    f"  failing input[{i}]: shape {inp['shape']} {inp['dtype']} {inp['pattern']} "
                    f"min {inp['min']} max {inp['max']} first {inp['first_values'][:4]}"
                )
        for note in self.notes:
            lines.append(f"  note: {note}")
        if self.timings:
            lines.append("  timings: " + ", ".join(f"{k} {v:.2f}s" for k, v in self.timings.items()))
        return "\n".join(lines)

    def _training_lines(self) -> list[str]:
        t = self.training
        if not t:
            return []
        ran = t.get("ran", {})
        lines = [
            (
                f"  training run: {t['steps']} steps, scheduler every {t['steps_per_epoch']}; steps run: "
                f"original {ran.get('original', 0)}, translation {ran.get('translation', 0)}"
            )
        ]
        shapes = t.get("batch_shapes")
        if shapes:
            lines.append(
                f"  batches: inputs {'; '.join(str(s) for s in shapes['inputs'])}, "
                f"target {shapes['target']} {shapes['target_dtype']}"
            )
        first = t.get("first_divergence")
        if first:
            what = first.get("tensor") or "the translation raised"
            if first.get("original_layer"):
                what += f" (the original's layer {first['original_layer']})"
            figures = (
                f" (max abs {first['max_abs_error']:.3g}, max rel {first['max_rel_error']:.3g})"
                if "max_abs_error" in first
                else f": {first.get('error', '')}"
            )
            lines.append(f"  first divergence: step {first['step']}, {what}{figures}")
        losses = t.get("losses") or {}
        if losses.get("original"):
            lines.append("  loss (original): " + ", ".join(f"{v:.6g}" for v in losses["original"]))
            lines.append("  loss (translation): " + ", ".join(f"{v:.6g}" for v in losses.get("translation", [])))
        return lines


def _num(v: float) -> float | None:
    return (
        None
        if v is None or (isinstance(v, float) and math.isnan(v))
        else (v if not isinstance(v, float) or math.isfinite(v) else (1e308 if v > 0 else -1e308))
    )


def _clean(obj):
    """JSON-safe: infinities become 1e308 (JSON has none), numpy scalars become Python ones."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        obj = obj.item()
    if isinstance(obj, float):
        return _num(obj)
    return obj
