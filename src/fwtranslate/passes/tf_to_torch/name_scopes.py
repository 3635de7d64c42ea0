"""``with K.name_scope("block1"):`` -> the body alone.

A name scope (``keras.name_scope``, ``keras.backend.name_scope``, ``tf.name_scope``,
``tf.compat.v1.name_scope``) only prefixes the names of the variables and graph nodes created
inside it; what the body computes is the same. PyTorch has no such names, so the ``with`` goes
and its body takes its place (the body stays a valid block: it moves into the enclosing one). A
``with ... as scope:`` keeps its statement (the scope object may be read), reported by the call
rewriter like any call without a rule.
"""

from __future__ import annotations

import libcst as cst

from ..common.base import Pass

NAME_SCOPES = frozenset(
    {
        "keras.name_scope",
        "keras.backend.name_scope",
        "tf.name_scope",
        "tf.compat.v1.name_scope",
    }
)


class NameScopes(Pass):
    def visit_With(self, node: cst.With) -> None:
        if not isinstance(node.body, cst.IndentedBlock) or node.asynchronous is not None:
            return
        items = node.items
        if items and all(self._is_scope(item) for item in items):
            self.ctx.skip.add(id(node))
            self.ctx.skip.update(id(item.item) for item in items)

    def visit_WithItem(self, node: cst.WithItem) -> bool | None:
        if id(node.item) in self.ctx.skip:
            return False  # the call goes with its statement: the call rewriter must not see it
        return None

    def leave_With(self, original: cst.With, updated: cst.With):
        if id(original) not in self.ctx.skip or not isinstance(updated.body, cst.IndentedBlock):
            return updated
        body = [s for s in updated.body.body if isinstance(s, (cst.SimpleStatementLine, cst.BaseCompoundStatement))]
        # the comments above the `with` (and the one on its line) stay with the first statement
        comments = list(updated.leading_lines)
        header = updated.body.header
        if header.comment is not None:
            comments.append(cst.EmptyLine(comment=header.comment))
        body[0] = body[0].with_changes(leading_lines=[*comments, *body[0].leading_lines])
        return cst.FlattenSentinel(body)

    def _is_scope(self, item: cst.WithItem) -> bool:
        call = item.item
        return item.asname is None and isinstance(call, cst.Call) and self.ctx.resolve(call.func) in NAME_SCOPES
