"""A translated Keras builder leaves no process-wide state behind: the functional tracer
(support_functional.py) registers module hooks for every torch module in the process while a
builder runs, so each trace must be closed when the builder is done — also when a keras.Input
only declared a Sequential's input size (the mlp sample), which once left the hooks in place
and slowed unrelated torch models down."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from helpers import translate_and_exec

SAMPLES = sorted((Path(__file__).resolve().parents[2] / "samples" / "tf").glob("*.py"))


def _builders(namespace: dict, source: str) -> list:
    """The sample's own public functions whose parameters all have defaults."""
    out = []
    for name, value in namespace.items():
        if name.startswith("_") or not inspect.isfunction(value) or f"def {name}(" not in source:
            continue
        params = inspect.signature(value).parameters.values()
        if all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
            out.append(value)
    return out


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_builders_leave_no_hooks(sample):
    from torch.nn.modules import module as torch_module

    namespace, _ = translate_and_exec(sample.read_text(), "torch", filename=str(sample))
    builders = _builders(namespace, sample.read_text())
    assert builders, "the sample has a builder to call"
    for build in builders:
        model = build()
        assert isinstance(model, torch.nn.Module)
        assert not torch_module._global_forward_hooks, f"{build.__name__} left forward hooks"
        assert not torch_module._global_forward_pre_hooks, f"{build.__name__} left forward pre-hooks"
        trace = namespace.get("_Trace")
        assert trace is None or not trace.stack, f"{build.__name__} left a trace open"
