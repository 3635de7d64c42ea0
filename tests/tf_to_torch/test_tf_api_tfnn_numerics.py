"""Numerics of the tf.nn, tf.linalg, tf.image and Keras backend rules (rules/tf_to_torch/tf_nn.yaml,
tf_linalg.yaml, tf_image.yaml, backend.yaml): each TensorFlow expression runs in TensorFlow and its
translation under torch, on the same random inputs, and the results must agree. The helpers are
those of test_tf_op_numerics.py.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import ast
import functools
import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
tf = pytest.importorskip("tensorflow")
pytest.importorskip("keras")
pytest.importorskip("einops")

from test_tf_op_numerics import F32, INT, POS, _compare, _make, _to_numpy, check

from fwtranslate import translate

# tf_keras (the Keras 2 backend the K.* rules translate): installed, or the sources that
# `benchmarks/api_coverage.py --fetch` unpacks
_TF_KERAS_SOURCES = Path(__file__).resolve().parents[2] / ".corpus" / "ranking" / "src" / "tf_keras"


def CONST(value):
    return ("const", value, None)


IMG = {"x": F32(2, 7, 6, 3)}
SEQ = {"x": F32(2, 9, 3)}
VOL = {"x": F32(1, 5, 6, 4, 2)}
CONV2 = {"x": F32(2, 7, 6, 3), "w": F32(3, 2, 3, 4)}
LOGITS = {"y": POS(4, 5), "z": F32(4, 5)}

NN = [
    ("tf.nn.softmax_cross_entropy_with_logits(labels=y / tf.reduce_sum(y, -1, keepdims=True), logits=z)", LOGITS),
    ("tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=z)", {"y": INT(2, 4, high=5), "z": F32(2, 4, 5)}),
    ("tf.nn.sigmoid_cross_entropy_with_logits(labels=y / 2.0, logits=z * 3.0)", LOGITS),
    ("tf.nn.l2_loss(z)", LOGITS),
    (
        "tf.nn.ctc_loss(y, z, n, t)",
        {"y": INT(2, 3, low=1, high=5), "z": F32(8, 2, 5), "n": CONST([3, 2]), "t": CONST([8, 6])},
    ),
    (
        "tf.nn.ctc_loss(y, z, n, t, logits_time_major=False, blank_index=4)",
        {"y": INT(2, 3, low=0, high=4), "z": F32(2, 8, 5), "n": CONST([2, 3]), "t": CONST([7, 8])},
    ),
    (
        "tf.nn.batch_normalization(x, m, v, b, g, 1e-3)",
        {"x": F32(2, 4, 3), "m": F32(3), "v": POS(3), "b": F32(3), "g": F32(3)},
    ),
    ("tf.nn.batch_normalization(x, m, v, None, None, 1e-3)", {"x": F32(2, 4, 3), "m": F32(3), "v": POS(3)}),
    ("tf.nn.weighted_moments(x, [0, 1], w)", {"x": F32(4, 3, 2), "w": POS(4, 3, 1)}),
    ("tf.nn.weighted_moments(x, 1, w, keepdims=True)", {"x": F32(4, 3), "w": POS(4, 3)}),
    ("tf.nn.embedding_lookup(t, i)", {"t": F32(6, 3), "i": INT(2, 4, high=6)}),
    ("tf.nn.depth_to_space(x, 2)", {"x": F32(2, 3, 4, 8)}),
    ("tf.nn.space_to_depth(x, 2)", {"x": F32(2, 4, 6, 3)}),
    ("tf.nn.conv2d(x, w, strides=1, padding='SAME')", CONV2),
    ("tf.nn.conv2d(x, w, [1, 2, 2, 1], 'SAME')", CONV2),
    ("tf.nn.conv2d(x, w, 1, 'VALID', dilations=2)", CONV2),
    ("tf.nn.conv2d(x, w, 1, [[0, 0], [1, 2], [0, 1], [0, 0]])", CONV2),
    ("tf.nn.conv1d(x, w, 2, 'SAME')", {"x": F32(2, 9, 3), "w": F32(4, 3, 5)}),
    ("tf.nn.conv3d(x, w, [1, 1, 2, 1, 1], 'SAME')", {"x": F32(1, 5, 6, 4, 2), "w": F32(2, 3, 2, 2, 3)}),
    ("tf.nn.convolution(x, w, strides=2, padding='SAME')", CONV2),
    ("tf.nn.atrous_conv2d(x, w, 2, 'SAME')", CONV2),
    ("tf.nn.conv2d_transpose(x, w, [2, 13, 11, 4], 2)", {"x": F32(2, 7, 6, 3), "w": F32(3, 2, 4, 3)}),
    ("tf.nn.conv2d_transpose(x, w, [2, 15, 12, 4], 2, padding='VALID')", {"x": F32(2, 7, 6, 3), "w": F32(3, 2, 4, 3)}),
    ("tf.nn.conv1d_transpose(x, w, [2, 27, 2], 3)", {"x": F32(2, 9, 3), "w": F32(4, 2, 3)}),
    (
        "tf.nn.conv3d_transpose(x, w, [1, 10, 12, 8, 3], [1, 2, 2, 2, 1])",
        {"x": F32(1, 5, 6, 4, 2), "w": F32(3, 3, 2, 3, 2)},
    ),
    ("tf.nn.conv_transpose(x, w, [2, 14, 12, 4], 2)", {"x": F32(2, 7, 6, 3), "w": F32(2, 2, 4, 3)}),
    ("tf.nn.atrous_conv2d_transpose(x, w, [2, 7, 6, 4], 2, 'SAME')", {"x": F32(2, 7, 6, 3), "w": F32(3, 3, 4, 3)}),
    ("tf.nn.depthwise_conv2d(x, w, [1, 2, 2, 1], 'SAME')", {"x": F32(2, 7, 6, 3), "w": F32(3, 3, 3, 2)}),
    (
        "tf.nn.separable_conv2d(x, d, p, [1, 1, 1, 1], 'VALID')",
        {"x": F32(2, 7, 6, 3), "d": F32(3, 3, 3, 2), "p": F32(1, 1, 6, 4)},
    ),
    ("tf.nn.pool(x, [3, 3], 'MAX', strides=[2, 2], padding='SAME')", IMG),
    ("tf.nn.pool(x, [3, 2], 'AVG', strides=[2, 2], padding='SAME')", IMG),
    ("tf.nn.pool(x, [2], 'MAX', padding='VALID', dilations=[2])", SEQ),
    ("tf.nn.max_pool(x, 3, 2, 'SAME')", IMG),
    ("tf.nn.avg_pool(x, [1, 3, 3, 1], [1, 2, 2, 1], 'SAME')", IMG),
    ("tf.nn.avg_pool(x, 2, 2, 'VALID')", SEQ),
    ("tf.nn.max_pool3d(x, 2, 2, 'SAME')", VOL),
    ("tf.nn.avg_pool3d(x, 3, 2, 'SAME')", VOL),
]

SQ = {"m": F32(2, 3, 3)}
SPD = "tf.matmul(m, m, transpose_b=True) + tf.eye(3)"
RHS = {"m": F32(2, 3, 3), "b": F32(2, 3, 2)}
LINALG = [
    ("tf.linalg.l2_normalize(m, axis=-1)", SQ),
    ("tf.linalg.adjoint(m)", SQ),
    ("tf.linalg.matrix_transpose(m)", SQ),
    ("tf.linalg.diag_part(m, k=1)", SQ),
    ("tf.linalg.tensor_diag_part(m)", {"m": F32(2, 3, 2, 3)}),
    ("tf.linalg.diag(m, k=-1)", {"m": F32(2, 3)}),
    ("tf.linalg.trace(m)", SQ),
    ("tf.linalg.det(m)", SQ),
    ("tf.linalg.slogdet(m)", SQ),
    (f"tf.linalg.logdet({SPD})", SQ),
    ("tf.linalg.inv(m, adjoint=True)", SQ),
    ("tf.linalg.pinv(m)", {"m": F32(4, 3)}),
    (f"tf.linalg.cholesky({SPD})", SQ),
    ("tf.abs(tf.linalg.qr(m)[1])", {"m": F32(4, 3)}),
    ("tf.linalg.svd(m, compute_uv=False)", {"m": F32(4, 3)}),
    ("tf.abs(tf.linalg.svd(m)[2])", {"m": F32(4, 3)}),
    (f"tf.sort(ops.real(tf.linalg.eig({SPD})[0]))", SQ),
    (f"tf.linalg.eigh({SPD})[0]", SQ),
    (f"tf.linalg.eigvalsh({SPD})", SQ),
    ("tf.linalg.lu(m)", SQ),
    ("tf.linalg.matrix_rank(tf.concat([m, m], axis=-1))", SQ),
    ("tf.linalg.solve(m, b)", RHS),
    ("tf.linalg.triangular_solve(m + 3 * tf.eye(3), b, lower=False, adjoint=True)", RHS),
    ("tf.linalg.cross(a, b)", {"a": F32(4, 3), "b": F32(4, 3)}),
]

RGB = {"x": ("pos", (2, 5, 4, 3), None)}  # values in (0.1, 2): scaled into [0, 1] below
UNIT_RGB = "x / 2.0"
IMAGE = [
    ("tf.image.resize(x, (7, 9), method='nearest')", IMG),
    ("tf.image.convert_image_dtype(x / 2.0, tf.uint8)", RGB),
    ("tf.image.convert_image_dtype(x / 2.0, tf.uint8, saturate=True)", RGB),
    ("tf.image.convert_image_dtype(tf.image.convert_image_dtype(x / 2.0, tf.uint8), tf.float32)", RGB),
    ("tf.image.convert_image_dtype(tf.image.convert_image_dtype(x / 2.0, tf.int32), tf.uint8)", RGB),
    ("tf.image.convert_image_dtype(tf.image.convert_image_dtype(x / 2.0, tf.uint8), tf.int16)", RGB),
    ("tf.image.rgb_to_grayscale(x)", RGB),
    ("tf.image.grayscale_to_rgb(x[..., :1])", RGB),
    (f"tf.image.rgb_to_hsv({UNIT_RGB})", RGB),
    (f"tf.image.hsv_to_rgb({UNIT_RGB})", RGB),
    ("tf.image.crop_to_bounding_box(x, 1, 2, 3, 4)", IMG),
    ("tf.image.pad_to_bounding_box(x, 1, 2, 10, 9)", IMG),
    ("tf.image.central_crop(x, 0.5)", IMG),
    ("tf.image.resize_with_pad(x, 9, 9)", IMG),
    ("tf.image.resize_with_pad(x[0], 4, 10, method='nearest')", IMG),
    ("tf.image.flip_left_right(x)", IMG),
    ("tf.image.flip_up_down(x[0])", IMG),
    ("tf.image.rot90(x, k=3)", IMG),
    ("tf.image.transpose(x)", IMG),
    ("tf.image.random_flip_left_right(x + tf.image.flip_left_right(x))", IMG),
    ("tf.image.random_flip_up_down(x + tf.image.flip_up_down(x))", IMG),
    ("tf.image.adjust_contrast(x, 1.7)", IMG),
    ("tf.image.random_contrast(x[:, :1, :1] + 0.0 * x, 0.5, 1.5)", IMG),  # constant per image and channel: unchanged
    ("tf.image.adjust_brightness(x, 0.3)", IMG),
    ("tf.image.per_image_standardization(x)", IMG),
    ("tf.image.extract_patches(x, [1, 3, 2, 1], [1, 2, 2, 1], [1, 1, 1, 1], 'SAME')", IMG),
    ("tf.image.extract_patches(x, [1, 2, 2, 1], [1, 1, 2, 1], [1, 2, 1, 1], 'VALID')", IMG),
    ("tf.image.sobel_edges(x)", IMG),
    (
        "tf.image.ssim(x, y, max_val=2.0, filter_size=5)",
        {"x": ("pos", (2, 9, 8, 3), None), "y": ("pos", (2, 9, 8, 3), None)},
    ),
]

CASES = [("tf.nn", NN), ("tf.linalg", LINALG), ("tf.image", IMAGE)]


def _params(groups):
    return [pytest.param(expr, inputs, id=f"{group}:{expr}") for group, cases in groups for expr, inputs in cases]


@pytest.mark.parametrize("expr,inputs", _params(CASES))
def test_tf_namespaces_match(expr, inputs):
    check(expr, inputs)


# --- the Keras 2 backend, against tf_keras' own K functions --------------------------------------
@functools.cache
def _tf_keras_backend():
    try:
        return importlib.import_module("tf_keras.backend")
    except ImportError:
        if not _TF_KERAS_SOURCES.is_dir():
            pytest.skip("tf_keras is not installed (benchmarks/api_coverage.py --fetch unpacks it)")
        sys.path.insert(0, str(_TF_KERAS_SOURCES))
        return importlib.import_module("tf_keras.backend")


@functools.cache
def _translated_k(expr: str, args: tuple[str, ...]):
    source = f"from keras import backend as K\n\n\ndef f({', '.join(args)}):\n    return {expr}\n"
    result = translate(source, to="torch")
    assert result.ok, [d.format() for d in result.diagnostics]
    modules = {
        alias.name.split(".")[0]
        for node in ast.walk(ast.parse(result.code))
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    modules |= {
        (node.module or "").split(".")[0]
        for node in ast.walk(ast.parse(result.code))
        if isinstance(node, ast.ImportFrom)
    }
    assert not modules & {"keras", "tensorflow", "tf_keras"}, result.code
    assert "K" not in {n.id for n in ast.walk(ast.parse(result.code)) if isinstance(n, ast.Name)}, result.code
    namespace: dict = {}
    exec(compile(result.code, "<translated>", "exec"), namespace)
    return namespace["f"], result.code


def check_backend(expr, inputs, seed=0):
    rng = np.random.default_rng(seed)
    args = tuple(inputs)
    arrays = {name: _make(spec, rng) for name, spec in inputs.items()}
    fn, code = _translated_k(expr, args)
    namespace = {"K": _tf_keras_backend(), "tf": tf, "np": np}
    exec(f"def f({', '.join(args)}):\n    return {expr}\n", namespace)
    want = namespace["f"](*(arrays[a] if inputs[a][0] == "const" else tf.convert_to_tensor(arrays[a]) for a in args))
    got = fn(*(arrays[a] if inputs[a][0] == "const" else torch.from_numpy(np.array(arrays[a])) for a in args))
    _compare(_to_numpy(got), _to_numpy(want), code)


X = {"x": F32(2, 3, 4)}
XY = {"x": F32(2, 3, 4), "y": F32(2, 3, 4)}
M = {"x": F32(3, 4), "y": F32(4, 5)}
PROBS = {"y": POS(4, 5), "p": POS(4, 5)}
BIN = {"y": INT(4, 5, high=2), "p": POS(4, 5)}
KIMG = {"x": F32(2, 5, 6, 3), "w": F32(3, 3, 3, 4)}
BACKEND = [
    ("K.image_data_format() + K.floatx() + str(K.epsilon())", {}),
    ("K.int_shape(x) + (K.ndim(x), K.count_params(x))", X),
    ("K.shape(x)[1] * 2", X),
    ("K.dtype(K.cast(x, 'float64'))", X),
    ("K.cast(x > 0, K.floatx())", X),
    ("K.cast_to_floatx(2)", {}),
    ("[K.mean(K.square(x - y), axis=-1), K.cast_to_floatx(x * 2)]", XY),
    ("K.learning_phase()", {}),
    ("K.in_train_phase(x, x * 2.0, training=1) + K.in_test_phase(x, x * 3.0)", X),
    ("K.get_value(K.variable(x))", X),
    ("K.eval(K.constant(2.0, shape=(2, 3)))", {}),
    ("K.batch_get_value([K.zeros((2, 3)), K.ones((2,), dtype='int32')])", {}),
    ("K.zeros_like(x) + K.ones_like(x) + K.eye(4)", {"x": F32(2, 4, 4)}),
    ("K.arange(1, 7, 2)", {}),
    ("K.is_sparse(x)", X),
    ("K.to_dense(x)", X),
    ("K.abs(x) + K.square(x) + K.sqrt(x) + K.exp(x) + K.cos(x) + K.sin(x)", X),
    ("K.log(K.abs(x) + 1.0) + K.round(x * 3.0) + K.sign(x) + K.pow(x, 2)", X),
    ("K.maximum(x, 0.0) + K.minimum(x, y) + K.clip(x, -0.5, 0.5)", XY),
    (
        "[K.equal(x, y), K.not_equal(x, y), K.greater(x, y), K.greater_equal(x, y), K.less(x, y), K.less_equal(x, y)]",
        XY,
    ),
    ("K.dot(x, y)", M),
    ("K.dot(x, y)", {"x": F32(2, 3, 4), "y": F32(5, 4, 2)}),
    ("K.l2_normalize(x, axis=-1)", X),
    ("K.sum(x, axis=1) + K.mean(x, axis=1) + K.max(x, axis=1) + K.min(x, axis=1)", X),
    ("K.prod(x, axis=[0, 2]) + K.std(x, axis=[0, 2]) + K.var(x, axis=[0, 2])", X),
    ("[K.all(x > -1.0), K.any(x > 1.0, axis=1, keepdims=True), K.mean(x > 0)]", X),
    ("[K.argmax(x), K.argmin(x, axis=1)]", X),
    ("K.cumsum(x, axis=1) + K.cumprod(x)", X),
    ("K.reshape(x, (-1, 4))", X),
    ("[K.flatten(x), K.batch_flatten(x)]", X),
    ("K.concatenate([x, y]) + 0.0", XY),
    ("K.stack([x, y], axis=1)", XY),
    ("[K.transpose(x), K.permute_dimensions(x, (0, 2, 1))]", X),
    ("[K.expand_dims(x), K.squeeze(K.expand_dims(x, 1), 1)]", X),
    ("K.repeat(x[0], 3)", X),
    ("K.repeat_elements(x, 2, axis=1)", X),
    ("K.tile(x, (1, 2, 1))", X),
    ("K.reverse(x, 1) + K.reverse(x, [0, 2])", X),
    ("K.gather(x, i)", {"x": F32(5, 3), "i": INT(2, 4, high=5)}),
    ("K.one_hot(i, 5)", {"i": INT(2, 4, high=5)}),
    ("K.stop_gradient(x)", X),
    ("K.switch(K.greater(x, 0.0), x, -x)", X),
    ("K.switch(x[0, 0, 0] > 0, lambda: x * 2.0, lambda: x * 3.0)", X),
    ("K.map_fn(lambda r: r * 2.0, x)", X),
    ("K.relu(x) + K.relu(x, alpha=0.1, max_value=0.5) + K.elu(x, 0.5)", X),
    ("K.sigmoid(x) + K.hard_sigmoid(x) + K.tanh(x) + K.softplus(x) + K.softsign(x)", X),
    ("K.softmax(x) + K.softmax(x, axis=1)", X),
    ("K.binary_crossentropy(K.cast(y, 'float32'), p / 2.0)", BIN),
    ("K.binary_crossentropy(K.cast(y, 'float32'), p, from_logits=True)", BIN),
    ("K.categorical_crossentropy(y, p)", PROBS),
    ("K.sparse_categorical_crossentropy(i, p)", {"i": INT(4, high=5), "p": POS(4, 5)}),
    ("K.binary_focal_crossentropy(K.cast(y, 'float32'), p / 2.0, apply_class_balancing=True)", BIN),
    ("K.categorical_focal_crossentropy(y, p, from_logits=True)", PROBS),
    ("K.bias_add(x, b)", {"x": F32(2, 3, 4), "b": F32(4)}),
    ("K.conv2d(x, w, strides=(2, 2), padding='same')", KIMG),
    ("K.conv1d(x, w, padding='same', dilation_rate=2)", {"x": F32(2, 9, 3), "w": F32(3, 3, 4)}),
    ("K.conv2d_transpose(x, w, (2, 10, 12, 3), (2, 2), 'same')", {"x": F32(2, 5, 6, 4), "w": F32(3, 3, 3, 4)}),
    ("K.depthwise_conv2d(x, w, padding='same')", {"x": F32(2, 5, 6, 3), "w": F32(3, 3, 3, 2)}),
    ("K.separable_conv2d(x, d, p, padding='same')", {"x": F32(2, 5, 6, 3), "d": F32(3, 3, 3, 2), "p": F32(1, 1, 6, 4)}),
    ("K.pool2d(x, (3, 3), (2, 2), 'same', pool_mode='avg')", KIMG),
    ("K.pool3d(x, (2, 2, 2), (2, 2, 2), 'same')", {"x": F32(1, 3, 5, 4, 2)}),
    ("K.temporal_padding(x, (2, 1))", X),
    ("K.spatial_2d_padding(x, ((1, 2), (0, 1)))", {"x": F32(2, 3, 4, 2)}),
    ("K.spatial_3d_padding(x)", {"x": F32(1, 2, 3, 2, 2)}),
    ("K.resize_images(x, 2, 3, 'channels_last')", {"x": F32(2, 3, 4, 2)}),
    ("K.resize_images(x, 2, 2, 'channels_last', interpolation='bilinear')", {"x": F32(2, 3, 4, 2)}),
    ("K.resize_volumes(x, 2, 1, 2, 'channels_last')", {"x": F32(1, 2, 3, 2, 2)}),
    ("K.is_keras_tensor(x)", X),
    ("[K.get_value(K.update_add(K.variable(x), y)), K.get_value(K.update_sub(K.variable(x), y))]", XY),
    ("K.get_value(K.moving_average_update(K.variable(x), y, 0.9))", XY),
    ("K.dropout(x, 0.0)", X),
    ("K.in_top_k(p, i, 2)", {"p": F32(4, 5), "i": INT(4, high=5)}),
    ("K.batch_normalization(x, m, v, b, g)", {"x": F32(2, 3, 4), "m": F32(4), "v": POS(4), "b": F32(4), "g": F32(4)}),
    ("[K.foldl(lambda a, r: a * 0.5 + r, x), K.foldr(lambda a, r: a * 0.5 + r, x, K.zeros((3, 4)))]", X),
]


@pytest.mark.parametrize("expr,inputs", [pytest.param(e, i, id=f"K:{e}") for e, i in BACKEND])
def test_keras_backend_matches_tf_keras(expr, inputs):
    check_backend(expr, inputs)
