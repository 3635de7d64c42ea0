"""Support code for translated Keras models (Keras -> PyTorch): the Keras layers, regularizers and
constraints torch has no module or function for (Lambda, Masking, TimeDistributed, EinsumDense,
CategoryEncoding, Discretization, RandomFlip; keras.regularizers and keras.constraints objects).

A translation copies the definitions it uses into its output, so they are plain PyTorch. Each
reproduces the Keras computation it stands for (keras/src/...), noted in its docstring.
"""

import math
import re

import torch
import torch.nn.functional as F
from torch import nn

from support_core import KerasActivation, keras_initializer
from support_initializers import KerasInitializer
from support_layers import keras_same_pads, keras_tuple

CONSTRAINT_EPSILON = 1e-7  # keras.backend.epsilon(), used by the constraints


class KerasLambda(nn.Module):
    """keras.layers.Lambda(function, arguments=...): calls the function (already translated to
    torch where it is written in the file) on the input, with the extra keyword arguments."""

    def __init__(self, function, arguments=None):
        super().__init__()
        self.function = function
        self.arguments = dict(arguments or {})

    def forward(self, inputs):
        return self.function(inputs, **self.arguments)


class KerasMasking(nn.Module):
    """keras.layers.Masking(mask_value): zeroes the time steps whose features all equal
    mask_value (Keras' output). The mask Keras also attaches for the layers after it is not
    kept: torch tensors carry none."""

    def __init__(self, mask_value=0.0):
        super().__init__()
        self.mask_value = mask_value

    def forward(self, x):
        keep = (x != self.mask_value).any(dim=-1, keepdim=True)
        return torch.where(keep, x, torch.zeros_like(x))


class KerasTimeDistributed(nn.Module):
    """keras.layers.TimeDistributed(layer): the layer applied to every time step x[:, t] and the
    results stacked on axis 1, one step at a time as Keras does (so a batch norm in training
    sees each step's batch, not all steps at once)."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x):
        return torch.stack([self.layer(x[:, t]) for t in range(x.shape[1])], dim=1)


class KerasReversibleEmbedding(nn.Module):
    """keras.layers.ReversibleEmbedding: a lookup in ``embeddings`` (input_dim, output_dim); called
    with reverse=True, the logits inputs @ embeddings.T (or @ ``reverse_embeddings`` (output_dim,
    input_dim) when the weights are not tied), soft-capped as tanh(logits / cap) * cap."""

    def __init__(self, input_dim, output_dim, tie_weights=True, embeddings_initializer="uniform", logit_soft_cap=None):
        super().__init__()
        self.tie_weights, self.logit_soft_cap = tie_weights, logit_soft_cap
        init = "random_uniform" if embeddings_initializer == "uniform" else embeddings_initializer
        self.embeddings = nn.Parameter(keras_initializer(init, (input_dim, output_dim)))
        if not tie_weights:
            self.reverse_embeddings = nn.Parameter(keras_initializer(init, (output_dim, input_dim)))

    def forward(self, inputs, reverse=False):
        if not reverse:
            return F.embedding(inputs.long(), self.embeddings)
        kernel = self.embeddings.T if self.tie_weights else self.reverse_embeddings
        logits = inputs @ kernel
        if self.logit_soft_cap is not None:
            logits = torch.tanh(logits / self.logit_soft_cap) * self.logit_soft_cap
        return logits


def _einsum_shapes(equation, bias_axes, input_shape, output_shape):
    """Keras' _analyze_einsum_string (layers/core/einsum_dense.py): the kernel shape, the bias
    shape (None without bias_axes) and the kernel's input / output axes, from the equation, the
    input shape and the layer's (partial) output_shape."""
    dotted = re.sub(r"\.\.\.", "0", equation)
    left_elided = False
    match = re.match("([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)", dotted)
    if not match:
        match = re.match("0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)", dotted)
        left_elided = bool(match)
    if not match:
        match = re.match("([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0", dotted)
    if not match:
        raise ValueError(f"Invalid einsum equation {equation!r}")
    input_spec, weight_spec, output_spec = match.group(1), match.group(2), match.group(3)
    elided = len(input_shape) - len(input_spec)
    output_shape = [output_shape] if isinstance(output_shape, int) else list(output_shape)
    output_shape.insert(0, input_shape[0])
    if elided > 0 and left_elided:
        for i in range(1, elided):
            output_shape.insert(1, input_shape[i])
    elif elided > 0:
        output_shape.extend(input_shape[len(input_shape) - elided :])
    if left_elided:
        input_map = {d: i + elided - len(input_shape) for i, d in enumerate(input_spec)}
        output_map = {d: i + elided for i, d in enumerate(output_spec)}
    else:
        input_map = {d: i for i, d in enumerate(input_spec)}
        output_map = {d: i for i, d in enumerate(output_spec)}
    kernel_shape, input_axes, output_axes = [], [], []
    for i, d in enumerate(weight_spec):
        if d in output_map:
            kernel_shape.append(output_shape[output_map[d]])
            output_axes.append(i)
        elif d in input_map:
            kernel_shape.append(input_shape[input_map[d]])
            input_axes.append(i)
        else:
            raise ValueError(f"weight dimension {d!r} is in neither the input nor the output of {equation!r}")
    bias_shape = None
    if bias_axes is not None:
        shift = elided if left_elided else 0
        sizes = {c: output_shape[i + shift] for i, c in enumerate(output_spec)}
        first = min(output_spec.find(c) for c in bias_axes)
        bias_shape = [sizes[c] if c in bias_axes else 1 for c in output_spec[first:]]
        if not left_elided:
            bias_shape += [1] * elided
    return [int(s) for s in kernel_shape], bias_shape, input_axes, output_axes


class KerasEinsumDense(nn.modules.lazy.LazyModuleMixin, nn.Module):
    """keras.layers.EinsumDense(equation, output_shape, activation, bias_axes): einsum of the input
    with a kernel (plus a bias on bias_axes), shaped by Keras' rules from the equation on the
    first call. ``kernel`` and ``bias`` have Keras' shapes, so Keras' weights copy as they are;
    a variance-scaling initializer given by name uses the kernel's input / output axes, as Keras."""

    cls_to_become = None

    def __init__(
        self,
        equation,
        output_shape,
        activation=None,
        bias_axes=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
    ):
        super().__init__()
        self.equation, self.partial_output_shape, self.bias_axes = equation, output_shape, bias_axes
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.activation = None if activation is None else KerasActivation(activation)
        self.kernel = nn.parameter.UninitializedParameter()
        self.bias = nn.parameter.UninitializedParameter() if bias_axes is not None else None

    def initialize_parameters(self, x):
        if not self.has_uninitialized_params():
            return
        kernel_shape, bias_shape, input_axes, output_axes = _einsum_shapes(
            self.equation, self.bias_axes, tuple(x.shape), self.partial_output_shape
        )
        init = self.kernel_initializer
        if isinstance(init, str) and init in KerasInitializer._PRESETS:
            init = KerasInitializer(init, input_axes=input_axes, output_axes=output_axes)
        with torch.no_grad():
            self.kernel.materialize(kernel_shape)
            self.kernel.copy_(keras_initializer(init, kernel_shape))
            if self.bias is not None:
                self.bias.materialize(bias_shape)
                self.bias.copy_(keras_initializer(self.bias_initializer, bias_shape))

    def forward(self, x):
        y = torch.einsum(self.equation, x, self.kernel)
        if self.bias is not None:
            y = y + self.bias
        return y if self.activation is None else self.activation(y)


class KerasCategoryEncoding(nn.Module):
    """keras.layers.CategoryEncoding(num_tokens, output_mode): integer indices in [0, num_tokens)
    to float32 "one_hot" (a trailing axis of size 1 dropped first), "multi_hot" or "count" vectors
    (rank 1: one sample; rank 2: one row per sample), Keras' encode_categorical_inputs."""

    def __init__(self, num_tokens, output_mode="multi_hot"):
        super().__init__()
        self.num_tokens, self.output_mode = num_tokens, output_mode

    def forward(self, inputs, count_weights=None):
        inputs = torch.as_tensor(inputs).long()
        if inputs.dim() == 0:
            inputs = inputs.unsqueeze(-1)
        if self.output_mode == "one_hot":
            if inputs.dim() > 1 and inputs.shape[-1] == 1:
                inputs = inputs.squeeze(-1)
            return F.one_hot(inputs, self.num_tokens).float()
        hot = F.one_hot(inputs, self.num_tokens).float()
        if count_weights is not None:
            hot = hot * torch.as_tensor(count_weights, dtype=torch.float32).unsqueeze(-1)
        counts = hot.sum(dim=1 if inputs.dim() > 1 else 0)
        return counts if self.output_mode == "count" else (counts > 0).float()


