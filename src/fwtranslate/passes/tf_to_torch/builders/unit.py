"""One class being made from a builder's statements (lift.py): what goes to ``__init__`` (the
configuration, the modules, the channel counts) and what to ``forward`` (the tensor work), with
helpers called on tensors turned into submodules and loops that build layers into blocks."""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from ....cstutil import code, expression
from ....imports import target_names
from .channels import PARAMETER_FREE, class_name, is_lazy, merged, module_out, sized
from .names import assigned, in_nested_scope, loads, reads, tensor_names, zip_parts

if TYPE_CHECKING:
    from .lift import Lifter
from .syntax import (
    assign,
    assign_to,
    call_name,
    call_of,
    cancel_moves,
    chain_writer,
    fix_commas,
    hoist_moves,
    line_of,
    module_class,
    module_hint,
    name_hint,
    params_of,
    prune_channels,
    qualified,
    rebuild_for,
    rebuild_if,
    target_of,
    tuple_or_name,
    unique,
    zip_of,
)

NAMED = "named"

# nn.Module's own attributes: a site or a stored parameter must not shadow them
RESERVED = frozenset(
    [
        "training",
        "forward",
        "parameters",
        "buffers",
        "children",
        "modules",
        "state_dict",
        "load_state_dict",
        "train",
        "eval",
        "to",
        "cuda",
        "cpu",
        "type",
        "float",
        "double",
        "half",
        "bfloat16",
        "apply",
        "zero_grad",
        "register_buffer",
        "register_parameter",
        "add_module",
        "get_submodule",
        "get_parameter",
        "named_parameters",
        "named_buffers",
        "named_children",
        "named_modules",
        "requires_grad_",
        "extra_repr",
        "self",
        "super",
        "dump_patches",
        "call_super_init",
        "compile",
        "share_memory",
    ]
)


class CannotLift(Exception):
    """The builder keeps the tracer: the message says why."""


class NeedsChannels(CannotLift):
    """A helper was lifted with its input's channel count as a parameter, and a later call
    cannot give it: the builder is lifted again with that helper left to Lazy modules."""

    def __init__(self, helper: str) -> None:
        super().__init__(f"{helper} needs its input's channel count, which is not known here")
        self.helper = helper


