"""Support functions for the Keras 2 backend functions (``from keras import backend as K``:
``K.switch``, ``K.set_value``, ``K.spatial_2d_padding``...) with no one-call torch equivalent.
Tensors are channels last, as in Keras."""

import numpy as np
import torch
import torch.nn.functional as F

from support_losses import keras_ops_binary_crossentropy
from support_ops import keras_dtype


def keras_get_value(x):
    """K.get_value / K.eval: the value as a numpy array (anything not a tensor as it is)."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return x


def keras_set_value(x, value):
    """K.set_value / K.update: a variable's value replaced in place, outside autograd."""
    value = value.detach() if isinstance(value, torch.Tensor) else np.asarray(value)
    with torch.no_grad():
        x.copy_(torch.as_tensor(value, dtype=x.dtype))
    return x


def keras_dtype_name(x):
    """K.dtype: the dtype's name, "float32"."""
    return str(x.dtype).removeprefix("torch.")


def keras_to_dense(tensor):
    """K.to_dense: a sparse tensor made dense, any other passed through."""
    return tensor.to_dense() if getattr(tensor, "is_sparse", False) else tensor


def keras_k_switch(condition, then_expression, else_expression):
    """K.switch: a scalar condition picks a branch (callables are called only when picked); a
    tensor condition picks elementwise, broadcast from the left."""
    condition = torch.as_tensor(condition).to(torch.bool)
    if condition.dim() == 0:
        branch = then_expression if bool(condition) else else_expression
        return branch() if callable(branch) else branch
    then_value = then_expression() if callable(then_expression) else then_expression
    else_value = else_expression() if callable(else_expression) else else_expression
    then_value = torch.as_tensor(then_value)
    while condition.dim() < then_value.dim():  # Keras tiles the condition over trailing axes
        condition = condition.unsqueeze(-1)
    return torch.where(condition, then_value, else_value)


def keras_in_train_phase(x, alt, training=None):
    """K.in_train_phase: x when training (called if callable), else alt; training None is the
    learning phase, 0 (inference) outside Keras' fit."""
    chosen = x if training is not None and bool(training) else alt
    return chosen() if callable(chosen) else chosen


def keras_print_tensor(x, message="", summarize=3):
    """K.print_tensor: prints the message and the tensor, returns the tensor."""
    print(message, x)
    return x


def keras_spatial_padding(x, padding, data_format=None):
    """K.temporal_padding / spatial_2d_padding / spatial_3d_padding: zeros before and after each
    spatial axis, ((before, after), ...) in axis order."""
    pairs = [tuple(p) for p in padding]
    flat = tuple(v for pair in reversed(pairs) for v in pair)
    if data_format == "channels_first":
        return F.pad(x, flat)
    return F.pad(x, (0, 0, *flat))


def keras_resize_images(x, height_factor, width_factor, data_format, interpolation="nearest"):
    """K.resize_images: integer up-scaling; nearest repeats rows and columns, bilinear is
    TensorFlow's half-pixel bilinear."""
    first = data_format == "channels_first"
    rows = 2 if first else 1
    if interpolation == "nearest":
        x = torch.repeat_interleave(x, height_factor, dim=rows)
        return torch.repeat_interleave(x, width_factor, dim=rows + 1)
    if interpolation != "bilinear":
        raise ValueError(f"resize_images with interpolation {interpolation!r} is not translated")
    y = x if first else x.movedim(-1, 1)
    size = (y.shape[2] * height_factor, y.shape[3] * width_factor)
    y = F.interpolate(y, size=size, mode="bilinear", align_corners=False)
    return y if first else y.movedim(1, -1)


def keras_resize_volumes(x, depth_factor, height_factor, width_factor, data_format):
    """K.resize_volumes: each spatial axis repeated by its factor."""
    first = data_format == "channels_first"
    axis = 2 if first else 1
    for offset, factor in enumerate((depth_factor, height_factor, width_factor)):
        x = torch.repeat_interleave(x, factor, dim=axis + offset)
    return x


def keras_k_binary_focal_crossentropy(
    target, output, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False
):
    """K.binary_focal_crossentropy: elementwise binary cross entropy times (1 - p_t) ** gamma
    (and the alpha class weight when balancing)."""
    probabilities = torch.sigmoid(output) if from_logits else output
    p_t = target * probabilities + (1 - target) * (1 - probabilities)
    focal = torch.pow(1.0 - p_t, gamma) * keras_ops_binary_crossentropy(target, output, from_logits=from_logits)
    if apply_class_balancing:
        focal = (target * alpha + (1 - target) * (1 - alpha)) * focal
    return focal


def keras_k_categorical_focal_crossentropy(target, output, alpha=0.25, gamma=2.0, from_logits=False, axis=-1):
    """K.categorical_focal_crossentropy: renormalised, clipped probabilities; the cross entropy of
    each class weighted by alpha (1 - p) ** gamma, summed along axis."""
    if from_logits:
        output = torch.softmax(output, dim=axis)
    output = output / torch.sum(output, dim=axis, keepdim=True)
    output = torch.clamp(output, 1e-7, 1.0 - 1e-7)
    focal = torch.pow(1.0 - output, gamma) * alpha * (-target * torch.log(output))
    return torch.sum(focal, dim=axis)


def keras_is_float_dtype(dtype):
    """keras.backend.is_float_dtype: a floating-point dtype (a name, a Python type or a torch dtype)."""
    return keras_dtype(dtype).is_floating_point


def keras_is_int_dtype(dtype):
    """keras.backend.is_int_dtype: a signed or unsigned integer dtype (bool is not one)."""
    dtype = keras_dtype(dtype)
    return not dtype.is_floating_point and not dtype.is_complex and dtype != torch.bool


def keras_k_mean(x, axis=None, keepdims=False):
    """K.mean: a boolean tensor is averaged as float32."""
    x = torch.as_tensor(x)
    return torch.mean(x.float() if x.dtype == torch.bool else x, dim=axis, keepdim=keepdims)


def keras_cast_to_floatx(x):
    """K.cast_to_floatx: a tensor as float32, anything else as a float32 numpy array."""
    if isinstance(x, torch.Tensor):
        return x.to(torch.float32)
    return np.asarray(x, dtype="float32")


def keras_foldl(fn, elems, initializer=None):
    """K.foldl: fn(accumulator, element) over the first axis, from the first element (which is
    the initial accumulator when initializer is None)."""
    items = list(torch.unbind(elems, 0))
    accumulator = items.pop(0) if initializer is None else initializer
    for item in items:
        accumulator = fn(accumulator, item)
    return accumulator


def keras_foldr(fn, elems, initializer=None):
    """K.foldr: keras_foldl from the last element backwards."""
    return keras_foldl(fn, torch.flip(elems, dims=(0,)), initializer)


def keras_update_add(x, increment):
    """K.update_add: a variable incremented in place."""
    return keras_set_value(x, x + increment)


def keras_update_sub(x, decrement):
    """K.update_sub: a variable decremented in place."""
    return keras_set_value(x, x - decrement)


def keras_moving_average_update(x, value, momentum):
    """K.moving_average_update: x -= (x - value) * (1 - momentum), in place."""
    return keras_set_value(x, x - (x - value) * (1 - momentum))
