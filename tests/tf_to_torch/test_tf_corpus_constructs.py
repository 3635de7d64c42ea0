"""Constructs of the Keras files of the public corpus (found by benchmarks/corpus.py), translated
to PyTorch and verified against Keras: a squeeze-and-excitation branch under an ``if`` without
``else`` (EfficientNet), Normalization with given statistics and Rescaling before the stem
(ConvNeXt, EfficientNet: constants, not weights), a layer deriving from
``keras.src.layers.layer.Layer`` whose constructor passes ``**kwargs`` on (ConvNeXt's
LayerScale), and keras-hub's habits: sub-layers built explicitly in ``build()`` and
``dtype=self.dtype_policy``."""

from __future__ import annotations

import pytest

import fwtranslate

pytest.importorskip("torch")
pytest.importorskip("tensorflow")

MODEL = """
import keras
from keras import layers, ops
from keras.src.layers.layer import Layer


class LayerScale(Layer):
    def __init__(self, init_values, projection_dim, **kwargs):
        super().__init__(**kwargs)
        self.init_values = init_values
        self.projection_dim = projection_dim

    def build(self, _):
        self.gamma = self.add_weight(shape=(self.projection_dim,),
                                     initializer=keras.initializers.Constant(self.init_values), trainable=True)

    def call(self, x):
        return x * self.gamma


class MLPBlock(layers.Layer):
    def __init__(self, hidden_dim, **kwargs):
        super().__init__(**kwargs)
        self.hidden_dim = hidden_dim
        self.dense_1 = layers.Dense(hidden_dim * 2, dtype=self.dtype_policy, name="dense_1")
        self.dense_2 = layers.Dense(hidden_dim, dtype=self.dtype_policy, name="dense_2")

    def build(self, input_shape):
        self.dense_1.build(input_shape)
        self.dense_2.build((None, self.hidden_dim * 2))
        self.built = True

    def call(self, x):
        return self.dense_2(ops.gelu(self.dense_1(x)))


def block(x, filters, se_ratio):
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization(axis=3)(x)
    x = layers.Activation("swish")(x)
    if 0 < se_ratio <= 1:
        se = layers.GlobalAveragePooling2D()(x)
        se = layers.Reshape((1, 1, filters))(se)
        se = layers.Conv2D(max(1, int(filters * se_ratio)), 1, activation="swish")(se)
        se = layers.Conv2D(filters, 1, activation="sigmoid")(se)
        x = layers.multiply([x, se])
    return x


def build_net(se_ratio=0.25):
    inputs = keras.Input((12, 12, 3))
    x = layers.Rescaling(1.0 / 255.0)(inputs)
    x = layers.Normalization(mean=[0.485, 0.456, 0.406], variance=[0.052, 0.050, 0.051])(x)
    x = block(x, 8, se_ratio)
    x = block(x, 8, 0)
    x = LayerScale(1e-2, 8, name="scale")(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = MLPBlock(8, name="mlp")(x)
    return keras.Model(inputs, layers.Dense(4)(x))
"""


@pytest.fixture(scope="module")
def translated():
    return fwtranslate.translate(MODEL, to="torch", path="net_keras.py")


def test_translates_completely(translated):
    assert translated.ok, [d.format() for d in translated.diagnostics]
    code = translated.code
    assert "import keras" not in code and "from keras" not in code
    for piece in [
        "class LayerScale(nn.Module):",
        "def forward(self, x):",
        "build_layer(self.dense_1, input_shape)",
        "dtype=None",
    ]:
        assert piece in code, f"{piece!r} not in\n{code}"
    assert "super().__init__(**kwargs)" not in code  # nn.Module takes no name=
    assert "dtype_policy" not in code


@pytest.mark.parametrize("se_ratio", [0.25, 0])
def test_verifies_against_keras(translated, tmp_path, se_ratio):
    src, dst = tmp_path / "net_keras.py", tmp_path / "net_torch.py"
    src.write_text(MODEL)
    dst.write_text(translated.code)
    report = fwtranslate.verify(
        src,
        dst,
        "build_net",
        kwargs={"se_ratio": se_ratio},
        input_shape=(2, 12, 12, 3),
        input_range="0,255",
        examples=3,
    )
    assert report.equivalent, report
    assert {"inference", "training", "gradients"} <= {p.name for p in report.phases if p.ok}
