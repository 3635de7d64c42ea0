"""Keras functional builders become ``nn.Module`` classes (issue 14).

The call rewriter turns a builder's ``layers.Conv2D(8, 3)(x)`` into ``nn.LazyConv2d(8, 3)(x)``
and its ``keras.Input`` / ``keras.Model`` into the tracer of support_functional.py. This pass
then splits each builder it understands into what an engineer would write by hand:

- ``__init__`` (the builder's own parameters) creates the modules: every module built and
  applied at once (a *site*) becomes an attribute, created in the order the builder created it;
- ``forward`` (the builder's ``keras.Input`` variables) does the tensor work, calling them;
- a helper function that takes and returns tensors (``double_conv(x, filters)``) becomes a
  submodule class (``DoubleConv(filters)``, ``forward(x)``);
- a loop that builds layers becomes an ``nn.Sequential`` (its body a chain of modules on one
  tensor) or an ``nn.ModuleList`` of a generated block class; ``forward`` walks the blocks;
- a condition on the builder's parameters runs in both methods (``self.upsample``);
- the builder keeps its name and signature and returns the module; Lazy modules left get their
  sizes at construction from ``keras.Input``'s shape (support ``init_lazy``).

What it cannot see through (a decision on a tensor, a layer built inside a comprehension, ...)
keeps the tracer, with an info diagnostic ``tracer-fallback`` that names the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import libcst as cst

from ....cstutil import code, expression
from ....report import INFO
from ...common.base import Pass
from .channels import PARAMETER_FREE
from .names import assigned, loads, reads
from .syntax import (
    argument,
    assign,
    call_name,
    camel,
    forward_args,
    fresh,
    line_of,
    module_class,
    param_names,
    params_of,
    prune_channels,
    qualified,
    split_docstring,
    strip_prefix,
)
from .unit import NAMED, CannotLift, NeedsChannels, Unit

_INPUT = "KerasInput"


_MODEL = "FunctionalModel"


@dataclass
class Helper:
    """A helper function lifted into a class: the parameters that receive tensors."""

    class_name: str
    tensor_params: tuple[str, ...]
    classes: list[cst.ClassDef] = field(default_factory=list)
    lazy: bool = False
    channel_params: tuple[str, ...] = ()  # __init__'s first parameters: the inputs' channel counts
    out_channels: bool = False  # the class records its output's channel count (self.out_channels)


class BuilderModules(Pass):
    """Runs at the end (before FinishModule): rewrites the module's top-level builders."""

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        ctx = self.ctx
        # the rules record the support they emit: files without a keras.Input cost nothing here
        if ctx.piece or _INPUT not in ctx.helpers_used:
            return updated
        if _MODEL not in ctx.helpers_used:
            return _shape_declarations(updated, ctx)
        lifter = Lifter(updated, ctx)
        body: list = []
        aligned = len(original.body) == len(updated.body)
        for index, stmt in enumerate(updated.body):
            if isinstance(stmt, cst.FunctionDef) and _is_builder(stmt):
                try:
                    body.extend(lifter.builder(stmt))
                    continue
                except CannotLift as reason:
                    where = original.body[index] if aligned else stmt
                    ctx.report(
                        where,
                        INFO,
                        "tracer-fallback",
                        f"{stmt.name.value} keeps the functional tracer (FunctionalModel): {reason}",
                    )
            body.append(stmt)
        if not lifter.lifted:
            return updated
        body = lifter.place_helpers(body)
        # support the lifted builders no longer call (the tracer, keras_get_source_inputs...) is
        # not copied: every helper is kept only where the output still names it
        ctx.maybe_unused_helpers |= ctx.helpers_used | {_INPUT, _MODEL, NAMED}
        ctx.target_imports.add("from torch import nn")
        if lifter.uses_torch:
            ctx.target_imports.add("import torch")
        if lifter.uses_init_lazy:
            ctx.helpers_used.add("init_lazy")
        return updated.with_changes(body=body)


