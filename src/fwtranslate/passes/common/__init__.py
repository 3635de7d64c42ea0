"""Passes both directions run: the scope tracker, the rule-driven call rewriter, the module's
finish (imports, support code), the in-file markers, and what they share (the Pass base class, the Context)."""

from .calls import CallRewriter
from .finish_module import FinishModule
from .marks import Marks
from .scopes import ScopeTracker

__all__ = ["CallRewriter", "FinishModule", "Marks", "ScopeTracker"]
