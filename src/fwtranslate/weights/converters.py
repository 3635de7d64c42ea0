"""Weight converters, one per layer kind (see registry.py for the contract).

Layouts: torch Linear weight is (out, in), Keras Dense kernel (in, out); torch conv weight is
(out, in/groups, *kernel), Keras (*kernel, in/groups, out); BatchNorm running statistics are
Keras' moving_mean / moving_variance.
"""
from __future__ import annotations

import numpy as np

from .registry import only_weighted_layer, register


def to_numpy(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def variable(layer, name: str):
    """The layer's variable called ``name`` (Keras 3 short names: kernel, bias, gamma, ...)."""
    for v in layer.weights:
        if v.name == name:
            return v
    raise KeyError(f"{layer.name} has no variable {name!r} (has: {[v.name for v in layer.weights]})")


def assign(layer, name: str, value: np.ndarray) -> None:
    v = variable(layer, name)
    if tuple(v.shape) != tuple(value.shape):
        raise ValueError(f"{layer.name}.{name}: Keras shape {tuple(v.shape)} != converted torch shape {tuple(value.shape)}")
    v.assign(value.astype(v.dtype if isinstance(v.dtype, str) else v.dtype.name, copy=False))


def copy_into(param, value: np.ndarray, where: str) -> None:
    import torch

    if tuple(param.shape) != tuple(value.shape):
        raise ValueError(f"{where}: torch shape {tuple(param.shape)} != converted Keras shape {tuple(value.shape)}")
    with torch.no_grad():
        param.copy_(torch.as_tensor(np.ascontiguousarray(value), dtype=param.dtype))


def keras_value(layer, name: str) -> np.ndarray:
    return np.asarray(variable(layer, name).numpy())


@register("dense")
class _Dense:
    @staticmethod
    def torch_to_keras(module, layer):
        layer = only_weighted_layer(layer)
        assign(layer, "kernel", to_numpy(module.weight).T)
        if module.bias is not None:
            assign(layer, "bias", to_numpy(module.bias))

    @staticmethod
    def keras_to_torch(layer, module):
        layer = only_weighted_layer(layer)
        copy_into(module.weight, keras_value(layer, "kernel").T, "weight")
        if module.bias is not None:
            copy_into(module.bias, keras_value(layer, "bias"), "bias")


def _conv_kernel_to_keras(w: np.ndarray) -> np.ndarray:
    # (out, in/groups, *k) -> (*k, in/groups, out)
    nd = w.ndim - 2
    return w.transpose(*range(2, 2 + nd), 1, 0)


def _conv_kernel_to_torch(k: np.ndarray) -> np.ndarray:
    nd = k.ndim - 2
    return k.transpose(nd + 1, nd, *range(nd))


@register("conv")
class _Conv:
    @staticmethod
    def torch_to_keras(module, layer):
        layer = only_weighted_layer(layer)
        assign(layer, "kernel", _conv_kernel_to_keras(to_numpy(module.weight)))
        if module.bias is not None:
            assign(layer, "bias", to_numpy(module.bias))

    @staticmethod
    def keras_to_torch(layer, module):
        layer = only_weighted_layer(layer)
        copy_into(module.weight, _conv_kernel_to_torch(keras_value(layer, "kernel")), "weight")
        if module.bias is not None:
            copy_into(module.bias, keras_value(layer, "bias"), "bias")


@register("batchnorm")
class _BatchNorm:
    @staticmethod
    def torch_to_keras(module, layer):
        layer = only_weighted_layer(layer)
        if module.weight is not None:
            assign(layer, "gamma", to_numpy(module.weight))
            assign(layer, "beta", to_numpy(module.bias))
        if module.running_mean is not None:
            assign(layer, "moving_mean", to_numpy(module.running_mean))
            assign(layer, "moving_variance", to_numpy(module.running_var))

    @staticmethod
    def keras_to_torch(layer, module):
        layer = only_weighted_layer(layer)
        if module.weight is not None:
            copy_into(module.weight, keras_value(layer, "gamma"), "weight")
            copy_into(module.bias, keras_value(layer, "beta"), "bias")
        if module.running_mean is not None:
            copy_into(module.running_mean, keras_value(layer, "moving_mean"), "running_mean")
            copy_into(module.running_var, keras_value(layer, "moving_variance"), "running_var")
