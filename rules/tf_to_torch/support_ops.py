"""Support functions for translated Keras / TensorFlow operations (Keras -> PyTorch).

Each one reproduces a keras.ops.* or tf.* function exactly where torch has no one-call
equivalent (a reduction over several axes or all of them, numpy-style ``split`` / ``pad`` /
``take``, TensorFlow's ``transpose_a`` / ``exclusive`` flags, ...). A translation copies the
definitions it uses into its output: they are plain PyTorch and need nothing else.
"""

import torch
import torch.nn.functional as F


def keras_dtype(dtype):
    """A torch dtype for a Keras / TensorFlow dtype given as a string ("float32"), a Python type
    (int, float, bool), a torch dtype (passed through) or None (passed through)."""
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    if dtype is bool:
        return torch.bool
    if dtype is int:
        return torch.int64
    if dtype is float:
        return torch.float32
    name = getattr(dtype, "name", None) or str(dtype)
    name = name.replace("<dtype: '", "").replace("'>", "")
    aliases = {"float": "float32", "double": "float64", "half": "float16", "int": "int64"}
    name = aliases.get(name, name)
    result = getattr(torch, name, None)
    if not isinstance(result, torch.dtype):
        raise TypeError(f"no torch dtype for Keras dtype {dtype!r}")
    return result


def _keras_axes(x, axis):
    """Keras' axis argument as a tuple of non-negative axes (None: all of them)."""
    if axis is None:
        return tuple(range(x.dim()))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(sorted(a % x.dim() if x.dim() else 0 for a in axis))


def keras_prod(x, axis=None, keepdims=False, dtype=None):
    """keras.ops.prod / tf.reduce_prod: the product over one axis, several (a tuple) or all
    (None); torch.prod reduces one axis at a time."""
    if dtype is not None:
        x = x.to(keras_dtype(dtype))
    axes = _keras_axes(x, axis)
    for a in axes:
        x = torch.prod(x, dim=a, keepdim=True)
    if not keepdims:
        x = x.reshape([n for i, n in enumerate(x.shape) if i not in axes])
    return x


def keras_logsumexp(x, axis=None, keepdims=False):
    """keras.ops.logsumexp / tf.reduce_logsumexp; axis None reduces every axis (torch needs
    them listed)."""
    return torch.logsumexp(x, dim=_keras_axes(x, axis), keepdim=keepdims)


def keras_softmax(x, axis=-1):
    """keras.ops.softmax over one axis or several (a tuple: normalised over their product)."""
    if isinstance(axis, int):
        return torch.softmax(x, dim=axis)
    return torch.exp(x - torch.logsumexp(x, dim=_keras_axes(x, axis), keepdim=True))


def keras_log_softmax(x, axis=-1):
    """keras.ops.log_softmax over one axis or several (a tuple)."""
    if isinstance(axis, int):
        return torch.log_softmax(x, dim=axis)
    return x - torch.logsumexp(x, dim=_keras_axes(x, axis), keepdim=True)


def keras_expand_dims(x, axis):
    """keras.ops.expand_dims with one axis or several (a tuple: positions in the result)."""
    if isinstance(axis, int):
        return torch.unsqueeze(x, axis)
    ndim = x.dim() + len(axis)
    for a in sorted(a % ndim for a in axis):
        x = torch.unsqueeze(x, a)
    return x


def keras_flip(x, axis=None):
    """keras.ops.flip: reverses the given axes (None: all of them)."""
    return torch.flip(x, _keras_axes(x, axis))


def keras_transpose(x, axes=None):
    """keras.ops.transpose / tf.transpose: axes None reverses the order of all axes."""
    if axes is None:
        axes = tuple(range(x.dim() - 1, -1, -1))
    return torch.permute(x, tuple(axes))


