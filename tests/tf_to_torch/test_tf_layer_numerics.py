"""Numeric parity of the Keras -> PyTorch layer rules (rules/tf_to_torch/{conv,pooling,
reshaping,merging,activations,regularization,preprocessing}.yaml).

Each case is a Keras constructor call (optionally after setup lines). The Keras layer is built
from it and given random weights; the same source goes through the real translator
(``to="torch"``), the translated torch module is called once (materialising Lazy modules),
receives the Keras weights and must return what the Keras layer returns on the same input
(evaluation mode). Channels-first Keras layers run under XLA (``tf.function(jit_compile=True)``):
TensorFlow's CPU kernels lack the NCHW format. (Channels-first Keras convolutions add their bias
on the wrong axis when the last spatial size equals the number of filters: the cases avoid it.)

The weights move through the product's transfer for a Keras original
(``fwtranslate.weights.from_keras.keras_to_torch_model``: the converter the rule's ``weights:``
field names, from src/fwtranslate/weights/converters.py), so these cases test it too.
"""

from __future__ import annotations

import os

os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

torch = pytest.importorskip("torch")
tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

import fwtranslate
from fwtranslate.rules import load_rules
from fwtranslate.weights.from_keras import keras_to_torch_model
from helpers import translate_and_exec

PRELUDE = "import keras\nfrom keras import layers, activations\nimport tensorflow as tf\n"
ATOL, RTOL = 1e-5, 1e-4


# --- helpers ------------------------------------------------------------------------------------
def split_source(src):
    *setup, expr = src.strip().split("\n")
    return "\n".join(setup), expr


def keras_namespace():
    return {"keras": keras, "layers": keras.layers, "activations": keras.activations, "tf": tf, "np": np}


def rule_of(expr):
    """The rule the outermost call of ``expr`` uses (``layers.Conv2D(...)`` -> keras.layers.Conv2D)."""
    head = expr.split("(", 1)[0].strip()
    name = "keras." + head if head.startswith(("layers.", "activations.")) else head
    rule = load_rules("tf_to_torch").find(name)
    assert rule is not None, name
    return rule


def translate(src):
    setup, expr = split_source(src)
    namespace, code = translate_and_exec(f"{PRELUDE}{setup}\nlayer = {expr}\n", "torch")
    return namespace["layer"], code


def randomise_keras(layer, seed):
    rng = np.random.default_rng(seed + 100)
    for v in layer.weights:
        if v.trainable:
            v.assign((rng.standard_normal(tuple(v.shape)) * 0.5).astype(np.float32))


def to_torch(value):
    if isinstance(value, (list, tuple)):
        return [to_torch(v) for v in value]
    return torch.from_numpy(value.copy())


def assert_close(expected, got, what, atol=ATOL, rtol=RTOL):
    expected, got = np.asarray(expected), np.asarray(got)
    assert expected.shape == got.shape, f"{what}: Keras shape {expected.shape}, torch shape {got.shape}"
    err = float(np.max(np.abs(expected - got))) if expected.size else 0.0
    assert np.allclose(got, expected, atol=atol, rtol=rtol, equal_nan=True), f"{what}: max abs error {err:.3g}"


def check_layer(src, shapes, jit=False, seed=0, inputs=None, atol=ATOL, rtol=RTOL):
    """Build the Keras layer and its translation, move the weights, compare outputs."""
    rng = np.random.default_rng(seed)
    if inputs is None:
        many = isinstance(shapes, list)
        xs = [rng.standard_normal(s).astype(np.float32) for s in (shapes if many else [shapes])]
        x = xs if many else xs[0]
    else:
        x = inputs(rng)
    setup, expr = split_source(src)
    namespace = keras_namespace()
    exec(setup, namespace)
    layer = eval(expr, namespace)
    if jit:
        spec = [keras.KerasTensor(a.shape, dtype="float32") for a in (x if isinstance(x, list) else [x])]
        layer(spec if isinstance(x, list) else spec[0])
        call = tf.function(lambda v: layer(v, training=False), jit_compile=True)
    else:
        layer(x)
        call = lambda v: layer(v, training=False)  # noqa: E731
    randomise_keras(layer, seed)
    expected = np.asarray(call(x))

    module, code = translate(src)
    module.eval()
    with torch.no_grad():
        module(to_torch(x))  # materialise Lazy modules
    weights = rule_of(expr).weights
    if weights is not None and layer.weights:
        keras_to_torch_model(layer, module)  # the product's transfer (Keras original): the rule's converter
    with torch.no_grad():
        got = module(to_torch(x)).numpy()
    assert_close(expected, got, f"{src}\n{code}", atol, rtol)


