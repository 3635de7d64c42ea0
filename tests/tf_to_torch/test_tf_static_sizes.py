"""Static input sizes in the Keras -> PyTorch direction (passes/tf_to_torch/static_sizes.py):
plain torch modules (nn.Linear(4, 8), nn.Conv2d(1, 8, 3), sized norm layers) where the code
makes the input size known, Lazy modules where it does not; and translated models with both
verify against Keras."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from fwtranslate import translate
from fwtranslate.rules import load_rules

HEAD = "import keras\nfrom keras import layers, ops\n\n"


def torch_code(body: str) -> str:
    result = translate(HEAD + textwrap.dedent(body), to="torch")
    assert result.ok, [d.format() for d in result.diagnostics]
    # the translated code, without the imports and the support definitions copied in
    support = set(load_rules("tf_to_torch").support.files)
    chunks = result.code.split("\n\n\n")
    return "\n\n\n".join(c for c in chunks[1:] if _defined(c) not in support) if len(chunks) > 1 else result.code


def _defined(chunk: str) -> str:
    first = chunk.strip().split("\n", 1)[0]
    return first.split()[1].split("(")[0].rstrip(":") if first.startswith(("def ", "class ")) else ""


def lines(body: str) -> list[str]:
    return [line.strip() for line in torch_code(body).splitlines() if line.strip()]


# --- static where the code makes the size known --------------------------------------------------
def test_sequential_with_input():
    code = torch_code("model = keras.Sequential([keras.Input((4,)), layers.Dense(8), layers.Dense(3)])\n")
    assert "nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 3))" in code


def test_sequential_with_input_shape_on_the_first_layer():
    code = torch_code("model = keras.Sequential([layers.Dense(8, input_shape=(4,)), layers.Dense(3)])\n")
    assert "nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 3))" in code
    code = torch_code("model = keras.Sequential([layers.Dense(8, input_dim=4), layers.Dense(3)])\n")
    assert "nn.Linear(4, 8)" in code


def test_sequential_without_input_knows_the_layers_after_the_first():
    code = torch_code(
        "model = keras.Sequential([layers.Dense(8), layers.ReLU(), layers.Dropout(0.1), layers.Dense(3)])\n"
    )
    assert "nn.LazyLinear(8)" in code and "nn.Linear(8, 3)" in code


def test_functional_builder():
    got = lines("""
        def build():
            inputs = keras.Input((28, 28, 1))
            x = layers.Conv2D(8, 3, activation="relu")(inputs)
            x = layers.BatchNormalization()(x)
            x = layers.MaxPooling2D()(x)
            y = layers.Conv2D(4, 1)(x)
            x = layers.Concatenate()([x, y])
            x = layers.Conv2D(16, 3, strides=2, padding="same")(x)
            x = layers.GlobalAveragePooling2D()(x)
            x = layers.LayerNormalization()(x)
            return keras.Model(inputs, layers.Dense(10)(x))
        """)
    code = "\n".join(got)
    assert "nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU())" in code
    assert "nn.BatchNorm2d(8, eps=0.001, momentum=0.01)" in code
    assert "nn.Conv2d(8, 4, 1)" in code
    assert "nn.Conv2d(12, 16, 3, stride=2)" in code  # Concatenate: 8 + 4
    assert "nn.LayerNorm(16, eps=0.001)" in code
    assert "nn.Linear(16, 10)" in code
    assert "Lazy" not in code


def test_module_constant_shape():
    code = torch_code("""
        SHAPE = (32, 3)

        def build():
            inputs = keras.Input(SHAPE)
            return keras.Model(inputs, layers.Dense(2)(inputs))
        """)
    assert "nn.Linear(3, 2)" in code


def test_subclassed_layer_attributes():
    code = torch_code("""
        class Mlp(keras.layers.Layer):
            def __init__(self):
                super().__init__()
                self.fc1 = layers.Dense(16)
                self.norm = layers.LayerNormalization()
                self.fc2 = layers.Dense(4)

            def call(self, x):
                return self.fc2(self.norm(self.fc1(x)))
        """)
    assert "self.fc1 = nn.LazyLinear(16)" in code
    assert "self.norm = nn.LayerNorm(16, eps=0.001)" in code
    assert "self.fc2 = nn.Linear(16, 4)" in code


def test_sizes_named_by_parameters():
    code = torch_code("""
        class Block(keras.layers.Layer):
            def __init__(self, dim, ratio=2):
                super().__init__()
                self.fc1 = layers.Dense(dim * ratio, activation="gelu")
                self.fc2 = layers.Dense(dim)

            def call(self, x):
                return self.fc2(self.fc1(x))

        def double_conv(x, filters):
            x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
            return layers.Conv2D(filters, 3, padding="same")(x)
        """)
    assert "self.fc2 = nn.Linear(dim * ratio, dim)" in code
    assert 'nn.Conv2d(filters, filters, 3, padding="same")' in code


def test_sizes_named_by_locals_bound_once():
    code = torch_code("""
        def block(x, alpha):
            width = int(64 * alpha)
            x = layers.Conv2D(width, 1)(x)
            x = layers.BatchNormalization()(x)
            return layers.Conv2D(8, 1)(x)

        class Late(keras.layers.Layer):
            def __init__(self, alpha):
                super().__init__()
                self.b = layers.Dense(3)
                width = int(8 * alpha)
                self.a = layers.Dense(width)

            def call(self, x):
                return self.b(self.a(x))
        """)
    assert "nn.BatchNorm2d(width, eps=0.001, momentum=0.01)" in code and "nn.Conv2d(width, 8, 1)" in code
    assert "self.b = nn.LazyLinear(3)" in code  # built before `width` exists


def test_local_literal_and_agreeing_branches():
    code = torch_code("""
        def build(flag):
            width = 32
            inputs = keras.Input((5,))
            if flag:
                x = layers.Dense(width)(inputs)
            else:
                x = layers.Dense(32, use_bias=False)(inputs)
            return keras.Model(inputs, layers.Dense(2)(x))
        """)
    assert "nn.Linear(5, width)" in code and "nn.Linear(5, 32, bias=False)" in code
    assert "nn.Linear(32, 2)" in code


def test_chained_assignment_and_walrus():
    code = torch_code("""
        def build():
            x = inputs = keras.Input((4,))
            y = (x := layers.Dense(8)(x))
            w = layers.Dense(5)(inputs) if y is not None else layers.Dense(6)(x)
            return keras.Model(inputs, [layers.Dense(3)(x), layers.Dense(2)(w)])
        """)
    assert "nn.Linear(4, 8)" in code and "nn.Linear(8, 3)" in code  # x rebound by the walrus
    assert "nn.Linear(4, 5)" in code and "nn.Linear(8, 6)" in code
    assert "nn.LazyLinear(2)" in code  # 5 or 6


def test_shared_layer_applied_to_one_size():
    code = torch_code("""
        def build():
            a = keras.Input((6,))
            b = keras.Input((6,))
            shared = layers.Dense(3)
            return keras.Model([a, b], layers.Add()([shared(a), shared(b)]))
        """)
    assert "shared = nn.Linear(6, 3)" in code


def test_axis_named_by_the_rank_and_the_data_format():
    code = torch_code("""
        from keras import backend

        def block(x, filters):
            if backend.image_data_format() == "channels_last":
                bn_axis = 3
            else:
                bn_axis = 1
            channel_axis = -1 if backend.image_data_format() == "channels_last" else 1
            x = layers.Conv2D(filters, 1)(x)
            x = layers.BatchNormalization(axis=bn_axis)(x)
            y = layers.Conv2D(8, 3, padding="same")(x)
            x = layers.Concatenate(axis=3)([x, y])
            x = layers.BatchNormalization(axis=channel_axis)(x)
            return layers.Conv2D(4, 1)(x)
        """)
    assert "nn.BatchNorm2d(filters, eps=0.001, momentum=0.01)" in code  # axis 3 of a 4-D tensor: the channels
    assert 'nn.Conv2d(filters, 8, 3, padding="same")' in code
    assert "nn.Conv2d(filters + 8, 4, 1)" not in code  # a sum of a name and a number is not tracked
    assert "nn.LazyConv2d(4, 1)" in code


def test_concatenate_on_the_last_axis_by_number():
    code = torch_code("""
        def build():
            a = keras.Input((4, 4, 3))
            x = layers.Concatenate(axis=3)([a, layers.Conv2D(5, 1)(a)])
            y = layers.Concatenate(axis=1)([a, a])
            return keras.Model(a, [layers.Conv2D(2, 1)(x), layers.Conv2D(6, 1)(y)])
        """)
    assert "nn.Conv2d(8, 2, 1)" in code
    assert "nn.LazyConv2d(6, 1)" in code  # concatenated on a spatial axis: the size is unknown


# --- Lazy where it is not known ---------------------------------------------------------------------
def test_builder_parameter_as_input_shape():
    code = torch_code("""
        def build(input_shape=(28, 28, 1), num_classes=10):
            inputs = keras.Input(shape=input_shape)
            x = layers.Conv2D(8, 3)(inputs)
            x = layers.Conv2D(16, 3)(x)
            return keras.Model(inputs, layers.Dense(num_classes)(layers.Flatten()(x)))
        """)
    # the caller may pass any shape: the lifted builder (builders/) reads it from the parameter
    assert "inputs_channels = input_shape[-1]" in code and "nn.Conv2d(inputs_channels, 8, 3)" in code
    assert "nn.Conv2d(8, 16, 3)" in code  # but the second one follows the first
    assert "nn.LazyLinear(num_classes)" in code  # after Flatten (spatial sizes are not tracked)


def test_layer_after_an_unknown_operation():
    code = torch_code("""
        def build():
            inputs = keras.Input((8, 4))
            x = ops.reshape(inputs, (-1, 32))
            y = MyLayer()(inputs)
            return keras.Model(inputs, [layers.Dense(2)(x), layers.Dense(3)(y), layers.Dense(5)(inputs)])
        """)
    assert "nn.LazyLinear(2)" in code and "nn.LazyLinear(3)" in code
    assert "nn.Linear(4, 5)" in code


def test_loop_variables_are_unknown_at_the_loop_start():
    code = torch_code("""
        def build():
            x = inputs = keras.Input((4,))
            for _ in range(3):
                x = layers.Dense(8)(x)
                x = layers.Dense(8)(x)
            return keras.Model(inputs, layers.Dense(2)(x))
        """)
    assert code.count("nn.LazyLinear(8)") == 1  # iteration 1 sees 4 features, the next ones 8
    assert "nn.Linear(8, 8)" in code
    assert "nn.LazyLinear(2)" in code  # after the loop: 4 or 8


def test_disagreeing_branches_and_merges():
    code = torch_code("""
        def build(flag):
            inputs = keras.Input((5,))
            x = layers.Dense(4)(inputs) if flag else inputs
            if flag:
                y = layers.Dense(3)(inputs)
            else:
                y = layers.Dense(6)(inputs)
            z = layers.Add()([layers.Dense(2)(inputs), layers.Dense(1)(inputs)])
            return keras.Model(inputs, [layers.Dense(7)(x), layers.Dense(8)(y), layers.Dense(9)(z)])
        """)
    for lazy in ("nn.LazyLinear(7)", "nn.LazyLinear(8)", "nn.LazyLinear(9)"):
        assert lazy in code


def test_shared_layer_applied_to_two_sizes():
    code = torch_code("""
        def build():
            a = keras.Input((6,))
            b = keras.Input((7,))
            shared = layers.Dense(3)
            return keras.Model([a, b], [shared(a), shared(b)])
        """)
    assert "shared = nn.LazyLinear(3)" in code


def test_attributes_the_analysis_cannot_follow():
    code = torch_code("""
        class Base(keras.layers.Layer):
            def __init__(self):
                super().__init__()
                self.fc1 = layers.Dense(16)
                self.fc2 = layers.Dense(4)
                self.fc3 = layers.Dense(4)
                self.fc4 = layers.Dense(4)

            def call(self, x):
                h = self.fc1(x)
                return self.fc2(h), self.fc3(h), self.fc4(h), [self.fc4]

        class Child(Base):
            pass

        class Other(keras.layers.Layer):
            def __init__(self):
                super().__init__()
                self.fc1 = layers.Dense(16)
                self.fc3 = layers.Dense(4)
                self.fc4 = layers.Dense(4)

            def call(self, x):
                h = self.fc1(x)
                self.fc3.trainable = False
                return self.fc3(h), self.fc4(h), [self.fc4]
        """)
    assert "nn.Linear" not in code  # Base has a subclass; Other uses fc3 and fc4 otherwise


def test_channels_first_data_and_unknown_activations():
    code = torch_code("""
        def build(act):
            inputs = keras.Input((3, 16, 16))
            x = layers.Conv2D(8, 3, data_format="channels_first")(inputs)
            y = layers.Activation(act)(layers.Dense(4)(keras.Input((2,))))
            z = layers.BatchNormalization(axis=1)(keras.Input((5, 6)))
            return keras.Model(inputs, [layers.Dense(2)(x), layers.Dense(3)(y), layers.Dense(4)(z)])
        """)
    assert "nn.LazyConv2d(8, 3)" in code  # the channels are on axis 1, not the last one
    assert "nn.Linear(2, 4)" in code
    assert "nn.LazyLinear(2)" in code and "nn.LazyLinear(3)" in code and "nn.LazyLinear(4)" in code
    assert "nn.LazyBatchNorm1d(eps=0.001, momentum=0.01)" in code  # (N, 5, 6) on axis 1: torch's channels


def test_rebound_parameter_is_no_size():
    code = torch_code("""
        def block(x, filters):
            x = layers.Conv2D(filters, 3)(x)
            filters = filters * 2
            return layers.Conv2D(filters, 3)(x)
        """)
    assert "nn.LazyConv2d(filters, 3)" in code and "nn.Conv2d(" not in code


# --- numeric verification against Keras ------------------------------------------------------------
MODELS = """
import keras
from keras import layers


