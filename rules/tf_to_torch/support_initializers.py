"""Support code for translated Keras models (Keras -> PyTorch): Keras initializer objects
(keras.initializers.*) and the Normalization layer whose statistics Keras keeps as weights.

An initializer object becomes a ``KerasInitializer``: called with a shape it returns a float32
torch tensor drawn from exactly the distribution Keras uses (same bounds, truncation, fan
computation), so ``keras_initializer(init, shape)`` (support_core.py, the translation of
add_weight) and any code calling ``init(shape)`` work unchanged. Seeds are not translated:
torch's global generator is used (``torch.manual_seed``).
"""

import math
import re

import torch
from torch import nn

from support_ops import keras_dtype


class KerasInitializer:
    """A Keras initializer: ``KerasInitializer("random_normal", mean=0.0, stddev=0.05)``;
    ``init(shape)`` gives the initial tensor. Kinds and their parameters (Keras' defaults):

    - "random_normal" (mean=0.0, stddev=0.05), "random_uniform" (minval=-0.05, maxval=0.05),
      "truncated_normal" (mean=0.0, stddev=0.05; values beyond two stddev redrawn);
    - "zeros", "ones", "constant" (value=0.0, broadcast to the shape), "identity" (gain=1.0,
      2-D), "orthogonal" (gain=1.0; Keras flattens all axes but the last);
    - "variance_scaling" (scale=1.0, mode="fan_in", distribution="truncated_normal",
      input_axes=None, output_axes=None) and its presets "glorot_uniform", "glorot_normal",
      "he_normal", "he_uniform", "lecun_normal", "lecun_uniform" (input_axes / output_axes
      as in Keras).
    """

    _PRESETS = {
        "glorot_uniform": (1.0, "fan_avg", "uniform"),
        "glorot_normal": (1.0, "fan_avg", "truncated_normal"),
        "he_normal": (2.0, "fan_in", "truncated_normal"),
        "he_uniform": (2.0, "fan_in", "uniform"),
        "lecun_normal": (1.0, "fan_in", "truncated_normal"),
        "lecun_uniform": (1.0, "fan_in", "uniform"),
    }

    def __init__(self, kind, **config):
        self.kind = kind
        self.config = config

    def __repr__(self):
        args = "".join(f", {k}={v!r}" for k, v in self.config.items())
        return f"KerasInitializer({self.kind!r}{args})"

    def __call__(self, shape, dtype=None):
        shape = tuple(int(s) for s in shape)
        c, kind = self.config, self.kind
        if kind == "zeros":
            out = torch.zeros(shape)
        elif kind == "ones":
            out = torch.ones(shape)
        elif kind == "constant":
            out = torch.as_tensor(c.get("value", 0.0), dtype=torch.float32) * torch.ones(shape)
        elif kind == "random_normal":
            out = torch.empty(shape).normal_(c.get("mean", 0.0), c.get("stddev", 0.05))
        elif kind == "random_uniform":
            out = torch.empty(shape).uniform_(c.get("minval", -0.05), c.get("maxval", 0.05))
        elif kind == "truncated_normal":
            mean, std = c.get("mean", 0.0), c.get("stddev", 0.05)
            out = nn.init.trunc_normal_(torch.empty(shape), mean, std, mean - 2 * std, mean + 2 * std)
        elif kind == "identity":
            if len(shape) != 2:
                raise ValueError(f"the identity initializer needs a 2-D shape, got {shape}")
            out = c.get("gain", 1.0) * torch.eye(*shape)
        elif kind == "orthogonal":
            out = _keras_orthogonal(shape, c.get("gain", 1.0))
        elif kind == "variance_scaling" or kind in self._PRESETS:
            scale, mode, distribution = self._PRESETS.get(
                kind, (c.get("scale", 1.0), c.get("mode", "fan_in"), c.get("distribution", "truncated_normal"))
            )
            out = _variance_scaling(shape, scale, mode, distribution, c.get("input_axes"), c.get("output_axes"))
        else:
            raise ValueError(f"unknown Keras initializer {kind!r}")
        return out if dtype is None else out.to(keras_dtype(dtype))


def keras_initializer_get(identifier):
    """keras.initializers.get: None, a callable (kept) or a registered name ("he_normal",
    "HeNormal", "uniform", "zeros"...) as a KerasInitializer with that class's defaults."""
    if identifier is None or callable(identifier):
        return identifier
    aliases = {"normal": "random_normal", "uniform": "random_uniform", "zero": "zeros", "one": "ones"}
    kind = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", identifier).lower()
    kind = aliases.get(kind, kind).replace("_initializer", "")
    known = (
        "random_normal",
        "random_uniform",
        "truncated_normal",
        "zeros",
        "ones",
        "identity",
    )  # Constant needs a value
    if kind in known + ("orthogonal", "variance_scaling") or kind in KerasInitializer._PRESETS:
        return KerasInitializer(kind)
    raise ValueError(f"unknown Keras initializer {identifier!r}")


