"""Where the channel axis moves: one data-flow analysis over the source, for both directions.

The source framework computes images in its own order (Keras: channels last; PyTorch: channels
first); the target's own layers want the other one. A value's layout is ``None`` (the source's
order, or no image at all) or the rank of a tensor in the target's *native* order. Sources of
native values are spatial layers (rule ``layout:`` field); consumers that need the source's order
are everything the analysis does not know. Variables are converted by a statement, other
expressions in place. Control flow is handled conservatively: branches are joined variable by
variable, loop bodies start and end in the source's order unless a variable keeps its layout.

What differs between the directions (the axis parameter's name, how an axis is renumbered, the
container whose layers run in order, what is inserted into it) is a ``LayoutConventions``; each
direction's ``layout.py`` defines one and applies the resulting Plan during the traversal.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import libcst as cst

from ...rules.literals import UNKNOWN, literal_value
from ...rules.model import Rule
from ...rules.signature import BindError, bind
from .layout_blocks import find_blocks, self_assignment
from .layout_class_values import argument_layers

TO_NATIVE, TO_SOURCE = "native", "source"
_RANK = re.compile(r"([123])[dD](?:Transpose)?$")  # Conv2D, Conv2d, ConvTranspose2d, MaxPooling1D...


@dataclass(frozen=True)
class LayoutConventions:
    """What the analysis needs to know about one direction."""

    axis_param: str  # the source API's axis parameter: "axis" (Keras), "dim" (PyTorch)
    native_axis: Callable[[int, int], int]  # (source-order axis, rank) -> the same axis in native order
    sequential: str  # the container rule whose layers run one after the other
    sequential_args: bool  # its layers are positional arguments (nn.Sequential) or one list (keras.Sequential)
    to_native_layer: Callable[[int], str]  # code of the layer that converts a tensor of this rank
    to_source_layer: Callable[[int], str]
    inputs: frozenset[str] = frozenset()  # rules whose results are model inputs (never rebound)
    # spatial rules whose layer takes any rank (nn.Upsample): it runs in the rank its input comes in
    any_rank: frozenset[str] = frozenset()
    # a layer built from a class held in a variable (``norm_layer(planes)``): whether its rule's
    # translation can be adapted to the native layout at run time, and the support function that does it
    can_adapt: Callable[[object, Rule, cst.Call], bool] = lambda ctx, rule, ctor: False
    adapter: str = ""
    keep_param: str = "keepdims"  # a reduction's "keep the reduced axes" parameter ("keepdim": PyTorch)
    flatten: str = ""  # the source's flatten function (torch.flatten), or none
    can_run_native: Callable[[object, Rule, cst.Call], bool] = lambda ctx, rule, ctor: True
    # block classes (layout_blocks.py) may take and return native tensors (PyTorch -> Keras only:
    # the Keras -> PyTorch outputs are unchanged)
    class_contracts: bool = False
    # the support function that adapts an instance built from a class held in a parameter
    # (``block(...)``): (instance, the classes taking native tensors) -> one that takes them
    block_adapter: str = ""


_WRAPPABLE = (cst.Name, cst.Call, cst.Attribute, cst.Subscript, cst.BinaryOperation)


@dataclass
class Plan:
    native: set[int] = field(default_factory=set)  # constructor calls that run in the native layout
    chains: set[int] = field(default_factory=set)  # containers applied as one native layer (no inserts)
    axis: dict[int, tuple[int, object]] = field(default_factory=dict)  # ctor -> (position, new axis)
    before: dict[int, list[tuple[str, str]]] = field(default_factory=dict)  # stmt -> [(var, direction)]
    after: dict[int, list[tuple[str, str]]] = field(default_factory=dict)
    wrap: dict[int, str] = field(default_factory=dict)  # expression -> direction
    replace: dict[int, str] = field(default_factory=dict)  # expression -> code (a renumbered axis)
    contract_comments: dict[int, int] = field(default_factory=dict)  # helper def -> its rank
    list_inserts: dict[int, list[tuple[int, str]]] = field(default_factory=dict)  # Sequential lists
    visit: set[int] = field(default_factory=set)  # statements the traversal must not skip
    helpers: set[str] = field(default_factory=set)  # support definitions the edits use
    # classes whose entry method takes native tensors: name -> (rank, returns native tensors)
    interfaces: dict[str, tuple[int, bool]] = field(default_factory=dict)
    keeps: set[int] = field(default_factory=set)  # entry defs that take native tensors, return as computed
    native_returns: bool = False  # a trial with kept returns: every return is native, of one rank
    adapt: set[int] = field(default_factory=set)  # native layers built from a class in a variable
    # blocks built from a class in a parameter (``block(...)``) -> (adapter, the classes with that
    # contract, whether it passes layers built for the native layout: another class is refused)
    adapt_blocks: dict[int, tuple[str, tuple[str, ...], bool]] = field(default_factory=dict)


@dataclass
class _Layer:
    rule: Rule
    ctor: cst.Call
    identity: tuple[str, object]  # ("attr", name) or ("node", id)
    adapted: bool = False  # built from a class held in a variable: adapted at run time

    @property
    def kind(self) -> str | None:
        # a call that chose its data_format itself is left as written
        if self.rule.layout in ("spatial", "spatial_to_flat") and any(
            a.keyword is not None and a.keyword.value in ("data_format", "keepdims") for a in self.ctor.args
        ):
            return None
        return self.rule.layout

    @property
    def rank(self) -> int | None:
        m = _RANK.search(self.rule.name)
        return int(m.group(1)) + 2 if m else None


@dataclass
class _Compound(_Layer):
    """Spatial and elementwise layers taken together: spatial as a whole, of its spatial parts'
    one rank."""

    parts: list[_Layer] = field(default_factory=list)

    @property
    def kind(self) -> str | None:
        return "spatial"

    @property
    def rank(self) -> int | None:
        ranks = {p.rank for p in self.parts if p.kind == "spatial" and p.rank is not None}
        return ranks.pop() if len(ranks) == 1 else None


@dataclass
class _Block(_Layer):
    """An instance of the file's classes with a contract, or a container applying only such
    instances (``nn.Sequential(*layers)``): it takes and returns native tensors of one rank."""

    contract: int = 4

    @property
    def kind(self) -> str | None:
        return "contract"

    @property
    def rank(self) -> int | None:
        return self.contract


class _Chain(_Compound):
    """A container of layers applied as one (``self.downsample = nn.Sequential(conv, bn)``),
    each spatial one with a native form."""


class _Choice(_Compound):
    """An attribute given one of several layers in ``__init__`` (``if bilinear: self.up = ...
    else: self.up = nn.ConvTranspose2d(...)``), each spatial one with a native form, so that
    whichever is built runs channels last."""


def analyse(module: cst.Module, ctx, conventions: LayoutConventions, native_interface: bool = False) -> Plan:
    """``native_interface``: the models themselves (the classes nobody in the file applies) may
    take native tensors too (--layout keras)."""
    analyser = _Analyser(ctx, Plan(), conventions)
    analyser.constants = _constants(module.body, analyser, {})
    analyser.param_constants = _parameter_constants(module, analyser)
    analyser.factories = _factories(module, analyser)
    analyser.classes = _layer_classes(module, analyser)
    analyser.settle_contracts(module)
    analyser.settle_class_contracts(module, native_interface)
    # a layer built by a factory function is one object for all its uses: a class analysed later
    # may force it to the source's order, so the whole file is analysed again until that settles
    for _ in range(3):
        forced = set(analyser.forced)
        analyser.plan = Plan()
        for stmt in module.body:
            if isinstance(stmt, cst.ClassDef):
                analyser.class_def(stmt)
            elif isinstance(stmt, cst.FunctionDef):
                analyser.function(stmt, {}, analyser.contracts.get(stmt.name.value))
        analyser.sequential_lists(module)
        if analyser.forced == forced:
            break
    analyser.adapt_blocks(module)
    return analyser.plan


class _Analyser:
    def __init__(self, ctx, plan: Plan, conventions: LayoutConventions):
        self.ctx, self.plan, self.conventions = ctx, plan, conventions
        self.forced: set[object] = set()  # layer identities that must see Keras' order
        self.constants: dict[str, object] = {}  # module-level names with one static value
        # helper functions that take and return channels-first tensors: name -> rank
        self.contracts: dict[str, int] = {}
        self.factories: dict[str, cst.Call] = {}  # function name -> the constructor call it returns
        self.classes: dict[str, Rule] = {}  # variables only ever given one layer class (norm_layer)
        self.param_constants: dict[str, dict[str, object]] = {}  # function -> parameters' static values
        self.modes: dict[object, set] = {}  # layer identity -> the layouts it was applied to
        self.block_values: dict[int, frozenset[str]] = {}  # expression -> the block classes it applies
        self.class_contracts: dict[str, int] = {}  # block class -> the native rank its entry method takes
        self.block_adapted: dict[int, frozenset[str]] = {}  # instance built from a parameter -> its classes
        # block classes' constructor parameters given known layers by every construction (downsample)
        self.arguments: dict[tuple[str, str], list[cst.BaseExpression]] = {}
        self.strict: set[int] = set()  # instance calls passing such layers
        self.keeps: set[str] = set()  # of those, models whose results keep the layout they are computed in

    # --- helper functions ---------------------------------------------------------------------------
    def settle_contracts(self, module: cst.Module) -> None:
        """A module-level helper (``def conv_block(x, filters)``) only ever called with a tensor
        first may take and return channels-first tensors, so that the channel axis does not move
        at every call: chosen when that needs fewer moves inside it."""
        functions = {s.name.value: s for s in module.body if isinstance(s, cst.FunctionDef)}
        candidates = [n for n in _only_called(module, set(functions)) if _first_param(functions[n])]
        for _ in range(3):
            changed = False
            for name in candidates:
                fn = functions[name]
                costs = {rank: self._cost(fn, rank) for rank in (None, 4, 3, 5)}
                best = min(costs, key=lambda r: (costs[r], r is not None))
                if self.contracts.get(name) != best:
                    changed = True
                    if best is None:
                        self.contracts.pop(name, None)
                    else:
                        self.contracts[name] = best
            if not changed:
                return

    def _cost(self, fn: cst.FunctionDef, rank: int | None) -> int:
        saved = set(self.forced)
        trial = self._trial(fn, {}, rank)
        self.forced = saved
        return _cost(trial)

    def _trial(
        self,
        fn: cst.FunctionDef,
        attrs: dict,
        contract: int | None,
        entry: tuple[str, int] | None = None,
        keep: bool = False,
        method: bool = False,
    ) -> Plan:
        """One analysis of ``fn``: ``contract``, its first parameter comes and its result goes
        in the native layout of that rank (``keep``: results are returned as computed when they
        all are native of one rank, else in the source's order); ``entry``, (parameter, rank)
        moved on entry; ``method``: ``fn`` is a method (its tensor comes after ``self``)."""
        for _ in range(8):
            before = set(self.forced)
            trial = Plan()
            self.modes = {}
            inherited = {**self.constants, **self.param_constants.get(fn.name.value, {})}
            worker = _Function(
                self,
                trial,
                attrs,
                returns=contract,
                constants=_constants(_statements(fn.body), self, inherited),
                keep=keep,
            )
            first = _first_param(fn, skip=1 if method else 0)
            state = {first: contract} if contract is not None and first else {}
            if entry is not None:
                state = {entry[0]: entry[1]}
            worker.setup(fn.body).block(fn.body, state)
            if keep:
                worker.settle_returns()
            # an axis or merge layer is one object: it cannot see both layouts
            self.forced |= {identity for identity, modes in self.modes.items() if len(modes) > 1}
            if self.forced == before:
                return trial
        return trial

    # --- rules --------------------------------------------------------------------------------
    def layer_of(self, value: cst.CSTNode, identity: tuple[str, object]) -> _Layer | None:
        """The layer a constructor call builds (``nn.Conv2d(...)``), directly or through a
        factory function of this file (``conv3x3(...)``, whose only statement returns one), or
        block instances with a contract (``BasicBlock(...)``, ``nn.Sequential(*layers)``)."""
        block = self.block_of(value, identity)
        if block is not None:
            return block
        rule = self.rule_of(value)
        if rule is not None and rule.layout and isinstance(value, cst.Call):
            return _Layer(rule, value, identity)
        if rule is not None and rule.name == self.conventions.sequential and isinstance(value, cst.Call):
            return self._chain(rule, value, identity)
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Name) and value.func.value in self.classes:
            return _Layer(self.classes[value.func.value], value, identity, adapted=True)
        inner = (
            self.factories.get(value.func.value)
            if isinstance(value, cst.Call) and isinstance(value.func, cst.Name)
            else None
        )
        if inner is not None:
            rule = self.rule_of(inner)
            if rule is not None:
                return _Layer(rule, inner, ("node", id(inner)))
        return None

    def block_of(self, value: cst.CSTNode, identity: tuple[str, object]) -> _Block | None:
        classes = self.block_values.get(id(value))
        rule = self.ctx.rules.calls.get(self.conventions.sequential)
        if not classes or rule is None or not isinstance(value, cst.Call):
            return None
        ranks = {self.class_contracts.get(c) for c in classes}
        if len(ranks) != 1 or None in ranks:
            return None
        return _Block(rule, value, identity, contract=ranks.pop())  # type: ignore[arg-type]

    def _chain(self, rule: Rule, call: cst.Call, identity: tuple[str, object]) -> _Chain | None:
        if not self.conventions.sequential_args or not call.args:
            return None
        if any(a.keyword is not None or a.star for a in call.args):
            return None
        parts = [self.layer_of(a.value, ("node", id(a.value))) for a in call.args]
        if any(p is None or p.kind not in ("spatial", "elementwise") for p in parts):
            return None
        chain = _Chain(rule, call, identity, parts=[p for p in parts if p is not None])
        if chain.rank is None or not self.ranks_known(chain) or not self.native_capable(chain):
            return None
        return chain

    def _choice(self, values: list[cst.BaseExpression], identity: tuple[str, object]) -> _Layer | None:
        if len(values) == 1:
            return self.layer_of(values[0], identity)
        parts = [self.layer_of(v, ("node", id(v))) for v in values]
        blocks = {p.contract for p in parts if isinstance(p, _Block)}
        if len(blocks) == 1 and all(isinstance(p, _Block) for p in parts):  # `self.body = A(c)` or `B(c)`
            return _Block(parts[0].rule, parts[0].ctor, identity, contract=blocks.pop())  # type: ignore[union-attr]
        if any(p is None or p.kind not in ("spatial", "elementwise") for p in parts):
            return None
        found = [p for p in parts if p is not None]
        choice = _Choice(found[0].rule, found[0].ctor, identity, parts=found)
        return choice if choice.rank is not None and self.ranks_known(choice) and self.native_capable(choice) else None

    def any_rank(self, layer: _Layer) -> bool:
        """A spatial layer of any rank (``nn.Upsample``): it runs in its input's rank."""
        return layer.rank is None and layer.rule.name in self.conventions.any_rank

    def ranks_known(self, layer: _Compound) -> bool:
        """Each spatial part has the compound's rank, or takes any rank."""
        return all(p.kind != "spatial" or p.rank == layer.rank or self.any_rank(p) for p in layer.parts)

    def native_capable(self, layer: _Layer) -> bool:
        """The layer (every spatial part of a chain or a choice) has a native form."""
        if isinstance(layer, _Compound):
            return all(p.kind != "spatial" or self.native_capable(p) for p in layer.parts)
        if layer.adapted:
            return self.conventions.can_adapt(self.ctx, layer.rule, layer.ctor)
        return self.conventions.can_run_native(self.ctx, layer.rule, layer.ctor)

    def native(self, layer: _Layer, plan: Plan) -> None:
        """One layer (no compound) runs in the native layout."""
        plan.native.add(id(layer.ctor))
        if layer.adapted:
            plan.adapt.add(id(layer.ctor))
            plan.helpers.add(self.conventions.adapter)

    def mark_native(self, layer: _Layer, plan: Plan) -> None:
        if isinstance(layer, _Choice):
            for part in layer.parts:
                if part.kind == "spatial":
                    self.mark_native(part, plan)
            return
        if isinstance(layer, _Chain):
            plan.chains.add(id(layer.ctor))
            for part in layer.parts:
                if part.kind == "spatial":
                    self.native(part, plan)
        else:
            self.native(layer, plan)

    def rule_of(self, call: cst.CSTNode) -> Rule | None:
        if not isinstance(call, cst.Call):
            return None
        qual = self.ctx.imports.resolve(call.func)
        return self.ctx.rules.calls.get(qual) if qual is not None else None

    # --- classes --------------------------------------------------------------------------------
    def class_attrs(self, cls: cst.ClassDef) -> dict[str, _Layer]:
        """The layers ``__init__`` assigns to attributes."""
        attrs: dict[str, _Layer] = {}
        init = next((s for s in cls.body.body if isinstance(s, cst.FunctionDef) and s.name.value == "__init__"), None)
        if init is not None:
            params = {p.name.value for p in [*init.params.posonly_params, *init.params.params]}
            for target, values in _init_layers(init).items():
                if len(values) == 1 and isinstance(values[0], cst.Name) and values[0].value in params:
                    # `self.downsample = downsample`: the layers every construction passes
                    values = self.arguments.get((cls.name.value, values[0].value), values)
                layer = self._choice(values, ("attr", target))
                if layer is not None:
                    attrs[target] = layer
        return attrs

    def class_def(self, cls: cst.ClassDef) -> None:
        methods = {s.name.value: s for s in cls.body.body if isinstance(s, cst.FunctionDef)}
        entry = methods.get(self.ctx.direction.entry_method[0])
        if entry is None:
            return
        attrs = self.class_attrs(cls)
        init = methods.get("__init__")
        # forward and the methods it calls (`self._forward_impl(x)`, timm's `forward_features` /
        # `forward_head`): each keeps the source's order at its own interface
        analysed = _methods_called_from(methods, entry)
        # a layer used anywhere but as `self.X(...)` in those methods may meet Keras-ordered data
        used_elsewhere = _attributes_not_called(cls, {fn.name.value for fn in analysed}, set(attrs))
        self.forced |= {("attr", a) for a in used_elsewhere}
        self.plan.visit.add(id(cls))
        if init is not None:
            self.plan.visit.add(id(init))
            self.plan.visit |= {id(s) for s in _statements(init.body)}
        name = cls.name.value
        if name in self.class_contracts:  # settle_class_contracts checked forward is alone
            keep = name in self.keeps
            trial = self._trial(entry, attrs, self.class_contracts[name], keep=keep, method=True)
            self._merge(trial)
            self.plan.visit.add(id(entry))
            self.plan.contract_comments[id(entry)] = self.class_contracts[name]
            self.plan.interfaces[name] = (self.class_contracts[name], trial.native_returns or not keep)
            if keep:
                self.plan.keeps.add(id(entry))
            return
        for fn in analysed:
            self.method(fn, attrs)

    def method(self, fn: cst.FunctionDef, attrs: dict[str, _Layer]) -> None:
        """A layer's ``forward`` / ``call``: its interface keeps the source's order, but its tensor
        argument may move once on entry when that saves moves inside (``identity = x`` before
        the convolutions, a shortcut applied to ``x`` later)."""
        best = self._method_plan(fn, attrs)
        if best is None:
            return self.function(fn, attrs)
        self.forced = best[2]
        self._merge(best[1])
        self.plan.visit.add(id(fn))

    def _method_plan(self, fn: cst.FunctionDef, attrs: dict[str, _Layer]) -> tuple[int, Plan, set] | None:
        """(cost, plan, forced layers) of ``method``'s best choice; None when it has no choice."""
        body = _statements(fn.body)
        first = next((s for s in body if not _is_docstring(s)), None)
        params = [*fn.params.posonly_params, *fn.params.params][1:]
        if first is None or not params or not attrs:
            return None
        saved = set(self.forced)
        plain = self._trial(fn, attrs, None)
        best = (_cost(plain), plain, set(self.forced))
        param = params[0].name.value
        for rank in (4, 3, 5):
            self.forced = set(saved)
            trial = self._trial(fn, attrs, None, entry=(param, rank))
            trial.before.setdefault(id(first), []).insert(0, (param, TO_NATIVE))
            if _cost(trial) < best[0]:  # the move on entry is one of the plan's
                best = (_cost(trial), trial, set(self.forced))
        self.forced = saved
        return best

    # --- block classes -------------------------------------------------------------------------
    def settle_class_contracts(self, module: cst.Module, native_interface: bool) -> None:
        """A block class only applied by the file's other classes (layout_blocks.py), with a
        tensor first, may take and return native tensors like a helper function
        (``settle_contracts``), so that its callers do not move the channel axis around it:
        chosen when that needs fewer moves inside it than keeping the source's order. With
        ``native_interface`` the models too (the classes no other class applies): they take
        native tensors, and return native ones where they compute them."""
        if not self.conventions.class_contracts:
            return
        entry_name = self.ctx.direction.entry_method[0]
        classes: dict[str, cst.ClassDef] = {}
        for stmt in module.body:
            if not isinstance(stmt, cst.ClassDef):
                continue
            methods = {s.name.value: s for s in stmt.body.body if isinstance(s, cst.FunctionDef)}
            entry = methods.get(entry_name)
            params = [*entry.params.posonly_params, *entry.params.params][1:] if entry is not None else []
            if entry is not None and params and _methods_called_from(methods, entry) == [entry]:
                classes[stmt.name.value] = stmt
        if not classes:
            return
        sequential = self.conventions.sequential
        blocks = find_blocks(module, set(classes), lambda call: getattr(self.rule_of(call), "name", None) == sequential)
        refused = set(blocks.refused) | (set() if native_interface else blocks.external)
        owners = {s.name.value: s for s in module.body if isinstance(s, cst.ClassDef)}
        for owner, applied in blocks.attrs.items():
            cls = owners[owner]
            methods = {s.name.value: s for s in cls.body.body if isinstance(s, cst.FunctionDef)}
            entry = methods.get(entry_name)
            entries = {fn.name.value for fn in _methods_called_from(methods, entry)} if entry is not None else set()
            # applied with its tensor first, by forward and what it calls, and nowhere else
            for attr in _attributes_not_called(cls, entries, set(applied)) | _applied_oddly(cls, set(applied)):
                refused |= applied[attr]
        self.block_values = blocks.values
        self.block_adapted = blocks.adapted
        # only a class whose every instance the analysis follows may trust its arguments
        followed = {c for c in classes if c not in refused and c in blocks.internal}
        # a class value gone where the analysis does not follow may reach any `block(...)`
        trusted: set[int] | None = None if not blocks.escaped else set()
        self.arguments, _ = argument_layers(module, followed, blocks.adapted, trusted)
        models = {c for c in classes if c not in blocks.internal} if native_interface else set()
        candidates = [c for c in classes if c not in refused and (c in blocks.internal or c in models)]
        for _ in range(3):
            changed = False
            for name in candidates:
                cls = classes[name]
                attrs = self.class_attrs(cls)
                entry = next(s for s in cls.body.body if isinstance(s, cst.FunctionDef) and s.name.value == entry_name)
                keep = name in models
                best = self._class_choice(entry, attrs, keep)
                if self.class_contracts.get(name) != best:
                    changed = True
                    if best is None:
                        self.class_contracts.pop(name, None)
                    else:
                        self.class_contracts[name] = best
            # one value or attribute applying classes of different contracts: none of them keeps one
            for together in [*self.block_values.values(), *(c for a in blocks.attrs.values() for c in a.values())]:
                if len({self.class_contracts.get(c) for c in together}) > 1:
                    for c in together:
                        changed = changed or c in self.class_contracts
                        self.class_contracts.pop(c, None)
                    candidates = [c for c in candidates if c not in together]
            if not changed:
                break
        self.keeps = models & set(self.class_contracts)
        # a block built from a parameter without an adapter may be another caller's class: it gets
        # no layer built for the native layout; one with an adapter refuses such a class at run time
        adapted = {call for call, held in blocks.adapted.items() if self._adapter_rank(held) is not None}
        adapted = set() if blocks.escaped else adapted
        self.arguments, self.strict = argument_layers(module, followed, blocks.adapted, adapted)

    def _adapter_rank(self, held: frozenset[str]) -> int | None:
        ranks = {self.class_contracts.get(c) for c in held}
        return ranks.pop() if len(ranks) == 1 and None not in ranks else None

    def _class_choice(self, entry: cst.FunctionDef, attrs: dict[str, _Layer], keep: bool) -> int | None:
        """The native rank the entry method had best take, or None (the source's order)."""
        saved = set(self.forced)
        plain = self._method_plan(entry, attrs)
        costs: dict[int | None, int] = {None: plain[0] if plain is not None else self._cost(entry, None)}
        for rank in (4, 3, 5):
            costs[rank] = _cost(self._trial(entry, attrs, rank, keep=keep, method=True))
            self.forced = set(saved)
        self.forced = saved
        return min(costs, key=lambda r: (costs[r], r is not None))

    def adapt_blocks(self, module: cst.Module) -> None:
        """Instances built from a class held in a parameter, applied to native tensors: adapted at
        run time, since a caller outside the file may pass a class written for the source's order."""
        for call, held in self.block_adapted.items():
            if self._adapter_rank(held) is not None:
                self.plan.adapt_blocks[call] = (
                    self.conventions.block_adapter,
                    tuple(sorted(held)),
                    call in self.strict,
                )
        if self.plan.adapt_blocks:
            self.plan.helpers.add(self.conventions.block_adapter)
        if self.arguments or self.plan.adapt_blocks:  # layers built in a method the analysis does not walk
            self.plan.visit |= _enclosing(module, set(self.plan.adapt_blocks) | self.plan.native | self.plan.chains)

    # --- functions -------------------------------------------------------------------------------
    def function(self, fn: cst.FunctionDef, attrs: dict[str, _Layer], contract: int | None = None) -> None:
        """Analyse until the layers forced to Keras' order stop changing (an axis layer used on
        both layouts, a spatial layer whose input cannot be converted)."""
        self._merge(self._trial(fn, attrs, contract))
        self.plan.visit.add(id(fn))
        if contract is not None:
            self.plan.contract_comments[id(fn)] = contract

    def _merge(self, trial: Plan) -> None:
        self._merge_into(self.plan, trial)

    @staticmethod
    def _merge_into(plan: Plan, trial: Plan) -> None:
        plan.native |= trial.native
        plan.chains |= trial.chains
        plan.axis.update(trial.axis)
        for table in ("before", "after"):
            for key, items in getattr(trial, table).items():
                getattr(plan, table).setdefault(key, []).extend(items)
        plan.wrap.update(trial.wrap)
        plan.replace.update(trial.replace)
        plan.visit |= trial.visit
        plan.adapt |= trial.adapt
        plan.helpers |= trial.helpers

    # --- keras.Sequential([...]), nn.Sequential(...) ---------------------------------------------
    def sequential_lists(self, module: cst.Module) -> None:
        analyser = self
        conventions = self.conventions

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
                if rule is None or rule.name != conventions.sequential or not node.args:
                    return
                if id(node) in analyser.plan.chains:
                    return  # applied as one layer in a native run
                fn = next((n for n in reversed(self.stack) if isinstance(n, cst.FunctionDef)), None)
                if fn is not None and analyser.grown_sequential(node, fn):
                    analyser.plan.visit |= {id(n) for n in self.stack if isinstance(n, cst.BaseStatement)}
                    return
                if conventions.sequential_args:  # nn.Sequential(conv, bn, relu)
                    if any(a.keyword is not None or a.star for a in node.args):
                        return
                    container: cst.CSTNode = node
                    values: list[cst.BaseExpression | None] = [a.value for a in node.args]
                else:  # keras.Sequential([conv, bn, relu])
                    first = node.args[0]
                    if first.keyword is not None and first.keyword.value != "layers":
                        return
                    if not isinstance(first.value, cst.List):
                        return
                    container = first.value
                    values = [None if isinstance(e, cst.StarredElement) else e.value for e in first.value.elements]
                if analyser._sequential(container, values):
                    analyser.plan.visit |= {id(n) for n in self.stack if isinstance(n, cst.BaseStatement)}

        module.visit(Finder())

    def grown_sequential(self, call: cst.Call, fn: cst.FunctionDef) -> bool:
        """``nn.Sequential(*layers)`` of a list that ``fn`` grows (``layers += [conv, bn, relu]``,
        ``layers.append(pool)``, torchvision's ``make_layers``) with spatial layers of one rank
        and elementwise ones only, used for nothing else: the whole container runs in the native
        layout, a conversion layer first and last."""
        if not self.conventions.sequential_args or len(call.args) != 1 or call.args[0].star != "*":
            return False
        if not isinstance(call.args[0].value, cst.Name):
            return False
        elements = _grown_list(fn, call)
        if not elements:
            return False
        assigned = _single_assignments(fn)
        uses = _name_counts(fn.body)
        layers = []
        for element in elements:
            value: cst.BaseExpression | None = element
            if isinstance(element, cst.Name):  # conv2d = nn.Conv2d(...); layers += [conv2d, ...]: only there
                listed = sum(1 for e in elements if isinstance(e, cst.Name) and e.value == element.value)
                value = assigned.get(element.value) if uses.get(element.value) == listed + 1 else None
            layer = self.layer_of(value, ("node", id(value))) if value is not None else None
            if layer is None or layer.identity in self.forced or layer.kind not in ("spatial", "elementwise"):
                return False
            layers.append(layer)
        spatial = [p for p in layers if p.kind == "spatial"]
        ranks = {p.rank for p in spatial if p.rank is not None}
        if len(ranks) != 1 or not all(p.rank is not None or self.any_rank(p) for p in spatial):
            return False
        if not all(self.native_capable(p) for p in spatial):
            return False
        rank = ranks.pop()
        for layer in spatial:
            self.native(layer, self.plan)
        inserts = [(0, self.conventions.to_native_layer(rank)), (1, self.conventions.to_source_layer(rank))]
        self.plan.list_inserts[id(call)] = inserts
        self.plan.helpers |= {code.split("(")[0] for _, code in inserts if code.split("(")[0].isidentifier()}
        self.plan.visit |= {id(fn)} | _statement_ids(fn)
        return True

    def _sequential(self, container: cst.CSTNode, values: list[cst.BaseExpression | None]) -> bool:
        """The layers of one container, in order: a conversion layer is inserted where a run of
        spatial layers starts and where it ends."""
        conventions = self.conventions
        inserts: list[tuple[int, str]] = []
        state: int | None = None
        changed = False
        for index, value in enumerate(values):
            rule = self.rule_of(value) if value is not None else None
            if rule is not None and rule.name in conventions.inputs:
                continue
            layer = self.layer_of(value, ("node", id(value))) if value is not None else None
            kind = layer.kind if layer is not None and layer.identity not in self.forced else None
            rank = layer.rank if layer is not None else None
            if rank is None and layer is not None and self.any_rank(layer):
                rank = state  # nn.Upsample: in the rank of the run it is in, else PyTorch's order
            if (
                layer is not None
                and kind in ("spatial", "spatial_to_flat")
                and rank is not None
                and self.native_capable(layer)
            ):
                if state is None:
                    inserts.append((index, conventions.to_native_layer(rank)))
                self.native(layer, self.plan)
                state = None if kind == "spatial_to_flat" else rank
                changed = True
            elif kind == "elementwise":
                continue
            elif layer is not None and kind == "axis" and state is not None:
                new = _remap_axis_argument(layer, state, conventions)
                if new is not None:
                    self.plan.axis[id(value)] = new
                    continue
                inserts.append((index, conventions.to_source_layer(state)))
                state = None
            elif state is not None:
                inserts.append((index, conventions.to_source_layer(state)))
                state = None
        if state is not None:
            inserts.append((len(values), conventions.to_source_layer(state)))
        if changed:
            self.plan.list_inserts[id(container)] = inserts
            self.plan.helpers |= {code.split("(")[0] for _, code in inserts if code.split("(")[0].isidentifier()}
        return changed


class _Function:
    """One pass over a function body for a given set of forced layers."""

    def __init__(
        self,
        analyser: _Analyser,
        plan: Plan,
        attrs: dict[str, _Layer],
        returns: int | None = None,
        constants: dict[str, object] | None = None,
        keep: bool = False,
    ):
        self.a, self.plan, self.attrs = analyser, plan, attrs
        self.returns = returns  # the layout this function's results must have
        self.keep = keep  # results as computed (settle_returns), not ``returns``
        # keep: return value id -> (value, its layout); a loop body's last analysis is the one kept
        self.returned: dict[int, tuple[cst.BaseExpression, int | None]] = {}
        self.pinned: set[str] = set()  # variables never rebound (the model's inputs: keras.Input)
        self.constants = constants if constants is not None else {}
        self.stmt: cst.BaseStatement | None = None
        self.names_in_stmt: dict[str, int] = {}
        # native maps whose spatial axes all have size 1 (an adaptive pool to 1): flattening one
        # gives the same elements in both orders. Expressions by id; variables in straight-line code
        self.unit_nodes: set[int] = set()
        self.units: set[str] = set()

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
                self.track_units(small)
            return state
        self.units.clear()  # a block may rebind anything: unit maps are followed in straight-line code only
        state = self.compound(stmt, state)
        self.units.clear()
        return state

    def compound(self, stmt: cst.BaseStatement, state: dict[str, int]) -> dict[str, int]:
        if isinstance(stmt, cst.If):
            self.names_in_stmt = _name_counts(stmt.test)
            return self.if_(stmt, state)
        if isinstance(stmt, cst.FunctionDef):  # a nested function: its own analysis, Keras' order
            state = self.to_source_all(stmt, state)
            inner = _Function(
                self.a, self.plan, {}, constants=_constants(_statements(stmt.body), self.a, dict(self.constants))
            )
            inner.setup(stmt.body).block(stmt.body, {})
            self.stmt = stmt
            return state
        if isinstance(stmt, cst.ClassDef):
            return self.to_source_all(stmt, state)
        if isinstance(stmt, (cst.For, cst.While)) and stmt.orelse is None:
            return self.loop(stmt, state)
        # with, try: Keras' order on entry and at the end of every block
        state = self.to_source_all(stmt, state)
        for suite in _suites(stmt):
            end = self.block(suite, {})
            self.close_block(suite, end)
        return state

    def loop(self, stmt, state: dict[str, int]) -> dict[str, int]:
        """A loop body may keep a variable channels first from one iteration to the next when it
        ends with the layout it started with (``for f in filters: x = block(x, f)``)."""
        header = stmt.iter if isinstance(stmt, cst.For) else stmt.test
        self.names_in_stmt = _name_counts(header)
        self.consume(header, state)
        live = self.live_after(stmt)
        entry = {v: r for v, r in state.items() if v in live}
        if isinstance(stmt, cst.For):
            entry = _without(entry, _bound(stmt.target))
        entry, end = self.stable_entry(stmt, entry)
        for var in state:
            if var in live and var not in entry:
                self.plan.before.setdefault(id(stmt), []).append((var, TO_SOURCE))
        self.close_block(stmt.body, {v: r for v, r in end.items() if entry.get(v) != r})
        return dict(entry)

    def stable_entry(self, stmt, entry: dict[str, int], once: bool = False) -> tuple[dict[str, int], dict[str, int]]:
        """Analyse ``stmt``'s body from ``entry``; while the body ends with a variable in another
        layout than it started with, drop that variable from the entry (it comes in in Keras'
        order) and analyse again (at most 4 times; ``once``: no second pass). Only the last
        analysis goes into the plan. Returns (the entry that holds, the layouts at the end)."""
        saved = (set(self.a.forced), {k: set(v) for k, v in self.a.modes.items()})
        for _ in range(4):
            self.a.forced, self.a.modes = set(saved[0]), {k: set(v) for k, v in saved[1].items()}
            scratch, real = Plan(), self.plan
            self.plan = scratch
            end = self.block(stmt.body, dict(entry))
            self.plan = real
            changed = {v for v, r in entry.items() if end.get(v) != r}
            if once or not changed:
                break
            entry = {v: r for v, r in entry.items() if v not in changed}
        self.a._merge_into(self.plan, scratch)
        self.stmt = stmt
        return entry, end

    def if_(self, stmt: cst.If, state: dict[str, int]) -> dict[str, int]:
        self.consume(stmt.test, state)
        state = dict(state)
        orelse = stmt.orelse
        if orelse is None:
            return self.if_without_else(stmt, state)
        body_state = self.block(stmt.body, dict(state))
        inner = orelse.body if isinstance(orelse, cst.Else) else None
        if isinstance(orelse, cst.If):  # elif: analyse as a nested if in the else branch
            self.stmt = orelse
            self.names_in_stmt = _name_counts(orelse)
            else_state = self.if_(orelse, dict(state))
            self.close_block_vars(orelse, body_state, else_state, stmt, after_elif=True)
            return _join(body_state, else_state)
        else_state = self.block(inner, dict(state))
        suites = [(stmt.body, body_state), (inner, else_state)]
        # a branch that returns (or raises) never reaches the join: the other one decides
        body_ends = _ends_flow_block(stmt.body)
        else_ends = _ends_flow_block(orelse.body)
        if body_ends and not else_ends:
            joined = else_state
        elif else_ends and not body_ends:
            joined = body_state
        else:
            joined = _join(body_state, else_state)
        for suite, end in suites:
            self.close_block(suite, {v: r for v, r in end.items() if joined.get(v) != r})
        return joined

    def if_without_else(self, stmt: cst.If, state: dict[str, int]) -> dict[str, int]:
        """An ``if`` whose body changes a variable's layout: the fall-through path must agree, so
        the variable goes back to Keras' order before the ``if``, and the body is analysed
        again with it in that order (as loop bodies are), until the entry layouts hold."""
        ends = _ends_flow_block(stmt.body)
        entry, body_state = self.stable_entry(stmt, dict(state), once=ends)
        joined = dict(state) if ends else _join(body_state, entry)  # a body that returns never joins
        self.close_block(stmt.body, {v: r for v, r in body_state.items() if joined.get(v) != r})
        for var in state:
            if var not in entry:
                self.plan.before.setdefault(id(stmt), []).append((var, TO_SOURCE))
        return joined

    def close_block_vars(self, orelse, body_state, else_state, stmt, after_elif=False) -> None:
        joined = _join(body_state, else_state)
        self.close_block(stmt.body, {v: r for v, r in body_state.items() if joined.get(v) != r})
        differing = {v: r for v, r in else_state.items() if joined.get(v) != r}
        for var in differing:
            self.plan.after.setdefault(id(orelse), []).append((var, TO_SOURCE))

    def close_block(self, suite, end: dict[str, int]) -> None:
        """Variables still channels first at the end of a block go back to Keras' order."""
        body = list(_statements(suite))
        if not end or not body:
            return
        last = body[-1]
        if _ends_flow(last):
            return
        for var in end:
            self.plan.after.setdefault(id(last), []).append((var, TO_SOURCE))

    def to_source_all(self, stmt, state: dict[str, int]) -> dict[str, int]:
        live = self.live_after(stmt)
        for var in state:
            if var in live:
                self.plan.before.setdefault(id(stmt), []).append((var, TO_SOURCE))
        return {}

    # --- liveness: a variable nobody reads again is never converted --------------------------------------
    def setup(self, body) -> _Function:
        order: list[cst.BaseStatement] = []

        def walk(stmts):
            for stmt in stmts:
                order.append(stmt)
                if isinstance(stmt, cst.If):
                    walk(_statements(stmt.body))
                    if stmt.orelse is not None:
                        walk(_statements(stmt.orelse.body) if isinstance(stmt.orelse, cst.Else) else [stmt.orelse])
                elif not isinstance(stmt, (cst.SimpleStatementLine, cst.FunctionDef, cst.ClassDef)):
                    for suite in _suites(stmt):
                        walk(_statements(suite))

        walk(_statements(body))
        suffix: list[set[str]] = [set()] * (len(order) + 1)
        for i in range(len(order) - 1, -1, -1):
            suffix[i] = suffix[i + 1] | set(_name_counts(_header(order[i])))
        self.position = {id(stmt): i for i, stmt in enumerate(order)}
        self.suffix = suffix
        return self

    def live_after(self, stmt) -> set[str]:
        """Names read by ``stmt`` or any statement after it (in source order: an over-estimate)."""
        position = getattr(self, "position", {}).get(id(stmt))
        if position is None:
            return set(_name_counts(stmt))
        return self.suffix[position]

    def small(self, small: cst.BaseSmallStatement, state: dict[str, int]) -> dict[str, int]:
        if isinstance(small, cst.Assign):
            value_layout = self.ev(small.value, state)
            targets = [t.target for t in small.targets]
            rule = self.a.rule_of(small.value)
            if rule is not None and rule.name in self.a.conventions.inputs:
                self.pinned.update(n for t in targets for n in _bound(t))  # the model's inputs themselves
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
        if isinstance(small, cst.Return) and small.value is not None and self.keep:
            self.returned[id(small.value)] = (small.value, self.ev(small.value, state))
            return state
        if isinstance(small, cst.Return) and small.value is not None:
            layout = self.ev(small.value, state)
            if not self.want(small.value, self.returns, layout, state):
                self.plan.wrap[id(small.value)] = TO_NATIVE if self.returns is not None else TO_SOURCE
            return state
        if isinstance(small, cst.Expr):
            self.ev(small.value, state)
            return state
        return self.consume(small, state)

    def settle_returns(self) -> None:
        """Kept results: native ones stay so when every result is native of one rank; otherwise
        every native one goes back to the source's order (an interface has one layout)."""
        layouts = {layout for _, layout in self.returned.values()}
        if len(layouts) == 1 and None not in layouts:
            self.plan.native_returns = True
            return
        for value, layout in self.returned.values():
            if layout is not None:
                self.plan.wrap[id(value)] = TO_SOURCE

    def track_units(self, small: cst.BaseSmallStatement) -> None:
        """A variable assigned a unit map is one until it is bound again."""
        if isinstance(small, cst.Assign):
            names = [n for t in small.targets for n in _bound(t.target)]
            unit = len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name)
            unit = unit and id(small.value) in self.unit_nodes
            self.units.difference_update(names)
            if unit:
                self.units.update(names)
        elif isinstance(small, (cst.AugAssign, cst.AnnAssign)):
            self.units.difference_update(_bound(small.target))

    # --- expressions --------------------------------------------------------------------------------
    def ev(self, node: cst.BaseExpression, state: dict[str, int]):
        """The layout of ``node``'s value; records what its parts need."""
        if self.shape_index(node, state):
            return None
        if isinstance(node, cst.Name):
            return state.get(node.value)
        if isinstance(node, cst.Call):
            layer = self.layer_applied(node)
            if layer is not None:
                return self.apply_layer(layer, node, state)
            contract = self.contract_of(node)
            if contract is not None:
                first, *rest = node.args
                for arg in rest:
                    self.want(arg.value, None, self.ev(arg.value, state), state)
                self.want(first.value, contract, self.ev(first.value, state), state)
                return contract
            function = self.a.rule_of(node)
            if function is not None and function.layout in ("elementwise", "axis", "merge") and _tensor_first(node):
                return self.apply_function(function, node, state)
            if function is not None and function.layout == "spatial" and _tensor_first(node):
                return self.spatial_function(function, node, state)
            if function is not None and self.reduces(function) and _tensor_first(node):
                return self.reduce(function, node, None, state)
            method = self.method_rule(node)
            if method is not None and isinstance(node.func, cst.Attribute):
                return self.reduce(method, node, node.func.value, state)
            self.consume(node, state)
            return None
        if isinstance(node, cst.BinaryOperation) and isinstance(
            node.operator, (cst.Add, cst.Subtract, cst.Multiply, cst.Divide)
        ):
            left, right = self.ev(node.left, state), self.ev(node.right, state)
            if _is_scalar(node.left):
                return right
            if _is_scalar(node.right):
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

    def apply_function(self, rule: Rule, call: cst.Call, state: dict[str, int]):
        """A function of the source API whose rule says how it treats the channel axis:
        ``relu(x)`` keeps ``x``'s layout, ``softmax(x, dim=1)`` and ``cat([a, b], dim=1)`` keep it
        with the axis renumbered; other tensor arguments are wanted in the source's order."""
        first, rest = call.args[0].value, call.args[1:]
        if rule.layout == "merge" and isinstance(first, (cst.List, cst.Tuple)):
            layouts = [self.ev(e.value, state) for e in first.elements]
            uniform = layouts[0] if layouts and all(lay == layouts[0] for lay in layouts) else None
            axis_node = self._axis_node(rule, call) if uniform is not None else None
            if uniform is not None and not any(isinstance(e, cst.StarredElement) for e in first.elements):
                if self._renumber(rule, call, axis_node, uniform):
                    self._consume_args(rest, state, skip=axis_node)
                    return uniform
            for e, lay in zip(first.elements, layouts):
                self.want(e.value, None, lay, state)
            self._consume_args(rest, state)
            return None
        layout = self.ev(first, state)
        if rule.layout == "elementwise" or layout is None:
            self._consume_args(rest, state)
            return layout
        axis_node = self._axis_node(rule, call)
        if self._renumber(rule, call, axis_node, layout):
            self._consume_args(rest, state, skip=axis_node)
            return layout
        self.want(first, None, layout, state)
        self._consume_args(rest, state)
        return None

    def spatial_function(self, rule: Rule, call: cst.Call, state: dict[str, int]):
        """A spatial function (``F.adaptive_avg_pool2d(x, 1)``, ``F.interpolate(x, ...)``) on a
        native tensor runs in the native layout (its rule's translation has a native form); on
        one in the source's order it stays as written (no move is added for it)."""
        layer = _Layer(rule, call, ("node", id(call)))
        source = call.args[0].value
        current = self.ev(source, state)
        rank = layer.rank if layer.rank is not None else (current if self.a.any_rank(layer) else None)
        if current is not None and current == rank and self.a.native_capable(layer):
            self._consume_args(call.args[1:], state)
            self.a.native(layer, self.plan)
            if _pools_to_one(layer, self.constants):
                self.unit_nodes.add(id(call))
            return rank
        self.want(source, None, current, state)
        self._consume_args(call.args[1:], state)
        return None

    # --- reductions and flattening: x.mean((2, 3)), torch.amax(x, dim=1), torch.flatten(x, 1) ------
    def reduces(self, rule: Rule) -> bool:
        return rule.layout == "reduce" or (bool(self.a.conventions.flatten) and rule.name == self.a.conventions.flatten)

    def method_rule(self, call: cst.Call) -> Rule | None:
        """The rule of a reduction written as a method (``x.mean(...)``, ``x.flatten(1)``)."""
        if not isinstance(call.func, cst.Attribute) or self.a.rule_of(call) is not None:
            return None
        rule = self.a.ctx.rules.methods.get(call.func.attr.value)
        return rule if rule is not None and rule.signature is not None and self.reduces(rule) else None

    def reduce(self, rule: Rule, call: cst.Call, receiver: cst.BaseExpression | None, state: dict[str, int]):
        """A reduction of a native tensor keeps it native with its axis renumbered (the reduced
        axes gone unless kept); the flatten of a unit map gives PyTorch's (N, C) as it is.
        Otherwise (an axis not static, the batch axis reduced) the tensor goes back first."""
        first = receiver if receiver is not None else call.args[0].value
        rest = call.args if receiver is not None else call.args[1:]
        layout = self.ev(first, state)
        unit = id(first) in self.unit_nodes or (isinstance(first, cst.Name) and first.value in self.units)
        result: object = False
        if layout is not None and rule.signature is not None:
            try:
                bound = bind(rule.signature, call.args, receiver)
            except BindError:
                bound = None
            if bound is not None and rule.name == self.a.conventions.flatten:
                result = None if unit and self._flattens_unit(bound, layout) else False
            elif bound is not None:
                result = self._reduction(bound, layout, call)
        if result is not False:
            self._consume_args(rest, state)
            return result
        self.want(first, None, layout, state)
        self._consume_args(rest, state)
        return None

    def _bound_static(self, bound, name: str, default):
        arg = bound.get(name)
        return _static(arg.node, self.a, self.constants) if arg is not None and arg.given else default

    def _flattens_unit(self, bound, rank: int) -> bool:
        """``flatten(x, 1)`` of an (N, C, 1, 1) map: (N, C) in both orders."""
        start, end = self._bound_static(bound, "start_dim", 0), self._bound_static(bound, "end_dim", -1)
        return start == 1 and end in (-1, rank - 1)

    def _reduction(self, bound, rank: int, call: cst.Call):
        """The layout of a reduction's result (False: not provable), its axes renumbered."""
        keep = self._bound_static(bound, self.a.conventions.keep_param, False)
        arg = bound.get(self.a.conventions.axis_param)
        if not isinstance(keep, bool):
            return False
        if arg is None or not arg.given:
            return None  # every axis: a scalar, or all ones, the same in both orders
        value = _static(arg.node, self.a, self.constants)
        axes = (value,) if isinstance(value, int) else value
        if not isinstance(axes, (tuple, list)) or not axes:
            return False
        if not all(isinstance(a, int) and not isinstance(a, bool) and -rank <= a < rank for a in axes):
            return False
        reduced = {a % rank for a in axes}
        if len(reduced) != len(axes) or 0 in reduced:
            return False  # the batch axis: the remaining axes would not be in either order
        native = [self.a.conventions.native_axis(a, rank) for a in axes]
        self.plan.replace[id(arg.node)] = repr(native[0] if isinstance(value, int) else type(value)(native))
        if keep:
            if 1 not in reduced and reduced >= set(range(2, rank)):
                self.unit_nodes.add(id(call))
            return rank
        if 1 in reduced or rank - len(reduced) <= 2:
            return None  # no channel axis left, or (N, C): the same in both orders
        return rank - len(reduced)

    def _axis_node(self, rule: Rule, call: cst.Call) -> cst.BaseExpression | None:
        if rule.signature is None:
            return None
        try:
            bound = bind(rule.signature, call.args, None)
        except BindError:
            return None
        arg = bound.get(self.a.conventions.axis_param)
        return arg.node if arg is not None and arg.given else None

    def _renumber(self, rule: Rule, call: cst.Call, node: cst.BaseExpression | None, rank: int) -> bool:
        """Record the axis argument's new number; False when it is not a static integer. A merge
        without an axis argument joins on the batch axis, the same in both layouts."""
        if node is None:
            return rule.layout == "merge" and self._axis_default_is_batch(rule)
        value = _static(node, self.a, self.constants)
        if not isinstance(value, int) or isinstance(value, bool) or not -rank <= value < rank:
            return False
        self.plan.replace[id(node)] = repr(self.a.conventions.native_axis(value, rank))
        return True

    def _axis_default_is_batch(self, rule: Rule) -> bool:
        signature = rule.signature
        name = self.a.conventions.axis_param
        if signature is None or name not in signature.names:
            return False
        return any(p.name == name and p.default == 0 for p in signature.params)

    def _consume_args(self, args, state: dict[str, int], skip: cst.BaseExpression | None = None) -> None:
        for arg in args:
            if arg.value is not skip:
                self.want(arg.value, None, self.ev(arg.value, state), state)

    def size_call(self, node: cst.CSTNode, state: dict[str, int]) -> bool:
        """``x.size(k)`` of a native ``x`` with a static ``k``: renumber ``k`` (PyTorch)."""
        if not (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "size"
            and isinstance(node.func.value, cst.Name)
            and len(node.args) == 1
            and node.args[0].keyword is None
            and not node.args[0].star
        ):
            return False
        rank = state.get(node.func.value.value)
        index = node.args[0].value
        value = _static(index, self.a, self.constants)
        if rank is None or not isinstance(value, int) or isinstance(value, bool) or not -rank <= value < rank:
            return False
        self.plan.replace[id(index)] = repr(self.a.conventions.native_axis(value, rank))
        return True

    def shape_index(self, node: cst.CSTNode, state: dict[str, int]) -> bool:
        """``x.shape[k]`` of a native ``x`` with a static ``k``: renumber ``k`` instead of
        moving ``x`` (``if x.shape[bn_axis] != filters:``)."""
        if self.size_call(node, state):
            return True
        if not (
            isinstance(node, cst.Subscript)
            and isinstance(node.value, cst.Attribute)
            and node.value.attr.value == "shape"
            and isinstance(node.value.value, cst.Name)
            and len(node.slice) == 1
            and isinstance(node.slice[0].slice, cst.Index)
        ):
            return False
        rank = state.get(node.value.value.value)
        index = node.slice[0].slice.value
        value = _static(index, self.a, self.constants)
        if rank is None or not isinstance(value, int) or isinstance(value, bool) or not -rank <= value < rank:
            return False
        self.plan.replace[id(index)] = repr(self.a.conventions.native_axis(value, rank))
        return True

    def consume(self, node: cst.CSTNode, state: dict[str, int]) -> dict[str, int]:
        """An expression the analysis does not model: every channels-first value in it goes back
        to Keras' order; layers applied inside are still analysed."""
        for child in _children(node):
            if self.shape_index(child, state):
                continue
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

    def contract_of(self, call: cst.Call) -> int | None:
        """The rank a helper with a channels-first contract takes and returns, when called."""
        if (
            isinstance(call.func, cst.Name)
            and call.func.value in self.a.contracts
            and call.args
            and call.args[0].keyword is None
            and not call.args[0].star
        ):
            return self.a.contracts[call.func.value]
        return None

    def layer_applied(self, call: cst.Call) -> _Layer | None:
        func = call.func
        if (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.value.value == "self"
            and func.attr.value in self.attrs
        ):
            return self.attrs[func.attr.value]
        if isinstance(func, cst.Call):
            rule = self.a.rule_of(func)
            if rule is not None and rule.layout:
                return _Layer(rule, func, ("node", id(func)))
        return None

    def apply_layer(self, layer: _Layer, call: cst.Call, state: dict[str, int]):
        if isinstance(layer, _Block):  # its first argument native (layout_blocks checked there is one)
            first, *rest = call.args
            for arg in rest:
                self.want(arg.value, None, self.ev(arg.value, state), state)
            self.want(first.value, layer.contract, self.ev(first.value, state), state)
            return layer.contract
        if layer.identity[0] == "node":  # `layers.Conv2D(int(x.shape[3] * r), 1)(x)`: its arguments read too
            self.consume(layer.ctor, state)
        args = [a for a in call.args if a.keyword is None and not a.star]
        extra = [a.value for a in call.args if a not in args[:1]]
        for value in extra:
            self.want(value, None, self.ev(value, state), state)
        if not args:
            return None
        source = args[0].value
        kind = layer.kind
        forced = layer.identity in self.a.forced
        native = not forced and self.a.native_capable(layer)
        if kind in ("spatial", "spatial_to_flat") and native and (layer.rank is not None or self.a.any_rank(layer)):
            current = self.ev(source, state)
            rank = layer.rank if layer.rank is not None else current  # an any-rank layer follows its input
            if rank is None or not self.want(source, rank, current, state):
                self.a.forced.add(layer.identity)
                self.want(source, None, current, state)
                return None
            self.a.mark_native(layer, self.plan)
            if kind == "spatial" and _pools_to_one(layer, self.constants):
                self.unit_nodes.add(id(call))
            return rank if kind == "spatial" else None
        if kind == "elementwise":
            return self.ev(source, state)
        if kind == "axis":
            layout = self.ev(source, state)
            self.a.modes.setdefault(layer.identity, set()).add(None if forced else layout)
            if layout is None or forced:
                self.want(source, None, layout, state)
                return None
            new = _remap_axis_argument(layer, layout, self.a.conventions, self.constants)
            if new is None or self.plan.axis.get(id(layer.ctor), new) != new:
                self.a.forced.add(layer.identity)
                self.want(source, None, layout, state)
                return None
            self.plan.axis[id(layer.ctor)] = new
            return layout
        if kind == "merge" and isinstance(source, (cst.List, cst.Tuple)):
            layouts = [self.ev(e.value, state) for e in source.elements]
            if _has_param(layer, self.a.conventions.axis_param):
                uniform = layouts[0] if layouts and all(lay == layouts[0] for lay in layouts) else None
                self.a.modes.setdefault(layer.identity, set()).add(None if forced else uniform)
            if layouts and not forced and layouts[0] is not None and all(lay == layouts[0] for lay in layouts):
                if _has_param(layer, self.a.conventions.axis_param):
                    new = _remap_axis_argument(layer, layouts[0], self.a.conventions, self.constants)
                    if new is None or self.plan.axis.get(id(layer.ctor), new) != new:
                        self.a.forced.add(layer.identity)
                    else:
                        self.plan.axis[id(layer.ctor)] = new
                        return layouts[0]
                else:
                    return layouts[0]
            elif (
                layouts and any(lay is not None for lay in layouts) and _has_param(layer, self.a.conventions.axis_param)
            ):
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
        direction = TO_SOURCE if layout is None else TO_NATIVE
        if (
            isinstance(node, cst.Name)
            and self.names_in_stmt.get(node.value, 0) == 1
            and node.value not in self.pinned
            and isinstance(self.stmt, (cst.SimpleStatementLine, cst.If))
        ):
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
        self.plan.before.setdefault(id(self.stmt), []).append((var, TO_SOURCE if layout is None else TO_NATIVE))
        state = dict(state)
        state.pop(var, None)
        return state


