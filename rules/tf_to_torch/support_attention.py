"""Support code for translated Keras models (Keras -> PyTorch): attention layers.

The modules are called like the Keras layers (same arguments, same return values) and compute
what Keras computes. Their weights have Keras' shapes (the per-head projection kernels of
MultiHeadAttention included), so they transfer without reshaping; they are created on the first
call, when the input sizes are known (torch's lazy-module mechanism).
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from support_core import keras_initializer
from support_layers_extra import KerasEinsumDense


def keras_masked_softmax(scores, mask):
    """Softmax over the last axis where ``mask`` (broadcastable, True = attend) holds, as Keras'
    Softmax layer: masked scores are replaced by -1e9 (a fully masked row becomes uniform)."""
    if mask is not None:
        scores = scores.masked_fill(~mask, -1e9)
    return torch.softmax(scores, dim=-1)


def keras_causal_mask(q_len, k_len, device=None):
    """Keras' causal mask (1, q_len, k_len): query i attends to keys j <= i."""
    rows = torch.arange(q_len, device=device)[:, None]
    cols = torch.arange(k_len, device=device)[None, :]
    return (rows >= cols)[None]


class KerasMultiHeadAttention(nn.modules.lazy.LazyModuleMixin, nn.Module):
    """keras.layers.MultiHeadAttention (attention over every axis between batch and features).

    Called as ``mha(query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
    attention_mask=None, return_attention_scores=False, use_causal_mask=False)``; returns the
    output, or (output, scores (B, heads, Tq, Tk)). Masks are True where attention is allowed;
    ``query_mask`` is accepted and ignored, as Keras 3 does (it reads the query's own Keras mask).
    Weights, in Keras' shapes: query_weight (dq, heads, key_dim), query_bias (heads, key_dim),
    key_weight (dk, heads, key_dim), key_bias, value_weight (dv, heads, value_dim), value_bias,
    output_weight (heads, value_dim, *output_shape), output_bias (*output_shape,)
    (output_shape defaults to dq)."""

    def __init__(
        self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None, sliding_window=None
    ):
        super().__init__()
        self.num_heads, self.key_dim = num_heads, key_dim
        self.value_dim = value_dim if value_dim else key_dim
        self.dropout, self.use_bias, self.sliding_window = dropout, use_bias, sliding_window
        if isinstance(output_shape, int):
            output_shape = (output_shape,)
        self.output_shape = tuple(output_shape) if output_shape else None
        for name in ("query", "key", "value", "output"):
            setattr(self, f"{name}_weight", nn.UninitializedParameter())
            setattr(self, f"{name}_bias", nn.UninitializedParameter() if use_bias else None)

    def initialize_parameters(self, query, value, key=None, *args, **kwargs):
        if not self.has_uninitialized_params():
            return
        key = value if key is None else key
        heads = self.num_heads
        out_shape = self.output_shape or (int(query.shape[-1]),)
        shapes = {
            "query": ((int(query.shape[-1]), heads, self.key_dim), (heads, self.key_dim)),
            "key": ((int(key.shape[-1]), heads, self.key_dim), (heads, self.key_dim)),
            "value": ((int(value.shape[-1]), heads, self.value_dim), (heads, self.value_dim)),
            "output": ((heads, self.value_dim, *out_shape), out_shape),
        }
        with torch.no_grad():
            for name, (kernel_shape, bias_shape) in shapes.items():
                weight = getattr(self, f"{name}_weight")
                weight.materialize(kernel_shape, dtype=query.dtype, device=query.device)
                weight.copy_(keras_initializer("glorot_uniform", kernel_shape))
                bias = getattr(self, f"{name}_bias")
                if bias is not None:
                    bias.materialize(bias_shape, dtype=query.dtype, device=query.device)
                    bias.zero_()

    def _project(self, x, name):
        # (B, T, d) x (d, heads, dim) -> (B, T, heads, dim)
        y = torch.einsum("btd,dhk->bthk", x, getattr(self, f"{name}_weight"))
        bias = getattr(self, f"{name}_bias")
        return y if bias is None else y + bias

    def forward(
        self,
        query,
        value,
        key=None,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        return_attention_scores=False,
        use_causal_mask=False,
        training=None,
    ):
        key = value if key is None else key
        batch, q_axes, k_axes = query.shape[0], tuple(query.shape[1:-1]), tuple(key.shape[1:-1])
        q_len, k_len = math.prod(q_axes), math.prod(k_axes)
        flat = len(q_axes) != 1 or len(k_axes) != 1  # several attention axes: attend over all jointly
        if flat and (use_causal_mask or self.sliding_window is not None):
            raise NotImplementedError("causal / sliding-window masks need (batch, time, features) inputs")
        q = self._project(query.reshape(batch, q_len, query.shape[-1]), "query")
        k = self._project(key.reshape(key.shape[0], k_len, key.shape[-1]), "key")
        v = self._project(value.reshape(value.shape[0], k_len, value.shape[-1]), "value")

        # the combined mask (B or 1, Tq, Tk), True = attend, as Keras' _compute_attention_mask
        mask = None
        for extra in (value_mask, key_mask):
            if extra is not None:
                extra = extra.reshape(extra.shape[0], 1, k_len).bool()
                mask = extra if mask is None else mask & extra
        if use_causal_mask:
            causal = keras_causal_mask(q_len, k_len, query.device)
            mask = causal if mask is None else mask & causal
        if self.sliding_window is not None:
            rows = torch.arange(q_len, device=query.device)[:, None]
            cols = torch.arange(k_len, device=query.device)[None, :]
            band = ((rows - cols).abs() < self.sliding_window)[None]
            mask = band if mask is None else mask & band
        if attention_mask is not None:
            given = attention_mask.bool()
            if flat:
                given = given.reshape(-1, q_len, k_len)
            mask = given if mask is None else given & mask

        q = q * (1.0 / math.sqrt(float(self.key_dim)))
        scores = torch.einsum("bshk,bthk->bhts", k, q)  # (B, heads, Tq, Tk)
        probs = keras_masked_softmax(scores, None if mask is None else mask.unsqueeze(-3))
        training = self.training if training is None else training
        dropped = F.dropout(probs, self.dropout, training) if self.dropout > 0 else probs
        context = torch.einsum("bhts,bshv->bthv", dropped, v)
        output = torch.einsum("bthv,hve->bte", context, self.output_weight.reshape(self.num_heads, self.value_dim, -1))
        if self.output_bias is not None:
            output = output + self.output_bias.reshape(-1)
        output = output.reshape(batch, *q_axes, *self.output_weight.shape[2:])
        if return_attention_scores:
            return output, probs.reshape(batch, self.num_heads, *q_axes, *k_axes)
        return output


