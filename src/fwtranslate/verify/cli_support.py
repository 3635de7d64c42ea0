"""``fwtranslate verify`` (and ``--verify``): argument decoding, output and exit code.

Exit 0 equivalent, 1 not equivalent, 2 could not run (the reason is printed).
"""
from __future__ import annotations

import json
import sys
from typing import Any


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


def run_verify_cli(original: str, translated: str, entry: str, args_json: str | None, kwargs_json: str | None,
                   input_shape: str | None, input_dtype: str | None, examples: int, *, to: str = "tf",
                   input_range: str | None = None, float64: bool = False, rtol: float | None = None,
                   atol: float | None = None, device: str = "auto", seed: int = 0, as_json: bool = False,
                   out=None) -> int:
    out = out or sys.stdout
    if to not in ("tf", "torch", None):
        return _could_not_run(f"verification supports --to tf and --to torch, not {to!r}", as_json, out)
    # the direction itself is read from the files (verify/direction.py): --to only has to be known
    try:
        args, kwargs = parse_json_args(args_json, kwargs_json)
    except ValueError as exc:
        return _could_not_run(str(exc), as_json, out)
    try:
        from . import verify
    except ImportError as exc:
        return _could_not_run(f"verification needs torch, tensorflow, keras and hypothesis "
                              f"(pip install 'fwtranslate[verify]'): {exc}", as_json, out)
    report = verify(original, translated, entry, args=args, kwargs=kwargs, input_shape=input_shape,
                    input_dtype=input_dtype, input_range=input_range, examples=examples, float64=float64,
                    rtol=rtol, atol=atol, device=device, seed=seed)
    if as_json:
        print(json.dumps(report.to_dict()), file=out)
    else:
        print(report.format_text(), file=out)
    return report.exit_code


def _could_not_run(reason: str, as_json: bool, out: Any) -> int:
    if as_json:
        print(json.dumps({"equivalent": False, "status": "error", "reason": reason, "max_abs_error": None}), file=out)
    else:
        print(f"fwtranslate: could not verify: {reason}", file=sys.stderr)
    return 2
