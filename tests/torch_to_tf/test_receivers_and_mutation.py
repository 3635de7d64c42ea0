"""Tensor rules only where the receiver may be a tensor; mode switches, in-place methods and item
assignment are translated or reported, never left silently; support code below the imports."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from fwtranslate import translate


def _tf(source: str):
    return translate(textwrap.dedent(source), to="tf")


def _codes(result) -> list[tuple[str, str]]:
    return [(d.severity, d.code) for d in result.diagnostics]


# --- 1. receivers known not to be framework objects ---------------------------------------------
def test_argparse_namespace_and_plain_names_keep_tensor_attributes():
    result = _tf(
        """\
        import argparse
        import torch
        import data

        parser = argparse.ArgumentParser()
        args = parser.parse_args()
        opts, rest = parser.parse_known_args()
        first = parser.parse_known_args()[0]
        ns = argparse.Namespace(data="x")
        text = "abc"
        corpus = data.Corpus(args.data, opts.data, first.data, ns.data, text.data, data.data)
        x = torch.zeros(3)
        y = x.data
        """
    )
    assert "data.Corpus(args.data, opts.data, first.data, ns.data, text.data, data.data)" in result.code
    assert "y = x\n" in result.code  # a real tensor's .data is still translated
    assert result.ok, _codes(result)


def test_a_name_with_one_unknown_binding_is_still_a_tensor_candidate():
    result = _tf(
        """\
        import torch

        def f(t, flag):
            args = "x"
            if flag:
                args = torch.zeros(2)
            return args.data, t.data
        """
    )
    assert "return args, t" in result.code


# --- 2. mode switches ---------------------------------------------------------------------------
def test_mode_switch_statements_are_dropped_with_a_comment():
    result = _tf(
        """\
        import torch.nn as nn

        class Net(nn.Module):
            def forward(self, x):
                return x

        model = Net()
        model.eval()
        x = 1
        if x:
            model.train()
        m2 = Net().eval()
        model.train(False)
        """
    )
    code = result.code
    assert "\nmodel\n" not in code and "model.eval()" not in code.replace("# fwtranslate: model.eval()", "")
    assert "# fwtranslate: model.eval() dropped: Keras layers take training=... per call\nx = 1" in code
    assert "    pass  # fwtranslate: model.train() dropped" in code  # the block's only statement
    assert "m2 = Net()\n" in code  # its value used: the model itself
    assert _codes(result) == [("info", "mode-switch"), ("warning", "mode-switch"), ("info", "mode-switch")]
    compile(code, "out.py", "exec")


def test_sublayer_eval_in_a_method_and_foreign_train_calls():
    result = _tf(
        """\
        import argparse
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.bn = nn.BatchNorm1d(4)

            def freeze(self):
                self.bn.eval()

        args = argparse.ArgumentParser().parse_args()

        def run(trainer):
            trainer.train()
            args.eval()
        """
    )
    assert "self.bn\n" not in result.code
    assert "        pass  # fwtranslate: self.bn.eval() dropped" in result.code
    # a layer switched in the model's own code was meant to stay in inference mode: a warning
    assert _codes(result) == [("warning", "mode-switch")]
    assert "trainable = False" in result.diagnostics[0].message
    assert "    trainer.train()\n    args.eval()\n" in result.code  # not known models: kept
    compile(result.code, "out.py", "exec")


# --- 3. in-place methods ------------------------------------------------------------------------
def test_inplace_methods_without_a_rule_are_reported_and_marked():
    result = _tf(
        """\
        import torch

        def f(x, y):
            x.geometric_(y)
            return x
        """
    )
    assert not result.ok
    assert ("error", "inplace-method") in _codes(result)
    assert "# fwtranslate: unconverted [inplace-method]" in result.code and "x.geometric_(y)" in result.code


def test_inplace_on_an_attribute_or_with_its_value_used_is_reported():
    result = _tf(
        """\
        import torch

        def f(m, x):
            m.state.fill_(1.0)
            z = x.fill_(2.0)
            return z
        """
    )
    assert _codes(result) == [("error", "inplace-method"), ("error", "inplace-expression")]
    assert "m.state.fill_(1.0)" in result.code
    assert result.code.count("# fwtranslate: unconverted") == 2


CASES = [
    ("x.fill_(2.5)", "x = keras.ops.full_like(x, 2.5)"),
    ("x.zero_()", "x = keras.ops.zeros_like(x)"),
    ("x.add_(y)", "x = keras.ops.add(x, y)"),
    ("x.sub_(y)", "x = keras.ops.subtract(x, y)"),
    ("x.mul_(y)", "x = keras.ops.multiply(x, y)"),
    ("x.div_(y)", "x = keras.ops.divide(x, y)"),
    ("x.clamp_(-0.5, 0.5)", "x = keras.ops.clip(x, -0.5, 0.5)"),
    ("x.masked_fill_(y > 0, 7.0)", "x = keras.ops.where(y > 0, 7.0, x)"),
]


@pytest.mark.parametrize("stmt,expected", CASES)
def test_inplace_statements_rebind_and_match_torch(stmt, expected):
    torch = pytest.importorskip("torch")
    keras = pytest.importorskip("keras")
    source = f"import torch\n\ndef f(x, y):\n    {stmt}\n    return x\n"
    result = translate(source, to="tf")
    assert result.ok, _codes(result)
    assert f"    {expected}\n" in result.code
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4)).astype("float32")
    b = rng.standard_normal((3, 4)).astype("float32") + 0.5
    ns_torch: dict = {}
    exec(source, ns_torch)
    want = ns_torch["f"](torch.tensor(a), torch.tensor(b)).numpy()
    ns_keras: dict = {}
    exec(result.code, ns_keras)
    got = keras.ops.convert_to_numpy(ns_keras["f"](keras.ops.convert_to_tensor(a), keras.ops.convert_to_tensor(b)))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    assert got.dtype == want.dtype


# --- 4. item assignment -------------------------------------------------------------------------
def test_item_assignment_to_a_known_tensor_is_reported():
    result = _tf(
        """\
        import torch
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 2)

            def forward(self, inp):
                h = self.fc(inp)
                h[:, 0] = 0.0
                inp[0] = 1.0
                return h

        y = torch.zeros(3, 4).clone()
        y[:, :2] = 3.0
        y[0] += 1
        cfg = {}
        cfg["a"] = 1
        rows = [1, 2]
        rows[0] = torch.ones(1)
        """
    )
    codes = [(d.line, d.code) for d in result.diagnostics if d.severity == "error"]
    assert codes == [(11, "item-assignment"), (16, "item-assignment"), (17, "item-assignment")]
    assert result.code.count("[item-assignment]") == 3


# --- 5. torch.device ----------------------------------------------------------------------------
def test_device_becomes_its_name_with_an_info_note():
    result = _tf('import torch\n\ndevice = torch.device("cuda")\n')
    assert 'device = "cuda"' in result.code  # a meaningful value (what a script prints), never None
    assert [(d.severity, d.code) for d in result.diagnostics] == [("info", "note")]
    assert "Keras places tensors itself" in result.diagnostics[0].message


# --- 6. support code after the docstring, bare strings and imports -----------------------------
def test_support_code_goes_after_bare_strings_and_imports():
    result = _tf('"""Doc."""\n"A bare string."\nimport torch.nn as nn\n\n\ndef f(m):\n    return m.bias is not None\n')
    lines = result.code.splitlines()
    assert lines[:3] == ['"""Doc."""', '"A bare string."', "import keras"]
    assert lines.index("def has_weight(layer, name):") > 2


# --- the whole reproduction ----------------------------------------------------------------------
BUGS = """\
        \"\"\"Doc.\"\"\"
        "A bare string."
        import argparse
        import torch
        import torch.nn as nn
        import data

        parser = argparse.ArgumentParser()
        args = parser.parse_args()
        corpus = data.Corpus(args.data)
        device = torch.device("cpu")

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 2)
            def forward(self, input):
                if input.is_cuda or args.cuda:
                    pass
                return self.fc(input)

        model = Net()
        model.eval()
        x = torch.zeros(3, 4)
        x.fill_(1.0)
        y = x.clone()
        y[:, :2] = 3.0
        """


@pytest.mark.parametrize("fast", [True, False])
def test_silent_bugs_file(fast, monkeypatch):
    from fwtranslate import stand_ins

    if not fast:  # the plain lines read whole, not stood in for (stand_ins.py)
        monkeypatch.setattr(stand_ins, "ENABLED", False)
    result = _tf(BUGS)
    assert not result.ok
    assert "corpus = data.Corpus(args.data)" in result.code
    assert "\nmodel\n" not in result.code
    assert "x = keras.ops.full_like(x, 1.0)" in result.code
    assert [(d.line, d.code) for d in result.diagnostics if d.severity == "error"] == [(27, "item-assignment")]


def test_boolean_mask_assignment_becomes_a_functional_update():
    """``x[mask] = number`` rebinds the name to torch_masked_assign(...): run under Keras against
    torch, with a mask of x's shape, a combined mask and a mask of the leading axes (whole rows)."""

    torch = pytest.importorskip("torch")
    keras = pytest.importorskip("keras")
    source = textwrap.dedent(
        """\
        import torch

        def f(x, rows):
            x[x < 0] = 0
            y = x.clone()
            y[(y > 1) & (y < 2)] = float("nan")
            y[rows > 0.5] = -1
            return x, y
        """
    )
    result = _tf(source)
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "x = torch_masked_assign(x, x < 0, 0)" in result.code, result.code
    namespace: dict = {}
    exec(compile(result.code, "<translated>", "exec"), namespace)
    torch_ns: dict = {}
    exec(source, torch_ns)
    rng = np.random.default_rng(0)
    x, rows = rng.standard_normal((3, 4, 2)).astype("float32") * 2, rng.random((3, 4)).astype("float32")
    got = namespace["f"](keras.ops.convert_to_tensor(x), keras.ops.convert_to_tensor(rows))
    want = torch_ns["f"](torch.from_numpy(x.copy()), torch.from_numpy(rows))
    for g, w in zip(got, want):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(g), w.numpy(), err_msg=result.code)
