"""The comparison phases, each a Hypothesis search over drawn inputs.

  inference  torch eval + no_grad vs Keras training=False;
  training   dropout off, BatchNorm on batch statistics: outputs, then gradients of
             sum(outputs * fixed random projection) w.r.t. inputs and every parameter, then
             every parameter and buffer after one SGD step.
"""
from __future__ import annotations

import time

import numpy as np

from .compare import Diff, compare_trees, magnitude, rounding_noise
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

    def check(case: Case) -> None:
        arrays = realise(s.spec, case)
        ref = _torch_or_reject(lambda: s.original.forward(arrays, training=False))
        try:
            got = s.translation.forward(arrays, training=False)
        except Exception as exc:  # noqa: BLE001 - a translation that crashes on some input
            raise Mismatch("inference", [], f"the translation raised {type(exc).__name__}: {short(exc)}") from exc
        _judge("inference", compare_trees(ref, got, s.rtol, s.atol), worst)

    return _run_phase(report, s, "inference", s.spec, examples, check, worst, training=False)


def phase_training(report: VerifyReport, s: Session, examples: int, gradients: bool) -> bool:
    dropout_off(s.torch)
    keras_dropout_off(s.keras)
    if gradients:
        s.enable_exact()
        if s.exact is not None and s.keras_original:
            report.notes.append("training: each tensor's tolerance also allows 4x the float32 rounding error of "
                                "the computation (measured on the torch translation against its own float64 run: "
                                "the original is Keras)")
        elif s.exact is not None:
            report.notes.append("training: each tensor's tolerance also allows 4x the original's own float32 "
                                "rounding error (measured against a float64 run of the original)")
    spec = s.spec.with_batch_at_least(2)
    worst = {"training": {}, "gradients": {}, "step": {}}
    notes: list[str] = []

    def check(case: Case) -> None:
        arrays = realise(spec, case)
        if not gradients:
            ref = _torch_or_reject(lambda: s.original.forward(arrays, training=True))
            got = _keras_or_mismatch("training", lambda: s.translation.forward(arrays, training=True))
            _judge("training", compare_trees(ref, got, s.rtol, s.atol), worst)
            return
        if s.keras_original:
            # the original is Keras: it draws the projections, the torch translation reuses them
            t = _torch_or_reject(lambda: s.krun.train_step(arrays, None, LR, s.seed))
            k = _keras_or_mismatch("training", lambda: s.trun.train_step(arrays, LR, s.seed, t.projections))
            notes[:] = k.notes
            measured = k  # rounding noise of the computation, measured on the torch side
        else:
            t = _torch_or_reject(lambda: s.trun.train_step(arrays, LR, s.seed))
            k = _keras_or_mismatch("training", lambda: s.krun.train_step(arrays, t.projections, LR))
            notes[:] = t.notes
            measured = t
        noise: dict[str, float] = {}
        if s.exact is not None:
            e = s.exact.train_step([a.astype(np.float64) if a.dtype.kind == "f" else a for a in arrays], LR, s.seed,
                                   {p: v.astype(np.float64) for p, v in t.projections.items()})
            m = measured
            noise = {**rounding_noise(m.outputs, e.outputs), **rounding_noise(m.input_grads, e.input_grads),
                     **rounding_noise(m.param_grads, e.param_grads), **rounding_noise(m.state_after, e.state_after)}
        _judge("training", compare_trees(t.outputs, k.outputs, s.rtol, s.atol, noise=noise), worst)
        params = {n: g for n, g in t.param_grads.items() if n not in s.lossy}
        scale = max(magnitude(t.input_grads), magnitude(params))
        gatol = s.atol * GRAD_ATOL_FACTOR
        grads = compare_trees(t.input_grads, k.input_grads, s.rtol, gatol, scale, noise)
        grads += compare_trees(params, {n: k.param_grads[n] for n in params if n in k.param_grads},
                               s.rtol, gatol, scale, noise)
        _judge("gradients", grads, worst)
        state = {n: v for n, v in t.state_after.items() if _compared_state(n, v) and n not in s.lossy}
        _judge("step", compare_trees(state, {n: k.state_after[n] for n in state}, s.rtol, gatol, LR * scale, noise),
               worst)

    ok = _run_phase(report, s, "training", spec, examples, check, worst, training=True)
    report.notes += notes
    return ok


def _judge(name: str, diffs: list[Diff], worst: dict) -> None:
    _keep_worst(worst[name], diffs)
    if not all(d.ok for d in diffs):
        raise Mismatch(name, diffs)


def _run_phase(report, s: Session, name: str, spec, examples: int, check, worst, training: bool) -> bool:
    """``worst``: per sub-phase name (in order), the worst difference seen per tensor."""
    result = search(spec, examples, s.seed, check)
    m = result.mismatch
    for n, table in worst.items():
        if m is not None and n == m.phase:
            report.phases.append(PhaseResult(n, False, result.passed + 1, m.diffs, m.message))
            break
        report.phases.append(PhaseResult(n, True, result.passed + (m is not None), list(table.values())))
    if m is None:
        return True
    report.status = NOT_EQUIVALENT
    bad = [d for d in m.diffs if not d.ok]
    report.reason = m.message or (f"{m.phase}: {len(bad)} of {len(m.diffs)} compared tensors differ"
                                  + (f" (first: {bad[0].path})" if bad else ""))
    arrays = realise(spec, result.failing_case)
    report.failing_input = summary(spec, result.failing_case, arrays)
    start = time.perf_counter()
    report.diverging_layer = localize(s, m, arrays, training)
    report.timings["localize"] = time.perf_counter() - start
    return False


def _torch_or_reject(fn):
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - the original does not accept this input
        raise Rejected(f"the original model raised {type(exc).__name__}: {short(exc)}") from exc


def _keras_or_mismatch(phase: str, fn):
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001
        raise Mismatch(phase, [], f"the translation raised {type(exc).__name__}: {short(exc)}") from exc


def _compared_state(name: str, value: np.ndarray) -> bool:
    # num_batches_tracked has no Keras counterpart (and only matters with momentum=None)
    return not name.endswith("num_batches_tracked") and np.issubdtype(value.dtype, np.floating)


def _keep_worst(table: dict[str, Diff], diffs: list[Diff]) -> None:
    for d in diffs:
        if d.path not in table or d.max_abs > table[d.path].max_abs:
            table[d.path] = d
