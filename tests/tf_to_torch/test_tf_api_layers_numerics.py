"""Numerics of the Keras -> PyTorch rules added for the API surface of keras.layers,
keras.activations, keras.initializers, keras.regularizers and keras.constraints
(rules/tf_to_torch/layers_extra.yaml, layers_regularizers.yaml, the new activations).

Each case is Keras source. The real Keras object is built and run (TensorFlow backend); the
same source goes through the translator (``to="torch"``), the translation runs on the same
inputs (with the Keras layer's weights copied where it has any) and must give the same result.
The rule examples (test_rule_examples.py) check the translated text; these check its meaning.
"""

from __future__ import annotations

import ast
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

torch = pytest.importorskip("torch")
tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from helpers import translate_and_exec

PRELUDE = "import keras\nfrom keras import layers, ops, activations, initializers, regularizers, constraints\n"
KERAS_NAMES = {
    "keras": keras,
    "layers": keras.layers,
    "ops": keras.ops,
    "activations": keras.activations,
    "initializers": keras.initializers,
    "regularizers": keras.regularizers,
    "constraints": keras.constraints,
}
ATOL, RTOL = 1e-5, 1e-4


def translate_value(expr: str, name: str = "value"):
    """The translation of ``name = expr`` run: (its value, the translated code)."""
    namespace, code = translate_and_exec(f"{PRELUDE}{name} = {expr}\n", "torch")
    imported = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert not imported & {"keras", "tensorflow"}, code
    return namespace[name], code


def keras_value(expr: str):
    return eval(expr, dict(KERAS_NAMES))


def to_numpy(value):
    if isinstance(value, torch.Tensor):
        return value.detach().numpy()
    return keras.ops.convert_to_numpy(value)


def assert_close(want, got, code, atol=ATOL, rtol=RTOL):
    want, got = np.asarray(to_numpy(want)), np.asarray(to_numpy(got))
    assert want.shape == got.shape, f"shape: Keras {want.shape}, torch {got.shape}\n{code}"
    if np.issubdtype(want.dtype, np.integer):
        assert np.issubdtype(got.dtype, np.integer), f"dtype: Keras {want.dtype}, torch {got.dtype}\n{code}"
        np.testing.assert_array_equal(got, want, err_msg=code)
    else:
        assert got.dtype == want.dtype, f"dtype: Keras {want.dtype}, torch {got.dtype}\n{code}"
        np.testing.assert_allclose(got, want, atol=atol, rtol=rtol, err_msg=code)


def randn(*shape, scale=1.0):
    return lambda rng: (rng.standard_normal(shape) * scale).astype(np.float32)


# --- functions and callables: keras.activations, keras.regularizers, keras.constraints -----------
# (expression of a callable, input maker): Keras' callable and the translation's on one input
CALLABLE_CASES = [
    ("activations.sparse_plus", randn(3, 7, scale=2.0)),
    ("activations.sparse_sigmoid", randn(3, 7, scale=2.0)),
    ("activations.squareplus", randn(3, 7, scale=2.0)),
    ("lambda x: activations.squareplus(x, b=1)", randn(3, 7, scale=2.0)),
    ("activations.sparsemax", randn(4, 6, scale=2.0)),
    ("lambda x: activations.sparsemax(x, axis=1)", randn(2, 5, 3, scale=2.0)),
    ("activations.get('relu')", randn(3, 4)),
    ("activations.get('hard_silu')", randn(3, 4, scale=3.0)),
    ("activations.get(None)", randn(3, 4)),
    ("regularizers.L1(0.02)", randn(4, 5)),
    ("regularizers.l1()", randn(4, 5)),
    ("regularizers.L2(1e-3)", randn(4, 5)),
    ("regularizers.l2()", randn(3, 3, 2)),
    ("regularizers.L1L2(l1=0.01, l2=0.02)", randn(4, 5)),
    ("regularizers.l1_l2(l2=0.1)", randn(4, 5)),
    ("regularizers.L1L2()", randn(4, 5)),
    ("regularizers.OrthogonalRegularizer(factor=0.1)", randn(4, 6)),
    ("regularizers.orthogonal_regularizer(mode='columns')", randn(6, 4)),
    ("regularizers.get('l2')", randn(4, 5)),
    ("regularizers.get('l1l2')", randn(4, 5)),
    ("regularizers.get('L1')", randn(4, 5)),
    ("constraints.MaxNorm(1.0)", randn(5, 4)),
    ("constraints.max_norm(2, axis=[0, 1, 2])", randn(3, 3, 2, 4)),
    ("constraints.MaxNorm(0.5, axis=1)", randn(5, 4)),
    ("constraints.MinMaxNorm(0.5, 2.0, rate=0.5)", randn(5, 4, scale=2.0)),
    ("constraints.min_max_norm()", randn(5, 4, scale=2.0)),
    ("constraints.NonNeg()", randn(5, 4)),
    ("constraints.non_neg()", randn(5, 4)),
    ("constraints.UnitNorm(axis=1)", randn(5, 4)),
    ("constraints.unit_norm()", randn(5, 4)),
    ("constraints.get('unit_norm')", randn(5, 4)),
    ("constraints.get('MaxNorm')", randn(5, 4, scale=3.0)),
]