def keras_take(x, indices, axis=None):
    """keras.ops.take / tf.gather: the entries of ``x`` at ``indices`` (any shape, negative
    indices count from the end) along ``axis``; axis None indexes the flattened tensor. The result
    has shape x.shape[:axis] + indices.shape + x.shape[axis + 1:]."""
    indices = torch.as_tensor(indices, device=x.device).long()
    if axis is None:
        x, axis = x.reshape(-1), 0
    axis = axis % x.dim()
    n = x.shape[axis]
    flat = torch.where(indices < 0, indices + n, indices).reshape(-1)
    picked = torch.index_select(x, axis, flat)
    return picked.reshape(x.shape[:axis] + indices.shape + x.shape[axis + 1 :])


def keras_repeat(x, repeats, axis=None):
    """keras.ops.repeat: repeats an int or a list/tensor of per-element counts; axis None
    repeats the flattened tensor."""
    if not isinstance(repeats, int):
        repeats = torch.as_tensor(repeats, device=x.device)
    return torch.repeat_interleave(x, repeats, dim=axis)


def keras_one_hot(x, num_classes, axis=-1, dtype=None):
    """keras.ops.one_hot: float32 (or ``dtype``) one-hot vectors along ``axis``; an index
    outside [0, num_classes) (e.g. -1) gives a row of zeros (torch's one_hot raises)."""
    x = torch.as_tensor(x).long()
    valid = (x >= 0) & (x < num_classes)
    out = F.one_hot(torch.where(valid, x, torch.zeros_like(x)), num_classes)
    out = (out * valid.unsqueeze(-1)).to(keras_dtype(dtype) or torch.float32)
    if axis != -1 and axis != out.dim() - 1:
        out = torch.movedim(out, -1, axis)
    return out


def _pad_pairs(pad_width, ndim):
    """numpy-style pad_width (an int, (n,), (before, after), ((b, a),) or one pair per axis) as
    a list of (before, after) pairs, one per axis."""
    if isinstance(pad_width, torch.Tensor):
        pad_width = pad_width.tolist()
    if isinstance(pad_width, int):
        return [(pad_width, pad_width)] * ndim
    pad_width = [tuple(p) if isinstance(p, (tuple, list)) else p for p in pad_width]
    if len(pad_width) == 1 and isinstance(pad_width[0], int):
        return [(pad_width[0], pad_width[0])] * ndim
    if len(pad_width) == 2 and all(isinstance(p, int) for p in pad_width):
        return [tuple(pad_width)] * ndim
    if len(pad_width) == 1:
        return [tuple(pad_width[0])] * ndim
    return [tuple(int(v) for v in p) for p in pad_width]


def keras_pad(x, pad_width, mode="constant", constant_values=None):
    """keras.ops.pad / tf.pad (numpy semantics): mode "constant" (with constant_values),
    "reflect" (the edge not repeated), "symmetric" (the edge repeated), "edge" and "wrap", on any
    axis."""
    pairs = _pad_pairs(pad_width, x.dim())
    mode = mode.lower()
    if mode == "constant":
        flat = [v for pair in reversed(pairs) for v in pair]
        return F.pad(x, flat, value=0 if constant_values is None else constant_values)
    for axis, (before, after) in enumerate(pairs):
        n = x.shape[axis]
        i = torch.arange(-before, n + after, device=x.device)
        if mode == "reflect":
            period = 2 * (n - 1) if n > 1 else 1
            i = i.remainder(period)
            i = torch.where(i >= n, period - i, i)
        elif mode == "symmetric":
            i = i.remainder(2 * n)
            i = torch.where(i >= n, 2 * n - 1 - i, i)
        elif mode == "edge":
            i = i.clamp(0, n - 1)
        elif mode == "wrap":
            i = i.remainder(n)
        else:
            raise ValueError(f"pad mode {mode!r} is not translated")
        x = torch.index_select(x, axis, i)
    return x


def tf_split(value, num_or_size_splits, axis=0):
    """tf.split: an int splits into that many equal pieces; a list gives the sizes, one of which
    may be -1 (the rest of the axis)."""
    if isinstance(num_or_size_splits, int):
        return list(torch.tensor_split(value, num_or_size_splits, dim=axis))
    sizes = [int(s) for s in num_or_size_splits]
    if -1 in sizes:
        sizes[sizes.index(-1)] = value.shape[axis] - sum(s for s in sizes if s != -1)
    return list(torch.split(value, sizes, dim=axis))


