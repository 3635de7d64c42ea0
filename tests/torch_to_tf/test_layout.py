"""PyTorch -> Keras layout: channels last inside, PyTorch's interface outside.

Each case is a small model in a pattern real code has. The translation is checked twice: its
shape (how many moves, where, which layers run channels last, what is reported) and its numbers
(``fwtranslate.verify`` against the original: inference, training mode, gradients, one SGD step).
"""

from __future__ import annotations

import re

import pytest

import fwtranslate
from fwtranslate.testing.random_models import RandomModel
from fwtranslate.testing.torch_models import check

HEADER = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n\n"

RESIDUAL = (
    HEADER
    + '''
def conv3x3(cin, cout, stride=1):
    """A factory: the layout analysis follows it to the layer it builds."""
    return nn.Conv2d(cin, cout, 3, stride, 1, bias=False)


class Block(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = conv3x3(cin, cout, stride)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = conv3x3(cout, cout)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        identity = x
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.shortcut is not None:
            identity = self.shortcut(x)
        out += identity
        return F.relu(out)


class RandomNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block(3, 8, 2)
        self.fc = nn.Linear(8 * 4 * 4, 5)

    def forward(self, x):
        x = self.block(x)
        return self.fc(x.view(x.size(0), -1))
'''
)

CONCAT = (
    HEADER
    + """
class RandomNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 4, 3, padding=1)
        self.b = nn.Conv2d(3, 4, 1)
        self.features = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        y = torch.cat([self.a(x), self.b(x)], dim=1)
        y = F.softmax(self.features(y), dim=1) * y.size(1)
        y = self.pool(y)
        return self.head(torch.flatten(y, 1))
"""
)

NO_NATIVE_FORM = (
    HEADER
    + """
class RandomNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.up = nn.ConvTranspose2d(4, 4, 3, stride=2, padding=1)
        self.fc = nn.Linear(4 * 13 * 13, 2)

    def forward(self, x):
        x = self.up(F.relu(self.conv(x)))
        return self.fc(x.flatten(1))
"""
)

# torchvision's ResNet: forward only calls a method; max pooling with padding and ceil_mode
FORWARD_IMPL = (
    HEADER
    + """
class RandomNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
        self.avg = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
        self.adaptive = nn.AdaptiveAvgPool2d((2, 3))
        self.fc = nn.Linear(4 * 2 * 3, 2)

    def _features(self, x):
        return self.adaptive(self.avg(self.pool(F.relu(self.conv(x)))))

    def _forward_impl(self, x):
        x = self._features(x)
        return self.fc(torch.flatten(x, 1))

    def forward(self, x):
        return self._forward_impl(x)
"""
)

USED_OUTSIDE_FORWARD = (
    HEADER
    + """
class RandomNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        return self.conv(x).mean((2, 3))

    def embed(self, x):  # called from outside, not by forward: not followed
        return self.conv(x)
"""
)


def _translate(source: str):
    result = fwtranslate.translate(source, "tf", path="net.py")
    assert result.ok, "\n".join(d.format() for d in result.diagnostics)
    return result


def _method(code: str, cls: str, name: str = "call") -> str:
    match = re.search(rf"class {cls}\b.*?\n    def {name}\(.*?(?=\n    def |\n\S|\Z)", code, re.S)
    assert match, code
    return match.group(0)


def _verify(source: str, shape, tmp_path):
    outcome = check(RandomModel(source, shape, "conv"), tmp_path, examples=3)
    assert outcome.stage == "ok", outcome.detail


def test_residual_block_takes_channels_last_tensors_and_the_model_moves_once_in_and_once_out(tmp_path):
    code = _translate(RESIDUAL).code
    block = _method(code, "Block")
    # only RandomNet applies the block: a class contract, no move around it (layout_blocks.py)
    assert "keras.ops.moveaxis(" not in block and "# fwtranslate: channels-last tensors in and out" in code, block
    model = _method(code, "RandomNet")
    assert model.count("keras.ops.moveaxis(") == 2, model  # x on entry, before the view
    assert "Permute" not in code and "channels_first" not in code and "ChannelsFirst" not in code, code
    assert "keras.layers.Conv2D(cout, 3, strides=stride" in code  # the factory's layer, channels last
    # the shortcut runs as one channels-last layer
    assert "self.shortcut = keras.Sequential([keras.layers.Conv2D(" in code, code
    _verify(RESIDUAL, (2, 3, 8, 8), tmp_path)


def test_channel_axis_arguments_are_renumbered(tmp_path):
    code = _translate(CONCAT).code
    call = _method(code, "RandomNet")
    assert "keras.ops.concatenate([self.a(x), self.b(x)], axis=-1)" in call, call
    assert "keras.ops.softmax(self.features(y), axis=-1) * keras.ops.shape(y)[-1]" in call, call
    assert call.count("keras.ops.moveaxis(") == 1, call  # in before the convolutions; (N, 8, 1, 1) flattened as it is
    _verify(CONCAT, (2, 3, 6, 6), tmp_path)


