"""PyTorch -> Keras layouts, side by side in one run on this machine's CPU.

For the image samples (samples/torch/) and three torchvision networks of the public corpus
(resnet18, mobilenet_v2, convnext_tiny; fetched and translated with ``--with-deps`` as
benchmarks/corpus.py does), each model is translated twice:

* **now**: this checkout's translator (channels last inside, the original's interface outside);
* **before**: the translator at ``--baseline`` (default 100176c, the last commit before the layout
  work: channels-first Keras layers, which TensorFlow runs on CPU only under XLA), taken from a
  ``git worktree`` of that commit.

Then, each in its own process (TensorFlow, CPU only, batch ``--batch``):

* inference time, median of ``--repeat`` calls after two warm-up calls: now in graph mode
  (``tf.function``), now under XLA, before under XLA (its only mode on CPU);
* the transposes one forward pass runs (``keras.ops.moveaxis`` and ``keras.layers.Permute``
  calls, counted while tracing) and the time of those same transposes alone, on tensors of the
  same shapes in one ``tf.function``: ``now - transposes`` estimates the same graph with no
  transposes, and the "vs no-transpose graph" column is ``(now - transposes) / now``;
* the quick-start ``fwtranslate verify`` (samples/torch/resnet.py, 10 examples), now and before:
  wall time, and its own timings line minus the frameworks' import.

With ``--layout keras`` "now" is translated with that option (the model is given the input moved
to channels last, as its header says); ``--before-graph`` also times "before" in graph mode and
counts its transposes (for a baseline that already runs channels last inside, e.g. the commit
before the class contracts).

    .venv/bin/python benchmarks/layout.py --write docs/layout.md
    .venv/bin/python benchmarks/layout.py --no-corpus     # samples only (no download)
    .venv/bin/python benchmarks/layout.py --baseline c4dc16d --before-graph --layout keras
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DEFAULT_CORPUS_DIR, REPO, corpus_entries, corpus_files, info_lines, md_table

SAMPLES = [("lenet", "LeNet", (1, 28, 28)), ("resnet", "ResNet", (3, 32, 32)), ("unet", "UNet", (3, 32, 32))]
CORPUS = ["torchvision/resnet.py", "torchvision/mobilenetv2.py", "torchvision/convnext.py"]
ENV = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}


# --- translating, now and before ------------------------------------------------------------------
def baseline_tree(commit: str, work: Path) -> Path:
    tree = work / f"fwtranslate-{commit}"
    if not tree.is_dir():
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), commit], check=True, capture_output=True
        )
    return tree


def fwtranslate_command(src_root: Path | None) -> tuple[list[str], dict]:
    """The command line of the translator at ``src_root`` (None: this checkout's)."""
    env = dict(ENV)
    if src_root is not None:
        env["PYTHONPATH"] = str(src_root / "src")
    return [sys.executable, "-c", "import sys; from fwtranslate.cli import main; sys.exit(main())"], env


def translate(src: Path, out: Path, src_root: Path | None, with_deps: bool = False, layout: str = "torch") -> None:
    command, env = fwtranslate_command(src_root)
    extra = ["--with-deps"] if with_deps else []
    if layout != "torch":  # "now" only: a baseline may not know the option
        extra += ["--layout", layout]
    subprocess.run([*command, str(src), "--to", "tf", *extra, "-o", str(out), "-q"], env=env, capture_output=True)


# --- one model's timings, in a child process -------------------------------------------------------
def child(spec: dict) -> dict:
    import importlib

    import keras
    import numpy as np
    import tensorflow as tf

    sys.path.insert(0, spec["root"])
    module = importlib.import_module(spec["module"])
    build = getattr(module, spec["entry"])
    moves: list[tuple[tuple, tuple]] = []  # (input shape, permutation)
    moveaxis = keras.ops.moveaxis

    def recording_moveaxis(x, source, destination):
        rank = len(x.shape)
        order = [a for a in range(rank) if a != source % rank]
        order.insert(destination % rank, source % rank)
        moves.append((tuple(x.shape), tuple(order)))
        return moveaxis(x, source, destination)

    permute_call = keras.layers.Permute.call

    def recording_permute(self, inputs):
        moves.append((tuple(inputs.shape), (0, *self.dims)))
        return permute_call(self, inputs)

    keras.ops.moveaxis = recording_moveaxis
    keras.layers.Permute.call = recording_permute
    model = build()
    x = np.random.default_rng(0).uniform(-1, 1, size=spec["shape"]).astype("float32")
    try:  # a model that takes channels-last tensors (its header says so) gets them
        from fwtranslate.verify.interface import KerasInterface

        if KerasInterface.of(module.__file__, model).takes_last:
            x = np.ascontiguousarray(np.moveaxis(x, 1, -1))
    except ImportError:  # a baseline without layout headers
        pass
    results: dict = {}
    for mode in spec["modes"]:
        fn = tf.function(lambda t: model(t, training=False), jit_compile=(mode == "xla"))
        try:
            moves.clear()
            fn(x)  # traces (the recorded moves are one forward pass's) and compiles
            traced = list(moves)
            fn(x)
            times = []
            for _ in range(spec["repeat"]):
                start = time.perf_counter()
                fn(x)
                times.append(time.perf_counter() - start)
            results[mode] = statistics.median(times)
            results["transposes"] = len(traced)
        except Exception as exc:  # noqa: BLE001 - reported in the table
            results[mode] = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:120]}"
    if spec.get("transposes_alone") and "transposes" in results:
        keras.ops.moveaxis = moveaxis
        tensors = [
            tf.constant(np.random.default_rng(1).standard_normal(shape).astype("float32")) for shape, _ in traced
        ]
        perms = [perm for _, perm in traced]

        @tf.function
        def alone(*ts):
            return [tf.transpose(t, perm) for t, perm in zip(ts, perms)]

        if tensors:
            alone(*tensors)
            alone(*tensors)
            times = []
            for _ in range(spec["repeat"]):
                start = time.perf_counter()
                alone(*tensors)
                times.append(time.perf_counter() - start)
            results["transposes_s"] = statistics.median(times)
        else:
            results["transposes_s"] = 0.0
    return results


