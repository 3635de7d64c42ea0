"""Every bundled sample verifies against its translation: float32 inference within 1e-5 and
gradients/SGD step within the verifier's tolerances; float64 inference within 1e-10.

Real torch and TensorFlow; a few Hypothesis examples per sample to keep CI short
(benchmarks/verify_samples.py runs more and writes docs/verification.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import fwtranslate

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "torch"
CASES = json.loads((SAMPLES / "samples.json").read_text())


@pytest.fixture(scope="module")
def translated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("translated")
    for case in CASES:
        result = fwtranslate.translate_file(SAMPLES / case["file"], "tf", output=out / case["file"])
        assert result.ok, [d.format() for d in result.diagnostics]
    return out


def _verify(case: dict, out: Path, **kwargs):
    shape = tuple(int(n) for n in case["input_shape"].split(","))
    return fwtranslate.verify(
        SAMPLES / case["file"],
        out / case["file"],
        case["entry"],
        input_shape=shape,
        input_dtype=case.get("input_dtype"),
        input_range=case.get("input_range"),
        **kwargs,
    )


def _phase(report, name: str):
    return next(p for p in report.phases if p.name == name)


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_sample_verifies_in_float32_with_gradients(case, translated):
    report = _verify(case, translated, examples=4)
    assert report.equivalent, report.format_text()
    assert _phase(report, "inference").max_abs <= 1e-5, report.format_text()
    assert {"inference", "training", "gradients", "step"} <= {p.name for p in report.phases}


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_sample_verifies_in_float64(case, translated):
    report = _verify(case, translated, examples=3, float64=True, check_training=False)
    assert report.equivalent, report.format_text()
    assert _phase(report, "inference").max_abs <= 1e-10, report.format_text()
