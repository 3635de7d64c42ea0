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

CASES = [("one-call", ONE_CALL)]


def _params(groups):
    return [pytest.param(expr, inputs, id=f"{group}:{expr}") for group, cases in groups for expr, inputs in cases]


@pytest.mark.parametrize("expr,inputs", _params(CASES))
def test_keras_api_ops_match(expr, inputs):
    check(expr, inputs)
