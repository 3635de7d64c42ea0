"""Setup when the ORIGINAL is Keras and the translation PyTorch (``fwtranslate x.py --to torch``).

The mirror of session.build_session: build the Keras original and dry-run it (its variables
exist after the first call), randomise its weights (BatchNorm moving statistics too), dry-run
the torch translation on the same input (Lazy modules get their parameters on the first call),
then copy the Keras weights into it (weights/from_keras.py). Inputs are the Keras model's own
(channels last): the translation takes the same tensors.

Gradients and the parameters after an SGD step are compared in the translation's names and
layouts: the Keras values are moved into a spare copy of the torch model (the "shadow") by the
same transfer.
"""

from __future__ import annotations

import contextlib
import copy
import warnings

import numpy as np

from ..weights.from_keras import MissingConverter, layer_pairs, plan_from_keras
from ..weights.transfer import TransferError, run_step
from .backend import Device, floatx, frameworks
from .execution import KerasExecutor
from .keras_runner import KerasRunner
from .loading import build_entry
from .localize import KerasRecorder
from .progress import stage
from .randomize import randomize, randomize_keras
from .session import Session, SessionRequest, SetupError, TransferFailed, TranslationCrashed, sample_case
from .spec import BATCH_RANGE, Dim, InputSpec, SpecError, TensorSpec, parse_shape, with_precision
from .strategies import realise


class KerasOriginalSession(Session):
    keras_original = True

    def find_lossy(self) -> set[str]:
        """Tensors that do not survive torch -> Keras -> torch through the converters (an LSTM's
        two torch biases are one Keras bias): their gradients and updates cannot be compared one
        to one (their sum is, through the outputs)."""
        import torch

        saved = self.krun.snapshot()
        probe = copy.deepcopy(self.torch)
        randomize(probe, self.seed + 1)
        back = copy.deepcopy(probe)
        try:
            plan = plan_from_keras(self.keras, probe)
            for step in plan.steps:
                step.to_keras()
            plan_back = plan_from_keras(self.keras, back)
            for step in plan_back.steps:
                step.to_torch()
        except Exception:  # noqa: BLE001 - a converter without torch_to_keras: compare everything
            return self.lossy
        finally:
            self.krun.restore(saved)
        ref, got = probe.state_dict(), back.state_dict()
        self.lossy = {
            k
            for k, v in ref.items()
            if isinstance(v, torch.Tensor)
            and v.is_floating_point()
            and not np.allclose(got[k].detach().cpu().numpy(), v.detach().cpu().numpy(), rtol=1e-6, atol=1e-7)
        }
        return self.lossy

    def keras_transfer(self):
        return _CachedTransfer()


class _CachedTransfer:
    """keras -> shadow through one plan (the shadow is always the same object)."""

    def __init__(self):
        self.plans: dict[tuple[int, int], object] = {}

    def __call__(self, keras_model, shadow):
        key = (id(keras_model), id(shadow))
        if key not in self.plans:
            self.plans[key] = plan_from_keras(keras_model, shadow)
        for step in self.plans[key].steps:
            step.to_torch()


