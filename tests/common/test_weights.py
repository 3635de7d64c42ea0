"""Model-level weight transfer (fwtranslate.weights.transfer) and checkpoint conversion."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("tensorflow")

from fwtranslate import translate
from fwtranslate.verify.backend import frameworks
from fwtranslate.verify.loading import build_entry
from fwtranslate.weights.transfer import TransferError, build_by_dry_run, keras_to_torch, plan, torch_to_keras

torch, tf, keras = frameworks()

MLP = """
import torch
import torch.nn as nn


class Head(nn.Module):
    def __init__(self, d, n):
        super().__init__()
        self.proj = nn.Linear(d, n)
        self.gain = nn.Parameter(torch.ones(1, n))

    def forward(self, x):
        return self.proj(x) * self.gain


class Net(nn.Module):
    def __init__(self, d=8, n=5):
        super().__init__()
        self.inp = nn.Linear(d, 16)
        self.layers = nn.ModuleList([nn.Linear(16, 16), nn.Linear(16, 16)])
        self.body = nn.Sequential(nn.ReLU(), nn.Linear(16, 12), nn.ReLU())
        self.heads = nn.ModuleDict({"a": Head(12, n), "b": Head(12, n)})
        self.register_buffer("shift", torch.zeros(1, n))

    def forward(self, x):
        x = self.inp(x)
        for layer in self.layers:
            x = layer(x)
        x = self.body(x)
        return self.heads["a"](x) + self.heads["b"](x) + self.shift
"""

# Conv and BatchNorm, written the way the translation writes them (NCHW kept, explicit padding).
CONV = """
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU())
        self.fc = nn.Linear(6 * 5 * 5, 4)

    def forward(self, x):
        return self.fc(torch.flatten(self.features(x), 1))
"""
CONV_TF = """
import keras


class Net(keras.Model):
    def __init__(self):
        super().__init__()
        self.features = keras.Sequential([
            keras.Sequential([keras.layers.ZeroPadding2D(1, data_format="channels_first"),
                              keras.layers.Conv2D(6, 3, data_format="channels_first")]),
            keras.layers.BatchNormalization(axis=1, momentum=0.9, epsilon=1e-05),
            keras.layers.ReLU()])
        self.fc = keras.layers.Dense(4)

    def call(self, x):
        x = self.features(x)
        return self.fc(keras.ops.reshape(x, keras.ops.shape(x)[:1] + (-1,)))
