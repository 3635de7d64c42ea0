"""Nothing silent: a statement of a translation that still uses the source framework carries the
in-file marker (``fwtranslate.testing.residue``, an outside check that reads only the output), and
the constructs real files showed leaving such statements unmarked are translated or reported:
lazy imports inside functions, framework names as parameter defaults."""

from __future__ import annotations

import ast
import textwrap

import pytest

from fwtranslate import translate
from fwtranslate.directions import direction_for
from fwtranslate.testing.residue import unmarked_residue

TORCH = direction_for("tf")  # PyTorch -> Keras: the source framework is torch


def test_the_check_finds_an_unmarked_statement_and_accepts_a_marked_one():
    code = textwrap.dedent(
        """\
        import keras
        import torch


        def f(x):
            # fwtranslate: unconverted [no-rule] torch.fft.fftshift has no translation rule
            y = torch.fft.fftshift(x)
            z = torch.special.erfcx(x)
            return keras.ops.add(y, z)
        """
    )
    left = unmarked_residue(code, TORCH)
    assert [(r.line, r.name) for r in left] == [(8, "torch")]


def test_a_marked_compound_statement_covers_its_body_and_an_unused_import_is_residue():
    code = textwrap.dedent(
        """\
        import keras
        from torch import nn
        import torchvision


        # fwtranslate: unconverted [no-rule] torch.nn.Foo has no translation rule
        class M(nn.Foo):
            def call(self, x):
                return nn.functional.relu(x)
        """
    )
    assert [(r.line, r.name) for r in unmarked_residue(code, TORCH)] == [(3, "torchvision")]


def test_a_local_name_is_not_the_framework():
    code = "import keras\nfrom torch import nn\n\n\n# fwtranslate: unconverted [x] y\nk = nn.Foo\n\n\ndef f(nn):\n    return nn + 1\n"
    assert unmarked_residue(code, TORCH) == []


LAZY = {
    "tf": textwrap.dedent(
        """\
        import torch


        def head(x):
            import torch.nn.functional as F
            from torch import nn
            layer = nn.Linear(2, 2)
            return F.relu(layer(x))
        """
    ),
    "torch": textwrap.dedent(
        """\
        import numpy as np


        def head(x):
            from keras import layers
            import tensorflow as tf
            return layers.Dense(2)(tf.nn.relu(x))
        """
    ),
}


@pytest.mark.parametrize("to", list(LAZY))
def test_imports_inside_a_function_are_translated_not_left(to):
    """A lazy import bound names that the rewrite did not resolve: `F.relu(layer(x))` became
    `keras.ops.relu(F)` (the tensor-method rule on F) and the Keras direction left the function
    untouched, both with exit 0."""
    result = translate(LAZY[to], to=to)
    assert not [d for d in result.diagnostics if d.severity == "error"], result.diagnostics
    tree = ast.parse(result.code)
    head = next(n for n in tree.body if isinstance(n, ast.FunctionDef))
    assert not [n for n in ast.walk(head) if isinstance(n, (ast.Import, ast.ImportFrom))], result.code
    assert unmarked_residue(result.code, direction_for(to)) == []
    call = ast.unparse(head.body[-1])
    assert ("keras.ops.relu(layer(x))" if to == "tf" else "torch.relu(x)") in call, result.code


def test_a_framework_name_as_a_parameter_default_is_reported_and_keeps_its_import():
    """`def f(norm_layer=LayerNorm)` (timm's eva.py): the import went and the name stayed."""
    source = (
        "import torch\nfrom timm.layers import LayerNorm\n\n\ndef f(norm_layer=LayerNorm):\n    return norm_layer\n"
    )
    result = translate(source, to="tf")
    assert [d.line for d in result.diagnostics if d.severity == "error"] == [5]
    assert "from timm.layers import LayerNorm" in result.code
    assert unmarked_residue(result.code, TORCH) == []


def test_a_lazy_import_of_a_package_built_on_torch_is_reported_where_used():
    """smp's base/model.py: `from segmentation_models_pytorch.encoders import X` inside a method
    and `isinstance(self.encoder, X)` were left unmarked."""
    source = textwrap.dedent(
        """\
        import torch


        def load(m):
            from timm.layers import Mlp
            if isinstance(m, Mlp):
                return 1
            return 0
        """
    )
    result = translate(source, to="tf")
    assert [d.line for d in result.diagnostics if d.severity == "error"] == [6]
    assert unmarked_residue(result.code, TORCH) == []
    assert "return 1" in result.code  # the body of the marked `if` stays whole
