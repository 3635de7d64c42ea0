"""Keras -> PyTorch structure, codemod style: Keras source in, the exact torch lines out.

Layers with a layout of each kind are test rules (names no real API has), so these tests pin the
passes (passes/tf_to_torch/) and not the shipped rules: subclassed layers and models, call ->
forward, training, build/add_weight, super() calls, names resolved through every Keras
spelling, and where the layout pass moves the channel axis.
"""

from __future__ import annotations

import ast
from pathlib import Path
from textwrap import dedent

import pytest

from fwtranslate import translate

TEST_RULES = """\
keras.layers.MySpatial2D:
  signature: (filters, data_format=None)
  layout: spatial
  to:
    - when_known: data_format == "channels_first"
      to: nn.MySpatial(filters)
    - to: ChannelsLast(nn.MySpatial(filters))
  examples:
    - layers.MySpatial2D(3) => ChannelsLast(nn.MySpatial(3))
keras.layers.MyGlobalPool2D:
  signature: (data_format=None, keepdims=False)
  layout: spatial_to_flat
  to:
    - when_known: data_format == "channels_first"
      to: nn.MyPool()
    - to: MyPoolChannelsLast()
  examples:
    - layers.MyGlobalPool2D() => MyPoolChannelsLast()
keras.layers.MyNorm:
  signature: (axis=-1)
  layout: axis
  to: nn.MyNorm(axis=axis)
  force: [axis]
  examples:
    - layers.MyNorm() => nn.MyNorm(axis=-1)
keras.layers.MyAct:
  signature: ()
  layout: elementwise
  to: nn.MyAct()
  examples:
    - layers.MyAct() => nn.MyAct()
keras.layers.MyConcat:
  signature: (axis=-1)
  layout: merge
  to: MyConcat(axis=axis)
  force: [axis]
  examples:
    - layers.MyConcat() => MyConcat(axis=-1)
keras.layers.MyFlat:
  signature: ()
  to: nn.MyFlat()
  examples:
    - layers.MyFlat() => nn.MyFlat()
"""

HEADER = "import keras\nfrom keras import layers\n\n\n"


