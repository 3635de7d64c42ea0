"""How long `fwtranslate verify` takes on a sample-sized model, and where the time goes.

Runs the verification in a fresh subprocess (so both frameworks' imports are counted), with
50 Hypothesis examples by default, and splits the wall time into: imports, setup (building both
models, weight transfer), Keras compilation (tf.function tracing + XLA), the models' own
forward/backward passes (torch and compiled Keras calls) and everything else (the verifier:
drawing, comparing, restoring state, shrinking). The "outside the models" share is
1 - (torch + Keras model time) / wall.

    .venv/bin/python benchmarks/verify_speed.py                      # LeNet sample, 50 examples
    .venv/bin/python benchmarks/verify_speed.py --model samples/torch/mlp.py --entry MLP --input-shape B,784
    .venv/bin/python benchmarks/verify_speed.py --write docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, info_lines, md_table, write_section

CHILD = r"""
import json, sys, time
start = time.perf_counter()
from fwtranslate.verify import verify
report = verify(sys.argv[1], sys.argv[2], sys.argv[3], input_shape=sys.argv[4] or None,
                examples=int(sys.argv[5]), device="cpu", seed=0)
d = report.to_dict()
print(json.dumps({"in_process_s": time.perf_counter() - start, "report": d}))
"""


def versions() -> dict[str, str]:
    from importlib.metadata import version

    out = {}
    for pkg in ("torch", "tensorflow", "tensorflow-cpu", "keras", "hypothesis", "numpy"):
        try:
            out[pkg] = version(pkg)
        except Exception:  # noqa: BLE001 - informational
            pass
    return out


def count_params(model: str, entry: str) -> int:
    code = (
        "import sys; from fwtranslate.verify.loading import build_entry; "
        "m = build_entry(sys.argv[1], sys.argv[2]); print(sum(p.numel() for p in m.parameters()))"
    )
    return int(
        subprocess.run(
            [sys.executable, "-c", code, model, entry], capture_output=True, text=True, check=True
        ).stdout.strip()
    )


def run_once(model: str, translated: str, entry: str, shape: str, examples: int) -> dict:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, model, translated, entry, shape, str(examples)], capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"verification failed to run:\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["wall_s"] = wall
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=str(REPO / "samples/torch/lenet.py"))
    ap.add_argument("--entry", default="LeNet")
    ap.add_argument("--input-shape", default="B,1,28,28")
    ap.add_argument("--examples", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=1, help="runs (the table shows each, then the median wall)")
    ap.add_argument("--write", type=Path, help="also write the result into this markdown file (section verify-speed)")
    args = ap.parse_args()

    from fwtranslate import translate_file

    tmp = Path(tempfile.mkdtemp(prefix="fwt-verify-bench-"))
    translated = tmp / (Path(args.model).stem + "_tf.py")
    translate_file(args.model, "tf", output=translated)
    params = count_params(args.model, args.entry)

    header = [
        "run",
        "result",
        "wall s",
        "imports s",
        "setup s",
        "Keras compile s",
        "torch model s",
        "Keras model s",
        "verifier s",
        "outside the models",
    ]
    rows, walls = [], []
    for i in range(args.repeat):
        r = run_once(args.model, str(translated), args.entry, args.input_shape, args.examples)
        rep, t = r["report"], r["report"]["timings"]
        wall = r["wall_s"]
        model_s = t.get("torch_model", 0.0) + t.get("keras_model", 0.0)
        compile_s = t.get("keras_compile", 0.0) - t.get("keras_compile_in_setup", 0.0)
        imports = t.get("import", 0.0) + (wall - r["in_process_s"])  # interpreter start + fwtranslate + both frameworks
        verifier = max(0.0, wall - imports - t.get("setup", 0.0) - compile_s - model_s)
        rows.append(
            [
                i + 1,
                rep["status"],
                f"{wall:.1f}",
                f"{imports:.1f}",
                f"{t.get('setup', 0):.1f}",
                f"{compile_s:.1f}",
                f"{t.get('torch_model', 0):.2f}",
                f"{t.get('keras_model', 0):.2f}",
                f"{verifier:.1f}",
                f"{100 * (1 - model_s / wall):.1f}%",
            ]
        )
        walls.append(wall)
    walls.sort()
    lines = [
        (
            f"Verification of `{Path(args.model).name}` (`{args.entry}`, {params:,} parameters, input "
            f"`{args.input_shape}`), {args.examples} examples, CPU, one subprocess per run; median wall "
            f"{walls[len(walls) // 2]:.1f} s."
        ),
        "",
    ]
    lines += md_table(header, rows)
    lines += [
        "",
        (
            "Setup: building both models, randomising the weights, the Keras dry run (its XLA "
            'compilation) and the weight transfer. "Keras compile": the later calls that traced and '
            'compiled a new input shape. "Verifier": the rest (drawing and shrinking inputs, comparing, '
            "saving and restoring state, localising)."
        ),
        "",
    ]
    lines += info_lines({f"{k} version": v for k, v in versions().items()})
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section(args.write, "verify-speed", "## Verification speed\n\n" + text)


if __name__ == "__main__":
    main()
