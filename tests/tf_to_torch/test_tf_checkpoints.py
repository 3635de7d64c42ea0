"""Keras model files -> PyTorch checkpoints (passes/tf_to_torch/model_methods.py, fit_callbacks.py,
rules/tf_to_torch/checkpoints.yaml).

The numeric test runs a whole script with Keras (in one folder) and its translation with PyTorch
(in another) from the same initial weights, and compares what they leave on disk: the CSV log's
columns and values, which epochs ModelCheckpoint saved, and the outputs of the models reloaded
from the checkpoint, the weights file and the whole-model file."""

from __future__ import annotations

import csv
import textwrap

import numpy as np
import pytest
import torch
from test_tf_fit_loop import HEADER, MODEL, RULES, _data, _keras_init, _torch_init, _weights

import fwtranslate

SCRIPT = """
import os
model.compile(optimizer=keras.optimizers.SGD(0.6), loss="mse")
ckpt = keras.callbacks.ModelCheckpoint(
    "ckpt/e{epoch:02d}.weights.h5", monitor="val_loss", save_best_only=True, save_weights_only=True
)
history = model.fit(
    x, y, batch_size=4, epochs=6, shuffle=False, validation_split=0.3, verbose=0,
    callbacks=[ckpt, keras.callbacks.CSVLogger("log.csv", separator=";"), keras.callbacks.ModelCheckpoint("last.keras")],
)
trained = model.predict(x, verbose=0)
n = model.count_params()
model.save_weights("final.weights.h5")
model.save("model.keras")
best = os.path.join("ckpt", sorted(os.listdir("ckpt"))[-1])  # the best epoch's, the last one saved
model.load_weights(best)
restored = model.predict(x, verbose=0)
model.load_weights("final.weights.h5")
reloaded = model.predict(x, verbose=0)
m2 = keras.models.load_model("model.keras")
whole = m2.predict(x, verbose=0)
m3 = keras.models.load_model("last.keras")
last = m3.predict(x, verbose=0)
direct = keras.models.load_model("model.keras").predict(x, verbose=0)
"""


@pytest.fixture(scope="module")
def rules(tmp_path_factory):
    path = tmp_path_factory.mktemp("rules") / "fit_rules.yaml"
    path.write_text(RULES)
    return path


def _csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f, delimiter=";"))


def test_checkpoints_and_csv_log_match_keras(rules, tmp_path, monkeypatch):
    x, y, outputs = _data("mse")
    weights = _weights(outputs)
    script = HEADER + MODEL.format(outputs=outputs) + textwrap.dedent(SCRIPT)
    result = fwtranslate.translate(script, to="torch", rules=[rules])
    assert result.ok, "\n".join(d.format() for d in result.diagnostics) + "\n" + result.code
    assert "import keras" not in result.code

    runs = {}
    for name, code, init in (("keras", script, _keras_init), ("torch", result.code, _torch_init)):
        folder = tmp_path / name
        folder.mkdir()
        monkeypatch.chdir(folder)
        namespace = {"x": x, "y": y, "init": init(weights)}

        exec(compile(code, f"<{name}>", "exec"), namespace)
        namespace["saved"] = sorted(p.name for p in (folder / "ckpt").iterdir())
        namespace["log"] = _csv(folder / "log.csv")
        runs[name] = namespace
    keras_run, torch_run = runs["keras"], runs["torch"]

    # ModelCheckpoint(save_best_only=True) saved the same epochs (and the case does skip some)
    assert torch_run["saved"] == keras_run["saved"]
    assert 1 < len(keras_run["saved"]) < 6, keras_run["saved"]
    # CSVLogger: Keras' header and one row per epoch
    want, got = keras_run["log"], torch_run["log"]
    assert got[0] == want[0] == ["epoch", "loss", "val_loss"]
    assert [r[0] for r in got] == [r[0] for r in want]
    np.testing.assert_allclose(np.array(got[1:], float), np.array(want[1:], float), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(
        torch_run["history"].history["val_loss"], keras_run["history"].history["val_loss"], rtol=1e-5
    )
    # the files reload to the same outputs
    for key in ("trained", "restored", "reloaded", "whole", "last", "direct"):
        np.testing.assert_allclose(torch_run[key], keras_run[key], rtol=1e-5, atol=1e-6, err_msg=key)
    assert not np.allclose(keras_run["restored"], keras_run["trained"])  # the best epoch is not the last
    assert torch_run["n"] == keras_run["n"] == 3 * 5 + 5 + 5 * 2 + 2


def translate(body: str):
    return fwtranslate.translate(HEADER + textwrap.dedent(body), to="torch")


def test_count_params_counts_the_moving_statistics_as_keras_does():
    body = """
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.BatchNormalization()])
    n = model.count_params()
    """
    want: dict = {}
    exec(HEADER + textwrap.dedent(body), want)
    result = translate(body)
    got: dict = {}
    exec(result.code, got)
    assert got["n"] == want["n"] == 3 * 4 + 4 + 4 * 4


def test_methods_on_other_objects_stay_untouched():
    result = translate(
        """
        from PIL import Image
        img = Image.open("a.png")
        img.save("b.png")
        model = keras.Sequential([keras.layers.Dense(2)])
        model.save_weights("m.weights.h5")
        """
    )
    assert 'img.save("b.png")' in result.code
    assert 'torch.save(model.state_dict(), "m.weights.h5")' in result.code


def test_a_name_bound_to_something_else_too_is_not_taken_for_a_model():
    result = translate(
        """
        model = keras.Sequential([keras.layers.Dense(2)])
        model = load_my_thing()
        model.save("x")
        """
    )
    assert 'model.save("x")' in result.code and "torch.save" not in result.code


def test_builders_and_applications_hold_models():
    result = translate(
        """
        def build(units):
            inputs = keras.Input((3,))
            return keras.Model(inputs, keras.layers.Dense(units)(inputs))

        net = build(4)
        net.summary()
        base = keras.applications.MobileNetV2(weights=None)
        k = base.count_params()
        """
    )
    assert "print(net)" in result.code, result.code
    assert "k = sum(p.numel() for p in base.parameters())" in result.code


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("model.to_json()", "model.to_json() is not translated"),
        ("w = model.get_weights()", "model.get_weights() is not translated: Keras' weights are NumPy arrays"),
        ("model.set_weights([np.zeros((3, 2)), np.zeros(2)])", "model.set_weights() is not translated"),
        ("w = model.get_weights()\nprint(w[0].shape)\nmodel.set_weights(w)", "model.get_weights() is not translated"),
        ("keras.models.load_model(p).count_params()", "count_params() on a call's result"),
        ("model.train_on_batch(x, y)", "model.train_on_batch() is not translated"),
        ('model.save_weights("w.weights.h5", overwrite=False)', "overwrite=False"),
    ],
)
def test_keras_model_methods_without_a_translation_are_reported(call, message):
    result = translate(f"model = keras.Sequential([keras.layers.Dense(2)])\n{call}\n")
    errors = [d.message for d in result.diagnostics if d.severity == "error"]
    assert any(message in m for m in errors), [d.format() for d in result.diagnostics]
    assert "# fwtranslate: unconverted [model-method]" in result.code


