"""Numeric parity of the Keras -> PyTorch rules for normalization, embedding, recurrent and
attention layers (rules/tf_to_torch/{normalization,embedding,recurrent,attention}.yaml).

Each case is a Keras constructor expression. The Keras layer is built from it and called once
(building its weights), its weights are set to random values; the same source goes through the
real translator (``to="torch"``), the translated torch module is called once (lazy parameters
are created), receives the Keras weights through the converter the rule names, and must return
what the Keras layer returns on the same inputs (inference; training too for BatchNormalization).

The weights move through the product's converters (fwtranslate.weights.registry, by the name of
the rule's ``weights:`` field), so these cases test src/fwtranslate/weights/converters.py too.
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
from fwtranslate.weights import registry
from helpers import translate_and_exec

PRELUDE = "import keras\nfrom keras import layers\n"
ATOL, RTOL = 1e-5, 1e-4


# --- Keras variables ----------------------------------------------------------------------------
def _value(layer, name):
    for v in layer.weights:
        if v.name == name:
            return np.asarray(v.numpy())
    raise KeyError(f"{layer.name} has no variable {name!r} (has {[v.name for v in layer.weights]})")


RULES = load_rules("tf_to_torch")


def converter_for(expr: str):
    """The registry's keras_to_torch function of the rule translating the outermost call of ``expr``."""
    callee = expr.split("(", 1)[0].replace("layers.", "keras.layers.", 1)
    name = RULES.calls[callee].weights
    if name is None:
        return None
    return registry.get(name).keras_to_torch


# --- helpers ------------------------------------------------------------------------------------
def translate_module(expr: str):
    namespace, code = translate_and_exec(f"{PRELUDE}layer = {expr}\n", "torch")
    return namespace["layer"], code


def convert(value, to):
    if isinstance(value, dict):
        return {k: convert(v, to) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return type(value)(convert(v, to) for v in value)
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy()) if to == "torch" else tf.constant(value)
    return value


def flatten(value) -> list:
    if isinstance(value, (tuple, list)):
        return [leaf for v in value for leaf in flatten(v)]
    if isinstance(value, torch.Tensor):
        return [value.detach().numpy()]
    return [np.asarray(value)]


def assert_close(expected, got, what, atol=ATOL, rtol=RTOL):
    expected, got = flatten(expected), flatten(got)
    assert len(expected) == len(got), f"{what}: {len(expected)} Keras outputs, {len(got)} torch outputs"
    for i, (e, g) in enumerate(zip(expected, got)):
        assert e.shape == g.shape, f"{what}[{i}]: Keras shape {e.shape}, torch shape {g.shape}"
        err = float(np.max(np.abs(e - g))) if e.size else 0.0
        assert np.allclose(e, g, atol=atol, rtol=rtol), f"{what}[{i}]: max abs error {err:.3g}"


def randomise_keras(layer, seed):
    rng = np.random.default_rng(seed + 100)
    for v in layer.weights:
        shape = tuple(v.shape)
        if v.name == "moving_variance":
            v.assign((rng.random(shape) + 0.5).astype(np.float32))
        else:
            v.assign((rng.standard_normal(shape) * 0.5).astype(np.float32))


def check(expr, make_inputs, kwargs=None, seed=0, training=False, atol=ATOL, rtol=RTOL):
    """Keras layer ``expr`` vs its translation on the inputs ``make_inputs(rng)`` (a tuple of
    positional arguments; ``kwargs``: extra call arguments, numpy arrays converted)."""
    rng = np.random.default_rng(seed)
    args = make_inputs(rng)
    kwargs = kwargs(rng) if callable(kwargs) else dict(kwargs or {})
    layer = eval(expr, {"keras": keras, "layers": keras.layers})
    layer(*convert(args, "tf"), **convert(kwargs, "tf"))  # builds the weights
    randomise_keras(layer, seed)
    module, code = translate_module(expr)
    module.eval()
    with torch.no_grad():
        module(*convert(args, "torch"), **convert(kwargs, "torch"))  # materialises lazy parameters
    fn = converter_for(expr)
    if layer.weights:
        assert fn is not None, f"{expr}: Keras has weights but the rule names no converter"
        fn(layer, module)
    expected = layer(*convert(args, "tf"), **convert(kwargs, "tf"), training=False)
    with torch.no_grad():
        got = module(*convert(args, "torch"), **convert(kwargs, "torch"))
    assert_close(expected, got, f"{expr} (inference)\n{code}", atol, rtol)
    if training:
        module.train()
        expected = layer(*convert(args, "tf"), **convert(kwargs, "tf"), training=True)
        got = module(*convert(args, "torch"), **convert(kwargs, "torch"))
        assert_close(expected, got, f"{expr} (training)\n{code}", atol, rtol)
        for keras_name, torch_name in (("moving_mean", "running_mean"), ("moving_variance", "running_var")):
            assert_close(_value(layer, keras_name), getattr(module, torch_name), f"{expr} {torch_name} after a step")
    return layer, module