def case(src, shapes, **options):
    return pytest.param(src, shapes, options, id=src.replace("\n", "; "))


# --- convolutions -------------------------------------------------------------------------------
CF = 'data_format="channels_first"'
CONV_CASES = [
    case("layers.Conv1D(6, 3)", (2, 11, 4)),
    case("layers.Conv1D(6, 3, strides=2, padding='same')", (2, 11, 4)),
    case("layers.Conv1D(6, 4, strides=2, padding='same')", (2, 10, 4)),
    case("layers.Conv1D(6, 4, padding='same', dilation_rate=2)", (2, 10, 4)),
    case("layers.Conv1D(6, 3, padding='causal', dilation_rate=2, activation='tanh')", (2, 10, 4)),
    case("layers.Conv1D(6, 3, groups=2, use_bias=False)", (2, 9, 4)),
    case(f"layers.Conv1D(5, 3, strides=2, padding='same', {CF})", (2, 4, 11), jit=True),
    case(f"layers.Conv1D(5, 3, padding='causal', {CF})", (2, 4, 9), jit=True),
    case("layers.Conv2D(8, 3)", (2, 7, 9, 3)),
    case("layers.Conv2D(8, 3, padding='same', activation='relu')", (2, 7, 9, 3)),
    case("layers.Conv2D(8, 4, padding='same')", (2, 7, 8, 3)),
    case("layers.Conv2D(8, 3, strides=2, padding='same')", (2, 9, 10, 3)),
    case("layers.Conv2D(8, 3, strides=2, padding='same')", (2, 8, 7, 3)),
    case("layers.Conv2D(8, (3, 5), strides=(2, 1), padding='same')", (2, 8, 9, 3)),
    case("layers.Conv2D(8, 2, strides=2, padding='same')", (2, 7, 8, 3)),
    case("layers.Conv2D(8, 3, strides=3)", (2, 10, 11, 3)),
    case("layers.Conv2D(8, 3, dilation_rate=2, padding='same')", (2, 9, 9, 3)),
    case("layers.Conv2D(8, 3, groups=2, use_bias=False)", (2, 6, 7, 4)),
    case(f"layers.Conv2D(6, 3, {CF})", (2, 3, 7, 9), jit=True),
    case(f"layers.Conv2D(6, 3, strides=2, padding='same', {CF})", (2, 3, 8, 9), jit=True),
    case(f"layers.Conv2D(6, 3, padding='same', activation='sigmoid', {CF})", (2, 3, 7, 9), jit=True),
    case("layers.Conv3D(4, 3)", (1, 5, 6, 7, 2)),
    case("layers.Conv3D(4, 3, strides=2, padding='same')", (1, 5, 6, 7, 2)),
    case(f"layers.Conv3D(4, (1, 3, 3), strides=(1, 2, 2), padding='same', {CF})", (1, 2, 4, 7, 9), jit=True),
    case("layers.DepthwiseConv1D(3)", (2, 9, 4)),
    case("layers.DepthwiseConv1D(4, strides=2, padding='same', depth_multiplier=2)", (2, 9, 4)),
    case("layers.DepthwiseConv2D(3)", (2, 7, 8, 3)),
    case("layers.DepthwiseConv2D(3, depth_multiplier=2, padding='same')", (2, 7, 8, 3)),
    case("layers.DepthwiseConv2D(3, strides=2, padding='same', use_bias=False)", (2, 8, 9, 3)),
    case("layers.DepthwiseConv2D((3, 5), dilation_rate=2, activation='relu6')", (2, 9, 11, 3)),
    case(f"layers.DepthwiseConv2D(3, strides=2, padding='same', depth_multiplier=3, {CF})", (2, 3, 8, 9), jit=True),
    case("layers.SeparableConv1D(5, 3, padding='same')", (2, 9, 4)),
    case("layers.SeparableConv2D(6, 3)", (2, 7, 8, 3)),
    case(
        "layers.SeparableConv2D(6, 3, strides=2, padding='same', depth_multiplier=2, activation='relu')", (2, 8, 9, 3)
    ),
    case(f"layers.SeparableConv2D(6, 3, padding='same', {CF})", (2, 3, 7, 9), jit=True),
    case("layers.Conv1DTranspose(3, 3, strides=2)", (2, 6, 4)),
    case("layers.Conv1DTranspose(3, 4, strides=2, padding='same')", (2, 6, 4)),
    case("layers.Conv1DTranspose(3, 2, strides=3)", (2, 5, 4)),  # kernel < stride
    case("layers.Conv2DTranspose(3, 2, strides=2)", (2, 5, 6, 4)),
    case("layers.Conv2DTranspose(3, 3, strides=2, padding='same')", (2, 5, 6, 4)),
    case("layers.Conv2DTranspose(3, 4, strides=2, padding='same')", (2, 5, 6, 4)),
    case("layers.Conv2DTranspose(3, 3, strides=2, output_padding=1)", (2, 5, 6, 4)),
    case("layers.Conv2DTranspose(3, 3, strides=2, padding='same', output_padding=1)", (2, 5, 6, 4)),
    case("layers.Conv2DTranspose(3, 5, strides=3, padding='same', output_padding=2)", (2, 4, 5, 4)),
    case("layers.Conv2DTranspose(3, 1, strides=3, use_bias=False)", (2, 4, 5, 4)),
    case("layers.Conv2DTranspose(3, (3, 5), strides=(2, 1), padding='same', activation='relu')", (2, 5, 6, 4)),
    case("layers.Conv2DTranspose(3, 3, dilation_rate=2)", (2, 5, 6, 4), jit=True),
    case("layers.Conv2DTranspose(3, 3, dilation_rate=2, padding='same')", (2, 5, 6, 4), jit=True),
    case(f"layers.Conv2DTranspose(3, 3, strides=2, padding='same', {CF})", (2, 4, 5, 6), jit=True),
    case(f"layers.Conv2DTranspose(5, 2, strides=2, {CF})", (2, 4, 5, 6), jit=True),
    case("layers.Conv3DTranspose(3, 2, strides=2)", (1, 3, 4, 3, 2)),
    case("layers.Conv3DTranspose(3, 3, strides=2, padding='same')", (1, 3, 4, 3, 2)),
    case("k = 3\nlayers.Conv2D(8, k, strides=2, padding='same')", (2, 9, 9, 3)),
    case("p = 'same'\nlayers.Conv2D(8, 3, padding=p)", (2, 6, 7, 3)),
]


