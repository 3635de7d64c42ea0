"""Translate and verify N random models with a fixed seed: PyTorch models
(fwtranslate.testing.torch_models) translated to Keras, or with --source keras, Keras models
(fwtranslate.testing.keras_models) translated to PyTorch.

Model i is generated from random.Random(SEED * 1_000_003 + i), so a run is reproducible and
model i can be regenerated alone. Each model is translated and verified (inference,
training forward, gradients, SGD step). Failures are grouped by category (translation
diagnostic, or verify phase + first diverging layer) and the shortest failing source of each
category is reported. --time-budget stops early; the report states the real count.

Models run in fresh worker processes, --per-process at a time: one long-lived process that
verifies hundreds of models runs out of memory mappings (each verify() leaves ~400 behind:
XLA-compiled code that TensorFlow keeps; at the default vm.max_map_count of 65530, LLVM fails
with "Cannot allocate memory" and the process segfaults, after ~165 models). A worker that dies
anyway is recorded as a failure of the model it was running, and the run goes on.

    .venv/bin/python benchmarks/random_models.py --count 500 --seed 0 --write docs/random_models.md
    .venv/bin/python benchmarks/random_models.py --source keras --count 500 --seed 0 --write docs/random_models.md
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import info_lines, md_table, write_section
from fwtranslate.testing import keras_models, torch_models

SOURCES = {"torch": torch_models, "keras": keras_models}  # --source -> generator module
SECTIONS = {
    "torch": ("random-models", "Random models: translate + verify"),
    "keras": ("random-keras-models", "Random Keras models: translate to PyTorch + verify"),
}


def category(stage: str, detail: str) -> str:
    if stage == "crash":
        return "crash: the worker process died"
    if stage == "translate":
        codes = sorted(set(re.findall(r"\[([\w-]+)\]", detail))) or [detail.splitlines()[0][:60]]
        return "translate: " + ", ".join(codes)
    phase = re.search(r"reason: (\w+)", detail)
    layer = re.search(r"first diverging layer: .*?\((.*?)\)", detail)
    return f"verify/{phase.group(1) if phase else 'crash'}: " + (layer.group(1) if layer else "?")


def model_at(seed: int, i: int, source: str = "torch"):
    return SOURCES[source].generate(random.Random(seed * 1_000_003 + i))


def worker(args) -> None:
    """Check models --start..--stop-1, appending one JSON line per model to --worker FILE."""
    from fwtranslate.verify.backend import frameworks

    frameworks()  # import torch and TensorFlow first: the per-model times exclude the imports
    with open(args.worker, "a") as out:
        for i in range(args.start, args.stop):
            if args.deadline and time.time() > args.deadline:
                break
            model = model_at(args.seed, i, args.source)
            with tempfile.TemporaryDirectory() as workdir:
                extra = {"layout": args.layout} if args.source == "torch" else {}
                outcome = SOURCES[args.source].check(model, workdir, examples=args.examples, **extra)
            out.write(
                json.dumps({"i": i, "stage": outcome.stage, "detail": outcome.detail, "seconds": outcome.seconds})
                + "\n"
            )
            out.flush()
            print(f"{i:4d} {model.family:4s} {outcome.stage:9s} {outcome.seconds:6.2f}s", file=sys.stderr, flush=True)


def run_all(args):
    """Yield one result dict per model, running --per-process models per fresh worker process."""
    deadline = time.time() + args.time_budget if args.time_budget else 0.0
    i = 0
    while i < args.count and not (deadline and time.time() > deadline):
        stop = min(args.count, i + args.per_process)
        with tempfile.TemporaryDirectory() as tmp:
            results_file = Path(tmp) / "results.jsonl"
            results_file.touch()
            proc = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    str(results_file),
                    "--seed",
                    str(args.seed),
                    "--start",
                    str(i),
                    "--stop",
                    str(stop),
                    "--examples",
                    str(args.examples),
                    "--source",
                    args.source,
                    "--layout",
                    args.layout,
                    "--deadline",
                    str(deadline),
                ],
                stdin=subprocess.DEVNULL,
                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")},
            )
            results = [json.loads(line) for line in results_file.read_text().splitlines() if line.strip()]
        yield from results
        done = results[-1]["i"] + 1 if results else i
        if proc.returncode != 0 and done < stop:
            yield {
                "i": done,
                "stage": "crash",
                "seconds": float("nan"),
                "detail": f"the worker process died (exit status {proc.returncode}) while checking this model",
            }
            done += 1
        i = done


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--source",
        choices=sorted(SOURCES),
        default="torch",
        help="framework of the generated models (translated to the other one)",
    )
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument(
        "--layout",
        choices=["torch", "keras", "channels-first"],
        default="torch",
        help="--layout of the PyTorch -> Keras translations",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--examples", type=int, default=3, help="verifier examples per model")
    ap.add_argument("--time-budget", type=float, default=None, help="stop after this many seconds")
    ap.add_argument("--write", type=Path, help="update the random-models section of this markdown file")
    ap.add_argument("--per-process", type=int, default=25, help="models per fresh worker process")
    ap.add_argument("--worker", help=argparse.SUPPRESS)  # internal: results file of a worker process
    ap.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--stop", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--deadline", type=float, default=0.0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    if args.worker:
        worker(args)
        return

    start = time.perf_counter()
    stages: dict[str, int] = defaultdict(int)
    families: dict[str, int] = defaultdict(int)
    uses: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # construct -> [models, verified]
    failures: dict[str, list] = defaultdict(list)  # category -> [(index, model, detail)]
    seconds = []
    n = 0
    for result in run_all(args):
        i, stage, detail = result["i"], result["stage"], result["detail"]
        model = model_at(args.seed, i, args.source)
        n += 1
        if result["seconds"] == result["seconds"]:  # not NaN (a crashed worker has no timing)
            seconds.append(result["seconds"])
        stages[stage] += 1
        families[model.family] += 1
        for name in SOURCES[args.source].constructs(model):
            uses[name][0] += 1
            uses[name][1] += stage == "ok"
        if stage != "ok":
            failures[category(stage, detail)].append((i, model, detail))
    total = time.perf_counter() - start

    section, title = SECTIONS[args.source]
    construct_table = SOURCES[args.source].CONSTRUCTS
    lines = [
        f"## {title}",
        "",
        f"{n} models generated (of {args.count} requested; seed {args.seed}): "
        + ", ".join(f"{k} {v}" for k, v in sorted(families.items()))
        + ".",
        "",
    ]
    lines += md_table(
        ["outcome", "models"],
        [
            ["translated and verified equivalent", stages["ok"]],
            ["translation failed", stages["translate"]],
            ["verification failed", stages["verify"]],
            ["worker process crashed", stages["crash"]],
        ],
    )
    if seconds:
        ordered = sorted(seconds)
        lines += [
            "",
            (
                f"Time per model (translate + verify, {args.examples} verifier examples): "
                f"median {ordered[len(ordered) // 2]:.2f}s, max {ordered[-1]:.2f}s; total {total:.0f}s wall "
                f"({args.per_process} models per worker process, imports included)."
            ),
        ]
    lines += [
        "",
        "### Constructs covered",
        "",
        "Models using each construct (of the generated ones) and how many of those verified:",
        "",
    ]
    lines += md_table(
        ["construct", "models", "verified"],
        [
            [f"`{name}`" if name.startswith(("nn.", "layers.", "Activation(")) else name, *uses[name]]
            for name in construct_table
            if name in uses
        ],
    )
    lines += ["", "### Failure categories", ""]
    if not failures:
        lines += ["None.", ""]
    for cat, items in sorted(failures.items(), key=lambda kv: -len(kv[1])):
        i, model, detail = min(items, key=lambda it: len(it[1].source))
        detail = "\n".join(line for line in detail.splitlines() if "timings:" not in line)
        lines += [
            f"#### {cat} ({len(items)} models: {', '.join(str(it[0]) for it in items)})",
            "",
            f"Shortest failing source (model {i}, input shape {model.input_shape}):",
            "",
            "```python",
            model.source.rstrip(),
            "```",
            "",
            "```",
            detail.rstrip(),
            "```",
            "",
        ]
    import hypothesis
    import keras
    import tensorflow
    import torch

    extra = {m.__name__: m.__version__ for m in (torch, tensorflow, keras, hypothesis)}
    lines += ["### Run", ""] + info_lines({**extra, "seed": str(args.seed), "models": str(n), "layout": args.layout})
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section(args.write, section, text)


if __name__ == "__main__":
    main()
