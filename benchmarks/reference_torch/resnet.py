"""samples/tf/resnet.py by hand: stem, residual blocks (3x3 convs, projection shortcut where the
width or stride changes), global average pooling, a linear head. A stride-2 "same" convolution
pads (0, 1) as Keras does (nn.ZeroPad2d), so the network is the Keras one exactly."""

import torch
from torch import nn


def bn(channels):
    return nn.BatchNorm2d(channels, eps=1.001e-5, momentum=0.01)


class ResidualBlock(nn.Module):
    def __init__(self, in_channels, filters, stride=1):
        super().__init__()
        self.proj = None
        if stride != 1 or in_channels != filters:
            self.proj = nn.Sequential(nn.Conv2d(in_channels, filters, 1, stride=stride, bias=False), bn(filters))
        pad = nn.ZeroPad2d((0, 1, 0, 1)) if stride == 2 else nn.Identity()
        conv1 = nn.Conv2d(in_channels, filters, 3, stride=stride, padding=0 if stride == 2 else 1, bias=False)
        self.body = nn.Sequential(
            pad, conv1, bn(filters), nn.ReLU(), nn.Conv2d(filters, filters, 3, padding=1, bias=False), bn(filters)
        )

    def forward(self, x):
        shortcut = x if self.proj is None else self.proj(x)
        return torch.relu(shortcut + self.body(x))


class ResNet(nn.Module):
    def __init__(self, input_shape=(32, 32, 3), blocks=(1, 1, 1), widths=(16, 32, 64), num_classes=10):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(input_shape[-1], widths[0], 3, padding=1, bias=False), bn(widths[0]), nn.ReLU()
        )
        stages, channels = [], widths[0]
        for stage, (count, width) in enumerate(zip(blocks, widths)):
            for i in range(count):
                stages.append(ResidualBlock(channels, width, 2 if stage > 0 and i == 0 else 1))
                channels = width
        self.stages = nn.Sequential(*stages)
        self.logits = nn.Linear(channels, num_classes)

    def forward(self, x):
        x = self.stages(self.stem(x.permute(0, 3, 1, 2)))
        return self.logits(x.mean((2, 3)))


def build_resnet(input_shape=(32, 32, 3), blocks=(1, 1, 1), widths=(16, 32, 64), num_classes=10):
    return ResNet(input_shape, blocks, widths, num_classes)


def resnet8(num_classes=10):
    return build_resnet(blocks=(1, 1, 1), widths=(8, 16, 32), num_classes=num_classes)
