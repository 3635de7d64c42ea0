"""A multi-label classifier: BCEWithLogitsLoss with pos_weight, Adagrad,
CosineAnnealingWarmRestarts stepped once per epoch."""

import numpy as np
import torch
import torch.nn as nn


class MultiLabel(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(8, 16), nn.ReLU())
        self.logits = nn.Linear(16, 3)

    def forward(self, x):
        return self.logits(self.body(x))


def build_model():
    torch.manual_seed(0)
    return MultiLabel()


def batches(epochs=4, steps=5, seed=0):
    rng = np.random.default_rng(seed)
    data = [
        (rng.standard_normal((16, 8)).astype(np.float32), (rng.random((16, 3)) < 0.3).astype(np.float32))
        for _ in range(steps)
    ]
    for _ in range(epochs):
        yield from data


def train(model, epochs=4):
    optimizer = torch.optim.Adagrad(model.parameters(), lr=0.05, initial_accumulator_value=0.1)
    criterion = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([2.0, 1.0, 3.0]))
    scheduler = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=2, eta_min=1e-3)
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
        scheduler.step()
    return losses


if __name__ == "__main__":
    print(train(build_model()))
