"""Support code for translated Keras models (Keras -> PyTorch): structure and layout.

A translation copies the definitions it uses into its output, so they are plain PyTorch and
need nothing else. Tensors keep Keras' layout (channels last) unless a comment in the
translated code says otherwise.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from support_initializers import _fans, _keras_orthogonal


class ChannelsLast(nn.Module):
    """Runs a channels-first torch module on a channels-last tensor (N, ..., C), as the Keras
    layer it replaces did. The layout pass avoids it where a run of layers can stay channels
    first; it remains where the translation cannot see how the layer is used."""

    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return self.module(x.movedim(-1, 1)).movedim(1, -1)


def build_layer(layer, *input_shapes):
    """Keras' ``layer.build(shape)``: runs the build() of a translated layer that has one and is
    not built yet; torch modules need no build (parameters exist, or Lazy ones appear on the first
    call)."""
    build = getattr(layer, "build", None)
    if callable(build) and not getattr(layer, "built", False):
        build(*input_shapes)
        layer.built = True


class KerasInputShape:
    """keras.Input as an element of a keras.Sequential list, in a file without functional
    models: it only declares the input's shape, and the Sequential drops it (without_inputs)."""

    def __init__(self, shape=None, batch_size=None, dtype=None, name=None):
        self.shape, self.batch_size, self.dtype, self.name = shape, batch_size, dtype, name


def without_inputs(layers):
    """The layers of a keras.Sequential list, less the keras.Input that only declared a shape."""
    kept = []
    for layer in layers:
        if isinstance(layer, KerasInputShape):
            continue
        if isinstance(layer, torch.Tensor):
            getattr(layer, "close_trace", lambda: None)()  # support_functional.KerasTensor
        else:
            kept.append(layer)
    return kept


def keras_initializer(initializer, shape):
    """A tensor of ``shape`` filled like the Keras initializer named ``initializer`` (None:
    Keras' default for weights, glorot_uniform), or made by an initializer callable
    (``KerasInitializer``, support_initializers.py, for keras.initializers objects)."""
    shape = tuple(int(s) for s in shape)
    tensor = torch.empty(shape)
    name = initializer if isinstance(initializer, str) or initializer is None else None
    if callable(initializer) and name is None:
        return torch.as_tensor(initializer(shape), dtype=torch.float32)
    name = (name or "glorot_uniform").lower()
    fan_in, fan_out = _fans(shape)
    if name == "zeros":
        return tensor.zero_()
    if name == "ones":
        return tensor.fill_(1.0)
    if name in ("random_normal", "randomnormal"):
        return tensor.normal_(0.0, 0.05)
    if name in ("random_uniform", "randomuniform"):
        return tensor.uniform_(-0.05, 0.05)
    if name in ("truncated_normal", "truncatednormal"):
        return nn.init.trunc_normal_(tensor, 0.0, 0.05, -0.1, 0.1)
    if name in ("glorot_uniform", "glorotuniform"):
        limit = math.sqrt(6.0 / max(1.0, fan_in + fan_out))
        return tensor.uniform_(-limit, limit)
    if name in ("glorot_normal", "glorotnormal"):
        std = math.sqrt(2.0 / max(1.0, fan_in + fan_out)) / 0.87962566103423978
        return nn.init.trunc_normal_(tensor, 0.0, std, -2 * std, 2 * std)
    if name in ("he_normal", "henormal"):
        std = math.sqrt(2.0 / max(1.0, fan_in)) / 0.87962566103423978
        return nn.init.trunc_normal_(tensor, 0.0, std, -2 * std, 2 * std)
    if name in ("he_uniform", "heuniform"):
        limit = math.sqrt(6.0 / max(1.0, fan_in))
        return tensor.uniform_(-limit, limit)
    if name in ("lecun_normal", "lecunnormal"):
        std = math.sqrt(1.0 / max(1.0, fan_in)) / 0.87962566103423978
        return nn.init.trunc_normal_(tensor, 0.0, std, -2 * std, 2 * std)
    if name in ("lecun_uniform", "lecununiform"):
        limit = math.sqrt(3.0 / max(1.0, fan_in))
        return tensor.uniform_(-limit, limit)
    if name == "orthogonal":  # Keras flattens all axes but the last (torch: all but the first)
        return _keras_orthogonal(shape)
    raise ValueError(f"unknown Keras initializer {initializer!r}")


