"""Where the channel axis moves: a data-flow analysis over Keras code, before translation.

A value's layout is ``None`` (Keras' order: channels last, or no image at all) or the rank of a
channels-first tensor. Sources of channels-first values are spatial layers (rule ``layout:``
field); consumers that need Keras' order are everything the analysis does not know. Variables
are converted by a statement (``x = x.movedim(-1, 1)``), other expressions in place. Control
flow is handled conservatively: branches are joined variable by variable, loop bodies start and
end in Keras' order.

The result is a Plan of edits; layout.py applies it during the traversal.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import libcst as cst

from ...rules.model import Rule
from ...rules.signature import BindError, bind
from ...rules.literals import UNKNOWN, literal_value

TO_FIRST, TO_LAST = "first", "last"
_RANK = re.compile(r"([123])D$")
_WRAPPABLE = (cst.Name, cst.Call, cst.Attribute, cst.Subscript, cst.BinaryOperation)


@dataclass
class Plan:
    channels_first: set[int] = field(default_factory=set)  # constructor calls: data_format="channels_first"
    axis: dict[int, tuple[int, object]] = field(default_factory=dict)  # ctor -> (position, new axis)
    before: dict[int, list[tuple[str, str]]] = field(default_factory=dict)  # stmt -> [(var, direction)]
    after: dict[int, list[tuple[str, str]]] = field(default_factory=dict)
    wrap: dict[int, str] = field(default_factory=dict)  # expression -> direction
    list_inserts: dict[int, list[tuple[int, str]]] = field(default_factory=dict)  # Sequential lists
    visit: set[int] = field(default_factory=set)  # statements the traversal must not skip
    helpers: set[str] = field(default_factory=set)  # support definitions the edits use


@dataclass
class _Layer:
    rule: Rule
    ctor: cst.Call
    identity: object  # ("attr", name) or ("node", id)

    @property
    def kind(self) -> str | None:
        # a call that chose its data_format itself is left as written
        if self.rule.layout in ("spatial", "spatial_to_flat") and any(
                a.keyword is not None and a.keyword.value in ("data_format", "keepdims") for a in self.ctor.args):
            return None
        return self.rule.layout

    @property
    def rank(self) -> int | None:
        m = _RANK.search(self.rule.name)
        return int(m.group(1)) + 2 if m else None


def analyse(module: cst.Module, ctx) -> Plan:
    plan = Plan()
    analyser = _Analyser(ctx, plan)
    for stmt in module.body:
        if isinstance(stmt, cst.ClassDef):
            analyser.class_def(stmt)
        elif isinstance(stmt, cst.FunctionDef):
            analyser.function(stmt, {})
    analyser.sequential_lists(module)
    return plan


class _Analyser:
    def __init__(self, ctx, plan: Plan):
        self.ctx, self.plan = ctx, plan
        self.forced: set[object] = set()  # layer identities that must see Keras' order

    # --- rules --------------------------------------------------------------------------------
    def rule_of(self, call: cst.CSTNode) -> Rule | None:
        if not isinstance(call, cst.Call):
            return None
        qual = self.ctx.imports.resolve(call.func)
        return self.ctx.rules.calls.get(qual) if qual is not None else None

    # --- classes --------------------------------------------------------------------------------
    def class_def(self, cls: cst.ClassDef) -> None:
        methods = {s.name.value: s for s in cls.body.body if isinstance(s, cst.FunctionDef)}
        entry = methods.get(self.ctx.direction.entry_method[0])
        if entry is None:
            return
        attrs: dict[str, _Layer] = {}
        init = methods.get("__init__")
        if init is not None:
            for stmt in _statements(init.body):
                target, value = _self_assignment(stmt)
                rule = self.rule_of(value) if value is not None else None
                if target is not None and rule is not None and rule.layout:
                    attrs[target] = _Layer(rule, value, ("attr", target))
        # a layer used anywhere but as `self.X(...)` in call() may meet Keras-ordered data
        used_elsewhere = _attributes_not_called(cls, entry, set(attrs))
        self.forced |= {("attr", a) for a in used_elsewhere}
        self.plan.visit.add(id(cls))
        if init is not None:
            self.plan.visit.add(id(init))
            self.plan.visit |= {id(s) for s in _statements(init.body)}
        self.function(entry, attrs)

    # --- functions -------------------------------------------------------------------------------
    def function(self, fn: cst.FunctionDef, attrs: dict[str, _Layer]) -> None:
        """Analyse until the layers forced to Keras' order stop changing (an axis layer used on
        both layouts, a spatial layer whose input cannot be converted)."""
        for _ in range(8):
            before = set(self.forced)
            trial = Plan()
            self.modes: dict[object, set] = {}
            _Function(self, trial, attrs).block(fn.body, {})
            # an axis or merge layer is one object: it cannot see both layouts
            self.forced |= {identity for identity, modes in self.modes.items() if len(modes) > 1}
            if self.forced == before:
                self._merge(trial)
                self.plan.visit.add(id(fn))
                return

    def _merge(self, trial: Plan) -> None:
        plan = self.plan
        plan.channels_first |= trial.channels_first
        plan.axis.update(trial.axis)
        for table in ("before", "after"):
            for key, items in getattr(trial, table).items():
                getattr(plan, table).setdefault(key, []).extend(items)
        plan.wrap.update(trial.wrap)
        plan.visit |= trial.visit

    # --- keras.Sequential([...]) ------------------------------------------------------------------
    def sequential_lists(self, module: cst.Module) -> None:
        analyser = self

        class Finder(cst.CSTVisitor):
            def __init__(self):
                super().__init__()
                self.stack: list[cst.CSTNode] = []

            def on_visit(self, node):
                self.stack.append(node)
                return super().on_visit(node)

            def on_leave(self, node):
                super().on_leave(node)
                self.stack.pop()

            def visit_Call(self, node: cst.Call) -> None:
                rule = analyser.rule_of(node)
                if rule is None or rule.name != "keras.Sequential" or not node.args:
                    return
                first = node.args[0]
                if first.keyword is not None and first.keyword.value != "layers":
                    return
                if isinstance(first.value, cst.List) and analyser._sequential(first.value):
                    analyser.plan.visit |= {id(n) for n in self.stack if isinstance(n, cst.BaseStatement)}

        module.visit(Finder())

    def _sequential(self, items: cst.List) -> bool:
        inserts: list[tuple[int, str]] = []
        state: int | None = None
        changed = False
        pending: list[tuple[int, _Layer]] = []
        for index, element in enumerate(items.elements):
            value = element.value
            rule = self.rule_of(value) if not isinstance(element, cst.StarredElement) else None
            if rule is not None and rule.name == "keras.Input":
                continue
            layer = _Layer(rule, value, ("node", id(value))) if rule is not None else None
            kind = layer.kind if layer is not None else None
            if kind in ("spatial", "spatial_to_flat") and layer.rank is not None:
                if state is None:
                    inserts.append((index, "ToChannelsFirst()"))
                pending.append((index, layer))
                self.plan.channels_first.add(id(value))
                state = None if kind == "spatial_to_flat" else layer.rank
                changed = True
            elif kind == "elementwise":
                continue
            elif kind == "axis" and state is not None:
                new = _remap_axis_argument(layer, state)
                if new is not None:
                    self.plan.axis[id(value)] = new
                    continue
                inserts.append((index, "ToChannelsLast()"))
                state = None
            elif state is not None:
                inserts.append((index, "ToChannelsLast()"))
                state = None
        if state is not None:
            inserts.append((len(items.elements), "ToChannelsLast()"))
        if changed:
            self.plan.list_inserts[id(items)] = inserts
            self.plan.helpers |= {code.split("(")[0] for _, code in inserts}
        return changed


class _Function:
    """One pass over a function body for a given set of forced layers."""

    def __init__(self, analyser: _Analyser, plan: Plan, attrs: dict[str, _Layer]):
        self.a, self.plan, self.attrs = analyser, plan, attrs
        self.stmt: cst.BaseStatement | None = None
        self.names_in_stmt: dict[str, int] = {}

    # --- statements -----------------------------------------------------------------------------
    def block(self, suite, state: dict[str, int]) -> dict[str, int]:
        body = list(_statements(suite))
        for stmt in body:
            self.plan.visit.add(id(stmt))
            state = self.statement(stmt, state)
        return state

    def statement(self, stmt: cst.BaseStatement, state: dict[str, int]) -> dict[str, int]:
        self.stmt = stmt
        self.names_in_stmt = _name_counts(stmt)
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                state = self.small(small, state)
            return state
        if isinstance(stmt, cst.If):
            self.names_in_stmt = _name_counts(stmt.test)
            return self.if_(stmt, state)
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            return self.to_keras_all(stmt, state)
        # loops, with, try: Keras' order on entry and at the end of every block
        state = self.to_keras_all(stmt, state)
        for suite in _suites(stmt):
            end = self.block(suite, {})
            self.close_block(suite, end)
        return state

    def if_(self, stmt: cst.If, state: dict[str, int]) -> dict[str, int]:
        self.consume(stmt.test, state)
        state = dict(state)
        body_state = self.block(stmt.body, dict(state))
        orelse = stmt.orelse
        if orelse is None:
            else_state = dict(state)
            suites = [(stmt.body, body_state)]
        else:
            inner = orelse.body if isinstance(orelse, cst.Else) else None
            if inner is None:  # elif: analyse as a nested if in the else branch
                self.stmt = orelse
                self.names_in_stmt = _name_counts(orelse)
                else_state = self.if_(orelse, dict(state))
                self.close_block_vars(orelse, body_state, else_state, stmt, after_elif=True)
                return _join(body_state, else_state)
            else_state = self.block(inner, dict(state))
            suites = [(stmt.body, body_state), (inner, else_state)]
        joined = _join(body_state, else_state)
        for suite, end in suites:
            self.close_block(suite, {v: r for v, r in end.items() if joined.get(v) != r})
        if orelse is None:  # the fall-through path: convert before the if what the body changed
            for var, rank in state.items():
                if joined.get(var) != rank:
                    self.plan.before.setdefault(id(stmt), []).append((var, TO_LAST))
        return joined

    def close_block_vars(self, orelse, body_state, else_state, stmt, after_elif=False) -> None:
        joined = _join(body_state, else_state)
        self.close_block(stmt.body, {v: r for v, r in body_state.items() if joined.get(v) != r})
        differing = {v: r for v, r in else_state.items() if joined.get(v) != r}
        for var in differing:
            self.plan.after.setdefault(id(orelse), []).append((var, TO_LAST))

    def close_block(self, suite, end: dict[str, int]) -> None:
        """Variables still channels first at the end of a block go back to Keras' order."""
        body = list(_statements(suite))
        if not end or not body:
            return
        last = body[-1]
        if _ends_flow(last):
            return
        for var in end:
            self.plan.after.setdefault(id(last), []).append((var, TO_LAST))

    def to_keras_all(self, stmt, state: dict[str, int]) -> dict[str, int]:
        for var in state:
            self.plan.before.setdefault(id(stmt), []).append((var, TO_LAST))
        return {}

    def small(self, small: cst.BaseSmallStatement, state: dict[str, int]) -> dict[str, int]:
        if isinstance(small, cst.Assign):
            value_layout = self.ev(small.value, state)
            targets = [t.target for t in small.targets]
            if len(targets) == 1 and isinstance(targets[0], cst.Name):
                state = dict(state)
                state.pop(targets[0].value, None)
                if value_layout is not None:
                    state[targets[0].value] = value_layout
                return state
            self.want(small.value, None, value_layout, state)
            return _without(state, [n for t in targets for n in _bound(t)])
        if isinstance(small, cst.AugAssign) and isinstance(small.target, cst.Name):
            var = small.target.value
            value_layout = self.ev(small.value, state)
            if state.get(var) is not None and value_layout == state.get(var):
                return state
            self.want(small.value, None, value_layout, state)
            return self.want_name(var, None, state)
        if isinstance(small, cst.Return) and small.value is not None:
            layout = self.ev(small.value, state)
            self.want(small.value, None, layout, state)
            return state
        if isinstance(small, cst.Expr):
            self.ev(small.value, state)
            return state
        return self.consume(small, state)

    # --- expressions --------------------------------------------------------------------------------
    def ev(self, node: cst.BaseExpression, state: dict[str, int]):
        """The layout of ``node``'s value; records what its parts need."""
        if isinstance(node, cst.Name):
            return state.get(node.value)
        if isinstance(node, cst.Call):
            layer = self.layer_applied(node)
            if layer is not None:
                return self.apply_layer(layer, node, state)
            self.consume(node, state)
            return None
        if isinstance(node, cst.BinaryOperation) and isinstance(
                node.operator, (cst.Add, cst.Subtract, cst.Multiply, cst.Divide)):
            left, right = self.ev(node.left, state), self.ev(node.right, state)
            if _is_number(node.left):
                return right
            if _is_number(node.right):
                return left
            if left == right:
                return left
            self.want(node.left, None, left, state)
            self.want(node.right, None, right, state)
            return None
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
            return self.ev(node.expression, state)
        self.consume(node, state)
        return None

    def consume(self, node: cst.CSTNode, state: dict[str, int]) -> dict[str, int]:
        """An expression the analysis does not model: every channels-first value in it goes back
        to Keras' order; layers applied inside are still analysed."""
        for child in _children(node):
            if isinstance(child, cst.Name):
                if state.get(child.value) is not None:
                    self.want(child, None, state[child.value], state)
            elif isinstance(child, (cst.Call, cst.BinaryOperation, cst.UnaryOperation)):
                layout = self.ev(child, state)
                self.want(child, None, layout, state)
            elif isinstance(child, (cst.Lambda, cst.ListComp, cst.GeneratorExp, cst.DictComp, cst.SetComp)):
                for name in _names(child):
                    if state.get(name.value) is not None:
                        self.want(name, None, state[name.value], state)
            else:
                self.consume(child, state)
        return state

    def layer_applied(self, call: cst.Call) -> _Layer | None:
        func = call.func
        if (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self"
                and func.attr.value in self.attrs):
            return self.attrs[func.attr.value]
        if isinstance(func, cst.Call):
            rule = self.a.rule_of(func)
            if rule is not None and rule.layout:
                return _Layer(rule, func, ("node", id(func)))
        return None

    def apply_layer(self, layer: _Layer, call: cst.Call, state: dict[str, int]):
        args = [a for a in call.args if a.keyword is None and not a.star]
        extra = [a.value for a in call.args if a not in args[:1]]
        for value in extra:
            self.want(value, None, self.ev(value, state), state)
        if not args:
            return None
        source = args[0].value
        kind = layer.kind
        forced = layer.identity in self.a.forced
        if kind in ("spatial", "spatial_to_flat") and layer.rank is not None and not forced:
            if not self.want(source, layer.rank, self.ev(source, state), state):
                self.a.forced.add(layer.identity)
                return None
            self.plan.channels_first.add(id(layer.ctor))
            return layer.rank if kind == "spatial" else None
        if kind == "elementwise":
            return self.ev(source, state)
        if kind == "axis":
            layout = self.ev(source, state)
            self.a.modes.setdefault(layer.identity, set()).add(None if forced else layout)
            if layout is None or forced:
                self.want(source, None, layout, state)
                return None
            new = _remap_axis_argument(layer, layout)
            if new is None or self.plan.axis.get(id(layer.ctor), new) != new:
                self.a.forced.add(layer.identity)
                self.want(source, None, layout, state)
                return None
            self.plan.axis[id(layer.ctor)] = new
            return layout
        if kind == "merge" and isinstance(source, (cst.List, cst.Tuple)):
            layouts = [self.ev(e.value, state) for e in source.elements]
            if _has_param(layer, "axis"):
                uniform = layouts[0] if layouts and all(lay == layouts[0] for lay in layouts) else None
                self.a.modes.setdefault(layer.identity, set()).add(None if forced else uniform)
            if layouts and not forced and layouts[0] is not None and all(lay == layouts[0] for lay in layouts):
                if _has_param(layer, "axis"):
                    new = _remap_axis_argument(layer, layouts[0])
                    if new is None or self.plan.axis.get(id(layer.ctor), new) != new:
                        self.a.forced.add(layer.identity)
                    else:
                        self.plan.axis[id(layer.ctor)] = new
                        return layouts[0]
                else:
                    return layouts[0]
            elif layouts and any(lay is not None for lay in layouts) and _has_param(layer, "axis"):
                self.a.forced.add(layer.identity)
            for e, lay in zip(source.elements, layouts):
                self.want(e.value, None, lay, state)
            return None
        self.want(source, None, self.ev(source, state), state)
        return None

    # --- conversions ------------------------------------------------------------------------------
    def want(self, node: cst.BaseExpression, layout, current, state: dict[str, int]) -> bool:
        """Make ``node`` (whose layout is ``current``) have ``layout``; False when impossible."""
        if layout == current:
            return True
        direction = TO_LAST if layout is None else TO_FIRST
        if isinstance(node, cst.Name) and self.names_in_stmt.get(node.value, 0) == 1 \
                and isinstance(self.stmt, (cst.SimpleStatementLine, cst.If)):
            self.plan.before.setdefault(id(self.stmt), []).append((node.value, direction))
            state.pop(node.value, None)
            if layout is not None:
                state[node.value] = layout
            return True
        if current is not None and layout is not None:
            return False  # two channels-first ranks: not a case real code has
        if isinstance(node, _WRAPPABLE):
            self.plan.wrap[id(node)] = direction
            return True
        return False

    def want_name(self, var: str, layout, state: dict[str, int]) -> dict[str, int]:
        if state.get(var) == layout:
            return state
        self.plan.before.setdefault(id(self.stmt), []).append((var, TO_LAST if layout is None else TO_FIRST))
        state = dict(state)
        state.pop(var, None)
        return state