class KerasAttention(nn.Module):
    """keras.layers.Attention (Luong): ``attention([query, value(, key)], mask=[query_mask,
    value_mask], return_attention_scores=False, use_causal_mask=False)``. Scores are
    query . key (times ``scale`` if use_scale) for score_mode "dot", or
    concat_score_weight * sum(tanh(scale * (query + key))) for "concat"."""

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0):
        super().__init__()
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"unknown score_mode {score_mode!r}")
        self.use_scale, self.score_mode, self.dropout = use_scale, score_mode, dropout
        self.scale = nn.Parameter(torch.ones(())) if use_scale else None
        self.concat_score_weight = nn.Parameter(torch.ones(())) if score_mode == "concat" else None

    def scores(self, query, key):
        if self.score_mode == "dot":
            scores = query @ key.transpose(-2, -1)
            return scores if self.scale is None else scores * self.scale
        summed = query.unsqueeze(-2) + key.unsqueeze(-3)
        if self.scale is not None:
            summed = self.scale * summed
        return self.concat_score_weight * torch.tanh(summed).sum(-1)

    def forward(self, inputs, mask=None, return_attention_scores=False, use_causal_mask=False, training=None):
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        q_mask, v_mask = (mask[0], mask[1]) if mask else (None, None)
        scores = self.scores(query, key)
        scores_mask = None if v_mask is None else v_mask.bool().unsqueeze(-2)
        if use_causal_mask:
            causal = keras_causal_mask(scores.shape[-2], scores.shape[-1], scores.device)
            scores_mask = causal if scores_mask is None else scores_mask & causal
        if scores_mask is not None:
            scores = torch.where(scores_mask, scores, scores - 1e9)
        weights = torch.softmax(scores, dim=-1)
        training = self.training if training is None else training
        if training and self.dropout > 0:
            weights = F.dropout(weights, self.dropout, True)
        output = weights @ value
        if q_mask is not None:
            output = torch.where(q_mask.bool().unsqueeze(-1), output, torch.zeros_like(output))
        return (output, weights) if return_attention_scores else output


