"""samples/tf/unet.py by hand: double 3x3 convolutions, MaxPool2d down, ConvTranspose2d (or
Upsample + 1x1 convolution) up, skip connections by torch.cat, a 1x1 output convolution."""

import torch
from torch import nn


def double_conv(in_channels, filters):
    return nn.Sequential(
        nn.Conv2d(in_channels, filters, 3, padding=1), nn.ReLU(), nn.Conv2d(filters, filters, 3, padding=1), nn.ReLU()
    )


class UNet(nn.Module):
    def __init__(self, input_shape=(32, 32, 3), num_classes=2, base=8, upsample=False):
        super().__init__()
        self.down1 = double_conv(input_shape[-1], base)
        self.down2 = double_conv(base, base * 2)
        self.bottom = double_conv(base * 2, base * 4)
        self.pool = nn.MaxPool2d(2)
        self.ups, self.convs = nn.ModuleList(), nn.ModuleList()
        channels = base * 4
        for filters in (base * 2, base):
            if upsample:
                self.ups.append(nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(channels, filters, 1)))
            else:
                self.ups.append(nn.ConvTranspose2d(channels, filters, 2, stride=2))
            self.convs.append(double_conv(filters * 2, filters))
            channels = filters
        self.out = nn.Conv2d(channels, num_classes, 1)

    def forward(self, x):
        d1 = self.down1(x.permute(0, 3, 1, 2))
        d2 = self.down2(self.pool(d1))
        x = self.bottom(self.pool(d2))
        for skip, up, conv in zip((d2, d1), self.ups, self.convs):
            x = conv(torch.cat([skip, up(x)], 1))
        return self.out(x).permute(0, 2, 3, 1)


def build_unet(input_shape=(32, 32, 3), num_classes=2, base=8, upsample=False):
    return UNet(input_shape, num_classes, base, upsample)


def unet_upsample(num_classes=2):
    return build_unet(num_classes=num_classes, upsample=True)