class KerasDiscretization(nn.Module):
    """keras.layers.Discretization(bin_boundaries): the index of the bin of each value, bin i
    holding boundaries[i - 1] <= x < boundaries[i] (TensorFlow's Bucketize), as int64."""

    def __init__(self, bin_boundaries):
        super().__init__()
        self.register_buffer("bin_boundaries", torch.tensor(list(bin_boundaries), dtype=torch.float32))

    def forward(self, x):
        return torch.bucketize(torch.as_tensor(x, dtype=torch.float32), self.bin_boundaries, right=True)


class KerasRandomFlip(nn.Module):
    """keras.layers.RandomFlip(mode) on channels-last images (N, H, W, C) or one image (H, W, C):
    in training each image is flipped with probability 1/2, one draw for both directions in
    "horizontal_and_vertical" (Keras' _flip_inputs), from torch's global generator (the same
    distribution as Keras, not the same draws); in inference it is the identity, as in Keras."""

    def __init__(self, mode="horizontal_and_vertical"):
        super().__init__()
        if mode not in ("horizontal", "vertical", "horizontal_and_vertical"):
            raise ValueError(f"unknown RandomFlip mode {mode!r}")
        self.mode = mode

    def forward(self, x):
        x = x.float()
        if not self.training:
            return x
        single = x.dim() == 3
        out = x.unsqueeze(0) if single else x
        flip = torch.rand((out.shape[0], 1, 1, 1), device=out.device) <= 0.5
        if self.mode in ("horizontal", "horizontal_and_vertical"):
            out = torch.where(flip, out.flip(-2), out)
        if self.mode in ("vertical", "horizontal_and_vertical"):
            out = torch.where(flip, out.flip(-3), out)
        return out[0] if single else out


def keras_factor_range(factor, bounds):
    """Keras' _set_factor: a number f gives (max(-|f|, low), |f|), a pair its sorted values;
    out of ``bounds`` (low, high) it raises, as Keras does."""
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or factor[0] > bounds[1] or factor[1] < bounds[0]:
            raise ValueError(f"factor should be a number or two numbers in {bounds}, got {factor}")
        return tuple(sorted(factor))
    if factor < bounds[0] or factor > bounds[1]:
        raise ValueError(f"factor should be a number or two numbers in {bounds}, got {factor}")
    factor = abs(factor)
    return max(-factor, bounds[0]), factor


class KerasRandomContrast(nn.Module):
    """keras.layers.RandomContrast(factor, value_range) on channels-last images: identity in
    inference; in training (x - mean) * c + mean per image and channel (mean over height and
    width), c uniform in [1 - lower, 1 + upper] per image (Keras' factor range, bounds (0, 1)),
    clipped to value_range. torch's global generator: Keras' distribution, not its draws."""

    def __init__(self, factor, value_range=(0, 255)):
        super().__init__()
        self.factor = keras_factor_range(factor, (0, 1))
        self.value_range = tuple(value_range)

    def forward(self, x):
        if not self.training:
            return x
        shape = (x.shape[0], 1, 1, 1) if x.dim() == 4 else (1, 1, 1)
        low, high = 1.0 - self.factor[0], 1.0 + self.factor[1]
        c = torch.rand(shape, device=x.device) * (high - low) + low
        mean = x.float().mean(dim=(-3, -2), keepdim=True)
        return torch.clamp((x - mean) * c + mean, self.value_range[0], self.value_range[1])


class KerasRandomBrightness(nn.Module):
    """keras.layers.RandomBrightness(factor, value_range) on channels-last images: identity in
    inference; in training x + d per image, d uniform in Keras' factor range (bounds (-1, 1))
    times the width of value_range, clipped to value_range. torch's global generator."""

    def __init__(self, factor, value_range=(0, 255)):
        super().__init__()
        self.factor = keras_factor_range(factor, (-1, 1))
        self.value_range = tuple(sorted(value_range))

    def forward(self, x):
        if not self.training:
            return x
        shape = (x.shape[0], 1, 1, 1) if x.dim() == 4 else (1, 1, 1)
        low, high = self.factor
        delta = (torch.rand(shape, device=x.device) * (high - low) + low) * (self.value_range[1] - self.value_range[0])
        return torch.clamp(x + delta, self.value_range[0], self.value_range[1])


class KerasRandomInvert(nn.Module):
    """keras.layers.RandomInvert(factor, value_range) on channels-last images: identity in
    inference; in training each image becomes value_range[1] - x when a uniform draw falls
    below its inversion probability (itself uniform in Keras' factor range, bounds (0, 1)).
    One image (H, W, C) is a batch of one. torch's generator."""

    def __init__(self, factor=1.0, value_range=(0, 255)):
        super().__init__()
        self.factor = keras_factor_range(factor, (0, 1))
        self.value_range = tuple(value_range)

    def forward(self, x):
        if not self.training:
            return x
        single = x.dim() == 3
        x = x.float().unsqueeze(0) if single else x.float()
        low, high = self.factor
        probability = torch.rand(x.shape[0], device=x.device) * (high - low) + low
        apply = (torch.rand(x.shape[0], device=x.device) < probability)[:, None, None, None]
        out = torch.where(apply, self.value_range[1] - x, x)
        return out[0] if single else out


class KerasRandomGrayscale(nn.Module):
    """keras.layers.RandomGrayscale(factor) on channels-last RGB images: identity in inference;
    in training each image is replaced, with probability factor, by its luma 0.2989 R + 0.587 G
    + 0.114 B (tf.image's weights) in every channel. One image (H, W, C) is a batch of one.
    torch's generator."""

    def __init__(self, factor=0.5):
        super().__init__()
        if not 0 <= factor <= 1:
            raise ValueError(f"factor should be in [0, 1], got {factor}")
        self.factor = factor

    def forward(self, x):
        if not self.training:
            return x
        single = x.dim() == 3
        x = x.unsqueeze(0) if single else x
        apply = (torch.rand(x.shape[0], device=x.device) < self.factor)[:, None, None, None]
        if x.shape[-1] == 1:
            gray = x
        else:
            weights = torch.tensor([0.2989, 0.5870, 0.1140], dtype=torch.float32, device=x.device)
            gray = (x.float() @ weights).unsqueeze(-1).to(x.dtype)
        out = torch.where(apply, gray, x)
        return out[0] if single else out


class KerasRandomCrop(nn.Module):
    """keras.layers.RandomCrop(height, width) on channels-last images: identity in inference
    (Keras 3 crops only in training); in training one random (height, width) window for the
    whole batch when the input is larger on both axes, else Keras' centered crop of the target's
    aspect ratio, resized (bilinear, half-pixel) to (height, width). torch's generator."""

    def __init__(self, height, width):
        super().__init__()
        self.height, self.width = height, width

    def forward(self, x):
        if not self.training:
            return x
        x = x.float()
        in_h, in_w = x.shape[-3], x.shape[-2]
        if in_h > self.height and in_w > self.width:
            top = int(torch.randint(0, in_h - self.height + 1, ()))
            left = int(torch.randint(0, in_w - self.width + 1, ()))
            return x[..., top : top + self.height, left : left + self.width, :]
        crop_h = max(min(in_h, int(float(in_w * self.height) / self.width)), 1)
        crop_w = max(min(in_w, int(float(in_h * self.width) / self.height)), 1)
        top, left = int(float(in_h - crop_h) / 2), int(float(in_w - crop_w) / 2)
        x = x[..., top : top + self.height, left : left + self.width, :]  # Keras slices the target size
        if tuple(x.shape[-3:-1]) == (self.height, self.width):
            return x
        single = x.dim() == 3
        x = (x.unsqueeze(0) if single else x).movedim(-1, 1)
        x = F.interpolate(x, size=(self.height, self.width), mode="bilinear", align_corners=False).movedim(1, -1)
        return x[0] if single else x


def _tf_wrap_coordinate(coordinate, size):
    """TensorFlow's FILL_WRAP mapping of a continuous coordinate (ImageProjectiveTransform), which
    Keras' TensorFlow backend uses: shifted by whole periods of ``size`` counted in steps of
    size - 1, then clamped to [0, size - 1]."""
    if size <= 1:
        return torch.zeros_like(coordinate)
    step = size - 1
    below = coordinate + size * (torch.trunc(-coordinate / step) + 1)
    above = coordinate - size * torch.trunc(coordinate / step)
    wrapped = torch.where(coordinate < 0, below, torch.where(coordinate > size - 1, above, coordinate))
    return torch.clamp(wrapped, 0, size - 1)


