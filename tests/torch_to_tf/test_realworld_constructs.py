"""Constructs of real model files (torchvision's, found by benchmarks/corpus.py), translated to
Keras and verified against torch: conv classes passed as values, calls with **kwargs,
``m.bias is not None`` on unbuilt layers, ``nn.Sequential(OrderedDict(...))``, modules assigned
to attributes of an nn.Sequential subclass, a subclass of that subclass, ``add_module`` on a
Sequential, an nn.ModuleDict subclass iterated with items(), private layer class names, and
``trunc_normal_`` with absolute bounds."""

from __future__ import annotations

import math

import numpy as np
import pytest

import fwtranslate

MODEL = """
from collections import OrderedDict

import torch
from torch import nn


class _ConvBN(nn.Sequential):
    def __init__(self, cin, cout, stride=1, conv_layer=nn.Conv2d, norm_layer=nn.BatchNorm2d):
        super().__init__()
        self.conv = conv_layer(cin, cout, 3, stride, 1, bias=False)
        self.bn = norm_layer(cout)
        self.act = nn.ReLU()
        self.out_channels = cout


class ConvBNAct(_ConvBN):
    def __init__(self, cin, cout, stride=1):
        super().__init__(cin, cout, stride, nn.Conv2d)


class _Block(nn.ModuleDict):
    def __init__(self, c, n):
        super().__init__()
        for i in range(n):
            self.add_module("layer%d" % i, nn.Conv2d(c, c, 3, padding=1))

    def forward(self, x):
        for name, layer in self.items():
            x = x + layer(x)
        return x


class Net(nn.Module):
    def __init__(self, num_classes=5, dropout=0.1):
        super().__init__()
        params = {"inplace": False}
        self.features = nn.Sequential(OrderedDict([("stem", ConvBNAct(3, 8, 2)), ("pool", nn.MaxPool2d(2))]))
        self.features.add_module("block", _Block(8, 2))
        self.drop = nn.Dropout(dropout, **params)
        self.pos = nn.Parameter(torch.empty(1, 8, 1, 1).normal_(std=0.02))
        self.fc = nn.Linear(8, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.trunc_normal_(m.weight, std=0.1, a=-0.15, b=0.2)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)

    def forward(self, x):
        x = self.features(x) + self.pos
        x = x.mean(dim=(2, 3))
        return self.fc(self.drop(x))
"""


@pytest.fixture(scope="module")
def translated():
    return fwtranslate.translate(MODEL, to="tf", path="net.py")


def test_translates_completely(translated):
    assert translated.ok, [d.format() for d in translated.diagnostics]
    code = translated.code
    assert "import torch" not in code and "from torch" not in code
    expected = [
        "def Conv2d(in_channels, out_channels",  # the conv class as a value: a factory...
        "return conv_layer_for(2, out_channels",  # ...deciding the padding at run time
        "class _ConvBN(TorchSequential):",  # attributes join the sequence, as in torch
        "self.conv = conv_layer(cin, cout, 3, stride, 1, bias=False)",
        # _ConvBN: Keras would name it "__conv_bn"; a name given when Keras rebuilds it wins
        'super().__init__(name=kwargs.pop("name", layer_name(self)), **kwargs)',
        "super().__init__(cin, cout, stride, Conv2d, **kwargs)",  # ConvBNAct calls _ConvBN's own __init__
        "class _Block(TorchModuleDict):",
        'add_layer(self.features, "block", _Block(8, 2))',
        "named_sequential(OrderedDict([",
        "self.drop = Dropout(dropout, **params)",
        'has_weight(m, "bias")',
        "TorchTruncatedNormal(std=0.1, a=-0.15, b=0.2)",
        "keras.random.normal(",
    ]
    for piece in expected:
        assert piece in code, f"{piece!r} not in\n{code}"


def test_verifies_against_torch(translated, tmp_path):
    src, dst = tmp_path / "net.py", tmp_path / "net_tf.py"
    src.write_text(MODEL)
    dst.write_text(translated.code)
    report = fwtranslate.verify(src, dst, "Net", input_shape=(2, 3, 16, 16), examples=3)
    assert report.equivalent, report
    assert {"inference", "training", "gradients"} <= {p.name for p in report.phases if p.ok}