# --- helpers ------------------------------------------------------------------------------------
def _remap_axis_argument(layer: _Layer, rank: int, conventions: LayoutConventions, constants: dict | None = None):
    """(position, new value) of the ``axis`` argument on a channels-first tensor of ``rank``,
    or None when the axis is not known statically (a literal, or a name with one static value:
    ``bn_axis = 3 if backend.image_data_format() == "channels_last" else 1``)."""
    signature = layer.rule.signature
    axis = conventions.axis_param
    if signature is None or axis not in signature.names:
        return None
    try:
        bound = bind(signature, layer.ctor.args, None)
    except BindError:
        return None
    arg = bound.get(axis)
    value = literal_value(arg.node) if arg is not None else UNKNOWN
    if value is UNKNOWN and arg is not None and isinstance(arg.node, cst.Name) and constants:
        value = constants.get(arg.node.value, UNKNOWN)
    if value is UNKNOWN:
        return None
    position = signature.names.index(axis)
    if isinstance(value, int) and not isinstance(value, bool):
        return position, conventions.native_axis(value, rank)
    if isinstance(value, (tuple, list)) and all(isinstance(v, int) for v in value):
        return position, type(value)(conventions.native_axis(v, rank) for v in value)
    return None


def _pools_to_one(layer: _Layer, constants: dict) -> bool:
    """An adaptive pooling to size 1 on every spatial axis (``nn.AdaptiveAvgPool2d((1, 1))``)."""
    signature = layer.rule.signature
    if isinstance(layer, _Compound) or signature is None or "output_size" not in signature.names:
        return False
    try:
        arg = bind(signature, layer.ctor.args, None).get("output_size")
    except BindError:
        return False
    value = literal_value(arg.node) if arg is not None and arg.given else UNKNOWN
    if value is UNKNOWN and arg is not None and isinstance(arg.node, cst.Name):
        value = constants.get(arg.node.value, UNKNOWN)
    return value == 1 or (isinstance(value, (tuple, list)) and bool(value) and all(v == 1 for v in value))


