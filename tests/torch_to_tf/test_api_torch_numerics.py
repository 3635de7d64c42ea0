"""Numerics of the torch.* and Tensor-method rules added for API coverage (torch_ops.yaml): each
expression is translated, the Keras code runs on the same random inputs as torch, and values,
shapes and dtypes must agree (the dtype exactly where torch's promotion is the point).
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")

from test_op_numerics import BOOL, F32, INT, POS, _compare, _make, _to_numpy, _torch_fn, _translated


def _dtypes(value):
    if isinstance(value, list):
        return [_dtypes(v) for v in value]
    return str(np.asarray(value).dtype)


X = {"x": F32(2, 3, 4)}
XY = {"x": F32(2, 3, 4), "y": F32(2, 3, 4)}
V = {"x": F32(6)}
M = {"x": F32(3, 4)}
SQ = {"a": F32(3, 3)}
UNIT = {"p": ("pos", (3, 4), None)}

# (expression, inputs): value and shape checked, float vs int vs bool kind checked
CASES = [
    # one input
    ("torch.asinh(x)", X),
    ("x.arcsinh()", X),
    ("torch.acosh(p + 1)", UNIT),
    ("torch.atanh(x * 0.3)", X),
    ("x.arctanh()", {"x": F32(4, scale=0.3)}),
    ("torch.sinc(x)", X),
    ("torch.erfc(x)", X),
    ("torch.i0(x)", X),
    ("torch.signbit(x)", X),
    ("torch.deg2rad(x * 90)", X),
    ("x.rad2deg()", X),
    ("torch.frac(x * 3)", X),
    ("torch.positive(x)", X),
    ("torch.isneginf(torch.log(x))", X),
    ("torch.isposinf(1 / (x * 0))", X),
    ("torch.isreal(x)", X),
    ("torch.logit(p / 3)", UNIT),
    ("torch.logit(p / 2, eps=0.3)", UNIT),
    ("torch.is_complex(x)", X),
    # two inputs
    ("torch.logaddexp(x, y)", XY),
    ("torch.logaddexp2(x, y)", XY),
    ("torch.hypot(x, y)", XY),
    ("torch.fmax(x, torch.log(y))", XY),
    ("torch.fmin(torch.log(x), y)", XY),
    ("torch.gcd(i, j)", {"i": INT(3, 4, high=20), "j": INT(3, 4, low=1, high=20)}),
    ("torch.lcm(i, j)", {"i": INT(3, 4, low=1, high=20), "j": INT(3, 4, low=1, high=20)}),
    ("torch.ldexp(x, i)", {"x": F32(5), "i": INT(5, low=-3, high=4)}),
    ("torch.copysign(x, y)", XY),
    ("torch.copysign(x, -1.0)", X),
    ("torch.heaviside(x, y)", XY),
    ("torch.heaviside(torch.round(x), y)", XY),
    ("torch.xlogy(p, p * 2)", UNIT),
    ("torch.xlogy(x.clamp(min=0), p.clamp(min=0.5))", {"x": F32(3, 4), "p": POS(3, 4)}),
    ("torch.float_power(x, 2)", X),
    ("torch.bitwise_and(i, j)", {"i": INT(6, high=16), "j": INT(6, high=16)}),
    ("i.bitwise_or(j)", {"i": INT(6, high=16), "j": INT(6, high=16)}),
    ("torch.bitwise_xor(i, j)", {"i": INT(6, high=16), "j": INT(6, high=16)}),
    ("torch.bitwise_not(i)", {"i": INT(6, high=16)}),
    ("torch.bitwise_left_shift(i, 2)", {"i": INT(6, high=16)}),
    ("torch.bitwise_right_shift(i, 1)", {"i": INT(6, high=16)}),
    ("torch.addcmul(x, y, x)", XY),
    ("x.addcmul(x, y, value=0.5)", XY),
    ("torch.addcdiv(x, x, p, value=-0.1)", {"x": F32(3, 4), "p": POS(3, 4)}),
    # products
    ("torch.mv(m, v)", {"m": F32(3, 4), "v": F32(4)}),
    ("torch.tensordot(a, b, dims=([1], [0]))", {"a": F32(3, 4), "b": F32(4, 5)}),
    ("torch.tensordot(a, b)", {"a": F32(2, 3, 4), "b": F32(3, 4, 5)}),
    ("torch.tensordot(a, b, dims=1)", {"a": F32(2, 3), "b": F32(3, 4)}),
    ("torch.kron(a, b)", {"a": F32(2, 3), "b": F32(2, 2)}),
    ("torch.inner(a, b)", {"a": F32(2, 3), "b": F32(4, 3)}),
    ("torch.vdot(a, b)", {"a": F32(5), "b": F32(5)}),
    ("torch.cross(a, b, dim=-1)", {"a": F32(4, 3), "b": F32(4, 3)}),
    ("a.cross(b, dim=0)", {"a": F32(3, 2), "b": F32(3, 2)}),
    ("torch.addmv(b, m, v)", {"b": F32(3), "m": F32(3, 4), "v": F32(4)}),
    ("torch.addmv(b, m, v, alpha=0.5)", {"b": F32(3), "m": F32(3, 4), "v": F32(4)}),
    ("torch.addr(m, a, b, alpha=2)", {"m": F32(3, 4), "a": F32(3), "b": F32(4)}),
    ("torch.addbmm(m, a, b)", {"m": F32(3, 5), "a": F32(2, 3, 4), "b": F32(2, 4, 5)}),
    ("torch.addmm(m, a, b, alpha=2)", {"m": F32(3, 5), "a": F32(3, 4), "b": F32(4, 5)}),
    ("torch.chain_matmul(a, b, c)", {"a": F32(2, 3), "b": F32(3, 4), "c": F32(4, 2)}),
    ("torch.dist(a, b)", {"a": F32(3, 4), "b": F32(3, 4)}),
    ("a.dist(b, 1)", {"a": F32(3, 4), "b": F32(4)}),
    ("torch.cdist(a, b)", {"a": F32(2, 5, 3), "b": F32(2, 4, 3)}),
    # linear algebra (well-conditioned matrices)
    ("torch.det(a + 3 * torch.eye(3))", SQ),
    ("torch.logdet(a @ a.T + torch.eye(3))", SQ),
    ("torch.slogdet(a)", SQ),
    ("torch.inverse(a + 3 * torch.eye(3))", SQ),
    ("torch.linalg.inv(a + 3 * torch.eye(3))", SQ),
    ("torch.cholesky(a @ a.T + torch.eye(3))", SQ),
    ("torch.linalg.cholesky(a @ a.T + torch.eye(3))", SQ),
    ("torch.linalg.solve(a + 3 * torch.eye(3), b)", {"a": F32(3, 3), "b": F32(3, 2)}),
    ("torch.corrcoef(x)", M),
    ("torch.cov(x)", M),
    ("x.cov(correction=0)", M),
    ("torch.cov(v)", {"v": F32(6)}),
    ("torch.trapezoid(x)", X),
    ("torch.trapezoid(x, dx=0.5, dim=0)", X),
    ("torch.trapz(y, x)", {"y": F32(3, 5), "x": F32(5)}),
    # reductions and order statistics
    ("torch.nansum(torch.log(x))", X),
    ("torch.log(x).nansum(1, keepdim=True)", X),
    ("torch.nanmean(torch.log(x), dim=0)", X),
    ("torch.median(x)", {"x": F32(6)}),
    ("torch.median(x)", {"x": F32(7)}),
    ("x.median(dim=1)", M),
    ("torch.median(x, -1, keepdim=True)", M),
    ("torch.kthvalue(x, 2, dim=0)", M),
    ("x.kthvalue(3)", M),
    ("torch.var_mean(x, 1)", X),
    ("torch.var_mean(x, dim=0, correction=0, keepdim=True)", X),
    ("torch.var_mean(x)", X),
    ("torch.std_mean(x)", X),
    ("torch.std_mean(x, (0, 2), keepdim=True)", X),
    ("torch.aminmax(x)", X),
    ("x.aminmax(dim=1).max", X),
    ("torch.logcumsumexp(x, 1)", X),
    ("torch.msort(x)", M),
    ("torch.histc(x, bins=4, min=-1, max=1)", {"x": F32(50)}),
    ("torch.histc(x, bins=5)", {"x": F32(50)}),
    ("torch.bincount(i)", {"i": INT(20, high=6)}),
    ("i.bincount(minlength=9)", {"i": INT(20, high=6)}),
    ("torch.bincount(i, weights=w)", {"i": INT(20, high=6), "w": F32(20)}),
    ("torch.unique(i)", {"i": INT(20, high=6)}),
    ("i.unique(return_counts=True)", {"i": INT(20, high=6)}),
    ("torch.unique(i, return_inverse=True)", {"i": INT(20, high=6)}),
    ("torch.isin(i, j)", {"i": INT(3, 4, high=8), "j": INT(5, high=8)}),
    ("torch.isin(i, j, invert=True)", {"i": INT(3, 4, high=8), "j": INT(5, high=8)}),
    ("torch.searchsorted(torch.sort(s).values, v)", {"s": F32(6), "v": F32(4)}),
    ("torch.searchsorted(s, v, right=True)", {"s": INT(8, high=4), "v": INT(5, high=4)}),
    (
        "torch.searchsorted(torch.sort(s).values, v, side='right', out_int32=True)",
        {"s": INT(8, high=4), "v": INT(5, high=4)},
    ),
    ("torch.bucketize(x, b)", {"x": INT(3, 4, high=6), "b": INT(4, high=6)}),
    ("torch.bucketize(x, torch.tensor([-1.0, 0.0, 0.5]), right=True)", X),
    # shapes, joining, splitting
    ("torch.tensor_split(x, 3)", {"x": F32(7, 2)}),
    ("x.tensor_split([1, 3], dim=1)", {"x": F32(2, 5)}),
    ("torch.tensor_split(x, n, dim=1)", {"x": F32(2, 5), "n": ("int", 2)}),
    ("torch.hsplit(x, 2)", {"x": F32(3, 4)}),
    ("torch.vsplit(x, [1])", {"x": F32(3, 4)}),
    ("torch.dsplit(x, 2)", X),
    ("torch.dstack([a, b])", {"a": F32(2, 3), "b": F32(2, 3)}),
    ("torch.row_stack([a, b])", {"a": F32(3), "b": F32(3)}),
    ("torch.vstack([a, b])", {"a": F32(3), "b": F32(2, 3)}),
    ("torch.hstack([a, b])", {"a": F32(3), "b": F32(2)}),
    ("torch.dstack([a, b])", {"a": F32(3), "b": F32(3)}),
    ("torch.column_stack([a, b])", {"a": F32(3), "b": F32(3, 2)}),
    ("torch.broadcast_shapes(a.shape, (1, 3))", {"a": F32(4, 1)}),
    ("torch.broadcast_tensors(a, b)", {"a": F32(4, 1), "b": F32(3)}),
    ("torch.atleast_1d(s)", {"s": ("f", (), 1.0)}),
    ("torch.atleast_2d(v)", {"v": F32(3)}),
    ("torch.atleast_3d(v)", {"v": F32(3)}),
    ("torch.atleast_3d(m)", {"m": F32(2, 3)}),
    ("torch.atleast_2d(x)", X),
    ("torch.ravel(x)", X),
    ("x.ravel()", X),
    ("torch.rot90(x)", X),
    ("x.rot90(3, [1, 2])", X),
    ("torch.flipud(x)", X),
    ("torch.fliplr(x)", X),
    ("torch.diagflat(v)", {"v": F32(3)}),
    ("torch.diagflat(v, 1)", {"v": F32(3)}),
    ("torch.diag_embed(x)", X),
    ("torch.diag_embed(x, offset=-1)", M),
    ("torch.vander(x, N=3)", {"x": F32(4)}),
    ("torch.vander(x, N=4, increasing=True)", {"x": F32(4)}),
    ("torch.argwhere(x > 0)", X),
    ("torch.cartesian_prod(a, b)", {"a": F32(2), "b": F32(3)}),
    ("torch.triu_indices(3, 4)", {}),
    ("torch.triu_indices(4, 4, 1)", {}),
    ("torch.tril_indices(4, 3, -1)", {}),
    ("torch.unravel_index(i, (3, 4))", {"i": INT(5, high=12)}),
    ("torch.is_same_size(a, b)", {"a": F32(2, 3), "b": F32(2, 3)}),
    # indexing and scatter
    ("torch.take(x, i)", {"x": F32(3, 4), "i": INT(2, 3, high=12)}),
    ("x.select(1, 0)", X),
    ("x.select(-1, 2)", X),
    ("torch.masked_select(x, x > 0)", X),
    ("torch.masked_select(x, m)", {"x": F32(3, 4), "m": BOOL(4)}),
    ("torch.scatter(x, 1, i, s)", {"x": F32(3, 5), "i": INT(3, 2, high=5), "s": F32(3, 4)}),
    ("x.scatter(0, i, 1.0)", {"x": F32(3, 5), "i": INT(2, 5, high=3)}),
    ("x.scatter(1, i, value=-2.0)", {"x": F32(3, 5), "i": INT(3, 1, high=5)}),
    ("torch.scatter_add(x, 0, i, s)", {"x": F32(3, 5), "i": INT(4, 5, high=3), "s": F32(4, 5)}),
    ("x.scatter(1, i, s, reduce='add')", {"x": F32(3, 5), "i": INT(3, 4, high=5), "s": F32(3, 4)}),
    ("torch.index_add(x, 0, i, s)", {"x": F32(4, 3), "i": INT(5, high=4), "s": F32(5, 3)}),
    ("x.index_add(1, i, s, alpha=2)", {"x": F32(2, 4), "i": INT(3, high=4), "s": F32(2, 3)}),
    ("torch.index_copy(x, 0, i, s)", {"x": F32(4, 3), "i": ("perm", 4, 2), "s": F32(2, 3)}),
    ("x.index_fill(1, i, -1.0)", {"x": F32(2, 5), "i": INT(2, high=5)}),
    ("x.where(x > 0, y)", XY),
    ("x.where(x > 0, 0.0)", X),
    ("x.unfold(1, 3, 2)", {"x": F32(2, 7, 3)}),
    ("x.unfold(-1, 2, 1)", {"x": F32(3, 4)}),
    ("x.is_contiguous()", X),
    ("x.broadcast_to((2, 3, 4))", {"x": F32(3, 1)}),
    ("x.tile(2, 1)", M),
    ("x.tile((1, 2, 1))", X),
    ("torch.narrow_copy(x, 1, 1, 2)", X),
    ("torch.view_as_real(torch.view_as_complex(x))", {"x": F32(3, 2)}),
    ("torch.view_as_real(torch.polar(r, t))", {"r": POS(4), "t": F32(4)}),
    ("torch.linalg.svd(a, full_matrices=False)[1]", {"a": F32(4, 3)}),
    ("torch.linalg.svdvals(a)", {"a": F32(3, 5)}),
    ("torch.cholesky_inverse(torch.linalg.cholesky(a @ a.T + torch.eye(3)))", SQ),
    ("torch.histogram(x, 5)", {"x": F32(40)}),
    ("torch.histogram(x, bins=4, range=(0.0, 1.0))", {"x": F32(40)}),
    ("torch.empty_strided((2, 3), (3, 1)).shape", {}),
    ("torch.detach(x)", X),
    ("x.is_signed()", X),
    ("i.is_signed()", {"i": INT(3)}),
    ("torch.is_nonzero(x.sum() * 0)", X),
    ("x.element_size()", X),
    ("x.double().element_size()", X),
    ("(x > 0).element_size()", X),
    ("x.masked_scatter(x > 0, s)", {"x": F32(3, 4), "s": F32(12)}),
    ("x.masked_scatter(m, s)", {"x": F32(3, 4), "m": BOOL(4), "s": F32(3, 5)}),
    ("torch.nanquantile(torch.log(x), 0.5, dim=1)", X),
    ("x.nanquantile(0.25)", X),
    ("torch.svd(a)[1]", {"a": F32(4, 3)}),
    ("(lambda u, s, v: u @ torch.diag(s) @ v.T)(*torch.svd(a))", {"a": F32(4, 3)}),
    ("(lambda u, s, v: u[:, :3] @ torch.diag(s) @ v.T)(*a.svd(some=False))", {"a": F32(4, 3)}),
    ("torch.view_as_real(torch.complex(a, b))", {"a": F32(3), "b": F32(3)}),
    # creation
    ("torch.scalar_tensor(3)", {}),
    ("torch.asarray([1.0, 2.0])", {}),
    ("torch.hann_window(8)", {}),
    ("torch.hann_window(8, periodic=False)", {}),
    ("torch.hamming_window(7)", {}),
    ("torch.blackman_window(8)", {}),
    ("torch.bartlett_window(6, False)", {}),
    ("torch.kaiser_window(8)", {}),
    ("torch.kaiser_window(9, False, beta=5.0)", {}),
    # aten forms of torch.nn.functional (torch_aten.yaml)
    (
        "torch.batch_norm(x, w, b, m, p, False, 0.1, 1e-5, True)",
        {"x": F32(2, 3, 4), "w": F32(3), "b": F32(3), "m": F32(3), "p": POS(3)},
    ),
    ("torch.batch_norm(x, None, None, None, None, True, 0.1, 1e-5, True)", X),
    ("torch.instance_norm(x, w, b, None, None, True, 0.1, 1e-5, False)", {"x": F32(2, 3, 4), "w": F32(3), "b": F32(3)}),
    ("torch.group_norm(x, 3, w, b)", {"x": F32(2, 3, 4), "w": F32(3), "b": F32(3)}),
    ("torch.celu(x, 0.5)", X),
    ("torch.dropout(x, 0.3, False)", X),
    ("torch.embedding(w, i)", {"w": F32(5, 3), "i": INT(2, 4)}),
    ("torch.binary_cross_entropy_with_logits(x, torch.sigmoid(y))", XY),
    ("torch.binary_cross_entropy_with_logits(x, torch.sigmoid(y), None, p, 0)", {**XY, "p": POS(4)}),
    ("torch.cosine_embedding_loss(a, b, torch.sign(y), 0.2, 0)", {"a": F32(5, 4), "b": F32(5, 4), "y": F32(5)}),
    ("torch.hinge_embedding_loss(x, torch.sign(y), 0.5, 2)", XY),
    ("torch.hinge_embedding_loss(x, torch.sign(y))", XY),
    ("torch.cosine_embedding_loss(a, b, torch.sign(y))", {"a": F32(5, 4), "b": F32(5, 4), "y": F32(5)}),
    ("torch.binary_cross_entropy_with_logits(x, torch.sigmoid(y), reduction=1)", XY),
    # tensors, runtime (torch_aten.yaml)
    ("torch.expand_copy(x[:1], (3, -1))", M),
    ("torch.range(1, 4, 0.5)", {}),
    ("torch.range(0, 1, 0.3)", {}),
    ("torch.frombuffer(bytearray(b'\\x01\\x00\\x02\\x00'), dtype=torch.int16)", {}),
    ("torch.cummax(x, 1)", M),
    ("x.cummin(dim=-1)", M),
    ("torch.cummax(i, 0)", {"i": INT(9, high=3)}),
    ("torch.cummin(i, 1)", {"i": INT(2, 9, high=3)}),
    ("torch.cholesky_solve(b, torch.linalg.cholesky(a @ a.mT + 3 * torch.eye(3)))", {"a": F32(3, 3), "b": F32(3, 2)}),
    (
        "torch.cholesky_solve(b, torch.linalg.cholesky(a @ a.mT + 3 * torch.eye(3)).mT, upper=True)",
        {"a": F32(3, 3), "b": F32(3, 2)},
    ),
    ("torch.vmap(lambda a, b: (a * b).sum())(x, y)", {"x": F32(3, 4), "y": F32(3, 4)}),
    ("torch.sym_max(2, 7) * x + torch.sym_min(2, 7)", X),
    ("torch.nanmedian(torch.where(x > 1, float('nan'), x))", M),
    ("x.nanmedian(1)", M),
    ("torch.lgamma(x * 4)", M),
    ("torch.lgamma(p * 30)", {"p": POS(3, 4)}),
    ("x.digamma()", {"x": F32(3, 4, scale=3.0)}),
    ("torch.digamma(p * 20)", {"p": POS(3, 4)}),
    ("torch.mvlgamma(p + 1, 3)", {"p": POS(3, 4)}),
    ("torch.special.gammaln(i)", {"i": INT(5, low=1, high=9)}),
    ("torch.as_strided(x, (3, 3), (1, 2), 1)", {"x": F32(4, 4)}),
    ("x.as_strided((2, 2), (4, 1))", {"x": F32(3, 4)}),
    ("torch.nanmedian(torch.where(x > 0.5, float('nan'), x), dim=0, keepdim=True)", M),
]


def _with_special_inputs(inputs, rng):
    out = {}
    for name, spec in inputs.items():
        if spec[0] == "int":
            out[name] = spec[1]
        elif spec[0] == "perm":
            out[name] = rng.permutation(spec[1])[: spec[2]].astype("int64")
        else:
            out[name] = _make(spec, rng)
    return out


def _run(expr, inputs, seed=0):
    rng = np.random.default_rng(seed)
    args = tuple(inputs)
    arrays = _with_special_inputs(inputs, rng)

    def as_torch(v):
        return v if isinstance(v, int) else torch.from_numpy(np.array(v))

    def as_keras(v):
        return v if isinstance(v, int) else keras.ops.convert_to_tensor(v)

    fn, code = _translated(expr, args)
    want = _torch_fn(expr, args)(*(as_torch(arrays[a]) for a in args))
    got = fn(*(as_keras(arrays[a]) for a in args))
    return _to_numpy(got), _to_numpy(want), code


@pytest.mark.parametrize("expr,inputs", CASES, ids=[c[0] for c in CASES])
def test_matches_torch(expr, inputs):
    got, want, code = _run(expr, inputs)
    _compare(got, want, code)


# torch's dtype: float results stay float32 (float64 where torch computes in double), integer
# results of these ops are int64 like torch's where Keras would give int32
EXACT_DTYPES = [
    ("torch.searchsorted(s, v)", {"s": F32(6), "v": F32(4)}),
    ("torch.searchsorted(s, v, out_int32=True)", {"s": F32(6), "v": F32(4)}),
    ("torch.bucketize(x, b)", {"x": F32(5), "b": F32(3)}),
    ("torch.kthvalue(x, 2)", M),
    ("torch.float_power(x, 2)", X),
    ("torch.ldexp(x, i)", {"x": F32(5), "i": INT(5, low=-3, high=4)}),
    ("torch.copysign(i, -1)", {"i": INT(5)}),
    ("torch.histc(x, bins=3)", {"x": F32(10)}),
    ("torch.triu_indices(3, 3)", {}),
    ("torch.scalar_tensor(2)", {}),
    ("torch.frac(x)", X),
    ("torch.logit(p / 3)", UNIT),
    ("torch.var_mean(x, 1)", X),
    ("torch.addcdiv(x, x, p)", {"x": F32(3, 4), "p": POS(3, 4)}),
    ("torch.scatter(x, 1, i, 1.0)", {"x": F32(3, 5), "i": INT(3, 2, high=5)}),
    ("torch.index_add(x, 0, i, s)", {"x": INT(4, 3), "i": INT(5, high=4), "s": INT(5, 3)}),
    ("torch.hann_window(4)", {}),
]


@pytest.mark.parametrize("expr,inputs", EXACT_DTYPES, ids=[c[0] for c in EXACT_DTYPES])
def test_dtype_is_torchs(expr, inputs):
    got, want, code = _run(expr, inputs)
    _compare(got, want, code)
    assert _dtypes(got) == _dtypes(want), code


def test_in_place_methods_rebind_the_name():
    source = (
        "import torch\n"
        "def f(x, i, s, y, t):\n"
        "    x.scatter_(1, i, s)\n"
        "    x.index_add_(0, i[:, 0], t)\n"
        "    x.addcmul_(x, x, value=0.5)\n"
        "    y.copy_(x[0])\n"
        "    return x, y\n"
    )
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((3, 4)).astype("float32"), rng.standard_normal((2, 4)).astype("float32")
    i, s = rng.integers(0, 3, (3, 2)), rng.standard_normal((3, 2)).astype("float32")
    t = rng.standard_normal((3, 4)).astype("float32")
    from fwtranslate import translate

    result = translate(source)
    assert result.ok, [d.format() for d in result.diagnostics]
    namespace: dict = {}
    exec(compile(result.code, "<translated>", "exec"), namespace)
    got = namespace["f"](*(keras.ops.convert_to_tensor(v) for v in (x, i, s, y, t)))
    torch_ns: dict = {"torch": torch}
    exec(source, torch_ns)
    want = torch_ns["f"](*(torch.from_numpy(v.copy()) for v in (x, i, s, y, t)))
    for g, w in zip(got, want):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(g), w.numpy(), rtol=1e-5, atol=1e-6, err_msg=result.code)


def test_random_draws_have_torchs_shape_dtype_and_support():
    probs = np.array([[0.0, 0.2, 0.8], [0.5, 0.5, 0.0]], "float32")
    for expr, shape in (("torch.multinomial(p, 1)", (2, 1)), ("torch.multinomial(p, 6, replacement=True)", (2, 6))):
        fn, code = _translated(expr, ("p",))
        draws = keras.ops.convert_to_numpy(fn(keras.ops.convert_to_tensor(probs)))
        assert draws.shape == shape and draws.dtype == np.int64, code
        assert (probs[np.arange(2)[:, None], draws] > 0).all(), code  # never a zero-probability category
    fn, code = _translated("torch.randint_like(x, 2, 5)", ("x",))
    draws = keras.ops.convert_to_numpy(fn(keras.ops.zeros((3, 40))))
    assert draws.shape == (3, 40) and draws.dtype == np.float32 and set(np.unique(draws)) == {2.0, 3.0, 4.0}, code
    fn, code = _translated("torch.bernoulli(p)", ("p",))
    draws = keras.ops.convert_to_numpy(fn(keras.ops.convert_to_tensor(np.full((200,), 0.3, "float32"))))
    assert draws.dtype == np.float32 and set(np.unique(draws)) <= {0.0, 1.0} and 20 < draws.sum() < 100, code


def test_aten_random_draws_have_torchs_support():
    fn, code = _translated("torch.binomial(n, p)", ("n", "p"))
    counts = np.array([0.0, 1.0, 5.0, 20.0], "float32")
    draws = keras.ops.convert_to_numpy(fn(keras.ops.convert_to_tensor(counts), keras.ops.full((4,), 0.5)))
    assert draws.dtype == np.float32 and ((draws >= 0) & (draws <= counts)).all() and (draws == draws.round()).all(), (
        code
    )
    from fwtranslate import translate

    source = "import torch\n\ndef f(t):\n    t.exponential_(4.0)\n    return t, torch.seed()\n"
    result = translate(source)
    assert result.ok, [d.format() for d in result.diagnostics]
    namespace: dict = {}
    exec(compile(result.code, "<translated>", "exec"), namespace)
    draws, seed = namespace["f"](keras.ops.zeros((4000,)))
    draws = keras.ops.convert_to_numpy(draws)
    assert isinstance(seed, int) and draws.shape == (4000,) and (draws >= 0).all(), result.code
    assert abs(draws.mean() - 0.25) < 0.03, result.code  # an exponential of rate 4 has mean 1/4


def test_typename_and_dlpack_match_torch():
    from fwtranslate import translate

    source = (
        "import numpy\nimport torch\n\ndef f(x, a):\n"
        "    return torch.typename(x), torch.typename(3), torch.typename(numpy.ones), torch.from_dlpack(a) * 2\n"
    )
    result = translate(source)
    assert result.ok, [d.format() for d in result.diagnostics]
    namespace: dict = {}
    exec(compile(result.code, "<translated>", "exec"), namespace)
    torch_ns: dict = {"torch": torch}
    exec(source, torch_ns)
    a = np.arange(4.0, dtype="float32")
    got = namespace["f"](keras.ops.ones((2,)), a)
    want = torch_ns["f"](torch.ones(2), a)
    assert got[:3] == want[:3], result.code
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(got[3]), want[3].numpy())
