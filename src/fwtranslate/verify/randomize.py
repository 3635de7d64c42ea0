"""Preparing the torch model: random weights, non-trivial BatchNorm statistics, dropout off.

Freshly initialised models hide translation bugs: zero biases, unit norms and zero running
means make a forgotten bias, a swapped gamma/beta or a dropped BatchNorm invisible. Every
parameter is redrawn from a normal with a variance that keeps activations O(1) (1/fan_in for
matrices and kernels), so nothing saturates and every parameter matters.
"""

from __future__ import annotations

import math
from typing import Any

_DROPOUT_ATTRS = ("dropout", "attention_dropout", "dropout_p")


def randomize(model: Any, seed: int) -> None:
    import torch
    import torch.nn as nn

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            p.copy_(_draw(p, leaf, gen))
        stats = set()
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._NormBase) and m.track_running_stats and m.running_mean is not None:
                shape = m.running_mean.shape
                m.running_mean.copy_(0.5 * torch.randn(shape, generator=gen, dtype=torch.float64))
                m.running_var.copy_(0.5 + torch.rand(shape, generator=gen, dtype=torch.float64))
                stats |= {id(m.running_mean), id(m.running_var)}
        for b in model.buffers():
            # other float buffers (offsets, positional tables) are perturbed so they matter too;
            # masks holding -inf keep their meaning
            if id(b) not in stats and b.is_floating_point() and bool(torch.isfinite(b).all()):
                b.add_(0.25 * torch.randn(tuple(b.shape), generator=gen, dtype=torch.float64).to(b))


def _draw(p, leaf: str, gen):
    import torch

    shape = tuple(p.shape)
    z = torch.randn(shape, generator=gen, dtype=torch.float64)
    if len(shape) >= 2:
        fan_in = math.prod(shape[1:]) or 1
        return z / math.sqrt(fan_in)
    if leaf in ("weight", "gamma", "scale") or leaf.endswith("_weight"):
        return 1.0 + 0.25 * z  # norm scales around 1
    return 0.25 * z


def dropout_off(model: Any) -> int:
    """Set every torch dropout probability to 0 (training-mode comparisons); returns how many."""
    import torch.nn as nn

    n = 0
    for m in model.modules():
        if isinstance(m, nn.modules.dropout._DropoutNd):
            m.p = 0.0
            n += 1
        for attr in _DROPOUT_ATTRS:
            if isinstance(getattr(m, attr, None), float):
                setattr(m, attr, 0.0)
                n += 1
    return n


def keras_dropout_off(model: Any) -> int:
    """The same on the Keras side: dropout-like layers get rate 0 (read when traced)."""
    import keras

    n = 0
    kinds = (
        keras.layers.Dropout,
        keras.layers.SpatialDropout1D,
        keras.layers.SpatialDropout2D,
        keras.layers.SpatialDropout3D,
        keras.layers.AlphaDropout,
        keras.layers.GaussianDropout,
    )
    for layer in _all_layers(model):
        if isinstance(layer, kinds):
            layer.rate = 0.0
            n += 1
        elif isinstance(getattr(layer, "dropout", None), float) and hasattr(layer, "_dropout_layer"):
            try:
                layer.dropout = 0.0
            except AttributeError:  # MultiHeadAttention: a read-only property over _dropout
                layer._dropout = 0.0
            layer._dropout_layer.rate = 0.0  # MultiHeadAttention keeps its own Dropout
            n += 1
        elif isinstance(getattr(layer, "rate", None), float) and "dropout" in type(layer).__name__.lower():
            layer.rate = 0.0  # support layers of the translation (e.g. a functional dropout wrapper)
            n += 1
    return n


def _all_layers(model: Any):
    seen = set()
    stack = [model]
    while stack:
        layer = stack.pop()
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        yield layer
        stack.extend(layer._flatten_layers(include_self=False, recursive=False))


def randomize_keras(model: Any, seed: int) -> None:
    """The same for a Keras original (``--to torch``): every float variable redrawn, Keras'
    layouts in mind (kernels are (..., in, out): fan-in is every axis but the last; an
    attention kernel (in, heads, head_dim) has fan-in ``in``), norm scales around 1, BatchNorm
    moving means around 0 and moving variances in [0.5, 1.5]. Seed-generator states are left."""
    import keras
    import numpy as np

    rng = np.random.default_rng(seed)
    for v in model.variables:
        if not keras.backend.is_float_dtype(v.dtype) or v.name == "seed_generator_state":
            continue
        shape = tuple(v.shape)
        z = rng.normal(size=shape)
        name = v.name
        if name == "moving_mean":
            value = 0.5 * z
        elif name == "moving_variance":
            value = 0.5 + rng.uniform(size=shape)
        elif not v.trainable:
            value = np.asarray(v.numpy(), np.float64) + 0.25 * z
        elif len(shape) >= 2:
            if name == "embeddings":
                fan_in = 1
            elif len(shape) == 3 and "attention_output" not in v.path:
                fan_in = shape[0]  # an EinsumDense projection (in, heads, head_dim)
            else:
                fan_in = math.prod(shape[:-1]) or 1
            value = z / math.sqrt(fan_in)
        elif name in ("gamma", "scale") or name.endswith("_weight"):
            value = 1.0 + 0.25 * z
        else:
            value = 0.25 * z
        v.assign(np.asarray(value).astype(v.dtype if isinstance(v.dtype, str) else v.dtype.name))