def tf_matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False):
    """tf.matmul with its transpose / adjoint (conjugate transpose) flags on the last two axes."""
    if transpose_a:
        a = a.mT
    if adjoint_a:
        a = a.mH
    if transpose_b:
        b = b.mT
    if adjoint_b:
        b = b.mH
    return torch.matmul(a, b)


def tf_band_part(input, num_lower, num_upper):
    """tf.linalg.band_part: keeps the entries at most num_lower below and num_upper above the
    diagonal of the last two axes (a negative count keeps that whole side)."""
    rows, cols = input.shape[-2], input.shape[-1]
    i = torch.arange(rows, device=input.device).unsqueeze(-1)
    j = torch.arange(cols, device=input.device)
    keep = torch.ones(rows, cols, dtype=torch.bool, device=input.device)
    if num_lower >= 0:
        keep = keep & (i - j <= num_lower)
    if num_upper >= 0:
        keep = keep & (j - i <= num_upper)
    return torch.where(keep, input, torch.zeros_like(input))


def _tf_cumulative(op, identity, x, axis, exclusive, reverse):
    if reverse:
        x = torch.flip(x, (axis,))
    out = op(x, dim=axis)
    if exclusive:
        out = torch.narrow(out, axis, 0, x.shape[axis] - 1)
        pad = torch.full_like(torch.narrow(x, axis, 0, 1), identity)
        out = torch.cat([pad, out], dim=axis)
    if reverse:
        out = torch.flip(out, (axis,))
    return out


def tf_cumsum(x, axis=0, exclusive=False, reverse=False):
    """tf.cumsum: ``exclusive`` leaves out the element itself (the first sum is 0); ``reverse``
    sums from the end."""
    return _tf_cumulative(torch.cumsum, 0, x, axis, exclusive, reverse)


def tf_cumprod(x, axis=0, exclusive=False, reverse=False):
    """tf.math.cumprod: like tf_cumsum, with products (an exclusive product starts at 1)."""
    return _tf_cumulative(torch.cumprod, 1, x, axis, exclusive, reverse)


def tf_swish(features, beta=1.0):
    """tf.nn.swish / tf.nn.silu with a beta: features * sigmoid(beta * features)."""
    return features * torch.sigmoid(beta * features)


def keras_resize(images, size, interpolation="bilinear", data_format=None):
    """keras.ops.image.resize / tf.image.resize without antialiasing on a batch (N, H, W, C)
    (channels_last, Keras' default) or an (H, W, C) image: bilinear is torch's bilinear with
    half-pixel centres (align_corners=False), nearest is torch's "nearest-exact"."""
    mode = {"bilinear": "bilinear", "nearest": "nearest-exact"}.get(interpolation)
    if mode is None:
        raise ValueError(f"interpolation {interpolation!r} is not translated")
    single = images.dim() == 3
    x = images.unsqueeze(0) if single else images
    if data_format != "channels_first":
        x = x.movedim(-1, 1)
    y = F.interpolate(
        x, size=tuple(int(s) for s in size), mode=mode, **({"align_corners": False} if mode == "bilinear" else {})
    )
    if data_format != "channels_first":
        y = y.movedim(1, -1)
    return y.squeeze(0) if single else y


def tf_l2_normalize(x, axis=None, epsilon=1e-12):
    """tf.math.l2_normalize: x * rsqrt(max(sum(x ** 2), epsilon)) over ``axis`` (None: all)."""
    square_sum = torch.sum(x * x, dim=_keras_axes(x, axis), keepdim=True)
    return x * torch.rsqrt(torch.clamp(square_sum, min=epsilon))


