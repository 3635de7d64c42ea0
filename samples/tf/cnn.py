"""A small convolutional classifier written with the Keras functional API.

keras.Input -> (Conv2D, BatchNormalization, ReLU, MaxPooling2D) x 2 -> Flatten -> Dense ->
keras.Model. Images are channels last (N, H, W, C), Keras' default.
"""
import keras
from keras import layers


def build_cnn(input_shape=(28, 28, 1), num_classes=10, filters=(8, 16)):
    """Two conv blocks and a classifier head; logits out."""
    inputs = keras.Input(shape=input_shape)
    x = inputs
    for f in filters:
        x = layers.Conv2D(f, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(32, activation="relu")(x)
    outputs = layers.Dense(num_classes)(x)
    return keras.Model(inputs, outputs, name="cnn")


def cnn_rgb(num_classes=10):
    """A second configuration: 32x32 RGB images."""
    return build_cnn((32, 32, 3), num_classes)
