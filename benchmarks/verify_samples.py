"""Verify every bundled PyTorch sample against its Keras translation, in float32 (inference,
training mode, gradients, one SGD step) and float64 (inference), and print the table that
docs/verification.md shows.

    .venv/bin/python benchmarks/verify_samples.py [--examples N] [--write docs/verification.md]

Each sample is translated with the real translator into a temporary folder, then verified with
fwtranslate.verify (weights randomised, BatchNorm statistics made non-trivial, Hypothesis-drawn
inputs). The figures are max abs errors over all drawn examples.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples" / "torch"
START, END = "<!-- verify_samples:start -->", "<!-- verify_samples:end -->"


def load_samples() -> list[dict]:
    return json.loads((SAMPLES / "samples.json").read_text())


def verify_sample(sample: dict, out_dir: Path, examples: int, float64: bool):
    import fwtranslate

    src = SAMPLES / sample["file"]
    dst = out_dir / sample["file"]
    result = fwtranslate.translate_file(src, "tf", output=dst)
    assert result.ok, [d.format() for d in result.diagnostics]
    shape = tuple(int(n) for n in sample["input_shape"].split(","))
    return fwtranslate.verify(
        src,
        dst,
        sample["entry"],
        input_shape=shape,
        input_dtype=sample.get("input_dtype"),
        input_range=sample.get("input_range"),
        examples=examples,
        float64=float64,
        check_training=not float64,
    )


def phase(report, name: str) -> str:
    for p in report.phases:
        if p.name == name:
            return f"{p.max_abs:.2e}" if p.ok else f"FAIL {p.max_abs:.2e}"
    return "-"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--examples", type=int, default=20)
    ap.add_argument("--write", type=Path, help="update this benchmark's section of the given doc")
    args = ap.parse_args()
    import keras
    import tensorflow as tf
    import torch

    rows, all_ok = [], True
    with tempfile.TemporaryDirectory() as tmp:
        for sample in load_samples():
            t0 = time.perf_counter()
            r32 = verify_sample(sample, Path(tmp), args.examples, float64=False)
            t1 = time.perf_counter()
            r64 = verify_sample(sample, Path(tmp), args.examples, float64=True)
            t2 = time.perf_counter()
            all_ok &= r32.equivalent and r64.equivalent
            rows.append(
                f"| {sample['file']} | `{sample['entry']}` | {sample['input_shape']} | "
                f"{'yes' if r32.equivalent else 'NO'} | {phase(r32, 'inference')} | {phase(r32, 'training')} | "
                f"{phase(r32, 'gradients')} | {phase(r32, 'step')} | {'yes' if r64.equivalent else 'NO'} | "
                f"{phase(r64, 'inference')} | {t1 - t0:.0f} s | {t2 - t1:.0f} s |"
            )
            print(rows[-1], flush=True)
    lines = [
        f"- command: `.venv/bin/python benchmarks/verify_samples.py --examples {args.examples}`",
        f"- machine: {platform.processor() or platform.machine()}, {__import__('os').cpu_count()} cores, CPU only",
        f"- versions: Python {platform.python_version()}, torch {torch.__version__}, tensorflow {tf.__version__}, keras {keras.__version__}",
        "",
        "| sample | entry | input | f32 equivalent | inference | training | gradients | SGD step | f64 equivalent | f64 inference | f32 time | f64 time |",
        "|---|---|---|---|---:|---:|---:|---:|---|---:|---:|---:|",
        *rows,
    ]
    table = "\n".join(lines)
    print(table)
    if args.write:
        doc = args.write.read_text() if args.write.exists() else f"{START}\n{END}\n"
        head, rest = doc.split(START, 1)
        _, tail = rest.split(END, 1)
        args.write.write_text(f"{head}{START}\n{table}\n{END}{tail}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
