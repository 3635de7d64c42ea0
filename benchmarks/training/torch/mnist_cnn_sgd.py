"""An MNIST-like convolutional classifier (8x8 single-channel images, 4 classes).

SGD with Nesterov momentum and weight decay, cross-entropy, StepLR once per epoch, a
train_epoch(model, loader, optimizer, criterion) function and a no_grad evaluation.
"""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 8, 3, padding=1)
        self.fc1 = nn.Linear(8 * 2 * 2, 16)
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        return self.fc2(x)


def build_model():
    torch.manual_seed(0)
    return Net()


def batches(epochs=4, steps=5, seed=0):
    rng = np.random.default_rng(seed)
    data = [
        (rng.standard_normal((8, 1, 8, 8)).astype(np.float32), rng.integers(0, 4, size=(8,)).astype(np.int64))
        for _ in range(steps)
    ]
    for _ in range(epochs):
        yield from data


def train_epoch(model, loader, optimizer, criterion):
    model.train()
    losses = []
    for data, target in loader:
        data, target = torch.from_numpy(data), torch.from_numpy(target)
        optimizer.zero_grad()
        output = model(data)
        loss = criterion(output, target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def evaluate(model, loader, criterion):
    model.eval()
    total, correct = 0.0, 0
    with torch.no_grad():
        for data, target in loader:
            data, target = torch.from_numpy(data), torch.from_numpy(target)
            output = model(data)
            total += criterion(output, target).item()
            correct += (output.argmax(dim=1) == target).sum().item()
    return total, correct


def train(model, epochs=4):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4)
    criterion = nn.CrossEntropyLoss()
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    losses = []
    for _epoch in range(epochs):
        losses += train_epoch(model, batches(epochs=1), optimizer, criterion)
        evaluate(model, batches(epochs=1, seed=1), criterion)
        scheduler.step()
    return losses


if __name__ == "__main__":
    print(train(build_model()))
