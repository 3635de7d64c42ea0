"""The comparison phases, each a Hypothesis search over drawn inputs.

  inference  torch eval + no_grad vs Keras training=False;
  training   dropout off, BatchNorm on batch statistics: outputs, then gradients of
             sum(outputs * fixed random projection) w.r.t. inputs and every parameter, then
             every parameter and buffer after one SGD step.

In float32, an example whose tensors do not all meet rtol/atol is compared again with each
tensor's allowance grown by the original's and the translation's own float32 rounding errors,
each measured against a float64 run of the same model on the same input (compare.py;
PhaseResult.noise says where it was needed and how large they were).
"""

from __future__ import annotations

import time

import numpy as np

from .compare import NOISE_FACTOR, Diff, compare_trees, magnitude
from .diagnose import localize, short
from .randomize import dropout_off, keras_dropout_off
from .report import NOT_EQUIVALENT, PhaseResult, VerifyReport
from .search import Mismatch, Rejected, search
from .session import Session
from .strategies import Case, realise, summary

LR = 0.1
# Backward passes compound the forward's rounding, and XLA's float32 convolution gradients are
# measurably noisier than torch's on ill-conditioned inputs (a constant image through a
# BatchNorm in training mode: ~2e-5 of the largest gradient). Gradients and the step are held
# to atol x GRAD_ATOL_FACTOR, relative to the largest gradient; a real bug moves them by O(1).
GRAD_ATOL_FACTOR = 10.0


def phase_inference(report: VerifyReport, s: Session, examples: int) -> bool:
    worst: dict[str, dict[str, Diff]] = {"inference": {}}
    log = NoiseLog(("inference",))

    def check(case: Case) -> None:
        arrays = realise(s.spec, case)
        ref = _torch_or_reject(lambda: s.original.forward(arrays, training=False))
        try:
            got = s.translation.forward(arrays, training=False)
        except Exception as exc:
            raise Mismatch("inference", [], f"the translation raised {type(exc).__name__}: {short(exc)}") from exc
        diffs = _with_noise(
            s,
            log,
            lambda exact: {"inference": compare_trees(ref, got, s.rtol, s.atol, exact=(exact or {}).get("inference"))},
            lambda o, t: {"inference": _exact(arrays, False, o, t)},
        )
        _judge("inference", diffs["inference"], worst)

    return _run_phase(report, s, "inference", s.spec, examples, check, worst, training=False, log=log)


def phase_training(report: VerifyReport, s: Session, examples: int, gradients: bool) -> bool:
    dropout_off(s.torch)
    keras_dropout_off(s.keras)
    s.dropout_is_off = True  # and in the float64 copies
    spec = s.spec.with_batch_at_least(2)
    # without gradients, only the training-mode outputs are compared (and reported)
    worst = {"training": {}, "gradients": {}, "step": {}} if gradients else {"training": {}}
    log = NoiseLog(tuple(worst))
    notes: list[str] = []

    def check(case: Case) -> None:
        arrays = realise(spec, case)
        if not gradients:
            ref = _torch_or_reject(lambda: s.original.forward(arrays, training=True))
            got = _keras_or_mismatch("training", lambda: s.translation.forward(arrays, training=True))
            diffs = _with_noise(
                s,
                log,
                lambda exact: {
                    "training": compare_trees(ref, got, s.rtol, s.atol, exact=(exact or {}).get("training"))
                },
                lambda o, tr: {"training": _exact(arrays, True, o, tr)},
            )
            _judge("training", diffs["training"], worst)
            return
        if s.keras_original:
            # the original is Keras: it draws the projections, the torch translation reuses them
            t = _torch_or_reject(lambda: s.krun.train_step(arrays, None, LR, s.seed))
            k = _keras_or_mismatch("training", lambda: s.trun.train_step(arrays, LR, s.seed, t.projections))
            notes[:] = k.notes
        else:
            t = _torch_or_reject(lambda: s.trun.train_step(arrays, LR, s.seed))
            k = _keras_or_mismatch("training", lambda: s.krun.train_step(arrays, t.projections, LR))
            notes[:] = t.notes
        params = {n: g for n, g in t.param_grads.items() if n not in s.lossy}
        state = {n: v for n, v in t.state_after.items() if compared_state(n, v) and n not in s.lossy}
        scale = max(magnitude(t.input_grads), magnitude(params))
        gatol = s.atol * GRAD_ATOL_FACTOR

        def compare(exact):
            exact = exact or {}
            grads = compare_trees(t.input_grads, k.input_grads, s.rtol, gatol, scale, exact.get("gradients"))
            grads += compare_trees(
                params,
                {n: k.param_grads[n] for n in params if n in k.param_grads},
                s.rtol,
                gatol,
                scale,
                exact.get("gradients"),
            )
            return {
                "training": compare_trees(t.outputs, k.outputs, s.rtol, s.atol, exact=exact.get("training")),
                "gradients": grads,
                "step": compare_trees(
                    state, {n: k.state_after[n] for n in state}, s.rtol, gatol, LR * scale, exact.get("step")
                ),
            }

        def measure(o64, t64):
            # the same step in float64, the same inputs and loss projections (the original's); per
            # sub-phase, since a parameter's gradient and its value after the step share a name
            proj = {p: v.astype(np.float64) for p, v in t.projections.items()}
            eo = o64.train_step(_f64(arrays), LR, s.seed, proj)
            et = t64.train_step(_f64(arrays), LR, s.seed, proj)
            return {
                "training": (eo.outputs, et.outputs),
                "gradients": ({**eo.input_grads, **eo.param_grads}, {**et.input_grads, **et.param_grads}),
                "step": (eo.state_after, et.state_after),
            }

        diffs = _with_noise(s, log, compare, measure)
        for name in ("training", "gradients", "step"):
            _judge(name, diffs[name], worst)

    ok = _run_phase(report, s, "training", spec, examples, check, worst, training=True, log=log)
    report.notes += notes
    return ok