@pytest.mark.parametrize("expr,make", CALLABLE_CASES, ids=[c[0] for c in CALLABLE_CASES])
def test_callable(expr, make):
    x = make(np.random.default_rng(0))
    function, code = translate_value(expr)
    want = keras_value(expr)(tf.constant(x))
    with torch.no_grad():
        got = function(torch.from_numpy(x))
    assert_close(want, got, code)


@pytest.mark.parametrize(
    "expr",
    ["initializers.get('zeros')", "initializers.get('Ones')", "initializers.get('Identity')"],
)
def test_initializer_get_deterministic(expr):
    initializer, code = translate_value(expr)
    assert_close(keras_value(expr)((3, 3)), initializer((3, 3)), code)


def test_initializer_get_errors():
    """Names Keras refuses (Constant needs its value; an unknown name) are refused too."""
    for expr in ("initializers.get('constant')", "initializers.get('no_such_init')"):
        with pytest.raises((KeyError, ValueError)):
            keras_value(expr)
        with pytest.raises(ValueError):
            translate_value(expr)


@pytest.mark.parametrize(
    "name,limit",
    [("he_uniform", np.sqrt(6 / 64)), ("GlorotUniform", np.sqrt(6 / (64 + 32))), ("uniform", 0.05)],
)
def test_initializer_get_random(name, limit):
    """Random initializers match Keras' distribution (not its draws): the same bound, filled."""
    expr = f"initializers.get({name!r})"
    initializer, _ = translate_value(expr)
    want = to_numpy(keras_value(expr)((64, 32)))
    got = to_numpy(initializer((64, 32)))
    assert got.shape == want.shape
    for values in (want, got):
        assert np.abs(values).max() <= limit and np.abs(values).max() > 0.9 * limit


def test_custom_base_classes():
    """A user regularizer / constraint / initializer class keeps working on its torch base."""
    source = (
        f"{PRELUDE}"
        "class Scaled(keras.regularizers.Regularizer):\n"
        "    def __call__(self, x):\n"
        "        return 0.5 * ops.sum(x)\n"
        "class Clip(keras.constraints.Constraint):\n"
        "    def __call__(self, w):\n"
        "        return ops.clip(w, -0.1, 0.1)\n"
        "class Fill(keras.initializers.Initializer):\n"
        "    def __call__(self, shape, dtype=None):\n"
        "        return ops.ones(shape) * 3.0\n"
    )
    namespace, _ = translate_and_exec(source, "torch")
    x = torch.arange(6.0).reshape(2, 3) / 10
    assert float(namespace["Scaled"]()(x)) == pytest.approx(0.75)
    assert torch.equal(namespace["Clip"]()(x), torch.clamp(x, -0.1, 0.1))
    assert torch.equal(namespace["Fill"]()((2, 2)), torch.full((2, 2), 3.0))


# --- layers ------------------------------------------------------------------------------------
def copy_keras_weights(layer, module):
    """The Keras layer's variables into the torch module's parameters, in order, each the same
    name and shape (the support layers here keep Keras' names, shapes and creation order)."""
    params = list(module.named_parameters())
    assert len(params) == len(layer.weights), f"Keras {[v.path for v in layer.weights]}, torch {[n for n, _ in params]}"
    for v, (name, p) in zip(layer.weights, params):
        assert name.rsplit(".", 1)[-1] == v.path.rsplit("/", 1)[-1], f"Keras {v.path} -> torch {name}"
        with torch.no_grad():
            p.copy_(torch.from_numpy(np.asarray(v.numpy())))


def flat(value):
    if isinstance(value, (list, tuple)):
        return [leaf for v in value for leaf in flat(v)]
    return [value]


def check_layer(expr, make, seed=0, atol=ATOL, call=""):
    """Keras layer ``expr`` vs its translation on ``make(rng)`` (an array, or a tuple of positional
    arguments, arrays or nested lists of arrays); ``call``: extra keyword arguments, as source."""
    rng = np.random.default_rng(seed)
    args = make(rng)
    args = args if isinstance(args, tuple) else (args,)
    tf_args = [[tf.constant(a) for a in v] if isinstance(v, list) else tf.constant(v) for v in args]
    torch_args = [[torch.from_numpy(a) for a in v] if isinstance(v, list) else torch.from_numpy(v) for v in args]
    kwargs = eval(f"dict({call})")
    layer = keras_value(expr)
    layer(*tf_args, **kwargs)  # builds the weights
    for v in layer.weights:
        v.assign((rng.standard_normal(tuple(v.shape)) * 0.5).astype(np.float32))
    module, code = translate_value(expr, "layer")
    module.eval()
    with torch.no_grad():
        module(*torch_args, **kwargs)  # materialises lazy parameters
    copy_keras_weights(layer, module)
    want = layer(*tf_args, **kwargs, training=False)
    with torch.no_grad():
        got = module(*torch_args, **kwargs)
    want, got = flat(want), flat(got)
    assert len(want) == len(got), f"{len(want)} Keras outputs, {len(got)} torch outputs\n{code}"
    for w, g in zip(want, got):
        assert_close(w, g, f"{expr}\n{code}", atol=atol)


def ints(*shape, high=5):
    return lambda rng: rng.integers(0, high, shape).astype(np.int64)


def masked_steps(rng):
    x = rng.standard_normal((3, 5, 4)).astype(np.float32)
    x[0, 1] = 0.0
    x[2, 3:] = 0.0
    x[1, 2, :2] = 0.0  # partly zero: kept
    return x