def keras_layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None):
    """keras.ops.layer_normalization over one axis or several: (x - mean) / sqrt(var + eps),
    scaled by gamma and shifted by beta (both shaped like the normalised axes); epsilon None is
    Keras' epsilon(), 1e-7."""
    epsilon = 1e-7 if epsilon is None else epsilon
    axes = _keras_axes(x, axis)
    mean = x.mean(dim=axes, keepdim=True)
    var = x.var(dim=axes, correction=0, keepdim=True)
    out = (x - mean) * torch.rsqrt(var + epsilon)
    shape = [x.shape[i] if i in axes else 1 for i in range(x.dim())]
    if gamma is not None:
        out = out * gamma.reshape(shape)
    if beta is not None:
        out = out + beta.reshape(shape)
    return out


# --- keras.ops numpy-style functions without a one-call torch equivalent (ops_numpy.yaml) ---------
def _keras_float(x):
    """x as a tensor, integers and booleans cast to float32 (Keras' floatx), as Keras' float
    functions do."""
    x = torch.as_tensor(x)
    return x if x.is_floating_point() or x.is_complex() else x.to(torch.float32)


def keras_fabs(x):
    """keras.ops.fabs: |x| as a float."""
    return torch.abs(_keras_float(x))


def keras_cbrt(x):
    """keras.ops.cbrt: the real cube root, sign(x) * |x| ** (1 / 3)."""
    x = _keras_float(x)
    return torch.sign(x) * torch.pow(torch.abs(x), 1.0 / 3.0)


def keras_average(x, axis=None, weights=None):
    """keras.ops.average: the mean, or sum(x * w) / sum(w) with weights shaped like x or (1-D)
    like the reduced axis."""
    x = _keras_float(x)
    if weights is None:
        return torch.mean(x, dim=axis)
    weights = torch.as_tensor(weights, dtype=x.dtype)
    if weights.dim() == 1 and x.dim() > 1:
        shape = [1] * x.dim()
        shape[axis] = -1
        weights = weights.reshape(shape)
    weights = torch.broadcast_to(weights, x.shape)
    return torch.sum(x * weights, dim=axis) / torch.sum(weights, dim=axis)


def keras_ptp(x, axis=None, keepdims=False):
    """keras.ops.ptp: max - min over axis (None: all)."""
    axes = _keras_axes(x, axis)
    return torch.amax(x, dim=axes, keepdim=keepdims) - torch.amin(x, dim=axes, keepdim=keepdims)


def keras_quantile(x, q, axis=None, method="linear", keepdims=False, ignore_nan=False):
    """keras.ops.quantile (numpy's): q in [0, 1] (a number or a 1-D list, whose axis comes first),
    over one axis, several (a tuple) or all (None); torch.quantile takes one axis."""
    x = _keras_float(x)
    q = torch.as_tensor(q, dtype=x.dtype)
    axes = _keras_axes(x, axis)
    rest = [a for a in range(x.dim()) if a not in axes]
    flat = x.permute(*rest, *axes).reshape(*[x.shape[a] for a in rest], -1)
    quantile = torch.nanquantile if ignore_nan else torch.quantile
    out = quantile(flat, q, dim=-1, interpolation=method)
    if keepdims:
        out = out.reshape(*q.shape, *[1 if a in axes else n for a, n in enumerate(x.shape)])
    return out


def keras_percentile(x, q, axis=None, method="linear", keepdims=False, ignore_nan=False):
    """keras.ops.percentile: keras_quantile with q in percent."""
    q = torch.as_tensor(q, dtype=torch.float64) / 100
    return keras_quantile(x, q, axis=axis, method=method, keepdims=keepdims, ignore_nan=ignore_nan)


def keras_nan_reduce(op, x, axis=None, keepdims=False):
    """keras.ops.nanmax / nanmin / nanprod: the reduction over the non-NaN entries (NaN where a
    slice is all NaN, for max and min)."""
    axes = _keras_axes(x, axis)
    nan = torch.isnan(x)
    if op == "prod":
        out = torch.where(nan, torch.ones_like(x), x)
        for a in axes:
            out = torch.prod(out, dim=a, keepdim=True)
        return out if keepdims else out.reshape([n for i, n in enumerate(out.shape) if i not in axes])
    fill = -torch.inf if op == "max" else torch.inf
    reduce = torch.amax if op == "max" else torch.amin
    out = reduce(torch.where(nan, fill, x), dim=axes, keepdim=keepdims)
    return torch.where(torch.all(nan, dim=axes, keepdim=keepdims), torch.nan, out)