def test_a_layer_without_a_channels_last_form_stays_and_is_reported(tmp_path):
    result = _translate(NO_NATIVE_FORM)
    layout = [d for d in result.diagnostics if d.code == "layout"]
    assert len(layout) == 1 and "ConvTranspose2d stays channels first" in layout[0].message, layout
    assert "no channels-last form" in layout[0].message
    assert "keras.layers.Conv2D(4, 3)" in result.code  # the convolution still runs channels last
    _verify(NO_NATIVE_FORM, (2, 3, 9, 9), tmp_path)


def test_methods_forward_calls_and_support_pools_run_channels_last(tmp_path):
    result = _translate(FORWARD_IMPL)
    assert not [d for d in result.diagnostics if d.code == "layout"], result.diagnostics
    code = result.code
    assert 'data_format="channels_first"' not in code and "ChannelsFirst" not in code, code
    assert "TorchMaxPool(3, strides=2, padding=1, ceil_mode=True, rank=2)" in code, code
    features = code[code.index("def _features") : code.index("def _forward_impl")]
    assert features.count("keras.ops.moveaxis(") == 2, features  # in on entry, out on return
    _verify(FORWARD_IMPL, (2, 3, 9, 11), tmp_path)


def test_a_layer_used_outside_forward_stays_and_is_reported(tmp_path):
    result = _translate(USED_OUTSIDE_FORWARD)
    layout = [d for d in result.diagnostics if d.code == "layout"]
    assert len(layout) == 1 and "does not follow" in layout[0].message, layout
    assert "ChannelsFirstConv2D" in result.code
    _verify(USED_OUTSIDE_FORWARD, (2, 3, 5, 5), tmp_path)


@pytest.mark.parametrize("case", [RESIDUAL, CONCAT, NO_NATIVE_FORM, USED_OUTSIDE_FORWARD, FORWARD_IMPL])
def test_interface_is_pytorchs(case):
    """Whatever runs inside, the model's call takes and returns PyTorch's order: the last
    statement of every call() that returns an image moves it back, or it never left."""
    code = _translate(case).code
    assert "import torch" not in code
    for match in re.finditer(r"    def call\(self, x\):\n(.*?)(?=\n    def |\n\S|\Z)", code, re.S):
        body = match.group(1)
        moves_in = body.count("keras.ops.moveaxis(x, 1, -1)")
        moves_back = body.count(", -1, 1)") + body.count("[:1] + (-1,))")  # or an (N, C, 1, 1) map flattened
        assert moves_in <= moves_back, body


# an attribute given one of several layers in __init__: whichever is built runs channels last
CHOICE = (
    HEADER
    + """
class RandomNet(nn.Module):
    def __init__(self, stride=2, transpose=True):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        if stride == 1:
            self.pool = nn.Identity()
        else:
            self.pool = nn.MaxPool2d(stride)
        if transpose:
            self.up = nn.ConvTranspose2d(4, 4, 2, stride=2)
        else:
            self.up = nn.Sequential(nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4))
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        x = self.up(self.pool(F.relu(self.conv(x))))
        return self.fc(x.mean((2, 3)))
"""
)


@pytest.mark.parametrize("defaults", ["stride=2, transpose=True", "stride=1, transpose=False"])
def test_an_attribute_with_alternative_layers_runs_channels_last(defaults, tmp_path):
    source = CHOICE.replace("stride=2, transpose=True", defaults)  # the branch the model builds
    result = _translate(source)
    assert not [d for d in result.diagnostics if d.code == "layout"], result.diagnostics
    call = _method(result.code, "RandomNet")
    assert call.count("keras.ops.moveaxis(") == 1, call  # in before the convolution; the mean renumbered
    assert "keras.ops.mean(x, axis=(1, 2))" in call, call
    assert 'data_format="channels_first"' not in result.code and "ChannelsFirst" not in result.code
    _verify(source, (2, 3, 8, 8), tmp_path)


# unet's decoder: an upsampling (any rank, torch's own index formulas) inside a container
UPSAMPLE = (
    HEADER
    + """
class RandomNet(nn.Module):
    def __init__(self, mode="nearest", align_corners=None):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.up = nn.Sequential(
            nn.Upsample(scale_factor=2, mode=mode, align_corners=align_corners), nn.Conv2d(4, 4, 1)
        )
        self.bilinear = nn.UpsamplingBilinear2d(size=(13, 11))
        self.nearest = nn.UpsamplingNearest2d(scale_factor=1.5)

    def forward(self, x):
        x = self.up(F.relu(self.conv(x)))
        return self.nearest(self.bilinear(x))
"""
)


@pytest.mark.parametrize("args", ['mode="nearest", align_corners=None', 'mode="bilinear", align_corners=True'])
def test_upsampling_runs_channels_last(args, tmp_path):
    source = UPSAMPLE.replace('mode="nearest", align_corners=None', args)
    result = _translate(source)
    assert not [d for d in result.diagnostics if d.code == "layout"], result.diagnostics
    call = _method(result.code, "RandomNet")
    assert call.count("keras.ops.moveaxis(") == 2, call  # in before the convolution, out on return
    assert "channels_first" not in result.code.split("class RandomNet")[1], result.code
    _verify(source, (2, 3, 6, 5), tmp_path)


