"""samples/tf/cnn.py by hand: (Conv2d, BatchNorm2d, ReLU, MaxPool2d) per filter count, Flatten, two Linear."""

from torch import nn


class Cnn(nn.Module):
    def __init__(self, input_shape=(28, 28, 1), num_classes=10, filters=(8, 16)):
        super().__init__()
        height, width, channels = input_shape
        blocks = []
        for f in filters:
            blocks += [
                nn.Conv2d(channels, f, 3, padding="same", bias=False),
                nn.BatchNorm2d(f, eps=1e-3, momentum=0.01),  # Keras' defaults
                nn.ReLU(),
                nn.MaxPool2d(2),
            ]
            channels, height, width = f, height // 2, width // 2
        self.features = nn.Sequential(*blocks)
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(channels * height * width, 32), nn.ReLU(), nn.Linear(32, num_classes)
        )

    def forward(self, x):
        return self.head(self.features(x.permute(0, 3, 1, 2)))  # NHWC in, channels first inside


def build_cnn(input_shape=(28, 28, 1), num_classes=10, filters=(8, 16)):
    return Cnn(input_shape, num_classes, filters)


def cnn_rgb(num_classes=10):
    return build_cnn((32, 32, 3), num_classes)