def keras_nanvar(x, axis=None, keepdims=False, std=False):
    """keras.ops.nanvar / nanstd: the population variance of the non-NaN entries."""
    x = _keras_float(x)
    axes = _keras_axes(x, axis)
    mean = torch.nanmean(x, dim=axes, keepdim=True)
    out = torch.nanmean(torch.square(x - mean), dim=axes, keepdim=keepdims)
    return torch.sqrt(out) if std else out


def keras_nan_cumulative(op, x, axis=None, dtype=None):
    """keras.ops.nancumsum / nancumprod: NaN counts as 0 (sum) or 1 (product); axis None runs
    over the flattened tensor."""
    if dtype is not None:
        x = x.to(keras_dtype(dtype))
    if axis is None:
        x, axis = torch.flatten(x), 0
    x = torch.where(torch.isnan(x), 0 if op == "sum" else 1, x) if x.is_floating_point() else x
    return torch.cumsum(x, dim=axis) if op == "sum" else torch.cumprod(x, dim=axis)


def keras_dot(x1, x2):
    """keras.ops.dot (numpy's): a product with a scalar, matmul for a 1-D or 2-D x2, else the sum
    over the last axis of x1 and the second-to-last of x2."""
    x1, x2 = torch.as_tensor(x1), torch.as_tensor(x2)
    if x1.dim() == 0 or x2.dim() == 0:
        return x1 * x2
    if x2.dim() <= 2:
        return torch.matmul(x1, x2)
    return torch.tensordot(x1, x2, dims=([x1.dim() - 1], [x2.dim() - 2]))


def keras_tri(N, M=None, k=0, dtype=None):
    """keras.ops.tri: ones at and below the k-th diagonal of an N x M matrix (float32 unless
    dtype)."""
    ones = torch.ones(N, N if M is None else M, dtype=keras_dtype(dtype) or torch.float32)
    return torch.tril(ones, diagonal=k)


def keras_select(condlist, choicelist, default=0):
    """keras.ops.select (numpy's): from the first true condition's choice, else default."""
    out = torch.as_tensor(default, dtype=choicelist[0].dtype)
    for condition, choice in reversed(list(zip(condlist, choicelist))):
        out = torch.where(condition, choice, out)
    return torch.broadcast_to(out, torch.broadcast_shapes(*(c.shape for c in condlist), *(c.shape for c in choicelist)))


def keras_divide_no_nan(x1, x2):
    """keras.ops.divide_no_nan: x1 / x2, 0 where x2 is 0."""
    quotient = torch.as_tensor(x1) / x2
    return torch.where(torch.as_tensor(x2) == 0, torch.zeros_like(quotient), quotient)


def keras_heaviside(x1, x2):
    """keras.ops.heaviside: 0 where x1 < 0, x2 where x1 == 0, 1 where x1 > 0."""
    x1 = _keras_float(x1)
    return torch.heaviside(x1, torch.as_tensor(x2, dtype=x1.dtype))


# --- keras.ops core, nn and math functions (ops_core.yaml) ----------------------------------------
def keras_moments(x, axes, keepdims=False):
    """keras.ops.moments: the mean and the population variance over axes."""
    x = _keras_float(x)
    axes = _keras_axes(x, axes)
    return torch.mean(x, dim=axes, keepdim=keepdims), torch.var(x, dim=axes, correction=0, keepdim=keepdims)


def keras_batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """keras.ops.batch_normalization: (x - mean) / sqrt(variance + epsilon) * scale + offset, the
    statistics (1-D) applied along axis."""
    shape = [1] * x.dim()
    shape[axis] = -1
    out = (x - mean.reshape(shape)) * torch.rsqrt(variance.reshape(shape) + epsilon)
    if scale is not None:
        out = out * scale.reshape(shape)
    if offset is not None:
        out = out + offset.reshape(shape)
    return out