# reductions and axis arguments inside a run: renumbered where provably right
REDUCTIONS = (
    HEADER
    + """
class RandomNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 4, 1)
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        x = self.conv(x)
        scale = x.mean(dim=(2, 3), keepdim=True)  # (N, C, 1, 1): channels last inside
        x = self.conv2(x * torch.sigmoid(scale)) + x.sum(1, keepdim=True) / x.size(2) + x.shape[-1]
        pooled = self.pool(x)
        pooled = torch.flatten(pooled, 1)  # (N, C, 1, 1) flattened: the same order in both layouts
        return self.fc(pooled) + x.mean((2, 3)) + torch.amax(x, dim=(-2, -1)) + x.sum(1).mean((1, 2))[:, None]
"""
)


def test_reductions_and_axes_are_renumbered_inside_a_run(tmp_path):
    result = _translate(REDUCTIONS)
    call = _method(result.code, "RandomNet")
    assert call.count("keras.ops.moveaxis(") == 1, call  # in before the first convolution only
    assert "keras.ops.mean(x, axis=(1, 2), keepdims=True)" in call, call
    assert "keras.ops.sum(x, axis=-1, keepdims=True) / keras.ops.shape(x)[1] + keras.ops.shape(x)[2]" in call, call
    assert "keras.ops.mean(keras.ops.sum(x, axis=-1), axis=(1, 2))" in call, call  # (N, H, W): as it is
    assert "keras.ops.max(x, axis=(1, 2))" in call, call
    _verify(REDUCTIONS, (2, 3, 6, 5), tmp_path)


# torchvision's resnet / mobilenet: a normalization class passed as an argument (default None)
NORM_LAYER = (
    HEADER
    + """
class Block(nn.Module):
    def __init__(self, cin, cout, norm_layer=None):
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn = norm_layer(cout)
        self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), norm_layer(cout))

    def forward(self, x):
        identity = self.shortcut(x)
        out = self.bn(self.conv(x))
        return F.relu(out + identity)


class RandomNet(nn.Module):
    def __init__(self, norm_layer=None):
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        self._norm_layer = norm_layer
        self.block = self._make_block(3, 4)
        self.fc = nn.Linear(4, 2)

    def _make_block(self, cin, cout):
        norm_layer = self._norm_layer
        return Block(cin, cout, norm_layer=norm_layer)

    def forward(self, x):
        return self.fc(self.block(x).mean((2, 3)))
"""
)


def test_a_normalization_class_held_in_a_parameter_runs_channels_last(tmp_path):
    result = _translate(NORM_LAYER)
    code = result.code
    assert "self.bn = channels_last_norm(norm_layer(cout))" in code, code
    assert "keras.layers.Conv2D(cout, 1, use_bias=False), channels_last_norm(norm_layer(cout))" in code, code
    block = _method(code, "Block")
    # Block is applied only by RandomNet: a class contract, so it takes and returns channels-last
    # tensors; the model moves the axis once, and the spatial mean keeps the order
    assert block.count("keras.ops.moveaxis(") == 0, block
    assert code.count("keras.ops.moveaxis(") == 1, code
    _verify(NORM_LAYER, (2, 3, 5, 5), tmp_path)


# torchvision's vgg: a list of layers grown in a loop by a module-level function, nn.Sequential(*layers)
GROWN_LIST = (
    HEADER
    + """
def make_layers(cfg, batch_norm=False):
    layers: list[nn.Module] = []
    in_channels = 3
    for v in cfg:
        if v == "M":
            layers += [nn.MaxPool2d(kernel_size=2, stride=2)]
        else:
            conv2d = nn.Conv2d(in_channels, v, kernel_size=3, padding=1)
            if batch_norm:
                layers += [conv2d, nn.BatchNorm2d(v), nn.ReLU(inplace=True)]
            else:
                layers.append(conv2d)
                layers.append(nn.ReLU(inplace=True))
            in_channels = v
    return nn.Sequential(*layers)


class RandomNet(nn.Module):
    def __init__(self, features=None):
        super().__init__()
        self.features = make_layers([4, "M", 6], batch_norm=True)
        self.fc = nn.Linear(6 * 3 * 2, 2)

    def forward(self, x):
        return self.fc(torch.flatten(self.features(x), 1))
"""
)


def test_a_list_grown_in_a_loop_runs_channels_last(tmp_path):
    result = _translate(GROWN_LIST)
    assert not [d for d in result.diagnostics if d.code == "layout"], result.diagnostics
    code = result.code
    assert "keras.Sequential([keras.layers.Permute((2, 3, 1)), *layers, keras.layers.Permute((3, 1, 2))])" in code
    assert "channels_first" not in code.split("def make_layers")[1] and "ChannelsFirst" not in code, code
    _verify(GROWN_LIST, (2, 3, 6, 4), tmp_path)
