"""Keras functional builders become nn.Module classes (passes/tf_to_torch/builder_modules.py).

Each test translates a small builder with the shipped rules, checks the shape of the output
(classes, no tracer) and runs it with real torch: the model is built, has all its parameters
before the first call, and computes outputs of the right shape. Numerical agreement with Keras
is checked by verify on the samples (test_samples_tf_verify.py) and below on two builders.
"""

from __future__ import annotations

import ast
from textwrap import dedent

import pytest

torch = pytest.importorskip("torch")

from fwtranslate import translate


def _translate(source: str):
    result = translate(dedent(source), "torch")
    ast.parse(result.code)
    return result


def _run(code: str, builder: str, *args, **kwargs):
    scope: dict = {}
    exec(compile(code, "<translated>", "exec"), scope)
    return scope[builder](*args, **kwargs)


def _no_tracer(code: str) -> None:
    for name in ("FunctionalModel", "KerasInput(", "class _Trace", "class KerasTensor", "named("):
        assert name not in code, name


def _fallbacks(result) -> list[str]:
    return [d.message for d in result.diagnostics if d.code == "tracer-fallback"]


def _params_ready(model) -> bool:
    return not any(isinstance(p, torch.nn.parameter.UninitializedParameter) for p in model.parameters())


CNN = """
import keras
from keras import layers


def build_cnn(input_shape=(28, 28, 1), num_classes=10, filters=(8, 16)):
    inputs = keras.Input(shape=input_shape)
    x = inputs
    for f in filters:
        x = layers.Conv2D(f, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(num_classes)(x)
    return keras.Model(inputs, outputs, name="cnn")
"""


def test_a_loop_that_chains_layers_becomes_one_module_list_with_sizes_known():
    result = _translate(CNN)
    code = result.code
    _no_tracer(code)
    assert not _fallbacks(result)
    assert "class Cnn(nn.Module):" in code
    assert "def forward(self, inputs):" in code
    assert "self.blocks = nn.ModuleList()" in code and "self.blocks.extend([" in code
    assert "for layer in self.blocks:" in code
    assert "nn.Lazy" not in code and "init_lazy" not in code  # every size follows from keras.Input
    cls = code[code.index("class Cnn(") :]
    forward = cls[cls.index("def forward") :]
    assert forward.count("movedim") == 1  # once, before the loop (pooling flattens): not per iteration
    model = _run(code, "build_cnn")
    assert isinstance(model, torch.nn.Module) and _params_ready(model)
    assert model(torch.randn(3, 28, 28, 1)).shape == (3, 10)
    assert _run(code, "build_cnn", (16, 16, 3), 4)(torch.randn(2, 16, 16, 3)).shape == (2, 4)


UNET = """
import keras
from keras import layers


def double_conv(x, filters):
    x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    return layers.Conv2D(filters, 3, padding="same", activation="relu")(x)


def build_unet(input_shape=(16, 16, 3), base=4, upsample=False):
    inputs = keras.Input(shape=input_shape)
    d1 = double_conv(inputs, base)
    bottom = double_conv(layers.MaxPooling2D(2)(d1), base * 2)
    x = bottom
    for skip, filters in zip([d1], (base,)):
        if upsample:
            x = layers.UpSampling2D(2)(x)
        else:
            x = layers.Conv2DTranspose(filters, 2, strides=2)(x)
        x = layers.Concatenate()([skip, x])
        x = double_conv(x, filters)
    outputs = layers.Conv2D(1, 1)(x)
    return keras.Model(inputs, outputs)
"""


@pytest.mark.parametrize("upsample", [False, True])
def test_helpers_become_submodules_and_parameter_conditions_run_in_both_methods(upsample):
    result = _translate(UNET)
    code = result.code
    _no_tracer(code)
    assert "class DoubleConv(nn.Module):" in code
    assert "def double_conv" not in code  # only lifted code called it
    # __init__ decides on the parameter; forward asks whether the module exists (TorchScript-able)
    assert "if upsample:" in code and "if self.upsample_1 is not None:" in code
    assert "self.conv_transpose2d = None" in code
    assert "skips = [d1.movedim(1, -1)]" in code and "skip = skips[i]" in code
    model = _run(code, "build_unet", upsample=upsample)
    assert _params_ready(model)
    assert model(torch.randn(2, 16, 16, 3)).shape == (2, 16, 16, 1)
    kinds = {type(m).__name__ for m in model.modules()}
    assert ("Upsample" in kinds) == upsample and ("ConvTranspose2d" in kinds) != upsample