@pytest.mark.parametrize("src,shapes,options", CONV_CASES)
def test_convolution(src, shapes, options):
    check_layer(src, shapes, **options)


# --- pooling ------------------------------------------------------------------------------------
POOL_CASES = []
for _kind in ("MaxPooling", "AveragePooling"):
    POOL_CASES += [
        case(f"layers.{_kind}1D(2)", (2, 9, 3)),
        case(f"layers.{_kind}1D(3, strides=2, padding='same')", (2, 10, 3)),
        case(f"layers.{_kind}1D(2, padding='same')", (2, 9, 3)),
        case(f"layers.{_kind}1D(3, strides=1, padding='same', {CF})", (2, 3, 10), jit=True),
        case(f"layers.{_kind}2D(2)", (2, 8, 9, 3)),
        case(f"layers.{_kind}2D(3, strides=2)", (2, 9, 10, 3)),
        case(f"layers.{_kind}2D(3, strides=2, padding='same')", (2, 9, 10, 3)),
        case(f"layers.{_kind}2D(2, padding='same')", (2, 7, 8, 3)),
        case(f"layers.{_kind}2D(3, strides=1, padding='same')", (2, 6, 7, 3)),
        case(f"layers.{_kind}2D((2, 3), strides=(1, 2), padding='same')", (2, 6, 7, 3)),
        case(f"layers.{_kind}2D(3, strides=2, {CF})", (2, 3, 9, 10), jit=True),
        case(f"layers.{_kind}2D(3, strides=2, padding='same', {CF})", (2, 3, 8, 9), jit=True),
        case(f"layers.{_kind}3D(2)", (1, 4, 5, 6, 2)),
        case(f"layers.{_kind}3D(3, strides=2, padding='same')", (1, 5, 6, 7, 2)),
        case(f"layers.{_kind}3D(2, padding='same', {CF})", (1, 2, 5, 6, 7), jit=True),
    ]
