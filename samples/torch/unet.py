"""A small U-Net for image segmentation.

The encoder halves the resolution with max pooling and doubles the channels; the decoder
upsamples (a transposed convolution, or nearest-neighbour upsampling followed by a 1x1
convolution), concatenates the encoder's feature map of the same size along the channel
dimension and applies another double convolution. A 1x1 convolution gives per-pixel logits.
"""
import torch
import torch.nn as nn


class DoubleConv(nn.Module):
    """(3x3 conv -> batch norm -> ReLU) twice; the size is kept."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, x):
        return self.block(x)


class Down(nn.Module):
    """Max pooling, then a double convolution."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.pool = nn.MaxPool2d(2)
        self.conv = DoubleConv(in_channels, out_channels)

    def forward(self, x):
        return self.conv(self.pool(x))


class Up(nn.Module):
    """Upsample by 2, concatenate the skip connection, double convolution."""

    def __init__(self, in_channels: int, out_channels: int, bilinear: bool = False):
        super().__init__()
        if bilinear:
            self.up = nn.Sequential(
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.Conv2d(in_channels, in_channels // 2, kernel_size=1),
            )
        else:
            self.up = nn.ConvTranspose2d(in_channels, in_channels // 2, kernel_size=2, stride=2)
        self.conv = DoubleConv(in_channels, out_channels)

    def forward(self, x, skip):
        x = self.up(x)
        x = torch.cat([skip, x], dim=1)  # channels first: dim 1 is the channel axis
        return self.conv(x)


class UNet(nn.Module):
    def __init__(self, in_channels: int = 3, num_classes: int = 2, base: int = 8, bilinear: bool = False):
        super().__init__()
        self.inc = DoubleConv(in_channels, base)
        self.down1 = Down(base, base * 2)
        self.down2 = Down(base * 2, base * 4)
        self.up1 = Up(base * 4, base * 2, bilinear)
        self.up2 = Up(base * 2, base, bilinear)
        self.outc = nn.Conv2d(base, num_classes, kernel_size=1)

    def forward(self, x):
        # x: (N, C, H, W) with H and W divisible by 4
        x1 = self.inc(x)
        x2 = self.down1(x1)
        x3 = self.down2(x2)
        x = self.up1(x3, x2)
        x = self.up2(x, x1)
        return self.outc(x)


def unet_upsample(num_classes: int = 2) -> UNet:
    """The variant that upsamples with nn.Upsample instead of transposed convolutions."""
    return UNet(3, num_classes, base=8, bilinear=True)
