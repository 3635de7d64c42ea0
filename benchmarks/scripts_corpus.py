"""Whole scripts, end to end: data loading -> model -> training -> evaluation -> checkpoint reload.

The scripts are ``benchmarks/scripts/torch/*.py`` (translated ``--to tf``) and
``benchmarks/scripts/keras/*.py`` (``--to torch``), written for this project after the
frameworks' common examples (torchvision datasets and transforms, DataLoader, devices,
``torch.save(model.state_dict())``; ``keras.datasets``, tf.data, ``fit`` with callbacks,
``evaluate``, ``save_weights`` / ``load_weights``). Each takes ``--epochs``, ``--resume`` and
``--save-model`` (torchvision ones ``--data``, Keras' CIFAR-10 one ``--train-samples``) and logs ``epoch N train loss X``, ``test ...`` and
``reloaded: max prediction difference D`` (its own saved checkpoint reloaded into a new model).

For each script (user code runs in child processes, never in this one):

1. synthetic datasets are written where the loaders read them (``scripts_data.py``), once;
2. the script is translated (``fwtranslate.translate``): exit status (0 no error diagnostic, 1
   some, 2 the translator raised) and the diagnostics by code;
3. the same initial weights for both: the original's model, built by its entry (``ENTRIES``),
   saves its untrained weights, and ``fwtranslate weights`` converts them to the translation's
   framework; when that fails both start from their own initial weights ("own" in the table);
4. original and translation run unmodified, with the same command line, each in its own folder
   (``scripts_runner.py``: ``python SCRIPT --epochs E --resume INIT [--data DATA]``): exit code,
   per-epoch training losses, the test line, the reload line;
5. compared: the translation runs (exit 0 and every expected log line); its loss falls (last epoch
   below the first); the losses match the original's epoch by epoch (rtol ``RTOL``, only when
   + ``ATOL``, only when both started from the same weights; the data order is fixed: no shuffling); the reload gives
   the same predictions (difference at most ``RELOAD_ATOL``).

    .venv/bin/python benchmarks/scripts_corpus.py --torchvision /tmp/tv
    .venv/bin/python benchmarks/scripts_corpus.py --only mnist_cnn --direction torch --json out.json

Without ``--torchvision`` (a site folder holding torchvision and Pillow, never the project's
venv) the torchvision scripts' originals cannot run: their translations still run (they need no
torchvision), without a comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, info_lines, md_table
from scripts_data import write_all
from training_corpus import fwtranslate_root, translate

SCRIPTS = REPO / "benchmarks" / "scripts"
RUNNER = Path(__file__).resolve().parent / "scripts_runner.py"
TARGET = {"torch": "tf", "keras": "torch"}
OTHER = {"torch": "keras", "keras": "torch"}
ENTRIES = {  # script -> (the class or function that builds its model, an input shape for building it)
    "torch/mnist_cnn": ("Net", "2,1,28,28"),
    "torch/fashion_mlp": ("NeuralNetwork", "2,1,28,28"),
    "torch/cifar10_cnn": ("Net", "2,3,32,32"),
    "torch/regression_tensordataset": ("Regressor", "2,8"),
    "keras/mnist_convnet": ("build_model", "2,28,28,1"),
    "keras/cifar10_callbacks": ("build_model", "2,32,32,3"),
    "keras/fashion_tfdata": ("build_model", "2,28,28"),
    "keras/mnist_custom_loop": ("build_model", "2,784"),
}
RESUME = {"torch": "init.pt", "keras": "init.weights.h5"}  # the initial weights, in each side's folder
RTOL, ATOL = 1e-3, 1e-5  # per-epoch mean losses, after a few epochs of float32 training on each side
RELOAD_ATOL = 1e-5
EPOCH = re.compile(r"^epoch (\d+) train loss (\S+)$", re.M)
TEST = re.compile(r"^test (.*)$", re.M)
RELOAD = re.compile(r"^reloaded: max prediction difference (\S+)$", re.M)


def scripts(direction: str | None = None, only: str | None = None) -> list[tuple[str, str, Path]]:
    found = []
    for framework in ("torch", "keras"):
        if direction in (None, framework):
            for path in sorted((SCRIPTS / framework).glob("*.py")):
                if only in (None, path.stem, f"{framework}/{path.stem}"):
                    found.append((path.stem, framework, path))
    return found


class Runner:
    """Child processes with the synthetic data's environment."""

    def __init__(self, data_root: Path, torchvision: Path | None, timeout: float):
        self.folders = write_all(data_root)
        self.timeout = timeout
        path = [fwtranslate_root(), str(torchvision) if torchvision else None, os.environ.get("PYTHONPATH")]
        self.env = {
            **os.environ,
            "KERAS_BACKEND": "tensorflow",
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "KERAS_HOME": self.folders["keras_home"],
            "FWTRANSLATE_SYNTHETIC_DATA": str(data_root),
            "PYTHONPATH": os.pathsep.join(filter(None, path)),
        }

    def run(self, args: list[str], cwd: Path) -> dict:
        start = time.perf_counter()
        try:
            done = subprocess.run(
                [sys.executable, str(RUNNER), *args],
                cwd=cwd,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=self.timeout,
            )
        except subprocess.TimeoutExpired:
            return {"rc": "timeout", "log": "", "s": self.timeout}
        return {"rc": done.returncode, "log": done.stdout + done.stderr, "s": time.perf_counter() - start}