POOL_CASES.append(case("layers.MaxPooling2D()", (2, 8, 9, 3)))
for _kind in ("Average", "Max"):
    for _rank in (1, 2, 3):
        _shape = (2,) + (5, 6, 4)[:_rank] + (3,)
        _cf_shape = (2, 3) + (5, 6, 4)[:_rank]
        POOL_CASES += [
            case(f"layers.Global{_kind}Pooling{_rank}D()", _shape),
            case(f"layers.Global{_kind}Pooling{_rank}D(keepdims=True)", _shape),
            case(f"layers.Global{_kind}Pooling{_rank}D({CF})", _cf_shape, jit=True),
            case(f"layers.Global{_kind}Pooling{_rank}D(keepdims=True, {CF})", _cf_shape, jit=True),
        ]


@pytest.mark.parametrize("src,shapes,options", POOL_CASES)
def test_pooling(src, shapes, options):
    check_layer(src, shapes, **options)


# --- reshaping ----------------------------------------------------------------------------------
RESHAPE_CASES = [
    case("layers.Flatten()", (2, 3, 4, 5)),
    case(f"layers.Flatten({CF})", (2, 3, 4, 5)),
    case("layers.Reshape((4, 15))", (2, 3, 4, 5)),
    case("layers.Reshape((-1, 6))", (2, 3, 4, 3)),
    case("layers.Permute((2, 1))", (2, 3, 4)),
    case("layers.Permute((3, 1, 2))", (2, 3, 4, 5)),
    case("layers.ZeroPadding1D()", (2, 5, 3)),
    case("layers.ZeroPadding1D((1, 3))", (2, 5, 3)),
    case(f"layers.ZeroPadding1D(2, {CF})", (2, 3, 5)),
    case("layers.ZeroPadding2D()", (2, 4, 5, 3)),
    case("layers.ZeroPadding2D((1, 2))", (2, 4, 5, 3)),
    case("layers.ZeroPadding2D(((0, 1), (2, 3)))", (2, 4, 5, 3)),
    case(f"layers.ZeroPadding2D(((0, 1), (2, 3)), {CF})", (2, 3, 4, 5)),
    case("p = ((1, 0), (0, 2))\nlayers.ZeroPadding2D(p)", (2, 4, 5, 3)),
    case("layers.ZeroPadding3D()", (1, 3, 4, 5, 2)),
    case("layers.ZeroPadding3D(((0, 1), (1, 2), (2, 0)))", (1, 3, 4, 5, 2)),
    case(f"layers.ZeroPadding3D((1, 2, 3), {CF})", (1, 2, 3, 4, 5)),
    case("layers.Cropping1D()", (2, 6, 3)),
    case("layers.Cropping1D((2, 0))", (2, 6, 3)),
    case("layers.Cropping1D(1)", (2, 6, 3)),
    case("layers.Cropping2D(((1, 2), (0, 3)))", (2, 6, 7, 3)),
    case("layers.Cropping2D((1, 2))", (2, 6, 7, 3)),
    case("layers.Cropping2D(1)", (2, 6, 7, 3)),
    case(f"layers.Cropping2D(((1, 0), (2, 1)), {CF})", (2, 3, 6, 7)),
    case("layers.Cropping3D()", (1, 4, 5, 6, 2)),
    case("layers.Cropping3D(((0, 1), (1, 1), (2, 0)))", (1, 4, 5, 6, 2)),
    case("layers.UpSampling1D()", (2, 5, 3)),
    case("layers.UpSampling1D(3)", (2, 5, 3)),
    case("layers.UpSampling2D()", (2, 4, 5, 3)),
    case("layers.UpSampling2D((2, 3))", (2, 4, 5, 3)),
    case("layers.UpSampling2D(2, interpolation='bilinear')", (2, 4, 5, 3)),
    case("layers.UpSampling2D((3, 2), interpolation='bilinear')", (2, 4, 5, 3)),
    case(f"layers.UpSampling2D(2, interpolation='bilinear', {CF})", (2, 3, 4, 5), jit=True),
    case(f"layers.UpSampling2D((2, 3), {CF})", (2, 3, 4, 5)),
    case("layers.UpSampling3D()", (1, 2, 3, 4, 2)),
    case(f"layers.UpSampling3D((1, 2, 3), {CF})", (1, 2, 2, 3, 4)),
    case("layers.RepeatVector(3)", (2, 5)),
    case("layers.Identity()", (2, 5)),
]


