"""PyTorch losses in plain Keras 3 (torch.nn *Loss modules and torch.nn.functional losses).

Each torch_<name> function computes torch.nn.functional.<name> exactly: torch's class axis 1,
torch's clamps, and torch's reductions ("mean" over every element, "sum", "none"), which Keras'
own reductions (a mean over the last axis first) do not match. Each Torch<Name>Loss class is the
module: a keras.losses.Loss called the Keras way, (y_true, y_pred), so that it also works in
model.compile(loss=...); the losses with three inputs, which Keras lacks, take torch's first two
arguments swapped the same way (the training pass swaps them at every loss object's call site).
"""

import math

import keras

from support_ops import torch_cross_entropy, torch_nll_loss, torch_reduce


# --- functional forms (torch's argument order) ------------------------------------------------------
def _as_float(target, input):
    """torch computes these losses in the prediction's dtype."""
    return keras.ops.cast(target, input.dtype)


def _weighted(loss, weight):
    return loss if weight is None else loss * weight


def torch_mse_loss(input, target, reduction="mean"):
    """F.mse_loss."""
    return torch_reduce(keras.ops.square(input - _as_float(target, input)), reduction)


def torch_l1_loss(input, target, reduction="mean"):
    """F.l1_loss."""
    return torch_reduce(keras.ops.abs(input - _as_float(target, input)), reduction)


def torch_huber_loss(input, target, reduction="mean", delta=1.0):
    """F.huber_loss: 0.5 d^2 where |d| < delta, else delta (|d| - delta / 2)."""
    diff = keras.ops.abs(input - _as_float(target, input))
    loss = keras.ops.where(diff < delta, 0.5 * keras.ops.square(diff), delta * (diff - 0.5 * delta))
    return torch_reduce(loss, reduction)


def torch_smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """F.smooth_l1_loss: 0.5 d^2 / beta where |d| < beta, else |d| - beta / 2 (the L1 loss for beta 0)."""
    diff = keras.ops.abs(input - _as_float(target, input))
    if beta == 0:
        return torch_reduce(diff, reduction)
    loss = keras.ops.where(diff < beta, 0.5 * keras.ops.square(diff) / beta, diff - 0.5 * beta)
    return torch_reduce(loss, reduction)


def torch_binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """F.binary_cross_entropy: torch clamps each log at -100 (Keras clips the probabilities at 1e-7)."""
    target = _as_float(target, input)
    log_p = keras.ops.maximum(keras.ops.log(input), -100.0)
    log_q = keras.ops.maximum(keras.ops.log(1 - input), -100.0)
    value = -(target * log_p + (1 - target) * log_q)
    # torch's gradient, (p - t) / max(p (1 - p), 1e-12), also where p is 0 or 1 (log's is inf there)
    grad = (input - target) / keras.ops.maximum(input * (1 - input), 1e-12)
    stop = keras.ops.stop_gradient
    loss = stop(value) + stop(grad) * (input - stop(input))
    return torch_reduce(_weighted(loss, weight), reduction)


def torch_binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """F.binary_cross_entropy_with_logits, torch's formula (pos_weight scales the positive term)."""
    target = _as_float(target, input)
    log_sigmoid_neg = keras.ops.log1p(keras.ops.exp(-keras.ops.abs(input))) + keras.ops.maximum(-input, 0.0)
    if pos_weight is None:
        loss = (1 - target) * input + log_sigmoid_neg
    else:
        loss = (1 - target) * input + (1 + (pos_weight - 1) * target) * log_sigmoid_neg
    return torch_reduce(_weighted(loss, weight), reduction)


def torch_kl_div(input, target, reduction="mean", log_target=False):
    """F.kl_div: input holds log-probabilities; target probabilities (log-probabilities with
    log_target); 0 log 0 = 0; "batchmean" divides the sum by the batch size."""
    target = _as_float(target, input)
    if log_target:
        loss = keras.ops.exp(target) * (target - input)
    else:
        positive = target > 0
        loss = keras.ops.where(positive, target * keras.ops.log(keras.ops.where(positive, target, 1.0)), 0.0)
        loss = loss - target * input
    if reduction == "batchmean":
        return keras.ops.sum(loss) / input.shape[0] if len(input.shape) else keras.ops.sum(loss)
    return torch_reduce(loss, reduction)