def parse(log: str) -> dict:
    losses = [float(v) for _, v in EPOCH.findall(log)]
    tests = TEST.findall(log)
    reload = RELOAD.findall(log)
    return {"losses": losses, "test": tests[-1] if tests else None, "reload": float(reload[-1]) if reload else None}


def last_error(log: str) -> str:
    lines = [line for line in log.strip().splitlines() if line.strip()]
    for i in range(len(lines) - 1, -1, -1):
        if re.match(r"^[A-Za-z_.]+(Error|Exception|Exit)\b", lines[i]):
            where = next((line.strip() for line in reversed(lines[:i]) if line.strip().startswith("File ")), "")
            return f"{lines[i]} ({where})"[:300]
    return (lines[-1] if lines else "no output")[:300]


def initial_weights(runner: Runner, name: str, framework: str, original: Path, translated: Path, work: Path) -> str:
    """Writes ``work/original/INIT`` and ``work/translation/INIT`` (the same weights, each in its
    framework's format); returns "same", or "own: why" when they could not be made."""
    entry, shape = ENTRIES.get(f"{framework}/{name}", (None, None))
    if entry is None:
        return "own: no entry in ENTRIES"
    # the same --resume for both: the torch side's file is init.pt, the Keras side's
    # init.weights.h5, and a translated torch load appends Keras' ending to its path
    init = RESUME[framework]
    source = work / "original" / init
    converted_name = "init.pt.weights.h5" if framework == "torch" else "init.pt"
    target = work / "translation" / converted_name
    made = runner.run(["--initial-weights", entry, str(source), str(original)], work)
    if made["rc"] != 0:
        return f"own: the original's model: {last_error(made['log'])}"
    cli = shutil.which("fwtranslate", path=str(Path(sys.executable).parent)) or shutil.which("fwtranslate")
    if cli is None:
        return "own: no fwtranslate command"
    args = [cli, "weights", str(original), str(translated), "--entry", entry, "--input-shape", shape]
    converted = runner.run([*args, "--from", str(source), "--to", str(target)], work)
    if converted["rc"] != 0 or not target.exists():
        return f"own: fwtranslate weights: {last_error(converted['log'])}"
    if framework == "keras":  # a torch state dict under the name the original loads
        target.rename(target.with_name(init))
    return "same"


def measure(name: str, framework: str, path: Path, runner: Runner, epochs: int, work: Path) -> dict:
    row: dict = {"script": f"{framework}/{name}", "direction": f"{framework} -> {OTHER[framework]}"}
    result = translate(path, TARGET[framework])
    row.update({k: v for k, v in result.items() if k not in ("code", "errors")})
    row["errors"] = result.get("errors", [])[:5]
    if result["code"] is None:
        row.update(runs=False)
        return row
    work = work / f"{framework}_{name}"
    for side in ("original", "translation"):
        (work / side).mkdir(parents=True)
    original = work / f"{name}.py"
    shutil.copy(path, original)
    translated = work / f"{name}_{TARGET[framework]}.py"
    translated.write_text(result["code"], encoding="utf-8")
    row["init"] = initial_weights(runner, name, framework, original, translated, work)
    args = ["--epochs", str(epochs)]
    source = path.read_text(encoding="utf-8")
    if "--data" in source:
        args += ["--data", runner.folders["data"]]
    if "--train-samples" in source:  # Keras' CIFAR-10 cache holds 50,000 images; 512 are enough here
        args += ["--train-samples", "512"]
    if row["init"] == "same":
        args += ["--resume", RESUME[framework]]
    for side, script in (("original", original), ("translation", translated)):
        done = runner.run([str(script), *args], work / side)
        facts = parse(done["log"])
        row[side] = {"rc": done["rc"], "s": round(done["s"], 1), **facts}
        if done["rc"] != 0:
            row[side]["error"] = last_error(done["log"])
    o, t = row["original"], row["translation"]
    row["runs"] = t["rc"] == 0 and len(t["losses"]) == epochs and t["test"] is not None and t["reload"] is not None
    row["loss_falls"] = len(t["losses"]) >= 2 and t["losses"][-1] < t["losses"][0]
    if o["rc"] == 0 and len(o["losses"]) == len(t["losses"]) == epochs:
        pairs = list(zip(o["losses"], t["losses"], strict=True))
        row["max_loss_rel_diff"] = max(abs(a - b) / max(abs(a), 1e-12) for a, b in pairs)
        row["losses_match"] = row["init"] == "same" and all(abs(a - b) <= ATOL + RTOL * abs(a) for a, b in pairs)
    else:
        row["losses_match"] = None if o["rc"] != 0 else False
    row["reload_ok"] = t["reload"] is not None and t["reload"] <= RELOAD_ATOL
    return row