@pytest.mark.parametrize("src,shapes,options", RESHAPE_CASES)
def test_reshaping(src, shapes, options):
    check_layer(src, shapes, **options)


# --- merging ------------------------------------------------------------------------------------
MERGE_CASES = [
    case("layers.Add()", [(2, 4, 5), (2, 4, 5)]),
    case("layers.Add()", [(2, 4, 5), (2, 4, 5), (2, 4, 5)]),
    case("layers.Add()", [(2, 4, 5), (2, 1, 5)]),
    case("layers.Subtract()", [(2, 4, 5), (2, 4, 5)]),
    case("layers.Multiply()", [(2, 4, 5), (2, 4, 5), (2, 4, 5)]),
    case("layers.Average()", [(2, 4, 5), (2, 4, 5), (2, 4, 5)]),
    case("layers.Maximum()", [(2, 4, 5), (2, 4, 5)]),
    case("layers.Minimum()", [(2, 4, 5), (2, 4, 5), (2, 4, 5)]),
    case("layers.Concatenate()", [(2, 4, 5), (2, 4, 3)]),
    case("layers.Concatenate(axis=1)", [(2, 4, 5), (2, 2, 5)]),
    case("layers.Concatenate(axis=-2)", [(2, 4, 5), (2, 2, 5)]),
    case("layers.Dot(axes=1)", [(2, 5), (2, 5)]),
    case("layers.Dot(axes=1, normalize=True)", [(2, 5), (2, 5)]),
    case("layers.Dot(axes=(2, 2))", [(2, 3, 5), (2, 4, 5)]),
    case("layers.Dot(axes=(1, 1))", [(2, 3, 5), (2, 3, 4)]),
    case("layers.Dot(axes=(2, 1))", [(2, 3, 5), (2, 5, 4)]),
    case("layers.Dot(axes=2, normalize=True)", [(2, 3, 5), (2, 4, 5)]),
]


@pytest.mark.parametrize("src,shapes,options", MERGE_CASES)
def test_merging(src, shapes, options):
    check_layer(src, shapes, **options)


