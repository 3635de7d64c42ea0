"""A ResNet-style network written as a functional builder: a helper that adds one residual
block to the graph, called in a loop, in the style of keras.applications' ResNet code.

BatchNormalization gets its axis from a ``bn_axis`` variable (3: channels last), blocks that
change the width or stride get a 1x1 convolution shortcut, and the head is
GlobalAveragePooling2D + Dense.
"""
import keras
from keras import layers


def residual_block(x, filters, stride=1, bn_axis=3, name="block"):
    """conv3x3-BN-ReLU-conv3x3-BN, plus the (projected) input, then ReLU."""
    shortcut = x
    if stride != 1 or x.shape[bn_axis] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=name + "_proj")(x)
        shortcut = layers.BatchNormalization(axis=bn_axis, epsilon=1.001e-5, name=name + "_proj_bn")(shortcut)
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False, name=name + "_conv1")(x)
    y = layers.BatchNormalization(axis=bn_axis, epsilon=1.001e-5, name=name + "_bn1")(y)
    y = layers.Activation("relu", name=name + "_relu1")(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=name + "_conv2")(y)
    y = layers.BatchNormalization(axis=bn_axis, epsilon=1.001e-5, name=name + "_bn2")(y)
    y = layers.Add(name=name + "_add")([shortcut, y])
    return layers.Activation("relu", name=name + "_out")(y)


def build_resnet(input_shape=(32, 32, 3), blocks=(1, 1, 1), widths=(16, 32, 64), num_classes=10):
    """A stem convolution, one stage per width (the first block of each stage after the first
    has stride 2), global average pooling and a linear head."""
    bn_axis = 3 if keras.config.image_data_format() == "channels_last" else 1
    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(widths[0], 3, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = layers.BatchNormalization(axis=bn_axis, epsilon=1.001e-5, name="stem_bn")(x)
    x = layers.Activation("relu", name="stem_relu")(x)
    for stage, (count, width) in enumerate(zip(blocks, widths)):
        for i in range(count):
            stride = 2 if stage > 0 and i == 0 else 1
            x = residual_block(x, width, stride, bn_axis, name=f"stage{stage + 1}_block{i + 1}")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name="resnet")


def resnet8(num_classes=10):
    """A second configuration: one block per stage, narrower."""
    return build_resnet(blocks=(1, 1, 1), widths=(8, 16, 32), num_classes=num_classes)
