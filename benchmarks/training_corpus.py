"""Training code, end to end: each training script translated, trained on both sides, compared.

The scripts are ``benchmarks/training/torch/*.py`` (translated ``--to tf``) and
``benchmarks/training/keras/*.py`` (translated ``--to torch``), written for this project with
synthetic NumPy data. Each defines ``build_model()``, ``batches(epochs, steps, seed)`` and
``train(model, epochs)``, which runs the script's own optimizer, loss, schedule and loop and
returns the per-step losses (4 epochs x 5 steps = 20).

For each script:

1. translate it (``fwtranslate.translate``): exit status (0: no error diagnostic, 1: some, 2:
   the translator raised) and the diagnostics counted by code;
2. in a child process under a time limit (user code runs there, never in this one): import the
   original and the translation from files, build both models (a Keras model the translation
   left unbuilt is built by a call on the first batch), copy the original's initial weights
   into the translation (``fwtranslate.weights``: ``transfer.torch_to_keras`` for a PyTorch
   original, ``from_keras.keras_to_torch_model`` for a Keras one), run both ``train()``s;
3. compare the losses step by step and the trained parameters: the translation's are copied
   back, through the same transfer, into a fresh model of the original's framework and compared
   tensor by tensor with the original's (float32, rtol 1e-4, atol 1e-5; integer buffers such as
   BatchNorm's ``num_batches_tracked`` are not compared).

A translation whose ``train()`` raises is reported as not running, never as matching.
``--self-check`` compares each original with itself instead (it must match).

    .venv/bin/python benchmarks/training_corpus.py
    .venv/bin/python benchmarks/training_corpus.py --only sgd_mnist --direction torch --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, info_lines, md_table

SCRIPTS = REPO / "benchmarks" / "training"
TARGET = {"torch": "tf", "keras": "torch"}  # the script's framework -> fwtranslate's --to
RTOL, ATOL = 1e-4, 1e-5


# --- the scripts and their translation (this process: no framework imported) --------------------
def scripts(direction: str | None = None, only: str | None = None) -> list[tuple[str, str, Path]]:
    """``(name, framework, path)`` of each script, torch first, by name."""
    found = []
    for framework in ("torch", "keras"):
        if direction not in (None, framework):
            continue
        for path in sorted((SCRIPTS / framework).glob("*.py")):
            if only in (None, path.stem, f"{framework}/{path.stem}"):
                found.append((path.stem, framework, path))
    return found


def translate(path: Path, to: str) -> dict:
    """The translation of ``path``: its code, exit status and diagnostics by code."""
    import fwtranslate

    start = time.perf_counter()
    try:
        result = fwtranslate.translate(path.read_text(encoding="utf-8"), to=to, path=str(path))
    except Exception as exc:  # noqa: BLE001 - a translator crash is a row, not the end of the run
        return {"exit": 2, "code": None, "diagnostics": {}, "error": f"{type(exc).__name__}: {exc}"[:300]}
    errors = [d for d in result.diagnostics if d.severity == "error"]
    counts = Counter(f"{d.severity} {d.code}" for d in result.diagnostics)
    return {
        "exit": 1 if errors else 0,
        "code": result.code,
        "diagnostics": dict(sorted(counts.items())),
        "errors": [d.message for d in errors],
        "translate_s": time.perf_counter() - start,
    }


# --- the comparison (a child process, or a test: both frameworks imported here) ------------------
def load_module(path: Path, name: str):
    """``path`` imported as a fresh module called ``name`` (registered while it is imported, as
    dataclasses and pickling need)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    except BaseException:
        del sys.modules[name]
        raise
    return module


def framework_of(model) -> str:
    import torch

    if isinstance(model, torch.nn.Module):
        return "torch"
    import keras

    if isinstance(model, keras.layers.Layer):
        return "keras"
    raise TypeError(f"build_model() returned a {type(model).__name__}, neither a torch module nor a Keras layer")


def first_inputs(module) -> object:
    """The first batch's inputs (``x`` of the first ``(x, y)``), as the script yields them."""
    return next(iter(module.batches(epochs=1, steps=1)))[0]