LAYER_CASES = [
    ("layers.AdaptiveAveragePooling1D(3)", randn(2, 7, 4)),
    ("layers.AdaptiveAveragePooling1D(4, data_format='channels_first')", randn(2, 3, 10)),
    ("layers.AdaptiveAveragePooling2D((2, 3))", randn(2, 7, 8, 3)),
    ("layers.AdaptiveAveragePooling2D(3, data_format='channels_first')", randn(2, 3, 7, 5)),
    ("layers.AdaptiveAveragePooling3D(2)", randn(1, 5, 4, 6, 2)),
    ("layers.AdaptiveMaxPooling1D(3)", randn(2, 7, 4)),
    ("layers.AdaptiveMaxPooling2D((2, 2))", randn(2, 7, 9, 3)),
    ("layers.AdaptiveMaxPooling2D(3, data_format='channels_first')", randn(2, 3, 8, 7)),
    ("layers.AdaptiveMaxPooling3D((1, 2, 3))", randn(1, 3, 5, 7, 2)),
    ("keras.Sequential([layers.InputLayer(shape=(4,)), layers.ReLU()])", randn(3, 4)),
    ("layers.Lambda(lambda t: ops.mean(t, axis=1))", randn(2, 5, 3)),
    ("layers.Lambda(lambda t, k: ops.relu(t) * k, arguments={'k': 0.25})", randn(2, 5)),
    ("layers.Masking()", masked_steps),
    ("layers.Pipeline([layers.ReLU(), layers.Softmax()])", randn(3, 5)),
    ("layers.TimeDistributed(layers.ReLU(max_value=0.5))", randn(2, 4, 3)),
    ("layers.TimeDistributed(layers.Flatten())", randn(2, 3, 4, 2)),
    ("layers.EinsumDense('ab,bc->ac', output_shape=8)", randn(3, 5)),
    ("layers.EinsumDense('ab,bc->ac', 6, bias_axes='c', activation='relu')", randn(3, 5)),
    ("layers.EinsumDense('abc,cde->abde', (None, 2, 4), bias_axes='de')", randn(2, 3, 5)),
    ("layers.EinsumDense('abc,cd->abd', (3, 4), bias_axes='d')", randn(2, 3, 5)),
    ("layers.EinsumDense('...b,bc->...c', 4, bias_axes='c')", randn(2, 3, 2, 5)),
    ("layers.EinsumDense('abcd,cde->abe', (3, 6))", randn(2, 3, 4, 5)),
    ("layers.CategoryEncoding(num_tokens=5, output_mode='one_hot')", ints(6)),
    ("layers.CategoryEncoding(num_tokens=5, output_mode='one_hot')", ints(6, 1)),
    ("layers.CategoryEncoding(5)", ints(4, 3)),
    ("layers.CategoryEncoding(5, output_mode='count')", ints(4, 3)),
    ("layers.CategoryEncoding(5, output_mode='multi_hot')", ints(3)),
    ("layers.CategoryEncoding(5, output_mode='count')", ints(6)),
    ("layers.Discretization(bin_boundaries=[-1.0, 0.0, 0.5])", randn(4, 5)),
    (
        "layers.Discretization(bin_boundaries=[0.0, 1.0])",
        lambda rng: np.array([[-1.0, 0.0, 0.5, 1.0, 2.0]], np.float32),
    ),
    ("layers.RandomFlip()", randn(2, 4, 5, 3)),
    ("layers.RandomFlip('vertical')", randn(4, 5, 3)),
    ("layers.RandomContrast(0.2)", randn(2, 4, 5, 3)),
    ("layers.RandomInvert()", randn(2, 4, 5, 3)),
    ("layers.RandomCrop(3, 4)", randn(2, 6, 5, 3)),
    ("layers.RandomRotation(0.2)", randn(2, 6, 5, 3)),
    ("layers.RandomZoom(0.2)", randn(2, 6, 5, 3)),
    ("layers.AutoContrast()", lambda rng: rng.uniform(40, 200, (2, 5, 4, 3)).astype(np.float32)),
    ("layers.AutoContrast(value_range=(0, 1))", lambda rng: rng.uniform(0.2, 0.7, (5, 4, 3)).astype(np.float32)),
    ("layers.AutoContrast()", lambda rng: np.full((1, 3, 3, 2), 7.0, np.float32)),
    ("layers.Solarization(0.2, 0.5)", randn(2, 4, 5, 3)),
    ("layers.RandomShear(0.2, 0.1)", randn(2, 4, 5, 3)),
    ("layers.RandomColorDegeneration(0.5)", randn(2, 4, 5, 3)),
    ("layers.RandomPosterization(4)", randn(2, 4, 5, 3)),
    ("layers.RandomSharpness(0.3)", randn(2, 4, 5, 3)),
    ("layers.RandomTranslation(0.2, 0.1)", randn(6, 5, 3)),
    ("layers.RandomGrayscale()", randn(2, 4, 5, 3)),
    ("layers.RandomHue(0.3)", randn(2, 4, 5, 3)),
    ("layers.RandomGaussianBlur()", randn(2, 4, 5, 3)),
    ("layers.RandomErasing()", randn(2, 4, 5, 3)),
    ("layers.MixUp()", randn(3, 4, 5, 3)),
    ("layers.RandomPerspective()", randn(2, 4, 5, 3)),
    ("layers.Equalization()", randn(3, 4, 5, 3)),
    ("layers.CutMix()", randn(3, 4, 5, 3)),
    ("layers.RandomSaturation(0.3)", randn(2, 4, 5, 3)),
    ("layers.RandomColorJitter(brightness_factor=0.2, hue_factor=0.2)", randn(2, 4, 5, 3)),
    ("layers.RandomBrightness((-0.1, 0.3), value_range=(0.0, 1.0))", randn(4, 5, 3)),
]


