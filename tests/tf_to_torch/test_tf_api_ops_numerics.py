"""Numerics of the keras.ops rules added for API coverage (rules/tf_to_torch/ops_*.yaml): each
Keras expression runs under the TensorFlow backend and its translation under torch, on the same
random inputs, and the results must agree (values, shapes, float dtypes; integer results may be
int64 where Keras gives int32). The helpers are those of test_tf_op_numerics.py.
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


def BOOL(*shape):
    return ("b", shape, None)


def CONST(value):
    return ("const", value, None)


def UNIT(*shape):
    """Values in (-0.9, 0.9): the domain of arcsin, arctanh..."""
    return ("f", shape, 0.3)


X = {"x": F32(2, 3, 4)}
XU = {"x": UNIT(2, 3, 4)}
P = {"p": POS(2, 3, 4)}
AB = {"a": F32(2, 3, 4), "b": F32(2, 3, 4)}
II = {"x": INT(2, 3, low=-20, high=20), "y": INT(2, 3, low=0, high=4)}
IP = {"a": INT(2, 3, low=1, high=30), "b": INT(2, 3, low=1, high=30)}
SQ = {"x": F32(2, 3, 3)}
SPD = {"x": F32(2, 3, 3)}
V = {"a": F32(3), "b": F32(4)}

ONE_CALL = [
    ("ops.arccos(x)", XU),
    ("ops.arcsin(x)", XU),
    ("ops.arccosh(p + 1.0)", P),
    ("ops.arcsinh(x)", X),
    ("ops.arctanh(x)", XU),
    ("ops.deg2rad(x * 90)", X),
    ("ops.rad2deg(x)", X),
    ("ops.exp2(x)", X),
    ("ops.erfc(x)", X),
    ("ops.signbit(x)", X),
    ("ops.sinc(x)", X),
    ("ops.i0(x)", X),
    ("ops.isneginf(1.0 / (x * 0.0))", X),
    ("ops.isposinf(1.0 / (x * 0.0))", X),
    ("ops.isreal(x)", X),
    ("ops.real(x)", X),
    ("ops.angle(x)", X),
    ("ops.logdet(ops.matmul(x, ops.transpose(x, (0, 2, 1))) + ops.eye(3))", SQ),
    ("ops.fliplr(x)", X),
    ("ops.flipud(x)", X),
    ("ops.hstack([a, b])", AB),
    ("ops.vstack([a, b])", AB),
    ("ops.dstack([a, b])", AB),
    ("ops.kron(a, b)", V),
    ("ops.inner(a, b)", AB),
    ("ops.hypot(a, b)", AB),
    ("ops.logaddexp2(a, b)", AB),
    ("ops.fmax(a, b)", AB),
    ("ops.fmin(a, b)", AB),
    ("ops.gcd(a, b)", IP),
    ("ops.lcm(a, b)", IP),
    ("ops.nextafter(a, b)", AB),
    ("ops.bitwise_and(x, y)", II),
    ("ops.bitwise_or(x, y)", II),
    ("ops.bitwise_xor(x, y)", II),
    ("ops.bitwise_not(x)", II),
    ("ops.bitwise_invert(x)", II),
    ("ops.bitwise_left_shift(x, y)", II),
    ("ops.left_shift(x, y)", II),
    ("ops.bitwise_right_shift(x, y)", II),
    ("ops.right_shift(x, y)", II),
    ("ops.corrcoef(x)", {"x": F32(3, 6)}),
    ("ops.det(x)", SQ),
    ("ops.inv(x + 3 * ops.eye(3))", SQ),
    ("ops.solve(x + 3 * ops.eye(3), b)", {"x": F32(2, 3, 3), "b": F32(2, 3, 2)}),
    ("ops.eigh(ops.matmul(x, ops.transpose(x, (0, 2, 1))))[0]", SPD),
    ("ops.slogdet(x)", {"x": F32(3, 3)}),
    ("ops.cdist(a, b)", {"a": F32(2, 4, 3), "b": F32(2, 5, 3)}),
    ("ops.is_tensor(x)", X),
    ("ops.get_item(x, 1)", X),
    ("ops.real(ops.view_as_complex(x))", {"x": F32(3, 2)}),
    ("ops.view_as_real(ops.view_as_complex(x))", {"x": F32(3, 2)}),
    ("ops.view_as_real(ops.polar(p, a))", {"p": POS(4), "a": F32(4)}),
    ("ops.conj(x)", X),
    ("ops.conjugate(x)", X),
]

NANS = {"x": ("f", (2, 3, 4), 1.0), "m": BOOL(2, 3, 4)}  # x where m, NaN elsewhere
NX = "ops.where(m, x, float('nan'))"
ALLNAN = {"x": F32(2, 3)}  # the second row all NaN
ARGS = [
    ("ops.fabs(x)", X),
    ("ops.fabs(i)", {"i": INT(2, 3, low=-5, high=5)}),
    ("ops.cbrt(x)", X),
    ("ops.fmod(x, y)", {"x": INT(2, 3, low=-20, high=20), "y": INT(2, 3, low=1, high=6)}),
    ("ops.fmod(a, b)", AB),
    ("ops.ldexp(a, i)", {"a": F32(2, 3), "i": INT(2, 3, low=-3, high=3)}),
    ("ops.heaviside(ops.round(x), 0.5)", X),
    ("ops.divide_no_nan(a, ops.round(b))", AB),
    ("ops.nan_to_num(ops.log(x))", X),
    ("ops.nan_to_num(ops.log(x), nan=1.0, posinf=9.0, neginf=-9.0)", X),
    ("ops.isclose(a, a + b * 1e-6)", AB),
    ("ops.isclose(a, b, atol=1.0)", AB),
    ("ops.allclose(a, a + 1e-9)", AB),
    ("ops.isin(a, b)", {"a": INT(3, 4, low=0, high=9), "b": INT(5, low=0, high=9)}),
    ("ops.isin(a, b, invert=True)", {"a": INT(3, 4, low=0, high=9), "b": INT(5, low=0, high=9)}),
    ("ops.amax(x)", X),
    ("ops.amax(x, axis=(1, 2), keepdims=True)", X),
    ("ops.amin(x, axis=0)", X),
    ("ops.amin(x, keepdims=True)", X),
    ("ops.ptp(x, axis=1)", X),
    ("ops.ptp(x)", X),
    ("ops.average(x)", X),
    ("ops.average(x, axis=1)", X),
    ("ops.average(x, axis=1, weights=w)", {"x": F32(2, 3, 4), "w": POS(3)}),
    ("ops.average(x, axis=2, weights=w)", {"x": F32(2, 3, 4), "w": POS(2, 3, 4)}),
    ("ops.count_nonzero(ops.round(x))", X),
    ("ops.count_nonzero(ops.round(x), axis=(0, 1))", X),
    ("ops.quantile(x, 0.3, axis=1)", X),
    ("ops.quantile(x, [0.1, 0.5], axis=(0, 2), keepdims=True)", X),
    ("ops.quantile(x, 0.3, method='lower')", X),
    ("ops.quantile(x, 0.3, axis=-1, method='midpoint')", X),
    ("ops.percentile(x, [10, 90])", X),
    ("ops.median(x, axis=-1)", X),
    ("ops.median(x)", X),
    ("ops.median(x, axis=1, keepdims=True)", X),
    (f"ops.nanquantile({NX}, 0.3, axis=2)", NANS),
    (f"ops.nanpercentile({NX}, 50, axis=0)", NANS),
    (f"ops.nanmedian({NX}, axis=1)", NANS),
    (f"ops.nansum({NX}, axis=1)", NANS),
    (f"ops.nansum({NX})", NANS),
    (f"ops.nanmean({NX}, axis=(0, 2), keepdims=True)", NANS),
    (f"ops.nanmax({NX}, axis=0)", NANS),
    (f"ops.nanmin({NX})", NANS),
    ("ops.nanmax(ops.where(ops.reshape(ops.arange(6), (2, 3)) < 2, x, float('nan')), axis=1)", ALLNAN),
    ("ops.nanmin(ops.where(ops.reshape(ops.arange(6), (2, 3)) < 2, x, float('nan')), axis=1)", ALLNAN),
    (f"ops.nanprod({NX}, axis=2)", NANS),
    (f"ops.nanprod({NX}, keepdims=True)", NANS),
    (f"ops.nanvar({NX}, axis=1)", NANS),
    (f"ops.nanstd({NX})", NANS),
    (f"ops.nancumsum({NX}, axis=1)", NANS),
    (f"ops.nancumprod({NX})", NANS),
    ("ops.trace(x)", X),
    ("ops.trace(x, 1, 1, 2)", X),
    ("ops.append(a, b)", AB),
    ("ops.append(a, b, axis=1)", AB),
    ("ops.array_split(x, 3, axis=2)", X),
    ("ops.hsplit(x, 3)", X),
    ("ops.vsplit(x, 2)", X),
    ("ops.dsplit(x, 2)", X),
    ("ops.diag(a)", {"a": F32(3)}),
    ("ops.diag(a, k=1)", {"a": F32(3, 4)}),
    ("ops.diagflat(a, -1)", {"a": F32(2, 2)}),
    ("ops.diagonal(x, axis1=1, axis2=2)", X),
    ("ops.diagonal(x, 1)", X),
    ("ops.diff(x)", X),
    ("ops.diff(x, 2, axis=0)", {"x": F32(4, 3)}),
    ("ops.rot90(x)", X),
    ("ops.rot90(x, 3, axes=(1, 2))", X),
    ("ops.meshgrid(a, b)", V),
    ("ops.meshgrid(a, b, indexing='ij')", V),
    ("ops.tri(3)", {}),
    ("ops.tri(3, 4, k=1)", {}),
    ("ops.tri(4, 3, k=-1, dtype='int32')", {}),
    ("ops.vander(a, 3)", {"a": F32(4)}),
    ("ops.vander(a, increasing=True)", {"a": F32(4)}),
    ("ops.select([x < 0, x > 1], [x, 2 * x])", X),
    ("ops.select([x < 0], [x], default=5.0)", X),
    ("ops.nonzero(ops.round(x))", X),
    ("ops.unravel_index(i, (3, 4))", {"i": INT(5, low=0, high=12)}),
    ("ops.digitize(x, [-1.0, 0.0, 1.0])", X),
    ("ops.searchsorted(ops.sort(s), v)", {"s": F32(6), "v": F32(5)}),
    ("ops.searchsorted(ops.sort(s), v, side='right')", {"s": INT(6), "v": INT(4)}),
    ("ops.bincount(i)", {"i": INT(9, low=0, high=5)}),
    ("ops.bincount(i, weights=w, minlength=7)", {"i": INT(9, low=0, high=5), "w": F32(9)}),
    ("ops.dot(a, b)", {"a": F32(3, 4), "b": F32(4, 2)}),
    ("ops.dot(a, b)", {"a": F32(2, 3, 4), "b": F32(5, 4, 2)}),
    ("ops.dot(a, b)", {"a": F32(2, 3, 4), "b": F32(4)}),
    ("ops.dot(a, 2.0)", {"a": F32(2, 3)}),
    ("ops.vdot(a, b)", {"a": F32(2, 3), "b": F32(6)}),
    ("ops.cross(a, b)", {"a": F32(4, 3), "b": F32(4, 3)}),
    ("ops.cross(a, b, axis=0)", {"a": F32(3, 4), "b": F32(3, 4)}),
    ("ops.trapezoid(y)", {"y": F32(3, 5)}),
    ("ops.trapezoid(y, dx=0.5, axis=0)", {"y": F32(3, 5)}),
    ("ops.trapezoid(y, ops.cumsum(t, axis=-1))", {"y": F32(3, 5), "t": POS(5)}),
    ("ops.array([1.0, 2.0])", {}),
    ("ops.array([1, 2], dtype='float32')", {}),
    ("ops.copy(x)", X),
    ("ops.empty((2, 3))", {}),
    ("ops.empty_like(x, dtype='int32')", X),
    ("ops.logspace(0, 2, 5)", {}),
    ("ops.logspace(0.0, 1.0, 4, base=2)", {}),
    ("ops.bartlett(8)", {}),
    ("ops.blackman(8)", {}),
    ("ops.hamming(7)", {}),
    ("ops.hanning(8)", {}),
    ("ops.kaiser(8, 5.0)", {}),
]

SEG = {"x": F32(6, 3), "s": INT(6, low=0, high=4)}  # may leave a segment empty
CORE = [
    ("ops.cond(ops.sum(x) > 0, lambda: x * 2, lambda: x - 1)", X),
    ("ops.cond(ops.sum(x) > 100, lambda: x * 2, lambda: x - 1)", X),
    ("ops.switch(1, [lambda a: a + 1, lambda a: a * 3], x)", X),
    ("ops.switch(7, [lambda a: a + 1, lambda a: a * 3], x)", X),
    ("ops.fori_loop(0, 3, lambda i, v: v * 2 + i, x)", X),
    ("ops.while_loop(lambda v: ops.sum(v) < 100.0, lambda v: v * 2 + 1, p)", P),
    ("ops.while_loop(lambda v, n: n < 3, lambda v, n: (v * 2, n + 1), (x, 0))[0]", X),
    ("ops.while_loop(lambda v: True, lambda v: v + 1, x, maximum_iterations=4)", X),
    ("ops.scan(lambda c, v: (c + v, c * v), ops.zeros((3, 4)), x)", X),
    ("ops.scan(lambda c, v: (c + v, c), ops.zeros((3, 4)), x, reverse=True)", X),
    ("ops.map(lambda v: ops.sum(v, axis=0), x)", X),
    ("ops.vectorized_map(lambda v: ops.matmul(v, ops.transpose(v)), x)", X),
    ("ops.dtype(x)", X),
    ("ops.dtype(i)", {"i": INT(3)}),
    ("ops.convert_to_numpy(x)", X),
    ("ops.saturate_cast(x * 300, 'uint8')", X),
    ("ops.saturate_cast(x * 1e5, 'int16')", X),
    ("ops.slice(x, (0, 1, 1), (2, 2, 3))", X),
    ("ops.slice_update(x, (0, 1, 1), u)", {"x": F32(2, 3, 4), "u": F32(2, 2, 3)}),
    ("ops.scatter(i, v, (4, 3))", {"i": ("const", [[0, 1], [2, 2], [0, 1]], None), "v": F32(3)}),
    ("ops.scatter(i, v, (4, 3))", {"i": ("const", [[1], [3]], None), "v": F32(2, 3)}),
    ("ops.scatter_update(x, i, v)", {"x": F32(4, 3), "i": ("const", [[0, 1], [2, 2]], None), "v": F32(2)}),
    (
        "ops.scatter_update(x, i, v, reduction='add')",
        {"x": F32(4, 3), "i": ("const", [[0, 1], [0, 1]], None), "v": F32(2)},
    ),
    (
        "ops.scatter_update(x, i, v, reduction='max')",
        {"x": F32(4, 3), "i": ("const", [[0, 1], [3, 0]], None), "v": F32(2)},
    ),
    ("ops.segment_sum(x, s)", SEG),
    ("ops.segment_sum(x, s, num_segments=5)", SEG),
    ("ops.segment_max(x, s)", SEG),
    ("ops.segment_min(x, s, num_segments=4)", SEG),
    ("ops.segment_prod(x, s)", SEG),
    ("ops.extract_sequences(x, 4, 2)", {"x": F32(2, 11)}),
    ("ops.in_top_k(t, p, 2)", {"t": INT(5, low=0, high=4), "p": ("const", [[1.0, 2.0, 2.0, 0.0]] * 5, None)}),
    ("ops.in_top_k(t, p, 2)", {"t": INT(6, low=0, high=5), "p": F32(6, 5)}),
    ("ops.rearrange(x, 'b h w -> b w h')", X),
    ("ops.moments(x, [0, 1])", X),
    ("ops.moments(x, -1, keepdims=True)", X),
    ("ops.batch_normalization(x, m, v, axis=-1)", {"x": F32(2, 3, 4), "m": F32(4), "v": POS(4)}),
    (
        "ops.batch_normalization(x, m, v, 1, offset=m, scale=v, epsilon=1e-5)",
        {"x": F32(2, 3, 4), "m": F32(3), "v": POS(3)},
    ),
    ("ops.rms_normalization(x)", X),
    ("ops.rms_normalization(x, g, axis=-1, epsilon=1e-5)", {"x": F32(2, 3, 4), "g": F32(4)}),
    ("ops.soft_shrink(x)", X),
    ("ops.hard_shrink(x, 1.0)", X),
    ("ops.threshold(x, 0.1, -2.0)", X),
    ("ops.squareplus(x)", X),
    ("ops.squareplus(x, b=1)", X),
    ("ops.sparse_plus(x * 2)", X),
    ("ops.sparse_sigmoid(x * 2)", X),
    ("ops.sparsemax(x)", X),
    ("ops.sparsemax(x, axis=1)", X),
    ("ops.psnr(a, b, 1.0)", AB),
    ("ops.multi_hot(i, 5)", {"i": INT(3, 4, low=0, high=5)}),
    ("ops.multi_hot(i, 5)", {"i": INT(4, low=0, high=5)}),
    ("ops.depth_to_space(x, 2)", {"x": F32(2, 3, 4, 8)}),
    ("ops.depth_to_space(x, 2, data_format='channels_first')", {"x": F32(2, 8, 3, 4)}),
    ("ops.space_to_depth(x, 2)", {"x": F32(2, 4, 6, 3)}),
    ("ops.space_to_depth(x, 2, data_format='channels_first')", {"x": F32(2, 3, 4, 6)}),
    ("ops.fft((a, b))", {"a": F32(2, 8), "b": F32(2, 8)}),
    ("ops.fft2((a, b))", {"a": F32(2, 4, 8), "b": F32(2, 4, 8)}),
    ("ops.ifft2((a, b))", {"a": F32(2, 4, 8), "b": F32(2, 4, 8)}),
    ("ops.rfft(x)", {"x": F32(2, 8)}),
    ("ops.rfft(x, 6)", {"x": F32(2, 8)}),
    ("ops.irfft((a, b), 8)", {"a": F32(2, 5), "b": F32(2, 5)}),
    ("ops.irfft((a, b))", {"a": F32(2, 5), "b": F32(2, 5)}),
]
SPD3 = "ops.matmul(x, ops.transpose(x, (0, 2, 1))) + ops.eye(3)"
LINALG = [
    (f"ops.cholesky({SPD3})", SQ),
    (f"ops.cholesky({SPD3}, upper=True)", SQ),
    (f"ops.cholesky_inverse(ops.cholesky({SPD3}))", SQ),
    (f"ops.sort(ops.real(ops.eig({SPD3})[0]), axis=-1)", SQ),
    ("ops.abs(ops.qr(x)[1])", {"x": F32(4, 3)}),
    ("ops.abs(ops.qr(x, mode='complete')[0])", {"x": F32(4, 3)}),
    ("ops.svd(x, compute_uv=False)", {"x": F32(2, 4, 3)}),
    ("ops.svd(x)[1]", {"x": F32(4, 3)}),
    (
        "ops.matmul(ops.svd(x, full_matrices=False)[0] * ops.svd(x, full_matrices=False)[1], ops.svd(x, full_matrices=False)[2])",
        {"x": F32(4, 3)},
    ),
    ("ops.pinv(x)", {"x": F32(4, 3)}),
    ("ops.pinv(x, rcond=0.5)", {"x": F32(4, 3)}),
    ("ops.lstsq(a, b)", {"a": F32(5, 3), "b": F32(5, 2)}),
    ("ops.lstsq(a, b)", {"a": F32(5, 3), "b": F32(5)}),
    ("ops.matrix_rank(x)", {"x": F32(4, 3)}),
    ("ops.matrix_rank(ops.matmul(x, ops.transpose(x)))", {"x": F32(4, 2)}),
    ("ops.matrix_rank(x, tol=1.0)", {"x": F32(4, 3)}),
    ("ops.solve_triangular(ops.triu(x) + 3 * ops.eye(3), b)", {"x": F32(3, 3), "b": F32(3, 2)}),
    ("ops.solve_triangular(ops.tril(x) + 3 * ops.eye(3), b, lower=True)", {"x": F32(3, 3), "b": F32(3, 2)}),
    ("ops.jvp(lambda v: ops.sin(v) * v, (x,), (t,))", {"x": F32(3, 4), "t": F32(3, 4)}),
]

CASES = [("one-call", ONE_CALL), ("arguments", ARGS), ("core", CORE), ("linalg", LINALG)]


def _params(groups):
    return [pytest.param(expr, inputs, id=f"{group}:{expr}") for group, cases in groups for expr, inputs in cases]


@pytest.mark.parametrize("expr,inputs", _params(CASES))
def test_keras_api_ops_match(expr, inputs):
    check(expr, inputs)
