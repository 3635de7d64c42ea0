"""verify(): build both models, transfer the weights, compare them on drawn inputs.

Phases (phases.py), each on Hypothesis-drawn inputs, stopping at the first that fails:
inference, then training (outputs, gradients, one SGD step). A failure is shrunk to a minimal
input, then localised to the first diverging submodule (diagnose.py).

With ``timeout`` (or ``isolate=True``; the command line always) all of it runs in a child
process (isolation.py): user code that exits, hangs or crashes cannot end or block the caller.
"""

from __future__ import annotations

import contextlib
import json
import time
import traceback
from typing import Any

from ..directions import TF_TO_TORCH
from . import progress
from .backend import frameworks, torch_beside_tensorflow
from .compare import NOISE_FACTOR
from .diagnose import short, transfer_failed, translation_crashed
from .direction import detect_direction
from .execution import KerasExecutor
from .loading import LoadError
from .phases import GRAD_ATOL_FACTOR, phase_inference, phase_training
from .report import EQUIVALENT, ERROR, NOT_EQUIVALENT, PhaseResult, VerifyReport
from .search import NothingRuns
from .session import (  # noqa: F401
    Session,
    SessionRequest,
    SetupError,
    TransferFailed,
    TranslationCrashed,
    build_session,
    choose_session_device,
    sample_inputs,
)
from .spec import SpecError
from .training import TrainingSetupError

DEFAULT_TOL = {False: (1e-4, 1e-5), True: (1e-10, 1e-10)}  # float64 -> (rtol, atol)


