"""keras.datasets loaders and keras.utils.to_categorical translated: the same arrays as Keras,
read from Keras' cache ($KERAS_HOME/datasets); `callbacks=` given as a list bound to a name.
(CIFAR-10's loader needs Keras' 50,000 training images: benchmarks/scripts_corpus.py runs it.)"""

from __future__ import annotations

import gzip
import re

import numpy as np
import pytest

import fwtranslate


def _run(source: str) -> dict:
    result = fwtranslate.translate(source, to="torch")
    assert result.ok, [d.format() for d in result.diagnostics]
    assert not re.search(r"^\s*(import|from)\s+(keras|tensorflow)", result.code, re.M), result.code
    namespace: dict = {}
    exec(compile(result.code, "<translated>", "exec"), namespace)
    return namespace


def _idx(path, array: np.ndarray, header: int) -> None:
    with gzip.open(path, "wb") as f:
        f.write(b"\0" * header + array.tobytes())


def test_mnist_and_fashion_mnist_read_keras_cache(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    datasets = tmp_path / "datasets"
    (datasets / "fashion-mnist").mkdir(parents=True)
    x = rng.integers(0, 256, (6, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, 6, dtype=np.uint8)
    np.savez(datasets / "mnist.npz", x_train=x, y_train=y, x_test=x[:2], y_test=y[:2])
    for split, n in (("train", 6), ("t10k", 2)):
        _idx(datasets / "fashion-mnist" / f"{split}-labels-idx1-ubyte.gz", y[:n], 8)
        _idx(datasets / "fashion-mnist" / f"{split}-images-idx3-ubyte.gz", x[:n], 16)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    ns = _run("import keras\nm = keras.datasets.mnist.load_data()\nf = keras.datasets.fashion_mnist.load_data()\n")
    for (x_train, y_train), (x_test, _) in (ns["m"], ns["f"]):
        assert x_train.dtype == np.uint8 and x_train.shape == (6, 28, 28)
        np.testing.assert_array_equal(x_train, x)
        np.testing.assert_array_equal(y_train, y)
        np.testing.assert_array_equal(x_test, x[:2])


@pytest.mark.parametrize("labels,classes", [([0, 2, 1], None), ([[1], [3]], 5), ([[0, 1], [2, 0]], 3)])
def test_to_categorical_gives_keras_arrays(labels, classes):
    import keras

    ns = _run(f"import keras\nout = keras.utils.to_categorical({labels!r}, {classes!r})\n")
    want = keras.utils.to_categorical(labels, classes)
    assert ns["out"].dtype == want.dtype and ns["out"].shape == want.shape
    np.testing.assert_array_equal(ns["out"], want)


def test_callbacks_bound_to_a_name_translate_like_the_inline_list():
    fit = (
        "import keras\nimport numpy as np\n\n\ndef main(x, y):\n"
        "    model = keras.Sequential([keras.layers.Dense(1)])\n"
        '    model.compile(optimizer="sgd", loss="mse")\n'
    )
    inline = (
        fit + '    model.fit(x, y, epochs=2, callbacks=[keras.callbacks.EarlyStopping(monitor="loss", patience=1)])\n'
    )
    named = fit + '    cbs = [keras.callbacks.EarlyStopping(monitor="loss", patience=1)]\n'
    named += "    model.fit(x, y, epochs=2, callbacks=cbs)\n"
    one, two = (fwtranslate.translate(s, to="torch") for s in (inline, named))
    assert one.ok and two.ok, two.diagnostics
    assert two.code == one.code


METRICS = {
    "Mean": ("keras.metrics.Mean()", 1),
    "SparseCategoricalAccuracy": ("keras.metrics.SparseCategoricalAccuracy()", 2),
    "CategoricalAccuracy": ("keras.metrics.CategoricalAccuracy()", 2),
    "BinaryAccuracy": ("keras.metrics.BinaryAccuracy(threshold=0.3)", 2),
}


@pytest.mark.parametrize("name", list(METRICS))
def test_metric_objects_accumulate_like_keras(name):
    """update_state twice (once weighted), result, reset_state: custom training loops' metrics."""
    import keras
    import torch

    build, arity = METRICS[name]
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(2, 6, 4)).astype("float32")
    labels = {
        "SparseCategoricalAccuracy": rng.integers(0, 4, (2, 6, 1)),
        "CategoricalAccuracy": np.eye(4, dtype="float32")[rng.integers(0, 4, (2, 6))],
        "BinaryAccuracy": rng.integers(0, 2, (2, 6, 4)).astype("float32"),
    }.get(name, logits)
    weight = np.array([1.0, 0.0, 2.0, 1.0, 1.0, 0.5], "float32")
    ns = _run(f"import keras\nmetric = {build}\n")
    theirs, ours = getattr(keras.metrics, name)(**({"threshold": 0.3} if "Binary" in name else {})), ns["metric"]
    for i in range(2):
        args = (labels[i], logits[i])[:arity] if arity == 2 else (logits[i].sum(-1),)
        kwargs = {"sample_weight": weight} if i else {}
        theirs.update_state(*args, **kwargs)
        ours.update_state(*(torch.from_numpy(np.asarray(a)) for a in args), **kwargs)
    assert abs(float(ours.result()) - float(theirs.result())) < 1e-6
    ours.reset_state()
    assert float(ours.result()) == 0.0
