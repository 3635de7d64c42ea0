"""Statement-level rewrites that a call template cannot express.

- ``x.add_(y)`` (an in-place method as a statement) -> ``x = keras.ops.add(x, y)``;
- ``self.register_buffer("pe", t)`` -> ``self.pe = keras.Variable(t, trainable=False, name="pe")``;
  ``self.register_parameter("w", p)`` -> ``self.w = p``;
- ``self.w = keras.Variable(...)`` gets ``name="w"`` so weights are named like the source's;
- ``with torch.no_grad():`` -> its body, each assigned value wrapped in ``stop_gradient``
  (exactly what no_grad means for those values);
- decorators with no target meaning (``@torch.jit.ignore``...) are dropped;
- annotations that name framework types are dropped;
- untranslated constructs get a ``# fwtranslate: unconverted`` comment above their statement.
"""

from __future__ import annotations

import libcst as cst

from ...cstutil import code, expression
from ...imports import dotted_name
from ...report import ERROR, INFO, WARNING
from ...rules.literals import literal_value
from ..common.calls import CallRewriter
from ..common.marks import Marks
from ..common.receivers import TENSOR, is_model, is_plain, kind_of

STOP_GRADIENT = "keras.ops.stop_gradient"
VARIABLE = "keras.Variable"
NO_GRAD = frozenset({"torch.no_grad", "torch.inference_mode"})
BACKENDS = "torch.backends."  # settings of torch's kernels (cudnn.benchmark, allow_tf32...)
DROPPED_DECORATORS = frozenset(
    {
        "torch.jit.ignore",
        "torch.jit.unused",
        "torch.jit.export",
        "torch.jit._overload_method",
        "torch.jit._overload",
        "torch.jit.script",
        "torch.compile",
        "torch.jit.script_method",
    }
)


# in-place methods of a parameter that are an nn.init function of it: `m.bias.data.zero_()`
_INIT_OF_METHOD = {
    "normal_": "torch.nn.init.normal_",
    "uniform_": "torch.nn.init.uniform_",
    "fill_": "torch.nn.init.constant_",
    "zero_": "torch.nn.init.zeros_",
}


