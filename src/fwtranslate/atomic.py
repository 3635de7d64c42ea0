"""Writing files so that a failure or an interrupt never leaves a half-written one.

- ``write_atomic``: one file, via a temporary file in the same folder and a rename.
- ``write_tree``: many files under one output folder, staged in a hidden folder first and moved
  into place at the end (one rename when the output folder is new; otherwise one rename per
  file, with SIGINT/SIGTERM/SIGHUP held back while they run).

Our temporary files and staging folders are named ``.fwtranslate-PID-XXXXXXXX.tmp`` and
``.fwtranslate-PID-XXXXXXXX.staging``. A run killed outright (SIGKILL, power loss) cannot remove
them; the next write into the same folder does (``clean_stale``): only entries with that name,
owned by the current user, whose process is no longer running.

Only regular files are ever replaced or read: an existing output that is a device, a pipe or a
socket is refused (``NotRegularFile``), never replaced by a file nor read.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import signal
import stat
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PREFIX = ".fwtranslate-"
_OURS = re.compile(r"^\.fwtranslate-(\d+)-[a-z0-9_]+\.(tmp|staging)$")


class NotRegularFile(OSError):
    """An existing path that is not a regular file (a device, a pipe, a socket)."""

    def __init__(self, path: Path) -> None:
        super().__init__(errno.EINVAL, "it is not a regular file", str(path))


def umask() -> int:
    mask = os.umask(0)  # the only way to read it is to set it
    os.umask(mask)
    return mask


def new_file_mode(source: Path | None = None, target: Path | None = None) -> int:
    """The permissions of a new output: its source's, less the umask (as ``cp`` does), so a
    0600 source never becomes a 0644 translation; ``0666 & ~umask`` without a regular source."""
    try:
        if source is not None and (target is None or not _same_path(source, target)):
            st = os.stat(source)
            if stat.S_ISREG(st.st_mode):
                return stat.S_IMODE(st.st_mode) & 0o777 & ~umask()
    except OSError:
        pass
    return 0o666 & ~umask()


def final_mode(target: Path, new_mode: int | None = None) -> int:
    """An existing regular file keeps its permissions; a new one gets ``new_mode``.
    Raises IsADirectoryError / NotRegularFile for an existing path of another kind."""
    try:
        st = os.stat(target)  # follows a symlink: the file written through it
    except FileNotFoundError:
        return new_mode if new_mode is not None else 0o666 & ~umask()
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(target))
    if not stat.S_ISREG(st.st_mode):
        raise NotRegularFile(target)
    return stat.S_IMODE(st.st_mode)


def read_regular(path: Path, limit: int | None = None) -> bytes | None:
    """At most ``limit`` bytes (the whole file when None) of ``path`` if it is a regular file;
    None when it is missing, unreadable or anything else (a device or a pipe is never opened
    for reading: /dev/zero would never end, a pipe would block)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # replaced between the two looks
            return None
        want = st.st_size + 1 if limit is None else limit
        chunks, size = [], 0
        while size < want:
            chunk = os.read(fd, min(want - size, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def write_atomic(path: Path, text: str | bytes, new_mode: int | None = None) -> None:
    """Write via a temporary file in the same folder and a rename, so that an interrupted or
    failed write leaves the old file (or no file), never a half-written one. A symlink is
    written through (the link stays a link); an existing file keeps its permissions, a new one
    gets ``new_mode`` (default ``0666 & ~umask``). An existing directory, device, pipe or
    socket is refused (OSError), never replaced."""
    path = Path(path)
    if path.is_symlink():
        path = path.resolve()
    data = text.encode("utf-8") if isinstance(text, str) else text
    mode = final_mode(path, new_mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f"{PREFIX}{os.getpid()}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)  # mkstemp makes 0600 files
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_tree(root: Path, items: list[tuple[Path, bytes, int]]) -> None:
    """Write ``(target, data, mode)`` items, every target inside ``root``, all or nothing as far
    as an interrupt goes. The files are first written into a hidden staging folder (inside
    ``root`` when it exists, else next to it); an exception or Ctrl-C there removes it, leaving
    the outputs as they were. Then they are moved into place: a new ``root`` is the staging
    folder renamed (one step); into an existing ``root`` each file is renamed over its target
    while SIGINT, SIGTERM and SIGHUP are held back, so an interrupt waits for the moves to end.
    Only SIGKILL (or a crash) during the moves leaves some files new and the others as they
    were, plus the staging folder, which the next write into the folder removes."""
    if not items:
        return
    root = Path(root)
    fresh = not os.path.lexists(root)
    base = root.parent if fresh else root
    base.mkdir(parents=True, exist_ok=True)
    clean_stale(base)
    staging = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", suffix=".staging", dir=base))
    try:
        staged = []
        for i, (target, data, mode) in enumerate(items):
            spot = staging / Path(target).relative_to(root) if fresh else staging / str(i)
            spot.parent.mkdir(parents=True, exist_ok=True)
            _write_new(spot, data, mode)
            staged.append((spot, Path(target), data, mode))
        with _signals_held():
            if fresh:
                os.chmod(staging, 0o777 & ~umask())  # mkdtemp makes 0700 folders
                try:
                    os.rename(staging, root)
                    return
                except OSError:  # root appeared meanwhile: move file by file
                    pass
            for spot, target, data, mode in staged:
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.replace(spot, target)
                except OSError as exc:
                    if exc.errno != errno.EXDEV:  # a folder below root on another file system
                        raise
                    write_atomic(target, data, mode)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already when renamed into place


def clean_stale(folder: Path) -> None:
    """Remove our temporary files and staging folders left in ``folder`` by a run that was
    killed: named by us, owned by this user, and their process no longer running."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        match = _OURS.match(entry.name)
        if not match:
            continue
        pid = int(match.group(1))
        if pid == os.getpid() or _alive(pid):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if st.st_uid != os.getuid():
                continue
            if match.group(2) == "tmp" and stat.S_ISREG(st.st_mode):
                os.unlink(entry.path)
            elif match.group(2) == "staging" and stat.S_ISDIR(st.st_mode):
                shutil.rmtree(entry.path, ignore_errors=True)
        except OSError:
            pass


def _write_new(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: someone else's process
        return True
    return True


@contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP back: delivered again when the block ends.

    Python-level handlers, not a signal mask: a mask holds a signal back from one thread only,
    and the OS may hand a process-wide signal to any thread (a pool's, a framework's), whereas
    Python always runs its handlers in the main thread."""
    held = [s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s]
    if threading.current_thread() is not threading.main_thread():
        yield  # handlers can only be set from the main thread
        return
    received: list[int] = []
    previous = {s: signal.signal(s, lambda signum, frame: received.append(signum)) for s in held}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if received:
            signal.raise_signal(received[0])  # now, with the handler that was there before


def _same_path(a: Path, b: Path) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False