@pytest.mark.parametrize("expr,make", LAYER_CASES, ids=[c[0] for c in LAYER_CASES])
def test_layer(expr, make):
    check_layer(expr, make)


def with_states(*sizes, batch=3, features=5):
    return lambda rng: (
        rng.standard_normal((batch, features)).astype(np.float32),
        [rng.standard_normal((batch, s)).astype(np.float32) for s in sizes],
    )


def randn_args(*shapes):
    """Positional arguments: one standard normal array per shape."""
    return lambda rng: tuple(rng.standard_normal(shape).astype(np.float32) for shape in shapes)


# (expression, inputs, call keyword arguments as source)
RECURRENT_CASES = [
    ("layers.LSTMCell(4)", with_states(4, 4), ""),
    ("layers.LSTMCell(4, unit_forget_bias=False, recurrent_activation='hard_sigmoid')", with_states(4, 4), ""),
    ("layers.GRUCell(4)", with_states(4), ""),
    ("layers.GRUCell(4, reset_after=False)", with_states(4), ""),
    ("layers.GRUCell(3, use_bias=False)", with_states(3), ""),
    ("layers.SimpleRNNCell(4)", with_states(4), ""),
    ("layers.SimpleRNNCell(4, activation='relu')", with_states(4), ""),
    ("layers.RNN(layers.LSTMCell(4))", randn(2, 6, 3), ""),
    ("layers.RNN(layers.GRUCell(4), return_sequences=True, return_state=True)", randn(2, 6, 3), ""),
    ("layers.RNN(layers.SimpleRNNCell(4), return_sequences=True, go_backwards=True)", randn(2, 5, 3), ""),
    ("layers.RNN([layers.LSTMCell(4), layers.GRUCell(3)], return_state=True)", randn(2, 5, 3), ""),
    (
        "layers.RNN(layers.StackedRNNCells([layers.SimpleRNNCell(4), layers.LSTMCell(2)]), return_sequences=True)",
        randn(2, 5, 3),
        "",
    ),
    ("layers.ConvLSTM2D(3, 3)", randn(2, 4, 6, 5, 2), ""),
    ("layers.ConvLSTM2D(3, (3, 2), strides=2, padding='same', return_sequences=True)", randn(2, 3, 7, 6, 2), ""),
    ("layers.ConvLSTM2D(2, 2, return_state=True, go_backwards=True, unit_forget_bias=False)", randn(2, 3, 5, 5, 3), ""),
    (
        "layers.ConvLSTM1D(2, 2, padding='same', dilation_rate=2, return_sequences=True, return_state=True)",
        randn(2, 3, 6, 2),
        "",
    ),
    ("layers.ConvLSTM3D(2, 2, padding='same', use_bias=False)", randn(1, 2, 4, 3, 4, 2), ""),
    ("layers.GroupQueryAttention(4, 4, 2)", randn_args((2, 5, 6), (2, 7, 3)), ""),
    ("layers.GroupQueryAttention(3, 2, 1, use_gate=True)", randn_args((2, 5, 6), (2, 4, 3), (2, 4, 5)), ""),
    ("layers.GroupQueryAttention(4, 4, 4, use_bias=False)", randn_args((2, 5, 6), (2, 5, 6)), "use_causal_mask=True"),
    (
        "layers.GroupQueryAttention(2, 6, 3, sliding_window=2)",
        randn_args((2, 5, 4), (2, 5, 4)),
        "return_attention_scores=True",
    ),
    ("layers.ReversibleEmbedding(10, 4)", ints(2, 5, high=10), ""),
    ("layers.ReversibleEmbedding(10, 4)", randn(2, 3, 4), "reverse=True"),
    (
        "layers.ReversibleEmbedding(10, 4, tie_weights=False, logit_soft_cap=2.0)",
        randn(2, 3, 4, scale=3.0),
        "reverse=True",
    ),
]


@pytest.mark.parametrize("expr,make,call", RECURRENT_CASES, ids=[c[0] + c[2] for c in RECURRENT_CASES])
def test_recurrent_and_embedding(expr, make, call):
    check_layer(expr, make, call=call)


def test_input_spec():
    """A custom layer setting self.input_spec keeps working in torch (the spec becomes None)."""
    source = (
        f"{PRELUDE}"
        "class Twice(layers.Layer):\n"
        "    def __init__(self, layer, **kwargs):\n"
        "        super().__init__(**kwargs)\n"
        "        self.layer = layer\n"
        "        self.input_spec = layers.InputSpec(ndim=2)\n"
        "    def call(self, x):\n"
        "        return self.layer(self.layer(x))\n"
        "model = Twice(layers.ReLU(max_value=0.5))\n"
    )
    namespace, code = translate_and_exec(source, "torch")
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    keras_ns = dict(KERAS_NAMES)
    exec(source.split("\n", 2)[2], keras_ns)
    assert_close(keras_ns["model"](tf.constant(x)), namespace["model"](torch.from_numpy(x)), code)


