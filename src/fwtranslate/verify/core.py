"""verify(): build both models, transfer the weights, compare them on drawn inputs.

Phases, each on Hypothesis-drawn inputs, stopping at the first that fails:
  inference  torch eval + no_grad vs Keras training=False;
  training   dropout off, BatchNorm on batch statistics: outputs, then gradients of
             sum(outputs * fixed random projection) w.r.t. inputs and every parameter, then
             every parameter and buffer after one SGD step.
A failure is shrunk to a minimal input, then localised to the first diverging submodule.
"""
from __future__ import annotations

import contextlib
import copy
import json
import time
import traceback
from typing import Any

import numpy as np

from ..weights.transfer import TransferError, build_by_dry_run, torch_to_keras
from .backend import choose_device, floatx, frameworks
from .compare import Diff, compare_trees, magnitude, rounding_noise
from .execution import KerasExecutor
from .infer import infer_spec
from .keras_runner import KerasRunner
from .loading import LoadError, build_entry
from .localize import KerasRecorder, TorchRecorder, class_names, first_divergence, first_shape_divergence
from .randomize import dropout_off, keras_dropout_off, randomize
from .report import EQUIVALENT, ERROR, NOT_EQUIVALENT, PhaseResult, VerifyReport
from .search import Mismatch, NothingRuns, Rejected, search
from .spec import InputSpec, SpecError, parse_shape, with_precision
from .strategies import Case, realise, summary
from .torch_runner import TorchRunner

LR = 0.1
# Backward passes compound the forward's rounding, and XLA's float32 convolution gradients are
# measurably noisier than torch's on ill-conditioned inputs (a constant image through a
# BatchNorm in training mode: ~2e-5 of the largest gradient). Gradients and the step are held
# to atol x GRAD_ATOL_FACTOR, relative to the largest gradient; a real bug moves them by O(1).
GRAD_ATOL_FACTOR = 10.0
DEFAULT_TOL = {False: (1e-4, 1e-5), True: (1e-10, 1e-10)}  # float64 -> (rtol, atol)


class SetupError(Exception):
    """The comparison cannot start (exit 2)."""


class Session:
    """Both models, ready to compare."""

    def __init__(self, torch_model, keras_model, spec: InputSpec, device, executor, seed: int, rtol, atol):
        self.torch, self.keras, self.spec = torch_model, keras_model, spec
        self.device, self.executor, self.seed, self.rtol, self.atol = device, executor, seed, rtol, atol
        self.trun = TorchRunner(torch_model, device.torch)
        self.krun = KerasRunner(keras_model, executor, copy.deepcopy(torch_model))
        self.classes = class_names(torch_model, keras_model)
        self.lossy: set[str] = set()  # tensors the Keras side stores merged (LSTM's two biases)
        self.exact: TorchRunner | None = None  # the original in float64, to measure its rounding

    def enable_exact(self) -> None:
        import torch

        if next(iter(self.torch.state_dict().values()), torch.zeros(0)).dtype != torch.float64:
            self.exact = TorchRunner(copy.deepcopy(self.torch).double(), self.device.torch)

    def find_lossy(self) -> set[str]:
        """Tensors that do not survive torch -> Keras -> torch: the translation merges them (an
        LSTM's bias_ih + bias_hh are one Keras bias). Their sum is checked by the forward
        comparisons; their gradients and updates cannot be compared one to one."""
        back = self.krun._in_torch_layout(params_only=False)
        ref = {k: v.detach().cpu().numpy() for k, v in self.torch.state_dict().items()}
        self.lossy = {k for k, v in ref.items() if k in back and np.issubdtype(v.dtype, np.floating)
                      and not np.allclose(back[k], v, rtol=1e-6, atol=1e-7)}
        return self.lossy


