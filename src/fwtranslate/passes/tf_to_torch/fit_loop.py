"""Keras' ``compile`` / ``fit`` / ``evaluate`` / ``predict`` -> the plain PyTorch code they run.

    model.compile(optimizer="sgd", loss="mse")         optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
                                                        loss_fn = <keras.losses.MeanSquaredError() translated>
    h = model.fit(x, y, batch_size=4, epochs=3)   ->   x_fit, y_fit = as_model_input(x), as_model_input(y)
                                                        h = types.SimpleNamespace(history={"loss": []})
                                                        for epoch in range(3):
                                                            model.train()
                                                            ... one zero_grad / backward / step per batch

The optimizer and the loss go through the rules (a string is Keras' class with its defaults:
``"adam"`` -> ``keras.optimizers.Adam()``, ``"mse"`` -> ``keras.losses.MeanSquaredError()``), so
they translate exactly as the classes do; the optimizer rules write ``PARAMS`` and this pass puts
the compiled model's ``parameters()`` there. Keras' semantics the loops keep: batches of 32 by
default, the last one partial; ``validation_split`` takes the last fraction before shuffling; the
epoch's loss and metrics are means over samples (batch means weighted by the batch's size), the
training ones from each batch's output before its update. What is not translated stays, marked
and reported (``fit-loop``). docs/training/fit.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import libcst as cst

from ...cstutil import code, expression
from ...report import ERROR, INFO, WARNING
from ..common.base import Pass
from ..common.calls import CallRewriter
from ..common.training import Bindings, collect
from . import fit_callbacks, fit_data, model_methods
from .fit_callbacks import Callback
from .fit_callbacks import arguments as _arguments
from .fit_callbacks import string_value as _string
from .model_methods import KERAS_MODEL_METHODS
from .model_names import ModelNames
from .numpy_calls import NumpyCalls, as_numpy
from .training_step import PARAMS, is_loss, is_optimizer

METHODS = ("compile", "fit", "evaluate", "predict")
# the loops' methods and the other Keras model methods (model_methods.py): what makes this pass read a file
_SOURCE = re.compile(r"\.\s*(?:" + "|".join(sorted({*METHODS, *KERAS_MODEL_METHODS})) + r")\s*\(|\bimport numpy\b")

# keras.optimizers.get / keras.losses.get: a string names the class with its defaults
OPTIMIZERS = {
    n.lower(): n
    for n in (
        "SGD",
        "Adam",
        "AdamW",
        "Adamax",
        "Nadam",
        "RMSprop",
        "Adagrad",
        "Adadelta",
        "Ftrl",
        "Lion",
        "Lamb",
        "Adafactor",
    )
}
LOSSES = {
    "mse": "MeanSquaredError",
    "mean_squared_error": "MeanSquaredError",
    "mae": "MeanAbsoluteError",
    "mean_absolute_error": "MeanAbsoluteError",
    "mape": "MeanAbsolutePercentageError",
    "mean_absolute_percentage_error": "MeanAbsolutePercentageError",
    "msle": "MeanSquaredLogarithmicError",
    "mean_squared_logarithmic_error": "MeanSquaredLogarithmicError",
    "binary_crossentropy": "BinaryCrossentropy",
    "categorical_crossentropy": "CategoricalCrossentropy",
    "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
    "binary_focal_crossentropy": "BinaryFocalCrossentropy",
    "categorical_focal_crossentropy": "CategoricalFocalCrossentropy",
    "hinge": "Hinge",
    "squared_hinge": "SquaredHinge",
    "categorical_hinge": "CategoricalHinge",
    "kld": "KLDivergence",
    "kl_divergence": "KLDivergence",
    "poisson": "Poisson",
    "huber": "Huber",
    "log_cosh": "LogCosh",
    "cosine_similarity": "CosineSimilarity",
}
LOSSES |= {v: v for v in set(LOSSES.values())}  # "MeanSquaredError" names the class too
# metrics counted in the loop: Keras name -> the support function counting a batch's right samples
METRICS = {
    "accuracy": "accuracy_correct",
    "acc": "accuracy_correct",
    "sparse_categorical_accuracy": "sparse_categorical_correct",
    "categorical_accuracy": "categorical_correct",
    "binary_accuracy": "binary_correct",
}
METRIC_CLASSES = {
    "keras.metrics.SparseCategoricalAccuracy": "sparse_categorical_accuracy",
    "keras.metrics.CategoricalAccuracy": "categorical_accuracy",
    "keras.metrics.BinaryAccuracy": "binary_accuracy",
}
# arguments with no meaning for an eager PyTorch loop (Keras' graph compilation, display)
_COMPILE_IGNORED = ("run_eagerly", "jit_compile", "steps_per_execution", "auto_scale_loss")
_COMPILE_ARGS = ("optimizer", "loss", "loss_weights", "metrics", "weighted_metrics", *_COMPILE_IGNORED)
_FIT_ARGS = (
    "x",
    "y",
    "batch_size",
    "epochs",
    "verbose",
    "callbacks",
    "validation_split",
    "validation_data",
    "shuffle",
    "class_weight",
    "sample_weight",
    "initial_epoch",
    "steps_per_epoch",
    "validation_steps",
    "validation_batch_size",
    "validation_freq",
)
_EVALUATE_ARGS = ("x", "y", "batch_size", "verbose", "sample_weight", "steps", "callbacks", "return_dict")
_PREDICT_ARGS = ("x", "batch_size", "verbose", "steps", "callbacks")
_SUPPORTED = {
    "fit": {"x", "y", "batch_size", "epochs", "verbose", "validation_split", "validation_data", "shuffle"}
    | {"initial_epoch", "validation_batch_size", "callbacks"},
    "evaluate": {"x", "y", "batch_size", "verbose", "return_dict"},
    "predict": {"x", "batch_size", "verbose"},
}


@dataclass
class Compiled:
    """What a translated ``compile`` leaves for the loops: the optimizer's and the loss's names,
    how the loss is called, the metrics (history key, counting function, extra arguments)."""

    model: str
    optimizer: str
    loss: str
    torch_order: bool  # the loss object is called (input, target); a user function (y_true, y_pred)
    metrics: list[tuple[str, str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # what compile cannot translate: its loops neither
    notes: list[str] = field(default_factory=list)  # translated, but a part is reported (metrics)
    optimizer_source: tuple[str, str] | None = None  # ("string" | "inline", detail) when built here
    loss_source: tuple[str, str] | None = None
    consumed: list[int] = field(default_factory=list)  # ids of the metric objects the loops count


@dataclass
class Site:
    method: str
    model: str
    call: cst.Call
    target: cst.BaseExpression | None  # `history = model.fit(...)`: history
    compiled: Compiled | None
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    scope: int = 0  # id of the enclosing function (0: the module)
    id: int = 0  # id of the statement
    args: dict[str, cst.BaseExpression] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # translated as Keras runs them, said
    callbacks: list[Callback] = field(default_factory=list)  # written into the loop, in the list's order
    hoist_to: int | None = -1  # a call inside a statement: the id of the statement it is computed before
    pipeline: bool = False  # x is a tf.data pipeline of the file (fit_data.py)
    validation_pipeline: bool = False  # so is validation_data


class FitLoop(Pass):
    """Runs before the training-step pass: an optimizer given to compile gets its parameters
    here, so that pass does not report them as unknown."""

    @classmethod
    def reads_whole_tree(cls, source: str, rules) -> bool:
        return _SOURCE.search(source) is not None

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.sites: dict[int, Site] = {}  # statement id (a call's, inside a statement) -> what it is
        self.owners: dict[str, str] = {}  # optimizer name given to compile -> the model's parameters
        self.drop: set[int] = set()  # statements that bind a callback written into a loop
        self.hoisted: dict[int, list[str]] = {}  # statement id -> the loops computed before it
        self.used: set[str] = set()  # the file's names: new ones must differ
        self.temps: dict[str, str] = {}  # the loops' variables -> their names in this file
        self.methods: dict[int, tuple[str, str]] = {}  # call id -> (Keras model method, model name)
        self.saves_weights = False  # the file saves weights itself: load_weights reads torch's
        self.weight_copies: set[int] = set()  # get_weights / set_weights calls that copy between models
        self.tensor_arguments: set[int] = set()  # NumPy calls' arguments that are torch tensors here

    def prepare(self, module: cst.Module) -> set[int]:
        if not self.reads_whole_tree(self.ctx.source, self.ctx.rules):
            return set()
        ctx = self.ctx
        self.bindings: Bindings = collect(
            module, lambda n: ctx.imports.resolve(n, star_names=ctx.star_names), is_optimizer, is_loss, lambda c: None
        )
        self.models = ModelNames(module, self._resolve)
        self.datasets = fit_data.Datasets(self.models.assigned, self._resolve, self.models.returns)
        ctx.keras_models = set(self.models.models)
        finder = _Finder(self)
        module.visit(finder)
        self.used = finder.names
        self.methods = finder.methods
        self.saves_weights = finder.saves_weights
        self.weight_copies = model_methods.weight_copies(finder.weight_calls, finder.built, finder.uses)
        for site in finder.sites:
            self._plan(site, finder)
        aliases = self.ctx.imports.alias_modules
        numpy = NumpyCalls(self.models, self.bindings.loss_names(), lambda head: aliases.get(head) == "numpy")
        module.visit(numpy)
        self.tensor_arguments = numpy.wrap
        return finder.visit_ids | numpy.visit_ids

    # --- analysis -------------------------------------------------------------------------
    def _resolve(self, node: cst.BaseExpression) -> str | None:
        return self.ctx.imports.resolve(node, star_names=self.ctx.star_names)

    def _temp(self, name: str) -> str:
        """The loops' own variable ``name`` (``batch``, ``loss``...), renamed once per file where
        the file uses the name: the loops must not overwrite the script's variables."""
        if name not in self.temps:
            self.temps[name] = self._fresh(name)
        return self.temps[name]

    def _fresh(self, name: str) -> str:
        candidate, n = name, 2
        while candidate in self.used:
            candidate, n = f"{name}{n}", n + 1
        self.used.add(candidate)
        return candidate

    def _plan(self, site: Site, finder: _Finder) -> None:
        if site.method == "compile" and site.hoist_to != -1:  # `x = model.compile(...)`: not a statement of its own
            site.errors.append("a compile call inside another statement is not translated")
        elif site.method == "compile":
            compiled = self._compile(site, finder)
            site.compiled = compiled
            finder.compiled[(site.scope, site.model)] = compiled
        else:
            if site.hoist_to != -1:  # inside a statement: its value gets a name, computed before it
                if site.hoist_to is None:
                    where = "a lambda, a comprehension or a compound statement's header"
                    site.errors.append(f"a {site.method} call inside {where} is not translated")
                fresh = {"predict": "predicted", "evaluate": "scores", "fit": "history"}[site.method]
                site.target = cst.Name(self._fresh(fresh))  # `return model.fit(...)`: its History
            site.compiled = finder.compiled.get((site.scope, site.model))
            if site.compiled is None and site.method != "predict":
                site.errors.append(f"{site.model}.compile(...) is not in this scope, before this call")
            elif site.compiled is not None and site.compiled.errors and site.method != "predict":
                site.errors.append(f"the {site.model}.compile(...) it uses is not translated")
            self._check_arguments(site, finder)
        self.sites[site.id] = site

    def _compile(self, site: Site, finder: _Finder) -> Compiled:
        args = _arguments(site.call, _COMPILE_ARGS)
        prefix = "" if len(finder.compiled_models) == 1 else site.model.replace(".", "_") + "_"
        # self.model compiled in one method, trained in another: the class keeps the two objects
        owner = "self." if site.model.startswith("self.") else ""
        compiled = Compiled(site.model, "", "", True)
        if args is None:
            compiled.errors.append("its arguments cannot be matched to compile's")
            return compiled
        for name in args:
            if name in ("loss_weights", "weighted_metrics"):
                compiled.errors.append(f"compile(..., {name}=...) is not translated")
        # the optimizer
        opt = args.get("optimizer", cst.SimpleString('"rmsprop"'))  # Keras' default
        text = _string(opt)
        if text is not None:
            qual = f"keras.optimizers.{OPTIMIZERS.get(text.lower(), text)}"
            if self.ctx.rules.calls.get(qual) is None:
                compiled.errors.append(f'optimizer "{text}": {qual} has no translation rule')
            compiled.optimizer = owner + self._fresh(prefix + "optimizer")
            compiled.optimizer_source = ("string", qual)
        elif isinstance(opt, cst.Call):
            found = self._resolve(opt.func)
            if found is None or not is_optimizer(found) or self.ctx.rules.calls.get(found) is None:
                compiled.errors.append(f"the optimizer {code(opt.func)}(...) has no translation rule")
            compiled.optimizer = owner + self._fresh(prefix + "optimizer")
            compiled.optimizer_source = ("inline", "")
        elif self.bindings.optimizer(opt) is not None:
            compiled.optimizer = code(opt)
            if compiled.optimizer in self.owners and self.owners[compiled.optimizer] != site.model:
                compiled.errors.append(f"the optimizer {compiled.optimizer} is compiled with two models")
            self.owners[compiled.optimizer] = site.model
            if not finder.bound_after(compiled.optimizer, site.model):
                compiled.errors.append(
                    f"the optimizer {compiled.optimizer} is built before {site.model}: a torch optimizer "
                    f"takes the parameters when it is built (build it after the model)"
                )
        else:
            compiled.errors.append(f"the optimizer {code(opt)} is not a Keras optimizer built in this file")
        # the loss
        loss = args.get("loss")
        text = _string(loss) if loss is not None else None
        if loss is None:
            compiled.errors.append("compile() without a loss: the model's own add_loss losses are not translated")
        elif text is not None:
            qual = f"keras.losses.{LOSSES.get(text, text)}"
            if text not in LOSSES:
                compiled.errors.append(f'the loss "{text}" is not translated')
            elif self.ctx.rules.calls.get(qual) is None:
                compiled.errors.append(f'loss "{text}": {qual} has no translation rule')
            compiled.loss = owner + self._fresh(prefix + "loss_fn")
            compiled.loss_source = ("string", qual)
        elif isinstance(loss, cst.Call):
            found = self._resolve(loss.func)
            if found is None or not is_loss(found) or self.ctx.rules.calls.get(found) is None:
                compiled.errors.append(f"the loss {code(loss.func)}(...) has no translation rule")
            compiled.loss = owner + self._fresh(prefix + "loss_fn")
            compiled.loss_source = ("inline", "")
        elif self.bindings.is_loss(loss):
            compiled.loss = code(loss)
        elif isinstance(loss, cst.Name) and loss.value in finder.functions:
            compiled.loss, compiled.torch_order = loss.value, False  # a user's (y_true, y_pred) function
        else:
            compiled.errors.append(f"the loss {code(loss)} is not a Keras loss or a function of this file")
        # the metrics
        metrics = args.get("metrics")
        if metrics is not None:
            elements = metrics.elements if isinstance(metrics, (cst.List, cst.Tuple)) else None
            if elements is None:
                compiled.errors.append(f"metrics={code(metrics)}: a list of metrics is expected")
            else:
                for element in elements:
                    self._metric(element.value, compiled)
        if not compiled.errors:  # the metric objects go with the call: no rule is needed for them
            self.ctx.skip.update(compiled.consumed)
        return compiled

    def _metric(self, value: cst.BaseExpression, compiled: Compiled) -> None:
        text = _string(value)
        key = kind = None
        extra = ""
        if text is not None:
            key, kind = text, text if text in METRICS else None
        elif isinstance(value, cst.Call) and self._resolve(value.func) in METRIC_CLASSES:
            kind = METRIC_CLASSES[self._resolve(value.func) or ""]
            key = kind
            for arg in value.args:
                name = arg.keyword.value if arg.keyword is not None else None
                if name == "name" and _string(arg.value) is not None:
                    key = _string(arg.value)
                elif name == "threshold" and kind == "binary_accuracy":
                    extra = f", threshold={code(arg.value)}"
                elif name != "dtype":
                    kind = None
                    break
        if kind is None or key is None:
            compiled.notes.append(f"the metric {code(value)} is not translated: it is not in the history")
            return
        if isinstance(value, cst.Call):
            compiled.consumed.append(id(value))
        compiled.metrics.append((key, METRICS[kind], extra))

    def _check_arguments(self, site: Site, finder: _Finder) -> None:
        params = {"fit": _FIT_ARGS, "evaluate": _EVALUATE_ARGS, "predict": _PREDICT_ARGS}[site.method]
        args = _arguments(site.call, params)
        if args is None:
            site.errors.append(f"its arguments cannot be matched to {site.method}'s")
            return
        site.args = args
        for name in args:
            if name not in _SUPPORTED[site.method]:
                why = "is not translated"
                if name == "steps_per_epoch":
                    why = "is not translated (the loop goes over all the data each epoch)"
                site.errors.append(f"{site.method}(..., {name}=...) {why}")
        site.pipeline = fit_data.is_pipeline_argument(args, self.datasets)
        site.validation_pipeline = fit_data.validation_pipeline(args.get("validation_data"), self.datasets)
        if site.pipeline and "validation_split" in args:  # Keras raises: a dataset cannot be split
            site.errors.append("validation_split with a dataset is not translated (Keras raises)")
        if "x" not in args or (site.method != "predict" and "y" not in args and not site.pipeline):
            site.errors.append(
                f"{site.method} without x and y arrays (a tf.data.Dataset, a generator or a PyDataset) "
                "is not translated"
            )
        if site.method == "fit":
            if "shuffle" in args and _string(args["shuffle"]) == "batch":
                site.errors.append('fit(..., shuffle="batch") is not translated')
            data = args.get("validation_data")
            if data is not None and not (isinstance(data, cst.Tuple) and len(data.elements) == 2):
                if not isinstance(data, cst.Name) and not site.validation_pipeline:
                    site.errors.append("validation_data must be an (x, y) tuple")
            callbacks = args.get("callbacks")
            listed = None  # `callbacks = [...]` bound once and used only here: its statement goes with the fit
            if isinstance(callbacks, cst.Name):
                bound = finder.lists.get(callbacks.value, [])
                if len(bound) == 1 and finder.uses.get(callbacks.value) == 2:
                    listed, callbacks = bound[0]
            if callbacks is not None:
                elements = callbacks.elements if isinstance(callbacks, (cst.List, cst.Tuple)) else None
                if elements is None:
                    site.notes.append(f"callbacks={code(callbacks)} are not translated: the loop runs without them")
                else:
                    for element in elements:
                        self._callback(site, element.value, finder)
                    if listed is not None and not site.errors:
                        self.drop.add(listed)

    def _callback(self, site: Site, value: cst.BaseExpression, finder: _Finder) -> None:
        """One element of ``callbacks=[...]``: a constructor call, or a name bound once to one
        and used nowhere else (its statement goes with the fit)."""
        call, binding = value, None
        if isinstance(value, cst.Name):
            built = finder.built.get(value.value, [])
            if len(built) == 1 and finder.uses.get(value.value) == 2:
                binding, call = built[0]
        if not isinstance(call, cst.Call):
            site.notes.append(f"the callback {code(value)} is not translated: the loop runs without it")
            return
        qual = self._resolve(call.func)
        kind = fit_callbacks.kind_of(qual)
        if kind is not None:
            compiled = site.compiled
            logged = {"loss", *(k for k, _, _ in compiled.metrics)} if compiled is not None else {"loss"}
            validated = "validation_data" in site.args or "validation_split" in site.args
            parsed = fit_callbacks.parse(kind, call, logged, validated, finder.positional)
            if isinstance(parsed, str):
                site.errors.append(f"{kind}: {parsed} is not translated")
                return
            if parsed.warning:
                site.warnings.append(parsed.warning)
            parsed.sees_rate = any(c.kind in fit_callbacks.RATE_LOGGERS for c in site.callbacks)
            site.callbacks.append(parsed)
        elif qual not in fit_callbacks.IGNORED:
            site.notes.append(f"the callback {code(call.func)} is not translated: the loop runs without it")
        if not site.errors:
            self.ctx.skip.add(id(call))  # dropped with the fit call: reported once, here
            if binding is not None:
                self.drop.add(binding)

    # --- the optimizer given to compile by name -------------------------------------------
    def leave_Assign(self, original: cst.Assign, updated: cst.Assign) -> cst.Assign:
        if len(original.targets) != 1 or not isinstance(updated.value, cst.Call):
            return updated
        owner = self.owners.get(code(original.targets[0].target))
        if owner is None:
            return updated
        return updated.with_changes(value=_with_parameters(updated.value, owner))

    # --- the statements ---------------------------------------------------------------------
    def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine):
        if id(original) in self.drop:
            return cst.RemovalSentinel.REMOVE
        site = self.sites.get(id(original))
        if site is None:
            hoisted = self.hoisted.pop(id(original), None)
            return updated if hoisted is None else self._statements("".join(hoisted), original, updated, [updated])
        compiled = site.compiled
        errors = site.errors if site.method != "compile" else (compiled.errors if compiled else [])
        failed = f"the {site.model}.compile(...) it uses is not translated"
        if site.method in ("fit", "evaluate") and compiled is not None and compiled.errors and failed not in errors:
            errors = [*errors, failed]  # found when compile's own statement was translated
        if site.method == "predict" and compiled is None and not errors:
            errors = []  # predict needs no compile
        if errors:
            for message in errors:
                self.ctx.report(original, ERROR, "fit-loop", f"{site.model}.{site.method}: {message}")
            return updated
        call = _find_call(updated)
        if site.method == "compile":
            lines = self._compile_lines(site, call)
        else:
            lines = self._loop_lines(site, call)
        if lines is None:
            return updated
        for message in [*site.notes, *(compiled.notes if compiled and site.method == "compile" else [])]:
            self.ctx.report(original, ERROR, "fit-loop", f"{site.model}.{site.method}: {message}")
        for message in site.warnings:
            self.ctx.report(original, WARNING, "fit-loop", f"{site.model}.{site.method}: {message}")
        return self._statements(lines, original, updated)

    def _statements(self, lines: str, original, updated: cst.SimpleStatementLine, after: tuple | list = ()):
        """``lines`` (and ``after``) in place of ``updated``, its comments and the pending marks first."""
        try:
            body = [*cst.parse_module(lines).body, *(a.with_changes(leading_lines=[]) for a in after)]
        except cst.ParserSyntaxError:  # an argument this pass writes wrongly: said, not crashed on
            self.ctx.report(original, ERROR, "fit-loop", "the loop written for this statement does not parse")
            return updated
        if not body:
            return cst.RemovalSentinel.REMOVE
        marks = [cst.EmptyLine(comment=cst.Comment(m)) for m in self.ctx.pending_marks]
        self.ctx.pending_marks.clear()
        body[0] = body[0].with_changes(leading_lines=[*updated.leading_lines, *marks, *body[0].leading_lines])
        self.ctx.target_imports.add("import torch")
        return cst.FlattenSentinel(body)

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if any(id(a.value) in self.tensor_arguments for a in original.args):  # np.argmax(logits, 1)
            args = [
                new.with_changes(value=as_numpy(new.value)) if id(old.value) in self.tensor_arguments else new
                for old, new in zip(original.args, updated.args)
            ]
            return updated.with_changes(args=args)
        method = self.methods.get(id(original))
        if method is not None:
            copies = id(original) in self.weight_copies
            node = model_methods.rewrite(self.ctx, original, updated, *method, self.saves_weights, copies)
            return updated if node is None else node
        site = self.sites.get(id(original))
        if site is None or site.hoist_to in (-1, None) or site.target is None:
            if site is not None:
                for message in site.errors:
                    self.ctx.report(original, ERROR, "fit-loop", f"{site.model}.{site.method}: {message}")
            return updated
        if site.errors:
            for message in site.errors:
                self.ctx.report(original, ERROR, "fit-loop", f"{site.model}.{site.method}: {message}")
            return updated
        lines = self._loop_lines(site, updated)
        if lines is None:
            return updated
        for message in site.notes:
            self.ctx.report(original, ERROR, "fit-loop", f"{site.model}.{site.method}: {message}")
        self.hoisted.setdefault(site.hoist_to, []).append(lines)
        return site.target

    def _rule(self, qual: str, site: Site) -> cst.BaseExpression | None:
        """``qual()`` through its rule (Keras' defaults), as the call rewriter would translate it."""
        rule = self.ctx.rules.calls[qual]
        call = cst.Call(expression(qual))
        node = CallRewriter(self.ctx).apply_rule(rule, site.call, call)
        return None if node is call else node

    def _compile_lines(self, site: Site, call: cst.Call) -> str | None:
        compiled = site.compiled
        args = _arguments(call, _COMPILE_ARGS)
        if compiled is None or args is None:
            return None
        lines = []
        if compiled.optimizer_source is not None:
            kind, qual = compiled.optimizer_source
            node = self._rule(qual, site) if kind == "string" else args["optimizer"]
            if node is None or PARAMS not in code(node):
                self.ctx.report(site.call, ERROR, "fit-loop", f"{site.model}.compile: the optimizer is not translated")
                compiled.errors.append("the optimizer is not translated")  # the fits after it stay too
                return None
            lines.append(f"{compiled.optimizer} = {code(_with_parameters(node, site.model))}")
        if compiled.loss_source is not None:
            kind, qual = compiled.loss_source
            node = self._rule(qual, site) if kind == "string" else args["loss"]
            if node is None or (isinstance(node, cst.Call) and self.ctx.resolve(node.func) is not None):
                self.ctx.report(site.call, ERROR, "fit-loop", f"{site.model}.compile: the loss is not translated")
                compiled.errors.append("the loss is not translated")
                return None
            lines.append(f"{compiled.loss} = {code(node)}")
        if not lines:  # optimizer and loss are the file's own objects: nothing to build
            self.ctx.report(site.call, INFO, "fit-loop", f"{site.model}.compile: the loops use its optimizer and loss")
            return ""
        return "\n".join(lines) + "\n"

    def _loop_lines(self, site: Site, call: cst.Call) -> str | None:
        args = _arguments(call, {"fit": _FIT_ARGS, "evaluate": _EVALUATE_ARGS, "predict": _PREDICT_ARGS}[site.method])
        if args is None:
            return None
        self.ctx.helpers_used.add("as_model_input")
        if site.method == "predict":
            return self._predict(site, args, cst.ensure_type(call.func, cst.Attribute).value)
        compiled = site.compiled
        if compiled is None:
            return None
        self.ctx.helpers_used.update(m[1] for m in compiled.metrics)
        if site.method == "evaluate":
            return self._evaluate(site, args, compiled)
        return self._fit(site, args, compiled)

    def _loss_call(self, compiled: Compiled, y_pred: str, y_true: str) -> str:
        first, second = (y_pred, y_true) if compiled.torch_order else (y_true, y_pred)
        return f"{compiled.loss}({first}, {second})"

    def _measure(self, compiled: Compiled, x: str, y: str, batch: str, totals: list[str], indent: str) -> list[str]:
        """The statements of one evaluation pass (no gradients) accumulating into ``totals``."""
        m = self.model_of
        start, y_pred, y_true = (self._temp(n) for n in ("start", "y_pred", "y_true"))
        lines = [
            f"{indent}{' = '.join(totals)} = 0.0",
            f"{indent}for {start} in range(0, len({x}), {batch}):",
            f"{indent}    {y_pred} = {m}({x}[{start} : {start} + {batch}])",
            f"{indent}    {y_true} = {y}[{start} : {start} + {batch}]",
            f"{indent}    {totals[0]} += {self._loss_call(compiled, y_pred, y_true)}.item() * len({y_true})",
        ]
        for total, (_, fn, extra) in zip(totals[1:], compiled.metrics):
            lines.append(f"{indent}    {total} += {fn}({y_pred}, {y_true}{extra})")
        return lines

    def _measure_pipeline(self, compiled: Compiled, data: str, totals: list[str], seen: str, indent: str) -> list[str]:
        """``_measure`` over a pipeline's batches, counting the samples into ``seen``."""
        x, y_pred, y_true = (self._temp(n) for n in ("x_batch", "y_pred", "y_true"))
        lines = [
            f"{indent}{' = '.join(totals)} = 0.0",
            f"{indent}{seen} = 0",
            *fit_data.fit_batches(data, x, y_true, indent),
            f"{indent}    {y_pred} = {self.model_of}({x})",
            f"{indent}    {totals[0]} += {self._loss_call(compiled, y_pred, y_true)}.item() * len({y_true})",
        ]
        for total, (_, fn, extra) in zip(totals[1:], compiled.metrics):
            lines.append(f"{indent}    {total} += {fn}({y_pred}, {y_true}{extra})")
        return [*lines, f"{indent}    {seen} += len({y_true})"]

    def _evaluate(self, site: Site, args: dict, compiled: Compiled) -> str:
        self.model_of = site.model
        x, y = self._fresh("x_eval"), self._fresh("y_eval")
        batch = _batch(args.get("batch_size"))
        totals = [self._temp("total_loss"), *(self._temp(f"total_{_ident(k)}") for k, _, _ in compiled.metrics)]
        if site.pipeline:
            seen = self._temp("seen")
            measure = self._measure_pipeline(compiled, code(args["x"]), totals, seen, "    ")
            lines = [f"{site.model}.eval()", "with torch.no_grad():", *measure]
            values = [f"{t} / {seen}" for t in totals]
        else:
            lines = [
                f"{x}, {y} = as_model_input({code(args['x'])}), as_model_input({code(args['y'])})",
                f"{site.model}.eval()",
                "with torch.no_grad():",
                *self._measure(compiled, x, y, batch, totals, "    "),
            ]
            values = [f"{t} / len({x})" for t in totals]
        keys = ["loss", *(k for k, _, _ in compiled.metrics)]
        if "return_dict" in args and code(args["return_dict"]) != "False":
            if code(args["return_dict"]) != "True":
                site.errors.append("return_dict must be True or False")
            # Keras sorts the names of the logs (python_utils.pythonify_logs)
            result = "{" + ", ".join(f'"{k}": {v}' for k, v in sorted(zip(keys, values))) + "}"
        else:  # Keras returns the loss alone without metrics, else [loss, *metrics]
            result = values[0] if len(values) == 1 else "[" + ", ".join(values) + "]"
        if site.target is not None:
            lines.append(f"{code(site.target)} = {result}")
        return "\n".join(lines) + "\n"

    def _predict(self, site: Site, args: dict, receiver: cst.BaseExpression) -> str:
        x = code(args["x"])
        model = site.model
        first = []
        if not isinstance(receiver, (cst.Name, cst.Attribute)):  # load_model(p).predict(x): the model once
            model = self._fresh("model")
            first.append(f"{model} = {code(receiver)}")
        if site.pipeline:  # Keras ignores batch_size for a dataset: its own batches
            value = fit_data.predict_value(model, x, self._temp("batch"))
        elif "batch_size" in args and code(args["batch_size"]) != "None":
            batch = code(args["batch_size"])
            inputs = self._fresh("x_predict")
            start = self._temp("start")
            value = (
                f"torch.cat([{model}({inputs}[{start} : {start} + {batch}]) "
                f"for {start} in range(0, len({inputs}), {batch})]).numpy()"
            )
            first.append(f"{inputs} = as_model_input({x})")
        else:
            value = f"{model}(as_model_input({x})).numpy()"
        target = f"{code(site.target)} = " if site.target is not None else ""
        return "\n".join([*first, f"{model}.eval()", "with torch.no_grad():", f"    {target}{value}"]) + "\n"

    def _fit(self, site: Site, args: dict, compiled: Compiled) -> str:
        self.model_of = model = site.model
        x, y = self._fresh("x_fit"), self._fresh("y_fit")
        batch = _batch(args.get("batch_size"))
        epochs = code(args["epochs"]) if "epochs" in args else "1"
        initial = code(args["initial_epoch"]) if "initial_epoch" in args else "0"
        names = ["loss", *(k for k, _, _ in compiled.metrics)]
        keys = list(names)
        lines = (
            []
            if site.pipeline
            else [f"{x}, {y} = as_model_input({code(args['x'])}), as_model_input({code(args['y'])})"]
        )
        validation = None
        data = args.get("validation_data")
        split = args.get("validation_split")
        if site.validation_pipeline and data is not None:
            validation = (code(data), "")  # its batches, as they come
        elif data is not None and code(data) != "None":
            validation = (self._fresh("x_val"), self._fresh("y_val"))
            if isinstance(data, cst.Tuple):
                xv, yv = (code(e.value) for e in data.elements)
                lines.append(f"{validation[0]}, {validation[1]} = as_model_input({xv}), as_model_input({yv})")
            else:
                lines.append(f"{validation[0]}, {validation[1]} = (as_model_input(a) for a in {code(data)})")
        elif split is not None and code(split) not in ("0", "0.0"):
            validation = (self._fresh("x_val"), self._fresh("y_val"))
            at = self._fresh("split")
            lines += [
                f"# validation_split: Keras validates on the last {code(split)} of the data, split before shuffling",
                f"{at} = int(len({x}) * (1.0 - {code(split)}))",
                f"{x}, {validation[0]} = {x}[:{at}], {x}[{at}:]",
                f"{y}, {validation[1]} = {y}[:{at}], {y}[{at}:]",
            ]
        if validation is not None:
            keys += [f"val_{k}" for k in keys]
        keys.sort(key=lambda k: (k.startswith("val_"), k))  # Keras' order: sorted, validation last
        rate = any(c.kind in fit_callbacks.RATE_LOGGERS for c in site.callbacks)
        if rate:
            keys.append("learning_rate")  # LearningRateScheduler logs it, after the fit's own values
        history = code(site.target) if site.target is not None else self._fresh("history")
        logs = f"{history}.history" if site.target is not None else history
        listing = "{" + ", ".join(f'"{k}": []' for k in keys) + "}"
        if site.target is not None:
            self.ctx.target_imports.add("import types")
            lines.append(f"{history} = types.SimpleNamespace(history={listing})  # what Keras' History holds")
        else:
            lines.append(f"{history} = {listing}")
        groups = f"{compiled.optimizer}.param_groups"
        loop = fit_callbacks.Loop(model, logs, groups, self._temp("epoch"), keys, self._fresh, self._temp, set())
        # each callback's statements, in the order of its kind (EarlyStopping's `break` comes last)
        written = {
            kind: [fit_callbacks.lines(c, loop) for c in site.callbacks if c.kind == kind]
            for kind in ("EarlyStopping", "LearningRateScheduler", "ReduceLROnPlateau")
        }
        saving = [fit_callbacks.lines(c, loop) for c in site.callbacks if c.kind in ("ModelCheckpoint", "CSVLogger")]
        stops, schedules, plateaus = (
            written["EarlyStopping"],
            written["LearningRateScheduler"],
            written["ReduceLROnPlateau"],
        )
        self.ctx.target_imports.update(loop.imports)
        for each in (*stops, *schedules, *plateaus, *saving):
            lines += each.before
        shuffle = args.get("shuffle")
        epoch, order, start = self._temp("epoch"), self._temp("order"), self._temp("start")
        batch_, y_true, y_pred, loss = (self._temp(n) for n in ("batch", "y_true", "y_pred", "loss"))
        totals = [self._temp("total_loss"), *(self._temp(f"total_{_ident(k)}") for k, _, _ in compiled.metrics)]
        lines.append(
            f"for {epoch} in range({initial}, {epochs}):" if initial != "0" else f"for {epoch} in range({epochs}):"
        )
        lines.append(f"    {model}.train()")
        lines += ["    " + line for each in schedules for line in each.start]
        seen = self._temp("seen") if site.pipeline or site.validation_pipeline else ""
        if site.pipeline:
            x_batch = self._temp("x_batch")
            lines += [
                f"    {' = '.join(totals)} = 0.0",
                f"    {seen} = 0",
                *fit_data.fit_batches(code(args["x"]), x_batch, y_true, "    "),
                f"        {compiled.optimizer}.zero_grad()",
                f"        {y_pred} = {model}({x_batch})",
            ]
        elif shuffle is None or code(shuffle) == "True":
            lines.append(f"    {order} = torch.randperm(len({x}))  # fit shuffles the training data every epoch")
        elif code(shuffle) == "False":
            lines.append(f"    {order} = torch.arange(len({x}))")
        else:
            lines.append(f"    {order} = torch.randperm(len({x})) if {code(shuffle)} else torch.arange(len({x}))")
        if not site.pipeline:
            lines += [
                f"    {' = '.join(totals)} = 0.0",
                f"    for {start} in range(0, len({order}), {batch}):",
                f"        {batch_} = {order}[{start} : {start} + {batch}]",
                f"        {y_true} = {y}[{batch_}]",
                f"        {compiled.optimizer}.zero_grad()",
                f"        {y_pred} = {model}({x}[{batch_}])",
            ]
        lines += [
            f"        {loss} = {self._loss_call(compiled, y_pred, y_true)}",
            f"        {loss}.backward()",
            f"        {compiled.optimizer}.step()",
            "        # Keras reports the mean over the epoch's samples",
            f"        {totals[0]} += {loss}.item() * len({y_true})",
        ]
        for total, (_, fn, extra) in zip(totals[1:], compiled.metrics):
            lines.append(f"        {total} += {fn}({y_pred}.detach(), {y_true}{extra})")
        if site.pipeline:
            lines.append(f"        {seen} += len({y_true})")
        for key, total in sorted(zip(names, totals)):
            lines.append(f'    {logs}["{key}"].append({total} / {seen if site.pipeline else f"len({order})"})')
        if validation is not None:
            vbatch = code(args["validation_batch_size"]) if "validation_batch_size" in args else batch
            lines += [f"    {model}.eval()", "    with torch.no_grad():"]
            if site.validation_pipeline:
                lines += self._measure_pipeline(compiled, validation[0], totals, seen, "        ")
            else:
                lines += self._measure(compiled, validation[0], validation[1], vbatch, totals, "        ")
            count = seen if site.validation_pipeline else f"len({validation[0]})"
            for key, total in sorted(zip(names, totals)):
                lines.append(f'    {logs}["val_{key}"].append({total} / {count})')
        if rate:
            lines.append(f'    {logs}["learning_rate"].append({groups}[0]["lr"])')
        verbose = args.get("verbose")
        if verbose is None or code(verbose) not in ("0", "False"):
            report = f'", ".join(f"{{k}}: {{v[-1]:.4f}}" for k, v in {logs}.items())'
            total = epochs if isinstance(args.get("epochs", cst.Integer("1")), cst.Integer) else f"{{{epochs}}}"
            line = f'print(f"Epoch {{{epoch} + 1}}/{total}:", {report})'
            if verbose is not None and not isinstance(verbose, (cst.Integer, cst.SimpleString)):
                lines += [f"    if {code(verbose)}:", f"        {line}"]
            else:
                lines.append(f"    {line}")
        lines += ["    " + line for each in (*plateaus, *saving, *stops) for line in each.end]
        lines += [line for each in (*stops, *saving) for line in each.after]
        return "\n".join(lines) + "\n"


