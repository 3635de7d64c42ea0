"""Numerics of the loss rules (rules/torch_to_tf/losses.yaml): each torch loss module or
functional call is translated and run, and its value and its gradient with respect to the
prediction must match torch's on the same random inputs.

A translated module is a Keras loss, called the Keras way (y_true, y_pred); the losses of three
inputs take torch's first two arguments swapped the same way; a functional call keeps torch's order.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

torch = pytest.importorskip("torch")
tf = pytest.importorskip("tensorflow")

from helpers import translate_and_exec

PRELUDE = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"
# the native Keras losses compute in float32 (keras.losses.Loss casts to floatx), the support
# losses in the inputs' float64
ATOL, RTOL = 1e-6, 1e-5


# --- inputs: (prediction, target) or (input1, input2, target), numpy ------------------------------
def _data(kind: str, seed: int = 0) -> tuple:
    rng = np.random.default_rng(seed)
    f = lambda *s: rng.normal(size=s)  # noqa: E731
    softmax = lambda z, axis=-1: np.exp(z) / np.exp(z).sum(axis, keepdims=True)  # noqa: E731
    if kind == "cls":  # logits (N, C), class indices with the ignored class 1 present
        return f(6, 3), np.array([0, 1, 2, 1, 0, 2])
    if kind == "cls3d":  # (N, C, d) and (N, d)
        return f(2, 3, 5), rng.integers(0, 3, size=(2, 5))
    if kind == "cls4d":
        return f(2, 3, 2, 2), rng.integers(0, 3, size=(2, 2, 2))
    if kind == "prob_target":  # logits and class probabilities
        return f(4, 3), softmax(f(4, 3))
    if kind == "prob_target3d":
        return f(2, 3, 4), softmax(f(2, 3, 4), axis=1)
    if kind == "logp_cls":
        z = f(6, 3)
        return z - np.log(np.exp(z).sum(-1, keepdims=True)), np.array([0, 1, 2, 1, 0, 2])
    if kind == "logp_cls4d":
        z = f(2, 3, 2, 2)
        return z - np.log(np.exp(z).sum(1, keepdims=True)), rng.integers(0, 3, size=(2, 2, 2))
    if kind == "prob":  # probabilities, with 0 and 1 (torch's -100 clamp), and soft targets
        p = 1 / (1 + np.exp(-f(4, 3)))
        p[0, 0], p[1, 1] = 0.0, 1.0
        return p, rng.uniform(size=(4, 3))
    if kind == "logit":
        return f(4, 3) * 3, rng.uniform(size=(4, 3))
    if kind == "reg":  # errors on both sides of 0.5, 1 and 2 (Huber / smooth L1 thresholds)
        return f(4, 3) * 2, f(4, 3)
    if kind == "kl":  # log-probabilities and probabilities with a 0 (0 log 0 = 0)
        z, q = f(4, 3), softmax(f(4, 3))
        q[0] = [0.0, 0.4, 0.6]
        return z - np.log(np.exp(z).sum(-1, keepdims=True)), q
    if kind == "kl_log":
        z, t = f(4, 3), f(4, 3)
        return z - np.log(np.exp(z).sum(-1, keepdims=True)), t - np.log(np.exp(t).sum(-1, keepdims=True))
    if kind == "pm1":  # ±1 targets
        return f(8), rng.choice([-1.0, 1.0], size=8)
    if kind == "poisson_log":
        return f(4, 3), rng.integers(0, 5, size=(4, 3)).astype(float)
    if kind == "poisson_rate":
        return rng.uniform(0.1, 3, size=(4, 3)), rng.integers(0, 5, size=(4, 3)).astype(float)
    if kind == "multilabel":
        return f(4, 3), rng.integers(0, 2, size=(4, 3)).astype(float)
    if kind == "pair":  # x1, x2 (N, D), ±1 targets (N,)
        return f(6, 4), f(6, 4), rng.choice([-1.0, 1.0], size=6)
    if kind == "triplet":  # anchor, positive, negative
        return f(5, 4), f(5, 4), f(5, 4)
    if kind == "gaussian":  # mean, target, variance one axis short, one entry under eps (clamped)
        var = rng.uniform(0.1, 2, size=4)
        var[0] = 1e-8
        return f(4, 3), f(4, 3), var
    if kind == "gaussian_full":
        return f(4, 3), f(4, 3), rng.uniform(0.1, 2, size=(4, 3))
    if kind == "multi_margin":  # (N, C) scores, class indices
        return f(5, 4), rng.integers(0, 4, size=5)
    if kind == "multilabel_margin":  # class indices up to the first -1
        return f(3, 4), np.array([[3, 0, -1, 1], [0, 1, 2, 3], [2, -1, 0, 0]])
    if kind == "rank":
        return f(6), f(6), rng.choice([-1.0, 1.0], size=6)
    raise ValueError(kind)


def _torch(a: np.ndarray) -> torch.Tensor:
    return torch.tensor(a) if a.dtype.kind in "iu" else torch.tensor(a, dtype=torch.float64)


def _tf(a: np.ndarray):
    return tf.constant(a) if a.dtype.kind in "iu" else tf.constant(a, dtype=tf.float64)


def _compare(torch_fn, tf_fn, data: tuple) -> None:
    """torch_fn(*torch inputs) and tf_fn(*tf inputs) in the same (torch) order: equal values and
    equal gradients with respect to the first input (the prediction)."""
    t_in = [_torch(a) for a in data]
    t_in[0].requires_grad_(True)
    expected = torch_fn(*t_in)
    expected.sum().backward()
    k_in = [_tf(a) for a in data]
    with tf.GradientTape() as tape:
        tape.watch(k_in[0])
        got = tf_fn(*k_in)
        total = tf.reduce_sum(got)
    grad = tape.gradient(total, k_in[0])
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), expected.detach().numpy(), atol=ATOL, rtol=RTOL)
    np.testing.assert_allclose(np.asarray(grad, dtype=np.float64), t_in[0].grad.numpy(), atol=ATOL, rtol=RTOL)


W3 = "torch.tensor([0.2, 1.0, 3.0], dtype=torch.float64)"

MODULES = [
    ("nn.CrossEntropyLoss()", "cls"),
    ("nn.CrossEntropyLoss(reduction='sum')", "cls"),
    ("nn.CrossEntropyLoss(reduction='none')", "cls"),
    (f"nn.CrossEntropyLoss(weight={W3})", "cls"),
    ("nn.CrossEntropyLoss(ignore_index=1)", "cls"),
    (f"nn.CrossEntropyLoss(weight={W3}, ignore_index=1, label_smoothing=0.2)", "cls"),
    ("nn.CrossEntropyLoss(label_smoothing=0.1, reduction='sum')", "cls"),
    ("nn.CrossEntropyLoss()", "cls3d"),
    (f"nn.CrossEntropyLoss(weight={W3})", "cls4d"),
    ("nn.CrossEntropyLoss()", "prob_target"),
    (f"nn.CrossEntropyLoss(weight={W3}, label_smoothing=0.1)", "prob_target3d"),
    ("nn.NLLLoss()", "logp_cls"),
    (f"nn.NLLLoss({W3}, ignore_index=2)", "logp_cls"),
    (f"nn.NLLLoss(weight={W3}, reduction='none')", "logp_cls4d"),
    ("nn.BCELoss()", "prob"),
    (f"nn.BCELoss(weight={W3}, reduction='sum')", "prob"),
    ("nn.BCELoss(reduction='none')", "prob"),
    ("nn.BCEWithLogitsLoss()", "logit"),
    (f"nn.BCEWithLogitsLoss(pos_weight={W3})", "logit"),
    (f"nn.BCEWithLogitsLoss(weight={W3}, reduction='none')", "logit"),
    ("nn.MSELoss()", "reg"),
    ("nn.MSELoss(reduction='sum')", "reg"),
    ("nn.MSELoss(reduction='none')", "reg"),
    ("nn.L1Loss()", "reg"),
    ("nn.L1Loss(reduction='sum')", "reg"),
    ("nn.SmoothL1Loss()", "reg"),
    ("nn.SmoothL1Loss(beta=0.5)", "reg"),
    ("nn.SmoothL1Loss(beta=0.0, reduction='sum')", "reg"),
    ("nn.HuberLoss()", "reg"),
    ("nn.HuberLoss(delta=2.0)", "reg"),
    ("nn.HuberLoss(reduction='none', delta=0.5)", "reg"),
    ("nn.KLDivLoss()", "kl"),
    ("nn.KLDivLoss(reduction='batchmean')", "kl"),
    ("nn.KLDivLoss(reduction='sum', log_target=True)", "kl_log"),
    ("nn.SoftMarginLoss()", "pm1"),
    ("nn.HingeEmbeddingLoss(margin=0.5, reduction='sum')", "pm1"),
    ("nn.PoissonNLLLoss()", "poisson_log"),
    ("nn.PoissonNLLLoss(log_input=False, full=True, reduction='none')", "poisson_rate"),
    (f"nn.MultiLabelSoftMarginLoss(weight={W3})", "multilabel"),
    ("nn.MultiMarginLoss()", "multi_margin"),
    (
        "nn.MultiMarginLoss(p=2, margin=0.5, weight=torch.tensor([0.2, 1.0, 3.0, 0.5], dtype=torch.float64))",
        "multi_margin",
    ),
    ("nn.MultiLabelMarginLoss(reduction='none')", "multilabel_margin"),
    ("nn.MultiLabelMarginLoss()", "multilabel_margin"),
]

THREE_INPUT_MODULES = [
    ("nn.CosineEmbeddingLoss()", "pair"),
    ("nn.CosineEmbeddingLoss(margin=0.2, reduction='none')", "pair"),
    ("nn.MarginRankingLoss(margin=0.5)", "rank"),
    ("nn.MarginRankingLoss(reduction='sum')", "rank"),
    ("nn.TripletMarginLoss()", "triplet"),
    ("nn.TripletMarginLoss(margin=0.5, p=1.0, swap=True, reduction='none')", "triplet"),
    ("nn.GaussianNLLLoss()", "gaussian"),
    ("nn.GaussianNLLLoss(full=True, reduction='sum')", "gaussian_full"),
]

FUNCTIONS = [
    ("F.cross_entropy(a, b, ignore_index=2, label_smoothing=0.1)", "cls"),
    ("F.cross_entropy(a, b, reduction='none')", "cls3d"),
    ("F.nll_loss(a, b, reduction='sum')", "logp_cls"),
    ("F.binary_cross_entropy(a, b)", "prob"),
    ("F.binary_cross_entropy_with_logits(a, b)", "logit"),
    (f"F.binary_cross_entropy_with_logits(a, b, pos_weight={W3}, reduction='sum')", "logit"),
    ("F.mse_loss(a, b)", "reg"),
    ("F.l1_loss(a, b, reduction='none')", "reg"),
    ("F.smooth_l1_loss(a, b, beta=2.0)", "reg"),
    ("F.huber_loss(a, b, delta=0.5)", "reg"),
    ("F.kl_div(a, b, reduction='batchmean')", "kl"),
    ("F.kl_div(a, b, log_target=True)", "kl_log"),
    ("F.soft_margin_loss(a, b)", "pm1"),
    ("F.hinge_embedding_loss(a, b)", "pm1"),
    ("F.poisson_nll_loss(a, b, full=True)", "poisson_log"),
    ("F.multilabel_soft_margin_loss(a, b, reduction='none')", "multilabel"),
    ("F.cosine_embedding_loss(a, b, c, margin=0.1)", "pair"),
    ("F.margin_ranking_loss(a, b, c, margin=0.2, reduction='none')", "rank"),
    ("F.triplet_margin_loss(a, b, c, margin=2.0)", "triplet"),
    ("F.gaussian_nll_loss(a, b, c, reduction='none')", "gaussian"),
    ("F.multi_margin_loss(a, b, reduction='sum')", "multi_margin"),
    ("F.multilabel_margin_loss(a, b)", "multilabel_margin"),
]


@pytest.mark.parametrize("ctor,kind", MODULES, ids=[f"{c}-{k}" for c, k in MODULES])
def test_loss_module(ctor, kind):
    ns, _ = translate_and_exec(f"{PRELUDE}loss_fn = {ctor}\n", to="tf")
    original = eval(ctor, {"torch": torch, "nn": torch.nn})
    # the translation is called the Keras way: (y_true, y_pred)
    _compare(lambda x, y: original(x, y), lambda x, y: ns["loss_fn"](y, x), _data(kind))


@pytest.mark.parametrize("ctor,kind", THREE_INPUT_MODULES, ids=[f"{c}-{k}" for c, k in THREE_INPUT_MODULES])
def test_three_input_loss_module(ctor, kind):
    ns, _ = translate_and_exec(f"{PRELUDE}loss_fn = {ctor}\n", to="tf")
    original = eval(ctor, {"torch": torch, "nn": torch.nn})
    # like every loss object, the first two arguments swapped (as the training pass swaps them)
    _compare(original, lambda a, b, c: ns["loss_fn"](b, a, c), _data(kind))


@pytest.mark.parametrize("call,kind", FUNCTIONS, ids=[f"{c}-{k}" for c, k in FUNCTIONS])
def test_loss_function(call, kind):
    ns, _ = translate_and_exec(f"{PRELUDE}def loss_fn(a, b, c=None):\n    return {call}\n", to="tf")
    original = eval(f"lambda a, b, c=None: {call}", {"torch": torch, "F": torch.nn.functional})
    _compare(original, ns["loss_fn"], _data(kind))


def test_native_keras_loss_where_exact():
    """reduction "mean" uses Keras' own losses (usable in compile as they are)."""
    ns, code = translate_and_exec(
        f"{PRELUDE}a = nn.MSELoss()\nb = nn.BCEWithLogitsLoss()\nc = nn.SmoothL1Loss()\nd = nn.HuberLoss(delta=2.0)\n",
        to="tf",
    )
    import keras

    assert isinstance(ns["a"], keras.losses.MeanSquaredError)
    assert isinstance(ns["b"], keras.losses.BinaryCrossentropy) and ns["b"].get_config()["from_logits"]
    assert isinstance(ns["c"], keras.losses.Huber) and isinstance(ns["d"], keras.losses.Huber)
    assert "class Torch" not in code