def torch_cosine_embedding_loss(input1, input2, target, margin=0.0, reduction="mean"):
    """F.cosine_embedding_loss: 1 - cos for target 1, max(0, cos - margin) for target -1 (cosine
    over the last axis, torch's 1e-12 added to each squared norm)."""
    dot = keras.ops.sum(input1 * input2, axis=-1)
    norms = (keras.ops.sum(input1 * input1, axis=-1) + 1e-12) * (keras.ops.sum(input2 * input2, axis=-1) + 1e-12)
    cos = dot / keras.ops.sqrt(norms)
    target = _as_float(target, cos)
    zero = keras.ops.zeros_like(cos)
    loss = keras.ops.where(target == 1, 1 - cos, zero) + keras.ops.where(
        target == -1, keras.ops.maximum(cos - margin, 0.0), zero
    )
    return torch_reduce(loss, reduction)


def torch_margin_ranking_loss(input1, input2, target, margin=0.0, reduction="mean"):
    """F.margin_ranking_loss: max(0, -target (input1 - input2) + margin)."""
    target = _as_float(target, input1)
    return torch_reduce(keras.ops.maximum(-target * (input1 - input2) + margin, 0.0), reduction)


def torch_soft_margin_loss(input, target, reduction="mean"):
    """F.soft_margin_loss: log(1 + exp(-target input))."""
    return torch_reduce(keras.ops.softplus(-_as_float(target, input) * input), reduction)


def torch_hinge_embedding_loss(input, target, margin=1.0, reduction="mean"):
    """F.hinge_embedding_loss: input where target is 1, max(0, margin - input) where it is -1."""
    zero = keras.ops.zeros_like(input)
    loss = keras.ops.where(target != 1, keras.ops.maximum(margin - input, 0.0), zero)
    return torch_reduce(loss + keras.ops.where(target != -1, input, zero), reduction)


def torch_poisson_nll_loss(input, target, log_input=True, full=False, eps=1e-8, reduction="mean"):
    """F.poisson_nll_loss, with torch's Stirling term (where target > 1) when full."""
    target = _as_float(target, input)
    if log_input:
        loss = keras.ops.exp(input) - target * input
    else:
        loss = input - target * keras.ops.log(input + eps)
    if full:
        safe = keras.ops.where(target > 1, target, 1.0)
        stirling = safe * keras.ops.log(safe) - safe + 0.5 * keras.ops.log(2 * math.pi * safe)
        loss = loss + keras.ops.where(target > 1, stirling, 0.0)
    return torch_reduce(loss, reduction)


def torch_multilabel_soft_margin_loss(input, target, weight=None, reduction="mean"):
    """F.multilabel_soft_margin_loss: the mean over the classes (last axis) of the binary
    cross-entropies from logits."""
    target = _as_float(target, input)
    loss = -(target * keras.ops.log_sigmoid(input) + (1 - target) * keras.ops.log_sigmoid(-input))
    return torch_reduce(keras.ops.mean(_weighted(loss, weight), axis=-1), reduction)


def _pairwise_distance(x1, x2, p, eps):
    """F.pairwise_distance: the p-norm of x1 - x2 + eps over the last axis."""
    diff = keras.ops.abs(x1 - x2 + eps)
    if p == math.inf:
        return keras.ops.max(diff, axis=-1)
    return keras.ops.power(keras.ops.sum(keras.ops.power(diff, p), axis=-1), 1.0 / p)


def torch_triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2.0, eps=1e-6, swap=False, reduction="mean"):
    """F.triplet_margin_loss: max(0, margin + d(anchor, positive) - d(anchor, negative)); with
    swap, the negative distance is the smaller of d(anchor, negative) and d(positive, negative)."""
    d_neg = _pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = keras.ops.minimum(d_neg, _pairwise_distance(positive, negative, p, eps))
    loss = keras.ops.maximum(margin + _pairwise_distance(anchor, positive, p, eps) - d_neg, 0.0)
    return torch_reduce(loss, reduction)


