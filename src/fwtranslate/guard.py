"""Reject input that would crash the translator instead of failing cleanly.

LibCST's native parser accepts nesting that CPython refuses (more than 200 open brackets)
and overflows its stack on a few thousand levels, killing the process without a message.
CPython's own parser is fast next to LibCST's (a few percent of a translation) and has safe
limits: ask it first, and stop on what it finds too deep.

A single enormous line (a megabyte of calls: generated code) costs LibCST about 2 KB of
memory per character, 2 GB for the line: in a file that imports the source framework, lines
longer than MAX_LINE are refused. A file that imports none is not parsed by LibCST at all (it
comes back unchanged), so its lines may be as long as they are.

pipeline.rewrite calls ``check_source`` on every source it translates (the API, the
command, folders, hooks and --with-deps all go through it).

CPython's tree of a file costs about 3.5 KB per line while it is built: a file longer than
PIECE_LINES lines is compiled in pieces of about that many lines instead, each cut before a
line that may start a top-level statement, and only the pieces' imports are kept. When every
piece compiles, so does the whole file (the tokenizer is back at a line start, outside any
bracket or string and at indentation 0, where each piece begins, and the grammar's statements
follow one another); CPython's parser keeps no other state across statements in this mode
(``from __future__ import barry_as_FLUFL`` is only honoured through compile flags; such a file
is compiled whole all the same). When a piece does not compile, whatever the reason (a cut
inside a string or brackets, or a real error), the whole file is compiled as before: the
refusals and their messages do not depend on the pieces.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from .errors import TranslationError

MAX_LINE = 100_000  # characters in one line
PIECE_LINES = 2000  # a longer file is compiled in pieces of about this many lines


def check_source(source: str, path: str = "<string>", roots: tuple[str, ...] = ()) -> bool:
    """The guard's refusals (TranslationError: nesting, line lengths); False when CPython parsed
    ``source`` and it imports none of ``roots`` (no framework code: nothing to translate), True
    otherwise. Without the whole file's tree when its pieces compile (module docstring)."""
    found = None
    if source.count("\n") > PIECE_LINES and "barry_as_FLUFL" not in source:
        found = _imports_in_pieces(source, path, roots)
    if found is None:
        tree = _compile(source, path)
        found = tree is None or imports_any(tree, roots)
        del tree  # as big as the file: freed before the line scan, not at return
    if found or not roots:  # a file with no framework code is not parsed by LibCST: any line length
        check_line_lengths(source)
    return found


def _imports_in_pieces(source: str, path: str, roots: tuple[str, ...]) -> bool | None:
    """Whether a piece imports a module under ``roots``; None when a piece does not compile."""
    found = False
    for line, piece in _pieces(source, PIECE_LINES):
        try:
            # blank lines before it: CPython's warnings (an invalid escape...) name the file's lines
            tree = compile("\n" * (line - 1) + piece, path, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None  # the whole file tells what it is
        found = found or imports_any(tree, roots)
        del tree
    return found


_CONTINUES = frozenset({"else", "elif", "except", "finally"})
_FIRST_WORD = re.compile(r"[^\W\d]\w*")


def _pieces(source: str, size: int) -> Iterator[tuple[int, str]]:
    """(first line, text) of ``source`` in consecutive runs of at least ``size`` lines, each cut
    before a line that starts with a name or ``@`` at column 0 (not ``else``, ``except``...; not
    after a line ending with a backslash). A cut in the wrong place only makes a piece fail to
    compile."""
    start = pos = count = 0
    first = 1
    while True:
        end = source.find("\n", pos)
        if end < 0:
            break
        count, pos = count + 1, end + 1
        if count >= size and pos < len(source) and not source[max(end - 2, 0) : end].rstrip("\r").endswith("\\"):
            char = source[pos]
            word = _FIRST_WORD.match(source, pos)
            if char == "@" or (word is not None and word.group() not in _CONTINUES):
                yield first, source[start:pos]
                start, first, count = pos, first + count, 0
    yield first, source[start:]


def _compile(source: str, path: str) -> ast.Module | None:
    """TranslationError for nesting the translator must refuse; CPython's tree of the source
    (None when CPython itself cannot parse it: LibCST then reports the syntax error)."""
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
    return tree  # type: ignore[return-value]  # compile's ONLY_AST result is an ast.Module


def imports_any(tree: ast.AST, roots: tuple[str, ...]) -> bool:
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
