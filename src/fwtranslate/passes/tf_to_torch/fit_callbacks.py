"""Keras callbacks written into the translated ``fit`` loop (fit_loop.py), as Keras runs them.

``parse`` reads one ``keras.callbacks.X(...)`` given to ``fit(callbacks=[...])`` into a
``Callback`` (or says why it cannot be written); ``lines`` writes it as statements for four
places of the loop: before the epochs, at each epoch's start, at each epoch's end (after the
epoch's values are logged) and after the epochs. The loop gives the names it uses (``Loop``).

    EarlyStopping          callbacks/early_stopping.py: wait / best, ``break``, restore_best_weights
    ReduceLROnPlateau      callbacks/reduce_lr_on_plateau.py: every param group's "lr"
    LearningRateScheduler  callbacks/learning_rate_scheduler.py: at each epoch's start
    ModelCheckpoint        callbacks/model_checkpoint.py: torch.save, the path formatted per epoch
    CSVLogger              callbacks/csv_logger.py: csv.writer, Keras' columns and "NA"
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Callable
from dataclasses import dataclass, field

import libcst as cst

from ...cstutil import code

IGNORED = frozenset({"keras.callbacks.History"})  # fit returns the history anyway
RATE_LOGGERS = ("LearningRateScheduler", "ReduceLROnPlateau")  # they log history["learning_rate"]
_PARAMS = {
    "EarlyStopping": (
        "monitor",
        "min_delta",
        "patience",
        "verbose",
        "mode",
        "baseline",
        "restore_best_weights",
        "start_from_epoch",
    ),
    "ReduceLROnPlateau": ("monitor", "factor", "patience", "verbose", "mode", "min_delta", "cooldown", "min_lr"),
    "LearningRateScheduler": ("schedule", "verbose"),
    "ModelCheckpoint": (
        "filepath",
        "monitor",
        "verbose",
        "save_best_only",
        "save_weights_only",
        "mode",
        "save_freq",
        "initial_value_threshold",
    ),
    "CSVLogger": ("filename", "separator", "append"),
}


@dataclass
class Callback:
    kind: str  # the Keras class: "EarlyStopping"...
    args: dict[str, cst.BaseExpression]
    arity: int = 2  # LearningRateScheduler: the arguments its schedule takes (epoch, lr) or (epoch)
    sees_rate: bool = False  # CSVLogger: a callback before it in the list logs "learning_rate"
    warning: str = ""  # translated as Keras runs it, with a warning Keras gives at run time too


@dataclass
class Loop:
    """The fit loop's names, as a callback's statements use them."""

    model: str
    logs: str  # the history dict: ``history.history`` or a fresh ``history``
    groups: str  # ``optimizer.param_groups``
    epoch: str
    keys: list[str]  # what the loop logs, in the history's order
    fresh: Callable[[str], str]  # a new name for this statement
    temp: Callable[[str], str]  # the loops' shared variable of that name
    imports: set[str]


@dataclass
class Lines:
    before: list[str] = field(default_factory=list)  # before the epochs
    start: list[str] = field(default_factory=list)  # at each epoch's start (loop body indentation)
    end: list[str] = field(default_factory=list)  # at each epoch's end
    after: list[str] = field(default_factory=list)  # after the epochs


def kind_of(qual: str | None) -> str | None:
    """The callback this pass writes out, for a qualified name, or None."""
    kind = (qual or "").removeprefix("keras.callbacks.")
    return kind if kind in _PARAMS and qual == f"keras.callbacks.{kind}" else None


def parse(kind: str, call: cst.Call, logged: set[str], validated: bool, positional) -> Callback | str:
    """The callback's arguments, or why it cannot be written (a sentence's subject).
    ``logged``: the loop's values; ``positional(f)``: how many arguments Keras passes ``f``."""
    args = arguments(call, _PARAMS[kind])
    if args is None:
        return "its arguments"
    if kind == "LearningRateScheduler":
        if "schedule" not in args:
            return "its arguments"
        return Callback(kind, args, arity=positional(args["schedule"]))
    if kind == "CSVLogger":
        if "filename" not in args:
            return "its arguments"
        if code(args.get("append", cst.Name("False"))) not in ("True", "False"):
            return "append that is not True or False"
        return Callback(kind, args)
    if kind == "ModelCheckpoint":
        return _checkpoint(args, logged, validated)
    problem = _monitored(args, logged, validated, "val_loss")
    if problem is None and code(args.get("restore_best_weights", cst.Name("False"))) not in ("True", "False"):
        problem = "restore_best_weights that is not True or False"
    return Callback(kind, args) if problem is None else problem


def _checkpoint(args: dict, logged: set[str], validated: bool) -> Callback | str:
    if "filepath" not in args:
        return "its arguments"
    for flag in ("save_best_only", "save_weights_only"):
        if code(args.get(flag, cst.Name("False"))) not in ("True", "False"):
            return f"{flag} that is not True or False"
    freq = args.get("save_freq")
    if freq is not None and string_value(freq) != "epoch":
        return f"save_freq={code(freq)} (saving every n batches)"
    path = string_value(args["filepath"])
    if path is not None:
        try:
            fields = {f for _, f, _, _ in string.Formatter().parse(path) if f is not None}
        except ValueError:
            return f"the filepath {path!r} (not a format string)"
        for name in fields - {"epoch"}:
            if name not in logged or (name.startswith("val_") and not validated):
                return f'the filepath field "{{{name}}}" (not a value the loop logs)'
    if code(args.get("save_best_only", cst.Name("False"))) == "True":
        monitor = string_value(args.get("monitor", cst.SimpleString('"val_loss"')))
        unlogged = monitor is not None and (
            monitor.removeprefix("val_") not in logged or (monitor.startswith("val_") and not validated)
        )
        if unlogged:  # Keras warns "Can save best model only with ... available" and saves every epoch
            args["save_best_only"] = cst.Name("False")
            warning = f'ModelCheckpoint: monitor="{monitor}" is not logged: it saves every epoch, as Keras does'
            return Callback("ModelCheckpoint", args, warning=warning)
        problem = _monitored(args, logged, validated, "val_loss")
        if problem is not None:
            return problem
    return Callback("ModelCheckpoint", args)


def _monitored(args: dict, logged: set[str], validated: bool, default: str) -> str | None:
    """Why the monitored value cannot be followed, or None; ``mode="auto"`` made explicit
    (MonitorCallback._set_monitor_op: the loss goes down, the accuracies up)."""
    monitor = string_value(args.get("monitor", cst.SimpleString(f'"{default}"')))
    mode = string_value(args.get("mode", cst.SimpleString('"auto"')))
    if monitor is None or mode not in ("auto", "min", "max"):
        return "a monitor or mode that is not a string literal"
    name = monitor.removeprefix("val_")
    if name not in logged:
        return f'monitor="{monitor}" (not a logged value of the loop)'
    if monitor.startswith("val_") and not validated:
        return f'monitor="{monitor}" without validation data'
    if mode == "auto":
        args["mode"] = cst.SimpleString('"min"' if name == "loss" else '"max"')
    return None


# --- the statements -----------------------------------------------------------------------------
def lines(callback: Callback, loop: Loop) -> Lines:
    writer = {
        "EarlyStopping": _early_stopping,
        "ReduceLROnPlateau": _plateau,
        "LearningRateScheduler": _scheduler,
        "ModelCheckpoint": _checkpoint_lines,
        "CSVLogger": _csv_logger,
    }[callback.kind]
    return writer(callback, loop)


def _improves(args: dict, current: str, default_delta: str) -> Callable[[str], str]:
    """Keras' MonitorCallback._is_improvement: min_delta counts against the improvement."""
    better = "<" if string_value(args["mode"]) == "min" else ">"
    delta = code(args["min_delta"]) if "min_delta" in args else default_delta
    sign = "+" if better == "<" else "-"

    literal = re.fullmatch(r"-?\s*([0-9.eE+-]+)", delta)  # a number: its absolute value, written out
    size = literal.group(1) if literal else f"abs({delta})"

    def improves(reference: str) -> str:
        value = current if delta in ("0", "0.0") else f"({current} {sign} {size})"
        return f"{value} {better} {reference}"

    return improves


def _scheduler(callback: Callback, loop: Loop) -> Lines:
    """keras.callbacks.LearningRateScheduler: the schedule's rate into every param group."""
    schedule = callback.args["schedule"]
    name = code(schedule) if isinstance(schedule, cst.Name) else loop.fresh("schedule")
    before = [f"{name} = {code(schedule)}"] if name != code(schedule) else []
    lr, group = loop.temp("lr"), loop.temp("group")
    groups = loop.groups
    called = f'{name}({loop.epoch}, {groups}[0]["lr"])' if callback.arity == 2 else f"{name}({loop.epoch})"
    start = [
        f"{lr} = {called}  # LearningRateScheduler, at the start of each epoch",
        f"for {group} in {groups}:",
        f'    {group}["lr"] = {lr}',
    ]
    return Lines(before=before, start=start)


def _plateau(callback: Callback, loop: Loop) -> Lines:
    """keras.callbacks.ReduceLROnPlateau (on_epoch_end)."""
    args = callback.args
    monitor = string_value(args.get("monitor", cst.SimpleString('"val_loss"')))
    factor = code(args["factor"]) if "factor" in args else "0.1"
    patience = code(args["patience"]) if "patience" in args else "10"
    cooldown = code(args["cooldown"]) if "cooldown" in args else "0"
    min_lr = code(args["min_lr"]) if "min_lr" in args else "0.0"
    best, wait, current = loop.fresh("plateau_best"), loop.fresh("plateau_wait"), loop.fresh("current")
    cooling = loop.fresh("cooldown_left")
    improves = _improves(args, current, "1e-4")  # ReduceLROnPlateau's default min_delta
    lr, group, groups = loop.temp("lr"), loop.temp("group"), loop.groups
    before = [f"{best}, {wait}, {cooling} = None, 0, 0  # ReduceLROnPlateau on {monitor}, patience {patience}"]
    end = [
        f'{current} = {loop.logs}["{monitor}"][-1]',
        f"if {cooling} > 0:",
        f"    {cooling} -= 1",
        f"    {wait} = 0",
        f"if {best} is None or {improves(best)}:",
        f"    {best} = {current}",
        f"    {wait} = 0",
        f"elif {cooling} == 0:",
        f"    {wait} += 1",
        f'    if {wait} >= {patience} and {groups}[0]["lr"] > {min_lr}:',
        f'        {lr} = max({groups}[0]["lr"] * {factor}, {min_lr})',
        f"        for {group} in {groups}:",
        f'            {group}["lr"] = {lr}',
        f"        {cooling}, {wait} = {cooldown}, 0",
    ]
    return Lines(before=before, end=end)


def _early_stopping(callback: Callback, loop: Loop) -> Lines:
    """keras.callbacks.EarlyStopping (on_epoch_end; on_train_end restores the best weights)."""
    args, model = callback.args, loop.model
    monitor = string_value(args.get("monitor", cst.SimpleString('"val_loss"')))
    patience = code(args["patience"]) if "patience" in args else "0"
    restore = "restore_best_weights" in args and code(args["restore_best_weights"]) == "True"
    best, wait, current = loop.fresh("best"), loop.fresh("wait"), loop.fresh("current")
    state = loop.fresh("best_state") if restore else None
    improves = _improves(args, current, "0")  # EarlyStopping's default min_delta

    before = [f"{best}, {wait} = None, 0  # EarlyStopping on {monitor}, patience {patience}"]
    if state is not None:
        before.append(f"{state} = None  # restore_best_weights: the weights of the best epoch")
    body = [f'{current} = {loop.logs}["{monitor}"][-1]', f"{wait} += 1", f"if {best} is None or {improves(best)}:"]
    body.append(f"    {best} = {current}")
    if state is not None:
        loop.imports.add("import copy")
        body.append(f"    {state} = copy.deepcopy({model}.state_dict())")
    baseline = args.get("baseline")
    if baseline is not None and code(baseline) != "None":
        body += [f"    if {improves(code(baseline))}:", f"        {wait} = 0"]
    else:
        body.append(f"    {wait} = 0")
    epoch = loop.temp("epoch")
    body += [f"elif {wait} >= {patience} and {epoch} > 0:", "    break"]
    if "start_from_epoch" in args and code(args["start_from_epoch"]) not in ("0",):
        body = [f"if {epoch} >= {code(args['start_from_epoch'])}:", *("    " + b for b in body)]
    after = []
    if state is not None:  # Keras restores them when training ends, stopped early or not
        after = [f"if {state} is not None:", f"    {model}.load_state_dict({state})"]
    return Lines(before=before, end=body, after=after)


