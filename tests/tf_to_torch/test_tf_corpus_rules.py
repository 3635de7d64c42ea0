"""Numerics of the Keras/TF -> PyTorch rules the public corpus needed (rules/tf_to_torch/
initializers.yaml, random.yaml, tf_misc.yaml; Dropout(noise_shape) in regularization.yaml,
Normalization without statistics in preprocessing.yaml, keras.Input(tensor=) in core.yaml).

Each source expression runs in Keras / TensorFlow and, translated, in torch. Deterministic
results are compared value by value (atol 1e-5 / rtol 1e-4); random ones (initializers,
keras.random, dropout in training) by shape, dtype, bounds and moments on large samples, since
seeds are not translated.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import ast

import numpy as np
import pytest

torch = pytest.importorskip("torch")
tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from fwtranslate import translate

PRELUDE = "import keras\nfrom keras import layers, initializers\nimport tensorflow as tf\n"
ATOL, RTOL = 1e-5, 1e-4


@pytest.fixture(autouse=True)
def _seeded():
    """Seeds both sides (the distributions are compared, not the samples): no flaky runs."""
    torch.manual_seed(0)
    keras.utils.set_random_seed(0)


def _torch_namespace(source: str) -> dict:
    result = translate(PRELUDE + source, to="torch")
    assert result.ok, [d.format() for d in result.diagnostics]
    tree = ast.parse(result.code)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            assert not any(n.split(".")[0] in ("keras", "tensorflow") for n in names), result.code
    namespace: dict = {}
    exec(compile(result.code, "<translated>", "exec"), namespace)
    return namespace


def _keras_namespace(source: str) -> dict:
    namespace = {"keras": keras, "layers": keras.layers, "initializers": keras.initializers, "tf": tf}
    exec(source, namespace)
    return namespace


def both(source: str):
    """(Keras namespace, torch namespace) after running ``source`` in each."""
    return _keras_namespace(source), _torch_namespace(source)


def _np(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().numpy()
    return np.asarray(keras.ops.convert_to_numpy(value))


def _moments_match(got: np.ndarray, want: np.ndarray, where: str, rel: float = 0.05):
    """Same shape and dtype, close mean / stddev and close quantiles down to the 0.1% tails
    (which tell a two-stddev truncation or uniform bounds apart) on large samples."""
    assert got.shape == want.shape, (where, got.shape, want.shape)
    assert got.dtype == want.dtype, (where, got.dtype, want.dtype)
    scale = max(float(want.std()), 1e-12)
    assert abs(got.mean() - want.mean()) < rel * scale + 1e-7, (where, got.mean(), want.mean())
    assert abs(got.std() - want.std()) < rel * scale, (where, got.std(), want.std())
    if np.issubdtype(want.dtype, np.integer) or want.size < 50_000:
        return
    q = [0.001, 0.01, 0.5, 0.99, 0.999]  # a tail quantile's sampling error is ~0.1 stddev
    diff = np.abs(np.quantile(got, q) - np.quantile(want, q))
    assert np.all(diff < np.array([0.3, 0.12, 0.05, 0.12, 0.3]) * scale + 1e-7), (where, diff / scale)


# --- initializers -----------------------------------------------------------------------------
RANDOM_INITIALIZERS = [
    "initializers.RandomNormal(stddev=0.02)",
    "initializers.RandomNormal(1.0, 0.5, seed=3)",
    "keras.initializers.RandomUniform(-0.1, 0.3)",
    "keras.initializers.RandomUniform()",
    "initializers.TruncatedNormal(stddev=0.02)",
    "initializers.TruncatedNormal(mean=2.0, stddev=1.0)",
    "initializers.GlorotUniform()",
    "initializers.GlorotNormal()",
    "initializers.HeNormal()",
    "initializers.HeUniform(seed=1)",
    "initializers.LecunNormal()",
    "initializers.LecunUniform()",
    "initializers.VarianceScaling(scale=2.0, mode='fan_out', distribution='truncated_normal')",
    "initializers.VarianceScaling(0.5, 'fan_avg', 'uniform')",
    "initializers.VarianceScaling(3.0, distribution='untruncated_normal')",
    "initializers.VarianceScaling(1.0, 'fan_in', 'normal')",
    "initializers.glorot_uniform()",
    "initializers.random_normal(stddev=0.3)",
    "tf.random_normal_initializer(stddev=0.1)",
    "tf.random_uniform_initializer(0.0, 2.0)",
]
SHAPES = [(3, 3, 64, 96), (256, 384)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("expr", RANDOM_INITIALIZERS)
def test_random_initializer_distribution(expr, shape):
    k, t = both(f"init = {expr}\n")
    want = _np(k["init"](shape))
    got = _np(t["init"](shape))
    _moments_match(got, want, expr)


@pytest.mark.parametrize(
    "expr, shape",
    [
        ("initializers.Zeros()", (4, 5)),
        ("initializers.Ones()", (3,)),
        ("tf.zeros_initializer()", (2, 2)),
        ("tf.ones_initializer()", (2, 3)),
        ("initializers.Constant(0.25)", (2, 3, 4)),
        ("initializers.Constant()", (5,)),
        ("initializers.Constant([1.0, 2.0, 3.0])", (2, 3)),
        ("initializers.Identity(gain=2.0)", (4, 6)),
        ("initializers.identity()", (3, 3)),
    ],
)
def test_deterministic_initializer(expr, shape):
    k, t = both(f"init = {expr}\n")
    want, got = _np(k["init"](shape)), _np(t["init"](shape))
    assert got.dtype == want.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("shape", [(3, 3, 8, 16), (20, 12), (12, 20)], ids=str)
@pytest.mark.parametrize("gain", [1.0, 0.5])
def test_orthogonal_initializer(shape, gain):
    """Keras flattens all axes but the last; the flattened matrix has orthonormal columns (rows
    when it is wide), times gain, in both."""
    k, t = both(f"init = initializers.Orthogonal(gain={gain})\n")
    for value in (_np(k["init"](shape)), _np(t["init"](shape))):
        assert value.shape == shape and value.dtype == np.float32
        flat = value.reshape(-1, shape[-1])
        gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
        np.testing.assert_allclose(gram, gain**2 * np.eye(gram.shape[0]), atol=1e-4)


def test_keras_initializer_orthogonal_string_flattens_like_keras():
    """support_core.keras_initializer("orthogonal") (add_weight with the string) too."""
    ns = _torch_namespace(
        "class L(keras.layers.Layer):\n    def build(self, s):\n"
        "        self.w = self.add_weight(shape=(3, 3, 4, 8), initializer='orthogonal')\n"
    )
    value = ns["keras_initializer"]("orthogonal", (3, 3, 4, 8)).numpy().reshape(-1, 8)
    np.testing.assert_allclose(value.T @ value, np.eye(8), atol=1e-4)


def test_add_weight_with_initializer_object():
    """LayerScale of keras/convnext.py: add_weight(initializer=initializers.Constant(v))."""
    source = (
        "class LayerScale(keras.layers.Layer):\n"
        "    def __init__(self, init_values, projection_dim, **kwargs):\n"
        "        super().__init__(**kwargs)\n"
        "        self.init_values = init_values\n"
        "        self.projection_dim = projection_dim\n"
        "    def build(self, _):\n"
        "        self.gamma = self.add_weight(shape=(self.projection_dim,),\n"
        "                                     initializer=initializers.Constant(self.init_values), trainable=True)\n"
        "        self.noise = self.add_weight(shape=(64, 32), initializer=initializers.RandomNormal(stddev=0.5))\n"
        "    def call(self, x):\n"
        "        return x * self.gamma\n"
        "layer = LayerScale(0.125, 6)\n"
    )
    k, t = both(source)
    x = np.random.default_rng(0).standard_normal((2, 3, 6)).astype("float32")
    want = _np(k["layer"](tf.constant(x)))
    got = _np(t["layer"](torch.from_numpy(x)))
    np.testing.assert_allclose(got, want, atol=ATOL, rtol=RTOL)
    _moments_match(_np(t["layer"].noise), _np(k["layer"].noise), "add_weight RandomNormal", rel=0.1)


# --- keras.random / tf.random -------------------------------------------------------------------
RANDOM_OPS = [
    "keras.random.uniform((200, 300))",
    "keras.random.uniform((200, 300), 0, 1)",
    "keras.random.uniform((200, 300), minval=-2.0, maxval=5.0, seed=1)",
    "keras.random.uniform((300, 200), dtype='float64')",
    "keras.random.normal((200, 300))",
    "keras.random.normal((200, 300), mean=3.0, stddev=0.5)",
    "keras.random.normal((300, 200), dtype='float64', seed=2)",
    "keras.random.truncated_normal((200, 300))",
    "keras.random.truncated_normal((200, 300), mean=-1.0, stddev=0.02)",
    "keras.random.randint((200, 300), 0, 10)",
    "keras.random.randint((200, 300), minval=-5, maxval=5, dtype='int64')",
    "tf.random.uniform((200, 300))",
    "tf.random.uniform([200, 300], -1.0, 1.0)",
    "tf.random.uniform([200, 300], maxval=7, dtype=tf.int32)",
    "tf.random.normal((200, 300), stddev=2.0)",
    "tf.random.truncated_normal([200, 300], mean=1.0, stddev=0.1)",
]


@pytest.mark.parametrize("expr", RANDOM_OPS)
def test_random_op_distribution(expr):
    k, t = both(f"value = {expr}\n")
    want, got = _np(k["value"]), _np(t["value"])
    _moments_match(got, want, expr)
    if np.issubdtype(want.dtype, np.integer):
        assert set(np.unique(got)) == set(np.unique(want)), expr


def test_random_uniform_shape_from_tensor_shape():
    """StochasticDepth of keras/convnext.py: keep_prob + uniform((batch, 1, 1, 1), 0, 1), floored."""
    source = (
        "from keras import ops, random\n"
        "def drop_path(x, rate):\n"
        "    keep_prob = 1 - rate\n"
        "    shape = (ops.shape(x)[0],) + (1,) * (len(ops.shape(x)) - 1)\n"
        "    random_tensor = keep_prob + random.uniform(shape, 0, 1)\n"
        "    random_tensor = ops.floor(random_tensor)\n"
        "    return (x / keep_prob) * random_tensor\n"
    )
    k, t = both(source)
    x = np.ones((4000, 2, 2, 3), dtype="float32")
    want, got = _np(k["drop_path"](tf.constant(x), 0.3)), _np(t["drop_path"](torch.from_numpy(x), 0.3))
    for value in (want, got):
        per_sample = value.reshape(len(value), -1)
        assert np.all(per_sample.min(1) == per_sample.max(1))  # whole samples kept or dropped
        assert set(np.unique(value)) <= {0.0, np.float32(1 / 0.7)}
    assert abs((got[:, 0, 0, 0] == 0).mean() - (want[:, 0, 0, 0] == 0).mean()) < 0.05


@pytest.mark.parametrize(
    "expr",
    [
        "keras.random.dropout(x, 0.3)",
        "keras.random.dropout(x, rate=0.5, seed=4)",
        "keras.random.dropout(x, 0.25, noise_shape=(None, 1, 1))",
        "keras.random.dropout(x, 0.4, noise_shape=(1, None, 1))",
    ],
)
def test_random_dropout(expr):
    k, t = both(f"def f(x):\n    return {expr}\n")
    x = np.random.default_rng(1).uniform(1.0, 2.0, (2000, 4, 5)).astype("float32")
    want, got = _np(k["f"](tf.constant(x))), _np(t["f"](torch.from_numpy(x)))
    assert got.shape == want.shape and got.dtype == want.dtype
    for value in (want, got):
        kept = value != 0
        ratio = value[kept] / x[kept]  # kept values scaled by 1 / (1 - rate), the same for all
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-5)
    np.testing.assert_allclose(got[got != 0] / x[got != 0], (want[want != 0] / x[want != 0])[0], rtol=1e-5)
    if "noise_shape" in expr:  # the mask is shared along the 1 axes
        shared = tuple(i for i, s in enumerate(ast.literal_eval(expr.split("noise_shape=")[1][:-1])) if s == 1)
        for value in (want, got):
            kept = value != 0
            assert np.all(kept.all(axis=shared) == kept.any(axis=shared))
    if "(1, None, 1)" not in expr:  # >= 2000 independent draws: the drop rate within 4 sigma
        rate = float(expr.split(",")[1].split("=")[-1].strip(" )"))
        for value in (want, got):
            assert abs((value == 0).mean() - rate) < 0.04, (expr, (value == 0).mean())


# --- layers: Dropout(noise_shape), Normalization without statistics ----------------------------
def _per_sample_property(value, x, rate):
    per_sample = value.reshape(len(value), -1) != 0
    assert np.all(per_sample.all(1) == per_sample.any(1))  # each sample dropped or kept whole
    kept = per_sample.all(1)
    np.testing.assert_allclose(value[kept], x[kept] / (1 - rate), rtol=1e-5)
    return 1 - kept.mean()


def test_dropout_noise_shape_per_sample():
    """efficientnet.py: Dropout(drop_rate, noise_shape=(None, 1, 1, 1)): stochastic depth."""
    k, t = both("layer = layers.Dropout(0.3, noise_shape=(None, 1, 1, 1), name='drop')\n")
    x = np.random.default_rng(2).uniform(1.0, 2.0, (3000, 3, 3, 2)).astype("float32")
    module = t["layer"]
    module.eval()
    np.testing.assert_array_equal(_np(module(torch.from_numpy(x))), x)  # identity at inference
    np.testing.assert_array_equal(_np(k["layer"](tf.constant(x), training=False)), x)
    module.train()
    dropped_torch = _per_sample_property(_np(module(torch.from_numpy(x))), x, 0.3)
    dropped_keras = _per_sample_property(_np(k["layer"](tf.constant(x), training=True)), x, 0.3)
    assert abs(dropped_torch - dropped_keras) < 0.05 and abs(dropped_torch - 0.3) < 0.05


def test_dropout_noise_shape_in_translated_builder():
    """The layout pass may run the layer channels first: a per-sample mask means the same."""
    source = (
        "def build():\n"
        "    inputs = keras.Input((6, 6, 3))\n"
        "    x = layers.Conv2D(4, 3, padding='same')(inputs)\n"
        "    x = layers.Dropout(0.5, noise_shape=(None, 1, 1, 1))(x)\n"
        "    x = layers.Conv2D(2, 1)(x)\n"
        "    return keras.Model(inputs, x)\n"
        "model = build()\n"
    )
    t = _torch_namespace(source)
    model = t["model"]
    x = torch.rand(2, 6, 6, 3)
    model.eval()
    out = model(x)
    assert tuple(out.shape) == (2, 6, 6, 2)
    model.train()
    torch.manual_seed(0)
    outs = [model(x) for _ in range(20)]
    assert all(tuple(o.shape) == (2, 6, 6, 2) for o in outs)


def _stats_keras_to_torch(layer, module):
    """The converter the rule names (keras_normalization_stats): Keras Normalization's
    non-trainable variables ``mean`` and ``variance`` (shape = the input's sizes on ``axis``)
    -> the module's buffers ``mean`` / ``variance``, same shape, no transposition (``count``, an
    integer, is adapt()'s bookkeeping: not transferred)."""
    values = {v.name: np.asarray(v.numpy()) for v in layer.weights}
    for name in ("mean", "variance"):
        with torch.no_grad():
            buffer = getattr(module, name)
            assert tuple(buffer.shape) == values[name].shape, (name, buffer.shape, values[name].shape)
            buffer.copy_(torch.from_numpy(values[name]))


@pytest.mark.parametrize(
    "expr, shape",
    [
        ("layers.Normalization(axis=3)", (4, 5, 5, 3)),
        ("layers.Normalization()", (6, 7)),
        ("layers.Normalization(axis=(1, 2))", (3, 4, 5)),
        ("layers.Normalization(axis=-1, invert=True)", (4, 3)),
        ("layers.Normalization(axis=None)", (4, 3)),
    ],
)
def test_normalization_without_statistics(expr, shape):
    k, t = both(f"layer = {expr}\n")
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(shape) * 3 + 2).astype("float32")
    layer, module = k["layer"], t["layer"]
    # before adapt: mean 0, variance 1 in both
    np.testing.assert_allclose(_np(module(torch.from_numpy(x))), _np(layer(tf.constant(x))), atol=ATOL, rtol=RTOL)
    # adapted in Keras, statistics moved over
    layer.adapt(x)
    _stats_keras_to_torch(layer, module)
    np.testing.assert_allclose(_np(module(torch.from_numpy(x))), _np(layer(tf.constant(x))), atol=ATOL, rtol=RTOL)
    # a state_dict loads into a fresh (not yet called) module too
    fresh = _torch_namespace(f"layer = {expr}\n")["layer"]
    fresh.load_state_dict(module.state_dict())
    np.testing.assert_allclose(_np(fresh(torch.from_numpy(x))), _np(layer(tf.constant(x))), atol=ATOL, rtol=RTOL)


