"""Guessing the input of a model from its first layer, when --input-shape is not given.

"First" is the first parameterised module in registration order, which is almost always the
first one applied; the guess is reported, so a wrong one is visible.
"""

from __future__ import annotations

from typing import Any

from .spec import BATCH_RANGE, Dim, InputSpec, SpecError, TensorSpec

_SPATIAL = {1: (32,), 2: (16, 16), 3: (8, 8, 8)}
_SEQ = 6


def infer_spec(model: Any) -> InputSpec:
    import torch.nn as nn

    batch = Dim(None, "B", *BATCH_RANGE)
    for path, m in model.named_modules():
        where = f"{type(m).__name__} at '{path or '<root>'}'"
        if isinstance(m, nn.Embedding):
            return _one((batch, Dim(_SEQ)), "int64", (0, m.num_embeddings), where)
        if isinstance(m, nn.EmbeddingBag):
            return _one((batch, Dim(_SEQ)), "int64", (0, m.num_embeddings), where)
        if isinstance(m, nn.Linear) and not isinstance(m, nn.LazyLinear):
            return _one((batch, Dim(m.in_features)), "float32", None, where)
        if isinstance(m, nn.Bilinear):
            raise SpecError(f"cannot guess the inputs of {where} (two inputs): give --input-shape")
        if isinstance(m, nn.modules.conv._ConvNd) and not isinstance(m, nn.modules.lazy.LazyModuleMixin):
            nd = len(m.kernel_size)
            return _one((batch, Dim(m.in_channels), *(Dim(s) for s in _SPATIAL[nd])), "float32", None, where)
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and not isinstance(m, nn.modules.lazy.LazyModuleMixin):
            nd = {"BatchNorm1d": 0, "BatchNorm2d": 2, "BatchNorm3d": 3}.get(type(m).__name__, 0)
            spatial = tuple(Dim(s) for s in _SPATIAL[nd]) if nd else ()
            return _one((batch, Dim(m.num_features), *spatial), "float32", None, where)
        if isinstance(m, nn.LayerNorm):
            return _one(
                (batch, Dim(_SEQ), *(Dim(s) for s in m.normalized_shape))
                if len(m.normalized_shape) == 1
                else (batch, *(Dim(s) for s in m.normalized_shape)),
                "float32",
                None,
                where,
            )
        if isinstance(m, nn.RNNBase):
            if m.batch_first:
                return _one((batch, Dim(_SEQ), Dim(m.input_size)), "float32", None, where)
            return _one((Dim(_SEQ), Dim(None, "B", *BATCH_RANGE), Dim(m.input_size)), "float32", None, where)
        if isinstance(m, nn.MultiheadAttention):
            raise SpecError(f"cannot guess the inputs of {where} (query, key, value): give --input-shape")
    raise SpecError(
        "cannot guess the input shape (no Linear, Conv, Embedding, norm or RNN layer found): give --input-shape"
    )


def _one(dims, dtype, value_range, where) -> InputSpec:
    low, high = value_range if value_range else (-2.0, 2.0)
    return InputSpec((TensorSpec(tuple(dims), dtype, low, high),), inferred_from=where)
