"""Keras layers that translate to PyTorch's own modules (issue 14: native modules, not
look-alikes), checked against real Keras with ``fwtranslate.verify``: inference, training mode,
gradients and one SGD step (running statistics included), on Hypothesis-drawn inputs."""

from __future__ import annotations

import textwrap

import pytest

pytest.importorskip("torch")
pytest.importorskip("tensorflow")
pytest.importorskip("hypothesis")

import fwtranslate
from fwtranslate.verify import verify

HEAD = "import keras\nfrom keras import layers\n\n\n"


def _translate(tmp_path, source: str, name: str = "model"):
    original = tmp_path / f"{name}.py"
    original.write_text(HEAD + textwrap.dedent(source))
    translated = tmp_path / f"{name}_torch.py"
    result = fwtranslate.translate_file(original, "torch", output=translated)
    assert not [d for d in result.diagnostics if d.severity == "error"], [d.format() for d in result.diagnostics]
    return original, translated, translated.read_text()


def _verified(original, translated, entry, shape):
    report = verify(original, translated, entry, input_shape=shape, examples=2)
    assert report.equivalent, report.format_text()
    assert {"inference", "training", "gradients", "step"} <= {p.name for p in report.phases}
    return report


# --- BatchNormalization -> nn.BatchNorm1d/2d/3d -------------------------------------------------
BATCHNORM = """
    def build_2d(input_shape=(6, 6, 3)):
        inputs = keras.Input(shape=input_shape)
        x = layers.Conv2D(4, 3, padding="same")(inputs)
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.ReLU()(x)
        x = layers.Conv2D(5, 1)(x)
        x = layers.BatchNormalization(epsilon=1e-5, center=False, scale=False)(x)
        x = layers.GlobalAveragePooling2D()(x)
        x = layers.BatchNormalization()(x)
        return keras.Model(inputs, layers.Dense(3)(x))


    def build_1d():
        inputs = keras.Input(shape=(7, 2))
        x = layers.Conv1D(4, 3)(inputs)
        x = layers.BatchNormalization()(x)
        return keras.Model(inputs, x)


    def build_3d():
        inputs = keras.Input(shape=(4, 4, 4, 2))
        x = layers.Conv3D(3, 1)(inputs)
        x = layers.BatchNormalization(momentum=0.5)(x)
        return keras.Model(inputs, x)


    class Block(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.conv = layers.Conv2D(4, 3, padding="same")
            self.bn = layers.BatchNormalization()

        def call(self, x, training=None):
            return self.bn(self.conv(x), training=training)


    class Net(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.block = Block()
            self.head = layers.Dense(2)

        def call(self, x, training=None):
            return self.head(self.block(x, training=training))


    def build_frozen(input_shape=(6, 6, 3)):
        inputs = keras.Input(shape=input_shape)
        x = layers.Conv2D(4, 3)(inputs)
        x = layers.BatchNormalization()(x, training=False)
        return keras.Model(inputs, x)
"""


@pytest.fixture(scope="module")
def batchnorm(tmp_path_factory):
    return _translate(tmp_path_factory.mktemp("bn"), BATCHNORM)


def test_batchnorm_translates_to_native_modules(batchnorm):
    _, _, code = batchnorm
    assert "nn.BatchNorm2d(4, eps=0.001, momentum=0.1)" in code
    assert "nn.BatchNorm2d(5, eps=1e-5, momentum=0.01, affine=False)" in code
    assert "nn.BatchNorm1d(5, eps=0.001, momentum=0.01)" in code  # after global pooling: (N, C)
    assert "nn.BatchNorm1d(4, eps=0.001, momentum=0.01)" in code  # Conv1D's output, channels first
    assert "nn.BatchNorm3d(3, eps=0.001, momentum=0.5)" in code
    # a subclassed layer's `training=training` goes (the module's mode), so the native module fits
    assert "self.bn = nn.BatchNorm2d(4, eps=0.001, momentum=0.01)" in code
    assert "self.bn(self.conv(x))" in code
    # a builder's training=False stays: only the support module takes it
    assert "= KerasBatchNormalization(4, axis=1)" in code and "(x, training=False)" in code


