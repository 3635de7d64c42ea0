"""Names declared not translated (`untranslated:` in rule files) say why wherever they are used."""

from __future__ import annotations

import textwrap

import pytest

from fwtranslate import translate
from fwtranslate.rules import load_rules
from fwtranslate.rules.loader import RuleFileError, parse_rule_file

PRELUDE = {
    "torch_to_tf": "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\nx = torch.zeros(2, 3)\n",
    "tf_to_torch": "import keras\nimport tensorflow as tf\nx = keras.ops.zeros((2, 3))\n",
}
TARGET = {"torch_to_tf": "tf", "tf_to_torch": "torch"}


def _declared():
    for direction in PRELUDE:
        for name, rule in sorted(load_rules(direction).untranslated.items()):
            yield pytest.param(direction, name, rule, id=f"{direction}:{name}")


@pytest.mark.parametrize("direction,name,rule", list(_declared()))
def test_a_declared_name_reports_its_reason(direction, name, rule):
    use = f"x.{name.split('.', 1)[1]}()" if name.startswith("Tensor.") else f"{name}(x)"
    result = translate(f"{PRELUDE[direction]}y = {use}\n", to=TARGET[direction])
    found = [d for d in result.diagnostics if d.code == "not-translated"]
    assert found, [str(d) for d in result.diagnostics]
    assert rule.untranslated in found[0].message
    assert "# fwtranslate: unconverted" in result.code


def test_a_name_with_no_rule_and_no_declaration_is_still_no_rule():
    result = translate(
        "import torch.nn.functional as F\nimport torch\ny = F.no_such_function(torch.zeros(2))\n", to="tf"
    )
    assert {d.code for d in result.diagnostics} >= {"no-rule"}


def test_a_declaration_needs_a_reason_and_takes_no_translation(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("torch.foo:\n  untranslated: ''\n")
    with pytest.raises(RuleFileError, match="reason"):
        parse_rule_file(path)
    path.write_text(
        textwrap.dedent("""\
        torch.foo:
          untranslated: no counterpart
          to: keras.ops.foo(x)
        """)
    )
    with pytest.raises(RuleFileError, match="untranslated"):
        parse_rule_file(path)


def test_user_rules_may_declare_names(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("torch.special.zeta:\n  untranslated: our team never needs it\n")
    result = translate("import torch\ny = torch.special.zeta(torch.ones(2), 2.0)\n", to="tf", rules=[path])
    assert any(d.code == "not-translated" and "our team" in d.message for d in result.diagnostics)


@pytest.mark.parametrize("direction", list(PRELUDE))
def test_no_name_is_both_translated_and_declared(direction):
    rules = load_rules(direction)

    def translated(name: str) -> bool:
        if name.startswith("Tensor."):
            return name[7:] in rules.methods or name[7:] in rules.members
        return name in rules.calls or name in rules.attributes

    assert [n for n in rules.untranslated if translated(n)] == []
