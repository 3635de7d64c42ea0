"""Checkpoint conversion: a torch state_dict (.pt) <-> a Keras weights file (.weights.h5).

Both models are built from their source files (the same entry and arguments), the Keras one
by a dry run on a sample input, then the weights move through transfer.py. Only tensors move:
nothing of the checkpoint is executed (torch.load with weights_only=True).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KERAS_SUFFIX = ".weights.h5"
TORCH_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt")


class CheckpointError(Exception):
    pass


@dataclass
class Converted:
    source: str
    destination: str
    direction: str  # "torch_to_keras" | "keras_to_torch"
    tensors: int

    def describe(self) -> str:
        return f"{self.source} -> {self.destination}: {self.tensors} tensors ({self.direction.replace('_', ' ')})"


def direction_of(source: str | Path, destination: str | Path) -> str:
    src, dst = str(source), str(destination)
    if src.endswith(TORCH_SUFFIXES) and dst.endswith(KERAS_SUFFIX):
        return "torch_to_keras"
    if src.endswith(KERAS_SUFFIX) and dst.endswith(TORCH_SUFFIXES):
        return "keras_to_torch"
    raise CheckpointError(
        f"convert a torch state_dict ({'/'.join(TORCH_SUFFIXES)}) to a Keras "
        f"{KERAS_SUFFIX} file or back; got {src} -> {dst}"
    )


def convert_checkpoint(
    original: str | Path,
    translated: str | Path,
    entry: str,
    source: str | Path,
    destination: str | Path,
    args: tuple = (),
    kwargs: dict | None = None,
    input_shape: str | None = None,
    input_dtype: str | None = None,
    input_range: str | None = None,
) -> Converted:
    from ..directions import TF_TO_TORCH
    from ..verify.backend import choose_device, frameworks
    from ..verify.core import sample_inputs
    from ..verify.direction import detect_direction
    from ..verify.execution import KerasExecutor
    from ..verify.interface import KerasInterface
    from ..verify.loading import build_entry
    from .transfer import build_by_dry_run, keras_to_torch, torch_to_keras

    direction = direction_of(source, destination)
    if detect_direction(original, translated) is TF_TO_TORCH:
        return _convert_keras_original(
            original,
            translated,
            entry,
            source,
            destination,
            args,
            kwargs,
            input_shape,
            input_dtype,
            input_range,
            direction,
        )
    torch, _, keras = frameworks()
    device = choose_device("cpu")
    tmodel = build_entry(original, entry, args, kwargs)
    if not isinstance(tmodel, torch.nn.Module):
        raise CheckpointError(f"{entry} in {original} is not a torch.nn.Module")
    tmodel.eval()
    sample = sample_inputs(tmodel, input_shape, input_dtype, input_range)
    with device.scope():
        kmodel = build_entry(translated, entry, args, kwargs)
        if not isinstance(kmodel, keras.layers.Layer):
            raise CheckpointError(f"{entry} in {translated} is not a Keras layer or model")
        _torch_dry_run(tmodel, sample)
        # the kernels are the same whatever the interface (--layout): only the dry run's input moves
        build_by_dry_run(kmodel, sample, KerasExecutor(device), interface=KerasInterface.of(translated, kmodel))
        if direction == "torch_to_keras":
            state = _load_state_dict(Path(source))
            missing, unexpected = tmodel.load_state_dict(state, strict=False)
            if missing or unexpected:
                raise CheckpointError(
                    f"{source} does not fit {entry}: missing {list(missing)[:5]}, unexpected {list(unexpected)[:5]}"
                )
            plan = torch_to_keras(tmodel, kmodel)
            _save_keras(kmodel, Path(destination))
        else:
            _load_keras(kmodel, Path(source), f"{entry} in {translated}")
            plan = keras_to_torch(kmodel, tmodel)
            Path(destination).parent.mkdir(parents=True, exist_ok=True)
            torch.save(tmodel.state_dict(), str(destination))
    return Converted(str(source), str(destination), direction, plan.tensor_count)


def _convert_keras_original(
    original,
    translated,
    entry,
    source,
    destination,
    args,
    kwargs,
    input_shape,
    input_dtype,
    input_range,
    direction: str,
) -> Converted:
    """The original is Keras, the translation torch (``--to torch``): the same conversions, the
    Keras model's structure driving the transfer (from_keras.py)."""
    from ..verify.backend import choose_device, frameworks
    from ..verify.execution import KerasExecutor
    from ..verify.loading import build_entry
    from ..verify.session import sample_case
    from ..verify.session_keras import infer_keras_spec
    from ..verify.spec import parse_shape
    from ..verify.strategies import realise
    from .from_keras import keras_to_torch_model, torch_to_keras_model
    from .transfer import build_by_dry_run

    torch, _, keras = frameworks()
    device = choose_device("cpu")
    with device.scope():
        kmodel = build_entry(original, entry, args, kwargs)
    if not isinstance(kmodel, keras.layers.Layer):
        raise CheckpointError(f"{entry} in {original} is not a Keras layer or model")
    tmodel = build_entry(translated, entry, args, kwargs)
    if not isinstance(tmodel, torch.nn.Module):
        raise CheckpointError(f"{entry} in {translated} is not a torch.nn.Module")
    tmodel.eval()
    spec = parse_shape(input_shape, input_dtype, input_range) if input_shape else infer_keras_spec(kmodel)
    sample = realise(spec, sample_case(spec))
    with device.scope():
        build_by_dry_run(kmodel, sample, KerasExecutor(device))
        with torch.no_grad():  # always: Lazy modules and parameters a build() makes on the first call
            tmodel(*(torch.as_tensor(a) for a in sample))
        if direction == "torch_to_keras":
            state = _load_state_dict(Path(source))
            missing, unexpected = tmodel.load_state_dict(state, strict=False)
            if missing or unexpected:
                raise CheckpointError(
                    f"{source} does not fit {entry}: missing {list(missing)[:5]}, unexpected {list(unexpected)[:5]}"
                )
            plan = torch_to_keras_model(tmodel, kmodel)
            _save_keras(kmodel, Path(destination))
        else:
            _load_keras(kmodel, Path(source), f"{entry} in {original}")
            plan = keras_to_torch_model(kmodel, tmodel)
            Path(destination).parent.mkdir(parents=True, exist_ok=True)
            torch.save(tmodel.state_dict(), str(destination))
    return Converted(str(source), str(destination), direction, plan.tensor_count)


