"""Static input sizes: which Keras layers' input feature size the code makes known.

Keras layers infer their input size on the first call; torch layers are told it, or are Lazy
modules that take it from the first batch. This analysis finds the feature size (the last axis,
in Keras' channels-last order) of the values a layer is applied to, where straight-line code
makes it known, so that the rules can emit ``nn.Linear(4, 8)`` instead of ``nn.LazyLinear(8)``
(the rule's ``size`` field and the ``sized(...)`` template macro, docs/rules.md).

Sizes come from ``keras.Input`` shape literals (module constants included), the
``input_shape=`` / ``input_dim=`` of a ``keras.Sequential`` list's first layer and the output
sizes of layers (rule field ``size``: ``Dense(units)`` -> units, ``keep`` for activations,
dropout, pooling, normalization, ``sum`` for Concatenate). They flow through a
``keras.Sequential([...])`` list and through the statements of a function (a builder, a
layer's ``call``): ``x = layers.Dense(8)(x)``. Conservative everywhere, since a wrong size is
worse than a Lazy module:

- a variable assigned in a loop is unknown at the loop's start (every iteration sees the
  sizes found), branches keep only what they agree on, ``try`` bodies forget what they assign;
- a layer object (``self.fc = layers.Dense(8)`` in a class, ``dense = layers.Dense(8)`` in a
  function, a ``keras.Sequential`` list) gets a size only when every use of it is a call the
  analysis saw and all those calls agree; an attribute assigned twice in the module, or by a
  class that has a subclass in the file, or used otherwise (``self.fc.weight``, a list of
  layers), stays Lazy;
- a layer with an explicit ``data_format`` other than channels_last, an unknown rule, or an
  unknown operation gives up (``size.when`` in the rules).

The result maps constructor calls (``id`` of the original node) to the input size; the call
rewriter passes it to the rule (``apply(..., input_size=)``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import libcst as cst

from ...imports import target_names
from ...rules.literals import UNKNOWN, literal_value
from ...rules.model import Rule
from ...rules.signature import BindError, BoundArg, bind
from ...rules.template import evaluate
from ..common.base import Pass

_INPUTS = frozenset({"keras.Input"})
_SEQUENTIAL = "keras.Sequential"
_SENTINEL = 1 << 40  # stand-in values of parameters while an output size is computed


@dataclass(frozen=True)
class Sym:
    """A size the code names: an expression over parameters of ``scope`` (a function) that the
    function never rebinds (``def __init__(self, dim): ... Dense(dim)``, ``Dense(dim * 2)``).
    Valid only in that function."""

    name: str  # the expression's code
    scope: int  # id of the FunctionDef
    after: int = -1  # valid after this top-level statement of the function (the locals' assignments)


def _known(size) -> bool:
    return (isinstance(size, int) and not isinstance(size, bool)) or isinstance(size, Sym)


@dataclass(frozen=True)
class V:
    """What the analysis knows of a tensor: its feature size (the last axis: an int, a Sym or
    None) and its rank (None: unknown)."""

    size: object = None
    rank: int | None = None


def _v(size=None, rank=None):
    size = size if _known(size) else None
    rank = rank if _positive_int(rank) else None
    return V(size, rank) if size is not None or rank is not None else None


def _sizes(value):
    """The feature size(s) of a value: one, or a list for a list of tensors."""
    if isinstance(value, list):
        return [_sizes(v) for v in value]
    return value.size if isinstance(value, V) else None


def _ranks(value):
    if isinstance(value, list):
        return [_ranks(v) for v in value]
    return value.rank if isinstance(value, V) else None


class StaticSizes(Pass):
    """Runs the analysis before the traversal; the call rewriter reads ``ctx.input_sizes``."""

    def prepare(self, module: cst.Module) -> set[int]:
        try:
            self.ctx.input_sizes = analyse(module, self.ctx)
        except RecursionError:  # a pathological file: every layer stays Lazy
            self.ctx.input_sizes, self.ctx.input_ranks = {}, {}
        return set()


def analyse(module: cst.Module, ctx) -> dict[int, int | str]:
    global _TREE
    _TREE = _Tree(module)  # the many walks below read one pre-order list of the tree
    try:
        analysis = _Analysis(module, ctx)
        analysis.run()
        ctx.input_ranks = analysis.ranks()
        return analysis.result()
    finally:
        _TREE = None


class _Tree:
    """The module's nodes in pre-order, each subtree a slice: one LibCST traversal instead of
    one per walk (a LibCST visit of a large file costs about as much as parsing it)."""

    def __init__(self, module: cst.Module):
        order: list[cst.CSTNode] = []
        start: dict[int, int] = {}
        end: dict[int, int] = {}
        kids: dict[int, list] = {}
        stack: list[cst.CSTNode] = []

        class Build(cst.CSTVisitor):
            def on_visit(self, node):
                if stack:
                    kids.setdefault(id(stack[-1]), []).append(node)
                start[id(node)] = len(order)
                order.append(node)
                stack.append(node)
                return True

            def on_leave(self, node):
                stack.pop()
                end[id(node)] = len(order)

            def on_visit_attribute(self, node, attribute):
                return None

            def on_leave_attribute(self, node, attribute):
                return None

        module.visit(Build())
        self.order, self.start, self.end, self.kids = order, start, end, kids


_TREE: _Tree | None = None


def _visit(root: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    """``root.visit(visitor)`` for a read-only visitor (visit_X / leave_X / on_visit), over the
    pre-order list when ``root`` is in it."""
    tree = _TREE
    if tree is None or id(root) not in tree.start or tree.order[tree.start[id(root)]] is not root:
        root.visit(visitor)
        return
    order, end = tree.order, tree.end
    i, stop = tree.start[id(root)], tree.end[id(root)]
    cls = type(visitor)
    custom_visit = cls.on_visit is not cst.CSTVisitor.on_visit
    custom_leave = cls.on_leave is not cst.CSTVisitor.on_leave
    visits: dict[type, object] = {}
    leaves: dict[type, object] = {}
    pending: list[tuple[int, object, cst.CSTNode]] = []
    while i < stop:
        while pending and pending[-1][0] <= i:
            _, leave, done = pending.pop()
            leave(done)
        node = order[i]
        kind = type(node)
        if custom_visit:
            go = visitor.on_visit(node)
        else:
            method = visits.get(kind, 0)
            if method == 0:
                method = visits[kind] = getattr(visitor, f"visit_{kind.__name__}", None)
            go = True if method is None else method(node) is not False
        if custom_leave:
            pending.append((end[id(node)], visitor.on_leave, node))
        else:
            leave = leaves.get(kind, 0)
            if leave == 0:
                leave = leaves[kind] = getattr(visitor, f"leave_{kind.__name__}", None)
            if leave is not None:
                pending.append((end[id(node)], leave, node))
        i = i + 1 if go else end[id(node)]
    while pending:
        _, leave, done = pending.pop()
        leave(done)


class _Analysis:
    def __init__(self, module: cst.Module, ctx):
        self.module, self.ctx = module, ctx
        self.observed: dict[int, list] = {}  # layer constructor id -> the input sizes it was applied to
        self.observed_ranks: dict[int, list] = {}  # layer constructor id -> the ranks of those inputs
        # layers applied with a training= argument the output keeps (outside a class: a builder's
        # `layers.BatchNormalization()(x, training=False)`): a native torch module takes none
        self.training_args: set[int] = set()
        self.rules: dict[int, Rule] = {}  # layer constructor id -> its rule
        self.closed: set[int] = set()  # constructors whose every application the analysis sees
        self.bound_attrs: dict[tuple[str, str], cst.Call] = {}  # (class, attribute) -> constructor
        self.sequential_done: set[int] = set()  # Sequential calls propagated at least once
        self.constants = _module_constants(module)
        # call id -> (enclosing function id or None, names comprehensions/lambdas bind there)
        self.scope_of, self.stable, self.position = _call_scopes(module)
        self._rules_of: dict[int, Rule | None] = {}
        self.classes = _all(module, cst.ClassDef)
        self.base_names = set().union(*(_base_names(c) for c in self.classes)) if self.classes else set()
        self.attribute_reads, self.dynamic_names = _attribute_reads(module)

    # --- rules ----------------------------------------------------------------------------------
    def rule_of(self, node: cst.CSTNode) -> Rule | None:
        if not isinstance(node, cst.Call):
            return None
        key = id(node)
        if key in self._rules_of:
            return self._rules_of[key]
        qual = self.ctx.imports.resolve(node.func)
        rule = self._rules_of[key] = self.ctx.rules.calls.get(qual) if qual is not None else None
        return rule

    def bound_args(self, rule: Rule, call: cst.Call):
        if rule.signature is None:
            return None
        try:
            return bind(rule.signature, call.args)
        except BindError:
            return None

    # --- driver ---------------------------------------------------------------------------------
    def run(self) -> None:
        for cls in self.classes:
            self.layer_attributes(cls)
        _Scope(self, self.module.body, params=()).run()
        for fn, cls in _functions(self.module):
            scope = _Scope(self, fn.body, params=_param_names(fn))
            scope.cls = cls
            scope.run()
        for call in _all(self.module, cst.Call):  # a Sequential nobody applies (a returned model)
            if (
                id(call) not in self.sequential_done
                and self.rule_of(call) is not None
                and self.rule_of(call).name == _SEQUENTIAL
            ):
                self.sequential(call, None, {})

    def result(self) -> dict[int, int | str]:
        out: dict[int, int | str] = {}
        for key, sizes in self.observed.items():
            if key not in self.closed or not sizes or not all(_known(s) for s in sizes) or len(set(sizes)) != 1:
                continue
            size = sizes[0]
            if isinstance(size, Sym):  # a parameter's name: only where that parameter is in scope
                scope, shadowed = self.scope_of.get(key, (None, frozenset()))
                if scope != size.scope or size.name in shadowed or self.position.get(key, -1) <= size.after:
                    continue
                size = size.name
            out[key] = size
        return out

    def ranks(self) -> dict[int, int]:
        """Constructor id -> the rank of its inputs, where every application is seen and they
        agree, and no application passes a ``training=`` the output keeps."""
        out: dict[int, int] = {}
        for key, ranks in self.observed_ranks.items():
            if key in self.closed and key not in self.training_args and ranks and len(set(ranks)) == 1:
                if _positive_int(ranks[0]):
                    out[key] = ranks[0]
        return out

    def observe(self, ctor: cst.Call, rule: Rule, size, rank=None) -> None:
        self.observed.setdefault(id(ctor), []).append(size if _known(size) else None)
        self.observed_ranks.setdefault(id(ctor), []).append(rank if _positive_int(rank) else None)
        self.rules[id(ctor)] = rule

    def constructor_args(self, rule: Rule, ctor: cst.Call, literals: dict):
        """The constructor's arguments bound, names with a known literal value replaced by it
        (``literals``: the variables in scope where the constructor runs, or none), and the
        stand-in values of the parameters it names (sentinel -> Sym)."""
        bound = self.bound_args(rule, ctor)
        if bound is None:
            return None, {}
        scope, shadowed = self.scope_of.get(id(ctor), (None, frozenset()))
        stable = self.stable.get(scope, {})
        values, symbols = dict(bound), {}
        for name, b in bound.items():
            if b.value is not UNKNOWN or b.elements is not None or b.keywords is not None:
                continue
            if isinstance(b.node, cst.Name):
                var = b.node.value
                literal = literals.get(var, UNKNOWN) if var not in shadowed else UNKNOWN
                if literal is UNKNOWN and var not in shadowed and var in self.constants:
                    literal = self.constants[var]
                if literal is not UNKNOWN:
                    values[name] = BoundArg(b.node, b.given, literal)
                    continue
            names = _arithmetic_names(b.node)
            if scope is not None and names and all(n in stable and n not in shadowed for n in names):
                # dim, dim * mlp_ratio: parameters never rebound, locals assigned once (from then on)
                symbols[name] = Sym(_code(b.node), scope, max(stable[n] for n in names))
        return values, symbols

    # --- layer objects held by a class -----------------------------------------------------------
    def layer_attributes(self, cls: cst.ClassDef) -> None:
        """``self.X = <layer>`` assigned once in the module, in a class no class of the file
        derives from, and used in the class only as ``self.X(...)``."""
        name = cls.name.value
        if name in self.base_names:
            return  # a subclass in the file may assign or call the attributes differently
        if not all(self.ctx.imports.resolve(b.value) is not None for b in cls.bases) or not cls.bases:
            return  # an inherited method of the user's own base class may call them too
        assigned = _self_assignments(cls)
        uses = _self_attribute_uses(cls)
        # attribute names read outside the class (``model.fc(...)`` elsewhere; another class's
        # self.X is its own attribute), or named as strings to getattr/setattr anywhere
        elsewhere = {a for a, owners in self.attribute_reads.items() if owners - {id(cls)}} | self.dynamic_names
        if "*" in self.dynamic_names:  # getattr(self, name) with a computed name: any attribute
            elsewhere |= set(uses)
        for attr, values in assigned.items():
            if len(values) != 1 or values[0] is None or attr in elsewhere:
                continue
            value = values[0]
            rule = self.rule_of(value)
            if rule is None or not _is_layer_class(rule):
                continue
            if all(kind == "call" for kind in uses.get(attr, ())):
                self.bound_attrs[(name, attr)] = value
                self.closed.add(id(value))

    # --- applications ---------------------------------------------------------------------------
    def apply_layer(self, ctor: cst.Call, rule: Rule, value, literals: dict):
        """What the layer ``ctor`` applied to ``value`` (a V, None, or a list of them for merge
        layers) returns."""
        if rule.name == _SEQUENTIAL:
            return self.sequential(ctor, value if isinstance(value, V) else None, literals)
        spec = rule.size
        bound, symbols = self.constructor_args(rule, ctor, literals) if spec is not None else (None, {})
        if spec is None or bound is None:
            return None
        return self.through(spec, rule, ctor, bound, symbols, value)

    def through(self, spec, rule: Rule, ctor: cst.Call | None, bound, symbols, value):
        """The rule's ``size`` field applied: the input size observed (``ctor``), the output."""
        bound = dict(bound)
        rank = _ranks(value)
        common = rank  # the input's rank (a list of inputs: when they agree), for the conditions
        if isinstance(rank, list):
            common = rank[0] if rank and all(_positive_int(r) for r in rank) and len(set(rank)) == 1 else None
        if "rank" not in bound:
            bound["rank"] = BoundArg(cst.Name("rank"), True, common if _positive_int(common) else UNKNOWN)
        if spec.when is not None and _evaluate(spec.when, bound) is not True:
            if spec.input is not None and ctor is not None:
                self.observe(ctor, rule, None, common)
            return None
        size = _sizes(value)
        if spec.input is not None and ctor is not None:
            self.observe(ctor, rule, size if _known(size) else None, common)
        return _v(_output(spec, bound, size, symbols), _output_rank(spec, bound, rank))

    def sequential(self, ctor: cst.Call, size, literals: dict):
        """Propagate through a ``keras.Sequential([...])`` list; its output size. ``literals``:
        the variables' values where the list is built (none when it was built elsewhere)."""
        self.sequential_done.add(id(ctor))
        items = _sequential_items(ctor)
        if items is None:
            return None
        for index, element in enumerate(items):
            if isinstance(element, cst.StarredElement):
                return None
            value = element.value  # (``size`` below: the V flowing through the list)
            rule = self.rule_of(value)
            if rule is not None and rule.name in _INPUTS:
                size = self.input_value(value, rule, literals)
                continue
            if rule is None or not _is_layer_class(rule):
                return None
            if index == 0 or (index == 1 and _is_input(self, items[0].value)):
                declared = self.declared_input(value, rule)
                if declared is not None:
                    size = declared
            self.closed.add(id(value))
            size = self.apply_layer(value, rule, size, literals)
        return size

    def declared_input(self, ctor: cst.Call, rule: Rule):
        """``input_shape=(4,)`` / ``input_dim=4`` on a Sequential's first layer."""
        bound = self.bound_args(rule, ctor)
        if bound is None:
            return None
        for name in ("input_shape", "input_dim"):
            b = bound.get(name)
            if b is not None and b.given:
                value = b.value
                if name == "input_shape":
                    return _shape_value(value, batch=False)
                return _v(value, 2) if _positive_int(value) else None
        return None

    def input_value(self, call: cst.Call, rule: Rule, literals: dict):
        """``keras.Input(shape=(28, 28, 1))``: size 1, rank 4 (the shape a literal or a constant)."""
        bound = self.bound_args(rule, call)
        if bound is None or bound["tensor"].given:
            return None
        for name in ("shape", "batch_shape"):
            b = bound.get(name)
            if b is not None and b.given:
                value = b.value
                if value is UNKNOWN and isinstance(b.node, cst.Name):
                    value = literals.get(b.node.value, UNKNOWN)
                return _shape_value(value, batch=name == "batch_shape")
        return None