def keras_rms_normalization(x, scale=None, axis=-1, epsilon=None):
    """keras.ops.rms_normalization: x / sqrt(mean(x ** 2) + epsilon) * scale over axis; epsilon
    None is Keras' epsilon(), 1e-7."""
    epsilon = 1e-7 if epsilon is None else epsilon
    out = x * torch.rsqrt(torch.mean(torch.square(x), dim=_keras_axes(x, axis), keepdim=True) + epsilon)
    return out if scale is None else out * scale


def keras_squareplus(x, b=4):
    """keras.ops.squareplus: (x + sqrt(x ** 2 + b)) / 2."""
    return (x + torch.sqrt(torch.square(x) + b)) / 2


def keras_sparse_plus(x):
    """keras.ops.sparse_plus: 0 below -1, (x + 1) ** 2 / 4 on (-1, 1), x above."""
    return torch.where(x <= -1, torch.zeros_like(x), torch.where(x < 1, 0.25 * (x + 1) ** 2, x))


def keras_sparse_sigmoid(x):
    """keras.ops.sparse_sigmoid: 0 below -1, (x + 1) / 2 on (-1, 1), 1 above."""
    return torch.clamp(0.5 * (x + 1), 0.0, 1.0)


def keras_sparsemax(x, axis=-1):
    """keras.ops.sparsemax: the Euclidean projection of x onto the probability simplex."""
    ordered = torch.sort(x, dim=axis, descending=True).values
    cumulative = torch.cumsum(ordered, dim=axis)
    shape = [1] * x.dim()
    shape[axis] = -1
    rank = torch.arange(1, x.shape[axis] + 1, dtype=x.dtype).reshape(shape)
    support = ordered - (cumulative - 1) / rank > 0
    k = torch.sum(support, dim=axis, keepdim=True)
    tau = (torch.sum(torch.where(support, cumulative, 0.0), dim=axis, keepdim=True) - 1) / k
    return torch.clamp(x - tau, min=0.0)


def keras_psnr(x1, x2, max_val):
    """keras.ops.psnr: 20 log10(max_val) - 10 log10(mean((x1 - x2) ** 2)) over every entry."""
    mse = torch.mean((x1 - x2) ** 2)
    return 20 * torch.log10(torch.as_tensor(max_val, dtype=x1.dtype)) - 10 * torch.log10(mse)


def keras_multi_hot(x, num_classes, axis=-1, dtype=None):
    """keras.ops.multi_hot: the union of the one-hot vectors of each row's integers."""
    encoded = keras_one_hot(x, num_classes, axis=axis, dtype=dtype)
    reduce = torch.any if encoded.dtype == torch.bool else torch.amax
    return reduce(encoded, dim=1 if x.dim() > 1 else 0)


def keras_in_top_k(targets, predictions, k):
    """keras.ops.in_top_k: whether each target's prediction is among the k largest (ties at the
    k-th value count as in, as TensorFlow's)."""
    predictions = torch.as_tensor(predictions)
    kth = torch.topk(predictions, k, dim=-1).values[..., -1:]
    chosen = torch.take_along_dim(predictions, torch.as_tensor(targets).long()[:, None], dim=-1)
    return (chosen >= kth)[:, 0]


def keras_segment(op, data, segment_ids, num_segments=None):
    """keras.ops.segment_sum / max / min / prod: data reduced by segment id (num_segments None:
    max id + 1); an empty segment holds the identity (0, the lowest or highest value, 1), ids
    out of range are dropped."""
    ids = torch.as_tensor(segment_ids).long()
    n = int(ids.max()) + 1 if num_segments is None else int(num_segments)
    info = torch.finfo(data.dtype) if data.is_floating_point() else torch.iinfo(data.dtype)
    identity = {"sum": 0, "prod": 1, "amax": info.min, "amin": info.max}[op]
    out = torch.full((n + 1, *data.shape[1:]), identity, dtype=data.dtype)
    ids = torch.where((ids >= 0) & (ids < n), ids, n)
    index = ids.reshape(-1, *[1] * (data.dim() - 1)).expand_as(data)
    return out.scatter_reduce(0, index, data, reduce=op, include_self=True)[:n]


