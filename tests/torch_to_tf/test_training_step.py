"""The training step, PyTorch -> Keras (passes/torch_to_tf/training_step.py): zero_grad /
backward / step become a tf.GradientTape step over the optimizer's own parameters, loss objects
are called (y_true, y_pred), and what is not translated is marked and reported."""

from __future__ import annotations

import textwrap

import fwtranslate

HEADER = "import torch\nimport torch.nn as nn\nimport torch.optim as optim\n"


def translate(body: str):
    return fwtranslate.translate(HEADER + textwrap.dedent(body), to="tf")


def codes(result) -> list[str]:
    return [d.code for d in result.diagnostics if d.severity == "error"]


def test_a_step_becomes_a_tape_over_the_optimizers_parameters():
    result = translate(
        """
        def train(model, loader):
            optimizer = optim.SGD(model.parameters(), lr=0.1)
            criterion = nn.MSELoss()
            model.train()
            for x, y in loader:
                optimizer.zero_grad()
                out = model(x)
                loss = criterion(out, y)
                loss.backward()
                optimizer.step()
        """
    )
    expected = textwrap.dedent(
        """\
            for x, y in loader:
                with tf.GradientTape() as tape:
                    out = model(x, training=True)
                    loss = criterion(y, out)
                grads = tape.gradient(loss, model.trainable_variables)
                optimizer.apply_gradients(zip(grads, model.trainable_variables))
        """
    )
    assert textwrap.indent(expected, "    ") in result.code, result.code
    assert "import tensorflow as tf" in result.code
    assert "zero_grad" not in result.code and "backward" not in result.code
    assert "training-step" not in codes(result)
    notes = [d for d in result.diagnostics if d.code == "mode-switch"]
    assert notes and all(d.severity == "info" for d in notes)  # model.train(): training=True per call


def test_zero_grad_after_the_forward_pass_still_records_it():
    result = translate(
        """
        def step(model, x, y, optimizer, criterion):
            out = model(x)
            loss = criterion(out, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

        def main():
            model = nn.Linear(4, 2)
            opt = optim.Adam(model.parameters())
            step(model, torch.ones(2, 4), torch.ones(2, 2), opt, nn.L1Loss())
        """
    )
    body = result.code.split("def step", 1)[1].split("def main", 1)[0]
    tape = body.index("with tf.GradientTape() as tape:")
    assert tape < body.index("out = model(x, training=True)") < body.index("loss = criterion(y, out)")
    assert "opt" not in codes(result)
    assert "grads = tape.gradient(loss, model.trainable_variables)" in body


def test_parameters_follow_the_optimizer_into_functions_under_other_names():
    result = translate(
        """
        def fit_epoch(net, batches, opt, loss_fn):
            for x, y in batches:
                opt.zero_grad()
                loss_fn(net(x), y).backward()
                opt.step()

        def main(data):
            model = nn.Linear(4, 2)
            optimizer = optim.SGD(model.parameters(), lr=0.1)
            fit_epoch(model, data, optimizer, nn.MSELoss())
        """
    )
    assert "loss = loss_fn(y, net(x, training=True))" in result.code  # computed on the tape
    assert "tape.gradient(loss, net.trainable_variables)" in result.code
    assert "opt.apply_gradients(zip(grads, net.trainable_variables))" in result.code


def test_two_optimizers_each_update_their_own_model():
    result = translate(
        """
        def gan(G, D, z, real, bce):
            opt_g = optim.Adam(G.parameters(), lr=2e-4)
            opt_d = optim.Adam(D.parameters(), lr=2e-4)
            opt_d.zero_grad()
            d_loss = bce(D(real), real)
            d_loss.backward()
            opt_d.step()
            opt_g.zero_grad()
            g_loss = bce(D(G(z)), real)
            g_loss.backward()
            opt_g.step()
        """
    )
    assert "tape.gradient(d_loss, D.trainable_variables)" in result.code
    assert "opt_d.apply_gradients(zip(grads, D.trainable_variables))" in result.code
    assert "tape.gradient(g_loss, G.trainable_variables)" in result.code
    assert result.code.count("with tf.GradientTape() as tape:") == 2


def test_a_trainer_class_and_gradient_clipping():
    result = translate(
        """
        from torch.nn.utils import clip_grad_norm_

        class Trainer:
            def __init__(self, model):
                self.model = model
                self.optimizer = optim.SGD(self.model.parameters(), lr=0.1)
                self.criterion = nn.MSELoss()

            def step(self, x, y):
                self.optimizer.zero_grad()
                loss = self.criterion(self.model(x), y)
                loss.backward()
                norm = clip_grad_norm_(self.model.parameters(), 1.0)
                torch.nn.utils.clip_grad_value_(self.model.parameters(), 0.5)
                self.optimizer.step()
                return norm
        """
    )
    code = result.code
    assert "loss = self.criterion(y, self.model(x, training=True))" in code
    assert "grads, norm = tf.clip_by_global_norm(grads, 1.0)" in code
    assert "grads = [tf.clip_by_value(g, -0.5, 0.5) for g in grads]" in code
    assert "self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))" in code
    assert "clip_grad" not in code


