"""A small regression MLP: Adam with AMSGrad and weight decay, MSELoss, MultiStepLR."""

import numpy as np
import torch
from torch import nn


def build_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 1))


def batches(epochs=4, steps=5, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((6, 1)).astype(np.float32)
    data = []
    for _ in range(steps):
        x = rng.standard_normal((16, 6)).astype(np.float32)
        data.append((x, (x @ w + 0.1 * rng.standard_normal((16, 1))).astype(np.float32)))
    for _ in range(epochs):
        yield from data


def train(model, epochs=4):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, betas=(0.9, 0.99), amsgrad=True, weight_decay=1e-3)
    loss_fn = nn.MSELoss()
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[1, 3], gamma=0.3)
    losses = []
    model.train()
    for _epoch in range(epochs):
        for x, y in batches(epochs=1):
            x, y = torch.tensor(x), torch.tensor(y)
            pred = model(x)
            loss = loss_fn(pred, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
    return losses


if __name__ == "__main__":
    print(train(build_model()))
