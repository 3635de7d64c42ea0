"""``fwtranslate verify`` (and ``--verify``): argument decoding, output and exit code.

Exit 0 equivalent, 1 not equivalent, 2 could not run (the reason is printed).

The models always run in a child process (isolation.py), killed after ``timeout`` seconds. The
report goes to stdout (with --json: exactly one JSON object, the code's prints in its "output");
a reason for exit 2 goes to stderr as one line, and in text mode what the verified code printed
follows on stderr in a labelled block, never mixed with the report.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from ..directions import TARGETS

DEFAULT_TIMEOUT = 600.0  # seconds for a whole run: importing the frameworks, both models, every phase
SHOWN_OUTPUT_LINES = 20


def parse_json_args(args_json: str | None, kwargs_json: str | None) -> tuple[tuple, dict]:
    try:
        args = json.loads(args_json or "[]")
        kwargs = json.loads(kwargs_json or "{}")
    except json.JSONDecodeError as exc:
        raise ValueError(f"--args/--kwargs must be JSON: {exc}") from None
    if not isinstance(args, list):
        raise ValueError("--args must be a JSON list")
    if not isinstance(kwargs, dict):
        raise ValueError("--kwargs must be a JSON object")
    return tuple(args), kwargs


def run_verify_cli(
    original: str,
    translated: str,
    entry: str,
    args_json: str | None,
    kwargs_json: str | None,
    input_shape: str | None,
    input_dtype: str | None,
    examples: int,
    *,
    to: str = "tf",
    input_range: str | None = None,
    float64: bool = False,
    rtol: float | None = None,
    atol: float | None = None,
    device: str = "auto",
    seed: int = 0,
    as_json: bool = False,
    timeout: float | None = DEFAULT_TIMEOUT,
    out=None,
    training: dict[str, Any] | None = None,
) -> int:
    """``timeout``: seconds for the whole run; None or 0: no limit (the run is isolated all the same)."""
    out = out or sys.stdout
    if to is not None and to not in TARGETS:
        return _could_not_run(
            f"verification supports {' and '.join(f'--to {t}' for t in TARGETS)}, not {to!r}", as_json, out
        )
    # the direction itself is read from the files (verify/direction.py): --to only has to be known
    try:
        args, kwargs = parse_json_args(args_json, kwargs_json)
    except ValueError as exc:
        return _could_not_run(str(exc), as_json, out)
    try:
        from . import verify
    except ImportError as exc:
        return _could_not_run(
            f"verification needs torch, tensorflow, keras and hypothesis (pip install 'fwtranslate[verify]'): {exc}",
            as_json,
            out,
        )
    if timeout is not None and timeout < 0:
        return _could_not_run(f"--timeout must be positive (0: no limit), not {timeout:g}", as_json, out)
    try:
        report = verify(
            original,
            translated,
            entry,
            args=args,
            kwargs=kwargs,
            input_shape=input_shape,
            input_dtype=input_dtype,
            input_range=input_range,
            examples=examples,
            float64=float64,
            rtol=rtol,
            atol=atol,
            device=device,
            seed=seed,
            timeout=timeout or None,
            isolate=True,
            **(training or {}),
        )
    except KeyboardInterrupt:  # Ctrl-C: the child was killed on the way out
        print("fwtranslate: interrupted", file=sys.stderr)
        return 130
    if as_json:
        print(json.dumps(report.to_dict()), file=out)
        return report.exit_code
    if report.exit_code == 2:
        print(f"fwtranslate: could not verify: {_one_line(report.reason)}", file=sys.stderr)
        for note in report.notes:
            if "\n" not in note.strip():  # a traceback (an internal error) is in --json's notes
                print(f"  note: {note}", file=sys.stderr)
    else:
        print(report.format_text(), file=out)
    _show_output(report.output)
    return report.exit_code


def _one_line(text: str, limit: int = 1000) -> str:
    text = " ".join((text or "unknown reason").split())
    return text if len(text) <= limit else text[:limit] + " ..."


def _show_output(output: str) -> None:
    """What the verified code printed, on stderr, labelled and indented: never taken for the report."""
    lines = output.splitlines()
    if not lines:
        return
    shown = lines[-SHOWN_OUTPUT_LINES:]
    print(
        "fwtranslate: output of the verified code"
        + (f" (last {len(shown)} lines)" if len(shown) < len(lines) else "")
        + ":",
        file=sys.stderr,
    )
    for line in shown:
        print(f"  | {line}", file=sys.stderr)


def _could_not_run(reason: str, as_json: bool, out: Any) -> int:
    if as_json:
        print(json.dumps({"equivalent": False, "status": "error", "reason": reason, "max_abs_error": None}), file=out)
    else:
        print(f"fwtranslate: could not verify: {reason}", file=sys.stderr)
    return 2