class _Scope:
    """One pass over the statements of a function (or the module), in order."""

    def __init__(self, analysis: _Analysis, body, params: Iterable[str]):
        self.a = analysis
        self.body = body
        self.sizes: dict[str, int] = {}
        self.literals: dict[str, object] = {}
        self.local_names = _bound_names(body) | set(params)
        self.layer_vars: dict[str, cst.Call] = {}
        self.cls: str | None = None

    def run(self) -> None:
        self.find_layer_variables()
        self.block(_statements(self.body))

    def find_layer_variables(self) -> None:
        """``dense = layers.Dense(8)`` bound once, the name used only as ``dense(...)``."""
        counts = _binding_counts(self.body)
        uses = _name_uses(self.body)
        for stmt in _walk_statements(self.body):
            for small in stmt.body if isinstance(stmt, cst.SimpleStatementLine) else ():
                if (
                    isinstance(small, cst.Assign)
                    and len(small.targets) == 1
                    and isinstance(small.targets[0].target, cst.Name)
                ):
                    name = small.targets[0].target.value
                    rule = self.a.rule_of(small.value)
                    if (
                        rule is not None
                        and _is_layer_class(rule)
                        and counts.get(name) == 1
                        and all(kind == "call" for kind in uses.get(name, ()))
                    ):
                        self.layer_vars[name] = small.value
                        self.a.closed.add(id(small.value))

    # --- names ------------------------------------------------------------------------------------
    def lookup_literal(self, name: str):
        if name in self.literals:
            return self.literals[name]
        if name not in self.local_names:
            return self.a.constants.get(name, UNKNOWN)
        return UNKNOWN

    def static(self, node: cst.BaseExpression):
        """A literal, a variable holding one, or ``A if <image_data_format() test> else B``
        (Keras' default data format, channels_last, assumed as in the layout pass)."""
        value = literal_value(node)
        if value is not UNKNOWN:
            return value
        if isinstance(node, cst.Name):
            return self.lookup_literal(node.value)
        if isinstance(node, cst.IfExp):
            test = self.static(node.test)
            if test is UNKNOWN:
                return UNKNOWN
            return self.static(node.body if test else node.orelse)
        if isinstance(node, cst.Comparison) and len(node.comparisons) == 1:
            left, right = self.static(node.left), self.static(node.comparisons[0].comparator)
            op = node.comparisons[0].operator
            if left is UNKNOWN or right is UNKNOWN or not isinstance(op, (cst.Equal, cst.NotEqual)):
                return UNKNOWN
            return (left == right) if isinstance(op, cst.Equal) else (left != right)
        if isinstance(node, cst.Call) and not node.args:
            qual = self.a.ctx.imports.resolve(node.func)
            if qual in ("keras.backend.image_data_format", "keras.config.image_data_format"):
                return "channels_last"
        return UNKNOWN

    def literal_env(self) -> dict:
        env = {k: v for k, v in self.a.constants.items() if k not in self.local_names}
        env.update(self.literals)
        return env

    def assign(self, target: cst.BaseExpression, size, literal=UNKNOWN) -> None:
        if isinstance(target, cst.Name):
            self.forget([target.value])
            if isinstance(size, V):
                self.sizes[target.value] = size
            if literal is not UNKNOWN:
                self.literals[target.value] = literal
        else:
            self.ev(target)  # subscripts and attributes: their inner expressions
            self.forget(target_names(target))

    def forget(self, names) -> None:
        for n in names:
            self.sizes.pop(n, None)
            self.literals.pop(n, None)

    # --- statements --------------------------------------------------------------------------------
    def block(self, stmts) -> None:
        for stmt in stmts:
            self.statement(stmt)

    def statement(self, stmt) -> None:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                self.small(small)
        elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            self.forget([stmt.name.value])  # analysed on their own
        elif isinstance(stmt, cst.If):
            self.ev(stmt.test)
            test = self.static(stmt.test)
            if test is not UNKNOWN:  # `if backend.image_data_format() == "channels_last":`
                taken = stmt.body if test else stmt.orelse
                if taken is not None:
                    self.block(
                        _statements(taken)
                        if not isinstance(taken, (cst.Else, cst.If))
                        else _statements(taken.body)
                        if isinstance(taken, cst.Else)
                        else [taken]
                    )
                return
            before = self.snapshot()
            self.block(_statements(stmt.body))
            after_body = self.snapshot()
            self.restore(before)
            if stmt.orelse is not None:
                self.block(_statements(stmt.orelse.body) if isinstance(stmt.orelse, cst.Else) else [stmt.orelse])
            self.join(after_body)
        elif isinstance(stmt, (cst.For, cst.While)):
            self.forget(_bound_names([stmt]))
            if isinstance(stmt, cst.For):
                self.ev(stmt.iter)
            else:
                self.ev(stmt.test)
            before = self.snapshot()
            self.block(_statements(stmt.body))
            if stmt.orelse is not None:
                self.block(_statements(stmt.orelse.body))
            self.join(before)
        elif isinstance(stmt, cst.With):
            for item in stmt.items:
                self.ev(item.item)
                if item.asname is not None:
                    self.forget(target_names(item.asname.name))
            self.block(_statements(stmt.body))
        elif isinstance(stmt, (cst.Try, getattr(cst, "TryStar", cst.Try))):
            self.forget(_bound_names([stmt]))
            for suite in _suites(stmt):
                self.block(_statements(suite))
                self.forget(_bound_names(_statements(suite)))
        else:  # match and anything newer: forget what it binds, look at its expressions
            self.forget(_bound_names([stmt]))
            for node in _children(stmt):
                if isinstance(node, cst.BaseExpression):
                    self.ev(node)

    def small(self, small) -> None:
        if isinstance(small, cst.Assign):
            size = self.ev(small.value)
            literal = self.static(small.value)
            for t in small.targets:  # x = inputs = keras.Input(...): one value, every name
                self.assign(t.target, size, literal)
        elif isinstance(small, cst.AnnAssign):
            size = self.ev(small.value) if small.value is not None else None
            self.assign(small.target, size, literal_value(small.value) if small.value is not None else UNKNOWN)
        elif isinstance(small, cst.AugAssign):
            size = (
                _combine([self.ev(small.target), self.ev(small.value)], [small.target, small.value])
                if isinstance(small.operator, (cst.AddAssign, cst.SubtractAssign, cst.MultiplyAssign, cst.DivideAssign))
                else None
            )
            self.assign(small.target, size)
        elif isinstance(small, (cst.Expr, cst.Return)):
            if small.value is not None:
                self.ev(small.value)
        elif isinstance(small, (cst.Global, cst.Nonlocal)):
            self.forget(n.name.value for n in small.names)
            self.local_names |= {n.name.value for n in small.names}
        elif isinstance(small, cst.Del):
            self.forget(target_names(small.target))
        elif isinstance(small, (cst.Import, cst.ImportFrom)):
            self.forget(_bound_names([cst.SimpleStatementLine([small])]))
        else:
            for node in _children(small):
                if isinstance(node, cst.BaseExpression):
                    self.ev(node)

    def snapshot(self):
        return dict(self.sizes), dict(self.literals)

    def restore(self, snap) -> None:
        self.sizes, self.literals = dict(snap[0]), dict(snap[1])

    def join(self, other) -> None:
        sizes, literals = other
        self.sizes = {k: v for k, v in self.sizes.items() if sizes.get(k) == v}
        self.literals = {
            k: v
            for k, v in self.literals.items()
            if k in literals and literals[k] == v and type(literals[k]) is type(v)
        }

    # --- expressions ---------------------------------------------------------------------------------
    def ev(self, node: cst.BaseExpression):
        """What is known of an expression's value (a V; a list for a list or tuple; None:
        nothing). Every layer application inside is recorded on the way."""
        if isinstance(node, cst.Name):
            return self.sizes.get(node.value)
        if isinstance(node, cst.Call):
            return self.call(node)
        if isinstance(node, (cst.List, cst.Tuple)):
            return [self.ev(e.value) if isinstance(e, cst.Element) else self.ev_all(e) for e in node.elements]
        if isinstance(node, cst.BinaryOperation):
            sizes = [self.ev(node.left), self.ev(node.right)]
            if isinstance(node.operator, (cst.Add, cst.Subtract, cst.Multiply, cst.Divide)):
                return _combine(sizes, [node.left, node.right])
            return None
        if isinstance(node, cst.UnaryOperation):
            size = self.ev(node.expression)
            return size if isinstance(node.operator, cst.Minus) else None
        if isinstance(node, (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp, cst.Lambda)):
            self.ev_masked(node)
            return None
        if isinstance(node, cst.NamedExpr):  # (x := layers.Dense(8)(x)) rebinds x
            value = self.ev(node.value)
            self.assign(node.target, value, self.static(node.value))
            return value
        if isinstance(node, (cst.IfExp, cst.BooleanOperation)):  # either operand, evaluated or not
            before = self.snapshot()
            self.ev_all(node)
            self.forget(list(_walrus_names(node)))
            self.join(before)
            return None
        self.ev_all(node)
        return None

    def ev_all(self, node: cst.CSTNode) -> None:
        for child in _children(node):
            if isinstance(child, cst.BaseExpression):
                self.ev(child)
            else:
                self.ev_all(child)

    def ev_masked(self, node: cst.CSTNode) -> None:
        """A comprehension or lambda: its own names are no variables of ours."""
        names = _comprehension_names(node)
        saved = self.snapshot()
        self.forget(names)
        if isinstance(node, cst.Lambda):  # runs later: the variables may have changed by then
            self.sizes = {}
        self.ev_all(node)
        self.restore(saved)

    def call(self, node: cst.Call):
        func = node.func
        args = list(node.args)
        rule = self.a.rule_of(node)
        if rule is not None and rule.name in _INPUTS:
            self.ev_args(node)
            return self.a.input_value(node, rule, self.literal_env())
        # a layer applied: Ctor(...)(x), dense(x), self.fc(x)
        ctor, literals = None, {}
        if isinstance(func, cst.Call):
            inner = self.a.rule_of(func)
            if inner is not None and _is_layer_class(inner):
                ctor = func
                self.a.closed.add(id(func))
                self.ev_args(func)
                literals = self.literal_env()  # built right here: the variables' values hold
        elif isinstance(func, cst.Name) and func.value in self.layer_vars:
            ctor = self.layer_vars[func.value]  # built earlier: its arguments may have changed since
        elif (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.value.value == "self"
            and self.cls is not None
            and (self.cls, func.attr.value) in self.a.bound_attrs
        ):
            ctor = self.a.bound_attrs[(self.cls, func.attr.value)]
        if ctor is not None:
            if self.cls is None and any(a.keyword is not None and a.keyword.value == "training" for a in args):
                self.a.training_args.add(id(ctor))  # (in a class's methods the argument goes: layer_class.py)
            sizes = [self.ev(a.value) for a in args]
            first = _first_input(args, sizes)
            return self.a.apply_layer(ctor, self.a.rule_of(ctor), first, literals)
        if rule is not None and not _is_layer_class(rule) and rule.size is not None:
            # a function on tensors: keras.layers.concatenate([a, b]), keras.ops.relu(x)
            sizes = [self.ev(a.value) for a in args]
            bound, symbols = self.a.constructor_args(rule, node, self.literal_env())
            spec = rule.size
            if bound is None or not args or args[0].keyword is not None or args[0].star:
                return None
            return self.a.through(spec, rule, None, bound, symbols, sizes[0])
        if rule is not None and _is_layer_class(rule):
            self.ev_args(node)
            if rule.name == _SEQUENTIAL and id(node) not in self.a.closed:
                self.a.sequential(node, None, self.literal_env())
            return None  # a layer object: not a tensor
        self.ev(func) if not isinstance(func, (cst.Name, cst.Attribute)) else self.ev_all(func)
        self.ev_args(node)
        return None

    def ev_args(self, call: cst.Call) -> None:
        for a in call.args:
            self.ev(a.value)