def _keras_fix_index(index, size, fill_mode):
    """Keras' index fixers (backend/torch/image.py): where an out-of-range index reads from."""
    if fill_mode in ("reflect", "mirror"):
        if fill_mode == "reflect":  # d c b a | a b c d | d c b a
            index, size = 2 * index + 1, 2 * size + 1
        s = size - 1
        fixed = torch.abs((index + s) % (2 * s) - s)
        return torch.div(fixed - 1, 2, rounding_mode="floor") if fill_mode == "reflect" else fixed
    return torch.clamp(index, 0, size - 1)  # constant (masked later), nearest


def keras_affine_transform(images, transform, interpolation="bilinear", fill_mode="constant", fill_value=0.0):
    """keras.ops.image.affine_transform of channels-last images (N, H, W, C) by transforms
    (N, 8) [a0, a1, a2, b0, b1, b2, c0, c1]: output pixel (y, x) reads the input at
    ((b0 x + b1 y + b2) / k, (a0 x + a1 y + a2) / k), k = c0 x + c1 y + 1 (1 when affine), interpolated (bilinear / nearest) with Keras' fill
    modes (constant, nearest, wrap, mirror, reflect), as Keras' own torch backend computes it,
    except "wrap", mapped as TensorFlow does (the tests compare with Keras on TensorFlow)."""
    n, h, w, _ = images.shape
    ys, xs = torch.meshgrid(torch.arange(h, dtype=images.dtype), torch.arange(w, dtype=images.dtype), indexing="ij")
    t = transform.to(images.dtype)[:, :, None, None]
    k = t[:, 6] * xs + t[:, 7] * ys + 1.0  # 1 for an affine transform; a projective one divides
    coords = ((t[:, 3] * xs + t[:, 4] * ys + t[:, 5]) / k, (t[:, 0] * xs + t[:, 1] * ys + t[:, 2]) / k)  # rows, cols
    if fill_mode == "wrap":  # TensorFlow wraps the coordinate itself, then reads inside the image
        coords = (_tf_wrap_coordinate(coords[0], h), _tf_wrap_coordinate(coords[1], w))
        fill_mode = "nearest"
    nodes = []
    for coordinate in coords:
        if interpolation == "nearest":
            nearest = torch.sign(coordinate) * torch.floor(coordinate.abs() + 0.5)  # TensorFlow: half away from 0
            nodes.append([(nearest.long(), 1.0)])
        else:
            lower = torch.floor(coordinate)
            nodes.append([(lower.long(), 1 - (coordinate - lower)), (lower.long() + 1, coordinate - lower)])
    batch = torch.arange(n)[:, None, None]
    out = torch.zeros_like(images)
    for row, row_weight in nodes[0]:
        for col, col_weight in nodes[1]:
            value = images[batch, _keras_fix_index(row, h, fill_mode), _keras_fix_index(col, w, fill_mode)]
            if fill_mode == "constant":
                inside = ((row >= 0) & (row < h) & (col >= 0) & (col < w))[..., None]
                value = torch.where(inside, value, torch.full_like(value, fill_value))
            weight = row_weight * col_weight
            out = out + (weight[..., None] if isinstance(weight, torch.Tensor) else weight) * value
    return out


def keras_affine_matrix(angle, height, width, translate_x=0.0, translate_y=0.0, scale=1.0):
    """Keras' _compute_affine_matrix (no shear, centre at the image's middle): (N, 8) transforms
    for angles in degrees, translations in pixels and a scale, per image."""
    angle = angle * (math.pi / 180.0)
    cx, cy = 0.5 * (width - 1), 0.5 * (height - 1)
    cos, sin = torch.cos(angle), torch.sin(angle)
    a0, a1 = scale * cos, scale * -sin
    b0, b1 = scale * sin, scale * cos
    a2 = translate_x + cx - cx * a0 - cy * a1
    b2 = translate_y + cy - cx * b0 - cy * b1
    zeros = torch.zeros_like(a0)
    return torch.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], dim=1)


class KerasRandomRotation(nn.Module):
    """keras.layers.RandomRotation(factor, fill_mode, interpolation, fill_value) on channels-last
    images: identity in inference; in training each image turns by an angle uniform in
    Keras' factor range times 360 degrees about its centre (keras_affine_transform, Keras' fill
    modes). torch's generator: Keras' distribution, not its draws."""

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", fill_value=0.0):
        super().__init__()
        self.factor = keras_factor_range(factor, (-1, 1))
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, fill_value

    def forward(self, x):
        if not self.training:
            return x
        single = x.dim() == 3
        x = x.float().unsqueeze(0) if single else x.float()
        low, high = self.factor[0] * 360.0, self.factor[1] * 360.0
        angle = torch.rand(x.shape[0]) * (high - low) + low
        matrix = keras_affine_matrix(angle, x.shape[1], x.shape[2])
        out = keras_affine_transform(x, matrix, self.interpolation, self.fill_mode, self.fill_value)
        return out[0] if single else out


def keras_signed_range(factor):
    """The (lower, upper) of RandomZoom's and RandomTranslation's factors: a number f gives
    (-|f|, |f|), a pair its sorted values (Keras' _set_factor of those layers)."""
    if isinstance(factor, (tuple, list)):
        return tuple(sorted(factor))
    return -abs(factor), abs(factor)


class KerasRandomZoom(nn.Module):
    """keras.layers.RandomZoom(height_factor, width_factor, ...) on channels-last images: identity
    in inference; in training each image is resampled about its centre by zoom factors
    1 + U(lower, upper) (the height's for both axes when width_factor is None), with Keras' fill
    modes and interpolation (keras_affine_transform). torch's generator."""

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect", interpolation="bilinear", fill_value=0.0):
        super().__init__()
        self.height_range = keras_signed_range(height_factor)
        self.width_range = None if width_factor is None else keras_signed_range(width_factor)
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, fill_value

    def forward(self, x):
        if not self.training:
            return x
        single = x.dim() == 3
        x = x.float().unsqueeze(0) if single else x.float()
        n, h, w = x.shape[0], x.shape[1], x.shape[2]
        low, high = self.height_range
        zy = 1.0 + torch.rand(n) * (high - low) + low
        zx = zy
        if self.width_range is not None:
            low, high = self.width_range
            zx = 1.0 + torch.rand(n) * (high - low) + low
        zeros = torch.zeros(n)
        matrix = torch.stack(
            [zx, zeros, (w - 1) / 2.0 * (1 - zx), zeros, zy, (h - 1) / 2.0 * (1 - zy), zeros, zeros], 1
        )
        out = keras_affine_transform(x, matrix, self.interpolation, self.fill_mode, self.fill_value)
        return out[0] if single else out


class KerasRandomTranslation(nn.Module):
    """keras.layers.RandomTranslation(height_factor, width_factor, ...) on channels-last images:
    identity in inference; in training each image shifts by U(lower, upper) times its height and
    width, with Keras' fill modes and interpolation (keras_affine_transform). torch's generator."""

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear", fill_value=0.0):
        super().__init__()
        self.height_range, self.width_range = keras_signed_range(height_factor), keras_signed_range(width_factor)
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, fill_value

    def forward(self, x):
        if not self.training:
            return x
        single = x.dim() == 3
        x = x.float().unsqueeze(0) if single else x.float()
        n, h, w = x.shape[0], x.shape[1], x.shape[2]
        (h_low, h_high), (w_low, w_high) = self.height_range, self.width_range
        dy = (torch.rand(n) * (h_high - h_low) + h_low) * h
        dx = (torch.rand(n) * (w_high - w_low) + w_low) * w
        ones, zeros = torch.ones(n), torch.zeros(n)
        matrix = torch.stack([ones, zeros, -dx, zeros, ones, -dy, zeros, zeros], 1)
        out = keras_affine_transform(x, matrix, self.interpolation, self.fill_mode, self.fill_value)
        return out[0] if single else out


class KerasRandomShear(nn.Module):
    """keras.layers.RandomShear(x_factor, y_factor, ...) on channels-last images: identity in
    inference; in training the transform [1, sx, 0, sy, 1, 0] with sx, sy uniform in Keras'
    ranges (a number f is (-f, f)) and one random sign per image for both, with Keras' fill
    modes and interpolation (keras_affine_transform). torch's generator."""

    def __init__(self, x_factor=0.0, y_factor=0.0, interpolation="bilinear", fill_mode="reflect", fill_value=0.0):
        super().__init__()
        self.x_range, self.y_range = keras_signed_range(x_factor), keras_signed_range(y_factor)
        self.fill_mode, self.interpolation, self.fill_value = fill_mode, interpolation, fill_value

    def forward(self, x):
        if not self.training:
            return x
        single = x.dim() == 3
        x = x.float().unsqueeze(0) if single else x.float()
        n = x.shape[0]
        sign = torch.where(torch.rand(n) > 0.5, -1.0, 1.0)
        sy = (torch.rand(n) * (self.y_range[1] - self.y_range[0]) + self.y_range[0]) * sign
        sx = (torch.rand(n) * (self.x_range[1] - self.x_range[0]) + self.x_range[0]) * sign
        ones, zeros = torch.ones(n), torch.zeros(n)
        matrix = torch.stack([ones, sx, zeros, sy, ones, zeros, zeros, zeros], 1)
        out = keras_affine_transform(x, matrix, self.interpolation, self.fill_mode, self.fill_value)
        return out[0] if single else out


