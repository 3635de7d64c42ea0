"""Helpers for torch.* functions of the aten surface that keras.ops has no one-call equivalent for
(cumulative max/min with indices, vmap, Cholesky solves, torch.range). Each emulates one torch
function exactly (named torch_<function>) and is plain Keras 3, copied into an output that uses it.
"""

import math
import random

import keras

from support_ops import TorchValuesIndices


def _cumulative_extreme(x, dim, later_wins):
    """(values, indices) of a running max (or min): the pair with the better value, and on a tie
    the later index (as torch's cummax/cummin), is associative, so one associative scan."""
    x = keras.ops.convert_to_tensor(x)
    shape = [1] * len(x.shape)
    shape[dim] = -1
    positions = keras.ops.broadcast_to(
        keras.ops.reshape(keras.ops.arange(x.shape[dim], dtype="int64"), shape), keras.ops.shape(x)
    )

    def pick(a, b):
        take_b = later_wins(b[0], a[0])
        return keras.ops.where(take_b, b[0], a[0]), keras.ops.where(take_b, b[1], a[1])

    values, indices = keras.ops.associative_scan(pick, (x, positions), axis=dim)
    return TorchValuesIndices(values, indices)


def torch_cummax(x, dim):
    """torch.cummax: the running maximum along dim and the index where it was (the last on ties)."""
    return _cumulative_extreme(x, dim, keras.ops.greater_equal)


def torch_cummin(x, dim):
    """torch.cummin: the running minimum along dim and the index where it was (the last on ties)."""
    return _cumulative_extreme(x, dim, keras.ops.less_equal)


def torch_vmap(func):
    """torch.vmap with in_dims=0, out_dims=0: func mapped over the first axis of every argument."""

    def mapped(*args):
        return keras.ops.vectorized_map(lambda row: func(*row), tuple(args))

    return mapped


def torch_cholesky_solve(b, factor, upper=False):
    """torch.cholesky_solve: X with A X = B, A = L L^T (lower factor) or U^T U (upper)."""
    transposed = keras.ops.swapaxes(factor, -1, -2)
    lower, lower_t = (transposed, factor) if upper else (factor, transposed)
    y = keras.ops.solve_triangular(lower, b, lower=True)
    return keras.ops.solve_triangular(lower_t, y, lower=False)


def torch_range(start, end, step=1, dtype=None):
    """torch.range: start, start + step, ... up to end *included* (floor((end - start) / step) + 1
    values), in the default float dtype."""
    count = math.floor((end - start) / step) + 1
    values = start + step * keras.ops.arange(count, dtype="float64")
    return keras.ops.cast(values, dtype or "float32")


def torch_binomial(count, prob):
    """torch.binomial: one draw per element, count trials of probability prob, in count's dtype."""
    count = keras.ops.convert_to_tensor(count)
    return keras.random.binomial(keras.ops.shape(count), count, prob, dtype=count.dtype)


def torch_seed():
    """torch.seed: seed every random generator with a non-deterministic number, and return it."""
    seed = random.SystemRandom().randrange(2**32)  # NumPy's seeds (which set_random_seed sets) are 32-bit
    keras.utils.set_random_seed(seed)
    return seed


def torch_exponential_like(x, lambd=1.0):
    """Tensor.exponential_: draws of the exponential distribution of rate lambd, x's shape and dtype."""
    uniform = keras.random.uniform(keras.ops.shape(x), dtype=x.dtype)
    return -keras.ops.log1p(-uniform) / lambd


