"""Training mode (``verify --train-steps N``): N optimizer steps on both sides, compared after each.

Same initial weights (the transfer of the session), same batches (seeded random inputs and
targets), the user's optimizer, loss and LR scheduler on both sides, built by module-level
factories that both files define under the same names: ``make_optimizer(model)``,
``make_loss()``, ``make_scheduler(optimizer)``.

  torch   model.train(); opt.zero_grad(); loss = loss_fn(model(x), y); loss.backward();
          opt.step(); sched.step() after every K steps
  Keras   with tf.GradientTape() as tape: loss = loss_fn(y, model(x, training=True));
          opt.apply_gradients(zip(tape.gradient(loss, vars), vars)); sched.step() at the same
          times when the translated scheduler has one (a LearningRateSchedule given to the
          optimizer has none: it follows the optimizer's iterations)

After each step the loss, every parameter and every floating state tensor (BatchNorm running
statistics) are compared in the original's names and layouts (the Keras values go through the
weight converters). In float32, when a step fails rtol/atol, both models are trained again in
float64 from the same initial weights and the same batches, and each tensor may then differ by
both models' measured float32 rounding errors (compare.py), as in the other phases. The first
step and tensor that still differ are reported. Dropout is switched off on both sides (it
draws different masks in each framework).
"""

from __future__ import annotations

import copy
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .backend import floatx, frameworks
from .compare import Diff, compare_trees, flatten
from .diagnose import short
from .loading import isolated_import
from .phases import NoiseLog, compared_state, keep_worst
from .progress import stage
from .randomize import dropout_off, keras_dropout_off
from .report import NOT_EQUIVALENT, PhaseResult, VerifyReport
from .spec import InputSpec, SpecError, parse_shape, with_precision
from .strategies import Case, realise
from .torch_runner import BatchNormWatch, to_numpy, torch_leaf

PHASE = "train"
LOSS = "loss"  # the name the loss goes by among the compared tensors


class TrainingSetupError(Exception):
    """The training run cannot start, or the original failed during it (could not run)."""


@dataclass(frozen=True, kw_only=True)
class TrainingRequest:
    """``verify(train_steps=...)``'s arguments: factory names and how batches look."""

    steps: int
    optimizer: str
    loss: str
    scheduler: str | None = None
    steps_per_epoch: int | None = None  # scheduler.step() after every K steps; None: after all N
    target_shape: str | None = None  # None: shaped like the model's output
    target_dtype: str | None = None
    target_range: str | None = None

    @property
    def epoch(self) -> int:
        return self.steps_per_epoch or self.steps

    def check(self) -> None:
        if self.steps < 1:
            raise TrainingSetupError(f"--train-steps must be at least 1, not {self.steps}")
        if not self.optimizer or not self.loss:
            raise TrainingSetupError("--train-steps needs --optimizer and --loss (factory names in both files)")
        if self.steps_per_epoch is not None and self.steps_per_epoch < 1:
            raise TrainingSetupError(f"--steps-per-epoch must be at least 1, not {self.steps_per_epoch}")


@dataclass
class Trajectory:
    """One side's run: per completed step, the loss and the state in the original's names."""

    records: list[dict[str, np.ndarray]] = field(default_factory=list)
    error: str | None = None  # why it stopped before the last step
    scheduler_steps: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class Factories:
    optimizer: Any
    loss: Any
    scheduler: Any | None


def load_factories(path: str | Path, request: TrainingRequest) -> Factories:
    """The factories of one file. The file is imported once more (as the float64 rebuild does):
    the factories are looked up inside the import and called afterwards."""
    wanted = (("--optimizer", request.optimizer), ("--loss", request.loss), ("--scheduler", request.scheduler))
    with isolated_import(Path(path)) as module:
        found = [getattr(module, name, None) if name else None for _, name in wanted]
    for (option, name), factory in zip(wanted, found):
        if name and not callable(factory):
            raise TrainingSetupError(f"{path} has no function {name!r} ({option}): define it in both files")
    return Factories(*found)


