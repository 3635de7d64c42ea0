"""Reject input that would crash the translator instead of failing cleanly.

LibCST's native parser accepts nesting that CPython refuses (more than 200 open brackets)
and overflows its stack on a few thousand levels, killing the process without a message.
CPython's own parser is fast next to LibCST's (a few percent of a translation) and has safe
limits: ask it first, and stop on what it finds too deep.

A single enormous line (a megabyte of calls: generated code) costs LibCST about 2 KB of
memory per character, 2 GB for the line: in a file that imports the source framework, lines
longer than MAX_LINE are refused. A file that imports none is not parsed by LibCST at all (it
comes back unchanged), so its lines may be as long as they are.

pipeline.rewrite calls ``check_parsable`` on every source it translates (the API, the
command, folders, hooks and --with-deps all go through it).
"""

from __future__ import annotations

import ast

from .errors import TranslationError

MAX_LINE = 100_000  # characters in one line


def check_parsable(source: str, path: str = "<string>", roots: tuple[str, ...] = ()) -> ast.Module | None:
    """TranslationError for input the translator must refuse; CPython's tree of the source
    (None when CPython itself cannot parse it: LibCST then reports the syntax error). With
    ``roots``, a file that imports none of them is not held to MAX_LINE."""
    tree = None
    try:
        tree = compile(source, path, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as err:  # IndentationError and TabError included
        if err.msg.startswith("too many"):  # nested parentheses, blocks, indentation levels
            raise TranslationError(f"syntax error: {err.msg}", err.lineno or 0, err.offset or 1) from None
        # any other syntax error is LibCST's to report: it may know a newer grammar than this Python
    except (RecursionError, MemoryError):
        raise TranslationError("the code is nested too deeply to translate") from None
    except ValueError:  # null bytes: LibCST reports them
        pass
    if tree is None or not roots or imports_any(tree, roots):
        check_line_lengths(source)
    return tree


def imports_any(tree: ast.Module, roots: tuple[str, ...]) -> bool:
    """Does any import statement, at any depth, name a module under ``roots``? (A superset of
    what imports.py binds: False means the file has no framework code.)"""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".", 1)[0] in roots for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").split(".", 1)[0] in roots:
            return True
    return False


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
