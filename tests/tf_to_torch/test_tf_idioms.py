"""Idioms of real Keras files outside the corpus (issue 17), Keras -> PyTorch.

Name scopes, try/except import fallbacks, backend checks, tf-keras' own spellings
(``keras_export``, ``tf_keras.src``, ``tensorflow.compat.v2``) and the class aliases of
``keras.layers``. Each case is a small realistic file: it is translated (no diagnostic allowed
unless the case expects one), the output must not import Keras or TensorFlow any more, and it
runs under torch; the two builders are also compared with Keras on the same weights.
"""

from __future__ import annotations

import ast
import os
import textwrap

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

import fwtranslate

torch = pytest.importorskip("torch")


def translate(source: str):
    return fwtranslate.translate(textwrap.dedent(source), to="torch")


def imported_roots(code: str) -> list[str]:
    roots = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            roots += [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            roots.append((node.module or "").split(".")[0])
    return roots


def with_items(code: str) -> set[str]:
    """The context managers of the code's ``with`` statements (support code has its own)."""
    return {ast.unparse(i.context_expr) for n in ast.walk(ast.parse(code)) if isinstance(n, ast.With) for i in n.items}


def run_clean(source: str) -> tuple[dict, str]:
    """Translate (no diagnostic but infos), check no Keras/TensorFlow import is left and torch is
    imported once, then run the output: (its namespace, its code)."""
    result = translate(source)
    problems = [d.format() for d in result.diagnostics if d.severity != "info"]
    assert result.ok and not problems, "\n".join(problems) + "\n" + result.code
    roots = imported_roots(result.code)
    assert not {"keras", "tensorflow", "tf_keras"} & set(roots), result.code
    assert result.code.splitlines().count("import torch") == 1, result.code
    namespace: dict = {}
    exec(compile(result.code, "<translation>", "exec"), namespace)
    return namespace, result.code


def compare_with_keras(source: str, builder: str, shape: tuple[int, ...]) -> str:
    """The Keras builder and its translation, on the same weights and input: the translation."""
    keras = pytest.importorskip("keras")
    from fwtranslate.weights.from_keras import keras_to_torch_model

    namespace, code = run_clean(source)
    keras_namespace: dict = {}
    exec(compile(textwrap.dedent(source), "<keras>", "exec"), keras_namespace)
    kmodel, tmodel = keras_namespace[builder](), namespace[builder]()
    keras_to_torch_model(kmodel, tmodel)
    x = np.random.default_rng(0).standard_normal((2, *shape)).astype(np.float32)
    tmodel.eval()
    with torch.no_grad():
        got = tmodel(torch.from_numpy(x)).numpy()
    want = keras.ops.convert_to_numpy(kmodel(x, training=False))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5, err_msg=code)
    return code


# --- name scopes ---------------------------------------------------------------------------------
NAME_SCOPES = """
    try:
        import keras
    except ImportError:
        from tensorflow import keras
    try:
        from tensorflow.keras import layers
    except ImportError:
        from keras import layers
    from keras.src import backend as K
    from keras.src import backend
    import tensorflow as tf


    def conv_block(x, filters, name):
        with K.name_scope(name):
            x = layers.Conv2D(filters, 3, padding="same", name=name + "_conv")(x)
            # the activation of the block
            with backend.name_scope("act"), tf.name_scope("inner"):
                x = layers.ReLU()(x)
        with keras.name_scope("pool"):
            x = layers.MaxPool2D()(x)
        return x


    def build_model():
        inputs = keras.Input((8, 8, 3))
        x = conv_block(inputs, 4, "block1")
        x = conv_block(x, 6, "block2")
        if keras.backend.backend() == "torch":
            x = keras.ops.mean(x, axis=(1, 2))
        else:
            x = layers.GlobalAvgPool2D()(x)
        outputs = layers.Dense(3, name="head")(x)
        return keras.Model(inputs, outputs)
"""


def test_name_scopes_and_fallback_imports_builder_matches_keras():
    code = compare_with_keras(NAME_SCOPES, "build_model", (8, 8, 3))
    assert "name_scope" not in code and "try:" not in code, code
    assert with_items(code) <= {"torch.no_grad()"}, code
    assert "# the activation of the block" in code  # the comment above a removed `with` stays