def randn(*shape, scale=1.0, shift=0.0):
    return lambda rng: ((rng.standard_normal(shape) * scale + shift).astype(np.float32),)


def case(expr, inputs, **options):
    return pytest.param(expr, inputs, options, id=expr)


# --- normalization ------------------------------------------------------------------------------
NORM_CASES = [
    case("layers.BatchNormalization()", randn(4, 6), training=True),
    case("layers.BatchNormalization()", randn(3, 5, 6, shift=1.0), training=True),
    case("layers.BatchNormalization()", randn(2, 4, 5, 6, scale=2.0), training=True),
    case("layers.BatchNormalization(axis=1)", randn(2, 6, 4, 5), training=True),
    case("layers.BatchNormalization(axis=1, momentum=0.9, epsilon=1e-5)", randn(3, 6, 7), training=True),
    case("layers.BatchNormalization(axis=-2)", randn(3, 5, 4), training=True),
    case("layers.BatchNormalization(center=False)", randn(2, 4, 4, 3), training=True),
    case("layers.BatchNormalization(scale=False, epsilon=0.01)", randn(2, 4, 4, 3), training=True),
    case("layers.BatchNormalization(center=False, scale=False)", randn(5, 3), training=True),
    case("layers.LayerNormalization()", randn(4, 6)),
    case("layers.LayerNormalization()", randn(2, 5, 6, shift=3.0)),
    case("layers.LayerNormalization(epsilon=1e-6)", randn(2, 3, 4, 6)),
    case("layers.LayerNormalization(axis=1)", randn(2, 5, 6)),
    case("layers.LayerNormalization(axis=[1, 2])", randn(2, 3, 4, 5)),
    case("layers.LayerNormalization(axis=(-2, -1), center=False)", randn(2, 3, 4, 5)),
    case("layers.LayerNormalization(axis=[1, 3], scale=False)", randn(2, 3, 4, 5)),
    case("layers.LayerNormalization(center=False, scale=False)", randn(2, 7)),
    case("layers.LayerNormalization(rms_scaling=True)", randn(2, 5, 6, shift=1.0)),
    case("layers.GroupNormalization(groups=2)", randn(2, 6)),
    case("layers.GroupNormalization(groups=3)", randn(2, 5, 6)),
    case("layers.GroupNormalization(groups=2, epsilon=1e-5)", randn(2, 4, 5, 8, shift=1.0)),
    case("layers.GroupNormalization(groups=4, axis=1)", randn(2, 8, 3, 5)),
    case("layers.GroupNormalization(groups=8, center=False)", randn(2, 3, 3, 8)),
    case("layers.GroupNormalization(groups=1, scale=False)", randn(2, 3, 3, 4)),
    case("layers.UnitNormalization()", randn(3, 6)),
    case("layers.UnitNormalization(axis=1)", randn(2, 4, 6)),
    case("layers.UnitNormalization(axis=[1, 2])", randn(2, 3, 4, 5)),
    case("layers.RMSNormalization()", randn(3, 6)),
    case("layers.RMSNormalization(epsilon=1e-3)", randn(2, 4, 6, shift=1.0)),
    case("layers.RMSNormalization(axis=[2, 3])", randn(2, 3, 4, 5)),
]


@pytest.mark.parametrize("expr,inputs,options", NORM_CASES)
def test_normalization(expr, inputs, options):
    check(expr, inputs, **options)


def test_unit_normalization_of_zeros():
    check("layers.UnitNormalization()", lambda rng: (np.zeros((2, 4), np.float32),))


def test_batch_normalization_lazy_load_state_dict():
    """A translated BatchNormalization loads a state dict before its first call (lazy module)."""
    module, _ = translate_module("layers.BatchNormalization()")
    module.eval()
    x = torch.randn(3, 4)
    module(x)
    fresh, _ = translate_module("layers.BatchNormalization()")
    fresh.load_state_dict(module.state_dict())
    assert torch.equal(fresh.eval()(x), module(x))


def test_batch_normalization_training_argument():
    """bn(x, training=False) inside a training model uses the moving statistics, as in Keras."""
    x = np.random.default_rng(3).standard_normal((4, 3, 5)).astype(np.float32)
    layer, module = check("layers.BatchNormalization()", lambda rng: (x,))
    module.train()
    with torch.no_grad():
        got = module(torch.from_numpy(x), training=False)
    assert_close(layer(tf.constant(x), training=False), got, "training=False")
    assert_close(_value(layer, "moving_mean"), module.running_mean, "running_mean unchanged")