class KerasRandomColorDegeneration(nn.Module):
    """keras.layers.RandomColorDegeneration(factor, value_range) on channels-last RGB images:
    unchanged in inference; in training x + f * (luma(x) - x) per image, f uniform in Keras'
    factor range (bounds (-1, 1)), clipped to value_range. torch's generator."""

    def __init__(self, factor, value_range=(0, 255)):
        super().__init__()
        self.factor = keras_factor_range(factor, (-1, 1))
        self.value_range = tuple(sorted(value_range))

    def forward(self, x):
        if not self.training:
            return x
        single = x.dim() == 3
        x = x.float().unsqueeze(0) if single else x.float()
        low, high = self.factor
        f = torch.rand(x.shape[0], 1, 1, 1) * (high - low) + low
        weights = torch.tensor([0.2989, 0.5870, 0.1140], dtype=torch.float32)
        gray = (x @ weights).unsqueeze(-1) if x.shape[-1] == 3 else x
        out = torch.clamp(x + f * (gray - x), self.value_range[0], self.value_range[1])
        return out[0] if single else out


class KerasRandomPosterization(nn.Module):
    """keras.layers.RandomPosterization(factor, value_range) on images: unchanged in inference;
    in training each image keeps b bits per value on the 0..255 scale (the low 8 - b bits
    cleared), b drawn as Keras does: randint(lower, upper), upper excluded, or the one value
    of a one-point range (a number f is the range (1, f)). torch's generator."""

    def __init__(self, factor, value_range=(0, 255)):
        super().__init__()
        self.factor = keras_factor_range(factor, (1, 8))
        self.value_range = tuple(sorted(value_range))

    def _rescale(self, x, source, target):
        if tuple(source) == tuple(target):
            return x
        return (x - source[0]) / (source[1] - source[0]) * (target[1] - target[0]) + target[0]

    def forward(self, x):
        if not self.training:
            return x
        low, high = int(self.factor[0]), int(self.factor[1])
        n = x.shape[0] if x.dim() == 4 else 1
        bits = torch.randint(low, high, (n,)) if low != high else torch.full((n,), low)
        shift = (8 - bits).reshape((n, 1, 1, 1) if x.dim() == 4 else (1, 1, 1))
        images = self._rescale(x.float(), self.value_range, (0.0, 255.0)).to(torch.uint8).long()
        images = (images >> shift) << shift
        return self._rescale(images.float(), (0.0, 255.0), self.value_range)


class KerasRandomSharpness(nn.Module):
    """keras.layers.RandomSharpness(factor, value_range) on channels-last images: float32 and
    unchanged in inference; in training x + (1 - 2 f) * (smooth(x) - x) per image, smooth the
    3x3 kernel [[1, 1, 1], [1, 5, 1], [1, 1, 1]] / 13 per channel with zero padding, f uniform in
    Keras' factor range (bounds (0, 1)), clipped to value_range. torch's generator."""

    def __init__(self, factor, value_range=(0, 255)):
        super().__init__()
        self.factor = keras_factor_range(factor, (0, 1))
        self.value_range = tuple(sorted(value_range))

    def forward(self, x):
        x = x.float()
        if not self.training:
            return x
        single = x.dim() == 3
        x = x.unsqueeze(0) if single else x
        low, high = self.factor
        sharpness = (torch.rand(x.shape[0]) * (high - low) + low).reshape(-1, 1, 1, 1) * 2
        channels = x.shape[-1]
        kernel = torch.full((3, 3), 1.0 / 13.0)
        kernel[1, 1] = 5.0 / 13.0
        kernel = kernel.expand(channels, 1, 3, 3)
        smooth = F.conv2d(x.movedim(-1, 1), kernel, padding=1, groups=channels).movedim(1, -1)
        out = torch.clamp(x + (1.0 - sharpness) * (smooth - x), self.value_range[0], self.value_range[1])
        return out[0] if single else out


class KerasAutoContrast(nn.Module):
    """keras.layers.AutoContrast(value_range) on channels-last images (N, H, W, C) or (H, W, C), in
    training and inference alike: each image and channel stretched so that its minimum and maximum
    span value_range (Keras' formula through the 0..255 scale, NaN where a channel is constant
    replaced by the input), float32."""

    def __init__(self, value_range=(0, 255)):
        super().__init__()
        self.value_range = tuple(sorted(value_range))

    def _rescale(self, x, source, target):
        if tuple(source) == tuple(target):
            return x
        return (x - source[0]) / (source[1] - source[0]) * (target[1] - target[0]) + target[0]

    def forward(self, x):
        single = x.dim() == 3
        original = x.unsqueeze(0) if single else x
        images = self._rescale(original.float(), self.value_range, (0.0, 255.0))
        low = images.amin(dim=(1, 2), keepdim=True)
        high = images.amax(dim=(1, 2), keepdim=True)
        scale = 255.0 / (high - low)
        images = torch.clamp(images * scale + -low * scale, 0.0, 255.0)
        results = self._rescale(images, (0.0, 255.0), self.value_range)
        results = torch.where(torch.isnan(results), original.float(), results)
        return results[0] if single else results


class KerasSolarization(nn.Module):
    """keras.layers.Solarization(addition_factor, threshold_factor, value_range) on images:
    float32 and unchanged in inference; in training, on the 0..255 scale, x + a clipped to
    [0, 255], then 255 - that where it reaches the threshold t, per image, with Keras' draws
    a ~ U(lower, upper * 255) and t ~ U(lower, upper * 255) (a number f is the range (0, f)).
    torch's generator: Keras' distribution, not its draws."""

    def __init__(self, addition_factor=0.0, threshold_factor=0.0, value_range=(0, 255)):
        super().__init__()
        self.addition = self._range(addition_factor)
        self.threshold = self._range(threshold_factor)
        self.value_range = tuple(sorted(value_range))

    @staticmethod
    def _range(factor):
        if isinstance(factor, (tuple, list)):
            return tuple(sorted(factor))
        return 0, factor

    def _rescale(self, x, source, target):
        if tuple(source) == tuple(target):
            return x
        return (x - source[0]) / (source[1] - source[0]) * (target[1] - target[0]) + target[0]

    def forward(self, x):
        x = x.float()
        if not self.training:
            return x
        shape = (x.shape[0], 1, 1, 1) if x.dim() == 4 else (1, 1, 1)
        (a_low, a_high), (t_low, t_high) = self.addition, self.threshold
        additions = torch.rand(shape) * (a_high * 255 - a_low) + a_low
        thresholds = torch.rand(shape) * (t_high * 255 - t_low) + t_low
        images = self._rescale(x, self.value_range, (0.0, 255.0))
        results = torch.clamp(images + additions, 0, 255)
        results = torch.where(results < thresholds, results, 255 - results)
        return self._rescale(results, (0.0, 255.0), self.value_range)


class KerasRegularizer:
    """A keras.regularizers object called on a weight tensor: the penalty, a scalar tensor.
    "l1_l2" (l1, l2): l1 * sum|w| + l2 * sum w**2 (L1 and L2 are its special cases);
    "orthogonal" (factor, mode): factor * mean |off-diagonal cosine similarity| between the
    rows ("rows") or columns ("columns") of a 2-D weight, in Keras' own orientation (in, out)."""

    def __init__(self, kind, **config):
        self.kind, self.config = kind, config

    def __repr__(self):
        args = "".join(f", {k}={v!r}" for k, v in self.config.items())
        return f"KerasRegularizer({self.kind!r}{args})"

    def __call__(self, x):
        c = self.config
        if self.kind == "l1_l2":
            penalty = torch.zeros((), dtype=x.dtype, device=x.device)
            if c.get("l1", 0.0):
                penalty = penalty + c["l1"] * x.abs().sum()
            if c.get("l2", 0.0):
                penalty = penalty + c["l2"] * x.square().sum()
            return penalty
        if self.kind == "orthogonal":
            if x.dim() != 2:
                raise ValueError(f"OrthogonalRegularizer needs a 2-D weight, got shape {tuple(x.shape)}")
            rows = c.get("mode", "rows") == "rows"
            inv_norm = torch.rsqrt(x.square().sum(dim=1 if rows else 0, keepdim=True))
            x = x * torch.clamp(inv_norm, max=1.0 / CONSTRAINT_EPSILON)  # Keras' ops.normalize
            product = x @ x.T if rows else x.T @ x
            size = product.shape[0]
            off_diagonal = product * (1.0 - torch.eye(size, dtype=x.dtype, device=x.device))
            return c.get("factor", 0.01) * 0.5 * off_diagonal.abs().sum() / (size * (size - 1.0) / 2.0)
        raise ValueError(f"unknown Keras regularizer {self.kind!r}")


