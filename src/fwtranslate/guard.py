"""Reject input that would crash the translator instead of failing cleanly.

LibCST's native parser accepts nesting that CPython refuses (more than 200 open brackets)
and overflows its stack on a few thousand levels, killing the process without a message.
CPython's own parser is fast next to LibCST's (a few percent of a translation) and has safe
limits: ask it first, and stop on what it finds too deep.

A single enormous line (a megabyte of calls: generated code) costs LibCST about 2 KB of
memory per character, 2 GB for the line: lines longer than MAX_LINE are refused.

pipeline.rewrite calls ``check_parsable`` on every source it translates (the API, the
command, folders, hooks and --with-deps all go through it); a caller that checked the same
string object first is not charged twice.
"""

from __future__ import annotations

import ast
import threading

from .errors import TranslationError

MAX_LINE = 100_000  # characters in one line

_checked = threading.local()  # the last source that passed, by identity


def check_parsable(source: str, path: str = "<string>") -> None:
    if getattr(_checked, "source", None) is source:
        return
    check_line_lengths(source)
    try:
        compile(source, path, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as err:  # IndentationError and TabError included
        if err.msg.startswith("too many"):  # nested parentheses, blocks, indentation levels
            raise TranslationError(f"syntax error: {err.msg}", err.lineno or 0, err.offset or 1) from None
        # any other syntax error is LibCST's to report: it may know a newer grammar than this Python
    except (RecursionError, MemoryError):
        raise TranslationError("the code is nested too deeply to translate") from None
    except ValueError:  # null bytes: LibCST reports them
        pass
    _checked.source = source


def forget() -> None:
    """Drop the reference to the last source checked (pipeline.rewrite calls it when done)."""
    _checked.source = None


def check_line_lengths(source: str, limit: int = MAX_LINE) -> None:
    if len(source) <= limit:
        return
    start, number = 0, 1
    while start < len(source):
        end = source.find("\n", start)
        if end < 0:
            end = len(source)
        if end - start > limit:
            length = len(source[start:end].rstrip("\r"))
            if length > limit:
                raise TranslationError(
                    f"line {number} is {length:,} characters long; fwtranslate translates "
                    f"lines up to {limit:,} characters",
                    number,
                    1,
                )
        start, number = end + 1, number + 1
