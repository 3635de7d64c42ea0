"""Plain-Python stand-ins for torch runtime checks."""


def ensure(condition, message):
    """torch._assert: raise AssertionError(message) unless condition holds."""
    if not condition:
        raise AssertionError(message)
