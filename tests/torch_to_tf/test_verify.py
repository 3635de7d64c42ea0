"""The numeric verifier on small models: equivalent translations, nested outputs, float64,
input inference, packages, and the CLI's JSON and exit codes."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("tensorflow")
pytest.importorskip("hypothesis")

from fwtranslate import translate
from fwtranslate.verify import verify

MLP = """
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self, d=8, n=5):
        super().__init__()
        self.inp = nn.Linear(d, 16)
        self.layers = nn.ModuleList([nn.Linear(16, 16), nn.Linear(16, 16)])
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(16, n))
        self.scale = nn.Parameter(torch.ones(1, n))
        self.register_buffer("shift", torch.zeros(1, n))

    @classmethod
    def create(cls, width):
        return cls(d=width)

    def forward(self, x):
        x = self.inp(x)
        for layer in self.layers:
            x = layer(x)
        return self.head(x) * self.scale + self.shift
"""

NESTED = """
import torch.nn as nn


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(6, 3)

    def forward(self, x):
        y = self.proj(x)
        return y, y * 2


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(6, 6), nn.ReLU())
        self.heads = nn.ModuleDict({"a": Head(), "b": Head()})

    def forward(self, x):
        h = self.body(x)
        a, a2 = self.heads["a"](h)
        return {"a": a, "pair": (a2, self.heads["b"](h)[0]), "h": h}
"""

# Layers whose rules are not in the rule files yet: the translation written by hand, in the
# translator's style (NCHW kept, explicit symmetric padding, torch's BatchNorm constants).
CONV = """
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, stride=2, padding=1)
        self.bn = nn.BatchNorm2d(6)
        self.fc = nn.Linear(6 * 4 * 4, 4)

    def forward(self, x):
        x = F.relu(self.bn(self.conv(x)))
        return self.fc(torch.flatten(x, 1))
"""
CONV_TF = """
import keras


class Net(keras.Model):
    def __init__(self):
        super().__init__()
        self.conv = keras.Sequential([keras.layers.ZeroPadding2D(1, data_format="channels_first"),
                                      keras.layers.Conv2D(6, 3, strides=2, data_format="channels_first")])
        self.bn = keras.layers.BatchNormalization(axis=1, momentum=0.9, epsilon=1e-05)
        self.fc = keras.layers.Dense(4)

    def call(self, x):
        x = keras.ops.relu(self.bn(self.conv(x)))
        return self.fc(keras.ops.reshape(x, keras.ops.shape(x)[:1] + (-1,)))
"""

TOKENS = """
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(50, 8)
        self.out = nn.Linear(8, 3)

    def forward(self, ids):
        return self.out(self.emb(ids)).mean(1)
"""
TOKENS_TF = """
import keras


class Net(keras.Model):
    def __init__(self):
        super().__init__()
        self.emb = keras.layers.Embedding(50, 8)
        self.out = keras.layers.Dense(3)

    def call(self, ids):
        return keras.ops.mean(self.out(self.emb(ids)), 1)