def verify(original, translated, entry: str, args=(), kwargs=None, input_shape=None, input_dtype=None,
           input_range=None, examples: int = 20, float64: bool = False, rtol=None, atol=None,
           device: str = "auto", seed: int = 0, check_training: bool = True,
           check_gradients: bool = True) -> VerifyReport:
    """Numerically compare ``entry`` of the torch file ``original`` with the same entry of its
    Keras translation ``translated``. Never raises for a model problem: see the report's status."""
    rtol = DEFAULT_TOL[float64][0] if rtol is None else rtol
    atol = DEFAULT_TOL[float64][1] if atol is None else atol
    report = VerifyReport(tolerances={"rtol": rtol, "atol": atol, "gradient_atol": atol * GRAD_ATOL_FACTOR},
                          precision="float64" if float64 else "float32")
    clock = _Clock(report.timings)
    try:
        with clock("import"):
            frameworks()
        with clock("setup"):
            s = _setup(report, original, translated, entry, tuple(args or ()), dict(kwargs or {}), input_shape,
                       input_dtype, input_range, float64, device, seed, rtol, atol)
        if s is None:
            return report
        report.timings["keras_compile_in_setup"] = s.executor.compile_time  # the dry run's
        with clock("inference"), s.device.scope():
            ok = _phase_inference(report, s, examples)
        if ok and check_training:
            with clock("training"), s.device.scope():
                _phase_training(report, s, max(2, examples // 4), check_gradients)
        if report.status != NOT_EQUIVALENT:
            report.status = EQUIVALENT
        report.timings["torch_model"] = s.trun.model_time
        report.timings["keras_model"] = s.executor.run_time
        report.timings["keras_compile"] = s.executor.compile_time
        report.keras_execution = _execution_modes(s.executor)
        report.notes += s.executor.fallbacks
    except (LoadError, SpecError, SetupError, NothingRuns) as exc:
        report.status, report.reason = ERROR, str(exc)
    except Exception as exc:  # noqa: BLE001 - a verifier that cannot run says why, it does not crash
        report.status, report.reason = ERROR, f"internal error: {type(exc).__name__}: {_short(exc)}"
        report.notes.append(traceback.format_exc(limit=-6))
    finally:
        report.timings["total"] = sum(v for k, v in report.timings.items()
                                      if k in ("import", "setup", "inference", "training"))
    return report


# --- setup ----------------------------------------------------------------------------------
def _setup(report, original, translated, entry, args, kwargs, input_shape, input_dtype, input_range,
           float64, device_request, seed, rtol, atol) -> Session | None:
    torch, _, keras = frameworks()
    try:
        device = choose_device(device_request)
    except ValueError as exc:
        raise SetupError(str(exc)) from None
    report.device = device.kind
    torch.manual_seed(seed)
    tmodel = build_entry(original, entry, args, kwargs)
    if not isinstance(tmodel, torch.nn.Module):
        raise SetupError(f"{entry} in {original} built a {type(tmodel).__name__}, not a torch.nn.Module")
    tmodel = tmodel.to(device.torch)
    if float64:
        tmodel = tmodel.double()
    tmodel.eval()
    spec = parse_shape(input_shape, input_dtype, input_range) if input_shape else infer_spec(tmodel)
    spec = with_precision(spec, float64)
    report.input_spec = spec.to_dict()
    sample = realise(spec, _sample_case(spec))
    trun = TorchRunner(tmodel, device.torch)
    _materialise_lazy(tmodel, trun, sample)
    randomize(tmodel, seed)
    try:
        trun.forward(sample, training=False)
    except Exception as exc:  # noqa: BLE001 - the user's model
        raise SetupError(f"the original model raised on a sample input of shape "
                         f"{[list(a.shape) for a in sample]}: {type(exc).__name__}: {exc}") from exc

    def keras_scope():
        stack = contextlib.ExitStack()
        stack.enter_context(floatx("float64" if float64 else "float32"))
        stack.enter_context(device.scope())
        return stack

    with floatx("float64" if float64 else "float32"), device.scope():
        kmodel = build_entry(translated, entry, args, kwargs, before_build=keras_scope)
        if not isinstance(kmodel, keras.layers.Layer):
            raise SetupError(f"{entry} in {translated} built a {type(kmodel).__name__}, not a Keras layer or model")
        executor = KerasExecutor(device)
        session = Session(tmodel, kmodel, spec, device, executor, seed, rtol, atol)
        try:
            build_by_dry_run(kmodel, sample, executor)  # compiled once, reused by the forward phase
        except Exception as exc:  # noqa: BLE001 - the translation crashed: not equivalent
            _translation_crashed(report, session, sample, exc)
            return None
        try:
            plan = torch_to_keras(tmodel, kmodel)
        except TransferError as exc:
            report.status, report.reason = NOT_EQUIVALENT, f"weight transfer failed: {exc}"
            report.phases.append(PhaseResult("transfer", False, message=str(exc)))
            report.diverging_layer = _path_divergence(session, exc.torch_path, str(exc))
            return None
    if session.find_lossy():
        report.notes.append(f"not compared one to one after the step (merged in Keras): {', '.join(sorted(session.lossy))}")
    report.transferred = {"tensors": plan.tensor_count, "steps": len(plan.steps),
                          "elements": int(sum(p.numel() for p in tmodel.state_dict().values()))}
    report.phases.append(PhaseResult("transfer", True, message=f"{plan.tensor_count} tensors"))
    return session


def sample_inputs(torch_model, input_shape=None, input_dtype=None, input_range=None, float64: bool = False):
    """One deterministic input for a dry run: from the shape given, or inferred from the model."""
    spec = parse_shape(input_shape, input_dtype, input_range) if input_shape else infer_spec(torch_model)
    spec = with_precision(spec, float64)
    return realise(spec, _sample_case(spec))


def _sample_case(spec: InputSpec) -> Case:
    sizes = tuple((name, min(max(low, 2), high)) for name, (low, high) in spec.free_dims().items())
    return Case(sizes, tuple(("uniform", 1234 + i, 0.5) for i in range(len(spec.tensors))))


def _materialise_lazy(tmodel, trun: TorchRunner, sample) -> None:
    from torch.nn.modules.lazy import LazyModuleMixin

    if any(isinstance(m, LazyModuleMixin) and m.has_uninitialized_params() for m in tmodel.modules()):
        try:
            trun.forward(sample, training=False)
        except Exception as exc:  # noqa: BLE001
            raise SetupError(f"the torch dry run that materialises lazy modules failed: {exc}") from exc


def _translation_crashed(report, s: Session, sample, exc: Exception) -> None:
    report.status = NOT_EQUIVALENT
    report.reason = f"the translation raised on the first input: {type(exc).__name__}: {_short(exc)}"
    report.phases.append(PhaseResult("build", False, message=report.reason))
    report.failing_input = {"inputs": [{"shape": list(a.shape), "dtype": str(a.dtype), "pattern": "sample",
                                        "seed": None, "min": None, "max": None, "mean": None,
                                        "first_values": []} for a in sample]}
    report.diverging_layer = _crash_site(s, sample)


# --- phases ---------------------------------------------------------------------------------
def _phase_inference(report: VerifyReport, s: Session, examples: int) -> bool:
    worst: dict[str, dict[str, Diff]] = {"inference": {}}

    def check(case: Case) -> None:
        arrays = realise(s.spec, case)
        ref = _torch_or_reject(lambda: s.trun.forward(arrays, training=False))
        try:
            got = s.krun.forward(arrays, training=False)
        except Exception as exc:  # noqa: BLE001 - a translation that crashes on some input
            raise Mismatch("inference", [], f"the translation raised {type(exc).__name__}: {_short(exc)}") from exc
        _judge("inference", compare_trees(ref, got, s.rtol, s.atol), worst)

    return _run_phase(report, s, "inference", s.spec, examples, check, worst, training=False)


def _phase_training(report: VerifyReport, s: Session, examples: int, gradients: bool) -> bool:
    dropout_off(s.torch)
    keras_dropout_off(s.keras)
    if gradients:
        s.enable_exact()
        if s.exact is not None:
            report.notes.append("training: each tensor's tolerance also allows 4x the original's own float32 "
                                "rounding error (measured against a float64 run of the original)")
    spec = s.spec.with_batch_at_least(2)
    worst = {"training": {}, "gradients": {}, "step": {}}
    notes: list[str] = []

    def check(case: Case) -> None:
        arrays = realise(spec, case)
        if not gradients:
            ref = _torch_or_reject(lambda: s.trun.forward(arrays, training=True))
            got = _keras_or_mismatch("training", lambda: s.krun.forward(arrays, training=True))
            _judge("training", compare_trees(ref, got, s.rtol, s.atol), worst)
            return
        t = _torch_or_reject(lambda: s.trun.train_step(arrays, LR, s.seed))
        k = _keras_or_mismatch("training", lambda: s.krun.train_step(arrays, t.projections, LR))
        notes[:] = t.notes
        noise: dict[str, float] = {}
        if s.exact is not None:
            e = s.exact.train_step([a.astype(np.float64) if a.dtype.kind == "f" else a for a in arrays], LR, s.seed,
                                   {p: v.astype(np.float64) for p, v in t.projections.items()})
            noise = {**rounding_noise(t.outputs, e.outputs), **rounding_noise(t.input_grads, e.input_grads),
                     **rounding_noise(t.param_grads, e.param_grads), **rounding_noise(t.state_after, e.state_after)}
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
    report.diverging_layer = _localize(s, m, arrays, training)
    report.timings["localize"] = time.perf_counter() - start
    return False


# --- localisation ---------------------------------------------------------------------------
def _localize(s: Session, m: Mismatch, arrays, training: bool) -> dict[str, Any] | None:
    if m.phase in ("inference", "training"):
        trec = TorchRecorder(s.torch)
        with trec.hooked():
            s.trun.forward(arrays, training=training)
        krec = KerasRecorder(s.torch, s.keras)
        try:
            s.krun.run_recorded(arrays, training, krec)
        except Exception as exc:  # noqa: BLE001
            return _crash_divergence(s, trec, krec, exc)
        div = first_divergence(trec.calls, krec.calls, s.rtol, s.atol, s.classes)
        return div.to_dict() if div else None
    # gradients / step: the module owning the first differing tensor, latest in forward order
    bad = [d.path for d in m.diffs if not d.ok]
    owners = [p.rsplit(".", 1)[0] if "." in p else "" for p in bad if not p.startswith("input[")]
    if not owners:
        return _path_divergence(s, "", f"{m.phase}: input gradients differ ({', '.join(bad[:3])})")
    order = {path: i for i, path in enumerate(s.classes)}
    owner = max(owners, key=lambda o: order.get(o, -1)) if m.phase == "gradients" else owners[0]
    tensors = [p for p in bad if (p.rsplit(".", 1)[0] if "." in p else "") == owner]
    return _path_divergence(s, owner, f"{m.phase}: {', '.join(tensors[:4])} differ")


def _crash_site(s: Session, sample) -> dict[str, Any] | None:
    trec = TorchRecorder(s.torch)
    with trec.hooked():
        s.trun.forward(sample, training=False)
    krec = KerasRecorder(s.torch, s.keras)
    try:
        s.krun.run_recorded(sample, False, krec)
    except Exception as exc:  # noqa: BLE001 - expected: it crashed before
        return _crash_divergence(s, trec, krec, exc)
    return None


def _crash_divergence(s: Session, trec, krec, exc: Exception) -> dict[str, Any] | None:
    """A crash is often the consequence of an earlier wrong shape: look for that first, else
    name the innermost layer that raised."""
    div = first_shape_divergence(trec.calls, krec.shapes(), s.classes)
    if div is not None:
        div.reason += f" (then {type(exc).__name__}: {_short(exc)})"
        return div.to_dict()
    if krec.error_path is not None:
        return _path_divergence(s, krec.error_path, f"raised {type(exc).__name__}: {_short(exc)}")
    return None


def _path_divergence(s: Session, path: str, reason: str) -> dict[str, Any]:
    tcls, kcls = s.classes.get(path, ("?", "?"))
    return {"path": path or "<root>", "torch_class": tcls, "keras_class": kcls, "reason": reason,
            "max_abs_error": None}


# --- helpers --------------------------------------------------------------------------------
def _torch_or_reject(fn):
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - the original does not accept this input
        raise Rejected(f"the original model raised {type(exc).__name__}: {_short(exc)}") from exc


def _keras_or_mismatch(phase: str, fn):
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001
        raise Mismatch(phase, [], f"the translation raised {type(exc).__name__}: {_short(exc)}") from exc


def _compared_state(name: str, value: np.ndarray) -> bool:
    # num_batches_tracked has no Keras counterpart (and only matters with momentum=None)
    return not name.endswith("num_batches_tracked") and np.issubdtype(value.dtype, np.floating)


def _keep_worst(table: dict[str, Diff], diffs: list[Diff]) -> None:
    for d in diffs:
        if d.path not in table or d.max_abs > table[d.path].max_abs:
            table[d.path] = d


def _execution_modes(executor: KerasExecutor) -> str:
    modes = sorted({mode for mode, _ in executor._functions.values()})
    return ",".join(modes)


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else ""


class _Clock:
    def __init__(self, table: dict[str, float]):
        self.table = table

    @contextlib.contextmanager
    def __call__(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.table[name] = self.table.get(name, 0.0) + time.perf_counter() - start


def dumps(report: VerifyReport) -> str:
    return json.dumps(report.to_dict(), indent=2, sort_keys=False)
