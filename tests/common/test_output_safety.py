"""Output safety beyond the table of docs/robustness.md: device nodes (as root), special files
that must never be read, interrupts and kills in the middle of writing a tree, leftovers of a
killed run, and fwtranslate.atomic's staging directly.

The table's cases (tests/robustness_cases_paths.py) cover what fits "run the CLI once in a
temporary folder"; these need root, a signal at the right moment, or a second run.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from robustness_support import GOOD, cli

from fwtranslate import atomic, translate
from helpers import CliResult, fwtranslate_command

TRANSLATED = translate(GOOD).code.encode()


def _ours(folder: Path) -> list[Path]:
    """Our temporary files and staging folders anywhere below ``folder``."""
    return list(folder.rglob(".fwtranslate-*"))


def _limited() -> None:
    """At most 4 GiB of address space: reading /dev/zero to compare (the old bug) must fail
    fast with a MemoryError, not take the machine down."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


def _run(*args, cwd: Path, timeout: float = 60) -> CliResult:
    return cli(*args, cwd=cwd, timeout=timeout, preexec_fn=_limited)


# --- device nodes and special files -------------------------------------------------------------
@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="mknod needs root")
def test_a_device_node_is_never_replaced_as_root(tmp_path):
    (tmp_path / "m.py").write_text(GOOD)
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "a.py").write_text(GOOD)
    (tmp_path / "out").mkdir()
    try:
        for rel in ("dev.py", "dev.json", "out/a.py"):
            os.mknod(tmp_path / rel, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # like /dev/null
    except PermissionError:
        pytest.skip("mknod is not permitted here")
    (tmp_path / "link.py").symlink_to("dev.py")
    for args, message in [
        (("m.py", "--to", "tf", "-o", "dev.py"), "fwtranslate: error: cannot write dev.py: it is not a regular file"),
        (("m.py", "--to", "tf", "-o", "link.py"), "fwtranslate: error: cannot write link.py: it is not a regular file"),
        (
            ("m.py", "--to", "tf", "--report-json", "dev.json"),
            "fwtranslate: error: --report-json dev.json is not a regular file; give a file path",
        ),
        (("tree", "--to", "tf", "-o", "out"), "fwtranslate: error: cannot write out/a.py: it is not a regular file"),
    ]:
        proc = _run(*args, cwd=tmp_path)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.splitlines() == [message], proc.stderr
    for rel in ("dev.py", "dev.json", "out/a.py"):
        assert stat.S_ISCHR(os.lstat(tmp_path / rel).st_mode), rel
    assert not (tmp_path / "m_tf.py").exists() and not _ours(tmp_path)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/full", "/dev/stdout"])
def test_a_special_file_is_never_read(tmp_path, device):
    """Comparing with /dev/zero read it forever (out of memory); /dev/stdout on a pipe hung."""
    if not os.path.exists(device):
        pytest.skip(f"no {device} here")
    (tmp_path / "m.py").write_text(GOOD)
    start = time.monotonic()
    proc = _run("m.py", "--to", "tf", "-o", device, cwd=tmp_path, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.splitlines() == [f"fwtranslate: error: cannot write {device}: it is not a regular file"]
    proc = _run("m.py", "--to", "tf", "--report-json", device, cwd=tmp_path, timeout=60)
    assert proc.returncode == 2, proc.stderr
    message = f"fwtranslate: error: --report-json {device} is not a regular file; give a file path"
    assert proc.stderr.splitlines() == [message]
    for mode in ("--check", "--diff"):  # nothing is written: a special file is just "would rewrite"
        proc = _run("m.py", "--to", "tf", "-o", device, mode, cwd=tmp_path, timeout=60)
        assert proc.returncode == 1 and f"would rewrite {device}" in proc.stderr, proc.stderr
    assert time.monotonic() - start < 50
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.py"]


def test_reading_an_existing_output_is_bounded(tmp_path):
    (tmp_path / "big").write_bytes(b"x" * 100_000)
    assert atomic.read_regular(tmp_path / "big", 11) == b"x" * 11
    os.mkfifo(tmp_path / "fifo")  # opening it to read would block without a writer
    assert atomic.read_regular(tmp_path / "fifo") is None
    assert atomic.read_regular(tmp_path / "missing") is None


# --- interrupts and kills while a tree is written -------------------------------------------------
def _big_tree(root: Path, python: int, other: int, size: int = 1 << 20) -> int:
    """``python`` small model files and ``other`` files of ``size`` bytes (copied with
    --copy-other: they make the write phase long enough to be interrupted reliably)."""
    for i in range(python):
        folder = root / f"pkg{i % 20}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"m{i}.py").write_text(GOOD)
    for i in range(other):
        (root / f"data{i}.bin").write_bytes(bytes([i % 256]) * size)
    return python + other


def _start_and_catch_the_write_phase(tmp_path: Path, *args) -> subprocess.Popen:
    """Start ``fwtranslate tree --to tf -o out ...`` and return once it is writing: our staging
    folder (or, with a writer that does not stage, ``out``) has appeared with a file in it."""
    proc = subprocess.Popen(
        [*fwtranslate_command(), "tree", "--to", "tf", "-o", "out", "--copy-other", *args],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"fwtranslate finished before its write phase was seen: {proc.stderr.read()}")
        out = tmp_path / "out"
        staging = [*tmp_path.glob(".fwtranslate-*.staging"), *out.glob(".fwtranslate-*.staging")]
        try:
            if any(any(os.scandir(folder)) for folder in staging):
                return proc
            if out.is_dir() and any(not e.name.startswith(".") and e.name != "keep.txt" for e in os.scandir(out)):
                return proc  # a writer that does not stage
        except OSError:
            pass
        time.sleep(0.002)
    proc.kill()
    pytest.fail("the write phase did not start within 60 s")


def test_ctrl_c_while_a_tree_is_written_writes_nothing(tmp_path):
    total = _big_tree(tmp_path / "tree", 2000, 60)
    proc = _start_and_catch_the_write_phase(tmp_path, "-j", "2")
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert stderr.splitlines()[-1] == "fwtranslate: error: interrupted"
    assert "Traceback" not in stderr
    written = [p for p in (tmp_path / "out").rglob("*") if p.is_file()] if (tmp_path / "out").exists() else []
    # all or nothing: an interrupt while files are staged writes none; one that arrives during
    # the final moves is held back until they end (then every file is there)
    assert len(written) in (0, total), len(written)
    assert not _ours(tmp_path)


def test_a_killed_tree_write_leaves_nothing_in_place_and_the_next_run_cleans_up(tmp_path):
    total = _big_tree(tmp_path / "tree", 200, 60)
    (tmp_path / "out").mkdir()  # an existing output folder: the staging folder is inside it
    (tmp_path / "out" / "keep.txt").write_text("mine\n")
    proc = _start_and_catch_the_write_phase(tmp_path, "-j", "1")
    proc.kill()
    proc.communicate(timeout=60)
    leftovers = _ours(tmp_path)
    assert [p.name.endswith(".staging") for p in leftovers] == [True], leftovers
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")) == ["keep.txt"]
    proc = cli("tree", "--to", "tf", "-o", "out", "--copy-other", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not _ours(tmp_path), "the killed run's staging folder was not cleaned up"
    assert len([p for p in (tmp_path / "out").rglob("*") if p.is_file()]) == total + 1
    assert (tmp_path / "out" / "pkg0" / "m0.py").read_bytes() == TRANSLATED


def test_a_killed_runs_temporary_file_is_removed_by_the_next_write(tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    ).stdout.strip()  # a process that has ended
    stale = tmp_path / f".fwtranslate-{dead}-abc123_x.tmp"
    live = tmp_path / f".fwtranslate-{os.getpid()}-abc123_x.tmp"  # a running process's: kept
    other = tmp_path / ".fwtranslate-notes.tmp"  # not named like ours: kept
    for p in (stale, live, other):
        p.write_text("half a translation")
    (tmp_path / "m.py").write_text(GOOD)
    proc = cli("m.py", "--to", "tf", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["m.py", "m_tf.py", live.name, other.name])


# --- fwtranslate.atomic.write_tree directly --------------------------------------------------------
def _items(root: Path, n: int, data: bytes = b"new\n") -> list[tuple[Path, bytes, int]]:
    return [(root / f"d{i % 3}" / f"f{i}.py", data, 0o640) for i in range(n)]


@pytest.mark.parametrize("existing", [True, False])
def test_an_interrupt_while_staging_leaves_the_outputs_as_they_were(tmp_path, monkeypatch, existing):
    root = tmp_path / "out"
    if existing:
        for target, _, _ in _items(root, 10):
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(b"old\n")
    real = atomic._write_new
    calls = []

    def interrupted(path, data, mode):
        calls.append(path)
        if len(calls) == 6:
            raise KeyboardInterrupt
        real(path, data, mode)

    monkeypatch.setattr(atomic, "_write_new", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic.write_tree(root, _items(root, 10))
    if existing:
        assert {p.read_bytes() for p in root.rglob("*.py")} == {b"old\n"}
    else:
        assert not root.exists()
    assert not _ours(tmp_path)


@pytest.fixture(params=[0, 4], ids=["one thread", "with other threads"])
def other_threads(request):
    """Threads that may receive a process-wide signal (a framework's pool, a progress bar)."""
    stop = threading.Event()
    threads = [threading.Thread(target=stop.wait, daemon=True) for _ in range(request.param)]
    for t in threads:
        t.start()
    yield
    stop.set()


def test_an_interrupt_during_the_moves_waits_for_them(tmp_path, monkeypatch, other_threads):
    root = tmp_path / "out"
    root.mkdir()
    real = os.replace
    moved = []

    def replace(src, dst):
        if not moved:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C as the first file is moved into place
        real(src, dst)
        moved.append(dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        atomic.write_tree(root, _items(root, 10))
    assert len(moved) == 10  # held back until every file was in place
    assert sorted(p.read_bytes() for p in root.rglob("*.py")) == [b"new\n"] * 10
    assert {p.stat().st_mode & 0o777 for p in root.rglob("*.py")} == {0o640}
    assert not _ours(tmp_path)


def test_a_new_output_folder_appears_in_one_step(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic.os, "replace", lambda *a: pytest.fail("moved file by file"))
    atomic.write_tree(tmp_path / "a" / "out", _items(tmp_path / "a" / "out", 5))
    assert len(list((tmp_path / "a" / "out").rglob("*.py"))) == 5
    assert (tmp_path / "a" / "out").stat().st_mode & 0o777 == 0o777 & ~atomic.umask()
    assert not _ours(tmp_path)
