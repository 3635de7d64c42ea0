"""Helpers for torch.* functions and Tensor methods that keras.ops has no one-call equivalent for
(the long tail ranked by real use: scatter/index updates, windows, order statistics...).

Each emulates one torch function exactly (named torch_<function>) and is plain Keras 3, copied
into an output that uses it.
"""

import keras

from support_ops import TorchValuesIndices


# --- scatter and index updates ------------------------------------------------------------------
def _scatter_coordinates(index, dim):
    """The full coordinates (one row per element of index) that torch's scatter along dim writes:
    each element's own position, with its coordinate on dim replaced by the index value."""
    shape = keras.ops.shape(index)
    rank = len(shape)
    dim = dim % rank
    grids = keras.ops.meshgrid(*[keras.ops.arange(n) for n in shape], indexing="ij")
    grids[dim] = keras.ops.cast(index, grids[0].dtype)
    return keras.ops.reshape(keras.ops.stack(grids, axis=-1), (-1, rank))


def torch_scatter(x, dim, index, src, reduce=None):
    """torch.scatter / scatter_add: out[..., index[i], ...] = src[i] (or += with reduce="add")
    along dim; src may be a number. Only the positions index covers are written."""
    coords = _scatter_coordinates(index, dim)
    if isinstance(src, (int, float, bool)):
        updates = keras.ops.full((keras.ops.shape(coords)[0],), src, dtype=x.dtype)
    else:
        slices = tuple(slice(0, n) for n in keras.ops.shape(index))
        updates = keras.ops.reshape(keras.ops.cast(src[slices], x.dtype), (-1,))
    if reduce == "add":
        return keras.ops.add(x, keras.ops.scatter(coords, updates, keras.ops.shape(x)))
    return keras.ops.scatter_update(x, coords, updates)


def torch_index_add(x, dim, index, source, alpha=1):
    """torch.index_add: x with alpha * source's slices added at the positions index gives on dim
    (repeated indices add up)."""
    moved = keras.ops.moveaxis(x, dim, 0)
    updates = keras.ops.moveaxis(keras.ops.cast(source, x.dtype), dim, 0)
    if alpha != 1:
        updates = keras.ops.multiply(updates, alpha)
    index = keras.ops.expand_dims(keras.ops.cast(index, "int32"), -1)
    added = keras.ops.add(moved, keras.ops.scatter(index, updates, keras.ops.shape(moved)))
    return keras.ops.moveaxis(added, 0, dim)


def torch_index_copy(x, dim, index, source):
    """torch.index_copy: x with source's slices written at the positions index gives on dim."""
    moved = keras.ops.moveaxis(x, dim, 0)
    updates = keras.ops.moveaxis(keras.ops.cast(source, x.dtype), dim, 0)
    index = keras.ops.expand_dims(keras.ops.cast(index, "int32"), -1)
    return keras.ops.moveaxis(keras.ops.scatter_update(moved, index, updates), 0, dim)


def torch_index_fill(x, dim, index, value):
    """torch.index_fill: x with the slices at the positions index gives on dim set to value."""
    size = keras.ops.shape(x)[dim]
    hit = keras.ops.any(keras.ops.equal(keras.ops.arange(size)[:, None], keras.ops.reshape(index, (1, -1))), axis=1)
    shape = [1] * len(keras.ops.shape(x))
    shape[dim] = size
    return keras.ops.where(keras.ops.reshape(hit, shape), keras.ops.cast(value, x.dtype), x)


def torch_masked_select(x, mask):
    """torch.masked_select: the 1-D tensor of x's elements where mask (broadcast) is true."""
    shape = keras.ops.shape(keras.ops.logical_and(keras.ops.ones_like(x, dtype="bool"), mask))
    flat = keras.ops.reshape(keras.ops.broadcast_to(x, shape), (-1,))
    return keras.ops.take(flat, keras.ops.nonzero(keras.ops.reshape(keras.ops.broadcast_to(mask, shape), (-1,)))[0])


# --- windows, order statistics ------------------------------------------------------------------
def torch_tensor_unfold(x, dimension, size, step):
    """Tensor.unfold: the windows of size along dimension (every step), as a new last axis."""
    rank = len(keras.ops.shape(x))
    dimension = dimension % rank
    count = (keras.ops.shape(x)[dimension] - size) // step + 1
    index = keras.ops.arange(count)[:, None] * step + keras.ops.arange(size)[None, :]
    windows = keras.ops.take(x, index, axis=dimension)  # (..., count, size, ...)
    return keras.ops.moveaxis(windows, dimension + 1, -1)


def torch_kthvalue(x, k, dim=-1, keepdim=False):
    """torch.kthvalue: the k-th smallest values along dim (k from 1) and their indices."""
    order = keras.ops.argsort(x, axis=dim)
    indices = keras.ops.take(order, [k - 1], axis=dim)
    values = keras.ops.take_along_axis(x, indices, axis=dim)
    if not keepdim:
        values, indices = keras.ops.squeeze(values, axis=dim), keras.ops.squeeze(indices, axis=dim)
    return TorchValuesIndices(values, keras.ops.cast(indices, "int64"))


