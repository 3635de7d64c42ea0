"""``# fwtranslate: ignore[RULE, ...]`` and ``# fwtranslate: ignore`` comments.

A suppression comment on the first or the last line of a construct drops the diagnostics of
that construct (all of them, or those of the listed rules) and their ``unconverted`` marker;
the construct itself stays as written. The check happens when a pass reports, so a suppressed
construct leaves no trace in the output besides the user's own comment.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Callable

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

ALL = frozenset({"*"})  # `# fwtranslate: ignore` without a rule list
_COMMENT = re.compile(r"#\s*fwtranslate:\s*ignore\b(?:\[([^\]]*)\])?")


def find(source: str) -> dict[int, frozenset[str]]:
    """line -> the rule names suppressed there (``ALL`` for every rule)."""
    if "fwtranslate:" not in source:  # the common case: no tokenizing at all
        return {}
    found: dict[int, frozenset[str]] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type != tokenize.COMMENT:
                continue  # text in a string is not a suppression
            m = _COMMENT.search(tok.string)
            if m:
                names = frozenset(n.strip() for n in (m.group(1) or "").split(",") if n.strip())
                found[tok.start[0]] = found.get(tok.start[0], frozenset()) | (names or ALL)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return {}
    return found


def checker(module: cst.Module, source: str) -> Callable[[cst.CSTNode, str], bool] | None:
    """A ``(original node, rule) -> suppressed?`` predicate, or None when the file has no
    suppression comment. Positions cost about a codegen: only files with comments pay it."""
    lines = find(source)
    if not lines:
        return None
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)

    def suppressed(node: cst.CSTNode, rule: str) -> bool:
        pos = positions.get(node)
        if pos is None:  # a node built by a pass: it has no place in the source
            return False
        for line in {pos.start.line, pos.end.line}:
            names = lines.get(line)
            if names is not None and (names is ALL or "*" in names or rule in names):
                return True
        return False

    return suppressed