def keras_slice(inputs, start_indices, shape):
    """keras.ops.slice: the block of ``shape`` starting at start_indices."""
    return inputs[tuple(slice(int(s), int(s) + int(n)) for s, n in zip(start_indices, shape))]


def keras_slice_update(inputs, start_indices, updates):
    """keras.ops.slice_update: a copy of inputs with the block at start_indices replaced."""
    out = torch.clone(inputs)
    out[tuple(slice(int(s), int(s) + n) for s, n in zip(start_indices, updates.shape))] = updates
    return out


def keras_scatter(indices, values, shape):
    """keras.ops.scatter: zeros of ``shape`` with values added at indices (duplicates sum)."""
    indices, values = torch.as_tensor(indices).long(), torch.as_tensor(values)
    out = torch.zeros(tuple(shape), dtype=values.dtype)
    out.index_put_(
        tuple(indices.reshape(-1, indices.shape[-1]).T),
        values.reshape(-1, *out.shape[indices.shape[-1] :]),
        accumulate=True,
    )
    return out


def keras_scatter_update(inputs, indices, updates, reduction=None):
    """keras.ops.scatter_update: a copy of inputs with the entries (or slices) at indices replaced
    (reduction None) or combined ("add", "max", "min", "mul")."""
    indices = torch.as_tensor(indices).long()
    updates = torch.as_tensor(updates, dtype=inputs.dtype)
    out = torch.clone(inputs)
    if reduction is None:
        out[tuple(indices.T)] = updates
    elif reduction == "add":
        out.index_put_(tuple(indices.T), updates, accumulate=True)
    else:
        combine = {"max": torch.maximum, "min": torch.minimum, "mul": torch.mul}[reduction]
        for index, update in zip(indices, updates):
            out[tuple(index)] = combine(out[tuple(index)], update)
    return out


def keras_saturate_cast(x, dtype):
    """keras.ops.saturate_cast: x clipped to the range of dtype, then cast."""
    dtype = keras_dtype(dtype)
    info = torch.finfo(dtype) if dtype.is_floating_point else torch.iinfo(dtype)
    if x.is_floating_point() and not dtype.is_floating_point:
        # the bounds as floats of x's dtype that do not pass the integer range
        bounds = []
        for bound in (info.min, info.max):
            value = torch.tensor(float(bound), dtype=x.dtype)
            if abs(int(value)) > abs(bound):
                value = torch.nextafter(value, torch.zeros_like(value))
            bounds.append(value)
        return torch.clamp(x, bounds[0], bounds[1]).to(dtype)
    return torch.clamp(x, info.min, info.max).to(dtype)


def keras_switch(index, branches, *operands):
    """keras.ops.switch: the branch at index (clamped to the branches), called on operands."""
    return branches[max(0, min(int(index), len(branches) - 1))](*operands)


def keras_fori_loop(lower, upper, body_fun, init_val):
    """keras.ops.fori_loop: val = body_fun(i, val) for i in [lower, upper)."""
    val = init_val
    for i in range(int(lower), int(upper)):
        val = body_fun(i, val)
    return val


def keras_while_loop(cond, body, loop_vars, maximum_iterations=None):
    """keras.ops.while_loop: loop_vars = body(*loop_vars) while cond(*loop_vars) holds (and fewer
    than maximum_iterations steps ran); a single loop variable is passed and returned bare."""
    is_tuple = isinstance(loop_vars, (tuple, list))
    loop_vars = tuple(loop_vars) if is_tuple else (loop_vars,)
    step = 0
    while cond(*loop_vars) and (maximum_iterations is None or step < maximum_iterations):
        loop_vars = body(*loop_vars)
        loop_vars = tuple(loop_vars) if isinstance(loop_vars, (tuple, list)) else (loop_vars,)
        step += 1
    return loop_vars if is_tuple else loop_vars[0]