def torch_gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """F.gaussian_nll_loss: 0.5 (log var + (input - target)^2 / var); a var one axis short gets
    it back; var is clamped at eps without changing its gradient (torch clamps under no_grad)."""
    var = keras.ops.convert_to_tensor(var, dtype=input.dtype)
    if len(var.shape) == len(input.shape) - 1 and tuple(var.shape) == tuple(input.shape[:-1]):
        var = keras.ops.expand_dims(var, -1)
    var = var + keras.ops.stop_gradient(keras.ops.maximum(var, eps) - var)
    loss = 0.5 * (keras.ops.log(var) + keras.ops.square(input - _as_float(target, input)) / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return torch_reduce(loss, reduction)


def torch_multi_margin_loss(input, target, p=1, margin=1.0, weight=None, reduction="mean"):
    """F.multi_margin_loss: the mean over the classes j != y of max(0, margin - x[y] + x[j])^p,
    times weight[y]; the classes on the last axis of a (N, C) or (C,) input."""
    classes = input.shape[-1]
    one_hot = keras.ops.one_hot(target, classes, dtype=input.dtype)
    x_y = keras.ops.sum(input * one_hot, axis=-1, keepdims=True)
    hinge = keras.ops.maximum(margin - x_y + input, 0.0)
    hinge = hinge if p == 1 else keras.ops.square(hinge)
    if weight is not None:
        hinge = hinge * keras.ops.sum(one_hot * weight, axis=-1, keepdims=True)
    return torch_reduce(keras.ops.sum(hinge * (1 - one_hot), axis=-1) / classes, reduction)


def torch_multilabel_margin_loss(input, target, reduction="mean"):
    """F.multilabel_margin_loss: target holds class indices up to the first -1; the sum over
    target classes j and other classes i of max(0, 1 - (x[j] - x[i])), over the class count."""
    classes = input.shape[-1]
    listed = keras.ops.cumprod(keras.ops.cast(keras.ops.not_equal(target, -1), input.dtype), axis=-1)
    safe = keras.ops.where(keras.ops.not_equal(target, -1), target, 0)
    one_hot = keras.ops.one_hot(safe, classes, dtype=input.dtype) * keras.ops.expand_dims(listed, -1)
    is_target = keras.ops.max(one_hot, axis=-2)
    hinge = keras.ops.maximum(1 - (keras.ops.expand_dims(input, -1) - keras.ops.expand_dims(input, -2)), 0.0)
    pairs = keras.ops.expand_dims(is_target, -1) * keras.ops.expand_dims(1 - is_target, -2)
    return torch_reduce(keras.ops.sum(hinge * pairs, axis=(-2, -1)) / classes, reduction)


# --- modules (called the Keras way: y_true, y_pred) -------------------------------------------------
class TorchLoss(keras.losses.Loss):
    """Base of the translated torch loss modules. ``reduction`` is torch's; the inputs keep their
    dtype (keras.losses.Loss would cast both, integer class targets included, to floatx)."""

    def __init__(self, reduction="mean"):
        super().__init__(reduction=None)
        self.reduction = reduction

    def __call__(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None:
            raise ValueError("a translated torch loss takes no sample_weight")
        return self.call(keras.ops.convert_to_tensor(y_true), keras.ops.convert_to_tensor(y_pred))


class TorchMSELoss(TorchLoss):
    """nn.MSELoss with reduction "sum" or "none" (Keras sums or keeps per-sample means)."""

    def call(self, y_true, y_pred):
        return torch_mse_loss(y_pred, y_true, self.reduction)


class TorchL1Loss(TorchLoss):
    """nn.L1Loss with reduction "sum" or "none"."""

    def call(self, y_true, y_pred):
        return torch_l1_loss(y_pred, y_true, self.reduction)


class TorchHuberLoss(TorchLoss):
    """nn.HuberLoss with reduction "sum" or "none"."""

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction)
        self.delta = delta

    def call(self, y_true, y_pred):
        return torch_huber_loss(y_pred, y_true, self.reduction, self.delta)


class TorchSmoothL1Loss(TorchLoss):
    """nn.SmoothL1Loss (Keras' Huber is smooth L1 times beta)."""

    def __init__(self, reduction="mean", beta=1.0):
        super().__init__(reduction)
        self.beta = beta

    def call(self, y_true, y_pred):
        return torch_smooth_l1_loss(y_pred, y_true, self.reduction, self.beta)


class TorchBCELoss(TorchLoss):
    """nn.BCELoss: torch clamps the logs at -100, Keras clips the probabilities at 1e-7."""

    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction)
        self.weight = weight

    def call(self, y_true, y_pred):
        return torch_binary_cross_entropy(y_pred, y_true, self.weight, self.reduction)


class TorchBCEWithLogitsLoss(TorchLoss):
    """nn.BCEWithLogitsLoss with a weight, a pos_weight or reduction "sum" / "none"."""

    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__(reduction)
        self.weight = weight
        self.pos_weight = pos_weight

    def call(self, y_true, y_pred):
        return torch_binary_cross_entropy_with_logits(y_pred, y_true, self.weight, self.reduction, self.pos_weight)


class TorchCrossEntropyLoss(TorchLoss):
    """nn.CrossEntropyLoss: logits with the classes on axis 1 (Keras: the last axis), class-index
    or class-probability targets, torch's weighted mean and ignore_index."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(reduction)
        self.weight = weight
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def call(self, y_true, y_pred):
        return torch_cross_entropy(y_pred, y_true, self.weight, self.ignore_index, self.reduction, self.label_smoothing)


class TorchNLLLoss(TorchLoss):
    """nn.NLLLoss: log-probabilities with the classes on axis 1, torch's weighted mean."""

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        self.weight = weight
        self.ignore_index = ignore_index

    def call(self, y_true, y_pred):
        return torch_nll_loss(y_pred, y_true, self.weight, self.ignore_index, self.reduction)


