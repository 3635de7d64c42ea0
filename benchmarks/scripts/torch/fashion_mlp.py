"""Fashion-MNIST multilayer perceptron, after the PyTorch "Quickstart" tutorial.

torchvision's FashionMNIST with ToTensor, DataLoader, an nn.Sequential behind nn.Flatten, Adam,
cross-entropy, a train_loop / test_loop pair, torch.device with .to(device), and the weights
saved with torch.save(model.state_dict()) and reloaded into a new model.
"""

import argparse
import logging

import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision import datasets
from torchvision.transforms import ToTensor

logging.basicConfig(level=logging.INFO, format="%(message)s")
log = logging.getLogger(__name__)

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28 * 28, 64),
            nn.ReLU(),
            nn.Linear(64, 64),
            nn.ReLU(),
            nn.Linear(64, 10),
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


def train_loop(dataloader, model, loss_fn, optimizer, epoch):
    model.train()
    running = 0.0
    for X, y in dataloader:
        X, y = X.to(device), y.to(device)
        pred = model(X)
        loss = loss_fn(pred, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        running += loss.item()
    log.info("epoch %d train loss %.6f", epoch, running / len(dataloader))


def test_loop(dataloader, model, loss_fn):
    model.eval()
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    log.info("test loss %.6f accuracy %.4f", test_loss, correct)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="data")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--resume", default=None)
    parser.add_argument("--save-model", default="model.pth")
    args = parser.parse_args()

    training_data = datasets.FashionMNIST(root=args.data, train=True, download=False, transform=ToTensor())
    test_data = datasets.FashionMNIST(root=args.data, train=False, download=False, transform=ToTensor())
    train_dataloader = DataLoader(training_data, batch_size=args.batch_size, shuffle=False)
    test_dataloader = DataLoader(test_data, batch_size=args.batch_size)

    model = NeuralNetwork().to(device)
    if args.resume:
        model.load_state_dict(torch.load(args.resume, weights_only=True))
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    for t in range(args.epochs):
        train_loop(train_dataloader, model, loss_fn, optimizer, t + 1)
        test_loop(test_dataloader, model, loss_fn)

    torch.save(model.state_dict(), args.save_model)
    log.info("Saved PyTorch Model State to %s", args.save_model)
    model2 = NeuralNetwork().to(device)
    model2.load_state_dict(torch.load(args.save_model, weights_only=True))
    model2.eval()
    x, _ = next(iter(test_dataloader))
    with torch.no_grad():
        difference = (model(x.to(device)) - model2(x.to(device))).abs().max().item()
    log.info("reloaded: max prediction difference %.3g", difference)