"""


def _write(tmp_path, name: str, code: str):
    path = tmp_path / name
    path.write_text(textwrap.dedent(code))
    return path


def _models(tmp_path, torch_src: str, keras_src: str | None = None, entry: str = "Net"):
    keras_src = keras_src if keras_src is not None else translate(torch_src).code
    t = build_entry(_write(tmp_path, "orig.py", torch_src), entry)
    k = build_entry(_write(tmp_path, "orig_tf.py", keras_src), entry)
    return t.eval(), k


def _randomize(model, seed=0):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in [*model.parameters(), *model.buffers()]:
            if t.is_floating_point():
                t.copy_(torch.rand(t.shape, generator=gen) + 0.5)


def _keras_out(k, x):
    return np.asarray(tf.function(lambda v: k(v, training=False), jit_compile=True)(x))


def test_mlp_translation_round_trip(tmp_path):
    t, k = _models(tmp_path, MLP)
    _randomize(t)
    x = np.random.default_rng(0).normal(size=(3, 8)).astype("float32")
    build_by_dry_run(k, [x])
    p = torch_to_keras(t, k)
    assert p.tensor_count == len(t.state_dict())
    paths = {s.torch_path: s.keras_path for s in p.steps}
    assert paths["layers.1"] == "layers_[1]" or paths["layers.1"] == "layers[1]"
    assert paths["body.1"] == "body.layers[1]"
    assert paths["heads.a.proj"] == "heads['a'].proj"
    assert paths["heads.b.gain"] == "heads['b'].gain"
    with torch.no_grad():
        ref = t(torch.as_tensor(x)).numpy()
    np.testing.assert_allclose(_keras_out(k, x), ref, rtol=1e-5, atol=1e-5)
    fresh = build_entry(tmp_path / "orig.py", "Net")
    keras_to_torch(k, fresh)
    for (name, a), b in zip(t.state_dict().items(), fresh.state_dict().values()):
        assert torch.equal(a, b), name


def test_conv_batchnorm_round_trip(tmp_path):
    t, k = _models(tmp_path, CONV, CONV_TF)
    _randomize(t, 1)
    x = np.random.default_rng(1).normal(size=(2, 3, 5, 5)).astype("float32")
    build_by_dry_run(k, [x])
    p = torch_to_keras(t, k)
    conv = next(s for s in p.steps if s.torch_path == "features.0")
    assert conv.what == "conv" and conv.keras_path == "features.layers[0]"
    # every tensor, BatchNorm's num_batches_tracked included (its converter owns the module)
    assert sorted(n for s in p.steps for n in s.tensors) == sorted(t.state_dict())
    with torch.no_grad():
        ref = t(torch.as_tensor(x)).numpy()
    np.testing.assert_allclose(_keras_out(k, x), ref, rtol=1e-4, atol=1e-5)
    fresh = build_entry(tmp_path / "orig.py", "Net")
    keras_to_torch(k, fresh)
    for name, a in t.state_dict().items():
        if not name.endswith("num_batches_tracked"):
            assert torch.allclose(a, fresh.state_dict()[name]), name


def test_missing_keras_layer_names_both_paths(tmp_path):
    broken = CONV_TF.replace("self.fc = keras.layers.Dense(4)", "self.head = keras.layers.Dense(4)").replace(
        "return self.fc(", "return self.head("
    )
    t, k = _models(tmp_path, CONV, broken)
    build_by_dry_run(k, [np.zeros((1, 3, 5, 5), "float32")])
    with pytest.raises(TransferError) as err:
        torch_to_keras(t, k)
    assert "'fc'" in str(err.value) and "Linear" in str(err.value)
    assert err.value.torch_path == "fc" and err.value.keras_path == "fc"


def test_shape_mismatch_names_both_paths(tmp_path):
    t, k = _models(tmp_path, CONV, CONV_TF.replace("keras.layers.Conv2D(6, 3,", "keras.layers.Conv2D(6, 2,"))
    build_by_dry_run(k, [np.zeros((1, 3, 5, 5), "float32")])
    with pytest.raises(TransferError) as err:
        torch_to_keras(t, k)
    message = str(err.value)
    assert "'features.0' -> 'features.layers[0]'" in message and "shape" in message


def test_parameter_without_variable_is_an_error(tmp_path):
    src = MLP
    tf_src = translate(src).code.replace(
        'self.gain = keras.Variable(keras.ops.ones((1, n)), name="gain")', "self.gain = 1.0"
    )
    assert "self.gain = 1.0" in tf_src
    t, k = _models(tmp_path, src, tf_src)
    build_by_dry_run(k, [np.zeros((1, 8), "float32")])
    with pytest.raises(TransferError) as err:
        plan(t, k)
    assert "heads.a.gain" in str(err.value) and "heads['a'].gain" in str(err.value)


def test_lazy_module_after_torch_dry_run(tmp_path):
    src = """
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.LazyLinear(3)

    def forward(self, x):
        return self.fc(x)
"""
    tf_src = """
import keras


class Net(keras.Model):
    def __init__(self):
        super().__init__()
        self.fc = keras.layers.Dense(3)

    def call(self, x):
        return self.fc(x)
"""
    t, k = _models(tmp_path, src, tf_src)
    x = np.ones((2, 7), "float32")
    build_by_dry_run(k, [x])
    with pytest.raises(TransferError, match="lazy"):
        torch_to_keras(t, k)
    t(torch.as_tensor(x))  # materialises fc.weight (3, 7)
    torch_to_keras(t, k)
    np.testing.assert_allclose(_keras_out(k, x), t(torch.as_tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_weights_cli_round_trip(tmp_path):
    from click.testing import CliRunner

    from fwtranslate.cli import main

    orig = _write(tmp_path, "net.py", CONV)
    trans = _write(tmp_path, "net_tf.py", CONV_TF)
    model = build_entry(orig, "Net")
    _randomize(model, 2)
    torch.save(model.state_dict(), tmp_path / "net.pt")
    runner = CliRunner()
    common = [str(orig), str(trans), "--entry", "Net", "--input-shape", "2,3,5,5"]
    res = runner.invoke(
        main, ["weights", *common, "--from", str(tmp_path / "net.pt"), "--to", str(tmp_path / "net.weights.h5")]
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(
        main, ["weights", *common, "--from", str(tmp_path / "net.weights.h5"), "--to", str(tmp_path / "back.pt")]
    )
    assert res.exit_code == 0, res.output
    a, b = torch.load(tmp_path / "net.pt"), torch.load(tmp_path / "back.pt")
    for name in a:
        if not name.endswith("num_batches_tracked"):
            assert torch.equal(a[name], b[name]), name
    res = runner.invoke(main, ["weights", *common, "--from", str(tmp_path / "net.pt"), "--to", str(tmp_path / "x.h5")])
    assert res.exit_code == 2 and ".weights.h5" in res.output