def _shape_declarations(module: cst.Module, ctx) -> cst.Module:
    """With no functional model in the file, a ``keras.Input`` that is only an element of a list
    (``stack = [keras.Input((4,))]`` for a ``keras.Sequential``) declares a shape and nothing
    else: ``KerasInputShape`` (support), which the Sequential drops, instead of the tracer's
    placeholder tensor and everything it needs."""
    calls = 0
    listed = 0

    class Count(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            nonlocal calls
            calls += call_name(node) == _INPUT

        def visit_Element(self, node: cst.Element) -> None:
            nonlocal listed
            listed += call_name(node.value) == _INPUT

    module.visit(Count())
    if not calls or calls != listed:
        return module

    class Rename(cst.CSTTransformer):
        def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
            if call_name(original) == _INPUT:
                return updated.with_changes(func=cst.Name("KerasInputShape"))
            return updated

    ctx.maybe_unused_helpers.add(_INPUT)
    ctx.helpers_used.add("KerasInputShape")
    # statement by statement: FinishModule knows the import statements by identity
    rename = Rename()
    return module.with_changes(body=[s if _is_import(s) else s.visit(rename) for s in module.body])


def _is_import(stmt) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and all(
        isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body
    )


def _is_builder(func: cst.FunctionDef) -> bool:
    """A function whose own statements make the model: ``return keras.Model(...)`` or
    ``model = keras.Model(...)`` (then more code on ``model``)."""
    return any(_model_call(stmt) is not None for stmt in func.body.body)


def _model_call(stmt) -> cst.Call | None:
    if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1):
        return None
    small = stmt.body[0]
    value = small.value if isinstance(small, (cst.Return, cst.Assign)) else None
    if isinstance(small, cst.Assign) and not (
        len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name)
    ):
        return None
    return value if call_name(value) == _MODEL else None  # type: ignore[return-value]


def _model_statement(body: list) -> tuple[int, str]:
    """Where the builder makes its model, and the variable it keeps it in ('' for a return)."""
    found = [i for i, stmt in enumerate(body) if _model_call(stmt) is not None]
    if len(found) != 1:
        raise CannotLift("it makes more than one keras.Model")
    small = body[found[0]].body[0]
    if isinstance(small, cst.Return):
        if found[0] != len(body) - 1:
            raise CannotLift("code follows its return")
        return found[0], ""
    return found[0], small.targets[0].target.value


def _assume_no_input_tensor(body: list, params: list[str]) -> tuple[list, list]:
    """Keras applications build on an ``input_tensor`` (another model's Keras tensor) when one is
    given, else on ``keras.Input``. A PyTorch model is called on its tensor instead: the
    translation keeps the ``keras.Input`` branch and refuses ``input_tensor`` at run time."""
    tensor_params = [
        p
        for p in params
        if any(
            isinstance(stmt, cst.If) and _none_test(stmt.test) == (p, True) and _INPUT in code(stmt.body)
            for stmt in body
        )
    ]
    if not tensor_params:
        return [], body
    guards = [
        cst.parse_statement(
            f"if {p} is not None:\n"
            f"    raise NotImplementedError(\"{p}: building on another model's Keras tensor is not translated; "
            f'call the model on the tensor instead")\n'
        )
        for p in tensor_params
    ]
    return guards, _fold(body, set(tensor_params))


def _none_test(test) -> tuple[str, bool] | None:
    """('p', True) for ``p is None``, ('p', False) for ``p is not None``."""
    if (
        isinstance(test, cst.Comparison)
        and isinstance(test.left, cst.Name)
        and len(test.comparisons) == 1
        and isinstance(test.comparisons[0].comparator, cst.Name)
        and test.comparisons[0].comparator.value == "None"
        and isinstance(test.comparisons[0].operator, (cst.Is, cst.IsNot))
    ):
        return test.left.value, isinstance(test.comparisons[0].operator, cst.Is)
    return None


