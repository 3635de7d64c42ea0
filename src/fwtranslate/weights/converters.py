"""Weight converters, one per layer kind (see contract.py for the contract).

Layouts: torch Linear weight is (out, in), Keras Dense kernel (in, out); torch conv weight is
(out, in/groups, *kernel), Keras (*kernel, in/groups, out); a torch transposed-conv weight is
(in, out, *kernel), Keras (*kernel, out, in): the same permutation, so "conv" serves both;
BatchNorm running statistics are Keras' moving_mean / moving_variance. Recurrent and attention
layers translate to support layers (rules/torch_to_tf/support_layers.py: TorchLSTM, TorchGRU,
TorchMultiheadAttention), whose sub-layers the converters address by attribute.
"""

from __future__ import annotations

import numpy as np

from .contract import only_weighted_layer, register


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
        raise ValueError(
            f"{layer.name}.{name}: Keras shape {tuple(v.shape)} != converted torch shape {tuple(value.shape)}"
        )
    v.assign(value.astype(v.dtype if isinstance(v.dtype, str) else v.dtype.name, copy=False))


def copy_into(param, value: np.ndarray, where: str) -> None:
    import torch

    if tuple(param.shape) != tuple(value.shape):
        raise ValueError(f"{where}: torch shape {tuple(param.shape)} != converted Keras shape {tuple(value.shape)}")
    with torch.no_grad():
        # (reshaped back: np.ascontiguousarray makes a 0-d value 1-d, and Attention's scale is a scalar)
        param.copy_(torch.as_tensor(np.ascontiguousarray(value).reshape(value.shape), dtype=param.dtype))


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
    """torch weight / bias <-> Keras gamma / beta; either may be absent (Keras' scale=False /
    center=False: KerasBatchNormalization then has weight or bias None)."""

    @staticmethod
    def torch_to_keras(module, layer):
        layer = only_weighted_layer(layer)
        if module.weight is not None:
            assign(layer, "gamma", to_numpy(module.weight))
        if module.bias is not None:
            assign(layer, "beta", to_numpy(module.bias))
        if module.running_mean is not None:
            assign(layer, "moving_mean", to_numpy(module.running_mean))
            assign(layer, "moving_variance", to_numpy(module.running_var))

    @staticmethod
    def keras_to_torch(layer, module):
        layer = only_weighted_layer(layer)
        if module.weight is not None:
            copy_into(module.weight, keras_value(layer, "gamma"), "weight")
        if module.bias is not None:
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
        torch_named = not hasattr(layer, "gamma")  # TorchLayerNorm keeps torch's names
        if getattr(module, "weight", None) is not None:
            assign(layer, "weight" if torch_named else "gamma", to_numpy(module.weight))
        if getattr(module, "bias", None) is not None:
            assign(layer, "bias" if torch_named else "beta", to_numpy(module.bias))

    @staticmethod
    def keras_to_torch(layer, module):
        layer = only_weighted_layer(layer)
        torch_named = not hasattr(layer, "gamma")
        if getattr(module, "weight", None) is not None:
            copy_into(module.weight, keras_value(layer, "weight" if torch_named else "gamma"), "weight")
        if getattr(module, "bias", None) is not None:
            copy_into(module.bias, keras_value(layer, "bias" if torch_named else "beta"), "bias")


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
    if not hasattr(layer, "rnns"):
        yield from _keras_rnn_pairs(module, layer, directions)
        return
    if len(layer.rnns) != module.num_layers * directions:
        raise ValueError(
            f"{layer.name}: {len(layer.rnns)} recurrent layers, torch has {module.num_layers} x {directions}"
        )
    for index, rnn in enumerate(layer.rnns):
        suffix = f"l{index // directions}" + ("_reverse" if index % directions else "")
        yield suffix, rnn


