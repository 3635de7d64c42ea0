"""The public corpus, end to end: every manifest entry translated, built and verified.

For each entry of ``../shared/corpus/public.json`` (fetched into ``.corpus/`` when missing):

1. translate. A ``standalone`` file is translated alone. A file that needs its package
   (torchvision's ``models/resnet.py`` imports ``._api``, ``..ops.misc``, ``..utils``...) is
   translated with ``fwtranslate FILE --to X --with-deps -o OUT``: the package is unpacked from
   the downloaded archive into ``.corpus/packages/``, and the modules that importing the file
   runs (``fwtranslate.closure``) are translated as a package tree. The original is run from the
   same staged modules (``fwtranslate.closure.stage``), so both sides import the same code.
2. measure the manifest file itself: lines, the share of its framework lines the translation
   converted (the measure of ``benchmarks/corpus_conversion.py``), output parses, top-level
   names kept, diagnostics.
3. verify: ``fwtranslate.verify`` builds the entry in both frameworks (``entry`` + ``args`` +
   ``kwargs``, or the manifest's ``constructor`` expression, run from a small generated module
   beside the file), randomises and transfers the weights and compares inference outputs on
   Hypothesis inputs of the manifest's shape (float32, default tolerances rtol 1e-4 / atol 1e-5
   scaled by the output magnitude; the max abs / rel errors are reported whatever the verdict).
   Each entry runs in its own process, under a time limit.
4. PyTorch -> Keras entries only: the ``channels_first`` left in the translated modules, and what
   a Keras user does first with the translation on a CPU-only TensorFlow
   (``fwtranslate.testing.keras_usage``: eager ``model(x)``, ``predict``, ``compile`` + one ``fit``
   step, ``save("m.keras")`` + ``load_model``).

The originals' own dependencies (einops, pillow, keras-hub and the packages keras-hub imports,
transformers + tf-keras) are installed into the running interpreter by ``--install`` (the
product does not need them).

    .venv/bin/python benchmarks/corpus.py --install --write docs/corpus.md
    .venv/bin/python benchmarks/corpus.py --entries torchvision/resnet.py,keras/resnet.py
    .venv/bin/python benchmarks/corpus.py --only-usage    # PyTorch entries: translate + step 4 only

The table written to docs/corpus.md is the one this command prints.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, SHARED_CORPUS, corpus_files, info_lines, md_table

EXTRA_PACKAGES = [  # what the originals import beyond torch / tensorflow / keras
    "einops",
    "pillow",
    "absl-py",
    "packaging",
    "regex",
    "rich",
    "kagglehub!=1.0.1",
    "kagglesdk==0.1.28",
    "sentencepiece",
    "tokenizers",
    "tqdm",
    "requests",
    "pyyaml",
]
NO_DEPS_PACKAGES = ["keras-hub==0.32.0"]  # its tensorflow-text requirement would replace tensorflow-cpu
TARGET = {"pt2tf": "tf", "tf2pt": "torch"}
ENTRY_MODULE = "_fwtranslate_corpus_entry"
CHANNELS_FIRST = re.compile(r'data_format="channels_first"')
MAX_CLOSURE = 200  # modules: beyond this a file needs its library's whole infrastructure


# --- setting up --------------------------------------------------------------------------------
def install() -> None:
    pip = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run(pip + EXTRA_PACKAGES, check=True)
    subprocess.run(pip + ["--no-deps"] + NO_DEPS_PACKAGES, check=True)


def _fetch_module():
    """The team lead's ``fetch.py`` (it downloaded the archives; it also knows their names)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("corpus_fetch", SHARED_CORPUS / "fetch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def unpack_package(entry: dict, corpus_dir: Path) -> Path:
    """The entry's whole package, unpacked (Python files only) from its downloaded archive;
    returns the folder holding the top-level package."""
    dest = corpus_dir / "packages" / f"{entry['package']}-{entry['version']}"
    top = entry["path_in_archive"].split("/")[0]
    if (dest / top).is_dir():
        return dest
    archive = _fetch_module().find_archive(corpus_dir / "archives", entry["package"], entry["version"])
    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                if name.startswith(top + "/") and name.endswith(".py"):
                    zf.extract(name, tmp)
    else:
        with tarfile.open(archive) as tf:
            root = tf.getnames()[0].split("/")[0]
            for m in tf.getmembers():
                rel = m.name[len(root) + 1 :]
                if rel.startswith(top + "/") and rel.endswith(".py") and m.isfile():
                    target = tmp / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(tf.extractfile(m).read())  # type: ignore[union-attr]
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return dest