# lambdas and comprehensions: a call inside one runs later, or many times
_CLOSURES = (cst.Lambda, cst.ListComp, cst.GeneratorExp, cst.DictComp)


class _Finder(cst.CSTVisitor):
    """The compile / fit / evaluate / predict statements of a file, in order, with their scope;
    the statements around them (which the traversal must visit); every name (for fresh ones)."""

    def __init__(self, owner: FitLoop):
        self.owner = owner
        self.sites: list[Site] = []
        self.names: set[str] = set()
        self.functions: set[str] = set()
        self.visit_ids: set[int] = set()
        self.compiled: dict[tuple[int, str], Compiled] = {}
        self.compiled_models: set[str] = set()
        self.models = owner.models  # which receivers hold Keras models
        self.defining: list[str] = []  # the functions around the node
        self.methods: dict[int, tuple[str, str]] = {}  # call id -> (Keras model method, model name)
        self.saves_weights = False  # a save_weights or a ModelCheckpoint(save_weights_only=True)
        self.weight_calls: list[cst.Call] = []  # get_weights / set_weights on Keras models
        self.signatures: dict[str, cst.Parameters] = {}  # the file's functions' parameters
        self.scopes: list[int] = [0]
        self.scopes_of_classes: list[int] = []
        self.stack: list[cst.CSTNode] = []
        self.assigned: dict[tuple[int, str], list[int]] = {}  # (scope, name) -> statement indexes
        self.uses: dict[str, int] = {}  # name -> how often the file names it
        self.direct: set[int] = set()  # the calls of statement sites (`h = model.fit(...)`)
        self.closures = 0  # lambdas and comprehensions around the node: nothing can be computed before
        self.built: dict[str, list[tuple[int, cst.Call]]] = {}  # name -> (statement id, call) it is bound to
        self.lists: dict[str, list[tuple[int, cst.List | cst.Tuple]]] = {}  # the same for list displays
        self.order = 0

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)
        self.uses[node.value] = self.uses.get(node.value, 0) + 1

    def visit_Arg(self, node: cst.Arg) -> bool:
        node.value.visit(self)  # `optimizer=` names no variable
        return False

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        node.value.visit(self)  # the `callbacks` of `keras.callbacks.X` is no use of a variable
        self.names.add(node.attr.value)
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.scopes_of_classes.append(id(node))

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.scopes_of_classes.pop()

    def scope_of(self, model: str) -> int:
        """Where a compile is looked up: ``self.model``'s in its class (compiled in __init__, fit
        in a method), a name's in its function (0: the module)."""
        if model.startswith("self.") and self.scopes_of_classes:
            return self.scopes_of_classes[-1]
        return self.scopes[-1]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.functions.add(node.name.value)
        self.signatures[node.name.value] = node.params
        self.scopes.append(id(node))
        self.defining.append(node.name.value)
        for param in node.params.params:
            self.assigned.setdefault((id(node), param.name.value), []).append(-1)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.scopes.pop()
        self.defining.pop()

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            self.stack.append(node)
        if isinstance(node, _CLOSURES):
            self.closures += 1
        return super().on_visit(node)

    def on_leave(self, original_node: cst.CSTNode) -> None:
        super().on_leave(original_node)
        if isinstance(original_node, _CLOSURES):
            self.closures -= 1
        if isinstance(original_node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            self.stack.pop()

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self.order += 1
        if len(node.body) != 1:
            return
        small = node.body[0]
        target = value = None
        if isinstance(small, cst.Assign) and len(small.targets) == 1:
            target, value = small.targets[0].target, small.value
            for name in _names(target):
                self.assigned.setdefault((self.scopes[-1], name), []).append(self.order)
            if isinstance(target, cst.Name) and isinstance(value, cst.Call):
                self.built.setdefault(target.value, []).append((id(node), value))
            if isinstance(target, cst.Name) and isinstance(value, (cst.List, cst.Tuple)):
                self.lists.setdefault(target.value, []).append((id(node), value))
        elif isinstance(small, cst.Expr):
            value = small.value
        if not isinstance(value, cst.Call) or not isinstance(value.func, cst.Attribute):
            return
        method = value.func.attr.value
        if method not in METHODS:
            return
        model = code(value.func.value)
        if method == "compile":
            if target is not None or not value.args:
                return
            self.compiled_models.add(model)
        elif model not in self.compiled_models and not self.models.holds(value.func.value):
            return  # not a Keras model of this file (a scikit-learn estimator...)
        if method == "fit" and target is not None and not isinstance(target, cst.Name):
            return
        site = Site(method, model, value, target, None, scope=self.scope_of(model), id=id(node))
        self.sites.append(site)
        self.direct.add(id(value))
        self.visit_ids.update(id(s) for s in self.stack)

    def visit_Call(self, node: cst.Call) -> None:
        """``np.argmax(model.predict(x), 1)``: a call inside a statement, computed before it."""
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in KERAS_MODEL_METHODS:
            model = code(func.value)
            if self.models.holds(func.value):
                self.methods[id(node)] = (func.attr.value, model)
                self.visit_ids.update(id(s) for s in self.stack)
                self.saves_weights |= func.attr.value == "save_weights"
                if func.attr.value in ("get_weights", "set_weights"):
                    self.weight_calls.append(node)
        elif code(func).endswith("ModelCheckpoint") and self.owner._resolve(func) == "keras.callbacks.ModelCheckpoint":
            self.saves_weights |= any(
                a.keyword is not None and a.keyword.value == "save_weights_only" and code(a.value) == "True"
                for a in node.args
            )
        if id(node) in self.direct or not isinstance(func, cst.Attribute) or func.attr.value not in METHODS:
            return
        model = code(func.value)
        if model not in self.compiled_models and not self.models.holds(func.value):
            return
        inner = self.stack[-1] if self.stack else None
        where = id(inner) if isinstance(inner, cst.SimpleStatementLine) and not self.closures else None
        self.sites.append(Site(func.attr.value, model, node, None, None, scope=self.scope_of(model), id=id(node)))
        self.sites[-1].hoist_to = where
        self.visit_ids.update(id(s) for s in self.stack)

    def positional(self, function: cst.BaseExpression) -> int:
        """How many arguments Keras' LearningRateScheduler passes ``function``: (epoch, lr), or
        (epoch) for a function that takes one (Keras' old API, its TypeError fallback)."""
        params = None
        if isinstance(function, cst.Lambda):
            params = function.params
        elif isinstance(function, cst.Name):
            params = self.signatures.get(function.value)
        if params is None or not isinstance(params.star_arg, cst.MaybeSentinel):
            return 2
        return 1 if len(params.posonly_params) + len(params.params) == 1 else 2

    def bound_after(self, optimizer: str, model: str) -> bool:
        """Is the optimizer built after the model was bound (in the scope of the last compile)?"""
        for (scope, name), where in self.assigned.items():
            if name == optimizer:
                model_at = self.assigned.get((scope, model), [])
                model_at += self.assigned.get((0, model), []) if scope != 0 else []
                return bool(model_at) and min(model_at) < min(where)
        return False


def _names(target: cst.BaseExpression) -> list[str]:
    if isinstance(target, (cst.Name, cst.Attribute)):
        return [code(target)]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for e in target.elements for n in _names(e.value)]
    return []


def _batch(node: cst.BaseExpression | None) -> str:
    return "32" if node is None or code(node) == "None" else code(node)  # Keras' default batch size


def _ident(key: str) -> str:
    return re.sub(r"\W", "_", key)


def _find_call(stmt: cst.SimpleStatementLine) -> cst.Call:
    """The call of a ``model.fit(...)`` / ``h = model.fit(...)`` statement (the prepared shapes)."""
    small = stmt.body[0]
    value = small.value if isinstance(small, (cst.Assign, cst.Expr)) else None
    return cst.ensure_type(value, cst.Call)


def _with_parameters(node: cst.BaseExpression, model: str) -> cst.BaseExpression:
    """``PARAMS`` (the optimizer rules' placeholder) -> ``model.parameters()``."""

    class _T(cst.CSTTransformer):
        def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.BaseExpression:
            return expression(f"{model}.parameters()") if updated.value == PARAMS else updated

    return node.visit(_T())  # type: ignore[return-value]
