"""Support code for translated Keras models (Keras -> PyTorch): layers torch has no one-call
equivalent for (convolution, pooling, reshaping, merging, activation, noise and preprocessing
layers with Keras' exact semantics).

A translation copies the definitions it uses into its output, so they are plain PyTorch. Spatial
modules here are channels first (N, C, *spatial), like torch's own; the rules wrap them in
ChannelsLast (support_core.py) for Keras' default channels_last layout.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from support_core import keras_initializer


def keras_tuple(value, n):
    """``3`` -> ``(3, 3)`` for n=2; a tuple or list passes through (Keras' standardize_tuple)."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


def keras_same_pads(sizes, kernel_size, strides, dilation_rate=1):
    """Keras / TensorFlow padding="same" for a window over ``sizes`` (the spatial sizes, first
    axis first): the total max((ceil(n / s) - 1) * s + d * (k - 1) + 1 - n, 0) per axis, the
    smaller half before. Returned as F.pad's list (last axis first)."""
    n = len(sizes)
    pads = []
    for size, k, s, d in reversed(
        list(zip(sizes, keras_tuple(kernel_size, n), keras_tuple(strides, n), keras_tuple(dilation_rate, n)))
    ):
        total = max((math.ceil(size / s) - 1) * s + d * (k - 1) + 1 - size, 0)
        pads += [total // 2, total - total // 2]
    return pads


class KerasSamePad1d(nn.Module):
    """Keras' padding="same" for a strided (or dilated) 1-D window on a channels-first tensor
    (N, C, L): the smaller half of the padding before, the rest after."""

    def __init__(self, kernel_size, strides=1, dilation_rate=1, value=0.0):
        super().__init__()
        self.kernel_size, self.strides, self.dilation_rate, self.value = kernel_size, strides, dilation_rate, value

    def forward(self, x):
        return F.pad(
            x, keras_same_pads(x.shape[2:], self.kernel_size, self.strides, self.dilation_rate), value=self.value
        )


class KerasSamePad3d(KerasSamePad1d):
    """Keras' padding="same" for a strided (or dilated) 3-D window on (N, C, D, H, W)."""


class KerasCausalPad1d(nn.Module):
    """Keras' Conv1D padding="causal" on (N, C, L): dilation * (kernel_size - 1) zeros before."""

    def __init__(self, kernel_size, dilation_rate=1):
        super().__init__()
        self.amount = keras_tuple(dilation_rate, 1)[0] * (keras_tuple(kernel_size, 1)[0] - 1)

    def forward(self, x):
        return F.pad(x, [self.amount, 0])


class KerasDepthwiseConv(nn.modules.lazy.LazyModuleMixin, nn.Module):
    """keras.layers.DepthwiseConv1D/2D on a channels-first tensor: each input channel convolved
    with its own ``depth_multiplier`` kernels (a grouped convolution with groups = channels;
    output channel c * depth_multiplier + m). The weight, (C * depth_multiplier, 1, *kernel),
    is created on the first call, when C is known. padding "valid", "same" (Keras' asymmetric
    padding for strides > 1) or "causal" (1-D)."""

    cls_to_become = None

    def __init__(
        self, rank, kernel_size, strides=1, padding="valid", depth_multiplier=1, dilation_rate=1, use_bias=True
    ):
        super().__init__()
        self.rank = rank
        self.kernel_size = keras_tuple(kernel_size, rank)
        self.strides = keras_tuple(strides, rank)
        self.dilation_rate = keras_tuple(dilation_rate, rank)
        self.padding, self.depth_multiplier = padding, depth_multiplier
        self.weight = nn.UninitializedParameter()
        self.bias = nn.UninitializedParameter() if use_bias else None

    def initialize_parameters(self, x):
        if self.has_uninitialized_params():
            with torch.no_grad():
                channels = x.shape[1]
                self.weight.materialize((channels * self.depth_multiplier, 1, *self.kernel_size))
                fan_in = math.prod(self.kernel_size) * channels
                fan_out = math.prod(self.kernel_size) * channels * self.depth_multiplier
                limit = math.sqrt(6.0 / (fan_in + fan_out))  # Keras' glorot_uniform
                self.weight.uniform_(-limit, limit)
                if self.bias is not None:
                    self.bias.materialize((channels * self.depth_multiplier,))
                    self.bias.zero_()

    def forward(self, x):
        if self.padding == "same":
            x = F.pad(x, keras_same_pads(x.shape[2:], self.kernel_size, self.strides, self.dilation_rate))
        elif self.padding == "causal":
            x = F.pad(x, [self.dilation_rate[0] * (self.kernel_size[0] - 1), 0])
        conv = (F.conv1d, F.conv2d, F.conv3d)[self.rank - 1]
        return conv(x, self.weight, self.bias, self.strides, 0, self.dilation_rate, x.shape[1])


class KerasConvTranspose(nn.modules.lazy.LazyModuleMixin, nn.Module):
    """keras.layers.Conv1DTranspose/2D/3D on a channels-first tensor, with Keras' output size
    (TensorFlow's conv_transpose): valid: (n - 1) * s + k' + output_padding (default
    max(k', s) - k'); same: n * s, or (n - 1) * s + k' % 2 + output_padding (k' the dilated
    kernel). The full transposed convolution is cropped where TensorFlow crops it (the "same"
    padding of the forward convolution of that output size, smaller half first) and extended
    with zeros where it is too short; the bias is added last. The weight is torch's
    (C_in, filters, *kernel), created on the first call."""

    cls_to_become = None

    def __init__(
        self,
        rank,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        output_padding=None,
        dilation_rate=1,
        use_bias=True,
    ):
        super().__init__()
        self.rank, self.filters, self.padding = rank, filters, padding
        self.kernel_size = keras_tuple(kernel_size, rank)
        self.strides = keras_tuple(strides, rank)
        self.dilation_rate = keras_tuple(dilation_rate, rank)
        self.output_padding = None if output_padding is None else keras_tuple(output_padding, rank)
        self.weight = nn.UninitializedParameter()
        self.bias = nn.UninitializedParameter() if use_bias else None

    def initialize_parameters(self, x):
        if self.has_uninitialized_params():
            with torch.no_grad():
                channels = x.shape[1]
                self.weight.materialize((channels, self.filters, *self.kernel_size))
                receptive = math.prod(self.kernel_size)
                limit = math.sqrt(6.0 / (receptive * (channels + self.filters)))  # glorot_uniform
                self.weight.uniform_(-limit, limit)
                if self.bias is not None:
                    self.bias.materialize((self.filters,))
                    self.bias.zero_()

    def forward(self, x):
        conv = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[self.rank - 1]
        y = conv(x, self.weight, None, self.strides, 0, 0, 1, self.dilation_rate)
        pads, slices = [], [slice(None), slice(None)]
        for i, n in enumerate(x.shape[2:]):
            k, s = (self.kernel_size[i] - 1) * self.dilation_rate[i] + 1, self.strides[i]
            op = None if self.output_padding is None else self.output_padding[i]
            if self.padding == "valid":
                size = (n - 1) * s + k + (max(k, s) - k if op is None else op)
                start = 0
            else:
                size = n * s if op is None else (n - 1) * s + k % 2 + op
                start = max((math.ceil(size / s) - 1) * s + k - size, 0) // 2
            pads = [0, max(start + size - y.shape[2 + i], 0)] + pads
            slices.append(slice(start, start + size))
        y = F.pad(y, pads)[tuple(slices)]
        if self.bias is not None:
            y = y + self.bias.view(-1, *([1] * self.rank))
        return y


class KerasMaxPoolSame(nn.Module):
    """Keras max pooling with padding="same" on a channels-first tensor: -inf padding, the
    smaller half before (so the padding never wins), then torch's max pooling."""

    def __init__(self, rank, pool_size, strides=None):
        super().__init__()
        self.rank = rank
        self.pool_size = keras_tuple(pool_size, rank)
        self.strides = self.pool_size if strides is None else keras_tuple(strides, rank)

    def forward(self, x):
        x = F.pad(x, keras_same_pads(x.shape[2:], self.pool_size, self.strides), value=float("-inf"))
        pool = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[self.rank - 1]
        return pool(x, self.pool_size, self.strides)


class KerasAvgPoolSame(nn.Module):
    """Keras average pooling with padding="same" on a channels-first tensor: the mean of the
    cells of each window that lie inside the input (the padded cells are not counted; the
    padding is asymmetric, so torch's count_include_pad=False alone is not the same)."""

    def __init__(self, rank, pool_size, strides=None):
        super().__init__()
        self.rank = rank
        self.pool_size = keras_tuple(pool_size, rank)
        self.strides = self.pool_size if strides is None else keras_tuple(strides, rank)

    def forward(self, x):
        pads = keras_same_pads(x.shape[2:], self.pool_size, self.strides)
        pool = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[self.rank - 1]
        ones = torch.ones((1, 1, *x.shape[2:]), dtype=x.dtype, device=x.device)
        total = pool(F.pad(x, pads), self.pool_size, self.strides)
        count = pool(F.pad(ones, pads), self.pool_size, self.strides)
        return total / count


class KerasGlobalPool(nn.Module):
    """Keras' GlobalAveragePooling*/GlobalMaxPooling*: the mean (or max) over ``axes`` (the
    spatial axes: 1..rank for channels_last, 2..rank+1 for channels_first); ``keepdims`` keeps
    them with size 1."""

    def __init__(self, mode, axes, keepdims=False):
        super().__init__()
        self.mode, self.axes, self.keepdims = mode, tuple(axes), keepdims

    def forward(self, x):
        if self.mode == "max":
            return torch.amax(x, dim=self.axes, keepdim=self.keepdims)
        return torch.mean(x, dim=self.axes, keepdim=self.keepdims)


class KerasFlatten(nn.Module):
    """keras.layers.Flatten: (N, ...) -> (N, -1) in Keras' order: with
    data_format="channels_first" the channel axis is moved last first (Keras flattens channels
    last whatever the data format)."""

    def __init__(self, data_format=None):
        super().__init__()
        self.channels_first = data_format == "channels_first"

    def forward(self, x):
        if self.channels_first and x.dim() > 2:
            x = x.movedim(1, -1)
        return x.reshape(x.shape[0], -1)


class KerasReshape(nn.Module):
    """keras.layers.Reshape(target_shape): each sample reshaped (the batch axis kept; one -1
    entry is inferred)."""

    def __init__(self, target_shape):
        super().__init__()
        self.target_shape = tuple(target_shape)

    def forward(self, x):
        return x.reshape(x.shape[0], *self.target_shape)


class KerasPermute(nn.Module):
    """keras.layers.Permute(dims): the non-batch axes permuted (``dims`` counts from 1)."""

    def __init__(self, dims):
        super().__init__()
        self.dims = tuple(dims)

    def forward(self, x):
        return x.permute(0, *self.dims)


class KerasCropping(nn.Module):
    """keras.layers.Cropping1D/2D/3D on a channels-first tensor: ``cropping`` is an int (every
    side), one int per spatial axis (both sides) or (before, after) pairs per axis."""

    def __init__(self, rank, cropping):
        super().__init__()
        if isinstance(cropping, int):
            cropping = (cropping,) * rank
        if rank == 1 and len(cropping) == 2 and all(isinstance(c, int) for c in cropping):
            cropping = (tuple(cropping),)
        self.pairs = tuple(keras_tuple(c, 2) for c in cropping)

    def forward(self, x):
        index = [slice(None), slice(None)]
        for size, (before, after) in zip(x.shape[2:], self.pairs):
            index.append(slice(before, size - after))
        return x[tuple(index)]


class KerasRepeatVector(nn.Module):
    """keras.layers.RepeatVector(n): (N, D) -> (N, n, D)."""

    def __init__(self, n):
        super().__init__()
        self.n = n

    def forward(self, x):
        return x.unsqueeze(1).expand(-1, self.n, -1)


class KerasMerge(nn.Module):
    """Keras' merge layers (Add, Subtract, Multiply, Average, Maximum, Minimum), called on a
    list of tensors (broadcasting like Keras' elementwise ops)."""

    def __init__(self, mode):
        super().__init__()
        self.mode = mode

    def forward(self, inputs):
        inputs = list(inputs)
        if self.mode == "subtract":
            if len(inputs) != 2:
                raise ValueError("Subtract takes exactly two inputs")
            return inputs[0] - inputs[1]
        out = inputs[0]
        for x in inputs[1:]:
            if self.mode in ("add", "average"):
                out = out + x
            elif self.mode == "multiply":
                out = out * x
            elif self.mode == "maximum":
                out = torch.maximum(out, x)
            else:
                out = torch.minimum(out, x)
        return out / len(inputs) if self.mode == "average" else out


class KerasConcatenate(nn.Module):
    """keras.layers.Concatenate(axis): torch.cat of the list along ``axis``."""

    def __init__(self, axis=-1):
        super().__init__()
        self.axis = axis

    def forward(self, inputs):
        return torch.cat(list(inputs), dim=self.axis)


class KerasDot(nn.Module):
    """keras.layers.Dot(axes, normalize): per-sample dot product of two tensors along
    ``axes`` (an int for both, or one per input; counted with the batch axis), like Keras'
    batch_dot; ``normalize`` L2-normalises both along those axes first (cosine proximity).
    Two (N, D) inputs give (N, 1)."""

    def __init__(self, axes, normalize=False):
        super().__init__()
        self.axes, self.normalize = axes, normalize

    def forward(self, inputs):
        x, y = inputs
        axes = self.axes if isinstance(self.axes, (tuple, list)) else (self.axes, self.axes)
        ax, ay = (a % t.dim() for a, t in zip(axes, (x, y)))
        if self.normalize:
            x, y = F.normalize(x, dim=ax, eps=1e-12), F.normalize(y, dim=ay, eps=1e-12)
        x, y = x.movedim(ax, -1), y.movedim(ay, 1)
        rest_x, rest_y = x.shape[1:-1], y.shape[2:]
        out = torch.bmm(x.reshape(x.shape[0], -1, x.shape[-1]), y.reshape(y.shape[0], y.shape[1], -1))
        out = out.reshape(x.shape[0], *rest_x, *rest_y)
        return out.unsqueeze(1) if out.dim() == 1 else out


def keras_relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """keras.activations.relu, computed as Keras does: the positive part x * (x > threshold)
    (relu(x) when threshold is 0), clipped to [0, max_value] when max_value is given, minus
    negative_slope * relu(threshold - x)."""
    if negative_slope != 0 and max_value is None and threshold == 0:
        return F.leaky_relu(x, negative_slope)
    if threshold != 0:
        y = x * (x > threshold).to(x.dtype)
    elif max_value == 6:
        y, max_value = F.relu6(x), None
    else:
        y = F.relu(x)
    if max_value is not None:
        y = torch.clamp(y, 0.0, max_value)
    if negative_slope != 0:
        y = y - negative_slope * F.relu(threshold - x)
    return y


class KerasReLULayer(nn.Module):
    """keras.layers.ReLU(max_value, negative_slope, threshold): keras_relu as a module."""

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0):
        super().__init__()
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, threshold

    def forward(self, x):
        return keras_relu(x, self.negative_slope, self.max_value, self.threshold)


class KerasPReLU(nn.modules.lazy.LazyModuleMixin, nn.Module):
    """keras.layers.PReLU: x for x >= 0, else weight * x, with one learned slope per element of
    the input's non-batch shape (Keras' alpha), shared (size 1) along ``shared_axes`` (counted
    with the batch axis, as in Keras). Created on the first call, filled like
    ``alpha_initializer`` (zeros by default)."""

    cls_to_become = None

    def __init__(self, alpha_initializer="zeros", shared_axes=None):
        super().__init__()
        if shared_axes is None:
            shared_axes = ()
        self.shared_axes = tuple(shared_axes) if isinstance(shared_axes, (tuple, list)) else (shared_axes,)
        self.alpha_initializer = alpha_initializer
        self.weight = nn.UninitializedParameter()

    def initialize_parameters(self, x):
        if self.has_uninitialized_params():
            shape = [1 if i + 1 in self.shared_axes else n for i, n in enumerate(x.shape[1:])]
            with torch.no_grad():
                self.weight.materialize(tuple(shape))
                init = str(self.alpha_initializer).lower()
                if init == "zeros":
                    self.weight.zero_()
                else:
                    self.weight.copy_(keras_initializer(self.alpha_initializer, shape))

    def forward(self, x):
        return torch.where(x >= 0, x, self.weight * x)


class KerasGaussianNoise(nn.Module):
    """keras.layers.GaussianNoise(stddev): adds N(0, stddev) noise in training, identity in
    evaluation."""

    def __init__(self, stddev):
        super().__init__()
        self.stddev = stddev

    def forward(self, x):
        if self.training and self.stddev > 0:
            return x + torch.randn_like(x) * self.stddev
        return x


class KerasGaussianDropout(nn.Module):
    """keras.layers.GaussianDropout(rate): multiplies by N(1, sqrt(rate / (1 - rate))) noise in
    training, identity in evaluation."""

    def __init__(self, rate):
        super().__init__()
        self.rate = rate

    def forward(self, x):
        if self.training and 0 < self.rate < 1:
            return x * (1.0 + torch.randn_like(x) * math.sqrt(self.rate / (1.0 - self.rate)))
        return x


class KerasRescaling(nn.Module):
    """keras.layers.Rescaling(scale, offset): x * scale + offset (in float32; scale and offset
    may be scalars or per-channel sequences, broadcast against the last axis)."""

    def __init__(self, scale, offset=0.0):
        super().__init__()
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32), persistent=False)
        self.register_buffer("offset", torch.as_tensor(offset, dtype=torch.float32), persistent=False)

    def forward(self, x):
        return x.to(torch.float32) * self.scale + self.offset