def mlp():
    return keras.Sequential([keras.Input((6,)), layers.Dense(16, activation="relu"), layers.BatchNormalization(),
                             layers.Dense(8), layers.LayerNormalization(), layers.Dense(3)])


def cnn(num_classes=4):
    inputs = keras.Input((12, 12, 3))
    x = layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    x = layers.BatchNormalization()(x)
    y = layers.Conv2D(8, 1)(x)
    x = layers.Add()([x, y])
    z = layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2)(x)
    x = layers.Concatenate(axis=3)([x, z])
    x = layers.BatchNormalization(axis=3)(x)
    x = layers.SeparableConv2D(12, 3, strides=2, padding="same")(x)
    x = layers.Conv2DTranspose(6, 2, strides=2)(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.1)(x)
    return keras.Model(inputs, layers.Dense(num_classes)(x))


class Block(keras.layers.Layer):
    def __init__(self, dim, ratio=2, **kwargs):
        super().__init__(**kwargs)
        self.norm = layers.LayerNormalization(epsilon=1e-5)
        self.fc1 = layers.Dense(dim * ratio, activation="gelu")
        self.fc2 = layers.Dense(dim)

    def call(self, x):
        return x + self.fc2(self.fc1(self.norm(x)))


class Net(keras.Model):
    def __init__(self, dim=8, **kwargs):
        super().__init__(**kwargs)
        self.proj = layers.Dense(dim)
        self.block = Block(dim)
        self.head = layers.Dense(2)

    def call(self, x):
        return self.head(self.block(self.proj(x)))
