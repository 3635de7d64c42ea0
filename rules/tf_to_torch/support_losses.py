"""Keras losses in plain PyTorch (keras.losses classes and functions, keras.ops crossentropies).

Each keras_<name> function computes keras.losses.<name> exactly: the per-sample losses (reduced
over the last axis), Keras' epsilon 1e-7 clips, its rank matching of y_true and y_pred (a
trailing axis of 1 is squeezed where torch would broadcast). KerasLoss is a Keras loss object as
a torch module, called torch's way (input, target) = (y_pred, y_true), with Keras' reduction.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

KERAS_EPSILON = 1e-7  # keras.backend.epsilon()


def _same_rank(x1, x2, expand_rank_1=True):
    """keras.losses.loss.squeeze_or_expand_to_same_rank."""
    if x1.dim() == x2.dim() + 1 and x1.shape[-1] == 1:
        if x2.dim() == 1 and expand_rank_1:
            x2 = x2.unsqueeze(-1)
        else:
            x1 = x1.squeeze(-1)
    if x2.dim() == x1.dim() + 1 and x2.shape[-1] == 1:
        if x1.dim() == 1 and expand_rank_1:
            x1 = x1.unsqueeze(-1)
        else:
            x2 = x2.squeeze(-1)
    return x1, x2


def _pair(y_true, y_pred, same_rank=True):
    """Tensors in y_pred's float dtype (Keras casts y_true to it)."""
    y_pred = torch.as_tensor(y_pred)
    y_pred = y_pred if y_pred.is_floating_point() else y_pred.float()
    y_true = torch.as_tensor(y_true, dtype=y_pred.dtype, device=y_pred.device)
    return _same_rank(y_true, y_pred) if same_rank else (y_true, y_pred)


def keras_reduce(values, reduction="sum_over_batch_size", mask=None):
    """Keras' reduction of per-sample losses: "sum_over_batch_size" / "mean" /
    "mean_with_sample_weight" average them, "sum" sums them, None / "none" keep them. A mask
    (ignore_class) zeroes the ignored losses and averages over the others."""
    if mask is not None:
        mask = mask.to(values.dtype)
        if reduction in ("mean", "sum_over_batch_size", "mean_with_sample_weight"):
            values = values * mask
            valid = mask.sum()
            return torch.where(valid > 0, values.sum() / valid.clamp_min(1), values.sum() * 0)
        values = values * mask
    if reduction is None or reduction == "none" or values.dim() == 0 or tuple(values.shape) == (0,):
        return values
    if reduction == "sum":
        return values.sum()
    return values.sum() / values.numel()


# --- per-sample losses (keras.losses functions; Keras' argument order y_true, y_pred) ---------------
def keras_mean_squared_error(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    return torch.mean(torch.square(y_true - y_pred), dim=-1)


def keras_mean_absolute_error(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    return torch.mean(torch.abs(y_true - y_pred), dim=-1)


def keras_mean_absolute_percentage_error(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    diff = torch.abs((y_true - y_pred) / torch.clamp_min(torch.abs(y_true), KERAS_EPSILON))
    return 100.0 * torch.mean(diff, dim=-1)


def keras_mean_squared_logarithmic_error(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    first = torch.log(torch.clamp_min(y_pred, KERAS_EPSILON) + 1.0)
    second = torch.log(torch.clamp_min(y_true, KERAS_EPSILON) + 1.0)
    return torch.mean(torch.square(first - second), dim=-1)


def _keras_l2_normalize(x, axis):
    """keras.ops.normalize(x, axis): x * min(1 / ||x||, 1 / epsilon)."""
    return x * torch.clamp_max(torch.rsqrt(torch.sum(torch.square(x), dim=axis, keepdim=True)), 1 / KERAS_EPSILON)


def keras_cosine_similarity(y_true, y_pred, axis=-1):
    y_true, y_pred = _pair(y_true, y_pred)
    return -torch.sum(_keras_l2_normalize(y_true, axis) * _keras_l2_normalize(y_pred, axis), dim=axis)


def keras_huber(y_true, y_pred, delta=1.0):
    y_true, y_pred = _pair(y_true, y_pred)
    error = y_pred - y_true
    abs_error = torch.abs(error)
    loss = torch.where(abs_error <= delta, 0.5 * torch.square(error), delta * abs_error - 0.5 * delta**2)
    return torch.mean(loss, dim=-1)


def keras_log_cosh(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred)
    x = y_pred - y_true
    return torch.mean(x + F.softplus(x * -2.0) - math.log(2.0), dim=-1)


def _keras_hinge_labels(y_true):
    """Keras turns labels that are all 0 or 1 into -1 / 1."""
    return 2.0 * y_true - 1.0 if bool(torch.all((y_true == 0) | (y_true == 1))) else y_true


def keras_hinge(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred, same_rank=False)
    return torch.mean(torch.clamp_min(1.0 - _keras_hinge_labels(y_true) * y_pred, 0.0), dim=-1)


def keras_squared_hinge(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred, same_rank=False)
    return torch.mean(torch.square(torch.clamp_min(1.0 - _keras_hinge_labels(y_true) * y_pred, 0.0)), dim=-1)


def keras_categorical_hinge(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred, same_rank=False)
    pos = torch.sum(y_true * y_pred, dim=-1)
    neg = torch.amax((1.0 - y_true) * y_pred, dim=-1)
    return torch.clamp_min(neg - pos + 1.0, 0.0)


def keras_kl_divergence(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred, same_rank=False)
    y_true = torch.clamp(y_true, KERAS_EPSILON, 1)
    y_pred = torch.clamp(y_pred, KERAS_EPSILON, 1)
    return torch.sum(y_true * torch.log(y_true / y_pred), dim=-1)


def keras_poisson(y_true, y_pred):
    y_true, y_pred = _pair(y_true, y_pred, same_rank=False)
    return torch.mean(y_pred - y_true * torch.log(y_pred + KERAS_EPSILON), dim=-1)


def _sum(x, axis):
    return torch.sum(x) if axis is None else torch.sum(x, dim=axis)


def keras_dice(y_true, y_pred, axis=None):
    """1 - 2 sum(y_true y_pred) / (sum(y_true) + sum(y_pred) + 1e-7), over ``axis`` (None: all)."""
    y_true, y_pred = _pair(y_true, y_pred, same_rank=False)
    intersection = _sum(y_true * y_pred, axis)
    return 1 - 2.0 * intersection / (_sum(y_true, axis) + _sum(y_pred, axis) + KERAS_EPSILON)


def keras_tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    y_true, y_pred = _pair(y_true, y_pred, same_rank=False)
    intersection = _sum(y_true * y_pred, axis)
    fp = _sum((1 - y_pred) * y_true, axis)
    fn = _sum(y_pred * (1 - y_true), axis)
    return 1 - intersection / (intersection + fp * alpha + fn * beta + KERAS_EPSILON)


def keras_categorical_generalized_cross_entropy(y_true, y_pred, q):
    """(1 - p^q) / q, p the predicted probability of the (integer) true class."""
    y_pred = torch.as_tensor(y_pred)
    y_true = torch.as_tensor(y_true, device=y_pred.device)
    one_hot = F.one_hot(y_true.long(), y_pred.shape[-1]).to(y_pred.dtype)
    return (1 - torch.pow(torch.sum(y_pred * one_hot, dim=-1), q)) / q


# --- crossentropies -------------------------------------------------------------------------------
def keras_ops_binary_crossentropy(target, output, from_logits=False):
    """keras.ops.binary_crossentropy: elementwise; probabilities are clipped to [1e-7, 1 - 1e-7]
    (torch's F.binary_cross_entropy clamps the logs at -100 instead)."""
    target, output = _pair(target, output, same_rank=False)
    if from_logits:
        return F.binary_cross_entropy_with_logits(output, target, reduction="none")
    output = torch.clamp(output, KERAS_EPSILON, 1.0 - KERAS_EPSILON)
    return -(target * torch.log(output) + (1 - target) * torch.log(1 - output))


def keras_ops_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """keras.ops.categorical_crossentropy: probabilities are renormalised, then clipped."""
    target, output = _pair(target, output, same_rank=False)
    if from_logits:
        return -torch.sum(target * F.log_softmax(output, dim=axis), dim=axis)
    output = output / torch.sum(output, dim=axis, keepdim=True)
    output = torch.clamp(output, KERAS_EPSILON, 1.0 - KERAS_EPSILON)
    return -torch.sum(target * torch.log(output), dim=axis)


def keras_ops_sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """keras.ops.sparse_categorical_crossentropy: classes on the last axis; probabilities clipped."""
    output = torch.as_tensor(output)
    target = torch.as_tensor(target, device=output.device).long()
    if target.dim() == output.dim() and target.shape[-1] == 1:
        target = target.squeeze(-1)
    if axis not in (-1, output.dim() - 1):
        raise ValueError(f"Only axis=-1 is currently supported. Received: axis={axis}")
    if not from_logits:
        output = torch.log(torch.clamp(output, KERAS_EPSILON, 1 - KERAS_EPSILON))
    log_probs = F.log_softmax(output, dim=-1)
    return -torch.gather(log_probs, -1, target.unsqueeze(-1)).squeeze(-1)


def keras_binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    y_true, y_pred = _pair(y_true, y_pred, same_rank=False)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    return torch.mean(keras_ops_binary_crossentropy(y_true, y_pred, from_logits), dim=axis)


def keras_categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    y_true, y_pred = _pair(y_true, y_pred, same_rank=False)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]
    return keras_ops_categorical_crossentropy(y_true, y_pred, from_logits, axis)


def keras_sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """With ignore_class, the ignored losses are 0 and the result carries the mask (as Keras'
    does) that KerasLoss averages over."""
    y_pred = torch.as_tensor(y_pred)
    y_true = torch.as_tensor(y_true, device=y_pred.device)
    if y_true.dim() == y_pred.dim() and y_true.shape[axis] == 1:
        y_true = y_true.squeeze(axis)
    if ignore_class is None:
        return keras_ops_sparse_categorical_crossentropy(y_true, y_pred, from_logits, axis)
    valid = y_true != ignore_class
    y_true = torch.where(valid, y_true, torch.zeros_like(y_true))
    y_pred = torch.where(valid.unsqueeze(axis), y_pred, torch.zeros_like(y_pred))
    res = keras_ops_sparse_categorical_crossentropy(y_true, y_pred, from_logits, axis)
    res = torch.where(valid, res, torch.zeros_like(res))
    res._keras_mask = valid
    return res


def keras_binary_focal_crossentropy(
    y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1
):
    y_true, y_pred = _pair(y_true, y_pred, same_rank=False)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        y_pred = torch.sigmoid(y_pred)
    bce = keras_ops_binary_crossentropy(y_true, y_pred)
    p_t = y_true * y_pred + (1 - y_true) * (1 - y_pred)
    focal_bce = torch.pow(1.0 - p_t, gamma) * bce
    if apply_class_balancing:
        focal_bce = (y_true * alpha + (1 - y_true) * (1 - alpha)) * focal_bce
    return torch.mean(focal_bce, dim=axis)


def keras_categorical_focal_crossentropy(
    y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1
):
    y_true, y_pred = _pair(y_true, y_pred, same_rank=False)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]
    if from_logits:
        y_pred = torch.softmax(y_pred, dim=axis)
    output = y_pred / torch.sum(y_pred, dim=axis, keepdim=True)
    output = torch.clamp(output, KERAS_EPSILON, 1.0 - KERAS_EPSILON)
    focal = torch.pow(1.0 - output, gamma) * alpha * (-y_true * torch.log(output))
    return torch.sum(focal, dim=axis)


# --- loss objects -----------------------------------------------------------------------------------
class KerasLoss(nn.Module):
    """A keras.losses object: called torch's way, (input, target) = (y_pred, y_true); the
    per-sample losses of ``fn`` after Keras' rank matching, then Keras' reduction. torch's own
    losses differ: they broadcast (N, 1) against (N,), take classes on axis 1, clamp logs at
    -100 instead of clipping probabilities at 1e-7."""

    def __init__(self, fn, reduction="sum_over_batch_size", **kwargs):
        super().__init__()
        self.fn = fn
        self.reduction = reduction
        self.kwargs = kwargs

    def forward(self, input, target):
        input = torch.as_tensor(input)
        target = torch.as_tensor(target, device=input.device)
        target, input = _same_rank(target, input)
        losses = self.fn(target, input, **self.kwargs)
        return keras_reduce(losses, self.reduction, getattr(losses, "_keras_mask", None))
