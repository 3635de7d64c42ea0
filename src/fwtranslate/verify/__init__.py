"""Numeric verification of a translation: ``verify(original, translated, entry, ...)``.

Imports torch and TensorFlow (set KERAS_BACKEND=tensorflow first: backend.py does).
"""

import sys
import types

from .backend import frameworks  # noqa: F401  (sets KERAS_BACKEND before anything imports keras)
from .core import verify
from .report import VerifyReport

__all__ = ["VerifyReport", "verify"]


class _CallableModule(types.ModuleType):
    """Importing this package replaces the function ``fwtranslate.verify`` with the package
    itself (a submodule becomes an attribute of its parent): calling the package keeps
    ``fwtranslate.verify(...)`` working either way."""

    def __call__(self, *args, **kwargs):
        return verify(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