def yes(value) -> str:
    return "-" if value is None else ("**yes**" if value else "no")


def table(rows: list[dict]) -> str:
    def losses(side: dict) -> str:
        return " ".join(f"{v:.4f}" for v in side.get("losses", [])) or "-"

    body = []
    for r in rows:
        o, t = r.get("original", {}), r.get("translation", {})
        body.append(
            [
                r["script"],
                r["direction"],
                r["exit"],
                ", ".join(f"{k} x{v}" for k, v in r["diagnostics"].items()) or "-",
                f"{o.get('rc', '-')} / {t.get('rc', '-')}",
                r.get("init", "-").split(":")[0],
                yes(r.get("runs")),
                f"{losses(o)} / {losses(t)}",
                yes(r.get("loss_falls")),
                yes(r.get("losses_match")),
                f"{r['max_loss_rel_diff']:.1e}" if r.get("max_loss_rel_diff") is not None else "-",
                f"{o.get('test') or '-'} / {t.get('test') or '-'}",
                yes(r.get("reload_ok")) + (f" ({t['reload']:.1g})" if t.get("reload") is not None else ""),
            ]
        )
    lines = md_table(
        [
            "script",
            "direction",
            "translate exit",
            "diagnostics",
            "run exit (original / translation)",
            "initial weights",
            "translation runs",
            "epoch losses (original / translation)",
            "loss falls",
            "losses match",
            "max loss rel. diff",
            "test (original / translation)",
            "reload same predictions",
        ],
        body,
    )
    ran = [r for r in rows if r.get("runs")]
    lines += [
        "",
        (
            f"- scripts: {len(rows)}; translated with exit 0: {sum(r['exit'] == 0 for r in rows)}; translations "
            f"run end to end: **{len(ran)}**; loss falls: {sum(bool(r.get('loss_falls')) for r in rows)}; losses "
            f"match the original's: {sum(bool(r.get('losses_match')) for r in rows)}; reload gives the same "
            f"predictions: {sum(bool(r.get('reload_ok')) for r in rows)}"
        ),
    ]
    notes = []
    for r in rows:
        for side in ("original", "translation"):
            if r.get(side, {}).get("error"):
                notes.append(f"- `{r['script']}` {side}: {r[side]['error']}")
        if r.get("init", "same") != "same":
            notes.append(f"- `{r['script']}` initial weights {r['init']}")
        if r.get("errors"):
            notes.append(f"- `{r['script']}` translation errors: " + "; ".join(e[:120] for e in r["errors"]))
    if notes:
        lines += ["", "Why a row is not all yes:", "", *notes]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", help="one script, by name (mnist_cnn) or framework/name")
    ap.add_argument("--direction", choices=["torch", "keras"], help="the originals' framework (default: both)")
    ap.add_argument("--epochs", type=int, default=3, help="epochs per run (default 3)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per run (default 600)")
    ap.add_argument("--torchvision", type=Path, metavar="SITE", help="a folder holding torchvision (and Pillow)")
    ap.add_argument("--json", type=Path, metavar="FILE", help="also write the rows as JSON")
    args = ap.parse_args()
    found = scripts(args.direction, args.only)
    if not found:
        raise SystemExit(f"no script matches --only {args.only!r} --direction {args.direction!r}")
    started = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix="fwtranslate-scripts-") as tmp:
        runner = Runner(Path(tmp) / "synthetic", args.torchvision, args.timeout)
        for name, framework, path in found:
            row = measure(name, framework, path, runner, args.epochs, Path(tmp))
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for package in ("torch", "tensorflow-cpu", "tensorflow", "keras"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            pass
    tv = "not given (--torchvision)"
    if args.torchvision:
        found_tv = sorted(args.torchvision.glob("torchvision-*.dist-info"))
        tv = found_tv[0].name.removesuffix(".dist-info").replace("-", " ") if found_tv else str(args.torchvision)
    header = info_lines(
        {
            "wall time": f"{time.perf_counter() - started:.0f} s",
            "frameworks": ", ".join(f"{k} {v}" for k, v in versions.items()) + f"; torchvision: {tv}",
            "compared": f"{args.epochs} epochs, synthetic data, loss rtol {RTOL:g} + atol {ATOL:g}, reload atol {RELOAD_ATOL:g}",
        }
    )
    text = "\n".join(
        ["Generated by `benchmarks/scripts_corpus.py` (method: its docstring).", "", *header, "", table(rows), ""]
    )
    print(text)
    if args.json:
        args.json.write_text(json.dumps({"info": header, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
