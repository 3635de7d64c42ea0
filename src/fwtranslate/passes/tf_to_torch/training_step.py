"""A ``tf.GradientTape`` step -> PyTorch's zero_grad / backward / step.

    with tf.GradientTape() as tape:                      model.train()
        logits = model(x, training=True)                 optimizer.zero_grad()
        loss = loss_fn(y, logits)               ->       logits = model(x)
    grads = tape.gradient(loss, model.trainable_variables)   loss = loss_fn(logits, y)
    grads, _ = tf.clip_by_global_norm(grads, 1.0)        loss.backward()
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
                                                         torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                                                         optimizer.step()

A torch optimizer takes its parameters when it is built: the optimizer rules write ``PARAMS``
(rules/tf_to_torch/optim.yaml) and this pass puts there the parameters of the models the
file's ``apply_gradients`` calls update. Keras' per-call ``training=`` becomes the module's
mode: ``model.train()`` before the step, ``model.eval()`` before a ``training=False`` call,
which runs under ``torch.no_grad()`` (outside a tape, Keras records no gradients either).
A Keras optimizer's ``learning_rate`` becomes torch's (learning_rate.py). What is not
translated stays, marked and reported: a tape whose gradients are used otherwise, an
optimizer whose variables the file does not show, a model's ``train_step`` / ``test_step``
override (the translated fit loop runs its own step).
"""

from __future__ import annotations

import re

import libcst as cst

from ...cstutil import code, expression, statement
from ...report import ERROR
from ..common.base import Pass
from ..common.marks import mark_line
from ..common.training import Bindings, Optimizer, collect, key, statements_naming, swap_loss_arguments
from . import learning_rate

TAPE = "tf.GradientTape"
PARAMS = "PARAMS"  # what the optimizer rules write for the parameters
CLIP_GLOBAL_NORM = "tf.clip_by_global_norm"
CLIP_TRANSLATED = "tf_clip_by_global_norm"  # its rule's support function (rules/tf_to_torch/tf_core.yaml)
_VARIABLES = re.compile(r"^(.+?)\.(?:trainable_variables|trainable_weights)$")
_TRAINING = re.compile(r"GradientTape|apply_gradients|keras\.losses|losses\.\w+\(|optimizers|def (?:train|test)_step\(")
# Keras methods a model overrides to change fit() / evaluate(): the translated loop runs its own step
STEP_OVERRIDES = frozenset({"train_step", "test_step"})


def is_optimizer(qual: str) -> bool:
    head, _, name = qual.rpartition(".")
    return head == "keras.optimizers" and name[:1].isupper() and name != "Optimizer"


def is_loss(qual: str) -> bool:
    head, _, name = qual.rpartition(".")
    return head == "keras.losses" and name[:1].isupper() and name != "Loss"


def _owners(variables: cst.BaseExpression) -> tuple[str, ...] | None:
    """``model.trainable_variables`` (or ``a.trainable_variables + b.trainable_variables``)
    -> ("model",) / ("a", "b"); None for anything else."""
    if isinstance(variables, cst.BinaryOperation) and isinstance(variables.operator, cst.Add):
        left, right = _owners(variables.left), _owners(variables.right)
        return None if left is None or right is None else left + right
    if isinstance(variables, cst.Call) and code(variables.func) == "list" and len(variables.args) == 1:
        return _owners(variables.args[0].value)
    match = _VARIABLES.match(code(variables))
    return (match.group(1),) if match else None


def _parameters(owners: tuple[str, ...]) -> str:
    if len(owners) == 1:
        return f"{owners[0]}.parameters()"
    return "[" + ", ".join(f"*{o}.parameters()" for o in owners) + "]"


def _apply_call(stmt: cst.BaseStatement) -> cst.Call | None:
    """``opt.apply_gradients(zip(grads, variables))`` as a statement."""
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr):
        call = stmt.body[0].value
        if (
            isinstance(call, cst.Call)
            and isinstance(call.func, cst.Attribute)
            and call.func.attr.value == "apply_gradients"
        ):
            return call
    return None


def _zip_parts(call: cst.Call) -> tuple[str, cst.BaseExpression] | None:
    """(grads name, variables) of ``apply_gradients(zip(grads, variables))``."""
    if len(call.args) != 1:
        return None
    inner = call.args[0].value
    if isinstance(inner, cst.Call) and code(inner.func) == "zip" and len(inner.args) == 2:
        grads = inner.args[0].value
        if isinstance(grads, cst.Name):
            return grads.value, inner.args[1].value
    return None