# --- embedding ----------------------------------------------------------------------------------
def token_ids(*shape, vocab=10):
    return lambda rng: (rng.integers(0, vocab, size=shape).astype(np.int32),)


EMBEDDING_CASES = [
    case("layers.Embedding(10, 4)", token_ids(3, 5)),
    case("layers.Embedding(input_dim=10, output_dim=6, embeddings_initializer='normal')", token_ids(2, 3, 4)),
    case("layers.Embedding(10, 3, mask_zero=True)", token_ids(7)),
]


@pytest.mark.parametrize("expr,inputs,options", EMBEDDING_CASES)
def test_embedding(expr, inputs, options):
    check(expr, inputs, **options)


def test_embedding_mask_zero_warns():
    result = fwtranslate.translate(f"{PRELUDE}layer = layers.Embedding(10, 3, mask_zero=True)\n", to="torch")
    assert result.ok and any("mask_zero" in d.format() for d in result.diagnostics)


# --- recurrent ----------------------------------------------------------------------------------
SEQ = randn(3, 7, 5)
RNN_CASES = []
for _kind in ("LSTM", "GRU", "SimpleRNN"):
    RNN_CASES += [
        case(f"layers.{_kind}(4)", SEQ),
        case(f"layers.{_kind}(4, return_sequences=True)", SEQ),
        case(f"layers.{_kind}(4, return_state=True)", SEQ),
        case(f"layers.{_kind}(6, return_sequences=True, return_state=True)", SEQ),
        case(f"layers.{_kind}(4, go_backwards=True, return_sequences=True)", SEQ),
        case(f"layers.{_kind}(4, go_backwards=True, return_state=True)", SEQ),
        case(f"layers.{_kind}(3, use_bias=False, return_sequences=True)", SEQ),
        case(f"layers.{_kind}(4, dropout=0.3, unroll=True)", SEQ),
        case(f"layers.Bidirectional(layers.{_kind}(4))", SEQ),
        case(f"layers.Bidirectional(layers.{_kind}(4, return_sequences=True))", SEQ),
        case(f"layers.Bidirectional(layers.{_kind}(4, return_state=True))", SEQ),
        case(
            f"layers.Bidirectional(layers.{_kind}(4, return_sequences=True, return_state=True), merge_mode='sum')", SEQ
        ),
    ]
RNN_CASES += [
    case("layers.SimpleRNN(4, activation='relu', return_sequences=True)", SEQ),
    case("layers.Bidirectional(layers.LSTM(4, return_sequences=True), merge_mode='mul')", SEQ),
    case("layers.Bidirectional(layers.GRU(4, return_sequences=True), merge_mode='ave')", SEQ),
    case("layers.Bidirectional(layers.LSTM(4, return_sequences=True), merge_mode=None)", SEQ),
    case("layers.Bidirectional(layers.GRU(3, return_state=True), merge_mode=None)", SEQ),
    case("layers.Bidirectional(layers.LSTM(4), backward_layer=layers.LSTM(4, go_backwards=True))", SEQ),
    case(
        "layers.Bidirectional(layers.GRU(4, return_sequences=True), backward_layer=layers.GRU(4, go_backwards=True, return_sequences=True, use_bias=False))",
        SEQ,
    ),
]


@pytest.mark.parametrize("expr,inputs,options", RNN_CASES)
def test_recurrent(expr, inputs, options):
    check(expr, inputs, **options)


@pytest.mark.parametrize("kind,n_states", [("LSTM", 2), ("GRU", 1), ("SimpleRNN", 1)])
def test_recurrent_initial_state(kind, n_states):
    def states(rng):
        return {"initial_state": [rng.standard_normal((3, 4)).astype(np.float32) for _ in range(n_states)]}

    check(f"layers.{kind}(4, return_sequences=True, return_state=True)", SEQ, kwargs=states)
    check(f"layers.{kind}(4, go_backwards=True)", SEQ, kwargs=states)


def test_bidirectional_initial_state():
    def states(rng):
        return {"initial_state": [rng.standard_normal((3, 4)).astype(np.float32) for _ in range(4)]}

    check("layers.Bidirectional(layers.LSTM(4, return_sequences=True))", SEQ, kwargs=states)


def test_recurrent_lazy_load_state_dict():
    module, _ = translate_module("layers.Bidirectional(layers.GRU(4, return_sequences=True))")
    x = torch.randn(2, 5, 3)
    module.eval()(x)
    fresh, _ = translate_module("layers.Bidirectional(layers.GRU(4, return_sequences=True))")
    fresh.load_state_dict(module.state_dict())
    assert torch.equal(fresh.eval()(x), module(x))


