"""A small Transformer encoder for sequence classification.

Token embeddings plus a learned positional embedding feed a stack of pre-norm encoder
blocks (self-attention and a GELU feed-forward network, each with a residual connection).
The sequence is mean-pooled and classified.
"""
import torch
import torch.nn as nn


class EncoderBlock(nn.Module):
    """Pre-norm block: x + attn(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: int = 4, dropout: float = 0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, num_heads, dropout=dropout, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(
            nn.Linear(dim, dim * mlp_ratio),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(dim * mlp_ratio, dim),
        )

    def forward(self, x):
        h = self.norm1(x)
        attn_out, _ = self.attn(h, h, h, need_weights=False)
        x = x + attn_out
        x = x + self.mlp(self.norm2(x))
        return x


class TransformerClassifier(nn.Module):
    def __init__(self, vocab_size: int = 1000, max_len: int = 64, dim: int = 64, depth: int = 2,
                 num_heads: int = 4, num_classes: int = 4, dropout: float = 0.0):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab_size, dim)
        # learned absolute positions, one vector per position up to max_len
        self.pos_embedding = nn.Parameter(torch.zeros(1, max_len, dim))
        self.blocks = nn.ModuleList([EncoderBlock(dim, num_heads, dropout=dropout) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, tokens):
        # tokens: (batch, seq_len) int64, seq_len <= max_len
        seq_len = tokens.shape[1]
        x = self.token_embedding(tokens) + self.pos_embedding[:, :seq_len]
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)
        x = x.mean(dim=1)  # mean pooling over the sequence
        return self.head(x)


def tiny_transformer(num_classes: int = 4) -> TransformerClassifier:
    """Two blocks of width 32 with 2 heads."""
    return TransformerClassifier(vocab_size=500, max_len=32, dim=32, depth=2, num_heads=2,
                                 num_classes=num_classes)
