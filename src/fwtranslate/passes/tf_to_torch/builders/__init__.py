"""Keras functional builders become nn.Module classes (lift.py says how)."""

from .lift import BuilderModules

__all__ = ["BuilderModules"]
