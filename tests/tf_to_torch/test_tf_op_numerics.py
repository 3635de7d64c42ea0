"""Numerics of the Keras/TF -> PyTorch op rules (rules/tf_to_torch/ops.yaml, tf_ops.yaml,
backend.yaml, einops.yaml): each Keras / TensorFlow expression is run (TensorFlow backend) and
translated to torch; the translation runs on the same random inputs and the results must agree.

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
tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")
einops = pytest.importorskip("einops")

from fwtranslate import translate

PRELUDE = (
    "import math\nimport numpy as np\nimport keras\nfrom keras import ops\nimport tensorflow as tf\nimport einops\n"
    "from einops import rearrange, reduce, repeat\n"
)
ATOL, RTOL = 1e-5, 1e-4
SOURCE_NAMES = {"keras", "ops", "tf"}


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
    if kind == "const":  # a Python value passed as is to both sides
        return shape
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
    result = translate(source, to="torch")
    assert result.ok, [d.format() for d in result.diagnostics]
    tree = ast.parse(result.code)
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert not imported & {"keras", "tensorflow"}, result.code
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert not names & SOURCE_NAMES, result.code
    namespace: dict = {}
    exec(compile(result.code, "<translated>", "exec"), namespace)
    return namespace["f"], result.code


def _keras_fn(expr: str, args: tuple[str, ...]):
    namespace = {
        "keras": keras,
        "ops": keras.ops,
        "tf": tf,
        "np": np,
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
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float, np.ndarray, np.generic)):
        return np.asarray(value)
    if isinstance(value, tf.TensorShape):
        return np.asarray(value.as_list())
    return keras.ops.convert_to_numpy(value)


def _compare(got, want, code):
    if isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), (code, got, want)
        for g, w in zip(got, want):
            _compare(g, w, code)
        return
    if isinstance(want, str):
        assert got == want, (got, want, code)
        return
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"shape {got.shape} != {want.shape}\n{code}"
    if want.dtype == bool:
        assert got.dtype == bool, f"dtype {got.dtype}, Keras {want.dtype}\n{code}"
        np.testing.assert_array_equal(got, want, err_msg=code)
    elif np.issubdtype(want.dtype, np.integer):
        assert np.issubdtype(got.dtype, np.integer), f"dtype {got.dtype}, Keras {want.dtype}\n{code}"
        np.testing.assert_array_equal(got, want, err_msg=code)
    else:
        assert got.dtype == want.dtype, f"dtype {got.dtype}, Keras {want.dtype}\n{code}"
        np.testing.assert_allclose(got, want, atol=ATOL, rtol=RTOL, equal_nan=True, err_msg=code)


def check(expr, inputs, seed=0):
    rng = np.random.default_rng(seed)
    args = tuple(inputs)
    arrays = {name: _make(spec, rng) for name, spec in inputs.items()}
    fn, code = _translated(expr, args)
    want = _keras_fn(expr, args)(
        *(arrays[a] if inputs[a][0] == "const" else tf.convert_to_tensor(arrays[a]) for a in args)
    )
    got = fn(*(arrays[a] if inputs[a][0] == "const" else torch.from_numpy(np.array(arrays[a])) for a in args))
    _compare(_to_numpy(got), _to_numpy(want), code)


# --- cases ----------------------------------------------------------------------------------------
X = {"x": F32(2, 3, 4)}
X4 = {"x": F32(2, 6, 5, 3)}
XY = {"x": F32(2, 3, 4), "y": F32(2, 3, 4)}
AB = {"a": F32(2, 3, 4), "b": F32(3, 4)}
M = {"a": F32(3, 4), "b": F32(4, 5)}
P = {"p": POS(2, 3, 4)}
MB = {"m": BOOL(2, 3, 4)}
IJ = {"i": INT(2, 3, low=-9, high=9), "j": INT(2, 3, low=1, high=4)}

UNARY = [
    "relu",
    "relu6",
    "sigmoid",
    "tanh",
    "silu",
    "swish",
    "selu",
    "softplus",
    "softsign",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "log_sigmoid",
    "hard_tanh",
    "tanh_shrink",
    "exp",
    "expm1",
    "abs",
    "absolute",
    "square",
    "negative",
    "sin",
    "cos",
    "tan",
    "arctan",
    "sinh",
    "cosh",
    "erf",
    "floor",
    "ceil",
    "trunc",
    "sign",
    "isnan",
    "isinf",
    "isfinite",
    "stop_gradient",
]
KERAS_ELEMENTWISE = (
    [(f"ops.{name}(x * 3)", X) for name in UNARY]
    + [(f"ops.{name}(p)", P) for name in ("log", "log1p", "log2", "log10", "sqrt", "rsqrt", "reciprocal")]
    + [
        ("ops.erfinv(x * 0.3)", X),
        ("ops.logical_not(m)", MB),
        ("ops.round(x * 3)", X),
        ("ops.round(x, 2)", X),
        ("ops.gelu(x)", X),
        ("ops.gelu(x, approximate=False)", X),
        ("ops.gelu(x, False)", X),
        ("ops.leaky_relu(x)", X),
        ("ops.leaky_relu(x, 0.1)", X),
        ("ops.elu(x)", X),
        ("ops.elu(x, alpha=0.5)", X),
        ("ops.celu(x, 0.7)", X),
        ("ops.softmax(x)", X),
        ("ops.softmax(x, axis=1)", X),
        ("ops.softmax(x, axis=(1, 2))", X),
        ("ops.softmax(x, axis=(0, 2))", X),
        ("ops.log_softmax(x)", X),
        ("ops.log_softmax(x, 0)", X),
        ("ops.log_softmax(x, axis=(1, 2))", X),
        ("ops.glu(x)", X),
        ("ops.glu(x, axis=0)", {"x": F32(4, 3)}),
    ]
)

KERAS_BINARY = [
    (f"ops.{name}(x, y)", XY)
    for name in (
        "add",
        "subtract",
        "multiply",
        "divide",
        "true_divide",
        "equal",
        "not_equal",
        "greater",
        "greater_equal",
        "less",
        "less_equal",
        "maximum",
        "minimum",
        "arctan2",
        "logaddexp",
    )
] + [
    ("ops.add(a, b)", AB),
    ("ops.add(x, 1.5)", X),
    ("ops.multiply(2, x)", X),
    ("ops.subtract(1.0, x)", X),
    ("ops.divide(i, j)", IJ),
    ("ops.floor_divide(i, j)", IJ),
    ("ops.mod(i, j)", IJ),
    ("ops.mod(x, 0.7)", X),
    ("ops.floor_divide(x, 0.3)", X),
    ("ops.power(p, 2)", P),
    ("ops.power(p, 0.5)", P),
    ("ops.power(2.0, x)", X),
    ("ops.power(i, 2)", IJ),
    ("ops.maximum(x, 0.0)", X),
    ("ops.maximum(0.0, x)", X),
    ("ops.minimum(x, 0.5)", X),
    ("ops.minimum(-0.5, x)", X),
    ("ops.maximum(a, b)", AB),
    ("ops.logical_and(m, n)", {"m": BOOL(3, 4), "n": BOOL(3, 4)}),
    ("ops.logical_or(m, n)", {"m": BOOL(3, 4), "n": BOOL(3, 4)}),
    ("ops.logical_xor(m, n)", {"m": BOOL(3, 4), "n": BOOL(3, 4)}),
    ("ops.matmul(a, b)", M),
    ("ops.matmul(a, b)", {"a": F32(2, 3, 4), "b": F32(4, 5)}),
    ("ops.matmul(a, b)", {"a": F32(2, 3, 4), "b": F32(2, 4, 5)}),
    ("ops.matmul(a, b)", {"a": F32(4), "b": F32(4, 5)}),
    ("ops.einsum('ij,jk->ik', a, b)", M),
    ("ops.einsum('bij->bji', x)", X),
    ("ops.tensordot(a, b, axes=1)", M),
    ("ops.tensordot(a, b, axes=([1, 2], [0, 1]))", {"a": F32(2, 3, 4), "b": F32(3, 4, 5)}),
    ("ops.outer(a, b)", {"a": F32(3), "b": F32(2, 2)}),
    ("ops.clip(x, -0.5, 0.5)", X),
    ("ops.clip(x, 0, 1)", X),
    ("ops.where(m, x, y)", {"m": BOOL(2, 3, 4), "x": F32(2, 3, 4), "y": F32(2, 3, 4)}),
    ("ops.where(x > 0, x, 0.0)", X),
    ("ops.where(m)", {"m": BOOL(3, 4)}),
]

AXES = [None, 0, 1, -1, (0, 2), (-1, 1), [0, 1, 2]]
KERAS_REDUCTIONS = (
    [
        (f"ops.{name}(x, axis={axis!r}, keepdims={keep})", X)
        for name in ("sum", "mean", "max", "min", "prod", "var", "std", "logsumexp")
        for axis in AXES
        for keep in (False, True)
    ]
    + [
        (f"ops.{name}(x)", X)
        for name in ("sum", "mean", "max", "min", "prod", "var", "std", "logsumexp", "argmax", "argmin")
    ]
    + [(f"ops.{name}(x, keepdims=True)", X) for name in ("sum", "mean", "max", "prod", "logsumexp", "argmax", "std")]
    + [
        (f"ops.{name}(m, axis={axis!r}, keepdims={keep})", MB)
        for name in ("any", "all")
        for axis in (None, 1, (0, 2))
        for keep in (False, True)
    ]
    + [("ops.any(m)", MB), ("ops.all(m, axis=-1)", MB), ("ops.any(x > 1)", X)]
    + [
        (f"ops.{name}(x, axis={axis}, keepdims={keep})", X)
        for name in ("argmax", "argmin")
        for axis in (0, 1, -1)
        for keep in (False, True)
    ]
    + [
        ("ops.max(x, axis=-1, initial=0.5)", X),
        ("ops.min(x, initial=0.0)", X),
        ("ops.prod(x, axis=(0, 2))", X),
        # the TensorFlow backend ignores prod's dtype; the translation keeps the documented one
        ("ops.cast(ops.prod(x, dtype='float64'), 'float32')", X),
        ("ops.cast(ops.prod(x, axis=1, dtype='float64'), 'float32')", X),
        ("ops.norm(a)", {"a": F32(3, 4)}),
        ("ops.norm(x, axis=-1)", X),
        ("ops.norm(x, axis=-1, keepdims=True)", X),
        ("ops.norm(x, ord=1, axis=1)", X),
        ("ops.norm(x, axis=(1, 2))", X),
        ("ops.norm(a, ord='fro')", {"a": F32(3, 4)}),
        ("ops.norm(a, ord=1)", {"a": F32(3, 4)}),
        ("ops.norm(x, ord=float('inf'), axis=0)", X),
        ("ops.cumsum(x)", X),
        ("ops.cumsum(x, axis=1)", X),
        ("ops.cumsum(x, axis=-1, dtype='float64')", X),
        ("ops.cumprod(x, axis=0)", X),
        ("ops.cumprod(x)", X),
        ("ops.top_k(x, 2)", X),
        ("ops.top_k(x, k=3)[0]", X),
        ("ops.top_k(x, 1)[1]", X),
        ("ops.sort(x)", X),
        ("ops.sort(x, axis=0)", X),
        ("ops.argsort(x, axis=1)", X),
        ("ops.argsort(x)", X),
    ]
)

KERAS_SHAPES = [
    ("ops.concatenate([x, y], axis=-1)", XY),
    ("ops.concatenate((x, y))", XY),
    ("ops.concatenate([x, y], 1)", XY),
    ("ops.stack([x, y])", XY),
    ("ops.stack([x, y], axis=-1)", XY),
    ("ops.unstack(x, axis=1)", X),
    ("ops.unstack(x)", X),
    ("ops.split(x, 2, axis=-1)", X),
    ("ops.split(x, [1, 3], axis=2)", X),
    ("ops.split(x, 2)", X),
    ("ops.reshape(x, (6, 4))", X),
    ("ops.reshape(x, (2, -1))", X),
    ("ops.reshape(x, -1)", X),
    ("ops.reshape(x, [x.shape[0], -1])", X),
    ("ops.transpose(x)", X),
    ("ops.transpose(x, (0, 2, 1))", X),
    ("ops.transpose(x, axes=[2, 0, 1])", X),
    ("ops.moveaxis(x, -1, 1)", X),
    ("ops.moveaxis(x, (0, 1), (2, 0))", X),
    ("ops.swapaxes(x, 0, 2)", X),
    ("ops.expand_dims(x, 0)", X),
    ("ops.expand_dims(x, -1)", X),
    ("ops.expand_dims(x, axis=(0, 2))", X),
    ("ops.expand_dims(x, (-1, 1))", X),
    ("ops.squeeze(x)", {"x": F32(1, 3, 1)}),
    ("ops.squeeze(x, axis=1)", {"x": F32(2, 1, 4)}),
    ("ops.squeeze(x, axis=(0, 2))", {"x": F32(1, 3, 1)}),
    ("ops.squeeze(x, -1)", {"x": F32(2, 3, 1)}),
    ("ops.ravel(x)", X),
    ("ops.broadcast_to(b, (2, 3, 4))", AB),
    ("ops.tile(x, (1, 2, 1))", X),
    ("ops.tile(x, 2)", X),
    ("ops.tile(x, (2, 1, 1, 1))", X),
    ("ops.repeat(x, 2, axis=1)", X),
    ("ops.repeat(x, 3)", X),
    ("ops.repeat(x, [1, 2, 1], axis=1)", X),
    ("ops.flip(x)", X),
    ("ops.flip(x, axis=1)", X),
    ("ops.flip(x, (0, 2))", X),
    ("ops.flip(x, -1)", X),
    ("ops.roll(x, 1, axis=0)", X),
    ("ops.roll(x, 2)", X),
    ("ops.roll(x, (1, 2), axis=(1, 2))", X),
    ("ops.roll(x, -1, 2)", X),
    ("ops.tril(a)", {"a": F32(4, 4)}),
    ("ops.tril(a, k=-1)", {"a": F32(4, 5)}),
    ("ops.triu(x, 1)", X),
    ("ops.take(w, i, axis=0)", {"w": F32(6, 4), "i": INT(2, 3, high=6)}),
    ("ops.take(x, i, axis=1)", {"x": F32(2, 3, 4), "i": INT(5, high=3)}),
    ("ops.take(x, i, axis=-1)", {"x": F32(2, 3, 4), "i": INT(2, 2, low=-4, high=4)}),
    ("ops.take(x, i)", {"x": F32(2, 3, 4), "i": INT(3, 2, high=24)}),
    ("ops.take(x, [0, 2], axis=1)", X),
    ("ops.take_along_axis(x, i, axis=1)", {"x": F32(2, 3, 4), "i": INT(2, 5, 4, high=3)}),
    ("ops.take_along_axis(x, i, axis=-1)", {"x": F32(2, 3, 4), "i": INT(2, 3, 1, high=4)}),
    ("ops.take_along_axis(x, i)", {"x": F32(2, 3, 4), "i": INT(7, high=24)}),
    ("ops.pad(x, ((0, 0), (1, 2), (3, 4)))", X),
    ("ops.pad(x, [[0, 0], [1, 1], [0, 2]], constant_values=-1.0)", X),
    ("ops.pad(x, ((0, 0), (2, 1), (3, 2)), mode='reflect')", X),
    ("ops.pad(x, ((0, 0), (2, 1), (3, 2)), mode='symmetric')", X),
    ("ops.pad(x, ((1, 0), (2, 1), (0, 3)), mode='symmetric')", X),
]

KERAS_CREATION = [
    ("ops.zeros((2, 3))", {}),
    ("ops.zeros((2,), dtype='int32')", {}),
    ("ops.ones((2, 3))", {}),
    ("ops.ones(4)", {}),
    ("ops.ones((2, 2), dtype='bool')", {}),
    ("ops.full((2, 3), 7)", {}),
    ("ops.full((2,), 1, dtype='int32')", {}),
    ("ops.zeros_like(x)", X),
    ("ops.ones_like(x, dtype='bool')", X),
    ("ops.full_like(x, 2.5)", X),
    ("ops.full_like(x, 1, dtype='int32')", X),
    ("ops.arange(5)", {}),
    ("ops.arange(2, 9)", {}),
    ("ops.arange(0, 10, 3)", {}),
    ("ops.arange(0.0, 1.0, 0.25)", {}),
    ("ops.arange(4, dtype='float32')", {}),
    ("ops.arange(1, 7, 2, dtype='float32')", {}),
    ("ops.eye(3)", {}),
    ("ops.eye(2, 4)", {}),
    ("ops.identity(3)", {}),
    ("ops.linspace(0, 1, 5)", {}),
    ("ops.linspace(-2.0, 3.0, num=7)", {}),
    ("ops.linspace(0.0, 1.0)", {}),
    ("ops.convert_to_tensor(x)", X),
    ("ops.convert_to_tensor([1.0, 2.5])", {}),
    ("ops.convert_to_tensor([1, 2], dtype='float32')", {}),
    ("ops.cast(x, 'float32')", X),
    ("ops.cast(x, 'int32')", X),
    ("ops.cast(x, 'float64')", X),
    ("ops.cast(x, 'float16')", X),
    ("ops.cast(x, 'bool')", X),
    ("ops.cast(x, 'int64')", X),
    ("ops.cast(i, 'float32')", IJ),
    ("ops.cast(x, 'uint8')", {"x": POS(3, 4)}),
    ("ops.cast(x, keras.backend.floatx())", {"x": INT(3)}),
    ("ops.cast(ops.shape(x)[1], 'float32')", X),
    ("ops.cast(x, x.dtype)", X),
    ("ops.shape(x)", X),
    ("ops.shape(x)[-1]", X),
    ("ops.ndim(x)", X),
    ("ops.size(x)", X),
    ("ops.one_hot(i, 10)", {"i": INT(2, 3, high=10)}),
    ("ops.one_hot(i, 4, axis=1)", {"i": INT(2, 3, high=4)}),
    ("ops.one_hot(i, 4, axis=0)", {"i": INT(3, low=-1, high=5)}),
    ("ops.one_hot(i, 3, dtype='int32')", {"i": INT(5, high=3)}),
]

KERAS_NN = [
    ("ops.normalize(x)", X),
    ("ops.normalize(x, axis=1)", X),
    ("ops.normalize(x, axis=-1, order=1)", X),
    ("ops.normalize(x, axis=(1, 2))", X),
    ("ops.normalize(x * 1e-9)", X),
    ("ops.normalize(x, epsilon=0.5)", X),
    ("ops.layer_normalization(x)", X),
    ("ops.layer_normalization(x, g, b)", {"x": F32(2, 3, 4), "g": F32(4), "b": F32(4)}),
    ("ops.layer_normalization(x, g, b, epsilon=1e-3)", {"x": F32(2, 3, 4), "g": F32(4), "b": F32(4)}),
    ("ops.layer_normalization(x, g, axis=(1, 2))", {"x": F32(2, 3, 4), "g": F32(3, 4)}),
    ("ops.layer_normalization(x, g, b, axis=1)", {"x": F32(2, 3, 4), "g": F32(3), "b": F32(3)}),
    ("ops.layer_normalization(x, beta=b, axis=1)", {"x": F32(2, 3, 4), "b": F32(3)}),
    ("ops.image.resize(x, (12, 10))", X4),
    ("ops.image.resize(x, (3, 2))", X4),
    ("ops.image.resize(x, (9, 7))", X4),
    ("ops.image.resize(x, (12, 10), interpolation='nearest')", X4),
    ("ops.image.resize(x, (4, 3), interpolation='nearest')", X4),
    ("ops.image.resize(x, (9, 8), interpolation='nearest')", X4),
    ("ops.image.resize(x, (8, 8))", {"x": F32(5, 6, 3)}),
    ("ops.image.resize(x, (8, 8), data_format='channels_first')", {"x": F32(2, 3, 5, 6)}),
]

KERAS_CASES = [
    ("ops.elem", KERAS_ELEMENTWISE),
    ("ops.binary", KERAS_BINARY),
    ("ops.reduce", KERAS_REDUCTIONS),
    ("ops.shape", KERAS_SHAPES),
    ("ops.create", KERAS_CREATION),
    ("ops.nn", KERAS_NN),
]
ALL_CASES = list(KERAS_CASES)


def _params(groups):
    return [pytest.param(expr, inputs, id=f"{group}:{expr}") for group, cases in groups for expr, inputs in cases]


@pytest.mark.parametrize("expr,inputs", _params(KERAS_CASES))
def test_keras_ops_match(expr, inputs):
    check(expr, inputs)


# --- TensorFlow functions -------------------------------------------------------------------------
TF_UNARY = [
    "tf.math.exp",
    "tf.exp",
    "tf.math.expm1",
    "tf.abs",
    "tf.math.abs",
    "tf.square",
    "tf.math.erf",
    "tf.negative",
    "tf.sin",
    "tf.cos",
    "tf.floor",
    "tf.math.ceil",
    "tf.round",
    "tf.sign",
    "tf.math.is_nan",
    "tf.math.is_inf",
    "tf.math.is_finite",
    "tf.sigmoid",
    "tf.nn.sigmoid",
    "tf.math.sigmoid",
    "tf.tanh",
    "tf.nn.tanh",
    "tf.math.log_sigmoid",
    "tf.stop_gradient",
    "tf.nn.relu",
    "tf.nn.relu6",
    "tf.nn.elu",
    "tf.nn.selu",
    "tf.nn.softplus",
    "tf.math.softplus",
    "tf.nn.softsign",
    "tf.nn.gelu",
    "tf.nn.silu",
    "tf.nn.swish",
    "tf.identity",
]
TF_ELEMENTWISE = (
    [(f"{name}(x * 3)", X) for name in TF_UNARY]
    + [
        (f"{name}(p)", P)
        for name in ("tf.sqrt", "tf.math.sqrt", "tf.math.log", "tf.math.log1p", "tf.math.rsqrt", "tf.math.reciprocal")
    ]
    + [
        ("tf.math.logical_not(m)", MB),
        ("tf.nn.gelu(x, approximate=True)", X),
        ("tf.nn.swish(x, beta=2.0)", X),
        ("tf.nn.leaky_relu(x)", X),
        ("tf.nn.leaky_relu(x, alpha=0.1)", X),
        ("tf.nn.swish(tf.matmul(a, b), 1.5)", M),
        ("tf.nn.softmax(x)", X),
        ("tf.nn.softmax(x, axis=1)", X),
        ("tf.math.softmax(x, 0)", X),
        ("tf.nn.log_softmax(x)", X),
        ("tf.nn.log_softmax(x, axis=1)", X),
        ("tf.nn.dropout(x, 0.0)", X),
        ("tf.nn.bias_add(x, b)", {"x": F32(2, 3, 4), "b": F32(4)}),
        ("tf.nn.l2_normalize(x, axis=-1)", X),
        ("tf.math.l2_normalize(x, axis=[1, 2])", X),
        ("tf.nn.l2_normalize(x)", X),
        ("tf.nn.l2_normalize(x * 1e-8, axis=-1)", X),
        ("tf.nn.l2_normalize(x, axis=1, epsilon=0.5)", X),
        ("tf.nn.moments(x, axes=[0, 1])", X),
        ("tf.nn.moments(x, [2], keepdims=True)", X),
    ]
)

TF_BINARY = [
    (f"{name}(x, y)", XY)
    for name in (
        "tf.add",
        "tf.math.add",
        "tf.subtract",
        "tf.multiply",
        "tf.divide",
        "tf.math.truediv",
        "tf.truediv",
        "tf.maximum",
        "tf.minimum",
        "tf.math.squared_difference",
        "tf.equal",
        "tf.not_equal",
        "tf.greater",
        "tf.greater_equal",
        "tf.less",
        "tf.less_equal",
    )
] + [
    ("tf.add(a, b)", AB),
    ("tf.multiply(x, 2.0)", X),
    ("tf.math.floordiv(i, j)", IJ),
    ("tf.math.floormod(i, j)", IJ),
    ("tf.math.mod(x, 0.7)", X),
    ("tf.pow(p, 2.0)", P),
    ("tf.math.pow(p, 0.5)", P),
    ("tf.logical_and(m, n)", {"m": BOOL(3, 4), "n": BOOL(3, 4)}),
    ("tf.math.logical_or(m, n)", {"m": BOOL(3, 4), "n": BOOL(3, 4)}),
    ("tf.math.logical_xor(m, n)", {"m": BOOL(3, 4), "n": BOOL(3, 4)}),
    ("tf.matmul(a, b)", M),
    ("tf.linalg.matmul(a, b)", {"a": F32(2, 3, 4), "b": F32(2, 4, 5)}),
    ("tf.matmul(a, b, transpose_b=True)", {"a": F32(2, 3, 4), "b": F32(2, 5, 4)}),
    ("tf.matmul(a, b, transpose_a=True)", {"a": F32(4, 3), "b": F32(4, 5)}),
    ("tf.matmul(a, b, transpose_a=True, transpose_b=True)", {"a": F32(4, 3), "b": F32(5, 4)}),
    ("tf.matmul(a, b, adjoint_b=True)", {"a": F32(3, 4), "b": F32(5, 4)}),
    ("tf.matmul(a, b, transpose_b=t)", {"a": F32(3, 4), "b": F32(5, 4), "t": ("const", True, None)}),
    ("tf.einsum('ij,jk->ik', a, b)", M),
    ("tf.einsum('bij->bji', x)", X),
    ("tf.tensordot(a, b, axes=1)", M),
    ("tf.tensordot(a, b, axes=[[1, 2], [0, 1]])", {"a": F32(2, 3, 4), "b": F32(3, 4, 5)}),
    ("tf.clip_by_value(x, -0.5, 0.5)", X),
    ("tf.where(m, x, y)", {"m": BOOL(2, 3, 4), "x": F32(2, 3, 4), "y": F32(2, 3, 4)}),
    ("tf.where(x > 0, x, tf.zeros_like(x))", X),
    ("tf.where(m)", {"m": BOOL(3, 4)}),
]

TF_AXES = [None, 0, -1, [0, 2], (1, 2), [0, 1, 2]]
TF_REDUCTIONS = (
    [
        (f"{name}(x, axis={axis!r}, keepdims={keep})", X)
        for name in (
            "tf.reduce_sum",
            "tf.reduce_mean",
            "tf.reduce_max",
            "tf.reduce_min",
            "tf.reduce_prod",
            "tf.math.reduce_variance",
            "tf.math.reduce_std",
            "tf.reduce_logsumexp",
            "tf.math.reduce_euclidean_norm",
        )
        for axis in TF_AXES
        for keep in (False, True)
    ]
    + [
        (f"{name}(x)", X)
        for name in (
            "tf.reduce_sum",
            "tf.math.reduce_mean",
            "tf.reduce_max",
            "tf.math.reduce_min",
            "tf.reduce_prod",
            "tf.math.reduce_std",
            "tf.reduce_logsumexp",
        )
    ]
    + [
        (f"{name}(x, keepdims=True)", X)
        for name in (
            "tf.reduce_sum",
            "tf.reduce_max",
            "tf.reduce_prod",
            "tf.reduce_logsumexp",
            "tf.math.reduce_variance",
        )
    ]
    + [
        (f"{name}(m, axis={axis!r}, keepdims={keep})", MB)
        for name in ("tf.reduce_any", "tf.reduce_all")
        for axis in (None, 1, [0, 2])
        for keep in (False, True)
    ]
    + [("tf.reduce_any(m)", MB), ("tf.math.reduce_all(m, axis=-1)", MB)]
    + [
        ("tf.argmax(x)", X),
        ("tf.argmax(x, axis=-1)", X),
        ("tf.math.argmax(x, 1, output_type=tf.int32)", X),
        ("tf.argmin(x, axis=2)", X),
        ("tf.argmin(x)", X),
        ("tf.norm(x)", X),
        ("tf.norm(x, axis=-1)", X),
        ("tf.norm(x, axis=-1, keepdims=True)", X),
        ("tf.linalg.norm(x, ord=1, axis=1)", X),
        ("tf.norm(x, axis=[1, 2])", X),
        ("tf.norm(a, ord='fro', axis=[0, 1])", {"a": F32(3, 4)}),
        ("tf.norm(a, ord=1)", {"a": F32(3, 4)}),
        ("tf.norm(a, ord=1, axis=[-2, -1])", {"a": F32(2, 3, 4)}),
        ("tf.norm(a, ord=2, axis=[0, 1])", {"a": F32(3, 4)}),
        ("tf.norm(x, ord=np.inf, axis=0)", X),
        ("tf.cumsum(x)", X),
        ("tf.cumsum(x, axis=1)", X),
        ("tf.math.cumsum(x, axis=-1, reverse=True)", X),
        ("tf.cumsum(x, 1, exclusive=True)", X),
        ("tf.cumsum(x, axis=2, exclusive=True, reverse=True)", X),
        ("tf.math.cumprod(x, axis=1)", X),
        ("tf.math.cumprod(x, exclusive=True)", X),
        ("tf.math.cumprod(x, axis=-1, exclusive=True, reverse=True)", X),
        ("tf.math.top_k(x, k=2)", X),
        ("tf.nn.top_k(x)", X),
        ("tf.math.top_k(x, 3).values", X),
        ("tf.math.top_k(x, 3).indices", X),
        ("tf.sort(x)", X),
        ("tf.sort(x, axis=0, direction='DESCENDING')", X),
        ("tf.argsort(x, axis=1)", X),
        ("tf.argsort(x, direction='DESCENDING', stable=True)", X),
    ]
)

TF_SHAPES = [
    ("tf.concat([x, y], axis=-1)", XY),
    ("tf.concat([x, y], 0)", XY),
    ("tf.stack([x, y], axis=1)", XY),
    ("tf.unstack(x, axis=1)", X),
    ("tf.unstack(x)", X),
    ("tf.reshape(x, [-1, 4])", X),
    ("tf.reshape(x, (2, 12))", X),
    ("tf.reshape(x, tf.shape(y))", {"x": F32(2, 3, 4), "y": F32(4, 6)}),
    ("tf.reshape(x, [tf.shape(x)[0], -1])", X),
    ("tf.transpose(x)", X),
    ("tf.transpose(x, perm=[0, 2, 1])", X),
    ("tf.transpose(x, [2, 0, 1])", X),
    ("tf.expand_dims(x, -1)", X),
    ("tf.expand_dims(x, 1)", X),
    ("x[:, tf.newaxis]", X),
    ("tf.squeeze(x)", {"x": F32(1, 3, 1)}),
    ("tf.squeeze(x, axis=1)", {"x": F32(2, 1, 4)}),
    ("tf.squeeze(x, [0, 2])", {"x": F32(1, 3, 1)}),
    ("tf.tile(x, [1, 2, 1])", X),
    ("tf.broadcast_to(b, [2, 3, 4])", AB),
    ("tf.reverse(x, [1])", X),
    ("tf.reverse(x, axis=[0, -1])", X),
    ("tf.roll(x, shift=1, axis=0)", X),
    ("tf.roll(x, [1, 2], [1, 2])", X),
    ("tf.split(x, 2, axis=-1)", X),
    ("tf.split(x, [1, 3], axis=2)", X),
    ("tf.split(x, [1, -1], 2)", X),
    ("tf.split(x, 3, 1)", X),
    ("tf.pad(x, [[0, 0], [1, 2], [3, 4]])", X),
    ("tf.pad(x, [[0, 0], [1, 1], [0, 2]], constant_values=-1.0)", X),
    ("tf.pad(x, [[0, 0], [2, 1], [3, 2]], mode='REFLECT')", X),
    ("tf.pad(x, [[0, 0], [2, 1], [3, 2]], 'reflect')", X),
    ("tf.pad(x, [[1, 0], [2, 1], [0, 3]], mode='SYMMETRIC')", X),
    ("tf.gather(w, i)", {"w": F32(6, 4), "i": INT(2, 3, high=6)}),
    ("tf.gather(w, i, axis=0)", {"w": F32(6, 4), "i": INT(5, high=6)}),
    ("tf.gather(x, i, axis=1)", {"x": F32(2, 3, 4), "i": INT(2, 2, high=3)}),
    ("tf.gather(x, i, axis=-1)", {"x": F32(2, 3, 4), "i": INT(5, high=4)}),
    ("tf.gather(x, [0, 2], axis=2)", X),
    ("tf.one_hot(i, 10)", {"i": INT(2, 3, high=10)}),
    ("tf.one_hot(i, 4, axis=0)", {"i": INT(3, low=-1, high=5)}),
    ("tf.one_hot(i, 3, dtype=tf.int32)", {"i": INT(5, high=3)}),
    ("tf.linalg.band_part(a, -1, 0)", {"a": F32(4, 5)}),
    ("tf.linalg.band_part(a, 0, -1)", {"a": F32(5, 4)}),
    ("tf.linalg.band_part(a, 1, 2)", {"a": F32(2, 5, 5)}),
    ("tf.linalg.band_part(a, -1, -1)", {"a": F32(3, 3)}),
    ("tf.linalg.band_part(a, 0, 0)", {"a": F32(4, 4)}),
    ("tf.linalg.band_part(tf.ones((4, 5)), -1, 0)", {}),
    ("tf.linalg.band_part(tf.ones((5, 4)), 1, -1)", {}),
    ("tf.linalg.band_part(a, lo, hi)", {"a": F32(2, 5, 6), "lo": ("const", 1, None), "hi": ("const", -1, None)}),
    ("tf.linalg.band_part(a, lo, hi)", {"a": F32(5, 6), "lo": ("const", -1, None), "hi": ("const", 2, None)}),
]

TF_CREATION = [
    ("tf.zeros([2, 3])", {}),
    ("tf.zeros((2,), dtype=tf.int32)", {}),
    ("tf.zeros((2,), 'int64')", {}),
    ("tf.ones([4])", {}),
    ("tf.ones([2, 2], dtype=tf.bool)", {}),
    ("tf.fill([2, 3], 0.5)", {}),
    ("tf.fill([2], 3)", {}),
    ("tf.zeros_like(x)", X),
    ("tf.zeros_like(x, dtype=tf.int64)", X),
    ("tf.ones_like(x)", X),
    ("tf.ones_like(x, dtype='int32')", X),
    ("tf.zeros([tf.shape(x)[0], 4])", X),
    ("tf.range(5)", {}),
    ("tf.range(2, 9)", {}),
    ("tf.range(0, 10, 3)", {}),
    ("tf.range(0.0, 1.0, 0.25)", {}),
    ("tf.range(0, 10, 3, dtype=tf.float32)", {}),
    ("tf.range(4, dtype=tf.float32)", {}),
    ("tf.range(tf.shape(x)[1])", X),
    ("tf.eye(3)", {}),
    ("tf.eye(2, 4)", {}),
    ("tf.linalg.eye(3, dtype=tf.int32)", {}),
    ("tf.cast(x, tf.float32)", X),
    ("tf.cast(x, tf.int32)", X),
    ("tf.cast(x, 'float64')", X),
    ("tf.cast(x, tf.bool)", X),
    ("tf.dtypes.cast(x, tf.float16)", X),
    ("tf.cast(i, tf.float32)", IJ),
    ("tf.cast(x * 9, tf.uint8)", {"x": POS(3, 4)}),
    ("tf.cast(x, keras.backend.floatx())", {"x": INT(3)}),
    ("tf.math.sqrt(tf.cast(tf.shape(x)[-1], tf.float32))", X),
    ("tf.constant([1.0, 2.0])", {}),
    ("tf.constant([[1, 2], [3, 4]])", {}),
    ("tf.constant(0.5, dtype=tf.float32)", {}),
    ("tf.constant(x)", X),
    ("tf.constant([1, 2], dtype='float32')", {}),
    ("tf.convert_to_tensor(x)", X),
    ("tf.convert_to_tensor([1.0, 2.0], dtype=tf.float64)", {}),
    ("tf.shape(x)", X),
    ("tf.shape(x)[0]", X),
    ("tf.shape(x, out_type=tf.int64)", X),
    ("tf.rank(x)", X),
    ("tf.size(x)", X),
    ("isinstance(x, tf.Tensor)", X),
    ("tf.float32 == x.dtype", X),
    ("tf.image.resize(x, [12, 10])", X4),
    ("tf.image.resize(x, (3, 2))", X4),
    ("tf.image.resize(x, (9, 8), method='nearest')", X4),
    ("tf.image.resize(x, (4, 3), method='nearest')", X4),
    ("tf.image.resize(x, (7, 9))", {"x": F32(5, 6, 3)}),
]

BACKEND = [
    ("keras.backend.image_data_format()", {}),
    ("keras.config.image_data_format()", {}),
    ("keras.backend.floatx()", {}),
    ("keras.config.floatx()", {}),
    ("keras.backend.epsilon()", {}),
    ("keras.config.epsilon() * x", X),
    ("ops.zeros((2,), dtype=keras.backend.floatx())", {}),
]

EINOPS = [
    ("einops.rearrange(x, 'b h w c -> b (h w) c')", X4),
    ("rearrange(x, 'b c (h p) -> b c h p', p=2)", X),
    ("einops.repeat(x, 'b c h -> b r c h', r=2)", X),
    ("repeat(x, 'h w -> b h w', b=3)", {"x": F32(3, 4)}),
    ("reduce(x, 'b h w c -> b c', 'mean')", X4),
    ("einops.reduce(x, 'b (h 2) w c -> b h w c', 'max')", X4),
    ("einops.einsum(a, b, 'i j, j k -> i k')", M),
    ("einops.rearrange(x, 'b (h p1) (w p2) c -> b (h w) (p1 p2 c)', p1=3, p2=5)", X4),
]

ALL_CASES += [
    ("tf.elem", TF_ELEMENTWISE),
    ("tf.binary", TF_BINARY),
    ("tf.reduce", TF_REDUCTIONS),
    ("tf.shape", TF_SHAPES),
    ("tf.create", TF_CREATION),
    ("backend", BACKEND),
    ("einops", EINOPS),
]


@pytest.mark.parametrize("expr,inputs", _params(ALL_CASES[len(KERAS_CASES) :]))
def test_tf_ops_match(expr, inputs):
    check(expr, inputs)


# --- numpy-style forms the TensorFlow backend of keras.ops.pad rejects: checked against np.pad -----
@pytest.mark.parametrize(
    "pad_width,mode",
    [
        (2, "constant"),
        (((1, 2),), "constant"),
        ((1, 2), "constant"),
        ((1,), "constant"),
        (((0, 0), (2, 1), (3, 2)), "edge"),
        (((1, 1), (2, 1), (3, 2)), "wrap"),
        (1, "reflect"),
        ((2, 1), "symmetric"),
    ],
)
def test_keras_pad_matches_numpy(pad_width, mode):
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype("float32")
    fn, code = _translated(f"ops.pad(x, {pad_width!r}, mode={mode!r})", ("x",))
    got = fn(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, np.pad(x, pad_width, mode=mode), err_msg=code)


# --- einops' Keras layers -> einops' torch layers ----------------------------------------------------
@pytest.mark.parametrize(
    "expr,shape",
    [
        ("einops.layers.keras.Rearrange('b h w c -> b (h w) c')", (2, 3, 4, 5)),
        ("einops.layers.keras.Reduce('b h w c -> b c', 'max')", (2, 3, 4, 5)),
        ("einops.layers.keras.Rearrange('b (h p) c -> b h p c', p=2)", (2, 6, 5)),
    ],
)
def test_einops_layers_match(expr, shape):
    import einops.layers.keras

    source = f"{PRELUDE}import einops.layers.keras\nlayer = {expr}\n"
    result = translate(source, to="torch")
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "einops.layers.torch" in result.code and "keras" not in result.code.replace("einops.layers.keras", ""), (
        result.code
    )
    namespace: dict = {}
    exec(compile(result.code, "<translated>", "exec"), namespace)
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    want = eval(expr, {"einops": einops})(tf.convert_to_tensor(x))
    got = namespace["layer"](torch.from_numpy(x))
    _compare(_to_numpy(got), _to_numpy(want), result.code)


def test_einmix_weights_copy_one_to_one():
    import einops.layers.keras

    expr = "einops.layers.keras.EinMix('b t c -> b t d', weight_shape='c d', bias_shape='d', c=4, d=6)"
    result = translate(f"{PRELUDE}import einops.layers.keras\nlayer = {expr}\n", to="torch")
    assert result.ok, [d.format() for d in result.diagnostics]
    namespace: dict = {}
    exec(compile(result.code, "<translated>", "exec"), namespace)
    k_layer = eval(expr, {"einops": einops})
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype("float32")
    want = k_layer(tf.convert_to_tensor(x))
    t_layer = namespace["layer"]
    k_weights = {tuple(w.shape): w.numpy() for w in k_layer.weights}
    with torch.no_grad():
        for p in t_layer.parameters():
            p.copy_(torch.from_numpy(k_weights[tuple(p.shape)]))
    _compare(_to_numpy(t_layer(torch.from_numpy(x))), _to_numpy(want), result.code)