def torch_nanmedian(x, dim=None, keepdim=False):
    """torch.nanmedian: the lower middle value of the non-NaN values (NaN where there are none);
    with dim, a (values, indices) pair. NaNs sort last, so the median is at (count - 1) // 2."""
    x = keras.ops.convert_to_tensor(x)
    if dim is None:
        flat = keras.ops.reshape(x, (-1,))
        return torch_nanmedian(flat, 0)[0]
    nan = keras.ops.isnan(x)
    order = keras.ops.argsort(keras.ops.where(nan, float("inf"), x), axis=dim)
    # among equal values (NaNs stood in by inf included) argsort is stable: NaNs after real infs
    order = keras.ops.take_along_axis(
        order, keras.ops.argsort(keras.ops.take_along_axis(nan, order, axis=dim), axis=dim), axis=dim
    )
    count = keras.ops.sum(keras.ops.logical_not(nan), axis=dim, keepdims=True)
    middle = keras.ops.maximum((count - 1) // 2, 0)
    indices = keras.ops.take_along_axis(order, keras.ops.cast(middle, order.dtype), axis=dim)
    values = keras.ops.take_along_axis(x, indices, axis=dim)
    if not keepdim:
        values, indices = keras.ops.squeeze(values, dim), keras.ops.squeeze(indices, dim)
    return TorchValuesIndices(values, keras.ops.cast(indices, "int64"))


# --- the gamma family: keras.ops has none; computed in float64, returned in the input's dtype -----
_LANCZOS = (  # g = 7, n = 9 (Numerical Recipes' / Boost's coefficients): about 1e-15 relative in float64
    0.99999999999980993,
    676.5203681218851,
    -1259.1392167224028,
    771.32342877765313,
    -176.61502916214059,
    12.507343278686905,
    -0.13857109526572012,
    9.9843695780195716e-6,
    1.5056327351493116e-7,
)


def _float64(x):
    x = keras.ops.convert_to_tensor(x)
    dtype = x.dtype if "float" in str(x.dtype) else "float32"  # an integer input gives the default float
    return keras.ops.cast(x, "float64"), dtype


def _lgamma64(x):
    reflected = x < 0.5
    y = keras.ops.where(reflected, 1.0 - x, x) - 1.0
    series = _LANCZOS[0] + sum(c / (y + i) for i, c in enumerate(_LANCZOS[1:], start=1))
    t = y + 7.5
    value = 0.5 * math.log(2 * math.pi) + (y + 0.5) * keras.ops.log(t) - t + keras.ops.log(series)
    # Γ(x) Γ(1 - x) = π / sin(πx): log|Γ(x)| for x < 1/2
    reflection = math.log(math.pi) - keras.ops.log(keras.ops.abs(keras.ops.sin(math.pi * x))) - value
    return keras.ops.where(reflected, reflection, value)


def torch_lgamma(x):
    """torch.lgamma: log |Γ(x)| (inf at the poles 0, -1, -2 ...)."""
    x, dtype = _float64(x)
    return keras.ops.cast(_lgamma64(x), dtype)


def torch_digamma(x):
    """torch.digamma: Γ'(x) / Γ(x): shifted up to x >= 6 by ψ(x) = ψ(x + 1) - 1/x, then the asymptotic
    series; below 1/2 the reflection ψ(x) = ψ(1 - x) - π / tan(πx)."""
    x, dtype = _float64(x)
    reflected = x < 0.5
    y = keras.ops.where(reflected, 1.0 - x, x)
    shift = keras.ops.zeros_like(y)
    for _ in range(6):
        small = y < 6.0
        shift = shift - keras.ops.where(small, 1.0 / y, 0.0)
        y = keras.ops.where(small, y + 1.0, y)
    w = 1.0 / (y * y)
    series = w * (1 / 12 - w * (1 / 120 - w * (1 / 252 - w * (1 / 240 - w * (1 / 132)))))
    value = keras.ops.log(y) - 0.5 / y - series + shift
    value = keras.ops.where(reflected, value - math.pi / keras.ops.tan(math.pi * x), value)
    return keras.ops.cast(value, dtype)


def torch_mvlgamma(x, p):
    """torch.mvlgamma: the multivariate log-gamma of dimension p,
    p(p-1)/4 log(π) + sum over j < p of lgamma(x - j/2)."""
    x, dtype = _float64(x)
    value = p * (p - 1) / 4 * math.log(math.pi) + sum(_lgamma64(x - j / 2) for j in range(p))
    return keras.ops.cast(value, dtype)


# torch's legacy type names of tensors (torch.typename)
_TENSOR_TYPES = {
    "float32": "FloatTensor",
    "float64": "DoubleTensor",
    "float16": "HalfTensor",
    "bfloat16": "BFloat16Tensor",
    "int64": "LongTensor",
    "int32": "IntTensor",
    "int16": "ShortTensor",
    "int8": "CharTensor",
    "uint8": "ByteTensor",
    "bool": "BoolTensor",
}


def torch_typename(obj):
    """torch.typename: a tensor's legacy type name (torch.FloatTensor...), else the object's class
    as module.qualname (the qualname alone for builtins), as torch computes it."""
    if keras.ops.is_tensor(obj):
        return "torch." + _TENSOR_TYPES.get(keras.backend.standardize_dtype(obj.dtype), "Tensor")
    module = getattr(obj, "__module__", "") or ""
    if hasattr(obj, "__qualname__"):
        qualname = obj.__qualname__
    elif hasattr(obj, "__name__"):
        qualname = obj.__name__
    else:
        module, qualname = obj.__class__.__module__ or "", obj.__class__.__qualname__
    return qualname if module in ("", "builtins") else f"{module}.{qualname}"


def torch_as_strided(x, size, stride, storage_offset=0):
    """torch.as_strided on a contiguous tensor: element (i0, i1, ...) is the flattened tensor's
    element storage_offset + sum(i_k * stride_k)."""
    flat = keras.ops.reshape(x, (-1,))
    index = keras.ops.convert_to_tensor(storage_offset, "int64")
    for axis, (n, step) in enumerate(zip(size, stride)):
        shape = [1] * len(size)
        shape[axis] = n
        index = index + keras.ops.reshape(keras.ops.arange(n, dtype="int64") * step, shape)
    return keras.ops.take(flat, index)


def torch_masked_assign(x, mask, value):
    """``x[mask] = value`` (a boolean mask, a scalar value) as a new tensor: the mask covers x's
    leading axes (whole rows where it is shorter), the value takes x's dtype, as in torch."""
    mask = keras.ops.convert_to_tensor(mask)
    extra = len(x.shape) - len(mask.shape)
    if extra:
        mask = keras.ops.reshape(mask, tuple(keras.ops.shape(mask)) + (1,) * extra)
    return keras.ops.where(mask, keras.ops.cast(value, x.dtype), x)