def test_name_scope_in_a_layer_class():
    namespace, code = run_clean(
        """
        import keras
        import tensorflow as tf


        class Block(keras.layers.Layer):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.fc = keras.layers.Dense(4)

            def call(self, x):
                with tf.name_scope("block"):
                    if True:
                        with tf.compat.v1.name_scope("deeper"):
                            y = self.fc(x)
                return keras.ops.relu(y)
        """
    )
    assert "name_scope" not in code and not with_items(code), code
    assert namespace["Block"]()(torch.ones(2, 5)).shape == (2, 4)


def test_name_scope_as_target_keeps_its_with():
    """``with tf.name_scope("s") as scope:`` may read the scope: the statement stays a ``with``."""
    result = translate(
        """
        import tensorflow as tf

        def f(x):
            with tf.name_scope("s") as scope:
                print(scope)
                return x
        """
    )
    assert "as scope:" in result.code


# --- try/except import fallbacks -----------------------------------------------------------------
@pytest.mark.parametrize(
    "imports",
    [
        "try:\n    import keras\nexcept ImportError:\n    from tensorflow import keras\n",
        "try:\n    from tensorflow.keras import layers\nexcept ImportError:\n    from keras import layers\n",
        "try:\n    from keras import layers\nexcept (ImportError, ModuleNotFoundError):\n    pass\n",
        "import numpy as np\ntry:\n    import tf_keras as keras\nexcept:\n    import keras\n",
    ],
)
def test_fallback_imports_go(imports):
    uses = "keras.layers.Dense(3)" if "import layers" not in imports else "layers.Dense(3)"
    namespace, code = run_clean(f"{imports}\n\ndef head():\n    return {uses}\n")
    assert "try" not in code and "except" not in code, code
    assert isinstance(namespace["head"](), torch.nn.Module)


def test_fallback_import_still_used_is_kept_with_its_try():
    """A residue that still needs the import keeps the ``try`` whole (and is reported)."""
    result = translate(
        "try:\n    import keras\nexcept ImportError:\n    from tensorflow import keras\n\n"
        "def f():\n    return keras.utils.some_unknown_helper()\n"
    )
    assert "try:\n    import keras\nexcept ImportError:\n    from tensorflow import keras" in result.code
    assert not result.ok


def test_other_try_is_untouched():
    source = (
        "try:\n    import keras\n    import yaml\nexcept ImportError:\n    yaml = None\n\nx = keras.layers.ReLU()\n"
    )
    assert "import yaml" in translate(source).code


# --- backend checks ------------------------------------------------------------------------------
def test_backend_checks_fold_to_torch():
    namespace, code = run_clean(
        """
        import keras
        from keras import backend as K


        def pick(x):
            if keras.config.backend() == "jax":
                y = "jax"
            elif K.backend() in ("torch", "numpy"):
                y = "torch"
            else:
                y = "other"
            if keras.backend.backend() != "tensorflow":  # not TensorFlow
                y = y + "!"
            if "tensorflow" == keras.config.backend():
                y = None
            z = 1 if keras.backend.backend() == "torch" else 2
            return y, z, keras.config.backend() not in ["tensorflow"]
        """
    )
    assert "backend" not in code and "jax" not in code, code
    assert "# not TensorFlow" in code
    assert namespace["pick"](0) == ("torch!", 1, True)


def test_backend_query_used_otherwise_is_torch_with_a_note():
    """A query stored in a variable is the backend's rule (rules/tf_to_torch/backend.yaml): the
    translation runs on torch, and a note says so where it is used."""
    result = translate("import keras\n\nname = keras.backend.backend()\n")
    assert result.ok and 'name = "torch"' in result.code, result.code
    assert [d.code for d in result.diagnostics] == ["note"]


