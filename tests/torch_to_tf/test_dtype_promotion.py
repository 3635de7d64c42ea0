"""torch's type promotion kept by the translation (passes/torch_to_tf/dtype_promotion.py): true
division of an integer tensor gives float32, an integer tensor with a Python float or a float
tensor gives a float tensor. Each function is translated, run under real Keras (TensorFlow
backend) and compared with torch: values, and the dtype exactly where it is a float.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")

from test_op_numerics import _compare, _to_numpy

from fwtranslate import translate

D = 6
# function bodies over x (float32, shape (2, D)) and d (the Python int D)
BODIES = [
    # the vision-transformer crash: arange(d) / (d - 1) was float64, then `x * omega` failed
    "omega = torch.arange(d) / (d - 1)\nreturn x * omega",
    "t = torch.arange(d)\nu = t * 2\nreturn x * (u / 3)",
    "t = torch.arange(d)\nt += 1\nreturn x * (t / 2)",
    "t = torch.arange(d).float()\nt /= 2\nreturn x * t",
    "return 1 / (torch.arange(d) + 1)",
    "return (torch.arange(d) ** 2) / d",
    "return torch.arange(d) * 0.5",
    "return x * torch.arange(d)",
    "return x - torch.arange(d).long()",
    "return torch.arange(d) // 2.5",
    "return torch.arange(d) // 2",
    "return torch.arange(d) + torch.arange(d).long()",
    "return x.argmax(-1) / 2",
    "return (x > 0).sum(-1) * 0.5",
    "return x.long() * 1.5",
    "c = (x > 0).sum()\nreturn c / x.numel()",
    "return torch.arange(d).float() / d",
    "return torch.linspace(0, 1, d) * x",
    "return torch.arange(0.0, 1.0, 0.25) * 2",
    "return torch.zeros(d, dtype=torch.long) / 4",
    "return torch.arange(d).to(torch.int32) * 0.1",
]


def _translate_body(body: str):
    lines = "\n".join("    " + line for line in body.splitlines())
    source = f"import torch\n\n\ndef f(x, d):\n{lines}\n"
    result = translate(source)
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "torch" not in result.code, result.code
    namespace: dict = {}
    exec(compile(result.code, "<translated>", "exec"), namespace)
    torch_namespace: dict = {"torch": torch}
    exec(compile(source, "<torch>", "exec"), torch_namespace)
    return namespace["f"], torch_namespace["f"], result.code


@pytest.mark.parametrize("body", BODIES)
def test_promotes_like_torch(body):
    fn, torch_fn, code = _translate_body(body)
    x = np.random.default_rng(0).standard_normal((2, D)).astype("float32")
    want = _to_numpy(torch_fn(torch.from_numpy(x), D))
    got = _to_numpy(fn(keras.ops.convert_to_tensor(x), D))
    _compare(got, want, code)
    if np.issubdtype(want.dtype, np.floating):
        assert got.dtype == want.dtype, code


def test_random_integers_divide_to_float32():
    fn, _, code = _translate_body("return torch.randint(0, 5, (d,)) / 5")
    got = _to_numpy(fn(None, D))
    assert got.dtype == np.float32 and got.shape == (D,) and ((got >= 0) & (got < 1)).all(), code


def test_python_numbers_keep_their_operators():
    result = translate("import torch\n\n\ndef f(x, d):\n    n = d // 2\n    return x.view(-1) / n + d / 2\n")
    assert "keras.ops.divide" not in result.code and "keras.ops.floor_divide" not in result.code, result.code


MODEL = """
import torch
import torch.nn as nn


class SinCosEmbed(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def forward(self, pos):
        omega = torch.arange(self.dim // 2) / (self.dim / 2.0 - 1)
        steps = torch.arange(pos.shape[-1])
        scaled = steps / pos.shape[-1]
        out = pos[..., None] * omega
        return torch.cat([torch.sin(out), torch.cos(out)], dim=-1) + scaled[..., None]
"""


def test_a_model_with_integer_arithmetic_builds_and_matches():
    result = translate(MODEL)
    assert result.ok, [d.format() for d in result.diagnostics]
    namespace: dict = {}
    exec(compile(result.code, "<translated>", "exec"), namespace)
    torch_namespace: dict = {}
    exec(compile(MODEL, "<torch>", "exec"), torch_namespace)
    pos = np.random.default_rng(1).standard_normal((2, 5)).astype("float32")
    model = namespace["SinCosEmbed"](8)
    symbolic = model(keras.Input(shape=(5,)))  # builds: no "expected int32 but is double"
    assert tuple(symbolic.shape) == (None, 5, 8)
    got = keras.ops.convert_to_numpy(model(keras.ops.convert_to_tensor(pos)))
    want = torch_namespace["SinCosEmbed"](8)(torch.from_numpy(pos)).numpy()
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-4, err_msg=result.code)


def test_an_augmented_assignment_makes_nothing_an_integer_tensor():
    """`layers += [nn.MaxPool2d(2)]` (VGG's make_layers) became `keras.ops.add(layers, [...])`:
    a `+=` binding was taken for an integer tensor."""
    source = (
        "import torch\nfrom torch import nn\n\n\ndef make(cfg):\n    layers = []\n    for v in cfg:\n"
        "        layers += [nn.ReLU()]\n    idx = torch.arange(4)\n    idx += 1\n    return layers, idx / 2\n"
    )
    code = translate(source, "tf").code
    assert "layers += [keras.layers.ReLU()]" in code, code
    assert "keras.ops.divide(idx, 2)" in code, code
