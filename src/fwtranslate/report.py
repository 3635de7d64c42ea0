"""Diagnostics: what the translator could not do (or did with a caveat), and where.

Every diagnostic renders as ``path:line:col: severity [RULE] message`` so that editors and
CI log parsers pick it up, and as JSON for ``--report-json``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

ERROR = "error"  # the construct was left untranslated (marked in the output)
WARNING = "warning"  # translated, but the result may differ in a documented way
INFO = "info"  # translated; something worth knowing (an assumption, a dropped no-op)

SEVERITIES = (ERROR, WARNING, INFO)


@dataclass(frozen=True)
class Diagnostic:
    path: str
    line: int
    col: int
    severity: str
    code: str
    message: str

    def format(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.severity} [{self.code}] {self.message}"


@dataclass
class FileStats:
    """Per-file counts reported by ``--report-json`` and the corpus benchmark."""

    path: str
    lines: int = 0
    framework_lines: int = 0  # input lines that reference the source framework
    unconverted_lines: int = 0  # output lines still marked or still using the source framework
    diagnostics: dict[str, int] = field(default_factory=dict)  # severity -> count

    @property
    def converted_lines(self) -> int:
        return max(self.framework_lines - self.unconverted_lines, 0)

    @property
    def converted_share(self) -> float:
        return 1.0 if self.framework_lines == 0 else self.converted_lines / self.framework_lines

    def to_dict(self) -> dict:
        d = asdict(self)
        d["converted_lines"] = self.converted_lines
        d["converted_share"] = round(self.converted_share, 4)
        return d


def render_text(diagnostics: list[Diagnostic]) -> str:
    return "\n".join(d.format() for d in diagnostics)


def render_json(diagnostics: list[Diagnostic], stats: list[FileStats]) -> str:
    return json.dumps(
        {
            "diagnostics": [asdict(d) for d in diagnostics],
            "files": [s.to_dict() for s in stats],
            "totals": {
                "files": len(stats),
                "lines": sum(s.lines for s in stats),
                "framework_lines": sum(s.framework_lines for s in stats),
                "converted_lines": sum(s.converted_lines for s in stats),
                "unconverted_lines": sum(s.unconverted_lines for s in stats),
                "errors": sum(1 for d in diagnostics if d.severity == ERROR),
                "warnings": sum(1 for d in diagnostics if d.severity == WARNING),
            },
        },
        indent=2,
    )