# --- helpers ------------------------------------------------------------------------------------
def _remap_axis_argument(layer: _Layer, rank: int):
    """(position, new value) of the ``axis`` argument on a channels-first tensor of ``rank``,
    or None when the axis is not a literal."""
    signature = layer.rule.signature
    if signature is None or "axis" not in signature.names:
        return None
    try:
        bound = bind(signature, layer.ctor.args, None)
    except BindError:
        return None
    arg = bound.get("axis")
    value = literal_value(arg.node) if arg is not None else UNKNOWN
    if value is UNKNOWN:
        return None
    position = signature.names.index("axis")
    if isinstance(value, int):
        return position, _channels_first_axis(value, rank)
    if isinstance(value, (tuple, list)) and all(isinstance(v, int) for v in value):
        return position, type(value)(_channels_first_axis(v, rank) for v in value)
    return None


def _channels_first_axis(axis: int, rank: int) -> int:
    k = axis % rank
    if k == rank - 1:
        return 1
    return 0 if k == 0 else k + 1


def _has_param(layer: _Layer, name: str) -> bool:
    return layer.rule.signature is not None and name in layer.rule.signature.names


def _join(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {v: r for v, r in a.items() if b.get(v) == r}


def _without(state: dict[str, int], names) -> dict[str, int]:
    return {k: v for k, v in state.items() if k not in set(names)}


def _bound(target: cst.BaseExpression) -> list[str]:
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for e in target.elements for n in _bound(e.value)]
    return []


