"""A classifier with some unlabelled rows (label -1, ignored by the loss): SGD with momentum and
dampening, OneCycleLR stepped after every batch, gradient values clipped."""

import numpy as np
import torch
import torch.nn as nn


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(6, 16), nn.GELU(), nn.Linear(16, 4))

    def forward(self, x):
        return self.layers(x)


def build_model():
    torch.manual_seed(0)
    return MLP()


def batches(epochs=4, steps=5, seed=0):
    rng = np.random.default_rng(seed)
    data = []
    for _ in range(steps):
        y = rng.integers(0, 4, size=(16,)).astype(np.int64)
        y[rng.random(16) < 0.25] = -1
        data.append((rng.standard_normal((16, 6)).astype(np.float32), y))
    for _ in range(epochs):
        yield from data


def train(model, epochs=4):
    steps_per_epoch = 5
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, dampening=0.1)
    criterion = nn.CrossEntropyLoss(ignore_index=-1)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=0.2, epochs=epochs, steps_per_epoch=steps_per_epoch
    )
    losses = []
    model.train()
    for _epoch in range(epochs):
        for x, y in batches(epochs=1, steps=steps_per_epoch):
            x, y = torch.from_numpy(x), torch.from_numpy(y)
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            torch.nn.utils.clip_grad_value_(model.parameters(), clip_value=0.5)
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
    return losses


if __name__ == "__main__":
    print(train(build_model()))