def test_time_distributed_dense():
    """TimeDistributed(Dense): the wrapped layer's weights (converted by Dense's converter) per step."""
    from fwtranslate.weights import registry

    x = np.random.default_rng(1).standard_normal((2, 4, 3)).astype(np.float32)
    layer = keras.layers.TimeDistributed(keras.layers.Dense(5))
    want = layer(tf.constant(x))
    module, code = translate_value("layers.TimeDistributed(layers.Dense(5))", "layer")
    module(torch.from_numpy(x))
    registry.get("dense").keras_to_torch(layer.layer, module.layer)
    with torch.no_grad():
        assert_close(want, module(torch.from_numpy(x)), code)


@pytest.mark.parametrize("mode", ["horizontal", "vertical", "horizontal_and_vertical"])
def test_random_flip_training(mode):
    """In training every image is itself or its flip (one draw for both directions, as Keras);
    over 64 images both outcomes occur."""
    x = torch.randn(64, 3, 4, 2)
    module, _ = translate_value(f"layers.RandomFlip({mode!r})", "layer")
    module.train()
    y = module(x)
    flipped = x
    if mode != "vertical":
        flipped = flipped.flip(-2)
    if mode != "horizontal":
        flipped = flipped.flip(-3)
    same = (y == x).flatten(1).all(1)
    flips = (y == flipped).flatten(1).all(1)
    assert bool((same | flips).all())
    assert 0 < int(flips.sum()) < 64


@pytest.mark.parametrize(
    "factor,low,high",
    [("0.2", 1.0, 1.2), ("(0.1, 0.3)", 0.9, 1.3), ("[0.5, 0.0]", 1.0, 1.5)],  # Keras' ranges: bounds (0, 1)
)
def test_random_contrast_training(factor, low, high):
    """In training each image is (x - mean) * c + mean with one c per image in Keras' range
    (value_range wide enough that nothing is clipped); the ranges are what Keras builds."""
    assert keras_value(f"layers.RandomContrast({factor})").factor == pytest.approx((1 - low, high - 1))
    module, _ = translate_value(f"layers.RandomContrast({factor}, value_range=(-100, 100))", "layer")
    x = torch.randn(16, 4, 5, 3)
    y = module.train()(x)
    mean = x.mean(dim=(1, 2), keepdim=True)
    c = (y - mean) / (x - mean)
    per_image = c.flatten(1)
    assert torch.allclose(per_image, per_image[:, :1].expand_as(per_image), atol=1e-3)
    assert bool(((per_image[:, 0] >= low - 1e-5) & (per_image[:, 0] <= high + 1e-5)).all())


def test_random_brightness_training():
    """In training each image shifts by one d per image in Keras' range times the value range's
    width, then is clipped to value_range."""
    assert keras_value("layers.RandomBrightness(0.2)").factor == pytest.approx((-0.2, 0.2))
    module, _ = translate_value("layers.RandomBrightness(0.2, value_range=(0, 10))", "layer")
    x = torch.rand(32, 4, 5, 3) * 2 + 4  # in [4, 6]: +-2 stays inside (0, 10)
    d = (module.train()(x) - x).flatten(1)
    assert torch.allclose(d, d[:, :1].expand_as(d), atol=1e-5)
    assert float(d.abs().max()) <= 2.0 + 1e-5 and float(d.std()) > 0.1
    clipped = module(torch.full((8, 2, 2, 3), 9.9))
    assert float(clipped.max()) <= 10.0


@pytest.mark.parametrize("shape", [(3, 4, 5, 3), (4, 5, 3), (2, 4, 5, 1)])
def test_random_grayscale_training(shape):
    """factor=1.0 makes every image gray: the same values and shape as Keras (one image too)."""
    x = np.random.default_rng(2).uniform(0, 255, shape).astype(np.float32)
    module, code = translate_value("layers.RandomGrayscale(factor=1.0)", "layer")
    want = keras_value("layers.RandomGrayscale(factor=1.0)")(tf.constant(x), training=True)
    assert_close(want, module.train()(torch.from_numpy(x)), code, atol=1e-3)


@pytest.mark.parametrize("shape", [(64, 3, 2, 3), (3, 2, 3)])
def test_random_invert_training(shape):
    """Each image is itself or value_range[1] - x, about half of them inverted for factor 1.0
    (Keras' two draws); the output shape is Keras' (one image too)."""
    x = np.random.default_rng(3).uniform(0, 1, shape).astype(np.float32)
    module, _ = translate_value("layers.RandomInvert(value_range=(0, 1))", "layer")
    want = keras_value("layers.RandomInvert(value_range=(0, 1))")(tf.constant(x), training=True)
    got = module.train()(torch.from_numpy(x))
    assert tuple(got.shape) == tuple(want.shape)
    x4 = torch.from_numpy(x).reshape(got.shape)
    inverted = (got == 1 - x4).flatten(1).all(1)
    assert bool(((got == x4).flatten(1).all(1) | inverted).all())
    if got.shape[0] == 64:
        assert 10 < int(inverted.sum()) < 54