class NoiseLog:
    """Per phase: on how many examples both models' float32 rounding errors were measured (their
    float64 copies run), the largest measured per tensor, the largest float64 disagreement, and
    the tensors that passed only thanks to the allowance."""

    def __init__(self, names: tuple[str, ...]):
        self.names = names
        self.checked = 0  # examples compared
        self.measured = 0  # examples on which the float64 reference ran
        # per phase, per tensor: the largest rounding error measured, the original's and the translation's
        self.noise: dict[str, tuple[dict[str, float], dict[str, float]]] = {n: ({}, {}) for n in names}
        self.gap: dict[str, float] = dict.fromkeys(names, 0.0)  # per phase: the largest float64 disagreement
        self.needed: dict[str, dict[str, Diff]] = {n: {} for n in names}  # the worst such Diff per tensor

    def record(self, diffs: dict[str, list[Diff]]) -> None:
        self.measured += 1
        for name, ds in diffs.items():
            orig, trans = self.noise[name]
            for d in ds:
                if d.noise is not None:
                    orig[d.path] = max(d.noise, orig.get(d.path, 0.0))
                    trans[d.path] = max(d.noise_translation or 0.0, trans.get(d.path, 0.0))
                    self.gap[name] = max(self.gap[name], d.exact_gap or 0.0)
        for name, ds in diffs.items():
            table = self.needed[name]
            for d in ds:
                if d.needed_noise and (d.path not in table or _used(d) > _used(table[d.path])):
                    table[d.path] = d

    def summary(self, name: str, s: Session) -> dict | None:
        if not self.checked:
            return None
        out = {"factor": NOISE_FACTOR, "examples": self.checked, "measured_on": self.measured}
        if self.measured:
            out["passed_thanks_to_it"] = len(self.needed[name])
            out["tensors"] = [
                {
                    "path": d.path,
                    "max_abs_error": d.max_abs,
                    "original_rounding_error": d.noise,
                    "translation_rounding_error": d.noise_translation,
                    "rtol_atol_allowance": d.base_allowed,
                    "allowed_abs_error": d.allowed,
                }
                for d in sorted(self.needed[name].values(), key=lambda d: -_used(d))[:10]
            ]
            orig, trans = self.noise[name]
            for key, table in (("original", orig), ("translation", trans)):
                path, value = max(table.items(), key=lambda kv: kv[1], default=("", 0.0))
                out[f"largest_{key}_rounding_error"] = {"value": value, "tensor": path}
            # where the translation's float32 arithmetic is the less accurate one, by how much
            ratios = {p: trans[p] / orig[p] for p in trans if orig.get(p, 0.0) > 0}
            path, ratio = max(ratios.items(), key=lambda kv: kv[1], default=("", 0.0))
            out["translation_vs_original_rounding"] = {"max_ratio": ratio, "tensor": path}
            out["largest_float64_disagreement"] = self.gap[name]
        elif s.reference_error:
            out["unavailable"] = s.reference_error
        return out


