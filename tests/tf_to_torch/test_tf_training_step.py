"""The training step, Keras -> PyTorch (passes/tf_to_torch/training_step.py): a tf.GradientTape
step becomes zero_grad / backward / step, the optimizer gets the parameters of the model its
apply_gradients updates, loss objects are called (input, target), training=... becomes the
module's mode, and what is not translated is marked and reported."""

from __future__ import annotations

import textwrap

import fwtranslate

HEADER = "import tensorflow as tf\nimport keras\n"


def translate(body: str):
    return fwtranslate.translate(HEADER + textwrap.dedent(body), to="torch")


def errors(result) -> list[str]:
    return [d.code for d in result.diagnostics if d.severity == "error"]


LOOP = """
def train(model, dataset):
    loss_fn = keras.losses.MeanSquaredError()
    for x, y in dataset:
        with tf.GradientTape() as tape:
            pred = model(x, training=True)
            loss = loss_fn(y, pred)
        grads = tape.gradient(loss, model.trainable_variables)
        grads, norm = tf.clip_by_global_norm(grads, 1.0)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return model(x, training=False)
"""


def test_a_tape_step_becomes_zero_grad_backward_step():
    result = translate(LOOP)
    expected = textwrap.dedent(
        """\
            for x, y in dataset:
                model.train()
                optimizer.zero_grad()
                pred = model(x)
                loss = loss_fn(pred, y)
                loss.backward()
                norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
            model.eval()
            with torch.no_grad():
                return model(x)
        """
    )
    assert textwrap.indent(expected, "    ") in result.code, result.code
    assert "GradientTape" not in result.code and "apply_gradients" not in result.code
    assert "training-step" not in errors(result)


def test_the_optimizer_gets_the_parameters_apply_gradients_updates():
    # the optimizer rules write PARAMS (rules/tf_to_torch/optim.yaml); this file's rule does too
    rules = (
        "keras.optimizers.SGD:\n  signature: (learning_rate=0.01)\n  to: torch.optim.SGD(PARAMS, lr=learning_rate)\n"
    )
    source = HEADER + textwrap.dedent(
        """
        def train(model, x, y):
            opt = keras.optimizers.SGD(0.1)
            with tf.GradientTape() as tape:
                loss = keras.ops.mean(model(x) - y)
            grads = tape.gradient(loss, model.trainable_variables)
            opt.apply_gradients(zip(grads, model.trainable_variables))
        """
    )
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rules.yaml"
        path.write_text(rules)
        result = fwtranslate.translate(source, to="torch", rules=[path])
    assert "opt = torch.optim.SGD(model.parameters(), lr=0.1)" in result.code, result.code
    assert "PARAMS" not in result.code


def test_gradients_used_otherwise_are_reported_with_a_marker():
    result = translate(
        """
        def train(model, x, y, optimizer):
            with tf.GradientTape() as tape:
                loss = keras.ops.mean(model(x) - y)
            grads = tape.gradient(loss, model.trainable_variables)
            grads = [g * 0.5 for g in grads]
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
        """
    )
    assert "training-step" in errors(result)
    lines = result.code.splitlines()
    at = next(i for i, line in enumerate(lines) if "with tf.GradientTape() as tape:" in line)
    assert "fwtranslate: unconverted [training-step]" in lines[at - 1]
    assert "import tensorflow as tf" in result.code  # what stays still runs
    assert not result.ok


def test_loss_objects_are_called_input_then_target():
    result = translate(
        """
        bce = keras.losses.BinaryCrossentropy(from_logits=True)

        def score(y_true, y_pred):
            return bce(y_true, y_pred), other(y_true, y_pred)
        """
    )
    assert "bce(y_pred, y_true), other(y_true, y_pred)" in result.code


CLIP_OUTSIDE_A_STEP = """
def clip(grads):
    grads, norm = tf.clip_by_global_norm(grads, 1.0)
    return grads, norm
"""


def test_clip_by_global_norm_outside_a_step_gets_its_rule():
    # the step takes `g, n = tf.clip_by_global_norm(g, c)` over as clip_grad_norm_; elsewhere the
    # same statement is the function's rule, not left as TensorFlow code
    import numpy as np
    import tensorflow as tf
    import torch

    result = translate(CLIP_OUTSIDE_A_STEP)
    assert "tf_clip_by_global_norm(grads, 1.0)" in result.code and not errors(result), result.code
    assert "import tensorflow" not in result.code
    namespace: dict = {}
    exec(compile(result.code, "<translated>", "exec"), namespace)
    values = [np.full((2, 3), 0.5, "float32"), np.arange(4, dtype="float32")]
    got, got_norm = namespace["clip"]([torch.from_numpy(v) for v in values])
    want, want_norm = tf.clip_by_global_norm([tf.constant(v) for v in values], 1.0)
    np.testing.assert_allclose(got_norm.numpy(), want_norm.numpy(), rtol=1e-6)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-6)


def test_a_train_step_override_is_reported_not_dropped():
    """fit() translates to a loop with its own step: a model's train_step would never run."""
    result = translate(
        """
        class Net(keras.Model):
            def __init__(self):
                super().__init__()
                self.dense = keras.layers.Dense(1)

            def call(self, x):
                return self.dense(x)

            def train_step(self, data):
                x, y = data
                loss = self.compute_loss(y=y, y_pred=self(x, training=True))
                return {"loss": loss}

        class Trainer:
            def train_step(self, batch):
                return batch

        def main(x, y):
            model = Net()
            model.compile(optimizer="adam", loss="mse")
            model.fit(x, y, epochs=1)
        """
    )
    reports = [d for d in result.diagnostics if d.code == "training-step" and d.severity == "error"]
    assert len(reports) == 1 and "train_step()" in reports[0].message, result.diagnostics  # not Trainer's
    lines = result.code.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip() == "def train_step(self, data):")
    assert "fwtranslate: unconverted [training-step]" in lines[at - 1]
    assert not result.ok
