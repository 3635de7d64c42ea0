"""How many of the Lazy modules of the Keras -> PyTorch translations became static.

Translates every Keras sample (samples/tf/*.py) and every Keras file of the corpus (.corpus/files:
keras/*.py, mlp_mixer_keras, keras_hub) twice: with the static size analysis
(passes/tf_to_torch/static_sizes.py) and without it (every layer Lazy, as before). In the
output without it, every module whose size the translation left to the first batch is counted:
``nn.Lazy*(...)`` and the normalization support modules (``KerasBatchNormalization()`` ...) built
without a size; in the output with it, those that are left. The difference became static.

    .venv/bin/python benchmarks/static_sizes.py [--json OUT.json]

Translation only: no framework is imported.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from fwtranslate import translate
from fwtranslate.passes.tf_to_torch import static_sizes

# a module built without its input size (the support classes' own definitions excluded)
_LAZY = re.compile(r"(?<![\w.])nn\.(Lazy\w+)\(")
_SIZED_SUPPORT = (
    "KerasBatchNormalization",
    "KerasLayerNormalization",
    "KerasGroupNormalization",
    "KerasRMSNormalization",
)
# built without a size: no argument, or keywords only (the size is the first positional argument)
_SUPPORT_CALL = re.compile(r"(?<!class )(?<![\w.])(" + "|".join(_SIZED_SUPPORT) + r")\((\s*\)|\s*\w+\s*=(?!=))?")


def files() -> list[tuple[str, Path]]:
    corpus = REPO / ".corpus" / "files"
    out = [(f"samples/tf/{p.name}", p) for p in sorted((REPO / "samples" / "tf").glob("*.py"))]
    for sub in ("keras", "mlp_mixer_keras", "keras_hub"):
        out += [(f".corpus/files/{sub}/{p.name}", p) for p in sorted((corpus / sub).glob("*.py"))]
    return out


def lazy_modules(code: str) -> Counter:
    """Kind -> how many modules of the code are built without their input size."""
    found: Counter = Counter()
    for m in _LAZY.finditer(code):
        found[m.group(1)] += 1
    for m in _SUPPORT_CALL.finditer(code):
        if m.group(2) is not None:
            found[m.group(1)] += 1
    return found


def translate_without_analysis(source: str, path: str):
    original = static_sizes.analyse
    static_sizes.analyse = lambda module, ctx: {}
    try:
        return translate(source, to="torch", path=path)
    finally:
        static_sizes.analyse = original


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write the per-file counts here")
    args = parser.parse_args()
    rows, total_before, total_after = [], Counter(), Counter()
    for name, path in files():
        source = path.read_text(encoding="utf-8")
        before = translate_without_analysis(source, str(path))
        after = translate(source, to="torch", path=str(path))
        lazy_before, lazy_after = lazy_modules(before.code), lazy_modules(after.code)
        total_before += lazy_before
        total_after += lazy_after
        b, a = sum(lazy_before.values()), sum(lazy_after.values())
        rows.append(
            {
                "file": name,
                "lazy_before": b,
                "lazy_after": a,
                "static": b - a,
                "ok_before": before.ok,
                "ok_after": after.ok,
            }
        )
        print(
            f"{name:45s} Lazy without the analysis {b:4d}  still Lazy {a:4d}  static {b - a:4d}"
            f"{'' if after.ok == before.ok else '  (translation outcome changed!)'}"
        )
    b, a = sum(total_before.values()), sum(total_after.values())
    print(
        f"\n{'total':45s} Lazy without the analysis {b:4d}  still Lazy {a:4d}  static {b - a:4d}"
        f" ({100 * (b - a) / b:.0f}%)"
        if b
        else ""
    )
    for kind in sorted(total_before):
        print(f"  {kind:28s} {total_before[kind]:4d} -> {total_after[kind]:4d} still Lazy")
    for group in ("samples/tf/", ".corpus/"):
        gb = sum(r["lazy_before"] for r in rows if r["file"].startswith(group))
        ga = sum(r["lazy_after"] for r in rows if r["file"].startswith(group))
        print(f"  {group:28s} {gb - ga} of {gb} static")
    if args.json:
        args.json.write_text(
            json.dumps({"files": rows, "before": dict(total_before), "after": dict(total_after)}, indent=1) + "\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