class TorchKLDivLoss(TorchLoss):
    """nn.KLDivLoss: the prediction holds log-probabilities (Keras' KLDivergence takes
    probabilities and clips them)."""

    def __init__(self, reduction="mean", log_target=False):
        super().__init__(reduction)
        self.log_target = log_target

    def call(self, y_true, y_pred):
        return torch_kl_div(y_pred, y_true, self.reduction, self.log_target)


class TorchSoftMarginLoss(TorchLoss):
    """nn.SoftMarginLoss."""

    def call(self, y_true, y_pred):
        return torch_soft_margin_loss(y_pred, y_true, self.reduction)


class TorchHingeEmbeddingLoss(TorchLoss):
    """nn.HingeEmbeddingLoss."""

    def __init__(self, margin=1.0, reduction="mean"):
        super().__init__(reduction)
        self.margin = margin

    def call(self, y_true, y_pred):
        return torch_hinge_embedding_loss(y_pred, y_true, self.margin, self.reduction)


class TorchPoissonNLLLoss(TorchLoss):
    """nn.PoissonNLLLoss (Keras' Poisson adds 1e-7 inside the log and averages the last axis first)."""

    def __init__(self, log_input=True, full=False, eps=1e-8, reduction="mean"):
        super().__init__(reduction)
        self.log_input = log_input
        self.full = full
        self.eps = eps

    def call(self, y_true, y_pred):
        return torch_poisson_nll_loss(y_pred, y_true, self.log_input, self.full, self.eps, self.reduction)


class TorchMultiLabelSoftMarginLoss(TorchLoss):
    """nn.MultiLabelSoftMarginLoss."""

    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction)
        self.weight = weight

    def call(self, y_true, y_pred):
        return torch_multilabel_soft_margin_loss(y_pred, y_true, self.weight, self.reduction)


class TorchPairLoss:
    """Base of the torch losses of two inputs and a target: Keras has none. Like every translated
    loss object it takes torch's first two arguments swapped (the training pass swaps them at
    the call sites): (input2, input1, target)."""

    def __init__(self, margin=0.0, reduction="mean"):
        self.margin = margin
        self.reduction = reduction


class TorchCosineEmbeddingLoss(TorchPairLoss):
    """nn.CosineEmbeddingLoss."""

    def __call__(self, input2, input1, target):
        return torch_cosine_embedding_loss(input1, input2, target, self.margin, self.reduction)


class TorchMarginRankingLoss(TorchPairLoss):
    """nn.MarginRankingLoss."""

    def __call__(self, input2, input1, target):
        return torch_margin_ranking_loss(input1, input2, target, self.margin, self.reduction)


class TorchMultiMarginLoss(TorchLoss):
    """nn.MultiMarginLoss (Keras' CategoricalHinge takes one-hot labels and the largest wrong class only)."""

    def __init__(self, p=1, margin=1.0, weight=None, reduction="mean"):
        super().__init__(reduction)
        self.p = p
        self.margin = margin
        self.weight = weight

    def call(self, y_true, y_pred):
        return torch_multi_margin_loss(y_pred, y_true, self.p, self.margin, self.weight, self.reduction)


class TorchMultiLabelMarginLoss(TorchLoss):
    """nn.MultiLabelMarginLoss."""

    def call(self, y_true, y_pred):
        return torch_multilabel_margin_loss(y_pred, y_true, self.reduction)


class TorchTripletMarginLoss:
    """nn.TripletMarginLoss (Keras has no triplet loss), called with torch's first two arguments
    swapped as every translated loss object: (positive, anchor, negative)."""

    def __init__(self, margin=1.0, p=2.0, eps=1e-6, swap=False, reduction="mean"):
        self.margin = margin
        self.p = p
        self.eps = eps
        self.swap = swap
        self.reduction = reduction

    def __call__(self, positive, anchor, negative):
        return torch_triplet_margin_loss(
            anchor, positive, negative, self.margin, self.p, self.eps, self.swap, self.reduction
        )


class TorchGaussianNLLLoss:
    """nn.GaussianNLLLoss (Keras has no loss with a variance input), called with torch's first two
    arguments swapped as every translated loss object: (target, input, var)."""

    def __init__(self, full=False, eps=1e-6, reduction="mean"):
        self.full = full
        self.eps = eps
        self.reduction = reduction

    def __call__(self, target, input, var):
        return torch_gaussian_nll_loss(input, target, var, self.full, self.eps, self.reduction)