def test_random_crop_training_window():
    """A larger input: one (height, width) window of it for the whole batch, anywhere in it."""
    x = torch.randn(4, 7, 6, 2)
    module, _ = translate_value("layers.RandomCrop(3, 4)", "layer")
    starts = set()
    for _ in range(20):
        y = module.train()(x)
        assert tuple(y.shape) == (4, 3, 4, 2)
        found = [(i, j) for i in range(5) for j in range(3) if torch.equal(y, x[:, i : i + 3, j : j + 4])]
        assert found, "the output is no window of the input"
        starts.add(found[0])
    assert len(starts) > 1


@pytest.mark.parametrize("shape,size", [((2, 4, 6, 3), (4, 3)), ((5, 5, 2), (8, 6)), ((2, 6, 9, 1), (6, 4))])
def test_random_crop_training_center(shape, size):
    """An input not larger on both axes: Keras' centered crop and resize, the same values."""
    x = np.random.default_rng(4).standard_normal(shape).astype(np.float32)
    expr = f"layers.RandomCrop{size}"
    module, code = translate_value(expr, "layer")
    want = keras_value(expr)(tf.constant(x), training=True)
    assert_close(want, module.train()(torch.from_numpy(x)), code)


@pytest.mark.parametrize(
    "options",
    [
        "",
        ", fill_mode='constant', fill_value=0.5",
        ", fill_mode='wrap'",
        ", fill_mode='nearest'",
        ", interpolation='nearest'",
    ],
)
@pytest.mark.parametrize("turn,shape", [(0.25, (2, 5, 5, 2)), (0.1, (2, 6, 9, 1)), (-0.37, (7, 4, 3))])
def test_random_rotation_training(turn, shape, options):
    """A one-point factor range (turn, turn) fixes the angle: the rotated images equal Keras'
    for each fill mode and interpolation (the random draw is the only difference left)."""
    x = np.random.default_rng(5).standard_normal(shape).astype(np.float32)
    expr = f"layers.RandomRotation(({turn}, {turn}){options})"
    module, code = translate_value(expr, "layer")
    want = keras_value(expr)(tf.constant(x), training=True)
    assert_close(want, module.train()(torch.from_numpy(x)), code, atol=1e-4)


@pytest.mark.parametrize(
    "options", ["", ", fill_mode='constant', fill_value=0.5", ", fill_mode='wrap'", ", interpolation='nearest'"]
)
@pytest.mark.parametrize(
    "expr,shape",
    [
        ("layers.RandomZoom((0.3, 0.3)", (2, 6, 5, 2)),
        ("layers.RandomZoom((-0.4, -0.4), width_factor=(0.2, 0.2)", (5, 7, 1)),
        ("layers.RandomTranslation((0.25, 0.25), (-0.4, -0.4)", (2, 6, 5, 2)),
        ("layers.RandomTranslation((-0.15, -0.15), (0.3, 0.3)", (5, 7, 1)),
    ],
)
def test_random_zoom_translation_training(expr, shape, options):
    """One-point factor ranges fix the zoom / shift: the images equal Keras' for each fill mode."""
    x = np.random.default_rng(6).standard_normal(shape).astype(np.float32)
    expr = f"{expr}{options})"
    module, code = translate_value(expr, "layer")
    want = keras_value(expr)(tf.constant(x), training=True)
    assert_close(want, module.train()(torch.from_numpy(x)), code, atol=1e-4)


@pytest.mark.parametrize("shape,value_range", [((2, 4, 5, 3), (0, 255)), ((4, 5, 3), (0, 1))])
def test_solarization_training(shape, value_range):
    """Zero ranges fix the draws (addition 0, threshold 0): every value inverted, as in Keras;
    with a threshold range, each image is x or its inversion around the threshold."""
    x = np.random.default_rng(7).uniform(*value_range, shape).astype(np.float32)
    expr = f"layers.Solarization((0.0, 0.0), (0.0, 0.0), value_range={value_range})"
    module, code = translate_value(expr, "layer")
    want = keras_value(expr)(tf.constant(x), training=True)
    assert_close(want, module.train()(torch.from_numpy(x)), code, atol=1e-4)
    module, _ = translate_value("layers.Solarization(threshold_factor=1.0)", "layer")
    x = torch.rand(8, 3, 3, 1) * 255
    y = module.train()(x)
    assert bool(((y - x).abs() < 1e-4).logical_or((y - (255 - x)).abs() < 1e-4).all())


@pytest.mark.parametrize("options", ["", ", fill_mode='constant'", ", interpolation='nearest'"])
def test_random_shear_training(options):
    """One-point ranges leave only Keras' random sign: each sheared image equals Keras'
    affine_transform by +(sx, sy) or by -(sx, sy), and both signs occur."""
    x = np.random.default_rng(8).standard_normal((24, 5, 6, 2)).astype(np.float32)
    module, code = translate_value(f"layers.RandomShear((0.3, 0.3), (0.2, 0.2){options})", "layer")
    got = to_numpy(module.train()(torch.from_numpy(x)))
    kwargs = eval(f"dict({options[2:]})")
    wants = [
        to_numpy(
            keras.ops.image.affine_transform(
                tf.constant(x),
                tf.constant([[1.0, s * 0.3, 0.0, s * 0.2, 1.0, 0.0, 0.0, 0.0]] * len(x)),
                fill_mode=kwargs.get("fill_mode", "reflect"),
                interpolation=kwargs.get("interpolation", "bilinear"),
            )
        )
        for s in (1.0, -1.0)
    ]
    signs = [next(i for i, want in enumerate(wants) if np.allclose(got[k], want[k], atol=1e-4)) for k in range(len(x))]
    assert set(signs) == {0, 1}, code


