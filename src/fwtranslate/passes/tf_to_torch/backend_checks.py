"""``if keras.backend.backend() == "torch":`` -> the torch branch alone.

Multi-backend Keras code asks which backend runs it (``keras.backend.backend()``,
``keras.config.backend()``) and branches on the answer. In the PyTorch translation the answer is
"torch", so a comparison of it with string literals is decided here: the comparison becomes
``True`` / ``False``, and an ``if`` / ``elif`` / conditional expression on it keeps only the branch
that runs (the other branch is usually code for another backend, which would only be reported).
"""

from __future__ import annotations

import libcst as cst

from ..common.base import Pass

BACKEND_QUERIES = frozenset({"keras.backend.backend", "keras.config.backend"})
ANSWER = "torch"


class BackendChecks(Pass):
    def __init__(self, ctx):
        super().__init__(ctx)
        self.decided: dict[int, bool] = {}  # id of an original comparison -> its value

    def visit_Comparison(self, node: cst.Comparison) -> bool | None:
        value = self._decide(node)
        if value is None:
            return None
        self.decided[id(node)] = value
        return False  # the query call is consumed: the call rewriter must not report it

    def leave_Comparison(self, original: cst.Comparison, updated: cst.Comparison):
        if id(original) not in self.decided:
            return updated
        return cst.Name("True" if self.decided[id(original)] else "False").with_changes(
            lpar=updated.lpar, rpar=updated.rpar
        )

    def leave_IfExp(self, original: cst.IfExp, updated: cst.IfExp):
        value = self.decided.get(id(original.test))
        if value is None:
            return updated
        chosen = updated.body if value else updated.orelse
        return chosen.with_changes(lpar=updated.lpar or chosen.lpar, rpar=updated.rpar or chosen.rpar)

    def leave_If(self, original: cst.If, updated: cst.If):
        value = self.decided.get(id(original.test))
        if value is None:
            return updated
        parent = self.ctx.parent()
        if isinstance(parent, cst.If) and parent.orelse is original:  # an `elif`
            if value:
                return cst.Else(body=updated.body, leading_lines=updated.leading_lines)
            return updated.orelse if updated.orelse is not None else cst.RemovalSentinel.REMOVE
        if value:
            return _flatten(updated.body, updated.leading_lines)
        if updated.orelse is None:
            return cst.RemovalSentinel.REMOVE
        if isinstance(updated.orelse, cst.If):  # if/elif: the elif becomes the statement
            return updated.orelse.with_changes(leading_lines=updated.leading_lines)
        return _flatten(updated.orelse.body, updated.leading_lines)

    def _decide(self, node: cst.Comparison) -> bool | None:
        """The comparison's value when it compares a backend query with string literals."""
        if len(node.comparisons) != 1:
            return None
        left, target = node.left, node.comparisons[0]
        right = target.comparator
        if self._is_query(right) and isinstance(target.operator, (cst.Equal, cst.NotEqual)):
            left, right = right, left
        if not self._is_query(left):
            return None
        op = target.operator
        if isinstance(op, (cst.Equal, cst.NotEqual)):
            literal = _string(right)
            if literal is None:
                return None
            return (literal == ANSWER) == isinstance(op, cst.Equal)
        if isinstance(op, (cst.In, cst.NotIn)) and isinstance(right, (cst.Tuple, cst.List, cst.Set)):
            values = [_string(e.value) for e in right.elements]
            if any(v is None for v in values):
                return None
            return (ANSWER in values) == isinstance(op, cst.In)
        return None

    def _is_query(self, node: cst.BaseExpression) -> bool:
        return isinstance(node, cst.Call) and not node.args and self.ctx.resolve(node.func) in BACKEND_QUERIES


def _string(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _flatten(block: cst.BaseSuite, leading_lines) -> cst.FlattenSentinel:
    body: list[cst.SimpleStatementLine | cst.BaseCompoundStatement]
    if not isinstance(block, cst.IndentedBlock):  # `if c: x = 1` on one line (a SimpleStatementSuite)
        body = [cst.SimpleStatementLine(body=block.body)]  # type: ignore[arg-type]
    else:
        body = [s for s in block.body if isinstance(s, (cst.SimpleStatementLine, cst.BaseCompoundStatement))]
        if block.header.comment is not None:  # `if ...:  # why`: the comment stays
            leading_lines = [*leading_lines, cst.EmptyLine(comment=block.header.comment)]
    body[0] = body[0].with_changes(leading_lines=[*leading_lines, *body[0].leading_lines])
    return cst.FlattenSentinel(body)