def test_initialisation_runs_like_torch(translated, tmp_path):
    """The translated model's own initialisation (no weight transfer): kernels truncated at
    torch's absolute bounds [-0.15, 0.2]; the Dense kernel normal with std 0.02 (torch's default
    bounds, +-2, are 100 std away)."""
    keras = pytest.importorskip("keras")
    namespace: dict = {}
    exec(compile(translated.code, "net_tf.py", "exec"), namespace)
    model = namespace["Net"]()
    tf = pytest.importorskip("tensorflow")
    # XLA too: the compiled graph holds the same layers as the eager one
    tf.function(model, jit_compile=True)(np.zeros((1, 3, 16, 16), "float32"))
    convs = [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == 3
    for conv in convs:
        kernel = keras.ops.convert_to_numpy(conv.kernel)
        assert kernel.min() >= -0.15 and kernel.max() <= 0.2
        assert kernel.std() > 0.05  # really drawn, not a constant
    dense = keras.ops.convert_to_numpy(model.fc.kernel)
    assert 0.012 < dense.std() < 0.028 and np.abs(dense).max() < 0.2


def test_chained_in_place_methods_update_the_root_receiver():
    code = fwtranslate.translate(
        "import torch\n\ndef f(img, low, high):\n    img.sub_(low).div_(high - low)\n"
        "    torch.zeros(3).add_(1)\n    return img\n",
        to="tf",
    ).code
    assert "img = keras.ops.divide(keras.ops.subtract(img, low), high - low)" in code
    compile(code, "f.py", "exec")  # never an assignment to a call


TIMM_STYLE = """
import torch
import torch.nn as nn
from timm.models.layers import DropPath, to_2tuple, trunc_normal_


class Block(nn.Module):
    def __init__(self, dim=8, patch=2, drop_path=0.1):
        super().__init__()
        self.patch = to_2tuple(patch)
        self.fc = nn.Linear(dim, dim)
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
        self.apply(self._init_weights)

    def _init_weights(self, m):
        if isinstance(m, nn.Linear):
            trunc_normal_(m.weight, std=0.02)
            nn.init.constant_(m.bias, 0.5)

    def forward(self, x):
        return x + self.drop_path(self.fc(x))
"""


def test_timm_helpers_and_module_apply_translate(translate_exec):
    """`from timm.models.layers import DropPath, to_2tuple, trunc_normal_` and
    `self.apply(self._init_weights)` (Swin/ConvNeXt-style files): `self.apply` was left as it is
    with exit 0 and failed when the model was built."""
    namespace, code = translate_exec(TIMM_STYLE, "tf")
    assert "import timm" not in code and "from timm" not in code and "self.apply(" not in code
    block = namespace["Block"]()
    x = np.ones((2, 8), "float32")
    y = np.asarray(block(x, training=False))  # DropPath is the identity in inference
    assert block.patch == (2, 2)
    assert np.allclose(np.asarray(block.fc.bias), 0.5)  # _init_weights ran on the sub-layer
    assert float(np.std(np.asarray(block.fc.kernel))) < 0.05  # trunc_normal_(std=0.02), not Keras' default
    assert np.allclose(y, x + np.asarray(block.fc(x)))


def test_apply_on_an_object_not_known_to_be_a_model_is_left_alone():
    code = fwtranslate.translate("import torch\n\n\ndef f(frame):\n    return frame.apply(len)\n", to="tf").code
    assert "frame.apply(len)" in code


DATA_INIT = """
import math
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 64, 3)
        self.bn = nn.BatchNorm2d(64)
        self.fc = nn.Linear(64, 32)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                m.weight.data.normal_(0, math.sqrt(2.0 / n))
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.data.fill_(2)
                m.bias.data.zero_()
            elif isinstance(m, nn.Linear):
                m.weight.data.uniform_(-0.1, 0.1)
                m.bias.data.fill_(0.5)

    def forward(self, x):
        return self.fc(self.bn(self.conv(x)).mean((2, 3)))
"""


def test_in_place_initialisation_through_data_is_nn_init(translate_exec):
    """`m.weight.data.normal_(0, s)` / `.fill_(v)` / `.zero_()` / `.uniform_(a, b)` (older model
    files: ResNet/DenseNet re-implementations) were left marked; they are nn.init calls."""
    namespace, code = translate_exec(DATA_INIT, "tf")
    assert ".data." not in code
    net = namespace["Net"]()
    net(np.zeros((1, 3, 8, 8), "float32"))
    kernel = np.asarray(net.conv.kernel)
    assert abs(float(kernel.std()) - math.sqrt(2.0 / (3 * 3 * 64))) < 0.02
    assert np.all(np.asarray(net.bn.gamma) == 2) and np.all(np.asarray(net.bn.beta) == 0)
    dense = np.asarray(net.fc.kernel)
    assert dense.min() >= -0.1 and dense.max() <= 0.1 and dense.std() > 0.03
    assert np.all(np.asarray(net.fc.bias) == 0.5)