def _checkpoint_lines(callback: Callback, loop: Loop) -> Lines:
    """keras.callbacks.ModelCheckpoint (save_freq="epoch"): the path formatted with the epoch
    (1-based) and the epoch's values, saved when the monitored value improves on the best so far
    (save_best_only) or every epoch. Weights are the model's ``state_dict()``; a whole model is
    pickled (``torch.save(model, path)``), as the translation of ``model.save`` does."""
    args = callback.args
    loop.imports.add("import torch")
    what = f"{loop.model}.state_dict()" if code(args.get("save_weights_only", cst.Name("False"))) == "True" else None
    saved = what or loop.model
    filepath, before, end = args["filepath"], [], []
    literal = string_value(filepath)
    if literal is not None and "{" not in literal:
        path = code(filepath)
        folder = os.path.dirname(literal)
        if folder:
            loop.imports.add("import os")
            before.append(f'os.makedirs("{folder}", exist_ok=True)  # ModelCheckpoint\'s folder')
    else:
        path = loop.fresh("checkpoint_path")
        if literal is not None:
            fields = sorted({f for _, f, _, _ in string.Formatter().parse(literal) if f})
            values = [f"epoch={loop.epoch} + 1" if f == "epoch" else f'{f}={loop.logs}["{f}"][-1]' for f in fields]
            end.append(f"{path} = {code(filepath)}.format({', '.join(values)})")
        else:
            logged = f"**{{k: v[-1] for k, v in {loop.logs}.items()}}"
            end.append(f"{path} = {code(filepath)}.format(epoch={loop.epoch} + 1, {logged})")
        if literal is None or "{" in os.path.dirname(literal):
            loop.imports.add("import os")
            end.append(f'os.makedirs(os.path.dirname({path}) or ".", exist_ok=True)')
        elif os.path.dirname(literal):
            loop.imports.add("import os")
            before.append(f'os.makedirs("{os.path.dirname(literal)}", exist_ok=True)  # ModelCheckpoint\'s folder')
    save = f"torch.save({saved}, {path})"
    if code(args.get("save_best_only", cst.Name("False"))) != "True":
        return Lines(before=before, end=[*end, f"{save}  # ModelCheckpoint, every epoch"])
    monitor = string_value(args.get("monitor", cst.SimpleString('"val_loss"')))
    best, current = loop.fresh("checkpoint_best"), loop.fresh("current")
    start = code(args["initial_value_threshold"]) if "initial_value_threshold" in args else "None"
    before.append(f"{best} = {start}  # ModelCheckpoint(save_best_only=True) on {monitor}")
    improves = _improves(args, current, "0")
    end += [
        f'{current} = {loop.logs}["{monitor}"][-1]',
        f"if {best} is None or {improves(best)}:",
        f"    {best} = {current}",
        f"    {save}",
    ]
    return Lines(before=before, end=end)


def _csv_logger(callback: Callback, loop: Loop) -> Lines:
    """keras.callbacks.CSVLogger: a row per epoch, ``epoch`` (from 0) then Keras' columns: the
    sorted logged names, and their ``val_`` forms holding "NA" when the fit has no validation."""
    args = callback.args
    loop.imports.add("import csv")
    keys = sorted(k for k in loop.keys if k != "learning_rate" or callback.sees_rate)
    columns = keys + ([f"val_{k}" for k in keys] if not any(k.startswith("val_") for k in keys) else [])
    handle, writer = loop.fresh("csv_file"), loop.fresh("csv_writer")
    append = code(args.get("append", cst.Name("False"))) == "True"
    separator = f", delimiter={code(args['separator'])}" if "separator" in args else ""
    header = "[" + ", ".join(f'"{c}"' for c in ["epoch", *columns]) + "]"
    before = [
        f'{handle} = open({code(args["filename"])}, "{"a" if append else "w"}")  # CSVLogger',
        f"{writer} = csv.writer({handle}{separator})",
    ]
    if append:  # Keras writes the header only into an empty file
        before += [f"if {handle}.tell() == 0:", f"    {writer}.writerow({header})"]
    else:
        before.append(f"{writer}.writerow({header})")
    values = [f'{loop.logs}["{c}"][-1]' if c in keys else '"NA"' for c in columns]
    end = [f"{writer}.writerow([{', '.join([loop.epoch, *values])}])", f"{handle}.flush()"]
    return Lines(before=before, end=end, after=[f"{handle}.close()"])


def arguments(call: cst.Call, params: tuple[str, ...]) -> dict[str, cst.BaseExpression] | None:
    """Keyword name -> value of a call's arguments (positional ones by ``params``' order)."""
    out: dict[str, cst.BaseExpression] = {}
    positional = 0
    for arg in call.args:
        if arg.star:
            return None
        if arg.keyword is None:
            if positional >= len(params):
                return None
            out[params[positional]] = arg.value
            positional += 1
        elif arg.keyword.value in params and arg.keyword.value not in out:
            out[arg.keyword.value] = arg.value
        else:
            return None
    return out


def string_value(node: cst.BaseExpression | None) -> str | None:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None
