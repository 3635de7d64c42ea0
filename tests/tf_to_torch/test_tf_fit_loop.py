"""Keras compile / fit / evaluate / predict -> plain PyTorch loops (passes/tf_to_torch/fit_loop.py).

Numeric tests run the original script with Keras and its translation with PyTorch from the same
initial weights, and compare the trained weights, ``history.history``, ``evaluate`` and
``predict``. The optimizer and loss rules are given here in a small rule file (SGD without
momentum is torch.optim.SGD exactly; Keras' mean squared error is torch's MSELoss for equal
shapes; sparse cross-entropy from logits is CrossEntropyLoss)."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
import torch

import fwtranslate

RULES = """\
keras.optimizers.SGD:
  signature: (learning_rate=0.01)
  to: torch.optim.SGD(PARAMS, lr=learning_rate)
  force: [learning_rate]
keras.losses.MeanSquaredError:
  signature: ()
  to: torch.nn.MSELoss()
keras.losses.SparseCategoricalCrossentropy:
  signature: (from_logits=False)
  to: torch.nn.CrossEntropyLoss()
  unsupported:
    - when: from_logits is not True
      message: probabilities
"""

HEADER = "import numpy as np\nimport keras\n"


@pytest.fixture(scope="module")
def rules(tmp_path_factory):
    path = tmp_path_factory.mktemp("rules") / "fit_rules.yaml"
    path.write_text(RULES)
    return path


def translate(body: str, rules=None):
    return fwtranslate.translate(HEADER + textwrap.dedent(body), to="torch", rules=[rules] if rules else ())


def errors(result) -> list[str]:
    return [d.message for d in result.diagnostics if d.severity == "error"]


# --- numeric: the translation trains as Keras does -----------------------------------------------

SIZES = (3, 5, 2)  # inputs, hidden, outputs


def _weights(outputs: int):
    rng = np.random.default_rng(0)
    return [
        rng.normal(0, 0.5, (SIZES[0], SIZES[1])).astype("float32"),
        rng.normal(0, 0.1, SIZES[1]).astype("float32"),
        rng.normal(0, 0.5, (SIZES[1], outputs)).astype("float32"),
        rng.normal(0, 0.1, outputs).astype("float32"),
    ]


def _keras_init(weights):
    return lambda model: model.set_weights(weights)


def _torch_init(weights):
    def init(model):
        linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
        assert len(linears) == 2, model
        with torch.no_grad():
            for layer, kernel, bias in zip(linears, weights[0::2], weights[1::2]):
                layer.weight.copy_(torch.as_tensor(kernel.T))
                layer.bias.copy_(torch.as_tensor(bias))

    return init


def _torch_weights(model):
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    return [t.detach().numpy() for m in linears for t in (m.weight.T, m.bias)]


def _data(kind: str):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(10, SIZES[0]))  # float64, as NumPy makes it: Keras casts it to float32
    if kind == "sparse":
        return x, rng.integers(0, SIZES[2], 10), SIZES[2]
    if kind == "binary":
        return x, rng.integers(0, 2, (10, 1)).astype("float32"), 1
    if kind == "onehot":
        return x, np.eye(SIZES[2], dtype="float32")[rng.integers(0, SIZES[2], 10)], SIZES[2]
    return x, rng.normal(size=(10, SIZES[2])).astype("float32"), SIZES[2]


MODEL = """
model = keras.Sequential(
    [keras.Input((3,)), keras.layers.Dense(5, activation="tanh"), keras.layers.Dense({outputs})]
)
init(model)
"""

CASES = {
    "mse": ("mse", "", 'loss="mse"', "batch_size=4, epochs=3, shuffle=False"),
    "validation_split": ("mse", "", 'loss="mse"', "batch_size=4, epochs=2, shuffle=False, validation_split=0.3"),
    "validation_data": (
        "mse",
        "",
        'loss="mse"',
        "batch_size=3, epochs=2, shuffle=False, validation_data=(x[:4], y[:4]), validation_batch_size=2",
    ),
    "initial_epoch": ("mse", "", 'loss="mse"', "batch_size=4, epochs=3, initial_epoch=1, shuffle=False"),
    "default_batch": ("mse", "", "loss=keras.losses.MeanSquaredError()", "epochs=2, shuffle=False"),
    "sparse_accuracy": (
        "sparse",
        "",
        'loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"]',
        "batch_size=4, epochs=3, shuffle=False, validation_split=0.2",
    ),
    "early_stopping_restore": (
        "mse",
        "",
        'loss="mse"',
        (
            "batch_size=4, epochs=5, shuffle=False, callbacks=[keras.callbacks.EarlyStopping("
            'monitor="loss", min_delta=10.0, patience=1, restore_best_weights=True)]'
        ),
    ),
    "early_stopping_accuracy": (
        "binary",
        "",
        'loss="mse", metrics=["accuracy"]',
        (
            "batch_size=4, epochs=4, shuffle=False, validation_split=0.3, callbacks=[keras.callbacks.EarlyStopping("
            'monitor="val_accuracy", patience=0, baseline=0.9, start_from_epoch=1)]'
        ),
    ),
    # the script's own variables named like the loop's: the loop must not overwrite them
    "script_names": (
        "mse",
        'batch, loss, epoch, start = 4, "mine", "e", "s"\n',
        'loss="mse"',
        "batch_size=batch, epochs=2, shuffle=False, validation_split=0.3",
    ),
    "lr_scheduler": (
        "mse",
        "def schedule(epoch):\n    return 0.2 / (epoch + 1)\n",
        'loss="mse"',
        (
            "batch_size=4, epochs=3, shuffle=False, validation_split=0.3, callbacks=["
            "keras.callbacks.LearningRateScheduler(schedule), "
            "keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5)]"
        ),
    ),
    "reduce_lr_on_plateau": (
        "mse",
        "",
        'loss="mse"',
        (
            "batch_size=4, epochs=5, shuffle=False, callbacks=["
            'keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=10.0, cooldown=1)]'
        ),
    ),
    "binary_accuracy": ("binary", "", 'loss="mse", metrics=["acc"]', "batch_size=4, epochs=2, shuffle=False"),
    "categorical_accuracy": (
        "onehot",
        "",
        'loss="mse", metrics=[keras.metrics.CategoricalAccuracy(name="cat")]',
        "batch_size=4, epochs=2, shuffle=False",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_fit_evaluate_predict_match_keras(case, rules):
    data, prelude, compile_args, fit_args = CASES[case]
    x, y, outputs = _data(data)
    weights = _weights(outputs)
    script = (
        HEADER
        + MODEL.format(outputs=outputs)
        + prelude
        + textwrap.dedent(
            f"""
        model.compile(optimizer=keras.optimizers.SGD(0.1), {compile_args}, run_eagerly=True)
        history = model.fit(x, y, {fit_args}, verbose=0)
        score = model.evaluate(x, y, batch_size=4, verbose=0)
        pred = model.predict(x, verbose=0)
        """
        )
    )
    keras_ns = {"x": x, "y": y, "init": _keras_init(weights)}
    exec(compile(script, "<keras>", "exec"), keras_ns)
    result = fwtranslate.translate(script, to="torch", rules=[rules])
    assert result.ok, "\n".join(d.format() for d in result.diagnostics) + "\n" + result.code
    assert "import keras" not in result.code
    torch_ns = {"x": x, "y": y, "init": _torch_init(weights)}
    exec(compile(result.code, "<torch>", "exec"), torch_ns)

    for got, want in zip(_torch_weights(torch_ns["model"]), keras_ns["model"].get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    want_history = keras_ns["history"].history
    got_history = torch_ns["history"].history
    if case == "early_stopping_restore":
        assert len(want_history["loss"]) == 2  # the case does stop early
    if case in ("reduce_lr_on_plateau", "lr_scheduler"):
        assert len(set(want_history["learning_rate"])) > 1  # the case does change the rate
    assert list(got_history) == list(want_history)
    for key in want_history:
        np.testing.assert_allclose(got_history[key], want_history[key], rtol=1e-5, atol=1e-7, err_msg=key)
    np.testing.assert_allclose(torch_ns["score"], keras_ns["score"], rtol=1e-5, atol=1e-7)
    assert isinstance(torch_ns["pred"], np.ndarray)
    for name in ("batch", "loss", "epoch", "start"):  # the script's own, where it has them
        assert name not in keras_ns or torch_ns[name] == keras_ns[name], name
    np.testing.assert_allclose(torch_ns["pred"], keras_ns["pred"], rtol=1e-5, atol=1e-6)


def test_evaluate_return_dict_and_batched_predict_match_keras(rules):
    x, y, outputs = _data("sparse")
    weights = _weights(outputs)
    script = (
        HEADER
        + MODEL.format(outputs=outputs)
        + textwrap.dedent(
            """
        model.compile(
            optimizer=keras.optimizers.SGD(0.1),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=[keras.metrics.SparseCategoricalAccuracy()],
            run_eagerly=True,
        )
        scores = model.evaluate(x, y, batch_size=3, verbose=0, return_dict=True)
        loss, accuracy = model.evaluate(x, y, verbose=0)
        pred = model.predict(x, batch_size=4, verbose=0)
        """
        )
    )
    keras_ns = {"x": x, "y": y, "init": _keras_init(weights)}
    exec(compile(script, "<keras>", "exec"), keras_ns)
    result = fwtranslate.translate(script, to="torch", rules=[rules])
    assert result.ok, "\n".join(d.format() for d in result.diagnostics) + "\n" + result.code
    torch_ns = {"x": x, "y": y, "init": _torch_init(weights)}
    exec(compile(result.code, "<torch>", "exec"), torch_ns)
    assert list(torch_ns["scores"]) == list(keras_ns["scores"])
    for key in keras_ns["scores"]:
        np.testing.assert_allclose(torch_ns["scores"][key], keras_ns["scores"][key], rtol=1e-5)
    np.testing.assert_allclose(
        [torch_ns["loss"], torch_ns["accuracy"]], [keras_ns["loss"], keras_ns["accuracy"]], rtol=1e-5
    )
    np.testing.assert_allclose(torch_ns["pred"], keras_ns["pred"], rtol=1e-5, atol=1e-6)


# --- structure of the output ----------------------------------------------------------------------

FIT = """
model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
model.compile(optimizer="sgd", loss="mse")
history = model.fit(x_train, y_train, epochs=5)
"""


def test_fit_becomes_a_readable_loop(rules):
    result = translate(FIT, rules)
    assert result.ok, result.code
    code = result.code
    for line in (
        "optimizer = torch.optim.SGD(model.parameters(), lr=0.01)",
        "loss_fn = torch.nn.MSELoss()",
        "for epoch in range(5):",
        "    model.train()",
        "    order = torch.randperm(len(x_fit))",  # shuffle=True, Keras' default
        "    for start in range(0, len(order), 32):",  # batch_size 32, Keras' default
        "        optimizer.zero_grad()",
        "        loss = loss_fn(y_pred, y_true)",  # torch losses: (input, target)
        "        loss.backward()",
        "        optimizer.step()",
        'print(f"Epoch {epoch + 1}/5:"',
    ):
        assert line in code, code
    assert "history = types.SimpleNamespace(history=" in code and "import types" in code
    assert ".compile(" not in code and ".fit(" not in code


def test_without_the_rules_compile_and_fit_stay_marked_and_reported():
    result = translate(FIT.replace('optimizer="sgd"', "optimizer=keras.optimizers.Muon()"))
    assert not result.ok
    messages = errors(result)
    assert any("keras.optimizers.Muon is not translated" in m for m in messages), messages
    assert any("model.fit: the model.compile(...) it uses is not translated" in m for m in messages)
    lines = result.code.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("history = model.fit("))
    assert lines[at - 1].startswith("# fwtranslate: unconverted [fit-loop]")


def test_an_optimizer_built_in_the_file_gets_the_models_parameters(rules):
    result = translate(
        """
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        opt = keras.optimizers.SGD(0.1)
        model.compile(optimizer=opt, loss="mse")
        model.fit(x_train, y_train, batch_size=8, verbose=0)
        """,
        rules,
    )
    assert result.ok, result.code
    assert "opt = torch.optim.SGD(model.parameters(), lr=0.1)" in result.code
    assert "opt.zero_grad()" in result.code and "opt.step()" in result.code
    assert "print(" not in result.code  # verbose=0
    assert "PARAMS" not in result.code


def test_an_optimizer_built_before_the_model_is_reported(rules):
    result = translate(
        """
        opt = keras.optimizers.SGD(0.1)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        model.compile(optimizer=opt, loss="mse")
        """,
        rules,
    )
    assert any("is built before model" in m for m in errors(result)), result.diagnostics


def test_a_loss_function_of_the_file_is_called_y_true_first(rules):
    result = translate(
        """
        def my_loss(y_true, y_pred):
            return keras.ops.mean(keras.ops.abs(y_true - y_pred))

        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        model.compile(optimizer="sgd", loss=my_loss)
        model.fit(x_train, y_train)
        """,
        rules,
    )
    # (the function's parameters are names of the file: the loop's variables get other ones)
    assert "loss = my_loss(y_true2, y_pred2)" in result.code, result.code


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("model.fit(dataset, epochs=3)", "a tf.data.Dataset"),
        ("model.fit(x, y, steps_per_epoch=10)", "steps_per_epoch"),
        ("model.fit(x, y, class_weight={0: 1.0, 1: 2.0})", "class_weight"),
        ("model.fit(x, y, sample_weight=w)", "sample_weight"),
        ('model.fit(x, y, shuffle="batch")', 'shuffle="batch"'),
        ("model.evaluate(x, y, sample_weight=w)", "sample_weight"),
        ("model.fit(x, y, callbacks=[keras.callbacks.TensorBoard('logs')])", "TensorBoard is not translated"),
        ('done = model.compile(optimizer="sgd", loss="mse")', "compile call inside another statement"),
        ("h = [model.fit(x, y) for _ in range(2)]", "a fit call inside a lambda, a comprehension"),
    ],
)
def test_what_is_not_translated_is_reported(call, message, rules):
    result = translate(
        f"""
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        model.compile(optimizer="sgd", loss="mse")
        {call}
        """,
        rules,
    )
    assert any(message in m for m in errors(result)), [d.format() for d in result.diagnostics]
    assert "fwtranslate: unconverted [fit-loop]" in result.code


def test_an_untranslated_metric_is_reported_and_the_rest_translated(rules):
    result = translate(
        """
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        model.compile(optimizer="sgd", loss="mse", metrics=["mae", "accuracy"])
        history = model.fit(x, y)
        """,
        rules,
    )
    assert any('the metric "mae" is not translated' in m for m in errors(result))
    assert '"accuracy": []' in result.code and "accuracy_correct(" in result.code
    assert '"mae": []' not in result.code


def test_other_libraries_fit_and_predict_are_left_alone(rules):
    result = translate(
        """
        from sklearn.linear_model import LinearRegression

        clf = LinearRegression()
        clf.fit(x, y)
        pred = clf.predict(x)
        """,
        rules,
    )
    assert "clf.fit(x, y)" in result.code and "pred = clf.predict(x)" in result.code
    assert not result.diagnostics


def test_predict_needs_no_compile():
    result = translate(
        """
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        pred = model.predict(x)
        """
    )
    assert result.ok, result.code
    assert "model.eval()\nwith torch.no_grad():\n    pred = model(as_model_input(x)).numpy()" in result.code


def test_fit_in_another_scope_than_compile_is_reported(rules):
    result = translate(
        """
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        model.compile(optimizer="sgd", loss="mse")

        def train(model, x, y):
            model.fit(x, y)
        """,
        rules,
    )
    assert any("compile(...) is not in this scope" in m for m in errors(result)), result.diagnostics


def test_an_early_stopping_bound_to_a_name_goes_with_the_fit(rules):
    result = translate(
        """
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        model.compile(optimizer="sgd", loss="mse")
        stop = keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True)
        history = model.fit(x, y, epochs=20, validation_data=(xv, yv), callbacks=[stop])
        """,
        rules,
    )
    assert result.ok, [d.format() for d in result.diagnostics]
    code = result.code
    assert "EarlyStopping(" not in code and "stop =" not in code and "import keras" not in code
    assert 'current = history.history["val_loss"][-1]' in code and "import copy" in code
    assert "model.load_state_dict(best_state)" in code


def test_an_early_stopping_on_a_value_the_loop_does_not_log_is_reported(rules):
    result = translate(
        """
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        model.compile(optimizer="sgd", loss="mse")
        model.fit(x, y, callbacks=[keras.callbacks.EarlyStopping()])
        """,
        rules,
    )
    assert any('monitor="val_loss" without validation data' in m for m in errors(result)), result.diagnostics


def test_predict_and_evaluate_inside_a_statement_are_computed_before_it(rules):
    x, y, _ = _data("mse")
    result = translate(
        """
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        model.compile(optimizer="sgd", loss="mse")
        labels = np.argmax(model.predict(x, verbose=0), axis=1)
        report = ("test", model.evaluate(x, y))
        """,
        rules,
    )
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "labels = np.argmax(predicted, axis=1)" in result.code
    assert 'report = ("test", scores)' in result.code
    namespace = {"x": x, "y": y}
    exec(compile(result.code, "<torch>", "exec"), namespace)
    model = namespace["model"]
    with torch.no_grad():
        out = model(torch.as_tensor(x, dtype=torch.float32))
    np.testing.assert_array_equal(namespace["labels"], out.argmax(1).numpy())
    np.testing.assert_allclose(
        namespace["report"][1], torch.nn.functional.mse_loss(out, torch.as_tensor(y)).item(), rtol=1e-6
    )


def test_a_predict_that_cannot_be_computed_first_is_reported(rules):
    result = translate(
        """
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        rows = [model.predict(b) for b in batches]
        """,
        rules,
    )
    assert any("inside a lambda, a comprehension" in m for m in errors(result)), result.diagnostics
    assert "fwtranslate: unconverted [fit-loop]" in result.code


def test_a_model_class_of_the_file_is_a_model(rules):
    result = translate(
        """
        class Net(keras.Model):
            def __init__(self):
                super().__init__()
                self.dense = keras.layers.Dense(2)

            def call(self, x):
                return self.dense(x)

        net = Net()
        out = net.predict(x)
        """,
        rules,
    )
    assert "out = net(as_model_input(x)).numpy()" in result.code, result.code


# --- tf.data pipelines into fit / evaluate / predict (fit_data.py) ---------------------------------


def test_fit_evaluate_predict_on_tf_data_pipelines_match_keras(rules):
    """The loops take a pipeline's batches in its order (a partial last batch, a map, cache and
    prefetch on the way), validation_data and evaluate on another pipeline, predict on an (x, y)
    pipeline (its x) and on an x-only one."""
    pytest.importorskip("tensorflow")
    x, y, outputs = _data("sparse")
    weights = _weights(outputs)
    script = (
        HEADER
        + "import tensorflow as tf\n"
        + MODEL.format(outputs=outputs)
        + textwrap.dedent(
            """
        model.compile(
            optimizer=keras.optimizers.SGD(0.1),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
            run_eagerly=True,
        )
        train = tf.data.Dataset.from_tensor_slices((x, y)).map(lambda a, b: (a * 2.0, b)).batch(4)
        train = train.cache().prefetch(tf.data.AUTOTUNE)
        val = tf.data.Dataset.from_tensor_slices((x[:7], y[:7])).batch(3)
        history = model.fit(train, epochs=3, validation_data=val, verbose=0)
        score = model.evaluate(val, verbose=0)
        pred = model.predict(train, verbose=0)
        pred_x = model.predict(tf.data.Dataset.from_tensor_slices(x).batch(6), verbose=0)
        """
        )
    )
    keras_ns = {"x": x, "y": y, "init": _keras_init(weights)}
    exec(compile(script, "<keras>", "exec"), keras_ns)
    result = fwtranslate.translate(script, to="torch", rules=[rules])
    assert result.ok, "\n".join(d.format() for d in result.diagnostics) + "\n" + result.code
    assert "import keras" not in result.code and "import tensorflow" not in result.code
    assert "for x_batch, y_true in train:" in result.code
    torch_ns = {"x": x, "y": y, "init": _torch_init(weights)}
    exec(compile(result.code, "<torch>", "exec"), torch_ns)
    for got, want in zip(_torch_weights(torch_ns["model"]), keras_ns["model"].get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    want_history, got_history = keras_ns["history"].history, torch_ns["history"].history
    assert list(got_history) == list(want_history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    for key in want_history:
        np.testing.assert_allclose(got_history[key], want_history[key], rtol=1e-5, atol=1e-7, err_msg=key)
    np.testing.assert_allclose(torch_ns["score"], keras_ns["score"], rtol=1e-5, atol=1e-7)
    for name in ("pred", "pred_x"):
        assert torch_ns[name].shape == keras_ns[name].shape == (10, outputs)
        np.testing.assert_allclose(torch_ns[name], keras_ns[name], rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)\nmodel.fit(ds, validation_split=0.2)", "dataset"),
        ("ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(4).repeat()\nmodel.fit(ds)", "without x and y"),
        ("ds = make_data()\nmodel.fit(ds)", "without x and y"),
    ],
)
def test_pipelines_the_loops_cannot_take_are_reported(body, message, rules):
    result = translate(
        "import tensorflow as tf\n"
        'model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])\nmodel.compile(optimizer="sgd", loss="mse")\n'
        + body,
        rules,
    )
    assert any(message in m for m in errors(result)), errors(result)
    assert "model.fit(ds" in result.code


# --- models held anywhere (model_names.py), NumPy on model outputs (numpy_calls.py) ----------------


def test_a_trainer_class_compiles_in_init_and_fits_in_a_method(rules):
    """self.model compiled in __init__ and trained in another method: the class keeps the
    optimizer and the loss; its save_weights is translated too."""
    x, y, outputs = _data("mse")
    weights = _weights(outputs)
    script = HEADER + textwrap.dedent(
        f"""
        def build():
            model = keras.Sequential(
                [keras.Input((3,)), keras.layers.Dense(5, activation="tanh"), keras.layers.Dense({outputs})]
            )
            init(model)
            return model

        class Trainer:
            def __init__(self):
                self.model = build()
                self.model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse", run_eagerly=True)

            def train(self, x, y):
                return self.model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)

        trainer = Trainer()
        history = trainer.train(x, y)
        """
    )
    keras_ns = {"x": x, "y": y, "init": _keras_init(weights)}
    exec(compile(script, "<keras>", "exec"), keras_ns)
    result = fwtranslate.translate(script, to="torch", rules=[rules])
    assert result.ok, "\n".join(d.format() for d in result.diagnostics) + "\n" + result.code
    assert "self.optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1)" in result.code
    torch_ns = {"x": x, "y": y, "init": _torch_init(weights)}
    exec(compile(result.code, "<torch>", "exec"), torch_ns)
    for got, want in zip(_torch_weights(torch_ns["trainer"].model), keras_ns["trainer"].model.get_weights()):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_numpy_on_model_outputs_gets_arrays_and_leaves_numpy_data_alone(rules):
    """np.argmax(logits, axis=1) on a model's output (a model passed in by the caller, from a
    builder) runs on the translation; NumPy calls on NumPy data are not touched."""
    x, y, outputs = _data("sparse")
    weights = _weights(outputs)
    script = HEADER + textwrap.dedent(
        f"""
        def build():
            model = keras.Sequential(
                [keras.Input((3,)), keras.layers.Dense(5, activation="tanh"), keras.layers.Dense({outputs})]
            )
            init(model)
            return model

        def accuracy(model, x, y):
            logits = model(keras.ops.convert_to_tensor(x.astype("float32")), training=False)
            labels = np.argmax(logits, axis=1)
            top = np.max(logits[0])
            return float(np.mean(labels == y)), float(top), np.argmax(x, axis=1)

        acc, top, x_argmax = accuracy(build(), x, y)
        """
    )
    keras_ns = {"x": x, "y": y, "init": _keras_init(weights)}
    exec(compile(script, "<keras>", "exec"), keras_ns)
    result = fwtranslate.translate(script, to="torch", rules=[rules])
    assert result.ok, "\n".join(d.format() for d in result.diagnostics) + "\n" + result.code
    assert "np.argmax(logits.detach().cpu().numpy(), axis=1)" in result.code
    assert "np.argmax(x, axis=1)" in result.code and "np.mean(labels == y)" in result.code
    torch_ns = {"x": x, "y": y, "init": _torch_init(weights)}
    exec(compile(result.code, "<torch>", "exec"), torch_ns)
    np.testing.assert_allclose([torch_ns["acc"], torch_ns["top"]], [keras_ns["acc"], keras_ns["top"]], rtol=1e-6)
    np.testing.assert_array_equal(torch_ns["x_argmax"], keras_ns["x_argmax"])


def test_a_parameter_also_given_something_else_is_not_a_model(rules):
    result = translate(
        """
        def show(m, x):
            return np.argmax(m(x), axis=1)

        show(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]), x)
        show(lambda v: v, x)
        """,
        rules,
    )
    assert "np.argmax(m(x), axis=1)" in result.code, result.code