def _keras_rnn_pairs(module, layer, directions: int):
    """A Keras original's recurrent layer (``--to torch``): a plain LSTM / GRU / SimpleRNN is
    torch's layer 0; ``Bidirectional`` gives layer 0 and layer 0 reverse (its forward_layer and
    backward_layer)."""
    import keras

    if isinstance(layer, keras.layers.Bidirectional):
        if directions != 2 or module.num_layers != 1:
            raise ValueError(
                f"{layer.name}: Bidirectional is one bidirectional torch layer, torch has "
                f"{module.num_layers} layer(s), bidirectional={module.bidirectional}"
            )
        yield "l0", layer.forward_layer
        yield "l0_reverse", layer.backward_layer
        return
    if directions != 1 or module.num_layers != 1:
        raise ValueError(
            f"{layer.name}: one Keras recurrent layer, torch has {module.num_layers} layer(s), "
            f"bidirectional={module.bidirectional}"
        )
    if getattr(layer, "go_backwards", False):
        raise ValueError(f"{layer.name}: go_backwards has no torch layer counterpart")
    yield "l0", layer


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
                assign(
                    rnn,
                    "bias",
                    to_numpy(getattr(module, f"bias_ih_{sfx}")) + to_numpy(getattr(module, f"bias_hh_{sfx}")),
                )

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
                assign(
                    rnn,
                    "bias",
                    np.stack(
                        [
                            _gru_gates_to_keras(to_numpy(getattr(module, f"bias_ih_{sfx}"))),
                            _gru_gates_to_keras(to_numpy(getattr(module, f"bias_hh_{sfx}"))),
                        ]
                    ),
                )

    @staticmethod
    def keras_to_torch(layer, module):
        for sfx, rnn in _rnn_pairs(module, layer):
            copy_into(
                getattr(module, f"weight_ih_{sfx}"),
                _gru_gates_to_torch(keras_value(rnn, "kernel").T),
                f"weight_ih_{sfx}",
            )
            copy_into(
                getattr(module, f"weight_hh_{sfx}"),
                _gru_gates_to_torch(keras_value(rnn, "recurrent_kernel").T),
                f"weight_hh_{sfx}",
            )
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
        if _is_keras_mha(layer):
            return _KerasMHA.torch_to_keras(module, layer)
        dense = (layer.q_proj, layer.k_proj, layer.v_proj)
        for sub, w in zip(dense, _mha_projections(module)):
            assign(sub, "kernel", w.T)
        if module.in_proj_bias is not None:
            for sub, b in zip(dense, np.split(to_numpy(module.in_proj_bias), 3)):
                assign(sub, "bias", b)
        _Dense.torch_to_keras(module.out_proj, layer.out_proj)

    @staticmethod
    def keras_to_torch(layer, module):
        if _is_keras_mha(layer):
            return _KerasMHA.keras_to_torch(layer, module)
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


def _is_keras_mha(layer) -> bool:
    import keras

    return isinstance(layer, keras.layers.MultiHeadAttention)


class _KerasMHA:
    """keras.layers.MultiHeadAttention (a Keras original, ``--to torch``) <-> torch
    nn.MultiheadAttention. Keras' EinsumDense kernels are (in, heads, head_dim) for query, key
    and value, (heads, head_dim, out) for the output; torch's projections are (heads * head_dim,
    in) with head h at rows [h * head_dim, (h + 1) * head_dim). torch needs heads * head_dim ==
    embed_dim (Keras key_dim = value_dim = embed_dim / num_heads, output_shape None)."""

    @staticmethod
    def _dense(layer):
        return (layer._query_dense, layer._key_dense, layer._value_dense)

    @staticmethod
    def keras_to_torch(layer, module):
        kernels = [keras_value(d, "kernel") for d in _KerasMHA._dense(layer)]
        weights = [k.reshape(k.shape[0], -1).T for k in kernels]
        if module._qkv_same_embed_dim:
            copy_into(module.in_proj_weight, np.concatenate(weights, axis=0), "in_proj_weight")
        else:
            for name, w in zip(("q_proj_weight", "k_proj_weight", "v_proj_weight"), weights):
                copy_into(getattr(module, name), w, name)
        if module.in_proj_bias is not None:
            biases = [keras_value(d, "bias").reshape(-1) for d in _KerasMHA._dense(layer)]
            copy_into(module.in_proj_bias, np.concatenate(biases), "in_proj_bias")
        out = keras_value(layer._output_dense, "kernel")
        copy_into(module.out_proj.weight, out.reshape(-1, out.shape[-1]).T, "out_proj.weight")
        if module.out_proj.bias is not None:
            copy_into(module.out_proj.bias, keras_value(layer._output_dense, "bias"), "out_proj.bias")

    @staticmethod
    def torch_to_keras(module, layer):
        dense = _KerasMHA._dense(layer)
        for d, w in zip(dense, _mha_projections(module)):
            k = variable(d, "kernel")
            assign(d, "kernel", w.T.reshape(tuple(k.shape)))
        if module.in_proj_bias is not None:
            for d, b in zip(dense, np.split(to_numpy(module.in_proj_bias), 3)):
                assign(d, "bias", b.reshape(tuple(variable(d, "bias").shape)))
        out = variable(layer._output_dense, "kernel")
        assign(layer._output_dense, "kernel", to_numpy(module.out_proj.weight).T.reshape(tuple(out.shape)))
        if module.out_proj.bias is not None:
            assign(layer._output_dense, "bias", to_numpy(module.out_proj.bias))