def _fold(body: list, nones: set[str]) -> list:
    """``body`` with the branches of ``if p is None`` / ``if p is not None`` (p in ``nones``)
    decided."""
    out: list = []
    for stmt in body:
        while isinstance(stmt, cst.If):
            test = _none_test(stmt.test)
            if test is None or test[0] not in nones:
                break
            if test[1]:
                out.extend(_fold(list(stmt.body.body), nones))
                stmt = None
            elif isinstance(stmt.orelse, cst.If):
                stmt = stmt.orelse.with_changes(leading_lines=stmt.leading_lines)
                continue
            else:
                out.extend(_fold(list(stmt.orelse.body.body), nones) if stmt.orelse else [])
                stmt = None
        if stmt is not None:
            out.append(stmt)
    return out


class Lifter:
    """The lifting of one module's builders; helpers are lifted on first use."""

    def __init__(self, module: cst.Module, ctx) -> None:
        self.ctx = ctx
        every = {s.name.value: s for s in module.body if isinstance(s, cst.FunctionDef)}
        self.functions = _layer_functions(every)  # the helpers: functions that build layers
        self.taken = set(every) | set(ctx.rules.support.files)
        for stmt in module.body:
            self.taken |= set(assigned(stmt))
        self.helpers: dict[str, Helper | CannotLift] = {}
        self.no_channels: set[str] = set()  # helpers lifted without channel-count parameters
        self.lifted: list[str] = []
        self.uses_init_lazy = False
        self.uses_torch = False  # (torch.cat, torch.maximum in forward)
        # classes whose instances are modules: the support's and the file's own
        bases_of = ctx.rules.support.bases_of
        self.module_classes = set(bases_of) | {s.name.value for s in module.body if isinstance(s, cst.ClassDef)}
        self.lazy_support = {name for name, bases in bases_of.items() if "Lazy" in "".join(bases)}

    def builds_modules(self, lines: list) -> str | None:
        """The first module constructor in ``lines`` other than a parameter-free one."""
        text = "\n".join(code(line) for line in lines)
        for match in re.finditer(r"\b(nn\.)?([A-Z]\w*)\(", text):
            torch_module, name = match.group(1), match.group(2)
            if (torch_module or name in self.module_classes) and not PARAMETER_FREE.match(name):
                return name
        return None

    def class_name(self, base: str) -> str:
        name, n = base, 1
        while name in self.taken:
            n += 1
            name = f"{base}{n}"
        self.taken.add(name)
        return name

    # --- builders -------------------------------------------------------------------------
    def builder(self, func: cst.FunctionDef) -> list:
        while True:
            snapshot = (set(self.taken), dict(self.helpers))
            try:
                return self._builder(func)
            except CannotLift as reason:
                self.taken, self.helpers = snapshot  # a failed attempt leaves no classes behind
                if not isinstance(reason, NeedsChannels) or reason.helper in self.no_channels:
                    raise
                self.no_channels.add(reason.helper)

    def _builder(self, func: cst.FunctionDef) -> list:
        doc, body = split_docstring(list(func.body.body))
        params = param_names(func.params)
        guards, body = _assume_no_input_tensor(body, params)
        at, model_var = _model_statement(body)
        pre, post = body[:at], body[at + 1 :]
        model = _model_call(body[at])
        if model is None:  # (_model_statement found it: never)
            raise CannotLift("no keras.Model call")
        inputs: dict[str, cst.Call] = {}
        for stmt in pre:
            for small in stmt.body if isinstance(stmt, cst.SimpleStatementLine) else ():
                if isinstance(small, cst.Assign) and call_name(small.value) == _INPUT:
                    if len(small.targets) != 1 or not isinstance(small.targets[0].target, cst.Name):
                        raise CannotLift("keras.Input is assigned to something other than one name")
                    inputs[small.targets[0].target.value] = small.value  # type: ignore[assignment]
        if cst.Module(body=pre).code.count(f"{_INPUT}(") != len(inputs):
            raise CannotLift("a keras.Input is made inside an expression, a loop or a condition")
        order = _model_inputs(model, inputs, pre)
        outputs = argument(model, 1, "outputs")
        extra = [
            a
            for i, a in enumerate(model.args)
            if (a.keyword.value not in ("inputs", "outputs", "name") if a.keyword else i > 2)
        ]
        if outputs is None or extra:
            raise CannotLift("keras.Model is called with arguments other than inputs, outputs and name")
        base = camel(strip_prefix(func.name.value))
        name = self.class_name(base if base not in self.taken else f"{base}Module")
        generated: list[cst.ClassDef] = []
        seeded = {v: f"{v}_channels" for v, call in inputs.items() if _channels_of_input(call) is not None}
        seeded = {v: c for v, c in seeded.items() if c not in params}
        unit = Unit(
            self,
            name,
            params,
            set(inputs),
            _without_inputs(pre, seeded),
            generated,
            channels=seeded,
            layouts=dict.fromkeys(inputs, "last"),
        )
        init, fwd = unit.run()
        if post and {n for stmt in post for n in reads(stmt)} & (unit.tensors | unit.forward_names) - {model_var}:
            raise CannotLift("the code after keras.Model(...) uses the builder's tensors")
        local = set(unit.assigned_config) - set(params)
        used_after = sorted({n for stmt in post for n in loads(stmt)} & local)
        if used_after and not model_var:
            raise CannotLift(f"the code after keras.Model(...) reads {used_after[0]}, computed while building")
        # what __init__ computed that the code after the model needs (rows: the weights file
        # name) is kept on the model: model.rows
        post = [_attributes_of(stmt, model_var, set(used_after)) for stmt in post]
        made_last: list = []
        fwd.append(line_of(cst.Return(unit._to_forward(unit._extract_sites(outputs, made_last)))))
        init += made_last
        tail = unit.stored_lines() + [line_of(assign(f"self.{n}", cst.Name(n))) for n in used_after]
        if unit.lazy:
            tail.append(self._init_lazy([inputs[n] for n in order]))
        cls = module_class(
            name,
            f'"""The network ``{func.name.value}`` builds (a Keras functional model)."""',
            func.params,
            prune_channels(init + tail),
            params_of(order),
            fwd,
        )
        call = cst.Call(cst.Name(name), forward_args(func.params))
        if post:
            made = [line_of(assign(model_var, call)), *post]
        else:
            made = [line_of(cst.Return(call))]
        new_func = func.with_changes(body=func.body.with_changes(body=[*doc, *guards, *made]))
        self.lifted.append(func.name.value)
        return [*generated, cls, new_func]

    def _init_lazy(self, calls: list[cst.Call]) -> cst.SimpleStatementLine:
        args = [cst.Arg(cst.Name("self"))]
        dtypes = []
        for call in calls:
            shape = argument(call, 0, "shape")
            if shape is None:
                raise CannotLift("a keras.Input without a shape leaves Lazy modules")
            args.append(cst.Arg(shape))
            dtype = argument(call, 2, "dtype")
            dtypes.append("torch.long" if dtype is not None and "int" in code(dtype) else "torch.float32")
        if any(d != "torch.float32" for d in dtypes):
            args.append(cst.Arg(expression(f"({', '.join(dtypes)},)"), keyword=cst.Name("dtypes")))
        self.uses_init_lazy = True
        return line_of(cst.Expr(cst.Call(cst.Name("init_lazy"), args)))

    # --- helpers --------------------------------------------------------------------------
    def helper(self, name: str, tensor_params: tuple[str, ...], channels: list, layouts: list) -> Helper:
        known = self.helpers.get(name)
        if isinstance(known, CannotLift):
            raise known
        if known is not None:
            if known.tensor_params != tensor_params:
                raise CannotLift(f"{name} is called with tensors in different parameters")
            return known
        func = self.functions[name]
        try:
            info = self._lift_helper(func, tensor_params, channels, layouts)
        except CannotLift as reason:
            failure = CannotLift(f"helper {name}: {reason}")
            self.helpers[name] = failure
            raise failure from None
        self.helpers[name] = info
        return info

    def _lift_helper(
        self, func: cst.FunctionDef, tensor_params: tuple[str, ...], channels: list, layouts: list
    ) -> Helper:
        params = func.params
        if params.star_arg not in (None, cst.MaybeSentinel.DEFAULT) or params.star_kwarg is not None:
            raise CannotLift("*args / **kwargs")
        positional = [*params.posonly_params, *params.params]
        if any(p.name.value in tensor_params and p.default is not None for p in positional) or any(
            p.name.value in tensor_params for p in params.kwonly_params
        ):
            raise CannotLift("a tensor parameter with a default or keyword-only")
        doc, body = split_docstring(list(func.body.body))
        last = body[-1] if body else None
        if not (isinstance(last, cst.SimpleStatementLine) and isinstance(last.body[-1], cst.Return)):
            raise CannotLift("it does not end with a return")
        names = set(param_names(params))
        channel_params: tuple[str, ...] = ()
        if all(c is not None for c in channels) and func.name.value not in self.no_channels:
            channel_params = tuple(fresh(f"{p}_channels", names) for p in tensor_params)
        config = [p for p in param_names(params) if p not in tensor_params]
        name = self.class_name(camel(func.name.value))
        info = Helper(name, tensor_params, channel_params=channel_params)
        self.helpers[func.name.value] = info  # (a recursive helper fails on its own)
        unit = Unit(
            self,
            name,
            [*channel_params, *config],
            set(tensor_params),
            body,
            info.classes,
            channels=dict(zip(tensor_params, channel_params)),
            layouts={p: lay for p, lay in zip(tensor_params, layouts) if lay},
        )
        unit.returns_allowed = True
        init, fwd = unit.run()
        final = unit.returned[-1] if unit.returned else None
        if final is None:
            raise CannotLift("it does not return a tensor")
        tail = unit.stored_lines()
        if final[1] is not None:
            tail.append(line_of(assign("self.out_channels", expression(final[1]))))
            info.out_channels = True
        init_params = params.with_changes(
            posonly_params=[p for p in params.posonly_params if p.name.value not in tensor_params],
            params=[
                *[cst.Param(cst.Name(c)) for c in channel_params],
                *[p for p in params.params if p.name.value not in tensor_params],
            ],
        )
        doc_text = code(doc[0]).strip() if doc else f'"""``{func.name.value}`` as a module."""'
        info.classes.append(
            module_class(name, doc_text, init_params, prune_channels(init + tail), params_of(tensor_params), fwd)
        )
        info.lazy = unit.lazy
        return info

    def place_helpers(self, body: list) -> list:
        """Each lifted helper's classes go where the helper was; the function stays only if
        code that was not lifted still calls it."""
        lifted = {n: h for n, h in self.helpers.items() if isinstance(h, Helper) and h.classes}
        if not lifted:
            return body
        still_called = set()
        for stmt in body:
            if isinstance(stmt, cst.FunctionDef) and stmt.name.value in lifted:
                continue
            if isinstance(stmt, cst.ClassDef) and any(stmt is c for h in lifted.values() for c in h.classes):
                continue
            still_called |= set(reads(stmt)) & set(lifted)
        out: list = []
        for stmt in body:
            if isinstance(stmt, cst.FunctionDef) and stmt.name.value in lifted:
                out.extend(lifted[stmt.name.value].classes)
                if stmt.name.value in still_called:
                    out.append(stmt)
                continue
            out.append(stmt)
        return out


