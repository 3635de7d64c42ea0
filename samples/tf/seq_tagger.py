"""A sequence tagger: token ids -> per-token tag logits, built as a keras.Sequential.

Embedding, a bidirectional LSTM returning the whole sequence, Dropout and a per-token Dense.
"""
import keras
from keras import layers


def build_tagger(vocab_size=1000, embed_dim=32, hidden=32, num_tags=9, dropout=0.1):
    """(batch, length) int token ids -> (batch, length, num_tags) logits."""
    return keras.Sequential([
        layers.Embedding(vocab_size, embed_dim),
        layers.Bidirectional(layers.LSTM(hidden, return_sequences=True)),
        layers.Dropout(dropout),
        layers.Dense(num_tags),
    ], name="seq_tagger")


def small_tagger():
    """A second configuration: vocabulary 500, 5 tags."""
    return build_tagger(vocab_size=500, embed_dim=16, hidden=16, num_tags=5)