def torch_median(x, dim=None, keepdim=False):
    """torch.median: the lower of the two middle values (not their mean, as keras.ops.median);
    with dim, the (values, indices) pair."""
    if dim is None:
        flat = keras.ops.sort(keras.ops.reshape(x, (-1,)))
        return flat[(keras.ops.shape(flat)[0] - 1) // 2]
    return torch_kthvalue(x, (keras.ops.shape(x)[dim] + 1) // 2, dim, keepdim)


def torch_var_mean(x, dim=None, correction=1, keepdim=False):
    """torch.var_mean: (variance with torch's correction, mean)."""
    shape = keras.ops.shape(x)
    dims = range(len(shape)) if dim is None else [dim] if isinstance(dim, int) else dim
    count = 1
    for d in dims:
        count *= shape[d]
    mean = keras.ops.mean(x, axis=dim, keepdims=True)
    var = keras.ops.sum(keras.ops.square(x - mean), axis=dim, keepdims=keepdim) / max(count - correction, 0)
    return var, mean if keepdim else keras.ops.squeeze(mean, axis=dim)


def torch_std_mean(x, dim=None, correction=1, keepdim=False):
    """torch.std_mean: (standard deviation with torch's correction, mean)."""
    var, mean = torch_var_mean(x, dim, correction, keepdim)
    return keras.ops.sqrt(var), mean


def torch_aminmax(x, dim=None, keepdim=False):
    """torch.aminmax: (min, max), readable as .min / .max."""
    return TorchMinMax(keras.ops.min(x, axis=dim, keepdims=keepdim), keras.ops.max(x, axis=dim, keepdims=keepdim))


class TorchMinMax(tuple):
    """A (min, max) pair like torch.return_types.aminmax."""

    _fields = ("min", "max")

    def __new__(cls, min, max):
        return tuple.__new__(cls, (min, max))

    @classmethod
    def _make(cls, pair):
        return cls(*pair)

    def _asdict(self):
        return {"min": self[0], "max": self[1]}

    min = property(lambda self: self[0])
    max = property(lambda self: self[1])


def torch_histc(x, bins=100, min=0, max=0):
    """torch.histc: counts in bins equal bins over [min, max] (the data's range when both are 0),
    elements outside ignored, in x's dtype."""
    if min == 0 and max == 0:
        min, max = keras.ops.min(x), keras.ops.max(x)
    return keras.ops.cast(keras.ops.histogram(x, bins=bins, range=(min, max))[0], x.dtype)


# --- elementwise ----------------------------------------------------------------------------------
def torch_logit(x, eps=None):
    """torch.logit: log(p / (1 - p)), p clamped to [eps, 1 - eps] when eps is given."""
    if eps is not None:
        x = keras.ops.clip(x, eps, 1 - eps)
    return keras.ops.log(keras.ops.divide(x, keras.ops.subtract(1, x)))


def torch_xlogy(x, y):
    """torch.xlogy: x * log(y), 0 where x is 0 (unless y is NaN)."""
    x, y = keras.ops.convert_to_tensor(x), keras.ops.convert_to_tensor(y)
    product = keras.ops.multiply(x, keras.ops.log(y))
    return keras.ops.where(
        keras.ops.logical_and(keras.ops.equal(x, 0), keras.ops.logical_not(keras.ops.isnan(y))), 0.0, product
    )


def torch_copysign(x, y):
    """torch.copysign: |x| with the sign (bit) of y; a float result."""
    magnitude = keras.ops.abs(keras.ops.cast(x, keras.backend.result_type(x.dtype, "float32")))
    return keras.ops.where(keras.ops.signbit(y), keras.ops.negative(magnitude), magnitude)


# --- shapes and construction ----------------------------------------------------------------------
def torch_broadcast_shapes(*shapes):
    """torch.broadcast_shapes: the shape all shapes broadcast to (ints or sequences)."""
    shapes = [(s,) if isinstance(s, int) else tuple(s) for s in shapes]
    rank = max((len(s) for s in shapes), default=0)
    out = [1] * rank
    for shape in shapes:
        for i, n in enumerate(shape, rank - len(shape)):
            if n != 1:
                if out[i] not in (1, n):
                    raise ValueError(f"shapes {shapes} cannot be broadcast")
                out[i] = n
    return tuple(out)


def torch_broadcast_tensors(*tensors):
    """torch.broadcast_tensors: the tensors broadcast to their common shape."""
    shape = torch_broadcast_shapes(*(keras.ops.shape(t) for t in tensors))
    return [keras.ops.broadcast_to(t, shape) for t in tensors]


def torch_atleast(x, rank):
    """torch.atleast_1d/2d/3d of one tensor: numpy's placement of the new axes."""
    x = keras.ops.convert_to_tensor(x)
    ndim = len(keras.ops.shape(x))
    if ndim >= rank:
        return x
    if ndim == 0:
        return keras.ops.reshape(x, (1,) * rank)
    if rank == 2 or ndim == 2:  # (n) -> (1, n); (m, n) -> (m, n, 1)
        x = keras.ops.expand_dims(x, 0) if ndim == 1 else x
        return x if rank == 2 else keras.ops.expand_dims(x, -1)
    return keras.ops.reshape(x, (1, -1, 1))  # (n) -> (1, n, 1)


def torch_diag_embed(x, offset=0):
    """torch.diag_embed with the default dims: each last-axis vector on the diagonal (offset) of a
    matrix over the last two axes."""
    n = keras.ops.shape(x)[-1]
    size = n + abs(offset)
    rows = keras.ops.arange(n) + max(-offset, 0)
    cols = keras.ops.arange(n) + max(offset, 0)
    place = (
        keras.ops.one_hot(rows, size, dtype=x.dtype)[:, :, None]
        * keras.ops.one_hot(cols, size, dtype=x.dtype)[:, None, :]
    )
    return keras.ops.einsum("...n,nij->...ij", x, place)


def torch_column_stack(tensors):
    """torch.column_stack: 0-D and 1-D tensors become columns, then joined along axis 1."""
    columns = []
    for t in tensors:
        t = keras.ops.convert_to_tensor(t)
        columns.append(keras.ops.reshape(t, (-1, 1)) if len(keras.ops.shape(t)) <= 1 else t)
    return keras.ops.concatenate(columns, axis=1)


def torch_cartesian_prod(*tensors):
    """torch.cartesian_prod: every combination of the 1-D tensors' elements, one per row."""
    if len(tensors) == 1:
        return tensors[0]
    grids = keras.ops.meshgrid(*tensors, indexing="ij")
    return keras.ops.reshape(keras.ops.stack(grids, axis=-1), (-1, len(tensors)))


def torch_triangle_indices(row, col, offset=0, upper=True):
    """torch.triu_indices / tril_indices: the (2, N) coordinates of the triangle, row by row."""
    ones = keras.ops.ones((row, col))
    part = keras.ops.triu(ones, k=offset) if upper else keras.ops.tril(ones, k=offset)
    return keras.ops.cast(keras.ops.stack(keras.ops.nonzero(part), axis=0), "int64")


def torch_cov(x, correction=1):
    """torch.cov: the covariance of the rows (variables) of x over its columns (observations)."""
    x = keras.ops.convert_to_tensor(x)
    if len(keras.ops.shape(x)) < 2:
        x = keras.ops.reshape(x, (1, -1))
    centered = x - keras.ops.mean(x, axis=1, keepdims=True)
    count = keras.ops.shape(x)[1]
    cov = keras.ops.matmul(centered, keras.ops.transpose(keras.ops.conj(centered))) / max(count - correction, 0)
    return keras.ops.squeeze(cov) if keras.ops.shape(x)[0] == 1 else cov


def torch_vstack(tensors):
    """torch.vstack: 1-D tensors become rows (keras.ops.vstack joins them end to end on the
    TensorFlow backend), then joined along axis 0."""
    return keras.ops.concatenate([torch_atleast(t, 2) for t in tensors], axis=0)


def torch_bucketize(x, boundaries, right=False, dtype="int64"):
    """torch.bucketize: the index of each value's bucket among 1-D boundaries, for any shape of x
    (right=False: boundaries[i-1] < x <= boundaries[i])."""
    flat = keras.ops.reshape(x, (-1,))
    found = keras.ops.searchsorted(boundaries, flat, side="right" if right else "left")
    return keras.ops.reshape(keras.ops.cast(found, dtype), keras.ops.shape(x))


def torch_element_size(dtype):
    """Tensor.element_size: the bytes of one element of dtype (bool: 1)."""
    digits = "".join(c for c in keras.backend.standardize_dtype(dtype) if c.isdigit())
    return int(digits or 8) // 8


def torch_masked_scatter(x, mask, source):
    """torch.masked_scatter: x with the positions where mask (broadcast) is true filled, in
    row-major order, by source's leading elements."""
    mask = keras.ops.broadcast_to(mask, keras.ops.shape(x))
    flat_mask = keras.ops.reshape(mask, (-1,))
    position = keras.ops.maximum(keras.ops.cumsum(keras.ops.cast(flat_mask, "int32")) - 1, 0)
    taken = keras.ops.take(keras.ops.reshape(keras.ops.cast(source, x.dtype), (-1,)), position)
    return keras.ops.reshape(keras.ops.where(flat_mask, taken, keras.ops.reshape(x, (-1,))), keras.ops.shape(x))


def torch_svd(x, some=True, compute_uv=True):
    """torch.svd: (U, S, V) with V itself (keras.ops.svd gives its conjugate transpose); with
    compute_uv=False, U and V are zeros as in torch."""
    u, s, vh = keras.ops.svd(x, full_matrices=not some)
    v = keras.ops.conj(keras.ops.swapaxes(vh, -1, -2))
    if not compute_uv:
        u, v = keras.ops.zeros_like(u), keras.ops.zeros_like(v)
    return u, s, v
