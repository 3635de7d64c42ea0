"""In-file markers: a ``# fwtranslate: unconverted [RULE] message`` comment above each
statement that holds something not translated (``Context.report`` queues them), in both
directions. A pass that also rewrites statements derives from ``Marks`` (torch_to_tf's
``Statements``); a direction without one lists ``Marks`` itself, last before FinishModule."""

from __future__ import annotations

import libcst as cst

from ...report import ERROR
from .base import Pass

_MARKED_COMPOUNDS = (cst.If, cst.For, cst.While, cst.With, cst.FunctionDef, cst.ClassDef)


class Marks(Pass):
    def __init__(self, ctx):
        super().__init__(ctx)
        self.carried: dict[int, list[str]] = {}  # id(original statement) -> notes to put above it

    def leave_SimpleStatementLine(self, original, updated):
        return self._mark(updated, original)

    def leave_FunctionDef(self, original, updated):
        return self._mark(updated, original)

    def leave_With(self, original, updated):
        return self._mark(updated, original)

    # marks raised in a compound statement's header (`if F.foo(x):`, `for a in torch.f(x):`,
    # a def's defaults) belong above that statement, not on the first statement of its body
    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self.ctx.held_marks.append(list(self.ctx.pending_marks))
        self.ctx.pending_marks.clear()

    def leave_IndentedBlock(self, original, updated):
        updated = self._carry(updated)
        held = self.ctx.held_marks.pop()
        owner = self.ctx.parent()
        if held and isinstance(owner, _MARKED_COMPOUNDS):
            self.ctx.header_marks.setdefault(id(owner), []).extend(held)
        else:
            self.ctx.pending_marks[:0] = held
        return updated

    def leave_Module(self, original, updated):
        return self._carry(updated)

    def _carry(self, block):
        """Notes of a dropped statement on the next one, left untouched (no leave of its own)."""
        if not self.carried:
            return block
        body = [
            s.with_changes(leading_lines=[*s.leading_lines, *(cst.EmptyLine(comment=cst.Comment(n)) for n in notes)])
            if (notes := self.carried.pop(id(s), None))
            else s
            for s in block.body
        ]
        return block.with_changes(body=body)

    def _mark(self, updated, original=None):
        marks = self.ctx.pending_marks
        header = self.ctx.header_marks.pop(id(original), []) if original is not None else []
        header = [*self.carried.pop(id(original), []), *header]
        if not marks and not header:
            return updated
        lines = [cst.EmptyLine(comment=cst.Comment(m)) for m in [*header, *marks]]
        marks.clear()
        return updated.with_changes(leading_lines=[*updated.leading_lines, *lines])

    def leave_If(self, original, updated):
        return self._mark(updated, original)

    def leave_For(self, original, updated):
        return self._mark(updated, original)

    def leave_While(self, original, updated):
        return self._mark(updated, original)

    def leave_Try(self, original, updated):
        return self._mark(updated, original)

    def leave_ClassDef(self, original, updated):
        return self._mark(updated, original)


def mark_line(ctx, stmt, original: cst.CSTNode, code: str, message: str):
    """``stmt`` with the marker of an error reported on ``original``: for a pass that reports
    while it rewrites a whole block, when the traversal has left the statement (its marks would
    otherwise go above the enclosing statement)."""
    before = len(ctx.pending_marks)
    ctx.report(original, ERROR, code, message)
    added = ctx.pending_marks[before:]
    del ctx.pending_marks[before:]
    comments = [cst.EmptyLine(comment=cst.Comment(m)) for m in added]
    return stmt.with_changes(leading_lines=[*stmt.leading_lines, *comments])
