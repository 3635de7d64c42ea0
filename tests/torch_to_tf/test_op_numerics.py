"""Numerics of the op rules: each torch expression is translated, the Keras (TensorFlow backend)
code is run on the same random inputs as torch, and the results must agree.

The rule examples (test_rule_examples.py) check the translated text; these check its meaning.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import ast
import functools

import numpy as np
import pytest

torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")
einops = pytest.importorskip("einops")

from fwtranslate import translate

PRELUDE = (
    "import math\nimport torch\nimport torch.nn.functional as F\nimport einops\n"
    "from einops import rearrange, reduce, repeat\n"
)
ATOL, RTOL = 1e-5, 1e-4


# --- inputs ---------------------------------------------------------------------------------------
def F32(*shape, scale=1.0):
    return ("f", shape, scale)


def POS(*shape):
    return ("pos", shape, None)


def INT(*shape, low=0, high=5):
    return ("i", shape, (low, high))


def BOOL(*shape):
    return ("b", shape, None)


def _make(spec, rng):
    kind, shape, extra = spec
    if kind == "f":
        return (rng.standard_normal(shape) * extra).astype("float32")
    if kind == "pos":
        return rng.uniform(0.1, 2.0, shape).astype("float32")
    if kind == "i":
        return rng.integers(extra[0], extra[1], shape).astype("int64")
    return rng.random(shape) > 0.5


# --- running both sides ---------------------------------------------------------------------------
@functools.cache
def _translated(expr: str, args: tuple[str, ...]):
    source = f"{PRELUDE}def f({', '.join(args)}):\n    return {expr}\n"
    result = translate(source)
    assert result.ok, [d.format() for d in result.diagnostics]
    tree = ast.parse(result.code)
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert "torch" not in imported, result.code
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert not names & {"torch", "F"}, result.code
    namespace: dict = {}
    exec(compile(result.code, "<translated>", "exec"), namespace)
    return namespace["f"], result.code


def _torch_fn(expr: str, args: tuple[str, ...]):
    import torch.nn.functional as F

    namespace = {
        "torch": torch,
        "F": F,
        "math": __import__("math"),
        "einops": einops,
        "rearrange": einops.rearrange,
        "reduce": einops.reduce,
        "repeat": einops.repeat,
    }
    exec(f"def f({', '.join(args)}):\n    return {expr}\n", namespace)
    return namespace["f"]


def _to_numpy(value):
    if isinstance(value, (tuple, list)):
        return [_to_numpy(v) for v in value]
    if isinstance(value, torch.Tensor):
        return value.detach().numpy()
    if isinstance(value, (bool, int, float)):
        return np.asarray(value)
    return keras.ops.convert_to_numpy(value)


def _compare(got, want, code):
    if isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), (code, got, want)
        for g, w in zip(got, want):
            _compare(g, w, code)
        return
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"shape {got.shape} != {want.shape}\n{code}"
    if want.dtype == bool:
        assert got.dtype == bool, f"dtype {got.dtype}, torch {want.dtype}\n{code}"
        np.testing.assert_array_equal(got, want, err_msg=code)
    elif np.issubdtype(want.dtype, np.integer):
        assert np.issubdtype(got.dtype, np.integer), f"dtype {got.dtype}, torch {want.dtype}\n{code}"
        np.testing.assert_array_equal(got, want, err_msg=code)
    else:
        assert np.issubdtype(got.dtype, np.floating), f"dtype {got.dtype}, torch {want.dtype}\n{code}"
        np.testing.assert_allclose(got, want, atol=ATOL, rtol=RTOL, equal_nan=True, err_msg=code)


def check(expr, inputs, seed=0):
    rng = np.random.default_rng(seed)
    args = tuple(inputs)
    arrays = {name: _make(spec, rng) for name, spec in inputs.items()}
    fn, code = _translated(expr, args)
    want = _torch_fn(expr, args)(*(torch.from_numpy(np.array(arrays[a])) for a in args))
    got = fn(*(keras.ops.convert_to_tensor(arrays[a]) for a in args))
    _compare(_to_numpy(got), _to_numpy(want), code)


# --- cases ----------------------------------------------------------------------------------------
X = {"x": F32(2, 3, 4)}
X4 = {"x": F32(2, 3, 6, 5)}
XY = {"x": F32(2, 3, 4), "y": F32(2, 3, 4)}
M = {"x": F32(3, 4), "y": F32(4, 5)}

ACTIVATIONS = [
    ("F.relu(x)", X),
    ("F.relu(x, inplace=True)", X),
    ("torch.relu(x)", X),
    ("x.relu()", X),
    ("F.relu6(x * 4)", X),
    ("F.leaky_relu(x)", X),
    ("F.leaky_relu(x, 0.2)", X),
    ("F.elu(x)", X),
    ("F.elu(x, alpha=0.5)", X),
    ("F.selu(x)", X),
    ("F.celu(x, 0.7)", X),
    ("F.gelu(x)", X),
    ("F.gelu(x, approximate='tanh')", X),
    ("F.gelu(x, approximate='none')", X),
    ("F.silu(x)", X),
    ("F.mish(x)", X),
    ("F.hardswish(x * 3)", X),
    ("F.hardsigmoid(x * 3)", X),
    ("F.hardtanh(x * 2)", X),
    ("F.hardtanh(x, -0.5, 0.5)", X),
    ("F.sigmoid(x)", X),
    ("torch.sigmoid(x)", X),
    ("x.sigmoid()", X),
    ("torch.tanh(x)", X),
    ("x.tanh()", X),
    ("F.softmax(x, dim=-1)", X),
    ("F.softmax(x, 1)", X),
    ("torch.softmax(x, 0)", X),
    ("x.softmax(dim=1)", X),
    ("F.log_softmax(x, dim=-1)", X),
    ("x.log_softmax(1)", X),
    ("F.softmin(x, dim=2)", X),
    ("F.softplus(x * 10)", X),
    ("F.softplus(x, beta=2)", X),
    ("F.logsigmoid(x)", X),
    ("F.softsign(x)", X),
    ("F.tanhshrink(x)", X),
    ("F.glu(x)", X),
    ("F.glu(x, dim=1)", {"x": F32(2, 4, 3)}),
]

FUNCTIONAL = [
    ("F.dropout(x, 0.5, training=False)", X),
    ("F.dropout(x, p=0.0)", X),
    ("F.linear(x, w)", {"x": F32(2, 3, 4), "w": F32(5, 4)}),
    ("F.linear(x, w, b)", {"x": F32(2, 3, 4), "w": F32(5, 4), "b": F32(5)}),
    ("F.linear(x, w, None)", {"x": F32(2, 4), "w": F32(5, 4)}),
    ("F.embedding(i, w)", {"i": INT(2, 3, high=6), "w": F32(6, 4)}),
    ("F.one_hot(i, 6)", {"i": INT(2, 3, high=6)}),
    ("F.layer_norm(x, (4,))", X),
    ("F.layer_norm(x, [3, 4])", X),
    ("F.layer_norm(x, (4,), w, b, 1e-6)", {"x": F32(2, 3, 4), "w": F32(4), "b": F32(4)}),
    ("F.layer_norm(x, x.shape[-1:], weight=w)", {"x": F32(2, 3, 4), "w": F32(4)}),
    ("F.normalize(x)", X),
    ("F.normalize(x, dim=-1)", X),
    ("F.normalize(x, p=1, dim=0)", X),
    ("F.normalize(x * 1e-13, dim=-1)", X),
    ("F.cosine_similarity(x, y)", XY),
    ("F.cosine_similarity(x, y, dim=-1)", XY),
    ("F.cosine_similarity(x, y * 1e-9, dim=-1)", XY),
    ("F.adaptive_avg_pool2d(x, 1)", X4),
    ("F.adaptive_avg_pool2d(x, (1, 1))", X4),
    ("F.adaptive_avg_pool2d(x, (4, 3))", X4),
    ("F.adaptive_avg_pool2d(x, 2)", X4),
    ("F.adaptive_avg_pool2d(x, (None, 2))", X4),
    ("F.adaptive_max_pool2d(x, 1)", X4),
    ("F.adaptive_max_pool2d(x, (3, 4))", X4),
    ("F.adaptive_avg_pool1d(x, 1)", X),
    ("F.adaptive_avg_pool1d(x, 3)", X),
    ("F.max_pool2d(x, 2)", X4),
    ("F.max_pool2d(x, 3, 1)", X4),
    ("F.max_pool2d(x, 3, stride=2, padding=1)", X4),
    ("F.max_pool2d(x, (2, 3))", X4),
    ("F.max_pool1d(x, 2)", X),
    ("F.avg_pool2d(x, 2)", X4),
    ("F.avg_pool2d(x, 3, stride=2, padding=1)", X4),
    ("F.avg_pool1d(x, 2, 1)", X),
]

INTERPOLATE = [
    ("F.interpolate(x, scale_factor=2)", X4),
    ("F.interpolate(x, scale_factor=2, mode='nearest')", X4),
    ("F.interpolate(x, size=(4, 3))", X4),
    ("F.interpolate(x, size=(9, 7), mode='nearest')", X4),
    ("F.interpolate(x, scale_factor=1.7)", X4),
    ("F.interpolate(x, scale_factor=0.5)", X4),
    ("F.interpolate(x, scale_factor=1.1)", {"x": F32(1, 2, 5, 5)}),
    ("F.interpolate(x, scale_factor=2.05)", {"x": F32(1, 2, 10, 10)}),
    ("F.interpolate(x, size=(9, 7), mode='nearest-exact')", X4),
    ("F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=False)", X4),
    ("F.interpolate(x, scale_factor=2, mode='bilinear')", X4),
    ("F.interpolate(x, size=(12, 10), mode='bilinear')", X4),
    ("F.interpolate(x, size=(4, 3), mode='bilinear')", X4),
    ("F.interpolate(x, size=(9, 8), mode='bilinear', align_corners=False)", X4),
    ("F.interpolate(x, size=8, mode='bilinear')", X4),
    ("F.interpolate(x, scale_factor=1.5, mode='bilinear')", X4),
    ("F.interpolate(x, scale_factor=(1.5, 0.6), mode='bilinear')", X4),
    ("F.interpolate(x, scale_factor=1.5, mode='bilinear', recompute_scale_factor=True)", X4),
    ("F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=True)", X4),
    ("F.interpolate(x, size=(4, 3), mode='bilinear', align_corners=True)", X4),
    (
        "F.interpolate(x, size=y.shape[2:], mode='bilinear', align_corners=False)",
        {"x": F32(2, 3, 6, 5), "y": F32(1, 1, 11, 9)},
    ),
    ("F.interpolate(x, scale_factor=3, mode='linear')", X),
    ("F.interpolate(x, size=7, mode='linear', align_corners=True)", X),
    ("F.interpolate(x, scale_factor=2, mode='trilinear')", {"x": F32(1, 2, 3, 4, 5)}),
    ("F.interpolate(x, scale_factor=2)", {"x": F32(1, 2, 3, 4, 5)}),
    ("F.upsample(x, scale_factor=2, mode='nearest')", X4),
]

LOSSES_AND_MORE = [
    ("F.group_norm(x, 2)", {"x": F32(2, 4, 3, 5)}),
    ("F.group_norm(x, 4, w, b, eps=1e-3)", {"x": F32(2, 4, 3), "w": F32(4), "b": F32(4)}),
    ("F.batch_norm(x, m, v)", {"x": F32(2, 3, 4, 5), "m": F32(3), "v": POS(3)}),
    ("F.batch_norm(x, m, v, w, b, eps=1e-3)", {"x": F32(2, 3, 4), "m": F32(3), "v": POS(3), "w": F32(3), "b": F32(3)}),
    ("F.batch_norm(x, m, v, training=True)", {"x": F32(4, 3, 5), "m": F32(3), "v": POS(3)}),
    ("F.conv2d(x, w)", {"x": F32(2, 3, 6, 5), "w": F32(4, 3, 3, 3)}),
    ("F.conv2d(x, w, b, stride=2, padding=1)", {"x": F32(2, 3, 6, 5), "w": F32(4, 3, 3, 3), "b": F32(4)}),
    ("F.conv2d(x, w, padding='same', dilation=2)", {"x": F32(1, 2, 7, 6), "w": F32(3, 2, 3, 3)}),
    ("F.conv2d(x, w, padding=(1, 0))", {"x": F32(1, 2, 5, 6), "w": F32(3, 2, 2, 3)}),
    ("F.conv1d(x, w, padding=2)", {"x": F32(2, 3, 7), "w": F32(5, 3, 3)}),
    ("F.conv3d(x, w)", {"x": F32(1, 2, 4, 4, 4), "w": F32(3, 2, 2, 2, 2)}),
    ("F.pixel_shuffle(x, 2)", {"x": F32(2, 8, 3, 4)}),
    ("F.pixel_unshuffle(x, 2)", {"x": F32(2, 2, 4, 6)}),
    ("F.mse_loss(x, y)", XY),
    ("F.mse_loss(x, y, reduction='sum')", XY),
    ("F.mse_loss(x, y, reduction='none')", XY),
    ("F.l1_loss(x, y)", XY),
    ("F.binary_cross_entropy_with_logits(x * 5, t)", {"x": F32(3, 4), "t": POS(3, 4)}),
    ("F.binary_cross_entropy_with_logits(x, t, w, reduction='sum')", {"x": F32(3, 4), "t": POS(3, 4), "w": POS(4)}),
    ("F.cross_entropy(x, i)", {"x": F32(5, 4), "i": INT(5, high=4)}),
    ("F.cross_entropy(x, i, reduction='none')", {"x": F32(5, 4, 3), "i": INT(5, 3, high=4)}),
    ("F.cross_entropy(x, i, w, reduction='sum')", {"x": F32(5, 4), "i": INT(5, high=4), "w": POS(4)}),
    ("F.cross_entropy(x, i, w)", {"x": F32(5, 4), "i": INT(5, high=4), "w": POS(4)}),
    ("F.cross_entropy(x, i, ignore_index=1)", {"x": F32(6, 4), "i": INT(6, high=4)}),
    ("F.cross_entropy(x, i, label_smoothing=0.2)", {"x": F32(5, 4), "i": INT(5, high=4)}),
    (
        "F.cross_entropy(x, i, w, ignore_index=0, label_smoothing=0.1)",
        {"x": F32(6, 4), "i": INT(6, high=4), "w": POS(4)},
    ),
    ("F.cross_entropy(x, p.softmax(1))", {"x": F32(5, 4), "p": F32(5, 4)}),
    ("F.cross_entropy(x, p.softmax(1), w, label_smoothing=0.1)", {"x": F32(5, 4), "p": F32(5, 4), "w": POS(4)}),
    ("F.nll_loss(x.log_softmax(1), i)", {"x": F32(5, 4), "i": INT(5, high=4)}),
    ("F.nll_loss(x, i, ignore_index=2, reduction='sum')", {"x": F32(5, 4), "i": INT(5, high=4)}),
    ("x.unflatten(-1, (2, -1))", X),
    ("torch.unflatten(x, 1, (1, 3))", X),
    ("x.narrow(2, 1, 2)", X),
    ("torch.nan_to_num(x * 1e30 * 1e10)", X),
    ("x.log().nan_to_num(nan=-1.0, neginf=-2.0)", X),
    ("isinstance(x, torch.Tensor)", X),
    ("isinstance(2.0, torch.Tensor)", {}),
    ("torch.addmm(b, x, y)", {"b": F32(5), "x": F32(3, 4), "y": F32(4, 5)}),
    ("torch.baddbmm(m, q, k, beta=0.5, alpha=2.0)", {"m": F32(2, 3, 5), "q": F32(2, 3, 4), "k": F32(2, 4, 5)}),
    ("torch.diff(x)", X),
    ("x.diff(n=2, dim=0)", {"x": F32(4, 3)}),
    ("torch.trace(x)", {"x": F32(4, 4)}),
    ("x.diagonal()", {"x": F32(3, 4)}),
    ("x.diagonal(offset=1, dim1=-2, dim2=-1)", X),
    ("torch.quantile(x, 0.3, dim=1)", X),
    ("x.quantile(0.75)", X),
    ("torch.quantile(x, 0.5, dim=-1, keepdim=True, interpolation='nearest')", X),
]

PAD = [
    ("F.pad(x, (1, 2))", X),
    ("F.pad(x, (1, 1, 2, 0))", X),
    ("F.pad(x, [0, 1, 1, 0, 2, 1], value=0.5)", X),
    ("F.pad(x, (2, 1, 1, 2), mode='reflect')", X4),
    ("F.pad(x, (2, 1), mode='reflect')", X),
    ("F.pad(x, (2, 1, 1, 2), mode='replicate')", X4),
    ("F.pad(x, (1, 3), mode='replicate')", X),
    ("F.pad(x, (2, 1, 1, 2), mode='circular')", X4),
    ("F.pad(x, (1, 2), 'circular')", X),
    ("F.pad(x, [1, 1] * 2)", X4),
    ("F.pad(x * 2, (1, 2))", X),
    ("F.pad(x, (-1, 2, 1, -1))", X),
    ("F.pad(x, (-1, 0), mode='replicate')", X),
    ("F.pad(x, (0, x.shape[-1] % 3))", X),
]

ATTENTION = [
    ("F.scaled_dot_product_attention(q, k, v)", {"q": F32(2, 2, 5, 4), "k": F32(2, 2, 6, 4), "v": F32(2, 2, 6, 3)}),
    (
        "F.scaled_dot_product_attention(q, k, v, is_causal=True)",
        {"q": F32(2, 2, 5, 4), "k": F32(2, 2, 5, 4), "v": F32(2, 2, 5, 4)},
    ),
    (
        "F.scaled_dot_product_attention(q, k, v, attn_mask=m)",
        {"q": F32(2, 2, 5, 4), "k": F32(2, 2, 6, 4), "v": F32(2, 2, 6, 4), "m": F32(5, 6)},
    ),
    (
        "F.scaled_dot_product_attention(q, k, v, attn_mask=m | torch.eye(5, 6, dtype=torch.bool))",
        {"q": F32(2, 2, 5, 4), "k": F32(2, 2, 6, 4), "v": F32(2, 2, 6, 4), "m": BOOL(2, 1, 5, 6)},
    ),
    (
        "F.scaled_dot_product_attention(q, k, v, scale=0.3, dropout_p=0.0)",
        {"q": F32(3, 5, 4), "k": F32(3, 6, 4), "v": F32(3, 6, 4)},
    ),
]

SHAPES = [
    ("torch.cat([x, y], dim=1)", XY),
    ("torch.cat((x, y))", XY),
    ("torch.concat([x, y], -1)", XY),
    ("torch.stack([x, y])", XY),
    ("torch.stack((x, y), dim=-1)", XY),
    ("torch.hstack([x, y])", XY),
    ("torch.split(x, 2, dim=2)", X),
    ("torch.split(x, 3, dim=-1)", X),
    ("x.split([1, 2], dim=1)", X),
    ("x.split(1)", X),
    ("torch.chunk(x, 2, dim=-1)", X),
    ("x.chunk(3, 2)", X),
    ("x.chunk(2, dim=1)", X),
    ("x.unbind(1)", X),
    ("torch.unbind(x)", X),
    ("torch.flatten(x)", X),
    ("torch.flatten(x, 1)", X),
    ("x.flatten(1, 2)", X4),
    ("x.flatten(0, 1)", X4),
    ("x.flatten(-2)", X4),
    ("torch.flatten(x * 2, 1)", X),
    ("x.view(2, -1)", X),
    ("x.view(-1)", X),
    ("x.reshape(6, 4)", X),
    ("x.view(x.size(0), -1)", X),
    ("x.reshape(x.shape[0], 4, 3)", X),
    ("torch.reshape(x, (4, -1))", X),
    ("x.view_as(y)", {"x": F32(2, 6), "y": F32(3, 4)}),
    ("x.permute(0, 2, 1)", X),
    ("x.permute([2, 0, 1])", X),
    ("torch.permute(x, (1, 0, 2))", X),
    ("x.transpose(1, 2)", X),
    ("torch.transpose(x, 0, -1)", X),
    ("x.t()", {"x": F32(3, 4)}),
    ("x.movedim(0, -1)", X),
    ("x.T", {"x": F32(3, 4)}),
    ("x.mT", X),
    ("x.squeeze(1)", {"x": F32(2, 1, 4)}),
    ("x.squeeze()", {"x": F32(1, 3, 1)}),
    ("torch.squeeze(x, -1)", {"x": F32(2, 3, 1)}),
    ("x.unsqueeze(1)", X),
    ("torch.unsqueeze(x, -1)", X),
    ("x[:, None]", X),
    ("x.expand(2, 3, 5)", {"x": F32(2, 3, 1)}),
    ("x.expand(4, -1, -1)", {"x": F32(1, 3, 2)}),
    ("x.expand(2, -1, 3, -1)", {"x": F32(3, 1, 2)}),
    ("x.expand_as(y)", {"x": F32(1, 4), "y": F32(3, 4)}),
    ("x.repeat(1, 2, 1)", X),
    ("x.repeat(2, 1, 1, 1)", X),
    ("torch.tile(x, (2, 1))", {"x": F32(2, 3)}),
    ("x.repeat_interleave(2, dim=1)", X),
    ("torch.repeat_interleave(x, 2)", X),
    ("torch.flip(x, [1])", X),
    ("x.flip(0, 2)", X),
    ("torch.roll(x, 1, 0)", X),
    ("x.roll(shifts=(1, 2), dims=(1, 2))", X),
    ("torch.roll(x, 3)", X),
    ("torch.gather(x, 2, i)", {"x": F32(2, 3, 4), "i": INT(2, 3, 2, high=4)}),
    ("x.gather(1, i)", {"x": F32(3, 5), "i": INT(2, 3, high=5)}),
    ("torch.take_along_dim(x, i, dim=1)", {"x": F32(3, 5), "i": INT(3, 2, high=5)}),
    ("x.index_select(1, i)", {"x": F32(3, 5), "i": INT(4, high=5)}),
    ("x.masked_fill(m, 0.0)", {"x": F32(3, 4), "m": BOOL(3, 4)}),
    ("x.masked_fill(m, float('-inf'))", {"x": F32(3, 4), "m": BOOL(3, 4)}),
    ("x.masked_fill(m == 0, -1e9)", {"x": F32(3, 4), "m": INT(3, 4, high=2)}),
    ("torch.where(m, x, y)", {"m": BOOL(3, 4), "x": F32(3, 4), "y": F32(3, 4)}),
    ("torch.where(x > 0, x, 0.0)", X),
    ("torch.where(m)", {"m": BOOL(3, 4)}),
    ("torch.nonzero(m)", {"m": BOOL(3, 4)}),
    ("m.nonzero(as_tuple=True)", {"m": BOOL(3, 4)}),
    ("torch.tril(x)", {"x": F32(4, 4)}),
    ("x.triu(1)", {"x": F32(4, 4)}),
    ("torch.tril(x, diagonal=-1)", X),
    ("torch.diag(x)", {"x": F32(4)}),
    ("torch.diag(x)", {"x": F32(4, 4)}),
    ("x.size()", X),
    ("x.size(-1)", X),
    ("x.shape", X),
    ("x.shape[1]", X),
    ("x.dim()", X),
    ("x.ndim", X),
    ("x.numel()", X),
    ("torch.numel(x)", X),
    ("x.contiguous()", X),
    ("x.detach()", X),
    ("x.clone()", X),
    ("x.data", X),
    ("x.cpu()", X),
]

CREATION = [
    ("torch.zeros(2, 3)", {}),
    ("torch.zeros((2, 3), dtype=torch.long)", {}),
    ("torch.zeros(x.shape)", X),
    ("torch.ones(4)", {}),
    ("torch.ones(2, 3, dtype=torch.bool)", {}),
    ("torch.empty(2, 2).shape", {}),
    ("torch.full((2, 3), 0.5)", {}),
    ("torch.full((2,), 7)", {}),
    ("torch.full((2,), True)", {}),
    ("torch.zeros_like(x)", X),
    ("torch.ones_like(x, dtype=torch.int32)", X),
    ("torch.full_like(x, 2.5)", X),
    ("x.new_zeros(2, 3)", X),
    ("x.new_ones((4,))", X),
    ("x.new_full((2, 2), -1.0)", X),
    ("x.new_tensor([1.0, 2.0])", X),
    ("torch.tensor([1.0, 2.5])", {}),
    ("torch.tensor([[1, 2], [3, 4]])", {}),
    ("torch.tensor(0.5, dtype=torch.float64)", {}),
    ("torch.arange(5)", {}),
    ("torch.arange(2, 9)", {}),
    ("torch.arange(0, 10, 3)", {}),
    ("torch.arange(0, 1, 0.25)", {}),
    ("torch.arange(4, dtype=torch.float32)", {}),
    ("torch.arange(1.5, 4)", {}),
    ("torch.linspace(0, 1, 5)", {}),
    ("torch.linspace(-2, 3, 7)", {}),
    ("torch.logspace(0, 2, 3)", {}),
    ("torch.eye(3)", {}),
    ("torch.eye(2, 4)", {}),
    ("torch.meshgrid(a, b)", {"a": F32(3), "b": F32(4)}),
    ("torch.meshgrid([a, b], indexing='ij')", {"a": F32(3), "b": F32(4)}),
    ("torch.meshgrid(a, b, indexing='xy')", {"a": F32(3), "b": F32(4)}),
    ("torch.Size([2, 3])", {}),
]

REDUCTIONS = [
    ("torch.sum(x)", X),
    ("x.sum(1)", X),
    ("x.sum(1, keepdim=True)", X),
    ("x.sum(dim=(0, 2))", X),
    ("x.sum(-1, dtype=torch.float64)", X),
    ("torch.mean(x, dim=[1, 2])", X),
    ("x.mean()", X),
    ("x.mean(-1, keepdim=True)", X),
    ("x.prod(1)", X),
    ("torch.max(x)", X),
    ("x.max()", X),
    ("torch.max(x, 1)", X),
    ("torch.max(x, dim=1)[0]", X),
    ("x.max(dim=-1).values", X),
    ("x.max(-1, keepdim=True).indices", X),
    ("torch.max(x, y)", XY),
    ("torch.max(x, other=y)", XY),
    ("torch.min(x, 2)", X),
    ("x.min(dim=0)[1]", X),
    ("torch.min(x, y)", XY),
    ("torch.amax(x, dim=(1, 2))", X),
    ("x.amax(-1, keepdim=True)", X),
    ("torch.amin(x, 1)", X),
    ("torch.argmax(x)", X),
    ("x.argmax(1)", X),
    ("x.argmax(-1, keepdim=True)", X),
    ("x.argmin(0)", X),
    ("torch.var(x)", X),
    ("x.var(1)", X),
    ("x.var(1, keepdim=True)", X),
    ("x.var(dim=(1, 2))", X),
    ("x.var(dim=1, unbiased=False)", X),
    ("x.var(-1, correction=0)", X),
    ("x.var(-1, correction=2)", X),
    ("torch.var(x, 1, True, True)", X),
    ("x.std()", X),
    ("x.std(-1)", X),
    ("x.std(dim=-1, keepdim=True)", X),
    ("torch.std(x, 0, unbiased=False)", X),
    ("torch.logsumexp(x, dim=-1)", X),
    ("torch.all(x > -1)", X),
    ("(x > 0).all(dim=1)", X),
    ("(x > 0).any(-1, keepdim=True)", X),
    ("torch.count_nonzero(x > 0, dim=1)", X),
    ("torch.cumsum(x, dim=1)", X),
    ("x.cumsum(-1)", X),
    ("x.cumprod(0)", X),
    ("torch.sort(x)", X),
    ("torch.sort(x, dim=1, descending=True)", X),
    ("torch.sort(x, 0).values", X),
    ("torch.argsort(x, dim=1)", X),
    ("x.argsort(descending=True)", X),
    ("torch.topk(x, 2)", X),
    ("x.topk(2, dim=1, largest=False)", X),
    ("x.topk(1, 0).indices", X),
    ("torch.topk(x, 3, sorted=True).values", X),
    ("torch.norm(x)", X),
    ("x.norm(dim=-1)", X),
    ("x.norm(dim=-1, keepdim=True)", X),
    ("x.norm(p=1, dim=1)", X),
    ("x.norm(2, dim=(1, 2))", X),
    ("x.norm(float('inf'), dim=1)", X),
    ("x.norm(p=3)", X),
    ("torch.norm(x, p='fro', dim=(0, 1))", X),
    ("torch.linalg.vector_norm(x, dim=-1)", X),
    ("torch.linalg.vector_norm(x)", X),
    ("torch.linalg.vector_norm(x, 1, dim=(0, 2))", X),
    ("torch.linalg.norm(x, dim=-1)", X),
    ("torch.linalg.norm(x)", X),
]

MATH = (
    [
        (f"torch.{name}(x)", X)
        for name in (
            "exp",
            "expm1",
            "sin",
            "cos",
            "tan",
            "atan",
            "sinh",
            "cosh",
            "erf",
            "floor",
            "ceil",
            "trunc",
            "sign",
            "neg",
            "abs",
            "square",
            "isnan",
            "isinf",
            "isfinite",
            "exp2",
        )
    ]
    + [
        (f"torch.{name}(p)", {"p": POS(3, 4)})
        for name in ("sqrt", "rsqrt", "log", "log2", "log10", "log1p", "reciprocal")
    ]
    + [
        ("x.exp()", X),
        ("x.abs()", X),
        ("p.sqrt()", {"p": POS(3, 4)}),
        ("p.log()", {"p": POS(3, 4)}),
        ("x.neg()", X),
        ("torch.asin(x * 0.5)", X),
        ("torch.acos(x * 0.5)", X),
        ("torch.erfinv(x * 0.3)", X),
        ("torch.round(x * 3)", X),
        ("x.round(decimals=2)", X),
        ("torch.pow(x, 2)", X),
        ("p.pow(0.5)", {"p": POS(3, 4)}),
        ("torch.pow(2.0, x)", X),
        ("torch.atan2(x, y)", XY),
        ("torch.maximum(x, y)", XY),
        ("torch.minimum(x, y)", XY),
        ("torch.add(x, y)", XY),
        ("torch.add(x, y, alpha=2)", XY),
        ("x.add(1.5)", X),
        ("torch.sub(x, y)", XY),
        ("x.sub(y, alpha=0.5)", XY),
        ("torch.mul(x, y)", XY),
        ("x.mul(3)", X),
        ("torch.div(x, y)", XY),
        ("x.div(2)", X),
        ("torch.div(i, j)", {"i": INT(3, 4, low=-9, high=9), "j": INT(3, 4, low=1, high=4)}),
        ("torch.div(i, j, rounding_mode='floor')", {"i": INT(3, 4, low=-9, high=9), "j": INT(3, 4, low=1, high=4)}),
        ("torch.div(x, 0.3, rounding_mode='floor')", X),
        ("torch.true_divide(x, y)", XY),
        ("torch.floor_divide(i, j)", {"i": INT(3, 4, low=-9, high=9), "j": INT(3, 4, low=1, high=4)}),
        ("torch.remainder(x, 0.7)", X),
        ("torch.remainder(i, 3)", {"i": INT(3, 4, low=-9, high=9)}),
        ("torch.fmod(x, 0.7)", X),
        ("torch.fmod(i, 3)", {"i": INT(3, 4, low=-9, high=9)}),
        ("torch.clamp(x, 0, 0.5)", X),
        ("x.clamp(min=0)", X),
        ("x.clamp(max=0.2)", X),
        ("x.clip(-0.5, 0.5)", X),
        ("torch.clamp(x, y, y + 1)", XY),
        ("torch.clamp(x, min=y)", XY),
        ("x.clamp_min(0.1)", X),
        ("x.clamp_max(0.1)", X),
        ("torch.eq(i, j)", {"i": INT(3, 4), "j": INT(3, 4)}),
        ("i.ne(2)", {"i": INT(3, 4)}),
        ("x.gt(y)", XY),
        ("torch.ge(x, 0)", X),
        ("x.lt(0.5)", X),
        ("torch.le(x, y)", XY),
        ("torch.logical_and(m, n)", {"m": BOOL(3, 4), "n": BOOL(3, 4)}),
        ("torch.logical_or(m, n)", {"m": BOOL(3, 4), "n": BOOL(3, 4)}),
        ("torch.logical_xor(m, n)", {"m": BOOL(3, 4), "n": BOOL(3, 4)}),
        ("m.logical_not()", {"m": BOOL(3, 4)}),
        ("torch.matmul(x, y)", M),
        ("torch.mm(x, y)", M),
        ("x @ y", M),
        ("x.matmul(y)", M),
        ("torch.bmm(x, y)", {"x": F32(2, 3, 4), "y": F32(2, 4, 5)}),
        ("torch.outer(a, b)", {"a": F32(3), "b": F32(4)}),
        ("torch.dot(a, b)", {"a": F32(4), "b": F32(4)}),
        ("torch.einsum('ij,jk->ik', x, y)", M),
        ("torch.einsum('ij,jk->ik', [x, y])", M),
        ("torch.einsum('ii->i', x)", {"x": F32(4, 4)}),
        ("torch.einsum('bhid,bhjd->bhij', q, k)", {"q": F32(2, 2, 3, 4), "k": F32(2, 2, 5, 4)}),
        ("torch.lerp(x, y, 0.3)", XY),
        ("torch.isclose(x, x + 1e-9)", X),
        ("torch.allclose(x, x)", X),
        ("torch.equal(x, x)", X),
        ("torch.equal(x, y)", XY),
    ]
)

CASTS = [
    ("x.float()", {"x": INT(3, 4)}),
    ("x.double()", X),
    ("x.half()", X),
    ("x.long()", X),
    ("x.int()", X),
    ("x.bool()", X),
    ("x.byte()", {"x": INT(3, 4)}),
    ("x.to(torch.float16)", X),
    ("x.to(dtype=torch.int64)", X),
    ("x.to(y.dtype)", {"x": INT(3, 4), "y": F32(2)}),
    ("x.type(torch.float64)", X),
    ("x.type_as(y)", {"x": INT(3, 4), "y": F32(2)}),
    ("x.to('cpu')", X),
    ("x.to(torch.device('cpu'))", X),
    ("x.to('cpu', torch.float64)", X),
    ("x.float().dtype == torch.float32", {"x": INT(3)}),
    ("x.is_floating_point()", X),
    ("torch.finfo(torch.float32).max", {}),
    ("torch.finfo(x.dtype).min", X),
    ("torch.finfo(torch.float16).eps", {}),
    ("torch.finfo(torch.bfloat16).max", {}),
    ("torch.finfo(torch.float64).tiny", {}),
    ("torch.finfo().eps", {}),
    ("torch.iinfo(torch.int32).min", {}),
    ("torch.iinfo(torch.uint8).max", {}),
    ("torch.iinfo(torch.int64).max", {}),
    ("torch.pi * x", X),
    ("x + torch.e", X),
    ("torch.inf", {}),
    ("x.sum().item()", X),
    ("x.tolist()", {"x": F32(2, 2)}),
]

EINOPS = [
    ("einops.rearrange(x, 'b c h w -> b (h w) c')", X4),
    ("rearrange(x, 'b c (h p) -> b c h p', p=2)", X),
    ("rearrange(x, 'b c h w -> (b c) h w')", X4),
    ("einops.repeat(x, 'b c h -> b r c h', r=2)", X),
    ("repeat(x, 'h w -> b h w', b=3)", {"x": F32(3, 4)}),
    ("reduce(x, 'b c h w -> b c', 'mean')", X4),
    ("einops.reduce(x, 'b c (h 2) w -> b c h w', 'max')", X4),
    ("einops.einsum(x, y, 'i j, j k -> i k')", M),
    ("einops.rearrange(x, 'b c (h p1) (w p2) -> b (h w) (p1 p2 c)', p1=3, p2=5)", X4),
]

CASES = [
    pytest.param(expr, inputs, id=f"{group}:{expr}")
    for group, cases in (
        ("act", ACTIVATIONS),
        ("F", FUNCTIONAL),
        ("interp", INTERPOLATE),
        ("pad", PAD),
        ("attn", ATTENTION),
        ("shape", SHAPES),
        ("create", CREATION),
        ("reduce", REDUCTIONS),
        ("math", MATH),
        ("cast", CASTS),
        ("einops", EINOPS),
        ("more", LOSSES_AND_MORE),
    )
    for expr, inputs in cases
]


@pytest.mark.parametrize("expr,inputs", CASES)
def test_matches_torch(expr, inputs):
    check(expr, inputs)


# --- randomness: distributions and shapes, not values ----------------------------------------------
@pytest.mark.parametrize(
    "expr,shape,low,high",
    [
        ("torch.randn(200, 3)", (200, 3), -6, 6),
        ("torch.rand(100)", (100,), 0, 1),
        ("torch.randint(10, (50, 2))", (50, 2), 0, 9),
        ("torch.randint(3, 7, (40,))", (40,), 3, 6),
        ("torch.randn_like(x)", (2, 3, 4), -6, 6),
        ("torch.rand_like(x)", (2, 3, 4), 0, 1),
        ("torch.normal(0.0, 1.0, size=(20,))", (20,), -6, 6),
        ("torch.randperm(10)", (10,), 0, 9),
    ],
)
def test_random_shapes_and_ranges(expr, shape, low, high):
    fn, code = _translated(expr, ("x",))
    out = keras.ops.convert_to_numpy(fn(keras.ops.ones((2, 3, 4))))
    assert out.shape == shape, code
    assert out.min() >= low and out.max() <= high, code
    if expr.startswith("torch.randperm"):
        assert sorted(out.tolist()) == list(range(10))


def test_dropout_keeps_or_scales():
    fn, code = _translated("F.dropout(x, 0.5)", ("x",))
    x = np.random.default_rng(0).uniform(1, 2, (100, 10)).astype("float32")
    out = keras.ops.convert_to_numpy(fn(keras.ops.convert_to_tensor(x)))
    dropped = out == 0
    assert 0.3 < dropped.mean() < 0.7, code
    np.testing.assert_allclose(out[~dropped], 2 * x[~dropped], rtol=1e-6)


def test_dropout_follows_the_training_flag():
    source = (
        "import torch.nn as nn\nimport torch.nn.functional as F\n\n"
        "class M(nn.Module):\n    def forward(self, x):\n"
        "        return F.dropout(x, 0.5, training=self.training)\n"
    )
    result = translate(source)
    assert result.ok, [d.format() for d in result.diagnostics]
    namespace: dict = {}
    exec(compile(result.code, "<translated>", "exec"), namespace)
    layer = namespace["M"]()
    x = np.ones((50, 10), "float32")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x, training=False)), x)
    assert (keras.ops.convert_to_numpy(layer(x, training=True)) == 0).any()


def test_values_indices_pair_is_a_keras_structure():
    """torch.max(x, dim) inside a layer traced by Keras' functional API."""
    source = (
        "import torch\nimport torch.nn as nn\n\n"
        "class M(nn.Module):\n    def forward(self, x):\n        return torch.max(x, 1)\n"
    )
    result = translate(source)
    assert result.ok, [d.format() for d in result.diagnostics]
    namespace: dict = {}
    exec(compile(result.code, "<translated>", "exec"), namespace)
    inputs = keras.Input((3, 4))
    values, indices = namespace["M"]()(inputs)
    model = keras.Model(inputs, [values, indices])
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype("float32")
    got = model(x)
    want = torch.max(torch.from_numpy(x), 1)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(got[0]), want.values.numpy(), rtol=1e-6)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(got[1]), want.indices.numpy())