# --- attention ----------------------------------------------------------------------------------
def qkv(b=2, tq=5, tk=6, dq=8, dv=8, dk=None):
    def make(rng):
        arrays = [rng.standard_normal((b, tq, dq)), rng.standard_normal((b, tk, dv))]
        if dk is not None:
            arrays.append(rng.standard_normal((b, tk, dk)))
        return tuple(a.astype(np.float32) for a in arrays)

    return make


def self_attention(b=2, t=5, d=8):
    def make(rng):
        x = rng.standard_normal((b, t, d)).astype(np.float32)
        return (x, x)

    return make


def random_mask(b, tq, tk):
    def make(rng):
        mask = rng.random((b, tq, tk)) > 0.4
        mask[..., 0] = True  # no fully masked row
        return {"attention_mask": mask}

    return make


MHA_CASES = [
    case("layers.MultiHeadAttention(num_heads=2, key_dim=4)", self_attention()),
    case("layers.MultiHeadAttention(2, 4)", qkv()),
    case("layers.MultiHeadAttention(3, 4, value_dim=5)", qkv(dq=6, dv=7, dk=9)),
    case("layers.MultiHeadAttention(2, 4, use_bias=False, output_shape=10)", qkv(dv=5)),
    case("layers.MultiHeadAttention(2, 4, output_shape=(3, 2))", qkv()),
    case("layers.MultiHeadAttention(2, 4, dropout=0.3)", qkv()),
    case("layers.MultiHeadAttention(2, 4)", qkv(), kwargs={"return_attention_scores": True}),
    case("layers.MultiHeadAttention(2, 4)", self_attention(), kwargs={"use_causal_mask": True}),
    case(
        "layers.MultiHeadAttention(2, 4)",
        self_attention(),
        kwargs={"use_causal_mask": True, "return_attention_scores": True},
    ),
    case("layers.MultiHeadAttention(2, 4)", qkv(tq=6, tk=6), kwargs={"use_causal_mask": True}),
    case("layers.MultiHeadAttention(2, 4)", qkv(), kwargs=random_mask(2, 5, 6)),
    case(
        "layers.MultiHeadAttention(4, 2, value_dim=3)",
        qkv(dk=5),
        kwargs=lambda rng: {**random_mask(2, 5, 6)(rng), "return_attention_scores": True},
    ),
    case(
        "layers.MultiHeadAttention(2, 4)",
        self_attention(t=6),
        kwargs=lambda rng: {**random_mask(2, 6, 6)(rng), "use_causal_mask": True},
    ),
    case(
        "layers.MultiHeadAttention(2, 4)",
        qkv(),
        kwargs=lambda rng: {"value_mask": np.array([[True] * 6, [True] * 3 + [False] * 3])},
    ),
    case(
        "layers.MultiHeadAttention(2, 4, sliding_window=2)",
        self_attention(t=7),
        kwargs={"return_attention_scores": True},
    ),
    case(
        "layers.MultiHeadAttention(2, 4)",
        lambda rng: (
            rng.standard_normal((2, 3, 4, 8)).astype(np.float32),
            rng.standard_normal((2, 2, 5, 8)).astype(np.float32),
        ),
        kwargs={"return_attention_scores": True},
    ),
]


@pytest.mark.parametrize("expr,inputs,options", MHA_CASES)
def test_multi_head_attention(expr, inputs, options):
    check(expr, inputs, **options)


def attention_inputs(with_key=False, dim=4):
    def make(rng):
        arrays = [rng.standard_normal((2, 5, dim)), rng.standard_normal((2, 6, dim))]
        if with_key:
            arrays.append(rng.standard_normal((2, 6, dim)))
        return ([a.astype(np.float32) for a in arrays],)

    return make


def attention_masks(rng):
    q_mask = np.array([[True] * 5, [True] * 3 + [False] * 2])
    v_mask = np.array([[True] * 6, [True] * 4 + [False] * 2])
    return {"mask": [q_mask, v_mask]}


ATTENTION_CASES = []
for _layer in (
    "layers.Attention()",
    "layers.Attention(use_scale=True)",
    "layers.Attention(score_mode='concat')",
    "layers.Attention(use_scale=True, score_mode='concat', dropout=0.2)",
    "layers.AdditiveAttention()",
    "layers.AdditiveAttention(use_scale=False)",
):
    ATTENTION_CASES += [
        case(_layer, attention_inputs()),
        case(_layer, attention_inputs(with_key=True), kwargs={"return_attention_scores": True}),
        case(_layer, attention_inputs(), kwargs=attention_masks),
        case(
            _layer,
            lambda rng: ([rng.standard_normal((2, 5, 4)).astype(np.float32)] * 2,),
            kwargs={"use_causal_mask": True, "return_attention_scores": True},
        ),
    ]


@pytest.mark.parametrize("expr,inputs,options", ATTENTION_CASES)
def test_attention(expr, inputs, options):
    check(expr, inputs, **options)