def build_keras_session(report, request: SessionRequest, device: Device) -> Session:
    """The Keras original and its torch translation (session.build_session: the other way round)."""
    torch, _, keras = frameworks()
    original, translated, entry, args, kwargs = (
        request.original,
        request.translated,
        request.entry,
        request.args,
        request.kwargs,
    )
    input_shape, input_dtype, input_range = request.input_shape, request.input_dtype, request.input_range
    float64, seed, rtol, atol = request.float64, request.seed, request.rtol, request.atol

    def keras_scope():
        stack = contextlib.ExitStack()
        stack.enter_context(floatx("float64" if float64 else "float32"))
        stack.enter_context(device.scope())
        return stack

    with floatx("float64" if float64 else "float32"), device.scope():
        kmodel = build_entry(original, entry, args, kwargs, before_build=keras_scope)
    if not isinstance(kmodel, keras.layers.Layer):
        raise SetupError(
            f"{entry} in {original} built a {type(kmodel).__name__}, not a Keras layer or model "
            f"(the original imports Keras)"
        )
    tmodel = build_entry(translated, entry, args, kwargs)
    if not isinstance(tmodel, torch.nn.Module):
        raise SetupError(
            f"{entry} in {translated} built a {type(tmodel).__name__}, not a torch.nn.Module "
            f"(the original is Keras: the translation must be PyTorch)"
        )
    tmodel = tmodel.to(device.torch)
    tmodel.eval()
    spec = parse_shape(input_shape, input_dtype, input_range) if input_shape else infer_keras_spec(kmodel)
    spec = with_precision(spec, float64)
    report.input_spec = spec.to_dict()
    sample = realise(spec, sample_case(spec))

    pairs = layer_pairs(kmodel, tmodel)
    classes = {n.torch_path: (type(n.module).__name__, type(n.layer).__name__) for n in pairs}
    executor = KerasExecutor(device)
    transfer = _CachedTransfer()
    krun = KerasRunner(
        kmodel,
        executor,
        None,
        recorder=KerasRecorder(None, kmodel, [(n.torch_path, n.layer) for n in pairs]),
        to_torch=transfer,
    )
    session = KerasOriginalSession(tmodel, kmodel, spec, device, executor, seed, rtol, atol, krun=krun, classes=classes)
    session.paths = {n.torch_path: n.keras_path for n in pairs}
    session.keras_build = (original, entry, args, kwargs, sample)
    stage(f"running {entry} from {original} on a sample input", f"{original}: {entry}")
    with device.scope():
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*does not have a `build\\(\\)` method.*")
                krun.forward(sample, training=False)  # builds the variables; compiled once for the phases
        except Exception as exc:
            raise SetupError(
                f"the original Keras model raised on a sample input of shape "
                f"{[list(a.shape) for a in sample]}: {type(exc).__name__}: {exc}"
            ) from exc
        randomize_keras(kmodel, seed)
    stage(f"running {entry} from {translated} on a sample input", f"{translated}: {entry}")
    try:
        # materialises the Lazy modules (they are created in torch's default float32)
        session.trun.forward([a.astype(np.float32) if a.dtype == np.float64 else a for a in sample], training=False)
    except Exception as exc:
        raise TranslationCrashed(session, sample, exc) from exc
    if float64:
        tmodel.double()
    try:
        plan = plan_from_keras(kmodel, tmodel)
        for step in plan.steps:
            run_step(step, step.to_torch)
    except MissingConverter as exc:
        raise SetupError(f"cannot transfer the weights: {exc}") from exc
    except TransferError as exc:
        raise TransferFailed(session, exc) from exc
    krun.shadow = copy.deepcopy(tmodel)
    session.find_lossy()
    session.transferred = {
        "tensors": plan.tensor_count,
        "steps": len(plan.steps),
        "elements": int(sum(int(np.prod(v.shape)) for v in kmodel.variables if v.name != "seed_generator_state")),
    }
    return session


def infer_keras_spec(model) -> InputSpec:
    """A Keras model that declared its inputs (keras.Input, a built Sequential) knows their
    shapes; a subclassed one does not: give --input-shape."""
    inputs = None
    with contextlib.suppress(Exception):
        inputs = model.inputs
    if not inputs:
        raise SpecError(
            f"cannot guess the input shape of {type(model).__name__} (a subclassed Keras model declares "
            f"no inputs): give --input-shape (channels last, as the Keras model takes it)"
        )
    tensors = []
    for t in inputs:
        shape = tuple(t.shape)
        dims = [Dim(None, "B", *BATCH_RANGE)]
        for i, d in enumerate(shape[1:]):
            dims.append(Dim(d) if d is not None else Dim(None, f"D{i + 1}", 4, 12))
        dtype = str(getattr(t.dtype, "name", t.dtype))
        if dtype.startswith("int"):
            raise SpecError(
                "cannot guess the range of integer inputs (token ids): give --input-shape, "
                "--input-dtype and --input-range"
            )
        tensors.append(TensorSpec(tuple(dims), dtype if dtype in ("float32", "float64") else "float32"))
    return InputSpec(tuple(tensors), inferred_from=f"the inputs declared by {type(model).__name__}")
