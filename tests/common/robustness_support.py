"""What the robustness cases are made of: the Case record, the folder it runs in (the CLI runner is
tests/helpers.py's ``run_cli``, imported here as ``cli``).

Cases live in ``tests/common/robustness_cases_*.py`` (one module per theme, each a ``CASES`` list);
``tests/common/test_robustness.py`` runs them all and renders them as the table of docs/robustness.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from helpers import run_cli as cli

__all__ = ["GOOD", "SYNTAX", "Case", "cli", "make", "snapshot", "tree_files"]

GOOD = "import torch\n\nx = torch.cat([a, b], 1)\n"
SYNTAX = "import torch\n\ndef f(:\n    pass\n"


@dataclass(frozen=True)
class Case:
    what: str  # the table's first column
    files: dict[str, bytes | str]  # created in an empty folder; "->target" makes a symlink
    args: tuple[str, ...]  # after `fwtranslate`
    code: int
    message: str  # a whole line of stderr (a substring when `exact` is False); "": stderr must be empty
    exact: bool = True
    writes: dict[str, bytes] = field(default_factory=dict)  # exit-0 cases: what is written
    fifo: str | None = None  # a named pipe to create
    program: str = "fwtranslate"  # or a pre-commit entry point: fwtranslate-mirror, fwtranslate-check
    stdout_json: bool = False  # stdout must be exactly one JSON object
    modes: dict[str, int] = field(default_factory=dict)  # chmod before the run; checked after it


def tree_files(**extra) -> dict[str, bytes | str]:
    return {"tree/a.py": GOOD, "tree/sub/b.py": GOOD, **extra}


def snapshot(folder: Path) -> dict[str, object]:
    """Every entry (symlinks as links, never followed: some cases hold loops)."""
    found: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(folder))
            if path.is_symlink():
                found[rel] = ("link", os.readlink(path))
            elif path.is_dir():
                found[rel] = "dir"
            elif path.is_file():
                found[rel] = path.read_bytes()
            else:
                found[rel] = "special"
    return found


def make(folder: Path, case: Case) -> None:
    for rel, content in case.files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str) and content.startswith("->"):
            path.symlink_to(content[2:])
        else:
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
    if case.fifo:
        os.mkfifo(folder / case.fifo)
    for rel, mode in case.modes.items():
        if (folder / rel).exists():
            (folder / rel).chmod(mode)