def _first_input(args, sizes):
    for a, s in zip(args, sizes):
        if a.star:
            return None
        if a.keyword is None or a.keyword.value == "inputs":
            return s
    return None


def _combine(values: list, nodes: list):
    """``a + b``, ``x * 0.5``: the tensors' common size and rank (numbers broadcast); the size
    only when every tensor operand's is known and they agree, the rank likewise."""
    known = []
    for value, node in zip(values, nodes):
        if isinstance(value, V):
            known.append(value)
        elif isinstance(literal_value(node), (int, float)) and not isinstance(literal_value(node), bool):
            continue
        else:
            return None
    if not known:
        return None
    sizes, ranks = {v.size for v in known}, {v.rank for v in known}
    return _v(known[0].size if len(sizes) == 1 else None, known[0].rank if len(ranks) == 1 else None)


def _output(spec, bound, size, symbols: dict):
    """The output's feature size (rule field ``size.output``). A parameter that names a size
    (``symbols``) stands in as a sentinel value: an output that is exactly it is that name."""
    if spec.output == "keep":
        if isinstance(size, list):
            return size[0] if size and all(_known(s) for s in size) and len(set(size)) == 1 else None
        return size if _known(size) else None
    if spec.output == "sum":
        if isinstance(size, list) and size and all(isinstance(s, int) and not isinstance(s, Sym) for s in size):
            return sum(size)
        return None
    env, stand_ins = dict(bound), {}
    for i, (name, sym) in enumerate(sorted(symbols.items())):
        stand_ins[_SENTINEL * (i + 1)] = sym
        env[name] = BoundArg(bound[name].node, bound[name].given, _SENTINEL * (i + 1))
    if spec.input is not None:
        value = size
        if isinstance(size, Sym):
            value = _SENTINEL * (len(stand_ins) + 1)
            stand_ins[value] = size
        env[spec.input] = BoundArg(cst.Name("None"), _known(size), value if _known(size) else UNKNOWN)
    value = _evaluate(spec.output, env)
    if isinstance(value, int) and value in stand_ins:
        return stand_ins[value]
    return value if _positive_int(value) and value < _SENTINEL else None


