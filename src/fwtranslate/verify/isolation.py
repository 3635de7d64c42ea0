"""Running a verification in a child process: user code that exits, hangs, crashes or prints
cannot end, block or garble the caller.

One child per verification (both models, every phase): a fresh Python, started in a session
of its own so that it and whatever it starts can be killed as one process group. It receives
the request over a socket pair, announces each stage there (progress.py) and sends the
VerifyReport back. Its stdout and stderr (fd 1 and 2: Python's prints and C libraries' alike)
go to a temporary file; their last lines become ``report.output``. Whatever keeps the child
from sending a report (a timeout, a crash, ``os._exit``) is a report with status "error"
saying what it was doing: never a pass.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, BinaryIO

from . import progress
from .report import ERROR, VerifyReport

OUTPUT_LINES = 50  # kept in report.output
OUTPUT_BYTES = 64 * 1024
EXIT_GRACE_S = 5.0  # after its report, for the child to exit on its own
FRAMEWORK_IMPORT_S = 300.0  # the most starting Python and importing torch and TensorFlow may take


def run_isolated(request: dict[str, Any], timeout: float | None) -> VerifyReport:
    """``core.verify(**request)`` in a child process, killed after ``timeout`` seconds (None: no
    limit) of the models' code: the clock starts once torch and TensorFlow are imported (that
    takes seconds to minutes, by machine: at most FRAMEWORK_IMPORT_S)."""
    start = time.monotonic()
    limit = None if timeout is None else max(timeout, FRAMEWORK_IMPORT_S)
    deadline = None if timeout is None else start + limit
    clock_started = False
    ours, theirs = socket.socketpair()
    with ours, tempfile.TemporaryFile() as log:
        with theirs:
            proc = subprocess.Popen(
                _command(theirs.fileno()),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
                env=_child_env(),
            )
        conn = Connection(os.dup(ours.fileno()))
        stage, report, timed_out = progress.START, None, False
        try:
            conn.send(request)
            while report is None:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    timed_out = True
                    break
                if not conn.poll(left):
                    continue
                try:
                    kind, value = conn.recv()
                except (EOFError, OSError):
                    break  # the child is gone without a report
                if kind == "stage":
                    stage = value
                    if (
                        not clock_started
                        and timeout is not None
                        and stage.doing not in (progress.START.doing, progress.FRAMEWORKS)
                    ):
                        clock_started, limit = True, timeout
                        deadline = time.monotonic() + timeout
                else:
                    report = value
        except (BrokenPipeError, ConnectionResetError):
            pass  # it died before reading the request
        finally:
            conn.close()
            _end(proc, wait=EXIT_GRACE_S if report is not None else 0.0)
        if report is None:
            report = VerifyReport(
                status=ERROR,
                precision="float64" if request.get("float64") else "float32",
                reason=_why_no_report(stage, proc.returncode, limit if timed_out else None),
            )
            report.timings["total"] = time.monotonic() - start
        report.output = _tail(log)
    return report


def _command(fd: int) -> list[str]:
    root = str(Path(__file__).resolve().parents[2])  # the folder holding the fwtranslate package
    code = (
        "import sys\n"
        "if sys.path and sys.path[0] == '': del sys.path[0]  # not the user's folder: it may shadow modules\n"
        f"sys.path.append({root!r})\n"
        "from fwtranslate.verify.isolation_child import child_main\n"
        f"child_main({fd})\n"
    )
    return [sys.executable, "-c", code]


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"  # prints reach the log even when the code ends with os._exit
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ left next to the user's files
    env.setdefault("KERAS_BACKEND", "tensorflow")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def _end(proc: subprocess.Popen, wait: float) -> None:
    """Let the child exit (``wait`` seconds), then kill its whole process group: what the user's
    code started (a data loader's workers, a server) goes with it."""
    if wait:
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _why_no_report(stage: progress.Stage, returncode: int | None, timeout: float | None) -> str:
    if timeout is not None:
        return f"timed out after {timeout:g} s while {stage.doing}"
    where = " at import" if stage.at_import else f" while {stage.doing}"
    if returncode is not None and returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"the process running {stage.culprit} was killed by {name}{where}"
    return f"{stage.culprit} ended the process (exit status {returncode}, without a result){where}"


def _tail(log: BinaryIO) -> str:
    log.seek(0, os.SEEK_END)
    size = log.tell()
    log.seek(max(0, size - OUTPUT_BYTES))
    text = log.read().decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-OUTPUT_LINES:])
