"""Support code for translated Keras models (Keras -> PyTorch): normalization layers.

Keras normalization layers normalize over an ``axis`` of a tensor of any rank and create their
weights when first called; these modules do the same (torch's lazy-module mechanism: the
parameters exist after the first forward pass, or after load_state_dict). Weights keep Keras'
shapes and torch's names (``weight`` = gamma / scale, ``bias`` = beta).
"""

import torch
import torch.nn.functional as F
from torch import nn


def keras_norm_axes(axis, ndim):
    """``axis`` (an int or a list of ints, negative allowed) as sorted non-negative axes."""
    axes = [axis] if isinstance(axis, int) else list(axis)
    return sorted(a % ndim for a in axes)


def keras_weight_shape(axis, shape):
    """The shape of a Keras normalization weight over ``axis``: the input's sizes on those axes
    (in Keras' order: the axis values as given, sorted)."""
    axes = [axis] if isinstance(axis, int) else sorted(axis)
    return tuple(int(shape[a]) for a in axes)


def keras_norm_parameter(num_features, value):
    """A normalization weight of ``num_features`` elements filled with ``value``, or an
    uninitialized (lazy) one when the size is not known before the first call."""
    if num_features is None:
        return nn.UninitializedParameter()
    return nn.Parameter(torch.full((num_features,), float(value)))


class KerasBatchNormalization(nn.modules.lazy.LazyModuleMixin, nn.Module):
    """keras.layers.BatchNormalization over ``axis`` of an input of any rank (statistics over
    every other axis); ``num_features`` (the size of that axis) creates the weights now, else
    on the first call. The translation uses it only where nn.BatchNorm1d/2d/3d cannot stand in:
    the input's rank unknown, the normalized axis not torch's channel axis 1 (a sequence (N, L, C)
    normalized on its last axis), center != scale (torch's ``affine`` is both or neither), or a
    builder passing ``training=`` (a native module takes no such argument). ``momentum`` is Keras' (the weight of the old moving value: torch's
    momentum is 1 - momentum). In training, the moving variance is updated with the biased
    batch variance, as Keras does (torch's BatchNorm uses the unbiased one). A ``training``
    argument (Keras' call argument) overrides the module's mode: training=False uses the moving
    statistics even while the model trains, as in Keras."""

    def __init__(self, num_features=None, axis=-1, momentum=0.99, eps=1e-3, center=True, scale=True):
        super().__init__()
        self.axis, self.momentum, self.eps = axis, momentum, eps
        self.weight = keras_norm_parameter(num_features, 1.0) if scale else None
        self.bias = keras_norm_parameter(num_features, 0.0) if center else None
        self.register_buffer(
            "running_mean", nn.UninitializedBuffer() if num_features is None else torch.zeros(num_features)
        )
        self.register_buffer(
            "running_var", nn.UninitializedBuffer() if num_features is None else torch.ones(num_features)
        )

    def initialize_parameters(self, x, training=None):  # (the lazy hook passes forward's arguments)
        if self.has_uninitialized_params():
            size = (int(x.shape[self.axis]),)
            with torch.no_grad():
                for name, value in (("weight", 1.0), ("bias", 0.0), ("running_mean", 0.0), ("running_var", 1.0)):
                    tensor = getattr(self, name)
                    if tensor is not None:
                        tensor.materialize(size, dtype=x.dtype, device=x.device)
                        tensor.fill_(value)

    def forward(self, x, training=None):
        axis = self.axis % x.dim()
        xc = x.movedim(axis, 1)  # channels at axis 1, as F.batch_norm wants
        if self.training if training is None else training:
            dims = [d for d in range(xc.dim()) if d != 1]
            with torch.no_grad():
                mean = xc.mean(dims)
                var = xc.var(dims, unbiased=False)
                self.running_mean.mul_(self.momentum).add_(mean, alpha=1 - self.momentum)
                self.running_var.mul_(self.momentum).add_(var, alpha=1 - self.momentum)
            y = F.batch_norm(xc, None, None, self.weight, self.bias, True, 0.0, self.eps)
        else:
            y = F.batch_norm(xc, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)
        return y.movedim(1, axis)