def _cost(plan: Plan) -> int:
    """The moves a plan makes (statements and expressions)."""
    return sum(len(v) for v in plan.before.values()) + sum(len(v) for v in plan.after.values()) + len(plan.wrap)


def _is_scalar(node: cst.BaseExpression) -> bool:
    """A Python number: a literal, ``x.size(k)``, ``x.shape[k]``, ``int(...)``, ``len(...)``."""
    if _is_number(node):
        return True
    if isinstance(node, cst.Call):
        func = node.func
        if isinstance(func, cst.Name) and func.value in ("int", "float", "len"):
            return True
        return isinstance(func, cst.Attribute) and func.attr.value == "size" and len(node.args) == 1
    return (
        isinstance(node, cst.Subscript)
        and isinstance(node.value, cst.Attribute)
        and node.value.attr.value == "shape"
        and len(node.slice) == 1
        and isinstance(node.slice[0].slice, cst.Index)
    )


def _tensor_first(call: cst.Call) -> bool:
    return bool(call.args) and call.args[0].keyword is None and not call.args[0].star


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
        isinstance(node, cst.UnaryOperation) and isinstance(node.expression, (cst.Integer, cst.Float))
    )


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


def _ends_flow_block(suite) -> bool:
    body = _statements(suite)
    return bool(body) and _ends_flow(body[-1])


