"""What a PyTorch user does with the translated Keras samples (issue 14), one test per sample
builder (samples/tf/samples.json) and check (fwtranslate.testing.torch_usage.CHECKS): no global
module hook left after building, deepcopy, torch.save + torch.load, load_state_dict into a fresh
model, parameter count before the first call, torch.jit.script, torch.export.export,
torch.compile(backend="eager"), each giving the model's own outputs.

What fails today is marked ``xfail(strict=True)`` with its reason: when the translator emits
nn.Module classes (builders lifted out of the functional tracer) and native modules instead of
lazy look-alikes, those tests pass, fail as XPASS, and their entry in KNOWN_FAILURES is deleted.
benchmarks/torch_usability.py prints the same matrix.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import fwtranslate
from fwtranslate.testing.torch_usage import CHECKS, check_torch_usage, import_translation, make_input
from fwtranslate.verify.loading import resolve_entry

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tf"
CASES = json.loads((SAMPLES / "samples.json").read_text())

LAZY = "Lazy modules (nn.LazyLinear, lazy look-alikes): uninitialized parameters before the first call"
KNOWN_FAILURES = {  # (file:entry, check) -> why it fails today
    ("mlp.py:build_mlp", "param_count"): LAZY,
    ("mlp.py:build_mlp", "jit_script"): "KerasLayerNormalization: keras_norm_axes(axis: int) is not scriptable",
    ("mlp.py:mlp_gelu", "param_count"): LAZY,
    ("transformer.py:TransformerClassifier", "state_dict"): "the `pos` weight is created on the first call (build())",
    ("transformer.py:TransformerClassifier", "param_count"): LAZY,
    ("transformer.py:TransformerClassifier", "jit_script"): "KerasMultiHeadAttention: tuple(query.shape[1:-1])",
    ("transformer.py:tiny_transformer", "state_dict"): "the `pos` weight is created on the first call (build())",
    ("transformer.py:tiny_transformer", "param_count"): LAZY,
    ("transformer.py:tiny_transformer", "jit_script"): "KerasMultiHeadAttention: tuple(query.shape[1:-1])",
    ("seq_tagger.py:build_tagger", "param_count"): LAZY,
    ("seq_tagger.py:build_tagger", "jit_script"): "KerasLSTM.forward: optional arguments typed as Tensor",
    ("seq_tagger.py:small_tagger", "param_count"): LAZY,
    ("seq_tagger.py:small_tagger", "jit_script"): "KerasLSTM.forward: optional arguments typed as Tensor",
}


def _name(case: dict) -> str:
    return f"{case['file']}:{case['entry']}"


def _params():
    for case in CASES:
        for check in CHECKS:
            why = KNOWN_FAILURES.get((_name(case), check))
            marks = [pytest.mark.xfail(strict=True, reason=why)] if why else []
            yield pytest.param(_name(case), check, marks=marks, id=f"{case['entry']}-{check}")


def test_known_failures_name_real_cases():
    names = {_name(c) for c in CASES}
    assert {(n, c) for n, c in KNOWN_FAILURES if n not in names or c not in CHECKS} == set()


@pytest.fixture(scope="module")
def usability(tmp_path_factory):
    """``usability(name)``: the checks' results of one sample builder, run once per module."""
    out = tmp_path_factory.mktemp("translated_usability")
    modules: dict = {}
    results: dict[str, dict[str, str]] = {}

    def get(name: str) -> dict[str, str]:
        if name not in results:
            case = next(c for c in CASES if _name(c) == name)
            if case["file"] not in modules:
                target = out / case["file"]
                translation = fwtranslate.translate_file(SAMPLES / case["file"], "torch", output=target)
                assert translation.ok, [d.format() for d in translation.diagnostics]
                modules[case["file"]] = import_translation(target, f"_fwtranslate_usability_{target.stem}")
            shape = tuple(int(n) for n in case["input_shape"].split(","))
            x = make_input(shape, case.get("input_dtype"), case.get("input_range"))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                results[name] = check_torch_usage(resolve_entry(modules[case["file"]], case["entry"]), x)
        return results[name]

    return get


@pytest.mark.parametrize(("name", "check"), list(_params()))
def test_translated_sample_works_in_pytorch(usability, name, check):
    result = usability(name)[check]
    assert result == "ok", result