class KerasNormalization(nn.Module):
    """keras.layers.Normalization with a given mean and variance: (x - mean) /
    max(sqrt(variance), 1e-7) (``invert``: x * max(sqrt(variance), 1e-7) + mean). ``axis`` are
    the axes that keep their own statistics (None: one scalar); mean and variance are aligned
    with them from the right and broadcast over the other axes, as Keras does."""

    def __init__(self, axis=-1, mean=None, variance=None, invert=False):
        super().__init__()
        if mean is None or variance is None:
            raise ValueError("Normalization without mean and variance needs adapt(): not translated")
        self.axis = () if axis is None else (tuple(axis) if isinstance(axis, (tuple, list)) else (axis,))
        self.invert = invert
        # constants of the model's code, as in Keras (not weights: a checkpoint does not hold them)
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32), persistent=False)
        self.register_buffer("variance", torch.as_tensor(variance, dtype=torch.float32), persistent=False)

    def _aligned(self, value, x):
        keep = sorted(a % x.dim() for a in self.axis)
        shape = [1] * x.dim()
        for i in range(1, value.dim() + 1):
            shape[keep[-i]] = value.shape[-i]
        target = [x.shape[d] if d in keep else 1 for d in range(x.dim())]
        return value.reshape(shape).expand(target)

    def forward(self, x):
        x = x.to(torch.float32)
        mean, variance = self._aligned(self.mean, x), self._aligned(self.variance, x)
        std = torch.clamp(torch.sqrt(variance), min=1e-7)
        return mean + x * std if self.invert else (x - mean) / std