def _ends_flow(stmt: cst.BaseStatement) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and any(
        isinstance(s, (cst.Return, cst.Raise, cst.Continue, cst.Break)) for s in stmt.body
    )


def _children(node: cst.CSTNode):
    for child in node.children:
        if isinstance(child, cst.BaseExpression):
            yield child
        elif isinstance(
            child,
            (
                cst.Arg,
                cst.Element,
                cst.StarredElement,
                cst.DictElement,
                cst.Index,
                cst.SubscriptElement,
                cst.Slice,
                cst.ComparisonTarget,
                cst.FormattedStringExpression,
                cst.BaseSmallStatement,
            ),
        ):
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
    if (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Assign)
        and all(isinstance(t.target, cst.Name) for t in stmt.body[0].targets)
    ):
        stmt = stmt.body[0].value
    counts: dict[str, int] = {}
    for name in _names(stmt):
        counts[name.value] = counts.get(name.value, 0) + 1
    return counts


def _init_layers(init: cst.FunctionDef) -> dict[str, list[cst.BaseExpression]]:
    """``self.X = value`` in ``__init__``, at any depth of its blocks: each attribute's values
    other than ``None`` (``self.downsample = None`` then, under an ``if``,
    ``self.downsample = nn.Sequential(...)``)."""
    values: dict[str, list[cst.BaseExpression]] = {}

    def visit(stmts) -> None:
        for stmt in stmts:
            target, value = self_assignment(stmt)
            if target is not None and value is not None:
                if not (isinstance(value, cst.Name) and value.value == "None"):
                    values.setdefault(target, []).append(value)
            elif not isinstance(stmt, (cst.SimpleStatementLine, cst.FunctionDef, cst.ClassDef)):
                for suite in _suites(stmt):
                    visit(_statements(suite))
                if isinstance(stmt, cst.If) and isinstance(stmt.orelse, cst.If):
                    visit([stmt.orelse])

    visit(_statements(init.body))
    return values


