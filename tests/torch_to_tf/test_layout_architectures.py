"""PyTorch -> Keras layout on the patterns of real architectures (written for these tests after
torchvision's designs, not copied): each translation is checked for its moves of the channel axis
(``keras.ops.moveaxis`` calls), for no channels-first layer left, and numerically against PyTorch
(``fwtranslate.verify``: inference, training mode, gradients, one SGD step)."""

from __future__ import annotations

import re

import fwtranslate
from fwtranslate.testing.random_models import RandomModel
from fwtranslate.testing.torch_models import check

HEADER = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n\n"

# torchvision's ResNet: the block class is a value (resnet() -> ResNet(block, ...) ->
# self._make_layer(block, ...) -> block(...)), the blocks go through nn.Sequential(*layers), the
# downsample is built by _make_layer and passed to the block's constructor, norm_layer is a class
RESNET = (
    HEADER
    + """
def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, norm_layer=None):
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class Bottleneck(nn.Module):
    expansion = 2

    def __init__(self, inplanes, planes, stride=1, downsample=None, norm_layer=None):
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = norm_layer(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = norm_layer(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return F.relu(out + identity)


class ResNet(nn.Module):
    def __init__(self, block, layers, num_classes=3, norm_layer=None):
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        self._norm_layer = norm_layer
        self.inplanes = 4
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(self.inplanes)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 4, layers[0])
        self.layer2 = self._make_layer(block, 6, layers[1], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(6 * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, Bottleneck):
                nn.init.constant_(m.bn3.weight, 0.5)

    def _make_layer(self, block, planes, blocks, stride=1):
        norm_layer = self._norm_layer
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride), norm_layer(planes * block.expansion))
        layers = []
        layers.append(block(self.inplanes, planes, stride, downsample, norm_layer))
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, norm_layer=norm_layer))
        return nn.Sequential(*layers)

    def _forward_impl(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        x = self.layer2(self.layer1(x))
        return self.fc(torch.flatten(self.avgpool(x), 1))

    def forward(self, x):
        return self._forward_impl(x)


def _resnet(block, layers, **kwargs):
    return ResNet(block, layers, **kwargs)


def RandomNet():
    return _resnet(BasicBlock, [2, 1])


def bottleneck_net():
    return _resnet(Bottleneck, [1, 1])
"""
)


def _translate(source: str):
    result = fwtranslate.translate(source, "tf", path="net.py")
    assert result.ok, "\n".join(d.format() for d in result.diagnostics)
    return result


def _moves(code: str) -> int:
    """The channel-axis moves the model code makes (the support code's own are not counted)."""
    body = code[code.index("def conv3x3") :] if "def conv3x3" in code else code
    return body.count("keras.ops.moveaxis(") + body.count("keras.layers.Permute(")


def _verify(source: str, shape, tmp_path, check_training: bool = True) -> None:
    """One drawn input (CI time); ``check_training``: also training mode, gradients, an SGD step."""
    outcome = check(RandomModel(source, shape, "conv"), tmp_path, examples=1, check_training=check_training)
    assert outcome.stage == "ok", outcome.detail


def test_resnet_with_the_block_class_as_a_value_moves_the_axis_once(tmp_path):
    result = _translate(RESNET)
    code = result.code
    assert not [d for d in result.diagnostics if d.code == "layout"], result.diagnostics
    assert _moves(code) == 1, code  # into the stem; the (N, C, 1, 1) map flattens in either order
    assert "channels_first" not in code.split("def conv3x3")[1] and "ChannelsFirstConv" not in code, code
    # an instance built from the parameter is adapted: another caller's class gets the axis moved around it
    assert code.count("channels_last_block(block(") == 2, code
    assert re.search(r"downsample = keras\.Sequential\(\[conv1x1\(.*\), channels_last_norm\(", code), code
    _verify(RESNET, (2, 3, 16, 16), tmp_path)
    # the same code serves the bottleneck network (verified by the benchmarks: one CI verify here)
    assert (
        "def bottleneck_net" in code and "# fwtranslate: layout=torch; channels-last in: BasicBlock, Bottleneck" in code
    )


def test_a_class_passed_as_a_value_and_used_otherwise_keeps_pytorchs_order():
    """A class value that goes where the analysis cannot follow (returned by a function) may reach
    any ``block(...)``: no block class takes channels-last tensors, and no layer passed to a block's
    constructor is built channels last (each block moves the axis itself, PyTorch's order between)."""
    source = RESNET.replace(
        "def bottleneck_net():", "def block_class():\n    return BasicBlock\n\n\ndef bottleneck_net():"
    )
    source = source.replace("return _resnet(BasicBlock, [2, 1])", "return _resnet(block_class(), [2, 1])")
    code = _translate(source).code
    assert "channels_last_block(" not in code.split("def conv3x3")[1] and "channels-last in" not in code, code
    assert "keras.Sequential([keras.layers.Permute((2, 3, 1)), conv1x1(" in code, code  # the downsample


# EfficientNet / MobileNet squeeze-excitation written with functions, and the functional spatial
# ops inside a run: F.interpolate, F.adaptive_avg_pool2d / adaptive_max_pool2d, x.mean([2, 3])
FUNCTIONAL = (
    HEADER
    + """
class SqueezeExcitation(nn.Module):
    def __init__(self, c, squeeze):
        super().__init__()
        self.fc1 = nn.Conv2d(c, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, c, 1)

    def forward(self, x):
        scale = F.adaptive_avg_pool2d(x, 1)
        scale = torch.sigmoid(self.fc2(F.relu(self.fc1(scale))))
        return x * scale


class RandomNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.se = SqueezeExcitation(4, 2)
        self.conv2 = nn.Conv2d(4, 4, 1)
        self.fc = nn.Linear(8, 2)

    def forward(self, x):
        x = self.conv(x)
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        x = self.se(x)
        x = self.conv2(x * x.mean([2, 3], keepdim=True))
        x = F.interpolate(x, size=(5, 7), mode="bilinear")
        pooled = torch.cat([F.adaptive_avg_pool2d(x, 1), F.adaptive_max_pool2d(x, (1, 1))], 1)
        return self.fc(pooled.flatten(1)) + F.adaptive_avg_pool2d(x, (2, 3)).mean((2, 3))[:, :2]
"""
)


def test_functional_spatial_ops_and_squeeze_excitation_run_channels_last(tmp_path):
    result = _translate(FUNCTIONAL)
    code = result.code.split("class SqueezeExcitation")[1]
    # in before the first convolution; the concatenated (N, 8, 1, 1) maps back before the flatten
    assert _moves(code) == 2, code
    assert "channels_first" not in code and "ChannelsFirst" not in code, code
    assert (
        'torch_interpolate(x, scale_factor=2, mode="bilinear", align_corners=False, data_format="channels_last")'
        in code
    )
    assert 'keras.ops.image.resize(x, (5, 7), interpolation="bilinear")' in code, code
    assert "scale = keras.ops.mean(x, axis=(1, 2), keepdims=True)" in code, code  # the block takes channels last
    assert 'torch_adaptive_pool(x, (2, 3), 2, data_format="channels_last")' in code, code
    _verify(FUNCTIONAL, (2, 3, 5, 6), tmp_path, check_training=False)  # no batch norm: inference says it