@pytest.mark.parametrize(
    "expr,shape",
    [
        ("layers.RandomColorDegeneration((0.4, 0.4))", (2, 4, 5, 3)),
        ("layers.RandomColorDegeneration((-0.7, -0.7), value_range=(0, 1))", (4, 5, 3)),
        ("layers.RandomPosterization((3, 3))", (2, 4, 5, 3)),
        ("layers.RandomPosterization((6, 6), value_range=(0, 1))", (4, 5, 3)),
        ("layers.RandomSharpness((0.3, 0.3))", (2, 4, 5, 3)),
        ("layers.RandomSharpness((0.9, 0.9), value_range=(0, 1))", (4, 5, 2)),
        ("layers.RandomGaussianBlur((1.0, 1.0), sigma=(0.7, 0.7))", (2, 6, 5, 3)),
        ("layers.RandomGaussianBlur((1.0, 1.0), kernel_size=5, sigma=(0.4, 0.4), value_range=(0, 1))", (2, 7, 6, 2)),
        ("layers.Equalization()", (2, 6, 5, 3)),
        ("layers.Equalization(value_range=(0, 1), bins=32)", (3, 4, 5, 2)),
        ("layers.RandomHue((1.0, 1.0))", (2, 4, 5, 3)),  # +-1/2 turn: the same image either way
        ("layers.RandomHue((1.0, 1.0), value_range=(0, 1))", (2, 4, 5, 3)),
        ("layers.RandomSaturation((0.3, 0.3))", (2, 4, 5, 3)),
        ("layers.RandomSaturation((0.6, 0.6), value_range=(0, 1))", (2, 4, 5, 3)),
        ("layers.RandomColorJitter(brightness_factor=(0.1, 0.1), saturation_factor=(0.4, 0.4))", (2, 4, 5, 3)),
        ("layers.RandomColorJitter((0, 1), contrast_factor=(0.0, 0.0), hue_factor=(1.0, 1.0))", (2, 4, 5, 3)),
    ],
)
def test_color_augmentation_training(expr, shape):
    """One-point factor ranges fix the draw: the images equal Keras' in training."""
    value_range = (0, 1) if "value_range" in expr else (0, 255)
    x = np.random.default_rng(9).uniform(*value_range, shape).astype(np.float32)
    module, code = translate_value(expr, "layer")
    want = keras_value(expr)(tf.constant(x), training=True)
    assert_close(want, module.train()(torch.from_numpy(x)), code, atol=1e-4)


@pytest.mark.parametrize("fill_value", [7.0, (1.0, 2.0, 300.0)])
def test_random_erasing_training(fill_value):
    """Keras' draws are not torch's: each image gets one rectangle of fill_value (clipped to
    value_range), with Keras' side lengths sqrt(scale) * side (+-1 pixel), the rest unchanged."""
    x = np.random.default_rng(3).uniform(20, 200, (6, 10, 12, 3)).astype(np.float32)
    module, _ = translate_value(
        f"layers.RandomErasing((1.0, 1.0), scale=(0.25, 0.25), fill_value={fill_value!r})", "layer"
    )
    got = module.train()(torch.from_numpy(x)).numpy()
    fill = np.clip(np.broadcast_to(np.asarray(fill_value, np.float32), (3,)), 0, 255)
    for image, original in zip(got, x):
        changed = np.any(image != original, axis=-1)
        rows, cols = np.nonzero(changed)
        assert changed.sum() == (np.ptp(rows) + 1) * (np.ptp(cols) + 1)  # one rectangle
        assert abs(np.ptp(rows) + 1 - 5) <= 1 and abs(np.ptp(cols) + 1 - 6) <= 1  # sqrt(0.25) of 10, 12
        np.testing.assert_array_equal(image[changed], np.broadcast_to(fill, (changed.sum(), 3)))


def test_mix_up_training():
    """Each image (and its label) is w * itself + (1 - w) * the image of one permutation."""
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 255, (6, 4, 5, 3)).astype(np.float32)
    labels = np.eye(6, dtype=np.float32)
    module, _ = translate_value("layers.MixUp(alpha=0.5)", "layer")
    out = module.train()({"images": torch.from_numpy(x), "labels": torch.from_numpy(labels)})
    images, mixed = out["images"].numpy(), out["labels"].numpy()
    partners = []
    for i in range(6):
        w = mixed[i, i] if np.count_nonzero(mixed[i] > 1e-6) == 2 else 1.0  # a partner other than itself
        j = int(np.argmax(np.where(np.arange(6) == i, -1, mixed[i]))) if w < 1.0 else i
        partners.append(j)
        np.testing.assert_allclose(images[i], w * x[i] + (1 - w) * x[j], rtol=1e-4, atol=1e-3)
        assert mixed[i].sum() == pytest.approx(1.0, abs=1e-5)
    assert sorted(partners) == list(range(6))  # one permutation