def _methods_called_from(methods: dict[str, cst.FunctionDef], entry: cst.FunctionDef) -> list[cst.FunctionDef]:
    """``entry`` and the methods it calls as ``self.name(...)``, and those they call (never
    ``__init__``): the entry first."""
    found = [entry]
    for fn in found:
        for call in _calls(fn):
            func = call.func
            if (
                isinstance(func, cst.Attribute)
                and isinstance(func.value, cst.Name)
                and func.value.value == "self"
                and func.attr.value in methods
                and func.attr.value != "__init__"
                and methods[func.attr.value] not in found
            ):
                found.append(methods[func.attr.value])
    return found


def _attributes_not_called(cls: cst.ClassDef, entries: set[str], attrs: set[str]) -> set[str]:
    """Layer attributes referenced other than as ``self.X(...)`` inside the ``entries`` methods
    (and other than their assignment in ``__init__``)."""
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
            if self.fn and self.fn[-1] in entries:
                self.called.add(id(node.func))

        def visit_AssignTarget(self, node):
            self.called.add(id(node.target))

        def visit_Comparison(self, node):  # `if self.downsample is not None:` reads no data
            if all(isinstance(c.operator, (cst.Is, cst.IsNot)) for c in node.comparisons):
                self.called.add(id(node.left))

        def visit_Attribute(self, node):
            if (
                isinstance(node.value, cst.Name)
                and node.value.value == "self"
                and node.attr.value in attrs
                and id(node) not in self.called
            ):
                found.add(node.attr.value)

    cls.visit(V())
    return found