@register("depthwise_conv")
class _DepthwiseConv:
    """Keras DepthwiseConv1D/2D kernel (*k, in, multiplier) <-> torch Conv with groups=in,
    weight (in * multiplier, 1, *k): torch output channel c * multiplier + m is Keras' (c, m)."""

    @staticmethod
    def keras_to_torch(layer, module):
        layer = only_weighted_layer(layer)
        k = keras_value(layer, "kernel")
        nd = k.ndim - 2
        w = k.transpose(nd, nd + 1, *range(nd)).reshape(k.shape[nd] * k.shape[nd + 1], 1, *k.shape[:nd])
        copy_into(module.weight, w, "weight")
        if module.bias is not None:
            copy_into(module.bias, keras_value(layer, "bias"), "bias")

    @staticmethod
    def torch_to_keras(module, layer):
        layer = only_weighted_layer(layer)
        shape = tuple(variable(layer, "kernel").shape)
        nd = len(shape) - 2
        w = to_numpy(module.weight).reshape(shape[nd], shape[nd + 1], *shape[:nd])
        assign(layer, "kernel", w.transpose(*range(2, 2 + nd), 0, 1))
        if module.bias is not None:
            assign(layer, "bias", to_numpy(module.bias))


# --- converters for Keras originals (``--to torch``): their rules' ``weights:`` names ---------
@register("separable_conv")
class _SeparableConv:
    """Keras SeparableConv1D/2D (original) <-> its torch translation: a depthwise convolution
    (KerasDepthwiseConv, no bias) then a pointwise 1x1 convolution carrying the bias, in that
    order inside the translated subtree. depthwise_kernel (*k, in, multiplier) is the depthwise
    weight (in * multiplier, 1, *k) (as "depthwise_conv"); pointwise_kernel (1.., in * multiplier,
    filters) the pointwise conv's weight (filters, in * multiplier, 1..) (as "conv")."""

    @staticmethod
    def _parts(module):
        weighted = [m for m in module.modules() if any(p is not None for p in m._parameters.values())]
        if len(weighted) != 2:
            raise ValueError(
                f"expected a depthwise and a pointwise convolution inside {type(module).__name__}, "
                f"found {len(weighted)} modules with parameters"
            )
        return weighted

    @staticmethod
    def keras_to_torch(layer, module):
        depthwise, pointwise = _SeparableConv._parts(module)
        k = keras_value(layer, "depthwise_kernel")
        nd = k.ndim - 2
        w = k.transpose(nd, nd + 1, *range(nd)).reshape(k.shape[nd] * k.shape[nd + 1], 1, *k.shape[:nd])
        copy_into(depthwise.weight, w, "depthwise weight")
        copy_into(pointwise.weight, _conv_kernel_to_torch(keras_value(layer, "pointwise_kernel")), "pointwise weight")
        if pointwise.bias is not None:
            copy_into(pointwise.bias, keras_value(layer, "bias"), "bias")

    @staticmethod
    def torch_to_keras(module, layer):
        depthwise, pointwise = _SeparableConv._parts(module)
        shape = tuple(variable(layer, "depthwise_kernel").shape)
        nd = len(shape) - 2
        w = to_numpy(depthwise.weight).reshape(shape[nd], shape[nd + 1], *shape[:nd])
        assign(layer, "depthwise_kernel", w.transpose(*range(2, 2 + nd), 0, 1))
        assign(layer, "pointwise_kernel", _conv_kernel_to_keras(to_numpy(pointwise.weight)))
        if pointwise.bias is not None:
            assign(layer, "bias", to_numpy(pointwise.bias))


def _torch_rnn(module):
    """The torch recurrent layer of a translated recurrent layer: an nn.LSTM / nn.GRU / nn.RNN
    itself, or the ``rnn`` a support module (KerasLSTM, KerasGRU, KerasSimpleRNN) holds."""
    import torch.nn as nn

    if isinstance(module, nn.RNNBase):
        return module
    rnn = getattr(module, "rnn", None)
    if isinstance(rnn, nn.RNNBase):
        return rnn
    raise ValueError(f"{type(module).__name__} holds no torch recurrent layer (nn.LSTM / nn.GRU / nn.RNN)")


