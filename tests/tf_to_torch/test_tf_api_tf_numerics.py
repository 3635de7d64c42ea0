"""Numerics of the tf.* and tf.math.* rules added for API coverage (rules/tf_to_torch/tf_core.yaml,
tf_math.yaml): each TensorFlow expression runs eagerly and its translation under torch, on the
same random inputs, and the results must agree (values, shapes, float dtypes; integer results may
be int64 where TensorFlow gives int32). The helpers are those of test_tf_op_numerics.py.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest

pytest.importorskip("torch")
tf = pytest.importorskip("tensorflow")
pytest.importorskip("keras")
pytest.importorskip("einops")

import numpy as np
import torch
from test_tf_op_numerics import BOOL, F32, INT, POS, check

from fwtranslate import translate


def CONST(value):
    return ("const", value, None)


def UNIT(*shape):
    """Values in (-0.9, 0.9): the domain of asin, atanh, erfinv..."""
    return ("f", shape, 0.3)


X = {"x": F32(2, 3, 4)}
XU = {"x": UNIT(2, 3, 4)}
P = {"p": POS(2, 3, 4)}
AB = {"a": F32(2, 3, 4), "b": F32(2, 3, 4)}
GRID = {"a": F32(3), "b": F32(4)}
SEG = {"x": F32(6, 3), "s": INT(6, low=0, high=4)}  # unsorted, may leave a segment empty
SORTED = {"x": F32(5, 3), "s": CONST([0, 0, 2, 2, 3])}  # segment 1 empty
SEG2 = {"x": F32(2, 3, 4), "s": INT(2, 3, low=0, high=4)}  # ids over the first two axes
SCATTER = {"x": F32(4, 3), "i": CONST([[0, 1], [2, 2], [0, 1]]), "v": F32(3)}
ROWS = {"x": F32(4, 3), "i": CONST([[1], [3]]), "v": F32(2, 3)}
LABELS = {"y": INT(12, low=0, high=4), "p": INT(12, low=0, high=4)}

MATH = [
    ("tf.math.acos(x)", XU),
    ("tf.acos(x)", XU),
    ("tf.math.acosh(p + 1.0)", P),
    ("tf.math.asin(x)", XU),
    ("tf.math.asinh(x)", X),
    ("tf.math.atan(x)", X),
    ("tf.math.atanh(x)", XU),
    ("tf.math.cosh(x)", X),
    ("tf.math.sinh(x)", X),
    ("tf.math.tan(x)", XU),
    ("tf.math.erfc(x)", X),
    ("tf.math.erfinv(x)", XU),
    ("tf.math.bessel_i0(x)", X),
    ("tf.math.real(x)", X),
    ("tf.math.real(tf.complex(a, b))", AB),
    ("tf.math.imag(tf.complex(a, b))", AB),
    ("tf.math.imag(x)", X),
    ("tf.math.conj(tf.complex(a, b))", AB),
    ("tf.math.conj(x)", X),
    ("tf.math.angle(tf.complex(a, b))", AB),
    ("tf.math.angle(x)", X),
    ("tf.math.atan2(a, b)", AB),
    ("tf.math.nextafter(a, b)", AB),
    ("tf.math.divide_no_nan(a, tf.round(b))", AB),
    ("tf.math.divide_no_nan(i, j)", {"i": INT(3, 4, low=-5, high=5), "j": INT(3, 4, low=0, high=2)}),
    ("tf.math.scalar_mul(2.0, x)", X),
    ("tf.math.count_nonzero(tf.round(x))", X),
    ("tf.math.count_nonzero(tf.round(x), axis=1, keepdims=True)", X),
    ("tf.math.count_nonzero(m, axis=[0, 2], dtype=tf.int32)", {"m": BOOL(2, 3, 4)}),
    ("tf.math.bincount(i)", {"i": INT(3, 4, low=0, high=6)}),
    ("tf.math.bincount(i, weights=w, minlength=8)", {"i": INT(3, 4, low=0, high=6), "w": F32(3, 4)}),
    ("tf.math.invert_permutation(p)", {"p": CONST([2, 0, 3, 1, 4])}),
    ("tf.math.in_top_k(t, p, 2)", {"t": INT(6, low=0, high=5), "p": F32(6, 5)}),
    ("tf.math.confusion_matrix(y, p)", LABELS),
    ("tf.math.confusion_matrix(y, p, num_classes=5, weights=w, dtype=tf.float32)", {**LABELS, "w": POS(12)}),
    ("tf.math.unsorted_segment_sum(x, s, 5)", SEG),
    ("tf.math.unsorted_segment_max(x, s, num_segments=5)", SEG),
    ("tf.math.unsorted_segment_min(x, s, 5)", SEG),
    ("tf.math.unsorted_segment_prod(x, s, 5)", SEG),
    ("tf.math.unsorted_segment_sum(x, s, 4)", SEG2),
    ("tf.math.segment_sum(x, s)", SORTED),
    ("tf.math.segment_max(x, s)", SORTED),
    ("tf.math.segment_min(x, s)", SORTED),
    ("tf.math.segment_prod(x, s)", SORTED),
]

CORE = [
    ("tf.is_tensor(x)", X),
    ("tf.cast(x, tf.as_dtype('float64'))", X),
    ("tf.is_symbolic_tensor(x)", X),
    ("tf.complex(a, b)", AB),
    ("tf.bitcast(x, tf.int32)", X),
    ("tf.bitcast(x, tf.uint8)", X),
    ("tf.bitcast(tf.bitcast(x, tf.int16), tf.float32)", X),
    ("tf.function(lambda v: v * 2 + 1)(x)", X),
    ("tf.group(x, x * 2) is None", X),
    ("tf.no_op() is None", {}),
    ("tf.inside_function()", {}),
    ("tf.get_static_value(x)", X),
    ("tf.get_static_value(3)", {}),
    ("tf.ensure_shape(x, [None, 3, 4])", X),
    ("tf.Assert(tf.reduce_all(p > 0.0), [p]) is None", P),
    ("tf.assert_greater(p, 0.0) is None", P),
    ("tf.print('values', x) is None", X),
    ("tf.recompute_grad(lambda v: tf.sin(v) * v)(x)", X),
    ("tf.cond(tf.reduce_sum(x) > 0, lambda: x * 2, lambda: x - 1)", X),
    ("tf.cond(tf.reduce_sum(x) > 100, lambda: x * 2, lambda: x - 1)", X),
    ("tf.case([(tf.reduce_sum(x) > 100, lambda: x * 2), (tf.reduce_sum(x) < 100, lambda: x + 5)])", X),
    ("tf.case([(tf.reduce_sum(x) > 100, lambda: x * 2)], default=lambda: x - 1)", X),
    ("tf.switch_case(tf.constant(1), [lambda: x + 1, lambda: x * 3])", X),
    ("tf.switch_case(tf.constant(7), [lambda: x + 1, lambda: x * 3])", X),
    ("tf.switch_case(tf.constant(5), {0: lambda: x + 1, 1: lambda: x * 3}, default=lambda: x - 2)", X),
    ("tf.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, v * 2), [0, x])", X),
    ("tf.while_loop(lambda v: True, lambda v: (v + 1,), (x,), maximum_iterations=4)", X),
    ("tf.map_fn(lambda v: tf.reduce_sum(v, axis=0), x)", X),
    ("tf.map_fn(lambda ab: ab[0] * ab[1], (a, b), fn_output_signature=tf.float32)", AB),
    ("tf.vectorized_map(lambda v: tf.matmul(v, v, transpose_b=True), x)", X),
    ("tf.slice(x, [0, 1, 0], [2, -1, 3])", X),
    ("tf.gather_nd(x, i)", {"x": F32(2, 3, 4), "i": CONST([[0, 1], [1, 2], [1, 0]])}),
    ("tf.gather_nd(x, i)", {"x": F32(2, 3, 4), "i": CONST([[[0, 1, 3]], [[1, 2, 0]]])}),
    ("tf.boolean_mask(x, m)", {"x": F32(2, 3, 4), "m": BOOL(2, 3)}),
    ("tf.boolean_mask(x, m, axis=1)", {"x": F32(2, 3, 4), "m": BOOL(3)}),
    ("tf.boolean_mask(x, m, axis=2)", {"x": F32(2, 3, 4), "m": BOOL(4)}),
    ("tf.scatter_nd(i, v, [4, 3])", {"i": CONST([[0, 1], [2, 2], [0, 1]]), "v": F32(3)}),
    ("tf.scatter_nd(i, v, [4, 3])", {"i": CONST([[1], [3]]), "v": F32(2, 3)}),
    ("tf.tensor_scatter_nd_update(x, i, v)", {"x": F32(4, 3), "i": CONST([[0, 1], [2, 2]]), "v": F32(2)}),
    ("tf.tensor_scatter_nd_update(x, i, v)", ROWS),
    ("tf.tensor_scatter_nd_update(x, i, v)", {"x": F32(4, 3), "i": CONST([[[0, 1]], [[3, 2]]]), "v": F32(2, 1)}),
    ("tf.tensor_scatter_nd_add(x, i, v)", SCATTER),
    ("tf.tensor_scatter_nd_add(x, i, v)", ROWS),
    ("tf.tensor_scatter_nd_max(x, i, v)", SCATTER),
    ("tf.tensor_scatter_nd_min(x, i, v)", SCATTER),
    ("tf.searchsorted(tf.sort(s), v)", {"s": F32(6), "v": F32(5)}),
    ("tf.searchsorted(tf.sort(s), v, side='right')", {"s": INT(2, 6), "v": INT(2, 4)}),
    ("tf.repeat(x, 2, axis=1)", X),
    ("tf.repeat(x, [1, 2, 0], axis=1)", X),
    ("tf.repeat(x, 2)", X),
    ("tf.reverse_sequence(x, n, seq_axis=1)", {"x": F32(3, 5, 2), "n": CONST([1, 3, 5])}),
    ("tf.reverse_sequence(x, n, 0, batch_axis=1)", {"x": F32(5, 3, 2), "n": CONST([2, 0, 4])}),
    ("tf.sequence_mask(n, 6)", {"n": INT(2, 3, low=0, high=7)}),
    ("tf.sequence_mask(n)", {"n": INT(4, low=1, high=7)}),
    ("tf.sequence_mask(n, 5, dtype=tf.float32)", {"n": INT(4, low=0, high=6)}),
    ("tf.unique(x)", {"x": INT(9, low=0, high=5)}),
    ("tf.unique_with_counts(x)", {"x": INT(9, low=-3, high=3)}),
    ("tf.meshgrid(a, b)", GRID),
    ("tf.meshgrid(a, b, indexing='ij')", GRID),
    ("tf.linspace(0.0, 1.0, 5)", {}),
    ("tf.linspace(0, 10, 5)", {}),
    ("tf.linspace(a, b, 4)", {"a": F32(3), "b": F32(3)}),
    ("tf.linspace(a, b, 4, axis=-1)", {"a": F32(2, 3), "b": F32(2, 3)}),
    ("tf.broadcast_dynamic_shape(tf.shape(a), tf.shape(b))", {"a": F32(2, 1, 4), "b": F32(3, 1)}),
    ("tf.broadcast_static_shape(a.shape, b.shape)", {"a": F32(2, 1, 4), "b": F32(3, 1)}),
    ("tf.add_n([a, b, a])", AB),
    ("tf.add_n([i, i])", {"i": INT(3, 4)}),
    ("tf.clip_by_norm(x, 1.0)", X),
    ("tf.clip_by_norm(x, 1.0, axes=[1])", X),
    ("tf.clip_by_norm(x * 0.0, 1.0)", X),
    ("tf.clip_by_global_norm([a, b], 1.0)", AB),
    ("tf.clip_by_global_norm([a * 0.01, b], 100.0)", AB),
    ("tf.histogram_fixed_width(x, [-1.0, 1.0], nbins=5)", X),
    ("tf.histogram_fixed_width(x, [-2.0, 2.0])", X),
    ("tf.histogram_fixed_width_bins(x, [-1.0, 1.0], nbins=5)", X),
]


def _params(groups):
    return [pytest.param(expr, inputs, id=f"{group}:{expr}") for group, cases in groups for expr, inputs in cases]


@pytest.mark.parametrize("expr,inputs", _params([("tf.math", MATH), ("tf", CORE)]))
def test_tf_api_match(expr, inputs):
    check(expr, inputs)


# the graph-mode contexts are statements, not expressions: one function uses them all
CONTEXTS = """
import tensorflow as tf

def f(x):
    y = x * 2
    with tf.control_dependencies([y]):
        with tf.init_scope():
            with tf.device("/cpu:0"):
                return tf.identity(y) + 1
"""


def test_graph_contexts_do_nothing_eagerly():
    result = translate(CONTEXTS, to="torch")
    assert result.ok and "tensorflow" not in result.code, result.code
    namespace: dict = {}
    exec(compile(result.code, "<translated>", "exec"), namespace)
    reference: dict = {}
    exec(CONTEXTS, reference)
    x = np.arange(6, dtype="float32").reshape(2, 3)
    np.testing.assert_allclose(namespace["f"](torch.from_numpy(x)).numpy(), reference["f"](tf.constant(x)).numpy())