def _applied_oddly(cls: cst.ClassDef, attrs: set[str]) -> set[str]:
    """Attributes called as ``self.X(...)`` without a positional, unstarred first argument."""
    found: set[str] = set()

    class V(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            if (
                isinstance(func, cst.Attribute)
                and isinstance(func.value, cst.Name)
                and func.value.value == "self"
                and func.attr.value in attrs
                and not _tensor_first(node)
            ):
                found.add(func.attr.value)

    cls.visit(V())
    return found


# --- static values and helper functions ------------------------------------------------------------
_DATA_FORMAT_FUNCTIONS = frozenset({"keras.backend.image_data_format", "keras.config.image_data_format"})


def _static(node: cst.BaseExpression, analyser: _Analyser, constants: dict):
    """The value of a small constant expression, else UNKNOWN. Keras' image_data_format() is
    "channels_last", the default the translation assumes."""
    value = literal_value(node)
    if value is not UNKNOWN:
        return value
    if isinstance(node, cst.Name):
        return constants.get(node.value, UNKNOWN)
    if isinstance(node, cst.Call) and not node.args:
        qual = analyser.ctx.imports.resolve(node.func)
        return "channels_last" if qual in _DATA_FORMAT_FUNCTIONS else UNKNOWN
    if isinstance(node, cst.Comparison) and len(node.comparisons) == 1:
        left = _static(node.left, analyser, constants)
        right = _static(node.comparisons[0].comparator, analyser, constants)
        op = node.comparisons[0].operator
        if left is UNKNOWN or right is UNKNOWN:
            return UNKNOWN
        if isinstance(op, cst.Equal):
            return left == right
        if isinstance(op, cst.NotEqual):
            return left != right
        return UNKNOWN
    if isinstance(node, cst.IfExp):
        test = _static(node.test, analyser, constants)
        if test is UNKNOWN:
            return UNKNOWN
        return _static(node.body if test else node.orelse, analyser, constants)
    return UNKNOWN


def _constants(body, analyser: _Analyser, inherited: dict) -> dict:
    """Names a block assigns one static value (if-statements on a static test count their taken
    branch only); ``inherited`` (module constants) unless reassigned."""
    values: dict[str, set] = {}
    unknown: set[str] = set()
    constants = dict(inherited)

    def visit(stmts) -> None:
        for stmt in stmts:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.Assign):
                        for t in small.targets:
                            for name in _bound(t.target):
                                value = (
                                    _static(small.value, analyser, constants)
                                    if isinstance(t.target, cst.Name)
                                    else UNKNOWN
                                )
                                if value is UNKNOWN or isinstance(value, (list, dict, set)):
                                    unknown.add(name)
                                else:
                                    values.setdefault(name, set()).add(value)
                    elif isinstance(small, (cst.AugAssign, cst.AnnAssign)):
                        unknown.update(_bound(small.target))
            elif isinstance(stmt, cst.If):
                test = _static(stmt.test, analyser, constants)
                if test is UNKNOWN:
                    visit(_statements(stmt.body))
                    if stmt.orelse is not None:
                        visit(_statements(stmt.orelse.body) if isinstance(stmt.orelse, cst.Else) else [stmt.orelse])
                elif test:
                    visit(_statements(stmt.body))
                elif stmt.orelse is not None:
                    visit(_statements(stmt.orelse.body) if isinstance(stmt.orelse, cst.Else) else [stmt.orelse])
            elif isinstance(stmt, (cst.For, cst.While, cst.With, cst.Try)):
                if isinstance(stmt, cst.For):
                    unknown.update(_bound(stmt.target))
                for suite in _suites(stmt):
                    visit(_statements(suite))

    visit(list(body))
    for name in unknown:
        constants.pop(name, None)
    for name, found in values.items():
        if name not in unknown and len(found) == 1:
            constants[name] = next(iter(found))
        else:
            constants.pop(name, None)
    return constants


