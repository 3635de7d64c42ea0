"""What a PyTorch user does with a translated (Keras -> PyTorch) model, checked one thing at a time.

``check_torch_usage(build, x)`` builds the model with ``build()`` (no argument: a builder with
its defaults, or a ``functools.partial``), puts it in eval mode, runs it once on ``x`` for the
reference output, and then tries, each independently:

- ``no_global_hooks``: building left no process-wide module hook behind (the dicts of
  ``torch.nn.modules.module``: forward / pre-forward / backward / registration hooks); what a
  build leaves is removed again right after it, so that it cannot disturb the other checks or
  later models of the process;
- ``deepcopy``: ``copy.deepcopy(model)`` gives the same outputs;
- ``save_load``: ``torch.save(model, BytesIO)`` and ``torch.load(..., weights_only=False)``
  give a model with the same outputs (the translated module must be importable by name:
  ``import_translation`` registers it in ``sys.modules``);
- ``state_dict``: a freshly built model (never called) takes ``model.state_dict()`` with
  ``load_state_dict`` (strict) and then gives the same outputs;
- ``param_count``: a freshly built model, never called, can count its parameters
  (``sum(p.numel() ...)``) and the count is the called model's;
- ``jit_script``: ``torch.jit.script(model)`` compiles and gives the same outputs;
- ``export``: ``torch.export.export(model, (x,))`` and the exported program's module gives
  the same outputs;
- ``compile``: ``torch.compile(model, backend="eager")`` (Dynamo's graph capture, no code
  generation) runs and gives the same outputs.

It returns ``{check: "ok" | "ExceptionType: first line of the message"}``. Used by
benchmarks/torch_usability.py and tests/tf_to_torch/test_tf_torch_usability.py. Needs torch.
"""

from __future__ import annotations

import copy
import importlib.util
import io
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHECKS = (
    "no_global_hooks",
    "deepcopy",
    "save_load",
    "state_dict",
    "param_count",
    "jit_script",
    "export",
    "compile",
)

HOOK_DICTS = (  # the process-wide hooks of torch.nn.modules.module
    "_global_forward_hooks",
    "_global_forward_pre_hooks",
    "_global_backward_hooks",
    "_global_backward_pre_hooks",
    "_global_module_registration_hooks",
    "_global_parameter_registration_hooks",
    "_global_buffer_registration_hooks",
)


def import_translation(path: str | Path, name: str) -> Any:
    """The module at ``path``, imported as ``name`` and registered in ``sys.modules`` (so that
    pickling its classes, as ``torch.save(model)`` does, finds them again)."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def make_input(shape: tuple[int, ...], dtype: str | None = None, value_range: str | None = None, seed: int = 0):
    """A fixed input of ``shape``: uniform floats in [-1, 1), or integers in ``value_range`` ("lo,hi")."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    if dtype and dtype.startswith("int"):
        low, high = (int(v) for v in (value_range or "0,10").split(","))
        return torch.randint(low, high, shape, generator=gen, dtype=getattr(torch, dtype))
    return torch.rand(shape, generator=gen) * 2 - 1


def _hooks() -> dict[str, dict]:
    from torch.nn.modules import module as torch_module

    return {name: dict(getattr(torch_module, name)) for name in HOOK_DICTS}


def _restore(snapshot: dict[str, dict]) -> list[str]:
    """Removes the hooks added since ``snapshot``; returns what was left, as text."""
    from torch.nn.modules import module as torch_module

    left = []
    for name, before in snapshot.items():
        now = getattr(torch_module, name)
        added = [k for k in now if k not in before]
        if added:
            left.append(f"{len(added)} in {name}")
            for key in added:
                del now[key]
    return left


def _error(exc: BaseException) -> str:
    """``Type: first line``, and the next line too when the first only announces it (ends with ':'),
    unless that is a source location (TorchScript's ``File "...", line N``)."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    text = lines[0] if lines else ""
    if len(lines) > 1 and text.endswith(":") and not lines[1].startswith("File "):
        text += " " + lines[1]
    return f"{type(exc).__name__}: {text[:200]}".rstrip(": ")


def _same(got, expected) -> None:
    import torch

    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def check_torch_usage(build: Callable[[], Any], x) -> dict[str, str]:
    """``{check: "ok" | error}`` for each of ``CHECKS`` (see the module docstring)."""
    import torch

    results: dict[str, str] = {}
    leaks: list[str] = []

    def fresh():
        snapshot = _hooks()
        try:
            return build()
        finally:
            leaks.extend(_restore(snapshot))

    model = fresh()
    results["no_global_hooks"] = "ok" if not leaks else "hooks left after building: " + ", ".join(leaks)
    model.eval()
    with torch.no_grad():
        expected = model(x)

    def step(name: str, fn: Callable[[], None]) -> None:
        try:
            with torch.no_grad():
                fn()
            results[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - reported, that is the point
            results[name] = _error(exc)

    def deepcopy():
        _same(copy.deepcopy(model)(x), expected)

    def save_load():
        buffer = io.BytesIO()
        torch.save(model, buffer)
        buffer.seek(0)
        _same(torch.load(buffer, weights_only=False)(x), expected)

    def state_dict():
        other = fresh()
        other.load_state_dict(model.state_dict())
        other.eval()
        _same(other(x), expected)

    def param_count():
        count = sum(p.numel() for p in fresh().parameters())
        built = sum(p.numel() for p in model.parameters())
        if count != built:
            raise AssertionError(f"{count} parameters before the first call, {built} after")

    def jit_script():
        try:
            _same(torch.jit.script(model)(x), expected)
        finally:
            # a failed script leaves half-compiled classes behind, and the next model with the same
            # classes would fail on them ("Can't redefine method"), not on its own code
            torch.jit._state._clear_class_state()
            torch.jit._recursive.concrete_type_store = torch.jit._recursive.ConcreteTypeStore()

    def export():
        _same(torch.export.export(model, (x,)).module()(x), expected)

    def compile_():
        try:
            _same(torch.compile(model, backend="eager")(x), expected)
        finally:
            torch._dynamo.reset()

    step("deepcopy", deepcopy)
    step("save_load", save_load)
    step("state_dict", state_dict)
    step("param_count", param_count)
    step("jit_script", jit_script)
    step("export", export)
    step("compile", compile_)
    leaks.clear()
    return {name: results[name] for name in CHECKS}