def _parameter_init(call: cst.BaseExpression, source: cst.BaseExpression) -> tuple[str, cst.Call] | None:
    """``(init function, its call)`` for ``owner.weight[.data].normal_(args)`` (weight or bias):
    the call with the parameter as first argument and the method's (translated) arguments."""
    if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and isinstance(source, cst.Call)):
        return None
    function = _INIT_OF_METHOD.get(call.func.attr.value)
    parameter = call.func.value
    if isinstance(parameter, cst.Attribute) and parameter.attr.value == "data":
        parameter = parameter.value
    if function is None or not (isinstance(parameter, cst.Attribute) and parameter.attr.value in ("weight", "bias")):
        return None
    if isinstance(parameter.value, cst.Name) and parameter.value.value == "self":
        return None  # the layer's own variable (a custom layer's self.weight): the buffer path
    if not source.args:
        return function, cst.Call(expression(function), [cst.Arg(parameter)])
    head = cst.Arg(parameter, comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    return function, cst.Call(expression(function), [head, *source.args])


def _self_attr(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self":
        return node.attr.value
    return None


class Statements(Marks):
    def __init__(self, ctx):
        super().__init__(ctx)
        self.switch_notes: list[str] = []  # mode switches dropped from the current line

    # --- in-place methods and registration calls -------------------------------------------
    def leave_Expr(self, original: cst.Expr, updated: cst.Expr):
        call = original.value
        note = self._mode_switch(original, updated) or self._device_move(original, updated)
        if note is not None:
            self.switch_notes.append(note)
            return cst.RemoveFromParent()
        if id(call) in self.ctx.inplace:
            receiver = self.ctx.inplace.pop(id(call))
            if not isinstance(receiver, (cst.Name, cst.Attribute, cst.Subscript)):
                self.ctx.report(
                    original,
                    WARNING,
                    "inplace-expression",
                    "an in-place method on a temporary value: nothing is updated",
                )
                return updated
            source = self.ctx.inplace_source.pop(id(call), updated.value)
            if _self_attr(receiver) in self.ctx.variable_attrs:  # a buffer/parameter: update the variable
                return cst.Expr(_assign_call(receiver, updated.value))
            init = _parameter_init(call, source)
            if init is not None and init[0] in self.ctx.rules.calls and isinstance(call, cst.Call):
                # `m.weight.data.normal_(0, s)` is `nn.init.normal_(m.weight, 0, s)` (older model files)
                rule = self.ctx.rules.calls[init[0]]
                return updated.with_changes(value=CallRewriter(self.ctx).apply_rule(rule, call, init[1]))
            if not isinstance(receiver, cst.Name):
                # `m.weight.fill_(v)`, `x[0].add_(1)`: rebinding an attribute or an item would not
                # update a Keras variable (nor work on a tensor): left as it is, reported
                self.ctx.report(
                    original,
                    ERROR,
                    "inplace-method",
                    f"{code(receiver)} is updated in place: only a local name or a registered buffer is translated",
                )
                return updated.with_changes(value=source)
            return cst.Assign([cst.AssignTarget(receiver)], updated.value)
        if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and isinstance(updated.value, cst.Call):
            method = call.func.attr.value
            args = updated.value.args
            if (
                method in ("register_buffer", "register_parameter")
                and len(args) >= 2
                and isinstance(args[0].value, cst.SimpleString)
            ):
                name = args[0].value.value.strip("'\"")
                value = args[1].value
                if method == "register_buffer":
                    value = cst.Call(
                        expression(VARIABLE),
                        [cst.Arg(value), _kwarg("trainable", cst.Name("False")), _kwarg("name", args[0].value)],
                    )
                target = cst.Attribute(updated.value.func.value, cst.Name(name))  # type: ignore[attr-defined]
                # a new node, which leave_Assign will not see: name and record the variable here
                return self._record_variable(_name_variable(cst.Assign([cst.AssignTarget(target)], value)))
        return updated

    # --- model.eval() / model.train() as statements ---------------------------------------------
    def _mode_switch(self, original: cst.Expr, updated: cst.Expr) -> str | None:
        """Keras has no model-wide mode: the ``training`` argument of each call decides (fit,
        evaluate and predict set it). A statement that only switches the mode is dropped, with
        a comment saying why; its value (``m = Net().eval()``) is the rule's business."""
        call = original.value
        if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)):
            return None
        method = call.func.attr.value
        if method not in ("eval", "train") or len(call.args) > 1:
            return None
        new = updated.value
        rewritten = not (isinstance(new, cst.Call) and isinstance(new.func, cst.Attribute))
        trained = code(call.func.value) in self.ctx.trained_models  # training_step.py passes training=True
        if not (rewritten or trained if method == "eval" else is_model(self.ctx, call.func.value) or trained):
            return None  # not a model's (`trainer.train()`), or the receiver is a plain object
        mode = literal_value(call.args[0].value) if call.args else True
        text = f"{code(call.func.value)}.{method}()"
        if method == "eval" or mode is False:
            why = f"{text} dropped: Keras layers take training=... per call"
            if isinstance(call.func.value, cst.Name):  # a whole model, where the script runs it
                self.ctx.report(original, INFO, "mode-switch", why)
            else:  # `self.bn.eval()` in a model's code: a layer meant to stay in inference mode
                self.ctx.report(
                    original, WARNING, "mode-switch", f"{why}; to freeze a layer, set its trainable = False"
                )
            return f"# fwtranslate: {why}"
        if trained:
            why = f"{text} dropped: the training step calls the model with training=True"
            self.ctx.report(original, INFO, "mode-switch", why)
            return f"# fwtranslate: {why}"
        self.ctx.report(
            original,
            WARNING,
            "mode-switch",
            f"{text} dropped: a custom training loop must call the model with training=True",
        )
        return f"# fwtranslate: {text} dropped: call the model with training=True in a custom loop"

    # --- net.to(device) / net.cuda() as statements -------------------------------------------
    def _device_move(self, original: cst.Expr, updated: cst.Expr) -> str | None:
        """A statement that only moves a model to a device: its rule left the bare receiver (Keras
        places tensors and variables itself), a line that does nothing. Dropped, with a comment."""
        call = original.value
        if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)):
            return None
        if call.func.attr.value not in ("to", "cuda", "cpu") or isinstance(updated.value, cst.Call):
            return None  # another method, or a move that also casts (its translation does work)
        if code(updated.value) != code(call.func.value):
            return None
        why = f"{code(call)} dropped: Keras places tensors and variables on a device itself"
        self.ctx.report(original, INFO, "device", why)
        return f"# fwtranslate: {why}"

    # --- torch.backends.cudnn.benchmark = True ---------------------------------------------
    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) == 1 and (self.ctx.resolve(node.targets[0].target) or "").startswith(BACKENDS):
            self.ctx.skip.add(id(node.targets[0].target))

    def _backend_setting(self, original: cst.Assign, updated: cst.Assign):
        """A setting of torch's kernels: TensorFlow's own, or dropped with a note."""
        target = original.targets[0].target
        name = self.ctx.resolve(target)
        if name == "torch.backends.cudnn.deterministic" and literal_value(original.value) is True:
            self.ctx.target_imports.add("import tensorflow as tf")
            return cst.Expr(expression("tf.config.experimental.enable_op_determinism()"))
        if name in ("torch.backends.cuda.matmul.allow_tf32", "torch.backends.cudnn.allow_tf32"):
            self.ctx.target_imports.add("import tensorflow as tf")  # one switch for both in TensorFlow
            call = f"tf.config.experimental.enable_tensor_float_32_execution({code(updated.value)})"
            return cst.Expr(expression(call))
        why = f"{name} = {code(original.value)} dropped: TensorFlow chooses its kernels itself"
        self.ctx.report(original, INFO, "backend-setting", why)
        self.switch_notes.append(f"# fwtranslate: {why}")
        return cst.RemoveFromParent()

    def leave_Assign(self, original: cst.Assign, updated: cst.Assign):
        if len(original.targets) == 1 and id(original.targets[0].target) in self.ctx.skip:
            return self._backend_setting(original, updated)
        masked = self._masked_assignment(original, updated)
        if masked is not None:
            return masked
        for t in original.targets:
            self._check_item_assignment(original, t.target)
        return self._record_variable(_name_variable(updated))

    def _masked_assignment(self, original: cst.Assign, updated: cst.Assign) -> cst.Assign | None:
        """``x[x < 0] = 0`` (a boolean mask, a number) on a name that may hold a tensor: Keras
        tensors are immutable, so ``x = torch_masked_assign(x, x < 0, 0)`` (support_torch_aten.py)."""
        if len(original.targets) != 1:
            return None
        target, new_target = original.targets[0].target, updated.targets[0].target
        if not (
            isinstance(target, cst.Subscript)
            and isinstance(new_target, cst.Subscript)
            and isinstance(target.value, cst.Name)
            and len(target.slice) == 1
            and isinstance(target.slice[0].slice, cst.Index)
            and _boolean_mask(target.slice[0].slice.value)
            and _number(original.value)
            and not is_plain(self.ctx, target.value)
        ):
            return None
        mask = new_target.slice[0].slice.value  # type: ignore[attr-defined]
        self.ctx.helpers_used.add(MASKED_ASSIGN)
        call = cst.Call(
            cst.Name(MASKED_ASSIGN),
            [cst.Arg(target.value), cst.Arg(mask.with_changes(lpar=[], rpar=[])), cst.Arg(updated.value)],
        )
        return updated.with_changes(targets=[cst.AssignTarget(target.value)], value=call)

    def _check_item_assignment(self, original: cst.CSTNode, target: cst.BaseExpression) -> None:
        """``y[:, :2] = v`` on a name known to hold a tensor: Keras tensors are immutable."""
        if isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name):
            if kind_of(self.ctx, target.value.value) == TENSOR:
                self.ctx.report(
                    original,
                    ERROR,
                    "item-assignment",
                    f"{target.value.value}[...] = ...: Keras tensors do not support item assignment",
                )

    def _record_variable(self, assign: cst.Assign) -> cst.Assign:
        if isinstance(assign.value, cst.Call) and dotted_name(assign.value.func) == VARIABLE:
            name = _self_attr(assign.targets[0].target)
            if name:
                self.ctx.variable_attrs.add(name)
        return assign

    def leave_AugAssign(self, original: cst.AugAssign, updated: cst.AugAssign):
        """``self.count += 1`` on a buffer: ``self.count.assign(self.count + 1)`` (a Keras
        variable rebound to a tensor would stop being a weight)."""
        self._check_item_assignment(original, original.target)
        name = _self_attr(updated.target)
        if name is None or name not in self.ctx.variable_attrs:
            return updated
        binary = _AUG_TO_BINARY.get(type(updated.operator))
        if binary is None:
            return updated
        value = cst.BinaryOperation(updated.target, binary(), updated.value)
        return cst.Expr(_assign_call(updated.target, value))

    # --- torch.no_grad ----------------------------------------------------------------------
    def visit_With(self, node: cst.With) -> None:
        calls = [item.item for item in node.items]
        if calls and all(isinstance(c, cst.Call) and self.ctx.resolve(c.func) in NO_GRAD for c in calls):
            self.ctx.skip.add(id(node))
            self.ctx.skip.update(id(c) for c in calls)

    def leave_With(self, original: cst.With, updated: cst.With):
        if id(original) not in self.ctx.skip or not isinstance(updated.body, cst.IndentedBlock):
            return self._mark(updated, original)
        body = [_stop_gradient(stmt) for stmt in updated.body.body]
        if body:
            body[0] = body[0].with_changes(leading_lines=[*updated.leading_lines, *body[0].leading_lines])
        return cst.FlattenSentinel(body)

    # --- decorators -------------------------------------------------------------------------
    def visit_Decorator(self, node: cst.Decorator) -> bool:
        target = node.decorator.func if isinstance(node.decorator, cst.Call) else node.decorator
        qual = self.ctx.resolve(target)
        if qual in DROPPED_DECORATORS or qual in NO_GRAD:
            self.ctx.skip.add(id(node))
            if qual in NO_GRAD:
                self.ctx.report(
                    node, WARNING, "no-grad-decorator", f"@{qual} dropped: gradients are not blocked in the translation"
                )
            return False
        return True

    def leave_Decorator(self, original: cst.Decorator, updated: cst.Decorator):
        if id(original) in self.ctx.skip:
            return cst.RemoveFromParent()
        return updated

    # --- annotations ----------------------------------------------------------------------
    def leave_Param(self, original: cst.Param, updated: cst.Param) -> cst.Param:
        if original.annotation is not None and id(original.annotation) in self.ctx.skip:
            # `x: Tensor = None` -> `x=None`, spaced as PEP 8 wants without an annotation
            equal = (
                cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace(""))
                if updated.default is not None
                else updated.equal
            )
            return updated.with_changes(annotation=None, equal=equal)
        return updated

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        if original.returns is not None and id(original.returns) in self.ctx.skip:
            updated = updated.with_changes(returns=None)
        return self._mark(updated, original)

    def leave_AnnAssign(self, original: cst.AnnAssign, updated: cst.AnnAssign):
        if id(original.annotation) not in self.ctx.skip:
            return updated
        if self.ctx.classes and not self.ctx.functions:
            # a class-level `block: Callable[..., nn.Module]` is a field (dataclasses,
            # NamedTuple): keep it, typed `object`
            return updated.with_changes(annotation=cst.Annotation(cst.Name("object")))
        if updated.value is None:
            return cst.RemoveFromParent()
        return cst.Assign([cst.AssignTarget(updated.target)], updated.value)

    # --- marks ------------------------------------------------------------------------------
    def leave_SimpleStatementLine(self, original, updated):
        for call_id in list(self.ctx.inplace):  # in-place calls not used as statements
            receiver = self.ctx.inplace.pop(call_id)
            self.ctx.inplace_source.pop(call_id, None)
            if not isinstance(receiver, (cst.Name, cst.Attribute, cst.Subscript)):
                continue  # `torch.empty(n).normal_()`: a temporary, nobody sees it again
            self.ctx.report(
                original,
                ERROR,
                "inplace-expression",
                "an in-place method inside an expression: the receiver is not updated",
            )
        notes, self.switch_notes = self.switch_notes, []
        if notes and not updated.body:  # notes carried to this line, dropped too, go on with its own
            notes = [*self.carried.pop(id(original), []), *notes]
        if notes and not updated.body and _last_in_block(original, self.ctx.parent()):
            # the block's last statement (maybe its only one): `pass`, the note beside it
            line = updated.with_changes(
                body=[cst.Pass()],
                trailing_whitespace=cst.TrailingWhitespace(cst.SimpleWhitespace("  "), cst.Comment(notes[0])),
            )
            self.ctx.pending_marks.extend(notes[1:])
            return self._mark(line)
        if notes and not updated.body:  # above the next statement of the block
            block = getattr(self.ctx.parent(), "body", ())
            at = next(i for i, s in enumerate(block) if s is original)
            self.carried[id(block[at + 1])] = notes
            return cst.RemoveFromParent()
        self.ctx.pending_marks.extend(notes)
        if not updated.body:
            return cst.RemoveFromParent()
        return self._mark(updated, original)