def _factories(module: cst.Module, analyser: _Analyser) -> dict[str, cst.Call]:
    """Module-level functions whose body only returns one layer constructor call (after an
    optional docstring), and whose every use in the file is a call that builds a layer
    attribute (``self.conv1 = conv3x3(...)``) or a container element: name -> that call."""
    found: dict[str, cst.Call] = {}
    for stmt in module.body:
        if not isinstance(stmt, cst.FunctionDef) or stmt.decorators:
            continue
        body = [s for s in _statements(stmt.body) if not _is_docstring(s)]
        if len(body) != 1 or not isinstance(body[0], cst.SimpleStatementLine) or len(body[0].body) != 1:
            continue
        ret = body[0].body[0]
        if isinstance(ret, cst.Return) and isinstance(ret.value, cst.Call):
            rule = analyser.rule_of(ret.value)
            if rule is not None and rule.layout:
                found[stmt.name.value] = ret.value
    if not found:
        return found
    allowed: set[int] = set()  # ids of the calls that are understood uses
    names: dict[str, int] = {}

    class Uses(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            target = node.targets[0].target if len(node.targets) == 1 else None
            if isinstance(target, cst.Attribute) and isinstance(node.value, cst.Call):
                allowed.add(id(node.value.func))

        def visit_Call(self, node: cst.Call) -> None:
            rule = analyser.rule_of(node)
            if rule is not None and rule.name == analyser.conventions.sequential:
                for arg in node.args:
                    if isinstance(arg.value, cst.Call):
                        allowed.add(id(arg.value.func))
                    if isinstance(arg.value, cst.List):
                        allowed.update(id(e.value.func) for e in arg.value.elements if isinstance(e.value, cst.Call))

        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            if node.name.value in found:
                allowed.add(id(node.name))

        def visit_Name(self, node: cst.Name) -> None:
            if node.value in found and id(node) not in allowed:
                names[node.value] = names.get(node.value, 0) + 1

    module.visit(Uses())
    return {name: call for name, call in found.items() if not names.get(name)}


def _layer_classes(module: cst.Module, analyser: _Analyser) -> dict[str, Rule]:
    """Variables (and ``self`` attributes) only ever given one layer class, or None: torchvision's
    ``norm_layer=None`` then ``if norm_layer is None: norm_layer = nn.BatchNorm2d``, passed on as
    ``self._norm_layer``. A caller may still pass another class: the layers built from it are
    adapted at run time (``LayoutConventions.adapter``), which refuses what it cannot adapt."""
    values: dict[str, list] = {}  # name or ".attr" -> rules, "none", "other", ("ref", name)

    def classify(node: cst.BaseExpression | None):
        if node is None:
            return "other"
        if isinstance(node, cst.Name) and node.value == "None":
            return "none"
        if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self":
            return ("ref", "." + node.attr.value)
        qual = analyser.ctx.imports.resolve(node) if isinstance(node, (cst.Name, cst.Attribute)) else None
        rule = analyser.ctx.rules.calls.get(qual) if qual is not None else None
        if rule is not None and rule.layout == "spatial":
            return rule
        if isinstance(node, cst.Name):
            return ("ref", node.value)
        return "other"

    def bind(key: str, value) -> None:
        values.setdefault(key, []).append(value)

    class V(cst.CSTVisitor):
        def visit_Param(self, node: cst.Param) -> None:
            bind(node.name.value, classify(node.default) if node.default is not None else "other")

        def visit_Assign(self, node: cst.Assign) -> None:
            for t in node.targets:
                target = t.target
                if isinstance(target, cst.Name):
                    bind(target.value, classify(node.value) if len(node.targets) == 1 else "other")
                elif isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
                    if target.value.value == "self":
                        bind("." + target.attr.value, classify(node.value))
                else:
                    for name in _bound(target):
                        bind(name, "other")

        def visit_AugAssign(self, node) -> None:
            for name in _bound(node.target):
                bind(name, "other")

        def visit_AnnAssign(self, node) -> None:
            if isinstance(node.target, cst.Name):
                bind(node.target.value, classify(node.value) if node.value is not None else "none")

        def visit_For(self, node) -> None:
            for name in _bound(node.target):
                bind(name, "other")

        def visit_AsName(self, node) -> None:
            for name in _bound(node.name) if isinstance(node.name, cst.BaseExpression) else ():
                bind(name, "other")

        def visit_CompFor(self, node) -> None:
            for name in _bound(node.target):
                bind(name, "other")

    module.visit(V())
    # the largest set of names that are consistent: each one's references are in it, with one rule
    found: dict[str, Rule | None] = {}
    for key, kinds in values.items():
        rules = {id(k): k for k in kinds if isinstance(k, Rule)}
        if "other" not in kinds and len(rules) <= 1:
            found[key] = next(iter(rules.values()), None)
    changed = True
    while changed:
        changed = False
        for key in list(found):
            for kind in values[key]:
                if not isinstance(kind, tuple):
                    continue
                if kind[1] not in found or (found[kind[1]] or found[key]) is not (found[key] or found[kind[1]]):
                    del found[key]
                    changed = True
                    break
                if found[key] is None and found[kind[1]] is not None:
                    found[key] = found[kind[1]]
                    changed = True
    return {k: v for k, v in found.items() if v is not None and not k.startswith(".")}


def _grown_list(fn: cst.FunctionDef, container: cst.Call) -> list[cst.BaseExpression] | None:
    """The elements ever put by ``fn`` in the list that ``container`` unpacks (``name = []`` once,
    then ``name += [...]``, ``name.append(x)``, ``name.extend([...])``), None when the list is
    used any other way."""
    name = container.args[0].value.value  # type: ignore[attr-defined]
    elements: list[cst.BaseExpression] = []
    allowed: set[int] = {id(container.args[0].value)}  # the Name nodes of the understood uses
    created = 0
    ok = True

    def items(value) -> list[cst.BaseExpression] | None:
        if not isinstance(value, cst.List) or any(isinstance(e, cst.StarredElement) for e in value.elements):
            return None
        return [e.value for e in value.elements]

    class V(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            nonlocal created, ok
            if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
                if node.targets[0].target.value == name:
                    found = items(node.value)
                    ok = ok and found is not None
                    elements.extend(found or [])
                    created += 1
                    allowed.add(id(node.targets[0].target))

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            nonlocal created, ok
            if isinstance(node.target, cst.Name) and node.target.value == name:
                found = items(node.value)
                ok = ok and found is not None
                elements.extend(found or [])
                created += 1
                allowed.add(id(node.target))

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            nonlocal ok
            if isinstance(node.target, cst.Name) and node.target.value == name:
                found = items(node.value) if isinstance(node.operator, cst.AddAssign) else None
                ok = ok and found is not None
                elements.extend(found or [])
                allowed.add(id(node.target))

        def visit_Call(self, node: cst.Call) -> None:
            nonlocal ok
            func = node.func
            if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == name:
                if func.attr.value == "append" and len(node.args) == 1 and not node.args[0].keyword:
                    if node.args[0].star:
                        ok = False
                    elements.append(node.args[0].value)
                elif func.attr.value == "extend" and len(node.args) == 1 and not node.args[0].keyword:
                    found = items(node.args[0].value)
                    ok = ok and found is not None
                    elements.extend(found or [])
                else:
                    ok = False
                allowed.add(id(func.value))

    fn.body.visit(V())
    others = [n for n in _names(fn.body) if n.value == name and id(n) not in allowed]
    params = {p.name.value for p in [*fn.params.posonly_params, *fn.params.params, *fn.params.kwonly_params]}
    if not ok or created != 1 or others or name in params or not elements:
        return None
    return elements


def _single_assignments(fn: cst.FunctionDef) -> dict[str, cst.BaseExpression]:
    """Names ``fn`` binds exactly once, by a plain ``name = value``: name -> value."""
    values: dict[str, list] = {}

    class V(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            for t in node.targets:
                for n in _bound(t.target):
                    values.setdefault(n, []).append(node.value if isinstance(t.target, cst.Name) else None)

        def visit_AugAssign(self, node) -> None:
            for n in _bound(node.target):
                values.setdefault(n, []).append(None)

        def visit_For(self, node) -> None:
            for n in _bound(node.target):
                values.setdefault(n, []).append(None)

    fn.body.visit(V())
    return {n: v[0] for n, v in values.items() if len(v) == 1 and v[0] is not None}


def _statement_ids(fn: cst.FunctionDef) -> set[int]:
    found: set[int] = set()

    class V(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            if isinstance(node, cst.BaseStatement):
                found.add(id(node))
            return True

    fn.body.visit(V())
    return found


def _enclosing(module: cst.Module, nodes: set[int]) -> set[int]:
    """The statements (and definitions) that contain any of ``nodes``."""
    found: set[int] = set()

    class V(cst.CSTVisitor):
        def __init__(self) -> None:
            super().__init__()
            self.stack: list[cst.CSTNode] = []

        def on_visit(self, node: cst.CSTNode) -> bool:
            self.stack.append(node)
            if id(node) in nodes:
                found.update(id(n) for n in self.stack if isinstance(n, cst.BaseStatement))
            return True

        def on_leave(self, original_node: cst.CSTNode) -> None:
            self.stack.pop()

    module.visit(V())
    return found


def _is_docstring(stmt: cst.BaseStatement) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _first_param(fn: cst.FunctionDef, skip: int = 0) -> str | None:
    params = [*fn.params.posonly_params, *fn.params.params][skip:]
    return params[0].name.value if params else None


def _only_called(module: cst.Module, names: set[str]) -> list[str]:
    """The functions among ``names`` that the module only ever calls with a positional first
    argument (never passes around as values: a contract must hold at every use)."""
    calls: dict[str, int] = {}
    other: set[str] = set()

    class V(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            if isinstance(node.func, cst.Name) and node.func.value in names:
                if node.args and node.args[0].keyword is None and not node.args[0].star:
                    calls[node.func.value] = calls.get(node.func.value, 0) + 1
                else:
                    other.add(node.func.value)

        def visit_Name(self, node: cst.Name) -> None:
            if node.value in names:
                calls[node.value] = calls.get(node.value, 0) - 1  # balanced by its call, if any

        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            calls[node.name.value] = calls.get(node.name.value, 0) + 1  # the def's own name

    module.visit(V())
    return sorted(n for n in names if n not in other and calls.get(n, 0) == 0 and _was_called(module, n))


def _was_called(module: cst.Module, name: str) -> bool:
    return f"{name}(" in module.code


def _header(stmt: cst.BaseStatement) -> cst.CSTNode:
    """What a statement itself reads, without its nested blocks."""
    if isinstance(stmt, cst.If):
        return stmt.test
    if isinstance(stmt, cst.For):
        return stmt.iter
    if isinstance(stmt, cst.While):
        return stmt.test
    if isinstance(stmt, cst.With):
        return cst.Tuple([cst.Element(i.item) for i in stmt.items]) if stmt.items else cst.Name("None")
    if isinstance(stmt, (cst.Try, cst.FunctionDef, cst.ClassDef)):
        return stmt if isinstance(stmt, cst.FunctionDef) else cst.Name("None")
    return stmt


def _parameter_constants(module: cst.Module, analyser: _Analyser) -> dict[str, dict[str, object]]:
    """Parameters of module-level functions that every call in the file gives the same static
    value (``residual_block(x, width, stride, bn_axis)`` with ``bn_axis = 3`` in the caller):
    function name -> {parameter: value}. Two rounds let the values pass through one helper."""
    functions = {s.name.value: s for s in module.body if isinstance(s, cst.FunctionDef)}
    found: dict[str, dict[str, object]] = {}
    for _ in range(2):
        sites: dict[str, list[dict[str, object]]] = {}
        for caller, fn in functions.items():
            inherited = {**analyser.constants, **found.get(caller, {})}
            constants = _constants(_statements(fn.body), analyser, inherited)
            for call in _calls(fn):
                if isinstance(call.func, cst.Name) and call.func.value in functions and call.func.value != caller:
                    bound = _bind_call(functions[call.func.value], call, analyser, constants)
                    if bound is not None:
                        sites.setdefault(call.func.value, []).append(bound)
        found = {}
        for name, calls in sites.items():
            params = calls[0].keys()
            agreed = {
                p: calls[0][p]
                for p in params
                if calls[0][p] is not UNKNOWN and all(c.get(p, UNKNOWN) == calls[0][p] for c in calls)
            }
            if agreed:
                found[name] = agreed
    return found


def _calls(fn: cst.FunctionDef) -> list[cst.Call]:
    calls: list[cst.Call] = []

    class V(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            calls.append(node)

    fn.body.visit(V())
    return calls


def _bind_call(fn: cst.FunctionDef, call: cst.Call, analyser: _Analyser, constants: dict):
    """{parameter: static value or UNKNOWN} of one call; None when it cannot be bound."""
    params = [*fn.params.posonly_params, *fn.params.params]
    out: dict[str, object] = {}
    positional = [a for a in call.args if a.keyword is None]
    if any(a.star for a in call.args):
        return None
    if len(positional) > len(params):
        return None
    for param, arg in zip(params, positional):
        out[param.name.value] = _static(arg.value, analyser, constants)
    keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
    for param in [*params, *fn.params.kwonly_params]:
        name = param.name.value
        if name in out:
            continue
        if name in keywords:
            out[name] = _static(keywords[name], analyser, constants)
        elif param.default is not None:
            out[name] = _static(param.default, analyser, {})
        else:
            out[name] = UNKNOWN
    return out