def ensure_built(model, module) -> None:
    """Weights exist: a Keras model is called on the first batch when it has no variables yet; a
    torch model with lazy modules runs once (in eval mode, so BatchNorm statistics stay)."""
    kind = framework_of(model)
    x = first_inputs(module)
    if kind == "keras":
        if not model.built or not model.variables:
            model(x, training=False)
        return
    import torch
    from torch.nn.parameter import UninitializedParameter

    if any(isinstance(p, UninitializedParameter) for p in model.parameters()):
        was = model.training
        model.eval()
        with torch.no_grad():
            model(torch.as_tensor(x))
        model.train(was)


def copy_weights(source, target) -> str:
    """``source``'s weights into ``target`` (either framework); returns how."""
    kinds = framework_of(source), framework_of(target)
    if kinds == ("torch", "torch"):
        target.load_state_dict(source.state_dict())
        return "state_dict"
    if kinds == ("keras", "keras"):
        for s, t in zip(source.variables, target.variables, strict=True):
            t.assign(s.value)
        return "variables"
    if kinds == ("torch", "keras"):
        from fwtranslate.weights.transfer import torch_to_keras

        return f"transfer.torch_to_keras: {torch_to_keras(source, target).tensor_count} tensors"
    from fwtranslate.weights.from_keras import keras_to_torch_model

    return f"from_keras.keras_to_torch_model: {keras_to_torch_model(source, target).tensor_count} tensors"


def copy_back(trained, fresh) -> None:
    """The trained translation's weights into a fresh model of the original's framework, by the
    transfer that moved them forward (run the other way)."""
    kinds = framework_of(trained), framework_of(fresh)
    if kinds[0] == kinds[1]:
        copy_weights(trained, fresh)
    elif kinds == ("keras", "torch"):
        from fwtranslate.weights.transfer import keras_to_torch

        keras_to_torch(trained, fresh)
    else:
        from fwtranslate.weights.from_keras import torch_to_keras_model

        torch_to_keras_model(trained, fresh)


def float_tensors(model) -> dict:
    """Name -> NumPy array of every floating-point parameter, buffer or variable."""
    import numpy as np

    if framework_of(model) == "torch":
        return {k: v.detach().cpu().numpy() for k, v in model.state_dict().items() if v.is_floating_point()}
    out = {}
    for i, v in enumerate(model.variables):
        value = np.asarray(v.numpy())
        if value.dtype.kind == "f" and "seed_generator" not in v.path:
            # by position, and the path without Keras' per-process name counters ("dense_4"): a
            # fresh model of the same builder has other layer names, the same variables
            out[f"{i}:{re.sub(r'_[0-9]+(?=/|$)', '', v.path)}"] = value
    return out


def compare_losses(reference: list, other: list) -> dict:
    import numpy as np

    n = min(len(reference), len(other))
    a, b = np.asarray(reference[:n], dtype=np.float64), np.asarray(other[:n], dtype=np.float64)
    close = np.isclose(b, a, rtol=RTOL, atol=ATOL)
    bad = np.flatnonzero(~close)
    first = int(bad[0]) + 1 if bad.size else (n + 1 if len(reference) != len(other) else None)
    return {
        "losses_match": bool(close.all()) and len(reference) == len(other) and n > 0,
        "first_diverging_step": first,
        "max_loss_abs_diff": float(np.max(np.abs(a - b))) if n else None,
    }


def compare_params(reference: dict, other: dict) -> dict:
    import numpy as np

    only = sorted(reference.keys() ^ other.keys())  # a tensor on one side only: a mismatch
    match, worst, worst_name, shapes = not only, 0.0, None, []
    for name in sorted(reference.keys() & other.keys()):
        a, b = reference[name], other[name]
        if a.shape != b.shape:
            match = False
            shapes.append(f"{name}: {a.shape} vs {b.shape}")
            continue
        diff = float(np.max(np.abs(a - b))) if a.size else 0.0
        match = match and bool(np.allclose(b, a, rtol=RTOL, atol=ATOL))
        if worst_name is None or diff > worst:
            worst, worst_name = diff, name
    row = {"params_match": match, "max_param_abs_diff": worst, "worst_param": worst_name}
    if only or shapes:
        row["params_differ"] = (shapes + [f"not in both: {n}" for n in only])[:6]
    return row