@pytest.fixture(scope="module")
def rules(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("rules") / "test_rules.yaml"
    path.write_text(TEST_RULES)
    return path


def to_torch(source: str, rules: Path):
    result = translate(HEADER + dedent(source), to="torch", rules=[rules])
    ast.parse(result.code)
    return result


def method(code: str, cls: str, name: str) -> str:
    """The source of ``cls.name`` in ``code``, dedented, without its def line."""
    tree = ast.parse(code)
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == cls:
            for fn in node.body:
                if isinstance(fn, ast.FunctionDef) and fn.name == name:
                    lines = code.splitlines()[fn.lineno : fn.end_lineno]
                    return dedent("\n".join(lines)).strip()
    raise AssertionError(f"{cls}.{name} not in:\n{code}")


def function(code: str, name: str) -> str:
    tree = ast.parse(code)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return dedent("\n".join(code.splitlines()[node.lineno : node.end_lineno])).strip()
    raise AssertionError(f"{name} not in:\n{code}")


TO_FIRST = "# channels last -> first: torch's layout for the layers below"
TO_LAST = "# channels first -> last: Keras' order again"


# --- classes ---------------------------------------------------------------------------------------
def test_layer_and_model_become_modules_and_call_becomes_forward(rules):
    result = to_torch(
        """
        class Block(layers.Layer):
            def call(self, x):
                return x


        class Net(keras.Model):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.block = Block()

            def call(self, inputs, training=None, mask=None):
                return self.block(inputs)
        """,
        rules,
    )
    assert "class Block(nn.Module):" in result.code
    assert "class Net(nn.Module):" in result.code
    assert method(result.code, "Net", "forward") == "return self.block(inputs)"
    assert "def forward(self, inputs):" in result.code  # training and an unused mask went
    assert method(result.code, "Net", "__init__").splitlines()[0] == "super().__init__()"
    assert "import keras" not in result.code and "from keras" not in result.code
    assert result.code.splitlines()[:2] == ["import torch", "from torch import nn"]


def test_training_flag_becomes_the_modules_own(rules):
    result = to_torch(
        """
        def helper(x, training=False):
            return x


        class Net(keras.Model):
            def __init__(self):
                super().__init__()
                self.act = layers.MyAct()

            def call(self, x, training=None):
                x = self.act(x, training=training)
                if training:
                    x = helper(x, training=training)
                return x
        """,
        rules,
    )
    assert method(result.code, "Net", "forward") == dedent("""\
        x = self.act(x)
        if self.training:
            x = helper(x, training=self.training)
        return x""")
    assert function(result.code, "helper") == "return x"  # not a model: untouched


def test_build_and_add_weight_make_parameters_on_the_first_call(rules):
    result = to_torch(
        """
        class Scale(layers.Layer):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)

            def build(self, input_shape):
                self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")
                super().build(input_shape)

            def call(self, x):
                return x * self.w

            def get_config(self):
                config = super().get_config()
                return config
        """,
        rules,
    )
    assert method(result.code, "Scale", "__init__") == dedent("""\
        super().__init__()
        self.built = False  # build() runs on the first call""")
    assert method(result.code, "Scale", "build") == dedent("""\
        self.w = nn.Parameter(keras_initializer("ones", (input_shape[-1],)))
        self.built = True""")
    assert method(result.code, "Scale", "forward") == dedent("""\
        if not self.built:  # Keras creates the weights on the first call
            self.build(x.shape)
            self.built = True
        return x * self.w""")
    assert method(result.code, "Scale", "get_config") == "config = {}\nreturn config"
    assert "def keras_initializer(" in result.code  # the support code comes along


def test_super_init_arguments_are_reported(rules):
    result = to_torch(
        """
        class Net(keras.Model):
            def __init__(self):
                super().__init__(name="net")

            def call(self, x):
                return x
        """,
        rules,
    )
    assert [d.code for d in result.diagnostics] == ["super-init-arguments"]
    assert method(result.code, "Net", "__init__") == "super().__init__()"


@pytest.mark.parametrize(
    "imports,name",
    [
        ("import tensorflow as tf", "tf.keras.layers.MyAct"),
        ("import tensorflow", "tensorflow.keras.layers.MyAct"),
        ("from tensorflow.keras import layers as L", "L.MyAct"),
        ("from keras.src import layers as L", "L.MyAct"),
        ("from tensorflow import keras as K", "K.layers.MyAct"),
        ("import tf_keras", "tf_keras.layers.MyAct"),
    ],
)
def test_every_keras_spelling_reaches_the_rule(rules, imports, name):
    result = translate(f"{imports}\n\nlayer = {name}()\n", to="torch", rules=[rules])
    assert "layer = nn.MyAct()" in result.code, result.code
    assert result.ok


def test_a_local_named_layers_is_not_keras(rules):
    source = "import keras\n\n\ndef f(layers):\n    return layers.MyAct()\n"
    result = translate(source, to="torch", rules=[rules])
    assert "return layers.MyAct()" in result.code


# --- layout ------------------------------------------------------------------------------------------
LAYOUT_MODEL = """
class Net(keras.Model):
    def __init__(self):
        super().__init__()
        self.conv1 = layers.MySpatial2D(8)
        self.norm = layers.MyNorm()
        self.act = layers.MyAct()
        self.conv2 = layers.MySpatial2D(8)
        self.merge = layers.MyConcat()
        self.flat = layers.MyFlat()

    def call(self, x):
{body}
"""


def layout_forward(body: str, rules: Path) -> tuple[str, str]:
    source = LAYOUT_MODEL.format(body=dedent(body).strip().replace("\n", "\n        ").join(["        ", ""]))
    result = to_torch(source, rules)
    return method(result.code, "Net", "forward"), method(result.code, "Net", "__init__")


def test_one_move_in_and_one_move_out_around_a_run_of_layers(rules):
    forward, init = layout_forward(
        """
        x = self.conv1(x)
        x = self.norm(x)
        x = self.act(x)
        y = self.conv2(x)
        x = self.merge([x, y])
        x = self.flat(x)
        return x
        """,
        rules,
    )
    assert forward == dedent(f"""\
        x = x.movedim(-1, 1)  {TO_FIRST}
        x = self.conv1(x)
        x = self.norm(x)
        x = self.act(x)
        y = self.conv2(x)
        x = self.merge([x, y])
        x = x.movedim(1, -1)  {TO_LAST}
        x = self.flat(x)
        return x""")
    # the run's layers are told their layout; the axes follow the moved channel axis
    assert "self.conv1 = nn.MySpatial(8)" in init and "self.conv2 = nn.MySpatial(8)" in init
    assert "self.norm = nn.MyNorm(axis=1)" in init
    assert "self.merge = MyConcat(axis=1)" in init


def test_returning_a_channels_first_value_moves_it_back(rules):
    forward, _ = layout_forward(
        """
        return self.act(self.conv1(x))
        """,
        rules,
    )
    assert forward == f"x = x.movedim(-1, 1)  {TO_FIRST}\nreturn self.act(self.conv1(x)).movedim(1, -1)"


def test_unknown_operations_get_keras_order(rules):
    forward, _ = layout_forward(
        """
        x = self.conv1(x)
        x = postprocess(x)
        return x
        """,
        rules,
    )
    assert forward == dedent(f"""\
        x = x.movedim(-1, 1)  {TO_FIRST}
        x = self.conv1(x)
        x = x.movedim(1, -1)  {TO_LAST}
        x = postprocess(x)
        return x""")


def test_branches_join_and_loops_start_in_keras_order(rules):
    forward, _ = layout_forward(
        """
        x = self.conv1(x)
        if x is None:
            x = self.flat(x)
        for _ in range(2):
            x = self.conv2(x)
        return x
        """,
        rules,
    )
    lines = forward.splitlines()
    # the if's body needs Keras' order, the fall-through path is converted before the test
    assert lines[:4] == [
        f"x = x.movedim(-1, 1)  {TO_FIRST}",
        "x = self.conv1(x)",
        f"x = x.movedim(1, -1)  {TO_LAST}",
        "if x is None:",
    ]
    assert "    x = self.conv2(x)" in forward.replace("        x = self.conv2", "    x = self.conv2")
    assert forward.count(".movedim(-1, 1)") == 2 and forward.count(".movedim(1, -1)") == 2


def test_a_layer_used_outside_call_keeps_its_own_moves(rules):
    forward, init = layout_forward(
        """
        self.helper = self.conv1
        x = self.conv1(x)
        return x
        """,
        rules,
    )
    assert "self.conv1 = ChannelsLast(nn.MySpatial(8))" in init
    assert ".movedim" not in forward


def test_an_axis_layer_meeting_both_layouts_stays_in_keras_order(rules):
    forward, init = layout_forward(
        """
        y = self.norm(x)
        x = self.norm(self.conv1(x))
        return x + y
        """,
        rules,
    )
    assert "self.norm = nn.MyNorm(axis=-1)" in init
    assert "self.conv1 = nn.MySpatial(8)" in init  # still channels first, moved around
    assert forward == dedent(f"""\
        y = self.norm(x)
        x = x.movedim(-1, 1)  {TO_FIRST}
        x = self.norm(self.conv1(x).movedim(1, -1))
        return x + y""")


def test_sequential_lists_move_the_axis_at_the_run_boundaries(rules):
    result = to_torch(
        """
        model = keras.Sequential([
            keras.Input((8, 8, 3)),
            layers.MySpatial2D(4),
            layers.MyAct(),
            layers.MyNorm(),
            layers.MySpatial2D(4),
            layers.MyFlat(),
        ])
        """,
        rules,
    )
    assert (
        "model = nn.Sequential(ToChannelsFirst(), nn.MySpatial(4), nn.MyAct(), nn.MyNorm(axis=1), "
        "nn.MySpatial(4), ToChannelsLast(), nn.MyFlat())"
        in " ".join(result.code.split()).replace("( ", "(").replace(" )", ")")
    )
    assert "class ToChannelsFirst(nn.Module):" in result.code


def test_global_pooling_ends_the_run(rules):
    result = to_torch(
        """
        model = keras.Sequential([layers.MySpatial2D(4), layers.MyGlobalPool2D(), layers.MyFlat()])
        """,
        rules,
    )
    assert "model = nn.Sequential(ToChannelsFirst(), nn.MySpatial(4), nn.MyPool(), nn.MyFlat())" in result.code


# --- functional builders -------------------------------------------------------------------------------
def test_a_functional_builder_becomes_a_module_and_helpers_stay_channels_first(rules):
    result = to_torch(
        """
        def block(x, filters):
            bn_axis = 3 if keras.backend.image_data_format() == "channels_last" else 1
            x = layers.MySpatial2D(filters)(x)
            return layers.MyNorm(axis=bn_axis)(x)


        def build(input_shape=(32, 32, 3), classes=10):
            inputs = keras.Input(shape=input_shape)
            x = block(inputs, 8)
            for filters in (16, 32):
                x = block(x, filters)
            x = layers.MyFlat()(x)
            return keras.Model(inputs, x)
        """,
        rules,
    )
    # the helper, now a submodule, takes and returns channels-first tensors: no move inside it
    assert method(result.code, "Block", "forward") == dedent("""\
        x = self.my_spatial(x)
        return self.my_norm(x)""")
    # one move in (the input itself is never rebound: it is the model's input), one move out
    assert method(result.code, "Build", "forward") == dedent(f"""\
        x = self.block(inputs.movedim(-1, 1))
        for layer in self.blocks:
            x = layer(x)
        x = x.movedim(1, -1)  {TO_LAST}
        x = self.my_flat(x)
        return x""")
    assert function(result.code, "build") == "return Build(input_shape, classes)"
    assert "FunctionalModel" not in result.code and "def block(" not in result.code


def test_a_helper_passed_around_keeps_keras_order(rules):
    result = to_torch(
        """
        def block(x):
            return layers.MySpatial2D(4)(x)


        def build(stack_fn=block):
            inputs = keras.Input(shape=(8, 8, 3))
            return keras.Model(inputs, stack_fn(inputs))
        """,
        rules,
    )
    assert (
        function(result.code, "block") == f"x = x.movedim(-1, 1)  {TO_FIRST}\nreturn nn.MySpatial(4)(x).movedim(1, -1)"
    )


def test_a_branch_that_returns_does_not_move_the_axis_twice(rules):
    result = to_torch(
        """
        def build(residual):
            inputs = keras.Input((6, 6, 8))
            x = layers.MySpatial2D(8)(inputs)
            if residual:
                return keras.Model(inputs, layers.MyFlat()(x))
            return keras.Model(inputs, x)
        """,
        rules,
    )
    body = function(result.code, "build")
    assert body.count(".movedim(1, -1)") == 2, body  # one per return path, none before the if
    assert body.splitlines()[2] == "if residual:", body


def test_shapes_read_in_a_constructor_follow_the_moved_axis(rules):
    result = to_torch(
        """
        def block(x):
            x = layers.MySpatial2D(x.shape[3] * 2)(x)
            return layers.MySpatial2D(x.shape[-1] // 2)(x)


        def build():
            inputs = keras.Input((8, 8, 4))
            return keras.Model(inputs, block(block(inputs)))
        """,
        rules,
    )
    assert function(result.code, "block") == dedent("""\
        x = nn.MySpatial(x.shape[1] * 2)(x)
        return nn.MySpatial(x.shape[1] // 2)(x)""")