def _arithmetic_names(node: cst.BaseExpression) -> list[str] | None:
    """The names of ``dim`` / ``dim * mlp_ratio`` / ``2 * width`` (names, integers, + - * //),
    None for anything else."""
    if isinstance(node, cst.Name):
        return None if node.value in ("True", "False", "None") else [node.value]
    if isinstance(node, cst.Integer):
        return []
    if isinstance(node, cst.BinaryOperation) and isinstance(
        node.operator, (cst.Add, cst.Subtract, cst.Multiply, cst.FloorDivide)
    ):
        left, right = _arithmetic_names(node.left), _arithmetic_names(node.right)
        return None if left is None or right is None else left + right
    return None


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)  # (rendering parenthesizes it where it needs to)


def _evaluate(expr: str, bound):
    """A rule's size expression or condition; UNKNOWN where it cannot be computed."""
    try:
        return evaluate(expr, bound)
    except Exception:  # noqa: BLE001 - `target_shape[-1]` of a non-sequence, ...: not known
        return UNKNOWN


def _output_rank(spec, bound, rank):
    """The output's rank (rule field ``size.rank``: ``keep`` or an expression over the
    parameters and ``rank``, the input's)."""
    if spec.rank is None:
        return None
    if spec.rank == "keep":
        if isinstance(rank, list):
            return rank[0] if rank and all(_positive_int(r) for r in rank) and len(set(rank)) == 1 else None
        return rank
    value = _evaluate(spec.rank, bound)
    return value if _positive_int(value) else None


