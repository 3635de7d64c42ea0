"""Translate Keras' own application builders (keras/src/applications/*.py of the public corpus)
to PyTorch and verify each translation against the original (the Keras function, run by Keras).

Two checks per model, both with weights randomised on the Keras side and transferred:
- float32 inference at the manifest's input (1, 224, 224, 3), 1000 classes;
- float64, every phase (inference, training mode, input/parameter gradients, one SGD step), at a
  smaller input (2, 64, 64, 3) with 10 classes: in float64 the two frameworks must agree to
  ~1e-10, which checks the gradients' math; in float32 a 50-layer network's gradients differ
  by the frameworks' own rounding (TensorFlow's and torch's convolutions round differently),
  which the verifier's float32 gradient tolerance does not model for networks this deep.

    .venv/bin/python benchmarks/verify_keras_applications.py [--models VGG16,ResNet50] [--write docs/verification.md]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import corpus_files, info_lines, md_table, write_section  # noqa: E402

MODELS = {  # entry -> corpus file
    "VGG16": "keras/vgg16.py", "ResNet50": "keras/resnet.py", "MobileNetV2": "keras/mobilenet_v2.py",
    "DenseNet121": "keras/densenet.py", "EfficientNetB0": "keras/efficientnet.py",
    "ConvNeXtTiny": "keras/convnext.py",
}


def run(entry: str, path: Path, out: Path) -> dict:
    import fwtranslate

    row = {"model": entry, "file": MODELS[entry]}
    start = time.perf_counter()
    result = fwtranslate.translate_file(path, "torch", output=out)
    row["translate_s"] = time.perf_counter() - start
    row["errors"] = sum(d.severity == "error" for d in result.diagnostics)
    if row["errors"]:
        row["status"] = "translation errors: " + "; ".join(d.format() for d in result.diagnostics
                                                          if d.severity == "error")[:300]
        return row
    start = time.perf_counter()
    r32 = fwtranslate.verify(path, out, entry, kwargs={"weights": None}, input_shape=(1, 224, 224, 3),
                             examples=2, check_training=False)
    row["f32_s"] = time.perf_counter() - start
    row["f32"] = r32
    start = time.perf_counter()
    r64 = fwtranslate.verify(path, out, entry, kwargs={"weights": None, "input_shape": [64, 64, 3], "classes": 10},
                             input_shape=(2, 64, 64, 3), examples=2, float64=True)
    row["f64_s"] = time.perf_counter() - start
    row["f64"] = r64
    row["status"] = "equivalent" if r32.equivalent and r64.equivalent else "NOT equivalent"
    return row


def phase(report, name: str) -> str:
    for p in report.phases:
        if p.name == name:
            return f"{p.max_abs:.2e}" if p.ok else f"FAIL {p.max_abs:.2e}"
    return "-"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--write", type=Path, help="update this benchmark's section of the given doc")
    ap.add_argument("--corpus-dir", type=Path)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    files = dict(corpus_files("tf2pt", args.corpus_dir))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for entry in args.models.split(","):
            row = run(entry, files[MODELS[entry]], Path(tmp) / Path(MODELS[entry]).name)
            rows.append(row)
            print(json.dumps({k: (v if not hasattr(v, "status") else v.status) for k, v in row.items()}),
                  file=sys.stderr, flush=True)
    table = []
    for r in rows:
        f32, f64 = r.get("f32"), r.get("f64")
        table.append([r["model"], r["file"], r["status"],
                      phase(f32, "inference") if f32 else "-",
                      *(phase(f64, p) if f64 else "-" for p in ("inference", "gradients", "step")),
                      f"{r['translate_s']:.1f}", f"{r.get('f32_s', 0):.0f}", f"{r.get('f64_s', 0):.0f}"])
    lines = info_lines() + ["", "Max abs errors (weights randomised in Keras and transferred; Hypothesis inputs):", ""]
    lines += md_table(["model", "file", "result", "float32 inference (1,224,224,3)", "float64 inference (2,64,64,3)",
                       "float64 gradients", "float64 SGD step", "translate s", "verify f32 s", "verify f64 s"], table)
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section(args.write, "verify_keras_applications", text)
    return 0 if all(r["status"] == "equivalent" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
