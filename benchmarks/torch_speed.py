"""Inference speed of the Keras -> PyTorch translations against the same networks written by hand
as plain nn.Modules, side by side in one process.

- The Keras samples (each entry of ``samples/tf/samples.json``, at its input) against
  ``benchmarks/reference_torch/<sample>.py`` (written from the Keras sources: same layers, same
  sizes, channels first inside, the translation's channels-last interface).
- Keras' ResNet50 and MobileNetV2 (``keras/src/applications/*.py`` of the public corpus,
  translated as benchmarks/verify_keras_applications.py does, ``weights=None``, input
  (1, 224, 224, 3)) against torchvision's ``resnet50()`` / ``mobilenet_v2()``, given the same
  NHWC input through ``x.permute(0, 3, 1, 2)`` as the translation does (a second row: torchvision
  on a contiguous NCHW input, its own interface). torchvision is imported from ``--torchvision
  PATH`` (a site-packages folder of a scratch venv holding a CPU-compatible torchvision; see
  docs/benchmarks.md) or the running interpreter; without it, those rows are skipped.

Method: ``torch.set_num_threads(--threads)``; eval mode, ``torch.no_grad()``; random weights
(the same initialisation scheme does not matter for time; BatchNorm with its initial statistics);
``--warmup`` calls of each model first (not timed); then ``--repeats`` rounds, in each of which
the translated model and the reference (alternating which goes first) each run for at least
``--min-time`` seconds; a round's figure is its mean time per call; the figure reported is the
median over rounds. Many short interleaved rounds, because a shared machine's load comes in
bursts: the quartiles of the per-round ratios (each round's two models timed next to each
other) show how much the load moved the figure, and the header gives the load average. ratio = reference time / translated time (1.0: as fast; < 1: the
translation is slower). Parameter counts of both are shown as a check that they are the same
network (Keras' ResNet50 has a bias in every convolution, torchvision's none: 26,560 more).

    .venv/bin/python benchmarks/torch_speed.py [--threads 1] [--only resnet,ResNet50] [--json OUT] [--write docs/benchmarks.md]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, corpus_files, info_lines, md_table, write_section

SAMPLES = REPO / "samples" / "tf"
APPLICATIONS = {  # entry -> (corpus file, torchvision builder)
    "ResNet50": ("keras/resnet.py", "resnet50"),
    "MobileNetV2": ("keras/mobilenet_v2.py", "mobilenet_v2"),
}


def import_torchvision(path: Path | None):
    """torchvision, or None. A CUDA build of torchvision's wheel on a CPU torch cannot load its C
    extension (custom detection ops, unused by the classification models); its Python code still
    registers fake kernels for ``torchvision::nms`` / ``qnms``, which then need a schema: declared
    here, without any kernel, so that the pure-Python models import."""
    import torch

    if path is not None:
        sys.path.insert(0, str(path))
    spec = importlib.util.find_spec("torchvision")
    if spec is None:
        return None
    origin = Path(spec.origin or "").parent
    if not any(origin.glob("_C*.so")) or not _loads(origin):
        global _TV_LIB
        _TV_LIB = torch.library.Library("torchvision", "DEF")
        for op in ("nms", "qnms"):
            _TV_LIB.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return importlib.import_module("torchvision")


_TV_LIB = None


def _loads(folder: Path) -> bool:
    import torch

    try:
        torch.ops.load_library(str(next(folder.glob("_C*.so"))))
        return True
    except (OSError, RuntimeError):
        return False


def _params(model) -> int:
    return sum(p.numel() for p in model.parameters())


def time_pair(a, b, x_a, x_b, warmup: int, repeats: int, min_time: float) -> tuple[float, float, list[float]]:
    """Median over rounds of the mean seconds per call of ``a(x_a)`` and ``b(x_b)``, and each
    round's own ratio (b's time / a's, measured next to each other)."""
    import torch

    with torch.no_grad():
        for _ in range(warmup):
            a(x_a)
            b(x_b)
        start = time.perf_counter()
        a(x_a)
        per_call = max(time.perf_counter() - start, 1e-6)
        calls = max(1, int(min_time / per_call))
        times: dict[int, list[float]] = {0: [], 1: []}
        pairs = [(0, a, x_a), (1, b, x_b)]
        for round_ in range(repeats):
            for key, model, x in pairs if round_ % 2 == 0 else pairs[::-1]:
                start = time.perf_counter()
                for _ in range(calls):
                    model(x)
                times[key].append((time.perf_counter() - start) / calls)
    rounds = [r / t for t, r in zip(times[0], times[1])]
    return statistics.median(times[0]), statistics.median(times[1]), rounds


