"""API surface coverage: every public name of each namespace, and whether the rules translate it.

For each namespace a model's code calls (``torch.nn`` modules and losses, ``torch.nn.functional``,
``torch.*`` and ``Tensor`` methods; ``keras.layers``, ``keras.ops``, ``keras.activations``, ...) the
public names come from the installed frameworks, and each one is

- **translated**: a rule of the direction covers it (its name or an alias);
- **declared**: a rule file says why it is not translated (``untranslated: REASON``, reported at use);
- **missing**: neither (a use reports ``no-rule``).

``torch.*``, ``Tensor`` methods and ``tf.*`` have thousands of public names, most never seen in model
code: those namespaces are ranked by how often real code calls each name (the sources of installed
packages, plus any ``--code DIR``) and only the ``--top`` most used are counted.

    python benchmarks/api_coverage.py                      # the table
    python benchmarks/api_coverage.py --missing keras.ops  # the missing names of one namespace
    python benchmarks/api_coverage.py --fetch --write docs/api_coverage.md
"""

from __future__ import annotations

import argparse
import collections
import importlib
import importlib.util
import inspect
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from common import info_lines, md_table, write_section
from fwtranslate.rules import load_rules

# packages whose sources rank the big namespaces, when installed (model and training code)
RANKING_PACKAGES = (
    "torchvision",
    "timm",
    "transformers",
    "diffusers",
    "torchaudio",
    "keras_hub",
    "keras_cv",
    "tf_keras",
    "keras",
    "einops",
)
RANKED_TOP = 300
# names torch.nn.functional imports for its own machinery, not functions a model calls
PLUMBING = frozenset(
    {"Tensor", "Callable", "Optional", "List", "boolean_dispatch", "assert_int_or_pair", "handle_torch_function"}
    | {"ScalingType", "SwizzleType"}  # enums of scaled_mm's arguments
    | {"has_torch_function", "has_torch_function_unary", "has_torch_function_variadic"}
)
# --fetch: model and training code downloaded from PyPI (sources only, never committed) to rank by
RANKING_WHEELS = ("timm", "transformers", "torchvision", "segmentation-models-pytorch", "keras-hub", "tf-keras")
RANKING_DIR = Path(__file__).resolve().parent.parent / ".corpus" / "ranking"


@dataclass
class Namespace:
    label: str
    direction: str  # torch_to_tf | tf_to_torch
    names: list[str]  # qualified rule keys (torch.nn.Linear, Tensor.view), ranked ones most used first
    ranked: bool = False
    counts: dict[str, int] = field(default_factory=dict)


def _public(module) -> list[tuple[str, object]]:
    out = []
    for name in sorted(dir(module)):
        if name.startswith("_"):
            continue
        try:
            obj = getattr(module, name)
        except Exception:  # noqa: BLE001, S112 - a lazy attribute that fails to import is not API we translate
            continue
        if inspect.ismodule(obj):
            continue
        out.append((name, obj))
    return out


def _framework_callables(module, prefixes: tuple[str, ...]) -> list[str]:
    """Public functions and classes of ``module`` that the framework defines (not typing helpers)."""
    names = []
    for name, obj in _public(module):
        if not callable(obj):
            continue
        owner = getattr(obj, "__module__", None) or ""
        if inspect.isclass(obj) or inspect.isfunction(obj) or inspect.isbuiltin(obj) or owner:
            if owner.startswith(prefixes) or not owner:
                names.append(name)
    return names


# --- the namespaces ---------------------------------------------------------------------------------
def torch_namespaces(counts: collections.Counter, top: int) -> list[Namespace]:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    loss_base = nn.modules.loss._Loss
    modules, losses = [], []
    for name, obj in _public(nn):
        if inspect.isclass(obj) and issubclass(obj, nn.Module):
            (losses if issubclass(obj, loss_base) else modules).append(f"torch.nn.{name}")
    functional = [f"torch.nn.functional.{n}" for n in _framework_callables(F, ("torch",))]
    functional = [n for n in functional if n.rsplit(".", 1)[1] not in PLUMBING]
    funcs = [n for n, obj in _public(torch) if callable(obj) and not inspect.isclass(obj)]
    methods = [n for n, obj in _public(torch.Tensor) if callable(obj)]
    return [
        Namespace("torch.nn (modules)", "torch_to_tf", modules),
        Namespace("torch.nn (losses)", "torch_to_tf", losses),
        Namespace("torch.nn.functional", "torch_to_tf", functional),
        _ranked("torch.* (most used)", "torch_to_tf", "torch.", funcs, counts, top, r"\btorch\.{}\s*\("),
        _ranked("Tensor methods (most used)", "torch_to_tf", "Tensor.", methods, counts, top, r"\.{}\s*\("),
    ]