def _is_number(node: cst.BaseExpression) -> bool:
    return isinstance(node, (cst.Integer, cst.Float)) or (
        isinstance(node, cst.UnaryOperation) and isinstance(node.expression, (cst.Integer, cst.Float)))


def _statements(suite) -> list[cst.BaseStatement]:
    if isinstance(suite, cst.IndentedBlock):
        return list(suite.body)
    return []


def _suites(stmt: cst.BaseStatement):
    for attr in ("body", "orelse", "finalbody"):
        child = getattr(stmt, attr, None)
        if isinstance(child, cst.IndentedBlock):
            yield child
        elif isinstance(child, (cst.Else, cst.Finally)):
            yield child.body
    for handler in getattr(stmt, "handlers", ()):
        yield handler.body


def _ends_flow(stmt: cst.BaseStatement) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and any(
        isinstance(s, (cst.Return, cst.Raise, cst.Continue, cst.Break)) for s in stmt.body)


def _children(node: cst.CSTNode):
    for child in node.children:
        if isinstance(child, cst.BaseExpression):
            yield child
        elif isinstance(child, (cst.Arg, cst.Element, cst.StarredElement, cst.DictElement, cst.Index,
                                cst.SubscriptElement, cst.Slice, cst.ComparisonTarget, cst.FormattedStringExpression)):
            yield from _children(child)
        elif isinstance(child, cst.BaseSmallStatement):
            yield from _children(child)


