"""A small ResNet made of basic blocks, for 32x32 colour images (CIFAR-sized).

Stages double the channels and halve the resolution; a block that changes shape gets a
1x1 convolution (with batch norm) on its shortcut so the residual addition lines up.
"""
import torch
import torch.nn as nn


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """3x3 convolution with padding 1 (keeps the size when stride is 1)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = conv3x3(in_planes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or in_planes != planes:
            # projection shortcut: match channels and resolution
            self.downsample = nn.Sequential(
                nn.Conv2d(in_planes, planes, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes),
            )

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity  # the residual connection
        return self.relu(out)


class ResNet(nn.Module):
    """Stem conv, then one stage per entry of ``layers``, global pooling and a classifier."""

    def __init__(self, layers=(1, 1, 1), widths=(16, 32, 64), num_classes: int = 10):
        super().__init__()
        self.in_planes = widths[0]
        self.conv1 = conv3x3(3, widths[0])
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        stages = []
        for i, (blocks, width) in enumerate(zip(layers, widths)):
            stages.append(self._make_stage(width, blocks, stride=1 if i == 0 else 2))
        self.stages = nn.Sequential(*stages)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(widths[-1] * BasicBlock.expansion, num_classes)

    def _make_stage(self, planes: int, blocks: int, stride: int) -> nn.Sequential:
        # only the first block of a stage downsamples
        layers = [BasicBlock(self.in_planes, planes, stride)]
        self.in_planes = planes
        for _ in range(1, blocks):
            layers.append(BasicBlock(planes, planes))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.stages(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.fc(x)


def resnet8(num_classes: int = 10) -> ResNet:
    """Three stages of one basic block each (about 78k parameters)."""
    return ResNet((1, 1, 1), (16, 32, 64), num_classes)
