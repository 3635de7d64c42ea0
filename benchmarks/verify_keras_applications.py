"""Translate Keras' own application builders (keras/src/applications/*.py of the public corpus)
to PyTorch and verify each translation against the original (the Keras function, run by Keras).

Three checks per model, all with weights randomised on the Keras side and transferred:
- float32 inference at the manifest's input (1, 224, 224, 3), 1000 classes;
- float32, every phase (inference, training mode, input/parameter gradients, one SGD step), at a
  smaller input (2, 64, 64, 3) with 10 classes: a 50-layer network's float32 gradients differ
  by the frameworks' own rounding (TensorFlow's and torch's convolutions round differently),
  far past rtol/atol; the verifier then measures each model's own float32 error against its
  float64 run and allows their sum (src/fwtranslate/verify/compare.py). The table shows how many
  tensors needed it, and how large the two errors were;
- float64, every phase, at (2, 64, 64, 3): the two frameworks must agree to ~1e-10, which
  checks the gradients' math without any rounding allowance.

With --write, the rows of models not run this time are kept from the doc's table (their "run"
column says when they were measured), so models can be run one at a time.

    .venv/bin/python benchmarks/verify_keras_applications.py [--models VGG16,ResNet50] [--write docs/verification.md]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import corpus_files, info_lines, md_table, write_section

MODELS = {  # entry -> corpus file
    "VGG16": "keras/vgg16.py",
    "ResNet50": "keras/resnet.py",
    "MobileNetV2": "keras/mobilenet_v2.py",
    "DenseNet121": "keras/densenet.py",
    "EfficientNetB0": "keras/efficientnet.py",
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
        row["status"] = (
            "translation errors: " + "; ".join(d.format() for d in result.diagnostics if d.severity == "error")[:300]
        )
        return row
    start = time.perf_counter()
    r32 = fwtranslate.verify(
        path, out, entry, kwargs={"weights": None}, input_shape=(1, 224, 224, 3), examples=2, check_training=False
    )
    row["f32_s"] = time.perf_counter() - start
    row["f32"] = r32
    small = {"weights": None, "input_shape": [64, 64, 3], "classes": 10}
    start = time.perf_counter()
    r32all = fwtranslate.verify(path, out, entry, kwargs=small, input_shape=(2, 64, 64, 3), examples=2)
    row["f32all_s"] = time.perf_counter() - start
    row["f32all"] = r32all
    start = time.perf_counter()
    r64 = fwtranslate.verify(path, out, entry, kwargs=small, input_shape=(2, 64, 64, 3), examples=2, float64=True)
    row["f64_s"] = time.perf_counter() - start
    row["f64"] = r64
    row["status"] = "equivalent" if r32.equivalent and r32all.equivalent and r64.equivalent else "NOT equivalent"
    return row


def phase(report, name: str) -> str:
    for p in report.phases:
        if p.name == name:
            return f"{p.max_abs:.2e}" if p.ok else f"FAIL {p.max_abs:.2e}"
    return "-"


def noise(report, name: str) -> str:
    """Tensors that needed the rounding allowance / compared; the two models' largest own errors."""
    for p in report.phases:
        if p.name == name:
            n = p.noise or {}
            if not n.get("measured_on"):
                return f"0/{len(p.diffs)}"
            o, t = n["largest_original_rounding_error"], n["largest_translation_rounding_error"]
            return f"{n['passed_thanks_to_it']}/{len(p.diffs)}; {o['value']:.2e} / {t['value']:.2e}"
    return "-"


def used(report) -> str:
    """The largest share of its allowance any tensor used (1 = at the bound)."""
    shares = [
        d.max_abs / d.allowed
        for p in report.phases
        for d in p.diffs
        if p.name in ("inference", "training", "gradients", "step") and d.allowed > 0
    ]
    return f"{max(shares, default=0.0):.2f}"


HEADER = [
    "model",
    "file",
    "result",
    "float32 inference (1,224,224,3)",
    "float32 gradients (2,64,64,3)",
    "float32 SGD step",
    "gradients: tensors needing the allowance; largest own error, Keras / torch",
    "largest share of allowance used",
    "float64 inference (2,64,64,3)",
    "float64 gradients",
    "float64 SGD step",
    "translate s",
    "verify f32 s",
    "verify f32 all phases s",
    "verify f64 s",
    "run",
]


def old_rows(doc: Path) -> dict[str, dict[str, str]]:
    """The table rows already in the doc's section, per model, by column name."""
    if not doc or not doc.exists():
        return {}
    m = re.search(
        r"<!-- verify_keras_applications:start -->(.*?)<!-- verify_keras_applications:end -->", doc.read_text(), re.S
    )
    if not m:
        return {}
    lines = [ln for ln in m.group(1).splitlines() if ln.startswith("|")]
    if len(lines) < 2:
        return {}
    cells = lambda ln: [c.strip() for c in ln.strip().strip("|").split("|")]  # noqa: E731
    header = cells(lines[0])
    date = re.search(r"- date: (.*)", m.group(1))
    rows = {}
    for ln in lines[2:]:
        row = dict(zip(header, cells(ln)))
        row.setdefault("run", date.group(1).strip() if date else "earlier")
        rows[row["model"]] = row
    return rows


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
            print(
                json.dumps({k: (v if not hasattr(v, "status") else v.status) for k, v in row.items()}),
                file=sys.stderr,
                flush=True,
            )
    now = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    table = {}
    for r in rows:
        f32, f32all, f64 = r.get("f32"), r.get("f32all"), r.get("f64")
        table[r["model"]] = [
            r["model"],
            r["file"],
            r["status"],
            phase(f32, "inference") if f32 else "-",
            *(phase(f32all, p) if f32all else "-" for p in ("gradients", "step")),
            noise(f32all, "gradients") if f32all else "-",
            used(f32all) if f32all else "-",
            *(phase(f64, p) if f64 else "-" for p in ("inference", "gradients", "step")),
            f"{r['translate_s']:.1f}",
            f"{r.get('f32_s', 0):.0f}",
            f"{r.get('f32all_s', 0):.0f}",
            f"{r.get('f64_s', 0):.0f}",
            now,
        ]
    kept = {m: [row.get(h, "not run") for h in HEADER] for m, row in old_rows(args.write).items() if m not in table}
    order = list(MODELS) + sorted((set(kept) | set(table)) - set(MODELS))
    merged = [table.get(m) or kept[m] for m in order if m in table or m in kept]
    lines = info_lines() + [
        "",
        (
            "Max abs errors (weights randomised in Keras and transferred; Hypothesis inputs). "
            "float32 all phases: a tensor may differ by rtol/atol plus the original's and the "
            "translation's own float32 errors (each against its float64 run); \"needing the "
            'allowance": tensors outside rtol/atol alone. Rows of models not run this time '
            'keep their measurements ("run": when; "not run": a column added since).'
        ),
        "",
    ]
    lines += md_table(HEADER, merged)
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section(args.write, "verify_keras_applications", text)
    return 0 if all(r["status"] == "equivalent" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