def _gradient_assign(stmt: cst.BaseStatement, tape: str) -> tuple[str, cst.BaseExpression] | None:
    """(grads name, loss) of ``grads = tape.gradient(loss, variables)``."""
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Assign):
        assign = stmt.body[0]
        call = assign.value
        if (
            len(assign.targets) == 1
            and isinstance(assign.targets[0].target, cst.Name)
            and isinstance(call, cst.Call)
            and code(call.func) == f"{tape}.gradient"
            and len(call.args) >= 2
        ):
            return assign.targets[0].target.value, call.args[0].value
    return None


def _in_place_clip(assign: cst.Assign, resolve) -> tuple[cst.Call, cst.Tuple] | None:
    """The call and targets of ``g, norm = tf.clip_by_global_norm(g, c)`` (or its rule's
    translation, the rule having run on the call first): the form a step turns into
    clip_grad_norm_ (None for any other statement)."""
    call, target = assign.value, assign.targets[0].target
    if (
        len(assign.targets) == 1
        and isinstance(call, cst.Call)
        and (resolve(call.func) == CLIP_GLOBAL_NORM or code(call.func) == CLIP_TRANSLATED)
        and len(call.args) == 2
        and isinstance(target, cst.Tuple)
        and len(target.elements) == 2
        and code(target.elements[0].value) == code(call.args[0].value)
    ):
        return call, target
    return None