@pytest.mark.parametrize(
    ("entry", "shape"),
    [("build_2d", (2, 6, 6, 3)), ("build_1d", (3, 7, 2)), ("build_3d", (2, 4, 4, 4, 2)), ("Net", (2, 5, 5, 3))],
)
def test_batchnorm_matches_keras(batchnorm, entry, shape):
    """Keras' moving variance takes the biased batch variance, torch's the unbiased one: verify's
    step phase compares torch's running_var with Keras' rule (BatchNormWatch) and says so."""
    original, translated, _ = batchnorm
    report = _verified(original, translated, entry, shape)
    assert any("biased batch variance" in n for n in report.notes), report.format_text()


def test_batchnorm_training_false_in_builder_runs(batchnorm):
    """The support module keeps the builder's training=False (it used to fail at the first call:
    the lazy hook passed it to initialize_parameters). Inference matches Keras; in training mode
    Keras 3 lets the outer call's training=True win over the constructed training=False (measured),
    which the tracer's replay does not: a difference of the functional tracer, not of this layer."""
    import importlib.util

    import numpy as np
    import torch

    original, translated, _ = batchnorm
    spec = importlib.util.spec_from_file_location("bn_torch_frozen", translated)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    spec_k = importlib.util.spec_from_file_location("bn_keras_frozen", original)
    keras_module = importlib.util.module_from_spec(spec_k)
    spec_k.loader.exec_module(keras_module)
    kmodel, tmodel = keras_module.build_frozen(), module.build_frozen()
    from fwtranslate.weights.from_keras import keras_to_torch_model

    keras_to_torch_model(kmodel, tmodel)
    x = np.random.default_rng(0).standard_normal((2, 6, 6, 3)).astype(np.float32)
    tmodel.eval()
    with torch.no_grad():
        got = tmodel(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, np.asarray(kmodel(x, training=False)), rtol=1e-4, atol=1e-5)


# --- activations: native modules, and no lambda anywhere in a module ------------------------------
ACTIVATIONS = """
    class Head(keras.Model):
        def __init__(self, act="gelu", **kwargs):
            super().__init__(**kwargs)
            self.fc = layers.Dense(8, activation="relu")
            self.act = layers.Activation("softmax")
            self.leaky = layers.Activation("leaky_relu")
            self.linear = layers.Dense(4, activation="linear")
            self.dynamic = layers.Activation(act)
            self.dynamic_softmax = layers.Activation(act if act != "gelu" else "log_softmax")

        def call(self, x):
            h = self.leaky(self.fc(x))
            return self.act(self.linear(self.dynamic(h))) + keras.ops.sum(self.dynamic_softmax(h))


    def build_sequential():
        return keras.Sequential(
            [keras.Input((5,)), layers.Dense(6, activation="tanh"), layers.Activation("swish"), layers.Dense(2)]
        )
"""


@pytest.fixture(scope="module")
def activations(tmp_path_factory):
    return _translate(tmp_path_factory.mktemp("act"), ACTIVATIONS, "acts")


def test_activations_translate_to_native_modules(activations):
    _, _, code = activations
    assert "nn.Sequential(nn.LazyLinear(8), nn.ReLU())" in code
    assert "nn.Softmax(dim=-1)" in code and "nn.LeakyReLU(0.2)" in code and "nn.SiLU()" in code
    assert "nn.Sequential(nn.Linear(5, 6), nn.Tanh())" in code
    assert "KerasActivation(act)" in code  # a variable: looked up by name at run time


@pytest.mark.parametrize(("entry", "shape"), [("Head", (3, 5)), ("build_sequential", (3, 5))])
def test_activations_match_keras(activations, entry, shape):
    original, translated, _ = activations
    _verified(original, translated, entry, shape)


