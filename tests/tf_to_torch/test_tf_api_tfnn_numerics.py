"""Numerics of the tf.nn, tf.linalg, tf.image and Keras backend rules (rules/tf_to_torch/tf_nn.yaml,
tf_linalg.yaml, tf_image.yaml, backend.yaml): each TensorFlow expression runs in TensorFlow and its
translation under torch, on the same random inputs, and the results must agree. The helpers are
those of test_tf_op_numerics.py.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest

pytest.importorskip("torch")
pytest.importorskip("tensorflow")
pytest.importorskip("keras")
pytest.importorskip("einops")

from test_tf_op_numerics import F32, INT, POS, check


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
]

CASES = [("tf.nn", NN), ("tf.linalg", LINALG), ("tf.image", IMAGE)]


def _params(groups):
    return [pytest.param(expr, inputs, id=f"{group}:{expr}") for group, cases in groups for expr, inputs in cases]


@pytest.mark.parametrize("expr,inputs", _params(CASES))
def test_tf_namespaces_match(expr, inputs):
    check(expr, inputs)