def verify(
    original,
    translated,
    entry: str,
    args=(),
    kwargs=None,
    input_shape=None,
    input_dtype=None,
    input_range=None,
    examples: int = 20,
    float64: bool = False,
    rtol=None,
    atol=None,
    device: str = "auto",
    seed: int = 0,
    check_training: bool = True,
    check_gradients: bool = True,
    timeout: float | None = None,
    isolate: bool | None = None,
    train_steps: int | None = None,
    optimizer: str | None = None,
    loss: str | None = None,
    scheduler: str | None = None,
    steps_per_epoch: int | None = None,
    target_shape: str | None = None,
    target_dtype: str | None = None,
    target_range: str | None = None,
) -> VerifyReport:
    """Numerically compare ``entry`` of the torch file ``original`` with the same entry of its
    Keras translation ``translated``. Never raises for a model problem: see the report's status.

    ``timeout`` (seconds, for the whole run) runs it in a child process, killed when the time is
    up (status "error", the reason says in which stage); ``isolate=True`` does so without a limit.
    In a child, nothing the user's code does (sys.exit, os._exit, a crash, prints) reaches the
    caller; ``report.output`` holds what it printed. In-process, a SystemExit raised by the user's
    code is still reported as "could not run" (status "error"), never passed on.

    ``train_steps`` (training mode, training.py): in place of the phases, ``train_steps`` steps
    of the optimizer, loss and scheduler that the factories named ``optimizer``, ``loss`` and
    ``scheduler`` make in each file (``make_optimizer(model)``, ``make_loss()``,
    ``make_scheduler(optimizer)``, stepped after every ``steps_per_epoch`` steps), the loss and
    every parameter and state tensor compared after each step; targets per ``target_shape``,
    ``target_dtype``, ``target_range`` (default: float, shaped like the output)."""
    training: dict[str, Any] | None = (
        None
        if train_steps is None
        else {
            "train_steps": train_steps,
            "optimizer": optimizer,
            "loss": loss,
            "scheduler": scheduler,
            "steps_per_epoch": steps_per_epoch,
            "target_shape": target_shape,
            "target_dtype": target_dtype,
            "target_range": target_range,
        }
    )
    if isolate or (isolate is None and timeout is not None):
        from .isolation import run_isolated

        request = {
            "original": str(original),
            "translated": str(translated),
            "entry": entry,
            "args": tuple(args or ()),
            "kwargs": dict(kwargs or {}),
            "input_shape": input_shape,
            "input_dtype": input_dtype,
            "input_range": input_range,
            "examples": examples,
            "float64": float64,
            "rtol": rtol,
            "atol": atol,
            "device": device,
            "seed": seed,
            "check_training": check_training,
            "check_gradients": check_gradients,
            **(training or {}),
        }
        return run_isolated(request, timeout)
    rtol = DEFAULT_TOL[float64][0] if rtol is None else rtol
    atol = DEFAULT_TOL[float64][1] if atol is None else atol
    report = VerifyReport(
        tolerances={
            "rtol": rtol,
            "atol": atol,
            "gradient_atol": atol * GRAD_ATOL_FACTOR,
            **({} if float64 else {"rounding_factor": NOISE_FACTOR}),
        },
        precision="float64" if float64 else "float32",
    )
    clock = _Clock(report.timings)
    try:
        progress.stage(progress.FRAMEWORKS, progress.FRAMEWORKS)
        with clock("import"):
            frameworks()
        with torch_beside_tensorflow(), clock("setup"):
            s = open_session(
                report,
                SessionRequest(
                    original=original,
                    translated=translated,
                    entry=entry,
                    args=tuple(args or ()),
                    kwargs=dict(kwargs or {}),
                    input_shape=input_shape,
                    input_dtype=input_dtype,
                    input_range=input_range,
                    float64=float64,
                    device=device,
                    seed=seed,
                    rtol=rtol,
                    atol=atol,
                ),
            )
        if s.lossy:
            report.notes.append(
                "not compared one to one after the step (merged in Keras): " + ", ".join(sorted(s.lossy))
            )
        report.transferred = s.transferred
        report.phases.append(PhaseResult("transfer", True, message=f"{s.transferred['tensors']} tensors"))
        report.timings["keras_compile_in_setup"] = s.executor.compile_time  # the dry run's
        ok = True
        if training is not None:
            from .training import TrainingRequest, run_training

            train = TrainingRequest(
                steps=int(training["train_steps"]),
                **{k: v for k, v in training.items() if k != "train_steps"},
            )
            with torch_beside_tensorflow(), clock("train_steps"), s.device.scope():
                run_training(report, s, train, original, translated, input_shape)
            check_training = False  # the training run replaces the phases
        else:
            progress.stage("running the inference phase")
            with torch_beside_tensorflow(), clock("inference"), s.device.scope():
                ok = phase_inference(report, s, examples)
        if ok and check_training:
            progress.stage("running the training phase")
            with torch_beside_tensorflow(), clock("training"), s.device.scope():
                phase_training(report, s, max(2, examples // 4), check_gradients)
        if report.status != NOT_EQUIVALENT:
            report.status = EQUIVALENT
        report.timings["torch_model"] = s.trun.model_time
        report.timings["keras_model"] = s.executor.run_time
        report.timings["keras_compile"] = s.executor.compile_time
        report.timings["float64_reference"] = s.reference_time  # measuring both models' rounding
        report.keras_execution = _execution_modes(s.executor)
        report.notes += s.executor.fallbacks
    except TranslationCrashed as exc:
        translation_crashed(report, exc.session, exc.sample, exc.error)
    except TransferFailed as exc:
        transfer_failed(report, exc.session, exc.error)
    except (LoadError, SpecError, SetupError, NothingRuns, TrainingSetupError) as exc:
        report.status, report.reason = ERROR, str(exc)
    except SystemExit as exc:  # the user's code called sys.exit(): could not run, never a pass
        report.status, report.reason = ERROR, progress.current().blame(progress.describe_exit(exc))
    except KeyboardInterrupt as exc:
        if not progress.in_child:
            raise  # in the caller's own process: the caller's Ctrl-C
        report.status, report.reason = ERROR, progress.current().blame(progress.describe_exit(exc))
    except Exception as exc:  # noqa: BLE001 - a verifier that cannot run says why, it does not crash
        report.status, report.reason = ERROR, f"internal error: {type(exc).__name__}: {short(exc)}"
        report.notes.append(traceback.format_exc(limit=-6))
    finally:
        report.timings["total"] = sum(
            v for k, v in report.timings.items() if k in ("import", "setup", "inference", "training", "train_steps")
        )
    return report


def open_session(report: VerifyReport, request: SessionRequest) -> Session:
    """Both models built, the weights transferred: the original's framework (verify/direction.py)
    decides which way (session.py: a torch original; session_keras.py: a Keras one)."""
    device = choose_session_device(report, request)
    if detect_direction(request.original, request.translated) is TF_TO_TORCH:
        from .session_keras import build_keras_session

        return build_keras_session(report, request, device)
    return build_session(report, request, device)


def _execution_modes(executor: KerasExecutor) -> str:
    modes = sorted({mode for mode, _ in executor._functions.values()})
    return ",".join(modes)


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
