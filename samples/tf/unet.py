"""A small U-Net written with the Keras functional API (channels last).

Double 3x3 convolutions, MaxPooling2D on the way down, Conv2DTranspose (or UpSampling2D + a
1x1 convolution) on the way up, Concatenate skip connections, a 1x1 output convolution.
"""
import keras
from keras import layers


def double_conv(x, filters):
    """(Conv2D 3x3 same, ReLU) twice."""
    x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    return layers.Conv2D(filters, 3, padding="same", activation="relu")(x)


def build_unet(input_shape=(32, 32, 3), num_classes=2, base=8, upsample=False):
    """Two downsampling levels; height and width must be divisible by 4."""
    inputs = keras.Input(shape=input_shape)
    d1 = double_conv(inputs, base)
    d2 = double_conv(layers.MaxPooling2D(2)(d1), base * 2)
    bottom = double_conv(layers.MaxPooling2D(2)(d2), base * 4)
    skips = [d2, d1]
    x = bottom
    for skip, filters in zip(skips, (base * 2, base)):
        if upsample:
            x = layers.UpSampling2D(2)(x)
            x = layers.Conv2D(filters, 1)(x)
        else:
            x = layers.Conv2DTranspose(filters, 2, strides=2)(x)
        x = layers.Concatenate(axis=-1)([skip, x])
        x = double_conv(x, filters)
    outputs = layers.Conv2D(num_classes, 1)(x)
    return keras.Model(inputs, outputs, name="unet")


def unet_upsample(num_classes=2):
    """A second configuration: UpSampling2D + 1x1 convolution instead of Conv2DTranspose."""
    return build_unet(num_classes=num_classes, upsample=True)
