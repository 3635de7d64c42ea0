"""The child side of an isolated verification (isolation.py starts it): run the request,
forward every stage and send the report back over the socket."""

from __future__ import annotations

import contextlib
import os
import sys
from multiprocessing.connection import Connection

from . import progress
from .report import ERROR, VerifyReport


def child_main(fd: int) -> None:
    """Run the request read from ``fd``, send stages and the report there, and exit at once
    (TensorFlow's teardown at interpreter exit takes seconds and matters to no one)."""
    conn = Connection(fd)
    progress.in_child = True
    request = conn.recv()

    def forward(stage: progress.Stage) -> None:
        try:
            conn.send(("stage", stage))
        except OSError:
            os._exit(3)  # the parent is gone: nobody waits for the result

    progress.listen(forward)
    try:
        from .core import verify

        report = verify(**request, isolate=False)
    except BaseException as exc:  # noqa: BLE001 - whatever escaped the verifier: the child reports it
        report = VerifyReport(status=ERROR, reason=progress.current().blame(progress.describe_exit(exc)))
    progress.listen(None)
    try:
        conn.send(("report", report))
    except Exception as exc:  # noqa: BLE001 - an object in it does not pickle: send its summary
        conn.send(
            (
                "report",
                VerifyReport(status=ERROR, reason=f"the report could not be sent back: {type(exc).__name__}: {exc}"),
            )
        )
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(0)
