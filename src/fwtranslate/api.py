"""The Python API: ``translate``, ``translate_file`` (and ``verify``, in fwtranslate.verify)."""

from __future__ import annotations

import codecs
import errno
import io
import re
import stat
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from .atomic import new_file_mode, write_atomic
from .directions import LAYOUTS, Direction, direction_for
from .errors import TranslationError
from .pipeline import rewrite
from .report import ERROR, Diagnostic, FileStats
from .rules import load_rules

MARKER = "# fwtranslate: unconverted"


@dataclass
class Translation:
    source: str
    code: str
    diagnostics: list[Diagnostic]
    path: str = "<string>"
    to: str = "tf"
    framework_locals: set[str] = field(default_factory=set)
    kept_locals: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        """True when everything was translated (no error diagnostics)."""
        return not any(d.severity == ERROR for d in self.diagnostics)

    @property
    def changed(self) -> bool:
        return self.code != self.source

    @cached_property
    def stats(self) -> FileStats:
        stats = FileStats(self.path, lines=self.source.count("\n") + (0 if self.source.endswith("\n") else 1))
        stats.framework_lines = len(_lines_using(self.source, self.framework_locals))
        unconverted = _lines_using(self.code, self.kept_locals, skip_imports=True)
        lines = self.code.splitlines()
        for i, line in enumerate(lines):
            if line.lstrip().startswith(MARKER):
                j = i + 1
                while j < len(lines) and lines[j].lstrip().startswith("#"):
                    j += 1
                unconverted.add(j + 1)
        stats.unconverted_lines = len(unconverted)
        for d in self.diagnostics:
            stats.diagnostics[d.severity] = stats.diagnostics.get(d.severity, 0) + 1
        return stats


def _lines_using(code: str, names: set[str], skip_imports: bool = False) -> set[int]:
    """Line numbers where one of ``names`` appears as a name token (not in strings/comments)."""
    if not names:
        return set()
    found: set[int] = set()
    import_lines: set[int] = set()
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return found
    line_start = True
    in_import = False
    for tok in tokens:
        if tok.type in (tokenize.NEWLINE, tokenize.NL):
            line_start, in_import = True, False
            continue
        if tok.type in (tokenize.INDENT, tokenize.DEDENT, tokenize.COMMENT):
            continue
        if line_start:
            in_import = tok.string in ("import", "from")
            line_start = False
        if tok.type == tokenize.NAME and tok.string in names:
            for line in range(tok.start[0], tok.end[0] + 1):
                (import_lines if in_import else found).add(line)
    return found if skip_imports else found | import_lines


def translate(
    source: str, to: str = "tf", *, path: str = "<string>", rules: Iterable[str | Path] = (), layout: str = "torch"
) -> Translation:
    """Translate model source code. ``to`` is "tf" (PyTorch -> Keras) or "torch".

    ``layout`` (PyTorch -> Keras only): "torch" keeps PyTorch's channels-first interface,
    "keras" gives the models a channels-last one, "channels-first" translates layer by layer
    (docs/torch_to_tf.md, "Layout"). Raises ValueError for an unknown layout and
    TranslationError for bad input (syntax errors); untranslatable constructs are not errors
    here: they are reported in ``Translation.diagnostics`` and marked in the code.
    """
    direction = direction_for(to)
    check_layout(layout, direction.name)
    ruleset = load_rules(direction.name, tuple(str(r) for r in rules))
    result = rewrite(source, path, direction, ruleset, layout)
    return Translation(source, result.code, result.diagnostics, path, to, result.framework_locals, result.kept_locals)


def check_layout(layout: str, direction: str) -> None:
    """ValueError for a layout that is not one of LAYOUTS, or not "torch" outside PyTorch -> Keras."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r} (choose from: {', '.join(LAYOUTS)})")
    if layout != "torch" and not Direction.by_name(direction).chooses_layout:
        raise ValueError("--layout is for PyTorch -> Keras (--to tf) only")


def read_source(path: str | Path) -> str:
    """A source file's text. Bad input raises TranslationError with a one-line message: a
    folder, a pipe or device, a binary file, or text that is not UTF-8 (PEP 3120's default)."""
    p = Path(path)
    try:
        mode = p.stat().st_mode
        if stat.S_ISDIR(mode):
            raise TranslationError(f"{p} is a directory, expected a file")
        if not stat.S_ISREG(mode):  # reading a pipe or /dev/zero would block or never end
            raise TranslationError(f"{p} is not a regular file")
        data = p.read_bytes()
    except FileNotFoundError:
        raise TranslationError(f"{p} does not exist") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise TranslationError(f"{p} is a symlink loop") from None
        raise TranslationError(f"cannot read {p}: {exc.strerror}") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise TranslationError(f"{p} is UTF-16 text; save it as UTF-8")
    if b"\0" in data:
        raise TranslationError(f"{p} is a binary file")
    declared = _declared_encoding(data)
    if declared not in ("utf-8", "utf-8-sig"):
        raise TranslationError(f"{p} declares the encoding {declared}; only UTF-8 sources are translated")
    try:
        return data.decode("utf-8-sig")  # a UTF-8 BOM is dropped: the output is plain UTF-8
    except UnicodeDecodeError as exc:
        raise TranslationError(f"{p} is not UTF-8 text (byte {exc.start})") from None


_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


def _declared_encoding(data: bytes) -> str:
    """The PEP 263 coding declaration's encoding (normalised), utf-8 when there is none."""
    for i, line in enumerate(data.splitlines()[:2]):
        match = _COOKIE.match(line)
        if match:
            name = match.group(1).decode("ascii", "replace")
            try:
                return codecs.lookup(name).name
            except LookupError:
                return f"{name!r} (unknown)"
        if i == 0 and not line.strip().startswith(b"#") and line.strip():
            break  # the cookie may be on line 2 only below a comment or blank line
    return "utf-8"


def translate_file(
    path: str | Path,
    to: str = "tf",
    *,
    output: str | Path | None = None,
    rules: Iterable[str | Path] = (),
    layout: str = "torch",
) -> Translation:
    """Translate a file; write the result to ``output`` when given (atomically)."""

    source = read_source(path)
    result = translate(source, to, path=str(path), rules=rules, layout=layout)
    if output is not None:
        write_atomic(Path(output), result.code, new_file_mode(Path(path), Path(output)))
    return result
