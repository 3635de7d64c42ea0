"""A dense autoencoder: Adamax, L1Loss on the reconstruction, ExponentialLR."""

import numpy as np
import torch
import torch.nn as nn


class AutoEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 3))
        self.decoder = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 12), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))


def build_model():
    torch.manual_seed(0)
    return AutoEncoder()


def batches(epochs=4, steps=5, seed=0):
    rng = np.random.default_rng(seed)
    data = []
    for _ in range(steps):
        x = rng.random((16, 12)).astype(np.float32)
        data.append((x, x.copy()))
    for _ in range(epochs):
        yield from data


def train(model, epochs=4):
    optimizer = torch.optim.Adamax(model.parameters(), lr=2e-2)
    criterion = nn.L1Loss()
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.8)
    losses = []
    for _epoch in range(epochs):
        model.train()
        for x, target in batches(epochs=1):
            x, target = torch.from_numpy(x), torch.from_numpy(target)
            optimizer.zero_grad()
            recon = model(x)
            loss = criterion(recon, target)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
    return losses


if __name__ == "__main__":
    print(train(build_model()))
