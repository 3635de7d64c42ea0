"""A multilayer perceptron written as a keras.Sequential (a sample of the Keras -> PyTorch direction).

Dense layers with an ``activation=`` argument, Dropout and an optional LayerNormalization per
hidden layer; the input size is declared with keras.Input.
"""
import keras
from keras import layers


def build_mlp(in_features=32, hidden=(64, 64), num_classes=10, activation="relu", dropout=0.1, layer_norm=True):
    """A classifier: hidden Dense layers (each optionally followed by LayerNormalization),
    Dropout, and a linear head returning logits."""
    stack = [keras.Input((in_features,))]
    for width in hidden:
        stack.append(layers.Dense(width, activation=activation))
        if layer_norm:
            stack.append(layers.LayerNormalization(epsilon=1e-5))
        stack.append(layers.Dropout(dropout))
    stack.append(layers.Dense(num_classes))
    return keras.Sequential(stack, name="mlp")


def mlp_gelu(in_features=32, num_classes=10):
    """A second configuration: GELU activations, no LayerNormalization."""
    return build_mlp(in_features, (48, 48), num_classes, activation="gelu", layer_norm=False)
