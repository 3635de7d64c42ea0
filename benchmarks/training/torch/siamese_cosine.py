"""A siamese embedding network on pairs (batch, 2, features): CosineEmbeddingLoss with a margin
on the two embeddings, Adam, targets +1 (similar) / -1 (dissimilar)."""

import numpy as np
import torch
import torch.nn as nn


class Siamese(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 4))

    def forward(self, pairs):
        return self.embed(pairs[:, 0]), self.embed(pairs[:, 1])


def build_model():
    torch.manual_seed(0)
    return Siamese()


def batches(epochs=4, steps=5, seed=0):
    rng = np.random.default_rng(seed)
    data = []
    for _ in range(steps):
        a = rng.standard_normal((16, 6))
        similar = rng.random(16) < 0.5
        b = np.where(similar[:, None], a + 0.1 * rng.standard_normal((16, 6)), rng.standard_normal((16, 6)))
        pairs = np.stack([a, b], axis=1).astype(np.float32)
        data.append((pairs, np.where(similar, 1.0, -1.0).astype(np.float32)))
    for _ in range(epochs):
        yield from data


def train(model, epochs=4):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    criterion = nn.CosineEmbeddingLoss(margin=0.2)
    losses = []
    model.train()
    for _epoch in range(epochs):
        for pairs, target in batches(epochs=1):
            pairs, target = torch.from_numpy(pairs), torch.from_numpy(target)
            optimizer.zero_grad()
            left, right = model(pairs)
            loss = criterion(left, right, target)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return losses


if __name__ == "__main__":
    print(train(build_model()))