def keras_regularizer_get(identifier):
    """keras.regularizers.get: None, a callable (kept) or a registered name ("l1", "L2",
    "l1l2", "orthogonal_regularizer"...) with that class's defaults."""
    if identifier is None or callable(identifier):
        return identifier
    names = {
        "l1": ("l1_l2", {"l1": 0.01}),
        "l2": ("l1_l2", {"l2": 0.01}),
        "l1l2": ("l1_l2", {"l1": 0.0, "l2": 0.0}),
        "orthogonal_regularizer": ("orthogonal", {}),
        "orthogonalregularizer": ("orthogonal", {}),
    }
    if identifier.lower() in names:
        kind, config = names[identifier.lower()]
        return KerasRegularizer(kind, **config)
    raise ValueError(f"unknown Keras regularizer {identifier!r}")


class KerasConstraint:
    """A keras.constraints object called on a weight tensor: its projection. Norms are taken
    along ``axis`` of the weight as Keras lays it out (a Dense kernel is (in, out) in Keras, the
    transpose of torch's weight), with Keras' epsilon 1e-7:
    "max_norm" (max_value, axis), "min_max_norm" (min_value, max_value, rate, axis),
    "unit_norm" (axis), "non_neg"."""

    def __init__(self, kind, **config):
        self.kind, self.config = kind, config

    def __repr__(self):
        args = "".join(f", {k}={v!r}" for k, v in self.config.items())
        return f"KerasConstraint({self.kind!r}{args})"

    def __call__(self, w):
        c = self.config
        if self.kind == "non_neg":
            return torch.clamp(w, min=0)
        axis = c.get("axis", 0)
        dims = tuple(axis) if isinstance(axis, (tuple, list)) else axis
        norms = w.square().sum(dim=dims, keepdim=True).sqrt()
        if self.kind == "unit_norm":
            return w / (CONSTRAINT_EPSILON + norms)
        if self.kind == "max_norm":
            desired = torch.clamp(norms, 0, c.get("max_value", 2))
        elif self.kind == "min_max_norm":
            rate = c.get("rate", 1.0)
            desired = rate * torch.clamp(norms, c.get("min_value", 0.0), c.get("max_value", 1.0)) + (1 - rate) * norms
        else:
            raise ValueError(f"unknown Keras constraint {self.kind!r}")
        return w * (desired / (CONSTRAINT_EPSILON + norms))


def keras_constraint_get(identifier):
    """keras.constraints.get: None, a callable (kept) or a registered name ("max_norm",
    "MaxNorm", "non_neg", "unit_norm", "min_max_norm"...) with that class's defaults."""
    if identifier is None or callable(identifier):
        return identifier
    kind = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", identifier).lower()
    if kind in ("max_norm", "non_neg", "unit_norm", "min_max_norm"):
        return KerasConstraint(kind)
    raise ValueError(f"unknown Keras constraint {identifier!r}")


class KerasRNNCell(nn.modules.lazy.LazyModuleMixin, nn.Module):
    """keras.layers.LSTMCell / GRUCell / SimpleRNNCell (``kind`` "lstm", "gru", "simple_rnn") with
    Keras' call convention, ``cell(inputs, states) -> (output, new_states)``, and Keras' formulas
    and weights: ``kernel`` (in, gates * units), ``recurrent_kernel`` (units, gates * units),
    ``bias`` (gates * units,), or (2, 3 * units) for a GRU with reset_after (input and
    recurrent biases), gates in Keras' order (i, f, c, o; z, r, h). Created on the first call."""

    cls_to_become = None
    GATES = {"lstm": 4, "gru": 3, "simple_rnn": 1}

    def __init__(
        self,
        kind,
        units,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        unit_forget_bias=True,
        reset_after=True,
    ):
        super().__init__()
        self.kind, self.units, self.use_bias = kind, units, use_bias
        self.reset_after = reset_after and kind == "gru"
        self.unit_forget_bias = unit_forget_bias and kind == "lstm"
        self.initializers = (kernel_initializer, recurrent_initializer, bias_initializer)
        self.activation = KerasActivation(activation)
        self.recurrent_activation = KerasActivation(recurrent_activation)
        self.state_size = [units, units] if kind == "lstm" else units
        self.kernel = nn.parameter.UninitializedParameter()
        self.recurrent_kernel = nn.parameter.UninitializedParameter()
        self.bias = nn.parameter.UninitializedParameter() if use_bias else None

    def get_initial_state(self, batch_size=None):
        return [torch.zeros(batch_size, self.units) for _ in range(2 if self.kind == "lstm" else 1)]

    def initialize_parameters(self, inputs, states=None, training=None):
        if not self.has_uninitialized_params():
            return
        width = self.GATES[self.kind] * self.units
        kernel_init, recurrent_init, bias_init = self.initializers
        with torch.no_grad():
            self.kernel.materialize((inputs.shape[-1], width))
            self.kernel.copy_(keras_initializer(kernel_init, (inputs.shape[-1], width)))
            self.recurrent_kernel.materialize((self.units, width))
            self.recurrent_kernel.copy_(keras_initializer(recurrent_init, (self.units, width)))
            if self.bias is not None:
                shape = (2, width) if self.reset_after else (width,)
                self.bias.materialize(shape)
                self.bias.copy_(keras_initializer(bias_init, shape))
                if self.unit_forget_bias:  # Keras' forget-gate bias starts at 1
                    self.bias[self.units : 2 * self.units] = 1.0

    def forward(self, inputs, states, training=None):
        nested = isinstance(states, (list, tuple))
        h = states[0] if nested else states
        u = self.units
        if self.kind == "simple_rnn":
            out = inputs @ self.kernel + (self.bias if self.bias is not None else 0) + h @ self.recurrent_kernel
            out = self.activation(out)
            return out, [out] if nested else out
        if self.kind == "lstm":
            z = inputs @ self.kernel + h @ self.recurrent_kernel
            if self.bias is not None:
                z = z + self.bias
            i, f, c_hat, o = z.split(u, dim=-1)
            c = self.recurrent_activation(f) * states[1] + self.recurrent_activation(i) * self.activation(c_hat)
            h = self.recurrent_activation(o) * self.activation(c)
            return h, [h, c]
        input_bias, recurrent_bias = (
            (self.bias[0], self.bias[1]) if self.reset_after and self.bias is not None else (self.bias, None)
        )
        x = inputs @ self.kernel + (input_bias if input_bias is not None else 0)
        x_z, x_r, x_h = x.split(u, dim=-1)
        if self.reset_after:
            inner = h @ self.recurrent_kernel + (recurrent_bias if recurrent_bias is not None else 0)
        else:
            inner = h @ self.recurrent_kernel[:, : 2 * u]
        z = self.recurrent_activation(x_z + inner[:, :u])
        r = self.recurrent_activation(x_r + inner[:, u : 2 * u])
        recurrent_h = r * inner[:, 2 * u :] if self.reset_after else (r * h) @ self.recurrent_kernel[:, 2 * u :]
        h = z * h + (1 - z) * self.activation(x_h + recurrent_h)
        return h, [h] if nested else h


def _initial_state(cell, batch_size):
    """Keras' RNN.get_initial_state: the cell's own, else zeros of its state_size(s)."""
    if hasattr(cell, "get_initial_state"):
        return cell.get_initial_state(batch_size=batch_size)
    sizes = cell.state_size if isinstance(cell.state_size, (list, tuple)) else [cell.state_size]
    return [torch.zeros(batch_size, d) for d in sizes]


class KerasStackedRNNCells(nn.Module):
    """keras.layers.StackedRNNCells(cells): the cells applied in turn at each step, each with its
    own states (Keras' nesting: one state per cell, a list where the cell has several)."""

    def __init__(self, cells):
        super().__init__()
        self.cells = nn.ModuleList(cells)
        self.state_size = [cell.state_size for cell in cells]

    def get_initial_state(self, batch_size=None):
        return [_initial_state(cell, batch_size) for cell in self.cells]

    def forward(self, inputs, states, training=None):
        new_states = []
        for cell, state in zip(self.cells, states):
            is_list = isinstance(state, (list, tuple))
            inputs, state = cell(inputs, list(state) if is_list else [state])
            state = list(state) if isinstance(state, (list, tuple)) else [state]
            new_states.append(state[0] if len(state) == 1 and not is_list else state)
        return inputs, new_states[0] if len(new_states) == 1 else new_states


