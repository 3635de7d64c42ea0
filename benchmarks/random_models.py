"""Translate and verify N random PyTorch models (tests/model_strategies.py) with a fixed seed.

Model i is generated from random.Random(SEED * 1_000_003 + i), so a run is reproducible and
model i can be regenerated alone. Each model is translated to Keras and verified (inference,
training forward, gradients, SGD step). Failures are grouped by category (translation
diagnostic, or verify phase + first diverging layer) and the shortest failing source of each
category is reported. --time-budget stops early; the report states the real count.

    .venv/bin/python benchmarks/random_models.py --count 500 --seed 0 --write docs/random_models.md
"""
from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from common import info_lines, md_table, write_section  # noqa: E402
from model_strategies import check, generate  # noqa: E402


def category(stage: str, detail: str) -> str:
    if stage == "translate":
        codes = sorted(set(re.findall(r"\[([\w-]+)\]", detail))) or [detail.splitlines()[0][:60]]
        return "translate: " + ", ".join(codes)
    phase = re.search(r"reason: (\w+)", detail)
    layer = re.search(r"first diverging layer: .*?\((.*?)\)", detail)
    return f"verify/{phase.group(1) if phase else 'crash'}: " + (layer.group(1) if layer else "?")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--examples", type=int, default=3, help="verifier examples per model")
    ap.add_argument("--time-budget", type=float, default=None, help="stop after this many seconds")
    ap.add_argument("--write", type=Path, help="update the random-models section of this markdown file")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")

    start = time.perf_counter()
    stages: dict[str, int] = defaultdict(int)
    families: dict[str, int] = defaultdict(int)
    failures: dict[str, list] = defaultdict(list)  # category -> [(index, model, detail)]
    seconds = []
    for i in range(args.count):
        if args.time_budget and time.perf_counter() - start > args.time_budget:
            break
        model = generate(random.Random(args.seed * 1_000_003 + i))
        with tempfile.TemporaryDirectory() as workdir:
            outcome = check(model, workdir, examples=args.examples)
        seconds.append(outcome.seconds)
        stages[outcome.stage] += 1
        families[model.family] += 1
        if outcome.stage != "ok":
            failures[category(outcome.stage, outcome.detail)].append((i, model, outcome.detail))
        print(f"{i:4d} {model.family:4s} {outcome.stage:9s} {outcome.seconds:6.2f}s", file=sys.stderr, flush=True)
    total = time.perf_counter() - start
    n = len(seconds)

    lines = ["## Random models: translate + verify", "",
             f"{n} models generated (of {args.count} requested; seed {args.seed}): "
             + ", ".join(f"{k} {v}" for k, v in sorted(families.items())) + ".", ""]
    lines += md_table(["outcome", "models"], [["translated and verified equivalent", stages["ok"]],
                                              ["translation failed", stages["translate"]],
                                              ["verification failed", stages["verify"]]])
    if seconds:
        ordered = sorted(seconds)
        lines += ["", f"Time per model (translate + verify, {args.examples} verifier examples): "
                  f"median {ordered[n // 2]:.2f}s, max {ordered[-1]:.2f}s; total {total:.0f}s wall."]
    lines += ["", "### Failure categories", ""]
    if not failures:
        lines += ["None.", ""]
    for cat, items in sorted(failures.items(), key=lambda kv: -len(kv[1])):
        i, model, detail = min(items, key=lambda it: len(it[1].source))
        detail = "\n".join(l for l in detail.splitlines() if "timings:" not in l)
        lines += [f"#### {cat} ({len(items)} models: {', '.join(str(it[0]) for it in items)})", "",
                  f"Shortest failing source (model {i}, input shape {model.input_shape}):", "",
                  "```python", model.source.rstrip(), "```", "", "```", detail.rstrip(), "```", ""]
    import hypothesis, keras, tensorflow, torch  # noqa: E401 - versions for the report
    extra = {m.__name__: m.__version__ for m in (torch, tensorflow, keras, hypothesis)}
    lines += ["### Run", ""] + info_lines({**extra, "seed": str(args.seed), "models": str(n)})
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section(args.write, "random-models", text)


if __name__ == "__main__":
    main()
