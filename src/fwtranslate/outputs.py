"""Where translations go, and the ways of handing them over: write, --check, --diff.

All outputs are planned first and checked together (``preflight``), so that an output that
cannot be written stops the run before anything is written. Each file is then written
atomically (api.write_atomic); an output whose content is already right is not touched,
so its timestamp stays (build tools and editors see no change).
"""
from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path


class OutputError(Exception):
    """An output path that cannot be written."""


@dataclass
class Planned:
    target: Path
    data: bytes
    source: Path

    def current(self) -> bytes | None:
        try:
            return self.target.read_bytes()
        except OSError:
            return None

    @property
    def stale(self) -> bool:
        return self.current() != self.data


def preflight(plans: list[Planned]) -> None:
    """Raise OutputError for the first output that cannot be written: an existing folder in its
    place, a file where a parent folder should be, a read-only folder."""
    for plan in plans:
        target = plan.target
        if target.is_dir():
            raise OutputError(f"cannot write {target}: it is a directory")
        parent = target.parent
        while not parent.exists():  # the first existing ancestor decides
            if parent.is_symlink():
                raise OutputError(f"cannot write {target}: {parent} is a broken symbolic link")
            parent = parent.parent
        if not parent.is_dir():
            raise OutputError(f"cannot write {target}: {parent} is not a directory")
        if not os.access(parent, os.W_OK | os.X_OK) or (target.exists() and not os.access(target, os.W_OK)):
            raise OutputError(f"cannot write {target}: permission denied")


def write_all(plans: list[Planned]) -> tuple[list[Path], list[Path]]:
    """Write the stale outputs; returns (written, already up to date)."""
    from .api import write_atomic

    written, current = [], []
    for plan in plans:
        if not plan.stale:
            current.append(plan.target)
            continue
        try:
            write_atomic(plan.target, plan.data)
        except OSError as exc:
            raise OutputError(f"cannot write {plan.target}: {exc.strerror or exc}") from None
        written.append(plan.target)
    return written, current


def unified_diff(plan: Planned) -> str:
    """The diff from the existing output (empty when missing) to the planned one."""
    old = (plan.current() or b"").decode("utf-8", errors="replace")
    new = plan.data.decode("utf-8", errors="replace")
    name = str(plan.target)
    return "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True), name, name))
