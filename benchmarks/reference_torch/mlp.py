"""samples/tf/mlp.py by hand: Linear + activation [+ LayerNorm] + Dropout per hidden layer, a linear head."""

from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU}  # Keras' "gelu" is the exact (erf) one, as nn.GELU()


def build_mlp(in_features=32, hidden=(64, 64), num_classes=10, activation="relu", dropout=0.1, layer_norm=True):
    layers: list[nn.Module] = []
    width_in = in_features
    for width in hidden:
        layers += [nn.Linear(width_in, width), ACTIVATIONS[activation]()]
        if layer_norm:
            layers.append(nn.LayerNorm(width, eps=1e-5))
        layers.append(nn.Dropout(dropout))
        width_in = width
    layers.append(nn.Linear(width_in, num_classes))
    return nn.Sequential(*layers)


def mlp_gelu(in_features=32, num_classes=10):
    return build_mlp(in_features, (48, 48), num_classes, activation="gelu", layer_norm=False)