def _last_in_block(line: cst.CSTNode, block: cst.CSTNode | None) -> bool:
    body = getattr(block, "body", None)
    return not isinstance(body, (list, tuple)) or not body or body[-1] is line


def _name_variable(assign: cst.Assign) -> cst.Assign:
    """``self.w = keras.Variable(...)`` gets ``name="w"``, so weights are named like the source's."""
    value = assign.value
    if len(assign.targets) != 1 or not isinstance(value, cst.Call):
        return assign
    name = _self_attr(assign.targets[0].target)
    if (
        name
        and dotted_name(value.func) == VARIABLE
        and not any(a.keyword and a.keyword.value == "name" for a in value.args)
    ):
        args = [*value.args, _kwarg("name", cst.SimpleString(f'"{name}"'))]
        return assign.with_changes(value=value.with_changes(args=args))
    return assign


_AUG_TO_BINARY: dict[type, type[cst.Add | cst.Subtract | cst.Multiply | cst.Divide]] = {
    cst.AddAssign: cst.Add,
    cst.SubtractAssign: cst.Subtract,
    cst.MultiplyAssign: cst.Multiply,
    cst.DivideAssign: cst.Divide,
}


def _assign_call(target: cst.BaseExpression, value: cst.BaseExpression) -> cst.Call:
    return cst.Call(cst.Attribute(target, cst.Name("assign")), [cst.Arg(value)])


