"""A small multi-layer perceptron for tabular classification.

Each hidden block is Linear -> (LayerNorm) -> activation -> Dropout. The activation is
chosen by name so the same class covers the ReLU and GELU variants.
"""
import torch
import torch.nn as nn


class MLPBlock(nn.Module):
    """One hidden layer: a projection, optional normalization, a non-linearity, dropout."""

    def __init__(self, in_features: int, out_features: int, activation: str = "relu",
                 dropout: float = 0.1, layer_norm: bool = True):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        # LayerNorm is optional: an Identity keeps forward() free of branches
        self.norm = nn.LayerNorm(out_features) if layer_norm else nn.Identity()
        if activation == "gelu":
            self.act = nn.GELU()
        else:
            self.act = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.linear(x)
        x = self.norm(x)
        x = self.act(x)
        return self.dropout(x)


class MLP(nn.Module):
    """in_features -> hidden sizes -> num_classes logits."""

    def __init__(self, in_features: int = 32, hidden: tuple = (64, 64), num_classes: int = 10,
                 activation: str = "relu", dropout: float = 0.1, layer_norm: bool = True):
        super().__init__()
        blocks = []
        width = in_features
        for size in hidden:
            blocks.append(MLPBlock(width, size, activation, dropout, layer_norm))
            width = size
        self.body = nn.Sequential(*blocks)
        self.head = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (batch, in_features) -> logits: (batch, num_classes)
        return self.head(self.body(x))


def mlp_gelu(in_features: int = 32, num_classes: int = 10) -> MLP:
    """The GELU variant, without LayerNorm."""
    return MLP(in_features, (128, 64), num_classes, activation="gelu", layer_norm=False)