def _used(d: Diff) -> float:
    """The share of its allowance a tensor's worst element uses."""
    return d.max_abs / max(d.allowed, np.finfo(np.float64).tiny)


def _with_noise(s: Session, log: NoiseLog, compare, measure) -> dict[str, list[Diff]]:
    """``compare(exact)``: {phase: diffs}; when rtol/atol alone are not met, run again with both
    models' float64 results (``measure(original64, translation64)``: {phase: (original's tree,
    translation's tree)}), from which compare.py measures each model's own rounding error."""
    log.checked += 1
    diffs = compare(None)
    if all(d.ok for ds in diffs.values() for d in ds):
        return diffs
    start = time.perf_counter()
    try:
        refs = s.references()
        if refs is None:
            return diffs
        exact = measure(*refs)
    except Exception as exc:  # noqa: BLE001 - held to rtol/atol only, and the report says why
        s.reference_error = f"a float64 run raised {type(exc).__name__}: {short(exc)}"
        return diffs
    finally:
        s.reference_time += time.perf_counter() - start
    diffs = compare(exact)
    log.record(diffs)
    return diffs


def _exact(arrays, training: bool, o64, t64):
    """One forward pass of both float64 copies."""
    return (o64.forward(_f64(arrays), training=training), t64.forward(_f64(arrays), training=training))


def _f64(arrays: list[np.ndarray]) -> list[np.ndarray]:
    return [a.astype(np.float64) if a.dtype.kind == "f" else a for a in arrays]


def _judge(name: str, diffs: list[Diff], worst: dict) -> None:
    keep_worst(worst[name], diffs)
    if not all(d.ok for d in diffs):
        raise Mismatch(name, diffs)


def _run_phase(
    report, s: Session, name: str, spec, examples: int, check, worst, training: bool, log: NoiseLog | None = None
) -> bool:
    """``worst``: per sub-phase name (in order), the worst difference seen per tensor."""
    result = search(spec, examples, s.seed, check)
    m = result.mismatch
    for n, table in worst.items():
        noise = log.summary(n, s) if log is not None and n in log.names else None
        if m is not None and n == m.phase:
            report.phases.append(PhaseResult(n, False, result.passed + 1, m.diffs, m.message, noise))
            break
        report.phases.append(PhaseResult(n, True, result.passed + (m is not None), list(table.values()), noise=noise))
    if m is None:
        return True
    report.status = NOT_EQUIVALENT
    bad = [d for d in m.diffs if not d.ok]
    report.reason = m.message or (
        f"{m.phase}: {len(bad)} of {len(m.diffs)} compared tensors differ" + (f" (first: {bad[0].path})" if bad else "")
    )
    arrays = realise(spec, result.failing_case)
    report.failing_input = summary(spec, result.failing_case, arrays)
    start = time.perf_counter()
    report.diverging_layer = localize(s, m, arrays, training)
    report.timings["localize"] = time.perf_counter() - start
    return False


def _torch_or_reject(fn):
    try:
        return fn()
    except Exception as exc:
        raise Rejected(f"the original model raised {type(exc).__name__}: {short(exc)}") from exc


def _keras_or_mismatch(phase: str, fn):
    try:
        return fn()
    except Exception as exc:
        raise Mismatch(phase, [], f"the translation raised {type(exc).__name__}: {short(exc)}") from exc


def compared_state(name: str, value: np.ndarray) -> bool:
    # num_batches_tracked has no Keras counterpart (and only matters with momentum=None)
    return not name.endswith("num_batches_tracked") and np.issubdtype(value.dtype, np.floating)


def keep_worst(table: dict[str, Diff], diffs: list[Diff]) -> None:
    for d in diffs:
        if d.path not in table or d.max_abs > table[d.path].max_abs:
            table[d.path] = d