def _model_inputs(model: cst.Call, inputs: dict[str, cst.Call], pre: list) -> list[str]:
    """The keras.Input variables in the order keras.Model lists them (through an alias
    ``inputs = img_input``)."""
    aliases: dict[str, str] = {}
    for stmt in pre:
        for small in stmt.body if isinstance(stmt, cst.SimpleStatementLine) else ():
            if (
                isinstance(small, cst.Assign)
                and len(small.targets) == 1
                and isinstance(small.targets[0].target, cst.Name)
                and isinstance(small.value, cst.Name)
                and small.value.value in inputs
            ):
                aliases[small.targets[0].target.value] = small.value.value
    given = argument(model, 0, "inputs")
    if isinstance(given, cst.Name):
        names = [given]
    elif isinstance(given, (cst.List, cst.Tuple)):
        names = [e.value for e in given.elements]  # type: ignore[misc]  # (checked below)
    else:
        raise CannotLift("keras.Model's inputs are not a name or a list of names")
    order = [aliases.get(n.value, n.value) for n in names if isinstance(n, cst.Name)]
    if len(order) != len(names) or set(order) != set(inputs):
        raise CannotLift("keras.Model's inputs are not exactly the builder's keras.Input tensors")
    return order


def _attributes_of(stmt, owner: str, names: set[str]):
    """``stmt`` reading ``owner.<name>`` for each of ``names``."""
    return qualified(stmt, owner, names)[0] if names else stmt