class Unit:
    """One class being made from a body of statements: what goes to ``__init__`` (config:
    the parameters, sizes, the modules) and what to ``forward`` (tensors)."""

    def __init__(
        self,
        lifter: Lifter,
        name: str,
        params: list[str],
        seeds: set[str],
        body: list,
        out: list,
        channels: dict[str, str] | None = None,
        layouts: dict[str, str] | None = None,
    ):
        self.lifter, self.name, self.params, self.body, self.out = lifter, name, params, body, out
        # what __init__ knows of each tensor: the variable holding its channel count, its layout
        # ("first": torch's channels-first, "last": Keras' channels-last, "flat": (N, C))
        self.channels: dict[str, str] = dict(channels or {})
        self.layouts: dict[str, str] = dict(layouts or {})
        self.site_ctor: dict[str, cst.BaseExpression] = {}
        self.site_out: dict[str, str | None] = {}
        self.tensors = tensor_names(body, seeds)
        self.config = set(params)  # names __init__ has
        self.assigned_config: dict[str, int] = dict.fromkeys(params, 1)
        self.forward_names = set(seeds)
        self.defined = set(params) | set(seeds)
        self.stored: list[str] = []
        self.attrs: set[str] = set(RESERVED)
        for stmt in body:
            self.attrs |= set(assigned(stmt))  # (names that may become stored attributes)
        self.attrs |= set(params) | set(seeds)
        self.names = set(self.attrs)
        self.lazy = False
        self.returns_allowed = False  # a helper may return early from forward
        self.returned: list = []  # the forward-side values it returns

    def run(self) -> tuple[list, list]:
        init, fwd = self.split(self.body)
        built = self.lifter.builds_modules(fwd)
        if built:
            raise CannotLift(f"forward would build {built} on every call")
        fwd = cancel_moves(fwd)
        unregistered = self._unregistered_calls(fwd)
        if unregistered:
            raise CannotLift(unregistered)
        clash = self.forward_names & (set(self.assigned_config) - set(self.params))
        if clash:
            raise CannotLift(f"{sorted(clash)[0]} holds both a tensor-side and a configuration value")
        for name in self.stored:
            if self.assigned_config.get(name, 0) > 1:
                raise CannotLift(f"forward reads {name}, which the builder assigns more than once")
        return init, fwd

    def channel_var(self, tensor: str) -> str:
        name = f"{tensor}_channels"
        while name in self.names - set(self.channels.values()) - set(self.params):
            name += "_"
        return name

    def _static_shapes(self, node):
        """``x.shape[1]`` (channels-first x) / ``x.shape[-1]`` (channels-last) -> ``x_channels``."""
        unit = self

        class T(cst.CSTTransformer):
            def leave_Subscript(self, original: cst.Subscript, updated: cst.Subscript) -> cst.BaseExpression:
                value = original.value
                if not (
                    isinstance(value, cst.Attribute)
                    and value.attr.value == "shape"
                    and isinstance(value.value, cst.Name)
                    and value.value.value in unit.channels
                    and len(original.slice) == 1
                    and isinstance(original.slice[0].slice, cst.Index)
                ):
                    return updated
                tensor, index = value.value.value, code(original.slice[0].slice.value)
                layout = unit.layouts.get(tensor)
                if (index == "1" and layout in ("first", "flat")) or (index == "-1" and layout in ("last", "flat")):
                    return expression(unit.channels[tensor])
                return updated

        return node.visit(T())

    def _out_channels(self, value) -> tuple[str | None, str | None]:
        """(channel count code, layout) of a forward expression, where __init__ can know it."""
        if isinstance(value, cst.Name):
            return self.channels.get(value.value), self.layouts.get(value.value)
        if isinstance(value, cst.BinaryOperation):  # a merge: a + b, (a + b) / 2 (one shape)
            left, right = self._out_channels(value.left), self._out_channels(value.right)
            if isinstance(value.right, (cst.Integer, cst.Float)):
                return left
            return (left[0] or right[0], left[1] if left[1] == right[1] else None)
        if isinstance(value, cst.Call) and code(value.func) in ("torch.maximum", "torch.minimum"):
            parts = [self._out_channels(a.value) for a in value.args]
            layout = parts[0][1] if all(p[1] == parts[0][1] for p in parts) else None
            return next((p[0] for p in parts if p[0]), None), layout
        if isinstance(value, cst.Call) and code(value.func) == "torch.cat" and value.args:
            items = value.args[0].value
            dim = next((code(a.value) for a in value.args if a.keyword and a.keyword.value == "dim"), None)
            if isinstance(items, (cst.List, cst.Tuple)):
                parts = [self._out_channels(e.value) for e in items.elements]
                layout = parts[0][1] if parts and all(p[1] == parts[0][1] for p in parts) else None
                channel_axis = (dim == "1" and layout == "first") or (dim == "-1" and layout == "last")
                if channel_axis and all(p[0] for p in parts):
                    return " + ".join(str(p[0]) for p in parts), layout
                return None, layout
        if not isinstance(value, cst.Call):
            return None, None
        func = value.func
        if isinstance(func, cst.Attribute) and func.attr.value == "movedim" and len(value.args) == 2:
            inner, _ = self._out_channels(func.value)
            moves = {("-1", "1"): "first", ("1", "-1"): "last"}
            return inner, moves.get((code(value.args[0].value), code(value.args[1].value)))
        if isinstance(func, cst.Call) and value.args:  # a parameter-free module built in forward
            count, layout = self._out_channels(value.args[0].value)
            return module_out(func, count), layout
        target = code(func)
        if not target.startswith("self.") or not value.args:
            return None, None
        attr = target[5:]
        first = value.args[0].value
        _, layout = self._out_channels(first) if not isinstance(first, (cst.List, cst.Tuple)) else (None, None)
        ctor = self.site_ctor.get(attr)
        if isinstance(first, (cst.List, cst.Tuple)) and ctor is not None:
            parts = [self._out_channels(e.value) for e in first.elements]
            layout = parts[0][1] if parts and all(p[1] == parts[0][1] for p in parts) else None
            if class_name(ctor) == "KerasMerge":  # (its inputs have one shape: any known one says it)
                return next((p[0] for p in parts if p[0] is not None), None), layout
            if isinstance(ctor, cst.Call) and class_name(ctor) == "KerasConcatenate" and all(p[0] for p in parts):
                axis = next((code(a.value) for a in ctor.args if a.keyword and a.keyword.value == "axis"), "-1")
                if (axis == "1" and layout == "first") or (axis == "-1" and layout == "last"):
                    return " + ".join(str(p[0]) for p in parts), layout
            return None, layout
        if ctor is not None and "Flatten" in code(ctor) and self.site_out.get(attr) is not None:
            layout = "flat"
        return self.site_out.get(attr), layout

    def _track(self, small, init: list) -> None:
        """After a forward statement: __init__ learns the channel count of what it assigned."""
        targets = assigned(small)
        single = isinstance(small, cst.Assign) and len(targets) == 1 and isinstance(small.targets[0].target, cst.Name)
        count, layout = self._out_channels(small.value) if single else (None, None)  # (before the pop)
        for name in targets:
            self.channels.pop(name, None)
            self.layouts.pop(name, None)
        if not single:
            return
        tensor = targets[0]
        if layout is not None:
            self.layouts[tensor] = layout
        if count is None:
            return
        if count.isdigit() or (count in self.params and self.assigned_config.get(count) == 1):
            self.channels[tensor] = count  # a constant or a parameter never rebound: no variable
            return
        var = self.channel_var(tensor)
        if count != var:
            init.append(line_of(assign(var, expression(count))))
            self._config_assigned(cst.Name(var), var)
        self.channels[tensor] = var

    def _unregistered_calls(self, fwd: list) -> str | None:
        """Why forward would call a layer that is no registered submodule (its parameters not in
        the model's): one kept in a list (``stages[i](x)``, ``for layer in stack: x = layer(x)``)
        or in a value the builder was given; None when every call is a site, a function or a
        tensor method."""
        locals_ = self.forward_names - self.tensors
        found: list[str] = []

        class V(cst.CSTVisitor):
            def visit_Call(self, call: cst.Call) -> None:
                func = call.func
                if isinstance(func, cst.Subscript):
                    found.append(f"forward would call {code(func)}, a layer kept in a list or dict")
                elif isinstance(func, cst.Name) and func.value in locals_:
                    found.append(f"forward would call {func.value}, a layer taken from a list or a loop")

        for line in fwd:
            line.visit(V())
        return found[0] if found else None

    def stored_lines(self) -> list:
        return [line_of(assign(f"self.{n}", cst.Name(n))) for n in self.stored]

    def new_attr(self, hint: str) -> str:
        base = hint if hint.isidentifier() and hint not in RESERVED else "layer"
        name, n = base, 0
        while name in self.attrs:
            n += 1
            name = f"{base}_{n}"
        self.attrs.add(name)
        return name

    # --- statements -----------------------------------------------------------------------
    def split(self, stmts: list) -> tuple[list, list]:
        init: list = []
        fwd: list = []
        for stmt in stmts:
            if isinstance(stmt, cst.SimpleStatementLine):
                self._simple_line(stmt, init, fwd)
            elif isinstance(stmt, cst.If):
                self._if(stmt, init, fwd)
            elif isinstance(stmt, cst.For) and self._has_sites(stmt):
                self._loop(stmt, init, fwd)
            elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                if self._has_sites(stmt) or self._is_forward(stmt):
                    raise CannotLift(f"it defines {stmt.name.value}, which builds layers or uses tensors, inside")
                init.append(stmt)  # a local helper of the configuration (round_filters)
                self._config_assigned(stmt)
            elif self._has_sites(stmt):
                raise CannotLift(f"layers are built inside a {type(stmt).__name__.lower()} statement")
            elif self._is_forward(stmt):
                fwd.append(self._to_forward(stmt))
                self.forward_names |= set(assigned(stmt))
            else:
                init.append(stmt)
                self._config_assigned(stmt)
            self.defined |= set(assigned(stmt))
        return init, fwd

    def _simple_line(self, line: cst.SimpleStatementLine, init: list, fwd: list) -> None:
        leading = line.leading_lines
        for small in line.body:
            if isinstance(small, cst.Return) and not self.returns_allowed:
                raise CannotLift("it returns early")
            static = self._static_shapes(small)
            if self._has_sites(small) or isinstance(small, cst.Return) or self._is_forward(static):
                created: list = []
                new = self._extract_sites(small, created)
                init.extend(created)
                if isinstance(new, cst.Return) and new.value is not None:
                    if not set(reads(small)) & self.tensors:
                        raise CannotLift("it returns something other than a tensor")
                    self.returned.append((new.value, self._out_channels(new.value)[0]))
                fwd.append(line.with_changes(body=[self._to_forward(new)], leading_lines=leading))
                self.forward_names |= set(assigned(small))
                self._track(new, init)
            else:
                init.append(line.with_changes(body=[static], leading_lines=leading))
                self._config_assigned(static)
            leading = ()

    def _if(self, stmt: cst.If, init: list, fwd: list) -> None:
        test = self._static_shapes(stmt.test)
        if set(reads(test)) & (self.tensors | self.forward_names):
            if self._has_sites(stmt):
                raise CannotLift("a condition on a tensor decides which layers exist")
            fwd.append(self._to_forward(stmt))
            self.forward_names |= set(assigned(stmt))
            for name in assigned(stmt):
                self.channels.pop(name, None)
                self.layouts.pop(name, None)
            return
        stmt = stmt.with_changes(test=test)
        before = (dict(self.channels), dict(self.layouts))
        body_init, body_fwd = self.split(list(stmt.body.body))
        after_body = (self.channels, self.layouts)
        self.channels, self.layouts = dict(before[0]), dict(before[1])
        else_init: list = []
        else_fwd: list = []
        orelse = stmt.orelse
        if isinstance(orelse, cst.If):
            self._if(orelse, else_init, else_fwd)
        elif orelse is not None:
            else_init, else_fwd = self.split(list(orelse.body.body))
        # after the if, __init__ knows what both branches agree on
        self.channels = {k: v for k, v in self.channels.items() if after_body[0].get(k) == v}
        self.layouts = {k: v for k, v in self.layouts.items() if after_body[1].get(k) == v}
        test = None
        if not isinstance(orelse, cst.If):
            # a module made in one branch only is None in the other, and forward asks for it
            # (`if self.proj is not None:`, as torchvision does): TorchScript compiles the taken
            # branch only, and forward reads no configuration for it
            body_made, else_made = _created(body_init), _created(else_init)
            only_body = [a for a in body_made if a not in else_made]
            only_else = [a for a in else_made if a not in body_made]
            if only_body:
                body_init = body_init + [line_of(assign(f"self.{a}", cst.Name("None"))) for a in only_else]
                else_init = else_init + [line_of(assign(f"self.{a}", cst.Name("None"))) for a in only_body]
                test = expression(f"self.{only_body[0]} is not None")
        if body_init or else_init:
            init.append(rebuild_if(stmt, stmt.test, body_init, else_init).with_changes(leading_lines=[]))
        if body_fwd or else_fwd:
            fwd.append(rebuild_if(stmt, test or self._to_forward(stmt.test), body_fwd, else_fwd))

    def _is_forward(self, node: cst.CSTNode) -> bool:
        names = set(reads(node)) | set(assigned(node))
        return bool(names & (self.tensors | self.forward_names))

    def _config_assigned(self, node: cst.CSTNode, only: str | None = None) -> None:
        for name in [only] if only else assigned(node):
            self.config.add(name)
            self.assigned_config[name] = self.assigned_config.get(name, 0) + 1

    # --- sites ----------------------------------------------------------------------------
    def _has_sites(self, node: cst.CSTNode) -> bool:
        found = False
        helpers = self.lifter.functions
        tensors = self.tensors

        class V(cst.CSTVisitor):
            def visit_Call(self, call: cst.Call) -> bool:
                nonlocal found
                args_read = {n for a in call.args for n in reads(a.value)}
                if (isinstance(call.func, cst.Call) and args_read & tensors) or (
                    isinstance(call.func, cst.Name) and call.func.value in helpers and args_read & tensors
                ):
                    found = True
                return not found

        node.visit(V())
        return found

    def _extract_sites(self, node, created: list):
        unit = self

        class T(cst.CSTTransformer):
            def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
                args_read = {n for a in original.args for n in reads(a.value)}
                if not args_read & unit.tensors:
                    return updated
                if isinstance(original.func, cst.Call):
                    if in_nested_scope(node, original):
                        raise CannotLift(
                            "a layer is built inside a lambda, a comprehension or a conditional expression"
                        )
                    return unit._site(original.func, updated, created)
                if isinstance(original.func, cst.Name) and original.func.value in unit.config:
                    # a function the builder was given (stack_fn): it may build layers, which
                    # forward must not do on every call
                    raise CannotLift(f"it calls {original.func.value}, a value it was given, on a tensor")
                if isinstance(original.func, cst.Name) and original.func.value in unit.lifter.functions:
                    if in_nested_scope(node, original):
                        raise CannotLift(
                            "a helper is called inside a lambda, a comprehension or a conditional expression"
                        )
                    return unit._helper_site(original, updated, created)
                return updated

        return node.visit(T())

    def _site(self, ctor: cst.BaseExpression, applied: cst.Call, created: list) -> cst.BaseExpression:
        hint = None
        if isinstance(ctor, cst.Call) and call_name(ctor) == NAMED and len(ctor.args) == 2:
            hint = name_hint(ctor.args[1].value)
            ctor = ctor.args[0].value
        ctor = self._static_shapes(ctor)
        if set(reads(ctor)) & (self.tensors | self.forward_names):
            if PARAMETER_FREE.match(class_name(ctor)):
                return applied.with_changes(func=ctor)  # built in forward from a tensor's shape
            raise CannotLift(f"a layer's arguments depend on a tensor: {code(ctor)[:60]}")
        expression_form = merged(ctor, applied)
        if expression_form is not None:  # Add()([a, b]) -> a + b: nothing to create
            self.lifter.uses_torch = True
            return expression_form
        first = applied.args[0].value if applied.args else None
        count = self._out_channels(first)[0] if first is not None else None
        ctor = sized(ctor, count)
        attr = self.new_attr(hint or module_hint(ctor))
        created.append(line_of(assign(f"self.{attr}", ctor)))
        self.site_ctor[attr] = ctor
        self.site_out[attr] = module_out(ctor, count)
        if is_lazy(ctor, self.lifter.lazy_support):
            self.lazy = True
        return applied.with_changes(func=expression(f"self.{attr}"))

    def _helper_site(self, original: cst.Call, updated: cst.Call, created: list) -> cst.Call:
        name = original.func.value  # type: ignore[attr-defined]
        func = self.lifter.functions[name]
        positional = [p.name.value for p in (*func.params.posonly_params, *func.params.params)]
        bound: list[tuple[str, cst.Arg, cst.Arg]] = []  # (parameter, original arg, updated arg)
        for i, (old, new) in enumerate(zip(original.args, updated.args)):
            if old.star:
                raise CannotLift(f"{name} is called with *args / **kwargs")
            if old.keyword is not None:
                bound.append((old.keyword.value, old, new))
            elif i < len(positional):
                bound.append((positional[i], old, new))
            else:
                raise CannotLift(f"{name} is called with more arguments than it has parameters")
        tensor_params = tuple(
            p for p in positional if any(b[0] == p and set(reads(b[1].value)) & self.tensors for b in bound)
        )
        for param, old, _ in bound:
            if param not in tensor_params and set(reads(old.value)) & (self.tensors | self.forward_names):
                raise CannotLift(f"{name}'s argument {param} mixes tensors and configuration")
        by_param = {param: new for param, _, new in bound}
        tensor_values = [by_param[param].value for param in tensor_params]
        known = [self._out_channels(v) for v in tensor_values]
        helper = self.lifter.helper(name, tensor_params, [k[0] for k in known], [k[1] for k in known])
        self.lazy |= helper.lazy
        if helper.channel_params and any(k[0] is None for k in known):
            raise NeedsChannels(name)
        channel_args = [cst.Arg(expression(str(k[0]))) for k in known] if helper.channel_params else []
        config_args = [
            new.with_changes(value=self._static_shapes(new.value))
            for param, _, new in bound
            if param not in tensor_params
        ]
        for arg in config_args:
            if set(reads(arg.value)) & (self.tensors | self.forward_names):
                raise CannotLift(f"{name}'s configuration depends on a tensor")
        tensor_args = [cst.Arg(v) for v in tensor_values]
        hint = next((name_hint(new.value) for p, _, new in bound if p == "name"), None)
        attr = self.new_attr(hint or name.lstrip("_"))
        made = cst.Call(cst.Name(helper.class_name), fix_commas([*channel_args, *config_args]))
        created.append(line_of(assign(f"self.{attr}", made)))
        self.site_out[attr] = f"self.{attr}.out_channels" if helper.out_channels else None
        return cst.Call(expression(f"self.{attr}"), fix_commas(tensor_args))

    # --- loops ----------------------------------------------------------------------------
    def _loop(self, loop: cst.For, init: list, fwd: list) -> None:
        if loop.orelse is not None:
            raise CannotLift("a for ... else that builds layers")
        parts = zip_parts(loop.target, loop.iter)
        if parts is None:
            if set(reads(loop.iter)) & (self.tensors | self.forward_names):
                raise CannotLift("a loop over tensors builds layers")
            config_parts, tensor_parts = [(loop.target, loop.iter)], []
        else:
            tensor_parts = [(t, s) for t, s in parts if set(reads(s)) & self.tensors]
            config_parts = [(t, s) for t, s in parts if not set(reads(s)) & self.tensors]
            if not config_parts:
                raise CannotLift("a loop over tensors only builds layers")
        loop_config = [n for t, _ in config_parts for n in target_names(t)]
        tensor_targets = [n for t, _ in tensor_parts for n in target_names(t)]
        body = list(loop.body.body)
        body_reads = [n for stmt in body for n in reads(stmt)]
        body_assigned = {n for stmt in body for n in assigned(stmt)}
        inputs = unique(n for n in body_reads if n in self.tensors and n in self.defined and n not in tensor_targets)
        outside = {n for stmt in self.body for n in loads(stmt, skip=loop)}
        returns = unique(
            n for stmt in body for n in assigned(stmt) if n in self.tensors and (n in inputs or n in outside)
        )
        leaks = (body_assigned | set(loop_config)) - self.tensors
        if leaks & outside:
            raise CannotLift(f"{sorted(leaks & outside)[0]}, set in a loop that builds layers, is used after it")
        if not returns:
            raise CannotLift("a loop builds layers whose results are not used")
        bad = set(body_reads) & (self.forward_names - self.tensors)
        if bad:
            raise CannotLift(f"a loop that builds layers reads {sorted(bad)[0]}")
        carried_config = (set(body_reads) & self.config & body_assigned) - set(loop_config)
        if carried_config:
            raise CannotLift(
                f"{sorted(carried_config)[0]} is carried from one iteration to the next of a loop that builds layers"
            )
        free = unique(n for n in body_reads if n in self.config and n not in loop_config and n not in body_assigned)
        block_name = self.lifter.class_name(f"{self.name}Block")
        known = {}
        for i in inputs:
            if i not in self.channels:
                continue
            value = self.channels[i]
            updated = i in returns and value != self.channel_var(i)
            if not value.isidentifier() or updated:
                # the block takes it as a parameter, and a count the loop carries is a variable
                # of its own that each iteration updates (never a parameter like `width`)
                var = self.channel_var(i)
                init.append(line_of(assign(var, expression(value))))
                self._config_assigned(cst.Name(var), var)
                self.channels[i] = value = var
            known[i] = value
        while True:
            # a channel count carried from one iteration to the next must be known at the end
            # of the body too, else the next iteration would be told a stale one
            block_params = [*loop_config, *free, *[c for c in known.values() if c not in free]]
            snapshot = (len(self.out), set(self.lifter.taken), dict(self.lifter.helpers))
            child = Unit(
                self.lifter,
                block_name,
                block_params,
                {*inputs, *tensor_targets},
                body,
                self.out,
                channels=known,
                layouts={i: self.layouts[i] for i in inputs if i in self.layouts},
            )
            child_init, child_fwd = child.run()
            stale = [i for i in known if i in returns and i not in child.channels]
            if not stale:
                break
            del self.out[snapshot[0] :]
            self.lifter.taken, self.lifter.helpers = snapshot[1], snapshot[2]
            for i in stale:
                del known[i]
        free = block_params[len(loop_config) :]
        for name in returns:
            self.channels.pop(name, None)
            self.layouts.pop(name, None)
            if name in child.layouts:
                self.layouts[name] = child.layouts[name]
        self.lazy |= child.lazy
        before, child_fwd, after = hoist_moves(child_fwd, inputs, returns)
        config_target = target_of([t for t, _ in config_parts])
        config_iter = config_parts[0][1] if len(config_parts) == 1 else zip_of([s for _, s in config_parts])
        chain = (
            None
            if tensor_parts or child.stored or inputs != returns or len(inputs) != 1
            else chain_writer(child_init, child_fwd, inputs[0])
        )
        if chain is not None:
            self.lifter.taken.discard(block_name)  # no class needed
        attr = self.new_attr("blocks")
        if chain is not None:
            # an nn.ModuleList walked in forward, not an nn.Sequential called whole: a Sequential
            # stands for one Keras layer (Dense with an activation), which weight transfer
            # relies on (weights/from_keras.py)
            init.append(line_of(assign(f"self.{attr}", expression("nn.ModuleList()"))))
            init.append(rebuild_for(loop, config_target, config_iter, chain(attr)))
            carried = inputs[0]
            final = child.channels.get(carried)
            if carried in known and final is not None:
                if final != known[carried]:  # the next iteration's input size
                    loop_lines = init[-1].body.body
                    update = line_of(assign(known[carried], expression(final)))
                    init[-1] = init[-1].with_changes(body=init[-1].body.with_changes(body=[*loop_lines, update]))
                self.channels[carried] = known[carried]
            fwd.extend(before)
            layer = "layer" if "layer" not in self.attrs | self.tensors | self.forward_names else "layer_"
            step = line_of(assign(inputs[0], cst.Call(cst.Name(layer), [cst.Arg(cst.Name(inputs[0]))])))
            fwd.append(
                cst.For(
                    target=cst.Name(layer),
                    iter=expression(f"self.{attr}"),
                    body=cst.IndentedBlock([step]),
                    leading_lines=loop.leading_lines,
                )
            )
            fwd.extend(after)
        else:
            child_fwd.append(line_of(cst.Return(tuple_or_name(returns))))
            params = params_of([*loop_config, *free])
            tail = child.stored_lines()
            out = child.channels.get(returns[0]) if len(returns) == 1 else None
            if out is not None:
                tail.append(line_of(assign("self.out_channels", expression(out))))
            self.out.append(
                module_class(
                    block_name,
                    f'"""One iteration of a loop of ``{self.name}`` that builds layers."""',
                    params,
                    prune_channels(child_init + tail),
                    params_of([*inputs, *tensor_targets]),
                    child_fwd,
                )
            )
            make = cst.Call(cst.Name(block_name), [cst.Arg(cst.Name(n)) for n in [*loop_config, *free]])
            init.append(line_of(assign(f"self.{attr}", expression("nn.ModuleList()"))))
            steps = [line_of(cst.Expr(call_of(f"self.{attr}.append", make)))]
            if out is not None:
                var = self.channel_var(returns[0])
                steps.append(line_of(assign(var, expression(f"self.{attr}[-1].out_channels"))))
                self.channels[returns[0]] = var
                self._config_assigned(cst.Name(var), var)
            init.append(rebuild_for(loop, config_target, config_iter, steps))
            block = "block" if "block" not in self.attrs | self.tensors | self.forward_names else "block_"
            call = cst.Call(cst.Name(block), [cst.Arg(cst.Name(n)) for n in [*inputs, *tensor_targets]])
            picks: list = []  # `skip = skips[i]`: TorchScript zips no ModuleList with a list
            if tensor_parts and all(isinstance(seq, (cst.Name, cst.List, cst.Tuple)) for _, seq in tensor_parts):
                index = next(n for n in ("i", "index", "i_") if n not in self.names | self.forward_names)
                walk = cst.Call(cst.Name("enumerate"), [cst.Arg(expression(f"self.{attr}"))])
                target = target_of([cst.Name(index), cst.Name(block)])
                for part, seq in tensor_parts:
                    seq = self._to_forward(seq)
                    if not isinstance(seq, cst.Name):  # a list display: made once, before the loop
                        base = f"{part.value}s" if isinstance(part, cst.Name) else "items"
                        name = next(
                            n for n in (base, f"{base}_", f"{base}__") if n not in self.names | self.forward_names
                        )
                        self.forward_names.add(name)
                        before.append(line_of(assign(name, seq)))
                        seq = cst.Name(name)
                    item = cst.Subscript(seq, [cst.SubscriptElement(cst.Index(cst.Name(index)))])
                    picks.append(line_of(assign_to(part, item)))
            elif tensor_parts:
                walk = zip_of([expression(f"self.{attr}"), *[self._to_forward(s) for _, s in tensor_parts]])
                target = target_of([cst.Name(block), *[t for t, _ in tensor_parts]])
            else:
                walk, target = expression(f"self.{attr}"), cst.Name(block)  # type: ignore[assignment]
            fwd.extend(before)
            step = line_of(assign_to(tuple_or_name(returns), call))
            fwd.append(
                cst.For(
                    target=target, iter=walk, body=cst.IndentedBlock([*picks, step]), leading_lines=loop.leading_lines
                )
            )
            fwd.extend(after)
        self.forward_names |= set(returns)

    # --- forward-side names ---------------------------------------------------------------
    def _to_forward(self, node):
        """``node`` for ``forward``: configuration names become stored attributes."""
        new, used = qualified(node, "self", self.config - self.forward_names - self.tensors)
        self.stored += [n for n in used if n not in self.stored]
        return new


def _created(lines: list) -> list[str]:
    """The attributes ``self.x = ...`` lines of ``__init__`` make, at their own level."""
    made = []
    for line in lines:
        small = line.body[0] if isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1 else None
        if isinstance(small, cst.Assign) and len(small.targets) == 1:
            target = small.targets[0].target
            if isinstance(target, cst.Attribute) and code(target.value) == "self":
                made.append(target.attr.value)
    return made
