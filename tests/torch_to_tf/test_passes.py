"""The translator's structural behaviour, codemod style: ``before`` source -> ``after`` source.

These pin down what the passes do (imports, scopes, model classes, forward/call, training,
parameters and buffers, no_grad, in-place methods, comments, markers, diagnostics) and what
the command line promises (exit codes, nothing written on bad input, --report-json, --rules).
Rules that only the structure needs are given as test rules (``--rules``); a few tests use the
shipped rules of tensor methods (``.to``, ``.size``...) and say so.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from textwrap import dedent

import pytest

from fwtranslate import TranslationError, translate
from fwtranslate.rules import load_rules
from helpers import CliResult, run_cli

ROOT = Path(__file__).resolve().parents[2]

# rules that exist only for these tests (names no real API has), plus torch.add as a method
TEST_RULES = """\
torch.nn.functional.my_op:
  signature: (input, scale=1.0)
  to: keras.ops.my_op(input, scale)
  examples:
    - F.my_op(x) => keras.ops.my_op(x, 1.0)
torch.my_add:
  signature: (input, other)
  method: true
  to: keras.ops.add(input, other)
  examples:
    - torch.my_add(a, b) => keras.ops.add(a, b)
"""


@pytest.fixture(scope="module")
def test_rules(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("rules") / "test_rules.yaml"
    path.write_text(TEST_RULES, encoding="utf-8")
    return str(path)


def check(before: str, after: str, **kwargs):
    result = translate(dedent(before), **kwargs)
    assert result.code == dedent(after)
    return result


def codes(result) -> list[str]:
    return [d.code for d in result.diagnostics]


# --- import forms -----------------------------------------------------------------------------
def test_import_torch():
    check(
        """\
        import torch
        x = torch.cat([a, b], 1)
        """,
        """\
        import keras
        x = keras.ops.concatenate([a, b], axis=1)
        """,
    )


def test_import_torch_nn_as_nn():
    check(
        """\
        import torch.nn as nn
        layer = nn.Linear(8, 4)
        """,
        """\
        import keras
        layer = keras.layers.Dense(4)
        """,
    )


def test_from_torch_import_nn():
    check(
        """\
        from torch import nn
        layer = nn.Linear(8, 4, bias=False)
        """,
        """\
        import keras
        layer = keras.layers.Dense(4, use_bias=False)
        """,
    )


def test_import_torch_nn_dotted():
    check(
        """\
        import torch.nn
        layer = torch.nn.Linear(8, 4)
        """,
        """\
        import keras
        layer = keras.layers.Dense(4)
        """,
    )


def test_import_functional_as_F(test_rules):
    check(
        """\
        import torch.nn.functional as F
        y = F.my_op(x, scale=2.0)
        """,
        """\
        import keras
        y = keras.ops.my_op(x, 2.0)
        """,
        rules=[test_rules],
    )


def test_from_torch_nn_import_as():
    check(
        """\
        from torch.nn import Linear as L
        layer = L(in_features=8, out_features=n)
        """,
        """\
        import keras
        layer = keras.layers.Dense(n)
        """,
    )


def test_star_import():
    check(
        """\
        from torch.nn import *
        layer = Linear(8, 4)
        """,
        """\
        import keras
        layer = keras.layers.Dense(4)
        """,
    )


def test_star_import_of_an_api_without_rule_is_reported_and_kept():
    result = check(
        """\
        from torch.nn import *
        layer = Linear(8, 4)
        other = NoSuchLayer(3)
        """,
        """\
        import keras
        from torch.nn import *
        layer = keras.layers.Dense(4)
        # fwtranslate: unconverted [no-rule] torch.nn.NoSuchLayer has no translation rule
        other = NoSuchLayer(3)
        """,
    )
    assert [d.format() for d in result.diagnostics] == [
        "<string>:3:9: error [no-rule] torch.nn.NoSuchLayer has no translation rule"
    ]


def test_star_import_does_not_claim_names_the_file_defines():
    check(
        """\
        from torch.nn import *
        import numpy as np

        def helper(x):
            return x

        layer = Linear(8, 4)
        y = helper(np.zeros(3))
        print(len([1]))
        """,
        """\
        import keras
        import numpy as np

        def helper(x):
            return x

        layer = keras.layers.Dense(4)
        y = helper(np.zeros(3))
        print(len([1]))
        """,
    )


@pytest.mark.parametrize(
    "header,conv",
    [
        ("import torch.nn as nn", "nn.Conv2d"),
        ("from torch import nn", "nn.Conv2d"),
        ("import torch", "torch.nn.Conv2d"),
        ("from torch.nn import Conv2d as C", "C"),
        ("from torch.nn import Conv2d", "Conv2d"),
        ("from torch.nn import *", "Conv2d"),
    ],
)
def test_every_import_form_translates_alike(header, conv):
    """The same API call translates the same whatever the import form (shipped Conv2d rule)."""
    body = f"layer = {conv}(3, 8, kernel_size=3, padding=1)\n"
    reference = translate("import torch.nn as nn\nlayer = nn.Conv2d(3, 8, kernel_size=3, padding=1)\n")
    result = translate(f"{header}\n{body}")
    assert result.ok, [d.format() for d in result.diagnostics]
    assert result.code == reference.code
    assert "torch" not in result.code and "Conv2d(" not in result.code


# --- names not bound to torch are never rewritten ------------------------------------------------
def test_parameters_named_like_torch_modules_are_not_rewritten():
    check(
        """\
        import torch
        import torch.nn as nn
        import torch.nn.functional as F

        def build(nn, F):
            return nn.Linear(2, 3), F.relu(x)

        g = lambda nn: nn.Linear(2)
        layer = nn.Linear(2, 3)
        """,
        """\
        import keras

        def build(nn, F):
            return nn.Linear(2, 3), F.relu(x)

        g = lambda nn: nn.Linear(2)
        layer = keras.layers.Dense(3)
        """,
    )


def test_local_module_named_nn():
    check(
        """\
        import torch
        import mylib.nn as nn
        import mylib.functional as F
        from mylib import models as torch_models

        layer = nn.Linear(2, 3)
        y = F.relu(torch.cat([a, b]))
        z = F.view(y, 2)
        """,
        """\
        import keras
        import mylib.nn as nn
        import mylib.functional as F
        from mylib import models as torch_models

        layer = nn.Linear(2, 3)
        y = F.relu(keras.ops.concatenate([a, b]))
        z = F.view(y, 2)
        """,
    )


def test_a_later_import_rebinds_the_name():
    check(
        """\
        import torch.nn as nn
        import mylib.nn as nn
        layer = nn.Linear(2, 3)
        """,
        """\
        import keras
        import mylib.nn as nn
        layer = nn.Linear(2, 3)
        """,
    )


def test_local_variables_and_comprehension_variables_shadow_imports():
    result = check(
        """\
        import torch.nn as nn
        import torch.nn.functional as F

        def f(x):
            nn = make_namespace()
            return nn.Linear(2, 3)

        def g(items):
            for nn in items:
                nn.Linear(1)
            with open_namespace() as F:
                F.relu(1)
            return [nn.Linear(1, 2) for nn in items], {F.relu(2) for F in items}

        layer = nn.Linear(2, 3)
        """,
        """\
        import keras

        def f(x):
            nn = make_namespace()
            return nn.Linear(2, 3)

        def g(items):
            for nn in items:
                nn.Linear(1)
            with open_namespace() as F:
                F.relu(1)
            return [nn.Linear(1, 2) for nn in items], {F.relu(2) for F in items}

        layer = keras.layers.Dense(3)
        """,
    )
    assert result.diagnostics == []


def test_attributes_strings_and_comments_named_like_torch_are_untouched():
    check(
        """\
        import torch
        # torch.cat joins tensors
        name = "torch.cat"
        y = self.torch.cat(x)
        z = obj.nn.Linear(3)
        w = torch.cat([a, b])
        """,
        """\
        import keras
        # torch.cat joins tensors
        name = "torch.cat"
        y = self.torch.cat(x)
        z = obj.nn.Linear(3)
        w = keras.ops.concatenate([a, b])
        """,
    )


# --- model classes ------------------------------------------------------------------------------
def test_nested_layers_and_top_level_model():
    result = check(
        '''\
        import torch
        import torch.nn as nn


        class Block(nn.Module):
            """A block."""

            def __init__(self, dim):
                super().__init__()
                self.fc = nn.Linear(dim, dim)

            def forward(self, x):
                return self.fc(x) + x


        class Net(nn.Module):
            def __init__(self, dim=8):
                super(Net, self).__init__()
                self.block = Block(dim)
                self.head = nn.Linear(dim, 2)

            def forward(self, x):
                return self.head(self.block(x))

            def features(self, x):
                return self.forward(x)


        class NotAModel:
            def forward(self, x):
                return x
        ''',
        '''\
        import keras


        @keras.saving.register_keras_serializable(package="fwtranslate")
        class Block(keras.layers.Layer):
            """A block."""

            def __init__(self, dim, **kwargs):
                super().__init__(**kwargs)
                self.fc = keras.layers.Dense(dim)

            def call(self, x):
                return self.fc(x) + x


        @keras.saving.register_keras_serializable(package="fwtranslate")
        class Net(keras.Model):
            def __init__(self, dim=8, **kwargs):
                super(Net, self).__init__(**kwargs)
                self.block = Block(dim)
                self.head = keras.layers.Dense(2)

            def call(self, x):
                return self.head(self.block(x))

            def features(self, x):
                return self.call(x)


        class NotAModel:
            def forward(self, x):
                return x
        ''',
    )
    assert result.ok and result.diagnostics == []


def test_subclass_of_a_model_class_and_super_forward():
    check(
        """\
        import torch.nn as nn

        class Base(nn.Module):
            def forward(self, x):
                return x

        class Double(Base):
            def forward(self, x):
                return super().forward(x) * 2

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.inner = Double()

            def forward(self, x):
                return self.inner(x)
        """,
        """\
        import keras

        @keras.saving.register_keras_serializable(package="fwtranslate")
        class Base(keras.Model):
            def call(self, x):
                return x

        @keras.saving.register_keras_serializable(package="fwtranslate")
        class Double(Base):
            def call(self, x):
                return super().call(x) * 2

        @keras.saving.register_keras_serializable(package="fwtranslate")
        class Net(keras.Model):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.inner = Double()

            def call(self, x):
                return self.inner(x)
        """,
    )


def test_top_level_class_with_a_reserved_attribute_stays_a_layer():
    result = check(
        """\
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.layers = nn.ModuleList()
        """,
        """\
        import keras

        @keras.saving.register_keras_serializable(package="fwtranslate")
        class Net(keras.layers.Layer):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.layers = []
        """,
    )
    assert [d.format() for d in result.diagnostics] == [
        "<string>:3:1: info [reserved-attribute] Net stays a keras.layers.Layer: keras.Model reserves self.layers"
    ]
    assert result.ok


# --- containers, parameters, buffers -----------------------------------------------------------
def test_containers():
    check(
        """\
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self, width):
                super().__init__()
                blocks = [nn.Linear(width, width), nn.ReLU()]
                self.seq = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
                self.stack = nn.Sequential(*blocks)
                self.items = nn.ModuleList([nn.Linear(4, 4), nn.Identity()])
                self.empty = nn.ModuleList()
                self.heads = nn.ModuleDict({"a": nn.Linear(4, 2)})
                self.none = nn.ModuleDict()
        """,
        """\
        import keras

        @keras.saving.register_keras_serializable(package="fwtranslate")
        class Net(keras.Model):
            def __init__(self, width, **kwargs):
                super().__init__(**kwargs)
                blocks = [keras.layers.Dense(width), keras.layers.ReLU()]
                self.seq = keras.Sequential([keras.layers.Dense(4), keras.layers.ReLU()])
                self.stack = keras.Sequential([*blocks])
                self.items = list([keras.layers.Dense(4), keras.layers.Identity()])
                self.empty = []
                self.heads = dict({"a": keras.layers.Dense(2)})
                self.none = {}
        """,
    )


def test_parameter_becomes_a_named_variable():
    check(
        """\
        import torch
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.scale = nn.Parameter(torch.zeros(1, 4))
                self.frozen = nn.Parameter(torch.zeros(4), requires_grad=False)

            def forward(self, x):
                return x * self.scale
        """,
        """\
        import keras

        @keras.saving.register_keras_serializable(package="fwtranslate")
        class Net(keras.Model):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.scale = keras.Variable(keras.ops.zeros((1, 4)), name="scale")
                self.frozen = keras.Variable(keras.ops.zeros((4,)), trainable=False, name="frozen")

            def call(self, x):
                return x * self.scale
        """,
    )


def test_register_buffer_becomes_a_non_trainable_variable():
    check(
        """\
        import torch
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.register_buffer("mask", torch.zeros(2, 2))
                self.register_buffer('offset', torch.zeros(2))
                self.register_parameter("bias", nn.Parameter(torch.zeros(2)))
        """,
        """\
        import keras

        @keras.saving.register_keras_serializable(package="fwtranslate")
        class Net(keras.Model):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.mask = keras.Variable(keras.ops.zeros((2, 2)), trainable=False, name="mask")
                self.offset = keras.Variable(keras.ops.zeros((2,)), trainable=False, name='offset')
                self.bias = keras.Variable(keras.ops.zeros((2,)), name="bias")
        """,
    )


# --- self.training -----------------------------------------------------------------------------
def test_self_training_becomes_the_training_argument():
    result = check(
        """\
        import torch.nn as nn

        class Noise(nn.Module):
            def forward(self, x, *, scale=1.0):
                if self.training:
                    x = x * scale
                return x

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.noise = Noise()

            def forward(self, x, training=None):
                return self.noise(x) if self.training else x
        """,
        """\
        import keras

        @keras.saving.register_keras_serializable(package="fwtranslate")
        class Noise(keras.layers.Layer):
            def call(self, x, *, scale=1.0, training=None):
                if training:
                    x = x * scale
                return x

        @keras.saving.register_keras_serializable(package="fwtranslate")
        class Net(keras.Model):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.noise = Noise()

            def call(self, x, training=None):
                return self.noise(x) if training else x
        """,
    )
    assert result.ok


def test_forward_without_self_training_gets_no_training_argument():
    check(
        """\
        import torch.nn as nn

        class Net(nn.Module):
            def forward(self, x):
                return x
        """,
        """\
        import keras

        @keras.saving.register_keras_serializable(package="fwtranslate")
        class Net(keras.Model):
            def call(self, x):
                return x
        """,
    )


def test_self_training_outside_forward_is_reported():
    result = check(
        """\
        import torch.nn as nn

        class Net(nn.Module):
            def helper(self, x):
                return x if self.training else -x

            def forward(self, x):
                def inner(y):
                    return y if self.training else -y
                return inner(self.helper(x))
        """,
        """\
        import keras

        @keras.saving.register_keras_serializable(package="fwtranslate")
        class Net(keras.Model):
            def helper(self, x):
                # fwtranslate: unconverted [training-flag] self.training in helper(): Keras layers have no training attribute; pass `training` down from call()
                return x if self.training else -x

            def call(self, x, training=None):
                def inner(y):
                    return y if training else -y
                return inner(self.helper(x))
        """,
    )
    assert [(d.line, d.col, d.code) for d in result.diagnostics] == [(5, 21, "training-flag")]
    assert not result.ok


# --- torch.no_grad ------------------------------------------------------------------------------
def test_no_grad_block():
    result = check(
        """\
        import torch
        import torch.nn as nn

        class Net(nn.Module):
            def forward(self, x):
                # statistics only
                with torch.no_grad():
                    # the mean
                    m = x.shape

                    n = m  # copy
                    print(n)
                return x
        """,
        """\
        import keras

        @keras.saving.register_keras_serializable(package="fwtranslate")
        class Net(keras.Model):
            def call(self, x):
                # statistics only
                # the mean
                m = keras.ops.stop_gradient(keras.ops.shape(x))

                n = keras.ops.stop_gradient(m)  # copy
                print(n)
                return x
        """,
    )
    assert result.ok


def test_no_grad_decorator_is_dropped_with_a_warning():
    result = check(
        """\
        import torch

        @torch.no_grad()
        def predict(model, x):
            return model(x)
        """,
        """\
        import keras

        def predict(model, x):
            return model(x)
        """,
    )
    assert codes(result) == ["no-grad-decorator"]
    assert result.ok  # a warning, not an error


# --- device moves and layout no-ops (shipped tensor-method rules) -------------------------------
@pytest.mark.parametrize(
    "expr", ["x.to(device)", "x.to('cpu')", "x.cuda()", "x.contiguous()", "x.to(device).contiguous()"]
)
def test_device_and_layout_calls_are_removed(expr):
    result = translate(f"import torch\n\ndef f(x, device):\n    y = {expr}\n    return y\n")
    assert result.ok, [d.format() for d in result.diagnostics]
    assert result.code == "import keras\n\ndef f(x, device):\n    y = x\n    return y\n"


# --- shapes --------------------------------------------------------------------------------------
def test_shape_attribute():
    check(
        """\
        import torch

        def f(x):
            b, c = x.shape[0], x.shape[1]
            return x.shape
        """,
        """\
        import keras

        def f(x):
            b, c = keras.ops.shape(x)[0], keras.ops.shape(x)[1]
            return keras.ops.shape(x)
        """,
    )


def test_size_method():
    """x.size(i) / x.size() / x.size(dim=-1) mean the shape (shipped Tensor.size rule)."""
    result = check(
        """\
        import torch

        def f(x):
            return x.size(0), x.size(1), x.size(), x.size(dim=-1)
        """,
        """\
        import keras

        def f(x):
            return keras.ops.shape(x)[0], keras.ops.shape(x)[1], keras.ops.shape(x), keras.ops.shape(x)[-1]
        """,
    )
    assert result.ok


# --- in-place operations ----------------------------------------------------------------------------
def test_augmented_assignment_and_inplace_flag():
    check(
        """\
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.act = nn.ReLU(inplace=True)

            def forward(self, x, y):
                x += y
                x *= 2
                return self.act(x)
        """,
        """\
        import keras

        @keras.saving.register_keras_serializable(package="fwtranslate")
        class Net(keras.Model):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.act = keras.layers.ReLU()

            def call(self, x, y):
                x += y
                x *= 2
                return self.act(x)
        """,
    )


def test_inplace_method_statement_rebinds_the_receiver(test_rules):
    result = check(
        """\
        import torch

        def f(x, y, state):
            x.my_add_(y)
            state.total.my_add_(x)
            z = x.my_add_(y)
            return x.my_add(y)
        """,
        """\
        import keras

        def f(x, y, state):
            x = keras.ops.add(x, y)
            # fwtranslate: unconverted [inplace-method] state.total is updated in place: only a local name or a registered buffer is translated
            state.total.my_add_(x)
            # fwtranslate: unconverted [inplace-expression] an in-place method inside an expression: the receiver is not updated
            z = keras.ops.add(x, y)
            return keras.ops.add(x, y)
        """,
        rules=[test_rules],
    )
    # an attribute is not rebound, and as an expression the receiver is not updated: both reported
    assert [(d.line, d.severity, d.code) for d in result.diagnostics] == [
        (5, "error", "inplace-method"),
        (6, "error", "inplace-expression"),
    ]


def test_inplace_method_with_shipped_rules():
    """x.add_(y) / x.mul_(2) as statements (shipped torch.add / torch.mul method rules)."""
    result = translate("import torch\n\ndef f(x, y):\n    x.add_(y)\n    x.mul_(2)\n    return x\n")
    assert result.ok, [d.format() for d in result.diagnostics]
    tree = ast.parse(result.code)
    body = tree.body[-1].body
    assert [type(s).__name__ for s in body] == ["Assign", "Assign", "Return"]
    assert [ast.unparse(s.targets[0]) for s in body[:2]] == ["x", "x"]
    assert "add_" not in result.code and "mul_" not in result.code and "torch" not in result.code


def test_functional_inplace_flag_is_dropped():
    result = translate("import torch.nn.functional as F\n\ndef f(x):\n    return F.relu(x, inplace=True)\n")
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "inplace" not in result.code and "F." not in result.code


# --- formatting survives -----------------------------------------------------------------------------
def test_comments_docstrings_blank_lines_and_names_survive():
    check(
        '''\
        #!/usr/bin/env python
        """Module docstring."""
        from __future__ import annotations

        # imports
        import torch  # the framework
        import torch.nn as nn

        CONSTANT = 3  # a constant


        class MyNet(nn.Module):  # the model
            """Class docstring.

            Two lines.
            """

            def __init__(self, width: int = 4):
                super().__init__()
                # the projection
                self.proj_layer = nn.Linear(width, width)  # trailing comment


            def forward(self, inputs):
                """Forward docstring."""
                # compute
                hidden = self.proj_layer(inputs)

                return hidden  # done
        ''',
        '''\
        #!/usr/bin/env python
        """Module docstring."""
        from __future__ import annotations

        # imports
        import keras

        CONSTANT = 3  # a constant


        @keras.saving.register_keras_serializable(package="fwtranslate")
        class MyNet(keras.Model):  # the model
            """Class docstring.

            Two lines.
            """

            def __init__(self, width: int = 4, **kwargs):
                super().__init__(**kwargs)
                # the projection
                self.proj_layer = keras.layers.Dense(width)  # trailing comment


            def call(self, inputs):
                """Forward docstring."""
                # compute
                hidden = self.proj_layer(inputs)

                return hidden  # done
        ''',
    )


def test_comments_inside_a_rewritten_call_are_kept():
    check(
        """\
        import torch.nn as nn

        body = nn.Sequential(
            nn.Linear(4, 8),  # expand
            # then squash
            nn.ReLU(),
        )
        """,
        """\
        import keras

        # expand
        # then squash
        body = keras.Sequential([keras.layers.Dense(8), keras.layers.ReLU()])
        """,
    )


def test_framework_annotations_are_dropped_others_kept():
    check(
        """\
        import torch
        import torch.nn as nn
        from typing import Optional

        def f(x: torch.Tensor, n: int, m: Optional[torch.Tensor] = None) -> torch.Tensor:
            y: torch.Tensor = x
            z: int = n
            w: "torch.Tensor"
            return y
        """,
        """\
        import keras
        from typing import Optional

        def f(x, n: int, m=None):
            y = x
            z: int = n
            return y
        """,
    )


# --- imports -------------------------------------------------------------------------------------
def test_torch_imports_removed_when_unused_and_keras_added_once():
    check(
        """\
        import keras
        import torch
        import torch.nn as nn
        from torch import nn as tnn

        x = torch.cat([a, b])
        layer = keras.layers.Dense(3)
        """,
        """\
        import keras

        x = keras.ops.concatenate([a, b])
        layer = keras.layers.Dense(3)
        """,
    )


def test_other_imports_in_the_same_statement_are_kept():
    check(
        """\
        import os, torch
        import torch.nn.functional as F, numpy as np
        from torch.nn import Linear, Conv2d as NotUsedEither

        x = torch.cat([os.sep, np.pi])
        layer = Linear(2, 3)
        """,
        """\
        import keras
        import os
        import numpy as np

        x = keras.ops.concatenate([os.sep, np.pi])
        layer = keras.layers.Dense(3)
        """,
    )


def test_imports_kept_for_an_unconverted_construct():
    result = check(
        """\
        \"\"\"Doc.\"\"\"
        import torch
        import torch.nn as nn
        from torch.nn import Linear, Identity

        x = torch.cat([a, b])
        y = torch.no_such_op(x)
        layer = Linear(2, 3)
        """,
        """\
        \"\"\"Doc.\"\"\"
        import keras
        import torch

        x = keras.ops.concatenate([a, b])
        # fwtranslate: unconverted [no-rule] torch.no_such_op has no translation rule
        y = torch.no_such_op(x)
        layer = keras.layers.Dense(3)
        """,
    )
    assert result.kept_locals == {"torch"}


def test_no_torch_means_no_change():
    source = "import numpy as np\n\nx = np.zeros(3)  # torch-free\n"
    result = translate(source)
    assert result.code == source and result.diagnostics == [] and not result.changed


# --- unconverted constructs ------------------------------------------------------------------------
def test_unconverted_call_is_marked_and_located():
    result = check(
        """\
        import torch

        def f(x):
            y = torch.cat([x, x])
            if torch.no_such_test(x):
                return torch.no_such_op(
                    x,
                    torch.other_missing(y))
            return y
        """,
        """\
        import keras
        import torch

        def f(x):
            y = keras.ops.concatenate([x, x])
            # fwtranslate: unconverted [no-rule] torch.no_such_test has no translation rule
            if torch.no_such_test(x):
                # fwtranslate: unconverted [no-rule] torch.other_missing has no translation rule
                # fwtranslate: unconverted [no-rule] torch.no_such_op has no translation rule
                return torch.no_such_op(
                    x,
                    torch.other_missing(y))
            return y
        """,
        path="model.py",
    )
    assert [d.format() for d in result.diagnostics] == [
        "model.py:5:8: error [no-rule] torch.no_such_test has no translation rule",
        "model.py:6:16: error [no-rule] torch.no_such_op has no translation rule",
        "model.py:8:13: error [no-rule] torch.other_missing has no translation rule",
    ]
    assert not result.ok
    stats = result.stats
    assert (stats.lines, stats.framework_lines) == (9, 5)
    assert stats.unconverted_lines == 3 and stats.converted_lines == 2


def test_unsupported_argument_is_an_error_not_dropped(test_rules):
    result = check(
        """\
        import torch.nn as nn
        import torch.nn.functional as F

        layer = nn.Linear(2, 3, dtype="float64")
        y = F.my_op(x, scale=2.0, colour="red")
        """,
        """\
        import keras
        import torch.nn as nn
        import torch.nn.functional as F

        # fwtranslate: unconverted [unsupported-argument] torch.nn.Linear: a per-layer dtype is not translated
        layer = nn.Linear(2, 3, dtype="float64")
        # fwtranslate: unconverted [unbindable-call] torch.nn.functional.my_op: unexpected keyword argument 'colour'
        y = F.my_op(x, scale=2.0, colour="red")
        """,
        rules=[test_rules],
    )
    assert codes(result) == ["unsupported-argument", "unbindable-call"]


def test_syntax_error_is_bad_input_with_line_and_column():
    with pytest.raises(TranslationError) as info:
        translate("import torch\n\ndef f(:\n    pass\n")
    assert (info.value.line, info.value.col) == (3, 7)
    assert "syntax error" in str(info.value)


# --- idempotence -----------------------------------------------------------------------------------
def test_translating_a_translation_changes_nothing():
    source = dedent("""\
        import torch
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 2)
                self.register_buffer("mask", torch.zeros(4))

            def forward(self, x):
                if self.training:
                    x = x * self.mask
                with torch.no_grad():
                    s = x.shape
                return self.fc(x)
        """)
    once = translate(source)
    assert once.ok
    twice = translate(once.code)
    assert twice.code == once.code and twice.diagnostics == [] and not twice.changed


# --- the command line --------------------------------------------------------------------------------
def cli(*args, cwd: Path, process: bool = False) -> CliResult:
    """The command line: in a new process (the installed console script) when ``process``, else
    in this one through click's runner (same command, no interpreter start-up)."""
    return run_cli(*args, cwd=cwd, in_process=not process, timeout=120)