def test_support_loss_in_keras_compile():
    """A support loss is a keras.losses.Loss: Model.compile / fit accept it."""
    import keras

    ns, _ = translate_and_exec(f"{PRELUDE}loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)\n", to="tf")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(optimizer="sgd", loss=ns["loss_fn"])
    x, y = np.random.default_rng(0).normal(size=(8, 4)), np.arange(8) % 3
    history = model.fit(x, y, epochs=1, verbose=0)
    expected = torch.nn.CrossEntropyLoss(label_smoothing=0.1)(
        torch.tensor(np.asarray(model(x)), dtype=torch.float64), torch.tensor(y)
    )
    assert np.isfinite(history.history["loss"][0])
    np.testing.assert_allclose(float(model.evaluate(x, y, verbose=0)), float(expected), rtol=1e-5)


@pytest.mark.parametrize(
    "ctor",
    [
        "nn.CTCLoss()",
        "nn.TripletMarginWithDistanceLoss()",
        "nn.AdaptiveLogSoftmaxWithLoss(8, 10, [4])",
        "nn.MSELoss(size_average=False)",
        "nn.CrossEntropyLoss(reduce=flag)",
    ],
)
def test_not_translated_is_reported(ctor):
    import fwtranslate

    result = fwtranslate.translate(f"{PRELUDE}loss_fn = {ctor}\n", to="tf")
    assert not result.ok
    assert "unsupported-argument" in {d.code for d in result.diagnostics}
