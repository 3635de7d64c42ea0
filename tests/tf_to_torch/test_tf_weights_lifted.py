"""Weight transfer from a Keras functional model to its *lifted* translation: a tree of plain
nn.Modules (loops as nn.ModuleList of blocks, helpers as submodule classes), not the tracer's
flat FunctionalModel. The Keras layers (one flat ``model.layers``) are paired with the torch
modules that stand for one Keras layer, wherever they sit in the tree, both sides in the
canonical order of their graphs (torch's from torch.fx). The torch classes below are written
by hand in the shape the lifting pass emits; each test builds the Keras original, transfers its
(randomised) weights with the product's API and compares the outputs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("tensorflow")

from fwtranslate.verify.backend import frameworks
from fwtranslate.verify.randomize import randomize_keras
from fwtranslate.weights.from_keras import keras_to_torch_model, layer_pairs, plan_from_keras
from fwtranslate.weights.transfer import TransferError

torch, tf, keras = frameworks()
nn = torch.nn
layers = keras.layers

SUPPORT = Path(__file__).resolve().parents[2] / "rules" / "tf_to_torch"


def _support(stem: str):
    """A support file of the tf_to_torch rules (what a translation gets copied into it)."""
    sys.path.insert(0, str(SUPPORT))
    try:
        spec = importlib.util.spec_from_file_location(f"_lifted_{stem}", SUPPORT / f"{stem}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(SUPPORT))


KerasBatchNormalization = _support("support_norm").KerasBatchNormalization


def init_lazy(module, example):
    """Materialise the Lazy modules (the lifted classes' support helper does this in __init__)."""
    with torch.no_grad():
        module(example)


def _check(kmodel, tmodel, shape, seed=0):
    """Randomise the Keras weights (BatchNorm statistics included), transfer them, compare."""
    randomize_keras(kmodel, seed)
    plan = keras_to_torch_model(kmodel, tmodel)
    x = np.random.default_rng(seed).normal(size=shape).astype("float32")
    tmodel.eval()
    with torch.no_grad():
        got = tmodel(torch.as_tensor(x)).numpy()
    np.testing.assert_allclose(got, np.asarray(kmodel(x, training=False)), rtol=1e-4, atol=1e-5)
    return plan


# --- a CNN whose loop became an nn.ModuleList of its layers ------------------------
def build_cnn(input_shape=(12, 12, 1), num_classes=5, filters=(4, 6)):
    inputs = keras.Input(shape=input_shape)
    x = inputs
    for f in filters:
        x = layers.Conv2D(f, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(8, activation="relu")(x)
    outputs = layers.Dense(num_classes)(x)
    return keras.Model(inputs, outputs, name="cnn")


class Cnn(nn.Module):
    def __init__(self, input_shape=(12, 12, 1), num_classes=5, filters=(4, 6), traceable=True):
        super().__init__()
        self.traceable = traceable
        self.blocks = nn.ModuleList()
        for f in filters:
            self.blocks.extend(
                [
                    nn.LazyConv2d(f, 3, padding="same", bias=False),
                    KerasBatchNormalization(axis=1),
                    nn.ReLU(),
                    nn.MaxPool2d(2),
                ]
            )
        self.flatten = nn.Flatten()
        self.linear = nn.Sequential(nn.LazyLinear(8), nn.ReLU())
        self.linear_1 = nn.LazyLinear(num_classes)
        init_lazy(self, torch.zeros(2, *input_shape))

    def forward(self, inputs):
        x = inputs
        if not self.traceable and x.shape[-1] < 0:  # control flow on a tensor: torch.fx cannot trace it
            x = -x
        x = x.movedim(-1, 1)
        for layer in self.blocks:
            x = layer(x)
        x = x.movedim(1, -1)
        x = self.flatten(x)
        x = self.linear(x)
        outputs = self.linear_1(x)
        return outputs


def test_cnn_with_a_loop_of_blocks():
    kmodel, tmodel = build_cnn(), Cnn()
    plan = _check(kmodel, tmodel, (3, 12, 12, 1))
    paths = {s.keras_path: s.torch_path for s in plan.steps}
    assert paths == {
        "layers[1]": "blocks.0",
        "layers[2]": "blocks.1",
        "layers[5]": "blocks.4",
        "layers[6]": "blocks.5",
        "layers[10]": "linear",  # Dense(activation="relu"): the whole nn.Sequential(LazyLinear, ReLU)
        "layers[11]": "linear_1",
    }
    # as many units as Keras layers, weighted where Keras' are: every layer has its counterpart
    pairs = {n.keras_path: n.torch_path for n in layer_pairs(kmodel, tmodel) if n.keras_path}
    assert pairs["layers[3]"] == "blocks.2" and pairs["layers[8]"] == "blocks.7"
    assert pairs["layers[9]"] == "flatten"
    assert len(pairs) == 11


def test_untraceable_forward_keeps_the_registration_order():
    kmodel, tmodel = build_cnn(), Cnn(traceable=False)
    with pytest.raises(torch.fx.proxy.TraceError):
        torch.fx.symbolic_trace(tmodel)
    _check(kmodel, tmodel, (2, 12, 12, 1), seed=1)


# --- a U-Net: a helper used three times became a submodule class; a concatenate skip ----------
def double_conv(x, filters):
    x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    return layers.Conv2D(filters, 3, padding="same", activation="relu")(x)


def build_unet(input_shape=(8, 8, 3), num_classes=2, base=4):
    inputs = keras.Input(shape=input_shape)
    d1 = double_conv(inputs, base)
    d2 = double_conv(layers.MaxPooling2D(2)(d1), base * 2)
    x = layers.Conv2DTranspose(base, 2, strides=2)(d2)
    x = layers.Concatenate(axis=-1)([d1, x])
    x = double_conv(x, base)
    outputs = layers.Conv2D(num_classes, 1)(x)
    return keras.Model(inputs, outputs, name="unet")


class DoubleConv(nn.Module):
    def __init__(self, filters):
        super().__init__()
        self.conv2d = nn.Sequential(nn.LazyConv2d(filters, 3, padding="same"), nn.ReLU())
        self.conv2d_1 = nn.Sequential(nn.LazyConv2d(filters, 3, padding="same"), nn.ReLU())

    def forward(self, x):
        x = self.conv2d(x)
        return self.conv2d_1(x)


class Unet(nn.Module):
    def __init__(self, input_shape=(8, 8, 3), num_classes=2, base=4):
        super().__init__()
        self.double_conv = DoubleConv(base)
        self.max_pool2d = nn.MaxPool2d(2)
        self.double_conv_1 = DoubleConv(base * 2)
        self.conv_transpose2d = nn.LazyConvTranspose2d(base, 2, stride=2)
        self.double_conv_2 = DoubleConv(base)
        self.conv2d = nn.LazyConv2d(num_classes, 1)
        init_lazy(self, torch.zeros(2, *input_shape))

    def forward(self, inputs):
        x = inputs.movedim(-1, 1)
        d1 = self.double_conv(x)
        d2 = self.double_conv_1(self.max_pool2d(d1))
        x = self.conv_transpose2d(d2)
        x = torch.cat([d1, x], dim=1)
        x = self.double_conv_2(x)
        outputs = self.conv2d(x)
        return outputs.movedim(1, -1)


def test_unet_with_a_helper_class_and_a_skip():
    kmodel, tmodel = build_unet(), Unet()
    plan = _check(kmodel, tmodel, (2, 8, 8, 3))
    moved = sorted(s.torch_path for s in plan.steps)
    assert moved == sorted(
        [f"{h}.conv2d{s}" for h in ("double_conv", "double_conv_1", "double_conv_2") for s in ("", "_1")]
        + ["conv_transpose2d", "conv2d"]
    )


# --- a residual block: the shortcut computed before the main path, or after -------------------
def build_residual(shortcut_first=True, input_shape=(6, 6, 3)):
    inputs = keras.Input(shape=input_shape)
    if shortcut_first:
        shortcut = layers.Conv2D(8, 1)(inputs)
    y = layers.Conv2D(8, 3, padding="same")(inputs)
    y = layers.BatchNormalization()(y)
    y = layers.ReLU()(y)
    y = layers.Conv2D(8, 3, padding="same", use_bias=False)(y)
    if not shortcut_first:
        shortcut = layers.Conv2D(8, 1)(inputs)
    x = layers.Add()([y, shortcut])
    x = layers.ReLU()(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(3)(x))


class ResidualBlock(nn.Module):
    """The block as a helper class; ``shortcut_first`` decides the order of creation and of the
    computation of the two branches."""

    def __init__(self, shortcut_first):
        super().__init__()
        self.shortcut_first = shortcut_first
        if shortcut_first:
            self.conv2d = nn.LazyConv2d(8, 1)
        self.main = nn.ModuleList(
            [
                nn.LazyConv2d(8, 3, padding="same"),
                KerasBatchNormalization(axis=1),
                nn.ReLU(),
                nn.LazyConv2d(8, 3, padding="same", bias=False),
            ]
        )
        if not shortcut_first:
            self.conv2d = nn.LazyConv2d(8, 1)
        self.re_lu = nn.ReLU()

    def forward(self, x):
        if self.shortcut_first:
            shortcut = self.conv2d(x)
        y = x
        for layer in self.main:
            y = layer(y)
        if not self.shortcut_first:
            shortcut = self.conv2d(x)
        return self.re_lu(y + shortcut)


class Residual(nn.Module):
    def __init__(self, shortcut_first=True, input_shape=(6, 6, 3)):
        super().__init__()
        self.block = ResidualBlock(shortcut_first)
        self.linear = nn.LazyLinear(3)
        init_lazy(self, torch.zeros(2, *input_shape))

    def forward(self, inputs):
        x = self.block(inputs.movedim(-1, 1))
        return self.linear(x.mean(dim=(2, 3)))


@pytest.mark.parametrize("keras_first", [True, False], ids=["keras-shortcut-first", "keras-shortcut-last"])
@pytest.mark.parametrize("torch_first", [True, False], ids=["torch-shortcut-first", "torch-shortcut-last"])
def test_residual_branch_order_does_not_matter(keras_first, torch_first):
    kmodel, tmodel = build_residual(keras_first), Residual(torch_first)
    plan = _check(kmodel, tmodel, (2, 6, 6, 3), seed=2)
    shortcut = next(i for i, sub in enumerate(kmodel.layers) if getattr(sub, "kernel_size", None) == (1, 1))
    assert {s.keras_path: s.torch_path for s in plan.steps}[f"layers[{shortcut}]"] == "block.conv2d"


# --- a Keras layer applied twice: one module called twice ----------------------------------------
def build_shared():
    inputs = keras.Input(shape=(6,))
    shared = layers.Dense(6, activation="tanh")
    x = shared(inputs)
    x = layers.Dense(6)(x)
    x = shared(x)
    return keras.Model(inputs, layers.Dense(2)(x))


class Shared(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Sequential(nn.Linear(6, 6), nn.Tanh())
        self.linear_1 = nn.Linear(6, 6)
        self.linear_2 = nn.Linear(6, 2)

    def forward(self, inputs):
        x = self.linear(inputs)
        x = self.linear_1(x)
        x = self.linear(x)
        return self.linear_2(x)


def test_layer_applied_twice():
    kmodel, tmodel = build_shared(), Shared()
    plan = _check(kmodel, tmodel, (4, 6), seed=3)
    assert len(plan.steps) == 3


# --- names the user gave, and what does not fit ---------------------------------------------------
def build_named():
    inputs = keras.Input(shape=(5,))
    x = layers.Dense(7, activation="relu")(inputs)
    x = layers.Dense(7, name="bottleneck")(x)
    return keras.Model(inputs, layers.Dense(3, name="logits")(x))


class Named(nn.Module):
    def __init__(self, hidden=7):
        super().__init__()
        self.logits = nn.Linear(hidden, 3)  # registered first: only its name can pair it
        self.body = nn.Sequential(nn.Sequential(nn.Linear(5, hidden), nn.ReLU()))
        self.bottleneck = nn.Linear(hidden, hidden)

    def forward(self, inputs):
        return self.logits(self.bottleneck(self.body(inputs)))


def test_user_names_pair_first():
    kmodel, tmodel = build_named(), Named()
    plan = _check(kmodel, tmodel, (3, 5), seed=4)
    paths = {s.keras_path: (s.torch_path, s) for s in plan.steps}
    assert paths["layers[3]"][0] == "logits" and paths["layers[2]"][0] == "bottleneck"
    assert paths["layers[1]"][0] == "body.0"


class MissingLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Sequential(nn.Linear(6, 6), nn.Tanh())
        self.linear_1 = nn.Linear(6, 2)

    def forward(self, inputs):
        return self.linear_1(self.linear(inputs))


def test_a_keras_layer_without_counterpart_is_named():
    kmodel = build_shared()
    with pytest.raises(TransferError, match=r"Keras layer 'layers\[3\]' \(Dense\)") as info:
        plan_from_keras(kmodel, MissingLayer())
    assert info.value.keras_path == "layers[3]"


class ExtraLayer(Shared):
    def __init__(self):
        super().__init__()
        self.head = nn.Linear(2, 2)

    def forward(self, inputs):
        return self.head(super().forward(inputs))


def test_a_torch_module_without_counterpart_is_named():
    with pytest.raises(TransferError, match=r"no Keras counterpart: head\.weight, head\.bias") as info:
        plan_from_keras(build_shared(), ExtraLayer())
    assert info.value.torch_path == "head.weight"


# --- a Keras layer class the user wrote, used in the builder -------------------------------------
class Block(keras.layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.fc1 = layers.Dense(units, activation="relu")
        self.fc2 = layers.Dense(units)

    def call(self, x):
        return x + self.fc2(self.fc1(x))


class TorchBlock(nn.Module):
    """The translation of Block: same class name, same attribute names."""

    def __init__(self, units):
        super().__init__()
        self.fc1 = nn.Sequential(nn.LazyLinear(units), nn.ReLU())
        self.fc2 = nn.LazyLinear(units)

    def forward(self, x):
        return x + self.fc2(self.fc1(x))


TorchBlock.__name__ = TorchBlock.__qualname__ = "Block"


def build_blocks():
    inputs = keras.Input(shape=(4,))
    x = layers.Dense(6)(inputs)
    for _ in range(2):
        x = Block(6)(x)
    return keras.Model(inputs, layers.Dense(2)(x))


class Blocks(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.LazyLinear(6)
        self.blocks = nn.Sequential(*(TorchBlock(6) for _ in range(2)))
        self.linear_1 = nn.LazyLinear(2)
        init_lazy(self, torch.zeros(2, 4))

    def forward(self, inputs):
        return self.linear_1(self.blocks(self.linear(inputs)))


def test_custom_keras_layer_class_is_one_unit():
    kmodel, tmodel = build_blocks(), Blocks()
    plan = _check(kmodel, tmodel, (3, 4), seed=5)
    paths = {s.keras_path: s.torch_path for s in plan.steps}
    assert paths["layers[2].fc1"] == "blocks.0.fc1" and paths["layers[3].fc2"] == "blocks.1.fc2"
