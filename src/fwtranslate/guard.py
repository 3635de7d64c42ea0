"""Reject input that would crash the translator instead of failing cleanly.

LibCST's native parser accepts nesting that CPython refuses (more than 200 open brackets)
and overflows its stack on a few thousand levels, killing the process without a message.
CPython's own parser is fast next to LibCST's (a few percent of a translation) and has safe
limits: ask it first, and stop on what it finds too deep.
"""
from __future__ import annotations

import ast

from .pipeline import TranslationError


def check_parsable(source: str, path: str = "<string>") -> None:
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