def _keras_cell_to_torch(keras_rnn, rnn, sfx: str) -> None:
    """One Keras LSTM / GRU / SimpleRNN (one direction) into torch layer ``sfx`` (l0, l0_reverse)."""
    import torch.nn as nn

    kernel, recurrent = keras_value(keras_rnn, "kernel").T, keras_value(keras_rnn, "recurrent_kernel").T
    if isinstance(rnn, nn.GRU):
        kernel, recurrent = _gru_gates_to_torch(kernel), _gru_gates_to_torch(recurrent)
    copy_into(getattr(rnn, f"weight_ih_{sfx}"), kernel, f"weight_ih_{sfx}")
    copy_into(getattr(rnn, f"weight_hh_{sfx}"), recurrent, f"weight_hh_{sfx}")
    if not rnn.bias:
        return
    bias = keras_value(keras_rnn, "bias")
    if isinstance(rnn, nn.GRU):
        if bias.ndim != 2:
            raise ValueError(f"{keras_rnn.name}: a GRU with reset_after=False has no torch equivalent")
        copy_into(getattr(rnn, f"bias_ih_{sfx}"), _gru_gates_to_torch(bias[0]), f"bias_ih_{sfx}")
        copy_into(getattr(rnn, f"bias_hh_{sfx}"), _gru_gates_to_torch(bias[1]), f"bias_hh_{sfx}")
    else:  # one Keras bias: all of it in bias_ih
        copy_into(getattr(rnn, f"bias_ih_{sfx}"), bias, f"bias_ih_{sfx}")
        copy_into(getattr(rnn, f"bias_hh_{sfx}"), np.zeros_like(bias), f"bias_hh_{sfx}")


def _torch_cell_to_keras(rnn, keras_rnn, sfx: str) -> None:
    import torch.nn as nn

    kernel = to_numpy(getattr(rnn, f"weight_ih_{sfx}"))
    recurrent = to_numpy(getattr(rnn, f"weight_hh_{sfx}"))
    if isinstance(rnn, nn.GRU):
        kernel, recurrent = _gru_gates_to_keras(kernel), _gru_gates_to_keras(recurrent)
    assign(keras_rnn, "kernel", kernel.T)
    assign(keras_rnn, "recurrent_kernel", recurrent.T)
    if not rnn.bias:
        return
    b_ih, b_hh = to_numpy(getattr(rnn, f"bias_ih_{sfx}")), to_numpy(getattr(rnn, f"bias_hh_{sfx}"))
    if isinstance(rnn, nn.GRU):
        assign(keras_rnn, "bias", np.stack([_gru_gates_to_keras(b_ih), _gru_gates_to_keras(b_hh)]))
    else:
        assign(keras_rnn, "bias", b_ih + b_hh)


def _recurrent_pairs(layer, module):
    """(Keras one-direction layer, torch recurrent layer, torch suffix) for a Keras LSTM / GRU /
    SimpleRNN or Bidirectional and its translation: a support module (KerasLSTM...,
    KerasBidirectional with forward_layer / backward_layer) or a plain torch layer."""
    import keras

    if isinstance(layer, keras.layers.Bidirectional):
        if hasattr(module, "forward_layer") and hasattr(module, "backward_layer"):
            return [
                (layer.forward_layer, _torch_rnn(module.forward_layer), "l0"),
                (layer.backward_layer, _torch_rnn(module.backward_layer), "l0"),
            ]
        rnn = _torch_rnn(module)
        if not rnn.bidirectional or rnn.num_layers != 1:
            raise ValueError(f"{layer.name}: Bidirectional needs one bidirectional torch layer")
        return [(layer.forward_layer, rnn, "l0"), (layer.backward_layer, rnn, "l0_reverse")]
    rnn = _torch_rnn(module)
    if rnn.bidirectional or rnn.num_layers != 1:
        raise ValueError(
            f"{layer.name}: one Keras recurrent layer, torch has {rnn.num_layers} layer(s), "
            f"bidirectional={rnn.bidirectional}"
        )
    return [(layer, rnn, "l0")]  # go_backwards: the translation reverses the sequence (checked by the outputs)


