"""Learning to rank from pairs (batch, 2, features): one scorer applied to both items,
MarginRankingLoss (target +1: the first ranks higher), plain SGD."""

import numpy as np
import torch
import torch.nn as nn


class Scorer(nn.Module):
    def __init__(self):
        super().__init__()
        self.score = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 1))

    def forward(self, pairs):
        return self.score(pairs[:, 0]).squeeze(-1), self.score(pairs[:, 1]).squeeze(-1)


def build_model():
    torch.manual_seed(0)
    return Scorer()


def batches(epochs=4, steps=5, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(5)
    data = []
    for _ in range(steps):
        pairs = rng.standard_normal((16, 2, 5))
        target = np.sign(pairs[:, 0] @ w - pairs[:, 1] @ w)
        data.append((pairs.astype(np.float32), target.astype(np.float32)))
    for _ in range(epochs):
        yield from data


def train(model, epochs=4):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    criterion = nn.MarginRankingLoss(margin=0.5)
    losses = []
    for _epoch in range(epochs):
        model.train()
        for pairs, target in batches(epochs=1):
            pairs, target = torch.from_numpy(pairs), torch.from_numpy(target)
            optimizer.zero_grad()
            first, second = model(pairs)
            loss = criterion(first, second, target)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return losses


if __name__ == "__main__":
    print(train(build_model()))