def _shape_value(shape, batch: bool):
    """A Keras shape (without the batch axis unless ``batch``) as a V."""
    if isinstance(shape, (tuple, list)):
        return _v(shape[-1] if shape else None, len(shape) + (0 if batch else 1))
    if _positive_int(shape) and not batch:  # keras.Input(4): a shape of one int
        return _v(shape, 2)
    return None


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _is_layer_class(rule: Rule) -> bool:
    """``keras.layers.Dense`` (a class: called, it makes a layer) rather than a function."""
    last = rule.name.rsplit(".", 1)[-1]
    return last[:1].isupper() and rule.kind == "call" and not rule.name.startswith(("Tensor.", "Module."))


def _is_input(analysis: _Analysis, node: cst.BaseExpression) -> bool:
    rule = analysis.rule_of(node)
    return rule is not None and rule.name in _INPUTS


def _sequential_items(call: cst.Call):
    if not call.args:
        return None
    first = call.args[0]
    if first.star or (first.keyword is not None and first.keyword.value != "layers"):
        return None
    if not isinstance(first.value, cst.List):
        return None
    return list(first.value.elements)


# --- tree helpers ---------------------------------------------------------------------------------
def _children(node: cst.CSTNode):
    tree = _TREE
    if tree is not None and id(node) in tree.start and tree.order[tree.start[id(node)]] is node:
        return tree.kids.get(id(node), [])
    return node.children