@register("keras_recurrent")
class _KerasRecurrent:
    """Keras LSTM / GRU / SimpleRNN / Bidirectional (original) <-> its torch translation
    (KerasLSTM / KerasGRU / KerasSimpleRNN / KerasBidirectional of support_recurrent.py, or a
    plain nn.LSTM / nn.GRU / nn.RNN). LSTM gates (i, f, c, o) are torch's (i, f, g, o); GRU gates
    (z, r, h) are torch's (r, z, n), Keras' bias (2, 3 units) is [bias_ih, bias_hh]
    (reset_after=True); an LSTM's / SimpleRNN's one bias goes to bias_ih, bias_hh = 0."""

    @staticmethod
    def keras_to_torch(layer, module):
        for keras_rnn, rnn, sfx in _recurrent_pairs(layer, module):
            _keras_cell_to_torch(keras_rnn, rnn, sfx)

    @staticmethod
    def torch_to_keras(module, layer):
        for keras_rnn, rnn, sfx in _recurrent_pairs(layer, module):
            _torch_cell_to_keras(rnn, keras_rnn, sfx)


_MHA_PARTS = (("query", "_query_dense"), ("key", "_key_dense"), ("value", "_value_dense"), ("output", "_output_dense"))


@register("keras_multi_head_attention")
class _KerasMultiHeadAttention:
    """keras.layers.MultiHeadAttention (original) <-> KerasMultiHeadAttention
    (support_attention.py), whose parameters keep Keras' shapes: ``query_weight`` is the query
    EinsumDense kernel (d, heads, key_dim), ``query_bias`` its bias, and so on for key, value and
    output. A plain nn.MultiheadAttention is handled as the ``multihead_attention`` converter does."""

    @staticmethod
    def keras_to_torch(layer, module):
        if not hasattr(module, "query_weight"):
            return _KerasMHA.keras_to_torch(layer, module)
        for name, attr in _MHA_PARTS:
            dense = getattr(layer, attr)
            copy_into(getattr(module, f"{name}_weight"), keras_value(dense, "kernel"), f"{name}_weight")
            if getattr(module, f"{name}_bias", None) is not None:
                copy_into(getattr(module, f"{name}_bias"), keras_value(dense, "bias"), f"{name}_bias")

    @staticmethod
    def torch_to_keras(module, layer):
        if not hasattr(module, "query_weight"):
            return _KerasMHA.torch_to_keras(module, layer)
        for name, attr in _MHA_PARTS:
            dense = getattr(layer, attr)
            assign(dense, "kernel", to_numpy(getattr(module, f"{name}_weight")))
            if getattr(module, f"{name}_bias", None) is not None:
                assign(dense, "bias", to_numpy(getattr(module, f"{name}_bias")))


@register("keras_attention")
class _KerasAttention:
    """keras.layers.Attention / AdditiveAttention (original) <-> KerasAttention /
    KerasAdditiveAttention: each Keras variable (``scale``, ``concat_score_weight``) is the torch
    parameter of the same name, same shape."""

    @staticmethod
    def keras_to_torch(layer, module):
        for v in layer.weights:
            param = getattr(module, v.name, None)
            if param is None:
                raise ValueError(f"{type(module).__name__} has no parameter {v.name!r}")
            copy_into(param, np.asarray(v.numpy()).reshape(tuple(param.shape)), v.name)

    @staticmethod
    def torch_to_keras(module, layer):
        for v in layer.weights:
            assign(layer, v.name, to_numpy(getattr(module, v.name)).reshape(tuple(v.shape)))


@register("keras_normalization_stats")
class _KerasNormalizationStats:
    """keras.layers.Normalization without given mean/variance (adapted or loaded) <->
    KerasAdaptedNormalization: the Keras variables ``mean`` and ``variance`` are the torch
    buffers of the same names and shapes (Keras' integer ``count`` only drives adapt())."""

    @staticmethod
    def keras_to_torch(layer, module):
        for v in layer.weights:
            if v.name in ("mean", "variance"):
                buffer = getattr(module, v.name)
                copy_into(buffer, np.asarray(v.numpy()).reshape(tuple(buffer.shape)), v.name)

    @staticmethod
    def torch_to_keras(module, layer):
        for v in layer.weights:
            if v.name in ("mean", "variance"):
                assign(layer, v.name, to_numpy(getattr(module, v.name)).reshape(tuple(v.shape)))


@register("torch_named")
class _TorchNamed:
    """A support layer that keeps torch's parameter names and layouts (TorchBilinear, TorchLSTMCell,
    TorchEmbeddingBag, ...): each torch parameter is the Keras variable of the same name."""

    @staticmethod
    def torch_to_keras(module, layer):
        layer = only_weighted_layer(layer)
        for name, param in module.named_parameters(recurse=False):
            assign(layer, name, to_numpy(param))

    @staticmethod
    def keras_to_torch(layer, module):
        layer = only_weighted_layer(layer)
        for name, param in module.named_parameters(recurse=False):
            copy_into(param, keras_value(layer, name), name)