class KerasRNN(nn.Module):
    """keras.layers.RNN(cell): the cell (a list of cells: stacked) run over the time axis 1 of a
    (N, T, F) input, from its initial state (zeros unless initial_state is given); the last
    output or, with return_sequences, every step's (in processing order: reversed with
    go_backwards, as Keras); with return_state, the final states after the output."""

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False):
        super().__init__()
        self.cell = KerasStackedRNNCells(cell) if isinstance(cell, (list, tuple)) else cell
        self.return_sequences, self.return_state, self.go_backwards = return_sequences, return_state, go_backwards

    def forward(self, sequences, initial_state=None, mask=None, training=None):
        if mask is not None:
            raise NotImplementedError("a mask for keras.layers.RNN is not translated")
        states = _initial_state(self.cell, sequences.shape[0]) if initial_state is None else initial_state
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        steps = range(sequences.shape[1] - 1, -1, -1) if self.go_backwards else range(sequences.shape[1])
        outputs = []
        for t in steps:
            output, states = self.cell(sequences[:, t], states)
            states = list(states) if isinstance(states, (list, tuple)) else [states]
            outputs.append(output)
        output = torch.stack(outputs, dim=1) if self.return_sequences else outputs[-1]
        return (output, *states) if self.return_state else output


_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


class KerasConvLSTM(nn.modules.lazy.LazyModuleMixin, nn.Module):
    """keras.layers.ConvLSTM1D/2D/3D (``rank``): an LSTM whose products are convolutions, run over
    axis 1 of (N, T, *spatial, C) (channels_last) or (N, T, C, *spatial). Keras' ConvLSTMCell:
    gates i, f, c, o from conv(x, kernel) + bias + conv(h, recurrent_kernel) (stride 1, "same"),
    c = f * c + i * act(c_hat), h = o * act(c); Keras' weights ``kernel`` (*k, in, 4 * filters),
    ``recurrent_kernel`` (*k, filters, 4 * filters), ``bias`` (4 * filters,), created on the first
    call. Outputs as keras.layers.RNN: the last h or every step's, then with return_state h and c."""

    cls_to_become = None

    def __init__(
        self,
        rank,
        filters,
        kernel_size,
        strides=1,
        padding="valid",
        data_format=None,
        dilation_rate=1,
        activation="tanh",
        recurrent_activation="sigmoid",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        unit_forget_bias=True,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
    ):
        super().__init__()
        self.rank, self.filters = rank, filters
        self.kernel_size = keras_tuple(kernel_size, rank)
        self.strides = keras_tuple(strides, rank)
        self.dilation_rate = keras_tuple(dilation_rate, rank)
        self.padding = padding.lower()
        self.channels_first = data_format == "channels_first"
        self.activation = KerasActivation(activation)
        self.recurrent_activation = KerasActivation(recurrent_activation)
        self.initializers = (kernel_initializer, recurrent_initializer, bias_initializer)
        self.unit_forget_bias = unit_forget_bias
        self.return_sequences, self.return_state, self.go_backwards = return_sequences, return_state, go_backwards
        self.kernel = nn.parameter.UninitializedParameter()
        self.recurrent_kernel = nn.parameter.UninitializedParameter()
        self.bias = nn.parameter.UninitializedParameter() if use_bias else None

    def initialize_parameters(self, sequences, initial_state=None, training=None):
        if not self.has_uninitialized_params():
            return
        channels = sequences.shape[2 if self.channels_first else -1]
        width = 4 * self.filters
        kernel_init, recurrent_init, bias_init = self.initializers
        with torch.no_grad():
            shape = (*self.kernel_size, channels, width)
            self.kernel.materialize(shape)
            self.kernel.copy_(keras_initializer(kernel_init, shape))
            shape = (*self.kernel_size, self.filters, width)
            self.recurrent_kernel.materialize(shape)
            self.recurrent_kernel.copy_(keras_initializer(recurrent_init, shape))
            if self.bias is not None:
                self.bias.materialize((width,))
                self.bias.copy_(keras_initializer(bias_init, (width,)))
                if self.unit_forget_bias:  # Keras' forget-gate bias starts at 1
                    self.bias[self.filters : 2 * self.filters] = 1.0

    def _conv(self, x, kernel, strides, dilation, padding):
        """Keras' ops.conv on a channels-first tensor with a Keras-shaped kernel (*k, in, out)."""
        weight = kernel.permute(self.rank + 1, self.rank, *range(self.rank))
        if padding == "same":
            x = F.pad(x, keras_same_pads(x.shape[2:], self.kernel_size, strides, dilation))
        return _CONV[self.rank](x, weight, stride=strides, dilation=dilation)

    def forward(self, sequences, initial_state=None, mask=None, training=None):
        if mask is not None:
            raise NotImplementedError("a mask for a ConvLSTM layer is not translated")
        x = sequences if self.channels_first else sequences.movedim(-1, 2)  # (N, T, C, *spatial)
        steps = range(x.shape[1] - 1, -1, -1) if self.go_backwards else range(x.shape[1])
        inputs = [self._conv(x[:, t], self.kernel, self.strides, self.dilation_rate, self.padding) for t in steps]
        if self.bias is not None:
            inputs = [z + self.bias.view(-1, *(1,) * self.rank) for z in inputs]
        if initial_state is None:
            h = c = inputs[0].new_zeros(inputs[0].shape[0], self.filters, *inputs[0].shape[2:])
        else:
            h, c = (s if self.channels_first else s.movedim(-1, 1) for s in initial_state)
        outputs = []
        ones = (1,) * self.rank
        for z in inputs:
            i, f, c_hat, o = (z + self._conv(h, self.recurrent_kernel, ones, ones, "same")).split(self.filters, dim=1)
            c = self.recurrent_activation(f) * c + self.recurrent_activation(i) * self.activation(c_hat)
            h = self.recurrent_activation(o) * self.activation(c)
            outputs.append(h)
        output = torch.stack(outputs, dim=1) if self.return_sequences else outputs[-1]
        if not self.channels_first:  # back to Keras' channels-last order
            output = output.movedim(2 if self.return_sequences else 1, -1)
            h, c = h.movedim(1, -1), c.movedim(1, -1)
        return (output, h, c) if self.return_state else output


def keras_rgb_to_hsv(images):
    """Keras' rgb_to_hsv (backend/torch/image.py, after dm_pix) on channels-last floats in [0, 1]."""
    eps = torch.finfo(images.dtype).eps
    images = torch.where(images.abs() < eps, torch.zeros_like(images), images)
    r, g, b = images.unbind(-1)
    value = torch.maximum(torch.maximum(r, g), b)
    range_ = value - torch.minimum(torch.minimum(r, g), b)
    saturation = torch.where(value > 0, range_ / torch.where(value > 0, value, 1.0), 0.0)
    norm = 1.0 / (6.0 * torch.where(range_ > 0, range_, 1.0))
    hue = torch.where(value == g, norm * (b - r) + 2.0 / 6.0, norm * (r - g) + 4.0 / 6.0)
    hue = torch.where(value == r, norm * (g - b), hue)
    hue = torch.where(range_ > 0, hue, 0.0) + (hue < 0.0).to(hue.dtype)
    return torch.stack([hue, saturation, value], dim=-1)


def keras_hsv_to_rgb(images):
    """Keras' hsv_to_rgb (backend/torch/image.py) on channels-last HSV images."""
    hue, saturation, value = images.unbind(-1)
    dh = torch.remainder(hue, 1.0) * 6.0
    dr = torch.clip((dh - 3.0).abs() - 1.0, 0.0, 1.0)
    dg = torch.clip(2.0 - (dh - 2.0).abs(), 0.0, 1.0)
    db = torch.clip(2.0 - (dh - 4.0).abs(), 0.0, 1.0)
    one_minus_s = 1.0 - saturation
    return torch.stack([value * (one_minus_s + saturation * d) for d in (dr, dg, db)], dim=-1)


class KerasRandomHue(nn.Module):
    """keras.layers.RandomHue(factor, value_range) on channels-last RGB images: unchanged in
    inference; in training each image's hue (on the 0..1 scale of value_range) turns by
    +-f / 2, f uniform in Keras' factor range (bounds (0, 1)), the sign drawn with probability
    1/2, wrapped to [0, 1], clipped, scaled back. torch's generator."""

    def __init__(self, factor, value_range=(0, 255)):
        super().__init__()
        self.factor = keras_factor_range(factor, (0, 1))
        self.value_range = tuple(value_range)

    def forward(self, x):
        if not self.training:
            return x
        batch = x.shape[0] if x.dim() == 4 else 1
        sign = torch.where(torch.rand(batch) > 0.5, -1.0, 1.0)
        low, high = self.factor
        shift = (sign * (torch.rand(batch) * (high - low) + low) * 0.5).view(-1, *(1,) * (x.dim() - 2))
        low, high = self.value_range
        images = keras_rgb_to_hsv((x.float() - low) / (high - low))
        hue = images[..., 0] + shift
        hue = torch.where(hue > 1.0, hue - 1.0, hue)
        hue = torch.where(hue < 0.0, hue + 1.0, hue)
        images = torch.clip(keras_hsv_to_rgb(torch.stack([hue, images[..., 1], images[..., 2]], dim=-1)), 0, 1)
        return images * (high - low) + low