def _names(node: cst.CSTNode) -> list[cst.Name]:
    found: list[cst.Name] = []

    class V(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            found.append(n)

    node.visit(V())
    return found


def _name_counts(stmt: cst.CSTNode) -> dict[str, int]:
    """How often each name is read in a statement (a plain assignment target is not a read)."""
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Assign) \
            and all(isinstance(t.target, cst.Name) for t in stmt.body[0].targets):
        stmt = stmt.body[0].value
    counts: dict[str, int] = {}
    for name in _names(stmt):
        counts[name.value] = counts.get(name.value, 0) + 1
    return counts


def _self_assignment(stmt: cst.BaseStatement):
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Assign):
        assign = stmt.body[0]
        if len(assign.targets) == 1:
            t = assign.targets[0].target
            if isinstance(t, cst.Attribute) and isinstance(t.value, cst.Name) and t.value.value == "self":
                return t.attr.value, assign.value
    return None, None


def _attributes_not_called(cls: cst.ClassDef, entry: cst.FunctionDef, attrs: set[str]) -> set[str]:
    """Layer attributes referenced other than as ``self.X(...)`` inside ``entry`` (and other than
    their assignment in ``__init__``)."""
    found: set[str] = set()

    class V(cst.CSTVisitor):
        def __init__(self):
            super().__init__()
            self.fn: list[str] = []
            self.called: set[int] = set()

        def visit_FunctionDef(self, node):
            self.fn.append(node.name.value)

        def leave_FunctionDef(self, node):
            self.fn.pop()

        def visit_Call(self, node):
            if self.fn and self.fn[-1] == entry.name.value:
                self.called.add(id(node.func))

        def visit_AssignTarget(self, node):
            self.called.add(id(node.target))

        def visit_Attribute(self, node):
            if (isinstance(node.value, cst.Name) and node.value.value == "self" and node.attr.value in attrs
                    and id(node) not in self.called):
                found.add(node.attr.value)

    cls.visit(V())
    return found