def test_cut_mix_training():
    """Each image keeps its pixels outside one rectangle, which comes from one other image of a
    permutation; its label mixes by the area kept."""
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 255, (5, 8, 9, 3)).astype(np.float32)
    labels = np.eye(5, dtype=np.float32)
    module, _ = translate_value("layers.CutMix()", "layer")
    out = module.train()({"images": torch.from_numpy(x), "labels": torch.from_numpy(labels)})
    images, mixed = out["images"].numpy(), out["labels"].numpy()
    for i in range(5):
        changed = np.any(images[i] != x[i], axis=-1)
        if changed.any():
            rows, cols = np.nonzero(changed)
            box = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
            sources = [j for j in range(5) if j != i and np.array_equal(images[i][box], x[j][box])]
            assert sources, "the rectangle comes from another image"
            assert mixed[i, sources[0]] == pytest.approx(1.0 - mixed[i, i], abs=1e-5)
            # the label keeps the continuous box's area: the pixel count's, within one row and column
            slack = (np.ptp(rows) + np.ptp(cols) + 3) / changed.size
            assert abs(mixed[i, i] - (1.0 - changed.sum() / changed.size)) <= slack
        assert mixed[i].sum() == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize(
    "inner,converter,shape",
    [("layers.Dense(4)", "dense", (3, 5)), ("layers.Conv2D(3, 2)", "conv", (2, 5, 6, 2))],
)
def test_spectral_normalization(inner, converter, shape):
    """Keras' power iteration: inference calls the layer; two training calls divide its kernel
    by the estimated spectral norm (vector_u carried over) and give Keras' outputs."""
    from fwtranslate.weights import registry

    expr = f"layers.SpectralNormalization({inner}, power_iterations=2)"
    x = np.random.default_rng(6).standard_normal(shape).astype(np.float32)
    layer = keras_value(expr)
    layer(tf.constant(x))
    module, code = translate_value(expr, "layer")
    module.eval()
    with torch.no_grad():
        module(torch.from_numpy(x))
    wrapped = getattr(module.layer, "module", module.layer)
    registry.get(converter).keras_to_torch(layer.layer, wrapped)
    module.vector_u.copy_(torch.from_numpy(layer.vector_u.numpy()))
    assert_close(layer(tf.constant(x), training=False), module(torch.from_numpy(x)), code)
    module.train()
    for _ in range(2):
        want = layer(tf.constant(x), training=True)
        with torch.no_grad():
            got = module(torch.from_numpy(x))
        assert_close(want, got, code)
    assert_close(layer.vector_u, module.vector_u, code)


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_perspective_warp(interpolation):
    """RandomPerspective's warp (homography + projective sampling) equals Keras' on given corners;
    scale=0 moves no corner, so training keeps the image."""
    rng = np.random.default_rng(8)
    x = rng.uniform(0, 255, (2, 7, 9, 3)).astype(np.float32)
    start = np.tile(np.array([[[0, 0], [8, 0], [0, 6], [8, 6]]], np.float32), (2, 1, 1))
    end = start + start * rng.uniform(-0.3, 0.3, (2, 4, 2)).astype(np.float32)
    want = keras.ops.image.perspective_transform(x, start, end, interpolation=interpolation, fill_value=5.0)
    namespace, code = translate_and_exec(f"{PRELUDE}layer = layers.RandomPerspective()\n", "torch")
    transform = namespace["keras_homography"](torch.from_numpy(start), torch.from_numpy(end))
    got = namespace["keras_affine_transform"](torch.from_numpy(x), transform, interpolation, "constant", 5.0)
    assert_close(want, got, code, atol=1e-3)
    module, _ = translate_value("layers.RandomPerspective((1.0, 1.0), scale=0.0)", "layer")
    assert_close(x, module.train()(torch.from_numpy(x)), code, atol=1e-3)


def test_random_posterization_draws():
    """Keras draws the bits with randint(lower, upper): upper is never drawn (factor 4: 1 to 3
    bits, so 255 becomes 128, 192 or 224), in both."""
    module, _ = translate_value("layers.RandomPosterization(4)", "layer")
    x = np.full((200, 1, 1, 1), 255.0, np.float32)
    kept = {int(v) for v in module.train()(torch.from_numpy(x)).flatten()}
    keras_kept = {int(v) for v in to_numpy(keras_value("layers.RandomPosterization(4)")(x, training=True)).flatten()}
    assert kept == keras_kept == {128, 192, 224}


def test_torch_module_wrapper_is_the_module():
    """TorchModuleWrapper(module) (Keras' torch backend only) translates to the module itself."""
    source = f"{PRELUDE}def wrap(net):\n    return layers.TorchModuleWrapper(net, name='net')\n"
    namespace, _ = translate_and_exec(source, "torch")
    net = torch.nn.Linear(3, 2)
    assert namespace["wrap"](net) is net


def test_einsum_dense_initializer_axes():
    """A named variance-scaling initializer uses the kernel's input / output axes, as Keras: the
    glorot_uniform bound of 'abc,cde->abde' (5 -> 2 x 4) is sqrt(6 / (5 + 8))."""
    module, _ = translate_value("layers.EinsumDense('abc,cde->abde', (None, 2, 4), bias_axes='de')", "layer")
    module(torch.zeros(2, 3, 5))
    assert tuple(module.kernel.shape) == (5, 2, 4) and tuple(module.bias.shape) == (2, 4)
    bound = float(np.sqrt(6 / 13))
    assert float(module.kernel.detach().abs().max()) <= bound
    assert float(module.kernel.detach().abs().max()) > 0.6 * bound