def _torch_dry_run(tmodel: Any, sample: list) -> None:
    """Materialises lazy modules (their shapes come from the first input)."""
    import torch
    from torch.nn.modules.lazy import LazyModuleMixin

    if any(isinstance(m, LazyModuleMixin) and m.has_uninitialized_params() for m in tmodel.modules()):
        with torch.no_grad():
            tmodel(*(torch.as_tensor(a) for a in sample))


def _load_state_dict(path: Path) -> dict:
    import torch

    if not path.is_file():
        raise CheckpointError(f"{path} does not exist" if not path.exists() else f"{path} is not a file")
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - corrupt file, pickled objects...
        if "weights_only" in str(exc) or "Weights only load failed" in str(exc):
            raise CheckpointError(
                f"{path} holds pickled Python objects, not only tensors: it is not read "
                f"(save model.state_dict() instead)"
            ) from None
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint (truncated or corrupt)") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]  # common training-checkpoint wrapper
    if not isinstance(state, dict):
        raise CheckpointError(f"{path} holds a {type(state).__name__}, not a state_dict")
    return state


def _save_keras(kmodel: Any, path: Path) -> None:
    from keras.src.saving import saving_lib

    path.parent.mkdir(parents=True, exist_ok=True)
    saving_lib.save_weights_only(kmodel, str(path))  # Model.save_weights does this; a Layer has none


def _load_keras(kmodel: Any, path: Path, what: str) -> None:
    """``what``: the model, for messages ("Net in net_tf.py")."""
    from keras.src.saving import saving_lib

    if not path.is_file():
        raise CheckpointError(f"{path} does not exist")
    try:
        saving_lib.load_weights_only(kmodel, str(path))
    except ValueError as exc:  # Keras: layers the file has no weights for, shapes that differ
        text = str(exc)
        listed = text.rsplit("could not be loaded:", 1)[-1] if "could not be loaded" in text else ""
        names = re.findall(r"<(\w+) name=([^,>]+)", listed)
        if names:
            paths = _layer_paths(kmodel)
            missing = ", ".join(f"{paths.get(name, name)} ({cls})" for cls, name in names[:8])
            raise CheckpointError(
                f"{path} does not fit {what}: it has no weights for {len(names)} layer(s): "
                f"{missing}{' ...' if len(names) > 8 else ''}"
            ) from None
        lines = [line for line in text.splitlines() if line.strip()]
        raise CheckpointError(f"{path} does not fit {what}: {lines[0] if lines else type(exc).__name__}") from None
    except Exception as exc:  # noqa: BLE001 - h5py/zip: not a weights file, truncated...
        raise CheckpointError(
            f"{path} is not a readable Keras weights file (truncated or corrupt): {type(exc).__name__}"
        ) from None


def _layer_paths(kmodel: Any) -> dict[str, str]:
    """Keras layer name ("dense_1") -> the attribute path that holds it ("head.out")."""
    import keras

    found: dict[str, str] = {}
    seen: set[int] = set()

    def visit(obj: Any, path: str) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, keras.layers.Layer):
            if path:
                found.setdefault(obj.name, path)
            children = [(k, v) for k, v in vars(obj).items() if not k.startswith("_")]
            if not children and hasattr(obj, "layers"):
                children = [(f"layers[{i}]", v) for i, v in enumerate(obj.layers)]
            for key, value in children:
                visit(value, f"{path}.{key}" if path else key)
        elif isinstance(obj, (list, tuple)):
            for i, value in enumerate(obj):
                visit(value, f"{path}[{i}]")
        elif isinstance(obj, dict):
            for key, value in obj.items():
                visit(value, f"{path}[{key!r}]")

    visit(kmodel, "")
    return found
