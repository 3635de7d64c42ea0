"""Numeric verification of a translation: ``verify(original, translated, entry, ...)``.

Imports torch and TensorFlow (set KERAS_BACKEND=tensorflow first: backend.py does).
"""
from .backend import frameworks  # noqa: F401  (sets KERAS_BACKEND before anything imports keras)
from .core import verify
from .report import VerifyReport

__all__ = ["verify", "VerifyReport"]