FUNCTIONAL_MERGES = [
    ("layers.add([a, b])", "add"),
    ("layers.subtract([a, b])", "sub"),
    ("layers.multiply([a, b])", "mul"),
    ("layers.average([a, b])", "avg"),
    ("layers.maximum([a, b])", "max"),
    ("layers.minimum([a, b])", "min"),
    ("layers.concatenate([a, b])", "cat"),
    ("layers.concatenate([a, b], axis=1)", "cat1"),
    ("layers.dot([a, b], axes=2)", "dot"),
    ("layers.dot([a, b], axes=2, normalize=True)", "dotn"),
]


@pytest.mark.parametrize("expr,_id", FUNCTIONAL_MERGES, ids=[f[1] for f in FUNCTIONAL_MERGES])
def test_functional_merge(expr, _id):
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((2, 3, 4)).astype(np.float32) for _ in range(2))
    ns = keras_namespace()
    expected = np.asarray(eval(expr, {**ns, "a": tf.constant(a), "b": tf.constant(b)}))
    result = fwtranslate.translate(f"{PRELUDE}def f(a, b):\n    return {expr}\n", to="torch")
    assert result.ok, [d.format() for d in result.diagnostics]
    namespace: dict = {}
    exec(compile(result.code, "<translation>", "exec"), namespace)
    got = namespace["f"](torch.from_numpy(a), torch.from_numpy(b)).numpy()
    assert_close(expected, got, f"{expr}\n{result.code}")


# --- activations --------------------------------------------------------------------------------
def wide(*shape, scale=4.0):
    return lambda rng: (rng.standard_normal(shape) * scale).astype(np.float32)


ACTIVATION_NAMES = [
    "relu",
    "relu6",
    "sigmoid",
    "tanh",
    "softmax",
    "log_softmax",
    "gelu",
    "silu",
    "swish",
    "elu",
    "selu",
    "softplus",
    "softsign",
    "mish",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "leaky_relu",
    "celu",
    "hard_tanh",
    "hard_shrink",
    "soft_shrink",
    "tanh_shrink",
    "log_sigmoid",
    "glu",
    "linear",
    "exponential",
]
ACTIVATION_CASES = [case(f"layers.Activation('{n}')", None, inputs=wide(2, 3, 6, scale=3.0)) for n in ACTIVATION_NAMES]
ACTIVATION_CASES += [
    case("a = 'gelu'\nlayers.Activation(a)", None, inputs=wide(2, 3, 6)),
    case("a = 'swish'\nlayers.Activation(a)", None, inputs=wide(2, 3, 6)),  # runtime name (KerasActivation)
    case("layers.Activation(activations.gelu)", None, inputs=wide(2, 3, 6)),
    case("layers.Activation(activations.relu)", None, inputs=wide(2, 3, 6)),
    case("layers.Dense(4, activation='gelu')", None, inputs=wide(2, 5, scale=1.0)),
    case("layers.ReLU()", None, inputs=wide(2, 3, 4)),
    case("layers.ReLU(6.0)", None, inputs=wide(2, 3, 4)),
    case("layers.ReLU(max_value=1.5, negative_slope=0.1, threshold=0.5)", None, inputs=wide(2, 3, 4)),
    case("layers.ReLU(max_value=0.5, negative_slope=0.1, threshold=1.0)", None, inputs=wide(2, 3, 4)),
    case("layers.ReLU(negative_slope=0.2)", None, inputs=wide(2, 3, 4)),
    case("layers.ReLU(threshold=1.0)", None, inputs=wide(2, 3, 4)),
    case("layers.ReLU(max_value=6, negative_slope=0.3)", None, inputs=wide(2, 3, 4)),
    case("layers.LeakyReLU()", None, inputs=wide(2, 3, 4)),
    case("layers.LeakyReLU(negative_slope=0.05)", None, inputs=wide(2, 3, 4)),
    case("layers.PReLU()", None, inputs=wide(2, 3, 4)),
    case("layers.PReLU(shared_axes=[1, 2])", None, inputs=wide(2, 3, 4, 5)),
    case("layers.PReLU(alpha_initializer='ones', shared_axes=1)", None, inputs=wide(2, 3, 4)),
    case("layers.ELU()", None, inputs=wide(2, 3, 4)),
    case("layers.ELU(alpha=0.5)", None, inputs=wide(2, 3, 4)),
    case("layers.Softmax()", None, inputs=wide(2, 3, 4)),
    case("layers.Softmax(axis=1)", None, inputs=wide(2, 3, 4)),
]


