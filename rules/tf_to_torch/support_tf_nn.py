"""Support functions for tf.nn (Keras / TensorFlow -> PyTorch).

TensorFlow's convolutions and pools take channels-last tensors, kernels laid out (spatial..., in,
out), and "SAME" padding that puts the odd pixel after (bottom / right); torch's take channels
first and pad symmetrically. These functions move the channel axis, reorder the kernel and pad
explicitly, so they compute what TensorFlow computes.
"""

import math

import torch
import torch.nn.functional as F


def _tf_spatial(value, n, channels_first):
    """TF's strides / dilations / ksize (an int, or a list of 1, n or n + 2 ints) as n ints."""
    if value is None:
        return [1] * n
    if isinstance(value, int):
        return [value] * n
    value = [int(v) for v in value]
    if len(value) == 1:
        return value * n
    if len(value) == n + 2:
        return value[2:] if channels_first else value[1:-1]
    if len(value) != n:
        raise ValueError(f"expected 1, {n} or {n + 2} values, got {value}")
    return value


def _tf_pads(padding, sizes, kernel, strides, dilations, channels_first):
    """(before, after) per spatial axis: TF's "SAME" puts the odd pixel after; explicit padding
    lists a pair for every axis, batch and channel included."""
    if not isinstance(padding, str):
        pairs = [tuple(int(v) for v in pair) for pair in padding]
        return pairs[2:] if channels_first else pairs[1:-1]
    if padding.upper() == "VALID":
        return [(0, 0)] * len(sizes)
    pads = []
    for size, k, s, d in zip(sizes, kernel, strides, dilations):
        total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
        pads.append((total // 2, total - total // 2))
    return pads


def _tf_flat(pads):
    """F.pad's order: the last axis first."""
    return tuple(v for pair in reversed(pads) for v in pair)


def _tf_first(data_format):
    return data_format is not None and data_format.startswith("NC")


def _tf_conv_first(x, weight, strides, padding, dilations, groups, channels_first):
    """A channels-first convolution with TF's padding; weight is torch's (out, in / groups, k...)."""
    n = weight.dim() - 2
    pads = _tf_pads(padding, x.shape[2:], weight.shape[2:], strides, dilations, channels_first)
    x = F.pad(x, _tf_flat(pads))
    conv = (F.conv1d, F.conv2d, F.conv3d)[n - 1]
    return conv(x, weight, stride=strides, dilation=dilations, groups=groups)


def tf_conv(input, filters, strides=None, padding="VALID", data_format=None, dilations=None):
    """tf.nn.convolution / conv1d / conv2d / conv3d: filters (k..., in, out); in may divide the
    input's channels (grouped convolution)."""
    n = filters.dim() - 2
    first = _tf_first(data_format)
    x = input if first else torch.movedim(input, -1, 1)
    weight = torch.permute(filters, (n + 1, n, *range(n)))
    strides, dilations = _tf_spatial(strides, n, first), _tf_spatial(dilations, n, first)
    y = _tf_conv_first(x, weight, strides, padding, dilations, x.shape[1] // filters.shape[-2], first)
    return y if first else torch.movedim(y, 1, -1)


def tf_conv_transpose(input, filters, output_shape, strides=None, padding="SAME", data_format=None, dilations=None):
    """tf.nn.conv_transpose / conv1d_transpose / conv2d_transpose / conv3d_transpose: the gradient of
    the convolution whose input has output_shape; filters (k..., out, in)."""
    n = filters.dim() - 2
    first = _tf_first(data_format)
    x = input if first else torch.movedim(input, -1, 1)
    weight = torch.permute(filters, (n + 1, n, *range(n)))
    strides, dilations = _tf_spatial(strides, n, first), _tf_spatial(dilations, n, first)
    shape = [int(v) for v in output_shape]
    sizes = shape[2:] if first else shape[1:-1]
    pads = _tf_pads(padding, sizes, filters.shape[:n], strides, dilations, first)
    full = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[n - 1](
        x, weight, stride=strides, dilation=dilations
    )
    # the conv's padded input cropped to output_shape; rows the kernels never reach are zeros
    extra = [max(p[0] + size - full.shape[2 + i], 0) for i, (p, size) in enumerate(zip(pads, sizes))]
    full = F.pad(full, _tf_flat([(0, e) for e in extra]))
    index = (slice(None), slice(None), *(slice(p[0], p[0] + size) for p, size in zip(pads, sizes)))
    y = full[index]
    return y if first else torch.movedim(y, 1, -1)


def tf_depthwise_conv2d(input, filter, strides, padding, data_format=None, dilations=None):
    """tf.nn.depthwise_conv2d: filter (kh, kw, in, multiplier); output channel c * multiplier + m."""
    first = _tf_first(data_format)
    x = input if first else torch.movedim(input, -1, 1)
    kh, kw, channels, multiplier = filter.shape
    weight = filter.reshape(kh, kw, channels * multiplier).permute(2, 0, 1).unsqueeze(1)
    strides, dilations = _tf_spatial(strides, 2, first), _tf_spatial(dilations, 2, first)
    y = _tf_conv_first(x, weight, strides, padding, dilations, channels, first)
    return y if first else torch.movedim(y, 1, -1)


def tf_separable_conv2d(input, depthwise_filter, pointwise_filter, strides, padding, data_format=None, dilations=None):
    """tf.nn.separable_conv2d: a depthwise convolution, then a 1x1 one (pointwise_filter (1, 1, in, out))."""
    depthwise = tf_depthwise_conv2d(input, depthwise_filter, strides, padding, data_format, dilations)
    return tf_conv(depthwise, pointwise_filter, 1, "VALID", data_format)


def tf_pool(input, window_shape, pooling_type, strides=None, padding="VALID", data_format=None, dilations=None):
    """tf.nn.pool: "MAX" pads with -inf; "AVG" averages the real entries only (TF's "SAME")."""
    n = input.dim() - 2
    first = _tf_first(data_format)
    x = input if first else torch.movedim(input, -1, 1)
    kernel = _tf_spatial(window_shape, n, first)
    strides, dilations = _tf_spatial(strides, n, first), _tf_spatial(dilations, n, first)
    pads = _tf_flat(_tf_pads(padding, x.shape[2:], kernel, strides, dilations, first))
    if pooling_type.upper() == "MAX":
        pool = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[n - 1]
        y = pool(F.pad(x, pads, value=-math.inf), kernel, strides, dilation=dilations)
    else:
        if any(d != 1 for d in dilations):
            raise ValueError("average pooling with dilations is not translated")
        pool = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[n - 1]
        y = pool(F.pad(x, pads), kernel, strides)
        if any(pads):  # divide by the real entries of each window, not the window's size
            y = y / pool(F.pad(torch.ones_like(x[:, :1]), pads), kernel, strides)
    return y if first else torch.movedim(y, 1, -1)


def tf_batch_normalization(x, mean, variance, offset, scale, variance_epsilon):
    """tf.nn.batch_normalization, TF's own arithmetic: x * inv + (offset - mean * inv)."""
    inv = torch.rsqrt(variance + variance_epsilon)
    if scale is not None:
        inv = inv * scale
    return x * inv + (offset - mean * inv if offset is not None else -mean * inv)


def tf_weighted_moments(x, axes, frequency_weights, keepdims=False):
    """tf.nn.weighted_moments: the weighted mean and variance (0 where the weights sum to 0)."""
    axes = [axes] if isinstance(axes, int) else list(axes)
    weights = torch.as_tensor(frequency_weights, dtype=x.dtype)
    total = torch.sum(weights + torch.zeros_like(x), dim=axes, keepdim=True)
    safe = torch.where(total == 0, torch.ones_like(total), total)
    mean = torch.where(total == 0, 0.0, torch.sum(weights * x, dim=axes, keepdim=True) / safe)
    distsq = torch.sum(weights * torch.square(x - mean), dim=axes, keepdim=True)
    variance = torch.where(total == 0, 0.0, distsq / safe)
    if not keepdims:
        mean, variance = torch.squeeze(mean, dim=tuple(axes)), torch.squeeze(variance, dim=tuple(axes))
    return mean, variance