def prepare(entry: dict, file: Path, corpus_dir: Path, work: Path) -> dict:
    """Translate the entry into ``work``; returns the paths to verify and the translation facts."""
    from fwtranslate.closure import closure, stage

    cli = Path(sys.executable).with_name("fwtranslate")
    to = TARGET[entry["direction"]]
    orig_root, out_root = work / "original", work / "translated"
    shutil.rmtree(work, ignore_errors=True)
    if entry["standalone"]:
        orig_root.mkdir(parents=True)
        original = orig_root / file.name
        shutil.copy(file, original)
        translated = out_root / file.name
        command = [str(cli), str(original), "--to", to, "-o", str(translated), "-q"]
        modules = 1
    else:
        package = unpack_package(entry, corpus_dir)
        source = package / entry["path_in_archive"]
        found = closure(source)
        if len(found.modules) > MAX_CLOSURE:
            return {
                "skip": f"importing it runs {len(found.modules)} modules of its package "
                f"({sum(len(t.splitlines()) for t in found.files().values()):,} lines: the library's whole "
                f"framework layer, e.g. PreTrainedModel); more than {MAX_CLOSURE}, not translated for verification",
                "modules": len(found.modules),
            }
        stage(found, orig_root)
        original = orig_root / entry["path_in_archive"]
        translated = out_root / entry["path_in_archive"]
        command = [str(cli), str(source), "--to", to, "--with-deps", "-o", str(out_root), "-q"]
        modules = len(found.modules)
    start = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if "constructor" in entry:  # a model built by an expression: a module beside the file, translated too
        original, translated = write_entry_module(entry, original, translated, to)
    return {
        "original": original,
        "translated": translated,
        "translate_s": seconds,
        "exit": run.returncode,
        "modules": modules,
        "stderr": run.stderr,
    }


def write_entry_module(entry: dict, original: Path, translated: Path, to: str) -> tuple[Path, Path]:
    """``build()`` = the manifest's constructor expression (``m`` is the entry's module), beside
    the original; its translation (the expression translated too) beside the translation."""
    import fwtranslate

    framework = "import torch" if entry["direction"] == "pt2tf" else "import keras"
    if (original.parent / "__init__.py").exists():
        imports = f"from . import {original.stem} as m"
    else:  # a stand-alone file: import it by path
        imports = (
            f"import importlib.util as _util\n_spec = _util.spec_from_file_location({original.stem!r}, "
            f"__file__.replace({ENTRY_MODULE + '.py'!r}, {original.name!r}))\n"
            f"m = _util.module_from_spec(_spec)\n_spec.loader.exec_module(m)"
        )
    text = (
        f'"""Generated by benchmarks/corpus.py: builds the manifest entry {entry["file"]}."""\n'
        f"{framework}\n{imports}\n\n\ndef build():\n    return {entry['constructor']}\n"
    )
    entry_original = original.with_name(ENTRY_MODULE + ".py")
    entry_original.write_text(text)
    entry_translated = translated.with_name(ENTRY_MODULE + ".py")
    entry_translated.write_text(fwtranslate.translate(text, to=to, path=str(entry_original)).code)
    return entry_original, entry_translated