RESIDUAL = """
import keras
from keras import layers


def block(x, filters, stride=1, name="block"):
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, name=name + "_proj")(x)
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", name=name + "_conv")(x)
    y = layers.Add(name=name + "_add")([shortcut, y])
    return layers.ReLU()(y)


def build(input_shape=(8, 8, 4), widths=(4, 8)):
    inputs = keras.Input(input_shape)
    x = inputs
    for i, w in enumerate(widths):
        x = block(x, w, stride=1 if i == 0 else 2, name=f"b{i}")
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(3)(x))
"""


def test_a_condition_on_a_static_channel_count_is_taken_in_init():
    result = _translate(RESIDUAL)
    code = result.code
    _no_tracer(code)
    assert "x_channels != filters" in code  # x.shape[-1]: the channel count __init__ keeps
    assert "self.proj = nn.Conv2d(x_channels, filters, 1" in code  # named from name + "_proj"
    assert "out_channels" in code
    model = _run(code, "build")
    assert _params_ready(model)
    projections = [n for n, _ in model.named_modules() if n.endswith("proj")]
    assert len(projections) == 1  # the first block keeps its width and stride: no projection
    assert model(torch.randn(2, 8, 8, 4)).shape == (2, 3)


APPLICATION = """
import keras
from keras import layers


def Tiny(include_top=True, input_tensor=None, input_shape=None, classes=5, weights=None):
    if input_shape is None:
        input_shape = (8, 8, 3)
    rows = input_shape[0]
    if input_tensor is None:
        img_input = layers.Input(shape=input_shape)
    else:
        img_input = input_tensor
    x = layers.Conv2D(4, 3, name="conv")(img_input)
    if include_top:
        x = layers.Flatten()(x)
        x = layers.Dense(classes, name="predictions")(x)
    inputs = img_input
    model = keras.Model(inputs, x, name="tiny")
    if weights is not None:
        model.load_weights(weights + str(rows))
    return model
"""


def test_keras_application_idioms_input_tensor_and_code_after_the_model():
    result = _translate(APPLICATION)
    code = result.code
    _no_tracer(code)
    assert "raise NotImplementedError" in code  # input_tensor is refused at run time
    assert "model.rows" in code  # computed while building, read after: kept on the model
    model = _run(code, "Tiny")
    assert model.rows == 8
    assert model.conv.weight.shape == (4, 3, 3, 3)  # the Keras layer names are the attributes
    assert model(torch.randn(2, 8, 8, 3)).shape == (2, 5)
    with pytest.raises(NotImplementedError):
        _run(code, "Tiny", input_tensor=object())


@pytest.mark.parametrize(
    "body, reason",
    [
        (
            """
    inputs = keras.Input((4,))
    x = inputs
    for width in [layers.Dense(3) for _ in range(2)]:
        x = width(x)
    return keras.Model(inputs, x)
""",
            "",
        ),
        (
            """
    inputs = keras.Input((4,))
    x = stack_fn(inputs)
    return keras.Model(inputs, x)
""",
            "stack_fn",
        ),
        (
            """
    inputs = keras.Input((4,))
    x = keras.ops.sum(inputs)
    if x > 0:
        x = layers.Dense(2)(inputs)
    return keras.Model(inputs, x)
""",
            "condition on a tensor",
        ),
    ],
)
def test_what_the_analysis_cannot_see_through_keeps_the_tracer_and_says_why(body, reason):
    source = "import keras\nfrom keras import layers\n\n\ndef build(stack_fn=None):" + body
    result = _translate(source)
    assert "FunctionalModel(" in result.code
    messages = _fallbacks(result)
    assert len(messages) == 1 and reason in messages[0]