class TrainingStep(Pass):
    bindings = Bindings()

    def __init__(self, ctx):
        super().__init__(ctx)
        self.natives: set[str] = set()  # optimizers translated to a native torch one (no learning_rate)

    @classmethod
    def reads_whole_tree(cls, source: str, rules) -> bool:
        return _TRAINING.search(source) is not None

    def prepare(self, module: cst.Module) -> set[int]:
        ctx = self.ctx
        if not self.reads_whole_tree(ctx.source, ctx.rules):
            return set()
        self.bindings = collect(
            module, lambda n: ctx.imports.resolve(n, star_names=ctx.star_names), is_optimizer, is_loss, lambda c: None
        )
        finder = _ApplyFinder()
        module.visit(finder)
        for name, owners in finder.owners.items():
            if name in self.bindings.optimizers:
                self.bindings.optimizers[name] = Optimizer(owners)
        ctx.trained_models = {o for owners in finder.owners.values() for o in (owners or ())}
        optimizers = {name.rpartition(":")[2] for name in self.bindings.optimizers}
        return (
            _step_overrides(module)
            | statements_naming(module, self.bindings.loss_names() | ctx.trained_models | ctx.keras_models)
            | statements_naming(module, optimizers, "learning_rate")
        )

    # --- train_step / test_step overrides --------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        info = self.ctx.current_class
        if node.name.value not in STEP_OVERRIDES or info is None or not info.is_module:
            return
        if not isinstance(self.ctx.parent(2), cst.ClassDef):
            return  # a function inside a method, not the override
        self.ctx.report(
            node,
            ERROR,
            "training-step",
            f"{node.name.value}() overrides Keras' step of fit()/evaluate(), which is not translated: the "
            "translated fit loop runs its own step and never calls it, and a torch module has no self.optimizer, "
            "self.compute_loss or self.metrics; write the step into the training loop",
        )

    # --- the learning rate (learning_rate.py) -----------------------------------------------
    def _native(self, optimizer: str | None) -> bool:
        return optimizer is not None and key(optimizer, self.ctx.class_name) in self.natives

    def _known(self, optimizer: str | None) -> bool:
        return optimizer is not None and self.bindings.optimizers.get(key(optimizer, self.ctx.class_name)) is not None

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        optimizer = learning_rate.learning_rate_of(original)
        if self._native(optimizer):
            return learning_rate.first_group_lr(optimizer)  # type: ignore[arg-type]
        return updated

    def leave_Expr(self, original: cst.Expr, updated: cst.Expr) -> cst.BaseSmallStatement:
        """``optimizer.learning_rate.assign(v)`` -> ``... = v``."""
        optimizer = learning_rate.method_on_learning_rate(original.value, "assign")
        call = updated.value
        if not self._known(optimizer) or not isinstance(call, cst.Call) or len(call.args) != 1:
            return updated
        target = call.func.value if isinstance(call.func, cst.Attribute) else None
        assign = None if target is None else learning_rate.assignment(target, call.args[0].value)
        return updated if assign is None else assign

    # --- loss objects: (y_true, y_pred) -> (input, target) ---------------------------------
    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if self.bindings.is_loss(original.func, self.ctx.class_name):
            return swap_loss_arguments(updated)
        numpy = learning_rate.method_on_learning_rate(original, "numpy")
        if self._known(numpy) and not updated.args and isinstance(updated.func, cst.Attribute):
            return updated.func.value  # a Python float already
        return updated

    def visit_Call(self, node: cst.Call) -> None:
        if self.ctx.resolve(node.func) == TAPE:
            self.ctx.skip.add(id(node))  # translated with the step below, or reported there

    # --- the optimizer's parameters ------------------------------------------------------
    def leave_Assign(self, original: cst.Assign, updated: cst.Assign) -> cst.Assign:
        if len(original.targets) != 1 or not isinstance(updated.value, cst.Call):
            return updated
        optimizer = self.bindings.optimizer(original.targets[0].target, self.ctx.class_name)
        if optimizer is not None:
            name = key(code(original.targets[0].target), self.ctx.class_name)
            native = code(updated.value.func).startswith(learning_rate.NATIVE)
            (self.natives.add if native else self.natives.discard)(name)
        args = updated.value.args
        if optimizer is None or not args or code(args[0].value) != PARAMS:
            return updated
        if not optimizer.owners:
            self.ctx.report(
                original,
                ERROR,
                "training-step",
                "the optimizer's parameters are not known: this file applies its gradients to no "
                "model's trainable_variables",
            )
            return updated
        first = args[0].with_changes(value=expression(_parameters(optimizer.owners)))
        return updated.with_changes(value=updated.value.with_changes(args=[first, *args[1:]]))

    # --- blocks that hold a tape ---------------------------------------------------------------
    def leave_IndentedBlock(self, original: cst.IndentedBlock, updated: cst.IndentedBlock) -> cst.IndentedBlock:
        body = self._rewrite(list(original.body), list(updated.body))
        return updated if body is None else updated.with_changes(body=body)

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        body = self._rewrite(list(original.body), list(updated.body))
        return updated if body is None else updated.with_changes(body=body)

    def _rewrite(self, originals: list, stmts: list) -> list | None:
        if not any(self._tape(s) is not None for s in stmts) and not self._eval_calls(stmts):
            return None
        out: list = []
        i = 0
        while i < len(stmts):
            stmt = stmts[i]
            tape = self._tape(stmt)
            step = self._step(stmts, i, tape) if tape is not None else None
            if step is None:
                if tape is not None:
                    self.ctx.keep_framework_name(stmt.items[0].item.func)
                    why = "this tape's gradients are not applied by an optimizer in this block"
                    stmt = self._mark(stmt, originals, why)
                out.extend(self._eval_switch(stmt))
                i += 1
                continue
            end, lines = step
            out.extend(lines)
            self.ctx.target_imports.add("import torch")
            i = end + 1
        return out if len(out) != len(stmts) or any(a is not b for a, b in zip(out, stmts)) else None

    def _tape(self, stmt: cst.BaseStatement) -> str | None:
        """The tape's name of ``with tf.GradientTape() as tape:``."""
        if isinstance(stmt, cst.With) and len(stmt.items) == 1:
            item = stmt.items[0]
            if isinstance(item.item, cst.Call) and self.ctx.resolve(item.item.func) == TAPE:
                if item.asname is not None and isinstance(item.asname.name, cst.Name):
                    return item.asname.name.value
        return None

    def _step(self, stmts: list, w: int, tape: str) -> tuple[int, list] | None:
        """The torch statements for the tape at ``w`` and what follows it up to apply_gradients."""
        gradient = _gradient_assign(stmts[w + 1], tape) if w + 1 < len(stmts) else None
        if gradient is None:
            return None
        grads, loss = gradient
        for t in range(w + 2, len(stmts)):
            apply = _apply_call(stmts[t])
            if apply is None:
                continue
            parts = _zip_parts(apply)
            if parts is None or parts[0] != grads:
                return None
            owners = _owners(parts[1])
            middle = [self._clip(s, grads, owners) for s in stmts[w + 2 : t]]
            if owners is None or any(m is None for m in middle):
                return None
            optimizer = code(apply.func.value)  # type: ignore[attr-defined]
            with_ = stmts[w]
            body = [_strip_training(s, set(owners)) for s in with_.body.body]
            head = [statement(f"{o}.train()") for o in owners]
            head[0] = head[0].with_changes(leading_lines=with_.leading_lines)
            lines = [
                *head,
                statement(f"{optimizer}.zero_grad()"),
                *body,
                statement(f"{code(loss)}.backward()").with_changes(leading_lines=stmts[w + 1].leading_lines),
                *middle,
                stmts[t].with_changes(body=[cst.Expr(expression(f"{optimizer}.step()"))]),
            ]
            return t, lines
        return None

    def _clip(self, stmt: cst.BaseStatement, grads: str, owners: tuple[str, ...] | None) -> cst.BaseStatement | None:
        """A statement between the gradient and the update: kept when it does not touch the
        gradients; ``grads, _ = tf.clip_by_global_norm(grads, c)`` -> ``clip_grad_norm_``;
        anything else that uses them is not translated (None)."""
        text = code(stmt)
        if not re.search(rf"\b{re.escape(grads)}\b", text):
            return stmt
        if owners is None or not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
            return None
        small = stmt.body[0]
        found = _in_place_clip(small, self.ctx.resolve) if isinstance(small, cst.Assign) else None
        if found is None or code(found[1].elements[0].value) != grads:
            return None
        call, target = found
        norm = code(target.elements[1].value)
        clip = f"torch.nn.utils.clip_grad_norm_({_parameters(owners)}, {code(call.args[1].value)})"
        line = clip if norm == "_" else f"{norm} = {clip}"
        self.ctx.target_imports.add("import torch")
        self.ctx.maybe_unused_helpers.add(CLIP_TRANSLATED)  # unless another clip still uses it
        return statement(line).with_changes(leading_lines=stmt.leading_lines)

    # --- training=False calls outside a step ---------------------------------------------------
    def _eval_calls(self, stmts: list) -> bool:
        return any(self._evaluated(s) for s in stmts)

    def _evaluated(self, stmt: cst.BaseStatement) -> list[str]:
        if not isinstance(stmt, cst.SimpleStatementLine):
            return []
        text = code(stmt)
        models = self.ctx.trained_models | self.ctx.keras_models  # a Keras model called training=False
        return [m for m in sorted(models) if re.search(rf"\b{re.escape(m)}\(.*training=False", text)]

    def _eval_switch(self, stmt) -> list:
        models = self._evaluated(stmt)
        if not models:
            return [stmt]
        switches = [statement(f"{m}.eval()") for m in models]
        switches[0] = switches[0].with_changes(leading_lines=stmt.leading_lines)
        # outside a tape Keras records no gradients: torch.no_grad() says the same
        inner = _strip_training(stmt.with_changes(leading_lines=[]), set(models))
        block = cst.With(items=[cst.WithItem(expression("torch.no_grad()"))], body=cst.IndentedBlock(body=[inner]))
        self.ctx.target_imports.add("import torch")
        return [*switches, block]

    def _mark(self, stmt, originals: list, message: str):
        original = next((o for o in originals if self._tape(o) is not None), originals[0])
        return mark_line(self.ctx, stmt, original, "training-step", message)


class _ApplyFinder(cst.CSTVisitor):
    """optimizer name -> the owners of the variables its ``apply_gradients`` calls update."""

    def __init__(self) -> None:
        self.owners: dict[str, tuple[str, ...] | None] = {}
        self.classes: list[str] = []

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes.append(node.name.value)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.classes.pop()

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "apply_gradients":
            parts = _zip_parts(node)
            owners = _owners(parts[1]) if parts else None
            name = key(code(node.func.value), self.classes[-1] if self.classes else None)
            if name in self.owners and self.owners[name] != owners:
                owners = None
            self.owners[name] = owners


def _strip_training(stmt: cst.BaseStatement, models: set[str]) -> cst.BaseStatement:
    """``model(x, training=True)`` -> ``model(x)`` for the trained models: torch's mode is the
    module's, set by train() / eval()."""

    class _T(cst.CSTTransformer):
        def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
            if code(updated.func) not in models:
                return updated
            args = [a for a in updated.args if not (a.keyword is not None and a.keyword.value == "training")]
            if len(args) == len(updated.args):
                return updated
            if args:
                args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            return updated.with_changes(args=args)

    return stmt.visit(_T())  # type: ignore[return-value]


def _step_overrides(module: cst.Module) -> set[int]:
    """Ids of the classes that define train_step / test_step and of those methods: visited
    (and reported) although they may name no framework."""
    found: set[int] = set()
    for stmt in module.body:
        if isinstance(stmt, cst.ClassDef) and isinstance(stmt.body, cst.IndentedBlock):
            for inner in stmt.body.body:
                if isinstance(inner, cst.FunctionDef) and inner.name.value in STEP_OVERRIDES:
                    found |= {id(stmt), id(inner)}
    return found
