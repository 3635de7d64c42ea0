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
Gradient accumulation (``step()`` under an ``if`` after the block's ``backward()``) sums
each tape's gradients (accumulation.py); ``GradScaler`` steps are the plain step
(loss_scaling.py); ``param_groups[0]["lr"]`` of a native Keras optimizer is its
``learning_rate`` (learning_rate.py). What is not translated stays, marked and reported: a
``backward()`` with no ``step()`` after it in the same block (or an accumulating step in no
loop), an optimizer whose parameters the file does not show.
"""

from __future__ import annotations

import re
from typing import cast

import libcst as cst

from ...cstutil import code, expression, statement
from ...report import INFO, WARNING
from ..common.base import Pass
from ..common.marks import mark_line
from ..common.training import Bindings, collect, key, statements_naming, swap_loss_arguments
from . import accumulation, learning_rate, loss_scaling

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

    def __init__(self, ctx):
        super().__init__(ctx)
        self.held: set[int] = set()  # ids of if-bodies an accumulating block rewrites itself
        self.starts: dict[int, list[str]] = {}  # id(outermost loop) -> the gradient sums it starts
        self.sums: dict[str, str] = {}  # in this function: zero_grad()'s receiver -> the sum it empties
        self.natives: set[str] = set()  # optimizers translated to a native Keras one (no param_groups)
        self.scalers: set[str] = set()  # names of GradScalers (loss_scaling.py)

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
        optimizers = {name.rpartition(":")[2] for name in self.bindings.optimizers}
        self.scalers = loss_scaling.scaler_names(module, lambda n: ctx.imports.resolve(n, star_names=ctx.star_names))
        scaled = {f"{s}.{m}" for s in self.scalers for m in loss_scaling.METHODS}
        return statements_naming(module, self.bindings.loss_names() | scaled) | statements_naming(
            module, optimizers, "param_groups"
        )

    # --- param_groups of a native Keras optimizer (learning_rate.py) ---------------------------
    def leave_Assign(self, original: cst.Assign, updated: cst.Assign) -> cst.Assign:
        if len(original.targets) == 1 and isinstance(updated.value, cst.Call):
            target = original.targets[0].target
            if self.bindings.optimizer(target, self.ctx.class_name) is not None:
                name = key(code(target), self.ctx.class_name)
                native = code(updated.value.func).startswith(learning_rate.NATIVE)
                (self.natives.add if native else self.natives.discard)(name)
        return updated

    def _native(self, optimizer: str | None) -> bool:
        return optimizer is not None and key(optimizer, self.ctx.class_name) in self.natives

    def leave_Subscript(self, original: cst.Subscript, updated: cst.Subscript) -> cst.BaseExpression:
        optimizer = learning_rate.first_lr_of(original)
        if not self._native(optimizer):
            return updated
        return learning_rate.learning_rate(optimizer, learning_rate.is_target(original, self.ctx.parent()))  # type: ignore[arg-type]

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        optimizer = learning_rate.groups_of(original)
        if not self._native(optimizer):
            return updated
        self.ctx.helpers_used.add(learning_rate.GROUP_HELPER)
        self.ctx.maybe_unused_helpers.add(learning_rate.GROUP_HELPER)  # gone where [0]["lr"] replaced it
        return learning_rate.groups(optimizer)  # type: ignore[arg-type]

    # --- loss objects: (prediction, target) -> (y_true, y_pred) ----------------------------
    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if self.bindings.is_loss(original.func, self.ctx.class_name):
            return swap_loss_arguments(updated)
        return updated

    def visit_Call(self, node: cst.Call) -> None:
        qual = self.ctx.resolve(node.func)
        if qual in CLIP_NORM or qual in CLIP_VALUE:
            self.ctx.skip.add(id(node))  # translated here with the step, or reported here
        if qual in loss_scaling.GRAD_SCALERS or loss_scaling.scaler_call(node, self.scalers):
            self.ctx.skip.add(id(node))  # the scaler goes (loss_scaling.py)
        if (
            isinstance(node.func, cst.Attribute)
            and node.func.attr.value == "backward"
            and not node.args
            and isinstance(self.ctx.parent(), cst.Expr)
        ):
            self.ctx.skip.add(id(node))  # `loss.backward()`: this pass makes it a tape step or marks it

    # --- blocks that hold a step ---------------------------------------------------------------
    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self._hold(list(node.body))

    def visit_Module(self, node: cst.Module) -> None:
        self._hold(list(node.body))

    def _hold(self, stmts: list) -> None:
        """The ifs of an accumulating block are rewritten with it, not on their own."""
        if not any(self._accumulates(stmts, t) for t in range(len(stmts))):
            return
        for stmt in stmts:
            if accumulation.step_if(stmt, self._is_step) or accumulation.zero_grad_if(stmt, self._is_zero_grad):
                self.held.add(id(stmt.body))

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        self.sums = {}
        return updated

    def leave_IndentedBlock(self, original: cst.IndentedBlock, updated: cst.IndentedBlock) -> cst.IndentedBlock:
        if id(original) in self.held:
            return updated
        body = self._rewrite(list(original.body), list(updated.body))
        return updated if body is None else updated.with_changes(body=body)

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        body = self._rewrite(list(original.body), list(updated.body))
        return updated if body is None else updated.with_changes(body=body)

    def _accumulates(self, stmts: list, t: int) -> bool:
        """Is ``stmts[t]`` an accumulating step (``if cond: optimizer.step()``) after a
        ``backward()`` of the block, of an optimizer the step can name the parameters of, in a loop?"""
        step = accumulation.step_if(stmts[t], self._is_step)
        if step is None or accumulation.outermost_loop(self.ctx.parents) is None:
            return False
        low = max(
            (k + 1 for k in range(t) if self._is_step(stmts[k]) or accumulation.step_if(stmts[k], self._is_step)),
            default=0,
        )
        optimizer = self.bindings.optimizer(_receiver(_method_call(step, "step")), self.ctx.class_name)  # type: ignore[arg-type]
        backs = [b for b in range(low, t) if _method_call(stmts[b], "backward") is not None]
        return bool(backs) and optimizer is not None and bool(optimizer.owners) and self._visible(optimizer.owners)  # type: ignore[arg-type]

    def _start_sums(self, originals: list, stmts: list) -> list:
        """``grad_sum = None`` before each outermost loop that accumulates, in place of a
        ``zero_grad()`` just before it."""
        if not any(id(o) in self.starts for o in originals):
            return stmts
        loops, updated = accumulation.loops_in(originals), accumulation.loops_in(stmts)
        out = list(stmts)
        for o, u in reversed(list(zip(loops, updated))):
            totals = self.starts.pop(id(originals[o]), None)
            if not totals:
                continue
            lines = [statement(f"{total} = None") for total in totals]
            at = u
            zero = self._zero_grad_before(out, u)
            if zero is not None:
                at = zero
                lines[0] = lines[0].with_changes(leading_lines=out[at].leading_lines)
                del out[at]
            elif out[u].leading_lines:  # comments above the loop stay above the loop's lines
                lines[0] = lines[0].with_changes(leading_lines=out[u].leading_lines)
                out[u] = out[u].with_changes(leading_lines=[])
            out[at:at] = lines
        return out

    def _unscaled(self, originals: list, stmts: list) -> list:
        """The block without its GradScaler (loss_scaling.py); the comments of what goes stay."""
        out, dropped = [], set()
        for stmt in stmts:
            plain = loss_scaling.unscaled(stmt, self.scalers, self._is_grad_scaler)
            if plain is loss_scaling.DROP and self._is_grad_scaler(stmt.body[0].value):
                original = next((o for o in originals if code(o).strip() == code(stmt).strip()), originals[0])
                self.ctx.report(
                    original,
                    WARNING,
                    "training-step",
                    "GradScaler dropped: in float32, scaling the loss and unscaling the gradients by a power of "
                    "two is exact, so the steps are the plain ones; a step whose gradients hold inf/NaN is "
                    "taken, where GradScaler skips it",
                )
            if plain is loss_scaling.DROP:
                dropped.add(id(stmt))
            out.append(stmt if plain is loss_scaling.DROP else plain)
        return _without(out, lambda s: id(s) in dropped)

    def _is_grad_scaler(self, node: cst.BaseExpression) -> bool:
        return isinstance(node, cst.Call) and self.ctx.resolve(node.func) in loss_scaling.GRAD_SCALERS

    def _zero_grad_before(self, stmts: list, loop: int) -> int | None:
        """A ``zero_grad()`` before the loop with no ``backward()`` between: where the sum starts."""
        for k in range(loop - 1, -1, -1):
            if self._is_zero_grad(stmts[k]):
                return k
            if ".backward(" in code(stmts[k]):
                return None
        return None

    def _rewrite(self, originals: list, stmts: list) -> list | None:
        if self.scalers:
            plain = self._unscaled(originals, stmts)
            if len(plain) != len(stmts) or any(a is not b for a, b in zip(plain, stmts)):
                return self._rewrite(originals, plain) or plain
        started = self._start_sums(originals, stmts)
        if started is not stmts:
            return self._rewrite(originals, started) or started
        if not any(_method_call(s, "backward") is not None or self._is_zero_grad(s) or self._is_step(s) for s in stmts):
            return None
        out: list = []
        pos: dict[int, int] = {}  # original index -> where its statement (or the tape holding it) is in out
        done = 0  # original statements before it are in out
        previous: tuple[int, int] | None = None  # (first recorded, step) of the block's previous step
        tapes = 0
        sums: dict[str, str] = {}  # receiver of an accumulating optimizer's zero_grad() -> its sum
        for t, stmt in enumerate(stmts):
            accumulating = self._accumulates(stmts, t)
            step = accumulation.step_if(stmt, self._is_step) if accumulating else stmt
            if not accumulating and not self._is_step(stmt):
                continue
            low = previous[1] + 1 if previous else 0
            backs = [b for b in range(low, t) if _method_call(stmts[b], "backward") is not None]
            optimizer = self.bindings.optimizer(_receiver(_method_call(step, "step")), self.ctx.class_name)  # type: ignore[arg-type]
            if not backs or optimizer is None or not optimizer.owners or not self._visible(optimizer.owners):
                continue  # reported with the leftovers below
            first = self._first_recorded(stmts, backs, low)
            nested = previous is not None and first <= previous[1]
            if nested:  # the loss needs what the previous step's tape computed: this tape holds it
                first = min(first, previous[0])  # type: ignore[index]
            for k in range(done, first):
                pos[k] = len(out)
                out.append(stmts[k])
            body: list = []
            if first < done:
                cut = pos[first]
                body, out[cut:] = out[cut:], []
            tape = self._fresh("tape") if not nested else self._fresh(f"tape{tapes + 1}")
            grads = self._fresh("grads") if not nested else self._fresh(f"grads{tapes + 1}")
            total = self._fresh("grad_sum" if not sums else f"grad_sum{len(sums) + 1}")
            names = []
            comments: list = []  # of the statements that go (zero_grad, backward): on the next one
            for k in range(max(first, done), backs[-1] + 1):
                if k in backs:
                    loss = _receiver(_method_call(stmts[k], "backward"))  # type: ignore[arg-type]
                    comments.extend(stmts[k].leading_lines)
                    if isinstance(loss, cst.Name):
                        names.append(loss.value)
                        continue
                    # `criterion(model(x), y).backward()`: computed on the tape
                    names.append(self._fresh("loss" if len(backs) == 1 else f"loss{len(names) + 1}"))
                    line = statement(f"{names[-1]} = {code(loss)}")
                elif self._is_zero_grad(stmts[k]) and accumulating:
                    line = accumulation.reset_line(total, stmts[k])
                elif self._is_zero_grad(stmts[k]):
                    comments.extend(stmts[k].leading_lines)
                    continue
                else:
                    line = stmts[k]
                body.append(line.with_changes(leading_lines=[*comments, *line.leading_lines]))
                comments = []
            variables = code(_variables(optimizer.owners))
            target = names[0] if len(names) == 1 else "[" + ", ".join(names) + "]"  # the gradient of their sum
            for k in range(first, t + 1):
                pos[k] = len(out)
            out.append(self._tape(body, tape))
            out.append(statement(f"{grads} = {tape}.gradient({target}, {variables})"))
            receiver = code(_receiver(_method_call(step, "step")))  # type: ignore[arg-type]
            if accumulating:
                out.append(accumulation.add_line(total, grads))
                out.extend(self._clip(middle, total) for middle in stmts[backs[-1] + 1 : t])
                out.append(self._accumulating_if(stmt, total, variables))
                sums[receiver] = total
                for owner in optimizer.owners:
                    sums.setdefault(owner, total)
                ifs = [o for o in originals if accumulation.step_if(o, self._is_step)]
                self._start_sum(total, ifs[min(len(sums), len(ifs)) - 1] if ifs else originals[0])
            else:
                out.extend(self._clip(middle, grads) for middle in stmts[backs[-1] + 1 : t])
                apply = expression(f"{receiver}.apply_gradients(zip({grads}, {variables}))")
                out.append(stmt.with_changes(body=[cst.Expr(apply)]))
            done, previous, tapes = t + 1, (first, t), tapes + 1
        out.extend(stmts[done:])
        self.sums.update(sums)
        if self.sums:  # zero_grad() empties the sum (in this block, in a condition, around the loop)
            out = [self._reset(s, self.sums) for s in out]
        if tapes:
            out = _without(out, self._is_zero_grad)  # Keras computes fresh gradients at each tape
            self.ctx.target_imports.add(TF_IMPORT)
        stepped = any(self._is_step(s) for s in out)
        marked = [self._leftover(s, originals, stepped) for s in out]
        if not tapes and len(out) == len(stmts) and all(a is b for a, b in zip(marked, stmts)):
            return None
        return marked

    def _accumulating_if(self, stmt: cst.If, total: str, variables: str) -> cst.If:
        """The condition's body: ``step()`` applies the sum, ``zero_grad()`` empties it,
        clipping clips it."""
        body = []
        for inner in cast(cst.IndentedBlock, stmt.body).body:
            if self._is_step(inner):
                receiver = code(_receiver(_method_call(inner, "step")))  # type: ignore[arg-type]
                apply = expression(f"{receiver}.apply_gradients(zip({total}, {variables}))")
                body.append(inner.with_changes(body=[cst.Expr(apply)]))
            elif self._is_zero_grad(inner):
                body.append(accumulation.reset_line(total, inner))
            else:
                body.append(self._clip(inner, total))
        return stmt.with_changes(body=stmt.body.with_changes(body=body))

    def _reset(self, stmt: cst.BaseStatement, sums: dict[str, str]) -> cst.BaseStatement:
        """``optimizer.zero_grad()`` (or ``model.zero_grad()``) of an accumulating optimizer,
        alone or in ``if cond:``, -> ``grad_sum = None``."""
        if accumulation.zero_grad_if(stmt, self._is_zero_grad):
            body = [self._reset(s, sums) for s in stmt.body.body]  # type: ignore[attr-defined]
            return stmt.with_changes(body=stmt.body.with_changes(body=body))  # type: ignore[attr-defined]
        call = _method_call(stmt, "zero_grad")
        if call is None or not self._is_zero_grad(stmt):
            return stmt
        total = sums.get(code(_receiver(call)), next(iter(sums.values())) if len(sums) == 1 else None)
        return stmt if total is None else accumulation.reset_line(total, stmt)

    def _start_sum(self, total: str, where: cst.CSTNode) -> None:
        loop = accumulation.outermost_loop(self.ctx.parents)
        if loop is None:
            return
        self.starts.setdefault(id(loop), []).append(total)
        self.ctx.report(
            where,
            INFO,
            "training-step",
            f"gradient accumulation: the gradients are summed in {total}, which starts empty before the loop "
            "(PyTorch's .grad keeps what an earlier call left unless zero_grad() ran)",
        )

    def _visible(self, owners: tuple[str, ...]) -> bool:
        """Are the owners' names bound where the step is (a local, a parameter, ``self``, a
        module-level name)? An optimizer built in one function from its local ``model`` and
        stepped in another that has no ``model`` is not translated (reported)."""
        for owner in owners:
            head = owner.split(".", 1)[0]
            if head != "self" and not any(head in scope for scope in self.ctx.scopes):
                if head not in self.ctx.imports.local_names:
                    return False
        return True

    def _first_recorded(self, stmts: list, backs: list[int], low: int) -> int:
        """Where the tape starts: the first statement the losses depend on (through names, in the
        whole block) that computes with a trained model or a loss, or what such a statement
        computed; statements that only prepare data (``x, y = batch``, ``torch.ones(n, 1)``) stay
        outside. Without one, right after ``zero_grad()``."""
        last = backs[-1]
        needed: set[str] = set()
        for b in backs:
            needed |= _names(_receiver(_method_call(stmts[b], "backward")))  # type: ignore[arg-type]
        slice_: list[int] = []
        for k in range(last - 1, -1, -1):
            if k in backs:
                continue
            if _bound(stmts[k]) & needed:
                slice_.append(k)
                needed |= _names(stmts[k])
        differentiable = set(self._models()) | self.bindings.loss_names()
        found: list[int] = []
        computed: set[str] = set()
        for k in sorted(slice_):
            text = _names(stmts[k]) | {code(n) for n in _attributes(stmts[k])}
            if text & (differentiable | computed):
                found.append(k)
                computed |= _bound(stmts[k])
        if found:
            return found[0]
        zero = next((k for k in range(backs[0] - 1, low - 1, -1) if self._is_zero_grad(stmts[k])), None)
        return zero + 1 if zero is not None else backs[0]

    def _maybe_optimizer(self, node: cst.BaseExpression) -> bool:
        """An unknown receiver named like an optimizer (a parameter no call site explains)."""
        text = code(node).rsplit(".", 1)[-1].lower()
        return "opt" in text and node is not None

    def _is_step(self, stmt: cst.BaseStatement) -> bool:
        call = _method_call(stmt, "step")
        if call is None or call.args:
            return False
        return self.bindings.optimizer(_receiver(call), self.ctx.class_name) is not None or self._maybe_optimizer(
            _receiver(call)
        )

    def _is_zero_grad(self, stmt: cst.BaseStatement) -> bool:
        call = _method_call(stmt, "zero_grad")
        if call is None:
            return False
        receiver = _receiver(call)
        return (
            self.bindings.optimizer(receiver, self.ctx.class_name) is not None
            or self._maybe_optimizer(receiver)
            or code(receiver) in self._models()
            or "model" in code(receiver)
        )

    def _tape(self, body: list, tape: str) -> cst.With:
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
                else "no optimizer step follows in this block (gradient accumulation is translated inside a loop only)"
            )
            return self._mark(stmt, originals, f"{code(backward)}: {why}")
        if self._is_zero_grad(stmt) or self._is_step(stmt):
            text = code(stmt.with_changes(leading_lines=[])).strip()
            return self._mark(stmt, originals, f"{text}: not part of a translated training step in this block")
        clip = _clip_call(stmt)
        if clip is not None and self.ctx.resolve(clip.func) in CLIP_NORM | CLIP_VALUE:
            return self._mark(stmt, originals, f"{code(clip.func)} outside a training step is not translated")
        return stmt

    def _mark(self, stmt, originals: list, message: str):
        text = code(stmt).strip()
        original = next((o for o in originals if code(o).strip() == text), None)
        original = original or next((o for o in originals if _method_call(o, "backward") is not None), originals[0])
        return mark_line(self.ctx, stmt, original, "training-step", message)


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


def _without(stmts: list, drop) -> list:
    """``stmts`` less those ``drop`` says, their comments kept on the next statement."""
    out: list = []
    comments: list = []
    for stmt in stmts:
        if drop(stmt):
            comments.extend(stmt.leading_lines)
            continue
        out.append(stmt.with_changes(leading_lines=[*comments, *stmt.leading_lines]) if comments else stmt)
        comments = []
    return out


def _attributes(node: cst.CSTNode) -> list[cst.Attribute]:
    found: list[cst.Attribute] = []

    class _V(cst.CSTVisitor):
        def visit_Attribute(self, n: cst.Attribute) -> None:
            found.append(n)

    node.visit(_V())
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