def listing(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


GOOD = "import torch\n\nx = torch.cat([a, b], 1)\n"
PARTIAL = "import torch\n\nx = torch.cat([a, b], 1)\ny = torch.no_such_op(x)\n"


def test_cli_exit_0_writes_the_default_output(tmp_path):
    (tmp_path / "model.py").write_text(GOOD)
    proc = cli("model.py", "--to", "tf", cwd=tmp_path, process=True)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "model_tf.py").read_text() == "import keras\n\nx = keras.ops.concatenate([a, b], axis=1)\n"
    assert (tmp_path / "model.py").read_text() == GOOD


def test_cli_exit_1_on_unconverted_constructs(tmp_path):
    (tmp_path / "model.py").write_text(PARTIAL)
    proc = cli("model.py", "--to", "tf", "-o", "out/model.py", cwd=tmp_path, process=True)
    assert proc.returncode == 1
    assert "model.py:4:5: error [no-rule] torch.no_such_op has no translation rule" in proc.stderr.splitlines()
    out = (tmp_path / "out" / "model.py").read_text()
    assert "# fwtranslate: unconverted [no-rule] torch.no_such_op has no translation rule\n" in out
    assert (tmp_path / "model.py").read_text() == PARTIAL


def test_cli_stdout(tmp_path):
    (tmp_path / "model.py").write_text(GOOD)
    proc = cli("model.py", "--to", "tf", "--stdout", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout == translate(GOOD).code
    assert listing(tmp_path) == {"model.py": GOOD.encode()}


@pytest.mark.parametrize(
    "case",
    [
        "syntax",
        "missing",
        "directory",
        "unknown-target",
        "output-is-input",
        "output-is-input-spelled-differently",
        "binary",
    ],
)
def test_cli_exit_2_on_bad_input_writes_nothing(tmp_path, case):
    (tmp_path / "model.py").write_text(GOOD)
    (tmp_path / "bad.py").write_text("import torch\n\ndef f(:\n    pass\n")
    (tmp_path / "blob.py").write_bytes(b"import torch\x00\xff")
    (tmp_path / "pkg").mkdir()
    before = listing(tmp_path)
    args, message = {
        "syntax": (["bad.py", "--to", "tf"], "bad.py:3:7: error: syntax error"),
        "missing": (["nope.py", "--to", "tf"], "nope.py does not exist"),
        "directory": (["pkg", "--to", "tf"], "needs -o"),
        "unknown-target": (["model.py", "--to", "jax"], "unknown --to 'jax'"),
        "output-is-input": (["model.py", "--to", "tf", "-o", "model.py"], "the output path is the input file"),
        "output-is-input-spelled-differently": (
            ["model.py", "--to", "tf", "-o", "pkg/../model.py"],
            "the output path is the input file",
        ),
        "binary": (["blob.py", "--to", "tf"], "binary"),
    }[case]
    proc = cli(*args, cwd=tmp_path, process=case == "syntax")
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert listing(tmp_path) == before


def test_cli_report_json(tmp_path):
    (tmp_path / "model.py").write_text(PARTIAL)
    proc = cli("model.py", "--to", "tf", "-o", "model_tf.py", "--report-json", "report.json", cwd=tmp_path)
    assert proc.returncode == 1
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["diagnostics"] == [
        {
            "path": "model.py",
            "line": 4,
            "col": 5,
            "severity": "error",
            "code": "no-rule",
            "message": "torch.no_such_op has no translation rule",
        }
    ]
    [entry] = report["files"]
    assert entry["path"] == "model.py"
    assert entry["lines"] == 4
    assert entry["framework_lines"] == 3  # the import and the two calls
    assert entry["unconverted_lines"] == 1
    assert entry["converted_lines"] == 2
    assert entry["diagnostics"] == {"error": 1}
    assert report["totals"]["errors"] == 1 and report["totals"]["files"] == 1


def test_cli_report_json_when_all_translated(tmp_path):
    (tmp_path / "model.py").write_text(GOOD)
    proc = cli("model.py", "--to", "tf", "--stdout", "--report-json", "r.json", cwd=tmp_path)
    assert proc.returncode == 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["diagnostics"] == []
    assert report["files"][0]["converted_lines"] == report["files"][0]["framework_lines"] == 2
    assert report["files"][0]["unconverted_lines"] == 0


# --- user rules ---------------------------------------------------------------------------------------
USER_RULES = """\
torch.no_such_op:
  signature: (input)
  doc: A user's own op.
  to: keras.ops.negative(input)
  examples:
    - torch.no_such_op(x) => keras.ops.negative(x)
torch.nn.Linear:
  signature: (in_features, out_features, bias=True, device=None, dtype=None)
  to: keras.layers.Dense(units=out_features, use_bias=bias)
  ignore: [in_features, device, dtype]
  examples:
    - nn.Linear(2, 3) => keras.layers.Dense(units=3)
"""


def test_user_rules_add_and_override(tmp_path):
    (tmp_path / "model.py").write_text(PARTIAL + "import torch.nn as nn\nlayer = nn.Linear(2, 3)\n")
    (tmp_path / "mine.yaml").write_text(USER_RULES)
    proc = cli("model.py", "--to", "tf", "--rules", "mine.yaml", "--stdout", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (
        "import keras\n\nx = keras.ops.concatenate([a, b], axis=1)\n"
        "y = keras.ops.negative(x)\nlayer = keras.layers.Dense(units=3)\n"
    )
    # the shipped rules are unchanged for everyone else
    assert (
        translate("import torch.nn as nn\nlayer = nn.Linear(2, 3)\n").code
        == "import keras\nlayer = keras.layers.Dense(3)\n"
    )


@pytest.mark.parametrize(
    "text,where",
    [
        ("torch.nn.Linear:\n  signature: (a, b\n  to: x\n", "rule 'torch.nn.Linear', field 'signature'"),
        ("torch.foo:\n  signature: (x)\n  to: keras.ops.(x\n", "rule 'torch.foo', field 'to'"),
        ("torch.foo:\n  signature: (x)\n  to: keras.ops.foo(x)\n  colour: red\n", "rule 'torch.foo', field 'colour'"),
        ("torch.foo:\n  to: keras.ops.foo(x)\n", "rule 'torch.foo', field 'signature'"),
        ("torch.foo: [1, 2\n", "not valid YAML"),
    ],
)
def test_malformed_rule_file_is_exit_2_naming_file_rule_and_field(tmp_path, text, where):
    (tmp_path / "model.py").write_text(GOOD)
    (tmp_path / "broken.yaml").write_text(text)
    before = listing(tmp_path)
    proc = cli("model.py", "--to", "tf", "--rules", "broken.yaml", cwd=tmp_path)
    assert proc.returncode == 2
    assert "broken.yaml" in proc.stderr and where in proc.stderr, proc.stderr
    assert listing(tmp_path) == before


def test_shipped_rules_cover_the_methods_these_tests_rely_on():
    """Report clearly when a shipped rule that the structural tests above use is missing."""
    methods = load_rules("torch_to_tf").methods
    missing = sorted({"to", "cuda", "contiguous", "size", "add", "mul"} - set(methods))
    assert not missing, f"shipped Tensor method rules missing: {missing}"


# --- buffers updated in place stay variables ---------------------------------------------------


def test_buffer_updates_assign_to_the_variable():
    check(
        """\
        import torch
        import torch.nn as nn

        class Counter(nn.Module):
            def __init__(self):
                super().__init__()
                self.register_buffer("count", torch.zeros(()))

            def forward(self, x):
                self.count += 1
                self.count.add_(1)
                x.add_(1)
                return x
        """,
        """\
        import keras

        @keras.saving.register_keras_serializable(package="fwtranslate")
        class Counter(keras.Model):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.count = keras.Variable(keras.ops.zeros(()), trainable=False, name="count")

            def call(self, x):
                self.count.assign(self.count + 1)
                self.count.assign(keras.ops.add(self.count, 1))
                x = keras.ops.add(x, 1)
                return x
        """,
    )
