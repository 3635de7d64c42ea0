"""samples/tf/seq_tagger.py by hand: Embedding, bidirectional LSTM (whole sequence), Dropout, a
per-token Linear."""

from torch import nn


class Tagger(nn.Module):
    def __init__(self, vocab_size=1000, embed_dim=32, hidden=32, num_tags=9, dropout=0.1):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.lstm = nn.LSTM(embed_dim, hidden, batch_first=True, bidirectional=True)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(2 * hidden, num_tags)

    def forward(self, ids):
        x, _ = self.lstm(self.embed(ids))
        return self.head(self.drop(x))


def build_tagger(vocab_size=1000, embed_dim=32, hidden=32, num_tags=9, dropout=0.1):
    return Tagger(vocab_size, embed_dim, hidden, num_tags, dropout)


def small_tagger():
    return build_tagger(vocab_size=500, embed_dim=16, hidden=16, num_tags=5)
