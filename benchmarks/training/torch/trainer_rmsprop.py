"""A trainer class holding the optimizer, loss and schedule as attributes: RMSprop (centered,
momentum), SmoothL1Loss, LambdaLR."""

import numpy as np
import torch
import torch.nn as nn


def build_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))


def batches(epochs=4, steps=5, seed=0):
    rng = np.random.default_rng(seed)
    data = []
    for _ in range(steps):
        x = rng.standard_normal((16, 4)).astype(np.float32)
        y = np.stack([x[:, 0] * x[:, 1], np.sin(x[:, 2]) + x[:, 3]], axis=1).astype(np.float32)
        data.append((x, y))
    for _ in range(epochs):
        yield from data


class Trainer:
    def __init__(self, model, lr=1e-3):
        self.model = model
        self.optimizer = torch.optim.RMSprop(model.parameters(), lr=lr, alpha=0.9, momentum=0.5, centered=True)
        self.criterion = nn.SmoothL1Loss(beta=0.5)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lr_lambda=lambda epoch: 0.9**epoch)

    def train_step(self, x, y):
        self.model.train()
        self.optimizer.zero_grad()
        loss = self.criterion(self.model(x), y)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def fit(self, epochs):
        history = []
        for _epoch in range(epochs):
            for x, y in batches(epochs=1):
                history.append(self.train_step(torch.from_numpy(x), torch.from_numpy(y)))
            self.scheduler.step()
        return history


def train(model, epochs=4):
    return Trainer(model, lr=5e-3).fit(epochs)


if __name__ == "__main__":
    print(train(build_model()))
