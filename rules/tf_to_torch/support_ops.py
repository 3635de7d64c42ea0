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


def keras_segment(op, data, segment_ids, num_segments=None, empty=None):
    """keras.ops.segment_sum / max / min / prod, tf.math.(unsorted_)segment_*: data reduced by
    segment id (num_segments None: max id + 1; ids of any rank index data's first axes); an
    empty segment holds the identity (0, the lowest or highest value, 1) or ``empty`` (TF's
    sorted max / min give 0), ids out of range are dropped."""
    ids = torch.as_tensor(segment_ids, device=data.device).long()
    data = data.reshape(-1, *data.shape[ids.dim() :])
    ids = ids.reshape(-1)
    n = int(ids.max()) + 1 if num_segments is None else int(num_segments)
    info = torch.finfo(data.dtype) if data.is_floating_point() else torch.iinfo(data.dtype)
    identity = {"sum": 0, "prod": 1, "amax": info.min, "amin": info.max}[op]
    out = torch.full((n + 1, *data.shape[1:]), identity, dtype=data.dtype, device=data.device)
    ids = torch.where((ids >= 0) & (ids < n), ids, n)
    index = ids.reshape(-1, *[1] * (data.dim() - 1)).expand_as(data)
    out = out.scatter_reduce(0, index, data, reduce=op, include_self=True)[:n]
    if empty is not None:
        filled = torch.bincount(ids, minlength=n + 1)[:n] > 0
        out = torch.where(filled.reshape(-1, *[1] * (data.dim() - 1)), out, torch.full_like(out, empty))
    return out


def keras_slice(inputs, start_indices, shape):
    """keras.ops.slice / tf.slice: the block of ``shape`` starting at start_indices (a size of -1
    takes the rest of that axis, as tf.slice)."""
    return inputs[tuple(slice(int(s), None if int(n) == -1 else int(s) + int(n)) for s, n in zip(start_indices, shape))]


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


# --- tf.* and tf.math.* (tf_core.yaml, tf_math.yaml) ------------------------------------------------
def tf_imag(x):
    """tf.math.imag: the imaginary part; zeros for a real tensor (torch.imag refuses one)."""
    x = torch.as_tensor(x)
    return torch.imag(x) if x.is_complex() else torch.zeros_like(x)


def tf_tensor_scatter_nd(op, tensor, indices, updates):
    """tf.tensor_scatter_nd_update / add / max / min: a copy of tensor whose slices at indices
    (..., K: an index into tensor's first K axes) are replaced by ("update") or combined with
    ("add", "amax", "amin") updates (shape indices.shape[:-1] + tensor.shape[K:])."""
    indices = torch.as_tensor(indices, device=tensor.device).long()
    k = indices.shape[-1]
    strides = [1] * k
    for i in range(k - 2, -1, -1):
        strides[i] = strides[i + 1] * tensor.shape[i + 1]
    linear = (indices * torch.tensor(strides, device=tensor.device)).sum(-1).reshape(-1)
    out = tensor.reshape(-1, *tensor.shape[k:]).clone()
    source = torch.as_tensor(updates, dtype=tensor.dtype, device=tensor.device).reshape(-1, *tensor.shape[k:])
    if op == "update":
        out.index_copy_(0, linear, source)
    elif op == "add":
        out.index_add_(0, linear, source)
    else:
        out.index_reduce_(0, linear, source, reduce=op, include_self=True)
    return out.reshape(tensor.shape)


def tf_reverse_sequence(input, seq_lengths, seq_axis, batch_axis=0):
    """tf.reverse_sequence: for each index b along batch_axis, the first seq_lengths[b] entries
    along seq_axis reversed, the rest kept."""
    seq_axis, batch_axis = seq_axis % input.dim(), batch_axis % input.dim()
    lengths = torch.as_tensor(seq_lengths, device=input.device).long()[:, None]
    positions = torch.arange(input.shape[seq_axis], device=input.device)
    source = torch.where(positions < lengths, lengths - 1 - positions, positions)  # (batch, seq)
    if batch_axis > seq_axis:
        source = source.T
    shape = [1] * input.dim()
    shape[batch_axis], shape[seq_axis] = -1, input.shape[seq_axis]
    return torch.gather(input, seq_axis, source.reshape(shape).expand_as(input))