def test_load_weights_of_a_file_saved_elsewhere_loads_a_torch_checkpoint_and_refuses_a_keras_one(tmp_path):
    result = translate(
        """
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        model.load_weights(path)
        """
    )
    assert "keras_load_weights(model, path)" in result.code, result.code
    source = torch.nn.Sequential(torch.nn.Linear(3, 2))
    torch.save(source.state_dict(), tmp_path / "w.weights.h5")
    namespace = {"path": str(tmp_path / "w.weights.h5")}
    exec(result.code, namespace)
    torch.testing.assert_close(namespace["model"][0].weight, source[0].weight)
    (tmp_path / "k.weights.h5").write_bytes(b"\x89HDF\r\n\x1a\n")  # an HDF5 file (Keras' format)
    namespace = {"path": str(tmp_path / "k.weights.h5")}
    with pytest.raises(NotImplementedError, match="fwtranslate weights"):
        exec(result.code, namespace)


def test_a_checkpoint_path_field_the_loop_does_not_log_is_reported(rules):
    result = fwtranslate.translate(
        HEADER
        + textwrap.dedent(
            """
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
            model.compile(optimizer="sgd", loss="mse")
            model.fit(x, y, callbacks=[keras.callbacks.ModelCheckpoint("m-{val_acc:.2f}.keras")])
            """
        ),
        to="torch",
        rules=[rules],
    )
    errors = [d.message for d in result.diagnostics if d.severity == "error"]
    assert any('the filepath field "{val_acc}"' in m for m in errors), errors


def test_weights_copied_between_models_with_get_and_set_weights():
    """``b.set_weights(a.get_weights())`` and ``w = a.get_weights()`` used only by set_weights:
    the arrays are copies of the state_dict's (batch norm's statistics included), so b and c
    compute what a does, as in Keras."""
    body = """
    def build():
        return keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.BatchNormalization()])

    a, b, c = build(), build(), build()
    init(a)
    w = a.get_weights()
    b.set_weights(w)
    c.set_weights(a.get_weights())
    """
    result = translate(body)
    assert result.ok, "\n".join(d.format() for d in result.diagnostics) + "\n" + result.code
    assert "w = [v.cpu().numpy().copy() for v in a.state_dict().values()]" in result.code

    def keras_init(model):  # statistics that are not the defaults: they must be copied too
        model.layers[1].moving_mean.assign(np.arange(4.0, dtype="float32"))

    def torch_init(model):
        with torch.no_grad():
            model[1].running_mean.copy_(torch.arange(4.0))

    x = np.random.default_rng(0).normal(size=(5, 3)).astype("float32")
    keras_ns: dict = {"init": keras_init}
    exec(HEADER + textwrap.dedent(body), keras_ns)
    torch_ns: dict = {"init": torch_init}
    exec(result.code, torch_ns)
    for model in "abc":
        torch_ns[model].eval()
    with torch.no_grad():
        got = [torch_ns[m](torch.as_tensor(x)).numpy() for m in "abc"]
    want = [keras_ns[m](x).numpy() for m in "abc"]
    for outputs in (got, want):
        np.testing.assert_allclose(outputs[1], outputs[0], rtol=1e-6)
        np.testing.assert_allclose(outputs[2], outputs[0], rtol=1e-6)
    assert not np.shares_memory(torch_ns["w"][0], torch_ns["a"][0].weight.detach().numpy())  # copies