def timed(root: Path, module: str, entry: str, shape: tuple, modes: list[str], repeat: int, alone: bool) -> dict:
    spec = {"root": str(root), "module": module, "entry": entry, "shape": list(shape), "modes": modes}
    spec.update(repeat=repeat, transposes_alone=alone)
    proc = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True, env=ENV, timeout=3600
    )
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return {m: f"crashed (exit {proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}" for m in modes}


# --- the models ----------------------------------------------------------------------------------
def models(work: Path, corpus: bool, baseline: Path, layout: str = "torch") -> list[dict]:
    rows = []
    for name, entry, shape in SAMPLES:
        for which, root in (("now", None), ("before", baseline)):
            out = work / which / "samples"
            out.mkdir(parents=True, exist_ok=True)
            translate(
                REPO / "samples" / "torch" / f"{name}.py",
                out / f"{name}_tf.py",
                root,
                layout=layout if root is None else "torch",
            )
        rows.append(
            {
                "model": f"samples/torch/{name}.py",
                "root": "samples",
                "module": f"{name}_tf",
                "entry": entry,
                "shape": shape,
            }
        )
    if corpus:
        import corpus as corpus_bench

        corpus_files("pt2tf")  # fetches the archives when missing
        entries = {e["file"]: e for e in corpus_entries("pt2tf")}
        for file in CORPUS:
            entry = entries[file]
            package = corpus_bench.unpack_package(entry, DEFAULT_CORPUS_DIR)
            source = package / entry["path_in_archive"]
            for which, root in (("now", None), ("before", baseline)):
                out = work / which / "corpus" / Path(file).stem
                shutil.rmtree(out, ignore_errors=True)
                translate(source, out, root, with_deps=True, layout=layout if root is None else "torch")
            module = entry["path_in_archive"][:-3].replace("/", ".")
            rows.append(
                {
                    "model": f"{file} {entry['entry']}",
                    "root": f"corpus/{Path(file).stem}",
                    "module": module,
                    "entry": entry["entry"],
                    "shape": tuple(entry["input_shape"][1:]),
                }
            )
    return rows