class KerasAdditiveAttention(nn.modules.lazy.LazyModuleMixin, KerasAttention):
    """keras.layers.AdditiveAttention (Bahdanau): scores sum(scale * tanh(query + key)), with
    ``scale`` a learned vector (dim,) when use_scale (created on the first call)."""

    def __init__(self, use_scale=True, dropout=0.0):
        super().__init__(use_scale=False, dropout=dropout)
        self.use_scale = use_scale
        self.scale = nn.UninitializedParameter() if use_scale else None

    def initialize_parameters(self, inputs, *args, **kwargs):
        if self.has_uninitialized_params():
            dim = int(inputs[0].shape[-1])
            self.scale.materialize((dim,), dtype=inputs[0].dtype, device=inputs[0].device)
            with torch.no_grad():
                self.scale.copy_(keras_initializer("glorot_uniform", (dim,)))

    def scores(self, query, key):
        summed = torch.tanh(query.unsqueeze(-2) + key.unsqueeze(-3))
        return (summed if self.scale is None else self.scale * summed).sum(-1)


class KerasGroupedQueryAttention(nn.Module):
    """keras.layers.GroupQueryAttention: ``num_query_heads`` query heads sharing
    ``num_key_value_heads`` key/value heads (each repeated num_query_heads // num_key_value_heads
    times), scaled dot-product attention per head, an output projection back to the query's
    size; with use_gate, the heads' output times sigmoid(gate(query)) first. Called as Keras'
    layer: ``gqa(query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
    attention_mask=None, return_attention_scores=False, training=None, use_causal_mask=False)``.
    The projections are Keras' EinsumDense layers with its names and weight shapes (query, key,
    gate, value, attention_output), created on the first call."""

    def __init__(
        self,
        head_dim,
        num_query_heads,
        num_key_value_heads,
        dropout=0.0,
        use_bias=True,
        sliding_window=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        use_gate=False,
    ):
        super().__init__()
        if num_query_heads % num_key_value_heads != 0:
            raise ValueError("`num_query_heads` must be divisible by `num_key_value_heads`.")
        self.head_dim, self.num_repeats = head_dim, num_query_heads // num_key_value_heads
        self.dropout, self.sliding_window = dropout, sliding_window
        init = {"kernel_initializer": kernel_initializer, "bias_initializer": bias_initializer}

        def dense(equation, shape, bias_axes, activation=None):
            return KerasEinsumDense(equation, shape, activation, bias_axes if use_bias else None, **init)

        # created in Keras' order, so the parameters list as Keras' weights do
        self.query = dense("bqm,muh->bquh", (None, num_query_heads, head_dim), "uh")
        self.key = dense("bkm,mvh->bkvh", (None, num_key_value_heads, head_dim), "vh")
        self.gate = dense("bqm,muh->bquh", (None, num_query_heads, head_dim), "uh", "sigmoid") if use_gate else None
        self.value = dense("bkm,mvh->bkvh", (None, num_key_value_heads, head_dim), "vh")
        self.attention_output = dense("bquh,uhm->bqm", None, "m")  # (None, query features): first call

    def forward(
        self,
        query,
        value,
        key=None,
        query_mask=None,
        value_mask=None,
        key_mask=None,
        attention_mask=None,
        return_attention_scores=False,
        training=None,
        use_causal_mask=False,
    ):
        key = value if key is None else key
        if self.attention_output.partial_output_shape is None:
            self.attention_output.partial_output_shape = (None, int(query.shape[-1]))
        # the combined mask (B or 1, Tq, Tk), True = attend, as Keras' _compute_attention_mask
        mask = None if query_mask is None else query_mask.bool()[:, :, None]
        for extra in (value_mask, key_mask):
            if extra is not None:
                mask = extra.bool()[:, None, :] if mask is None else mask & extra.bool()[:, None, :]
        q_len, k_len = query.shape[1], value.shape[1]
        if use_causal_mask:
            causal = keras_causal_mask(q_len, k_len, query.device)
            mask = causal if mask is None else mask & causal
        if self.sliding_window is not None:
            rows = torch.arange(q_len, device=query.device)[:, None]
            cols = torch.arange(k_len, device=query.device)[None, :]
            band = ((rows - cols).abs() < self.sliding_window)[None]
            mask = band if mask is None else mask & band
        if attention_mask is not None:
            mask = attention_mask.bool() if mask is None else attention_mask.bool() & mask
        gate = self.gate(query) if self.gate is not None else None
        q = self.query(query) * (1.0 / math.sqrt(float(self.head_dim)))
        k = self.key(key).repeat_interleave(self.num_repeats, dim=2)
        v = self.value(value).repeat_interleave(self.num_repeats, dim=2)
        scores = torch.einsum("bquh,bkuh->buqk", q, k)
        probs = keras_masked_softmax(scores, None if mask is None else mask.unsqueeze(-3))
        training = self.training if training is None else training
        dropped = F.dropout(probs, self.dropout, training) if self.dropout > 0 else probs
        output = torch.einsum("buqk,bkuh->bquh", dropped, v)
        output = self.attention_output(output if gate is None else output * gate)
        return (output, probs) if return_attention_scores else output
