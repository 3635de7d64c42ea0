"""Support code for translated Keras models (Keras -> PyTorch): random numbers (keras.random,
tf.random) and dropout with a Keras noise_shape.

Keras' seeds (``seed=``, SeedGenerator) are not translated: these draw from torch's global
generator, so ``torch.manual_seed`` makes a translated model reproducible, and the numbers
match Keras in distribution (shape, dtype, bounds, moments), never sample by sample.
"""

import random

import numpy as np
import torch
from torch import nn

from support_ops import keras_dtype


def _keras_shape(shape):
    """A Keras shape argument (tuple/list of ints or 0-d tensors, a torch.Size, an int) as a
    tuple of Python ints."""
    if isinstance(shape, int):
        return (shape,)
    if isinstance(shape, torch.Tensor):
        return tuple(int(s) for s in shape.reshape(-1).tolist())
    return tuple(int(s) for s in shape)


def keras_random_uniform(shape, minval=0.0, maxval=1.0, dtype=None):
    """keras.random.uniform / tf.random.uniform: values drawn uniformly from [minval, maxval),
    float32 unless ``dtype`` says otherwise (a Keras dtype name or a torch dtype; an integer
    dtype draws integers, as tf.random.uniform does)."""
    dtype = keras_dtype(dtype) if dtype is not None else torch.float32
    if not dtype.is_floating_point:  # tf.random.uniform with an integer dtype: integers
        return torch.randint(int(minval), int(maxval), _keras_shape(shape), dtype=dtype)
    return torch.empty(_keras_shape(shape), dtype=dtype).uniform_(float(minval), float(maxval))


def keras_random_normal(shape, mean=0.0, stddev=1.0, dtype=None):
    """keras.random.normal: values drawn from N(mean, stddev**2), float32 by default."""
    dtype = keras_dtype(dtype) if dtype is not None else torch.float32
    return torch.empty(_keras_shape(shape), dtype=dtype).normal_(float(mean), float(stddev))


def keras_truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None):
    """keras.random.truncated_normal: N(mean, stddev**2) with the values more than two stddev
    away from the mean redrawn (TensorFlow's truncation), float32 by default."""
    dtype = keras_dtype(dtype) if dtype is not None else torch.float32
    out = torch.empty(_keras_shape(shape), dtype=dtype)
    mean, stddev = float(mean), float(stddev)
    return nn.init.trunc_normal_(out, mean, stddev, mean - 2.0 * stddev, mean + 2.0 * stddev)


def keras_dropout(inputs, rate, noise_shape=None):
    """keras.random.dropout / a Dropout layer in training: each element (or, with
    ``noise_shape``, each slice sharing a mask value) is zeroed with probability ``rate``, the
    kept ones scaled by 1 / (1 - rate). ``noise_shape`` has the input's rank; a None entry is
    the input's size on that axis, a 1 shares the mask along it (Keras' semantics)."""
    if noise_shape is None:
        return nn.functional.dropout(inputs, float(rate), training=True)
    if len(noise_shape) != inputs.dim():
        raise ValueError(f"noise_shape {tuple(noise_shape)} does not match the input's rank {inputs.dim()}")
    shape = [inputs.shape[i] if s is None else int(s) for i, s in enumerate(noise_shape)]
    keep = 1.0 - float(rate)
    if keep <= 0.0:
        return torch.zeros_like(inputs)
    mask = torch.empty(shape, dtype=inputs.dtype, device=inputs.device).bernoulli_(keep)
    return inputs * mask / keep


class KerasDropout(nn.Module):
    """keras.layers.Dropout(rate, noise_shape=...): the identity in evaluation (model.eval());
    in training ``keras_dropout`` with the noise shape (noise_shape=(None, 1, 1, 1) drops whole
    samples: the stochastic depth of EfficientNet's blocks)."""

    def __init__(self, rate, noise_shape=None):
        super().__init__()
        self.rate = rate
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)

    def forward(self, x):
        if not self.training or self.rate == 0:
            return x
        return keras_dropout(x, self.rate, noise_shape=self.noise_shape)

    def extra_repr(self):
        return f"rate={self.rate}, noise_shape={self.noise_shape}"


def set_random_seed(seed):
    """keras.utils.set_random_seed: Python's, NumPy's and torch's generators, as Keras seeds
    Python's, NumPy's and its backend's."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