def _all(root: cst.CSTNode, kind):
    found = []

    class V(cst.CSTVisitor):
        def on_visit(self, node):
            if isinstance(node, kind):
                found.append(node)
            return True

    _visit(root, V())
    return found


def _statements(suite) -> list:
    if isinstance(suite, cst.IndentedBlock):
        return list(suite.body)
    if isinstance(suite, cst.SimpleStatementSuite):
        return [cst.SimpleStatementLine(list(suite.body))]
    if isinstance(suite, (list, tuple)):
        return list(suite)
    return list(getattr(suite, "body", []))


def _suites(stmt) -> list:
    out = [stmt.body]
    for h in getattr(stmt, "handlers", ()):
        out.append(h.body)
    for name in ("orelse", "finalbody"):
        part = getattr(stmt, name, None)
        if part is not None:
            out.append(part.body)
    return out


def _walk_statements(body) -> list:
    """Every simple statement line in a body, at any depth, not inside nested defs/classes."""
    out = []

    def walk(stmts):
        for s in stmts:
            if isinstance(s, cst.SimpleStatementLine):
                out.append(s)
            elif isinstance(s, (cst.FunctionDef, cst.ClassDef)):
                continue
            else:
                for child in _children(s):
                    if isinstance(child, (cst.IndentedBlock, cst.SimpleStatementSuite)):
                        walk(_statements(child))
                    elif isinstance(child, (cst.Else, cst.ExceptHandler, cst.Finally)) or type(child).__name__ in (
                        "ExceptStarHandler",
                        "MatchCase",
                    ):
                        walk(_statements(child.body))
                    elif isinstance(child, cst.If):
                        walk([child])

    walk(_statements(body))
    return out


class _Bindings(cst.CSTVisitor):
    """Names bound in a body (not inside nested functions, classes, lambdas, comprehensions)."""

    def __init__(self):
        super().__init__()
        self.counts: dict[str, int] = {}

    def add(self, names) -> None:
        for n in names:
            self.counts[n] = self.counts.get(n, 0) + 1

    def visit_FunctionDef(self, node):
        self.add([node.name.value])
        return False

    def visit_ClassDef(self, node):
        self.add([node.name.value])
        return False

    def visit_Lambda(self, node):
        return False

    def visit_ListComp(self, node):
        return False

    def visit_SetComp(self, node):
        return False

    def visit_DictComp(self, node):
        return False

    def visit_GeneratorExp(self, node):
        return False

    def visit_AssignTarget(self, node):
        self.add(target_names(node.target))

    def visit_AnnAssign(self, node):
        self.add(target_names(node.target))

    def visit_AugAssign(self, node):
        self.add(target_names(node.target))

    def visit_For(self, node):
        self.add(target_names(node.target))

    def visit_AsName(self, node):
        self.add(target_names(node.name))

    def visit_NamedExpr(self, node):
        self.add(target_names(node.target))

    def visit_ImportAlias(self, node):
        if node.asname is None:
            name = node.name
            while isinstance(name, cst.Attribute):
                name = name.value
            if isinstance(name, cst.Name):
                self.add([name.value])

    def visit_Global(self, node):
        self.add([n.name.value for n in node.names] * 2)

    def visit_Nonlocal(self, node):
        self.add([n.name.value for n in node.names] * 2)