def test_translated_activations_pickle(activations, tmp_path):
    """torch.save(model) pickles the whole module: no lambda may sit in one (KerasActivation keeps
    a name, not Keras' lambda for softmax / leaky_relu / linear)."""
    import importlib.util
    import io

    import torch

    _, translated, _ = activations
    spec = importlib.util.spec_from_file_location("acts_torch_pickle", translated)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    import sys

    sys.modules["acts_torch_pickle"] = module  # torch.load finds the classes by module name
    x = torch.randn(3, 5)
    for model in (module.Head(), module.Head(act="log_softmax"), module.Head(act="linear"), module.build_sequential()):
        model.eval()
        expected = model(x)
        buffer = io.BytesIO()
        torch.save(model, buffer)
        buffer.seek(0)
        loaded = torch.load(buffer, weights_only=False)
        torch.testing.assert_close(loaded(x), expected)


# --- LayerNormalization -> nn.LayerNorm, GroupNormalization -> nn.GroupNorm ----------------------
NORMS = """
    def build_tokens():
        inputs = keras.Input(shape=(7, 6))
        x = layers.LayerNormalization(epsilon=1e-6)(inputs)
        x = layers.Dense(8)(x)
        x = layers.LayerNormalization(center=False)(x)
        x = layers.LayerNormalization(center=False, scale=False)(x)
        return keras.Model(inputs, x)


    def build_image():
        inputs = keras.Input(shape=(6, 6, 3))
        x = layers.Conv2D(8, 3, padding="same")(inputs)
        x = layers.GroupNormalization(4)(x)
        x = layers.Conv2D(6, 1)(x)
        x = layers.GroupNormalization(3, center=False, scale=False, epsilon=1e-5)(x)
        return keras.Model(inputs, x)


    def build_flat():
        inputs = keras.Input(shape=(5,))
        x = layers.Dense(8)(inputs)
        return keras.Model(inputs, layers.GroupNormalization(2)(x))
"""


@pytest.fixture(scope="module")
def norms(tmp_path_factory):
    return _translate(tmp_path_factory.mktemp("norms"), NORMS, "norms")


def test_norms_translate_to_native_modules(norms):
    _, _, code = norms
    assert "nn.LayerNorm(6, eps=1e-6)" in code
    assert "nn.LayerNorm(8, eps=0.001, bias=False)" in code
    assert "nn.LayerNorm(8, eps=0.001, elementwise_affine=False)" in code
    assert "nn.GroupNorm(4, 8, eps=0.001)" in code
    assert "nn.GroupNorm(3, 6, eps=1e-5, affine=False)" in code
    assert "nn.GroupNorm(2, 8, eps=0.001)" in code
    assert "KerasLayerNormalization" not in code and "KerasGroupNormalization" not in code


@pytest.mark.parametrize(
    ("entry", "shape"), [("build_tokens", (2, 7, 6)), ("build_image", (2, 6, 6, 3)), ("build_flat", (3, 5))]
)
def test_norms_match_keras(norms, entry, shape):
    original, translated, _ = norms
    _verified(original, translated, entry, shape)


# --- DepthwiseConv2D -> nn.Conv2d(C, C * m, k, groups=C) -----------------------------------------
DEPTHWISE = """
    def build(input_shape=(9, 9, 3)):
        inputs = keras.Input(shape=(9, 9, 3))
        x = layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2)(inputs)
        x = layers.DepthwiseConv2D(3, strides=2, padding="same", use_bias=False, activation="relu6")(x)
        x = layers.DepthwiseConv2D((2, 3), dilation_rate=(1, 2))(x)
        return keras.Model(inputs, x)
"""


def test_depthwise_translates_to_grouped_conv_and_matches_keras(tmp_path):
    original, translated, code = _translate(tmp_path, DEPTHWISE, "dw")
    assert 'nn.Conv2d(3, 6, 3, padding="same", groups=3)' in code
    assert "nn.Conv2d(6, 6, 3, stride=2, groups=6, bias=False)" in code
    assert "nn.Conv2d(6, 6, (2, 3), dilation=(1, 2), groups=6)" in code
    assert "KerasDepthwiseConv" not in code
    _verified(original, translated, "build", (2, 9, 9, 3))
