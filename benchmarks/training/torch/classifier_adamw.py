"""A tabular classifier with BatchNorm: AdamW, class-weighted cross-entropy with label
smoothing, CosineAnnealingLR, gradient-norm clipping."""

import numpy as np
import torch
import torch.nn as nn


class Classifier(nn.Module):
    def __init__(self, features=10, hidden=32, classes=5):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(features, hidden, bias=False),  # BatchNorm1d adds the offset
            nn.BatchNorm1d(hidden),
            nn.ReLU(),
            nn.Linear(hidden, classes),
        )

    def forward(self, x):
        return self.net(x)


def build_model():
    torch.manual_seed(0)
    return Classifier()


def batches(epochs=4, steps=5, seed=0):
    rng = np.random.default_rng(seed)
    data = [
        (rng.standard_normal((16, 10)).astype(np.float32), rng.integers(0, 5, size=(16,)).astype(np.int64))
        for _ in range(steps)
    ]
    for _ in range(epochs):
        yield from data


def train(model, epochs=4):
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.05)
    weight = torch.tensor([1.0, 2.0, 0.5, 1.0, 1.5])
    criterion = nn.CrossEntropyLoss(weight=weight, label_smoothing=0.1)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs, eta_min=1e-4)
    losses = []
    for _epoch in range(epochs):
        model.train()
        for x, y in batches(epochs=1):
            inputs, labels = torch.from_numpy(x), torch.from_numpy(y)
            optimizer.zero_grad()
            loss = criterion(model(inputs), labels)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
        model.eval()
        with torch.no_grad():
            val = model(torch.from_numpy(x))
            val.argmax(1)
    return losses


if __name__ == "__main__":
    print(train(build_model()))