def keras_scan(f, init, xs=None, length=None, reverse=False):
    """keras.ops.scan (jax.lax.scan) over the first axis of xs (a tensor, or a tuple / list of
    them): carry, y = f(carry, x); returns the last carry and the stacked ys."""
    n = int(length) if xs is None else len(xs[0] if isinstance(xs, (tuple, list)) else xs)
    steps = range(n - 1, -1, -1) if reverse else range(n)
    carry, ys = init, []
    for i in steps:
        x = None if xs is None else type(xs)(e[i] for e in xs) if isinstance(xs, (tuple, list)) else xs[i]
        carry, y = f(carry, x)
        ys.append(y)
    if reverse:
        ys.reverse()
    if ys and isinstance(ys[0], (tuple, list)):
        return carry, type(ys[0])(torch.stack(parts) for parts in zip(*ys))
    return carry, (torch.stack(ys) if ys and ys[0] is not None else None)


def keras_map(f, xs):
    """keras.ops.map: f applied to each slice of xs along the first axis, the results stacked."""
    return keras_scan(lambda carry, x: (carry, f(x)), (), xs)[1]


def keras_depth_to_space(x, block_size, data_format="channels_last"):
    """keras.ops.depth_to_space (TensorFlow's DCR order): (N, H, W, C) -> (N, H b, W b, C / b**2)."""
    if data_format == "channels_first":
        x = x.permute(0, 2, 3, 1)
    n, h, w, c = x.shape
    out = x.reshape(n, h, w, block_size, block_size, c // block_size**2).permute(0, 1, 3, 2, 4, 5)
    out = out.reshape(n, h * block_size, w * block_size, c // block_size**2)
    return out.permute(0, 3, 1, 2) if data_format == "channels_first" else out


def keras_space_to_depth(x, block_size, data_format="channels_last"):
    """keras.ops.space_to_depth, the inverse of depth_to_space: (N, H, W, C) -> (N, H / b, W / b, C b**2)."""
    if data_format == "channels_first":
        x = x.permute(0, 2, 3, 1)
    n, h, w, c = x.shape
    out = x.reshape(n, h // block_size, block_size, w // block_size, block_size, c).permute(0, 1, 3, 2, 4, 5)
    out = out.reshape(n, h // block_size, w // block_size, c * block_size**2)
    return out.permute(0, 3, 1, 2) if data_format == "channels_first" else out


def keras_fft(op, x, fft_length=None):
    """keras.ops.fft / fft2 / ifft2 / rfft / irfft: Keras passes complex tensors as a pair
    (real, imaginary) and returns one."""
    if op == "rfft":
        out = torch.fft.rfft(x, n=fft_length)
        return out.real, out.imag
    z = torch.complex(*x)
    if op == "irfft":
        return torch.fft.irfft(z, n=fft_length)
    out = {"fft": torch.fft.fft, "fft2": torch.fft.fft2, "ifft2": torch.fft.ifft2}[op](z)
    return out.real, out.imag


def keras_pinv(x, rcond=None):
    """keras.ops.pinv: singular values below rcond * the largest are dropped; rcond None is
    TensorFlow's 10 * max(M, N) * eps."""
    if rcond is None:
        rcond = 10 * max(x.shape[-2:]) * torch.finfo(x.dtype).eps
    return torch.linalg.pinv(x, rtol=rcond)


def keras_lstsq(a, b, rcond=None):
    """keras.ops.lstsq: the least-squares solution of a @ x = b (b a vector or a matrix);
    rcond as numpy's (None: eps * max(M, N))."""
    solution = torch.linalg.lstsq(a, b[:, None] if b.dim() == 1 else b, rcond=rcond, driver="gelsd").solution
    return solution[:, 0] if b.dim() == 1 else solution
