"""Load and validate rule files (YAML), and the support code their templates may use.

A malformed file raises RuleFileError naming the file, the rule and the field.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import libcst as cst
import yaml

from ..directions import Direction
from . import expressions
from .model import Condition, Example, Rule, SizeSpec, Variant, template_params
from .signature import Signature, SignatureError
from .support import SupportLibrary

_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader when PyYAML has it
_FIELDS = {
    "class",
    "base",
    "signature",
    "to",
    "doc",
    "aliases",
    "method",
    "kind",
    "force",
    "ignore",
    "unsupported",
    "warn",
    "weights",
    "imports",
    "examples",
    "layout",
    "size",
    "inplace",
    "note",
    "untranslated",
    "receiver",
}
# the fields a declaration that a public name is not translated may carry
_UNTRANSLATED_FIELDS = {"untranslated", "aliases", "kind", "doc"}
# how a layer's translation treats the channel axis (see passes/common/layout_analysis.py)
LAYOUT_KINDS = ("spatial", "spatial_to_flat", "elementwise", "axis", "merge", "reduce")


_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
# one plain import statement: rule files add imports, they do not run statements
_IMPORT = re.compile(
    r"(import [A-Za-z_][\w.]*( as \w+)?|from \.*[A-Za-z_][\w.]* import \w+( as \w+)?"
    r"(, \w+( as \w+)?)*)"
)


class RuleFileError(ValueError):
    def __init__(self, file: Path | str, rule: str | None, field_name: str | None, message: str):
        where = f"{file}"
        if rule:
            where += f": rule {rule!r}"
        if field_name:
            where += f", field {field_name!r}"
        super().__init__(f"{where}: {message}")


def builtin_rules_dir() -> Path:
    """The shipped rules: inside the wheel (fwtranslate/_rules) or the repo's top-level rules/."""
    here = Path(__file__).resolve().parent.parent
    packaged = here / "_rules"
    if packaged.is_dir():
        return packaged
    return here.parent.parent / "rules"


@dataclass
class RuleSet:
    direction: str
    calls: dict[str, Rule] = field(default_factory=dict)  # qualified name -> rule
    attributes: dict[str, Rule] = field(default_factory=dict)  # qualified name -> rule
    methods: dict[str, Rule] = field(default_factory=dict)  # Tensor method name -> rule
    members: dict[str, Rule] = field(default_factory=dict)  # Tensor attribute name -> rule
    support: SupportLibrary = field(default_factory=SupportLibrary)
    files: list[Path] = field(default_factory=list)
    # public names declared not translated -> why (``untranslated:`` entries), reported at each use
    untranslated: dict[str, Rule] = field(default_factory=dict)

    def all_rules(self) -> list[Rule]:
        seen: dict[int, Rule] = {}
        for table in (self.calls, self.attributes, self.methods, self.members):
            for rule in table.values():
                seen.setdefault(id(rule), rule)
        return sorted(seen.values(), key=lambda r: r.name)

    def find(self, name: str) -> Rule | None:
        for rule in self.all_rules():
            if rule.name == name or name in rule.aliases:
                return rule
        return None

    def add(self, rule: Rule) -> None:
        if rule.untranslated:
            for name in (rule.name, *rule.aliases):
                self.untranslated[name] = rule
            return
        if rule.is_tensor_member:
            table = self.methods if rule.kind == "call" else self.members
            table[rule.member_name] = rule
            for alias in rule.aliases:
                table[alias.rsplit(".", 1)[1]] = rule
            return
        table = self.calls if rule.kind == "call" else self.attributes
        for name in (rule.name, *rule.aliases):
            table[name] = rule
        if rule.method:
            for name in (rule.name, *rule.aliases):
                self.methods[name.rsplit(".", 1)[1]] = rule


def load_rules(direction: str | Direction, extra: Iterable[Path | str] = ()) -> RuleSet:
    """The rules of ``direction`` (a ``Direction`` or its name, "torch_to_tf"), then ``extra``."""
    name = direction.name if isinstance(direction, Direction) else direction
    return _load(name, tuple(str(p) for p in extra))


@functools.lru_cache(maxsize=8)
def _load(name: str, extra: tuple[str, ...]) -> RuleSet:
    direction = Direction.by_name(name)
    folder = builtin_rules_dir() / direction.rules_folder
    ruleset = RuleSet(direction.name)
    ruleset.support = SupportLibrary.from_files(sorted(folder.glob("support*.py")))
    files = sorted(folder.glob("*.yaml")) + [Path(p) for p in extra]
    heads = dict(direction.template_imports)
    for path in files:
        for rule in parse_rule_file(path, ruleset.support):
            if heads:
                rule.imports = _with_template_imports(rule, heads)
            ruleset.add(rule)  # later files (user rules) override earlier ones
        ruleset.files.append(path)
    if direction.activation_macro:
        _register_activation_macro(ruleset)
    return ruleset


def _register_activation_macro(ruleset: RuleSet) -> None:
    """``activation_of(a)`` in a template: what the ``keras.layers.Activation`` rule makes of
    ``a`` (``"relu"`` -> ``nn.ReLU()``; ``None`` -> nothing), so layers' ``activation=`` argument
    shares that one table."""
    from .model import apply
    from .template import MACRO_OPTIONAL, MACROS

    def activation_of(args: list[cst.BaseExpression]) -> cst.BaseExpression:
        if not args or (isinstance(args[0], cst.Name) and args[0].value == "None"):
            return cst.Name("None")
        rule = ruleset.calls.get("keras.layers.Activation")
        node = apply(rule, [cst.Arg(args[0])]).node if rule is not None else None
        return node if node is not None else cst.Call(cst.Name("KerasActivation"), [cst.Arg(args[0])])

    MACROS["activation_of"] = activation_of
    activation = ruleset.calls.get("keras.layers.Activation")
    if activation is None:
        return
    helpers = frozenset().union(*(v.helpers for v in activation.variants)) | {"KerasActivation"}
    helpers &= frozenset(ruleset.support.files)
    MACRO_OPTIONAL.update(helpers)
    for rule in ruleset.all_rules():  # what activation_of may emit, the rule may need
        if any("activation_of(" in v.source for v in rule.variants):
            rule.variants = tuple(
                dataclasses.replace(v, helpers=v.helpers | helpers) if "activation_of(" in v.source else v
                for v in rule.variants
            )
            rule.imports = tuple(dict.fromkeys((*rule.imports, *activation.imports)))


_HEAD = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\.")


def _with_template_imports(rule: Rule, heads: dict[str, str]) -> tuple[str, ...]:
    """A template starting with ``F.`` needs ``import torch.nn.functional as F``: say it once in
    the direction, not in every rule."""
    needed = {heads[h] for v in rule.variants for h in _HEAD.findall(v.source) if h in heads}
    return tuple(dict.fromkeys((*rule.imports, *sorted(needed))))


def parse_rule_file(path: Path, support: SupportLibrary | None = None) -> list[Rule]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleFileError(path, None, None, f"cannot read: {exc.strerror}") from None
    try:
        data = yaml.load(text, Loader=_YamlLoader)  # noqa: S506 - a SafeLoader (CSafeLoader or SafeLoader)
    except yaml.YAMLError as exc:
        raise RuleFileError(path, None, None, f"not valid YAML: {exc}") from None
    if data is None:
        return []
    if not isinstance(data, dict):
        raise RuleFileError(path, None, None, "expected a mapping of rule names to rules")
    return [parse_rule(path, str(name), spec, support or SupportLibrary()) for name, spec in data.items()]


def _str_list(path: Path, name: str, spec: dict, key: str) -> tuple[str, ...]:
    value = spec.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RuleFileError(path, name, key, "expected a string or a list of strings")
    return tuple(value)


def _python_expr(path: Path, name: str, key: str, source: Any) -> None:
    """Validate a template or condition with CPython's parser (fast; templates are parsed with
    LibCST on first use only)."""
    import ast

    if not isinstance(source, str):
        raise RuleFileError(path, name, key, "expected a Python expression as a string")
    try:
        ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise RuleFileError(path, name, key, f"not a Python expression: {source!r} ({exc.msg})") from None


def _conditions(path: Path, name: str, spec: dict, key: str) -> tuple[Condition, ...]:
    items = spec.get(key, [])
    if not isinstance(items, list):
        raise RuleFileError(path, name, key, "expected a list of {when, message}")
    out = []
    for item in items:
        if not isinstance(item, dict) or set(item) != {"when", "message"}:
            raise RuleFileError(path, name, key, "each entry needs exactly 'when' and 'message'")
        _python_expr(path, name, f"{key}.when", item["when"])
        out.append(Condition(str(item["when"]), str(item["message"])))
    return tuple(out)


def _macro_helpers(source: str, support: SupportLibrary) -> frozenset[str]:
    from .template import MACRO_HELPERS

    found = frozenset().union(*(h for name, h in MACRO_HELPERS.items() if f"{name}(" in source))
    return found & frozenset(support.files)


def parse_rule(path: Path, name: str, spec: Any, support: SupportLibrary) -> Rule:
    if not isinstance(spec, dict):
        raise RuleFileError(path, name, None, "expected a mapping of fields")
    unknown = set(spec) - _FIELDS
    if unknown:
        raise RuleFileError(path, name, sorted(unknown)[0], f"unknown field (known: {', '.join(sorted(_FIELDS))})")
    kind = spec.get("kind", "call")
    if kind not in ("call", "attribute"):
        raise RuleFileError(path, name, "kind", "must be 'call' or 'attribute'")
    if "untranslated" in spec:
        return _untranslated(path, name, spec, kind)
    signature = None
    if kind == "call":
        if "signature" not in spec:
            raise RuleFileError(path, name, "signature", "required for call rules")
        try:
            signature = Signature.parse(str(spec["signature"]))
        except SignatureError as exc:
            raise RuleFileError(path, name, "signature", str(exc)) from None
        if name.startswith(("Tensor.", "Module.")) and (not signature.params or signature.params[0].name != "self"):
            raise RuleFileError(path, name, "signature", "a method's first parameter must be 'self'")
    if "to" not in spec:
        raise RuleFileError(path, name, "to", "required")
    variants = _variants(path, name, spec["to"])
    params = set(signature.names) if signature is not None else set()
    size = _size(path, name, spec.get("size"), params)
    if size is not None and size.input is not None:
        params.add(size.input)  # a template variable, not a helper
    # `modules` the parameter is not `modules` the helper
    variants = tuple(
        dataclasses.replace(
            v, helpers=frozenset(support.names_used(v.source) - params) | _macro_helpers(v.source, support)
        )
        for v in variants
    )
    helpers = set().union(*(v.helpers for v in variants))
    examples = []
    raw_examples = spec.get("examples", []) or []
    if not isinstance(raw_examples, list):
        raise RuleFileError(path, name, "examples", "expected a list of 'before => after' strings")
    for raw in raw_examples:
        if not isinstance(raw, str) or "=>" not in raw:
            raise RuleFileError(path, name, "examples", f"expected 'before => after', got {raw!r}")
        before, after = (s.strip() for s in raw.split("=>", 1))
        examples.append(Example(before, after))
    weights = spec.get("weights")
    if weights is not None and not (isinstance(weights, str) and weights.isidentifier()):
        raise RuleFileError(path, name, "weights", "expected the name of a weight converter")
    layout = spec.get("layout")
    if layout is not None and layout not in LAYOUT_KINDS:
        raise RuleFileError(path, name, "layout", f"expected one of: {', '.join(LAYOUT_KINDS)}")
    if layout in ("axis", "reduce") and (signature is None or not {"axis", "dim"} & set(signature.names)):
        raise RuleFileError(
            path, name, "layout", f"layout {layout!r} needs an 'axis' (Keras) or 'dim' (PyTorch) parameter"
        )
    for key in ("class", "base"):
        value = spec.get(key)
        if value is not None and not (isinstance(value, str) and _DOTTED.fullmatch(value)):
            raise RuleFileError(path, name, key, f"expected a class name such as keras.layers.Layer, got {value!r}")
    if spec.get("receiver", "model") != "model" or ("receiver" in spec and not name.startswith("Module.")):
        raise RuleFileError(path, name, "receiver", "only a Module.<name> rule may say `receiver: model`")
    for key in ("method", "inplace"):
        if key in spec and not isinstance(spec[key], bool):
            raise RuleFileError(path, name, key, f"expected true or false, got {spec[key]!r}")
    if spec.get("inplace") and not (name.startswith("Tensor.") and name.endswith("_") and kind == "call"):
        raise RuleFileError(path, name, "inplace", "only a Tensor method named <name>_ updates its receiver")
    for key in ("doc", "note"):
        if key in spec and not isinstance(spec[key], str):
            raise RuleFileError(path, name, key, "expected a string")
    for alias in _str_list(path, name, spec, "aliases"):
        if not _DOTTED.fullmatch(alias):
            raise RuleFileError(path, name, "aliases", f"expected a dotted name, got {alias!r}")
    for statement in _str_list(path, name, spec, "imports"):
        if not _IMPORT.fullmatch(statement):
            raise RuleFileError(
                path, name, "imports", f"expected 'import a.b [as c]' or 'from a.b import c [as d]', got {statement!r}"
            )
    rule = Rule(
        name=name,
        kind=kind,
        file=path,
        signature=signature,
        variants=variants,
        layout=layout,
        size=size,
        doc=str(spec.get("doc", "")).strip(),
        aliases=_str_list(path, name, spec, "aliases"),
        method=bool(spec.get("method", False)),
        inplace=bool(spec.get("inplace", False)),
        note=str(spec.get("note", "")).strip(),
        force=frozenset(_str_list(path, name, spec, "force")),
        ignore=frozenset(_str_list(path, name, spec, "ignore")),
        unsupported=_conditions(path, name, spec, "unsupported"),
        warn=_conditions(path, name, spec, "warn"),
        weights=weights,
        imports=_str_list(path, name, spec, "imports"),
        examples=tuple(examples),
        helpers=frozenset(helpers),
        explicit_class=spec.get("class"),
        subclass_base=spec.get("base"),
        model_receiver=spec.get("receiver") == "model",
    )
    if signature is not None:
        for key in ("force", "ignore"):
            for p in getattr(rule, key):
                if p not in signature.names:
                    raise RuleFileError(path, name, key, f"{p!r} is not a parameter of {signature.text}")
    _check_expressions(path, rule, params)
    rule.handled = frozenset(template_params(rule) | rule.ignore | rule.force)
    return rule


def _untranslated(path: Path, name: str, spec: dict, kind: str) -> Rule:
    """A declaration that ``name`` has no translation, and why: what the API surface's coverage
    counts as "declared", and what a use of the name reports instead of "no rule"."""
    reason = spec["untranslated"]
    if not isinstance(reason, str) or not reason.strip():
        raise RuleFileError(path, name, "untranslated", "expected the reason, a non-empty string")
    extra = set(spec) - _UNTRANSLATED_FIELDS
    if extra:
        raise RuleFileError(path, name, sorted(extra)[0], "an untranslated name takes only doc and aliases")
    aliases = _str_list(path, name, spec, "aliases")
    return Rule(
        name, kind, path, None, (), doc=str(spec.get("doc", "")).strip(), aliases=aliases, untranslated=reason.strip()
    )


def _check_expressions(path: Path, rule: Rule, params: set[str]) -> None:
    """Every condition and ``static(...)`` is checked against the interpreter's grammar now, so
    that a rule file that tries anything else is refused with its file, rule and field."""
    import ast

    checks: list[tuple[str, str, set[str]]] = []
    # a rule with a `size` field may test the input's rank in a `when_known` (it is not always
    # known, and a runtime `when` would need it in the output)
    known_params = params | {"rank"} if rule.size is not None else params
    for v in rule.variants:
        for key, cond, names in (("to.when", v.when, params), ("to.when_known", v.when_known, known_params)):
            if cond is not None:
                checks.append((key, cond, names))
        for call in ast.walk(ast.parse(v.source, mode="eval")):
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "static":
                if len(call.args) != 1 or call.keywords:
                    raise RuleFileError(path, rule.name, "to", "static() takes one expression")
                checks.append(("to", ast.unparse(call.args[0]), params))
    for key, conds in (("unsupported", rule.unsupported), ("warn", rule.warn)):
        checks.extend((f"{key}.when", c.when, params) for c in conds)
    if rule.size is not None:
        for key, expr in (
            ("size.when", rule.size.when),
            ("size.output", rule.size.output),
            ("size.rank", rule.size.rank),
        ):
            if expr is not None and expr not in ("keep", "sum"):
                checks.append((key, expr, params | {"rank"}))
    for key, expr, names in checks:
        try:
            expressions.check(ast.parse(expr, mode="eval").body, names)
        except expressions.ExpressionError as exc:
            raise RuleFileError(path, rule.name, key, f"{expr!r}: {exc}") from None


