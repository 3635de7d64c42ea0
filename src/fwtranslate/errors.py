"""The error every entry to translation raises for input it refuses (nothing translated)."""

from __future__ import annotations


class TranslationError(Exception):
    """Bad input: nothing was translated (syntax error, undecodable text...)."""

    def __init__(self, message: str, line: int = 0, col: int = 0):
        super().__init__(message)
        self.line, self.col = line, col
