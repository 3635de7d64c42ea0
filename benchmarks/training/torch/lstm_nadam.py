"""A sequence classifier: LSTM over (batch, time, features), log_softmax + NLLLoss, NAdam,
LinearLR warm-up."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class SequenceClassifier(nn.Module):
    def __init__(self, features=5, hidden=12, classes=3):
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x):
        out, _ = self.lstm(x)
        return F.log_softmax(self.head(out[:, -1]), dim=1)


def build_model():
    torch.manual_seed(0)
    return SequenceClassifier()


def batches(epochs=4, steps=5, seed=0):
    rng = np.random.default_rng(seed)
    data = [
        (rng.standard_normal((8, 6, 5)).astype(np.float32), rng.integers(0, 3, size=(8,)).astype(np.int64))
        for _ in range(steps)
    ]
    for _ in range(epochs):
        yield from data


def train(model, epochs=4):
    optimizer = torch.optim.NAdam(model.parameters(), lr=5e-3)
    criterion = nn.NLLLoss()
    scheduler = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.5, total_iters=3)
    losses = []
    model.train()
    for _epoch in range(epochs):
        for x, y in batches(epochs=1):
            x, y = torch.as_tensor(x), torch.as_tensor(y)
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
    return losses


if __name__ == "__main__":
    print(train(build_model()))
