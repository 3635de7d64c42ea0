"""A pass: visit_X / leave_X handlers that the driver calls during its single traversal.

All passes share one traversal (a LibCST walk costs about as much as the parse), so a pass
is a set of handlers, not a transformer of its own. Handlers receive the original and the
updated node like LibCST's own ``leave_`` methods, and see shared state through ``ctx``.

Statements that mention no name any pass reacts to are not visited, and most of them are not
even parsed (pipeline.py, "stand-ins"): a framework-free class, function or line is in the tree
as a node of the same kind with the same name (the names it binds, for a line) and a skeleton
inside, whose code is the original text. A pass that reads such statements' insides (an
analysis of the whole module before the traversal, ``prepare(module)``) gets the whole tree:
defining ``prepare`` or setting ``whole_tree = True`` is enough.
"""

from __future__ import annotations

from .context import Context


class Pass:
    whole_tree = False  # True: this pass reads statements it does not visit (see above)

    def __init__(self, ctx: Context):
        self.ctx = ctx

    @classmethod
    def reads_whole_tree(cls, source: str, rules) -> bool:
        """Whether this pass needs the whole tree of ``source`` (no stand-ins, no pieces)."""
        return cls.whole_tree or hasattr(cls, "prepare")
