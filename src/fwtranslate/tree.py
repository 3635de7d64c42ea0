"""Translating many files: finding them in a folder, and translating them across processes.

Every file is read and translated before anything is written (see outputs.py), so a bad file
anywhere in a tree (a syntax error, a symlink loop) stops the run with nothing written.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .api import read_source, translate
from .errors import TranslationError
from .report import ERROR, Diagnostic, FileStats

TRANSLATED, SKIPPED, COPIED, FAILED = "translated", "skipped", "copied", "failed"


class TreeError(Exception):
    """The folder cannot be walked: a symlink loop, a broken link, an unreadable folder."""


@dataclass
class FileOutcome:
    """One input file's result; plain data, so worker processes can send it back."""

    path: Path  # the input file
    rel: Path  # its path relative to the folder translated (its name for a single file)
    status: str  # TRANSLATED | SKIPPED (no framework code) | COPIED (not Python) | FAILED
    data: bytes = b""  # the output
    diagnostics: list[Diagnostic] = field(default_factory=list)
    stats: FileStats | None = None
    error: str = ""  # FAILED: the message
    line: int = 0  # FAILED: where, when known
    col: int = 0

    @property
    def ok(self) -> bool:
        return self.status != FAILED and not any(d.severity == ERROR for d in self.diagnostics)


def translate_one(path: Path, rel: Path, to: str, rules: tuple[str, ...], layout: str = "torch") -> FileOutcome:
    """Read and translate one file; bad input becomes a FAILED outcome, never an exception."""
    try:
        source = read_source(path)
        result = translate(source, to, path=str(path), rules=rules, layout=layout)
    except TranslationError as exc:
        # a message without a place names the file itself (read_source's messages already do)
        message = str(exc) if exc.line or str(path) in str(exc) else f"{path}: {exc}"
        return FileOutcome(path, rel, FAILED, error=message, line=exc.line, col=exc.col)
    except RecursionError:  # pathologically nested code: LibCST's visitors recurse per level
        return FileOutcome(path, rel, FAILED, error=f"{path}: the code is nested too deeply to translate")
    # a file that imports no framework comes back untouched: say "skipped", not "translated"
    skipped = not result.framework_locals and not result.changed and not result.diagnostics
    return FileOutcome(
        path, rel, SKIPPED if skipped else TRANSLATED, result.code.encode("utf-8"), result.diagnostics, result.stats
    )


def copy_one(path: Path, rel: Path) -> FileOutcome:
    """A non-Python file (with --copy-other): its bytes, unchanged. Only a regular file is read
    (a device or a pipe would block or never end)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return FileOutcome(path, rel, FAILED, error=f"{path} is not a regular file")
        return FileOutcome(path, rel, COPIED, path.read_bytes())
    except OSError as exc:
        return FileOutcome(path, rel, FAILED, error=f"cannot read {path}: {exc.strerror}")


def _translate_task(task: tuple[Path, Path, str, tuple[str, ...], str]) -> FileOutcome:
    return translate_one(*task)


def translate_all(
    tasks: list[tuple[Path, Path, str, tuple[str, ...], str]], jobs: int, tick: Callable[[], None] = lambda: None
) -> list[FileOutcome]:
    """Translate ``(path, rel, to, rules, layout)`` tasks on ``jobs`` processes; results in task order,
    whatever order the workers finish in, so the output and the diagnostics are deterministic."""
    jobs = max(1, min(jobs, len(tasks)))
    results: list[FileOutcome] = []
    if jobs == 1:  # no worker start-up cost for a single file or a single core
        for task in tasks:
            results.append(_translate_task(task))
            tick()
        return results
    chunk = max(1, len(tasks) // (jobs * 8))  # small chunks: files vary a lot in size
    pool = ProcessPoolExecutor(max_workers=jobs)
    try:
        for outcome in pool.map(_translate_task, tasks, chunksize=chunk):
            results.append(outcome)
            tick()
    except BaseException:  # Ctrl-C: drop the queued files instead of translating them all first
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return results


def walk(root: Path, skip: Iterable[Path] = ()) -> list[Path]:
    """Files under ``root`` (relative, sorted), following symlinks; hidden entries (.git, .venv)
    and __pycache__ are left out, and so are the folders in ``skip`` (an output folder inside
    the input). Raises TreeError on a symlink loop or a broken link named *.py."""
    skipped = {_identity(p) for p in skip if p.exists()}
    found: list[Path] = []

    def visit(folder: Path, rel: Path, ancestors: dict[tuple[int, int], Path]) -> None:
        key = _identity(folder)
        if key in ancestors:
            raise TreeError(f"symlink loop: {folder} leads back to {ancestors[key]}")
        if key in skipped:
            return
        ancestors = {**ancestors, key: folder}
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            raise TreeError(f"cannot read folder {folder}: {exc.strerror}") from None
        for entry in entries:
            if entry.name.startswith(".") or entry.name == "__pycache__":
                continue
            path = folder / entry.name
            try:
                is_dir = entry.is_dir()  # follows symlinks
                is_file = not is_dir and entry.is_file()
                if entry.is_symlink():
                    os.stat(path)  # raises for loops and dangling links, which is_dir() hides
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise TreeError(f"symlink loop: {path}") from None
                if entry.name.endswith(".py"):
                    raise TreeError(f"broken symbolic link: {path} -> {os.readlink(path)}") from None
                continue
            if is_dir:
                visit(path, rel / entry.name, ancestors)
            elif is_file:
                found.append(rel / entry.name)
            # sockets, pipes and devices are not source files: left out

    visit(root, Path(), {})
    return found


def _identity(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino
