"""The rule-expression interpreter: what it refuses, what it computes, and that nothing reaches eval."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fwtranslate.rules import expressions, load_rules
from fwtranslate.rules.expressions import ExpressionError, check, functions_for, interpret, parse
from fwtranslate.rules.loader import RuleFileError, parse_rule_file

pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")
SRC = Path(__file__).resolve().parents[2] / "src" / "fwtranslate"


def run(source: str, **values):
    return interpret(parse(source), values, functions_for({}))


# --- refused when the rule file is loaded ----------------------------------------------------------
ESCAPES = [
    "().__class__.__base__.__subclasses__()",
    "[c for c in ().__class__.__bases__]",
    "__import__('os').system('true')",
    "getattr(x, '__class__')",
    "type(x)",
    "eval('1')",
    "open('f')",
    "(lambda: 1)()",
    "(y := 3)",
    "f'{x}'",
    "x.real",
    "'{0.__class__}'.format(x)",
    "str.lower('X')",
    "len(*x)",
    "dict(**x)",
    "b'bytes'",
    "__builtins__",
    "[x async for x in y]",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_outside_the_grammar_is_refused(source):
    with pytest.raises(ExpressionError):
        check(ast.parse(source, mode="eval").body, {"x", "y"})


def test_methods_are_checked_on_the_value_too():
    """``.count`` is allowed on a str; a str-looking method on another type is not."""
    assert run("x.count('a')", x="banana") == 3
    with pytest.raises(ExpressionError):
        run("x.keys()", x="not a dict")  # str has no whitelisted .keys


def test_unknown_names_are_refused_at_load():
    with pytest.raises(ExpressionError, match="unknown name 'stirde'"):
        check(ast.parse("stirde == 1", mode="eval").body, {"stride"})
    check(ast.parse("all(s == 1 for s in ntuple(stride, 2))", mode="eval").body, {"stride"})


@pytest.mark.parametrize(
    "source",
    [
        "'x' * 10 ** 9",
        "10 ** 10 ** 10",
        "(2 ** 256) ** 256",
        "list(range(10 ** 9))",
        "[a for a in range(1000) for b in range(1000)]",
    ],
)
def test_sizes_are_bounded(source):
    with pytest.raises(ExpressionError):
        run(source)


# --- what it computes ----------------------------------------------------------------------------------
CASES = [
    ("padding != 0 and not is_one(stride)", {"padding": 1, "stride": 2}, True),
    ("dims not in (1, 2, 3)", {"dims": 4}, True),
    ("min(ntuple(padding, 2)) < 0", {"padding": (1, -1)}, True),
    ("kwargs.keys() - {'name'}", {"kwargs": {"name": 1, "dtype": 2}}, {"dtype"}),
    ("tuple(q for p in ntuple(padding, 2)[::-1] for q in (p, p))", {"padding": (1, 2)}, (2, 2, 1, 1)),
    ("tuple(v for pair in paddings[::-1] for v in pair)", {"paddings": ((1, 2), (3, 4))}, (3, 4, 1, 2)),
    ("1.19e-07 if eps is None else eps", {"eps": None}, 1.19e-07),
    ("{k: v for k, v in d.items() if v}", {"d": {"a": 0, "b": 1}}, {"b": 1}),
    ("distribution.lower() not in ('normal', 'uniform')", {"distribution": "Normal"}, False),
    ("isinstance(axis, (tuple, list))", {"axis": [1]}, True),
    ("0 < x <= 3", {"x": 3}, True),
    ("x[1:][0]", {"x": (1, 2, 3)}, 2),
    ("-x ** 2 // 3 % 5", {"x": 4}, (-16 // 3) % 5),
    ("a or b", {"a": 0, "b": "z"}, "z"),
]


@pytest.mark.parametrize("source,values,expected", CASES)
def test_computes_what_python_computes(source, values, expected):
    assert run(source, **values) == expected


def test_binding_functions_read_the_call():
    fns = functions_for({"given": lambda name: name == "stride"})
    assert interpret(parse("given('stride') and not given('padding')"), {}, fns) is True


# generated expressions of the grammar compute what CPython computes (the oracle is CPython's
# own evaluation of expressions this test writes; no rule file is involved)
_names = st.sampled_from(["a", "b", "c"])
_leaf = st.one_of(st.integers(-5, 5).map(str), _names, st.sampled_from(["None", "True", "'s'", "2.5", "(1, 2)"]))


def _grow(inner):
    binary = st.tuples(
        inner, st.sampled_from(["+", "-", "*", "//", "%", "==", "!=", "<", " in ", " is ", " and ", " or "]), inner
    ).map(lambda t: f"({t[0]}{t[1]}{t[2]})")
    return st.one_of(
        binary,
        inner.map(lambda e: f"(not {e})"),
        inner.map(lambda e: f"(-{e})"),
        st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
        st.tuples(inner, inner).map(lambda t: f"({t[0]}, {t[1]})"),
        inner.map(lambda e: f"[v for v in (1, 2) if {e}]"),
        inner.map(lambda e: f"len(({e},))"),
        st.tuples(inner, st.integers(-2, 2)).map(lambda t: f"(({t[0]}, 1, 2)[{t[1]}])"),
    )


@settings(max_examples=300, deadline=None)
@given(st.recursive(_leaf, _grow, max_leaves=8), st.integers(-3, 3), st.text(max_size=2), st.none())
def test_generated_expressions_match_cpython(source, a, b, c):
    values = {"a": a, "b": b, "c": c}
    try:
        expected = ("value", eval(source, {"__builtins__": {"len": len}, **values}))
    except Exception as exc:  # noqa: BLE001
        expected = ("error", type(exc))
    try:
        got = ("value", interpret(parse(source), values, functions_for({})))
    except ExpressionError:
        return  # a bound the grammar sets (large values): not CPython's business
    except Exception as exc:  # noqa: BLE001
        got = ("error", type(exc))
    assert got == expected, source


# --- the product never evaluates rule text -------------------------------------------------------
def test_no_eval_exec_or_compile_of_rule_text_in_the_translator():
    offenders = []
    for path in SRC.rglob("*.py"):
        if "verify" in path.parts or "weights" in path.parts:
            continue  # they import the user's model on purpose (fwtranslate verify)
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("eval", "exec"):
                offenders.append(f"{path.name}:{node.lineno}")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "compile":
                mode = ast.unparse(node.args[2]) if len(node.args) > 2 else ""
                flags = " ".join(ast.unparse(k.value) for k in node.keywords if k.arg == "flags")
                if "PyCF_ONLY_AST" not in flags:  # parsing for a syntax check is not running
                    offenders.append(f"{path.name}:{node.lineno} compile({mode})")
    assert not offenders, offenders


def test_every_shipped_expression_is_in_the_grammar():
    """Loading checks them; this counts that the check saw real work."""
    conditions = 0
    for direction in ("torch_to_tf", "tf_to_torch"):
        for rule in load_rules(direction).all_rules():
            conditions += sum(1 for v in rule.variants if v.when or v.when_known)
            conditions += len(rule.unsupported) + len(rule.warn)
    assert conditions > 300


def test_the_escape_is_refused_with_file_rule_and_field(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text(
        "torch.cat:\n  signature: (tensors, dim=0)\n  to: keras.ops.concatenate(tensors, axis=dim)\n"
        "  warn:\n    - when: ().__class__.__base__.__subclasses__()\n      message: hi\n"
    )
    with pytest.raises(
        RuleFileError, match=r"evil.yaml: rule 'torch.cat', field 'warn.when': .*is not allowed in a rule expression"
    ):
        parse_rule_file(path)


def test_functions_table_holds_no_dangerous_builtin():
    dangerous = {
        "eval",
        "exec",
        "compile",
        "open",
        "getattr",
        "setattr",
        "type",
        "vars",
        "globals",
        "locals",
        "__import__",
        "input",
        "breakpoint",
        "object",
        "super",
        "memoryview",
        "help",
    }
    assert not dangerous & set(functions_for({}))
    assert not dangerous & expressions.FUNCTIONS