# --- verify, now and before ---------------------------------------------------------------------------
def verify_times(work: Path, baseline: Path) -> list[list]:
    rows = []
    for which, root in (("now", None), ("before", baseline)):
        out = work / which / "samples" / "resnet_tf.py"
        command, env = fwtranslate_command(root)
        args = [
            "verify",
            str(REPO / "samples/torch/resnet.py"),
            str(out),
            "--entry",
            "ResNet",
            "--input-shape",
            "2,3,32,32",
            "--examples",
            "10",
        ]
        start = time.perf_counter()
        proc = subprocess.run([*command, *args], capture_output=True, text=True, env=env)
        wall = time.perf_counter() - start
        verdict = (proc.stdout.strip().splitlines() or ["?"])[0].split(":")[0]
        timings = re.search(r"timings: (.*)", proc.stdout)
        parts = dict(re.findall(r"(\w+) ([\d.]+)s", timings.group(1))) if timings else {}
        after_import = float(parts["total"]) - float(parts.get("import", 0)) if "total" in parts else None
        rows.append([which, verdict, f"{wall:.1f}", f"{after_import:.1f}" if after_import is not None else "?"])
    return rows


def fmt(value) -> str:
    return f"{value * 1000:.1f}" if isinstance(value, float) else str(value)[:60]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--baseline", default="100176c")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--no-corpus", action="store_true")
    parser.add_argument("--write", type=Path)
    parser.add_argument("--layout", default="torch", help="--layout of the 'now' translations")
    parser.add_argument("--before-graph", action="store_true", help="also time 'before' in graph mode")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    work = Path(tempfile.mkdtemp(prefix="fwtranslate-layout-"))
    baseline = baseline_tree(args.baseline, work)
    start = time.perf_counter()
    table = []
    for row in models(work, not args.no_corpus, baseline, args.layout):
        shape = (args.batch, *row["shape"])
        now = timed(work / "now" / row["root"], row["module"], row["entry"], shape, ["graph", "xla"], args.repeat, True)
        before_modes = ["graph", "xla"] if args.before_graph else ["xla"]
        before = timed(
            work / "before" / row["root"], row["module"], row["entry"], shape, before_modes, args.repeat, False
        )
        graph, transposes_s = now.get("graph"), now.get("transposes_s")
        ratio = (graph - transposes_s) / graph if isinstance(graph, float) and isinstance(transposes_s, float) else "?"
        speedup = before["xla"] / graph if isinstance(graph, float) and isinstance(before.get("xla"), float) else "?"
        table.append(
            [
                row["model"],
                fmt(graph),
                fmt(now.get("xla")),
                fmt(before.get("xla")),
                f"{speedup:.2f}x" if isinstance(speedup, float) else speedup,
                now.get("transposes", "?"),
                fmt(transposes_s),
                f"{ratio:.3f}" if isinstance(ratio, float) else ratio,
                *([fmt(before.get("graph")), before.get("transposes", "?")] if args.before_graph else []),
            ]
        )
        print(" | ".join(map(str, table[-1])), file=sys.stderr, flush=True)
    verify = verify_times(work, baseline)
    seconds = time.perf_counter() - start
    lines = [
        "# PyTorch -> Keras layouts: channels last inside",
        "",
        *info_lines(
            {
                "baseline": f"{args.baseline}" + (" (before the layout work)" if args.baseline == "100176c" else ""),
                "layout": args.layout,
                "batch": str(args.batch),
                "wall": f"{seconds:.0f} s",
            }
        ),
        "",
        f"Inference, milliseconds per call of batch {args.batch} (median of {args.repeat}, CPU):",
        "",
        *md_table(
            [
                "model",
                "now, graph",
                "now, XLA",
                "before, XLA",
                "before XLA / now graph",
                "transposes per call",
                "those transposes alone",
                "vs no-transpose graph",
                *(["before, graph", "before: transposes per call"] if args.before_graph else []),
            ],
            table,
        ),
        "",
        "Quick-start verify (`fwtranslate verify samples/torch/resnet.py ... --examples 10`), seconds:",
        "",
        *md_table(["translator", "verdict", "wall", "after the frameworks' import"], verify),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        args.write.write_text(text)
    subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(baseline)], capture_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
