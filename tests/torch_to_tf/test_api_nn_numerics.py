"""Numerics of the torch.nn / torch.nn.functional rules added for API coverage
(rules/torch_to_tf/nn_functional_extra.yaml, nn_layers_extra.yaml): each expression or module is
translated, run under Keras (TensorFlow backend) on the same random inputs as torch, and compared.
Random ops (dropouts, RReLU in training, gumbel_softmax) are checked by properties torch's
definitions fix (kept values scaled exactly, one-hot rows, slopes within bounds).
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")

from test_layer_numerics import case, check_layer, randn, token_ids, translate_layer
from test_op_numerics import F32, INT, POS, _translated, check

X4 = {"x": F32(2, 3, 7, 6)}
X3 = {"x": F32(2, 3, 9)}
X5 = {"x": F32(1, 2, 5, 6, 4)}

FUNCTIONAL = [
    ("F.max_pool3d(x, 2)", X5),
    ("F.max_pool3d(x, 3, 2, 1, ceil_mode=True)", X5),
    ("F.max_pool1d_with_indices(x, 3, 2, 1)", X3),
    ("F.max_pool2d_with_indices(x, 3, stride=2, padding=1)", X4),
    ("F.max_pool2d_with_indices(x, (2, 3), dilation=2, padding=1)", X4),
    ("F.max_pool2d_with_indices(x, 3, 2, ceil_mode=True)", X4),
    ("F.max_pool3d_with_indices(x, 2)", X5),
    ("F.avg_pool3d(x, 2)", X5),
    ("F.avg_pool3d(x, 3, 2, 1)", X5),
    ("F.avg_pool3d(x, 3, 2, 1, count_include_pad=False, ceil_mode=True)", X5),
    ("F.adaptive_max_pool3d(x, (2, 3, 2))", X5),
    ("F.adaptive_max_pool3d(x, 2, return_indices=True)", X5),
    ("F.adaptive_max_pool1d_with_indices(x, 4)", X3),
    ("F.adaptive_max_pool2d_with_indices(x, (3, 2))", X4),
    ("F.adaptive_max_pool2d_with_indices(x, (None, 4))", X4),
    ("F.adaptive_max_pool3d_with_indices(x, (2, 3, 2))", X5),
    ("F.max_unpool1d(*F.max_pool1d_with_indices(x, 2), 2)", X3),
    ("F.max_unpool2d(*F.max_pool2d_with_indices(x, 2), 2)", X4),
    ("F.max_unpool2d(*F.max_pool2d_with_indices(x, 2), 2, output_size=x.shape)", X4),
    ("F.max_unpool3d(*F.max_pool3d_with_indices(x, 2), 2)", X5),
    ("F.lp_pool1d(x.abs(), 2, 3)", X3),
    ("F.lp_pool2d(x.abs(), 2, 2)", X4),
    ("F.lp_pool2d(x.abs(), 3, (3, 2), stride=2)", X4),
    ("F.lp_pool3d(x.abs(), 1, 2)", X5),
    ("F.unfold(x, 2)", X4),
    ("F.unfold(x, (2, 3), stride=2, padding=1)", X4),
    ("F.unfold(x, 3, dilation=2, padding=2, stride=(1, 2))", X4),
    ("F.fold(F.unfold(x, 2), (7, 6), 2)", X4),
    ("F.fold(F.unfold(x, 3, padding=1, stride=2), (7, 6), 3, padding=1, stride=2)", X4),
    ("F.fold(F.unfold(x, 3, dilation=2, padding=2), x.shape[-2:], 3, dilation=2, padding=2)", X4),
    ("F.conv_transpose2d(x, w)", {"x": F32(2, 3, 5, 4), "w": F32(3, 4, 3, 3)}),
    ("F.conv_transpose2d(x, w, b, 2, 1, 1)", {"x": F32(2, 3, 5, 4), "w": F32(3, 4, 3, 3), "b": F32(4)}),
    ("F.conv_transpose2d(x, w, stride=3, padding=1, output_padding=2)", {"x": F32(1, 3, 4, 4), "w": F32(3, 2, 3, 3)}),
    ("F.conv_transpose1d(x, w, stride=2, padding=1)", {"x": F32(2, 3, 6), "w": F32(3, 5, 4)}),
    ("F.conv_transpose3d(x, w, stride=2)", {"x": F32(1, 2, 3, 4, 2), "w": F32(2, 3, 2, 2, 2)}),
    ("F.conv_tbc(x, w, b, 1)", {"x": F32(7, 2, 3), "w": F32(3, 3, 5), "b": F32(5)}),
    ("F.bilinear(a, c, w)", {"a": F32(2, 4), "c": F32(2, 5), "w": F32(3, 4, 5)}),
    ("F.bilinear(a, c, w, b)", {"a": F32(2, 6, 4), "c": F32(2, 6, 5), "w": F32(3, 4, 5), "b": F32(3)}),
    ("F.channel_shuffle(x, 3)", {"x": F32(2, 6, 3, 4)}),
    ("F.native_channel_shuffle(x, 2)", {"x": F32(2, 6, 5)}),
    ("F.hardshrink(x)", X3),
    ("F.hardshrink(x, 0.3)", X3),
    ("F.softshrink(x, 0.2)", X3),
    ("F.threshold(x, 0.1, 20.0)", X3),
    ("F.threshold_(x, 0.0, -1.0)", X3),
    ("F.prelu(x, a)", {"x": F32(2, 3, 4, 5), "a": F32(3)}),
    ("F.prelu(x, a)", {"x": F32(2, 3, 4), "a": F32(1)}),
    ("F.rrelu(x)", X3),
    ("F.rrelu(x, 0.1, 0.3, training=False)", X3),
    ("F.relu_(x)", X3),
    ("F.elu_(x, 0.5)", X3),
    ("F.celu_(x)", X3),
    ("F.selu_(x)", X3),
    ("F.leaky_relu_(x)", X3),
    ("F.hardtanh_(x * 2)", X3),
    ("F.rrelu_(x)", X3),
    ("F.dropout1d(x, 0.2, training=False)", X3),
    ("F.dropout2d(x, training=False)", X4),
    ("F.dropout3d(x, p=0.0)", X5),
    ("F.alpha_dropout(x, 0.2)", X3),
    ("F.feature_alpha_dropout(x, 0.2, False)", X4),
    ("F.instance_norm(x)", X4),
    ("F.instance_norm(x, weight=w, bias=b, eps=1e-3)", {"x": F32(2, 3, 7, 6), "w": F32(3), "b": F32(3)}),
    ("F.instance_norm(x, m, v, use_input_stats=False)", {"x": F32(2, 3, 9), "m": F32(3), "v": POS(3)}),
    ("F.rms_norm(x, (6,))", X4),
    ("F.rms_norm(x, [7, 6], w, 1e-3)", {"x": F32(2, 3, 7, 6), "w": F32(7, 6)}),
    ("F.local_response_norm(x, 3)", {"x": F32(2, 6, 3, 4)}),
    ("F.local_response_norm(x, 4, 1e-2, 0.5, 2.0)", {"x": F32(2, 6, 5)}),
    ("F.pairwise_distance(a, c)", {"a": F32(4, 5), "c": F32(4, 5)}),
    ("F.pairwise_distance(a, c, p=1, keepdim=True)", {"a": F32(4, 5), "c": F32(4, 5)}),
    ("F.pairwise_distance(a, c, p=math.inf)", {"a": F32(4, 5), "c": F32(4, 5)}),
    ("F.pdist(a)", {"a": F32(5, 3)}),
    ("F.pdist(a, p=1)", {"a": F32(5, 3)}),
    ("F.embedding_bag(i, w)", {"i": INT(3, 4, high=10), "w": F32(10, 4)}),
    ("F.embedding_bag(i, w, mode='max', padding_idx=2)", {"i": INT(3, 4, high=10), "w": F32(10, 4)}),
    (
        "F.embedding_bag(i, w, torch.tensor([0, 2, 2, 5]), mode='sum', per_sample_weights=s)",
        {"i": INT(9, high=10), "w": F32(10, 4), "s": F32(9)},
    ),
    ("F.embedding_bag(i, w, torch.tensor([0, 2, 2, 5]), mode='max')", {"i": INT(9, high=10), "w": F32(10, 4)}),
    ("F.linear_cross_entropy(h, w, y)", {"h": F32(5, 4), "w": F32(6, 4), "y": INT(5, high=6)}),
    (
        "F.linear_cross_entropy(h, w, y, linear_bias=b, reduction='sum', label_smoothing=0.1)",
        {"h": F32(5, 4), "w": F32(6, 4), "y": INT(5, high=6), "b": F32(6)},
    ),
    ("F.upsample_nearest(x, scale_factor=2)", X4),
    ("F.upsample_bilinear(x, size=(9, 8))", X4),
]


@pytest.mark.parametrize("expr,inputs", FUNCTIONAL, ids=[e for e, _ in FUNCTIONAL])
def test_functional(expr, inputs):
    check(expr, inputs)


# --- random functions: properties ---------------------------------------------------------------
def _run(expr, **arrays):
    fn, _ = _translated(expr, tuple(arrays))
    return keras.ops.convert_to_numpy(fn(*(keras.ops.convert_to_tensor(a) for a in arrays.values())))


def test_feature_dropout_drops_whole_channels_and_scales_the_rest():
    x = np.random.default_rng(0).uniform(1, 2, (4, 16, 5, 5)).astype("float32")
    y = _run("F.dropout2d(x, 0.5)", x=x)
    dropped = np.all(y == 0, axis=(2, 3))
    kept = np.all(np.isclose(y, x * 2), axis=(2, 3))
    assert np.all(dropped | kept) and dropped.any() and kept.any()


@pytest.mark.parametrize(
    "expr,axes", [("F.alpha_dropout(x, 0.3, True)", ()), ("F.feature_alpha_dropout(x, 0.3, True)", (2,))]
)
def test_alpha_dropout_follows_torchs_affine_map(expr, axes):
    p, alpha = 0.3, 1.7580993408473766
    a = 1 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
    x = np.random.default_rng(1).standard_normal((8, 16, 6)).astype("float32")
    y = _run(expr, x=x)
    kept = np.isclose(y, x * a + alpha * a * p, atol=1e-6)
    dropped = np.isclose(y, -alpha * a + alpha * a * p, atol=1e-6)
    assert np.all(kept | dropped) and dropped.any() and kept.any()
    if axes:  # one draw per (sample, channel)
        assert np.all(kept.all(axis=axes) | dropped.all(axis=axes))


def test_rrelu_training_slopes_lie_between_lower_and_upper():
    x = -np.random.default_rng(2).uniform(0.5, 1.0, (200,)).astype("float32")
    slope = _run("F.rrelu(x, 0.1, 0.3, training=True)", x=x) / x
    assert np.all((slope >= 0.1 - 1e-6) & (slope <= 0.3 + 1e-6)) and np.std(slope) > 0.01


def test_gumbel_softmax_samples_are_distributions_and_hard_ones_one_hot():
    x = np.random.default_rng(3).standard_normal((6, 5)).astype("float32")
    soft = _run("F.gumbel_softmax(x, tau=0.5)", x=x)
    np.testing.assert_allclose(soft.sum(-1), 1.0, rtol=1e-5)
    hard = _run("F.gumbel_softmax(x, hard=True, dim=0)", x=x)
    assert set(np.unique(hard)) <= {0.0, 1.0} and np.all(hard.sum(0) == 1)


# --- modules ------------------------------------------------------------------------------------
def two(*shape_a, shape_b=None):
    def make(rng):
        b = shape_b or shape_a
        return (rng.standard_normal(shape_a).astype(np.float32), rng.standard_normal(b).astype(np.float32)), {}

    return make


def pooled_with_indices(*shape, kernel=2):
    def make(rng):
        x = torch.from_numpy(rng.standard_normal(shape).astype(np.float32))
        pool = {3: torch.nn.functional.max_pool1d, 4: torch.nn.functional.max_pool2d}[len(shape)]
        values, indices = pool(x, kernel, return_indices=True)
        return (values.numpy(), indices.numpy()), {}

    return make


def bags(rng):
    return (rng.integers(0, 10, (9,)).astype(np.int64), np.array([0, 2, 2, 5], dtype=np.int64)), {}


def cell_inputs(*shape, hidden=6, lstm=False):
    def make(rng):
        x = rng.standard_normal(shape).astype(np.float32)
        h = rng.standard_normal(shape[:-1] + (hidden,)).astype(np.float32)
        if lstm:
            return (x, (h, rng.standard_normal(h.shape).astype(np.float32))), {}
        return (x, h), {}

    return make


MODULES = [
    case("nn.Softmin(dim=1)", randn(2, 3, 4)),
    case("nn.Threshold(0.1, 20.0)", randn(2, 3, 4)),
    case("nn.RReLU(0.1, 0.3)", randn(2, 3, 4)),
    case("nn.ChannelShuffle(2)", randn(2, 6, 3, 4)),
    case("nn.CosineSimilarity(dim=-1)", two(3, 5)),
    case("nn.CosineSimilarity()", two(2, 4, 3)),
    case("nn.PairwiseDistance(p=1, keepdim=True)", two(4, 5)),
    case("nn.LocalResponseNorm(3)", randn(2, 6, 4, 4)),
    case("nn.SyncBatchNorm(3)", randn(2, 3, 4, 5)),
    case("nn.SyncBatchNorm(3, eps=1e-3, affine=False)", randn(4, 3, 5)),
    case("nn.LPPool1d(2, 3)", lambda rng: ((np.abs(rng.standard_normal((2, 3, 9))).astype(np.float32),), {})),
    case(
        "nn.LPPool2d(2, 2, stride=1)", lambda rng: ((np.abs(rng.standard_normal((2, 3, 5, 4))).astype(np.float32),), {})
    ),
    case("nn.MaxUnpool1d(2)", pooled_with_indices(2, 3, 8)),
    case("nn.MaxUnpool2d(2, stride=2)", pooled_with_indices(2, 3, 6, 4)),
    case("nn.Unfold(3, padding=1)", randn(2, 3, 5, 4)),
    case("nn.Fold((5, 4), 2)", randn(2, 12, 12)),
    case("nn.FeatureAlphaDropout(0.2)", randn(2, 3, 4)),
    case("nn.Bilinear(4, 5, 3)", two(2, 4, shape_b=(2, 5)), grad=True),
    case("nn.Bilinear(4, 5, 3, bias=False)", two(2, 4, shape_b=(2, 5))),
    case("nn.EmbeddingBag(10, 4)", token_ids(3, 5)),
    case("nn.EmbeddingBag(10, 4, mode='sum')", bags),
    case("nn.EmbeddingBag(10, 4, mode='max', padding_idx=0)", token_ids(3, 5)),
    case("nn.RNNCell(4, 6)", cell_inputs(3, 4)),
    case("nn.RNNCell(4, 6, nonlinearity='relu', bias=False)", cell_inputs(3, 4)),
    case("nn.RNNCell(4, 6)", randn(3, 4)),
    case("nn.LSTMCell(4, 6)", cell_inputs(3, 4, lstm=True), grad=True),
    case("nn.LSTMCell(4, 6)", randn(4)),
    case("nn.GRUCell(4, 6)", cell_inputs(3, 4), grad=True),
    case("nn.GRUCell(4, 6, bias=False)", randn(3, 4)),
    case("nn.LazyConv1d(6, 3)", randn(2, 4, 9), jit=True),
    case("nn.LazyConv2d(6, 3, padding=1)", randn(2, 4, 6, 5), jit=True),
    case("nn.LazyConv2d(6, 3, stride=2, padding=1)", randn(2, 4, 6, 5), jit=True),
    case("nn.LazyConv3d(4, 2)", randn(1, 2, 4, 4, 4), jit=True),
    case("nn.LazyConvTranspose1d(4, 3, stride=2)", randn(2, 3, 5), jit=True),
    case("nn.LazyConvTranspose2d(4, 4, 2, 1)", randn(2, 3, 5, 4), jit=True),
    case("nn.LazyConvTranspose3d(2, 2, stride=2)", randn(1, 3, 2, 3, 2), jit=True),
    case("nn.LazyBatchNorm1d()", randn(4, 3, 5)),
    case("nn.LazyBatchNorm2d(eps=1e-3)", randn(2, 3, 4, 5)),
    case("nn.LazyBatchNorm3d(affine=False)", randn(2, 3, 2, 3, 2)),
    case("nn.LazyInstanceNorm1d(track_running_stats=False)", randn(2, 3, 7)),
    case("nn.LazyInstanceNorm2d(affine=False, track_running_stats=False)", randn(2, 3, 4, 5)),
    case("nn.LazyInstanceNorm3d(eps=1e-3, track_running_stats=False)", randn(1, 2, 3, 4, 2)),
]


def _materialise(module, args):
    """torch's Lazy modules get their weights on the first call."""
    with torch.no_grad():
        module(*(torch.from_numpy(a) if isinstance(a, np.ndarray) else a for a in args))


@pytest.mark.parametrize("src,inputs,options", MODULES)
def test_module(src, inputs, options, monkeypatch):
    if "Lazy" in src:  # build_torch randomises parameters: the lazy ones must exist first
        import test_layer_numerics as layers

        original = layers.randomise

        def randomise(module, seed):
            args, _ = inputs(np.random.default_rng(0))
            _materialise(module, args)
            original(module, seed)

        monkeypatch.setattr(layers, "randomise", randomise)
    check_layer(src, inputs, **options)


def test_containers_and_wrappers_translate_to_plain_keras():
    layer, code = translate_layer("nn.DataParallel(nn.Linear(3, 2))")
    assert isinstance(layer, keras.layers.Dense), code
    params, code = translate_layer("nn.ParameterList([nn.Parameter(torch.ones(2)), nn.Parameter(torch.zeros(3))])")
    assert [tuple(p.shape) for p in params] == [(2,), (3,)], code
    buffer, code = translate_layer("nn.Buffer(torch.ones(4))")
    assert isinstance(buffer, keras.Variable) and not buffer.trainable, code
