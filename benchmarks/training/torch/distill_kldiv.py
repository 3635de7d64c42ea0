"""Distillation towards fixed teacher distributions: KLDivLoss (batchmean) on log_softmax
outputs, SGD with weight decay, SequentialLR (LinearLR warm-up, then ExponentialLR)."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Student(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(7, 16)
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x):
        return F.log_softmax(self.fc2(torch.tanh(self.fc1(x))), dim=-1)


def build_model():
    torch.manual_seed(0)
    return Student()


def batches(epochs=4, steps=5, seed=0):
    """(inputs, the teacher's probabilities)."""
    rng = np.random.default_rng(seed)
    data = []
    for _ in range(steps):
        logits = rng.standard_normal((16, 4))
        probs = np.exp(logits) / np.sum(np.exp(logits), axis=1, keepdims=True)
        data.append((rng.standard_normal((16, 7)).astype(np.float32), probs.astype(np.float32)))
    for _ in range(epochs):
        yield from data


def train(model, epochs=4):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5, weight_decay=1e-3)
    warmup = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.25, total_iters=2)
    decay = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
    scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, schedulers=[warmup, decay], milestones=[2])
    kl = nn.KLDivLoss(reduction="batchmean")
    losses = []
    for _epoch in range(epochs):
        model.train()
        for x, teacher in batches(epochs=1):
            x, teacher = torch.from_numpy(x), torch.from_numpy(teacher)
            optimizer.zero_grad()
            loss = kl(model(x), teacher)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
    return losses


if __name__ == "__main__":
    print(train(build_model()))