def compare_modules(original, translated, epochs: int = 4) -> dict:
    """Train the original and ``translated`` (a module of either framework following the same
    contract) from the same initial weights; the facts of the comparison."""
    from fwtranslate.verify.backend import torch_beside_tensorflow

    row: dict = {"runs": False, "losses_match": False, "params_match": False}
    with torch_beside_tensorflow():
        model = original.build_model()
        ensure_built(model, original)
        try:
            other = translated.build_model()
            ensure_built(other, original)  # the translation keeps the original's input interface
            row["transfer"] = copy_weights(model, other)
        except Exception as exc:  # noqa: BLE001 - reported
            row["error"] = f"build/transfer: {type(exc).__name__}: {exc}"[:400]
            return row
        reference = [float(v) for v in original.train(model, epochs=epochs)]
        row["steps"] = len(reference)
        try:
            losses = [float(v) for v in translated.train(other, epochs=epochs)]
        except Exception as exc:  # noqa: BLE001 - reported: the translation does not run
            tb = traceback.extract_tb(exc.__traceback__)
            where = next((f"line {f.lineno}" for f in reversed(tb) if f.filename == translated.__file__), "")
            row["error"] = f"train() raised at {where}: {type(exc).__name__}: {exc}"[:400]
            return row
        row["runs"] = True
        row.update(compare_losses(reference, losses))
        try:
            fresh = original.build_model()
            ensure_built(fresh, original)
            copy_back(other, fresh)
            row.update(compare_params(float_tensors(model), float_tensors(fresh)))
        except Exception as exc:  # noqa: BLE001 - reported
            row["error"] = f"parameters back: {type(exc).__name__}: {exc}"[:400]
    return row


def child(args: argparse.Namespace) -> int:
    """Worker mode: compare two script files, print one ``ROW`` line."""
    import warnings

    warnings.filterwarnings("ignore")
    try:
        original = load_module(Path(args.child[0]), "_training_original")
        try:
            translated = load_module(Path(args.child[1]), "_training_translated")
        except Exception as exc:  # noqa: BLE001 - the translation does not even import
            row = {"runs": False, "losses_match": False, "params_match": False}
            row["error"] = f"import: {type(exc).__name__}: {exc}"[:400]
        else:
            row = compare_modules(original, translated, args.epochs)
    except Exception as exc:  # noqa: BLE001 - the original itself failed: a row too
        traceback.print_exc()
        row = {"runs": False, "losses_match": False, "params_match": False}
        row["error"] = f"original failed: {type(exc).__name__}: {exc}"[:400]
    print("ROW " + json.dumps(row), flush=True)
    return 0


def fwtranslate_root() -> str:
    import importlib.util

    spec = importlib.util.find_spec("fwtranslate")
    if spec is None or not spec.submodule_search_locations:
        return str(REPO / "src")
    return str(Path(next(iter(spec.submodule_search_locations))).parent)


def run_child(original: Path, translated: Path, epochs: int, timeout: float) -> dict:
    command = [sys.executable, __file__, "--child", str(original), str(translated), "--epochs", str(epochs)]
    env = {
        **os.environ,
        "KERAS_BACKEND": "tensorflow",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        # the child uses the fwtranslate this process translates with (found, not imported)
        "PYTHONPATH": os.pathsep.join(filter(None, [fwtranslate_root(), os.environ.get("PYTHONPATH")])),
    }
    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"runs": False, "losses_match": False, "params_match": False, "error": f"over {timeout:.0f} s"}
    found = [line[4:] for line in run.stdout.splitlines() if line.startswith("ROW ")]
    if found:
        return json.loads(found[-1])
    return {
        "runs": False,
        "losses_match": False,
        "params_match": False,
        "error": f"child exited {run.returncode}: {run.stderr.strip()[-300:]}",
    }