def _size(path: Path, name: str, raw: Any, params: set[str]) -> SizeSpec | None:
    """The ``size`` field: ``keep`` or ``{input?: NAME, output: keep | sum | EXPR, when?: COND,
    rank?: keep | EXPR}``."""
    if raw is None:
        return None
    if "rank" in params:
        raise RuleFileError(path, name, "size", "a rule with a parameter named 'rank' cannot have a size field")
    if raw == "keep":
        return SizeSpec(rank="keep")
    if not isinstance(raw, dict) or "output" not in raw or set(raw) - {"input", "output", "when", "rank"}:
        raise RuleFileError(
            path,
            name,
            "size",
            "expected 'keep' or {input?: NAME, output: keep | sum | EXPR, when?: COND, rank?: keep | EXPR}",
        )
    input_name = raw.get("input")
    if input_name is not None and (
        not isinstance(input_name, str) or not input_name.isidentifier() or input_name in params
    ):
        raise RuleFileError(path, name, "size.input", f"expected a new template variable name, got {input_name!r}")
    output = str(raw["output"])
    if output not in ("keep", "sum"):
        _python_expr(path, name, "size.output", output)
    when = raw.get("when")
    if when is not None:
        _python_expr(path, name, "size.when", str(when))
    rank = raw.get("rank")
    if rank is not None and str(rank) != "keep":
        _python_expr(path, name, "size.rank", str(rank))
    return SizeSpec(input_name, output, None if when is None else str(when), None if rank is None else str(rank))


def _variants(path: Path, name: str, to: Any) -> tuple[Variant, ...]:
    if isinstance(to, str):
        _python_expr(path, name, "to", to)
        return (Variant(to, repeated=_repeated(to)),)
    if not isinstance(to, list) or not to:
        raise RuleFileError(path, name, "to", "expected an expression or a list of {when, to}")
    out = []
    for item in to:
        if not isinstance(item, dict) or "to" not in item or set(item) - {"to", "when", "when_known"}:
            raise RuleFileError(path, name, "to", "each variant is {to, when?} or {to, when_known?}")
        for key in ("when", "when_known"):
            if key in item:
                _python_expr(path, name, f"to.{key}", item[key])
        if "when" in item:
            _runtime_safe(path, name, "to.when", item["when"])
        _python_expr(path, name, "to", item["to"])
        out.append(Variant(item["to"], item.get("when"), item.get("when_known"), _repeated(item["to"])))
    return tuple(out)


def _runtime_safe(path: Path, name: str, key: str, source: str) -> None:
    """A ``when`` condition may end up in the output (``A if cond else B``) when a value is not
    known statically, so it may only use Python builtins, not translation-time predicates."""
    import ast
    import builtins

    from .predicates import PREDICATES

    for node in ast.walk(ast.parse(source, mode="eval")):
        if isinstance(node, ast.Name) and node.id in PREDICATES and not hasattr(builtins, node.id):
            raise RuleFileError(
                path,
                name,
                key,
                f"{node.id}() exists only at translation time: use it in when_known, or write the test in plain Python",
            )


def _repeated(source: str) -> frozenset[str]:
    import ast
    import collections

    counts = collections.Counter(n.id for n in ast.walk(ast.parse(source, mode="eval")) if isinstance(n, ast.Name))
    return frozenset(n for n, c in counts.items() if c > 1)