class KerasLayerNormalization(nn.modules.lazy.LazyModuleMixin, nn.Module):
    """keras.layers.LayerNormalization: normalizes over ``axis`` (an int or a list), then scales
    by ``weight`` (gamma) and shifts by ``bias`` (beta), both shaped like the input on those
    axes. ``rms_scaling=True`` (deprecated in Keras) divides by sqrt(variance + eps) without
    centring and has no bias. ``num_features`` (an int ``axis``' size) creates the weights now."""

    def __init__(self, num_features=None, axis=-1, eps=1e-3, center=True, scale=True, rms_scaling=False):
        super().__init__()
        self.axis, self.eps, self.rms_scaling = axis, eps, rms_scaling
        self.weight = keras_norm_parameter(num_features, 1.0) if (scale or rms_scaling) else None
        self.bias = keras_norm_parameter(num_features, 0.0) if (center and not rms_scaling) else None

    def initialize_parameters(self, x):
        if self.has_uninitialized_params():
            shape = keras_weight_shape(self.axis, x.shape)
            with torch.no_grad():
                for name, value in (("weight", 1.0), ("bias", 0.0)):
                    tensor = getattr(self, name)
                    if tensor is not None:
                        tensor.materialize(shape, dtype=x.dtype, device=x.device)
                        tensor.fill_(value)

    def forward(self, x):
        axes = keras_norm_axes(self.axis, x.dim())
        trailing = axes == list(range(x.dim() - len(axes), x.dim()))
        shape = keras_weight_shape(self.axis, x.shape)
        if trailing and not self.rms_scaling and (self.weight is None or self.weight.shape == shape):
            return F.layer_norm(x, shape, self.weight, self.bias, self.eps)
        # Keras broadcasts its weights by reshaping them onto the normalized axes
        broadcast = [1] * x.dim()
        for a in axes:
            broadcast[a] = x.shape[a]
        var, mean = torch.var_mean(x, dim=axes, keepdim=True, unbiased=False)
        inv = torch.rsqrt(var + self.eps)
        if self.rms_scaling:
            return x * inv * self.weight.reshape(broadcast)
        if self.weight is not None:
            inv = inv * self.weight.reshape(broadcast)
        y = (x - mean) * inv
        return y if self.bias is None else y + self.bias.reshape(broadcast)


class KerasGroupNormalization(nn.modules.lazy.LazyModuleMixin, nn.Module):
    """keras.layers.GroupNormalization: the channels on ``axis`` (Keras' default: the last one)
    are split into ``groups``, each normalized over its channels and every non-batch axis.
    ``num_features`` (the number of channels) creates the weights now, else on the first call."""

    def __init__(self, num_features=None, groups=32, axis=-1, eps=1e-3, center=True, scale=True):
        super().__init__()
        self.groups, self.axis, self.eps = groups, axis, eps
        self.weight = keras_norm_parameter(num_features, 1.0) if scale else None
        self.bias = keras_norm_parameter(num_features, 0.0) if center else None

    def initialize_parameters(self, x):
        if self.has_uninitialized_params():
            size = (int(x.shape[self.axis]),)
            with torch.no_grad():
                for name, value in (("weight", 1.0), ("bias", 0.0)):
                    tensor = getattr(self, name)
                    if tensor is not None:
                        tensor.materialize(size, dtype=x.dtype, device=x.device)
                        tensor.fill_(value)

    def forward(self, x):
        axis = self.axis % x.dim()
        y = F.group_norm(x.movedim(axis, 1), self.groups, self.weight, self.bias, self.eps)
        return y.movedim(1, axis)


class KerasUnitNormalization(nn.Module):
    """keras.layers.UnitNormalization: x / ||x|| over ``axis`` (an int or a list), computed as
    Keras does: x * min(rsqrt(sum(x ** 2)), 1e12)."""

    def __init__(self, axis=-1):
        super().__init__()
        self.axis = axis

    def forward(self, x):
        dims = [self.axis] if isinstance(self.axis, int) else list(self.axis)
        inv = torch.rsqrt(torch.sum(x * x, dim=dims, keepdim=True))
        return x * torch.clamp(inv, max=1e12)


class KerasRMSNormalization(nn.modules.lazy.LazyModuleMixin, nn.Module):
    """keras.layers.RMSNormalization: x * rsqrt(mean(x ** 2) + eps) over ``axis``, times
    ``weight`` (Keras' scale, shaped like the input on those axes; ``num_features``, an int
    ``axis``' size, creates it now)."""

    def __init__(self, num_features=None, axis=-1, eps=1e-6):
        super().__init__()
        self.axis, self.eps = axis, eps
        self.weight = keras_norm_parameter(num_features, 1.0)

    def initialize_parameters(self, x):
        if self.has_uninitialized_params():
            self.weight.materialize(keras_weight_shape(self.axis, x.shape), dtype=x.dtype, device=x.device)
            with torch.no_grad():
                self.weight.fill_(1.0)

    def forward(self, x):
        axes = keras_norm_axes(self.axis, x.dim())
        if axes == list(range(x.dim() - len(axes), x.dim())) and self.weight.shape == keras_weight_shape(
            self.axis, x.shape
        ):
            return F.rms_norm(x, tuple(self.weight.shape), self.weight, self.eps)
        return x * torch.rsqrt(torch.mean(x * x, dim=axes, keepdim=True) + self.eps) * self.weight