def _fans(shape):
    """Keras' fan-in / fan-out: the last axis is the output, the one before the input, and the
    rest is the receptive field (kernels are (..., in, out) in Keras)."""
    if len(shape) < 1:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    receptive = math.prod(shape[:-2]) if len(shape) > 2 else 1
    return float(shape[-2] * receptive), float(shape[-1] * receptive)


def _variance_scaling(shape, scale, mode, distribution, input_axes=None, output_axes=None):
    """keras.initializers.VarianceScaling: n = fan_in, fan_out or their mean (at least 1);
    truncated normal with stddev sqrt(scale / n) / 0.8796... (the truncated distribution's
    stddev is then sqrt(scale / n)), untruncated normal with stddev sqrt(scale / n), or uniform
    in +-sqrt(3 * scale / n)."""
    if input_axes is not None and output_axes is not None:
        fan_in = float(math.prod(shape[a] for a in input_axes))
        fan_out = float(math.prod(shape[a] for a in output_axes))
    else:
        fan_in, fan_out = _fans(shape)
    if mode == "fan_in":
        scale /= max(1.0, fan_in)
    elif mode == "fan_out":
        scale /= max(1.0, fan_out)
    else:
        scale /= max(1.0, (fan_in + fan_out) / 2.0)
    distribution = distribution.lower()
    tensor = torch.empty(shape)
    if distribution in ("truncated_normal", "normal"):
        std = math.sqrt(scale) / 0.87962566103423978
        return nn.init.trunc_normal_(tensor, 0.0, std, -2 * std, 2 * std)
    if distribution == "untruncated_normal":
        return tensor.normal_(0.0, math.sqrt(scale))
    limit = math.sqrt(3.0 * scale)
    return tensor.uniform_(-limit, limit)


def _keras_orthogonal(shape, gain=1.0):
    """keras.initializers.Orthogonal: a (prod(shape[:-1]), shape[-1]) matrix with orthonormal
    columns (rows when there are fewer rows), from the QR decomposition of a normal sample with
    the signs of R's diagonal folded in, times ``gain``, reshaped to ``shape``."""
    if len(shape) < 2:
        raise ValueError(f"the orthogonal initializer needs at least 2 dimensions, got {shape}")
    rows, cols = math.prod(shape[:-1]), shape[-1]
    a = torch.randn(max(rows, cols), min(rows, cols))
    q, r = torch.linalg.qr(a)
    q = q * torch.sign(torch.diagonal(r))
    if rows < cols:
        q = q.T
    return gain * q.reshape(shape)


class KerasAdaptedNormalization(nn.Module):
    """keras.layers.Normalization(axis=...) without a given mean and variance: Keras keeps them
    as non-trainable weights (set by adapt() or loaded with the model's weights; mean 0 and
    variance 1 before that). Here they are the buffers ``mean`` and ``variance`` with the
    input's sizes on ``axis`` (Keras' shapes), created on the first call or by load_state_dict;
    the output is (x - mean) / max(sqrt(variance), 1e-7) (``invert``: x * max(...) + mean).
    Keras' integer ``count`` weight (adapt()'s bookkeeping, unused by call) has no counterpart."""

    def __init__(self, axis=-1, invert=False):
        super().__init__()
        self.axis = () if axis is None else (tuple(axis) if isinstance(axis, (tuple, list)) else (axis,))
        self.invert = invert
        self.register_buffer("mean", None)
        self.register_buffer("variance", None)

    def _keep(self, x):
        return sorted(a % x.dim() for a in self.axis)

    def forward(self, x):
        x = x.to(torch.float32)
        keep = self._keep(x)
        if self.mean is None:
            shape = tuple(x.shape[d] for d in keep)
            self.mean = torch.zeros(shape, device=x.device)
            self.variance = torch.ones(shape, device=x.device)
        broadcast = [x.shape[d] if d in keep else 1 for d in range(x.dim())]
        mean, variance = self.mean.reshape(broadcast), self.variance.reshape(broadcast)
        std = torch.clamp(torch.sqrt(variance), min=1e-7)
        return mean + x * std if self.invert else (x - mean) / std

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # the buffers may not exist yet (no call so far): take the checkpoint's
        for name in ("mean", "variance"):
            if getattr(self, name) is None and prefix + name in state_dict:
                setattr(self, name, torch.empty_like(state_dict[prefix + name]))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def keras_input_from_tensor(tensor):
    """keras.Input(tensor=...) (core.yaml) where the tensor is not None at run time: Keras wraps an
    existing tensor as the model's input, which a translated builder cannot do; it raises
    instead of silently building on a placeholder."""
    raise NotImplementedError(
        "keras.Input(tensor=...) is not translated: build the model from a shape "
        "(keras.Input(shape=...)) and call it on the tensor"
    )
