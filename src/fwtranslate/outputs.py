"""Where translations go, and the ways of handing them over: write, --check, --diff.

All outputs are planned first and checked together (``preflight``), so that an output that
cannot be written stops the run before anything is written. Then they are written atomically
(fwtranslate.atomic): one file by ``write_atomic``, a folder's files staged and moved into place
together by ``write_tree``. An output whose content is already right is not touched, so its
timestamp stays (build tools and editors see no change).

An output is only ever a regular file: an existing device, pipe or socket in its place is
refused, never replaced and never read (comparing with /dev/zero would never end), and a
comparison reads at most one byte more than the new content.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .atomic import final_mode, new_file_mode, read_regular, write_atomic, write_tree


class OutputError(Exception):
    """An output path that cannot be written."""


@dataclass
class Planned:
    target: Path
    data: bytes
    source: Path | None  # what it is made from: a new output gets its permissions
    root: Path | None = None  # the output root the target must stay inside, symlinks resolved
    links: bool = True  # False: a symlink in the target's place is refused, not written through

    def current(self, limit: int | None = None) -> bytes | None:
        """The existing output (at most ``limit`` bytes), None unless it is a regular file."""
        return read_regular(self.target, limit)

    @property
    def stale(self) -> bool:
        return self.current(len(self.data) + 1) != self.data


def preflight(plans: list[Planned], inputs: Iterable[Path] = ()) -> None:
    """Raise OutputError for the first output that cannot be written: an existing folder,
    device, pipe or broken link in its place, a file where a parent folder should be, a
    read-only folder, a place outside its output root, an input file (``inputs``), or a place
    two outputs would write."""
    protected = {_real(p) for p in inputs}
    seen: dict[Path, Path] = {}
    for plan in plans:
        target = plan.target
        if target.is_symlink():
            if not plan.links:
                raise OutputError(f"cannot write {target}: it is a symbolic link; it is only written as a regular file")
            if not target.exists():
                raise OutputError(f"cannot write {target}: it is a broken symbolic link")
        if target.is_dir():
            raise OutputError(f"cannot write {target}: it is a directory")
        if target.exists() and not target.is_file():
            raise OutputError(f"cannot write {target}: it is not a regular file")
        real = _real(target)
        if plan.root is not None and not _inside(real, _real(plan.root)):
            raise OutputError(f"cannot write {target}: it leads outside {plan.root} (a symbolic link)")
        if real in protected:
            raise OutputError(f"cannot write {target}: it is an input file; the input is never overwritten")
        if real in seen:
            raise OutputError(f"cannot write {target}: another output ({seen[real]}) is written there")
        seen[real] = target
        parent = target.parent
        while not parent.exists():  # the first existing ancestor decides
            if parent.is_symlink():
                raise OutputError(f"cannot write {target}: {parent} is a broken symbolic link")
            parent = parent.parent
        if not parent.is_dir():
            raise OutputError(f"cannot write {target}: {parent} is not a directory")
        if not os.access(parent, os.W_OK | os.X_OK) or (target.exists() and not os.access(target, os.W_OK)):
            raise OutputError(f"cannot write {target}: permission denied")


def write_all(plans: list[Planned], tree: Path | None = None) -> tuple[list[Path], list[Path]]:
    """Write the stale outputs; returns (written, already up to date). The outputs inside
    ``tree`` (a folder's output folder) are written together by ``write_tree``: an interrupt
    before their final moves leaves none of them written. A new output gets its source's
    permissions (less the umask); an existing one keeps its own."""
    written: list[Path] = []
    current: list[Path] = []
    staged: list[Planned] = []
    single: list[Planned] = []
    for plan in plans:
        if not plan.stale:
            current.append(plan.target)
        elif tree is not None and _inside(Path(os.path.abspath(plan.target)), Path(os.path.abspath(tree))):
            staged.append(plan)
        else:
            single.append(plan)
    if staged and tree is not None:  # (staged only inside a tree)
        try:
            items = []
            for plan in staged:
                # an existing root: a symlink in it (checked to stay inside) is written through
                target = plan.target.resolve() if plan.target.is_symlink() else plan.target
                items.append((target, plan.data, final_mode(target, new_file_mode(plan.source, plan.target))))
            write_tree(tree, items)
        except OSError as exc:
            raise OutputError(f"cannot write into {tree}: {exc.strerror or exc}") from None
        written.extend(plan.target for plan in staged)
    for plan in single:
        try:
            write_atomic(plan.target, plan.data, new_file_mode(plan.source, plan.target))
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


def _real(path: Path) -> Path:
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):
        return Path(os.path.abspath(path))


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents
