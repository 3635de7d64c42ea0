"""PyTorch's training step -> a ``tf.GradientTape`` step.

    optimizer.zero_grad()                      with tf.GradientTape() as tape:
    out = model(x)                                 out = model(x, training=True)
    loss = criterion(out, y)           ->          loss = criterion(y, out)
    loss.backward()                            grads = tape.gradient(loss, model.trainable_variables)
    clip_grad_norm_(model.parameters(), 1.0)   grads, _ = tf.clip_by_global_norm(grads, 1.0)
    optimizer.step()                           optimizer.apply_gradients(zip(grads, model.trainable_variables))

The tape records from the statement after ``zero_grad()`` (or, without one in the block, from
the first statement the loss depends on) to ``backward()``. The parameters are those the
optimizer was built with (passes/common/training.py). Model calls inside the tape get
``training=True``: PyTorch's ``model.train()`` mode, which Keras takes per call.
What is not translated stays, marked and reported: a ``backward()`` whose ``step()`` is not in
the same block (gradient accumulation), an optimizer whose parameters the file does not show,
``GradScaler`` steps (mixed precision).
"""

from __future__ import annotations

import re

import libcst as cst

from ...cstutil import code, expression, statement
from ...report import ERROR
from ..common.base import Pass
from ..common.training import Bindings, Optimizer, collect, statements_naming, swap_loss_arguments

TAPE = "tf.GradientTape"
TF_IMPORT = "import tensorflow as tf"
CLIP_NORM = frozenset({"torch.nn.utils.clip_grad_norm_", "torch.nn.utils.clip_grad.clip_grad_norm_"})
CLIP_VALUE = frozenset({"torch.nn.utils.clip_grad_value_", "torch.nn.utils.clip_grad.clip_grad_value_"})
_PARAMETERS = frozenset({"parameters"})


def is_optimizer(qual: str) -> bool:
    head, _, name = qual.rpartition(".")
    return head == "torch.optim" and name[:1].isupper() and name != "Optimizer"


def is_loss(qual: str) -> bool:
    head, _, name = qual.rpartition(".")
    return head in ("torch.nn", "torch.nn.modules.loss") and name.endswith("Loss")


def owners_of(call: cst.Call) -> tuple[str, ...] | None:
    """``optim.SGD(model.parameters(), ...)`` -> ("model",); also ``list(m.parameters())``,
    ``itertools.chain(a.parameters(), b.parameters())``, ``[*a.parameters(), *b.parameters()]``,
    ``filter(lambda p: p.requires_grad, m.parameters())``. None for anything else (a name, a
    list of parameter groups)."""
    params = next((a.value for a in call.args if a.keyword is None or a.keyword.value == "params"), None)
    return None if params is None else _owners(params)


def _owners(node: cst.BaseExpression) -> tuple[str, ...] | None:
    if isinstance(node, cst.Call):
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in _PARAMETERS and not node.args:
            return (code(func.value),)
        name = code(func)
        if name in ("list", "tuple") and len(node.args) == 1:
            return _owners(node.args[0].value)
        if name in ("itertools.chain", "chain"):
            parts = [_owners(a.value) for a in node.args]
            return None if any(p is None for p in parts) else tuple(o for p in parts for o in p)  # type: ignore[union-attr]
        if name == "filter" and len(node.args) == 2 and "requires_grad" in code(node.args[0].value):
            return _owners(node.args[1].value)
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
        left, right = _owners(node.left), _owners(node.right)
        return None if left is None or right is None else left + right
    if isinstance(node, (cst.List, cst.Tuple)) and node.elements:
        parts = [_owners(e.value) if isinstance(e, cst.StarredElement) else None for e in node.elements]
        return None if any(p is None for p in parts) else tuple(o for p in parts for o in p)  # type: ignore[union-attr]
    if isinstance(node, cst.ListComp) and isinstance(node.for_in.iter, cst.Call):
        return _owners(node.for_in.iter)
    return None


def _variables(owners: tuple[str, ...]) -> cst.BaseExpression:
    return expression(" + ".join(f"{o}.trainable_variables" for o in owners))


def _method_call(stmt: cst.BaseStatement, method: str) -> cst.Call | None:
    """The call when ``stmt`` is the single expression statement ``<receiver>.<method>(...)``."""
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr):
        call = stmt.body[0].value
        if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and call.func.attr.value == method:
            return call
    return None


def _receiver(call: cst.Call) -> cst.BaseExpression:
    return call.func.value  # type: ignore[attr-defined]


# what a file with training code says (others keep the fast paths: stand-ins, pieces)
_TRAINING = re.compile(r"\.backward\(|\.zero_grad\(|Loss\(|\boptim\b")


class TrainingStep(Pass):
    bindings = Bindings()

    @classmethod
    def reads_whole_tree(cls, source: str, rules) -> bool:
        return _TRAINING.search(source) is not None

    def prepare(self, module: cst.Module) -> set[int]:
        ctx = self.ctx
        self.names = set(re.findall(r"\b\w+\b", ctx.source))
        if not self.reads_whole_tree(ctx.source, ctx.rules):
            return set()
        self.bindings = collect(
            module, lambda n: ctx.imports.resolve(n, star_names=ctx.star_names), is_optimizer, is_loss, owners_of
        )
        ctx.trained_models = self._models()
        return statements_naming(module, self.bindings.losses)

    # --- loss objects: (prediction, target) -> (y_true, y_pred) ----------------------------
    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if self.bindings.is_loss(original.func):
            return swap_loss_arguments(updated)
        return updated

    def visit_Call(self, node: cst.Call) -> None:
        qual = self.ctx.resolve(node.func)
        if qual in CLIP_NORM or qual in CLIP_VALUE:
            self.ctx.skip.add(id(node))  # translated here with the step, or reported here

    # --- blocks that hold a step ---------------------------------------------------------------
    def leave_IndentedBlock(self, original: cst.IndentedBlock, updated: cst.IndentedBlock) -> cst.IndentedBlock:
        body = self._rewrite(list(original.body), list(updated.body))
        return updated if body is None else updated.with_changes(body=body)

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        body = self._rewrite(list(original.body), list(updated.body))
        return updated if body is None else updated.with_changes(body=body)

    def _rewrite(self, originals: list, stmts: list) -> list | None:
        if not any(_method_call(s, "backward") is not None or self._is_zero_grad(s) or self._is_step(s) for s in stmts):
            return None
        out: list = []
        start = 0  # statements before it are already in `out`
        changed = False
        for b, stmt in enumerate(stmts):
            backward = _method_call(stmt, "backward")
            if backward is None or b < start:
                continue
            step = self._step_after(stmts, b)
            if step is None:
                continue  # reported with the leftovers below
            t, optimizer = step
            if optimizer is None or not optimizer.owners:
                continue  # reported below
            variables = code(_variables(optimizer.owners))
            zero = self._zero_grad_before(stmts, start, b)
            first = self._first_dependency(stmts, start, b, _receiver(backward))
            if zero is not None:  # from zero_grad() on, unless the loss needs what comes before
                first = min(first, zero + 1)
            out.extend(s for i, s in enumerate(stmts[start:first], start) if i != zero)
            tape, grads = self._fresh("tape"), self._fresh("grads")
            recorded = [s for i, s in enumerate(stmts[first:b], first) if i != zero]
            loss = code(_receiver(backward))
            if not isinstance(_receiver(backward), cst.Name):  # `criterion(model(x), y).backward()`
                loss, computed = self._fresh("loss"), loss
                recorded.append(statement(f"{loss} = {computed}"))
            out.append(self._tape(recorded, tape, stmt))
            out.append(statement(f"{grads} = {tape}.gradient({loss}, {variables})"))
            out.extend(self._clip(middle, grads) for middle in stmts[b + 1 : t])
            receiver = code(_receiver(_method_call(stmts[t], "step")))  # type: ignore[arg-type]
            apply = expression(f"{receiver}.apply_gradients(zip({grads}, {variables}))")
            out.append(stmts[t].with_changes(body=[cst.Expr(apply)]))
            start = t + 1
            changed = True
        out.extend(stmts[start:])
        if changed:
            out = [s for s in out if not self._is_zero_grad(s)]  # Keras computes fresh gradients at each tape
            self.ctx.target_imports.add(TF_IMPORT)
        stepped = any(self._is_step(s) for s in out)
        marked = [self._leftover(s, originals, stepped) for s in out]
        if not changed and len(out) == len(stmts) and all(a is b for a, b in zip(marked, stmts)):
            return None
        return marked

    def _step_after(self, stmts: list, b: int) -> tuple[int, Optimizer | None] | None:
        for t in range(b + 1, len(stmts)):
            call = _method_call(stmts[t], "step")
            if call is not None and not call.args:
                optimizer = self.bindings.optimizer(_receiver(call))
                if optimizer is not None or self._maybe_optimizer(_receiver(call)):
                    return t, optimizer
            if _method_call(stmts[t], "backward") is not None:
                return None
        return None

    def _maybe_optimizer(self, node: cst.BaseExpression) -> bool:
        """An unknown receiver named like an optimizer (a parameter no call site explains)."""
        text = code(node).rsplit(".", 1)[-1].lower()
        return "opt" in text and node is not None

    def _is_step(self, stmt: cst.BaseStatement) -> bool:
        call = _method_call(stmt, "step")
        return call is not None and not call.args and self.bindings.optimizer(_receiver(call)) is not None

    def _zero_grad_before(self, stmts: list, start: int, b: int) -> int | None:
        for z in range(b - 1, start - 1, -1):
            if self._is_zero_grad(stmts[z]):
                return z
        return None

    def _is_zero_grad(self, stmt: cst.BaseStatement) -> bool:
        call = _method_call(stmt, "zero_grad")
        if call is None:
            return False
        receiver = _receiver(call)
        return (
            self.bindings.optimizer(receiver) is not None
            or self._maybe_optimizer(receiver)
            or "model" in code(receiver)
        )

    def _first_dependency(self, stmts: list, start: int, b: int, loss: cst.BaseExpression) -> int:
        """The first statement of ``stmts[start:b]`` the loss depends on (through names)."""
        needed = _names(loss)
        first = b
        for i in range(b - 1, start - 1, -1):
            stmt = stmts[i]
            bound = _bound(stmt)
            if bound & needed:
                first = i
                needed |= _names(stmt)
        # statements that only unpack or slice data (`x, y = batch`) need no tape: it starts at the
        # first that computes something
        while first < b and not _calls_something(stmts[first]):
            first += 1
        return first

    def _tape(self, body: list, tape: str, head: cst.BaseStatement) -> cst.With:
        body = [_training_calls(s, self._models()) for s in body] or [statement("pass")]
        leading = getattr(body[0], "leading_lines", ())
        body[0] = body[0].with_changes(leading_lines=[])
        return cst.With(
            items=[cst.WithItem(expression(f"{TAPE}()"), asname=cst.AsName(cst.Name(tape)))],
            body=cst.IndentedBlock(body=body),
            leading_lines=leading,
        )

    def _models(self) -> set[str]:
        return {o for opt in self.bindings.optimizers.values() for o in (opt.owners or ())}

    def _clip(self, stmt: cst.BaseStatement, grads: str) -> cst.BaseStatement:
        """``clip_grad_norm_(params, max_norm)`` between backward and step -> ``tf.clip_by_global_norm``."""
        if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
            return stmt
        small = stmt.body[0]
        call = small.value if isinstance(small, (cst.Expr, cst.Assign)) else None
        if not isinstance(call, cst.Call):
            return stmt
        qual = self.ctx.resolve(call.func)
        args = [a for a in call.args if a.keyword is None]
        keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
        limit = args[1].value if len(args) > 1 else keywords.get("max_norm", keywords.get("clip_value"))
        if qual in CLIP_NORM and limit is not None and set(keywords) <= {"parameters", "max_norm"}:
            norm = code(small.targets[0].target) if isinstance(small, cst.Assign) else "_"
            line = f"{grads}, {norm} = tf.clip_by_global_norm({grads}, {code(limit)})"
            return statement(line).with_changes(leading_lines=stmt.leading_lines)
        if (
            qual in CLIP_VALUE
            and limit is not None
            and isinstance(small, cst.Expr)
            and set(keywords) <= {"parameters", "clip_value"}
        ):
            value = code(limit)
            line = f"{grads} = [tf.clip_by_value(g, -{value}, {value}) for g in {grads}]"
            return statement(line).with_changes(leading_lines=stmt.leading_lines)
        return stmt

    def _fresh(self, name: str) -> str:
        return name if name not in self.names else f"{name}_"

    # --- what stays ------------------------------------------------------------------------
    def _leftover(self, stmt: cst.BaseStatement, originals: list, stepped: bool) -> cst.BaseStatement:
        """A ``backward()`` or gradient clipping this pass did not turn into a tape step: marked
        on its line and reported."""
        backward = _method_call(stmt, "backward")
        if backward is not None:
            why = (
                "the optimizer's parameters are not known here: build it from model.parameters() in this "
                "file, or pass it to this function from where it is built"
                if stepped
                else "no optimizer step follows in this block (gradient accumulation and GradScaler steps "
                "are not translated)"
            )
            return self._mark(stmt, originals, f"{code(backward)}: {why}")
        if self._is_zero_grad(stmt) or self._is_step(stmt):
            return self._mark(
                stmt, originals, f"{code(stmt).strip()}: not part of a translated training step in this block"
            )
        clip = _clip_call(stmt)
        if clip is not None and self.ctx.resolve(clip.func) in CLIP_NORM | CLIP_VALUE:
            return self._mark(stmt, originals, f"{code(clip.func)} outside a training step is not translated")
        return stmt

    def _mark(self, stmt, originals: list, message: str):
        text = code(stmt).strip()
        original = next((o for o in originals if code(o).strip() == text), None)
        original = original or next((o for o in originals if _method_call(o, "backward") is not None), originals[0])
        marks = len(self.ctx.pending_marks)
        self.ctx.report(original, ERROR, "training-step", message)
        added = self.ctx.pending_marks[marks:]
        del self.ctx.pending_marks[marks:]  # the mark goes on this line, not on the enclosing statement
        comments = [cst.EmptyLine(comment=cst.Comment(m)) for m in added]
        return stmt.with_changes(leading_lines=[*stmt.leading_lines, *comments])


def _clip_call(stmt: cst.BaseStatement) -> cst.Call | None:
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
        small = stmt.body[0]
        value = small.value if isinstance(small, (cst.Expr, cst.Assign)) else None
        return value if isinstance(value, cst.Call) else None
    return None


def _names(node: cst.CSTNode) -> set[str]:
    found: set[str] = set()

    class _V(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            found.add(n.value)

    node.visit(_V())
    return found


def _calls_something(stmt: cst.BaseStatement) -> bool:
    found = False

    class _V(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            nonlocal found
            found = True

    stmt.visit(_V())
    return found


def _bound(stmt: cst.BaseStatement) -> set[str]:
    """Names a statement assigns (targets of assignments, for loops, with ... as)."""
    found: set[str] = set()
    if isinstance(stmt, cst.SimpleStatementLine):
        for small in stmt.body:
            if isinstance(small, cst.Assign):
                for t in small.targets:
                    found |= _names(t.target)
            elif isinstance(small, (cst.AugAssign, cst.AnnAssign)):
                found |= _names(small.target)
    elif isinstance(stmt, (cst.If, cst.For, cst.While, cst.With, cst.Try)):
        found |= _names(stmt)  # a compound statement: whatever it mentions may be bound
    return found


def _training_calls(stmt: cst.BaseStatement, models: set[str]) -> cst.BaseStatement:
    """``model(x)`` -> ``model(x, training=True)`` for the models being trained."""

    class _T(cst.CSTTransformer):
        def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.Call:
            if code(updated.func) in models and not any(
                a.keyword and a.keyword.value == "training" for a in updated.args
            ):
                args = list(updated.args)
                if args:
                    args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
                tight = cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace(""))
                args.append(cst.Arg(cst.Name("True"), keyword=cst.Name("training"), equal=tight))
                return updated.with_changes(args=args)
            return updated

    return stmt.visit(_T())  # type: ignore[return-value]