class KerasActivation(nn.Module):
    """A Keras activation given by name or as a function, when the translation cannot see which
    one statically (``activation=act`` with ``act`` a variable). A name is kept as the string and
    dispatched on in ``forward``, so the module holds no lambda (``torch.save(model)`` pickles it)
    and TorchScript compiles it; a function is called as it is (not scriptable)."""

    NAMES = (
        "relu",
        "relu6",
        "sigmoid",
        "tanh",
        "softmax",
        "log_softmax",
        "gelu",
        "silu",
        "swish",
        "elu",
        "selu",
        "softplus",
        "softsign",
        "mish",
        "hard_sigmoid",
        "hard_silu",
        "hard_swish",
        "leaky_relu",
        "exponential",
        "linear",
    )

    def __init__(self, activation):
        super().__init__()
        if activation is None:
            activation = "linear"
        if isinstance(activation, str) and activation not in self.NAMES:
            raise ValueError(f"unknown Keras activation {activation!r}")
        self.function = None if isinstance(activation, str) else activation
        self.activation = activation if isinstance(activation, str) else "function"

    @torch.jit.unused
    def _call_function(self, x: torch.Tensor) -> torch.Tensor:
        return self.function(x)

    def forward(self, x):
        a = self.activation
        if a == "function":
            return self._call_function(x)
        if a == "relu":
            return F.relu(x)
        if a == "relu6":
            return F.relu6(x)
        if a == "sigmoid":
            return torch.sigmoid(x)
        if a == "tanh":
            return torch.tanh(x)
        if a == "softmax":
            return torch.softmax(x, dim=-1)
        if a == "log_softmax":
            return torch.log_softmax(x, dim=-1)
        if a == "gelu":
            return F.gelu(x)
        if a == "silu" or a == "swish":
            return F.silu(x)
        if a == "elu":
            return F.elu(x)
        if a == "selu":
            return F.selu(x)
        if a == "softplus":
            return F.softplus(x)
        if a == "softsign":
            return F.softsign(x)
        if a == "mish":
            return F.mish(x)
        if a == "hard_sigmoid":
            return F.hardsigmoid(x)
        if a == "hard_silu" or a == "hard_swish":
            return F.hardswish(x)
        if a == "leaky_relu":
            return F.leaky_relu(x, 0.2)
        if a == "exponential":
            return torch.exp(x)
        return x  # linear


class KerasSamePad2d(nn.Module):
    """Keras' padding="same" for a strided (or dilated) window on a channels-first tensor: the
    total padding max((ceil(n / s) - 1) * s + d * (k - 1) + 1 - n, 0) per spatial axis, the
    smaller half before and the rest after (torch's own "same" is only for stride 1)."""

    def __init__(self, kernel_size, strides=1, dilation_rate=1, value=0.0):
        super().__init__()
        pair = lambda v: tuple(v) if isinstance(v, (tuple, list)) else (v, v)  # noqa: E731
        self.kernel_size, self.strides, self.dilation = pair(kernel_size), pair(strides), pair(dilation_rate)
        self.value = value

    def forward(self, x):
        pads: list[int] = []
        for axis in (1, 0):  # F.pad lists the last axis first (width, then height)
            n, k, s, d = x.shape[2 + axis], self.kernel_size[axis], self.strides[axis], self.dilation[axis]
            total = max((-(-n // s) - 1) * s + d * (k - 1) + 1 - n, 0)  # (ceil(n / s): exact integers)
            pads += [total // 2, total - total // 2]
        return F.pad(x, pads, value=self.value)


class ToChannelsFirst(nn.Module):
    """(N, ..., C) -> (N, C, ...): where a run of channels-first torch layers starts."""

    def forward(self, x):
        return x.movedim(-1, 1)


class ToChannelsLast(nn.Module):
    """(N, C, ...) -> (N, ..., C): back to Keras' order where the run ends."""

    def forward(self, x):
        return x.movedim(1, -1)


def keras_variable_value(initializer, shape=None):
    """The value of ``keras.Variable(initializer, shape)``: an initializer (name or callable)
    called on ``shape``, or a value converted like Keras does (floats become float32)."""
    if isinstance(initializer, str) or (callable(initializer) and not isinstance(initializer, torch.Tensor)):
        return keras_initializer(initializer, shape)
    value = torch.as_tensor(initializer)
    return value.float() if value.is_floating_point() else value
