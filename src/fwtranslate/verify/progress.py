"""Where a verification is: importing orig.py, building Net from it, the inference phase...

The verifier announces each stage with ``stage(...)``. Nothing listens in an ordinary call;
an isolated run (isolation.py) forwards every stage to the parent process, so that a run
that times out or dies says what it was doing ("timed out after 20 s while importing orig.py"),
and ``blame`` turns an exception that escaped the user's code (SystemExit, KeyboardInterrupt)
into a sentence naming the user's file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    doing: str  # follows "while": "importing orig.py"
    culprit: str = "the verified code"  # who runs there: "orig.py", "Net(...) in orig.py"
    at_import: bool = False

    def blame(self, what: str) -> str:
        """``what`` (``SystemExit(0)``) raised in this stage, as a sentence."""
        return f"{self.culprit} raised {what}" + (" at import" if self.at_import else f" while {self.doing}")


START = Stage("starting")
# Importing torch and TensorFlow (seconds to minutes, by machine and disk cache) is not the
# user's code: an isolated run's timeout starts after it (isolation.py).
FRAMEWORKS = "importing torch and tensorflow"
_current = START
_listener: Callable[[Stage], None] | None = None
in_child = False  # set by isolation_child.child_main: KeyboardInterrupt is then the user code's own


def stage(doing: str, culprit: str = "the verified code", at_import: bool = False) -> None:
    global _current
    _current = Stage(doing, culprit, at_import)
    if _listener is not None:
        _listener(_current)


def current() -> Stage:
    return _current


def listen(fn: Callable[[Stage], None] | None) -> None:
    global _listener
    _listener = fn


def describe_exit(exc: BaseException) -> str:
    """``SystemExit(0)``, ``SystemExit('bye')``, ``KeyboardInterrupt``."""
    if isinstance(exc, SystemExit):
        return f"SystemExit({exc.code!r})"
    return type(exc).__name__ + (f"({exc})" if str(exc) else "")