"""


def _pair(tmp_path, src: str, tf_src: str | None = None, name: str = "model"):
    orig = tmp_path / f"{name}.py"
    orig.write_text(textwrap.dedent(src))
    code = tf_src if tf_src is not None else translate(src).code
    trans = tmp_path / f"{name}_tf.py"
    trans.write_text(textwrap.dedent(code))
    return str(orig), str(trans)


def test_translated_mlp_is_equivalent(tmp_path):
    orig, trans = _pair(tmp_path, MLP)
    report = verify(orig, trans, "Net", input_shape="B,8", examples=8)
    d = report.to_dict()
    assert report.equivalent, report.format_text()
    assert d["equivalent"] is True and d["max_abs_error"] < 1e-4
    assert {"inference", "training", "gradients", "step", "transfer"} <= set(d["phases"])
    assert d["transferred"]["tensors"] == 10
    assert d["failing_input"] is None and d["diverging_layer"] is None
    for key in ("max_rel_error", "input_spec", "timings", "tolerances"):
        assert key in d
    json.dumps(d)


def test_float64_is_tight(tmp_path):
    orig, trans = _pair(tmp_path, CONV, CONV_TF)
    report = verify(orig, trans, "Net", input_shape="B,3,8,8", examples=6, float64=True)
    assert report.equivalent, report.format_text()
    assert report.precision == "float64"
    assert report.max_abs_error <= 1e-10 and report.tolerances["atol"] <= 1e-10


def test_conv_batchnorm_training_is_equivalent(tmp_path):
    orig, trans = _pair(tmp_path, CONV, CONV_TF)
    report = verify(orig, trans, "Net", input_shape="B,3,8,8", examples=6)
    assert report.equivalent, report.format_text()
    assert all(p.ok for p in report.phases)
    assert any("running_var" in n for n in report.notes)


def test_nested_outputs_compared_element_by_element(tmp_path):
    orig, trans = _pair(tmp_path, NESTED)
    report = verify(orig, trans, "Net", examples=5, check_training=False)
    assert report.equivalent, report.format_text()
    inference = report.to_dict()["phases"]["inference"]
    assert sorted(r["path"] for r in inference["results"]) == ["['a']", "['h']", "['pair'][0]", "['pair'][1]"]
    # no --input-shape: inferred from the first layer, and reported
    assert report.input_spec["inferred_from"] == "Linear at 'body.0'"
    assert report.input_spec["inputs"][0]["shape"] == "B=1..3,6"


def test_token_inputs_and_dotted_entry(tmp_path):
    orig, trans = _pair(tmp_path, TOKENS, TOKENS_TF)
    report = verify(
        orig,
        trans,
        "Net",
        input_shape="B,T=2..5",
        input_dtype="int64",
        input_range="0,50",
        examples=5,
        check_training=False,
    )
    assert report.equivalent, report.format_text()
    assert report.input_spec["inputs"][0]["dtype"] == "int64"
    orig, trans = _pair(tmp_path, MLP, name="mlp")
    report = verify(orig, trans, "Net.create", args=[4], examples=3, check_training=False)
    assert report.equivalent, report.format_text()
    assert report.input_spec["inputs"][0]["shape"] == "B=1..3,4"


def test_package_with_relative_imports(tmp_path):
    for side, code in (("orig", CONV), ("trans", CONV_TF)):
        pkg = tmp_path / side / "pkg"
        pkg.mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "blocks.py").write_text(textwrap.dedent(code))
        (pkg / "model.py").write_text("from .blocks import Net\n")
    report = verify(
        str(tmp_path / "orig/pkg/model.py"),
        str(tmp_path / "trans/pkg/model.py"),
        "Net",
        input_shape="2!,3,8,8",
        examples=3,
        check_training=False,
    )
    assert report.equivalent, report.format_text()


# --- the command line -----------------------------------------------------------------------
def test_cli_json_and_exit_codes(tmp_path, cli):
    orig, trans = _pair(tmp_path, MLP)
    res = cli(
        "verify", orig, trans, "--entry", "Net", "--input-shape", "2,8", "--examples", "3", "--json", in_process=True
    )
    assert res.returncode == 0, res.output
    out = json.loads(res.output)
    assert out["equivalent"] is True and isinstance(out["max_abs_error"], float)

    bad = tmp_path / "bad_tf.py"
    bad.write_text(Path(trans).read_text().replace("* self.scale + self.shift", "* self.scale - self.shift"))
    res = cli(
        "verify", orig, str(bad), "--entry", "Net", "--input-shape", "2,8", "--examples", "3", "--json", in_process=True
    )
    assert res.returncode == 1, res.output
    out = json.loads(res.output)
    assert out["equivalent"] is False and out["diverging_layer"]["path"] == "<root>"
    assert out["failing_input"]["inputs"][0]["shape"][1] == 8


def test_cli_could_not_run(tmp_path, cli):
    orig, trans = _pair(tmp_path, MLP)
    res = cli("verify", orig, trans, "--entry", "Missing", "--input-shape", "2,8", "--json", in_process=True)
    assert res.returncode == 2, res.output
    out = json.loads(res.output)
    assert out["status"] == "error" and "Missing" in out["reason"]
    # an entry whose constructor raises
    res = cli(
        "verify", orig, trans, "--entry", "Net", "--kwargs", '{"bogus": 1}', "--input-shape", "2,8", in_process=True
    )
    assert res.returncode == 2 and "bogus" in res.output
    # the original does not accept the input shape
    res = cli("verify", orig, trans, "--entry", "Net", "--input-shape", "2,7", "--json", in_process=True)
    assert res.returncode == 2 and "original model raised" in json.loads(res.output)["reason"]


def test_package_level_verify_is_callable(tmp_path):
    import fwtranslate

    orig, trans = _pair(tmp_path, MLP)
    report = fwtranslate.verify(orig, trans, "Net", input_shape="2!,8", examples=2, check_training=False)
    assert report.equivalent