# --- one entry (run in a worker process) ---------------------------------------------------------
def run_entry(entry: dict, file: Path, corpus_dir: Path, work: Path, examples: int, only_usage: bool = False) -> dict:
    import warnings

    warnings.filterwarnings("ignore")
    import corpus_conversion

    row: dict = {"file": entry["file"], "direction": entry["direction"], "entry": entry.get("entry") or "build()"}
    corpus_conversion.ROOT_MODULES, corpus_conversion.TARGET, corpus_conversion.SOURCE = corpus_conversion.DIRECTIONS[
        entry["direction"]
    ]
    measured = corpus_conversion.measure(entry["file"], file, Counter())
    row.update(
        lines=measured["lines"],
        framework_lines=measured["in"],
        left=measured["left"],
        parses=measured["parses"],
        names_kept=measured["names_kept"],
        errors=measured["errors"],
        warnings=measured["warnings"],
    )
    if entry["direction"] == "pt2tf":
        row["layout_notes"] = measured["layout_notes"]
    prepared = prepare(entry, file, corpus_dir, work)
    if "skip" in prepared:
        row.update(verified=False, modules=prepared["modules"], reason=prepared["skip"])
        return row
    row.update(translate_s=prepared["translate_s"], modules=prepared["modules"], translate_exit=prepared["exit"])
    row["source_imports"] = sorted(  # translated modules that still import the source framework
        str(p.relative_to(work / "translated"))
        for p in (work / "translated").rglob("*.py")
        if corpus_conversion.imported_names(ast.parse(p.read_text(encoding="utf-8")))[0]
    )
    if prepared["exit"] == 2:
        row.update(verified=False, reason="translation failed: " + prepared["stderr"].strip()[-300:])
        return row
    import fwtranslate

    entry_name = "build" if "constructor" in entry else entry["entry"]
    if only_usage:
        keras_usage(row, entry, entry_name, prepared["translated"], work / "translated")
        return row
    start = time.perf_counter()
    report = fwtranslate.verify(
        prepared["original"],
        prepared["translated"],
        entry_name,
        args=tuple(entry.get("args", [])),
        kwargs=entry.get("kwargs", {}),
        input_shape=tuple(entry["input_shape"]),
        input_dtype=entry.get("input_dtype"),
        examples=examples,
        check_training=False,
    )
    row["verify_s"] = time.perf_counter() - start
    inference = next((p for p in report.phases if p.name == "inference"), None)
    row["verified"] = report.equivalent
    row["max_abs"] = max((d.max_abs for d in inference.diffs), default=0.0) if inference else None
    row["max_rel"] = max((d.max_rel for d in inference.diffs), default=0.0) if inference else None
    row["status"] = report.status
    if entry["direction"] == "pt2tf":
        keras_usage(row, entry, entry_name, prepared["translated"], work / "translated")
    if not report.equivalent:
        reason = report.reason or (inference.message if inference else "")
        if report.diverging_layer:
            reason += f" (first diverging layer: {report.diverging_layer})"
        row["reason"] = " ".join(reason.split())[:400]
    return row


def keras_usage(row: dict, entry: dict, entry_name: str, translated: Path, tree: Path) -> None:
    from fwtranslate.testing.keras_usage import check_keras_usage

    row["channels_first"] = sum(  # data_format="channels_first" left anywhere, support code included
        len(CHANNELS_FIRST.findall(p.read_text(encoding="utf-8"))) for p in tree.rglob("*.py")
    )
    start = time.perf_counter()
    row["keras_usage"] = check_keras_usage(
        translated,
        entry_name,
        tuple(entry["input_shape"]),
        dtype=entry.get("input_dtype") or "float32",
        args=tuple(entry.get("args", [])),
        kwargs=entry.get("kwargs", {}),
    )
    row["keras_usage_s"] = time.perf_counter() - start


def usage_cell(row: dict) -> str:
    usage = row.get("keras_usage")
    if usage is None:
        return "-"
    return " ".join(f"{step} {'ok' if result == 'ok' else '**fails**'}" for step, result in usage.items())


def manifest_entries(manifest: Path) -> list[dict]:
    """Every entry of the manifest, in its order."""
    return json.loads(Path(manifest).read_text())