def test_gradient_accumulation_sums_the_tapes_gradients_until_the_conditional_step():
    result = translate(
        """
        def accumulate(model, loader, steps=4):
            optimizer = optim.SGD(model.parameters(), lr=0.1)
            for epoch in range(3):
                # start the sum
                optimizer.zero_grad()
                for i, (x, y) in enumerate(loader):
                    loss = model(x).sum() / steps
                    loss.backward()
                    if (i + 1) % steps == 0:
                        optimizer.step()
                        optimizer.zero_grad()
        """
    )
    expected = textwrap.dedent(
        """\
            grad_sum = None
            for epoch in range(3):
                # start the sum
                grad_sum = None
                for i, (x, y) in enumerate(loader):
                    with tf.GradientTape() as tape:
                        loss = keras.ops.sum(model(x, training=True)) / steps
                    grads = tape.gradient(loss, model.trainable_variables)
                    grad_sum = grads if grad_sum is None else [s + g for s, g in zip(grad_sum, grads)]
                    if (i + 1) % steps == 0:
                        optimizer.apply_gradients(zip(grad_sum, model.trainable_variables))
                        grad_sum = None
        """
    )
    assert textwrap.indent(expected, "    ") in result.code, result.code
    assert "training-step" not in codes(result), result.diagnostics
    notes = [d for d in result.diagnostics if d.code == "training-step"]
    assert len(notes) == 1 and notes[0].severity == "info" and "starts empty" in notes[0].message


def test_accumulation_outside_a_loop_is_reported_not_rewritten():
    result = translate(
        """
        def on_batch(model, x, i, steps=4):
            optimizer = optim.SGD(model.parameters(), lr=0.1)
            loss = model(x).sum() / steps
            loss.backward()
            if (i + 1) % steps == 0:
                optimizer.step()
                optimizer.zero_grad()
        """
    )
    assert codes(result).count("training-step") == 3, result.diagnostics
    lines = result.code.splitlines()
    for call in ("loss.backward()", "optimizer.step()", "optimizer.zero_grad()"):
        at = next(i for i, line in enumerate(lines) if line.strip() == call)
        assert "fwtranslate: unconverted [training-step]" in lines[at - 1]  # the marker is on the line
    assert not result.ok


def test_an_optimizer_of_unknown_parameters_is_reported():
    result = translate(
        """
        def step(model, x, optimizer):
            optimizer.zero_grad()
            model(x).sum().backward()
            optimizer.step()
        """
    )
    assert "training-step" in codes(result)
    assert "backward()" in result.code


def test_only_loss_objects_get_their_arguments_swapped():
    result = translate(
        """
        def metric(out, y):
            return (out - y).abs().mean()

        def evaluate(model, x, y):
            criterion = nn.CrossEntropyLoss()
            out = model(x)
            return criterion(out, y), metric(out, y)
        """
    )
    assert "metric(out, y)" in result.code
    assert "criterion(y, out)" in result.code


def test_no_grad_keeps_python_numbers_python_numbers():
    result = translate(
        """
        def accuracy(model, x, y):
            with torch.no_grad():
                out = model(x)
                acc = (out.argmax(1) == y).float().mean().item()
            return acc
        """
    )
    assert "out = keras.ops.stop_gradient(model(x))" in result.code
    acc = next(line for line in result.code.splitlines() if line.strip().startswith("acc ="))
    assert "stop_gradient" not in acc and acc.rstrip().endswith(".item()")


def test_dcgan_steps_sum_two_backwards_and_nest_the_generators_tape():
    result = translate(
        """
        def step(netG, netD, noise, real, criterion, ones, zeros):
            optimizerD = optim.Adam(netD.parameters())
            optimizerG = optim.Adam(netG.parameters())
            netD.zero_grad()
            errD_real = criterion(netD(real), ones)
            errD_real.backward()
            fake = netG(noise)
            errD_fake = criterion(netD(fake.detach()), zeros)
            errD_fake.backward()
            optimizerD.step()
            # the generator
            netG.zero_grad()
            errG = criterion(netD(fake), ones)
            errG.backward()
            optimizerG.step()
        """
    )
    code = result.code
    assert "zero_grad" not in code and "backward" not in code, code
    outer = code.index("with tf.GradientTape() as tape2:")
    inner = code.index("with tf.GradientTape() as tape:")
    assert outer < inner < code.index("fake = netG(noise, training=True)")  # fake is on both tapes
    assert "grads = tape.gradient([errD_real, errD_fake], netD.trainable_variables)" in code
    assert code.index("optimizerD.apply_gradients") < code.index("# the generator") < code.index("errG = ")
    assert "grads2 = tape2.gradient(errG, netG.trainable_variables)" in code
