"""Helpers for PyTorch operations that keras.ops has no exact one-call equivalent for.

Each emulates one torch function exactly (named torch_<function>). A translation that uses one
gets its definition (and those it depends on) copied into the output, so this file is plain
Keras 3: `import keras` and `import math` only.
"""

import math

import keras


# --- (values, indices) results ------------------------------------------------------------------
class TorchValuesIndices(tuple):
    """A (values, indices) pair like torch.return_types: unpack it, index it or read .values /
    .indices. The namedtuple protocol (_fields, _make, _asdict) makes Keras treat it as one."""

    _fields = ("values", "indices")

    def __new__(cls, values, indices):
        return tuple.__new__(cls, (values, indices))

    @classmethod
    def _make(cls, pair):
        return cls(*pair)

    def _asdict(self):
        return {"values": self[0], "indices": self[1]}

    values = property(lambda self: self[0])
    indices = property(lambda self: self[1])


def _int64(indices):
    """Indices as torch gives them: int64 (Keras' argmax and top_k give int32, and comparing
    int32 with a script's int64 labels fails in TensorFlow)."""
    return keras.ops.cast(indices, "int64")


def torch_max(x, dim, keepdim=False):
    """torch.max(x, dim): the maximum values along dim and their indices."""
    return TorchValuesIndices(
        keras.ops.max(x, axis=dim, keepdims=keepdim), _int64(keras.ops.argmax(x, axis=dim, keepdims=keepdim))
    )


def torch_min(x, dim, keepdim=False):
    """torch.min(x, dim): the minimum values along dim and their indices."""
    return TorchValuesIndices(
        keras.ops.min(x, axis=dim, keepdims=keepdim), _int64(keras.ops.argmin(x, axis=dim, keepdims=keepdim))
    )


def torch_sort(x, dim=-1, descending=False):
    """torch.sort: the sorted values along dim and the indices that sort them."""
    indices = keras.ops.argsort(keras.ops.negative(x) if descending else x, axis=dim)
    return TorchValuesIndices(keras.ops.take_along_axis(x, indices, axis=dim), _int64(indices))


def torch_topk(x, k, dim=-1, largest=True, sorted=True):
    """torch.topk: the k largest (or smallest) values along dim and their indices."""
    x = keras.ops.swapaxes(x, dim, -1)
    values, indices = keras.ops.top_k(x if largest else keras.ops.negative(x), k, sorted=sorted)
    values = values if largest else keras.ops.negative(values)
    return TorchValuesIndices(keras.ops.swapaxes(values, dim, -1), _int64(keras.ops.swapaxes(indices, dim, -1)))


# --- shapes and indexing ---------------------------------------------------------------------------
def torch_flatten(x, start_dim=0, end_dim=-1):
    """torch.flatten: merge the dimensions start_dim..end_dim (inclusive) into one."""
    shape = keras.ops.shape(x)
    end = end_dim % len(shape) + 1
    return keras.ops.reshape(x, tuple(shape[:start_dim]) + (-1,) + tuple(shape[end:]))


def torch_unflatten(x, dim, sizes):
    """torch.unflatten: split dimension dim into sizes (one of them may be -1)."""
    shape = keras.ops.shape(x)
    dim = dim % len(shape)
    return keras.ops.reshape(x, tuple(shape[:dim]) + tuple(sizes) + tuple(shape[dim + 1 :]))


def torch_split(x, split_size_or_sections, dim=0):
    """torch.split: pieces of split_size along dim (the last one may be smaller), or pieces of
    the given sizes."""
    sizes = split_size_or_sections
    if isinstance(sizes, int):
        total = x.shape[dim]
        sizes = [min(sizes, total - start) for start in range(0, total, sizes)]
    indices = [sum(sizes[: i + 1]) for i in range(len(sizes) - 1)]
    return keras.ops.split(x, indices, axis=dim)


