"""A rule as loaded from a rule file, and applying it to one call."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from ..cstutil import expression
from ..report import ERROR, INFO, WARNING
from .literals import UNKNOWN, literal_value
from .signature import BindError, BoundArg, Signature, bind
from .template import RuleExpressionError, evaluate, referenced_params, render


@dataclass(frozen=True)
class Variant:
    source: str  # the target template, as written in the rule file
    when: str | None = None  # unknown at translation time -> runtime conditional
    when_known: str | None = None  # unknown at translation time -> variant skipped
    repeated: frozenset[str] = frozenset()  # parameters the template uses more than once
    helpers: frozenset[str] = frozenset()  # support definitions the template calls

    @functools.cached_property
    def template(self) -> cst.BaseExpression:
        # parsed on first use: a file uses a few of the hundreds of rules loaded
        return cst.parse_expression(self.source)


@dataclass(frozen=True)
class Condition:
    when: str
    message: str


@dataclass(frozen=True)
class SizeSpec:
    """The ``size`` field (tf_to_torch): how a layer changes the feature size (the last axis, in
    Keras' channels-last order), for the static size analysis (passes/tf_to_torch/static_sizes.py).

    ``input``: the name of a template variable set to the input's feature size when the analysis
    knows it (not given otherwise, so an argument using it is omitted and ``sized(...)`` keeps the
    Lazy module). ``output``: ``"keep"`` (unchanged; for a list of inputs: all of them, when they
    agree), ``"sum"`` (a list of inputs concatenated on the last axis) or an expression over the
    literal parameters and ``input``. ``when``: a condition over the literal parameters and
    ``rank`` (the input's rank); unless it holds, neither size is known. ``rank``: the output's
    rank, ``"keep"`` or an expression over the parameters and ``rank`` (None: unknown)."""

    input: str | None = None
    output: str = "keep"
    when: str | None = None
    rank: str | None = None  # the output's rank: "keep" or an expression over parameters and `rank`


@dataclass(frozen=True)
class Example:
    before: str
    after: str  # the expected target expression, or "ERROR[code]"


@dataclass
class Rule:
    """One source API and how it translates. See docs/rules.md for the file format."""

    name: str  # qualified source name (torch.nn.Linear) or Tensor.<method>/<attribute>
    kind: str  # "call" | "attribute"
    file: Path
    signature: Signature | None
    variants: tuple[Variant, ...]
    doc: str = ""
    aliases: tuple[str, ...] = ()
    method: bool = False  # a call rule that also applies as a Tensor method (receiver = 1st param)
    inplace: bool = False  # Tensor.<name>_: the target is the receiver's new value (x = <target>)
    note: str = ""  # said as an info diagnostic wherever the rule translates a use
    force: frozenset[str] = frozenset()
    ignore: frozenset[str] = frozenset()
    unsupported: tuple[Condition, ...] = ()
    warn: tuple[Condition, ...] = ()
    weights: str | None = None
    imports: tuple[str, ...] = ()
    examples: tuple[Example, ...] = ()
    helpers: frozenset[str] = frozenset()  # support definitions the templates use
    handled: frozenset[str] = field(default=frozenset())  # params some part of the rule uses
    explicit_class: str | None = None  # the `class:` field
    subclass_base: str | None = None  # the `base:` field: what a subclass of the source class derives from
    layout: str | None = None  # how the translation treats the channel axis (loader.LAYOUT_KINDS)
    size: SizeSpec | None = None  # tf_to_torch: feature sizes for the static size analysis
    untranslated: str = ""  # a declared "not translated": the reason (no signature, no target)
    # `receiver: model`: only where the receiver is known to be a model or layer (`df.apply(f)` is pandas')
    model_receiver: bool = False

    @property
    def is_tensor_member(self) -> bool:
        """``Tensor.view`` / ``Module.modules``: a method or attribute of an object."""
        return self.name.startswith(("Tensor.", "Module."))

    @property
    def is_module_member(self) -> bool:
        """``Module.<name>``: applies to any receiver, ``self`` included (models are not tensors)."""
        return self.name.startswith("Module.")

    @property
    def target_class(self) -> str | None:
        """The target class a reference to this source class means (``isinstance(m, nn.Conv2d)``,
        a base class): the callee of the first variant, when it is a dotted name."""
        from ..imports import dotted_name

        if self.explicit_class:
            return self.explicit_class
        for v in self.variants:
            if isinstance(v.template, cst.Call):
                return dotted_name(v.template.func)
            return dotted_name(v.template)
        return None

    @property
    def member_name(self) -> str:
        return self.name.rsplit(".", 1)[1]


@dataclass
class Outcome:
    node: cst.BaseExpression | None  # None: not translated
    variants: list = field(default_factory=list)  # the variants the translation used
    messages: list[tuple[str, str, str]] = field(default_factory=list)  # (severity, code, msg)


def apply(
    rule: Rule,
    args: Sequence[cst.Arg] = (),
    receiver: cst.BaseExpression | None = None,
    input_size: int | str | None = None,
    input_rank: int | None = None,
) -> Outcome:
    """Translate one use of ``rule``: a call (args), a method call (receiver + args) or an
    attribute (receiver or nothing). ``input_size``: the layer's input feature size when the
    static analysis knows it, an int or the name of a variable holding it (bound to the
    template variable ``size.input`` names). ``input_rank``: the rank of the layer's inputs when
    the analysis knows it (the template variable ``rank`` of a rule with a ``size`` field;
    unknown otherwise, so a ``when_known`` on it skips its variant). A rule expression that fails leaves the use
    untranslated and reported, never half-translated."""
    try:
        return _apply(rule, args, receiver, input_size, input_rank)
    except RuleExpressionError as exc:
        return Outcome(None, messages=[(ERROR, "rule-error", f"{rule.name} ({rule.file}): {exc}")])


def _apply(
    rule: Rule,
    args: Sequence[cst.Arg],
    receiver: cst.BaseExpression | None,
    input_size: int | str | None,
    input_rank: int | None = None,
) -> Outcome:
    out = Outcome(None)
    if rule.signature is None:
        bound: dict[str, BoundArg] = {}
        if receiver is not None:
            bound["self"] = BoundArg(receiver, True, UNKNOWN)
    else:
        try:
            bound = bind(rule.signature, args, receiver)
        except BindError as exc:
            out.messages.append((ERROR, "unbindable-call", f"{rule.name}: {exc}"))
            return out
        for name, b in bound.items():
            if b.given and name not in rule.handled and b.keywords is None:  # **kwargs: swallowed
                out.messages.append(
                    (ERROR, "unsupported-argument", f"{rule.name}: argument {name!r} has no translation")
                )
                return out
    if rule.size is not None and rule.size.input is not None:
        bound = dict(bound)
        if isinstance(input_size, str):  # an expression over parameters (`dim`, `(dim * 2)`)
            bound[rule.size.input] = BoundArg(expression(input_size), True, UNKNOWN)
        elif input_size is not None:
            bound[rule.size.input] = BoundArg(cst.Integer(str(input_size)), True, input_size)
        else:
            bound[rule.size.input] = BoundArg(cst.Name("None"), False, None)
    if rule.size is not None:  # (the loader refuses a size field on a rule with a `rank` parameter)
        bound = dict(bound)
        if input_rank is not None:
            bound["rank"] = BoundArg(cst.Integer(str(input_rank)), True, input_rank)
        else:
            bound["rank"] = BoundArg(cst.Name("rank"), False, UNKNOWN)
    for cond in rule.unsupported:
        verdict = evaluate(cond.when, bound)
        if verdict is UNKNOWN:
            out.messages.append(
                (WARNING, "unchecked-argument", f"{rule.name}: could not check statically: {cond.message}")
            )
        elif verdict:
            out.messages.append((ERROR, "unsupported-argument", f"{rule.name}: {cond.message}"))
            return out
    for cond in rule.warn:
        verdict = evaluate(cond.when, bound)
        if verdict is UNKNOWN or verdict:
            out.messages.append((WARNING, "semantics", f"{rule.name}: {cond.message}"))
    out.node = choose_variant(rule, rule.variants, bound, out.variants)
    if out.node is None:
        out.messages.append((ERROR, "no-variant", f"{rule.name}: no translation applies to these arguments"))
    elif rule.note:
        out.messages.append((INFO, "note", f"{rule.name}: {rule.note}"))
    return out


def _simple(node: cst.BaseExpression) -> bool:
    """Cheap and side-effect free, so a template may repeat it."""
    if literal_value(node) is not UNKNOWN:
        return True  # a literal, e.g. a tuple of numbers
    while isinstance(node, (cst.Attribute, cst.Subscript)):
        if isinstance(node, cst.Subscript) and not all(
            isinstance(e.slice, cst.Index) and isinstance(e.slice.value, (cst.Integer, cst.Name)) for e in node.slice
        ):
            return False
        node = node.value
    return isinstance(node, (cst.Name, cst.Integer, cst.Float, cst.SimpleString))


def choose_variant(
    rule: Rule, variants: Sequence[Variant], bound, used: list | None = None
) -> cst.BaseExpression | None:
    """The chosen variant(s) rendered; ``used`` collects the variants that went into it."""
    used = [] if used is None else used
    for i, v in enumerate(variants):
        if i < len(variants) - 1 and any(not _simple(bound[p].node) for p in v.repeated if p in bound):
            continue  # would evaluate a complex argument twice: a later variant must do
        if v.when_known is not None:
            verdict = evaluate(v.when_known, bound)
            if verdict is UNKNOWN or not verdict:
                continue
            used.append(v)
            return render(v.template, bound, rule.force)
        if v.when is None:
            used.append(v)
            return render(v.template, bound, rule.force)
        verdict = evaluate(v.when, bound)
        if verdict is UNKNOWN:
            rest = choose_variant(rule, variants[i + 1 :], bound, used)
            if rest is None:
                return None
            cond = render(expression(v.when), bound, rule.force)
            used.append(v)
            return cst.IfExp(test=cond, body=render(v.template, bound, rule.force), orelse=rest)
        if verdict:
            used.append(v)
            return render(v.template, bound, rule.force)
    return None


def template_params(rule: Rule) -> set[str]:
    names = set(rule.signature.names) if rule.signature else {"self"}
    used: set[str] = set()
    for v in rule.variants:
        used |= referenced_params(v.source, names)
        for cond in (v.when, v.when_known):
            if cond:
                used |= referenced_params(cond, names)
    for c in (*rule.unsupported, *rule.warn):
        used |= referenced_params(c.when, names)
    return used