def keras_namespaces(counts: collections.Counter, top: int) -> list[Namespace]:
    import keras
    import tensorflow as tf

    out = []
    for sub in ("layers", "ops", "activations", "initializers", "regularizers", "constraints", "losses", "optimizers"):
        module = getattr(keras, sub)
        names = [f"keras.{sub}.{n}" for n in _framework_callables(module, ("keras",))]
        if sub in ("optimizers", "losses", "initializers", "regularizers", "constraints"):
            names = [n for n in names if n.rsplit(".", 1)[1] not in {"get", "serialize", "deserialize"}]
        out.append(Namespace(f"keras.{sub}", "tf_to_torch", names))
    for sub in ("", "math.", "nn.", "linalg.", "image."):
        module = tf
        for part in sub.rstrip(".").split(".") if sub else ():
            module = getattr(module, part)
        funcs = [n for n, obj in _public(module) if callable(obj) and not inspect.isclass(obj)]
        label = f"tf.{sub}* (most used)"
        pattern = r"\btf\." + re.escape(sub) + r"{}\s*\("
        out.append(_ranked(label, "tf_to_torch", f"tf.{sub}", funcs, counts, top, pattern))
    return out


BACKEND_PATTERN = r"\b(?:K|backend)\.{}\s*\("  # K.cast(...), keras.backend.cast(...), backend.cast(...)


def backend_namespace(counts: collections.Counter, top: int) -> Namespace:
    """The Keras backend: Keras 3's ``keras.backend`` and the legacy (Keras 2) module that models
    call as ``K.*`` (``tf_keras.backend``, ``tf.keras.backend``), every spelling translated as
    ``keras.backend.*``, ranked by use."""
    import keras

    names = {n for n, obj in _public(keras.backend) if callable(obj)}
    names |= set(legacy_backend_names())
    return _ranked(
        "keras.backend / K.* (most used)", "tf_to_torch", "keras.backend.", sorted(names), counts, top, BACKEND_PATTERN
    )


def legacy_backend_names() -> list[str]:
    """The public names of tf_keras.backend: imported when tf_keras is installed, else read from
    its generated ``backend/__init__.py`` (the --fetch sources) without running it."""
    try:
        module = importlib.import_module("tf_keras.backend")
    except ImportError:
        init = RANKING_DIR / "src" / "tf_keras" / "tf_keras" / "backend" / "__init__.py"
        if not init.is_file():
            return []
        text = init.read_text(encoding="utf-8")
        return sorted(set(re.findall(r"^from tf_keras\.src\.\w+ import (\w+)$", text, re.MULTILINE)))
    return [n for n, obj in _public(module) if callable(obj)]


def _ranked(label, direction, prefix, names, counts, top, pattern) -> Namespace:
    """The ``top`` names of ``names`` that real code calls most (only names called at least once)."""
    scored = {n: counts[(pattern, n)] for n in names}
    used = sorted((n for n in names if scored[n] > 0), key=lambda n: (-scored[n], n))[:top]
    return Namespace(
        label, direction, [prefix + n for n in used], ranked=True, counts={prefix + n: scored[n] for n in used}
    )


# --- ranking by real use -----------------------------------------------------------------------------
def ranking_sources(extra: list[Path]) -> list[Path]:
    roots = []
    for package in RANKING_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.submodule_search_locations:
            roots.append(Path(next(iter(spec.submodule_search_locations))))
    spec = importlib.util.find_spec("torch")
    if spec is not None and spec.submodule_search_locations:  # torch's own model-level code
        torch_root = Path(next(iter(spec.submodule_search_locations)))
        roots += [torch_root / d for d in ("nn", "distributions", "optim", "ao/nn") if (torch_root / d).is_dir()]
    return roots + extra


def fetch_ranking_code(folder: Path = RANKING_DIR) -> list[Path]:
    """The ``RANKING_WHEELS``' Python sources, downloaded once (pip, no dependencies) and unpacked."""
    import subprocess
    import zipfile

    wheels = folder / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    if not list(wheels.glob("*.whl")):
        command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(wheels), *RANKING_WHEELS]
        subprocess.run(command, check=True)
    roots = []
    for wheel in sorted(wheels.glob("*.whl")):
        target = folder / "src" / wheel.name.split("-")[0]
        if not target.is_dir():
            with zipfile.ZipFile(wheel) as archive:
                for member in archive.namelist():
                    if member.endswith(".py") and ".dist-info/" not in member:
                        archive.extract(member, target)
        roots.append(target)
    return roots


