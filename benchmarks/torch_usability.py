"""What a PyTorch user does with the translated Keras samples: a ✓/✗ matrix.

Each Keras sample file (``samples/tf/*.py``) is translated to PyTorch; for each builder that
``samples/tf/samples.json`` lists (entry and input), the translated model is built and put
through ``fwtranslate.testing.torch_usage.check_torch_usage``: no global module hook left after
building, ``copy.deepcopy``, ``torch.save(model)`` + ``torch.load(weights_only=False)``,
``load_state_dict(model.state_dict())`` into a freshly built model, the parameter count before
the first call, ``torch.jit.script``, ``torch.export.export(model, (x,))`` and
``torch.compile(model, backend="eager")``; each must also give the model's own outputs. A ✗
is listed below the matrix with the first line of its exception. The CI test
(tests/tf_to_torch/test_tf_torch_usability.py) asserts the same matrix.

    .venv/bin/python benchmarks/torch_usability.py [--json OUT] [--write docs/benchmarks.md]
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
from common import REPO, info_lines, md_table, write_section

SAMPLES = REPO / "samples" / "tf"


def sample_cases() -> list[dict]:
    return json.loads((SAMPLES / "samples.json").read_text())


def run(cases: list[dict]) -> list[dict]:
    import torch

    import fwtranslate
    from fwtranslate.testing.torch_usage import check_torch_usage, import_translation, make_input
    from fwtranslate.verify.loading import resolve_entry

    torch.manual_seed(0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        modules = {}
        for name in sorted({c["file"] for c in cases}):
            out = Path(tmp) / name
            fwtranslate.translate_file(SAMPLES / name, "torch", output=out)
            modules[name] = import_translation(out, f"_fwtranslate_usability_{Path(name).stem}")
        for case in cases:
            build = resolve_entry(modules[case["file"]], case["entry"])
            shape = tuple(int(n) for n in case["input_shape"].split(","))
            x = make_input(shape, case.get("input_dtype"), case.get("input_range"))
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Lazy modules, TorchScript deprecation...
                results = check_torch_usage(build, x)
            rows.append({"file": case["file"], "entry": case["entry"], "results": results})
            rows[-1]["seconds"] = round(time.perf_counter() - start, 2)
    return rows


def report(rows: list[dict]) -> str:
    from fwtranslate.testing.torch_usage import CHECKS

    table = [
        [f"{r['file']}:{r['entry']}", *("✓" if r["results"][c] == "ok" else "✗" for c in CHECKS), r["seconds"]]
        for r in rows
    ]
    passed = {c: sum(r["results"][c] == "ok" for r in rows) for c in CHECKS}
    table.append(["**passing**", *(f"{passed[c]}/{len(rows)}" for c in CHECKS), ""])
    out = md_table(["sample:entry", *CHECKS, "s"], table)
    out += ["", "Failures (the exception's first line):", ""]
    for r in rows:
        for check in CHECKS:
            if r["results"][check] != "ok":
                out.append(f"- {r['file']}:{r['entry']} `{check}`: {r['results'][check]}")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", type=Path, metavar="OUT", help="write the results as JSON")
    ap.add_argument("--write", type=Path, metavar="DOC", help="update the torch_usability section of DOC")
    args = ap.parse_args()
    import torch

    rows = run(sample_cases())
    text = "\n".join(info_lines({"torch": torch.__version__})) + "\n\n" + report(rows)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    if args.write:
        write_section(args.write, "torch_usability", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