def tf_unique(x, with_counts=False):
    """tf.unique / tf.unique_with_counts: the distinct values of a 1-D tensor in order of first
    appearance (torch.unique sorts them), each entry's index into them (and the counts)."""
    values, inverse, counts = torch.unique(x, sorted=True, return_inverse=True, return_counts=True)
    positions = torch.arange(len(x), device=x.device)
    first = torch.full((len(values),), len(x), device=x.device).scatter_reduce(0, inverse, positions, reduce="amin")
    order = torch.argsort(first)
    found = (values[order], torch.argsort(order)[inverse])
    return (*found, counts[order]) if with_counts else found


def tf_sequence_mask(lengths, maxlen=None, dtype=torch.bool):
    """tf.sequence_mask: mask[..., j] = j < lengths[...] (maxlen None: the largest length)."""
    lengths = torch.as_tensor(lengths)
    if maxlen is None:
        maxlen = int(lengths.max()) if lengths.numel() else 0
    mask = torch.arange(int(maxlen), device=lengths.device) < lengths.unsqueeze(-1)
    return mask.to(keras_dtype(dtype))


def tf_clip_by_norm(t, clip_norm, axes=None):
    """tf.clip_by_norm: t * clip_norm / max(l2 norm over axes, clip_norm) (None: all axes)."""
    t = torch.as_tensor(t)
    l2sum = torch.sum(t * t, dim=_keras_axes(t, axes), keepdim=True)
    positive = l2sum > 0
    l2norm = torch.where(positive, torch.sqrt(torch.where(positive, l2sum, torch.ones_like(l2sum))), l2sum)
    return t * clip_norm / torch.clamp(l2norm, min=clip_norm)


def tf_clip_by_global_norm(t_list, clip_norm, use_norm=None):
    """tf.clip_by_global_norm: the tensors scaled by clip_norm / max(global norm, clip_norm),
    and the global norm (the 2-norm of all their entries; None entries stay None)."""
    if use_norm is None:
        use_norm = torch.sqrt(sum(torch.sum(torch.square(t)) for t in t_list if t is not None))
    use_norm = torch.as_tensor(use_norm)
    scale = clip_norm * torch.clamp(1.0 / use_norm, max=1.0 / clip_norm)
    return [None if t is None else t * scale.to(t.dtype) for t in t_list], use_norm


def tf_histogram_fixed_width_bins(values, value_range, nbins=100):
    """tf.histogram_fixed_width_bins: the bin of each value among nbins equal bins over
    value_range; values outside go to the first or last bin."""
    values = torch.as_tensor(values)
    low, high = torch.as_tensor(value_range, dtype=values.dtype if values.is_floating_point() else torch.float64)
    scaled = (values - low) / (high - low)
    return torch.clamp(torch.floor(scaled * nbins), 0, nbins - 1).long()


def tf_histogram_fixed_width(values, value_range, nbins=100):
    """tf.histogram_fixed_width: the counts of tf_histogram_fixed_width_bins."""
    return torch.bincount(tf_histogram_fixed_width_bins(values, value_range, nbins).reshape(-1), minlength=nbins)


def tf_confusion_matrix(labels, predictions, num_classes=None, weights=None, dtype=torch.int32):
    """tf.math.confusion_matrix: m[i, j] = the (weighted) count of label i predicted as j
    (num_classes None: the largest label or prediction + 1)."""
    labels, predictions = torch.as_tensor(labels).long().reshape(-1), torch.as_tensor(predictions).long().reshape(-1)
    n = int(torch.maximum(labels.max(), predictions.max())) + 1 if num_classes is None else int(num_classes)
    dtype = keras_dtype(dtype)
    counts = torch.ones_like(labels, dtype=dtype) if weights is None else torch.as_tensor(weights).reshape(-1).to(dtype)
    out = torch.zeros(n * n, dtype=dtype, device=labels.device)
    return out.index_add_(0, labels * n + predictions, counts).reshape(n, n)


