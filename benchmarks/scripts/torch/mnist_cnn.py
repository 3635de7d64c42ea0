"""MNIST convolutional classifier, after pytorch/examples' mnist/main.py.

torchvision's MNIST with ToTensor + Normalize, DataLoader, a device chosen by
cuda.is_available(), SGD with momentum, StepLR per epoch, a test() with no_grad counting the
correct predictions, torch.save(model.state_dict()) and a reload that must predict the same.
"""

import argparse
import logging

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torchvision import datasets, transforms

logger = logging.getLogger("mnist_cnn")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, 1)
        self.conv2 = nn.Conv2d(8, 16, 3, 1)
        self.fc1 = nn.Linear(16 * 12 * 12, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


def train(args, model, device, train_loader, optimizer, epoch):
    model.train()
    total = 0.0
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        total += loss.item()
        if batch_idx % args.log_interval == 0:
            logger.debug("epoch %d batch %d loss %.6f", epoch, batch_idx, loss.item())
    logger.info("epoch %d train loss %.6f", epoch, total / len(train_loader))


def test(model, device, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    test_loss /= len(test_loader.dataset)
    logger.info("test loss %.6f accuracy %.4f", test_loss, correct / len(test_loader.dataset))


def predict(model, device, loader):
    model.eval()
    outputs = []
    with torch.no_grad():
        for data, _ in loader:
            outputs.append(model(data.to(device)))
    return torch.cat(outputs)


def main():
    parser = argparse.ArgumentParser(description="PyTorch MNIST Example")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--test-batch-size", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--gamma", type=float, default=0.7)
    parser.add_argument("--no-cuda", action="store_true", default=False)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log-interval", type=int, default=10)
    parser.add_argument("--data", default="../data")
    parser.add_argument("--resume", default="", help="a state_dict to start from")
    parser.add_argument("--save-model", default="mnist_cnn.pt")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    use_cuda = not args.no_cuda and torch.cuda.is_available()
    torch.manual_seed(args.seed)
    device = torch.device("cuda" if use_cuda else "cpu")

    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    dataset1 = datasets.MNIST(args.data, train=True, download=False, transform=transform)
    dataset2 = datasets.MNIST(args.data, train=False, transform=transform)
    train_loader = torch.utils.data.DataLoader(dataset1, batch_size=args.batch_size, shuffle=False, drop_last=True)
    test_loader = torch.utils.data.DataLoader(dataset2, batch_size=args.test_batch_size)

    model = Net().to(device)
    if args.resume:
        model.load_state_dict(torch.load(args.resume))
    optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
    for epoch in range(1, args.epochs + 1):
        train(args, model, device, train_loader, optimizer, epoch)
        test(model, device, test_loader)
        scheduler.step()

    torch.save(model.state_dict(), args.save_model)
    reloaded = Net().to(device)
    reloaded.load_state_dict(torch.load(args.save_model))
    difference = (predict(model, device, test_loader) - predict(reloaded, device, test_loader)).abs().max().item()
    logger.info("reloaded: max prediction difference %.3g", difference)


if __name__ == "__main__":
    main()