@pytest.mark.parametrize("src,shapes,options", ACTIVATION_CASES)
def test_activation_layer(src, shapes, options):
    check_layer(src, shapes, **options)


ACTIVATION_FUNCTIONS = [
    "activations.relu(x)",
    "activations.relu(x, max_value=6.0)",
    "activations.relu(x, negative_slope=0.1, max_value=2.0, threshold=-0.5)",
    "activations.relu(x, threshold=1.0)",
    "activations.relu(x, negative_slope=0.2)",
    "activations.relu(x, max_value=6, negative_slope=0.1)",
    "activations.relu6(x)",
    "activations.sigmoid(x)",
    "activations.tanh(x)",
    "activations.softmax(x)",
    "activations.softmax(x, axis=1)",
    "activations.log_softmax(x)",
    "activations.log_softmax(x, axis=0)",
    "activations.gelu(x)",
    "activations.gelu(x, approximate=True)",
    "activations.silu(x)",
    "activations.swish(x)",
    "activations.elu(x)",
    "activations.elu(x, alpha=0.3)",
    "activations.selu(x)",
    "activations.softplus(x)",
    "activations.softsign(x)",
    "activations.mish(x)",
    "activations.hard_sigmoid(x)",
    "activations.hard_silu(x)",
    "activations.hard_swish(x)",
    "activations.leaky_relu(x)",
    "activations.leaky_relu(x, negative_slope=0.1)",
    "activations.exponential(x)",
    "activations.linear(x)",
    "activations.celu(x)",
    "activations.celu(x, alpha=2.0)",
    "activations.glu(x)",
    "activations.glu(x, axis=1)",
    "activations.hard_tanh(x)",
    "activations.hard_shrink(x)",
    "activations.hard_shrink(x, threshold=1.0)",
    "activations.soft_shrink(x)",
    "activations.soft_shrink(x, threshold=0.2)",
    "activations.tanh_shrink(x)",
    "activations.log_sigmoid(x)",
    "activations.threshold(x, 0.5, -1.0)",
]


@pytest.mark.parametrize("expr", ACTIVATION_FUNCTIONS)
def test_activation_function(expr):
    x = (np.random.default_rng(1).standard_normal((3, 4, 6)) * 3).astype(np.float32)
    expected = np.asarray(eval(expr, {**keras_namespace(), "x": tf.constant(x)}))
    result = fwtranslate.translate(f"{PRELUDE}def f(x):\n    return {expr}\n", to="torch")
    assert result.ok, [d.format() for d in result.diagnostics]
    namespace: dict = {}
    exec(compile(result.code, "<translation>", "exec"), namespace)
    got = namespace["f"](torch.from_numpy(x)).numpy()
    assert_close(expected, got, f"{expr}\n{result.code}")


# --- regularization (evaluation: the identity; training: distribution checks) -------------------
REGULARIZATION_CASES = [
    case("layers.Dropout(0.5)", (2, 3, 4)),
    case("layers.SpatialDropout1D(0.3)", (2, 5, 3)),
    case("layers.SpatialDropout2D(0.3)", (2, 4, 5, 3)),
    case(f"layers.SpatialDropout2D(0.3, {CF})", (2, 3, 4, 5)),
    case("layers.SpatialDropout3D(0.3)", (1, 2, 3, 4, 2)),
    case("layers.GaussianNoise(0.5)", (2, 3, 4)),
    case("layers.GaussianDropout(0.4)", (2, 3, 4)),
    case("layers.AlphaDropout(0.2)", (2, 3, 4)),
    case("layers.ActivityRegularization()", (2, 3, 4)),
]