def _kwarg(name: str, value: cst.BaseExpression) -> cst.Arg:
    tight = cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace(""))
    return cst.Arg(value, keyword=cst.Name(name), equal=tight)


# calls whose value is a Python object, not a tensor: `acc = (pred == y).float().mean().item()`
_PYTHON_VALUES = frozenset({"item", "tolist", "float", "int", "bool", "len", "str", "round"})


def _python_value(node: cst.BaseExpression) -> bool:
    """Is ``node`` a Python number or string (stop_gradient would turn it into a tensor)?"""
    if isinstance(node, (cst.Integer, cst.Float, cst.SimpleString, cst.FormattedString)):
        return True
    if isinstance(node, cst.Call):
        func = node.func
        name = (
            func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else None
        )
        return name in _PYTHON_VALUES
    if isinstance(node, cst.BinaryOperation):
        return _python_value(node.left) and _python_value(node.right)
    return False


def _stop_gradient(stmt: cst.BaseStatement):
    if not isinstance(stmt, cst.SimpleStatementLine):
        return stmt
    body = []
    for small in stmt.body:
        if (
            isinstance(small, (cst.Assign, cst.AugAssign, cst.AnnAssign, cst.Return))
            and small.value is not None
            and not _python_value(small.value)
        ):
            wrapped = cst.Call(expression(STOP_GRADIENT), [cst.Arg(small.value)])
            small = small.with_changes(value=wrapped)
        body.append(small)
    return stmt.with_changes(body=body)


MASKED_ASSIGN = "torch_masked_assign"


def _boolean_mask(node: cst.BaseExpression) -> bool:
    """A comparison, or ``~`` / ``&`` / ``|`` of comparisons: a boolean tensor as an index."""
    if isinstance(node, cst.Comparison):
        return True
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.BitInvert):
        return _boolean_mask(node.expression)
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.BitAnd, cst.BitOr)):
        return _boolean_mask(node.left) and _boolean_mask(node.right)
    return False


def _number(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
        node = node.expression
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "float":
        return True  # float("nan"), float("-inf")
    return isinstance(node, (cst.Integer, cst.Float))