"""


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("static_sizes")
    original = folder / "models.py"
    original.write_text(MODELS)
    result = translate(MODELS, to="torch", path=str(original))
    assert result.ok, [d.format() for d in result.diagnostics]
    code = result.code
    assert (
        "nn.Linear(6, 16)" in code
        and "nn.BatchNorm1d(16, eps=0.001, momentum=0.01)" in code
        and "nn.Linear(16, 8)" in code
    )
    assert "nn.Conv2d(3, 8, 3" in code and "nn.Conv2d(8, 8, 1)" in code
    assert "nn.BatchNorm2d(24, eps=0.001, momentum=0.01)" in code and "nn.Conv2d(24, 12, 1)" in code
    assert "nn.Linear(dim * ratio, dim)" in code and "self.norm = KerasLayerNormalization(eps=1e-5)" in code
    assert "self.proj = nn.LazyLinear(dim)" in code and "self.head = nn.LazyLinear(2)" in code
    translated = folder / "models_torch.py"
    translated.write_text(code)
    return original, translated


def _build(path: Path, entry: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"static_sizes_{entry}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, entry)()


def test_static_models_have_their_parameters_before_any_call(models):
    pytest.importorskip("torch")
    from torch.nn.parameter import UninitializedParameter

    _, translated = models
    model = _build(translated, "mlp")
    assert not any(isinstance(p, UninitializedParameter) for p in model.parameters())
    assert [tuple(p.shape) for p in model.parameters()][:2] == [(16, 6), (16,)]


@pytest.mark.parametrize("entry,shape", [("mlp", (2, 6)), ("cnn", (2, 12, 12, 3)), ("Net", (2, 5, 7))])
def test_verifies_against_keras(models, entry, shape):
    pytest.importorskip("torch")
    pytest.importorskip("keras")
    import fwtranslate

    original, translated = models
    report = fwtranslate.verify(original, translated, entry, input_shape=shape, examples=2)
    assert report.equivalent, report.format_text()
    assert {"inference", "training", "gradients", "step"} <= {p.name for p in report.phases}
