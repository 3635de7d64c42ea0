"""Numerics of the loss rules (rules/tf_to_torch/losses.yaml): each Keras loss object or
function is translated and run, and its value and its gradient with respect to the prediction
must match Keras' (computing in float64) on the same random inputs.

A translated loss object is a torch module called torch's way, (input, target) = (y_pred, y_true);
a translated function keeps Keras' order.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

torch = pytest.importorskip("torch")
tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from helpers import translate_and_exec

PRELUDE = "import keras\nfrom keras import ops\n"
ATOL, RTOL = 1e-7, 1e-6


# --- inputs: (y_true, y_pred), numpy ----------------------------------------------------------------
def _data(kind: str, seed: int = 0) -> tuple:
    rng = np.random.default_rng(seed)
    f = lambda *s: rng.normal(size=s)  # noqa: E731
    softmax = lambda z: np.exp(z) / np.exp(z).sum(-1, keepdims=True)  # noqa: E731
    onehot = lambda i, c: np.eye(c)[i]  # noqa: E731
    if kind == "reg":  # errors on both sides of Huber's 0.5 and 1
        return f(4, 3), f(4, 3) * 2
    if kind == "reg_squeeze":  # labels (N,) and predictions (N, 1): Keras squeezes, torch would broadcast
        return f(5), f(5, 1)
    if kind == "pos":
        return rng.uniform(0, 2, size=(4, 3)), rng.uniform(0.1, 2, size=(4, 3))
    if kind == "prob":  # distributions, one with a 0 (clipped at 1e-7)
        t = softmax(f(4, 3))
        t[0] = [0.0, 0.3, 0.7]
        return t, softmax(f(4, 3))
    if kind == "labels01":
        return rng.integers(0, 2, size=(4, 3)).astype(float), f(4, 3)
    if kind == "labels_pm1":
        return rng.choice([-1.0, 1.0], size=(4, 3)), f(4, 3)
    if kind == "onehot":  # one-hot labels, probabilities
        return onehot(rng.integers(0, 3, size=4), 3), softmax(f(4, 3))
    if kind == "onehot_logits":
        return onehot(rng.integers(0, 3, size=4), 3), f(4, 3) * 2
    if kind == "onehot3d":
        return onehot(rng.integers(0, 3, size=(2, 4)), 3), f(2, 4, 3)
    if kind == "sparse":  # class indices, probabilities with a 0 (clipped)
        p = softmax(f(5, 3))
        p[0] = [0.0, 0.5, 0.5]
        return np.array([0, 2, 1, 1, 0]), p
    if kind == "sparse_logits":
        return np.array([0, 2, 1, 1, 0]), f(5, 3)
    if kind == "sparse_ignore":  # -1 is ignored
        return np.array([0, -1, 1, -1, 2]), f(5, 3)
    if kind == "sparse3d":
        return rng.integers(0, 3, size=(2, 4)), f(2, 4, 3)
    if kind == "sparse_col":  # labels (N, 1)
        return rng.integers(0, 3, size=(5, 1)), f(5, 3)
    if kind == "binary":  # probabilities with 0 and 1 (clipped at 1e-7)
        p = 1 / (1 + np.exp(-f(4, 3)))
        p[0, 0], p[1, 1] = 0.0, 1.0
        return rng.integers(0, 2, size=(4, 3)).astype(float), p
    if kind == "binary_logits":
        return rng.integers(0, 2, size=(4, 3)).astype(float), f(4, 3) * 3
    if kind == "binary_squeeze":  # labels (N,), one logit per sample (N, 1)
        return rng.integers(0, 2, size=6).astype(float), f(6, 1)
    if kind == "masks":  # binary masks (N, H, W) and probabilities
        return rng.integers(0, 2, size=(2, 3, 4)).astype(float), 1 / (1 + np.exp(-f(2, 3, 4)))
    raise ValueError(kind)


def _tf(a: np.ndarray):
    return tf.constant(a) if a.dtype.kind in "iu" else tf.constant(a, dtype=tf.float64)


def _torch(a: np.ndarray):
    return torch.tensor(a) if a.dtype.kind in "iu" else torch.tensor(a, dtype=torch.float64)


def _compare(keras_fn, torch_fn, data: tuple) -> None:
    """keras_fn(y_true, y_pred) and torch_fn(y_true, y_pred): equal values and equal gradients
    with respect to y_pred."""
    k_true, k_pred = _tf(data[0]), _tf(data[1])
    with tf.GradientTape() as tape:
        tape.watch(k_pred)
        expected = keras_fn(k_true, k_pred)
        total = tf.reduce_sum(expected)
    k_grad = tape.gradient(total, k_pred)
    t_true, t_pred = _torch(data[0]), _torch(data[1]).requires_grad_(True)
    got = torch_fn(t_true, t_pred)
    got.sum().backward()
    np.testing.assert_allclose(got.detach().numpy(), np.asarray(expected), atol=ATOL, rtol=RTOL)
    np.testing.assert_allclose(t_pred.grad.numpy(), np.asarray(k_grad), atol=ATOL, rtol=RTOL)


OBJECTS = [
    ("keras.losses.MeanSquaredError()", "reg"),
    ("keras.losses.MeanSquaredError(reduction='sum')", "reg"),
    ("keras.losses.MeanSquaredError(reduction=None)", "reg"),
    ("keras.losses.MeanSquaredError()", "reg_squeeze"),
    ("keras.losses.MeanAbsoluteError(reduction='mean')", "reg"),
    ("keras.losses.MeanAbsolutePercentageError()", "reg"),
    ("keras.losses.MeanSquaredLogarithmicError(reduction='sum')", "pos"),
    ("keras.losses.LogCosh()", "reg"),
    ("keras.losses.Hinge()", "labels01"),
    ("keras.losses.Hinge(reduction='none')", "labels_pm1"),
    ("keras.losses.SquaredHinge()", "labels01"),
    ("keras.losses.CategoricalHinge()", "onehot"),
    ("keras.losses.KLDivergence()", "prob"),
    ("keras.losses.Poisson()", "pos"),
    ("keras.losses.CosineSimilarity()", "reg"),
    ("keras.losses.CosineSimilarity(axis=0, reduction='sum')", "reg"),
    ("keras.losses.Huber()", "reg"),
    ("keras.losses.Huber(delta=0.5, reduction='none')", "reg"),
    ("keras.losses.BinaryCrossentropy()", "binary"),
    ("keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1)", "binary_logits"),
    ("keras.losses.BinaryCrossentropy(from_logits=True)", "binary_squeeze"),
    ("keras.losses.BinaryCrossentropy(axis=0, reduction='sum')", "binary"),
    ("keras.losses.BinaryFocalCrossentropy()", "binary"),
    ("keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True, gamma=3.0, from_logits=True)", "binary_logits"),
    ("keras.losses.CategoricalCrossentropy()", "onehot"),
    ("keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2)", "onehot_logits"),
    ("keras.losses.CategoricalCrossentropy(from_logits=True, reduction='sum')", "onehot3d"),
    ("keras.losses.CategoricalFocalCrossentropy(alpha=0.5, label_smoothing=0.1)", "onehot"),
    ("keras.losses.CategoricalFocalCrossentropy(from_logits=True)", "onehot_logits"),
    ("keras.losses.SparseCategoricalCrossentropy()", "sparse"),
    ("keras.losses.SparseCategoricalCrossentropy(from_logits=True)", "sparse_logits"),
    ("keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)", "sparse_ignore"),
    ("keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1, reduction='sum')", "sparse_ignore"),
    ("keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1, reduction=None)", "sparse_ignore"),
    ("keras.losses.SparseCategoricalCrossentropy(from_logits=True)", "sparse3d"),
    ("keras.losses.SparseCategoricalCrossentropy(from_logits=True)", "sparse_col"),
    ("keras.losses.Dice()", "masks"),
    ("keras.losses.Dice(axis=(1, 2), reduction=None)", "masks"),
    ("keras.losses.Tversky(alpha=0.3, beta=0.7, axis=(1, 2))", "masks"),
    ("keras.losses.CategoricalGeneralizedCrossEntropy(q=0.7)", "sparse"),
]

FUNCTIONS = [
    ("keras.losses.mean_squared_error(y, p)", "reg"),
    ("keras.losses.mean_squared_error(y, p)", "reg_squeeze"),
    ("keras.losses.mean_absolute_error(y, p)", "reg"),
    ("keras.losses.mean_absolute_percentage_error(y, p)", "reg"),
    ("keras.losses.mean_squared_logarithmic_error(y, p)", "pos"),
    ("keras.losses.log_cosh(y, p)", "reg"),
    ("keras.losses.hinge(y, p)", "labels01"),
    ("keras.losses.squared_hinge(y, p)", "labels_pm1"),
    ("keras.losses.categorical_hinge(y, p)", "onehot"),
    ("keras.losses.kl_divergence(y, p)", "prob"),
    ("keras.losses.poisson(y, p)", "pos"),
    ("keras.losses.cosine_similarity(y, p, axis=0)", "reg"),
    ("keras.losses.huber(y, p, delta=0.5)", "reg"),
    ("keras.losses.binary_crossentropy(y, p, label_smoothing=0.1)", "binary"),
    (
        "keras.losses.binary_focal_crossentropy(y, p, from_logits=True, alpha=0.3, apply_class_balancing=True)",
        "binary_logits",
    ),
    ("keras.losses.categorical_crossentropy(y, p, from_logits=True)", "onehot3d"),
    ("keras.losses.categorical_focal_crossentropy(y, p)", "onehot"),
    ("keras.losses.sparse_categorical_crossentropy(y, p)", "sparse"),
    ("keras.losses.sparse_categorical_crossentropy(y, p, from_logits=True, ignore_class=-1)", "sparse_ignore"),
    ("keras.losses.dice(y, p, axis=-1)", "masks"),
    ("keras.losses.tversky(y, p, beta=0.2)", "masks"),
    ("keras.losses.categorical_generalized_cross_entropy(y, p, 0.3)", "sparse"),
    ("keras.ops.binary_crossentropy(y, p)", "binary"),
    ("ops.binary_crossentropy(y, p, from_logits=True)", "binary_logits"),
    ("keras.ops.categorical_crossentropy(y, p)", "onehot"),
    ("keras.ops.categorical_crossentropy(y, p, from_logits=True, axis=-1)", "onehot3d"),
    ("keras.ops.sparse_categorical_crossentropy(y, p, from_logits=True)", "sparse3d"),
]


def _float64(ctor: str) -> str:
    """The same Keras loss computing in float64 (Keras' default casts to float32)."""
    return ctor[:-1] + ("" if ctor.endswith("()") else ", ") + "dtype='float64')"


@pytest.mark.parametrize("ctor,kind", OBJECTS, ids=[f"{c}-{k}" for c, k in OBJECTS])
def test_loss_object(ctor, kind):
    ns, _ = translate_and_exec(f"{PRELUDE}loss_fn = {ctor}\n", to="torch")
    original = eval(_float64(ctor), {"keras": keras})
    translated = ns["loss_fn"]
    assert isinstance(translated, torch.nn.Module)
    # the translation is called torch's way: (input, target)
    _compare(original, lambda y, p: translated(p, y), _data(kind))


@pytest.mark.parametrize("call,kind", FUNCTIONS, ids=[f"{c}-{k}" for c, k in FUNCTIONS])
def test_loss_function(call, kind):
    ns, _ = translate_and_exec(f"{PRELUDE}def loss_fn(y, p):\n    return {call}\n", to="torch")
    original = eval(f"lambda y, p: {call}", {"keras": keras, "ops": keras.ops})
    _compare(original, ns["loss_fn"], _data(kind))


def test_legacy_spellings():
    ns, _ = translate_and_exec(
        "import tensorflow as tf\nfrom tensorflow import keras\n"
        "a = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)\n"
        "def b(y, p):\n    return keras.losses.mse(y, p)\n"
        "c = tf.keras.losses.MeanSquaredError(reduction=tf.keras.losses.Reduction.SUM)\n",
        to="torch",
    )
    y, p = _data("sparse_logits")
    _compare(
        keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype="float64"),
        lambda y, p: ns["a"](p, y),
        (y, p),
    )
    y, p = _data("reg")
    _compare(keras.losses.mean_squared_error, ns["b"], (y, p))
    _compare(keras.losses.MeanSquaredError(reduction="sum", dtype="float64"), lambda y, p: ns["c"](p, y), (y, p))


@pytest.mark.parametrize(
    "ctor",
    [
        "keras.losses.CTC()",
        "keras.losses.Circle()",
        "keras.losses.MeanSquaredError(dtype='float64')",
    ],
)
def test_not_translated_is_reported(ctor):
    import fwtranslate

    result = fwtranslate.translate(f"{PRELUDE}loss_fn = {ctor}\n", to="torch")
    assert not result.ok
    assert "unsupported-argument" in {d.code for d in result.diagnostics}
