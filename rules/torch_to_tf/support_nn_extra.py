"""More torch.nn / torch.nn.functional in plain Keras 3 (PyTorch -> Keras): windowed ops
(pooling with indices, unpooling, Lp pooling, fold / unfold), transposed convolutions,
channel shuffling, normalizations, random dropouts, and the layers built on them.

Data stays in PyTorch's layout (channels first). Windowed ops take strided slices of the padded
input, one per kernel offset, and stack them: exact for every padding, dilation and ceil_mode,
and backed by ordinary ops on every Keras backend.
"""

import itertools
import math

import keras
import numpy as np

from support_layers import as_tuple


# --- windows ------------------------------------------------------------------------------------
def pool_output_length(size, kernel, stride, padding, dilation, ceil_mode):
    """torch's pooled length (pooling_output_shape): a last window that would start in the right
    padding is dropped in ceil mode."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)
    out = span // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def torch_windows(x, kernel_size, stride, padding, dilation, ceil_mode, dims, pad_value):
    """(windows, sizes): the pooling windows of x's last ``dims`` axes stacked on a new last axis
    (kernel offsets in torch's scan order), and the output's spatial sizes."""
    kernel = as_tuple(kernel_size, dims)
    stride = kernel if stride is None or stride == [] else as_tuple(stride, dims)
    padding, dilation = as_tuple(padding, dims), as_tuple(dilation, dims)
    spatial = tuple(x.shape[-dims:])
    sizes = tuple(pool_output_length(*args, ceil_mode) for args in zip(spatial, kernel, stride, padding, dilation))
    pads = []
    for n, k, s, p, d, out in zip(spatial, kernel, stride, padding, dilation, sizes):
        needed = (out - 1) * s + d * (k - 1) + 1  # ceil mode may reach past the right padding
        pads.append((p, max(p, needed - n - p)))
    x = keras.ops.pad(x, [(0, 0)] * (len(x.shape) - dims) + pads, constant_values=pad_value)
    slices = []
    for offsets in itertools.product(*(range(k) for k in kernel)):
        index = tuple(
            slice(o * d, o * d + (out - 1) * s + 1, s) for o, d, s, out in zip(offsets, dilation, stride, sizes)
        )
        slices.append(x[(Ellipsis,) + index])
    return keras.ops.stack(slices, axis=-1), sizes


def torch_max_pool_with_indices(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, dims=2):
    """F.max_pool{1,2,3}d_with_indices: (values, indices), an index counting positions in the
    input's flattened spatial axes (torch's convention, for max_unpool)."""
    windows, _ = torch_windows(x, kernel_size, stride, padding, dilation, ceil_mode, dims, float("-inf"))
    spatial = tuple(x.shape[-dims:])
    positions = np.arange(int(np.prod(spatial)), dtype="int64").reshape((1, 1) + spatial)
    position_windows, _ = torch_windows(positions, kernel_size, stride, padding, dilation, ceil_mode, dims, -1)
    best = keras.ops.expand_dims(keras.ops.argmax(windows, axis=-1), -1)
    values = keras.ops.squeeze(keras.ops.take_along_axis(windows, best, axis=-1), -1)
    position_windows = keras.ops.broadcast_to(position_windows, keras.ops.shape(windows))
    indices = keras.ops.squeeze(keras.ops.take_along_axis(position_windows, best, axis=-1), -1)
    return values, keras.ops.cast(indices, "int64")


def torch_max_pool(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False, dims=2):
    """F.max_pool{1,2,3}d with any dilation and ceil_mode (padding counts as -inf)."""
    if return_indices:
        return torch_max_pool_with_indices(x, kernel_size, stride, padding, dilation, ceil_mode, dims)
    windows, _ = torch_windows(x, kernel_size, stride, padding, dilation, ceil_mode, dims, float("-inf"))
    return keras.ops.max(windows, axis=-1)


def torch_adaptive_max_pool_with_indices(x, output_size, dims):
    """F.adaptive_max_pool{1,2,3}d_with_indices: cell j of a dimension of size n covers
    [floor(j*n/out), ceil((j+1)*n/out)); indices count the flattened spatial positions."""
    spatial = tuple(x.shape[-dims:])
    sizes = as_tuple(output_size, dims)
    sizes = tuple(n if out is None else out for n, out in zip(spatial, sizes))
    lead = tuple(keras.ops.shape(x)[:-dims])
    flat = keras.ops.reshape(x, lead + (-1,))
    positions = np.arange(int(np.prod(spatial))).reshape(spatial)
    values, indices = [], []
    for cell in itertools.product(*(range(out) for out in sizes)):
        region = positions[
            tuple(slice(j * n // out, -(-(j + 1) * n // out)) for j, n, out in zip(cell, spatial, sizes))
        ].reshape(-1)
        window = keras.ops.take(flat, region, axis=-1)
        best = keras.ops.argmax(window, axis=-1)
        values.append(keras.ops.max(window, axis=-1))
        indices.append(keras.ops.take(keras.ops.convert_to_tensor(region, "int64"), best))
    values = keras.ops.reshape(keras.ops.stack(values, axis=-1), lead + sizes)
    indices = keras.ops.reshape(keras.ops.stack(indices, axis=-1), lead + sizes)
    return values, keras.ops.cast(indices, "int64")


def torch_max_unpool(x, indices, kernel_size, stride=None, padding=0, output_size=None, dims=2):
    """F.max_unpool{1,2,3}d: each value written at its flat spatial index, zeros elsewhere."""
    kernel = as_tuple(kernel_size, dims)
    stride = kernel if stride is None else as_tuple(stride, dims)
    padding = as_tuple(padding, dims)
    spatial = tuple(x.shape[-dims:])
    if output_size is None:
        sizes = tuple((n - 1) * s - 2 * p + k for n, s, p, k in zip(spatial, stride, padding, kernel))
    else:
        sizes = tuple(output_size)[-dims:]
    lead = tuple(keras.ops.shape(x)[:-dims])
    rows = int(np.prod(lead))
    length = int(np.prod(sizes))
    values = keras.ops.reshape(x, (rows, -1))
    columns = keras.ops.cast(keras.ops.reshape(indices, (rows, -1)), "int32")
    row_ids = keras.ops.broadcast_to(keras.ops.arange(rows, dtype="int32")[:, None], keras.ops.shape(columns))
    where = keras.ops.stack([keras.ops.reshape(row_ids, (-1,)), keras.ops.reshape(columns, (-1,))], axis=-1)
    out = keras.ops.scatter_update(
        keras.ops.zeros((rows, length), dtype=x.dtype), where, keras.ops.reshape(values, (-1,))
    )
    return keras.ops.reshape(out, lead + sizes)


def torch_lp_pool(x, norm_type, kernel_size, stride=None, ceil_mode=False, dims=2):
    """F.lp_pool{1,2,3}d: (sum of x ** p over each window) ** (1 / p); no padding."""
    windows, _ = torch_windows(x, kernel_size, stride, 0, 1, ceil_mode, dims, 0.0)
    total = keras.ops.sum(keras.ops.power(windows, norm_type), axis=-1)
    return keras.ops.power(total, 1.0 / norm_type)


def torch_avg_pool(
    x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None, dims=2
):
    """F.avg_pool{1,2,3}d: torch divides by the window clipped to the padded input (all of it
    counted when count_include_pad), or by divisor_override."""
    windows, _ = torch_windows(x, kernel_size, stride, padding, 1, ceil_mode, dims, 0.0)
    total = keras.ops.sum(windows, axis=-1)
    if divisor_override is not None:
        return total / divisor_override
    ones = np.ones((1, 1) + tuple(x.shape[-dims:]), dtype="float32")
    inside, _ = torch_windows(ones, kernel_size, stride, padding, 1, ceil_mode, dims, 0.0)
    if count_include_pad:  # padded cells count, what lies past the padding (ceil mode) does not
        kernel = as_tuple(kernel_size, dims)
        padding = as_tuple(padding, dims)
        padded = np.pad(ones, [(0, 0), (0, 0)] + [(p, p) for p in padding], constant_values=1.0)
        inside, _ = torch_windows(padded, kernel, stride if stride is not None else kernel, 0, 1, ceil_mode, dims, 0.0)
    count = keras.ops.sum(inside, axis=-1)
    return total / keras.ops.cast(count, total.dtype)


def torch_unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """F.unfold (im2col): (N, C, H, W) -> (N, C * kH * kW, L), each block's channel-major
    values in a column."""
    unbatched = len(x.shape) == 3
    if unbatched:
        x = x[None]
    windows, sizes = torch_windows(x, kernel_size, stride, padding, dilation, False, 2, 0.0)
    n, c = keras.ops.shape(x)[0], x.shape[1]
    columns = keras.ops.moveaxis(windows, -1, 2)  # (N, C, kH*kW, oH, oW)
    columns = keras.ops.reshape(columns, (n, c * windows.shape[-1], sizes[0] * sizes[1]))
    return columns[0] if unbatched else columns


def torch_fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """F.fold (col2im), unfold's adjoint: each column's values are added back at their block's
    positions (overlaps sum)."""
    unbatched = len(x.shape) == 2
    if unbatched:
        x = x[None]
    kernel, dilation = as_tuple(kernel_size, 2), as_tuple(dilation, 2)
    padding, stride, size = as_tuple(padding, 2), as_tuple(stride, 2), as_tuple(output_size, 2)
    blocks = tuple(
        pool_output_length(n, k, s, p, d, False) for n, k, s, p, d in zip(size, kernel, stride, padding, dilation)
    )
    n = keras.ops.shape(x)[0]
    count = kernel[0] * kernel[1]
    c = x.shape[1] // count
    columns = keras.ops.reshape(x, (n, c, count) + blocks)
    padded = tuple(m + 2 * p for m, p in zip(size, padding))
    out = 0
    for k, (i, j) in enumerate(itertools.product(range(kernel[0]), range(kernel[1]))):
        block = columns[:, :, k]
        for axis, (offset, s, d, m) in enumerate(zip((i, j), stride, dilation, padded)):
            # spread the block s apart (zeros between), then shift it to its offset
            shape = keras.ops.shape(block)
            length = shape[2 + axis]
            block = keras.ops.expand_dims(block, 3 + axis)
            block = keras.ops.pad(block, [(0, 0)] * (3 + axis) + [(0, s - 1)] + [(0, 0)] * (1 - axis))
            merged = tuple(shape[: 2 + axis]) + (length * s,) + tuple(shape[3 + axis :])
            block = keras.ops.reshape(block, merged)
            span = (length - 1) * s + 1
            block = keras.ops.take(block, list(range(span)), axis=2 + axis)
            before = offset * d
            pads = [(0, 0)] * 4
            pads[2 + axis] = (before, m - before - span)
            block = keras.ops.pad(block, pads)
        out = out + block
    out = out[:, :, padding[0] : padding[0] + size[0], padding[1] : padding[1] + size[1]]
    return out[0] if unbatched else out


# --- convolutions -------------------------------------------------------------------------------
def torch_conv_transpose(x, weight, bias=None, stride=1, padding=0, output_padding=0, dilation=1):
    """F.conv_transpose{1,2,3}d (groups=1): channels-first x, weight (in, out, *kernel). The full
    transposed convolution is computed channels last, then cropped by padding; output_padding
    extends the far end (zeros where the full result ends)."""
    dims = len(weight.shape) - 2
    stride, padding = as_tuple(stride, dims), as_tuple(padding, dims)
    output_padding, dilation = as_tuple(output_padding, dims), as_tuple(dilation, dims)
    kernel = keras.ops.transpose(weight, tuple(range(2, dims + 2)) + (1, 0))  # (*kernel, out, in)
    y = keras.ops.conv_transpose(
        keras.ops.moveaxis(x, 1, -1), kernel, strides=stride, padding="valid", output_padding=0, dilation_rate=dilation
    )
    y = keras.ops.moveaxis(y, -1, 1)
    y = keras.ops.pad(y, [(0, 0), (0, 0)] + [(0, max(0, op - p)) for op, p in zip(output_padding, padding)])
    full = tuple(n - max(0, op - p) for n, op, p in zip(y.shape[2:], output_padding, padding))
    y = y[(slice(None), slice(None)) + tuple(slice(p, n - p + op) for n, p, op in zip(full, padding, output_padding))]
    if bias is not None:
        y = y + keras.ops.reshape(bias, (-1,) + (1,) * dims)
    return y


def torch_conv_tbc(x, weight, bias, pad=0):
    """torch.conv_tbc: a 1-D convolution over (time, batch, channels) with a (kernel, in, out)
    weight (Keras' own kernel layout)."""
    y = keras.ops.pad(keras.ops.transpose(x, (1, 0, 2)), [(0, 0), (pad, pad), (0, 0)])
    return keras.ops.transpose(keras.ops.conv(y, weight) + bias, (1, 0, 2))


# --- channels, distances, normalization ---------------------------------------------------------
def torch_channel_shuffle(x, groups):
    """F.channel_shuffle: (N, g * k, ...) -> channels regrouped as (k, g)."""
    shape = keras.ops.shape(x)
    c = x.shape[1]
    y = keras.ops.reshape(x, (shape[0], groups, c // groups) + tuple(shape[2:]))
    return keras.ops.reshape(keras.ops.swapaxes(y, 1, 2), shape)


def torch_pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """F.pairwise_distance: the p-norm of x1 - x2 + eps over the last axis."""
    diff = keras.ops.abs(x1 - x2 + eps)
    if p == math.inf:
        distance = keras.ops.max(diff, axis=-1)
    elif p == 0:
        distance = keras.ops.sum(keras.ops.cast(keras.ops.not_equal(diff, 0), x1.dtype), axis=-1)
    else:
        distance = keras.ops.power(keras.ops.sum(keras.ops.power(diff, p), axis=-1), 1.0 / p)
    return keras.ops.expand_dims(distance, -1) if keepdim else distance


def torch_pdist(x, p=2.0):
    """F.pdist: the p-norm distances between the rows of an (N, M) input, upper triangle in
    row-major order."""
    rows, columns = np.triu_indices(x.shape[0], k=1)
    diff = keras.ops.abs(keras.ops.take(x, rows, axis=0) - keras.ops.take(x, columns, axis=0))
    if p == math.inf:
        return keras.ops.max(diff, axis=-1)
    if p == 0:
        return keras.ops.sum(keras.ops.cast(keras.ops.not_equal(diff, 0), x.dtype), axis=-1)
    return keras.ops.power(keras.ops.sum(keras.ops.power(diff, p), axis=-1), 1.0 / p)


def torch_local_response_norm(x, size, alpha=1e-4, beta=0.75, k=1.0):
    """F.local_response_norm: x / (k + alpha * mean of x**2 over `size` neighbouring channels,
    zero-padded (size // 2 before, (size - 1) // 2 after)) ** beta."""
    squares = keras.ops.square(x)
    pads = [(0, 0), (size // 2, (size - 1) // 2)] + [(0, 0)] * (len(x.shape) - 2)
    squares = keras.ops.pad(squares, pads)
    c = x.shape[1]
    total = sum(squares[:, i : i + c] for i in range(size))
    return x / keras.ops.power(k + alpha * total / size, beta)


def torch_instance_norm(x, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True, eps=1e-5):
    """F.instance_norm: each (sample, channel) normalized over its spatial axes (biased
    variance), or by the running statistics when use_input_stats is false."""
    shape = (-1,) + (1,) * (len(x.shape) - 2)
    if use_input_stats:
        axes = tuple(range(2, len(x.shape)))
        mean = keras.ops.mean(x, axis=axes, keepdims=True)
        var = keras.ops.var(x, axis=axes, keepdims=True)
    else:
        mean = keras.ops.reshape(running_mean, shape)
        var = keras.ops.reshape(running_var, shape)
    y = (x - mean) / keras.ops.sqrt(var + eps)
    if weight is not None:
        y = y * keras.ops.reshape(weight, shape)
    if bias is not None:
        y = y + keras.ops.reshape(bias, shape)
    return y


def torch_rms_norm(x, normalized_shape, weight=None, eps=None):
    """F.rms_norm: x / sqrt(mean(x**2) + eps) over the last len(normalized_shape) axes; eps
    defaults to the dtype's machine epsilon."""
    count = len(normalized_shape) if isinstance(normalized_shape, (tuple, list)) else 1
    if eps is None:
        eps = float(np.finfo(keras.backend.standardize_dtype(x.dtype)).eps)
    axes = tuple(range(-count, 0))
    y = x * keras.ops.rsqrt(keras.ops.mean(keras.ops.square(x), axis=axes, keepdims=True) + eps)
    return y * weight if weight is not None else y


def torch_prelu(x, weight):
    """F.prelu: max(0, x) + weight * min(0, x), weight one value or one per channel (axis 1)."""
    if len(weight.shape) == 1 and weight.shape[0] > 1:
        weight = keras.ops.reshape(weight, (-1,) + (1,) * (len(x.shape) - 2))
    return keras.ops.where(x >= 0, x, weight * x)


def torch_embedding_bag(
    input, weight, offsets=None, mode="mean", per_sample_weights=None, include_last_offset=False, padding_idx=None
):
    """F.embedding_bag: the sum / mean / max of the embeddings of each bag; bags are the rows of
    a 2-D input, or the slices of a 1-D input that start at `offsets`. Empty bags give zeros."""
    if len(input.shape) == 2:
        bags, length = input.shape
        segments = keras.ops.repeat(keras.ops.arange(bags), length)
        input = keras.ops.reshape(input, (-1,))
        if per_sample_weights is not None:
            per_sample_weights = keras.ops.reshape(per_sample_weights, (-1,))
    else:
        starts = offsets[:-1] if include_last_offset else offsets
        bags = starts.shape[0]
        positions = keras.ops.arange(input.shape[0])
        segments = (
            keras.ops.sum(
                keras.ops.cast(positions[:, None] >= keras.ops.cast(starts, "int32")[None, :], "int32"), axis=1
            )
            - 1
        )
    vectors = keras.ops.take(weight, input, axis=0)
    keep = keras.ops.ones_like(segments, dtype=weight.dtype)
    if padding_idx is not None:
        keep = keras.ops.cast(keras.ops.not_equal(input, padding_idx), weight.dtype)
    if per_sample_weights is not None:
        vectors = vectors * per_sample_weights[:, None]
    count = keras.ops.segment_sum(keep, segments, num_segments=bags)
    if mode == "max":
        vectors = keras.ops.where(keep[:, None] > 0, vectors, float("-inf"))
        out = keras.ops.segment_max(vectors, segments, num_segments=bags)
        return keras.ops.where(count[:, None] > 0, out, 0.0)
    total = keras.ops.segment_sum(vectors * keep[:, None], segments, num_segments=bags)
    if mode == "sum":
        return total
    return total / keras.ops.maximum(count, 1.0)[:, None]


# --- random -------------------------------------------------------------------------------------
def torch_feature_dropout(x, p, training=True):
    """F.dropout1d / 2d / 3d: whole channels zeroed (one draw per sample and channel), the rest
    scaled by 1 / (1 - p)."""
    if not training or p == 0:
        return x
    noise_shape = tuple(keras.ops.shape(x)[:2]) + (1,) * (len(x.shape) - 2)
    return keras.random.dropout(x, p, noise_shape=noise_shape)


def torch_alpha_dropout(x, p=0.5, training=False, feature=False):
    """F.alpha_dropout / feature_alpha_dropout (torch's formula): a dropped element becomes
    SELU's negative saturation, then an affine map keeps the mean and variance."""
    if not training or p == 0:
        return x
    if p == 1:
        return keras.ops.zeros_like(x)
    alpha = 1.7580993408473766
    a = 1.0 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
    shape = tuple(keras.ops.shape(x)[:2]) + (1,) * (len(x.shape) - 2) if feature else keras.ops.shape(x)
    keep = keras.ops.cast(keras.random.uniform(shape) >= p, x.dtype)
    return x * keep * a + (keep - 1) * alpha * a + alpha * a * p


def torch_rrelu(x, lower=1.0 / 8, upper=1.0 / 3, training=False):
    """F.rrelu: in training, each negative element's slope is drawn from U(lower, upper); in
    evaluation the slope is their mean."""
    if training:
        slope = keras.random.uniform(keras.ops.shape(x), lower, upper, dtype=x.dtype)
    else:
        slope = (lower + upper) / 2
    return keras.ops.where(x >= 0, x, x * slope)


def torch_gumbel_softmax(logits, tau=1.0, hard=False, dim=-1):
    """F.gumbel_softmax: softmax((logits + Gumbel noise) / tau); hard gives the one-hot of the
    argmax in the forward pass with the soft sample's gradient."""
    uniform = keras.random.uniform(keras.ops.shape(logits), dtype=logits.dtype)
    gumbels = -keras.ops.log(-keras.ops.log(keras.ops.clip(uniform, 1e-20, 1.0)))
    soft = keras.ops.softmax((logits + gumbels) / tau, axis=dim)
    if not hard:
        return soft
    index = keras.ops.argmax(soft, axis=dim)
    one_hot = keras.ops.one_hot(index, logits.shape[dim], axis=dim, dtype=logits.dtype)
    return one_hot - keras.ops.stop_gradient(soft) + soft


# --- layers -------------------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchSoftmin(keras.layers.Layer):
    """nn.Softmin: softmax of -x along dim."""

    def __init__(self, dim=None, **kwargs):
        super().__init__(**kwargs)
        self.dim = dim

    def call(self, inputs):
        return keras.ops.softmax(-inputs, axis=self.dim)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim}


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchThreshold(keras.layers.Layer):
    """nn.Threshold: x where x > threshold, else value."""

    def __init__(self, threshold, value, **kwargs):
        super().__init__(**kwargs)
        self.threshold, self.value = threshold, value

    def call(self, inputs):
        return keras.ops.threshold(inputs, self.threshold, self.value)

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold, "value": self.value}


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchRReLU(keras.layers.Layer):
    """nn.RReLU: random negative slopes in training, their mean at inference."""

    def __init__(self, lower=1.0 / 8, upper=1.0 / 3, **kwargs):
        super().__init__(**kwargs)
        self.lower, self.upper = lower, upper

    def call(self, inputs, training=False):
        return torch_rrelu(inputs, self.lower, self.upper, training=bool(training))

    def get_config(self):
        return {**super().get_config(), "lower": self.lower, "upper": self.upper}


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchChannelShuffle(keras.layers.Layer):
    """nn.ChannelShuffle on channels-first input."""

    def __init__(self, groups, **kwargs):
        super().__init__(**kwargs)
        self.groups = groups

    def call(self, inputs):
        return torch_channel_shuffle(inputs, self.groups)

    def get_config(self):
        return {**super().get_config(), "groups": self.groups}


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchCosineSimilarity(keras.layers.Layer):
    """nn.CosineSimilarity, called with (x1, x2): each input divided by its norm clamped to eps."""

    def __init__(self, dim=1, eps=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.dim, self.eps = dim, eps

    def call(self, x1, x2):
        def unit(x):
            norm = keras.ops.sqrt(keras.ops.sum(keras.ops.square(x), axis=self.dim, keepdims=True))
            return x / keras.ops.maximum(norm, self.eps)

        return keras.ops.sum(unit(x1) * unit(x2), axis=self.dim)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "eps": self.eps}


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchPairwiseDistance(keras.layers.Layer):
    """nn.PairwiseDistance, called with (x1, x2)."""

    def __init__(self, p=2.0, eps=1e-6, keepdim=False, **kwargs):
        super().__init__(**kwargs)
        self.p, self.eps, self.keepdim = p, eps, keepdim

    def call(self, x1, x2):
        return torch_pairwise_distance(x1, x2, self.p, self.eps, self.keepdim)

    def get_config(self):
        return {**super().get_config(), "p": self.p, "eps": self.eps, "keepdim": self.keepdim}


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchLocalResponseNorm(keras.layers.Layer):
    """nn.LocalResponseNorm (and the legacy CrossMapLRN2d): across channels, axis 1."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0, **kwargs):
        super().__init__(**kwargs)
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def call(self, inputs):
        return torch_local_response_norm(inputs, self.size, self.alpha, self.beta, self.k)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "alpha": self.alpha, "beta": self.beta, "k": self.k}


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchLPPool(keras.layers.Layer):
    """nn.LPPool{1,2,3}d on channels-first input."""

    def __init__(self, norm_type, kernel_size, stride=None, rank=2, **kwargs):
        super().__init__(**kwargs)
        self.norm_type, self.kernel_size, self.stride, self.rank = norm_type, kernel_size, stride, rank

    def call(self, inputs):
        return torch_lp_pool(inputs, self.norm_type, self.kernel_size, self.stride, dims=self.rank)

    def get_config(self):
        config = {"norm_type": self.norm_type, "kernel_size": self.kernel_size, "stride": self.stride}
        return {**super().get_config(), **config, "rank": self.rank}


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchMaxUnpool(keras.layers.Layer):
    """nn.MaxUnpool{1,2,3}d, called with (input, indices, output_size=None)."""

    def __init__(self, kernel_size, stride=None, padding=0, rank=2, **kwargs):
        super().__init__(**kwargs)
        self.kernel_size, self.stride, self.padding, self.rank = kernel_size, stride, padding, rank

    def call(self, inputs, indices, output_size=None):
        return torch_max_unpool(inputs, indices, self.kernel_size, self.stride, self.padding, output_size, self.rank)

    def get_config(self):
        config = {"kernel_size": self.kernel_size, "stride": self.stride, "padding": self.padding}
        return {**super().get_config(), **config, "rank": self.rank}


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchUnfold(keras.layers.Layer):
    """nn.Unfold (im2col) on channels-first input."""

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1, **kwargs):
        super().__init__(**kwargs)
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def call(self, inputs):
        return torch_unfold(inputs, self.kernel_size, self.dilation, self.padding, self.stride)

    def get_config(self):
        config = {"kernel_size": self.kernel_size, "dilation": self.dilation, "padding": self.padding}
        return {**super().get_config(), **config, "stride": self.stride}


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchFold(TorchUnfold):
    """nn.Fold (col2im)."""

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1, **kwargs):
        super().__init__(kernel_size, dilation, padding, stride, **kwargs)
        self.output_size = output_size

    def call(self, inputs):
        return torch_fold(inputs, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def get_config(self):
        return {**super().get_config(), "output_size": self.output_size}


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchFeatureAlphaDropout(keras.layers.Layer):
    """nn.FeatureAlphaDropout: alpha dropout of whole channels, in training only."""

    def __init__(self, p=0.5, **kwargs):
        super().__init__(**kwargs)
        self.p = p

    def call(self, inputs, training=False):
        return torch_alpha_dropout(inputs, self.p, training=bool(training), feature=True)

    def get_config(self):
        return {**super().get_config(), "p": self.p}


def torch_uniform(bound):
    """torch's default U(-bound, bound) initialisation of linear and recurrent weights."""
    return keras.initializers.RandomUniform(-bound, bound)


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchBilinear(keras.layers.Layer):
    """nn.Bilinear: x1^T A x2 + b, with torch's weight (out, in1, in2) and bias (out,)."""

    def __init__(self, in1_features, in2_features, out_features, bias=True, **kwargs):
        super().__init__(**kwargs)
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        self.use_bias = bias
        init = torch_uniform(1 / math.sqrt(in1_features))
        self.weight = self.add_weight(shape=(out_features, in1_features, in2_features), initializer=init, name="weight")
        self.bias = self.add_weight(shape=(out_features,), initializer=init, name="bias") if bias else None

    def call(self, x1, x2):
        y = keras.ops.einsum("...i,oij,...j->...o", x1, self.weight, x2)
        return y + self.bias if self.bias is not None else y

    def get_config(self):
        config = {"in1_features": self.in1_features, "in2_features": self.in2_features}
        return {**super().get_config(), **config, "out_features": self.out_features, "bias": self.use_bias}


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchEmbeddingBag(keras.layers.Layer):
    """nn.EmbeddingBag, called with (input, offsets=None, per_sample_weights=None)."""

    def __init__(
        self, num_embeddings, embedding_dim, mode="mean", include_last_offset=False, padding_idx=None, **kwargs
    ):
        super().__init__(**kwargs)
        self.num_embeddings, self.embedding_dim, self.mode = num_embeddings, embedding_dim, mode
        self.include_last_offset, self.padding_idx = include_last_offset, padding_idx
        self.weight = self.add_weight(
            shape=(num_embeddings, embedding_dim), initializer=keras.initializers.RandomNormal(0.0, 1.0), name="weight"
        )

    def call(self, inputs, offsets=None, per_sample_weights=None):
        return torch_embedding_bag(
            inputs, self.weight, offsets, self.mode, per_sample_weights, self.include_last_offset, self.padding_idx
        )

    def get_config(self):
        config = {"num_embeddings": self.num_embeddings, "embedding_dim": self.embedding_dim, "mode": self.mode}
        extra = {"include_last_offset": self.include_last_offset, "padding_idx": self.padding_idx}
        return {**super().get_config(), **config, **extra}


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchInstanceNorm(keras.layers.Layer):
    """nn.LazyInstanceNorm{1,2,3}d: instance normalization over channels-first input, the channel
    count (and the affine weight and bias) taken from the first input."""

    def __init__(self, eps=1e-5, affine=True, **kwargs):
        super().__init__(**kwargs)
        self.eps, self.affine = eps, affine

    def build(self, input_shape):
        if self.affine:
            self.weight = self.add_weight(shape=(input_shape[1],), initializer="ones", name="weight")
            self.bias = self.add_weight(shape=(input_shape[1],), initializer="zeros", name="bias")

    def call(self, inputs):
        weight, bias = (self.weight, self.bias) if self.affine else (None, None)
        return torch_instance_norm(inputs, weight=weight, bias=bias, eps=self.eps)

    def get_config(self):
        return {**super().get_config(), "eps": self.eps, "affine": self.affine}


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchRNNCellBase(keras.layers.Layer):
    """torch's recurrent cells with torch's weights: weight_ih (gates * hidden, input),
    weight_hh (gates * hidden, hidden), bias_ih and bias_hh. Unbatched (features,) input works too."""

    gates = 1

    def __init__(self, input_size, hidden_size, bias=True, **kwargs):
        super().__init__(**kwargs)
        self.input_size, self.hidden_size, self.use_bias = input_size, hidden_size, bias
        init, rows = torch_uniform(1 / math.sqrt(hidden_size)), self.gates * hidden_size
        self.weight_ih = self.add_weight(shape=(rows, input_size), initializer=init, name="weight_ih")
        self.weight_hh = self.add_weight(shape=(rows, hidden_size), initializer=init, name="weight_hh")
        self.bias_ih = self.add_weight(shape=(rows,), initializer=init, name="bias_ih") if bias else None
        self.bias_hh = self.add_weight(shape=(rows,), initializer=init, name="bias_hh") if bias else None

    def projections(self, x, h):
        gi = keras.ops.matmul(x, keras.ops.transpose(self.weight_ih))
        gh = keras.ops.matmul(h, keras.ops.transpose(self.weight_hh))
        if self.use_bias:
            gi, gh = gi + self.bias_ih, gh + self.bias_hh
        return gi, gh

    def zeros(self, x):
        return keras.ops.zeros(tuple(keras.ops.shape(x)[:-1]) + (self.hidden_size,), dtype=x.dtype)

    def get_config(self):
        config = {"input_size": self.input_size, "hidden_size": self.hidden_size, "bias": self.use_bias}
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchRNNCell(TorchRNNCellBase):
    """nn.RNNCell: h' = tanh (or relu) of (W_ih x + b_ih + W_hh h + b_hh)."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", **kwargs):
        super().__init__(input_size, hidden_size, bias, **kwargs)
        self.nonlinearity = nonlinearity

    def call(self, inputs, hx=None):
        gi, gh = self.projections(inputs, self.zeros(inputs) if hx is None else hx)
        return keras.ops.tanh(gi + gh) if self.nonlinearity == "tanh" else keras.ops.relu(gi + gh)

    def get_config(self):
        return {**super().get_config(), "nonlinearity": self.nonlinearity}


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchLSTMCell(TorchRNNCellBase):
    """nn.LSTMCell: gates (i, f, g, o) in torch's order; returns (h', c')."""

    gates = 4

    def call(self, inputs, hx=None):
        h, c = (self.zeros(inputs), self.zeros(inputs)) if hx is None else hx
        gi, gh = self.projections(inputs, h)
        i, f, g, o = keras.ops.split(gi + gh, 4, axis=-1)
        c = keras.ops.sigmoid(f) * c + keras.ops.sigmoid(i) * keras.ops.tanh(g)
        return keras.ops.sigmoid(o) * keras.ops.tanh(c), c


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchGRUCell(TorchRNNCellBase):
    """nn.GRUCell: gates (r, z, n) in torch's order, the reset gate applied to W_hn h + b_hn."""

    gates = 3

    def call(self, inputs, hx=None):
        h = self.zeros(inputs) if hx is None else hx
        gi, gh = self.projections(inputs, h)
        ir, iz, i_n = keras.ops.split(gi, 3, axis=-1)
        hr, hz, h_n = keras.ops.split(gh, 3, axis=-1)
        r, z = keras.ops.sigmoid(ir + hr), keras.ops.sigmoid(iz + hz)
        n = keras.ops.tanh(i_n + r * h_n)
        return (1 - z) * n + z * h
