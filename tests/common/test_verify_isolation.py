"""verify() in a child process (``timeout=``/``isolate=True``; the CLI always): user code that
exits, hangs, crashes or prints reaches neither the caller's process nor the report."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("tensorflow")
pytest.importorskip("hypothesis")

from robustness_cases_verify import MODEL, MODEL_TF  # the same tiny pair as the CLI cases

import fwtranslate
from fwtranslate.verify import VerifyReport, verify

FAST = {"input_shape": "2,4", "examples": 2, "check_training": False}


def _pair(tmp_path: Path, prefix: str = "", translation: str = MODEL_TF) -> tuple[str, str]:
    (tmp_path / "net.py").write_text(prefix + MODEL)
    (tmp_path / "net_tf.py").write_text(translation)
    return str(tmp_path / "net.py"), str(tmp_path / "net_tf.py")


def _gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in status  # killed, not yet reaped


def test_isolated_run_returns_the_report_and_captures_prints(tmp_path):
    orig, trans = _pair(tmp_path, 'print("hello from the model")\n')
    report = fwtranslate.verify(orig, trans, "Net", timeout=120, **FAST)
    assert isinstance(report, VerifyReport) and report.equivalent, report.format_text()
    assert report.exit_code == 0 and [p.name for p in report.phases] == ["transfer", "inference"]
    assert "hello from the model" in report.output and "hello" not in report.format_text()
    assert report.to_dict()["output"] == report.output


def test_isolated_not_equivalent_report_comes_back_whole(tmp_path):
    orig, trans = _pair(tmp_path, translation=MODEL_TF.replace("return self.fc(x)", "return self.fc(x) * 2.0"))
    report = verify(orig, trans, "Net", isolate=True, **FAST)
    assert report.status == "not_equivalent" and report.exit_code == 1, report.format_text()
    assert report.diverging_layer is not None and report.failing_input is not None
    assert report.phases[-1].diffs and not report.phases[-1].ok


def test_timeout_kills_a_hanging_model_and_what_it_started(tmp_path):
    pidfile = tmp_path / "sleeper.pid"
    orig, trans = _pair(
        tmp_path,
        "import subprocess\n"
        "p = subprocess.Popen(['sleep', '300'])\n"
        f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
        "while True:\n    pass\n",
    )
    start = time.monotonic()
    report = verify(orig, trans, "Net", timeout=2, **FAST)
    assert time.monotonic() - start < 120
    assert report.status == "error" and report.exit_code == 2
    assert report.reason == f"timed out after 2 s while importing {orig}"
    assert "max abs" not in report.format_text() and report.format_text().startswith("COULD NOT VERIFY: timed out")
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 10
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(pid), "the model's own child process outlived the timeout"


def test_os_exit_in_the_child_is_could_not_run(tmp_path):
    orig, trans = _pair(tmp_path, translation="import os\nprint('leaving')\nos._exit(0)\n" + MODEL_TF)
    report = verify(orig, trans, "Net", isolate=True, **FAST)
    assert report.status == "error" and report.exit_code == 2
    assert report.reason == f"{trans} ended the process (exit status 0, without a result) at import"
    assert "leaving" in report.output


def test_system_exit_in_process_does_not_end_the_caller(tmp_path):
    orig, trans = _pair(tmp_path, "import sys\nsys.exit(0)\n")
    report = verify(orig, trans, "Net", **FAST)  # no timeout: in this process
    assert report.status == "error" and report.exit_code == 2
    assert report.reason == f"{orig} raised SystemExit(0) at import"


def test_system_exit_in_forward_is_could_not_run(tmp_path):
    orig, trans = _pair(tmp_path)
    Path(orig).write_text(MODEL.replace("return self.fc(x)", "raise SystemExit(3)"))
    report = verify(orig, trans, "Net", **FAST)
    assert report.status == "error" and "raised SystemExit(3)" in report.reason, report.reason
    assert orig in report.reason and "fwtranslate." not in report.reason


def test_missing_entry_names_the_file_not_an_internal_module(tmp_path):
    orig, trans = _pair(tmp_path)
    report = verify(orig, trans, "Nope", **FAST)
    assert report.status == "error" and report.reason == f"{orig} has no 'Nope' (--entry Nope)"


def test_error_report_text_has_no_error_figures():
    text = VerifyReport(status="error", reason="net.py raised SystemExit(0) at import").format_text()
    assert text == "COULD NOT VERIFY: net.py raised SystemExit(0) at import"
