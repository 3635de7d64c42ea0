"""Robust regression: HuberLoss, Adadelta, ReduceLROnPlateau stepped with the validation loss
(computed under torch.no_grad in eval mode)."""

import numpy as np
import torch
import torch.nn as nn


class Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(5, 16)
        self.out = nn.Linear(16, 1)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x)))


def build_model():
    torch.manual_seed(0)
    return Regressor()


def batches(epochs=4, steps=5, seed=0):
    rng = np.random.default_rng(seed)
    data = []
    for _ in range(steps):
        x = rng.standard_normal((16, 5)).astype(np.float32)
        noise = rng.standard_t(2, size=(16, 1))  # heavy tails: outliers
        data.append((x, (np.sum(x, axis=1, keepdims=True) + noise).astype(np.float32)))
    for _ in range(epochs):
        yield from data


def validate(model, criterion):
    model.eval()
    total = 0.0
    with torch.no_grad():
        for x, y in batches(epochs=1, steps=2, seed=1):
            total += criterion(model(torch.from_numpy(x)), torch.from_numpy(y)).item()
    return total / 2


def train(model, epochs=4):
    optimizer = torch.optim.Adadelta(model.parameters(), lr=1.0, rho=0.9)
    criterion = nn.HuberLoss(delta=0.5)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=0)
    losses = []
    for _epoch in range(epochs):
        model.train()
        for x, y in batches(epochs=1):
            x, y = torch.from_numpy(x), torch.from_numpy(y)
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        val_loss = validate(model, criterion)
        scheduler.step(val_loss)
    return losses


if __name__ == "__main__":
    print(train(build_model()))