class KerasRandomSaturation(nn.Module):
    """keras.layers.RandomSaturation(factor, value_range) on channels-last RGB images: unchanged in
    inference; in training each image's HSV saturation times f / (1 - f + 1e-7), f uniform in
    Keras' factor range (bounds (-1, 1)), clipped to value_range (as Keras does, on the
    saturation itself). torch's generator."""

    def __init__(self, factor, value_range=(0, 255)):
        super().__init__()
        self.factor = keras_factor_range(factor, (-1, 1))
        self.value_range = tuple(sorted(value_range))

    def forward(self, x):
        if not self.training:
            return x
        batch = x.shape[0] if x.dim() == 4 else 1
        low, high = self.factor
        f = torch.rand(batch) * (high - low) + low
        f = (f / (1 - f + 1e-7)).view(-1, *(1,) * (x.dim() - 2))
        images = keras_rgb_to_hsv(x.float())
        s = torch.clip(images[..., 1] * f, self.value_range[0], self.value_range[1])
        return keras_hsv_to_rgb(torch.stack([images[..., 0], s, images[..., 2]], dim=-1))


class KerasRandomColorJitter(nn.Module):
    """keras.layers.RandomColorJitter: in training, Keras' RandomBrightness, RandomContrast,
    RandomSaturation and RandomHue in that order, each where its factor is given; unchanged in
    inference."""

    def __init__(
        self,
        value_range=(0, 255),
        brightness_factor=None,
        contrast_factor=None,
        saturation_factor=None,
        hue_factor=None,
    ):
        super().__init__()
        steps = [
            (brightness_factor, KerasRandomBrightness),
            (contrast_factor, KerasRandomContrast),
            (saturation_factor, KerasRandomSaturation),
            (hue_factor, KerasRandomHue),
        ]
        self.steps = nn.ModuleList(kind(f, value_range=value_range) for f, kind in steps if f is not None)

    def forward(self, x):
        if not self.training:
            return x
        x = x.float()
        for step in self.steps:
            x = step(x)
        return x


