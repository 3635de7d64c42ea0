"""Passes both directions run: the scope tracker, the rule-driven call rewriter, the module's
finish (imports, support code), and what they share (the Pass base class, the Context)."""

from .calls import CallRewriter
from .finish_module import FinishModule
from .scopes import ScopeTracker

__all__ = ["CallRewriter", "FinishModule", "ScopeTracker"]
