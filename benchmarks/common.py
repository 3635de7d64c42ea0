"""Helpers shared by the benchmark scripts: the corpus, machine info, doc sections.

Standard library only. The corpus (real third-party model files) is described by
``<repo>/../shared/corpus/public.json`` and fetched with its ``fetch.py`` into ``<repo>/.corpus``
(git-ignored): its code is test material and is never committed.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED_CORPUS = REPO.parent / "shared" / "corpus"
DEFAULT_CORPUS_DIR = REPO / ".corpus"


def corpus_entries(direction: str = "pt2tf", manifest: Path | None = None) -> list[dict]:
    """The manifest entries of one direction (``pt2tf`` or ``tf2pt``), in manifest order."""
    manifest = manifest or SHARED_CORPUS / "public.json"
    return [e for e in json.loads(manifest.read_text()) if e["direction"] == direction]


def corpus_files(direction: str = "pt2tf", corpus_dir: Path | None = None) -> list[tuple[str, Path]]:
    """``(entry name, local path)`` for each corpus file of ``direction``; fetches when missing."""
    corpus_dir = Path(corpus_dir or DEFAULT_CORPUS_DIR)
    manifest = SHARED_CORPUS / "public.json"
    entries = corpus_entries(direction, manifest)
    files = [(e["file"], corpus_dir / "files" / e["file"]) for e in entries]
    if not all(p.is_file() for _, p in files):
        fetch = SHARED_CORPUS / "fetch.py"
        print(f"fetching the corpus into {corpus_dir} ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, str(fetch), str(manifest), str(corpus_dir)], check=True, stdout=sys.stderr)
    return files


def torch_nn_files() -> list[tuple[str, Path]]:
    """Every ``torch/nn/**/*.py`` of the installed torch (found without importing torch)."""
    import importlib.util

    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("torch is not installed in this environment (needed for --stress)")
    root = Path(next(iter(spec.submodule_search_locations)))
    return [(str(p.relative_to(root.parent)), p) for p in sorted((root / "nn").rglob("*.py"))]


def machine_info() -> dict[str, str]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    info = {
        "cpu": cpu,
        "cores": f"{os.cpu_count()} logical ({usable} usable by this process)",
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
    }
    try:
        from importlib.metadata import version

        info["libcst"] = version("libcst")
        info["fwtranslate"] = version("fwtranslate")
    except Exception:  # noqa: BLE001 - informational only
        pass
    info["libcst parser"] = os.environ.get("LIBCST_PARSER_TYPE", "native (default)")
    return info


def command_line() -> str:
    """The command as it could be re-run from the repo root."""
    script = Path(sys.argv[0]).resolve()
    try:
        script = script.relative_to(REPO)
    except ValueError:
        pass
    exe = Path(sys.executable)
    try:
        exe = exe.relative_to(REPO)
    except ValueError:
        pass
    return " ".join(shlex.quote(str(a)) for a in [exe, script, *sys.argv[1:]])


def repo_state() -> str:
    """The commit measured (read-only git calls), and whether the tree had uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + (" + uncommitted changes" if dirty else "")


def info_lines(extra: dict[str, str] | None = None) -> list[str]:
    items = {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "repo commit": repo_state()}
    items.update(machine_info())
    items.update(extra or {})
    items["command"] = f"`{command_line()}`"
    return [f"- {k}: {v}" for k, v in items.items()]


def md_table(header: list[str], rows: list[list]) -> list[str]:
    out = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|",
    ]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def write_section(doc: Path, name: str, text: str) -> None:
    """Replace what lies between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` in ``doc``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    doc = Path(doc)
    content = doc.read_text() if doc.exists() else ""
    block = f"{start}\n{text.rstrip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if pattern.search(content):
        content = pattern.sub(lambda _: block, content)
    else:
        content = content.rstrip() + ("\n\n" if content else "") + block + "\n"
    doc.write_text(content)
    print(f"updated section {name!r} in {doc}", file=sys.stderr)