def run_training(report: VerifyReport, s, request: TrainingRequest, original, translated, input_shape=None) -> None:
    """The training phase: appends PhaseResult ``train``, fills ``report.training``; a failure
    of the translation makes the report NOT_EQUIVALENT; the original's raises TrainingSetupError."""
    request.check()
    f_orig, f_trans = load_factories(original, request), load_factories(translated, request)
    dropped = dropout_off(s.torch) + keras_dropout_off(s.keras)
    s.dropout_is_off = True
    batches = make_batches(s, request, input_shape)
    torch_start = copy.deepcopy(s.torch.state_dict())
    keras_start = s.krun.snapshot()
    info: dict[str, Any] = {
        "steps": request.steps,
        "steps_per_epoch": request.epoch,
        "batch_shapes": {
            "inputs": [list(a.shape) for a in batches[0][0]],
            "target": list(batches[0][1].shape),
            "target_dtype": str(batches[0][1].dtype),
        },
    }
    report.training = info
    report.input_spec = {  # the batches' shapes: the other phases' spec draws the batch size
        **s.spec.to_dict(),
        "inputs": [
            {"shape": ",".join(map(str, a.shape)), "dtype": str(a.dtype), "range": [t.low, t.high]}
            for a, t in zip(batches[0][0], s.spec.tensors)
        ],
    }
    if dropped:
        report.notes.append("training run: dropout switched off on both sides (each framework draws its own masks)")

    precision = "float64" if s.is_float64() else "float32"
    stage(f"training {request.steps} steps of the original ({original})", str(original))
    ref = train_side(s.original, s.device.torch, f_orig, batches, request, precision)
    if ref.error is not None:
        raise TrainingSetupError(f"{original}: training step {len(ref.records) + 1} raised {ref.error}")
    stage(f"training {request.steps} steps of the translation ({translated})", str(translated))
    got = train_side(s.translation, s.device.torch, f_trans, batches, request, precision)
    info["ran"] = {"original": len(ref.records), "translation": len(got.records)}
    info["scheduler_steps"] = {"original": ref.scheduler_steps, "translation": got.scheduler_steps}
    info["losses"] = {
        "original": [_scalar(r[LOSS]) for r in ref.records],
        "translation": [_scalar(r[LOSS]) for r in got.records],
    }
    report.notes += ref.notes + got.notes
    diverged = [k for k, r in enumerate(ref.records) if not np.all(np.isfinite(r[LOSS]))]
    if diverged:  # equal NaNs compare equal: say that the run itself diverged
        report.notes.append(f"training run: the original's loss is not finite from step {diverged[0] + 1} on")

    log = NoiseLog((PHASE,))
    exact: tuple[Trajectory, Trajectory] | None = None
    worst: dict[str, Diff] = {}
    for k in range(len(got.records)):
        o, t = _compared(s, ref.records[k]), got.records[k]
        log.checked += 1
        diffs = compare_trees(o, {n: t[n] for n in o if n in t}, s.rtol, s.atol)
        if not all(d.ok for d in diffs) and not s.is_float64():
            if exact is None:
                stage("training both models again in float64 (to measure their float32 rounding)")
                exact = _float64_runs(s, f_orig, f_trans, batches, request, torch_start, keras_start)
            if exact is not None and k < min(len(exact[0].records), len(exact[1].records)):
                o64, t64 = _compared(s, exact[0].records[k]), exact[1].records[k]
                diffs = compare_trees(o, {n: t[n] for n in o if n in t}, s.rtol, s.atol, exact=(o64, t64))
                log.record({PHASE: diffs})
        keep_worst(worst, diffs)
        bad = [d for d in diffs if not d.ok]
        if bad:
            first = bad[0]
            info["first_divergence"] = {
                "step": k + 1,
                "tensor": first.path,
                "max_abs_error": first.max_abs,
                "max_rel_error": first.max_rel,
                "tensors": [d.path for d in bad],
                **({"original_layer": _keras_layer(s, first.path)} if s.keras_original else {}),
            }
            report.status = NOT_EQUIVALENT
            report.reason = (
                f"train step {k + 1} of {request.steps}: {first.path} differs (max abs {first.max_abs:.3g}, "
                f"max rel {first.max_rel:.3g}); {len(bad)} of {len(diffs)} compared tensors differ"
            )
            report.phases.append(PhaseResult(PHASE, False, k + 1, diffs, report.reason, log.summary(PHASE, s)))
            return
    if got.error is not None:
        step = len(got.records) + 1
        report.status = NOT_EQUIVALENT
        report.reason = f"train step {step} of {request.steps}: the translation raised {got.error}"
        info["first_divergence"] = {"step": step, "tensor": None, "error": got.error}
        report.phases.append(PhaseResult(PHASE, False, step, list(worst.values()), report.reason))
        return
    if len(ref.records) != request.steps or len(got.records) != request.steps:  # never a pass
        raise TrainingSetupError(f"the training run did not complete: {info['ran']} of {request.steps} steps")
    if ref.scheduler_steps != got.scheduler_steps:
        report.notes.append(
            f"training run: the original's scheduler stepped {ref.scheduler_steps} times, the translation's "
            f"{got.scheduler_steps} (a Keras scheduler without step() follows the optimizer's iterations)"
        )
    info["first_divergence"] = None
    report.phases.append(
        PhaseResult(PHASE, True, request.steps, list(worst.values()), f"{request.steps} steps", log.summary(PHASE, s))
    )


