"""Gradient accumulation: SGD with momentum steps every 2 batches on the summed gradients of
the losses divided by 2, clipped by their global norm; the step count is kept across epochs."""

import numpy as np
import torch
from torch import nn

ACCUMULATE = 2


def build_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 12), nn.ReLU(), nn.Linear(12, 3))


def batches(epochs=4, steps=5, seed=0):
    rng = np.random.default_rng(seed)
    data = []
    for _ in range(steps):
        x = rng.standard_normal((8, 5)).astype(np.float32)
        data.append((x, rng.integers(0, 3, 8).astype(np.int64)))
    for _ in range(epochs):
        yield from data


def train(model, epochs=4):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    criterion = nn.CrossEntropyLoss()
    losses = []
    model.train()
    optimizer.zero_grad()
    for i, (x, y) in enumerate(batches(epochs=epochs)):
        x, y = torch.tensor(x), torch.tensor(y)
        loss = criterion(model(x), y) / ACCUMULATE
        loss.backward()
        if (i + 1) % ACCUMULATE == 0:
            nn.utils.clip_grad_norm_(model.parameters(), 0.5)
            optimizer.step()
            optimizer.zero_grad()
        losses.append(loss.item())
    return losses


if __name__ == "__main__":
    print(train(build_model()))