# --- the report -----------------------------------------------------------------------------------
def measure(name: str, framework: str, path: Path, args: argparse.Namespace, work: Path) -> dict:
    row: dict = {
        "script": f"{framework}/{name}",
        "direction": f"{framework} -> {'keras' if framework == 'torch' else 'torch'}",
    }
    if args.self_check:
        row.update(exit="-", diagnostics={}, direction=f"{framework} (self-check)")
        row.update(run_child(path, path, args.epochs, args.timeout))
        return row
    translated = translate(path, TARGET[framework])
    row.update({k: v for k, v in translated.items() if k != "code"})
    if translated["code"] is None:
        row.update(runs=False, losses_match=False, params_match=False)
        return row
    out = work / f"{framework}_{name}.py"
    out.write_text(translated["code"], encoding="utf-8")
    row.update(run_child(path, out, args.epochs, args.timeout))
    return row


def yes(value) -> str:
    return "**yes**" if value else "no"


def table(rows: list[dict]) -> str:
    body = [
        [
            r["script"],
            r["direction"],
            r["exit"],
            ", ".join(f"{k} x{v}" for k, v in r["diagnostics"].items()) or "-",
            yes(r["runs"]),
            yes(r["losses_match"]) if r["runs"] else "-",
            yes(r["params_match"]) if r["runs"] else "-",
            r.get("first_diverging_step") or "-",
            f"{r['max_loss_abs_diff']:.1e}" if r.get("max_loss_abs_diff") is not None else "-",
            f"{r['max_param_abs_diff']:.1e}" if r.get("max_param_abs_diff") is not None else "-",
        ]
        for r in rows
    ]
    lines = md_table(
        [
            "script",
            "direction",
            "exit",
            "diagnostics",
            "translation runs",
            "losses match",
            "params match",
            "first diverging step",
            "max loss diff",
            "max param diff",
        ],
        body,
    )
    both = [r for r in rows if r["runs"] and r["losses_match"] and r["params_match"]]
    lines += [
        "",
        (
            f"- scripts: {len(rows)}; translated with exit 0: {sum(r['exit'] == 0 for r in rows)}"
            f"{' (self-check: nothing translated)' if all(r['exit'] == '-' for r in rows) else ''}; runs: "
            f"{sum(bool(r['runs']) for r in rows)}; losses and parameters match: **{len(both)} of {len(rows)}**"
        ),
    ]
    failing = [r for r in rows if r.get("error")]
    if failing:
        lines += ["", "Why a translation did not run or compare:", ""]
        lines += [f"- `{r['script']}`: {' '.join(str(r['error']).split())[:300]}" for r in failing]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", help="one script, by name (sgd_mnist) or framework/name")
    ap.add_argument("--direction", choices=["torch", "keras"], help="the originals' framework (default: both)")
    ap.add_argument("--timeout", type=float, default=300, help="seconds per script (default 300)")
    ap.add_argument("--epochs", type=int, default=4, help="epochs of 5 steps (default 4)")
    ap.add_argument("--self-check", action="store_true", help="compare each original with itself (must match)")
    ap.add_argument("--json", type=Path, metavar="FILE", help="also write the rows as JSON")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)  # worker mode: ORIGINAL OTHER
    args = ap.parse_args()
    if args.child:
        return child(args)
    found = scripts(args.direction, args.only)
    if not found:
        raise SystemExit(f"no script matches --only {args.only!r} --direction {args.direction!r}")
    started = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix="fwtranslate-training-") as tmp:
        for name, framework, path in found:
            row = measure(name, framework, path, args, Path(tmp))
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    versions = {}
    from importlib.metadata import PackageNotFoundError, version

    for package in ("torch", "tensorflow-cpu", "tensorflow", "keras"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            pass
    header = info_lines(
        {
            "wall time": f"{time.perf_counter() - started:.0f} s",
            "frameworks": ", ".join(f"{k} {v}" for k, v in versions.items()),
            "compared": f"{args.epochs} epochs x 5 steps, float32, rtol {RTOL:g} / atol {ATOL:g}"
            + (", each original against itself (--self-check)" if args.self_check else ""),
        }
    )
    text = "\n".join(
        [
            "# Training scripts: translated, trained on both sides, compared",
            "",
            "Generated by `benchmarks/training_corpus.py` (method: its docstring).",
            "",
            *header,
            "",
            table(rows),
            "",
        ]
    )
    print(text)
    if args.json:
        info = dict(line[2:].split(": ", 1) for line in header)
        args.json.write_text(json.dumps({"info": info, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