def _shown(root: Path) -> str:
    """``torch/nn`` for a package's folder (site-packages left out), the path for any other."""
    parts = root.parts
    if "site-packages" in parts:
        return "/".join(parts[parts.index("site-packages") + 1 :])
    return root.name if RANKING_DIR in root.parents else str(root)


def count_calls(roots: list[Path], patterns: list[str]) -> collections.Counter:
    """(pattern, name) -> calls in the sources: one regex pass per file and pattern."""
    finders = {p: re.compile(p.replace("{}", r"([A-Za-z_]\w*)")) for p in patterns}
    counts: collections.Counter = collections.Counter()
    for root in roots:
        for path in root.rglob("*.py"):
            if "/tests/" in str(path) or "/_" in str(path.relative_to(root.parent)).replace(root.name + "/", "/"):
                continue
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            for pattern, finder in finders.items():
                for match in finder.finditer(text):
                    counts[(pattern, match.group(1))] += 1
    return counts


# --- classification -----------------------------------------------------------------------------------
def classify(namespace: Namespace, ruleset) -> dict[str, list[str]]:
    calls, attrs = ruleset.calls, ruleset.attributes
    out: dict[str, list[str]] = {"translated": [], "declared": [], "missing": []}
    for name in namespace.names:
        if name.startswith("Tensor."):
            member = name.split(".", 1)[1]
            known = member in ruleset.methods or member in ruleset.members
            # x.add_(y) is translated by the rule of add (x = <its translation>), as calls.py does
            known = known or (member.endswith("_") and not member.endswith("__") and member[:-1] in ruleset.methods)
        else:
            known = name in calls or name in attrs
        if known:
            out["translated"].append(name)
        elif name in ruleset.untranslated:
            out["declared"].append(name)
        else:
            out["missing"].append(name)
    return out


def table(namespaces: list[Namespace]) -> tuple[list[dict], list[str]]:
    rulesets = {d: load_rules(d) for d in ("torch_to_tf", "tf_to_torch")}
    rows, cells = [], []
    for ns in namespaces:
        parts = classify(ns, rulesets[ns.direction])
        total = len(ns.names)
        share = len(parts["translated"]) / total if total else 1.0
        arrow = "PyTorch -> Keras" if ns.direction == "torch_to_tf" else "Keras -> PyTorch"
        rows.append({"direction": ns.direction, "namespace": ns.label, "total": total, **parts})
        counts = [len(parts[k]) for k in ("translated", "declared", "missing")]
        cells.append([arrow, f"`{ns.label}`", total, *counts, f"{share:.0%}"])
    header = ["direction", "namespace", "public names", "translated", "declared", "missing", "translated share"]
    return rows, md_table(header, cells)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--top", type=int, default=RANKED_TOP, help="names counted in a ranked namespace")
    parser.add_argument("--code", type=Path, action="append", default=[], help="more real code to rank names by")
    parser.add_argument(
        "--fetch", action="store_true", help=f"also rank by {', '.join(RANKING_WHEELS)} (downloaded from PyPI)"
    )
    parser.add_argument("--missing", metavar="NAMESPACE", help="print that namespace's missing names (most used first)")
    parser.add_argument("--json", type=Path, help="write every name's class as JSON")
    parser.add_argument("--write", type=Path, help="replace the table's section in this markdown file")
    args = parser.parse_args(argv)

    patterns = (
        [r"\btorch\.{}\s*\(", r"\.{}\s*\("]
        + [r"\btf\." + re.escape(s) + r"{}\s*\(" for s in ("", "math.", "nn.", "linalg.", "image.")]
        + [BACKEND_PATTERN]
    )
    roots = ranking_sources(args.code + (fetch_ranking_code() if args.fetch else []))
    counts = count_calls(roots, patterns)
    namespaces = torch_namespaces(counts, args.top) + keras_namespaces(counts, args.top)
    namespaces.append(backend_namespace(counts, args.top))
    rows, lines = table(namespaces)
    if args.missing:
        for ns, row in zip(namespaces, rows):
            if ns.label == args.missing:
                for name in row["missing"]:
                    print(f"{name}\t{ns.counts.get(name, '')}")
                return 0
        raise SystemExit(f"no namespace {args.missing!r}: {', '.join(ns.label for ns in namespaces)}")
    import keras
    import tensorflow as tf
    import torch

    versions = {"torch": torch.__version__, "tensorflow": tf.__version__, "keras": keras.__version__}
    header = [
        *info_lines(versions),
        "",
        f"Ranked namespaces count the {args.top} names real code calls most, over the sources of "
        + ", ".join(f"`{_shown(r)}`" for r in roots)
        + " (a name never called there is not counted).",
        "",
    ]
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    if args.write:
        write_section(args.write, "api-coverage", "\n".join(header + lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