@pytest.mark.parametrize("src,shapes,options", REGULARIZATION_CASES)
def test_regularization_eval(src, shapes, options):
    check_layer(src, shapes, **options)


@pytest.mark.parametrize(
    "src,mean,std",
    [
        ("layers.Dropout(0.5)", 1.0, 1.0),  # kept values scaled by 2: mean 1, variance 1
        ("layers.GaussianNoise(0.5)", 1.0, 0.5),
        ("layers.GaussianDropout(0.2)", 1.0, 0.5),  # sqrt(0.2 / 0.8)
    ],
)
def test_regularization_training_distribution(src, mean, std):
    """In training mode the translated layer draws the same noise distribution as Keras."""
    x = np.ones((200, 500), np.float32)
    ns = keras_namespace()
    keras_out = np.asarray(eval(src, ns)(x, training=True))
    module, _ = translate(src)
    torch_out = module.train()(torch.from_numpy(x)).detach().numpy()
    for out in (keras_out, torch_out):
        assert abs(out.mean() - mean) < 0.02 and abs(out.std() - std) < 0.02, (out.mean(), out.std())


def test_spatial_dropout_drops_whole_channels():
    module, _ = translate("layers.SpatialDropout2D(0.5)")
    out = module.train()(torch.ones(4, 6, 7, 16)).detach().numpy()
    per_channel = out.reshape(4, -1, 16)
    assert np.all(per_channel.min(axis=1) == per_channel.max(axis=1))  # one value per (sample, channel)


# --- preprocessing ------------------------------------------------------------------------------
PREPROCESSING_CASES = [
    case("layers.Rescaling(1.0 / 255)", None, inputs=lambda rng: rng.integers(0, 256, (2, 4, 5, 3)).astype(np.float32)),
    case("layers.Rescaling(2.0, offset=-1.0)", (2, 4, 3)),
    case("layers.Rescaling([1.0, 2.0, 3.0], offset=[0.0, 1.0, -1.0])", (2, 4, 3)),
    case("layers.Normalization(mean=[0.5, 0.4, 0.3], variance=[0.25, 0.09, 4.0])", (2, 4, 5, 3)),
    case("layers.Normalization(axis=None, mean=3.0, variance=4.0)", (2, 4, 3)),
    case("layers.Normalization(mean=[0.5, 0.4, 0.3], variance=[0.25, 0.09, 4.0], invert=True)", (2, 4, 3)),
    case("layers.Normalization(axis=1, mean=[1.0, 2.0, 3.0, 4.0], variance=[1.0, 2.0, 0.5, 0.0])", (2, 4, 3)),
    case(
        "layers.Normalization(axis=(1, 2), mean=[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0], [9.0, 10.0, 11.0]], "
        "variance=[[1.0, 2.0, 3.0]] * 4)",
        (2, 4, 3),
    ),
    case("layers.Normalization(axis=(1, 2), mean=[1.0, 2.0, 3.0], variance=[1.0, 4.0, 9.0])", (2, 4, 3)),
    case("layers.Resizing(8, 10)", (2, 4, 5, 3)),
    case("layers.Resizing(3, 4)", (2, 7, 9, 3)),
    case("layers.Resizing(8, 10, interpolation='nearest')", (2, 4, 5, 3)),
    case("layers.Resizing(3, 4, interpolation='nearest')", (2, 7, 9, 3)),
    case("layers.Resizing(3, 4, antialias=True)", (2, 7, 9, 3), atol=1e-4),
    case(f"layers.Resizing(6, 7, {CF})", (2, 3, 4, 5), jit=True),
    case("layers.CenterCrop(3, 4)", (2, 6, 7, 3)),
    case("layers.CenterCrop(4, 4)", (2, 7, 8, 3)),
    case(f"layers.CenterCrop(3, 2, {CF})", (2, 3, 6, 5)),
]


@pytest.mark.parametrize("src,shapes,options", PREPROCESSING_CASES)
def test_preprocessing(src, shapes, options):
    check_layer(src, shapes, **options)