# --- tf_misc, keras.Input(tensor=) --------------------------------------------------------------
def test_name_scope_executing_eagerly_tensor_spec():
    source = (
        "def f(x):\n"
        "    with tf.name_scope('block'):\n"
        "        y = tf.nn.relu(x)\n"
        "    with keras.name_scope('outer'):\n"
        "        y = y * 2.0\n"
        "    return y, tf.executing_eagerly()\n"
        "spec = tf.TensorSpec(shape=(None, 3, 224, 224), dtype=tf.float32)\n"
        "spec2 = tf.TensorSpec([None, 8], name='x')\n"
    )
    k, t = both(source)
    x = np.random.default_rng(4).standard_normal((3, 4)).astype("float32")
    (want, want_eager), (got, got_eager) = k["f"](tf.constant(x)), t["f"](torch.from_numpy(x))
    np.testing.assert_allclose(_np(got), _np(want), atol=ATOL, rtol=RTOL)
    assert got_eager is True and bool(want_eager) is True
    assert tuple(t["spec"].shape) == tuple(k["spec"].shape.as_list()) == (None, 3, 224, 224)
    assert t["spec"].dtype == torch.float32 and t["spec2"].dtype == torch.float32 and t["spec2"].name == "x"
    assert k["spec2"].dtype == tf.float32


def test_input_tensor_raises_at_run_time():
    source = (
        "def build(input_tensor=None):\n"
        "    if input_tensor is None:\n"
        "        inputs = layers.Input(shape=(4,))\n"
        "    else:\n"
        "        inputs = layers.Input(tensor=input_tensor, shape=(4,))\n"
        "    return keras.Model(inputs, layers.Dense(2)(inputs))\n"
    )
    result = translate(PRELUDE + source, to="torch")
    assert result.ok and any(d.severity == "warning" and "tensor" in d.message for d in result.diagnostics)
    t = _torch_namespace(source)
    assert tuple(t["build"]()(torch.rand(3, 4)).shape) == (3, 2)
    with pytest.raises(NotImplementedError):
        t["build"](torch.rand(3, 4))