def _binding_counts(body) -> dict[str, int]:
    v = _Bindings()
    for stmt in _statements(body):
        _visit(stmt, v)
    return v.counts


def _bound_names(stmts) -> set[str]:
    return set(
        _binding_counts(stmts if isinstance(stmts, (cst.IndentedBlock, cst.SimpleStatementSuite)) else list(stmts))
    )


def _walrus_names(node: cst.CSTNode) -> set[str]:
    names: set[str] = set()

    class V(cst.CSTVisitor):
        def visit_NamedExpr(self, n):
            names.update(target_names(n.target))

    _visit(node, V())
    return names


def _names_in(node: cst.CSTNode) -> list[str]:
    tree = _TREE
    if tree is not None and id(node) in tree.start and tree.order[tree.start[id(node)]] is node:
        return [n.value for n in tree.order[tree.start[id(node)] : tree.end[id(node)]] if type(n) is cst.Name]
    found: list[str] = []

    class V(cst.CSTVisitor):
        def visit_Name(self, n):
            found.append(n.value)

    node.visit(V())
    return found


def _comprehension_names(node: cst.CSTNode) -> set[str]:
    names: set[str] = set()

    class V(cst.CSTVisitor):
        def visit_CompFor(self, n):
            names.update(target_names(n.target))

        def visit_Param(self, n):
            names.add(n.name.value)

        def visit_NamedExpr(self, n):
            names.update(target_names(n.target))

    _visit(node, V())
    return names


def _name_uses(body) -> dict[str, list[str]]:
    """name -> how each load of it is used: "call" (the callee) or "other"; nested functions
    count (a closure may call the layer on anything)."""
    uses: dict[str, list[str]] = {}

    class V(cst.CSTVisitor):
        def __init__(self):
            super().__init__()
            self.callees: set[int] = set()
            self.skip: set[int] = set()

        def visit_Call(self, n):
            if isinstance(n.func, cst.Name):
                self.callees.add(id(n.func))

        def visit_Attribute(self, n):
            self.skip.add(id(n.attr))

        def visit_Arg(self, n):
            if n.keyword is not None:
                self.skip.add(id(n.keyword))

        def visit_AssignTarget(self, n):
            if isinstance(n.target, cst.Name):
                self.skip.add(id(n.target))

        def visit_Param(self, n):
            self.skip.add(id(n.name))

        def nested(self, n):
            # a use in a nested function is analysed there, where the name is no layer variable
            for name in _names_in(n):
                uses.setdefault(name, []).append("other")
            return False

        visit_FunctionDef = visit_Lambda = visit_ClassDef = nested

        def visit_Name(self, n):
            if id(n) in self.skip:
                return
            uses.setdefault(n.value, []).append("call" if id(n) in self.callees else "other")

    v = V()
    for stmt in _statements(body):
        _visit(stmt, v)
    return uses


def _param_names(fn: cst.FunctionDef) -> list[str]:
    p = fn.params
    names = [x.name.value for x in (*p.posonly_params, *p.params, *p.kwonly_params)]
    for star in (p.star_arg, p.star_kwarg):
        if isinstance(star, cst.Param):
            names.append(star.name.value)
    return names


def _base_names(cls: cst.ClassDef) -> set[str]:
    out = set()
    for base in cls.bases:
        node = base.value
        while isinstance(node, cst.Attribute):
            out.add(node.attr.value)
            node = node.value
        if isinstance(node, cst.Name):
            out.add(node.value)
    return out


def _self_assignments(cls: cst.ClassDef) -> dict[str, list[cst.BaseExpression]]:
    found: dict[str, list] = {}

    class V(cst.CSTVisitor):
        def visit_AssignTarget(self, n):
            t = n.target
            if isinstance(t, cst.Attribute) and isinstance(t.value, cst.Name) and t.value.value == "self":
                found.setdefault(t.attr.value, []).append(self.value)
            elif isinstance(t, (cst.Tuple, cst.List)):
                for e in t.elements:
                    v = e.value
                    if isinstance(v, cst.Attribute) and isinstance(v.value, cst.Name) and v.value.value == "self":
                        found.setdefault(v.attr.value, []).extend([None, None])

        def visit_Assign(self, n):
            self.value = n.value if len(n.targets) == 1 else None

        def visit_AugAssign(self, n):
            t = n.target
            if isinstance(t, cst.Attribute):
                found.setdefault(t.attr.value, []).extend([None, None])

        def visit_AnnAssign(self, n):
            t = n.target
            if isinstance(t, cst.Attribute):
                found.setdefault(t.attr.value, []).extend([None, None])

    _visit(cls, V())
    return found


def _self_attribute_uses(cls: cst.ClassDef) -> dict[str, list[str]]:
    """attribute -> how each load of ``self.X`` in the class is used ("call", "other")."""
    uses: dict[str, list[str]] = {}

    class V(cst.CSTVisitor):
        def __init__(self):
            super().__init__()
            self.callees: set[int] = set()
            self.targets: set[int] = set()

        def visit_Call(self, n):
            self.callees.add(id(n.func))

        def visit_AssignTarget(self, n):
            self.targets.add(id(n.target))

        def visit_Attribute(self, n):
            if isinstance(n.value, cst.Name) and n.value.value == "self" and id(n) not in self.targets:
                uses.setdefault(n.attr.value, []).append("call" if id(n) in self.callees else "other")

    _visit(cls, V())
    return uses


def _attribute_reads(module: cst.Module) -> tuple[dict[str, set], set[str]]:
    """(attribute name -> ids of the classes, or None for module level, where ``<not self>.X`` is
    read, names given to getattr/setattr/delattr/hasattr as strings, "*" for a computed one)."""
    reads: dict[str, set] = {}
    dynamic: set[str] = set()

    class V(cst.CSTVisitor):
        def __init__(self):
            super().__init__()
            self.classes: list[int | None] = [None]

        def visit_ClassDef(self, n):
            self.classes.append(id(n))

        def leave_ClassDef(self, n):
            self.classes.pop()

        def visit_Attribute(self, n):
            if not (isinstance(n.value, cst.Name) and n.value.value == "self"):
                reads.setdefault(n.attr.value, set()).add(self.classes[-1])

        def visit_Call(self, n):
            if isinstance(n.func, cst.Name) and n.func.value in ("getattr", "setattr", "delattr", "hasattr"):
                for a in n.args[1:2]:
                    value = literal_value(a.value)
                    dynamic.add(value if isinstance(value, str) else "*")

    _visit(module, V())
    return reads, dynamic