class KerasResizing(nn.Module):
    """keras.layers.Resizing(height, width, interpolation) on a channels-first (N, C, H, W)
    tensor: TensorFlow's half-pixel resize, i.e. torch's interpolate with
    align_corners=False ("nearest" is torch's "nearest-exact")."""

    def __init__(self, height, width, interpolation="bilinear", antialias=False):
        super().__init__()
        self.size = (height, width)
        self.mode = {"nearest": "nearest-exact"}.get(interpolation, interpolation)
        self.antialias = antialias

    def forward(self, x):
        x = x.to(torch.float32)
        if self.mode == "nearest-exact":
            return F.interpolate(x, size=self.size, mode=self.mode)
        return F.interpolate(x, size=self.size, mode=self.mode, align_corners=False, antialias=self.antialias)


class KerasCenterCrop(nn.Module):
    """keras.layers.CenterCrop(height, width) on a channels-first (N, C, H, W) tensor: the
    centred window, starting at (H - height) // 2, (W - width) // 2. (Keras resizes an input
    smaller than the target instead; that case raises here.)"""

    def __init__(self, height, width):
        super().__init__()
        self.height, self.width = height, width

    def forward(self, x):
        h, w = x.shape[-2], x.shape[-1]
        if h < self.height or w < self.width:
            raise ValueError("CenterCrop of an input smaller than the target (Keras resizes it) is not translated")
        top, left = (h - self.height) // 2, (w - self.width) // 2
        return x[..., top : top + self.height, left : left + self.width].to(torch.float32)


def keras_padding_to_torch(padding, rank):
    """Keras ZeroPadding's ``padding`` (an int, one int per spatial axis, or (before, after)
    pairs per axis, first axis first) -> torch's flat pad tuple (last axis first)."""
    if isinstance(padding, int):
        padding = (padding,) * rank
    if rank == 1 and len(padding) == 2 and all(isinstance(p, int) for p in padding):
        padding = (tuple(padding),)
    pairs = [keras_tuple(p, 2) for p in padding]
    return tuple(v for pair in reversed(pairs) for v in pair)