def tf_linspace(start, stop, num, axis=0):
    """tf.linspace: num evenly spaced values from start to stop (both included) along a new axis;
    start and stop may be tensors (one sequence per entry); integers give float64 as in TF."""
    start, stop = torch.as_tensor(start), torch.as_tensor(stop)
    dtype = torch.promote_types(start.dtype, stop.dtype)
    dtype = dtype if dtype.is_floating_point else torch.float64
    start, stop = start.to(dtype), stop.to(dtype)
    steps = torch.arange(int(num), dtype=dtype, device=start.device) / max(int(num) - 1, 1)
    out = start.unsqueeze(-1) + (stop - start).unsqueeze(-1) * steps
    if int(num) > 1:
        out[..., -1] = stop
    return torch.movedim(out, -1, axis)


def tf_bitcast(input, type):
    """tf.bitcast: the same bytes read as another dtype; a narrower dtype adds a last axis, a
    wider one consumes it (torch's view(dtype) resizes the last axis instead)."""
    dtype = keras_dtype(type)
    size, new_size = input.element_size(), torch.empty((), dtype=dtype).element_size()
    if new_size < size:
        return input.unsqueeze(-1).view(dtype)
    if new_size > size:
        return input.view(dtype).squeeze(-1)
    return input.view(dtype)


def tf_get_static_value(tensor):
    """tf.get_static_value, run eagerly: a tensor's value as a numpy array; anything else as is."""
    return tensor.detach().cpu().numpy() if torch.is_tensor(tensor) else tensor


def tf_ensure_shape(x, shape):
    """tf.ensure_shape: x, after checking that its shape matches ``shape`` (None: any size)."""
    if shape is not None:
        expected = list(shape)
        if len(expected) != x.dim() or any(e is not None and int(e) != n for e, n in zip(expected, x.shape)):
            raise ValueError(f"shape of tensor {list(x.shape)} is not compatible with expected shape {expected}")
    return x


def tf_assert(condition, data=(), message=None):
    """tf.Assert / tf.debugging.assert_*, run eagerly: raises when any entry of condition is False."""
    if not bool(torch.all(torch.as_tensor(condition))):
        raise ValueError(
            " ".join(str(d) for d in ([message] if message else []) + list(data or ())) or "assertion failed"
        )


def tf_group(*inputs):
    """tf.group, run eagerly: the inputs were already computed; returns None."""
    return None


def tf_case(pred_fn_pairs, default=None, exclusive=False):
    """tf.case: calls the function of the first true predicate (default when none is)."""
    pairs = list(pred_fn_pairs.items()) if isinstance(pred_fn_pairs, dict) else list(pred_fn_pairs)
    chosen = [fn for pred, fn in pairs if bool(pred)]
    if exclusive and len(chosen) > 1:
        raise ValueError("tf.case: more than one predicate is True and exclusive=True")
    if chosen:
        return chosen[0]()
    if default is None:
        raise ValueError("tf.case: no predicate is True and there is no default")
    return default()


def tf_switch_case(branch_index, branch_fns, default=None):
    """tf.switch_case: calls branch_fns[branch_index] (a list, a list of (int, fn) pairs or a
    dict); an index outside them calls default, or the last branch when default is None."""
    if isinstance(branch_fns, dict):
        pairs = list(branch_fns.items())
    else:
        pairs = [p if isinstance(p, tuple) else (i, p) for i, p in enumerate(branch_fns)]
    fns = [fn for _, fn in sorted(pairs, key=lambda p: p[0])]
    index = int(branch_index)
    return fns[index]() if 0 <= index < len(fns) else (default or fns[-1])()


def tf_divide_no_nan(x, y):
    """tf.math.divide_no_nan: x / y, 0 where y is 0; integers divide in float64 (8- and 16-bit
    ones in float32), as TensorFlow's truediv (torch's gives float32)."""
    x, y = torch.as_tensor(x), torch.as_tensor(y)
    if not (x.is_floating_point() or x.is_complex()):
        dtype = torch.float32 if x.element_size() <= 2 else torch.float64
        x, y = x.to(dtype), y.to(dtype)
    return keras_divide_no_nan(x, y)