def cases(only: set[str] | None, torchvision) -> list[dict]:
    """What to time: (name, builders of the translated model and the reference, inputs)."""
    import fwtranslate
    from fwtranslate.testing.torch_usage import import_translation, make_input
    from fwtranslate.verify.loading import resolve_entry

    out = []
    tmp = Path(tempfile.mkdtemp(prefix="torch_speed_"))
    reference_dir = Path(__file__).resolve().parent / "reference_torch"
    modules: dict[str, tuple] = {}
    for case in json.loads((SAMPLES / "samples.json").read_text()):
        stem = Path(case["file"]).stem
        if only and not {stem, case["entry"]} & only:
            continue
        if stem not in modules:
            fwtranslate.translate_file(SAMPLES / case["file"], "torch", output=tmp / case["file"])
            translated = import_translation(tmp / case["file"], f"_fwtranslate_speed_{stem}")
            reference = import_translation(reference_dir / case["file"], f"_fwtranslate_reference_{stem}")
            modules[stem] = (translated, reference)
        shape = tuple(int(n) for n in case["input_shape"].split(","))
        x = make_input(shape, case.get("input_dtype"), case.get("input_range"))
        translated, reference = modules[stem]
        out.append(
            {
                "name": f"{case['file']}:{case['entry']}",
                "translated": resolve_entry(translated, case["entry"]),
                "reference": resolve_entry(reference, case["entry"]),
                "reference_name": f"reference_torch/{case['file']}",
                "x": x,
                "x_reference": x,
            }
        )
    for entry, (corpus_file, tv_name) in APPLICATIONS.items():
        if only and entry not in only:
            continue
        if torchvision is None:
            print(f"torchvision not importable: {entry} skipped", file=sys.stderr)
            continue
        path = dict(corpus_files("tf2pt"))[corpus_file]
        target = tmp / Path(corpus_file).name
        fwtranslate.translate_file(path, "torch", output=target)
        module = import_translation(target, f"_fwtranslate_speed_{target.stem}")
        x = make_input((1, 224, 224, 3))
        tv_build = getattr(torchvision.models, tv_name)
        translated = resolve_entry(module, entry)
        out.append(
            {
                "name": f"{corpus_file}:{entry}",
                "translated": lambda t=translated: t(weights=None),
                "reference": lambda b=tv_build: Permuted(b()),
                "reference_name": f"torchvision {tv_name}, NHWC input permuted",
                "x": x,
                "x_reference": x,
            }
        )
        out.append(
            {
                "name": f"{corpus_file}:{entry}",
                "translated": lambda t=translated: t(weights=None),
                "reference": tv_build,
                "reference_name": f"torchvision {tv_name}, contiguous NCHW input",
                "x": x,
                "x_reference": x.permute(0, 3, 1, 2).contiguous(),
            }
        )
    return out


class Permuted:
    """A channels-first model called on a channels-last input, as the translations are."""

    def __init__(self, model):
        self.model = model

    def eval(self):
        self.model.eval()
        return self

    def parameters(self):
        return self.model.parameters()

    def __call__(self, x):
        return self.model(x.permute(0, 3, 1, 2))


def run(args) -> list[dict]:
    import torch

    torch.set_num_threads(args.threads)
    torchvision = import_torchvision(args.torchvision)
    rows = []
    for case in cases(args.only, torchvision):
        torch.manual_seed(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            translated, reference = case["translated"]().eval(), case["reference"]().eval()
            with torch.no_grad():
                translated(case["x"])  # Lazy modules are materialized before counting
            t, r, rounds = time_pair(
                translated, reference, case["x"], case["x_reference"], args.warmup, args.repeats, args.min_time
            )
        row = {
            "model": case["name"],
            "reference": case["reference_name"],
            "input": "x".join(str(n) for n in case["x"].shape),
            "translated_ms": t * 1e3,
            "reference_ms": r * 1e3,
            "ratio": r / t,
            "round_ratios": rounds,
            "translated_params": _params(translated),
            "reference_params": _params(reference),
        }
        print(f"{row['model']} vs {row['reference']}: ratio {row['ratio']:.2f}", file=sys.stderr, flush=True)
        rows.append(row)
    return rows


def _quartiles(values: list[float]) -> str:
    if len(values) < 4:
        return "-"
    q1, _, q3 = statistics.quantiles(values, n=4)
    return f"{q1:.2f}-{q3:.2f}"


def report(rows: list[dict]) -> str:
    table = [
        [
            r["model"],
            r["reference"],
            r["input"],
            f"{r['translated_ms']:.3f}",
            f"{r['reference_ms']:.3f}",
            f"**{r['ratio']:.2f}**",
            f"{_quartiles(r['round_ratios'])}",
            f"{r['translated_params']:,}",
            f"{r['reference_params']:,}",
        ]
        for r in rows
    ]
    out = md_table(
        [
            "translated",
            "reference",
            "input",
            "translated ms",
            "reference ms",
            "ratio",
            "per-round ratios, quartiles",
            "params",
            "reference params",
        ],
        table,
    )
    if rows:
        ratios = [r["ratio"] for r in rows]
        out += [
            "",
            (
                f"- ratio (reference time / translated time): median {statistics.median(ratios):.2f}, "
                f"min {min(ratios):.2f}, max {max(ratios):.2f}; "
                f"{sum(q >= 0.95 for q in ratios)}/{len(ratios)} rows at 0.95 or more"
            ),
        ]
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed calls of each model first (default 3)")
    ap.add_argument("--repeats", type=int, default=15, help="timed rounds per pair (default 15)")
    ap.add_argument("--min-time", type=float, default=0.1, help="seconds per model per round, at least (default 0.1)")
    ap.add_argument("--torchvision", type=Path, metavar="SITE", help="a site-packages folder holding torchvision")
    ap.add_argument("--only", type=lambda s: set(s.split(",")), help="sample stems, entries or application names")
    ap.add_argument("--json", type=Path, metavar="OUT", help="write the rows as JSON")
    ap.add_argument("--write", type=Path, metavar="DOC", help="update the torch_speed section of DOC")
    args = ap.parse_args()
    import torch

    rows = run(args)
    tv = sys.modules.get("torchvision")
    extra = {
        "torch": torch.__version__,
        "torchvision": getattr(tv, "__version__", "not available"),
        "threads": str(args.threads),
        "method": f"{args.warmup} warm-up calls, median of {args.repeats} rounds of >= {args.min_time} s per model",
        "load average at the end": " ".join(f"{v:.2f}" for v in os.getloadavg()),
    }
    text = "\n".join(info_lines(extra)) + "\n\n" + report(rows)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    if args.write:
        write_section(args.write, "torch_speed", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