def _call_scopes(module: cst.Module):
    """(call id -> (the innermost enclosing function's id or None, the names comprehensions and
    lambdas around the call bind), function id -> {name: index} of its parameters the function
    never rebinds (-1) and its locals bound once, by a top-level assignment (that statement's
    index), call id -> the index of the top-level statement of its function holding it)."""
    scope_of: dict[int, tuple[int | None, frozenset]] = {}
    stable: dict[int, dict[str, int]] = {}
    position: dict[int, int] = {}

    class V(cst.CSTVisitor):
        def __init__(self):
            super().__init__()
            self.functions: list[int | None] = [None]
            self.shadows: list[list[set]] = [[]]

        def visit_FunctionDef(self, n):
            self.functions.append(id(n))
            self.shadows.append([])
            counts = _binding_counts(n.body)
            rebound = _rebound_anywhere(n)
            params = [x.name.value for x in (*n.params.posonly_params, *n.params.params, *n.params.kwonly_params)]
            names = {x: -1 for x in params if x not in counts and x not in rebound}
            others = {x.name.value for x in (n.params.star_arg, n.params.star_kwarg) if isinstance(x, cst.Param)}
            body = _statements(n.body)
            for i, stmt in enumerate(body):
                for call in _calls_here(stmt):
                    position[id(call)] = i
                if isinstance(stmt, cst.SimpleStatementLine):
                    for small in stmt.body:
                        if (
                            isinstance(small, cst.Assign)
                            and len(small.targets) == 1
                            and isinstance(small.targets[0].target, cst.Name)
                        ):
                            var = small.targets[0].target.value
                            if counts.get(var) == 1 and var not in rebound and var not in params and var not in others:
                                names[var] = i
            stable[id(n)] = names

        def leave_FunctionDef(self, n):
            self.functions.pop()
            self.shadows.pop()

        def _push(self, names):
            self.shadows[-1].append(set(names))

        def _pop(self):
            self.shadows[-1].pop()

        def visit_Lambda(self, n):
            self._push(_comprehension_names(n))

        def leave_Lambda(self, n):
            self._pop()

        def visit_ListComp(self, n):
            self._push(_comprehension_names(n))

        def leave_ListComp(self, n):
            self._pop()

        def visit_SetComp(self, n):
            self._push(_comprehension_names(n))

        def leave_SetComp(self, n):
            self._pop()

        def visit_DictComp(self, n):
            self._push(_comprehension_names(n))

        def leave_DictComp(self, n):
            self._pop()

        def visit_GeneratorExp(self, n):
            self._push(_comprehension_names(n))

        def leave_GeneratorExp(self, n):
            self._pop()

        def visit_Call(self, n):
            shadowed = frozenset().union(*self.shadows[-1]) if self.shadows[-1] else frozenset()
            scope_of[id(n)] = (self.functions[-1], shadowed)

    _visit(module, V())
    return scope_of, stable, position


def _calls_here(stmt: cst.CSTNode) -> list[cst.Call]:
    """The calls in a statement, not in the functions and classes it defines."""
    found: list[cst.Call] = []

    class V(cst.CSTVisitor):
        def visit_FunctionDef(self, n):
            return False

        def visit_ClassDef(self, n):
            return False

        def visit_Call(self, n):
            found.append(n)

    _visit(stmt, V())
    return found


def _rebound_anywhere(fn: cst.FunctionDef) -> set[str]:
    """Names a nested function rebinds in ``fn`` (``nonlocal``), and names deleted."""
    found: set[str] = set()

    class V(cst.CSTVisitor):
        def visit_Nonlocal(self, n):
            found.update(x.name.value for x in n.names)

        def visit_Global(self, n):
            found.update(x.name.value for x in n.names)

        def visit_Del(self, n):
            found.update(target_names(n.target))

    _visit(fn.body, V())
    return found


def _functions(module: cst.Module) -> list[tuple[cst.FunctionDef, str | None]]:
    """Every function at any depth, with the class whose method it is (or is nested in)."""
    out: list[tuple[cst.FunctionDef, str | None]] = []

    class V(cst.CSTVisitor):
        def __init__(self):
            super().__init__()
            self.classes: list[str | None] = [None]

        def visit_ClassDef(self, n):
            self.classes.append(n.name.value)

        def leave_ClassDef(self, n):
            self.classes.pop()

        def visit_FunctionDef(self, n):
            out.append((n, self.classes[-1]))

    _visit(module, V())
    return out


def _module_constants(module: cst.Module) -> dict[str, object]:
    """Module-level names bound once in the whole file (any scope), to a literal."""
    counts: dict[str, int] = {}

    class V(cst.CSTVisitor):
        def add(self, names):
            for name in names:
                counts[name] = counts.get(name, 0) + 1

        def visit_AssignTarget(self, n):
            self.add(target_names(n.target))

        def visit_AnnAssign(self, n):
            self.add(target_names(n.target))

        def visit_AugAssign(self, n):
            self.add(target_names(n.target) * 2)

        def visit_For(self, n):
            self.add(target_names(n.target))

        def visit_CompFor(self, n):
            self.add(target_names(n.target))

        def visit_AsName(self, n):
            self.add(target_names(n.name))

        def visit_NamedExpr(self, n):
            self.add(target_names(n.target))

        def visit_Param(self, n):
            self.add([n.name.value])

        def visit_Global(self, n):
            self.add([x.name.value for x in n.names] * 2)

        def visit_FunctionDef(self, n):
            self.add([n.name.value])

        def visit_ClassDef(self, n):
            self.add([n.name.value])

    _visit(module, V())
    out: dict[str, object] = {}
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if (
                    isinstance(small, cst.Assign)
                    and len(small.targets) == 1
                    and isinstance(small.targets[0].target, cst.Name)
                ):
                    name = small.targets[0].target.value
                    value = literal_value(small.value)
                    if counts.get(name) == 1 and value is not UNKNOWN:
                        out[name] = value
    return out
