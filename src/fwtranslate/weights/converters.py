"""Weight converters, one per layer kind (see registry.py for the contract).

Layouts: torch Linear weight is (out, in), Keras Dense kernel (in, out); torch conv weight is
(out, in/groups, *kernel), Keras (*kernel, in/groups, out); a torch transposed-conv weight is
(in, out, *kernel), Keras (*kernel, out, in): the same permutation, so "conv" serves both;
BatchNorm running statistics are Keras' moving_mean / moving_variance. Recurrent and attention
layers translate to support layers (rules/torch_to_tf/support_layers.py: TorchLSTM, TorchGRU,
TorchMultiheadAttention), whose sub-layers the converters address by attribute.
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


@register("affine_norm")
class _AffineNorm:
    """LayerNorm, GroupNorm, InstanceNorm (affine): weight -> gamma, bias -> beta (either may be absent)."""

    @staticmethod
    def torch_to_keras(module, layer):
        layer = only_weighted_layer(layer)
        if getattr(module, "weight", None) is not None:
            assign(layer, "gamma", to_numpy(module.weight))
        if getattr(module, "bias", None) is not None:
            assign(layer, "beta", to_numpy(module.bias))

    @staticmethod
    def keras_to_torch(layer, module):
        layer = only_weighted_layer(layer)
        if getattr(module, "weight", None) is not None:
            copy_into(module.weight, keras_value(layer, "gamma"), "weight")
        if getattr(module, "bias", None) is not None:
            copy_into(module.bias, keras_value(layer, "beta"), "bias")


def _weight_as(keras_name: str):
    """A converter for a module whose only tensor, ``weight``, is the Keras variable ``keras_name``."""

    class _Single:
        @staticmethod
        def torch_to_keras(module, layer):
            assign(only_weighted_layer(layer), keras_name, to_numpy(module.weight))

        @staticmethod
        def keras_to_torch(layer, module):
            copy_into(module.weight, keras_value(only_weighted_layer(layer), keras_name), "weight")

    return _Single


register("embedding")(_weight_as("embeddings"))
register("prelu")(_weight_as("alpha"))  # the support layer TorchPReLU's alpha, (num_parameters,)
register("rms_norm")(_weight_as("scale"))  # keras.layers.RMSNormalization's scale


def _rnn_pairs(module, layer):
    """(torch parameter suffix, Keras recurrent layer) for each layer and direction of a
    TorchLSTM / TorchGRU support layer (its ``rnns`` are in PyTorch's order)."""
    directions = 2 if module.bidirectional else 1
    if len(layer.rnns) != module.num_layers * directions:
        raise ValueError(f"{layer.name}: {len(layer.rnns)} recurrent layers, torch has "
                         f"{module.num_layers} x {directions}")
    for index, rnn in enumerate(layer.rnns):
        suffix = f"l{index // directions}" + ("_reverse" if index % directions else "")
        yield suffix, rnn


def _gru_gates_to_keras(w: np.ndarray) -> np.ndarray:
    # torch stacks gates (r, z, n) along axis 0; Keras (z, r, h)
    r, z, n = np.split(w, 3, axis=0)
    return np.concatenate([z, r, n], axis=0)


def _gru_gates_to_torch(w: np.ndarray) -> np.ndarray:
    z, r, n = np.split(w, 3, axis=0)
    return np.concatenate([r, z, n], axis=0)


@register("lstm")
@register("rnn")
class _SummedBiasRNN:
    """torch LSTM <-> TorchLSTM, torch RNN <-> TorchRNN. LSTM gates (i, f, g, o) are in the same
    order in both; Keras has one bias, torch's bias_ih + bias_hh (keras_to_torch puts it all in
    bias_ih, bias_hh = 0)."""

    @staticmethod
    def torch_to_keras(module, layer):
        if getattr(module, "proj_size", 0):
            raise ValueError("an LSTM with proj_size has no Keras equivalent")
        for sfx, rnn in _rnn_pairs(module, layer):
            assign(rnn, "kernel", to_numpy(getattr(module, f"weight_ih_{sfx}")).T)
            assign(rnn, "recurrent_kernel", to_numpy(getattr(module, f"weight_hh_{sfx}")).T)
            if module.bias:
                assign(rnn, "bias", to_numpy(getattr(module, f"bias_ih_{sfx}"))
                       + to_numpy(getattr(module, f"bias_hh_{sfx}")))

    @staticmethod
    def keras_to_torch(layer, module):
        for sfx, rnn in _rnn_pairs(module, layer):
            copy_into(getattr(module, f"weight_ih_{sfx}"), keras_value(rnn, "kernel").T, f"weight_ih_{sfx}")
            copy_into(getattr(module, f"weight_hh_{sfx}"), keras_value(rnn, "recurrent_kernel").T, f"weight_hh_{sfx}")
            if module.bias:
                bias = keras_value(rnn, "bias")
                copy_into(getattr(module, f"bias_ih_{sfx}"), bias, f"bias_ih_{sfx}")
                copy_into(getattr(module, f"bias_hh_{sfx}"), np.zeros_like(bias), f"bias_hh_{sfx}")


@register("gru")
class _GRU:
    """torch GRU <-> TorchGRU (Keras GRU, reset_after=True): gates (r, z, n) <-> (z, r, h);
    the Keras bias is (2, 3 * hidden): [input bias, recurrent bias]."""

    @staticmethod
    def torch_to_keras(module, layer):
        for sfx, rnn in _rnn_pairs(module, layer):
            assign(rnn, "kernel", _gru_gates_to_keras(to_numpy(getattr(module, f"weight_ih_{sfx}"))).T)
            assign(rnn, "recurrent_kernel", _gru_gates_to_keras(to_numpy(getattr(module, f"weight_hh_{sfx}"))).T)
            if module.bias:
                assign(rnn, "bias", np.stack([
                    _gru_gates_to_keras(to_numpy(getattr(module, f"bias_ih_{sfx}"))),
                    _gru_gates_to_keras(to_numpy(getattr(module, f"bias_hh_{sfx}")))]))

    @staticmethod
    def keras_to_torch(layer, module):
        for sfx, rnn in _rnn_pairs(module, layer):
            copy_into(getattr(module, f"weight_ih_{sfx}"), _gru_gates_to_torch(keras_value(rnn, "kernel").T), f"weight_ih_{sfx}")
            copy_into(getattr(module, f"weight_hh_{sfx}"), _gru_gates_to_torch(keras_value(rnn, "recurrent_kernel").T), f"weight_hh_{sfx}")
            if module.bias:
                bias = keras_value(rnn, "bias")
                copy_into(getattr(module, f"bias_ih_{sfx}"), _gru_gates_to_torch(bias[0]), f"bias_ih_{sfx}")
                copy_into(getattr(module, f"bias_hh_{sfx}"), _gru_gates_to_torch(bias[1]), f"bias_hh_{sfx}")


def _mha_projections(module):
    """torch MultiheadAttention's q, k, v projection weights, each (embed_dim, in_dim)."""
    if module._qkv_same_embed_dim:
        return np.split(to_numpy(module.in_proj_weight), 3, axis=0)
    return [to_numpy(module.q_proj_weight), to_numpy(module.k_proj_weight), to_numpy(module.v_proj_weight)]


@register("multihead_attention")
class _MultiheadAttention:
    """torch MultiheadAttention <-> TorchMultiheadAttention (Dense q_proj, k_proj, v_proj,
    out_proj): in_proj_weight / in_proj_bias are split in three."""

    @staticmethod
    def torch_to_keras(module, layer):
        if module.bias_k is not None:
            raise ValueError("MultiheadAttention with add_bias_kv has no Keras equivalent")
        dense = (layer.q_proj, layer.k_proj, layer.v_proj)
        for sub, w in zip(dense, _mha_projections(module)):
            assign(sub, "kernel", w.T)
        if module.in_proj_bias is not None:
            for sub, b in zip(dense, np.split(to_numpy(module.in_proj_bias), 3)):
                assign(sub, "bias", b)
        _Dense.torch_to_keras(module.out_proj, layer.out_proj)

    @staticmethod
    def keras_to_torch(layer, module):
        kernels = [keras_value(sub, "kernel").T for sub in (layer.q_proj, layer.k_proj, layer.v_proj)]
        if module._qkv_same_embed_dim:
            copy_into(module.in_proj_weight, np.concatenate(kernels, axis=0), "in_proj_weight")
        else:
            for name, w in zip(("q_proj_weight", "k_proj_weight", "v_proj_weight"), kernels):
                copy_into(getattr(module, name), w, name)
        if module.in_proj_bias is not None:
            biases = [keras_value(sub, "bias") for sub in (layer.q_proj, layer.k_proj, layer.v_proj)]
            copy_into(module.in_proj_bias, np.concatenate(biases), "in_proj_bias")
        _Dense.keras_to_torch(layer.out_proj, module.out_proj)