def test_einops_layers_become_keras_layers():
    source = (
        "import torch.nn as nn\nfrom einops.layers.torch import Rearrange, Reduce\n\n"
        "class M(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.to_tokens = Rearrange('b c (h p) w -> b (h w) (p c)', p=2)\n"
        "        self.pool = Reduce('b n d -> b d', 'mean')\n\n"
        "    def forward(self, x):\n        return self.pool(self.to_tokens(x))\n"
    )
    result = translate(source)
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "einops.layers.keras" in result.code and "torch" not in result.code.replace("einops.layers.torch", "")
    namespace: dict = {}
    exec(compile(result.code, "<translated>", "exec"), namespace)
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5)).astype("float32")
    got = keras.ops.convert_to_numpy(namespace["M"]()(x))
    want = einops.reduce(einops.rearrange(x, "b c (h p) w -> b (h w) (p c)", p=2), "b n d -> b d", "mean")
    np.testing.assert_allclose(got, want, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("expr", ["x.to(device)", "x.cuda()", "x.to(self_device)"])
def test_device_moves_are_identity(expr):
    fn, code = _translated(expr.replace("self_device", "device"), ("x", "device"))
    x = keras.ops.ones((2,))
    assert fn(x, None) is x, code


def test_cuda_is_available_is_a_bool():
    fn, code = _translated("torch.cuda.is_available()", ())
    assert isinstance(fn(), bool), code


def test_helpers_trace_with_an_unknown_batch_size():
    """The helpers inside a layer built on keras.Input (batch size None), as in a functional model."""
    source = """\
import torch
import torch.nn as nn
import torch.nn.functional as F


class M(nn.Module):
    def forward(self, x):
        a, b = torch.split(x, [2, 2], dim=-1)
        c = torch.chunk(x, 2, dim=1)[1]
        v = x.var(1, keepdim=True) + x.std()
        n = x.flatten(1, 2) * 2
        e = x[:, :1].expand(-1, 3, -1)
        g = torch.gather(x, 2, x.argsort(-1))
        p = F.pad(x, (1, 1), mode="replicate")
        s = F.scaled_dot_product_attention(x, x, x, is_causal=True)
        t = torch.topk(x, 2).values
        i = F.interpolate(x.unsqueeze(1), scale_factor=2, mode="bilinear")
        o = F.adaptive_avg_pool2d(x.unsqueeze(1), (2, 3))
        return (a.sum(-1) + b.mean(-1) + c.sum((1, 2))[:, None] + v.sum(-1) + n.sum(-1)[:, None]
                + e.sum(-1) + g.sum(-1) + p.sum(-1) + s.sum(-1) + t.sum(-1) + i.mean((1, 3))[:, ::2]
                + o.mean((1, 3))[:, :1])
"""
    result = translate(source)
    assert result.ok, [d.format() for d in result.diagnostics]
    namespace: dict = {}
    exec(compile(result.code, "<translated>", "exec"), namespace)
    inputs = keras.Input((3, 4))
    model = keras.Model(inputs, namespace["M"]()(inputs))
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype("float32")
    torch_namespace: dict = {}
    exec(source, torch_namespace)
    want = torch_namespace["M"]()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(x)), want, atol=ATOL, rtol=RTOL)


def test_python_methods_of_the_same_names_are_left_alone():
    """Tensor-method rules must not rewrite str.split, set.add (a statement), module functions."""
    body = (
        "    seen = set()\n    seen.add(1)\n    parts = line.split(',') + line.split()\n"
        "    head, tail = os.path.split(line)\n    n = np.linalg.norm(np.ones(3))\n"
        "    return seen, parts, head, n, math.exp(1.0)\n"
    )
    source = "import math\nimport os\nimport numpy as np\nimport torch\n\ndef f(line):\n" + body
    result = translate(source)
    assert result.ok, [d.format() for d in result.diagnostics]
    assert body in result.code, result.code
