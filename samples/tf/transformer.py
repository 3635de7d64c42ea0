"""A Transformer encoder classifier written with subclassed Keras layers.

TransformerBlock (a keras.layers.Layer): MultiHeadAttention, LayerNormalization, a Dense
feed-forward with GELU, Dropout, residual connections. TransformerClassifier (a keras.Model):
token embedding plus a learned positional embedding made with add_weight, blocks, mean pooling.
"""
import keras
from keras import layers, ops


class TransformerBlock(layers.Layer):
    """A post-norm encoder block: x + attention(x), LayerNorm, x + MLP(x), LayerNorm."""

    def __init__(self, dim=64, num_heads=4, mlp_ratio=2, dropout=0.1, **kwargs):
        super().__init__(**kwargs)
        self.attn = layers.MultiHeadAttention(num_heads=num_heads, key_dim=dim // num_heads, dropout=dropout)
        self.norm1 = layers.LayerNormalization(epsilon=1e-5)
        self.fc1 = layers.Dense(dim * mlp_ratio, activation="gelu")
        self.fc2 = layers.Dense(dim)
        self.norm2 = layers.LayerNormalization(epsilon=1e-5)
        self.drop = layers.Dropout(dropout)

    def call(self, x, training=False):
        h = self.attn(x, x, training=training)
        x = self.norm1(x + self.drop(h, training=training))
        h = self.fc2(self.fc1(x))
        return self.norm2(x + self.drop(h, training=training))


class TransformerClassifier(keras.Model):
    """Token ids (batch, length) -> class logits (batch, num_classes)."""

    def __init__(self, vocab_size=1000, max_len=64, dim=64, depth=2, num_heads=4, num_classes=4, dropout=0.0,
                 **kwargs):
        super().__init__(**kwargs)
        self.max_len, self.dim = max_len, dim
        self.embed = layers.Embedding(vocab_size, dim)
        self.blocks = [TransformerBlock(dim, num_heads, dropout=dropout) for _ in range(depth)]
        self.norm = layers.LayerNormalization(epsilon=1e-5)
        self.head = layers.Dense(num_classes)

    def build(self, input_shape):
        self.pos = self.add_weight(shape=(1, self.max_len, self.dim), initializer="zeros", name="pos")
        super().build(input_shape)

    def call(self, ids, training=False):
        length = ops.shape(ids)[1]
        x = self.embed(ids) + self.pos[:, :length, :]
        for block in self.blocks:
            x = block(x, training=training)
        return self.head(ops.mean(self.norm(x), axis=1))


def tiny_transformer(num_classes=4):
    """A second configuration: vocabulary 500, one block, max_len 32."""
    return TransformerClassifier(vocab_size=500, max_len=32, dim=32, depth=1, num_heads=2, num_classes=num_classes)