def _without_inputs(body: list, channels: dict[str, str]) -> list:
    """The builder's statements without its ``keras.Input`` assignments (they become
    ``forward``'s parameters); where one stood, __init__ gets the input's channel count."""
    out = []
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine):
            kept: list[cst.BaseSmallStatement] = []
            for small in stmt.body:
                if isinstance(small, cst.Assign) and call_name(small.value) == _INPUT:
                    var = small.targets[0].target.value  # type: ignore[attr-defined]
                    if var in channels:
                        kept.append(assign(channels[var], expression(_channels_of_input(small.value))))  # type: ignore[arg-type]
                else:
                    kept.append(small)
            if not kept:
                continue
            stmt = stmt.with_changes(body=kept)
        out.append(stmt)
    return out


def _channels_of_input(call: cst.Call) -> str | None:
    """The channel count (last axis) of ``keras.Input(shape)`` as code; None for integer inputs
    (token ids have no channel axis) or no shape."""
    shape = argument(call, 0, "shape")
    dtype = argument(call, 2, "dtype")
    if shape is None or (dtype is not None and "int" in code(dtype)):
        return None
    if isinstance(shape, (cst.Tuple, cst.List)):
        if not shape.elements or code(shape.elements[-1].value) == "None":
            return None
        return code(shape.elements[-1].value)
    return f"{code(shape)}[-1]"


def _layer_functions(functions: dict[str, cst.FunctionDef]) -> dict[str, cst.FunctionDef]:
    """The functions that build layers (``Ctor(...)(x)``), directly or through one another;
    builders excluded. The others (``def gelu(x)``) stay plain functions that forward calls."""
    builds: set[str] = set()

    def direct(func: cst.FunctionDef) -> set[str]:
        found = {"": False}
        called: set[str] = set()

        class V(cst.CSTVisitor):
            def visit_Call(self, call: cst.Call) -> None:
                if isinstance(call.func, cst.Call):
                    found[""] = True
                elif isinstance(call.func, cst.Name):
                    called.add(call.func.value)

        func.visit(V())
        if found[""]:
            builds.add(func.name.value)
        return called

    calls = {name: direct(f) for name, f in functions.items()}
    changed = True
    while changed:
        changed = False
        for name, called in calls.items():
            if name not in builds and called & builds:
                builds.add(name)
                changed = True
    return {n: f for n, f in functions.items() if n in builds and not _is_builder(f)}