def torch_chunk(x, chunks, dim=0):
    """torch.chunk: pieces of ceil(size / chunks) along dim (the last may be smaller; there may
    be fewer than chunks)."""
    if x.shape[dim] is None:  # size unknown until run time: must divide evenly
        return keras.ops.split(x, chunks, axis=dim)
    return torch_split(x, -(-x.shape[dim] // chunks), dim)


def torch_expand(x, sizes):
    """Tensor.expand: broadcast x to sizes; -1 keeps the size of that dimension, new
    dimensions are added in front."""
    sizes = tuple(sizes) if isinstance(sizes, (tuple, list)) else (sizes,)
    shape = keras.ops.shape(x)
    lead = len(sizes) - len(shape)
    return keras.ops.broadcast_to(x, [shape[i - lead] if s == -1 else s for i, s in enumerate(sizes)])


def torch_gather(x, dim, index):
    """torch.gather: out[i][j] = x[i][index[i][j]] (dim=1); index may be smaller than x in
    the other dimensions."""
    shape = list(keras.ops.shape(index))
    shape[dim] = keras.ops.shape(x)[dim]
    x = keras.ops.slice(x, [0] * len(shape), shape)
    return keras.ops.take_along_axis(x, index, axis=dim)


# --- reductions and norms --------------------------------------------------------------------------
def torch_var(x, dim=None, correction=1, keepdim=False):
    """torch.var: the sum of squared deviations over dim divided by N - correction."""
    mean = keras.ops.mean(x, axis=dim, keepdims=True)
    n = keras.ops.cast(keras.ops.size(x) // keras.ops.size(mean), x.dtype)
    return keras.ops.sum(keras.ops.square(x - mean), axis=dim, keepdims=keepdim) / (n - correction)


def torch_vector_norm(x, ord=2, dim=None, keepdim=False):
    """torch.linalg.vector_norm: the ord-norm of x over dim (all elements when dim is None);
    torch.norm's "fro" is the 2-norm."""
    ord = 2 if ord == "fro" else ord
    x = keras.ops.abs(x)
    if ord == math.inf:
        return keras.ops.max(x, axis=dim, keepdims=keepdim)
    if ord == -math.inf:
        return keras.ops.min(x, axis=dim, keepdims=keepdim)
    if ord == 0:
        return keras.ops.sum(keras.ops.cast(keras.ops.not_equal(x, 0), x.dtype), axis=dim, keepdims=keepdim)
    if ord == 2:
        return keras.ops.sqrt(keras.ops.sum(keras.ops.square(x), axis=dim, keepdims=keepdim))
    return keras.ops.power(keras.ops.sum(keras.ops.power(x, ord), axis=dim, keepdims=keepdim), 1 / ord)


def torch_normalize(x, p=2.0, dim=1, eps=1e-12):
    """F.normalize: x divided by its p-norm over dim, the norm clamped to at least eps."""
    return keras.ops.divide(x, keras.ops.maximum(torch_vector_norm(x, p, dim, keepdim=True), eps))


# --- torch.nn.functional ---------------------------------------------------------------------------
def torch_layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """F.layer_norm: normalize over the last len(normalized_shape) dimensions."""
    n = len(normalized_shape) if isinstance(normalized_shape, (tuple, list)) else 1
    axes = tuple(range(-n, 0))
    mean = keras.ops.mean(x, axis=axes, keepdims=True)
    x = (x - mean) * keras.ops.rsqrt(keras.ops.var(x, axis=axes, keepdims=True) + eps)
    if weight is not None:
        x = x * weight
    return x if bias is None else x + bias


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchLayerNorm(keras.layers.Layer):
    """nn.LayerNorm as a base class (``class LayerNorm2d(nn.LayerNorm)``): torch's constructor
    and attributes (``normalized_shape``, ``eps``, ``weight``, ``bias``); normalizes over the
    last ``len(normalized_shape)`` axes, as torch_layer_norm does."""

    def __init__(
        self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None, **kwargs
    ):
        super().__init__(**kwargs)
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape, self.eps = shape, eps
        self.weight = keras.Variable(keras.ops.ones(shape), name="weight") if elementwise_affine else None
        self.bias = keras.Variable(keras.ops.zeros(shape), name="bias") if elementwise_affine and bias else None

    def call(self, x):
        return torch_layer_norm(x, self.normalized_shape, weight=self.weight, bias=self.bias, eps=self.eps)


def torch_group_norm(x, num_groups, weight=None, bias=None, eps=1e-5):
    """F.group_norm on channels-first input (N, C, *): normalize each group of C / num_groups
    channels, then scale and shift per channel."""
    shape = keras.ops.shape(x)
    groups = keras.ops.reshape(x, (-1, num_groups, math.prod(x.shape[1:]) // num_groups))
    mean = keras.ops.mean(groups, axis=-1, keepdims=True)
    variance = keras.ops.var(groups, axis=-1, keepdims=True)
    x = keras.ops.reshape((groups - mean) * keras.ops.rsqrt(variance + eps), shape)
    channel = (-1,) + (1,) * (len(x.shape) - 2)
    if weight is not None:
        x = x * keras.ops.reshape(weight, channel)
    return x if bias is None else x + keras.ops.reshape(bias, channel)


def torch_batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, eps=1e-5):
    """F.batch_norm on channels-first input (N, C, *): with the running statistics, or (when
    training) the batch's own (the running statistics are not updated)."""
    channel = (-1,) + (1,) * (len(x.shape) - 2)
    if training:
        axes = [0] + list(range(2, len(x.shape)))
        mean = keras.ops.mean(x, axis=axes, keepdims=True)
        variance = keras.ops.var(x, axis=axes, keepdims=True)
    else:
        mean = keras.ops.reshape(running_mean, channel)
        variance = keras.ops.reshape(running_var, channel)
    x = (x - mean) * keras.ops.rsqrt(variance + eps)
    if weight is not None:
        x = x * keras.ops.reshape(weight, channel)
    return x if bias is None else x + keras.ops.reshape(bias, channel)


def torch_pad(x, pad, mode="constant", value=None):
    """F.pad: pad lists (before, after) pairs from the last dimension backwards (negative
    amounts crop); modes constant, reflect, replicate and circular."""
    pairs = [(0, 0)] * (keras.ops.ndim(x) - len(pad) // 2)
    pairs += [(pad[i], pad[i + 1]) for i in range(len(pad) - 2, -1, -2)]
    if min(pad) < 0:
        x = x[tuple(slice(max(-before, 0), after if after < 0 else None) for before, after in pairs)]
        pairs = [(max(before, 0), max(after, 0)) for before, after in pairs]
    if mode == "constant":
        return keras.ops.pad(x, pairs, constant_values=value)
    if mode == "reflect":
        return keras.ops.pad(x, pairs, mode="reflect")
    if mode not in ("replicate", "circular"):
        raise ValueError(f"F.pad: unknown mode {mode!r}")
    for axis, (before, after) in enumerate(pairs):
        if before == 0 and after == 0:
            continue
        if mode == "replicate":
            first = keras.ops.repeat(keras.ops.take(x, [0], axis=axis), before, axis=axis)
            last = keras.ops.repeat(keras.ops.take(x, [-1], axis=axis), after, axis=axis)
        else:
            size = x.shape[axis]
            first = keras.ops.take(x, list(range(size - before, size)), axis=axis)
            last = keras.ops.take(x, list(range(after)), axis=axis)
        x = keras.ops.concatenate([first, x, last], axis=axis)
    return x


def torch_interpolate(
    x,
    size=None,
    scale_factor=None,
    mode="nearest",
    align_corners=None,
    recompute_scale_factor=None,
    data_format="channels_first",
):
    """F.interpolate on channels-first input (N, C, *spatial), modes nearest, nearest-exact,
    linear, bilinear and trilinear, one spatial dimension at a time, with torch's source-index
    arithmetic (in float32). ``data_format="channels_last"``: (N, *spatial, C) input, inside a
    channels-last run of the translation."""
    if mode not in ("nearest", "nearest-exact", "linear", "bilinear", "trilinear"):
        raise ValueError(f"F.interpolate: mode {mode!r} is not supported")
    last = data_format == "channels_last"
    spatial = x.shape[1:-1] if last else x.shape[2:]
    sizes = size if isinstance(size, (tuple, list)) else [size] * len(spatial)
    factors = scale_factor if isinstance(scale_factor, (tuple, list)) else [scale_factor] * len(spatial)
    for i, in_size in enumerate(spatial):
        axis = (1 if last else 2) + i
        out_size = sizes[i] if size is not None else math.floor(in_size * factors[i])
        # torch maps output to input coordinates with 1 / scale_factor when one is given
        scale = 1.0 / factors[i] if size is None and not recompute_scale_factor else in_size / out_size
        dst = keras.ops.arange(out_size, dtype="float32")
        if mode in ("nearest", "nearest-exact"):
            if mode == "nearest" and out_size in (in_size, 2 * in_size):
                src = keras.ops.floor(dst * (in_size / out_size))  # torch's exact special cases
            else:
                offset = 0.5 if mode == "nearest-exact" else 0.0
                src = keras.ops.minimum(keras.ops.floor((dst + offset) * scale), in_size - 1)
            x = keras.ops.take(x, keras.ops.cast(src, "int32"), axis=axis)
            continue
        if align_corners:
            src = dst * ((in_size - 1) / (out_size - 1) if out_size > 1 else 0.0)
        else:
            src = keras.ops.maximum((dst + 0.5) * scale - 0.5, 0.0)
        low = keras.ops.floor(src)
        high = keras.ops.minimum(low + 1, in_size - 1)
        weight = keras.ops.reshape(src - low, (-1,) + (1,) * (len(spatial) - 1 - i + last))
        x = (
            keras.ops.take(x, keras.ops.cast(low, "int32"), axis=axis) * (1 - weight)
            + keras.ops.take(x, keras.ops.cast(high, "int32"), axis=axis) * weight
        )
    return x


def torch_adaptive_pool(x, output_size, dims, reduce=keras.ops.mean, data_format="channels_first"):
    """F.adaptive_{avg,max}_pool{1,2,3}d over the last `dims` dimensions (the `dims` after the
    batch axis with ``data_format="channels_last"``): output cell j along a dimension of size n
    reduces the input from floor(j*n/out) to ceil((j+1)*n/out)."""
    sizes = output_size if isinstance(output_size, (tuple, list)) else [output_size] * dims
    for i, out in enumerate(sizes):
        axis = 1 + i if data_format == "channels_last" else keras.ops.ndim(x) - dims + i
        n = x.shape[axis]
        if out is None or out == n:
            continue
        cells = [
            reduce(
                keras.ops.take(x, list(range(j * n // out, -(-(j + 1) * n // out))), axis=axis),
                axis=axis,
                keepdims=True,
            )
            for j in range(out)
        ]
        x = keras.ops.concatenate(cells, axis=axis)
    return x


def torch_conv(x, weight, bias=None, stride=1, padding=0, dilation=1):
    """F.conv1d / conv2d / conv3d (groups=1): channels-first x, weight (out, in, *kernel)."""
    n = len(weight.shape) - 2
    if not isinstance(padding, str):
        pads = padding if isinstance(padding, (tuple, list)) else (padding,) * n
        x = keras.ops.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in pads])
        padding = "valid"
    kernel = keras.ops.transpose(weight, tuple(range(2, n + 2)) + (1, 0))
    # channels-last for the computation: TensorFlow has no channels-first convolution on CPU
    y = keras.ops.conv(keras.ops.moveaxis(x, 1, -1), kernel, strides=stride, padding=padding, dilation_rate=dilation)
    y = keras.ops.moveaxis(y, -1, 1)
    return y if bias is None else y + keras.ops.reshape(bias, (-1,) + (1,) * n)


def torch_pixel_shuffle(x, upscale_factor):
    """F.pixel_shuffle: (N, C*r*r, H, W) -> (N, C, H*r, W*r)."""
    r = upscale_factor
    _, channels, height, width = x.shape
    x = keras.ops.reshape(x, (-1, channels // (r * r), r, r, height, width))
    x = keras.ops.transpose(x, (0, 1, 4, 2, 5, 3))
    return keras.ops.reshape(x, (-1, channels // (r * r), height * r, width * r))


def torch_pixel_unshuffle(x, downscale_factor):
    """F.pixel_unshuffle: (N, C, H*r, W*r) -> (N, C*r*r, H, W)."""
    r = downscale_factor
    _, channels, height, width = x.shape
    x = keras.ops.reshape(x, (-1, channels, height // r, r, width // r, r))
    x = keras.ops.transpose(x, (0, 1, 3, 5, 2, 4))
    return keras.ops.reshape(x, (-1, channels * r * r, height // r, width // r))


def torch_scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
    """F.scaled_dot_product_attention in torch's (..., L, E) layout: a boolean attn_mask keeps
    the True positions, a float one is added to the scores."""
    scale = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = keras.ops.matmul(query, keras.ops.swapaxes(key, -2, -1)) * scale
    if is_causal:
        length, source_length = keras.ops.shape(scores)[-2], keras.ops.shape(scores)[-1]
        attn_mask = keras.ops.tril(keras.ops.ones((length, source_length), dtype="bool"))
    if attn_mask is not None and keras.backend.standardize_dtype(attn_mask.dtype) == "bool":
        scores = keras.ops.where(attn_mask, scores, -math.inf)
    elif attn_mask is not None:
        scores = scores + attn_mask
    weights = keras.ops.softmax(scores, axis=-1)
    if dropout_p > 0:
        weights = keras.random.dropout(weights, dropout_p)
    return keras.ops.matmul(weights, value)


# --- losses ----------------------------------------------------------------------------------------
def torch_reduce(loss, reduction):
    """A loss' reduction: "mean", "sum" or "none"."""
    if reduction == "mean":
        return keras.ops.mean(loss)
    return keras.ops.sum(loss) if reduction == "sum" else loss


def torch_nll_loss(log_probs, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """F.nll_loss over the class dimension 1 with class-index targets; the mean is weighted by
    the targets' class weights, ignored targets count for nothing."""
    classes, channel = log_probs.shape[1], (-1,) + (1,) * (len(log_probs.shape) - 2)
    class_weight = 1.0 if weight is None else keras.ops.reshape(weight, channel)
    valid = keras.ops.cast(keras.ops.not_equal(target, ignore_index), log_probs.dtype)
    safe_target = keras.ops.where(valid > 0, target, 0)
    one_hot = keras.ops.one_hot(safe_target, classes, axis=1, dtype=log_probs.dtype)
    sample_weight = keras.ops.sum(one_hot * class_weight, axis=1) * valid
    loss = -keras.ops.sum(log_probs * one_hot, axis=1) * sample_weight
    if label_smoothing:
        smooth = -keras.ops.sum(log_probs * class_weight, axis=1) * valid
        loss = (1 - label_smoothing) * loss + label_smoothing / classes * smooth
    if reduction == "mean":
        return keras.ops.sum(loss) / keras.ops.sum(sample_weight)
    return torch_reduce(loss, reduction)


def torch_cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """F.cross_entropy over the class dimension 1, with class-index or class-probability
    (float) targets."""
    log_probs = keras.ops.log_softmax(input, axis=1)
    if not keras.backend.is_float_dtype(target.dtype):
        return torch_nll_loss(log_probs, target, weight, ignore_index, reduction, label_smoothing)
    classes, channel = input.shape[1], (-1,) + (1,) * (len(input.shape) - 2)
    class_weight = 1.0 if weight is None else keras.ops.reshape(weight, channel)
    target = target * (1 - label_smoothing) + label_smoothing / classes
    return torch_reduce(-keras.ops.sum(log_probs * target * class_weight, axis=1), reduction)


# --- types -----------------------------------------------------------------------------------------
class TorchFinfo:
    """torch.finfo: .bits, .eps, .max, .min and .tiny of a floating-point dtype."""

    def __init__(self, dtype=None):
        dtype = keras.backend.standardize_dtype(dtype or keras.config.floatx())
        bits, mantissa, max_exponent = {
            "float16": (16, 10, 15),
            "bfloat16": (16, 7, 127),
            "float32": (32, 23, 127),
            "float64": (64, 52, 1023),
        }[dtype]
        self.bits = bits
        self.eps = 2.0**-mantissa
        self.max = (2 - self.eps) * 2.0**max_exponent
        self.min = -self.max
        self.tiny = 2.0 ** (1 - max_exponent)


class TorchIinfo:
    """torch.iinfo: .bits, .max and .min of an integer dtype."""

    def __init__(self, dtype):
        dtype = keras.backend.standardize_dtype(dtype)
        self.bits = int(dtype.lstrip("uint"))
        self.min = 0 if dtype.startswith("u") else -(2 ** (self.bits - 1))
        self.max = 2**self.bits - 1 if dtype.startswith("u") else 2 ** (self.bits - 1) - 1


class TorchTensorType(type):
    """The metaclass that makes isinstance(x, TorchTensor) test whether x is a tensor."""

    def __instancecheck__(cls, obj):
        return keras.ops.is_tensor(obj) or isinstance(obj, (keras.Variable, keras.KerasTensor))


class TorchTensor(metaclass=TorchTensorType):
    """torch.Tensor in isinstance checks: any backend tensor, Keras variable or symbolic tensor."""