# --- tf-keras spellings --------------------------------------------------------------------------
TF_KERAS_APPLICATION = """
    import tensorflow.compat.v2 as tf
    from tensorflow.compat.v2 import keras as k2
    from tensorflow.python.util.tf_export import keras_export
    from tf_keras.src import backend
    from tf_keras.src import layers


    @keras_export("keras.applications.tiny.Tiny", "keras.applications.Tiny")
    def Tiny(classes=3):
        bn_axis = 3 if backend.image_data_format() == "channels_last" else 1
        img_input = layers.Input(shape=(8, 8, 3))
        x = layers.Convolution2D(4, 3, padding="same", name="conv")(img_input)
        x = layers.BatchNormalization(axis=bn_axis, name="bn")(x)
        x = tf.nn.relu(x)
        x = layers.AvgPool2D()(x)
        x = layers.MaxPool2D()(x)
        x = k2.layers.GlobalAvgPool2D()(x)
        x = layers.Dense(classes, name="predictions")(x)
        return k2.Model(img_input, x, name="tiny")
"""


def test_tf_keras_application_spellings():
    namespace, code = run_clean(TF_KERAS_APPLICATION)
    assert "keras_export" not in code and "@" not in code, code
    model = namespace["Tiny"]()
    assert model(torch.ones(2, 8, 8, 3)).shape == (2, 3)


def test_tf_keras_application_matches_keras():
    """The same file in Keras 3 spellings (what runs here) gives what the translation gives."""
    keras3 = (
        TF_KERAS_APPLICATION.replace("import tensorflow.compat.v2 as tf", "import tensorflow as tf")
        .replace("from tensorflow.compat.v2 import keras as k2", "import keras as k2")
        .replace("    from tensorflow.python.util.tf_export import keras_export\n", "")
        .replace("from tf_keras.src import", "from keras import")
        .replace('    @keras_export("keras.applications.tiny.Tiny", "keras.applications.Tiny")\n', "")
        .replace("layers.AvgPool2D()", "layers.AvgPool2D(2)")
        .replace("tf.nn.relu(x)", "layers.ReLU()(x)")  # Keras 3 takes no TensorFlow op on its tensors
    )
    compare_with_keras(keras3, "Tiny", (8, 8, 3))


# --- class aliases of keras.layers ---------------------------------------------------------------
ALIASES = [
    "Convolution1D(4, 3)",
    "Convolution2D(4, 3)",
    "Convolution3D(4, 3)",
    "Convolution2DTranspose(4, 3)",
    "SeparableConvolution2D(4, 3)",
    "AvgPool1D(2)",
    "AvgPool2D()",
    "MaxPool1D()",
    "MaxPool2D()",
    "MaxPool3D()",
    "GlobalAvgPool1D()",
    "GlobalAvgPool2D()",
    "GlobalMaxPool2D()",
    "GlobalMaxPool3D()",
]


SPELLINGS = [
    ("import keras", "keras.layers"),
    ("import tensorflow as tf", "tf.keras.layers"),
    ("import tf_keras", "tf_keras.layers"),
]


@pytest.mark.parametrize("index,layer", list(enumerate(ALIASES)), ids=ALIASES)
def test_class_aliases_reach_rules(index, layer):
    imports, spelling = SPELLINGS[index % len(SPELLINGS)]  # each alias in one of the spellings, in turn
    namespace, _ = run_clean(f"{imports}\n\nlayer = {spelling}.{layer}\n")
    assert isinstance(namespace["layer"], torch.nn.Module)


# --- a user wrapper layer (keras.layers.Wrapper) -------------------------------------------------
WRAPPER = """
    import keras
    from keras import layers


    class Residual(layers.Wrapper):
        \"\"\"Adds the wrapped layer's output, scaled, to its input.\"\"\"

        def __init__(self, layer, scale=1.0, **kwargs):
            super().__init__(layer, **kwargs)
            self.scale = scale

        def build(self, input_shape):
            super().build(input_shape)

        def call(self, x):
            return x + self.scale * self.layer(x)


    def build_model():
        inputs = keras.Input((6,))
        x = Residual(layers.Dense(6, name="inner"), scale=0.5, name="residual")(inputs)
        return keras.Model(inputs, layers.Dense(2, name="head")(x))
"""


def test_wrapper_subclass_matches_keras():
    code = compare_with_keras(WRAPPER, "build_model", (6,))
    assert "class Residual(KerasWrapper):" in code and "super().__init__(layer, **kwargs)" in code, code
