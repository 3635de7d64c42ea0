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
