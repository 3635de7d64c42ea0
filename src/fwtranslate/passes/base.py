"""A pass: visit_X / leave_X handlers that the driver calls during its single traversal.

All passes share one traversal (a LibCST walk costs about as much as the parse), so a pass
is a set of handlers, not a transformer of its own. Handlers receive the original and the
updated node like LibCST's own ``leave_`` methods, and see shared state through ``ctx``.
"""
from __future__ import annotations

from .context import Context


class Pass:
    def __init__(self, ctx: Context):
        self.ctx = ctx
