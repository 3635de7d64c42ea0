"""samples/tf/transformer.py by hand: post-norm encoder blocks (nn.MultiheadAttention, LayerNorm,
a GELU feed-forward, Dropout), a learned positional embedding, mean pooling, a linear head."""

import torch
from torch import nn


class TransformerBlock(nn.Module):
    def __init__(self, dim=64, num_heads=4, mlp_ratio=2, dropout=0.1):
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, num_heads, dropout=dropout, batch_first=True)
        self.norm1 = nn.LayerNorm(dim, eps=1e-5)
        self.fc1 = nn.Linear(dim, dim * mlp_ratio)
        self.fc2 = nn.Linear(dim * mlp_ratio, dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-5)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        h, _ = self.attn(x, x, x, need_weights=False)
        x = self.norm1(x + self.drop(h))
        h = self.fc2(nn.functional.gelu(self.fc1(x)))
        return self.norm2(x + self.drop(h))


class TransformerClassifier(nn.Module):
    def __init__(self, vocab_size=1000, max_len=64, dim=64, depth=2, num_heads=4, num_classes=4, dropout=0.0):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim)
        self.pos = nn.Parameter(torch.zeros(1, max_len, dim))
        self.blocks = nn.Sequential(*(TransformerBlock(dim, num_heads, dropout=dropout) for _ in range(depth)))
        self.norm = nn.LayerNorm(dim, eps=1e-5)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, ids):
        x = self.embed(ids) + self.pos[:, : ids.shape[1], :]
        return self.head(self.norm(self.blocks(x)).mean(1))


def tiny_transformer(num_classes=4):
    return TransformerClassifier(vocab_size=500, max_len=32, dim=32, depth=1, num_heads=2, num_classes=num_classes)