def worker(args: argparse.Namespace) -> int:
    entry = next(e for e in manifest_entries(args.manifest) if e["file"] == args.one)
    files = dict(corpus_files(entry["direction"], args.corpus_dir))
    work = Path(args.work) / entry["file"].replace("/", "__").removesuffix(".py")
    try:
        row = run_entry(entry, files[entry["file"]], Path(args.corpus_dir), work, args.examples, args.only_usage)
    except Exception as exc:  # noqa: BLE001 - a crash is a row of the table, not the end of the run
        import traceback

        traceback.print_exc()
        row = {
            "file": entry["file"],
            "direction": entry["direction"],
            "verified": False,
            "reason": f"benchmark crashed: {type(exc).__name__}: {exc}"[:400],
        }
    print("ROW " + json.dumps(row, default=str), flush=True)
    return 0


# --- the table -----------------------------------------------------------------------------------
def share(row: dict) -> float | None:
    if "framework_lines" not in row:
        return None
    return 1.0 if row["framework_lines"] == 0 else 1 - row["left"] / row["framework_lines"]


def fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def table(rows: list[dict]) -> str:
    body = []
    for r in rows:
        body.append(
            [
                r["file"],
                r["direction"],
                r.get("lines", "-"),
                fmt(share(r), ".1%"),
                "yes" if r.get("parses") else "**no**",
                r.get("names_kept", "-"),
                f"{r.get('errors', '-')} / {r.get('warnings', '-')}",
                r.get("modules", "-"),
                len(r["source_imports"]) if "source_imports" in r else "-",
                "**yes**" if r.get("verified") else "no",
                fmt(r.get("max_abs"), ".2e"),
                fmt(r.get("max_rel"), ".2e"),
                fmt(r.get("translate_s"), ".1f"),
                fmt(r.get("verify_s"), ".0f"),
            ]
        )
    lines = md_table(
        [
            "file",
            "direction",
            "lines",
            "converted share",
            "parses",
            "names kept",
            "errors / warnings",
            "modules translated",
            "still importing the source",
            "verified",
            "max abs",
            "max rel",
            "translate s",
            "verify s",
        ],
        body,
    )
    shares = [s for s in map(share, rows) if s is not None]
    verified = [r for r in rows if r.get("verified")]
    lines += [
        "",
        (
            f"- entries: {len(rows)}; translated with every output parsing: "
            f"{sum(bool(r.get('parses')) for r in rows)}; top-level names all kept: "
            f"{sum(_all_kept(r) for r in rows)}"
        ),
        f"- mean converted share of framework lines: {sum(shares) / len(shares):.1%}" if shares else "- no shares",
        f"- verified (inference within tolerance): **{len(verified)} of {len(rows)}**",
    ]
    leftovers = sorted({m for r in rows for m in r.get("source_imports", [])})
    if leftovers:
        lines += [
            "- translated helper modules that still import the source framework (their unconverted "
            "lines are marked and reported; none is on a verified model's compute path): "
            + ", ".join(f"`{m}`" for m in leftovers)
        ]
    torch_rows = [r for r in rows if r["direction"] == "pt2tf"]
    lines += ["", "PyTorch -> Keras entries on a CPU-only TensorFlow (`fwtranslate.testing.keras_usage`):", ""]
    lines += md_table(
        [
            "file",
            "layers left channels first (each reported: info [layout])",
            '`data_format="channels_first"` in the translated tree (support code included)',
            "eager / predict / compile+fit / save+load_model",
            "s",
        ],
        [
            [
                r["file"],
                r.get("layout_notes", "-"),
                r.get("channels_first", "-"),
                usage_cell(r),
                fmt(r.get("keras_usage_s"), ".0f"),
            ]
            for r in torch_rows
        ],
    )
    for r in torch_rows:
        for step, result in (r.get("keras_usage") or {}).items():
            if result != "ok":
                lines.append(f"- `{r['file']}` {step}: {' '.join(result.split())[:300]}")
    failing = [r for r in rows if not r.get("verified")]
    if failing:
        lines += ["", "Entries that do not verify:", ""]
        lines += [f"- `{r['file']}`: {r.get('reason', r.get('status', 'unknown'))}" for r in failing]
    return "\n".join(lines)


