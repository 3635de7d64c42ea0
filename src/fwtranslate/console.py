"""What the command line prints on stderr: diagnostics, errors and notes, coloured on a terminal.

Colour only when the stream is a terminal and NO_COLOR (https://no-color.org) is unset or
empty: logs, pipes and CI parsers get plain ``path:line:col: severity [RULE] message`` lines.
"""

from __future__ import annotations

import os
import sys
from typing import IO, Any

import click

from .report import ERROR, INFO, WARNING, Diagnostic

_SEVERITY_STYLE: dict[str, dict[str, Any]] = {
    ERROR: {"fg": "red", "bold": True},
    WARNING: {"fg": "yellow", "bold": True},
    INFO: {"fg": "cyan"},
}


def color_enabled(stream: IO | None = None) -> bool:
    stream = stream or sys.stderr
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


class Console:
    """``quiet``: errors only; ``verbose``: also one line per file."""

    def __init__(self, quiet: bool = False, verbose: bool = False):
        self.quiet, self.verbose = quiet, verbose
        self.color = color_enabled(sys.stderr)

    def style(self, text: str, **style) -> str:
        return click.style(text, **style) if self.color else text

    def diagnostic(self, d: Diagnostic) -> None:
        if self.quiet and d.severity != ERROR:
            return
        where = self.style(f"{d.path}:{d.line}:{d.col}:", bold=True)
        severity = self.style(d.severity, **_SEVERITY_STYLE.get(d.severity, {}))
        self._echo(f"{where} {severity} [{d.code}] {d.message}")

    def located_error(self, path: str, line: int, col: int, message: str) -> None:
        """A bad input's place, in the diagnostics' shape: ``path:line:col: error: message``."""
        where = f"{path}:{line}:{col}:" if line else f"{path}:"
        self._echo(f"{self.style(where, bold=True)} {self.style('error', **_SEVERITY_STYLE[ERROR])}: {message}")

    def error(self, message: str) -> None:
        self._echo(f"fwtranslate: {self.style('error', **_SEVERITY_STYLE[ERROR])}: {message}")

    def note(self, message: str) -> None:
        """A summary line (``wrote model_tf.py``); hidden by --quiet."""
        if not self.quiet:
            self._echo(message)

    def detail(self, message: str) -> None:
        """A per-file line; only with --verbose."""
        if self.verbose and not self.quiet:
            self._echo(self.style(message, dim=True))

    def _echo(self, text: str) -> None:
        click.echo(text, err=True, color=self.color)