def _scalar(value) -> float:
    return float(np.asarray(value, dtype=np.float64).reshape(-1)[0])


def _keras_layer(s, name: str) -> str | None:
    """A Keras original: the path of the layer holding the torch tensor ``name``."""
    module = name.rpartition(".")[0]
    return s.paths.get(module) if name != LOSS else None


def _compared(s, record: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {n: v for n, v in record.items() if n == LOSS or (compared_state(n, v) and n not in s.lossy)}


# --- batches -----------------------------------------------------------------------------------
def make_batches(s, request: TrainingRequest, input_shape=None) -> list[tuple[list[np.ndarray], np.ndarray]]:
    """N (inputs, target) pairs drawn from the run's seed: the same arrays for both sides."""
    spec = _fixed_batch_spec(s, input_shape)
    first_case = _case(spec, s.seed, 0)
    target_spec = _target_spec(s, request, spec, realise(spec, first_case))
    out = []
    for k in range(request.steps):
        xs = realise(spec, _case(spec, s.seed, k))
        y = realise(target_spec, _case(target_spec, s.seed, k, salt=1))[0]
        out.append((xs, y))
    return out


def _fixed_batch_spec(s, input_shape) -> InputSpec:
    """The inputs' spec, the batch at least 2 (BatchNorm) and the size given in --input-shape
    where one was (``4,8``: batch 4; verify's other phases draw it)."""
    if isinstance(input_shape, str):
        first = input_shape.split(";")[0].split(",")[0].strip().rstrip("!")
        if first.isdigit():
            return s.spec.with_batch_at_least(max(2, int(first)))
    elif input_shape:
        shapes = list(input_shape)
        first = shapes[0][0] if shapes and isinstance(shapes[0], (tuple, list)) else shapes[0]
        return s.spec.with_batch_at_least(max(2, int(first)))
    return s.spec.with_batch_at_least(2)


def _case(spec: InputSpec, seed: int, step: int, salt: int = 0) -> Case:
    # fixed sizes: the batch's lowest (fixed_batch_spec raised it), others as in the dry run
    sizes = tuple(
        (name, low if name == "B" else min(max(low, 2), high)) for name, (low, high) in spec.free_dims().items()
    )
    base = zlib.crc32(f"{seed}/{step}/{salt}".encode()) & 0x7FFFFFFF
    return Case(sizes, tuple(("uniform", (base + i) & 0x7FFFFFFF, 0.5) for i in range(len(spec.tensors))))


def _target_spec(s, request: TrainingRequest, spec: InputSpec, sample: list[np.ndarray]) -> InputSpec:
    """--target-shape (default: the output's shape; integers: without its last axis),
    --target-dtype (default float32) and --target-range (integers: default [0, the output's last
    size): a classifier's class indices)."""
    batch = dict(_case(spec, s.seed, 0).sizes).get("B")
    dtype, shape, value_range = request.target_dtype, request.target_shape, request.target_range
    is_int = bool(dtype) and "int" in str(dtype)
    if shape is None or (is_int and value_range is None):
        outputs = flatten(_original_eval(s, sample), _leaf)
        if len(outputs) != 1:
            raise TrainingSetupError(
                f"the model returns {len(outputs)} tensors: give --target-shape (and a loss that takes them)"
            )
        out_shape = tuple(next(iter(outputs.values())).shape)
        if shape is None:  # integers: class indices of a classifier's logits (the last axis dropped)
            shape = ",".join(str(n) for n in (out_shape[:-1] if is_int and len(out_shape) > 1 else out_shape))
        if is_int and value_range is None:
            value_range = f"0,{out_shape[-1]}"
    try:
        target = parse_shape(_fix_first(shape, batch), dtype, value_range)
    except SpecError as exc:
        raise TrainingSetupError(f"--target-shape/--target-dtype/--target-range: {exc}") from None
    return with_precision(target, s.is_float64())


def _leaf(v):
    if torch_leaf(v) is not None:
        return v
    return v if hasattr(v, "shape") and hasattr(v, "dtype") and not isinstance(v, (list, tuple, dict)) else None


def _fix_first(shape: str, batch: int | None) -> str:
    """The target's first size is the inputs' batch size; every fixed size is kept fixed (``4!``)."""
    dims = [d.strip() for d in str(shape).split(",")]
    if batch is not None and dims and dims[0].isdigit():
        dims[0] = str(batch)
    return ",".join(f"{d}!" if d.isdigit() else d for d in dims)


def _original_eval(s, sample):
    """The original's output on ``sample`` (inference: no statistics move)."""
    if s.keras_original:
        return s.krun.apply(*sample, training=False)
    import torch

    model = s.torch
    model.eval()
    with torch.no_grad():
        return model(*(torch.as_tensor(a).to(s.device.torch) for a in sample))


# --- the two training loops --------------------------------------------------------------------
def train_side(runner, device, f: Factories, batches, request: TrainingRequest, precision: str) -> Trajectory:
    """Train the model of ``runner`` (a KerasRunner: the Keras loop; a TorchRunner: torch's)."""
    from .keras_runner import KerasRunner

    if isinstance(runner, KerasRunner):
        return train_keras(runner, f, batches, request, precision)
    return train_torch(runner.model, device, f, batches, request)


def train_torch(model, device, f: Factories, batches, request: TrainingRequest) -> Trajectory:
    """The original's loop; each record holds the step's loss and the state after the step
    (BatchNorm running_var in Keras' rule: torch_runner.BatchNormWatch)."""
    import torch

    traj = Trajectory()
    bn = BatchNormWatch(model)
    try:
        model.train()
        opt = f.optimizer(model)
        loss_fn = f.loss()
        sched = f.scheduler(opt) if f.scheduler is not None else None
        for k, (xs, y) in enumerate(batches):
            opt.zero_grad()
            inputs = [torch.as_tensor(a).to(device) for a in xs]
            loss = loss_fn(model(*inputs), torch.as_tensor(y).to(device))
            loss.backward()
            opt.step()
            if sched is not None and (k + 1) % request.epoch == 0:
                sched.step()
                traj.scheduler_steps += 1
            state = {n: to_numpy(v) for n, v in model.state_dict().items()}
            traj.notes = bn.expect_keras_variance(state)
            traj.records.append({LOSS: to_numpy(loss), **state})
    except Exception as exc:  # noqa: BLE001 - reported by the caller, with the step
        traj.error = f"{type(exc).__name__}: {short(exc)}"
    finally:
        bn.remove()
        model.eval()
    return traj


def train_keras(krun, f: Factories, batches, request: TrainingRequest, precision: str) -> Trajectory:
    """The translation's loop (eager: exactly what a user's loop computes); each record holds
    the step's loss and the state in torch names and layouts (krun's converters)."""
    _, tf, _ = frameworks()
    model = krun.model
    traj = Trajectory()
    try:
        with floatx(precision):  # losses and optimizers take their dtype from floatx when made
            opt = f.optimizer(model)
            loss_fn = f.loss()
            sched = f.scheduler(opt) if f.scheduler is not None else None
        step = getattr(sched, "step", None) if sched is not None else None
        for k, (xs, y) in enumerate(batches):
            inputs = [tf.convert_to_tensor(a) for a in xs]
            with tf.GradientTape() as tape:
                loss = loss_fn(tf.convert_to_tensor(y), krun.apply(*inputs, training=True))
            variables = list(model.trainable_variables)
            grads = tape.gradient(loss, variables)
            opt.apply_gradients(zip(grads, variables))
            if callable(step) and (k + 1) % request.epoch == 0:
                step()
                traj.scheduler_steps += 1
            state = krun._in_torch_layout(params_only=False)
            traj.records.append({LOSS: np.asarray(loss), **state})
    except Exception as exc:  # noqa: BLE001 - the translation raised: not equivalent, at that step
        traj.error = f"{type(exc).__name__}: {short(exc)}"
    return traj


def _float64_runs(s, f_orig, f_trans, batches, request, torch_start, keras_start):
    """Both models trained again in float64 from the initial weights (the session's float64
    copies, built from the float32 models put back in their initial state); None when they
    cannot be built (held to rtol/atol only: the report says why)."""
    start = time.perf_counter()
    try:
        return _float64_trajectories(s, f_orig, f_trans, batches, request, torch_start, keras_start)
    finally:
        s.reference_time += time.perf_counter() - start


def _float64_trajectories(s, f_orig, f_trans, batches, request, torch_start, keras_start):
    trained_torch, trained_keras = copy.deepcopy(s.torch.state_dict()), s.krun.snapshot()
    s.torch.load_state_dict(torch_start)
    s.krun.restore(keras_start)
    try:
        refs = s.references()
    finally:
        s.torch.load_state_dict(trained_torch)
        s.krun.restore(trained_keras)
    if refs is None:
        return None
    o64, t64 = refs  # (original, translation)
    b64 = [([_f64(a) for a in xs], _f64(y)) for xs, y in batches]
    o = train_side(o64, s.device.torch, f_orig, b64, request, "float64")
    t = train_side(t64, s.device.torch, f_trans, b64, request, "float64")
    if o.error or t.error:
        s.reference_error = f"a float64 training run raised {o.error or t.error}"
    return o, t


def _f64(a: np.ndarray) -> np.ndarray:
    return a.astype(np.float64) if a.dtype.kind == "f" else a
