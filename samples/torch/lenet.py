"""A LeNet-style convolutional network for 28x28 grayscale digits.

Two conv -> batch norm -> ReLU -> max-pool stages, then a flattened fully connected head.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class LeNet(nn.Module):
    def __init__(self, in_channels: int = 1, num_classes: int = 10):
        super().__init__()
        # 28x28 -> conv5 (pad 2) -> 28x28 -> pool -> 14x14
        self.conv1 = nn.Conv2d(in_channels, 6, kernel_size=5, padding=2)
        self.bn1 = nn.BatchNorm2d(6)
        # 14x14 -> conv5 -> 10x10 -> pool -> 5x5
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.bn2 = nn.BatchNorm2d(16)
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))))
        x = self.pool(F.relu(self.bn2(self.conv2(x))))
        x = x.view(x.size(0), -1)  # (N, 16 * 5 * 5)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def lenet(num_classes: int = 10) -> LeNet:
    """A LeNet for single-channel input."""
    return LeNet(1, num_classes)
