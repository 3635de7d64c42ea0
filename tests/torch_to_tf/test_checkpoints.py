"""Saving and loading a model's weights, PyTorch -> Keras (passes/torch_to_tf/checkpoints.py):
``torch.save(model.state_dict(), p)`` / ``model.load_state_dict(torch.load(p))`` become Keras'
``save_weights`` / ``load_weights_when_built`` on a ``*.weights.h5`` file, and the translated script's save
and reload give back the same weights (run with the real Keras)."""

from __future__ import annotations

import os

os.environ["KERAS_BACKEND"] = "tensorflow"

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import fwtranslate

SCRIPT = """
import torch
import torch.nn as nn


def roundtrip(path, other):
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    x = torch.ones(2, 4)
    before = model(x)
    torch.save(model.state_dict(), path)
    fresh = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    fresh(x)
    fresh.load_state_dict(torch.load(path, map_location="cpu"))
    torch.save(fresh.state_dict(), other)
    return before, fresh(x)
"""


def test_save_and_load_become_keras_weight_files(tmp_path):
    result = fwtranslate.translate(SCRIPT, to="tf")
    assert result.ok, [d.format() for d in result.diagnostics]
    assert 'model.save_weights(str(path) + ".weights.h5")' in result.code
    assert 'load_weights_when_built(fresh, str(path) + ".weights.h5")' in result.code
    assert "torch" not in result.code.replace("import torch", "")
    namespace: dict = {}
    exec(compile(result.code, "<translation>", "exec"), namespace)
    before, after = namespace["roundtrip"](str(tmp_path / "m"), str(tmp_path / "other.pt"))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(after), keras.ops.convert_to_numpy(before), rtol=1e-6)
    assert (tmp_path / "m.weights.h5").exists()  # a path that is not a literal gets the ending appended


def test_literal_paths_take_keras_ending():
    result = fwtranslate.translate("import torch\ntorch.save(net.state_dict(), 'ckpt/best.pth')\n", to="tf")
    assert 'net.save_weights("ckpt/best.weights.h5")' in result.code
    assert [(d.severity, d.code) for d in result.diagnostics] == [("info", "checkpoint")]


def test_an_optimizers_state_stays_reported():
    result = fwtranslate.translate("import torch\ntorch.save(optimizer.state_dict(), 'o.pt')\n", to="tf")
    assert not result.ok
    assert "fwtranslate: unconverted" in result.code


RELOAD = """
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.bn = nn.BatchNorm1d(3)

    def forward(self, x):
        return self.bn(self.fc(x))


def reload(path, x):
    model = Net()
    model.train()
    model(x)  # training mode: the running statistics move
    model.eval()
    torch.save(model.state_dict(), path)
    fresh = Net()  # never called: a Keras subclassed model has no variables yet
    fresh.load_state_dict(torch.load(path))
    fresh.eval()
    return model(x), fresh(x)
"""


@pytest.mark.parametrize("call", ["direct", "predict"])
def test_a_fresh_subclassed_model_loads_in_its_first_call(tmp_path, call):
    """A script's reload into a new, never-called model (``Net()`` then ``load_state_dict``): the
    translation loads the file in the model's first call, so its predictions are the saved model's
    from that first call on, eager or through ``predict``."""
    result = fwtranslate.translate(RELOAD, to="tf")
    assert result.ok, [d.format() for d in result.diagnostics]
    namespace: dict = {}
    exec(compile(result.code, "<translation>", "exec"), namespace)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype("float32")
    if call == "direct":
        before, after = namespace["reload"](str(tmp_path / "m"), x)
    else:
        model = namespace["Net"]()
        model(x, training=True)
        model.save_weights(str(tmp_path / "m.weights.h5"))
        fresh = namespace["Net"]()
        namespace["load_weights_when_built"](fresh, str(tmp_path / "m.weights.h5"))
        before, after = model.predict(x, verbose=0), fresh.predict(x, verbose=0)
    assert not np.allclose(keras.ops.convert_to_numpy(before), keras.ops.convert_to_numpy(namespace["Net"]()(x)))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(after), keras.ops.convert_to_numpy(before), rtol=1e-6)
