"""The one traversal: each visit/leave dispatched to the passes' handlers, in pass order."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import libcst as cst

from .cstutil import opaque_types, walk
from .passes.common.context import Context
from .passes.common.scopes import ScopeTracker
from .stand_ins import STAND_IN_KINDS, SpliceError


class Driver(cst.CSTTransformer):
    """Dispatches each visit/leave to the passes' handlers, in pass order."""

    def __init__(
        self,
        ctx: Context,
        passes: Iterable,
        untouched: frozenset[int] = frozenset(),
        record: dict[int, object] | None = None,
    ):
        super().__init__()
        self.ctx = ctx
        self.untouched = untouched  # ids of statements with nothing to translate: not visited
        self.record = record  # id(node) -> its result, for the ids it holds (see _unparsable_spans)
        self._visit: dict[str, list[Callable]] = {}
        self._leave: dict[str, list[Callable]] = {}
        for p in passes:
            for attr in dir(type(p)):
                if attr.startswith("visit_"):
                    self._visit.setdefault(attr[6:], []).append(getattr(p, attr))
                elif attr.startswith("leave_"):
                    self._leave.setdefault(attr[6:], []).append(getattr(p, attr))
        # the scope tracker pops its stacks after every other pass has left the node, always
        self._scope_leave: dict[str, list[Callable]] = {}
        for key, handlers in self._leave.items():
            self._scope_leave[key] = [h for h in handlers if isinstance(getattr(h, "__self__", None), ScopeTracker)]
            handlers[:] = [h for h in handlers if not isinstance(getattr(h, "__self__", None), ScopeTracker)]
        # node types whose leave needs more than the pop of the parents stack
        self._leaving = frozenset(
            k for k in (*self._leave, *self._scope_leave) if self._leave.get(k) or self._scope_leave.get(k)
        )
        self._opaque = opaque_types(frozenset(self._visit) | self._leaving)
        # opaque types without handlers of their own: visiting them does nothing at all
        self._inert = self._opaque - frozenset(self._visit) - self._leaving

    def walk(self, module: cst.Module) -> cst.Module:
        """``module.visit(self)``, without copying the nodes nothing changed (cstutil.walk)."""
        return walk(module, self, self._inert, self._leaving)

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.ctx.parents.append(node)  # popped in on_leave, which LibCST calls even when we skip
        if id(node) in self.untouched:
            return False
        kind = type(node).__name__
        if kind in STAND_IN_KINDS:
            raise SpliceError("a pass would visit a stand-in")
        for handler in self._visit.get(kind, ()):
            if handler(node) is False:
                return False
        # nothing below this node has a handler (whitespace, commas, a Name's parentheses...):
        # LibCST would only rebuild an equal copy of the subtree, node by node
        return kind not in self._opaque

    def on_leave(self, original: cst.CSTNode, updated: cst.CSTNode):
        kind = type(original).__name__
        if kind not in self._leaving or id(original) in self.untouched:
            self.ctx.parents.pop()
            if self.record is not None and id(original) in self.record:
                self.record[id(original)] = updated
            return updated
        result = updated
        for handler in self._leave.get(kind, ()):
            result = handler(original, result)
            if not isinstance(result, type(original)):
                break  # replaced by another kind of node (or removed): later handlers don't apply
        for handler in self._scope_leave.get(kind, ()):
            handler(original, original)
        self.ctx.parents.pop()
        if self.record is not None and id(original) in self.record:
            self.record[id(original)] = result
        return result

    # attribute-level hooks are unused: skip LibCST's per-attribute getattr dispatch
    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        return None

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        return None
