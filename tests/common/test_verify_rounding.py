"""The float32 allowance for rounding (compare.py): when a tensor fails rtol/atol, both models are
run again in float64 and the tensor may differ by the original's own float32 error plus the
translation's. A correct translation then passes at any depth, and a bug still fails."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("tensorflow")
pytest.importorskip("hypothesis")

import fwtranslate
from fwtranslate.verify import verify
from fwtranslate.verify.compare import compare_arrays, compare_trees
from fwtranslate.verify.core import dumps

ROOT = Path(__file__).resolve().parents[2]
DEEP = ROOT / "tests" / "fixtures" / "tf_pairs" / "deep_resnet_keras.py"
SAMPLES_TORCH = ROOT / "samples" / "torch"


# --- the allowance itself --------------------------------------------------------------------
def test_allowance_is_rtol_atol_plus_both_rounding_errors():
    ref = np.array([1.0, -2.0, 0.5])
    got = ref + np.array([0.0, 3e-3, 0.0])
    assert not compare_arrays("g", ref, got, 1e-4, 1e-5).ok
    d = compare_arrays("g", ref, got, 1e-4, 1e-5, noise=1e-3, noise_translation=1.9e-3)
    assert d.ok and not d.base_ok and d.needed_noise
    assert d.allowed == pytest.approx(1e-5 * 2 + 1e-4 * 2 + 1e-3 + 1.9e-3)
    assert not compare_arrays("g", ref, got, 1e-4, 1e-5, noise=1e-3, noise_translation=1e-3).ok
    out = d.to_dict()
    assert out["original_rounding_error"] == 1e-3 and out["translation_rounding_error"] == 1.9e-3
    assert out["within_rtol_atol"] is False
    # from float64 runs: the noise is measured; the float64 runs must agree to rtol/atol
    o64, t64 = ref + np.array([0.0, 1e-3, 0.0]), got - np.array([0.0, 1.9e-3, 0.0])
    d = compare_arrays("g", ref, got, 1e-4, 1e-5, exact=(o64, t64))
    assert d.ok and d.noise == pytest.approx(1e-3) and d.noise_translation == pytest.approx(1.9e-3)
    assert d.exact_gap == pytest.approx(1e-4, abs=1e-12)
    # a translation whose float64 run disagrees (dropout left on: its "rounding" is as large as it
    # likes) is not excused by its own noise
    d = compare_arrays("g", ref, got, 1e-4, 1e-5, exact=(ref, ref - np.array([0.0, 4e-3, 0.0])))
    assert not d.ok and "float64 runs differ" in d.message
    # per tensor, by path; a tensor without a float64 result gets no allowance
    diffs = compare_trees({"a": ref, "b": ref}, {"a": got, "b": got}, 1e-4, 1e-5, exact=({"a": o64}, {"a": t64}))
    assert [d.ok for d in diffs] == [True, False]


# --- a deep Keras original -------------------------------------------------------------------
@pytest.fixture(scope="module")
def deep(tmp_path_factory):
    out = tmp_path_factory.mktemp("deep") / "deep_torch.py"
    result = fwtranslate.translate_file(DEEP, "torch", output=out)
    assert not [d for d in result.diagnostics if d.severity == "error"]
    return out


def _deep(translated, **kwargs):
    kwargs.setdefault("examples", 2)
    return verify(DEEP, translated, "build", input_shape=(2, 16, 16, 3), **kwargs)


def test_deep_keras_original_passes_float32_gradients(deep):
    # graph mode's float32 gradients are closer than XLA's: tighter tolerances make the allowance needed
    report = _deep(deep, rtol=1e-6, atol=1e-7)
    assert report.equivalent, report.format_text()
    phases = {p.name: p for p in report.phases}
    assert {"inference", "training", "gradients", "step"} <= set(phases)
    noise = phases["gradients"].noise
    # rtol/atol alone do not hold: the allowance was needed, measured, and is reported
    assert noise["measured_on"] >= 1 and noise["passed_thanks_to_it"] >= 1, report.format_text()
    assert noise["largest_original_rounding_error"]["value"] > 0
    assert noise["largest_translation_rounding_error"]["value"] > 0
    text = report.format_text()
    assert "original's own float32 error" in text and "translation's" in text
    d = json.loads(dumps(report))
    grads = d["phases"]["gradients"]
    assert grads["rounding_noise"]["passed_thanks_to_it"] == noise["passed_thanks_to_it"]
    assert any("original_rounding_error" in r for r in grads["results"])
    assert report.timings["float64_reference"] > 0


def test_deep_keras_original_gradient_bug_is_caught(deep, tmp_path):
    """A straight-through ReLU in the last block: the forward pass is the same, every gradient
    upstream of it is not; the allowance for rounding does not hide it."""
    code = deep.read_text()
    old = "self.out = nn.ReLU()"  # in the class of one iteration of the builder's loop (i: its index)
    assert code.count(old) == 1
    code = code.replace(old, "self.out = _StraightThroughReLU() if i == 9 else nn.ReLU()")  # (depth 10)
    code += (
        "\n\nclass _StraightThroughReLU(nn.Module):\n    def forward(self, x):\n"
        "        return x + (torch.relu(x) - x).detach()\n"
    )
    bad = tmp_path / "deep_torch_ste.py"
    bad.write_text(code)
    report = _deep(bad)
    assert report.status == "not_equivalent", report.format_text()
    failed = [p for p in report.phases if not p.ok]
    assert [p.name for p in failed] == ["gradients"], report.format_text()
    worst = max(failed[0].diffs, key=lambda d: d.max_abs / max(d.allowed, 1e-30))
    assert worst.max_abs > 3 * worst.allowed, report.format_text()


def test_deep_keras_original_momentum_bug_is_caught(deep, tmp_path):
    code = deep.read_text()
    old = "self.bn2 = nn.BatchNorm2d(width, eps=0.001, momentum=0.01)"
    assert code.count(old) == 1
    bad = tmp_path / "deep_torch_momentum.py"
    bad.write_text(code.replace(old, "self.bn2 = nn.BatchNorm2d(width, eps=0.001, momentum=0.1 if i == 9 else 0.01)"))
    report = _deep(bad)
    assert report.status == "not_equivalent", report.format_text()
    assert [p.name for p in report.phases if not p.ok] == ["step"], report.format_text()


# --- a torch original: the Keras translation is rebuilt in float64 ---------------------------
@pytest.fixture(scope="module")
def lenet(tmp_path_factory):
    out = tmp_path_factory.mktemp("lenet") / "lenet_tf.py"
    fwtranslate.translate_file(SAMPLES_TORCH / "lenet.py", "tf", output=out)
    return out


def test_torch_original_passes_with_tolerances_below_float32(lenet):
    """rtol = atol = 1e-9: below float32's resolution, so every phase relies on the measured
    rounding of both models (the torch original and its Keras translation, rebuilt in float64)."""
    report = verify(
        SAMPLES_TORCH / "lenet.py", lenet, "LeNet", input_shape="2!,1,28,28", examples=2, rtol=1e-9, atol=1e-9
    )
    assert report.equivalent, report.format_text()
    for name in ("inference", "training", "gradients", "step"):
        p = next(p for p in report.phases if p.name == name)
        assert p.noise["measured_on"] >= 1 and p.noise["passed_thanks_to_it"] >= 1, (name, report.format_text())


def test_torch_original_bug_is_caught_with_the_allowance(lenet, tmp_path):
    """BatchNorm's epsilon 1e-5 -> 1e-3: a small change (~1e-3 relative), far above both models'
    measured rounding (~1e-7 relative)."""
    code = lenet.read_text()
    old = "self.bn2 = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-05)"
    assert code.count(old) == 1, code
    bad = tmp_path / "lenet_tf_bad.py"
    bad.write_text(code.replace(old, old.replace("1e-05", "1e-03")))
    report = verify(
        SAMPLES_TORCH / "lenet.py", bad, "LeNet", input_shape="2!,1,28,28", examples=2, rtol=1e-9, atol=1e-9
    )
    assert report.status == "not_equivalent", report.format_text()
    failed = next(p for p in report.phases if not p.ok)
    assert failed.name == "inference", report.format_text()
    bad_diffs = [d for d in failed.diffs if not d.ok]
    assert bad_diffs and all(d.noise is not None and d.max_abs > 10 * d.allowed for d in bad_diffs), (
        report.format_text()
    )
    assert "translation's" in report.format_text()