def test_plain_tensor_functions_stay_functions_called_from_forward():
    result = _translate(
        """
        import keras
        from keras import layers


        def gelu(x):
            return 0.5 * x * (1.0 + keras.ops.tanh(x))


        def build(units=4):
            inputs = keras.Input((6,))
            x = gelu(layers.Dense(units)(inputs))
            return keras.Model(inputs, x)
        """
    )
    code = result.code
    _no_tracer(code)
    assert "def gelu(x):" in code and "x = gelu(self.linear(inputs))" in code
    model = _run(code, "build")
    assert model(torch.randn(2, 6)).shape == (2, 4)


def test_a_keras_input_that_only_declares_a_sequential_shape_copies_no_tracer():
    result = _translate(
        """
        import keras
        from keras import layers


        def build(width=8):
            stack = [keras.Input((5,))]
            stack.append(layers.Dense(width, activation="relu"))
            return keras.Sequential(stack)
        """
    )
    code = result.code
    _no_tracer(code)
    assert "KerasInputShape((5,))" in code
    model = _run(code, "build")
    assert [type(m).__name__ for m in model] == ["Sequential"]  # the shape declaration is dropped
    assert model(torch.randn(2, 5)).shape == (2, 8)


def test_merge_layers_on_a_list_become_expressions():
    result = _translate(
        """
        import keras
        from keras import layers


        def build():
            inputs = keras.Input((4, 4, 3))
            a = layers.Conv2D(5, 1)(inputs)
            b = layers.Conv2D(5, 1)(inputs)
            s = layers.Add()([a, b])
            m = layers.Maximum()([a, b, s])
            avg = layers.Average()([a, b])
            x = layers.Concatenate()([s, m, avg])
            return keras.Model(inputs, layers.Conv2D(2, 1)(x))
        """
    )
    code = result.code
    _no_tracer(code)
    assert "s = a + b" in code and "torch.maximum(torch.maximum(a, b), s)" in code
    assert "(a + b) / 2" in code and "torch.cat([s, m, avg], dim=" in code
    assert "KerasMerge" not in code and "KerasConcatenate" not in code
    assert "nn.Conv2d(15, 2, 1)" in code  # the concatenation's channel count, known in __init__
    model = _run(code, "build")
    assert model(torch.randn(2, 4, 4, 3)).shape == (2, 4, 4, 2)


def test_a_channel_count_the_loop_grows_is_carried_from_block_to_block():
    result = _translate(
        """
        import keras
        from keras import layers


        def build(width=4, widths=(6, 8)):
            inputs = keras.Input((8, 8, 3))
            x = layers.Conv2D(width, 1)(inputs)
            for w in widths:
                y = layers.Conv2D(w, 3, padding="same")(x)
                x = layers.Concatenate()([x, y])
            return keras.Model(inputs, layers.Conv2D(2, 1)(x))
        """
    )
    code = result.code
    _no_tracer(code)
    assert "x_channels = width" in code  # a variable of its own, not the parameter, is updated
    assert "x_channels = self.blocks[-1].out_channels" in code
    assert "nn.Lazy" not in code
    model = _run(code, "build")
    assert model(torch.randn(2, 8, 8, 3)).shape == (2, 8, 8, 2)  # 4 + 6 + 8 = 18 channels in
    assert [m.in_channels for m in model.modules() if isinstance(m, torch.nn.Conv2d)][-1] == 18


def test_layers_kept_in_a_list_keep_the_tracer_instead_of_going_unregistered():
    result = _translate(
        """
        import keras
        from keras import layers


        def build(n=2):
            inputs = keras.Input((4,))
            stack = []
            for i in range(n):
                stack.append(layers.Dense(4))
            x = inputs
            for i in range(n):
                x = stack[i](x)
            return keras.Model(inputs, x)
        """
    )
    assert "FunctionalModel(" in result.code
    assert "kept in a list" in _fallbacks(result)[0]
