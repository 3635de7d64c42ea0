"""fwtranslate: translate model source between PyTorch and TensorFlow/Keras, and verify it."""

from .api import Translation, translate, translate_file
from .errors import TranslationError

__version__ = "0.1.0"


def verify(*args, **kwargs):
    """Numerically compare an original model and its translation (see fwtranslate.verify)."""
    from .verify import verify as _verify  # imports torch and tensorflow: only when asked

    return _verify(*args, **kwargs)


__all__ = ["Translation", "TranslationError", "__version__", "translate", "translate_file", "verify"]
