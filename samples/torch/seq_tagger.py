"""A per-token sequence tagger (part-of-speech / named-entity style).

Token ids are embedded, run through a bidirectional LSTM and then a bidirectional GRU
(both batch-first), and every position is classified by a linear layer.
"""
import torch
import torch.nn as nn


class SeqTagger(nn.Module):
    def __init__(self, vocab_size: int = 1000, embed_dim: int = 32, hidden: int = 32,
                 num_tags: int = 9, dropout: float = 0.1, padding_idx: int = 0):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=padding_idx)
        self.lstm = nn.LSTM(embed_dim, hidden, batch_first=True, bidirectional=True)
        # the GRU reads both LSTM directions, concatenated
        self.gru = nn.GRU(2 * hidden, hidden, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(2 * hidden, num_tags)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        # tokens: (batch, seq_len) int64 -> tag logits: (batch, seq_len, num_tags)
        x = self.embedding(tokens)
        x, _ = self.lstm(x)  # the final (h, c) states are not needed for tagging
        x, _ = self.gru(x)
        x = self.dropout(x)
        return self.classifier(x)


def small_tagger() -> SeqTagger:
    """A tagger over a 500-token vocabulary with 5 tags."""
    return SeqTagger(vocab_size=500, embed_dim=16, hidden=16, num_tags=5)
