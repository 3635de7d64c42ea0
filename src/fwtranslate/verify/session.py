"""Building both models and making them comparable (the verifier's setup).

Import and build the original and the translation, put torch in eval mode, randomise its
weights, dry-run the Keras model (which creates its variables) and transfer the weights.
"""

from __future__ import annotations

import contextlib
import copy
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..weights.transfer import TransferError, torch_to_keras
from .backend import Device, choose_device, floatx, frameworks
from .execution import KerasExecutor, ReferenceExecutor
from .infer import infer_spec
from .interface import KerasInterface
from .keras_runner import KerasReferenceRunner, KerasRunner
from .loading import build_entry
from .localize import class_names
from .progress import stage
from .randomize import dropout_off, keras_dropout_off, randomize
from .spec import InputSpec, parse_shape, with_precision
from .strategies import Case, realise
from .torch_runner import TorchRunner


class SetupError(Exception):
    """The comparison cannot start (exit 2)."""


class Session:
    """Both models, ready to compare."""

    # the original is Keras and the translation torch (session_keras.py builds those)
    keras_original = False

    def __init__(
        self,
        torch_model,
        keras_model,
        spec: InputSpec,
        device,
        executor,
        seed: int,
        rtol,
        atol,
        krun: KerasRunner | None = None,
        classes: dict | None = None,
        interface: KerasInterface | None = None,
    ):
        self.torch, self.keras, self.spec = torch_model, keras_model, spec
        self.device, self.executor, self.seed, self.rtol, self.atol = device, executor, seed, rtol, atol
        self.trun = TorchRunner(torch_model, device.torch)
        self.keras_interface = interface or KerasInterface()  # --layout keras, class contracts
        self.krun = krun or KerasRunner(
            keras_model, executor, copy.deepcopy(torch_model), interface=self.keras_interface
        )
        self.classes = classes if classes is not None else class_names(torch_model, keras_model)
        self.paths: dict[str, str] = {}  # torch path -> Keras path (a Keras original's layers)
        self.lossy: set[str] = set()  # tensors the Keras side stores merged (LSTM's two biases)
        self._references = None  # both models in float64 (references()), to measure their rounding
        self.reference_error: str | None = None  # why they could not be built or run
        self.reference_time = 0.0  # seconds building and running them
        self.dropout_is_off = False  # the training phases switched dropout off: the copies too
        self.keras_build: tuple | None = None  # (file, entry, args, kwargs, sample): to rebuild the Keras model
        self.transferred: dict[str, int] = {}

    @property
    def original(self):
        """The runner of the original model (torch or Keras), the reference of every comparison."""
        return self.krun if self.keras_original else self.trun

    @property
    def translation(self):
        return self.trun if self.keras_original else self.krun

    def references(self):
        """(original, translation), each in float64 with the weights of its float32 model: the
        torch model cast to double, the Keras model rebuilt under floatx float64 (as ``--float64``
        builds it) and given the float32 model's variables. Built on first use; None in a float64
        session, or when they cannot be built (``reference_error`` says why). Both run like a
        TorchRunner (``forward(arrays, training)``, ``train_step(arrays, lr, seed, projections)``),
        results in torch names and layouts; arrays and projections in float64."""
        if self._references is None and self.reference_error is None and not self.is_float64():
            try:
                torch64 = TorchRunner(copy.deepcopy(self.torch).double(), self.device.torch)
                keras64 = self._keras_float64()
                self._references = (keras64, torch64) if self.keras_original else (torch64, keras64)
            except Exception as exc:  # noqa: BLE001 - the comparison goes on, held to rtol/atol only
                text = str(exc).strip().splitlines()
                self.reference_error = (
                    f"the float64 copies could not be built: {type(exc).__name__}: {text[0][:300] if text else ''}"
                )
        if self._references is not None and self.dropout_is_off:
            for r in self._references:
                (keras_dropout_off if isinstance(r, KerasReferenceRunner) else dropout_off)(r.model)
        return self._references

    def is_float64(self) -> bool:
        import torch

        return any(v.dtype == torch.float64 for v in self.torch.state_dict().values())

    def keras_transfer(self):
        """Keras values -> torch names and layouts, for the float64 Keras copy (its shadow)."""
        return None  # the translation's converters (keras_to_torch)

    def _keras_float64(self) -> KerasReferenceRunner:
        _, _, keras = frameworks()
        path, entry, args, kwargs, sample = self.keras_build
        device = self.device

        def scope64():
            stack = contextlib.ExitStack()
            stack.enter_context(floatx("float64"))
            stack.enter_context(device.scope())
            return stack

        with scope64():
            model = build_entry(path, entry, args, kwargs, before_build=scope64)
        if not isinstance(model, keras.layers.Layer):
            raise SetupError(f"{entry} built a {type(model).__name__} the second time")
        runner = KerasReferenceRunner(
            model,
            ReferenceExecutor(device),
            copy.deepcopy(self.torch).double(),
            to_torch=self.keras_transfer(),
            interface=self.keras_interface,
        )
        with device.scope(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*does not have a `build\\(\\)` method.*")
            runner.forward([a.astype(np.float64) if a.dtype.kind == "f" else a for a in sample], training=False)
        ours, theirs = list(self.keras.variables), list(model.variables)
        if [tuple(v.shape) for v in ours] != [tuple(v.shape) for v in theirs]:
            raise SetupError("the float64 rebuild of the Keras model has other variables than the float32 one")
        for v32, v64 in zip(ours, theirs):
            v64.assign(np.asarray(v32.numpy()).astype(v64.dtype))
        return runner

    def find_lossy(self) -> set[str]:
        """Tensors that do not survive torch -> Keras -> torch: the translation merges them (an
        LSTM's bias_ih + bias_hh are one Keras bias). Their sum is checked by the forward
        comparisons; their gradients and updates cannot be compared one to one."""
        back = self.krun._in_torch_layout(params_only=False)
        ref = {k: v.detach().cpu().numpy() for k, v in self.torch.state_dict().items()}
        self.lossy = {
            k
            for k, v in ref.items()
            if k in back and np.issubdtype(v.dtype, np.floating) and not np.allclose(back[k], v, rtol=1e-6, atol=1e-7)
        }
        return self.lossy


class TranslationCrashed(Exception):
    """The translation raised during its dry run (not equivalent: it does not run)."""

    def __init__(self, session: Session, sample: list, error: Exception):
        super().__init__(str(error))
        self.session, self.sample, self.error = session, sample, error


class TransferFailed(Exception):
    """The weights do not fit the translation (not equivalent)."""

    def __init__(self, session: Session, error: TransferError):
        super().__init__(str(error))
        self.session, self.error = session, error


# --- setup ----------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class SessionRequest:
    """What to build and compare: ``verify``'s arguments, tolerances resolved."""

    original: str | Path
    translated: str | Path
    entry: str
    args: tuple = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    input_shape: str | None = None
    input_dtype: str | None = None
    input_range: str | None = None
    float64: bool = False
    device: str = "auto"  # what was asked for ("auto", "cpu", "gpu"): choose_session_device decides
    seed: int = 0
    rtol: float
    atol: float


def choose_session_device(report, request: SessionRequest) -> Device:
    """The device both models run on (recorded in the report); seeds torch."""
    torch, _, _ = frameworks()
    try:
        device = choose_device(request.device)
    except ValueError as exc:
        raise SetupError(str(exc)) from None
    report.device = device.kind
    torch.manual_seed(request.seed)
    return device


def build_session(report, request: SessionRequest, device: Device) -> Session:
    """The torch original and its Keras translation (session_keras.py: the other way round).
    Raises SetupError / LoadError / SpecError (cannot run), TranslationCrashed or
    TransferFailed (not equivalent)."""
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
    sample = realise(spec, sample_case(spec))
    trun = TorchRunner(tmodel, device.torch)
    stage(f"running {entry} from {original} on a sample input", f"{original}: {entry}")
    _materialise_lazy(tmodel, trun, sample)
    randomize(tmodel, seed)
    try:
        trun.forward(sample, training=False)
    except Exception as exc:
        raise SetupError(
            f"the original model raised on a sample input of shape "
            f"{[list(a.shape) for a in sample]}: {type(exc).__name__}: {exc}"
        ) from exc

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
        interface = KerasInterface.of(translated, kmodel)
        session = Session(tmodel, kmodel, spec, device, executor, seed, rtol, atol, interface=interface)
        stage(f"running {entry} from {translated} on a sample input", f"{translated}: {entry}")
        try:
            with warnings.catch_warnings():
                # "build() was called on a layer without build()": this call is what builds it
                warnings.filterwarnings("ignore", message=".*does not have a `build\\(\\)` method.*")
                session.krun.forward(sample, training=False)  # compiled once, reused by the phases
        except Exception as exc:
            raise TranslationCrashed(session, sample, exc) from exc
        try:
            plan = torch_to_keras(tmodel, kmodel)
        except TransferError as exc:
            raise TransferFailed(session, exc) from exc
    session.keras_build = (translated, entry, args, kwargs, sample)
    session.find_lossy()
    session.transferred = {
        "tensors": plan.tensor_count,
        "steps": len(plan.steps),
        "elements": int(sum(p.numel() for p in tmodel.state_dict().values())),
    }
    return session


def sample_inputs(torch_model, input_shape=None, input_dtype=None, input_range=None, float64: bool = False):
    """One deterministic input for a dry run: from the shape given, or inferred from the model."""
    spec = parse_shape(input_shape, input_dtype, input_range) if input_shape else infer_spec(torch_model)
    spec = with_precision(spec, float64)
    return realise(spec, sample_case(spec))


def sample_case(spec: InputSpec) -> Case:
    """The fixed case of a dry run: the smallest sizes allowed (at least 2), fixed seeds."""
    sizes = tuple((name, min(max(low, 2), high)) for name, (low, high) in spec.free_dims().items())
    return Case(sizes, tuple(("uniform", 1234 + i, 0.5) for i in range(len(spec.tensors))))


def _materialise_lazy(tmodel, trun: TorchRunner, sample) -> None:
    from torch.nn.modules.lazy import LazyModuleMixin

    if any(isinstance(m, LazyModuleMixin) and m.has_uninitialized_params() for m in tmodel.modules()):
        try:
            trun.forward(sample, training=False)
        except Exception as exc:
            raise SetupError(f"the torch dry run that materialises lazy modules failed: {exc}") from exc
