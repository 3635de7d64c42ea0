"""Tabular regression from NumPy arrays: TensorDataset and DataLoader.

A synthetic linear-plus-noise problem drawn with NumPy (seeded), TensorDataset over
torch.from_numpy tensors, DataLoader(batch_size, shuffle=False, drop_last=True), an MLP,
MSELoss and Adam, an evaluation of the mean absolute error, a checkpoint saved and reloaded.
"""

import argparse
import logging

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

logger = logging.getLogger("regression")


def make_data(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 8)).astype(np.float32)
    w = np.linspace(-1.0, 1.0, 8, dtype=np.float32)
    y = (x @ w + 0.5 * np.sin(x[:, 0]) + 0.05 * rng.standard_normal(n)).astype(np.float32)
    return x, y[:, None]


class Regressor(nn.Module):
    def __init__(self, features=8, hidden=32):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(features, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(self, x):
        return self.net(x)


def evaluate(model, loader, device):
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            total += torch.abs(model(x) - y).sum().item()
            count += y.shape[0]
    return total / count


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--resume", default=None)
    parser.add_argument("--save-model", default="regressor.pt")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    device = "cuda" if torch.cuda.is_available() else "cpu"

    x_train, y_train = make_data(512, 0)
    x_test, y_test = make_data(128, 1)
    train_loader = DataLoader(
        TensorDataset(torch.from_numpy(x_train), torch.from_numpy(y_train)),
        batch_size=args.batch_size,
        shuffle=False,
        drop_last=True,
    )
    test_loader = DataLoader(TensorDataset(torch.from_numpy(x_test), torch.from_numpy(y_test)), batch_size=64)

    model = Regressor().to(device)
    if args.resume:
        model.load_state_dict(torch.load(args.resume, map_location=device))
    criterion = nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    for epoch in range(1, args.epochs + 1):
        model.train()
        losses = []
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        logger.info("epoch %d train loss %.6f", epoch, sum(losses) / len(losses))
        logger.info("test mae %.6f", evaluate(model, test_loader, device))

    torch.save(model.state_dict(), args.save_model)
    reloaded = Regressor().to(device)
    reloaded.load_state_dict(torch.load(args.save_model, map_location=device))
    reloaded.eval()
    model.eval()
    with torch.no_grad():
        x = torch.from_numpy(x_test).to(device)
        difference = (model(x) - reloaded(x)).abs().max().item()
    logger.info("reloaded: max prediction difference %.3g", difference)


if __name__ == "__main__":
    main()