def usage_summary(rows: list[dict]) -> str:
    """``--only-usage``: each entry's Keras usage steps and how many entries pass each step."""
    lines = md_table(
        ["file", "eager / predict / compile+fit / save+load_model", "s"],
        [[r["file"], usage_cell(r), fmt(r.get("keras_usage_s"), ".0f")] for r in rows],
    )
    for r in rows:
        usage = r.get("keras_usage") or {}
        lines += [
            f"- `{r['file']}` {step}: {' '.join(res.split())[:300]}" for step, res in usage.items() if res != "ok"
        ]
        if not usage:
            lines.append(f"- `{r['file']}`: {r.get('reason', 'no usage result')}")
    for step in ("eager", "predict", "fit", "save_load"):
        ok = sum((r.get("keras_usage") or {}).get(step) == "ok" for r in rows)
        lines.append(f"- {step} worked on {ok} of {len(rows)}")
    return "\n".join(lines)


def _all_kept(row: dict) -> bool:
    kept = str(row.get("names_kept", "0/1")).split("/")
    return kept[0] == kept[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", help="comma-separated manifest files (default: all)")
    ap.add_argument("--install", action="store_true", help="install the originals' dependencies first")
    ap.add_argument("--write", type=Path, metavar="DOC", help="write the report to DOC (e.g. docs/corpus.md)")
    ap.add_argument("--examples", type=int, default=2, help="Hypothesis examples per entry (default 2)")
    ap.add_argument("--timeout", type=int, default=1200, help="seconds per entry (default 1200)")
    ap.add_argument("--corpus-dir", default=str(REPO / ".corpus"))
    ap.add_argument("--manifest", type=Path, default=SHARED_CORPUS / "public.json")
    ap.add_argument("--work", default=str(REPO / ".corpus" / "work"))
    ap.add_argument(
        "--only-usage",
        action="store_true",
        help="PyTorch -> Keras entries only: translate and run the Keras usage steps (step 4), no verify",
    )
    ap.add_argument("--one", help=argparse.SUPPRESS)  # worker mode: one entry, prints a ROW line
    args = ap.parse_args()
    if args.one:
        return worker(args)
    if args.install:
        install()
    entries = manifest_entries(args.manifest)
    for direction in sorted({e["direction"] for e in entries}):
        corpus_files(direction, Path(args.corpus_dir))  # fetch once, before the workers
    if args.entries:
        wanted = args.entries.split(",")
        entries = [e for e in entries if e["file"] in wanted]
    if args.only_usage:
        entries = [e for e in entries if e["direction"] == "pt2tf"]
    rows = []
    started = time.perf_counter()
    for entry in entries:
        command = [
            sys.executable,
            __file__,
            "--one",
            entry["file"],
            "--examples",
            str(args.examples),
            "--corpus-dir",
            args.corpus_dir,
            "--manifest",
            str(args.manifest),
            "--work",
            args.work,
        ] + (["--only-usage"] if args.only_usage else [])
        try:
            run = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=args.timeout,
                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
            )
            found = [line[4:] for line in run.stdout.splitlines() if line.startswith("ROW ")]
            row = (
                json.loads(found[-1])
                if found
                else {
                    "file": entry["file"],
                    "direction": entry["direction"],
                    "verified": False,
                    "reason": f"worker exited {run.returncode}: {run.stderr.strip()[-300:]}",
                }
            )
        except subprocess.TimeoutExpired:
            row = {
                "file": entry["file"],
                "direction": entry["direction"],
                "verified": False,
                "reason": f"over the time limit ({args.timeout} s)",
            }
        rows.append(row)
        print(json.dumps(row, default=str), file=sys.stderr, flush=True)
    if args.only_usage:
        print(usage_summary(rows))
        return 0
    text = "\n".join(
        [
            "# The public corpus: translated and verified",
            "",
            (
                "Generated by `benchmarks/corpus.py` (how each entry is translated and verified: its "
                "docstring); rerun it to regenerate this page."
            ),
            "",
        ]
        + info_lines(
            {
                "wall time": f"{time.perf_counter() - started:.0f} s",
                "verify": f"float32 inference, {args.examples} Hypothesis examples per entry, input shapes "
                "from the manifest",
            }
        )
        + ["", table(rows), ""]
    )
    print(text)
    if args.write:
        args.write.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