class KerasRandomGaussianBlur(nn.Module):
    """keras.layers.RandomGaussianBlur on channels-last images: unchanged in inference; in
    training each image is blurred with probability p (p uniform in Keras' factor range, bounds
    (0, 1)) by a Gaussian kernel of kernel_size with (sigma_x, sigma_y) drawn once per batch in
    the sigma range (+1e-6), TensorFlow's depthwise convolution with zero "same" padding, then
    clipped to value_range. torch's generator."""

    def __init__(self, factor=1.0, kernel_size=3, sigma=1.0, value_range=(0, 255)):
        super().__init__()
        self.factor = keras_factor_range(factor, (0, 1))
        self.kernel_size = tuple(kernel_size) if isinstance(kernel_size, (tuple, list)) else (kernel_size,) * 2
        if any(k % 2 == 0 for k in self.kernel_size):
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        self.sigma = keras_factor_range(sigma, (0, 1))
        self.value_range = tuple(value_range)

    def forward(self, x):
        if not self.training:
            return x
        single = x.dim() == 3
        x = x.float().unsqueeze(0) if single else x.float()
        batch, channels = x.shape[0], x.shape[-1]
        low, high = self.factor
        apply = torch.rand(batch) < torch.rand(batch) * (high - low) + low
        sigma = torch.rand(2) * (self.sigma[1] - self.sigma[0]) + self.sigma[0] + 1e-6

        def gaussian(size, s):
            g = torch.exp(-0.5 * ((torch.arange(size, dtype=torch.float32) - (size - 1) / 2) / s) ** 2)
            return g / g.sum()

        kh, kw = self.kernel_size
        kernel = torch.outer(gaussian(kw, sigma[1]), gaussian(kh, sigma[0])).reshape(1, 1, kh, kw)
        blurred = F.conv2d(
            x.permute(0, 3, 1, 2), kernel.expand(channels, 1, kh, kw), padding=(kh // 2, kw // 2), groups=channels
        ).permute(0, 2, 3, 1)
        out = torch.clip(torch.where(apply[:, None, None, None], blurred, x), *self.value_range)
        return out[0] if single else out


class KerasRandomErasing(nn.Module):
    """keras.layers.RandomErasing on channels-last images: unchanged in inference; in training,
    with probability p (uniform in Keras' factor range), each image gets one rectangle of
    sqrt(scale draw) times its width and height, at a uniform position, set to fill_value (a
    number, an RGB triple, or None: normal noise times value_range's top), clipped to
    value_range, as Keras draws them. torch's generator."""

    def __init__(self, factor=1.0, scale=(0.02, 0.33), fill_value=None, value_range=(0, 255)):
        super().__init__()
        self.factor = keras_factor_range(factor, (0, 1))
        self.scale = keras_factor_range(scale, (0, 1))
        self.fill_value, self.value_range = fill_value, tuple(value_range)

    def forward(self, x):
        if not self.training:
            return x
        single = x.dim() == 3
        x = x.float().unsqueeze(0) if single else x.float()
        batch, height, width = x.shape[:3]
        low, high = self.scale
        ratio = torch.sqrt(torch.rand(batch, 2) * (high - low) + low)

        def bounds(length, r):
            start = torch.rand(batch) * (length - r * length)
            return start[:, None, None, None], (start + r * length)[:, None, None, None]

        x0, x1 = bounds(width, ratio[:, 0])
        y0, y1 = bounds(height, ratio[:, 1])
        grid_y = torch.arange(height, dtype=torch.float32)[None, :, None, None]
        grid_x = torch.arange(width, dtype=torch.float32)[None, None, :, None]
        box = (grid_x >= x0) & (grid_x < x1) & (grid_y >= y0) & (grid_y < y1)
        low, high = self.factor
        apply = torch.rand(batch) < torch.rand(batch) * (high - low) + low
        if self.fill_value is None:
            fill = torch.randn(x.shape) * self.value_range[1]
        else:
            fill = torch.ones_like(x) * torch.as_tensor(self.fill_value, dtype=torch.float32)
        fill = torch.clip(fill, *self.value_range)
        out = torch.where(apply[:, None, None, None] & box, fill, x)
        return out[0] if single else out


def _mix_batch(data, mix):
    """Keras' batch-mixing layers take images or a dict with "images" (and "labels"):
    ``mix(images) -> (images, weight (N,), permutation)``; labels mix with the same draw."""
    images = data["images"] if isinstance(data, dict) else data
    images, weight, order = mix(images.float())
    if not isinstance(data, dict):
        return images
    out = dict(data, images=images)
    if "labels" in data:
        labels = data["labels"].float()
        weight = weight.reshape(-1, *(1,) * (labels.dim() - 1))
        out["labels"] = weight * labels + (1.0 - weight) * labels[order]
    return out


class KerasMixUp(nn.Module):
    """keras.layers.MixUp(alpha) on channels-last image batches (or {"images", "labels"}):
    unchanged in inference; in training each image becomes w * x + (1 - w) * x[perm] with
    w ~ Beta(alpha, alpha) per image and one random permutation of the batch (labels alike).
    torch's generator."""

    def __init__(self, alpha=0.2):
        super().__init__()
        self.alpha = alpha

    def forward(self, data):
        if not self.training:
            return data
        return _mix_batch(data, self._mix)

    def _mix(self, images):
        batch = images.shape[0] if images.dim() == 4 else 1
        order = torch.randperm(batch)
        weight = torch.distributions.Beta(float(self.alpha), float(self.alpha)).sample((batch,))
        w = weight.reshape(-1, 1, 1, 1) if images.dim() == 4 else weight.reshape(1, 1, 1)
        mixed = images[order] if images.dim() == 4 else images
        return w * images + (1.0 - w) * mixed, weight, order


class KerasCutMix(nn.Module):
    """keras.layers.CutMix(factor) on channels-last image batches (or {"images", "labels"}):
    unchanged in inference (and for a single image); in training a rectangle of each image
    (sides sqrt(1 - w) times the image's, w ~ Beta(a, a), a uniform in Keras' factor range,
    at a uniform position) is taken from another image of one random permutation; labels mix
    by the area kept. torch's generator."""

    def __init__(self, factor=1.0):
        super().__init__()
        self.factor = keras_factor_range(factor, (0, 1))

    def forward(self, data):
        images = data["images"] if isinstance(data, dict) else data
        if not self.training or images.dim() != 4:
            return data
        return _mix_batch(data, self._mix)

    def _mix(self, images):
        batch, height, width = images.shape[:3]
        low, high = self.factor
        alpha = float(torch.rand(()) * (high - low) + low + 1e-6)
        ratio = torch.sqrt(1.0 - torch.distributions.Beta(alpha, alpha).sample((batch,)))

        def bounds(length):
            start = torch.rand(batch) * (length - ratio * length)
            return start[:, None, None, None], (start + ratio * length)[:, None, None, None]

        x0, x1 = bounds(width)
        y0, y1 = bounds(height)
        grid_y = torch.arange(height, dtype=torch.float32)[None, :, None, None]
        grid_x = torch.arange(width, dtype=torch.float32)[None, None, :, None]
        box = (grid_x >= x0) & (grid_x < x1) & (grid_y >= y0) & (grid_y < y1)
        weight = (1.0 - (x1 - x0) * (y1 - y0) / (width * height)).reshape(-1)
        order = torch.randperm(batch)
        return torch.where(box, images[order], images), weight, order


class KerasEqualization(nn.Module):
    """keras.layers.Equalization(value_range, bins) on channels-last images: unchanged in
    inference; in training each channel, over the whole batch, is histogram-equalized as Keras
    does it: values on the 0..255 scale in ``bins`` fixed-width bins, the lookup table
    round((cdf - cdf_min) * 255 / (cdf[-1] - cdf_min)) clipped to 0..255 (a channel with one
    occupied bin is kept), then scaled back to value_range."""

    def __init__(self, value_range=(0, 255), bins=256):
        super().__init__()
        self.value_range, self.bins = tuple(sorted(value_range)), bins

    def _equalize(self, channel):
        bins = self.bins
        indices = ((channel * (bins - 1) / 255.0).to(torch.int32)).clip(0, bins - 1)
        hist = torch.bincount(indices.reshape(-1).long(), minlength=bins)
        if torch.count_nonzero(hist) <= 1:
            return channel
        cdf = torch.cumsum(hist, 0)
        cdf_min = cdf[torch.nonzero(cdf)[0, 0]]
        denominator = cdf[-1] - cdf_min
        denominator = torch.where(denominator == 0, torch.ones_like(denominator), denominator)
        table = torch.clip(torch.round((cdf - cdf_min) * 255 / denominator), 0, 255).float()
        lookup = torch.clip(channel / 255.0 * (bins - 1), 0, bins - 1).to(torch.int32)
        return table[lookup.long()]

    def forward(self, x):
        if not self.training:
            return x
        low, high = self.value_range
        x = (x.float() - low) * (255.0 / (high - low))
        out = torch.stack([self._equalize(x[..., i]) for i in range(x.shape[-1])], dim=-1)
        return out * ((high - low) / 255.0) + low


def _keras_unit_vector(x):
    """Keras' ops.normalize(x, axis=None): x * min(rsqrt(sum(x^2)), 1 / epsilon)."""
    return x * torch.clamp(torch.rsqrt((x * x).sum()), max=1.0 / CONSTRAINT_EPSILON)


class KerasSpectralNormalization(nn.Module):
    """keras.layers.SpectralNormalization(layer, power_iterations): calls the (translated) layer;
    in training first divides its kernel, in place as Keras assigns it, by the spectral norm
    estimated by power iteration from ``vector_u`` (a buffer (1, out), Keras' truncated normal
    0.02 start, updated each training call). The kernel is Keras' (*, out) matrix: a torch
    Linear / Conv weight (out, ...) read as its transpose, an Embedding's (num, dim) or a support
    layer's Keras-shaped ``kernel`` as they are (the estimate does not depend on the row order)."""

    def __init__(self, layer, power_iterations=1):
        super().__init__()
        if power_iterations <= 0:
            raise ValueError(f"`power_iterations` should be greater than zero, got {power_iterations}")
        self.layer, self.power_iterations = layer, power_iterations
        self.register_buffer("vector_u", None)

    def _kernel(self):
        layer = getattr(self.layer, "module", self.layer)  # ChannelsLast(conv)
        for name, keras_order in (("kernel", True), ("embeddings", True), ("weight", False)):
            weight = getattr(layer, name, None)
            if isinstance(weight, torch.Tensor):
                return weight, keras_order or isinstance(layer, nn.Embedding)
        raise ValueError(f"{type(layer).__name__} object has no attribute 'kernel' nor 'embeddings'")

    def forward(self, inputs, *args, **kwargs):
        kernel, keras_order = self._kernel()
        if isinstance(kernel, nn.parameter.UninitializedParameter):
            with torch.no_grad():
                self.layer(inputs, *args, **kwargs)  # a lazy layer creates its kernel
            kernel, keras_order = self._kernel()
        out = kernel.shape[-1] if keras_order else kernel.shape[0]
        if self.vector_u is None:
            self.vector_u = nn.init.trunc_normal_(torch.empty(1, out), 0.0, 0.02, -0.04, 0.04)
        if self.training and bool(torch.any(kernel != 0)):
            with torch.no_grad():
                weights = kernel.reshape(-1, out) if keras_order else kernel.reshape(out, -1).T
                u = self.vector_u
                for _ in range(self.power_iterations):
                    v = _keras_unit_vector(u @ weights.T)
                    u = _keras_unit_vector(v @ weights)
                sigma = v @ weights @ u.T
                self.vector_u.copy_(u)
                kernel.copy_(kernel / sigma)
        return self.layer(inputs, *args, **kwargs)


class KerasWrapper(nn.Module):
    """keras.layers.Wrapper, the base class of user wrapper layers: an nn.Module holding the
    wrapped ``layer``; Keras' other constructor arguments (name=, dtype=...) mean nothing here.
    Like Keras' Wrapper it has no forward of its own: a subclass defines it."""

    def __init__(self, layer, **kwargs):
        super().__init__()
        self.layer = layer

    def build(self, input_shape=None):
        """Keras' Wrapper.build builds the wrapped layer; torch modules need no build."""


def keras_homography(start_points, end_points):
    """Keras' compute_homography_matrix: the (N, 8) projective transform taking each of the 4
    ``end_points`` (N, 4, 2) (x, y) to its ``start_points`` one (the output -> input map)."""
    rows, target = [], []
    for i in range(4):
        (sx, sy), (ex, ey) = start_points[:, i].unbind(-1), end_points[:, i].unbind(-1)
        one, zero = torch.ones_like(ex), torch.zeros_like(ex)
        rows.append(torch.stack([ex, ey, one, zero, zero, zero, -sx * ex, -sx * ey], dim=-1))
        rows.append(torch.stack([zero, zero, zero, ex, ey, one, -sy * ex, -sy * ey], dim=-1))
        target += [sx, sy]
    return torch.linalg.solve(torch.stack(rows, dim=1), torch.stack(target, dim=-1)[..., None])[..., 0]


class KerasRandomPerspective(nn.Module):
    """keras.layers.RandomPerspective on channels-last images: unchanged in inference; in
    training, with probability p (uniform in Keras' factor range), each image's corners move by
    a uniform fraction in [-scale / 2, scale / 2] of their coordinates and the image is warped by
    the homography (Keras' solve, TensorFlow's projective sampling with fill_value).
    torch's generator."""

    def __init__(self, factor=1.0, scale=1.0, interpolation="bilinear", fill_value=0.0):
        super().__init__()
        if not 0.0 <= scale <= 1.0:
            raise ValueError(f"scale must be in [0, 1], got {scale}")
        if interpolation not in ("nearest", "bilinear"):
            raise ValueError(f"interpolation must be 'nearest' or 'bilinear', got {interpolation!r}")
        self.factor = keras_factor_range(factor, (0, 1))
        self.scale, self.interpolation, self.fill_value = scale, interpolation, fill_value

    def forward(self, x):
        if not self.training:
            return x
        single = x.dim() == 3
        x = x.float().unsqueeze(0) if single else x.float()
        batch, height, width = x.shape[:3]
        low, high = self.factor
        apply = torch.rand(batch) < torch.rand(batch) * (high - low) + low
        moves = (torch.rand(batch, 4, 2) - 0.5) * self.scale
        corners = [[0.0, 0.0], [width - 1, 0.0], [0.0, height - 1], [width - 1, height - 1]]
        start = torch.tensor([corners], dtype=torch.float32).repeat(batch, 1, 1)
        transform = keras_homography(start, start + start * moves)
        warped = keras_affine_transform(x, transform, self.interpolation, "constant", self.fill_value)
        out = torch.where(apply[:, None, None, None], warped, x)
        return out[0] if single else out
